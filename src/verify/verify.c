/* SPDX-License-Identifier: MIT */
/*
 * The attestation verifier (see verify.h). The payload is decoded with the
 * bounded pull reader straight into a view of the caller's bytes; the chain
 * logic is ours, OpenSSL only decodes DER and checks single signatures.
 */
#include "verify/verify.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cbor/cbor.h"
#include "common/clock.h"
#include "common/hex.h"
#include "cose/cose_verify.h"
#include "crypto/crypto.h"

static const char *const field_names[VERIFY_F_COUNT] = {
    [VERIFY_F_MODULE_ID] = "module_id",
    [VERIFY_F_DIGEST] = "digest",
    [VERIFY_F_TIMESTAMP] = "timestamp",
    [VERIFY_F_PCRS] = "pcrs",
    [VERIFY_F_CERTIFICATE] = "certificate",
    [VERIFY_F_CABUNDLE] = "cabundle",
    [VERIFY_F_PUBLIC_KEY] = "public_key",
    [VERIFY_F_USER_DATA] = "user_data",
    [VERIFY_F_NONCE] = "nonce",
};

/* Fields that must be present and not null. */
#define VERIFY_MANDATORY                                                       \
    ((1u << VERIFY_F_MODULE_ID) | (1u << VERIFY_F_DIGEST) |                    \
     (1u << VERIFY_F_TIMESTAMP) | (1u << VERIFY_F_PCRS) |                      \
     (1u << VERIFY_F_CERTIFICATE) | (1u << VERIFY_F_CABUNDLE))

static int fail(struct verify_result *res, int status)
{
    res->status = status;
    return status;
}

static int fail_field(struct verify_result *res, int status, int field)
{
    res->field = field;
    return fail(res, status);
}

static int fail_cert(struct verify_result *res, int status, int index)
{
    res->cert_index = index;
    return fail(res, status);
}

static int field_of(const struct cbor_tok *k)
{
    for (int f = 0; f < VERIFY_F_COUNT; f++) {
        size_t n = strlen(field_names[f]);

        if (k->len == n && memcmp(k->p, field_names[f], n) == 0) {
            return f;
        }
    }
    return VERIFY_F_NONE;
}

/* pcrs: {uint => bstr .size 48}, 1..32 entries, keys < 32, no repeats */
static int parse_pcrs(struct cbor_rd *rd, const struct cbor_tok *m,
                      struct verify_result *res)
{
    struct verify_doc *d = &res->doc;
    bool indef = m->type == CBOR_TOK_MAP_INDEF;
    struct cbor_tok k, v;

    for (uint64_t i = 0; indef || i < m->u; i++) {
        if (cbor_rd_next(rd, &k) != 0) {
            return fail_field(res, VERIFY_ERR_PAYLOAD, VERIFY_F_PCRS);
        }
        if (k.type == CBOR_TOK_BREAK && indef) {
            break;
        }
        if (k.type != CBOR_TOK_UINT || k.u >= VERIFY_PCR_COUNT) {
            return fail_field(res, VERIFY_ERR_PCRS, VERIFY_F_PCRS);
        }
        res->pcr_index = (int)k.u;
        if (d->pcr_mask & (1u << k.u)) {
            return fail_field(res, VERIFY_ERR_DUPLICATE_KEY, VERIFY_F_PCRS);
        }
        if (cbor_rd_next(rd, &v) != 0) {
            return fail_field(res, VERIFY_ERR_PAYLOAD, VERIFY_F_PCRS);
        }
        if (v.type != CBOR_TOK_BYTES || v.len != VERIFY_PCR_SIZE) {
            return fail_field(res, VERIFY_ERR_PCRS, VERIFY_F_PCRS);
        }
        d->pcr_mask |= 1u << k.u;
        d->pcr[k.u] = v.p;
        d->n_pcrs++;
    }
    res->pcr_index = -1;
    if (d->n_pcrs == 0) {
        return fail_field(res, VERIFY_ERR_PCRS, VERIFY_F_PCRS);
    }
    return VERIFY_OK;
}

