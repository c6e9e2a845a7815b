/* SPDX-License-Identifier: MIT */
/*
 * tsm-host: the untrusted host's side of the CoVE-IO ABI. Makes COVH calls
 * on a trustvio-tsm host endpoint and relays the TSM's pending requests to
 * the device (a trustvio-dsm's SPDM socket, or a DOE mailbox).
 *
 *   tsm-host [options] COMMAND ARGS...
 *   tsm-host [options] run          (commands from standard input)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "common/hex.h"
#include "common/log.h"
#include "tsm/tsm_names.h"
#include "tsmhost/tsmhost.h"

#define PROG      "tsm-host"
#define MAX_ARGS  8
#define LINE_MAX_ 512

static const char usage[] =
    "Usage: " PROG " [--tsm=PATH] [--dsm-port=N | --doe=BDF] [options] "
    "COMMAND ARGS...\n"
    "       " PROG " [--tsm=PATH] [--dsm-port=N | --doe=BDF] [options] run\n"
    "\n"
    "The untrusted host (OS/VMM) of the CoVE-IO ABI: makes COVH calls on a\n"
    "trustvio-tsm host endpoint and carries every pending request to the\n"
    "device and its answer back, until the call completes.\n"
    "\n"
    "Commands (DEV a device id; TVM a TVM id; IF an interface: DEV/FUNC\n"
    "with FUNC a TDISP function id, hex or BB:DD.F, or the 64-bit\n"
    "device_if):\n"
    "  connect DEV [IDE...]         connect_device (SPDM session); with\n"
    "                               --ide-stream=ID also an IDE stream,\n"
    "                               its keys programmed in the session:\n"
    "                               --rid=BASE-LIMIT requester ids (BB:DD.F\n"
    "                               or numbers), --addr=ADDR+SIZE memory\n"
    "                               ranges (1 MiB aligned, SIZE with k, m\n"
    "                               or g; up to 4, the TSM takes fewer)\n"
    "  disconnect DEV               disconnect_device (END_SESSION)\n"
    "  bind TVM IF                  bind_interface (LOCK, report)\n"
    "  unbind TVM IF                unbind_interface (STOP)\n"
    "  add-region TVM IF HPA LEN    add_tvm_interface_region\n"
    "  reclaim-region TVM IF HPA    reclaim_tvm_interface_region\n"
    "  key-update DEV               spdm_key_update\n"
    "  ide-refresh DEV STREAM       ide_key_refresh (to the other key set)\n"
    "  heartbeat DEV                spdm_heartbeat\n"
    "  action DEV                   tee_io_action: relay the work TVMs\n"
    "                               queued (start, stop, state reads)\n"
    "  transcript DEV [ELEMENT]     get_device_connection_transcript;\n"
    "                               ELEMENT full (default), certificate,\n"
    "                               measurement, vca, session, tdisp-vc\n"
    "                               or a number\n"
    "  run                          read commands from standard input, one\n"
    "                               per line, over one TSM connection and\n"
    "                               one device connection; one result line\n"
    "                               each. Also: device-port N (relay to\n"
    "                               another SPDM socket from now on)\n"
    "\n"
    "Options:\n"
    "  --tsm=PATH       the TSM host endpoint: a UNIX socket or a character\n"
    "                   device (default $TRUSTVIO_TSM_HOST_SOCKET)\n"
    "  --dsm-port=N     relay to a trustvio-dsm's SPDM socket, 127.0.0.1:N\n"
    "  --doe=BDF        relay through the DOE mailbox of PCI function BDF\n"
    "                   (/sys/bus/pci/devices/BDF/config, root)\n"
    "  --out=FILE       transcript: write the bytes to FILE\n"
    "  --trace          one line per relay on stderr\n"
    "  --json           one JSON object per command on stdout\n"
    "  --tamper=N[:OFF] hostile: flip a byte of the Nth relayed answer\n"
    "                   (its payload's byte OFF; default the middle one)\n"
    "  --replay=N[@M]   hostile: send the Nth answer again in place of the\n"
    "                   (N+1)th, or of the Mth\n"
    "  --help           this text\n"
    "\n"
    "A trustvio-dsm resets a device's SPDM state when its socket connection\n"
    "ends: commands that belong to one SPDM session (connect ... disconnect)\n"
    "must run in one process, e.g. through `run`.\n"
    "\n"
    "Exit status: 0 when every command succeeded, 1 when the TSM refused one\n"
    "or could not be reached (the reason on stderr), 2 for bad usage.\n";

enum {
    OPT_TSM = 1,
    OPT_DSM_PORT,
    OPT_DOE,
    OPT_OUT,
    OPT_TRACE,
    OPT_JSON,
    OPT_TAMPER,
    OPT_REPLAY,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"tsm", required_argument, NULL, OPT_TSM},
    {"dsm-port", required_argument, NULL, OPT_DSM_PORT},
    {"doe", required_argument, NULL, OPT_DOE},
    {"out", required_argument, NULL, OPT_OUT},
    {"trace", no_argument, NULL, OPT_TRACE},
    {"json", no_argument, NULL, OPT_JSON},
    {"tamper", required_argument, NULL, OPT_TAMPER},
    {"replay", required_argument, NULL, OPT_REPLAY},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static struct tsmc tc;
static struct tsmh h;
static uint8_t tout[TSM_FRAME_OUT_MAX];
static bool json, in_run;
static const char *out_path;

static bool parse_u32(const char *s, uint64_t *v)
{
    return cli_parse_num(s, v) && *v <= UINT32_MAX;
}

/* A requester id: BB:DD.F or a number up to 0xffff. */
static bool parse_rid(const char *s, uint16_t *rid)
{
    uint32_t v;

    if (!cli_parse_func(s, UINT32_MAX, &v) || v > 0xffff) {
        return false;
    }
    *rid = (uint16_t)v;
    return true;
}

