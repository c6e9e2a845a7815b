/* SPDX-License-Identifier: MIT */
/*
 * Reading X.509 through OpenSSL: decoding into plain fields with a strict
 * DER walker, one-signature checks, names as text, and OpenSSL's own chain
 * check as a reference. The chain decisions of the attestation verifier are
 * not made here; issuing lives in x509_issue.c.
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

#include "common/ct.h"
#include "common/err.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/x509_int.h"

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

/*
 * A DER INTEGER's content (X.690 §8.3.2): at least one byte, and the first
 * nine bits neither all zero nor all one (the shortest two's complement).
 * Return: 1 positive, 0 zero, -1 negative, -2 not DER.
 */
static int der_int_sign(const struct der *v)
{
    if (v->len == 0) {
        return -2;
    }
    if (v->len > 1 && ((v->p[0] == 0x00 && !(v->p[1] & 0x80)) ||
                       (v->p[0] == 0xff && (v->p[1] & 0x80)))) {
        return -2;
    }
    if (v->p[0] & 0x80) {
        return -1;
    }
    return v->len == 1 && v->p[0] == 0 ? 0 : 1;
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

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ. RFC 5280
 * §4.1.2.5: dates through 2049 MUST be UTCTime, so a GeneralizedTime
 * before 2050 is a second encoding of a date that has one already.
 */
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
        if (year < 2050) {
            return -1;
        }
        p += 4;
    } else {
        return -1;
    }
    if (two_digits(p, &mo) != 0 || two_digits(p + 2, &dd) != 0 ||
        two_digits(p + 4, &hh) != 0 || two_digits(p + 6, &mi) != 0 ||
        two_digits(p + 8, &ss) != 0 || p[10] != 'Z' || mo < 1 || mo > 12 ||
        dd < 1 || dd > mdays[mo - 1] || hh > 23 || mi > 59 || ss > 59 ||
        (mo == 2 && dd == 29 && !leap_year(year))) {
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
        if (der_expect(&seq, DER_INTEGER, &b, NULL) != 0 ||
            der_int_sign(&b) < 0 || b.len != 1) {
            return -1; /* pathLen 0..127 */
        }
        c->bc_pathlen = b.p[0];
    }
    return seq.len == 0 ? 0 : -1;
}

/*
 * keyUsage ::= BIT STRING. DER (X.690 §11.2.1) requires the unused bits of
 * the last byte to be zero; a set one would be a bit the issuer never
 * meant to grant, so it is refused rather than masked.
 */
