/* SPDX-License-Identifier: MIT */
/*
 * X.509 through OpenSSL: decoding into plain fields, one-signature checks,
 * issuing for the local PKI, and OpenSSL's own chain check as a reference.
 * The chain decisions of the attestation verifier are not made here.
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
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "crypto/crypto.h"

static X509 *x509_of(const struct crypto_x509 *c)
{
    return (X509 *)c->impl;
}

static EVP_PKEY *pkey(const struct crypto_key *k)
{
    return (EVP_PKEY *)(uintptr_t)k;
}

static bool is_p384(const EVP_PKEY *k)
{
    char group[32];
    size_t group_len = 0;

    if (k == NULL || !EVP_PKEY_is_a(k, "EC")) {
        return false;
    }
    if (EVP_PKEY_get_group_name(k, group, sizeof(group), &group_len) != 1) {
        return false;
    }
    return strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0;
}

static int asn1_time_s(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return -1;
    }
    *out = (int64_t)timegm(&tm);
    return 0;
}

/*
 * Walk the extensions once: the two we interpret are decoded, the key
 * identifiers are recognised, anything else that is critical is counted so
 * the verifier can refuse it (RFC 5280 §4.2).
 */
static void scan_extensions(struct crypto_x509 *c, X509 *x)
{
    int n = X509_get_ext_count(x);
    bool seen_bc = false, seen_ku = false, seen_ski = false, seen_aki = false;

    for (int i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        bool crit = X509_EXTENSION_get_critical(ext) > 0;

        switch (nid) {
        case NID_basic_constraints: {
            BASIC_CONSTRAINTS *bc = X509V3_EXT_d2i(ext);

            if (seen_bc || bc == NULL) {
                c->bad_extension = true;
                BASIC_CONSTRAINTS_free(bc);
                break;
            }
            seen_bc = true;
            c->bc_present = true;
            c->bc_critical = crit;
            c->bc_ca = bc->ca != 0;
            if (bc->pathlen != NULL) {
                long v = ASN1_INTEGER_get(bc->pathlen);

                if (v < 0 || v > 255) {
                    c->bad_extension = true;
                } else {
                    c->bc_pathlen = (int)v;
                }
            }
            BASIC_CONSTRAINTS_free(bc);
            break;
        }
        case NID_key_usage: {
            ASN1_BIT_STRING *ku = X509V3_EXT_d2i(ext);

            if (seen_ku || ku == NULL) {
                c->bad_extension = true;
                ASN1_BIT_STRING_free(ku);
                break;
            }
            seen_ku = true;
            c->ku_present = true;
            c->ku_critical = crit;
            for (int bit = 0; bit < 9; bit++) {
                if (ASN1_BIT_STRING_get_bit(ku, bit)) {
                    c->ku_bits |= 1u << bit;
                }
            }
            ASN1_BIT_STRING_free(ku);
            break;
        }
        case NID_subject_key_identifier:
            c->bad_extension |= seen_ski;
            seen_ski = true;
            break;
        case NID_authority_key_identifier:
            c->bad_extension |= seen_aki;
            seen_aki = true;
            break;
        default:
            if (crit) {
                c->unknown_critical++;
            }
            break;
        }
    }
}

/* see x509.h */
int crypto_x509_parse(struct crypto_x509 *c, const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    const ASN1_INTEGER *serial;
    const X509_ALGOR *outer, *inner;
    X509 *x;

    memset(c, 0, sizeof(*c));
    c->bc_pathlen = -1;
    if (len == 0 || len > (size_t)INT32_MAX) {
        return -1;
    }
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        ERR_clear_error();
        return -1;
    }
    if (p != der + len) {
        goto err_free; /* trailing bytes after the certificate */
    }
    if (asn1_time_s(X509_get0_notBefore(x), &c->not_before_s) != 0 ||
        asn1_time_s(X509_get0_notAfter(x), &c->not_after_s) != 0) {
        goto err_free;
    }
    X509_get0_signature(NULL, &outer, x);
    inner = X509_get0_tbs_sigalg(x);
    c->sig_es384 = X509_get_signature_nid(x) == NID_ecdsa_with_SHA384 &&
                   outer != NULL && inner != NULL &&
                   X509_ALGOR_cmp(outer, inner) == 0;
    c->key = (const struct crypto_key *)X509_get0_pubkey(x);
    c->key_p384 = is_p384(X509_get0_pubkey(x));
    serial = X509_get0_serialNumber(x);
    if (serial != NULL && ASN1_STRING_length(serial) > 0 &&
        (size_t)ASN1_STRING_length(serial) <= sizeof(c->serial)) {
        c->serial_len = (size_t)ASN1_STRING_length(serial);
        memcpy(c->serial, ASN1_STRING_get0_data(serial), c->serial_len);
    }
    scan_extensions(c, x);
    ERR_clear_error();
    c->impl = x;
    return 0;

