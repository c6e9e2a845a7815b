/* SPDX-License-Identifier: MIT */
/*
 * SPDM engine tests. The responder is driven both by the engine's own
 * requester and by hand-built messages; the hand-driven tests keep their own
 * transcripts from the bytes on the wire and check signatures, the key
 * schedule and the record layer with OpenSSL directly, not through the
 * engine or src/crypto.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/bytes.h"
#include "harness.h"
#include "spdm/spdm.h"

/* ---- a device PKI made with OpenSSL directly ---- */

static EVP_PKEY *root_key, *leaf_key, *other_root_key;
static uint8_t chain_der[4096];
static size_t chain_der_len, root_der_len;

static size_t make_cert(EVP_PKEY *subject, EVP_PKEY *issuer_key, X509 *issuer,
                        const char *cn, bool ca, uint8_t *out, X509 **keep)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char *p = out;
    int len;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x,
                         issuer != NULL ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(x, subject);
    assert_true(X509_sign(x, issuer_key, EVP_sha384()) > 0);
    len = i2d_X509(x, &p);
    assert_true(len > 0);
    X509_NAME_free(name);
    if (keep != NULL) {
        *keep = x;
    } else {
        X509_free(x);
    }
    return (size_t)len;
}

static int setup_pki(void **state)
{
    X509 *root;

    root_key = EVP_EC_gen("P-384");
    leaf_key = EVP_EC_gen("P-384");
    other_root_key = EVP_EC_gen("P-384");
    root_der_len = make_cert(root_key, root_key, NULL, "test device CA", true,
                             chain_der, &root);
    chain_der_len =
        root_der_len + make_cert(leaf_key, root_key, root, "test device", false,
                                 chain_der + root_der_len, NULL);
    X509_free(root);
    return 0;
}

static int teardown_pki(void **state)
{
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(other_root_key);
    return 0;
}

/* ECDSA P-384 over SHA-384(msg), as r || s. */
static int ossl_sign(EVP_PKEY *k, const uint8_t *msg, size_t len,
                     uint8_t sig[96])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t der[128];
    size_t der_len = sizeof(der);
    const unsigned char *p = der;
    ECDSA_SIG *s;
    int rc = -1;

    if (EVP_DigestSignInit_ex(ctx, NULL, "SHA384", NULL, NULL, k, NULL) == 1 &&
        EVP_DigestSign(ctx, der, &der_len, msg, len) == 1 &&
        (s = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) != NULL) {
        BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 48);
        BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 48, 48);
        ECDSA_SIG_free(s);
        rc = 0;
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

static bool ossl_verify(EVP_PKEY *k, const uint8_t *msg, size_t len,
                        const uint8_t sig[96])
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[128], *p = der;
    int der_len;
    bool ok;

    ECDSA_SIG_set0(s, BN_bin2bn(sig, 48, NULL), BN_bin2bn(sig + 48, 48, NULL));
    der_len = i2d_ECDSA_SIG(s, &p);
    ok = EVP_DigestVerifyInit_ex(ctx, NULL, "SHA384", NULL, NULL, k, NULL) ==
             1 &&
         EVP_DigestVerify(ctx, der, (size_t)der_len, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    ECDSA_SIG_free(s);
    return ok;
}

/* ---- responder fixture ---- */

struct dev {
    int signs;
    int vendor_calls;
    bool vendor_in_session;
    uint32_t vendor_session;
    int ended;
    bool fail_sign;
};

static int dev_sign(void *ctx, uint32_t hash_alg, const uint8_t *msg,
                    size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    struct dev *d = ctx;

    if (d->fail_sign || hash_alg != SPDM_HASH_SHA384 || cap < 96) {
        return -1;
    }
    d->signs++;
    *sig_len = 96;
    return ossl_sign(leaf_key, msg, len, sig);
}

