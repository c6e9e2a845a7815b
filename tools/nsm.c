/* SPDX-License-Identifier: MIT */
/*
 * nsm: talk to a NitroSecureModule: the kernel's /dev/nsm (NSM_IOCTL_RAW)
 * or a vhost-user-nsm backend. One function per command, dispatched from
 * the command table at the bottom. See docs/nsm.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/nsmc.h"
#include "common/hex.h"
#include "common/xmalloc.h"
#include "tsm_report.h"
#ifdef TV_HAVE_NSMC_VHU
#include "client/nsmc_vhu.h"
#endif
#ifdef TV_HAVE_NSM_VERIFY
int nsm_verify_main(int argc, char **argv);
#endif
#ifdef TV_HAVE_NSM_PKI
int nsm_pki_main(int argc, char **argv);
#endif

#define EXIT_LOCAL     1 /* local I/O failure (writing the output file) */
#define EXIT_USAGE     2 /* bad arguments or unreadable input files */
#define EXIT_DEVICE    3 /* the device answered {"Error": ...} */
#define EXIT_TRANSPORT 4 /* no device, transport or protocol failure */

#define DEFAULT_DEVICE   "/dev/nsm"
#define SOCKET_ENV       "TRUSTVIO_NSM_SOCKET"
#define RANDOM_MAX_BYTES (16u * 1024u * 1024u) /* random --bytes cap */

static const char usage_text[] =
    "Usage: nsm [--device PATH | --vhost-user SOCKET] [--json] COMMAND "
    "[ARGS]\n"
    "\n"
    "Talk to a NitroSecureModule: the kernel driver's /dev/nsm or a\n"
    "vhost-user-nsm backend.\n"
    "\n"
    "Commands:\n"
    "  describe                  version, module id, PCR count, locked PCRs\n"
    "  describe-pcr N            value of PCR N and whether it is locked\n"
    "  extend-pcr N (--data HEX | --data-file FILE)\n"
    "                            PCR[N] = SHA384(PCR[N] || data); prints the\n"
    "                            new value\n"
    "  lock-pcr N                lock PCR N\n"
    "  lock-pcrs RANGE           lock PCRs 0 .. RANGE-1\n"
    "  random [--bytes N] [-o FILE]\n"
    "                            N random bytes (default 256; more than 256\n"
    "                            takes several requests); hex on stdout, or\n"
    "                            raw bytes to FILE\n"
    "  attest [--user-data V] [--nonce V] [--public-key V] [-o FILE] [--hex]\n"
    "                            an attestation document (COSE_Sign1); V is\n"
    "                            hex, or @FILE for a file's bytes; an omitted\n"
    "                            field is absent (null), --nonce '' is empty.\n"
    "                            Binary to FILE with -o, else hex on stdout\n"
    "                            (--json: base64, or hex with --hex)\n"
    "  raw                       send one CBOR request read from stdin, write\n"
    "                            the device's raw CBOR response to stdout\n"
    "  tsm-report [--nonce V] [--format json|cbor|raw] [-o FILE]\n"
    "                            a report through Linux configfs-tsm from any\n"
    "                            provider, as a tsm-report envelope (see nsm\n"
    "                            tsm-report --help)\n"
    "  verify ARGS               verify an attestation document (see\n"
    "                            nsm verify --help)\n"
    "  pki ARGS                  manage the local test PKI (see nsm pki\n"
    "                            --help)\n"
    "\n"
    "Options:\n"
    "  --device PATH         the NSM character device (default /dev/nsm)\n"
    "  --vhost-user SOCKET   a vhost-user-nsm backend socket (default:\n"
    "                        $TRUSTVIO_NSM_SOCKET when set, else the device)\n"
    "  --json                one JSON object on stdout instead of text\n"
    "  -h, --help            this text (COMMAND --help: that command's)\n"
    "\n"
    "N, RANGE and --bytes are decimal or 0x hex. HEX is an even number of\n"
    "hex digits, optionally prefixed with 0x.\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  local I/O error (the output file cannot be written)\n"
    "  2  usage error (bad arguments, unreadable input files, a request\n"
    "     larger than 4096 bytes)\n"
    "  3  the device refused: its error name is printed (InvalidIndex,\n"
    "     ReadOnlyIndex, InvalidOperation, InputTooLarge, InternalError...)\n"
    "  4  no device, transport failure or an undecodable response\n"
    "verify and pki have their own exit statuses (see their --help).\n";

