/* SPDX-License-Identifier: MIT */
/*
 * AES-256-GCM with AES-NI and PCLMULQDQ; see aes_ni.h.
 *
 * The key expansion is the one of Intel's white paper "Intel Advanced
 * Encryption Standard (AES) New Instructions Set" (Gueron, rev. 3.01,
 * figure 26): FIPS 197's schedule with AESKEYGENASSIST. The GHASH
 * multiplication is the one of "Intel Carry-Less Multiplication
 * Instruction and its Usage for Computing the GCM Mode" (Gueron and
 * Kounavis, rev. 2.02, figure 5, algorithms 2 and 5): a 256-bit carry-less
 * product of the byte-reversed operands, shifted left by one bit (GCM's
 * bit order is reflected), reduced modulo x^128 + x^7 + x^2 + x + 1.
 */
#include "crypto/aes_ni.h"

#ifdef AES_NI_BUILD

#include <immintrin.h>
#include <string.h>

#define NI_FN __attribute__((target("aes,pclmul,ssse3,sse2")))

/* see aes_ni.h */
bool aes_ni_available(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul") &&
           __builtin_cpu_supports("ssse3");
}

static NI_FN inline __m128i load16(const uint8_t *p)
{
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static NI_FN inline void store16(uint8_t *p, __m128i x)
{
    _mm_storeu_si128((__m128i *)(void *)p, x);
}

/* ---- AES-256 ---- */

/* w0, w0^w1, w0^w1^w2, w0^w1^w2^w3: each word XOR the words before it */
static NI_FN inline __m128i prefix_xor(__m128i w)
{
    __m128i t = _mm_slli_si128(w, 4);

    w = _mm_xor_si128(w, t);
    t = _mm_slli_si128(t, 4);
    w = _mm_xor_si128(w, t);
    t = _mm_slli_si128(t, 4);
    return _mm_xor_si128(w, t);
}

/* an even round key: the previous even one, prefix-XORed, XOR the
 * broadcast SubWord(RotWord(w)) ^ Rcon word of @assist */
static NI_FN inline __m128i expand_even(__m128i prev, __m128i assist)
{
    return _mm_xor_si128(prefix_xor(prev), _mm_shuffle_epi32(assist, 0xff));
}

/* an odd round key: SubWord (no rotation, no Rcon) of the even one just
 * made, XOR the previous odd one, prefix-XORed */
static NI_FN inline __m128i expand_odd(__m128i even, __m128i prev)
{
    __m128i s = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(even, 0), 0xaa);

    return _mm_xor_si128(prefix_xor(prev), s);
}

/* AESKEYGENASSIST takes Rcon as an immediate: one step per constant */
#define EXPAND_PAIR(rk, i, a, b, rcon)                                         \
    do {                                                                       \
        (a) = expand_even((a), _mm_aeskeygenassist_si128((b), (rcon)));        \
        (rk)[(i)] = (a);                                                       \
        (b) = expand_odd((a), (b));                                            \
        (rk)[(i) + 1] = (b);                                                   \
    } while (0)

static NI_FN void expand256(__m128i *rk, const uint8_t key[32])
{
    __m128i a = load16(key), b = load16(key + 16);

    rk[0] = a;
    rk[1] = b;
    EXPAND_PAIR(rk, 2, a, b, 0x01);
    EXPAND_PAIR(rk, 4, a, b, 0x02);
    EXPAND_PAIR(rk, 6, a, b, 0x04);
    EXPAND_PAIR(rk, 8, a, b, 0x08);
    EXPAND_PAIR(rk, 10, a, b, 0x10);
    EXPAND_PAIR(rk, 12, a, b, 0x20);
    /* the last round key is an even one alone */
    rk[14] = expand_even(a, _mm_aeskeygenassist_si128(b, 0x40));
}

static NI_FN inline __m128i encrypt1(const __m128i *rk, __m128i x)
{
    x = _mm_xor_si128(x, rk[0]);
#pragma GCC unroll 13
    for (int r = 1; r < AES_NI_ROUNDS_256; r++) {
        x = _mm_aesenc_si128(x, rk[r]);
    }
    return _mm_aesenclast_si128(x, rk[AES_NI_ROUNDS_256]);
}

