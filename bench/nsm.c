/* SPDX-License-Identifier: MIT */
/*
 * bench_nsm: NSM model throughput, in process, on one core.
 *
 * Serves each of the seven operations in a tight loop through nsm_handle()
 * and prints requests per second as a ratio against its limit: 1,000,000/s
 * for every operation except Attestation, whose limit is the raw ECDSA
 * P-384 signing rate that `openssl speed ecdsap384` reports on the same
 * machine in the same run (an attestation is one signature plus encoding,
 * so a ratio of 0.90 or more means the encoding costs under 10%).
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bug.h"
#include "crypto/crypto.h"
#include "nsm/nsm.h"

#define OP_LIMIT         1000000.0 /* requests/s every non-signing op must reach */
#define ATTEST_RATIO_MIN 0.90

static struct nsm_signer signer;
static uint8_t leaf[640], ca[4][800];

/*
 * CPU time of this thread: like `openssl speed` (which divides by user CPU
 * time unless given -elapsed), so other load on the machine does not skew
 * the ratios.
 */
static bool use_elapsed; /* --elapsed: wall-clock time instead */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(use_elapsed ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t b_now_ms(void *ctx)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int b_random(void *ctx, void *out, size_t len)
{
    return crypto_random(out, len);
}

static int b_get_signer(void *ctx, uint64_t now_ms,
                        const struct nsm_signer **out)
{
    *out = &signer;
    return 0;
}

static const struct nsm_platform_ops b_ops = {b_now_ms, b_random, b_get_signer};

/* One benchmarked operation: its request(s) and how state is restored. */
struct bench_op {
    const char *name;
    uint8_t req[16][128]; /* requests used in rotation */
    size_t req_len[16];
    unsigned n_req;
    bool restore; /* restore the boot state after each rotation */
    bool signs;   /* limit is the raw signing rate */
    double rate;  /* measured requests/s */
};

static size_t put(uint8_t *dst, const char *src, size_t len)
{
    memcpy(dst, src, len);
    return len;
}

/* copy a string literal's bytes (without its NUL) */
#define PUT(dst, lit) put((dst), (lit), sizeof(lit) - 1)

static void build_ops(struct bench_op *ops)
{
    unsigned i;
    size_t n;

    ops[0].name = "DescribePCR";
    ops[0].n_req = 1;
    ops[0].req_len[0] = PUT(ops[0].req[0], "\xa1\x6b"
                                           "DescribePCR"
                                           "\xa1\x65"
                                           "index\x10");

    /* {"ExtendPCR": {"index": 16, "data": h'..' (32 bytes)}} */
    ops[1].name = "ExtendPCR";
    ops[1].n_req = 1;
    n = PUT(ops[1].req[0], "\xa1\x69"
                           "ExtendPCR"
                           "\xa2\x65"
                           "index\x10"
                           "\x64"
                           "data"
                           "\x58\x20");
    memset(ops[1].req[0] + n, 0x5a, 32);
    ops[1].req_len[0] = n + 32;

    /* LockPCR 16..31, then the boot state is restored (a 3 KiB copy) */
    ops[2].name = "LockPCR";
    ops[2].n_req = 16;
    ops[2].restore = true;
    for (i = 0; i < 16; i++) {
        n = PUT(ops[2].req[i], "\xa1\x67"
                               "LockPCR"
                               "\xa1\x65"
                               "index\x18");
        ops[2].req[i][n] = (uint8_t)(16 + i);
        ops[2].req_len[i] = n + 1;
    }

    ops[3].name = "LockPCRs";
    ops[3].n_req = 1;
    ops[3].req_len[0] = PUT(ops[3].req[0], "\xa1\x68"
                                           "LockPCRs"
                                           "\xa1\x65"
                                           "range\x18\x20");

    ops[4].name = "DescribeNSM";
    ops[4].n_req = 1;
    ops[4].req_len[0] = PUT(ops[4].req[0], "\x6b"
                                           "DescribeNSM");

    ops[5].name = "GetRandom";
    ops[5].n_req = 1;
    ops[5].req_len[0] = PUT(ops[5].req[0], "\x69"
                                           "GetRandom");

    /* {"Attestation": {"nonce": h'..' (32 bytes)}}: a typical request */
    ops[6].name = "Attestation";
    ops[6].n_req = 1;
    ops[6].signs = true;
    n = PUT(ops[6].req[0], "\xa1\x6b"
                           "Attestation"
                           "\xa1\x65"
                           "nonce\x58\x20");
    memset(ops[6].req[0] + n, 0x11, 32);
    ops[6].req_len[0] = n + 32;
}

/* Serve @op for about @seconds; return requests per second. */
static double run_op(struct bench_op *op, const struct nsm *boot_state,
                     double seconds)
{
    static uint8_t resp[NSM_RESPONSE_MAX_SIZE];
    struct nsm dev;
    unsigned long n = 0;
    size_t resp_len;
    double t0, t;
    unsigned i;

    memcpy(&dev, boot_state, sizeof(dev));
    t0 = now_s();
    for (;;) {
        for (i = 0; i < op->n_req; i++) {
            if (nsm_handle(&dev, op->req[i], op->req_len[i], resp, sizeof(resp),
                           &resp_len) != NSM_OK ||
                memcmp(resp,
                       "\xa1\x65"
                       "Error",
                       7) == 0) {
                fprintf(stderr, "bench_nsm: %s failed: %.*s\n", op->name,
                        (int)resp_len, (const char *)resp);
                exit(1);
            }
        }
        n += op->n_req;
        if (op->restore) {
            memcpy(&dev, boot_state, sizeof(dev));
        }
        if ((n & 255) == 0 || op->signs) {
            t = now_s() - t0;
            if (t >= seconds) {
                return (double)n / t;
            }
        }
    }
}

/* Raw P-384 sign/s from `openssl speed`; 0 if it cannot be run. */
static double openssl_sign_rate(unsigned seconds)
{
    char cmd[128], line[512];
    double sign_s = 0, verify_s, a, b;
    FILE *f;

    snprintf(cmd, sizeof(cmd),
             "openssl speed%s -seconds %u ecdsap384 2>/dev/null",
             use_elapsed ? " -elapsed" : "", seconds);
    f = popen(cmd, "r");
    if (f == NULL) {
        return 0;
    }
    /* " 384 bits ecdsa (nistp384)   0.0007s   0.0006s   1336.4   1727.3" */
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p = strstr(line, "(nistp384)");

        if (p != NULL && sscanf(p + strlen("(nistp384)"), " %lfs %lfs %lf %lf",
                                &a, &b, &sign_s, &verify_s) != 4) {
            sign_s = 0;
        }
    }
    pclose(f);
    return sign_s;
}

