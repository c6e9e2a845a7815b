/* SPDX-License-Identifier: MIT */
/*
 * The local PKI: directory layout and refusal to overwrite, the certificate
 * constraints of §11, leaf renewal, and end to end: the NSM model signing
 * with the PKI, its documents checked by OpenSSL's own chain verification
 * plus an EVP signature check (the independent reference) and by our
 * verifier with the PKI's root pinned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#include "cbor/cbor.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "nsm/nsm.h"
#include "pki/pki.h"
#include "verify/verify.h"

#define MODULE_ID "i-0123456789abcdef0-enc0123456789abcdef"

static char tmp_root[64];
static char dir[128];

static int setup(void **state)
{
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/test_pki.XXXXXX");
    assert_non_null(mkdtemp(tmp_root));
    snprintf(dir, sizeof(dir), "%s/pki", tmp_root);
    return 0;
}

static int teardown(void **state)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static size_t read_file(const char *name, uint8_t *buf, size_t cap)
{
    char path[256];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static mode_t file_mode(const char *name)
{
    char path[256];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 0777;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static void init_layout_and_constraints(void **state)
{
    static uint8_t pem[8192], der[4096], der2[4096];
    struct crypto_x509 root, inter;
    char err[256];
    size_t der_len, pem_len;
    long n;

    assert_int_equal(pki_init_dir(dir, err, sizeof(err)), 0);
    assert_int_equal(file_mode("root.key"), 0600);
    assert_int_equal(file_mode("intermediate.key"), 0600);
    assert_int_equal(file_mode("root.pem"), 0644);

    /* root.der and root.pem hold the same certificate */
    der_len = read_file("root.der", der, sizeof(der));
    pem_len = read_file("root.pem", pem, sizeof(pem));
    n = crypto_x509_to_der(pem, pem_len, der2, sizeof(der2));
    assert_int_equal(n, (long)der_len);
    assert_bytes_equal(der2, der, der_len);

    /* root: CA critical without pathLen, DS + keyCertSign + cRLSign */
    assert_int_equal(crypto_x509_parse(&root, der, der_len), 0);
    assert_true(root.bc_present && root.bc_critical && root.bc_ca);
    assert_int_equal(root.bc_pathlen, -1);
    assert_true(root.ku_present && root.ku_critical);
    assert_int_equal(root.ku_bits, CRYPTO_KU_DIGITAL_SIGNATURE |
                                       CRYPTO_KU_KEY_CERT_SIGN |
                                       CRYPTO_KU_CRL_SIGN);
    assert_true(root.sig_es384 && root.key_p384);
    assert_true(root.not_after_s - root.not_before_s >= 30LL * 365 * 24 * 3600);
    assert_true(crypto_x509_issuer_matches(&root, &root));
    assert_true(crypto_x509_signed_by(&root, &root));

    /* intermediate: CA critical pathLen 0, keyCertSign + cRLSign */
    pem_len = read_file("intermediate.pem", pem, sizeof(pem));
    n = crypto_x509_to_der(pem, pem_len, der2, sizeof(der2));
    assert_true(n > 0);
    assert_int_equal(crypto_x509_parse(&inter, der2, (size_t)n), 0);
    assert_true(inter.bc_present && inter.bc_critical && inter.bc_ca);
    assert_int_equal(inter.bc_pathlen, 0);
    assert_true(inter.ku_critical);
    assert_int_equal(inter.ku_bits,
                     CRYPTO_KU_KEY_CERT_SIGN | CRYPTO_KU_CRL_SIGN);
    assert_true(crypto_x509_issuer_matches(&inter, &root));
    assert_true(crypto_x509_signed_by(&inter, &root));
    assert_false(crypto_x509_signed_by(&root, &inter));
    crypto_x509_release(&inter);
    crypto_x509_release(&root);

    /* a second init refuses and leaves the files alone */
    assert_int_equal(pki_init_dir(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "refusing to overwrite"));
    assert_int_equal(read_file("root.der", der2, sizeof(der2)), der_len);
    assert_bytes_equal(der2, der, der_len);
}

