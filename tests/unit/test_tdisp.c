/* SPDX-License-Identifier: MIT */
/*
 * TDISP responder and requester codec, IDE_KM responder, PCI-SIG dispatch:
 * every message in every state, every refusal with its error code, the
 * nonce rules, the interface report against the configured ranges, config
 * changes after LOCK, the key-slot state machine and key wiping.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#include "common/bytes.h"
#include "tdisp/idekm.h"
#include "tdisp/pcisig.h"
#include "tdisp/tdisp.h"

#define FID0 0x00000100u /* 01:00.0 */
#define FID1 0x00000101u /* 01:00.1 */
#define SID  0xfffe0001u

static struct {
    struct tdisp t;
    uint8_t req[TDISP_MSG_MAX];
    size_t req_len;
    uint8_t rsp[TDISP_MSG_MAX];
    size_t rsp_len;
    struct tdisp_rsp r;
    uint8_t counter;
    bool rng_fail;
} f;

static int fake_random(void *ctx, uint8_t *buf, size_t len)
{
    size_t i;

    (void)ctx;
    if (f.rng_fail) {
        return -1;
    }
    f.counter++;
    for (i = 0; i < len; i++) {
        buf[i] = (uint8_t)(f.counter * 31u + i);
    }
    return 0;
}

static const struct tdisp_ops ops = {fake_random};

static void tdi_cfg(struct tdisp_tdi_config *c, uint32_t fid)
{
    memset(c, 0, sizeof(*c));
    c->function_id = fid;
    c->interface_info = TDISP_INFO_DMA_WITHOUT_PASID;
    c->msix_ctl = 0x8003;
    c->tph_ctl = 0x11;
    c->ranges[0] = (struct tdisp_range){0xfe000000, 4, 0, 0};
    c->ranges[1] = (struct tdisp_range){
        0xfe004000, 1, TDISP_RANGE_MSIX_TABLE | TDISP_RANGE_MEM_ATTR_UPDATABLE,
        0};
    c->ranges[2] = (struct tdisp_range){0x800000000ull, 16, 0, 2};
    c->n_ranges = 3;
    memcpy(c->devspec, "nvme", 4);
    c->devspec_len = 4;
    c->valid = true;
}

static int setup(void **state)
{
    struct tdisp_config cfg;

    (void)state;
    memset(&f, 0, sizeof(f));
    memset(&cfg, 0, sizeof(cfg));
    tdi_cfg(&cfg.tdis[0], FID0);
    tdi_cfg(&cfg.tdis[1], FID1);
    cfg.tdis[1].n_ranges = 1;
    cfg.n_tdis = 2;
    cfg.lock_flags_supported =
        TDISP_LOCK_NO_FW_UPDATE | TDISP_LOCK_LOCK_MSIX | TDISP_LOCK_BIND_P2P;
    cfg.dev_addr_width = 52;
    assert_int_equal(tdisp_init(&f.t, &cfg, &ops, NULL), TDISP_OK);
    return 0;
}

/* Send a request built by the codec; parse the response. */
static int send_in(uint32_t sid, bool in_session, uint8_t code, uint32_t fid,
                   const void *arg)
{
    f.req_len = tdisp_build_request(code, fid, arg, f.req, sizeof(f.req));
    assert_true(f.req_len >= TDISP_HEADER_SIZE);
    assert_int_equal(tdisp_handle(&f.t, sid, in_session, f.req, f.req_len,
                                  f.rsp, sizeof(f.rsp), &f.rsp_len),
                     TDISP_OK);
    return tdisp_parse_response(code, fid, f.rsp, f.rsp_len, &f.r);
}

static void send(uint8_t code, uint32_t fid, const void *arg)
{
    assert_int_equal(send_in(SID, true, code, fid, arg), TDISP_PARSE_OK);
}

static void expect_ok(uint8_t code, uint32_t fid, const void *arg)
{
    send(code, fid, arg);
    if (f.r.code == TDISP_ERROR) {
        fail_msg("0x%02x: TDISP_ERROR %s", code,
                 tdisp_error_name(f.r.error_code));
    }
    assert_int_equal(f.r.code, TDISP_RSP(code));
    assert_int_equal(f.r.function_id, fid);
}

static void expect_err(uint8_t code, uint32_t fid, const void *arg,
                       uint32_t err)
{
    send(code, fid, arg);
    assert_int_equal(f.r.code, TDISP_ERROR);
    if (f.r.error_code != err) {
        fail_msg("0x%02x: got %s, want %s", code,
                 tdisp_error_name(f.r.error_code), tdisp_error_name(err));
    }
    assert_int_equal(f.rsp_len, TDISP_ERROR_RSP_SIZE);
}

static const struct tdisp_lock_params lock0 = {0, 0, 0, 0};

static uint8_t nonce[TDISP_NONCE_SIZE];

static void do_lock(uint32_t fid, const struct tdisp_lock_params *lp)
{
    expect_ok(TDISP_LOCK_INTERFACE, fid, lp);
    memcpy(nonce, f.r.nonce, TDISP_NONCE_SIZE);
}

static void expect_state(uint32_t fid, enum tdisp_state st)
{
    expect_ok(TDISP_GET_DEVICE_INTERFACE_STATE, fid, NULL);
    assert_int_equal(f.r.state, st);
    assert_int_equal(tdisp_state(&f.t, fid), st);
}

static void version_and_caps(void **state)
{
    uint32_t tsm_caps = 0;

    (void)state;
    expect_ok(TDISP_GET_VERSION, FID0, NULL);
    assert_int_equal(f.r.n_versions, 1);
    assert_int_equal(f.r.versions[0], TDISP_VERSION_10);
    expect_ok(TDISP_GET_CAPABILITIES, FID0, &tsm_caps);
    assert_int_equal(f.rsp_len, TDISP_CAPS_RSP_SIZE);
    assert_int_equal(f.r.lock_flags_supported, TDISP_LOCK_NO_FW_UPDATE |
                                                   TDISP_LOCK_LOCK_MSIX |
                                                   TDISP_LOCK_BIND_P2P);
    assert_int_equal(f.r.dev_addr_width, 52);
    /* bits 1..10 of the bitmap: GET_VERSION .. SET_MMIO_ATTRIBUTE */
    assert_int_equal(f.r.req_msgs[0], 0xfe);
    assert_int_equal(f.r.req_msgs[1], 0x07);
    assert_int_equal(f.r.req_msgs[2], 0);
}

