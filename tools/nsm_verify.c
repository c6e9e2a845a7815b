/* SPDX-License-Identifier: MIT */
/*
 * `nsm verify`: check an attestation document against a pinned root and
 * the caller's policy, print what it says, and exit 0 only when everything
 * asked for holds (1: verification failed, 2: usage or I/O error).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/hex.h"
#include "common/xmalloc.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "verify/verify.h"
#include "tsm_report.h"

int nsm_verify_main(int argc, char **argv);

#define DOC_MAX     (1024 * 1024) /* bytes read from DOC at most */
#define EXIT_FAILED 1
#define EXIT_USAGE  2

static const char verify_usage[] =
    "Usage: nsm verify DOC [options]\n"
    "\n"
    "Verify an NSM attestation document (a COSE_Sign1, as returned by the\n"
    "Attestation request) and print its contents. DOC is a file, or - for\n"
    "standard input.\n"
    "\n"
    "The document must be signed by a chain leaf <- cabundle <- root, with\n"
    "cabundle[0] equal to the pinned root: by default the AWS Nitro\n"
    "Enclaves root (SHA-256 " VERIFY_AWS_ROOT_SHA256 ").\n"
    "\n"
    "Freshness is never assumed. Say how the document is bound to the\n"
    "present, with --nonce (the nonce sent with the Attestation request)\n"
    "or --max-age, and it is checked at the current time; or say that it\n"
    "is a stored, historic document with --at document (its own timestamp)\n"
    "or --at TIME. Without one of these nsm verify refuses to run. Every\n"
    "certificate must be valid at the check time: the leaf lives about\n"
    "three hours, so a stored document only verifies with --at.\n"
    "\n"
    "Options:\n"
    "  --root FILE         pin this root certificate instead (PEM or DER; a\n"
    "                      directory means DIR/root.pem, e.g. a PKI made by\n"
    "                      `nsm pki init`)\n"
    "  --at document|TIME|now\n"
    "                      check certificate validity at the document's own\n"
    "                      timestamp or at TIME (RFC 3339, e.g.\n"
    "                      2023-09-18T15:03:30Z, or Unix seconds): a historic\n"
    "                      document; or now (the default, which needs --nonce\n"
    "                      or --max-age)\n"
    "  --max-age SECONDS   fail if the document is older than this (or its\n"
    "                      timestamp lies in the future) by the current clock\n"
    "  --now TIME          use TIME as the current clock (for --at now and\n"
    "                      --max-age; reproducible checks)\n"
    "  --pcr N=HEX         require PCR N (0..31) to equal the 48-byte HEX;\n"
    "                      repeatable\n"
    "  --nonce HEX         require this nonce ('' requires an empty one)\n"
    "                      (proves freshness when you chose the nonce)\n"
    "  --user-data HEX     require this user_data\n"
    "  --public-key HEX    require this public_key\n"
    "  --json              print one JSON object instead of text\n"
    "  -q, --quiet         print nothing but the result line\n"
    "  -h, --help          show this help\n"
    "\n"
    "Exit status: 0 when the document verifies and every requirement holds,\n"
    "1 when verification fails, 2 for usage or I/O errors.\n";

/* Parse RFC 3339 (Z or +hh:mm, optional fraction) or Unix seconds. */
static int parse_time_ms(const char *s, int64_t *out_ms)
{
    struct tm tm;
    const char *p;
    char *end;
    int64_t ms = 0, off_s = 0;

    if (s[0] != '\0' && strspn(s, "0123456789.") == strlen(s)) {
        double v = strtod(s, &end);

        if (*end != '\0' || v < 0 || v > 1e13) {
            return -1;
        }
        *out_ms = (int64_t)(v * 1000.0 + 0.5);
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p == NULL) {
        p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    }
    if (p == NULL) {
        return -1;
    }
    if (*p == '.') {
        int digits = 0;

        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3) {
                ms = ms * 10 + (*p - '0');
            }
            digits++;
            p++;
        }
        if (digits == 0) {
            return -1;
        }
        for (; digits < 3; digits++) {
            ms *= 10;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int h = atoi(p + 1), m = atoi(p + 4);

        off_s = (int64_t)(h * 3600 + m * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0') {
        return -1;
    }
    *out_ms = ((int64_t)timegm(&tm) - off_s) * 1000 + ms;
    return 0;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    uint8_t *buf;
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "nsm verify: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    buf = xmalloc(DOC_MAX + 1);
    n = fread(buf, 1, DOC_MAX + 1, f);
    if (ferror(f)) {
        fprintf(stderr, "nsm verify: %s: read error\n", path);
        goto err_free;
    }
    if (n > DOC_MAX) {
        fprintf(stderr, "nsm verify: %s: larger than %d bytes\n", path,
                DOC_MAX);
        goto err_free;
    }
    if (f != stdin) {
        fclose(f);
    }
    *len = n;
    return buf;

err_free:
    if (f != stdin) {
        fclose(f);
    }
    free(buf);
    return NULL;
}