static int dev_random(void *ctx, uint8_t *buf, size_t len)
{
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* Echoes the payload reversed for PCI-SIG; anything else is unhandled. */
static int dev_vendor(void *ctx, uint32_t session_id, bool in_session,
                      uint16_t standard_id, const uint8_t *vid, size_t vid_len,
                      const uint8_t *req, size_t req_len, uint8_t *rsp,
                      size_t rsp_cap, size_t *rsp_len)
{
    struct dev *d = ctx;

    if (standard_id != SPDM_STANDARD_ID_PCISIG || vid_len != 2 ||
        vid[0] != 0x01 || vid[1] != 0x00) {
        return 1;
    }
    d->vendor_calls++;
    d->vendor_in_session = in_session;
    d->vendor_session = session_id;
    if (req_len > rsp_cap) {
        return -1;
    }
    for (size_t i = 0; i < req_len; i++) {
        rsp[i] = req[req_len - 1 - i];
    }
    *rsp_len = req_len;
    return 0;
}

static void dev_ended(void *ctx, uint32_t session_id)
{
    ((struct dev *)ctx)->ended++;
}

static const struct spdm_responder_ops dev_ops = {
    .sign = dev_sign,
    .random = dev_random,
    .vendor_defined = dev_vendor,
    .session_ended = dev_ended,
};

static int req_random(void *ctx, uint8_t *buf, size_t len)
{
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static const struct spdm_requester_ops req_ops = {.random = req_random};

static const uint8_t fw_digest[48] = {0x11, 0x22, 0x33};
static const uint8_t cfg_raw[] = "mode=secure";

static const struct spdm_meas_config meas_cfg[] = {
    {.index = 1,
     .type = SPDM_MEAS_TYPE_FIRMWARE,
     .is_digest = true,
     .value = fw_digest,
     .value_len = 48},
    {.index = 2,
     .type = SPDM_MEAS_TYPE_FW_CONFIG,
     .is_digest = false,
     .value = cfg_raw,
     .value_len = sizeof(cfg_raw) - 1},
};

static struct spdm_responder rsp;
static struct spdm_requester rq;
static struct dev dev;

static void init_rsp(uint32_t dts)
{
    struct spdm_responder_config cfg = {
        .cert_chain = chain_der,
        .cert_chain_len = chain_der_len,
        .meas = meas_cfg,
        .n_meas = 2,
        .heartbeat_period_s = 10,
        .data_transfer_size = dts,
        .ops = &dev_ops,
        .ops_ctx = &dev,
    };
    memset(&dev, 0, sizeof(dev));
    assert_int_equal(spdm_responder_init(&rsp, &cfg), SPDM_OK);
}

static void init_both(uint32_t req_dts)
{
    struct spdm_requester_config cfg = {.data_transfer_size = req_dts,
                                        .ops = &req_ops};
    init_rsp(0);
    assert_int_equal(spdm_requester_init(&rq, &cfg), SPDM_OK);
}

/* One exchange with the responder. */
static uint8_t wire_out[SPDM_RECORD_MAX];
static size_t wire_out_len;

static const uint8_t *xchg(bool secured, const uint8_t *m, size_t len)
{
    assert_int_equal(spdm_responder_handle(&rsp, secured, m, len, wire_out,
                                           sizeof(wire_out), &wire_out_len),
                     SPDM_OK);
    return wire_out;
}

static void assert_error(const uint8_t *r, uint8_t code)
{
    assert_true(wire_out_len >= 4);
    assert_int_equal(r[1], SPDM_ERROR);
    assert_int_equal(r[2], code);
}

/* ---- requester against responder ---- */

static uint8_t buf[SPDM_RECORD_MAX];
static size_t buf_len;

#define STEP(build, parse)                                                     \
    do {                                                                       \
        assert_int_equal(build, SPDM_OK);                                      \
        (void)xchg(false, buf, buf_len);                                       \
        assert_int_equal(parse, SPDM_OK);                                      \
    } while (0)

/* as STEP for a secured request */
#define SSTEP(build, parse)                                                    \
    do {                                                                       \
        assert_int_equal(build, SPDM_OK);                                      \
        (void)xchg(true, buf, buf_len);                                        \
        assert_true(spdm_responder_out_secured(&rsp));                         \
        assert_int_equal(parse, SPDM_OK);                                      \
    } while (0)

static void do_vca(void)
{
    uint32_t caps = 0;

    STEP(spdm_req_get_version_build(&rq, buf, sizeof(buf), &buf_len),
         spdm_req_get_version_parse(&rq, wire_out, wire_out_len));
    STEP(spdm_req_get_capabilities_build(&rq, buf, sizeof(buf), &buf_len),
         spdm_req_get_capabilities_parse(&rq, wire_out, wire_out_len, &caps));
    assert_int_equal(caps, SPDM_RSP_CAPS);
    STEP(spdm_req_negotiate_algorithms_build(&rq, buf, sizeof(buf), &buf_len),
         spdm_req_negotiate_algorithms_parse(&rq, wire_out, wire_out_len));
    assert_int_equal(spdm_responder_state(&rsp), SPDM_CONN_NEGOTIATED);
}

static int do_certs(uint32_t session)
{
    struct spdm_digests dg;
    bool done = false;
    int portions = 0;

    if (session == SPDM_NO_SESSION) {
        STEP(spdm_req_get_digests_build(&rq, session, buf, sizeof(buf),
                                        &buf_len),
             spdm_req_get_digests_parse(&rq, session, wire_out, wire_out_len,
                                        &dg));
    } else {
        SSTEP(spdm_req_get_digests_build(&rq, session, buf, sizeof(buf),
                                         &buf_len),
              spdm_req_get_digests_parse(&rq, session, wire_out, wire_out_len,
                                         &dg));
    }
    assert_int_equal(dg.slot_mask, 1);
    while (!done) {
        assert_int_equal(spdm_req_get_certificate_build(&rq, session, 0, buf,
                                                        sizeof(buf), &buf_len),
                         SPDM_OK);
        (void)xchg(session != SPDM_NO_SESSION, buf, buf_len);
        assert_int_equal(spdm_req_get_certificate_parse(&rq, session, wire_out,
                                                        wire_out_len, &done),
                         SPDM_OK);
        portions++;
        assert_true(portions < 100);
    }
    return portions;
}

static uint32_t do_session(void)
{
    uint32_t sid = 0;

    STEP(spdm_req_key_exchange_build(&rq, 0, SPDM_MEAS_SUMMARY_ALL, buf,
                                     sizeof(buf), &buf_len),
         spdm_req_key_exchange_parse(&rq, wire_out, wire_out_len, &sid));
    assert_int_equal(spdm_responder_session_state(&rsp, sid),
                     SPDM_SESSION_HANDSHAKE);
    SSTEP(spdm_req_finish_build(&rq, sid, buf, sizeof(buf), &buf_len),
          spdm_req_finish_parse(&rq, sid, wire_out, wire_out_len));
    assert_int_equal(spdm_responder_session_state(&rsp, sid),
                     SPDM_SESSION_ESTABLISHED);
    assert_int_equal(spdm_req_session_state(&rq, sid),
                     SPDM_SESSION_ESTABLISHED);
    return sid;
}

static void full_flow(void **state)
{
    struct spdm_challenge_result ch;
    struct spdm_meas_result mr;
    const uint8_t *der;
    size_t der_len, vlen;
    uint8_t pub[SPDM_P384_PUB_SIZE], v[64];
    static const uint8_t vid[2] = {0x01, 0x00};
    static const uint8_t tdisp[] = {0x10, 0x81, 0, 0, 1, 2, 3};
    uint32_t sid;

    /* a small transfer size makes the chain come in several portions */
    init_both(256);
    do_vca();
    assert_true(do_certs(SPDM_NO_SESSION) > 2);
    assert_int_equal(spdm_req_cert_chain(&rq, &der, &der_len), SPDM_OK);
    assert_int_equal(der_len, chain_der_len);
    assert_bytes_equal(der, chain_der, chain_der_len);
    assert_int_equal(spdm_req_leaf_pubkey(&rq, pub), SPDM_OK);

    STEP(spdm_req_challenge_build(&rq, 0, SPDM_MEAS_SUMMARY_TCB, buf,
                                  sizeof(buf), &buf_len),
         spdm_req_challenge_parse(&rq, wire_out, wire_out_len, &ch));
    assert_true(ch.has_meas_summary);
    /* a second challenge with no certificate traffic in between */
    STEP(spdm_req_challenge_build(&rq, 0, SPDM_MEAS_SUMMARY_NONE, buf,
                                  sizeof(buf), &buf_len),
         spdm_req_challenge_parse(&rq, wire_out, wire_out_len, &ch));
    assert_false(ch.has_meas_summary);

    STEP(spdm_req_get_measurements_build(&rq, 0, SPDM_MEAS_OP_COUNT, false,
                                         false, 0, buf, sizeof(buf), &buf_len),
         spdm_req_get_measurements_parse(&rq, 0, wire_out, wire_out_len, &mr));
    assert_int_equal(mr.total, 2);
    STEP(spdm_req_get_measurements_build(&rq, 0, 2, false, true, 0, buf,
                                         sizeof(buf), &buf_len),
         spdm_req_get_measurements_parse(&rq, 0, wire_out, wire_out_len, &mr));
    assert_int_equal(mr.n_blocks, 1);
    assert_int_equal(mr.blocks[0].type, 0x80 | SPDM_MEAS_TYPE_FW_CONFIG);
    assert_int_equal(mr.blocks[0].value_len, sizeof(cfg_raw) - 1);
    assert_memory_equal(mr.blocks[0].value, cfg_raw, sizeof(cfg_raw) - 1);
    STEP(spdm_req_get_measurements_build(&rq, 0, SPDM_MEAS_OP_ALL, true, false,
                                         0, buf, sizeof(buf), &buf_len),
         spdm_req_get_measurements_parse(&rq, 0, wire_out, wire_out_len, &mr));
    assert_true(mr.signed_ok);
    assert_int_equal(mr.n_blocks, 2);
    assert_int_equal(mr.blocks[0].index, 1);
    assert_memory_equal(mr.blocks[0].value, fw_digest, 48);
    assert_int_equal(mr.blocks[1].value_len, 48); /* digest form */

    sid = do_session();
    SSTEP(spdm_req_heartbeat_build(&rq, sid, buf, sizeof(buf), &buf_len),
          spdm_req_heartbeat_parse(&rq, sid, wire_out, wire_out_len));
    SSTEP(spdm_req_vendor_defined_build(&rq, sid, SPDM_STANDARD_ID_PCISIG, vid,
                                        2, tdisp, sizeof(tdisp), buf,
                                        sizeof(buf), &buf_len),
          spdm_req_vendor_defined_parse(&rq, sid, wire_out, wire_out_len, v,
                                        sizeof(v), &vlen));
    assert_int_equal(vlen, sizeof(tdisp));
    assert_int_equal(v[0], tdisp[sizeof(tdisp) - 1]);
    assert_true(dev.vendor_in_session);
    assert_int_equal(dev.vendor_session, sid);
    /* every key update operation, each followed by traffic */
    SSTEP(spdm_req_key_update_build(&rq, sid, SPDM_KEY_UPDATE_KEY, 7, buf,
                                    sizeof(buf), &buf_len),
          spdm_req_key_update_parse(&rq, sid, wire_out, wire_out_len));
    SSTEP(spdm_req_key_update_build(&rq, sid, SPDM_KEY_UPDATE_VERIFY, 8, buf,
                                    sizeof(buf), &buf_len),
          spdm_req_key_update_parse(&rq, sid, wire_out, wire_out_len));
    SSTEP(spdm_req_key_update_build(&rq, sid, SPDM_KEY_UPDATE_ALL_KEYS, 9, buf,
                                    sizeof(buf), &buf_len),
          spdm_req_key_update_parse(&rq, sid, wire_out, wire_out_len));
    SSTEP(spdm_req_heartbeat_build(&rq, sid, buf, sizeof(buf), &buf_len),
          spdm_req_heartbeat_parse(&rq, sid, wire_out, wire_out_len));
    SSTEP(
        spdm_req_get_measurements_build(&rq, sid, 1, true, false, 0, buf,
                                        sizeof(buf), &buf_len),
        spdm_req_get_measurements_parse(&rq, sid, wire_out, wire_out_len, &mr));
    assert_true(mr.signed_ok);
    assert_int_equal(mr.n_blocks, 1);
    /* all blocks and a signature exceed the 256-byte transfer size */
    SSTEP(spdm_req_get_measurements_build(&rq, sid, SPDM_MEAS_OP_ALL, true,
                                          false, 0, buf, sizeof(buf), &buf_len),
          spdm_req_get_measurements_parse(&rq, sid, wire_out, wire_out_len,
                                          &mr) == SPDM_ERR_PEER_ERROR
              ? SPDM_OK
              : -1);
    {
        uint8_t code, data;
        spdm_req_peer_error(&rq, &code, &data);
        assert_int_equal(code, SPDM_ERROR_RESPONSE_TOO_LARGE);
    }
    assert_true(do_certs(sid) > 2);
    SSTEP(spdm_req_end_session_build(&rq, sid, buf, sizeof(buf), &buf_len),
          spdm_req_end_session_parse(&rq, sid, wire_out, wire_out_len));
    assert_int_equal(spdm_responder_session_state(&rsp, sid),
                     SPDM_SESSION_FREE);
    assert_int_equal(spdm_req_session_state(&rq, sid), SPDM_SESSION_FREE);
    assert_int_equal(dev.ended, 1);
    /* plain vendor requests are told they are outside a session */
    STEP(spdm_req_vendor_defined_build(&rq, 0, SPDM_STANDARD_ID_PCISIG, vid, 2,
                                       tdisp, sizeof(tdisp), buf, sizeof(buf),
                                       &buf_len),
         spdm_req_vendor_defined_parse(&rq, 0, wire_out, wire_out_len, v,
                                       sizeof(v), &vlen));
    assert_false(dev.vendor_in_session);
}

/*
 * HEARTBEAT expiry with an injected clock (period 10 s, so a session ends
 * when quiet for more than 20 000 ms): exactly twice the period is still
 * alive, any request restarts the count, one millisecond more ends it (the
 * callback runs, its records are DecryptError); a handshake that never
 * finishes expires the same way; period 0 never expires.
 */
static void heartbeat_expiry(void **state)
{
    uint32_t sid = 0, sid2 = 0;

    init_both(0);
    assert_int_equal(spdm_responder_deadline(&rsp), UINT64_MAX);
    assert_int_equal(spdm_responder_tick(&rsp, 1000), 0);
    do_vca();
    (void)do_certs(SPDM_NO_SESSION);
    sid = do_session(); /* KEY_EXCHANGE and FINISH at t = 1000 */
    assert_int_equal(spdm_responder_deadline(&rsp), 21000);
    assert_int_equal(spdm_responder_tick(&rsp, 21000), 0);
    assert_int_equal(spdm_responder_session_state(&rsp, sid),
                     SPDM_SESSION_ESTABLISHED);
    /* a heartbeat at 21 000 restarts the count */
    SSTEP(spdm_req_heartbeat_build(&rq, sid, buf, sizeof(buf), &buf_len),
          spdm_req_heartbeat_parse(&rq, sid, wire_out, wire_out_len));
    assert_int_equal(spdm_responder_deadline(&rsp), 41000);
    assert_int_equal(spdm_responder_tick(&rsp, 30000), 0);
    /* so does any other request of the session (digests at 30 000) */
    (void)do_certs(sid);
    assert_int_equal(spdm_responder_deadline(&rsp), 50000);
    assert_int_equal(spdm_responder_tick(&rsp, 50000), 0);
    assert_int_equal(dev.ended, 0);
    assert_int_equal(spdm_responder_tick(&rsp, 50001), 1);
    assert_int_equal(dev.ended, 1);
    assert_int_equal(spdm_responder_session_state(&rsp, sid),
                     SPDM_SESSION_FREE);
    assert_int_equal(spdm_responder_deadline(&rsp), UINT64_MAX);
    assert_int_equal(
        spdm_req_heartbeat_build(&rq, sid, buf, sizeof(buf), &buf_len),
        SPDM_OK);
    assert_error(xchg(true, buf, buf_len), SPDM_ERROR_DECRYPT_ERROR);
    assert_false(spdm_responder_out_secured(&rsp));
    assert_int_equal(spdm_req_heartbeat_parse(&rq, sid, wire_out, wire_out_len),
                     SPDM_ERR_PEER_ERROR);
    /* the connection itself goes on: a new session */
    assert_int_equal(spdm_responder_tick(&rsp, 60000), 0);
    STEP(spdm_req_key_exchange_build(&rq, 0, SPDM_MEAS_SUMMARY_NONE, buf,
                                     sizeof(buf), &buf_len),
         spdm_req_key_exchange_parse(&rq, wire_out, wire_out_len, &sid2));
    assert_int_equal(spdm_responder_session_state(&rsp, sid2),
                     SPDM_SESSION_HANDSHAKE);
    /* ... left in its handshake: ends after the same 20 s */
    assert_int_equal(spdm_responder_tick(&rsp, 80000), 0);
    assert_int_equal(spdm_responder_tick(&rsp, 80001), 1);
    assert_int_equal(spdm_responder_session_state(&rsp, sid2),
                     SPDM_SESSION_FREE);
    assert_int_equal(dev.ended, 2);

    /* period 0: advertised as 0, nothing ever expires */
    {
        struct spdm_responder_config cfg = {
            .cert_chain = chain_der,
            .cert_chain_len = chain_der_len,
            .meas = meas_cfg,
            .n_meas = 2,
            .heartbeat_period_s = 0,
            .ops = &dev_ops,
            .ops_ctx = &dev,
        };
        struct spdm_requester_config rcfg = {.ops = &req_ops};

        memset(&dev, 0, sizeof(dev));
        assert_int_equal(spdm_responder_init(&rsp, &cfg), SPDM_OK);
        assert_int_equal(spdm_requester_init(&rq, &rcfg), SPDM_OK);
        assert_int_equal(spdm_responder_tick(&rsp, 5), 0);
        do_vca();
        (void)do_certs(SPDM_NO_SESSION);
        sid = do_session();
        assert_int_equal(rq.peer_heartbeat_period_s, 0);
        assert_int_equal(spdm_responder_deadline(&rsp), UINT64_MAX);
        assert_int_equal(spdm_responder_tick(&rsp, UINT64_MAX), 0);
        assert_int_equal(spdm_responder_session_state(&rsp, sid),
                         SPDM_SESSION_ESTABLISHED);
        spdm_responder_reset(&rsp);
    }
    (void)state;
}

static void sessions_limit_and_reuse(void **state)
{
    uint32_t ids[SPDM_SESSIONS_MAX];
    uint32_t sid;

    init_both(0);
    do_vca();
    do_certs(SPDM_NO_SESSION);
    for (size_t i = 0; i < SPDM_SESSIONS_MAX; i++) {
        ids[i] = do_session();
        for (size_t k = 0; k < i; k++) {
            assert_int_not_equal(ids[i], ids[k]);
        }
    }
    /* the requester has no free slot either */
    assert_int_equal(
        spdm_req_key_exchange_build(&rq, 0, 0, buf, sizeof(buf), &buf_len),
        SPDM_ERR_SESSION);
    SSTEP(spdm_req_end_session_build(&rq, ids[1], buf, sizeof(buf), &buf_len),
          spdm_req_end_session_parse(&rq, ids[1], wire_out, wire_out_len));
    sid = do_session();
    assert_int_equal(spdm_responder_session_state(&rsp, sid),
                     SPDM_SESSION_ESTABLISHED);
    /* sessions are independent: traffic on one leaves the others alone */
    SSTEP(spdm_req_heartbeat_build(&rq, ids[0], buf, sizeof(buf), &buf_len),
          spdm_req_heartbeat_parse(&rq, ids[0], wire_out, wire_out_len));
    SSTEP(spdm_req_heartbeat_build(&rq, sid, buf, sizeof(buf), &buf_len),
          spdm_req_heartbeat_parse(&rq, sid, wire_out, wire_out_len));
    /* GET_VERSION ends every session */
    do_vca();
    assert_int_equal(spdm_responder_session_state(&rsp, ids[0]),
                     SPDM_SESSION_FREE);
    assert_int_equal(dev.ended, 1 + SPDM_SESSIONS_MAX);
}

/* ---- hand-driven responder: independent transcripts ---- */

static uint8_t ts[16384];
static size_t ts_len;

static void ts_add(const void *p, size_t n)
{
    assert_true(ts_len + n <= sizeof(ts));
    memcpy(ts + ts_len, p, n);
    ts_len += n;
}

static void sha384(const void *p, size_t n, uint8_t out[48])
{
    unsigned int len = 48;

    assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha384(), NULL), 1);
}

