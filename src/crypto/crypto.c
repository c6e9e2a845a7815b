/* SPDX-License-Identifier: MIT */
/*
 * Hashes, HMAC, DRBG and ECDSA through OpenSSL 3. Algorithms are fetched
 * once; SHA-384 reuses one digest context per thread so that a PCR extend
 * costs the compression function and little else.
 */
#include "crypto/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/ct.h"
#include "common/log.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha384;
static EVP_MD *md_sha256;
static EVP_MAC *mac_hmac;
static int init_status = -1;

static void do_init(void)
{
    md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    init_status = (md_sha384 && md_sha256 && mac_hmac) ? 0 : -1;
}

/* see crypto.h */
int crypto_init(void)
{
    pthread_once(&init_once, do_init);
    return init_status;
}

/* One digest context per thread, freed at thread exit. */
static pthread_key_t mdctx_key;
static pthread_once_t mdctx_once = PTHREAD_ONCE_INIT;

static void mdctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void mdctx_key_init(void)
{
    (void)pthread_key_create(&mdctx_key, mdctx_free);
}

static EVP_MD_CTX *thread_mdctx(void)
{
    EVP_MD_CTX *ctx;

    pthread_once(&mdctx_once, mdctx_key_init);
    ctx = pthread_getspecific(mdctx_key);
    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx != NULL && pthread_setspecific(mdctx_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            ctx = NULL;
        }
    }
    return ctx;
}

static int digest2(EVP_MD *md, const void *a, size_t a_len, const void *b,
                   size_t b_len, uint8_t *out)
{
    EVP_MD_CTX *ctx = thread_mdctx();

    if (ctx == NULL) {
        return -1;
    }
    if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
        (a_len > 0 && EVP_DigestUpdate(ctx, a, a_len) != 1) ||
        (b_len > 0 && EVP_DigestUpdate(ctx, b, b_len) != 1) ||
        EVP_DigestFinal_ex(ctx, out, NULL) != 1) {
        return -1;
    }
    return 0;
}

/* see crypto.h */
int crypto_sha384_2(const void *a, size_t a_len, const void *b, size_t b_len,
                    uint8_t out[CRYPTO_SHA384_SIZE])
{
    if (crypto_init() != 0) {
        return -1;
    }
    return digest2(md_sha384, a, a_len, b, b_len, out);
}

/* see crypto.h */
int crypto_sha256(const void *p, size_t len, uint8_t out[CRYPTO_SHA256_SIZE])
{
    if (crypto_init() != 0) {
        return -1;
    }
    return digest2(md_sha256, p, len, NULL, 0, out);
}

/* see crypto.h */
int crypto_hmac_init(struct crypto_hmac *h, const uint8_t *key, size_t key_len)
{
    OSSL_PARAM params[2];
    EVP_MAC_CTX *ctx;

    h->impl = NULL;
    if (crypto_init() != 0) {
        return -1;
    }
    ctx = EVP_MAC_CTX_new(mac_hmac);
    if (ctx == NULL) {
        return -1;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx, key, key_len, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return -1;
    }
    h->impl = ctx;
    return 0;
}

/* see crypto.h */
int crypto_hmac_update(struct crypto_hmac *h, const void *p, size_t len)
{
    if (h->impl == NULL) {
        return -1;
    }
    return EVP_MAC_update(h->impl, p, len) == 1 ? 0 : -1;
}

/* see crypto.h */
int crypto_hmac_final(struct crypto_hmac *h, uint8_t out[CRYPTO_SHA256_SIZE])
{
    size_t out_len = 0;
    int rc;

    if (h->impl == NULL) {
        return -1;
    }
    rc = EVP_MAC_final(h->impl, out, &out_len, CRYPTO_SHA256_SIZE) == 1 &&
                 out_len == CRYPTO_SHA256_SIZE
             ? 0
             : -1;
    crypto_hmac_abort(h);
    return rc;
}

/* see crypto.h: EVP_MAC_CTX_free cleanses the key schedule */
void crypto_hmac_abort(struct crypto_hmac *h)
{
    EVP_MAC_CTX_free(h->impl);
    h->impl = NULL;
}

