/* SPDX-License-Identifier: MIT */
/*
 * RPMB client tests: frame layout and MAC against the shared vectors, then
 * every operation against a device over an in-process transport, with a
 * tampering transport to show that each response check fires.
 *
 * The device is the RPMB model (src/rpmb) when it is built in; the scripted
 * responder below plays the device for the checks the model can never fail
 * (it answers what the test tells it to).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#include "client/rpmb_frame.h"
#include "client/rpmbc.h"
#include "common/caps.h"
#include "common/ct.h"
#include "rpmb/rpmb.h"
#include "store/store.h"

/* ---- vectors ---------------------------------------------------------- */

static void check_vector(const char *name, const uint8_t *frames,
                         size_t n_frames, const char *mac_hex)
{
    char path[64];
    uint8_t key[32];
    uint8_t msg[2 * RPMB_FRAME_MAC_INPUT_SIZE];
    uint8_t want[32];
    uint8_t mac[32];
    size_t len;
    size_t i;

    snprintf(path, sizeof(path), "rpmb/%s.key", name);
    assert_int_equal(harness_read_vector(path, key, sizeof(key)), 32);
    snprintf(path, sizeof(path), "rpmb/%s.msg", name);
    len = harness_read_vector(path, msg, sizeof(msg));
    assert_int_equal(len, n_frames * RPMB_FRAME_MAC_INPUT_SIZE);
    for (i = 0; i < n_frames; i++) {
        assert_bytes_equal(rpmb_frame_mac_input(frames + i * RPMB_FRAME_LEN),
                           msg + i * RPMB_FRAME_MAC_INPUT_SIZE,
                           RPMB_FRAME_MAC_INPUT_SIZE);
    }
    harness_hex(mac_hex, want, sizeof(want));
    assert_int_equal(rpmbc_mac(key, frames, n_frames, mac), 0);
    assert_bytes_equal(mac, want, sizeof(want));
}

static void vector_tv1(void **state)
{
    uint8_t frame[RPMB_FRAME_LEN];
    struct rpmb_frame_fields f;
    size_t i;

    (void)state;
    memset(&f, 0, sizeof(f));
    for (i = 0; i < 16; i++) {
        f.nonce[i] = (uint8_t)i;
    }
    f.req_resp = RPMB_FRAME_RESP_GET_WRITE_COUNTER;
    rpmb_frame_build(frame, &f, NULL);
    check_vector("TV1", frame, 1,
                 "c55ab0517c1a7edc2f2e3eabc7d0ab48"
                 "cbd254848a852571170f5bbf71f93405");
}

static void vector_tv2(void **state)
{
    uint8_t frame[RPMB_FRAME_LEN];
    uint8_t data[256];
    struct rpmb_frame_fields f;
    size_t i;

    (void)state;
    for (i = 0; i < 256; i++) {
        data[i] = (uint8_t)i;
    }
    memset(&f, 0, sizeof(f));
    f.address = 2;
    f.block_count = 1;
    f.req_resp = RPMB_FRAME_REQ_DATA_WRITE;
    rpmb_frame_build(frame, &f, data);
    check_vector("TV2", frame, 1,
                 "e73b16cb644c0e2d0d56ef7731013a1c"
                 "aeef08782b33e71b424cabf54ec3158e");
}

static void vector_tv3(void **state)
{
    uint8_t frames[2 * RPMB_FRAME_LEN];
    uint8_t data[256];
    struct rpmb_frame_fields f;
    size_t i;

    (void)state;
    memset(&f, 0, sizeof(f));
    for (i = 0; i < 16; i++) {
        f.nonce[i] = (uint8_t)(i + 1);
    }
    f.address = 4;
    f.block_count = 2;
    f.req_resp = RPMB_FRAME_RESP_DATA_READ;
    memset(data, 0xaa, sizeof(data));
    rpmb_frame_build(frames, &f, data);
    memset(data, 0x55, sizeof(data));
    rpmb_frame_build(frames + RPMB_FRAME_LEN, &f, data);
    check_vector("TV3", frames, 2,
                 "72b9c7c6ae2dcad2383184fd57c8d6a1"
                 "b158f90fa09629f4ae793db4804e93ef");
}

static void vector_tv4(void **state)
{
    uint8_t frame[RPMB_FRAME_LEN];
    struct rpmb_frame_fields f;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.write_counter = 5;
    f.address = 2;
    f.req_resp = RPMB_FRAME_RESP_DATA_WRITE;
    rpmb_frame_build(frame, &f, NULL);
    check_vector("TV4", frame, 1,
                 "2f84164dbc9ca512e54ed1bd38dca9cb"
                 "100d551c7c05a079f52a8a4392b88064");
}

