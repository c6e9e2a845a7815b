/* SPDX-License-Identifier: MIT */
/*
 * bench_spdm: full SPDM handshakes per second in-process (the engine's
 * requester against its responder: VCA, GET_DIGESTS, GET_CERTIFICATE,
 * CHALLENGE, KEY_EXCHANGE, FINISH), against the limit set by the public-key
 * work one handshake needs, done directly in the same run:
 *
 *     2 ECDSA P-384 signs (CHALLENGE_AUTH, KEY_EXCHANGE_RSP)
 *     2 ECDSA P-384 verifies (the requester checks both)
 *     2 P-384 key generations + 2 ECDH derivations (one of each per side)
 *
 * The first limit times those operations through src/crypto (the calls the
 * engine makes); the second takes sign/s, verify/s and ecdh/s from
 * `openssl speed -seconds 2 ecdsap384 ecdhp384`, counting a key generation
 * as one ECDH operation (both are one P-384 scalar multiplication). Rates
 * are per second of user CPU time, the unit `openssl speed` uses.
 *
 *     ratio = handshakes/s / limit      target >= 0.80
 *
 * Second figure: secured-message round trips (HEARTBEAT inside an
 * established session: seal, send, open, answer, seal, send, open) between
 * two processes over TCP on 127.0.0.1, against a bare TCP ping-pong of the
 * same byte counts between the same two processes in the same run:
 *
 *     ratio = p50(secured) / p50(bare)      target <= 1.5
 *
 * The framing is a bare u32 length, so the figure is the engine's cost over
 * the socket's; the daemon's own framing is measured with the daemon.
 *
 * Placement of the round trips: by default this program pins itself to one
 * CPU before it forks the responder and the bare peer, so all three
 * processes run on that CPU and each round trip is plain context switches
 * (on a VM a wake-up on another, idle vCPU goes through the hypervisor and
 * costs tens of microseconds: the figure would measure where the scheduler
 * put each process). The line before the figures names the mode.
 * BENCH_PIN=none in the environment leaves them unpinned, BENCH_PIN=N pins
 * to CPU N (see bench/pin.h); both paths are always measured in the same
 * mode. The handshakes/s figures count CPU time and are not pinned.
 *
 * Usage: [BENCH_PIN=same|none|N] bench_spdm [SECONDS] [ROUND_TRIPS]
 * (defaults 3 and 20000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "pin.h"
#include "spdm/spdm.h"

static double user_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

static struct crypto_key *leaf_key;

static int b_sign(void *ctx, uint32_t hash_alg, const uint8_t *msg, size_t len,
                  uint8_t *sig, size_t cap, size_t *sig_len)
{
    *sig_len = CRYPTO_P384_SIG_SIZE;
    return crypto_ecdsa_p384_sign(leaf_key, msg, len, sig);
}

static int b_random(void *ctx, uint8_t *buf, size_t len)
{
    return crypto_random(buf, len);
}

static const struct spdm_responder_ops rsp_ops = {.sign = b_sign,
                                                  .random = b_random};
static const struct spdm_requester_ops req_ops = {.random = b_random};

static struct spdm_responder rsp;
static struct spdm_requester req;
static uint8_t a[SPDM_RECORD_MAX], b[SPDM_RECORD_MAX];

#define STEP(build, parse)                                                     \
    do {                                                                       \
        if ((build) != SPDM_OK ||                                              \
            spdm_responder_handle(&rsp, secured, a, alen, b, sizeof(b),        \
                                  &blen) != SPDM_OK ||                         \
            (parse) != SPDM_OK) {                                              \
            return -1;                                                         \
        }                                                                      \
    } while (0)

static int handshake(void)
{
    size_t alen, blen;
    bool secured = false, done = false;
    struct spdm_digests dg;
    struct spdm_challenge_result ch;
    uint32_t sid;

    STEP(spdm_req_get_version_build(&req, a, sizeof(a), &alen),
         spdm_req_get_version_parse(&req, b, blen));
    STEP(spdm_req_get_capabilities_build(&req, a, sizeof(a), &alen),
         spdm_req_get_capabilities_parse(&req, b, blen, NULL));
    STEP(spdm_req_negotiate_algorithms_build(&req, a, sizeof(a), &alen),
         spdm_req_negotiate_algorithms_parse(&req, b, blen));
    STEP(spdm_req_get_digests_build(&req, 0, a, sizeof(a), &alen),
         spdm_req_get_digests_parse(&req, 0, b, blen, &dg));
    while (!done) {
        STEP(spdm_req_get_certificate_build(&req, 0, 0, a, sizeof(a), &alen),
             spdm_req_get_certificate_parse(&req, 0, b, blen, &done));
    }
    STEP(spdm_req_challenge_build(&req, 0, 0, a, sizeof(a), &alen),
         spdm_req_challenge_parse(&req, b, blen, &ch));
    STEP(spdm_req_key_exchange_build(&req, 0, 0, a, sizeof(a), &alen),
         spdm_req_key_exchange_parse(&req, b, blen, &sid));
    secured = true;
    STEP(spdm_req_finish_build(&req, sid, a, sizeof(a), &alen),
         spdm_req_finish_parse(&req, sid, b, blen));
    return spdm_req_session_state(&req, sid) == SPDM_SESSION_ESTABLISHED ? 0
                                                                         : -1;
}

/* The crypto of one handshake, through src/crypto. */
static int direct(const struct crypto_key *k, const uint8_t pub[97])
{
    uint8_t sig[96], p1[48], x1[96], p2[48], x2[96], s[48];
    static const uint8_t msg[148] = {1};

    for (int i = 0; i < 2; i++) {
        if (crypto_ecdsa_p384_sign(k, msg, sizeof(msg), sig) != 0 ||
            !crypto_ecdsa_p384_verify_point(pub, msg, sizeof(msg), sig)) {
            return -1;
        }
    }
    if (crypto_ecdh_p384_keygen(p1, x1) != 0 ||
        crypto_ecdh_p384_keygen(p2, x2) != 0 ||
        crypto_ecdh_p384_derive(p1, x1, x2, s) != 0 ||
        crypto_ecdh_p384_derive(p2, x2, x1, s) != 0) {
        return -1;
    }
    return 0;
}

