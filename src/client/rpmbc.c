/* SPDX-License-Identifier: MIT */
#include "client/rpmbc.h"

#include <errno.h>
#include <string.h>

#include "common/caps.h"
#include "common/ct.h"
#include "crypto/crypto.h"

#define RPMBC_BLOCKS_PER_UNIT (RPMB_UNIT_SIZE / RPMB_FRAME_DATA_LEN)
#define RPMBC_MAX_UNITS       RPMB_MAX_UNITS
#define RPMBC_ADDR_SPACE      65536u /* be16 addresses */

/* see rpmbc.h */
void rpmbc_init(struct rpmbc *c, const struct rpmbc_transport *tr)
{
    memset(c, 0, sizeof(*c));
    c->tr = *tr;
}

/* see rpmbc.h */
enum rpmbc_status rpmbc_get_config(struct rpmbc *c, struct rpmbc_config *cfg)
{
    uint8_t raw[3];
    int rc;

    if (!c->have_config) {
        rc = c->tr.ops->get_config(c->tr.ctx, raw);
        if (rc != 0) {
            c->last_errno = rc < 0 ? rc : -EIO;
            return RPMBC_ERR_TRANSPORT;
        }
        /* a zero or oversized capacity makes every address meaningless */
        if (raw[0] == 0 || raw[0] > RPMBC_MAX_UNITS) {
            return RPMBC_ERR_CONFIG;
        }
        c->config.capacity_units = raw[0];
        c->config.max_wr_cnt = raw[1];
        c->config.max_rd_cnt = raw[2];
        c->have_config = true;
    }
    if (cfg != NULL) {
        *cfg = c->config;
    }
    return RPMBC_OK;
}

/* see rpmbc.h */
uint32_t rpmbc_capacity_blocks(const struct rpmbc *c)
{
    if (!c->have_config) {
        return 0;
    }
    return (uint32_t)c->config.capacity_units * RPMBC_BLOCKS_PER_UNIT;
}

/* see rpmbc.h */
int rpmbc_mac(const uint8_t key[32], const uint8_t *frames, size_t n_frames,
              uint8_t mac[32])
{
    struct crypto_hmac h;
    size_t i;

    if (crypto_hmac_init(&h, key, RPMB_FRAME_KEY_LEN) != 0) {
        return -1;
    }
    for (i = 0; i < n_frames; i++) {
        const uint8_t *f = frames + i * RPMB_FRAME_LEN;

        if (crypto_hmac_update(&h, rpmb_frame_mac_input(f),
                               RPMB_FRAME_MAC_INPUT_SIZE) != 0) {
            crypto_hmac_abort(&h);
            return -1;
        }
    }
    if (crypto_hmac_final(&h, mac) != 0) {
        return -1;
    }
    return 0;
}

/*
 * Check the MAC in the last of @n_frames response frames. Constant-time
 * compare: a timing side channel would let a forger learn the MAC byte by
 * byte.
 */
static enum rpmbc_status rpmbc_check_mac(const uint8_t key[32],
                                         const uint8_t *frames, size_t n_frames)
{
    uint8_t mac[RPMB_FRAME_KEY_LEN];
    const uint8_t *last = frames + (n_frames - 1) * RPMB_FRAME_LEN;
    bool same;

    if (rpmbc_mac(key, frames, n_frames, mac) != 0) {
        wipe(mac, sizeof(mac));
        return RPMBC_ERR_CRYPTO;
    }
    same = ct_eq(mac, rpmb_frame_key_mac(last), sizeof(mac));
    wipe(mac, sizeof(mac));
    return same ? RPMBC_OK : RPMBC_ERR_MAC;
}

/*
 * One request/response exchange over the transport. @resp_cap bytes of the
 * response buffer are zeroed first so that bytes the device did not write
 * never look like a stale earlier answer.
 */
static enum rpmbc_status rpmbc_xfer(struct rpmbc *c, size_t req_len,
                                    size_t resp_cap, size_t *resp_len)
{
    int rc;

    BUG_ON(req_len > sizeof(c->req) || resp_cap > sizeof(c->resp));
    memset(c->resp, 0, resp_cap);
    *resp_len = 0;
    c->last_result = 0;
    rc = c->tr.ops->call(c->tr.ctx, c->req, req_len, c->resp, resp_cap,
                         resp_len);
    if (rc != 0) {
        c->last_errno = rc < 0 ? rc : -EIO;
        return RPMBC_ERR_TRANSPORT;
    }
    if (*resp_len > resp_cap) {
        c->last_errno = -EPROTO;
        return RPMBC_ERR_TRANSPORT;
    }
    return RPMBC_OK;
}

