/* SPDX-License-Identifier: MIT */
/* The TVM's accept flow: see tsmguest.h. */
#include "tsmguest/tsmguest.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/hex.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "tsm/tsm_names.h"

#define MAX_CERTS 8

/* see tsmguest.h */
void tsmg_init(struct tsmg *g, struct tsmc *c)
{
    memset(g, 0, sizeof(*g));
    g->c = c;
}

/* see tsmguest.h */
const char *tsmg_error(const struct tsmg *g)
{
    return g->err;
}

/* see tsmguest.h */
int tsmg_call(struct tsmg *g, uint32_t fid, const uint64_t a[6],
              const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
              size_t *out_len, struct sbiret *ret)
{
    size_t dummy;

    if (tsmc_call(g->c, TSM_EID_COVG, fid, a, in, in_len, out, out_cap,
                  out_len != NULL ? out_len : &dummy, ret) != 0) {
        tv_set_err(g->err, sizeof(g->err), "TSM: %s", tsmc_error(g->c));
        return -1;
    }
    return 0;
}

/* A call whose only result is its sbiret; -1 unless SBI_SUCCESS. */
static int simple(struct tsmg *g, const char *name, uint32_t fid,
                  const uint64_t a[6], long *value)
{
    struct sbiret r;

    if (tsmg_call(g, fid, a, NULL, 0, NULL, 0, NULL, &r) != 0) {
        return -1;
    }
    if (r.error != SBI_SUCCESS) {
        tv_set_err(g->err, sizeof(g->err), "%s: %s", name,
                   tsm_sbi_name(r.error));
        return -1;
    }
    if (value != NULL) {
        *value = r.value;
    }
    return 0;
}

/* see tsmguest.h */
int tsmg_state(struct tsmg *g, uint64_t ifid, long *state)
{
    const uint64_t a[6] = {ifid};

    return simple(g, "get_interface_state", TSM_COVG_GET_INTERFACE_STATE, a,
                  state);
}

/* see tsmguest.h */
int tsmg_link(struct tsmg *g, uint64_t ifid, long *link)
{
    const uint64_t a[6] = {ifid};

    return simple(g, "get_device_link", TSM_COVG_GET_DEVICE_LINK, a, link);
}

/* see tsmguest.h */
int tsmg_map(struct tsmg *g, uint64_t ifid, uint64_t gpa, uint64_t hpa,
             uint64_t size)
{
    const uint64_t a[6] = {ifid, gpa, hpa, size};

    return simple(g, "map_interface_mmio", TSM_COVG_MAP_INTERFACE_MMIO, a,
                  NULL);
}

/* see tsmguest.h */
int tsmg_start(struct tsmg *g, uint64_t ifid)
{
    const uint64_t a[6] = {ifid};

    return simple(g, "start_interface", TSM_COVG_START_INTERFACE, a, NULL);
}

/* see tsmguest.h */
int tsmg_stop(struct tsmg *g, uint64_t ifid)
{
    const uint64_t a[6] = {ifid};

    return simple(g, "stop_interface", TSM_COVG_STOP_INTERFACE, a, NULL);
}

/* A call that writes g->buf: @a[@size_reg] is set to its capacity. */
static int with_output(struct tsmg *g, const char *name, uint32_t fid,
                       uint64_t a[6], int size_reg, const uint8_t *in,
                       size_t in_len, size_t *len)
{
    struct sbiret r;

    a[size_reg] = sizeof(g->buf);
    if (tsmg_call(g, fid, a, in, in_len, g->buf, sizeof(g->buf), len, &r) !=
        0) {
        return -1;
    }
    if (r.error != SBI_SUCCESS) {
        tv_set_err(g->err, sizeof(g->err), "%s: %s", name,
                   tsm_sbi_name(r.error));
        return -1;
    }
    if (r.value < 0 || (size_t)r.value != *len) {
        tv_set_err(g->err, sizeof(g->err),
                   "%s: the TSM says %ld bytes and wrote %zu", name, r.value,
                   *len);
        return -1;
    }
    return 0;
}

/* see tsmguest.h */
int tsmg_transcript(struct tsmg *g, uint64_t ifid, uint32_t elem, size_t *len)
{
    uint64_t a[6] = {ifid, elem, 0, 0, 0, 0};

    return with_output(g, "get_device_connection_transcript",
                       TSM_COVG_GET_CONN_TRANSCRIPT, a, 4, NULL, 0, len);
}