/** struct cli - one run: options, the connection and a response area. */
struct cli {
    const char *device;      /* --device, or NULL */
    const char *socket;      /* --vhost-user (or the environment), or NULL */
    bool json;               /* --json */
    const char *cmd;         /* the command's name, for messages */
    int fd;                  /* the device descriptor, or -1 */
    void *fe;                /* the vhost-user frontend, or NULL */
    struct nsmc_transport t; /* how requests go out */
    struct nsmc_resp *resp;  /* response area (heap: 24 KiB) */
};

static struct cli cli = {.fd = -1};

static void die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void die(int status, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "nsm: ");
    if (cli.cmd != NULL) {
        fprintf(stderr, "%s: ", cli.cmd);
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (status == EXIT_USAGE) {
        fprintf(stderr, "Try 'nsm --help'.\n");
    }
    exit(status);
}

static uint16_t parse_u16(const char *what, const char *s)
{
    unsigned long v;
    char *end;

    errno = 0;
    v = strtoul(s, &end, 0);
    if (s[0] == '\0' || s[0] == '-' || *end != '\0' || errno != 0 ||
        v > UINT16_MAX) {
        die(EXIT_USAGE, "%s must be a number from 0 to 65535, not '%s'", what,
            s);
    }
    return (uint16_t)v;
}

/* Read all of @path ("-" = stdin) into a new buffer of at most @cap bytes. */
static uint8_t *read_file(const char *path, size_t cap, size_t *len)
{
    uint8_t *buf = xmalloc(cap + 1);
    size_t n = 0;
    ssize_t r;
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        die(EXIT_USAGE, "cannot open %s: %s", path, strerror(errno));
    }
    for (;;) {
        r = read(fd, buf + n, cap + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            die(EXIT_USAGE, "cannot read %s: %s", path, strerror(errno));
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (n > cap) {
            die(EXIT_USAGE, "%s is larger than %zu bytes", path, cap);
        }
    }
    if (fd != 0) {
        close(fd);
    }
    *len = n;
    return buf;
}

/* A value given as hex or @FILE; the buffer is the caller's to free. */
static uint8_t *parse_value(const char *what, const char *v, size_t *len)
{
    uint8_t *buf;
    long n;

    if (v[0] == '@') {
        return read_file(v + 1, NSM_REQUEST_MAX_SIZE, len);
    }
    buf = xmalloc(strlen(v) / 2 + 1);
    n = hex_decode(v, buf, strlen(v) / 2 + 1);
    if (n < 0) {
        die(EXIT_USAGE, "%s: '%s' is not hex (use @FILE for a file)", what, v);
    }
    *len = (size_t)n;
    return buf;
}

static void write_all_or_die(int fd, const uint8_t *p, size_t len,
                             const char *path)
{
    ssize_t w;

    while (len > 0) {
        w = write(fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            die(EXIT_LOCAL, "cannot write %s: %s", path, strerror(errno));
        }
        p += w;
        len -= (size_t)w;
    }
}

/* Write @len bytes to @path ("-" = stdout). */
static void write_file(const char *path, const uint8_t *p, size_t len)
{
    int fd;

    if (strcmp(path, "-") == 0) {
        write_all_or_die(1, p, len, "stdout");
        return;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        die(EXIT_LOCAL, "cannot create %s: %s", path, strerror(errno));
    }
    write_all_or_die(fd, p, len, path);
    if (close(fd) != 0) {
        die(EXIT_LOCAL, "cannot write %s: %s", path, strerror(errno));
    }
}

static void print_hex(const uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        printf("%02x", p[i]);
    }
}

static void print_base64(const uint8_t *p, size_t len)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t v;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        printf("%c%c%c%c", tab[v >> 18], tab[(v >> 12) & 63],
               tab[(v >> 6) & 63], tab[v & 63]);
    }
    if (len - i == 1) {
        v = (uint32_t)p[i] << 16;
        printf("%c%c==", tab[v >> 18], tab[(v >> 12) & 63]);
    } else if (len - i == 2) {
        v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        printf("%c%c%c=", tab[v >> 18], tab[(v >> 12) & 63],
               tab[(v >> 6) & 63]);
    }
}

/* A JSON string: printable ASCII as is, everything else \u-escaped. */
static void print_json_string(const uint8_t *p, size_t len)
{
    size_t i;

    putchar('"');
    for (i = 0; i < len; i++) {
        if (p[i] == '"' || p[i] == '\\') {
            printf("\\%c", p[i]);
        } else if (p[i] < 0x20 || p[i] >= 0x7f) {
            printf("\\u%04x", p[i]);
        } else {
            putchar(p[i]);
        }
    }
    putchar('"');
}

