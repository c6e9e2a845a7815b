/* SPDX-License-Identifier: MIT */
/*
 * DRBG, keys and ECDSA through OpenSSL 3 (the hashes are in sha.c). The
 * digests are fetched once, to know that the library has them.
 */
#include "crypto/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/atomic_file.h"
#include "common/ct.h"
#include "common/log.h"
#include "crypto/x509_int.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha384;
static EVP_MD *md_sha256;
static int init_status = -1;

static void do_init(void)
{
    /*
     * Nothing here prints OpenSSL's error strings, and loading them builds
     * a hash table of every library's reasons: about 55 KiB of heap in
     * every process, the daemons included. Effective when this is the
     * process's first call into OpenSSL.
     */
    (void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL);
    md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    init_status = (md_sha384 && md_sha256) ? 0 : -1;
}

/* see crypto.h */
int crypto_init(void)
{
    pthread_once(&init_once, do_init);
    return init_status;
}

/*
 * DRBG output is drawn in batches: OpenSSL 3.0's CTR-DRBG re-keys AES after
 * every generate call, which costs more than producing 256 bytes, so small
 * requests (an NSM GetRandom, an RPMB nonce) are served from a per-thread
 * batch. Served bytes are wiped from the batch at once, so no output can be
 * handed out twice or recovered afterwards; a forked child discards the
 * batch it inherited (pthread_atfork) so parent and child never share
 * output. Requests larger than half a batch go to the DRBG directly.
 */
#define RANDOM_BATCH_SIZE 16384

struct random_batch {
    uint8_t buf[RANDOM_BATCH_SIZE]; /* DRBG output; the tail is unused */
    size_t avail; /* bytes at the end of buf not yet handed out */
};

/* zero-initialised (an empty batch), so it costs no file space */
static __thread struct random_batch random_batch;
static pthread_once_t random_once = PTHREAD_ONCE_INIT;

/* In the child of fork(): the calling thread is the only one left. */
static void random_atfork_child(void)
{
    wipe(random_batch.buf, sizeof(random_batch.buf));
    random_batch.avail = 0;
}

static void random_init(void)
{
    (void)pthread_atfork(NULL, NULL, random_atfork_child);
}

/* see crypto.h */
int crypto_random(void *out, size_t len)
{
    struct random_batch *rb = &random_batch;
    uint8_t *p;

    if (len > (size_t)INT32_MAX) {
        return -1;
    }
    if (len > RANDOM_BATCH_SIZE / 2) {
        return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
    }
    pthread_once(&random_once, random_init);
    if (rb->avail < len) {
        if (RAND_bytes(rb->buf, RANDOM_BATCH_SIZE) != 1) {
            return -1;
        }
        rb->avail = RANDOM_BATCH_SIZE;
    }
    p = rb->buf + RANDOM_BATCH_SIZE - rb->avail;
    memcpy(out, p, len);
    wipe(p, len);
    rb->avail -= len;
    return 0;
}

/* see crypto.h */
struct crypto_key *crypto_key_generate_p384(void)
{
    return (struct crypto_key *)EVP_EC_gen("P-384");
}

/*
 * A key file holds the public point next to the private scalar, and neither
 * OpenSSL's decoders nor its key management compare the two: a point that
 * is not d * G would be taken as the key's own, and a check of the key
 * against its certificate would pass for a key that cannot sign for it.
 * The provider's pairwise check computes d * G and compares (and checks
 * that 0 < d < n and that the point is on the curve): one key load, a few
 * scalar multiplications.
 */
static bool p384_pair_ok(EVP_PKEY *k)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    bool ok = ctx != NULL && EVP_PKEY_pairwise_check(ctx) == 1;

    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* see crypto.h */
struct crypto_key *crypto_key_load_pem(const char *path)
{
    char iobuf[4096]; /* stdio's buffer, here so that it can be wiped */
    EVP_PKEY *k;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        tv_err("%s: %s", path, strerror(errno));
        return NULL;
    }
    /* stdio's own buffer would go back to the heap with the key in it */
    if (setvbuf(f, iobuf, _IOFBF, sizeof(iobuf)) != 0) {
        tv_err("%s: cannot set up reading", path);
        fclose(f);
        return NULL;
    }
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    wipe(iobuf, sizeof(iobuf));
    if (k == NULL) {
        tv_err("%s: not a PEM private key", path);
        return NULL;
    }
    if (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 384) {
        tv_err("%s: not a P-384 key", path);
        EVP_PKEY_free(k);
        return NULL;
    }
    if (!p384_pair_ok(k)) {
        tv_err("%s: public key does not match the private key", path);
        EVP_PKEY_free(k);
        return NULL;
    }
    return (struct crypto_key *)k;
}

/*
 * see crypto.h. The form crypto_key_save_pem() writes (unencrypted PKCS#8,
 * P-384) is taken apart here; OpenSSL's PEM reader is for any other.
 * Setting up its decoders for one key costs about 190 KiB of code touched
 * and 100 KiB of heap, which would stay with the signer process for its
 * whole life.
 */
