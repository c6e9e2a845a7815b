/* SPDX-License-Identifier: MIT */
/*
 * The host relay (src/tsmhost) and the TVM's accept flow (src/tsmguest)
 * against the real frame server (tsm_frame_serve on a TSM model, in a
 * thread serving a host and two TVM endpoints over socketpairs) and the
 * real device (the trustvio-dsm glue, in process, behind a tdispc
 * transport): the whole flow until Running, each accept check refusing,
 * a hostile relay (tampered, replayed answers), a silent device, and the
 * policy and range parsers.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#include "common/bytes.h"
#include "common/fdio.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "dsm/dsm.h"
#include "pki/devid.h"
#include "tsm/tsm_frame.h"
#include "tsmguest/tsmguest.h"
#include "tsmhost/tsmhost.h"

#define DEV   1u
#define FUNC  0x100u
#define IF    TSM_IF_ID(DEV, FUNC)
#define N_EPS 3 /* host, TVM 1, TVM 2 */
#define DIGEST1                                                                \
    "111111111111111111111111111111111111111111111111"                         \
    "111111111111111111111111111111111111111111111111"

static struct dsm d;
static struct devid id, other;
static char dir[64], dir2[64];
static struct tsm tsm;
static uint8_t req[TSM_FRAME_REQ_MAX];
static uint8_t rsp[TSM_FRAME_RSP_MAX];
static uint8_t scratch[TSM_FRAME_OUT_MAX];
static struct tsmc hc, gc, gc2;
static struct tsmh h;
static struct tsmg g, g2;
static struct tsmg_policy policy;
static const struct tsmg_range mmio[2] = {{0xfe000000, 0x4000},
                                          {0xfe004000, 0x1000}};
static int srv_fd[N_EPS];
static pthread_t srv;
static bool device_silent;

static int rnd(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    return crypto_random(buf, len);
}

static const struct tsm_ops ops = {rnd};

/* ---- the device: the dsm glue in process ---- */

static int dev_xfer(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                    size_t cap, size_t *out_len, char *err, size_t err_len)
{
    long n;

    (void)ctx;
    if (device_silent) {
        snprintf(err, err_len, "the device is silent");
        return -1;
    }
    n = dsm_doe(&d, in, in_len, out, cap);
    if (n < 0) {
        snprintf(err, err_len, "device failure");
        return -1;
    }
    *out_len = (size_t)n;
    return 0;
}

static void dev_close(void *ctx)
{
    (void)ctx;
}

static const struct tdispc_transport dsm_link = {dev_xfer, dev_close, NULL};

/* ---- the TSM: one thread, three endpoints ---- */