/* sign/s, verify/s, ecdh/s from openssl speed; false when unavailable. */
static bool openssl_speed(double *sign_s, double *verify_s, double *ecdh_s)
{
    FILE *p =
        popen("openssl speed -seconds 2 ecdsap384 ecdhp384 2>/dev/null", "r");
    char line[512];
    int got = 0;

    if (p == NULL) {
        return false;
    }
    while (fgets(line, sizeof(line), p) != NULL) {
        char *paren = strstr(line, "(nistp384)");
        if (paren == NULL) {
            continue;
        }
        if (strstr(line, "ecdsa") != NULL &&
            sscanf(paren + 10, "%*fs %*fs %lf %lf", sign_s, verify_s) == 2) {
            got |= 1;
        } else if (strstr(line, "ecdh") != NULL &&
                   sscanf(paren + 10, "%*fs %lf", ecdh_s) == 1) {
            got |= 2;
        }
    }
    pclose(p);
    return got == 3;
}

static long make_chain(uint8_t *out, size_t cap)
{
    static const uint8_t serial[1] = {1};
    struct crypto_key *ca_key = crypto_key_generate_p384();
    struct crypto_x509 ca;
    struct crypto_x509_template t = {.org = "trustvio",
                                     .cn = "bench device CA",
                                     .serial = serial,
                                     .serial_len = 1,
                                     .not_before_s = 0,
                                     .not_after_s = 4102444800,
                                     .ca = true,
                                     .pathlen = 0,
                                     .ku_bits = CRYPTO_KU_KEY_CERT_SIGN,
                                     .subject_key = ca_key};
    long n, m;

    leaf_key = crypto_key_generate_p384();
    if (ca_key == NULL || leaf_key == NULL) {
        return -1;
    }
    n = crypto_x509_issue(&t, NULL, ca_key, out, cap);
    if (n < 0 || crypto_x509_parse(&ca, out, (size_t)n) != 0) {
        return -1;
    }
    t.cn = "bench device";
    t.ca = false;
    t.pathlen = -1;
    t.ku_bits = CRYPTO_KU_DIGITAL_SIGNATURE;
    t.subject_key = leaf_key;
    m = crypto_x509_issue(&t, &ca, ca_key, out + n, cap - (size_t)n);
    crypto_x509_release(&ca);
    crypto_key_free(ca_key);
    return m < 0 ? -1 : n + m;
}

