/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: hostile DOE objects and socket headers.
 * Input: [u8 selector][bytes]. Selector even: the bytes are one DOE
 * object; a parsed object is rebuilt and must come out identical but for
 * reserved bits, and a discovery object is answered. Selector odd: the
 * first 12 bytes are a socket header, re-encoded and compared.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doe/doe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t copy[DOE_MAX_OBJECT_SIZE];
static uint8_t out[DOE_MAX_OBJECT_SIZE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct doe_object o;
    size_t n;

    if (size < 1) {
        return 0;
    }
    if (data[0] & 1) {
        struct sock_header h;
        uint8_t again[SOCK_HEADER_SIZE];
        if (size < 1 + SOCK_HEADER_SIZE) {
            return 0;
        }
        sock_parse_header(data + 1, &h);
        sock_build_header(h.command, h.transport, h.payload_len, again);
        if (memcmp(again, data + 1, SOCK_HEADER_SIZE) != 0) {
            abort();
        }
        (void)sock_command_name(h.command);
        return 0;
    }
    size--;
    if (size > sizeof(copy)) {
        size = sizeof(copy);
    }
    memcpy(copy, data + 1, size);
    if (doe_parse(copy, size, &o) != DOE_OK) {
        return 0;
    }
    if (o.payload_len % 4 != 0 || o.payload_len + DOE_HEADER_SIZE != size) {
        abort();
    }
    n = doe_build(o.vendor, o.type, o.payload, o.payload_len, out, sizeof(out));
    if (n != size || memcmp(out, copy, 3) != 0 ||
        memcmp(out + 8, copy + 8, size - 8) != 0) {
        abort();
    }
    if (o.type == DOE_TYPE_DISCOVERY) {
        n = doe_discovery(o.payload, o.payload_len, out, sizeof(out));
        if (n != 0 && (n != 12 || doe_parse(out, n, &o) != DOE_OK)) {
            abort();
        }
    }
    return 0;
}
