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

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/atomic_file.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "crypto/x509_int.h"

/*
 * Certificates are written here as DER, field by field, rather than built
 * through OpenSSL's X509 objects: these have one fixed shape, and OpenSSL's
 * way there (ASN.1 templates, the extension configuration parser, the
 * public key encoders) touches about 250 KiB of its code and leaves some
 * 90 KiB of heap behind in the process that issues, the NSM signer. OpenSSL
 * only signs.
 *
 * A writer appends to a bounded buffer; a value that does not fit sets
 * @err and everything after it is dropped, so the caller checks once.
 */
struct dw {
    uint8_t *p;
    size_t len, cap;
    bool err;
};

static void dw_put(struct dw *w, const void *b, size_t n)
{
    if (w->err || n > w->cap - w->len) {
        w->err = true;
        return;
    }
    memcpy(w->p + w->len, b, n);
    w->len += n;
}

/* Tag and definite minimal length (X.690 §10.1) of an @n-byte value. */
static void dw_head(struct dw *w, uint8_t tag, size_t n)
{
    uint8_t h[4] = {tag};
    size_t hl;

    if (n < 0x80) {
        h[1] = (uint8_t)n;
        hl = 2;
    } else if (n < 0x100) {
        h[1] = 0x81;
        h[2] = (uint8_t)n;
        hl = 3;
    } else if (n < 0x10000) {
        h[1] = 0x82;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    } else {
        w->err = true;
        return;
    }
    dw_put(w, h, hl);
}

/* One TLV: the header, then the @n bytes at @b. */
static void dw_tlv(struct dw *w, uint8_t tag, const void *b, size_t n)
{
    dw_head(w, tag, n);
    dw_put(w, b, n);
}

/* The finished contents of @in as one TLV in @w. */
static void dw_wrap(struct dw *w, uint8_t tag, const struct dw *in)
{
    if (in->err) {
        w->err = true;
        return;
    }
    dw_tlv(w, tag, in->p, in->len);
}

#define DW(name, size)                                                         \
    uint8_t name##_buf[size];                                                  \
    struct dw name = {name##_buf, 0, sizeof(name##_buf), false}

/* A positive INTEGER of the big-endian unsigned @b: shortest form. */
static void dw_uint(struct dw *w, const uint8_t *b, size_t n)
{
    uint8_t v[1 + 48];

    while (n > 1 && b[0] == 0) {
        b++;
        n--;
    }
    if (n > sizeof(v) - 1) {
        w->err = true;
        return;
    }
    v[0] = 0;
    memcpy(v + 1, b, n);
    /* a leading zero byte only where the top bit would read as a sign */
    if (b[0] & 0x80) {
        dw_tlv(w, 0x02, v, n + 1);
    } else {
        dw_tlv(w, 0x02, v + 1, n);
    }
}

/*
 * Well-formed UTF-8 (RFC 3629): no overlong form, no surrogate, nothing
 * above U+10FFFF; what OpenSSL checked of a name's MBSTRING_UTF8 value.
 */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint32_t c = s[i];
        size_t k;
        uint32_t min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            k = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        if (n - i <= k) {
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) {
                return false;
            }
            c = c << 6 | (s[i + j] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return false;
        }
        i += k + 1;
    }
    return true;
}

/* Name ::= "O=@org, CN=@cn", both UTF8String (RFC 5280 §4.1.2.4). */
static void dw_name(struct dw *w, const char *org, const char *cn)
{
    static const uint8_t oid_o[] = {0x55, 0x04, 0x0a};
    static const uint8_t oid_cn[] = {0x55, 0x04, 0x03};
    const uint8_t *oids[2] = {oid_o, oid_cn};
    const char *vals[2] = {org, cn};
    DW(name, 2 * CRYPTO_X509_NAME_MAX + 64);

    for (size_t i = 0; i < 2; i++) {
        DW(atv, CRYPTO_X509_NAME_MAX + 16);
        DW(rdn, CRYPTO_X509_NAME_MAX + 24);

        if (strlen(vals[i]) > CRYPTO_X509_NAME_MAX ||
            !utf8_valid((const uint8_t *)vals[i], strlen(vals[i]))) {
            w->err = true;
            return;
        }
        dw_tlv(&atv, 0x06, oids[i], 3);
        dw_tlv(&atv, 0x0c, vals[i], strlen(vals[i]));
        dw_wrap(&rdn, 0x30, &atv);
        dw_wrap(&name, 0x31, &rdn);
    }
    dw_wrap(w, 0x30, &name);
}

