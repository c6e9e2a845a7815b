/* SPDX-License-Identifier: MIT */
/*
 * Virtio RPMB device model. The request stream is untrusted guest input:
 * every length is checked before use, and every outcome is a result code
 * in a response frame, never a crash. Check orders follow the virtio text
 * (virtio-spec device-types/rpmb/description.tex); the eMMC conventions
 * chosen are implemented here and documented in docs/rpmb.md.
 */
#include "rpmb/rpmb.h"

#include <string.h>

#include "common/bytes.h"
#include "common/ct.h"
#include "crypto/crypto.h"

#define FRAME VIRTIO_RPMB_FRAME_SIZE

/* Largest block_count a frame can carry; bounds a derived read count. */
#define RPMB_BC_MAX 0xFFFFu

/* Fields of one response frame, before the MAC. */
struct rpmb_resp {
    uint16_t req_resp;
    uint16_t result;
    const uint8_t *nonce; /* 16 bytes, or NULL for zeros */
    uint32_t counter;
    uint16_t address;
    uint16_t block_count;
};

static uint32_t rpmb_capacity_blocks(const struct rpmb *r)
{
    return (uint32_t)r->cfg.capacity_units * VIRTIO_RPMB_BLOCKS_PER_UNIT;
}

/*
 * The JEDEC expiry flag: set on every result while the counter sits at
 * its maximum, including the write that reached it (docs/rpmb.md).
 */
static uint16_t rpmb_expiry_flag(const struct rpmb *r)
{
    return r->write_counter == VIRTIO_RPMB_COUNTER_MAX
               ? VIRTIO_RPMB_RES_WRITE_COUNTER_EXPIRED
               : 0;
}

static uint16_t frame_u16(const uint8_t *frame, size_t off)
{
    return load_be16(frame + off);
}

/* Write a whole response frame with zero stuff, key_mac and data. */
static void rpmb_frame_fill(uint8_t *f, const struct rpmb_resp *rs)
{
    memset(f, 0, VIRTIO_RPMB_OFF_NONCE);
    if (rs->nonce != NULL) {
        memcpy(f + VIRTIO_RPMB_OFF_NONCE, rs->nonce, VIRTIO_RPMB_NONCE_SIZE);
    } else {
        memset(f + VIRTIO_RPMB_OFF_NONCE, 0, VIRTIO_RPMB_NONCE_SIZE);
    }
    store_be32(f + VIRTIO_RPMB_OFF_WRITE_COUNTER, rs->counter);
    store_be16(f + VIRTIO_RPMB_OFF_ADDRESS, rs->address);
    store_be16(f + VIRTIO_RPMB_OFF_BLOCK_COUNT, rs->block_count);
    store_be16(f + VIRTIO_RPMB_OFF_RESULT, rs->result);
    store_be16(f + VIRTIO_RPMB_OFF_REQ_RESP, rs->req_resp);
}

/* HMAC-SHA256 over bytes 228..511 of @n_frames frames, in order (virtio-spec
 * rpmb). */
static int rpmb_mac(const uint8_t key[RPMB_KEY_LEN], const uint8_t *frames,
                    size_t n_frames, uint8_t mac[VIRTIO_RPMB_KEY_MAC_SIZE])
{
    struct crypto_hmac h;
    size_t i;

    if (crypto_hmac_init(&h, key, RPMB_KEY_LEN) != 0) {
        return -1;
    }
    for (i = 0; i < n_frames; i++) {
        if (crypto_hmac_update(&h, frames + i * FRAME + VIRTIO_RPMB_OFF_DATA,
                               VIRTIO_RPMB_MAC_INPUT_SIZE) != 0) {
            crypto_hmac_abort(&h);
            return -1;
        }
    }
    return crypto_hmac_final(&h, mac);
}

/*
 * Put the MAC of @n_frames response frames into the last one. The key is
 * loaded from the store into a stack buffer and wiped here, so the model
 * never keeps it between calls.
 */
