/* SPDX-License-Identifier: MIT */
/*
 * NSM model tests: every operation's exact encoding (aws-nitro-enclaves-nsm-api
 * src/api/mod.rs), every row of the real-hardware behaviour table
 * (dorjoy03/nsm-api test_nsm.py) and its recommendations, the real PCR-extend
 * vectors (tests/vectors/PROVENANCE.md), boot PCRs against a real attestation
 * document (§13/§15), and the attestation document layout with its signature
 * checked over a rebuilt Sig_structure (RFC 9052).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#include "cbor/cbor.h"
#include "common/bug.h"
#include "cose/cose.h"
#include "crypto/crypto.h"
#include "nsm/nsm.h"

/* CBOR text heads + contents of the names used below */
#define T_DESCRIBE_PCR "6b4465736372696265504352"
#define T_EXTEND_PCR   "69457874656e64504352"
#define T_LOCK_PCR     "674c6f636b504352"
#define T_LOCK_PCRS    "684c6f636b50435273"
#define T_DESCRIBE_NSM "6b44657363726962654e534d"
#define T_ATTESTATION  "6b4174746573746174696f6e"
#define T_GET_RANDOM   "6947657452616e646f6d"
#define T_INDEX        "65696e646578"
#define T_RANGE        "6572616e6765"
#define T_DATA         "6464617461"
#define T_USER_DATA    "69757365725f64617461"
#define T_NONCE        "656e6f6e6365"
#define T_PUBLIC_KEY   "6a7075626c69635f6b6579"

#define TEST_NOW_MS    1695049410860ull /* 2023-09-18T15:03:30.860Z */
#define TEST_MODULE_ID "i-0918f6c55e3b61d89-enc018aa8b8e2285d13"
#define LEAF_SIZE      640
#define CA_SIZE        800

/* The test platform: fixed clock, OpenSSL DRBG, a fresh key, fake certs. */
struct test_platform {
    uint64_t now_ms;
    bool fail_random;
    bool fail_signer;
    unsigned n_random_calls;
    struct nsm_signer signer;
    uint8_t leaf[LEAF_SIZE];
    uint8_t ca[4][CA_SIZE];
};

static struct test_platform tp;
static struct crypto_key *test_key;
static struct nsm dev;
static uint8_t resp[NSM_RESPONSE_MAX_SIZE];
static size_t resp_len;

static uint64_t tp_now_ms(void *ctx)
{
    return ((struct test_platform *)ctx)->now_ms;
}

static int tp_random(void *ctx, void *out, size_t len)
{
    struct test_platform *p = ctx;

    p->n_random_calls++;
    return p->fail_random ? -1 : crypto_random(out, len);
}

static int tp_get_signer(void *ctx, uint64_t now_ms,
                         const struct nsm_signer **signer)
{
    struct test_platform *p = ctx;

    if (p->fail_signer) {
        return -1;
    }
    *signer = &p->signer;
    return 0;
}

static const struct nsm_platform_ops tp_ops = {
    .now_ms = tp_now_ms,
    .random = tp_random,
    .get_signer = tp_get_signer,
};

static void default_boot(struct nsm_boot *b)
{
    memset(b, 0, sizeof(*b));
    strcpy(b->module_id, TEST_MODULE_ID);
    b->debug_mode = true;
    strcpy(b->parent_id, "i-0918f6c55e3b61d89");
}

static void platform_reset(void)
{
    size_t i;

    memset(&tp, 0, sizeof(tp));
    tp.now_ms = TEST_NOW_MS;
    if (test_key == NULL) {
        test_key = crypto_key_generate_p384();
        assert_non_null(test_key);
    }
    /* recognisable fake DER: 30 82 <len> then a pattern */
    memset(tp.leaf, 0x11, sizeof(tp.leaf));
    tp.leaf[0] = 0x30;
    for (i = 0; i < 4; i++) {
        memset(tp.ca[i], 0xa0 + (int)i, CA_SIZE);
        tp.ca[i][0] = 0x30;
        tp.signer.cabundle[i] = tp.ca[i];
        tp.signer.cabundle_len[i] = CA_SIZE;
    }
    tp.signer.key = test_key;
    tp.signer.cert = tp.leaf;
    tp.signer.cert_len = sizeof(tp.leaf);
    tp.signer.n_cabundle = 4;
}

static int setup(void **state)
{
    struct nsm_boot b;

    platform_reset();
    default_boot(&b);
    assert_int_equal(nsm_init(&dev, &b, &tp_ops, &tp), NSM_OK);
    return 0;
}

#define T(name) cmocka_unit_test_setup(name, setup)

/* Send raw bytes; the model must answer with NSM_OK. */
static void send_raw(const uint8_t *req, size_t len)
{
    memset(resp, 0xee, sizeof(resp));
    assert_int_equal(nsm_handle(&dev, req, len, resp, sizeof(resp), &resp_len),
                     NSM_OK);
    assert_true(resp_len > 0 && resp_len <= sizeof(resp));
}

static void send_hex(const char *hex)
{
    uint8_t req[NSM_REQUEST_MAX_SIZE + 64];

    send_raw(req, harness_hex(hex, req, sizeof(req)));
}

static void expect_hex(const char *hex)
{
    uint8_t want[NSM_RESPONSE_MAX_SIZE];
    size_t n = harness_hex(hex, want, sizeof(want));

    assert_int_equal(resp_len, n);
    assert_bytes_equal(resp, want, n);
}

/* The response must be {"Error": @name}, encoded a1 65 "Error" <text>. */
static void expect_error(const char *name)
{
    uint8_t want[64];
    struct cbor_wr w;

    cbor_wr_init(&w, want, sizeof(want));
    cbor_put_map(&w, 1);
    cbor_put_cstr(&w, "Error");
    cbor_put_cstr(&w, name);
    assert_false(w.overflow);
    assert_int_equal(resp_len, w.len);
    assert_bytes_equal(resp, want, w.len);
}

static void hex_error(const char *req_hex, const char *name)
{
    send_hex(req_hex);
    expect_error(name);
}

/* Read PCR @i through DescribePCR. */
static void read_pcr(unsigned i, uint8_t out[NSM_PCR_SIZE], bool *locked)
{
    uint8_t req[64];
    struct cbor_wr w;
    size_t off;

    cbor_wr_init(&w, req, sizeof(req));
    cbor_put_map(&w, 1);
    cbor_put_cstr(&w, "DescribePCR");
    cbor_put_map(&w, 1);
    cbor_put_cstr(&w, "index");
    cbor_put_uint(&w, i);
    send_raw(req, w.len);
    /* a1 6b DescribePCR a2 64 lock f4|f5 64 data 58 30 <48> */
    assert_int_equal(resp_len, 1 + 12 + 1 + 5 + 1 + 5 + 2 + NSM_PCR_SIZE);
    off = 1 + 12 + 1 + 5;
    assert_true(resp[off] == 0xf4 || resp[off] == 0xf5);
    *locked = resp[off] == 0xf5;
    memcpy(out, resp + resp_len - NSM_PCR_SIZE, NSM_PCR_SIZE);
}

/* ExtendPCR(@i, @data); returns the response status bytes in resp. */
static void extend_pcr(unsigned i, const uint8_t *data, size_t len)
{
    static uint8_t req[NSM_REQUEST_MAX_SIZE];
    struct cbor_wr w;

    cbor_wr_init(&w, req, sizeof(req));
    cbor_put_map(&w, 1);
    cbor_put_cstr(&w, "ExtendPCR");
    cbor_put_map(&w, 2);
    cbor_put_cstr(&w, "index");
    cbor_put_uint(&w, i);
    cbor_put_cstr(&w, "data");
    cbor_put_bytes(&w, data, len);
    assert_false(w.overflow);
    send_raw(req, w.len);
}

static void expect_extend_ok(const uint8_t pcr[NSM_PCR_SIZE])
{
    static const uint8_t head[] = {0xa1, 0x69, 'E', 'x',  't',  'e',  'n',
                                   'd',  'P',  'C', 'R',  0xa1, 0x64, 'd',
                                   'a',  't',  'a', 0x58, 0x30};

    assert_int_equal(resp_len, sizeof(head) + NSM_PCR_SIZE);
    assert_bytes_equal(resp, head, sizeof(head));
    assert_bytes_equal(resp + sizeof(head), pcr, NSM_PCR_SIZE);
}

