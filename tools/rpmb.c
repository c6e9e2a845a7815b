/* SPDX-License-Identifier: MIT */
/*
 * rpmb: talk to a virtio RPMB device (vhost-user-rpmb backend) as its
 * driver would: program the key, read the write counter, authenticated
 * writes and verified reads. See docs/rpmb.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/rpmbc.h"
#include "client/rpmbc_vhu.h"
#include "common/ct.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define EXIT_DEVICE    1
#define EXIT_USAGE     2
#define EXIT_TAMPER    3
#define EXIT_TRANSPORT 4

#define RPMB_MAX_DATA_SIZE (16u * 1024u * 1024u) /* 0x80 units of 128 KiB */
#define KEY_FILE_MAX_SIZE  128                   /* anything longer is wrong */

static const char usage_text[] =
    "Usage: rpmb [--vhost-user SOCKET] [--json] COMMAND [ARGS]\n"
    "\n"
    "Drive a virtio RPMB device (a vhost-user-rpmb backend).\n"
    "\n"
    "Commands:\n"
    "  info                       show the device config: capacity,\n"
    "                             max_wr_cnt, max_rd_cnt\n"
    "  program-key KEYFILE        program the one-time authentication key\n"
    "  read-counter [--key KEYFILE]\n"
    "                             read the write counter; with a key the\n"
    "                             response MAC is verified\n"
    "  write ADDR FILE --key KEYFILE [--pad]\n"
    "                             authenticated write of FILE at block ADDR\n"
    "  read ADDR COUNT [--key KEYFILE] [-o FILE]\n"
    "                             read COUNT blocks at block ADDR\n"
    "\n"
    "Options:\n"
    "  --vhost-user SOCKET   backend socket (default: $TRUSTVIO_RPMB_SOCKET)\n"
    "  --key KEYFILE         the 32-byte key (see KEYS)\n"
    "  -o, --output FILE     where read data goes; '-' forces stdout\n"
    "  --pad                 zero-pad FILE of write to a whole block\n"
    "  --json                machine-readable output on stdout\n"
    "  -v, --verbose         log transport details to stderr\n"
    "  -h, --help            this text\n"
    "\n"
    "Blocks are 256 bytes; ADDR is a block number (decimal or 0x hex), so\n"
    "the byte offset is ADDR * 256. FILE of write must be a non-zero\n"
    "multiple of 256 bytes unless --pad is given. Larger transfers are split\n"
    "into requests of at most max_wr_cnt / max_rd_cnt blocks; a split write\n"
    "is not atomic as a whole. write fetches the write counter itself.\n"
    "\n"
    "KEYS: KEYFILE is a file name or '-' for stdin, never the key itself. It\n"
    "holds exactly 32 raw bytes, or 64 hex digits with an optional trailing\n"
    "newline. With a key, every response's nonce and MAC are verified.\n"
    "\n"
    "Read data is binary: it is not written to a terminal unless -o - is\n"
    "given. With --json, the summary goes to stdout, or to stderr when the\n"
    "data goes to stdout.\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  the device refused the operation (result code printed, e.g.\n"
    "     NO_AUTH_KEY, AUTH_FAILURE, ADDR_FAILURE)\n"
    "  2  usage error (bad arguments, unreadable or malformed files)\n"
    "  3  tampering detected: response MAC or nonce mismatch, wrong response\n"
    "     type, address, block count or write counter\n"
    "  4  transport failure (socket, protocol, local crypto)\n"
    "\n"
    "Testing option:\n"
    "  --test-flip OFFSET[:MASK[:SKIP]]\n"
    "      XOR MASK (default 0x01) into byte OFFSET of every response after\n"
    "      the first SKIP (default 0), to check that tampering is caught\n";

/**
 * struct opts - the parsed command line.
 */
