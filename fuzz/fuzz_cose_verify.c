/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the attestation verifier: the COSE_Sign1 envelope and
 * payload parser (verify_parse) on every input, then the full verification
 * (certificate decoding, chain, signatures) with the AWS root pinned, and
 * the explanation of whatever status came out; and the input once more as
 * a bare certificate for the adapter's DER walker (crypto_x509_parse).
 * Nothing may crash, leak or read out of bounds, and a parsed document's
 * views must lie inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const struct verify_blob *b, const uint8_t *data,
                         size_t size)
{
    if (b->present && (b->p < data || b->len > size ||
                       (size_t)(b->p - data) > size - b->len)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct verify_policy pol = {.when = VERIFY_AT_DOCUMENT};
    struct verify_result res;
    struct crypto_x509 cert;
    char why[512];

    if (crypto_x509_parse(&cert, data, size) == 0) {
        if (cert.tbs_off + cert.tbs_len > size ||
            cert.sig_off + cert.sig_len > size ||
            cert.subject_off + cert.subject_len > size ||
            cert.issuer_off + cert.issuer_len > size) {
            abort();
        }
        (void)crypto_x509_signed_by(&cert, &cert);
        crypto_x509_release(&cert);
    }

    if (verify_parse(data, size, &res) == VERIFY_OK) {
        check_inside(&res.doc.payload, data, size);
        check_inside(&res.doc.module_id, data, size);
        check_inside(&res.doc.certificate, data, size);
        check_inside(&res.doc.user_data, data, size);
        check_inside(&res.doc.nonce, data, size);
        check_inside(&res.doc.public_key, data, size);
        for (size_t i = 0; i < res.doc.n_cabundle; i++) {
            check_inside(&res.doc.cabundle[i], data, size);
        }
    }
    verify_explain(&res, why, sizeof(why));
    verify_document(NULL, &pol, data, size, &res);
    verify_explain(&res, why, sizeof(why));
    return 0;
}
