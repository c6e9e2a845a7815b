/* SPDX-License-Identifier: MIT */
/*
 * The real daemons over real sockets, driven by the vhost-user frontend as
 * QEMU and the Linux drivers would drive them:
 *  - vhost-user-nsm: every NSM operation (DescribeNSM, DescribePCR,
 *    ExtendPCR, LockPCR, LockPCRs, Attestation checked by the verifier
 *    against the daemon's PKI root, GetRandom), hostile requests, every
 *    transport shape the frontend can make, state reset on reconnect versus
 *    --keep-state, prompt SIGTERM exit with the socket removed;
 *  - vhost-user-rpmb: GET_CONFIG equal to the options, program key, write
 *    counter, multi-block writes and reads (plain, split, indirect chains),
 *    tampered responses detected, data and counter kept across a restart.
 *
 * The daemon paths come from the environment (VHOST_USER_NSM,
 * VHOST_USER_RPMB), set by tests/integration/meson.build.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#include "client/nsmc.h"
#include "client/nsmc_vhu.h"
#include "client/rpmbc.h"
#include "frontend/vhu_frontend.h"
#include "crypto/crypto.h"
#include "verify/verify.h"

#define MODULE_ID "i-0123456789abcdef0-enc0123456789abcdef"

/* ---- daemon processes ---------------------------------------------------- */

struct daemon {
    pid_t pid;     /* child */
    char dir[64];  /* private temp directory */
    char sock[96]; /* socket path inside @dir */
};

/* Daemons still running when a test fails; killed by the teardown. */
static pid_t live[4];

static void live_add(pid_t pid)
{
    for (unsigned i = 0; i < TV_ARRAY_SIZE(live); i++) {
        if (live[i] == 0) {
            live[i] = pid;
            return;
        }
    }
}

static void live_del(pid_t pid)
{
    for (unsigned i = 0; i < TV_ARRAY_SIZE(live); i++) {
        if (live[i] == pid) {
            live[i] = 0;
        }
    }
}

static int kill_leftovers(void **state)
{
    for (unsigned i = 0; i < TV_ARRAY_SIZE(live); i++) {
        if (live[i] != 0) {
            kill(live[i], SIGKILL);
            waitpid(live[i], NULL, 0);
            live[i] = 0;
        }
    }
    return 0;
}

static const char *daemon_path(const char *env)
{
    const char *p = getenv(env);

    if (p == NULL || p[0] == '\0') {
        fail_msg("%s is not set (run through meson test)", env);
    }
    return p;
}

