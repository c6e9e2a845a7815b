/* SPDX-License-Identifier: MIT */
/*
 * trustvio-dsm: a TEE-IO device security manager (SPDM responder, TDISP and
 * IDE_KM responders) behind the SPDM socket protocol QEMU's spdm-socket
 * backend and DMTF's emulator speak. Thin: options, identity, the listen
 * loop, the admin socket; the protocol work is in dsm.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bug.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/fdio.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "crypto/crypto.h"
#include "daemon/daemon.h"
#include "daemon/sandbox.h"
#include "dsm/dsm.h"
#include "pki/devid.h"

#define PROG         "trustvio-dsm"
#define DEFAULT_PORT 2323
#define IO_TIMEOUT_S 5
#define ADMIN_LINE   512
#define HEARTBEAT_S  60 /* default HeartbeatPeriod */

static const char usage[] =
    "Usage: " PROG " [options]\n"
    "\n"
    "A TEE-IO device security manager: SPDM 1.2 responder (ECDSA P-384,\n"
    "SHA-384, ECDHE P-384, AES-256-GCM) with TDISP and IDE_KM, listening on\n"
    "127.0.0.1 for the SPDM socket protocol, e.g. for QEMU:\n"
    "  -machine q35 -device nvme,serial=x,spdm_port=PORT,spdm_trans=doe\n"
    "\n"
    "Transport:\n"
    "  --port=N             TCP port on 127.0.0.1 (default 2323)\n"
    "  --admin-socket=PATH  Unix socket (mode 0600) for admin commands that\n"
    "                       change a TDI's configuration the way a config\n"
    "                       space write or a firmware update would, or\n"
    "                       report states (TDIs, IDE key slots); see\n"
    "                       `tdisp admin`\n"
    "\n"
    "Identity:\n"
    "  --pki=DIR            device CA and device key (ca.pem, device.key,\n"
    "                       ...); created when DIR holds no ca.pem (default\n"
    "                       ./var/dsm-pki). Verifiers pin DIR/ca.pem\n"
    "  --name=NAME          device name in a new leaf's CN (default dsm)\n"
    "  --measurement=N[:TYPE]=FILE\n"
    "                       measurement block N (1..254) from FILE: up to\n"
    "                       128 bytes are kept raw (reported as their\n"
    "                       SHA-384 unless a requester asks for raw bit\n"
    "                       streams), a larger file as its SHA-384 only;\n"
    "                       TYPE is rom, firmware (default),\n"
    "                       hw-config, fw-config, manifest, version or svn\n"
    "  --measurement=N[:TYPE]=sha384:HEX\n"
    "                       block N given as a 96-hex-digit digest\n"
    "                       (repeatable; without any, block 1 is the\n"
    "                       version string of this program)\n"
    "\n"
    "Device interfaces:\n"
    "  --tdi=FUNC[=RANGE[,RANGE...]]\n"
    "                       a TDI: FUNC is a function id (hex, 0x...) or\n"
    "                       BB:DD.F; RANGE is ADDR+SIZE[/ID] with ADDR and\n"
    "                       SIZE 4 KiB multiples (hex or decimal, k/m\n"
    "                       suffixes for SIZE) and ID the BAR (default the\n"
    "                       range's position). Repeatable, up to 8. Without\n"
    "                       any: one TDI, function 00:00.0, no ranges\n"
    "  --bdf=BB:DD.F        the function IDE_KM's QUERY reports (default\n"
    "                       the first TDI's)\n"
    "\n"
    "Sessions:\n"
    "  --heartbeat=SECONDS  HeartbeatPeriod advertised in KEY_EXCHANGE_RSP,\n"
    "                       0..255 (default 60); a session that sees no\n"
    "                       request for twice as long is ended. 0: no\n"
    "                       heartbeat, sessions never time out\n"
    "\n"
    "Privileges:\n"
    "  --sandbox=KIND       seccomp (default): once set up, the daemon serves\n"
    "                       under a syscall allow-list with no_new_privs and\n"
    "                       is killed on any other call; none: no filter\n"
    "  --user=USER          switch to USER (name or uid) once the sockets are\n"
    "                       bound, before reading the identity (needs root;\n"
    "                       USER must be able to read --pki and write the\n"
    "                       admin socket's directory)\n"
    "  --group=GROUP        switch to GROUP (default: USER's primary group)\n"
    "\n"
    "General:\n"
    "  --verbose            log every message (to stderr)\n"
    "  --quiet              log errors only\n"
    "  --help               this text\n"
    "\n"
    "The daemon stays in the foreground, logs to stderr, exits on SIGTERM or\n"
    "SIGINT, and serves the next connection after a disconnect. A TDI whose\n"
    "session ends while locked goes to ERROR and stays there until STOP.\n";

