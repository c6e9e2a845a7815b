/* SPDX-License-Identifier: MIT */
/*
 * The local PKI (see pki.h). Root and intermediate live on disk; the leaf
 * and its key live only in memory and are reissued before they run out, so
 * a stolen leaf key is worth three hours at most, as with AWS.
 */
#include "pki/pki.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/bug.h"
#include "common/clock.h"
#include "common/ct.h"
#include "common/err.h"
#include "common/hex.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"

#define PKI_ORG "trustvio"

static const char *const pki_files[] = {
    "root.pem", "root.der", "root.key", "intermediate.pem", "intermediate.key",
};

/**
 * struct pki_ca - the issuing side: the intermediate and its private key.
 * Only the signer (or a tool) holds one.
 */
struct pki_ca {
    char module_id[NSM_MODULE_ID_MAX + 1];  /* device module id */
    uint8_t enclave_id[8];                  /* first half of leaf serials */
    uint8_t root_der[CRYPTO_X509_DER_MAX];  /* root certificate */
    size_t root_len;                        /* bytes in root_der */
    uint8_t inter_der[CRYPTO_X509_DER_MAX]; /* intermediate certificate */
    size_t inter_len;                       /* bytes in inter_der */
    struct crypto_x509 inter;               /* intermediate, parsed */
    struct crypto_key *inter_key;           /* intermediate private key */
};

/**
 * struct pki - the signing side: the chain's certificates and the current
 * leaf. All certificate buffers are inside the struct so the signer's
 * pointers need no further allocation. Leaves come from @issue: the
 * in-process CA of pki_open(), or another process (pki_open_issuer()).
 */
struct pki {
    uint8_t root_der[CRYPTO_X509_DER_MAX];  /* root certificate */
    size_t root_len;                        /* bytes in root_der */
    uint8_t inter_der[CRYPTO_X509_DER_MAX]; /* intermediate certificate */
    size_t inter_len;                       /* bytes in inter_der */
    struct crypto_x509 inter;               /* intermediate, parsed */
    pki_issue_fn issue;                     /* leaf issuer */
    void *issue_ctx;                        /* its context */
    struct pki_ca *own_ca;                  /* pki_open()'s CA, or NULL */
    struct crypto_key *leaf_key;            /* current leaf key, or NULL */
    uint8_t leaf_der[CRYPTO_X509_DER_MAX];  /* current leaf certificate */
    size_t leaf_len;                        /* bytes in leaf_der */
    uint64_t leaf_not_before_ms;            /* leaf notBefore, ms */
    uint64_t renew_at_ms;                   /* renew at or after this */
    struct nsm_signer signer;               /* handed to the NSM model */
};

static int path_in(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* Read a whole small file; -1 if it is missing, unreadable or too big. */
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

/* 16 random serial bytes, top bit clear so the INTEGER stays 16 bytes. */
static int random_serial(uint8_t serial[16])
{
    if (crypto_random(serial, 16) != 0) {
        return -1;
    }
    serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x01);
    return 0;
}

/* Whether @dir is missing or has no entries besides "." and "..". */
static bool dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool empty = true;

    if (d == NULL) {
        return errno == ENOENT;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    closedir(d);
    return empty;
}

