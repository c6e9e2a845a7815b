/* SPDX-License-Identifier: MIT */
/*
 * see x509_int.h: PEM armour (RFC 7468) put on and taken off by hand, so
 * that writing and reading the PKI's own files needs none of OpenSSL 3.0's
 * encoder and decoder machinery.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/ct.h"
#include "crypto/x509_int.h"

/* The value of one base64 character, or -1 (RFC 4648 §4 alphabet). */
static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* First occurrence of @needle in @hay[0..@len), or NULL. */
static const uint8_t *find(const uint8_t *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(hay + i, needle, n) == 0 && (i == 0 || hay[i - 1] == '\n')) {
            return hay + i;
        }
    }
    return NULL;
}

/* see x509_int.h */
long crypto_pem_decode(const uint8_t *in, size_t len, const char *label,
                       uint8_t *out, size_t cap)
{
    char begin[64], end[64];
    const uint8_t *p, *stop;
    uint32_t acc = 0;
    size_t n = 0, bits = 0, pad = 0;

    if (strlen(label) > sizeof(begin) - 17) {
        return -1;
    }
    memcpy(begin, "-----BEGIN ", 11);
    memcpy(begin + 11, label, strlen(label));
    memcpy(begin + 11 + strlen(label), "-----", 6);
    memcpy(end, "-----END ", 9);
    memcpy(end + 9, label, strlen(label));
    memcpy(end + 9 + strlen(label), "-----", 6);
    p = find(in, len, begin);
    if (p == NULL) {
        return -1;
    }
    p += strlen(begin);
    /* the BEGIN line ends there (RFC 7468 §3: white space, a line break) */
    while (p < in + len && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p < in + len && *p == '\r') {
        p++;
    }
    if (p == in + len || *p != '\n') {
        return -1;
    }
    stop = find(p, len - (size_t)(p - in), end);
    if (stop == NULL) {
        return -1;
    }
    /* base64 lines; no headers (an encrypted key has them), '=' at the end */
    for (; p < stop; p++) {
        int v;

        if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t') {
            continue;
        }
        if (*p == '=') {
            pad++;
            continue;
        }
        v = b64_value(*p);
        if (v < 0 || pad > 0) {
            goto err;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap) {
                goto err;
            }
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* whole groups of four characters, padding included; no stray bits */
    if (bits == 6 || (bits == 0 && pad != 0) || (bits == 2 && pad != 1) ||
        (bits == 4 && pad != 2) || (acc & ((1u << bits) - 1)) != 0 || n == 0) {
        goto err;
    }
    acc = 0;
    return (long)n;

err:
    acc = 0;
    wipe(out, n);
    return -1;
}

/* see x509_int.h */
long crypto_pem_encode(const uint8_t *der, size_t len, const char *label,
                       char *out, size_t cap)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0, col = 0, label_len = strlen(label);

    /* both armour lines, 4 characters per 3 bytes, a newline per 64 (a
     * @len that would wrap the sum is no DER this could be given) */
    if (len == 0 || len > SIZE_MAX / 2 || label_len > 64 ||
        cap < 2 * (label_len + 17) + (len + 2) / 3 * 4 + (len + 47) / 48 + 1) {
        return -1;
    }
    n += (size_t)snprintf(out + n, cap - n, "-----BEGIN %s-----\n", label);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;

        if (i + 1 < len) {
            v |= (uint32_t)der[i + 1] << 8;
        }
        if (i + 2 < len) {
            v |= der[i + 2];
        }
        out[n++] = tab[v >> 18];
        out[n++] = tab[(v >> 12) & 63];
        out[n++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[n++] = i + 2 < len ? tab[v & 63] : '=';
        v = 0;
        col += 4;
        if (col == 64 || i + 3 >= len) {
            out[n++] = '\n';
            col = 0;
        }
    }
    n += (size_t)snprintf(out + n, cap - n, "-----END %s-----\n", label);
    return (long)n;
}
