/* SPDX-License-Identifier: MIT */
/*
 * The untrusted host's side of the CoVE-IO ABI: make COVH calls on a
 * trustvio-tsm host endpoint (src/tsmc) and relay every
 * TSM_SPDM_PENDING_REQUEST to the device. The relay buffer's payload goes
 * out as one DOE object (CMA/SPDM, or Secured CMA/SPDM when bit 31 of its
 * function_id is set, docs/tee-io.md) over a src/tdispc transport: the SPDM
 * socket of a trustvio-dsm, or a PCI function's DOE mailbox. The device's
 * answer goes back in the same relay layout with the same function_id and
 * device_id, and the call is made again, until it returns something else.
 *
 * A device that gives no answer (the transport fails, or the reply is not a
 * DOE object) is relayed as an empty answer, so the TSM ends the exchange
 * (the device goes to ERROR and disconnect_device frees it) instead of
 * keeping the call pending for ever.
 *
 * The host is untrusted, and tests need one that misbehaves: struct
 * tsmh_hostile flips a byte of one relayed answer, or sends an earlier
 * answer again in place of a fresh one (the device is then not asked).
 * Relays are numbered from 1 over the life of the context.
 *
 * Programs only (does I/O). Caller-owned context, no allocation.
 */
#ifndef TV_TSMHOST_TSMHOST_H
#define TV_TSMHOST_TSMHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doe/doe.h"
#include "tdispc/tdispc.h"
#include "tsm/tsm.h"
#include "tsmc/tsmc.h"

/* Caps. */
#define TSMH_MAX_ROUNDS    256 /* relays in one call; more is a looping TSM */
#define TSMH_TAMPER_MIDDLE SIZE_MAX

/**
 * struct tsmh_hostile - a host that attacks the device link (tests).
 * @tamper:     flip one byte of the @tamper-th relayed answer (0: never)
 * @tamper_off: which byte of the answer's payload (modulo its length), or
 *              TSMH_TAMPER_MIDDLE: the middle one, inside a record's
 *              ciphertext (a DOE answer may end in padding the TSM ignores,
 *              and a record starts with its session id)
 * @replay:     at relay @replay_at, send answer number @replay again
 *              instead of asking the device (0: never)
 * @replay_at:  0 means @replay + 1
 */
struct tsmh_hostile {
    unsigned long tamper;
    size_t tamper_off;
    unsigned long replay;
    unsigned long replay_at;
};

/**
 * struct tsmh_device - where relayed payloads go: the first that is set of
 * @custom (tests), @doe_bdf (a PCI function's DOE mailbox) and @port (a
 * trustvio-dsm's SPDM socket on 127.0.0.1). Opened at the first relay and
 * kept open (one SPDM connection for the life of the context).
 */
struct tsmh_device {
    const struct tdispc_transport *custom;
    const char *doe_bdf;
    unsigned port;
};

/**
 * tsmh_trace_fn - told of each relay: its number, the relay buffer's
 * function_id (bit 31: secured), the request and answer payload sizes, and
 * what the host did ("device", "tampered", "replayed N", "no answer: ...").
 */
typedef void (*tsmh_trace_fn)(void *ctx, unsigned long n, uint32_t fid,
                              size_t req_len, size_t rsp_len, const char *what);

/** struct tsmh - one host relay; large, keep it static. */
struct tsmh {
    struct tsmc *c;
    struct tsmh_device dev;
    struct tdispc_transport t;
    bool t_open;
    struct tsmh_hostile hostile;
    tsmh_trace_fn trace;
    void *trace_ctx;
    unsigned long n_relays;
    uint8_t out[TSM_FRAME_OUT_MAX]; /* the TSM's relay buffer */
    uint8_t answer[TSM_RELAY_MAX];  /* the answer being relayed */
    uint8_t kept[TSM_RELAY_MAX];    /* answer number hostile.replay */
    size_t kept_len;
    uint8_t tx[DOE_MAX_OBJECT_SIZE];
    uint8_t rx[DOE_MAX_OBJECT_SIZE];
    char err[512];
};

/** tsmh_init() - a relay for calls on @c (open), to @dev (copied). */
void tsmh_init(struct tsmh *h, struct tsmc *c, const struct tsmh_device *dev);