/* see crypto.h */
int crypto_random(void *out, size_t len)
{
    if (len > (size_t)INT32_MAX) {
        return -1;
    }
    return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

/* struct crypto_key is an EVP_PKEY; the casts below are the only link. */
static EVP_PKEY *pkey(const struct crypto_key *k)
{
    return (EVP_PKEY *)(uintptr_t)k;
}

/* see crypto.h */
struct crypto_key *crypto_key_generate_p384(void)
{
    return (struct crypto_key *)EVP_EC_gen("P-384");
}

/* see crypto.h */
struct crypto_key *crypto_key_load_pem(const char *path)
{
    EVP_PKEY *k;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        tv_err("%s: %s", path, strerror(errno));
        return NULL;
    }
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL) {
        tv_err("%s: not a PEM private key", path);
        return NULL;
    }
    if (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 384) {
        tv_err("%s: not a P-384 key", path);
        EVP_PKEY_free(k);
        return NULL;
    }
    return (struct crypto_key *)k;
}

/* see crypto.h */
int crypto_key_save_pem(const struct crypto_key *key, const char *path)
{
    char tmp[4096];
    FILE *f;
    int fd, ok;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        tv_err("%s: %s", tmp, strerror(errno));
        return -1;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    ok = PEM_write_PrivateKey(f, pkey(key), NULL, NULL, 0, NULL, NULL) == 1;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        tv_err("%s: cannot write key", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* see crypto.h */
struct crypto_key *crypto_key_from_spki_der(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;

    if (len > (size_t)INT32_MAX) {
        return NULL;
    }
    return (struct crypto_key *)d2i_PUBKEY(NULL, &p, (long)len);
}

/* see crypto.h */
long crypto_key_spki_der(const struct crypto_key *key, uint8_t *out,
                         size_t cap)
{
    int len = i2d_PUBKEY(pkey(key), NULL);
    unsigned char *p = out;

    if (len <= 0 || (size_t)len > cap) {
        return -1;
    }
    return i2d_PUBKEY(pkey(key), &p);
}

/* see crypto.h */
void crypto_key_free(struct crypto_key *key)
{
    EVP_PKEY_free(pkey(key));
}

/* see crypto.h: OpenSSL signs DER; COSE wants fixed-width r || s */
int crypto_ecdsa_p384_sign(const struct crypto_key *key, const void *msg,
                           size_t msg_len, uint8_t sig[CRYPTO_P384_SIG_SIZE])
{
    unsigned char der[160];
    size_t der_len = sizeof(der);
    const unsigned char *p = der;
    ECDSA_SIG *es = NULL;
    EVP_MD_CTX *ctx;
    int rc = -1;

    if (crypto_init() != 0 || (ctx = EVP_MD_CTX_new()) == NULL) {
        return -1;
    }
    if (EVP_DigestSignInit_ex(ctx, NULL, "SHA384", NULL, NULL, pkey(key),
                              NULL) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, msg, msg_len) != 1) {
        goto out_ctx;
    }
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (es == NULL ||
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 48) != 48 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 48, 48) != 48) {
        goto out_sig;
    }
    rc = 0;
out_sig:
    ECDSA_SIG_free(es);
out_ctx:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* see crypto.h */
bool crypto_ecdsa_p384_verify(const struct crypto_key *key, const void *msg,
                              size_t msg_len,
                              const uint8_t sig[CRYPTO_P384_SIG_SIZE])
{
    unsigned char der[160];
    unsigned char *p = der;
    ECDSA_SIG *es;
    BIGNUM *r, *s;
    EVP_MD_CTX *ctx;
    int der_len;
    bool ok = false;

    if (crypto_init() != 0 || !EVP_PKEY_is_a(pkey(key), "EC") ||
        EVP_PKEY_get_bits(pkey(key)) != 384) {
        return false;
    }
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, 48, NULL);
    s = BN_bin2bn(sig + 48, 48, NULL);
    if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return false;
    }
    der_len = i2d_ECDSA_SIG(es, &p);
    ECDSA_SIG_free(es);
    if (der_len <= 0) {
        return false;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx != NULL &&
        EVP_DigestVerifyInit_ex(ctx, NULL, "SHA384", NULL, NULL, pkey(key),
                                NULL) == 1 &&
        EVP_DigestVerify(ctx, der, (size_t)der_len, msg, msg_len) == 1) {
        ok = true;
    }
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Allocation counting for tests: wrap OpenSSL's allocator. */
static unsigned long ossl_allocs;

static void *count_malloc(size_t n, const char *file, int line)
{
    __atomic_add_fetch(&ossl_allocs, 1, __ATOMIC_RELAXED);
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    __atomic_add_fetch(&ossl_allocs, 1, __ATOMIC_RELAXED);
    return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
    free(p);
}

/* see crypto.h: must run before OpenSSL's first allocation */
int crypto_count_allocations(void)
{
    return CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free)
               ? 0
               : -1;
}

/* see crypto.h */
unsigned long crypto_alloc_count(void)
{
    return __atomic_load_n(&ossl_allocs, __ATOMIC_RELAXED);
}
