/* SPDX-License-Identifier: MIT */
/*
 * TDISP requester library; see tdispc.h.
 */
#include "tdispc/tdispc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "tdisp/pcisig.h"

#define MAX_CERTS 8

static int fail(struct tdispc *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct tdispc *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return -1;
}

/* A parse failure, named: SPDM ERROR code, or the engine's reason. */
static int spdm_fail(struct tdispc *c, const char *what, int rc)
{
    if (rc == SPDM_ERR_PEER_ERROR) {
        uint8_t code, data;
        spdm_req_peer_error(&c->q, &code, &data);
        return fail(c, "%s: the device answered ERROR %s (0x%02x, data 0x%02x)",
                    what, spdm_error_name(code), code, data);
    }
    return fail(c, "%s: %s", what, spdm_strerror(rc));
}

static int rng(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    return crypto_random(buf, len);
}

static const struct spdm_requester_ops req_ops = {rng};

const char *tdispc_error(const struct tdispc *c)
{
    return c->err;
}

int tdispc_init(struct tdispc *c, const struct tdispc_transport *t)
{
    struct spdm_requester_config cfg = {0, 0, 0, &req_ops, NULL};

    memset(c, 0, sizeof(*c));
    c->t = *t;
    if (spdm_requester_init(&c->q, &cfg) != SPDM_OK) {
        return fail(c, "SPDM requester: bad configuration");
    }
    return 0;
}

/*
 * Send the @len bytes in c->msg as a DOE object (secured when @secured)
 * and leave the response payload at *@rsp, *@rsp_len.
 */
static int exchange(struct tdispc *c, bool secured, size_t len,
                    const uint8_t **rsp, size_t *rsp_len)
{
    struct doe_object o;
    size_t n =
        doe_build(DOE_VENDOR_PCISIG, secured ? DOE_TYPE_SECURED : DOE_TYPE_SPDM,
                  c->msg, len, c->tx, sizeof(c->tx));
    char err[256];
    size_t got = 0;

    if (n == 0) {
        return fail(c, "a %zu-byte message does not fit a DOE object", len);
    }
    if (c->t.xfer(c->t.ctx, c->tx, n, c->rx, sizeof(c->rx), &got, err,
                  sizeof(err)) != 0) {
        return fail(c, "transport: %s", err);
    }
    if (doe_parse(c->rx, got, &o) != DOE_OK || o.vendor != DOE_VENDOR_PCISIG ||
        (o.type != DOE_TYPE_SPDM && o.type != DOE_TYPE_SECURED)) {
        return fail(c,
                    "transport: the answer is no CMA/SPDM DOE object (%zu "
                    "bytes)",
                    got);
    }
    *rsp = o.payload;
    *rsp_len = o.payload_len;
    return 0;
}

/* build -> exchange -> parse, for the calls of one shape. */
#define STEP(c, secured, what, build_call, parse_call)                         \
    do {                                                                       \
        const uint8_t *in_;                                                    \
        size_t len_ = 0, in_len_ = 0;                                          \
        int rc_ = (build_call);                                                \
        if (rc_ != SPDM_OK) {                                                  \
            return spdm_fail(c, what, rc_);                                    \
        }                                                                      \
        if (exchange(c, secured, len_, &in_, &in_len_) != 0) {                 \
            return -1;                                                         \
        }                                                                      \
        rc_ = (parse_call);                                                    \
        if (rc_ != SPDM_OK) {                                                  \
            return spdm_fail(c, what, rc_);                                    \
        }                                                                      \
    } while (0)

int tdispc_vca(struct tdispc *c)
{
    STEP(c, false, "GET_VERSION",
         spdm_req_get_version_build(&c->q, c->msg, sizeof(c->msg), &len_),
         spdm_req_get_version_parse(&c->q, in_, in_len_));
    STEP(c, false, "GET_CAPABILITIES",
         spdm_req_get_capabilities_build(&c->q, c->msg, sizeof(c->msg), &len_),
         spdm_req_get_capabilities_parse(&c->q, in_, in_len_, NULL));
    STEP(c, false, "NEGOTIATE_ALGORITHMS",
         spdm_req_negotiate_algorithms_build(&c->q, c->msg, sizeof(c->msg),
                                             &len_),
         spdm_req_negotiate_algorithms_parse(&c->q, in_, in_len_));
    c->negotiated = true;
    return 0;
}

/* Split concatenated DER certificates. */
static size_t split_der(const uint8_t *p, size_t len, const uint8_t **certs,
                        size_t *lens, size_t max)
{
    size_t n = 0;

    while (len > 0 && n < max) {
        size_t hl = 2, body;
        if (len < 2 || p[0] != 0x30) {
            return 0;
        }
        if (p[1] < 0x80) {
            body = p[1];
        } else {
            size_t k = p[1] & 0x7f, i;
            if (k == 0 || k > 3 || len < 2 + k) {
                return 0;
            }
            body = 0;
            for (i = 0; i < k; i++) {
                body = body << 8 | p[2 + i];
            }
            hl = 2 + k;
        }
        if (body > len - hl) {
            return 0;
        }
        certs[n] = p;
        lens[n] = hl + body;
        p += hl + body;
        len -= hl + body;
        n++;
    }
    return len == 0 ? n : 0;
}

