/* SPDX-License-Identifier: MIT */
/*
 * nsm tsm-report: attest through configfs-tsm, whatever the provider (nsm
 * through trustvio_nsm.ko, tdx_guest, sev_guest, arm_cca_guest), and write
 * the evidence as a tsm-report envelope:
 *
 *   JSON  {"provider": "nsm", "outblob": "<base64>", "auxblob": "<base64>"}
 *         (application/vnd.veraison.tsm-report+json; auxblob only when the
 *         provider has one; provider without the attribute's newline)
 *   CBOR  {"auxblob": bstr, "outblob": bstr, "provider": bstr}
 *         (application/vnd.veraison.tsm-report+cbor)
 *
 * and the reader `nsm verify` uses to take NSM evidence back out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tsm_report.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/xmalloc.h"

#define TSM_DEFAULT_DIR "/sys/kernel/config/tsm/report"
#define TSM_INBLOB_MAX  64
#define TSM_NONCE_SIZE  64
/* the outblob limit of Linux 7.3 */
#define TSM_OUTBLOB_MAX (16u << 20)

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE_ERR = 2 };

static const char tsm_usage[] =
    "Usage: nsm tsm-report [--nonce HEX|@FILE] [--format json|cbor|raw]\n"
    "                      [-o FILE] [--configfs DIR]\n"
    "\n"
    "Get an attestation report through Linux configfs-tsm from whichever\n"
    "provider the kernel has (nsm, tdx_guest, sev_guest, arm_cca_guest)\n"
    "and write it as a tsm-report envelope {provider, outblob, auxblob}.\n"
    "\n"
    "  --nonce V      the inblob, 1..64 bytes: hex or @FILE; default 64\n"
    "                 random bytes, printed as hex on stderr\n"
    "  --format F     json (default, "
    "application/vnd.veraison.tsm-report+json,\n"
    "                 blobs in base64), cbor (...+cbor) or raw (outblob only)\n"
    "  -o FILE        write there instead of stdout\n"
    "  --configfs DIR the report directory (default " TSM_DEFAULT_DIR ")\n"
    "\n"
    "A report directory is made for the request and removed after it. The\n"
    "generation attribute is checked before and after, so a concurrent\n"
    "writer cannot slip another input under the report. `nsm verify`\n"
    "accepts the envelope for provider nsm.\n";