static void vector_tv5(void **state)
{
    uint8_t frame[RPMB_FRAME_LEN];
    struct rpmb_frame_fields f;
    struct rpmb_frame_fields g;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.write_counter = 0xffffffffu;
    f.address = 2;
    f.result = 0x0085;
    f.req_resp = RPMB_FRAME_RESP_DATA_WRITE;
    rpmb_frame_build(frame, &f, NULL);
    check_vector("TV5", frame, 1,
                 "a862ad8f59a42d9a2f74b6fd7b1831d8"
                 "bce612bea9676e2e5f7ab421e4947fbf");
    /* and the parse side reads back every field, big-endian */
    rpmb_frame_parse(frame, &g);
    assert_int_equal(g.write_counter, 0xffffffffu);
    assert_int_equal(g.result, 0x0085);
    assert_int_equal(frame[RPMB_FRAME_OFF_RESULT], 0x00);
    assert_int_equal(frame[RPMB_FRAME_OFF_RESULT + 1], 0x85);
    assert_false(rpmb_frame_result_ok(g.result));
    assert_string_equal(rpmb_frame_result_name(g.result), "WRITE_FAILURE");
}

static void frame_roundtrip(void **state)
{
    uint8_t frame[RPMB_FRAME_LEN];
    struct rpmb_frame_fields f;
    struct rpmb_frame_fields g;
    size_t i;

    (void)state;
    memset(frame, 0xee, sizeof(frame));
    for (i = 0; i < sizeof(f.nonce); i++) {
        f.nonce[i] = (uint8_t)(0xf0 + i);
    }
    f.write_counter = 0x01020304;
    f.address = 0x0506;
    f.block_count = 0x0708;
    f.result = 0x090a;
    f.req_resp = 0x0b0c;
    rpmb_frame_build(frame, &f, NULL);
    for (i = 0; i < RPMB_FRAME_OFF_NONCE; i++) {
        assert_int_equal(frame[i], 0);
    }
    assert_int_equal(frame[500], 1);
    assert_int_equal(frame[503], 4);
    assert_int_equal(frame[504], 5);
    assert_int_equal(frame[511], 0x0c);
    rpmb_frame_parse(frame, &g);
    assert_memory_equal(&f.nonce, &g.nonce, sizeof(f.nonce));
    assert_int_equal(g.write_counter, f.write_counter);
    assert_int_equal(g.address, f.address);
    assert_int_equal(g.block_count, f.block_count);
    assert_int_equal(g.result, f.result);
    assert_int_equal(g.req_resp, f.req_resp);
}

