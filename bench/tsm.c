/* SPDX-License-Identifier: MIT */
/*
 * bench_tsm: wall-clock time of one full connect + bind + accept, with the
 * TSM model and the real SPDM, TDISP and IDE_KM responders in one process
 * and the relay a memcpy. "Accept" is what a TVM does before it uses the
 * interface: device link, certificate, measurements with a nonce, report,
 * state, map, start (relayed by the host's tee_io_action) and RUNNING.
 * This is the cost of the protocol work (ECDSA P-384 signatures, ECDH, the
 * AEAD records) with no transport, the floor under any socket or DOE
 * figure. A second figure runs the same flow with an IDE stream: the
 * connect programs the device's and the root port's keys (IDE_KM QUERY,
 * six KEY_PROG, six K_SET_GO, COVT), the TVM sees PCIE_IDE, and one
 * ide_key_refresh switches key sets before the teardown. A third figure
 * times ide_key_refresh alone on a connected device (18 round trips of
 * small AEAD records and the root port's COVT calls).
 *
 *     limit: one flow <= 100 ms, either kind; one refresh <= 1 ms
 *     ratio = limit / figure (100 ms / ms per flow, 1 ms / ms per
 *     refresh): 1.00 or more meets the limit
 *
 * Usage: bench_tsm [FLOWS] (default 20).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "pki/devid.h"
#include "spdm/spdm.h"
#include "tdisp/pcisig.h"
#include "tsm/tsm.h"

#define LIMIT_MS         100.0
#define REFRESH_LIMIT_MS 1.0
#define DEV              7u
#define FID              0x100u
#define IF               TSM_IF_ID(DEV, FID)
#define TVM              1u
#define BAR0             0xfe000000ull

static struct {
    struct devid id;
    struct spdm_responder rsp;
    struct tdisp tdisp;
    struct idekm km;
    struct tsm tsm;
    uint8_t out[TSM_RELAY_MAX + 16384];
    size_t out_len;
    uint8_t ans[TSM_RELAY_MAX];
    long rounds; /* relay round trips of the last flow */
} b;

