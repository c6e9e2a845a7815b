/* SPDX-License-Identifier: MIT */
/*
 * NSM client tests: request encodings against aws-nitro-enclaves-nsm-api
 * src/api/mod.rs, the serde_cbor-lenient response decoder rule by rule, and
 * every operation against the device model over the in-process loopback.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "client/nsmc.h"
#include "client/nsmc_loop.h"
#include "common/caps.h"

static struct nsmc_loop *loop;
static struct nsmc_resp resp;

static int setup(void **state)
{
    (void)state;
    loop = malloc(sizeof(*loop));
    if (loop == NULL || nsmc_loop_init(loop, NULL) != 0) {
        return -1;
    }
    memset(&resp, 0, sizeof(resp));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nsmc_loop_fini(loop);
    free(loop);
    loop = NULL;
    return 0;
}

/* Encode @req and compare with the hex @want. */
static void check_enc(const struct nsmc_req *req, const char *want_hex)
{
    uint8_t want[NSM_REQUEST_MAX_SIZE];
    uint8_t got[NSM_REQUEST_MAX_SIZE];
    size_t want_len, got_len = 0;

    want_len = harness_hex(want_hex, want, sizeof(want));
    assert_int_equal(nsmc_fill_req(req, got, sizeof(got), &got_len), NSMC_OK);
    assert_int_equal(got_len, want_len);
    assert_bytes_equal(got, want, want_len);
}

/* ---- encoding ---------------------------------------------------------- */

static void enc_protocol_examples(void **state)
{
    static const uint8_t d3[] = {1, 2, 3};
    struct nsmc_req r;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.op = NSMC_OP_DESCRIBE_PCR;
    r.index = 16;
    check_enc(&r, "a16b4465736372696265504352a165696e64657810");
    r.op = NSMC_OP_EXTEND_PCR;
    r.data.p = d3;
    r.data.len = 3;
    check_enc(&r, "a169457874656e64504352a265696e646578106464617461430102"
                  "03");
    memset(&r, 0, sizeof(r));
    r.op = NSMC_OP_LOCK_PCRS;
    r.index = 32;
    check_enc(&r, "a1684c6f636b50435273a16572616e67651820");
    r.op = NSMC_OP_LOCK_PCR;
    r.index = 16;
    check_enc(&r, "a1674c6f636b504352a165696e64657810");
    r.op = NSMC_OP_DESCRIBE_NSM;
    check_enc(&r, "6b44657363726962654e534d");
    r.op = NSMC_OP_GET_RANDOM;
    check_enc(&r, "6947657452616e646f6d");
    r.op = NSMC_OP_ATTESTATION;
    check_enc(&r, "a16b4174746573746174696f6ea369757365725f64617461f6656e6f"
                  "6e6365f66a7075626c69635f6b6579f6");
}

/* NULL is None (f6) whatever the length; non-NULL length 0 is an empty bstr */
static void enc_null_vs_empty(void **state)
{
    static const uint8_t one[] = {0xaa};
    struct nsmc_req r;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.op = NSMC_OP_ATTESTATION;
    r.user_data.p = NULL;
    r.user_data.len = 99;
    r.nonce.p = one;
    r.nonce.len = 0;
    r.public_key.p = one;
    r.public_key.len = 1;
    check_enc(&r, "a16b4174746573746174696f6ea369757365725f64617461f6656e6f"
                  "6e6365406a7075626c69635f6b657941aa");
    memset(&r, 0, sizeof(r));
    r.op = NSMC_OP_EXTEND_PCR;
    r.index = 300;
    check_enc(&r, "a169457874656e64504352a265696e6465781901"
                  "2c6464617461f6");
}

