/* SPDX-License-Identifier: MIT */
/* In-process loopback transport to the NSM model; see nsmc_loop.h. */
#include "client/nsmc_loop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "crypto/crypto.h"

/* Placeholder DER: the model embeds certificates without parsing them. */
static const uint8_t loop_cert[] = {0x30, 0x03, 0x02, 0x01, 0x01};
static const uint8_t loop_root[] = {0x30, 0x03, 0x02, 0x01, 0x00};

static uint64_t loop_now_ms(void *ctx)
{
    (void)ctx;
    return tv_wall_ms();
}

static int loop_random(void *ctx, void *out, size_t len)
{
    (void)ctx;
    return crypto_random(out, len);
}

static int loop_get_signer(void *ctx, uint64_t now_ms,
                           const struct nsm_signer **signer)
{
    struct nsmc_loop *l = ctx;

    (void)now_ms;
    *signer = &l->signer;
    return 0;
}

static const struct nsm_platform_ops loop_ops = {
    .now_ms = loop_now_ms,
    .random = loop_random,
    .get_signer = loop_get_signer,
};

/* see nsmc_loop.h */
int nsmc_loop_init(struct nsmc_loop *l, const char *module_id)
{
    struct nsm_boot boot;

    memset(l, 0, sizeof(*l));
    memset(&boot, 0, sizeof(boot));
    snprintf(boot.module_id, sizeof(boot.module_id), "%s",
             module_id != NULL ? module_id
                               : "i-0123456789abcdef0-enc0123456789abcdef");
    snprintf(boot.parent_id, sizeof(boot.parent_id), "i-0123456789abcdef0");
    l->key = crypto_key_generate_p384();
    if (l->key == NULL) {
        return -1;
    }
    l->signer.key = l->key;
    l->signer.cert = loop_cert;
    l->signer.cert_len = sizeof(loop_cert);
    l->signer.cabundle[0] = loop_root;
    l->signer.cabundle_len[0] = sizeof(loop_root);
    l->signer.n_cabundle = 1;
    if (nsm_init(&l->nsm, &boot, &loop_ops, l) != NSM_OK) {
        goto err_free_key;
    }
    return 0;

err_free_key:
    crypto_key_free(l->key);
    l->key = NULL;
    return -1;
}

/* see nsmc_loop.h */
void nsmc_loop_fini(struct nsmc_loop *l)
{
    crypto_key_free(l->key);
    l->key = NULL;
}

/*
 * Behaves as the kernel driver in front of a device: EMSGSIZE before
 * anything reaches the device, the response truncated to @resp_cap.
 */
static int loop_call(void *ctx, const uint8_t *req, size_t req_len,
                     uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct nsmc_loop *l = ctx;
    uint8_t *full = l->resp_buf;
    size_t full_len = 0;

    if (l->fail_calls > 0) {
        l->fail_calls--;
        return -EIO;
    }
    if (req_len > NSM_REQUEST_MAX_SIZE) {
        return -EMSGSIZE;
    }
    l->n_calls++;
    memcpy(l->last_req, req, req_len);
    l->last_req_len = req_len;
    if (l->override_len > 0) {
        full_len = l->override_len;
        memcpy(full, l->override, full_len);
        l->override_len = 0;
    } else if (nsm_handle(&l->nsm, req, req_len, full, sizeof(l->resp_buf),
                          &full_len) != NSM_OK) {
        return -EIO;
    }
    if (full_len > resp_cap) {
        full_len = resp_cap;
    }
    memcpy(resp, full, full_len);
    *resp_len = full_len;
    return 0;
}

static const struct nsmc_transport_ops loop_transport_ops = {
    .call = loop_call,
};

/* see nsmc_loop.h */
struct nsmc_transport nsmc_loop_transport(struct nsmc_loop *l)
{
    struct nsmc_transport t = {&loop_transport_ops, l};
    return t;
}
