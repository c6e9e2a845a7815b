/* SPDX-License-Identifier: MIT */
/*
 * Device security manager glue; see dsm.h.
 */
#include "dsm/dsm.h"

#include <stdio.h>
#include <string.h>

#include "common/ct.h"
#include "common/err.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "tdisp/pcisig.h"

static int op_sign(void *ctx, uint32_t hash_alg, const uint8_t *msg, size_t len,
                   uint8_t *sig, size_t cap, size_t *sig_len)
{
    struct dsm *d = ctx;

    if (hash_alg != SPDM_HASH_SHA384 || cap < CRYPTO_P384_SIG_SIZE ||
        crypto_ecdsa_p384_sign(d->key, msg, len, sig) != 0) {
        return -1;
    }
    *sig_len = CRYPTO_P384_SIG_SIZE;
    return 0;
}

static int op_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    return crypto_random(buf, len);
}

static int op_vendor(void *ctx, uint32_t session_id, bool in_session,
                     uint16_t standard_id, const uint8_t *vendor_id,
                     size_t vendor_id_len, const uint8_t *req, size_t req_len,
                     uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    struct dsm *d = ctx;
    int rc = pcisig_handle(&d->tdisp, &d->idekm, session_id, in_session,
                           standard_id, vendor_id, vendor_id_len, req, req_len,
                           rsp, rsp_cap, rsp_len);

    if (rc == PCISIG_OK) {
        return 0;
    }
    tv_debug("vendor-defined request refused (%s)",
             rc == PCISIG_UNSUPPORTED ? "unsupported" : "refused");
    return rc == PCISIG_UNSUPPORTED ? 1 : -1;
}

static void op_session_ended(void *ctx, uint32_t session_id)
{
    struct dsm *d = ctx;
    unsigned n;

    tdisp_session_ended(&d->tdisp, session_id);
    n = idekm_session_ended(&d->idekm, session_id);
    if (n != 0) {
        tv_info("session 0x%08x ended: the IDE keys of %u stream(s) wiped",
                (unsigned)session_id, n);
    }
}

static const struct spdm_responder_ops dsm_spdm_ops = {
    .sign = op_sign,
    .random = op_random,
    .vendor_defined = op_vendor,
    .session_ended = op_session_ended,
};

static int tdisp_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    return crypto_random(buf, len);
}

static const struct tdisp_ops dsm_tdisp_ops = {tdisp_random};

/* see dsm.h */
int dsm_init(struct dsm *d, const struct dsm_config *cfg, char *err,
             size_t err_len)
{
    struct spdm_responder_config sc = {
        .capabilities = 0,
        .cert_chain = cfg->chain,
        .cert_chain_len = cfg->chain_len,
        .meas = cfg->meas,
        .n_meas = cfg->n_meas,
        .heartbeat_period_s = cfg->heartbeat_period_s,
        .seq_num_size = 0, /* PCI DOE */
        .data_transfer_size = 0,
        .ops = &dsm_spdm_ops,
        .ops_ctx = d,
    };
    int rc;

    memset(d, 0, sizeof(*d));
    d->key = cfg->key;
    rc = spdm_responder_init(&d->spdm, &sc);
    if (rc != SPDM_OK) {
        tv_set_err(err, err_len, "SPDM responder: %s", spdm_strerror(rc));
        return -1;
    }
    if (tdisp_init(&d->tdisp, &cfg->tdisp, &dsm_tdisp_ops, NULL) != TDISP_OK) {
        tv_set_err(err, err_len,
                   "TDIs: 1..%d with distinct function ids and 4 KiB aligned, "
                   "non-empty ranges",
                   TDISP_MAX_TDIS);
        return -1;
    }
    idekm_init(&d->idekm, cfg->bus, cfg->devfn, cfg->segment);
    return 0;
}

/* see dsm.h */
void dsm_reset(struct dsm *d)
{
    spdm_responder_reset(&d->spdm);
    /* every session ended above; nothing outlives them */
    idekm_wipe(&d->idekm);
    d->connected = false;
}

