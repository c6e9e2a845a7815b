/* SPDX-License-Identifier: MIT */
/*
 * RPMB device model: the shared MAC vectors, every request type and result
 * code, check orders, block_count 0 rules, expiry, malformed streams and
 * store failures (in-memory store with fault injection).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_UNDEFINED
#define VALGRIND_MAKE_MEM_UNDEFINED(p, n) ((void)(p), (void)(n))
#define VALGRIND_MAKE_MEM_DEFINED(p, n)   ((void)(p), (void)(n))
#endif

#include "common/bytes.h"
#include "common/ct.h"
#include "crypto/crypto.h"
#include "rpmb/rpmb.h"
#include "store/store.h"

#define FR         VIRTIO_RPMB_FRAME_SIZE
#define UNITS      2
#define N_BLOCKS   (UNITS * VIRTIO_RPMB_BLOCKS_PER_UNIT)
#define MAX_FRAMES 80

static const uint8_t key1[32] = "AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH";
static const uint8_t key2[32] = {
    0xd3, 0xeb, 0x3e, 0xc3, 0x6e, 0x33, 0x4c, 0x9f, 0x98, 0x8c, 0xe2,
    0xc0, 0xb8, 0x59, 0x54, 0x61, 0x0d, 0x2b, 0xcf, 0x86, 0x64, 0x84,
    0x4d, 0xf2, 0xab, 0x56, 0xe6, 0xc6, 0x1b, 0xb7, 0x01, 0xe4};

/* Test fixture: model over an in-memory store; buffers for one call. */
static struct {
    uint8_t blocks[N_BLOCKS * RPMB_BLK_SIZE];
    struct rpmb_mem_store mem;
    struct rpmb r;
    uint8_t req[MAX_FRAMES * FR];
    uint8_t resp[MAX_FRAMES * FR];
    size_t resp_len;
} t;

/* Frame fields used to build requests and expected responses. */
struct fields {
    uint16_t req_resp;
    uint16_t block_count;
    uint16_t address;
    uint32_t counter;
    uint16_t result;
    const uint8_t *nonce; /* 16 bytes or NULL */
    const uint8_t *data;  /* 256 bytes or NULL */
};

static void build(uint8_t *f, const struct fields *x)
{
    memset(f, 0, FR);
    if (x->data != NULL) {
        memcpy(f + VIRTIO_RPMB_OFF_DATA, x->data, 256);
    }
    if (x->nonce != NULL) {
        memcpy(f + VIRTIO_RPMB_OFF_NONCE, x->nonce, 16);
    }
    store_be32(f + VIRTIO_RPMB_OFF_WRITE_COUNTER, x->counter);
    store_be16(f + VIRTIO_RPMB_OFF_ADDRESS, x->address);
    store_be16(f + VIRTIO_RPMB_OFF_BLOCK_COUNT, x->block_count);
    store_be16(f + VIRTIO_RPMB_OFF_RESULT, x->result);
    store_be16(f + VIRTIO_RPMB_OFF_REQ_RESP, x->req_resp);
}

static void mac_of(const uint8_t *key, const uint8_t *frames, size_t n,
                   uint8_t mac[32])
{
    struct crypto_hmac h;
    size_t i;

    assert_int_equal(crypto_hmac_init(&h, key, 32), 0);
    for (i = 0; i < n; i++) {
        assert_int_equal(
            crypto_hmac_update(&h, frames + i * FR + VIRTIO_RPMB_OFF_DATA,
                               VIRTIO_RPMB_MAC_INPUT_SIZE),
            0);
    }
    assert_int_equal(crypto_hmac_final(&h, mac), 0);
}

static uint16_t f16(const uint8_t *f, size_t off)
{
    return load_be16(f + off);
}

#define RESULT(i)   f16(t.resp + (i)*FR, VIRTIO_RPMB_OFF_RESULT)
#define REQ_RESP(i) f16(t.resp + (i)*FR, VIRTIO_RPMB_OFF_REQ_RESP)
#define COUNTER(i)  load_be32(t.resp + (i)*FR + VIRTIO_RPMB_OFF_WRITE_COUNTER)

static void setup_cfg(uint8_t max_wr, uint8_t max_rd)
{
    struct rpmb_config cfg = {UNITS, max_wr, max_rd};

    rpmb_mem_store_init(&t.mem, t.blocks, N_BLOCKS);
    assert_int_equal(rpmb_init(&t.r, &cfg, &rpmb_mem_store_ops, &t.mem),
                     RPMB_OK);
}

static void setup(void)
{
    setup_cfg(0, 0);
}

/* Run the first @n_req frames of t.req with @n_cap frames of room. */
static void call(size_t n_req, size_t n_cap)
{
    memset(t.resp, 0xee, sizeof(t.resp));
    assert_int_equal(
        rpmb_handle(&t.r, t.req, n_req * FR, t.resp, n_cap * FR, &t.resp_len),
        RPMB_OK);
}

static void add_result_read(size_t at, uint16_t bc)
{
    struct fields f = {.req_resp = VIRTIO_RPMB_REQ_RESULT_READ,
                       .block_count = bc};

    build(t.req + at * FR, &f);
}