/*
 * Judge the type and result of a single-frame response. A device that
 * refuses a request may answer with only the result set (Trusty does so for
 * NO_AUTH_KEY), so a zero req_resp with a failure result is a device error,
 * not tampering.
 */
static enum rpmbc_status rpmbc_check_head(struct rpmbc *c,
                                          const struct rpmb_frame_fields *f,
                                          uint16_t want_resp)
{
    c->last_result = f->result;
    if (f->req_resp != want_resp) {
        if (f->req_resp == 0 && !rpmb_frame_result_ok(f->result)) {
            return RPMBC_ERR_DEVICE;
        }
        return RPMBC_ERR_REQ_RESP;
    }
    if (!rpmb_frame_result_ok(f->result)) {
        return RPMBC_ERR_DEVICE;
    }
    return RPMBC_OK;
}

static void rpmbc_fields_init(struct rpmb_frame_fields *f, uint16_t req)
{
    memset(f, 0, sizeof(*f));
    f->req_resp = req;
    /* virtio demands block_count 1 for single-frame requests (docs/rpmb.md) */
    f->block_count = 1;
}

/* see rpmbc.h */
enum rpmbc_status rpmbc_program_key(struct rpmbc *c, const uint8_t key[32])
{
    struct rpmb_frame_fields f;
    struct rpmb_frame_fields r;
    enum rpmbc_status st;
    size_t got;

    rpmbc_fields_init(&f, RPMB_FRAME_REQ_PROGRAM_KEY);
    rpmb_frame_build(c->req, &f, NULL);
    rpmb_frame_set_key_mac(c->req, key);
    rpmbc_fields_init(&f, RPMB_FRAME_REQ_RESULT_READ);
    rpmb_frame_build(c->req + RPMB_FRAME_LEN, &f, NULL);

    st = rpmbc_xfer(c, 2 * RPMB_FRAME_LEN, RPMB_FRAME_LEN, &got);
    /* the request held the key: wipe before anything else can fail */
    wipe(c->req, 2 * RPMB_FRAME_LEN);
    if (st != RPMBC_OK) {
        return st;
    }
    if (got < RPMB_FRAME_LEN) {
        return RPMBC_ERR_SHORT;
    }
    rpmb_frame_parse(c->resp, &r);
    return rpmbc_check_head(c, &r, RPMB_FRAME_RESP_PROGRAM_KEY);
}

/* see rpmbc.h */
enum rpmbc_status rpmbc_read_counter(struct rpmbc *c, const uint8_t *key,
                                     uint32_t *counter)
{
    struct rpmb_frame_fields f;
    struct rpmb_frame_fields r;
    enum rpmbc_status st;
    size_t got;

    rpmbc_fields_init(&f, RPMB_FRAME_REQ_GET_WRITE_COUNTER);
    if (crypto_random(f.nonce, sizeof(f.nonce)) != 0) {
        return RPMBC_ERR_CRYPTO;
    }
    rpmb_frame_build(c->req, &f, NULL);
    st = rpmbc_xfer(c, RPMB_FRAME_LEN, RPMB_FRAME_LEN, &got);
    if (st != RPMBC_OK) {
        goto out_wipe_nonce;
    }
    if (got < RPMB_FRAME_LEN) {
        st = RPMBC_ERR_SHORT;
        goto out_wipe_nonce;
    }
    rpmb_frame_parse(c->resp, &r);
    st = rpmbc_check_head(c, &r, RPMB_FRAME_RESP_GET_WRITE_COUNTER);
    if (st != RPMBC_OK) {
        goto out_wipe_nonce;
    }
    if (!ct_eq(r.nonce, f.nonce, sizeof(f.nonce))) {
        st = RPMBC_ERR_NONCE;
        goto out_wipe_nonce;
    }
    if (key != NULL) {
        st = rpmbc_check_mac(key, c->resp, 1);
        if (st != RPMBC_OK) {
            goto out_wipe_nonce;
        }
    }
    c->last_counter = r.write_counter;
    *counter = r.write_counter;
out_wipe_nonce:
    wipe(&f, sizeof(f));
    wipe(&r, sizeof(r));
    wipe(c->req, RPMB_FRAME_LEN);
    wipe(c->resp, RPMB_FRAME_LEN);
    return st;
}