/* ---- secured round trips over loopback TCP ---- */

static int io_all(int fd, void *p, size_t n, bool wr)
{
    uint8_t *cur = p;

    while (n > 0) {
        ssize_t k = wr ? write(fd, cur, n) : read(fd, cur, n);
        if (k <= 0) {
            return -1;
        }
        cur += k;
        n -= (size_t)k;
    }
    return 0;
}

/* One frame: u32 length (bit 31: secured), then the payload, one write. */
static int send_frame(int fd, bool secured, const uint8_t *p, size_t n)
{
    uint8_t f[4 + SPDM_RECORD_MAX];
    uint32_t h = htonl((uint32_t)n | (secured ? 0x80000000u : 0));

    memcpy(f, &h, 4);
    memcpy(f + 4, p, n);
    return io_all(fd, f, 4 + n, true);
}

static int recv_frame(int fd, bool *secured, uint8_t *p, size_t cap, size_t *n)
{
    uint32_t h;

    if (io_all(fd, &h, 4, false) != 0) {
        return -1;
    }
    h = ntohl(h);
    *secured = (h & 0x80000000u) != 0;
    *n = h & 0x7fffffffu;
    return *n <= cap ? io_all(fd, p, *n, false) : -1;
}

/* The child: the responder behind a socket; a frame of length 0 ends it. */
static void responder_child(int fd)
{
    static uint8_t in[SPDM_RECORD_MAX], out[SPDM_RECORD_MAX];
    size_t n, m;
    bool secured;

    while (recv_frame(fd, &secured, in, sizeof(in), &n) == 0 && n > 0) {
        if (spdm_responder_handle(&rsp, secured, in, n, out, sizeof(out), &m) !=
                SPDM_OK ||
            send_frame(fd, spdm_responder_out_secured(&rsp), out, m) != 0) {
            break;
        }
    }
    _exit(0);
}

/* The bare peer: answers every frame with @rsp_len bytes. */
static void echo_child(int fd, size_t rsp_len)
{
    static uint8_t in[SPDM_RECORD_MAX], out[SPDM_RECORD_MAX];
    size_t n;
    bool secured;

    memset(out, 0x5a, sizeof(out));
    while (recv_frame(fd, &secured, in, sizeof(in), &n) == 0 && n > 0) {
        if (send_frame(fd, false, out, rsp_len) != 0) {
            break;
        }
    }
    _exit(0);
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *pa, const void *pb)
{
    double x = *(const double *)pa, y = *(const double *)pb;

    return x < y ? -1 : x > y;
}

/* A connected TCP pair on 127.0.0.1 served by a child running @serve. */
static int spawn(void (*serve)(int, size_t), size_t arg, pid_t *pid)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sa_len = sizeof(sa);
    int ls = socket(AF_INET, SOCK_STREAM, 0), fd, one = 1;

    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(ls, 1) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sa_len) != 0) {
        return -1;
    }
    *pid = fork();
    if (*pid == 0) {
        int c = accept(ls, NULL, NULL);
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        serve(c, arg);
    }
    close(ls);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*pid < 0 || fd < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void serve_responder(int fd, size_t unused)
{
    responder_child(fd);
}

static void serve_echo(int fd, size_t rsp_len)
{
    echo_child(fd, rsp_len);
}

