/* SPDX-License-Identifier: MIT */
/* Byte cursors, endian helpers, hex, constant-time compare and wipe. */
#include <stdint.h>
#include <string.h>

#include "harness.h"

#include "common/bytes.h"
#include "common/ct.h"
#include "common/hex.h"

static void cursor_take_bounds(void **state)
{
    const uint8_t buf[5] = {1, 2, 3, 4, 5};
    struct bytes b = bytes_of(buf, sizeof(buf));
    const uint8_t *p;

    assert_true(bytes_take(&b, 2, &p));
    assert_ptr_equal(p, buf);
    assert_int_equal(b.len, 3);
    /* too many: refused, cursor unchanged */
    assert_false(bytes_take(&b, 4, &p));
    assert_int_equal(b.len, 3);
    assert_ptr_equal(b.p, buf + 2);
    assert_true(bytes_skip(&b, 3));
    assert_int_equal(b.len, 0);
    assert_false(bytes_skip(&b, 1));
    /* SIZE_MAX must not wrap the check */
    b = bytes_of(buf, sizeof(buf));
    assert_false(bytes_take(&b, SIZE_MAX, &p));
}

static void endian_round_trip(void **state)
{
    uint8_t be[8], le[8];
    const uint8_t want_be[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

    store_be64(be, 0x0123456789abcdefull);
    assert_bytes_equal(be, want_be, 8);
    assert_true(load_be64(be) == 0x0123456789abcdefull);
    assert_int_equal(load_be32(be), 0x01234567u);
    assert_int_equal(load_be16(be + 6), 0xcdef);
    store_le64(le, 0x0123456789abcdefull);
    assert_int_equal(le[0], 0xef);
    assert_int_equal(le[7], 0x01);
    assert_true(load_le64(le) == 0x0123456789abcdefull);
    store_be16(be, 0xbeef);
    assert_int_equal(load_be16(be), 0xbeef);
    store_le16(le, 0xbeef);
    assert_int_equal(load_le16(le), 0xbeef);
    store_be32(be, 0xdeadbeef);
    assert_int_equal(load_be32(be), 0xdeadbeefu);
    store_le32(le, 0xdeadbeef);
    assert_int_equal(load_le32(le), 0xdeadbeefu);
}

static void hex_codec(void **state)
{
    uint8_t out[4];
    char txt[9];

    assert_int_equal(hex_decode("0aFf10", out, sizeof(out)), 3);
    assert_int_equal(out[0], 0x0a);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(out[2], 0x10);
    assert_int_equal(hex_decode("0x0102", out, sizeof(out)), 2);
    assert_int_equal(hex_decode("", out, sizeof(out)), 0);
    assert_int_equal(hex_decode("abc", out, sizeof(out)), -1);
    assert_int_equal(hex_decode("zz", out, sizeof(out)), -1);
    assert_int_equal(hex_decode("0102030405", out, sizeof(out)), -1);
    hex_encode((const uint8_t *)"\x01\xab\xff\x00", 4, txt);
    assert_string_equal(txt, "01abff00");
}

static void ct_compare_and_wipe(void **state)
{
    uint8_t a[32], b[32];
    size_t i;

    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_true(ct_eq(a, b, sizeof(a)));
    for (i = 0; i < sizeof(a); i++) {
        b[i] ^= 0x01;
        assert_false(ct_eq(a, b, sizeof(a)));
        b[i] ^= 0x01;
    }
    assert_true(ct_eq(a, b, 0));
    wipe(a, sizeof(a));
    for (i = 0; i < sizeof(a); i++) {
        assert_int_equal(a[i], 0);
    }
    wipe(NULL, 10); /* tolerated */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cursor_take_bounds),
    cmocka_unit_test(endian_round_trip),
    cmocka_unit_test(hex_codec),
    cmocka_unit_test(ct_compare_and_wipe),
};

HARNESS_MAIN("common", tests)