/* cabundle: [+ bstr], at most VERIFY_CABUNDLE_MAX */
static int parse_cabundle(struct cbor_rd *rd, const struct cbor_tok *a,
                          struct verify_result *res)
{
    struct verify_doc *d = &res->doc;
    bool indef = a->type == CBOR_TOK_ARRAY_INDEF;
    struct cbor_tok v;

    for (uint64_t i = 0; indef || i < a->u; i++) {
        if (cbor_rd_next(rd, &v) != 0) {
            return fail_field(res, VERIFY_ERR_PAYLOAD, VERIFY_F_CABUNDLE);
        }
        if (v.type == CBOR_TOK_BREAK && indef) {
            break;
        }
        if (v.type != CBOR_TOK_BYTES) {
            return fail_field(res, VERIFY_ERR_FIELD_TYPE, VERIFY_F_CABUNDLE);
        }
        if (d->n_cabundle == VERIFY_CABUNDLE_MAX) {
            return fail_field(res, VERIFY_ERR_CABUNDLE, VERIFY_F_CABUNDLE);
        }
        d->cabundle[d->n_cabundle].p = v.p;
        d->cabundle[d->n_cabundle].len = v.len;
        d->cabundle[d->n_cabundle].present = true;
        d->n_cabundle++;
    }
    return VERIFY_OK;
}

static int parse_blob(const struct cbor_tok *v, struct verify_blob *b,
                      enum cbor_tok_type want, bool nullable,
                      struct verify_result *res, int f)
{
    if (v->type == CBOR_TOK_NULL && nullable) {
        return VERIFY_OK; /* null optionals are absent */
    }
    if (v->type != want) {
        return fail_field(res, VERIFY_ERR_FIELD_TYPE, f);
    }
    b->p = v->p;
    b->len = v->len;
    b->present = true;
    return VERIFY_OK;
}

static int parse_value(struct cbor_rd *rd, int f, const struct cbor_tok *v,
                       struct verify_result *res)
{
    struct verify_doc *d = &res->doc;

    switch (f) {
    case VERIFY_F_MODULE_ID:
        return parse_blob(v, &d->module_id, CBOR_TOK_TEXT, true, res, f);
    case VERIFY_F_DIGEST:
        return parse_blob(v, &d->digest, CBOR_TOK_TEXT, true, res, f);
    case VERIFY_F_TIMESTAMP:
        if (v->type == CBOR_TOK_NULL) {
            return VERIFY_OK;
        }
        if (v->type != CBOR_TOK_UINT) {
            return fail_field(res, VERIFY_ERR_FIELD_TYPE, f);
        }
        d->timestamp_ms = v->u;
        return VERIFY_OK;
    case VERIFY_F_PCRS:
        if (v->type == CBOR_TOK_NULL) {
            return VERIFY_OK;
        }
        if (v->type != CBOR_TOK_MAP && v->type != CBOR_TOK_MAP_INDEF) {
            return fail_field(res, VERIFY_ERR_FIELD_TYPE, f);
        }
        return parse_pcrs(rd, v, res);
    case VERIFY_F_CERTIFICATE:
        return parse_blob(v, &d->certificate, CBOR_TOK_BYTES, true, res, f);
    case VERIFY_F_CABUNDLE:
        if (v->type == CBOR_TOK_NULL) {
            return VERIFY_OK;
        }
        if (v->type != CBOR_TOK_ARRAY && v->type != CBOR_TOK_ARRAY_INDEF) {
            return fail_field(res, VERIFY_ERR_FIELD_TYPE, f);
        }
        return parse_cabundle(rd, v, res);
    case VERIFY_F_PUBLIC_KEY:
        return parse_blob(v, &d->public_key, CBOR_TOK_BYTES, true, res, f);
    case VERIFY_F_USER_DATA:
        return parse_blob(v, &d->user_data, CBOR_TOK_BYTES, true, res, f);
    case VERIFY_F_NONCE:
        return parse_blob(v, &d->nonce, CBOR_TOK_BYTES, true, res, f);
    default:
        return fail(res, VERIFY_ERR_INTERNAL);
    }
}