/* Hex option: "" is a valid, empty expectation. */
static int parse_hex_blob(const char *opt, const char *s, struct verify_blob *b)
{
    size_t cap = strlen(s) / 2 + 1;
    uint8_t *p = xmalloc(cap);
    long n = hex_decode(s, p, cap);

    if (n < 0) {
        fprintf(stderr, "nsm verify: %s: not a hex string\n", opt);
        free(p);
        return -1;
    }
    b->p = p;
    b->len = (size_t)n;
    b->present = true;
    return 0;
}

static int parse_pcr(const char *s, struct verify_policy *pol)
{
    char *end;
    long idx = strtol(s, &end, 10);
    uint8_t v[VERIFY_PCR_SIZE + 1];

    if (end == s || *end != '=' || idx < 0 || idx >= VERIFY_PCR_COUNT) {
        fprintf(stderr,
                "nsm verify: --pcr %s: expected N=HEX with N in "
                "0..31\n",
                s);
        return -1;
    }
    if (hex_decode(end + 1, v, sizeof(v)) != VERIFY_PCR_SIZE) {
        fprintf(stderr,
                "nsm verify: --pcr %s: the value must be 48 bytes "
                "(96 hex digits)\n",
                s);
        return -1;
    }
    pol->pcr_mask |= 1u << idx;
    memcpy(pol->pcr[idx], v, VERIFY_PCR_SIZE);
    return 0;
}

static int load_root(const char *path, struct verify_root *root)
{
    char buf[4096];
    struct stat st;
    uint8_t *data;
    size_t len;
    int rc;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(buf, sizeof(buf), "%s/root.pem", path);
        path = buf;
    }
    data = read_all(path, &len);
    if (data == NULL) {
        return -1;
    }
    rc = verify_root_init(root, data, len);
    free(data);
    if (rc != VERIFY_OK) {
        fprintf(stderr, "nsm verify: %s: not a certificate (PEM or DER)\n",
                path);
        return -1;
    }
    return 0;
}

static char *ms_str(int64_t ms, char *buf, size_t cap)
{
    size_t n;

    crypto_x509_time_str(ms >= 0 ? ms / 1000 : -1 - (-ms - 1) / 1000, buf, cap);
    n = strlen(buf);
    if (n > 0 && buf[n - 1] == 'Z' && n + 5 <= cap) {
        snprintf(buf + n - 1, cap - n + 1, ".%03dZ",
                 (int)(((ms % 1000) + 1000) % 1000));
    }
    return buf;
}

static void print_hex(FILE *f, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        fprintf(f, "%02x", p[i]);
    }
}

static void json_str(FILE *f, const uint8_t *p, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];

        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

static void json_cstr(FILE *f, const char *s)
{
    json_str(f, (const uint8_t *)s, strlen(s));
}

static void json_blob(FILE *f, const struct verify_blob *b)
{
    if (!b->present) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    print_hex(f, b->p, b->len);
    fputc('"', f);
}

/* One certificate of the document, for display. */
struct cert_line {
    const char *role;
    char subject[CRYPTO_X509_NAME_MAX];
    char not_before[32];
    char not_after[32];
    bool decoded;
};