static void result_names(void **state)
{
    static const struct {
        uint16_t code;
        const char *name;
    } t[] = {
        {0x0000, "OK"},
        {0x0001, "GENERAL_FAILURE"},
        {0x0002, "AUTH_FAILURE"},
        {0x0003, "COUNT_FAILURE"},
        {0x0004, "ADDR_FAILURE"},
        {0x0005, "WRITE_FAILURE"},
        {0x0006, "READ_FAILURE"},
        {0x0007, "NO_AUTH_KEY"},
        {0x0085, "WRITE_FAILURE"},
        {0x0042, "UNKNOWN"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < TV_ARRAY_SIZE(t); i++) {
        assert_string_equal(rpmb_frame_result_name(t[i].code), t[i].name);
    }
    assert_true(rpmb_frame_result_ok(0x0000));
    assert_true(rpmb_frame_result_ok(0x0080));
    assert_false(rpmb_frame_result_ok(0x0087));
    assert_false(rpmb_frame_result_ok(0x0100));
}

/* ---- a scripted device ----------------------------------------------- */

/*
 * A scripted responder: answers each request type the way the test
 * configures (correct by default), so every client check can be driven.
 * It keeps no more state than a test needs: key, counter, 16 blocks.
 */
struct script {
    uint8_t key[32];
    bool have_key;
    uint32_t counter;
    uint8_t blocks[16][256];
    uint8_t cfg[3];
    unsigned n_calls;
    int fail_rc;           /* transport failure to return */
    uint16_t force_result; /* non-zero: result to answer with */
    bool bad_counter;      /* answer a write with counter + 2 */
    bool bad_address;      /* answer with address + 1 */
    bool bad_block_count;  /* answer reads with block_count + 1 */
    bool short_reply;      /* write one byte less than a frame */
    bool drop_mac;         /* zero the MAC */
};

static void script_sign(struct script *s, uint8_t *frames, size_t n)
{
    uint8_t mac[32];

    if (s->drop_mac) {
        return;
    }
    assert_int_equal(rpmbc_mac(s->key, frames, n, mac), 0);
    rpmb_frame_set_key_mac(frames + (n - 1) * RPMB_FRAME_LEN, mac);
}

static int script_call(void *ctx, const uint8_t *req, size_t req_len,
                       uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct script *s = ctx;
    struct rpmb_frame_fields q;
    struct rpmb_frame_fields r;
    size_t i;

    s->n_calls++;
    if (s->fail_rc != 0) {
        return s->fail_rc;
    }
    assert_true(req_len % RPMB_FRAME_LEN == 0 && req_len > 0);
    rpmb_frame_parse(req, &q);
    memset(&r, 0, sizeof(r));
    memcpy(r.nonce, q.nonce, sizeof(r.nonce));
    r.address = (uint16_t)(q.address + (s->bad_address ? 1 : 0));
    r.result = s->force_result;
    switch (q.req_resp) {
    case RPMB_FRAME_REQ_PROGRAM_KEY:
        assert_int_equal(req_len, 2 * RPMB_FRAME_LEN);
        assert_int_equal(rpmb_frame_req_resp(req + RPMB_FRAME_LEN),
                         RPMB_FRAME_REQ_RESULT_READ);
        if (s->have_key && r.result == 0) {
            r.result = RPMB_FRAME_RES_WRITE_FAILURE;
        } else if (r.result == 0) {
            memcpy(s->key, rpmb_frame_key_mac(req), 32);
            s->have_key = true;
        }
        r.req_resp = RPMB_FRAME_RESP_PROGRAM_KEY;
        rpmb_frame_build(resp, &r, NULL);
        break;
    case RPMB_FRAME_REQ_GET_WRITE_COUNTER:
        r.req_resp = RPMB_FRAME_RESP_GET_WRITE_COUNTER;
        if (!s->have_key) {
            r.result = RPMB_FRAME_RES_NO_AUTH_KEY;
        }
        r.write_counter = s->counter;
        rpmb_frame_build(resp, &r, NULL);
        script_sign(s, resp, 1);
        break;
    case RPMB_FRAME_REQ_DATA_WRITE: {
        size_t n = req_len / RPMB_FRAME_LEN - 1;
        uint8_t mac[32];

        assert_int_equal(q.block_count, n);
        assert_int_equal(rpmb_frame_req_resp(req + n * RPMB_FRAME_LEN),
                         RPMB_FRAME_REQ_RESULT_READ);
        assert_int_equal(rpmbc_mac(s->key, req, n, mac), 0);
        if (r.result == 0 &&
            !ct_eq(mac, rpmb_frame_key_mac(req + (n - 1) * RPMB_FRAME_LEN),
                   32)) {
            r.result = RPMB_FRAME_RES_AUTH_FAILURE;
        }
        if (r.result == 0 && q.write_counter != s->counter) {
            r.result = RPMB_FRAME_RES_COUNT_FAILURE;
        }
        if (r.result == 0 && q.address + n > 16) {
            r.result = RPMB_FRAME_RES_ADDR_FAILURE;
        }
        if (r.result == 0) {
            for (i = 0; i < n; i++) {
                memcpy(s->blocks[q.address + i],
                       rpmb_frame_data(req + i * RPMB_FRAME_LEN), 256);
            }
            s->counter++;
        }
        r.write_counter = s->counter + (s->bad_counter ? 1 : 0);
        r.req_resp = RPMB_FRAME_RESP_DATA_WRITE;
        rpmb_frame_build(resp, &r, NULL);
        script_sign(s, resp, 1);
        break;
    }
    case RPMB_FRAME_REQ_DATA_READ: {
        size_t n = q.block_count;

        assert_true(n * RPMB_FRAME_LEN <= resp_cap);
        if (r.result == 0 && q.address + n > 16) {
            r.result = RPMB_FRAME_RES_ADDR_FAILURE;
        }
        r.block_count = (uint16_t)(n + (s->bad_block_count ? 1 : 0));
        r.req_resp = RPMB_FRAME_RESP_DATA_READ;
        for (i = 0; i < n; i++) {
            rpmb_frame_build(resp + i * RPMB_FRAME_LEN, &r,
                             r.result ? NULL : s->blocks[q.address + i]);
        }
        script_sign(s, resp, n);
        *resp_len = n * RPMB_FRAME_LEN - (s->short_reply ? 1 : 0);
        return 0;
    }
    default:
        fail_msg("unexpected request 0x%04x", q.req_resp);
    }
    *resp_len = RPMB_FRAME_LEN - (s->short_reply ? 1 : 0);
    return 0;
}

static int script_config(void *ctx, uint8_t config[3])
{
    struct script *s = ctx;

    memcpy(config, s->cfg, 3);
    return s->fail_rc;
}

static const struct rpmbc_transport_ops script_ops = {
    .call = script_call,
    .get_config = script_config,
};

static const uint8_t key_a[32] = "AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH";
static const uint8_t key_b[32] = "0123456789abcdef0123456789abcdef";

static struct rpmbc client;

static struct script *script_new(uint8_t max_wr, uint8_t max_rd)
{
    static struct script s;
    struct rpmbc_transport tr = {&script_ops, &s};

    memset(&s, 0, sizeof(s));
    s.cfg[0] = 1;
    s.cfg[1] = max_wr;
    s.cfg[2] = max_rd;
    rpmbc_init(&client, &tr);
    return &s;
}

static void script_program(struct script *s)
{
    memcpy(s->key, key_a, 32);
    s->have_key = true;
}

static void script_happy_path(void **state)
{
    struct script *s = script_new(2, 3);
    uint8_t data[7 * 256];
    uint8_t back[7 * 256];
    uint32_t counter = 99;
    size_t i;

    (void)state;
    assert_int_equal(rpmbc_read_counter(&client, NULL, &counter),
                     RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result, RPMB_FRAME_RES_NO_AUTH_KEY);
    assert_int_equal(rpmbc_program_key(&client, key_a), RPMBC_OK);
    assert_int_equal(rpmbc_program_key(&client, key_b), RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result, RPMB_FRAME_RES_WRITE_FAILURE);
    assert_int_equal(rpmbc_read_counter(&client, key_a, &counter), RPMBC_OK);
    assert_int_equal(counter, 0);
    for (i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 7 + 1);
    }
    /* 7 blocks with max_wr_cnt 2: four requests (2+2+2+1) after a counter
     * read; the counter advances once per request */
    s->n_calls = 0;
    assert_int_equal(rpmbc_write_blocks(&client, key_a, 3, data, 7), RPMBC_OK);
    assert_int_equal(s->n_calls, 5);
    assert_int_equal(client.last_counter, 4);
    assert_int_equal(s->counter, 4);
    s->n_calls = 0;
    assert_int_equal(rpmbc_read_blocks(&client, key_a, 3, back, 7), RPMBC_OK);
    assert_int_equal(s->n_calls, 3); /* 3 + 3 + 1 with max_rd_cnt 3 */
    assert_bytes_equal(back, data, sizeof(data));
    assert_int_equal(rpmbc_read_blocks(&client, NULL, 4, back, 1), RPMBC_OK);
    assert_bytes_equal(back, data + 256, 256);
}