enum {
    OPT_PORT = 1,
    OPT_ADMIN,
    OPT_PKI,
    OPT_NAME,
    OPT_MEAS,
    OPT_TDI,
    OPT_BDF,
    OPT_VERBOSE,
    OPT_QUIET,
    OPT_HELP,
    OPT_SANDBOX,
    OPT_USER,
    OPT_GROUP,
    OPT_HEARTBEAT,
};

static const struct option long_options[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"admin-socket", required_argument, NULL, OPT_ADMIN},
    {"pki", required_argument, NULL, OPT_PKI},
    {"name", required_argument, NULL, OPT_NAME},
    {"measurement", required_argument, NULL, OPT_MEAS},
    {"tdi", required_argument, NULL, OPT_TDI},
    {"bdf", required_argument, NULL, OPT_BDF},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {"sandbox", required_argument, NULL, OPT_SANDBOX},
    {"user", required_argument, NULL, OPT_USER},
    {"group", required_argument, NULL, OPT_GROUP},
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
    {NULL, 0, NULL, 0},
};

/* Static: the device is large and early exits then leak nothing. */
static struct dsm dev;
static struct devid id;
static struct dsm_config cfg;
static struct spdm_meas_config meas[SPDM_MEAS_BLOCKS_MAX];
static uint8_t meas_val[SPDM_MEAS_BLOCKS_MAX][SPDM_MEAS_VALUE_MAX];
static uint8_t rx[DSM_SOCK_MAX];
static uint8_t tx[DSM_SOCK_MAX];

static const char version_string[] = PROG " 0.1.0";

