/* SPDX-License-Identifier: MIT */
/*
 * NSM client: encodes NSM requests exactly as NSMAPI does (serde_cbor
 * defaults, aws-nitro-enclaves-nsm-api src/api/mod.rs), moves them through a
 * transport and decodes responses as leniently as serde_cbor's deserializer
 * does:
 *  - the outer item is a text string (unit variant) or a map whose header
 *    byte is exactly 0xa1; anything else fails;
 *  - inner maps are definite or indefinite, keys in any order, unknown keys
 *    skipped, missing non-Option fields fail, duplicate fields fail;
 *  - integers of any width are accepted when the value fits the field;
 *  - byte fields accept definite or indefinite byte strings, text strings
 *    and arrays of uints <= 255 (serde_bytes' visitor accepts all three);
 *  - nothing may follow the outer item.
 * Anything undecodable is NSMC_ERR_DECODE, which NSMAPI reports as
 * InternalError.
 *
 * Transports (struct nsmc_transport): the Linux /dev/nsm ioctl
 * (nsmc_ioctl_transport), the vhost-user frontend (nsmc_vhu.h) and, for
 * tests, an in-process loopback to the device model (nsmc_loop.h).
 *
 * No allocation. struct nsmc_resp holds the raw response and a scratch area
 * (about 24 KiB): allocate it statically or on the heap in programs.
 */
#ifndef TV_CLIENT_NSMC_H
#define TV_CLIENT_NSMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bug.h"
#include "common/caps.h"

/* NSM_IOCTL_RAW = _IOWR(0x0A, 0, struct nsmc_raw), uapi linux/nsm.h */
#define NSMC_IOCTL_RAW 0xC0200A00UL

/* Slots for DescribeNSM's locked_pcrs, as in AWS's NsmDescription. */
#define NSMC_LOCKED_PCRS_MAX 64

/** struct nsmc_iovec - one buffer of the ioctl ABI (16 bytes). */
struct nsmc_iovec {
    uint64_t addr; /* user pointer */
    uint64_t len;  /* bytes; response: capacity in, bytes written out */
};

/** struct nsmc_raw - the NSM_IOCTL_RAW argument (32 bytes). */
struct nsmc_raw {
    struct nsmc_iovec request;  /* device-readable request */
    struct nsmc_iovec response; /* device-writable response */
};

/**
 * struct nsmc_transport_ops - how a request reaches a device.
 * @call: send @req_len request bytes, offer @resp_cap bytes at @resp, store
 *        the bytes the device wrote in *@resp_len. Return 0 or a negative
 *        errno; -EMSGSIZE means the request was too large (InputTooLarge).
 */
struct nsmc_transport_ops {
    int (*call)(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                size_t resp_cap, size_t *resp_len);
};

/**
 * struct nsmc_transport - a transport: its ops and their context.
 * @ops: never NULL
 * @ctx: passed to every op
 */
struct nsmc_transport {
    const struct nsmc_transport_ops *ops;
    void *ctx;
};

/** enum nsmc_op - request and response variants. */
enum nsmc_op {
    NSMC_OP_DESCRIBE_PCR = 0, /* {"DescribePCR": {index}} */
    NSMC_OP_EXTEND_PCR,       /* {"ExtendPCR": {index, data}} */
    NSMC_OP_LOCK_PCR,         /* {"LockPCR": {index}} */
    NSMC_OP_LOCK_PCRS,        /* {"LockPCRs": {range}} */
    NSMC_OP_DESCRIBE_NSM,     /* "DescribeNSM" */
    NSMC_OP_ATTESTATION,      /* {"Attestation": {user_data, nonce, ...}} */
    NSMC_OP_GET_RANDOM,       /* "GetRandom" */
    NSMC_OP_ERROR,            /* response only: {"Error": name} */
};

/**
 * enum nsmc_error - NSM error codes; the numbers are AWS's ErrorCode values
 * (nsm.h), the names are the wire names ("InvalidIndex", ...).
 */