static void *server_main(void *arg)
{
    struct pollfd pfd[N_EPS];
    int open_eps = N_EPS, i;

    (void)arg;
    while (open_eps > 0) {
        for (i = 0; i < N_EPS; i++) {
            pfd[i].fd = srv_fd[i];
            pfd[i].events = POLLIN;
        }
        if (poll(pfd, N_EPS, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (i = 0; i < N_EPS; i++) {
            size_t len, rl;

            if (srv_fd[i] < 0 || !(pfd[i].revents & (POLLIN | POLLHUP))) {
                continue;
            }
            if (fd_read_exact(srv_fd[i], req, TSM_FRAME_REQ_HDR_SIZE) != 0 ||
                (len = tsm_frame_req_len(req)) == 0 ||
                fd_read_exact(srv_fd[i], req + TSM_FRAME_REQ_HDR_SIZE,
                              len - TSM_FRAME_REQ_HDR_SIZE) != 0 ||
                tsm_frame_serve(&tsm, (uint64_t)i, req, len, scratch, rsp,
                                sizeof(rsp), &rl) != TSM_FRAME_OK ||
                write(srv_fd[i], rsp, rl) != (ssize_t)rl) {
                close(srv_fd[i]);
                srv_fd[i] = -1;
                open_eps--;
            }
        }
    }
    return NULL;
}

static void open_ep(int i, struct tsmc *c)
{
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv_fd[i] = sv[0];
    assert_int_equal(tsmc_open_fd(c, sv[1]), 0);
}

static void id_dir(char *p, size_t cap, struct devid *v, const char *name)
{
    char err[256];

    snprintf(p, cap, "/tmp/tv-tsmtools-XXXXXX");
    assert_non_null(mkdtemp(p));
    assert_int_equal(devid_init_dir(p, name, err, sizeof(err)), 0);
    assert_int_equal(devid_open(v, p, err, sizeof(err)), 0);
}

static void rm_dir(const char *p)
{
    static const char *const f[] = {"ca.pem",     "ca.der",     "ca.key",
                                    "device.pem", "device.der", "device.key"};
    char path[128];
    size_t i;

    for (i = 0; i < 6; i++) {
        snprintf(path, sizeof(path), "%s/%s", p, f[i]);
        unlink(path);
    }
    rmdir(p);
}

static int group_setup(void **state)
{
    (void)state;
    if (crypto_init() != 0) {
        return -1;
    }
    id_dir(dir, sizeof(dir), &id, "unit");
    id_dir(dir2, sizeof(dir2), &other, "other");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    devid_close(&id);
    devid_close(&other);
    rm_dir(dir);
    rm_dir(dir2);
    return 0;
}

static int setup(void **state)
{
    static uint8_t v[48];
    static struct spdm_meas_config m;
    static char pol[128];
    int pol_len;
    struct dsm_config cfg;
    struct tsmh_device hd = {&dsm_link, NULL, 0};
    char err[256];

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    /* block 1: a firmware digest, 48 bytes of 0x11 */
    memset(v, 0x11, sizeof(v));
    m = (struct spdm_meas_config){1, SPDM_MEAS_TYPE_FIRMWARE, true, v, 48};
    cfg.key = id.key;
    cfg.chain = id.chain;
    cfg.chain_len = id.chain_len;
    cfg.meas = &m;
    cfg.n_meas = 1;
    cfg.tdisp.tdis[0].valid = true;
    cfg.tdisp.tdis[0].function_id = FUNC;
    cfg.tdisp.tdis[0].ranges[0] = (struct tdisp_range){0xfe000000, 4, 0, 0};
    cfg.tdisp.tdis[0].ranges[1] = (struct tdisp_range){0xfe004000, 1, 0, 1};
    cfg.tdisp.tdis[0].n_ranges = 2;
    cfg.tdisp.n_tdis = 1;
    assert_int_equal(dsm_init(&d, &cfg, err, sizeof(err)), 0);
    tsm_init(&tsm, &ops, NULL);
    device_silent = false;
    open_ep(0, &hc);
    open_ep(1, &gc);
    open_ep(2, &gc2);
    assert_int_equal(pthread_create(&srv, NULL, server_main, NULL), 0);
    tsmh_init(&h, &hc, &hd);
    tsmg_init(&g, &gc);
    tsmg_init(&g2, &gc2);
    pol_len = snprintf(pol, sizeof(pol), "# the unit device\n1=%s\n", DIGEST1);
    assert_int_equal(
        tsmg_policy_parse(pol, (size_t)pol_len, &policy, err, sizeof(err)), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tsmh_close(&h);
    tsmc_close(&hc);
    tsmc_close(&gc);
    tsmc_close(&gc2);
    pthread_join(srv, NULL);
    tsm_wipe(&tsm);
    dsm_wipe(&d);
    return 0;
}

/* One host call relayed to completion; its SBI error. */
static long host(uint32_t fid, uint64_t a0, uint64_t a1, uint64_t a2,
                 uint64_t a3)
{
    const uint64_t a[6] = {a0, a1, a2, a3};
    struct sbiret r;

    assert_int_equal(tsmh_call(&h, fid, a, NULL, 0, NULL, &r, NULL), 0);
    return r.error;
}

static void connect_bind_regions(void)
{
    assert_int_equal(host(TSM_COVH_CONNECT_DEVICE, DEV, 0, 0, 0), SBI_SUCCESS);
    assert_int_equal(host(TSM_COVH_BIND_INTERFACE, 1, IF, 0, 0), SBI_SUCCESS);
    assert_int_equal(
        host(TSM_COVH_ADD_INTERFACE_REGION, 1, IF, 0xfe000000, 0x4000),
        SBI_SUCCESS);
    assert_int_equal(
        host(TSM_COVH_ADD_INTERFACE_REGION, 1, IF, 0xfe004000, 0x1000),
        SBI_SUCCESS);
}

/* the CA's DER is the chain's first certificate */
static size_t ca_len(const struct devid *v)
{
    const uint8_t *p = v->chain;

    assert_int_equal(p[0], 0x30);
    assert_int_equal(p[1], 0x82);
    return 4 + ((size_t)p[2] << 8 | p[3]);
}

/* accept with @root's CA pinned, the unit policy and both ranges */
static void cfg_for(struct tsmg_accept_cfg *c, const struct devid *root)
{
    memset(c, 0, sizeof(*c));
    c->root = root->chain;
    c->root_len = ca_len(root);
    c->policy = &policy;
    c->mmio = mmio;
    c->n_mmio = 2;
    c->timeout_ms = 5000;
    c->poll_ms = 1;
}

struct accept_job {
    struct tsmg_accept_cfg cfg;
    struct tsmg_accept_result res;
    int rc;
    volatile bool done;
};

static void *accept_main(void *arg)
{
    struct accept_job *j = arg;

    j->rc = tsmg_accept(&g, IF, &j->cfg, &j->res);
    j->done = true;
    return NULL;
}

/* The accept flow in a thread while the host relays queued work. */
static void accept_with_actions(struct accept_job *j)
{
    pthread_t th;
    const uint64_t a[6] = {DEV};
    struct sbiret r;

    j->done = false;
    assert_int_equal(pthread_create(&th, NULL, accept_main, j), 0);
    while (!j->done) {
        assert_int_equal(
            tsmh_call(&h, TSM_COVH_TEE_IO_ACTION, a, NULL, 0, NULL, &r, NULL),
            0);
        usleep(500);
    }
    pthread_join(th, NULL);
}

static void whole_flow(void **state)
{
    static struct accept_job j;
    const uint64_t a[6] = {DEV};
    struct sbiret r;
    long st;

    (void)state;
    connect_bind_regions();
    cfg_for(&j.cfg, &id);
    accept_with_actions(&j);
    if (j.rc != 0) {
        fail_msg("accept: %s", tsmg_error(&g));
    }
    assert_string_equal(j.res.step, "running");
    assert_int_equal(j.res.n_certs, 2);
    assert_int_equal(j.res.n_blocks, 1);
    assert_int_equal(j.res.n_ranges, 2);
    assert_int_equal(tsmg_state(&g, IF, &st), 0);
    assert_int_equal(st, TSM_IF_RUNNING);
    /* TVM 2 sees nothing of it */
    assert_int_equal(tsmg_state(&g2, IF, &st), -1);
    assert_non_null(strstr(tsmg_error(&g2), "SBI_ERR_INVALID_PARAM"));
    assert_int_equal(tsmg_start(&g2, IF), -1);
    /* the TVM stops it; the host relays */
    assert_int_equal(tsmg_stop(&g, IF), 0);
    assert_int_equal(
        tsmh_call(&h, TSM_COVH_TEE_IO_ACTION, a, NULL, 0, NULL, &r, NULL), 0);
    assert_int_equal(tsmg_state(&g, IF, &st), 0);
    assert_int_equal(st, TSM_IF_UNLOCKED);
    assert_int_equal(host(TSM_COVH_UNBIND_INTERFACE, 1, IF, 0, 0), SBI_SUCCESS);
    assert_int_equal(host(TSM_COVH_DISCONNECT_DEVICE, DEV, 0, 0, 0),
                     SBI_SUCCESS);
}

static void host_transcript(void **state)
{
    static uint8_t out[TSM_FRAME_OUT_MAX];
    const uint64_t a[6] = {DEV, TSM_ELEM_DEVICE_CERTIFICATE, 0, 0, sizeof(out)};
    struct sbiret r;
    size_t len;
    unsigned relays;

    (void)state;
    connect_bind_regions();
    assert_int_equal(tsmh_call(&h, TSM_COVH_GET_CONN_TRANSCRIPT, a, out,
                               sizeof(out), &len, &r, &relays),
                     0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(relays, 0);
    assert_int_equal(len, id.chain_len);
    assert_bytes_equal(out, id.chain, len);
}

/* Each accept check refuses with its own step and reason. */
static void accept_refusals(void **state)
{
    static struct accept_job j;
    static struct tsmg_policy bad;
    static const struct tsmg_range other_mmio[2] = {{0xfe000000, 0x4000},
                                                    {0xfe005000, 0x1000}};
    char err[128];

    (void)state;
    connect_bind_regions();
    /* a chain under another root */
    cfg_for(&j.cfg, &other);
    assert_int_equal(tsmg_accept(&g, IF, &j.cfg, &j.res), -1);
    assert_string_equal(j.res.step, "certificate");
    assert_non_null(strstr(tsmg_error(&g), "pinned root"));
    /* a policy value that differs, a block the policy lacks, a block the
     * device lacks */
    cfg_for(&j.cfg, &id);
    assert_int_equal(
        tsmg_policy_parse("1=" DIGEST1 "12", 100, &bad, err, sizeof(err)), 0);
    j.cfg.policy = &bad;
    assert_int_equal(tsmg_accept(&g, IF, &j.cfg, &j.res), -1);
    assert_string_equal(j.res.step, "measurements");
    assert_non_null(strstr(tsmg_error(&g), "block 1 differs"));
    assert_int_equal(tsmg_policy_parse("2=00", 4, &bad, err, sizeof(err)), 0);
    assert_int_equal(tsmg_accept(&g, IF, &j.cfg, &j.res), -1);
    assert_non_null(strstr(tsmg_error(&g), "block 1 is not in the policy"));
    assert_int_equal(
        tsmg_policy_parse("1=" DIGEST1 "\n9=00\n", 104, &bad, err, sizeof(err)),
        0);
    assert_int_equal(tsmg_accept(&g, IF, &j.cfg, &j.res), -1);
    assert_non_null(strstr(tsmg_error(&g), "reports no block 9"));
    /* other MMIO ranges, fewer ranges */
    j.cfg.policy = &policy;
    j.cfg.mmio = other_mmio;
    assert_int_equal(tsmg_accept(&g, IF, &j.cfg, &j.res), -1);
    assert_string_equal(j.res.step, "report");
    assert_non_null(strstr(tsmg_error(&g), "MMIO range 1"));
    j.cfg.mmio = mmio;
    j.cfg.n_mmio = 1;
    assert_int_equal(tsmg_accept(&g, IF, &j.cfg, &j.res), -1);
    assert_non_null(strstr(tsmg_error(&g), "2 MMIO range(s), 1 expected"));
    /* a region the host did not add cannot be mapped */
    j.cfg.n_mmio = 2;
    assert_int_equal(host(TSM_COVH_RECLAIM_INTERFACE_REG, 1, IF, 0xfe004000, 0),
                     SBI_SUCCESS);
    assert_int_equal(tsmg_accept(&g, IF, &j.cfg, &j.res), -1);
    assert_string_equal(j.res.step, "map");
    assert_non_null(strstr(tsmg_error(&g), "SBI_ERR_INVALID_ADDRESS"));
}

static void accept_times_out_without_action(void **state)
{
    static struct accept_job j;

    (void)state;
    connect_bind_regions();
    cfg_for(&j.cfg, &id);
    j.cfg.timeout_ms = 50;
    assert_int_equal(tsmg_accept(&g, IF, &j.cfg, &j.res), -1);
    assert_string_equal(j.res.step, "running");
    assert_non_null(strstr(tsmg_error(&g), "tee_io_action"));
    assert_true(j.res.polls >= 2);
}

/* A hostile relay: tampered and replayed answers fail the call and the
 * device; the TVM refuses at the link. */
static void hostile_relay(void **state)
{
    static struct accept_job j;
    unsigned relays;
    const uint64_t a[6] = {DEV};
    struct sbiret r;
    long link;

    (void)state;
    assert_int_equal(
        tsmh_call(&h, TSM_COVH_CONNECT_DEVICE, a, NULL, 0, NULL, &r, &relays),
        0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_true(relays > 4);
    /* the LOCK answer (bind: measurements, version, capabilities, lock) */
    h.hostile.tamper = h.n_relays + 4;
    h.hostile.tamper_off = TSMH_TAMPER_MIDDLE;
    assert_int_equal(host(TSM_COVH_BIND_INTERFACE, 1, IF, 0, 0),
                     SBI_ERR_FAILED);
    assert_int_equal(tsmg_link(&g, IF, &link), 0);
    assert_int_equal(link & TSM_LINK_SECURED_SPDM, 0);
    cfg_for(&j.cfg, &id);
    assert_int_equal(tsmg_accept(&g, IF, &j.cfg, &j.res), -1);
    assert_string_equal(j.res.step, "link");
    assert_int_equal(host(TSM_COVH_DISCONNECT_DEVICE, DEV, 0, 0, 0),
                     SBI_SUCCESS);

    /* a replayed answer; the device must start over (GET_VERSION) */
    h.hostile.tamper = 0;
    assert_int_equal(host(TSM_COVH_CONNECT_DEVICE, DEV, 0, 0, 0), SBI_SUCCESS);
    h.hostile.replay = h.n_relays + 1; /* the heartbeat's answer, again */
    assert_int_equal(host(TSM_COVH_SPDM_HEARTBEAT, DEV, 0, 0, 0), SBI_SUCCESS);
    assert_int_equal(host(TSM_COVH_SPDM_HEARTBEAT, DEV, 0, 0, 0),
                     SBI_ERR_FAILED);
    assert_int_equal(host(TSM_COVH_DISCONNECT_DEVICE, DEV, 0, 0, 0),
                     SBI_SUCCESS);
}

/* A device that does not answer fails the call instead of leaving it
 * pending; disconnect frees the device. */
static void silent_device(void **state)
{
    const uint64_t a[6] = {DEV};
    struct sbiret r;
    unsigned relays;

    (void)state;
    device_silent = true;
    assert_int_equal(
        tsmh_call(&h, TSM_COVH_CONNECT_DEVICE, a, NULL, 0, NULL, &r, &relays),
        0);
    assert_int_equal(r.error, SBI_ERR_FAILED);
    assert_int_equal(relays, 1);
    assert_int_equal(host(TSM_COVH_DISCONNECT_DEVICE, DEV, 0, 0, 0),
                     SBI_SUCCESS);
    device_silent = false;
    assert_int_equal(host(TSM_COVH_CONNECT_DEVICE, DEV, 0, 0, 0), SBI_SUCCESS);
}

static void policy_format(void **state)
{
    static struct tsmg_policy p;
    static struct tsmg_meas m;
    static const char good[] = "# comment\n\n  1=AABB  \n254=00\r\n3=0x01\n";
    static const char *const bad[] = {
        "0=00", "255=00", "1=00\n1=01", "1=0",   "1=",    "=00",
        "x=00", "1 00",   "1=zz",       "-1=00", "1a=00", " 2=0g",
    };
    char err[128], many[16 * 8 + 16];
    size_t i, off = 0;

    (void)state;
    assert_int_equal(
        tsmg_policy_parse(good, sizeof(good) - 1, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.b[0].index, 1);
    assert_int_equal(p.b[0].len, 2);
    assert_int_equal(p.b[0].value[1], 0xbb);
    assert_int_equal(p.b[1].index, 254);
    assert_int_equal(p.b[2].len, 1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (tsmg_policy_parse(bad[i], strlen(bad[i]), &p, err, sizeof(err)) !=
            -1) {
            fail_msg("policy '%s' accepted", bad[i]);
        }
        assert_non_null(strstr(err, "policy line"));
    }
    for (i = 1; i <= SPDM_MEAS_BLOCKS_MAX + 1; i++) {
        off += (size_t)snprintf(many + off, sizeof(many) - off, "%zu=00\n", i);
    }
    assert_int_equal(tsmg_policy_parse(many, off, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "over"));
    /* check: equal, differing length, differing byte */
    assert_int_equal(
        tsmg_policy_parse("1=aabb\n2=01", 11, &p, err, sizeof(err)), 0);
    memset(&m, 0, sizeof(m));
    m.n = 2;
    m.b[0] = (struct tsmg_block){2, 0, 1, {0x01}};
    m.b[1] = (struct tsmg_block){1, 0, 2, {0xaa, 0xbb}};
    assert_int_equal(tsmg_policy_check(&p, &m, err, sizeof(err)), 0);
    m.b[1].len = 1;
    assert_int_equal(tsmg_policy_check(&p, &m, err, sizeof(err)), -1);
    m.b[1].len = 2;
    m.b[1].value[1] = 0xbc;
    assert_int_equal(tsmg_policy_check(&p, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "block 1 differs"));
}

static void range_format(void **state)
{
    struct tsmg_range r[8];
    size_t n;
    static const char *const bad[] = {"",     "1",         "1+",  "1+0",
                                      "x+1",  "1+1,",      "+1",  "1+1k,2",
                                      "1+1q", "1+1,2+3,4", "-1+1"};
    size_t i;

    (void)state;
    assert_int_equal(
        tsmg_ranges_parse("0xfe000000+16k,0xfe004000+4096,4096+1m", r, 8, &n),
        0);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].addr, 0xfe000000);
    assert_int_equal(r[0].size, 0x4000);
    assert_int_equal(r[1].size, 0x1000);
    assert_int_equal(r[2].size, 0x100000);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (tsmg_ranges_parse(bad[i], r, 8, &n) != -1) {
            fail_msg("ranges '%s' accepted", bad[i]);
        }
    }
    assert_int_equal(tsmg_ranges_parse("1+1,2+2,3+3", r, 2, &n), -1);
}

/* connect_device with an IDE stream through tsmh_call_in(): the TSM gets
 * the descriptor in the first call's input and programs both sides; the
 * TVM sees PCIE_IDE; a refresh moves both sides to key set 1; disconnect
 * leaves the device no key. */
static void ide_connect(void **state)
{
    struct tsmh_ide_stream st;
    uint8_t desc[TSMH_IDE_DESC_MAX];
    uint64_t a[6] = {DEV, TSMH_IDE_DESC_ADDR};
    struct sbiret r;
    unsigned relays, plain;
    char slots[IDEKM_DESCRIBE_MAX];
    size_t n;
    long v;

    (void)state;
    memset(&st, 0, sizeof(st));
    st.stream_id = 7;
    n = tsmh_ide_desc(&st, desc, sizeof(desc));
    assert_int_equal(n, TSM_STREAM_DESC_MIN);
    /* an address register with no descriptor behind it */
    assert_int_equal(
        tsmh_call(&h, TSM_COVH_CONNECT_DEVICE, a, NULL, 0, NULL, &r, &relays),
        0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    assert_int_equal(relays, 0);
    a[1] = 0;
    assert_int_equal(
        tsmh_call(&h, TSM_COVH_CONNECT_DEVICE, a, NULL, 0, NULL, &r, &plain),
        0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(host(TSM_COVH_DISCONNECT_DEVICE, DEV, 0, 0, 0),
                     SBI_SUCCESS);
    a[1] = TSMH_IDE_DESC_ADDR;
    assert_int_equal(tsmh_call_in(&h, TSM_COVH_CONNECT_DEVICE, a, desc, n, NULL,
                                  0, NULL, &r, &relays),
                     0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(relays, plain + 13); /* QUERY, 6 KEY_PROG, 6 GO */
    assert_true(idekm_stream_secure(&d.idekm, 7));
    assert_true(idekm_describe(&d.idekm, slots, sizeof(slots)) > 0);
    assert_string_equal(slots, "stream 0:7 K0=AAAAAA K1=------");
    assert_int_equal(host(TSM_COVH_BIND_INTERFACE, 1, IF, 0, 0), SBI_SUCCESS);
    assert_int_equal(tsmg_link(&g, IF, &v), 0);
    assert_int_equal(v, TSM_LINK_SECURED_SPDM | TSM_LINK_PCIE_IDE);
    assert_int_equal(host(TSM_COVH_IDE_KEY_REFRESH, DEV, 8, 0, 0),
                     SBI_ERR_INVALID_PARAM);
    assert_int_equal(host(TSM_COVH_IDE_KEY_REFRESH, DEV, 7, 0, 0), SBI_SUCCESS);
    assert_true(idekm_describe(&d.idekm, slots, sizeof(slots)) > 0);
    assert_string_equal(slots, "stream 0:7 K0=------ K1=AAAAAA");
    assert_int_equal(tsmg_link(&g, IF, &v), 0);
    assert_int_equal(v, TSM_LINK_SECURED_SPDM | TSM_LINK_PCIE_IDE);
    assert_int_equal(host(TSM_COVH_UNBIND_INTERFACE, 1, IF, 0, 0), SBI_SUCCESS);
    assert_int_equal(host(TSM_COVH_DISCONNECT_DEVICE, DEV, 0, 0, 0),
                     SBI_SUCCESS);
    assert_true(idekm_describe(&d.idekm, slots, sizeof(slots)) > 0);
    assert_string_equal(slots, "none");
}

/* The descriptor's bytes: PCIe's RID and address association registers. */
static void ide_desc_format(void **state)
{
    static const uint8_t want[] = {
        0x05, 0x02, 0x00, 0x00,                         /* stream, 2 blocks */
        0x00, 0x07, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, /* RID 1, RID 2 */
        0x01, 0xe0, 0x1f, 0xfe, 0x01, 0x00, 0x00, 0x00, /* block 1 */
        0x01, 0x00, 0x00, 0x00,                         /* base upper */
        0x01, 0x00, 0xf0, 0xff, 0x00, 0x00, 0x00, 0x00, /* block 2 */
        0x00, 0x00, 0x00, 0x00};
    struct tsmh_ide_stream st;
    uint8_t out[TSMH_IDE_DESC_MAX];

    (void)state;
    memset(&st, 0, sizeof(st));
    st.stream_id = 5;
    st.rid_valid = true;
    st.rid_base = 0x100;
    st.rid_limit = 0x107;
    st.n_addr = 2;
    st.addr_base[0] = 0x1fe000000ull; /* 2 MiB above 4 GiB */
    st.addr_size[0] = 0x200000;
    st.addr_base[1] = 0; /* the whole low 4 GiB */
    st.addr_size[1] = 0x100000000ull;
    assert_int_equal(tsmh_ide_desc(&st, out, sizeof(out)), sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    assert_int_equal(tsmh_ide_desc(&st, out, sizeof(want) - 1), 0);
    st.addr_size[1] = 0x80000; /* half a MiB */
    assert_int_equal(tsmh_ide_desc(&st, out, sizeof(out)), 0);
    st.addr_size[1] = 0;
    assert_int_equal(tsmh_ide_desc(&st, out, sizeof(out)), 0);
    st.addr_base[1] = 0xfff0000000000000ull; /* wraps */
    st.addr_size[1] = 0x10000000000000ull + 0x100000;
    assert_int_equal(tsmh_ide_desc(&st, out, sizeof(out)), 0);
    st.n_addr = TSMH_IDE_MAX_ADDR + 1;
    assert_int_equal(tsmh_ide_desc(&st, out, sizeof(out)), 0);
    st.n_addr = 0;
    st.rid_limit = 0xff; /* below the base */
    assert_int_equal(tsmh_ide_desc(&st, out, sizeof(out)), 0);
    st.rid_valid = false; /* no association: both registers 0 */
    assert_int_equal(tsmh_ide_desc(&st, out, sizeof(out)), TSM_STREAM_DESC_MIN);
    assert_memory_equal(out, want, 1);
    assert_int_equal(out[1], 0);
    assert_int_equal(load_le32(out + 4), 0);
    assert_int_equal(load_le32(out + 8), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(whole_flow, setup, teardown),
    cmocka_unit_test_setup_teardown(host_transcript, setup, teardown),
    cmocka_unit_test_setup_teardown(accept_refusals, setup, teardown),
    cmocka_unit_test_setup_teardown(accept_times_out_without_action, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(hostile_relay, setup, teardown),
    cmocka_unit_test_setup_teardown(silent_device, setup, teardown),
    cmocka_unit_test(policy_format),
    cmocka_unit_test(range_format),
    cmocka_unit_test_setup_teardown(ide_connect, setup, teardown),
    cmocka_unit_test(ide_desc_format),
};

int main(int argc, char **argv)
{
    int rc;

    if (group_setup(NULL) != 0) {
        fprintf(stderr, "set-up failed\n");
        return 1;
    }
    rc = harness_run("tsmtools", tests, sizeof(tests) / sizeof(tests[0]), argc,
                     argv);
    group_teardown(NULL);
    return rc;
}