/* ---- known-answer encodings (§3, §4) ---------------------------------- */

static void describe_pcr(void **state)
{
    char hex[512];
    size_t i;

    /* §3 request bytes; PCR16 at boot: unlocked and zero, keys lock, data */
    send_hex("a16b4465736372696265504352a165696e64657810");
    strcpy(hex, "a1" T_DESCRIBE_PCR "a2646c6f636bf4" T_DATA "5830");
    for (i = 0; i < NSM_PCR_SIZE; i++) {
        strcat(hex, "00");
    }
    expect_hex(hex);
}

static void describe_pcr_boot_state(void **state)
{
    uint8_t pcr[NSM_PCR_SIZE], zero[NSM_PCR_SIZE] = {0};
    bool locked;
    unsigned i;

    for (i = 0; i < NSM_PCR_COUNT; i++) {
        read_pcr(i, pcr, &locked);
        assert_int_equal(locked, i < 16);
        if (i >= 16 || i == 0 || i == 1 || i == 2 || i == 8) {
            assert_bytes_equal(pcr, zero, NSM_PCR_SIZE);
        }
    }
}

static void extend_pcr_known_answer(void **state)
{
    uint8_t zero[NSM_PCR_SIZE] = {0}, want[NSM_PCR_SIZE], got[NSM_PCR_SIZE];
    static const uint8_t data[] = {1, 2, 3};
    bool locked;

    send_hex("a169457874656e64504352a265696e64657810646461746143010203");
    assert_int_equal(
        crypto_sha384_2(zero, sizeof(zero), data, sizeof(data), want), 0);
    expect_extend_ok(want);
    read_pcr(16, got, &locked);
    assert_false(locked);
    assert_bytes_equal(got, want, NSM_PCR_SIZE);
}

static void lock_pcr(void **state)
{
    uint8_t pcr[NSM_PCR_SIZE];
    bool locked;

    send_hex("a1" T_LOCK_PCR "a1" T_INDEX "10");
    expect_hex("674c6f636b504352");
    read_pcr(16, pcr, &locked);
    assert_true(locked);
    read_pcr(17, pcr, &locked);
    assert_false(locked);
}

static void lock_pcrs(void **state)
{
    uint8_t pcr[NSM_PCR_SIZE];
    bool locked;
    unsigned i;

    send_hex("a1684c6f636b50435273a16572616e67651820");
    expect_hex("684c6f636b50435273");
    for (i = 0; i < NSM_PCR_COUNT; i++) {
        read_pcr(i, pcr, &locked);
        assert_true(locked);
    }
}

static void lock_pcrs_zero_range(void **state)
{
    uint8_t pcr[NSM_PCR_SIZE];
    bool locked;

    send_hex("a1" T_LOCK_PCRS "a1" T_RANGE "00");
    expect_hex("684c6f636b50435273");
    read_pcr(16, pcr, &locked);
    assert_false(locked);
}

static void describe_nsm(void **state)
{
    char hex[1024];
    unsigned i;

    send_hex("6b44657363726962654e534d");
    /*
     * {"DescribeNSM": {"version_major": 1, "version_minor": 0,
     *  "version_patch": 0, "module_id": "...", "max_pcrs": 32,
     *  "locked_pcrs": [0..15], "digest": "SHA384"}}
     */
    strcpy(hex, "a1" T_DESCRIBE_NSM "a7"
                "6d76657273696f6e5f6d616a6f7201"
                "6d76657273696f6e5f6d696e6f7200"
                "6d76657273696f6e5f706174636800"
                "696d6f64756c655f6964"
                "7827"
                "692d30393138663663353565336236316438392d656e6330313861613862"
                "386532323835643133"
                "686d61785f706372731820"
                "6b6c6f636b65645f7063727390");
    for (i = 0; i < 16; i++) {
        sprintf(hex + strlen(hex), "%02x", i);
    }
    strcat(hex, "66646967657374"
                "66534841333834");
    expect_hex(hex);
}

static void describe_nsm_after_lock(void **state)
{
    static const uint8_t tail[] = {0x6b, 'l', 'o', 'c', 'k', 'e', 'd',
                                   '_',  'p', 'c', 'r', 's', 0x94};
    size_t i;

    send_hex("a1" T_LOCK_PCRS "a1" T_RANGE "14"); /* range 20 */
    send_hex(T_DESCRIBE_NSM);
    for (i = 0; i + sizeof(tail) < resp_len; i++) {
        if (memcmp(resp + i, tail, sizeof(tail)) == 0) {
            break;
        }
    }
    assert_true(i + sizeof(tail) < resp_len);
    /* 20 entries, 0..19 each one byte */
    assert_int_equal(resp[i + sizeof(tail)], 0x00);
    assert_int_equal(resp[i + sizeof(tail) + 19], 0x13);
}

static const uint8_t random_head[] = {
    0xa1, 0x69, 'G', 'e', 't', 'R', 'a', 'n', 'd',  'o',  'm',
    0xa1, 0x66, 'r', 'a', 'n', 'd', 'o', 'm', 0x59, 0x01, 0x00};

static void get_random(void **state)
{
    uint8_t first[NSM_RANDOM_SIZE];

    send_hex("6947657452616e646f6d");
    assert_int_equal(resp_len, sizeof(random_head) + NSM_RANDOM_SIZE);
    assert_bytes_equal(resp, random_head, sizeof(random_head));
    assert_int_equal(tp.n_random_calls, 1);
    memcpy(first, resp + sizeof(random_head), NSM_RANDOM_SIZE);
    send_hex(T_GET_RANDOM);
    assert_int_equal(resp_len, sizeof(random_head) + NSM_RANDOM_SIZE);
    assert_true(memcmp(first, resp + sizeof(random_head), NSM_RANDOM_SIZE) !=
                0);
}

/*
 * Parent and child of a fork must never receive the same random bytes,
 * even though the DRBG output is drawn in per-thread batches.
 */
static void get_random_distinct_after_fork(void **state)
{
    uint8_t parent[NSM_RANDOM_SIZE], child[NSM_RANDOM_SIZE];
    int fds[2], status;
    ssize_t n;
    pid_t pid;

    send_hex(T_GET_RANDOM); /* the batch now holds unused output */
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t len;
        uint8_t req[16];
        size_t req_len = harness_hex(T_GET_RANDOM, req, sizeof(req));

        close(fds[0]);
        if (nsm_handle(&dev, req, req_len, resp, sizeof(resp), &len) !=
                NSM_OK ||
            write(fds[1], resp + sizeof(random_head), NSM_RANDOM_SIZE) !=
                NSM_RANDOM_SIZE) {
            _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    send_hex(T_GET_RANDOM);
    memcpy(parent, resp + sizeof(random_head), NSM_RANDOM_SIZE);
    n = read(fds[0], child, sizeof(child));
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(n, NSM_RANDOM_SIZE);
    assert_true(memcmp(parent, child, NSM_RANDOM_SIZE) != 0);
}

static void get_random_linux_prefix(void **state)
{
    /* the 19 bytes nsm_rng_read() insists on */
    static const uint8_t linux_prefix[19] = {
        0xa1, 0x69, 0x47, 0x65, 0x74, 0x52, 0x61, 0x6e, 0x64, 0x6f,
        0x6d, 0xa1, 0x66, 0x72, 0x61, 0x6e, 0x64, 0x6f, 0x6d};

    send_hex(T_GET_RANDOM);
    assert_bytes_equal(resp, linux_prefix, sizeof(linux_prefix));
}

static void unit_variant_map_form(void **state)
{
    send_hex("a1" T_GET_RANDOM "f6");
    assert_bytes_equal(resp, random_head, sizeof(random_head));
    send_hex("a1" T_DESCRIBE_NSM "f6");
    assert_int_equal(resp[0], 0xa1);
    assert_int_equal(resp[1], 0x6b);
    /* a unit variant with a struct value is not a unit variant */
    hex_error("a1" T_DESCRIBE_NSM "a0", "InvalidOperation");
    /* a struct variant named alone is not a request */
    hex_error(T_DESCRIBE_PCR, "InvalidOperation");
}

/* ---- real-hardware table, one test per row ------------------------ */

static void err_unknown_command(void **state)
{
    hex_error("6b446f536f6d657468696e67", "InvalidOperation"); /* text */
    hex_error("ffffffff", "InvalidOperation");
    hex_error("", "InvalidOperation");
    hex_error("a1"
              "6b446f536f6d657468696e67"
              "a0",
              "InvalidOperation");
}

static void err_misspelled_key(void **state)
{
    hex_error("a1" T_DESCRIBE_PCR "a164696e646510", "InvalidOperation");
    hex_error("a1" T_LOCK_PCRS "a16472616e6710", "InvalidOperation");
    hex_error("a1" T_EXTEND_PCR "a2" T_INDEX "10"
              "63646174"
              "4101",
              "InvalidOperation");
}

static void err_extra_top_level_key(void **state)
{
    hex_error("a2" T_DESCRIBE_PCR "a1" T_INDEX "10"
              "6161"
              "01",
              "InvalidOperation");
    hex_error("bf" T_DESCRIBE_PCR "a1" T_INDEX "10"
              "6161"
              "01"
              "ff",
              "InvalidOperation");
    hex_error("a0", "InvalidOperation");
}

static void extra_inner_keys_ignored2(void **state)
{
    /* {"DescribePCR": {"a": 1, "index": 16, "b": {1: [null, true],
     *  2: {_ "x": (_ h'00')}}}} */
    send_hex("a1" T_DESCRIBE_PCR "a3"
             "616101" T_INDEX "10"
             "6162a20182f6f502bf61785f4100ffff");
    assert_int_equal(resp_len, 1 + 12 + 1 + 5 + 1 + 5 + 2 + NSM_PCR_SIZE);
    /* LockPCRs with an unknown key first */
    send_hex("a1" T_LOCK_PCRS "a2"
             "63666f6f"
             "83010203" T_RANGE "10");
    expect_hex("684c6f636b50435273");
}

static void err_index_text(void **state)
{
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "623136", "InvalidOperation");
    hex_error("a1" T_LOCK_PCRS "a1" T_RANGE "623136", "InvalidOperation");
}

