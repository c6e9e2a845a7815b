/* SPDX-License-Identifier: MIT */
/*
 * The SPDM message path allocates nothing itself: every allocation made
 * while a requester and a responder run whole handshakes and in-session
 * traffic against each other must be OpenSSL's; and once a session is
 * established its records allocate nothing at all (keyed contexts).
 *
 * malloc and friends are replaced to count every allocation in the process,
 * and crypto_count_allocations() counts OpenSSL's share separately (it is
 * installed before OpenSSL's first allocation); the difference must be 0.
 * Under a sanitizer (which owns malloc) the program exits 77 (a skip).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "spdm/spdm.h"

#if defined(__SANITIZE_ADDRESS__)
#define SPDM_ALLOC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define SPDM_ALLOC_SANITIZED 1
#endif
#endif

#define HANDSHAKES 30
#define IN_SESSION 500

static unsigned long n_allocs; /* every allocation in the process */
static int count_rc = -1;      /* crypto_count_allocations() result */

#ifndef SPDM_ALLOC_SANITIZED
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);
int posix_memalign(void **out, size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);

static void count(void)
{
    __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
    count();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    count();
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p;

    count();
    p = __libc_memalign(align, n);
    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}
#endif

/* Runs before main and before anything touches OpenSSL. */
__attribute__((constructor(101))) static void install_counter(void)
{
    count_rc = crypto_count_allocations();
}

static struct crypto_key *leaf_key;
static uint8_t chain[4096];
static size_t chain_len;

static int a_sign(void *ctx, uint32_t hash_alg, const uint8_t *msg, size_t len,
                  uint8_t *sig, size_t cap, size_t *sig_len)
{
    *sig_len = CRYPTO_P384_SIG_SIZE;
    return crypto_ecdsa_p384_sign(leaf_key, msg, len, sig);
}

static int a_random(void *ctx, uint8_t *buf, size_t len)
{
    return crypto_random(buf, len);
}

static int a_vendor(void *ctx, uint32_t session_id, bool in_session,
                    uint16_t standard_id, const uint8_t *vid, size_t vid_len,
                    const uint8_t *req, size_t req_len, uint8_t *rsp,
                    size_t rsp_cap, size_t *rsp_len)
{
    memcpy(rsp, req, req_len);
    *rsp_len = req_len;
    return 0;
}

static const struct spdm_responder_ops rsp_ops = {
    .sign = a_sign, .random = a_random, .vendor_defined = a_vendor};
static const struct spdm_requester_ops req_ops = {.random = a_random};

static struct spdm_responder rsp;
static struct spdm_requester req;
static uint8_t a[SPDM_RECORD_MAX], b[SPDM_RECORD_MAX];
static size_t alen, blen;

static void make_chain(void)
{
    static const uint8_t serial[1] = {1};
    struct crypto_key *ca_key = crypto_key_generate_p384();
    struct crypto_x509 ca;
    struct crypto_x509_template t = {.org = "trustvio",
                                     .cn = "alloc CA",
                                     .serial = serial,
                                     .serial_len = 1,
                                     .not_before_s = 0,
                                     .not_after_s = 4102444800,
                                     .ca = true,
                                     .pathlen = 0,
                                     .ku_bits = CRYPTO_KU_KEY_CERT_SIGN,
                                     .subject_key = ca_key};
    long n, m;

    leaf_key = crypto_key_generate_p384();
    assert_non_null(ca_key);
    assert_non_null(leaf_key);
    n = crypto_x509_issue(&t, NULL, ca_key, chain, sizeof(chain));
    assert_true(n > 0);
    assert_int_equal(crypto_x509_parse(&ca, chain, (size_t)n), 0);
    t.cn = "alloc device";
    t.ca = false;
    t.pathlen = -1;
    t.ku_bits = CRYPTO_KU_DIGITAL_SIGNATURE;
    t.subject_key = leaf_key;
    m = crypto_x509_issue(&t, &ca, ca_key, chain + n,
                          sizeof(chain) - (size_t)n);
    assert_true(m > 0);
    crypto_x509_release(&ca);
    crypto_key_free(ca_key);
    chain_len = (size_t)(n + m);
}

#define STEP(secured, build, parse)                                            \
    do {                                                                       \
        assert_int_equal((build), SPDM_OK);                                    \
        assert_int_equal(spdm_responder_handle(&rsp, (secured), a, alen, b,    \
                                               sizeof(b), &blen),              \
                         SPDM_OK);                                             \
        assert_int_equal((parse), SPDM_OK);                                    \
    } while (0)

