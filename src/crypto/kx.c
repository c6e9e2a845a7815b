/* SPDX-License-Identifier: MIT */
/*
 * Key exchange and record-layer primitives for the SPDM engine: ECDHE P-384,
 * HMAC/HKDF-SHA-384, AES-256-GCM, ECDSA P-384 over raw points, and the leaf
 * key of a DER certificate. Keys cross this boundary only as byte strings,
 * so callers can keep them in memcpy-able contexts; every OpenSSL object is
 * created and freed inside one call.
 */
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "common/ct.h"
#include "crypto/aes_ni.h"
#include "crypto/crypto.h"

#define P384_FIELD 48

/*
 * Algorithms fetched once: an implicit fetch (EVP_aes_256_gcm(), fetching
 * by name per call) costs a provider lookup on every record, which is most
 * of a small record's cost.
 */
static pthread_once_t kx_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aes256gcm;
static EVP_MAC *hmac;
static EVP_KDF *hkdf;
static EVP_MD *sha384;
static bool gcm_ni; /* the record layer's AES-256-GCM is aes_ni.c's */

static void kx_fetch(void)
{
#ifdef AES_NI_BUILD
    gcm_ni = aes_ni_available();
#endif
    aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

static bool kx_ready(void)
{
    pthread_once(&kx_once, kx_fetch);
    return aes256gcm != NULL && hmac != NULL && hkdf != NULL && sha384 != NULL;
}

/* see crypto.h */
int crypto_sha384_v(const struct crypto_iov *v, size_t n,
                    uint8_t out[CRYPTO_SHA384_SIZE])
{
    EVP_MD_CTX *ctx;
    int rc = -1;

    if (!kx_ready() || (ctx = EVP_MD_CTX_new()) == NULL) {
        return -1;
    }
    if (EVP_DigestInit_ex2(ctx, sha384, NULL) != 1) {
        goto out_free;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].len > 0 && EVP_DigestUpdate(ctx, v[i].p, v[i].len) != 1) {
            goto out_free;
        }
    }
    if (EVP_DigestFinal_ex(ctx, out, NULL) == 1) {
        rc = 0;
    }
out_free:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* see crypto.h */
int crypto_hmac_sha384(const uint8_t *key, size_t key_len, const void *msg,
                       size_t msg_len, uint8_t out[CRYPTO_SHA384_SIZE])
{
    static const uint8_t empty[1];
    OSSL_PARAM params[2];
    EVP_MAC_CTX *ctx;
    size_t out_len = 0;
    int rc = -1;

    if (!kx_ready() || (ctx = EVP_MAC_CTX_new(hmac)) == NULL) {
        return -1;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA384", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx, key_len > 0 ? key : empty, key_len, params) == 1 &&
        EVP_MAC_update(ctx, msg, msg_len) == 1 &&
        EVP_MAC_final(ctx, out, &out_len, CRYPTO_SHA384_SIZE) == 1 &&
        out_len == CRYPTO_SHA384_SIZE) {
        rc = 0;
    }
    EVP_MAC_CTX_free(ctx);
    return rc;
}

/* see crypto.h: HKDF-Extract is HMAC(salt, IKM) (RFC 5869 2.2) */
int crypto_hkdf_sha384_extract(const uint8_t *salt, size_t salt_len,
                               const uint8_t *ikm, size_t ikm_len,
                               uint8_t prk[CRYPTO_SHA384_SIZE])
{
    return crypto_hmac_sha384(salt, salt_len, ikm, ikm_len, prk);
}

