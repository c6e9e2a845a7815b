/* SPDX-License-Identifier: MIT */
/*
 * PCIe DOE data objects (PCIe 6.x §6.30) and the SPDM socket framing DMTF's
 * emulator and QEMU's spdm-socket backend share; sans I/O.
 *
 * DOE data object (all fields little-endian):
 *   +0 vendor id u16 (0x0001 PCI-SIG)  +2 type u8  +3 reserved u8
 *   +4 length u32: bits 17:0 = object length in dwords, header included
 *      (0 means 2^18); bits 31:18 reserved
 *   +8 payload, padded with zeros to a whole dword
 * Types: 0 DOE discovery, 1 CMA/SPDM, 2 Secured CMA/SPDM. A DOE object
 * carries no byte length, so an SPDM payload may end in up to 3 bytes of
 * padding: SPDM parsers tolerate them (DSP0274 lets a message carry
 * trailing bytes it does not define), secured records carry their own
 * length.
 *
 * Discovery: the request payload is one dword {index u8, reserved[3]}; the
 * response one dword {vendor id u16, type u8, next index u8}. This
 * responder lists 0 discovery, 1 CMA/SPDM, 2 Secured CMA/SPDM; the last
 * entry's next index is 0. An index past the list is answered with entry 0
 * and next index 0, so a walk always ends.
 *
 * Socket framing (big-endian u32 each): command, transport type, payload
 * size, then the payload (a whole DOE object for transport PCI_DOE).
 * Commands: NORMAL 0x0001, SHUTDOWN 0xFFFE, TEST 0xDEAD (answered with TEST
 * and "Server Hello!\0"); the rest are refused by the daemon.
 */
#ifndef TV_DOE_DOE_H
#define TV_DOE_DOE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/caps.h"

#define DOE_VENDOR_PCISIG   0x0001
#define DOE_TYPE_DISCOVERY  0
#define DOE_TYPE_SPDM       1
#define DOE_TYPE_SECURED    2
#define DOE_HEADER_SIZE     8
#define DOE_LENGTH_MASK     0x3ffffu
#define DOE_MAX_OBJECT_SIZE (DOE_HEADER_SIZE + DOE_MAX_PAYLOAD_SIZE)

#define SOCK_CMD_NORMAL    0x0001
#define SOCK_CMD_SHUTDOWN  0xFFFE
#define SOCK_CMD_UNKNOWN   0xFFFF
#define SOCK_CMD_TEST      0xDEAD
#define SOCK_TRANS_NONE    0x00
#define SOCK_TRANS_MCTP    0x01
#define SOCK_TRANS_PCI_DOE 0x02
#define SOCK_HEADER_SIZE   12
#define SOCK_TEST_REPLY    "Server Hello!" /* sent with its NUL, 14 bytes */

/** struct doe_object - a parsed DOE data object; @payload points into it. */
struct doe_object {
    uint16_t vendor;
    uint8_t type;
    const uint8_t *payload;
    size_t payload_len; /* bytes, a multiple of 4, padding included */
};

#define DOE_OK         0
#define DOE_ERR_SHORT  (-1) /* under one header, or not whole dwords */
#define DOE_ERR_LENGTH (-2) /* the length field disagrees with the bytes */
#define DOE_ERR_SIZE   (-3) /* over DOE_MAX_OBJECT_SIZE / the caller's cap */

/**
 * doe_parse() - check and decode one DOE object of exactly @len bytes.
 * Reserved bits are ignored, as PCIe asks of a receiver.
 * Return: DOE_OK or a DOE_ERR_* code.
 */
int doe_parse(const uint8_t *in, size_t len, struct doe_object *obj);

/**
 * doe_build() - write a DOE object: header, @payload, zero padding.
 * Return: the object's size, or 0 when it would exceed @cap or
 * DOE_MAX_OBJECT_SIZE. @payload may be NULL when @payload_len is 0, and
 * may already sit at @out + DOE_HEADER_SIZE (it is then moved in place).
 */
size_t doe_build(uint16_t vendor, uint8_t type, const uint8_t *payload,
                 size_t payload_len, uint8_t *out, size_t cap);

/**
 * doe_discovery() - answer a discovery object's payload.
 * Return: the response object's size, or 0 when @payload is not one dword
 * (padding beyond the first dword must be zero) or @cap is below 12.
 */
size_t doe_discovery(const uint8_t *payload, size_t payload_len, uint8_t *out,
                     size_t cap);

/** struct sock_header - the socket framing's header. */
struct sock_header {
    uint32_t command;
    uint32_t transport;
    uint32_t payload_len;
};

/** sock_parse_header() - decode the first SOCK_HEADER_SIZE bytes. */
void sock_parse_header(const uint8_t in[SOCK_HEADER_SIZE],
                       struct sock_header *h);

/** sock_build_header() - encode a header into @out. */
void sock_build_header(uint32_t command, uint32_t transport,
                       uint32_t payload_len, uint8_t out[SOCK_HEADER_SIZE]);

/** sock_command_name() - "NORMAL", "SHUTDOWN", "TEST", or "?" */
const char *sock_command_name(uint32_t command);

#endif
