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
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/atomic_file.h"
#include "common/err.h"
#include "common/log.h"
#include "crypto/crypto.h"

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

/*
 * A strict DER walker. Tags are one byte (X.509 needs no others); lengths
 * are definite and minimal (X.690 §10.1). A TLV never extends past its
 * enclosing value.
 */
struct der {
    const uint8_t *p; /* next byte */
    size_t len;       /* bytes left */
};

#define DER_BOOLEAN      0x01
#define DER_INTEGER      0x02
#define DER_BIT_STRING   0x03
#define DER_OCTET_STRING 0x04
#define DER_NULL         0x05
#define DER_OID          0x06
#define DER_UTC_TIME     0x17
#define DER_GEN_TIME     0x18
#define DER_SEQUENCE     0x30
#define DER_CTX(n)       (0xa0 | (n)) /* [n] constructed */
#define DER_CTX_PRIM(n)  (0x80 | (n)) /* [n] primitive */

/* Read one TLV; @tlv (optional) receives the whole element. */
static int der_next(struct der *d, uint8_t *tag, struct der *val,
                    struct der *tlv)
{
    const uint8_t *start = d->p;
    size_t n, hdr = 2;

    if (d->len < 2 || (d->p[0] & 0x1f) == 0x1f) {
        return -1;
    }
    *tag = d->p[0];
    n = d->p[1];
    if (n & 0x80) {
        size_t k = n & 0x7f;

        if (k == 0 || k > 4 || d->len < 2 + k || d->p[2] == 0) {
            return -1;
        }
        n = 0;
        for (size_t i = 0; i < k; i++) {
            n = n << 8 | d->p[2 + i];
        }
        if (n < 0x80) {
            return -1; /* long form for a short length */
        }
        hdr += k;
    }
    if (n > d->len - hdr) {
        return -1;
    }
    val->p = d->p + hdr;
    val->len = n;
    if (tlv != NULL) {
        tlv->p = start;
        tlv->len = hdr + n;
    }
    d->p += hdr + n;
    d->len -= hdr + n;
    return 0;
}

/* Read one TLV that must carry @want. */
static int der_expect(struct der *d, uint8_t want, struct der *val,
                      struct der *tlv)
{
    uint8_t tag;

    if (der_next(d, &tag, val, tlv) != 0 || tag != want) {
        return -1;
    }
    return 0;
}

static bool der_peek(const struct der *d, uint8_t tag)
{
    return d->len > 0 && d->p[0] == tag;
}

static bool der_eq(const struct der *v, const uint8_t *bytes, size_t len)
{
    return v->len == len && memcmp(v->p, bytes, len) == 0;
}