static void describe_certs(const struct verify_doc *d, struct cert_line *out,
                           size_t *n_out)
{
    size_t n = d->n_cabundle + 1;

    for (size_t i = 0; i < n; i++) {
        const struct verify_blob *b =
            i + 1 < n ? &d->cabundle[i] : &d->certificate;
        struct crypto_x509 c;

        out[i].role = i == 0 ? "root" : i + 1 == n ? "leaf" : "intermediate";
        out[i].decoded = crypto_x509_parse(&c, b->p, b->len) == 0;
        if (!out[i].decoded) {
            snprintf(out[i].subject, sizeof(out[i].subject),
                     "(does not decode)");
            out[i].not_before[0] = out[i].not_after[0] = '\0';
            continue;
        }
        crypto_x509_subject(&c, out[i].subject, sizeof(out[i].subject));
        crypto_x509_time_str(c.not_before_s, out[i].not_before,
                             sizeof(out[i].not_before));
        crypto_x509_time_str(c.not_after_s, out[i].not_after,
                             sizeof(out[i].not_after));
        crypto_x509_release(&c);
    }
    *n_out = n;
}

static void print_blob_text(const char *name, const struct verify_blob *b)
{
    printf("%-13s", name);
    if (!b->present) {
        printf("(absent)\n");
        return;
    }
    if (b->len == 0) {
        printf("(empty)\n");
        return;
    }
    print_hex(stdout, b->p, b->len);
    printf(" (%zu bytes)\n", b->len);
}

static void print_text(const struct verify_result *res, const char *when,
                       const char *root_fp, const char *why, bool quiet)
{
    const struct verify_doc *d = &res->doc;
    struct cert_line certs[VERIFY_CABUNDLE_MAX + 1];
    char t[40];
    size_t n;

    if (!quiet && res->parsed) {
        printf("module_id    %.*s\n", (int)d->module_id.len,
               (const char *)d->module_id.p);
        printf("timestamp    %s (%" PRIu64 ")\n",
               ms_str((int64_t)d->timestamp_ms, t, sizeof(t)), d->timestamp_ms);
        printf("digest       %.*s\n", (int)d->digest.len,
               (const char *)d->digest.p);
        printf("pcrs         %zu\n", d->n_pcrs);
        for (int i = 0; i < VERIFY_PCR_COUNT; i++) {
            if (d->pcr_mask & (1u << i)) {
                printf("  PCR%-2d      ", i);
                print_hex(stdout, d->pcr[i], VERIFY_PCR_SIZE);
                printf("\n");
            }
        }
        describe_certs(d, certs, &n);
        printf("certificates %zu (cabundle %zu + leaf)\n", n, d->n_cabundle);
        for (size_t i = 0; i < n; i++) {
            printf("  %zu %-12s %s\n", i, certs[i].role, certs[i].subject);
            if (certs[i].decoded) {
                printf("    valid %s to %s\n", certs[i].not_before,
                       certs[i].not_after);
            }
        }
        print_blob_text("public_key", &d->public_key);
        print_blob_text("user_data", &d->user_data);
        print_blob_text("nonce", &d->nonce);
        printf("checked at   %s (%s)\n", ms_str(res->check_ms, t, sizeof(t)),
               when);
        printf("pinned root  SHA-256 %s\n", root_fp);
    }
    if (res->status == VERIFY_OK) {
        printf("OK\n");
    } else {
        printf("FAILED: %s\n", why);
    }
}