static void whole_flow(void **state)
{
    uint16_t ol[2] = {0, 0xffff};
    struct tdisp_report rep;
    struct tdisp_lock_params lp = {TDISP_LOCK_NO_FW_UPDATE, 3, 0x1000000, 0};

    (void)state;
    expect_state(FID0, TDISP_CONFIG_UNLOCKED);
    do_lock(FID0, &lp);
    expect_state(FID0, TDISP_CONFIG_LOCKED);
    expect_ok(TDISP_GET_DEVICE_INTERFACE_REPORT, FID0, ol);
    assert_int_equal(f.r.remainder_len, 0);
    assert_int_equal(f.r.portion_len, 16 + 3 * 16 + 4 + 4);
    assert_int_equal(tdisp_parse_report(f.r.portion, f.r.portion_len, &rep), 0);
    assert_int_equal(rep.interface_info, TDISP_INFO_DMA_WITHOUT_PASID);
    assert_int_equal(rep.msix_ctl, 0x8003);
    assert_int_equal(rep.tph_ctl, 0x11);
    assert_int_equal(rep.n_ranges, 3);
    /* byte address of the first page plus the reporting offset */
    assert_true(rep.ranges[0].addr == 0xfe000000ull + 0x1000000);
    assert_int_equal(rep.ranges[0].n_pages, 4);
    assert_true(rep.ranges[2].addr == 0x800000000ull + 0x1000000);
    assert_int_equal(rep.ranges[2].range_id, 2);
    assert_int_equal(rep.ranges[1].attrs,
                     TDISP_RANGE_MSIX_TABLE | TDISP_RANGE_MEM_ATTR_UPDATABLE);
    assert_int_equal(rep.devspec_len, 4);
    assert_memory_equal(rep.devspec, "nvme", 4);
    expect_ok(TDISP_START_INTERFACE, FID0, nonce);
    expect_state(FID0, TDISP_RUN);
    expect_ok(TDISP_GET_DEVICE_INTERFACE_REPORT, FID0, ol);
    /* the other TDI is untouched */
    expect_state(FID1, TDISP_CONFIG_UNLOCKED);
    expect_ok(TDISP_STOP_INTERFACE, FID0, NULL);
    expect_state(FID0, TDISP_CONFIG_UNLOCKED);
    /* locked again: a fresh nonce, the old one refused */
    do_lock(FID0, &lock0);
    {
        uint8_t old[TDISP_NONCE_SIZE];
        uint8_t fresh[TDISP_NONCE_SIZE];
        memcpy(fresh, nonce, sizeof(fresh));
        memcpy(old, nonce, sizeof(old));
        old[0] ^= 0xff;
        expect_err(TDISP_START_INTERFACE, FID0, old, TDISP_ERR_INVALID_NONCE);
        expect_state(FID0, TDISP_CONFIG_LOCKED);
        expect_ok(TDISP_START_INTERFACE, FID0, fresh);
    }
}

static void report_portions(void **state)
{
    uint8_t whole[TDISP_REPORT_MAX];
    size_t got = 0;
    struct tdisp_report rep;

    (void)state;
    do_lock(FID0, &lock0);
    for (;;) {
        uint16_t ol[2] = {(uint16_t)got, 7};
        expect_ok(TDISP_GET_DEVICE_INTERFACE_REPORT, FID0, ol);
        assert_true(f.r.portion_len <= 7);
        memcpy(whole + got, f.r.portion, f.r.portion_len);
        got += f.r.portion_len;
        if (f.r.remainder_len == 0) {
            break;
        }
        assert_int_equal(got + f.r.remainder_len, 72);
    }
    assert_int_equal(got, 72);
    assert_int_equal(tdisp_parse_report(whole, got, &rep), 0);
    assert_int_equal(rep.n_ranges, 3);
    /* offset past the end, length 0 */
    {
        uint16_t past[2] = {72, 10};
        uint16_t zero[2] = {0, 0};
        expect_err(TDISP_GET_DEVICE_INTERFACE_REPORT, FID0, past,
                   TDISP_ERR_INVALID_REQUEST);
        expect_err(TDISP_GET_DEVICE_INTERFACE_REPORT, FID0, zero,
                   TDISP_ERR_INVALID_REQUEST);
    }
    /* a response buffer that holds only part: the portion shrinks */
    {
        uint16_t ol[2] = {0, 1000};
        f.req_len = tdisp_build_request(TDISP_GET_DEVICE_INTERFACE_REPORT, FID0,
                                        ol, f.req, sizeof(f.req));
        assert_int_equal(tdisp_handle(&f.t, SID, true, f.req, f.req_len, f.rsp,
                                      30, &f.rsp_len),
                         TDISP_OK);
        assert_int_equal(f.rsp_len, 30);
        assert_int_equal(tdisp_parse_response(TDISP_GET_DEVICE_INTERFACE_REPORT,
                                              FID0, f.rsp, f.rsp_len, &f.r),
                         TDISP_PARSE_OK);
        assert_int_equal(f.r.portion_len, 10);
        assert_int_equal(f.r.remainder_len, 62);
    }
}

