/* SPDX-License-Identifier: MIT */
/*
 * DOE data objects and the SPDM socket framing: header layout, padding,
 * every length refusal, discovery over the whole list and past it.
 */
#include <stdint.h>
#include <string.h>

#include "harness.h"

#include "common/bytes.h"
#include "doe/doe.h"

static uint8_t buf[DOE_MAX_OBJECT_SIZE + 16];

static void build_and_parse(void **state)
{
    static const uint8_t spdm[] = {0x12, 0x84, 0x00, 0x00, 0xaa};
    struct doe_object o;
    size_t n;

    (void)state;
    n = doe_build(DOE_VENDOR_PCISIG, DOE_TYPE_SPDM, spdm, sizeof(spdm), buf,
                  sizeof(buf));
    assert_int_equal(n, 16);
    /* vendor 0x0001 LE, type 1, reserved, length 4 dwords */
    {
        static const uint8_t hdr[8] = {1, 0, 1, 0, 4, 0, 0, 0};
        assert_bytes_equal(buf, hdr, 8);
    }
    assert_bytes_equal(buf + 8, spdm, sizeof(spdm));
    assert_int_equal(buf[13] | buf[14] | buf[15], 0); /* zero padding */
    assert_int_equal(doe_parse(buf, n, &o), DOE_OK);
    assert_int_equal(o.vendor, DOE_VENDOR_PCISIG);
    assert_int_equal(o.type, DOE_TYPE_SPDM);
    assert_int_equal(o.payload_len, 8);
    assert_ptr_equal(o.payload, buf + 8);
    /* in place */
    memcpy(buf + 8, spdm, sizeof(spdm));
    n = doe_build(DOE_VENDOR_PCISIG, DOE_TYPE_SECURED, buf + 8, sizeof(spdm),
                  buf, sizeof(buf));
    assert_int_equal(n, 16);
    assert_bytes_equal(buf + 8, spdm, sizeof(spdm));
    assert_int_equal(buf[2], DOE_TYPE_SECURED);
    /* empty payload */
    assert_int_equal(doe_build(DOE_VENDOR_PCISIG, 0, NULL, 0, buf, 8), 8);
    assert_int_equal(load_le32(buf + 4), 2);
}

static void build_limits(void **state)
{
    (void)state;
    assert_int_equal(doe_build(1, 1, buf + 8, 5, buf, 15), 0);
    assert_int_equal(
        doe_build(1, 1, buf + 8, DOE_MAX_PAYLOAD_SIZE, buf, sizeof(buf)),
        DOE_MAX_OBJECT_SIZE);
    assert_int_equal(
        doe_build(1, 1, buf + 8, DOE_MAX_PAYLOAD_SIZE + 1, buf, sizeof(buf)),
        0);
}

static void parse_refusals(void **state)
{
    struct doe_object o;

    (void)state;
    memset(buf, 0, 64);
    store_le32(buf + 4, 4);
    assert_int_equal(doe_parse(buf, 7, &o), DOE_ERR_SHORT);
    assert_int_equal(doe_parse(buf, 15, &o), DOE_ERR_SHORT);
    assert_int_equal(doe_parse(buf, 16, &o), DOE_OK);
    assert_int_equal(doe_parse(buf, 20, &o), DOE_ERR_LENGTH);
    assert_int_equal(doe_parse(buf, 12, &o), DOE_ERR_LENGTH);
    store_le32(buf + 4, 1); /* under the header itself */
    assert_int_equal(doe_parse(buf, 8, &o), DOE_ERR_LENGTH);
    store_le32(buf + 4, 0); /* 2^18 dwords */
    assert_int_equal(doe_parse(buf, 8, &o), DOE_ERR_LENGTH);
    /* reserved bits of the length dword and the reserved byte ignored */
    store_le32(buf + 4, 0xfffc0004u);
    buf[3] = 0xff;
    assert_int_equal(doe_parse(buf, 16, &o), DOE_OK);
    store_le32(buf + 4, (DOE_MAX_OBJECT_SIZE + 4) / 4);
    assert_int_equal(doe_parse(buf, DOE_MAX_OBJECT_SIZE + 4, &o), DOE_ERR_SIZE);
}

static void discovery_walk(void **state)
{
    static const uint8_t want_type[] = {0, 1, 2};
    uint8_t req[4] = {0, 0, 0, 0};
    struct doe_object o;
    size_t n;
    unsigned idx = 0, steps = 0;

    (void)state;
    do {
        req[0] = (uint8_t)idx;
        n = doe_discovery(req, 4, buf, sizeof(buf));
        assert_int_equal(n, 12);
        assert_int_equal(doe_parse(buf, n, &o), DOE_OK);
        assert_int_equal(o.type, DOE_TYPE_DISCOVERY);
        assert_int_equal(load_le16(o.payload), DOE_VENDOR_PCISIG);
        assert_int_equal(o.payload[2], want_type[idx]);
        idx = o.payload[3];
        steps++;
    } while (idx != 0 && steps < 10);
    assert_int_equal(steps, 3);
    /* past the list: entry 0, next 0 */
    req[0] = 9;
    n = doe_discovery(req, 4, buf, sizeof(buf));
    assert_int_equal(n, 12);
    assert_int_equal(buf[8 + 2], 0);
    assert_int_equal(buf[8 + 3], 0);
    /* malformed */
    req[0] = 0;
    req[2] = 1;
    assert_int_equal(doe_discovery(req, 4, buf, sizeof(buf)), 0);
    req[2] = 0;
    assert_int_equal(doe_discovery(req, 3, buf, sizeof(buf)), 0);
    assert_int_equal(doe_discovery(req, 8, buf, sizeof(buf)), 0);
    assert_int_equal(doe_discovery(req, 4, buf, 11), 0);
}

static void socket_header(void **state)
{
    uint8_t h[SOCK_HEADER_SIZE];
    struct sock_header s;
    static const uint8_t want[SOCK_HEADER_SIZE] = {0, 0, 0xde, 0xad, 0, 0,
                                                   0, 2, 0,    0,    0, 14};

    (void)state;
    sock_build_header(SOCK_CMD_TEST, SOCK_TRANS_PCI_DOE, 14, h);
    assert_bytes_equal(h, want, sizeof(h));
    sock_parse_header(h, &s);
    assert_int_equal(s.command, SOCK_CMD_TEST);
    assert_int_equal(s.transport, SOCK_TRANS_PCI_DOE);
    assert_int_equal(s.payload_len, 14);
    assert_string_equal(sock_command_name(SOCK_CMD_SHUTDOWN), "SHUTDOWN");
    assert_string_equal(sock_command_name(SOCK_CMD_NORMAL), "NORMAL");
    assert_string_equal(sock_command_name(0x1234), "?");
    assert_int_equal(sizeof(SOCK_TEST_REPLY), 14);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(build_and_parse), cmocka_unit_test(build_limits),
    cmocka_unit_test(parse_refusals),  cmocka_unit_test(discovery_walk),
    cmocka_unit_test(socket_header),
};

HARNESS_MAIN("doe", tests)
