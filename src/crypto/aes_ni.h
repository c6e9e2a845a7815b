/* SPDX-License-Identifier: MIT */
/*
 * AES-256-GCM (NIST SP 800-38D, 96-bit IVs, 128-bit tags) through the
 * AES-NI and PCLMULQDQ instructions, for the record layer's keyed contexts
 * (kx.c). Internal to src/crypto.
 *
 * Why not OpenSSL's: a record of an SPDM session is a few bytes, and
 * through a cipher context OpenSSL 3 spends several thousand instructions
 * per record on parameter handling around a few hundred of cipher work.
 * Its GCM mode functions (<openssl/modes.h>) alone would still be code in
 * libcrypto.so, shared with a peer process on the same CPU that runs the
 * same library: see kx.c for what that costs.
 *
 * Only on x86-64 with GCC or Clang (AES_NI_BUILD); whether the CPU has the
 * instructions is asked at run time (aes_ni_available()). Constant time:
 * AES rounds and carry-less multiplications are instructions, with no
 * table lookup and no branch on the key, the data or the tag.
 */
#ifndef TV_CRYPTO_AES_NI_H
#define TV_CRYPTO_AES_NI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AES_NI_BUILD 1
#endif

#define AES_NI_ROUNDS_256 14

/*
 * The longest text and AAD of one message (SP 800-38D §5.2.1.1: at most
 * 2^39 - 256 bits of text, 2^64 - 1 bits of AAD). The 32-bit counter runs
 * from 2 to 2^32 - 1 over the text; one block more would take the counter
 * block of the tag (J0) again.
 */
#define AES_NI_GCM_MAX_LEN     (((uint64_t)1 << 36) - 32)
#define AES_NI_GCM_MAX_AAD_LEN (((uint64_t)1 << 61) - 1)

/**
 * struct aes_ni_gcm - a keyed AES-256-GCM context: the 15 round keys (in
 * the byte order AESENC takes) and the hash key H = AES_K(0^128), byte
 * reversed for PCLMULQDQ. Plain data, no pointers: wipe it with wipe().
 */
struct aes_ni_gcm {
    _Alignas(16) uint8_t rk[(AES_NI_ROUNDS_256 + 1) * 16];
    _Alignas(16) uint8_t h[16];
};

#ifdef AES_NI_BUILD
/**
 * aes_ni_available() - the CPU has AES-NI, PCLMULQDQ and SSSE3 (kx.c asks
 * once and keeps the answer).
 */
bool aes_ni_available(void);

/**
 * aes_ni_gcm_init() - key @g with the 32-byte @key. Only when
 * aes_ni_available().
 */
void aes_ni_gcm_init(struct aes_ni_gcm *g, const uint8_t key[32]);

/**
 * aes_ni_gcm_seal() - encrypt @len bytes of @pt into @ct (may be the same
 * buffer, not otherwise overlapping), authenticating @aad (@aad_len bytes)
 * too; the tag goes to @tag.
 * Return: 0, or -1 with nothing written when @len is above
 * AES_NI_GCM_MAX_LEN or @aad_len above AES_NI_GCM_MAX_AAD_LEN.
 */
int aes_ni_gcm_seal(const struct aes_ni_gcm *g, const uint8_t iv[12],
                    const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                    size_t len, uint8_t *ct, uint8_t tag[16]);

/**
 * aes_ni_gcm_open() - check @tag over @aad and the @len bytes of @ct, and
 * only when it matches (compared in constant time) decrypt them into @pt
 * (may be the same buffer). Return: 0, or -1 with @pt untouched (also for
 * lengths above the limits of aes_ni_gcm_seal()).
 */
int aes_ni_gcm_open(const struct aes_ni_gcm *g, const uint8_t iv[12],
                    const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                    size_t len, const uint8_t tag[16], uint8_t *pt);
#endif

#endif
