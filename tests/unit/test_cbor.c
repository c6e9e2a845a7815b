/* SPDX-License-Identifier: MIT */
/*
 * CBOR reader and writer tests: the RFC 8949 Appendix A examples decoded
 * (and, where the writer can express them, re-encoded byte for byte),
 * truncation at every offset, malformed heads, depth caps, string
 * gathering, and the writer's minimal heads and sticky overflow.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

#include "cbor/cbor.h"
#include "common/bug.h"

/**
 * struct rfc_vec - one RFC 8949 Appendix A example.
 * @hex:      its encoding
 * @identity: the writer can express it, so decode then encode must give
 *            the same bytes (false for floats, undefined and indefinite
 *            arrays/strings, which the writer has no call for)
 */
struct rfc_vec {
    const char *hex;
    bool identity;
};

static const struct rfc_vec rfc_vecs[] = {
    {"00", true},
    {"01", true},
    {"0a", true},
    {"17", true},
    {"1818", true},
    {"1819", true},
    {"1864", true},
    {"1903e8", true},
    {"1a000f4240", true},
    {"1b000000e8d4a51000", true},
    {"1bffffffffffffffff", true},
    {"c249010000000000000000", true},
    {"3bffffffffffffffff", true},
    {"c349010000000000000000", true},
    {"20", true},
    {"29", true},
    {"3863", true},
    {"3903e7", true},
    {"f90000", false},
    {"f98000", false},
    {"f93c00", false},
    {"fb3ff199999999999a", false},
    {"f93e00", false},
    {"f97bff", false},
    {"fa47c35000", false},
    {"fa7f7fffff", false},
    {"fb7e37e43c8800759c", false},
    {"f90001", false},
    {"f90400", false},
    {"f9c400", false},
    {"fbc010666666666666", false},
    {"f97c00", false},
    {"f97e00", false},
    {"f9fc00", false},
    {"fa7f800000", false},
    {"fa7fc00000", false},
    {"faff800000", false},
    {"fb7ff0000000000000", false},
    {"fb7ff8000000000000", false},
    {"fbfff0000000000000", false},
    {"f4", true},
    {"f5", true},
    {"f6", true},
    {"f7", false},
    {"c074323031332d30332d32315432303a30343a30305a", true},
    {"c11a514b67b0", true},
    {"c1fb41d452d9ec200000", false},
    {"d74401020304", true},
    {"d818456449455446", true},
    {"d82076687474703a2f2f7777772e6578616d706c652e636f6d", true},
    {"40", true},
    {"4401020304", true},
    {"60", true},
    {"6161", true},
    {"6449455446", true},
    {"62225c", true},
    {"62c3bc", true},
    {"63e6b0b4", true},
    {"64f0908591", true},
    {"80", true},
    {"83010203", true},
    {"8301820203820405", true},
    {"98190102030405060708090a0b0c0d0e0f101112131415161718181819", true},
    {"a0", true},
    {"a201020304", true},
    {"a26161016162820203", true},
    {"826161a161626163", true},
    {"a56161614161626142616361436164614461656145", true},
    {"5f42010243030405ff", false},
    {"7f657374726561646d696e67ff", false},
    {"9fff", false},
    {"9f018202039f0405ffff", false},
    {"9f01820203820405ff", false},
    {"83018202039f0405ff", false},
    {"83019f0203ff820405", false},
    {"9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", false},
    {"bf61610161629f0203ffff", false},
    {"826161bf61626163ff", true},
    {"bf6346756ef563416d7421ff", true},
};

/* Decode exactly one whole item from @p; return 0 when it is well formed. */
static int decode_one(const uint8_t *p, size_t len, size_t *used)
{
    struct cbor_rd rd;
    struct cbor_tok t;

    cbor_rd_init(&rd, p, len);
    if (cbor_rd_next(&rd, &t) != 0 || t.type == CBOR_TOK_BREAK ||
        cbor_rd_skip(&rd, &t) != 0) {
        return -1;
    }
    *used = len - rd.len;
    return 0;
}