static void enc_too_large(void **state)
{
    static uint8_t big[NSM_REQUEST_MAX_SIZE];
    uint8_t buf[NSM_REQUEST_MAX_SIZE];
    struct nsmc_req r;
    size_t len = 0;
    size_t fixed;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.op = NSMC_OP_ATTESTATION;
    r.user_data.p = big;
    r.user_data.len = 0;
    assert_int_equal(nsmc_fill_req(&r, buf, sizeof(buf), &len), NSMC_OK);
    fixed = len; /* with an empty user_data (head 0x40) */
    /* the largest user_data that fits exactly: head grows to 3 bytes */
    r.user_data.len = NSM_REQUEST_MAX_SIZE - fixed - 2;
    assert_int_equal(nsmc_fill_req(&r, buf, sizeof(buf), &len), NSMC_OK);
    assert_int_equal(len, NSM_REQUEST_MAX_SIZE);
    r.user_data.len++;
    assert_int_equal(nsmc_fill_req(&r, buf, sizeof(buf), &len),
                     NSMC_ERR_TOO_LARGE);
    r.op = NSMC_OP_ERROR;
    assert_int_equal(nsmc_fill_req(&r, buf, sizeof(buf), &len), NSMC_ERR_ARG);
}

/* ---- decoding ---------------------------------------------------------- */

/* harness_hex() over @hex with spaces (used to group CBOR items) removed */
static size_t hexs(const char *hex, uint8_t *buf, size_t cap)
{
    char clean[2 * NSM_RESPONSE_MAX_SIZE + 1];
    size_t n = 0;

    for (; *hex != '\0' && n + 1 < sizeof(clean); hex++) {
        if (*hex != ' ') {
            clean[n++] = *hex;
        }
    }
    clean[n] = '\0';
    return harness_hex(clean, buf, cap);
}

static int parse_hex(const char *hex)
{
    uint8_t buf[NSM_RESPONSE_MAX_SIZE];
    size_t len = hexs(hex, buf, sizeof(buf));

    return nsmc_parse_resp(buf, len, &resp);
}

static void dec_error_and_units(void **state)
{
    (void)state;
    assert_int_equal(parse_hex("a1654572726f726c496e76616c6964496e646578"),
                     NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_ERROR);
    assert_int_equal(resp.error, NSMC_E_INVALID_INDEX);
    assert_int_equal(nsmc_error_to_aws(NSMC_OK, &resp, NSMC_OP_LOCK_PCR),
                     NSMC_E_INVALID_INDEX);
    assert_int_equal(parse_hex("674c6f636b504352"), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_LOCK_PCR);
    assert_int_equal(parse_hex("684c6f636b50435273"), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_LOCK_PCRS);
    /* a unit variant in map form carries null */
    assert_int_equal(parse_hex("a1674c6f636b504352f6"), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_LOCK_PCR);
    assert_int_equal(parse_hex("a1674c6f636b50435201"), NSMC_ERR_DECODE);
    /* indefinite text for the variant name */
    assert_int_equal(parse_hex("7f634c6f63646b504352ff"), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_LOCK_PCR);
    /* error code in map form {"ReadOnlyIndex": null} */
    assert_int_equal(parse_hex("a1654572726f72"
                               "a16d526561644f6e6c79496e646578f6"),
                     NSMC_OK);
    assert_int_equal(resp.error, NSMC_E_READ_ONLY_INDEX);
    /* every wire error name round-trips */
    for (int e = NSMC_E_SUCCESS; e <= NSMC_E_INTERNAL_ERROR; e++) {
        uint8_t buf[64];
        const char *n = nsmc_error_name((enum nsmc_error)e);
        size_t nl = strlen(n);

        buf[0] = 0xa1;
        buf[1] = 0x65;
        memcpy(buf + 2, "Error", 5);
        buf[7] = (uint8_t)(0x60 + nl);
        memcpy(buf + 8, n, nl);
        assert_int_equal(nsmc_parse_resp(buf, 8 + nl, &resp), NSMC_OK);
        assert_int_equal(resp.error, e);
    }
}

