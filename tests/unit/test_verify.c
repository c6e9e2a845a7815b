/* SPDX-License-Identifier: MIT */
/*
 * The attestation verifier against the two real AWS documents and mutated
 * copies of them: every byte of the signature, the protected header and the
 * payload flipped in turn, certificates swapped and dropped, another root
 * pinned, re-encodings (indefinite map, trailing bytes, duplicate keys) and
 * every policy option. OpenSSL's own chain verification runs beside ours as
 * an independent reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#include "cbor/cbor.h"
#include "common/hex.h"
#include "cose/cose.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "verify/verify.h"

#define GA      "nsm/evervault-ga-2023-09-18-debug.cose"
#define BETA    "nsm/evervault-beta-2022-10-12-debug.cose"
#define DOC_CAP 8192

/* ga leaf validity (tests/vectors/PROVENANCE.md) */
#define GA_TS_MS     1695049410860LL
#define GA_LEAF_NB_S 1695047829LL /* 2023-09-18T14:37:09Z */
#define GA_LEAF_NA_S 1695058632LL /* 2023-09-18T17:37:12Z */

static size_t load(const char *rel, uint8_t *buf)
{
    return harness_read_vector(rel, buf, DOC_CAP);
}

/* The real documents are historic: checked at their own timestamp. */
static const struct verify_policy historic = {.when = VERIFY_AT_DOCUMENT};

/* verify_document() with the AWS root; a NULL @pol means &historic. */
static int verify_at(const uint8_t *doc, size_t len,
                     const struct verify_policy *pol, struct verify_result *res)
{
    return verify_document(NULL, pol != NULL ? pol : &historic, doc, len, res);
}

static void real_documents_verify(void **state)
{
    static uint8_t doc[DOC_CAP];
    struct verify_result res;
    char why[256];
    size_t len;

    len = load(GA, doc);
    assert_int_equal(verify_at(doc, len, NULL, &res), VERIFY_OK);
    assert_string_equal(verify_explain(&res, why, sizeof(why)), "OK");
    assert_true(res.parsed);
    assert_false(res.doc.tagged);
    assert_int_equal(res.doc.module_id.len, 39);
    assert_memory_equal(res.doc.module_id.p,
                        "i-0918f6c55e3b61d89-enc018aa8b8e2285d13", 39);
    assert_int_equal(res.doc.timestamp_ms, GA_TS_MS);
    assert_int_equal(res.doc.n_pcrs, 16);
    assert_int_equal(res.doc.pcr_mask, 0xffff);
    assert_int_equal(res.doc.n_cabundle, 4);
    assert_int_equal(res.doc.certificate.len, 640);
    assert_false(res.doc.public_key.present);
    assert_int_equal(res.doc.user_data.len, 91);
    assert_int_equal(res.doc.nonce.len, 256);

    len = load(BETA, doc);
    assert_int_equal(verify_at(doc, len, NULL, &res), VERIFY_OK);
    assert_int_equal(res.doc.timestamp_ms, 1665582606081LL);
    assert_true(res.doc.public_key.present);
    assert_int_equal(res.doc.public_key.len, 19);
    assert_memory_equal(res.doc.public_key.p, "my super secret key", 19);
    assert_memory_equal(res.doc.user_data.p, "hello, world!", 13);
    assert_false(res.doc.nonce.present);
}

/* The same document behind tag 18 (d2) verifies; another tag does not. */
static void tagged_accepted(void **state)
{
    static uint8_t doc[DOC_CAP + 1];
    struct verify_result res;
    size_t len = load(GA, doc + 1);

    doc[0] = 0xd2;
    assert_int_equal(verify_at(doc, len + 1, NULL, &res), VERIFY_OK);
    assert_true(res.doc.tagged);
    doc[0] = 0xd3;
    assert_int_equal(verify_at(doc, len + 1, NULL, &res), VERIFY_ERR_COSE_TAG);
}

static void time_window(void **state)
{
    static uint8_t doc[DOC_CAP];
    struct verify_policy pol = {0};
    struct verify_result res;
    char why[256];
    size_t len = load(GA, doc);

    /* leaf notAfter + 1 h fails on the leaf (certificate 4) */
    pol.when = VERIFY_AT_TIME;
    pol.at_ms = (GA_LEAF_NA_S + 3600) * 1000;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_CERT_TIME);
    assert_int_equal(res.cert_index, 4);
    assert_string_equal(verify_explain(&res, why, sizeof(why)),
                        "certificate 4 (leaf) not valid at "
                        "2023-09-18T18:37:12Z (valid 2023-09-18T14:37:09Z "
                        "to 2023-09-18T17:37:12Z)");

    /* the last valid second and the first invalid one */
    pol.at_ms = GA_LEAF_NA_S * 1000 + 999;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    pol.at_ms = (GA_LEAF_NA_S + 1) * 1000;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_CERT_TIME);

    /* before notBefore */
    pol.at_ms = GA_LEAF_NB_S * 1000;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    pol.at_ms = GA_LEAF_NB_S * 1000 - 1;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_CERT_TIME);
    assert_int_equal(res.cert_index, 4);

    /* years later every certificate but the root has expired */
    pol.when = VERIFY_AT_NOW;
    pol.max_age_ms = 60000; /* checked after the chain */
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_CERT_TIME);
    assert_int_equal(res.cert_index, 1);
    verify_explain(&res, why, sizeof(why));
    assert_non_null(strstr(why, "certificate 1 (intermediate) not valid at"));

    /* the beta document at ga's time: its certificates expired long ago */
    len = load(BETA, doc);
    pol.when = VERIFY_AT_TIME;
    pol.max_age_ms = 0;
    pol.at_ms = GA_TS_MS;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_CERT_TIME);
}

/* OpenSSL's own chain verification agrees at the same instants. */
static void openssl_reference_agrees(void **state)
{
    static uint8_t doc[DOC_CAP];
    const char *files[] = {GA, BETA};

    for (size_t f = 0; f < 2; f++) {
        struct verify_result res;
        const uint8_t *inter[VERIFY_CABUNDLE_MAX];
        size_t inter_len[VERIFY_CABUNDLE_MAX];
        struct crypto_x509 leaf;
        char err[128];
        size_t len = load(files[f], doc);
        int64_t ts_s;
        int rc;

        assert_int_equal(verify_parse(doc, len, &res), VERIFY_OK);
        for (size_t i = 1; i < res.doc.n_cabundle; i++) {
            inter[i - 1] = res.doc.cabundle[i].p;
            inter_len[i - 1] = res.doc.cabundle[i].len;
        }
        ts_s = (int64_t)(res.doc.timestamp_ms / 1000);
        rc = crypto_x509_verify_chain_openssl(
            verify_aws_root_der, VERIFY_AWS_ROOT_SIZE, inter, inter_len,
            res.doc.n_cabundle - 1, res.doc.certificate.p,
            res.doc.certificate.len, ts_s, err, sizeof(err));
        assert_string_equal(err, "ok");
        assert_int_equal(rc, 0);
        assert_int_equal(crypto_x509_parse(&leaf, res.doc.certificate.p,
                                           res.doc.certificate.len),
                         0);
        assert_int_equal(crypto_x509_verify_chain_openssl(
                             verify_aws_root_der, VERIFY_AWS_ROOT_SIZE, inter,
                             inter_len, res.doc.n_cabundle - 1,
                             res.doc.certificate.p, res.doc.certificate.len,
                             leaf.not_after_s + 3600, err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "expired"));
        /* the leaf constraints as §11 describes them */
        assert_true(leaf.bc_present && leaf.bc_critical && !leaf.bc_ca);
        assert_true(leaf.ku_bits & CRYPTO_KU_DIGITAL_SIGNATURE);
        assert_int_equal(leaf.serial_len, 16);
        crypto_x509_release(&leaf);
    }
}

static void flip_signature_bytes(void **state)
{
    static uint8_t doc[DOC_CAP];
    struct verify_result res;
    size_t len = load(GA, doc);

    for (size_t i = len - 96; i < len; i++) {
        doc[i] ^= 0x01;
        assert_int_equal(verify_at(doc, len, NULL, &res), VERIFY_ERR_SIGNATURE);
        doc[i] ^= 0x01;
    }
    /* the signature head: 58 60 -> other lengths or types */
    for (size_t i = len - 98; i < len - 96; i++) {
        doc[i] ^= 0x01;
        assert_int_not_equal(verify_at(doc, len, NULL, &res), VERIFY_OK);
        doc[i] ^= 0x01;
    }
    assert_int_equal(verify_at(doc, len, NULL, &res), VERIFY_OK);
}

