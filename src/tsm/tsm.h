/* SPDX-License-Identifier: MIT */
/*
 * A sans-I/O TSM (TEE Security Manager) serving the CoVE-IO ABI: the host's
 * COVH calls and each TVM's COVG calls go in as (EID, FID, argument
 * registers, shared-buffer contents) and come out as a struct sbiret and the
 * bytes the call writes to its shared buffer. The TSM never talks to a
 * device: a call that needs one returns TSM_SPDM_PENDING_REQUEST with a
 * relay buffer, and the untrusted host calls again with the device's answer.
 * Everything the TSM states about a device it verified inside the SPDM
 * session (src/spdm requester) and through TDISP (src/tdisp codec).
 *
 * Device states:   FREE -> CONNECTING -> CONNECTED -> (disconnect) FREE
 *                  any -> ERROR on a relay answer that does not verify
 * An IDE stream asked for at connect (TSM_DECISION_IDE_STREAM_DESC) is
 * programmed into the root port (src/tsm/rootport.h, COVT) and, inside the
 * session, into the device (IDE_KM) before the device is CONNECTED.
 * Interface states (the TSM's view; COVG get_interface_state):
 *   UNLOCKED --bind--> LOCKED --TVM start + host action--> RUNNING
 *   LOCKED/RUNNING --unbind--> UNLOCKED;  any --device says ERROR--> ERROR
 *
 * Decisions on the ABI's gaps: src/tsm/tsm_abi.h, docs/tee-io.md.
 * No allocation; struct tsm is caller-owned and large (keep it static or on
 * the heap). One thread at a time.
 */
#ifndef TV_TSM_TSM_H
#define TV_TSM_TSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/caps.h"
#include "spdm/spdm.h"
#include "tdisp/idekm.h"
#include "tdisp/tdisp.h"
#include "tsm/rootport.h"
#include "tsm/tsm_abi.h"

/* Caps. */
#define TSM_MAX_DEVICES     2
#define TSM_MAX_IFS         8 /* interfaces over all devices */
#define TSM_MAX_REGIONS     8 /* per interface */
#define TSM_VCA_MAX         SPDM_VCA_MAX
#define TSM_SESSION_LOG_MAX 1024
#define TSM_MEAS_LOG_MAX    (SPDM_MEAS_BLOCKS_MAX * (4 + SPDM_MEAS_VALUE_MAX))
#define TSM_TDISP_VC_MAX    256
#define TSM_RELAY_MAX       (TSM_RELAY_HDR_SIZE + SPDM_RECORD_MAX)

/* An interface id: device_id in bits 63:32, TDISP function id in 31:0. */
#define TSM_IF_ID(dev, fid) (((uint64_t)(dev) << 32) | (uint32_t)(fid))

enum tsm_dev_state {
    TSM_DEV_FREE = 0,
    TSM_DEV_CONNECTING,
    TSM_DEV_CONNECTED,
    TSM_DEV_ERROR,
};

/** struct tsm_region - host MMIO the TVM may map, and where it did. */
struct tsm_region {
    uint64_t hpa;
    uint64_t size;
    uint64_t gpa; /* valid when @mapped */
    bool mapped;
};

/** struct tsm_if - one interface (TDI) the host bound or is binding. */
struct tsm_if {
    bool used;
    uint32_t device_id;
    uint32_t function_id;
    uint64_t tvm;     /* owner */
    int state;        /* TSM_IF_* */
    bool dma_enabled; /* TSM_DECISION_DMA */
    bool want_start;  /* the TVM asked; the host's action relays */
    bool want_stop;
    bool want_refresh; /* read the device's state at the next action */
    uint8_t nonce[TDISP_NONCE_SIZE];
    uint8_t report[TDISP_REPORT_MAX];
    size_t report_len;
    struct tdisp_report parsed;
    struct tsm_region regions[TSM_MAX_REGIONS];
    size_t n_regions;
};

