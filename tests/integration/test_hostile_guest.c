/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest against the real vhost-user-nsm: while a request is in
 * flight, a second thread (the guest's second vCPU, see
 * frontend/vhu_frontend_test.h) keeps rewriting the response buffer in guest
 * memory with bytes of its own choice, at the very place the device's value
 * goes.
 *
 *  - attestation_race: the racer writes 0x41 x 48 over PCR0 inside the
 *    attestation document. Every document that comes back verifies with the
 *    daemon's real PCR0..15 and module id, either as it is or once the
 *    guest's rewrite of its own copy is undone: never with the guest's
 *    bytes.
 *  - extend_race: the racer writes 0x42 x 48 over the value of an
 *    ExtendPCR response. After every extend the bank holds exactly
 *    SHA-384(old || data).
 *
 *  - flooded_get_vring_base, flooded_sigterm: the guest keeps its queue
 *    full, re-adding requests as fast as the device completes them. The
 *    daemon still answers GET_VRING_BASE, and still exits on SIGTERM,
 *    within a second (bounded work per kick).
 *
 * The daemon path comes from VHOST_USER_NSM (tests/integration/meson.build).
 * RACE_ROUNDS in the environment changes the number of raced requests.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#include "client/nsmc.h"
#include "frontend/vhu_frontend.h"
#include "frontend/vhu_frontend_test.h"
#include "crypto/crypto.h"
#include "verify/verify.h"

#define MODULE_ID "i-0123456789abcdef0-enc0123456789abcdef"
#define PCR_SIZE  48

/* ---- the daemon ---------------------------------------------------------- */

struct daemon {
    pid_t pid;
    char dir[64];
    char sock[96];
};

static struct daemon live; /* killed by the teardown if a test fails */

static int kill_leftovers(void **state)
{
    (void)state;
    if (live.pid > 0) {
        kill(live.pid, SIGKILL);
        waitpid(live.pid, NULL, 0);
        live.pid = 0;
    }
    return 0;
}

