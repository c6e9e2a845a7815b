/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-rpmb: a virtio RPMB device (ID 28) as a vhost-user back-end,
 * persisted in an SQLite store. Thin: options, model, transport.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/vhu_rpmb.h"
#include "rpmb/rpmb.h"
#include "store/store.h"

#define PROG "vhost-user-rpmb"

#define DEFAULT_CAPACITY_UNITS 8 /* 1 MiB */
#define DEFAULT_MAX_WR_CNT     1
#define DEFAULT_MAX_RD_CNT     32

static const char usage[] =
    "Usage: " PROG " (--socket-path=PATH | --fd=N) --store=FILE [options]\n"
    "\n"
    "Serves a virtio RPMB device (virtio device ID 28, one queue, 3-byte\n"
    "config space) to a vhost-user front-end, e.g. QEMU >= 10.2:\n"
    "  -chardev socket,id=rpmb,path=PATH\n"
    "  -device vhost-user-test-device-pci,chardev=rpmb,virtio-id=28,\\\n"
    "          config_size=3\n"
    "\n"
    "Device:\n"
    "  --store=FILE         SQLite file holding key, write counter and data\n"
    "                       (required; created when missing; refused when\n"
    "                       corrupt, in use or made for another capacity)\n"
    "  --capacity=SIZE      device size: 128K, 1M, 16M or plain bytes; a\n"
    "                       multiple of 128 KiB up to 16 MiB (default 1M)\n"
    "  --max-wr-cnt=N       most blocks per write request, 0..255, 0 = no\n"
    "                       limit (default 1)\n"
    "  --max-rd-cnt=N       most blocks per read request, 0..255, 0 = no\n"
    "                       limit (default 32)\n"
    "\n"
    "Raw image (offline, instead of serving; the store must not be in use):\n"
    "  --export-image=FILE  write the data of --store as a raw image of\n"
    "                       capacity bytes (256-byte blocks in address\n"
    "                       order, unwritten blocks as zeros) and exit; key\n"
    "                       and write counter are not exported\n"
    "  --import-image=FILE  load such a raw image into --store and exit;\n"
    "                       only before the key is programmed, and the\n"
    "                       write counter is never changed\n"
    "\n" DAEMON_HELP_COMMON "\n"
    "Key, write counter and data persist in the store by definition. On a\n"
    "disconnect or a guest device reset the volatile state (a result not\n"
    "yet read with RESULT_READ) is dropped, unless --keep-state is given\n"
    "(guest resets still drop it). Requests are limited to 256 frames.\n";

enum {
    OPT_STORE = 1,
    OPT_CAPACITY,
    OPT_MAX_WR,
    OPT_MAX_RD,
    OPT_EXPORT,
    OPT_IMPORT,
};

