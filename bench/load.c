/* SPDX-License-Identifier: MIT */
/*
 * bench_load: many daemons on one host at once, each driven by its own
 * frontend (one thread each, all released together), for a bounded number
 * of requests; every answer is checked.
 *
 *   vhost-user-nsm   per daemon: ROUNDS x (DescribePCR 16, checked against
 *                    the value the client computes; ExtendPCR 16, checked
 *                    to be SHA-384(old || data)); an Attestation with a
 *                    fresh nonce every 10 rounds, verified (COSE, chain to
 *                    the PKI's root, PCR 0 as DescribePCR showed it, nonce);
 *                    then ExtendPCR 17,
 *                    LockPCR 17, and a further ExtendPCR 17 that must be
 *                    refused (ReadOnlyIndex) while DescribePCR 17 shows it
 *                    locked with its value unchanged
 *   vhost-user-rpmb  per daemon: PROGRAM_KEY (a key of its own), then
 *                    WRITES x (authenticated write of one block, read back
 *                    and compared), then the write counter, which must be
 *                    exactly WRITES; every response MAC-, nonce- and
 *                    counter-checked by the client
 *
 * Figures, each against its limit where there is one:
 *   start-up        exec to the first vhost-user message answered (the PKI
 *                   or the store is open before the daemon answers), median
 *                   and worst of 5 starts of one daemon on an otherwise idle
 *                   machine, the PKI and the store existing already; limit
 *                   20 ms
 *   memory          Private_Clean + Private_Dirty and Pss from smaps_rollup
 *                   of every daemon and the processes it started, after the
 *                   load with the frontends still connected: total over all
 *                   daemons, and the largest per daemon against the limits
 *                   (vhost-user-nsm 1 MiB, vhost-user-rpmb 1.5 MiB)
 *   throughput      requests (virtqueue round trips) per second over all
 *                   daemons during the load phase
 *   round trips     p50 and p99 of each operation under load
 *   health          every answer right, every daemon alive at the end and
 *                   exiting cleanly on SIGTERM
 *
 * The daemons' sockets, PKI and stores live in a fresh directory under
 * --dir (default /var/tmp, a real disk, as RPMB writes are durable), which
 * is removed at the end. Only UNIX sockets are used.
 *
 * Usage: bench_load [--nsm N] [--rpmb N] [--rounds R] [--writes W]
 *                   [--dir DIR] [--nsm-exe PATH] [--rpmb-exe PATH]
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/nsmc.h"
#include "client/nsmc_vhu.h"
#include "client/rpmbc.h"
#include "client/rpmbc_vhu.h"
#include "frontend/vhu_frontend.h"
#include "crypto/crypto.h"
#include "procmem.h"
#include "verify/verify.h"

#define DEFAULT_N_NSM       100u
#define DEFAULT_N_RPMB      100u
#define DEFAULT_ROUNDS      20u /* NSM rounds per daemon */
#define DEFAULT_WRITES      10u /* RPMB writes per daemon */
#define MAX_DAEMONS         1000u
#define ATTEST_EVERY        10u /* rounds between attestations */
#define STARTUP_RUNS        5u
#define STARTUP_LIMIT_MS    20.0
#define NSM_PRIV_LIMIT_KIB  1024.0 /* 1 MiB */
#define RPMB_PRIV_LIMIT_KIB 1536.0 /* 1.5 MiB */
#define RPMB_CAPACITY       "128K"
#define RPMB_N_BLOCKS       512u
#define READY_TIMEOUT_MS    30000

enum op {
    OP_NSM_PCR,    /* DescribePCR / ExtendPCR / LockPCR */
    OP_NSM_ATTEST, /* Attestation */
    OP_RPMB_WRITE, /* authenticated write: counter read + write */
    OP_RPMB_READ,  /* DATA_READ of one block */
    OP_RPMB_OTHER, /* PROGRAM_KEY, counter */
    OP_COUNT,
};

static const char *const op_name[OP_COUNT] = {
    "nsm_pcr", "nsm_attest", "rpmb_write", "rpmb_read", "rpmb_other",
};

/* Virtqueue round trips each operation makes. */
static const unsigned op_requests[OP_COUNT] = {1, 1, 2, 1, 1};

/* One timed operation. */
struct sample {
    uint64_t ns; /* round trip */
    enum op op;  /* what it was */
};

