/* SPDX-License-Identifier: MIT */
/*
 * SHA-384 and SHA-256 of plain buffers over OpenSSL's block functions, on
 * the caller's stack: no provider, no algorithm fetch, no digest context to
 * allocate or restart.
 *
 * A PCR extend is one of these over 48 + a few dozen bytes, so what goes
 * around the compression function shows in the NSM round trip: through
 * EVP, restarting a kept digest context and finishing it cost about as much
 * as the two SHA-512 blocks themselves. SHA384_Init/Update/Final and their
 * SHA-256 counterparts are deprecated in OpenSSL 3 in favour of EVP but
 * present throughout 3.x; they are the default provider's own
 * implementation (assembly with AVX2 or SHA-NI where the CPU has them),
 * used here without the provider around it, as hmac_sha256.c does.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/sha.h>

#include "crypto/crypto.h"
#include "crypto/x509_int.h"

_Static_assert(SHA384_DIGEST_LENGTH == CRYPTO_SHA384_SIZE, "SHA-384 size");
_Static_assert(SHA256_DIGEST_LENGTH == CRYPTO_SHA256_SIZE, "SHA-256 size");

/* see crypto.h */
int crypto_sha384_2(const void *a, size_t a_len, const void *b, size_t b_len,
                    uint8_t out[CRYPTO_SHA384_SIZE])
{
    SHA512_CTX c;

    if ((a == NULL && a_len > 0) || (b == NULL && b_len > 0)) {
        return -1;
    }
    if (SHA384_Init(&c) != 1 ||
        (a_len > 0 && SHA384_Update(&c, a, a_len) != 1) ||
        (b_len > 0 && SHA384_Update(&c, b, b_len) != 1) ||
        SHA384_Final(out, &c) != 1) {
        return -1;
    }
    return 0;
}

/* see crypto.h */
int crypto_sha256(const void *p, size_t len, uint8_t out[CRYPTO_SHA256_SIZE])
{
    SHA256_CTX c;

    if (p == NULL && len > 0) {
        return -1;
    }
    if (SHA256_Init(&c) != 1 || (len > 0 && SHA256_Update(&c, p, len) != 1) ||
        SHA256_Final(out, &c) != 1) {
        return -1;
    }
    return 0;
}

/* see x509_int.h */
int crypto_sha1(const void *p, size_t len, uint8_t out[CRYPTO_SHA1_SIZE])
{
    SHA_CTX c;

    if (p == NULL && len > 0) {
        return -1;
    }
    if (SHA1_Init(&c) != 1 || (len > 0 && SHA1_Update(&c, p, len) != 1) ||
        SHA1_Final(out, &c) != 1) {
        return -1;
    }
    return 0;
}
