/* SPDX-License-Identifier: MIT */
/*
 * Issuing X.509 through OpenSSL for the local PKI, and the PEM/DER file
 * helpers. Reading certificates lives in x509_parse.c.
 */
#include "crypto/x509.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/atomic_file.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/x509_int.h"

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    int ok;

    if (ext == NULL) {
        return -1;
    }
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static void ku_string(uint32_t bits, bool critical, char *buf, size_t cap)
{
    static const char *const names[] = {
        "digitalSignature", "nonRepudiation", "keyEncipherment",
        "dataEncipherment", "keyAgreement",   "keyCertSign",
        "cRLSign",
    };
    size_t len = 0;

    buf[0] = '\0';
    if (critical) {
        len += (size_t)snprintf(buf, cap, "critical");
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((bits & (1u << i)) && len < cap) {
            len += (size_t)snprintf(buf + len, cap - len, "%s%s",
                                    len ? "," : "", names[i]);
        }
    }
}

static int set_time(ASN1_TIME *t, int64_t s)
{
    return ASN1_TIME_set(t, (time_t)s) != NULL ? 0 : -1;
}

/* see x509.h */
long crypto_x509_issue(const struct crypto_x509_template *t,
                       const struct crypto_x509 *issuer,
                       const struct crypto_key *issuer_key, uint8_t *out,
                       size_t cap)
{
    X509V3_CTX v3;
    X509 *issuer_x = NULL;
    X509_NAME *name = NULL;
    ASN1_INTEGER *serial = NULL;
    BIGNUM *bn = NULL;
    X509 *x;
    char value[160];
    long rc = -1;
    int len;
    unsigned char *p = out;
    bool serial_zero = true;

    for (size_t i = 0; i < t->serial_len && i < CRYPTO_X509_SERIAL_MAX; i++) {
        serial_zero = serial_zero && t->serial[i] == 0;
    }
    /* RFC 5280 §4.1.2.2: positive; the bytes are unsigned, so not zero */
    if (t->serial_len == 0 || t->serial_len > CRYPTO_X509_SERIAL_MAX ||
        serial_zero || t->subject_key == NULL || issuer_key == NULL ||
        t->cn == NULL || t->org == NULL || t->not_after_s <= t->not_before_s) {
        return -1;
    }
    if (issuer != NULL && (issuer_x = crypto_x509_d2i_exact(
                               issuer->der, issuer->der_len)) == NULL) {
        return -1;
    }
    x = X509_new();
    if (x == NULL) {
        X509_free(issuer_x);
        return -1;
    }
    bn = BN_bin2bn(t->serial, (int)t->serial_len, NULL);
    serial = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    name = X509_NAME_new();
    if (serial == NULL || name == NULL || X509_set_version(x, 2) != 1 ||
        X509_set_serialNumber(x, serial) != 1 ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   (const unsigned char *)t->org, -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   (const unsigned char *)t->cn, -1, -1,
                                   0) != 1 ||
        X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer_x)
                                               : name) != 1 ||
        set_time(X509_getm_notBefore(x), t->not_before_s) != 0 ||
        set_time(X509_getm_notAfter(x), t->not_after_s) != 0 ||
        X509_set_pubkey(x, pkey(t->subject_key)) != 1) {
        goto err_free;
    }

    X509V3_set_ctx(&v3, issuer_x != NULL ? issuer_x : x, x, NULL, NULL, 0);
    if (t->ca && t->pathlen >= 0) {
        snprintf(value, sizeof(value), "critical,CA:TRUE,pathlen:%d",
                 t->pathlen);
    } else {
        snprintf(value, sizeof(value), "critical,CA:%s",
                 t->ca ? "TRUE" : "FALSE");
    }
    if (add_ext(x, &v3, NID_basic_constraints, value) != 0) {
        goto err_free;
    }
    ku_string(t->ku_bits, t->ku_critical, value, sizeof(value));
    if (t->ku_bits != 0 && add_ext(x, &v3, NID_key_usage, value) != 0) {
        goto err_free;
    }
    if (add_ext(x, &v3, NID_subject_key_identifier, "hash") != 0 ||
        add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") != 0) {
        goto err_free;
    }
    if (X509_sign(x, pkey(issuer_key), EVP_sha384()) <= 0) {
        goto err_free;
    }
    len = i2d_X509(x, NULL);
    if (len <= 0 || (size_t)len > cap) {
        goto err_free;
    }
    rc = i2d_X509(x, &p);

