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

/*
 * crypto_p384_key_from_pkcs8() - the P-384 key pair in the unencrypted
 * PKCS#8 PrivateKeyInfo @der (exactly @len bytes) of the form OpenSSL
 * writes: id-ecPublicKey with secp384r1, an RFC 5915 ECPrivateKey of
 * version 1 with a 48-byte private key, the curve again or nothing, and
 * the uncompressed public point; no attributes. Through the key management
 * alone: no decoder. Return: the key (EVP_PKEY_free() it), or NULL for any
 * other form (which OpenSSL's decoders may still read).
 */
EVP_PKEY *crypto_p384_key_from_pkcs8(const uint8_t *der, size_t len);

#define CRYPTO_SHA1_SIZE 20

/*
 * crypto_sha1() - SHA-1 of @len bytes, for key identifiers only (RFC 5280
 * §4.2.1.2 method 1), never for a signature. Return: 0 or -1.
 */
int crypto_sha1(const void *p, size_t len, uint8_t out[CRYPTO_SHA1_SIZE]);

/*
 * crypto_pem_decode() - the content of the first "-----BEGIN @label-----"
 * block of @in[0..@len) (at the start of a line; text before it is
 * skipped), base64 decoded into @out of @cap bytes. Only base64 and white
 * space may stand before the END line: a block with headers (such as an
 * encrypted key's) is refused. @out is wiped on failure.
 * Return: the number of bytes, or -1.
 */
long crypto_pem_decode(const uint8_t *in, size_t len, const char *label,
                       uint8_t *out, size_t cap);

/*
 * crypto_pem_encode() - @der[0..@len) as one PEM block labelled @label into
 * @out of @cap bytes, as OpenSSL writes them: BEGIN line, base64 in lines
 * of 64 characters, END line, each ending in a newline; NUL-terminated.
 * Return: the number of characters (without the NUL), or -1 when @cap is
 * too small.
 */
long crypto_pem_encode(const uint8_t *der, size_t len, const char *label,
                       char *out, size_t cap);

#endif
