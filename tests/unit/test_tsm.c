/* SPDX-License-Identifier: MIT */
/*
 * The TSM model driven in-process against the real SPDM responder and the
 * real TDISP/IDE_KM responders; the test plays the untrusted host relay:
 * the calls in their states with their sbiret codes, ownership between two
 * TVMs, region accounting, the gap decisions, and attacks through the relay
 * (tampered and replayed records, another device, measurements that change,
 * a configuration change after LOCK, the host unbinding a running TVM);
 * COVT on the root-port model in every key state, and IDE key programming
 * at connect, refresh and disconnect against the real IDE_KM responder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "pki/devid.h"
#include "spdm/spdm.h"
#include "tdisp/pcisig.h"
#include "tsm/rootport.h"
#include "tsm/tsm.h"
#include "tsm/tsm_frame.h"

#define DEV_A    7u
#define FID      0x00000100u /* 01:00.0 */
#define IF_A     TSM_IF_ID(DEV_A, FID)
#define TVM_A    0x1000u
#define TVM_B    0x2000u
#define BAR0     0xfe000000ull
#define IDE_KEYS 6 /* per key set: Rx and Tx, PR, NPR, CPL */

/* A device: SPDM responder with the PCI-SIG protocols behind it. */
struct dev {
    struct devid id;
    struct spdm_responder rsp;
    struct tdisp tdisp;
    struct idekm km;
    uint8_t meas_value[8];
};

static struct dev *devs[2]; /* A, and B (another identity) */
static char dirs[2][32];
static struct tsm *tsm;

/*
 * A device answering wrongly: XOR this into the stream id byte of the next
 * IDE_KM answer of that object id (KP_ACK, K_GOSTOP_ACK), before sealing.
 */
static uint8_t wrong_ack_code;
static uint8_t wrong_ack_xor;

/* K_SET_GO that would start a transmitter before its receiver */
static int go_order_violations;
static int go_seen;

/* what the relay saw last, for replays */
static uint8_t last_answer[TSM_RELAY_MAX];
static size_t last_answer_len;

static int dev_sign(void *ctx, uint32_t hash_alg, const uint8_t *msg,
                    size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    struct dev *d = ctx;

    if (hash_alg != SPDM_HASH_SHA384 || cap < 96 ||
        crypto_ecdsa_p384_sign(d->id.key, msg, len, sig) != 0) {
        return -1;
    }
    *sig_len = 96;
    return 0;
}

static int rnd(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    return crypto_random(buf, len);
}

static int dev_vendor(void *ctx, uint32_t session_id, bool in_session,
                      uint16_t standard_id, const uint8_t *vendor_id,
                      size_t vendor_id_len, const uint8_t *req, size_t req_len,
                      uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    struct dev *d = ctx;
    int rc;

    if (d == devs[0] && in_session && req_len == 1 + IDEKM_MSG_SIZE &&
        req[0] == PCISIG_PROTO_IDEKM && req[1] == IDEKM_K_SET_GO) {
        /* the root port's side of the key: its receiver must be going
         * before the device transmits; its transmitter must wait for the
         * device's receiver */
        uint8_t kss = req[1 + 5];
        bool tx = (kss & IDEKM_DIR_TX) != 0;
        const struct rp_key *k =
            rp_key_peek(&tsm->rp, 0, req[1 + 3], kss & IDEKM_KEY_SET_MASK,
                        tx ? TSM_KEY_RX : TSM_KEY_TX, kss >> 4);

        go_seen++;
        if (k == NULL || (k->state == TSM_RP_KEY_ENABLED) != tx) {
            go_order_violations++;
        }
    }
    rc = pcisig_handle(&d->tdisp, &d->km, session_id, in_session, standard_id,
                       vendor_id, vendor_id_len, req, req_len, rsp, rsp_cap,
                       rsp_len);

    if (rc == PCISIG_OK && wrong_ack_code != 0 && *rsp_len > 4 &&
        rsp[0] == PCISIG_PROTO_IDEKM && rsp[1] == wrong_ack_code) {
        rsp[1 + 3] ^= wrong_ack_xor; /* the echoed stream id */
        wrong_ack_code = 0;
    }
    return rc == PCISIG_OK ? 0 : 1;
}

static void dev_session_ended(void *ctx, uint32_t session_id)
{
    struct dev *d = ctx;

    tdisp_session_ended(&d->tdisp, session_id);
}

static const struct spdm_responder_ops dev_ops = {dev_sign, rnd, dev_vendor,
                                                  dev_session_ended};
static const struct tdisp_ops tdisp_ops = {rnd};
static const struct tsm_ops tsm_ops = {rnd};

static void dev_reset(struct dev *d)
{
    struct spdm_responder_config rc;
    struct spdm_meas_config m[1];
    struct tdisp_config tc;

    memset(&rc, 0, sizeof(rc));
    m[0].index = 1;
    m[0].type = SPDM_MEAS_TYPE_FIRMWARE;
    m[0].is_digest = false;
    m[0].value = d->meas_value;
    m[0].value_len = sizeof(d->meas_value);
    rc.cert_chain = d->id.chain;
    rc.cert_chain_len = d->id.chain_len;
    rc.meas = m;
    rc.n_meas = 1;
    rc.ops = &dev_ops;
    rc.ops_ctx = d;
    assert_int_equal(spdm_responder_init(&d->rsp, &rc), SPDM_OK);
    memset(&tc, 0, sizeof(tc));
    tc.n_tdis = 1;
    tc.tdis[0].function_id = FID;
    tc.tdis[0].interface_info = TDISP_INFO_DMA_WITHOUT_PASID;
    tc.tdis[0].ranges[0] = (struct tdisp_range){BAR0, 4, 0, 0};
    tc.tdis[0].ranges[1] =
        (struct tdisp_range){BAR0 + 0x4000, 1, TDISP_RANGE_MSIX_TABLE, 0};
    tc.tdis[0].n_ranges = 2;
    tc.tdis[0].valid = true;
    tc.lock_flags_supported = TDISP_LOCK_NO_FW_UPDATE;
    tc.dev_addr_width = 52;
    assert_int_equal(tdisp_init(&d->tdisp, &tc, &tdisp_ops, NULL), TDISP_OK);
    idekm_init(&d->km, 1, 0, 0);
}

static void group_teardown(void);

/* Two device identities, made once per run (key generation is slow). */
static void group_setup(void)
{
    char err[256];
    size_t i;

    assert_int_equal(crypto_init(), 0);
    for (i = 0; i < 2; i++) {
        devs[i] = calloc(1, sizeof(*devs[i]));
        assert_non_null(devs[i]);
        snprintf(dirs[i], sizeof(dirs[i]), "/tmp/tv-tsm-XXXXXX");
        assert_non_null(mkdtemp(dirs[i]));
        assert_int_equal(
            devid_init_dir(dirs[i], i == 0 ? "devA" : "devB", err, sizeof(err)),
            0);
        assert_int_equal(devid_open(&devs[i]->id, dirs[i], err, sizeof(err)),
                         0);
    }
    tsm = calloc(1, sizeof(*tsm));
    assert_non_null(tsm);
    atexit(group_teardown);
}

static void group_teardown(void)
{
    static const char *const f[] = {"ca.pem",     "ca.der",     "ca.key",
                                    "device.pem", "device.der", "device.key"};
    char p[128];
    size_t i, j;

    for (i = 0; i < 2; i++) {
        devid_close(&devs[i]->id);
        free(devs[i]);
        for (j = 0; j < sizeof(f) / sizeof(f[0]); j++) {
            snprintf(p, sizeof(p), "%s/%s", dirs[i], f[j]);
            unlink(p);
        }
        rmdir(dirs[i]);
    }
    free(tsm);
}

static int setup(void **state)
{
    (void)state;
    if (tsm == NULL) {
        group_setup();
    }
    memset(devs[0]->meas_value, 0x11, sizeof(devs[0]->meas_value));
    memset(devs[1]->meas_value, 0x22, sizeof(devs[1]->meas_value));
    dev_reset(devs[0]);
    dev_reset(devs[1]);
    tsm_init(tsm, &tsm_ops, NULL);
    wrong_ack_code = 0;
    go_order_violations = go_seen = 0;
    return 0;
}

/* ---- calls ---- */

static uint8_t out[TSM_RELAY_MAX + 16384];
static size_t out_len;

static struct sbiret covh_in(uint32_t fid, uint64_t a0, uint64_t a1,
                             uint64_t a2, uint64_t a3, const uint8_t *in,
                             size_t in_len)
{
    struct tsm_call c = {fid, {a0, a1, a2, a3, sizeof(out), 0}, in, in_len};

    return tsm_call(tsm, TSM_EID_COVH, 0, &c, out, sizeof(out), &out_len);
}

static struct sbiret covh(uint32_t fid, uint64_t a0, uint64_t a1, uint64_t a2,
                          uint64_t a3)
{
    return covh_in(fid, a0, a1, a2, a3, NULL, 0);
}

static struct sbiret covg_in(uint64_t tvm, uint32_t fid, uint64_t a0,
                             uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                             const uint8_t *in, size_t in_len)
{
    struct tsm_call c = {fid, {a0, a1, a2, a3, a4, 0}, in, in_len};

    return tsm_call(tsm, TSM_EID_COVG, tvm, &c, out, sizeof(out), &out_len);
}

static struct sbiret covg(uint64_t tvm, uint32_t fid, uint64_t a0, uint64_t a1,
                          uint64_t a2, uint64_t a3)
{
    return covg_in(tvm, fid, a0, a1, a2, a3, sizeof(out), NULL, 0);
}

static void expect(struct sbiret r, long error, long value)
{
    if (r.error != error || r.value != value) {
        fail_msg("sbiret {%ld, %ld}, want {%ld, %ld}", r.error, r.value, error,
                 value);
    }
}

/*
 * The relay: carry the pending buffer in @out to @d, build the answer.
 * @tamper: flip a byte of the device's answer when it is a secured record.
 */
static void carry(struct dev *d, bool tamper, uint8_t *ans, size_t *ans_len)
{
    uint32_t fid, n;
    size_t rl;

    assert_true(out_len >= TSM_RELAY_HDR_SIZE);
    fid = load_le32(out);
    n = load_le32(out + 8);
    assert_int_equal(n, out_len - TSM_RELAY_HDR_SIZE);
    assert_int_equal(
        spdm_responder_handle(&d->rsp, (fid & TSM_RELAY_SECURED) != 0,
                              out + TSM_RELAY_HDR_SIZE, n,
                              ans + TSM_RELAY_HDR_SIZE, SPDM_RECORD_MAX, &rl),
        SPDM_OK);
    if (tamper && spdm_responder_out_secured(&d->rsp)) {
        ans[TSM_RELAY_HDR_SIZE + rl - 1] ^= 0x01;
    }
    memcpy(ans, out, 8);
    store_le32(ans + 8, (uint32_t)rl);
    *ans_len = TSM_RELAY_HDR_SIZE + rl;
}

/* Run a host call to completion against device @d. */
static struct sbiret relay(struct dev *d, uint32_t fid, uint64_t a0,
                           uint64_t a1, uint64_t a2, uint64_t a3)
{
    static uint8_t ans[TSM_RELAY_MAX];
    struct sbiret r = covh(fid, a0, a1, a2, a3);
    size_t ans_len;
    int rounds = 0;

    while (r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST) {
        assert_int_equal(load_le32(out) & TSM_RELAY_FID_MASK, fid);
        carry(d, false, ans, &ans_len);
        memcpy(last_answer, ans, ans_len);
        last_answer_len = ans_len;
        r = covh_in(fid, a0, a1, a2, a3, ans, ans_len);
        assert_true(++rounds < 64);
    }
    return r;
}