/*
 * Re-encode the item whose head is @t with the writer. Return -1 for
 * items the writer cannot express.
 */
static int reencode(struct cbor_rd *rd, const struct cbor_tok *t,
                    struct cbor_wr *w)
{
    struct cbor_tok in;
    uint64_t i;

    switch (t->type) {
    case CBOR_TOK_UINT:
        cbor_put_uint(w, t->u);
        return 0;
    case CBOR_TOK_NEGINT:
        cbor_put_negint(w, t->u);
        return 0;
    case CBOR_TOK_BYTES:
        cbor_put_bytes(w, t->p, t->len);
        return 0;
    case CBOR_TOK_TEXT:
        cbor_put_text(w, t->p, t->len);
        return 0;
    case CBOR_TOK_ARRAY:
    case CBOR_TOK_MAP:
        if (t->type == CBOR_TOK_ARRAY) {
            cbor_put_array(w, t->u);
        } else {
            cbor_put_map(w, t->u);
        }
        for (i = 0; i < (t->type == CBOR_TOK_MAP ? 2 : 1) * t->u; i++) {
            if (cbor_rd_next(rd, &in) != 0 || reencode(rd, &in, w) != 0) {
                return -1;
            }
        }
        return 0;
    case CBOR_TOK_MAP_INDEF:
        cbor_put_map_indef(w);
        for (;;) {
            if (cbor_rd_next(rd, &in) != 0) {
                return -1;
            }
            if (in.type == CBOR_TOK_BREAK) {
                cbor_put_break(w);
                return 0;
            }
            if (reencode(rd, &in, w) != 0) {
                return -1;
            }
        }
    case CBOR_TOK_TAG:
        cbor_put_tag(w, t->u);
        if (cbor_rd_next(rd, &in) != 0) {
            return -1;
        }
        return reencode(rd, &in, w);
    case CBOR_TOK_BOOL:
        cbor_put_bool(w, t->b);
        return 0;
    case CBOR_TOK_NULL:
        cbor_put_null(w);
        return 0;
    case CBOR_TOK_BYTES_INDEF:
    case CBOR_TOK_TEXT_INDEF:
    case CBOR_TOK_ARRAY_INDEF:
    case CBOR_TOK_UNDEFINED:
    case CBOR_TOK_FLOAT:
    case CBOR_TOK_BREAK:
    default:
        return -1;
    }
}

static void rfc8949_examples_decode(void **state)
{
    uint8_t buf[256];
    size_t i, n, used;

    for (i = 0; i < TV_ARRAY_SIZE(rfc_vecs); i++) {
        n = harness_hex(rfc_vecs[i].hex, buf, sizeof(buf));
        if (decode_one(buf, n, &used) != 0 || used != n) {
            fail_msg("RFC 8949 example %s not decoded", rfc_vecs[i].hex);
        }
    }
}

static void rfc8949_examples_identity(void **state)
{
    uint8_t in[256], out[256];
    struct cbor_rd rd;
    struct cbor_tok t;
    struct cbor_wr w;
    size_t i, n, n_checked = 0;

    for (i = 0; i < TV_ARRAY_SIZE(rfc_vecs); i++) {
        if (!rfc_vecs[i].identity) {
            continue;
        }
        n = harness_hex(rfc_vecs[i].hex, in, sizeof(in));
        cbor_rd_init(&rd, in, n);
        cbor_wr_init(&w, out, sizeof(out));
        assert_int_equal(cbor_rd_next(&rd, &t), 0);
        if (reencode(&rd, &t, &w) != 0) {
            fail_msg("%s not re-encodable", rfc_vecs[i].hex);
        }
        assert_false(w.overflow);
        assert_true(cbor_rd_done(&rd));
        assert_int_equal(w.len, n);
        assert_bytes_equal(out, in, n);
        n_checked++;
    }
    printf("%zu examples re-encoded byte for byte\n", n_checked);
    assert_true(n_checked >= 45);
}