static void print_json(const struct verify_result *res, const char *when,
                       const char *root_fp, const char *why)
{
    const struct verify_doc *d = &res->doc;
    struct cert_line certs[VERIFY_CABUNDLE_MAX + 1];
    char t[40];
    size_t n;
    bool first = true;

    printf("{\"ok\":%s,\"status\":%d,\"reason\":",
           res->status == VERIFY_OK ? "true" : "false", res->status);
    json_cstr(stdout, why);
    printf(",\"root_sha256\":\"%s\"", root_fp);
    if (res->parsed) {
        printf(",\"module_id\":");
        json_str(stdout, d->module_id.p, d->module_id.len);
        printf(",\"timestamp_ms\":%" PRIu64 ",\"timestamp\":\"%s\"",
               d->timestamp_ms, ms_str((int64_t)d->timestamp_ms, t, sizeof(t)));
        printf(",\"digest\":");
        json_str(stdout, d->digest.p, d->digest.len);
        printf(",\"pcrs\":{");
        for (int i = 0; i < VERIFY_PCR_COUNT; i++) {
            if (d->pcr_mask & (1u << i)) {
                printf("%s\"%d\":\"", first ? "" : ",", i);
                print_hex(stdout, d->pcr[i], VERIFY_PCR_SIZE);
                printf("\"");
                first = false;
            }
        }
        printf("},\"certificates\":[");
        describe_certs(d, certs, &n);
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"index\":%zu,\"role\":\"%s\",\"subject\":",
                   i ? "," : "", i, certs[i].role);
            json_cstr(stdout, certs[i].subject);
            if (certs[i].decoded) {
                printf(",\"not_before\":\"%s\",\"not_after\":\"%s\"",
                       certs[i].not_before, certs[i].not_after);
            }
            printf("}");
        }
        printf("],\"public_key\":");
        json_blob(stdout, &d->public_key);
        printf(",\"user_data\":");
        json_blob(stdout, &d->user_data);
        printf(",\"nonce\":");
        json_blob(stdout, &d->nonce);
        printf(",\"checked_at\":\"%s\",\"checked_at_source\":\"%s\"",
               ms_str(res->check_ms, t, sizeof(t)), when);
    }
    printf("}\n");
}

