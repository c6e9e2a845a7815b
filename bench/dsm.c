/* SPDX-License-Identifier: MIT */
/*
 * bench_dsm: secured-message round trips over the SPDM socket against a
 * bare TCP ping-pong on loopback, in the same run.
 *
 *   secured   HEARTBEAT in an established session between the tdispc
 *             requester and a real trustvio-dsm process: seal (AES-256-GCM),
 *             DOE + socket framing, one write, the daemon's open, handle,
 *             seal and one write back, the requester's open and parse
 *   baseline  the same byte counts each way between this process and a
 *             forked echo process over a loopback TCP connection with
 *             TCP_NODELAY (two processes, as with the daemon): no framing
 *             work, no crypto
 *
 * Rounds of both alternate so load from elsewhere on the machine hits both
 * alike. Figure: p50(secured) / p50(baseline), limit 1.5 (ratio against the
 * limit printed: limit / figure >= 1.00 passes); p99s for information.
 *
 * Placement: by default this program pins itself to one CPU before it
 * starts the daemon or the echo process, so both ends of both paths run on
 * that CPU and each round trip is plain context switches (on a VM a wake-up
 * on another, idle vCPU goes through the hypervisor and costs tens of
 * microseconds: the figure would measure where the scheduler put each
 * process). The first line printed names the mode. BENCH_PIN=none in the
 * environment runs everything unpinned, BENCH_PIN=N pins to CPU N (see
 * bench/pin.h); both paths are always measured in the same mode.
 * Usage: [BENCH_PIN=same|none|N] bench_dsm PATH-TO-trustvio-dsm [ROUNDS]
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/fdio.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "pin.h"
#include "tdispc/tdispc.h"

#define LIMIT      1.5
#define PER_ROUND  200
#define MAX_ROUNDS 100

static struct tdispc c;
static double lat_sec[MAX_ROUNDS * PER_ROUND];
static double lat_tcp[MAX_ROUNDS * PER_ROUND];

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), cmp_d);
    return v[(size_t)(p * (double)(n - 1))];
}

/* Baseline server: read @req bytes, answer @rsp bytes, until EOF. */
static size_t req_bytes, rsp_bytes;
static int echo_fd;