static void flip_protected_bytes(void **state)
{
    static uint8_t doc[DOC_CAP];
    struct verify_result res;
    size_t len = load(GA, doc);

    /* 84 | 44 a1 01 38 22 | a0 ... */
    for (size_t i = 2; i < 6; i++) {
        for (int bit = 0; bit < 8; bit++) {
            doc[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(verify_at(doc, len, NULL, &res),
                             VERIFY_ERR_PROTECTED);
            doc[i] ^= (uint8_t)(1u << bit);
        }
    }
    for (int bit = 0; bit < 8; bit++) {
        doc[1] ^= (uint8_t)(1u << bit);
        assert_int_not_equal(verify_at(doc, len, NULL, &res), VERIFY_OK);
        doc[1] ^= (uint8_t)(1u << bit);
    }
    /* unprotected: a0 -> 80 (an array) */
    doc[6] = 0x80;
    assert_int_equal(verify_at(doc, len, NULL, &res), VERIFY_ERR_UNPROTECTED);
    doc[6] = 0xa0;
    assert_int_equal(verify_at(doc, len, NULL, &res), VERIFY_OK);
}

static bool inside(const uint8_t *p, const struct verify_blob *b)
{
    return b->present && p >= b->p && p < b->p + b->len;
}

/*
 * Every payload byte flipped: nothing verifies. Where the flip lands inside
 * data that the parser cannot judge (PCR values, user_data, nonce, module_id
 * characters, timestamp digits) the failure must be the signature itself.
 */
static void flip_payload_bytes(void **state)
{
    static uint8_t doc[DOC_CAP];
    struct verify_result good, res;
    size_t len = load(GA, doc);
    size_t off, n_sig = 0;

    assert_int_equal(verify_parse(doc, len, &good), VERIFY_OK);
    off = (size_t)(good.doc.payload.p - doc);
    for (size_t i = off; i < off + good.doc.payload.len; i++) {
        const uint8_t *p = doc + i;
        bool data =
            inside(p, &good.doc.user_data) || inside(p, &good.doc.nonce);

        for (int k = 0; k < VERIFY_PCR_COUNT; k++) {
            if ((good.doc.pcr_mask & (1u << k)) && p >= good.doc.pcr[k] &&
                p < good.doc.pcr[k] + VERIFY_PCR_SIZE) {
                data = true;
            }
        }
        doc[i] ^= 0x80;
        verify_at(doc, len, NULL, &res);
        if (res.status == VERIFY_OK) {
            fail_msg("payload byte %zu flipped still verifies", i - off);
        }
        if (data) {
            assert_int_equal(res.status, VERIFY_ERR_SIGNATURE);
            n_sig++;
        }
        doc[i] ^= 0x80;
    }
    assert_true(n_sig > 16 * 48 + 256 + 91 - 1);
    assert_int_equal(verify_at(doc, len, NULL, &res), VERIFY_OK);
}

/*
 * Re-encoding helpers: rebuild a payload from a parsed document with one
 * change, then wrap it with the original signature.
 */
struct mutation {
    bool indefinite;       /* bf ... ff instead of a9 */
    int drop_ca;           /* cabundle index to leave out, or -1 */
    bool swap_ca12;        /* exchange cabundle[1] and cabundle[2] */
    const char *extra_key; /* a tenth key (duplicate or unknown) */
    int dup_pcr;           /* repeat this PCR index, or -1 */
    int uint_key;          /* add a uint key, or -1 */
    const uint8_t *root;   /* replace cabundle[0] */
    size_t root_len;
    const char *digest; /* replace digest */
    bool empty_module_id;
    bool zero_timestamp;
    bool null_certificate;
    bool pcr_short;    /* PCR 0 value 47 bytes */
    bool pcr_index_32; /* PCR 15 keyed 32 */
    bool trailing;     /* a byte after the map */
};

static size_t build_payload(const struct verify_doc *d,
                            const struct mutation *m, uint8_t *out, size_t cap)
{
    struct cbor_wr w;
    size_t n_ca = 0;
    size_t order[VERIFY_CABUNDLE_MAX];
    int n_keys = 9 + (m->extra_key != NULL) + (m->uint_key >= 0);

    for (size_t i = 0; i < d->n_cabundle; i++) {
        if ((int)i != m->drop_ca) {
            order[n_ca++] = i;
        }
    }
    if (m->swap_ca12) {
        order[1] = 2;
        order[2] = 1;
    }
    cbor_wr_init(&w, out, cap);
    if (m->indefinite) {
        cbor_put_map_indef(&w);
    } else {
        cbor_put_map(&w, (size_t)n_keys);
    }
    cbor_put_cstr(&w, "module_id");
    cbor_put_text(&w, d->module_id.p,
                  m->empty_module_id ? 0 : d->module_id.len);
    cbor_put_cstr(&w, "digest");
    if (m->digest != NULL) {
        cbor_put_cstr(&w, m->digest);
    } else {
        cbor_put_text(&w, d->digest.p, d->digest.len);
    }
    cbor_put_cstr(&w, "timestamp");
    cbor_put_uint64_full(&w, m->zero_timestamp ? 0 : d->timestamp_ms);
    cbor_put_cstr(&w, "pcrs");
    cbor_put_map(&w, d->n_pcrs + (m->dup_pcr >= 0));
    for (int k = 0; k < VERIFY_PCR_COUNT; k++) {
        if (d->pcr_mask & (1u << k)) {
            cbor_put_uint(&w, m->pcr_index_32 && k == 15 ? 32 : (uint64_t)k);
            cbor_put_bytes(&w, d->pcr[k],
                           m->pcr_short && k == 0 ? 47 : VERIFY_PCR_SIZE);
        }
        if (k == m->dup_pcr) {
            cbor_put_uint(&w, (uint64_t)k);
            cbor_put_bytes(&w, d->pcr[k], VERIFY_PCR_SIZE);
        }
    }
    cbor_put_cstr(&w, "certificate");
    if (m->null_certificate) {
        cbor_put_null(&w);
    } else {
        cbor_put_bytes(&w, d->certificate.p, d->certificate.len);
    }
    cbor_put_cstr(&w, "cabundle");
    cbor_put_array(&w, n_ca);
    for (size_t i = 0; i < n_ca; i++) {
        if (order[i] == 0 && m->root != NULL) {
            cbor_put_bytes(&w, m->root, m->root_len);
        } else {
            cbor_put_bytes(&w, d->cabundle[order[i]].p,
                           d->cabundle[order[i]].len);
        }
    }
    cbor_put_cstr(&w, "public_key");
    if (d->public_key.present) {
        cbor_put_bytes(&w, d->public_key.p, d->public_key.len);
    } else {
        cbor_put_null(&w);
    }
    cbor_put_cstr(&w, "user_data");
    if (d->user_data.present) {
        cbor_put_bytes(&w, d->user_data.p, d->user_data.len);
    } else {
        cbor_put_null(&w);
    }
    cbor_put_cstr(&w, "nonce");
    if (d->nonce.present) {
        cbor_put_bytes(&w, d->nonce.p, d->nonce.len);
    } else {
        cbor_put_null(&w);
    }
    if (m->extra_key != NULL) {
        cbor_put_cstr(&w, m->extra_key);
        cbor_put_bytes(&w, "x", 1);
    }
    if (m->uint_key >= 0) {
        cbor_put_uint(&w, (uint64_t)m->uint_key);
        cbor_put_null(&w);
    }
    if (m->indefinite) {
        cbor_put_break(&w);
    }
    if (m->trailing) {
        cbor_put_uint(&w, 0);
    }
    assert_false(w.overflow);
    return w.len;
}

static size_t wrap(const uint8_t *payload, size_t payload_len,
                   const uint8_t *sig, uint8_t *out, size_t cap)
{
    static const uint8_t head[] = {0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0};
    struct cbor_wr w;

    cbor_wr_init(&w, out, cap);
    cbor_put_raw(&w, head, sizeof(head));
    cbor_put_bytes(&w, payload, payload_len);
    cbor_put_bytes(&w, sig, 96);
    assert_false(w.overflow);
    return w.len;
}

static struct mutation no_mutation(void)
{
    struct mutation m;

    memset(&m, 0, sizeof(m));
    m.drop_ca = -1;
    m.dup_pcr = -1;
    m.uint_key = -1;
    return m;
}

/* Rebuild GA with @m and verify it at its timestamp. */
static int mutated(const struct mutation *m, struct verify_result *res)
{
    static uint8_t doc[DOC_CAP], payload[DOC_CAP], out[DOC_CAP];
    struct verify_result good;
    size_t len = load(GA, doc), plen;

    assert_int_equal(verify_parse(doc, len, &good), VERIFY_OK);
    plen = build_payload(&good.doc, m, payload, sizeof(payload));
    len = wrap(payload, plen, good.doc.sig, out, sizeof(out));
    return verify_at(out, len, NULL, res);
}

/* Our re-encoder reproduces the real bytes, so the mutations are exact. */
static void reencoding_identity(void **state)
{
    static uint8_t doc[DOC_CAP], payload[DOC_CAP], out[DOC_CAP];
    struct mutation m = no_mutation();
    struct verify_result good;
    const char *files[] = {GA, BETA};

    for (size_t f = 0; f < 2; f++) {
        size_t len = load(files[f], doc), plen, olen;

        assert_int_equal(verify_parse(doc, len, &good), VERIFY_OK);
        plen = build_payload(&good.doc, &m, payload, sizeof(payload));
        olen = wrap(payload, plen, good.doc.sig, out, sizeof(out));
        assert_int_equal(olen, len);
        assert_bytes_equal(out, doc, len);
    }
}

static void indefinite_map(void **state)
{
    struct mutation m = no_mutation();
    struct verify_result res;

    m.indefinite = true;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_SIGNATURE);
    assert_true(res.parsed);
    assert_int_equal(res.doc.n_pcrs, 16);
    assert_int_equal(res.doc.nonce.len, 256);
}

