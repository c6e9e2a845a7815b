/* SPDX-License-Identifier: MIT */
/* The vhost-user transport of the NSM client; see nsmc_vhu.h. */
#include "client/nsmc_vhu.h"

#include <errno.h>

/*
 * The size check comes first so that an oversized request gives EMSGSIZE,
 * as the kernel's fill_req_raw() does, rather than the frontend's EINVAL.
 */
static int vhu_call(void *ctx, const uint8_t *req, size_t req_len,
                    uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    if (req_len > NSM_REQUEST_MAX_SIZE) {
        return -EMSGSIZE;
    }
    return vhu_fe_nsm_call(ctx, req, req_len, resp, resp_cap, resp_len);
}

static const struct nsmc_transport_ops vhu_ops = {
    .call = vhu_call,
};

/* see nsmc_vhu.h */
struct nsmc_transport nsmc_vhu_transport(struct vhu_fe *fe)
{
    struct nsmc_transport t = {&vhu_ops, fe};
    return t;
}
