/* SPDX-License-Identifier: MIT */
/*
 * libnsm tests: every rule of AWS's nsm-lib (aws-nitro-enclaves-nsm-api
 * nsm-lib/src/lib.rs) against the device model over the in-process loopback,
 * plus scripted responses for the error mappings a correct device never
 * produces.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "nsm.h"

#include "client/nsmc_loop.h"
#include "libnsm/libnsm_priv.h"

static struct nsmc_loop *loop;
static int32_t fd = -1;
static int n_released;

static void count_release(void *ctx)
{
    (void)ctx;
    n_released++;
}

static int setup_id(const char *module_id)
{
    loop = malloc(sizeof(*loop));
    if (loop == NULL || nsmc_loop_init(loop, module_id) != 0) {
        return -1;
    }
    n_released = 0;
    fd = libnsm_register(nsmc_loop_transport(loop), count_release, NULL);
    return fd >= 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    return setup_id(NULL);
}

static int teardown(void **state)
{
    (void)state;
    if (fd >= 0) {
        nsm_lib_exit(fd);
        fd = -1;
    }
    nsmc_loop_fini(loop);
    free(loop);
    return 0;
}

/* Script the next response of the loopback device. */
static void script(const char *hex)
{
    loop->override_len =
        harness_hex(hex, loop->override, sizeof(loop->override));
}

/* Is @needle (hex) a substring of the last request the device saw? */
static bool last_req_has(const char *hex)
{
    uint8_t n[64];
    size_t len = harness_hex(hex, n, sizeof(n));

    return memmem(loop->last_req, loop->last_req_len, n, len) != NULL;
}

static void layout(void **state)
{
    (void)state;
    assert_int_equal(sizeof(NsmDescription), 252);
    assert_int_equal(offsetof(NsmDescription, version_patch), 4);
    assert_int_equal(offsetof(NsmDescription, module_id), 6);
    assert_int_equal(offsetof(NsmDescription, module_id_len), 108);
    assert_int_equal(offsetof(NsmDescription, max_pcrs), 112);
    assert_int_equal(offsetof(NsmDescription, locked_pcrs), 114);
    assert_int_equal(offsetof(NsmDescription, locked_pcrs_len), 244);
    assert_int_equal(offsetof(NsmDescription, digest), 248);
    assert_int_equal(ERROR_CODE_INTERNAL_ERROR, 8);
    assert_int_equal(ERROR_CODE_INPUT_TOO_LARGE, 7);
    assert_int_equal(DIGEST_SHA384, 1);
}

static void extend_rules(void **state)
{
    uint8_t data[8], want[48], out[64];
    uint32_t out_len;
    unsigned calls;

    (void)state;
    harness_hex("0b00374863ff5c65", data, sizeof(data));
    harness_hex("b33da05a0fdb71627c8c68fc4232281fc440edd6f0ac7467fa497bbb907db"
                "32d957b5fd393845fa02c264ad5ea233888",
                want, sizeof(want));
    /* data NULL: INVALID_ARGUMENT, nothing sent */
    out_len = sizeof(out);
    calls = loop->n_calls;
    assert_int_equal(nsm_extend_pcr(fd, 16, NULL, 8, out, &out_len),
                     ERROR_CODE_INVALID_ARGUMENT);
    assert_int_equal(loop->n_calls, calls);
    /* a large buffer: the 48-byte value, *len = 48 */
    out_len = sizeof(out);
    assert_int_equal(nsm_extend_pcr(fd, 16, data, 8, out, &out_len),
                     ERROR_CODE_SUCCESS);
    assert_int_equal(out_len, 48);
    assert_bytes_equal(out, want, 48);
    /* output NULL: the extend still happens, *len = 0, BUFFER_TOO_SMALL */
    out_len = 48;
    assert_int_equal(nsm_extend_pcr(fd, 17, data, 0, NULL, &out_len),
                     ERROR_CODE_BUFFER_TOO_SMALL);
    assert_int_equal(out_len, 0);
    assert_true(last_req_has("646461746140")); /* "data": h'' */
    /* a short buffer: truncating copy */
    memset(out, 0xee, sizeof(out));
    out_len = 10;
    assert_int_equal(nsm_describe_pcr(fd, 16, &(bool){true}, out, &out_len),
                     ERROR_CODE_BUFFER_TOO_SMALL);
    assert_int_equal(out_len, 10);
    assert_bytes_equal(out, want, 10);
    assert_int_equal(out[10], 0xee);
    /* PCR 17 was extended with empty data from zero (§6 vector) */
    harness_hex("8f0d145c0368ad6b70be22e41c400eea91b971d96ba220fec9fae25a58dff"
                "daaf72dbe8f6783d55128c9df4efaf6f8a7",
                want, sizeof(want));
    out_len = 48;
    assert_int_equal(nsm_describe_pcr(fd, 17, &(bool){true}, out, &out_len),
                     ERROR_CODE_SUCCESS);
    assert_bytes_equal(out, want, 48);
    /* a locked PCR: the device's ReadOnlyIndex */
    out_len = sizeof(out);
    assert_int_equal(nsm_extend_pcr(fd, 0, data, 8, out, &out_len),
                     ERROR_CODE_READ_ONLY_INDEX);
    /* NULL length pointer: ours refuses instead of crashing */
    assert_int_equal(nsm_extend_pcr(fd, 16, data, 8, out, NULL),
                     ERROR_CODE_INVALID_ARGUMENT);
}