/**
 * tsmh_call() - one COVH call, relayed to completion.
 * @out, @out_cap, @out_len: what the final call wrote (a transcript); may
 *      be NULL/0 when the call writes nothing the caller wants
 * @relays: receives the number of relays the call took (may be NULL)
 * Return: 0 with the final sbiret in @ret, or -1 when the TSM could not be
 * reached or misbehaved (reason in tsmh_error()). A device that fails is
 * not -1: the TSM's verdict on it is in @ret.
 */
int tsmh_call(struct tsmh *h, uint32_t fid, const uint64_t a[6], uint8_t *out,
              size_t out_cap, size_t *out_len, struct sbiret *ret,
              unsigned *relays) __attribute__((warn_unused_result));

/**
 * tsmh_call_in() - tsmh_call() whose first call carries @in (@in_len
 * bytes, at most TSM_FRAME_IN_MAX) in its shared buffer, as
 * connect_device's IDE stream descriptor (TSM_DECISION_IDE_STREAM_DESC);
 * the calls after it carry the relayed answers.
 */
int tsmh_call_in(struct tsmh *h, uint32_t fid, const uint64_t a[6],
                 const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                 size_t *out_len, struct sbiret *ret, unsigned *relays)
    __attribute__((warn_unused_result));

/*
 * connect_device's IDE stream descriptor (TSM_DECISION_IDE_STREAM_DESC):
 * Stream_ID u8 | Num_Addr_Assoc u8 | reserved u16 | RID_Assoc_1 u32 |
 * RID_Assoc_2 u32 | Num_Addr_Assoc x {three u32}, little-endian, the u32s
 * laid out as PCIe's IDE RID and Address Association registers:
 *   RID 1: RID Limit in bits 23:8;  RID 2: V bit 0, RID Base in bits 23:8
 *   Address 1: V bit 0, Memory Base Lower (address bits 31:20) in 19:8,
 *              Memory Limit Lower (31:20) in 31:20
 *   Address 2: Memory Limit Upper (63:32);  Address 3: Memory Base Upper
 * A range is 1 MiB aligned and sized (the registers keep bits 63:20).
 */
#define TSMH_IDE_MAX_ADDR 4 /* blocks built; the root port takes fewer */
#define TSMH_IDE_DESC_MAX                                                      \
    (TSM_STREAM_DESC_MIN + TSMH_IDE_MAX_ADDR * TSM_STREAM_ADDR_BLOCK)
#define TSMH_IDE_ADDR_UNIT 0x100000u /* 1 MiB */
/* connect_device's ide_stream_desc register: only non-zero matters to the
 * TSM (the bytes travel in the call's input, TSM_DECISION_SHMEM) */
#define TSMH_IDE_DESC_ADDR 0x1000u

/**
 * struct tsmh_ide_stream - what the host asks for.
 * @stream_id:  the IDE Stream ID
 * @rid_valid:  associate requester ids @rid_base..@rid_limit (else both
 *              RID registers 0: no association)
 * @addr_base, @addr_size: @n_addr memory ranges
 */
struct tsmh_ide_stream {
    uint8_t stream_id;
    bool rid_valid;
    uint16_t rid_base, rid_limit;
    size_t n_addr;
    uint64_t addr_base[TSMH_IDE_MAX_ADDR];
    uint64_t addr_size[TSMH_IDE_MAX_ADDR];
};

/**
 * tsmh_ide_desc() - the descriptor of @s into @out. Return: its length, or
 * 0 when @cap is too small, @n_addr is over TSMH_IDE_MAX_ADDR, the RID range
 * is reversed, or a range is empty, not 1 MiB aligned and sized, or wraps.
 */
size_t tsmh_ide_desc(const struct tsmh_ide_stream *s, uint8_t *out, size_t cap);

/**
 * tsmh_set_port() - relay to another SPDM socket from the next relay on
 * (closes the current device connection). A host can always do this; the
 * TSM must notice.
 */
void tsmh_set_port(struct tsmh *h, unsigned port);

/**
 * tsmh_error() - one line: why the last call returned -1; after a call
 * that returned 0, why the device gave no answer to a relay ("" when it
 * always answered).
 */
const char *tsmh_error(const struct tsmh *h);

/** tsmh_close() - close the device connection (SHUTDOWN on a socket). */
void tsmh_close(struct tsmh *h);

/** tsmh_fid_name() - "connect_device", ... for a COVH FID, or "?". */
const char *tsmh_fid_name(uint32_t fid);

#endif
