/* SPDX-License-Identifier: MIT */
#include "daemon/vhu_rpmb.h"

#include <errno.h>
#include <string.h>

#include "common/ct.h"
#include "common/log.h"

/* see vhu_rpmb.h */
int vhu_rpmb_init(struct vhu_rpmb *vr, struct rpmb *rpmb,
                  const struct rpmb_config *cfg,
                  const struct rpmb_store_ops *ops, void *store_ctx)
{
    vr->rpmb = rpmb;
    vr->cfg = *cfg;
    vr->ops = ops;
    vr->store_ctx = store_ctx;
    vr->n_requests = 0;
    vr->n_too_long = 0;
    return rpmb_init(rpmb, cfg, ops, store_ctx);
}

/* see vhu_rpmb.h */
int vhu_rpmb_power_cycle(struct vhu_rpmb *vr)
{
    return rpmb_init(vr->rpmb, &vr->cfg, vr->ops, vr->store_ctx);
}

/* Serve one chain; returns the used length. */
static uint32_t serve(struct vhu_dev *dev, struct vhu_rpmb *vr,
                      const struct vring_elem *e)
{
    size_t req_len = 0;
    size_t cap;
    size_t resp_len = 0;
    int rc;

    if (e->rd_len > VHU_RPMB_BUF_SIZE) {
        /* Too long for us: the model answers an empty request with one
         * GENERAL_FAILURE frame. Logged a few times only. */
        if (vr->n_too_long++ < VHU_RPMB_LOG_MAX) {
            tv_warn("RPMB request of %llu bytes exceeds %d; refused",
                    (unsigned long long)e->rd_len, VHU_RPMB_BUF_SIZE);
        }
    } else {
        req_len = vhu_queue_read(dev, e, vr->req, sizeof(vr->req));
    }
    cap = e->wr_len < VHU_RPMB_BUF_SIZE ? (size_t)e->wr_len : VHU_RPMB_BUF_SIZE;
    rc = rpmb_handle(vr->rpmb, vr->req, req_len, vr->resp, cap, &resp_len);
    /* A PROGRAM_KEY request carries the key in the clear: wipe every
     * request rather than decide which ones matter. */
    wipe(vr->req, req_len);
    vr->n_requests++;
    if (rc != RPMB_OK || resp_len > cap) {
        tv_err("RPMB model failed: %s", rpmb_strerror(rc));
        return 0;
    }
    /* Finished in private memory; copied out once, never read back. */
    return (uint32_t)vhu_queue_write(dev, e, vr->resp, resp_len);
}

static void rpmb_process(struct vhu_dev *dev, unsigned q)
{
    struct vhu_rpmb *vr = vhu_opaque(dev);
    struct vring_elem *e = &vr->elem;

    while (vhu_queue_pop(dev, q, e) == VRING_OK) {
        if (vhu_queue_push(dev, q, e->head, serve(dev, vr, e)) != VRING_OK) {
            return;
        }
    }
}

static int rpmb_get_config(struct vhu_dev *dev, uint32_t offset, uint8_t *buf,
                           uint32_t len)
{
    struct vhu_rpmb *vr = vhu_opaque(dev);
    uint8_t cfg[VIRTIO_RPMB_CFG_SIZE];

    /* The library checked offset + len against the config size. */
    if (offset > sizeof(cfg) || len > sizeof(cfg) - offset) {
        return -EINVAL;
    }
    rpmb_config_bytes(vr->rpmb, cfg);
    memcpy(buf, cfg + offset, len);
    return 0;
}

static void rpmb_reset_cb(struct vhu_dev *dev)
{
    struct vhu_rpmb *vr = vhu_opaque(dev);
    int rc = vhu_rpmb_power_cycle(vr);

    if (rc != RPMB_OK) {
        tv_err("RPMB reset failed: %s", rpmb_strerror(rc));
    }
}

/* see vhu_rpmb.h */
const struct vhu_device_ops vhu_rpmb_ops = {
    .features = 0,
    .get_config = rpmb_get_config,
    .process = rpmb_process,
    .reset = rpmb_reset_cb,
};
