/* SPDX-License-Identifier: MIT */
/* The host relay: see tsmhost.h. */
#include "tsmhost/tsmhost.h"

#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "common/err.h"

/* see tsmhost.h */
void tsmh_init(struct tsmh *h, struct tsmc *c, const struct tsmh_device *dev)
{
    memset(h, 0, sizeof(*h));
    h->c = c;
    h->dev = *dev;
}

/* see tsmhost.h */
const char *tsmh_error(const struct tsmh *h)
{
    return h->err;
}

/* see tsmhost.h */
void tsmh_close(struct tsmh *h)
{
    if (h->t_open) {
        h->t.close(h->t.ctx);
        h->t_open = false;
    }
}

/* see tsmhost.h */
void tsmh_set_port(struct tsmh *h, unsigned port)
{
    tsmh_close(h);
    h->dev.custom = NULL;
    h->dev.doe_bdf = NULL;
    h->dev.port = port;
}

/* see tsmhost.h */
const char *tsmh_fid_name(uint32_t fid)
{
    switch (fid) {
    case TSM_COVH_CONNECT_DEVICE:
        return "connect_device";
    case TSM_COVH_DISCONNECT_DEVICE:
        return "disconnect_device";
    case TSM_COVH_ADD_INTERFACE_REGION:
        return "add_tvm_interface_region";
    case TSM_COVH_RECLAIM_INTERFACE_REG:
        return "reclaim_tvm_interface_region";
    case TSM_COVH_BIND_INTERFACE:
        return "bind_interface";
    case TSM_COVH_TEE_IO_ACTION:
        return "tee_io_action";
    case TSM_COVH_UNBIND_INTERFACE:
        return "unbind_interface";
    case TSM_COVH_SPDM_KEY_UPDATE:
        return "spdm_key_update";
    case TSM_COVH_IDE_KEY_REFRESH:
        return "ide_key_refresh";
    case TSM_COVH_SPDM_HEARTBEAT:
        return "spdm_heartbeat";
    case TSM_COVH_GET_CONN_TRANSCRIPT:
        return "get_device_connection_transcript";
    default:
        return "?";
    }
}

static int dev_open(struct tsmh *h)
{
    if (h->t_open) {
        return 0;
    }
    if (h->dev.custom != NULL) {
        h->t = *h->dev.custom;
    } else if (h->dev.doe_bdf != NULL) {
        if (tdispc_doe_open(&h->t, h->dev.doe_bdf, h->err, sizeof(h->err)) !=
            0) {
            return -1;
        }
    } else if (h->dev.port != 0) {
        if (tdispc_sock_open(&h->t, h->dev.port, h->err, sizeof(h->err)) != 0) {
            return -1;
        }
    } else {
        tv_set_err(h->err, sizeof(h->err),
                   "no device to relay to (--dsm-port or --doe)");
        return -1;
    }
    h->t_open = true;
    return 0;
}

/*
 * Carry the payload of the relay buffer (@req, @req_len bytes after its
 * header, function_id @fid) to the device. Return the answer payload's
 * length in h->answer + TSM_RELAY_HDR_SIZE, or -1 (reason in h->err) when
 * the device gave none.
 */