static void tok_of(const char *hex, struct cbor_tok *t, uint8_t *buf)
{
    struct cbor_rd rd;
    size_t n = harness_hex(hex, buf, 64);

    cbor_rd_init(&rd, buf, n);
    assert_int_equal(cbor_rd_next(&rd, t), 0);
    assert_ptr_equal(t->head, buf);
}

static void token_values(void **state)
{
    uint8_t buf[64];
    struct cbor_tok t;

    tok_of("1b000000e8d4a51000", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_UINT);
    assert_true(t.u == 1000000000000ull);
    tok_of("1bffffffffffffffff", &t, buf);
    assert_true(t.u == UINT64_MAX);
    tok_of("3903e7", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_NEGINT);
    assert_int_equal(t.u, 999);
    tok_of("3bffffffffffffffff", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_NEGINT);
    assert_true(t.u == UINT64_MAX);
    tok_of("62c3bc", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_TEXT);
    assert_int_equal(t.len, 2);
    assert_ptr_equal(t.p, buf + 1);
    tok_of("4401020304", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_BYTES);
    assert_int_equal(t.len, 4);
    assert_int_equal(t.p[3], 4);
    tok_of("5f42010243030405ff", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_BYTES_INDEF);
    tok_of("7f657374726561646d696e67ff", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_TEXT_INDEF);
    tok_of("98190102", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_ARRAY);
    assert_int_equal(t.u, 25);
    tok_of("9fff", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_ARRAY_INDEF);
    tok_of("a201020304", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_MAP);
    assert_int_equal(t.u, 2);
    tok_of("bf6346756ef563416d7421ff", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_MAP_INDEF);
    tok_of("d82076", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_TAG);
    assert_int_equal(t.u, 32);
    /* tags 6..20 in the head byte (libcbor 0.8 refuses them itself) */
    tok_of("c600", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_TAG);
    assert_int_equal(t.u, 6);
    tok_of("d101", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_TAG);
    assert_int_equal(t.u, 17);
    tok_of("d4f6", &t, buf);
    assert_int_equal(t.u, 20);
    tok_of("f4", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_BOOL);
    assert_false(t.b);
    tok_of("f5", &t, buf);
    assert_true(t.b);
    tok_of("f6", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_NULL);
    tok_of("f7", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_UNDEFINED);
    tok_of("f93c00", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_FLOAT);
    tok_of("ff", &t, buf);
    assert_int_equal(t.type, CBOR_TOK_BREAK);
}

static void truncation_every_offset(void **state)
{
    uint8_t buf[256];
    struct cbor_rd rd;
    struct cbor_tok t;
    size_t i, n, cut, used;

    for (i = 0; i < TV_ARRAY_SIZE(rfc_vecs); i++) {
        n = harness_hex(rfc_vecs[i].hex, buf, sizeof(buf));
        /* a CBOR item is self-delimiting: no proper prefix is complete */
        for (cut = 0; cut < n; cut++) {
            if (decode_one(buf, cut, &used) == 0) {
                fail_msg("%s cut at %zu decoded", rfc_vecs[i].hex, cut);
            }
            /* a failed skip leaves the reader where it was */
            cbor_rd_init(&rd, buf, cut);
            if (cbor_rd_next(&rd, &t) == 0) {
                struct cbor_rd save = rd;

                if (cbor_rd_skip(&rd, &t) != 0) {
                    assert_ptr_equal(rd.p, save.p);
                    assert_int_equal(rd.len, save.len);
                }
            } else {
                assert_ptr_equal(rd.p, buf);
                assert_int_equal(rd.len, cut);
            }
        }
    }
}