enum nsmc_error {
    NSMC_E_SUCCESS = 0,
    NSMC_E_INVALID_ARGUMENT = 1,
    NSMC_E_INVALID_INDEX = 2,
    NSMC_E_INVALID_RESPONSE = 3,
    NSMC_E_READ_ONLY_INDEX = 4,
    NSMC_E_INVALID_OPERATION = 5,
    NSMC_E_BUFFER_TOO_SMALL = 6,
    NSMC_E_INPUT_TOO_LARGE = 7,
    NSMC_E_INTERNAL_ERROR = 8,
};

/** enum nsmc_digest - DescribeNSM's digest; numbers are AWS's Digest. */
enum nsmc_digest {
    NSMC_DIGEST_SHA256 = 0,
    NSMC_DIGEST_SHA384 = 1,
    NSMC_DIGEST_SHA512 = 2,
};

/**
 * struct nsmc_opt - an optional byte string.
 * @p:   the bytes; NULL means None (null on the wire) whatever @len is
 * @len: bytes at @p; with @p non-NULL, 0 gives an empty byte string
 */
struct nsmc_opt {
    const uint8_t *p;
    size_t len;
};

/**
 * struct nsmc_req - one request.
 * @op:         the variant (not NSMC_OP_ERROR)
 * @index:      PCR index (DescribePCR, ExtendPCR, LockPCR) or range
 *              (LockPCRs)
 * @data:       ExtendPCR data (None is encoded as null, which a device
 *              rejects)
 * @user_data, @nonce, @public_key: Attestation fields
 */
struct nsmc_req {
    enum nsmc_op op;
    uint16_t index;
    struct nsmc_opt data;
    struct nsmc_opt user_data;
    struct nsmc_opt nonce;
    struct nsmc_opt public_key;
};

/** struct nsmc_bytes - a decoded byte field (points into a nsmc_resp). */
struct nsmc_bytes {
    const uint8_t *p;
    size_t len;
};

/**
 * struct nsmc_resp - a decoded response. Byte fields point into @raw or
 * @scratch of the same struct, so do not copy the struct by value.
 */
struct nsmc_resp {
    enum nsmc_op op;        /* the variant */
    enum nsmc_error error;  /* NSMC_OP_ERROR: the error code */
    bool lock;              /* DescribePCR: the PCR is locked */
    struct nsmc_bytes data; /* DescribePCR/ExtendPCR data, Attestation
                               document, GetRandom random */
    uint16_t version_major; /* DescribeNSM fields */
    uint16_t version_minor;
    uint16_t version_patch;
    struct nsmc_bytes module_id; /* text, not NUL-terminated */
    uint16_t max_pcrs;
    uint16_t locked_pcrs[NSMC_LOCKED_PCRS_MAX]; /* ascending, distinct */
    size_t n_locked_pcrs;                       /* entries in @locked_pcrs */
    bool locked_pcrs_truncated; /* more than NSMC_LOCKED_PCRS_MAX distinct
                                   values: only the smallest are kept */
    enum nsmc_digest digest;
    uint8_t raw[NSM_RESPONSE_MAX_SIZE];     /* the response bytes */
    size_t raw_len;                         /* bytes in @raw */
    uint8_t scratch[NSM_RESPONSE_MAX_SIZE]; /* reassembled byte fields */
    size_t scratch_used;                    /* bytes used in @scratch */
};

/**
 * enum nsmc_status - outcome of a client function (range 0..-99).
 * @NSMC_OK:            success (a response may still be an Error variant)
 * @NSMC_ERR_TOO_LARGE: the encoded request exceeds NSM_REQUEST_MAX_SIZE or
 *                      the transport said EMSGSIZE (InputTooLarge)
 * @NSMC_ERR_TRANSPORT: the transport failed (InternalError)
 * @NSMC_ERR_DECODE:    the response is not a valid NSM response
 *                      (InternalError)
 * @NSMC_ERR_ARG:       a bad argument (an unknown op)
 */