/* Decode {index u8, type u8, length u16 LE, value} blocks. */
static int parse_blocks(const uint8_t *p, size_t len, struct tsmg_block *b,
                        size_t cap, size_t *n)
{
    size_t off = 0;

    *n = 0;
    while (off < len) {
        uint16_t l;

        if (len - off < 4 || *n == cap) {
            return -1;
        }
        l = load_le16(p + off + 2);
        if (l > SPDM_MEAS_VALUE_MAX || l > len - off - 4) {
            return -1;
        }
        b[*n].index = p[off];
        b[*n].type = p[off + 1];
        b[*n].len = l;
        memcpy(b[*n].value, p + off + 4, l);
        (*n)++;
        off += 4 + (size_t)l;
    }
    return 0;
}

/* see tsmguest.h */
int tsmg_meas_decode(const uint8_t *buf, size_t len, const uint8_t *nonce,
                     struct tsmg_meas *m, char *err, size_t err_len)
{
    size_t blen;

    if (len < TDISP_NONCE_SIZE + 8) {
        tv_set_err(err, err_len, "measurements: a %zu-byte answer", len);
        return -1;
    }
    memcpy(m->nonce, buf, TDISP_NONCE_SIZE);
    if (memcmp(m->nonce, nonce, TDISP_NONCE_SIZE) != 0) {
        tv_set_err(err, err_len,
                   "measurements: the nonce is not the one this TVM sent");
        return -1;
    }
    m->generation = load_le32(buf + TDISP_NONCE_SIZE);
    blen = load_le32(buf + TDISP_NONCE_SIZE + 4);
    if (blen != len - TDISP_NONCE_SIZE - 8 ||
        parse_blocks(buf + TDISP_NONCE_SIZE + 8, blen, m->b,
                     SPDM_MEAS_BLOCKS_MAX, &m->n) != 0) {
        tv_set_err(err, err_len, "measurements: the blocks are malformed");
        return -1;
    }
    return 0;
}

/* see tsmguest.h */
int tsmg_measurements(struct tsmg *g, uint64_t ifid, const uint8_t *nonce,
                      struct tsmg_meas *m)
{
    uint64_t a[6] = {ifid, 0, 0, 0, 0, 0};
    size_t len;

    if (with_output(g, "get_device_measurements",
                    TSM_COVG_GET_DEVICE_MEASUREMENTS, a, 4, nonce,
                    TDISP_NONCE_SIZE, &len) != 0) {
        return -1;
    }
    return tsmg_meas_decode(g->buf, len, nonce, m, g->err, sizeof(g->err));
}

/* see tsmguest.h */
int tsmg_report(struct tsmg *g, uint64_t ifid, struct tdisp_report *r)
{
    uint64_t a[6] = {ifid, 0, 0, 0, 0, 0};
    size_t len;

    if (with_output(g, "get_interface_report", TSM_COVG_GET_INTERFACE_REPORT, a,
                    2, NULL, 0, &len) != 0) {
        return -1;
    }
    if (len > sizeof(g->report) || tdisp_parse_report(g->buf, len, r) != 0) {
        tv_set_err(g->err, sizeof(g->err),
                   "report: the interface report is malformed");
        return -1;
    }
    memcpy(g->report, g->buf, len);
    g->report_len = len;
    return 0;
}

/* Split DER certificates; the count, 0 when malformed or over @cap. */
static size_t split_der(const uint8_t *p, size_t len, const uint8_t **certs,
                        size_t *lens, size_t cap)
{
    size_t n = 0;

    while (len > 0) {
        size_t hl = 2, body = 0, k, j;

        if (n == cap || len < 2 || p[0] != 0x30) {
            return 0;
        }
        if (p[1] < 0x80) {
            body = p[1];
        } else {
            k = p[1] & 0x7f;
            if (k == 0 || k > 3 || len < 2 + k) {
                return 0;
            }
            for (j = 0; j < k; j++) {
                body = body << 8 | p[2 + j];
            }
            hl = 2 + k;
        }
        if (body > len - hl) {
            return 0;
        }
        certs[n] = p;
        lens[n++] = hl + body;
        p += hl + body;
        len -= hl + body;
    }
    return n;
}