/* see pki.h */
int pki_init_dir(const char *dir, char *err, size_t err_len)
{
    struct crypto_key *root_key = NULL, *inter_key = NULL;
    struct crypto_x509 root;
    uint8_t root_der[CRYPTO_X509_DER_MAX], inter_der[CRYPTO_X509_DER_MAX];
    uint8_t serial[16];
    char path[PATH_MAX];
    long root_len, inter_len;
    int64_t now_s = tv_wall_s();
    size_t n_written = 0;
    struct stat st;
    int rc = -1;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        tv_set_err(err, err_len, "%s: cannot create directory: %s", dir,
                   strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tv_set_err(err, err_len, "%s: not a directory", dir);
        return -1;
    }
    for (size_t i = 0; i < TV_ARRAY_SIZE(pki_files); i++) {
        if (path_in(path, sizeof(path), dir, pki_files[i]) != 0) {
            tv_set_err(err, err_len, "%s: path too long", dir);
            return -1;
        }
        if (access(path, F_OK) == 0) {
            tv_set_err(err, err_len,
                       "%s already exists: refusing to overwrite an existing "
                       "PKI (remove the directory first to start over)",
                       path);
            return -1;
        }
    }

    root_key = crypto_key_generate_p384();
    inter_key = crypto_key_generate_p384();
    if (root_key == NULL || inter_key == NULL || random_serial(serial) != 0) {
        tv_set_err(err, err_len, "key generation failed");
        goto err_keys;
    }
    {
        struct crypto_x509_template t = {
            .org = PKI_ORG,
            .cn = "root.trustvio",
            .serial = serial,
            .serial_len = sizeof(serial),
            .not_before_s = now_s - PKI_BACKDATE_S,
            .not_after_s = now_s + PKI_ROOT_LIFETIME_S,
            .ca = true,
            .pathlen = -1,
            .ku_bits = CRYPTO_KU_DIGITAL_SIGNATURE | CRYPTO_KU_KEY_CERT_SIGN |
                       CRYPTO_KU_CRL_SIGN,
            .ku_critical = true,
            .subject_key = root_key,
        };

        root_len =
            crypto_x509_issue(&t, NULL, root_key, root_der, sizeof(root_der));
    }
    if (root_len < 0 ||
        crypto_x509_parse(&root, root_der, (size_t)root_len) != 0) {
        tv_set_err(err, err_len, "cannot issue the root certificate");
        goto err_keys;
    }
    if (random_serial(serial) != 0) {
        crypto_x509_release(&root);
        tv_set_err(err, err_len, "random generator failed");
        goto err_keys;
    }
    {
        struct crypto_x509_template t = {
            .org = PKI_ORG,
            .cn = "intermediate.trustvio",
            .serial = serial,
            .serial_len = sizeof(serial),
            .not_before_s = now_s - PKI_BACKDATE_S,
            .not_after_s = now_s + PKI_INTERMEDIATE_LIFETIME_S,
            .ca = true,
            .pathlen = 0,
            .ku_bits = CRYPTO_KU_KEY_CERT_SIGN | CRYPTO_KU_CRL_SIGN,
            .ku_critical = true,
            .subject_key = inter_key,
        };

        inter_len = crypto_x509_issue(&t, &root, root_key, inter_der,
                                      sizeof(inter_der));
    }
    crypto_x509_release(&root);
    if (inter_len < 0) {
        tv_set_err(err, err_len, "cannot issue the intermediate certificate");
        goto err_keys;
    }

    /*
     * Keys first, root.pem last: a directory without root.pem is never
     * mistaken for a usable PKI, whatever point a crash interrupts.
     */
    if (path_in(path, sizeof(path), dir, "root.key") != 0 ||
        crypto_key_save_pem(root_key, path) != 0) {
        goto err_write;
    }
    n_written++;
    if (path_in(path, sizeof(path), dir, "intermediate.key") != 0 ||
        crypto_key_save_pem(inter_key, path) != 0) {
        goto err_write;
    }
    n_written++;
    if (path_in(path, sizeof(path), dir, "intermediate.pem") != 0 ||
        crypto_x509_write_pem(inter_der, (size_t)inter_len, path) != 0) {
        goto err_write;
    }
    n_written++;
    if (path_in(path, sizeof(path), dir, "root.der") != 0 ||
        tv_write_file_atomic(path, root_der, (size_t)root_len, 0644) != 0) {
        goto err_write;
    }
    n_written++;
    if (path_in(path, sizeof(path), dir, "root.pem") != 0 ||
        crypto_x509_write_pem(root_der, (size_t)root_len, path) != 0) {
        goto err_write;
    }
    rc = 0;
    goto err_keys;

err_write:
    tv_set_err(err, err_len, "%s: cannot write: %s", path, strerror(errno));
    {
        /* the order of pki_written below matches the writes above */
        static const char *const pki_written[] = {
            "root.key",
            "intermediate.key",
            "intermediate.pem",
            "root.der",
        };

        for (size_t i = 0; i < n_written; i++) {
            if (path_in(path, sizeof(path), dir, pki_written[i]) == 0) {
                unlink(path);
            }
        }
    }
err_keys:
    crypto_key_free(root_key);
    crypto_key_free(inter_key);
    return rc;
}

/*
 * The 8-byte id in leaf serials: the enclave id of an AWS-style module id
 * ("i-<17 hex>-enc<16 hex>"), else the first bytes of SHA-256(module id).
 */
static void derive_enclave_id(const char *module_id, uint8_t id[8])
{
    const char *enc = strstr(module_id, "-enc");
    uint8_t h[CRYPTO_SHA256_SIZE];

    if (enc != NULL && strlen(enc + 4) == 16 &&
        hex_decode(enc + 4, id, 8) == 8) {
        return;
    }
    if (crypto_sha256(module_id, strlen(module_id), h) != 0) {
        memset(h, 0, sizeof(h));
    }
    memcpy(id, h, 8);
}

