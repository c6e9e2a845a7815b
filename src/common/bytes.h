/* SPDX-License-Identifier: MIT */
/*
 * Byte cursors and big/little-endian loads and stores.
 *
 * A cursor only advances through the checked helpers below, so a parser can
 * never read past the end of its input. None of these functions allocate.
 */
#ifndef TV_COMMON_BYTES_H
#define TV_COMMON_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/** struct bytes - a read-only view of @len bytes at @p. */
struct bytes {
    const uint8_t *p; /* first unread byte */
    size_t len;       /* bytes left */
};

static inline struct bytes bytes_of(const void *p, size_t len)
{
    struct bytes b = {(const uint8_t *)p, len};
    return b;
}

/**
 * bytes_take() - take @n bytes from the front of @b.
 * Return: true and @out pointing at them, or false (and @b unchanged) when
 * fewer than @n bytes remain.
 */
static inline bool bytes_take(struct bytes *b, size_t n, const uint8_t **out)
{
    if (n > b->len) {
        return false;
    }
    *out = b->p;
    b->p += n;
    b->len -= n;
    return true;
}

static inline bool bytes_skip(struct bytes *b, size_t n)
{
    const uint8_t *unused;
    return bytes_take(b, n, &unused);
}

static inline uint16_t load_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static inline uint64_t load_be64(const uint8_t *p)
{
    return (uint64_t)load_be32(p) << 32 | load_be32(p + 4);
}

static inline void store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void store_be64(uint8_t *p, uint64_t v)
{
    store_be32(p, (uint32_t)(v >> 32));
    store_be32(p + 4, (uint32_t)v);
}

static inline uint16_t load_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t load_le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t load_le64(const uint8_t *p)
{
    return load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
}

static inline void store_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void store_le32(uint8_t *p, uint32_t v)
{
    store_le16(p, (uint16_t)v);
    store_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void store_le64(uint8_t *p, uint64_t v)
{
    store_le32(p, (uint32_t)v);
    store_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