static void nsm_start(struct daemon *d)
{
    const char *exe = getenv("VHOST_USER_NSM");
    char sock_arg[128], pki_arg[128];

    if (exe == NULL || exe[0] == '\0') {
        fail_msg("VHOST_USER_NSM is not set (run through meson test)");
    }
    snprintf(d->dir, sizeof(d->dir), "/tmp/tv-hg-XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    snprintf(d->sock, sizeof(d->sock), "%s/vhu.sock", d->dir);
    snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", d->sock);
    snprintf(pki_arg, sizeof(pki_arg), "--pki=%s/pki", d->dir);
    d->pid = fork();
    assert_true(d->pid >= 0);
    if (d->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(exe, exe, sock_arg, pki_arg, "--quiet", "--module-id=" MODULE_ID,
              (char *)NULL);
        _exit(127);
    }
    live = *d;
}

static void nsm_stop(struct daemon *d)
{
    char cmd[160];
    int status = 0;

    assert_int_equal(kill(d->pid, SIGTERM), 0);
    assert_int_equal(waitpid(d->pid, &status, 0), d->pid);
    live.pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
    assert_int_equal(system(cmd), 0);
}

static struct vhu_fe *fe_open(const struct daemon *d)
{
    struct vhu_fe_options o = {.connect_wait_ms = 5000, .timeout_ms = 10000};
    char err[256];
    struct vhu_fe *fe = vhu_fe_connect(d->sock, &o, err, sizeof(err));

    if (fe == NULL) {
        fail_msg("connect to %s: %s", d->sock, err);
    }
    return fe;
}

static unsigned rounds(unsigned dflt)
{
    const char *s = getenv("RACE_ROUNDS");

    return s != NULL && atoi(s) > 0 ? (unsigned)atoi(s) : dflt;
}

/* ---- NSM requests, raw ----------------------------------------------------
 */

static struct nsmc_resp resp;            /* large: off the stack */
static uint8_t raw[VHU_FE_NSM_RESP_LEN]; /* last response bytes */
static size_t raw_len;

/* One request; the raw response stays in @raw, the decoded one in @resp. */
static void nsm_do(struct vhu_fe *fe, const struct nsmc_req *req,
                   enum nsmc_op want)
{
    uint8_t buf[NSM_REQUEST_MAX_SIZE];
    size_t len = 0;
    int rc;

    assert_int_equal(nsmc_fill_req(req, buf, sizeof(buf), &len), NSMC_OK);
    rc = vhu_fe_nsm_call(fe, buf, len, raw, sizeof(raw), &raw_len);
    if (rc != 0) {
        fail_msg("%s: %s", nsmc_op_name(req->op), strerror(-rc));
    }
    assert_int_equal(nsmc_parse_resp(raw, raw_len, &resp), NSMC_OK);
    if (resp.op != want) {
        fail_msg("%s: answered %s", nsmc_op_name(req->op),
                 nsmc_op_name(resp.op));
    }
}

static void describe_pcr(struct vhu_fe *fe, uint16_t index,
                         uint8_t out[PCR_SIZE])
{
    struct nsmc_req r = {.op = NSMC_OP_DESCRIBE_PCR, .index = index};

    nsm_do(fe, &r, NSMC_OP_DESCRIBE_PCR);
    assert_int_equal(resp.data.len, PCR_SIZE);
    memcpy(out, resp.data.p, PCR_SIZE);
}

/*
 * Offset of the first occurrence of @needle in @raw. In a document the PCR
 * map comes in index order, so for PCR0's value this is PCR0 (other PCRs
 * may hold the same value).
 */
static uint32_t offset_of(const uint8_t *needle, size_t len)
{
    const uint8_t *p = memmem(raw, raw_len, needle, len);

    assert_non_null(p);
    return (uint32_t)(p - raw);
}

/* ---- attestation ------------------------------------------------------------
 */

static void attestation_race(void **state)
{
    static struct verify_root root;
    static struct verify_policy pol;
    static struct verify_result res;
    static uint8_t root_der[4096];
    static uint8_t doc[NSM_RESPONSE_MAX_SIZE];
    uint8_t real[16][PCR_SIZE];
    uint8_t forged[PCR_SIZE];
    struct nsmc_req att = {.op = NSMC_OP_ATTESTATION,
                           .nonce = {(const uint8_t *)"race", 4}};
    unsigned n = rounds(100);
    unsigned n_forged = 0, n_spoiled = 0, n_honest = 0, n_unsigned = 0;
    struct daemon d;
    struct vhu_fe *fe;
    uint32_t off;
    size_t root_len;
    char path[160];
    FILE *fp;

    (void)state;
    assert_int_equal(crypto_init(), 0);
    nsm_start(&d);
    fe = fe_open(&d);
    for (uint16_t i = 0; i < 16; i++) {
        describe_pcr(fe, i, real[i]);
    }
    snprintf(path, sizeof(path), "%s/pki/root.der", d.dir);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    root_len = fread(root_der, 1, sizeof(root_der), fp);
    fclose(fp);
    assert_int_equal(verify_root_init(&root, root_der, root_len), 0);
    memset(&pol, 0, sizeof(pol));
    /* fresh by the request's nonce, as a relying party checks it */
    pol.nonce = (struct verify_blob){(const uint8_t *)"race", 4, true};

    /* Where PCR0 lies in the response, from an unraced document. */
    nsm_do(fe, &att, NSMC_OP_ATTESTATION);
    off = offset_of(real[0], PCR_SIZE);
    memset(forged, 0x41, sizeof(forged));
    assert_int_equal(
        vhu_fe_test_race_nsm_response(fe, off, forged, sizeof(forged)), 0);

    for (unsigned k = 0; k < n; k++) {
        nsm_do(fe, &att, NSMC_OP_ATTESTATION);
        assert_true(resp.data.len <= sizeof(doc));
        memcpy(doc, resp.data.p, resp.data.len);
        if (verify_document(&root, &pol, doc, resp.data.len, &res) != 0) {
            /*
             * The guest broke its own copy. Put the device's PCR0 back
             * where the racer wrote: what the device signed must then
             * verify, because it signed its own values.
             */
            size_t at = off - (size_t)(resp.data.p - resp.raw);

            assert_true(at + PCR_SIZE <= resp.data.len);
            memcpy(doc + at, real[0], PCR_SIZE);
            if (verify_document(&root, &pol, doc, resp.data.len, &res) == 0) {
                n_spoiled++;
            } else {
                n_unsigned++;
            }
            continue;
        }
        bool same =
            res.doc.module_id.len == strlen(MODULE_ID) &&
            memcmp(res.doc.module_id.p, MODULE_ID, strlen(MODULE_ID)) == 0;

        for (unsigned i = 0; i < 16; i++) {
            same = same && (res.doc.pcr_mask & (1u << i)) != 0 &&
                   memcmp(res.doc.pcr[i], real[i], PCR_SIZE) == 0;
        }
        if (same) {
            n_honest++;
        } else {
            n_forged++;
        }
    }
    print_message("attestation_race: %u raced documents: %u verify with the "
                  "device's values, %u verify once the guest's rewrite of "
                  "its own copy is undone, %u verify with the guest's bytes, "
                  "%u were signed over neither (%llu racer writes)\n",
                  n, n_honest, n_spoiled, n_forged, n_unsigned,
                  (unsigned long long)vhu_fe_test_race_writes(fe));
    assert_true(vhu_fe_test_race_writes(fe) > 0);
    assert_int_equal(vhu_fe_test_race_nsm_response(fe, 0, NULL, 0), 0);
    assert_int_equal(n_forged, 0);
    assert_int_equal(n_unsigned, 0);
    /* The device is unharmed: an unraced document verifies with PCR0. */
    nsm_do(fe, &att, NSMC_OP_ATTESTATION);
    pol.pcr_mask = 1u;
    memcpy(pol.pcr[0], real[0], PCR_SIZE);
    memcpy(doc, resp.data.p, resp.data.len);
    assert_int_equal(verify_document(&root, &pol, doc, resp.data.len, &res), 0);
    verify_root_release(&root);
    vhu_fe_close(fe);
    nsm_stop(&d);
}

/* ---- ExtendPCR
 * ---------------------------------------------------------------
 */

static void extend_race(void **state)
{
    static const char data[] = "measured by a guest with two vCPUs";
    struct nsmc_req ext = {.op = NSMC_OP_EXTEND_PCR,
                           .index = 16,
                           .data = {(const uint8_t *)data, sizeof(data) - 1}};
    uint8_t old[PCR_SIZE], want[PCR_SIZE], bank[PCR_SIZE];
    uint8_t forged[PCR_SIZE];
    unsigned n = rounds(200);
    unsigned n_wrong = 0, n_spoiled = 0;
    struct daemon d;
    struct vhu_fe *fe;
    uint32_t off;

    (void)state;
    assert_int_equal(crypto_init(), 0);
    nsm_start(&d);
    fe = fe_open(&d);

    /* Where the new value lies in the response, from an unraced extend. */
    describe_pcr(fe, 16, old);
    assert_int_equal(
        crypto_sha384_2(old, PCR_SIZE, data, sizeof(data) - 1, want), 0);
    nsm_do(fe, &ext, NSMC_OP_EXTEND_PCR);
    off = offset_of(want, PCR_SIZE);
    memcpy(old, want, PCR_SIZE);
    memset(forged, 0x42, sizeof(forged));

    for (unsigned k = 0; k < n; k++) {
        assert_int_equal(
            crypto_sha384_2(old, PCR_SIZE, data, sizeof(data) - 1, want), 0);
        assert_int_equal(
            vhu_fe_test_race_nsm_response(fe, off, forged, sizeof(forged)), 0);
        nsm_do(fe, &ext, NSMC_OP_EXTEND_PCR);
        assert_int_equal(vhu_fe_test_race_nsm_response(fe, 0, NULL, 0), 0);
        if (memcmp(resp.data.p, want, PCR_SIZE) != 0) {
            n_spoiled++; /* the guest's own copy of the answer */
        }
        describe_pcr(fe, 16, bank);
        if (memcmp(bank, want, PCR_SIZE) != 0) {
            n_wrong++;
        }
        /* Follow the bank, so one wrong step does not spoil the rest. */
        memcpy(old, bank, PCR_SIZE);
    }
    print_message("extend_race: %u raced ExtendPCR 16: %u left a bank value "
                  "other than SHA-384(old || data), %u responses rewritten "
                  "by the guest\n",
                  n, n_wrong, n_spoiled);
    assert_int_equal(n_wrong, 0);
    vhu_fe_close(fe);
    nsm_stop(&d);
}

/* ---- a full queue
 * ------------------------------------------------------------
 */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* {"DescribePCR": {"index": 0}} */
static const uint8_t describe_pcr0[] = "\xa1\x6b"
                                       "DescribePCR\xa1\x65"
                                       "index\x00";

static struct vhu_fe *flood_start(struct daemon *d)
{
    /* The largest queue: thousands of requests stay queued even when the
     * flooding thread is off its core for milliseconds. */
    struct vhu_fe_options o = {.connect_wait_ms = 5000,
                               .timeout_ms = 1000,
                               .queue_size = 32768,
                               .mem_size = 4u << 20,
                               .n_regions = 1};
    char err[256];
    struct vhu_fe *fe;
    uint8_t pcr[PCR_SIZE];

    nsm_start(d);
    fe = vhu_fe_connect(d->sock, &o, err, sizeof(err));
    if (fe == NULL) {
        fail_msg("connect to %s: %s", d->sock, err);
    }
    describe_pcr(fe, 0, pcr); /* serving */
    assert_int_equal(
        vhu_fe_test_flood(fe, describe_pcr0, sizeof(describe_pcr0) - 1), 0);
    usleep(300 * 1000); /* the daemon is busy with the flood by now */
    return fe;
}

static void flooded_get_vring_base(void **state)
{
    struct daemon d;
    struct vhu_fe *fe;
    uint32_t base = 0;
    uint64_t served;
    double t0, dt;
    int rc;

    (void)state;
    fe = flood_start(&d);
    t0 = now_s();
    rc = vhu_fe_test_vring_base(fe, &base);
    dt = now_s() - t0;
    served = vhu_fe_test_flood_stop(fe);
    print_message("flooded_get_vring_base: answered %s after %.3f s, base "
                  "%u; %llu chains served during the flood\n",
                  rc == 0 ? "" : "NOT", dt, base, (unsigned long long)served);
    if (rc != 0) {
        fail_msg("GET_VRING_BASE under a full queue: %s", strerror(-rc));
    }
    assert_true(dt < 1.0);
    assert_true(served > 1000);
    vhu_fe_close(fe);
    nsm_stop(&d);
}

static void flooded_sigterm(void **state)
{
    struct daemon d;
    struct vhu_fe *fe;
    int status = 0;
    pid_t r = 0;
    double t0, dt;

    (void)state;
    fe = flood_start(&d);
    t0 = now_s();
    assert_int_equal(kill(d.pid, SIGTERM), 0);
    while (r == 0 && now_s() - t0 < 3.0) {
        r = waitpid(d.pid, &status, WNOHANG);
        if (r == 0) {
            usleep(1000);
        }
    }
    dt = now_s() - t0;
    print_message("flooded_sigterm: %s after %.3f s; %llu chains served "
                  "during the flood\n",
                  r == d.pid ? "exited" : "still running", dt,
                  (unsigned long long)vhu_fe_test_flood_stop(fe));
    vhu_fe_close(fe);
    if (r != d.pid) {
        fail_msg("vhost-user-nsm ignored SIGTERM under a full queue");
    }
    live.pid = 0;
    assert_true(dt < 1.0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    {
        char cmd[160];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d.dir);
        assert_int_equal(system(cmd), 0);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(attestation_race, kill_leftovers),
    cmocka_unit_test_teardown(extend_race, kill_leftovers),
    cmocka_unit_test_teardown(flooded_get_vring_base, kill_leftovers),
    cmocka_unit_test_teardown(flooded_sigterm, kill_leftovers),
};

HARNESS_MAIN("hostile_guest", tests)