static void *echo_main(void *arg)
{
    uint8_t buf[4096];
    int one = 1;
    int fd = accept(echo_fd, NULL, NULL);

    (void)arg;
    if (fd < 0) {
        return NULL;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(buf, 0x5a, sizeof(buf));
    while (fd_read_exact(fd, buf, req_bytes) == 0 &&
           fd_write_all(fd, buf, rsp_bytes) == 0) {
    }
    close(fd);
    return NULL;
}

static int tcp_pair(int *cfd, pid_t *th)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int one = 1;

    echo_fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (echo_fd < 0 || bind(echo_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(echo_fd, 1) != 0 ||
        getsockname(echo_fd, (struct sockaddr *)&a, &al) != 0) {
        return -1;
    }
    *th = fork();
    if (*th < 0) {
        return -1;
    }
    if (*th == 0) {
        (void)echo_main(NULL);
        _exit(0);
    }
    *cfd = socket(AF_INET, SOCK_STREAM, 0);
    if (*cfd < 0 || connect(*cfd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        return -1;
    }
    (void)setsockopt(*cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

static pid_t start_dsm(const char *exe, const char *dir, unsigned port)
{
    char p[32], pki[256];
    pid_t pid;

    snprintf(p, sizeof(p), "%u", port);
    snprintf(pki, sizeof(pki), "%s/pki", dir);
    pid = fork();
    if (pid == 0) {
        execl(exe, exe, "--port", p, "--pki", pki, "--quiet", (char *)NULL);
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/tv-bench-dsm-XXXXXX", path[300], err[512];
    static uint8_t root[CRYPTO_X509_DER_MAX], buf[4096];
    struct tdispc_transport t;
    struct bench_pin pin;
    unsigned port = 0, rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 40;
    size_t root_len = 0, n_sec = 0, n_tcp = 0, i;
    pid_t th = -1;
    pid_t pid = -1;
    int tcp_fd, try, rc = 1;
    FILE *f;

    if (argc < 2 || rounds == 0 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: bench_dsm TRUSTVIO-DSM [ROUNDS 1..%d]\n",
                MAX_ROUNDS);
        return 2;
    }
    /* before the daemon and the echo process start: both inherit it */
    if (bench_pin_apply(&pin) != 0) {
        return 1;
    }
    printf("bench_dsm: %s; %u rounds of %d secured then %d bare round "
           "trips\n",
           pin.desc, rounds, PER_ROUND, PER_ROUND);
    fflush(stdout); /* not duplicated in the children */
    if (mkdtemp(dir) == NULL || crypto_init() != 0) {
        fprintf(stderr, "bench_dsm: setup failed\n");
        return 1;
    }
    for (try = 0; try < 8; try++) {
        port = 20000 + (unsigned)((getpid() + try * 7919) % 30000);
        pid = start_dsm(argv[1], dir, port);
        for (i = 0; i < 50; i++) {
            usleep(100000);
            if (tdispc_sock_open(&t, port, err, sizeof(err)) == 0) {
                break;
            }
        }
        if (i < 50) {
            break;
        }
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        pid = -1;
    }
    if (pid < 0) {
        fprintf(stderr, "bench_dsm: cannot start %s: %s\n", argv[1], err);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/pki/ca.der", dir);
    f = fopen(path, "rb");
    if (f != NULL) {
        root_len = fread(root, 1, sizeof(root), f);
        fclose(f);
    }
    if (tdispc_init(&c, &t) != 0 || tdispc_authenticate(&c, root, root_len) ||
        tdispc_session(&c) != 0) {
        fprintf(stderr, "bench_dsm: %s\n", tdispc_error(&c));
        goto out;
    }
    /* the secured HEARTBEAT's sizes on the wire, for the baseline: the
     * socket header plus the DOE objects tdispc last sent and received */
    if (tdispc_heartbeat(&c) != 0) {
        fprintf(stderr, "bench_dsm: %s\n", tdispc_error(&c));
        goto out;
    }
    req_bytes = SOCK_HEADER_SIZE + 4 * (load_le32(c.tx + 4) & DOE_LENGTH_MASK);
    rsp_bytes = SOCK_HEADER_SIZE + 4 * (load_le32(c.rx + 4) & DOE_LENGTH_MASK);
    if (tcp_pair(&tcp_fd, &th) != 0) {
        fprintf(stderr, "bench_dsm: loopback pair failed\n");
        goto out;
    }
    for (i = 0; i < 50; i++) { /* warm both paths */
        (void)tdispc_heartbeat(&c);
        (void)fd_write_all(tcp_fd, buf, req_bytes);
        (void)fd_read_exact(tcp_fd, buf, rsp_bytes);
    }
    for (unsigned r = 0; r < rounds; r++) {
        for (i = 0; i < PER_ROUND; i++) {
            double t0 = now_us();
            if (tdispc_heartbeat(&c) != 0) {
                fprintf(stderr, "bench_dsm: %s\n", tdispc_error(&c));
                goto out;
            }
            lat_sec[n_sec++] = now_us() - t0;
        }
        for (i = 0; i < PER_ROUND; i++) {
            double t0 = now_us();
            if (fd_write_all(tcp_fd, buf, req_bytes) != 0 ||
                fd_read_exact(tcp_fd, buf, rsp_bytes) != 0) {
                fprintf(stderr, "bench_dsm: loopback ping-pong failed\n");
                goto out;
            }
            lat_tcp[n_tcp++] = now_us() - t0;
        }
    }
    close(tcp_fd);
    waitpid(th, NULL, 0);
    close(echo_fd);
    {
        double s50 = pct(lat_sec, n_sec, 0.50), s99 = pct(lat_sec, n_sec, 0.99);
        double t50 = pct(lat_tcp, n_tcp, 0.50), t99 = pct(lat_tcp, n_tcp, 0.99);
        double fig = s50 / t50;
        printf("secured HEARTBEAT round trip  p50 %8.1f us  p99 %8.1f us  "
               "(%zu; %zu + %zu bytes)\n",
               s50, s99, n_sec, req_bytes, rsp_bytes);
        printf("bare TCP ping-pong            p50 %8.1f us  p99 %8.1f us  "
               "(%zu)\n",
               t50, t99, n_tcp);
        printf("secured/bare p50 %.2fx  limit %.2fx  ratio %.2f %s\n", fig,
               LIMIT, LIMIT / fig, fig <= LIMIT ? "ok" : "ABOVE");
        rc = fig <= LIMIT ? 0 : 1;
    }
out:
    tdispc_close(&c);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    {
        static const char *const fl[] = {"ca.pem",     "ca.der",
                                         "ca.key",     "device.pem",
                                         "device.der", "device.key"};
        for (i = 0; i < 6; i++) {
            snprintf(path, sizeof(path), "%s/pki/%s", dir, fl[i]);
            unlink(path);
        }
        snprintf(path, sizeof(path), "%s/pki", dir);
        rmdir(path);
        rmdir(dir);
    }
    return rc;
}