static void err_index_null(void **state)
{
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "f6", "InvalidOperation");
    hex_error("a1" T_LOCK_PCR "a1" T_INDEX "f6", "InvalidOperation");
}

static void err_index_bstr(void **state)
{
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "4110", "InvalidOperation");
    hex_error("a1" T_EXTEND_PCR "a2" T_INDEX "4110" T_DATA "40",
              "InvalidOperation");
}

static void err_index_negative(void **state)
{
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "20", "InvalidOperation");
    hex_error("a1" T_LOCK_PCRS "a1" T_RANGE "3863", "InvalidOperation");
}

static void err_index_2_pow_32(void **state)
{
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "1b0000000100000000",
              "InvalidOperation");
    hex_error("a1" T_LOCK_PCR "a1" T_INDEX "1b0000000100000000",
              "InvalidOperation");
}

static void err_index_50(void **state)
{
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "1832", "InvalidIndex");
    hex_error("a1" T_LOCK_PCR "a1" T_INDEX "1832", "InvalidIndex");
    hex_error("a1" T_EXTEND_PCR "a2" T_INDEX "1832" T_DATA "4100",
              "InvalidIndex");
}

static void err_range_50(void **state)
{
    hex_error("a1" T_LOCK_PCRS "a1" T_RANGE "1832", "InvalidIndex");
    hex_error("a1" T_LOCK_PCRS "a1" T_RANGE "1821", "InvalidIndex"); /* 33 */
}

static void err_lock_locked_pcr(void **state)
{
    hex_error("a1" T_LOCK_PCR "a1" T_INDEX "00", "ReadOnlyIndex");
    hex_error("a1" T_LOCK_PCR "a1" T_INDEX "0f", "ReadOnlyIndex");
    send_hex("a1" T_LOCK_PCR "a1" T_INDEX "10");
    expect_hex("674c6f636b504352");
    hex_error("a1" T_LOCK_PCR "a1" T_INDEX "10", "ReadOnlyIndex");
}

static void lock_pcrs_twice(void **state)
{
    send_hex("a1" T_LOCK_PCRS "a1" T_RANGE "14");
    expect_hex("684c6f636b50435273");
    send_hex("a1" T_LOCK_PCRS "a1" T_RANGE "14");
    expect_hex("684c6f636b50435273");
    hex_error("a1" T_LOCK_PCR "a1" T_INDEX "13", "ReadOnlyIndex");
    send_hex("a1" T_LOCK_PCR "a1" T_INDEX "14");
    expect_hex("674c6f636b504352");
}

static void err_extend_locked_pcr(void **state)
{
    uint8_t before[NSM_PCR_SIZE], after[NSM_PCR_SIZE];
    bool locked;

    read_pcr(0, before, &locked);
    hex_error("a1" T_EXTEND_PCR "a2" T_INDEX "00" T_DATA "4100",
              "ReadOnlyIndex");
    read_pcr(0, after, &locked);
    assert_bytes_equal(after, before, NSM_PCR_SIZE);
    send_hex("a1" T_LOCK_PCR "a1" T_INDEX "11");
    hex_error("a1" T_EXTEND_PCR "a2" T_INDEX "11" T_DATA "4100",
              "ReadOnlyIndex");
}

static void err_extend_no_data(void **state)
{
    hex_error("a1" T_EXTEND_PCR "a1" T_INDEX "10", "InvalidOperation");
    hex_error("a1" T_EXTEND_PCR "a2" T_INDEX "10" T_DATA "f6",
              "InvalidOperation");
    hex_error("a1" T_EXTEND_PCR "a1" T_DATA "4100", "InvalidOperation");
    /* parsing comes first: index 50 without data is still malformed */
    hex_error("a1" T_EXTEND_PCR "a1" T_INDEX "1832", "InvalidOperation");
}

static void extend_data_text(void **state)
{
    uint8_t zero[NSM_PCR_SIZE] = {0}, want[NSM_PCR_SIZE];

    send_hex("a1" T_EXTEND_PCR "a2" T_INDEX "10" T_DATA "6568656c6c6f");
    assert_int_equal(crypto_sha384_2(zero, sizeof(zero), "hello", 5, want), 0);
    expect_extend_ok(want);
}

static void extend_data_indefinite_and_array(void **state)
{
    uint8_t zero[NSM_PCR_SIZE] = {0}, want[NSM_PCR_SIZE];

    /* (_ h'0102', h'03') and (_ "he", "llo") and [1, 2, 3] */
    send_hex("a1" T_EXTEND_PCR "a2" T_INDEX "10" T_DATA "5f420102"
             "4103ff");
    assert_int_equal(
        crypto_sha384_2(zero, sizeof(zero), "\x01\x02\x03", 3, want), 0);
    expect_extend_ok(want);
    send_hex("a1" T_EXTEND_PCR "a2" T_INDEX "11" T_DATA "7f626865636c6c6fff");
    assert_int_equal(crypto_sha384_2(zero, sizeof(zero), "hello", 5, want), 0);
    expect_extend_ok(want);
    send_hex("a1" T_EXTEND_PCR "a2" T_INDEX "12" T_DATA "83010203");
    assert_int_equal(
        crypto_sha384_2(zero, sizeof(zero), "\x01\x02\x03", 3, want), 0);
    expect_extend_ok(want);
    /* array elements must be bytes; mixed chunks are malformed */
    hex_error("a1" T_EXTEND_PCR "a2" T_INDEX "12" T_DATA "8201190100",
              "InvalidOperation");
    hex_error("a1" T_EXTEND_PCR "a2" T_INDEX "12" T_DATA "5f4101"
              "6161ff",
              "InvalidOperation");
    /* text must be valid UTF-8, as serde requires */
    hex_error("a1" T_EXTEND_PCR "a2" T_INDEX "12" T_DATA "62c328",
              "InvalidOperation");
}

static void err_attestation_not_a_map(void **state)
{
    hex_error("a1" T_ATTESTATION "6568656c6c6f", "InvalidOperation");
    hex_error("a1" T_ATTESTATION "f6", "InvalidOperation");
    hex_error(T_ATTESTATION, "InvalidOperation");
}

static void err_attestation_field_type(void **state)
{
    hex_error("a1" T_ATTESTATION "a1" T_NONCE "1834", "InvalidOperation");
    hex_error("a1" T_ATTESTATION "a1" T_USER_DATA "f5", "InvalidOperation");
    hex_error("a1" T_ATTESTATION "a1" T_PUBLIC_KEY "a0", "InvalidOperation");
}