static uint8_t vca[1024];
static size_t vca_len;

static const uint8_t get_version[] = {0x10, 0x84, 0, 0};
static const uint8_t get_caps[20] = {
    0x12, 0xe1, 0, 0, 0, 10, 0, 0,
    /* CERT | CHAL | ENCRYPT | MAC | KEY_EX | HBEAT | KEY_UPD */
    0xc6, 0x62, 0, 0, 0x00, 0x10, 0, 0, 0x00, 0x10, 0, 0};
static const uint8_t neg_algs[48] = {
    0x12, 0xe3, 4,    0, 48, 0,    0x01, 0x02, 0x80, 0,    0,    0,
    0x02, 0,    0,    0, 0,  0,    0,    0,    0,    0,    0,    0,
    0,    0,    0,    0, 0,  0,    0,    0,    2,    0x20, 0x10, 0,
    3,    0x20, 0x02, 0, 4,  0x20, 0x80, 0,    5,    0x20, 1,    0};

/* VCA by hand; the test's own copy of message A from the wire bytes. */
static void hand_vca(void)
{
    const uint8_t *r;

    vca_len = 0;
    r = xchg(false, get_version, 4);
    assert_int_equal(r[1], SPDM_VERSION);
    assert_int_equal(r[0], 0x10);
    assert_int_equal(r[5], 1);
    assert_int_equal(load_le16(r + 6), 0x1200);
    memcpy(vca, get_version, 4);
    memcpy(vca + 4, r, wire_out_len);
    vca_len = 4 + wire_out_len;
    r = xchg(false, get_caps, 20);
    assert_int_equal(r[1], SPDM_CAPABILITIES);
    assert_int_equal(wire_out_len, 20);
    assert_int_equal(load_le32(r + 8), SPDM_RSP_CAPS);
    memcpy(vca + vca_len, get_caps, 20);
    memcpy(vca + vca_len + 20, r, 20);
    vca_len += 40;
    r = xchg(false, neg_algs, sizeof(neg_algs));
    assert_int_equal(r[1], SPDM_ALGORITHMS);
    assert_int_equal(wire_out_len, 36 + 16);
    assert_int_equal(load_le16(r + 4), 52);
    assert_int_equal(r[7], 0x02); /* opaque format 1 */
    assert_int_equal(load_le32(r + 8), SPDM_MEAS_HASH_SHA384);
    assert_int_equal(load_le32(r + 12), SPDM_ASYM_ECDSA_P384);
    assert_int_equal(load_le32(r + 16), SPDM_HASH_SHA384);
    assert_int_equal(load_le16(r + 36 + 2), SPDM_DHE_SECP384R1);
    assert_int_equal(load_le16(r + 40 + 2), SPDM_AEAD_AES_256_GCM);
    assert_int_equal(load_le16(r + 44 + 2), 0);
    assert_int_equal(load_le16(r + 48 + 2), SPDM_KEY_SCHEDULE_SPDM);
    memcpy(vca + vca_len, neg_algs, sizeof(neg_algs));
    memcpy(vca + vca_len + sizeof(neg_algs), r, wire_out_len);
    vca_len += sizeof(neg_algs) + wire_out_len;
}

static void sign_input(const char *label, const uint8_t h[48], uint8_t out[148])
{
    size_t l = strlen(label);

    for (int i = 0; i < 4; i++) {
        memcpy(out + 16 * i, "dmtf-spdm-v1.2.*", 16);
    }
    memset(out + 64, 0, 36);
    memcpy(out + 100 - l, label, l);
    memcpy(out + 100, h, 48);
}

/* The SPDM cert-chain structure the responder should serve. */
static size_t expect_chain(uint8_t *out)
{
    size_t n = 4 + 48 + chain_der_len;

    store_le16(out, (uint16_t)n);
    store_le16(out + 2, 0);
    sha384(chain_der, root_der_len, out + 4);
    memcpy(out + 52, chain_der, chain_der_len);
    return n;
}

static void challenge_transcript(void **state)
{
    uint8_t m[64], chain[4096], h[48], in[148];
    size_t chain_len = expect_chain(chain), off = 0;
    const uint8_t *r;

    init_rsp(0);
    hand_vca();
    ts_len = 0;
    ts_add(vca, vca_len);
    /* message B: digests, then the chain in 300-byte portions */
    m[0] = 0x12;
    m[1] = 0x81;
    m[2] = m[3] = 0;
    r = xchg(false, m, 4);
    assert_int_equal(r[1], SPDM_DIGESTS);
    assert_int_equal(r[3], 1);
    sha384(chain, chain_len, h);
    assert_bytes_equal(r + 4, h, 48);
    ts_add(m, 4);
    ts_add(r, wire_out_len);
    while (off < chain_len) {
        uint8_t g[8] = {0x12, 0x82, 0, 0};
        store_le16(g + 4, (uint16_t)off);
        store_le16(g + 6, 300);
        r = xchg(false, g, 8);
        assert_int_equal(r[1], SPDM_CERTIFICATE);
        size_t portion = load_le16(r + 4);
        assert_true(portion > 0 && portion <= 300);
        assert_int_equal(load_le16(r + 6), chain_len - off - portion);
        assert_bytes_equal(r + 8, chain + off, portion);
        ts_add(g, 8);
        ts_add(r, wire_out_len);
        off += portion;
    }
    /* message C, with the summary hash of every block */
    m[1] = 0x83;
    m[2] = 0;
    m[3] = 0xff;
    RAND_bytes(m + 4, 32);
    r = xchg(false, m, 36);
    assert_int_equal(r[1], SPDM_CHALLENGE_AUTH);
    assert_int_equal(wire_out_len, 4 + 48 + 32 + 48 + 2 + 96);
    assert_bytes_equal(r + 4, h, 48);
    /* the summary: SHA-384 of both blocks in digest form */
    {
        uint8_t blocks[2 * 55], want[48];
        for (int i = 0; i < 2; i++) {
            uint8_t *p = blocks + 55 * i;
            p[0] = (uint8_t)(i + 1);
            p[1] = 1;
            store_le16(p + 2, 51);
            p[4] = i == 0 ? SPDM_MEAS_TYPE_FIRMWARE : SPDM_MEAS_TYPE_FW_CONFIG;
            store_le16(p + 5, 48);
            if (i == 0) {
                memcpy(p + 7, fw_digest, 48);
            } else {
                sha384(cfg_raw, sizeof(cfg_raw) - 1, p + 7);
            }
        }
        sha384(blocks, sizeof(blocks), want);
        assert_bytes_equal(r + 4 + 48 + 32, want, 48);
    }
    ts_add(m, 36);
    ts_add(r, wire_out_len - 96);
    sha384(ts, ts_len, h);
    sign_input("responder-challenge_auth signing", h, in);
    assert_true(ossl_verify(leaf_key, in, sizeof(in), r + wire_out_len - 96));
    /* a bit flipped in the transcript no longer verifies */
    in[120] ^= 1;
    assert_false(ossl_verify(leaf_key, in, sizeof(in), r + wire_out_len - 96));

    /* the next CHALLENGE's M1 is A || C alone (B was consumed) */
    ts_len = 0;
    ts_add(vca, vca_len);
    m[3] = 0;
    r = xchg(false, m, 36);
    assert_int_equal(wire_out_len, 4 + 48 + 32 + 2 + 96);
    ts_add(m, 36);
    ts_add(r, wire_out_len - 96);
    sha384(ts, ts_len, h);
    sign_input("responder-challenge_auth signing", h, in);
    assert_true(ossl_verify(leaf_key, in, sizeof(in), r + wire_out_len - 96));
}

