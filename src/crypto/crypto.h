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
 * crypto_sha384_2() - SHA-384 of @a || @b (either may be empty).
 * @out receives 48 bytes. Return: 0 or -1 on an OpenSSL failure.
 */
int crypto_sha384_2(const void *a, size_t a_len, const void *b, size_t b_len,
                    uint8_t out[CRYPTO_SHA384_SIZE]);

/** crypto_sha256() - SHA-256 of @len bytes. Return: 0 or -1. */
int crypto_sha256(const void *p, size_t len, uint8_t out[CRYPTO_SHA256_SIZE]);

/**
 * struct crypto_hmac - an HMAC-SHA256 computation in progress.
 * @impl: OpenSSL context, owned; freed by crypto_hmac_final() or
 *        crypto_hmac_abort(). Never copy a live context.
 */
struct crypto_hmac {
    void *impl;
};

/**
 * crypto_hmac_init() - start HMAC-SHA256 with a 32-byte key. The key is not
 * retained by this structure beyond OpenSSL's own (wiped on free) copy.
 * Return: 0 or -1.
 */
int crypto_hmac_init(struct crypto_hmac *h, const uint8_t *key, size_t key_len);
int crypto_hmac_update(struct crypto_hmac *h, const void *p, size_t len);
/** crypto_hmac_final() - write 32 bytes to @out and free the context. */
int crypto_hmac_final(struct crypto_hmac *h, uint8_t out[CRYPTO_SHA256_SIZE]);
/** crypto_hmac_abort() - free the context without output (error paths). */
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
 * crypto_key_load_pem() - read a PEM private key from @path.
 * Return: the key, or NULL (reason logged through tv_log).
 */
struct crypto_key *crypto_key_load_pem(const char *path);

/**
 * crypto_key_from_pem() - parse the PEM private key in @pem[0..@len).
 * Return: the P-384 key, or NULL (not PEM, not a private key, another
 * curve).
 */
struct crypto_key *crypto_key_from_pem(const void *pem, size_t len);

/**
 * crypto_key_save_pem() - write the private key as PKCS#8 PEM to @path,
 * created with mode 0600 (an existing file is replaced atomically).
 * Return: 0 or -1.
 */
int crypto_key_save_pem(const struct crypto_key *key, const char *path);

/**
 * crypto_key_from_spki_der() - a public key from a DER SubjectPublicKeyInfo.
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

#endif