/* AlgorithmIdentifier ecdsa-with-SHA384 (1.2.840.10045.4.3.3), no params */
static const uint8_t alg_ecdsa_sha384[] = {
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
};
/* id-ecPublicKey 1.2.840.10045.2.1 and secp384r1 1.3.132.0.34 */
static const uint8_t oid_ec_public_key[] = {
    0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
};
static const uint8_t oid_secp384r1[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
/* id-ce 2.5.29.x */
static const uint8_t oid_ce_prefix[] = {0x55, 0x1d};
#define CE_SUBJECT_KEY_ID    14
#define CE_KEY_USAGE         15
#define CE_BASIC_CONSTRAINTS 19
#define CE_AUTHORITY_KEY_ID  35

static int two_digits(const uint8_t *p, int *out)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') {
        return -1;
    }
    *out = (p[0] - '0') * 10 + (p[1] - '0');
    return 0;
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280). */
static int der_time(struct der *d, int64_t *out_s)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    struct der v;
    uint8_t tag;
    int yy, cc = 0, mo, dd, hh, mi, ss, year;
    const uint8_t *p;
    int64_t days;

    if (der_next(d, &tag, &v, NULL) != 0) {
        return -1;
    }
    if (tag == DER_UTC_TIME && v.len == 13) {
        p = v.p;
        if (two_digits(p, &yy) != 0) {
            return -1;
        }
        year = yy < 50 ? 2000 + yy : 1900 + yy;
        p += 2;
    } else if (tag == DER_GEN_TIME && v.len == 15) {
        p = v.p;
        if (two_digits(p, &cc) != 0 || two_digits(p + 2, &yy) != 0) {
            return -1;
        }
        year = cc * 100 + yy;
        p += 4;
    } else {
        return -1;
    }
    if (two_digits(p, &mo) != 0 || two_digits(p + 2, &dd) != 0 ||
        two_digits(p + 4, &hh) != 0 || two_digits(p + 6, &mi) != 0 ||
        two_digits(p + 8, &ss) != 0 || p[10] != 'Z' || mo < 1 || mo > 12 ||
        dd < 1 || dd > mdays[mo - 1] || hh > 23 || mi > 59 || ss > 59) {
        return -1;
    }
    /* days from civil (proleptic Gregorian), Howard Hinnant's method */
    {
        int y = year - (mo <= 2);
        int era = (y >= 0 ? y : y - 399) / 400;
        int yoe = y - era * 400;
        int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
        int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

        days = (int64_t)era * 146097 + doe - 719468;
    }
    *out_s = days * 86400 + hh * 3600 + mi * 60 + ss;
    return 0;
}

/* basicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLen INT } */
static int ext_basic_constraints(struct crypto_x509 *c, struct der v)
{
    struct der seq, b;

    if (der_expect(&v, DER_SEQUENCE, &seq, NULL) != 0 || v.len != 0) {
        return -1;
    }
    if (der_peek(&seq, DER_BOOLEAN)) {
        if (der_expect(&seq, DER_BOOLEAN, &b, NULL) != 0 || b.len != 1 ||
            b.p[0] != 0xff) {
            return -1; /* DER: a DEFAULT FALSE is omitted, TRUE is ff */
        }
        c->bc_ca = true;
    }
    if (der_peek(&seq, DER_INTEGER)) {
        if (der_expect(&seq, DER_INTEGER, &b, NULL) != 0 || b.len != 1 ||
            (b.p[0] & 0x80)) {
            return -1; /* pathLen 0..127 */
        }
        c->bc_pathlen = b.p[0];
    }
    return seq.len == 0 ? 0 : -1;
}

/* keyUsage ::= BIT STRING */
static int ext_key_usage(struct crypto_x509 *c, struct der v)
{
    struct der bits;

    if (der_expect(&v, DER_BIT_STRING, &bits, NULL) != 0 || v.len != 0 ||
        bits.len < 1 || bits.len > 3 || bits.p[0] > 7 ||
        (bits.len == 1 && bits.p[0] != 0)) {
        return -1;
    }
    for (size_t i = 1; i < bits.len; i++) {
        for (int b = 0; b < 8; b++) {
            if (bits.p[i] & (0x80 >> b)) {
                c->ku_bits |= 1u << ((i - 1) * 8 + (size_t)b);
            }
        }
    }
    return 0;
}

/*
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
 * Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
 *                          extnValue OCTET STRING }
 * The two we interpret are decoded, the key identifiers recognised,
 * anything else that is critical is counted so the verifier can refuse it
 * (RFC 5280 §4.2).
 */