/* Rule 2: one map with text keys from the known set, nothing after it. */
static int parse_payload(struct verify_result *res)
{
    struct verify_doc *d = &res->doc;
    struct cbor_rd rd;
    struct cbor_tok m, k, v;
    uint32_t seen = 0;  /* keys met */
    uint32_t given = 0; /* keys met with a non-null value */
    bool indef;
    int rc;

    cbor_rd_init(&rd, d->payload.p, d->payload.len);
    if (cbor_rd_next(&rd, &m) != 0 ||
        (m.type != CBOR_TOK_MAP && m.type != CBOR_TOK_MAP_INDEF)) {
        return fail(res, VERIFY_ERR_PAYLOAD);
    }
    indef = m.type == CBOR_TOK_MAP_INDEF;
    for (uint64_t i = 0; indef || i < m.u; i++) {
        int f;

        if (cbor_rd_next(&rd, &k) != 0) {
            return fail(res, VERIFY_ERR_PAYLOAD);
        }
        if (k.type == CBOR_TOK_BREAK && indef) {
            break;
        }
        if (k.type != CBOR_TOK_TEXT) {
            return fail(res, VERIFY_ERR_KEY_TYPE);
        }
        f = field_of(&k);
        if (f == VERIFY_F_NONE) {
            return fail(res, VERIFY_ERR_UNKNOWN_KEY);
        }
        if (seen & (1u << f)) {
            return fail_field(res, VERIFY_ERR_DUPLICATE_KEY, f);
        }
        seen |= 1u << f;
        if (cbor_rd_next(&rd, &v) != 0 || v.type == CBOR_TOK_BREAK) {
            return fail_field(res, VERIFY_ERR_PAYLOAD, f);
        }
        rc = parse_value(&rd, f, &v, res);
        if (rc != VERIFY_OK) {
            return rc;
        }
        if (v.type != CBOR_TOK_NULL) {
            given |= 1u << f;
        }
    }
    if (!cbor_rd_done(&rd)) {
        return fail(res, VERIFY_ERR_PAYLOAD_TRAILING);
    }

    /* Mandatory fields: present and not null. */
    for (int f = 0; f < VERIFY_F_COUNT; f++) {
        if ((VERIFY_MANDATORY & (1u << f)) && !(given & (1u << f))) {
            return fail_field(res, VERIFY_ERR_MISSING_FIELD, f);
        }
    }

    /* Rule 3: content. */
    if (d->module_id.len == 0) {
        return fail_field(res, VERIFY_ERR_MODULE_ID, VERIFY_F_MODULE_ID);
    }
    if (d->digest.len != 6 || memcmp(d->digest.p, "SHA384", 6) != 0) {
        return fail_field(res, VERIFY_ERR_DIGEST, VERIFY_F_DIGEST);
    }
    if (d->timestamp_ms == 0) {
        return fail_field(res, VERIFY_ERR_TIMESTAMP, VERIFY_F_TIMESTAMP);
    }
    if (d->n_cabundle == 0) {
        return fail_field(res, VERIFY_ERR_CABUNDLE, VERIFY_F_CABUNDLE);
    }
    res->n_certs = (int)d->n_cabundle + 1;
    for (size_t i = 0; i < d->n_cabundle; i++) {
        if (d->cabundle[i].len == 0 || d->cabundle[i].len > VERIFY_CERT_MAX) {
            res->field = VERIFY_F_CABUNDLE;
            return fail_cert(res, VERIFY_ERR_CERT_SIZE, (int)i);
        }
    }
    if (d->certificate.len == 0 || d->certificate.len > VERIFY_CERT_MAX) {
        res->field = VERIFY_F_CERTIFICATE;
        return fail_cert(res, VERIFY_ERR_CERT_SIZE, (int)d->n_cabundle);
    }
    return VERIFY_OK;
}

static void result_init(struct verify_result *res)
{
    memset(res, 0, sizeof(*res));
    res->field = VERIFY_F_NONE;
    res->cert_index = -1;
    res->pcr_index = -1;
}

