/* SPDX-License-Identifier: MIT */
/*
 * tsm-guest: a TVM's side of the CoVE-IO ABI on a trustvio-tsm TVM
 * endpoint: the accept flow that decides whether an assigned interface
 * enters the TVM's trust boundary, and the single calls behind it.
 *
 *   tsm-guest [--tsm=PATH] accept IF --root=CA --policy=FILE
 *             --expect-mmio=RANGES [--map-gpa=GPAS] [--timeout=S]
 *   tsm-guest [--tsm=PATH] state|report|measurements|start|stop IF
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
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "tsm/tsm_names.h"
#include "tsmguest/tsmguest.h"

#define PROG       "tsm-guest"
#define POLICY_MAX 8192

static const char usage[] =
    "Usage: " PROG " [--tsm=PATH] [options] COMMAND IF\n"
    "\n"
    "A TVM's calls on a trustvio-tsm TVM endpoint (COVG). IF is an\n"
    "interface: DEV/FUNC with FUNC a TDISP function id, hex or BB:DD.F, or\n"
    "the 64-bit device_if.\n"
    "\n"
    "Commands:\n"
    "  accept IF      the accept flow; refuses at the first mismatch, with\n"
    "                 one line naming it:\n"
    "                 get_device_link has SECURED_SPDM; the "
    "DEVICE_CERTIFICATE\n"
    "                 chain verifies under --root and is the FULL\n"
    "                 transcript's; measurements fetched with a fresh random\n"
    "                 nonce (echo checked) equal --policy block by block;\n"
    "                 the report's MMIO ranges are --expect-mmio; the state\n"
    "                 is Locked; each range is mapped (map_interface_mmio,\n"
    "                 the host must have added it as a region);\n"
    "                 start_interface; get_interface_state until Running (the\n"
    "                 host must relay with tee_io_action) within --timeout\n"
    "  link IF        get_device_link: SECURED_SPDM, PCIE_IDE\n"
    "  state IF       get_interface_state\n"
    "  report IF      get_interface_report, decoded\n"
    "  measurements IF  get_device_measurements with a fresh nonce\n"
    "  start IF       start_interface alone, no checks (the host's\n"
    "                 tee_io_action relays it)\n"
    "  stop IF        stop_interface (the host's tee_io_action relays it)\n"
    "\n"
    "Options:\n"
    "  --tsm=PATH          the TVM endpoint: a UNIX socket or a character\n"
    "                      device such as /dev/virtio-ports/NAME (default\n"
    "                      $TRUSTVIO_TSM_TVM_SOCKET)\n"
    "  --root=FILE         accept: the device root CA to pin (PEM or DER)\n"
    "  --policy=FILE       accept: index=hexdigest lines, one per\n"
    "                      measurement block ('#' comments); every block the\n"
    "                      device reports must be named and equal\n"
    "  --expect-mmio=RANGES  accept: ADDR+SIZE[,ADDR+SIZE...], the report's\n"
    "                      MMIO ranges in order (SIZE may end in k or m)\n"
    "  --map-gpa=GPA[,GPA...]  accept: where to map each range (default: at\n"
    "                      its own address)\n"
    "  --timeout=S         accept: seconds to wait for Running (default 10)\n"
    "  --json              one JSON object on stdout\n"
    "  --help              this text\n"
    "\n"
    "Exit status: 0 on success (accept: the interface runs), 1 when a check\n"
    "failed or the TSM refused (the reason on stderr), 2 for bad usage.\n";

enum {
    OPT_TSM = 1,
    OPT_ROOT,
    OPT_POLICY,
    OPT_EXPECT_MMIO,
    OPT_MAP_GPA,
    OPT_TIMEOUT,
    OPT_JSON,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"tsm", required_argument, NULL, OPT_TSM},
    {"root", required_argument, NULL, OPT_ROOT},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"expect-mmio", required_argument, NULL, OPT_EXPECT_MMIO},
    {"map-gpa", required_argument, NULL, OPT_MAP_GPA},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static struct tsmc tc;
static struct tsmg g;
static struct tsmg_policy policy;
static struct tsmg_meas meas;
static struct tdisp_report rep;
static uint8_t root[CRYPTO_X509_DER_MAX];
static size_t root_len;
static bool json, have_policy;
static struct tsmg_range mmio[TDISP_MAX_RANGES];
static size_t n_mmio;
static bool have_mmio;
static uint64_t gpa[TDISP_MAX_RANGES];
static size_t n_gpa;

/* One failure line (stderr; and a JSON object on stdout with --json). */
static int fail(const char *cmd, const char *step, const char *reason)
{
    if (json) {
        printf("{\"command\":\"%s\",\"ok\":false", cmd);
        if (step != NULL) {
            printf(",\"step\":\"%s\"", step);
        }
        printf(",\"reason\":");
        cli_json_str(stdout, reason);
        printf("}\n");
    }
    fprintf(stderr, PROG ": %s refused: %s\n", cmd, reason);
    return 1;
}