static void cabundle_changes(void **state)
{
    static uint8_t other_root[2048];
    struct mutation m = no_mutation();
    struct verify_result res;
    char why[256];
    size_t n;

    m.swap_ca12 = true;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_CERT_ISSUER);
    assert_int_equal(res.cert_index, 1);
    assert_string_equal(verify_explain(&res, why, sizeof(why)),
                        "certificate 1 (intermediate): certificate issuer "
                        "does not match the parent's subject");

    for (int drop = 0; drop < 4; drop++) {
        m = no_mutation();
        m.drop_ca = drop;
        assert_int_equal(mutated(&m, &res),
                         drop == 0 ? VERIFY_ERR_ROOT : VERIFY_ERR_CERT_ISSUER);
        assert_int_equal(res.cert_index, drop == 0 ? 0 : drop);
    }

    /* cabundle[0] replaced by another root: not the pinned one */
    m = no_mutation();
    n = harness_read_vector("nsm/aws-nitro-enclaves-root-g1.der", other_root,
                            sizeof(other_root));
    other_root[n - 1] ^= 1; /* a root whose signature no longer matches */
    m.root = other_root;
    m.root_len = n;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_ROOT);
}

/* A leaf signed by the right key but presented under another root. */
static void wrong_root_pinned(void **state)
{
    static uint8_t doc[DOC_CAP];
    struct crypto_key *k = crypto_key_generate_p384();
    struct crypto_x509_template t = {
        .org = "test",
        .cn = "other root",
        .serial = (const uint8_t *)"\x01",
        .serial_len = 1,
        .not_before_s = 0,
        .not_after_s = 4000000000LL,
        .ca = true,
        .pathlen = -1,
        .ku_bits = CRYPTO_KU_KEY_CERT_SIGN | CRYPTO_KU_CRL_SIGN,
        .ku_critical = true,
        .subject_key = k,
    };
    uint8_t der[CRYPTO_X509_DER_MAX];
    struct verify_root root;
    struct verify_result res;
    long der_len;
    size_t len = load(GA, doc);

    assert_non_null(k);
    der_len = crypto_x509_issue(&t, NULL, k, der, sizeof(der));
    assert_true(der_len > 0);
    assert_int_equal(verify_root_init(&root, der, (size_t)der_len), VERIFY_OK);
    assert_int_equal(verify_document(&root, &historic, doc, len, &res),
                     VERIFY_ERR_ROOT);
    assert_int_equal(res.cert_index, 0);
    verify_root_release(&root);
    crypto_key_free(k);

    /* pinning the AWS root explicitly (PEM) is the same as the default */
    {
        static uint8_t pem[2048];
        size_t pem_len = harness_read_vector(
            "nsm/aws-nitro-enclaves-root-g1.pem", pem, sizeof(pem));

        assert_int_equal(verify_root_init(&root, pem, pem_len), VERIFY_OK);
        assert_int_equal(verify_document(&root, &historic, doc, len, &res),
                         VERIFY_OK);
        verify_root_release(&root);
    }
    assert_int_equal(verify_root_init(&root, (const uint8_t *)"junk", 4),
                     VERIFY_ERR_ARG);
}

static void trailing_bytes(void **state)
{
    static uint8_t doc[DOC_CAP + 1];
    struct mutation m = no_mutation();
    struct verify_result res;
    size_t len = load(GA, doc);

    doc[len] = 0x00;
    assert_int_equal(verify_at(doc, len + 1, NULL, &res), VERIFY_ERR_TRAILING);
    /* truncated by one byte */
    assert_int_equal(verify_at(doc, len - 1, NULL, &res), VERIFY_ERR_COSE);
    assert_int_equal(verify_at(doc, 0, NULL, &res), VERIFY_ERR_COSE);

    m.trailing = true;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_PAYLOAD_TRAILING);
}

static void duplicate_and_unknown_keys(void **state)
{
    struct mutation m = no_mutation();
    struct verify_result res;
    char why[256];

    m.extra_key = "nonce";
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_DUPLICATE_KEY);
    assert_string_equal(verify_explain(&res, why, sizeof(why)),
                        "duplicate key \"nonce\" in the payload");
    m.extra_key = "module_id";
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_DUPLICATE_KEY);
    assert_int_equal(res.field, VERIFY_F_MODULE_ID);

    m = no_mutation();
    m.dup_pcr = 4;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_DUPLICATE_KEY);
    assert_string_equal(verify_explain(&res, why, sizeof(why)),
                        "duplicate PCR 4 in pcrs");

    m = no_mutation();
    m.extra_key = "extra";
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_UNKNOWN_KEY);
    m = no_mutation();
    m.uint_key = 1;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_KEY_TYPE);
}

static void content_rules(void **state)
{
    struct mutation m = no_mutation();
    struct verify_result res;

    m.empty_module_id = true;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_MODULE_ID);
    m = no_mutation();
    m.digest = "SHA256";
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_DIGEST);
    m = no_mutation();
    m.zero_timestamp = true;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_TIMESTAMP);
    m = no_mutation();
    m.null_certificate = true;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_MISSING_FIELD);
    assert_int_equal(res.field, VERIFY_F_CERTIFICATE);
    m = no_mutation();
    m.pcr_short = true;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_PCRS);
    m = no_mutation();
    m.pcr_index_32 = true;
    assert_int_equal(mutated(&m, &res), VERIFY_ERR_PCRS);
}

/* Hand-written payloads for shapes the re-encoder cannot produce. */
static int parse_payload_hex(const char *hex, struct verify_result *res)
{
    uint8_t payload[512], out[1024], sig[96] = {0};
    size_t plen = harness_hex(hex, payload, sizeof(payload));
    size_t len = wrap(payload, plen, sig, out, sizeof(out));

    return verify_parse(out, len, res);
}

static void payload_shapes(void **state)
{
    struct verify_result res;

    /* not a map */
    assert_int_equal(parse_payload_hex("80", &res), VERIFY_ERR_PAYLOAD);
    /* empty map: module_id missing */
    assert_int_equal(parse_payload_hex("a0", &res), VERIFY_ERR_MISSING_FIELD);
    assert_int_equal(res.field, VERIFY_F_MODULE_ID);
    /* indefinite map without its break */
    assert_int_equal(parse_payload_hex("bf", &res), VERIFY_ERR_PAYLOAD);
    /* {"module_id": 1}: wrong type */
    assert_int_equal(parse_payload_hex("a1696d6f64756c655f696401", &res),
                     VERIFY_ERR_FIELD_TYPE);
    /* {"module_id": null}: null counts as absent */
    assert_int_equal(parse_payload_hex("a1696d6f64756c655f6964f6", &res),
                     VERIFY_ERR_MISSING_FIELD);
    /* map claims 2 pairs, holds 1 */
    assert_int_equal(parse_payload_hex("a2696d6f64756c655f69646161", &res),
                     VERIFY_ERR_PAYLOAD);
    /* payload not a byte string at COSE level */
    {
        static const uint8_t doc[] = {0x84, 0x44, 0xa1, 0x01, 0x38,
                                      0x22, 0xa0, 0xf6, 0x40};
        assert_int_equal(verify_parse(doc, sizeof(doc), &res),
                         VERIFY_ERR_COSE_PAYLOAD);
    }
    /* a 95-byte signature */
    {
        uint8_t doc[7 + 2 + 2 + 95] = {0x84, 0x44, 0xa1, 0x01, 0x38, 0x22,
                                       0xa0, 0x41, 0xa0, 0x58, 95};
        assert_int_equal(verify_parse(doc, sizeof(doc), &res),
                         VERIFY_ERR_SIG_SIZE);
    }
}

static void hexpcr(uint8_t out[48], const uint8_t *in)
{
    memcpy(out, in, 48);
}

static void policy_checks(void **state)
{
    static uint8_t doc[DOC_CAP];
    static struct verify_policy pol;
    struct verify_result good, res;
    char why[256];
    size_t len = load(GA, doc);

    assert_int_equal(verify_parse(doc, len, &good), VERIFY_OK);
    memset(&pol, 0, sizeof(pol));
    pol.when = VERIFY_AT_DOCUMENT;

    /* expected PCRs: the right values pass, one changed bit fails */
    pol.pcr_mask = (1u << 3) | (1u << 4) | (1u << 0);
    hexpcr(pol.pcr[0], good.doc.pcr[0]);
    hexpcr(pol.pcr[3], good.doc.pcr[3]);
    hexpcr(pol.pcr[4], good.doc.pcr[4]);
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    pol.pcr[4][47] ^= 1;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_PCR_MISMATCH);
    assert_string_equal(verify_explain(&res, why, sizeof(why)),
                        "PCR 4 mismatch");
    pol.pcr_mask = 1u << 20;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_PCR_MISMATCH);
    assert_string_equal(verify_explain(&res, why, sizeof(why)),
                        "PCR 20 absent from the document");
    pol.pcr_mask = 0;

    /* nonce */
    pol.nonce = good.doc.nonce;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    pol.nonce.len--;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_NONCE);
    memset(&pol.nonce, 0, sizeof(pol.nonce));

    /* user_data */
    pol.user_data = good.doc.user_data;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    {
        static uint8_t other[91];

        memcpy(other, good.doc.user_data.p, sizeof(other));
        other[90] ^= 1;
        pol.user_data.p = other;
        assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_USER_DATA);
    }
    memset(&pol.user_data, 0, sizeof(pol.user_data));

    /* public_key: absent in ga, so any expectation fails */
    pol.public_key.present = true;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_PUBLIC_KEY);
    memset(&pol.public_key, 0, sizeof(pol.public_key));

    /* maximum age against the caller's clock */
    pol.max_age_ms = 60000;
    pol.now_ms = GA_TS_MS + 30000;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    pol.now_ms = GA_TS_MS + 3600000;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_TOO_OLD);
    verify_explain(&res, why, sizeof(why));
    assert_non_null(strstr(why, "2023-09-18T15:03:30.860Z"));
    pol.now_ms = GA_TS_MS - 3600000;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_FUTURE);

    /* the caller's clock as check time, when it lies in the window */
    memset(&pol, 0, sizeof(pol));
    pol.when = VERIFY_AT_NOW;
    pol.now_ms = GA_TS_MS + 60000;
    pol.max_age_ms = 120000;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    assert_int_equal(res.check_ms, GA_TS_MS + 60000);
}