/* see verify.h */
int verify_parse(const uint8_t *doc, size_t len, struct verify_result *res)
{
    struct cose_sign1_view v;
    int rc;

    result_init(res);
    if (doc == NULL && len != 0) {
        return fail(res, VERIFY_ERR_ARG);
    }
    rc = cose_sign1_parse(doc, len, &v);
    switch (rc) {
    case COSE_OK:
        break;
    case COSE_VERR_TAG:
        return fail(res, VERIFY_ERR_COSE_TAG);
    case COSE_VERR_PROTECTED:
        return fail(res, VERIFY_ERR_PROTECTED);
    case COSE_VERR_UNPROTECTED:
        return fail(res, VERIFY_ERR_UNPROTECTED);
    case COSE_VERR_PAYLOAD:
        return fail(res, VERIFY_ERR_COSE_PAYLOAD);
    case COSE_VERR_SIG_SIZE:
        return fail(res, VERIFY_ERR_SIG_SIZE);
    case COSE_VERR_TRAILING:
        return fail(res, VERIFY_ERR_TRAILING);
    default:
        return fail(res, VERIFY_ERR_COSE);
    }
    res->doc.tagged = v.tagged;
    res->doc.payload.p = v.payload;
    res->doc.payload.len = v.payload_len;
    res->doc.payload.present = true;
    res->doc.sig = v.sig;
    rc = parse_payload(res);
    if (rc != VERIFY_OK) {
        return rc;
    }
    res->parsed = true;
    return fail(res, VERIFY_OK);
}

/* see verify.h */
int verify_root_init(struct verify_root *root, const uint8_t *cert, size_t len)
{
    static const char aws_fp[] = VERIFY_AWS_ROOT_SHA256;
    char fp_hex[2 * 32 + 1];
    long n;

    memset(root, 0, sizeof(*root));
    if (cert == NULL) {
        cert = verify_aws_root_der;
        len = sizeof(verify_aws_root_der);
    }
    n = crypto_x509_to_der(cert, len, root->der, sizeof(root->der));
    if (n <= 0) {
        return VERIFY_ERR_ARG;
    }
    root->der_len = (size_t)n;
    if (crypto_sha256(root->der, root->der_len, root->sha256) != 0) {
        return VERIFY_ERR_INTERNAL;
    }
    if (cert == verify_aws_root_der) {
        hex_encode(root->sha256, sizeof(root->sha256), fp_hex);
        if (strcmp(fp_hex, aws_fp) != 0) {
            return VERIFY_ERR_INTERNAL; /* the built-in pin is damaged */
        }
    }
    if (crypto_x509_parse(&root->cert, root->der, root->der_len) != 0) {
        return VERIFY_ERR_ARG;
    }
    return VERIFY_OK;
}

/* see verify.h */
void verify_root_release(struct verify_root *root)
{
    crypto_x509_release(&root->cert);
}

static pthread_once_t aws_once = PTHREAD_ONCE_INIT;
static struct verify_root aws_root;
static int aws_status = VERIFY_ERR_INTERNAL;

static void aws_root_load(void)
{
    aws_status = verify_root_init(&aws_root, NULL, 0);
}

/*
 * Rules 6 and 7 for certificate @i of @n (0 = root, n - 1 = leaf); the
 * signature and name checks against the parent are done by the caller.
 */
static int check_cert(const struct crypto_x509 *c, int i, int n,
                      struct verify_result *res)
{
    bool leaf = i == n - 1;

