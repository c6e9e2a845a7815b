/* SPDX-License-Identifier: MIT */
/*
 * bench_verify: attestation documents verified per second (the real ga
 * document at its own timestamp, full verification with the AWS root
 * pinned), beside OpenSSL's raw ECDSA P-384 verifications per second from
 * `openssl speed -seconds 3 ecdsap384` measured in the same run. A document
 * needs five ECDSA verifications (four certificates and the COSE
 * signature), so the figure of merit is
 *
 *     ratio = docs/s / (verify/s / 5)      target >= 0.80
 *
 * Both rates are per second of user CPU time, the unit `openssl speed`
 * uses by default; the wall-clock rate is printed as well.
 *
 * Usage: bench_verify [SECONDS] (default 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "verify/verify.h"

#ifndef TV_VECTORS_DIR
#define TV_VECTORS_DIR "../shared/vectors"
#endif

#define GA_DOC TV_VECTORS_DIR "/nsm/evervault-ga-2023-09-18-debug.cose"

/* A stored document: verified at its own timestamp. */
static const struct verify_policy historic = {.when = VERIFY_AT_DOCUMENT};

static double wall_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * User CPU seconds: what `openssl speed` counts by default (it reports
 * operations per second of user time unless given -elapsed), so the two
 * figures stay comparable on a loaded machine.
 */
static double user_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

/* The verify/s column of the nistp384 line, or -1. */
static double openssl_verify_per_s(void)
{
    FILE *p = popen("openssl speed -seconds 3 ecdsap384 2>/dev/null", "r");
    char line[512];
    double v = -1;

    if (p == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), p) != NULL) {
        if (strstr(line, "nistp384") != NULL && strstr(line, "ecdsa")) {
            char *last = strrchr(line, ' ');
            double sign_s, verify_s;

            /* " 384 bits ecdsa (nistp384)   0.0011s   0.0009s  923.0 1100.0" */
            if (last != NULL &&
                sscanf(strstr(line, ")") + 1, "%*fs %*fs %lf %lf", &sign_s,
                       &verify_s) == 2) {
                v = verify_s;
            }
        }
    }
    pclose(p);
    return v;
}

int main(int argc, char **argv)
{
    static uint8_t doc[16384];
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    struct verify_result res;
    double t0, w0, elapsed, wall, docs_s, ecdsa_s, ratio;
    unsigned long n = 0;
    size_t len;
    FILE *f = fopen(GA_DOC, "rb");

    if (f == NULL) {
        perror(GA_DOC);
        return 2;
    }
    len = fread(doc, 1, sizeof(doc), f);
    fclose(f);
    if (seconds <= 0) {
        seconds = 3.0;
    }

    /* warm-up: the pinned root is decoded once and cached */
    if (verify_document(NULL, &historic, doc, len, &res) != VERIFY_OK) {
        fprintf(stderr,
                "bench_verify: the ga document does not verify: "
                "%s\n",
                verify_strerror(res.status));
        return 1;
    }
    t0 = user_s();
    w0 = wall_s();
    do {
        for (int i = 0; i < 16; i++) {
            if (verify_document(NULL, &historic, doc, len, &res) != VERIFY_OK) {
                fprintf(stderr, "bench_verify: verification failed\n");
                return 1;
            }
        }
        n += 16;
        elapsed = user_s() - t0;
    } while (elapsed < seconds);
    wall = wall_s() - w0;
    docs_s = (double)n / elapsed;

    ecdsa_s = openssl_verify_per_s();
    printf("verify: %.1f documents/s of user CPU time (%.1f us each, %lu "
           "in %.2f s CPU, %.2f s wall: %.1f/s wall-clock)\n",
           docs_s, 1e6 / docs_s, n, elapsed, wall, (double)n / wall);
    if (ecdsa_s <= 0) {
        printf("openssl speed ecdsap384: not available, no ratio\n");
        return 0;
    }
    ratio = docs_s / (ecdsa_s / 5.0);
    printf("openssl speed ecdsap384: %.1f verify/s -> %.1f documents/s "
           "bound (5 verifications each)\n",
           ecdsa_s, ecdsa_s / 5.0);
    printf("ratio docs/s / (verify/s / 5) = %.2f (target >= 0.80): %s\n", ratio,
           ratio >= 0.80 ? "PASS" : "BELOW TARGET");
    return 0;
}