/* see crypto.h */
int crypto_hkdf_sha384_expand(const uint8_t prk[CRYPTO_SHA384_SIZE],
                              const uint8_t *info, size_t info_len,
                              uint8_t *out, size_t out_len)
{
    EVP_KDF_CTX *kctx;
    OSSL_PARAM params[5], *p = params;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    int rc = -1;

    if (out_len == 0 || out_len > 255 * CRYPTO_SHA384_SIZE) {
        return -1;
    }
    if (!kx_ready()) {
        return -1;
    }
    kctx = EVP_KDF_CTX_new(hkdf);
    if (kctx == NULL) {
        return -1;
    }
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                            (char *)"SHA384", 0);
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)prk,
                                             CRYPTO_SHA384_SIZE);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                             info_len);
    *p = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, out_len, params) == 1) {
        rc = 0;
    }
    EVP_KDF_CTX_free(kctx);
    return rc;
}

/* An EC P-384 EVP_PKEY from an uncompressed point and optional scalar. */
static EVP_PKEY *p384_pkey(const uint8_t pub[CRYPTO_P384_PUB_SIZE],
                           const uint8_t *priv)
{
    OSSL_PARAM_BLD *bld;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;
    BIGNUM *d = NULL;

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) {
        return NULL;
    }
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        "P-384", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                         CRYPTO_P384_PUB_SIZE) != 1) {
        goto out;
    }
    if (priv != NULL) {
        d = BN_secure_new();
        if (d == NULL || BN_bin2bn(priv, P384_FIELD, d) == NULL ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1) {
            goto out;
        }
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key,
                          priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                          params) != 1) {
        key = NULL;
    }
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    return key;
}

/* The uncompressed point of an EC key, checked to be P-384. */
static int p384_point(const EVP_PKEY *k, uint8_t pub[CRYPTO_P384_PUB_SIZE])
{
    size_t len = 0;
    char group[16];

    if (!EVP_PKEY_is_a(k, "EC") ||
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), NULL) != 1 ||
        (strcmp(group, "P-384") != 0 && strcmp(group, "secp384r1") != 0) ||
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                        pub, CRYPTO_P384_PUB_SIZE, &len) != 1 ||
        len != CRYPTO_P384_PUB_SIZE || pub[0] != 0x04) {
        return -1;
    }
    return 0;
}

/* see crypto.h */
int crypto_ecdh_p384_keygen(uint8_t priv[CRYPTO_P384_SCALAR_SIZE],
                            uint8_t pub_xy[CRYPTO_P384_XY_SIZE])
{
    EVP_PKEY *k = EVP_EC_gen("P-384");
    BIGNUM *d = NULL;
    uint8_t pub[CRYPTO_P384_PUB_SIZE];
    int rc = -1;

    if (k == NULL) {
        return -1;
    }
    if (p384_point(k, pub) != 0 ||
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
        BN_bn2binpad(d, priv, P384_FIELD) != P384_FIELD) {
        goto out;
    }
    memcpy(pub_xy, pub + 1, CRYPTO_P384_XY_SIZE);
    rc = 0;
out:
    BN_clear_free(d);
    EVP_PKEY_free(k);
    return rc;
}