/* Blocks per request: the device limit, capped by our buffer. */
static size_t rpmbc_batch(uint8_t dev_max)
{
    if (dev_max == 0 || dev_max > RPMBC_MAX_BATCH) {
        return RPMBC_MAX_BATCH;
    }
    return dev_max;
}

/*
 * One DATA_WRITE request of @n blocks (<= batch) with counter @counter,
 * followed by RESULT_READ; checks the response fully.
 */
static enum rpmbc_status
rpmbc_write_batch(struct rpmbc *c, const uint8_t key[32], uint16_t address,
                  const uint8_t *data, size_t n, uint32_t counter)
{
    struct rpmb_frame_fields f;
    struct rpmb_frame_fields r;
    uint8_t mac[RPMB_FRAME_KEY_LEN];
    enum rpmbc_status st;
    size_t req_len = (n + 1) * RPMB_FRAME_LEN;
    size_t got;
    size_t i;

    memset(&f, 0, sizeof(f));
    f.write_counter = counter;
    f.address = address;
    f.block_count = (uint16_t)n;
    f.req_resp = RPMB_FRAME_REQ_DATA_WRITE;
    for (i = 0; i < n; i++) {
        rpmb_frame_build(c->req + i * RPMB_FRAME_LEN, &f,
                         data + i * RPMB_FRAME_DATA_LEN);
    }
    if (rpmbc_mac(key, c->req, n, mac) != 0) {
        st = RPMBC_ERR_CRYPTO;
        goto out_wipe;
    }
    rpmb_frame_set_key_mac(c->req + (n - 1) * RPMB_FRAME_LEN, mac);
    rpmbc_fields_init(&f, RPMB_FRAME_REQ_RESULT_READ);
    rpmb_frame_build(c->req + n * RPMB_FRAME_LEN, &f, NULL);

    st = rpmbc_xfer(c, req_len, RPMB_FRAME_LEN, &got);
    if (st != RPMBC_OK) {
        goto out_wipe;
    }
    if (got < RPMB_FRAME_LEN) {
        st = RPMBC_ERR_SHORT;
        goto out_wipe;
    }
    rpmb_frame_parse(c->resp, &r);
    st = rpmbc_check_head(c, &r, RPMB_FRAME_RESP_DATA_WRITE);
    if (st != RPMBC_OK) {
        goto out_wipe;
    }
    st = rpmbc_check_mac(key, c->resp, 1);
    if (st != RPMBC_OK) {
        goto out_wipe;
    }
    if (r.address != address) {
        st = RPMBC_ERR_ADDRESS;
        goto out_wipe;
    }
    /* a replayed or forged success would not carry old + 1 (OP-TEE rule) */
    if (r.write_counter != counter + 1) {
        st = RPMBC_ERR_COUNTER;
        goto out_wipe;
    }
    c->last_counter = r.write_counter;
out_wipe:
    wipe(mac, sizeof(mac));
    wipe(c->req, req_len);
    return st;
}

/* Reject requests that cannot be addressed in the be16 address space. */
static bool rpmbc_span_ok(uint16_t address, size_t n_blocks)
{
    return n_blocks > 0 && n_blocks <= RPMBC_ADDR_SPACE - address;
}

/* see rpmbc.h */
enum rpmbc_status rpmbc_write_blocks(struct rpmbc *c, const uint8_t key[32],
                                     uint16_t address, const uint8_t *data,
                                     size_t n_blocks)
{
    enum rpmbc_status st;
    uint32_t counter;
    size_t batch;
    size_t done = 0;

    if (!rpmbc_span_ok(address, n_blocks)) {
        return RPMBC_ERR_RANGE;
    }
    st = rpmbc_get_config(c, NULL);
    if (st != RPMBC_OK) {
        return st;
    }
    batch = rpmbc_batch(c->config.max_wr_cnt);
    st = rpmbc_read_counter(c, key, &counter);
    if (st != RPMBC_OK) {
        return st;
    }
    while (done < n_blocks) {
        size_t n = n_blocks - done < batch ? n_blocks - done : batch;

        st = rpmbc_write_batch(c, key, (uint16_t)(address + done),
                               data + done * RPMB_FRAME_DATA_LEN, n, counter);
        if (st != RPMBC_OK) {
            return st;
        }
        /* the verified response counter is the next request's counter */
        counter = c->last_counter;
        done += n;
    }
    return RPMBC_OK;
}

