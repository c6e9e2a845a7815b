/* SPDX-License-Identifier: MIT */
/*
 * COSE_Sign1 verification for attestation documents (AWS
 * nsm-api docs/attestation_process.md, RFC 9052): the envelope is parsed into a
 * view of the caller's bytes, then the ES384 signature is checked over the
 * Sig_structure
 *
 *   84 6a "Signature1" 44 a1 01 38 22 40 <bstr head> <payload>
 *
 * hashed in two parts, so the payload is never copied. Nothing here
 * allocates (OpenSSL allocates inside the signature check).
 *
 * Status codes: COSE_OK (0) and -20..-39 (the verification range of
 * enum cose_status in cose.h); cose_verify_strerror() describes them.
 */
#ifndef TV_COSE_COSE_VERIFY_H
#define TV_COSE_COSE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cose/cose.h"

struct crypto_key;

#define COSE_TAG_SIGN1 18 /* d2 */

enum cose_verify_status {
    COSE_VERR_MALFORMED = -20,   /* not well-formed CBOR, or not array(4) */
    COSE_VERR_TAG = -21,         /* a tag other than 18 (COSE_Sign1) */
    COSE_VERR_PROTECTED = -22,   /* protected header is not h'a1013822' */
    COSE_VERR_UNPROTECTED = -23, /* unprotected header is not a map */
    COSE_VERR_PAYLOAD = -24,     /* payload is not a definite byte string */
    COSE_VERR_SIG_SIZE = -25,    /* signature is not a 96-byte bstr */
    COSE_VERR_TRAILING = -26,    /* bytes follow the COSE_Sign1 */
    COSE_VERR_SIGNATURE = -27,   /* the ES384 signature does not verify */
};

/**
 * struct cose_sign1_view - a parsed COSE_Sign1; pointers into the input.
 * @tagged:       the message carried tag 18
 * @payload:      payload bytes (the bstr contents)
 * @payload_len:  bytes in @payload
 * @sig:          the 96-byte r || s signature
 */
struct cose_sign1_view {
    bool tagged;
    const uint8_t *payload;
    size_t payload_len;
    const uint8_t *sig;
};

/**
 * cose_sign1_parse() - check the envelope of the COSE_Sign1 @msg (untrusted,
 * @len bytes): optional tag 18; an array of exactly 4; protected exactly the
 * byte string a1 01 38 22 ({1: -35}, alg ES384; the bytes are what is
 * signed, so no other encoding of that map is accepted); unprotected a map
 * (definite or indefinite, well-formed, contents ignored); a definite byte
 * string payload; a 96-byte definite byte string signature; nothing after.
 * @v: receives the view on success.
 * Does not allocate. Return: COSE_OK or a COSE_VERR_* status.
 */
int cose_sign1_parse(const uint8_t *msg, size_t len, struct cose_sign1_view *v)
    __attribute__((warn_unused_result));

/**
 * cose_sign1_verify() - check @v's signature with the P-384 public @key.
 * Return: COSE_OK or COSE_VERR_SIGNATURE (also for a key that is not P-384).
 */
int cose_sign1_verify(const struct cose_sign1_view *v,
                      const struct crypto_key *key)
    __attribute__((warn_unused_result));

/** cose_verify_strerror() - a static description of a COSE_VERR_* code. */
const char *cose_verify_strerror(int status);

#endif