/* see tsmguest.h */
int tsmg_verify_chain(struct tsmg *g, const uint8_t *chain, size_t len,
                      const uint8_t *root, size_t root_len, size_t *n_certs)
{
    const uint8_t *certs[MAX_CERTS], *inter[MAX_CERTS];
    size_t lens[MAX_CERTS], inter_len[MAX_CERTS], n, n_inter = 0, i;
    char why[256] = "";

    n = split_der(chain, len, certs, lens, MAX_CERTS);
    if (n == 0) {
        tv_set_err(g->err, sizeof(g->err),
                   "certificate: the chain is not a sequence of DER "
                   "certificates (or has more than %d)",
                   MAX_CERTS);
        return -1;
    }
    for (i = 0; i + 1 < n; i++) {
        if (i == 0 && lens[0] == root_len &&
            memcmp(certs[0], root, root_len) == 0) {
            continue; /* the pinned root itself is the anchor */
        }
        inter[n_inter] = certs[i];
        inter_len[n_inter++] = lens[i];
    }
    if (crypto_x509_verify_chain_openssl(root, root_len, inter, inter_len,
                                         n_inter, certs[n - 1], lens[n - 1],
                                         tv_wall_s(), why, sizeof(why)) != 0) {
        tv_set_err(g->err, sizeof(g->err),
                   "certificate: the device's chain does not verify under "
                   "the pinned root: %s",
                   why);
        return -1;
    }
    *n_certs = n;
    return 0;
}

/* see tsmguest.h */
int tsmg_policy_parse(const char *text, size_t len, struct tsmg_policy *p,
                      char *err, size_t err_len)
{
    size_t off = 0, line = 0, i;

    memset(p, 0, sizeof(*p));
    while (off < len) {
        char buf[2 * SPDM_MEAS_VALUE_MAX + 32];
        const char *eq, *hex;
        size_t end = off, l;
        char *stop;
        unsigned long idx;
        long n;

        while (end < len && text[end] != '\n') {
            end++;
        }
        line++;
        l = end - off;
        while (l > 0 && isspace((unsigned char)text[off + l - 1])) {
            l--;
        }
        while (l > 0 && isspace((unsigned char)text[off])) {
            off++;
            l--;
        }
        if (l == 0 || text[off] == '#') {
            off = end + 1;
            continue;
        }
        if (l >= sizeof(buf)) {
            tv_set_err(err, err_len, "policy line %zu: too long", line);
            return -1;
        }
        memcpy(buf, text + off, l);
        buf[l] = '\0';
        off = end + 1;
        eq = strchr(buf, '=');
        if (eq == NULL || !isdigit((unsigned char)buf[0])) {
            tv_set_err(err, err_len, "policy line %zu: not index=hexdigest",
                       line);
            return -1;
        }
        errno = 0;
        idx = strtoul(buf, &stop, 10);
        if (errno != 0 || stop != eq || idx < 1 || idx > 254) {
            tv_set_err(err, err_len, "policy line %zu: index is not 1..254",
                       line);
            return -1;
        }
        for (i = 0; i < p->n; i++) {
            if (p->b[i].index == idx) {
                tv_set_err(err, err_len, "policy line %zu: index %lu again",
                           line, idx);
                return -1;
            }
        }
        if (p->n == SPDM_MEAS_BLOCKS_MAX) {
            tv_set_err(err, err_len, "policy line %zu: over %d blocks", line,
                       SPDM_MEAS_BLOCKS_MAX);
            return -1;
        }
        hex = eq + 1;
        n = hex_decode(hex, p->b[p->n].value, sizeof(p->b[p->n].value));
        if (n <= 0) {
            tv_set_err(err, err_len,
                       "policy line %zu: the value is not 1..%d bytes of hex",
                       line, SPDM_MEAS_VALUE_MAX);
            return -1;
        }
        p->b[p->n].index = (uint8_t)idx;
        p->b[p->n].len = (uint16_t)n;
        p->n++;
    }
    return 0;
}