static int rpmb_seal(struct rpmb *r, uint8_t *frames, size_t n_frames)
{
    uint8_t key[RPMB_KEY_LEN];
    uint8_t mac[VIRTIO_RPMB_KEY_MAC_SIZE];
    int rc = -1;

    if (r->ops->get_key(r->store_ctx, key) != 0) {
        goto out_wipe;
    }
    if (rpmb_mac(key, frames, n_frames, mac) != 0) {
        goto out_wipe;
    }
    memcpy(frames + (n_frames - 1) * FRAME + VIRTIO_RPMB_OFF_KEY_MAC, mac,
           sizeof(mac));
    rc = 0;
out_wipe:
    wipe(key, sizeof(key));
    wipe(mac, sizeof(mac));
    return rc;
}

/*
 * A response whose MAC could not be computed (store or crypto failure)
 * must not look authentic: turn it into GENERAL_FAILURE without data.
 */
static void rpmb_frames_fail(struct rpmb *r, uint8_t *frames, size_t n_frames)
{
    size_t i;

    for (i = 0; i < n_frames; i++) {
        uint8_t *f = frames + i * FRAME;

        memset(f, 0, VIRTIO_RPMB_OFF_NONCE);
        store_be16(f + VIRTIO_RPMB_OFF_RESULT,
                   VIRTIO_RPMB_RES_GENERAL_FAILURE | rpmb_expiry_flag(r));
    }
}

/*
 * Emit one response frame into @resp if there is room; MAC it when a key
 * is programmed and the result is not NO_AUTH_KEY.
 */
static void rpmb_emit_one(struct rpmb *r, const struct rpmb_resp *rs,
                          bool with_mac, uint8_t *resp, size_t n_cap,
                          size_t *resp_len)
{
    if (n_cap == 0) {
        return;
    }
    rpmb_frame_fill(resp, rs);
    if (with_mac && rpmb_seal(r, resp, 1) != 0) {
        rpmb_frames_fail(r, resp, 1);
    }
    *resp_len = FRAME;
}

/* Single-frame requests carry block_count 1, or 0 from eMMC clients. */
static bool rpmb_single_count_ok(const uint8_t *frame)
{
    return frame_u16(frame, VIRTIO_RPMB_OFF_BLOCK_COUNT) <= 1;
}

/*
 * Split a write-type request (PROGRAM_KEY, DATA_WRITE) into its operation
 * frames and an optional trailing RESULT_READ frame. A RESULT_READ is
 * recognised only as the last frame; anything else stays an operation
 * frame and is judged by the operation.
 */
static bool rpmb_has_result_read(const uint8_t *req, size_t n_req)
{
    const uint8_t *last = req + (n_req - 1) * FRAME;

    return n_req >= 2 &&
           frame_u16(last, VIRTIO_RPMB_OFF_REQ_RESP) ==
               VIRTIO_RPMB_REQ_RESULT_READ &&
           rpmb_single_count_ok(last);
}

static void rpmb_set_pending(struct rpmb *r, uint16_t resp_type,
                             uint16_t result, uint16_t address, bool with_mac)
{
    r->pending = true;
    r->pend_resp = resp_type;
    r->pend_result = result;
    r->pend_address = address;
    r->pend_counter =
        resp_type == VIRTIO_RPMB_RESP_DATA_WRITE ? r->write_counter : 0;
    r->pend_mac = with_mac;
}

/* Answer RESULT_READ from the pending result (kept for repeated reads). */
static void rpmb_emit_pending(struct rpmb *r, uint8_t *resp, size_t n_cap,
                              size_t *resp_len)
{
    struct rpmb_resp rs = {0};

    if (!r->pending) {
        /* nothing to report: no operation type to answer with */
        rs.result = VIRTIO_RPMB_RES_GENERAL_FAILURE | rpmb_expiry_flag(r);
        rpmb_emit_one(r, &rs, false, resp, n_cap, resp_len);
        return;
    }
    rs.req_resp = r->pend_resp;
    rs.result = r->pend_result;
    rs.counter = r->pend_counter;
    rs.address = r->pend_address;
    rpmb_emit_one(r, &rs, r->pend_mac, resp, n_cap, resp_len);
}