static void measurements_transcript(void **state)
{
    uint8_t m[37] = {0x12, 0xe0, 0, 1}, h[48], in[148], blk[64];
    const uint8_t *r;
    size_t n;

    init_rsp(0);
    hand_vca();
    ts_len = 0;
    ts_add(vca, vca_len);
    /* unsigned index 1, then unsigned raw index 2, then signed all */
    r = xchg(false, m, 4);
    assert_int_equal(r[1], SPDM_MEASUREMENTS);
    assert_int_equal(r[4], 1);
    n = 4 + 3 + 48;
    assert_int_equal(r[5] | r[6] << 8 | r[7] << 16, n);
    blk[0] = 1;
    blk[1] = 1;
    store_le16(blk + 2, 51);
    blk[4] = SPDM_MEAS_TYPE_FIRMWARE;
    store_le16(blk + 5, 48);
    memcpy(blk + 7, fw_digest, 48);
    assert_bytes_equal(r + 8, blk, n);
    assert_int_equal(wire_out_len, 8 + n + 32 + 2);
    ts_add(m, 4);
    ts_add(r, wire_out_len);
    m[2] = 0x02;
    m[3] = 2;
    r = xchg(false, m, 4);
    assert_int_equal(r[8 + 4], 0x80 | SPDM_MEAS_TYPE_FW_CONFIG);
    assert_memory_equal(r + 8 + 7, cfg_raw, sizeof(cfg_raw) - 1);
    ts_add(m, 4);
    ts_add(r, wire_out_len);
    m[2] = 0x01;
    m[3] = 0xff;
    RAND_bytes(m + 4, 32);
    m[36] = 0;
    r = xchg(false, m, 37);
    assert_int_equal(r[1], SPDM_MEASUREMENTS);
    assert_int_equal(r[4], 2);
    ts_add(m, 37);
    ts_add(r, wire_out_len - 96);
    sha384(ts, ts_len, h);
    sign_input("responder-measurements signing", h, in);
    assert_true(ossl_verify(leaf_key, in, sizeof(in), r + wire_out_len - 96));
    /* L1 restarts after a signed response */
    ts_len = 0;
    ts_add(vca, vca_len);
    r = xchg(false, m, 37);
    ts_add(m, 37);
    ts_add(r, wire_out_len - 96);
    sha384(ts, ts_len, h);
    sign_input("responder-measurements signing", h, in);
    assert_true(ossl_verify(leaf_key, in, sizeof(in), r + wire_out_len - 96));
}

/* ---- independent key schedule and record layer ---- */

static void hkdf_expand(const uint8_t prk[48], const uint8_t *info,
                        size_t info_len, uint8_t *out, size_t out_len)
{
    /* RFC 5869 by hand over HMAC-SHA-384 */
    uint8_t t[48 + 128 + 1], blockv[48];
    size_t done = 0, tl = 0;
    unsigned int hl;

    for (uint8_t i = 1; done < out_len; i++) {
        memcpy(t + tl, info, info_len);
        t[tl + info_len] = i;
        assert_non_null(
            HMAC(EVP_sha384(), prk, 48, t, tl + info_len + 1, blockv, &hl));
        size_t k = out_len - done < 48 ? out_len - done : 48;
        memcpy(out + done, blockv, k);
        done += k;
        memcpy(t, blockv, 48);
        tl = 48;
    }
}

static void expand_label(const uint8_t secret[48], const char *label,
                         const uint8_t *ctx, size_t ctx_len, uint8_t *out,
                         size_t out_len)
{
    uint8_t info[128];
    size_t n = 0, l = strlen(label);

    store_le16(info, (uint16_t)out_len);
    memcpy(info + 2, "spdm1.2 ", 8);
    memcpy(info + 10, label, l);
    n = 10 + l;
    if (ctx_len > 0) {
        memcpy(info + n, ctx, ctx_len);
    }
    hkdf_expand(secret, info, n + ctx_len, out, out_len);
}

struct dir {
    uint8_t secret[48], key[32], iv[12];
    uint64_t seq;
};

static void dir_keys(struct dir *d)
{
    expand_label(d->secret, "key", NULL, 0, d->key, 32);
    expand_label(d->secret, "iv", NULL, 0, d->iv, 12);
    d->seq = 0;
}

static size_t seal(uint32_t sid, struct dir *d, const uint8_t *p, size_t n,
                   uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    uint8_t iv[12];
    int l;

    memcpy(iv, d->iv, 12);
    for (int i = 0; i < 8; i++) {
        iv[i] ^= (uint8_t)(d->seq >> (8 * i));
    }
    store_le32(out, sid);
    store_le16(out + 4, (uint16_t)(2 + n + 16));
    store_le16(out + 6, (uint16_t)n);
    memcpy(out + 8, p, n);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, d->key, iv),
                     1);
    EVP_EncryptUpdate(c, NULL, &l, out, 6);
    EVP_EncryptUpdate(c, out + 6, &l, out + 6, (int)(2 + n));
    EVP_EncryptFinal_ex(c, out + 6, &l);
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 8 + n);
    EVP_CIPHER_CTX_free(c);
    d->seq++;
    return 8 + n + 16;
}

static size_t open_rec(uint32_t sid, struct dir *d, const uint8_t *in,
                       size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    uint8_t iv[12], pt[SPDM_RECORD_MAX];
    size_t body;
    int l, ok;

    assert_true(len >= 8 + 16);
    assert_int_equal(load_le32(in), sid);
    body = load_le16(in + 4);
    assert_int_equal(body, len - 6);
    memcpy(iv, d->iv, 12);
    for (int i = 0; i < 8; i++) {
        iv[i] ^= (uint8_t)(d->seq >> (8 * i));
    }
    EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, d->key, iv);
    EVP_DecryptUpdate(c, NULL, &l, in, 6);
    EVP_DecryptUpdate(c, pt, &l, in + 6, (int)(body - 16));
    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
                        (void *)(in + 6 + body - 16));
    ok = EVP_DecryptFinal_ex(c, pt + l, &l);
    EVP_CIPHER_CTX_free(c);
    assert_int_equal(ok, 1);
    d->seq++;
    memcpy(out, pt + 2, load_le16(pt));
    return load_le16(pt);
}

struct hs {
    uint32_t sid;
    struct dir req, rsp;
    uint8_t hs_secret[48], fin_req[48], fin_rsp[48];
};

/* KEY_EXCHANGE + FINISH by hand, every value computed here. */
static void hand_session(struct hs *s)
{
    uint8_t ke[4 + 2 + 2 + 32 + 96 + 2 + 16] = {0x12, 0xe4, 0, 0, 0x34, 0x12};
    uint8_t chain[4096], ct[48], h[48], in[148], dhe[48], zero[48] = {0};
    uint8_t fin[52] = {0x12, 0xe5, 0, 0}, rec[256], pt[64], salt1[48];
    uint8_t master[48];
    size_t chain_len = expect_chain(chain), sig_off, n, dl = 48;
    EVP_PKEY *eph = EVP_EC_gen("P-384"), *peer;
    EVP_PKEY_CTX *pc;
    uint8_t point[97];
    size_t pl = sizeof(point);
    const uint8_t *r;
    unsigned int hl;

    sha384(chain, chain_len, ct);
    EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                    point, sizeof(point), &pl);
    assert_int_equal(pl, 97);
    RAND_bytes(ke + 8, 32);
    memcpy(ke + 40, point + 1, 96);
    store_le16(ke + 136, 16);
    /* opaque: one DMTF element, supported versions {1.1} */
    memset(ke + 138, 0, 16);
    ke[138] = 1;
    store_le16(ke + 138 + 6, 5);
    ke[138 + 8] = 1;
    ke[138 + 9] = 1;
    ke[138 + 10] = 1;
    store_le16(ke + 138 + 11, 0x1100);
    r = xchg(false, ke, sizeof(ke));
    assert_int_equal(r[1], SPDM_KEY_EXCHANGE_RSP);
    assert_int_equal(r[2], 10); /* heartbeat period */
    s->sid = 0x1234u | (uint32_t)load_le16(r + 4) << 16;
    /* {hdr, id, mut, slot, random, exchange, opaque len 12, opaque, sig,
     * verify} */
    assert_int_equal(load_le16(r + 136), 12);
    assert_int_equal(load_le16(r + 138 + 10), 0x1100); /* selected 1.1 */
    sig_off = 138 + 12;
    assert_int_equal(wire_out_len, sig_off + 96 + 48);

    ts_len = 0;
    ts_add(vca, vca_len);
    ts_add(ct, 48);
    ts_add(ke, sizeof(ke));
    ts_add(r, sig_off);
    sha384(ts, ts_len, h);
    sign_input("responder-key_exchange_rsp signing", h, in);
    assert_true(ossl_verify(leaf_key, in, sizeof(in), r + sig_off));
    ts_add(r + sig_off, 96);
    sha384(ts, ts_len, h); /* TH1 */

    /* the ECDH secret, independently */
    point[0] = 4;
    memcpy(point + 1, r + 40, 96);
    {
        OSSL_PARAM p[3] = {OSSL_PARAM_construct_utf8_string(
                               OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-384", 0),
                           OSSL_PARAM_construct_octet_string(
                               OSSL_PKEY_PARAM_PUB_KEY, point, 97),
                           OSSL_PARAM_construct_end()};
        EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        peer = NULL;
        EVP_PKEY_fromdata_init(fc);
        assert_int_equal(EVP_PKEY_fromdata(fc, &peer, EVP_PKEY_PUBLIC_KEY, p),
                         1);
        EVP_PKEY_CTX_free(fc);
    }
    pc = EVP_PKEY_CTX_new(eph, NULL);
    EVP_PKEY_derive_init(pc);
    EVP_PKEY_derive_set_peer(pc, peer);
    assert_int_equal(EVP_PKEY_derive(pc, dhe, &dl), 1);
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(eph);

    HMAC(EVP_sha384(), zero, 48, dhe, 48, s->hs_secret, &hl);
    expand_label(s->hs_secret, "req hs data", h, 48, s->req.secret, 48);
    expand_label(s->hs_secret, "rsp hs data", h, 48, s->rsp.secret, 48);
    expand_label(s->req.secret, "finished", NULL, 0, s->fin_req, 48);
    expand_label(s->rsp.secret, "finished", NULL, 0, s->fin_rsp, 48);
    dir_keys(&s->req);
    dir_keys(&s->rsp);
    HMAC(EVP_sha384(), s->fin_rsp, 48, h, 48, pt, &hl);
    assert_bytes_equal(r + sig_off + 96, pt, 48);
    ts_add(r + sig_off + 96, 48);

    /* FINISH under the handshake key */
    ts_add(fin, 4);
    sha384(ts, ts_len, h);
    HMAC(EVP_sha384(), s->fin_req, 48, h, 48, fin + 4, &hl);
    ts_add(fin + 4, 48);
    n = seal(s->sid, &s->req, fin, sizeof(fin), rec);
    r = xchg(true, rec, n);
    assert_true(spdm_responder_out_secured(&rsp));
    n = open_rec(s->sid, &s->rsp, r, wire_out_len, pt);
    assert_int_equal(n, 4);
    assert_int_equal(pt[1], SPDM_FINISH_RSP);
    ts_add(pt, 4);
    sha384(ts, ts_len, h); /* TH2 */
    expand_label(s->hs_secret, "derived", NULL, 0, salt1, 48);
    HMAC(EVP_sha384(), salt1, 48, zero, 48, master, &hl);
    expand_label(master, "req app data", h, 48, s->req.secret, 48);
    expand_label(master, "rsp app data", h, 48, s->rsp.secret, 48);
    dir_keys(&s->req);
    dir_keys(&s->rsp);
}