/* see tsmguest.h */
int tsmg_policy_check(const struct tsmg_policy *p, const struct tsmg_meas *m,
                      char *err, size_t err_len)
{
    size_t i, j;

    for (i = 0; i < m->n; i++) {
        const struct tsmg_block *b = &m->b[i];

        for (j = 0; j < p->n && p->b[j].index != b->index; j++) {
        }
        if (j == p->n) {
            tv_set_err(err, err_len,
                       "measurements: block %u is not in the policy", b->index);
            return -1;
        }
        if (p->b[j].len != b->len ||
            memcmp(p->b[j].value, b->value, b->len) != 0) {
            tv_set_err(err, err_len,
                       "measurements: block %u differs from the policy",
                       b->index);
            return -1;
        }
    }
    for (j = 0; j < p->n; j++) {
        for (i = 0; i < m->n && m->b[i].index != p->b[j].index; i++) {
        }
        if (i == m->n) {
            tv_set_err(err, err_len,
                       "measurements: the device reports no block %u",
                       p->b[j].index);
            return -1;
        }
    }
    return 0;
}

static bool parse_u64(const char *s, const char **end, uint64_t *v, bool suffix)
{
    char *e;
    unsigned long long x;

    if (!isdigit((unsigned char)*s)) {
        return false;
    }
    errno = 0;
    x = strtoull(s, &e, 0);
    if (errno != 0 || e == s) {
        return false;
    }
    if (suffix && (*e == 'k' || *e == 'K' || *e == 'm' || *e == 'M')) {
        unsigned sh = (*e == 'k' || *e == 'K') ? 10 : 20;
        if (x > (UINT64_MAX >> sh)) {
            return false;
        }
        x <<= sh;
        e++;
    }
    *v = x;
    *end = e;
    return true;
}