/* ---- attestation document parsing ------------------------------------- */

/**
 * struct doc - what a produced attestation document contains.
 * Byte fields point into resp; present false means null.
 */
struct doc_field {
    bool present;
    const uint8_t *p;
    size_t len;
};

struct doc {
    const uint8_t *cose;
    size_t cose_len;
    const uint8_t *payload;
    size_t payload_len;
    const uint8_t *sig;
    char module_id[NSM_MODULE_ID_MAX + 1];
    uint64_t timestamp;
    unsigned n_pcrs;
    unsigned pcr_index[NSM_PCR_COUNT];
    const uint8_t *pcr[NSM_PCR_COUNT];
    struct doc_field cert;
    size_t n_cabundle;
    struct doc_field cabundle[NSM_CABUNDLE_MAX];
    struct doc_field public_key, user_data, nonce;
};

static void next_tok(struct cbor_rd *rd, struct cbor_tok *t)
{
    assert_int_equal(cbor_rd_next(rd, t), 0);
}

static void expect_key(struct cbor_rd *rd, const char *key)
{
    struct cbor_tok t;

    next_tok(rd, &t);
    assert_int_equal(t.type, CBOR_TOK_TEXT);
    assert_int_equal(t.len, strlen(key));
    assert_memory_equal(t.p, key, t.len);
}

static void read_bstr_or_null(struct cbor_rd *rd, struct doc_field *f)
{
    struct cbor_tok t;

    next_tok(rd, &t);
    if (t.type == CBOR_TOK_NULL) {
        f->present = false;
        return;
    }
    assert_int_equal(t.type, CBOR_TOK_BYTES);
    f->present = true;
    f->p = t.p;
    f->len = t.len;
}

/* Check the COSE_Sign1 layout of @cose and decode its payload into @d. */
static void parse_cose(const uint8_t *cose, size_t cose_len, struct doc *d)
{
    static const uint8_t head[] = {0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0};
    struct cbor_rd rd, pl;
    struct cbor_tok t;
    uint64_t i;

    memset(d, 0, sizeof(*d));
    d->cose = cose;
    d->cose_len = cose_len;
    assert_true(cose_len > sizeof(head));
    assert_bytes_equal(cose, head, sizeof(head));
    cbor_rd_init(&rd, cose + sizeof(head), cose_len - sizeof(head));
    next_tok(&rd, &t);
    assert_int_equal(t.type, CBOR_TOK_BYTES);
    /* minimal bstr head */
    assert_int_equal((size_t)(t.p - t.head), cbor_head_size(t.len));
    d->payload = t.p;
    d->payload_len = t.len;
    next_tok(&rd, &t);
    assert_int_equal(t.type, CBOR_TOK_BYTES);
    assert_int_equal(t.len, 96);
    assert_int_equal(t.head[0], 0x58);
    assert_int_equal(t.head[1], 0x60);
    d->sig = t.p;
    assert_true(cbor_rd_done(&rd));

    cbor_rd_init(&pl, d->payload, d->payload_len);
    next_tok(&pl, &t);
    assert_int_equal(t.head[0], 0xa9); /* definite map, 9 pairs */
    expect_key(&pl, "module_id");
    next_tok(&pl, &t);
    assert_int_equal(t.type, CBOR_TOK_TEXT);
    assert_true(t.len <= NSM_MODULE_ID_MAX);
    memcpy(d->module_id, t.p, t.len);
    expect_key(&pl, "digest");
    next_tok(&pl, &t);
    assert_int_equal(t.type, CBOR_TOK_TEXT);
    assert_int_equal(t.len, 6);
    assert_memory_equal(t.p, "SHA384", 6);
    expect_key(&pl, "timestamp");
    next_tok(&pl, &t);
    assert_int_equal(t.type, CBOR_TOK_UINT);
    assert_int_equal(t.head[0], 0x1b); /* always 8-byte form */
    d->timestamp = t.u;
    expect_key(&pl, "pcrs");
    next_tok(&pl, &t);
    assert_int_equal(t.type, CBOR_TOK_MAP);
    assert_true(t.u <= NSM_PCR_COUNT);
    d->n_pcrs = (unsigned)t.u;
    for (i = 0; i < t.u; i++) {
        struct cbor_tok k, v;

        next_tok(&pl, &k);
        assert_int_equal(k.type, CBOR_TOK_UINT);
        next_tok(&pl, &v);
        assert_int_equal(v.type, CBOR_TOK_BYTES);
        assert_int_equal(v.len, NSM_PCR_SIZE);
        assert_int_equal(v.head[0], 0x58);
        d->pcr_index[i] = (unsigned)k.u;
        d->pcr[i] = v.p;
        if (i > 0) {
            assert_true(d->pcr_index[i] > d->pcr_index[i - 1]);
        }
    }
    expect_key(&pl, "certificate");
    read_bstr_or_null(&pl, &d->cert);
    assert_true(d->cert.present);
    expect_key(&pl, "cabundle");
    next_tok(&pl, &t);
    assert_int_equal(t.type, CBOR_TOK_ARRAY);
    assert_true(t.u <= NSM_CABUNDLE_MAX);
    d->n_cabundle = (size_t)t.u;
    for (i = 0; i < t.u; i++) {
        read_bstr_or_null(&pl, &d->cabundle[i]);
        assert_true(d->cabundle[i].present);
    }
    expect_key(&pl, "public_key");
    read_bstr_or_null(&pl, &d->public_key);
    expect_key(&pl, "user_data");
    read_bstr_or_null(&pl, &d->user_data);
    expect_key(&pl, "nonce");
    read_bstr_or_null(&pl, &d->nonce);
    assert_true(cbor_rd_done(&pl));
}

/* The response must be {"Attestation": {"document": bstr}}; parse it. */
static void parse_attestation_resp(struct doc *d)
{
    static const uint8_t head[] = {0xa1, 0x6b, 'A', 't', 't', 'e',  's',  't',
                                   'a',  't',  'i', 'o', 'n', 0xa1, 0x68, 'd',
                                   'o',  'c',  'u', 'm', 'e', 'n',  't'};
    struct cbor_rd rd;
    struct cbor_tok t;

    assert_true(resp_len > sizeof(head));
    assert_bytes_equal(resp, head, sizeof(head));
    cbor_rd_init(&rd, resp + sizeof(head), resp_len - sizeof(head));
    next_tok(&rd, &t);
    assert_int_equal(t.type, CBOR_TOK_BYTES);
    assert_int_equal((size_t)(t.p - t.head), cbor_head_size(t.len));
    assert_true(cbor_rd_done(&rd));
    parse_cose(t.p, t.len, d);
}

/* Rebuild the Sig_structure and check the signature with @key. */
static bool doc_signature_ok(const struct doc *d, const struct crypto_key *key)
{
    static uint8_t sig_structure[NSM_RESPONSE_MAX_SIZE + 64];
    struct cbor_wr w;

    cbor_wr_init(&w, sig_structure, sizeof(sig_structure));
    cbor_put_array(&w, 4);
    cbor_put_cstr(&w, "Signature1");
    cbor_put_bytes(&w, "\xa1\x01\x38\x22", 4);
    cbor_put_bytes(&w, NULL, 0);
    cbor_put_bytes(&w, d->payload, d->payload_len);
    assert_false(w.overflow);
    return crypto_ecdsa_p384_verify(key, sig_structure, w.len, d->sig);
}

static void attestation_document(void **state)
{
    uint8_t pcr[16][NSM_PCR_SIZE];
    struct doc d;
    bool locked;
    unsigned i;

    for (i = 0; i < 16; i++) {
        read_pcr(i, pcr[i], &locked);
    }
    send_hex("a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e6365"
             "f66a7075626c69635f6b6579f6");
    parse_attestation_resp(&d);
    assert_string_equal(d.module_id, TEST_MODULE_ID);
    assert_true(d.timestamp == TEST_NOW_MS);
    assert_int_equal(d.n_pcrs, 16);
    for (i = 0; i < 16; i++) {
        assert_int_equal(d.pcr_index[i], i);
        assert_bytes_equal(d.pcr[i], pcr[i], NSM_PCR_SIZE);
    }
    assert_int_equal(d.cert.len, LEAF_SIZE);
    assert_bytes_equal(d.cert.p, tp.leaf, LEAF_SIZE);
    assert_int_equal(d.n_cabundle, 4);
    for (i = 0; i < 4; i++) {
        assert_int_equal(d.cabundle[i].len, CA_SIZE);
        assert_bytes_equal(d.cabundle[i].p, tp.ca[i], CA_SIZE);
    }
    assert_false(d.public_key.present);
    assert_false(d.user_data.present);
    assert_false(d.nonce.present);
    assert_true(doc_signature_ok(&d, test_key));
}