static int verify_chain(struct tdispc *c, const uint8_t *root, size_t root_len)
{
    const uint8_t *der, *certs[MAX_CERTS], *inter[MAX_CERTS];
    size_t der_len, lens[MAX_CERTS], inter_len[MAX_CERTS], n, n_inter = 0, i;
    char why[256] = "";

    if (spdm_req_cert_chain(&c->q, &der, &der_len) != SPDM_OK) {
        return fail(c, "certificate chain incomplete");
    }
    n = split_der(der, der_len, certs, lens, MAX_CERTS);
    if (n == 0) {
        return fail(c,
                    "the certificate chain is not a sequence of DER "
                    "certificates (or has more than %d)",
                    MAX_CERTS);
    }
    /* the device's root, when it is the pinned one, is the anchor itself */
    for (i = 0; i + 1 < n; i++) {
        if (i == 0 && lens[0] == root_len &&
            memcmp(certs[0], root, root_len) == 0) {
            continue;
        }
        inter[n_inter] = certs[i];
        inter_len[n_inter++] = lens[i];
    }
    if (crypto_x509_verify_chain_openssl(
            root, root_len, inter, inter_len, n_inter, certs[n - 1],
            lens[n - 1], (int64_t)time(NULL), why, sizeof(why)) != 0) {
        return fail(c,
                    "the device's certificate chain does not verify "
                    "under the pinned root: %s",
                    why);
    }
    return 0;
}

int tdispc_authenticate(struct tdispc *c, const uint8_t *root, size_t root_len)
{
    struct spdm_digests dg;
    struct spdm_challenge_result cr;
    bool done = false;
    int guard = 0;

    if (!c->negotiated && tdispc_vca(c) != 0) {
        return -1;
    }
    STEP(c, false, "GET_DIGESTS",
         spdm_req_get_digests_build(&c->q, SPDM_NO_SESSION, c->msg,
                                    sizeof(c->msg), &len_),
         spdm_req_get_digests_parse(&c->q, SPDM_NO_SESSION, in_, in_len_, &dg));
    if (!(dg.slot_mask & 1)) {
        return fail(c, "the device has no certificate chain in slot 0");
    }
    while (!done) {
        if (++guard > 256) {
            return fail(c, "GET_CERTIFICATE: the chain never completed");
        }
        STEP(c, false, "GET_CERTIFICATE",
             spdm_req_get_certificate_build(&c->q, SPDM_NO_SESSION, 0, c->msg,
                                            sizeof(c->msg), &len_),
             spdm_req_get_certificate_parse(&c->q, SPDM_NO_SESSION, in_,
                                            in_len_, &done));
    }
    if (verify_chain(c, root, root_len) != 0) {
        return -1;
    }
    STEP(c, false, "CHALLENGE",
         spdm_req_challenge_build(&c->q, 0, SPDM_MEAS_SUMMARY_ALL, c->msg,
                                  sizeof(c->msg), &len_),
         spdm_req_challenge_parse(&c->q, in_, in_len_, &cr));
    c->authenticated = true;
    return 0;
}

int tdispc_chain(const struct tdispc *c, const uint8_t **der, size_t *len)
{
    return spdm_req_cert_chain(&c->q, der, len) == SPDM_OK ? 0 : -1;
}

int tdispc_measurements(struct tdispc *c, struct spdm_meas_result *res)
{
    bool sign = c->authenticated;
    bool sec = c->session != SPDM_NO_SESSION;

    if (!c->negotiated && tdispc_vca(c) != 0) {
        return -1;
    }
    STEP(c, sec, "GET_MEASUREMENTS",
         spdm_req_get_measurements_build(&c->q, c->session, SPDM_MEAS_OP_ALL,
                                         sign, false, 0, c->msg, sizeof(c->msg),
                                         &len_),
         spdm_req_get_measurements_parse(&c->q, c->session, in_, in_len_, res));
    if (sign && !res->signed_ok) {
        return fail(c, "GET_MEASUREMENTS: the signature was not checked");
    }
    return 0;
}

int tdispc_session(struct tdispc *c)
{
    uint32_t sid = 0;

    if (!c->authenticated) {
        return fail(c, "a session needs an authenticated device");
    }
    STEP(c, false, "KEY_EXCHANGE",
         spdm_req_key_exchange_build(&c->q, 0, SPDM_MEAS_SUMMARY_NONE, c->msg,
                                     sizeof(c->msg), &len_),
         spdm_req_key_exchange_parse(&c->q, in_, in_len_, &sid));
    STEP(c, true, "FINISH",
         spdm_req_finish_build(&c->q, sid, c->msg, sizeof(c->msg), &len_),
         spdm_req_finish_parse(&c->q, sid, in_, in_len_));
    c->session = sid;
    return 0;
}