err_free:
    X509_free(x);
    ERR_clear_error();
    return -1;
}

/* see x509.h */
void crypto_x509_release(struct crypto_x509 *c)
{
    X509_free(x509_of(c));
    c->impl = NULL;
    c->key = NULL;
}

/* see x509.h */
bool crypto_x509_issuer_matches(const struct crypto_x509 *child,
                                const struct crypto_x509 *parent)
{
    return X509_NAME_cmp(X509_get_issuer_name(x509_of(child)),
                         X509_get_subject_name(x509_of(parent))) == 0;
}

/* see x509.h: X509_verify checks the cached TBS encoding, nothing else */
bool crypto_x509_signed_by(const struct crypto_x509 *child,
                           const struct crypto_x509 *parent)
{
    bool ok;

    if (!child->sig_es384 || !parent->key_p384) {
        return false;
    }
    ok = X509_verify(x509_of(child), X509_get0_pubkey(x509_of(parent))) == 1;
    ERR_clear_error();
    return ok;
}

static char *name_line(const X509_NAME *name, char *buf, size_t cap)
{
    BIO *b;
    int n;

    if (cap == 0) {
        return buf;
    }
    buf[0] = '\0';
    b = BIO_new(BIO_s_mem());
    if (b == NULL) {
        return buf;
    }
    if (X509_NAME_print_ex(b, name, 0,
                           XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB &
                               ~XN_FLAG_SPC_EQ) >= 0) {
        n = BIO_read(b, buf, (int)(cap > INT32_MAX ? INT32_MAX : cap - 1));
        buf[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
    return buf;
}

/* see x509.h */
char *crypto_x509_subject(const struct crypto_x509 *c, char *buf, size_t cap)
{
    return name_line(X509_get_subject_name(x509_of(c)), buf, cap);
}

/* see x509.h */
char *crypto_x509_issuer(const struct crypto_x509 *c, char *buf, size_t cap)
{
    return name_line(X509_get_issuer_name(x509_of(c)), buf, cap);
}

/*
 * One DER INTEGER from a 48-byte big-endian magnitude: leading zeros go, a
 * 00 is prepended when the top bit is set. Returns the bytes written.
 */
static size_t der_uint48(const uint8_t v[48], uint8_t *out)
{
    size_t skip = 0, n;

    while (skip < 47 && v[skip] == 0) {
        skip++;
    }
    n = 48 - skip;
    out[0] = 0x02;
    if (v[skip] & 0x80) {
        out[1] = (uint8_t)(n + 1);
        out[2] = 0x00;
        memcpy(out + 3, v + skip, n);
        return n + 3;
    }
    out[1] = (uint8_t)n;
    memcpy(out + 2, v + skip, n);
    return n + 2;
}

/* see x509.h: r || s becomes ECDSA-Sig-Value DER without BIGNUMs */
bool crypto_ecdsa_p384_verify2(const struct crypto_key *key, const void *a,
                               size_t a_len, const void *b, size_t b_len,
                               const uint8_t sig[96])
{
    uint8_t der[2 + 2 * 51];
    size_t n;
    EVP_MD_CTX *ctx;
    bool ok = false;

    if (key == NULL || crypto_init() != 0 || !is_p384(pkey(key))) {
        return false;
    }
    n = der_uint48(sig, der + 2);
    n += der_uint48(sig + 48, der + 2 + n);
    der[0] = 0x30;
    der[1] = (uint8_t)n;
    ctx = EVP_MD_CTX_new();
    if (ctx != NULL &&
        EVP_DigestVerifyInit_ex(ctx, NULL, "SHA384", NULL, NULL, pkey(key),
                                NULL) == 1 &&
        (a_len == 0 || EVP_DigestVerifyUpdate(ctx, a, a_len) == 1) &&
        (b_len == 0 || EVP_DigestVerifyUpdate(ctx, b, b_len) == 1) &&
        EVP_DigestVerifyFinal(ctx, der, n + 2) == 1) {
        ok = true;
    }
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

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
    X509_NAME *name = NULL;
    ASN1_INTEGER *serial = NULL;
    BIGNUM *bn = NULL;
    X509 *x;
    char value[160];
    long rc = -1;
    int len;
    unsigned char *p = out;

    if (t->serial_len == 0 || t->serial_len > CRYPTO_X509_SERIAL_MAX ||
        t->subject_key == NULL || issuer_key == NULL || t->cn == NULL ||
        t->org == NULL || t->not_after_s <= t->not_before_s) {
        return -1;
    }
    x = X509_new();
    if (x == NULL) {
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
        X509_set_issuer_name(x, issuer != NULL
                                    ? X509_get_subject_name(x509_of(issuer))
                                    : name) != 1 ||
        set_time(X509_getm_notBefore(x), t->not_before_s) != 0 ||
        set_time(X509_getm_notAfter(x), t->not_after_s) != 0 ||
        X509_set_pubkey(x, pkey(t->subject_key)) != 1) {
        goto err_free;
    }

    X509V3_set_ctx(&v3, issuer != NULL ? x509_of(issuer) : x, x, NULL, NULL,
                   0);
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
    return rc;
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
    char tmp[4096];
    X509 *x;
    FILE *f;
    int fd, ok;

    if (len > (size_t)INT32_MAX ||
        snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        return -1;
    }
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        ERR_clear_error();
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        tv_err("%s: %s", tmp, strerror(errno));
        X509_free(x);
        return -1;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        X509_free(x);
        return -1;
    }
    ok = PEM_write_X509(f, x) == 1;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    X509_free(x);
    if (!ok || rename(tmp, path) != 0) {
        tv_err("%s: cannot write certificate", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

static X509 *d2i_exact(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;

    if (len == 0 || len > (size_t)INT32_MAX) {
        return NULL;
    }
    x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != der + len) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static void set_err(char *err, size_t err_len, const char *msg)
{
    if (err != NULL && err_len > 0) {
        snprintf(err, err_len, "%s", msg);
    }
}

/* see x509.h: deliberately OpenSSL's logic end to end, for comparison */
int crypto_x509_verify_chain_openssl(const uint8_t *root, size_t root_len,
                                     const uint8_t *const *inter,
                                     const size_t *inter_len, size_t n_inter,
                                     const uint8_t *leaf, size_t leaf_len,
                                     int64_t at_s, char *err, size_t err_len)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509 *root_x = d2i_exact(root, root_len);
    X509 *leaf_x = d2i_exact(leaf, leaf_len);
    X509_VERIFY_PARAM *param;
    int rc = -1;

    set_err(err, err_len, "cannot set up the OpenSSL check");
    if (store == NULL || ctx == NULL || untrusted == NULL) {
        goto out;
    }
    if (root_x == NULL || leaf_x == NULL) {
        set_err(err, err_len, "certificate does not decode");
        goto out;
    }
    for (size_t i = 0; i < n_inter; i++) {
        X509 *x = d2i_exact(inter[i], inter_len[i]);

        if (x == NULL || !sk_X509_push(untrusted, x)) {
            X509_free(x);
            set_err(err, err_len, "intermediate does not decode");
            goto out;
        }
    }
    if (X509_STORE_add_cert(store, root_x) != 1 ||
        X509_STORE_CTX_init(ctx, store, leaf_x, untrusted) != 1) {
        goto out;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)at_s);
    if (X509_verify_cert(ctx) == 1) {
        rc = 0;
        set_err(err, err_len, "ok");
    } else {
        set_err(err, err_len,
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }

out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(root_x);
    X509_free(leaf_x);
    return rc;
}

/* see x509.h */
char *crypto_x509_time_str(int64_t t_s, char *buf, size_t cap)
{
    time_t t = (time_t)t_s;
    struct tm tm;

    if (cap == 0) {
        return buf;
    }
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, cap, "%lld", (long long)t_s);
    }
    return buf;
}