static void attestation_signature_tamper(void **state)
{
    struct crypto_key *other;
    struct doc d;

    send_hex("a1" T_ATTESTATION "a0");
    parse_attestation_resp(&d);
    assert_true(doc_signature_ok(&d, test_key));
    other = crypto_key_generate_p384();
    assert_non_null(other);
    assert_false(doc_signature_ok(&d, other));
    crypto_key_free(other);
    /* flip one payload byte (inside the module id) */
    resp[(size_t)(d.payload - resp) + 12] ^= 1;
    assert_false(doc_signature_ok(&d, test_key));
    resp[(size_t)(d.payload - resp) + 12] ^= 1;
    resp[(size_t)(d.sig - resp) + 95] ^= 0x80;
    assert_false(doc_signature_ok(&d, test_key));
}

static void attestation_empty_and_unknown(void **state)
{
    struct doc d;

    send_hex("a1" T_ATTESTATION "a0");
    parse_attestation_resp(&d);
    assert_false(d.public_key.present || d.user_data.present ||
                 d.nonce.present);
    send_hex("a1" T_ATTESTATION "a2"
             "63666f6f"
             "4101"
             "6162"
             "f6");
    parse_attestation_resp(&d);
    assert_false(d.public_key.present || d.user_data.present ||
                 d.nonce.present);
    /* indefinite inner map */
    send_hex("a1" T_ATTESTATION "bf" T_NONCE "4101"
             "ff");
    parse_attestation_resp(&d);
    assert_true(d.nonce.present && d.nonce.len == 1 && d.nonce.p[0] == 1);
}

static void attestation_text_fields(void **state)
{
    struct doc d;

    /* user_data "ab", nonce "nonce", public_key "key" (text) */
    send_hex("a1" T_ATTESTATION "a3" T_USER_DATA "626162" T_NONCE
             "656e6f6e6365" T_PUBLIC_KEY "636b6579");
    parse_attestation_resp(&d);
    assert_true(d.user_data.present && d.user_data.len == 2);
    assert_memory_equal(d.user_data.p, "ab", 2);
    assert_true(d.nonce.present && d.nonce.len == 5);
    assert_memory_equal(d.nonce.p, "nonce", 5);
    assert_true(d.public_key.present && d.public_key.len == 3);
    assert_memory_equal(d.public_key.p, "key", 3);
    /* and they are byte strings in the document (parse_cose checks type) */
    assert_true(doc_signature_ok(&d, test_key));
}

static void attestation_zero_length_fields(void **state)
{
    struct doc d;

    send_hex("a1" T_ATTESTATION "a3" T_USER_DATA "40" T_NONCE "60" T_PUBLIC_KEY
             "40");
    parse_attestation_resp(&d);
    assert_true(d.user_data.present && d.user_data.len == 0);
    assert_true(d.nonce.present && d.nonce.len == 0);
    assert_true(d.public_key.present && d.public_key.len == 0);
}

/* {"Attestation": {...}} with the given field sizes, filled with @fill. */
static size_t build_attestation(uint8_t *req, size_t cap, size_t user_len,
                                size_t nonce_len, size_t pk_len, int fill)
{
    static uint8_t buf[NSM_REQUEST_MAX_SIZE];
    struct cbor_wr w;

    memset(buf, fill, sizeof(buf));
    cbor_wr_init(&w, req, cap);
    cbor_put_map(&w, 1);
    cbor_put_cstr(&w, "Attestation");
    cbor_put_map(&w, (user_len > 0) + (nonce_len > 0) + (pk_len > 0));
    if (user_len > 0) {
        cbor_put_cstr(&w, "user_data");
        cbor_put_bytes(&w, buf, user_len);
    }
    if (nonce_len > 0) {
        cbor_put_cstr(&w, "nonce");
        cbor_put_bytes(&w, buf, nonce_len);
    }
    if (pk_len > 0) {
        cbor_put_cstr(&w, "public_key");
        cbor_put_bytes(&w, buf, pk_len);
    }
    assert_false(w.overflow);
    return w.len;
}

static void attestation_large_fields(void **state)
{
    uint8_t req[NSM_REQUEST_MAX_SIZE];
    struct doc d;
    size_t n;

    n = build_attestation(req, sizeof(req), 0, 0, 4050, 0x5a);
    assert_true(n <= NSM_REQUEST_MAX_SIZE);
    send_raw(req, n);
    parse_attestation_resp(&d);
    assert_true(d.public_key.present && d.public_key.len == 4050);
    n = build_attestation(req, sizeof(req), 0, 4073, 0, 0x6b);
    assert_true(n <= NSM_REQUEST_MAX_SIZE);
    send_raw(req, n);
    parse_attestation_resp(&d);
    assert_true(d.nonce.present && d.nonce.len == 4073);
    assert_true(doc_signature_ok(&d, test_key));
    /* NSMAPI's own check: 1024 bytes each together */
    n = build_attestation(req, sizeof(req), 1024, 1024, 1024, 0x01);
    send_raw(req, n);
    parse_attestation_resp(&d);
    assert_true(d.user_data.len == 1024 && d.nonce.len == 1024 &&
                d.public_key.len == 1024);
}

static void attestation_maximal_fits(void **state)
{
    uint8_t req[NSM_REQUEST_MAX_SIZE];
    struct doc d;
    size_t n, user = 1360, nonce = 1360, pk;

    /* grow public_key until the request is exactly 4096 bytes */
    for (pk = 1000; pk < 4096; pk++) {
        n = build_attestation(req, sizeof(req) + 0, user, nonce, pk, 0x77);
        if (n == NSM_REQUEST_MAX_SIZE) {
            break;
        }
    }
    assert_int_equal(n, NSM_REQUEST_MAX_SIZE);
    /* leaf and four ~800-byte CA certificates, as on real NSM */
    send_raw(req, n);
    parse_attestation_resp(&d);
    assert_true(d.user_data.len == user && d.nonce.len == nonce &&
                d.public_key.len == pk);
    assert_true(resp_len <= NSM_RESPONSE_MAX_SIZE);
    assert_true(doc_signature_ok(&d, test_key));
    /* and with all 32 PCRs locked (the largest pcrs map) */
    send_hex("a1" T_LOCK_PCRS "a1" T_RANGE "1820");
    send_raw(req, n);
    parse_attestation_resp(&d);
    assert_int_equal(d.n_pcrs, 32);
    assert_true(doc_signature_ok(&d, test_key));
    printf("maximal response: %zu of %d bytes\n", resp_len,
           NSM_RESPONSE_MAX_SIZE);
}

static void attestation_pcrs_after_lock(void **state)
{
    struct doc d;
    unsigned i;

    send_hex("a1" T_EXTEND_PCR "a2" T_INDEX "12" T_DATA "4101");
    send_hex("a1" T_LOCK_PCRS "a1" T_RANGE "14"); /* 20 */
    send_hex("a1" T_ATTESTATION "a0");
    parse_attestation_resp(&d);
    assert_int_equal(d.n_pcrs, 20);
    for (i = 0; i < 20; i++) {
        assert_int_equal(d.pcr_index[i], i);
    }
    /* only locked PCRs: locking 25 alone adds key 25 after 19 */
    send_hex("a1" T_LOCK_PCR "a1" T_INDEX "1819");
    send_hex("a1" T_ATTESTATION "a0");
    parse_attestation_resp(&d);
    assert_int_equal(d.n_pcrs, 21);
    assert_int_equal(d.pcr_index[20], 25);
}

static void attestation_small_timestamp(void **state)
{
    struct doc d;

    tp.now_ms = 5;
    send_hex("a1" T_ATTESTATION "a0");
    parse_attestation_resp(&d); /* checks the 1b head */
    assert_true(d.timestamp == 5);
}