int tdispc_heartbeat(struct tdispc *c)
{
    STEP(c, true, "HEARTBEAT",
         spdm_req_heartbeat_build(&c->q, c->session, c->msg, sizeof(c->msg),
                                  &len_),
         spdm_req_heartbeat_parse(&c->q, c->session, in_, in_len_));
    return 0;
}

int tdispc_key_update(struct tdispc *c)
{
    STEP(c, true, "KEY_UPDATE",
         spdm_req_key_update_build(&c->q, c->session, SPDM_KEY_UPDATE_KEY, 1,
                                   c->msg, sizeof(c->msg), &len_),
         spdm_req_key_update_parse(&c->q, c->session, in_, in_len_));
    STEP(c, true, "KEY_UPDATE(verify)",
         spdm_req_key_update_build(&c->q, c->session, SPDM_KEY_UPDATE_VERIFY, 2,
                                   c->msg, sizeof(c->msg), &len_),
         spdm_req_key_update_parse(&c->q, c->session, in_, in_len_));
    return 0;
}

int tdispc_tdisp(struct tdispc *c, bool plain, uint8_t code, uint32_t fid,
                 const void *arg, uint8_t *buf, struct tdisp_rsp *r)
{
    static const uint8_t vid[2] = {0x01, 0x00};
    uint8_t req[1 + TDISP_MSG_MAX];
    uint32_t sid = plain ? SPDM_NO_SESSION : c->session;
    size_t n, got = 0;
    int prc;

    if (!plain && c->session == SPDM_NO_SESSION) {
        return fail(c, "TDISP needs a session");
    }
    if (!c->negotiated && tdispc_vca(c) != 0) {
        return -1;
    }
    req[0] = PCISIG_PROTO_TDISP;
    n = tdisp_build_request(code, fid, arg, req + 1, sizeof(req) - 1);
    if (n == 0) {
        return fail(c, "TDISP request 0x%02x: bad arguments", code);
    }
    STEP(c, !plain, "VENDOR_DEFINED(TDISP)",
         spdm_req_vendor_defined_build(&c->q, sid, SPDM_STANDARD_ID_PCISIG, vid,
                                       2, req, n + 1, c->msg, sizeof(c->msg),
                                       &len_),
         spdm_req_vendor_defined_parse(&c->q, sid, in_, in_len_, buf,
                                       1 + TDISP_MSG_MAX, &got));
    if (got < 1 || buf[0] != PCISIG_PROTO_TDISP) {
        return fail(c, "TDISP: the answer is not a TDISP message");
    }
    prc = tdisp_parse_response(code, fid, buf + 1, got - 1, r);
    if (prc != TDISP_PARSE_OK) {
        return fail(c, "TDISP: malformed response (%d)", prc);
    }
    return 0;
}

int tdispc_report(struct tdispc *c, uint32_t fid, uint8_t *out, size_t *len)
{
    static uint8_t buf[1 + TDISP_MSG_MAX];
    struct tdisp_rsp r;
    size_t got = 0;

    for (;;) {
        uint16_t ol[2] = {(uint16_t)got, 1024};
        if (tdispc_tdisp(c, false, TDISP_GET_DEVICE_INTERFACE_REPORT, fid, ol,
                         buf, &r) != 0) {
            return -1;
        }
        if (r.code == TDISP_ERROR) {
            return fail(c, "GET_DEVICE_INTERFACE_REPORT: TDISP_ERROR %s",
                        tdisp_error_name(r.error_code));
        }
        if (r.portion_len == 0 || got + r.portion_len > TDISP_REPORT_MAX ||
            got + r.portion_len + r.remainder_len > TDISP_REPORT_MAX) {
            return fail(c, "GET_DEVICE_INTERFACE_REPORT: portion lengths out "
                           "of bounds");
        }
        memcpy(out + got, r.portion, r.portion_len);
        got += r.portion_len;
        if (r.remainder_len == 0) {
            break;
        }
    }
    *len = got;
    return 0;
}

void tdispc_close(struct tdispc *c)
{
    if (c->session != SPDM_NO_SESSION) {
        const uint8_t *in;
        size_t len = 0, in_len = 0;
        if (spdm_req_end_session_build(&c->q, c->session, c->msg,
                                       sizeof(c->msg), &len) == SPDM_OK &&
            exchange(c, true, len, &in, &in_len) == 0) {
            /* best effort: the connection ends either way */
            if (spdm_req_end_session_parse(&c->q, c->session, in, in_len) !=
                SPDM_OK) {
                c->session = SPDM_NO_SESSION;
            }
        }
        c->session = SPDM_NO_SESSION;
    }
    /* any session left (the END_SESSION failed) ends here, keys wiped */
    spdm_requester_wipe(&c->q);
    if (c->t.close != NULL) {
        c->t.close(c->t.ctx);
        c->t.close = NULL;
    }
}