    if (c->bad_extension) {
        return fail_cert(res, VERIFY_ERR_CERT_EXTENSION, i);
    }
    if (c->unknown_critical > 0) {
        return fail_cert(res, VERIFY_ERR_CERT_CRITICAL, i);
    }
    res->not_before_s = c->not_before_s;
    res->not_after_s = c->not_after_s;
    if (res->check_ms < c->not_before_s * 1000 ||
        res->check_ms >= (c->not_after_s + 1) * 1000) {
        return fail_cert(res, VERIFY_ERR_CERT_TIME, i);
    }
    if (leaf) {
        if ((c->bc_present && (c->bc_ca || c->bc_pathlen >= 0)) ||
            !c->ku_present || !(c->ku_bits & CRYPTO_KU_DIGITAL_SIGNATURE)) {
            return fail_cert(res, VERIFY_ERR_CERT_LEAF, i);
        }
        if (!c->key_p384) {
            return fail_cert(res, VERIFY_ERR_CERT_ALG, i);
        }
        return VERIFY_OK;
    }
    if (!c->bc_present || !c->bc_critical || !c->bc_ca || !c->ku_present ||
        !(c->ku_bits & CRYPTO_KU_KEY_CERT_SIGN)) {
        return fail_cert(res, VERIFY_ERR_CERT_CA, i);
    }
    /* CA certificates between this one and the leaf */
    if (c->bc_pathlen >= 0 && n - 2 - i > c->bc_pathlen) {
        return fail_cert(res, VERIFY_ERR_CERT_PATHLEN, i);
    }
    return VERIFY_OK;
}

static int check_policy(const struct verify_policy *pol,
                        struct verify_result *res)
{
    const struct verify_doc *d = &res->doc;

    for (int i = 0; i < VERIFY_PCR_COUNT; i++) {
        if (!(pol->pcr_mask & (1u << i))) {
            continue;
        }
        if (!(d->pcr_mask & (1u << i)) ||
            memcmp(d->pcr[i], pol->pcr[i], VERIFY_PCR_SIZE) != 0) {
            res->pcr_index = i;
            return fail(res, VERIFY_ERR_PCR_MISMATCH);
        }
    }
    if (pol->nonce.present &&
        (!d->nonce.present || d->nonce.len != pol->nonce.len ||
         (d->nonce.len && memcmp(d->nonce.p, pol->nonce.p, d->nonce.len)))) {
        return fail_field(res, VERIFY_ERR_NONCE, VERIFY_F_NONCE);
    }
    if (pol->user_data.present &&
        (!d->user_data.present || d->user_data.len != pol->user_data.len ||
         (d->user_data.len &&
          memcmp(d->user_data.p, pol->user_data.p, d->user_data.len)))) {
        return fail_field(res, VERIFY_ERR_USER_DATA, VERIFY_F_USER_DATA);
    }
    if (pol->public_key.present &&
        (!d->public_key.present || d->public_key.len != pol->public_key.len ||
         (d->public_key.len &&
          memcmp(d->public_key.p, pol->public_key.p, d->public_key.len)))) {
        return fail_field(res, VERIFY_ERR_PUBLIC_KEY, VERIFY_F_PUBLIC_KEY);
    }
    if (pol->max_age_ms != 0) {
        int64_t ts =
            (int64_t)(d->timestamp_ms > INT64_MAX / 2 ? INT64_MAX / 2
                                                      : d->timestamp_ms);

        if (ts > res->now_ms + VERIFY_CLOCK_SKEW_MS) {
            return fail_field(res, VERIFY_ERR_FUTURE, VERIFY_F_TIMESTAMP);
        }
        if (res->now_ms > ts &&
            (uint64_t)(res->now_ms - ts) > pol->max_age_ms) {
            return fail_field(res, VERIFY_ERR_TOO_OLD, VERIFY_F_TIMESTAMP);
        }
    }
    return VERIFY_OK;
}

