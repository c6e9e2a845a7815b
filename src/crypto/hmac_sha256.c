/* SPDX-License-Identifier: MIT */
/*
 * HMAC-SHA256 (RFC 2104) over OpenSSL's SHA-256 block functions, in the
 * caller's struct crypto_hmac: no allocation, no provider, no algorithm
 * fetch.
 *
 * This is the RPMB model's only cryptography, and it lives in its own
 * object so that a program needing nothing else (vhost-user-rpmb) can link
 * these few functions of libcrypto statically instead of mapping all of
 * libcrypto.so: that library's relocated read-only data alone (about
 * 390 KiB) would otherwise be private dirty memory in every such daemon,
 * and its provider set-up another 100 KiB or so of heap.
 *
 * SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP
 * but present throughout 3.x; they are the default provider's own
 * implementation (assembly with SHA-NI/AVX2 where the CPU has them), used
 * here without the provider around it. FIPS-provider builds do not apply:
 * this code never goes through a provider.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/sha.h>

#include "common/ct.h"
#include "crypto/crypto.h"

#define BLOCK 64 /* SHA-256 block size, bytes */

/* What lives in struct crypto_hmac's @state while a computation runs. */
struct hmac_state {
    SHA256_CTX inner; /* H((K ^ ipad) || message so far) */
    SHA256_CTX outer; /* H((K ^ opad) || ...), the key block absorbed */
};

_Static_assert(sizeof(struct hmac_state) <=
                   sizeof(((struct crypto_hmac *)0)->state),
               "struct crypto_hmac's state is too small for two SHA256_CTX");

/* see crypto.h */
int crypto_hmac_init(struct crypto_hmac *h, const uint8_t *key, size_t key_len)
{
    struct hmac_state *s = (struct hmac_state *)(void *)h->state;
    uint8_t k[BLOCK] = {0};
    uint8_t pad[BLOCK];
    size_t i;
    int ok;

    h->impl = NULL;
    if (key == NULL && key_len > 0) {
        return -1;
    }
    if (key_len > BLOCK) {
        /* RFC 2104 section 2: a longer key is hashed first */
        SHA256_CTX kc;

        ok = SHA256_Init(&kc) == 1 && SHA256_Update(&kc, key, key_len) == 1 &&
             SHA256_Final(k, &kc) == 1;
        wipe(&kc, sizeof(kc));
        if (!ok) {
            wipe(k, sizeof(k));
            return -1;
        }
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    for (i = 0; i < BLOCK; i++) {
        pad[i] = k[i] ^ 0x36;
    }
    ok = SHA256_Init(&s->inner) == 1 &&
         SHA256_Update(&s->inner, pad, BLOCK) == 1;
    for (i = 0; i < BLOCK; i++) {
        pad[i] = k[i] ^ 0x5c;
    }
    ok = ok && SHA256_Init(&s->outer) == 1 &&
         SHA256_Update(&s->outer, pad, BLOCK) == 1;
    wipe(k, sizeof(k));
    wipe(pad, sizeof(pad));
    if (!ok) {
        wipe(s, sizeof(*s));
        return -1;
    }
    h->impl = s;
    return 0;
}

/* see crypto.h */
int crypto_hmac_update(struct crypto_hmac *h, const void *p, size_t len)
{
    struct hmac_state *s = h->impl;

    if (s == NULL || (p == NULL && len > 0)) {
        return -1;
    }
    return SHA256_Update(&s->inner, p, len) == 1 ? 0 : -1;
}

/* see crypto.h */
int crypto_hmac_final(struct crypto_hmac *h, uint8_t out[CRYPTO_SHA256_SIZE])
{
    struct hmac_state *s = h->impl;
    uint8_t ih[SHA256_DIGEST_LENGTH];
    int ok;

    if (s == NULL) {
        return -1;
    }
    ok = SHA256_Final(ih, &s->inner) == 1 &&
         SHA256_Update(&s->outer, ih, sizeof(ih)) == 1 &&
         SHA256_Final(out, &s->outer) == 1;
    wipe(ih, sizeof(ih));
    crypto_hmac_abort(h);
    return ok ? 0 : -1;
}

/* see crypto.h: the key-dependent states are wiped */
void crypto_hmac_abort(struct crypto_hmac *h)
{
    wipe(h->state, sizeof(h->state));
    h->impl = NULL;
}