static const struct option long_options[] = {
    {"store", required_argument, NULL, OPT_STORE},
    {"capacity", required_argument, NULL, OPT_CAPACITY},
    {"max-wr-cnt", required_argument, NULL, OPT_MAX_WR},
    {"max-rd-cnt", required_argument, NULL, OPT_MAX_RD},
    {"export-image", required_argument, NULL, OPT_EXPORT},
    {"import-image", required_argument, NULL, OPT_IMPORT},
    DAEMON_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* "128K", "1M", "16M", "131072" -> 128 KiB units; one line on error. */
static bool parse_capacity(const char *s, uint8_t *units)
{
    char num[32];
    size_t n = strlen(s);
    unsigned long mult = 1;
    unsigned long v;

    if (n == 0 || n >= sizeof(num)) {
        goto err_bad;
    }
    memcpy(num, s, n + 1);
    switch (toupper((unsigned char)num[n - 1])) {
    case 'K':
        mult = 1024;
        num[--n] = '\0';
        break;
    case 'M':
        mult = 1024 * 1024;
        num[--n] = '\0';
        break;
    default:
        break;
    }
    if (!daemon_parse_uint(num, 16ul * 1024 * 1024, &v) ||
        v > 16ul * 1024 * 1024 / mult) {
        goto err_bad;
    }
    v *= mult;
    if (v == 0 || v % RPMB_UNIT_SIZE != 0 ||
        v / RPMB_UNIT_SIZE > RPMB_MAX_UNITS) {
        goto err_bad;
    }
    *units = (uint8_t)(v / RPMB_UNIT_SIZE);
    return true;

err_bad:
    tv_err("--capacity: '%s' is not a multiple of 128K between 128K and 16M",
           s);
    return false;
}

static bool parse_cnt(const char *s, const char *opt, uint8_t *out)
{
    unsigned long v;

    if (!daemon_parse_uint(s, 255, &v)) {
        tv_err("%s: '%s' is not 0..255", opt, s);
        return false;
    }
    *out = (uint8_t)v;
    return true;
}

/*
 * --export-image / --import-image: act on the store and exit. The store's
 * exclusive lock makes this fail cleanly while a daemon serves it.
 */
static int image_main(const char *store_path, uint8_t units, bool export,
                      const char *image_path)
{
    struct rpmb_store *store;
    char err[256];
    int rc;

    store = rpmb_store_sqlite_open(store_path, units, err, sizeof(err));
    if (store == NULL) {
        tv_err("--store=%s: %s", store_path, err);
        return 1;
    }
    if (export) {
        rc = rpmb_store_export(store, image_path, err, sizeof(err));
    } else {
        rc = rpmb_store_import(store, image_path, err, sizeof(err));
    }
    rpmb_store_close(store);
    if (rc != 0) {
        tv_err("%s: %s", image_path, err);
        return 1;
    }
    printf("%s %s: %u KiB\n", export ? "exported" : "imported", image_path,
           units * 128u);
    return 0;
}

static void on_disconnect(void *ctx, bool keep_state)
{
    struct vhu_rpmb *vr = ctx;
    int rc;

    if (keep_state) {
        return;
    }
    rc = vhu_rpmb_power_cycle(vr);
    if (rc != RPMB_OK) {
        tv_err("RPMB power cycle failed: %s", rpmb_strerror(rc));
    }
}

/*
 * Device state lives in static storage: main() runs once, nothing to free
 * on any exit path, and untouched pages cost no resident memory.
 */
static struct rpmb rpmb_storage;
static struct vhu_rpmb vr_storage;
static struct vhu_dev dev_storage;

int main(int argc, char **argv)
{
    struct daemon_cfg cfg;
    struct rpmb_config rcfg = {DEFAULT_CAPACITY_UNITS, DEFAULT_MAX_WR_CNT,
                               DEFAULT_MAX_RD_CNT};
    struct rpmb *rpmb = &rpmb_storage;
    struct vhu_rpmb *vr = &vr_storage;
    struct vhu_dev *dev = &dev_storage;
    struct rpmb_store *store;
    struct vhu_epoll ep;
    struct daemon_sock ds;
    struct vhu_config vcfg;
    struct daemon_hooks hooks = {on_disconnect, vr, true};
    const char *store_path = NULL;
    const char *export_path = NULL;
    const char *import_path = NULL;
    char err[256];
    int opt;
    int rc;
    int ret = 1;

    daemon_cfg_init(&cfg, PROG, "rpmb");
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_STORE:
            store_path = optarg;
            break;
        case OPT_CAPACITY:
            if (!parse_capacity(optarg, &rcfg.capacity_units)) {
                return 2;
            }
            break;
        case OPT_MAX_WR:
            if (!parse_cnt(optarg, "--max-wr-cnt", &rcfg.max_wr_cnt)) {
                return 2;
            }
            break;
        case OPT_MAX_RD:
            if (!parse_cnt(optarg, "--max-rd-cnt", &rcfg.max_rd_cnt)) {
                return 2;
            }
            break;
        case OPT_EXPORT:
            export_path = optarg;
            break;
        case OPT_IMPORT:
            import_path = optarg;
            break;
        case '?':
            fprintf(stderr, "Try '%s --help'.\n", PROG);
            return 2;
        default:
            if (daemon_common_opt(&cfg, opt, optarg) < 0) {
                return 2;
            }
            break;
        }
    }
    if (optind < argc) {
        tv_err("unexpected argument '%s' (see --help)", argv[optind]);
        return 2;
    }
    if (cfg.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (export_path != NULL || import_path != NULL) {
        if (export_path != NULL && import_path != NULL) {
            tv_err("--export-image and --import-image exclude each other");
            return 2;
        }
        if (store_path == NULL) {
            tv_err("--store=FILE is required (see --help)");
            return 2;
        }
        return image_main(store_path, rcfg.capacity_units, export_path != NULL,
                          export_path != NULL ? export_path : import_path);
    }
    rc = daemon_check(&cfg);
    if (rc != 0) {
        return rc > 0 ? 0 : 2;
    }
    if (store_path == NULL) {
        tv_err("--store=FILE is required (see --help)");
        return 2;
    }
    if (daemon_listen(&cfg, &ds) != 0) {
        return 1;
    }
    if (daemon_drop_privileges(&cfg, &ds) != 0) {
        goto out_unlisten;
    }
    store = rpmb_store_sqlite_open(store_path, rcfg.capacity_units, err,
                                   sizeof(err));
    if (store == NULL) {
        tv_err("--store=%s: %s", store_path, err);
        goto out_unlisten;
    }
    rc = vhu_rpmb_init(vr, rpmb, &rcfg, &rpmb_store_sqlite_ops, store);
    if (rc != RPMB_OK) {
        tv_err("RPMB device refused the store: %s", rpmb_strerror(rc));
        goto out_store;
    }
    tv_info("store %s: %u KiB, max_wr_cnt %u, max_rd_cnt %u, key %s",
            store_path, rcfg.capacity_units * 128u, rcfg.max_wr_cnt,
            rcfg.max_rd_cnt,
            rpmb_key_programmed(rpmb) ? "programmed" : "not programmed");
    rc = vhu_epoll_init(&ep);
    if (rc < 0) {
        tv_err("epoll: %s", strerror(-rc));
        goto out_store;
    }
    memset(&vcfg, 0, sizeof(vcfg));
    vcfg.ops = &vhu_rpmb_ops;
    vcfg.opaque = vr;
    vcfg.loop = &vhu_epoll_ops;
    vcfg.loop_ctx = &ep;
    vcfg.n_queues = 1;
    vcfg.config_size = VIRTIO_RPMB_CFG_SIZE;
    if (vhu_init(dev, &vcfg) < 0) {
        tv_err("vhost-user device setup failed");
        goto out_epoll;
    }
    ret = daemon_serve(&cfg, &ds, dev, &ep, &hooks, SANDBOX_SERVE_RPMB);
out_epoll:
    vhu_epoll_fini(&ep);
out_store:
    rpmb_store_close(store);
out_unlisten:
    daemon_unlisten(&cfg, &ds);
    return ret;
}