/* PROGRAM_KEY + RESULT_READ; returns the result. */
static uint16_t program_key(const uint8_t *key, uint16_t bc)
{
    struct fields f = {.req_resp = VIRTIO_RPMB_REQ_PROGRAM_KEY,
                       .block_count = bc};

    build(t.req, &f);
    memcpy(t.req + VIRTIO_RPMB_OFF_KEY_MAC, key, 32);
    add_result_read(1, bc);
    call(2, 1);
    assert_int_equal(t.resp_len, FR);
    assert_int_equal(REQ_RESP(0), VIRTIO_RPMB_RESP_PROGRAM_KEY);
    return RESULT(0);
}

/* Build an authenticated DATA_WRITE of @n blocks (+ RESULT_READ). */
static void build_write(const uint8_t *key, uint16_t addr, size_t n,
                        uint32_t counter, uint8_t fill)
{
    uint8_t data[256];
    uint8_t mac[32];
    size_t i;

    for (i = 0; i < n; i++) {
        struct fields f = {.req_resp = VIRTIO_RPMB_REQ_DATA_WRITE,
                           .block_count = (uint16_t)n,
                           .address = addr,
                           .counter = counter,
                           .data = data};

        memset(data, (int)(fill + i), sizeof(data));
        build(t.req + i * FR, &f);
    }
    mac_of(key, t.req, n, mac);
    memcpy(t.req + (n - 1) * FR + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    add_result_read(n, 1);
}

/* A write with RESULT_READ; checks the response MAC; returns result. */
static uint16_t do_write(const uint8_t *key, uint16_t addr, size_t n,
                         uint32_t counter, uint8_t fill)
{
    uint8_t mac[32];

    build_write(key, addr, n, counter, fill);
    call(n + 1, 1);
    assert_int_equal(t.resp_len, FR);
    assert_int_equal(REQ_RESP(0), VIRTIO_RPMB_RESP_DATA_WRITE);
    assert_int_equal(f16(t.resp, VIRTIO_RPMB_OFF_ADDRESS), addr);
    if ((RESULT(0) & 0x7f) != VIRTIO_RPMB_RES_NO_AUTH_KEY) {
        mac_of(key, t.resp, 1, mac);
        assert_bytes_equal(t.resp + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    }
    return RESULT(0);
}

/* DATA_READ of @bc blocks into @n_cap frames of room. */
static void do_read(uint16_t addr, uint16_t bc, size_t n_cap,
                    const uint8_t *nonce)
{
    struct fields f = {.req_resp = VIRTIO_RPMB_REQ_DATA_READ,
                       .block_count = bc,
                       .address = addr,
                       .nonce = nonce};

    build(t.req, &f);
    call(1, n_cap);
}

static uint16_t get_counter(const uint8_t *key, uint16_t bc, uint32_t *out)
{
    static const uint8_t nonce[16] = "nonce-0123456789";
    struct fields f = {.req_resp = VIRTIO_RPMB_REQ_GET_WRITE_COUNTER,
                       .block_count = bc,
                       .nonce = nonce};
    uint8_t mac[32];

    build(t.req, &f);
    call(1, 1);
    assert_int_equal(t.resp_len, FR);
    assert_int_equal(REQ_RESP(0), VIRTIO_RPMB_RESP_GET_WRITE_COUNTER);
    assert_bytes_equal(t.resp + VIRTIO_RPMB_OFF_NONCE, nonce, 16);
    if (key != NULL) {
        mac_of(key, t.resp, 1, mac);
        assert_bytes_equal(t.resp + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    }
    *out = COUNTER(0);
    return RESULT(0);
}

/* ---- shared vectors ---- */

/* Rebuild vector @n from its fields, compare the MAC input and the MAC. */
static void check_vector(int n, const uint8_t *frames, size_t n_frames)
{
    char name[32];
    uint8_t msg[2 * VIRTIO_RPMB_MAC_INPUT_SIZE];
    uint8_t key[32];
    uint8_t mac[32];
    uint8_t want_mac[32];
    size_t i;
    static const char *const macs[] = {
        "c55ab0517c1a7edc2f2e3eabc7d0ab48cbd254848a852571170f5bbf71f93405",
        "e73b16cb644c0e2d0d56ef7731013a1caeef08782b33e71b424cabf54ec3158e",
        "72b9c7c6ae2dcad2383184fd57c8d6a1b158f90fa09629f4ae793db4804e93ef",
        "2f84164dbc9ca512e54ed1bd38dca9cb100d551c7c05a079f52a8a4392b88064",
        "a862ad8f59a42d9a2f74b6fd7b1831d8bce612bea9676e2e5f7ab421e4947fbf",
    };

    (void)snprintf(name, sizeof(name), "rpmb/TV%d.key", n);
    assert_int_equal(harness_read_vector(name, key, sizeof(key)), 32);
    (void)snprintf(name, sizeof(name), "rpmb/TV%d.msg", n);
    assert_int_equal(harness_read_vector(name, msg, sizeof(msg)),
                     n_frames * VIRTIO_RPMB_MAC_INPUT_SIZE);
    for (i = 0; i < n_frames; i++) {
        assert_bytes_equal(frames + i * FR + VIRTIO_RPMB_OFF_DATA,
                           msg + i * VIRTIO_RPMB_MAC_INPUT_SIZE,
                           VIRTIO_RPMB_MAC_INPUT_SIZE);
    }
    mac_of(key, frames, n_frames, mac);
    harness_hex(macs[n - 1], want_mac, sizeof(want_mac));
    assert_bytes_equal(mac, want_mac, 32);
    /* the MAC in the last frame, when the frames carry one */
    if (frames[(n_frames - 1) * FR + VIRTIO_RPMB_OFF_KEY_MAC] != 0 ||
        frames[(n_frames - 1) * FR + VIRTIO_RPMB_OFF_KEY_MAC + 1] != 0) {
        assert_bytes_equal(frames + (n_frames - 1) * FR +
                               VIRTIO_RPMB_OFF_KEY_MAC,
                           want_mac, 32);
    }
}

static void vectors_from_fields(void **state)
{
    uint8_t frames[2 * FR];
    uint8_t nonce[16];
    uint8_t data[256];
    size_t i;
    struct fields f = {0};

    for (i = 0; i < 16; i++) {
        nonce[i] = (uint8_t)i;
    }
    f.req_resp = VIRTIO_RPMB_RESP_GET_WRITE_COUNTER;
    f.nonce = nonce;
    build(frames, &f);
    check_vector(1, frames, 1);

    for (i = 0; i < 256; i++) {
        data[i] = (uint8_t)i;
    }
    memset(&f, 0, sizeof(f));
    f.req_resp = VIRTIO_RPMB_REQ_DATA_WRITE;
    f.address = 2;
    f.block_count = 1;
    f.data = data;
    build(frames, &f);
    check_vector(2, frames, 1);

    for (i = 0; i < 16; i++) {
        nonce[i] = (uint8_t)(i + 1);
    }
    memset(&f, 0, sizeof(f));
    f.req_resp = VIRTIO_RPMB_RESP_DATA_READ;
    f.address = 4;
    f.block_count = 2;
    f.nonce = nonce;
    f.data = data;
    memset(data, 0xaa, 256);
    build(frames, &f);
    memset(data, 0x55, 256);
    build(frames + FR, &f);
    check_vector(3, frames, 2);

    memset(&f, 0, sizeof(f));
    f.req_resp = VIRTIO_RPMB_RESP_DATA_WRITE;
    f.counter = 5;
    f.address = 2;
    build(frames, &f);
    check_vector(4, frames, 1);

    f.counter = 0xffffffff;
    f.result = 0x0085;
    build(frames, &f);
    check_vector(5, frames, 1);
}

/* The model's own responses reproduce the vectors byte for byte. */
static void vectors_from_model(void **state)
{
    uint8_t nonce[16];
    uint8_t data[256];
    struct fields f = {0};
    size_t i;

    /* TV1: GET_WRITE_COUNTER response, key K1, nonce 00..0f, counter 0 */
    setup();
    assert_int_equal(program_key(key1, 1), 0);
    for (i = 0; i < 16; i++) {
        nonce[i] = (uint8_t)i;
    }
    f.req_resp = VIRTIO_RPMB_REQ_GET_WRITE_COUNTER;
    f.block_count = 0;
    f.nonce = nonce;
    build(t.req, &f);
    call(1, 1);
    check_vector(1, t.resp, 1);

    /* TV4: write result after the write taking the counter 4 -> 5 */
    t.mem.counter = 4;
    setup_cfg(0, 0);
    t.mem.key_programmed = true;
    memcpy(t.mem.key, key1, 32);
    t.mem.counter = 4;
    assert_int_equal(rpmb_init(&t.r, &(struct rpmb_config){UNITS, 0, 0},
                               &rpmb_mem_store_ops, &t.mem),
                     RPMB_OK);
    assert_int_equal(do_write(key1, 2, 1, 4, 0x11), 0);
    check_vector(4, t.resp, 1);

    /* TV5: the refused write at counter 0xFFFFFFFF */
    t.mem.counter = 0xffffffff;
    assert_int_equal(rpmb_init(&t.r, &(struct rpmb_config){UNITS, 0, 0},
                               &rpmb_mem_store_ops, &t.mem),
                     RPMB_OK);
    assert_int_equal(do_write(key1, 2, 1, 0xffffffff, 0x11), 0x0085);
    check_vector(5, t.resp, 1);

    /* TV2 request accepted by a device keyed with K2; TV3 read back */
    setup();
    assert_int_equal(program_key(key2, 1), 0);
    for (i = 0; i < 256; i++) {
        data[i] = (uint8_t)i;
    }
    memset(&f, 0, sizeof(f));
    f.req_resp = VIRTIO_RPMB_REQ_DATA_WRITE;
    f.address = 2;
    f.block_count = 1;
    f.data = data;
    build(t.req, &f);
    check_vector(2, t.req, 1);
    {
        uint8_t mac[32];

        mac_of(key2, t.req, 1, mac);
        memcpy(t.req + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    }
    add_result_read(1, 1);
    call(2, 1);
    assert_int_equal(RESULT(0), 0);
    assert_int_equal(COUNTER(0), 1);

    memset(t.blocks + 4 * 256, 0xaa, 256);
    memset(t.blocks + 5 * 256, 0x55, 256);
    for (i = 0; i < 16; i++) {
        nonce[i] = (uint8_t)(i + 1);
    }
    do_read(4, 2, 2, nonce);
    assert_int_equal(t.resp_len, 2 * FR);
    check_vector(3, t.resp, 2);
}

/* ---- key programming ---- */

static void program_key_once(void **state)
{
    uint32_t c;

    setup();
    assert_false(rpmb_key_programmed(&t.r));
    assert_int_equal(program_key(key1, 1), VIRTIO_RPMB_RES_OK);
    assert_true(rpmb_key_programmed(&t.r));
    assert_true(t.mem.key_programmed);
    assert_bytes_equal(t.mem.key, key1, 32);
    /* no MAC on the PROGRAM_KEY response; never the key itself */
    {
        static const uint8_t zero[32];

        assert_bytes_equal(t.resp + VIRTIO_RPMB_OFF_KEY_MAC, zero, 32);
    }
    /* second attempt: WRITE_FAILURE, key unchanged (docs/rpmb.md) */
    assert_int_equal(program_key(key2, 1), VIRTIO_RPMB_RES_WRITE_FAILURE);
    assert_bytes_equal(t.mem.key, key1, 32);
    assert_int_equal(get_counter(key1, 1, &c), 0);
    assert_int_equal(c, 0);
    /* the old key still authenticates writes */
    assert_int_equal(do_write(key1, 0, 1, 0, 1), 0);
}

static void result_read_separate_chain(void **state)
{
    struct fields f = {.req_resp = VIRTIO_RPMB_REQ_PROGRAM_KEY,
                       .block_count = 1};

    setup();
    /* nothing pending: GENERAL_FAILURE with req_resp 0 */
    add_result_read(0, 1);
    call(1, 1);
    assert_int_equal(t.resp_len, FR);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_GENERAL_FAILURE);
    assert_int_equal(REQ_RESP(0), 0);

    /* PROGRAM_KEY alone: no response frame even with room */
    build(t.req, &f);
    memcpy(t.req + VIRTIO_RPMB_OFF_KEY_MAC, key1, 32);
    call(1, 1);
    assert_int_equal(t.resp_len, 0);
    assert_true(rpmb_key_programmed(&t.r));
    /* RESULT_READ in the next chain returns it, and again if repeated */
    add_result_read(0, 1);
    call(1, 1);
    assert_int_equal(REQ_RESP(0), VIRTIO_RPMB_RESP_PROGRAM_KEY);
    assert_int_equal(RESULT(0), 0);
    call(1, 1);
    assert_int_equal(REQ_RESP(0), VIRTIO_RPMB_RESP_PROGRAM_KEY);

    /* DATA_WRITE alone, then RESULT_READ: result with MAC */
    build_write(key1, 7, 2, 0, 0x30);
    call(2, 4);
    assert_int_equal(t.resp_len, 0);
    assert_int_equal(rpmb_write_counter(&t.r), 1);
    add_result_read(0, 0);
    call(1, 1);
    assert_int_equal(REQ_RESP(0), VIRTIO_RPMB_RESP_DATA_WRITE);
    assert_int_equal(RESULT(0), 0);
    assert_int_equal(COUNTER(0), 1);
    assert_int_equal(f16(t.resp, VIRTIO_RPMB_OFF_ADDRESS), 7);
    {
        uint8_t mac[32];

        mac_of(key1, t.resp, 1, mac);
        assert_bytes_equal(t.resp + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    }
    /* any other request clears the pending result */
    {
        uint32_t c;

        assert_int_equal(get_counter(key1, 1, &c), 0);
    }
    add_result_read(0, 1);
    call(1, 1);
    assert_int_equal(REQ_RESP(0), 0);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_GENERAL_FAILURE);
    /* a RESULT_READ with no room writes nothing */
    call(1, 0);
    assert_int_equal(t.resp_len, 0);
}

/* ---- NO_AUTH_KEY ---- */

static void no_auth_key(void **state)
{
    uint32_t c;

    setup();
    assert_int_equal(get_counter(NULL, 1, &c), VIRTIO_RPMB_RES_NO_AUTH_KEY);
    assert_int_equal(do_write(key1, 0, 1, 0, 1), VIRTIO_RPMB_RES_NO_AUTH_KEY);
    assert_int_equal(t.mem.n_commits, 0);
    do_read(0, 1, 1, NULL);
    assert_int_equal(t.resp_len, FR);
    assert_int_equal(REQ_RESP(0), VIRTIO_RPMB_RESP_DATA_READ);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_NO_AUTH_KEY);
    /* NO_AUTH_KEY beats every other check, e.g. a bad count */
    do_read(0xffff, 9, 2, NULL);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_NO_AUTH_KEY);
}

/* ---- counter, writes, reads ---- */

static void get_counter_nonce_mac(void **state)
{
    uint32_t c;

    setup();
    assert_int_equal(program_key(key2, 1), 0);
    assert_int_equal(get_counter(key2, 1, &c), 0);
    assert_int_equal(c, 0);
    assert_int_equal(do_write(key2, 3, 1, 0, 9), 0);
    assert_int_equal(COUNTER(0), 1);
    assert_int_equal(get_counter(key2, 1, &c), 0);
    assert_int_equal(c, 1);
    assert_int_equal(f16(t.resp, VIRTIO_RPMB_OFF_BLOCK_COUNT), 0);
    /* extra frames after GET_WRITE_COUNTER: refused */
    add_result_read(1, 1);
    call(2, 1);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_GENERAL_FAILURE);
    /* block_count 2 on a single-frame request: refused */
    assert_int_equal(get_counter(key2, 2, &c), VIRTIO_RPMB_RES_GENERAL_FAILURE);
}

