/* SPDX-License-Identifier: MIT */
/*
 * The attestation document verifier (AWS nsm-api docs/attestation_process.md).
 *
 * verify_document() runs every rule in order and stops at the first
 * failure, which it reports as one enum verify_status plus the details
 * needed for a precise message (verify_explain()):
 *
 *  1. COSE_Sign1, tagged (18) or untagged; protected exactly {1: -35};
 *     unprotected a map; payload a byte string; signature 96 bytes; nothing
 *     after the array.
 *  2. Payload: one map (definite or indefinite) with text keys from the
 *     AttestationDoc set (module_id, digest, timestamp, pcrs, certificate,
 *     cabundle, public_key, user_data, nonce); unknown or duplicate keys and
 *     trailing bytes are rejected; null optionals count as absent. Strings
 *     must be definite-length (real NSM never emits others; accepting them
 *     would need a copy).
 *  3. Content: module_id non-empty; digest "SHA384"; timestamp > 0; pcrs 1..32
 *     entries with uint keys < 32 and 48-byte values; certificate and each
 *     cabundle entry 1..1024 bytes; cabundle 1..VERIFY_CABUNDLE_MAX entries.
 *     user_data, nonce and public_key may be empty or of any size.
 *  4. Root: cabundle[0] must be byte-identical to the pinned root: the AWS
 *     Nitro root (SHA-256 VERIFY_AWS_ROOT_SHA256) unless the caller pins its
 *     own.
 *  5. Chain leaf <- cabundle[n-1] <- ... <- cabundle[1] <- root: issuer names
 *     match, every signature is ecdsa-with-SHA384 by a P-384 key.
 *  6. Every certificate (root included) valid at the check time: the
 *     caller's clock by default, or, for a historic document, its own
 *     timestamp or an explicit time.
 *  7. CA certificates: basicConstraints critical with cA TRUE, pathLen (if
 *     any) not exceeded, keyUsage with keyCertSign. Leaf: not a CA, no
 *     pathLen, keyUsage with digitalSignature. Unknown critical extensions
 *     are rejected, unknown non-critical ones ignored. No revocation checks.
 *  8. The COSE signature over the Sig_structure with the leaf key.
 *  9. Policy: expected PCR values, nonce, user_data and public_key equality,
 *     maximum age and no timestamp in the future (both against the caller's
 *     clock).
 *
 * Freshness is never implied: checked at the caller's clock (the default),
 * a document must be bound to the present by an expected nonce or a
 * maximum age, or verify_document() refuses with VERIFY_ERR_FRESHNESS
 * before looking at it. A caller that means to verify a historic document
 * says so with VERIFY_AT_DOCUMENT or VERIFY_AT_TIME.
 *
 * Numbering: certificates are counted along the chain from the root:
 * certificate 0 is the root (cabundle[0]), certificate i is cabundle[i], and
 * certificate n_cabundle is the leaf.
 *
 * Memory: the CBOR parser allocates nothing and the document view points
 * into the caller's bytes; OpenSSL allocates while decoding certificates and
 * frees before verify_document() returns. Thread safety: verify_document()
 * may run concurrently on any number of threads; a struct verify_root is
 * read-only after verify_root_init().
 *
 * Status codes: VERIFY_OK (0) and -100..-149.
 */
#ifndef TV_VERIFY_VERIFY_H
#define TV_VERIFY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/x509.h"

#define VERIFY_PCR_COUNT     32   /* PCR indices 0..31 */
#define VERIFY_PCR_SIZE      48   /* SHA-384, bytes */
#define VERIFY_CABUNDLE_MAX  8    /* CA certificates accepted in a document */
#define VERIFY_CERT_MAX      1024 /* DER bytes per certificate */
#define VERIFY_AWS_ROOT_SIZE 533  /* DER bytes of the AWS Nitro root */
#define VERIFY_AWS_ROOT_SHA256                                                 \
    "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b"

/* The AWS Nitro Enclaves root G1, DER. */
extern const uint8_t verify_aws_root_der[VERIFY_AWS_ROOT_SIZE];