static void print_blocks(const struct tsmg_meas *m)
{
    char hex[2 * SPDM_MEAS_VALUE_MAX + 1];
    size_t i;

    for (i = 0; i < m->n; i++) {
        hex_encode(m->b[i].value, m->b[i].len, hex);
        if (json) {
            printf("%s{\"index\":%u,\"type\":%u,\"value\":\"%s\"}",
                   i ? "," : "", m->b[i].index, m->b[i].type, hex);
        } else {
            printf("measurement %u: type 0x%02x %s\n", m->b[i].index,
                   m->b[i].type, hex);
        }
    }
}

static double elapsed_ms(const struct timespec *s)
{
    struct timespec e;

    clock_gettime(CLOCK_MONOTONIC, &e);
    return (double)(e.tv_sec - s->tv_sec) * 1e3 +
           (double)(e.tv_nsec - s->tv_nsec) / 1e6;
}

static int do_accept(const char *ifs, uint64_t ifid, double timeout_s)
{
    struct tsmg_accept_cfg cfg;
    struct tsmg_accept_result res;
    struct timespec s;
    double ms;

    memset(&cfg, 0, sizeof(cfg));
    cfg.root = root;
    cfg.root_len = root_len;
    cfg.policy = &policy;
    cfg.mmio = mmio;
    cfg.n_mmio = n_mmio;
    cfg.gpa = n_gpa != 0 ? gpa : NULL;
    cfg.n_gpa = n_gpa;
    cfg.timeout_ms = (unsigned)(timeout_s * 1000.0);
    cfg.poll_ms = 2;
    clock_gettime(CLOCK_MONOTONIC, &s);
    if (tsmg_accept(&g, ifid, &cfg, &res) != 0) {
        return fail("accept", res.step, tsmg_error(&g));
    }
    ms = elapsed_ms(&s);
    if (json) {
        printf("{\"command\":\"accept\",\"ok\":true,\"interface\":\"%s\","
               "\"state\":\"Running\",\"certificates\":%zu,\"chain_bytes\":"
               "%zu,\"transcript_bytes\":%zu,\"measurement_blocks\":%zu,"
               "\"generation\":%u,\"mmio_ranges\":%zu,\"state_polls\":%u,"
               "\"ms\":%.3f}\n",
               ifs, res.n_certs, res.chain_len, res.transcript_len,
               res.n_blocks, (unsigned)res.generation, res.n_ranges, res.polls,
               ms);
    } else {
        printf("accept %s: Running: chain of %zu certificate(s) verified "
               "under the pinned root, %zu measurement block(s) match the "
               "policy (generation %u), %zu MMIO range(s) as expected and "
               "mapped, %u state poll(s), %.3f ms\n",
               ifs, res.n_certs, res.n_blocks, (unsigned)res.generation,
               res.n_ranges, res.polls, ms);
    }
    return 0;
}