/* see verify.h */
int verify_document(const struct verify_root *root,
                    const struct verify_policy *policy, const uint8_t *doc,
                    size_t len, struct verify_result *res)
{
    static const struct verify_policy defaults;
    struct crypto_x509 certs[VERIFY_CABUNDLE_MAX + 1];
    const struct crypto_x509 *chain[VERIFY_CABUNDLE_MAX + 1];
    struct verify_doc *d = &res->doc;
    struct cose_sign1_view view;
    size_t n_parsed = 0;
    int n, rc;

    if (policy == NULL) {
        policy = &defaults;
    }
    /*
     * Freshness first, before the document is even parsed: a result must
     * not depend on an omission the caller did not notice.
     */
    if (policy->when == VERIFY_AT_NOW && !policy->nonce.present &&
        policy->max_age_ms == 0) {
        result_init(res);
        return fail(res, VERIFY_ERR_FRESHNESS);
    }
    if (verify_parse(doc, len, res) != VERIFY_OK) {
        return res->status;
    }
    if (root == NULL) {
        pthread_once(&aws_once, aws_root_load);
        if (aws_status != VERIFY_OK) {
            return fail(res, VERIFY_ERR_INTERNAL);
        }
        root = &aws_root;
    }
    res->now_ms = policy->now_ms != 0 ? policy->now_ms : (int64_t)tv_wall_ms();
    switch (policy->when) {
    case VERIFY_AT_DOCUMENT:
        res->check_ms = d->timestamp_ms > INT64_MAX / 2
                            ? INT64_MAX / 2
                            : (int64_t)d->timestamp_ms;
        break;
    case VERIFY_AT_NOW:
        res->check_ms = res->now_ms;
        break;
    case VERIFY_AT_TIME:
        res->check_ms = policy->at_ms;
        break;
    default:
        return fail(res, VERIFY_ERR_ARG);
    }

    /* Rule 4: cabundle[0] is the pinned root, byte for byte. */
    if (d->cabundle[0].len != root->der_len ||
        memcmp(d->cabundle[0].p, root->der, root->der_len) != 0) {
        return fail_cert(res, VERIFY_ERR_ROOT, 0);
    }
    n = (int)d->n_cabundle + 1;
    chain[0] = &root->cert;
    for (int i = 1; i < n; i++) {
        const struct verify_blob *b =
            i < n - 1 ? &d->cabundle[i] : &d->certificate;

        if (crypto_x509_parse(&certs[n_parsed], b->p, b->len) != 0) {
            rc = fail_cert(res, VERIFY_ERR_CERT_DECODE, i);
            goto out_certs;
        }
        chain[i] = &certs[n_parsed++];
    }

    /* Rules 5 to 7, from the root down. */
    for (int i = 0; i < n; i++) {
        if (i > 0) {
            if (!chain[i]->sig_es384 || !chain[i - 1]->key_p384) {
                rc = fail_cert(res, VERIFY_ERR_CERT_ALG, i);
                goto out_certs;
            }
            if (!crypto_x509_issuer_matches(chain[i], chain[i - 1])) {
                rc = fail_cert(res, VERIFY_ERR_CERT_ISSUER, i);
                goto out_certs;
            }
            if (!crypto_x509_signed_by(chain[i], chain[i - 1])) {
                rc = fail_cert(res, VERIFY_ERR_CERT_SIGNATURE, i);
                goto out_certs;
            }
        }
        rc = check_cert(chain[i], i, n, res);
        if (rc != VERIFY_OK) {
            goto out_certs;
        }
    }
    res->cert_index = -1;

    /* Rule 8: the document signature with the leaf key. */
    view.tagged = d->tagged;
    view.payload = d->payload.p;
    view.payload_len = d->payload.len;
    view.sig = d->sig;
    if (cose_sign1_verify(&view, chain[n - 1]->key) != COSE_OK) {
        rc = fail(res, VERIFY_ERR_SIGNATURE);
        goto out_certs;
    }

    /* Rule 9: the caller's policy. */
    rc = check_policy(policy, res);
    if (rc == VERIFY_OK) {
        rc = fail(res, VERIFY_OK);
    }

out_certs:
    for (size_t i = 0; i < n_parsed; i++) {
        crypto_x509_release(&certs[i]);
    }
    return rc;
}