/* Open the transport chosen on the command line or by the environment. */
static void connect_device(void)
{
    if (cli.socket != NULL) {
#ifdef TV_HAVE_NSMC_VHU
        /*
         * No STATUS feature: closing then sends no SET_STATUS(0), which the
         * backend would take as a device reset; a process ending is not
         * one, so a backend run with --keep-state keeps the enclave.
         */
        struct vhu_fe_options opts = {.flags = VHU_FE_NO_STATUS};
        char err[256] = "";
        struct vhu_fe *fe = vhu_fe_connect(cli.socket, &opts, err, sizeof(err));

        if (fe == NULL) {
            die(EXIT_TRANSPORT, "cannot connect to %s: %s", cli.socket,
                err[0] != '\0' ? err : strerror(errno));
        }
        cli.fe = fe;
        cli.t = nsmc_vhu_transport(fe);
        return;
#else
        die(EXIT_TRANSPORT, "built without the vhost-user transport");
#endif
    }
    cli.fd = open(cli.device, O_RDWR | O_CLOEXEC);
    if (cli.fd < 0) {
        die(EXIT_TRANSPORT, "cannot open %s: %s", cli.device, strerror(errno));
    }
    cli.t = nsmc_ioctl_transport(cli.fd);
}

static void disconnect_device(void)
{
#ifdef TV_HAVE_NSMC_VHU
    vhu_fe_close(cli.fe);
    cli.fe = NULL;
#endif
    if (cli.fd >= 0) {
        close(cli.fd);
        cli.fd = -1;
    }
}

/*
 * Send @req; return only with a response of variant @want. A device error
 * exits 3 with its name, anything else 4 (or 2 for an oversized request).
 */
static struct nsmc_resp *call(const struct nsmc_req *req, enum nsmc_op want)
{
    struct nsmc_resp *r = cli.resp;
    int err = 0;
    int rc = nsmc_call(&cli.t, req, r, &err);

    switch (rc) {
    case NSMC_OK:
        break;
    case NSMC_ERR_TOO_LARGE:
        die(EXIT_USAGE, "request larger than %d bytes (InputTooLarge)",
            NSM_REQUEST_MAX_SIZE);
    case NSMC_ERR_TRANSPORT:
        die(EXIT_TRANSPORT, "transport failure: %s", strerror(-err));
    case NSMC_ERR_DECODE:
        die(EXIT_TRANSPORT, "undecodable response (%zu bytes)", r->raw_len);
    default:
        die(EXIT_TRANSPORT, "%s", nsmc_strerror(rc));
    }
    if (r->op == NSMC_OP_ERROR) {
        if (cli.json) {
            printf("{\"error\":\"%s\"}\n", nsmc_error_name(r->error));
        }
        die(EXIT_DEVICE, "device error: %s", nsmc_error_name(r->error));
    }
    if (r->op != want) {
        die(EXIT_TRANSPORT, "unexpected %s response (InvalidResponse)",
            nsmc_op_name(r->op));
    }
    return r;
}

/* Options every command takes, and the end-of-options check. */
enum {
    OPT_JSON = 1000,
    OPT_HEX,
    OPT_DATA,
    OPT_DATA_FILE,
    OPT_BYTES,
    OPT_USER_DATA,
    OPT_NONCE,
    OPT_PUBLIC_KEY
};

static void no_more_args(int argc, char **argv, int want)
{
    if (argc - optind != want) {
        die(EXIT_USAGE,
            argc - optind > want ? "too many arguments" : "missing argument");
    }
    (void)argv;
}

/* Parse a command with no options of its own beyond --json/--help. */
static void simple_opts(int argc, char **argv, int n_args, const char *usage)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_JSON:
            cli.json = true;
            break;
        case 'h':
            printf("Usage: nsm %s\n", usage);
            exit(0);
        default:
            die(EXIT_USAGE, "usage: nsm %s", usage);
        }
    }
    no_more_args(argc, argv, n_args);
}