/* see pki.h */
int pki_check_key_file(int fd, const char *path, char *err, size_t err_len)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        tv_set_err(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        tv_set_err(err, err_len, "%s: not a regular file", path);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        tv_set_err(err, err_len,
                   "%s: owned by uid %u, not by uid %u that runs the daemon "
                   "(chown it, or run as its owner)",
                   path, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if ((st.st_mode & 077) != 0) {
        tv_set_err(err, err_len,
                   "%s: permissions %04o are too open: a private key must "
                   "not be accessible by others (chmod 600 %s)",
                   path, (unsigned)(st.st_mode & 07777), path);
        return -1;
    }
    return 0;
}

/*
 * Open the private key file @path for checking: never through a symbolic
 * link. Return: the fd, -1 with @err set, or -2 when it does not exist.
 */
static int open_key_file(const char *path, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

    if (fd >= 0) {
        if (pki_check_key_file(fd, path, err, err_len) != 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
    if (errno == ENOENT) {
        return -2;
    }
    if (errno == ELOOP) {
        tv_set_err(err, err_len,
                   "%s: a symbolic link: private keys are read only from "
                   "the file itself",
                   path);
    } else {
        tv_set_err(err, err_len, "%s: %s", path, strerror(errno));
    }
    return -1;
}

/* The private key in @name must belong to the certificate @c. */
static struct crypto_key *load_key_for(const char *dir, const char *name,
                                       const struct crypto_x509 *c, char *err,
                                       size_t err_len)
{
    uint8_t pem[4096];
    uint8_t a[512], b[512];
    char path[PATH_MAX];
    struct crypto_key *key;
    long a_len, b_len;
    ssize_t n;
    int fd;

    if (path_in(path, sizeof(path), dir, name) != 0) {
        tv_set_err(err, err_len, "%s: path too long", dir);
        return NULL;
    }
    fd = open_key_file(path, err, err_len);
    if (fd == -2) {
        tv_set_err(err, err_len, "%s: missing", path);
    }
    if (fd < 0) {
        return NULL;
    }
    n = read(fd, pem, sizeof(pem));
    close(fd);
    if (n <= 0 || (size_t)n == sizeof(pem)) {
        tv_set_err(err, err_len, "%s: cannot read a key file", path);
        wipe(pem, sizeof(pem));
        return NULL;
    }
    key = crypto_key_from_pem(pem, (size_t)n);
    wipe(pem, sizeof(pem));
    if (key == NULL) {
        tv_set_err(err, err_len, "%s: cannot load a P-384 private key", path);
        return NULL;
    }
    a_len = crypto_key_spki_der(key, a, sizeof(a));
    b_len = c->key != NULL ? crypto_key_spki_der(c->key, b, sizeof(b)) : -1;
    if (a_len <= 0 || a_len != b_len || memcmp(a, b, (size_t)a_len) != 0) {
        tv_set_err(err, err_len, "%s: key does not match its certificate",
                   path);
        crypto_key_free(key);
        return NULL;
    }
    return key;
}

static int load_cert(const char *dir, const char *name, uint8_t *der,
                     size_t *der_len, char *err, size_t err_len)
{
    uint8_t raw[3 * CRYPTO_X509_DER_MAX];
    char path[PATH_MAX];
    long n;

    if (path_in(path, sizeof(path), dir, name) != 0) {
        tv_set_err(err, err_len, "%s: path too long", dir);
        return -1;
    }
    n = read_small(path, raw, sizeof(raw));
    if (n < 0) {
        tv_set_err(err, err_len, "%s: cannot read: %s", path,
                   errno ? strerror(errno) : "too large");
        return -1;
    }
    n = crypto_x509_to_der(raw, (size_t)n, der, CRYPTO_X509_DER_MAX);
    if (n <= 0 || (size_t)n > NSM_CERT_MAX) {
        tv_set_err(err, err_len, "%s: not a certificate", path);
        return -1;
    }
    *der_len = (size_t)n;
    return 0;
}

/* see pki.h */
struct pki_ca *pki_ca_open(const char *dir, const char *module_id,
                           bool create_if_empty, char *err, size_t err_len)
{
    struct crypto_x509 root;
    struct pki_ca *ca;
    char path[PATH_MAX];
    int fd;

    if (module_id == NULL || module_id[0] == '\0' ||
        strlen(module_id) > NSM_MODULE_ID_MAX) {
        tv_set_err(err, err_len, "module id must be 1..%d bytes",
                   NSM_MODULE_ID_MAX);
        return NULL;
    }
    if (strlen(dir) >= PATH_MAX - 32) {
        tv_set_err(err, err_len, "%s: path too long", dir);
        return NULL;
    }
    if (create_if_empty && dir_is_empty(dir) &&
        pki_init_dir(dir, err, err_len) != 0) {
        return NULL;
    }
    if (path_in(path, sizeof(path), dir, "root.pem") != 0 ||
        access(path, F_OK) != 0) {
        tv_set_err(err, err_len,
                   "%s: no PKI here (root.pem missing); create one with "
                   "`nsm pki init %s`",
                   dir, dir);
        return NULL;
    }
    /* the root key is never loaded, but one that others can read is refused */
    if (path_in(path, sizeof(path), dir, "root.key") != 0) {
        tv_set_err(err, err_len, "%s: path too long", dir);
        return NULL;
    }
    fd = open_key_file(path, err, err_len);
    if (fd == -1) {
        return NULL;
    }
    if (fd >= 0) {
        close(fd);
    }
    ca = calloc(1, sizeof(*ca));
    if (ca == NULL) {
        tv_set_err(err, err_len, "out of memory");
        return NULL;
    }
    snprintf(ca->module_id, sizeof(ca->module_id), "%s", module_id);
    derive_enclave_id(module_id, ca->enclave_id);

    if (load_cert(dir, "root.pem", ca->root_der, &ca->root_len, err, err_len) !=
            0 ||
        load_cert(dir, "intermediate.pem", ca->inter_der, &ca->inter_len, err,
                  err_len) != 0) {
        goto err_free;
    }
    if (crypto_x509_parse(&root, ca->root_der, ca->root_len) != 0) {
        tv_set_err(err, err_len, "%s/root.pem: not a certificate", dir);
        goto err_free;
    }
    if (crypto_x509_parse(&ca->inter, ca->inter_der, ca->inter_len) != 0) {
        crypto_x509_release(&root);
        tv_set_err(err, err_len, "%s/intermediate.pem: not a certificate", dir);
        goto err_free;
    }
    if (!crypto_x509_issuer_matches(&ca->inter, &root) ||
        !crypto_x509_signed_by(&ca->inter, &root)) {
        crypto_x509_release(&root);
        tv_set_err(err, err_len,
                   "%s: intermediate.pem is not issued by root.pem", dir);
        goto err_inter;
    }
    crypto_x509_release(&root);
    if (ca->inter.not_after_s - tv_wall_s() < 30LL * 24 * 3600) {
        tv_warn("pki: %s/intermediate.pem expires within 30 days; leaves "
                "are cut short to its notAfter and then refused",
                dir);
    }
    ca->inter_key =
        load_key_for(dir, "intermediate.key", &ca->inter, err, err_len);
    if (ca->inter_key == NULL) {
        goto err_inter;
    }
    return ca;

err_inter:
    crypto_x509_release(&ca->inter);
err_free:
    wipe(ca, sizeof(*ca));
    free(ca);
    return NULL;
}

/* see pki.h */
long pki_ca_issue_leaf(struct pki_ca *ca, const uint8_t *spki, size_t spki_len,
                       int64_t now_s, uint8_t *der, size_t cap)
{
    struct crypto_key *key;
    uint8_t check[PKI_SPKI_MAX];
    uint8_t serial[16];
    char cn[NSM_MODULE_ID_MAX + 16];
    int64_t not_before_s = now_s - PKI_BACKDATE_S;
    int64_t not_after_s = now_s + PKI_LEAF_LIFETIME_S;
    long len;

    if (spki_len == 0 || spki_len > PKI_SPKI_MAX) {
        return -1;
    }
    key = crypto_key_from_spki_der(spki, spki_len);
    if (key == NULL) {
        return -1;
    }
    /* exactly a P-384 public key, in its one DER encoding */
    len = crypto_key_spki_der(key, check, sizeof(check));
    if (len != (long)spki_len || memcmp(check, spki, spki_len) != 0) {
        crypto_key_free(key);
        return -1;
    }
    if (not_before_s < 0) {
        not_before_s = 0;
    }
    /* never outlive the issuer: the chain must hold for the whole window */
    if (not_after_s > ca->inter.not_after_s) {
        not_after_s = ca->inter.not_after_s;
    }
    if (not_after_s <= now_s) {
        tv_err("pki: intermediate certificate has expired; "
               "create a new PKI");
        crypto_key_free(key);
        return -1;
    }
    /*
     * enclave id || 64 random bits: unique per issuer without any shared
     * state, so renewals within one second and several daemons on one PKI
     * never repeat a serial (a time would, and the issuing code encodes
     * the INTEGER positive and minimal whatever the bytes).
     */
    memcpy(serial, ca->enclave_id, 8);
    if (crypto_random(serial + 8, 8) != 0) {
        crypto_key_free(key);
        return -1;
    }
    snprintf(cn, sizeof(cn), "%s.trustvio", ca->module_id);
    {
        struct crypto_x509_template t = {
            .org = PKI_ORG,
            .cn = cn,
            .serial = serial,
            .serial_len = sizeof(serial),
            .not_before_s = not_before_s,
            .not_after_s = not_after_s,
            .ca = false,
            .pathlen = -1,
            .ku_bits = CRYPTO_KU_DIGITAL_SIGNATURE | CRYPTO_KU_NON_REPUDIATION,
            .ku_critical = false,
            .subject_key = key,
        };

        len = crypto_x509_issue(&t, &ca->inter, ca->inter_key, der, cap);
    }
    crypto_key_free(key);
    if (len < 0 || (size_t)len > NSM_CERT_MAX) {
        tv_err("pki: cannot issue the leaf certificate");
        return -1;
    }
    return len;
}

/* see pki.h */
const uint8_t *pki_ca_root_der(const struct pki_ca *ca, size_t *len)
{
    *len = ca->root_len;
    return ca->root_der;
}

/* see pki.h */
const uint8_t *pki_ca_inter_der(const struct pki_ca *ca, size_t *len)
{
    *len = ca->inter_len;
    return ca->inter_der;
}

/* see pki.h: OpenSSL cleanses EC private keys when they are freed */
void pki_ca_close(struct pki_ca *ca)
{
    if (ca == NULL) {
        return;
    }
    crypto_key_free(ca->inter_key);
    crypto_x509_release(&ca->inter);
    wipe(ca, sizeof(*ca));
    free(ca);
}

/* Issue a fresh leaf valid from @now_s; the old one stays on failure. */
static int renew_leaf(struct pki *pki, int64_t now_s)
{
    struct crypto_key *key = crypto_key_generate_p384();
    uint8_t der[CRYPTO_X509_DER_MAX];
    uint8_t spki[PKI_SPKI_MAX], got[PKI_SPKI_MAX];
    struct crypto_x509 leaf;
    long spki_len, got_len, len;
    bool ok;

    if (key == NULL) {
        return -1;
    }
    spki_len = crypto_key_spki_der(key, spki, sizeof(spki));
    len = spki_len > 0 ? pki->issue(pki->issue_ctx, spki, (size_t)spki_len,
                                    now_s, der, sizeof(der))
                       : -1;
    if (len <= 0 || (size_t)len > NSM_CERT_MAX ||
        crypto_x509_parse(&leaf, der, (size_t)len) != 0) {
        tv_err("pki: no leaf certificate from the issuer");
        crypto_key_free(key);
        return -1;
    }
    /* what comes back must certify our key, under our intermediate */
    got_len =
        leaf.key != NULL ? crypto_key_spki_der(leaf.key, got, sizeof(got)) : -1;
    ok = got_len == spki_len && memcmp(got, spki, (size_t)spki_len) == 0 &&
         crypto_x509_issuer_matches(&leaf, &pki->inter) &&
         crypto_x509_signed_by(&leaf, &pki->inter) &&
         leaf.not_after_s > leaf.not_before_s && leaf.not_before_s >= 0;
    if (!ok) {
        crypto_x509_release(&leaf);
        tv_err("pki: the issuer's leaf does not certify our key under the "
               "intermediate");
        crypto_key_free(key);
        return -1;
    }
    crypto_key_free(pki->leaf_key);
    pki->leaf_key = key;
    memcpy(pki->leaf_der, der, (size_t)len);
    pki->leaf_len = (size_t)len;
    pki->leaf_not_before_ms = (uint64_t)leaf.not_before_s * 1000;
    pki->renew_at_ms =
        leaf.not_after_s > PKI_LEAF_RENEW_S
            ? (uint64_t)(leaf.not_after_s - PKI_LEAF_RENEW_S) * 1000
            : 0;
    crypto_x509_release(&leaf);
    pki->signer.key = key;
    pki->signer.cert = pki->leaf_der;
    pki->signer.cert_len = pki->leaf_len;
    return 0;
}

/* pki_open()'s issuer: the CA in this process. */
static long own_ca_issue(void *ctx, const uint8_t *spki, size_t spki_len,
                         int64_t now_s, uint8_t *der, size_t cap)
{
    return pki_ca_issue_leaf(ctx, spki, spki_len, now_s, der, cap);
}

/* see pki.h */
struct pki *pki_open_issuer(const uint8_t *root_der, size_t root_len,
                            const uint8_t *inter_der, size_t inter_len,
                            pki_issue_fn issue, void *issue_ctx, char *err,
                            size_t err_len)
{
    struct crypto_x509 root;
    struct pki *pki;

    if (root_len == 0 || root_len > NSM_CERT_MAX || inter_len == 0 ||
        inter_len > NSM_CERT_MAX) {
        tv_set_err(err, err_len, "chain certificates missing or too large");
        return NULL;
    }
    pki = calloc(1, sizeof(*pki));
    if (pki == NULL) {
        tv_set_err(err, err_len, "out of memory");
        return NULL;
    }
    memcpy(pki->root_der, root_der, root_len);
    pki->root_len = root_len;
    memcpy(pki->inter_der, inter_der, inter_len);
    pki->inter_len = inter_len;
    pki->issue = issue;
    pki->issue_ctx = issue_ctx;
    if (crypto_x509_parse(&root, pki->root_der, pki->root_len) != 0) {
        tv_set_err(err, err_len, "root: not a certificate");
        goto err_free;
    }
    if (crypto_x509_parse(&pki->inter, pki->inter_der, pki->inter_len) != 0) {
        crypto_x509_release(&root);
        tv_set_err(err, err_len, "intermediate: not a certificate");
        goto err_free;
    }
    if (!crypto_x509_issuer_matches(&pki->inter, &root) ||
        !crypto_x509_signed_by(&pki->inter, &root)) {
        crypto_x509_release(&root);
        tv_set_err(err, err_len, "intermediate is not issued by the root");
        goto err_inter;
    }
    crypto_x509_release(&root);
    if (renew_leaf(pki, tv_wall_s()) != 0) {
        tv_set_err(err, err_len, "cannot issue a leaf certificate");
        goto err_inter;
    }
    pki->signer.cabundle[0] = pki->root_der;
    pki->signer.cabundle_len[0] = pki->root_len;
    pki->signer.cabundle[1] = pki->inter_der;
    pki->signer.cabundle_len[1] = pki->inter_len;
    pki->signer.n_cabundle = 2;
    return pki;

err_inter:
    crypto_x509_release(&pki->inter);
err_free:
    free(pki);
    return NULL;
}

/* see pki.h */
struct pki *pki_open(const char *dir, const char *module_id,
                     bool create_if_empty, char *err, size_t err_len)
{
    struct pki_ca *ca =
        pki_ca_open(dir, module_id, create_if_empty, err, err_len);
    struct pki *pki;

    if (ca == NULL) {
        return NULL;
    }
    pki = pki_open_issuer(ca->root_der, ca->root_len, ca->inter_der,
                          ca->inter_len, own_ca_issue, ca, err, err_len);
    if (pki == NULL) {
        pki_ca_close(ca);
        return NULL;
    }
    pki->own_ca = ca;
    return pki;
}

/* see pki.h: the hot path is the two comparisons */
int pki_get_signer(void *ctx, uint64_t now_ms, const struct nsm_signer **signer)
{
    struct pki *pki = ctx;

    if (now_ms >= pki->renew_at_ms || now_ms < pki->leaf_not_before_ms) {
        if (renew_leaf(pki, (int64_t)(now_ms / 1000)) != 0) {
            return -1;
        }
    }
    *signer = &pki->signer;
    return 0;
}

/* see pki.h */
const uint8_t *pki_root_der(const struct pki *pki, size_t *len)
{
    *len = pki->root_len;
    return pki->root_der;
}

/* see pki.h: OpenSSL cleanses EC private keys when they are freed */
void pki_close(struct pki *pki)
{
    if (pki == NULL) {
        return;
    }
    crypto_key_free(pki->leaf_key);
    crypto_x509_release(&pki->inter);
    pki_ca_close(pki->own_ca);
    wipe(pki, sizeof(*pki));
    free(pki);
}