/* see verify.h */
const char *verify_strerror(int status)
{
    switch (status) {
    case VERIFY_OK:
        return "OK";
    case VERIFY_ERR_ARG:
        return "invalid arguments";
    case VERIFY_ERR_INTERNAL:
        return "internal error in the crypto library";
    case VERIFY_ERR_COSE:
        return "not a well-formed COSE_Sign1 (CBOR array of 4)";
    case VERIFY_ERR_COSE_TAG:
        return "COSE_Sign1 carries a tag other than 18";
    case VERIFY_ERR_PROTECTED:
        return "protected header is not exactly {1: -35} (ES384)";
    case VERIFY_ERR_UNPROTECTED:
        return "unprotected header is not a map";
    case VERIFY_ERR_COSE_PAYLOAD:
        return "COSE payload is not a definite byte string";
    case VERIFY_ERR_SIG_SIZE:
        return "signature is not a 96-byte byte string";
    case VERIFY_ERR_TRAILING:
        return "trailing bytes after the COSE_Sign1";
    case VERIFY_ERR_PAYLOAD:
        return "payload is not a well-formed CBOR map";
    case VERIFY_ERR_PAYLOAD_TRAILING:
        return "trailing bytes after the payload map";
    case VERIFY_ERR_KEY_TYPE:
        return "payload map key is not a definite text string";
    case VERIFY_ERR_UNKNOWN_KEY:
        return "payload has a key outside the attestation document fields";
    case VERIFY_ERR_DUPLICATE_KEY:
        return "duplicate key in the payload";
    case VERIFY_ERR_FIELD_TYPE:
        return "payload field has the wrong type";
    case VERIFY_ERR_MISSING_FIELD:
        return "mandatory payload field missing or null";
    case VERIFY_ERR_MODULE_ID:
        return "module_id is empty";
    case VERIFY_ERR_DIGEST:
        return "digest is not \"SHA384\"";
    case VERIFY_ERR_TIMESTAMP:
        return "timestamp is zero";
    case VERIFY_ERR_PCRS:
        return "pcrs must have 1..32 entries, indices < 32, 48-byte values";
    case VERIFY_ERR_CERT_SIZE:
        return "certificate is not 1..1024 bytes";
    case VERIFY_ERR_CABUNDLE:
        return "cabundle is empty or too long";
    case VERIFY_ERR_ROOT:
        return "cabundle[0] is not the pinned root certificate";
    case VERIFY_ERR_CERT_DECODE:
        return "certificate does not decode";
    case VERIFY_ERR_CERT_ALG:
        return "certificate is not ECDSA P-384 with SHA-384";
    case VERIFY_ERR_CERT_ISSUER:
        return "certificate issuer does not match the parent's subject";
    case VERIFY_ERR_CERT_SIGNATURE:
        return "certificate signature does not verify";
    case VERIFY_ERR_CERT_TIME:
        return "certificate not valid at the check time";
    case VERIFY_ERR_CERT_CA:
        return "CA certificate lacks critical CA:TRUE or keyCertSign";
    case VERIFY_ERR_CERT_PATHLEN:
        return "CA certificate path length constraint exceeded";
    case VERIFY_ERR_CERT_LEAF:
        return "leaf certificate is a CA or lacks digitalSignature";
    case VERIFY_ERR_CERT_CRITICAL:
        return "certificate has an unknown critical extension";
    case VERIFY_ERR_CERT_EXTENSION:
        return "certificate has a malformed or repeated extension";
    case VERIFY_ERR_SIGNATURE:
        return "signature does not verify";
    case VERIFY_ERR_PCR_MISMATCH:
        return "PCR mismatch";
    case VERIFY_ERR_NONCE:
        return "nonce mismatch";
    case VERIFY_ERR_USER_DATA:
        return "user_data mismatch";
    case VERIFY_ERR_PUBLIC_KEY:
        return "public_key mismatch";
    case VERIFY_ERR_TOO_OLD:
        return "document is older than the maximum age";
    case VERIFY_ERR_FUTURE:
        return "document timestamp is in the future";
    case VERIFY_ERR_FRESHNESS:
        return "no freshness requirement: expect a nonce or a maximum age, "
               "or verify a historic document at its own or a given time";
    default:
        return "unknown verification status";
    }
}

/* see verify.h */
const char *verify_field_name(int field)
{
    if (field < 0 || field >= VERIFY_F_COUNT) {
        return "?";
    }
    return field_names[field];
}