static int do_command(const char *cmd, const char *ifs, uint64_t ifid,
                      double timeout_s)
{
    long v;
    size_t i;

    if (strcmp(cmd, "accept") == 0) {
        return do_accept(ifs, ifid, timeout_s);
    }
    if (strcmp(cmd, "link") == 0) {
        if (tsmg_link(&g, ifid, &v) != 0) {
            return fail(cmd, NULL, tsmg_error(&g));
        }
        if (json) {
            printf("{\"command\":\"link\",\"ok\":true,\"link\":%ld,"
                   "\"secured_spdm\":%s,\"pcie_ide\":%s}\n",
                   v, (v & TSM_LINK_SECURED_SPDM) ? "true" : "false",
                   (v & TSM_LINK_PCIE_IDE) ? "true" : "false");
        } else {
            printf("link %s: 0x%lx%s%s%s\n", ifs, (unsigned long)v,
                   (v & TSM_LINK_SECURED_SPDM) ? " SECURED_SPDM" : "",
                   (v & TSM_LINK_PCIE_IDE) ? " PCIE_IDE" : "",
                   (v & (TSM_LINK_SECURED_SPDM | TSM_LINK_PCIE_IDE)) == 0
                       ? " (none)"
                       : "");
        }
        return 0;
    }
    if (strcmp(cmd, "state") == 0) {
        if (tsmg_state(&g, ifid, &v) != 0) {
            return fail(cmd, NULL, tsmg_error(&g));
        }
        if (json) {
            printf("{\"command\":\"state\",\"ok\":true,\"state\":\"%s\"}\n",
                   tsm_if_state_name(v));
        } else {
            printf("state %s: %s\n", ifs, tsm_if_state_name(v));
        }
        return 0;
    }
    if (strcmp(cmd, "start") == 0) {
        if (tsmg_start(&g, ifid) != 0) {
            return fail(cmd, NULL, tsmg_error(&g));
        }
        if (json) {
            printf("{\"command\":\"start\",\"ok\":true}\n");
        } else {
            printf("start %s: queued (the host's tee_io_action relays it)\n",
                   ifs);
        }
        return 0;
    }
    if (strcmp(cmd, "stop") == 0) {
        if (tsmg_stop(&g, ifid) != 0) {
            return fail(cmd, NULL, tsmg_error(&g));
        }
        if (json) {
            printf("{\"command\":\"stop\",\"ok\":true}\n");
        } else {
            printf("stop %s: queued (the host's tee_io_action relays it)\n",
                   ifs);
        }
        return 0;
    }
    if (strcmp(cmd, "measurements") == 0) {
        uint8_t nonce[TDISP_NONCE_SIZE];

        if (crypto_random(nonce, sizeof(nonce)) != 0) {
            return fail(cmd, NULL, "no random nonce");
        }
        if (tsmg_measurements(&g, ifid, nonce, &meas) != 0) {
            return fail(cmd, NULL, tsmg_error(&g));
        }
        if (json) {
            printf("{\"command\":\"measurements\",\"ok\":true,\"generation\":"
                   "%u,\"nonce_echoed\":true,\"blocks\":[",
                   (unsigned)meas.generation);
            print_blocks(&meas);
            printf("]}\n");
        } else {
            printf("measurements %s: generation %u, nonce echoed\n", ifs,
                   (unsigned)meas.generation);
            print_blocks(&meas);
        }
        return 0;
    }
    if (strcmp(cmd, "report") == 0) {
        if (tsmg_report(&g, ifid, &rep) != 0) {
            return fail(cmd, NULL, tsmg_error(&g));
        }
        if (json) {
            printf("{\"command\":\"report\",\"ok\":true,\"interface_info\":%u,"
                   "\"mmio_ranges\":[",
                   rep.interface_info);
            for (i = 0; i < rep.n_ranges; i++) {
                printf("%s{\"first_page\":\"0x%llx\",\"pages\":%u,"
                       "\"attributes\":%u,\"range_id\":%u}",
                       i ? "," : "", (unsigned long long)rep.ranges[i].addr,
                       (unsigned)rep.ranges[i].n_pages, rep.ranges[i].attrs,
                       rep.ranges[i].range_id);
            }
            printf("],\"device_specific_bytes\":%zu}\n", rep.devspec_len);
        } else {
            printf("report %s: interface_info 0x%04x, %zu MMIO range(s)\n", ifs,
                   rep.interface_info, rep.n_ranges);
            for (i = 0; i < rep.n_ranges; i++) {
                printf("  range %u: 0x%llx, %u page(s), attributes 0x%04x\n",
                       rep.ranges[i].range_id,
                       (unsigned long long)rep.ranges[i].addr,
                       (unsigned)rep.ranges[i].n_pages, rep.ranges[i].attrs);
            }
        }
        return 0;
    }
    fprintf(stderr, PROG ": unknown command '%s' (try --help)\n", cmd);
    return 2;
}