static void pin_one_core(void)
{
    cpu_set_t set;
    int cpu;

    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        return;
    }
    for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) {
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            (void)sched_setaffinity(0, sizeof(set), &set);
            return;
        }
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_nsm [--seconds N] [--openssl-seconds N] "
            "[--no-openssl]\n"
            "                 [--only NAME] [--elapsed]\n"
            "\n"
            "Measure NSM model throughput in process on one core and print\n"
            "each operation's rate as a ratio against its limit. Rates are\n"
            "per CPU-second of the benchmarking thread, as openssl speed\n"
            "reports them, unless --elapsed is given. Limits:\n"
            "  every operation but Attestation: 1,000,000 requests/s\n"
            "  Attestation: the P-384 sign/s of `openssl speed ecdsap384`\n"
            "              (target ratio >= %.2f)\n"
            "\n"
            "  --seconds N          time per operation (default 2)\n"
            "  --openssl-seconds N  time given to openssl speed (default 3)\n"
            "  --no-openssl         skip openssl speed (no attestation ratio)\n"
            "  --only NAME          run one operation (e.g. ExtendPCR)\n"
            "  --elapsed            divide by wall-clock time, not CPU time\n"
            "                       (openssl speed is then run with -elapsed)\n"
            "  --help               this text\n"
            "Exit status: 0 when every ratio meets its target, 1 otherwise,\n"
            "2 on usage errors.\n",
            ATTEST_RATIO_MIN);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"seconds", required_argument, NULL, 's'},
        {"openssl-seconds", required_argument, NULL, 'o'},
        {"no-openssl", no_argument, NULL, 'n'},
        {"only", required_argument, NULL, 'O'},
        {"elapsed", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct bench_op ops[7];
    static struct nsm boot_state;
    double seconds = 2, ratio, limit, sign_rate = 0;
    unsigned ossl_seconds = 3;
    bool use_openssl = true, all_ok = true;
    const char *only = NULL;
    struct nsm_boot b;
    char *end;
    int c;
    size_t i;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            seconds = strtod(optarg, &end);
            if (*end != '\0' || seconds <= 0) {
                fprintf(stderr, "bench_nsm: bad --seconds '%s'\n", optarg);
                return 2;
            }
            break;
        case 'o':
            ossl_seconds = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || ossl_seconds == 0) {
                fprintf(stderr, "bench_nsm: bad --openssl-seconds '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'n':
            use_openssl = false;
            break;
        case 'O':
            only = optarg;
            break;
        case 'e':
            use_elapsed = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    pin_one_core();
    signer.key = crypto_key_generate_p384();
    if (signer.key == NULL) {
        fprintf(stderr, "bench_nsm: cannot generate a P-384 key\n");
        return 1;
    }
    memset(leaf, 0x30, sizeof(leaf));
    signer.cert = leaf;
    signer.cert_len = sizeof(leaf);
    for (i = 0; i < 4; i++) {
        memset(ca[i], 0x30, sizeof(ca[i]));
        signer.cabundle[i] = ca[i];
        signer.cabundle_len[i] = sizeof(ca[i]);
    }
    signer.n_cabundle = 4;
    memset(&b, 0, sizeof(b));
    strcpy(b.module_id, "i-0123456789abcdef0-enc0123456789abcdef");
    strcpy(b.parent_id, "i-0123456789abcdef0");
    strcpy(b.parent_role_arn, "arn:aws:iam::123456789012:role/bench");
    if (nsm_init(&boot_state, &b, &b_ops, NULL) != NSM_OK) {
        fprintf(stderr, "bench_nsm: nsm_init failed\n");
        return 1;
    }

    build_ops(ops);
    if (only != NULL) {
        for (i = 0; i < TV_ARRAY_SIZE(ops); i++) {
            if (strcmp(only, ops[i].name) == 0) {
                break;
            }
        }
        if (i == TV_ARRAY_SIZE(ops)) {
            fprintf(stderr,
                    "bench_nsm: unknown operation '%s' (one of DescribePCR, "
                    "ExtendPCR, LockPCR, LockPCRs, DescribeNSM, GetRandom, "
                    "Attestation)\n",
                    only);
            return 2;
        }
    }
    for (i = 0; i < TV_ARRAY_SIZE(ops); i++) {
        if (only == NULL || strcmp(only, ops[i].name) == 0) {
            ops[i].rate = run_op(&ops[i], &boot_state, seconds);
        }
    }
    if (use_openssl) {
        sign_rate = openssl_sign_rate(ossl_seconds);
        if (sign_rate <= 0) {
            fprintf(stderr, "bench_nsm: could not run or parse "
                            "`openssl speed ecdsap384`\n");
        }
    }

    printf("NSM model, one core, %.1f %s per operation\n", seconds,
           use_elapsed ? "wall-clock s" : "CPU-s");
    printf("%-12s %14s %14s %8s %8s\n", "operation", "requests/s", "limit/s",
           "ratio", "target");
    for (i = 0; i < TV_ARRAY_SIZE(ops); i++) {
        if (only != NULL && strcmp(only, ops[i].name) != 0) {
            continue;
        }
        if (ops[i].signs) {
            if (sign_rate <= 0) {
                printf("%-12s %14.0f %14s %8s %8.2f\n", ops[i].name,
                       ops[i].rate, "n/a", "n/a", ATTEST_RATIO_MIN);
                continue;
            }
            limit = sign_rate;
            ratio = ops[i].rate / limit;
            printf("%-12s %14.0f %14.0f %8.3f %8.2f%s\n", ops[i].name,
                   ops[i].rate, limit, ratio, ATTEST_RATIO_MIN,
                   ratio >= ATTEST_RATIO_MIN ? "" : "  BELOW TARGET");
            all_ok = all_ok && ratio >= ATTEST_RATIO_MIN;
            continue;
        }
        ratio = ops[i].rate / OP_LIMIT;
        printf("%-12s %14.0f %14.0f %8.3f %8.2f%s\n", ops[i].name, ops[i].rate,
               OP_LIMIT, ratio, 1.0, ratio >= 1.0 ? "" : "  BELOW TARGET");
        all_ok = all_ok && ratio >= 1.0;
    }
    if (sign_rate > 0) {
        printf("openssl speed ecdsap384: %.1f sign/s\n", sign_rate);
    }
    crypto_key_free((struct crypto_key *)signer.key);
    return all_ok ? 0 : 1;
}
