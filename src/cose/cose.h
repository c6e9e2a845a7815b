/* SPDX-License-Identifier: MIT */
/*
 * COSE_Sign1 (RFC 9052 §4.2) with ES384, in the exact form real NSM emits:
 *
 *   84                  array(4), untagged
 *   44 a1 01 38 22      protected: bstr({1: -35})  (alg: ES384)
 *   a0                  unprotected: {}
 *   58 LL / 59 LL LL    payload: bstr (minimal head)
 *   58 60 <r||s>        signature: 96 bytes
 *
 * The signature covers the Sig_structure (RFC 9052 §4.4)
 *
 *   84 6a "Signature1" 44 a1 01 38 22 40 <bstr head> <payload>
 *
 * Building happens in place around a payload the caller has already encoded
 * into its buffer, so the signed bytes are contiguous without copying the
 * payload. Nothing here allocates (OpenSSL allocates inside the signature).
 *
 * Status codes: COSE_OK (0) and -1..-19 for building; -20..-39 are reserved
 * for verification.
 */
#ifndef TV_COSE_COSE_H
#define TV_COSE_COSE_H

#include <stddef.h>
#include <stdint.h>

struct crypto_key;

#define COSE_ALG_ES384      (-35)
#define COSE_ES384_SIG_SIZE 96 /* r || s */

/* The protected header bytes, {1: -35}, and their length. */
extern const uint8_t cose_es384_protected[4];
#define COSE_ES384_PROTECTED_SIZE 4

/* Bytes that precede the payload in a COSE_Sign1: 7 plus the bstr head. */
#define COSE_SIGN1_HEAD_MAX 16
/* Bytes after the payload: 58 60 and the signature. */
#define COSE_SIGN1_TAIL_SIZE (2 + COSE_ES384_SIG_SIZE)
/* Bytes that precede the payload in the Sig_structure: 18 plus bstr head. */
#define COSE_SIG_STRUCTURE_HEAD_MAX 27

enum cose_status {
    COSE_OK = 0,
    COSE_ERR_ARG = -1,   /* offsets or lengths inconsistent */
    COSE_ERR_SPACE = -2, /* the output does not fit the buffer */
    COSE_ERR_SIGN = -3,  /* the signature operation failed */
};

/**
 * cose_sign1_head_size() - bytes of a COSE_Sign1 before a payload of
 * @payload_len bytes (array head, protected, unprotected, payload head).
 */
size_t cose_sign1_head_size(size_t payload_len);

/**
 * cose_sig_structure_head_size() - bytes of the Sig_structure before a
 * payload of @payload_len bytes.
 */
size_t cose_sig_structure_head_size(size_t payload_len);

/**
 * cose_sign1_size() - total bytes of a COSE_Sign1 with a @payload_len-byte
 * payload.
 */
size_t cose_sign1_size(size_t payload_len);

/**
 * cose_sign1_seal() - sign a payload in place and wrap it as a COSE_Sign1.
 * @key:          P-384 private key
 * @buf, @cap:    the caller's buffer and its capacity, bytes
 * @payload_off:  where the encoded payload starts in @buf; must be at least
 *                cose_sig_structure_head_size(@payload_len)
 * @payload_len:  payload bytes
 * @cose_off:     receives the offset of the COSE_Sign1's first byte
 *                (@payload_off - cose_sign1_head_size(@payload_len))
 * @cose_len:     receives the COSE_Sign1 length
 *
 * Writes the Sig_structure head just before the payload, signs the
 * contiguous Sig_structure, then overwrites that area with the COSE_Sign1
 * head and appends the signature after the payload. The bytes of @buf in
 * [@payload_off - cose_sig_structure_head_size(), *@cose_off) are clobbered;
 * the payload itself is not moved. Does not allocate.
 * Return: COSE_OK, COSE_ERR_ARG, COSE_ERR_SPACE (no room for the trailer) or
 * COSE_ERR_SIGN.
 */
int cose_sign1_seal(const struct crypto_key *key, uint8_t *buf, size_t cap,
                    size_t payload_off, size_t payload_len, size_t *cose_off,
                    size_t *cose_len) __attribute__((warn_unused_result));

/* The Sig_structure head is this much longer than the COSE_Sign1 head. */
#define COSE_BUILD_SLACK 11

/**
 * cose_sign1_build() - a COSE_Sign1 over a separate @payload into @out.
 * Copies the payload once (for tools and tests; the NSM model uses
 * cose_sign1_seal()). @cap must be at least cose_sign1_size(@payload_len) +
 * COSE_BUILD_SLACK: the Sig_structure is built in @out, so up to that many
 * bytes after *@out_len are used as scratch. @payload may lie inside @out.
 * Return: COSE_OK and *@out_len, or a negative status.
 */
int cose_sign1_build(const struct crypto_key *key, const uint8_t *payload,
                     size_t payload_len, uint8_t *out, size_t cap,
                     size_t *out_len) __attribute__((warn_unused_result));

/**
 * cose_strerror() - a static description of an enum cose_status.
 */
const char *cose_strerror(int status);

#endif
