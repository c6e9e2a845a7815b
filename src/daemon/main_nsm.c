/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-nsm: the NitroSecureModule (virtio ID 33) as a vhost-user
 * back-end. Thin: options, model, transport (daemon.c, vhu_nsm.c).
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "daemon/daemon.h"
#include "daemon/vhu_nsm.h"
#include "nsm/nsm.h"
#ifdef TV_HAVE_PKI
#include "daemon/signer.h"
#include "pki/pki.h"
#endif

#define PROG "vhost-user-nsm"

static const char usage[] =
    "Usage: " PROG " (--socket-path=PATH | --fd=N) [options]\n"
    "\n"
    "Serves a NitroSecureModule (virtio device ID 33, one queue, no config\n"
    "space) to a vhost-user front-end, e.g. QEMU >= 10.2:\n"
    "  -chardev socket,id=nsm,path=PATH\n"
    "  -device vhost-user-test-device-pci,chardev=nsm,virtio-id=33\n"
    "\n"
    "Device:\n"
    "  --module-id=ID       module id reported by DescribeNSM and in\n"
    "                       attestation documents (default: a fresh random\n"
    "                       id of the AWS form i-<17 hex>-enc<16 hex>)\n"
    "  --debug-mode         debug enclave: PCR0, 1, 2 and 8 read as zeros\n"
    "  --pcr=N=HEX          boot value of PCR N (0..15) as 96 hex digits\n"
    "                       (48 bytes); repeatable; PCRs 0..15 are locked\n"
    "  --parent-role=ARN    IAM role ARN of the parent; PCR3 becomes\n"
    "                       SHA384(48 zero bytes || ARN) unless --pcr=3=...\n"
    "  --parent-id=ID       parent instance id; PCR4 becomes\n"
    "                       SHA384(48 zero bytes || ID) unless --pcr=4=...\n"
    "  --pki=DIR            CA and signing keys for attestation documents;\n"
    "                       created with a new CA when empty (default:\n"
    "                       $XDG_STATE_HOME/trustvio/pki, else\n"
    "                       ~/.local/state/trustvio/pki of the daemon's\n"
    "                       user). Key files must be 0600 and owned by\n"
    "                       that user. The intermediate key is held by a\n"
    "                       separate signer process; this one holds only\n"
    "                       the current leaf key.\n"
    "\n" DAEMON_HELP_COMMON "\n"
    "On a disconnect (or a guest device reset) the module powers off: PCRs\n"
    "16..31 return to zero and unlocked, unless --keep-state is given (guest\n"
    "resets still power-cycle).\n";

enum {
    OPT_MODULE_ID = 1,
    OPT_DEBUG_MODE,
    OPT_PCR,
    OPT_PARENT_ROLE,
    OPT_PARENT_ID,
    OPT_PKI,
};