enum verify_status {
    VERIFY_OK = 0,
    VERIFY_ERR_ARG = -100,              /* bad arguments or policy */
    VERIFY_ERR_INTERNAL = -101,         /* crypto library failure */
    VERIFY_ERR_COSE = -102,             /* not a well-formed COSE_Sign1 */
    VERIFY_ERR_COSE_TAG = -103,         /* tag other than 18 */
    VERIFY_ERR_PROTECTED = -104,        /* protected header not {1: -35} */
    VERIFY_ERR_UNPROTECTED = -105,      /* unprotected header not a map */
    VERIFY_ERR_COSE_PAYLOAD = -106,     /* payload not a byte string */
    VERIFY_ERR_SIG_SIZE = -107,         /* signature not 96 bytes */
    VERIFY_ERR_TRAILING = -108,         /* bytes after the COSE_Sign1 */
    VERIFY_ERR_PAYLOAD = -109,          /* payload not a well-formed map */
    VERIFY_ERR_PAYLOAD_TRAILING = -110, /* bytes after the payload map */
    VERIFY_ERR_KEY_TYPE = -111,         /* a map key that is not text */
    VERIFY_ERR_UNKNOWN_KEY = -112,      /* a key outside AttestationDoc */
    VERIFY_ERR_DUPLICATE_KEY = -113,    /* a key given twice */
    VERIFY_ERR_FIELD_TYPE = -114,       /* a field of the wrong CBOR type */
    VERIFY_ERR_MISSING_FIELD = -115,    /* a mandatory field absent or null */
    VERIFY_ERR_MODULE_ID = -116,        /* module_id empty */
    VERIFY_ERR_DIGEST = -117,           /* digest not "SHA384" */
    VERIFY_ERR_TIMESTAMP = -118,        /* timestamp 0 */
    VERIFY_ERR_PCRS = -119,             /* pcrs count, index or size wrong */
    VERIFY_ERR_CERT_SIZE = -120,        /* a certificate not 1..1024 bytes */
    VERIFY_ERR_CABUNDLE = -121,         /* cabundle empty or too long */
    VERIFY_ERR_ROOT = -122,             /* cabundle[0] is not the pinned root */
    VERIFY_ERR_CERT_DECODE = -123,      /* a certificate does not decode */
    VERIFY_ERR_CERT_ALG = -124,         /* not ecdsa-with-SHA384 / P-384 */
    VERIFY_ERR_CERT_ISSUER = -125,      /* issuer name differs from parent */
    VERIFY_ERR_CERT_SIGNATURE = -126,   /* certificate signature invalid */
    VERIFY_ERR_CERT_TIME = -127,        /* not valid at the check time */
    VERIFY_ERR_CERT_CA = -128,          /* CA without CA constraints */
    VERIFY_ERR_CERT_PATHLEN = -129,     /* pathLen constraint exceeded */
    VERIFY_ERR_CERT_LEAF = -130,        /* leaf is a CA or cannot sign */
    VERIFY_ERR_CERT_CRITICAL = -131,    /* unknown critical extension */
    VERIFY_ERR_CERT_EXTENSION = -132,   /* malformed or repeated extension */
    VERIFY_ERR_SIGNATURE = -133,        /* document signature does not verify */
    VERIFY_ERR_PCR_MISMATCH = -134, /* an expected PCR differs or is absent */
    VERIFY_ERR_NONCE = -135,        /* nonce differs from the expected one */
    VERIFY_ERR_USER_DATA = -136,    /* user_data differs */
    VERIFY_ERR_PUBLIC_KEY = -137,   /* public_key differs */
    VERIFY_ERR_TOO_OLD = -138,      /* older than the maximum age */
    VERIFY_ERR_FUTURE = -139,       /* timestamp after the caller's clock */
    VERIFY_ERR_FRESHNESS = -140,    /* policy asks for no freshness */
};