/**
 * struct worker - one daemon and the thread that drives it.
 * @is_rpmb:     which kind
 * @index:       its number among its kind
 * @pid:         the daemon
 * @sock:        its socket
 * @samples, @n_samples, @cap_samples: the timed operations
 * @fail:        what went wrong first (empty: nothing)
 */
struct worker {
    bool is_rpmb;
    unsigned index;
    pid_t pid;
    char sock[200];
    struct sample *samples;
    size_t n_samples;
    size_t cap_samples;
    char fail[200];
};

/* Shared, read-only during the load phase. */
static struct verify_root g_root;
static unsigned g_rounds = DEFAULT_ROUNDS;
static unsigned g_writes = DEFAULT_WRITES;
static pthread_barrier_t g_start;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void record(struct worker *w, enum op op, uint64_t t0)
{
    if (w->n_samples < w->cap_samples) {
        w->samples[w->n_samples].ns = now_ns() - t0;
        w->samples[w->n_samples].op = op;
        w->n_samples++;
    }
}

/* Keep the first failure: "@what" or "@what @detail". */
static void failf(struct worker *w, const char *what, const char *detail)
{
    if (w->fail[0] == '\0') {
        int n = snprintf(w->fail, sizeof(w->fail), "%s %u: %s",
                         w->is_rpmb ? "rpmb" : "nsm", w->index, what);

        if (detail != NULL && n > 0 && (size_t)n < sizeof(w->fail)) {
            size_t used = (size_t)n;

            /* truncating a long detail is fine */
            strncat(w->fail, " ", sizeof(w->fail) - used - 1);
            strncat(w->fail, detail, sizeof(w->fail) - strlen(w->fail) - 1);
        }
    }
}

/* ---- starting daemons --------------------------------------------------- */

static pid_t spawn(const char *exe, char *const argv[])
{
    pid_t pid = fork();

    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(exe, argv);
        _exit(127);
    }
    return pid;
}

/*
 * Wait until the daemon on @sock answers a vhost-user GET_FEATURES, which it
 * does only once it serves (after opening its PKI or store). The connection
 * is then dropped; the daemon serves the next one. Return 0 or -1.
 */
static int wait_ready(const char *sock, pid_t pid, int timeout_ms)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;

    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
    while (now_ns() < deadline) {
        /* GET_FEATURES (1), version 1, no payload */
        uint32_t hdr[3] = {1, 1, 0};
        uint8_t reply[12 + 8];
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ssize_t got = 0;

        if (fd < 0) {
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
            write(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr)) {
            while (got < (ssize_t)sizeof(reply)) {
                ssize_t r = read(fd, reply + got, sizeof(reply) - (size_t)got);

                if (r <= 0) {
                    break;
                }
                got += r;
            }
        }
        close(fd);
        if (got == (ssize_t)sizeof(reply)) {
            return 0;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            return -1; /* it died */
        }
        usleep(100);
    }
    return -1;
}

static pid_t start_nsm(const char *exe, const char *dir, unsigned i, char *sock,
                       size_t sock_len)
{
    char sock_arg[256], pki_arg[256];
    char *argv[] = {(char *)exe, sock_arg, pki_arg, "--quiet", NULL};

    snprintf(sock, sock_len, "%s/nsm-%u.sock", dir, i);
    snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", sock);
    snprintf(pki_arg, sizeof(pki_arg), "--pki=%s/pki", dir);
    return spawn(exe, argv);
}

static pid_t start_rpmb(const char *exe, const char *dir, unsigned i,
                        char *sock, size_t sock_len)
{
    char sock_arg[256], store_arg[256];
    char *argv[] = {(char *)exe, sock_arg,
                    store_arg,   "--capacity=" RPMB_CAPACITY,
                    "--quiet",   NULL};

    snprintf(sock, sock_len, "%s/rpmb-%u.sock", dir, i);
    snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", sock);
    snprintf(store_arg, sizeof(store_arg), "--store=%s/rpmb-%u.db", dir, i);
    return spawn(exe, argv);
}

