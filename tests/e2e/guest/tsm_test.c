/* SPDX-License-Identifier: MIT */
/*
 * tsm-test: checks trustvio_nsm.ko's vendor-neutral interfaces from inside
 * the guest: the configfs-tsm report provider and, where the kernel has
 * tsm-mr, the PCR measurement registers, each against /dev/nsm.
 *
 *   tsm-test reports        provider, hidden attributes, EINVAL on an empty
 *                           inblob, generation, a 64-byte nonce report (hex
 *                           to the console for the host), two report
 *                           directories written and read in parallel, and
 *                           the round trip of a report beside a /dev/nsm
 *                           attestation
 *   tsm-test mr             pcrN:sha384 against DescribePCR, a write
 *                           extends, an ExtendPCR through /dev/nsm shows,
 *                           locked PCRs refuse (E2E-MR lines for the host)
 *   tsm-test no-mr          the kernel has no tsm-mr: no measurements
 *   tsm-test quick          one report (after a module reload)
 *   tsm-test hammer SECS    /dev/nsm, hwrng and report requests until they
 *                           fail (the device went away) or SECS pass
 *
 * Output: "E2E-STEP PASS|FAIL <name> ..." lines as nsm-test prints them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* include/uapi/linux/nsm.h */
#define NSM_REQUEST_MAX_SIZE  0x1000
#define NSM_RESPONSE_MAX_SIZE 0x3000
#define NSM_IOCTL_RAW         0xC0200A00UL

struct nsm_iovec {
    uint64_t addr;
    uint64_t len;
};

struct nsm_raw {
    struct nsm_iovec request;
    struct nsm_iovec response;
};

#define PCR_SIZE   48
#define NONCE_SIZE 64
#define REPORTS    "/sys/kernel/config/tsm/report"
#define MISC       "/sys/class/misc/nsm"
#define ROUNDS     20

static unsigned int n_failed;
static uint8_t resp[NSM_RESPONSE_MAX_SIZE];
static size_t resp_len;
static uint8_t doc[NSM_RESPONSE_MAX_SIZE];