/*
 * Time (RFC 5280 §4.1.2.5): UTCTime YYMMDDHHMMSSZ for 1950 through 2049,
 * GeneralizedTime YYYYMMDDHHMMSSZ otherwise, as OpenSSL's ASN1_TIME_set().
 */
static void dw_time(struct dw *w, int64_t t_s)
{
    time_t t = (time_t)t_s;
    struct tm tm;
    char buf[64];
    int year;

    if ((int64_t)t != t_s || gmtime_r(&t, &tm) == NULL) {
        w->err = true;
        return;
    }
    year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) {
        w->err = true;
        return;
    }
    if (year >= 1950 && year < 2050) {
        snprintf(buf, sizeof(buf), "%02d%02d%02d%02d%02d%02dZ", year % 100,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        dw_tlv(w, 0x17, buf, 13);
    } else {
        snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02dZ", year,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        dw_tlv(w, 0x18, buf, 15);
    }
}

/* Extension ::= SEQUENCE { id-ce @id, critical?, OCTET STRING @value } */
static void dw_ext(struct dw *w, uint8_t id, bool critical,
                   const struct dw *value)
{
    static const uint8_t yes[] = {0x01, 0x01, 0xff};
    const uint8_t oid[] = {0x55, 0x1d, id};
    DW(ext, 128);

    dw_tlv(&ext, 0x06, oid, sizeof(oid));
    if (critical) {
        dw_put(&ext, yes, sizeof(yes));
    }
    dw_wrap(&ext, 0x04, value);
    dw_wrap(w, 0x30, &ext);
}

/* keyUsage's named bits (bit 0 first), trailing zero bits left out. */
static void dw_key_usage(struct dw *w, uint32_t bits)
{
    uint8_t v[2] = {0, 0};
    unsigned unused = 0;

    for (unsigned i = 0; i < 8; i++) {
        if (bits & (1u << i)) {
            v[1] |= (uint8_t)(0x80u >> i);
        }
    }
    if (v[1] == 0 || (bits >> 8) != 0) {
        w->err = true;
        return;
    }
    while (!(v[1] & (1u << unused))) {
        unused++;
    }
    v[0] = (uint8_t)unused;
    dw_tlv(w, 0x03, v, sizeof(v));
}