static void malformed_heads(void **state)
{
    static const char *const bad[] = {
        "1c",
        "1d",
        "1e",
        "1f", /* reserved / indefinite uint */
        "3c",
        "3f", /* same for negint */
        "5c",
        "7d",
        "9e",
        "bc",
        "dc", /* reserved additional info */
        "5f4101"
        "7f"
        "ff"
        "ff",                   /* text chunk inside a byte string */
        "5f5f4101ffff",         /* nested indefinite chunk */
        "5f01ff",               /* a uint as a chunk */
        "7f4101ff",             /* bytes chunk in a text string */
        "bf01ff",               /* odd item count in a map */
        "a1ff",                 /* break as a map key */
        "81ff",                 /* break in a definite array */
        "c1ff",                 /* tagged break */
        "ff",                   /* lone break */
        "9b00000000ffffffff00", /* count far beyond the input */
        "5b000000000000ffff00", /* length far beyond the input */
        "5bffffffffffffffff00", /* length that would wrap */
        "7bfffffffffffffff000",
        "bbffffffffffffffff0000", /* pair count that would overflow */
    };
    uint8_t buf[64];
    size_t i, n, used;

    for (i = 0; i < TV_ARRAY_SIZE(bad); i++) {
        n = harness_hex(bad[i], buf, sizeof(buf));
        if (decode_one(buf, n, &used) == 0) {
            fail_msg("malformed %s decoded", bad[i]);
        }
    }
}

/* @n nested containers of the kind @open (closed by @close) around 00 */
static size_t nested(uint8_t *buf, size_t n, const char *open,
                     const char *close)
{
    size_t len = 0, i, k;

    for (i = 0; i < n; i++) {
        for (k = 0; open[k] != '\0'; k++) {
            buf[len++] = (uint8_t)open[k];
        }
    }
    buf[len++] = 0x00;
    for (i = 0; i < n; i++) {
        for (k = 0; close[k] != '\0'; k++) {
            buf[len++] = (uint8_t)close[k];
        }
    }
    return len;
}

static void depth_cap(void **state)
{
    static const struct {
        const char *open, *close;
    } kinds[] = {
        {"\x81", ""},         /* [x] */
        {"\x9f", "\xff"},     /* [_ x] */
        {"\xa1\x01", ""},     /* {1: x} */
        {"\xbf\x01", "\xff"}, /* {_ 1: x} */
        {"\xc1", ""},         /* 1(x) */
    };
    uint8_t buf[512]; /* 100 levels of the widest kind: 301 bytes */
    size_t k, n, used;

    for (k = 0; k < TV_ARRAY_SIZE(kinds); k++) {
        n = nested(buf, CBOR_MAX_DEPTH, kinds[k].open, kinds[k].close);
        if (decode_one(buf, n, &used) != 0) {
            fail_msg("kind %zu at the cap not decoded", k);
        }
        assert_int_equal(used, n);
        n = nested(buf, CBOR_MAX_DEPTH + 1, kinds[k].open, kinds[k].close);
        assert_int_equal(decode_one(buf, n, &used), -1);
        n = nested(buf, 100, kinds[k].open, kinds[k].close);
        assert_int_equal(decode_one(buf, n, &used), -1);
    }
}