/* see dsm.h */
long dsm_doe(struct dsm *d, const uint8_t *in, size_t in_len, uint8_t *out,
             size_t out_cap)
{
    struct doe_object o;
    size_t n = 0, rsp_len;
    int rc;

    if (doe_parse(in, in_len, &o) != DOE_OK || o.vendor != DOE_VENDOR_PCISIG) {
        return 0;
    }
    switch (o.type) {
    case DOE_TYPE_DISCOVERY:
        return (long)doe_discovery(o.payload, o.payload_len, out, out_cap);
    case DOE_TYPE_SPDM:
    case DOE_TYPE_SECURED:
        d->connected = true;
        rc = spdm_responder_handle(&d->spdm, o.type == DOE_TYPE_SECURED,
                                   o.payload, o.payload_len, d->spdm_out,
                                   sizeof(d->spdm_out), &n);
        if (rc != SPDM_OK) {
            tv_err("SPDM responder: %s", spdm_strerror(rc));
            wipe(d->spdm_out, sizeof(d->spdm_out));
            return -1;
        }
        rsp_len = n;
        n = doe_build(DOE_VENDOR_PCISIG,
                      spdm_responder_out_secured(&d->spdm) ? DOE_TYPE_SECURED
                                                           : DOE_TYPE_SPDM,
                      d->spdm_out, rsp_len, out, out_cap);
        /* only the response's bytes were written (the rest is still 0) */
        wipe(d->spdm_out, rsp_len);
        return n == 0 ? -1 : (long)n;
    default:
        return 0;
    }
}

/* see dsm.h */
enum dsm_verdict dsm_socket_message(struct dsm *d, const struct sock_header *h,
                                    const uint8_t *payload, uint8_t *out,
                                    size_t out_cap, size_t *out_len)
{
    long n;

    *out_len = 0;
    if (out_cap < DSM_SOCK_MAX) {
        return DSM_INTERNAL;
    }
    switch (h->command) {
    case SOCK_CMD_TEST:
        memcpy(out + SOCK_HEADER_SIZE, SOCK_TEST_REPLY,
               sizeof(SOCK_TEST_REPLY));
        sock_build_header(SOCK_CMD_TEST, h->transport,
                          (uint32_t)sizeof(SOCK_TEST_REPLY), out);
        *out_len = SOCK_HEADER_SIZE + sizeof(SOCK_TEST_REPLY);
        return DSM_REPLY;
    case SOCK_CMD_SHUTDOWN:
        sock_build_header(SOCK_CMD_SHUTDOWN, h->transport, 0, out);
        *out_len = SOCK_HEADER_SIZE;
        return DSM_REPLY_CLOSE;
    case SOCK_CMD_NORMAL:
        if (h->transport == SOCK_TRANS_PCI_DOE) {
            n = dsm_doe(d, payload, h->payload_len, out + SOCK_HEADER_SIZE,
                        out_cap - SOCK_HEADER_SIZE);
            if (n < 0) {
                return DSM_INTERNAL;
            }
            if (n == 0) {
                tv_warn("socket: a %u-byte payload that is no DOE object "
                        "this device answers; empty reply",
                        (unsigned)h->payload_len);
            }
            sock_build_header(SOCK_CMD_NORMAL, h->transport, (uint32_t)n, out);
            *out_len = SOCK_HEADER_SIZE + (size_t)n;
            return DSM_REPLY;
        }
        break;
    default:
        break;
    }
    tv_warn("socket: command 0x%x (%s) transport %u not served",
            (unsigned)h->command, sock_command_name(h->command),
            (unsigned)h->transport);
    sock_build_header(SOCK_CMD_UNKNOWN, h->transport, 0, out);
    *out_len = SOCK_HEADER_SIZE;
    return DSM_REPLY;
}

/* see dsm.h */
size_t dsm_tick(struct dsm *d, uint64_t now_ms)
{
    return spdm_responder_tick(&d->spdm, now_ms);
}

/* see dsm.h */
uint64_t dsm_deadline(const struct dsm *d)
{
    return spdm_responder_deadline(&d->spdm);
}

/* see dsm.h */
void dsm_wipe(struct dsm *d)
{
    spdm_responder_reset(&d->spdm);
    idekm_wipe(&d->idekm);
    tdisp_wipe(&d->tdisp);
    wipe(d, sizeof(*d));
}
