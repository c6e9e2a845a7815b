/* SPDX-License-Identifier: MIT */
#include "common/hex.h"

#include <string.h>

static int nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* see hex.h */
long hex_decode(const char *s, uint8_t *out, size_t out_cap)
{
    size_t len, i;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    len = strlen(s);
    if (len % 2 != 0 || len / 2 > out_cap) {
        return -1;
    }
    for (i = 0; i < len / 2; i++) {
        int hi = nibble(s[2 * i]);
        int lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

/* see hex.h */
void hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}