static void script_wrong_key(void **state)
{
    struct script *s = script_new(0, 0);
    uint8_t data[256] = {1};
    uint32_t counter;

    (void)state;
    script_program(s);
    /* a wrong key fails the counter read's MAC before any write is sent */
    assert_int_equal(rpmbc_write_blocks(&client, key_b, 0, data, 1),
                     RPMBC_ERR_MAC);
    assert_int_equal(s->counter, 0);
    assert_int_equal(rpmbc_read_counter(&client, key_b, &counter),
                     RPMBC_ERR_MAC);
    assert_string_equal(rpmbc_strerror(RPMBC_ERR_MAC),
                        "response MAC mismatch: tampered or wrong key");
    assert_int_equal(rpmbc_status_class(RPMBC_ERR_MAC), RPMBC_CLASS_TAMPER);
}

static void script_device_results(void **state)
{
    struct script *s = script_new(0, 0);
    uint8_t data[2 * 256] = {0};

    (void)state;
    script_program(s);
    assert_int_equal(rpmbc_write_blocks(&client, key_a, 15, data, 2),
                     RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result, RPMB_FRAME_RES_ADDR_FAILURE);
    assert_int_equal(rpmbc_read_blocks(&client, key_a, 15, data, 2),
                     RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result, RPMB_FRAME_RES_ADDR_FAILURE);
    assert_int_equal(rpmbc_status_class(RPMBC_ERR_DEVICE), RPMBC_CLASS_DEVICE);
    /* the expired flag alone is success; with a code it is a failure */
    s->force_result = RPMB_FRAME_RES_EXPIRED_FLAG;
    s->counter = 0xffffffffu;
    assert_int_equal(rpmbc_read_blocks(&client, key_a, 0, data, 1), RPMBC_OK);
    assert_int_equal(client.last_result, 0x0080);
    s->force_result = 0x0085;
    assert_int_equal(rpmbc_write_blocks(&client, key_a, 0, data, 1),
                     RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result, 0x0085);
}