static void dec_rejects(void **state)
{
    (void)state;
    /* outer indefinite map: serde_cbor only knows 0xa1 */
    assert_int_equal(parse_hex("bf674c6f636b504352f6ff"), NSMC_ERR_DECODE);
    /* outer a1 spelled as b8 01 */
    assert_int_equal(parse_hex("b801674c6f636b504352f6"), NSMC_ERR_DECODE);
    /* trailing byte */
    assert_int_equal(parse_hex("674c6f636b50435200"), NSMC_ERR_DECODE);
    /* a struct variant as text */
    assert_int_equal(parse_hex("6b44657363726962654e534d"), NSMC_ERR_DECODE);
    /* unknown variant and unknown error name */
    assert_int_equal(parse_hex("63466f6f"), NSMC_ERR_DECODE);
    assert_int_equal(parse_hex("a1654572726f7263466f6f"), NSMC_ERR_DECODE);
    /* empty, truncated, garbage */
    assert_int_equal(parse_hex(""), NSMC_ERR_DECODE);
    assert_int_equal(parse_hex("a1"), NSMC_ERR_DECODE);
    assert_int_equal(parse_hex("ffffffff"), NSMC_ERR_DECODE);
    /* ExtendPCR missing data, data of the wrong type */
    assert_int_equal(parse_hex("a169457874656e64504352a0"), NSMC_ERR_DECODE);
    assert_int_equal(parse_hex("a169457874656e64504352a1646461746101"),
                     NSMC_ERR_DECODE);
    /* duplicate field */
    assert_int_equal(parse_hex("a169457874656e64504352a2646461746141016464"
                               "61746141 02"),
                     NSMC_ERR_DECODE);
    /* DescribePCR: lock not a bool, lock missing */
    assert_int_equal(parse_hex("a16b4465736372696265504352a2646c6f636b01646461"
                               "74614100"),
                     NSMC_ERR_DECODE);
    assert_int_equal(parse_hex("a16b4465736372696265504352a164646174614100"),
                     NSMC_ERR_DECODE);
    /* byte array element > 255 */
    assert_int_equal(parse_hex("a169457874656e64504352a16464617461811901 00"),
                     NSMC_ERR_DECODE);
}

static void dec_lenient_struct(void **state)
{
    (void)state;
    /* DescribePCR {data, lock} reversed, indefinite inner map, unknown key */
    assert_int_equal(parse_hex("a16b4465736372696265504352bf6464617461420102"
                               "6378797a8201a1f6f6646c6f636bf5ff"),
                     NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_DESCRIBE_PCR);
    assert_true(resp.lock);
    assert_int_equal(resp.data.len, 2);
    assert_int_equal(resp.data.p[1], 2);
    /* uint keys select fields by declaration index (0 lock, 1 data);
     * index 7 is ignored */
    assert_int_equal(parse_hex("a16b4465736372696265504352a300f4014109"
                               "0700"),
                     NSMC_OK);
    assert_false(resp.lock);
    assert_int_equal(resp.data.len, 1);
    assert_int_equal(resp.data.p[0], 9);
    /* indefinite byte string, text string and byte array values */
    assert_int_equal(parse_hex("a169457874656e64504352a164646174615f420102"
                               "4103ff"),
                     NSMC_OK);
    assert_int_equal(resp.data.len, 3);
    assert_int_equal(resp.data.p[2], 3);
    assert_int_equal(parse_hex("a169457874656e64504352a16464617461626869"),
                     NSMC_OK);
    assert_memory_equal(resp.data.p, "hi", 2);
    assert_int_equal(parse_hex("a169457874656e64504352a164646174619f0118ffff"),
                     NSMC_OK);
    assert_int_equal(resp.data.len, 2);
    assert_int_equal(resp.data.p[1], 0xff);
}