static void multi_block_write_read(void **state)
{
    static const uint8_t nonce[16] = "read-nonce-fedcb";
    uint8_t mac[32];
    size_t i;

    setup();
    assert_int_equal(program_key(key1, 1), 0);
    assert_int_equal(do_write(key1, 100, 5, 0, 0x40), 0);
    assert_int_equal(COUNTER(0), 1);
    assert_int_equal(do_write(key1, 102, 2, 1, 0x80), 0);
    assert_int_equal(COUNTER(0), 2);
    do_read(99, 7, 7, nonce);
    assert_int_equal(t.resp_len, 7 * FR);
    for (i = 0; i < 7; i++) {
        const uint8_t *f = t.resp + i * FR;
        uint8_t want[256];
        static const uint8_t fill[7] = {0, 0x40, 0x41, 0x80, 0x81, 0x44, 0};

        memset(want, fill[i], sizeof(want));
        assert_bytes_equal(f + VIRTIO_RPMB_OFF_DATA, want, 256);
        /* result, nonce, start address and block_count in every frame */
        assert_int_equal(f16(f, VIRTIO_RPMB_OFF_REQ_RESP),
                         VIRTIO_RPMB_RESP_DATA_READ);
        assert_int_equal(f16(f, VIRTIO_RPMB_OFF_RESULT), 0);
        assert_int_equal(f16(f, VIRTIO_RPMB_OFF_ADDRESS), 99);
        assert_int_equal(f16(f, VIRTIO_RPMB_OFF_BLOCK_COUNT), 7);
        assert_bytes_equal(f + VIRTIO_RPMB_OFF_NONCE, nonce, 16);
    }
    mac_of(key1, t.resp, 7, mac);
    assert_bytes_equal(t.resp + 6 * FR + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    /* a flipped bit anywhere in the read response breaks the MAC */
    t.resp[3 * FR + VIRTIO_RPMB_OFF_DATA + 17] ^= 0x04;
    mac_of(key1, t.resp, 7, mac);
    assert_memory_not_equal(t.resp + 6 * FR + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    /* more writable room than block_count: only block_count frames */
    do_read(100, 2, 10, nonce);
    assert_int_equal(t.resp_len, 2 * FR);
}

static void wrong_mac(void **state)
{
    uint8_t before[N_BLOCKS * RPMB_BLK_SIZE];
    size_t bit;

    setup();
    assert_int_equal(program_key(key1, 1), 0);
    assert_int_equal(do_write(key1, 10, 1, 0, 1), 0);
    memcpy(before, t.blocks, sizeof(before));
    /* a flipped bit in any MACed byte or in the MAC itself */
    for (bit = 0; bit < 3; bit++) {
        static const size_t offs[3] = {VIRTIO_RPMB_OFF_DATA + 5,
                                       FR + VIRTIO_RPMB_OFF_WRITE_COUNTER - 0,
                                       FR + VIRTIO_RPMB_OFF_KEY_MAC + 31};

        build_write(key1, 10, 2, 1, 7);
        t.req[offs[bit]] ^= 0x01;
        call(3, 1);
        assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_AUTH_FAILURE);
        assert_int_equal(COUNTER(0), 1);
    }
    /* the wrong key */
    build_write(key2, 10, 1, 1, 1);
    call(2, 1);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_AUTH_FAILURE);
    assert_int_equal(rpmb_write_counter(&t.r), 1);
    assert_bytes_equal(t.blocks, before, sizeof(before));
}