static void attestation_short_payload(void **state)
{
    struct doc d;

    /* tiny certificates and no cabundle: payload under 256 bytes */
    tp.signer.cert_len = 3;
    tp.signer.n_cabundle = 0;
    send_hex("a1" T_LOCK_PCRS "a1" T_RANGE "00");
    {
        struct nsm_boot b;

        default_boot(&b);
        strcpy(b.module_id, "i");
        assert_int_equal(nsm_init(&dev, &b, &tp_ops, &tp), NSM_OK);
    }
    send_hex("a1" T_ATTESTATION "a0");
    parse_attestation_resp(&d);
    assert_true(d.payload_len < 0x400);
    assert_true(doc_signature_ok(&d, test_key));
}

/* ---- PCR extend vectors from real NSM ---------------------------- */

static void extend_vectors(void **state)
{
    static const char *const want[] = {
        "b33da05a0fdb71627c8c68fc4232281fc440edd6f0ac7467fa497bbb907db32d957b"
        "5fd393845fa02c264ad5ea233888",
        "022db9572e340c6fe4ae1ea55fc665226932209b42dd8c42556000e913aea3ffec9e"
        "55c2cfa7efcc5dc52b0ebf03eb5b",
        "8f0d145c0368ad6b70be22e41c400eea91b971d96ba220fec9fae25a58dffdaaf72d"
        "be8f6783d55128c9df4efaf6f8a7",
        "881f42f6a310bb0d4f37d9d75b038a9010d052f0f01a1aac8a34b38f573ba5e4dd8f"
        "3d5c8fd14e2f641774d1c4b4c96e",
        "ffbb97ea3c03451254d8059cbec835359939342226cb7b672a4fba3f90c3bd343bcb"
        "d3a1ab06988ce9cd139ef1709e8e",
    };
    static const uint8_t d0[] = {0x0b, 0x00, 0x37, 0x48,
                                 0x63, 0xff, 0x5c, 0x65};
    static const uint8_t d1[] = {0x65, 0x66, 0xff, 0x00, 0x17, 0x2c, 0x4d};
    static uint8_t zeros[4000];
    uint8_t pcr[NSM_PCR_SIZE], got[NSM_PCR_SIZE];
    bool locked;
    size_t i;

    extend_pcr(16, d0, sizeof(d0));
    harness_hex(want[0], pcr, sizeof(pcr));
    expect_extend_ok(pcr);
    extend_pcr(16, d1, sizeof(d1));
    harness_hex(want[1], pcr, sizeof(pcr));
    expect_extend_ok(pcr);
    read_pcr(16, got, &locked);
    assert_bytes_equal(got, pcr, NSM_PCR_SIZE);
    extend_pcr(17, NULL, 0);
    harness_hex(want[2], pcr, sizeof(pcr));
    expect_extend_ok(pcr);
    extend_pcr(17, zeros, 513);
    harness_hex(want[3], pcr, sizeof(pcr));
    expect_extend_ok(pcr);
    extend_pcr(17, zeros, 4000);
    harness_hex(want[4], pcr, sizeof(pcr));
    expect_extend_ok(pcr);
    for (i = 18; i < NSM_PCR_COUNT; i++) {
        read_pcr((unsigned)i, got, &locked);
        assert_bytes_equal(got, zeros, NSM_PCR_SIZE);
    }
}

/* ---- recommendations and parsing rules -------------------------------- */

static void rec_index_u16_range(void **state)
{
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "1820", "InvalidIndex");
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "190100", "InvalidIndex");
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "19ffff", "InvalidIndex");
    hex_error("a1" T_LOCK_PCR "a1" T_INDEX "19ffff", "InvalidIndex");
    hex_error("a1" T_LOCK_PCRS "a1" T_RANGE "19ffff", "InvalidIndex");
    hex_error("a1" T_EXTEND_PCR "a2" T_INDEX "19ffff" T_DATA "40",
              "InvalidIndex");
    /* wider heads for small values are fine (serde ignores width) */
    send_hex("a1" T_DESCRIBE_PCR "a1" T_INDEX "1b0000000000000010");
    assert_int_equal(resp[0], 0xa1);
    assert_int_equal(resp[1], 0x6b);
}

static void rec_index_over_u16(void **state)
{
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "1a00010000",
              "InvalidOperation");
    hex_error("a1" T_LOCK_PCRS "a1" T_RANGE "1a00010000", "InvalidOperation");
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "f93c00", "InvalidOperation");
    hex_error("a1" T_DESCRIBE_PCR "a1" T_INDEX "c110", "InvalidOperation");
}

static void rec_input_too_large(void **state)
{
    static uint8_t req[NSM_REQUEST_MAX_SIZE + 1];
    size_t n;

    n = build_attestation(req, sizeof(req), 0, 0, 4050, 0);
    /* pad the byte string so the request is one byte over the cap */
    n = build_attestation(req, sizeof(req), 0, 0, 4050 + (4097 - n), 0);
    assert_int_equal(n, NSM_REQUEST_MAX_SIZE + 1);
    send_raw(req, n);
    expect_error("InputTooLarge");
    /* even garbage over the cap is InputTooLarge */
    memset(req, 0xff, sizeof(req));
    send_raw(req, sizeof(req));
    expect_error("InputTooLarge");
}

static void parse_trailing_bytes(void **state)
{
    hex_error(T_GET_RANDOM "00", "InvalidOperation");
    hex_error("a1" T_LOCK_PCRS "a1" T_RANGE "10"
              "f6",
              "InvalidOperation");
    hex_error(T_DESCRIBE_NSM T_DESCRIBE_NSM, "InvalidOperation");
}

static void parse_truncated(void **state)
{
    static const char *const reqs[] = {
        "a1" T_EXTEND_PCR "a2" T_INDEX "10" T_DATA "43010203",
        "a1" T_ATTESTATION "a3" T_USER_DATA "4100" T_NONCE "f6" T_PUBLIC_KEY
        "f6",
        "bf" T_LOCK_PCRS "bf" T_RANGE "10ff"
        "ff",
        T_GET_RANDOM,
    };
    uint8_t req[256];
    size_t i, n, cut;

    for (i = 0; i < TV_ARRAY_SIZE(reqs); i++) {
        n = harness_hex(reqs[i], req, sizeof(req));
        send_raw(req, n);
        assert_true(memcmp(resp,
                           "\xa1\x65"
                           "Error",
                           7) != 0);
        for (cut = 0; cut < n; cut++) {
            send_raw(req, cut);
            expect_error("InvalidOperation");
        }
    }
}

static void parse_indefinite_outer(void **state)
{
    send_hex("bf" T_LOCK_PCRS "a1" T_RANGE "10"
             "ff");
    expect_hex("684c6f636b50435273");
    send_hex("bf" T_GET_RANDOM "f6ff");
    assert_bytes_equal(resp, random_head, sizeof(random_head));
    /* the variant name itself may be chunked */
    send_hex("bf"
             "7f644c6f636b6450435273ff"
             "a1" T_RANGE "10"
             "ff");
    expect_hex("684c6f636b50435273");
    send_hex("7f6647657452616e63646f6dff");
    assert_bytes_equal(resp, random_head, sizeof(random_head));
    /* an indefinite outer map with a second pair */
    hex_error("bf" T_LOCK_PCRS "a1" T_RANGE "10"
              "6161f6ff",
              "InvalidOperation");
}

static void parse_duplicate_keys(void **state)
{
    uint8_t pcr[NSM_PCR_SIZE];
    bool locked;

    hex_error("a1" T_LOCK_PCR "a2" T_INDEX "10" T_INDEX "11",
              "InvalidOperation");
    hex_error("a1" T_EXTEND_PCR "a3" T_INDEX "10" T_DATA "40" T_DATA "40",
              "InvalidOperation");
    hex_error("a1" T_ATTESTATION "a2" T_NONCE "f6" T_NONCE "4101",
              "InvalidOperation");
    read_pcr(16, pcr, &locked);
    assert_false(locked);
    /* duplicated unknown keys are just skipped */
    send_hex("a1" T_LOCK_PCR "a3"
             "6178f6"
             "6178f6" T_INDEX "10");
    expect_hex("674c6f636b504352");
}