static int describe_main(int argc, char **argv)
{
    struct nsmc_req req = {.op = NSMC_OP_DESCRIBE_NSM};
    struct nsmc_resp *r;
    size_t i;

    simple_opts(argc, argv, 0, "describe");
    connect_device();
    r = call(&req, NSMC_OP_DESCRIBE_NSM);
    if (cli.json) {
        printf("{\"version_major\":%u,\"version_minor\":%u,"
               "\"version_patch\":%u,\"module_id\":",
               r->version_major, r->version_minor, r->version_patch);
        print_json_string(r->module_id.p, r->module_id.len);
        printf(",\"max_pcrs\":%u,\"locked_pcrs\":[", r->max_pcrs);
        for (i = 0; i < r->n_locked_pcrs; i++) {
            printf("%s%u", i > 0 ? "," : "", r->locked_pcrs[i]);
        }
        printf("],\"digest\":\"%s\"}\n", nsmc_digest_name(r->digest));
        return 0;
    }
    printf("version:     %u.%u.%u\n", r->version_major, r->version_minor,
           r->version_patch);
    printf("module_id:   %.*s\n", (int)r->module_id.len,
           (const char *)r->module_id.p);
    printf("max_pcrs:    %u\n", r->max_pcrs);
    printf("locked_pcrs:");
    for (i = 0; i < r->n_locked_pcrs; i++) {
        printf(" %u", r->locked_pcrs[i]);
    }
    printf("%s\n", r->locked_pcrs_truncated ? " ..." : "");
    printf("digest:      %s\n", nsmc_digest_name(r->digest));
    return 0;
}

static int describe_pcr_main(int argc, char **argv)
{
    struct nsmc_req req = {.op = NSMC_OP_DESCRIBE_PCR};
    struct nsmc_resp *r;

    simple_opts(argc, argv, 1, "describe-pcr N");
    req.index = parse_u16("N", argv[optind]);
    connect_device();
    r = call(&req, NSMC_OP_DESCRIBE_PCR);
    if (cli.json) {
        printf("{\"index\":%u,\"lock\":%s,\"data\":\"", req.index,
               r->lock ? "true" : "false");
        print_hex(r->data.p, r->data.len);
        printf("\"}\n");
        return 0;
    }
    printf("pcr:    %u\nlocked: %s\ndata:   ", req.index,
           r->lock ? "yes" : "no");
    print_hex(r->data.p, r->data.len);
    putchar('\n');
    return 0;
}

static int extend_pcr_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"data", required_argument, NULL, OPT_DATA},
        {"data-file", required_argument, NULL, OPT_DATA_FILE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char usage[] = "extend-pcr N (--data HEX | --data-file FILE)";
    struct nsmc_req req = {.op = NSMC_OP_EXTEND_PCR};
    struct nsmc_resp *r;
    uint8_t *data = NULL;
    size_t len = 0;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case OPT_DATA:
        case OPT_DATA_FILE:
            if (data != NULL) {
                die(EXIT_USAGE, "give --data or --data-file once");
            }
            if (c == OPT_DATA) {
                data = parse_value("--data", optarg, &len);
            } else {
                data = read_file(optarg, NSM_REQUEST_MAX_SIZE, &len);
            }
            break;
        case OPT_JSON:
            cli.json = true;
            break;
        case 'h':
            printf("Usage: nsm %s\n", usage);
            exit(0);
        default:
            die(EXIT_USAGE, "usage: nsm %s", usage);
        }
    }
    no_more_args(argc, argv, 1);
    req.index = parse_u16("N", argv[optind]);
    if (data == NULL) {
        die(EXIT_USAGE, "--data HEX or --data-file FILE is required");
    }
    req.data.p = data;
    req.data.len = len;
    connect_device();
    r = call(&req, NSMC_OP_EXTEND_PCR);
    if (cli.json) {
        printf("{\"index\":%u,\"data\":\"", req.index);
        print_hex(r->data.p, r->data.len);
        printf("\"}\n");
    } else {
        print_hex(r->data.p, r->data.len);
        putchar('\n');
    }
    free(data);
    return 0;
}

static int lock_pcr_main(int argc, char **argv)
{
    struct nsmc_req req = {.op = NSMC_OP_LOCK_PCR};

    simple_opts(argc, argv, 1, "lock-pcr N");
    req.index = parse_u16("N", argv[optind]);
    connect_device();
    call(&req, NSMC_OP_LOCK_PCR);
    if (cli.json) {
        printf("{\"index\":%u,\"locked\":true}\n", req.index);
    } else {
        printf("PCR %u locked\n", req.index);
    }
    return 0;
}

