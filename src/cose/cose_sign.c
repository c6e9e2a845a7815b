/* SPDX-License-Identifier: MIT */
/*
 * COSE_Sign1 building for attestation documents. The payload is encoded by
 * the caller straight into its output buffer; we put the Sig_structure head
 * in front of it, sign, and then replace that head with the COSE_Sign1 head,
 * so the payload is written once and never copied.
 */
#include "cose/cose.h"

#include <string.h>

#include "cbor/cbor.h"
#include "crypto/crypto.h"

/* {1: -35}: a1 (map 1) 01 (key 1, alg) 38 22 (-35, ES384) */
const uint8_t cose_es384_protected[4] = {0xa1, 0x01, 0x38, 0x22};

/* "Signature1", the Sig_structure context for COSE_Sign1 */
static const char sig1_context[] = "Signature1";

/* see cose.h */
size_t cose_sign1_head_size(size_t payload_len)
{
    /* 84, 44 + protected, a0, payload bstr head */
    return 1 + 1 + COSE_ES384_PROTECTED_SIZE + 1 + cbor_head_size(payload_len);
}

/* see cose.h */
size_t cose_sig_structure_head_size(size_t payload_len)
{
    /* 84, 6a "Signature1", 44 + protected, 40 (external_aad), bstr head */
    return 1 + 1 + (sizeof(sig1_context) - 1) + 1 + COSE_ES384_PROTECTED_SIZE +
           1 + cbor_head_size(payload_len);
}

/* see cose.h */
size_t cose_sign1_size(size_t payload_len)
{
    return cose_sign1_head_size(payload_len) + payload_len +
           COSE_SIGN1_TAIL_SIZE;
}

/* see cose.h */
int cose_sign1_seal(const struct crypto_key *key, uint8_t *buf, size_t cap,
                    size_t payload_off, size_t payload_len, size_t *cose_off,
                    size_t *cose_len)
{
    size_t sig_head = cose_sig_structure_head_size(payload_len);
    size_t cose_head = cose_sign1_head_size(payload_len);
    size_t end;
    struct cbor_wr w;
    uint8_t *sig;

    if (payload_off < sig_head || payload_off > cap ||
        payload_len > cap - payload_off) {
        return COSE_ERR_ARG;
    }
    end = payload_off + payload_len;
    if (cap - end < COSE_SIGN1_TAIL_SIZE) {
        return COSE_ERR_SPACE;
    }

    /* Sig_structure = ["Signature1", protected, external_aad h'', payload] */
    cbor_wr_init(&w, buf + payload_off - sig_head, sig_head);
    cbor_put_array(&w, 4);
    cbor_put_text(&w, sig1_context, sizeof(sig1_context) - 1);
    cbor_put_bytes(&w, cose_es384_protected, COSE_ES384_PROTECTED_SIZE);
    cbor_put_bytes_head(&w, 0);
    cbor_put_bytes_head(&w, payload_len);
    if (w.overflow || w.len != sig_head) {
        return COSE_ERR_ARG;
    }

    /* The signature lands directly in its final place after "58 60". */
    buf[end] = 0x58;
    buf[end + 1] = COSE_ES384_SIG_SIZE;
    sig = buf + end + 2;
    if (crypto_ecdsa_p384_sign(key, buf + payload_off - sig_head,
                               sig_head + payload_len, sig) != 0) {
        return COSE_ERR_SIGN;
    }

    /* COSE_Sign1 = [protected, unprotected {}, payload, signature] */
    cbor_wr_init(&w, buf + payload_off - cose_head, cose_head);
    cbor_put_array(&w, 4);
    cbor_put_bytes(&w, cose_es384_protected, COSE_ES384_PROTECTED_SIZE);
    cbor_put_map(&w, 0);
    cbor_put_bytes_head(&w, payload_len);
    if (w.overflow || w.len != cose_head) {
        return COSE_ERR_ARG;
    }
    *cose_off = payload_off - cose_head;
    *cose_len = cose_head + payload_len + COSE_SIGN1_TAIL_SIZE;
    return COSE_OK;
}

/* see cose.h */
int cose_sign1_build(const struct crypto_key *key, const uint8_t *payload,
                     size_t payload_len, uint8_t *out, size_t cap,
                     size_t *out_len)
{
    size_t sig_head = cose_sig_structure_head_size(payload_len);
    size_t cose_off, cose_len;
    int rc;

    /*
     * The Sig_structure head is longer than the COSE_Sign1 head, so the
     * payload goes far enough in to leave room for it; the finished
     * COSE_Sign1 then moves down by the difference (a few bytes of slack
     * at the front would otherwise remain).
     */
    if (cap < sig_head || payload_len > cap - sig_head ||
        cap - sig_head - payload_len < COSE_SIGN1_TAIL_SIZE) {
        return COSE_ERR_SPACE;
    }
    memmove(out + sig_head, payload, payload_len);
    rc = cose_sign1_seal(key, out, cap, sig_head, payload_len, &cose_off,
                         &cose_len);
    if (rc != COSE_OK) {
        return rc;
    }
    memmove(out, out + cose_off, cose_len);
    *out_len = cose_len;
    return COSE_OK;
}

/* see cose.h */
const char *cose_strerror(int status)
{
    switch (status) {
    case COSE_OK:
        return "success";
    case COSE_ERR_ARG:
        return "inconsistent COSE buffer offsets or lengths";
    case COSE_ERR_SPACE:
        return "COSE_Sign1 does not fit the output buffer";
    case COSE_ERR_SIGN:
        return "ECDSA P-384 signing failed";
    default:
        return "unknown COSE status";
    }
}