static long dev_xfer(struct tsmh *h, uint32_t fid, const uint8_t *req,
                     size_t req_len)
{
    struct doe_object o;
    size_t n, got = 0;
    uint8_t type = (fid & TSM_RELAY_SECURED) ? DOE_TYPE_SECURED : DOE_TYPE_SPDM;

    if (dev_open(h) != 0) {
        return -1;
    }
    n = doe_build(DOE_VENDOR_PCISIG, type, req, req_len, h->tx, sizeof(h->tx));
    if (n == 0) {
        tv_set_err(h->err, sizeof(h->err),
                   "a %zu-byte payload does not fit a DOE object", req_len);
        return -1;
    }
    if (h->t.xfer(h->t.ctx, h->tx, n, h->rx, sizeof(h->rx), &got, h->err,
                  sizeof(h->err)) != 0) {
        /* the connection is gone: the next relay opens a new one */
        h->t.close(h->t.ctx);
        h->t_open = false;
        return -1;
    }
    if (doe_parse(h->rx, got, &o) != DOE_OK || o.vendor != DOE_VENDOR_PCISIG ||
        (o.type != DOE_TYPE_SPDM && o.type != DOE_TYPE_SECURED)) {
        tv_set_err(h->err, sizeof(h->err),
                   "the device's %zu-byte reply is no CMA/SPDM DOE object",
                   got);
        return -1;
    }
    if (o.payload_len > sizeof(h->answer) - TSM_RELAY_HDR_SIZE) {
        tv_set_err(h->err, sizeof(h->err),
                   "the device's %zu-byte answer is over a relay buffer",
                   o.payload_len);
        return -1;
    }
    memcpy(h->answer + TSM_RELAY_HDR_SIZE, o.payload, o.payload_len);
    return (long)o.payload_len;
}

/*
 * One relay: the relay buffer in h->out (@len bytes) to an answer in
 * h->answer; its total length in *@ans_len.
 */
static int relay_one(struct tsmh *h, size_t len, size_t *ans_len)
{
    uint32_t fid, dev, n;
    unsigned long k = ++h->n_relays;
    char what[600];
    long got;

    if (len < TSM_RELAY_HDR_SIZE) {
        tv_set_err(h->err, sizeof(h->err),
                   "the TSM's relay buffer is %zu bytes", len);
        return -1;
    }
    fid = load_le32(h->out);
    dev = load_le32(h->out + 4);
    n = load_le32(h->out + 8);
    if (n != len - TSM_RELAY_HDR_SIZE) {
        tv_set_err(h->err, sizeof(h->err),
                   "the TSM's relay buffer says %u payload bytes and has %zu",
                   (unsigned)n, len - TSM_RELAY_HDR_SIZE);
        return -1;
    }
    snprintf(what, sizeof(what), "device");
    if (h->hostile.replay != 0 &&
        k == (h->hostile.replay_at != 0 ? h->hostile.replay_at
                                        : h->hostile.replay + 1) &&
        h->kept_len != 0) {
        /* the earlier answer, header and all, instead of asking */
        memcpy(h->answer, h->kept, h->kept_len);
        *ans_len = h->kept_len;
        snprintf(what, sizeof(what), "replayed answer %lu", h->hostile.replay);
        if (h->trace != NULL) {
            h->trace(h->trace_ctx, k, fid, n, *ans_len - TSM_RELAY_HDR_SIZE,
                     what);
        }
        return 0;
    }
    got = dev_xfer(h, fid, h->out + TSM_RELAY_HDR_SIZE, n);
    if (got < 0) {
        /* relayed as an empty answer: the TSM ends the exchange */
        snprintf(what, sizeof(what), "no answer: %s", h->err);
        got = 0;
    }
    store_le32(h->answer, fid);
    store_le32(h->answer + 4, dev);
    store_le32(h->answer + 8, (uint32_t)got);
    *ans_len = TSM_RELAY_HDR_SIZE + (size_t)got;
    if (k == h->hostile.replay) {
        memcpy(h->kept, h->answer, *ans_len);
        h->kept_len = *ans_len;
    }
    if (k == h->hostile.tamper && got > 0) {
        size_t off = h->hostile.tamper_off == TSMH_TAMPER_MIDDLE
                         ? (size_t)got / 2
                         : h->hostile.tamper_off % (size_t)got;
        h->answer[TSM_RELAY_HDR_SIZE + off] ^= 0x01;
        snprintf(what, sizeof(what), "tampered (byte %zu)", off);
    }
    if (h->trace != NULL) {
        h->trace(h->trace_ctx, k, fid, n, (size_t)got, what);
    }
    return 0;
}