/** enum verify_field - the AttestationDoc fields, in real NSM's order. */
enum verify_field {
    VERIFY_F_MODULE_ID,
    VERIFY_F_DIGEST,
    VERIFY_F_TIMESTAMP,
    VERIFY_F_PCRS,
    VERIFY_F_CERTIFICATE,
    VERIFY_F_CABUNDLE,
    VERIFY_F_PUBLIC_KEY,
    VERIFY_F_USER_DATA,
    VERIFY_F_NONCE,
    VERIFY_F_COUNT,
    VERIFY_F_NONE = -1,
};

/**
 * struct verify_blob - a byte range inside the document.
 * @p:       first byte (NULL when @present is false)
 * @len:     bytes
 * @present: the field was given and not null
 */
struct verify_blob {
    const uint8_t *p;
    size_t len;
    bool present;
};

/**
 * struct verify_doc - a parsed attestation document; every pointer points
 * into the caller's document bytes.
 * @tagged:        the COSE_Sign1 carried tag 18
 * @payload:       the signed payload bytes
 * @sig:           the 96-byte r || s signature
 * @module_id:     module_id text (not NUL-terminated)
 * @digest:        digest text
 * @timestamp_ms:  timestamp, ms since the Unix epoch
 * @pcr_mask:      bit i: PCR i is in the document
 * @pcr:           value of PCR i (48 bytes) when its bit is set
 * @n_pcrs:        entries in pcrs
 * @certificate:   leaf certificate DER
 * @cabundle:      CA certificates DER, root first
 * @n_cabundle:    entries in @cabundle
 * @public_key, @user_data, @nonce: optional byte strings
 */
struct verify_doc {
    bool tagged;
    struct verify_blob payload;
    const uint8_t *sig;
    struct verify_blob module_id;
    struct verify_blob digest;
    uint64_t timestamp_ms;
    uint32_t pcr_mask;
    const uint8_t *pcr[VERIFY_PCR_COUNT];
    size_t n_pcrs;
    struct verify_blob certificate;
    struct verify_blob cabundle[VERIFY_CABUNDLE_MAX];
    size_t n_cabundle;
    struct verify_blob public_key;
    struct verify_blob user_data;
    struct verify_blob nonce;
};

/**
 * enum verify_when - which time certificates are checked at, and whether
 * the document must be fresh.
 * @VERIFY_AT_NOW:      the caller's clock (policy now_ms); the default. The
 *                      policy must also give a nonce or a maximum age.
 * @VERIFY_AT_DOCUMENT: the document's own timestamp: a historic document,
 *                      e.g. one kept since it was produced
 * @VERIFY_AT_TIME:     policy at_ms: a historic document at a chosen time
 */
enum verify_when {
    VERIFY_AT_NOW = 0,
    VERIFY_AT_DOCUMENT,
    VERIFY_AT_TIME,
};

/**
 * struct verify_policy - what the caller asks for beyond the rules. A
 * zero-initialised policy is the strict one: certificates at the caller's
 * clock, and it is refused (VERIFY_ERR_FRESHNESS) until the caller adds a
 * nonce or a maximum age, or chooses a historic check time.
 * @when:          check time selection
 * @at_ms:         the check time for VERIFY_AT_TIME, ms since the epoch
 * @now_ms:        the caller's clock for VERIFY_AT_NOW, @max_age_ms and the
 *                 future check; 0 means the system clock
 * @max_age_ms:    when non-zero: fail if now - timestamp > this, or if the
 *                 timestamp is more than VERIFY_CLOCK_SKEW_MS in the future
 * @pcr_mask:      bit i: PCR i must be present and equal @pcr[i]
 * @pcr:           expected PCR values
 * @nonce, @user_data, @public_key: when .present, the field must be
 *                 present and byte-identical (an empty expected value
 *                 matches an empty field)
 */
struct verify_policy {
    enum verify_when when;
    int64_t at_ms;
    int64_t now_ms;
    uint64_t max_age_ms;
    uint32_t pcr_mask;
    uint8_t pcr[VERIFY_PCR_COUNT][VERIFY_PCR_SIZE];
    struct verify_blob nonce;
    struct verify_blob user_data;
    struct verify_blob public_key;
};

