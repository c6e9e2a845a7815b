/* SPDX-License-Identifier: MIT */
/*
 * COSE_Sign1 building: exact layout (AWS nsm-api docs/attestation_process.md),
 * head sizes at every bstr-length boundary, in-place sealing that leaves the
 * payload where it is, signatures checked over an independently written
 * Sig_structure, and the error cases.
 */
#include <string.h>

#include "harness.h"

#include "cbor/cbor.h"
#include "common/bug.h"
#include "cose/cose.h"
#include "crypto/crypto.h"

static struct crypto_key *key;

static int setup(void **state)
{
    if (key == NULL) {
        key = crypto_key_generate_p384();
    }
    return key == NULL ? -1 : 0;
}

#define T(name) cmocka_unit_test_setup(name, setup)

/*
 * The Sig_structure written out by hand: 84, 6a "Signature1",
 * 44 a1 01 38 22, 40, then the payload as a bstr.
 */
static size_t sig_structure(const uint8_t *payload, size_t len, uint8_t *out,
                            size_t cap)
{
    static const uint8_t head[] = {0x84, 0x6a, 'S',  'i',  'g',  'n',
                                   'a',  't',  'u',  'r',  'e',  '1',
                                   0x44, 0xa1, 0x01, 0x38, 0x22, 0x40};
    struct cbor_wr w;

    cbor_wr_init(&w, out, cap);
    cbor_put_raw(&w, head, sizeof(head));
    cbor_put_bytes(&w, payload, len);
    assert_false(w.overflow);
    return w.len;
}

static bool signature_ok(const uint8_t *cose, size_t cose_len)
{
    static uint8_t ss[70000 + 64];
    struct cbor_rd rd;
    struct cbor_tok t;
    const uint8_t *payload;
    size_t payload_len;

    cbor_rd_init(&rd, cose + 7, cose_len - 7);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(t.type, CBOR_TOK_BYTES);
    payload = t.p;
    payload_len = t.len;
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(t.type, CBOR_TOK_BYTES);
    assert_int_equal(t.len, COSE_ES384_SIG_SIZE);
    assert_true(cbor_rd_done(&rd));
    return crypto_ecdsa_p384_verify(
        key, ss, sig_structure(payload, payload_len, ss, sizeof(ss)), t.p);
}

static void head_sizes(void **state)
{
    static const struct {
        size_t len, bstr_head;
    } cases[] = {
        {0, 1}, {23, 1}, {24, 2}, {255, 2}, {256, 3}, {65535, 3}, {65536, 5},
    };
    size_t i;

    for (i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        assert_int_equal(cose_sign1_head_size(cases[i].len),
                         7 + cases[i].bstr_head);
        assert_int_equal(cose_sig_structure_head_size(cases[i].len),
                         18 + cases[i].bstr_head);
        assert_int_equal(cose_sign1_size(cases[i].len),
                         7 + cases[i].bstr_head + cases[i].len + 98);
        assert_true(cose_sign1_head_size(cases[i].len) <= COSE_SIGN1_HEAD_MAX);
        assert_true(cose_sig_structure_head_size(cases[i].len) <=
                    COSE_SIG_STRUCTURE_HEAD_MAX);
    }
}

static void build_layout(void **state)
{
    static const size_t lens[] = {0, 1, 23, 24, 255, 256, 1000, 65536};
    static uint8_t payload[65536], out[65536 + 128];
    uint8_t want_head[16];
    size_t i, n, out_len, h;

    for (i = 0; i < sizeof(payload); i++) {
        payload[i] = (uint8_t)(i * 7);
    }
    for (i = 0; i < TV_ARRAY_SIZE(lens); i++) {
        memset(out, 0xee, sizeof(out));
        assert_int_equal(
            cose_sign1_build(key, payload, lens[i], out, sizeof(out), &out_len),
            COSE_OK);
        assert_int_equal(out_len, cose_sign1_size(lens[i]));
        n = harness_hex("8444a1013822a0", want_head, sizeof(want_head));
        assert_bytes_equal(out, want_head, n);
        h = cbor_head_size(lens[i]);
        assert_int_equal(out[n] >> 5, 2); /* payload is a bstr */
        assert_bytes_equal(out + n + h, payload, lens[i]);
        assert_int_equal(out[n + h + lens[i]], 0x58);
        assert_int_equal(out[n + h + lens[i] + 1], 0x60);
        /* nothing written past it but the documented scratch */
        assert_int_equal(out[out_len + COSE_BUILD_SLACK], 0xee);
        assert_true(signature_ok(out, out_len));
    }
}

