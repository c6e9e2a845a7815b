/* SPDX-License-Identifier: MIT */
/*
 * bench_vhost: NSM round trips through a real vhost-user-nsm process
 * and the vhost-user frontend, against the notification path's own limit.
 *
 *   describe_pcr / extend_pcr  one request as the Linux driver sends it (two
 *                 chains, one kick, sleep on the call eventfd until both
 *                 used entries are back); p50 and p99 latency; limit: the
 *                 p50 must stay within 1.5x the ping-pong p50
 *   pingpong      the bare notification path measured in the same run: two
 *                 processes, two eventfds, the same wake-up mechanisms the
 *                 two ends use (the driver side sleeps in poll() on its
 *                 eventfd, the device side in epoll_wait()); p50 and p99
 *                 The ping-pong, describe_pcr and extend_pcr are measured
 *                 in rounds (each round: ping-pong, then both requests)
 *                 and each figure merges its samples over the rounds.
 *   describe_poll the same with the driver busy-polling the used ring (no
 *                 call eventfd on the driver side); information only
 *   app_ioctl     DescribePCR as an unmodified enclave program makes it:
 *                 open("/dev/nsm") and ioctl(NSM_IOCTL_RAW) under
 *                 LD_PRELOAD=libnsm-preload.so (bench_vhost_app ioctl);
 *                 limits: p50 within 1.10x the frontend's own p50 and
 *                 within 1.5x the ping-pong p50
 *   app_libnsm    the same through AWS's C API, nsm_describe_pcr() of
 *                 libnsm.so.0 (bench_vhost_app libnsm); same limits
 *                 These two are measured in rounds that interleave the
 *                 ping-pong, the frontend and both application paths, so
 *                 that all four see the same machine.
 *   memory        what each daemon costs the host, from
 *                 /proc/PID/smaps_rollup of the daemon and the processes
 *                 it started (the NSM signer), after requests were served
 *                 and with the frontend still connected:
 *                 Private_Clean + Private_Dirty against the limits
 *                 (vhost-user-nsm 1 MiB, vhost-user-rpmb 1.5 MiB), Pss
 *                 and Rss beside them; vhost-user-rpmb twice: "rpmb" after
 *                 PROGRAM_KEY, one authenticated write and one read, and
 *                 "rpmb_many" after RPMB_MANY_WRITES more requests of
 *                 every kind (a refused second PROGRAM_KEY, counter
 *                 reads, writes spread over the device, enough for WAL
 *                 checkpoints, and reads of all of it, with and without
 *                 a MAC check), the data read back checked against what
 *                 was written
 *   rpmb_write    p50 and p99 of rpmb_many's single-block authenticated
 *   rpmb_read     writes (each committed with fsync) and single-block
 *                 reads; information only
 *
 * Every figure is printed with its ratio to the limit (limit / measured for
 * times and sizes: >= 1.00 passes); the exit status is 1 when a figure
 * fails its limit or a measurement fails, 0 otherwise.
 *
 * Placement: by default this program pins itself to one CPU before it
 * starts anything, so the daemon, the processes it starts, the ping-pong's
 * child and bench_vhost_app all run on that CPU and every round trip, the
 * ping-pong's as the requests', is made of plain context switches (on a VM
 * a wake-up on another, idle vCPU goes through the hypervisor and costs
 * tens of microseconds, which would measure placement, not the code). The
 * header line names the mode. BENCH_PIN=none in the environment runs
 * everything unpinned as the scheduler places it, BENCH_PIN=N pins to
 * CPU N (see bench/pin.h). Every figure and ratio of one run is measured in
 * the same mode.
 *
 * Usage: bench_vhost [--iterations N] [--rpmb PATH] [--app PATH]
 *                    [--preload PATH] [--breakdown] [PATH-TO-vhost-user-nsm]
 * Without paths, the programs built next to this one are used
 * (../src/daemon/vhost-user-nsm and vhost-user-rpmb beside it,
 * bench_vhost_app, ../src/preload/libnsm-preload.so).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/rpmbc_vhu.h"
#include "frontend/vhu_frontend.h"
#include "pin.h"
#include "procmem.h"

#define DEFAULT_ITERATIONS  20000u
#define WARMUP              500u
#define LATENCY_LIMIT       1.5  /* x ping-pong p50 */
#define APP_LIMIT           1.10 /* x the frontend's own p50 */
#define APP_ROUNDS          4u
#define CORE_ROUNDS         4u     /* ping-pong, describe, extend */
#define NSM_PRIV_LIMIT_KIB  1024u  /* 1 MiB */
#define RPMB_PRIV_LIMIT_KIB 1536u  /* 1.5 MiB */
#define RPMB_MANY_WRITES    300u   /* > 256 WAL frames: checkpoints run */
#define RPMB_MAX_BLOCKS     65536u /* 16 MiB */