static void tsm_die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void tsm_die(int status, const char *fmt, ...)
{
    va_list ap;

    fputs("nsm tsm-report: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

/* Read an attribute; returns a new buffer, or NULL with errno set. */
static uint8_t *attr_read(const char *dir, const char *name, size_t cap,
                          size_t *len)
{
    char path[4096];
    uint8_t *buf;
    size_t n = 0;
    ssize_t r;
    int fd, err;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    buf = xmalloc(cap + 1);
    for (;;) {
        r = read(fd, buf + n, cap + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
        if (n > cap) {
            r = -1;
            errno = EFBIG;
            break;
        }
    }
    err = errno;
    close(fd);
    if (r < 0) {
        free(buf);
        errno = err;
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static unsigned long attr_generation(const char *dir)
{
    size_t len;
    uint8_t *g = attr_read(dir, "generation", 32, &len);
    unsigned long v;

    if (g == NULL) {
        tsm_die(EXIT_FAIL, "cannot read %s/generation: %s", dir,
                strerror(errno));
    }
    v = strtoul((const char *)g, NULL, 10);
    free(g);
    return v;
}

static void b64_put(FILE *f, const uint8_t *p, size_t len)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t v;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        fprintf(f, "%c%c%c%c", tab[v >> 18], tab[(v >> 12) & 63],
                tab[(v >> 6) & 63], tab[v & 63]);
    }
    if (len - i == 1) {
        v = (uint32_t)p[i] << 16;
        fprintf(f, "%c%c==", tab[v >> 18], tab[(v >> 12) & 63]);
    } else if (len - i == 2) {
        v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        fprintf(f, "%c%c%c=", tab[v >> 18], tab[(v >> 12) & 63],
                tab[(v >> 6) & 63]);
    }
}

/* A CBOR head (RFC 8949 section 3) of major type @mt (0..7) and @arg. */
static void cbor_put(FILE *f, unsigned int mt, uint64_t arg)
{
    unsigned int i, n;

    if (arg < 24) {
        fputc((int)(mt << 5 | arg), f);
        return;
    }
    n = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffffu ? 4 : 8;
    fputc((int)(mt << 5 | (n == 1   ? 24u
                           : n == 2 ? 25u
                           : n == 4 ? 26u
                                    : 27u)),
          f);
    for (i = n; i > 0; i--) {
        fputc((int)((arg >> (8 * (i - 1))) & 0xff), f);
    }
}

static void cbor_put_kv(FILE *f, const char *key, const uint8_t *p, size_t n)
{
    cbor_put(f, 3, strlen(key));
    fputs(key, f);
    cbor_put(f, 2, n);
    fwrite(p, 1, n, f);
}

/* see tsm_report.h */
int tsm_report_main(int argc, char **argv)
{
    enum { OPT_NONCE = 256, OPT_FORMAT, OPT_CONFIGFS };
    static const struct option lo[] = {
        {"nonce", required_argument, NULL, OPT_NONCE},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"configfs", required_argument, NULL, OPT_CONFIGFS},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *base = TSM_DEFAULT_DIR, *format = "json", *out = NULL;
    uint8_t nonce[TSM_INBLOB_MAX];
    size_t nonce_len = 0, out_len, aux_len = 0, prov_len;
    uint8_t *outblob, *aux, *prov;
    unsigned long g0, g1;
    char dir[4096], path[4200];
    bool have_nonce = false;
    FILE *f = stdout;
    int c, fd;
    ssize_t w;

    optind = 0;
    while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
        switch (c) {
        case OPT_NONCE:
            if (optarg[0] == '@') {
                /* "@/abs" reads "/abs", "@rel" reads "./rel" */
                uint8_t *v = attr_read(optarg[1] == '/' ? "" : ".", optarg + 1,
                                       TSM_INBLOB_MAX, &nonce_len);

                if (v == NULL) {
                    tsm_die(EXIT_USAGE_ERR, "--nonce %s: %s", optarg,
                            strerror(errno));
                }
                memcpy(nonce, v, nonce_len);
                free(v);
            } else {
                long n = hex_decode(optarg, nonce, sizeof(nonce));

                if (n < 0) {
                    tsm_die(EXIT_USAGE_ERR,
                            "--nonce: '%s' is not hex of at most %d bytes",
                            optarg, TSM_INBLOB_MAX);
                }
                nonce_len = (size_t)n;
            }
            if (nonce_len == 0) {
                tsm_die(EXIT_USAGE_ERR,
                        "--nonce: configfs-tsm needs 1..%d "
                        "bytes",
                        TSM_INBLOB_MAX);
            }
            have_nonce = true;
            break;
        case OPT_FORMAT:
            format = optarg;
            if (strcmp(format, "json") != 0 && strcmp(format, "cbor") != 0 &&
                strcmp(format, "raw") != 0) {
                tsm_die(EXIT_USAGE_ERR, "--format %s: json, cbor or raw",
                        format);
            }
            break;
        case OPT_CONFIGFS:
            base = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(tsm_usage, stdout);
            return EXIT_OK;
        default:
            fputs("Try 'nsm tsm-report --help'.\n", stderr);
            return EXIT_USAGE_ERR;
        }
    }
    if (optind != argc) {
        tsm_die(EXIT_USAGE_ERR, "unexpected argument '%s'", argv[optind]);
    }
    if (!have_nonce) {
        char hex[2 * TSM_NONCE_SIZE + 1];

        if (getrandom(nonce, TSM_NONCE_SIZE, 0) != TSM_NONCE_SIZE) {
            tsm_die(EXIT_FAIL, "no random nonce: %s", strerror(errno));
        }
        nonce_len = TSM_NONCE_SIZE;
        hex_encode(nonce, nonce_len, hex);
        fprintf(stderr, "nsm tsm-report: nonce %s\n", hex);
    }

    snprintf(dir, sizeof(dir), "%s/nsm-cli.%ld", base, (long)getpid());
    if (mkdir(dir, 0700) != 0) {
        tsm_die(EXIT_FAIL, "cannot create a report in %s: %s%s", base,
                strerror(errno),
                errno == ENOENT || errno == ENXIO
                    ? " (no configfs-tsm, or no provider loaded)"
                    : "");
    }
    g0 = attr_generation(dir);
    snprintf(path, sizeof(path), "%s/inblob", dir);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    w = fd < 0 ? -1 : write(fd, nonce, nonce_len);
    if (fd < 0 || w != (ssize_t)nonce_len || close(fd) != 0) {
        int err = errno;

        rmdir(dir);
        tsm_die(EXIT_FAIL, "cannot write %s: %s", path, strerror(err));
    }
    g1 = attr_generation(dir);
    outblob = attr_read(dir, "outblob", TSM_OUTBLOB_MAX, &out_len);
    if (outblob == NULL) {
        int err = errno;

        rmdir(dir);
        tsm_die(EXIT_FAIL, "cannot read %s/outblob: %s", dir, strerror(err));
    }
    prov = attr_read(dir, "provider", 256, &prov_len);
    /* auxblob is hidden by providers without one (nsm among them) */
    aux = attr_read(dir, "auxblob", TSM_OUTBLOB_MAX, &aux_len);
    if (g1 != g0 + 1 || attr_generation(dir) != g1) {
        rmdir(dir);
        tsm_die(EXIT_FAIL, "another writer changed the report's input "
                           "(generation moved); try again");
    }
    rmdir(dir);
    if (prov == NULL) {
        tsm_die(EXIT_FAIL, "cannot read the provider: %s", strerror(errno));
    }
    while (prov_len > 0 && prov[prov_len - 1] == '\n') {
        prov[--prov_len] = 0;
    }

    if (out != NULL) {
        f = fopen(out, "wb");
        if (f == NULL) {
            tsm_die(EXIT_FAIL, "cannot create %s: %s", out, strerror(errno));
        }
    }
    if (strcmp(format, "raw") == 0) {
        fwrite(outblob, 1, out_len, f);
    } else if (strcmp(format, "cbor") == 0) {
        cbor_put(f, 5, aux != NULL && aux_len > 0 ? 3 : 2);
        if (aux != NULL && aux_len > 0) {
            cbor_put_kv(f, "auxblob", aux, aux_len);
        }
        cbor_put_kv(f, "outblob", outblob, out_len);
        cbor_put_kv(f, "provider", prov, prov_len);
    } else {
        /* provider names are [a-z0-9_-]: no JSON escaping needed */
        fprintf(f, "{\"provider\":\"%s\",\"outblob\":\"", (char *)prov);
        b64_put(f, outblob, out_len);
        if (aux != NULL && aux_len > 0) {
            fputs("\",\"auxblob\":\"", f);
            b64_put(f, aux, aux_len);
        }
        fputs("\"}\n", f);
    }
    free(outblob);
    free(aux);
    free(prov);
    if ((f != stdout ? fclose(f) : fflush(f)) != 0) {
        tsm_die(EXIT_FAIL, "cannot write %s: %s", out ? out : "stdout",
                strerror(errno));
    }
    return EXIT_OK;
}

/* ---- reading an envelope back ------------------------------------------ */

static int b64_val(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+' || c == '-') {
        return 62;
    }
    if (c == '/' || c == '_') {
        return 63;
    }
    return -1;
}

/* Base64, standard or URL alphabet, padding optional; -1 if malformed. */
static long b64_decode(const char *s, size_t n, uint8_t *out)
{
    uint32_t acc = 0;
    size_t i, bits = 0, o = 0;
    int v;

    while (n > 0 && s[n - 1] == '=') {
        n--;
    }
    for (i = 0; i < n; i++) {
        v = b64_val((unsigned char)s[i]);
        if (v < 0) {
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return bits >= 6 ? -1 : (long)o;
}

/* A JSON string at *@p; these values need no escape but a final newline. */
static int json_string(const char **p, const char *end, const char **s,
                       size_t *n)
{
    const char *q = *p;

    if (q >= end || *q != '"') {
        return -1;
    }
    q++;
    *s = q;
    while (q < end && *q != '"') {
        /* only a trailing "\n" (a provider read as-is from configfs) */
        if (*q == '\\') {
            if (end - q < 3 || q[1] != 'n' || q[2] != '"') {
                return -1;
            }
            *n = (size_t)(q - *s);
            *p = q + 3;
            return 0;
        }
        q++;
    }
    if (q >= end) {
        return -1;
    }
    *n = (size_t)(q - *s);
    *p = q + 1;
    return 0;
}

static void json_ws(const char **p, const char *end)
{
    while (*p < end &&
           (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')) {
        (*p)++;
    }
}

struct envelope {
    const uint8_t *prov; /* provider name */
    size_t prov_len;     /* its bytes */
    uint8_t *out;        /* outblob, decoded; owned */
    size_t out_len;      /* its bytes */
};

static int parse_json(const uint8_t *in, size_t len, struct envelope *e)
{
    const char *p = (const char *)in, *end = p + len, *k, *v;
    size_t kn, vn;
    long n;

    json_ws(&p, end);
    if (p >= end || *p++ != '{') {
        return -1;
    }
    for (;;) {
        json_ws(&p, end);
        if (json_string(&p, end, &k, &kn) != 0) {
            return -1;
        }
        json_ws(&p, end);
        if (p >= end || *p++ != ':') {
            return -1;
        }
        json_ws(&p, end);
        if (json_string(&p, end, &v, &vn) != 0) {
            return -1;
        }
        if (kn == 8 && memcmp(k, "provider", 8) == 0) {
            e->prov = (const uint8_t *)v;
            e->prov_len = vn;
        } else if (kn == 7 && memcmp(k, "outblob", 7) == 0) {
            free(e->out);
            e->out = xmalloc(vn / 4 * 3 + 3);
            n = b64_decode(v, vn, e->out);
            if (n < 0) {
                return -1;
            }
            e->out_len = (size_t)n;
        }
        json_ws(&p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}') {
            return 0;
        }
        return -1;
    }
}

static int cbor_get(const uint8_t **p, const uint8_t *end, unsigned int *mt,
                    uint64_t *arg)
{
    unsigned int ai, n, i;

    if (*p >= end) {
        return -1;
    }
    *mt = **p >> 5;
    ai = **p & 31;
    (*p)++;
    if (ai < 24) {
        *arg = ai;
        return 0;
    }
    if (ai > 27) {
        return -1;
    }
    n = 1u << (ai - 24);
    if ((size_t)(end - *p) < n) {
        return -1;
    }
    for (*arg = 0, i = 0; i < n; i++) {
        *arg = *arg << 8 | (*p)[i];
    }
    *p += n;
    return 0;
}

static int parse_cbor(const uint8_t *in, size_t len, struct envelope *e)
{
    const uint8_t *p = in, *end = in + len, *k, *v;
    unsigned int mt;
    uint64_t n, kn, vn, i;

    if (cbor_get(&p, end, &mt, &n) != 0 || mt != 5 || n > 8) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (cbor_get(&p, end, &mt, &kn) != 0 || mt != 3 ||
            kn > (uint64_t)(end - p)) {
            return -1;
        }
        k = p;
        p += kn;
        /* byte or text strings only, as the envelope has */
        if (cbor_get(&p, end, &mt, &vn) != 0 || (mt != 2 && mt != 3) ||
            vn > (uint64_t)(end - p)) {
            return -1;
        }
        v = p;
        p += vn;
        if (kn == 8 && memcmp(k, "provider", 8) == 0) {
            e->prov = v;
            e->prov_len = (size_t)vn;
        } else if (kn == 7 && memcmp(k, "outblob", 7) == 0 && mt == 2) {
            free(e->out);
            e->out = xmalloc((size_t)vn + 1);
            memcpy(e->out, v, (size_t)vn);
            e->out_len = (size_t)vn;
        }
    }
    return p == end ? 0 : -1;
}

/* see tsm_report.h */
int tsm_envelope_unwrap(const uint8_t *in, size_t in_len, uint8_t **doc,
                        size_t *doc_len, char *why, size_t why_cap)
{
    struct envelope e = {0};
    size_t i = 0;
    int rc;

    while (i < in_len &&
           (in[i] == ' ' || in[i] == '\n' || in[i] == '\t' || in[i] == '\r')) {
        i++;
    }
    if (i < in_len && in[i] == '{') {
        rc = parse_json(in + i, in_len - i, &e);
    } else if (in_len > 0 && (in[0] >> 5) == 5) {
        rc = parse_cbor(in, in_len, &e);
    } else {
        return 1; /* a COSE_Sign1 array (0x84) or tag (0xd2) */
    }
    if (rc != 0 || e.prov == NULL || e.out == NULL) {
        snprintf(why, why_cap,
                 "malformed tsm-report envelope (want "
                 "provider and outblob)");
        free(e.out);
        return -1;
    }
    while (e.prov_len > 0 && e.prov[e.prov_len - 1] == '\n') {
        e.prov_len--;
    }
    if (e.prov_len != 3 || memcmp(e.prov, "nsm", 3) != 0) {
        snprintf(
            why, why_cap, "evidence from provider '%.*s' is not NSM evidence",
            (int)(e.prov_len > 64 ? 64 : e.prov_len), (const char *)e.prov);
        free(e.out);
        return -1;
    }
    *doc = e.out;
    *doc_len = e.out_len;
    return 0;
}