/* see tsmhost.h */
size_t tsmh_ide_desc(const struct tsmh_ide_stream *s, uint8_t *out, size_t cap)
{
    size_t len, i;

    if (s->n_addr > TSMH_IDE_MAX_ADDR ||
        (s->rid_valid && s->rid_limit < s->rid_base)) {
        return 0;
    }
    len = TSM_STREAM_DESC_MIN + s->n_addr * TSM_STREAM_ADDR_BLOCK;
    if (cap < len) {
        return 0;
    }
    for (i = 0; i < s->n_addr; i++) {
        uint64_t b = s->addr_base[i], n = s->addr_size[i];
        if (n == 0 || b % TSMH_IDE_ADDR_UNIT != 0 ||
            n % TSMH_IDE_ADDR_UNIT != 0 || b + n - 1 < b) {
            return 0;
        }
    }
    memset(out, 0, len);
    out[0] = s->stream_id;
    out[1] = (uint8_t)s->n_addr;
    if (s->rid_valid) {
        store_le32(out + 4, (uint32_t)s->rid_limit << 8);
        store_le32(out + 8, (uint32_t)s->rid_base << 8 | 1u);
    }
    for (i = 0; i < s->n_addr; i++) {
        uint8_t *p = out + TSM_STREAM_DESC_MIN + i * TSM_STREAM_ADDR_BLOCK;
        uint64_t b = s->addr_base[i], l = b + s->addr_size[i] - 1;

        store_le32(p, (uint32_t)((l >> 20) & 0xfffu) << 20 |
                          (uint32_t)((b >> 20) & 0xfffu) << 8 | 1u);
        store_le32(p + 4, (uint32_t)(l >> 32));
        store_le32(p + 8, (uint32_t)(b >> 32));
    }
    return len;
}

/* see tsmhost.h */
int tsmh_call(struct tsmh *h, uint32_t fid, const uint64_t a[6], uint8_t *out,
              size_t out_cap, size_t *out_len, struct sbiret *ret,
              unsigned *relays)
{
    return tsmh_call_in(h, fid, a, NULL, 0, out, out_cap, out_len, ret, relays);
}

/* see tsmhost.h */
int tsmh_call_in(struct tsmh *h, uint32_t fid, const uint64_t a[6],
                 const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                 size_t *out_len, struct sbiret *ret, unsigned *relays)
{
    size_t len = 0, ans_len = in_len;
    unsigned rounds = 0;

    h->err[0] = '\0';
    if (relays != NULL) {
        *relays = 0;
    }
    if (out_len != NULL) {
        *out_len = 0;
    }
    for (;;) {
        if (tsmc_call(h->c, TSM_EID_COVH, fid, a, in, ans_len, h->out,
                      sizeof(h->out), &len, ret) != 0) {
            tv_set_err(h->err, sizeof(h->err), "TSM: %s", tsmc_error(h->c));
            return -1;
        }
        /* a transcript's value is its length, never a pending request */
        if (ret->error != SBI_SUCCESS ||
            ret->value != TSM_SPDM_PENDING_REQUEST || len == 0 ||
            fid == TSM_COVH_GET_CONN_TRANSCRIPT) {
            break;
        }
        if (++rounds > TSMH_MAX_ROUNDS) {
            tv_set_err(h->err, sizeof(h->err),
                       "%s: still pending after %u relays", tsmh_fid_name(fid),
                       TSMH_MAX_ROUNDS);
            return -1;
        }
        if (relay_one(h, len, &ans_len) != 0) {
            return -1;
        }
        in = h->answer;
    }
    if (relays != NULL) {
        *relays = rounds;
    }
    if (out != NULL && out_len != NULL) {
        if (len > out_cap) {
            tv_set_err(h->err, sizeof(h->err), "%s wrote %zu bytes, over %zu",
                       tsmh_fid_name(fid), len, out_cap);
            return -1;
        }
        memcpy(out, h->out, len);
        *out_len = len;
    }
    return 0;
}
