/* SPDX-License-Identifier: MIT */
/*
 * What the SPDM fuzz targets share: a device (P-384 CA and leaf made once
 * per process), a responder template, a requester template, deterministic
 * randomness, and the splitting of an input into messages at "SPD|".
 */
#ifndef TV_FUZZ_SPDM_FIXTURE_H
#define TV_FUZZ_SPDM_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "spdm/spdm.h"

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            abort();                                                           \
        }                                                                      \
    } while (0)

static struct crypto_key *fx_leaf_key;
static uint8_t fx_chain[2048];
static size_t fx_chain_len;
static uint64_t fx_counter;

/* cheap deterministic bytes: fuzzing speed matters, not entropy */
static int fx_random(void *ctx, uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        fx_counter = fx_counter * 6364136223846793005ull + 1;
        p[i] = (uint8_t)(fx_counter >> 56);
    }
    return 0;
}

static int fx_sign(void *ctx, uint32_t hash_alg, const uint8_t *msg, size_t len,
                   uint8_t *sig, size_t cap, size_t *sig_len)
{
    CHECK(hash_alg == SPDM_HASH_SHA384 && cap >= CRYPTO_P384_SIG_SIZE);
    *sig_len = CRYPTO_P384_SIG_SIZE;
    return crypto_ecdsa_p384_sign(fx_leaf_key, msg, len, sig);
}

static int fx_vendor(void *ctx, uint32_t session_id, bool in_session,
                     uint16_t standard_id, const uint8_t *vid, size_t vid_len,
                     const uint8_t *req, size_t req_len, uint8_t *rsp,
                     size_t rsp_cap, size_t *rsp_len)
{
    if (standard_id != SPDM_STANDARD_ID_PCISIG) {
        return 1;
    }
    *rsp_len = req_len < rsp_cap ? req_len : rsp_cap;
    memcpy(rsp, req, *rsp_len);
    return 0;
}

static const struct spdm_responder_ops fx_rsp_ops = {
    .sign = fx_sign, .random = fx_random, .vendor_defined = fx_vendor};
static const struct spdm_requester_ops fx_req_ops = {.random = fx_random};

static struct spdm_responder fx_rsp_template;
static struct spdm_requester fx_req_template;

static void fx_init(void)
{
    static bool done;
    static const uint8_t serial[1] = {1};
    static const uint8_t fw[48] = {1, 2, 3};
    static const uint8_t cfg_raw[] = "fuzz config";
    struct crypto_key *ca_key;
    struct crypto_x509 ca;
    struct crypto_x509_template t = {.org = "trustvio",
                                     .cn = "fuzz CA",
                                     .serial = serial,
                                     .serial_len = 1,
                                     .not_before_s = 0,
                                     .not_after_s = 4102444800,
                                     .ca = true,
                                     .pathlen = 0,
                                     .ku_bits = CRYPTO_KU_KEY_CERT_SIGN};
    const struct spdm_meas_config meas[2] = {
        {1, SPDM_MEAS_TYPE_FIRMWARE, true, fw, 48},
        {2, SPDM_MEAS_TYPE_FW_CONFIG, false, cfg_raw, sizeof(cfg_raw) - 1}};
    struct spdm_responder_config rc = {0};
    struct spdm_requester_config qc = {0};
    long n;

    if (done) {
        return;
    }
    done = true;
    ca_key = crypto_key_generate_p384();
    fx_leaf_key = crypto_key_generate_p384();
    CHECK(ca_key != NULL && fx_leaf_key != NULL);
    t.subject_key = ca_key;
    n = crypto_x509_issue(&t, NULL, ca_key, fx_chain, sizeof(fx_chain));
    CHECK(n > 0);
    fx_chain_len = (size_t)n;
    CHECK(crypto_x509_parse(&ca, fx_chain, fx_chain_len) == 0);
    t.cn = "fuzz device";
    t.ca = false;
    t.pathlen = -1;
    t.ku_bits = CRYPTO_KU_DIGITAL_SIGNATURE;
    t.subject_key = fx_leaf_key;
    n = crypto_x509_issue(&t, &ca, ca_key, fx_chain + fx_chain_len,
                          sizeof(fx_chain) - fx_chain_len);
    CHECK(n > 0);
    fx_chain_len += (size_t)n;
    crypto_x509_release(&ca);
    crypto_key_free(ca_key);

    rc.cert_chain = fx_chain;
    rc.cert_chain_len = fx_chain_len;
    rc.meas = meas;
    rc.n_meas = 2;
    rc.heartbeat_period_s = 10; /* so that a harness's clock can expire */
    rc.ops = &fx_rsp_ops;
    CHECK(spdm_responder_init(&fx_rsp_template, &rc) == SPDM_OK);
    qc.ops = &fx_req_ops;
    CHECK(spdm_requester_init(&fx_req_template, &qc) == SPDM_OK);
}

/* The next message of @data at "SPD|" boundaries. */
static inline bool fx_next(const uint8_t **data, size_t *size,
                           const uint8_t **msg, size_t *len)
{
    const uint8_t *p = *data;
    size_t n = *size, i;

    if (n == 0) {
        return false;
    }
    for (i = 0; i + 4 <= n; i++) {
        if (memcmp(p + i, "SPD|", 4) == 0) {
            break;
        }
    }
    if (i + 4 > n) {
        i = n;
    }
    *msg = p;
    *len = i;
    *data = p + (i + 4 <= n ? i + 4 : n);
    *size = i + 4 <= n ? n - i - 4 : 0;
    return true;
}

#endif