struct opts {
    const char *socket_path; /* --vhost-user or the environment */
    const char *key_path;    /* --key, NULL without */
    const char *out_path;    /* -o, NULL without */
    bool json;               /* --json */
    bool pad;                /* --pad */
    bool verbose;            /* -v */
    bool flip;               /* --test-flip given */
    size_t flip_offset;      /* byte to flip */
    unsigned flip_mask;      /* bits to flip */
    unsigned flip_skip;      /* responses left alone first */
    const char *cmd;         /* the command */
    const char *args[4];     /* its positional arguments */
    int n_args;              /* how many */
};

/**
 * struct ctx - one run: the client, the transport and what to report.
 */
struct ctx {
    struct opts o;         /* command line */
    struct rpmbc_vhu *vhu; /* connection */
    struct rpmbc *c;       /* client (heap: it holds frame buffers) */
};

static void usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "rpmb: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'rpmb --help'.\n");
}

/* Human explanation of a device result code. */
static const char *result_text(uint16_t result)
{
    switch (result & RPMB_FRAME_RES_CODE_MASK) {
    case RPMB_FRAME_RES_OK:
        return "success";
    case RPMB_FRAME_RES_GENERAL_FAILURE:
        return "general failure (bad request, or the key is already "
               "programmed)";
    case RPMB_FRAME_RES_AUTH_FAILURE:
        return "authentication failure: the request MAC does not match the "
               "device key (wrong key?)";
    case RPMB_FRAME_RES_COUNT_FAILURE:
        return "write counter mismatch";
    case RPMB_FRAME_RES_ADDR_FAILURE:
        return "address out of range";
    case RPMB_FRAME_RES_WRITE_FAILURE:
        return "write failure";
    case RPMB_FRAME_RES_READ_FAILURE:
        return "read failure";
    case RPMB_FRAME_RES_NO_AUTH_KEY:
        return "no authentication key programmed";
    default:
        return "unknown result code";
    }
}

/* Parse a number in decimal or 0x hex, within [min, max]. */
static bool parse_uint(const char *s, unsigned long min, unsigned long max,
                       unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s == '\0' || *s == '-' || *s == '+') {
        return false;
    }
    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/*
 * Read at most @cap bytes from @path ('-' = stdin) into @buf; *@len gets
 * the size. Return 0, -EFBIG when the file is larger than @cap, or -errno.
 */
