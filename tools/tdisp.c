/* SPDX-License-Identifier: MIT */
/*
 * tdisp: drive a TEE-IO device's SPDM, TDISP and IDE_KM responders.
 *
 *   tdisp [transport] [options] STEP...
 *   tdisp admin --admin-socket=PATH COMMAND...
 *
 * The steps run in order over one connection (a TDISP lock belongs to the
 * SPDM session that made it, so lock, report and start must share one);
 * a step that needs an earlier one runs it first.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "common/bytes.h"
#include "common/hex.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "tdispc/tdispc.h"

#define PROG "tdisp"

static const char usage[] =
    "Usage: " PROG " [--port=N | --doe=BDF] --root=FILE [options] STEP...\n"
    "       " PROG " admin --admin-socket=PATH COMMAND [ARGS...]\n"
    "\n"
    "Steps (run in order over one connection; each runs what it needs\n"
    "first):\n"
    "  authenticate   VCA, GET_DIGESTS, GET_CERTIFICATE (chain verified\n"
    "                 against --root), CHALLENGE\n"
    "  measurements   GET_MEASUREMENTS, all blocks, signed\n"
    "  session        KEY_EXCHANGE, FINISH\n"
    "  heartbeat      HEARTBEAT in the session\n"
    "  key-update     KEY_UPDATE of the request key, then VerifyNewKey\n"
    "  version        GET_TDISP_VERSION and GET_TDISP_CAPABILITIES\n"
    "  lock           LOCK_INTERFACE (keeps the nonce for start)\n"
    "  report         GET_DEVICE_INTERFACE_REPORT, all portions\n"
    "  start          START_INTERFACE with the lock's nonce (or --nonce)\n"
    "  stop           STOP_INTERFACE\n"
    "  state          GET_DEVICE_INTERFACE_STATE\n"
    "  wait           read a line from standard input before going on (for\n"
    "                 scripts that change the device between steps)\n"
    "\n"
    "Transport (one of):\n"
    "  --port=N        the SPDM socket protocol on 127.0.0.1:N (default "
    "2323)\n"
    "  --doe=BDF       the DOE mailbox of PCI function BDF (0000:00:04.0)\n"
    "                  through /sys/bus/pci/devices/BDF/config (root)\n"
    "\n"
    "Options:\n"
    "  --root=FILE     the device CA to pin, PEM or DER (required for\n"
    "                  authenticate and everything after it)\n"
    "  --function=ID   TDI function id, hex or BB:DD.F (default 0)\n"
    "  --lock-flags=N  LOCK_INTERFACE flags (default 0)\n"
    "  --mmio-offset=N LOCK_INTERFACE MMIO reporting offset (default 0)\n"
    "  --nonce=HEX     START_INTERFACE nonce instead of the lock's (64 hex)\n"
    "  --no-session    send TDISP requests outside the secure session (the\n"
    "                  device must refuse them)\n"
    "  --chain-out=PFX write the device's certificates to PFX0.pem, PFX1.pem\n"
    "                  ... (root first)\n"
    "  --json          one JSON object per step on stdout\n"
    "  --help          this text\n"
    "\n"
    "Admin commands (trustvio-dsm --admin-socket): list; state FUNC;\n"
    "config-write FUNC; firmware-update FUNC; move-range FUNC INDEX ADDR;\n"
    "ide (IDE key-slot states: '-' empty, 'P' programmed, 'A' active).\n"
    "\n"
    "Exit status: 0 when every step succeeded, 1 when a step failed or the\n"
    "device refused it (the reason on stderr), 2 for bad usage.\n";

enum {
    OPT_PORT = 1,
    OPT_DOE,
    OPT_ROOT,
    OPT_FUNCTION,
    OPT_LOCK_FLAGS,
    OPT_MMIO_OFFSET,
    OPT_NONCE,
    OPT_NO_SESSION,
    OPT_CHAIN_OUT,
    OPT_JSON,
    OPT_ADMIN_SOCKET,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"doe", required_argument, NULL, OPT_DOE},
    {"root", required_argument, NULL, OPT_ROOT},
    {"function", required_argument, NULL, OPT_FUNCTION},
    {"lock-flags", required_argument, NULL, OPT_LOCK_FLAGS},
    {"mmio-offset", required_argument, NULL, OPT_MMIO_OFFSET},
    {"nonce", required_argument, NULL, OPT_NONCE},
    {"no-session", no_argument, NULL, OPT_NO_SESSION},
    {"chain-out", required_argument, NULL, OPT_CHAIN_OUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"admin-socket", required_argument, NULL, OPT_ADMIN_SOCKET},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static struct tdispc c;
static uint8_t root[CRYPTO_X509_DER_MAX];
static size_t root_len;
static bool json, no_session, have_nonce;
static uint8_t nonce[TDISP_NONCE_SIZE];
static uint32_t fid;
static struct tdisp_lock_params lockp;
static const char *chain_out;

static bool parse_func(const char *s, uint32_t *out)
{
    return cli_parse_func(s, 0x01ffffff, out);
}

static int die(const char *step)
{
    fprintf(stderr, PROG ": %s: %s\n", step, tdispc_error(&c));
    return 1;
}

static int tdisp_refused(const char *step, const struct tdisp_rsp *r)
{
    if (json) {
        printf("{\"step\":\"%s\",\"ok\":false,\"tdisp_error\":\"%s\","
               "\"error_code\":%u}\n",
               step, tdisp_error_name(r->error_code), (unsigned)r->error_code);
    }
    fprintf(stderr, PROG ": %s: the device answered TDISP_ERROR %s (0x%04x)\n",
            step, tdisp_error_name(r->error_code), (unsigned)r->error_code);
    return 1;
}

static int write_chain(void)
{
    const uint8_t *der;
    size_t len, off = 0, i = 0;
    char path[4096];

    if (tdispc_chain(&c, &der, &len) != 0) {
        return -1;
    }
    while (off < len) {
        size_t hl = 2, body;
        if (len - off < 4 || der[off] != 0x30) {
            return -1;
        }
        if (der[off + 1] < 0x80) {
            body = der[off + 1];
        } else {
            size_t k = der[off + 1] & 0x7f, j;
            if (k == 0 || k > 3 || len - off < 2 + k) {
                return -1;
            }
            for (body = 0, j = 0; j < k; j++) {
                body = body << 8 | der[off + 2 + j];
            }
            hl = 2 + k;
        }
        if (body > len - off - hl) {
            return -1;
        }
        snprintf(path, sizeof(path), "%s%zu.pem", chain_out, i++);
        if (crypto_x509_write_pem(der + off, hl + body, path) != 0) {
            return -1;
        }
        off += hl + body;
    }
    return 0;
}

static int do_auth(void)
{
    if (c.authenticated) {
        return 0;
    }
    if (root_len == 0) {
        fprintf(stderr, PROG ": authenticate: --root FILE is required\n");
        return 1;
    }
    if (tdispc_authenticate(&c, root, root_len) != 0) {
        return die("authenticate");
    }
    if (chain_out != NULL && write_chain() != 0) {
        fprintf(stderr, PROG ": --chain-out %s: cannot write the chain\n",
                chain_out);
        return 1;
    }
    if (json) {
        const uint8_t *der;
        size_t len;
        (void)tdispc_chain(&c, &der, &len);
        printf("{\"step\":\"authenticate\",\"ok\":true,\"version\":\"1.2\","
               "\"chain_bytes\":%zu,\"chain_verified\":true,"
               "\"challenge\":\"signature verified\"}\n",
               len);
    } else {
        printf("authenticate: certificate chain verified, CHALLENGE_AUTH "
               "signature verified\n");
    }
    return 0;
}

static int do_session(void)
{
    int rc;

    if (c.session != SPDM_NO_SESSION) {
        return 0;
    }
    if ((rc = do_auth()) != 0) {
        return rc;
    }
    if (tdispc_session(&c) != 0) {
        return die("session");
    }
    if (json) {
        printf("{\"step\":\"session\",\"ok\":true,\"session_id\":\"0x%08x\"}\n",
               (unsigned)c.session);
    } else {
        printf("session: established, id 0x%08x\n", (unsigned)c.session);
    }
    return 0;
}

static int do_measurements(void)
{
    static struct spdm_meas_result res;
    char hex[2 * SPDM_MEAS_VALUE_MAX + 1];
    size_t i;
    int rc;

    if (root_len != 0 && (rc = do_auth()) != 0) {
        return rc;
    }
    if (tdispc_measurements(&c, &res) != 0) {
        return die("measurements");
    }
    if (json) {
        printf("{\"step\":\"measurements\",\"ok\":true,\"signed\":%s,"
               "\"meas_hash\":\"0x%08x\",\"blocks\":[",
               res.signed_ok ? "true" : "false", (unsigned)res.meas_hash);
    }
    for (i = 0; i < res.n_blocks; i++) {
        const struct spdm_meas_block *b = &res.blocks[i];
        hex_encode(b->value, b->value_len, hex);
        if (json) {
            printf("%s{\"index\":%u,\"type\":%u,\"raw\":%s,\"value\":\"%s\"}",
                   i ? "," : "", b->index, b->type & 0x7f,
                   (b->type & 0x80) ? "true" : "false", hex);
        } else {
            printf("measurement %u: type %u %s %s\n", b->index, b->type & 0x7f,
                   (b->type & 0x80) ? "raw" : "digest", hex);
        }
    }
    if (json) {
        printf("]}\n");
    } else if (res.signed_ok) {
        printf("measurements: signature over L1/L2 verified\n");
    }
    return 0;
}

static int tdisp_step(const char *step, uint8_t code, const void *arg,
                      struct tdisp_rsp *r, uint8_t *buf)
{
    int rc;

    if (!no_session && (rc = do_session()) != 0) {
        return rc;
    }
    if (tdispc_tdisp(&c, no_session, code, fid, arg, buf, r) != 0) {
        return die(step);
    }
    if (r->code == TDISP_ERROR) {
        return tdisp_refused(step, r);
    }
    return 0;
}

static int do_report(void)
{
    static uint8_t rep[TDISP_REPORT_MAX];
    struct tdisp_report r;
    size_t len = 0, i;
    int rc;

    if (!no_session && (rc = do_session()) != 0) {
        return rc;
    }
    if (no_session) {
        static uint8_t buf[1 + TDISP_MSG_MAX];
        struct tdisp_rsp tr;
        uint16_t ol[2] = {0, 1024};
        return tdisp_step("report", TDISP_GET_DEVICE_INTERFACE_REPORT, ol, &tr,
                          buf);
    }
    if (tdispc_report(&c, fid, rep, &len) != 0) {
        fprintf(stderr, PROG ": report: %s\n", tdispc_error(&c));
        if (json) {
            printf("{\"step\":\"report\",\"ok\":false}\n");
        }
        return 1;
    }
    if (tdisp_parse_report(rep, len, &r) != 0) {
        fprintf(stderr, PROG ": report: malformed interface report\n");
        return 1;
    }
    if (json) {
        printf("{\"step\":\"report\",\"ok\":true,\"interface_info\":%u,"
               "\"msix_control\":%u,\"lnr_control\":%u,\"tph_control\":%u,"
               "\"mmio_ranges\":[",
               r.interface_info, r.msix_ctl, r.lnr_ctl, (unsigned)r.tph_ctl);
        for (i = 0; i < r.n_ranges; i++) {
            printf("%s{\"first_page\":\"0x%llx\",\"pages\":%u,"
                   "\"attributes\":%u,\"range_id\":%u}",
                   i ? "," : "", (unsigned long long)r.ranges[i].addr,
                   (unsigned)r.ranges[i].n_pages, r.ranges[i].attrs,
                   r.ranges[i].range_id);
        }
        printf("],\"device_specific_bytes\":%zu}\n", r.devspec_len);
    } else {
        printf("report: interface_info 0x%04x, %zu MMIO range(s)\n",
               r.interface_info, r.n_ranges);
        for (i = 0; i < r.n_ranges; i++) {
            printf("  range %u: 0x%llx, %u page(s), attributes 0x%04x\n",
                   r.ranges[i].range_id, (unsigned long long)r.ranges[i].addr,
                   (unsigned)r.ranges[i].n_pages, r.ranges[i].attrs);
        }
    }
    return 0;
}

static int simple_ok(const char *step, const char *text)
{
    if (json) {
        printf("{\"step\":\"%s\",\"ok\":true}\n", step);
    } else {
        printf("%s: %s\n", step, text);
    }
    return 0;
}

static int run_step(const char *s)
{
    static uint8_t buf[1 + TDISP_MSG_MAX];
    struct tdisp_rsp r;
    int rc;

    if (strcmp(s, "authenticate") == 0) {
        return do_auth();
    }
    if (strcmp(s, "measurements") == 0) {
        return do_measurements();
    }
    if (strcmp(s, "session") == 0) {
        return do_session();
    }
    if (strcmp(s, "heartbeat") == 0 || strcmp(s, "key-update") == 0) {
        if ((rc = do_session()) != 0) {
            return rc;
        }
        if ((s[0] == 'h' ? tdispc_heartbeat(&c) : tdispc_key_update(&c)) != 0) {
            return die(s);
        }
        return simple_ok(s, "acknowledged");
    }
    if (strcmp(s, "version") == 0) {
        if ((rc = tdisp_step(s, TDISP_GET_VERSION, NULL, &r, buf)) != 0) {
            return rc;
        }
        if ((rc = tdisp_step(s, TDISP_GET_CAPABILITIES, NULL, &r, buf)) != 0) {
            return rc;
        }
        if (json) {
            printf("{\"step\":\"version\",\"ok\":true,\"tdisp_version\":"
                   "\"1.0\",\"lock_flags_supported\":%u}\n",
                   r.lock_flags_supported);
        } else {
            printf("version: TDISP 1.0, lock flags supported 0x%04x\n",
                   r.lock_flags_supported);
        }
        return 0;
    }
    if (strcmp(s, "lock") == 0) {
        if ((rc = tdisp_step(s, TDISP_LOCK_INTERFACE, &lockp, &r, buf)) != 0) {
            return rc;
        }
        if (!have_nonce) {
            memcpy(nonce, r.nonce, TDISP_NONCE_SIZE);
            have_nonce = true;
        }
        return simple_ok(s, "CONFIG_LOCKED");
    }
    if (strcmp(s, "report") == 0) {
        return do_report();
    }
    if (strcmp(s, "start") == 0) {
        if (!have_nonce) {
            fprintf(stderr, PROG ": start: no nonce (run lock first in the "
                                 "same invocation, or give --nonce)\n");
            return 1;
        }
        if ((rc = tdisp_step(s, TDISP_START_INTERFACE, nonce, &r, buf)) != 0) {
            return rc;
        }
        return simple_ok(s, "RUN");
    }
    if (strcmp(s, "stop") == 0) {
        if ((rc = tdisp_step(s, TDISP_STOP_INTERFACE, NULL, &r, buf)) != 0) {
            return rc;
        }
        return simple_ok(s, "CONFIG_UNLOCKED");
    }
    if (strcmp(s, "state") == 0) {
        if ((rc = tdisp_step(s, TDISP_GET_DEVICE_INTERFACE_STATE, NULL, &r,
                             buf)) != 0) {
            return rc;
        }
        if (json) {
            printf("{\"step\":\"state\",\"ok\":true,\"state\":\"%s\"}\n",
                   tdisp_state_name(r.state));
        } else {
            printf("state: %s\n", tdisp_state_name(r.state));
        }
        return 0;
    }
    if (strcmp(s, "wait") == 0) {
        char line[64];
        fflush(stdout);
        return fgets(line, sizeof(line), stdin) != NULL ? 0 : 1;
    }
    fprintf(stderr, PROG ": unknown step '%s' (try --help)\n", s);
    return 2;
}

static int admin_main(const char *path, int argc, char **argv)
{
    struct sockaddr_un a;
    char line[512], out[1024];
    size_t len = 0, off = 0;
    int fd, i;
    ssize_t n;

    if (path == NULL || argc == 0) {
        fprintf(stderr, PROG ": admin needs --admin-socket=PATH and a "
                             "command\n");
        return 2;
    }
    for (i = 0; i < argc; i++) {
        int w = snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "",
                         argv[i]);
        if (w < 0 || (size_t)w >= sizeof(line) - len - 1) {
            fprintf(stderr, PROG ": admin: command too long\n");
            return 2;
        }
        len += (size_t)w;
    }
    line[len++] = '\n';
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a.sun_path)) {
        fprintf(stderr, PROG ": %s: path too long\n", path);
        return 2;
    }
    strcpy(a.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return 1;
    }
    if (write(fd, line, len) != (ssize_t)len) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        close(fd);
        return 1;
    }
    while (off + 1 < sizeof(out) &&
           (n = read(fd, out + off, sizeof(out) - 1 - off)) > 0) {
        off += (size_t)n;
    }
    close(fd);
    out[off] = '\0';
    fputs(out, stdout);
    return strncmp(out, "error", 5) == 0 || off == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *doe_bdf = NULL, *admin_path = NULL;
    struct tdispc_transport t;
    unsigned port = 2323;
    char err[512];
    int opt, rc = 0, i;

    tv_log_prefix = PROG;
    while ((opt = getopt_long(argc, argv, "+", long_options, NULL)) != -1) {
        uint64_t v;

        switch (opt) {
        case OPT_PORT:
            if (!cli_parse_num(optarg, &v) || v == 0 || v > 65535) {
                fprintf(stderr, PROG ": --port %s: expected 1..65535\n",
                        optarg);
                return 2;
            }
            port = (unsigned)v;
            break;
        case OPT_DOE:
            doe_bdf = optarg;
            break;
        case OPT_ROOT:
            if (cli_load_root(PROG, optarg, root, sizeof(root), &root_len) !=
                0) {
                return 2;
            }
            break;
        case OPT_FUNCTION:
            if (!parse_func(optarg, &fid)) {
                fprintf(stderr, PROG ": --function %s: hex or BB:DD.F\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_LOCK_FLAGS:
            if (!cli_parse_num(optarg, &v) || v > 0xffff) {
                fprintf(stderr, PROG ": --lock-flags %s: 0..0xffff\n", optarg);
                return 2;
            }
            lockp.flags = (uint16_t)v;
            break;
        case OPT_MMIO_OFFSET:
            if (!cli_parse_num(optarg, &v)) {
                fprintf(stderr, PROG ": --mmio-offset %s: a number\n", optarg);
                return 2;
            }
            lockp.mmio_reporting_offset = v;
            break;
        case OPT_NONCE:
            if (strlen(optarg) != 2 * TDISP_NONCE_SIZE ||
                hex_decode(optarg, nonce, sizeof(nonce)) != TDISP_NONCE_SIZE) {
                fprintf(stderr, PROG ": --nonce: 64 hex digits\n");
                return 2;
            }
            have_nonce = true;
            break;
        case OPT_NO_SESSION:
            no_session = true;
            break;
        case OPT_CHAIN_OUT:
            chain_out = optarg;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_ADMIN_SOCKET:
            admin_path = optarg;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "Try '" PROG " --help'.\n");
            return 2;
        }
    }
    if (optind < argc && strcmp(argv[optind], "admin") == 0) {
        optind++;
        /* options may also follow "admin" */
        while ((opt = getopt_long(argc, argv, "+", long_options, NULL)) != -1) {
            if (opt != OPT_ADMIN_SOCKET) {
                fprintf(stderr, PROG ": admin takes --admin-socket only\n");
                return 2;
            }
            admin_path = optarg;
        }
        return admin_main(admin_path, argc - optind, argv + optind);
    }
    if (optind == argc) {
        fprintf(stderr, PROG ": no step given (try --help)\n");
        return 2;
    }
    if (crypto_init() != 0) {
        fprintf(stderr, PROG ": OpenSSL initialisation failed\n");
        return 1;
    }
    if ((doe_bdf != NULL ? tdispc_doe_open(&t, doe_bdf, err, sizeof(err))
                         : tdispc_sock_open(&t, port, err, sizeof(err))) != 0) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    if (tdispc_init(&c, &t) != 0) {
        fprintf(stderr, PROG ": %s\n", tdispc_error(&c));
        t.close(t.ctx);
        return 1;
    }
    for (i = optind; i < argc && rc == 0; i++) {
        rc = run_step(argv[i]);
    }
    tdispc_close(&c);
    return rc;
}