static void describe_and_lock(void **state)
{
    uint8_t out[48];
    uint32_t out_len = sizeof(out);
    bool lock = false;

    (void)state;
    assert_int_equal(nsm_describe_pcr(fd, 0, &lock, out, &out_len),
                     ERROR_CODE_SUCCESS);
    assert_true(lock);
    assert_int_equal(out_len, 48);
    /* NULL output: lock is still reported */
    lock = false;
    out_len = 48;
    assert_int_equal(nsm_describe_pcr(fd, 1, &lock, NULL, &out_len),
                     ERROR_CODE_BUFFER_TOO_SMALL);
    assert_true(lock);
    assert_int_equal(out_len, 0);
    assert_int_equal(nsm_describe_pcr(fd, 50, &lock, out, &out_len),
                     ERROR_CODE_INVALID_INDEX);
    assert_int_equal(nsm_describe_pcr(fd, 1, NULL, out, &out_len),
                     ERROR_CODE_INVALID_ARGUMENT);

    assert_int_equal(nsm_lock_pcr(fd, 0), ERROR_CODE_READ_ONLY_INDEX);
    assert_int_equal(nsm_lock_pcr(fd, 16), ERROR_CODE_SUCCESS);
    assert_int_equal(nsm_lock_pcr(fd, 16), ERROR_CODE_READ_ONLY_INDEX);
    assert_int_equal(nsm_lock_pcr(fd, 32), ERROR_CODE_INVALID_INDEX);
    out_len = sizeof(out);
    assert_int_equal(nsm_describe_pcr(fd, 16, &lock, out, &out_len),
                     ERROR_CODE_SUCCESS);
    assert_true(lock);
    assert_int_equal(nsm_lock_pcrs(fd, 33), ERROR_CODE_INVALID_INDEX);
    assert_int_equal(nsm_lock_pcrs(fd, 32), ERROR_CODE_SUCCESS);
    assert_int_equal(nsm_lock_pcrs(fd, 32), ERROR_CODE_SUCCESS);
    assert_int_equal(nsm_extend_pcr(fd, 31, out, 1, out, &out_len),
                     ERROR_CODE_READ_ONLY_INDEX);
}

static void description(void **state)
{
    NsmDescription d;
    const char *id = "i-0123456789abcdef0-enc0123456789abcdef";

    (void)state;
    memset(&d, 0xee, sizeof(d));
    assert_int_equal(nsm_get_description(fd, &d), ERROR_CODE_SUCCESS);
    assert_int_equal(d.version_major, 1);
    assert_int_equal(d.version_minor, 0);
    assert_int_equal(d.version_patch, 0);
    assert_int_equal(d.module_id_len, strlen(id));
    assert_string_equal((const char *)d.module_id, id);
    assert_int_equal(d.max_pcrs, 32);
    assert_int_equal(d.locked_pcrs_len, 16);
    for (uint16_t i = 0; i < 16; i++) {
        assert_int_equal(d.locked_pcrs[i], i);
    }
    assert_int_equal(d.digest, DIGEST_SHA384);
    assert_int_equal(nsm_lock_pcr(fd, 20), ERROR_CODE_SUCCESS);
    assert_int_equal(nsm_get_description(fd, &d), ERROR_CODE_SUCCESS);
    assert_int_equal(d.locked_pcrs_len, 17);
    assert_int_equal(d.locked_pcrs[16], 20);
    assert_int_equal(nsm_get_description(fd, NULL),
                     ERROR_CODE_INVALID_ARGUMENT);
}