static const uint8_t heartbeat[4] = {0x12, 0xe8, 0, 0};

static void heartbeat_ok(struct hs *s)
{
    uint8_t rec[64], pt[64];
    size_t n = seal(s->sid, &s->req, heartbeat, 4, rec);
    const uint8_t *r = xchg(true, rec, n);

    assert_true(spdm_responder_out_secured(&rsp));
    n = open_rec(s->sid, &s->rsp, r, wire_out_len, pt);
    assert_int_equal(n, 4);
    assert_int_equal(pt[1], SPDM_HEARTBEAT_ACK);
}

static void key_exchange_transcript(void **state)
{
    struct hs s;

    init_rsp(0);
    hand_vca();
    hand_session(&s);
    assert_int_equal(spdm_responder_session_state(&rsp, s.sid),
                     SPDM_SESSION_ESTABLISHED);
    heartbeat_ok(&s);
    heartbeat_ok(&s);
}

static void secured_replay_tamper(void **state)
{
    struct hs s;
    uint8_t rec[64], rec2[64];
    size_t n;
    const uint8_t *r;

    /* replay: the same record twice */
    init_rsp(0);
    hand_vca();
    hand_session(&s);
    n = seal(s.sid, &s.req, heartbeat, 4, rec);
    memcpy(rec2, rec, n);
    (void)xchg(true, rec, n);
    assert_true(spdm_responder_out_secured(&rsp));
    r = xchg(true, rec2, n);
    assert_false(spdm_responder_out_secured(&rsp));
    assert_error(r, SPDM_ERROR_DECRYPT_ERROR);
    /* the session is over: even a correct next record is refused */
    assert_int_equal(spdm_responder_session_state(&rsp, s.sid),
                     SPDM_SESSION_FREE);
    assert_int_equal(dev.ended, 1);

    /* tamper: every byte position of a record, one at a time */
    for (size_t pos = 0; pos < 8 + 4 + 16; pos++) {
        init_rsp(0);
        hand_vca();
        hand_session(&s);
        n = seal(s.sid, &s.req, heartbeat, 4, rec);
        rec[pos] ^= 0x40;
        r = xchg(true, rec, n);
        assert_false(spdm_responder_out_secured(&rsp));
        assert_error(r, SPDM_ERROR_DECRYPT_ERROR);
    }

    /* a record from the future (skipped sequence number) */
    init_rsp(0);
    hand_vca();
    hand_session(&s);
    s.req.seq++;
    n = seal(s.sid, &s.req, heartbeat, 4, rec);
    assert_error(xchg(true, rec, n), SPDM_ERROR_DECRYPT_ERROR);

    /* truncated and unknown-session records */
    init_rsp(0);
    hand_vca();
    hand_session(&s);
    assert_error(xchg(true, rec, 3), SPDM_ERROR_DECRYPT_ERROR);
    n = seal(s.sid ^ 0x10000, &s.req, heartbeat, 4, rec);
    assert_error(xchg(true, rec, n), SPDM_ERROR_DECRYPT_ERROR);
    /* an unknown session id ends nothing */
    assert_int_equal(spdm_responder_session_state(&rsp, s.sid),
                     SPDM_SESSION_ESTABLISHED);
}

static void key_update_cases(void **state)
{
    struct hs s;
    uint8_t ku[4] = {0x12, 0xe9, SPDM_KEY_UPDATE_KEY, 0x5a};
    uint8_t rec[64], pt[64];
    struct dir old;
    size_t n;
    const uint8_t *r;

    init_rsp(0);
    hand_vca();
    hand_session(&s);
    /* VerifyNewKey before any update */
    ku[2] = SPDM_KEY_UPDATE_VERIFY;
    n = seal(s.sid, &s.req, ku, 4, rec);
    r = xchg(true, rec, n);
    n = open_rec(s.sid, &s.rsp, r, wire_out_len, pt);
    assert_int_equal(pt[1], SPDM_ERROR);
    assert_int_equal(pt[2], SPDM_ERROR_INVALID_REQUEST);
    /* UpdateKey: ACK under the old response key, then new request key */
    ku[2] = SPDM_KEY_UPDATE_KEY;
    n = seal(s.sid, &s.req, ku, 4, rec);
    r = xchg(true, rec, n);
    n = open_rec(s.sid, &s.rsp, r, wire_out_len, pt);
    assert_int_equal(pt[1], SPDM_KEY_UPDATE_ACK);
    assert_int_equal(pt[2], SPDM_KEY_UPDATE_KEY);
    assert_int_equal(pt[3], 0x5a);
    old = s.req;
    expand_label(old.secret, "traffic upd", NULL, 0, s.req.secret, 48);
    dir_keys(&s.req);
    /* the old key no longer works (and ends the session) ... */
    {
        struct spdm_responder saved = rsp;
        n = seal(s.sid, &old, heartbeat, 4, rec);
        assert_error(xchg(true, rec, n), SPDM_ERROR_DECRYPT_ERROR);
        rsp = saved;
    }
    /* ... the new one does, with sequence numbers from 0 */
    ku[2] = SPDM_KEY_UPDATE_VERIFY;
    n = seal(s.sid, &s.req, ku, 4, rec);
    r = xchg(true, rec, n);
    n = open_rec(s.sid, &s.rsp, r, wire_out_len, pt);
    assert_int_equal(pt[1], SPDM_KEY_UPDATE_ACK);
    /* UpdateAllKeys: the ACK comes under the new response key, then the
     * request key moves on too */
    ku[2] = SPDM_KEY_UPDATE_ALL_KEYS;
    n = seal(s.sid, &s.req, ku, 4, rec);
    r = xchg(true, rec, n);
    expand_label(s.rsp.secret, "traffic upd", NULL, 0, s.rsp.secret, 48);
    dir_keys(&s.rsp);
    n = open_rec(s.sid, &s.rsp, r, wire_out_len, pt);
    assert_int_equal(pt[1], SPDM_KEY_UPDATE_ACK);
    expand_label(s.req.secret, "traffic upd", NULL, 0, s.req.secret, 48);
    dir_keys(&s.req);
    heartbeat_ok(&s);
    /* bad operation */
    ku[2] = 4;
    n = seal(s.sid, &s.req, ku, 4, rec);
    r = xchg(true, rec, n);
    n = open_rec(s.sid, &s.rsp, r, wire_out_len, pt);
    assert_int_equal(pt[2], SPDM_ERROR_INVALID_REQUEST);
}

/* ---- refusals ---- */

static void refusals_before_negotiation(void **state)
{
    uint8_t m[64] = {0x12, 0x81, 0, 0};
    uint8_t caps[20];
    const uint8_t *r;

    init_rsp(0);
    /* anything before GET_VERSION */
    assert_error(xchg(false, m, 4), SPDM_ERROR_UNEXPECTED_REQUEST);
    assert_error(xchg(false, get_caps, 20), SPDM_ERROR_UNEXPECTED_REQUEST);
    /* too short for a header */
    assert_error(xchg(false, m, 3), SPDM_ERROR_INVALID_REQUEST);
    /* GET_VERSION must say 1.0 */
    m[1] = 0x84;
    r = xchg(false, m, 4);
    assert_error(r, SPDM_ERROR_VERSION_MISMATCH);
    assert_int_equal(spdm_responder_state(&rsp), SPDM_CONN_NONE);
    (void)xchg(false, get_version, 4);
    /* algorithms before capabilities */
    assert_error(xchg(false, neg_algs, 48), SPDM_ERROR_UNEXPECTED_REQUEST);
    /* capabilities at version 1.1 (not offered) */
    memcpy(caps, get_caps, 20);
    caps[0] = 0x11;
    assert_error(xchg(false, caps, 20), SPDM_ERROR_VERSION_MISMATCH);
    /* short capabilities; a transfer size under the minimum; KEY_EX
     * without ENCRYPT/MAC */
    assert_error(xchg(false, get_caps, 19), SPDM_ERROR_INVALID_REQUEST);
    memcpy(caps, get_caps, 20);
    store_le32(caps + 12, 41);
    assert_error(xchg(false, caps, 20), SPDM_ERROR_INVALID_REQUEST);
    memcpy(caps, get_caps, 20);
    store_le32(caps + 8, SPDM_CAP_KEY_EX | SPDM_CAP_CERT);
    assert_error(xchg(false, caps, 20), SPDM_ERROR_INVALID_REQUEST);
    assert_int_equal(spdm_responder_state(&rsp), SPDM_CONN_AFTER_VERSION);
    /* digests before algorithms */
    m[0] = 0x12;
    m[1] = 0x81;
    assert_error(xchg(false, m, 4), SPDM_ERROR_UNEXPECTED_REQUEST);
    (void)xchg(false, get_caps, 20);
    /* capabilities twice */
    assert_error(xchg(false, get_caps, 20), SPDM_ERROR_UNEXPECTED_REQUEST);
    /* algorithms: no P-384; a Length past the message; bad struct order */
    memcpy(m, neg_algs, 48);
    store_le32(m + 8, SPDM_ASYM_ECDSA_P256);
    assert_error(xchg(false, m, 48), SPDM_ERROR_INVALID_REQUEST);
    memcpy(m, neg_algs, 48);
    store_le16(m + 4, 52);
    assert_error(xchg(false, m, 48), SPDM_ERROR_INVALID_REQUEST);
    memcpy(m, neg_algs, 48);
    m[32] = 3; /* types 3, 3, 4, 5 */
    assert_error(xchg(false, m, 48), SPDM_ERROR_INVALID_REQUEST);
    memcpy(m, neg_algs, 48);
    store_le16(m + 34, SPDM_DHE_SECP384R1 >> 1); /* only P-256 DHE */
    assert_error(xchg(false, m, 48), SPDM_ERROR_INVALID_REQUEST);
    assert_int_equal(spdm_responder_state(&rsp), SPDM_CONN_AFTER_CAPS);
    (void)xchg(false, neg_algs, 48);
    assert_int_equal(spdm_responder_state(&rsp), SPDM_CONN_NEGOTIATED);
    /* the whole VCA again is refused except GET_VERSION */
    assert_error(xchg(false, neg_algs, 48), SPDM_ERROR_UNEXPECTED_REQUEST);
}