/* SIGTERM, reap; *@cpu_ms (may be NULL) receives its user + system time. */
static int stop(pid_t pid, double *cpu_ms)
{
    struct rusage ru;
    int status;

    kill(pid, SIGTERM);
    if (wait4(pid, &status, 0, &ru) != pid) {
        return -1;
    }
    if (cpu_ms != NULL) {
        *cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/*
 * Start the daemon STARTUP_RUNS times (index @i, so its PKI or store from an
 * earlier start is reused) and time exec to ready. Return 0 or -1.
 */
static int startup_time(bool rpmb, const char *exe, const char *dir, unsigned i,
                        double *median_ms, double *max_ms,
                        double *cpu_median_ms)
{
    double ms[STARTUP_RUNS], cpu[STARTUP_RUNS];
    char sock[200];

    for (unsigned r = 0; r < STARTUP_RUNS; r++) {
        uint64_t t0 = now_ns();
        pid_t pid = rpmb ? start_rpmb(exe, dir, i, sock, sizeof(sock))
                         : start_nsm(exe, dir, i, sock, sizeof(sock));

        if (pid < 0 || wait_ready(sock, pid, READY_TIMEOUT_MS) != 0) {
            fprintf(stderr, "%s did not start\n", exe);
            return -1;
        }
        ms[r] = (double)(now_ns() - t0) / 1e6;
        if (stop(pid, &cpu[r]) != 0) {
            fprintf(stderr, "%s did not exit cleanly\n", exe);
            return -1;
        }
    }
    qsort(ms, STARTUP_RUNS, sizeof(ms[0]), cmp_double);
    qsort(cpu, STARTUP_RUNS, sizeof(cpu[0]), cmp_double);
    *cpu_median_ms = cpu[STARTUP_RUNS / 2];
    *median_ms = ms[STARTUP_RUNS / 2];
    *max_ms = ms[STARTUP_RUNS - 1];
    return 0;
}

/* ---- the NSM workload ---------------------------------------------------- */

static int nsm_op(struct worker *w, const struct nsmc_transport *t,
                  const struct nsmc_req *req, struct nsmc_resp *resp,
                  enum op op)
{
    uint64_t t0 = now_ns();
    int err = 0;
    int rc = nsmc_call(t, req, resp, &err);

    record(w, op, t0);
    if (rc != NSMC_OK) {
        failf(w, "request failed:", nsmc_strerror(rc));
        return -1;
    }
    return 0;
}

static bool is_op(const struct nsmc_resp *r, enum nsmc_op op)
{
    return r->op == op;
}

static void *nsm_worker(void *arg)
{
    struct worker *w = arg;
    struct vhu_fe_options o = {.connect_wait_ms = 10000};
    struct nsmc_resp *resp = malloc(sizeof(*resp));
    uint8_t pcr0[48], pcr16[48] = {0}, pcr17[48], data[32], nonce[32];
    struct nsmc_transport t;
    char err[256];
    struct vhu_fe *fe;

    if (resp == NULL) {
        failf(w, "out of memory", NULL);
        pthread_barrier_wait(&g_start);
        return NULL;
    }
    fe = vhu_fe_connect(w->sock, &o, err, sizeof(err));
    pthread_barrier_wait(&g_start);
    if (fe == NULL) {
        failf(w, "connect:", err);
        free(resp);
        return NULL;
    }
    t = nsmc_vhu_transport(fe);
    {
        /* PCR 0, for checking the documents */
        struct nsmc_req req = {.op = NSMC_OP_DESCRIBE_PCR, .index = 0};

        if (nsm_op(w, &t, &req, resp, OP_NSM_PCR) == 0) {
            if (is_op(resp, NSMC_OP_DESCRIBE_PCR) && resp->data.len == 48) {
                memcpy(pcr0, resp->data.p, 48);
            } else {
                failf(w, "DescribePCR 0: no value", NULL);
            }
        }
    }
    for (unsigned r = 0; r < g_rounds && w->fail[0] == '\0'; r++) {
        struct nsmc_req req = {.op = NSMC_OP_DESCRIBE_PCR, .index = 16};

        if (nsm_op(w, &t, &req, resp, OP_NSM_PCR) < 0) {
            break;
        }
        if (!is_op(resp, NSMC_OP_DESCRIBE_PCR) || resp->data.len != 48 ||
            memcmp(resp->data.p, pcr16, 48) != 0 || resp->lock) {
            failf(w, "DescribePCR 16: wrong value", NULL);
            break;
        }
        memset(data, (int)(w->index + r), sizeof(data));
        req.op = NSMC_OP_EXTEND_PCR;
        req.data.p = data;
        req.data.len = sizeof(data);
        if (nsm_op(w, &t, &req, resp, OP_NSM_PCR) < 0) {
            break;
        }
        if (crypto_sha384_2(pcr16, 48, data, sizeof(data), pcr16) != 0) {
            failf(w, "SHA-384 failed", NULL);
            break;
        }
        if (!is_op(resp, NSMC_OP_EXTEND_PCR) || resp->data.len != 48 ||
            memcmp(resp->data.p, pcr16, 48) != 0) {
            failf(w, "ExtendPCR 16: wrong value", NULL);
            break;
        }
        if ((r + 1) % ATTEST_EVERY == 0) {
            struct nsmc_req a = {.op = NSMC_OP_ATTESTATION};
            struct verify_policy pol;
            struct verify_result res;

            if (crypto_random(nonce, sizeof(nonce)) != 0) {
                failf(w, "random failed", NULL);
                break;
            }
            a.nonce.p = nonce;
            a.nonce.len = sizeof(nonce);
            if (nsm_op(w, &t, &a, resp, OP_NSM_ATTEST) < 0) {
                break;
            }
            if (!is_op(resp, NSMC_OP_ATTESTATION)) {
                failf(w, "Attestation: not a document", NULL);
                break;
            }
            memset(&pol, 0, sizeof(pol));
            pol.pcr_mask = 1u << 0; /* documents carry the locked PCRs */
            memcpy(pol.pcr[0], pcr0, 48);
            pol.nonce.p = nonce;
            pol.nonce.len = sizeof(nonce);
            pol.nonce.present = true;
            if (verify_document(&g_root, &pol, resp->data.p, resp->data.len,
                                &res) != VERIFY_OK) {
                failf(w,
                      "document does not verify:", verify_strerror(res.status));
                break;
            }
        }
    }
    if (w->fail[0] == '\0') {
        /* extend PCR 17, lock it, and see a further extend refused */
        struct nsmc_req req = {.op = NSMC_OP_EXTEND_PCR, .index = 17};
        uint8_t zero[48] = {0};

        memset(data, 0x17, sizeof(data));
        req.data.p = data;
        req.data.len = sizeof(data);
        if (crypto_sha384_2(zero, 48, data, sizeof(data), pcr17) != 0 ||
            nsm_op(w, &t, &req, resp, OP_NSM_PCR) < 0 ||
            !is_op(resp, NSMC_OP_EXTEND_PCR) ||
            memcmp(resp->data.p, pcr17, 48) != 0) {
            failf(w, "ExtendPCR 17 failed", NULL);
        }
        req.op = NSMC_OP_LOCK_PCR;
        if (w->fail[0] == '\0' && (nsm_op(w, &t, &req, resp, OP_NSM_PCR) < 0 ||
                                   !is_op(resp, NSMC_OP_LOCK_PCR))) {
            failf(w, "LockPCR 17 failed", NULL);
        }
        req.op = NSMC_OP_EXTEND_PCR;
        if (w->fail[0] == '\0' && (nsm_op(w, &t, &req, resp, OP_NSM_PCR) < 0 ||
                                   !is_op(resp, NSMC_OP_ERROR) ||
                                   resp->error != NSMC_E_READ_ONLY_INDEX)) {
            failf(w, "ExtendPCR of locked PCR 17 not refused", NULL);
        }
        req.op = NSMC_OP_DESCRIBE_PCR;
        if (w->fail[0] == '\0' &&
            (nsm_op(w, &t, &req, resp, OP_NSM_PCR) < 0 ||
             !is_op(resp, NSMC_OP_DESCRIBE_PCR) || !resp->lock ||
             resp->data.len != 48 || memcmp(resp->data.p, pcr17, 48) != 0)) {
            failf(w, "DescribePCR 17: not locked at its value", NULL);
        }
    }
    /* the frontend stays connected for the memory measurement */
    free(resp);
    return fe;
}

/* ---- the RPMB workload --------------------------------------------------- */

static void *rpmb_worker(void *arg)
{
    struct worker *w = arg;
    struct rpmbc *c = malloc(sizeof(*c));
    struct rpmbc_vhu *v = NULL;
    struct rpmbc_transport tr;
    uint8_t key[32], data[256], back[256];
    uint32_t counter = 0;
    uint64_t t0;
    int rc;

    if (c == NULL) {
        failf(w, "out of memory", NULL);
        pthread_barrier_wait(&g_start);
        return NULL;
    }
    rc = rpmbc_vhu_open(&v, w->sock);
    pthread_barrier_wait(&g_start);
    if (rc != 0) {
        failf(w, "connect:", strerror(-rc));
        free(c);
        return NULL;
    }
    tr = rpmbc_vhu_transport(v);
    rpmbc_init(c, &tr);
    if (crypto_random(key, sizeof(key)) != 0 ||
        rpmbc_get_config(c, NULL) != RPMBC_OK) {
        failf(w, "config failed", NULL);
        goto out;
    }
    t0 = now_ns();
    if (rpmbc_program_key(c, key) != RPMBC_OK) {
        failf(w, "PROGRAM_KEY failed", NULL);
        goto out;
    }
    record(w, OP_RPMB_OTHER, t0);
    for (unsigned i = 0; i < g_writes; i++) {
        uint16_t addr = (uint16_t)((i * 37u + w->index) % RPMB_N_BLOCKS);
        enum rpmbc_status st;

        for (size_t b = 0; b < sizeof(data); b++) {
            data[b] = (uint8_t)(w->index * 31u + i * 7u + b);
        }
        t0 = now_ns();
        st = rpmbc_write_blocks(c, key, addr, data, 1);
        record(w, OP_RPMB_WRITE, t0);
        if (st != RPMBC_OK) {
            failf(w, "write:", rpmbc_strerror(st));
            goto out;
        }
        if (c->last_counter != i + 1) {
            failf(w, "write counter not exact after a write", NULL);
            goto out;
        }
        t0 = now_ns();
        st = rpmbc_read_blocks(c, key, addr, back, 1);
        record(w, OP_RPMB_READ, t0);
        if (st != RPMBC_OK) {
            failf(w, "read:", rpmbc_strerror(st));
            goto out;
        }
        if (memcmp(back, data, sizeof(data)) != 0) {
            failf(w, "read did not return what was written", NULL);
            goto out;
        }
    }
    t0 = now_ns();
    if (rpmbc_read_counter(c, key, &counter) != RPMBC_OK) {
        failf(w, "counter read failed", NULL);
        goto out;
    }
    record(w, OP_RPMB_OTHER, t0);
    if (counter != g_writes) {
        failf(w, "write counter is not the number of writes", NULL);
    }
out:
    free(c);
    return v; /* stays connected for the memory measurement */
}

/* ---- figures ---------------------------------------------------------------
 */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* p50 and p99 of the samples of @op (all ops when @op is OP_COUNT). */
static size_t pct(struct worker *ws, size_t n_ws, enum op op, double *p50_us,
                  double *p99_us)
{
    size_t n = 0, k = 0;
    uint64_t *v;

    for (size_t i = 0; i < n_ws; i++) {
        n += ws[i].n_samples;
    }
    v = malloc((n ? n : 1) * sizeof(*v));
    if (v == NULL) {
        return 0;
    }
    for (size_t i = 0; i < n_ws; i++) {
        for (size_t j = 0; j < ws[i].n_samples; j++) {
            if (op == OP_COUNT || ws[i].samples[j].op == op) {
                v[k++] = ws[i].samples[j].ns;
            }
        }
    }
    if (k > 0) {
        qsort(v, k, sizeof(*v), cmp_u64);
        *p50_us = (double)v[k / 2] / 1000.0;
        *p99_us = (double)v[(k * 99) / 100] / 1000.0;
    }
    free(v);
    return k;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [--nsm N] [--rpmb N] [--rounds R] [--writes W]\n"
            "       [--dir DIR] [--nsm-exe PATH] [--rpmb-exe PATH]\n"
            "\n"
            "Starts N vhost-user-nsm and N vhost-user-rpmb daemons (default\n"
            "%u each), drives each with its own frontend at the same time\n"
            "(R NSM rounds of DescribePCR + ExtendPCR with an attestation\n"
            "every %u, then a PCR lock, default R = %u; W authenticated\n"
            "RPMB writes each read back, default W = %u), checks every\n"
            "answer, and prints start-up time, private memory and PSS,\n"
            "requests/s and p50/p99 round trips against their limits\n"
            "(start-up 20 ms; private memory 1 MiB per NSM daemon with its\n"
            "signer, 1.5 MiB per RPMB daemon).\n"
            "  --dir DIR       where sockets, PKI and stores go (a fresh\n"
            "                  directory inside DIR, removed at the end;\n"
            "                  default /var/tmp)\n"
            "  --nsm-exe PATH  default ../src/daemon/vhost-user-nsm next to\n"
            "                  this program; --rpmb-exe likewise\n"
            "Exit status: 0 when every answer was right and every daemon\n"
            "lived and exited cleanly, 1 otherwise, 2 on bad usage.\n",
            prog, DEFAULT_N_NSM, ATTEST_EVERY, DEFAULT_ROUNDS, DEFAULT_WRITES);
}

static bool parse_count(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v > max) {
        return false;
    }
    *out = (unsigned)v;
    return true;
}