static void wrong_counter(void **state)
{
    setup();
    assert_int_equal(program_key(key1, 1), 0);
    assert_int_equal(do_write(key1, 0, 1, 0, 1), 0);
    assert_int_equal(do_write(key1, 0, 1, 0, 2), VIRTIO_RPMB_RES_COUNT_FAILURE);
    assert_int_equal(COUNTER(0), 1);
    assert_int_equal(do_write(key1, 0, 1, 2, 2), VIRTIO_RPMB_RES_COUNT_FAILURE);
    assert_int_equal(t.blocks[0], 1);
    assert_int_equal(do_write(key1, 0, 1, 1, 3), 0);
    assert_int_equal(COUNTER(0), 2);
    assert_int_equal(t.blocks[0], 3);
}

static void address_bounds(void **state)
{
    setup();
    assert_int_equal(program_key(key1, 1), 0);
    /* exact fit at the end */
    assert_int_equal(do_write(key1, N_BLOCKS - 2, 2, 0, 5), 0);
    /* one past the end */
    assert_int_equal(do_write(key1, N_BLOCKS - 2, 3, 1, 5),
                     VIRTIO_RPMB_RES_ADDR_FAILURE);
    assert_int_equal(do_write(key1, N_BLOCKS, 1, 1, 5),
                     VIRTIO_RPMB_RES_ADDR_FAILURE);
    /* 0xFFFF + 2 must not wrap to a small address */
    assert_int_equal(do_write(key1, 0xffff, 2, 1, 5),
                     VIRTIO_RPMB_RES_ADDR_FAILURE);
    assert_int_equal(rpmb_write_counter(&t.r), 1);
    /* ADDR_FAILURE comes before the MAC check (virtio order) */
    build_write(key2, 0xffff, 1, 1, 0);
    call(2, 1);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_ADDR_FAILURE);

    do_read(N_BLOCKS - 1, 1, 1, NULL);
    assert_int_equal(RESULT(0), 0);
    do_read(N_BLOCKS - 1, 2, 2, NULL);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_ADDR_FAILURE);
    assert_int_equal(RESULT(1), VIRTIO_RPMB_RES_ADDR_FAILURE);
    do_read(0xffff, 2, 2, NULL);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_ADDR_FAILURE);
}