static void parse_key_forms(void **state)
{
    /* a uint key selects a field by index, as serde allows */
    send_hex("a1" T_LOCK_PCR "a1"
             "00"
             "10");
    expect_hex("674c6f636b504352");
    /* a byte-string key naming the field */
    send_hex("a1" T_LOCK_PCR "a1"
             "45696e646578"
             "11");
    expect_hex("674c6f636b504352");
    /* keys of other types are malformed */
    hex_error("a1" T_LOCK_PCR "a1"
              "20"
              "12",
              "InvalidOperation");
    hex_error("a1" T_LOCK_PCR "a1"
              "f6"
              "12",
              "InvalidOperation");
    /* an unknown key whose value is malformed (truncated map) */
    hex_error("a1" T_LOCK_PCR "a2"
              "6178a201" T_INDEX "12",
              "InvalidOperation");
    /* a stray break inside a definite map */
    hex_error("a1" T_LOCK_PCR "a2" T_INDEX "12"
              "ff",
              "InvalidOperation");
    /* variant by index: 6 = GetRandom */
    send_hex("06");
    assert_bytes_equal(resp, random_head, sizeof(random_head));
    hex_error("07", "InvalidOperation");
}

static void parse_deep_nesting(void **state)
{
    char hex[512];
    size_t i;

    /* an unknown key whose value nests 40 arrays deep */
    strcpy(hex, "a1" T_LOCK_PCR "a2"
                "6178");
    for (i = 0; i < 40; i++) {
        strcat(hex, "81");
    }
    strcat(hex, "00" T_INDEX "10");
    hex_error(hex, "InvalidOperation");
}

/* ---- boot state -------------------------------------------------- */

/* Find the "pcrs" map of a real document's payload and read PCR @i. */
static void vector_pcr(const uint8_t *cose, size_t cose_len, uint64_t want_i,
                       uint8_t out[NSM_PCR_SIZE])
{
    struct cbor_rd rd;
    struct cbor_tok t, k, v;
    uint64_t n, i, j;

    cbor_rd_init(&rd, cose, cose_len);
    next_tok(&rd, &t);
    assert_int_equal(t.type, CBOR_TOK_ARRAY);
    next_tok(&rd, &t); /* protected */
    next_tok(&rd, &t); /* unprotected */
    assert_int_equal(cbor_rd_skip(&rd, &t), 0);
    next_tok(&rd, &t);
    assert_int_equal(t.type, CBOR_TOK_BYTES);
    cbor_rd_init(&rd, t.p, t.len);
    next_tok(&rd, &t);
    assert_int_equal(t.type, CBOR_TOK_MAP);
    n = t.u;
    for (i = 0; i < n; i++) {
        next_tok(&rd, &k);
        assert_int_equal(k.type, CBOR_TOK_TEXT);
        next_tok(&rd, &v);
        if (k.len == 4 && memcmp(k.p, "pcrs", 4) == 0) {
            assert_int_equal(v.type, CBOR_TOK_MAP);
            for (j = 0; j < v.u; j++) {
                struct cbor_tok pk, pv;

                next_tok(&rd, &pk);
                next_tok(&rd, &pv);
                assert_int_equal(pv.len, NSM_PCR_SIZE);
                if (pk.u == want_i) {
                    memcpy(out, pv.p, NSM_PCR_SIZE);
                    return;
                }
            }
            fail_msg("PCR %llu not in document", (unsigned long long)want_i);
        }
        assert_int_equal(cbor_rd_skip(&rd, &v), 0);
    }
    fail_msg("no pcrs in document");
}

static void boot_pcr4_matches_real_document(void **state)
{
    static uint8_t cose[8192];
    uint8_t want[NSM_PCR_SIZE], got[NSM_PCR_SIZE];
    size_t n;
    bool locked;

    n = harness_read_vector("nsm/evervault-ga-2023-09-18-debug.cose", cose,
                            sizeof(cose));
    vector_pcr(cose, n, 4, want);
    read_pcr(4, got, &locked);
    assert_true(locked);
    assert_bytes_equal(got, want, NSM_PCR_SIZE);
}

static void boot_matches_real_document_pcrs(void **state)
{
    static uint8_t cose[8192];
    uint8_t want[NSM_PCR_SIZE];
    struct nsm_boot b;
    struct doc d;
    size_t n;
    unsigned i;

    /*
     * The role ARN behind PCR3 is not published, so PCR3 is given as a raw
     * value; PCR4 comes from the instance id and debug mode zeroes the
     * image PCRs. The whole boot bank must then equal the real document's.
     */
    n = harness_read_vector("nsm/evervault-ga-2023-09-18-debug.cose", cose,
                            sizeof(cose));
    default_boot(&b);
    vector_pcr(cose, n, 3, b.pcr[3]);
    b.pcr_set = 1u << 3;
    /* explicit image PCRs are ignored in debug mode */
    memset(b.pcr[0], 0x42, NSM_PCR_SIZE);
    b.pcr_set |= 1u << 0;
    assert_int_equal(nsm_init(&dev, &b, &tp_ops, &tp), NSM_OK);
    send_hex("a1" T_ATTESTATION "a0");
    parse_attestation_resp(&d);
    assert_int_equal(d.n_pcrs, 16);
    for (i = 0; i < 16; i++) {
        vector_pcr(cose, n, i, want);
        assert_bytes_equal(d.pcr[i], want, NSM_PCR_SIZE);
    }
}

/* The text keys of a COSE_Sign1's payload map, in order, as one string. */
static void payload_keys(const uint8_t *cose, size_t cose_len, char *out,
                         size_t cap)
{
    struct cbor_rd rd;
    struct cbor_tok t, k, v;
    uint64_t i;

    out[0] = '\0';
    cbor_rd_init(&rd, cose, cose_len);
    next_tok(&rd, &t); /* array */
    next_tok(&rd, &t); /* protected */
    next_tok(&rd, &t); /* unprotected */
    assert_int_equal(cbor_rd_skip(&rd, &t), 0);
    next_tok(&rd, &t);
    assert_int_equal(t.type, CBOR_TOK_BYTES);
    cbor_rd_init(&rd, t.p, t.len);
    next_tok(&rd, &t);
    assert_int_equal(t.type, CBOR_TOK_MAP);
    for (i = 0; i < t.u; i++) {
        next_tok(&rd, &k);
        assert_int_equal(k.type, CBOR_TOK_TEXT);
        assert_true(strlen(out) + k.len + 2 < cap);
        strncat(out, (const char *)k.p, k.len);
        strcat(out, ",");
        next_tok(&rd, &v);
        assert_int_equal(cbor_rd_skip(&rd, &v), 0);
    }
}

static void attestation_layout_matches_real_document(void **state)
{
    static const char *const vectors[] = {
        "nsm/evervault-ga-2023-09-18-debug.cose",
        "nsm/evervault-beta-2022-10-12-debug.cose",
    };
    static uint8_t cose[8192];
    char want[256], got[256];
    struct doc d;
    size_t i, n;

    send_hex("a1" T_ATTESTATION "a1" T_NONCE "4101");
    parse_attestation_resp(&d);
    payload_keys(d.cose, d.cose_len, got, sizeof(got));
    assert_string_equal(got, "module_id,digest,timestamp,pcrs,certificate,"
                             "cabundle,public_key,user_data,nonce,");
    for (i = 0; i < TV_ARRAY_SIZE(vectors); i++) {
        n = harness_read_vector(vectors[i], cose, sizeof(cose));
        payload_keys(cose, n, want, sizeof(want));
        assert_string_equal(got, want);
        /* same COSE_Sign1 head and payload map head, byte for byte */
        assert_bytes_equal(d.cose, cose, 8);
        assert_int_equal(d.payload[0], cose[10]);
    }
}

