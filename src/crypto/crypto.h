/* SPDX-License-Identifier: MIT */
/*
 * The crypto adapter: the only code in the project that includes OpenSSL.
 *
 * Hashes, HMAC, the DRBG and ECDSA P-384 signatures over plain byte buffers.
 * OpenSSL allocates internally; nothing here allocates through the caller's
 * allocator, and no OpenSSL type appears in this header. Algorithms are
 * fetched once (crypto_init(), also called lazily) so per-call cost is the
 * computation itself. All functions are safe to call from several threads.
 */
#ifndef TV_CRYPTO_CRYPTO_H
#define TV_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_SIZE   32
#define CRYPTO_SHA384_SIZE   48
#define CRYPTO_P384_SIG_SIZE 96 /* r || s, 48 bytes each */

/**
 * crypto_init() - fetch algorithms once. Idempotent and thread-safe.
 * Return: 0, or -1 if OpenSSL lacks a required algorithm.
 */
int crypto_init(void);

/**
 * crypto_p384_prepare() - set up now, in the calling process, what P-384
 * key generation, signing (and so verification) and public key encoding
 * use (OpenSSL's DRBG, its key management and signature method stores, its
 * group), by going through each once with a throwaway key. For a process
 * about to fork a helper that does the same: the set-up then sits in pages
 * the two share instead of being built twice. Allocates inside OpenSSL.
 * Return: 0, or -1 if one of the operations failed.
 */
int crypto_p384_prepare(void);

/**
 * crypto_sha384_2() - SHA-384 of @a || @b (either may be empty).
 * @out receives 48 bytes. Return: 0 or -1 on an OpenSSL failure.
 */
int crypto_sha384_2(const void *a, size_t a_len, const void *b, size_t b_len,
                    uint8_t out[CRYPTO_SHA384_SIZE]);

/** crypto_sha256() - SHA-256 of @len bytes. Return: 0 or -1. */
int crypto_sha256(const void *p, size_t len, uint8_t out[CRYPTO_SHA256_SIZE]);

/**
 * struct crypto_hmac - an HMAC-SHA256 computation in progress, in the
 * caller's memory (nothing is allocated).
 * @impl:  NULL when no computation is live (never started, finished or
 *         aborted); otherwise the implementation's state, in @state
 * @state: the two hash states derived from the key; wiped by
 *         crypto_hmac_final() and crypto_hmac_abort(). Never copy a live
 *         context.
 */
struct crypto_hmac {
    void *impl;
    uint64_t state[32];
};

/**
 * crypto_hmac_init() - start HMAC-SHA256 with a key (RFC 2104; a key
 * longer than 64 bytes is hashed first). The key itself is not retained,
 * only the key-dependent hash states in @h. Return: 0 or -1.
 */
int crypto_hmac_init(struct crypto_hmac *h, const uint8_t *key, size_t key_len);
/** crypto_hmac_update() - add @len bytes. Return: 0, or -1 if not live. */
int crypto_hmac_update(struct crypto_hmac *h, const void *p, size_t len);
/**
 * crypto_hmac_final() - write 32 bytes to @out and end the computation
 * (its state wiped). Return: 0, or -1 if not live.
 */
int crypto_hmac_final(struct crypto_hmac *h, uint8_t out[CRYPTO_SHA256_SIZE]);
/** crypto_hmac_abort() - end the computation without output, state wiped. */
void crypto_hmac_abort(struct crypto_hmac *h);

/**
 * crypto_random() - fill @len bytes from OpenSSL's DRBG.
 * Return: 0 or -1.
 */
int crypto_random(void *out, size_t len);

/*
 * ECDSA P-384 keys. struct crypto_key is opaque (an EVP_PKEY); it is created
 * by the functions below (or by x509.h), freed by crypto_key_free().
 */
struct crypto_key;

/** crypto_key_generate_p384() - a fresh P-384 key pair, or NULL. */
struct crypto_key *crypto_key_generate_p384(void);

/**
 * crypto_key_load_pem() - read a PEM private key from @path; its public
 * point must be the private scalar's.
 * Return: the key, or NULL (reason logged through tv_log).
 */
struct crypto_key *crypto_key_load_pem(const char *path);

/**
 * crypto_key_from_pem() - parse the PEM private key in @pem[0..@len).
 * Return: the P-384 key, or NULL (not PEM, not a private key, another
 * curve, a public point that is not the private scalar's).
 */
struct crypto_key *crypto_key_from_pem(const void *pem, size_t len);

/**
 * crypto_key_save_pem() - write the private key as PKCS#8 PEM to @path,
 * created with mode 0600 (an existing file is replaced atomically).
 * Return: 0 or -1.
 */
int crypto_key_save_pem(const struct crypto_key *key, const char *path);

/**
 * crypto_key_from_spki_der() - a public key from a DER SubjectPublicKeyInfo
 * of exactly @len bytes (trailing bytes refused).
 * Return: the key, or NULL.
 */