static void count_limits(void **state)
{
    setup_cfg(4, 3);
    assert_int_equal(program_key(key1, 1), 0);
    assert_int_equal(do_write(key1, 0, 4, 0, 1), 0);
    assert_int_equal(do_write(key1, 0, 5, 1, 1),
                     VIRTIO_RPMB_RES_GENERAL_FAILURE);
    do_read(0, 3, 3, NULL);
    assert_int_equal(RESULT(2), 0);
    do_read(0, 4, 4, NULL);
    assert_int_equal(t.resp_len, 4 * FR);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_GENERAL_FAILURE);
    assert_int_equal(RESULT(3), VIRTIO_RPMB_RES_GENERAL_FAILURE);

    /* 0 means no limit */
    setup_cfg(0, 0);
    assert_int_equal(program_key(key1, 1), 0);
    assert_int_equal(do_write(key1, 0, 64, 0, 1), 0);
    do_read(0, 64, 64, NULL);
    assert_int_equal(t.resp_len, 64 * FR);
    assert_int_equal(RESULT(63), 0);
    assert_int_equal(t.resp[63 * FR + VIRTIO_RPMB_OFF_DATA], 64);

    /* block_count 0 in a write, or frames missing, or a foreign frame */
    build_write(key1, 0, 2, 1, 1);
    store_be16(t.req + VIRTIO_RPMB_OFF_BLOCK_COUNT, 0);
    call(3, 1);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_GENERAL_FAILURE);
    build_write(key1, 0, 3, 1, 1);
    call(2, 1); /* first two frames only: no RESULT_READ, no response */
    assert_int_equal(t.resp_len, 0);
    add_result_read(0, 1);
    call(1, 1);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_GENERAL_FAILURE);
    build_write(key1, 0, 2, 1, 1);
    store_be16(t.req + FR + VIRTIO_RPMB_OFF_REQ_RESP,
               VIRTIO_RPMB_REQ_DATA_READ);
    call(3, 1);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_GENERAL_FAILURE);
    /* read wider than the writable space */
    do_read(0, 4, 2, NULL);
    assert_int_equal(t.resp_len, 2 * FR);
    assert_int_equal(RESULT(1), VIRTIO_RPMB_RES_GENERAL_FAILURE);
    assert_int_equal(rpmb_write_counter(&t.r), 1);
}