/* two blocks side by side: the second costs almost nothing */
static NI_FN inline void encrypt2(const __m128i *rk, __m128i *a, __m128i *b)
{
    __m128i x = _mm_xor_si128(*a, rk[0]), y = _mm_xor_si128(*b, rk[0]);

#pragma GCC unroll 13
    for (int r = 1; r < AES_NI_ROUNDS_256; r++) {
        x = _mm_aesenc_si128(x, rk[r]);
        y = _mm_aesenc_si128(y, rk[r]);
    }
    *a = _mm_aesenclast_si128(x, rk[AES_NI_ROUNDS_256]);
    *b = _mm_aesenclast_si128(y, rk[AES_NI_ROUNDS_256]);
}

/*
 * Blocks are put together in registers, not in a stack buffer that a
 * 16-byte load reads back after narrower stores: such a load cannot take
 * its bytes from the store buffer and waits for the stores to retire, some
 * dozen cycles each time, which for a record of a few bytes is more than
 * its AES rounds.
 */

/* counter block @iv || @ctr (big-endian) */
static NI_FN inline __m128i counter_block(const uint8_t iv[12], uint32_t ctr)
{
    uint64_t lo;
    uint32_t mid;

    memcpy(&lo, iv, 8);
    memcpy(&mid, iv + 8, 4);
    return _mm_set_epi64x(
        (long long)((uint64_t)__builtin_bswap32(ctr) << 32 | mid),
        (long long)lo);
}

/*
 * Up to 7 bytes as one little-endian word: a 4-, a 2- and a 1-byte access
 * as @n needs them. Loads and stores of a partial block split it the same
 * way, so a load of bytes just stored (GHASH over the ciphertext) is
 * served from the store buffer.
 */
static inline uint64_t load_tail(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    uint32_t w;
    uint16_t h;
    size_t off = 0;

    if (n & 4) {
        memcpy(&w, p, 4);
        v = w;
        off = 4;
    }
    if (n & 2) {
        memcpy(&h, p + off, 2);
        v |= (uint64_t)h << (8 * off);
        off += 2;
    }
    if (n & 1) {
        v |= (uint64_t)p[off] << (8 * off);
    }
    return v;
}

static inline void store_tail(uint8_t *p, uint64_t v, size_t n)
{
    uint32_t w = (uint32_t)v;
    uint16_t h;
    size_t off = 0;

    if (n & 4) {
        memcpy(p, &w, 4);
        off = 4;
    }
    if (n & 2) {
        h = (uint16_t)(v >> (8 * off));
        memcpy(p + off, &h, 2);
        off += 2;
    }
    if (n & 1) {
        p[off] = (uint8_t)(v >> (8 * off));
    }
}

/* @n < 16 bytes at @p, zero-padded */
static NI_FN inline __m128i load_partial(const uint8_t *p, size_t n)
{
    uint64_t lo, hi = 0;

    if (n >= 8) {
        memcpy(&lo, p, 8);
        hi = load_tail(p + 8, n - 8);
    } else {
        lo = load_tail(p, n);
    }
    return _mm_set_epi64x((long long)hi, (long long)lo);
}

/* the first @n < 16 bytes of @x to @p */
static NI_FN inline void store_partial(uint8_t *p, __m128i x, size_t n)
{
    uint64_t lo = (uint64_t)_mm_cvtsi128_si64(x);
    uint64_t hi = (uint64_t)_mm_cvtsi128_si64(_mm_srli_si128(x, 8));

    if (n >= 8) {
        memcpy(p, &lo, 8);
        store_tail(p + 8, hi, n - 8);
    } else {
        store_tail(p, lo, n);
    }
}

/*
 * CTR: @len bytes of @in XOR the key stream from counter block @iv ||
 * @ctr (32 bits, big-endian, incremented per block) into @out (may be the
 * same buffer).
 */