static void step(bool ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void step(bool ok, const char *name, const char *fmt, ...)
{
    va_list ap;

    if (!ok) {
        n_failed++;
    }
    printf("E2E-STEP %s %s%s", ok ? "PASS" : "FAIL", name, ok ? " " : ": ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void print_hex(const char *tag, const uint8_t *p, size_t n)
{
    size_t i;

    printf("%s ", tag);
    for (i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
    putchar('\n');
}

/* Whole-file helpers; return bytes, or -errno. */
static ssize_t read_path(const char *path, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY);

    if (fd < 0) {
        return -errno;
    }
    while (got < cap && (n = read(fd, buf + got, cap - got)) != 0) {
        if (n < 0) {
            n = -errno;
            close(fd);
            return n;
        }
        got += (size_t)n;
    }
    close(fd);
    return (ssize_t)got;
}

static int write_path(const char *path, const void *buf, size_t n)
{
    int fd = open(path, O_WRONLY);
    ssize_t w;
    int rc = 0;

    if (fd < 0) {
        return -errno;
    }
    w = write(fd, buf, n);
    if (w < 0) {
        rc = -errno;
    } else if ((size_t)w != n) {
        rc = -EIO;
    }
    /* configfs binary attributes take the data at close */
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    return rc;
}

static long read_ulong(const char *path)
{
    uint8_t buf[32];
    ssize_t n = read_path(path, buf, sizeof(buf) - 1);

    if (n <= 0) {
        return -1;
    }
    buf[n] = 0;
    return strtol((const char *)buf, NULL, 10);
}

static void fill_random(uint8_t *p, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY);

    if (fd < 0 || read(fd, p, n) != (ssize_t)n) {
        memset(p, 0x5a, n);
    }
    if (fd >= 0) {
        close(fd);
    }
}

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle,
                     size_t m)
{
    size_t i;

    for (i = 0; i + m <= n; i++) {
        if (memcmp(hay + i, needle, m) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- /dev/nsm ---------------------------------------------------------- */

static int nsm_fd = -1;

static int nsm_call(const uint8_t *req, size_t req_len)
{
    struct nsm_raw raw = {
        .request = {(uint64_t)(uintptr_t)req, req_len},
        .response = {(uint64_t)(uintptr_t)resp, sizeof(resp)},
    };

    if (nsm_fd < 0) {
        nsm_fd = open("/dev/nsm", O_RDWR);
        if (nsm_fd < 0) {
            return -errno;
        }
    }
    if (ioctl(nsm_fd, NSM_IOCTL_RAW, &raw) != 0) {
        return -errno;
    }
    resp_len = raw.response.len;
    return 0;
}

/* A CBOR unsigned integer below 256, shortest form. */
static void put_uint(uint8_t *req, size_t *n, unsigned int v)
{
    if (v >= 24) {
        req[(*n)++] = 0x18;
    }
    req[(*n)++] = (uint8_t)v;
}

/* The first 48-byte byte string (58 30 ...) of the last response. */
static const uint8_t *resp_pcr(void)
{
    size_t i;

    for (i = 0; i + 2 + PCR_SIZE <= resp_len; i++) {
        if (resp[i] == 0x58 && resp[i + 1] == PCR_SIZE) {
            return resp + i + 2;
        }
    }
    return NULL;
}

/* {"DescribePCR": {"index": i}} */
static int describe_pcr(unsigned int i, uint8_t out[PCR_SIZE])
{
    static const uint8_t head[] = {0xa1, 0x6b, 'D', 'e', 's', 'c', 'r',
                                   'i',  'b',  'e', 'P', 'C', 'R', 0xa1,
                                   0x65, 'i',  'n', 'd', 'e', 'x'};
    uint8_t req[sizeof(head) + 2];
    size_t n = sizeof(head);
    const uint8_t *v;
    int rc;

    memcpy(req, head, n);
    put_uint(req, &n, i);
    rc = nsm_call(req, n);

    if (rc != 0) {
        return rc;
    }
    v = resp_pcr();
    if (v == NULL) {
        return -EPROTO;
    }
    memcpy(out, v, PCR_SIZE);
    return 0;
}

/* {"ExtendPCR": {"index": i, "data": bstr(48)}} */
static int extend_pcr(unsigned int i, const uint8_t data[PCR_SIZE],
                      uint8_t out[PCR_SIZE])
{
    uint8_t req[96];
    static const uint8_t head[] = {0xa1, 0x69, 'E', 'x', 't', 'e',
                                   'n',  'd',  'P', 'C', 'R', 0xa2,
                                   0x65, 'i',  'n', 'd', 'e', 'x'};
    size_t n = sizeof(head);
    const uint8_t *v;
    int rc;

    memcpy(req, head, n);
    put_uint(req, &n, i);
    memcpy(req + n,
           "\x64"
           "data\x58\x30",
           7);
    n += 7;
    memcpy(req + n, data, PCR_SIZE);
    n += PCR_SIZE;
    rc = nsm_call(req, n);
    if (rc != 0) {
        return rc;
    }
    v = resp_pcr();
    if (v == NULL) {
        return -EPROTO;
    }
    memcpy(out, v, PCR_SIZE);
    return 0;
}

/* {"LockPCR": {"index": i}}; the answer is the bare text "LockPCR" */
static int lock_pcr(unsigned int i)
{
    static const uint8_t head[] = {0xa1, 0x67, 'L',  'o', 'c', 'k', 'P', 'C',
                                   'R',  0xa1, 0x65, 'i', 'n', 'd', 'e', 'x'};
    uint8_t req[sizeof(head) + 2];
    size_t n = sizeof(head);
    int rc;

    memcpy(req, head, n);
    put_uint(req, &n, i);
    rc = nsm_call(req, n);

    if (rc != 0) {
        return rc;
    }
    return resp_len == 8 && resp[0] == 0x67 ? 0 : -EPROTO;
}

/* Attestation with a 64-byte nonce through /dev/nsm. */
static int nsm_attest(const uint8_t nonce[NONCE_SIZE])
{
    uint8_t req[128];
    static const uint8_t head[] = {
        0xa1, 0x6b, 'A',  't',  't', 'e', 's', 't', 'a', 't',  'i',
        'o',  'n',  0xa3, 0x69, 'u', 's', 'e', 'r', '_', 'd',  'a',
        't',  'a',  0xf6, 0x65, 'n', 'o', 'n', 'c', 'e', 0x58, NONCE_SIZE};
    static const uint8_t tail[] = {0x6a, 'p', 'u', 'b', 'l', 'i',
                                   'c',  '_', 'k', 'e', 'y', 0xf6};
    size_t n = 0;

    memcpy(req, head, sizeof(head));
    n += sizeof(head);
    memcpy(req + n, nonce, NONCE_SIZE);
    n += NONCE_SIZE;
    memcpy(req + n, tail, sizeof(tail));
    n += sizeof(tail);
    return nsm_call(req, n);
}

/* ---- configfs-tsm ------------------------------------------------------ */

static void report_path(char *buf, size_t cap, const char *dir,
                        const char *attr)
{
    snprintf(buf, cap, "%s/%s/%s", REPORTS, dir, attr);
}

static int make_report(const char *dir)
{
    char p[256];

    snprintf(p, sizeof(p), "%s/%s", REPORTS, dir);
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
        return -errno;
    }
    return 0;
}

/* inblob in, outblob out into doc[]; returns the document length or -errno */
static ssize_t get_report(const char *dir, const uint8_t *in, size_t in_len)
{
    char p[256];
    int rc;

    report_path(p, sizeof(p), dir, "inblob");
    rc = write_path(p, in, in_len);
    if (rc != 0) {
        return rc;
    }
    report_path(p, sizeof(p), dir, "outblob");
    return read_path(p, doc, sizeof(doc));
}

static bool exists(const char *dir, const char *attr)
{
    char p[256];

    report_path(p, sizeof(p), dir, attr);
    return access(p, F_OK) == 0;
}

static void test_provider(void)
{
    uint8_t buf[32];
    char p[256];
    ssize_t n;

    report_path(p, sizeof(p), "r0", "provider");
    n = read_path(p, buf, sizeof(buf));
    step(n == 4 && memcmp(buf, "nsm\n", 4) == 0, "tsm_provider",
         "provider reads %zd bytes%s", n,
         n == 4 && memcmp(buf, "nsm\n", 4) == 0 ? " \"nsm\\n\"" : "");
}

static void test_hidden(void)
{
    static const char *const hidden[] = {"auxblob",
                                         "manifestblob",
                                         "privlevel",
                                         "privlevel_floor",
                                         "service_provider",
                                         "service_guid",
                                         "service_manifest_version"};
    static const char *const shown[] = {"inblob", "outblob", "generation",
                                        "provider"};
    bool ok = true;
    size_t i;

    for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        if (exists("r0", hidden[i])) {
            step(false, "tsm_hidden_attrs", "%s is visible", hidden[i]);
            ok = false;
        }
    }
    for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
        if (!exists("r0", shown[i])) {
            step(false, "tsm_hidden_attrs", "%s is missing", shown[i]);
            ok = false;
        }
    }
    if (ok) {
        step(true, "tsm_hidden_attrs",
             "only inblob, outblob, generation, provider");
    }
}

static void test_empty_inblob(void)
{
    char p[256];
    ssize_t n;

    if (make_report("empty") != 0) {
        step(false, "tsm_empty_inblob", "mkdir: %s", strerror(errno));
        return;
    }
    report_path(p, sizeof(p), "empty", "outblob");
    n = read_path(p, doc, sizeof(doc));
    step(n == -EINVAL, "tsm_empty_inblob", "outblob read gives %s",
         n < 0 ? strerror((int)-n) : "data");
    snprintf(p, sizeof(p), "%s/empty", REPORTS);
    rmdir(p);
}

static void test_generation_and_report(void)
{
    uint8_t nonce[NONCE_SIZE], big[NONCE_SIZE + 1];
    char p[256];
    long g0, g1, g2;
    ssize_t n;
    int rc;

    report_path(p, sizeof(p), "r0", "generation");
    g0 = read_ulong(p);
    fill_random(nonce, sizeof(nonce));
    n = get_report("r0", nonce, sizeof(nonce));
    g1 = read_ulong(p);
    step(n > 0 && doc[0] == 0x84 && contains(doc, (size_t)n, nonce, 64),
         "tsm_report_64_byte_nonce", "outblob %zd bytes, COSE_Sign1%s", n,
         n > 0 && contains(doc, (size_t)n, nonce, 64) ? " with the nonce" : "");
    if (n > 0) {
        print_hex("E2E-TSM-NONCE", nonce, sizeof(nonce));
        print_hex("E2E-TSM-DOC", doc, (size_t)n);
    }
    /* a rewrite of the same input counts too */
    rc = write_path(strcat(strcpy(p, REPORTS), "/r0/inblob"), nonce,
                    sizeof(nonce));
    report_path(p, sizeof(p), "r0", "generation");
    g2 = read_ulong(p);
    step(rc == 0 && g1 == g0 + 1 && g2 == g1 + 1, "tsm_generation",
         "%ld -> %ld -> %ld", g0, g1, g2);

    memset(big, 1, sizeof(big));
    report_path(p, sizeof(p), "r0", "inblob");
    rc = write_path(p, big, sizeof(big));
    step(rc != 0, "tsm_inblob_65_bytes", "refused: %s",
         rc ? strerror(-rc) : "accepted");
}

/* Two report directories, each in its own process, 10 reports each. */
static void test_parallel(void)
{
    pid_t pid[2];
    int i, st, bad = 0;

    for (i = 0; i < 2; i++) {
        char dir[8];

        snprintf(dir, sizeof(dir), "p%d", i);
        if (make_report(dir) != 0) {
            step(false, "tsm_parallel", "mkdir %s: %s", dir, strerror(errno));
            return;
        }
        pid[i] = fork();
        if (pid[i] == 0) {
            uint8_t nonce[NONCE_SIZE];
            int k, errs = 0;

            for (k = 0; k < 10; k++) {
                ssize_t n;

                fill_random(nonce, sizeof(nonce));
                nonce[0] = (uint8_t)i;
                n = get_report(dir, nonce, sizeof(nonce));
                if (n <= 0 || !contains(doc, (size_t)n, nonce, 64)) {
                    errs++;
                }
            }
            _exit(errs == 0 ? 0 : 1);
        }
    }
    for (i = 0; i < 2; i++) {
        if (pid[i] < 0 || waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st) ||
            WEXITSTATUS(st) != 0) {
            bad++;
        }
    }
    step(bad == 0, "tsm_parallel",
         "2 directories x 10 reports, each outblob has its own nonce%s",
         bad ? " (a process saw a foreign or no report)" : "");
}

