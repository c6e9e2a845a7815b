/* SPDX-License-Identifier: MIT */
/*
 * nsm-test: runs every NSM operation through the guest kernel's nsm.ko
 * (/dev/nsm, NSM_IOCTL_RAW) and checks the answers byte for byte where the
 * wire format is fixed (aws-nitro-enclaves-nsm-api).
 *
 * A static guest program, self-contained on purpose: requests are
 * hand-encoded CBOR, responses are read with the tiny decoder below (no
 * libcbor in the guest). Output, one line per checked group, parsed by
 * tests/e2e/run.sh:
 *
 *   E2E-STEP PASS <name> [detail]
 *   E2E-STEP FAIL <name>: <why>
 *
 * The attestation document goes out as hex between E2E-DOC-BEGIN and
 * E2E-DOC-END so the host can verify it with `nsm verify`. Exit status: 0
 * if every step passed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* include/uapi/linux/nsm.h */
#define NSM_REQUEST_MAX_SIZE  0x1000
#define NSM_RESPONSE_MAX_SIZE 0x3000
#define NSM_IOCTL_RAW         0xC0200A00UL

struct nsm_iovec {
    uint64_t addr; /* user pointer */
    uint64_t len;  /* bytes; response: capacity in, written out */
};

struct nsm_raw {
    struct nsm_iovec request;
    struct nsm_iovec response;
};

#define PCR_SIZE 48

static int nsm_fd = -1;
static const char *want_module_id; /* --module-id, or NULL: any */
static unsigned int n_passed;
static unsigned int n_failed;
static uint8_t resp_buf[NSM_RESPONSE_MAX_SIZE];
static size_t resp_len;

/* PCR 16 after the first real-hardware extend vector */
static const uint8_t pcr16_expected[PCR_SIZE] = {
    0xb3, 0x3d, 0xa0, 0x5a, 0x0f, 0xdb, 0x71, 0x62, 0x7c, 0x8c, 0x68, 0xfc,
    0x42, 0x32, 0x28, 0x1f, 0xc4, 0x40, 0xed, 0xd6, 0xf0, 0xac, 0x74, 0x67,
    0xfa, 0x49, 0x7b, 0xbb, 0x90, 0x7d, 0xb3, 0x2d, 0x95, 0x7b, 0x5f, 0xd3,
    0x93, 0x84, 0x5f, 0xa0, 0x2c, 0x26, 0x4a, 0xd5, 0xea, 0x23, 0x38, 0x88,
};