static void ratio_line(const char *name, double value, const char *unit,
                       double limit, bool *all_ok)
{
    bool ok = value > 0 && value <= limit;

    printf("%-22s %9.2f %s (limit %.2f %s); ratio to limit %.2f %s\n", name,
           value, unit, limit, unit, value > 0 ? limit / value : 0.0,
           ok ? "PASS" : "FAIL");
    if (!ok) {
        *all_ok = false;
    }
}

int main(int argc, char **argv)
{
    char self[PATH_MAX], nsm_buf[PATH_MAX], rpmb_buf[PATH_MAX];
    char dir[PATH_MAX], root_path[PATH_MAX + 16];
    const char *base = "/var/tmp", *nsm_exe = NULL, *rpmb_exe = NULL;
    unsigned n_nsm = DEFAULT_N_NSM, n_rpmb = DEFAULT_N_RPMB;
    struct worker *ws;
    pthread_t *th;
    void **conn;
    pid_t *pids;
    struct procmem *mem;
    size_t n_ws;
    double st_nsm_med = 0, st_nsm_max = 0, st_nsm_cpu = 0;
    double st_rpmb_med = 0, st_rpmb_max = 0, st_rpmb_cpu = 0;
    uint64_t t_load0, t_load;
    unsigned long long n_requests = 0;
    bool limits_ok = true;
    int fails = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else if (strcmp(a, "--nsm") == 0 && v != NULL &&
                   parse_count(v, MAX_DAEMONS, &n_nsm)) {
            i++;
        } else if (strcmp(a, "--rpmb") == 0 && v != NULL &&
                   parse_count(v, MAX_DAEMONS, &n_rpmb)) {
            i++;
        } else if (strcmp(a, "--rounds") == 0 && v != NULL &&
                   parse_count(v, 100000, &g_rounds)) {
            i++;
        } else if (strcmp(a, "--writes") == 0 && v != NULL &&
                   parse_count(v, 100000, &g_writes)) {
            i++;
        } else if (strcmp(a, "--dir") == 0 && v != NULL) {
            base = argv[++i];
        } else if (strcmp(a, "--nsm-exe") == 0 && v != NULL) {
            nsm_exe = argv[++i];
        } else if (strcmp(a, "--rpmb-exe") == 0 && v != NULL) {
            rpmb_exe = argv[++i];
        } else {
            usage(stderr, argv[0]);
            return 2;
        }
    }
    if (n_nsm + n_rpmb == 0 || (n_nsm > 0 && g_rounds == 0) ||
        (n_rpmb > 0 && g_writes == 0)) {
        fprintf(stderr, "nothing to do\n");
        return 2;
    }
    {
        ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *here;

        if (l < 0) {
            perror("readlink /proc/self/exe");
            return 1;
        }
        self[l] = '\0';
        here = dirname(self);
        snprintf(nsm_buf, sizeof(nsm_buf), "%s/../src/daemon/vhost-user-nsm",
                 here);
        snprintf(rpmb_buf, sizeof(rpmb_buf), "%s/../src/daemon/vhost-user-rpmb",
                 here);
    }
    nsm_exe = nsm_exe != NULL ? nsm_exe : nsm_buf;
    rpmb_exe = rpmb_exe != NULL ? rpmb_exe : rpmb_buf;
    if (access(nsm_exe, X_OK) != 0 || access(rpmb_exe, X_OK) != 0) {
        fprintf(stderr, "%s or %s: not executable (see --help)\n", nsm_exe,
                rpmb_exe);
        return 1;
    }
    {
        /* each frontend holds a socket, a memfd and three eventfds */
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    snprintf(dir, sizeof(dir), "%s/tv-load-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "cannot create a directory in %s: %s\n", base,
                strerror(errno));
        return 1;
    }
    n_ws = (size_t)n_nsm + n_rpmb;
    ws = calloc(n_ws, sizeof(*ws));
    th = calloc(n_ws, sizeof(*th));
    conn = calloc(n_ws, sizeof(*conn));
    pids = calloc(n_ws, sizeof(*pids));
    mem = calloc(n_ws, sizeof(*mem));
    if (ws == NULL || th == NULL || conn == NULL || pids == NULL ||
        mem == NULL || crypto_init() != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }

    printf("bench_load: %u vhost-user-nsm (%u rounds) and %u vhost-user-rpmb "
           "(%u writes) daemons in %s\n",
           n_nsm, g_rounds, n_rpmb, g_writes, dir);

    /* the PKI (made by the first start) and one store, then start-up times */
    if (n_nsm > 0) {
        char sock[200];
        pid_t pid = start_nsm(nsm_exe, dir, 0, sock, sizeof(sock));
        uint8_t der[8192];
        size_t len;
        FILE *f;

        if (pid < 0 || wait_ready(sock, pid, READY_TIMEOUT_MS) != 0 ||
            stop(pid, NULL) != 0) {
            fprintf(stderr, "vhost-user-nsm did not start\n");
            return 1;
        }
        snprintf(root_path, sizeof(root_path), "%s/pki/root.pem", dir);
        f = fopen(root_path, "rb");
        len = f != NULL ? fread(der, 1, sizeof(der), f) : 0;
        if (f != NULL) {
            fclose(f);
        }
        if (len == 0 || verify_root_init(&g_root, der, len) != VERIFY_OK) {
            fprintf(stderr, "%s: cannot load the root\n", root_path);
            return 1;
        }
        if (startup_time(false, nsm_exe, dir, 0, &st_nsm_med, &st_nsm_max,
                         &st_nsm_cpu) < 0) {
            return 1;
        }
    }
    if (n_rpmb > 0) {
        char sock[200];
        pid_t pid = start_rpmb(rpmb_exe, dir, 9999, sock, sizeof(sock));

        if (pid < 0 || wait_ready(sock, pid, READY_TIMEOUT_MS) != 0 ||
            stop(pid, NULL) != 0) {
            fprintf(stderr, "vhost-user-rpmb did not start\n");
            return 1;
        }
        if (startup_time(true, rpmb_exe, dir, 9999, &st_rpmb_med, &st_rpmb_max,
                         &st_rpmb_cpu) < 0) {
            return 1;
        }
    }

    /* every daemon, then every frontend, then the load all at once */
    for (size_t i = 0; i < n_ws; i++) {
        struct worker *w = &ws[i];

        w->is_rpmb = i >= n_nsm;
        w->index = (unsigned)(w->is_rpmb ? i - n_nsm : i);
        w->cap_samples = w->is_rpmb ? 2u * g_writes + 4u : 2u * g_rounds + 8u;
        w->samples = calloc(w->cap_samples, sizeof(*w->samples));
        if (w->samples == NULL) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        w->pid =
            w->is_rpmb
                ? start_rpmb(rpmb_exe, dir, w->index, w->sock, sizeof(w->sock))
                : start_nsm(nsm_exe, dir, w->index, w->sock, sizeof(w->sock));
        pids[i] = w->pid;
        if (w->pid < 0) {
            perror("fork");
            return 1;
        }
    }
    for (size_t i = 0; i < n_ws; i++) {
        if (wait_ready(ws[i].sock, ws[i].pid, READY_TIMEOUT_MS) != 0) {
            failf(&ws[i], "daemon never became ready", NULL);
        }
    }
    if (pthread_barrier_init(&g_start, NULL, (unsigned)n_ws + 1) != 0) {
        return 1;
    }
    for (size_t i = 0; i < n_ws; i++) {
        if (pthread_create(&th[i], NULL,
                           ws[i].is_rpmb ? rpmb_worker : nsm_worker,
                           &ws[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    pthread_barrier_wait(&g_start); /* every frontend is connected */
    t_load0 = now_ns();
    for (size_t i = 0; i < n_ws; i++) {
        pthread_join(th[i], &conn[i]);
    }
    t_load = now_ns() - t_load0;

    /* memory with every frontend still connected, then health */
    if (procmem_trees(pids, n_ws, mem) != 0) {
        fprintf(stderr, "a daemon is gone before the end\n");
        fails++;
    }
    for (size_t i = 0; i < n_ws; i++) {
        if (waitpid(ws[i].pid, NULL, WNOHANG) != 0) {
            failf(&ws[i], "daemon died during the load", NULL);
        }
    }
    for (size_t i = 0; i < n_ws; i++) {
        if (ws[i].is_rpmb) {
            rpmbc_vhu_close(conn[i]);
        } else if (conn[i] != NULL) {
            vhu_fe_close(conn[i]);
        }
    }
    for (size_t i = 0; i < n_ws; i++) {
        kill(ws[i].pid, SIGTERM);
    }
    for (size_t i = 0; i < n_ws; i++) {
        int status;

        if (waitpid(ws[i].pid, &status, 0) != ws[i].pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            failf(&ws[i], "daemon did not exit cleanly on SIGTERM", NULL);
        }
    }

    /* figures */
    for (size_t i = 0; i < n_ws; i++) {
        if (ws[i].fail[0] != '\0') {
            if (fails < 10) {
                printf("FAIL %s\n", ws[i].fail);
            }
            fails++;
        }
        for (size_t j = 0; j < ws[i].n_samples; j++) {
            n_requests += op_requests[ws[i].samples[j].op];
        }
    }
    if (n_nsm > 0) {
        ratio_line("startup_nsm (median)", st_nsm_med, "ms", STARTUP_LIMIT_MS,
                   &limits_ok);
        printf("%-22s %9.2f ms worst of %u starts; CPU %.2f ms (median, "
               "start and exit)\n",
               "", st_nsm_max, STARTUP_RUNS, st_nsm_cpu);
    }
    if (n_rpmb > 0) {
        ratio_line("startup_rpmb (median)", st_rpmb_med, "ms", STARTUP_LIMIT_MS,
                   &limits_ok);
        printf("%-22s %9.2f ms worst of %u starts; CPU %.2f ms (median, "
               "start and exit)\n",
               "", st_rpmb_max, STARTUP_RUNS, st_rpmb_cpu);
    }
    for (int kind = 0; kind < 2; kind++) {
        long tot_priv = 0, tot_pss = 0, max_priv = 0;
        unsigned n = 0, procs = 0;

        for (size_t i = 0; i < n_ws; i++) {
            if (ws[i].is_rpmb != (kind == 1)) {
                continue;
            }
            tot_priv += mem[i].private_kib;
            tot_pss += mem[i].pss_kib;
            procs += mem[i].n_procs;
            if (mem[i].private_kib > max_priv) {
                max_priv = mem[i].private_kib;
            }
            n++;
        }
        if (n == 0) {
            continue;
        }
        printf("%-22s %u daemons (%u processes): private %ld KiB, PSS %ld "
               "KiB in total; per daemon private %.0f KiB, PSS %.0f KiB "
               "(mean)\n",
               kind ? "memory_rpmb" : "memory_nsm", n, procs, tot_priv, tot_pss,
               (double)tot_priv / n, (double)tot_pss / n);
        ratio_line(kind ? "private_rpmb (largest)" : "private_nsm (largest)",
                   (double)max_priv, "KiB",
                   kind ? RPMB_PRIV_LIMIT_KIB : NSM_PRIV_LIMIT_KIB, &limits_ok);
    }
    {
        long all_priv = 0, all_pss = 0;

        for (size_t i = 0; i < n_ws; i++) {
            all_priv += mem[i].private_kib;
            all_pss += mem[i].pss_kib;
        }
        printf("%-22s private %ld KiB, PSS %ld KiB over all %zu daemons\n",
               "memory_total", all_priv, all_pss, n_ws);
    }
    printf("%-22s %llu requests in %.2f s: %.0f requests/s over all "
           "daemons\n",
           "throughput", n_requests, (double)t_load / 1e9,
           (double)n_requests / ((double)t_load / 1e9));
    for (int op = 0; op <= OP_COUNT; op++) {
        double p50 = 0, p99 = 0;
        size_t k = pct(ws, n_ws, (enum op)op, &p50, &p99);

        if (k > 0) {
            printf("%-22s p50 %9.1f us  p99 %9.1f us  (%zu operations)\n",
                   op == OP_COUNT ? "round_trip_all" : op_name[op], p50, p99,
                   k);
        }
    }
    printf("%-22s %s: %d of %zu daemons failed\n", "correctness",
           fails ? "FAIL" : "PASS", fails, n_ws);
    printf("limits: %s\n", limits_ok ? "all met" : "NOT all met");

    if (n_nsm > 0) {
        verify_root_release(&g_root);
    }
    {
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", dir);
        }
    }
    for (size_t i = 0; i < n_ws; i++) {
        free(ws[i].samples);
    }
    free(ws);
    free(th);
    free(conn);
    free(pids);
    free(mem);
    return fails ? 1 : 0;
}