static void test_round_trip(void)
{
    uint8_t nonce[NONCE_SIZE];
    double t, min_tsm = 1e12, sum_tsm = 0, min_dev = 1e12, sum_dev = 0;
    int k, errs = 0;

    for (k = 0; k < ROUNDS; k++) {
        fill_random(nonce, sizeof(nonce));
        t = now_us();
        if (get_report("r0", nonce, sizeof(nonce)) <= 0) {
            errs++;
        }
        t = now_us() - t;
        sum_tsm += t;
        min_tsm = t < min_tsm ? t : min_tsm;
        t = now_us();
        if (nsm_attest(nonce) != 0) {
            errs++;
        }
        t = now_us() - t;
        sum_dev += t;
        min_dev = t < min_dev ? t : min_dev;
    }
    printf("E2E-FIGURE report round trip (inblob write to outblob read): "
           "min %.0f us, avg %.0f us over %d\n",
           min_tsm, sum_tsm / ROUNDS, ROUNDS);
    printf("E2E-FIGURE /dev/nsm attestation: min %.0f us, avg %.0f us over "
           "%d\n",
           min_dev, sum_dev / ROUNDS, ROUNDS);
    step(errs == 0, "tsm_round_trip",
         "report avg %.0f us, /dev/nsm attestation avg %.0f us",
         sum_tsm / ROUNDS, sum_dev / ROUNDS);
}