/** struct tsm_dev - one connected device, its session and what it said. */
struct tsm_dev {
    enum tsm_dev_state state;
    uint32_t device_id;
    uint32_t session_id;
    uint32_t op; /* FID of the call waiting for the device, 0: none */
    int step;    /* position in @op's exchange */
    int op_if;   /* interface index @op works on, -1: none */
    uint8_t tag; /* KEY_UPDATE tag */
    bool req_secured;
    uint8_t req[SPDM_RECORD_MAX]; /* the pending request, resent on ask */
    size_t req_len;
    uint8_t vca[TSM_VCA_MAX];
    size_t vca_len;
    uint8_t session_log[TSM_SESSION_LOG_MAX];
    size_t session_log_len;
    uint8_t meas[TSM_MEAS_LOG_MAX];
    size_t meas_len;
    uint8_t meas_connect[TSM_MEAS_LOG_MAX]; /* the set seen at connect */
    size_t meas_connect_len;
    uint32_t meas_generation;
    uint8_t tdisp_vc[TSM_TDISP_VC_MAX];
    size_t tdisp_vc_len;
    uint16_t lock_flags_supported;
    uint16_t report_off; /* bytes of the report received so far */
    size_t tdisp_len;    /* length of the last opened TDISP response */
    /* the IDE stream (TSM_DECISION_IDE_STREAM_DESC) */
    uint32_t rp_id;       /* the device's root port */
    bool ide;             /* a stream is programmed in the root port */
    bool ide_on;          /* its keys are set going on both sides */
    uint8_t ide_stream;   /* Stream_ID */
    uint8_t ide_naddr;    /* Num_Addr_Assoc */
    uint8_t ide_set;      /* the key set in use */
    uint8_t ide_work_set; /* the key set the running op programs or stops */
    uint8_t ide_slot;     /* 0..5: the key the running op is at */
    uint8_t ide_key[IDEKM_KEY_SIZE + IDEKM_IFV_SIZE]; /* KEY_PROG to COVT */
    struct spdm_requester spdm;
};

struct tsm_ops {
    /* fill @len bytes from a DRBG; 0, or non-zero on failure. */
    int (*random)(void *ctx, uint8_t *buf, size_t len);
};

struct tsm {
    struct tsm_dev devs[TSM_MAX_DEVICES];
    struct tsm_if ifs[TSM_MAX_IFS];
    struct rp_model rp; /* the root ports the TSM drives through COVT */
    const struct tsm_ops *ops;
    void *ops_ctx;
};

/**
 * struct tsm_call - one SBI call as it reaches the TSM.
 * @fid:    function id
 * @a:      argument registers a0..a5 (unused ones 0)
 * @in:     the shared buffer's contents the call reads (the host's relay
 *          answer, a TVM's nonce), @in_len bytes, already copied into
 *          private memory by the caller; NULL/0 when none
 */
struct tsm_call {
    uint32_t fid;
    uint64_t a[6];
    const uint8_t *in;
    size_t in_len;
};

/** tsm_init() - no device, no interface. @ops must outlive @t. */
void tsm_init(struct tsm *t, const struct tsm_ops *ops, void *ops_ctx);

/**
 * tsm_covh() - a host call.
 * @out: the call's shared output buffer (relay request, transcript), at
 *       most @out_cap bytes; *@out_len its length (0 when none). Written
 *       once, as the last step, from private memory.
 * Return: the sbiret; value TSM_SPDM_PENDING_REQUEST with a relay buffer in
 * @out when the device must answer.
 */
struct sbiret tsm_covh(struct tsm *t, const struct tsm_call *c, uint8_t *out,
                       size_t out_cap, size_t *out_len);

/**
 * tsm_covg() - a call of TVM @tvm (the caller knows which TVM trapped).
 * Same conventions as tsm_covh().
 */
struct sbiret tsm_covg(struct tsm *t, uint64_t tvm, const struct tsm_call *c,
                       uint8_t *out, size_t out_cap, size_t *out_len);

/**
 * tsm_call() - dispatch by EID: COVH, COVG (for @tvm); COVT is the TSM's
 * own (TSM_DECISION_COVT_CALLER): SBI_ERR_DENIED for the host and any TVM;
 * anything else SBI_ERR_NOT_SUPPORTED.
 */
struct sbiret tsm_call(struct tsm *t, uint32_t eid, uint64_t tvm,
                       const struct tsm_call *c, uint8_t *out, size_t out_cap,
                       size_t *out_len);

/** tsm_if_find() - the interface record for @if_id, or NULL (tests, logs). */
const struct tsm_if *tsm_if_find(const struct tsm *t, uint64_t if_id);

/** tsm_dev_find() - the device record for @device_id, or NULL. */
const struct tsm_dev *tsm_dev_find(const struct tsm *t, uint32_t device_id);

/** tsm_wipe() - wipe every session key and nonce. */
void tsm_wipe(struct tsm *t);

#endif