static void step_pass(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void step_fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void step_pass(const char *name, const char *fmt, ...)
{
    va_list ap;

    n_passed++;
    printf("E2E-STEP PASS %s", name);
    if (fmt != NULL) {
        putchar(' ');
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
    }
    putchar('\n');
    fflush(stdout);
}

static void step_fail(const char *name, const char *fmt, ...)
{
    va_list ap;

    n_failed++;
    printf("E2E-STEP FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void print_hex(const char *label, const uint8_t *p, size_t len)
{
    size_t i;

    printf("  %s (%zu bytes): ", label, len);
    for (i = 0; i < len && i < 96; i++) {
        printf("%02x", p[i]);
    }
    printf("%s\n", len > 96 ? "..." : "");
}

/*
 * One NSM_IOCTL_RAW round trip with a full-size response buffer, as NSMAPI
 * does. Return: 0 (response in resp_buf/resp_len) or the errno.
 */
static int nsm_raw_call(const uint8_t *req, size_t req_len)
{
    struct nsm_raw raw;

    memset(&raw, 0, sizeof(raw));
    raw.request.addr = (uint64_t)(uintptr_t)req;
    raw.request.len = req_len;
    raw.response.addr = (uint64_t)(uintptr_t)resp_buf;
    raw.response.len = sizeof(resp_buf);
    if (ioctl(nsm_fd, NSM_IOCTL_RAW, &raw) != 0) {
        resp_len = 0;
        return errno;
    }
    resp_len = raw.response.len > sizeof(resp_buf) ? sizeof(resp_buf)
                                                   : raw.response.len;
    return 0;
}

/* ---- a minimal CBOR writer (definite lengths only) ---------------------- */

struct enc {
    uint8_t *p;    /* output buffer */
    size_t cap;    /* its size */
    size_t len;    /* bytes written */
    bool overflow; /* a write did not fit */
};

static void enc_byte(struct enc *e, uint8_t b)
{
    if (e->len >= e->cap) {
        e->overflow = true;
        return;
    }
    e->p[e->len++] = b;
}

static void enc_head(struct enc *e, unsigned int major, uint64_t v)
{
    unsigned int i;
    unsigned int n;

    if (v < 24) {
        enc_byte(e, (uint8_t)(major << 5 | v));
        return;
    }
    if (v <= 0xff) {
        enc_byte(e, (uint8_t)(major << 5 | 24));
        n = 1;
    } else if (v <= 0xffff) {
        enc_byte(e, (uint8_t)(major << 5 | 25));
        n = 2;
    } else if (v <= 0xffffffffu) {
        enc_byte(e, (uint8_t)(major << 5 | 26));
        n = 4;
    } else {
        enc_byte(e, (uint8_t)(major << 5 | 27));
        n = 8;
    }
    for (i = n; i > 0; i--) {
        enc_byte(e, (uint8_t)(v >> (8 * (i - 1))));
    }
}

static void enc_text(struct enc *e, const char *s)
{
    size_t n = strlen(s);
    size_t i;

    enc_head(e, 3, n);
    for (i = 0; i < n; i++) {
        enc_byte(e, (uint8_t)s[i]);
    }
}

static void enc_bytes(struct enc *e, const uint8_t *b, size_t n)
{
    size_t i;

    enc_head(e, 2, n);
    for (i = 0; i < n; i++) {
        enc_byte(e, b[i]);
    }
}

/* ---- a minimal CBOR reader ---------------------------------------------- */

struct dec {
    const uint8_t *p; /* next byte */
    size_t len;       /* bytes left */
    bool bad;         /* malformed or truncated input seen */
};

struct item {
    unsigned int major; /* 0..7 */
    uint64_t val;       /* argument: value, length or count */
    bool indef;         /* indefinite length (0x1f) */
    const uint8_t *str; /* text/byte string content (definite only) */
};

static bool dec_item(struct dec *d, struct item *it)
{
    unsigned int ai;
    unsigned int n;
    unsigned int i;

    if (d->bad || d->len == 0) {
        d->bad = true;
        return false;
    }
    it->major = d->p[0] >> 5;
    ai = d->p[0] & 0x1f;
    d->p++;
    d->len--;
    it->val = 0;
    it->indef = false;
    it->str = NULL;
    if (ai < 24) {
        it->val = ai;
    } else if (ai >= 24 && ai <= 27) {
        n = 1u << (ai - 24);
        if (d->len < n) {
            d->bad = true;
            return false;
        }
        for (i = 0; i < n; i++) {
            it->val = it->val << 8 | d->p[i];
        }
        d->p += n;
        d->len -= n;
    } else if (ai == 31 && it->major >= 2 && it->major <= 5) {
        it->indef = true;
    } else if (ai == 31 && it->major == 7) {
        it->indef = true; /* "break" */
    } else {
        d->bad = true;
        return false;
    }
    if ((it->major == 2 || it->major == 3) && !it->indef) {
        if (it->val > d->len) {
            d->bad = true;
            return false;
        }
        it->str = d->p;
        d->p += it->val;
        d->len -= (size_t)it->val;
    }
    return true;
}

static bool dec_is_break(const struct dec *d)
{
    return d->len > 0 && d->p[0] == 0xff;
}

/* Skip one complete data item (nesting bounded by @depth). */
static bool dec_skip(struct dec *d, unsigned int depth)
{
    struct item it;
    uint64_t i;
    uint64_t n;

    if (depth == 0 || !dec_item(d, &it)) {
        d->bad = true;
        return false;
    }
    switch (it.major) {
    case 2:
    case 3:
        if (it.indef) {
            while (!dec_is_break(d)) {
                if (!dec_skip(d, depth - 1)) {
                    return false;
                }
            }
            d->p++;
            d->len--;
        }
        return true;
    case 4:
    case 5:
        n = it.major == 5 ? 2 : 1;
        if (it.indef) {
            while (!dec_is_break(d)) {
                if (!dec_skip(d, depth - 1)) {
                    return false;
                }
            }
            d->p++;
            d->len--;
            return true;
        }
        for (i = 0; i < it.val * n; i++) {
            if (!dec_skip(d, depth - 1)) {
                return false;
            }
        }
        return true;
    case 6:
        return dec_skip(d, depth - 1);
    default:
        return true;
    }
}

static bool item_is_text(const struct item *it, const char *s)
{
    return it->major == 3 && !it->indef && it->val == strlen(s) &&
           memcmp(it->str, s, strlen(s)) == 0;
}

/*
 * Find @key in the map starting at @d (definite or indefinite) and leave a
 * decoder on its value in @val. Return: true if found.
 */
static bool map_find(struct dec d, const char *key, struct dec *val)
{
    struct item m;
    struct item k;
    uint64_t i;

    if (!dec_item(&d, &m) || m.major != 5) {
        return false;
    }
    for (i = 0; m.indef || i < m.val; i++) {
        if (m.indef && dec_is_break(&d)) {
            return false;
        }
        if (!dec_item(&d, &k)) {
            return false;
        }
        if (item_is_text(&k, key)) {
            *val = d;
            return true;
        }
        if (k.major == 2 || k.major == 3) {
            if (k.indef) {
                return false;
            }
        }
        if (!dec_skip(&d, 16)) {
            return false;
        }
    }
    return false;
}

/*
 * Unwrap a {"<Variant>": {...}} response and return a decoder on the
 * inner map. Return: false (with @why set) if the response is anything
 * else, e.g. {"Error": ...}.
 */
static bool resp_variant(const char *variant, struct dec *inner, char *why,
                         size_t why_size)
{
    struct dec d = {resp_buf, resp_len, false};
    struct dec e;
    struct item it;

    /* the outer map must be the definite a1 header (serde_cbor) */
    if (resp_len == 0 || resp_buf[0] != 0xa1) {
        snprintf(why, why_size, "outer header 0x%02x, not a1",
                 resp_len ? resp_buf[0] : 0);
        return false;
    }
    if (map_find(d, "Error", &e) && dec_item(&e, &it) && it.major == 3) {
        snprintf(why, why_size, "device error %.*s", (int)it.val,
                 (const char *)it.str);
        return false;
    }
    if (!map_find(d, variant, inner)) {
        snprintf(why, why_size, "no %s key", variant);
        return false;
    }
    return true;
}

static bool get_uint(struct dec map, const char *key, uint64_t *v)
{
    struct dec d;
    struct item it;

    if (!map_find(map, key, &d) || !dec_item(&d, &it) || it.major != 0) {
        return false;
    }
    *v = it.val;
    return true;
}

static bool get_bytes(struct dec map, const char *key, const uint8_t **p,
                      size_t *len)
{
    struct dec d;
    struct item it;

    if (!map_find(map, key, &d) || !dec_item(&d, &it) || it.major != 2 ||
        it.indef) {
        return false;
    }
    *p = it.str;
    *len = (size_t)it.val;
    return true;
}

static bool get_bool(struct dec map, const char *key, bool *v)
{
    struct dec d;
    struct item it;

    if (!map_find(map, key, &d) || !dec_item(&d, &it) || it.major != 7 ||
        (it.val != 20 && it.val != 21)) {
        return false;
    }
    *v = it.val == 21;
    return true;
}

/* ---- requests ----------------------------------------------------------- */

static size_t req_index(uint8_t *buf, size_t cap, const char *op,
                        const char *key, uint64_t index)
{
    struct enc e = {buf, cap, 0, false};

    enc_head(&e, 5, 1);
    enc_text(&e, op);
    enc_head(&e, 5, 1);
    enc_text(&e, key);
    enc_head(&e, 0, index);
    return e.overflow ? 0 : e.len;
}

static size_t req_extend(uint8_t *buf, size_t cap, uint64_t index,
                         const uint8_t *data, size_t data_len)
{
    struct enc e = {buf, cap, 0, false};

    enc_head(&e, 5, 1);
    enc_text(&e, "ExtendPCR");
    enc_head(&e, 5, 2);
    enc_text(&e, "index");
    enc_head(&e, 0, index);
    enc_text(&e, "data");
    enc_bytes(&e, data, data_len);
    return e.overflow ? 0 : e.len;
}

/* Compare the whole response with @exp (fixed-format answers). */
static bool resp_is(const uint8_t *exp, size_t exp_len)
{
    return resp_len == exp_len && memcmp(resp_buf, exp, exp_len) == 0;
}

static bool resp_is_error(const char *name)
{
    uint8_t exp[64];
    struct enc e = {exp, sizeof(exp), 0, false};

    enc_head(&e, 5, 1);
    enc_text(&e, "Error");
    enc_text(&e, name);
    return resp_is(exp, e.len);
}

static void show_resp(void)
{
    print_hex("response", resp_buf, resp_len);
}

/* ---- the steps ---------------------------------------------------------- */

/*
 * DescribeNSM: version 1.0.0, max_pcrs 32, locked_pcrs exactly @n_locked
 * ascending from 0, digest SHA384, a module id.
 */
static void test_describe_nsm(const char *name, unsigned int n_locked)
{
    static const uint8_t req[] = {
        0x6b, 'D', 'e', 's', 'c', 'r', 'i', 'b', 'e', 'N', 'S', 'M',
    };
    struct dec m;
    struct dec d;
    struct item it;
    char why[160];
    uint64_t maj = 99;
    uint64_t min = 99;
    uint64_t pat = 99;
    uint64_t max_pcrs = 0;
    uint64_t i;
    int err;

    err = nsm_raw_call(req, sizeof(req));
    if (err != 0) {
        step_fail(name, "ioctl: %s", strerror(err));
        return;
    }
    if (!resp_variant("DescribeNSM", &m, why, sizeof(why))) {
        step_fail(name, "%s", why);
        show_resp();
        return;
    }
    if (!get_uint(m, "version_major", &maj) ||
        !get_uint(m, "version_minor", &min) ||
        !get_uint(m, "version_patch", &pat) || maj != 1 || min != 0 ||
        pat != 0) {
        step_fail(name, "version %llu.%llu.%llu, want 1.0.0",
                  (unsigned long long)maj, (unsigned long long)min,
                  (unsigned long long)pat);
        return;
    }
    if (!get_uint(m, "max_pcrs", &max_pcrs) || max_pcrs != 32) {
        step_fail(name, "max_pcrs %llu, want 32", (unsigned long long)max_pcrs);
        return;
    }
    if (!map_find(m, "digest", &d) || !dec_item(&d, &it) ||
        !item_is_text(&it, "SHA384")) {
        step_fail(name, "digest is not \"SHA384\"");
        return;
    }
    if (!map_find(m, "module_id", &d) || !dec_item(&d, &it) || it.major != 3 ||
        it.val == 0) {
        step_fail(name, "module_id missing or empty");
        return;
    }
    printf("  module_id %.*s\n", (int)it.val, (const char *)it.str);
    if (want_module_id != NULL &&
        (it.val != strlen(want_module_id) ||
         memcmp(it.str, want_module_id, (size_t)it.val) != 0)) {
        step_fail(name, "module_id is not %s", want_module_id);
        return;
    }
    if (!map_find(m, "locked_pcrs", &d) || !dec_item(&d, &it) ||
        it.major != 4 || it.indef || it.val != n_locked) {
        step_fail(name, "locked_pcrs is not an array of %u", n_locked);
        show_resp();
        return;
    }
    for (i = 0; i < n_locked; i++) {
        struct item v;

        if (!dec_item(&d, &v) || v.major != 0 || v.val != i) {
            step_fail(name, "locked_pcrs[%llu] is not %llu",
                      (unsigned long long)i, (unsigned long long)i);
            return;
        }
    }
    step_pass(name, "version 1.0.0 max_pcrs 32 locked 0..%u", n_locked - 1);
}

static void test_describe_pcr(const char *name, unsigned int index,
                              bool want_lock, const uint8_t *want_data)
{
    uint8_t req[64];
    size_t req_len = req_index(req, sizeof(req), "DescribePCR", "index", index);
    struct dec m;
    char why[160];
    const uint8_t *data;
    size_t data_len;
    bool lock;
    int err;

    err = nsm_raw_call(req, req_len);
    if (err != 0) {
        step_fail(name, "ioctl: %s", strerror(err));
        return;
    }
    if (!resp_variant("DescribePCR", &m, why, sizeof(why))) {
        step_fail(name, "%s", why);
        show_resp();
        return;
    }
    if (!get_bool(m, "lock", &lock) || lock != want_lock) {
        step_fail(name, "lock is not %s", want_lock ? "true" : "false");
        return;
    }
    if (!get_bytes(m, "data", &data, &data_len) || data_len != PCR_SIZE) {
        step_fail(name, "data is not a 48-byte string");
        return;
    }
    if (want_data != NULL && memcmp(data, want_data, PCR_SIZE) != 0) {
        step_fail(name, "unexpected PCR value");
        print_hex("got", data, data_len);
        print_hex("want", want_data, PCR_SIZE);
        return;
    }
    step_pass(name, "lock %s", lock ? "true" : "false");
}

static void test_extend_pcr16(void)
{
    static const uint8_t data[] = {
        0x0b, 0x00, 0x37, 0x48, 0x63, 0xff, 0x5c, 0x65,
    };
    uint8_t req[64];
    size_t req_len = req_extend(req, sizeof(req), 16, data, sizeof(data));
    struct dec m;
    char why[160];
    const uint8_t *pcr;
    size_t pcr_len;
    int err;

    err = nsm_raw_call(req, req_len);
    if (err != 0) {
        step_fail("extend_pcr16", "ioctl: %s", strerror(err));
        return;
    }
    if (!resp_variant("ExtendPCR", &m, why, sizeof(why))) {
        step_fail("extend_pcr16", "%s", why);
        show_resp();
        return;
    }
    if (!get_bytes(m, "data", &pcr, &pcr_len) || pcr_len != PCR_SIZE ||
        memcmp(pcr, pcr16_expected, PCR_SIZE) != 0) {
        step_fail("extend_pcr16", "not the real-hardware value b33da05a...");
        show_resp();
        return;
    }
    step_pass("extend_pcr16", "b33da05a0fdb7162... as on real NSM");
}

static void test_lock_pcr16(void)
{
    static const uint8_t want[] = {0x67, 'L', 'o', 'c', 'k', 'P', 'C', 'R'};
    uint8_t req[64];
    size_t req_len = req_index(req, sizeof(req), "LockPCR", "index", 16);
    int err;

    err = nsm_raw_call(req, req_len);
    if (err != 0) {
        step_fail("lock_pcr16", "ioctl: %s", strerror(err));
        return;
    }
    if (!resp_is(want, sizeof(want))) {
        step_fail("lock_pcr16", "response is not \"LockPCR\"");
        show_resp();
        return;
    }
    step_pass("lock_pcr16", NULL);
}

static void test_extend_locked(void)
{
    static const uint8_t data[] = {0x65, 0x66, 0xff, 0x00, 0x17, 0x2c, 0x4d};
    uint8_t req[64];
    size_t req_len = req_extend(req, sizeof(req), 16, data, sizeof(data));
    int err;

    err = nsm_raw_call(req, req_len);
    if (err != 0) {
        step_fail("extend_locked_pcr16", "ioctl: %s", strerror(err));
        return;
    }
    if (!resp_is_error("ReadOnlyIndex")) {
        step_fail("extend_locked_pcr16", "not {\"Error\": \"ReadOnlyIndex\"}");
        show_resp();
        return;
    }
    step_pass("extend_locked_pcr16", "ReadOnlyIndex");
}

static void test_lock_pcrs20(void)
{
    static const uint8_t want[] = {
        0x68, 'L', 'o', 'c', 'k', 'P', 'C', 'R', 's',
    };
    uint8_t req[64];
    size_t req_len = req_index(req, sizeof(req), "LockPCRs", "range", 20);
    int err;

    err = nsm_raw_call(req, req_len);
    if (err != 0) {
        step_fail("lock_pcrs20", "ioctl: %s", strerror(err));
        return;
    }
    if (!resp_is(want, sizeof(want))) {
        step_fail("lock_pcrs20", "response is not \"LockPCRs\"");
        show_resp();
        return;
    }
    step_pass("lock_pcrs20", NULL);
}

static void test_get_random(void)
{
    static const uint8_t req[] = {
        0x69, 'G', 'e', 't', 'R', 'a', 'n', 'd', 'o', 'm',
    };
    /* Linux drivers/misc/nsm.c: the prefix nsm.ko's hwrng insists on + 59 01 00
     */
    static const uint8_t prefix[] = {
        0xa1, 0x69, 'G', 'e', 't', 'R', 'a', 'n', 'd',  'o',  'm',
        0xa1, 0x66, 'r', 'a', 'n', 'd', 'o', 'm', 0x59, 0x01, 0x00,
    };
    uint8_t first[256];
    size_t i;
    size_t n_zero = 0;
    int err;

    err = nsm_raw_call(req, sizeof(req));
    if (err != 0) {
        step_fail("get_random", "ioctl: %s", strerror(err));
        return;
    }
    if (resp_len != sizeof(prefix) + 256 ||
        memcmp(resp_buf, prefix, sizeof(prefix)) != 0) {
        step_fail("get_random", "not {\"GetRandom\": {\"random\": 256 B}}");
        show_resp();
        return;
    }
    memcpy(first, resp_buf + sizeof(prefix), sizeof(first));
    for (i = 0; i < sizeof(first); i++) {
        n_zero += first[i] == 0;
    }
    if (n_zero == sizeof(first)) {
        step_fail("get_random", "256 zero bytes");
        return;
    }
    err = nsm_raw_call(req, sizeof(req));
    if (err != 0 || resp_len != sizeof(prefix) + 256 ||
        memcmp(resp_buf + sizeof(prefix), first, sizeof(first)) == 0) {
        step_fail("get_random", "second call failed or repeated the bytes");
        return;
    }
    step_pass("get_random", "256 bytes, two calls differ");
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/*
 * Round-trip time of GetRandom through nsm.ko, QEMU and the daemon. The
 * bound only catches a stalled device (the driver itself waits 120 s).
 */
static void test_latency(void)
{
    static const uint8_t req[] = {
        0x69, 'G', 'e', 't', 'R', 'a', 'n', 'd', 'o', 'm',
    };
    const unsigned int n_calls = 200;
    double min_us = 1e12;
    double max_us = 0;
    double sum_us = 0;
    double t0;
    double dt;
    unsigned int i;
    int err;

    for (i = 0; i < n_calls; i++) {
        t0 = now_us();
        err = nsm_raw_call(req, sizeof(req));
        dt = now_us() - t0;
        if (err != 0 || resp_len != 22 + 256) {
            step_fail("get_random_x200", "call %u failed (%s)", i,
                      err ? strerror(err) : "short response");
            return;
        }
        min_us = dt < min_us ? dt : min_us;
        max_us = dt > max_us ? dt : max_us;
        sum_us += dt;
    }
    if (max_us > 2e6) {
        step_fail("get_random_x200", "slowest round trip %.0f us", max_us);
        return;
    }
    step_pass("get_random_x200", "round trip min %.0f avg %.0f max %.0f us",
              min_us, sum_us / n_calls, max_us);
}

static void test_malformed(void)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    static uint8_t big[NSM_REQUEST_MAX_SIZE + 1];
    uint8_t req[64];
    size_t req_len;
    int err;

    err = nsm_raw_call(junk, sizeof(junk));
    if (err != 0 || !resp_is_error("InvalidOperation")) {
        step_fail("malformed_ffffffff", "want InvalidOperation (%s)",
                  err ? strerror(err) : "wrong response");
        show_resp();
    } else {
        step_pass("malformed_ffffffff", "InvalidOperation");
    }

    req_len = req_index(req, sizeof(req), "DescribePCR", "index", 50);
    err = nsm_raw_call(req, req_len);
    if (err != 0 || !resp_is_error("InvalidIndex")) {
        step_fail("describe_pcr50", "want InvalidIndex (%s)",
                  err ? strerror(err) : "wrong response");
        show_resp();
    } else {
        step_pass("describe_pcr50", "InvalidIndex");
    }

    /* a request one byte over the cap never leaves the kernel */
    memset(big, 0x41, sizeof(big));
    err = nsm_raw_call(big, sizeof(big));
    if (err != EMSGSIZE) {
        step_fail("request_0x1001", "ioctl gave %s, want EMSGSIZE",
                  err ? strerror(err) : "success");
    } else {
        step_pass("request_0x1001", "EMSGSIZE");
    }
}

/*
 * Attestation with all three optional fields; check the COSE_Sign1 frame
 * and the echoed fields and locked PCRs in the payload, then print the
 * document for the host-side verifier.
 */
static void test_attestation(void)
{
    static const uint8_t cose_head[] = {0x84, 0x44, 0xa1, 0x01, 0x38, 0x22};
    static uint8_t req[NSM_REQUEST_MAX_SIZE];
    static uint8_t doc[NSM_RESPONSE_MAX_SIZE];
    uint8_t user_data[64];
    uint8_t nonce[32];
    uint8_t pubkey[97];
    struct enc e = {req, sizeof(req), 0, false};
    struct dec m;
    struct dec d;
    struct dec payload;
    struct dec pcrs;
    struct item it;
    char why[160];
    const uint8_t *p;
    size_t p_len;
    size_t doc_len;
    const uint8_t *docp;
    uint64_t i;
    int err;

    for (i = 0; i < sizeof(user_data); i++) {
        user_data[i] = (uint8_t)('u' + i % 7);
    }
    for (i = 0; i < sizeof(nonce); i++) {
        nonce[i] = (uint8_t)(0xa0 + i);
    }
    pubkey[0] = 0x04; /* looks like an uncompressed P-384 point */
    for (i = 1; i < sizeof(pubkey); i++) {
        pubkey[i] = (uint8_t)(i * 37);
    }
    enc_head(&e, 5, 1);
    enc_text(&e, "Attestation");
    enc_head(&e, 5, 3);
    enc_text(&e, "user_data");
    enc_bytes(&e, user_data, sizeof(user_data));
    enc_text(&e, "nonce");
    enc_bytes(&e, nonce, sizeof(nonce));
    enc_text(&e, "public_key");
    enc_bytes(&e, pubkey, sizeof(pubkey));

    err = nsm_raw_call(req, e.len);
    if (err != 0) {
        step_fail("attestation", "ioctl: %s", strerror(err));
        return;
    }
    if (!resp_variant("Attestation", &m, why, sizeof(why))) {
        step_fail("attestation", "%s", why);
        show_resp();
        return;
    }
    if (!get_bytes(m, "document", &docp, &doc_len) || doc_len < 64) {
        step_fail("attestation", "no document byte string");
        return;
    }
    memcpy(doc, docp, doc_len);
    if (memcmp(doc, cose_head, sizeof(cose_head)) != 0) {
        step_fail("attestation", "not an untagged ES384 COSE_Sign1");
        print_hex("document", doc, doc_len);
        return;
    }
    /* 84 | 44 a1 01 38 22 | a0 | payload bstr | signature bstr */
    d.p = doc + 7;
    d.len = doc_len - 7;
    d.bad = false;
    if (!dec_item(&d, &it) || it.major != 2 || it.indef) {
        step_fail("attestation", "no payload byte string");
        return;
    }
    payload.p = it.str;
    payload.len = (size_t)it.val;
    payload.bad = false;
    if (!dec_item(&d, &it) || it.major != 2 || it.val != 96 || d.len != 0) {
        step_fail("attestation", "signature is not 96 bytes at the end");
        return;
    }
    if (!get_bytes(payload, "user_data", &p, &p_len) ||
        p_len != sizeof(user_data) || memcmp(p, user_data, p_len) != 0 ||
        !get_bytes(payload, "nonce", &p, &p_len) || p_len != sizeof(nonce) ||
        memcmp(p, nonce, p_len) != 0 ||
        !get_bytes(payload, "public_key", &p, &p_len) ||
        p_len != sizeof(pubkey) || memcmp(p, pubkey, p_len) != 0) {
        step_fail("attestation", "user_data/nonce/public_key not echoed");
        return;
    }
    /* after LockPCRs(20) the document lists exactly PCRs 0..19 */
    if (!map_find(payload, "pcrs", &pcrs) || !dec_item(&pcrs, &it) ||
        it.major != 5 || it.indef || it.val != 20) {
        step_fail("attestation", "pcrs is not a map of the 20 locked PCRs");
        return;
    }
    for (i = 0; i < 20; i++) {
        struct item k;
        struct item v;

        if (!dec_item(&pcrs, &k) || k.major != 0 || k.val != i ||
            !dec_item(&pcrs, &v) || v.major != 2 || v.val != PCR_SIZE) {
            step_fail("attestation", "pcrs entry %llu is wrong",
                      (unsigned long long)i);
            return;
        }
        if (i == 16 && memcmp(v.str, pcr16_expected, PCR_SIZE) != 0) {
            step_fail("attestation", "PCR16 in the document differs");
            return;
        }
    }
    step_pass("attestation", "document %zu bytes, fields echoed, PCRs 0..19",
              doc_len);

    /* for the host: document, then the expected policy values */
    printf("E2E-DOC-BEGIN\n");
    for (i = 0; i < doc_len; i++) {
        printf("%02x", doc[i]);
        if (i % 64 == 63 || i + 1 == doc_len) {
            putchar('\n');
        }
    }
    printf("E2E-DOC-END\n");
    printf("E2E-DOC-NONCE ");
    for (i = 0; i < sizeof(nonce); i++) {
        printf("%02x", nonce[i]);
    }
    printf("\nE2E-DOC-PCR16 ");
    for (i = 0; i < PCR_SIZE; i++) {
        printf("%02x", pcr16_expected[i]);
    }
    putchar('\n');
    fflush(stdout);
}

/* The kernel's hwrng must be nsm-hwrng and deliver bytes. */
static void test_hwrng(void)
{
    char cur[64] = {0};
    uint8_t buf[64];
    ssize_t n;
    size_t i;
    size_t n_zero = 0;
    int fd;

    fd = open("/sys/class/misc/hw_random/rng_current", O_RDONLY);
    if (fd < 0 || read(fd, cur, sizeof(cur) - 1) <= 0) {
        step_fail("hwrng", "cannot read rng_current: %s", strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    close(fd);
    cur[strcspn(cur, "\n")] = '\0';
    if (strcmp(cur, "nsm-hwrng") != 0) {
        step_fail("hwrng", "rng_current is \"%s\", not nsm-hwrng", cur);
        return;
    }
    fd = open("/dev/hwrng", O_RDONLY);
    if (fd < 0) {
        step_fail("hwrng", "open /dev/hwrng: %s", strerror(errno));
        return;
    }
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n != (ssize_t)sizeof(buf)) {
        step_fail("hwrng", "read /dev/hwrng gave %zd", n);
        return;
    }
    for (i = 0; i < sizeof(buf); i++) {
        n_zero += buf[i] == 0;
    }
    if (n_zero == sizeof(buf)) {
        step_fail("hwrng", "64 zero bytes");
        return;
    }
    step_pass("hwrng", "rng_current nsm-hwrng, 64 bytes read");
}

int main(int argc, char **argv)
{
    static const uint8_t zero[PCR_SIZE];

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "--module-id") == 0) {
        want_module_id = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: nsm-test [--module-id ID]\n"
                        "Runs every NSM operation through /dev/nsm.\n");
        return 2;
    }
    nsm_fd = open("/dev/nsm", O_RDWR);
    if (nsm_fd < 0) {
        step_fail("open_dev_nsm", "%s", strerror(errno));
        printf("E2E-RESULT %u passed, %u failed\n", n_passed, n_failed);
        return 1;
    }
    step_pass("open_dev_nsm", NULL);

    test_describe_nsm("describe_nsm", 16);
    test_describe_pcr("describe_pcr0", 0, true, NULL);
    test_describe_pcr("describe_pcr16", 16, false, zero);
    test_extend_pcr16();
    test_describe_pcr("describe_pcr16_extended", 16, false, pcr16_expected);
    test_lock_pcr16();
    test_describe_pcr("describe_pcr16_locked", 16, true, pcr16_expected);
    test_extend_locked();
    test_lock_pcrs20();
    test_describe_nsm("describe_nsm_locked20", 20);
    test_get_random();
    test_latency();
    test_malformed();
    test_attestation();
    test_hwrng();

    close(nsm_fd);
    printf("E2E-RESULT %u passed, %u failed\n", n_passed, n_failed);
    return n_failed == 0 ? 0 : 1;
}