static uint16_t rpmb_program_key_result(struct rpmb *r, const uint8_t *req,
                                        size_t n_op)
{
    if (n_op != 1 || !rpmb_single_count_ok(req)) {
        return VIRTIO_RPMB_RES_GENERAL_FAILURE;
    }
    /* one-time programmable: WRITE_FAILURE as in the virtio text (docs/rpmb.md)
     */
    if (r->key_programmed) {
        return VIRTIO_RPMB_RES_WRITE_FAILURE;
    }
    if (r->ops->program_key(r->store_ctx, req + VIRTIO_RPMB_OFF_KEY_MAC) != 0) {
        return VIRTIO_RPMB_RES_WRITE_FAILURE;
    }
    r->key_programmed = true;
    return VIRTIO_RPMB_RES_OK;
}

static void rpmb_do_program_key(struct rpmb *r, const uint8_t *req,
                                size_t n_req, uint8_t *resp, size_t n_cap,
                                size_t *resp_len)
{
    bool rr = rpmb_has_result_read(req, n_req);
    uint16_t result = rpmb_program_key_result(r, req, n_req - (rr ? 1 : 0));

    /* the PROGRAM_KEY response carries no MAC (the virtio text is silent) */
    rpmb_set_pending(r, VIRTIO_RPMB_RESP_PROGRAM_KEY,
                     result | rpmb_expiry_flag(r), 0, false);
    if (rr) {
        rpmb_emit_pending(r, resp, n_cap, resp_len);
    }
}

/* Verify the MAC of the @n_op write frames in constant time. */
static uint16_t rpmb_check_write_mac(struct rpmb *r, const uint8_t *req,
                                     size_t n_op)
{
    uint8_t key[RPMB_KEY_LEN];
    uint8_t mac[VIRTIO_RPMB_KEY_MAC_SIZE];
    uint16_t result = VIRTIO_RPMB_RES_GENERAL_FAILURE;

    if (r->ops->get_key(r->store_ctx, key) != 0) {
        goto out_wipe;
    }
    if (rpmb_mac(key, req, n_op, mac) != 0) {
        goto out_wipe;
    }
    result = ct_eq(mac, req + (n_op - 1) * FRAME + VIRTIO_RPMB_OFF_KEY_MAC,
                   sizeof(mac))
                 ? VIRTIO_RPMB_RES_OK
                 : VIRTIO_RPMB_RES_AUTH_FAILURE;
out_wipe:
    wipe(key, sizeof(key));
    wipe(mac, sizeof(mac));
    return result;
}

/*
 * DATA_WRITE in the virtio check order: NO_AUTH_KEY, count, expiry,
 * address, MAC, counter, then one durable store transaction.
 */
static uint16_t rpmb_data_write_result(struct rpmb *r, const uint8_t *req,
                                       size_t n_op)
{
    uint16_t n_blocks = frame_u16(req, VIRTIO_RPMB_OFF_BLOCK_COUNT);
    uint16_t address = frame_u16(req, VIRTIO_RPMB_OFF_ADDRESS);
    uint32_t counter = load_be32(req + VIRTIO_RPMB_OFF_WRITE_COUNTER);
    uint16_t result;
    size_t i;
    bool key;
    uint32_t stored;

    if (!r->key_programmed) {
        return VIRTIO_RPMB_RES_NO_AUTH_KEY;
    }
    if (n_blocks == 0 || n_blocks != n_op ||
        (r->cfg.max_wr_cnt != 0 && n_blocks > r->cfg.max_wr_cnt)) {
        return VIRTIO_RPMB_RES_GENERAL_FAILURE;
    }
    for (i = 1; i < n_op; i++) {
        if (frame_u16(req + i * FRAME, VIRTIO_RPMB_OFF_REQ_RESP) !=
            VIRTIO_RPMB_REQ_DATA_WRITE) {
            return VIRTIO_RPMB_RES_GENERAL_FAILURE;
        }
    }
    if (r->write_counter == VIRTIO_RPMB_COUNTER_MAX) {
        return VIRTIO_RPMB_RES_WRITE_FAILURE;
    }
    /* 32-bit sum: address + count cannot wrap (both at most 0xFFFF) */
    if ((uint32_t)address + n_blocks > rpmb_capacity_blocks(r)) {
        return VIRTIO_RPMB_RES_ADDR_FAILURE;
    }
    result = rpmb_check_write_mac(r, req, n_op);
    if (result != VIRTIO_RPMB_RES_OK) {
        return result;
    }
    if (counter != r->write_counter) {
        return VIRTIO_RPMB_RES_COUNT_FAILURE;
    }
    if (r->ops->write_blocks(r->store_ctx, address, n_blocks,
                             req + VIRTIO_RPMB_OFF_DATA, FRAME,
                             r->write_counter + 1) != 0) {
        /*
         * Nothing was committed; re-read the store's view in case the
         * failure left it different from our mirror.
         */
        if (r->ops->load_state(r->store_ctx, &key, &stored) == 0) {
            r->key_programmed = key;
            r->write_counter = stored;
        }
        return VIRTIO_RPMB_RES_WRITE_FAILURE;
    }
    r->write_counter++;
    return VIRTIO_RPMB_RES_OK;
}