static void script_checks(void **state)
{
    struct script *s;
    uint8_t data[2 * 256] = {0};
    uint32_t counter;

    (void)state;
    s = script_new(0, 0);
    script_program(s);
    s->bad_counter = true;
    assert_int_equal(rpmbc_write_blocks(&client, key_a, 0, data, 1),
                     RPMBC_ERR_COUNTER);

    s = script_new(0, 0);
    script_program(s);
    s->bad_address = true;
    assert_int_equal(rpmbc_read_blocks(&client, NULL, 0, data, 2),
                     RPMBC_ERR_ADDRESS);
    /* data that failed a check is never handed out */
    memset(s->blocks, 0x5a, sizeof(s->blocks));
    memset(data, 0x11, sizeof(data));
    assert_int_equal(rpmbc_read_blocks(&client, NULL, 0, data, 2),
                     RPMBC_ERR_ADDRESS);
    assert_int_equal(data[0], 0);
    assert_int_equal(data[511], 0);

    s = script_new(0, 0);
    script_program(s);
    s->bad_block_count = true;
    assert_int_equal(rpmbc_read_blocks(&client, NULL, 0, data, 2),
                     RPMBC_ERR_BLOCK_COUNT);

    s = script_new(0, 0);
    script_program(s);
    s->short_reply = true;
    assert_int_equal(rpmbc_read_counter(&client, NULL, &counter),
                     RPMBC_ERR_SHORT);

    s = script_new(0, 0);
    script_program(s);
    s->drop_mac = true;
    assert_int_equal(rpmbc_read_counter(&client, NULL, &counter), RPMBC_OK);
    assert_int_equal(rpmbc_read_counter(&client, key_a, &counter),
                     RPMBC_ERR_MAC);

    s = script_new(0, 0);
    s->fail_rc = -ECONNRESET;
    assert_int_equal(rpmbc_read_counter(&client, NULL, &counter),
                     RPMBC_ERR_TRANSPORT);
    assert_int_equal(client.last_errno, -ECONNRESET);
    assert_int_equal(rpmbc_status_class(RPMBC_ERR_TRANSPORT),
                     RPMBC_CLASS_TRANSPORT);

    s = script_new(0, 0);
    s->cfg[0] = 0;
    assert_int_equal(rpmbc_read_blocks(&client, NULL, 0, data, 1),
                     RPMBC_ERR_CONFIG);

    s = script_new(0, 0);
    assert_int_equal(rpmbc_read_blocks(&client, NULL, 0, data, 0),
                     RPMBC_ERR_RANGE);
    assert_int_equal(rpmbc_read_blocks(&client, NULL, 0xffff, data, 2),
                     RPMBC_ERR_RANGE);
    assert_int_equal(s->n_calls, 0);
}

/*
 * Flip every byte of the MAC-covered part of each response in turn (and a
 * byte of key_mac): with the key, every flip is caught, and classified as
 * tampering.
 */
static void tamper_every_byte(void **state)
{
    struct script *s;
    struct rpmbc_tamper t;
    struct rpmbc_transport tr;
    uint8_t data[2 * 256];
    uint32_t counter;
    size_t off;
    enum rpmbc_status st;

    (void)state;
    for (off = RPMB_FRAME_OFF_KEY_MAC; off < 2 * RPMB_FRAME_LEN; off += 3) {
        s = script_new(0, 0);
        script_program(s);
        memset(&t, 0, sizeof(t));
        t.inner.ops = &script_ops;
        t.inner.ctx = s;
        t.offset = off;
        t.xor_mask = 0x40;
        tr = rpmbc_tamper_transport(&t);
        rpmbc_init(&client, &tr);
        st = rpmbc_read_blocks(&client, key_a, 0, data, 2);
        if (off % RPMB_FRAME_LEN < RPMB_FRAME_OFF_KEY_MAC) {
            continue;
        }
        if (off < RPMB_FRAME_OFF_DATA) {
            /* key_mac of a frame other than the last is not covered */
            assert_int_equal(st, RPMBC_OK);
            continue;
        }
        if (off % RPMB_FRAME_LEN >= RPMB_FRAME_OFF_RESULT) {
            /* a forged failure result is only a denial of service */
            assert_true(st == RPMBC_ERR_DEVICE || st == RPMBC_ERR_REQ_RESP);
            continue;
        }
        if (rpmbc_status_class(st) != RPMBC_CLASS_TAMPER) {
            fail_msg("flip at %zu: status %d", off, (int)st);
        }
        if (off < RPMB_FRAME_LEN) {
            st = rpmbc_read_counter(&client, key_a, &counter);
            if (rpmbc_status_class(st) != RPMBC_CLASS_TAMPER &&
                st != RPMBC_ERR_DEVICE) {
                fail_msg("counter flip at %zu: status %d", off, (int)st);
            }
        }
    }
    /* the nonce check works without a key */
    s = script_new(0, 0);
    script_program(s);
    memset(&t, 0, sizeof(t));
    t.inner.ops = &script_ops;
    t.inner.ctx = s;
    t.offset = RPMB_FRAME_OFF_NONCE + 5;
    t.xor_mask = 1;
    tr = rpmbc_tamper_transport(&t);
    rpmbc_init(&client, &tr);
    assert_int_equal(rpmbc_read_counter(&client, NULL, &counter),
                     RPMBC_ERR_NONCE);
    assert_int_equal(rpmbc_read_blocks(&client, NULL, 0, data, 1),
                     RPMBC_ERR_NONCE);
    /* a flipped counter in a write response is a MAC mismatch */
    t.offset = RPMB_FRAME_OFF_COUNTER + 3;
    t.skip_cnt = t.n_calls + 1; /* leave the counter read alone */
    assert_int_equal(rpmbc_write_blocks(&client, key_a, 0, data, 1),
                     RPMBC_ERR_MAC);
}

