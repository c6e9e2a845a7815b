/* SPDX-License-Identifier: MIT */
/*
 * DOE data objects and the SPDM socket framing; see doe.h.
 */
#include "doe/doe.h"

#include <string.h>

#include "common/bytes.h"

/* see doe.h */
int doe_parse(const uint8_t *in, size_t len, struct doe_object *obj)
{
    size_t n_dw;

    memset(obj, 0, sizeof(*obj));
    if (len < DOE_HEADER_SIZE || len % 4 != 0) {
        return DOE_ERR_SHORT;
    }
    if (len > DOE_MAX_OBJECT_SIZE) {
        return DOE_ERR_SIZE;
    }
    n_dw = load_le32(in + 4) & DOE_LENGTH_MASK;
    if (n_dw == 0) {
        n_dw = DOE_LENGTH_MASK + 1; /* 2^18 dwords: never within our cap */
    }
    if (n_dw * 4 != len) {
        return DOE_ERR_LENGTH;
    }
    obj->vendor = load_le16(in);
    obj->type = in[2];
    obj->payload = in + DOE_HEADER_SIZE;
    obj->payload_len = len - DOE_HEADER_SIZE;
    return DOE_OK;
}

/* see doe.h */
size_t doe_build(uint16_t vendor, uint8_t type, const uint8_t *payload,
                 size_t payload_len, uint8_t *out, size_t cap)
{
    size_t padded = (payload_len + 3) & ~(size_t)3;
    size_t total;

    if (payload_len > DOE_MAX_PAYLOAD_SIZE) {
        return 0;
    }
    total = DOE_HEADER_SIZE + padded;
    if (total > cap) {
        return 0;
    }
    if (payload_len > 0 && payload != out + DOE_HEADER_SIZE) {
        memmove(out + DOE_HEADER_SIZE, payload, payload_len);
    }
    memset(out + DOE_HEADER_SIZE + payload_len, 0, padded - payload_len);
    store_le16(out, vendor);
    out[2] = type;
    out[3] = 0;
    store_le32(out + 4, (uint32_t)(total / 4));
    return total;
}

/* see doe.h */
size_t doe_discovery(const uint8_t *payload, size_t payload_len, uint8_t *out,
                     size_t cap)
{
    static const uint8_t types[] = {DOE_TYPE_DISCOVERY, DOE_TYPE_SPDM,
                                    DOE_TYPE_SECURED};
    uint8_t rsp[4];
    uint8_t index;
    size_t i;

    if (payload_len != 4 || cap < DOE_HEADER_SIZE + 4) {
        return 0;
    }
    for (i = 1; i < payload_len; i++) {
        if (payload[i] != 0) {
            return 0;
        }
    }
    index = payload[0];
    if (index >= sizeof(types)) {
        store_le16(rsp, DOE_VENDOR_PCISIG);
        rsp[2] = DOE_TYPE_DISCOVERY;
        rsp[3] = 0;
    } else {
        store_le16(rsp, DOE_VENDOR_PCISIG);
        rsp[2] = types[index];
        rsp[3] = index + 1u < sizeof(types) ? (uint8_t)(index + 1) : 0;
    }
    return doe_build(DOE_VENDOR_PCISIG, DOE_TYPE_DISCOVERY, rsp, sizeof(rsp),
                     out, cap);
}

/* see doe.h */
void sock_parse_header(const uint8_t in[SOCK_HEADER_SIZE],
                       struct sock_header *h)
{
    h->command = load_be32(in);
    h->transport = load_be32(in + 4);
    h->payload_len = load_be32(in + 8);
}

/* see doe.h */
void sock_build_header(uint32_t command, uint32_t transport,
                       uint32_t payload_len, uint8_t out[SOCK_HEADER_SIZE])
{
    store_be32(out, command);
    store_be32(out + 4, transport);
    store_be32(out + 8, payload_len);
}

/* see doe.h */
const char *sock_command_name(uint32_t command)
{
    switch (command) {
    case SOCK_CMD_NORMAL:
        return "NORMAL";
    case SOCK_CMD_SHUTDOWN:
        return "SHUTDOWN";
    case SOCK_CMD_TEST:
        return "TEST";
    case SOCK_CMD_UNKNOWN:
        return "UNKNOWN";
    default:
        return "?";
    }
}