static int ext_key_usage(struct crypto_x509 *c, struct der v)
{
    struct der bits;

    if (der_expect(&v, DER_BIT_STRING, &bits, NULL) != 0 || v.len != 0 ||
        bits.len < 2 || bits.len > 3 || bits.p[0] > 7 ||
        (bits.p[bits.len - 1] & ((1u << bits.p[0]) - 1)) != 0) {
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
 * Whether an extension before @upto in the list @all carries @oid. A
 * quadratic scan over a handful of extensions costs less than a table and
 * needs no cap on how many there are.
 */
static bool oid_seen_before(struct der all, const uint8_t *upto,
                            const struct der *oid)
{
    while (all.len > 0 && all.p < upto) {
        struct der ext, id;

        if (der_expect(&all, DER_SEQUENCE, &ext, NULL) != 0 ||
            der_expect(&ext, DER_OID, &id, NULL) != 0) {
            return false; /* the caller has already walked this far */
        }
        if (der_eq(&id, oid->p, oid->len)) {
            return true;
        }
    }
    return false;
}

/*
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
 * Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
 *                          extnValue OCTET STRING }
 * The two we interpret are decoded, the key identifiers recognised,
 * anything else that is critical is counted so the verifier can refuse it
 * (RFC 5280 §4.2). Any extension that appears twice, known or not, marks
 * the certificate bad ("MUST NOT include more than one instance").
 */
static int parse_extensions(struct crypto_x509 *c, struct der exts)
{
    struct der list, all;

    if (der_expect(&exts, DER_SEQUENCE, &list, NULL) != 0 || exts.len != 0 ||
        list.len == 0) {
        return -1;
    }
    all = list;
    while (list.len > 0) {
        const uint8_t *start = list.p;
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
        if (oid_seen_before(all, start, &oid)) {
            c->bad_extension = true;
            continue; /* the first instance stands; the verifier refuses */
        }
        if (oid.len == 3 && memcmp(oid.p, oid_ce_prefix, 2) == 0) {
            id = oid.p[2];
        }
        switch (id) {
        case CE_BASIC_CONSTRAINTS:
            if (ext_basic_constraints(c, val) != 0) {
                c->bad_extension = true;
            }
            c->bc_present = true;
            c->bc_critical = crit;
            break;
        case CE_KEY_USAGE:
            if (ext_key_usage(c, val) != 0) {
                c->bad_extension = true;
            }
            c->ku_present = true;
            c->ku_critical = crit;
            break;
        case CE_SUBJECT_KEY_ID: {
            /* SubjectKeyIdentifier ::= KeyIdentifier (OCTET STRING) */
            struct der key_id;

            if (der_expect(&val, DER_OCTET_STRING, &key_id, NULL) != 0 ||
                val.len != 0 || key_id.len == 0 || key_id.len > 64) {
                c->bad_extension = true;
            } else {
                c->ski_off = (size_t)(key_id.p - c->der);
                c->ski_len = key_id.len;
            }
            break;
        }
        case CE_AUTHORITY_KEY_ID:
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
 * see x509_int.h: built through the provider's key management directly,
 * because the SubjectPublicKeyInfo decoders of OpenSSL 3.0 cost more than an
 * ECDSA verification.
 */
EVP_PKEY *crypto_p384_key_from_point(const uint8_t *point, size_t len)
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

/* see x509_int.h */
EVP_PKEY *crypto_p384_key_from_pkcs8(const uint8_t *der, size_t len)
{
    struct der in = {der, len}, pki, v, alg, oid, curve, octets, ec, priv;
    struct der params, pub_wrap, pub;
    uint8_t d[48]; /* the private scalar, in the host's byte order */
    OSSL_PARAM params_out[4];
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *k = NULL;

    /* PrivateKeyInfo ::= SEQUENCE { 0, AlgorithmIdentifier, OCTET STRING } */
    if (der_expect(&in, DER_SEQUENCE, &pki, NULL) != 0 || in.len != 0 ||
        der_expect(&pki, DER_INTEGER, &v, NULL) != 0 || v.len != 1 ||
        v.p[0] != 0 || der_expect(&pki, DER_SEQUENCE, &alg, NULL) != 0 ||
        der_expect(&pki, DER_OCTET_STRING, &octets, NULL) != 0 ||
        pki.len != 0 || der_expect(&alg, DER_OID, &oid, NULL) != 0 ||
        !der_eq(&oid, oid_ec_public_key, sizeof(oid_ec_public_key)) ||
        der_expect(&alg, DER_OID, &curve, NULL) != 0 || alg.len != 0 ||
        !der_eq(&curve, oid_secp384r1, sizeof(oid_secp384r1))) {
        return NULL;
    }
    /* ECPrivateKey ::= SEQUENCE { 1, OCTET STRING, [0] curve?, [1] point } */
    if (der_expect(&octets, DER_SEQUENCE, &ec, NULL) != 0 || octets.len != 0 ||
        der_expect(&ec, DER_INTEGER, &v, NULL) != 0 || v.len != 1 ||
        v.p[0] != 1 || der_expect(&ec, DER_OCTET_STRING, &priv, NULL) != 0 ||
        priv.len != sizeof(d)) {
        return NULL;
    }
    if (der_peek(&ec, DER_CTX(0)) &&
        (der_expect(&ec, DER_CTX(0), &params, NULL) != 0 ||
         der_expect(&params, DER_OID, &curve, NULL) != 0 || params.len != 0 ||
         !der_eq(&curve, oid_secp384r1, sizeof(oid_secp384r1)))) {
        return NULL;
    }
    if (der_expect(&ec, DER_CTX(1), &pub_wrap, NULL) != 0 || ec.len != 0 ||
        der_expect(&pub_wrap, DER_BIT_STRING, &pub, NULL) != 0 ||
        pub_wrap.len != 0 || pub.len != 1 + CRYPTO_P384_PUB_SIZE ||
        pub.p[0] != 0 || pub.p[1] != 0x04) {
        return NULL;
    }
    /* OSSL_PARAM_construct_BN() takes the integer in native byte order */
    for (size_t i = 0; i < sizeof(d); i++) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        d[i] = priv.p[sizeof(d) - 1 - i];
#else
        d[i] = priv.p[i];
#endif
    }
    params_out[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                     (char *)"secp384r1", 0);
    params_out[1] = OSSL_PARAM_construct_octet_string(
        OSSL_PKEY_PARAM_PUB_KEY, (void *)(pub.p + 1), pub.len - 1);
    params_out[2] =
        OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, d, sizeof(d));
    params_out[3] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params_out) != 1) {
        k = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    wipe(d, sizeof(d));
    ERR_clear_error();
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
    c->key = (const struct crypto_key *)crypto_p384_key_from_point(
        bits.p + 1, bits.len - 1);
    c->key_p384 = c->key != NULL;
    return 0;
}

/*
 * ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } inside the
 * signature BIT STRING (after its unused-bits byte): both positive and
 * minimal, nothing else.
 */
static int ecdsa_sig_check(const struct der *bits)
{
    struct der in = {bits->p + 1, bits->len - 1}, seq, r, s;

    if (der_expect(&in, DER_SEQUENCE, &seq, NULL) != 0 || in.len != 0 ||
        der_expect(&seq, DER_INTEGER, &r, NULL) != 0 ||
        der_expect(&seq, DER_INTEGER, &s, NULL) != 0 || seq.len != 0 ||
        der_int_sign(&r) != 1 || der_int_sign(&s) != 1) {
        return -1;
    }
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
    /*
     * serialNumber: a positive INTEGER (RFC 5280 §4.1.2.2), in its shortest
     * form, so that one serial has one encoding.
     */
    if (der_expect(&tbs, DER_INTEGER, &v, NULL) != 0 || der_int_sign(&v) != 1 ||
        v.len > CRYPTO_X509_SERIAL_MAX + 1) {
        return -1;
    }
    if (v.p[0] == 0) {
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
    if (c->sig_es384 && ecdsa_sig_check(&sig) != 0) {
        return -1;
    }
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
    x = crypto_x509_d2i_exact(c->der, c->der_len);
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
/* see x509_int.h */
X509 *crypto_x509_d2i_exact(const uint8_t *der, size_t len)
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
    X509 *root_x = crypto_x509_d2i_exact(root, root_len);
    X509 *leaf_x = crypto_x509_d2i_exact(leaf, leaf_len);
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
        X509 *x = crypto_x509_d2i_exact(inter[i], inter_len[i]);

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