struct crypto_key *crypto_key_from_spki_der(const uint8_t *der, size_t len);

/**
 * crypto_key_spki_der() - the DER SubjectPublicKeyInfo of @key into @out
 * (capacity @cap). Return: length, or -1 (also when it does not fit).
 */
long crypto_key_spki_der(const struct crypto_key *key, uint8_t *out,
                         size_t cap);

void crypto_key_free(struct crypto_key *key);

/**
 * crypto_ecdsa_p384_sign() - sign SHA-384(@msg) with @key; @sig receives
 * r || s as two 48-byte big-endian integers (the COSE form).
 * Return: 0 or -1.
 */
int crypto_ecdsa_p384_sign(const struct crypto_key *key, const void *msg,
                           size_t msg_len, uint8_t sig[CRYPTO_P384_SIG_SIZE]);

/**
 * crypto_ecdsa_p384_verify() - check the r || s signature @sig over
 * SHA-384(@msg) with the public part of @key.
 * Return: true only when the signature is valid.
 */
bool crypto_ecdsa_p384_verify(const struct crypto_key *key, const void *msg,
                              size_t msg_len,
                              const uint8_t sig[CRYPTO_P384_SIG_SIZE]);

/**
 * crypto_alloc_count() - number of allocations OpenSSL has made through the
 * counting allocator installed by crypto_count_allocations(). Used by tests
 * that tell OpenSSL's allocations apart from the project's own.
 */
int crypto_count_allocations(void);
unsigned long crypto_alloc_count(void);

/*
 * Key exchange and record-layer primitives (kx.c), used by the SPDM engine.
 * Keys go in and out as byte strings only; nothing here keeps state.
 */
#define CRYPTO_P384_SCALAR_SIZE 48 /* private scalar, ECDH secret (X) */
#define CRYPTO_P384_XY_SIZE     96 /* X || Y, as SPDM's ExchangeData */
#define CRYPTO_P384_PUB_SIZE    97 /* 04 || X || Y (SEC1 uncompressed) */
#define CRYPTO_AES256_KEY_SIZE  32
#define CRYPTO_GCM_IV_SIZE      12
#define CRYPTO_GCM_TAG_SIZE     16

/** struct crypto_iov - one piece of a message hashed in pieces. */
struct crypto_iov {
    const void *p;
    size_t len;
};

/**
 * crypto_sha384_v() - SHA-384 of the concatenation of @n pieces.
 * Return: 0 or -1.
 */
int crypto_sha384_v(const struct crypto_iov *v, size_t n,
                    uint8_t out[CRYPTO_SHA384_SIZE]);

/**
 * crypto_hmac_sha384() - HMAC-SHA-384 of @msg under @key (any length).
 * Return: 0 or -1.
 */
int crypto_hmac_sha384(const uint8_t *key, size_t key_len, const void *msg,
                       size_t msg_len, uint8_t out[CRYPTO_SHA384_SIZE]);

/**
 * crypto_hkdf_sha384_extract() - RFC 5869 HKDF-Extract(@salt, @ikm) with
 * SHA-384 into @prk. Return: 0 or -1.
 */
int crypto_hkdf_sha384_extract(const uint8_t *salt, size_t salt_len,
                               const uint8_t *ikm, size_t ikm_len,
                               uint8_t prk[CRYPTO_SHA384_SIZE]);

/**
 * crypto_hkdf_sha384_expand() - RFC 5869 HKDF-Expand(@prk, @info, @out_len)
 * with SHA-384; @out_len 1..255*48. Return: 0 or -1.
 */
int crypto_hkdf_sha384_expand(const uint8_t prk[CRYPTO_SHA384_SIZE],
                              const uint8_t *info, size_t info_len,
                              uint8_t *out, size_t out_len);

/**
 * crypto_ecdh_p384_keygen() - a fresh ephemeral P-384 key: the scalar into
 * @priv (the caller wipes it after use), X || Y into @pub_xy.
 * Return: 0 or -1.
 */
int crypto_ecdh_p384_keygen(uint8_t priv[CRYPTO_P384_SCALAR_SIZE],
                            uint8_t pub_xy[CRYPTO_P384_XY_SIZE]);

/**
 * crypto_ecdh_p384_derive() - the ECDH shared secret (the X coordinate of
 * priv * peer) of our key (@priv, @my_pub_xy) and the peer's X || Y
 * @peer_xy. A peer point not on the curve is refused. Return: 0 or -1.
 */
int crypto_ecdh_p384_derive(const uint8_t priv[CRYPTO_P384_SCALAR_SIZE],
                            const uint8_t my_pub_xy[CRYPTO_P384_XY_SIZE],
                            const uint8_t peer_xy[CRYPTO_P384_XY_SIZE],
                            uint8_t secret[CRYPTO_P384_SCALAR_SIZE]);

/**
 * crypto_aes256gcm_seal() - AES-256-GCM: encrypt @len bytes of @pt into @ct
 * (may be the same buffer), authenticating @aad too; the 16-byte tag goes
 * to @tag. Return: 0 or -1.
 */
