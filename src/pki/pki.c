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
 * struct pki - a loaded PKI and the current leaf.
 * All certificate buffers are inside the struct so the signer's pointers
 * need no further allocation.
 */
struct pki {
    char dir[PATH_MAX];                     /* the PKI directory */
    char module_id[NSM_MODULE_ID_MAX + 1];  /* device module id */
    uint8_t enclave_id[8];                  /* first half of leaf serials */
    uint8_t root_der[CRYPTO_X509_DER_MAX];  /* root certificate */
    size_t root_len;                        /* bytes in root_der */
    uint8_t inter_der[CRYPTO_X509_DER_MAX]; /* intermediate certificate */
    size_t inter_len;                       /* bytes in inter_der */
    struct crypto_x509 inter;               /* intermediate, parsed */
    struct crypto_key *inter_key;           /* intermediate private key */
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

/* Issue a fresh leaf valid from @now_s; the old one stays on failure. */
static int renew_leaf(struct pki *pki, int64_t now_s)
{
    struct crypto_key *key = crypto_key_generate_p384();
    uint8_t der[CRYPTO_X509_DER_MAX];
    uint8_t serial[16];
    char cn[NSM_MODULE_ID_MAX + 16];
    int64_t not_before_s = now_s - PKI_BACKDATE_S;
    int64_t not_after_s = now_s + PKI_LEAF_LIFETIME_S;
    long len;

    if (key == NULL) {
        return -1;
    }
    if (not_before_s < 0) {
        not_before_s = 0;
    }
    /* never outlive the issuer: the chain must hold for the whole window */
    if (not_after_s > pki->inter.not_after_s) {
        not_after_s = pki->inter.not_after_s;
    }
    if (not_after_s <= now_s) {
        tv_err("pki: intermediate certificate has expired; "
               "create a new PKI");
        crypto_key_free(key);
        return -1;
    }
    memcpy(serial, pki->enclave_id, 8);
    for (int i = 0; i < 8; i++) {
        serial[8 + i] = (uint8_t)((uint64_t)now_s >> (56 - 8 * i));
    }
    snprintf(cn, sizeof(cn), "%s.trustvio", pki->module_id);
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

        len = crypto_x509_issue(&t, &pki->inter, pki->inter_key, der,
                                sizeof(der));
    }
    if (len < 0 || (size_t)len > NSM_CERT_MAX) {
        tv_err("pki: cannot issue the leaf certificate");
        crypto_key_free(key);
        return -1;
    }
    crypto_key_free(pki->leaf_key);
    pki->leaf_key = key;
    memcpy(pki->leaf_der, der, (size_t)len);
    pki->leaf_len = (size_t)len;
    pki->leaf_not_before_ms = (uint64_t)not_before_s * 1000;
    pki->renew_at_ms = (uint64_t)(not_after_s - PKI_LEAF_RENEW_S) * 1000;
    pki->signer.key = key;
    pki->signer.cert = pki->leaf_der;
    pki->signer.cert_len = pki->leaf_len;
    return 0;
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

/* The private key in @name must belong to the certificate @c. */
static struct crypto_key *load_key_for(const char *dir, const char *name,
                                       const struct crypto_x509 *c, char *err,
                                       size_t err_len)
{
    uint8_t a[512], b[512];
    char path[PATH_MAX];
    struct crypto_key *key;
    long a_len, b_len;

    if (path_in(path, sizeof(path), dir, name) != 0) {
        tv_set_err(err, err_len, "%s: path too long", dir);
        return NULL;
    }
    key = crypto_key_load_pem(path);
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

/* see pki.h */
struct pki *pki_open(const char *dir, const char *module_id,
                     bool create_if_empty, char *err, size_t err_len)
{
    struct crypto_x509 root;
    struct pki *pki;
    char path[PATH_MAX];

    if (module_id == NULL || module_id[0] == '\0' ||
        strlen(module_id) > NSM_MODULE_ID_MAX) {
        tv_set_err(err, err_len, "module id must be 1..%d bytes",
                   NSM_MODULE_ID_MAX);
        return NULL;
    }
    if (strlen(dir) >= sizeof(pki->dir)) {
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
    pki = calloc(1, sizeof(*pki));
    if (pki == NULL) {
        tv_set_err(err, err_len, "out of memory");
        return NULL;
    }
    snprintf(pki->dir, sizeof(pki->dir), "%s", dir);
    snprintf(pki->module_id, sizeof(pki->module_id), "%s", module_id);
    derive_enclave_id(module_id, pki->enclave_id);

    if (load_cert(dir, "root.pem", pki->root_der, &pki->root_len, err,
                  err_len) != 0 ||
        load_cert(dir, "intermediate.pem", pki->inter_der, &pki->inter_len, err,
                  err_len) != 0) {
        goto err_free;
    }
    if (crypto_x509_parse(&root, pki->root_der, pki->root_len) != 0) {
        tv_set_err(err, err_len, "%s/root.pem: not a certificate", dir);
        goto err_free;
    }
    if (crypto_x509_parse(&pki->inter, pki->inter_der, pki->inter_len) != 0) {
        crypto_x509_release(&root);
        tv_set_err(err, err_len, "%s/intermediate.pem: not a certificate", dir);
        goto err_free;
    }
    if (!crypto_x509_issuer_matches(&pki->inter, &root) ||
        !crypto_x509_signed_by(&pki->inter, &root)) {
        crypto_x509_release(&root);
        tv_set_err(err, err_len,
                   "%s: intermediate.pem is not issued by root.pem", dir);
        goto err_inter;
    }
    crypto_x509_release(&root);
    if (pki->inter.not_after_s - tv_wall_s() < 30LL * 24 * 3600) {
        tv_warn("pki: %s/intermediate.pem expires within 30 days; leaves "
                "are cut short to its notAfter and then refused",
                dir);
    }
    pki->inter_key =
        load_key_for(dir, "intermediate.key", &pki->inter, err, err_len);
    if (pki->inter_key == NULL) {
        goto err_inter;
    }
    if (renew_leaf(pki, tv_wall_s()) != 0) {
        tv_set_err(err, err_len, "cannot issue a leaf certificate");
        goto err_key;
    }
    pki->signer.cabundle[0] = pki->root_der;
    pki->signer.cabundle_len[0] = pki->root_len;
    pki->signer.cabundle[1] = pki->inter_der;
    pki->signer.cabundle_len[1] = pki->inter_len;
    pki->signer.n_cabundle = 2;
    return pki;

err_key:
    crypto_key_free(pki->inter_key);
err_inter:
    crypto_x509_release(&pki->inter);
err_free:
    free(pki);
    return NULL;
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
    crypto_key_free(pki->inter_key);
    crypto_x509_release(&pki->inter);
    wipe(pki, sizeof(*pki));
    free(pki);
}