/* ADDR+SIZE, SIZE with an optional k, m or g. */
static bool parse_range(const char *s, uint64_t *base, uint64_t *size)
{
    const char *plus = strchr(s, '+');
    char num[32], *end;
    unsigned shift = 0;
    size_t n;

    if (plus == NULL || (size_t)(plus - s) >= sizeof(num)) {
        return false;
    }
    memcpy(num, s, (size_t)(plus - s));
    num[plus - s] = '\0';
    if (!cli_parse_num(num, base)) {
        return false;
    }
    n = strlen(plus + 1);
    if (n == 0 || n >= sizeof(num)) {
        return false;
    }
    memcpy(num, plus + 1, n + 1);
    switch (num[n - 1]) {
    case 'k':
        shift = 10;
        break;
    case 'm':
        shift = 20;
        break;
    case 'g':
        shift = 30;
        break;
    default:
        break;
    }
    if (shift != 0) {
        num[n - 1] = '\0';
    }
    errno = 0;
    if (num[0] == '\0' || num[0] == '-') {
        return false;
    }
    *size = strtoull(num, &end, 0);
    if (errno != 0 || *end != '\0' || (*size << shift) >> shift != *size) {
        return false;
    }
    *size <<= shift;
    return true;
}

/*
 * connect's IDE words: --ide-stream=ID [--rid=BASE-LIMIT] [--addr=R]...
 * Return: 0 (no IDE stream asked for: *@len 0), 1 (descriptor in @desc), or
 * -1 with @why set.
 */
static int parse_ide(int n, char **w, struct tsmh_ide_stream *st, uint8_t *desc,
                     size_t *len, const char **why)
{
    bool have = false;
    int i;

    memset(st, 0, sizeof(*st));
    *len = 0;
    for (i = 0; i < n; i++) {
        uint64_t v;

        if (strncmp(w[i], "--ide-stream=", 13) == 0) {
            if (have || !cli_parse_num(w[i] + 13, &v) || v > 255) {
                *why = "--ide-stream=ID: one Stream ID 0..255";
                return -1;
            }
            st->stream_id = (uint8_t)v;
            have = true;
        } else if (strncmp(w[i], "--rid=", 6) == 0) {
            char *dash = strchr(w[i] + 6, '-');
            if (st->rid_valid || dash == NULL) {
                *why = "--rid=BASE-LIMIT, once";
                return -1;
            }
            *dash = '\0';
            if (!parse_rid(w[i] + 6, &st->rid_base) ||
                !parse_rid(dash + 1, &st->rid_limit) ||
                st->rid_limit < st->rid_base) {
                *dash = '-';
                *why = "--rid=BASE-LIMIT: requester ids (BB:DD.F or 0..0xffff)"
                       ", BASE <= LIMIT";
                return -1;
            }
            *dash = '-';
            st->rid_valid = true;
        } else if (strncmp(w[i], "--addr=", 7) == 0) {
            if (st->n_addr == TSMH_IDE_MAX_ADDR ||
                !parse_range(w[i] + 7, &st->addr_base[st->n_addr],
                             &st->addr_size[st->n_addr])) {
                *why = "--addr=ADDR+SIZE (at most 4)";
                return -1;
            }
            st->n_addr++;
        } else {
            *why = "expected DEV [--ide-stream=ID [--rid=BASE-LIMIT] "
                   "[--addr=ADDR+SIZE]...]";
            return -1;
        }
    }
    if (!have) {
        if (n != 0) {
            *why = "--rid and --addr need --ide-stream=ID";
            return -1;
        }
        return 0;
    }
    *len = tsmh_ide_desc(st, desc, TSMH_IDE_DESC_MAX);
    if (*len == 0) {
        *why = "--addr: a range must be 1 MiB aligned and sized";
        return -1;
    }
    return 1;
}

