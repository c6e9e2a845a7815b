/* SPDX-License-Identifier: MIT */
/*
 * Device identity: device CA and leaf on disk; see devid.h.
 */
#include "pki/devid.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/bug.h"
#include "common/clock.h"
#include "common/err.h"
#include "crypto/crypto.h"

#define DEVID_ORG        "trustvio"
#define DEVID_BACKDATE_S 60LL

static const char *const devid_files[] = {
    "ca.pem", "ca.der", "ca.key", "device.pem", "device.der", "device.key"};

static int path_in(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static long read_small(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, cap, f);
    if (ferror(f) || (n == cap && fgetc(f) != EOF)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    return (long)n;
}

/* One certificate file, through the project's atomic writer; errno set. */
static int write_der(const char *path, const uint8_t *p, size_t len)
{
    int e = tv_write_file_atomic(path, p, len, 0644);

    if (e != 0) {
        errno = -e;
        return -1;
    }
    return 0;
}

static int random_serial(uint8_t serial[16])
{
    if (crypto_random(serial, 16) != 0) {
        return -1;
    }
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x01);
    return 0;
}

static bool name_ok(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > DEVID_NAME_MAX) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.')) {
            return false;
        }
    }
    return true;
}

/* see devid.h */
int devid_init_dir(const char *dir, const char *name, char *err, size_t err_len)
{
    struct crypto_key *ca_key = NULL, *leaf_key = NULL;
    struct crypto_x509 ca;
    uint8_t ca_der[CRYPTO_X509_DER_MAX], leaf_der[CRYPTO_X509_DER_MAX];
    uint8_t serial[16];
    char path[PATH_MAX], cn[DEVID_NAME_MAX + 16];
    long ca_len, leaf_len;
    int64_t now_s = tv_wall_s();
    size_t i, n_written = 0;
    struct stat st;
    int rc = -1;

    if (!name_ok(name)) {
        tv_set_err(err, err_len,
                   "%s: a device name is 1..%d letters, digits, '-' or '.'",
                   name, DEVID_NAME_MAX);
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        tv_set_err(err, err_len, "%s: cannot create directory: %s", dir,
                   strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tv_set_err(err, err_len, "%s: not a directory", dir);
        return -1;
    }
    for (i = 0; i < TV_ARRAY_SIZE(devid_files); i++) {
        if (path_in(path, sizeof(path), dir, devid_files[i]) != 0) {
            tv_set_err(err, err_len, "%s: path too long", dir);
            return -1;
        }
        if (access(path, F_OK) == 0) {
            tv_set_err(err, err_len,
                       "%s already exists: refusing to overwrite a device "
                       "identity",
                       path);
            return -1;
        }
    }
    ca_key = crypto_key_generate_p384();
    leaf_key = crypto_key_generate_p384();
    if (ca_key == NULL || leaf_key == NULL || random_serial(serial) != 0) {
        tv_set_err(err, err_len, "key generation failed");
        goto err_keys;
    }
    {
        struct crypto_x509_template t = {
            .org = DEVID_ORG,
            .cn = "device-ca.trustvio",
            .serial = serial,
            .serial_len = sizeof(serial),
            .not_before_s = now_s - DEVID_BACKDATE_S,
            .not_after_s = now_s + DEVID_CA_LIFETIME_S,
            .ca = true,
            .pathlen = -1,
            .ku_bits = CRYPTO_KU_DIGITAL_SIGNATURE | CRYPTO_KU_KEY_CERT_SIGN |
                       CRYPTO_KU_CRL_SIGN,
            .ku_critical = true,
            .subject_key = ca_key,
        };
        ca_len = crypto_x509_issue(&t, NULL, ca_key, ca_der, sizeof(ca_der));
    }
    if (ca_len < 0 || crypto_x509_parse(&ca, ca_der, (size_t)ca_len) != 0) {
        tv_set_err(err, err_len, "cannot issue the device CA certificate");
        goto err_keys;
    }
    snprintf(cn, sizeof(cn), "%s.trustvio", name);
    if (random_serial(serial) != 0) {
        crypto_x509_release(&ca);
        tv_set_err(err, err_len, "random generator failed");
        goto err_keys;
    }
    {
        struct crypto_x509_template t = {
            .org = DEVID_ORG,
            .cn = cn,
            .serial = serial,
            .serial_len = sizeof(serial),
            .not_before_s = now_s - DEVID_BACKDATE_S,
            .not_after_s = now_s + DEVID_LEAF_LIFETIME_S,
            .ca = false,
            .pathlen = -1,
            .ku_bits = CRYPTO_KU_DIGITAL_SIGNATURE,
            .ku_critical = true,
            .subject_key = leaf_key,
        };
        leaf_len =
            crypto_x509_issue(&t, &ca, ca_key, leaf_der, sizeof(leaf_der));
    }
    crypto_x509_release(&ca);
    if (leaf_len < 0) {
        tv_set_err(err, err_len, "cannot issue the device certificate");
        goto err_keys;
    }
    /* keys first, ca.pem last: without ca.pem nothing looks usable */
    if (path_in(path, sizeof(path), dir, "ca.key") != 0 ||
        crypto_key_save_pem(ca_key, path) != 0) {
        goto err_write;
    }
    n_written++;
    if (path_in(path, sizeof(path), dir, "device.key") != 0 ||
        crypto_key_save_pem(leaf_key, path) != 0) {
        goto err_write;
    }
    n_written++;
    if (path_in(path, sizeof(path), dir, "device.der") != 0 ||
        write_der(path, leaf_der, (size_t)leaf_len) != 0) {
        goto err_write;
    }
    n_written++;
    if (path_in(path, sizeof(path), dir, "device.pem") != 0 ||
        crypto_x509_write_pem(leaf_der, (size_t)leaf_len, path) != 0) {
        goto err_write;
    }
    n_written++;
    if (path_in(path, sizeof(path), dir, "ca.der") != 0 ||
        write_der(path, ca_der, (size_t)ca_len) != 0) {
        goto err_write;
    }
    n_written++;
    if (path_in(path, sizeof(path), dir, "ca.pem") != 0 ||
        crypto_x509_write_pem(ca_der, (size_t)ca_len, path) != 0) {
        goto err_write;
    }
    rc = 0;
    goto err_keys;

err_write:
    tv_set_err(err, err_len, "%s: cannot write: %s", path, strerror(errno));
    {
        static const char *const order[] = {
            "ca.key", "device.key", "device.der", "device.pem", "ca.der"};
        for (i = 0; i < n_written && i < TV_ARRAY_SIZE(order); i++) {
            if (path_in(path, sizeof(path), dir, order[i]) == 0) {
                unlink(path);
            }
        }
    }
err_keys:
    crypto_key_free(ca_key);
    crypto_key_free(leaf_key);
    return rc;
}

/* see devid.h */
int devid_open(struct devid *d, const char *dir, char *err, size_t err_len)
{
    struct crypto_x509 ca, leaf;
    uint8_t a[256], b[256];
    char path[PATH_MAX];
    long ca_len, leaf_len, alen, blen;
    struct stat st;
    int fd;

    memset(d, 0, sizeof(*d));
    if (path_in(path, sizeof(path), dir, "ca.der") != 0 ||
        (ca_len = read_small(path, d->chain, CRYPTO_X509_DER_MAX)) <= 0) {
        tv_set_err(err, err_len, "%s/ca.der: cannot read", dir);
        return -1;
    }
    if (path_in(path, sizeof(path), dir, "device.der") != 0 ||
        (leaf_len = read_small(path, d->chain + ca_len, CRYPTO_X509_DER_MAX)) <=
            0) {
        tv_set_err(err, err_len, "%s/device.der: cannot read", dir);
        return -1;
    }
    if (crypto_x509_parse(&ca, d->chain, (size_t)ca_len) != 0) {
        tv_set_err(err, err_len, "%s/ca.der: not a certificate", dir);
        return -1;
    }
    if (crypto_x509_parse(&leaf, d->chain + ca_len, (size_t)leaf_len) != 0) {
        crypto_x509_release(&ca);
        tv_set_err(err, err_len, "%s/device.der: not a certificate", dir);
        return -1;
    }
    if (!crypto_x509_issuer_matches(&leaf, &ca) ||
        !crypto_x509_signed_by(&leaf, &ca) || !leaf.key_p384) {
        tv_set_err(err, err_len,
                   "%s: device.der is not a P-384 certificate issued by ca.der",
                   dir);
        goto err_certs;
    }
    /* the key: ours alone, 0600 or stricter, before a byte is read */
    if (path_in(path, sizeof(path), dir, "device.key") != 0) {
        tv_set_err(err, err_len, "%s: path too long", dir);
        goto err_certs;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0) {
        tv_set_err(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        goto err_certs;
    }
    close(fd);
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077) != 0) {
        tv_set_err(err, err_len,
                   "%s: refusing a private key that is not a regular file "
                   "owned by uid %u with mode 0600 (it has mode %04o)",
                   path, (unsigned)geteuid(), (unsigned)(st.st_mode & 07777));
        goto err_certs;
    }
    d->key = crypto_key_load_pem(path);
    if (d->key == NULL) {
        tv_set_err(err, err_len, "%s: not a PEM private key", path);
        goto err_certs;
    }
    alen = crypto_key_spki_der(d->key, a, sizeof(a));
    blen = crypto_key_spki_der(leaf.key, b, sizeof(b));
    if (alen < 0 || alen != blen || memcmp(a, b, (size_t)alen) != 0) {
        tv_set_err(err, err_len, "%s: not the key of device.der", path);
        crypto_key_free(d->key);
        d->key = NULL;
        goto err_certs;
    }
    crypto_x509_release(&ca);
    crypto_x509_release(&leaf);
    d->ca_len = (size_t)ca_len;
    d->chain_len = (size_t)(ca_len + leaf_len);
    return 0;

err_certs:
    crypto_x509_release(&ca);
    crypto_x509_release(&leaf);
    return -1;
}

/* see devid.h */
void devid_close(struct devid *d)
{
    crypto_key_free(d->key);
    d->key = NULL;
}