err_free:
    ERR_clear_error();
    X509_NAME_free(name);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    X509_free(x);
    X509_free(issuer_x);
    return rc;
}

/*
 * The PEM CERTIFICATE (first block) or DER in @in when it is one
 * certificate crypto_x509_parse() accepts, into @out: 0 with the length in
 * *@rc (-1 when it does not fit), or -1 to leave it to OpenSSL.
 */
static int der_strict(const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t cap, long *rc)
{
    uint8_t der[CRYPTO_X509_DER_MAX];
    struct crypto_x509 c;
    long n;

    n = crypto_pem_decode(in, in_len, "CERTIFICATE", der, sizeof(der));
    if (n < 0 && in_len <= sizeof(der)) {
        memcpy(der, in, in_len);
        n = (long)in_len;
    }
    if (n <= 0 || crypto_x509_parse(&c, der, (size_t)n) != 0) {
        return -1;
    }
    crypto_x509_release(&c);
    *rc = (size_t)n <= cap ? n : -1;
    if (*rc > 0) {
        memcpy(out, der, (size_t)n);
    }
    return 0;
}

/* see x509.h */
long crypto_x509_to_der(const uint8_t *in, size_t in_len, uint8_t *out,
                        size_t cap)
{
    const unsigned char *p = in;
    unsigned char *q = out;
    X509 *x = NULL;
    BIO *b;
    long rc = -1;
    int len;

    if (in_len == 0 || in_len > (size_t)INT32_MAX) {
        return -1;
    }
    /*
     * A certificate in strict DER, as the PKI writes them, is taken as it
     * is (PEM armour taken off here), without OpenSSL's decoders: their
     * set-up would cost more code and heap than the rest of reading a PKI.
     * Anything else goes through OpenSSL, which also re-encodes it.
     */
    if (der_strict(in, in_len, out, cap, &rc) == 0) {
        return rc;
    }
    b = BIO_new_mem_buf(in, (int)in_len);
    if (b != NULL) {
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
    }
    if (x == NULL) {
        p = in;
        x = d2i_X509(NULL, &p, (long)in_len);
        if (x != NULL && p != in + in_len) {
            X509_free(x);
            x = NULL;
        }
    }
    if (x != NULL) {
        len = i2d_X509(x, NULL);
        if (len > 0 && (size_t)len <= cap) {
            rc = i2d_X509(x, &q);
        }
        X509_free(x);
    }
    ERR_clear_error();
    return rc;
}

/* see x509.h */
int crypto_x509_write_pem(const uint8_t *der, size_t len, const char *path)
{
    const unsigned char *p = der;
    BIO *bio;
    char *pem = NULL;
    long pem_len;
    X509 *x;
    int rc = -1;

    if (len > (size_t)INT32_MAX) {
        return -1;
    }
    x = d2i_X509(NULL, &p, (long)len);
    bio = BIO_new(BIO_s_mem());
    if (x != NULL && bio != NULL && PEM_write_bio_X509(bio, x) == 1 &&
        (pem_len = BIO_get_mem_data(bio, &pem)) > 0) {
        int e = tv_write_file_atomic(path, pem, (size_t)pem_len, 0644);

        if (e == 0) {
            rc = 0;
        } else {
            tv_err("%s: cannot write certificate: %s", path, strerror(-e));
        }
    }
    BIO_free(bio);
    X509_free(x);
    ERR_clear_error();
    return rc;
}