/* {"DescribePCR": {"index": 16}} (aws-nitro-enclaves-nsm-api) */
static const uint8_t req_describe[] = {
    0xa1, 0x6b, 'D',  'e',  's', 'c', 'r', 'i', 'b', 'e',  'P',
    'C',  'R',  0xa1, 0x65, 'i', 'n', 'd', 'e', 'x', 0x10,
};
/* {"ExtendPCR": {"index": 16, "data": h'010203'} */
static const uint8_t req_extend[] = {
    0xa1, 0x69, 'E', 'x', 't',  'e',  'n', 'd', 'P', 'C', 'R',  0xa2, 0x65, 'i',
    'n',  'd',  'e', 'x', 0x10, 0x64, 'd', 'a', 't', 'a', 0x43, 1,    2,    3,
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

struct pct {
    double p50_us;
    double p99_us;
};

static struct pct percentiles(uint64_t *ns, size_t n)
{
    struct pct p;

    qsort(ns, n, sizeof(*ns), cmp_u64);
    p.p50_us = (double)ns[n / 2] / 1000.0;
    p.p99_us = (double)ns[(n * 99) / 100] / 1000.0;
    return p;
}

/* ---- the bare notification path -------------------------------------- */

/*
 * Parent: write(a); poll(b); read(b). Child: epoll_wait(a); read(a);
 * write(b). One round trip = two cross-process wake-ups, exactly what a
 * request costs in notifications (kick, call).
 */
static int pingpong(size_t n, uint64_t *ns)
{
    int a = eventfd(0, EFD_CLOEXEC);
    int b = eventfd(0, EFD_CLOEXEC);
    uint64_t v = 1;
    pid_t pid;
    int status;

    if (a < 0 || b < 0) {
        perror("eventfd");
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        struct epoll_event ev = {.events = EPOLLIN};
        int ep = epoll_create1(EPOLL_CLOEXEC);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        ev.data.fd = a;
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev) < 0) {
            _exit(1);
        }
        for (size_t i = 0; i < n + WARMUP; i++) {
            struct epoll_event out;

            if (epoll_wait(ep, &out, 1, -1) != 1 ||
                read(a, &v, sizeof(v)) != sizeof(v) ||
                write(b, &v, sizeof(v)) != sizeof(v)) {
                _exit(1);
            }
        }
        _exit(0);
    }
    for (size_t i = 0; i < n + WARMUP; i++) {
        struct pollfd p = {b, POLLIN, 0};
        uint64_t t0 = now_ns();

        if (write(a, &v, sizeof(v)) != sizeof(v) || poll(&p, 1, 5000) != 1 ||
            read(b, &v, sizeof(v)) != sizeof(v)) {
            fprintf(stderr, "ping-pong failed\n");
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        if (i >= WARMUP) {
            ns[i - WARMUP] = now_ns() - t0;
        }
    }
    waitpid(pid, &status, 0);
    close(a);
    close(b);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* ---- the daemon -------------------------------------------------------- */

static int run_requests(struct vhu_fe *fe, const uint8_t *req, size_t req_len,
                        const char *name, size_t n, uint64_t *ns)
{
    static uint8_t resp[VHU_FE_NSM_RESP_LEN];
    size_t name_len = strlen(name);

    for (size_t i = 0; i < n + WARMUP; i++) {
        size_t len = 0;
        uint64_t t0 = now_ns();
        int rc = vhu_fe_nsm_call(fe, req, req_len, resp, sizeof(resp), &len);
        uint64_t t1 = now_ns();

        /* the answer must be the same variant, not {"Error": ...} */
        if (rc != 0 || len < 2 + name_len || resp[0] != 0xa1 ||
            memcmp(resp + 2, name, name_len) != 0) {
            fprintf(stderr, "%s: request failed (%s, %zu bytes)\n", name,
                    rc ? strerror(-rc) : "unexpected answer", len);
            return -1;
        }
        if (i >= WARMUP) {
            ns[i - WARMUP] = t1 - t0;
        }
    }
    return 0;
}

/* ---- the application's path ------------------------------------------ */

/*
 * Run bench_vhost_app @mode for @n round trips against @sock, under
 * LD_PRELOAD=@preload when it is not NULL, and read its @n samples.
 */
static int app_run(const char *app, const char *mode, const char *preload,
                   const char *sock, size_t n, uint64_t *ns)
{
    char n_arg[32];
    size_t want = n * sizeof(*ns), got = 0;
    int fds[2], status;
    pid_t pid;

    snprintf(n_arg, sizeof(n_arg), "%zu", n);
    if (pipe(fds) < 0) {
        perror("pipe");
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        setenv("TRUSTVIO_NSM_SOCKET", sock, 1);
        if (preload != NULL) {
            setenv("LD_PRELOAD", preload, 1);
        } else {
            unsetenv("LD_PRELOAD");
        }
        execl(app, app, mode, n_arg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    while (got < want) {
        ssize_t r = read(fds[0], (uint8_t *)ns + got, want - got);

        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
    if (got != want || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s %s: failed (status %d, %zu of %zu bytes)\n", app,
                mode, status, got, want);
        return -1;
    }
    return 0;
}

struct app_figures {
    struct pct pingpong;
    struct pct frontend;
    struct pct ioctl;
    struct pct libnsm;
};

/*
 * APP_ROUNDS rounds of: ping-pong, the frontend's own DescribePCR (a fresh
 * connection each round, as each application process opens its own), the
 * ioctl under the preload, libnsm. Each path's samples are merged over the
 * rounds. The daemon serves one frontend at a time, so each closes before
 * the next connects.
 */
static int measure_app(const char *sock, const char *app, const char *preload,
                       size_t n, struct app_figures *f)
{
    struct vhu_fe_options o = {.connect_wait_ms = 10000,
                               .timeout_ms = 10000,
                               .flags = VHU_FE_NO_STATUS};
    size_t m = n / APP_ROUNDS;
    uint64_t *pp = calloc(4 * m * APP_ROUNDS, sizeof(uint64_t));
    uint64_t *fe_ns = pp + m * APP_ROUNDS;
    uint64_t *io_ns = fe_ns + m * APP_ROUNDS;
    uint64_t *lib_ns = io_ns + m * APP_ROUNDS;
    char err[256];
    int rc = -1;

    if (pp == NULL) {
        perror("calloc");
        return -1;
    }
    for (unsigned r = 0; r < APP_ROUNDS; r++) {
        struct vhu_fe *fe;

        if (pingpong(m, pp + r * m) < 0) {
            goto out;
        }
        fe = vhu_fe_connect(sock, &o, err, sizeof(err));
        if (fe == NULL) {
            fprintf(stderr, "connect: %s\n", err);
            goto out;
        }
        if (run_requests(fe, req_describe, sizeof(req_describe), "DescribePCR",
                         m, fe_ns + r * m) < 0) {
            vhu_fe_close(fe);
            goto out;
        }
        vhu_fe_close(fe);
        if (app_run(app, "ioctl", preload, sock, m, io_ns + r * m) < 0 ||
            app_run(app, "libnsm", NULL, sock, m, lib_ns + r * m) < 0) {
            goto out;
        }
    }
    f->pingpong = percentiles(pp, m * APP_ROUNDS);
    f->frontend = percentiles(fe_ns, m * APP_ROUNDS);
    f->ioctl = percentiles(io_ns, m * APP_ROUNDS);
    f->libnsm = percentiles(lib_ns, m * APP_ROUNDS);
    rc = 0;
out:
    free(pp);
    return rc;
}

static bool print_app(const char *name, struct pct p, const struct pct *fe,
                      const struct pct *pp)
{
    double fe_limit = APP_LIMIT * fe->p50_us;
    double pp_limit = LATENCY_LIMIT * pp->p50_us;
    bool ok = p.p50_us <= fe_limit && p.p50_us <= pp_limit;

    printf("%-13s p50 %8.2f us  p99 %8.2f us  = %.3fx frontend p50, ratio "
           "to limit (%.2fx) %.2f; = %.2fx ping-pong p50, ratio to limit "
           "(%.1fx) %.2f %s\n",
           name, p.p50_us, p.p99_us, p.p50_us / fe->p50_us, APP_LIMIT,
           fe_limit / p.p50_us, p.p50_us / pp->p50_us, LATENCY_LIMIT,
           pp_limit / p.p50_us, ok ? "PASS" : "FAIL");
    return ok;
}

/* ---- memory ------------------------------------------------------------- */

static bool print_mem(const char *name, const struct procmem *m,
                      unsigned limit_kib)
{
    bool ok = m->private_kib > 0 && m->private_kib <= (long)limit_kib;

    printf("%-13s private %ld KiB (limit %u KiB); ratio to limit %.2f %s; "
           "PSS %ld KiB, RSS %ld KiB, %u process%s; of the private: "
           "dirty %ld KiB, clean %ld KiB\n",
           name, m->private_kib, limit_kib,
           (double)limit_kib / (double)m->private_kib, ok ? "PASS" : "FAIL",
           m->pss_kib, m->rss_kib, m->n_procs, m->n_procs == 1 ? "" : "es",
           m->private_kib - m->clean_kib, m->clean_kib);
    return ok;
}

/*
 * Latencies of rpmb_many()'s requests, information only: a single-block
 * authenticated write as rpmbc_write_blocks() makes it (counter read,
 * DATA_WRITE, RESULT_READ; the daemon's commit fsyncs), and a single-block
 * read (DATA_READ).
 */
struct rpmb_lat {
    struct pct write;
    struct pct read;
};

/*
 * The requests behind "rpmb_many": every kind the device serves, many
 * times, over the whole capacity. @shadow holds what the device holds
 * (block 3 written already); @lat receives the latencies. Return 0, or -1
 * when a request fails or reads back wrong data.
 */
static int rpmb_many(struct rpmbc *c, const uint8_t key[32], uint8_t *shadow,
                     struct rpmb_lat *lat)
{
    uint32_t n_blocks = rpmbc_capacity_blocks(c);
    uint8_t buf[16 * 256], back[64 * 256];
    uint64_t w_ns[RPMB_MANY_WRITES], r_ns[RPMB_MAX_BLOCKS / 64];
    size_t n_w = 0, n_r = 0;
    uint32_t counter;

    if (n_blocks < 64 || n_blocks > RPMB_MAX_BLOCKS) {
        fprintf(stderr, "vhost-user-rpmb: %u blocks, expected 64 to %u\n",
                n_blocks, RPMB_MAX_BLOCKS);
        return -1;
    }
    if (rpmbc_program_key(c, key) != RPMBC_ERR_DEVICE) {
        fprintf(stderr, "vhost-user-rpmb: a second key was not refused\n");
        return -1;
    }
    for (uint32_t i = 0; i < RPMB_MANY_WRITES; i++) {
        /*
         * single blocks spread over the device, every 16th write 16 (sent
         * as 16 requests at the default max_wr_cnt of 1)
         */
        size_t n = i % 16 == 15 ? 16 : 1;
        uint16_t a = (uint16_t)((i * 2477u) % (n_blocks - n));
        uint64_t t0;

        for (size_t j = 0; j < n * 256; j++) {
            buf[j] = (uint8_t)(i + j * 13u);
        }
        t0 = now_ns();
        if (rpmbc_write_blocks(c, key, a, buf, n) != RPMBC_OK) {
            fprintf(stderr, "vhost-user-rpmb: write %u failed\n", i);
            return -1;
        }
        if (n == 1) {
            w_ns[n_w++] = now_ns() - t0;
        }
        if (rpmbc_read_counter(c, key, &counter) != RPMBC_OK) {
            fprintf(stderr, "vhost-user-rpmb: counter read failed\n");
            return -1;
        }
        memcpy(shadow + (size_t)a * 256, buf, n * 256);
    }
    for (uint32_t a = 0; a < n_blocks; a += 64) {
        size_t n = n_blocks - a < 64 ? n_blocks - a : 64;
        uint64_t t0;
        int ok;

        ok = rpmbc_read_blocks(c, key, (uint16_t)a, back, n) == RPMBC_OK &&
             memcmp(back, shadow + (size_t)a * 256, n * 256) == 0;
        t0 = now_ns();
        ok = ok && rpmbc_read_blocks(c, NULL, (uint16_t)a, back, 1) == RPMBC_OK;
        r_ns[n_r++] = now_ns() - t0;
        if (!ok || memcmp(back, shadow + (size_t)a * 256, 256) != 0) {
            fprintf(stderr, "vhost-user-rpmb: reading block %u failed\n", a);
            return -1;
        }
    }
    lat->write = percentiles(w_ns, n_w);
    lat->read = percentiles(r_ns, n_r);
    return 0;
}

/*
 * Start vhost-user-rpmb on a fresh store in @dir, program a key, write one
 * block and read it back through the frontend, and measure the daemon's
 * memory into @first with the frontend still connected; then serve
 * rpmb_many() (latencies into @lat) and measure again into @many. Return
 * 0 or -1.
 */
static bool breakdown; /* --breakdown: per-mapping private memory */

static int rpmb_memory(const char *exe, const char *dir, struct procmem *first,
                       struct procmem *many, struct rpmb_lat *lat)
{
    static const uint8_t key[32] = {0x42};
    char sock[160], sock_arg[200], store_arg[200];
    uint8_t data[256], back[256];
    uint8_t *shadow = NULL;
    struct rpmbc_vhu *v = NULL;
    struct rpmbc_transport tr;
    struct rpmbc c;
    pid_t pid;
    int rc = -1, st;

    snprintf(sock, sizeof(sock), "%s/rpmb.sock", dir);
    snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", sock);
    snprintf(store_arg, sizeof(store_arg), "--store=%s/rpmb.db", dir);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(exe, exe, sock_arg, store_arg, "--quiet", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) { /* the daemon creates its socket */
        if (rpmbc_vhu_open(&v, sock) == 0) {
            break;
        }
        v = NULL;
        usleep(10 * 1000);
    }
    if (v == NULL) {
        fprintf(stderr, "%s: no connection\n", exe);
        goto out;
    }
    tr = rpmbc_vhu_transport(v);
    rpmbc_init(&c, &tr);
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 7u);
    }
    if (rpmbc_get_config(&c, NULL) != RPMBC_OK ||
        rpmbc_program_key(&c, key) != RPMBC_OK ||
        rpmbc_write_blocks(&c, key, 3, data, 1) != RPMBC_OK ||
        rpmbc_read_blocks(&c, key, 3, back, 1) != RPMBC_OK ||
        memcmp(data, back, sizeof(data)) != 0) {
        fprintf(stderr, "vhost-user-rpmb: requests failed\n");
        goto out;
    }
    usleep(200 * 1000); /* let the daemon go idle */
    rc = procmem_trees(&pid, 1, first);
    if (rc == 0 && breakdown) {
        fprintf(stderr, "vhost-user-rpmb after the first requests:\n");
        (void)procmem_breakdown_tree(pid, stderr);
    }
    if (rc != 0) {
        goto out;
    }
    rc = -1;
    shadow = calloc(rpmbc_capacity_blocks(&c), 256);
    if (shadow == NULL) {
        perror("calloc");
        goto out;
    }
    memcpy(shadow + 3 * 256, data, sizeof(data));
    if (rpmb_many(&c, key, shadow, lat) != 0) {
        goto out;
    }
    usleep(200 * 1000);
    rc = procmem_trees(&pid, 1, many);
    if (rc == 0 && breakdown) {
        fprintf(stderr,
                "vhost-user-rpmb after %u more writes and reads of "
                "the whole device:\n",
                RPMB_MANY_WRITES);
        (void)procmem_breakdown_tree(pid, stderr);
    }
out:
    free(shadow);
    rpmbc_vhu_close(v);
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    return rc;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(
        out,
        "Usage: %s [--iterations N] [--rpmb PATH] [--app PATH]\n"
        "       [--preload PATH] [--breakdown] [PATH-TO-vhost-user-nsm]\n"
        "\n"
        "Starts vhost-user-nsm on a temporary socket, connects the\n"
        "vhost-user frontend and measures DescribePCR and ExtendPCR round\n"
        "trips (p50, p99) beside a two-process eventfd ping-pong; then\n"
        "DescribePCR as an application makes it, through\n"
        "libnsm-preload.so and through libnsm.so.0, interleaved with the\n"
        "frontend and the ping-pong; then the private memory (and PSS) of\n"
        "vhost-user-nsm and vhost-user-rpmb after serving requests (for\n"
        "vhost-user-rpmb also after many requests of every kind).\n"
        "Every process taking part runs on one CPU (the last this one may\n"
        "run on) unless BENCH_PIN=none (unpinned) or BENCH_PIN=N (CPU N)\n"
        "is set in the environment; the header line names the mode.\n"
        "Ratios >= 1.00 meet the limits (frontend p50 within 1.5x the\n"
        "ping-pong p50; application p50 within 1.10x the frontend's and\n"
        "1.5x the ping-pong's; private memory within 1 MiB for NSM,\n"
        "1.5 MiB for RPMB).\n"
        "  --rpmb PATH     vhost-user-rpmb (default: beside the NSM daemon)\n"
        "  --app PATH      bench_vhost_app (default: beside this program)\n"
        "  --preload PATH  libnsm-preload.so (default:\n"
        "                  ../src/preload/libnsm-preload.so next to this\n"
        "                  program)\n"
        "  --breakdown     also print each measured process's private\n"
        "                  memory mapping by mapping (from\n"
        "                  /proc/PID/smaps) on stderr\n"
        "Default daemon: ../src/daemon/vhost-user-nsm next to this "
        "program.\nDefault iterations: %u per measurement.\n",
        prog, DEFAULT_ITERATIONS);
}

static bool print_latency(const char *name, struct pct p, struct pct base)
{
    double limit = LATENCY_LIMIT * base.p50_us;
    bool ok = p.p50_us <= limit;

    printf("%-13s p50 %8.2f us  p99 %8.2f us  = %.2fx ping-pong p50; "
           "ratio to limit (%.1fx) %.2f %s\n",
           name, p.p50_us, p.p99_us, p.p50_us / base.p50_us, LATENCY_LIMIT,
           limit / p.p50_us, ok ? "PASS" : "FAIL");
    return ok;
}

int main(int argc, char **argv)
{
    char exe_buf[PATH_MAX], self[PATH_MAX], dir[] = "/tmp/tv-bench-XXXXXX";
    char sock[128], sock_arg[160], pki_arg[160], err[256];
    char rpmb_buf[PATH_MAX], app_buf[PATH_MAX], preload_buf[PATH_MAX];
    const char *exe = NULL, *rpmb_exe = NULL, *app = NULL, *preload = NULL;
    struct app_figures af;
    struct procmem nsm_mem, rpmb_mem, rpmb_many_mem;
    struct rpmb_lat rpmb_lat;
    bool have_app = false, have_nsm_mem, have_rpmb_mem = false;
    size_t n = DEFAULT_ITERATIONS;
    struct vhu_fe_options o = {.connect_wait_ms = 10000, .timeout_ms = 10000};
    struct pct pp, pd, pe, pq;
    struct bench_pin pin;
    uint64_t *ns, *pp_ns, *pd_ns;
    size_t m;
    struct vhu_fe *fe;
    pid_t pid;
    int status, fails = 0, above = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            n = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--breakdown") == 0) {
            breakdown = true;
        } else if (strcmp(argv[i], "--rpmb") == 0 && i + 1 < argc) {
            rpmb_exe = argv[++i];
        } else if (strcmp(argv[i], "--app") == 0 && i + 1 < argc) {
            app = argv[++i];
        } else if (strcmp(argv[i], "--preload") == 0 && i + 1 < argc) {
            preload = argv[++i];
        } else if (argv[i][0] != '-' && exe == NULL) {
            exe = argv[i];
        } else {
            usage(stderr, argv[0]);
            return 2;
        }
    }
    if (n < 100) {
        fprintf(stderr, "at least 100 iterations\n");
        return 2;
    }
    {
        ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
        const char *here;

        if (l < 0) {
            perror("readlink /proc/self/exe");
            return 1;
        }
        self[l] = '\0';
        here = dirname(self);
        if (exe == NULL) {
            snprintf(exe_buf, sizeof(exe_buf),
                     "%s/../src/daemon/vhost-user-nsm", here);
            exe = exe_buf;
        }
        if (app == NULL) {
            snprintf(app_buf, sizeof(app_buf), "%s/bench_vhost_app", here);
            app = app_buf;
        }
        if (preload == NULL) {
            snprintf(preload_buf, sizeof(preload_buf),
                     "%s/../src/preload/libnsm-preload.so", here);
            preload = preload_buf;
        }
        if (rpmb_exe == NULL) {
            char tmp[PATH_MAX];

            snprintf(tmp, sizeof(tmp), "%s", exe);
            snprintf(rpmb_buf, sizeof(rpmb_buf), "%s/vhost-user-rpmb",
                     dirname(tmp));
            rpmb_exe = rpmb_buf;
        }
    }
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "%s: %s (pass the daemon's path)\n", exe,
                strerror(errno));
        return 1;
    }
    /* before anything is started: every process inherits the CPU */
    if (bench_pin_apply(&pin) != 0) {
        return 1;
    }
    m = n / CORE_ROUNDS;
    ns = calloc(3 * n, sizeof(*ns));
    pp_ns = ns + n;
    pd_ns = pp_ns + n;
    if (ns == NULL || mkdtemp(dir) == NULL) {
        perror("setup");
        return 1;
    }
    snprintf(sock, sizeof(sock), "%s/nsm.sock", dir);
    snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", sock);
    snprintf(pki_arg, sizeof(pki_arg), "--pki=%s/pki", dir);

    pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(exe, exe, sock_arg, pki_arg, "--quiet", (char *)NULL);
        _exit(127);
    }
    fe = vhu_fe_connect(sock, &o, err, sizeof(err));
    if (fe == NULL) {
        fprintf(stderr, "connect: %s\n", err);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 1;
    }
    /* rounds of: the bare notification path, DescribePCR, ExtendPCR */
    for (unsigned r = 0; r < CORE_ROUNDS && fails == 0; r++) {
        if (pingpong(m, pp_ns + r * m) < 0 ||
            run_requests(fe, req_describe, sizeof(req_describe), "DescribePCR",
                         m, pd_ns + r * m) < 0 ||
            run_requests(fe, req_extend, sizeof(req_extend), "ExtendPCR", m,
                         ns + r * m) < 0) {
            fails++;
        }
    }
    pp = percentiles(pp_ns, m * CORE_ROUNDS);
    pd = percentiles(pd_ns, m * CORE_ROUNDS);
    pe = percentiles(ns, m * CORE_ROUNDS);
    /* for information: the driver side spinning on the used ring instead */
    vhu_fe_set_flags(fe, VHU_FE_POLL, 0);
    if (run_requests(fe, req_describe, sizeof(req_describe), "DescribePCR", n,
                     ns) < 0) {
        fails++;
    }
    pq = percentiles(ns, n);
    usleep(200 * 1000); /* let the daemon go idle */
    have_nsm_mem = procmem_trees(&pid, 1, &nsm_mem) == 0;
    if (have_nsm_mem && breakdown) {
        (void)procmem_breakdown_tree(pid, stderr);
    }
    vhu_fe_close(fe);

    if (access(app, X_OK) != 0 || access(preload, R_OK) != 0) {
        fprintf(stderr, "%s or %s missing: no application paths\n", app,
                preload);
        fails++;
    } else if (measure_app(sock, app, preload, n, &af) < 0) {
        fails++;
    } else {
        have_app = true;
    }
    if (access(rpmb_exe, X_OK) != 0) {
        fprintf(stderr, "%s: %s\n", rpmb_exe, strerror(errno));
        fails++;
    } else if (rpmb_memory(rpmb_exe, dir, &rpmb_mem, &rpmb_many_mem,
                           &rpmb_lat) < 0) {
        fails++;
    } else {
        have_rpmb_mem = true;
    }

    printf("bench_vhost: %s; %u rounds of %zu round trips, each round "
           "ping-pong, describe_pcr, extend_pcr; frontend sleeping on the "
           "call eventfd (EVENT_IDX), queue size %u\n",
           pin.desc, CORE_ROUNDS, m, VHU_FE_DEFAULT_QUEUE_SIZE);
    printf("%-13s p50 %8.2f us  p99 %8.2f us\n", "pingpong", pp.p50_us,
           pp.p99_us);
    if (fails == 0) {
        above += !print_latency("describe_pcr", pd, pp);
        above += !print_latency("extend_pcr", pe, pp);
        printf("%-13s p50 %8.2f us  p99 %8.2f us  (driver polling the used "
               "ring; information only)\n",
               "describe_poll", pq.p50_us, pq.p99_us);
    }
    if (have_app) {
        printf("application path: %u rounds of %zu round trips, each round "
               "ping-pong, frontend, ioctl under libnsm-preload.so, "
               "libnsm.so.0\n",
               APP_ROUNDS, n / APP_ROUNDS);
        printf("%-13s p50 %8.2f us  p99 %8.2f us\n", "pingpong",
               af.pingpong.p50_us, af.pingpong.p99_us);
        printf("%-13s p50 %8.2f us  p99 %8.2f us  = %.2fx ping-pong p50\n",
               "frontend", af.frontend.p50_us, af.frontend.p99_us,
               af.frontend.p50_us / af.pingpong.p50_us);
        above += !print_app("app_ioctl", af.ioctl, &af.frontend, &af.pingpong);
        above +=
            !print_app("app_libnsm", af.libnsm, &af.frontend, &af.pingpong);
    }
    printf("memory: smaps_rollup of the daemon and the processes it "
           "started, after serving requests (clean private pages: library "
           "pages no other process maps at the moment)\n");
    if (have_nsm_mem) {
        above += !print_mem("nsm", &nsm_mem, NSM_PRIV_LIMIT_KIB);
    }
    if (have_rpmb_mem) {
        above += !print_mem("rpmb", &rpmb_mem, RPMB_PRIV_LIMIT_KIB);
        above += !print_mem("rpmb_many", &rpmb_many_mem, RPMB_PRIV_LIMIT_KIB);
        printf("%-13s p50 %8.2f us  p99 %8.2f us  (rpmb_many's single-block "
               "authenticated writes: counter read, DATA_WRITE committed "
               "with fsync, RESULT_READ; information only)\n",
               "rpmb_write", rpmb_lat.write.p50_us, rpmb_lat.write.p99_us);
        printf("%-13s p50 %8.2f us  p99 %8.2f us  (rpmb_many's single-block "
               "DATA_READs; information only)\n",
               "rpmb_read", rpmb_lat.read.p50_us, rpmb_lat.read.p99_us);
    }

    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    {
        char cmd[96];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", dir);
        }
    }
    free(ns);
    return fails || above ? 1 : 0;
}