/* see tools/nsm.c: `nsm verify ...`, argv[0] is "verify" */
int nsm_verify_main(int argc, char **argv)
{
    enum {
        OPT_ROOT = 256,
        OPT_AT,
        OPT_MAX_AGE,
        OPT_NOW,
        OPT_PCR,
        OPT_NONCE,
        OPT_USER_DATA,
        OPT_PUBLIC_KEY,
        OPT_JSON,
    };
    static const struct option opts[] = {
        {"root", required_argument, NULL, OPT_ROOT},
        {"at", required_argument, NULL, OPT_AT},
        {"max-age", required_argument, NULL, OPT_MAX_AGE},
        {"now", required_argument, NULL, OPT_NOW},
        {"pcr", required_argument, NULL, OPT_PCR},
        {"nonce", required_argument, NULL, OPT_NONCE},
        {"user-data", required_argument, NULL, OPT_USER_DATA},
        {"public-key", required_argument, NULL, OPT_PUBLIC_KEY},
        {"json", no_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct verify_policy *pol = xcalloc(1, sizeof(*pol));
    struct verify_result *res = xcalloc(1, sizeof(*res));
    struct verify_root *root = NULL;
    const char *root_path = NULL, *when = "current time";
    bool json = false, quiet = false;
    uint8_t *doc = NULL;
    size_t doc_len;
    char why[512];
    char root_fp[2 * CRYPTO_SHA256_SIZE + 1];
    int c, rc = EXIT_USAGE;

    optind = 0; /* glibc: full reinitialisation, options after DOC */
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(verify_usage, stdout);
            rc = 0;
            goto out;
        case 'q':
            quiet = true;
            break;
        case OPT_ROOT:
            root_path = optarg;
            break;
        case OPT_AT:
            if (strcmp(optarg, "now") == 0) {
                pol->when = VERIFY_AT_NOW;
                when = "current time";
            } else if (strcmp(optarg, "document") == 0) {
                pol->when = VERIFY_AT_DOCUMENT;
                when = "document timestamp";
            } else if (parse_time_ms(optarg, &pol->at_ms) == 0) {
                pol->when = VERIFY_AT_TIME;
                when = "--at";
            } else {
                fprintf(stderr,
                        "nsm verify: --at %s: expected document, RFC "
                        "3339 (2023-09-18T15:03:30Z), Unix seconds or "
                        "now\n",
                        optarg);
                goto out;
            }
            break;
        case OPT_NOW:
            if (parse_time_ms(optarg, &pol->now_ms) != 0 || pol->now_ms <= 0) {
                fprintf(stderr,
                        "nsm verify: --now %s: expected RFC 3339 or "
                        "Unix seconds\n",
                        optarg);
                goto out;
            }
            break;
        case OPT_MAX_AGE: {
            char *end;
            double v = strtod(optarg, &end);

            if (end == optarg || *end != '\0' || v <= 0 || v > 1e12) {
                fprintf(stderr,
                        "nsm verify: --max-age %s: expected a "
                        "positive number of seconds\n",
                        optarg);
                goto out;
            }
            pol->max_age_ms = (uint64_t)(v * 1000.0 + 0.5);
            break;
        }
        case OPT_PCR:
            if (parse_pcr(optarg, pol) != 0) {
                goto out;
            }
            break;
        case OPT_NONCE:
            if (parse_hex_blob("--nonce", optarg, &pol->nonce) != 0) {
                goto out;
            }
            break;
        case OPT_USER_DATA:
            if (parse_hex_blob("--user-data", optarg, &pol->user_data) != 0) {
                goto out;
            }
            break;
        case OPT_PUBLIC_KEY:
            if (parse_hex_blob("--public-key", optarg, &pol->public_key) != 0) {
                goto out;
            }
            break;
        case OPT_JSON:
            json = true;
            break;
        default:
            fprintf(stderr, "Try 'nsm verify --help'.\n");
            goto out;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "nsm verify: expected exactly one DOC (a file or -)\n"
                        "Try 'nsm verify --help'.\n");
        goto out;
    }
    /* the library refuses this too; say it in the CLI's own terms */
    if (pol->when == VERIFY_AT_NOW && !pol->nonce.present &&
        pol->max_age_ms == 0) {
        fprintf(stderr,
                "nsm verify: nothing shows that the document is fresh: give\n"
                "  --nonce HEX (the nonce sent with the request) or\n"
                "  --max-age SECONDS, or, to verify a stored document,\n"
                "  --at document (its own timestamp) or --at TIME\n"
                "Try 'nsm verify --help'.\n");
        goto out;
    }
    if (pol->now_ms != 0 && pol->when == VERIFY_AT_NOW) {
        when = "--now";
    }
    if (root_path != NULL) {
        root = xcalloc(1, sizeof(*root));
        if (load_root(root_path, root) != 0) {
            free(root);
            root = NULL;
            goto out;
        }
    }
    doc = read_all(argv[optind], &doc_len);
    if (doc == NULL) {
        goto out_root;
    }
    /* a tsm-report envelope (nsm tsm-report) carries the document */
    {
        uint8_t *inner;
        size_t inner_len;
        int env = tsm_envelope_unwrap(doc, doc_len, &inner, &inner_len, why,
                                      sizeof(why));

        if (env < 0) {
            fprintf(stderr, "nsm verify: %s: %s\n", argv[optind], why);
            free(doc);
            rc = EXIT_FAILED;
            goto out_root;
        }
        if (env == 0) {
            free(doc);
            doc = inner;
            doc_len = inner_len;
        }
    }
    verify_document(root, pol, doc, doc_len, res);
    verify_explain(res, why, sizeof(why));
    if (root != NULL) {
        hex_encode(root->sha256, sizeof(root->sha256), root_fp);
    } else {
        snprintf(root_fp, sizeof(root_fp), "%s", VERIFY_AWS_ROOT_SHA256);
    }
    if (json) {
        print_json(res, when, root_fp, why);
    } else {
        print_text(res, when, root_fp, why, quiet);
    }
    rc = res->status == VERIFY_OK ? 0 : EXIT_FAILED;
    if (res->status == VERIFY_ERR_INTERNAL || res->status == VERIFY_ERR_ARG) {
        rc = EXIT_USAGE;
    }
    free(doc);

out_root:
    if (root != NULL) {
        verify_root_release(root);
        free(root);
    }
out:
    free((void *)pol->nonce.p);
    free((void *)pol->user_data.p);
    free((void *)pol->public_key.p);
    free(pol);
    free(res);
    return rc;
}