static bool parse_element(const char *s, uint64_t *e)
{
    static const char *const names[TSM_ELEM_COUNT] = {
        "full", "certificate", "measurement", "vca", "session", "tdisp-vc"};
    uint64_t i;

    for (i = 0; i < TSM_ELEM_COUNT; i++) {
        if (strcmp(s, names[i]) == 0) {
            *e = i;
            return true;
        }
    }
    return cli_parse_num(s, e);
}

static void trace(void *ctx, unsigned long n, uint32_t fid, size_t req_len,
                  size_t rsp_len, const char *what)
{
    (void)ctx;
    fprintf(
        stderr, PROG ": relay %lu: %s (%u)%s, %zu bytes out, %zu back: %s\n", n,
        tsmh_fid_name(fid & TSM_RELAY_FID_MASK),
        (unsigned)(fid & TSM_RELAY_FID_MASK),
        (fid & TSM_RELAY_SECURED) ? " secured" : "", req_len, rsp_len, what);
}

/* One result line: stdout on success (and always in run mode). */
static void result(const char *cmd, int argc, char **argv, bool ok,
                   const char *error, long value, unsigned relays, double ms,
                   const char *extra, const char *reason)
{
    FILE *f = ok || in_run ? stdout : stderr;
    int i;

    if (json) {
        printf("{\"command\":");
        cli_json_str(stdout, cmd);
        printf(",\"args\":[");
        for (i = 0; i < argc; i++) {
            printf("%s", i ? "," : "");
            cli_json_str(stdout, argv[i]);
        }
        printf("],\"ok\":%s", ok ? "true" : "false");
        if (error != NULL) {
            printf(",\"error\":\"%s\",\"value\":%ld,\"relays\":%u,"
                   "\"ms\":%.3f",
                   error, value, relays, ms);
        }
        if (reason != NULL) {
            printf(",\"reason\":");
            cli_json_str(stdout, reason);
        }
        printf("%s}\n", extra != NULL ? extra : "");
        if (!ok && !in_run) {
            fprintf(stderr, PROG ": %s: %s\n", cmd,
                    reason != NULL ? reason : error);
        }
    } else {
        fprintf(f, "%s%s", ok ? "" : in_run ? "error: " : PROG ": ", cmd);
        for (i = 0; i < argc; i++) {
            fprintf(f, " %s", argv[i]);
        }
        if (error != NULL) {
            fprintf(f, ": %s value %ld, %u relay(s), %.3f ms", error, value,
                    relays, ms);
        }
        if (reason != NULL) {
            fprintf(f, ": %s", reason);
        }
        fprintf(f, "%s\n", extra != NULL ? extra : "");
    }
    fflush(stdout);
}

static int usage_error(const char *cmd, int argc, char **argv, const char *why)
{
    result(cmd, argc, argv, false, NULL, 0, 0, 0, NULL, why);
    return 2;
}

static const char *tsm_path;

/* Connect to the TSM at the first call that needs it (again after a
 * failure, so a restarted TSM is found). */
static bool tsm_open(void)
{
    if (tc.fd >= 0) {
        return true;
    }
    return tsm_path != NULL && tsmc_open_path(&tc, tsm_path) == 0;
}

/* Write @len bytes of tout to out_path; 0 or -1 with @why set. */
static int write_out(size_t len, char *why, size_t why_len)
{
    FILE *f = fopen(out_path, "wb");
    bool ok;

    if (f == NULL) {
        snprintf(why, why_len, "--out %s: %s", out_path, strerror(errno));
        return -1;
    }
    ok = fwrite(tout, 1, len, f) == len;
    if (fclose(f) != 0 || !ok) {
        snprintf(why, why_len, "--out %s: %s", out_path, strerror(errno));
        return -1;
    }
    return 0;
}