/* The key never stays in the client's buffers after program-key. */
static void key_wiped(void **state)
{
    struct script *s = script_new(0, 0);
    uint8_t zero[RPMBC_BUF_SIZE];

    (void)state;
    (void)s;
    memset(zero, 0, sizeof(zero));
    assert_int_equal(rpmbc_program_key(&client, key_b), RPMBC_OK);
    assert_bytes_equal(client.req, zero, sizeof(zero));
    assert_null(memmem(&client, sizeof(client), key_b, sizeof(key_b)));
}

/* ---- loopback to the RPMB model ------------------------------------- */

#define LOOP_UNITS  1
#define LOOP_BLOCKS (LOOP_UNITS * 512)

/*
 * The in-process loopback transport: the request bytes go straight to
 * rpmb_handle() over an in-memory store, as the daemon would pass them.
 */
struct loop {
    struct rpmb model;
    struct rpmb_mem_store store;
    uint8_t blocks[LOOP_BLOCKS * 256];
    unsigned n_calls;
};

static int loop_call(void *ctx, const uint8_t *req, size_t req_len,
                     uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct loop *l = ctx;

    l->n_calls++;
    return rpmb_handle(&l->model, req, req_len, resp, resp_cap, resp_len) ==
                   RPMB_OK
               ? 0
               : -EIO;
}

static int loop_config(void *ctx, uint8_t config[3])
{
    struct loop *l = ctx;

    rpmb_config_bytes(&l->model, config);
    return 0;
}

static const struct rpmbc_transport_ops loop_ops = {
    .call = loop_call,
    .get_config = loop_config,
};

/* A fresh device (counter @counter, keyed with key_a when @keyed). */
static struct loop *loop_new(uint8_t max_wr, uint8_t max_rd, bool keyed,
                             uint32_t counter)
{
    static struct loop l;
    struct rpmb_config cfg = {LOOP_UNITS, max_wr, max_rd};
    struct rpmbc_transport tr = {&loop_ops, &l};

    memset(&l, 0, sizeof(l));
    rpmb_mem_store_init(&l.store, l.blocks, LOOP_BLOCKS);
    if (keyed) {
        memcpy(l.store.key, key_a, 32);
        l.store.key_programmed = true;
    }
    l.store.counter = counter;
    assert_int_equal(rpmb_init(&l.model, &cfg, &rpmb_mem_store_ops, &l.store),
                     RPMB_OK);
    rpmbc_init(&client, &tr);
    return &l;
}

