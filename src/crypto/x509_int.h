/* SPDX-License-Identifier: MIT */
/*
 * What x509_parse.c and x509_issue.c share. Internal to src/crypto: it
 * names OpenSSL types, which no public header may.
 */
#ifndef TV_CRYPTO_X509_INT_H
#define TV_CRYPTO_X509_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct crypto_key;

/* A struct crypto_key is an EVP_PKEY behind an opaque name. */
static inline EVP_PKEY *pkey(const struct crypto_key *k)
{
    return (EVP_PKEY *)(uintptr_t)k;
}

/*
 * crypto_x509_d2i_exact() - OpenSSL's decoding of exactly @len bytes of
 * DER (trailing bytes refused). Return: the certificate (X509_free() it) or
 * NULL.
 */
X509 *crypto_x509_d2i_exact(const uint8_t *der, size_t len);

/*
 * crypto_p384_key_from_point() - a P-384 public key from the uncompressed
 * point @point (exactly 97 bytes, 04 || X || Y), through the provider's key
 * management: no decoder. Return: the key (EVP_PKEY_free() it) or NULL,
 * also when the point is not on the curve.
 */
EVP_PKEY *crypto_p384_key_from_point(const uint8_t *point, size_t len);

#endif