/* DescribeNSM in QEMU's key order with wide integers and a digest map. */
static void dec_describe_nsm(void **state)
{
    (void)state;
    assert_int_equal(
        parse_hex("a16b44657363726962654e534d"
                  "a7"
                  "666469676573747f635348416333383 4ff"
                  "686d61785f7063727319 0020"
                  "696d6f64756c655f69646369 2d31"
                  "6b6c6f636b65645f70637273 86 03 01 02 01 1a00000000 03"
                  "6d76657273696f6e5f6d616a6f72 1a00000001"
                  "6d76657273696f6e5f6d696e6f72 1b0000000000000002"
                  "6d76657273696f6e5f7061746368 03"),
        NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_DESCRIBE_NSM);
    assert_int_equal(resp.digest, NSMC_DIGEST_SHA384);
    assert_int_equal(resp.max_pcrs, 32);
    assert_int_equal(resp.module_id.len, 3);
    assert_memory_equal(resp.module_id.p, "i-1", 3);
    assert_int_equal(resp.n_locked_pcrs, 4); /* a set: 0 1 2 3 */
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(resp.locked_pcrs[i], i);
    }
    assert_int_equal(resp.version_major, 1);
    assert_int_equal(resp.version_minor, 2);
    assert_int_equal(resp.version_patch, 3);
    /* digest as {"SHA512": null}; a version over u16 fails */
    assert_int_equal(parse_hex("a16b44657363726962654e534da7"
                               "6664696765737 4a166534841353132f6"
                               "686d61785f7063727301 696d6f64756c655f696460"
                               "6b6c6f636b65645f7063727380"
                               "6d76657273696f6e5f6d616a6f7200"
                               "6d76657273696f6e5f6d696e6f7200"
                               "6d76657273696f6e5f7061746368 00"),
                     NSMC_OK);
    assert_int_equal(resp.digest, NSMC_DIGEST_SHA512);
    assert_int_equal(resp.n_locked_pcrs, 0);
    assert_int_equal(parse_hex("a16b44657363726962654e534da7"
                               "666469676573746653484133383 4"
                               "686d61785f7063727301 696d6f64756c655f696460"
                               "6b6c6f636b65645f7063727380"
                               "6d76657273696f6e5f6d616a6f721a00010000"
                               "6d76657273696f6e5f6d696e6f7200"
                               "6d76657273696f6e5f7061746368 00"),
                     NSMC_ERR_DECODE);
}

/* More than 64 distinct locked PCRs: the smallest 64 are kept, flagged. */
static void dec_locked_pcrs_bound(void **state)
{
    uint8_t buf[1024];
    size_t n = 0;
    static const char head[] = "a16b44657363726962654e534da7"
                               "666469676573746653484133383 4"
                               "686d61785f7063727301 696d6f64756c655f696460"
                               "6b6c6f636b65645f70637273";
    static const char tail[] = "6d76657273696f6e5f6d616a6f7200"
                               "6d76657273696f6e5f6d696e6f7200"
                               "6d76657273696f6e5f7061746368 00";
    int v;

    (void)state;
    n = hexs(head, buf, sizeof(buf));
    buf[n++] = 0x9f;
    for (v = 99; v >= 0; v--) { /* 100 values, descending */
        buf[n++] = 0x18;
        buf[n++] = (uint8_t)v;
    }
    buf[n++] = 0xff;
    n += hexs(tail, buf + n, sizeof(buf) - n);
    assert_int_equal(nsmc_parse_resp(buf, n, &resp), NSMC_OK);
    assert_int_equal(resp.n_locked_pcrs, NSMC_LOCKED_PCRS_MAX);
    assert_true(resp.locked_pcrs_truncated);
    for (v = 0; v < NSMC_LOCKED_PCRS_MAX; v++) {
        assert_int_equal(resp.locked_pcrs[v], v);
    }
}

/* ---- loopback: every operation against the model ------------------------ */