int main(int argc, char **argv)
{
    const char *tsm_path = getenv("TRUSTVIO_TSM_TVM_SOCKET");
    double timeout_s = 10.0;
    uint64_t ifid;
    int opt, rc;

    tv_log_prefix = PROG;
    if (tsm_path != NULL && tsm_path[0] == '\0') {
        tsm_path = NULL;
    }
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_TSM:
            tsm_path = optarg;
            break;
        case OPT_ROOT:
            if (cli_load_root(PROG, optarg, root, sizeof(root), &root_len) !=
                0) {
                return 2;
            }
            break;
        case OPT_POLICY: {
            static char text[POLICY_MAX];
            char err[256];
            long n = cli_read_file(PROG, optarg, (uint8_t *)text, sizeof(text));
            if (n < 0) {
                return 2;
            }
            if (tsmg_policy_parse(text, (size_t)n, &policy, err, sizeof(err)) !=
                0) {
                fprintf(stderr, PROG ": --policy %s: %s\n", optarg, err);
                return 2;
            }
            have_policy = true;
            break;
        }
        case OPT_EXPECT_MMIO:
            if (tsmg_ranges_parse(optarg, mmio, TDISP_MAX_RANGES, &n_mmio) !=
                0) {
                fprintf(stderr,
                        PROG ": --expect-mmio %s: ADDR+SIZE[,ADDR+SIZE...], "
                             "at most %d\n",
                        optarg, TDISP_MAX_RANGES);
                return 2;
            }
            have_mmio = true;
            break;
        case OPT_MAP_GPA: {
            char *save = NULL, *w;
            n_gpa = 0;
            for (w = strtok_r(optarg, ",", &save); w != NULL;
                 w = strtok_r(NULL, ",", &save)) {
                if (n_gpa == TDISP_MAX_RANGES ||
                    !cli_parse_num(w, &gpa[n_gpa])) {
                    fprintf(stderr, PROG ": --map-gpa: GPA[,GPA...]\n");
                    return 2;
                }
                n_gpa++;
            }
            break;
        }
        case OPT_TIMEOUT: {
            char *end;
            errno = 0;
            timeout_s = strtod(optarg, &end);
            if (errno != 0 || *end != '\0' || !(timeout_s > 0) ||
                timeout_s > 3600) {
                fprintf(stderr, PROG ": --timeout %s: seconds, 0..3600\n",
                        optarg);
                return 2;
            }
            break;
        }
        case OPT_JSON:
            json = true;
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "Try '" PROG " --help'.\n");
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, PROG ": expected COMMAND IF (try --help)\n");
        return 2;
    }
    if (!cli_parse_if(argv[optind + 1], &ifid)) {
        fprintf(stderr, PROG ": %s: an interface is DEV/FUNC or a number\n",
                argv[optind + 1]);
        return 2;
    }
    {
        static const char *const cmds[] = {"accept", "state",        "report",
                                           "link",   "measurements", "start",
                                           "stop"};
        size_t k;
        for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
            if (strcmp(argv[optind], cmds[k]) == 0) {
                break;
            }
        }
        if (k == sizeof(cmds) / sizeof(cmds[0])) {
            fprintf(stderr, PROG ": unknown command '%s' (try --help)\n",
                    argv[optind]);
            return 2;
        }
    }
    if (strcmp(argv[optind], "accept") == 0) {
        if (root_len == 0 || !have_policy || !have_mmio) {
            fprintf(stderr,
                    PROG ": accept needs --root, --policy and --expect-mmio\n");
            return 2;
        }
        if (n_gpa != 0 && n_gpa != n_mmio) {
            fprintf(stderr,
                    PROG ": --map-gpa needs one address per --expect-mmio "
                         "range\n");
            return 2;
        }
    }
    if (tsm_path == NULL) {
        fprintf(stderr,
                PROG ": no TSM endpoint (--tsm or TRUSTVIO_TSM_TVM_SOCKET)\n");
        return 2;
    }
    if (crypto_init() != 0) {
        fprintf(stderr, PROG ": OpenSSL initialisation failed\n");
        return 1;
    }
    if (tsmc_open_path(&tc, tsm_path) != 0) {
        fprintf(stderr, PROG ": %s\n", tsmc_error(&tc));
        return 1;
    }
    tsmg_init(&g, &tc);
    rc = do_command(argv[optind], argv[optind + 1], ifid, timeout_s);
    tsmc_close(&tc);
    return rc;
}