static int read_input(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    int fd;
    size_t n = 0;
    ssize_t r;
    uint8_t extra;
    int rc = 0;

    fd = strcmp(path, "-") == 0 ? STDIN_FILENO
                                : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    while (n < cap) {
        r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = -errno;
            goto out_close;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    if (n == cap) {
        do {
            r = read(fd, &extra, 1);
        } while (r < 0 && errno == EINTR);
        if (r > 0) {
            rc = -EFBIG;
        }
    }
    *len = n;
out_close:
    if (fd != STDIN_FILENO) {
        close(fd);
    }
    return rc;
}

/*
 * Load a key: exactly 32 raw bytes, or 64 hex digits and an optional
 * newline. Return 0 or -1 (reported). All buffers are wiped.
 */
static int load_key(const char *path, uint8_t key[RPMB_FRAME_KEY_LEN])
{
    uint8_t buf[KEY_FILE_MAX_SIZE + 1];
    char hex[2 * RPMB_FRAME_KEY_LEN + 1];
    size_t len = 0;
    int rc;

    rc = read_input(path, buf, KEY_FILE_MAX_SIZE, &len);
    if (rc != 0 && rc != -EFBIG) {
        fprintf(stderr, "rpmb: cannot read key from %s: %s\n",
                strcmp(path, "-") == 0 ? "stdin" : path, strerror(-rc));
        goto err_wipe;
    }
    if (rc == 0 && len == RPMB_FRAME_KEY_LEN) {
        memcpy(key, buf, RPMB_FRAME_KEY_LEN);
        wipe(buf, sizeof(buf));
        return 0;
    }
    if (rc == 0 && len >= 2 * RPMB_FRAME_KEY_LEN) {
        size_t tail = len - 2 * RPMB_FRAME_KEY_LEN;
        const uint8_t *t = buf + 2 * RPMB_FRAME_KEY_LEN;
        bool tail_ok = tail == 0 || (tail == 1 && t[0] == '\n') ||
                       (tail == 2 && t[0] == '\r' && t[1] == '\n');

        memcpy(hex, buf, 2 * RPMB_FRAME_KEY_LEN);
        hex[2 * RPMB_FRAME_KEY_LEN] = '\0';
        /* hex_decode() would take a 0x prefix: demand 64 digits exactly */
        if (tail_ok && strncmp(hex, "0x", 2) != 0 &&
            hex_decode(hex, key, RPMB_FRAME_KEY_LEN) == RPMB_FRAME_KEY_LEN) {
            wipe(hex, sizeof(hex));
            wipe(buf, sizeof(buf));
            return 0;
        }
    }
    fprintf(stderr,
            "rpmb: %s: not a key: need exactly 32 raw bytes, or 64 hex "
            "digits with an optional newline\n",
            strcmp(path, "-") == 0 ? "stdin" : path);
err_wipe:
    wipe(hex, sizeof(hex));
    wipe(buf, sizeof(buf));
    wipe(key, RPMB_FRAME_KEY_LEN);
    return -1;
}

/* Report @st of @what; return the exit status. */
static int report(struct ctx *x, const char *what, enum rpmbc_status st)
{
    enum rpmbc_class cls = rpmbc_status_class(st);
    uint16_t res = x->c->last_result;

    if (st == RPMBC_ERR_DEVICE) {
        fprintf(stderr, "rpmb: %s: device result 0x%04x %s%s: %s\n", what, res,
                rpmb_frame_result_name(res),
                (res & RPMB_FRAME_RES_EXPIRED_FLAG) ? " (write counter expired)"
                                                    : "",
                result_text(res));
    } else if (st == RPMBC_ERR_TRANSPORT) {
        fprintf(stderr, "rpmb: %s: transport failure: %s\n", what,
                strerror(-x->c->last_errno));
    } else {
        fprintf(stderr, "rpmb: %s: %s\n", what, rpmbc_strerror(st));
    }
    if (x->o.json) {
        printf("{\"command\":\"%s\",\"ok\":false,\"exit\":%d,"
               "\"error\":\"%s\"",
               what, (int)cls,
               cls == RPMBC_CLASS_DEVICE   ? "device"
               : cls == RPMBC_CLASS_TAMPER ? "tampering"
               : cls == RPMBC_CLASS_USAGE  ? "usage"
                                           : "transport");
        if (st == RPMBC_ERR_DEVICE) {
            printf(",\"result\":%u,\"result_name\":\"%s\",\"expired\":%s", res,
                   rpmb_frame_result_name(res),
                   (res & RPMB_FRAME_RES_EXPIRED_FLAG) ? "true" : "false");
        }
        printf(",\"message\":\"%s\"}\n", rpmbc_strerror(st));
    }
    return (int)cls;
}

/*
 * Connect to the backend. Called by each command once its arguments are
 * checked, so usage errors never wait for a device.
 * Return: 0 or the exit status.
 */
static int dev_open(struct ctx *x)
{
    struct rpmbc_transport tr;
    int rc;

    rc = rpmbc_vhu_open(&x->vhu, x->o.socket_path);
    if (rc != 0) {
        fprintf(stderr, "rpmb: cannot connect to %s: %s\n", x->o.socket_path,
                strerror(-rc));
        if (x->o.json) {
            printf("{\"ok\":false,\"exit\":%d,\"error\":\"transport\","
                   "\"message\":\"cannot connect\"}\n",
                   EXIT_TRANSPORT);
        }
        return EXIT_TRANSPORT;
    }
    tr = rpmbc_vhu_transport(x->vhu);
    if (x->o.flip) {
        /* in the frontend, where a man in the middle would sit */
        rpmbc_vhu_set_flip(x->vhu, x->o.flip_offset, (uint8_t)x->o.flip_mask,
                           x->o.flip_skip);
    }
    x->c = xmalloc(sizeof(*x->c));
    rpmbc_init(x->c, &tr);
    return 0;
}

static int cmd_info(struct ctx *x)
{
    struct rpmbc_config cfg;
    enum rpmbc_status st;
    unsigned long bytes;
    int rc;

    rc = dev_open(x);
    if (rc != 0) {
        return rc;
    }
    st = rpmbc_get_config(x->c, &cfg);
    if (st != RPMBC_OK) {
        return report(x, "info", st);
    }
    bytes = (unsigned long)cfg.capacity_units * 128u * 1024u;
    if (x->o.json) {
        printf("{\"command\":\"info\",\"ok\":true,\"capacity_units\":%u,"
               "\"capacity_bytes\":%lu,\"blocks\":%lu,\"max_wr_cnt\":%u,"
               "\"max_rd_cnt\":%u}\n",
               cfg.capacity_units, bytes, bytes / 256u, cfg.max_wr_cnt,
               cfg.max_rd_cnt);
    } else {
        printf("capacity:   %u x 128 KiB = %lu bytes (%lu blocks of 256 "
               "bytes)\n",
               cfg.capacity_units, bytes, bytes / 256u);
        printf("max_wr_cnt: %u%s\n", cfg.max_wr_cnt,
               cfg.max_wr_cnt == 0 ? " (no limit)"
                                   : " (most blocks per write request)");
        printf("max_rd_cnt: %u%s\n", cfg.max_rd_cnt,
               cfg.max_rd_cnt == 0 ? " (no limit)"
                                   : " (most blocks per read request)");
    }
    return 0;
}

static int cmd_program_key(struct ctx *x)
{
    uint8_t key[RPMB_FRAME_KEY_LEN];
    enum rpmbc_status st;
    int rc;

    if (load_key(x->o.args[0], key) != 0) {
        return EXIT_USAGE;
    }
    rc = dev_open(x);
    if (rc != 0) {
        wipe(key, sizeof(key));
        return rc;
    }
    st = rpmbc_program_key(x->c, key);
    wipe(key, sizeof(key));
    if (st != RPMBC_OK) {
        return report(x, "program-key", st);
    }
    if (x->o.json) {
        printf("{\"command\":\"program-key\",\"ok\":true}\n");
    } else {
        printf("key programmed\n");
    }
    return 0;
}

static int cmd_read_counter(struct ctx *x)
{
    uint8_t key[RPMB_FRAME_KEY_LEN];
    bool have_key = x->o.key_path != NULL;
    enum rpmbc_status st;
    uint32_t counter = 0;
    bool expired;
    int rc;

    if (have_key && load_key(x->o.key_path, key) != 0) {
        return EXIT_USAGE;
    }
    rc = dev_open(x);
    if (rc != 0) {
        wipe(key, sizeof(key));
        return rc;
    }
    st = rpmbc_read_counter(x->c, have_key ? key : NULL, &counter);
    wipe(key, sizeof(key));
    if (st != RPMBC_OK) {
        return report(x, "read-counter", st);
    }
    expired = (x->c->last_result & RPMB_FRAME_RES_EXPIRED_FLAG) != 0;
    if (x->o.json) {
        printf("{\"command\":\"read-counter\",\"ok\":true,\"counter\":%u,"
               "\"expired\":%s,\"authenticated\":%s}\n",
               counter, expired ? "true" : "false",
               have_key ? "true" : "false");
    } else {
        printf("write counter: %u (0x%08x)%s%s\n", counter, counter,
               have_key ? ", MAC verified" : ", not authenticated (no key)",
               expired ? ", EXPIRED: no more writes" : "");
    }
    return 0;
}

static int cmd_write(struct ctx *x)
{
    uint8_t key[RPMB_FRAME_KEY_LEN];
    unsigned long addr;
    uint8_t *data;
    size_t len = 0;
    size_t n_blocks;
    enum rpmbc_status st;
    int rc;

    if (!parse_uint(x->o.args[0], 0, 0xffff, &addr)) {
        usage_error("write: bad ADDR '%s' (a block number 0..65535)",
                    x->o.args[0]);
        return EXIT_USAGE;
    }
    if (x->o.key_path == NULL) {
        usage_error("write: %s", "--key KEYFILE is required");
        return EXIT_USAGE;
    }
    if (strcmp(x->o.key_path, "-") == 0 && strcmp(x->o.args[1], "-") == 0) {
        usage_error("write: %s", "key and data cannot both come from stdin");
        return EXIT_USAGE;
    }
    data = xmalloc(RPMB_MAX_DATA_SIZE + RPMB_FRAME_DATA_LEN);
    rc = read_input(x->o.args[1], data, RPMB_MAX_DATA_SIZE, &len);
    if (rc != 0) {
        fprintf(stderr, "rpmb: write: cannot read %s: %s\n", x->o.args[1],
                rc == -EFBIG ? "larger than the largest RPMB (16 MiB)"
                             : strerror(-rc));
        free(data);
        return EXIT_USAGE;
    }
    if (len == 0 || (len % RPMB_FRAME_DATA_LEN != 0 && !x->o.pad)) {
        fprintf(stderr,
                "rpmb: write: %s is %zu bytes; it must be a non-zero "
                "multiple of 256 (or use --pad)\n",
                x->o.args[1], len);
        free(data);
        return EXIT_USAGE;
    }
    n_blocks = (len + RPMB_FRAME_DATA_LEN - 1) / RPMB_FRAME_DATA_LEN;
    memset(data + len, 0, n_blocks * RPMB_FRAME_DATA_LEN - len);
    if (load_key(x->o.key_path, key) != 0) {
        free(data);
        return EXIT_USAGE;
    }
    rc = dev_open(x);
    if (rc != 0) {
        wipe(key, sizeof(key));
        free(data);
        return rc;
    }
    st = rpmbc_write_blocks(x->c, key, (uint16_t)addr, data, n_blocks);
    wipe(key, sizeof(key));
    free(data);
    if (st == RPMBC_ERR_RANGE) {
        fprintf(stderr,
                "rpmb: write: %zu blocks at %lu pass the end of the "
                "RPMB address space\n",
                n_blocks, addr);
        return EXIT_USAGE;
    }
    if (st != RPMBC_OK) {
        return report(x, "write", st);
    }
    if (x->o.json) {
        printf("{\"command\":\"write\",\"ok\":true,\"address\":%lu,"
               "\"blocks\":%zu,\"counter\":%u}\n",
               addr, n_blocks, x->c->last_counter);
    } else {
        printf("wrote %zu block%s at %lu; write counter now %u\n", n_blocks,
               n_blocks == 1 ? "" : "s", addr, x->c->last_counter);
    }
    return 0;
}

/* Write all of @buf to @fd. Return 0 or -errno. */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
    ssize_t w;

    while (len > 0) {
        w = write(fd, buf, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -errno;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

static int cmd_read(struct ctx *x)
{
    uint8_t key[RPMB_FRAME_KEY_LEN];
    bool have_key = x->o.key_path != NULL;
    bool to_stdout = x->o.out_path == NULL || strcmp(x->o.out_path, "-") == 0;
    unsigned long addr;
    unsigned long count;
    enum rpmbc_status st;
    uint8_t *data;
    int fd = STDOUT_FILENO;
    int rc;

    if (!parse_uint(x->o.args[0], 0, 0xffff, &addr)) {
        usage_error("read: bad ADDR '%s' (a block number 0..65535)",
                    x->o.args[0]);
        return EXIT_USAGE;
    }
    if (!parse_uint(x->o.args[1], 1, 65536, &count)) {
        usage_error("read: bad COUNT '%s' (1..65536 blocks)", x->o.args[1]);
        return EXIT_USAGE;
    }
    if (x->o.out_path == NULL && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "rpmb: read: refusing to write binary data to a "
                        "terminal; use -o FILE, or -o - to insist\n");
        return EXIT_USAGE;
    }
    if (have_key && load_key(x->o.key_path, key) != 0) {
        return EXIT_USAGE;
    }
    rc = dev_open(x);
    if (rc != 0) {
        wipe(key, sizeof(key));
        return rc;
    }
    data = xmalloc(count * RPMB_FRAME_DATA_LEN);
    st = rpmbc_read_blocks(x->c, have_key ? key : NULL, (uint16_t)addr, data,
                           count);
    wipe(key, sizeof(key));
    if (st == RPMBC_ERR_RANGE) {
        free(data);
        fprintf(stderr,
                "rpmb: read: %lu blocks at %lu pass the end of the "
                "RPMB address space\n",
                count, addr);
        return EXIT_USAGE;
    }
    if (st != RPMBC_OK) {
        free(data);
        return report(x, "read", st);
    }
    if (!to_stdout) {
        /* RPMB contents are usually secrets: owner-only by default */
        fd =
            open(x->o.out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            fprintf(stderr, "rpmb: read: cannot create %s: %s\n", x->o.out_path,
                    strerror(errno));
            free(data);
            return EXIT_USAGE;
        }
    }
    rc = write_all(fd, data, count * RPMB_FRAME_DATA_LEN);
    if (!to_stdout && close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    wipe(data, count * RPMB_FRAME_DATA_LEN);
    free(data);
    if (rc != 0) {
        fprintf(stderr, "rpmb: read: cannot write output: %s\n", strerror(-rc));
        return EXIT_USAGE;
    }
    if (x->o.json) {
        fprintf(to_stdout ? stderr : stdout,
                "{\"command\":\"read\",\"ok\":true,\"address\":%lu,"
                "\"blocks\":%lu,\"authenticated\":%s}\n",
                addr, count, have_key ? "true" : "false");
    } else if (!to_stdout) {
        printf("read %lu block%s at %lu%s to %s\n", count,
               count == 1 ? "" : "s", addr,
               have_key ? " (MAC verified)" : " (not authenticated)",
               x->o.out_path);
    }
    return 0;
}

/**
 * struct command - one subcommand.
 */
struct command {
    const char *name; /* as typed */
    int min_args;     /* positional arguments */
    int max_args;
    const char *synopsis;      /* for usage errors */
    int (*run)(struct ctx *x); /* handler */
};

static const struct command commands[] = {
    {"info", 0, 0, "info", cmd_info},
    {"program-key", 1, 1, "program-key KEYFILE", cmd_program_key},
    {"read-counter", 0, 0, "read-counter [--key KEYFILE]", cmd_read_counter},
    {"write", 2, 2, "write ADDR FILE --key KEYFILE [--pad]", cmd_write},
    {"read", 2, 2, "read ADDR COUNT [--key KEYFILE] [-o FILE]", cmd_read},
};

static bool parse_flip(const char *s, struct opts *o)
{
    char buf[64];
    char *mask;
    char *skip = NULL;
    unsigned long v;

    if (strlen(s) >= sizeof(buf)) {
        return false;
    }
    strcpy(buf, s);
    mask = strchr(buf, ':');
    if (mask != NULL) {
        *mask++ = '\0';
        skip = strchr(mask, ':');
        if (skip != NULL) {
            *skip++ = '\0';
        }
    }
    if (!parse_uint(buf, 0, 1u << 20, &v)) {
        return false;
    }
    o->flip_offset = v;
    o->flip_mask = 1;
    o->flip_skip = 0;
    if (mask != NULL) {
        if (!parse_uint(mask, 1, 0xff, &v)) {
            return false;
        }
        o->flip_mask = (unsigned)v;
    }
    if (skip != NULL) {
        if (!parse_uint(skip, 0, 1000, &v)) {
            return false;
        }
        o->flip_skip = (unsigned)v;
    }
    o->flip = true;
    return true;
}

/* Options may come before or after the command. Return 0, 1 (help) or 2. */
static int parse_args(int argc, char **argv, struct opts *o)
{
    int i;
    bool dashdash = false;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;

        if (!dashdash && a[0] == '-' && a[1] != '\0') {
            if (strcmp(a, "--") == 0) {
                dashdash = true;
                continue;
            }
            if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                return 1;
            }
            if (strcmp(a, "--json") == 0) {
                o->json = true;
                continue;
            }
            if (strcmp(a, "--pad") == 0) {
                o->pad = true;
                continue;
            }
            if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
                o->verbose = true;
                continue;
            }
            if (strcmp(a, "--vhost-user") == 0 || strcmp(a, "--key") == 0 ||
                strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
                strcmp(a, "--test-flip") == 0) {
                if (i + 1 >= argc) {
                    usage_error("option %s needs an argument", a);
                    return 2;
                }
                val = argv[++i];
            } else if (strncmp(a, "--vhost-user=", 13) == 0) {
                val = a + 13;
                a = "--vhost-user";
            } else if (strncmp(a, "--key=", 6) == 0) {
                val = a + 6;
                a = "--key";
            } else if (strncmp(a, "--output=", 9) == 0) {
                val = a + 9;
                a = "-o";
            } else {
                usage_error("unknown option '%s'", a);
                return 2;
            }
            if (strcmp(a, "--vhost-user") == 0) {
                o->socket_path = val;
            } else if (strcmp(a, "--key") == 0) {
                o->key_path = val;
            } else if (strcmp(a, "--test-flip") == 0) {
                if (!parse_flip(val, o)) {
                    usage_error("bad --test-flip '%s' (OFFSET[:MASK[:SKIP]])",
                                val);
                    return 2;
                }
            } else {
                o->out_path = val;
            }
            continue;
        }
        if (o->cmd == NULL) {
            o->cmd = a;
        } else if (o->n_args < (int)TV_ARRAY_SIZE(o->args)) {
            o->args[o->n_args++] = a;
        } else {
            usage_error("too many arguments at '%s'", a);
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct ctx x;
    const struct command *cmd = NULL;
    size_t i;
    int rc;

    memset(&x, 0, sizeof(x));
    tv_log_prefix = "rpmb";
    rc = parse_args(argc, argv, &x.o);
    if (rc == 1) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (rc != 0) {
        return EXIT_USAGE;
    }
    if (x.o.cmd == NULL) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    for (i = 0; i < TV_ARRAY_SIZE(commands); i++) {
        if (strcmp(commands[i].name, x.o.cmd) == 0) {
            cmd = &commands[i];
        }
    }
    if (cmd == NULL) {
        usage_error("unknown command '%s'", x.o.cmd);
        return EXIT_USAGE;
    }
    if (x.o.n_args < cmd->min_args || x.o.n_args > cmd->max_args) {
        usage_error("usage: rpmb %s", cmd->synopsis);
        return EXIT_USAGE;
    }
    if (x.o.key_path != NULL && cmd->run != cmd_read_counter &&
        cmd->run != cmd_write && cmd->run != cmd_read) {
        usage_error("%s takes no --key", cmd->name);
        return EXIT_USAGE;
    }
    if (x.o.out_path != NULL && cmd->run != cmd_read) {
        usage_error("%s takes no -o", cmd->name);
        return EXIT_USAGE;
    }
    if (x.o.verbose) {
        tv_log_level = TV_LOG_DEBUG;
    }
    if (x.o.socket_path == NULL) {
        x.o.socket_path = getenv("TRUSTVIO_RPMB_SOCKET");
    }
    if (x.o.socket_path == NULL || x.o.socket_path[0] == '\0') {
        usage_error("%s", "no device: give --vhost-user SOCKET or set "
                          "TRUSTVIO_RPMB_SOCKET");
        return EXIT_USAGE;
    }
    rc = cmd->run(&x);
    if (x.c != NULL) {
        wipe(x.c, sizeof(*x.c));
        free(x.c);
    }
    rpmbc_vhu_close(x.vhu);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "rpmb: cannot write to stdout: %s\n", strerror(errno));
        rc = EXIT_USAGE;
    }
    return rc;
}