static int round_trips(unsigned long count)
{
    static double sec_us[200000], bare_us[200000];
    uint8_t in[SPDM_RECORD_MAX];
    size_t alen, blen = 0, req_len = 0, rsp_len = 0;
    bool secured, done = false;
    struct spdm_digests dg;
    uint32_t sid = 0;
    struct bench_pin pin;
    pid_t p1, p2;
    int fd, efd;
    double p50s, p50b, ratio;

    if (count > sizeof(sec_us) / sizeof(sec_us[0])) {
        count = sizeof(sec_us) / sizeof(sec_us[0]);
    }
    /* before the responder and the bare peer are forked: both inherit it */
    if (bench_pin_apply(&pin) != 0) {
        return -1;
    }
    printf("loopback round trips: %s; secured and bare alternate\n", pin.desc);
    fflush(stdout); /* not duplicated in the children */
    fd = spawn(serve_responder, 0, &p1);
    if (fd < 0) {
        return -1;
    }
#define NET(sec, build, parse)                                                 \
    do {                                                                       \
        if ((build) != SPDM_OK || send_frame(fd, sec, a, alen) != 0 ||         \
            recv_frame(fd, &secured, b, sizeof(b), &blen) != 0 ||              \
            (parse) != SPDM_OK) {                                              \
            return -1;                                                         \
        }                                                                      \
    } while (0)
    NET(false, spdm_req_get_version_build(&req, a, sizeof(a), &alen),
        spdm_req_get_version_parse(&req, b, blen));
    NET(false, spdm_req_get_capabilities_build(&req, a, sizeof(a), &alen),
        spdm_req_get_capabilities_parse(&req, b, blen, NULL));
    NET(false, spdm_req_negotiate_algorithms_build(&req, a, sizeof(a), &alen),
        spdm_req_negotiate_algorithms_parse(&req, b, blen));
    NET(false, spdm_req_get_digests_build(&req, 0, a, sizeof(a), &alen),
        spdm_req_get_digests_parse(&req, 0, b, blen, &dg));
    while (!done) {
        NET(false,
            spdm_req_get_certificate_build(&req, 0, 0, a, sizeof(a), &alen),
            spdm_req_get_certificate_parse(&req, 0, b, blen, &done));
    }
    NET(false, spdm_req_key_exchange_build(&req, 0, 0, a, sizeof(a), &alen),
        spdm_req_key_exchange_parse(&req, b, blen, &sid));
    NET(true, spdm_req_finish_build(&req, sid, a, sizeof(a), &alen),
        spdm_req_finish_parse(&req, sid, b, blen));
    NET(true, spdm_req_heartbeat_build(&req, sid, a, sizeof(a), &alen),
        spdm_req_heartbeat_parse(&req, sid, b, blen));
    req_len = alen;
    rsp_len = blen;
    efd = spawn(serve_echo, rsp_len, &p2);
    if (efd < 0) {
        return -1;
    }
    memset(in, 0xa5, sizeof(in));
    /* interleave the two so machine load hits both alike */
    for (unsigned long i = 0; i < count; i++) {
        double t0 = now_us();
        NET(true, spdm_req_heartbeat_build(&req, sid, a, sizeof(a), &alen),
            spdm_req_heartbeat_parse(&req, sid, b, blen));
        sec_us[i] = now_us() - t0;
        t0 = now_us();
        if (send_frame(efd, false, in, req_len) != 0 ||
            recv_frame(efd, &secured, b, sizeof(b), &blen) != 0 ||
            blen != rsp_len) {
            return -1;
        }
        bare_us[i] = now_us() - t0;
    }
#undef NET
    send_frame(fd, false, a, 0);
    send_frame(efd, false, a, 0);
    close(fd);
    close(efd);
    waitpid(p1, NULL, 0);
    waitpid(p2, NULL, 0);
    qsort(sec_us, count, sizeof(double), cmp_d);
    qsort(bare_us, count, sizeof(double), cmp_d);
    p50s = sec_us[count / 2];
    p50b = bare_us[count / 2];
    ratio = p50s / p50b;
    printf("secured HEARTBEAT round trip over loopback TCP (%zu + %zu bytes): "
           "p50 %.1f us, p99 %.1f us (%lu round trips)\n",
           req_len, rsp_len, p50s, sec_us[count * 99 / 100], count);
    printf("bare TCP ping-pong, same sizes and processes: p50 %.1f us, p99 "
           "%.1f us\n",
           p50b, bare_us[count * 99 / 100]);
    printf("ratio p50 secured / p50 bare = %.2f (target <= 1.50): %s\n", ratio,
           ratio <= 1.5 ? "ok" : "ABOVE TARGET");
    return ratio <= 1.5 ? 0 : 1;
}