/*
 * Judge the frames of one read response: type, result, nonce, start
 * address and block count in every frame (JESD84-B51: "in every packet the
 * address is the start address of the full access"), then the MAC.
 */
static enum rpmbc_status rpmbc_check_read(struct rpmbc *c, const uint8_t *key,
                                          const struct rpmb_frame_fields *q,
                                          size_t n, size_t got)
{
    struct rpmb_frame_fields r;
    size_t n_got = got / RPMB_FRAME_LEN;
    size_t i;

    if (n_got == 0) {
        return RPMBC_ERR_SHORT;
    }
    if (n_got > n) {
        n_got = n;
    }
    /* a failure result in any frame is the device refusing the read */
    for (i = 0; i < n_got; i++) {
        rpmb_frame_parse(c->resp + i * RPMB_FRAME_LEN, &r);
        if (!rpmb_frame_result_ok(r.result) &&
            (r.req_resp == RPMB_FRAME_RESP_DATA_READ || r.req_resp == 0)) {
            c->last_result = r.result;
            return RPMBC_ERR_DEVICE;
        }
    }
    if (n_got < n) {
        return RPMBC_ERR_SHORT;
    }
    for (i = 0; i < n; i++) {
        rpmb_frame_parse(c->resp + i * RPMB_FRAME_LEN, &r);
        c->last_result = r.result;
        if (r.req_resp != RPMB_FRAME_RESP_DATA_READ) {
            return RPMBC_ERR_REQ_RESP;
        }
        if (!rpmb_frame_result_ok(r.result)) {
            return RPMBC_ERR_DEVICE;
        }
        if (!ct_eq(r.nonce, q->nonce, sizeof(r.nonce))) {
            return RPMBC_ERR_NONCE;
        }
        if (r.address != q->address) {
            return RPMBC_ERR_ADDRESS;
        }
        if (r.block_count != q->block_count) {
            return RPMBC_ERR_BLOCK_COUNT;
        }
    }
    if (key != NULL) {
        return rpmbc_check_mac(key, c->resp, n);
    }
    return RPMBC_OK;
}

/* see rpmbc.h */
enum rpmbc_status rpmbc_read_blocks(struct rpmbc *c, const uint8_t *key,
                                    uint16_t address, uint8_t *out,
                                    size_t n_blocks)
{
    struct rpmb_frame_fields q;
    enum rpmbc_status st;
    size_t batch;
    size_t done = 0;
    size_t got;
    size_t i;

    if (!rpmbc_span_ok(address, n_blocks)) {
        return RPMBC_ERR_RANGE;
    }
    st = rpmbc_get_config(c, NULL);
    if (st != RPMBC_OK) {
        return st;
    }
    batch = rpmbc_batch(c->config.max_rd_cnt);
    while (done < n_blocks) {
        size_t n = n_blocks - done < batch ? n_blocks - done : batch;

        memset(&q, 0, sizeof(q));
        q.address = (uint16_t)(address + done);
        q.block_count = (uint16_t)n;
        q.req_resp = RPMB_FRAME_REQ_DATA_READ;
        if (crypto_random(q.nonce, sizeof(q.nonce)) != 0) {
            st = RPMBC_ERR_CRYPTO;
            goto err_wipe_out;
        }
        rpmb_frame_build(c->req, &q, NULL);
        st = rpmbc_xfer(c, RPMB_FRAME_LEN, n * RPMB_FRAME_LEN, &got);
        wipe(c->req, RPMB_FRAME_LEN);
        if (st != RPMBC_OK) {
            goto err_wipe_out;
        }
        st = rpmbc_check_read(c, key, &q, n, got);
        if (st != RPMBC_OK) {
            goto err_wipe_out;
        }
        for (i = 0; i < n; i++) {
            memcpy(out + (done + i) * RPMB_FRAME_DATA_LEN,
                   rpmb_frame_data(c->resp + i * RPMB_FRAME_LEN),
                   RPMB_FRAME_DATA_LEN);
        }
        done += n;
    }
    wipe(c->resp, batch * RPMB_FRAME_LEN);
    wipe(&q, sizeof(q));
    return RPMBC_OK;

err_wipe_out:
    /* never hand out data that failed a check */
    wipe(out, n_blocks * RPMB_FRAME_DATA_LEN);
    wipe(c->resp, batch * RPMB_FRAME_LEN);
    wipe(&q, sizeof(q));
    return st;
}