static void string_gather(void **state)
{
    uint8_t buf[64], out[16];
    struct cbor_rd rd;
    struct cbor_tok t;
    size_t n, len;

    n = harness_hex("5f42010243030405ff01", buf, sizeof(buf));
    cbor_rd_init(&rd, buf, n);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_string(&rd, &t, out, sizeof(out), &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "\x01\x02\x03\x04\x05", 5);
    assert_int_equal(rd.len, 1); /* positioned after the break */

    /* exactly fitting, then one byte short: reader restored */
    cbor_rd_init(&rd, buf, n);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_string(&rd, &t, out, 5, &len), 0);
    cbor_rd_init(&rd, buf, n);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_string(&rd, &t, out, 4, &len), -1);
    assert_int_equal(rd.len, n - 1);

    n = harness_hex("7f657374726561646d696e67ff", buf, sizeof(buf));
    cbor_rd_init(&rd, buf, n);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_string(&rd, &t, out, sizeof(out), &len), 0);
    assert_int_equal(len, 9);
    assert_memory_equal(out, "streaming", 9);

    /* empty indefinite string, definite string, overflow, wrong types */
    n = harness_hex("5fff", buf, sizeof(buf));
    cbor_rd_init(&rd, buf, n);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_string(&rd, &t, out, 0, &len), 0);
    assert_int_equal(len, 0);
    n = harness_hex("6449455446", buf, sizeof(buf));
    cbor_rd_init(&rd, buf, n);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_string(&rd, &t, out, 4, &len), 0);
    assert_memory_equal(out, "IETF", 4);
    assert_int_equal(cbor_rd_string(&rd, &t, out, 3, &len), -1);
    n = harness_hex("5f6161ff", buf, sizeof(buf));
    cbor_rd_init(&rd, buf, n);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_string(&rd, &t, out, sizeof(out), &len), -1);
    n = harness_hex("5f4101", buf, sizeof(buf)); /* no break */
    cbor_rd_init(&rd, buf, n);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_string(&rd, &t, out, sizeof(out), &len), -1);
    n = harness_hex("01", buf, sizeof(buf));
    cbor_rd_init(&rd, buf, n);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_string(&rd, &t, out, sizeof(out), &len), -1);
}

static void writer_minimal_heads(void **state)
{
    static const struct {
        uint64_t v;
        const char *hex;
    } uints[] = {
        {0, "00"},
        {23, "17"},
        {24, "1818"},
        {255, "18ff"},
        {256, "190100"},
        {65535, "19ffff"},
        {65536, "1a00010000"},
        {0xffffffffull, "1affffffff"},
        {0x100000000ull, "1b0000000100000000"},
    };
    uint8_t out[16], want[16];
    struct cbor_wr w;
    size_t i, n;

    for (i = 0; i < TV_ARRAY_SIZE(uints); i++) {
        n = harness_hex(uints[i].hex, want, sizeof(want));
        cbor_wr_init(&w, out, sizeof(out));
        cbor_put_uint(&w, uints[i].v);
        assert_int_equal(w.len, n);
        assert_bytes_equal(out, want, n);
        assert_int_equal(cbor_head_size(uints[i].v), n);
        /* the same head for byte strings (major type 2) */
        cbor_wr_init(&w, out, sizeof(out));
        cbor_put_bytes_head(&w, (size_t)uints[i].v);
        want[0] = (uint8_t)(want[0] | 0x40);
        assert_bytes_equal(out, want, n);
    }
    /* every tag the writer emits reads back (short-form tags 6..20) */
    for (i = 0; i < 300; i++) {
        struct cbor_rd rd;
        struct cbor_tok t;

        cbor_wr_init(&w, out, sizeof(out));
        cbor_put_tag(&w, i);
        cbor_put_null(&w);
        cbor_rd_init(&rd, out, w.len);
        assert_int_equal(cbor_rd_next(&rd, &t), 0);
        assert_int_equal(t.type, CBOR_TOK_TAG);
        assert_int_equal(t.u, i);
        assert_int_equal(cbor_rd_skip(&rd, &t), 0);
        assert_true(cbor_rd_done(&rd));
    }
    cbor_wr_init(&w, out, sizeof(out));
    cbor_put_uint64_full(&w, 5);
    n = harness_hex("1b0000000000000005", want, sizeof(want));
    assert_int_equal(w.len, n);
    assert_bytes_equal(out, want, n);
    cbor_wr_init(&w, out, sizeof(out));
    cbor_put_negint(&w, 34); /* -35 */
    cbor_put_map(&w, 0);
    cbor_put_array(&w, 4);
    cbor_put_cstr(&w, "a");
    cbor_put_bool(&w, true);
    cbor_put_null(&w);
    cbor_put_tag(&w, 18);
    cbor_put_map_indef(&w);
    cbor_put_break(&w);
    n = harness_hex("3822a0846161f5f6d2bfff", want, sizeof(want));
    assert_int_equal(w.len, n);
    assert_bytes_equal(out, want, n);
}