#define VERIFY_CLOCK_SKEW_MS (5 * 60 * 1000) /* tolerated clock difference */

/**
 * struct verify_root - a pinned root, decoded once and reused.
 * @der, @der_len:  the certificate
 * @sha256:         its fingerprint
 * @cert:           the decoded certificate (owned); it points into @der, so
 *                  an initialised root must not be copied or moved
 */
struct verify_root {
    uint8_t der[VERIFY_CERT_MAX];
    size_t der_len;
    uint8_t sha256[32];
    struct crypto_x509 cert;
};

/**
 * struct verify_result - the outcome and what is needed to explain it.
 * @status:       VERIFY_OK or the first failure
 * @field:        the field concerned (payload errors), or VERIFY_F_NONE
 * @cert_index:   the certificate concerned (chain numbering above), or -1
 * @n_certs:      certificates in the chain (n_cabundle + 1), once known
 * @pcr_index:    the PCR concerned, or -1
 * @check_ms:     the time certificates were (or would be) checked at
 * @now_ms:       the caller's clock as used for age checks
 * @not_before_s, @not_after_s: validity of certificate @cert_index
 * @doc:          the parsed document (valid when status is not a COSE or
 *                payload error, i.e. once parsing succeeded: @parsed)
 * @parsed:       @doc is complete
 */
struct verify_result {
    int status;
    int field;
    int cert_index;
    int n_certs;
    int pcr_index;
    int64_t check_ms;
    int64_t now_ms;
    int64_t not_before_s;
    int64_t not_after_s;
    bool parsed;
    struct verify_doc doc;
};

/**
 * verify_root_init() - decode and pin @len bytes of @cert (PEM or DER), or
 * the built-in AWS root when @cert is NULL (its fingerprint is checked
 * against VERIFY_AWS_ROOT_SHA256). Allocates inside OpenSSL; release with
 * verify_root_release().
 * Return: VERIFY_OK, VERIFY_ERR_ARG (not a certificate or too large) or
 * VERIFY_ERR_INTERNAL.
 */
int verify_root_init(struct verify_root *root, const uint8_t *cert, size_t len)
    __attribute__((warn_unused_result));

/** verify_root_release() - free what verify_root_init() allocated. */
void verify_root_release(struct verify_root *root);

/**
 * verify_parse() - rules 1 to 3 only: parse @doc (untrusted, @len bytes)
 * into @res->doc without any cryptography. Does not allocate.
 * Return: @res->status.
 */
int verify_parse(const uint8_t *doc, size_t len, struct verify_result *res);

/**
 * verify_document() - all rules and the @policy.
 * @root:    the pinned root, or NULL for the AWS root (decoded once per
 *           process and cached)
 * @policy:  NULL for the zero-initialised policy, which alone is always
 *           refused with VERIFY_ERR_FRESHNESS (see struct verify_policy)
 * @doc, @len: the COSE_Sign1 bytes (untrusted)
 * @res:     receives the outcome; @res->doc points into @doc
 * Return: @res->status.
 */
int verify_document(const struct verify_root *root,
                    const struct verify_policy *policy, const uint8_t *doc,
                    size_t len, struct verify_result *res);

/** verify_strerror() - a static one-line description of a status. */
const char *verify_strerror(int status);

/** verify_field_name() - "module_id", ..., or "?" for others. */
const char *verify_field_name(int field);

/**
 * verify_explain() - the precise reason for @res into @buf (NUL-terminated,
 * truncated to @cap), e.g. "certificate 4 (leaf) not valid at
 * 2023-09-18T18:40:00Z (valid 2023-09-18T14:37:09Z to 2023-09-18T17:37:12Z)"
 * or "PCR 4 mismatch". Return: @buf.
 */
char *verify_explain(const struct verify_result *res, char *buf, size_t cap);

#endif