/* see tsmguest.h */
int tsmg_ranges_parse(const char *s, struct tsmg_range *r, size_t cap,
                      size_t *n)
{
    const char *p = s;

    *n = 0;
    for (;;) {
        uint64_t a, z;

        if (*n == cap || !parse_u64(p, &p, &a, false) || *p++ != '+' ||
            !parse_u64(p, &p, &z, true) || z == 0 || a + z < a) {
            return -1;
        }
        r[*n].addr = a;
        r[*n].size = z;
        (*n)++;
        if (*p == '\0') {
            return 0;
        }
        if (*p++ != ',') {
            return -1;
        }
    }
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The failing step's name in @res, its reason already in g->err. */
static int refuse(struct tsmg_accept_result *res, const char *step)
{
    res->step = step;
    return -1;
}

/* see tsmguest.h */
int tsmg_accept(struct tsmg *g, uint64_t ifid,
                const struct tsmg_accept_cfg *cfg,
                struct tsmg_accept_result *res)
{
    struct tsmg_meas *m = &g->meas;
    struct tdisp_report *rep = &g->rep;
    uint8_t nonce[TDISP_NONCE_SIZE];
    size_t len, off, i;
    uint64_t deadline;
    long v;
    bool cert_seen = false;

    memset(res, 0, sizeof(*res));
    /* 1. the link: a secure SPDM session to the device */
    if (tsmg_link(g, ifid, &v) != 0) {
        return refuse(res, "link");
    }
    if (!(v & TSM_LINK_SECURED_SPDM)) {
        tv_set_err(g->err, sizeof(g->err),
                   "link: no secure SPDM session to the device");
        return refuse(res, "link");
    }
    /* 2. the certificate chain the session key was proved against */
    if (tsmg_transcript(g, ifid, TSM_ELEM_DEVICE_CERTIFICATE, &len) != 0) {
        return refuse(res, "certificate");
    }
    memcpy(g->chain, g->buf, len);
    g->chain_len = len;
    res->chain_len = len;
    if (tsmg_verify_chain(g, g->chain, len, cfg->root, cfg->root_len,
                          &res->n_certs) != 0) {
        return refuse(res, "certificate");
    }
    /* 3. the whole transcript: every element, its certificate the same */
    if (tsmg_transcript(g, ifid, TSM_ELEM_FULL, &len) != 0) {
        return refuse(res, "transcript");
    }
    res->transcript_len = len;
    for (off = 0; off < len;) {
        uint32_t e, n;

        if (len - off < 8 ||
            (n = load_le32(g->buf + off + 4)) > len - off - 8) {
            tv_set_err(g->err, sizeof(g->err),
                       "transcript: malformed at byte %zu", off);
            return refuse(res, "transcript");
        }
        e = load_le32(g->buf + off);
        if (e == TSM_ELEM_DEVICE_CERTIFICATE) {
            if (n != g->chain_len ||
                memcmp(g->buf + off + 8, g->chain, n) != 0) {
                tv_set_err(g->err, sizeof(g->err),
                           "transcript: its certificate element is not the "
                           "chain just verified");
                return refuse(res, "transcript");
            }
            cert_seen = true;
        }
        off += 8 + n;
    }
    if (!cert_seen) {
        tv_set_err(g->err, sizeof(g->err),
                   "transcript: no certificate element");
        return refuse(res, "transcript");
    }
    /* 4. measurements with a fresh nonce, against the policy */
    if (crypto_random(nonce, sizeof(nonce)) != 0) {
        tv_set_err(g->err, sizeof(g->err), "measurements: no random nonce");
        return refuse(res, "measurements");
    }
    if (tsmg_measurements(g, ifid, nonce, m) != 0) {
        return refuse(res, "measurements");
    }
    res->n_blocks = m->n;
    res->generation = m->generation;
    if (tsmg_policy_check(cfg->policy, m, g->err, sizeof(g->err)) != 0) {
        return refuse(res, "measurements");
    }
    /* 5. the interface report's MMIO ranges */
    if (tsmg_report(g, ifid, rep) != 0) {
        return refuse(res, "report");
    }
    res->n_ranges = rep->n_ranges;
    if (rep->n_ranges != cfg->n_mmio) {
        tv_set_err(g->err, sizeof(g->err),
                   "report: %zu MMIO range(s), %zu expected", rep->n_ranges,
                   cfg->n_mmio);
        return refuse(res, "report");
    }
    for (i = 0; i < rep->n_ranges; i++) {
        uint64_t size = (uint64_t)rep->ranges[i].n_pages * TSM_PAGE_SIZE;

        if (rep->ranges[i].addr != cfg->mmio[i].addr ||
            size != cfg->mmio[i].size) {
            tv_set_err(g->err, sizeof(g->err),
                       "report: MMIO range %zu is 0x%llx+0x%llx, 0x%llx+0x%llx "
                       "expected",
                       i, (unsigned long long)rep->ranges[i].addr,
                       (unsigned long long)size,
                       (unsigned long long)cfg->mmio[i].addr,
                       (unsigned long long)cfg->mmio[i].size);
            return refuse(res, "report");
        }
    }
    /* 6. still locked */
    if (tsmg_state(g, ifid, &v) != 0) {
        return refuse(res, "state");
    }
    if (v != TSM_IF_LOCKED) {
        tv_set_err(g->err, sizeof(g->err), "state: %s, Locked expected",
                   tsm_if_state_name(v));
        return refuse(res, "state");
    }
    /* 7. map every range */
    for (i = 0; i < cfg->n_mmio; i++) {
        uint64_t gpa = cfg->gpa != NULL ? cfg->gpa[i] : cfg->mmio[i].addr;

        if (tsmg_map(g, ifid, gpa, cfg->mmio[i].addr, cfg->mmio[i].size) != 0) {
            size_t k = strlen(g->err);
            snprintf(g->err + k, sizeof(g->err) - k,
                     " (range %zu; has the host added the region?)", i);
            return refuse(res, "map");
        }
    }
    /* 8. start, and wait until the device runs */
    if (tsmg_start(g, ifid) != 0) {
        return refuse(res, "start");
    }
    deadline = tv_mono_ms() + cfg->timeout_ms;
    for (;;) {
        if (tsmg_state(g, ifid, &v) != 0) {
            return refuse(res, "running");
        }
        res->polls++;
        if (v == TSM_IF_RUNNING) {
            break;
        }
        if (v != TSM_IF_LOCKED) {
            tv_set_err(g->err, sizeof(g->err), "running: the interface went %s",
                       tsm_if_state_name(v));
            return refuse(res, "running");
        }
        if (tv_mono_ms() >= deadline) {
            tv_set_err(g->err, sizeof(g->err),
                       "running: not Running after %u ms (did the host call "
                       "tee_io_action?)",
                       cfg->timeout_ms);
            return refuse(res, "running");
        }
        sleep_ms(cfg->poll_ms);
    }
    res->step = "running";
    return 0;
}