/* see crypto.h */
int crypto_ecdh_p384_derive(const uint8_t priv[CRYPTO_P384_SCALAR_SIZE],
                            const uint8_t my_pub_xy[CRYPTO_P384_XY_SIZE],
                            const uint8_t peer_xy[CRYPTO_P384_XY_SIZE],
                            uint8_t secret[CRYPTO_P384_SCALAR_SIZE])
{
    uint8_t pt[CRYPTO_P384_PUB_SIZE];
    EVP_PKEY *mine, *peer;
    EVP_PKEY_CTX *ctx = NULL, *pctx = NULL;
    size_t len = CRYPTO_P384_SCALAR_SIZE;
    int rc = -1;

    pt[0] = 0x04;
    memcpy(pt + 1, my_pub_xy, CRYPTO_P384_XY_SIZE);
    mine = p384_pkey(pt, priv);
    memcpy(pt + 1, peer_xy, CRYPTO_P384_XY_SIZE);
    /* fromdata checks that the peer's point is on the curve */
    peer = p384_pkey(pt, NULL);
    if (mine == NULL || peer == NULL) {
        goto out;
    }
    /*
     * The peer point is on the curve (checked when it was decoded, and again
     * by the quick check); P-384's cofactor is 1, so the full check's extra
     * n * Q scalar multiplication would add nothing but a second ECDH's cost.
     */
    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
    if (pctx == NULL || EVP_PKEY_public_check_quick(pctx) != 1) {
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1 ||
        EVP_PKEY_derive(ctx, secret, &len) != 1 ||
        len != CRYPTO_P384_SCALAR_SIZE) {
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_CTX_free(pctx);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(mine);
    EVP_PKEY_free(peer);
    return rc;
}

/* see crypto.h */
int crypto_aes256gcm_seal(const uint8_t key[CRYPTO_AES256_KEY_SIZE],
                          const uint8_t iv[CRYPTO_GCM_IV_SIZE], const void *aad,
                          size_t aad_len, const void *pt, size_t len,
                          uint8_t *ct, uint8_t tag[CRYPTO_GCM_TAG_SIZE])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n, rc = -1;

    if (ctx == NULL || len > INT32_MAX || aad_len > INT32_MAX || !kx_ready()) {
        EVP_CIPHER_CTX_free(ctx);
        return -1;
    }
    if (EVP_EncryptInit_ex2(ctx, aes256gcm, key, iv, NULL) != 1 ||
        (aad_len > 0 &&
         EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
        (len > 0 && EVP_EncryptUpdate(ctx, ct, &n, pt, (int)len) != 1) ||
        EVP_EncryptFinal_ex(ctx, ct + len, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_GCM_TAG_SIZE,
                            tag) != 1) {
        goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* see crypto.h */
int crypto_aes256gcm_open(const uint8_t key[CRYPTO_AES256_KEY_SIZE],
                          const uint8_t iv[CRYPTO_GCM_IV_SIZE], const void *aad,
                          size_t aad_len, const void *ct, size_t len,
                          const uint8_t tag[CRYPTO_GCM_TAG_SIZE], uint8_t *pt)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t t[CRYPTO_GCM_TAG_SIZE];
    int n, rc = -1;

    if (ctx == NULL || len > INT32_MAX || aad_len > INT32_MAX || !kx_ready()) {
        EVP_CIPHER_CTX_free(ctx);
        return -1;
    }
    memcpy(t, tag, sizeof(t));
    if (EVP_DecryptInit_ex2(ctx, aes256gcm, key, iv, NULL) != 1 ||
        (aad_len > 0 &&
         EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
        (len > 0 && EVP_DecryptUpdate(ctx, pt, &n, ct, (int)len) != 1) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_GCM_TAG_SIZE,
                            t) != 1 ||
        EVP_DecryptFinal_ex(ctx, pt + len, &n) != 1) {
        /* never leave unauthenticated plaintext behind */
        if (len > 0) {
            wipe(pt, len);
        }
        goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/*
 * The keyed contexts (see crypto.h). A slot is in use while gen != 0;
 * generations are never reused (a 32-bit count: wrapping needs 4 billion
 * keys in one process, and then skips 0), so a stale handle cannot name a
 * newer slot owner by accident. One lock: records are short and the
 * callers single-threaded in practice.
 *
 * Two ways through a record. Where the CPU has AES-NI and PCLMULQDQ, the
 * slot holds an AES-256-GCM context of aes_ni.c and a record costs a few
 * hundred instructions, all in this program. Through an OpenSSL cipher
 * context it costs several thousand (EVP_CipherInit_ex2 alone asks the
 * provider for the IV length through a parameter lookup on every record,
 * the tag is another), and all of them in libcrypto.so, which matters
 * beyond their count: two processes on one CPU that both run the same
 * library, mapped at addresses equal modulo 16 MiB (one run in eight with
 * 2 MiB aligned libraries and address-space randomisation), share branch
 * predictor entries that hold the other process's targets, and each
 * record through that code mispredicts throughout (measured: a secured
 * round trip between the tdispc requester and trustvio-dsm on one CPU,
 * 8.0 instead of 6.5 us). Without those instructions the record layer
 * takes the cipher context, keyed once.
 */
struct gcm_slot {
    EVP_CIPHER_CTX *ctx; /* without AES-NI: allocated once, then kept */
#ifdef AES_NI_BUILD
    struct aes_ni_gcm ni; /* with AES-NI */
#endif
    bool keyed; /* the context holds a key schedule */
    uint32_t gen;
    uint64_t used; /* LRU stamp */
    uint8_t key[CRYPTO_AES256_KEY_SIZE];
};

static struct gcm_slot gcm_slots[CRYPTO_GCM_CONTEXTS];
static pthread_mutex_t gcm_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t gcm_gen;
static uint64_t gcm_clock;

/* after kx_ready() */
static bool gcm_use_aes_ni(void)
{
    return gcm_ni;
}

static void gcm_slot_wipe(struct gcm_slot *s)
{
    if (s->ctx != NULL && s->keyed) {
        /* frees (and cleanses) the provider's key schedule and state */
        EVP_CIPHER_CTX_reset(s->ctx);
    }
#ifdef AES_NI_BUILD
    wipe(&s->ni, sizeof(s->ni));
#endif
    s->keyed = false;
    s->gen = 0;
    wipe(s->key, sizeof(s->key));
}

/* Key @s with @key. Return: 0 or -1 (the slot is then wiped). */
static int gcm_slot_key(struct gcm_slot *s, const uint8_t *key)
{
#ifdef AES_NI_BUILD
    if (gcm_use_aes_ni()) {
        aes_ni_gcm_init(&s->ni, key);
        s->keyed = true;
        memcpy(s->key, key, sizeof(s->key));
        return 0;
    }
#endif
    if (s->ctx == NULL && (s->ctx = EVP_CIPHER_CTX_new()) == NULL) {
        return -1;
    }
    /* once keyed, a new key replaces the schedule in place (no cipher) */
    if (EVP_CipherInit_ex2(s->ctx, s->keyed ? NULL : aes256gcm, key, NULL, 1,
                           NULL) != 1) {
        gcm_slot_wipe(s);
        return -1;
    }
    s->keyed = true;
    memcpy(s->key, key, sizeof(s->key));
    return 0;
}

/*
 * Does the slot hold @key? Constant time, a word at a time: this runs on
 * every record, and a byte loop through volatile loads costs as much as
 * the tag check.
 */
static bool gcm_same_key(const uint8_t *a, const uint8_t *b)
{
    uint64_t acc = 0;

    for (size_t i = 0; i < CRYPTO_AES256_KEY_SIZE; i += 8) {
        uint64_t x, y;

        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        acc |= x ^ y;
    }
    return acc == 0;
}

/* @h's slot holding @key, taking one over if needed; gcm_lock held. */
static struct gcm_slot *gcm_get(struct crypto_gcm *h, const uint8_t *key)
{
    struct gcm_slot *s = NULL;

    if (h->gen != 0 && h->slot < CRYPTO_GCM_CONTEXTS &&
        gcm_slots[h->slot].gen == h->gen) {
        s = &gcm_slots[h->slot];
        if (!gcm_same_key(s->key, key) && gcm_slot_key(s, key) != 0) {
            return NULL;
        }
    } else {
        size_t pick = 0;

        for (size_t i = 0; i < CRYPTO_GCM_CONTEXTS; i++) {
            if (gcm_slots[i].gen == 0) {
                pick = i;
                break;
            }
            if (gcm_slots[i].used < gcm_slots[pick].used) {
                pick = i;
            }
        }
        s = &gcm_slots[pick];
        s->gen = 0; /* its previous owner, if any, now misses */
        if (gcm_slot_key(s, key) != 0) {
            return NULL;
        }
        if (++gcm_gen == 0) {
            gcm_gen = 1;
        }
        s->gen = gcm_gen;
        h->slot = (uint32_t)pick;
        h->gen = gcm_gen;
    }
    s->used = ++gcm_clock;
    return s;
}

/*
 * The tag through the provider's parameters directly: EVP_CIPHER_CTX_ctrl()
 * would build the same one-element array on every record after a switch.
 */
static int gcm_tag(EVP_CIPHER_CTX *ctx, uint8_t *tag, bool get)
{
    OSSL_PARAM p[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag,
                                          CRYPTO_GCM_TAG_SIZE),
        OSSL_PARAM_construct_end(),
    };

    return get ? EVP_CIPHER_CTX_get_params(ctx, p)
               : EVP_CIPHER_CTX_set_params(ctx, p);
}

/* see crypto.h */
int crypto_gcm_rekey(struct crypto_gcm *h,
                     const uint8_t key[CRYPTO_AES256_KEY_SIZE])
{
    struct gcm_slot *s;
    int rc = -1;

    if (!kx_ready()) {
        return -1;
    }
    pthread_mutex_lock(&gcm_lock);
    s = gcm_get(h, key);
    if (s != NULL) {
        rc = 0;
    }
    pthread_mutex_unlock(&gcm_lock);
    return rc;
}

/* see crypto.h */
int crypto_gcm_seal(struct crypto_gcm *h,
                    const uint8_t key[CRYPTO_AES256_KEY_SIZE],
                    const uint8_t iv[CRYPTO_GCM_IV_SIZE], const void *aad,
                    size_t aad_len, const void *pt, size_t len, uint8_t *ct,
                    uint8_t tag[CRYPTO_GCM_TAG_SIZE])
{
    struct gcm_slot *s;
    int n, rc = -1;

    if (len > INT32_MAX || aad_len > INT32_MAX || !kx_ready()) {
        return -1;
    }
    pthread_mutex_lock(&gcm_lock);
    s = gcm_get(h, key);
    if (s == NULL) {
        goto out;
    }
#ifdef AES_NI_BUILD
    if (gcm_use_aes_ni()) {
        rc = aes_ni_gcm_seal(&s->ni, iv, aad, aad_len, pt, len, ct, tag);
        goto out;
    }
#endif
    if (EVP_CipherInit_ex2(s->ctx, NULL, NULL, iv, 1, NULL) == 1 &&
        (aad_len == 0 ||
         EVP_EncryptUpdate(s->ctx, NULL, &n, aad, (int)aad_len) == 1) &&
        (len == 0 || EVP_EncryptUpdate(s->ctx, ct, &n, pt, (int)len) == 1) &&
        EVP_EncryptFinal_ex(s->ctx, ct + len, &n) == 1 &&
        gcm_tag(s->ctx, tag, true) == 1) {
        rc = 0;
    }
out:
    pthread_mutex_unlock(&gcm_lock);
    return rc;
}

/* see crypto.h */
int crypto_gcm_open(struct crypto_gcm *h,
                    const uint8_t key[CRYPTO_AES256_KEY_SIZE],
                    const uint8_t iv[CRYPTO_GCM_IV_SIZE], const void *aad,
                    size_t aad_len, const void *ct, size_t len,
                    const uint8_t tag[CRYPTO_GCM_TAG_SIZE], uint8_t *pt)
{
    uint8_t t[CRYPTO_GCM_TAG_SIZE];
    struct gcm_slot *s;
    int n, rc = -1;

    if (len > INT32_MAX || aad_len > INT32_MAX || !kx_ready()) {
        return -1;
    }
    memcpy(t, tag, sizeof(t));
    pthread_mutex_lock(&gcm_lock);
    s = gcm_get(h, key);
    if (s == NULL) {
        goto out;
    }
#ifdef AES_NI_BUILD
    if (gcm_use_aes_ni()) {
        rc = aes_ni_gcm_open(&s->ni, iv, aad, aad_len, ct, len, t, pt);
        goto out;
    }
#endif
    if (EVP_CipherInit_ex2(s->ctx, NULL, NULL, iv, 0, NULL) == 1 &&
        (aad_len == 0 ||
         EVP_DecryptUpdate(s->ctx, NULL, &n, aad, (int)aad_len) == 1) &&
        (len == 0 || EVP_DecryptUpdate(s->ctx, pt, &n, ct, (int)len) == 1) &&
        gcm_tag(s->ctx, t, false) == 1 &&
        EVP_DecryptFinal_ex(s->ctx, pt + len, &n) == 1) {
        rc = 0;
    }
out:
    pthread_mutex_unlock(&gcm_lock);
    if (rc != 0 && len > 0) {
        /* never leave unauthenticated plaintext behind */
        wipe(pt, len);
    }
    return rc;
}

/* see crypto.h */
void crypto_gcm_release(struct crypto_gcm *h)
{
    pthread_mutex_lock(&gcm_lock);
    if (h->gen != 0 && h->slot < CRYPTO_GCM_CONTEXTS &&
        gcm_slots[h->slot].gen == h->gen) {
        gcm_slot_wipe(&gcm_slots[h->slot]);
    }
    pthread_mutex_unlock(&gcm_lock);
    h->slot = 0;
    h->gen = 0;
}

/* see crypto.h */
size_t crypto_gcm_in_use(void)
{
    size_t n = 0;

    pthread_mutex_lock(&gcm_lock);
    for (size_t i = 0; i < CRYPTO_GCM_CONTEXTS; i++) {
        n += gcm_slots[i].gen != 0;
    }
    pthread_mutex_unlock(&gcm_lock);
    return n;
}

/* see crypto.h */
bool crypto_ecdsa_p384_verify_point(const uint8_t pub[CRYPTO_P384_PUB_SIZE],
                                    const void *msg, size_t msg_len,
                                    const uint8_t sig[CRYPTO_P384_SIG_SIZE])
{
    EVP_PKEY *k = p384_pkey(pub, NULL);
    bool ok;

    if (k == NULL) {
        return false;
    }
    ok = crypto_ecdsa_p384_verify((const struct crypto_key *)k, msg, msg_len,
                                  sig);
    EVP_PKEY_free(k);
    return ok;
}

/* see crypto.h */
int crypto_x509_p384_point(const uint8_t *der, size_t len,
                           uint8_t pub[CRYPTO_P384_PUB_SIZE])
{
    const unsigned char *p = der;
    X509 *x;
    EVP_PKEY *k;
    int rc = -1;

    if (len > LONG_MAX) {
        return -1;
    }
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        return -1;
    }
    if (p == der + len && (k = X509_get0_pubkey(x)) != NULL &&
        p384_point(k, pub) == 0) {
        rc = 0;
    }
    X509_free(x);
    return rc;
}

/* see crypto.h */
long crypto_der_next(const uint8_t *p, size_t len)
{
    size_t hdr, body;

    /* a SEQUENCE with a definite length in at most 4 length bytes */
    if (len < 2 || p[0] != 0x30) {
        return -1;
    }
    if (p[1] < 0x80) {
        hdr = 2;
        body = p[1];
    } else {
        size_t n = p[1] & 0x7f;
        if (n == 0 || n > 4 || len < 2 + n || p[2] == 0) {
            return -1;
        }
        body = 0;
        for (size_t i = 0; i < n; i++) {
            body = body << 8 | p[2 + i];
        }
        hdr = 2 + n;
        if (body < 0x80) {
            return -1; /* not DER: long form for a short length */
        }
    }
    if (body > len - hdr) {
        return -1;
    }
    return (long)(hdr + body);
}