static void model_flow(void **state)
{
    static uint8_t data[70 * 256];
    static uint8_t back[70 * 256];
    struct loop *l = loop_new(0, 0, false, 0);
    struct rpmbc_config cfg;
    uint32_t counter = 7;
    size_t i;

    (void)state;
    assert_int_equal(rpmbc_get_config(&client, &cfg), RPMBC_OK);
    assert_int_equal(cfg.capacity_units, LOOP_UNITS);
    assert_int_equal(rpmbc_capacity_blocks(&client), LOOP_BLOCKS);
    assert_int_equal(rpmbc_read_counter(&client, NULL, &counter),
                     RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result & 0x7f, RPMB_FRAME_RES_NO_AUTH_KEY);
    assert_int_equal(rpmbc_read_blocks(&client, NULL, 0, back, 1),
                     RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result, RPMB_FRAME_RES_NO_AUTH_KEY);
    assert_int_equal(rpmbc_program_key(&client, key_a), RPMBC_OK);
    assert_int_equal(rpmbc_program_key(&client, key_b), RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result, RPMB_FRAME_RES_WRITE_FAILURE);
    assert_int_equal(rpmbc_read_counter(&client, key_a, &counter), RPMBC_OK);
    assert_int_equal(counter, 0);

    for (i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i ^ (i >> 8));
    }
    /* no device limit: batches of RPMBC_MAX_BATCH (64 + 6) */
    l->n_calls = 0;
    assert_int_equal(rpmbc_write_blocks(&client, key_a, 100, data, 70),
                     RPMBC_OK);
    assert_int_equal(l->n_calls, 3);
    assert_int_equal(client.last_counter, 2);
    assert_int_equal(rpmb_write_counter(&l->model), 2);
    assert_bytes_equal(l->blocks + 100 * 256, data, sizeof(data));
    assert_int_equal(rpmbc_read_blocks(&client, key_a, 100, back, 70),
                     RPMBC_OK);
    assert_bytes_equal(back, data, sizeof(data));
    assert_int_equal(rpmbc_read_blocks(&client, NULL, 101, back, 2), RPMBC_OK);
    assert_bytes_equal(back, data + 256, 512);

    /* a wrong key: the counter read's MAC fails, nothing is sent */
    l->n_calls = 0;
    assert_int_equal(rpmbc_write_blocks(&client, key_b, 0, data, 1),
                     RPMBC_ERR_MAC);
    assert_int_equal(l->n_calls, 1);
    assert_int_equal(rpmbc_read_blocks(&client, key_b, 100, back, 2),
                     RPMBC_ERR_MAC);
    assert_int_equal(back[0], 0);
    assert_int_equal(rpmb_write_counter(&l->model), 2);
}

static void model_limits(void **state)
{
    uint8_t data[7 * 256];
    uint8_t back[7 * 256];
    struct loop *l = loop_new(3, 2, true, 0);

    (void)state;
    memset(data, 0x77, sizeof(data));
    data[6 * 256] = 1;
    l->n_calls = 0;
    assert_int_equal(rpmbc_write_blocks(&client, key_a, 0, data, 7), RPMBC_OK);
    assert_int_equal(l->n_calls, 4); /* counter + 3 + 3 + 1 */
    assert_int_equal(rpmb_write_counter(&l->model), 3);
    l->n_calls = 0;
    assert_int_equal(rpmbc_read_blocks(&client, key_a, 0, back, 7), RPMBC_OK);
    assert_int_equal(l->n_calls, 4); /* 2 + 2 + 2 + 1 */
    assert_bytes_equal(back, data, sizeof(data));
}

static void model_addr_failure(void **state)
{
    uint8_t data[2 * 256] = {0};

    (void)state;
    loop_new(0, 0, true, 0);
    assert_int_equal(
        rpmbc_read_blocks(&client, key_a, LOOP_BLOCKS - 1, data, 2),
        RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result, RPMB_FRAME_RES_ADDR_FAILURE);
    assert_int_equal(rpmbc_write_blocks(&client, key_a, LOOP_BLOCKS, data, 1),
                     RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result, RPMB_FRAME_RES_ADDR_FAILURE);
    assert_int_equal(
        rpmbc_write_blocks(&client, key_a, LOOP_BLOCKS - 1, data, 1), RPMBC_OK);
}

static void model_expiry(void **state)
{
    uint8_t data[256] = {0};
    uint32_t counter;
    struct loop *l = loop_new(0, 0, true, 0xfffffffeu);

    (void)state;
    /* the write that reaches the maximum succeeds and carries the flag */
    assert_int_equal(rpmbc_write_blocks(&client, key_a, 0, data, 1), RPMBC_OK);
    assert_int_equal(client.last_counter, 0xffffffffu);
    assert_int_equal(client.last_result, RPMB_FRAME_RES_EXPIRED_FLAG);
    /* later writes are refused with 0x0085, reads still work */
    assert_int_equal(rpmbc_write_blocks(&client, key_a, 0, data, 1),
                     RPMBC_ERR_DEVICE);
    assert_int_equal(client.last_result, 0x0085);
    assert_int_equal(rpmbc_read_counter(&client, key_a, &counter), RPMBC_OK);
    assert_int_equal(counter, 0xffffffffu);
    assert_int_equal(client.last_result, RPMB_FRAME_RES_EXPIRED_FLAG);
    assert_int_equal(rpmbc_read_blocks(&client, key_a, 0, data, 1), RPMBC_OK);
    assert_int_equal(rpmb_write_counter(&l->model), 0xffffffffu);
}