static NI_FN void ctr_xor(const __m128i *rk, const uint8_t iv[12], uint32_t ctr,
                          const uint8_t *in, uint8_t *out, size_t len)
{
    /* four blocks at a time: one block waits on AESENC's latency */
    while (len >= 64) {
        __m128i x[4];

        for (int j = 0; j < 4; j++) {
            x[j] = _mm_xor_si128(counter_block(iv, ctr + (uint32_t)j), rk[0]);
        }
        for (int r = 1; r < AES_NI_ROUNDS_256; r++) {
            for (int j = 0; j < 4; j++) {
                x[j] = _mm_aesenc_si128(x[j], rk[r]);
            }
        }
        for (int j = 0; j < 4; j++) {
            x[j] = _mm_aesenclast_si128(x[j], rk[AES_NI_ROUNDS_256]);
            store16(out + 16 * j, _mm_xor_si128(x[j], load16(in + 16 * j)));
        }
        ctr += 4;
        in += 64;
        out += 64;
        len -= 64;
    }
    for (; len >= 16; in += 16, out += 16, len -= 16) {
        store16(out, _mm_xor_si128(encrypt1(rk, counter_block(iv, ctr++)),
                                   load16(in)));
    }
    if (len > 0) {
        store_partial(out,
                      _mm_xor_si128(encrypt1(rk, counter_block(iv, ctr)),
                                    load_partial(in, len)),
                      len);
    }
}

/* ---- GHASH ---- */

static NI_FN inline __m128i bswap128(__m128i x)
{
    return _mm_shuffle_epi8(
        x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* a * b in GF(2^128), both and the result byte-reversed */
static NI_FN __m128i gfmul(__m128i a, __m128i b)
{
    __m128i lo = _mm_clmulepi64_si128(a, b, 0x00);
    __m128i mid = _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x10),
                                _mm_clmulepi64_si128(a, b, 0x01));
    __m128i hi = _mm_clmulepi64_si128(a, b, 0x11);
    __m128i c7, c8, c9, t2, t4, t5;

    /* the 256-bit product hi:lo */
    lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
    hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
    /* shifted left one bit across both halves */
    c7 = _mm_srli_epi32(lo, 31);
    c8 = _mm_srli_epi32(hi, 31);
    lo = _mm_slli_epi32(lo, 1);
    hi = _mm_slli_epi32(hi, 1);
    c9 = _mm_srli_si128(c7, 12);
    c8 = _mm_slli_si128(c8, 4);
    c7 = _mm_slli_si128(c7, 4);
    lo = _mm_or_si128(lo, c7);
    hi = _mm_or_si128(hi, c8);
    hi = _mm_or_si128(hi, c9);
    /* reduction, first phase */
    c7 = _mm_xor_si128(
        _mm_xor_si128(_mm_slli_epi32(lo, 31), _mm_slli_epi32(lo, 30)),
        _mm_slli_epi32(lo, 25));
    c8 = _mm_srli_si128(c7, 4);
    c7 = _mm_slli_si128(c7, 12);
    lo = _mm_xor_si128(lo, c7);
    /* second phase */
    t2 = _mm_srli_epi32(lo, 1);
    t4 = _mm_srli_epi32(lo, 2);
    t5 = _mm_srli_epi32(lo, 7);
    t2 = _mm_xor_si128(_mm_xor_si128(t2, t4), _mm_xor_si128(t5, c8));
    lo = _mm_xor_si128(lo, t2);
    return _mm_xor_si128(hi, lo);
}

/* y = GHASH_H(y, @len bytes of @p, zero-padded to whole blocks) */
static NI_FN __m128i ghash(__m128i h, __m128i y, const uint8_t *p, size_t len)
{
    for (; len >= 16; p += 16, len -= 16) {
        y = gfmul(_mm_xor_si128(y, bswap128(load16(p))), h);
    }
    if (len > 0) {
        y = gfmul(_mm_xor_si128(y, bswap128(load_partial(p, len))), h);
    }
    return y;
}

/* ---- GCM ---- */