/*
 * The default policy is the strict one: checked at the caller's clock, a
 * document needs an expected nonce or a maximum age, and without one the
 * verifier refuses before reading it. Saying "historic" is the other way.
 */
static void freshness_required(void **state)
{
    static uint8_t doc[DOC_CAP];
    static struct verify_policy pol;
    struct verify_result good, res;
    char why[256];
    size_t len = load(GA, doc);

    assert_int_equal(verify_parse(doc, len, &good), VERIFY_OK);

    /* NULL and a zero policy alike */
    assert_int_equal(verify_document(NULL, NULL, doc, len, &res),
                     VERIFY_ERR_FRESHNESS);
    assert_false(res.parsed);
    assert_string_equal(verify_explain(&res, why, sizeof(why)),
                        verify_strerror(VERIFY_ERR_FRESHNESS));
    memset(&pol, 0, sizeof(pol));
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_FRESHNESS);
    /* refused before parsing: even junk gets the same answer */
    assert_int_equal(verify_at((const uint8_t *)"junk", 4, &pol, &res),
                     VERIFY_ERR_FRESHNESS);
    /* PCRs, user_data or public_key do not make a document fresh */
    pol.pcr_mask = 1;
    memcpy(pol.pcr[0], good.doc.pcr[0], VERIFY_PCR_SIZE);
    pol.user_data = good.doc.user_data;
    pol.now_ms = GA_TS_MS + 1000;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_FRESHNESS);
    pol.when = VERIFY_AT_NOW;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_FRESHNESS);

    /* a nonce binds it to the present: checked at the caller's clock */
    pol.nonce = good.doc.nonce;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    assert_int_equal(res.check_ms, GA_TS_MS + 1000);
    pol.now_ms = 0; /* the system clock: the chain expired years ago */
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_CERT_TIME);
    /* an empty expected nonce is still an expectation */
    pol.now_ms = GA_TS_MS + 1000;
    pol.nonce.len = 0;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_ERR_NONCE);
    memset(&pol.nonce, 0, sizeof(pol.nonce));

    /* so does a maximum age */
    pol.now_ms = GA_TS_MS + 1000;
    pol.max_age_ms = 5000;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    pol.max_age_ms = 0;

    /* historic: at the document's own time, or at a given one */
    pol.when = VERIFY_AT_DOCUMENT;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    assert_int_equal(res.check_ms, GA_TS_MS);
    pol.when = VERIFY_AT_TIME;
    pol.at_ms = GA_TS_MS - 1000;
    assert_int_equal(verify_at(doc, len, &pol, &res), VERIFY_OK);
    assert_int_equal(res.check_ms, GA_TS_MS - 1000);
}

/* Every status has its own description. */
static void strerror_distinct(void **state)
{
    for (int a = VERIFY_ERR_FRESHNESS; a <= VERIFY_ERR_ARG + 1; a++) {
        int sa = a > VERIFY_ERR_ARG ? VERIFY_OK : a;

        assert_string_not_equal(verify_strerror(sa),
                                "unknown verification status");
        for (int b = a + 1; b <= VERIFY_ERR_ARG; b++) {
            assert_string_not_equal(verify_strerror(sa), verify_strerror(b));
        }
    }
    assert_string_equal(verify_strerror(-1), "unknown verification status");
}

/* The adapter's DER walker on the real certificates and broken copies. */
static void x509_der_parser(void **state)
{
    static uint8_t der[2048];
    static const uint8_t root_serial[] = {
        0xf9, 0x31, 0x75, 0x68, 0x1b, 0x90, 0xaf, 0xe1,
        0x1d, 0x46, 0xcc, 0xb4, 0xe4, 0xe7, 0xf8, 0x56,
    };
    static const uint8_t bc_leaf[] = {
        0x30, 0x0c, 0x06, 0x03, 0x55, 0x1d, 0x13,
        0x01, 0x01, 0xff, 0x04, 0x02, 0x30, 0x00,
    };
    static uint8_t doc[DOC_CAP];
    struct verify_result res;
    struct crypto_x509 c;
    char name[CRYPTO_X509_NAME_MAX];
    size_t n = harness_read_vector("nsm/aws-nitro-enclaves-root-g1.der", der,
                                   sizeof(der));
    size_t len, i;
    uint8_t *p;

    assert_int_equal(crypto_x509_parse(&c, der, n), 0);
    assert_int_equal(c.not_before_s, 1572269285); /* 2019-10-28T13:28:05Z */
    assert_int_equal(c.not_after_s, 2519044085);  /* 2049-10-28T14:28:05Z */
    assert_int_equal(c.serial_len, sizeof(root_serial));
    assert_memory_equal(c.serial, root_serial, sizeof(root_serial));
    assert_true(c.sig_es384 && c.key_p384);
    assert_true(c.bc_present && c.bc_critical && c.bc_ca);
    assert_int_equal(c.bc_pathlen, -1);
    assert_int_equal(c.ku_bits, CRYPTO_KU_DIGITAL_SIGNATURE |
                                    CRYPTO_KU_KEY_CERT_SIGN |
                                    CRYPTO_KU_CRL_SIGN);
    assert_int_equal(c.unknown_critical, 0);
    assert_true(crypto_x509_signed_by(&c, &c));
    assert_true(crypto_x509_issuer_matches(&c, &c));
    assert_string_equal(crypto_x509_subject(&c, name, sizeof(name)),
                        "C=US, O=Amazon, OU=AWS, CN=aws.nitro-enclaves");
    crypto_x509_release(&c);

    /* trailing byte, truncation, non-minimal and indefinite lengths */
    der[n] = 0;
    assert_int_equal(crypto_x509_parse(&c, der, n + 1), -1);
    assert_int_equal(crypto_x509_parse(&c, der, n - 1), -1);
    assert_int_equal(der[0], 0x30);
    assert_int_equal(der[1], 0x82); /* 30 82 02 11 */
    der[1] = 0x83;
    assert_int_equal(crypto_x509_parse(&c, der, n), -1);
    der[1] = 0x80;
    assert_int_equal(crypto_x509_parse(&c, der, n), -1);
    der[1] = 0x82;
    assert_int_equal(crypto_x509_parse(&c, der, n), 0);
    crypto_x509_release(&c);
    /* every single-byte flip either fails to parse or breaks the signature */
    for (i = 0; i < n; i++) {
        der[i] ^= 0x01;
        if (crypto_x509_parse(&c, der, n) == 0) {
            assert_false(crypto_x509_signed_by(&c, &c) &&
                         crypto_x509_issuer_matches(&c, &c) &&
                         c.not_before_s == 1572269285 &&
                         c.not_after_s == 2519044085 && c.bc_ca &&
                         c.ku_bits ==
                             (CRYPTO_KU_DIGITAL_SIGNATURE |
                              CRYPTO_KU_KEY_CERT_SIGN | CRYPTO_KU_CRL_SIGN) &&
                         c.serial_len == 16 && c.serial[15] == 0x56 &&
                         c.serial[0] == 0xf9);
            crypto_x509_release(&c);
        }
        der[i] ^= 0x01;
    }

    /* the ga leaf: CA:FALSE critical; renamed to an unknown extension */
    len = load(GA, doc);
    assert_int_equal(verify_parse(doc, len, &res), VERIFY_OK);
    memcpy(der, res.doc.certificate.p, res.doc.certificate.len);
    n = res.doc.certificate.len;
    assert_int_equal(crypto_x509_parse(&c, der, n), 0);
    assert_true(c.bc_present && c.bc_critical && !c.bc_ca);
    assert_int_equal(c.ku_bits,
                     CRYPTO_KU_DIGITAL_SIGNATURE | CRYPTO_KU_NON_REPUDIATION);
    assert_false(c.ku_critical);
    crypto_x509_release(&c);
    p = memmem(der, n, bc_leaf, sizeof(bc_leaf));
    assert_non_null(p);
    p[6] = 0x7f; /* 2.5.29.127: not one we interpret */
    assert_int_equal(crypto_x509_parse(&c, der, n), 0);
    assert_false(c.bc_present);
    assert_int_equal(c.unknown_critical, 1);
    crypto_x509_release(&c);
    p[6] = 0x0f; /* a second keyUsage */
    assert_int_equal(crypto_x509_parse(&c, der, n), 0);
    assert_true(c.bad_extension);
    crypto_x509_release(&c);
}

/*
 * Chains of our own making for the §12.7 constraints: root -> A -> B ->
 * leaf, each certificate from a template the test bends.
 */
struct chain_spec {
    struct crypto_x509_template t[4]; /* root, A, B, leaf */
    bool leaf_by_root;                /* sign the leaf with the root */
    bool skip_b;                      /* root -> A -> leaf */
};

#define CHAIN_T0 1700000000LL