/* module_id longer than 99 bytes: 99 bytes and a NUL. */
static void description_long_module_id(void **state)
{
    char id[121];
    NsmDescription d;

    (void)state;
    teardown(NULL);
    memset(id, 'm', 120);
    id[120] = '\0';
    assert_int_equal(setup_id(id), 0);
    memset(&d, 0xee, sizeof(d));
    assert_int_equal(nsm_get_description(fd, &d), ERROR_CODE_SUCCESS);
    assert_int_equal(d.module_id_len, 99);
    assert_memory_equal(d.module_id, id, 99);
    assert_int_equal(d.module_id[99], 0);
    assert_int_equal(d.max_pcrs, 32); /* the fields after it are intact */
}

/* More than 64 locked PCRs (a hostile device): bounded to 64 slots. */
static void description_locked_pcrs_bound(void **state)
{
    uint8_t *o = loop->override;
    NsmDescription d;
    size_t n;
    int v;

    (void)state;
    n = harness_hex("a16b44657363726962654e534da7"
                    "6d76657273696f6e5f6d616a6f7201"
                    "6d76657273696f6e5f6d696e6f7200"
                    "6d76657273696f6e5f706174636800"
                    "696d6f64756c655f6964626964"
                    "686d61785f7063727318c8"
                    "6b6c6f636b65645f70637273",
                    o, sizeof(loop->override));
    o[n++] = 0x98;
    o[n++] = 200;
    for (v = 0; v < 200; v++) {
        o[n++] = 0x18;
        o[n++] = (uint8_t)v;
    }
    n += harness_hex("6664696765737466534841353132", o + n,
                     sizeof(loop->override) - n);
    loop->override_len = n;
    memset(&d, 0xee, sizeof(d));
    assert_int_equal(nsm_get_description(fd, &d), ERROR_CODE_SUCCESS);
    assert_int_equal(d.locked_pcrs_len, 64);
    assert_int_equal(d.locked_pcrs[63], 63);
    assert_int_equal(d.digest, DIGEST_SHA512);
    assert_int_equal(d.max_pcrs, 200);
    assert_int_equal(d.module_id_len, 2);
}

static void attestation_rules(void **state)
{
    static uint8_t big[1024];
    static uint8_t doc[16384];
    uint32_t doc_len = sizeof(doc);
    uint32_t full;
    unsigned calls;

    (void)state;
    memset(big, 0x42, sizeof(big));
    /* NULL with a length is None; non-NULL with length 0 is h'' */
    assert_int_equal(
        nsm_get_attestation_doc(fd, NULL, 77, big, 0, NULL, 0, doc, &doc_len),
        ERROR_CODE_SUCCESS);
    assert_true(last_req_has("69757365725f64617461f6"));   /* user_data nil */
    assert_true(last_req_has("656e6f6e636540"));           /* nonce h'' */
    assert_true(last_req_has("6a7075626c69635f6b6579f6")); /* pubkey nil */
    assert_bytes_equal(doc, "\x84\x44\xa1\x01\x38\x22", 6);
    /* 1024 bytes each, as nsm-test's check_attestation */
    doc_len = sizeof(doc);
    assert_int_equal(nsm_get_attestation_doc(fd, big, 1024, big, 1024, big,
                                             1024, doc, &doc_len),
                     ERROR_CODE_SUCCESS);
    assert_true(doc_len > 3 * 1024);
    full = doc_len;
    /* truncating copy, NULL output */
    doc_len = 100;
    assert_int_equal(nsm_get_attestation_doc(fd, big, 1024, big, 1024, big,
                                             1024, doc, &doc_len),
                     ERROR_CODE_BUFFER_TOO_SMALL);
    assert_int_equal(doc_len, 100);
    doc_len = full;
    assert_int_equal(
        nsm_get_attestation_doc(fd, NULL, 0, NULL, 0, NULL, 0, NULL, &doc_len),
        ERROR_CODE_BUFFER_TOO_SMALL);
    assert_int_equal(doc_len, 0);
    assert_int_equal(
        nsm_get_attestation_doc(fd, NULL, 0, NULL, 0, NULL, 0, doc, NULL),
        ERROR_CODE_INVALID_ARGUMENT);
    /* an encoded request over 4096 bytes: InputTooLarge before any I/O */
    calls = loop->n_calls;
    doc_len = sizeof(doc);
    assert_int_equal(nsm_get_attestation_doc(fd, big, 1024, big, 1024, big,
                                             1024, doc, &doc_len),
                     ERROR_CODE_SUCCESS);
    calls = loop->n_calls;
    {
        static uint8_t huge[4096];
        assert_int_equal(nsm_get_attestation_doc(fd, huge, sizeof(huge), NULL,
                                                 0, NULL, 0, doc, &doc_len),
                         ERROR_CODE_INPUT_TOO_LARGE);
        assert_int_equal(
            nsm_extend_pcr(fd, 16, huge, sizeof(huge), doc, &doc_len),
            ERROR_CODE_INPUT_TOO_LARGE);
    }
    assert_int_equal(loop->n_calls, calls);
}

