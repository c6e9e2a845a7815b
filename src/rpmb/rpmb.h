/* SPDX-License-Identifier: MIT */
/*
 * Virtio RPMB device model: authentication key, write counter, data blocks
 * and result codes, as a function (state, request frames) -> (new state,
 * response frames). Sans I/O: the model never sees a virtqueue, socket or
 * file; persistence goes through struct rpmb_store_ops (src/store provides
 * an SQLite store and an in-memory store).
 *
 * No allocation. struct rpmb is caller-allocated, holds no interior
 * pointers (only the store ops and context given to rpmb_init()) and is not
 * thread-safe: one thread calls rpmb_handle() at a time.
 *
 * Key hygiene: the model never holds the key between calls. Each
 * operation that needs it loads it from the store into a stack buffer and
 * wipes that buffer before returning. No interface returns the key.
 *
 * Behaviour (virtio-spec device-types/rpmb/description.tex; the eMMC
 * conventions chosen are in docs/rpmb.md):
 *  - Request stream: rpmb_handle() takes the gathered device-readable bytes
 *    of one chain, a whole number of 512-byte frames. Any split over
 *    descriptors is fine; a length of 0 or not a multiple of 512 is
 *    answered with one GENERAL_FAILURE frame (req_resp 0) if there is room.
 *  - PROGRAM_KEY / DATA_WRITE produce a result that is returned only by a
 *    RESULT_READ frame, either following in the same chain or alone in the
 *    next chain. Without RESULT_READ no frame is written (resp_len 0).
 *  - Second PROGRAM_KEY: WRITE_FAILURE (0x0005), key unchanged.
 *  - block_count 0 is accepted in PROGRAM_KEY, GET_WRITE_COUNTER,
 *    RESULT_READ (treated as 1) and DATA_READ (count = resp_cap / 512,
 *    at most 0xFFFF), the eMMC convention (docs/rpmb.md).
 *  - DATA_READ answers block_count frames, each with result, nonce, start
 *    address and block_count; the MAC is in the last frame.
 *  - max_wr_cnt / max_rd_cnt 0 mean "no limit".
 *  - Counter expiry: while the counter is 0xFFFFFFFF every result carries
 *    bit 7 (0x0080); a refused write answers 0x0085.
 *  - Writes are committed durably by the store before rpmb_handle()
 *    returns, so before the daemon puts the response on the used ring.
 */
#ifndef TV_RPMB_RPMB_H
#define TV_RPMB_RPMB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bug.h"
#include "rpmb/virtio_rpmb.h"

#define RPMB_KEY_LEN  32  /* authentication key, bytes */
#define RPMB_BLK_SIZE 256 /* one data block (half sector), bytes */

/**
 * struct rpmb_store_ops - persistence used by the model.
 *
 * Every function returns 0 or a negative errno. Addresses are in 256-byte
 * blocks; the model has already checked @address + @n_blocks against the
 * capacity. Data of block i sits at @data + i * @stride (the model passes
 * frame buffers directly, so @stride is 512 there). Functions are called
 * from the thread running rpmb_handle() only.
 *
 * @load_state:   report whether a key is programmed and the write counter.
 * @get_key:      copy the 32-byte key into @key (only when programmed).
 *                The caller wipes it.
 * @read_blocks:  read @n_blocks blocks starting at @address; never written
 *                blocks read as zeros.
 * @program_key:  store the key durably (committed before returning).
 *                Fails without change if a key is already present.
 * @write_blocks: store @n_blocks blocks and set the counter to
 *                @new_counter in ONE atomic, durable transaction,
 *                committed before returning. On failure nothing changed
 *                (see docs/rpmb.md for the fsync caveat).
 */
struct rpmb_store_ops {
    int (*load_state)(void *ctx, bool *key_programmed, uint32_t *counter);
    int (*get_key)(void *ctx, uint8_t key[RPMB_KEY_LEN]);
    int (*read_blocks)(void *ctx, uint16_t address, size_t n_blocks,
                       uint8_t *data, size_t stride);
    int (*program_key)(void *ctx, const uint8_t key[RPMB_KEY_LEN]);
    int (*write_blocks)(void *ctx, uint16_t address, size_t n_blocks,
                        const uint8_t *data, size_t stride,
                        uint32_t new_counter);
};

/**
 * struct rpmb_config - the device configuration (virtio config space).
 * @capacity_units: size in 128 KiB units, 1..0x80 (128 KiB .. 16 MiB)
 * @max_wr_cnt:     most blocks per DATA_WRITE, 0 = no limit
 * @max_rd_cnt:     most blocks per DATA_READ, 0 = no limit
 */