static void chain_defaults(struct chain_spec *cs, struct crypto_key **k)
{
    static const char *const cn[4] = {"root", "A", "B", "leaf"};

    memset(cs, 0, sizeof(*cs));
    for (int i = 0; i < 4; i++) {
        cs->t[i].org = "test";
        cs->t[i].cn = cn[i];
        cs->t[i].serial = (const uint8_t *)"\x11\x22";
        cs->t[i].serial_len = 2;
        cs->t[i].not_before_s = CHAIN_T0 - 3600;
        cs->t[i].not_after_s = CHAIN_T0 + 3600;
        cs->t[i].ca = i < 3;
        cs->t[i].pathlen = i == 0 ? -1 : 2 - i;
        cs->t[i].ku_bits = i < 3 ? CRYPTO_KU_KEY_CERT_SIGN | CRYPTO_KU_CRL_SIGN
                                 : CRYPTO_KU_DIGITAL_SIGNATURE;
        cs->t[i].ku_critical = i < 3;
        cs->t[i].subject_key = k[i];
    }
}

/*
 * A document at CHAIN_T0 with cabundle @ca (root first) and @leaf, signed
 * with @leaf_key, verified with @ca[0] pinned.
 */
static int doc_verify(const uint8_t *const *ca, const size_t *ca_len, int n_ca,
                      const uint8_t *leaf, size_t leaf_len,
                      const struct crypto_key *leaf_key,
                      struct verify_result *res)
{
    static uint8_t payload[8192], doc[8192];
    static const uint8_t zero_pcr[48];
    struct verify_root root;
    struct cbor_wr w;
    size_t doc_len;
    int rc;

    cbor_wr_init(&w, payload, sizeof(payload));
    cbor_put_map(&w, 9);
    cbor_put_cstr(&w, "module_id");
    cbor_put_cstr(&w, "i-0123456789abcdef0-enc0123456789abcdef");
    cbor_put_cstr(&w, "digest");
    cbor_put_cstr(&w, "SHA384");
    cbor_put_cstr(&w, "timestamp");
    cbor_put_uint64_full(&w, (uint64_t)CHAIN_T0 * 1000);
    cbor_put_cstr(&w, "pcrs");
    cbor_put_map(&w, 1);
    cbor_put_uint(&w, 0);
    cbor_put_bytes(&w, zero_pcr, sizeof(zero_pcr));
    cbor_put_cstr(&w, "certificate");
    cbor_put_bytes(&w, leaf, leaf_len);
    cbor_put_cstr(&w, "cabundle");
    cbor_put_array(&w, (size_t)n_ca);
    for (int i = 0; i < n_ca; i++) {
        cbor_put_bytes(&w, ca[i], ca_len[i]);
    }
    cbor_put_cstr(&w, "public_key");
    cbor_put_null(&w);
    cbor_put_cstr(&w, "user_data");
    cbor_put_null(&w);
    cbor_put_cstr(&w, "nonce");
    cbor_put_null(&w);
    assert_false(w.overflow);
    assert_int_equal(
        cose_sign1_build(leaf_key, payload, w.len, doc, sizeof(doc), &doc_len),
        COSE_OK);

    assert_int_equal(verify_root_init(&root, ca[0], ca_len[0]), VERIFY_OK);
    rc = verify_document(&root, &historic, doc, doc_len, res);
    verify_root_release(&root);
    return rc;
}

/* Issue the chain, sign a document with the leaf key, verify it. */
static int chain_verify(const struct chain_spec *cs, struct crypto_key **k,
                        struct verify_result *res)
{
    static uint8_t der[4][CRYPTO_X509_DER_MAX];
    struct crypto_x509 parsed[3];
    long der_len[4];
    int n_ca = cs->skip_b ? 2 : 3;

    der_len[0] =
        crypto_x509_issue(&cs->t[0], NULL, k[0], der[0], sizeof(der[0]));
    assert_true(der_len[0] > 0);
    assert_int_equal(crypto_x509_parse(&parsed[0], der[0], (size_t)der_len[0]),
                     0);
    for (int i = 1; i < n_ca; i++) {
        der_len[i] = crypto_x509_issue(&cs->t[i], &parsed[i - 1], k[i - 1],
                                       der[i], sizeof(der[i]));
        assert_true(der_len[i] > 0);
        assert_int_equal(
            crypto_x509_parse(&parsed[i], der[i], (size_t)der_len[i]), 0);
    }
    der_len[3] = crypto_x509_issue(
        &cs->t[3], cs->leaf_by_root ? &parsed[0] : &parsed[n_ca - 1],
        cs->leaf_by_root ? k[0] : k[n_ca - 1], der[3], sizeof(der[3]));
    assert_true(der_len[3] > 0);
    for (int i = 0; i < n_ca; i++) {
        crypto_x509_release(&parsed[i]);
    }

    {
        const uint8_t *ca[3] = {der[0], der[1], der[2]};
        size_t ca_len[3] = {(size_t)der_len[0], (size_t)der_len[1],
                            (size_t)der_len[2]};

        return doc_verify(ca, ca_len, n_ca, der[3], (size_t)der_len[3], k[3],
                          res);
    }
}

static void chain_constraints(void **state)
{
    struct crypto_key *k[4];
    struct chain_spec cs;
    struct verify_result res;
    char why[256];

    for (int i = 0; i < 4; i++) {
        k[i] = crypto_key_generate_p384();
        assert_non_null(k[i]);
    }

    chain_defaults(&cs, k);
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_OK);
    assert_int_equal(res.n_certs, 4);

    /* A allows no CA below it, but B follows */
    chain_defaults(&cs, k);
    cs.t[1].pathlen = 0;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_ERR_CERT_PATHLEN);
    assert_int_equal(res.cert_index, 1);
    /* ... which is fine when B is left out */
    cs.skip_b = true;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_OK);

    /* B cannot sign certificates */
    chain_defaults(&cs, k);
    cs.t[2].ku_bits = CRYPTO_KU_DIGITAL_SIGNATURE | CRYPTO_KU_CRL_SIGN;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_ERR_CERT_CA);
    assert_int_equal(res.cert_index, 2);
    assert_string_equal(verify_explain(&res, why, sizeof(why)),
                        "certificate 2 (intermediate): CA certificate lacks "
                        "critical CA:TRUE or keyCertSign");

    /* B is no CA at all */
    chain_defaults(&cs, k);
    cs.t[2].ca = false;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_ERR_CERT_CA);

    /* the leaf claims to be a CA */
    chain_defaults(&cs, k);
    cs.t[3].ca = true;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_ERR_CERT_LEAF);
    assert_int_equal(res.cert_index, 3);

    /* the leaf may not sign (nonRepudiation only) */
    chain_defaults(&cs, k);
    cs.t[3].ku_bits = CRYPTO_KU_NON_REPUDIATION;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_ERR_CERT_LEAF);

    /* other leaf bits next to digitalSignature are fine */
    chain_defaults(&cs, k);
    cs.t[3].ku_bits |= CRYPTO_KU_KEY_AGREEMENT;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_OK);

    /* the leaf issued by the root while B is presented as its issuer */
    chain_defaults(&cs, k);
    cs.leaf_by_root = true;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_ERR_CERT_ISSUER);
    assert_int_equal(res.cert_index, 3);

    /* A expired before the document; the leaf not yet valid */
    chain_defaults(&cs, k);
    cs.t[1].not_after_s = CHAIN_T0 - 1;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_ERR_CERT_TIME);
    assert_int_equal(res.cert_index, 1);
    chain_defaults(&cs, k);
    cs.t[3].not_before_s = CHAIN_T0 + 1;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_ERR_CERT_TIME);
    assert_int_equal(res.cert_index, 3);

    /* the root itself must be valid at the check time */
    chain_defaults(&cs, k);
    cs.t[0].not_after_s = CHAIN_T0 - 1;
    assert_int_equal(chain_verify(&cs, k, &res), VERIFY_ERR_CERT_TIME);
    assert_int_equal(res.cert_index, 0);

    /* the document signed by another key than the leaf's */
    {
        struct crypto_key *saved = k[3];

        chain_defaults(&cs, k);
        k[3] = k[2]; /* the document is signed with B's key */
        cs.t[3].subject_key = saved;
        assert_int_equal(chain_verify(&cs, k, &res), VERIFY_ERR_SIGNATURE);
        k[3] = saved;
    }
    for (int i = 0; i < 4; i++) {
        crypto_key_free(k[i]);
    }
}

/*
 * Certificates built by hand, byte by byte, for the DER rules the issuing
 * code would never break: a minimal DER writer, a certificate assembled
 * from parts, and a signature by a test key over the TBSCertificate.
 */
struct dw {
    uint8_t b[CRYPTO_X509_DER_MAX];
    size_t len;
};

static void dw_put(struct dw *w, const void *p, size_t n)
{
    assert_true(n <= sizeof(w->b) - w->len);
    memcpy(w->b + w->len, p, n);
    w->len += n;
}

static void dw_tlv(struct dw *w, uint8_t tag, const void *p, size_t n)
{
    uint8_t h[4] = {tag};
    size_t hn = 2;

    if (n < 0x80) {
        h[1] = (uint8_t)n;
    } else if (n < 0x100) {
        h[1] = 0x81;
        h[2] = (uint8_t)n;
        hn = 3;
    } else {
        h[1] = 0x82;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hn = 4;
    }
    dw_put(w, h, hn);
    dw_put(w, p, n);
}