struct crypto_key *crypto_key_from_pem(const void *pem, size_t len)
{
    uint8_t der[512];
    BIO *bio;
    EVP_PKEY *k = NULL;
    long der_len;

    if (len > (size_t)INT32_MAX) {
        return NULL;
    }
    der_len = crypto_pem_decode(pem, len, "PRIVATE KEY", der, sizeof(der));
    if (der_len > 0) {
        k = crypto_p384_key_from_pkcs8(der, (size_t)der_len);
        wipe(der, (size_t)der_len);
    }
    if (k == NULL) {
        bio = BIO_new_mem_buf(pem, (int)len);
        if (bio != NULL) {
            k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
            BIO_free(bio);
        }
        ERR_clear_error();
        if (k != NULL &&
            (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 384)) {
            EVP_PKEY_free(k);
            k = NULL;
        }
    }
    if (k != NULL && !p384_pair_ok(k)) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return (struct crypto_key *)k;
}

/*
 * The DER SubjectPublicKeyInfo of every P-384 key in uncompressed form,
 * up to the point: SEQUENCE { SEQUENCE { id-ecPublicKey, secp384r1 },
 * BIT STRING (no unused bits) }, 120 bytes in all (RFC 5480).
 */
static const uint8_t spki_p384_head[] = {
    0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
    0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
};
#define SPKI_P384_LEN (sizeof(spki_p384_head) + CRYPTO_P384_PUB_SIZE)

/*
 * The unencrypted PKCS#8 PrivateKeyInfo of a P-384 key as OpenSSL writes it
 * (RFC 5208, RFC 5915): every length is fixed, so it is this template with
 * the private scalar at PKCS8_D_OFF and the uncompressed point at the end.
 */
static const uint8_t
    pkcs8_p384_head[] =
        {
            0x30, 0x81, 0xb6, 0x02, 0x01, 0x00, 0x30, 0x10, 0x06,
            0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x04, 0x81, 0x9e,
            0x30, 0x81, 0x9b, 0x02, 0x01, 0x01, 0x04, 0x30, /* the 48-byte
                                                               scalar, then: */
};
static const uint8_t pkcs8_p384_mid[] = {0xa1, 0x64, 0x03, 0x62, 0x00};
#define PKCS8_D_OFF sizeof(pkcs8_p384_head)
#define PKCS8_P384_LEN                                                         \
    (PKCS8_D_OFF + 48 + sizeof(pkcs8_p384_mid) + CRYPTO_P384_PUB_SIZE)

/*
 * A P-384 private key as PKCS#8 PEM in @pem, without OpenSSL's encoders
 * (whose set-up costs the signer process more code and heap than the rest
 * of creating a PKI). Return: the length, or -1 for any other key.
 */