static void rpmb_do_data_write(struct rpmb *r, const uint8_t *req, size_t n_req,
                               uint8_t *resp, size_t n_cap, size_t *resp_len)
{
    bool rr = rpmb_has_result_read(req, n_req);
    uint16_t result = rpmb_data_write_result(r, req, n_req - (rr ? 1 : 0));

    rpmb_set_pending(r, VIRTIO_RPMB_RESP_DATA_WRITE,
                     result | rpmb_expiry_flag(r),
                     frame_u16(req, VIRTIO_RPMB_OFF_ADDRESS),
                     result != VIRTIO_RPMB_RES_NO_AUTH_KEY);
    if (rr) {
        rpmb_emit_pending(r, resp, n_cap, resp_len);
    }
}

static void rpmb_do_get_counter(struct rpmb *r, const uint8_t *req,
                                size_t n_req, uint8_t *resp, size_t n_cap,
                                size_t *resp_len)
{
    struct rpmb_resp rs = {0};

    rs.req_resp = VIRTIO_RPMB_RESP_GET_WRITE_COUNTER;
    rs.nonce = req + VIRTIO_RPMB_OFF_NONCE;
    if (!r->key_programmed) {
        rs.result = VIRTIO_RPMB_RES_NO_AUTH_KEY;
        rpmb_emit_one(r, &rs, false, resp, n_cap, resp_len);
        return;
    }
    if (n_req != 1 || !rpmb_single_count_ok(req)) {
        rs.result = VIRTIO_RPMB_RES_GENERAL_FAILURE;
    } else {
        rs.result = VIRTIO_RPMB_RES_OK;
        rs.counter = r->write_counter;
    }
    rs.result |= rpmb_expiry_flag(r);
    rpmb_emit_one(r, &rs, true, resp, n_cap, resp_len);
}

/* DATA_READ in the virtio order: NO_AUTH_KEY, count, address, read. */
static uint16_t rpmb_data_read_result(struct rpmb *r, size_t n_req,
                                      uint16_t address, size_t n_blocks,
                                      size_t n_cap)
{
    if (!r->key_programmed) {
        return VIRTIO_RPMB_RES_NO_AUTH_KEY;
    }
    if (n_req != 1 ||
        (r->cfg.max_rd_cnt != 0 && n_blocks > r->cfg.max_rd_cnt) ||
        n_blocks > n_cap) {
        return VIRTIO_RPMB_RES_GENERAL_FAILURE;
    }
    if ((uint32_t)address + n_blocks > rpmb_capacity_blocks(r)) {
        return VIRTIO_RPMB_RES_ADDR_FAILURE;
    }
    return VIRTIO_RPMB_RES_OK;
}

