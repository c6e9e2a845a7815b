/* SPDX-License-Identifier: MIT */
/*
 * `nsm pki init DIR` and `nsm pki show DIR`: create and inspect the local
 * PKI that vhost-user-nsm --pki DIR signs attestation documents with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/xmalloc.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "pki/pki.h"

int nsm_pki_main(int argc, char **argv);

static const char pki_usage[] =
    "Usage: nsm pki init DIR\n"
    "       nsm pki show DIR\n"
    "\n"
    "Manage the local PKI that stands in for the AWS Nitro certificate\n"
    "chain: vhost-user-nsm --pki DIR signs attestation documents with a\n"
    "short-lived leaf issued from it, and relying parties pin DIR/root.pem\n"
    "(nsm verify --root DIR/root.pem DOC).\n"
    "\n"
    "  init DIR   create DIR (mode 0700) with a P-384 root CA (30 years) and\n"
    "             an intermediate CA (10 years, pathLen 0): root.pem,\n"
    "             root.der, root.key, intermediate.pem, intermediate.key\n"
    "             (keys mode 0600). Refuses to overwrite an existing PKI.\n"
    "  show DIR   print the root's SHA-256 fingerprint and the subjects and\n"
    "             validity of both CA certificates\n"
    "\n"
    "Exit status: 0 on success, 1 when the operation fails, 2 for usage\n"
    "errors.\n";

static int read_cert(const char *dir, const char *name, uint8_t *der,
                     size_t cap, size_t *der_len)
{
    char path[4096];
    uint8_t *raw = xmalloc(16384);
    FILE *f;
    size_t n;
    long len;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "nsm pki: %s: %s\n", path, strerror(errno));
        free(raw);
        return -1;
    }
    n = fread(raw, 1, 16384, f);
    fclose(f);
    len = crypto_x509_to_der(raw, n, der, cap);
    free(raw);
    if (len <= 0) {
        fprintf(stderr, "nsm pki: %s: not a certificate\n", path);
        return -1;
    }
    *der_len = (size_t)len;
    return 0;
}

static void show_cert(const char *label, const uint8_t *der, size_t len)
{
    struct crypto_x509 c;
    char name[CRYPTO_X509_NAME_MAX], t0[32], t1[32];

    if (crypto_x509_parse(&c, der, len) != 0) {
        printf("%s: (does not decode)\n", label);
        return;
    }
    printf("%s\n", label);
    printf("  subject     %s\n", crypto_x509_subject(&c, name, sizeof(name)));
    printf("  issuer      %s\n", crypto_x509_issuer(&c, name, sizeof(name)));
    printf("  valid       %s to %s\n",
           crypto_x509_time_str(c.not_before_s, t0, sizeof(t0)),
           crypto_x509_time_str(c.not_after_s, t1, sizeof(t1)));
    printf("  CA          %s", c.bc_ca ? "yes" : "no");
    if (c.bc_pathlen >= 0) {
        printf(", pathLen %d", c.bc_pathlen);
    }
    printf("\n");
    crypto_x509_release(&c);
}

static int pki_show(const char *dir)
{
    static uint8_t root[CRYPTO_X509_DER_MAX], inter[CRYPTO_X509_DER_MAX];
    uint8_t fp[CRYPTO_SHA256_SIZE];
    char fp_hex[2 * CRYPTO_SHA256_SIZE + 1];
    size_t root_len, inter_len;

    if (read_cert(dir, "root.pem", root, sizeof(root), &root_len) != 0 ||
        read_cert(dir, "intermediate.pem", inter, sizeof(inter), &inter_len) !=
            0) {
        return 1;
    }
    if (crypto_sha256(root, root_len, fp) != 0) {
        fprintf(stderr, "nsm pki: SHA-256 failed\n");
        return 1;
    }
    hex_encode(fp, sizeof(fp), fp_hex);
    printf("directory     %s\n", dir);
    printf("root SHA-256  %s\n", fp_hex);
    show_cert("root", root, root_len);
    show_cert("intermediate", inter, inter_len);
    return 0;
}

/* see tools/nsm.c: `nsm pki ...`, argv[0] is "pki" */
int nsm_pki_main(int argc, char **argv)
{
    char err[512];

    if (argc >= 2 &&
        (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
         strcmp(argv[1], "help") == 0)) {
        fputs(pki_usage, stdout);
        return 0;
    }
    if (argc != 3 ||
        (strcmp(argv[1], "init") != 0 && strcmp(argv[1], "show") != 0)) {
        fprintf(stderr, "%s", pki_usage);
        return 2;
    }
    if (strcmp(argv[1], "init") == 0) {
        if (pki_init_dir(argv[2], err, sizeof(err)) != 0) {
            fprintf(stderr, "nsm pki init: %s\n", err);
            return 1;
        }
        printf("created a PKI in %s; relying parties pin %s/root.pem\n",
               argv[2], argv[2]);
        return pki_show(argv[2]);
    }
    return pki_show(argv[2]);
}
