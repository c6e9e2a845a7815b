/* SPDX-License-Identifier: MIT */
/*
 * Guest-side stand-in for the HMAC and random parts of src/crypto/crypto.h
 * (see guest_crypto.c), plus the SHA-256 it is built on.
 */
#ifndef TV_E2E_GUEST_CRYPTO_H
#define TV_E2E_GUEST_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/**
 * struct guest_sha256 - a SHA-256 computation.
 * @h:         chaining state
 * @buf:       partial block
 * @buf_len:   bytes in @buf
 * @total_len: bytes hashed so far
 */
struct guest_sha256 {
    uint32_t h[8];
    uint8_t buf[64];
    size_t buf_len;
    uint64_t total_len;
};

/** guest_sha256_init() - start a hash. Never fails, never allocates. */
void guest_sha256_init(struct guest_sha256 *s);

/** guest_sha256_update() - hash @len more bytes of @data. */
void guest_sha256_update(struct guest_sha256 *s, const void *data, size_t len);

/** guest_sha256_final() - write the 32-byte digest; wipes @s. */
void guest_sha256_final(struct guest_sha256 *s, uint8_t out[32]);

#endif