static void refusals_after_negotiation(void **state)
{
    uint8_t m[256] = {0x12};
    const uint8_t *r;

    init_rsp(0);
    hand_vca();
    /* wrong version byte */
    m[0] = 0x11;
    m[1] = 0x81;
    assert_error(xchg(false, m, 4), SPDM_ERROR_VERSION_MISMATCH);
    m[0] = 0x12;
    /* unsupported codes carry the code as ErrorData */
    m[1] = SPDM_PSK_EXCHANGE;
    r = xchg(false, m, 4);
    assert_error(r, SPDM_ERROR_UNSUPPORTED_REQUEST);
    assert_int_equal(r[3], SPDM_PSK_EXCHANGE);
    m[1] = SPDM_GET_CSR;
    assert_error(xchg(false, m, 4), SPDM_ERROR_UNSUPPORTED_REQUEST);
    m[1] = 0x01; /* a response code as a request */
    assert_error(xchg(false, m, 4), SPDM_ERROR_UNSUPPORTED_REQUEST);
    m[1] = SPDM_RESPOND_IF_READY;
    assert_error(xchg(false, m, 4), SPDM_ERROR_UNEXPECTED_REQUEST);
    /* session-only requests outside a session */
    m[1] = SPDM_HEARTBEAT;
    assert_error(xchg(false, m, 4), SPDM_ERROR_SESSION_REQUIRED);
    m[1] = SPDM_KEY_UPDATE;
    m[2] = 1;
    assert_error(xchg(false, m, 4), SPDM_ERROR_SESSION_REQUIRED);
    m[1] = SPDM_END_SESSION;
    m[2] = 0;
    assert_error(xchg(false, m, 4), SPDM_ERROR_SESSION_REQUIRED);
    /* FINISH in the clear (no handshake-in-the-clear) */
    m[1] = SPDM_FINISH;
    assert_error(xchg(false, m, 52), SPDM_ERROR_UNEXPECTED_REQUEST);
    /* certificates: short, other slot, offset past the end, length 0 */
    m[1] = SPDM_GET_CERTIFICATE;
    assert_error(xchg(false, m, 7), SPDM_ERROR_INVALID_REQUEST);
    m[2] = 1;
    store_le16(m + 4, 0);
    store_le16(m + 6, 100);
    assert_error(xchg(false, m, 8), SPDM_ERROR_INVALID_REQUEST);
    m[2] = 0;
    store_le16(m + 4, 0xfff0);
    assert_error(xchg(false, m, 8), SPDM_ERROR_INVALID_REQUEST);
    store_le16(m + 4, 0);
    store_le16(m + 6, 0);
    assert_error(xchg(false, m, 8), SPDM_ERROR_INVALID_REQUEST);
    /* challenge: short, other slot, bad summary type */
    m[1] = SPDM_CHALLENGE;
    m[2] = 0;
    m[3] = 0;
    assert_error(xchg(false, m, 35), SPDM_ERROR_INVALID_REQUEST);
    m[2] = 3;
    assert_error(xchg(false, m, 36), SPDM_ERROR_INVALID_REQUEST);
    m[2] = 0;
    m[3] = 2;
    assert_error(xchg(false, m, 36), SPDM_ERROR_INVALID_REQUEST);
    /* measurements: absent index, reserved attribute bits, short signed */
    m[1] = SPDM_GET_MEASUREMENTS;
    m[2] = 0;
    m[3] = 9;
    assert_error(xchg(false, m, 4), SPDM_ERROR_INVALID_REQUEST);
    m[2] = 0x04;
    m[3] = 1;
    assert_error(xchg(false, m, 4), SPDM_ERROR_INVALID_REQUEST);
    m[2] = 0x01;
    assert_error(xchg(false, m, 36), SPDM_ERROR_INVALID_REQUEST);
    /* key exchange: short, opaque length past the end, bad point */
    m[1] = SPDM_KEY_EXCHANGE;
    m[2] = 0;
    m[3] = 0;
    assert_error(xchg(false, m, 137), SPDM_ERROR_INVALID_REQUEST);
    memset(m + 4, 0, 134);
    store_le16(m + 136, 100);
    assert_error(xchg(false, m, 138), SPDM_ERROR_INVALID_REQUEST);
    store_le16(m + 136, 0);
    memset(m + 40, 0x5a, 96); /* not on the curve */
    assert_error(xchg(false, m, 138), SPDM_ERROR_INVALID_REQUEST);
    /* vendor defined: lengths that disagree; an unhandled standard */
    m[1] = SPDM_VENDOR_DEFINED_REQUEST;
    store_le16(m + 4, SPDM_STANDARD_ID_PCISIG);
    m[6] = 2;
    m[7] = 1;
    m[8] = 0;
    store_le16(m + 9, 10);
    assert_error(xchg(false, m, 15), SPDM_ERROR_INVALID_REQUEST);
    store_le16(m + 4, 0x0004);
    r = xchg(false, m, 21);
    assert_error(r, SPDM_ERROR_UNSUPPORTED_REQUEST);
    assert_int_equal(r[3], SPDM_VENDOR_DEFINED_REQUEST);
    assert_int_equal(dev.vendor_calls, 0);
    /* nothing above ever signed or changed state */
    assert_int_equal(dev.signs, 0);
    assert_int_equal(spdm_responder_state(&rsp), SPDM_CONN_NEGOTIATED);
}

static void refusals_in_session(void **state)
{
    struct hs s;
    uint8_t m[64] = {0x12}, rec[128], pt[64];
    size_t n;
    const uint8_t *r;
    uint8_t ke[138] = {0x12, 0xe4};

    init_rsp(0);
    hand_vca();
    /* in the handshake phase only FINISH is allowed */
    {
        uint8_t point[97];
        size_t pl = sizeof(point);
        EVP_PKEY *eph = EVP_EC_gen("P-384");
        uint32_t sid;
        EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                        point, sizeof(point), &pl);
        memcpy(ke + 40, point + 1, 96);
        store_le16(ke + 4, 0x4242);
        r = xchg(false, ke, sizeof(ke));
        assert_int_equal(r[1], SPDM_KEY_EXCHANGE_RSP);
        /* the version selection comes even when no list was offered */
        assert_int_equal(load_le16(r + 136), 12);
        sid = 0x4242u | (uint32_t)load_le16(r + 4) << 16;
        assert_int_equal(spdm_responder_session_state(&rsp, sid),
                         SPDM_SESSION_HANDSHAKE);
        EVP_PKEY_free(eph);
    }
    init_rsp(0);
    hand_vca();
    hand_session(&s);
    /* in an established session: CHALLENGE, KEY_EXCHANGE, GET_VERSION,
     * FINISH are unexpected */
    m[1] = SPDM_CHALLENGE;
    n = seal(s.sid, &s.req, m, 36, rec);
    r = xchg(true, rec, n);
    n = open_rec(s.sid, &s.rsp, r, wire_out_len, pt);
    assert_int_equal(pt[2], SPDM_ERROR_UNEXPECTED_REQUEST);
    m[1] = SPDM_GET_VERSION;
    m[0] = 0x10;
    n = seal(s.sid, &s.req, m, 4, rec);
    r = xchg(true, rec, n);
    n = open_rec(s.sid, &s.rsp, r, wire_out_len, pt);
    assert_int_equal(pt[2], SPDM_ERROR_UNEXPECTED_REQUEST);
    m[0] = 0x12;
    m[1] = SPDM_FINISH;
    n = seal(s.sid, &s.req, m, 52, rec);
    r = xchg(true, rec, n);
    n = open_rec(s.sid, &s.rsp, r, wire_out_len, pt);
    assert_int_equal(pt[2], SPDM_ERROR_UNEXPECTED_REQUEST);
    heartbeat_ok(&s);
}

static void bad_finish_ends_session(void **state)
{
    uint8_t ke[138] = {0x12, 0xe4}, point[97], fin[52] = {0x12, 0xe5};
    size_t pl = sizeof(point);
    EVP_PKEY *eph = EVP_EC_gen("P-384");
    uint32_t sid;
    const uint8_t *r;

    init_rsp(0);
    hand_vca();
    EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                    point, sizeof(point), &pl);
    EVP_PKEY_free(eph);
    memcpy(ke + 40, point + 1, 96);
    store_le16(ke + 4, 1);
    r = xchg(false, ke, sizeof(ke));
    sid = 1u | (uint32_t)load_le16(r + 4) << 16;
    /* without the handshake keys the FINISH cannot even be sealed right */
    {
        uint8_t rec[128];
        struct dir junk = {.seq = 0};
        size_t n = seal(sid, &junk, fin, sizeof(fin), rec);
        r = xchg(true, rec, n);
        assert_error(r, SPDM_ERROR_DECRYPT_ERROR);
    }
    assert_int_equal(spdm_responder_session_state(&rsp, sid),
                     SPDM_SESSION_FREE);
}

static void session_limit(void **state)
{
    uint8_t ke[138] = {0x12, 0xe4}, point[97];
    size_t pl = sizeof(point);
    EVP_PKEY *eph = EVP_EC_gen("P-384");
    const uint8_t *r;

    init_rsp(0);
    hand_vca();
    EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                    point, sizeof(point), &pl);
    EVP_PKEY_free(eph);
    memcpy(ke + 40, point + 1, 96);
    for (int i = 0; i < SPDM_SESSIONS_MAX; i++) {
        store_le16(ke + 4, (uint16_t)(i + 1));
        r = xchg(false, ke, sizeof(ke));
        assert_int_equal(r[1], SPDM_KEY_EXCHANGE_RSP);
    }
    assert_error(xchg(false, ke, sizeof(ke)), SPDM_ERROR_SESSION_LIMIT);
}

/* ---- the requester's own checks ---- */