static void random_rules(void **state)
{
    uint8_t buf[1000];
    uintptr_t len;

    (void)state;
    len = sizeof(buf);
    assert_int_equal(nsm_get_random(-1, buf, &len),
                     ERROR_CODE_INVALID_ARGUMENT);
    assert_int_equal(nsm_get_random(fd, NULL, &len),
                     ERROR_CODE_INVALID_ARGUMENT);
    len = 0;
    assert_int_equal(nsm_get_random(fd, buf, &len),
                     ERROR_CODE_INVALID_ARGUMENT);
    assert_int_equal(nsm_get_random(fd, buf, NULL),
                     ERROR_CODE_INVALID_ARGUMENT);
    len = 10;
    assert_int_equal(nsm_get_random(fd, buf, &len), ERROR_CODE_SUCCESS);
    assert_int_equal(len, 10);
    len = sizeof(buf);
    assert_int_equal(nsm_get_random(fd, buf, &len), ERROR_CODE_SUCCESS);
    assert_int_equal(len, 256);
}

static ErrorCode random_once(void)
{
    uint8_t buf[16];
    uintptr_t len = sizeof(buf);

    return nsm_get_random(fd, buf, &len);
}

/* Wrong variant, device error, undecodable response, transport failure. */
static void error_mapping(void **state)
{
    (void)state;
    script("674c6f636b504352"); /* "LockPCR" answering GetRandom */
    assert_int_equal(random_once(), ERROR_CODE_INVALID_RESPONSE);
    script("a1654572726f726d496e7465726e616c4572726f72");
    assert_int_equal(random_once(), ERROR_CODE_INTERNAL_ERROR);
    script("a1654572726f7270496e76616c69644f7065726174696f6e");
    assert_int_equal(random_once(), ERROR_CODE_INVALID_OPERATION);
    script("a1654572726f726e427566666572546f6f536d616c6c");
    assert_int_equal(random_once(), ERROR_CODE_BUFFER_TOO_SMALL);
    script("bf6947657452616e646f6da16672616e646f6d4100ff");
    assert_int_equal(random_once(), ERROR_CODE_INTERNAL_ERROR);
    script("a16b4465736372696265504352a2646c6f636bf56464617461f6");
    assert_int_equal(nsm_lock_pcr(fd, 16), ERROR_CODE_INTERNAL_ERROR);
    script("6b44657363726962654e534d"); /* struct variant as text */
    assert_int_equal(nsm_lock_pcrs(fd, 16), ERROR_CODE_INTERNAL_ERROR);
    /* {"Error": "Success"}: SUCCESS, outputs untouched (as NSMAPI) */
    {
        uint8_t buf[16] = {0x77};
        uintptr_t len = sizeof(buf);
        uint32_t len32 = sizeof(buf);
        NsmDescription d;

        script("a1654572726f726753756363657373");
        assert_int_equal(nsm_get_random(fd, buf, &len), ERROR_CODE_SUCCESS);
        assert_int_equal(len, sizeof(buf));
        assert_int_equal(buf[0], 0x77);
        script("a1654572726f726753756363657373");
        assert_int_equal(nsm_extend_pcr(fd, 16, buf, 1, buf, &len32),
                         ERROR_CODE_SUCCESS);
        assert_int_equal(len32, sizeof(buf));
        assert_int_equal(buf[0], 0x77);
        memset(&d, 0x55, sizeof(d));
        script("a1654572726f726753756363657373");
        assert_int_equal(nsm_get_description(fd, &d), ERROR_CODE_SUCCESS);
        assert_int_equal(d.max_pcrs, 0x5555);
    }
    loop->fail_calls = 1;
    assert_int_equal(random_once(), ERROR_CODE_INTERNAL_ERROR);
    assert_int_equal(random_once(), ERROR_CODE_SUCCESS);
}