static void expiry(void **state)
{
    uint32_t c;

    setup();
    assert_int_equal(program_key(key1, 1), 0);
    t.mem.counter = 0xfffffffe;
    assert_int_equal(rpmb_init(&t.r, &(struct rpmb_config){UNITS, 0, 0},
                               &rpmb_mem_store_ops, &t.mem),
                     RPMB_OK);
    /* the write reaching the maximum succeeds, flagged */
    assert_int_equal(do_write(key1, 1, 1, 0xfffffffe, 0x77), 0x0080);
    assert_int_equal(COUNTER(0), 0xffffffff);
    assert_int_equal(t.blocks[256], 0x77);
    /* the next one is refused: WRITE_FAILURE | expired */
    assert_int_equal(do_write(key1, 1, 1, 0xffffffff, 0x78), 0x0085);
    assert_int_equal(COUNTER(0), 0xffffffff);
    assert_int_equal(t.blocks[256], 0x77);
    /* expiry comes before the address check */
    assert_int_equal(do_write(key1, 0xffff, 1, 0xffffffff, 0x78), 0x0085);
    /* bit 7 on every later result */
    assert_int_equal(get_counter(key1, 1, &c), 0x0080);
    assert_int_equal(c, 0xffffffff);
    do_read(1, 1, 1, NULL);
    assert_int_equal(RESULT(0), 0x0080);
    assert_int_equal(t.resp[VIRTIO_RPMB_OFF_DATA], 0x77);
    do_read(N_BLOCKS, 1, 1, NULL);
    assert_int_equal(RESULT(0), 0x0084);
    assert_int_equal(program_key(key2, 1), 0x0085);
}

static void block_count_zero(void **state)
{
    uint32_t c;
    size_t i;

    /* eMMC style: 0 in PROGRAM_KEY, GET_WRITE_COUNTER, RESULT_READ */
    setup();
    assert_int_equal(program_key(key1, 0), 0);
    assert_int_equal(get_counter(key1, 0, &c), 0);
    assert_int_equal(do_write(key1, 20, 3, 0, 0x10), 0);
    /* DATA_READ with 0: the count comes from the writable space */
    do_read(20, 0, 3, NULL);
    assert_int_equal(t.resp_len, 3 * FR);
    for (i = 0; i < 3; i++) {
        assert_int_equal(RESULT(i), 0);
        assert_int_equal(f16(t.resp + i * FR, VIRTIO_RPMB_OFF_BLOCK_COUNT), 3);
        assert_int_equal(t.resp[i * FR + VIRTIO_RPMB_OFF_DATA], 0x10 + i);
    }
    /* a bridge that rewrites 0 -> 1 (or -> N) gets the same answers */
    setup();
    assert_int_equal(program_key(key1, 1), 0);
    assert_int_equal(get_counter(key1, 1, &c), 0);
    assert_int_equal(do_write(key1, 20, 3, 0, 0x10), 0);
    do_read(20, 3, 3, NULL);
    assert_int_equal(t.resp_len, 3 * FR);
    assert_int_equal(t.resp[2 * FR + VIRTIO_RPMB_OFF_DATA], 0x12);
    /* 0 with a limit: the derived count is checked against max_rd_cnt */
    setup_cfg(0, 2);
    assert_int_equal(program_key(key1, 0), 0);
    do_read(0, 0, 3, NULL);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_GENERAL_FAILURE);
    do_read(0, 0, 2, NULL);
    assert_int_equal(RESULT(1), 0);
    /* and no room at all: nothing written */
    do_read(0, 0, 0, NULL);
    assert_int_equal(t.resp_len, 0);
}