/* Which requests each state refuses, with INVALID_INTERFACE_STATE. */
static void wrong_states(void **state)
{
    uint16_t ol[2] = {0, 100};
    uint8_t sid = 1;
    struct tdisp_range r = {0xfe004000, 1, TDISP_RANGE_MSIX_TABLE, 0};
    struct tdisp_lock_params lp = {TDISP_LOCK_BIND_P2P, 0, 0, 0};

    (void)state;
    /* CONFIG_UNLOCKED */
    expect_err(TDISP_GET_DEVICE_INTERFACE_REPORT, FID0, ol,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_START_INTERFACE, FID0, nonce,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_BIND_P2P_STREAM, FID0, &sid,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_UNBIND_P2P_STREAM, FID0, &sid,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_SET_MMIO_ATTRIBUTE, FID0, &r,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_ok(TDISP_STOP_INTERFACE, FID0, NULL); /* allowed everywhere */
    expect_state(FID0, TDISP_CONFIG_UNLOCKED);
    /* CONFIG_LOCKED */
    do_lock(FID0, &lp);
    expect_err(TDISP_LOCK_INTERFACE, FID0, &lp,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_BIND_P2P_STREAM, FID0, &sid,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_UNBIND_P2P_STREAM, FID0, &sid,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_SET_MMIO_ATTRIBUTE, FID0, &r,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_ok(TDISP_GET_VERSION, FID0, NULL);
    expect_ok(TDISP_GET_CAPABILITIES, FID0, NULL);
    /* RUN */
    expect_ok(TDISP_START_INTERFACE, FID0, nonce);
    expect_err(TDISP_LOCK_INTERFACE, FID0, &lp,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_START_INTERFACE, FID0, nonce,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    /* ERROR */
    assert_int_equal(tdisp_config_change(&f.t, FID0, NULL, false),
                     TDISP_STATE_ERROR);
    expect_state(FID0, TDISP_STATE_ERROR);
    expect_err(TDISP_LOCK_INTERFACE, FID0, &lp,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_START_INTERFACE, FID0, nonce,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_GET_DEVICE_INTERFACE_REPORT, FID0, ol,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_err(TDISP_BIND_P2P_STREAM, FID0, &sid,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    expect_ok(TDISP_STOP_INTERFACE, FID0, NULL);
    expect_state(FID0, TDISP_CONFIG_UNLOCKED);
}

static void outside_session(void **state)
{
    uint8_t code;

    (void)state;
    for (code = TDISP_GET_VERSION; code <= TDISP_SET_MMIO_ATTRIBUTE; code++) {
        static const uint16_t ol[2] = {0, 10};
        static const uint32_t id = 0; /* u32 for GET_CAPABILITIES */
        static const struct tdisp_range r = {0, 1, 0, 0};
        const void *arg =
            code == TDISP_LOCK_INTERFACE                ? (const void *)&lock0
            : code == TDISP_START_INTERFACE             ? (const void *)nonce
            : code == TDISP_GET_DEVICE_INTERFACE_REPORT ? (const void *)ol
            : code == TDISP_SET_MMIO_ATTRIBUTE          ? (const void *)&r
                                                        : (const void *)&id;
        assert_int_equal(send_in(0, false, code, FID0, arg), TDISP_PARSE_OK);
        assert_int_equal(f.r.code, TDISP_ERROR);
        assert_int_equal(f.r.error_code, TDISP_ERR_INVALID_REQUEST);
    }
    assert_int_equal(tdisp_state(&f.t, FID0), TDISP_CONFIG_UNLOCKED);
}

static void malformed(void **state)
{
    uint8_t m[64];

    (void)state;
    f.req_len =
        tdisp_build_request(TDISP_GET_VERSION, FID0, NULL, m, sizeof(m));
    /* short header */
    assert_int_equal(
        tdisp_handle(&f.t, SID, true, m, 10, f.rsp, sizeof(f.rsp), &f.rsp_len),
        TDISP_OK);
    assert_int_equal(tdisp_parse_response(0x81, 0, f.rsp, f.rsp_len, &f.r),
                     TDISP_PARSE_OK);
    assert_int_equal(f.r.error_code, TDISP_ERR_INVALID_REQUEST);
    /* trailing byte */
    m[16] = 0;
    assert_int_equal(
        tdisp_handle(&f.t, SID, true, m, 17, f.rsp, sizeof(f.rsp), &f.rsp_len),
        TDISP_OK);
    (void)tdisp_parse_response(0x81, FID0, f.rsp, f.rsp_len, &f.r);
    assert_int_equal(f.r.error_code, TDISP_ERR_INVALID_REQUEST);
    /* wrong version */
    m[0] = 0x11;
    assert_int_equal(
        tdisp_handle(&f.t, SID, true, m, 16, f.rsp, sizeof(f.rsp), &f.rsp_len),
        TDISP_OK);
    (void)tdisp_parse_response(0x81, FID0, f.rsp, f.rsp_len, &f.r);
    assert_int_equal(f.r.error_code, TDISP_ERR_VERSION_MISMATCH);
    m[0] = TDISP_VERSION_10;
    /* VDM, a response code, an unknown code */
    {
        static const uint8_t codes[] = {TDISP_VDM, 0x01, 0x8C, 0xff, 0x00};
        size_t i;
        for (i = 0; i < sizeof(codes); i++) {
            m[1] = codes[i];
            assert_int_equal(tdisp_handle(&f.t, SID, true, m, 16, f.rsp,
                                          sizeof(f.rsp), &f.rsp_len),
                             TDISP_OK);
            (void)tdisp_parse_response(0x81, FID0, f.rsp, f.rsp_len, &f.r);
            assert_int_equal(f.r.code, TDISP_ERROR);
            assert_int_equal(f.r.error_code, TDISP_ERR_UNSUPPORTED_REQUEST);
        }
    }
    m[1] = TDISP_GET_VERSION;
    /* unknown function id; non-zero interface reserved field */
    expect_err(TDISP_GET_VERSION, 0x200, NULL, TDISP_ERR_INVALID_INTERFACE);
    m[12] = 1;
    assert_int_equal(
        tdisp_handle(&f.t, SID, true, m, 16, f.rsp, sizeof(f.rsp), &f.rsp_len),
        TDISP_OK);
    (void)tdisp_parse_response(0x81, FID0, f.rsp, f.rsp_len, &f.r);
    assert_int_equal(f.r.error_code, TDISP_ERR_INVALID_INTERFACE);
    /* response buffer too small for even an error */
    assert_int_equal(tdisp_handle(&f.t, SID, true, m, 16, f.rsp,
                                  TDISP_ERROR_RSP_SIZE - 1, &f.rsp_len),
                     TDISP_ERR_RSP_CAP);
}

static void lock_refusals(void **state)
{
    struct tdisp_lock_params bad_flag = {TDISP_LOCK_ALL_REQUEST_REDIRECT, 0, 0,
                                         0};
    struct tdisp_lock_params wrap = {0, 0, UINT64_MAX - 0x1000, 0};
    struct tdisp_tdi_config c;

    (void)state;
    expect_err(TDISP_LOCK_INTERFACE, FID0, &bad_flag,
               TDISP_ERR_INVALID_REQUEST);
    expect_err(TDISP_LOCK_INTERFACE, FID0, &wrap, TDISP_ERR_INVALID_REQUEST);
    f.rng_fail = true;
    expect_err(TDISP_LOCK_INTERFACE, FID0, &lock0,
               TDISP_ERR_INSUFFICIENT_ENTROPY);
    f.rng_fail = false;
    expect_state(FID0, TDISP_CONFIG_UNLOCKED);
    tdi_cfg(&c, FID0);
    c.valid = false;
    assert_int_equal(tdisp_config_change(&f.t, FID0, &c, false),
                     TDISP_CONFIG_UNLOCKED);
    expect_err(TDISP_LOCK_INTERFACE, FID0, &lock0,
               TDISP_ERR_INVALID_DEVICE_CONFIGURATION);
    c.valid = true;
    assert_int_equal(tdisp_config_change(&f.t, FID0, &c, false),
                     TDISP_CONFIG_UNLOCKED);
    do_lock(FID0, &lock0);
    /* the nonce comes from the random source, once per lock */
    assert_int_equal(f.counter, 1);
}

static void session_binding(void **state)
{
    (void)state;
    do_lock(FID0, &lock0);
    /* START from another session */
    assert_int_equal(send_in(SID + 1, true, TDISP_START_INTERFACE, FID0, nonce),
                     TDISP_PARSE_OK);
    assert_int_equal(f.r.code, TDISP_ERROR);
    assert_int_equal(f.r.error_code, TDISP_ERR_INVALID_REQUEST);
    expect_state(FID0, TDISP_CONFIG_LOCKED);
    /* another session ending changes nothing; ours ending -> ERROR */
    tdisp_session_ended(&f.t, SID + 1);
    expect_state(FID0, TDISP_CONFIG_LOCKED);
    do_lock(FID1, &lock0);
    expect_ok(TDISP_START_INTERFACE, FID1, nonce);
    tdisp_session_ended(&f.t, SID);
    assert_int_equal(tdisp_state(&f.t, FID0), TDISP_STATE_ERROR);
    assert_int_equal(tdisp_state(&f.t, FID1), TDISP_STATE_ERROR);
}

static void config_changes(void **state)
{
    struct tdisp_tdi_config c;
    struct tdisp_lock_params fw = {TDISP_LOCK_NO_FW_UPDATE, 0, 0, 0};
    uint16_t ol[2] = {0, 200};
    struct tdisp_report rep;

    (void)state;
    /* unlocked: a BAR move simply applies and shows in the next report */
    tdi_cfg(&c, FID0);
    c.ranges[0].addr = 0xfd000000;
    assert_int_equal(tdisp_config_change(&f.t, FID0, &c, false),
                     TDISP_CONFIG_UNLOCKED);
    do_lock(FID0, &lock0);
    expect_ok(TDISP_GET_DEVICE_INTERFACE_REPORT, FID0, ol);
    assert_int_equal(tdisp_parse_report(f.r.portion, f.r.portion_len, &rep), 0);
    assert_true(rep.ranges[0].addr == 0xfd000000ull);
    /* locked: firmware update allowed without NO_FW_UPDATE */
    assert_int_equal(tdisp_config_change(&f.t, FID0, NULL, true),
                     TDISP_CONFIG_LOCKED);
    /* a register change while locked -> ERROR */
    c.msix_ctl = 0;
    assert_int_equal(tdisp_config_change(&f.t, FID0, &c, false),
                     TDISP_STATE_ERROR);
    expect_ok(TDISP_STOP_INTERFACE, FID0, NULL);
    /* NO_FW_UPDATE: a firmware update in RUN -> ERROR */
    do_lock(FID0, &fw);
    expect_ok(TDISP_START_INTERFACE, FID0, nonce);
    assert_int_equal(tdisp_config_change(&f.t, FID0, NULL, true),
                     TDISP_STATE_ERROR);
    expect_err(TDISP_GET_DEVICE_INTERFACE_REPORT, FID0, ol,
               TDISP_ERR_INVALID_INTERFACE_STATE);
    /* bad changes */
    assert_int_equal(tdisp_config_change(&f.t, 0x999, NULL, false),
                     TDISP_ERR_NO_TDI);
    c.ranges[0].addr = 0xfd000001;
    assert_int_equal(tdisp_config_change(&f.t, FID0, &c, false),
                     TDISP_ERR_CONFIG);
}

static void p2p_and_mmio(void **state)
{
    struct tdisp_lock_params lp = {TDISP_LOCK_BIND_P2P, 0, 0x10000, 0};
    uint8_t id;
    struct tdisp_range r;

    (void)state;
    /* without BIND_P2P */
    do_lock(FID1, &lock0);
    expect_ok(TDISP_START_INTERFACE, FID1, nonce);
    id = 5;
    expect_err(TDISP_BIND_P2P_STREAM, FID1, &id, TDISP_ERR_INVALID_REQUEST);
    /* with it */
    do_lock(FID0, &lp);
    expect_ok(TDISP_START_INTERFACE, FID0, nonce);
    for (id = 0; id < TDISP_MAX_P2P; id++) {
        expect_ok(TDISP_BIND_P2P_STREAM, FID0, &id);
    }
    expect_err(TDISP_BIND_P2P_STREAM, FID0, &id, TDISP_ERR_INVALID_REQUEST);
    id = 1;
    expect_err(TDISP_BIND_P2P_STREAM, FID0, &id, TDISP_ERR_INVALID_REQUEST);
    expect_ok(TDISP_UNBIND_P2P_STREAM, FID0, &id);
    expect_err(TDISP_UNBIND_P2P_STREAM, FID0, &id, TDISP_ERR_INVALID_REQUEST);
    expect_ok(TDISP_BIND_P2P_STREAM, FID0, &id);
    /* SET_MMIO_ATTRIBUTE: only the updatable range, only NON_TEE_MEM */
    r = (struct tdisp_range){0xfe004000 + 0x10000, 1,
                             TDISP_RANGE_MSIX_TABLE |
                                 TDISP_RANGE_MEM_ATTR_UPDATABLE |
                                 TDISP_RANGE_NON_TEE_MEM,
                             0};
    expect_ok(TDISP_SET_MMIO_ATTRIBUTE, FID0, &r);
    r.attrs = TDISP_RANGE_MEM_ATTR_UPDATABLE;
    expect_err(TDISP_SET_MMIO_ATTRIBUTE, FID0, &r, TDISP_ERR_INVALID_REQUEST);
    r = (struct tdisp_range){0xfe000000 + 0x10000, 4, TDISP_RANGE_NON_TEE_MEM,
                             0};
    expect_err(TDISP_SET_MMIO_ATTRIBUTE, FID0, &r, TDISP_ERR_INVALID_REQUEST);
    r = (struct tdisp_range){0xfe004000, 1, TDISP_RANGE_MSIX_TABLE, 0};
    expect_err(TDISP_SET_MMIO_ATTRIBUTE, FID0, &r, TDISP_ERR_INVALID_REQUEST);
    /* STOP forgets the bindings */
    expect_ok(TDISP_STOP_INTERFACE, FID0, NULL);
    do_lock(FID0, &lp);
    expect_ok(TDISP_START_INTERFACE, FID0, nonce);
    id = 1;
    expect_err(TDISP_UNBIND_P2P_STREAM, FID0, &id, TDISP_ERR_INVALID_REQUEST);
}

static void nonce_wiped(void **state)
{
    size_t i;
    bool zero = true;

    (void)state;
    do_lock(FID0, &lock0);
    expect_ok(TDISP_START_INTERFACE, FID0, nonce);
    for (i = 0; i < TDISP_NONCE_SIZE; i++) {
        zero = zero && f.t.tdis[0].nonce[i] == 0;
    }
    assert_true(zero);
    tdisp_wipe(&f.t);
    assert_int_equal(f.t.n_tdis, 0);
}

static void init_rules(void **state)
{
    struct tdisp_config cfg;
    struct tdisp t;
    static const struct tdisp_ops no_rng = {NULL};

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(tdisp_init(&t, &cfg, &ops, NULL), TDISP_ERR_CONFIG);
    tdi_cfg(&cfg.tdis[0], FID0);
    tdi_cfg(&cfg.tdis[1], FID0);
    cfg.n_tdis = 2;
    assert_int_equal(tdisp_init(&t, &cfg, &ops, NULL), TDISP_ERR_CONFIG);
    cfg.n_tdis = 1;
    assert_int_equal(tdisp_init(&t, &cfg, &no_rng, NULL), TDISP_ERR_CONFIG);
    cfg.tdis[0].ranges[0].n_pages = 0;
    assert_int_equal(tdisp_init(&t, &cfg, &ops, NULL), TDISP_ERR_CONFIG);
    cfg.tdis[0].ranges[0] =
        (struct tdisp_range){0xfffffffffffff000ull, 2, 0, 0};
    assert_int_equal(tdisp_init(&t, &cfg, &ops, NULL), TDISP_ERR_CONFIG);
    cfg.tdis[0].ranges[0] =
        (struct tdisp_range){0xfffffffffffff000ull, 1, 0, 0};
    assert_int_equal(tdisp_init(&t, &cfg, &ops, NULL), TDISP_OK);
    cfg.n_tdis = TDISP_MAX_TDIS + 1;
    assert_int_equal(tdisp_init(&t, &cfg, &ops, NULL), TDISP_ERR_CONFIG);
}

static void codec_parse_errors(void **state)
{
    uint8_t m[64];
    struct tdisp_rsp r;
    size_t n;

    (void)state;
    memset(m, 0, sizeof(m));
    assert_int_equal(tdisp_parse_response(TDISP_GET_VERSION, FID0, m, 15, &r),
                     TDISP_PARSE_SHORT);
    m[0] = 0x10;
    m[1] = TDISP_RSP(TDISP_GET_DEVICE_INTERFACE_STATE);
    store_le32(m + 4, FID0);
    assert_int_equal(
        tdisp_parse_response(TDISP_GET_DEVICE_INTERFACE_STATE, FID0, m, 17, &r),
        TDISP_PARSE_OK);
    assert_int_equal(
        tdisp_parse_response(TDISP_GET_DEVICE_INTERFACE_STATE, FID0, m, 18, &r),
        TDISP_PARSE_LENGTH);
    assert_int_equal(
        tdisp_parse_response(TDISP_GET_DEVICE_INTERFACE_STATE, FID0, m, 16, &r),
        TDISP_PARSE_SHORT);
    assert_int_equal(
        tdisp_parse_response(TDISP_GET_DEVICE_INTERFACE_STATE, FID1, m, 17, &r),
        TDISP_PARSE_INTERFACE);
    assert_int_equal(
        tdisp_parse_response(TDISP_STOP_INTERFACE, FID0, m, 17, &r),
        TDISP_PARSE_UNEXPECTED);
    m[0] = 0x20;
    assert_int_equal(
        tdisp_parse_response(TDISP_GET_DEVICE_INTERFACE_STATE, FID0, m, 17, &r),
        TDISP_PARSE_VERSION);
    /* report portion length disagreeing with the bytes */
    m[0] = 0x10;
    m[1] = TDISP_RSP(TDISP_GET_DEVICE_INTERFACE_REPORT);
    store_le16(m + 16, 5);
    assert_int_equal(tdisp_parse_response(TDISP_GET_DEVICE_INTERFACE_REPORT,
                                          FID0, m, 24, &r),
                     TDISP_PARSE_LENGTH);
    /* build: unknown code, small buffer, missing argument */
    n = tdisp_build_request(TDISP_VDM, FID0, NULL, m, sizeof(m));
    assert_int_equal(n, 0);
    assert_int_equal(tdisp_build_request(TDISP_LOCK_INTERFACE, FID0, &lock0, m,
                                         TDISP_LOCK_REQ_SIZE - 1),
                     0);
    assert_int_equal(
        tdisp_build_request(TDISP_START_INTERFACE, FID0, NULL, m, sizeof(m)),
        0);
    /* a report with trailing bytes or too many ranges */
    {
        uint8_t rep[TDISP_REPORT_MAX + 8];
        struct tdisp_report out;
        memset(rep, 0, sizeof(rep));
        assert_int_equal(tdisp_parse_report(rep, 20, &out), 0);
        assert_int_equal(tdisp_parse_report(rep, 21, &out), -1);
        assert_int_equal(tdisp_parse_report(rep, 19, &out), -1);
        store_le32(rep + 12, TDISP_MAX_RANGES + 1);
        assert_int_equal(tdisp_parse_report(rep, sizeof(rep), &out), -1);
    }
}

/* ---- IDE_KM ---- */

static struct idekm k;

static size_t km_msg(uint8_t *m, uint8_t obj, uint8_t stream, uint8_t kss,
                     uint8_t port)
{
    memset(m, 0, IDEKM_KEY_PROG_SIZE);
    m[0] = obj;
    m[3] = stream;
    m[5] = kss;
    m[6] = port;
    if (obj == IDEKM_KEY_PROG) {
        memset(m + IDEKM_MSG_SIZE, 0xa0 + kss, IDEKM_KEY_SIZE);
        memset(m + IDEKM_MSG_SIZE + IDEKM_KEY_SIZE, 0x55, IDEKM_IFV_SIZE);
        return IDEKM_KEY_PROG_SIZE;
    }
    return IDEKM_MSG_SIZE;
}

static int km(bool in_session, const uint8_t *m, size_t len, uint8_t *rsp,
              size_t *rsp_len)
{
    return idekm_handle(&k, SID, in_session, m, len, rsp, IDEKM_QUERY_RSP_SIZE,
                        rsp_len);
}

static uint8_t prog(uint8_t stream, uint8_t kss)
{
    uint8_t m[IDEKM_KEY_PROG_SIZE], rsp[IDEKM_QUERY_RSP_SIZE];
    size_t n = km_msg(m, IDEKM_KEY_PROG, stream, kss, 0), rl;

    assert_int_equal(km(true, m, n, rsp, &rl), IDEKM_OK);
    assert_int_equal(rl, IDEKM_MSG_SIZE);
    assert_int_equal(rsp[0], IDEKM_KP_ACK);
    assert_int_equal(rsp[3], stream);
    assert_int_equal(rsp[5], kss);
    return rsp[4];
}

static int go_stop(uint8_t obj, uint8_t stream, uint8_t kss)
{
    uint8_t m[IDEKM_KEY_PROG_SIZE], rsp[IDEKM_QUERY_RSP_SIZE];
    size_t n = km_msg(m, obj, stream, kss, 0), rl = 0;
    int rc = km(true, m, n, rsp, &rl);

    if (rc == IDEKM_OK) {
        assert_int_equal(rl, IDEKM_MSG_SIZE);
        assert_int_equal(rsp[0], IDEKM_K_GOSTOP_ACK);
        assert_int_equal(rsp[3], stream);
        assert_int_equal(rsp[5], kss);
    }
    return rc;
}

static int km_setup(void **state)
{
    (void)state;
    idekm_init(&k, 1, 0, 0);
    return 0;
}

static void idekm_query(void **state)
{
    uint8_t m[3] = {IDEKM_QUERY, 0, 0};
    uint8_t rsp[IDEKM_QUERY_RSP_SIZE];
    size_t rl;
    uint32_t cap;

    (void)state;
    assert_int_equal(km(true, m, 3, rsp, &rl), IDEKM_OK);
    assert_int_equal(rl, IDEKM_QUERY_RSP_SIZE);
    assert_int_equal(rsp[0], IDEKM_QUERY_RESP);
    assert_int_equal(rsp[4], 1); /* bus */
    cap = load_le32(rsp + 7);
    assert_true(cap & (1u << 1)); /* selective streams */
    assert_true(cap & (1u << 6)); /* IDE_KM */
    assert_int_equal((cap >> 16) & 0xff, IDEKM_MAX_STREAMS - 1);
    m[2] = IDEKM_MAX_PORT_INDEX + 1; /* no such port */
    assert_int_equal(km(true, m, 3, rsp, &rl), IDEKM_REFUSED);
    m[2] = 0;
    assert_int_equal(km(true, m, 2, rsp, &rl), IDEKM_REFUSED);
    assert_int_equal(km(false, m, 3, rsp, &rl), IDEKM_REFUSED);
    assert_int_equal(idekm_handle(&k, SID, true, m, 3, rsp, 10, &rl),
                     IDEKM_ERR_RSP_CAP);
}

static void idekm_full_stream(void **state)
{
    static const uint8_t subs[] = {IDEKM_SUB_PR, IDEKM_SUB_NPR, IDEKM_SUB_CPL};
    uint8_t q[3] = {IDEKM_QUERY, 0, 0};
    uint8_t rsp[IDEKM_QUERY_RSP_SIZE];
    size_t rl, i, dir;

    (void)state;
    for (dir = 0; dir < 2; dir++) {
        for (i = 0; i < 3; i++) {
            uint8_t kss = (uint8_t)(subs[i] | (dir ? IDEKM_DIR_TX : 0));
            assert_int_equal(prog(7, kss), IDEKM_KP_SUCCESS);
            assert_int_equal(idekm_slot_state(&k, 7, kss), IDEKM_PROGRAMMED);
            assert_false(idekm_stream_secure(&k, 7));
            assert_int_equal(go_stop(IDEKM_K_SET_GO, 7, kss), IDEKM_OK);
            assert_int_equal(idekm_slot_state(&k, 7, kss), IDEKM_ACTIVE);
        }
    }
    assert_true(idekm_stream_secure(&k, 7));
    assert_int_equal(km(true, q, 3, rsp, &rl), IDEKM_OK);
    /* first block: control = stream id 7 << 24 | enable; status Secure */
    assert_int_equal(load_le32(rsp + 7 + 8 + 4), 7u << 24 | 1u);
    assert_int_equal(load_le32(rsp + 7 + 8 + 8), 2);
    /* the key is held, exactly as programmed */
    assert_int_equal(k.streams[0].slot[0][0][0].key[0], 0xa0);
    /* key switch: program K1 PR RX, go -> K0 PR RX back to PROGRAMMED */
    assert_int_equal(prog(7, IDEKM_KEY_SET_MASK), IDEKM_KP_SUCCESS);
    assert_int_equal(go_stop(IDEKM_K_SET_GO, 7, IDEKM_KEY_SET_MASK), IDEKM_OK);
    assert_int_equal(idekm_slot_state(&k, 7, 0), IDEKM_PROGRAMMED);
    assert_int_equal(idekm_slot_state(&k, 7, IDEKM_KEY_SET_MASK), IDEKM_ACTIVE);
    assert_false(idekm_stream_secure(&k, 7));
}

/* The requester side: what the builders make, the responder accepts, and
 * the ACK / QUERY_RESP checks refuse any answer to another request. */
static void idekm_requester_codec(void **state)
{
    uint8_t m[IDEKM_KEY_PROG_SIZE], rsp[IDEKM_QUERY_RSP_SIZE], bad[16];
    uint8_t key[IDEKM_KEY_SIZE], ifv[IDEKM_IFV_SIZE], status = 0xff;
    struct idekm_query_info qi;
    size_t n, rl, i;

    (void)state;
    memset(key, 0x42, sizeof(key));
    memset(ifv, 0x24, sizeof(ifv));
    assert_int_equal(idekm_build_query(0, m, 2), 0);
    n = idekm_build_query(1, m, sizeof(m));
    assert_int_equal(n, 3);
    assert_int_equal(km(true, m, n, rsp, &rl), IDEKM_OK);
    assert_int_equal(idekm_parse_query_resp(1, rsp, rl, &qi), IDEKM_PARSE_OK);
    assert_int_equal(qi.max_port, IDEKM_MAX_PORT_INDEX);
    assert_int_equal(qi.n_streams, IDEKM_MAX_STREAMS);
    assert_true((qi.ide_cap & (1u << 6)) != 0); /* IDE_KM */
    assert_int_equal(qi.addr_blocks, 0);
    assert_int_equal(idekm_parse_query_resp(0, rsp, rl, &qi),
                     IDEKM_PARSE_MISMATCH); /* another port's */
    assert_int_equal(idekm_parse_query_resp(1, rsp, 34, &qi),
                     IDEKM_PARSE_MISMATCH);
    /* KEY_PROG: the key lands in the slot; the ACK echoes the request */
    assert_int_equal(idekm_build_key_prog(7, IDEKM_DIR_TX | IDEKM_SUB_CPL, 0,
                                          key, ifv, m, sizeof(m) - 1),
                     0);
    n = idekm_build_key_prog(7, IDEKM_DIR_TX | IDEKM_SUB_CPL, 0, key, ifv, m,
                             sizeof(m));
    assert_int_equal(n, IDEKM_KEY_PROG_SIZE);
    assert_int_equal(km(true, m, n, rsp, &rl), IDEKM_OK);
    assert_int_equal(idekm_parse_ack(IDEKM_KP_ACK, 7,
                                     IDEKM_DIR_TX | IDEKM_SUB_CPL, 0, rsp, rl,
                                     &status),
                     IDEKM_PARSE_OK);
    assert_int_equal(status, IDEKM_KP_SUCCESS);
    assert_memory_equal(k.streams[0].slot[0][1][2].key, key, sizeof(key));
    assert_memory_equal(k.streams[0].slot[0][1][2].ifv, ifv, sizeof(ifv));
    /* each echoed field, the object id, the length, reserved bytes */
    for (i = 0; i < IDEKM_MSG_SIZE; i++) {
        if (i == 4) {
            continue; /* KP_ACK's status is reported, not checked */
        }
        memcpy(bad, rsp, rl);
        bad[i] ^= 0x01;
        assert_int_equal(idekm_parse_ack(IDEKM_KP_ACK, 7,
                                         IDEKM_DIR_TX | IDEKM_SUB_CPL, 0, bad,
                                         rl, &status),
                         IDEKM_PARSE_MISMATCH);
    }
    assert_int_equal(idekm_parse_ack(IDEKM_KP_ACK, 7,
                                     IDEKM_DIR_TX | IDEKM_SUB_CPL, 0, rsp,
                                     rl - 1, &status),
                     IDEKM_PARSE_MISMATCH);
    /* K_SET_GO: accepted, ACK checked; a K_GOSTOP_ACK has no status */
    assert_int_equal(idekm_build_set(IDEKM_KEY_PROG, 7, 0, 0, m, sizeof(m)), 0);
    n = idekm_build_set(IDEKM_K_SET_GO, 7, IDEKM_DIR_TX | IDEKM_SUB_CPL, 0, m,
                        sizeof(m));
    assert_int_equal(n, IDEKM_MSG_SIZE);
    assert_int_equal(km(true, m, n, rsp, &rl), IDEKM_OK);
    assert_int_equal(idekm_slot_state(&k, 7, IDEKM_DIR_TX | IDEKM_SUB_CPL),
                     IDEKM_ACTIVE);
    assert_int_equal(idekm_parse_ack(IDEKM_K_GOSTOP_ACK, 7,
                                     IDEKM_DIR_TX | IDEKM_SUB_CPL, 0, rsp, rl,
                                     &status),
                     IDEKM_PARSE_OK);
    assert_int_equal(status, 0);
    rsp[4] = 1;
    assert_int_equal(idekm_parse_ack(IDEKM_K_GOSTOP_ACK, 7,
                                     IDEKM_DIR_TX | IDEKM_SUB_CPL, 0, rsp, rl,
                                     &status),
                     IDEKM_PARSE_MISMATCH);
    /* a KP_ACK is not a K_GOSTOP_ACK */
    rsp[4] = 0;
    assert_int_equal(idekm_parse_ack(IDEKM_KP_ACK, 7,
                                     IDEKM_DIR_TX | IDEKM_SUB_CPL, 0, rsp, rl,
                                     &status),
                     IDEKM_PARSE_MISMATCH);
    n = idekm_build_set(IDEKM_K_SET_STOP, 7, IDEKM_DIR_TX | IDEKM_SUB_CPL, 0, m,
                        sizeof(m));
    assert_int_equal(km(true, m, n, rsp, &rl), IDEKM_OK);
    assert_int_equal(idekm_slot_state(&k, 7, IDEKM_DIR_TX | IDEKM_SUB_CPL),
                     IDEKM_EMPTY);
}

/* One IDE_KM request of @obj in session @sid; the KP_ACK status, 0 for a
 * K_GOSTOP_ACK, -1 when refused. */
static int km_in(uint32_t sid, bool in_session, uint8_t obj, uint8_t stream,
                 uint8_t kss)
{
    uint8_t m[IDEKM_KEY_PROG_SIZE], rsp[IDEKM_QUERY_RSP_SIZE];
    size_t n = km_msg(m, obj, stream, kss, 0), rl = 0;

    if (idekm_handle(&k, sid, in_session, m, n, rsp, sizeof(rsp), &rl) !=
        IDEKM_OK) {
        assert_int_equal(rl, 0);
        return -1;
    }
    assert_int_equal(rl, IDEKM_MSG_SIZE);
    return rsp[4];
}

/* A stream belongs to the session that programmed it: another session can
 * neither program, set going nor stop its keys; its session's end wipes
 * them and frees the block, back to idekm_init()'s state. */
static void idekm_sessions(void **state)
{
    static const uint8_t subs[] = {IDEKM_SUB_PR, IDEKM_SUB_NPR, IDEKM_SUB_CPL};
    const uint32_t other = SID + 1;
    struct idekm fresh;
    char d[IDEKM_DESCRIBE_MAX];
    size_t i, dir;

    (void)state;
    assert_int_equal(idekm_describe(&k, d, sizeof(d)), 4);
    assert_string_equal(d, "none");
    /* outside a session nothing is taken */
    assert_int_equal(km_in(SID, false, IDEKM_KEY_PROG, 3, 0), -1);
    assert_false(k.streams[0].used);
    /* stream 3, key set 0 going in session SID */
    for (dir = 0; dir < 2; dir++) {
        for (i = 0; i < 3; i++) {
            uint8_t kss = (uint8_t)(subs[i] | (dir ? IDEKM_DIR_TX : 0));
            assert_int_equal(km_in(SID, true, IDEKM_KEY_PROG, 3, kss),
                             IDEKM_KP_SUCCESS);
            if (dir == 0) {
                assert_int_equal(km_in(SID, true, IDEKM_K_SET_GO, 3, kss), 0);
            }
        }
    }
    assert_int_equal(idekm_describe(&k, d, sizeof(d)), 30);
    assert_string_equal(d, "stream 0:3 K0=AAAPPP K1=------");
    /* another session: refused, nothing changes */
    assert_int_equal(km_in(other, true, IDEKM_KEY_PROG, 3, IDEKM_DIR_TX),
                     IDEKM_KP_UNSPECIFIED);
    assert_int_equal(km_in(other, true, IDEKM_KEY_PROG, 3, 1), /* K1 */
                     IDEKM_KP_UNSPECIFIED);
    assert_int_equal(km_in(other, true, IDEKM_K_SET_GO, 3, IDEKM_DIR_TX), -1);
    assert_int_equal(km_in(other, true, IDEKM_K_SET_STOP, 3, 0), -1);
    assert_int_equal(k.streams[0].slot[0][1][0].key[0], 0xa0 + IDEKM_DIR_TX);
    assert_int_equal(idekm_slot_state(&k, 3, 1), IDEKM_EMPTY);
    /* ... which has a stream of its own, on port 1 too */
    assert_int_equal(km_in(other, true, IDEKM_KEY_PROG, 200, IDEKM_SUB_CPL | 1),
                     IDEKM_KP_SUCCESS);
    assert_int_equal(idekm_describe(&k, d, sizeof(d)), 64);
    assert_string_equal(
        d, "stream 0:3 K0=AAAPPP K1=------; stream 0:200 K0=------ K1=--P---");
    assert_int_equal(idekm_describe(&k, d, 64), 0); /* no room for the NUL */
    /* SID ends: its stream is wiped and its block free */
    assert_int_equal(idekm_session_ended(&k, SID), 1);
    assert_false(k.streams[0].used);
    assert_int_equal(k.streams[0].slot[0][1][0].key[0], 0);
    assert_int_equal(k.streams[0].slot[0][0][0].state, IDEKM_EMPTY);
    assert_false(idekm_stream_secure(&k, 3));
    assert_int_equal(idekm_slot_state(&k, 200, IDEKM_SUB_CPL | 1),
                     IDEKM_PROGRAMMED);
    assert_int_equal(idekm_session_ended(&k, SID), 0);
    /* stream 3 is free for the next session */
    assert_int_equal(km_in(SID + 2, true, IDEKM_KEY_PROG, 3, 0),
                     IDEKM_KP_SUCCESS);
    assert_int_equal(idekm_session_ended(&k, SID + 2), 1);
    assert_int_equal(idekm_session_ended(&k, other), 1);
    idekm_init(&fresh, 1, 0, 0);
    assert_memory_equal(&k, &fresh, sizeof(fresh));
    assert_int_equal(idekm_describe(&k, d, sizeof(d)), 4);
    assert_int_equal(idekm_describe(&k, d, 4), 0);
}

static void idekm_slot_rules(void **state)
{
    uint8_t m[IDEKM_KEY_PROG_SIZE + 1], rsp[IDEKM_QUERY_RSP_SIZE];
    size_t n, rl;
    uint8_t s;

    (void)state;
    /* go / stop on an empty slot, an unknown stream */
    assert_int_equal(go_stop(IDEKM_K_SET_GO, 1, 0), IDEKM_REFUSED);
    assert_int_equal(go_stop(IDEKM_K_SET_STOP, 1, 0), IDEKM_REFUSED);
    assert_int_equal(prog(1, 0), IDEKM_KP_SUCCESS);
    assert_int_equal(go_stop(IDEKM_K_SET_STOP, 1, IDEKM_SUB_NPR),
                     IDEKM_REFUSED);
    /* reprogramming a programmed slot is fine, an active one is not */
    assert_int_equal(prog(1, 0), IDEKM_KP_SUCCESS);
    assert_int_equal(go_stop(IDEKM_K_SET_GO, 1, 0), IDEKM_OK);
    assert_int_equal(go_stop(IDEKM_K_SET_GO, 1, 0), IDEKM_REFUSED);
    assert_int_equal(prog(1, 0), IDEKM_KP_UNSPECIFIED);
    /* stop wipes and empties */
    assert_int_equal(go_stop(IDEKM_K_SET_STOP, 1, 0), IDEKM_OK);
    assert_int_equal(idekm_slot_state(&k, 1, 0), IDEKM_EMPTY);
    assert_false(k.streams[0].used);
    assert_int_equal(k.streams[0].slot[0][0][0].key[0], 0);
    /* KP_ACK statuses */
    n = km_msg(m, IDEKM_KEY_PROG, 2, 0, 0);
    assert_int_equal(km(true, m, n - 1, rsp, &rl), IDEKM_OK);
    assert_int_equal(rsp[4], IDEKM_KP_INCORRECT_LENGTH);
    assert_int_equal(km(true, m, n + 1, rsp, &rl), IDEKM_OK);
    assert_int_equal(rsp[4], IDEKM_KP_INCORRECT_LENGTH);
    m[6] = IDEKM_MAX_PORT_INDEX + 1;
    assert_int_equal(km(true, m, n, rsp, &rl), IDEKM_OK);
    assert_int_equal(rsp[4], IDEKM_KP_UNSUPPORTED_PORT);
    /* port 1 has streams of its own */
    m[6] = 1;
    assert_int_equal(km(true, m, n, rsp, &rl), IDEKM_OK);
    assert_int_equal(rsp[4], IDEKM_KP_SUCCESS);
    assert_int_equal(idekm_slot_state_port(&k, 1, 2, 0), IDEKM_PROGRAMMED);
    assert_int_equal(idekm_slot_state(&k, 2, 0), IDEKM_EMPTY);
    n = km_msg(m, IDEKM_K_SET_STOP, 2, 0, 1);
    assert_int_equal(km(true, m, n, rsp, &rl), IDEKM_OK);
    n = km_msg(m, IDEKM_KEY_PROG, 2, 0, 0);
    m[6] = 0;
    m[5] = 0x30; /* sub-stream 3 */
    assert_int_equal(km(true, m, n, rsp, &rl), IDEKM_OK);
    assert_int_equal(rsp[4], IDEKM_KP_UNSUPPORTED_VALUE);
    m[5] = 0x04; /* reserved bit */
    assert_int_equal(km(true, m, n, rsp, &rl), IDEKM_OK);
    assert_int_equal(rsp[4], IDEKM_KP_UNSUPPORTED_VALUE);
    assert_int_equal(idekm_slot_state(&k, 2, 0), IDEKM_EMPTY);
    /* every stream block taken */
    for (s = 10; s < 10 + IDEKM_MAX_STREAMS; s++) {
        assert_int_equal(prog(s, 0), IDEKM_KP_SUCCESS);
    }
    assert_int_equal(prog(99, 0), IDEKM_KP_UNSUPPORTED_VALUE);
    /* outside a session, truncated, unknown object */
    n = km_msg(m, IDEKM_KEY_PROG, 3, 0, 0);
    assert_int_equal(km(false, m, n, rsp, &rl), IDEKM_REFUSED);
    assert_int_equal(km(true, m, 6, rsp, &rl), IDEKM_REFUSED);
    m[0] = IDEKM_KP_ACK;
    assert_int_equal(km(true, m, IDEKM_MSG_SIZE, rsp, &rl), IDEKM_REFUSED);
    m[0] = IDEKM_K_SET_GO;
    assert_int_equal(km(true, m, IDEKM_MSG_SIZE + 1, rsp, &rl), IDEKM_REFUSED);
    idekm_wipe(&k);
    assert_int_equal(idekm_slot_state(&k, 10, 0), IDEKM_EMPTY);
}

/* ---- PCI-SIG dispatch ---- */

static void pcisig_dispatch(void **state)
{
    static const uint8_t vid[2] = {0x01, 0x00};
    uint8_t req[64], rsp[TDISP_MSG_MAX];
    size_t n, rl;
    struct tdisp_rsp r;

    (void)state;
    idekm_init(&k, 1, 0, 0);
    req[0] = PCISIG_PROTO_TDISP;
    n = tdisp_build_request(TDISP_GET_VERSION, FID0, NULL, req + 1, 63);
    assert_int_equal(pcisig_handle(&f.t, &k, SID, true, PCISIG_STANDARD_ID, vid,
                                   2, req, n + 1, rsp, sizeof(rsp), &rl),
                     PCISIG_OK);
    assert_int_equal(rsp[0], PCISIG_PROTO_TDISP);
    assert_int_equal(
        tdisp_parse_response(TDISP_GET_VERSION, FID0, rsp + 1, rl - 1, &r),
        TDISP_PARSE_OK);
    assert_int_equal(r.code, TDISP_RSP(TDISP_GET_VERSION));
    /* wrong standard, vendor, protocol */
    assert_int_equal(pcisig_handle(&f.t, &k, SID, true, 0, vid, 2, req, n + 1,
                                   rsp, sizeof(rsp), &rl),
                     PCISIG_UNSUPPORTED);
    assert_int_equal(pcisig_handle(&f.t, &k, SID, true, PCISIG_STANDARD_ID,
                                   (const uint8_t *)"\x02\x00", 2, req, n + 1,
                                   rsp, sizeof(rsp), &rl),
                     PCISIG_UNSUPPORTED);
    assert_int_equal(pcisig_handle(&f.t, &k, SID, true, PCISIG_STANDARD_ID, vid,
                                   1, req, n + 1, rsp, sizeof(rsp), &rl),
                     PCISIG_UNSUPPORTED);
    req[0] = 0x02;
    assert_int_equal(pcisig_handle(&f.t, &k, SID, true, PCISIG_STANDARD_ID, vid,
                                   2, req, n + 1, rsp, sizeof(rsp), &rl),
                     PCISIG_UNSUPPORTED);
    assert_int_equal(pcisig_handle(&f.t, &k, SID, true, PCISIG_STANDARD_ID, vid,
                                   2, req, 0, rsp, sizeof(rsp), &rl),
                     PCISIG_UNSUPPORTED);
    /* IDE_KM query through the dispatcher */
    req[0] = PCISIG_PROTO_IDEKM;
    req[1] = IDEKM_QUERY;
    req[2] = 0;
    req[3] = 0;
    assert_int_equal(pcisig_handle(&f.t, &k, SID, true, PCISIG_STANDARD_ID, vid,
                                   2, req, 4, rsp, sizeof(rsp), &rl),
                     PCISIG_OK);
    assert_int_equal(rl, 1 + IDEKM_QUERY_RSP_SIZE);
    assert_int_equal(rsp[1], IDEKM_QUERY_RESP);
    assert_int_equal(pcisig_handle(&f.t, &k, SID, false, PCISIG_STANDARD_ID,
                                   vid, 2, req, 4, rsp, sizeof(rsp), &rl),
                     PCISIG_REFUSED);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(version_and_caps, setup),
    cmocka_unit_test_setup(whole_flow, setup),
    cmocka_unit_test_setup(report_portions, setup),
    cmocka_unit_test_setup(wrong_states, setup),
    cmocka_unit_test_setup(outside_session, setup),
    cmocka_unit_test_setup(malformed, setup),
    cmocka_unit_test_setup(lock_refusals, setup),
    cmocka_unit_test_setup(session_binding, setup),
    cmocka_unit_test_setup(config_changes, setup),
    cmocka_unit_test_setup(p2p_and_mmio, setup),
    cmocka_unit_test_setup(nonce_wiped, setup),
    cmocka_unit_test(init_rules),
    cmocka_unit_test(codec_parse_errors),
    cmocka_unit_test_setup(idekm_query, km_setup),
    cmocka_unit_test_setup(idekm_full_stream, km_setup),
    cmocka_unit_test_setup(idekm_slot_rules, km_setup),
    cmocka_unit_test_setup(idekm_sessions, km_setup),
    cmocka_unit_test_setup(idekm_requester_codec, km_setup),
    cmocka_unit_test_setup(pcisig_dispatch, setup),
};

HARNESS_MAIN("tdisp", tests)