/* see aes_ni.h */
NI_FN void aes_ni_gcm_init(struct aes_ni_gcm *g, const uint8_t key[32])
{
    __m128i *rk = (__m128i *)(void *)g->rk;

    expand256(rk, key);
    _mm_store_si128((__m128i *)(void *)g->h,
                    bswap128(encrypt1(rk, _mm_setzero_si128())));
}

/* The tag: @ej0 (E(J0)) ^ GHASH over @aad, the ciphertext @c, the lengths */
static NI_FN __m128i gcm_tag(const struct aes_ni_gcm *g, __m128i ej0,
                             const uint8_t *aad, size_t aad_len,
                             const uint8_t *c, size_t len)
{
    __m128i h = _mm_load_si128((const __m128i *)(const void *)g->h);
    __m128i y = _mm_setzero_si128();

    y = ghash(h, y, aad, aad_len);
    y = ghash(h, y, c, len);
    /* the lengths block, bit counts big-endian: byte-reversed, the AAD's
     * count is the upper lane */
    y = gfmul(_mm_xor_si128(y, _mm_set_epi64x((long long)(aad_len * 8),
                                              (long long)(len * 8))),
              h);
    return _mm_xor_si128(ej0, bswap128(y));
}

/*
 * E(J0) for the tag into *@ej0 and, with it, the first block of the text
 * (counter 2) from @in to @out (@len bytes, may be the same buffer); the
 * rest of the text (counter 3 on). A record of up to 16 bytes, most of
 * those of a session, is then two AES encryptions side by side.
 */
static NI_FN void gcm_crypt(const __m128i *rk, const uint8_t iv[12],
                            const uint8_t *in, uint8_t *out, size_t len,
                            __m128i *ej0)
{
    __m128i ks = counter_block(iv, 2);
    size_t n = len < 16 ? len : 16;

    *ej0 = counter_block(iv, 1);
    encrypt2(rk, ej0, &ks);
    if (n == 16) {
        store16(out, _mm_xor_si128(ks, load16(in)));
    } else if (n > 0) {
        store_partial(out, _mm_xor_si128(ks, load_partial(in, n)), n);
    }
    if (len > 16) {
        ctr_xor(rk, iv, 3, in + 16, out + 16, len - 16);
    }
}

/* Within what one message may hold (see aes_ni.h). */
static bool gcm_lengths_ok(size_t aad_len, size_t len)
{
    return (uint64_t)len <= AES_NI_GCM_MAX_LEN &&
           (uint64_t)aad_len <= AES_NI_GCM_MAX_AAD_LEN;
}

/* see aes_ni.h */
NI_FN int aes_ni_gcm_seal(const struct aes_ni_gcm *g, const uint8_t iv[12],
                          const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                          size_t len, uint8_t *ct, uint8_t tag[16])
{
    const __m128i *rk = (const __m128i *)(const void *)g->rk;
    __m128i ej0;

    if (!gcm_lengths_ok(aad_len, len)) {
        return -1;
    }
    gcm_crypt(rk, iv, pt, ct, len, &ej0);
    store16(tag, gcm_tag(g, ej0, aad, aad_len, ct, len));
    return 0;
}

/* see aes_ni.h */
NI_FN int aes_ni_gcm_open(const struct aes_ni_gcm *g, const uint8_t iv[12],
                          const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                          size_t len, const uint8_t tag[16], uint8_t *pt)
{
    const __m128i *rk = (const __m128i *)(const void *)g->rk;
    __m128i ej0, want;

    if (!gcm_lengths_ok(aad_len, len)) {
        return -1;
    }
    ej0 = encrypt1(rk, counter_block(iv, 1));
    want = gcm_tag(g, ej0, aad, aad_len, ct, len);
    /* all 16 bytes compared at once, one branch on the result; nothing is
     * decrypted under a wrong tag */
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(want, load16(tag))) != 0xffff) {
        return -1;
    }
    gcm_crypt(rk, iv, ct, pt, len, &ej0);
    return 0;
}

#endif
