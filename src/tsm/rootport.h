/* SPDX-License-Identifier: MIT */
/*
 * The root-port security manager the TSM drives through COVT (CoVE-IO
 * v0.3.0, EID 0x434F5654), sans I/O: per root port, selective IDE stream
 * register blocks, and per stream twelve keys, one per (key set K0/K1,
 * direction Tx/Rx, sub-stream PR/NPR/CPL). A model of the hardware's key
 * registers: keys are held in memory only, wiped when cleared, and nothing
 * encrypts with them.
 *
 * Key states (rp_ide_key_status):
 *
 *   Cleared --program--> Programmed --set_go--> Enabled
 *      ^  <----clear-------  |  ^  <--set_stop----  |
 *      +------- stream Insecure (link reset) -------+
 *
 *  - program on a Programmed key replaces it; on an Enabled key:
 *    SBI_ERR_INVALID_STATE.
 *  - clear (per stream) refuses while a key of the stream is Enabled; it
 *    wipes every key and releases the stream's register block.
 *  - a key of a stream never programmed (program_rp_ide_stream) is an
 *    invalid descriptor (SBI_ERR_INVALID_PARAM).
 * The decisions where v0.3.0 is silent: src/tsm/tsm_abi.h
 * (TSM_DECISION_COVT_*), docs/tee-io.md.
 *
 * No allocation; struct rp_model is caller-owned. One thread at a time.
 */
#ifndef TV_TSM_ROOTPORT_H
#define TV_TSM_ROOTPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsm/tsm_abi.h"

/* Caps. */
#define RP_MAX_PORTS      2 /* one per TSM device record */
#define RP_MAX_STREAMS    4 /* selective IDE stream register blocks */
#define RP_MAX_ADDR_ASSOC 2 /* address association blocks per stream */
#define RP_STREAM_DESC_MAX                                                     \
    (TSM_STREAM_DESC_MIN + RP_MAX_ADDR_ASSOC * TSM_STREAM_ADDR_BLOCK)
#define RP_KEY_SIZE 32
#define RP_IFV_SIZE 8

struct rp_key {
    int state; /* TSM_RP_KEY_* */
    uint8_t key[RP_KEY_SIZE];
    uint8_t ifv[RP_IFV_SIZE];
};

/** struct rp_stream - one selective stream register block and its keys. */
struct rp_stream {
    bool used;
    uint8_t stream_id;
    uint8_t n_addr;
    uint32_t rid_assoc[2];
    uint32_t addr_assoc[RP_MAX_ADDR_ASSOC][3];
    struct rp_key key[2][2][3]; /* [key set][TSM_KEY_TX/RX][sub-stream] */
};

struct rp_port {
    struct rp_stream streams[RP_MAX_STREAMS];
};

struct rp_model {
    struct rp_port ports[RP_MAX_PORTS];
};

/** rp_init() - every stream block free, no key. */
void rp_init(struct rp_model *m);

/**
 * rp_covt() - one COVT call (FIDs 1024..1029, TSM_COVT_*).
 * @a:  argument registers a0..a5
 * @in: the memory arguments' bytes (TSM_DECISION_COVT_BUFFERS), @in_len
 * Return: the sbiret; value the key state for rp_ide_key_status, else 0.
 * Unknown FIDs: SBI_ERR_NOT_SUPPORTED.
 */
struct sbiret rp_covt(struct rp_model *m, uint32_t fid, const uint64_t a[6],
                      const uint8_t *in, size_t in_len);

/**
 * rp_stream_insecure() - the stream's state machine went from Secure to
 * Insecure (link reset, integrity check failure): every key of it goes to
 * Cleared and is wiped. Return: false for an unknown port or stream.
 */
bool rp_stream_insecure(struct rp_model *m, uint32_t rp_id, uint8_t stream_id);

/** rp_stream_secure() - every key of @key_set of the stream Enabled. */
bool rp_stream_secure(const struct rp_model *m, uint32_t rp_id,
                      uint8_t stream_id, unsigned key_set);

/**
 * rp_key_peek() - a key slot, or NULL for an unknown port, stream or
 * field. For tests, which compare the root port's keys with the device's;
 * nothing else reads key material out.
 */
const struct rp_key *rp_key_peek(const struct rp_model *m, uint32_t rp_id,
                                 uint8_t stream_id, unsigned key_set,
                                 unsigned tx_rx, unsigned sub_stream);

/** rp_wipe() - wipe every key and stream register. */
void rp_wipe(struct rp_model *m);

#endif