/* ---- tsm-mr ------------------------------------------------------------- */

static ssize_t read_mr(unsigned int i, uint8_t out[PCR_SIZE])
{
    char p[128];

    snprintf(p, sizeof(p), MISC "/measurements/pcr%u:sha384", i);
    return read_path(p, out, PCR_SIZE);
}

static int write_mr(unsigned int i, const uint8_t *data, size_t n)
{
    char p[128];

    snprintf(p, sizeof(p), MISC "/measurements/pcr%u:sha384", i);
    return write_path(p, data, n);
}

static void test_mr(void)
{
    uint8_t old[PCR_SIZE], val[PCR_SIZE], dev[PCR_SIZE], dig[PCR_SIZE];
    uint8_t buf[64];
    unsigned int i, n_ok = 0;
    ssize_t n;
    int rc;

    for (i = 0; i < 32; i++) {
        if (read_mr(i, val) == PCR_SIZE && describe_pcr(i, dev) == 0 &&
            memcmp(val, dev, PCR_SIZE) == 0) {
            n_ok++;
        }
    }
    step(n_ok == 32, "mr_read_all", "%u of 32 pcrN:sha384 equal DescribePCR",
         n_ok);

    /* an ExtendPCR through /dev/nsm shows in the register */
    fill_random(dig, sizeof(dig));
    rc = extend_pcr(16, dig, dev);
    n = read_mr(16, val);
    step(rc == 0 && n == PCR_SIZE && memcmp(val, dev, PCR_SIZE) == 0,
         "mr_sees_dev_nsm_extend", "ExtendPCR via /dev/nsm %s, register %s",
         rc ? strerror(-rc) : "ok",
         n == PCR_SIZE && memcmp(val, dev, PCR_SIZE) == 0 ? "matches"
                                                          : "differs");

    /* a 48-byte write extends: the host checks SHA-384(old || digest) */
    n = read_mr(16, old);
    fill_random(dig, sizeof(dig));
    rc = write_mr(16, dig, sizeof(dig));
    if (n == PCR_SIZE && rc == 0 && read_mr(16, val) == PCR_SIZE &&
        describe_pcr(16, dev) == 0) {
        print_hex("E2E-MR-OLD", old, PCR_SIZE);
        print_hex("E2E-MR-DIGEST", dig, PCR_SIZE);
        print_hex("E2E-MR-NEW", val, PCR_SIZE);
        step(memcmp(val, dev, PCR_SIZE) == 0 && memcmp(val, old, PCR_SIZE),
             "mr_write_extends", "pcr16:sha384 changed and equals DescribePCR");
    } else {
        step(false, "mr_write_extends", "read %zd, write %s", n,
             strerror(rc < 0 ? -rc : 0));
    }

    rc = write_mr(16, dig, PCR_SIZE - 1);
    step(rc == -EINVAL, "mr_short_write", "47 bytes: %s",
         rc ? strerror(-rc) : "accepted");

    /* locked at load: no write permission at all */
    rc = write_mr(0, dig, PCR_SIZE);
    step(rc != 0, "mr_locked_at_load", "pcr0:sha384 write: %s",
         rc ? strerror(-rc) : "accepted");

    /*
     * Locked later through /dev/nsm: EPERM, and locked_pcrs says so. An
     * attestation document carries locked PCRs only, so the one after the
     * lock shows the extended value (host: --pcr 16=E2E-MR-NEW).
     */
    rc = lock_pcr(16);
    if (rc == 0) {
        rc = write_mr(16, dig, PCR_SIZE);
        step(rc == -EPERM, "mr_locked_later", "pcr16:sha384 write: %s",
             rc ? strerror(-rc) : "accepted");
    } else {
        step(false, "mr_locked_later", "LockPCR 16: %s", strerror(-rc));
    }
    n = read_path(MISC "/locked_pcrs", buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = 0;
    step(n > 0 && strcmp((char *)buf, "0-16\n") == 0, "mr_locked_pcrs",
         "locked_pcrs: %.*s", (int)strcspn((char *)buf, "\n"), buf);
    n = read_mr(16, dev);
    step(n == PCR_SIZE && memcmp(dev, val, PCR_SIZE) == 0, "mr_value_kept",
         "pcr16:sha384 unchanged by the refused write");

    fill_random(buf, NONCE_SIZE);
    n = get_report("r0", buf, NONCE_SIZE);
    if (n > 0) {
        print_hex("E2E-MR-NONCE", buf, NONCE_SIZE);
        print_hex("E2E-MR-DOC", doc, (size_t)n);
    }
    step(n > 0, "mr_report_after_lock", "outblob %zd bytes", n);
}
static void test_no_mr(void)
{
    uint8_t buf[64];
    ssize_t n;

    step(access(MISC "/measurements", F_OK) != 0, "mr_absent",
         "no measurements directory on a kernel without tsm-mr");
    n = read_path(MISC "/locked_pcrs", buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = 0;
    step(n > 0 && strcmp((char *)buf, "0-15\n") == 0, "locked_pcrs",
         "locked_pcrs: %.*s", (int)strcspn((char *)buf, "\n"), buf);
}

/* ---- removal under load ---------------------------------------------------
 */

/* Requests of every kind until one fails; prints what ended it. */
static int hammer(int secs)
{
    uint8_t nonce[NONCE_SIZE], rnd[32];
    double end = now_us() + secs * 1e6;
    pid_t kid[2];
    int k, st, n_done = 0;

    if (make_report("h") != 0) {
        return 1;
    }
    kid[0] = fork();
    if (kid[0] == 0) { /* the hwrng */
        int fd = open("/dev/hwrng", O_RDONLY);

        while (fd >= 0 && now_us() < end && read(fd, rnd, sizeof(rnd)) > 0) {
        }
        _exit(0);
    }
    kid[1] = fork();
    if (kid[1] == 0) { /* configfs reports */
        while (now_us() < end) {
            fill_random(nonce, sizeof(nonce));
            if (get_report("h", nonce, sizeof(nonce)) <= 0) {
                break;
            }
        }
        _exit(0);
    }
    printf("E2E-KMOD-HAMMERING\n");
    fflush(stdout);
    while (now_us() < end) {
        fill_random(nonce, sizeof(nonce));
        k = nsm_attest(nonce);
        if (k != 0) {
            printf("E2E-NOTE /dev/nsm request failed after %d: %s\n", n_done,
                   strerror(-k));
            break;
        }
        n_done++;
    }
    for (k = 0; k < 2; k++) {
        if (kid[k] > 0) {
            waitpid(kid[k], &st, 0);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";

    if (strcmp(mode, "hammer") == 0) {
        return hammer(argc > 2 ? atoi(argv[2]) : 30);
    }
    if (make_report("r0") != 0) {
        step(false, "tsm_mkdir", "mkdir %s/r0: %s", REPORTS, strerror(errno));
        return 1;
    }
    if (strcmp(mode, "reports") == 0) {
        test_provider();
        test_hidden();
        test_empty_inblob();
        test_generation_and_report();
        test_parallel();
        test_round_trip();
    } else if (strcmp(mode, "mr") == 0) {
        test_mr();
    } else if (strcmp(mode, "no-mr") == 0) {
        test_no_mr();
    } else if (strcmp(mode, "quick") == 0) {
        uint8_t nonce[NONCE_SIZE];
        ssize_t n;

        fill_random(nonce, sizeof(nonce));
        n = get_report("r0", nonce, sizeof(nonce));
        step(n > 0 && contains(doc, (size_t)n, nonce, 64), "tsm_after_reload",
             "outblob %zd bytes", n);
    } else {
        fprintf(stderr,
                "usage: tsm-test reports|mr|no-mr|quick|hammer [SECS]\n");
        return 2;
    }
    return n_failed == 0 ? 0 : 1;
}