static void loop_describe_nsm(void **state)
{
    struct nsmc_transport t = nsmc_loop_transport(loop);
    struct nsmc_req r = {.op = NSMC_OP_DESCRIBE_NSM};
    int err = 1;

    (void)state;
    assert_int_equal(nsmc_call(&t, &r, &resp, &err), NSMC_OK);
    assert_int_equal(err, 0);
    assert_int_equal(resp.op, NSMC_OP_DESCRIBE_NSM);
    assert_int_equal(resp.version_major, 1);
    assert_int_equal(resp.version_minor, 0);
    assert_int_equal(resp.version_patch, 0);
    assert_int_equal(resp.max_pcrs, 32);
    assert_int_equal(resp.digest, NSMC_DIGEST_SHA384);
    assert_int_equal(resp.n_locked_pcrs, 16);
    assert_int_equal(resp.locked_pcrs[15], 15);
    assert_int_equal(resp.module_id.len,
                     strlen("i-0123456789abcdef0-enc0123456789abcdef"));
}

static void loop_extend_describe_lock(void **state)
{
    struct nsmc_transport t = nsmc_loop_transport(loop);
    struct nsmc_req r;
    uint8_t data[8], want[48];

    (void)state;
    harness_hex("0b00374863ff5c65", data, sizeof(data));
    harness_hex("b33da05a0fdb71627c8c68fc4232281fc440edd6f0ac7467fa497bbb907db"
                "32d957b5fd393845fa02c264ad5ea233888",
                want, sizeof(want));
    memset(&r, 0, sizeof(r));
    r.op = NSMC_OP_EXTEND_PCR;
    r.index = 16;
    r.data.p = data;
    r.data.len = 8;
    assert_int_equal(nsmc_call(&t, &r, &resp, NULL), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_EXTEND_PCR);
    assert_int_equal(resp.data.len, 48);
    assert_bytes_equal(resp.data.p, want, 48);

    r.op = NSMC_OP_DESCRIBE_PCR;
    assert_int_equal(nsmc_call(&t, &r, &resp, NULL), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_DESCRIBE_PCR);
    assert_false(resp.lock);
    assert_bytes_equal(resp.data.p, want, 48);

    r.op = NSMC_OP_LOCK_PCR;
    assert_int_equal(nsmc_call(&t, &r, &resp, NULL), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_LOCK_PCR);
    assert_int_equal(nsmc_call(&t, &r, &resp, NULL), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_ERROR);
    assert_int_equal(resp.error, NSMC_E_READ_ONLY_INDEX);
    assert_string_equal(nsmc_error_name(resp.error), "ReadOnlyIndex");

    r.op = NSMC_OP_LOCK_PCRS;
    r.index = 33;
    assert_int_equal(nsmc_call(&t, &r, &resp, NULL), NSMC_OK);
    assert_int_equal(resp.error, NSMC_E_INVALID_INDEX);
    r.index = 20;
    assert_int_equal(nsmc_call(&t, &r, &resp, NULL), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_LOCK_PCRS);
}

static void loop_random_and_attestation(void **state)
{
    struct nsmc_transport t = nsmc_loop_transport(loop);
    struct nsmc_req r;
    static uint8_t ud[1024];

    (void)state;
    memset(&r, 0, sizeof(r));
    r.op = NSMC_OP_GET_RANDOM;
    assert_int_equal(nsmc_call(&t, &r, &resp, NULL), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_GET_RANDOM);
    assert_int_equal(resp.data.len, NSM_RANDOM_SIZE);

    memset(ud, 0x5a, sizeof(ud));
    r.op = NSMC_OP_ATTESTATION;
    r.user_data.p = ud;
    r.user_data.len = sizeof(ud);
    r.nonce.p = ud;
    r.nonce.len = sizeof(ud);
    r.public_key.p = ud;
    r.public_key.len = sizeof(ud);
    assert_int_equal(nsmc_call(&t, &r, &resp, NULL), NSMC_OK);
    assert_int_equal(resp.op, NSMC_OP_ATTESTATION);
    assert_true(resp.data.len > 3 * 1024);
    /* untagged COSE_Sign1 with protected {1: -35} */
    assert_bytes_equal(resp.data.p, "\x84\x44\xa1\x01\x38\x22", 6);
}