static const struct option long_options[] = {
    {"module-id", required_argument, NULL, OPT_MODULE_ID},
    {"debug-mode", no_argument, NULL, OPT_DEBUG_MODE},
    {"pcr", required_argument, NULL, OPT_PCR},
    {"parent-role", required_argument, NULL, OPT_PARENT_ROLE},
    {"parent-id", required_argument, NULL, OPT_PARENT_ID},
    {"pki", required_argument, NULL, OPT_PKI},
    DAEMON_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* Platform context: the signer source. */
struct platform {
#ifdef TV_HAVE_PKI
    struct pki *pki;       /* chain and leaf key */
    struct signer *signer; /* the process that issues leaves */
#else
    int unused; /* built without src/pki: no attestation */
#endif
};

static uint64_t plat_now_ms(void *ctx)
{
    (void)ctx;
    return tv_wall_ms();
}

static int plat_random(void *ctx, void *out, size_t len)
{
    (void)ctx;
    return crypto_random(out, len) == 0 ? 0 : -1;
}

static int plat_get_signer(void *ctx, uint64_t now_ms,
                           const struct nsm_signer **signer)
{
#ifdef TV_HAVE_PKI
    struct platform *p = ctx;

    return pki_get_signer(p->pki, now_ms, signer);
#else
    (void)ctx;
    (void)now_ms;
    (void)signer;
    tv_err("attestation unavailable: built without the PKI component");
    return -1;
#endif
}

static const struct nsm_platform_ops platform_ops = {
    .now_ms = plat_now_ms,
    .random = plat_random,
    .get_signer = plat_get_signer,
};

/* "N=HEX" into @boot; one line on error. */
static bool parse_pcr(struct nsm_boot *boot, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char num[8];
    unsigned long idx;
    size_t n;

    if (eq == NULL || (n = (size_t)(eq - arg)) == 0 || n >= sizeof(num)) {
        tv_err("--pcr: '%s' is not N=HEX", arg);
        return false;
    }
    memcpy(num, arg, n);
    num[n] = '\0';
    if (!daemon_parse_uint(num, NSM_BOOT_PCR_COUNT - 1, &idx)) {
        tv_err("--pcr: index '%s' is not 0..%d", num, NSM_BOOT_PCR_COUNT - 1);
        return false;
    }
    if (strlen(eq + 1) != 2 * NSM_PCR_SIZE ||
        hex_decode(eq + 1, boot->pcr[idx], NSM_PCR_SIZE) != NSM_PCR_SIZE) {
        tv_err("--pcr=%lu: value must be %d hex digits (%d bytes)", idx,
               2 * NSM_PCR_SIZE, NSM_PCR_SIZE);
        return false;
    }
    boot->pcr_set |= (uint16_t)(1u << idx);
    return true;
}

static bool copy_str(char *dst, size_t cap, const char *src, const char *opt)
{
    if (strlen(src) >= cap) {
        tv_err("%s: longer than %zu bytes", opt, cap - 1);
        return false;
    }
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

/* A random module id of the AWS form i-<17 hex>-enc<16 hex>. */
static bool random_module_id(char *out, size_t cap)
{
    uint8_t r[17];
    char hex[2 * sizeof(r) + 1];

    if (crypto_random(r, sizeof(r)) != 0) {
        return false;
    }
    hex_encode(r, sizeof(r), hex);
    snprintf(out, cap, "i-%.17s-enc%.16s", hex, hex + 17);
    return true;
}

#ifdef TV_HAVE_PKI
/*
 * Default PKI directory of the daemon's user, created (0700) with its
 * parents: $XDG_STATE_HOME/trustvio/pki, else ~/.local/state/trustvio/pki,
 * whatever the working directory.
 */
static const char *default_pki_dir(char *buf, size_t cap)
{
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    struct passwd *pw;
    char base[2048];

    if (state != NULL && state[0] == '/') {
        snprintf(base, sizeof(base), "%s", state);
    } else {
        if (home == NULL || home[0] != '/') {
            pw = getpwuid(geteuid());
            home = pw != NULL ? pw->pw_dir : NULL;
        }
        if (home == NULL || home[0] != '/') {
            return NULL;
        }
        snprintf(base, sizeof(base), "%s/.local", home);
        mkdir(base, 0700);
        snprintf(base, sizeof(base), "%s/.local/state", home);
    }
    mkdir(base, 0700);
    snprintf(buf, cap, "%s/trustvio", base);
    mkdir(buf, 0700);
    snprintf(buf, cap, "%s/trustvio/pki", base);
    mkdir(buf, 0700);
    return buf;
}

/* "AB:CD:..." of SHA-256(@der), as `openssl x509 -fingerprint -sha256`. */
static void fingerprint(const uint8_t *der, size_t len, char *out)
{
    uint8_t h[CRYPTO_SHA256_SIZE];
    static const char hexd[] = "0123456789ABCDEF";

    if (crypto_sha256(der, len, h) != 0) {
        strcpy(out, "?");
        return;
    }
    for (size_t i = 0; i < sizeof(h); i++) {
        out[3 * i] = hexd[h[i] >> 4];
        out[3 * i + 1] = hexd[h[i] & 15];
        out[3 * i + 2] = i + 1 < sizeof(h) ? ':' : '\0';
    }
}

static struct signer signer_storage;
#endif

static void on_disconnect(void *ctx, bool keep_state)
{
    struct vhu_nsm *vn = ctx;
    int rc;

    if (keep_state) {
        return;
    }
    rc = vhu_nsm_power_cycle(vn);
    if (rc != NSM_OK) {
        tv_err("NSM power cycle failed: %s", nsm_strerror(rc));
    }
}

/*
 * Device state lives in static storage: main() runs once, nothing to free
 * on any exit path, and untouched pages cost no resident memory.
 */
static struct nsm_boot boot_storage;
static struct nsm nsm_storage;
static struct vhu_nsm vn_storage;
static struct vhu_dev dev_storage;

int main(int argc, char **argv)
{
    struct daemon_cfg cfg;
    struct nsm_boot *boot = &boot_storage;
    struct nsm *nsm = &nsm_storage;
    struct vhu_nsm *vn = &vn_storage;
    struct vhu_dev *dev = &dev_storage;
    struct vhu_epoll ep;
    struct daemon_sock ds;
    struct vhu_config vcfg;
    struct platform plat;
    struct daemon_hooks hooks = {on_disconnect, vn, false};
    const char *pki_dir = NULL;
    int opt;
    int rc;
    int ret = 1;

    daemon_cfg_init(&cfg, PROG, "nsm");
    memset(&plat, 0, sizeof(plat));
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_MODULE_ID:
            if (optarg[0] == '\0') {
                tv_err("--module-id: must not be empty");
                return 2;
            }
            if (!copy_str(boot->module_id, sizeof(boot->module_id), optarg,
                          "--module-id")) {
                return 2;
            }
            break;
        case OPT_DEBUG_MODE:
            boot->debug_mode = true;
            break;
        case OPT_PCR:
            if (!parse_pcr(boot, optarg)) {
                return 2;
            }
            break;
        case OPT_PARENT_ROLE:
            if (!copy_str(boot->parent_role_arn, sizeof(boot->parent_role_arn),
                          optarg, "--parent-role")) {
                return 2;
            }
            break;
        case OPT_PARENT_ID:
            if (!copy_str(boot->parent_id, sizeof(boot->parent_id), optarg,
                          "--parent-id")) {
                return 2;
            }
            break;
        case OPT_PKI:
            pki_dir = optarg;
            break;
        case '?':
            fprintf(stderr, "Try '%s --help'.\n", PROG);
            return 2;
        default:
            rc = daemon_common_opt(&cfg, opt, optarg);
            if (rc < 0) {
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
    rc = daemon_check(&cfg);
    if (rc != 0) {
        return rc > 0 ? 0 : 2;
    }
    if (daemon_listen(&cfg, &ds) != 0) {
        return 1;
    }
    if (daemon_drop_privileges(&cfg, &ds) != 0) {
        goto out_unlisten;
    }
    if (crypto_init() != 0) {
        tv_err("OpenSSL lacks SHA-384 or P-384");
        goto out_unlisten;
    }
    if (boot->module_id[0] == '\0' &&
        !random_module_id(boot->module_id, sizeof(boot->module_id))) {
        tv_err("cannot draw a random module id");
        goto out_unlisten;
    }
#ifdef TV_HAVE_PKI
    {
        static char dir_buf[4096];
        char fp[3 * CRYPTO_SHA256_SIZE];
        char err[256];
        const uint8_t *root;
        size_t root_len;

        if (pki_dir == NULL) {
            pki_dir = default_pki_dir(dir_buf, sizeof(dir_buf));
            if (pki_dir == NULL) {
                tv_err("no --pki=DIR and no home directory for the default");
                goto out_unlisten;
            }
        }
        plat.signer = &signer_storage;
        if (signer_start(plat.signer, pki_dir, boot->module_id, cfg.sandbox,
                         err, sizeof(err)) != 0) {
            tv_err("--pki=%s: %s", pki_dir, err);
            goto out_unlisten;
        }
        plat.pki =
            pki_open_issuer(plat.signer->root_der, plat.signer->root_len,
                            plat.signer->inter_der, plat.signer->inter_len,
                            signer_issue, plat.signer, err, sizeof(err));
        if (plat.pki == NULL) {
            tv_err("--pki=%s: %s", pki_dir, err);
            goto out_pki;
        }
        root = pki_root_der(plat.pki, &root_len);
        fingerprint(root, root_len, fp);
        tv_info("PKI %s (signer pid %ld): root SHA-256 %s", pki_dir,
                (long)plat.signer->pid, fp);
    }
#else
    if (pki_dir != NULL) {
        tv_warn("--pki=%s ignored: built without the PKI component", pki_dir);
    }
#endif
    rc = nsm_init(nsm, boot, &platform_ops, &plat);
    if (rc != NSM_OK) {
        tv_err("NSM configuration refused: %s", nsm_strerror(rc));
        goto out_pki;
    }
    tv_info("module id %s%s", boot->module_id,
            boot->debug_mode ? " (debug mode)" : "");
    vhu_nsm_init(vn, nsm);
    rc = vhu_epoll_init(&ep);
    if (rc < 0) {
        tv_err("epoll: %s", strerror(-rc));
        goto out_pki;
    }
    memset(&vcfg, 0, sizeof(vcfg));
    vcfg.ops = &vhu_nsm_ops;
    vcfg.opaque = vn;
    vcfg.loop = &vhu_epoll_ops;
    vcfg.loop_ctx = &ep;
    vcfg.n_queues = 1;
    vcfg.config_size = 0;
    if (vhu_init(dev, &vcfg) < 0) {
        tv_err("vhost-user device setup failed");
        goto out_epoll;
    }
    ret = daemon_serve(&cfg, &ds, dev, &ep, &hooks, SANDBOX_SERVE_NSM);
out_epoll:
    vhu_epoll_fini(&ep);
out_pki:
#ifdef TV_HAVE_PKI
    pki_close(plat.pki);
    if (plat.signer != NULL) {
        signer_stop(plat.signer);
    }
#endif
out_unlisten:
    daemon_unlisten(&cfg, &ds);
    return ret;
}