static void boot_pcr3_from_arn(void **state)
{
    static const char arn[] = "arn:aws:iam::123456789012:role/enclave";
    uint8_t zero[NSM_PCR_SIZE] = {0}, want[NSM_PCR_SIZE], got[NSM_PCR_SIZE];
    struct nsm_boot b;
    bool locked;

    default_boot(&b);
    strcpy(b.parent_role_arn, arn);
    b.debug_mode = false;
    memset(b.pcr[0], 0x42, NSM_PCR_SIZE);
    memset(b.pcr[8], 0x43, NSM_PCR_SIZE);
    b.pcr_set = (1u << 0) | (1u << 8);
    assert_int_equal(nsm_init(&dev, &b, &tp_ops, &tp), NSM_OK);
    assert_int_equal(
        crypto_sha384_2(zero, sizeof(zero), arn, strlen(arn), want), 0);
    read_pcr(3, got, &locked);
    assert_true(locked);
    assert_bytes_equal(got, want, NSM_PCR_SIZE);
    read_pcr(0, got, &locked);
    assert_int_equal(got[0], 0x42);
    read_pcr(8, got, &locked);
    assert_int_equal(got[47], 0x43);
    read_pcr(5, got, &locked);
    assert_true(locked);
    assert_bytes_equal(got, zero, NSM_PCR_SIZE);
}

static void reset_restores_boot(void **state)
{
    uint8_t pcr[NSM_PCR_SIZE], zero[NSM_PCR_SIZE] = {0};
    bool locked;

    send_hex("a1" T_EXTEND_PCR "a2" T_INDEX "10" T_DATA "4101");
    send_hex("a1" T_LOCK_PCRS "a1" T_RANGE "1820");
    assert_int_equal(nsm_reset(&dev), NSM_OK);
    read_pcr(16, pcr, &locked);
    assert_false(locked);
    assert_bytes_equal(pcr, zero, NSM_PCR_SIZE);
    read_pcr(15, pcr, &locked);
    assert_true(locked);
}

static void init_rejects_bad_config(void **state)
{
    struct nsm_boot b;
    struct nsm_platform_ops bad = tp_ops;

    default_boot(&b);
    b.module_id[0] = '\0';
    assert_int_equal(nsm_init(&dev, &b, &tp_ops, &tp), NSM_ERR_CONFIG);
    default_boot(&b);
    memset(b.module_id, 'x', sizeof(b.module_id));
    assert_int_equal(nsm_init(&dev, &b, &tp_ops, &tp), NSM_ERR_CONFIG);
    default_boot(&b);
    memset(b.parent_id, 'x', sizeof(b.parent_id));
    assert_int_equal(nsm_init(&dev, &b, &tp_ops, &tp), NSM_ERR_CONFIG);
    default_boot(&b);
    bad.random = NULL;
    assert_int_equal(nsm_init(&dev, &b, &bad, &tp), NSM_ERR_CONFIG);
    assert_int_equal(nsm_init(&dev, &b, NULL, &tp), NSM_ERR_CONFIG);
    assert_string_equal(nsm_strerror(NSM_ERR_CONFIG),
                        "invalid NSM boot configuration or platform ops");
}

/* ---- platform failures and small buffers ------------------------------ */

static void platform_random_failure(void **state)
{
    uint8_t req[16];
    size_t n = harness_hex(T_GET_RANDOM, req, sizeof(req));

    tp.fail_random = true;
    assert_int_equal(nsm_handle(&dev, req, n, resp, sizeof(resp), &resp_len),
                     NSM_ERR_INTERNAL);
    expect_error("InternalError");
}

static void platform_signer_failure(void **state)
{
    uint8_t req[64];
    size_t n = harness_hex("a1" T_ATTESTATION "a0", req, sizeof(req));

    tp.fail_signer = true;
    assert_int_equal(nsm_handle(&dev, req, n, resp, sizeof(resp), &resp_len),
                     NSM_ERR_INTERNAL);
    expect_error("InternalError");
    tp.fail_signer = false;
    tp.signer.n_cabundle = NSM_CABUNDLE_MAX + 1;
    assert_int_equal(nsm_handle(&dev, req, n, resp, sizeof(resp), &resp_len),
                     NSM_ERR_INTERNAL);
}

static void small_response_buffer(void **state)
{
    uint8_t req[128], pcr[NSM_PCR_SIZE], zero[NSM_PCR_SIZE] = {0};
    size_t n;
    bool locked;

    /* an ExtendPCR answer needs 67 bytes; with 21 only the error fits */
    n = harness_hex("a1" T_EXTEND_PCR "a2" T_INDEX "10" T_DATA "4101", req,
                    sizeof(req));
    assert_int_equal(nsm_handle(&dev, req, n, resp, 21, &resp_len), NSM_OK);
    expect_error("InternalError");
    read_pcr(16, pcr, &locked);
    assert_bytes_equal(pcr, zero, NSM_PCR_SIZE); /* unchanged */
    assert_int_equal(nsm_handle(&dev, req, n, resp, 20, &resp_len),
                     NSM_ERR_RESP_SIZE);
    assert_int_equal(resp_len, 0);
    /* a document does not fit 2000 bytes */
    n = harness_hex("a1" T_ATTESTATION "a0", req, sizeof(req));
    assert_int_equal(nsm_handle(&dev, req, n, resp, 2000, &resp_len), NSM_OK);
    expect_error("InternalError");
    /* a LockPCR that cannot be answered does not lock */
    n = harness_hex("a1" T_LOCK_PCR "a1" T_INDEX "10", req, sizeof(req));
    assert_int_equal(nsm_handle(&dev, req, n, resp, 7, &resp_len),
                     NSM_ERR_RESP_SIZE);
    read_pcr(16, pcr, &locked);
    assert_false(locked);
    assert_int_equal(nsm_handle(&dev, req, n, resp, 8, &resp_len), NSM_OK);
    expect_hex("674c6f636b504352");
    read_pcr(16, pcr, &locked);
    assert_true(locked);
}

static void state_is_copyable(void **state)
{
    struct nsm copy;
    uint8_t a[NSM_PCR_SIZE], b[NSM_PCR_SIZE];
    bool locked;

    send_hex("a1" T_EXTEND_PCR "a2" T_INDEX "10" T_DATA "4101");
    memcpy(&copy, &dev, sizeof(dev));
    read_pcr(16, a, &locked);
    memcpy(&dev, &copy, sizeof(dev));
    send_hex("a1" T_EXTEND_PCR "a2" T_INDEX "10" T_DATA "4101");
    memcpy(&dev, &copy, sizeof(dev));
    read_pcr(16, b, &locked);
    assert_bytes_equal(a, b, NSM_PCR_SIZE);
}

static const struct CMUnitTest tests[] = {
    T(describe_pcr),
    T(describe_pcr_boot_state),
    T(extend_pcr_known_answer),
    T(lock_pcr),
    T(lock_pcrs),
    T(lock_pcrs_zero_range),
    T(describe_nsm),
    T(describe_nsm_after_lock),
    T(get_random),
    T(get_random_linux_prefix),
    T(get_random_distinct_after_fork),
    T(unit_variant_map_form),
    T(err_unknown_command),
    T(err_misspelled_key),
    T(err_extra_top_level_key),
    T(extra_inner_keys_ignored2),
    T(err_index_text),
    T(err_index_null),
    T(err_index_bstr),
    T(err_index_negative),
    T(err_index_2_pow_32),
    T(err_index_50),
    T(err_range_50),
    T(err_lock_locked_pcr),
    T(lock_pcrs_twice),
    T(err_extend_locked_pcr),
    T(err_extend_no_data),
    T(extend_data_text),
    T(extend_data_indefinite_and_array),
    T(err_attestation_not_a_map),
    T(err_attestation_field_type),
    T(attestation_document),
    T(attestation_signature_tamper),
    T(attestation_empty_and_unknown),
    T(attestation_text_fields),
    T(attestation_zero_length_fields),
    T(attestation_large_fields),
    T(attestation_maximal_fits),
    T(attestation_pcrs_after_lock),
    T(attestation_small_timestamp),
    T(attestation_short_payload),
    T(extend_vectors),
    T(rec_index_u16_range),
    T(rec_index_over_u16),
    T(rec_input_too_large),
    T(parse_trailing_bytes),
    T(parse_truncated),
    T(parse_indefinite_outer),
    T(parse_duplicate_keys),
    T(parse_key_forms),
    T(parse_deep_nesting),
    T(boot_pcr4_matches_real_document),
    T(boot_matches_real_document_pcrs),
    T(attestation_layout_matches_real_document),
    T(boot_pcr3_from_arn),
    T(reset_restores_boot),
    T(init_rejects_bad_config),
    T(platform_random_failure),
    T(platform_signer_failure),
    T(small_response_buffer),
    T(state_is_copyable),
};

HARNESS_MAIN("nsm", tests)