enum nsmc_status {
    NSMC_OK = 0,
    NSMC_ERR_TOO_LARGE = -1,
    NSMC_ERR_TRANSPORT = -2,
    NSMC_ERR_DECODE = -3,
    NSMC_ERR_ARG = -4,
};

/**
 * nsmc_fill_req() - encode @req as NSMAPI does into @buf (capacity @cap).
 * Return: NSMC_OK and *@len, NSMC_ERR_TOO_LARGE if it does not fit @cap or
 * NSM_REQUEST_MAX_SIZE, NSMC_ERR_ARG for a bad @req->op.
 */
TV_MUST_CHECK
int nsmc_fill_req(const struct nsmc_req *req, uint8_t *buf, size_t cap,
                  size_t *len);

/**
 * nsmc_parse_resp() - decode @len response bytes at @buf into @out. @buf
 * may be @out->raw; otherwise the bytes are first copied there (@len must
 * then be at most NSM_RESPONSE_MAX_SIZE). Byte fields of @out then point
 * into @out.
 * Return: NSMC_OK or NSMC_ERR_DECODE.
 */
TV_MUST_CHECK
int nsmc_parse_resp(const uint8_t *buf, size_t len, struct nsmc_resp *out);

/**
 * nsmc_call() - encode @req, send it through @t, decode the response.
 * @err: if not NULL, receives the transport's negative errno (0 otherwise)
 * Return: NSMC_OK (check @out->op for NSMC_OP_ERROR), or a negative
 * enum nsmc_status. Concurrency: as the transport allows; @out is the
 * caller's.
 */
TV_MUST_CHECK
int nsmc_call(const struct nsmc_transport *t, const struct nsmc_req *req,
              struct nsmc_resp *out, int *err);

/**
 * nsmc_call_raw() - send @req_len raw request bytes through @t and return
 * the raw response in @out->raw / @out->raw_len without decoding it.
 * Return: NSMC_OK, NSMC_ERR_TOO_LARGE (> NSM_REQUEST_MAX_SIZE or EMSGSIZE)
 * or NSMC_ERR_TRANSPORT (*@err set as for nsmc_call()).
 */
TV_MUST_CHECK
int nsmc_call_raw(const struct nsmc_transport *t, const uint8_t *req,
                  size_t req_len, struct nsmc_resp *out, int *err);

/**
 * nsmc_error_to_aws() - map a client outcome to AWS's ErrorCode as NSMAPI
 * does: @status NSMC_OK with an Error response gives its code, a response
 * of a variant other than @want gives NSMC_E_INVALID_RESPONSE, TOO_LARGE
 * gives INPUT_TOO_LARGE, transport and decode failures INTERNAL_ERROR.
 */
enum nsmc_error nsmc_error_to_aws(int status, const struct nsmc_resp *resp,
                                  enum nsmc_op want);

/** nsmc_error_name() - the wire name ("InvalidIndex"), or "Unknown". */
const char *nsmc_error_name(enum nsmc_error e);

/** nsmc_op_name() - the variant name ("DescribePCR"), or "Unknown". */
const char *nsmc_op_name(enum nsmc_op op);

/** nsmc_digest_name() - "SHA256", "SHA384", "SHA512" or "Unknown". */
const char *nsmc_digest_name(enum nsmc_digest d);

/** nsmc_strerror() - a static English description of an enum nsmc_status. */
const char *nsmc_strerror(int status);

/**
 * nsmc_ioctl_transport() - the /dev/nsm transport over the open file
 * descriptor @fd (NSM_IOCTL_RAW). The descriptor travels in @ctx itself, so
 * the result needs no storage. Concurrency: the kernel serialises requests.
 */
struct nsmc_transport nsmc_ioctl_transport(int fd);

#endif