static int dev_sign(void *ctx, uint32_t hash_alg, const uint8_t *msg,
                    size_t len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    (void)ctx;
    if (hash_alg != SPDM_HASH_SHA384 || cap < 96 ||
        crypto_ecdsa_p384_sign(b.id.key, msg, len, sig) != 0) {
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
    (void)ctx;
    return pcisig_handle(&b.tdisp, &b.km, session_id, in_session, standard_id,
                         vendor_id, vendor_id_len, req, req_len, rsp, rsp_cap,
                         rsp_len) == PCISIG_OK
               ? 0
               : 1;
}

static void dev_ended(void *ctx, uint32_t session_id)
{
    (void)ctx;
    tdisp_session_ended(&b.tdisp, session_id);
}

static const struct spdm_responder_ops dev_ops = {dev_sign, rnd, dev_vendor,
                                                  dev_ended};
static const struct tdisp_ops tdisp_ops = {rnd};
static const struct tsm_ops tsm_ops = {rnd};

static int dev_init(void)
{
    static const uint8_t fw[8] = "fw-1.0.0";
    struct spdm_responder_config rc;
    struct spdm_meas_config m = {1, SPDM_MEAS_TYPE_FIRMWARE, false, fw, 8};
    struct tdisp_config tc;

    memset(&rc, 0, sizeof(rc));
    rc.cert_chain = b.id.chain;
    rc.cert_chain_len = b.id.chain_len;
    rc.meas = &m;
    rc.n_meas = 1;
    rc.ops = &dev_ops;
    if (spdm_responder_init(&b.rsp, &rc) != SPDM_OK) {
        return -1;
    }
    memset(&tc, 0, sizeof(tc));
    tc.n_tdis = 1;
    tc.tdis[0].function_id = FID;
    tc.tdis[0].ranges[0] = (struct tdisp_range){BAR0, 4, 0, 0};
    tc.tdis[0].n_ranges = 1;
    tc.tdis[0].valid = true;
    tc.dev_addr_width = 52;
    idekm_init(&b.km, 1, 0, 0);
    return tdisp_init(&b.tdisp, &tc, &tdisp_ops, NULL) == TDISP_OK ? 0 : -1;
}

static struct sbiret call(bool host, uint32_t fid, uint64_t a0, uint64_t a1,
                          uint64_t a2, uint64_t a3, const uint8_t *in,
                          size_t in_len)
{
    struct tsm_call c = {fid, {a0, a1, a2, a3, sizeof(b.out), 0}, in, in_len};

    if (host) {
        return tsm_covh(&b.tsm, &c, b.out, sizeof(b.out), &b.out_len);
    }
    return tsm_covg(&b.tsm, TVM, &c, b.out, sizeof(b.out), &b.out_len);
}

/* A host call (its first call reading @in) relayed to completion. */
static long relay_in(uint32_t fid, uint64_t a0, uint64_t a1, const uint8_t *in,
                     size_t in_len)
{
    struct sbiret r = call(true, fid, a0, a1, 0, 0, in, in_len);

    while (r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST) {
        size_t n = load_le32(b.out + 8), rl;

        if (spdm_responder_handle(
                &b.rsp, (load_le32(b.out) & TSM_RELAY_SECURED) != 0,
                b.out + TSM_RELAY_HDR_SIZE, n, b.ans + TSM_RELAY_HDR_SIZE,
                SPDM_RECORD_MAX, &rl) != SPDM_OK) {
            return SBI_ERR_FAILED;
        }
        memcpy(b.ans, b.out, 8);
        store_le32(b.ans + 8, (uint32_t)rl);
        b.rounds++;
        r = call(true, fid, a0, a1, 0, 0, b.ans, TSM_RELAY_HDR_SIZE + rl);
    }
    return r.error;
}

/* A host call relayed to completion; its final error. */
static long relay(uint32_t fid, uint64_t a0, uint64_t a1)
{
    return relay_in(fid, a0, a1, NULL, 0);
}

#define STREAM 1u

/* Stream_ID, no address association blocks, RID association 1 and 2 */
static const uint8_t desc[TSM_STREAM_DESC_MIN] = {STREAM, 0, 0, 0, 1, 0,
                                                  1,      0, 1, 1, 0, 0};

/* One flow; with @ide an IDE stream, PCIE_IDE checked and one refresh. */
static int flow(bool ide)
{
    uint8_t nonce[32];
    struct sbiret r;

    tsm_init(&b.tsm, &tsm_ops, NULL);
    spdm_responder_reset(&b.rsp);
    idekm_init(&b.km, 1, 0, 0);
    b.rounds = 0;
    if (relay_in(TSM_COVH_CONNECT_DEVICE, DEV, ide ? 0x1000 : 0,
                 ide ? desc : NULL, ide ? sizeof(desc) : 0) != 0 ||
        relay(TSM_COVH_BIND_INTERFACE, TVM, IF) != 0 ||
        call(true, TSM_COVH_ADD_INTERFACE_REGION, TVM, IF, BAR0, 0x4000, NULL,
             0)
                .error != 0) {
        return -1;
    }
    crypto_random(nonce, sizeof(nonce));
    if (call(false, TSM_COVG_GET_DEVICE_LINK, IF, 0, 0, 0, NULL, 0).value !=
            (long)(TSM_LINK_SECURED_SPDM | (ide ? TSM_LINK_PCIE_IDE : 0)) ||
        call(false, TSM_COVG_GET_CONN_TRANSCRIPT, IF,
             TSM_ELEM_DEVICE_CERTIFICATE, 0, 0, NULL, 0)
                .error != 0 ||
        call(false, TSM_COVG_GET_DEVICE_MEASUREMENTS, IF, 0, 0, 0, nonce,
             sizeof(nonce))
                .error != 0 ||
        call(false, TSM_COVG_GET_INTERFACE_REPORT, IF, 0, 4096, 0, NULL, 0)
                .error != 0 ||
        call(false, TSM_COVG_GET_INTERFACE_STATE, IF, 0, 0, 0, NULL, 0).value !=
            TSM_IF_LOCKED ||
        call(false, TSM_COVG_MAP_INTERFACE_MMIO, IF, 0x80000000, BAR0, 0x4000,
             NULL, 0)
                .error != 0 ||
        call(false, TSM_COVG_START_INTERFACE, IF, 0, 0, 0, NULL, 0).error !=
            0 ||
        relay(TSM_COVH_TEE_IO_ACTION, DEV, 0) != 0) {
        return -1;
    }
    r = call(false, TSM_COVG_GET_INTERFACE_STATE, IF, 0, 0, 0, NULL, 0);
    if (r.value != TSM_IF_RUNNING ||
        (ide && relay(TSM_COVH_IDE_KEY_REFRESH, DEV, STREAM) != 0)) {
        return -1;
    }
    /* tear down for the next flow: unbind (STOP) and disconnect */
    if (relay(TSM_COVH_UNBIND_INTERFACE, TVM, IF) != 0 ||
        relay(TSM_COVH_DISCONNECT_DEVICE, DEV, 0) != 0) {
        return -1;
    }
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/bench-tsm-XXXXXX", err[256], p[64];
    static const char *const files[] = {
        "ca.pem", "ca.der", "ca.key", "device.pem", "device.der", "device.key"};
    int flows = argc > 1 ? atoi(argv[1]) : 20, i, rc = 1;
    double t0, ms, ms_ide, ms_refresh;
    long rounds, rounds_ide;
    size_t k;

    if (flows <= 0 || crypto_init() != 0 || mkdtemp(dir) == NULL) {
        fprintf(stderr, "usage: bench_tsm [FLOWS]\n");
        return 2;
    }
    if (devid_init_dir(dir, "bench", err, sizeof(err)) != 0 ||
        devid_open(&b.id, dir, err, sizeof(err)) != 0 || dev_init() != 0) {
        fprintf(stderr, "bench_tsm: %s\n", err);
        goto out;
    }
    /* warm-up, and a check that both flows work */
    if (flow(false) != 0 || flow(true) != 0) {
        fprintf(stderr, "bench_tsm: the flow failed\n");
        goto out_key;
    }
    t0 = now_ms();
    for (i = 0; i < flows; i++) {
        if (flow(false) != 0) {
            fprintf(stderr, "bench_tsm: the flow failed\n");
            goto out_key;
        }
    }
    ms = (now_ms() - t0) / flows;
    rounds = b.rounds;
    t0 = now_ms();
    for (i = 0; i < flows; i++) {
        if (flow(true) != 0) {
            fprintf(stderr, "bench_tsm: the IDE flow failed\n");
            goto out_key;
        }
    }
    ms_ide = (now_ms() - t0) / flows;
    rounds_ide = b.rounds;
    /* refresh alone: connect once, refresh FLOWS times, disconnect */
    tsm_init(&b.tsm, &tsm_ops, NULL);
    spdm_responder_reset(&b.rsp);
    idekm_init(&b.km, 1, 0, 0);
    if (relay_in(TSM_COVH_CONNECT_DEVICE, DEV, 0x1000, desc, sizeof(desc)) !=
        0) {
        fprintf(stderr, "bench_tsm: the IDE connect failed\n");
        goto out_key;
    }
    t0 = now_ms();
    for (i = 0; i < flows; i++) {
        if (relay(TSM_COVH_IDE_KEY_REFRESH, DEV, STREAM) != 0) {
            fprintf(stderr, "bench_tsm: the refresh failed\n");
            goto out_key;
        }
    }
    ms_refresh = (now_ms() - t0) / flows;
    if (relay(TSM_COVH_DISCONNECT_DEVICE, DEV, 0) != 0) {
        fprintf(stderr, "bench_tsm: the IDE disconnect failed\n");
        goto out_key;
    }
    printf("connect + bind + accept + start (and unbind, disconnect), "
           "in-process: %.2f ms per flow over %d flows\n",
           ms, flows);
    printf("limit %.0f ms, ratio %.2f: %s\n", LIMIT_MS, LIMIT_MS / ms,
           ms <= LIMIT_MS ? "ok" : "OVER");
    printf("the same with an IDE stream (keys programmed at connect, one "
           "refresh): %.2f ms per flow, %+.2f ms for %ld more round trips "
           "(%ld against %ld)\n",
           ms_ide, ms_ide - ms, rounds_ide - rounds, rounds_ide, rounds);
    printf("limit %.0f ms, ratio %.2f: %s\n", LIMIT_MS, LIMIT_MS / ms_ide,
           ms_ide <= LIMIT_MS ? "ok" : "OVER");
    printf("ide_key_refresh alone (18 round trips, both sides re-keyed): "
           "%.3f ms per refresh over %d\n",
           ms_refresh, flows);
    printf("limit %.0f ms, ratio %.2f: %s\n", REFRESH_LIMIT_MS,
           REFRESH_LIMIT_MS / ms_refresh,
           ms_refresh <= REFRESH_LIMIT_MS ? "ok" : "OVER");
    rc = ms <= LIMIT_MS && ms_ide <= LIMIT_MS && ms_refresh <= REFRESH_LIMIT_MS
             ? 0
             : 1;
out_key:
    devid_close(&b.id);
out:
    for (k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[k]);
        unlink(p);
    }
    rmdir(dir);
    tsm_wipe(&b.tsm);
    return rc;
}