/* see rpmbc.h */
const char *rpmbc_strerror(enum rpmbc_status st)
{
    switch (st) {
    case RPMBC_OK:
        return "success";
    case RPMBC_ERR_DEVICE:
        return "the device refused the operation";
    case RPMBC_ERR_MAC:
        return "response MAC mismatch: tampered or wrong key";
    case RPMBC_ERR_NONCE:
        return "response nonce mismatch: tampered or replayed response";
    case RPMBC_ERR_REQ_RESP:
        return "wrong response type: tampered response";
    case RPMBC_ERR_ADDRESS:
        return "wrong address in response: tampered response";
    case RPMBC_ERR_BLOCK_COUNT:
        return "wrong block count in response: tampered response";
    case RPMBC_ERR_COUNTER:
        return "write counter is not the previous one plus 1: "
               "tampered or replayed response";
    case RPMBC_ERR_SHORT:
        return "response shorter than the request requires";
    case RPMBC_ERR_TRANSPORT:
        return "transport failure";
    case RPMBC_ERR_CONFIG:
        return "unusable device configuration";
    case RPMBC_ERR_RANGE:
        return "block range outside the RPMB address space";
    case RPMBC_ERR_CRYPTO:
        return "local crypto failure";
    default:
        return "unknown status";
    }
}

/* see rpmbc.h */
enum rpmbc_class rpmbc_status_class(enum rpmbc_status st)
{
    switch (st) {
    case RPMBC_OK:
        return RPMBC_CLASS_OK;
    case RPMBC_ERR_DEVICE:
        return RPMBC_CLASS_DEVICE;
    case RPMBC_ERR_MAC:
    case RPMBC_ERR_NONCE:
    case RPMBC_ERR_REQ_RESP:
    case RPMBC_ERR_ADDRESS:
    case RPMBC_ERR_BLOCK_COUNT:
    case RPMBC_ERR_COUNTER:
    case RPMBC_ERR_SHORT:
        return RPMBC_CLASS_TAMPER;
    case RPMBC_ERR_RANGE:
        return RPMBC_CLASS_USAGE;
    case RPMBC_ERR_TRANSPORT:
    case RPMBC_ERR_CONFIG:
    case RPMBC_ERR_CRYPTO:
        return RPMBC_CLASS_TRANSPORT;
    default:
        return RPMBC_CLASS_TRANSPORT;
    }
}

/* The tamper wrapper: pass the call through, then flip the chosen bits. */
static int rpmbc_tamper_call(void *ctx, const uint8_t *req, size_t req_len,
                             uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct rpmbc_tamper *t = ctx;
    int rc;

    rc = t->inner.ops->call(t->inner.ctx, req, req_len, resp, resp_cap,
                            resp_len);
    if (rc != 0) {
        return rc;
    }
    if (t->n_calls++ >= t->skip_cnt && t->offset < *resp_len) {
        resp[t->offset] ^= t->xor_mask;
    }
    return 0;
}

static int rpmbc_tamper_get_config(void *ctx, uint8_t config[3])
{
    struct rpmbc_tamper *t = ctx;

    return t->inner.ops->get_config(t->inner.ctx, config);
}

static const struct rpmbc_transport_ops rpmbc_tamper_ops = {
    .call = rpmbc_tamper_call,
    .get_config = rpmbc_tamper_get_config,
};

/* see rpmbc.h */
struct rpmbc_transport rpmbc_tamper_transport(struct rpmbc_tamper *t)
{
    struct rpmbc_transport tr = {&rpmbc_tamper_ops, t};

    return tr;
}
