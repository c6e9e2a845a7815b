/* SPDX-License-Identifier: MIT */
/*
 * The part of src/crypto/crypto.h that the RPMB client (src/client/rpmbc.c)
 * needs, for the static e2e guest program: HMAC-SHA256 and a random source,
 * without OpenSSL (the guest has no libcrypto, and OpenSSL may only be
 * included from src/crypto). SHA-256 per FIPS 180-4, HMAC per RFC 2104;
 * checked against the shared RPMB vectors before use (rpmb-test --hmac on
 * the host, --vectors in the guest).
 *
 * Test code: a context is one heap block, wiped and freed by final/abort.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/ct.h"
#include "crypto/crypto.h"
#include "guest_crypto.h"

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror32(uint32_t x, unsigned int n)
{
    return x >> n | x << (32 - n);
}

static void sha256_block(struct guest_sha256 *s, const uint8_t *p)
{
    uint32_t w[64];
    uint32_t v[8];
    uint32_t t1;
    uint32_t t2;
    unsigned int i;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
        uint32_t s0 =
            ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ w[i - 15] >> 3;
        uint32_t s1 =
            ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ w[i - 2] >> 10;

        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, s->h, sizeof(v));
    for (i = 0; i < 64; i++) {
        /* v[0..7] = a..h */
        t1 = v[7] + (ror32(v[4], 6) ^ ror32(v[4], 11) ^ ror32(v[4], 25)) +
             ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha256_k[i] + w[i];
        t2 = (ror32(v[0], 2) ^ ror32(v[0], 13) ^ ror32(v[0], 22)) +
             ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof(v[0]));
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (i = 0; i < 8; i++) {
        s->h[i] += v[i];
    }
    wipe(w, sizeof(w));
    wipe(v, sizeof(v));
}

/* see guest_crypto.h */
void guest_sha256_init(struct guest_sha256 *s)
{
    static const uint32_t iv[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };

    memcpy(s->h, iv, sizeof(iv));
    s->buf_len = 0;
    s->total_len = 0;
}

/* see guest_crypto.h */
void guest_sha256_update(struct guest_sha256 *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t n;

    s->total_len += len;
    while (len > 0) {
        n = sizeof(s->buf) - s->buf_len;
        if (n > len) {
            n = len;
        }
        memcpy(s->buf + s->buf_len, p, n);
        s->buf_len += n;
        p += n;
        len -= n;
        if (s->buf_len == sizeof(s->buf)) {
            sha256_block(s, s->buf);
            s->buf_len = 0;
        }
    }
}

/* see guest_crypto.h */
void guest_sha256_final(struct guest_sha256 *s, uint8_t out[32])
{
    uint64_t bits = s->total_len * 8;
    uint8_t pad[72];
    size_t pad_len;
    unsigned int i;

    memset(pad, 0, sizeof(pad));
    pad[0] = 0x80;
    /* pad to 56 mod 64, then the 64-bit big-endian bit length */
    pad_len = (s->buf_len < 56 ? 56 : 120) - s->buf_len;
    for (i = 0; i < 8; i++) {
        pad[pad_len + i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    guest_sha256_update(s, pad, pad_len + 8);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
    wipe(s, sizeof(*s));
}

/* HMAC state behind struct crypto_hmac.impl */
struct guest_hmac {
    struct guest_sha256 inner; /* keyed with key ^ ipad */
    uint8_t okey[64];          /* key ^ opad */
};

/* see crypto.h */
int crypto_hmac_init(struct crypto_hmac *h, const uint8_t *key, size_t key_len)
{
    struct guest_hmac *m = malloc(sizeof(*m));
    uint8_t k[64];
    uint8_t ikey[64];
    unsigned int i;

    h->impl = NULL;
    if (m == NULL) {
        return -1;
    }
    memset(k, 0, sizeof(k));
    if (key_len > sizeof(k)) {
        guest_sha256_init(&m->inner);
        guest_sha256_update(&m->inner, key, key_len);
        guest_sha256_final(&m->inner, k);
    } else {
        memcpy(k, key, key_len);
    }
    for (i = 0; i < sizeof(k); i++) {
        ikey[i] = k[i] ^ 0x36;
        m->okey[i] = k[i] ^ 0x5c;
    }
    guest_sha256_init(&m->inner);
    guest_sha256_update(&m->inner, ikey, sizeof(ikey));
    wipe(k, sizeof(k));
    wipe(ikey, sizeof(ikey));
    h->impl = m;
    return 0;
}

/* see crypto.h */
int crypto_hmac_update(struct crypto_hmac *h, const void *p, size_t len)
{
    if (h->impl == NULL) {
        return -1;
    }
    guest_sha256_update(&((struct guest_hmac *)h->impl)->inner, p, len);
    return 0;
}

/* see crypto.h */
int crypto_hmac_final(struct crypto_hmac *h, uint8_t out[CRYPTO_SHA256_SIZE])
{
    struct guest_hmac *m = h->impl;
    struct guest_sha256 outer;
    uint8_t ihash[32];

    if (m == NULL) {
        return -1;
    }
    guest_sha256_final(&m->inner, ihash);
    guest_sha256_init(&outer);
    guest_sha256_update(&outer, m->okey, sizeof(m->okey));
    guest_sha256_update(&outer, ihash, sizeof(ihash));
    guest_sha256_final(&outer, out);
    wipe(ihash, sizeof(ihash));
    crypto_hmac_abort(h);
    return 0;
}

/* see crypto.h */
void crypto_hmac_abort(struct crypto_hmac *h)
{
    if (h->impl != NULL) {
        wipe(h->impl, sizeof(struct guest_hmac));
        free(h->impl);
        h->impl = NULL;
    }
}

/* see crypto.h; the guest kernel's CRNG stands in for OpenSSL's DRBG */
int crypto_random(void *out, size_t len)
{
    uint8_t *p = out;
    ssize_t n;

    while (len > 0) {
        n = getrandom(p, len, 0);
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