static uint32_t handshake(void)
{
    bool done = false;
    struct spdm_digests dg;
    struct spdm_challenge_result ch;
    struct spdm_meas_result mr;
    uint32_t sid = 0;

    STEP(false, spdm_req_get_version_build(&req, a, sizeof(a), &alen),
         spdm_req_get_version_parse(&req, b, blen));
    STEP(false, spdm_req_get_capabilities_build(&req, a, sizeof(a), &alen),
         spdm_req_get_capabilities_parse(&req, b, blen, NULL));
    STEP(false, spdm_req_negotiate_algorithms_build(&req, a, sizeof(a), &alen),
         spdm_req_negotiate_algorithms_parse(&req, b, blen));
    STEP(false, spdm_req_get_digests_build(&req, 0, a, sizeof(a), &alen),
         spdm_req_get_digests_parse(&req, 0, b, blen, &dg));
    while (!done) {
        STEP(false,
             spdm_req_get_certificate_build(&req, 0, 0, a, sizeof(a), &alen),
             spdm_req_get_certificate_parse(&req, 0, b, blen, &done));
    }
    STEP(false, spdm_req_challenge_build(&req, 0, 0xff, a, sizeof(a), &alen),
         spdm_req_challenge_parse(&req, b, blen, &ch));
    STEP(false,
         spdm_req_get_measurements_build(&req, 0, SPDM_MEAS_OP_ALL, true, false,
                                         0, a, sizeof(a), &alen),
         spdm_req_get_measurements_parse(&req, 0, b, blen, &mr));
    STEP(false, spdm_req_key_exchange_build(&req, 0, 0, a, sizeof(a), &alen),
         spdm_req_key_exchange_parse(&req, b, blen, &sid));
    STEP(true, spdm_req_finish_build(&req, sid, a, sizeof(a), &alen),
         spdm_req_finish_parse(&req, sid, b, blen));
    return sid;
}

static void in_session(uint32_t sid, unsigned i)
{
    static const uint8_t vid[2] = {1, 0};
    uint8_t v[16];
    size_t vlen;

    switch (i % 3) {
    case 0:
        STEP(true, spdm_req_heartbeat_build(&req, sid, a, sizeof(a), &alen),
             spdm_req_heartbeat_parse(&req, sid, b, blen));
        break;
    case 1:
        STEP(true,
             spdm_req_vendor_defined_build(&req, sid, SPDM_STANDARD_ID_PCISIG,
                                           vid, 2, vid, 2, a, sizeof(a), &alen),
             spdm_req_vendor_defined_parse(&req, sid, b, blen, v, sizeof(v),
                                           &vlen));
        break;
    default:
        STEP(true,
             spdm_req_key_update_build(&req, sid, SPDM_KEY_UPDATE_ALL_KEYS,
                                       (uint8_t)i, a, sizeof(a), &alen),
             spdm_req_key_update_parse(&req, sid, b, blen));
        break;
    }
}

static void no_allocation_in_message_path(void **state)
{
    static const uint8_t fw[48] = {1};
    const struct spdm_meas_config meas[1] = {
        {1, SPDM_MEAS_TYPE_FIRMWARE, true, fw, 48}};
    struct spdm_responder_config rc = {0};
    struct spdm_requester_config qc = {0};
    unsigned long total0, ossl0, total, ossl;
    uint32_t sid;

#ifdef SPDM_ALLOC_SANITIZED
    skip();
#endif
    assert_int_equal(count_rc, 0);
    make_chain();
    rc.cert_chain = chain;
    rc.cert_chain_len = chain_len;
    rc.meas = meas;
    rc.n_meas = 1;
    rc.ops = &rsp_ops;
    qc.ops = &req_ops;
    assert_int_equal(spdm_responder_init(&rsp, &rc), SPDM_OK);
    assert_int_equal(spdm_requester_init(&req, &qc), SPDM_OK);
    /* warm up: DRBG instantiation, method caches */
    sid = handshake();
    in_session(sid, 0);

    total0 = __atomic_load_n(&n_allocs, __ATOMIC_RELAXED);
    ossl0 = crypto_alloc_count();
    for (unsigned i = 0; i < HANDSHAKES; i++) {
        sid = handshake();
    }
    for (unsigned i = 0; i < IN_SESSION; i++) {
        in_session(sid, i);
    }
    total = __atomic_load_n(&n_allocs, __ATOMIC_RELAXED) - total0;
    ossl = crypto_alloc_count() - ossl0;
    printf("%u handshakes + %u in-session messages: %lu allocations, %lu by "
           "OpenSSL\n",
           HANDSHAKES, IN_SESSION, total, ossl);
    assert_true(ossl > 0);
    assert_true(total >= ossl);
    assert_int_equal(total - ossl, 0);
    /*
     * The record layer keeps its keyed AES-256-GCM contexts: a round trip
     * in an established session allocates nothing at all, OpenSSL included.
     */
    total0 = __atomic_load_n(&n_allocs, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < IN_SESSION; i++) {
        in_session(sid, 0); /* HEARTBEAT */
    }
    total = __atomic_load_n(&n_allocs, __ATOMIC_RELAXED) - total0;
    printf("%u HEARTBEAT round trips: %lu allocations\n", IN_SESSION, total);
    assert_int_equal(total, 0);
    crypto_key_free(leaf_key);
}

/* The counter itself must see allocations, or the test proves nothing. */
static void counter_counts(void **state)
{
    unsigned long before;
    void *volatile p;

#ifdef SPDM_ALLOC_SANITIZED
    skip();
#endif
    before = __atomic_load_n(&n_allocs, __ATOMIC_RELAXED);
    p = malloc(100);
    free(p);
    assert_int_equal(__atomic_load_n(&n_allocs, __ATOMIC_RELAXED) - before, 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(counter_counts),
    cmocka_unit_test(no_allocation_in_message_path),
};

int main(int argc, char **argv)
{
#ifdef SPDM_ALLOC_SANITIZED
    /* a sanitizer owns malloc: this program cannot count, so it is a skip */
    printf("spdm_alloc: skipped under a sanitizer\n");
    return 77;
#endif
    return harness_run("spdm_alloc", tests, sizeof(tests) / sizeof(tests[0]),
                       argc, argv);
}