int main(int argc, char **argv)
{
    static uint8_t chain[4096];
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    unsigned long trips = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
    double t0, el, hs_s, direct_s, ratio, sign_s, verify_s, ecdh_s;
    unsigned long n = 0, k = 0;
    uint8_t pub[97];
    long chain_len;
    int status = 0;
    struct spdm_responder_config rc = {0};
    struct spdm_requester_config qc = {0};

    if (seconds <= 0) {
        seconds = 3.0;
    }
    chain_len = make_chain(chain, sizeof(chain));
    if (chain_len < 0) {
        fprintf(stderr, "bench_spdm: cannot make the device chain\n");
        return 2;
    }
    rc.cert_chain = chain;
    rc.cert_chain_len = (size_t)chain_len;
    rc.ops = &rsp_ops;
    qc.ops = &req_ops;
    if (spdm_responder_init(&rsp, &rc) != SPDM_OK ||
        spdm_requester_init(&req, &qc) != SPDM_OK || handshake() != 0 ||
        spdm_req_leaf_pubkey(&req, pub) != SPDM_OK || direct(leaf_key, pub)) {
        fprintf(stderr, "bench_spdm: handshake failed\n");
        return 2;
    }

    /* interleave the two loops so machine load hits both alike */
    el = 0;
    double el_direct = 0;
    while (el < seconds) {
        t0 = user_s();
        for (int i = 0; i < 10; i++, n++) {
            if (handshake() != 0) {
                fprintf(stderr, "bench_spdm: handshake failed\n");
                return 2;
            }
        }
        el += user_s() - t0;
        t0 = user_s();
        for (int i = 0; i < 10; i++, k++) {
            if (direct(leaf_key, pub) != 0) {
                fprintf(stderr, "bench_spdm: crypto failed\n");
                return 2;
            }
        }
        el_direct += user_s() - t0;
    }
    hs_s = (double)n / el;
    direct_s = (double)k / el_direct;
    ratio = hs_s / direct_s;
    printf("spdm: %.1f full handshakes/s of user CPU time (%.0f us each, "
           "%lu runs)\n",
           hs_s, 1e6 / hs_s, n);
    printf("src/crypto: 2 sign + 2 verify + 2 keygen + 2 ECDH = %.1f/s\n",
           direct_s);
    printf("ratio handshakes/s / src/crypto limit = %.2f (target >= 0.80): "
           "%s\n",
           ratio, ratio >= 0.80 ? "ok" : "BELOW TARGET");
    if (ratio < 0.80) {
        status = 1;
    }
    if (openssl_speed(&sign_s, &verify_s, &ecdh_s)) {
        double limit = 1.0 / (2 / sign_s + 2 / verify_s + 4 / ecdh_s);
        printf("openssl speed: %.1f sign/s, %.1f verify/s, %.1f ecdh/s -> "
               "limit %.1f handshakes/s\n",
               sign_s, verify_s, ecdh_s, limit);
        printf("ratio handshakes/s / openssl speed limit = %.2f (target >= "
               "0.80): %s\n",
               hs_s / limit, hs_s / limit >= 0.80 ? "ok" : "BELOW TARGET");
    } else {
        printf("openssl speed: not available, no second ratio\n");
    }
    {
        int rt = round_trips(trips > 0 ? trips : 20000);
        if (rt < 0) {
            fprintf(stderr, "bench_spdm: socket round trips failed\n");
            return 2;
        }
        status |= rt;
    }
    return status;
}
