/* SPDX-License-Identifier: MIT */
/*
 * The NSM request path allocates nothing itself: every allocation made
 * while serving 10,000 requests of each kind must be OpenSSL's.
 *
 * This program replaces malloc and friends to count every allocation in the
 * process, and installs crypto_count_allocations() (before OpenSSL's first
 * allocation) so OpenSSL's share is counted separately. The difference is
 * what the model, the CBOR layer and libcbor allocated: it must be zero.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#include "crypto/crypto.h"
#include "nsm/nsm.h"

#if defined(__SANITIZE_ADDRESS__)
#define NSM_ALLOC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NSM_ALLOC_SANITIZED 1
#endif
#endif

#define ROUNDS 10000

static unsigned long n_allocs; /* every allocation in the process */
static int count_rc = -1;      /* crypto_count_allocations() result */

#ifndef NSM_ALLOC_SANITIZED
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

void *malloc(size_t n)
{
    __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p;

    __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    p = __libc_memalign(align, n);
    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __libc_memalign(align, n);
}
#endif

/* Runs before main and before anything touches OpenSSL. */
__attribute__((constructor(101))) static void install_counter(void)
{
    count_rc = crypto_count_allocations();
}

static struct crypto_key *key;
static uint8_t leaf[640], ca[4][800];
static struct nsm_signer signer;

static uint64_t p_now_ms(void *ctx)
{
    return 1695049410860ull;
}

static int p_random(void *ctx, void *out, size_t len)
{
    return crypto_random(out, len);
}

static int p_get_signer(void *ctx, uint64_t now_ms,
                        const struct nsm_signer **out)
{
    *out = &signer;
    return 0;
}

static const struct nsm_platform_ops p_ops = {p_now_ms, p_random, p_get_signer};

static void platform_init(struct nsm *dev)
{
    struct nsm_boot b;
    size_t i;

    key = crypto_key_generate_p384();
    assert_non_null(key);
    memset(leaf, 0x30, sizeof(leaf));
    signer.key = key;
    signer.cert = leaf;
    signer.cert_len = sizeof(leaf);
    for (i = 0; i < 4; i++) {
        memset(ca[i], 0x30, sizeof(ca[i]));
        signer.cabundle[i] = ca[i];
        signer.cabundle_len[i] = sizeof(ca[i]);
    }
    signer.n_cabundle = 4;
    memset(&b, 0, sizeof(b));
    strcpy(b.module_id, "i-0123456789abcdef0-enc0123456789abcdef");
    strcpy(b.parent_id, "i-0123456789abcdef0");
    assert_int_equal(nsm_init(dev, &b, &p_ops, NULL), NSM_OK);
}

/* Request @kind number @i (index/range vary so state keeps changing). */
static size_t make_req(unsigned kind, unsigned i, uint8_t *req)
{
    static const uint8_t describe_nsm[] = "\x6b"
                                          "DescribeNSM";
    static const uint8_t get_random[] = "\x69"
                                        "GetRandom";
    size_t n = 0;

    switch (kind) {
    case 0: /* {"DescribePCR": {"index": i % 32}} */
        memcpy(req,
               "\xa1\x6b"
               "DescribePCR"
               "\xa1\x65"
               "index",
               20);
        n = 20;
        req[n++] = 0x18; /* one-byte uint, valid for any value */
        req[n++] = (uint8_t)(i % 32);
        break;
    case 1: /* {"ExtendPCR": {"index": 16 + i % 16, "data": h'..'(32)}} */
        memcpy(req,
               "\xa1\x69"
               "ExtendPCR"
               "\xa2\x65"
               "index",
               18);
        n = 18;
        req[n++] = 0x18;
        req[n++] = (uint8_t)(16 + i % 16);
        memcpy(req + n,
               "\x64"
               "data"
               "\x58\x20",
               7);
        n += 7;
        memset(req + n, (int)i, 32);
        n += 32;
        break;
    case 2: /* {"LockPCR": {"index": 16 + i % 16}} */
        memcpy(req,
               "\xa1\x67"
               "LockPCR"
               "\xa1\x65"
               "index",
               16);
        n = 16;
        req[n++] = 0x18;
        req[n++] = (uint8_t)(16 + i % 16);
        break;
    case 3: /* {"LockPCRs": {"range": i % 33}} */
        memcpy(req,
               "\xa1\x68"
               "LockPCRs"
               "\xa1\x65"
               "range",
               17);
        n = 17;
        req[n++] = 0x18;
        req[n++] = (uint8_t)(i % 33);
        break;
    case 4:
        memcpy(req, describe_nsm, sizeof(describe_nsm) - 1);
        n = sizeof(describe_nsm) - 1;
        break;
    case 5: /* {"Attestation": {"nonce": h'..'(64), "user_data": null}} */
        memcpy(req,
               "\xa1\x6b"
               "Attestation"
               "\xa2\x65"
               "nonce\x58\x40",
               22);
        n = 22;
        memset(req + n, (int)i, 64);
        n += 64;
        memcpy(req + n,
               "\x69"
               "user_data"
               "\xf6",
               11);
        n += 11;
        break;
    default:
        memcpy(req, get_random, sizeof(get_random) - 1);
        n = sizeof(get_random) - 1;
        break;
    }
    return n;
}