static void loop_transport_errors(void **state)
{
    struct nsmc_transport t = nsmc_loop_transport(loop);
    struct nsmc_req r = {.op = NSMC_OP_GET_RANDOM};
    uint8_t big[NSM_REQUEST_MAX_SIZE + 1];
    int err = 0;

    (void)state;
    loop->fail_calls = 1;
    assert_int_equal(nsmc_call(&t, &r, &resp, &err), NSMC_ERR_TRANSPORT);
    assert_int_equal(err, -EIO);
    assert_int_equal(
        nsmc_error_to_aws(NSMC_ERR_TRANSPORT, &resp, NSMC_OP_GET_RANDOM),
        NSMC_E_INTERNAL_ERROR);
    /* raw requests over the cap never reach the transport */
    memset(big, 0, sizeof(big));
    assert_int_equal(nsmc_call_raw(&t, big, sizeof(big), &resp, &err),
                     NSMC_ERR_TOO_LARGE);
    assert_int_equal(loop->n_calls, 0);
    /* a scripted undecodable response */
    loop->override_len = harness_hex("bf6947657452616e646f6df6ff",
                                     loop->override, sizeof(loop->override));
    assert_int_equal(nsmc_call(&t, &r, &resp, &err), NSMC_ERR_DECODE);
    assert_int_equal(
        nsmc_error_to_aws(NSMC_ERR_DECODE, &resp, NSMC_OP_GET_RANDOM),
        NSMC_E_INTERNAL_ERROR);
    /* a well-formed response of the wrong variant */
    loop->override_len =
        harness_hex("674c6f636b504352", loop->override, sizeof(loop->override));
    assert_int_equal(nsmc_call(&t, &r, &resp, &err), NSMC_OK);
    assert_int_equal(nsmc_error_to_aws(NSMC_OK, &resp, NSMC_OP_GET_RANDOM),
                     NSMC_E_INVALID_RESPONSE);
    assert_int_equal(
        nsmc_error_to_aws(NSMC_ERR_TOO_LARGE, &resp, NSMC_OP_GET_RANDOM),
        NSMC_E_INPUT_TOO_LARGE);
}

/* The ioctl transport on something that is not /dev/nsm: ENOTTY. */
static void ioctl_transport_not_a_device(void **state)
{
    struct nsmc_req r = {.op = NSMC_OP_GET_RANDOM};
    struct nsmc_transport t;
    int fd, err = 0;

    (void)state;
    fd = open("/dev/null", O_RDWR);
    assert_true(fd >= 0);
    t = nsmc_ioctl_transport(fd);
    assert_int_equal(nsmc_call(&t, &r, &resp, &err), NSMC_ERR_TRANSPORT);
    assert_int_equal(err, -ENOTTY);
    close(fd);
    t = nsmc_ioctl_transport(-1);
    assert_int_equal(nsmc_call(&t, &r, &resp, &err), NSMC_ERR_TRANSPORT);
    assert_int_equal(err, -EBADF);
}

static void names(void **state)
{
    (void)state;
    assert_string_equal(nsmc_op_name(NSMC_OP_LOCK_PCRS), "LockPCRs");
    assert_string_equal(nsmc_op_name((enum nsmc_op)99), "Unknown");
    assert_string_equal(nsmc_error_name(NSMC_E_INPUT_TOO_LARGE),
                        "InputTooLarge");
    assert_string_equal(nsmc_digest_name(NSMC_DIGEST_SHA384), "SHA384");
    assert_string_equal(nsmc_strerror(NSMC_ERR_DECODE), "undecodable response");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(enc_protocol_examples),
    T(enc_null_vs_empty),
    T(enc_too_large),
    T(dec_error_and_units),
    T(dec_rejects),
    T(dec_lenient_struct),
    T(dec_describe_nsm),
    T(dec_locked_pcrs_bound),
    T(loop_describe_nsm),
    T(loop_extend_describe_lock),
    T(loop_random_and_attestation),
    T(loop_transport_errors),
    T(ioctl_transport_not_a_device),
    T(names),
};

HARNESS_MAIN("nsmc", tests)