static void connect_a(void)
{
    expect(relay(devs[0], TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0), SBI_SUCCESS,
           0);
    assert_int_equal(tsm_dev_find(tsm, DEV_A)->state, TSM_DEV_CONNECTED);
}

static void bind_a(uint64_t tvm)
{
    expect(relay(devs[0], TSM_COVH_BIND_INTERFACE, tvm, IF_A, 0, 0),
           SBI_SUCCESS, 0);
    assert_int_equal(tdisp_state(&devs[0]->tdisp, FID), TDISP_CONFIG_LOCKED);
}

static long if_state(uint64_t tvm)
{
    struct sbiret r = covg(tvm, TSM_COVG_GET_INTERFACE_STATE, IF_A, 0, 0, 0);

    assert_int_equal(r.error, SBI_SUCCESS);
    return r.value;
}

/* bind, region, map, start: the interface RUNNING for TVM A */
static void run_a(void)
{
    connect_a();
    bind_a(TVM_A);
    expect(covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0, 0x4000),
           SBI_SUCCESS, 0);
    expect(covg(TVM_A, TSM_COVG_MAP_INTERFACE_MMIO, IF_A, 0x80000000, BAR0,
                0x4000),
           SBI_SUCCESS, 0);
    expect(covg(TVM_A, TSM_COVG_START_INTERFACE, IF_A, 0, 0, 0), SBI_SUCCESS,
           0);
    assert_int_equal(if_state(TVM_A), TSM_IF_LOCKED);
    expect(relay(devs[0], TSM_COVH_TEE_IO_ACTION, DEV_A, 0, 0, 0), SBI_SUCCESS,
           0);
    assert_int_equal(if_state(TVM_A), TSM_IF_RUNNING);
    assert_int_equal(tdisp_state(&devs[0]->tdisp, FID), TDISP_RUN);
    assert_true(tsm_if_find(tsm, IF_A)->dma_enabled);
}

/* ---- tests ---- */