/* Every byte of every response frame flipped in turn: caught or harmless. */
static void model_tamper(void **state)
{
    struct rpmbc_tamper t;
    struct rpmbc_transport tr;
    uint8_t data[2 * 256];
    uint8_t back[2 * 256];
    struct loop *l;
    size_t off;
    enum rpmbc_status st;
    uint32_t counter;

    (void)state;
    memset(data, 0xa5, sizeof(data));
    for (off = RPMB_FRAME_OFF_KEY_MAC; off < 2 * RPMB_FRAME_LEN; off++) {
        if (off == RPMB_FRAME_LEN) {
            /* frame 1: its key_mac holds the MAC */
            off = RPMB_FRAME_LEN + RPMB_FRAME_OFF_KEY_MAC;
        }
        l = loop_new(0, 0, true, 0);
        memcpy(l->blocks, data, sizeof(data));
        memset(&t, 0, sizeof(t));
        t.inner.ops = &loop_ops;
        t.inner.ctx = l;
        t.offset = off;
        t.xor_mask = 0x10;
        tr = rpmbc_tamper_transport(&t);
        rpmbc_init(&client, &tr);
        st = rpmbc_read_blocks(&client, key_a, 0, back, 2);
        if (off < RPMB_FRAME_OFF_DATA) {
            /* key_mac of the first of two frames is not covered */
            assert_int_equal(st, RPMBC_OK);
        } else if (off % RPMB_FRAME_LEN >= RPMB_FRAME_OFF_RESULT) {
            assert_true(st == RPMBC_ERR_DEVICE || st == RPMBC_ERR_REQ_RESP);
        } else if (rpmbc_status_class(st) != RPMBC_CLASS_TAMPER) {
            fail_msg("read: flip at %zu undetected (%d)", off, (int)st);
        }
        if (off < RPMB_FRAME_LEN) {
            st = rpmbc_read_counter(&client, key_a, &counter);
            if (off >= RPMB_FRAME_OFF_RESULT) {
                assert_true(st == RPMBC_ERR_DEVICE || st == RPMBC_ERR_REQ_RESP);
            } else if (rpmbc_status_class(st) != RPMBC_CLASS_TAMPER) {
                fail_msg("counter: flip at %zu undetected (%d)", off, (int)st);
            }
            /* write response: flip after the (untouched) counter read */
            t.skip_cnt = t.n_calls + 1;
            st = rpmbc_write_blocks(&client, key_a, 0, data, 1);
            if (off >= RPMB_FRAME_OFF_RESULT) {
                assert_true(st == RPMBC_ERR_DEVICE || st == RPMBC_ERR_REQ_RESP);
            } else if (rpmbc_status_class(st) != RPMBC_CLASS_TAMPER) {
                fail_msg("write: flip at %zu undetected (%d)", off, (int)st);
            }
        }
    }
}

/* Request frames carrying a MAC are wiped once a write returns. */
static void model_write_wipes(void **state)
{
    static uint8_t zero[RPMBC_BUF_SIZE];
    uint8_t data[3 * 256];

    (void)state;
    loop_new(0, 0, true, 0);
    memset(data, 0x42, sizeof(data));
    assert_int_equal(rpmbc_write_blocks(&client, key_a, 0, data, 3), RPMBC_OK);
    assert_bytes_equal(client.req, zero, sizeof(zero));
    assert_null(memmem(&client, sizeof(client), key_a, sizeof(key_a)));
    /* also on the failure path: a wrong counter answer */
    assert_int_equal(rpmbc_write_blocks(&client, key_b, 0, data, 3),
                     RPMBC_ERR_MAC);
    assert_bytes_equal(client.req, zero, sizeof(zero));
    /* reads leave neither nonce nor data behind */
    assert_int_equal(rpmbc_read_blocks(&client, key_a, 0, data, 3), RPMBC_OK);
    assert_bytes_equal(client.req, zero, sizeof(zero));
    assert_bytes_equal(client.resp, zero, sizeof(zero));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(vector_tv1),
    cmocka_unit_test(vector_tv2),
    cmocka_unit_test(vector_tv3),
    cmocka_unit_test(vector_tv4),
    cmocka_unit_test(vector_tv5),
    cmocka_unit_test(frame_roundtrip),
    cmocka_unit_test(result_names),
    cmocka_unit_test(script_happy_path),
    cmocka_unit_test(script_wrong_key),
    cmocka_unit_test(script_device_results),
    cmocka_unit_test(script_checks),
    cmocka_unit_test(tamper_every_byte),
    cmocka_unit_test(key_wiped),
    cmocka_unit_test(model_flow),
    cmocka_unit_test(model_limits),
    cmocka_unit_test(model_addr_failure),
    cmocka_unit_test(model_expiry),
    cmocka_unit_test(model_tamper),
    cmocka_unit_test(model_write_wipes),
};

HARNESS_MAIN("rpmbc", tests)