static void writer_overflow_sticky(void **state)
{
    uint8_t out[8];
    struct cbor_wr w;

    memset(out, 0xee, sizeof(out));
    cbor_wr_init(&w, out, 4);
    cbor_put_bytes(&w, "abcd", 4); /* head + 4 = 5 bytes: does not fit */
    assert_true(w.overflow);
    cbor_put_uint(&w, 1); /* later writes do nothing */
    assert_true(w.overflow);
    assert_int_equal(out[4], 0xee);
    assert_null(cbor_wr_reserve(&w, 1));

    cbor_wr_init(&w, out, 4);
    assert_non_null(cbor_wr_reserve(&w, 4));
    assert_false(w.overflow);
    assert_null(cbor_wr_reserve(&w, 1));
    assert_true(w.overflow);

    cbor_wr_init(&w, out, 8);
    cbor_put_uint64_full(&w, 1); /* 9 bytes into 8 */
    assert_true(w.overflow);
    cbor_wr_init(&w, out, 0);
    cbor_put_null(&w);
    assert_true(w.overflow);
    assert_int_equal(w.len, 0);
}

/* decode∘encode over generated nested values of every writer form */
static void identity_generated(void **state)
{
    uint8_t a[4096], b[4096], src[300];
    struct cbor_wr w, w2;
    struct cbor_rd rd;
    struct cbor_tok t;
    uint64_t v = 1;
    unsigned round, i;

    for (i = 0; i < sizeof(src); i++) {
        src[i] = (uint8_t)(i * 13);
    }
    for (round = 0; round < 200; round++) {
        cbor_wr_init(&w, a, sizeof(a));
        cbor_put_array(&w, 12);
        for (i = 0; i < 12; i++) {
            v = v * 6364136223846793005ull + 1442695040888963407ull;
            switch ((v >> 60) % 6) {
            case 0:
                cbor_put_uint(&w, v >> (v & 63));
                break;
            case 1:
                cbor_put_negint(&w, v >> ((v >> 8) & 63));
                break;
            case 2:
                cbor_put_bytes(&w, src, (size_t)(v % sizeof(src)));
                break;
            case 3:
                cbor_put_map(&w, 1);
                cbor_put_text(&w, "key", 3);
                cbor_put_tag(&w, v % 70000);
                cbor_put_bool(&w, v & 1);
                break;
            case 4:
                cbor_put_map_indef(&w);
                cbor_put_uint(&w, i);
                cbor_put_null(&w);
                cbor_put_break(&w);
                break;
            default:
                cbor_put_text(&w, "xyz", (size_t)(v % 4));
                break;
            }
        }
        assert_false(w.overflow);
        cbor_rd_init(&rd, a, w.len);
        cbor_wr_init(&w2, b, sizeof(b));
        assert_int_equal(cbor_rd_next(&rd, &t), 0);
        if (reencode(&rd, &t, &w2) != 0) {
            fail_msg("round %u not re-encodable", round);
        }
        assert_true(cbor_rd_done(&rd));
        assert_false(w2.overflow);
        assert_int_equal(w2.len, w.len);
        assert_bytes_equal(b, a, w.len);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(rfc8949_examples_decode),
    cmocka_unit_test(rfc8949_examples_identity),
    cmocka_unit_test(token_values),
    cmocka_unit_test(truncation_every_offset),
    cmocka_unit_test(malformed_heads),
    cmocka_unit_test(depth_cap),
    cmocka_unit_test(string_gather),
    cmocka_unit_test(writer_minimal_heads),
    cmocka_unit_test(writer_overflow_sticky),
    cmocka_unit_test(identity_generated),
};

HARNESS_MAIN("cbor", tests)