static void connect_and_transcript(void **state)
{
    const uint8_t *p;
    size_t n;

    (void)state;
    connect_a();
    assert_int_equal(tsm_dev_find(tsm, DEV_A)->session_id != 0, true);
    /* the certificate element is the device's chain, DER root..leaf */
    {
        struct tsm_call c = {
            TSM_COVH_GET_CONN_TRANSCRIPT,
            {DEV_A, TSM_ELEM_DEVICE_CERTIFICATE, 0, 0, sizeof(out), 0},
            NULL,
            0};
        struct sbiret r;

        /* the size register bounds the output: nothing is written */
        c.a[4] = 16;
        expect(tsm_covh(tsm, &c, out, sizeof(out), &out_len), SBI_ERR_NO_SHMEM,
               (long)devs[0]->id.chain_len);
        assert_int_equal(out_len, 0);
        c.a[4] = sizeof(out);
        r = tsm_covh(tsm, &c, out, sizeof(out), &out_len);
        expect(r, SBI_SUCCESS, (long)devs[0]->id.chain_len);
        assert_int_equal(out_len, devs[0]->id.chain_len);
        assert_memory_equal(out, devs[0]->id.chain, out_len);
        /* FULL: five elements, each {element, length, bytes} */
        c.a[1] = TSM_ELEM_FULL;
        r = tsm_covh(tsm, &c, out, sizeof(out), &out_len);
        assert_int_equal(r.error, SBI_SUCCESS);
        p = out;
        n = out_len;
        for (uint32_t e = 1; e < TSM_ELEM_COUNT; e++) {
            uint32_t l;

            assert_true(n >= 8);
            assert_int_equal(load_le32(p), e);
            l = load_le32(p + 4);
            /* TDISP's version and capabilities come with the first bind */
            assert_true(e == TSM_ELEM_TDISP_VC ? l == 0 : l > 0);
            assert_true(n - 8 >= l);
            if (e == TSM_ELEM_VCA) {
                assert_int_equal(p[8 + 1], SPDM_GET_VERSION);
            }
            p += 8 + l;
            n -= 8 + l;
        }
        assert_int_equal(n, 0);
        c.a[1] = 9;
        expect(tsm_covh(tsm, &c, out, sizeof(out), &out_len),
               SBI_ERR_INVALID_PARAM, 0);
        c.a[1] = TSM_ELEM_DEVICE_CERTIFICATE;
        c.a[2] = 1; /* slot 1 */
        expect(tsm_covh(tsm, &c, out, sizeof(out), &out_len),
               SBI_ERR_INVALID_PARAM, 0);
    }
    expect(covh(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_ERR_ALREADY_AVAILABLE, 0);
    expect(relay(devs[0], TSM_COVH_SPDM_HEARTBEAT, DEV_A, 0, 0, 0), SBI_SUCCESS,
           0);
    expect(relay(devs[0], TSM_COVH_SPDM_KEY_UPDATE, DEV_A, 0, 0, 0),
           SBI_SUCCESS, 0);
    /* the session still works under the new keys */
    expect(relay(devs[0], TSM_COVH_SPDM_HEARTBEAT, DEV_A, 0, 0, 0), SBI_SUCCESS,
           0);
    expect(relay(devs[0], TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_SUCCESS, 0);
    assert_null(tsm_dev_find(tsm, DEV_A));
    assert_int_equal(spdm_responder_session_state(&devs[0]->rsp, 0) ==
                         SPDM_SESSION_FREE,
                     true);
}

static void full_flow(void **state)
{
    uint8_t nonce[32];
    struct sbiret r;
    struct tdisp_report rep;

    (void)state;
    run_a();
    expect(covg(TVM_A, TSM_COVG_GET_DEVICE_LINK, IF_A, 0, 0, 0), SBI_SUCCESS,
           TSM_LINK_SECURED_SPDM);
    memset(nonce, 0xab, sizeof(nonce));
    r = covg_in(TVM_A, TSM_COVG_GET_DEVICE_MEASUREMENTS, IF_A, 0, 0, 0,
                sizeof(out), nonce, sizeof(nonce));
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_memory_equal(out, nonce, 32);
    assert_int_equal(load_le32(out + 32), 2); /* connect, bind */
    assert_int_equal(load_le32(out + 36), out_len - 40);
    assert_int_equal(out[40], 1); /* index 1 */
    r = covg(TVM_A, TSM_COVG_GET_INTERFACE_REPORT, IF_A, 0, sizeof(out), 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(tdisp_parse_report(out, out_len, &rep), 0);
    assert_int_equal(rep.n_ranges, 2);
    assert_int_equal(rep.ranges[0].addr, BAR0);
    expect(covg(TVM_A, TSM_COVG_START_INTERFACE, IF_A, 0, 0, 0),
           SBI_ERR_ALREADY_STARTED, 0);
    /* a reclaim while running is refused */
    expect(covh(TSM_COVH_RECLAIM_INTERFACE_REG, TVM_A, IF_A, BAR0, 0),
           SBI_ERR_INVALID_STATE, 0);
    /* the TVM stops; the host's action carries STOP */
    expect(covg(TVM_A, TSM_COVG_STOP_INTERFACE, IF_A, 0, 0, 0), SBI_SUCCESS, 0);
    assert_false(tsm_if_find(tsm, IF_A)->dma_enabled);
    expect(relay(devs[0], TSM_COVH_TEE_IO_ACTION, DEV_A, 0, 0, 0), SBI_SUCCESS,
           0);
    assert_int_equal(if_state(TVM_A), TSM_IF_UNLOCKED);
    assert_int_equal(tdisp_state(&devs[0]->tdisp, FID), TDISP_CONFIG_UNLOCKED);
    expect(covg(TVM_A, TSM_COVG_STOP_INTERFACE, IF_A, 0, 0, 0),
           SBI_ERR_ALREADY_STOPPED, 0);
    expect(covg(TVM_A, TSM_COVG_GET_INTERFACE_REPORT, IF_A, 0, sizeof(out), 0),
           SBI_ERR_INVALID_STATE, 0);
    expect(covh(TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_ERR_INVALID_STATE, 0); /* still bound */
    expect(relay(devs[0], TSM_COVH_UNBIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_SUCCESS, 0);
    assert_null(tsm_if_find(tsm, IF_A));
    /* nothing queued */
    expect(covh(TSM_COVH_TEE_IO_ACTION, DEV_A, 0, 0, 0), SBI_SUCCESS, 0);
    assert_int_equal(out_len, 0);
}

static void sbiret_codes(void **state)
{
    struct sbiret r;
    uint8_t first[TSM_RELAY_MAX], bad[64];
    size_t first_len;
    struct tsm_call c = {1024, {0}, NULL, 0};

    (void)state;
    /* COVT is the TSM's own: neither the host nor a TVM may call it; COVI
     * is not served; unknown FIDs are not supported */
    c.fid = 1024;
    for (c.fid = TSM_COVT_PROGRAM_KEY; c.fid <= TSM_COVT_PROGRAM_STREAM;
         c.fid++) {
        expect(tsm_call(tsm, TSM_EID_COVT, 0, &c, out, sizeof(out), &out_len),
               SBI_ERR_DENIED, 0);
        expect(
            tsm_call(tsm, TSM_EID_COVT, TVM_A, &c, out, sizeof(out), &out_len),
            SBI_ERR_DENIED, 0);
    }
    c.fid = 1024;
    expect(tsm_call(tsm, TSM_EID_COVI, 0, &c, out, sizeof(out), &out_len),
           SBI_ERR_NOT_SUPPORTED, 0);
    expect(covh(1023, 0, 0, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    expect(covh(1035, 0, 0, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    expect(covg(TVM_A, 1032, IF_A, 0, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    /* nothing connected */
    expect(covh(TSM_COVH_BIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covh(TSM_COVH_SPDM_HEARTBEAT, DEV_A, 0, 0, 0), SBI_ERR_INVALID_PARAM,
           0);
    expect(covh(TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covg(TVM_A, TSM_COVG_GET_INTERFACE_STATE, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covh(TSM_COVH_CONNECT_DEVICE, 1ull << 32, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covh(TSM_COVH_CONNECT_DEVICE, DEV_A, 1, 0, 0),
           SBI_ERR_INVALID_ADDRESS, 0); /* an IDE stream, no descriptor */
    /* an answer nobody asked for */
    memset(bad, 0, sizeof(bad));
    expect(covh_in(TSM_COVH_SPDM_HEARTBEAT, DEV_A, 0, 0, 0, bad, sizeof(bad)),
           SBI_ERR_INVALID_STATE, 0);
    /* pending: resend gives the same bytes; other calls are busy */
    r = covh(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0);
    expect(r, SBI_SUCCESS, TSM_SPDM_PENDING_REQUEST);
    assert_int_equal(load_le32(out), TSM_COVH_CONNECT_DEVICE);
    assert_int_equal(load_le32(out + 4), DEV_A);
    assert_int_equal(out[TSM_RELAY_HDR_SIZE + 1], SPDM_GET_VERSION);
    memcpy(first, out, out_len);
    first_len = out_len;
    expect(covh(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0), SBI_SUCCESS,
           TSM_SPDM_PENDING_REQUEST);
    assert_int_equal(out_len, first_len);
    assert_memory_equal(out, first, first_len);
    expect(covh(TSM_COVH_SPDM_HEARTBEAT, DEV_A, 0, 0, 0),
           SBI_ERR_ALREADY_STARTED, 0);
    /* a relay buffer for another FID, device or with a wrong length */
    memcpy(bad, first, TSM_RELAY_HDR_SIZE);
    store_le32(bad, TSM_COVH_BIND_INTERFACE);
    expect(covh_in(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0, bad, 20),
           SBI_ERR_INVALID_PARAM, 0);
    memcpy(bad, first, TSM_RELAY_HDR_SIZE);
    store_le32(bad + 4, DEV_A + 1);
    expect(covh_in(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0, bad, 20),
           SBI_ERR_INVALID_PARAM, 0);
    memcpy(bad, first, TSM_RELAY_HDR_SIZE);
    store_le32(bad + 8, 9);
    expect(covh_in(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0, bad, 20),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covh_in(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0, bad, 5),
           SBI_ERR_INVALID_PARAM, 0);
    /* the output buffer too small for the pending request */
    {
        struct tsm_call s = {TSM_COVH_CONNECT_DEVICE, {DEV_A}, NULL, 0};

        expect(tsm_covh(tsm, &s, out, 8, &out_len), SBI_ERR_NO_SHMEM,
               (long)first_len);
    }
    /* the relay still works after all that */
    memcpy(out, first, first_len);
    out_len = first_len;
    {
        static uint8_t ans[TSM_RELAY_MAX];
        size_t al;

        carry(devs[0], false, ans, &al);
        r = covh_in(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0, ans, al);
        expect(r, SBI_SUCCESS, TSM_SPDM_PENDING_REQUEST);
        assert_int_equal(out[TSM_RELAY_HDR_SIZE + 1], SPDM_GET_CAPABILITIES);
    }
    /* transcripts before the connection completes */
    expect(covh(TSM_COVH_GET_CONN_TRANSCRIPT, DEV_A, TSM_ELEM_VCA, 0, 0),
           SBI_ERR_ALREADY_STARTED, 0);
}

static void states(void **state)
{
    (void)state;
    connect_a();
    /* unbound interface */
    expect(covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0, 0x1000),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covh(TSM_COVH_UNBIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covh(TSM_COVH_BIND_INTERFACE, 0, IF_A, 0, 0), SBI_ERR_INVALID_PARAM,
           0);
    expect(covh(TSM_COVH_IDE_KEY_REFRESH, DEV_A, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0); /* connected without an IDE stream */
    bind_a(TVM_A);
    expect(covh(TSM_COVH_BIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_ERR_ALREADY_AVAILABLE, 0);
    expect(covg(TVM_A, TSM_COVG_MAP_INTERFACE_MMIO, IF_A, 0x80000000, BAR0,
                0x1000),
           SBI_ERR_INVALID_ADDRESS, 0); /* no region yet */
    /* start is refused until locked: unlock through the TVM's stop */
    expect(covg(TVM_A, TSM_COVG_STOP_INTERFACE, IF_A, 0, 0, 0), SBI_SUCCESS, 0);
    expect(relay(devs[0], TSM_COVH_TEE_IO_ACTION, DEV_A, 0, 0, 0), SBI_SUCCESS,
           0);
    expect(covg(TVM_A, TSM_COVG_START_INTERFACE, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_STATE, 0);
    expect(covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0, 0x1000),
           SBI_ERR_INVALID_STATE, 0);
    expect(covg(TVM_A, TSM_COVG_MAP_INTERFACE_MMIO, IF_A, 0x80000000, BAR0,
                0x1000),
           SBI_ERR_INVALID_STATE, 0);
}

static void ownership(void **state)
{
    struct sbiret r;
    uint8_t nonce[32] = {0};

    (void)state;
    run_a();
    /* TVM B sees nothing of A's interface */
    expect(covg(TVM_B, TSM_COVG_GET_INTERFACE_REPORT, IF_A, 0, sizeof(out), 0),
           SBI_ERR_INVALID_PARAM, 0);
    assert_int_equal(out_len, 0);
    expect(covg(TVM_B, TSM_COVG_GET_INTERFACE_STATE, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covg(TVM_B, TSM_COVG_START_INTERFACE, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covg(TVM_B, TSM_COVG_STOP_INTERFACE, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covg(TVM_B, TSM_COVG_GET_DEVICE_LINK, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covg(TVM_B, TSM_COVG_MAP_INTERFACE_MMIO, IF_A, 0x90000000, BAR0,
                0x4000),
           SBI_ERR_INVALID_PARAM, 0);
    r = covg_in(TVM_B, TSM_COVG_GET_DEVICE_MEASUREMENTS, IF_A, 0, 0, 0,
                sizeof(out), nonce, sizeof(nonce));
    expect(r, SBI_ERR_INVALID_PARAM, 0);
    expect(covg(TVM_B, TSM_COVG_GET_CONN_TRANSCRIPT, IF_A, TSM_ELEM_FULL, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covg(0, TSM_COVG_GET_INTERFACE_STATE, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    /* the host cannot hand A's interface to B, nor act on it as B */
    expect(covh(TSM_COVH_BIND_INTERFACE, TVM_B, IF_A, 0, 0), SBI_ERR_DENIED, 0);
    expect(covh(TSM_COVH_UNBIND_INTERFACE, TVM_B, IF_A, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_B, IF_A, BAR0, 0x1000),
           SBI_ERR_INVALID_PARAM, 0);
    assert_int_equal(if_state(TVM_A), TSM_IF_RUNNING);
}

static void regions(void **state)
{
    (void)state;
    connect_a();
    bind_a(TVM_A);
    /* outside every reported range, unaligned, empty, overlapping */
    expect(
        covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0 + 0x5000, 0x1000),
        SBI_ERR_INVALID_ADDRESS, 0);
    expect(covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0, 0x5000),
           SBI_ERR_INVALID_ADDRESS, 0); /* spans two ranges */
    expect(covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0 + 8, 0x1000),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect(covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0, 0),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect(covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0, 0x2000),
           SBI_SUCCESS, 0);
    expect(
        covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0 + 0x1000, 0x2000),
        SBI_ERR_INVALID_ADDRESS, 0);
    expect(
        covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0 + 0x4000, 0x1000),
        SBI_SUCCESS, 0);
    assert_int_equal(tsm_if_find(tsm, IF_A)->n_regions, 2);
    /* a mapping must be a whole region, at an aligned gpa */
    expect(covg(TVM_A, TSM_COVG_MAP_INTERFACE_MMIO, IF_A, 0x80000000, BAR0,
                0x1000),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect(covg(TVM_A, TSM_COVG_MAP_INTERFACE_MMIO, IF_A, 0x80000010, BAR0,
                0x2000),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect(covg(TVM_A, TSM_COVG_MAP_INTERFACE_MMIO, IF_A, 0x80000000, BAR0,
                0x2000),
           SBI_SUCCESS, 0);
    expect(covg(TVM_A, TSM_COVG_MAP_INTERFACE_MMIO, IF_A, 0x80000000, BAR0,
                0x2000),
           SBI_ERR_ALREADY_AVAILABLE, 0);
    /* reclaimed: gone, cannot be mapped, cannot be reclaimed twice */
    expect(covh(TSM_COVH_RECLAIM_INTERFACE_REG, TVM_A, IF_A, BAR0 + 0x4000, 0),
           SBI_SUCCESS, 0);
    assert_int_equal(tsm_if_find(tsm, IF_A)->n_regions, 1);
    expect(covg(TVM_A, TSM_COVG_MAP_INTERFACE_MMIO, IF_A, 0x90000000,
                BAR0 + 0x4000, 0x1000),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect(covh(TSM_COVH_RECLAIM_INTERFACE_REG, TVM_A, IF_A, BAR0 + 0x4000, 0),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect(covh(TSM_COVH_RECLAIM_INTERFACE_REG, TVM_B, IF_A, BAR0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    /* unbinding reclaims every region */
    expect(relay(devs[0], TSM_COVH_UNBIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_SUCCESS, 0);
    bind_a(TVM_B);
    assert_int_equal(tsm_if_find(tsm, IF_A)->n_regions, 0);
    expect(covg(TVM_B, TSM_COVG_MAP_INTERFACE_MMIO, IF_A, 0x80000000, BAR0,
                0x2000),
           SBI_ERR_INVALID_ADDRESS, 0);
}

/* Drive a call, tampering with the answer at round @at. */
static struct sbiret relay_tamper(uint32_t fid, uint64_t a0, uint64_t a1,
                                  int at)
{
    static uint8_t ans[TSM_RELAY_MAX];
    struct sbiret r = covh(fid, a0, a1, 0, 0);
    size_t al;
    int i = 0;

    while (r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST) {
        carry(devs[0], i == at, ans, &al);
        r = covh_in(fid, a0, a1, 0, 0, ans, al);
        i++;
    }
    return r;
}

static void attack_tampered_record(void **state)
{
    (void)state;
    connect_a();
    /* bind's answers are secured records: flip a bit of the fourth (LOCK) */
    expect(relay_tamper(TSM_COVH_BIND_INTERFACE, TVM_A, IF_A, 3),
           SBI_ERR_FAILED, 0);
    assert_int_equal(tsm_dev_find(tsm, DEV_A)->state, TSM_DEV_ERROR);
    assert_int_equal(if_state(TVM_A), TSM_IF_ERROR);
    expect(covg(TVM_A, TSM_COVG_GET_DEVICE_LINK, IF_A, 0, 0, 0), SBI_SUCCESS,
           0);
    expect(covg(TVM_A, TSM_COVG_START_INTERFACE, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_STATE, 0);
    expect(covg(TVM_A, TSM_COVG_GET_INTERFACE_REPORT, IF_A, 0, sizeof(out), 0),
           SBI_ERR_INVALID_STATE, 0);
    /* only a disconnect leaves ERROR */
    expect(covh(TSM_COVH_SPDM_HEARTBEAT, DEV_A, 0, 0, 0), SBI_ERR_INVALID_STATE,
           0);
    expect(covh(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0), SBI_ERR_INVALID_STATE,
           0);
    expect(covh(TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0), SBI_SUCCESS, 0);
    assert_null(tsm_if_find(tsm, IF_A));
    spdm_responder_reset(&devs[0]->rsp);
    connect_a();
}

static void attack_replayed_report(void **state)
{
    static uint8_t old_report[TSM_RELAY_MAX];
    static uint8_t ans[TSM_RELAY_MAX];
    size_t old_len = 0, al;
    struct sbiret r;
    int round = 0;

    (void)state;
    connect_a();
    /* first bind: keep the report answer (rounds: MEASUREMENTS, TDISP
     * VERSION, CAPABILITIES, LOCK, REPORT, STATE) */
    r = covh(TSM_COVH_BIND_INTERFACE, TVM_A, IF_A, 0, 0);
    while (r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST) {
        carry(devs[0], false, ans, &al);
        if (round++ == 4) {
            memcpy(old_report, ans, al);
            old_len = al;
        }
        r = covh_in(TSM_COVH_BIND_INTERFACE, TVM_A, IF_A, 0, 0, ans, al);
    }
    expect(r, SBI_SUCCESS, 0);
    assert_true(old_len > 0);
    expect(relay(devs[0], TSM_COVH_UNBIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_SUCCESS, 0);
    /* second bind: the relay answers GET_REPORT with the old report */
    round = 0;
    r = covh(TSM_COVH_BIND_INTERFACE, TVM_A, IF_A, 0, 0);
    while (r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST) {
        carry(devs[0], false, ans, &al);
        if (round++ == 4) {
            r = covh_in(TSM_COVH_BIND_INTERFACE, TVM_A, IF_A, 0, 0, old_report,
                        old_len);
            break;
        }
        r = covh_in(TSM_COVH_BIND_INTERFACE, TVM_A, IF_A, 0, 0, ans, al);
    }
    expect(r, SBI_ERR_FAILED, 0);
    assert_int_equal(if_state(TVM_A), TSM_IF_ERROR);
}

static void attack_other_device(void **state)
{
    static uint8_t ans[TSM_RELAY_MAX];
    struct sbiret r;
    size_t al;

    (void)state;
    /* VCA and certificate from A, the handshake from B */
    r = covh(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0);
    while (r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST) {
        uint8_t code = out[TSM_RELAY_HDR_SIZE + 1];
        bool kx = code == SPDM_KEY_EXCHANGE;

        if (code == SPDM_GET_VERSION || code == SPDM_GET_CAPABILITIES ||
            code == SPDM_NEGOTIATE_ALGORITHMS) {
            /* B is brought along through VCA so it can answer KEY_EXCHANGE */
            carry(devs[1], false, ans, &al);
        }
        if (kx) {
            assert_int_equal(spdm_responder_state(&devs[1]->rsp),
                             SPDM_CONN_NEGOTIATED);
        }
        carry(kx ? devs[1] : devs[0], false, ans, &al);
        if (kx) {
            /* B answers properly, under its own key */
            assert_int_equal(ans[TSM_RELAY_HDR_SIZE + 1],
                             SPDM_KEY_EXCHANGE_RSP);
        }
        r = covh_in(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0, ans, al);
    }
    expect(r, SBI_ERR_FAILED, 0);
    assert_int_equal(tsm_dev_find(tsm, DEV_A)->state, TSM_DEV_ERROR);
    expect(covh(TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0), SBI_SUCCESS, 0);
    /* B answering everything: the TVM is shown B's certificate, never A's */
    expect(relay(devs[1], TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0), SBI_SUCCESS,
           0);
    expect(relay(devs[1], TSM_COVH_BIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_SUCCESS, 0);
    expect(covg(TVM_A, TSM_COVG_GET_CONN_TRANSCRIPT, IF_A,
                TSM_ELEM_DEVICE_CERTIFICATE, 0, 0),
           SBI_SUCCESS, (long)devs[1]->id.chain_len);
    assert_memory_equal(out, devs[1]->id.chain, out_len);
    assert_memory_not_equal(out, devs[0]->id.chain, devs[0]->id.ca_len);
}

static void attack_measurements_changed(void **state)
{
    (void)state;
    connect_a();
    /* a firmware update between connect and bind */
    devs[0]->rsp.meas[0].value[0] ^= 0xff;
    expect(relay(devs[0], TSM_COVH_BIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_ERR_FAILED, 0);
    assert_int_equal(tsm_dev_find(tsm, DEV_A)->state, TSM_DEV_ERROR);
    assert_int_equal(if_state(TVM_A), TSM_IF_ERROR);
    /* the device was never locked for the TVM */
    assert_int_equal(tdisp_state(&devs[0]->tdisp, FID), TDISP_CONFIG_UNLOCKED);
}

static void attack_config_change_after_lock(void **state)
{
    (void)state;
    run_a();
    /* a BAR write on the device while RUN */
    assert_int_equal(tdisp_config_change(&devs[0]->tdisp, FID, NULL, false),
                     TDISP_STATE_ERROR);
    /* the TVM asks; the refresh is queued; the host relays it */
    assert_int_equal(if_state(TVM_A), TSM_IF_RUNNING);
    expect(relay(devs[0], TSM_COVH_TEE_IO_ACTION, DEV_A, 0, 0, 0), SBI_SUCCESS,
           0);
    assert_int_equal(if_state(TVM_A), TSM_IF_ERROR);
    assert_false(tsm_if_find(tsm, IF_A)->dma_enabled);
    expect(covg(TVM_A, TSM_COVG_START_INTERFACE, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_STATE, 0);
    /* in LOCKED too: the change makes START fail with the device's error */
    expect(relay(devs[0], TSM_COVH_UNBIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_SUCCESS, 0);
    bind_a(TVM_A);
    expect(covg(TVM_A, TSM_COVG_START_INTERFACE, IF_A, 0, 0, 0), SBI_SUCCESS,
           0);
    assert_int_equal(tdisp_config_change(&devs[0]->tdisp, FID, NULL, false),
                     TDISP_STATE_ERROR);
    expect(relay(devs[0], TSM_COVH_TEE_IO_ACTION, DEV_A, 0, 0, 0),
           SBI_ERR_DENIED, 0);
    assert_int_equal(if_state(TVM_A), TSM_IF_ERROR);
    assert_false(tsm_if_find(tsm, IF_A)->dma_enabled);
}

static void attack_unbind_while_running(void **state)
{
    (void)state;
    run_a();
    expect(relay(devs[0], TSM_COVH_UNBIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_SUCCESS, 0);
    assert_int_equal(tdisp_state(&devs[0]->tdisp, FID), TDISP_CONFIG_UNLOCKED);
    /* the TVM has lost it: every call on it is refused */
    expect(covg(TVM_A, TSM_COVG_GET_INTERFACE_STATE, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covg(TVM_A, TSM_COVG_START_INTERFACE, IF_A, 0, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covg(TVM_A, TSM_COVG_GET_INTERFACE_REPORT, IF_A, 0, sizeof(out), 0),
           SBI_ERR_INVALID_PARAM, 0);
    assert_null(tsm_if_find(tsm, IF_A));
}

static void attack_replayed_connect_answer(void **state)
{
    static uint8_t ans[TSM_RELAY_MAX];
    struct sbiret r;
    size_t al;

    (void)state;
    connect_a();
    /* a heartbeat answered with the previous answer of the relay */
    r = covh(TSM_COVH_SPDM_HEARTBEAT, DEV_A, 0, 0, 0);
    expect(r, SBI_SUCCESS, TSM_SPDM_PENDING_REQUEST);
    carry(devs[0], false, ans, &al);
    memcpy(ans, last_answer, last_answer_len);
    store_le32(ans, TSM_COVH_SPDM_HEARTBEAT | TSM_RELAY_SECURED);
    r = covh_in(TSM_COVH_SPDM_HEARTBEAT, DEV_A, 0, 0, 0, ans, last_answer_len);
    expect(r, SBI_ERR_FAILED, 0);
}

/* ---- COVT and IDE ---- */

#define STREAM 3u
#define RP_A   0u      /* DEV_A takes the first record: its root port */
#define DESC_A 0x9000u /* the descriptor's address register */

static uint8_t ide_desc[TSM_STREAM_DESC_MIN + TSM_STREAM_ADDR_BLOCK];
static size_t ide_desc_len;

static void make_desc(uint8_t stream, uint8_t n_addr)
{
    memset(ide_desc, 0, sizeof(ide_desc));
    ide_desc[0] = stream;
    ide_desc[1] = n_addr;
    store_le32(ide_desc + 4, 0x00010001u);  /* RID association 1 */
    store_le32(ide_desc + 8, 0x00000101u);  /* RID association 2 */
    store_le32(ide_desc + 12, 0xfe000001u); /* address block 0, if any */
    ide_desc_len = TSM_STREAM_DESC_MIN + (size_t)n_addr * TSM_STREAM_ADDR_BLOCK;
}

/*
 * Run a host call whose first call reads @in to completion; flip a bit of
 * the secured answer of round @at (-1: none); *@rounds: the round trips.
 */
static struct sbiret relay_in_dev(struct dev *d, uint32_t fid, uint64_t a0,
                                  uint64_t a1, const uint8_t *in, size_t in_len,
                                  int at, int *rounds)
{
    static uint8_t ans[TSM_RELAY_MAX];
    struct sbiret r = covh_in(fid, a0, a1, 0, 0, in, in_len);
    size_t al;
    int i = 0;

    while (r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST) {
        assert_int_equal(load_le32(out) & TSM_RELAY_FID_MASK, fid);
        carry(d, i == at, ans, &al);
        r = covh_in(fid, a0, a1, 0, 0, ans, al);
        assert_true(++i < 128);
    }
    if (rounds != NULL) {
        *rounds = i;
    }
    return r;
}

static struct sbiret relay_in(uint32_t fid, uint64_t a0, uint64_t a1,
                              const uint8_t *in, size_t in_len, int at,
                              int *rounds)
{
    return relay_in_dev(devs[0], fid, a0, a1, in, in_len, at, rounds);
}

static struct sbiret connect_ide_at(int at, int *rounds)
{
    return relay_in(TSM_COVH_CONNECT_DEVICE, DEV_A, DESC_A, ide_desc,
                    ide_desc_len, at, rounds);
}

static void connect_ide(void)
{
    make_desc(STREAM, 0);
    expect(connect_ide_at(-1, NULL), SBI_SUCCESS, 0);
    assert_int_equal(tsm_dev_find(tsm, DEV_A)->state, TSM_DEV_CONNECTED);
    assert_true(tsm_dev_find(tsm, DEV_A)->ide_on);
    assert_int_equal(tsm_dev_find(tsm, DEV_A)->rp_id, RP_A);
}

/* The device's slot for key @slot (0..5: Rx PR/NPR/CPL, Tx ...) of @set. */
static const struct idekm_slot *dev_key(unsigned set, unsigned slot)
{
    size_t i;

    for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
        const struct idekm_stream *s = &devs[0]->km.streams[i];

        if (s->used && s->port == 0 && s->stream_id == STREAM) {
            return &s->slot[set][slot >= 3 ? 1 : 0][slot % 3];
        }
    }
    return NULL;
}

/* The root port's key paired with the device's: the opposite direction. */
static const struct rp_key *rp_key(unsigned set, unsigned slot)
{
    return rp_key_peek(&tsm->rp, RP_A, STREAM, set,
                       slot >= 3 ? TSM_KEY_RX : TSM_KEY_TX, slot % 3);
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Whether @n bytes at @needle occur in the TSM outside its root ports. */
static bool tsm_holds(const uint8_t *needle, size_t n)
{
    const uint8_t *p = (const uint8_t *)tsm;
    const uint8_t *rp = (const uint8_t *)&tsm->rp;
    size_t total = sizeof(*tsm), i;

    for (i = 0; i + n <= total; i++) {
        if ((i + n <= (size_t)(rp - p) ||
             i >= (size_t)(rp - p) + sizeof(tsm->rp)) &&
            memcmp(p + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* Key set @set going on both sides with equal, fresh, distinct keys. */
static void keys_match(unsigned set)
{
    unsigned i;

    for (i = 0; i < IDE_KEYS; i++) {
        const struct idekm_slot *k = dev_key(set, i);
        const struct rp_key *r = rp_key(set, i);

        assert_non_null(k);
        assert_non_null(r);
        assert_int_equal(k->state, IDEKM_ACTIVE);
        assert_int_equal(r->state, TSM_RP_KEY_ENABLED);
        assert_memory_equal(k->key, r->key, IDEKM_KEY_SIZE);
        assert_memory_equal(k->ifv, r->ifv, IDEKM_IFV_SIZE);
        assert_false(all_zero(r->key, sizeof(r->key)));
        /* the root port holds the key; no other copy stays in the TSM */
        assert_false(tsm_holds(r->key, 16));
        assert_false(tsm_holds(r->key + 16, 16));
        if (i > 0) {
            assert_memory_not_equal(r->key, rp_key(set, i - 1)->key,
                                    RP_KEY_SIZE);
        }
    }
}

/* The device holds no key for the stream, the root port holds nothing. */
static void keys_gone(void)
{
    size_t i;

    for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
        assert_false(devs[0]->km.streams[i].used &&
                     devs[0]->km.streams[i].stream_id == STREAM);
    }
    assert_true(all_zero(&tsm->rp, sizeof(tsm->rp)));
}

static void ide_connect_end_to_end(void **state)
{
    uint8_t desc[TSM_KEY_DESC_SIZE] = {STREAM, 0, 1, TSM_KEY_TX};
    uint64_t a[6] = {RP_A, 1, 0, 0, 0, 0};
    int plain, ide;

    (void)state;
    /* the same device without IDE: the IDE phase is 13 round trips more */
    expect(relay_in(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, NULL, 0, -1, &plain),
           SBI_SUCCESS, 0);
    assert_false(tsm_dev_find(tsm, DEV_A)->ide_on);
    expect(relay(devs[0], TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_SUCCESS, 0);
    make_desc(STREAM, 0);
    expect(connect_ide_at(-1, &ide), SBI_SUCCESS, 0);
    assert_int_equal(ide, plain + 1 + 2 * IDE_KEYS);
    keys_match(0);
    assert_int_equal(go_seen, IDE_KEYS);
    assert_int_equal(go_order_violations, 0);
    assert_true(idekm_stream_secure(&devs[0]->km, STREAM));
    /* key set 1 untouched on both sides */
    expect(rp_covt(&tsm->rp, TSM_COVT_KEY_STATUS, a, desc, sizeof(desc)),
           SBI_SUCCESS, TSM_RP_KEY_CLEARED);
    assert_int_equal(dev_key(1, 0)->state, IDEKM_EMPTY);
    /* the TVM sees PCIE_IDE once it has an interface */
    bind_a(TVM_A);
    expect(covg(TVM_A, TSM_COVG_GET_DEVICE_LINK, IF_A, 0, 0, 0), SBI_SUCCESS,
           TSM_LINK_SECURED_SPDM | TSM_LINK_PCIE_IDE);
    /* the link resets: the root port's keys are Cleared and wiped */
    assert_true(rp_stream_insecure(&tsm->rp, RP_A, STREAM));
    assert_int_equal(rp_key(0, 0)->state, TSM_RP_KEY_CLEARED);
    assert_true(all_zero(rp_key(0, 0)->key, RP_KEY_SIZE));
    expect(covg(TVM_A, TSM_COVG_GET_DEVICE_LINK, IF_A, 0, 0, 0), SBI_SUCCESS,
           TSM_LINK_SECURED_SPDM);
    expect(covh(TSM_COVH_IDE_KEY_REFRESH, DEV_A, STREAM, 0, 0),
           SBI_ERR_INVALID_STATE, 0);
    /* unbind, disconnect: every key wiped on both sides */
    expect(relay(devs[0], TSM_COVH_UNBIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_SUCCESS, 0);
    expect(relay(devs[0], TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_SUCCESS, 0);
    assert_null(tsm_dev_find(tsm, DEV_A));
    keys_gone();
}

static void ide_refresh(void **state)
{
    uint8_t old[IDE_KEYS][RP_KEY_SIZE];
    unsigned i;

    (void)state;
    connect_ide();
    for (i = 0; i < IDE_KEYS; i++) {
        memcpy(old[i], rp_key(0, i)->key, RP_KEY_SIZE);
    }
    expect(covh(TSM_COVH_IDE_KEY_REFRESH, DEV_A, STREAM + 1, 0, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(relay(devs[0], TSM_COVH_IDE_KEY_REFRESH, DEV_A, STREAM, 0, 0),
           SBI_SUCCESS, 0);
    assert_int_equal(tsm_dev_find(tsm, DEV_A)->ide_set, 1);
    keys_match(1);
    assert_int_equal(go_seen, 2 * IDE_KEYS); /* connect and refresh */
    assert_int_equal(go_order_violations, 0);
    for (i = 0; i < IDE_KEYS; i++) {
        /* the old set: stopped and wiped on the device, Programmed (as
         * set_stop leaves it) on the root port, never reused */
        assert_int_equal(dev_key(0, i)->state, IDEKM_EMPTY);
        assert_true(all_zero(dev_key(0, i)->key, IDEKM_KEY_SIZE));
        assert_int_equal(rp_key(0, i)->state, TSM_RP_KEY_PROGRAMMED);
        assert_memory_not_equal(rp_key(1, i)->key, old[i], RP_KEY_SIZE);
    }
    /* and back to key set 0, with fresh keys */
    expect(relay(devs[0], TSM_COVH_IDE_KEY_REFRESH, DEV_A, STREAM, 0, 0),
           SBI_SUCCESS, 0);
    assert_int_equal(tsm_dev_find(tsm, DEV_A)->ide_set, 0);
    keys_match(0);
    for (i = 0; i < IDE_KEYS; i++) {
        assert_int_equal(dev_key(1, i)->state, IDEKM_EMPTY);
        assert_int_equal(rp_key(1, i)->state, TSM_RP_KEY_PROGRAMMED);
        assert_memory_not_equal(rp_key(0, i)->key, old[i], RP_KEY_SIZE);
    }
    bind_a(TVM_A);
    expect(covg(TVM_A, TSM_COVG_GET_DEVICE_LINK, IF_A, 0, 0, 0), SBI_SUCCESS,
           TSM_LINK_SECURED_SPDM | TSM_LINK_PCIE_IDE);
    expect(relay(devs[0], TSM_COVH_UNBIND_INTERFACE, TVM_A, IF_A, 0, 0),
           SBI_SUCCESS, 0);
    expect(relay(devs[0], TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_SUCCESS, 0);
    keys_gone();
}

/* Two devices, each on its own root port, the same stream id on both. */
static void ide_two_devices(void **state)
{
    const uint32_t dev_b = 8;
    const struct tsm_dev *b;
    const struct rp_key *ka, *kb;
    unsigned i;

    (void)state;
    connect_ide();
    expect(relay_in_dev(devs[1], TSM_COVH_CONNECT_DEVICE, dev_b, DESC_A,
                        ide_desc, ide_desc_len, -1, NULL),
           SBI_SUCCESS, 0);
    b = tsm_dev_find(tsm, dev_b);
    assert_true(b->ide_on);
    assert_int_equal(b->rp_id, 1);
    for (i = 0; i < IDE_KEYS; i++) {
        ka = rp_key(0, i);
        kb = rp_key_peek(&tsm->rp, 1, STREAM, 0,
                         i >= 3 ? TSM_KEY_RX : TSM_KEY_TX, i % 3);
        assert_non_null(kb);
        assert_int_equal(kb->state, TSM_RP_KEY_ENABLED);
        assert_memory_not_equal(ka->key, kb->key, RP_KEY_SIZE);
    }
    assert_true(idekm_stream_secure(&devs[1]->km, STREAM));
    /* B's refresh and A's disconnect leave the other alone */
    expect(relay(devs[1], TSM_COVH_IDE_KEY_REFRESH, dev_b, STREAM, 0, 0),
           SBI_SUCCESS, 0);
    keys_match(0);
    expect(relay(devs[0], TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_SUCCESS, 0);
    assert_null(rp_key(0, 0));
    assert_true(rp_stream_secure(&tsm->rp, 1, STREAM, 1));
    expect(relay(devs[1], TSM_COVH_DISCONNECT_DEVICE, dev_b, 0, 0, 0),
           SBI_SUCCESS, 0);
    assert_true(all_zero(&tsm->rp, sizeof(tsm->rp)));
}

/* The connection ended on an IDE answer: ERROR, the root port wiped. */
static void ide_ended(void)
{
    assert_int_equal(tsm_dev_find(tsm, DEV_A)->state, TSM_DEV_ERROR);
    assert_false(tsm_dev_find(tsm, DEV_A)->ide_on);
    assert_true(all_zero(&tsm->rp, sizeof(tsm->rp)));
    assert_true(all_zero(tsm_dev_find(tsm, DEV_A)->ide_key,
                         sizeof(tsm_dev_find(tsm, DEV_A)->ide_key)));
    expect(covh(TSM_COVH_IDE_KEY_REFRESH, DEV_A, STREAM, 0, 0),
           SBI_ERR_INVALID_STATE, 0);
    expect(covh(TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0), SBI_SUCCESS, 0);
    assert_null(tsm_dev_find(tsm, DEV_A));
}

static void ide_tampered_ack(void **state)
{
    int rounds;

    (void)state;
    connect_ide();
    expect(relay(devs[0], TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_SUCCESS, 0);
    (void)connect_ide_at(-1, &rounds);
    expect(relay(devs[0], TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_SUCCESS, 0);
    /* the first KP_ACK's record flipped by the relay: it does not open */
    expect(connect_ide_at(rounds - 2 * IDE_KEYS, NULL), SBI_ERR_FAILED, 0);
    ide_ended();
    /* a KP_ACK naming another stream, sealed by the device itself */
    setup(NULL);
    wrong_ack_code = IDEKM_KP_ACK;
    wrong_ack_xor = 1;
    expect(connect_ide_at(-1, NULL), SBI_ERR_FAILED, 0);
    ide_ended();
    /* a K_GOSTOP_ACK naming another stream: root-port keys programmed
     * already are wiped as well */
    setup(NULL);
    make_desc(STREAM, 0);
    wrong_ack_code = IDEKM_K_GOSTOP_ACK;
    wrong_ack_xor = 4;
    expect(connect_ide_at(-1, NULL), SBI_ERR_FAILED, 0);
    ide_ended();
    /* the same during a refresh */
    setup(NULL);
    connect_ide();
    wrong_ack_code = IDEKM_KP_ACK;
    wrong_ack_xor = 2;
    expect(relay(devs[0], TSM_COVH_IDE_KEY_REFRESH, DEV_A, STREAM, 0, 0),
           SBI_ERR_FAILED, 0);
    ide_ended();
}

static void ide_device_refuses(void **state)
{
    uint8_t req[IDEKM_KEY_PROG_SIZE], rsp[IDEKM_QUERY_RSP_SIZE], key[32] = {1};
    uint8_t ifv[8] = {0};
    size_t rl;
    unsigned i;
    int clean, rounds;

    (void)state;
    connect_ide();
    expect(relay(devs[0], TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_SUCCESS, 0);
    (void)connect_ide_at(-1, &clean);
    expect(relay(devs[0], TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_SUCCESS, 0);
    /* every stream register block of the device taken: the first KP_ACK
     * has a non-zero status, and nothing follows it */
    for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
        assert_int_equal(idekm_build_key_prog((uint8_t)(10 + i), 0, 0, key, ifv,
                                              req, sizeof(req)),
                         sizeof(req));
        assert_int_equal(idekm_handle(&devs[0]->km, 0x1234, true, req,
                                      sizeof(req), rsp, sizeof(rsp), &rl),
                         IDEKM_OK);
        assert_int_equal(rsp[4], IDEKM_KP_SUCCESS);
    }
    make_desc(STREAM, 0);
    expect(connect_ide_at(-1, &rounds), SBI_ERR_DENIED, 0);
    assert_int_equal(rounds, clean - 2 * IDE_KEYS + 1);
    ide_ended();
    /* more address association blocks than the device has */
    setup(NULL);
    make_desc(STREAM, 1);
    expect(connect_ide_at(-1, &rounds), SBI_ERR_DENIED, 0);
    assert_int_equal(rounds, clean - 2 * IDE_KEYS); /* at the QUERY_RESP */
    ide_ended();
    /* an SPDM ERROR inside the session: the device's keys were stopped
     * behind the TSM's back, so its K_SET_STOP at disconnect is refused */
    setup(NULL);
    connect_ide();
    assert_int_equal(
        idekm_build_set(IDEKM_K_SET_STOP, STREAM, 0, 0, req, sizeof(req)),
        IDEKM_MSG_SIZE);
    /* in the TSM's own session (the stream's), as device firmware would */
    for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
        if (devs[0]->km.streams[i].used &&
            devs[0]->km.streams[i].stream_id == STREAM) {
            break;
        }
    }
    assert_true(i < IDEKM_MAX_STREAMS);
    assert_int_equal(idekm_handle(&devs[0]->km,
                                  devs[0]->km.streams[i].session_id, true, req,
                                  IDEKM_MSG_SIZE, rsp, sizeof(rsp), &rl),
                     IDEKM_OK);
    expect(relay(devs[0], TSM_COVH_DISCONNECT_DEVICE, DEV_A, 0, 0, 0),
           SBI_ERR_DENIED, 0);
    ide_ended();
    /* descriptors the root port refuses: no device record is made */
    setup(NULL);
    make_desc(STREAM, 0);
    ide_desc[2] = 1; /* reserved */
    expect(connect_ide_at(-1, NULL), SBI_ERR_INVALID_PARAM, 0);
    make_desc(STREAM, RP_MAX_ADDR_ASSOC + 1);
    ide_desc_len = TSM_STREAM_DESC_MIN;
    expect(connect_ide_at(-1, NULL), SBI_ERR_INVALID_PARAM, 0);
    make_desc(STREAM, 0);
    expect(
        relay_in(TSM_COVH_CONNECT_DEVICE, DEV_A, DESC_A, ide_desc, 5, -1, NULL),
        SBI_ERR_INVALID_PARAM, 0);
    assert_null(tsm_dev_find(tsm, DEV_A));
    assert_true(all_zero(&tsm->rp, sizeof(tsm->rp)));
    /* an input without an IDE stream is an answer nobody asked for */
    expect(relay_in(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, ide_desc, ide_desc_len,
                    -1, NULL),
           SBI_ERR_INVALID_STATE, 0);
    connect_ide();
}

/* ---- COVT: every call in every key state ---- */

enum { K_UNKNOWN, K_CLEARED, K_PROGRAMMED, K_ENABLED, K_N };

static const char *const key_state_names[K_N] = {"unknown", "cleared",
                                                 "programmed", "enabled"};

static struct rp_model rpm;

static struct sbiret covt_call(uint32_t fid, uint64_t rp, uint64_t a1,
                               uint64_t a2, const uint8_t *in, size_t in_len)
{
    uint64_t a[6] = {rp, a1, a2, 0, 0, 0};

    return rp_covt(&rpm, fid, a, in, in_len);
}

/* key set 1, Rx, NPR of stream 5 on root port 1, with its key data */
static uint8_t kd[TSM_KEY_DESC_SIZE + TSM_KEY_DATA_SIZE] = {5, 1, 1, 1};
static uint8_t sd[TSM_STREAM_DESC_MIN] = {5, 0, 0, 0};

static void key_enter(int st)
{
    rp_init(&rpm);
    memset(kd + TSM_KEY_DESC_SIZE, 0xa5, TSM_KEY_DATA_SIZE);
    if (st >= K_CLEARED) {
        expect(covt_call(TSM_COVT_PROGRAM_STREAM, 1, 1, 0, sd, sizeof(sd)),
               SBI_SUCCESS, 0);
    }
    if (st >= K_PROGRAMMED) {
        expect(covt_call(TSM_COVT_PROGRAM_KEY, 1, 1, 1, kd, sizeof(kd)),
               SBI_SUCCESS, 0);
    }
    if (st >= K_ENABLED) {
        expect(covt_call(TSM_COVT_SET_GO, 1, 1, 0, kd, TSM_KEY_DESC_SIZE),
               SBI_SUCCESS, 0);
    }
}

/* the key's state afterwards, K_UNKNOWN when the stream is unknown */
static int key_now(void)
{
    struct sbiret r =
        covt_call(TSM_COVT_KEY_STATUS, 1, 1, 0, kd, TSM_KEY_DESC_SIZE);

    if (r.error == SBI_ERR_INVALID_PARAM) {
        return K_UNKNOWN;
    }
    assert_int_equal(r.error, SBI_SUCCESS);
    return (int)r.value + K_CLEARED;
}

struct key_cell {
    long error, value;
    int after;
};

static const struct {
    uint32_t fid;
    struct key_cell want[K_N];
} key_matrix[] = {
    {TSM_COVT_PROGRAM_KEY,
     {{SBI_ERR_INVALID_PARAM, 0, K_UNKNOWN},
      {SBI_SUCCESS, 0, K_PROGRAMMED},
      {SBI_SUCCESS, 0, K_PROGRAMMED},
      {SBI_ERR_INVALID_STATE, 0, K_ENABLED}}},
    {TSM_COVT_CLEAR_KEY,
     {{SBI_ERR_INVALID_PARAM, 0, K_UNKNOWN},
      {SBI_SUCCESS, 0, K_UNKNOWN},
      {SBI_SUCCESS, 0, K_UNKNOWN},
      {SBI_ERR_INVALID_STATE, 0, K_ENABLED}}},
    {TSM_COVT_SET_GO,
     {{SBI_ERR_INVALID_PARAM, 0, K_UNKNOWN},
      {SBI_ERR_INVALID_STATE, 0, K_CLEARED},
      {SBI_SUCCESS, 0, K_ENABLED},
      {SBI_ERR_INVALID_STATE, 0, K_ENABLED}}},
    {TSM_COVT_SET_STOP,
     {{SBI_ERR_INVALID_PARAM, 0, K_UNKNOWN},
      {SBI_ERR_INVALID_STATE, 0, K_CLEARED},
      {SBI_ERR_INVALID_STATE, 0, K_PROGRAMMED},
      {SBI_SUCCESS, 0, K_PROGRAMMED}}},
    {TSM_COVT_KEY_STATUS,
     {{SBI_ERR_INVALID_PARAM, 0, K_UNKNOWN},
      {SBI_SUCCESS, TSM_RP_KEY_CLEARED, K_CLEARED},
      {SBI_SUCCESS, TSM_RP_KEY_PROGRAMMED, K_PROGRAMMED},
      {SBI_SUCCESS, TSM_RP_KEY_ENABLED, K_ENABLED}}},
    {TSM_COVT_PROGRAM_STREAM,
     {{SBI_SUCCESS, 0, K_CLEARED},
      {SBI_SUCCESS, 0, K_CLEARED},
      {SBI_ERR_INVALID_STATE, 0, K_PROGRAMMED},
      {SBI_ERR_INVALID_STATE, 0, K_ENABLED}}},
};

static void covt_every_call_every_key_state(void **state)
{
    size_t i;
    int st;

    (void)state;
    for (i = 0; i < sizeof(key_matrix) / sizeof(key_matrix[0]); i++) {
        for (st = 0; st < K_N; st++) {
            const struct key_cell *w = &key_matrix[i].want[st];
            uint32_t fid = key_matrix[i].fid;
            struct sbiret r;

            key_enter(st);
            memset(kd + TSM_KEY_DESC_SIZE, 0x3c, TSM_KEY_DATA_SIZE);
            switch (fid) {
            case TSM_COVT_PROGRAM_KEY:
                r = covt_call(fid, 1, 1, 1, kd, sizeof(kd));
                break;
            case TSM_COVT_CLEAR_KEY:
                r = covt_call(fid, 1, kd[0], 0, NULL, 0);
                break;
            case TSM_COVT_PROGRAM_STREAM:
                r = covt_call(fid, 1, 1, 0, sd, sizeof(sd));
                break;
            default:
                r = covt_call(fid, 1, 1, 0, kd, TSM_KEY_DESC_SIZE);
                break;
            }
            if (r.error != w->error || r.value != w->value ||
                key_now() != w->after) {
                fail_msg("COVT FID %u in key state %s: {%ld, %ld} then %s, "
                         "want {%ld, %ld} then %s",
                         fid, key_state_names[st], r.error, r.value,
                         key_state_names[key_now()], w->error, w->value,
                         key_state_names[w->after]);
            }
            /* a program on Programmed replaces the key */
            if (fid == TSM_COVT_PROGRAM_KEY && w->error == SBI_SUCCESS) {
                assert_int_equal(rp_key_peek(&rpm, 1, 5, 1, 1, 1)->key[0],
                                 0x3c);
            }
            /* a stream cleared leaves nothing behind */
            if (fid == TSM_COVT_CLEAR_KEY && w->error == SBI_SUCCESS) {
                assert_true(all_zero(&rpm, sizeof(rpm)));
            }
        }
    }
    /* an Insecure stream: every key back to Cleared, wiped */
    for (st = K_CLEARED; st < K_N; st++) {
        key_enter(st);
        assert_true(rp_stream_insecure(&rpm, 1, 5));
        assert_int_equal(key_now(), K_CLEARED);
        assert_true(
            all_zero(rp_key_peek(&rpm, 1, 5, 1, 1, 1), sizeof(struct rp_key)));
    }
    key_enter(K_UNKNOWN);
    assert_false(rp_stream_insecure(&rpm, 1, 5));
    assert_false(rp_stream_insecure(&rpm, RP_MAX_PORTS, 5));
}

static void covt_arguments(void **state)
{
    uint8_t bad[TSM_KEY_DESC_SIZE + TSM_KEY_DATA_SIZE];
    uint8_t big[RP_STREAM_DESC_MAX + TSM_STREAM_ADDR_BLOCK];
    unsigned i;

    (void)state;
    key_enter(K_PROGRAMMED);
    /* root port, descriptor fields, buffers */
    expect(covt_call(TSM_COVT_KEY_STATUS, RP_MAX_PORTS, 1, 0, kd, 4),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covt_call(TSM_COVT_KEY_STATUS, 1, 0, 0, kd, 4),
           SBI_ERR_INVALID_PARAM, 0); /* no descriptor address */
    expect(covt_call(TSM_COVT_KEY_STATUS, 1, 1, 0, kd, 3),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covt_call(TSM_COVT_KEY_STATUS, 1, 1, 0, kd, 5),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covt_call(TSM_COVT_KEY_STATUS, 0, 1, 0, kd, 4),
           SBI_ERR_INVALID_PARAM, 0); /* the stream is root port 1's */
    for (i = 1; i < TSM_KEY_DESC_SIZE; i++) {
        memcpy(bad, kd, sizeof(bad));
        bad[i] = i == 1 ? 3 : 2; /* sub-stream 3, key set 2, Tx_Rx 2 */
        expect(covt_call(TSM_COVT_SET_GO, 1, 1, 0, bad, 4),
               SBI_ERR_INVALID_PARAM, 0);
        expect(covt_call(TSM_COVT_PROGRAM_KEY, 1, 1, 1, bad, sizeof(bad)),
               SBI_ERR_INVALID_PARAM, 0);
    }
    expect(covt_call(TSM_COVT_PROGRAM_KEY, 1, 1, 0, kd, sizeof(kd)),
           SBI_ERR_INVALID_ADDRESS, 0); /* no key data address */
    expect(covt_call(TSM_COVT_PROGRAM_KEY, 1, 1, 1, kd, 4),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect(covt_call(TSM_COVT_PROGRAM_KEY, 1, 1, 1, kd, sizeof(kd) - 1),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect(covt_call(TSM_COVT_CLEAR_KEY, 1, 0x105, 0, NULL, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covt_call(TSM_COVT_CLEAR_KEY, RP_MAX_PORTS, 5, 0, NULL, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covt_call(1030, 1, 1, 0, kd, 4), SBI_ERR_NOT_SUPPORTED, 0);
    expect(covt_call(1023, 1, 1, 0, kd, 4), SBI_ERR_NOT_SUPPORTED, 0);
    assert_int_equal(key_now(), K_PROGRAMMED);
    /* the two key sets are independent: both may be Enabled */
    expect(covt_call(TSM_COVT_SET_GO, 1, 1, 0, kd, 4), SBI_SUCCESS, 0);
    memcpy(bad, kd, sizeof(bad));
    bad[2] = 0;
    expect(covt_call(TSM_COVT_PROGRAM_KEY, 1, 1, 1, bad, sizeof(bad)),
           SBI_SUCCESS, 0);
    expect(covt_call(TSM_COVT_SET_GO, 1, 1, 0, bad, 4), SBI_SUCCESS, 0);
    assert_int_equal(key_now(), K_ENABLED);
    assert_false(rp_stream_secure(&rpm, 1, 5, 0)); /* 1 of 6 keys */
    /* stream descriptors */
    memset(big, 0, sizeof(big));
    big[0] = 9;
    expect(covt_call(TSM_COVT_PROGRAM_STREAM, 0, 0, 0, big, 12),
           SBI_ERR_INVALID_PARAM, 0); /* no address */
    expect(covt_call(TSM_COVT_PROGRAM_STREAM, 0, 1, 0, big, 11),
           SBI_ERR_INVALID_PARAM, 0);
    expect(covt_call(TSM_COVT_PROGRAM_STREAM, 0, 1, 0, big, 13),
           SBI_ERR_INVALID_PARAM, 0);
    big[3] = 1;
    expect(covt_call(TSM_COVT_PROGRAM_STREAM, 0, 1, 0, big, 12),
           SBI_ERR_INVALID_PARAM, 0);
    big[3] = 0;
    big[1] = RP_MAX_ADDR_ASSOC + 1;
    expect(covt_call(TSM_COVT_PROGRAM_STREAM, 0, 1, 0, big, sizeof(big)),
           SBI_ERR_INVALID_PARAM, 0);
    big[1] = RP_MAX_ADDR_ASSOC;
    store_le32(big + 12 + 12, 0xabcd0001u);
    expect(covt_call(TSM_COVT_PROGRAM_STREAM, 0, 1, 0, big, RP_STREAM_DESC_MAX),
           SBI_SUCCESS, 0);
    assert_int_equal(rpm.ports[0].streams[0].n_addr, RP_MAX_ADDR_ASSOC);
    assert_int_equal(rpm.ports[0].streams[0].addr_assoc[1][0], 0xabcd0001u);
    expect(covt_call(TSM_COVT_PROGRAM_STREAM, 0, 1, 0, big, 12),
           SBI_ERR_INVALID_PARAM, 0); /* length disagrees with the count */
    /* every stream register block taken */
    big[1] = 0;
    for (i = 1; i < RP_MAX_STREAMS; i++) {
        big[0] = (uint8_t)(20 + i);
        expect(covt_call(TSM_COVT_PROGRAM_STREAM, 0, 1, 0, big, 12),
               SBI_SUCCESS, 0);
    }
    big[0] = 40;
    expect(covt_call(TSM_COVT_PROGRAM_STREAM, 0, 1, 0, big, 12), SBI_ERR_FAILED,
           0);
    expect(covt_call(TSM_COVT_CLEAR_KEY, 0, 21, 0, NULL, 0), SBI_SUCCESS, 0);
    expect(covt_call(TSM_COVT_PROGRAM_STREAM, 0, 1, 0, big, 12), SBI_SUCCESS,
           0);
    rp_wipe(&rpm);
    assert_true(all_zero(&rpm, sizeof(rpm)));
}

/* ---- every call in every state ---- */

enum {
    S_NONE,
    S_CONNECTING,
    S_CONNECTED,
    S_LOCKED,
    S_RUNNING,
    S_ERROR,
    S_IDE, /* connected with an IDE stream, locked */
    S_N
};

static const char *const state_names[S_N] = {
    "none", "connecting", "connected", "locked", "running", "error", "ide"};

#define ANY  (-99)
#define P    SBI_SUCCESS, TSM_SPDM_PENDING_REQUEST
#define OK   SBI_SUCCESS, ANY
#define E(x) SBI_ERR_##x, ANY

struct cell {
    long error, value;
};

/* One row per call; columns S_NONE .. S_ERROR. */
struct row {
    bool host;
    uint32_t fid;
    uint64_t a[4];
    struct cell want[S_N];
};

#define IP E(INVALID_PARAM)
#define IS E(INVALID_STATE)
#define AS E(ALREADY_STARTED)
#define AA E(ALREADY_AVAILABLE)

static const struct row matrix[] = {
    {true,
     TSM_COVH_CONNECT_DEVICE,
     {DEV_A},
     {{P}, {P}, {AA}, {AA}, {AA}, {IS}, {AA}}},
    {true,
     TSM_COVH_DISCONNECT_DEVICE,
     {DEV_A},
     {{IP}, {AS}, {P}, {IS}, {IS}, {SBI_SUCCESS, 0}, {IS}}},
    {true,
     TSM_COVH_ADD_INTERFACE_REGION,
     {TVM_A, IF_A, BAR0 + 0x4000, 0x1000},
     {{IP}, {AS}, {IP}, {SBI_SUCCESS, 0}, {IS}, {IS}, {SBI_SUCCESS, 0}}},
    {true,
     TSM_COVH_RECLAIM_INTERFACE_REG,
     {TVM_A, IF_A, BAR0},
     {{IP}, {AS}, {IP}, {SBI_SUCCESS, 0}, {IS}, {IS}, {SBI_SUCCESS, 0}}},
    {true,
     TSM_COVH_BIND_INTERFACE,
     {TVM_A, IF_A},
     {{IP}, {AS}, {P}, {AA}, {AA}, {IS}, {AA}}},
    /* running: the TVM's state reads queued a refresh */
    {true,
     TSM_COVH_TEE_IO_ACTION,
     {DEV_A},
     {{IP},
      {AS},
      {SBI_SUCCESS, 0},
      {SBI_SUCCESS, 0},
      {P},
      {IS},
      {SBI_SUCCESS, 0}}},
    {true,
     TSM_COVH_UNBIND_INTERFACE,
     {TVM_A, IF_A},
     {{IP}, {AS}, {IP}, {P}, {P}, {IS}, {P}}},
    {true,
     TSM_COVH_SPDM_KEY_UPDATE,
     {DEV_A},
     {{IP}, {AS}, {P}, {P}, {P}, {IS}, {P}}},
    {true,
     TSM_COVH_IDE_KEY_REFRESH,
     {DEV_A, STREAM},
     {{IP}, {AS}, {IP}, {IP}, {IP}, {IS}, {P}}},
    {true,
     TSM_COVH_SPDM_HEARTBEAT,
     {DEV_A},
     {{IP}, {AS}, {P}, {P}, {P}, {IS}, {P}}},
    {true,
     TSM_COVH_GET_CONN_TRANSCRIPT,
     {DEV_A, TSM_ELEM_VCA},
     {{IP}, {AS}, {OK}, {OK}, {OK}, {IS}, {OK}}},
    {false,
     TSM_COVG_GET_DEVICE_LINK,
     {IF_A},
     {{IP},
      {IP},
      {IP},
      {SBI_SUCCESS, 1},
      {SBI_SUCCESS, 1},
      {SBI_SUCCESS, 0},
      {SBI_SUCCESS, 3}}},
    {false,
     TSM_COVG_GET_CONN_TRANSCRIPT,
     {IF_A, TSM_ELEM_VCA},
     {{IP}, {IP}, {IP}, {OK}, {OK}, {IS}, {OK}}},
    {false,
     TSM_COVG_GET_DEVICE_MEASUREMENTS,
     {IF_A},
     {{IP}, {IP}, {IP}, {OK}, {OK}, {IS}, {OK}}},
    {false,
     TSM_COVG_GET_INTERFACE_REPORT,
     {IF_A, 0, 4096},
     {{IP}, {IP}, {IP}, {OK}, {OK}, {IS}, {OK}}},
    {false,
     TSM_COVG_GET_INTERFACE_STATE,
     {IF_A},
     {{IP},
      {IP},
      {IP},
      {SBI_SUCCESS, TSM_IF_LOCKED},
      {SBI_SUCCESS, TSM_IF_RUNNING},
      {SBI_SUCCESS, TSM_IF_ERROR},
      {SBI_SUCCESS, TSM_IF_LOCKED}}},
    {false,
     TSM_COVG_MAP_INTERFACE_MMIO,
     {IF_A, 0x80000000, BAR0, 0x4000},
     {{IP}, {IP}, {IP}, {SBI_SUCCESS, 0}, {AA}, {IS}, {SBI_SUCCESS, 0}}},
    {false,
     TSM_COVG_START_INTERFACE,
     {IF_A},
     {{IP}, {IP}, {IP}, {SBI_SUCCESS, 0}, {AS}, {IS}, {SBI_SUCCESS, 0}}},
    {false,
     TSM_COVG_STOP_INTERFACE,
     {IF_A},
     {{IP},
      {IP},
      {IP},
      {SBI_SUCCESS, 0},
      {SBI_SUCCESS, 0},
      {IS},
      {SBI_SUCCESS, 0}}},
};

static void enter_state(int st)
{
    switch (st) {
    case S_NONE:
        break;
    case S_CONNECTING:
        expect(covh(TSM_COVH_CONNECT_DEVICE, DEV_A, 0, 0, 0), P);
        break;
    case S_CONNECTED:
        connect_a();
        break;
    case S_LOCKED:
        connect_a();
        bind_a(TVM_A);
        expect(covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0, 0x4000),
               SBI_SUCCESS, 0);
        break;
    case S_RUNNING:
        run_a();
        break;
    case S_ERROR:
        connect_a();
        bind_a(TVM_A);
        expect(relay_tamper(TSM_COVH_SPDM_HEARTBEAT, DEV_A, 0, 0),
               SBI_ERR_FAILED, 0);
        break;
    default:
        connect_ide();
        bind_a(TVM_A);
        expect(covh(TSM_COVH_ADD_INTERFACE_REGION, TVM_A, IF_A, BAR0, 0x4000),
               SBI_SUCCESS, 0);
        break;
    }
}

static void every_call_every_state(void **state)
{
    static uint8_t nonce[32];
    struct tsm *snap_tsm = malloc(sizeof(*snap_tsm));
    struct dev *snap_dev = malloc(sizeof(*snap_dev));
    size_t i;
    int st;

    (void)state;
    assert_non_null(snap_tsm);
    assert_non_null(snap_dev);
    for (st = 0; st < S_N; st++) {
        setup(NULL);
        enter_state(st);
        memcpy(snap_tsm, tsm, sizeof(*tsm));
        memcpy(snap_dev, devs[0], sizeof(*snap_dev));
        for (i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
            const struct row *w = &matrix[i];
            struct sbiret r;

            memcpy(tsm, snap_tsm, sizeof(*tsm));
            memcpy(devs[0], snap_dev, sizeof(*snap_dev));
            if (w->host) {
                r = covh(w->fid, w->a[0], w->a[1], w->a[2], w->a[3]);
            } else if (w->fid == TSM_COVG_GET_DEVICE_MEASUREMENTS) {
                r = covg_in(TVM_A, w->fid, w->a[0], 0, 0, 0, sizeof(out), nonce,
                            sizeof(nonce));
            } else {
                r = covg(TVM_A, w->fid, w->a[0], w->a[1], w->a[2], w->a[3]);
            }
            if (r.error != w->want[st].error ||
                (w->want[st].value != ANY && r.value != w->want[st].value)) {
                fail_msg("%s FID %u in state %s: {%ld, %ld}, want {%ld, %ld}",
                         w->host ? "COVH" : "COVG", w->fid, state_names[st],
                         r.error, r.value, w->want[st].error,
                         w->want[st].value);
            }
            if (r.error != SBI_SUCCESS) {
                assert_int_equal(out_len, 0);
            }
        }
        /* COVT is the TSM's own in every state, from the host and a TVM */
        for (i = TSM_COVT_PROGRAM_KEY; i <= TSM_COVT_PROGRAM_STREAM; i++) {
            struct tsm_call c = {(uint32_t)i, {0, 1, 1}, NULL, 0};

            expect(
                tsm_call(tsm, TSM_EID_COVT, 0, &c, out, sizeof(out), &out_len),
                SBI_ERR_DENIED, 0);
            expect(tsm_call(tsm, TSM_EID_COVT, TVM_A, &c, out, sizeof(out),
                            &out_len),
                   SBI_ERR_DENIED, 0);
        }
    }
    free(snap_tsm);
    free(snap_dev);
}

/* ---- framed calls ---- */

static void frame_codec(void **state)
{
    static uint8_t buf[TSM_FRAME_RSP_MAX];
    const uint8_t in[5] = {1, 2, 3, 4, 5};
    struct tsm_frame_req q = {
        TSM_EID_COVH,
        {TSM_COVH_BIND_INTERFACE, {1, 2, 3, 4, 5, UINT64_MAX}, in, sizeof(in)},
        4096};
    struct tsm_frame_req d;
    struct sbiret r;
    const uint8_t *o;
    size_t len, ol;

    (void)state;
    assert_int_equal(tsm_frame_req_encode(&q, buf, sizeof(buf), &len),
                     TSM_FRAME_OK);
    assert_int_equal(len, TSM_FRAME_REQ_HDR_SIZE + sizeof(in));
    assert_int_equal(tsm_frame_req_len(buf), len);
    assert_int_equal(tsm_frame_req_decode(buf, len, &d), TSM_FRAME_OK);
    assert_int_equal(d.eid, TSM_EID_COVH);
    assert_int_equal(d.call.fid, TSM_COVH_BIND_INTERFACE);
    assert_memory_equal(d.call.a, q.call.a, sizeof(q.call.a));
    assert_int_equal(d.out_cap, 4096);
    assert_int_equal(d.call.in_len, sizeof(in));
    assert_memory_equal(d.call.in, in, sizeof(in));
    /* each rule */
    assert_int_equal(tsm_frame_req_decode(buf, len - 1, &d), TSM_FRAME_SHORT);
    assert_int_equal(tsm_frame_req_decode(buf, 10, &d), TSM_FRAME_SHORT);
    buf[len] = 0;
    assert_int_equal(tsm_frame_req_decode(buf, len + 1, &d),
                     TSM_FRAME_TRAILING);
    buf[0] ^= 1;
    assert_int_equal(tsm_frame_req_decode(buf, len, &d), TSM_FRAME_MAGIC);
    assert_int_equal(tsm_frame_req_len(buf), 0);
    buf[0] ^= 1;
    buf[6] = 1;
    assert_int_equal(tsm_frame_req_decode(buf, len, &d), TSM_FRAME_BAD_VERSION);
    buf[6] = 0;
    buf[4] = 2;
    assert_int_equal(tsm_frame_req_decode(buf, len, &d), TSM_FRAME_BAD_VERSION);
    buf[4] = 1;
    store_le32(buf + 68, TSM_FRAME_IN_MAX + 1);
    assert_int_equal(tsm_frame_req_decode(buf, len, &d), TSM_FRAME_TOO_LARGE);
    assert_int_equal(tsm_frame_req_len(buf), 0);
    store_le32(buf + 68, sizeof(in));
    store_le32(buf + 64, TSM_FRAME_OUT_MAX + 1);
    assert_int_equal(tsm_frame_req_decode(buf, len, &d), TSM_FRAME_TOO_LARGE);
    assert_int_equal(tsm_frame_req_encode(&q, buf, len - 1, &len),
                     TSM_FRAME_CAP);
    q.out_cap = TSM_FRAME_OUT_MAX + 1;
    assert_int_equal(tsm_frame_req_encode(&q, buf, sizeof(buf), &len),
                     TSM_FRAME_TOO_LARGE);
    /* responses, negative values included */
    assert_int_equal(
        tsm_frame_rsp_encode((struct sbiret){SBI_ERR_BAD_RANGE, -5}, in,
                             sizeof(in), buf, sizeof(buf), &len),
        TSM_FRAME_OK);
    assert_int_equal(tsm_frame_rsp_decode(buf, len, &r, &o, &ol), TSM_FRAME_OK);
    assert_int_equal(r.error, SBI_ERR_BAD_RANGE);
    assert_int_equal(r.value, -5);
    assert_int_equal(ol, sizeof(in));
    assert_memory_equal(o, in, sizeof(in));
    assert_int_equal(tsm_frame_rsp_decode(buf, len - 1, &r, &o, &ol),
                     TSM_FRAME_SHORT);
    store_le32(buf + 24, TSM_FRAME_OUT_MAX + 1);
    assert_int_equal(tsm_frame_rsp_decode(buf, len, &r, &o, &ol),
                     TSM_FRAME_TOO_LARGE);
    assert_string_equal(tsm_frame_strerror(TSM_FRAME_MAGIC),
                        "not a TSM frame (bad magic)");
}

/* One call through the endpoint of @tvm (0: the host's). */
static struct sbiret framed(uint64_t tvm, uint32_t eid, uint32_t fid,
                            uint64_t a0, uint64_t a1, const uint8_t *in,
                            size_t in_len)
{
    static uint8_t req[TSM_FRAME_REQ_MAX], rsp[TSM_FRAME_RSP_MAX],
        scratch[TSM_FRAME_OUT_MAX];
    struct tsm_frame_req q = {
        eid, {fid, {a0, a1, 0, 0, 0, 0}, in, in_len}, TSM_FRAME_OUT_MAX};
    struct sbiret r;
    const uint8_t *o;
    size_t len, rl, ol;

    assert_int_equal(tsm_frame_req_encode(&q, req, sizeof(req), &len),
                     TSM_FRAME_OK);
    assert_int_equal(
        tsm_frame_serve(tsm, tvm, req, len, scratch, rsp, sizeof(rsp), &rl),
        TSM_FRAME_OK);
    assert_int_equal(tsm_frame_rsp_decode(rsp, rl, &r, &o, &ol), TSM_FRAME_OK);
    memcpy(out, o, ol);
    out_len = ol;
    return r;
}

static void frame_endpoints(void **state)
{
    static uint8_t ans[TSM_RELAY_MAX], req[TSM_FRAME_REQ_MAX],
        rsp[TSM_FRAME_RSP_MAX], scratch[TSM_FRAME_OUT_MAX];
    struct sbiret r;
    size_t al, rl;
    int rounds = 0;

    (void)state;
    /* a whole connect through the host endpoint */
    r = framed(0, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, DEV_A, 0, NULL, 0);
    while (r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST) {
        carry(devs[0], false, ans, &al);
        r = framed(0, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, DEV_A, 0, ans, al);
        assert_true(++rounds < 64);
    }
    expect(r, SBI_SUCCESS, 0);
    bind_a(TVM_A);
    /* the TVM endpoint serves COVG for its own TVM only */
    r = framed(TVM_A, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_A, 0, NULL,
               0);
    expect(r, SBI_SUCCESS, TSM_IF_LOCKED);
    r = framed(TVM_B, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_A, 0, NULL,
               0);
    expect(r, SBI_ERR_INVALID_PARAM, 0);
    /* neither side speaks the other's extension */
    r = framed(TVM_A, TSM_EID_COVH, TSM_COVH_UNBIND_INTERFACE, TVM_A, IF_A,
               NULL, 0);
    expect(r, SBI_ERR_DENIED, 0);
    r = framed(0, TSM_EID_COVG, TSM_COVG_START_INTERFACE, IF_A, 0, NULL, 0);
    expect(r, SBI_ERR_DENIED, 0);
    r = framed(0, TSM_EID_COVT, 1024, 0, 0, NULL, 0);
    expect(r, SBI_ERR_DENIED, 0);
    r = framed(TVM_A, TSM_EID_COVT, 1028, 0, 0, NULL, 0);
    expect(r, SBI_ERR_DENIED, 0);
    /* a malformed frame gets no answer */
    memset(req, 0, sizeof(req));
    assert_int_equal(tsm_frame_serve(tsm, 0, req, TSM_FRAME_REQ_HDR_SIZE,
                                     scratch, rsp, sizeof(rsp), &rl),
                     TSM_FRAME_MAGIC);
    /* the caller's out_cap bounds the output as the shared buffer would */
    {
        struct tsm_frame_req q = {
            TSM_EID_COVH, {TSM_COVH_SPDM_HEARTBEAT, {DEV_A}, NULL, 0}, 8};
        const uint8_t *o;
        size_t len, ol;

        assert_int_equal(tsm_frame_req_encode(&q, req, sizeof(req), &len),
                         TSM_FRAME_OK);
        assert_int_equal(
            tsm_frame_serve(tsm, 0, req, len, scratch, rsp, sizeof(rsp), &rl),
            TSM_FRAME_OK);
        assert_int_equal(tsm_frame_rsp_decode(rsp, rl, &r, &o, &ol),
                         TSM_FRAME_OK);
        assert_int_equal(r.error, SBI_ERR_NO_SHMEM);
        assert_int_equal(ol, 0);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(connect_and_transcript, setup),
    cmocka_unit_test_setup(full_flow, setup),
    cmocka_unit_test_setup(sbiret_codes, setup),
    cmocka_unit_test(every_call_every_state),
    cmocka_unit_test(frame_codec),
    cmocka_unit_test_setup(frame_endpoints, setup),
    cmocka_unit_test_setup(states, setup),
    cmocka_unit_test_setup(ownership, setup),
    cmocka_unit_test_setup(regions, setup),
    cmocka_unit_test_setup(attack_tampered_record, setup),
    cmocka_unit_test_setup(attack_replayed_report, setup),
    cmocka_unit_test_setup(attack_other_device, setup),
    cmocka_unit_test_setup(attack_measurements_changed, setup),
    cmocka_unit_test_setup(attack_config_change_after_lock, setup),
    cmocka_unit_test_setup(attack_unbind_while_running, setup),
    cmocka_unit_test_setup(attack_replayed_connect_answer, setup),
    cmocka_unit_test(covt_every_call_every_key_state),
    cmocka_unit_test(covt_arguments),
    cmocka_unit_test_setup(ide_connect_end_to_end, setup),
    cmocka_unit_test_setup(ide_refresh, setup),
    cmocka_unit_test_setup(ide_two_devices, setup),
    cmocka_unit_test_setup(ide_tampered_ack, setup),
    cmocka_unit_test_setup(ide_device_refuses, setup),
};

HARNESS_MAIN("tsm", tests)
