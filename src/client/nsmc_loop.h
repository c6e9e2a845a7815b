/* SPDX-License-Identifier: MIT */
/*
 * In-process loopback transport: requests go straight to a device model
 * (nsm_handle) in the same process. For tests and development only: the
 * platform is a real clock, OpenSSL's DRBG and a fresh P-384 key with
 * placeholder certificate bytes, so documents are signed but do not chain
 * to any root.
 */
#ifndef TV_CLIENT_NSMC_LOOP_H
#define TV_CLIENT_NSMC_LOOP_H

#include "client/nsmc.h"
#include "nsm/nsm.h"

/**
 * struct nsmc_loop - a model and its test platform.
 * @nsm:        the device model
 * @key:        the signing key (owned)
 * @signer:     what get_signer hands out
 * @fail_calls: while non-zero, each call fails with -EIO and decrements it
 * @n_calls:    requests that reached the transport
 * @last_req:   the last request's bytes, as the device saw them
 * @last_req_len: their length
 * @override:   when @override_len > 0, the next response is replaced by
 *              these bytes (a scripted device), then cleared
 * @override_len: bytes in @override
 * @resp_buf:   the model's full response before truncation
 */
struct nsmc_loop {
    struct nsm nsm;
    struct crypto_key *key;
    struct nsm_signer signer;
    unsigned fail_calls;
    unsigned n_calls;
    uint8_t last_req[NSM_REQUEST_MAX_SIZE + 16];
    size_t last_req_len;
    uint8_t override[NSM_RESPONSE_MAX_SIZE];
    size_t override_len;
    uint8_t resp_buf[NSM_RESPONSE_MAX_SIZE];
};

/**
 * nsmc_loop_init() - boot a model with module id @module_id (NULL: a
 * default id) and a fresh signing key.
 * Return: 0, or -1 (key generation or model init failed). Allocates the
 * key through OpenSSL; release with nsmc_loop_fini().
 */
TV_MUST_CHECK
int nsmc_loop_init(struct nsmc_loop *l, const char *module_id);

/** nsmc_loop_fini() - free the key. */
void nsmc_loop_fini(struct nsmc_loop *l);

/**
 * nsmc_loop_transport() - the transport over @l (which must outlive it).
 * Requests over NSM_REQUEST_MAX_SIZE fail with -EMSGSIZE as the kernel's.
 */
struct nsmc_transport nsmc_loop_transport(struct nsmc_loop *l);

#endif