struct rpmb_config {
    uint8_t capacity_units;
    uint8_t max_wr_cnt;
    uint8_t max_rd_cnt;
};

/**
 * struct rpmb - device model state. Treat as opaque.
 * @ops:            store operations (not owned)
 * @store_ctx:      store context passed to every op (not owned)
 * @cfg:            configuration from rpmb_init()
 * @key_programmed: a key is stored (mirror of the store, updated after
 *                  each durable commit)
 * @write_counter:  the write counter (mirror of the store)
 * @pending:        a PROGRAM_KEY/DATA_WRITE result awaits RESULT_READ
 * @pend_resp:      its response type (0x0100 or 0x0300)
 * @pend_result:    its result code, expiry flag included
 * @pend_address:   its address (DATA_WRITE)
 * @pend_counter:   the counter after the operation
 * @pend_mac:       whether its response frame carries a MAC
 */
struct rpmb {
    const struct rpmb_store_ops *ops;
    void *store_ctx;
    struct rpmb_config cfg;
    bool key_programmed;
    uint32_t write_counter;
    bool pending;
    uint16_t pend_resp;
    uint16_t pend_result;
    uint16_t pend_address;
    uint32_t pend_counter;
    bool pend_mac;
};

/**
 * enum rpmb_status - C-level outcome of the model (range 0, -200..-249).
 * Device-level failures (result codes) are data: rpmb_handle() returns
 * RPMB_OK with a failure result in the response frame.
 * @RPMB_OK:          success
 * @RPMB_ERR_ARG:     NULL pointer or inconsistent argument
 * @RPMB_ERR_CONFIG:  capacity outside 1..0x80
 * @RPMB_ERR_STORE:   the store could not report its state at init
 */
enum rpmb_status {
    RPMB_OK = 0,
    RPMB_ERR_ARG = -200,
    RPMB_ERR_CONFIG = -201,
    RPMB_ERR_STORE = -202,
};

/**
 * rpmb_init() - set up @r over a store.
 * @r:         caller-allocated model, fully written
 * @cfg:       capacity units 1..0x80, max_wr_cnt, max_rd_cnt
 * @ops:       store operations; must outlive @r
 * @store_ctx: passed to @ops; must outlive @r
 *
 * Loads the key-present flag and the counter from the store. Allocates
 * nothing. The store must have been opened for the same capacity.
 *
 * Return: RPMB_OK, RPMB_ERR_ARG, RPMB_ERR_CONFIG or RPMB_ERR_STORE.
 */
TV_MUST_CHECK
int rpmb_init(struct rpmb *r, const struct rpmb_config *cfg,
              const struct rpmb_store_ops *ops, void *store_ctx);

/**
 * rpmb_handle() - process one request chain.
 * @r:         the model
 * @req:       gathered device-readable bytes of the chain (untrusted)
 * @req_len:   their length
 * @resp:      device-writable space for response frames
 * @resp_cap:  its size in bytes (total writable bytes of the chain);
 *             may be 0
 * @resp_len:  bytes written to @resp (a multiple of 512); the used length
 *
 * Never fails on guest input: malformed requests are answered with result
 * codes (see the file comment). Any state change (key, data, counter) is
 * durably committed by the store before this returns. @req and @resp must
 * not overlap. @req is only read; after a PROGRAM_KEY it holds the key, so
 * the caller wipes it. Allocates nothing; one call at a time per @r.
 * Stack use: two 32-byte buffers (key and MAC), wiped before returning.
 *
 * Return: RPMB_OK, or RPMB_ERR_ARG for NULL pointers.
 */
TV_MUST_CHECK
int rpmb_handle(struct rpmb *r, const uint8_t *req, size_t req_len,
                uint8_t *resp, size_t resp_cap, size_t *resp_len);

/**
 * rpmb_config_bytes() - the 3-byte virtio config space of @r.
 * @out: capacity (128 KiB units), max_wr_cnt, max_rd_cnt.
 */
void rpmb_config_bytes(const struct rpmb *r, uint8_t out[VIRTIO_RPMB_CFG_SIZE]);

/**
 * rpmb_write_counter() - the current write counter (for logs and tests;
 * the guest reads it through GET_WRITE_COUNTER).
 */
uint32_t rpmb_write_counter(const struct rpmb *r);

/** rpmb_key_programmed() - true once a key is stored. */
bool rpmb_key_programmed(const struct rpmb *r);

/** rpmb_strerror() - text for an enum rpmb_status value. */
const char *rpmb_strerror(int status);

/**
 * rpmb_result_name() - name of the result code in the low 7 bits of
 * @result ("OK", "AUTH_FAILURE", ...); the expiry flag is not named.
 */
const char *rpmb_result_name(uint16_t result);

#endif