/* One Extension: 2.5.29.@id (or @oid when given), critical when @crit. */
static void dw_ext(struct dw *w, const uint8_t *oid, size_t oid_len, bool crit,
                   const uint8_t *val, size_t val_len)
{
    struct dw e = {.len = 0};

    dw_tlv(&e, 0x06, oid, oid_len);
    if (crit) {
        dw_put(&e, "\x01\x01\xff", 3);
    }
    dw_tlv(&e, 0x04, val, val_len);
    dw_tlv(w, 0x30, e.b, e.len);
}

static const uint8_t oid_bc[] = {0x55, 0x1d, 0x13};
static const uint8_t oid_ku[] = {0x55, 0x1d, 0x0f};
static const uint8_t oid_ski[] = {0x55, 0x1d, 0x0e};
static const uint8_t oid_other[] = {0x2b, 0x06, 0x01,
                                    0x04, 0x01, 0x7f}; /* 1.3.6.1.4.1.127 */
static const uint8_t bc_leaf_val[] = {0x30, 0x00};
static const uint8_t bc_ca_val[] = {0x30, 0x03, 0x01, 0x01, 0xff};
static const uint8_t ku_sign_val[] = {0x03, 0x02, 0x07, 0x80};
static const uint8_t ku_ca_val[] = {0x03, 0x02, 0x01, 0x06};

/*
 * struct hand_cert - the parts of a hand-built certificate.
 * @serial:      INTEGER content bytes, as written
 * @nb, @na:     times: 13 characters make a UTCTime, 15 a GeneralizedTime
 * @exts:        the Extension TLVs, concatenated (none when @exts.len is 0)
 * @issuer_name, @subject_name: Name TLVs
 * @pad_r:       write the signature's r with a superfluous 00 byte
 * @neg_s:       write the signature's s without its sign byte (negative)
 */
struct hand_cert {
    struct dw serial;
    const char *nb, *na;
    struct dw exts;
    const uint8_t *issuer_name;
    size_t issuer_name_len;
    const uint8_t *subject_name;
    size_t subject_name_len;
    const struct crypto_key *subject_key, *issuer_key;
    bool pad_r, neg_s;
};

/*
 * One r or s of a signature as a DER INTEGER: minimal, unless @pad (one 00
 * too many) or @neg (no sign byte before a set top bit: a negative value).
 */
static void dw_sig_int(struct dw *w, const uint8_t v[48], bool pad, bool neg)
{
    uint8_t c[50];
    size_t skip = 0, n = 0;

    while (skip < 47 && v[skip] == 0) {
        skip++;
    }
    if (pad) {
        c[n++] = 0;
    }
    if ((v[skip] & 0x80) && !neg) {
        c[n++] = 0;
    }
    memcpy(c + n, v + skip, 48 - skip);
    n += 48 - skip;
    dw_tlv(w, 0x02, c, n);
}