static void rpmb_do_data_read(struct rpmb *r, const uint8_t *req, size_t n_req,
                              uint8_t *resp, size_t n_cap, size_t *resp_len)
{
    struct rpmb_resp rs = {0};
    uint16_t bc = frame_u16(req, VIRTIO_RPMB_OFF_BLOCK_COUNT);
    size_t n_blocks;
    size_t n_out;
    size_t i;

    if (n_cap == 0) {
        return;
    }
    /* eMMC clients send 0 and size the read by CMD18's count (docs/rpmb.md) */
    n_blocks = bc != 0 ? bc : (n_cap < RPMB_BC_MAX ? n_cap : RPMB_BC_MAX);
    n_out = n_blocks < n_cap ? n_blocks : n_cap;

    rs.req_resp = VIRTIO_RPMB_RESP_DATA_READ;
    rs.nonce = req + VIRTIO_RPMB_OFF_NONCE;
    rs.address = frame_u16(req, VIRTIO_RPMB_OFF_ADDRESS);
    rs.block_count = (uint16_t)n_blocks;
    rs.result = rpmb_data_read_result(r, n_req, rs.address, n_blocks, n_cap);
    if (rs.result == VIRTIO_RPMB_RES_OK &&
        r->ops->read_blocks(r->store_ctx, rs.address, n_blocks,
                            resp + VIRTIO_RPMB_OFF_DATA, FRAME) != 0) {
        rs.result = VIRTIO_RPMB_RES_READ_FAILURE;
    }
    rs.result |= rpmb_expiry_flag(r);
    /*
     * The store wrote the data fields in place; fill the rest of every
     * frame around them (result, nonce, start address in each, docs/rpmb.md).
     */
    for (i = 0; i < n_out; i++) {
        uint8_t *f = resp + i * FRAME;

        if ((rs.result & 0x7f) != VIRTIO_RPMB_RES_OK) {
            memset(f + VIRTIO_RPMB_OFF_DATA, 0, VIRTIO_RPMB_DATA_SIZE);
        }
        memset(f, 0, VIRTIO_RPMB_OFF_DATA);
        memcpy(f + VIRTIO_RPMB_OFF_NONCE, rs.nonce, VIRTIO_RPMB_NONCE_SIZE);
        store_be32(f + VIRTIO_RPMB_OFF_WRITE_COUNTER, 0);
        store_be16(f + VIRTIO_RPMB_OFF_ADDRESS, rs.address);
        store_be16(f + VIRTIO_RPMB_OFF_BLOCK_COUNT, rs.block_count);
        store_be16(f + VIRTIO_RPMB_OFF_RESULT, rs.result);
        store_be16(f + VIRTIO_RPMB_OFF_REQ_RESP, rs.req_resp);
    }
    if (r->key_programmed && rpmb_seal(r, resp, n_out) != 0) {
        rpmb_frames_fail(r, resp, n_out);
    }
    *resp_len = n_out * FRAME;
}

/* see rpmb.h */
int rpmb_init(struct rpmb *r, const struct rpmb_config *cfg,
              const struct rpmb_store_ops *ops, void *store_ctx)
{
    if (r == NULL || cfg == NULL || ops == NULL || ops->load_state == NULL ||
        ops->get_key == NULL || ops->read_blocks == NULL ||
        ops->program_key == NULL || ops->write_blocks == NULL) {
        return RPMB_ERR_ARG;
    }
    memset(r, 0, sizeof(*r));
    if (cfg->capacity_units == 0 ||
        cfg->capacity_units > VIRTIO_RPMB_MAX_UNITS) {
        return RPMB_ERR_CONFIG;
    }
    r->ops = ops;
    r->store_ctx = store_ctx;
    r->cfg = *cfg;
    if (ops->load_state(store_ctx, &r->key_programmed, &r->write_counter) !=
        0) {
        return RPMB_ERR_STORE;
    }
    return RPMB_OK;
}