int crypto_aes256gcm_seal(const uint8_t key[CRYPTO_AES256_KEY_SIZE],
                          const uint8_t iv[CRYPTO_GCM_IV_SIZE], const void *aad,
                          size_t aad_len, const void *pt, size_t len,
                          uint8_t *ct, uint8_t tag[CRYPTO_GCM_TAG_SIZE]);

/**
 * crypto_aes256gcm_open() - check @tag over @aad and @ct and decrypt into
 * @pt (may be the same buffer). On failure @pt is wiped.
 * Return: 0, or -1 when the record is not authentic (or OpenSSL failed).
 */
int crypto_aes256gcm_open(const uint8_t key[CRYPTO_AES256_KEY_SIZE],
                          const uint8_t iv[CRYPTO_GCM_IV_SIZE], const void *aad,
                          size_t aad_len, const void *ct, size_t len,
                          const uint8_t tag[CRYPTO_GCM_TAG_SIZE], uint8_t *pt);

/*
 * Keyed AES-256-GCM contexts for a record layer: keying AES and GHASH and
 * setting up an OpenSSL cipher context cost several times what a small
 * record's encryption does, so a session direction keeps one context keyed
 * and only sets the next IV per record. The contexts live in a table here
 * (CRYPTO_GCM_CONTEXTS of them, taken over least recently used first);
 * callers hold a struct crypto_gcm, plain data naming one, next to the key
 * bytes. Every use checks (in constant time) that the context holds the
 * key passed, and keys it again otherwise, so a handle that was copied,
 * restored from a snapshot or outlived its context only costs a re-key.
 */
#define CRYPTO_GCM_CONTEXTS 64

/**
 * struct crypto_gcm - names a keyed context of the table; all zero = none.
 * Copyable; give it back with crypto_gcm_release().
 */
struct crypto_gcm {
    uint32_t slot;
    uint32_t gen;
};

/**
 * crypto_gcm_rekey() - key @h's context with @key now (taking a context
 * when @h names none), e.g. when a session's key changes; the previous
 * key's schedule is overwritten. Return: 0 or -1.
 */
int crypto_gcm_rekey(struct crypto_gcm *h,
                     const uint8_t key[CRYPTO_AES256_KEY_SIZE]);

/**
 * crypto_gcm_seal() - as crypto_aes256gcm_seal() with @h's context, which
 * must hold @key (or is keyed with it first).
 */
int crypto_gcm_seal(struct crypto_gcm *h,
                    const uint8_t key[CRYPTO_AES256_KEY_SIZE],
                    const uint8_t iv[CRYPTO_GCM_IV_SIZE], const void *aad,
                    size_t aad_len, const void *pt, size_t len, uint8_t *ct,
                    uint8_t tag[CRYPTO_GCM_TAG_SIZE]);

/**
 * crypto_gcm_open() - as crypto_aes256gcm_open() with @h's context.
 * On failure @pt is wiped.
 */
int crypto_gcm_open(struct crypto_gcm *h,
                    const uint8_t key[CRYPTO_AES256_KEY_SIZE],
                    const uint8_t iv[CRYPTO_GCM_IV_SIZE], const void *aad,
                    size_t aad_len, const void *ct, size_t len,
                    const uint8_t tag[CRYPTO_GCM_TAG_SIZE], uint8_t *pt);

/**
 * crypto_gcm_release() - wipe @h's context (key schedule and state) and
 * give it back to the table; @h becomes none. A handle that no longer
 * names its context (taken over, or a stale copy) is just cleared.
 */
void crypto_gcm_release(struct crypto_gcm *h);

/**
 * crypto_gcm_in_use() - how many contexts of the table hold a key (tests).
 */
size_t crypto_gcm_in_use(void);

/**
 * crypto_ecdsa_p384_verify_point() - as crypto_ecdsa_p384_verify() with the
 * public key given as an uncompressed point.
 * Return: true only when the signature is valid.
 */
bool crypto_ecdsa_p384_verify_point(const uint8_t pub[CRYPTO_P384_PUB_SIZE],
                                    const void *msg, size_t msg_len,
                                    const uint8_t sig[CRYPTO_P384_SIG_SIZE]);

/**
 * crypto_x509_p384_point() - the subject public key of the DER certificate
 * @der (exactly @len bytes) as an uncompressed point. Does not verify the
 * certificate. Return: 0, or -1 when not a certificate or not P-384.
 */
int crypto_x509_p384_point(const uint8_t *der, size_t len,
                           uint8_t pub[CRYPTO_P384_PUB_SIZE]);

/**
 * crypto_der_next() - the length of the DER SEQUENCE (tag, length and
 * contents) at the start of @p, for walking concatenated certificates.
 * Return: the length (<= @len), or -1 when no well-formed SEQUENCE header
 * fits in @len.
 */
long crypto_der_next(const uint8_t *p, size_t len);

#endif