static int parse_extensions(struct crypto_x509 *c, struct der exts)
{
    bool seen_bc = false, seen_ku = false, seen_ski = false, seen_aki = false;
    struct der list;

    if (der_expect(&exts, DER_SEQUENCE, &list, NULL) != 0 || exts.len != 0 ||
        list.len == 0) {
        return -1;
    }
    while (list.len > 0) {
        struct der ext, oid, b, val;
        bool crit = false;
        int id = -1;

        if (der_expect(&list, DER_SEQUENCE, &ext, NULL) != 0 ||
            der_expect(&ext, DER_OID, &oid, NULL) != 0) {
            return -1;
        }
        if (der_peek(&ext, DER_BOOLEAN)) {
            if (der_expect(&ext, DER_BOOLEAN, &b, NULL) != 0 || b.len != 1 ||
                b.p[0] != 0xff) {
                return -1;
            }
            crit = true;
        }
        if (der_expect(&ext, DER_OCTET_STRING, &val, NULL) != 0 ||
            ext.len != 0) {
            return -1;
        }
        if (oid.len == 3 && memcmp(oid.p, oid_ce_prefix, 2) == 0) {
            id = oid.p[2];
        }
        switch (id) {
        case CE_BASIC_CONSTRAINTS:
            if (seen_bc || ext_basic_constraints(c, val) != 0) {
                c->bad_extension = true;
            }
            seen_bc = true;
            c->bc_present = true;
            c->bc_critical = crit;
            break;
        case CE_KEY_USAGE:
            if (seen_ku || ext_key_usage(c, val) != 0) {
                c->bad_extension = true;
            }
            seen_ku = true;
            c->ku_present = true;
            c->ku_critical = crit;
            break;
        case CE_SUBJECT_KEY_ID:
            c->bad_extension |= seen_ski;
            seen_ski = true;
            break;
        case CE_AUTHORITY_KEY_ID:
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
    return 0;
}

/*
 * The EC public key from an uncompressed P-384 point, built through the
 * provider's key management directly: the SubjectPublicKeyInfo decoders of
 * OpenSSL 3.0 cost more than an ECDSA verification.
 */
static EVP_PKEY *p384_key_from_point(const uint8_t *point, size_t len)
{
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *k = NULL;

    if (len != 97 || point[0] != 0x04) {
        return NULL;
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL) {
        return NULL;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *)"secp384r1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  (void *)point, len);
    params[2] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        k = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return k;
}

/* SubjectPublicKeyInfo: only EC P-384 gives a key; others parse, keyless. */
static int parse_spki(struct crypto_x509 *c, struct der spki)
{
    struct der alg, oid, curve, bits;

    if (der_expect(&spki, DER_SEQUENCE, &alg, NULL) != 0 ||
        der_expect(&spki, DER_BIT_STRING, &bits, NULL) != 0 || spki.len != 0 ||
        der_expect(&alg, DER_OID, &oid, NULL) != 0 || bits.len < 1) {
        return -1;
    }
    if (!der_eq(&oid, oid_ec_public_key, sizeof(oid_ec_public_key)) ||
        der_expect(&alg, DER_OID, &curve, NULL) != 0 || alg.len != 0 ||
        !der_eq(&curve, oid_secp384r1, sizeof(oid_secp384r1)) ||
        bits.p[0] != 0) {
        return 0;
    }
    c->key = (const struct crypto_key *)p384_key_from_point(bits.p + 1,
                                                            bits.len - 1);
    c->key_p384 = c->key != NULL;
    return 0;
}

static size_t off_in(const struct crypto_x509 *c, const uint8_t *p)
{
    return (size_t)(p - c->der);
}

/* see x509.h */
int crypto_x509_parse(struct crypto_x509 *c, const uint8_t *der, size_t len)
{
    struct der in = {der, len}, cert, tbs, tbs_tlv, v, alg_out, alg_in, sig;
    struct der issuer, subject, validity, spki;

    memset(c, 0, sizeof(*c));
    c->bc_pathlen = -1;
    c->der = der;
    c->der_len = len;

    /* Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signatureValue } */
    if (der_expect(&in, DER_SEQUENCE, &cert, NULL) != 0 || in.len != 0 ||
        der_expect(&cert, DER_SEQUENCE, &tbs, &tbs_tlv) != 0 ||
        der_expect(&cert, DER_SEQUENCE, &v, &alg_out) != 0 ||
        der_expect(&cert, DER_BIT_STRING, &sig, NULL) != 0 || cert.len != 0 ||
        sig.len < 1 || sig.p[0] != 0) {
        return -1;
    }
    c->tbs_off = off_in(c, tbs_tlv.p);
    c->tbs_len = tbs_tlv.len;
    c->sig_off = off_in(c, sig.p + 1);
    c->sig_len = sig.len - 1;

    /* version [0] EXPLICIT INTEGER: v3 (2) only, extensions need it */
    if (der_expect(&tbs, DER_CTX(0), &v, NULL) != 0 ||
        !der_eq(&v, (const uint8_t *)"\x02\x01\x02", 3)) {
        return -1;
    }
    if (der_expect(&tbs, DER_INTEGER, &v, NULL) != 0 || v.len == 0 ||
        v.len > CRYPTO_X509_SERIAL_MAX + 1) {
        return -1;
    }
    if (v.len > 1 && v.p[0] == 0) {
        v.p++; /* the sign byte of a positive serial */
        v.len--;
    }
    if (v.len > CRYPTO_X509_SERIAL_MAX) {
        return -1;
    }
    memcpy(c->serial, v.p, v.len);
    c->serial_len = v.len;

    if (der_expect(&tbs, DER_SEQUENCE, &v, &alg_in) != 0 ||
        der_expect(&tbs, DER_SEQUENCE, &v, &issuer) != 0 ||
        der_expect(&tbs, DER_SEQUENCE, &validity, NULL) != 0 ||
        der_expect(&tbs, DER_SEQUENCE, &v, &subject) != 0 ||
        der_expect(&tbs, DER_SEQUENCE, &spki, NULL) != 0) {
        return -1;
    }
    c->sig_es384 =
        der_eq(&alg_out, alg_ecdsa_sha384, sizeof(alg_ecdsa_sha384)) &&
        der_eq(&alg_in, alg_ecdsa_sha384, sizeof(alg_ecdsa_sha384));
    c->issuer_off = off_in(c, issuer.p);
    c->issuer_len = issuer.len;
    c->subject_off = off_in(c, subject.p);
    c->subject_len = subject.len;
    if (der_time(&validity, &c->not_before_s) != 0 ||
        der_time(&validity, &c->not_after_s) != 0 || validity.len != 0) {
        return -1;
    }

    /* issuerUniqueID [1], subjectUniqueID [2]: skipped; extensions [3] */
    if (der_peek(&tbs, DER_CTX_PRIM(1)) &&
        der_expect(&tbs, DER_CTX_PRIM(1), &v, NULL) != 0) {
        return -1;
    }
    if (der_peek(&tbs, DER_CTX_PRIM(2)) &&
        der_expect(&tbs, DER_CTX_PRIM(2), &v, NULL) != 0) {
        return -1;
    }
    if (der_peek(&tbs, DER_CTX(3))) {
        if (der_expect(&tbs, DER_CTX(3), &v, NULL) != 0 ||
            parse_extensions(c, v) != 0) {
            return -1;
        }
    }
    if (tbs.len != 0) {
        return -1;
    }
    if (parse_spki(c, spki) != 0) {
        crypto_x509_release(c);
        return -1;
    }
    return 0;
}

/* see x509.h */
void crypto_x509_release(struct crypto_x509 *c)
{
    EVP_PKEY_free(pkey(c->key));
    c->key = NULL;
    c->key_p384 = false;
}

/* see x509.h */
bool crypto_x509_issuer_matches(const struct crypto_x509 *child,
                                const struct crypto_x509 *parent)
{
    return child->issuer_len == parent->subject_len &&
           memcmp(child->der + child->issuer_off,
                  parent->der + parent->subject_off, child->issuer_len) == 0;
}

/* EVP_PKEY_verify over a ready SHA-384 digest and a DER signature. */
static bool verify_digest(const struct crypto_key *key,
                          const uint8_t digest[CRYPTO_SHA384_SIZE],
                          const uint8_t *der_sig, size_t der_sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey(key), NULL);
    bool ok = false;

    if (ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
        EVP_PKEY_verify(ctx, der_sig, der_sig_len, digest,
                        CRYPTO_SHA384_SIZE) == 1) {
        ok = true;
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/*
 * see x509.h: hash the TBSCertificate exactly as it appears in the DER, and
 * let OpenSSL check the DER signature (which it also requires to be DER).
 */
bool crypto_x509_signed_by(const struct crypto_x509 *child,
                           const struct crypto_x509 *parent)
{
    uint8_t digest[CRYPTO_SHA384_SIZE];

    if (!child->sig_es384 || !parent->key_p384 || parent->key == NULL) {
        return false;
    }
    if (crypto_sha384_2(child->der + child->tbs_off, child->tbs_len, NULL, 0,
                        digest) != 0) {
        return false;
    }
    return verify_digest(parent->key, digest, child->der + child->sig_off,
                         child->sig_len);
}

static X509 *d2i_exact(const uint8_t *der, size_t len);

static char *name_line(const struct crypto_x509 *c, bool subject, char *buf,
                       size_t cap)
{
    X509 *x;
    BIO *b;
    int n;

    if (cap == 0) {
        return buf;
    }
    buf[0] = '\0';
    x = d2i_exact(c->der, c->der_len);
    b = BIO_new(BIO_s_mem());
    if (x != NULL && b != NULL &&
        X509_NAME_print_ex(
            b, subject ? X509_get_subject_name(x) : X509_get_issuer_name(x), 0,
            XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_SPC_EQ) >= 0) {
        n = BIO_read(b, buf, (int)(cap > INT32_MAX ? INT32_MAX : cap - 1));
        buf[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
    X509_free(x);
    ERR_clear_error();
    return buf;
}

/* see x509.h */
char *crypto_x509_subject(const struct crypto_x509 *c, char *buf, size_t cap)
{
    return name_line(c, true, buf, cap);
}

/* see x509.h */
char *crypto_x509_issuer(const struct crypto_x509 *c, char *buf, size_t cap)
{
    return name_line(c, false, buf, cap);
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

/*
 * see x509.h: r || s becomes ECDSA-Sig-Value DER without BIGNUMs, and the
 * two parts are hashed with the adapter's cached SHA-384 context.
 */
bool crypto_ecdsa_p384_verify2(const struct crypto_key *key, const void *a,
                               size_t a_len, const void *b, size_t b_len,
                               const uint8_t sig[96])
{
    uint8_t der[2 + 2 * 51];
    uint8_t digest[CRYPTO_SHA384_SIZE];
    size_t n;

    if (key == NULL || !is_p384(pkey(key)) ||
        crypto_sha384_2(a, a_len, b, b_len, digest) != 0) {
        return false;
    }
    n = der_uint48(sig, der + 2);
    n += der_uint48(sig + 48, der + 2 + n);
    der[0] = 0x30;
    der[1] = (uint8_t)n;
    return verify_digest(key, digest, der, n + 2);
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
    X509 *issuer_x = NULL;
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
    if (issuer != NULL &&
        (issuer_x = d2i_exact(issuer->der, issuer->der_len)) == NULL) {
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

    tv_set_err(err, err_len, "cannot set up the OpenSSL check");
    if (store == NULL || ctx == NULL || untrusted == NULL) {
        goto out;
    }
    if (root_x == NULL || leaf_x == NULL) {
        tv_set_err(err, err_len, "certificate does not decode");
        goto out;
    }
    for (size_t i = 0; i < n_inter; i++) {
        X509 *x = d2i_exact(inter[i], inter_len[i]);

        if (x == NULL || !sk_X509_push(untrusted, x)) {
            X509_free(x);
            tv_set_err(err, err_len, "intermediate does not decode");
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
        tv_set_err(err, err_len, "ok");
    } else {
        tv_set_err(
            err, err_len, "%s",
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