/* @rid as BB:DD.F in one of two static buffers (@which). */
static const char *rid_str(uint16_t rid, int which)
{
    static char buf[2][16];

    snprintf(buf[which], sizeof(buf[which]), "%02x:%02x.%x",
             (unsigned)(rid >> 8), (unsigned)(rid >> 3 & 0x1f),
             (unsigned)(rid & 7));
    return buf[which];
}

/* One command; 0, 1 (refused or failed) or 2 (bad usage). */
static int command(int argc, char **argv)
{
    const char *cmd = argv[0];
    char **args = argv + 1;
    int n = argc - 1;
    uint64_t a[6] = {0};
    uint64_t v;
    uint32_t fid;
    struct sbiret r;
    size_t out_len = 0;
    unsigned relays = 0;
    double ms;
    bool ok;
    char extra[TSM_FRAME_OUT_MAX * 2 + 64];
    struct tsmh_ide_stream ide;
    uint8_t desc[TSMH_IDE_DESC_MAX];
    size_t desc_len = 0;

    extra[0] = '\0';
    if (strcmp(cmd, "device-port") == 0) {
        if (n != 1 || !cli_parse_num(args[0], &v) || v == 0 || v > 65535) {
            return usage_error(cmd, n, args, "expected a port 1..65535");
        }
        tsmh_set_port(&h, (unsigned)v);
        result(cmd, n, args, true, NULL, 0, 0, 0, NULL, NULL);
        return 0;
    }
    if (strcmp(cmd, "connect") == 0 && n >= 1) {
        const char *why = NULL;

        if (!parse_u32(args[0], &a[0])) {
            return usage_error(cmd, n, args, "expected DEV");
        }
        if (parse_ide(n - 1, args + 1, &ide, desc, &desc_len, &why) < 0) {
            return usage_error(cmd, n, args, why);
        }
        /* TSM_DECISION_IDE_STREAM_DESC: the address register, the
         * descriptor in the input */
        a[1] = desc_len != 0 ? TSMH_IDE_DESC_ADDR : 0;
        fid = TSM_COVH_CONNECT_DEVICE;
    } else if (strcmp(cmd, "connect") == 0 || strcmp(cmd, "disconnect") == 0 ||
               strcmp(cmd, "key-update") == 0 ||
               strcmp(cmd, "heartbeat") == 0 || strcmp(cmd, "action") == 0) {
        if (n != 1 || !parse_u32(args[0], &a[0])) {
            return usage_error(cmd, n, args, "expected DEV");
        }
        fid = cmd[0] == 'c'   ? TSM_COVH_CONNECT_DEVICE
              : cmd[0] == 'd' ? TSM_COVH_DISCONNECT_DEVICE
              : cmd[0] == 'k' ? TSM_COVH_SPDM_KEY_UPDATE
              : cmd[0] == 'h' ? TSM_COVH_SPDM_HEARTBEAT
                              : TSM_COVH_TEE_IO_ACTION;
    } else if (strcmp(cmd, "ide-refresh") == 0) {
        if (n != 2 || !parse_u32(args[0], &a[0]) ||
            !cli_parse_num(args[1], &a[1]) || a[1] > 255) {
            return usage_error(cmd, n, args,
                               "expected DEV STREAM (a Stream ID 0..255)");
        }
        fid = TSM_COVH_IDE_KEY_REFRESH;
    } else if (strcmp(cmd, "bind") == 0 || strcmp(cmd, "unbind") == 0) {
        if (n != 2 || !cli_parse_num(args[0], &a[0]) ||
            !cli_parse_if(args[1], &a[1])) {
            return usage_error(cmd, n, args, "expected TVM IF");
        }
        fid =
            cmd[0] == 'b' ? TSM_COVH_BIND_INTERFACE : TSM_COVH_UNBIND_INTERFACE;
    } else if (strcmp(cmd, "add-region") == 0) {
        if (n != 4 || !cli_parse_num(args[0], &a[0]) ||
            !cli_parse_if(args[1], &a[1]) || !cli_parse_num(args[2], &a[2]) ||
            !cli_parse_num(args[3], &a[3])) {
            return usage_error(cmd, n, args, "expected TVM IF HPA LEN");
        }
        fid = TSM_COVH_ADD_INTERFACE_REGION;
    } else if (strcmp(cmd, "reclaim-region") == 0) {
        if (n != 3 || !cli_parse_num(args[0], &a[0]) ||
            !cli_parse_if(args[1], &a[1]) || !cli_parse_num(args[2], &a[2])) {
            return usage_error(cmd, n, args, "expected TVM IF HPA");
        }
        fid = TSM_COVH_RECLAIM_INTERFACE_REG;
    } else if (strcmp(cmd, "transcript") == 0) {
        if (n < 1 || n > 2 || !parse_u32(args[0], &a[0]) ||
            (n == 2 && !parse_element(args[1], &a[1]))) {
            return usage_error(cmd, n, args, "expected DEV [ELEMENT]");
        }
        a[4] = sizeof(tout);
        fid = TSM_COVH_GET_CONN_TRANSCRIPT;
    } else {
        return usage_error(cmd, n, args, "unknown command (try --help)");
    }
    if (!tsm_open()) {
        result(cmd, n, args, false, NULL, 0, 0, 0, NULL,
               tsm_path == NULL
                   ? "no TSM endpoint (--tsm or TRUSTVIO_TSM_HOST_SOCKET)"
                   : tsmc_error(&tc));
        return 1;
    }
    {
        struct timespec s, e;
        clock_gettime(CLOCK_MONOTONIC, &s);
        if (tsmh_call_in(&h, fid, a, desc_len != 0 ? desc : NULL, desc_len,
                         tout, sizeof(tout), &out_len, &r, &relays) != 0) {
            result(cmd, n, args, false, NULL, 0, 0, 0, NULL, tsmh_error(&h));
            /* a failed frame leaves the connection unusable: the next
             * command opens another (the TSM's state outlives it) */
            tsmc_close(&tc);
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &e);
        ms = (double)(e.tv_sec - s.tv_sec) * 1e3 +
             (double)(e.tv_nsec - s.tv_nsec) / 1e6;
    }
    ok = r.error == SBI_SUCCESS;
    if (ok && fid == TSM_COVH_GET_CONN_TRANSCRIPT) {
        char why[512];

        if (out_path != NULL && write_out(out_len, why, sizeof(why)) != 0) {
            result(cmd, n, args, false, NULL, 0, 0, 0, NULL, why);
            return 1;
        }
        if (json) {
            size_t k = (size_t)snprintf(extra, sizeof(extra), ",\"hex\":\"");
            hex_encode(tout, out_len, extra + k);
            strcat(extra, "\"");
        } else {
            snprintf(extra, sizeof(extra), " (%zu bytes)", out_len);
        }
    }
    if (desc_len != 0) {
        /* what was asked for, also when the TSM refused it */
        if (json) {
            size_t k = (size_t)snprintf(
                extra, sizeof(extra),
                ",\"ide\":{\"stream\":%u,\"rid\":%s%s%s%s%s,"
                "\"addr_blocks\":%zu,\"desc\":\"",
                (unsigned)ide.stream_id, ide.rid_valid ? "\"" : "null",
                ide.rid_valid ? rid_str(ide.rid_base, 0) : "",
                ide.rid_valid ? "-" : "",
                ide.rid_valid ? rid_str(ide.rid_limit, 1) : "",
                ide.rid_valid ? "\"" : "", ide.n_addr);
            hex_encode(desc, desc_len, extra + k);
            strcat(extra, "\"}");
        } else {
            snprintf(extra, sizeof(extra),
                     " (IDE stream %u, %s RID association, %zu address "
                     "block(s))",
                     (unsigned)ide.stream_id, ide.rid_valid ? "a" : "no",
                     ide.n_addr);
        }
    }
    if (ok && fid == TSM_COVH_TEE_IO_ACTION && !json) {
        snprintf(extra, sizeof(extra),
                 relays ? " (work relayed)" : " (nothing queued)");
    }
    /* a device that gave no answer is why a call failed */
    result(cmd, n, args, ok, tsm_sbi_name(r.error), r.value, relays, ms,
           extra[0] ? extra : NULL,
           !ok && tsmh_error(&h)[0] != '\0' ? tsmh_error(&h) : NULL);
    return ok ? 0 : 1;
}