static bool parse_u64(const char *s, uint64_t *out, bool size_suffix)
{
    char *end;
    unsigned long long v;

    errno = 0;
    if (*s == '\0' || *s == '-') {
        return false;
    }
    v = strtoull(s, &end, 0);
    if (errno != 0) {
        return false;
    }
    if (size_suffix && (*end == 'k' || *end == 'K')) {
        if (v > UINT64_MAX >> 10) {
            return false;
        }
        v <<= 10;
        end++;
    } else if (size_suffix && (*end == 'm' || *end == 'M')) {
        if (v > UINT64_MAX >> 20) {
            return false;
        }
        v <<= 20;
        end++;
    }
    if (*end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

/* "BB:DD.F" -> requester id; or a number. */
static bool parse_func(const char *s, uint32_t *out)
{
    unsigned b, dv, fn;
    char tail;
    uint64_t v;

    if (sscanf(s, "%x:%x.%x%c", &b, &dv, &fn, &tail) == 3) {
        if (b > 0xff || dv > 0x1f || fn > 7) {
            return false;
        }
        *out = b << 8 | dv << 3 | fn;
        return true;
    }
    if (!parse_u64(s, &v, false) || v > 0x01ffffff) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static int parse_tdi(const char *arg, struct tdisp_tdi_config *c)
{
    char buf[1024];
    char *eq, *tok, *save = NULL;

    memset(c, 0, sizeof(*c));
    c->valid = true;
    c->interface_info = TDISP_INFO_DMA_WITHOUT_PASID;
    if (strlen(arg) >= sizeof(buf)) {
        return -1;
    }
    strcpy(buf, arg);
    eq = strchr(buf, '=');
    if (eq != NULL) {
        *eq++ = '\0';
    }
    if (!parse_func(buf, &c->function_id)) {
        tv_err("--tdi %s: bad function id '%s'", arg, buf);
        return -1;
    }
    if (eq == NULL || *eq == '\0') {
        return 0;
    }
    for (tok = strtok_r(eq, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        struct tdisp_range *r;
        char *plus = strchr(tok, '+'), *slash;
        uint64_t addr, size, rid;

        if (c->n_ranges == TDISP_MAX_RANGES) {
            tv_err("--tdi %s: more than %d ranges", arg, TDISP_MAX_RANGES);
            return -1;
        }
        r = &c->ranges[c->n_ranges];
        if (plus == NULL) {
            tv_err("--tdi %s: a range is ADDR+SIZE[/ID], not '%s'", arg, tok);
            return -1;
        }
        *plus++ = '\0';
        slash = strchr(plus, '/');
        rid = c->n_ranges;
        if (slash != NULL) {
            *slash++ = '\0';
            if (!parse_u64(slash, &rid, false) || rid > 0xffff) {
                tv_err("--tdi %s: bad range id '%s'", arg, slash);
                return -1;
            }
        }
        if (!parse_u64(tok, &addr, false) || !parse_u64(plus, &size, true) ||
            (addr & 0xfff) != 0 || (size & 0xfff) != 0 || size == 0 ||
            (size >> 12) > UINT32_MAX || addr > UINT64_MAX - size + 1) {
            tv_err("--tdi %s: range %s+%s: address and size must be "
                   "non-zero multiples of 4 KiB within 64 bits",
                   arg, tok, plus);
            return -1;
        }
        r->addr = addr;
        r->n_pages = (uint32_t)(size >> 12);
        r->range_id = (uint16_t)rid;
        c->n_ranges++;
    }
    return 0;
}

static int meas_type(const char *s, uint8_t *out)
{
    static const struct {
        const char *name;
        uint8_t type;
    } t[] = {{"rom", SPDM_MEAS_TYPE_ROM},
             {"firmware", SPDM_MEAS_TYPE_FIRMWARE},
             {"hw-config", SPDM_MEAS_TYPE_HW_CONFIG},
             {"fw-config", SPDM_MEAS_TYPE_FW_CONFIG},
             {"manifest", SPDM_MEAS_TYPE_MANIFEST},
             {"version", SPDM_MEAS_TYPE_FW_VERSION},
             {"svn", SPDM_MEAS_TYPE_SVN}};
    size_t i;

    for (i = 0; i < TV_ARRAY_SIZE(t); i++) {
        if (strcmp(s, t[i].name) == 0) {
            *out = t[i].type;
            return 0;
        }
    }
    return -1;
}

static int parse_meas(const char *arg)
{
    struct spdm_meas_config *m = &meas[cfg.n_meas];
    uint8_t *val = meas_val[cfg.n_meas];
    char buf[PATH_MAX + 64];
    char *eq, *colon;
    uint64_t idx;
    size_t i;

    if (cfg.n_meas == SPDM_MEAS_BLOCKS_MAX) {
        tv_err("--measurement: at most %d blocks", SPDM_MEAS_BLOCKS_MAX);
        return -1;
    }
    if (strlen(arg) >= sizeof(buf)) {
        tv_err("--measurement: argument too long");
        return -1;
    }
    strcpy(buf, arg);
    eq = strchr(buf, '=');
    if (eq == NULL) {
        tv_err("--measurement %s: expected N[:TYPE]=FILE", arg);
        return -1;
    }
    *eq++ = '\0';
    m->type = SPDM_MEAS_TYPE_FIRMWARE;
    colon = strchr(buf, ':');
    if (colon != NULL) {
        *colon++ = '\0';
        if (meas_type(colon, &m->type) != 0) {
            tv_err("--measurement %s: unknown type '%s'", arg, colon);
            return -1;
        }
    }
    if (!parse_u64(buf, &idx, false) || idx < 1 || idx > 0xfe) {
        tv_err("--measurement %s: index must be 1..254", arg);
        return -1;
    }
    for (i = 0; i < cfg.n_meas; i++) {
        if (meas[i].index == idx) {
            tv_err("--measurement %s: index %u given twice", arg,
                   (unsigned)idx);
            return -1;
        }
    }
    m->index = (uint8_t)idx;
    if (strncmp(eq, "sha384:", 7) == 0) {
        if (strlen(eq + 7) != 96 ||
            hex_decode(eq + 7, val, SPDM_HASH_SIZE) != SPDM_HASH_SIZE) {
            tv_err("--measurement %s: sha384: takes 96 hex digits", arg);
            return -1;
        }
        m->is_digest = true;
        m->value_len = SPDM_HASH_SIZE;
    } else {
        FILE *f = fopen(eq, "rb");
        uint8_t *all = NULL;
        size_t n, total = 0, cap = 0;

        if (f == NULL) {
            tv_err("--measurement %s: %s: %s", arg, eq, strerror(errno));
            return -1;
        }
        do {
            if (total == cap) {
                cap = cap ? cap * 2 : 65536;
                all = xrealloc(all, cap);
            }
            n = fread(all + total, 1, cap - total, f);
            total += n;
        } while (n > 0);
        if (ferror(f) || total == 0) {
            tv_err("--measurement %s: %s: %s", arg, eq,
                   total == 0 ? "empty file" : "read error");
            fclose(f);
            free(all);
            return -1;
        }
        fclose(f);
        if (total <= SPDM_MEAS_VALUE_MAX) {
            memcpy(val, all, total);
            m->is_digest = false;
            m->value_len = total;
        } else {
            if (crypto_sha384_2(all, total, NULL, 0, val) != 0) {
                tv_err("--measurement %s: SHA-384 failed", arg);
                free(all);
                return -1;
            }
            m->is_digest = true;
            m->value_len = SPDM_HASH_SIZE;
        }
        free(all);
    }
    m->value = val;
    cfg.n_meas++;
    return 0;
}

static int listen_tcp(unsigned port)
{
    struct sockaddr_in a;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        tv_err("socket: %s", strerror(errno));
        return -1;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0) {
        tv_err("127.0.0.1:%u: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un a;
    mode_t old;
    int fd, rc;

    if (strlen(path) >= sizeof(a.sun_path)) {
        tv_err("--admin-socket %s: path too long", path);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        tv_err("socket: %s", strerror(errno));
        return -1;
    }
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, path);
    /* a stale socket file is replaced; a live one is an error */
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        tv_err("--admin-socket %s: another daemon is listening", path);
        close(fd);
        return -1;
    }
    (void)unlink(path);
    old = umask(0177);
    rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
    umask(old);
    if (rc != 0 || listen(fd, 4) != 0) {
        tv_err("--admin-socket %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Bytes of the next message(s) already received into rx. */
static size_t rx_have;

/*
 * Receive one whole message into rx[0..]: as few reads as the kernel
 * allows (a message usually arrives in one), bytes past it kept for the
 * next call. Return 0 and the header in @h, or -1 when the peer left, broke
 * the framing or stalled past the receive timeout.
 */
static int recv_message(int fd, struct sock_header *h)
{
    size_t need = SOCK_HEADER_SIZE;
    bool have_header = false;
    unsigned reads = 0;

    for (;;) {
        ssize_t n;

        if (!have_header && rx_have >= SOCK_HEADER_SIZE) {
            sock_parse_header(rx, h);
            if (h->payload_len > DOE_MAX_OBJECT_SIZE) {
                tv_err("peer: a %u-byte payload (limit %u): closing the "
                       "connection",
                       (unsigned)h->payload_len, (unsigned)DOE_MAX_OBJECT_SIZE);
                return -1;
            }
            need = SOCK_HEADER_SIZE + h->payload_len;
            have_header = true;
        }
        if (have_header && rx_have >= need) {
            return 0;
        }
        if (reads > 0) {
            /*
             * A piece came and the rest has not: a peer that writes a
             * message in pieces with Nagle on sends the next one only once
             * this one is ACKed, so ACK it now, not after the delayed-ACK
             * timer (about 40 ms).
             */
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
        }
        n = read(fd, rx + rx_have, sizeof(rx) - rx_have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (rx_have > 0) {
                tv_err("peer: connection lost inside a message");
            }
            return -1;
        }
        rx_have += (size_t)n;
        reads++;
    }
}

/*
 * One message from the peer. Return 1 to keep the connection, 0 to close
 * it (the peer left, sent SHUTDOWN, or broke the framing).
 */
static int serve_one(int fd)
{
    struct sock_header h;
    enum dsm_verdict v;
    size_t out_len, used;

    /* private copy: the message is read once, into rx */
    if (recv_message(fd, &h) != 0) {
        return 0;
    }
    tv_debug("rx %s transport %u, %u bytes", sock_command_name(h.command),
             (unsigned)h.transport, (unsigned)h.payload_len);
    v = dsm_socket_message(&dev, &h, rx + SOCK_HEADER_SIZE, tx, sizeof(tx),
                           &out_len);
    used = SOCK_HEADER_SIZE + h.payload_len;
    memmove(rx, rx + used, rx_have - used);
    rx_have -= used;
    if (v == DSM_INTERNAL) {
        tv_err("internal failure answering a %s message: closing",
               sock_command_name(h.command));
        return 0;
    }
    /* one write per message, the reply complete before it leaves */
    if (fd_write_all(fd, tx, out_len) != 0) {
        tv_err("peer: %s", strerror(errno));
        return 0;
    }
    return v == DSM_REPLY_CLOSE ? 0 : 1;
}

static struct tdisp_tdi_config *find_cfg(uint32_t fid)
{
    size_t i;

    for (i = 0; i < dev.tdisp.n_tdis; i++) {
        if (dev.tdisp.tdis[i].cfg.function_id == fid) {
            return &dev.tdisp.tdis[i].cfg;
        }
    }
    return NULL;
}

/*
 * Admin commands, one line in, one line out:
 *   list
 *   ide                         IDE_KM key-slot states (idekm_describe)
 *   state FUNC
 *   config-write FUNC           a config-space write (no layout change)
 *   firmware-update FUNC
 *   move-range FUNC INDEX ADDR  a BAR moved
 */
static void admin_command(char *line, char *out, size_t cap)
{
    char *argv[5] = {NULL};
    char *save = NULL, *tok;
    int argc = 0, st;
    uint32_t fid = 0;

    for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL && argc < 5;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        argv[argc++] = tok;
    }
    if (argc == 0) {
        snprintf(out, cap, "error: empty command\n");
        return;
    }
    if (strcmp(argv[0], "list") == 0 && argc == 1) {
        size_t i, off = 0;
        for (i = 0; i < dev.tdisp.n_tdis && off < cap; i++) {
            const struct tdisp_tdi *d = &dev.tdisp.tdis[i];
            int n = snprintf(out + off, cap - off, "%s0x%x %s %zu",
                             i ? " " : "", (unsigned)d->cfg.function_id,
                             tdisp_state_name((int)d->state), d->cfg.n_ranges);
            if (n < 0) {
                break;
            }
            off += (size_t)n;
        }
        if (off + 2 <= cap) {
            out[off] = '\n';
            out[off + 1] = '\0';
        }
        return;
    }
    if (strcmp(argv[0], "ide") == 0 && argc == 1) {
        char d[IDEKM_DESCRIBE_MAX];

        if (idekm_describe(&dev.idekm, d, sizeof(d)) == 0) {
            snprintf(out, cap, "error: key-slot states do not fit\n");
        } else {
            snprintf(out, cap, "%s\n", d);
        }
        return;
    }
    if (argc < 2 || !parse_func(argv[1], &fid) || find_cfg(fid) == NULL) {
        snprintf(out, cap, "error: no TDI %s\n", argc < 2 ? "given" : argv[1]);
        return;
    }
    if (strcmp(argv[0], "state") == 0 && argc == 2) {
        st = tdisp_state(&dev.tdisp, fid);
    } else if (strcmp(argv[0], "config-write") == 0 && argc == 2) {
        st = tdisp_config_change(&dev.tdisp, fid, NULL, false);
    } else if (strcmp(argv[0], "firmware-update") == 0 && argc == 2) {
        st = tdisp_config_change(&dev.tdisp, fid, NULL, true);
    } else if (strcmp(argv[0], "move-range") == 0 && argc == 4) {
        struct tdisp_tdi_config c = *find_cfg(fid);
        uint64_t idx, addr;
        if (!parse_u64(argv[2], &idx, false) || idx >= c.n_ranges ||
            !parse_u64(argv[3], &addr, false)) {
            snprintf(out, cap, "error: move-range FUNC INDEX ADDR\n");
            return;
        }
        c.ranges[idx].addr = addr;
        st = tdisp_config_change(&dev.tdisp, fid, &c, false);
        if (st == TDISP_ERR_CONFIG) {
            snprintf(out, cap, "error: %s is no 4 KiB aligned range start\n",
                     argv[3]);
            return;
        }
    } else {
        snprintf(out, cap, "error: unknown command '%s'\n", argv[0]);
        return;
    }
    tv_info("admin: %s 0x%x -> %s", argv[0], (unsigned)fid,
            tdisp_state_name(st));
    snprintf(out, cap, "%s\n", tdisp_state_name(st));
}

static void serve_admin(int lfd)
{
    char line[ADMIN_LINE], out[ADMIN_LINE * 2];
    struct timeval tv = {IO_TIMEOUT_S, 0};
    size_t len = 0;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        return;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (len + 1 < sizeof(line)) {
        ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        if (memchr(line, '\n', len) != NULL) {
            break;
        }
    }
    line[len] = '\0';
    admin_command(line, out, sizeof(out));
    (void)fd_write_all(fd, (const uint8_t *)out, strlen(out));
    close(fd);
}

static int setup_identity(const char *dir, const char *name)
{
    char err[512], p[PATH_MAX];

    if (snprintf(p, sizeof(p), "%s/ca.pem", dir) >= (int)sizeof(p)) {
        tv_err("--pki %s: path too long", dir);
        return -1;
    }
    if (access(p, F_OK) != 0) {
        if (devid_init_dir(dir, name, err, sizeof(err)) != 0) {
            tv_err("--pki %s: %s", dir, err);
            return -1;
        }
        tv_info("created a device identity in %s (pin %s)", dir, p);
    }
    if (devid_open(&id, dir, err, sizeof(err)) != 0) {
        tv_err("--pki: %s", err);
        return -1;
    }
    return 0;
}

/* USER: a name or a numeric uid; its primary group too. */
static bool parse_user(const char *s, uid_t *uid, gid_t *gid)
{
    struct passwd *pw = getpwnam(s);
    uint64_t v;

    if (pw == NULL && parse_u64(s, &v, false) && v < UINT32_MAX) {
        pw = getpwuid((uid_t)v);
    }
    if (pw == NULL) {
        return false;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return true;
}

/* GROUP: a name or a numeric gid. */
static bool parse_group(const char *s, gid_t *gid)
{
    struct group *gr = getgrnam(s);
    uint64_t v;

    if (gr != NULL) {
        *gid = gr->gr_gid;
        return true;
    }
    if (parse_u64(s, &v, false) && v < UINT32_MAX) {
        *gid = (gid_t)v;
        return true;
    }
    return false;
}

/* --user / --group as given. */
static struct {
    bool user_set, group_set;
    uid_t uid;
    gid_t user_gid, gid;
} priv;

/*
 * Switch to --user / --group (supplementary groups cleared) once the
 * sockets are bound, the way the other daemons do (daemon.c); the admin
 * socket file is handed over first so that the daemon can remove it on
 * exit. Return: 0, or non-zero (reported).
 */
static int drop_privileges(const char *admin_path)
{
    struct daemon_cfg dc = {
        .prog = PROG,
        .fd = -1,
        .user_set = priv.user_set,
        .user = priv.uid,
        .user_gid = priv.user_gid,
        .group_set = priv.group_set,
        .group = priv.gid,
    };
    struct daemon_sock admin = {
        .listen_fd = -1, .conn_fd = -1, .notify_fd = -1};

    if (admin_path != NULL) {
        admin.created = true;
        snprintf(admin.bound, sizeof(admin.bound), "%s", admin_path);
    }
    return daemon_drop_privileges_n(&dc, &admin, admin_path != NULL ? 1 : 0);
}

/* ms from @now until the next session's heartbeat expires (-1: never). */
static int poll_timeout(uint64_t now)
{
    uint64_t deadline = dsm_deadline(&dev);

    if (deadline == UINT64_MAX) {
        return -1;
    }
    if (deadline < now) {
        return 0;
    }
    /* one past the deadline: expiry is "more than twice the period" */
    return deadline - now >= INT_MAX ? INT_MAX : (int)(deadline - now + 1);
}

int main(int argc, char **argv)
{
    const char *pki_dir = "var/dsm-pki", *name = "dsm", *admin_path = NULL;
    const char *bdf = NULL;
    unsigned long port = DEFAULT_PORT;
    struct pollfd pfd[4];
    sigset_t mask;
    char err[512];
    int opt, lfd = -1, afd = -1, sfd = -1, cfd = -1, rc = 1;
    uint32_t bdf_id = 0;
    bool stop = false, sandbox = true;
    size_t ended;
    uint64_t now = tv_mono_ms();

    tv_log_prefix = PROG;
    cfg.heartbeat_period_s = HEARTBEAT_S;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_PORT: {
            uint64_t v;
            if (!parse_u64(optarg, &v, false) || v == 0 || v > 65535) {
                tv_err("--port %s: expected 1..65535", optarg);
                return 2;
            }
            port = (unsigned long)v;
            break;
        }
        case OPT_ADMIN:
            admin_path = optarg;
            break;
        case OPT_PKI:
            pki_dir = optarg;
            break;
        case OPT_NAME:
            name = optarg;
            break;
        case OPT_MEAS:
            if (parse_meas(optarg) != 0) {
                return 2;
            }
            break;
        case OPT_TDI:
            if (cfg.tdisp.n_tdis == TDISP_MAX_TDIS) {
                tv_err("--tdi: at most %d TDIs", TDISP_MAX_TDIS);
                return 2;
            }
            if (parse_tdi(optarg, &cfg.tdisp.tdis[cfg.tdisp.n_tdis]) != 0) {
                return 2;
            }
            cfg.tdisp.n_tdis++;
            break;
        case OPT_BDF:
            if (!parse_func(optarg, &bdf_id) || bdf_id > 0xffff) {
                tv_err("--bdf %s: expected BB:DD.F", optarg);
                return 2;
            }
            bdf = optarg;
            break;
        case OPT_VERBOSE:
            tv_log_level = TV_LOG_DEBUG;
            break;
        case OPT_QUIET:
            tv_log_level = TV_LOG_ERR;
            break;
        case OPT_SANDBOX:
            if (strcmp(optarg, "seccomp") == 0) {
                sandbox = true;
            } else if (strcmp(optarg, "none") == 0) {
                sandbox = false;
            } else {
                tv_err("--sandbox: '%s' is not seccomp or none", optarg);
                return 2;
            }
            break;
        case OPT_USER:
            if (!parse_user(optarg, &priv.uid, &priv.user_gid)) {
                tv_err("--user: no user '%s'", optarg);
                return 2;
            }
            priv.user_set = true;
            break;
        case OPT_GROUP:
            if (!parse_group(optarg, &priv.gid)) {
                tv_err("--group: no group '%s'", optarg);
                return 2;
            }
            priv.group_set = true;
            break;
        case OPT_HEARTBEAT: {
            uint64_t v;
            if (!parse_u64(optarg, &v, false) || v > 255) {
                tv_err("--heartbeat %s: expected 0..255 seconds", optarg);
                return 2;
            }
            cfg.heartbeat_period_s = (uint8_t)v;
            break;
        }
        case OPT_HELP:
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "Try '%s --help'.\n", PROG);
            return 2;
        }
    }
    if (optind != argc) {
        tv_err("unexpected argument '%s' (try --help)", argv[optind]);
        return 2;
    }
    if (cfg.tdisp.n_tdis == 0) {
        cfg.tdisp.tdis[0].valid = true;
        cfg.tdisp.tdis[0].interface_info = TDISP_INFO_DMA_WITHOUT_PASID;
        cfg.tdisp.n_tdis = 1;
    }
    if (cfg.n_meas == 0) {
        meas[0] = (struct spdm_meas_config){1, SPDM_MEAS_TYPE_FW_VERSION, false,
                                            (const uint8_t *)version_string,
                                            sizeof(version_string) - 1};
        cfg.n_meas = 1;
    }
    if (bdf == NULL) {
        bdf_id = cfg.tdisp.tdis[0].function_id & 0xffff;
    }
    cfg.bus = (uint8_t)(bdf_id >> 8);
    cfg.devfn = (uint8_t)bdf_id;
    cfg.tdisp.lock_flags_supported =
        TDISP_LOCK_NO_FW_UPDATE | TDISP_LOCK_SYSTEM_CACHE_LINE_128 |
        TDISP_LOCK_LOCK_MSIX | TDISP_LOCK_BIND_P2P |
        TDISP_LOCK_ALL_REQUEST_REDIRECT;
    cfg.tdisp.dev_addr_width = 52;
    cfg.meas = meas;

    if (crypto_init() != 0) {
        tv_err("OpenSSL initialisation failed");
        return 1;
    }
    lfd = listen_tcp((unsigned)port);
    if (lfd < 0) {
        goto out;
    }
    if (admin_path != NULL && (afd = listen_unix(admin_path)) < 0) {
        goto out;
    }
    if (drop_privileges(admin_path) != 0 ||
        setup_identity(pki_dir, name) != 0) {
        goto out;
    }
    cfg.key = id.key;
    cfg.chain = id.chain;
    cfg.chain_len = id.chain_len;
    if (dsm_init(&dev, &cfg, err, sizeof(err)) != 0) {
        tv_err("%s", err);
        goto out;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGPIPE);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
        tv_err("signalfd: %s", strerror(errno));
        goto out;
    }
    /*
     * Everything the serve loop needs is open: the listening sockets, the
     * signalfd, the key, the measurements. Give back the heap set-up left
     * behind (files read, certificates decoded), then keep only the calls
     * the loop makes.
     */
    malloc_trim(0);
    if (sandbox) {
        if (sandbox_apply(SANDBOX_SERVE_DSM, err, sizeof(err)) != 0) {
            tv_err("--sandbox=seccomp: %s", err);
            goto out;
        }
        tv_info("syscall filter on");
    } else {
        tv_warn("--sandbox=none: serving without a syscall filter");
    }
    tv_info("listening on 127.0.0.1:%lu, %zu TDI(s), %zu measurement(s)", port,
            cfg.tdisp.n_tdis, cfg.n_meas);
    while (!stop) {
        int n_fds = 0, i_conn = -1, i_admin = -1, i_listen = -1;

        pfd[n_fds++] = (struct pollfd){sfd, POLLIN, 0};
        if (cfd >= 0) {
            i_conn = n_fds;
            pfd[n_fds++] = (struct pollfd){cfd, POLLIN, 0};
        } else {
            i_listen = n_fds;
            pfd[n_fds++] = (struct pollfd){lfd, POLLIN, 0};
        }
        if (afd >= 0) {
            i_admin = n_fds;
            pfd[n_fds++] = (struct pollfd){afd, POLLIN, 0};
        }
        if (poll(pfd, (nfds_t)n_fds, poll_timeout(now)) < 0) {
            if (errno == EINTR) {
                continue;
            }
            tv_err("poll: %s", strerror(errno));
            goto out;
        }
        /* sessions quiet past twice the heartbeat end before anything */
        now = tv_mono_ms();
        ended = dsm_tick(&dev, now);
        if (ended > 0) {
            tv_info("%zu session(s) ended: no request for %us", ended,
                    2u * cfg.heartbeat_period_s);
        }
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
                si.ssi_signo != SIGPIPE) {
                stop = true;
            }
            continue;
        }
        if (i_listen >= 0 && (pfd[i_listen].revents & POLLIN)) {
            struct timeval tv = {IO_TIMEOUT_S, 0};
            int one = 1;
            cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (cfd >= 0) {
                rx_have = 0;
                (void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one,
                                 sizeof(one));
                (void)setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                (void)setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                tv_info("connection accepted");
            }
        }
        if (i_conn >= 0 && (pfd[i_conn].revents & (POLLIN | POLLHUP))) {
            if (serve_one(cfd) == 0) {
                close(cfd);
                cfd = -1;
                dsm_reset(&dev);
                tv_info("connection closed; waiting for the next");
            }
        }
        /* after the connection: an admin command sent once the peer has
         * gone sees the reset */
        if (i_admin >= 0 && (pfd[i_admin].revents & POLLIN)) {
            serve_admin(afd);
        }
    }
    tv_info("exiting");
    rc = 0;
out:
    if (cfd >= 0) {
        close(cfd);
    }
    if (lfd >= 0) {
        close(lfd);
    }
    if (afd >= 0) {
        close(afd);
        unlink(admin_path);
    }
    if (sfd >= 0) {
        close(sfd);
    }
    dsm_wipe(&dev);
    devid_close(&id);
    return rc;
}