static int lock_pcrs_main(int argc, char **argv)
{
    struct nsmc_req req = {.op = NSMC_OP_LOCK_PCRS};

    simple_opts(argc, argv, 1, "lock-pcrs RANGE");
    req.index = parse_u16("RANGE", argv[optind]);
    connect_device();
    call(&req, NSMC_OP_LOCK_PCRS);
    if (cli.json) {
        printf("{\"range\":%u,\"locked\":true}\n", req.index);
    } else if (req.index == 0) {
        printf("no PCRs locked (range 0)\n");
    } else {
        printf("PCRs 0..%u locked\n", req.index - 1u);
    }
    return 0;
}

static int random_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"bytes", required_argument, NULL, OPT_BYTES},
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char usage[] = "random [--bytes N] [-o FILE]";
    struct nsmc_req req = {.op = NSMC_OP_GET_RANDOM};
    const char *out = NULL;
    unsigned long want = NSM_RANDOM_SIZE;
    struct nsmc_resp *r;
    uint8_t *buf;
    size_t n = 0, take;
    char *end;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
        switch (c) {
        case OPT_BYTES:
            errno = 0;
            want = strtoul(optarg, &end, 0);
            if (optarg[0] == '\0' || optarg[0] == '-' || *end != '\0' ||
                errno != 0 || want == 0 || want > RANDOM_MAX_BYTES) {
                die(EXIT_USAGE, "--bytes must be 1 .. %u, not '%s'",
                    RANDOM_MAX_BYTES, optarg);
            }
            break;
        case 'o':
            out = optarg;
            break;
        case OPT_JSON:
            cli.json = true;
            break;
        case 'h':
            printf("Usage: nsm %s\n", usage);
            exit(0);
        default:
            die(EXIT_USAGE, "usage: nsm %s", usage);
        }
    }
    no_more_args(argc, argv, 0);
    connect_device();
    buf = xmalloc(want);
    while (n < want) {
        r = call(&req, NSMC_OP_GET_RANDOM);
        if (r->data.len == 0) {
            die(EXIT_TRANSPORT, "the device returned no random bytes");
        }
        take = r->data.len < want - n ? r->data.len : want - n;
        memcpy(buf + n, r->data.p, take);
        n += take;
    }
    if (out != NULL) {
        write_file(out, buf, n);
        if (cli.json) {
            printf("{\"file\":");
            print_json_string((const uint8_t *)out, strlen(out));
            printf(",\"size\":%zu}\n", n);
        }
    } else if (cli.json) {
        printf("{\"random\":\"");
        print_hex(buf, n);
        printf("\"}\n");
    } else {
        print_hex(buf, n);
        putchar('\n');
    }
    free(buf);
    return 0;
}

static int attest_main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"user-data", required_argument, NULL, OPT_USER_DATA},
        {"nonce", required_argument, NULL, OPT_NONCE},
        {"public-key", required_argument, NULL, OPT_PUBLIC_KEY},
        {"output", required_argument, NULL, 'o'},
        {"hex", no_argument, NULL, OPT_HEX},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char usage[] =
        "attest [--user-data V] [--nonce V] [--public-key V] [-o FILE] "
        "[--hex]\n  V: hex digits, or @FILE";
    struct nsmc_req req = {.op = NSMC_OP_ATTESTATION};
    uint8_t *ud = NULL, *nonce = NULL, *pk = NULL;
    const char *out = NULL;
    bool hex = false;
    struct nsmc_resp *r;
    size_t len;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
        switch (c) {
        case OPT_USER_DATA:
            free(ud);
            ud = parse_value("--user-data", optarg, &len);
            req.user_data.p = ud;
            req.user_data.len = len;
            break;
        case OPT_NONCE:
            free(nonce);
            nonce = parse_value("--nonce", optarg, &len);
            req.nonce.p = nonce;
            req.nonce.len = len;
            break;
        case OPT_PUBLIC_KEY:
            free(pk);
            pk = parse_value("--public-key", optarg, &len);
            req.public_key.p = pk;
            req.public_key.len = len;
            break;
        case 'o':
            out = optarg;
            break;
        case OPT_HEX:
            hex = true;
            break;
        case OPT_JSON:
            cli.json = true;
            break;
        case 'h':
            printf("Usage: nsm %s\n", usage);
            exit(0);
        default:
            die(EXIT_USAGE, "usage: nsm %s", usage);
        }
    }
    no_more_args(argc, argv, 0);
    connect_device();
    r = call(&req, NSMC_OP_ATTESTATION);
    if (out != NULL) {
        write_file(out, r->data.p, r->data.len);
        if (cli.json) {
            printf("{\"file\":");
            print_json_string((const uint8_t *)out, strlen(out));
            printf(",\"size\":%zu}\n", r->data.len);
        }
    } else if (cli.json) {
        printf("{\"document\":\"");
        if (hex) {
            print_hex(r->data.p, r->data.len);
        } else {
            print_base64(r->data.p, r->data.len);
        }
        printf("\",\"encoding\":\"%s\",\"size\":%zu}\n", hex ? "hex" : "base64",
               r->data.len);
    } else {
        print_hex(r->data.p, r->data.len);
        putchar('\n');
    }
    free(ud);
    free(nonce);
    free(pk);
    return 0;
}