static char *time_ms_str(int64_t t_ms, char *buf, size_t cap)
{
    int64_t s = t_ms >= 0 ? t_ms / 1000 : -((-t_ms + 999) / 1000);
    int ms = (int)(t_ms - s * 1000);
    size_t n;

    crypto_x509_time_str(s, buf, cap);
    n = strlen(buf);
    if (ms != 0 && n > 0 && buf[n - 1] == 'Z' && n + 5 <= cap) {
        snprintf(buf + n - 1, cap - n + 1, ".%03dZ", ms);
    }
    return buf;
}

static const char *cert_role(int i, int n)
{
    if (i == 0) {
        return "root";
    }
    return i == n - 1 ? "leaf" : "intermediate";
}

/* see verify.h */
char *verify_explain(const struct verify_result *res, char *buf, size_t cap)
{
    char t0[40], t1[40], t2[40];
    int i = res->cert_index, n = res->n_certs;

    if (cap == 0) {
        return buf;
    }
    switch (res->status) {
    case VERIFY_ERR_DUPLICATE_KEY:
        if (res->field == VERIFY_F_PCRS && res->pcr_index >= 0) {
            snprintf(buf, cap, "duplicate PCR %d in pcrs", res->pcr_index);
        } else {
            snprintf(buf, cap, "duplicate key \"%s\" in the payload",
                     verify_field_name(res->field));
        }
        break;
    case VERIFY_ERR_FIELD_TYPE:
    case VERIFY_ERR_MISSING_FIELD:
        snprintf(buf, cap, "%s: %s", verify_strerror(res->status),
                 verify_field_name(res->field));
        break;
    case VERIFY_ERR_PCRS:
        if (res->pcr_index >= 0) {
            snprintf(buf, cap, "pcrs: PCR %d value is not 48 bytes",
                     res->pcr_index);
        } else {
            snprintf(buf, cap, "%s", verify_strerror(res->status));
        }
        break;
    case VERIFY_ERR_CERT_SIZE:
    case VERIFY_ERR_ROOT:
    case VERIFY_ERR_CERT_DECODE:
    case VERIFY_ERR_CERT_ALG:
    case VERIFY_ERR_CERT_ISSUER:
    case VERIFY_ERR_CERT_SIGNATURE:
    case VERIFY_ERR_CERT_CA:
    case VERIFY_ERR_CERT_PATHLEN:
    case VERIFY_ERR_CERT_LEAF:
    case VERIFY_ERR_CERT_CRITICAL:
    case VERIFY_ERR_CERT_EXTENSION:
        snprintf(buf, cap, "certificate %d (%s): %s", i, cert_role(i, n),
                 verify_strerror(res->status));
        break;
    case VERIFY_ERR_CERT_TIME:
        snprintf(buf, cap,
                 "certificate %d (%s) not valid at %s (valid %s "
                 "to %s)",
                 i, cert_role(i, n), time_ms_str(res->check_ms, t0, sizeof(t0)),
                 crypto_x509_time_str(res->not_before_s, t1, sizeof(t1)),
                 crypto_x509_time_str(res->not_after_s, t2, sizeof(t2)));
        break;
    case VERIFY_ERR_PCR_MISMATCH:
        snprintf(buf, cap, "PCR %d %s", res->pcr_index,
                 res->parsed && (res->doc.pcr_mask & (1u << res->pcr_index))
                     ? "mismatch"
                     : "absent from the document");
        break;
    case VERIFY_ERR_TOO_OLD:
        snprintf(buf, cap,
                 "document timestamp %s is older than the maximum "
                 "age (now %s)",
                 time_ms_str((int64_t)res->doc.timestamp_ms, t0, sizeof(t0)),
                 time_ms_str(res->now_ms, t1, sizeof(t1)));
        break;
    case VERIFY_ERR_FUTURE:
        snprintf(buf, cap, "document timestamp %s is in the future (now %s)",
                 time_ms_str((int64_t)res->doc.timestamp_ms, t0, sizeof(t0)),
                 time_ms_str(res->now_ms, t1, sizeof(t1)));
        break;
    default:
        snprintf(buf, cap, "%s", verify_strerror(res->status));
        break;
    }
    return buf;
}