/* see x509.h */
long crypto_x509_issue(const struct crypto_x509_template *t,
                       const struct crypto_x509 *issuer,
                       const struct crypto_key *issuer_key, uint8_t *out,
                       size_t cap)
{
    static const uint8_t version[] = {0xa0, 0x03, 0x02, 0x01, 0x02};
    static const uint8_t alg_ecdsa_sha384[] = {
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
    };
    static const uint8_t yes[] = {0x01, 0x01, 0xff};
    uint8_t spki[160], ski[CRYPTO_SHA1_SIZE], rs[CRYPTO_P384_SIG_SIZE];
    const uint8_t *aki;
    size_t aki_len;
    long spki_len;
    bool serial_zero = true;
    static const uint8_t no_unused = 0;
    struct dw tbs;
    DW(exts, 512);
    DW(list, 512);
    DW(sig, 112);
    DW(bits, 120);
    DW(tail, 140);
    DW(head, 4);

    for (size_t i = 0; i < t->serial_len && i < CRYPTO_X509_SERIAL_MAX; i++) {
        serial_zero = serial_zero && t->serial[i] == 0;
    }
    /* RFC 5280 §4.1.2.2: positive; the bytes are unsigned, so not zero */
    if (t->serial_len == 0 || t->serial_len > CRYPTO_X509_SERIAL_MAX ||
        serial_zero || t->subject_key == NULL || issuer_key == NULL ||
        t->cn == NULL || t->org == NULL || t->not_after_s <= t->not_before_s) {
        return -1;
    }
    /* the subject key identifier: SHA-1 of the point (RFC 5280 §4.2.1.2) */
    spki_len = crypto_key_spki_der(t->subject_key, spki, sizeof(spki));
    if (spki_len != 120 || crypto_sha1(spki + 120 - CRYPTO_P384_PUB_SIZE,
                                       CRYPTO_P384_PUB_SIZE, ski) != 0) {
        return -1;
    }
    /* the authority's: the issuer's own identifier, ours when self-signed */
    if (issuer != NULL) {
        if (issuer->ski_len == 0) {
            return -1;
        }
        aki = issuer->der + issuer->ski_off;
        aki_len = issuer->ski_len;
    } else {
        aki = ski;
        aki_len = sizeof(ski);
    }

    /* basicConstraints, keyUsage, subject and authority key identifiers */
    {
        DW(bc, 16);
        DW(v, 24);

        if (t->ca) {
            dw_put(&bc, yes, sizeof(yes));
            if (t->pathlen >= 0) {
                uint8_t pl[4] = {
                    (uint8_t)(t->pathlen >> 24), (uint8_t)(t->pathlen >> 16),
                    (uint8_t)(t->pathlen >> 8), (uint8_t)t->pathlen};

                dw_uint(&bc, pl, sizeof(pl));
            }
        }
        dw_wrap(&v, 0x30, &bc);
        dw_ext(&list, 19, true, &v);
    }
    if (t->ku_bits != 0) {
        DW(v, 8);

        dw_key_usage(&v, t->ku_bits);
        dw_ext(&list, 15, t->ku_critical, &v);
    }
    {
        DW(v, 32);

        dw_tlv(&v, 0x04, ski, sizeof(ski));
        dw_ext(&list, 14, false, &v);
    }
    {
        DW(id, 80);
        DW(v, 96);

        dw_tlv(&id, 0x80, aki, aki_len); /* keyIdentifier [0] IMPLICIT */
        dw_wrap(&v, 0x30, &id);
        dw_ext(&list, 35, false, &v);
    }
    dw_wrap(&exts, 0x30, &list);

    /*
     * TBSCertificate, written 4 bytes into @out (room for the longest
     * Certificate header) and signed there; moved up to follow the header
     * once the signature's length, and so the header's, is known.
     */
    {
        DW(body, CRYPTO_X509_DER_MAX);
        DW(validity, 40);

        dw_put(&body, version, sizeof(version));
        dw_uint(&body, t->serial, t->serial_len);
        dw_put(&body, alg_ecdsa_sha384, sizeof(alg_ecdsa_sha384));
        if (issuer != NULL) {
            dw_put(&body, issuer->der + issuer->subject_off,
                   issuer->subject_len);
        } else {
            dw_name(&body, t->org, t->cn);
        }
        dw_time(&validity, t->not_before_s);
        dw_time(&validity, t->not_after_s);
        dw_wrap(&body, 0x30, &validity);
        dw_name(&body, t->org, t->cn);
        dw_put(&body, spki, (size_t)spki_len);
        dw_wrap(&body, 0xa3, &exts);
        if (cap < 4) {
            return -1;
        }
        tbs = (struct dw){out + 4, 0, cap - 4, false};
        dw_wrap(&tbs, 0x30, &body);
    }
    if (tbs.err ||
        crypto_ecdsa_p384_sign(issuer_key, tbs.p, tbs.len, rs) != 0) {
        return -1;
    }
    /* signatureAlgorithm, BIT STRING { Ecdsa-Sig-Value } */
    dw_uint(&sig, rs, 48);
    dw_uint(&sig, rs + 48, 48);
    dw_put(&bits, &no_unused, 1);
    dw_wrap(&bits, 0x30, &sig);
    dw_put(&tail, alg_ecdsa_sha384, sizeof(alg_ecdsa_sha384));
    dw_wrap(&tail, 0x03, &bits);
    if (tail.err) {
        return -1;
    }
    /* Certificate ::= SEQUENCE { tbs, algorithm, signature } */
    dw_head(&head, 0x30, tbs.len + tail.len);
    if (head.err || head.len + tbs.len + tail.len > cap) {
        return -1;
    }
    memmove(out + head.len, tbs.p, tbs.len);
    memcpy(out, head.p, head.len);
    memcpy(out + head.len + tbs.len, tail.p, tail.len);
    return (long)(head.len + tbs.len + tail.len);
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
    struct crypto_x509 c;
    BIO *bio;
    char *pem = NULL;
    long pem_len;
    X509 *x;
    int rc = -1;

    if (len > (size_t)INT32_MAX) {
        return -1;
    }
    /* a certificate in strict DER (every one the PKI issues): armoured here */
    if (len <= CRYPTO_X509_DER_MAX && crypto_x509_parse(&c, der, len) == 0) {
        char text[CRYPTO_X509_DER_MAX * 3 / 2];
        int e;

        crypto_x509_release(&c);
        pem_len =
            crypto_pem_encode(der, len, "CERTIFICATE", text, sizeof(text));
        if (pem_len < 0) {
            return -1;
        }
        e = tv_write_file_atomic(path, text, (size_t)pem_len, 0644);
        if (e != 0) {
            tv_err("%s: cannot write certificate: %s", path, strerror(-e));
            return -1;
        }
        return 0;
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