static int raw_main(int argc, char **argv)
{
    struct nsmc_resp *r = cli.resp;
    uint8_t *req;
    size_t len;
    int err = 0;
    int rc;

    simple_opts(argc, argv, 0, "raw < request.cbor > response.cbor");
    /* one byte more than the cap, so that oversize is seen, not cut */
    req = read_file("-", NSM_REQUEST_MAX_SIZE + 1, &len);
    if (len > NSM_REQUEST_MAX_SIZE) {
        die(EXIT_USAGE, "request larger than %d bytes (InputTooLarge)",
            NSM_REQUEST_MAX_SIZE);
    }
    connect_device();
    rc = nsmc_call_raw(&cli.t, req, len, r, &err);
    if (rc == NSMC_ERR_TOO_LARGE) {
        die(EXIT_USAGE, "the device refused the request size (EMSGSIZE)");
    }
    if (rc != NSMC_OK) {
        die(EXIT_TRANSPORT, "transport failure: %s", strerror(-err));
    }
    write_file("-", r->raw, r->raw_len);
    free(req);
    return 0;
}

#ifdef TV_HAVE_NSM_VERIFY
static int verify_cmd_main(int argc, char **argv)
{
    return nsm_verify_main(argc, argv);
}
#endif

#ifdef TV_HAVE_NSM_PKI
static int pki_cmd_main(int argc, char **argv)
{
    return nsm_pki_main(argc, argv);
}
#endif

/** struct command - one entry of the command table. */
struct command {
    const char *name;                   /* as typed */
    int (*main)(int argc, char **argv); /* argv[0] is the command name */
};

static const struct command commands[] = {
    {"describe", describe_main},     {"describe-pcr", describe_pcr_main},
    {"extend-pcr", extend_pcr_main}, {"lock-pcr", lock_pcr_main},
    {"lock-pcrs", lock_pcrs_main},   {"random", random_main},
    {"attest", attest_main},         {"raw", raw_main},
    {"tsm-report", tsm_report_main},
#ifdef TV_HAVE_NSM_VERIFY
    {"verify", verify_cmd_main},
#endif
#ifdef TV_HAVE_NSM_PKI
    {"pki", pki_cmd_main},
#endif
};

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"device", required_argument, NULL, 'd'},
        {"vhost-user", required_argument, NULL, 's'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *env = getenv(SOCKET_ENV);
    size_t i;
    int c, rc;

    while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
        switch (c) {
        case 'd':
            cli.device = optarg;
            break;
        case 's':
            cli.socket = optarg;
            break;
        case OPT_JSON:
            cli.json = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            die(EXIT_USAGE, "bad option");
        }
    }
    if (cli.device != NULL && cli.socket != NULL) {
        die(EXIT_USAGE, "give --device or --vhost-user, not both");
    }
    if (cli.device == NULL && cli.socket == NULL) {
        if (env != NULL && env[0] != '\0') {
            cli.socket = env;
        } else {
            cli.device = DEFAULT_DEVICE;
        }
    }
    if (optind >= argc) {
        die(EXIT_USAGE, "missing COMMAND");
    }
    for (i = 0; i < TV_ARRAY_SIZE(commands); i++) {
        if (strcmp(argv[optind], commands[i].name) == 0) {
            break;
        }
    }
    if (i == TV_ARRAY_SIZE(commands)) {
        if (strcmp(argv[optind], "verify") == 0 ||
            strcmp(argv[optind], "pki") == 0) {
            die(EXIT_USAGE, "'%s' is not built into this nsm", argv[optind]);
        }
        die(EXIT_USAGE, "unknown command '%s'", argv[optind]);
    }
    cli.cmd = commands[i].name;
    cli.resp = xmalloc(sizeof(*cli.resp));
    argv += optind;
    argc -= optind;
    rc = commands[i].main(argc, argv);
    disconnect_device();
    free(cli.resp);
    if (fflush(stdout) != 0) {
        die(EXIT_LOCAL, "cannot write stdout: %s", strerror(errno));
    }
    return rc;
}