/* see rpmb.h */
int rpmb_handle(struct rpmb *r, const uint8_t *req, size_t req_len,
                uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct rpmb_resp rs = {0};
    size_t n_cap;
    size_t n_req;

    if (r == NULL || resp_len == NULL || (req == NULL && req_len != 0) ||
        (resp == NULL && resp_cap != 0) || r->ops == NULL) {
        return RPMB_ERR_ARG;
    }
    *resp_len = 0;
    n_cap = resp_cap / FRAME;
    if (req_len == 0 || req_len % FRAME != 0) {
        /* not a frame stream: nothing to act on, say so if we can */
        r->pending = false;
        rs.result = VIRTIO_RPMB_RES_GENERAL_FAILURE | rpmb_expiry_flag(r);
        rpmb_emit_one(r, &rs, false, resp, n_cap, resp_len);
        return RPMB_OK;
    }
    n_req = req_len / FRAME;
    switch (frame_u16(req, VIRTIO_RPMB_OFF_REQ_RESP)) {
    case VIRTIO_RPMB_REQ_PROGRAM_KEY:
        rpmb_do_program_key(r, req, n_req, resp, n_cap, resp_len);
        break;
    case VIRTIO_RPMB_REQ_GET_WRITE_COUNTER:
        r->pending = false;
        rpmb_do_get_counter(r, req, n_req, resp, n_cap, resp_len);
        break;
    case VIRTIO_RPMB_REQ_DATA_WRITE:
        rpmb_do_data_write(r, req, n_req, resp, n_cap, resp_len);
        break;
    case VIRTIO_RPMB_REQ_DATA_READ:
        r->pending = false;
        rpmb_do_data_read(r, req, n_req, resp, n_cap, resp_len);
        break;
    case VIRTIO_RPMB_REQ_RESULT_READ:
        if (n_req != 1 || !rpmb_single_count_ok(req)) {
            rs.result = VIRTIO_RPMB_RES_GENERAL_FAILURE | rpmb_expiry_flag(r);
            rpmb_emit_one(r, &rs, false, resp, n_cap, resp_len);
        } else {
            rpmb_emit_pending(r, resp, n_cap, resp_len);
        }
        break;
    default:
        r->pending = false;
        rs.result = VIRTIO_RPMB_RES_GENERAL_FAILURE | rpmb_expiry_flag(r);
        rpmb_emit_one(r, &rs, false, resp, n_cap, resp_len);
        break;
    }
    return RPMB_OK;
}

/* see rpmb.h */
void rpmb_config_bytes(const struct rpmb *r, uint8_t out[VIRTIO_RPMB_CFG_SIZE])
{
    out[VIRTIO_RPMB_CFG_CAPACITY] = r->cfg.capacity_units;
    out[VIRTIO_RPMB_CFG_MAX_WR_CNT] = r->cfg.max_wr_cnt;
    out[VIRTIO_RPMB_CFG_MAX_RD_CNT] = r->cfg.max_rd_cnt;
}

/* see rpmb.h */
uint32_t rpmb_write_counter(const struct rpmb *r)
{
    return r->write_counter;
}

/* see rpmb.h */
bool rpmb_key_programmed(const struct rpmb *r)
{
    return r->key_programmed;
}

/* see rpmb.h */
const char *rpmb_strerror(int status)
{
    switch (status) {
    case RPMB_OK:
        return "success";
    case RPMB_ERR_ARG:
        return "invalid argument";
    case RPMB_ERR_CONFIG:
        return "capacity must be 1..128 units of 128 KiB";
    case RPMB_ERR_STORE:
        return "the store could not report its state";
    default:
        return "unknown RPMB status";
    }
}

/* see rpmb.h */
const char *rpmb_result_name(uint16_t result)
{
    switch (result & 0x7f) {
    case VIRTIO_RPMB_RES_OK:
        return "OK";
    case VIRTIO_RPMB_RES_GENERAL_FAILURE:
        return "GENERAL_FAILURE";
    case VIRTIO_RPMB_RES_AUTH_FAILURE:
        return "AUTH_FAILURE";
    case VIRTIO_RPMB_RES_COUNT_FAILURE:
        return "COUNT_FAILURE";
    case VIRTIO_RPMB_RES_ADDR_FAILURE:
        return "ADDR_FAILURE";
    case VIRTIO_RPMB_RES_WRITE_FAILURE:
        return "WRITE_FAILURE";
    case VIRTIO_RPMB_RES_READ_FAILURE:
        return "READ_FAILURE";
    case VIRTIO_RPMB_RES_NO_AUTH_KEY:
        return "NO_AUTH_KEY";
    default:
        return "UNKNOWN";
    }
}