static void no_allocation_per_request(void **state)
{
    static uint8_t resp[NSM_RESPONSE_MAX_SIZE];
    static const char *const names[] = {
        "DescribePCR", "ExtendPCR",   "LockPCR",  "LockPCRs",
        "DescribeNSM", "Attestation", "GetRandom"};
    unsigned long total0, ossl0, total, ossl;
    struct nsm dev;
    uint8_t req[256];
    size_t req_len, resp_len;
    unsigned kind, i;

#ifdef NSM_ALLOC_SANITIZED
    skip();
#endif
    assert_int_equal(count_rc, 0);
    platform_init(&dev);
    /* warm up: per-thread contexts, DRBG instantiation, method caches */
    for (kind = 0; kind < 7; kind++) {
        req_len = make_req(kind, 0, req);
        assert_int_equal(
            nsm_handle(&dev, req, req_len, resp, sizeof(resp), &resp_len),
            NSM_OK);
    }
    for (kind = 0; kind < 7; kind++) {
        total0 = __atomic_load_n(&n_allocs, __ATOMIC_RELAXED);
        ossl0 = crypto_alloc_count();
        for (i = 0; i < ROUNDS; i++) {
            if (i % 16 == 0) {
                assert_int_equal(nsm_reset(&dev), NSM_OK);
            }
            req_len = make_req(kind, i, req);
            assert_int_equal(
                nsm_handle(&dev, req, req_len, resp, sizeof(resp), &resp_len),
                NSM_OK);
            /* every request succeeds: no {"Error": ...} answers */
            if (memcmp(resp,
                       "\xa1\x65"
                       "Error",
                       7) == 0) {
                fprintf(stderr, "%s #%u: %.*s\n", names[kind], i,
                        (int)(resp_len - 7), (const char *)resp + 7);
            }
            assert_true(resp_len > 7);
            assert_false(memcmp(resp,
                                "\xa1\x65"
                                "Error",
                                7) == 0);
        }
        total = __atomic_load_n(&n_allocs, __ATOMIC_RELAXED) - total0;
        ossl = crypto_alloc_count() - ossl0;
        printf("%-12s %5u requests: %8lu allocations, %8lu by OpenSSL\n",
               names[kind], ROUNDS, total, ossl);
        assert_true(total >= ossl);
        assert_int_equal(total - ossl, 0);
    }
    crypto_key_free(key);
}

/* The counter itself must see allocations, or the test proves nothing. */
static void counter_counts(void **state)
{
    unsigned long before;
    void *volatile p;

#ifdef NSM_ALLOC_SANITIZED
    skip();
#endif
    before = __atomic_load_n(&n_allocs, __ATOMIC_RELAXED);
    p = malloc(100);
    free(p);
    assert_int_equal(__atomic_load_n(&n_allocs, __ATOMIC_RELAXED) - before, 1);
    before = crypto_alloc_count();
    assert_int_equal(
        crypto_sha384_2("a", 1, NULL, 0, (uint8_t[CRYPTO_SHA384_SIZE]){0}), 0);
    p = crypto_key_generate_p384();
    assert_non_null(p);
    assert_true(crypto_alloc_count() > before);
    crypto_key_free(p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(counter_counts),
    cmocka_unit_test(no_allocation_per_request),
};

HARNESS_MAIN("nsm_alloc", tests)