static long p384_pkcs8_pem(const struct crypto_key *key, char *pem, size_t cap)
{
    uint8_t der[PKCS8_P384_LEN], spki[160];
    BIGNUM *d = NULL;
    long n = -1;

    if (crypto_key_spki_der(key, spki, sizeof(spki)) != (long)SPKI_P384_LEN ||
        EVP_PKEY_get_bn_param(pkey(key), OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) {
        ERR_clear_error();
        return -1;
    }
    memcpy(der, pkcs8_p384_head, PKCS8_D_OFF);
    if (BN_bn2binpad(d, der + PKCS8_D_OFF, 48) == 48) {
        memcpy(der + PKCS8_D_OFF + 48, pkcs8_p384_mid, sizeof(pkcs8_p384_mid));
        memcpy(der + PKCS8_D_OFF + 48 + sizeof(pkcs8_p384_mid),
               spki + sizeof(spki_p384_head), CRYPTO_P384_PUB_SIZE);
        n = crypto_pem_encode(der, sizeof(der), "PRIVATE KEY", pem, cap);
    }
    BN_clear_free(d);
    wipe(der, sizeof(der));
    return n;
}

/* see crypto.h */
int crypto_key_save_pem(const struct crypto_key *key, const char *path)
{
    BIO *bio;
    char *pem = NULL;
    char text[512];
    long len;
    int rc = -1;

    len = p384_pkcs8_pem(key, text, sizeof(text));
    if (len > 0) {
        int e = tv_write_file_atomic(path, text, (size_t)len, 0600);

        wipe(text, sizeof(text));
        if (e != 0) {
            tv_err("%s: cannot write key: %s", path, strerror(-e));
            return -1;
        }
        return 0;
    }
    bio = BIO_new(BIO_s_secmem());
    if (bio == NULL) {
        return -1;
    }
    /* PEM in (secure) memory first: the file is written by one writer */
    if (PEM_write_bio_PrivateKey(bio, pkey(key), NULL, NULL, 0, NULL, NULL) ==
            1 &&
        (len = BIO_get_mem_data(bio, &pem)) > 0) {
        int e = tv_write_file_atomic(path, pem, (size_t)len, 0600);

        if (e == 0) {
            rc = 0;
        } else {
            tv_err("%s: cannot write key: %s", path, strerror(-e));
        }
    }
    BIO_free(bio); /* a secure-memory BIO cleanses what it held */
    ERR_clear_error();
    return rc;
}

/*
 * see crypto.h. The P-384 form is taken apart here and the point handed to
 * the key management, because OpenSSL 3.0's SubjectPublicKeyInfo decoders
 * (and their method store, some 30 KiB of heap) would otherwise be set up
 * for it; anything else goes to d2i_PUBKEY().
 */
struct crypto_key *crypto_key_from_spki_der(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    EVP_PKEY *k;

    if (len == SPKI_P384_LEN &&
        memcmp(der, spki_p384_head, sizeof(spki_p384_head)) == 0) {
        return (struct crypto_key *)crypto_p384_key_from_point(
            der + sizeof(spki_p384_head), CRYPTO_P384_PUB_SIZE);
    }
    if (len == 0 || len > (size_t)INT32_MAX) {
        return NULL;
    }
    k = d2i_PUBKEY(NULL, &p, (long)len);
    ERR_clear_error();
    if (k != NULL && p != der + len) {
        EVP_PKEY_free(k); /* bytes after the SubjectPublicKeyInfo */
        k = NULL;
    }
    return (struct crypto_key *)k;
}

/*
 * see crypto.h. A P-384 key's encoding is its point after a fixed header;
 * building it here spares OpenSSL 3.0's encoders (about 60 KiB of heap for
 * their method store, in each process that encodes a key). Other keys, and
 * a key whose point OpenSSL keeps in compressed form, go to i2d_PUBKEY().
 */
long crypto_key_spki_der(const struct crypto_key *key, uint8_t *out, size_t cap)
{
    uint8_t point[CRYPTO_P384_PUB_SIZE];
    char group[16];
    size_t point_len = 0, group_len = 0;
    unsigned char *p = out;
    int len;

    if (EVP_PKEY_is_a(pkey(key), "EC") &&
        EVP_PKEY_get_utf8_string_param(pkey(key), OSSL_PKEY_PARAM_GROUP_NAME,
                                       group, sizeof(group), &group_len) == 1 &&
        strcmp(group, "secp384r1") == 0 &&
        EVP_PKEY_get_octet_string_param(pkey(key), OSSL_PKEY_PARAM_PUB_KEY,
                                        point, sizeof(point),
                                        &point_len) == 1 &&
        point_len == sizeof(point) && point[0] == 0x04) {
        if (cap < SPKI_P384_LEN) {
            return -1;
        }
        memcpy(out, spki_p384_head, sizeof(spki_p384_head));
        memcpy(out + sizeof(spki_p384_head), point, sizeof(point));
        return (long)SPKI_P384_LEN;
    }
    ERR_clear_error();
    len = i2d_PUBKEY(pkey(key), NULL);
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

/* see crypto.h */
int crypto_p384_prepare(void)
{
    static const uint8_t msg[] = "prepare";
    struct crypto_key *key, *pub = NULL;
    uint8_t spki[160], sig[CRYPTO_P384_SIG_SIZE];
    long spki_len;
    int rc = -1;

    /*
     * No verification: it goes through the method stores signing set up,
     * and without it neither process's private memory grows (bench_vhost)
     * while start-up saves a P-384 verification.
     */
    if (crypto_init() != 0 || crypto_random(sig, 1) != 0 ||
        (key = crypto_key_generate_p384()) == NULL) {
        return -1;
    }
    spki_len = crypto_key_spki_der(key, spki, sizeof(spki));
    if (spki_len > 0 &&
        (pub = crypto_key_from_spki_der(spki, (size_t)spki_len)) != NULL &&
        crypto_ecdsa_p384_sign(key, msg, sizeof(msg), sig) == 0) {
        rc = 0;
    }
    crypto_key_free(pub);
    crypto_key_free(key);
    wipe(sig, sizeof(sig));
    return rc;
}

/* see crypto.h: OpenSSL signs DER; COSE wants fixed-width r || s */
int crypto_ecdsa_p384_sign(const struct crypto_key *key, const void *msg,
                           size_t msg_len, uint8_t sig[CRYPTO_P384_SIG_SIZE])
{
    unsigned char der[160];
    size_t der_len = sizeof(der);
    const unsigned char *p = der;
    ECDSA_SIG *es = NULL;
    EVP_PKEY_CTX *ctx;
    uint8_t digest[CRYPTO_SHA384_SIZE];
    int rc = -1;

    /*
     * Hash here (sha.c), then sign the digest: cheaper than
     * EVP_DigestSignInit_ex(), which fetches the digest and builds a
     * digest context on every call (an attestation signs once per request).
     */
    if (crypto_init() != 0 ||
        crypto_sha384_2(msg, msg_len, NULL, 0, digest) != 0 ||
        (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey(key), NULL)) == NULL) {
        return -1;
    }
    if (EVP_PKEY_sign_init(ctx) != 1 ||
        EVP_PKEY_sign(ctx, der, &der_len, digest, sizeof(digest)) != 1) {
        goto out_ctx;
    }
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (es == NULL || BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 48) != 48 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 48, 48) != 48) {
        goto out_sig;
    }
    rc = 0;
out_sig:
    ECDSA_SIG_free(es);
out_ctx:
    EVP_PKEY_CTX_free(ctx);
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