static void malformed_streams(void **state)
{
    static const size_t lens[] = {0, 1, 511, 513, 1000, 1023};
    size_t i;

    setup();
    assert_int_equal(program_key(key1, 1), 0);
    for (i = 0; i < TV_ARRAY_SIZE(lens); i++) {
        memset(t.resp, 0xee, FR);
        assert_int_equal(
            rpmb_handle(&t.r, t.req, lens[i], t.resp, FR, &t.resp_len),
            RPMB_OK);
        assert_int_equal(t.resp_len, FR);
        assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_GENERAL_FAILURE);
        assert_int_equal(REQ_RESP(0), 0);
        /* with less than a frame of room nothing is written */
        assert_int_equal(
            rpmb_handle(&t.r, t.req, lens[i], t.resp, FR - 1, &t.resp_len),
            RPMB_OK);
        assert_int_equal(t.resp_len, 0);
    }
    /* unknown request types, including response codes sent as requests */
    for (i = 0; i < 5; i++) {
        static const uint16_t types[] = {0, 6, 0x0100, 0x0300, 0xffff};
        struct fields f = {.req_resp = types[i], .block_count = 1};

        build(t.req, &f);
        call(1, 1);
        assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_GENERAL_FAILURE);
        assert_int_equal(REQ_RESP(0), 0);
    }
    /* a split write stream is fine as long as the bytes arrive in order */
    build_write(key1, 5, 2, 0, 0x21);
    call(3, 1);
    assert_int_equal(RESULT(0), 0);
    /* NULL arguments are C errors, not results */
    assert_int_equal(rpmb_handle(&t.r, NULL, 512, t.resp, FR, &t.resp_len),
                     RPMB_ERR_ARG);
    assert_int_equal(rpmb_handle(&t.r, t.req, 512, NULL, FR, &t.resp_len),
                     RPMB_ERR_ARG);
    assert_int_equal(rpmb_handle(NULL, t.req, 512, t.resp, FR, &t.resp_len),
                     RPMB_ERR_ARG);
    assert_int_equal(rpmb_write_counter(&t.r), 1);
}

static void store_failures(void **state)
{
    uint8_t before[N_BLOCKS * RPMB_BLK_SIZE];
    struct rpmb_fault_store fs;
    uint32_t c;

    /* key programming fails durably: no key */
    setup();
    t.mem.fail_write_err = -EIO;
    assert_int_equal(program_key(key1, 1), VIRTIO_RPMB_RES_WRITE_FAILURE);
    assert_false(rpmb_key_programmed(&t.r));
    assert_false(t.mem.key_programmed);
    assert_int_equal(program_key(key1, 1), 0);

    /* write fails: WRITE_FAILURE, counter and data unchanged */
    assert_int_equal(do_write(key1, 0, 2, 0, 1), 0);
    memcpy(before, t.blocks, sizeof(before));
    t.mem.fail_write_err = -ENOSPC;
    assert_int_equal(do_write(key1, 0, 2, 1, 9), VIRTIO_RPMB_RES_WRITE_FAILURE);
    assert_int_equal(COUNTER(0), 1);
    assert_int_equal(t.mem.counter, 1);
    assert_bytes_equal(t.blocks, before, sizeof(before));
    assert_int_equal(get_counter(key1, 1, &c), 0);
    assert_int_equal(c, 1);
    /* and the device recovers */
    assert_int_equal(do_write(key1, 0, 2, 1, 9), 0);
    assert_int_equal(COUNTER(0), 2);

    /* read fails: READ_FAILURE, no data leaks out */
    t.mem.fail_read_err = -EIO;
    do_read(0, 2, 2, NULL);
    assert_int_equal(RESULT(0), VIRTIO_RPMB_RES_READ_FAILURE);
    assert_int_equal(RESULT(1), VIRTIO_RPMB_RES_READ_FAILURE);
    assert_int_equal(t.resp[VIRTIO_RPMB_OFF_DATA], 0);

    /* through the fault wrapper: the n-th write fails */
    fs = (struct rpmb_fault_store){.inner = &rpmb_mem_store_ops,
                                   .inner_ctx = &t.mem,
                                   .fail_write_err = -EIO,
                                   .ok_writes_left = 1};
    assert_int_equal(rpmb_init(&t.r, &(struct rpmb_config){UNITS, 0, 0},
                               &rpmb_fault_store_ops, &fs),
                     RPMB_OK);
    assert_int_equal(do_write(key1, 3, 1, 2, 0x31), 0);
    assert_int_equal(do_write(key1, 3, 1, 3, 0x32),
                     VIRTIO_RPMB_RES_WRITE_FAILURE);
    assert_int_equal(t.blocks[3 * 256], 0x31);
    assert_int_equal(t.mem.counter, 3);
    /* the key cannot be loaded: no authentic-looking answer */
    fs.fail_key_err = -EIO;
    assert_int_equal(get_counter(NULL, 1, &c), VIRTIO_RPMB_RES_GENERAL_FAILURE);
    {
        static const uint8_t zero[32];

        assert_bytes_equal(t.resp + VIRTIO_RPMB_OFF_KEY_MAC, zero, 32);
    }
    fs.fail_key_err = 0;
    fs.fail_write_err = 0;
    assert_int_equal(do_write(key1, 3, 1, 3, 0x33), 0);
}