static void open_creates_when_empty(void **state)
{
    struct pki *pki;
    char err[256];

    /* without create_if_empty a missing PKI is an error that says why */
    pki = pki_open(dir, MODULE_ID, false, err, sizeof(err));
    assert_null(pki);
    assert_non_null(strstr(err, "nsm pki init"));

    pki = pki_open(dir, MODULE_ID, true, err, sizeof(err));
    assert_non_null(pki);
    pki_close(pki);
    /* a second open reuses the same root */
    pki = pki_open(dir, MODULE_ID, true, err, sizeof(err));
    assert_non_null(pki);
    pki_close(pki);
    assert_null(pki_open(dir, "", true, err, sizeof(err)));
}

static void mismatched_key_refused(void **state)
{
    static uint8_t buf[8192];
    char err[256], path[256];
    size_t n;
    FILE *f;

    assert_int_equal(pki_init_dir(dir, err, sizeof(err)), 0);
    n = read_file("root.key", buf, sizeof(buf));
    snprintf(path, sizeof(path), "%s/intermediate.key", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
    assert_null(pki_open(dir, MODULE_ID, false, err, sizeof(err)));
    assert_non_null(strstr(err, "does not match"));
}

static void leaf_and_renewal(void **state)
{
    static uint8_t first[2048];
    const struct nsm_signer *sg;
    struct crypto_x509 leaf, inter;
    struct pki *pki;
    char err[256], subject[256];
    uint64_t t0 = (uint64_t)now_s() * 1000;
    size_t first_len;

    pki = pki_open(dir, MODULE_ID, true, err, sizeof(err));
    assert_non_null(pki);
    assert_int_equal(pki_get_signer(pki, t0, &sg), 0);
    assert_int_equal(sg->n_cabundle, 2);
    assert_non_null(sg->key);
    assert_int_equal(crypto_x509_parse(&leaf, sg->cert, sg->cert_len), 0);
    assert_int_equal(
        crypto_x509_parse(&inter, sg->cabundle[1], sg->cabundle_len[1]), 0);
    assert_true(crypto_x509_signed_by(&leaf, &inter));
    assert_true(leaf.bc_present && leaf.bc_critical && !leaf.bc_ca);
    assert_false(leaf.ku_critical);
    assert_int_equal(leaf.ku_bits,
                     CRYPTO_KU_DIGITAL_SIGNATURE | CRYPTO_KU_NON_REPUDIATION);
    assert_int_equal(leaf.not_after_s - leaf.not_before_s,
                     PKI_LEAF_LIFETIME_S + PKI_BACKDATE_S);
    crypto_x509_subject(&leaf, subject, sizeof(subject));
    assert_non_null(strstr(subject, "CN=" MODULE_ID ".trustvio"));
    /* serial = enclave id || 64 random bits */
    assert_int_equal(leaf.serial_len, 16);
    assert_memory_equal(leaf.serial, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    memcpy(first, sg->cert, sg->cert_len);
    first_len = sg->cert_len;
    crypto_x509_release(&leaf);

    /* within the window: the same leaf */
    assert_int_equal(pki_get_signer(pki, t0 + 3600 * 1000, &sg), 0);
    assert_int_equal(sg->cert_len, first_len);
    assert_memory_equal(sg->cert, first, first_len);

    /* less than an hour left: a new leaf and a new key */
    assert_int_equal(pki_get_signer(pki, t0 + 2 * 3600 * 1000 + 1000, &sg), 0);
    assert_false(sg->cert_len == first_len &&
                 memcmp(sg->cert, first, first_len) == 0);
    assert_int_equal(crypto_x509_parse(&leaf, sg->cert, sg->cert_len), 0);
    assert_true(leaf.not_before_s * 1000 <= (int64_t)t0 + 2 * 3600 * 1000);
    assert_true(crypto_x509_signed_by(&leaf, &inter));
    crypto_x509_release(&leaf);

    /* a clock that went back before notBefore also renews */
    assert_int_equal(pki_get_signer(pki, t0 - 3600 * 1000, &sg), 0);
    assert_int_equal(crypto_x509_parse(&leaf, sg->cert, sg->cert_len), 0);
    assert_true(leaf.not_before_s * 1000 <= (int64_t)t0 - 3600 * 1000);
    crypto_x509_release(&leaf);
    crypto_x509_release(&inter);
    pki_close(pki);
}

/*
 * Leaf serials never repeat: two PKI objects on one directory (two daemons
 * sharing a PKI), each renewing its leaf over and over at the same two
 * instants (so a serial derived from the time would repeat at once). Every
 * serial parses under the strict DER rules (positive, minimal), all are
 * distinct, and each of the 64 random bit positions takes both values.
 */
#define N_RENEW 32

static void leaf_serials_unique(void **state)
{
    static uint8_t serial[2 * N_RENEW][CRYPTO_X509_SERIAL_MAX];
    size_t serial_len[2 * N_RENEW];
    struct pki *pki[2];
    char err[256];
    uint64_t t0 = (uint64_t)now_s() * 1000;
    uint64_t later =
        t0 + (uint64_t)(PKI_LEAF_LIFETIME_S - PKI_LEAF_RENEW_S + 1) * 1000;
    size_t n = 0;

    pki[0] = pki_open(dir, MODULE_ID, true, err, sizeof(err));
    assert_non_null(pki[0]);
    pki[1] = pki_open(dir, MODULE_ID, false, err, sizeof(err));
    assert_non_null(pki[1]);
    for (int i = 0; i < N_RENEW; i++) {
        for (int d = 0; d < 2; d++) {
            const struct nsm_signer *sg;
            struct crypto_x509 leaf;

            /* alternately past the renewal point and before notBefore */
            assert_int_equal(pki_get_signer(pki[d], i % 2 ? t0 : later, &sg),
                             0);
            assert_int_equal(crypto_x509_parse(&leaf, sg->cert, sg->cert_len),
                             0);
            assert_true(leaf.not_before_s * 1000 <=
                        (int64_t)(i % 2 ? t0 : later));
            assert_true(leaf.serial_len >= 9 && leaf.serial[0] != 0);
            assert_memory_equal(leaf.serial, "\x01\x23\x45\x67\x89\xab\xcd\xef",
                                8);
            memcpy(serial[n], leaf.serial, leaf.serial_len);
            serial_len[n++] = leaf.serial_len;
            crypto_x509_release(&leaf);
        }
    }
    for (size_t a = 0; a < n; a++) {
        for (size_t b = a + 1; b < n; b++) {
            assert_false(serial_len[a] == serial_len[b] &&
                         memcmp(serial[a], serial[b], serial_len[a]) == 0);
        }
    }
    /* the last 8 bytes are random: every bit seen both set and clear */
    for (int bit = 0; bit < 64; bit++) {
        bool set = false, clear = false;

        for (size_t a = 0; a < n; a++) {
            uint8_t byte = serial[a][serial_len[a] - 8 + (size_t)bit / 8];

            if (byte & (0x80 >> (bit % 8))) {
                set = true;
            } else {
                clear = true;
            }
        }
        assert_true(set && clear);
    }
    pki_close(pki[0]);
    pki_close(pki[1]);
}

/* The NSM model with the PKI as its signer. */
struct platform {
    uint64_t now_ms;
    struct pki *pki;
};

static uint64_t p_now_ms(void *ctx)
{
    return ((struct platform *)ctx)->now_ms;
}

static int p_random(void *ctx, void *out, size_t len)
{
    return crypto_random(out, len);
}

static int p_get_signer(void *ctx, uint64_t now_ms,
                        const struct nsm_signer **signer)
{
    return pki_get_signer(((struct platform *)ctx)->pki, now_ms, signer);
}

static const struct nsm_platform_ops p_ops = {
    .now_ms = p_now_ms,
    .random = p_random,
    .get_signer = p_get_signer,
};

/* Ask the model for a document; returns its length in @doc. */
static size_t attest(struct nsm *nsm, const uint8_t *user_data,
                     size_t user_data_len, const uint8_t *nonce,
                     size_t nonce_len, uint8_t *doc, size_t cap)
{
    static uint8_t req[NSM_REQUEST_MAX_SIZE], resp[NSM_RESPONSE_MAX_SIZE];
    struct cbor_wr w;
    struct cbor_rd rd;
    struct cbor_tok t;
    size_t resp_len;

    cbor_wr_init(&w, req, sizeof(req));
    cbor_put_map(&w, 1);
    cbor_put_cstr(&w, "Attestation");
    cbor_put_map(&w, 3);
    cbor_put_cstr(&w, "user_data");
    cbor_put_bytes(&w, user_data, user_data_len);
    cbor_put_cstr(&w, "nonce");
    cbor_put_bytes(&w, nonce, nonce_len);
    cbor_put_cstr(&w, "public_key");
    cbor_put_null(&w);
    assert_false(w.overflow);
    assert_int_equal(nsm_handle(nsm, req, w.len, resp, sizeof(resp), &resp_len),
                     NSM_OK);

    /* {"Attestation": {"document": bstr}} */
    cbor_rd_init(&rd, resp, resp_len);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(t.type, CBOR_TOK_MAP);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(t.type, CBOR_TOK_TEXT);
    assert_int_equal(t.len, 11);
    assert_memory_equal(t.p, "Attestation", 11);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(cbor_rd_next(&rd, &t), 0);
    assert_int_equal(t.type, CBOR_TOK_BYTES);
    assert_true(t.len <= cap);
    memcpy(doc, t.p, t.len);
    return t.len;
}

/*
 * The independent reference: OpenSSL's X509_verify_cert() from the PKI root
 * at the document's time, and the COSE signature through EVP over a
 * Sig_structure built here.
 */
static void reference_check(const struct verify_result *res,
                            const uint8_t *root, size_t root_len)
{
    static uint8_t sig_structure[NSM_RESPONSE_MAX_SIZE + 64];
    const struct verify_doc *d = &res->doc;
    const uint8_t *inter[VERIFY_CABUNDLE_MAX];
    size_t inter_len[VERIFY_CABUNDLE_MAX];
    struct crypto_x509 leaf;
    struct cbor_wr w;
    char err[128];

    for (size_t i = 1; i < d->n_cabundle; i++) {
        inter[i - 1] = d->cabundle[i].p;
        inter_len[i - 1] = d->cabundle[i].len;
    }
    assert_int_equal(crypto_x509_verify_chain_openssl(
                         root, root_len, inter, inter_len, d->n_cabundle - 1,
                         d->certificate.p, d->certificate.len,
                         (int64_t)(d->timestamp_ms / 1000), err, sizeof(err)),
                     0);
    assert_string_equal(err, "ok");

    cbor_wr_init(&w, sig_structure, sizeof(sig_structure));
    cbor_put_array(&w, 4);
    cbor_put_cstr(&w, "Signature1");
    cbor_put_bytes(&w, "\xa1\x01\x38\x22", 4);
    cbor_put_bytes(&w, "", 0);
    cbor_put_bytes(&w, d->payload.p, d->payload.len);
    assert_false(w.overflow);
    assert_int_equal(
        crypto_x509_parse(&leaf, d->certificate.p, d->certificate.len), 0);
    assert_true(
        crypto_ecdsa_p384_verify(leaf.key, sig_structure, w.len, d->sig));
    crypto_x509_release(&leaf);
}

static void model_documents_verify(void **state)
{
    static uint8_t doc[NSM_RESPONSE_MAX_SIZE], nonce[1500];
    static struct nsm nsm;
    struct verify_policy pol;
    struct verify_result res;
    struct verify_root root;
    struct nsm_boot boot;
    struct platform plat;
    const uint8_t *root_der;
    size_t root_len, len;
    char err[256];

    memset(&plat, 0, sizeof(plat));
    plat.pki = pki_open(dir, MODULE_ID, true, err, sizeof(err));
    assert_non_null(plat.pki);
    plat.now_ms = (uint64_t)now_s() * 1000 + 123;
    memset(&boot, 0, sizeof(boot));
    strcpy(boot.module_id, MODULE_ID);
    strcpy(boot.parent_id, "i-0123456789abcdef0");
    assert_int_equal(nsm_init(&nsm, &boot, &p_ops, &plat), NSM_OK);
    root_der = pki_root_der(plat.pki, &root_len);
    assert_int_equal(verify_root_init(&root, root_der, root_len), VERIFY_OK);

    /* a 1500-byte nonce and 3 bytes of user data */
    memset(nonce, 0x5a, sizeof(nonce));
    len = attest(&nsm, (const uint8_t *)"abc", 3, nonce, sizeof(nonce), doc,
                 sizeof(doc));
    /* fresh: at most a second old by the model's clock */
    memset(&pol, 0, sizeof(pol));
    pol.now_ms = (int64_t)plat.now_ms + 500;
    pol.max_age_ms = 1000;
    assert_int_equal(verify_document(&root, &pol, doc, len, &res), VERIFY_OK);
    assert_int_equal(res.doc.timestamp_ms, plat.now_ms);
    assert_int_equal(res.doc.n_cabundle, 2);
    assert_int_equal(res.doc.n_pcrs, 16);
    assert_int_equal(res.doc.nonce.len, sizeof(nonce));
    reference_check(&res, root_der, root_len);
    assert_int_equal(verify_document(&root, NULL, doc, len, &res),
                     VERIFY_ERR_FRESHNESS);

    /* the nonce policy holds; the AWS root is not ours */
    memset(&pol, 0, sizeof(pol));
    pol.nonce.p = nonce;
    pol.nonce.len = sizeof(nonce);
    pol.nonce.present = true;
    pol.user_data.p = (const uint8_t *)"abc";
    pol.user_data.len = 3;
    pol.user_data.present = true;
    assert_int_equal(verify_document(&root, &pol, doc, len, &res), VERIFY_OK);
    assert_int_equal(verify_document(NULL, &pol, doc, len, &res),
                     VERIFY_ERR_ROOT);

    /* empty user_data and nonce are legitimate */
    len = attest(&nsm, NULL, 0, NULL, 0, doc, sizeof(doc));
    memset(&pol, 0, sizeof(pol));
    pol.when = VERIFY_AT_DOCUMENT;
    assert_int_equal(verify_document(&root, &pol, doc, len, &res), VERIFY_OK);
    assert_true(res.doc.user_data.present);
    assert_int_equal(res.doc.user_data.len, 0);
    assert_true(res.doc.nonce.present);
    assert_int_equal(res.doc.nonce.len, 0);
    reference_check(&res, root_der, root_len);

    /* a second after its leaf expires the old document fails at "now" ... */
    {
        struct crypto_x509 leaf;

        assert_int_equal(crypto_x509_parse(&leaf, res.doc.certificate.p,
                                           res.doc.certificate.len),
                         0);
        memset(&pol, 0, sizeof(pol));
        pol.when = VERIFY_AT_NOW;
        pol.now_ms = (leaf.not_after_s + 1) * 1000;
        pol.max_age_ms = 60000;
        crypto_x509_release(&leaf);
    }
    assert_int_equal(verify_document(&root, &pol, doc, len, &res),
                     VERIFY_ERR_CERT_TIME);
    assert_int_equal(res.cert_index, 2);

    /* ... while a fresh one, from a renewed leaf, verifies then */
    plat.now_ms = (uint64_t)pol.now_ms;
    len = attest(&nsm, NULL, 0, NULL, 0, doc, sizeof(doc));
    assert_int_equal(verify_document(&root, &pol, doc, len, &res), VERIFY_OK);
    reference_check(&res, root_der, root_len);

    verify_root_release(&root);
    pki_close(plat.pki);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

static const struct CMUnitTest tests[] = {
    T(init_layout_and_constraints), T(open_creates_when_empty),
    T(mismatched_key_refused),      T(leaf_and_renewal),
    T(model_documents_verify),      T(leaf_serials_unique),
};

HARNESS_MAIN("pki", tests)