static void seal_in_place(void **state)
{
    static uint8_t buf[2048];
    static const uint8_t payload[] = {0xa1, 0x61, 'k', 0x43, 1, 2, 3};
    size_t off = 100, cose_off, cose_len, sig_head;

    memset(buf, 0xcc, sizeof(buf));
    memcpy(buf + off, payload, sizeof(payload));
    assert_int_equal(cose_sign1_seal(key, buf, sizeof(buf), off,
                                     sizeof(payload), &cose_off, &cose_len),
                     COSE_OK);
    assert_int_equal(cose_off, off - cose_sign1_head_size(sizeof(payload)));
    assert_int_equal(cose_len, cose_sign1_size(sizeof(payload)));
    /* the payload did not move */
    assert_bytes_equal(buf + off, payload, sizeof(payload));
    /* only the Sig_structure head area in front was touched */
    sig_head = cose_sig_structure_head_size(sizeof(payload));
    assert_int_equal(buf[off - sig_head - 1], 0xcc);
    assert_int_equal(buf[cose_off + cose_len], 0xcc);
    assert_true(signature_ok(buf + cose_off, cose_len));
}

static void signatures_differ_and_tamper(void **state)
{
    static const uint8_t payload[] = "attestation payload";
    uint8_t a[256], b[256];
    size_t a_len, b_len;

    assert_int_equal(
        cose_sign1_build(key, payload, sizeof(payload), a, sizeof(a), &a_len),
        COSE_OK);
    assert_int_equal(
        cose_sign1_build(key, payload, sizeof(payload), b, sizeof(b), &b_len),
        COSE_OK);
    assert_int_equal(a_len, b_len);
    assert_true(signature_ok(a, a_len));
    assert_true(signature_ok(b, b_len));
    /* ECDSA is randomised: same payload, different r||s */
    assert_true(memcmp(a + a_len - 96, b + b_len - 96, 96) != 0);
    a[10] ^= 0x01; /* payload byte */
    assert_false(signature_ok(a, a_len));
    a[10] ^= 0x01;
    a[a_len - 1] ^= 0x01; /* signature byte */
    assert_false(signature_ok(a, a_len));
}

static void errors(void **state)
{
    static uint8_t buf[512];
    size_t cose_off = 0, cose_len = 0, out_len;

    /* no room for the Sig_structure head before the payload */
    assert_int_equal(
        cose_sign1_seal(key, buf, sizeof(buf), 10, 10, &cose_off, &cose_len),
        COSE_ERR_ARG);
    /* payload beyond the buffer */
    assert_int_equal(
        cose_sign1_seal(key, buf, sizeof(buf), 40, 500, &cose_off, &cose_len),
        COSE_ERR_ARG);
    assert_int_equal(
        cose_sign1_seal(key, buf, sizeof(buf), 600, 0, &cose_off, &cose_len),
        COSE_ERR_ARG);
    /* no room for the signature after it */
    assert_int_equal(
        cose_sign1_seal(key, buf, 40 + 10 + 97, 40, 10, &cose_off, &cose_len),
        COSE_ERR_SPACE);
    assert_int_equal(
        cose_sign1_seal(key, buf, 40 + 10 + 98, 40, 10, &cose_off, &cose_len),
        COSE_OK);
    assert_int_equal(cose_sign1_build(key, buf, 10, buf + 100,
                                      cose_sign1_size(10) + COSE_BUILD_SLACK,
                                      &out_len),
                     COSE_OK);
    assert_int_equal(
        cose_sign1_build(key, buf, 10, buf + 100,
                         cose_sign1_size(10) + COSE_BUILD_SLACK - 1, &out_len),
        COSE_ERR_SPACE);
    assert_int_equal(cose_sign1_build(key, buf, 100, buf + 200, 150, &out_len),
                     COSE_ERR_SPACE);
    assert_string_equal(cose_strerror(COSE_ERR_SPACE),
                        "COSE_Sign1 does not fit the output buffer");
    assert_string_equal(cose_strerror(-99), "unknown COSE status");
}

static void protected_header_bytes(void **state)
{
    uint8_t want[4];

    harness_hex("a1013822", want, sizeof(want));
    assert_bytes_equal(cose_es384_protected, want, 4);
    assert_int_equal(COSE_ALG_ES384, -35);
}

static int teardown_all(void **state)
{
    crypto_key_free(key);
    key = NULL;
    return 0;
}

static const struct CMUnitTest tests[] = {
    T(head_sizes),
    T(build_layout),
    T(seal_in_place),
    T(signatures_differ_and_tamper),
    T(errors),
    cmocka_unit_test_setup_teardown(protected_header_bytes, setup,
                                    teardown_all),
};

HARNESS_MAIN("cose", tests)
