/* SPDX-License-Identifier: MIT */
/* Hex encoding for tools, tests and logs. No allocation. */
#ifndef TV_COMMON_HEX_H
#define TV_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

/**
 * hex_decode() - decode the hex string @s (upper or lower case, even length,
 * optional "0x" prefix) into @out of capacity @out_cap.
 * Return: number of bytes written, or -1 on a bad digit, odd length or
 * overflow of @out_cap.
 */
long hex_decode(const char *s, uint8_t *out, size_t out_cap);

/**
 * hex_encode() - write 2*@len lower-case digits and a NUL to @out, which must
 * hold 2*@len + 1 bytes.
 */
void hex_encode(const uint8_t *in, size_t len, char *out);

#endif
