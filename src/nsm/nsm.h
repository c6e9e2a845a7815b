/* SPDX-License-Identifier: MIT */
/*
 * The NitroSecureModule device model (virtio ID 33), sans I/O.
 *
 * nsm_handle() takes one CBOR request and produces one CBOR response, with
 * exactly the encodings real NSM and its clients use. Device-level failures
 * ({"Error": name}) are successful returns carrying an error response; only
 * internal failures (a platform callback failing, a response that cannot fit)
 * return an error code. The model never allocates, never does I/O and holds
 * no interior pointers: struct nsm may be copied with memcpy.
 *
 * Concurrency: one struct nsm is used by one thread at a time.
 *
 * Request parsing (the guest is untrusted; every rule below gives an
 * {"Error": "InvalidOperation"} response unless stated otherwise), modelled on
 * serde_cbor's decoder as NSMAPI uses it:
 *  - A request over NSM_REQUEST_MAX_SIZE bytes gives InputTooLarge.
 *  - The outer item is a text string naming a unit variant ("DescribeNSM",
 *    "GetRandom"; definite or indefinite), or a map with exactly one pair
 *    (definite or indefinite) whose key is the variant name. A unit variant
 *    in map form takes null as its value ({"GetRandom": null}). Nothing may
 *    follow the outer item.
 *  - A struct variant's value is a map (definite or indefinite). Keys are
 *    text or byte strings naming fields; unknown keys are skipped together
 *    with their values (which must still be well-formed CBOR). A uint key
 *    selects a field by declaration index, as serde does. Any other key type
 *    is InvalidOperation. Values nested deeper than CBOR_MAX_DEPTH (16) are
 *    refused rather than skipped.
 *  - Duplicate keys: a field given twice is InvalidOperation (serde's
 *    duplicate_field), so a request never has two meanings. Duplicated
 *    unknown keys are ignored.
 *  - index/range: a uint <= 65535, else InvalidOperation; >= 32 (> 32 for
 *    LockPCRs' range) gives InvalidIndex.
 *  - ExtendPCR data and Attestation user_data/nonce/public_key: byte or text
 *    string (definite or indefinite), or an array of uints <= 255 (serde_bytes
 *    accepts sequences); Attestation fields may be null (absent). Data that
 *    came as text is used as its bytes and re-emitted as a byte string.
 *  - Semantic checks (InvalidIndex, ReadOnlyIndex) run only after the whole
 *    request parsed.
 *
 * Responses never exceed NSM_RESPONSE_MAX_SIZE. When a success response does
 * not fit the caller's @resp_cap (only possible with resp_cap below
 * NSM_RESPONSE_MAX_SIZE), nothing changes state and the response is
 * {"Error": "InternalError"}; when not even that fits, nsm_handle() returns
 * NSM_ERR_RESP_SIZE.
 */
#ifndef TV_NSM_NSM_H
#define TV_NSM_NSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/caps.h"

struct crypto_key;

#define NSM_MODULE_ID_MAX 128  /* bytes, without NUL */
#define NSM_CABUNDLE_MAX  8    /* certificates in the cabundle */
#define NSM_CERT_MAX      1024 /* DER bytes per certificate */

/* DescribeNSM's version triple and digest, as real NSM reports them. */
#define NSM_VERSION_MAJOR  1
#define NSM_VERSION_MINOR  0
#define NSM_VERSION_PATCH  0
#define NSM_BOOT_PCR_COUNT 16 /* PCRs 0..15: set at boot, then locked */

/**
 * struct nsm_signer - what an attestation document is signed with.
 * @key:         the leaf's P-384 private key
 * @cert:        leaf certificate, DER
 * @cabundle:    CA certificates, DER, root first, leaf issuer last
 * All pointers stay owned by the platform and valid until the next
 * get_signer call.
 */
struct nsm_signer {
    const struct crypto_key *key;
    const uint8_t *cert;
    size_t cert_len;
    const uint8_t *cabundle[NSM_CABUNDLE_MAX];
    size_t cabundle_len[NSM_CABUNDLE_MAX];
    size_t n_cabundle;
};

/**
 * struct nsm_platform_ops - everything outside the model.
 * @now_ms:     wall clock, milliseconds since the Unix epoch (UTC)
 * @random:     fill @len bytes with DRBG output; 0 or -1
 * @get_signer: the signer valid at @now_ms (the platform renews the leaf
 *              certificate before it expires); 0 or -1
 * Every callback receives the @ctx given to nsm_init().
 */