/* The key never appears in any response frame. */
static void key_never_returned(void **state)
{
    uint32_t c;

    setup();
    assert_int_equal(program_key(key1, 1), 0);
    assert_null(memmem(t.resp, FR, key1, 8));
    assert_int_equal(program_key(key1, 1), VIRTIO_RPMB_RES_WRITE_FAILURE);
    assert_null(memmem(t.resp, FR, key1, 8));
    assert_int_equal(get_counter(key1, 1, &c), 0);
    assert_null(memmem(t.resp, FR, key1, 8));
    do_read(0, 4, 4, NULL);
    assert_null(memmem(t.resp, 4 * FR, key1, 8));
    /* the model context holds no key bytes */
    assert_null(memmem(&t.r, sizeof(t.r), key1, 8));
}

/*
 * Secrets never steer a branch or an address. Under valgrind (the
 * rpmb_secrets_valgrind test) the stored key, and in the compare the MAC
 * bytes, are marked undefined; memcheck reports any conditional jump or
 * memory index that depends on them in the MAC paths (seal of counter and
 * read responses, HMAC key setup, ct_eq). Results are declassified
 * (marked defined) only after the model returns. Without valgrind this
 * still checks the outputs.
 */
static void secret_paths_branch_free(void **state)
{
    uint8_t mac[32];
    uint8_t a[32];
    uint8_t b[32];
    uint32_t c;
    bool eq;

    setup();
    assert_int_equal(program_key(key1, 1), 0);
    assert_int_equal(do_write(key1, 8, 3, 0, 0x61), 0);

    VALGRIND_MAKE_MEM_UNDEFINED(t.mem.key, sizeof(t.mem.key));
    {
        struct fields f = {.req_resp = VIRTIO_RPMB_REQ_GET_WRITE_COUNTER,
                           .block_count = 1};

        build(t.req, &f);
        call(1, 1);
    }
    VALGRIND_MAKE_MEM_DEFINED(t.resp, FR);
    mac_of(key1, t.resp, 1, mac);
    assert_bytes_equal(t.resp + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    assert_int_equal(COUNTER(0), 1);

    VALGRIND_MAKE_MEM_UNDEFINED(t.mem.key, sizeof(t.mem.key));
    do_read(8, 3, 3, NULL);
    VALGRIND_MAKE_MEM_DEFINED(t.resp, 3 * FR);
    mac_of(key1, t.resp, 3, mac);
    assert_bytes_equal(t.resp + 2 * FR + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    VALGRIND_MAKE_MEM_DEFINED(t.mem.key, sizeof(t.mem.key));

    /* the MAC compare itself */
    memcpy(a, mac, 32);
    memcpy(b, mac, 32);
    b[31] ^= 1;
    VALGRIND_MAKE_MEM_UNDEFINED(a, 32);
    VALGRIND_MAKE_MEM_UNDEFINED(b, 32);
    eq = ct_eq(a, b, 32);
    VALGRIND_MAKE_MEM_DEFINED(&eq, sizeof(eq));
    assert_false(eq);
    VALGRIND_MAKE_MEM_UNDEFINED(a, 32);
    eq = ct_eq(a, mac, 32);
    VALGRIND_MAKE_MEM_DEFINED(&eq, sizeof(eq));
    assert_true(eq);
    (void)get_counter(key1, 1, &c);
}

static void init_and_config(void **state)
{
    struct rpmb_config cfg = {0x80, 7, 9};
    uint8_t b[3];

    rpmb_mem_store_init(&t.mem, t.blocks, N_BLOCKS);
    assert_int_equal(rpmb_init(&t.r, &cfg, &rpmb_mem_store_ops, &t.mem),
                     RPMB_OK);
    rpmb_config_bytes(&t.r, b);
    assert_int_equal(b[0], 0x80);
    assert_int_equal(b[1], 7);
    assert_int_equal(b[2], 9);
    cfg.capacity_units = 0;
    assert_int_equal(rpmb_init(&t.r, &cfg, &rpmb_mem_store_ops, &t.mem),
                     RPMB_ERR_CONFIG);
    cfg.capacity_units = 0x81;
    assert_int_equal(rpmb_init(&t.r, &cfg, &rpmb_mem_store_ops, &t.mem),
                     RPMB_ERR_CONFIG);
    assert_int_equal(rpmb_init(&t.r, &cfg, NULL, &t.mem), RPMB_ERR_ARG);
    assert_string_equal(rpmb_result_name(0x85), "WRITE_FAILURE");
    assert_string_equal(rpmb_strerror(RPMB_ERR_CONFIG),
                        "capacity must be 1..128 units of 128 KiB");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(vectors_from_fields),
    cmocka_unit_test(vectors_from_model),
    cmocka_unit_test(program_key_once),
    cmocka_unit_test(result_read_separate_chain),
    cmocka_unit_test(no_auth_key),
    cmocka_unit_test(get_counter_nonce_mac),
    cmocka_unit_test(multi_block_write_read),
    cmocka_unit_test(wrong_mac),
    cmocka_unit_test(wrong_counter),
    cmocka_unit_test(address_bounds),
    cmocka_unit_test(count_limits),
    cmocka_unit_test(expiry),
    cmocka_unit_test(block_count_zero),
    cmocka_unit_test(malformed_streams),
    cmocka_unit_test(store_failures),
    cmocka_unit_test(key_never_returned),
    cmocka_unit_test(secret_paths_branch_free),
    cmocka_unit_test(init_and_config),
};

HARNESS_MAIN("rpmb", tests)
