/* SPDX-License-Identifier: MIT */
/*
 * COSE_Sign1 envelope parsing and ES384 verification (see cose_verify.h).
 * The parser follows the byte layout real NSM emits but accepts what RFC
 * 9052 allows around it (the tag, any unprotected map), and nothing that
 * could give the signed bytes a second meaning.
 */
#include "cose/cose_verify.h"

#include <string.h>

#include "cbor/cbor.h"
#include "crypto/x509.h"

/* see cose_verify.h */
int cose_sign1_parse(const uint8_t *msg, size_t len, struct cose_sign1_view *v)
{
    struct cbor_rd rd;
    struct cbor_tok t;

    memset(v, 0, sizeof(*v));
    /*
     * Tags 6..20 in the one-byte form (c6..d4, d2 among them) are read here:
     * libcbor 0.8's stream decoder rejects them as unassigned.
     */
    if (len > 0 && msg[0] >= 0xc0 && msg[0] <= 0xd7) {
        if ((msg[0] & 0x1f) != COSE_TAG_SIGN1) {
            return COSE_VERR_TAG;
        }
        v->tagged = true;
        msg++;
        len--;
    }
    cbor_rd_init(&rd, msg, len);
    if (cbor_rd_next(&rd, &t) != 0) {
        return COSE_VERR_MALFORMED;
    }
    if (t.type == CBOR_TOK_TAG) {
        if (v->tagged) {
            return COSE_VERR_TAG; /* a second tag */
        }
        if (t.u != COSE_TAG_SIGN1) {
            return COSE_VERR_TAG;
        }
        v->tagged = true;
        if (cbor_rd_next(&rd, &t) != 0) {
            return COSE_VERR_MALFORMED;
        }
    }
    if (t.type != CBOR_TOK_ARRAY || t.u != 4) {
        return COSE_VERR_MALFORMED;
    }

    /* protected: bstr .cbor {1: -35}, compared as the exact signed bytes */
    if (cbor_rd_next(&rd, &t) != 0) {
        return COSE_VERR_MALFORMED;
    }
    if (t.type != CBOR_TOK_BYTES || t.len != COSE_ES384_PROTECTED_SIZE ||
        memcmp(t.p, cose_es384_protected, COSE_ES384_PROTECTED_SIZE) != 0) {
        return COSE_VERR_PROTECTED;
    }

    /* unprotected: any well-formed map */
    if (cbor_rd_next(&rd, &t) != 0) {
        return COSE_VERR_MALFORMED;
    }
    if (t.type != CBOR_TOK_MAP && t.type != CBOR_TOK_MAP_INDEF) {
        return COSE_VERR_UNPROTECTED;
    }
    if (cbor_rd_skip(&rd, &t) != 0) {
        return COSE_VERR_MALFORMED;
    }

    /* payload: attached, definite (the signature covers its bytes) */
    if (cbor_rd_next(&rd, &t) != 0) {
        return COSE_VERR_MALFORMED;
    }
    if (t.type != CBOR_TOK_BYTES) {
        return COSE_VERR_PAYLOAD;
    }
    v->payload = t.p;
    v->payload_len = t.len;

    /* signature: r || s, 48 bytes each */
    if (cbor_rd_next(&rd, &t) != 0) {
        return COSE_VERR_MALFORMED;
    }
    if (t.type != CBOR_TOK_BYTES || t.len != COSE_ES384_SIG_SIZE) {
        return COSE_VERR_SIG_SIZE;
    }
    v->sig = t.p;
    if (!cbor_rd_done(&rd)) {
        return COSE_VERR_TRAILING;
    }
    return COSE_OK;
}

/* see cose_verify.h */
int cose_sign1_verify(const struct cose_sign1_view *v,
                      const struct crypto_key *key)
{
    uint8_t head[COSE_SIG_STRUCTURE_HEAD_MAX];
    struct cbor_wr w;

    /* Sig_structure = ["Signature1", protected, external_aad h'', payload] */
    cbor_wr_init(&w, head, sizeof(head));
    cbor_put_array(&w, 4);
    cbor_put_text(&w, "Signature1", 10);
    cbor_put_bytes(&w, cose_es384_protected, COSE_ES384_PROTECTED_SIZE);
    cbor_put_bytes_head(&w, 0);
    cbor_put_bytes_head(&w, v->payload_len);
    if (w.overflow || v->sig == NULL) {
        return COSE_VERR_SIGNATURE;
    }
    if (!crypto_ecdsa_p384_verify2(key, head, w.len, v->payload, v->payload_len,
                                   v->sig)) {
        return COSE_VERR_SIGNATURE;
    }
    return COSE_OK;
}

/* see cose_verify.h */
const char *cose_verify_strerror(int status)
{
    switch (status) {
    case COSE_OK:
        return "success";
    case COSE_VERR_MALFORMED:
        return "not a well-formed COSE_Sign1 (CBOR array of 4)";
    case COSE_VERR_TAG:
        return "tagged with a tag other than 18 (COSE_Sign1)";
    case COSE_VERR_PROTECTED:
        return "protected header is not exactly {1: -35} (ES384)";
    case COSE_VERR_UNPROTECTED:
        return "unprotected header is not a map";
    case COSE_VERR_PAYLOAD:
        return "payload is not a definite byte string";
    case COSE_VERR_SIG_SIZE:
        return "signature is not a 96-byte byte string";
    case COSE_VERR_TRAILING:
        return "trailing bytes after the COSE_Sign1";
    case COSE_VERR_SIGNATURE:
        return "signature does not verify";
    default:
        return "unknown COSE status";
    }
}