struct nsm_platform_ops {
    uint64_t (*now_ms)(void *ctx);
    int (*random)(void *ctx, void *out, size_t len);
    int (*get_signer)(void *ctx, uint64_t now_ms,
                      const struct nsm_signer **signer);
};

/**
 * struct nsm_boot - the boot state an embedder (VMM/daemon) chooses.
 * @module_id:       NUL-terminated module id, e.g.
 *                   "i-0123456789abcdef0-enc0123456789abcdef"
 * @debug_mode:      PCR0, 1, 2 and 8 read as zero whatever else is given
 * @pcr_set:         bit i set: @pcr[i] holds an explicit value for PCR i
 *                   (0..15) that is used as is
 * @pcr:             explicit boot PCR values
 * @parent_role_arn: NUL-terminated IAM role ARN or "" ; PCR3 becomes
 *                   SHA384(0^48 || arn) unless bit 3 of @pcr_set is set
 * @parent_id:       NUL-terminated parent instance id or ""; PCR4 becomes
 *                   SHA384(0^48 || id) unless bit 4 of @pcr_set is set
 * After applying these, PCRs 0..15 are locked.
 */
struct nsm_boot {
    char module_id[NSM_MODULE_ID_MAX + 1];
    bool debug_mode;
    uint16_t pcr_set;
    uint8_t pcr[16][NSM_PCR_SIZE];
    char parent_role_arn[256];
    char parent_id[64];
};

/** struct nsm - device state. Fields are private to nsm.c. */
struct nsm {
    struct nsm_boot boot;                     /* configuration, for reset */
    uint8_t pcr[NSM_PCR_COUNT][NSM_PCR_SIZE]; /* PCR bank */
    uint32_t locked;                          /* bit i: PCR i locked */
    const struct nsm_platform_ops *ops;       /* platform callbacks */
    void *ops_ctx;                            /* their context */
};

enum nsm_status {
    NSM_OK = 0,
    NSM_ERR_INTERNAL = -1,  /* a platform callback or the crypto failed */
    NSM_ERR_RESP_SIZE = -2, /* response capacity too small for any answer */
    NSM_ERR_CONFIG = -3,    /* bad boot configuration */
};

/**
 * nsm_init() - power on: zero the bank, apply @boot, lock PCRs 0..15.
 * @nsm:     caller-allocated state (about 4 KiB); fully overwritten
 * @boot:    copied into @nsm; its strings must be NUL-terminated within their
 *           arrays and module_id must be non-empty
 * @ops:     all three callbacks set; @ops and @ops_ctx must outlive @nsm
 * Does not call @ops. Return: NSM_OK, NSM_ERR_CONFIG for a bad @boot or
 * @ops, NSM_ERR_INTERNAL if SHA-384 is unavailable.
 */
int nsm_init(struct nsm *nsm, const struct nsm_boot *boot,
             const struct nsm_platform_ops *ops, void *ops_ctx)
    __attribute__((warn_unused_result));

/**
 * nsm_reset() - power cycle with the boot state given to nsm_init(): PCRs
 * 16..31 return to zero and unlocked. Return: NSM_OK or NSM_ERR_INTERNAL.
 */
int nsm_reset(struct nsm *nsm) __attribute__((warn_unused_result));

/**
 * nsm_handle() - serve one request.
 * @req, @req_len:  the request bytes (untrusted; > NSM_REQUEST_MAX_SIZE gives
 *                  an InputTooLarge error response)
 * @resp, @resp_cap: output buffer (NSM_RESPONSE_MAX_SIZE always suffices)
 * @resp_len:       bytes written to @resp
 * Both buffers must be private to the caller, never memory a guest can
 * write: the request is parsed where it lies and the attestation document is
 * signed in @resp (copy in before, copy out after).
 * Return: NSM_OK with a response (which may be {"Error": ...}), or a
 * negative enum nsm_status. On NSM_ERR_INTERNAL (a platform callback or the
 * crypto failed; state unchanged) @resp and *@resp_len still hold an
 * {"Error": "InternalError"} response that a transport may forward. Never
 * allocates outside OpenSSL; uses about 5 KiB of stack.
 */
int nsm_handle(struct nsm *nsm, const uint8_t *req, size_t req_len,
               uint8_t *resp, size_t resp_cap, size_t *resp_len)
    __attribute__((warn_unused_result));

/**
 * nsm_strerror() - a static English description of an enum nsm_status.
 */
const char *nsm_strerror(int status);

#endif