static void tempdir(struct daemon *d)
{
    snprintf(d->dir, sizeof(d->dir), "/tmp/tv-it-XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    snprintf(d->sock, sizeof(d->sock), "%s/vhu.sock", d->dir);
}

/* Start @exe with --socket-path=@d->sock and the NULL-terminated @args. */
static void daemon_start(struct daemon *d, const char *exe,
                         const char *const *args)
{
    char sock_arg[128];
    const char *argv[24];
    unsigned n = 0;

    snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", d->sock);
    argv[n++] = exe;
    argv[n++] = sock_arg;
    argv[n++] = "--quiet";
    for (; args != NULL && *args != NULL && n < 23; args++) {
        argv[n++] = *args;
    }
    argv[n] = NULL;
    d->pid = fork();
    assert_true(d->pid >= 0);
    if (d->pid == 0) {
        /* never outlive a crashed test */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    live_add(d->pid);
}

/* SIGTERM; the daemon must exit 0 within 2 s and remove its socket. */
static void daemon_stop(struct daemon *d)
{
    struct timespec t0, t1;
    struct stat st;
    double dt;
    int status = 0;
    pid_t r = 0;

    assert_int_equal(kill(d->pid, SIGTERM), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 2000 && r == 0; i++) {
        r = waitpid(d->pid, &status, WNOHANG);
        if (r == 0) {
            usleep(1000);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    live_del(d->pid);
    if (r == 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &status, 0);
        fail_msg("daemon did not exit within 2 s of SIGTERM");
    }
    dt = (double)(t1.tv_sec - t0.tv_sec) +
         (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (dt > 0.5) {
        fail_msg("daemon took %.3f s to exit on SIGTERM", dt);
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(stat(d->sock, &st), -1);
    assert_int_equal(errno, ENOENT);
    d->pid = 0;
}

static void rm_rf(const char *dir)
{
    char cmd[160];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static struct vhu_fe *fe_open(struct daemon *d, struct vhu_fe_options *o)
{
    struct vhu_fe_options def = {0};
    char err[256];
    struct vhu_fe *fe;

    if (o == NULL) {
        o = &def;
    }
    o->connect_wait_ms = 5000;
    if (o->timeout_ms == 0) {
        o->timeout_ms = 10000;
    }
    fe = vhu_fe_connect(d->sock, o, err, sizeof(err));
    if (fe == NULL) {
        fail_msg("connect to %s: %s", d->sock, err);
    }
    return fe;
}

/* ---- NSM ------------------------------------------------------------------
 */

static struct nsmc_resp resp; /* large: keep it off the stack */

static void nsm_do(struct vhu_fe *fe, const struct nsmc_req *req,
                   enum nsmc_op want)
{
    struct nsmc_transport t = nsmc_vhu_transport(fe);
    int err = 0;
    int st = nsmc_call(&t, req, &resp, &err);

    if (st != NSMC_OK) {
        fail_msg("%s: %s (errno %d)", nsmc_op_name(req->op), nsmc_strerror(st),
                 err);
    }
    if (resp.op != want) {
        fail_msg("%s: answered %s %s", nsmc_op_name(req->op),
                 nsmc_op_name(resp.op),
                 resp.op == NSMC_OP_ERROR ? nsmc_error_name(resp.error) : "");
    }
}

static void nsm_expect_error(struct vhu_fe *fe, const struct nsmc_req *req,
                             enum nsmc_error e)
{
    nsm_do(fe, req, NSMC_OP_ERROR);
    assert_string_equal(nsmc_error_name(resp.error), nsmc_error_name(e));
}

static void describe_pcr(struct vhu_fe *fe, uint16_t index, uint8_t out[48],
                         bool *locked)
{
    struct nsmc_req r = {.op = NSMC_OP_DESCRIBE_PCR, .index = index};

    nsm_do(fe, &r, NSMC_OP_DESCRIBE_PCR);
    assert_int_equal(resp.data.len, 48);
    memcpy(out, resp.data.p, 48);
    if (locked != NULL) {
        *locked = resp.lock;
    }
}

static void extend_pcr(struct vhu_fe *fe, uint16_t index, const char *data,
                       uint8_t out[48])
{
    struct nsmc_req r = {.op = NSMC_OP_EXTEND_PCR,
                         .index = index,
                         .data = {(const uint8_t *)data, strlen(data)}};

    nsm_do(fe, &r, NSMC_OP_EXTEND_PCR);
    assert_int_equal(resp.data.len, 48);
    memcpy(out, resp.data.p, 48);
}

static void nsm_start(struct daemon *d, bool keep_state)
{
    static char pki_arg[128];
    const char *args[] = {"--module-id=" MODULE_ID, pki_arg,
                          keep_state ? "--keep-state" : NULL, NULL};

    tempdir(d);
    snprintf(pki_arg, sizeof(pki_arg), "--pki=%s/pki", d->dir);
    daemon_start(d, daemon_path("VHOST_USER_NSM"), args);
}

/* Every operation, checked value by value. */
static void nsm_operations(void **state)
{
    static const uint8_t zero[48];
    static uint8_t root_der[4096];
    struct daemon d;
    struct vhu_fe *fe;
    struct nsmc_req r;
    uint8_t pcr[48], want[48], pcr16[48], rnd[256];
    bool locked = true;

    assert_int_equal(crypto_init(), 0);
    nsm_start(&d, false);
    fe = fe_open(&d, NULL);

    memset(&r, 0, sizeof(r));
    r.op = NSMC_OP_DESCRIBE_NSM;
    nsm_do(fe, &r, NSMC_OP_DESCRIBE_NSM);
    assert_int_equal(resp.module_id.len, strlen(MODULE_ID));
    assert_memory_equal(resp.module_id.p, MODULE_ID, strlen(MODULE_ID));
    assert_int_equal(resp.max_pcrs, 32);
    assert_int_equal(resp.digest, NSMC_DIGEST_SHA384);
    assert_int_equal(resp.version_major, 1);
    assert_int_equal(resp.n_locked_pcrs, 16);
    for (unsigned i = 0; i < 16; i++) {
        assert_int_equal(resp.locked_pcrs[i], i);
    }

    /* PCR16 starts at zero and unlocked; extend is SHA384(old || data) */
    describe_pcr(fe, 16, pcr, &locked);
    assert_memory_equal(pcr, zero, 48);
    assert_false(locked);
    extend_pcr(fe, 16, "measurement one", pcr);
    assert_int_equal(crypto_sha384_2(zero, 48, "measurement one", 15, want), 0);
    assert_bytes_equal(pcr, want, 48);
    memcpy(pcr16, pcr, 48);
    describe_pcr(fe, 16, pcr, NULL);
    assert_bytes_equal(pcr, pcr16, 48);

    /* locking */
    memset(&r, 0, sizeof(r));
    r.op = NSMC_OP_LOCK_PCR;
    r.index = 16;
    nsm_do(fe, &r, NSMC_OP_LOCK_PCR);
    describe_pcr(fe, 16, pcr, &locked);
    assert_true(locked);
    r.op = NSMC_OP_EXTEND_PCR;
    r.data.p = (const uint8_t *)"x";
    r.data.len = 1;
    nsm_expect_error(fe, &r, NSMC_E_READ_ONLY_INDEX);
    r.op = NSMC_OP_LOCK_PCRS;
    r.index = 20;
    r.data.p = NULL;
    nsm_do(fe, &r, NSMC_OP_LOCK_PCRS);
    describe_pcr(fe, 19, pcr, &locked);
    assert_true(locked);
    describe_pcr(fe, 20, pcr, &locked);
    assert_false(locked);
    r.op = NSMC_OP_DESCRIBE_PCR;
    r.index = 32;
    nsm_expect_error(fe, &r, NSMC_E_INVALID_INDEX);

    /* GetRandom: 256 fresh bytes each time */
    memset(&r, 0, sizeof(r));
    r.op = NSMC_OP_GET_RANDOM;
    nsm_do(fe, &r, NSMC_OP_GET_RANDOM);
    assert_int_equal(resp.data.len, 256);
    memcpy(rnd, resp.data.p, 256);
    nsm_do(fe, &r, NSMC_OP_GET_RANDOM);
    assert_int_equal(resp.data.len, 256);
    assert_memory_not_equal(rnd, resp.data.p, 256);

    /* Attestation: a document the verifier accepts against the daemon's
     * root, carrying our nonce, user data, public key and PCR16. */
    {
        static struct verify_root root;
        static struct verify_policy pol;
        static struct verify_result res;
        static uint8_t doc[NSM_RESPONSE_MAX_SIZE];
        char path[160], why[256];
        size_t doc_len, root_len;
        FILE *fp;

        memset(&r, 0, sizeof(r));
        r.op = NSMC_OP_ATTESTATION;
        r.nonce.p = (const uint8_t *)"nonce-1234";
        r.nonce.len = 10;
        r.user_data.p = (const uint8_t *)"user data";
        r.user_data.len = 9;
        r.public_key.p = (const uint8_t *)"not really a key";
        r.public_key.len = 16;
        nsm_do(fe, &r, NSMC_OP_ATTESTATION);
        doc_len = resp.data.len;
        assert_true(doc_len > 1000 && doc_len <= sizeof(doc));
        memcpy(doc, resp.data.p, doc_len);

        snprintf(path, sizeof(path), "%s/pki/root.der", d.dir);
        fp = fopen(path, "rb");
        assert_non_null(fp);
        root_len = fread(root_der, 1, sizeof(root_der), fp);
        fclose(fp);
        assert_int_equal(verify_root_init(&root, root_der, root_len), 0);
        pol.pcr_mask = 1u << 16;
        memcpy(pol.pcr[16], pcr16, 48);
        pol.nonce.p = (const uint8_t *)"nonce-1234";
        pol.nonce.len = 10;
        pol.nonce.present = true;
        pol.user_data.p = (const uint8_t *)"user data";
        pol.user_data.len = 9;
        pol.user_data.present = true;
        if (verify_document(&root, &pol, doc, doc_len, &res) != 0) {
            fail_msg("attestation document: %s",
                     verify_explain(&res, why, sizeof(why)));
        }
        assert_int_equal(res.doc.module_id.len, strlen(MODULE_ID));
        assert_int_equal(res.doc.public_key.len, 16);
        assert_memory_equal(res.doc.public_key.p, "not really a key", 16);
        verify_root_release(&root);
    }

    vhu_fe_close(fe);
    daemon_stop(&d);
    rm_rf(d.dir);
}

/* Bytes a guest may send: the device answers or drops, and keeps serving. */
static void nsm_hostile_requests(void **state)
{
    static const char *const junk[] = {
        "\xff",
        "\xa1",
        "\x6b"
        "DescribeNS",
        "\xa1\x6b"
        "DescribePCR\xa0",
        "\x9f\x9f\x9f\x9f\x9f\x9f\x9f\x9f\x9f\x9f\x9f\x9f",
        "\xa1\x69"
        "ExtendPCR\xa2\x65index\x10\x64"
        "data\x5a\xff\xff\xff\xff",
    };
    static uint8_t big[VHU_FE_NSM_REQ_MAX];
    uint8_t out[VHU_FE_NSM_RESP_LEN];
    struct daemon d;
    struct vhu_fe *fe;
    size_t len;
    uint8_t pcr[48];

    nsm_start(&d, false);
    fe = fe_open(&d, NULL);
    for (unsigned i = 0; i < TV_ARRAY_SIZE(junk); i++) {
        int rc = vhu_fe_nsm_call(fe, (const uint8_t *)junk[i], strlen(junk[i]),
                                 out, sizeof(out), &len);

        assert_int_equal(rc, 0);
        assert_true(len > 0);
        assert_int_equal(nsmc_parse_resp(out, len, &resp), NSMC_OK);
        assert_int_equal(resp.op, NSMC_OP_ERROR);
    }
    memset(big, 0xa1, sizeof(big));
    assert_int_equal(
        vhu_fe_nsm_call(fe, big, sizeof(big), out, sizeof(out), &len), 0);
    /* a response cut short by a small buffer, as the kernel does */
    {
        struct nsmc_req r = {.op = NSMC_OP_GET_RANDOM};
        uint8_t req[64];
        size_t req_len;
        struct vhu_fe_info info;

        assert_int_equal(nsmc_fill_req(&r, req, sizeof(req), &req_len), 0);
        assert_int_equal(vhu_fe_nsm_call(fe, req, req_len, out, 10, &len), 0);
        assert_int_equal(len, 10);
        vhu_fe_get_info(fe, &info);
        assert_true(info.last_used_len > 256);
    }
    describe_pcr(fe, 0, pcr, NULL);
    vhu_fe_close(fe);
    daemon_stop(&d);
    rm_rf(d.dir);
}

/* Every ring and negotiation shape the frontend can make. */
static void nsm_transport_shapes(void **state)
{
    static const struct vhu_fe_options shapes[] = {
        {0},
        {.flags = VHU_FE_POLL},
        {.flags = VHU_FE_NO_EVENT_IDX},
        {.flags = VHU_FE_NO_EVENT_IDX | VHU_FE_POLL},
        {.flags = VHU_FE_NO_REPLY_ACK},
        {.flags = VHU_FE_MEM_TABLE | VHU_FE_NO_STATUS},
        {.flags = VHU_FE_NO_INDIRECT | VHU_FE_NO_INIT_KICK},
        {.queue_size = 2, .n_regions = 1},
        {.queue_size = 1024},
        {.n_regions = 8, .mem_size = 8 * 128 * 1024, .gpa_base = 0x1000},
        {.gpa_base = 0x7fff00000000ull},
    };
    struct daemon d;
    uint8_t pcr[48], want[48] = {0};

    assert_int_equal(crypto_init(), 0);
    nsm_start(&d, true);
    for (unsigned s = 0; s < TV_ARRAY_SIZE(shapes); s++) {
        struct vhu_fe_options o = shapes[s];
        struct vhu_fe *fe = fe_open(&d, &o);
        struct vhu_fe_info info;

        /* enough requests to wrap a small ring many times */
        for (unsigned i = 0; i < 300; i++) {
            describe_pcr(fe, (uint16_t)(i % 32), pcr, NULL);
        }
        extend_pcr(fe, 17, "shape", pcr);
        assert_int_equal(crypto_sha384_2(want, 48, "shape", 5, want), 0);
        assert_bytes_equal(pcr, want, 48);
        vhu_fe_get_info(fe, &info);
        assert_int_equal(info.n_requests, 301);
        /* the ring base the daemon reports matches what we made available;
         * with STATUS the stop resets the device (PCR17 back to zero) */
        assert_int_equal(vhu_fe_stop(fe), 0);
        if (info.acked_protocol & (1ull << 16)) {
            memset(want, 0, sizeof(want));
        }
        vhu_fe_close(fe);
    }
    /* the ring stop above reset the device each time (SET_STATUS 0 with
     * STATUS, a guest reset); shapes without STATUS only disconnected */
    daemon_stop(&d);
    rm_rf(d.dir);
}

/*
 * Default: a new connection finds a freshly powered-on device; with
 * --keep-state it finds the state the last one left. An orderly stop with
 * SET_STATUS(0) is a device reset and power-cycles in both cases.
 */
static void nsm_reconnect_state(void **state)
{
    static const uint8_t zero[48];

    for (int keep = 0; keep <= 1; keep++) {
        struct daemon d;
        struct vhu_fe *fe;
        uint8_t pcr[48], ext[48];
        bool locked;

        nsm_start(&d, keep);
        fe = fe_open(&d, NULL);
        extend_pcr(fe, 16, "before reconnect", ext);
        {
            struct nsmc_req r = {.op = NSMC_OP_LOCK_PCR, .index = 18};

            nsm_do(fe, &r, NSMC_OP_LOCK_PCR);
        }
        vhu_fe_close(fe); /* a front-end that just goes away */
        fe = fe_open(&d, NULL);
        describe_pcr(fe, 16, pcr, NULL);
        assert_bytes_equal(pcr, keep ? ext : zero, 48);
        describe_pcr(fe, 18, pcr, &locked);
        assert_int_equal(locked, keep);
        extend_pcr(fe, 16, "second", ext);
        /* the connection drops in the middle of nothing */
        shutdown(vhu_fe_fd(fe), SHUT_RDWR);
        vhu_fe_close(fe);
        fe = fe_open(&d, NULL);
        describe_pcr(fe, 16, pcr, NULL);
        assert_bytes_equal(pcr, keep ? ext : zero, 48);
        /* QEMU's poweroff: SET_STATUS(0) resets the device */
        assert_int_equal(vhu_fe_stop(fe), 0);
        vhu_fe_close(fe);
        fe = fe_open(&d, NULL);
        describe_pcr(fe, 16, pcr, NULL);
        assert_bytes_equal(pcr, zero, 48);
        describe_pcr(fe, 18, pcr, &locked);
        assert_false(locked);
        vhu_fe_close(fe);
        daemon_stop(&d);
        rm_rf(d.dir);
    }
}

/* SIGTERM while a front-end is connected and idle. */
static void nsm_sigterm_connected(void **state)
{
    struct daemon d;
    struct vhu_fe *fe;
    uint8_t pcr[48];
    uint8_t out[64];
    size_t len;

    nsm_start(&d, false);
    fe = fe_open(&d, NULL);
    describe_pcr(fe, 1, pcr, NULL);
    daemon_stop(&d);
    /* the connection is gone: the next request fails quickly */
    assert_int_equal(vhu_fe_nsm_call(fe, (const uint8_t *)"\x69GetRandom", 10,
                                     out, sizeof(out), &len),
                     -ECONNRESET);
    vhu_fe_close(fe);
    rm_rf(d.dir);
}

/* ---- RPMB ------------------------------------------------------------------
 */

static int rpmb_call(void *ctx, const uint8_t *req, size_t req_len,
                     uint8_t *out, size_t cap, size_t *out_len)
{
    struct iovec o = {(void *)req, req_len}, i = {out, cap};

    return vhu_fe_call(ctx, &o, 1, &i, cap > 0 ? 1 : 0, out_len);
}

static int rpmb_config(void *ctx, uint8_t config[3])
{
    return vhu_fe_get_config(ctx, 0, config, 3);
}

static const struct rpmbc_transport_ops rpmb_ops = {rpmb_call, rpmb_config};

static struct rpmbc rc; /* large */

static void rpmb_start(struct daemon *d, bool fresh_dir)
{
    static char store_arg[128];
    const char *args[] = {store_arg, "--capacity=1M", "--max-wr-cnt=4",
                          "--max-rd-cnt=3", NULL};

    if (fresh_dir) {
        tempdir(d);
    }
    snprintf(store_arg, sizeof(store_arg), "--store=%s/rpmb.db", d->dir);
    daemon_start(d, daemon_path("VHOST_USER_RPMB"), args);
}

static size_t flip_first_mac_byte(void *ctx, enum vhu_fe_kind kind,
                                  uint8_t *buf, size_t len, size_t cap)
{
    bool *on = ctx;

    /* the key_mac field of the last (only) response frame */
    if (*on && len >= 512) {
        buf[len - 512 + 196] ^= 0x80;
    }
    return len;
}

static void rpmb_lifecycle(void **state)
{
    static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
    static uint8_t data[10 * 256], back[10 * 256];
    bool tamper = false;
    struct vhu_fe_options o = {.tamper = flip_first_mac_byte,
                               .tamper_ctx = &tamper};
    struct rpmbc_transport t;
    struct rpmbc_config cfg;
    struct daemon d;
    struct vhu_fe *fe;
    uint8_t raw[8];
    uint32_t counter = 99;

    assert_int_equal(crypto_init(), 0);
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 13 + 1);
    }
    rpmb_start(&d, true);
    fe = fe_open(&d, &o);
    t.ops = &rpmb_ops;
    t.ctx = fe;

    /* config space as the options say: 1 MiB = 8 units, 4, 3 */
    assert_int_equal(vhu_fe_get_config(fe, 0, raw, 3), 0);
    assert_bytes_equal(raw, "\x08\x04\x03", 3);
    assert_int_equal(vhu_fe_get_config(fe, 1, raw, 2), 0);
    assert_bytes_equal(raw, "\x04\x03", 2);
    rpmbc_init(&rc, &t);
    assert_int_equal(rpmbc_get_config(&rc, &cfg), RPMBC_OK);
    assert_int_equal(rpmbc_capacity_blocks(&rc), 4096);

    /* no key yet */
    assert_int_equal(rpmbc_read_counter(&rc, NULL, &counter), RPMBC_ERR_DEVICE);
    assert_int_equal(rpmbc_program_key(&rc, key), RPMBC_OK);
    assert_int_equal(rpmbc_read_counter(&rc, key, &counter), RPMBC_OK);
    assert_int_equal(counter, 0);
    /* 10 blocks: three write requests (4 + 4 + 2) */
    assert_int_equal(rpmbc_write_blocks(&rc, key, 100, data, 10), RPMBC_OK);
    assert_int_equal(rpmbc_read_counter(&rc, key, &counter), RPMBC_OK);
    assert_int_equal(counter, 3);
    assert_int_equal(rpmbc_read_blocks(&rc, key, 100, back, 10), RPMBC_OK);
    assert_bytes_equal(back, data, sizeof(data));

    /* the same over split and indirect chains */
    vhu_fe_set_flags(fe, 0, 100);
    memset(back, 0, sizeof(back));
    assert_int_equal(rpmbc_read_blocks(&rc, key, 100, back, 10), RPMBC_OK);
    assert_bytes_equal(back, data, sizeof(data));
    vhu_fe_set_flags(fe, VHU_FE_INDIRECT, 512);
    assert_int_equal(rpmbc_write_blocks(&rc, key, 4095, data, 1), RPMBC_OK);
    vhu_fe_set_flags(fe, VHU_FE_POLL, 0);
    assert_int_equal(rpmbc_read_blocks(&rc, key, 4095, back, 1), RPMBC_OK);
    assert_bytes_equal(back, data, 256);
    vhu_fe_set_flags(fe, 0, 0);

    /* a flipped MAC bit in a response is caught by the client */
    tamper = true;
    assert_int_equal(rpmbc_read_counter(&rc, key, &counter), RPMBC_ERR_MAC);
    tamper = false;
    /* the key is one-time programmable */
    assert_int_equal(rpmbc_program_key(&rc, key), RPMBC_ERR_DEVICE);
    assert_int_equal(rpmbc_read_counter(&rc, key, &counter), RPMBC_OK);
    assert_int_equal(counter, 4);
    vhu_fe_close(fe);
    daemon_stop(&d);

    /* restart on the same store: key, counter and data are still there */
    rpmb_start(&d, false);
    fe = fe_open(&d, NULL);
    t.ctx = fe;
    rpmbc_init(&rc, &t);
    assert_int_equal(rpmbc_read_counter(&rc, key, &counter), RPMBC_OK);
    assert_int_equal(counter, 4);
    memset(back, 0, sizeof(back));
    assert_int_equal(rpmbc_read_blocks(&rc, key, 100, back, 10), RPMBC_OK);
    assert_bytes_equal(back, data, sizeof(data));
    assert_int_equal(rpmbc_program_key(&rc, key), RPMBC_ERR_DEVICE);
    vhu_fe_close(fe);
    daemon_stop(&d);
    rm_rf(d.dir);
}

/*
 * Start vhost-user-rpmb, serve authenticated requests, and return whether
 * the process then maps a file whose name contains one of @names (each
 * such mapping is printed).
 */
static bool rpmb_maps_any(const char *const *names, size_t n_names)
{
    static const uint8_t key[32] = "fedcba9876543210fedcba9876543210";
    static uint8_t data[256], back[256];
    struct rpmbc_transport t;
    struct daemon d;
    struct vhu_fe *fe;
    char path[64], line[512];
    unsigned n_maps = 0;
    bool found = false;
    FILE *f;

    rpmb_start(&d, true);
    fe = fe_open(&d, NULL);
    t.ops = &rpmb_ops;
    t.ctx = fe;
    rpmbc_init(&rc, &t);
    memset(data, 0x5a, sizeof(data));
    assert_int_equal(rpmbc_get_config(&rc, NULL), RPMBC_OK);
    assert_int_equal(rpmbc_program_key(&rc, key), RPMBC_OK);
    assert_int_equal(rpmbc_write_blocks(&rc, key, 7, data, 1), RPMBC_OK);
    assert_int_equal(rpmbc_read_blocks(&rc, key, 7, back, 1), RPMBC_OK);
    assert_bytes_equal(back, data, sizeof(data));

    snprintf(path, sizeof(path), "/proc/%d/maps", (int)d.pid);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        n_maps++;
        for (size_t i = 0; i < n_names; i++) {
            if (strstr(line, names[i]) != NULL) {
                found = true;
                fprintf(stderr, "vhost-user-rpmb maps %s", line);
            }
        }
    }
    fclose(f);
    assert_true(n_maps > 0);
    vhu_fe_close(fe);
    daemon_stop(&d);
    rm_rf(d.dir);
    return found;
}

/*
 * Built with a static libcrypto (meson sets RPMB_HMAC_STATIC=1), the RPMB
 * daemon maps no libcrypto.so: its HMAC-SHA256 is linked in, and after
 * authenticated requests the process still maps no OpenSSL library.
 */
static void rpmb_maps_no_libcrypto(void **state)
{
    static const char *const names[] = {"libcrypto", "libssl"};
    const char *flag = getenv("RPMB_HMAC_STATIC");

    if (flag == NULL || strcmp(flag, "1") != 0) {
        skip(); /* no libcrypto.a at build time: libcrypto.so is expected */
    }
    assert_false(rpmb_maps_any(names, TV_ARRAY_SIZE(names)));
}

/*
 * Built with a static SQLite (meson sets RPMB_SQLITE_STATIC=1), the RPMB
 * daemon maps no libsqlite3.so, after serving as before.
 */
static void rpmb_maps_no_libsqlite(void **state)
{
    static const char *const names[] = {"libsqlite3"};
    const char *flag = getenv("RPMB_SQLITE_STATIC");

    if (flag == NULL || strcmp(flag, "1") != 0) {
        skip(); /* no libsqlite3.a at build time */
    }
    assert_false(rpmb_maps_any(names, TV_ARRAY_SIZE(names)));
}

/* NSM and RPMB config space: NSM offers none, RPMB refuses reads beyond 3. */
static void config_space(void **state)
{
    struct daemon d;
    struct vhu_fe *fe;
    uint8_t raw[8];

    rpmb_start(&d, true);
    fe = fe_open(&d, NULL);
    assert_int_equal(vhu_fe_get_config(fe, 0, raw, 3), 0);
    assert_int_not_equal(vhu_fe_get_config(fe, 2, raw, 4), 0);
    vhu_fe_close(fe);
    daemon_stop(&d);
    rm_rf(d.dir);

    nsm_start(&d, false);
    fe = fe_open(&d, NULL);
    assert_int_equal(vhu_fe_get_config(fe, 0, raw, 1), -EOPNOTSUPP);
    vhu_fe_close(fe);
    daemon_stop(&d);
    rm_rf(d.dir);
}

/*
 * --fd=N with an inherited connected socket: served until the front-end
 * disconnects, then the daemon exits 0. --print-capabilities prints the
 * vhost-user.json object.
 */
static void inherited_fd_and_capabilities(void **state)
{
    static const struct {
        const char *env;
        const char *type;
    } devs[] = {{"VHOST_USER_NSM", "\"nsm\""}, {"VHOST_USER_RPMB", "\"rpmb\""}};

    for (unsigned k = 0; k < TV_ARRAY_SIZE(devs); k++) {
        const char *exe = daemon_path(devs[k].env);
        char cmd[512], out[256] = "", store_arg[128];
        struct vhu_fe *fe;
        char err[256];
        struct daemon d;
        int sv[2], status = 0;
        size_t n;
        FILE *p;

        snprintf(cmd, sizeof(cmd), "'%s' --print-capabilities", exe);
        p = popen(cmd, "r");
        assert_non_null(p);
        n = fread(out, 1, sizeof(out) - 1, p);
        out[n] = '\0';
        assert_int_equal(pclose(p), 0);
        assert_non_null(strstr(out, "\"type\""));
        assert_non_null(strstr(out, devs[k].type));

        tempdir(&d);
        snprintf(store_arg, sizeof(store_arg), "--store=%s/rpmb.db", d.dir);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        d.pid = fork();
        assert_true(d.pid >= 0);
        if (d.pid == 0) {
            char pki_arg[128];

            prctl(PR_SET_PDEATHSIG, SIGKILL);
            snprintf(pki_arg, sizeof(pki_arg), "--pki=%s/pki", d.dir);
            close(sv[0]);
            if (dup2(sv[1], 3) < 0) {
                _exit(126);
            }
            execl(exe, exe, "--fd=3", "--quiet", k == 0 ? pki_arg : store_arg,
                  (char *)NULL);
            _exit(127);
        }
        live_add(d.pid);
        close(sv[1]);
        fe = vhu_fe_connect_fd(sv[0], NULL, err, sizeof(err));
        if (fe == NULL) {
            fail_msg("--fd: %s", err);
        }
        if (k == 0) {
            uint8_t pcr[48];

            describe_pcr(fe, 0, pcr, NULL);
        } else {
            uint8_t raw[3];

            assert_int_equal(vhu_fe_get_config(fe, 0, raw, 3), 0);
            assert_int_equal(raw[0], 8); /* default 1M */
        }
        vhu_fe_close(fe);
        assert_int_equal(waitpid(d.pid, &status, 0), d.pid);
        live_del(d.pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        rm_rf(d.dir);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(nsm_operations, kill_leftovers),
    cmocka_unit_test_teardown(nsm_hostile_requests, kill_leftovers),
    cmocka_unit_test_teardown(nsm_transport_shapes, kill_leftovers),
    cmocka_unit_test_teardown(nsm_reconnect_state, kill_leftovers),
    cmocka_unit_test_teardown(nsm_sigterm_connected, kill_leftovers),
    cmocka_unit_test_teardown(rpmb_lifecycle, kill_leftovers),
    cmocka_unit_test_teardown(rpmb_maps_no_libcrypto, kill_leftovers),
    cmocka_unit_test_teardown(rpmb_maps_no_libsqlite, kill_leftovers),
    cmocka_unit_test_teardown(config_space, kill_leftovers),
    cmocka_unit_test_teardown(inherited_fd_and_capabilities, kill_leftovers),
};

HARNESS_MAIN("daemons", tests)