static void requester_refusals(void **state)
{
    struct spdm_challenge_result ch;
    struct spdm_meas_result mr;
    uint8_t code, data;
    bool done;

    init_both(0);
    /* parse without build; build twice */
    assert_int_equal(spdm_req_get_version_parse(&rq, buf, 4), SPDM_ERR_STATE);
    assert_int_equal(
        spdm_req_get_capabilities_build(&rq, buf, sizeof(buf), &buf_len),
        SPDM_ERR_STATE);
    do_vca();
    /* challenge needs the chain */
    assert_int_equal(
        spdm_req_challenge_build(&rq, 0, 0, buf, sizeof(buf), &buf_len),
        SPDM_ERR_STATE);
    do_certs(SPDM_NO_SESSION);

    /* a flipped signature bit */
    assert_int_equal(
        spdm_req_challenge_build(&rq, 0, 0, buf, sizeof(buf), &buf_len),
        SPDM_OK);
    (void)xchg(false, buf, buf_len);
    wire_out[wire_out_len - 1] ^= 1;
    assert_int_equal(spdm_req_challenge_parse(&rq, wire_out, wire_out_len, &ch),
                     SPDM_ERR_SIGNATURE);
    /* a flipped transcript byte (the responder's nonce) */
    assert_int_equal(
        spdm_req_challenge_build(&rq, 0, 0, buf, sizeof(buf), &buf_len),
        SPDM_OK);
    (void)xchg(false, buf, buf_len);
    wire_out[60] ^= 1;
    assert_int_equal(spdm_req_challenge_parse(&rq, wire_out, wire_out_len, &ch),
                     SPDM_ERR_SIGNATURE);
    /* truncated */
    assert_int_equal(
        spdm_req_challenge_build(&rq, 0, 0, buf, sizeof(buf), &buf_len),
        SPDM_OK);
    (void)xchg(false, buf, buf_len);
    assert_int_equal(spdm_req_challenge_parse(&rq, wire_out, 100, &ch),
                     SPDM_ERR_MALFORMED);
    /* the wrong response code */
    assert_int_equal(
        spdm_req_get_digests_build(&rq, 0, buf, sizeof(buf), &buf_len),
        SPDM_OK);
    (void)xchg(false, buf, buf_len);
    wire_out[1] = SPDM_CERTIFICATE;
    assert_int_equal(spdm_req_heartbeat_parse(&rq, 0, wire_out, wire_out_len),
                     SPDM_ERR_STATE);
    {
        struct spdm_digests dg;
        assert_int_equal(
            spdm_req_get_digests_parse(&rq, 0, wire_out, wire_out_len, &dg),
            SPDM_ERR_UNEXPECTED);
    }
    /* ERROR responses are reported with their code */
    assert_int_equal(spdm_req_get_measurements_build(&rq, 0, 77, false, false,
                                                     0, buf, sizeof(buf),
                                                     &buf_len),
                     SPDM_OK);
    (void)xchg(false, buf, buf_len);
    assert_int_equal(
        spdm_req_get_measurements_parse(&rq, 0, wire_out, wire_out_len, &mr),
        SPDM_ERR_PEER_ERROR);
    spdm_req_peer_error(&rq, &code, &data);
    assert_int_equal(code, SPDM_ERROR_INVALID_REQUEST);
    /* a signed measurement with a tampered record */
    assert_int_equal(spdm_req_get_measurements_build(
                         &rq, 0, 1, true, false, 0, buf, sizeof(buf), &buf_len),
                     SPDM_OK);
    (void)xchg(false, buf, buf_len);
    wire_out[20] ^= 1;
    assert_int_equal(
        spdm_req_get_measurements_parse(&rq, 0, wire_out, wire_out_len, &mr),
        SPDM_ERR_SIGNATURE);
    /* a chain whose digest disagrees with DIGESTS */
    rq.digests[0][0] ^= 1;
    done = false;
    while (!done) {
        int rc;
        assert_int_equal(spdm_req_get_certificate_build(&rq, 0, 0, buf,
                                                        sizeof(buf), &buf_len),
                         SPDM_OK);
        (void)xchg(false, buf, buf_len);
        rc = spdm_req_get_certificate_parse(&rq, 0, wire_out, wire_out_len,
                                            &done);
        if (rc != SPDM_OK) {
            assert_int_equal(rc, SPDM_ERR_CERT_CHAIN);
            break;
        }
    }
    assert_false(done);
    assert_int_equal(
        spdm_req_challenge_build(&rq, 0, 0, buf, sizeof(buf), &buf_len),
        SPDM_ERR_STATE);
}

static void requester_bad_key_exchange(void **state)
{
    uint32_t sid;

    init_both(0);
    do_vca();
    do_certs(SPDM_NO_SESSION);
    /* a flipped ResponderVerifyData */
    assert_int_equal(
        spdm_req_key_exchange_build(&rq, 0, 0, buf, sizeof(buf), &buf_len),
        SPDM_OK);
    (void)xchg(false, buf, buf_len);
    wire_out[wire_out_len - 1] ^= 1;
    assert_int_equal(
        spdm_req_key_exchange_parse(&rq, wire_out, wire_out_len, &sid),
        SPDM_ERR_VERIFY_DATA);
    /* a flipped signature */
    assert_int_equal(
        spdm_req_key_exchange_build(&rq, 0, 0, buf, sizeof(buf), &buf_len),
        SPDM_OK);
    (void)xchg(false, buf, buf_len);
    wire_out[wire_out_len - 48 - 1] ^= 1;
    assert_int_equal(
        spdm_req_key_exchange_parse(&rq, wire_out, wire_out_len, &sid),
        SPDM_ERR_SIGNATURE);
    /* the requester's record layer refuses a replayed response */
    sid = do_session();
    assert_int_equal(
        spdm_req_heartbeat_build(&rq, sid, buf, sizeof(buf), &buf_len),
        SPDM_OK);
    (void)xchg(true, buf, buf_len);
    {
        uint8_t copy[SPDM_RECORD_MAX];
        size_t copy_len = wire_out_len;
        memcpy(copy, wire_out, copy_len);
        assert_int_equal(
            spdm_req_heartbeat_parse(&rq, sid, wire_out, wire_out_len),
            SPDM_OK);
        assert_int_equal(
            spdm_req_heartbeat_build(&rq, sid, buf, sizeof(buf), &buf_len),
            SPDM_OK);
        assert_int_equal(spdm_req_heartbeat_parse(&rq, sid, copy, copy_len),
                         SPDM_ERR_DECRYPT);
        assert_int_equal(spdm_req_session_state(&rq, sid), SPDM_SESSION_FREE);
    }
}

/*
 * DOE pads every object to whole dwords: bytes after a message's defined
 * length must be ignored, and never enter a transcript.
 */
static void transport_padding_ignored(void **state)
{
    uint8_t m[64], h[48], in[148];
    const uint8_t *r;

    init_rsp(0);
    vca_len = 0;
    memset(m, 0, sizeof(m));
    memcpy(m, get_version, 4);
    r = xchg(false, m, 4 + 3);
    assert_int_equal(r[1], SPDM_VERSION);
    memcpy(vca, get_version, 4);
    memcpy(vca + 4, r, wire_out_len);
    vca_len = 4 + wire_out_len;
    memset(m, 0, sizeof(m));
    memcpy(m, get_caps, 20);
    r = xchg(false, m, 20 + 3);
    assert_int_equal(r[1], SPDM_CAPABILITIES);
    memcpy(vca + vca_len, get_caps, 20);
    memcpy(vca + vca_len + 20, r, 20);
    vca_len += 40;
    memset(m, 0, sizeof(m));
    memcpy(m, neg_algs, 48);
    r = xchg(false, m, 48 + 3); /* Length says 48 */
    assert_int_equal(r[1], SPDM_ALGORITHMS);
    memcpy(vca + vca_len, neg_algs, 48);
    memcpy(vca + vca_len + 48, r, wire_out_len);
    vca_len += 48 + wire_out_len;

    ts_len = 0;
    ts_add(vca, vca_len);
    memset(m, 0, sizeof(m));
    m[0] = 0x12;
    m[1] = SPDM_CHALLENGE;
    RAND_bytes(m + 4, 32);
    r = xchg(false, m, 36 + 3);
    assert_int_equal(r[1], SPDM_CHALLENGE_AUTH);
    ts_add(m, 36);
    ts_add(r, wire_out_len - 96);
    sha384(ts, ts_len, h);
    sign_input("responder-challenge_auth signing", h, in);
    assert_true(ossl_verify(leaf_key, in, sizeof(in), r + wire_out_len - 96));
}

static void requester_error_in_finish_ends_session(void **state)
{
    uint32_t sid;
    uint8_t code, data;

    init_both(0);
    do_vca();
    do_certs(SPDM_NO_SESSION);
    STEP(spdm_req_key_exchange_build(&rq, 0, 0, buf, sizeof(buf), &buf_len),
         spdm_req_key_exchange_parse(&rq, wire_out, wire_out_len, &sid));
    assert_int_equal(
        spdm_req_finish_build(&rq, sid, buf, sizeof(buf), &buf_len), SPDM_OK);
    /* the FINISH is corrupted on the way: the responder cannot open it */
    buf[buf_len - 1] ^= 1;
    (void)xchg(true, buf, buf_len);
    assert_false(spdm_responder_out_secured(&rsp));
    assert_int_equal(spdm_req_finish_parse(&rq, sid, wire_out, wire_out_len),
                     SPDM_ERR_PEER_ERROR);
    spdm_req_peer_error(&rq, &code, &data);
    assert_int_equal(code, SPDM_ERROR_DECRYPT_ERROR);
    assert_int_equal(spdm_req_session_state(&rq, sid), SPDM_SESSION_FREE);
    assert_int_equal(spdm_responder_session_state(&rsp, sid),
                     SPDM_SESSION_FREE);
    /* a new session still works */
    sid = do_session();
    assert_int_equal(spdm_req_session_state(&rq, sid),
                     SPDM_SESSION_ESTABLISHED);
}

static void config_refusals(void **state)
{
    struct spdm_responder_config cfg = {
        .cert_chain = chain_der,
        .cert_chain_len = chain_der_len,
        .ops = &dev_ops,
        .ops_ctx = &dev,
    };
    struct spdm_meas_config dup[2] = {meas_cfg[0], meas_cfg[0]};

    assert_int_equal(spdm_responder_init(&rsp, &cfg), SPDM_OK);
    cfg.cert_chain_len = chain_der_len - 1;
    assert_int_equal(spdm_responder_init(&rsp, &cfg), SPDM_ERR_CONFIG);
    cfg.cert_chain_len = chain_der_len;
    cfg.meas = dup;
    cfg.n_meas = 2;
    assert_int_equal(spdm_responder_init(&rsp, &cfg), SPDM_ERR_CONFIG);
    cfg.n_meas = 0;
    cfg.capabilities = SPDM_CAP_PSK;
    assert_int_equal(spdm_responder_init(&rsp, &cfg), SPDM_ERR_CONFIG);
    cfg.capabilities = 0;
    cfg.data_transfer_size = 41;
    assert_int_equal(spdm_responder_init(&rsp, &cfg), SPDM_ERR_CONFIG);
    cfg.data_transfer_size = 0;
    cfg.ops = NULL;
    assert_int_equal(spdm_responder_init(&rsp, &cfg), SPDM_ERR_CONFIG);
}

static void sign_failure_is_unspecified(void **state)
{
    uint8_t m[36] = {0x12, 0x83, 0, 0};

    init_rsp(0);
    hand_vca();
    dev.fail_sign = true;
    assert_error(xchg(false, m, 36), SPDM_ERROR_UNSPECIFIED);
}

static void strings(void **state)
{
    assert_string_equal(spdm_error_name(SPDM_ERROR_REQUEST_RESYNCH),
                        "RequestResynch");
    assert_string_equal(spdm_error_name(0x02), "Reserved");
    assert_string_equal(spdm_strerror(SPDM_ERR_SIGNATURE),
                        "signature does not verify");
    assert_string_equal(spdm_strerror(12345), "unknown status");
}