/* Split @line into words in place; the count. */
static int split(char *line, char **argv, int cap)
{
    int n = 0;
    char *save = NULL, *w;

    for (w = strtok_r(line, " \t\r\n", &save); w != NULL && n < cap;
         w = strtok_r(NULL, " \t\r\n", &save)) {
        argv[n++] = w;
    }
    return w != NULL ? -1 : n;
}

static int run(void)
{
    char line[LINE_MAX_];
    char *argv[MAX_ARGS];
    int rc = 0, n, k;

    in_run = true;
    while (fgets(line, sizeof(line), stdin) != NULL) {
        if (strchr(line, '\n') == NULL && !feof(stdin)) {
            int ch;
            while ((ch = getchar()) != EOF && ch != '\n') {
            }
            printf(json ? "{\"command\":\"\",\"ok\":false,\"reason\":\"line "
                          "too long\"}\n"
                        : "error: line too long\n");
            fflush(stdout);
            rc = 1;
            continue;
        }
        n = split(line, argv, MAX_ARGS);
        if (n == 0 || (n > 0 && argv[0][0] == '#')) {
            continue;
        }
        if (n < 0) {
            printf(json ? "{\"command\":\"\",\"ok\":false,\"reason\":\"too "
                          "many words\"}\n"
                        : "error: too many words\n");
            fflush(stdout);
            rc = 1;
            continue;
        }
        k = command(n, argv);
        if (k != 0) {
            rc = 1;
        }
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct tsmh_device dev = {NULL, NULL, 0};
    struct tsmh_hostile hostile = {0, 0, 0, 0};
    bool do_trace = false;
    int opt, rc;

    tv_log_prefix = PROG;
    tc.fd = -1;
    tsm_path = getenv("TRUSTVIO_TSM_HOST_SOCKET");
    if (tsm_path != NULL && tsm_path[0] == '\0') {
        tsm_path = NULL;
    }
    while ((opt = getopt_long(argc, argv, "+", long_options, NULL)) != -1) {
        uint64_t v, w;
        char *at;

        switch (opt) {
        case OPT_TSM:
            tsm_path = optarg;
            break;
        case OPT_DSM_PORT:
            if (!cli_parse_num(optarg, &v) || v == 0 || v > 65535) {
                fprintf(stderr, PROG ": --dsm-port %s: expected 1..65535\n",
                        optarg);
                return 2;
            }
            dev.port = (unsigned)v;
            break;
        case OPT_DOE:
            dev.doe_bdf = optarg;
            break;
        case OPT_OUT:
            out_path = optarg;
            break;
        case OPT_TRACE:
            do_trace = true;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_TAMPER:
            at = strchr(optarg, ':');
            if (at != NULL) {
                *at = '\0';
            }
            if (!cli_parse_num(optarg, &v) || v == 0 ||
                (at != NULL && !cli_parse_num(at + 1, &w))) {
                fprintf(stderr,
                        PROG ": --tamper: N or N:OFFSET, a relay number "
                             "(1..) and a byte offset\n");
                return 2;
            }
            hostile.tamper = (unsigned long)v;
            hostile.tamper_off = at != NULL ? (size_t)w : TSMH_TAMPER_MIDDLE;
            break;
        case OPT_REPLAY:
            at = strchr(optarg, '@');
            if (at != NULL) {
                *at = '\0';
            }
            if (!cli_parse_num(optarg, &v) || v == 0 ||
                (at != NULL && (!cli_parse_num(at + 1, &w) || w <= v))) {
                fprintf(stderr, PROG ": --replay: N or N@M, relay numbers with "
                                     "N < M\n");
                return 2;
            }
            hostile.replay = (unsigned long)v;
            hostile.replay_at = at != NULL ? (unsigned long)w : 0;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "Try '" PROG " --help'.\n");
            return 2;
        }
    }
    if (optind == argc) {
        fprintf(stderr, PROG ": no command given (try --help)\n");
        return 2;
    }
    if (dev.port != 0 && dev.doe_bdf != NULL) {
        fprintf(stderr, PROG ": --dsm-port and --doe exclude each other\n");
        return 2;
    }
    tsmh_init(&h, &tc, &dev);
    h.hostile = hostile;
    if (do_trace) {
        h.trace = trace;
    }
    if (strcmp(argv[optind], "run") == 0) {
        if (optind + 1 != argc) {
            fprintf(stderr, PROG ": run takes no arguments\n");
            rc = 2;
        } else {
            rc = run();
        }
    } else {
        rc = command(argc - optind, argv + optind);
    }
    tsmh_close(&h);
    if (tc.fd >= 0) {
        tsmc_close(&tc);
    }
    return rc;
}