/* A transport saying EMSGSIZE maps to InputTooLarge, as the ioctl's. */
static int emsgsize_call(void *ctx, const uint8_t *req, size_t req_len,
                         uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    (void)ctx;
    (void)req;
    (void)req_len;
    (void)resp;
    (void)resp_cap;
    (void)resp_len;
    return -EMSGSIZE;
}

static void transport_emsgsize(void **state)
{
    static const struct nsmc_transport_ops ops = {.call = emsgsize_call};
    struct nsmc_transport t = {&ops, NULL};
    int32_t fd2;
    uint8_t buf[8];
    uintptr_t len = sizeof(buf);

    (void)state;
    fd2 = libnsm_register(t, NULL, NULL);
    assert_true(fd2 >= 0);
    assert_int_not_equal(fd2, fd);
    assert_int_equal(nsm_get_random(fd2, buf, &len),
                     ERROR_CODE_INPUT_TOO_LARGE);
    nsm_lib_exit(fd2);
}

/* An unregistered descriptor goes to the ioctl: /dev/null says ENOTTY. */
static void ioctl_path(void **state)
{
    int32_t nfd = open("/dev/null", O_RDWR);
    uint8_t buf[8];
    uintptr_t len = sizeof(buf);

    (void)state;
    assert_true(nfd >= 0);
    assert_int_equal(nsm_get_random(nfd, buf, &len), ERROR_CODE_INTERNAL_ERROR);
    assert_int_equal(nsm_lock_pcr(nfd, 16), ERROR_CODE_INTERNAL_ERROR);
    close(nfd);
}

/* nsm_lib_exit() releases the connection and closes the descriptor. */
static void exit_releases(void **state)
{
    uint8_t buf[8];
    uintptr_t len = sizeof(buf);

    (void)state;
    nsm_lib_exit(fd);
    assert_int_equal(n_released, 1);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    assert_int_equal(errno, EBADF);
    /* now an unknown descriptor: the ioctl path fails cleanly */
    assert_int_equal(nsm_get_random(fd, buf, &len), ERROR_CODE_INTERNAL_ERROR);
    fd = -1;
}

/* Without the socket variable and without /dev/nsm, init fails with -1. */
static void init_without_device(void **state)
{
    int32_t d;

    (void)state;
    unsetenv("TRUSTVIO_NSM_SOCKET");
    if (access("/dev/nsm", F_OK) == 0) {
        skip();
    }
    errno = 0;
    d = nsm_lib_init();
    assert_int_equal(d, -1);
    assert_int_equal(errno, ENOENT);
    nsm_lib_exit(-1); /* harmless */
}

/* The connection table is bounded; slots are reused after exit. */
static void table_bound(void **state)
{
    static const struct nsmc_transport_ops ops = {.call = emsgsize_call};
    struct nsmc_transport t = {&ops, NULL};
    int32_t fds[LIBNSM_MAX_CONNS];
    int n = 0;

    (void)state;
    while (n < LIBNSM_MAX_CONNS) {
        fds[n] = libnsm_register(t, NULL, NULL);
        if (fds[n] < 0) {
            break;
        }
        n++;
    }
    assert_int_equal(n, LIBNSM_MAX_CONNS - 1); /* fd holds one slot */
    assert_int_equal(libnsm_register(t, NULL, NULL), -1);
    assert_int_equal(errno, EMFILE);
    nsm_lib_exit(fds[0]);
    fds[0] = libnsm_register(t, NULL, NULL);
    assert_true(fds[0] >= 0);
    while (n-- > 0) {
        nsm_lib_exit(fds[n]);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(layout),
    T(extend_rules),
    T(describe_and_lock),
    T(description),
    T(description_long_module_id),
    T(description_locked_pcrs_bound),
    T(attestation_rules),
    T(random_rules),
    T(error_mapping),
    T(transport_emsgsize),
    T(ioctl_path),
    T(exit_releases),
    T(init_without_device),
    T(table_bound),
};

HARNESS_MAIN("libnsm", tests)
