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
 *   describe_poll the same with the driver busy-polling the used ring (no
 *                 call eventfd on the driver side); information only
 *   idle_rss      VmRSS of the daemon after setup and the runs above;
 *                 limit 4 MiB
 *
 * Every figure is printed with its ratio to the limit (limit / measured for
 * times and sizes: >= 1.00 passes).
 *
 * Usage: bench_vhost [--iterations N] [PATH-TO-vhost-user-nsm]
 * Without a path, the daemon built next to this program
 * (../src/daemon/vhost-user-nsm) is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontend/vhu_frontend.h"

#define DEFAULT_ITERATIONS 20000u
#define WARMUP             500u
#define LATENCY_LIMIT      1.5          /* x ping-pong p50 */
#define RSS_LIMIT_KIB      (4u * 1024u) /* 4 MiB */

/* {"DescribePCR": {"index": 16}} (nsm-protocol.md §3) */
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

/* A "Name:   123 kB" line of /proc/PID/@file, in KiB, or -1. */
static long proc_kib(pid_t pid, const char *file, const char *key)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, strlen(key)) == 0) {
            kib = strtol(line + strlen(key), NULL, 10);
        }
    }
    fclose(f);
    return kib;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(
        out,
        "Usage: %s [--iterations N] [PATH-TO-vhost-user-nsm]\n"
        "\n"
        "Starts vhost-user-nsm on a temporary socket, connects the\n"
        "vhost-user frontend and measures DescribePCR and ExtendPCR round\n"
        "trips (p50, p99) beside a two-process eventfd ping-pong, then the\n"
        "daemon's idle VmRSS. Ratios >= 1.00 meet the limits (p50 within\n"
        "1.5x the ping-pong p50; RSS within 4 MiB).\n"
        "Default daemon: ../src/daemon/vhost-user-nsm next to this "
        "program.\nDefault iterations: %u per measurement.\n",
        prog, DEFAULT_ITERATIONS);
}

static void print_latency(const char *name, struct pct p, struct pct base)
{
    double limit = LATENCY_LIMIT * base.p50_us;

    printf("%-13s p50 %8.2f us  p99 %8.2f us  = %.2fx ping-pong p50; "
           "ratio to limit (%.1fx) %.2f %s\n",
           name, p.p50_us, p.p99_us, p.p50_us / base.p50_us, LATENCY_LIMIT,
           limit / p.p50_us, p.p50_us <= limit ? "PASS" : "FAIL");
}

int main(int argc, char **argv)
{
    char exe_buf[PATH_MAX], self[PATH_MAX], dir[] = "/tmp/tv-bench-XXXXXX";
    char sock[128], sock_arg[160], pki_arg[160], err[256];
    const char *exe = NULL;
    size_t n = DEFAULT_ITERATIONS;
    struct vhu_fe_options o = {.connect_wait_ms = 10000, .timeout_ms = 10000};
    struct pct pp, pd, pe, pq;
    uint64_t *ns;
    struct vhu_fe *fe;
    long rss;
    pid_t pid;
    int status, fails = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            n = strtoul(argv[++i], NULL, 10);
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
    if (exe == NULL) {
        ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);

        if (l < 0) {
            perror("readlink /proc/self/exe");
            return 1;
        }
        self[l] = '\0';
        snprintf(exe_buf, sizeof(exe_buf), "%s/../src/daemon/vhost-user-nsm",
                 dirname(self));
        exe = exe_buf;
    }
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "%s: %s (pass the daemon's path)\n", exe,
                strerror(errno));
        return 1;
    }
    ns = calloc(n, sizeof(*ns));
    if (ns == NULL || mkdtemp(dir) == NULL) {
        perror("setup");
        return 1;
    }
    snprintf(sock, sizeof(sock), "%s/nsm.sock", dir);
    snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", sock);
    snprintf(pki_arg, sizeof(pki_arg), "--pki=%s/pki", dir);

    /* the notification path first, on a quiet machine */
    if (pingpong(n, ns) < 0) {
        return 1;
    }
    pp = percentiles(ns, n);

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
    if (run_requests(fe, req_describe, sizeof(req_describe), "DescribePCR", n,
                     ns) < 0) {
        fails++;
    }
    pd = percentiles(ns, n);
    if (run_requests(fe, req_extend, sizeof(req_extend), "ExtendPCR", n, ns) <
        0) {
        fails++;
    }
    pe = percentiles(ns, n);
    /* for information: the driver side spinning on the used ring instead */
    vhu_fe_set_flags(fe, VHU_FE_POLL, 0);
    if (run_requests(fe, req_describe, sizeof(req_describe), "DescribePCR", n,
                     ns) < 0) {
        fails++;
    }
    pq = percentiles(ns, n);
    usleep(200 * 1000); /* let the daemon go idle */
    rss = proc_kib(pid, "status", "VmRSS:");

    printf("bench_vhost: %zu round trips each, frontend sleeping on "
           "the call eventfd (EVENT_IDX), queue size %u\n",
           n, VHU_FE_DEFAULT_QUEUE_SIZE);
    printf("%-13s p50 %8.2f us  p99 %8.2f us\n", "pingpong", pp.p50_us,
           pp.p99_us);
    if (fails == 0) {
        print_latency("describe_pcr", pd, pp);
        print_latency("extend_pcr", pe, pp);
        printf("%-13s p50 %8.2f us  p99 %8.2f us  (driver polling the used "
               "ring; information only)\n",
               "describe_poll", pq.p50_us, pq.p99_us);
    }
    printf("%-13s %ld KiB (limit %u KiB); ratio to limit %.2f %s\n", "idle_rss",
           rss, RSS_LIMIT_KIB, (double)RSS_LIMIT_KIB / (double)rss,
           rss > 0 && rss <= (long)RSS_LIMIT_KIB ? "PASS" : "FAIL");
    printf("%-13s anon %ld KiB, file %ld KiB (shared libraries), shmem %ld "
           "KiB (guest memory); PSS %ld KiB\n",
           "", proc_kib(pid, "status", "RssAnon:"),
           proc_kib(pid, "status", "RssFile:"),
           proc_kib(pid, "status", "RssShmem:"),
           proc_kib(pid, "smaps_rollup", "Pss:"));

    vhu_fe_close(fe);
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
    return fails ? 1 : 0;
}