/*
 * ---- a responder that picks its own measurement hash ----
 *
 * The answers of a responder that supports SPDM 1.0 to 1.3, more
 * capabilities than ours (MUT_AUTH, PSK, ENCAP, CHUNK, handshake in the
 * clear, SET_CERT, CSR) and selects SHA-512 for measurements, as DMTF's
 * spdm_responder_emu does at its default options. Written here from the
 * DSP0274 1.2 field layout.
 */

static const uint8_t other_version[] = {
    0x10, SPDM_VERSION,
    0,    0, /* SPDMVersion 1.0, VERSION */
    0,    5, /* reserved, VersionNumberEntryCount */
    0x00, 0x10,
    0x00, 0x11,
    0x00, 0x12,
    0x00, 0x13,
    0x00, 0x14,
};

static const uint8_t other_caps[20] = {
    0x12, SPDM_CAPABILITIES,
    0,    0, /* 1.2, CAPABILITIES */
    0,    0,
    0,    0, /* reserved, CTExponent 0, reserved */
    0xf7, 0xfb,
    0x1a, 0x00, /* Flags 0x001afbf7 */
    0x00, 0x12,
    0x00, 0x00, /* DataTransferSize 4608 */
    0x00, 0x12,
    0x00, 0x00, /* MaxSPDMmsgSize 4608 */
};

/* ALGORITHMS with MeasurementHashAlgo @meas_hash. */
static size_t other_algs(uint8_t *m, uint32_t meas_hash)
{
    static const uint8_t a[] = {
        0x12, SPDM_ALGORITHMS,
        4,    0, /* 1.2, ALGORITHMS, four structures */
        52,   0, /* Length */
        0x01,    /* MeasurementSpecificationSel: DMTF */
        0x02,    /* OtherParamsSelection: opaque fmt 1 */
        0,    0,
        0,    0, /* MeasurementHashAlgo (set below) */
        0x80, 0,
        0,    0, /* BaseAsymSel: ECDSA P-384 */
        0x02, 0,
        0,    0, /* BaseHashSel: SHA-384 */
        0,    0,
        0,    0,
        0,    0,
        0,    0,
        0,    0,
        0,    0, /* reserved */
        0,    0,
        0,    0, /* ExtAsymSelCount, ExtHashSelCount, reserved */
        2,    0x20,
        0x10, 0, /* DHE: secp384r1 */
        3,    0x20,
        0x02, 0, /* AEAD: AES-256-GCM */
        4,    0x20,
        0x00, 0, /* ReqBaseAsymAlg: none (no mutual auth) */
        5,    0x20,
        0x01, 0, /* KeySchedule: SPDM */
    };
    memcpy(m, a, sizeof(a));
    store_le32(m + 8, meas_hash);
    return sizeof(a);
}

/* VCA against those answers; returns what NEGOTIATE_ALGORITHMS parse said. */
static int other_vca(uint32_t meas_hash)
{
    struct spdm_requester_config cfg = {.ops = &req_ops};
    uint8_t algs[64];
    uint32_t caps = 0;
    size_t n;

    assert_int_equal(spdm_requester_init(&rq, &cfg), SPDM_OK);
    assert_int_equal(
        spdm_req_get_version_build(&rq, buf, sizeof(buf), &buf_len), SPDM_OK);
    assert_int_equal(
        spdm_req_get_version_parse(&rq, other_version, sizeof(other_version)),
        SPDM_OK);
    assert_int_equal(
        spdm_req_get_capabilities_build(&rq, buf, sizeof(buf), &buf_len),
        SPDM_OK);
    assert_int_equal(spdm_req_get_capabilities_parse(&rq, other_caps,
                                                     sizeof(other_caps), &caps),
                     SPDM_OK);
    assert_int_equal(caps, 0x001afbf7u);
    assert_int_equal(
        spdm_req_negotiate_algorithms_build(&rq, buf, sizeof(buf), &buf_len),
        SPDM_OK);
    /* what we offer: DMTF measurements, P-384, SHA-384, opaque fmt 1 */
    assert_int_equal(buf[6], SPDM_MEAS_SPEC_DMTF);
    assert_int_equal(buf[7], SPDM_OPAQUE_DATA_FMT1);
    assert_int_equal(load_le32(buf + 8), SPDM_ASYM_ECDSA_P384);
    assert_int_equal(load_le32(buf + 12), SPDM_HASH_SHA384);
    n = other_algs(algs, meas_hash);
    return spdm_req_negotiate_algorithms_parse(&rq, algs, n);
}

/* One DMTF measurement block: Index, MeasurementSpecification (DMTF),
 * MeasurementSize, then DMTFSpecMeasurementValueType, its size and @len
 * bytes of @fill. */
static size_t put_block(uint8_t *p, uint8_t index, uint8_t type, uint8_t fill,
                        size_t len)
{
    p[0] = index;
    p[1] = SPDM_MEAS_SPEC_DMTF;
    store_le16(p + 2, (uint16_t)(3 + len));
    p[4] = type;
    store_le16(p + 5, (uint16_t)len);
    memset(p + 7, fill, len);
    return 7 + len;
}

/* MEASUREMENTS (unsigned, all blocks) with one digest-form block of
 * @digest_len bytes (index 1, ROM) and one raw block (index 0xFE). */
static size_t other_measurements(uint8_t *m, size_t digest_len)
{
    size_t rec = (4 + 3 + digest_len) + (4 + 3 + 16), off = 8;

    m[0] = 0x12;
    m[1] = SPDM_MEASUREMENTS;
    m[2] = 0; /* Param1: reserved for an operation other than 0 */
    m[3] = 0; /* Param2: slot 0 */
    m[4] = 2; /* NumberOfBlocks */
    m[5] = (uint8_t)rec;
    m[6] = (uint8_t)(rec >> 8);
    m[7] = 0;
    off += put_block(m + off, 1, SPDM_MEAS_TYPE_ROM, 0xa5, digest_len);
    off += put_block(m + off, 0xfe,
                     SPDM_MEAS_TYPE_RAW | SPDM_MEAS_TYPE_DEVICE_MODE, 0x3f, 16);
    memset(m + off, 0x5a, SPDM_NONCE_SIZE); /* Nonce */
    off += SPDM_NONCE_SIZE;
    m[off++] = 0; /* OpaqueDataLength */
    m[off++] = 0;
    return off;
}

static void requester_takes_responders_meas_hash(void **state)
{
    static struct spdm_meas_result mr;
    uint8_t m[256];
    size_t n;

    /* SHA-512 for measurements: accepted and reported */
    assert_int_equal(other_vca(SPDM_MEAS_HASH_SHA512), SPDM_OK);
    assert_int_equal(spdm_req_get_measurements_build(
                         &rq, SPDM_NO_SESSION, SPDM_MEAS_OP_ALL, false, false,
                         0, buf, sizeof(buf), &buf_len),
                     SPDM_OK);
    n = other_measurements(m, 64);
    assert_int_equal(
        spdm_req_get_measurements_parse(&rq, SPDM_NO_SESSION, m, n, &mr),
        SPDM_OK);
    assert_int_equal(mr.meas_hash, SPDM_MEAS_HASH_SHA512);
    assert_int_equal(mr.n_blocks, 2);
    assert_int_equal(mr.blocks[0].index, 1);
    assert_int_equal(mr.blocks[0].value_len, 64);
    assert_int_equal(mr.blocks[0].value[63], 0xa5);
    assert_int_equal(mr.blocks[1].index, 0xfe);
    assert_int_equal(mr.blocks[1].type,
                     SPDM_MEAS_TYPE_RAW | SPDM_MEAS_TYPE_DEVICE_MODE);
    assert_int_equal(mr.blocks[1].value_len, 16);
    /* a digest-form block of another size than SHA-512's */
    assert_int_equal(spdm_req_get_measurements_build(
                         &rq, SPDM_NO_SESSION, SPDM_MEAS_OP_ALL, false, false,
                         0, buf, sizeof(buf), &buf_len),
                     SPDM_OK);
    n = other_measurements(m, 48);
    assert_int_equal(
        spdm_req_get_measurements_parse(&rq, SPDM_NO_SESSION, m, n, &mr),
        SPDM_ERR_MALFORMED);

    /* the other defined hashes, and raw bit streams only */
    assert_int_equal(other_vca(SPDM_MEAS_HASH_SHA256), SPDM_OK);
    assert_int_equal(other_vca(SPDM_MEAS_HASH_SHA384), SPDM_OK);
    assert_int_equal(other_vca(SPDM_MEAS_HASH_SHA3_512), SPDM_OK);
    assert_int_equal(other_vca(SPDM_MEAS_HASH_RAW), SPDM_OK);
    assert_int_equal(spdm_req_get_measurements_build(
                         &rq, SPDM_NO_SESSION, SPDM_MEAS_OP_ALL, false, false,
                         0, buf, sizeof(buf), &buf_len),
                     SPDM_OK);
    n = other_measurements(m, 32);
    assert_int_equal(
        spdm_req_get_measurements_parse(&rq, SPDM_NO_SESSION, m, n, &mr),
        SPDM_ERR_MALFORMED);

    /* more than one bit, an undefined bit, none with MEAS_CAP */
    assert_int_equal(other_vca(SPDM_MEAS_HASH_SHA384 | SPDM_MEAS_HASH_SHA512),
                     SPDM_ERR_NEGOTIATION);
    assert_int_equal(other_vca(1u << 8), SPDM_ERR_NEGOTIATION);
    assert_int_equal(other_vca(0), SPDM_ERR_NEGOTIATION);
    /* and the connection stays unnegotiated */
    assert_int_equal(spdm_req_get_digests_build(&rq, SPDM_NO_SESSION, buf,
                                                sizeof(buf), &buf_len),
                     SPDM_ERR_STATE);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(full_flow),
    cmocka_unit_test(sessions_limit_and_reuse),
    cmocka_unit_test(challenge_transcript),
    cmocka_unit_test(measurements_transcript),
    cmocka_unit_test(key_exchange_transcript),
    cmocka_unit_test(secured_replay_tamper),
    cmocka_unit_test(key_update_cases),
    cmocka_unit_test(refusals_before_negotiation),
    cmocka_unit_test(refusals_after_negotiation),
    cmocka_unit_test(refusals_in_session),
    cmocka_unit_test(bad_finish_ends_session),
    cmocka_unit_test(session_limit),
    cmocka_unit_test(requester_refusals),
    cmocka_unit_test(requester_bad_key_exchange),
    cmocka_unit_test(transport_padding_ignored),
    cmocka_unit_test(requester_error_in_finish_ends_session),
    cmocka_unit_test(config_refusals),
    cmocka_unit_test(sign_failure_is_unspecified),
    cmocka_unit_test(strings),
    cmocka_unit_test(heartbeat_expiry),
    cmocka_unit_test(requester_takes_responders_meas_hash),
};

int main(int argc, char **argv)
{
    int rc;

    setup_pki(NULL);
    rc = harness_run("spdm", tests, sizeof(tests) / sizeof(tests[0]), argc,
                     argv);
    teardown_pki(NULL);
    return rc;
}