static size_t hand_cert_build(const struct hand_cert *hc, uint8_t *out,
                              size_t cap)
{
    static const uint8_t alg[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                  0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
    struct dw tbs = {.len = 0}, body = {.len = 0}, validity = {.len = 0};
    struct dw sig = {.len = 0}, seq = {.len = 0}, cert = {.len = 0};
    struct dw exts = {.len = 0}, a3 = {.len = 0};
    uint8_t spki[256], rs[96];
    long spki_len;

    dw_put(&body, "\xa0\x03\x02\x01\x02", 5);
    dw_tlv(&body, 0x02, hc->serial.b, hc->serial.len);
    dw_put(&body, alg, sizeof(alg));
    dw_put(&body, hc->issuer_name, hc->issuer_name_len);
    dw_tlv(&validity, strlen(hc->nb) == 13 ? 0x17 : 0x18, hc->nb,
           strlen(hc->nb));
    dw_tlv(&validity, strlen(hc->na) == 13 ? 0x17 : 0x18, hc->na,
           strlen(hc->na));
    dw_tlv(&body, 0x30, validity.b, validity.len);
    dw_put(&body, hc->subject_name, hc->subject_name_len);
    spki_len = crypto_key_spki_der(hc->subject_key, spki, sizeof(spki));
    assert_true(spki_len > 0);
    dw_put(&body, spki, (size_t)spki_len);
    if (hc->exts.len > 0) {
        dw_tlv(&exts, 0x30, hc->exts.b, hc->exts.len);
        dw_tlv(&a3, 0xa3, exts.b, exts.len);
        dw_put(&body, a3.b, a3.len);
    }
    dw_tlv(&tbs, 0x30, body.b, body.len);

    /* ECDSA signatures differ each time: sign until s has its top bit set */
    for (int tries = 0;; tries++) {
        assert_int_equal(
            crypto_ecdsa_p384_sign(hc->issuer_key, tbs.b, tbs.len, rs), 0);
        if (!hc->neg_s || (rs[48] & 0x80) || tries == 256) {
            break;
        }
    }
    assert_true(!hc->neg_s || (rs[48] & 0x80));
    dw_sig_int(&seq, rs, hc->pad_r, false);
    dw_sig_int(&seq, rs + 48, false, hc->neg_s);
    dw_put(&sig, "\x00", 1);
    dw_tlv(&sig, 0x30, seq.b, seq.len);

    {
        struct dw all = {.len = 0};

        dw_put(&all, tbs.b, tbs.len);
        dw_put(&all, alg, sizeof(alg));
        dw_tlv(&all, 0x03, sig.b, sig.len);
        dw_tlv(&cert, 0x30, all.b, all.len);
    }
    assert_true(cert.len <= cap);
    memcpy(out, cert.b, cert.len);
    return cert.len;
}

/* "O=test, CN=@cn" as a Name TLV. */
static size_t name_tlv(const char *cn, uint8_t *out)
{
    struct dw rdn_o = {.len = 0}, rdn_cn = {.len = 0}, atv = {.len = 0};
    struct dw name = {.len = 0}, seq = {.len = 0};

    dw_tlv(&atv, 0x06, "\x55\x04\x0a", 3);
    dw_tlv(&atv, 0x0c, "test", 4);
    dw_tlv(&seq, 0x30, atv.b, atv.len);
    dw_tlv(&rdn_o, 0x31, seq.b, seq.len);
    atv.len = seq.len = 0;
    dw_tlv(&atv, 0x06, "\x55\x04\x03", 3);
    dw_tlv(&atv, 0x0c, cn, strlen(cn));
    dw_tlv(&seq, 0x30, atv.b, atv.len);
    dw_tlv(&rdn_cn, 0x31, seq.b, seq.len);
    dw_put(&rdn_o, rdn_cn.b, rdn_cn.len);
    dw_tlv(&name, 0x30, rdn_o.b, rdn_o.len);
    memcpy(out, name.b, name.len);
    return name.len;
}

/* A leaf the verifier accepts: serial 01 23, 2023, CA:FALSE, signing. */
static void hand_leaf_defaults(struct hand_cert *hc, struct crypto_key *k,
                               const uint8_t *name, size_t name_len)
{
    memset(hc, 0, sizeof(*hc));
    dw_put(&hc->serial, "\x01\x23", 2);
    hc->nb = "231114000000Z";
    hc->na = "231115000000Z";
    dw_ext(&hc->exts, oid_bc, sizeof(oid_bc), true, bc_leaf_val,
           sizeof(bc_leaf_val));
    dw_ext(&hc->exts, oid_ku, sizeof(oid_ku), false, ku_sign_val,
           sizeof(ku_sign_val));
    hc->issuer_name = hc->subject_name = name;
    hc->issuer_name_len = hc->subject_name_len = name_len;
    hc->subject_key = hc->issuer_key = k;
}

static int hand_parse(const struct hand_cert *hc, struct crypto_x509 *c)
{
    static uint8_t der[CRYPTO_X509_DER_MAX];
    size_t n = hand_cert_build(hc, der, sizeof(der));

    return crypto_x509_parse(c, der, n);
}

/* The parse result of @hc: -1, or 1 when it parsed with a bad extension. */
static int hand_outcome(const struct hand_cert *hc)
{
    struct crypto_x509 c;
    int rc;

    if (hand_parse(hc, &c) != 0) {
        return -1;
    }
    rc = c.bad_extension ? 1 : 0;
    crypto_x509_release(&c);
    return rc;
}

static void hand_times(struct hand_cert *hc, const char *nb)
{
    hc->nb = nb;
    hc->na = "20991231235959Z";
}

/* Each DER rule of the parser, on certificates that differ in one part. */
static void x509_der_strict(void **state)
{
    struct crypto_key *k = crypto_key_generate_p384();
    uint8_t name[64];
    size_t name_len = name_tlv("hand", name);
    struct hand_cert hc;
    struct crypto_x509 c;

    assert_non_null(k);
    hand_leaf_defaults(&hc, k, name, name_len);
    assert_int_equal(hand_parse(&hc, &c), 0);
    assert_true(crypto_x509_signed_by(&c, &c));
    assert_false(c.bad_extension);
    assert_int_equal(c.unknown_critical, 0);
    assert_int_equal(c.not_before_s, 1699920000); /* 2023-11-14T00:00:00Z */
    crypto_x509_release(&c);

    /* 29 February only in leap years, in either time form */
    hand_times(&hc, "240229000000Z");
    assert_int_equal(hand_outcome(&hc), 0);
    hand_times(&hc, "000229000000Z"); /* 2000: divisible by 400 */
    assert_int_equal(hand_outcome(&hc), 0);
    hand_times(&hc, "230229000000Z");
    assert_int_equal(hand_outcome(&hc), -1);
    hand_times(&hc, "990229000000Z"); /* 1999 */
    assert_int_equal(hand_outcome(&hc), -1);
    hand_times(&hc, "230228235959Z");
    assert_int_equal(hand_outcome(&hc), 0);
    hand_times(&hc, "20520229000000Z");
    assert_int_equal(hand_outcome(&hc), 0);
    hand_times(&hc, "20510229000000Z");
    assert_int_equal(hand_outcome(&hc), -1);
    hand_times(&hc, "21000229000000Z"); /* divisible by 100, not 400 */
    assert_int_equal(hand_outcome(&hc), -1);
    hand_times(&hc, "24000229000000Z");
    assert_int_equal(hand_outcome(&hc), 0);
    hand_times(&hc, "230230000000Z");
    assert_int_equal(hand_outcome(&hc), -1);

    /* GeneralizedTime only from 2050 on (UTCTime covers 1950..2049) */
    hand_times(&hc, "20491231235959Z");
    assert_int_equal(hand_outcome(&hc), -1);
    hand_times(&hc, "20230101000000Z");
    assert_int_equal(hand_outcome(&hc), -1);
    hand_times(&hc, "20500101000000Z");
    assert_int_equal(hand_parse(&hc, &c), 0);
    assert_int_equal(c.not_before_s, 2524608000); /* 2050-01-01T00:00:00Z */
    crypto_x509_release(&c);
    hand_leaf_defaults(&hc, k, name, name_len);
    hc.na = "20500101000000Z";
    assert_int_equal(hand_outcome(&hc), 0);
    hc.na = "20491231235959Z";
    assert_int_equal(hand_outcome(&hc), -1);
    hc.na = "491231235959Z";
    assert_int_equal(hand_outcome(&hc), 0);

    /* serials: positive, shortest form, at most 20 bytes of value */
    {
        static const struct {
            const char *bytes;
            size_t len;
            int want;
        } serials[] = {
            {"\x01", 1, 0},          {"\x7f", 1, 0},
            {"\x00\x80", 2, 0},      {"\x00", 1, -1}, /* zero is not positive */
            {"\x80", 1, -1},                          /* negative */
            {"\xff\x01", 2, -1},                      /* negative */
            {"\xff\x80", 2, -1},     /* negative and not minimal */
            {"\x00\x01", 2, -1},     /* not minimal */
            {"\x00\x00\x80", 3, -1}, /* not minimal */
            {"\x00\x7f\x01", 3, -1}, /* not minimal */
        };
        uint8_t long_serial[21];

        for (size_t i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
            hand_leaf_defaults(&hc, k, name, name_len);
            hc.serial.len = 0;
            dw_put(&hc.serial, serials[i].bytes, serials[i].len);
            assert_int_equal(hand_outcome(&hc), serials[i].want);
        }
        hand_leaf_defaults(&hc, k, name, name_len);
        hc.serial.len = 0;
        dw_put(&hc.serial, "\x00\x80", 2);
        assert_int_equal(hand_parse(&hc, &c), 0);
        assert_int_equal(c.serial_len, 1);
        assert_int_equal(c.serial[0], 0x80);
        crypto_x509_release(&c);

        memset(long_serial, 0x5a, sizeof(long_serial));
        long_serial[0] = 0x00;
        long_serial[1] = 0xa5; /* 00 + 20 bytes: the longest allowed */
        hc.serial.len = 0;
        dw_put(&hc.serial, long_serial, 21);
        assert_int_equal(hand_parse(&hc, &c), 0);
        assert_int_equal(c.serial_len, 20);
        crypto_x509_release(&c);
        long_serial[0] = 0x01; /* 21 bytes of value */
        hc.serial.len = 0;
        dw_put(&hc.serial, long_serial, 21);
        assert_int_equal(hand_outcome(&hc), -1);
    }

    /* the INTEGERs of the signature and of pathLenConstraint */
    hand_leaf_defaults(&hc, k, name, name_len);
    hc.pad_r = true;
    assert_int_equal(hand_outcome(&hc), -1);
    hand_leaf_defaults(&hc, k, name, name_len);
    hc.neg_s = true;
    assert_int_equal(hand_outcome(&hc), -1);
    {
        static const struct {
            const uint8_t *val;
            size_t len;
            int want;
        } bcs[] = {
            {(const uint8_t *)"\x30\x06\x01\x01\xff\x02\x01\x00", 8, 0},
            {(const uint8_t *)"\x30\x06\x01\x01\xff\x02\x01\x7f", 8, 0},
            {(const uint8_t *)"\x30\x07\x01\x01\xff\x02\x02\x00\x01", 9, 1},
            {(const uint8_t *)"\x30\x06\x01\x01\xff\x02\x01\xff", 8, 1},
            {(const uint8_t *)"\x30\x05\x01\x01\xff\x02\x00", 7, 1},
        };

        for (size_t i = 0; i < sizeof(bcs) / sizeof(bcs[0]); i++) {
            hand_leaf_defaults(&hc, k, name, name_len);
            hc.exts.len = 0;
            dw_ext(&hc.exts, oid_bc, sizeof(oid_bc), true, bcs[i].val,
                   bcs[i].len);
            assert_int_equal(hand_outcome(&hc), bcs[i].want);
        }
    }

    /* keyUsage: the unused bits of the last byte must be zero */
    {
        static const struct {
            const uint8_t *val;
            size_t len;
            int want;
            uint32_t bits;
        } kus[] = {
            {ku_sign_val, 4, 0, CRYPTO_KU_DIGITAL_SIGNATURE},
            {(const uint8_t *)"\x03\x02\x07\x81", 4, 1, 0},
            {(const uint8_t *)"\x03\x02\x01\x06", 4, 0,
             CRYPTO_KU_KEY_CERT_SIGN | CRYPTO_KU_CRL_SIGN},
            {(const uint8_t *)"\x03\x02\x01\x07", 4, 1, 0},
            {(const uint8_t *)"\x03\x02\x02\x86", 4, 1, 0},
            {(const uint8_t *)"\x03\x02\x00\x80", 4, 0,
             CRYPTO_KU_DIGITAL_SIGNATURE},
            {(const uint8_t *)"\x03\x03\x07\x80\x80", 5, 0,
             CRYPTO_KU_DIGITAL_SIGNATURE | (1u << 8)},
            {(const uint8_t *)"\x03\x03\x07\x80\x01", 5, 1, 0},
            {(const uint8_t *)"\x03\x02\x08\x80", 4, 1, 0}, /* > 7 unused */
            {(const uint8_t *)"\x03\x01\x00", 3, 1, 0},     /* no bits */
        };

        for (size_t i = 0; i < sizeof(kus) / sizeof(kus[0]); i++) {
            hand_leaf_defaults(&hc, k, name, name_len);
            hc.exts.len = 0;
            dw_ext(&hc.exts, oid_ku, sizeof(oid_ku), true, kus[i].val,
                   kus[i].len);
            assert_int_equal(hand_parse(&hc, &c), 0);
            assert_int_equal(c.bad_extension ? 1 : 0, kus[i].want);
            if (kus[i].want == 0) {
                assert_int_equal(c.ku_bits, kus[i].bits);
            }
            crypto_x509_release(&c);
        }
    }

    /* any extension twice, known or not, critical or not */
    {
        static const uint8_t ski_a[] = {0x04, 0x02, 0xaa, 0xbb};
        static const uint8_t ski_b[] = {0x04, 0x02, 0xcc, 0xdd};
        static const uint8_t oid_other2[] = {0x2b, 0x06, 0x01,
                                             0x04, 0x01, 0x7e};

        hand_leaf_defaults(&hc, k, name, name_len);
        dw_ext(&hc.exts, oid_other, sizeof(oid_other), false, ski_a,
               sizeof(ski_a));
        dw_ext(&hc.exts, oid_other2, sizeof(oid_other2), false, ski_a,
               sizeof(ski_a));
        assert_int_equal(hand_outcome(&hc), 0);
        dw_ext(&hc.exts, oid_other, sizeof(oid_other), false, ski_b,
               sizeof(ski_b));
        assert_int_equal(hand_outcome(&hc), 1);

        hand_leaf_defaults(&hc, k, name, name_len);
        dw_ext(&hc.exts, oid_ski, sizeof(oid_ski), false, ski_a, sizeof(ski_a));
        assert_int_equal(hand_outcome(&hc), 0);
        dw_ext(&hc.exts, oid_ski, sizeof(oid_ski), false, ski_a, sizeof(ski_a));
        assert_int_equal(hand_outcome(&hc), 1);

        hand_leaf_defaults(&hc, k, name, name_len);
        dw_ext(&hc.exts, oid_bc, sizeof(oid_bc), true, bc_leaf_val,
               sizeof(bc_leaf_val));
        assert_int_equal(hand_outcome(&hc), 1);

        /* a critical unknown one is counted once, then its twin is bad */
        hand_leaf_defaults(&hc, k, name, name_len);
        dw_ext(&hc.exts, oid_other, sizeof(oid_other), true, ski_a,
               sizeof(ski_a));
        assert_int_equal(hand_parse(&hc, &c), 0);
        assert_int_equal(c.unknown_critical, 1);
        assert_false(c.bad_extension);
        crypto_x509_release(&c);
    }
    crypto_key_free(k);
}

/*
 * root (issued by our PKI code) -> A -> leaf, with A and the leaf built by
 * hand from @a and @leaf and properly signed, in a document the leaf key
 * signs. OpenSSL's chain check runs beside ours; @openssl says what it
 * should conclude: OPENSSL_ACCEPTS, OPENSSL_REJECTS, or OPENSSL_ANY where
 * the rule is one OpenSSL does not apply.
 */
enum { OPENSSL_ACCEPTS, OPENSSL_REJECTS, OPENSSL_ANY };

static int hand_chain_verify(struct hand_cert *a, struct hand_cert *leaf,
                             struct crypto_key **k, int openssl,
                             struct verify_result *res)
{
    static uint8_t root_der[CRYPTO_X509_DER_MAX], a_der[CRYPTO_X509_DER_MAX];
    static uint8_t leaf_der[CRYPTO_X509_DER_MAX];
    struct crypto_x509_template t = {
        .org = "test",
        .cn = "root",
        .serial = (const uint8_t *)"\x01",
        .serial_len = 1,
        .not_before_s = CHAIN_T0 - 3600,
        .not_after_s = CHAIN_T0 + 3600,
        .ca = true,
        .pathlen = -1,
        .ku_bits = CRYPTO_KU_KEY_CERT_SIGN | CRYPTO_KU_CRL_SIGN,
        .ku_critical = true,
        .subject_key = k[0],
    };
    struct crypto_x509 root;
    long root_len =
        crypto_x509_issue(&t, NULL, k[0], root_der, sizeof(root_der));
    size_t a_len, leaf_len;
    const uint8_t *ca[2];
    size_t ca_len[2];
    char err[128];

    assert_true(root_len > 0);
    assert_int_equal(crypto_x509_parse(&root, root_der, (size_t)root_len), 0);
    a->issuer_name = root.der + root.subject_off;
    a->issuer_name_len = root.subject_len;
    a->issuer_key = k[0];
    a->subject_key = k[1];
    a_len = hand_cert_build(a, a_der, sizeof(a_der));
    leaf->issuer_name = a->subject_name;
    leaf->issuer_name_len = a->subject_name_len;
    leaf->issuer_key = k[1];
    leaf->subject_key = k[2];
    leaf_len = hand_cert_build(leaf, leaf_der, sizeof(leaf_der));
    crypto_x509_release(&root);

    if (openssl != OPENSSL_ANY) {
        const uint8_t *inter[1] = {a_der};
        size_t inter_len[1] = {a_len};

        assert_int_equal(crypto_x509_verify_chain_openssl(
                             root_der, (size_t)root_len, inter, inter_len, 1,
                             leaf_der, leaf_len, CHAIN_T0, err, sizeof(err)),
                         openssl == OPENSSL_ACCEPTS ? 0 : -1);
    }
    ca[0] = root_der;
    ca_len[0] = (size_t)root_len;
    ca[1] = a_der;
    ca_len[1] = a_len;
    return doc_verify(ca, ca_len, 2, leaf_der, leaf_len, k[2], res);
}

static void hand_ca_defaults(struct hand_cert *hc, const uint8_t *name,
                             size_t name_len)
{
    memset(hc, 0, sizeof(*hc));
    dw_put(&hc->serial, "\x02", 1);
    hc->nb = "231114000000Z";
    hc->na = "231115000000Z";
    dw_ext(&hc->exts, oid_bc, sizeof(oid_bc), true, bc_ca_val,
           sizeof(bc_ca_val));
    dw_ext(&hc->exts, oid_ku, sizeof(oid_ku), true, ku_ca_val,
           sizeof(ku_ca_val));
    hc->subject_name = name;
    hc->subject_name_len = name_len;
}

/*
 * VERIFY_ERR_CERT_CRITICAL and VERIFY_ERR_CERT_EXTENSION through the whole
 * verifier: a chain that is correct in every other respect (the defaults
 * verify) with one unknown critical, repeated or malformed extension in the
 * intermediate or the leaf.
 */
static void chain_extensions(void **state)
{
    static const uint8_t opaque[] = {0x04, 0x02, 0xaa, 0xbb};
    struct crypto_key *k[3];
    uint8_t a_name[64], leaf_name[64];
    size_t a_name_len = name_tlv("A", a_name);
    size_t leaf_name_len = name_tlv("leaf", leaf_name);
    struct hand_cert a, leaf;
    struct verify_result res;
    char why[256];

    for (int i = 0; i < 3; i++) {
        k[i] = crypto_key_generate_p384();
        assert_non_null(k[i]);
    }

    hand_ca_defaults(&a, a_name, a_name_len);
    hand_leaf_defaults(&leaf, k[2], leaf_name, leaf_name_len);
    assert_int_equal(hand_chain_verify(&a, &leaf, k, OPENSSL_ACCEPTS, &res),
                     VERIFY_OK);
    assert_int_equal(res.n_certs, 3);

    /* an unknown non-critical extension is ignored */
    dw_ext(&leaf.exts, oid_other, sizeof(oid_other), false, opaque,
           sizeof(opaque));
    assert_int_equal(hand_chain_verify(&a, &leaf, k, OPENSSL_ACCEPTS, &res),
                     VERIFY_OK);

    /* ... a critical one is refused, in the leaf */
    hand_leaf_defaults(&leaf, k[2], leaf_name, leaf_name_len);
    dw_ext(&leaf.exts, oid_other, sizeof(oid_other), true, opaque,
           sizeof(opaque));
    assert_int_equal(hand_chain_verify(&a, &leaf, k, OPENSSL_REJECTS, &res),
                     VERIFY_ERR_CERT_CRITICAL);
    assert_int_equal(res.cert_index, 2);
    assert_string_equal(verify_explain(&res, why, sizeof(why)),
                        "certificate 2 (leaf): certificate has an unknown "
                        "critical extension");

    /* ... and in the intermediate */
    hand_leaf_defaults(&leaf, k[2], leaf_name, leaf_name_len);
    dw_ext(&a.exts, oid_other, sizeof(oid_other), true, opaque, sizeof(opaque));
    assert_int_equal(hand_chain_verify(&a, &leaf, k, OPENSSL_REJECTS, &res),
                     VERIFY_ERR_CERT_CRITICAL);
    assert_int_equal(res.cert_index, 1);

    /* a repeated unknown extension in the leaf (OpenSSL 3.0 only notices
     * repeats of extensions it knows) */
    hand_ca_defaults(&a, a_name, a_name_len);
    dw_ext(&leaf.exts, oid_other, sizeof(oid_other), false, opaque,
           sizeof(opaque));
    dw_ext(&leaf.exts, oid_other, sizeof(oid_other), false, opaque,
           sizeof(opaque));
    assert_int_equal(hand_chain_verify(&a, &leaf, k, OPENSSL_ANY, &res),
                     VERIFY_ERR_CERT_EXTENSION);
    assert_int_equal(res.cert_index, 2);
    assert_string_equal(verify_explain(&res, why, sizeof(why)),
                        "certificate 2 (leaf): certificate has a malformed "
                        "or repeated extension");

    /* a second keyUsage in the intermediate */
    hand_leaf_defaults(&leaf, k[2], leaf_name, leaf_name_len);
    dw_ext(&a.exts, oid_ku, sizeof(oid_ku), true, ku_ca_val, sizeof(ku_ca_val));
    assert_int_equal(hand_chain_verify(&a, &leaf, k, OPENSSL_REJECTS, &res),
                     VERIFY_ERR_CERT_EXTENSION);
    assert_int_equal(res.cert_index, 1);

    /* the leaf's keyUsage with a stray unused bit set */
    hand_ca_defaults(&a, a_name, a_name_len);
    hand_leaf_defaults(&leaf, k[2], leaf_name, leaf_name_len);
    leaf.exts.len = 0;
    dw_ext(&leaf.exts, oid_bc, sizeof(oid_bc), true, bc_leaf_val,
           sizeof(bc_leaf_val));
    dw_ext(&leaf.exts, oid_ku, sizeof(oid_ku), false,
           (const uint8_t *)"\x03\x02\x07\x81", 4);
    assert_int_equal(hand_chain_verify(&a, &leaf, k, OPENSSL_ANY, &res),
                     VERIFY_ERR_CERT_EXTENSION);
    assert_int_equal(res.cert_index, 2);

    for (int i = 0; i < 3; i++) {
        crypto_key_free(k[i]);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(real_documents_verify),
    cmocka_unit_test(tagged_accepted),
    cmocka_unit_test(time_window),
    cmocka_unit_test(openssl_reference_agrees),
    cmocka_unit_test(flip_signature_bytes),
    cmocka_unit_test(flip_protected_bytes),
    cmocka_unit_test(flip_payload_bytes),
    cmocka_unit_test(reencoding_identity),
    cmocka_unit_test(indefinite_map),
    cmocka_unit_test(cabundle_changes),
    cmocka_unit_test(wrong_root_pinned),
    cmocka_unit_test(trailing_bytes),
    cmocka_unit_test(duplicate_and_unknown_keys),
    cmocka_unit_test(content_rules),
    cmocka_unit_test(payload_shapes),
    cmocka_unit_test(policy_checks),
    cmocka_unit_test(freshness_required),
    cmocka_unit_test(strerror_distinct),
    cmocka_unit_test(x509_der_parser),
    cmocka_unit_test(x509_der_strict),
    cmocka_unit_test(chain_constraints),
    cmocka_unit_test(chain_extensions),
};

HARNESS_MAIN("verify", tests)
