/* SPDX-License-Identifier: MIT */
#include "daemon/vhu_nsm.h"

#include <string.h>

#include "common/log.h"

/* see vhu_nsm.h */
void vhu_nsm_init(struct vhu_nsm *vn, struct nsm *nsm)
{
    vn->nsm = nsm;
    vn->pending = false;
    vn->pending_head = 0;
    vn->req_len = 0;
    vn->n_requests = 0;
    vn->n_shape_errors = 0;
    vn->n_model_errors = 0;
}

/* Log a guest shape error, but only the first few. */
static void shape_error(struct vhu_nsm *vn, const char *what)
{
    vn->n_shape_errors++;
    if (vn->n_shape_errors <= VHU_NSM_LOG_SHAPE_MAX) {
        tv_warn("NSM %s; returned empty%s", what,
                vn->n_shape_errors == VHU_NSM_LOG_SHAPE_MAX
                    ? " (further shape errors not logged)"
                    : "");
    }
}

/* see vhu_nsm.h */
int vhu_nsm_power_cycle(struct vhu_nsm *vn)
{
    vn->n_shape_errors = 0;
    vn->n_model_errors = 0;
    vn->pending = false;
    vn->req_len = 0;
    return nsm_reset(vn->nsm);
}

/* Copy-in: the readable part of @e into the private request buffer. */
static void take_request(struct vhu_dev *dev, struct vhu_nsm *vn,
                         const struct vring_elem *e)
{
    /* One byte over the cap is enough for the model to say InputTooLarge. */
    vn->req_len = vhu_queue_read(dev, e, vn->req, sizeof(vn->req));
}

/*
 * Run the model on the private request into the private response buffer,
 * then copy the finished response out over the writable part of @e. The
 * model encodes, hashes and signs the attestation document, and reads back
 * the PCR value it reports, in @vn->resp only: guest memory is written once,
 * as the last step, and never read. Return: the used length.
 */
static uint32_t serve(struct vhu_dev *dev, struct vhu_nsm *vn,
                      const struct vring_elem *e)
{
    size_t cap = e->wr_len < NSM_RESPONSE_MAX_SIZE ? (size_t)e->wr_len
                                                   : NSM_RESPONSE_MAX_SIZE;
    size_t resp_len = 0;
    int rc;

    rc = nsm_handle(vn->nsm, vn->req, vn->req_len, vn->resp, cap, &resp_len);
    vn->n_requests++;
    if (rc == NSM_ERR_RESP_SIZE || resp_len > cap) {
        shape_error(vn, "response space too small even for an error");
        return 0;
    }
    if (rc != NSM_OK && vn->n_model_errors++ < VHU_NSM_LOG_SHAPE_MAX) {
        /* NSM_ERR_INTERNAL still carries an InternalError response. */
        tv_warn("NSM request failed inside the model: %s", nsm_strerror(rc));
    }
    return (uint32_t)vhu_queue_write(dev, e, vn->resp, resp_len);
}

/* Push or give up quietly: a push failure has broken the queue (logged). */
static bool push(struct vhu_dev *dev, uint16_t head, uint32_t len)
{
    return vhu_queue_push(dev, 0, head, len) == VRING_OK;
}

/* Drop a pending request whose response chain never came. */
static bool drop_pending(struct vhu_dev *dev, struct vhu_nsm *vn)
{
    if (!vn->pending) {
        return true;
    }
    vn->pending = false;
    shape_error(vn, "request chain not followed by a response chain");
    return push(dev, vn->pending_head, 0);
}

static void nsm_process(struct vhu_dev *dev, unsigned q)
{
    struct vhu_nsm *vn = vhu_opaque(dev);
    struct vring_elem *e = &vn->elem;

    if (q != 0) {
        return;
    }
    while (vhu_queue_pop(dev, 0, e) == VRING_OK) {
        if (e->n_rd > 0 && e->n_wr > 0) {
            /* Request and response space in one chain. */
            if (!drop_pending(dev, vn)) {
                return;
            }
            take_request(dev, vn, e);
            if (!push(dev, e->head, serve(dev, vn, e))) {
                return;
            }
        } else if (e->n_rd > 0) {
            /* First chain of the Linux driver's pair. */
            if (!drop_pending(dev, vn)) {
                return;
            }
            take_request(dev, vn, e);
            vn->pending = true;
            vn->pending_head = e->head;
        } else if (e->n_wr > 0 && vn->pending) {
            uint32_t len = serve(dev, vn, e);

            /* The driver insists on the request chain coming back first. */
            vn->pending = false;
            if (!push(dev, vn->pending_head, 0) || !push(dev, e->head, len)) {
                return;
            }
        } else {
            shape_error(vn, e->n_wr > 0 ? "response chain without a request"
                                        : "chain without buffers");
            if (!push(dev, e->head, 0)) {
                return;
            }
        }
    }
}

static void nsm_queue_started(struct vhu_dev *dev, unsigned q, bool started)
{
    struct vhu_nsm *vn = vhu_opaque(dev);

    if (!started && vn->pending) {
        /* Serve it again, whole, when the ring restarts. */
        vhu_queue_unpop(dev, q);
        vn->pending = false;
    }
}

static void nsm_reset_cb(struct vhu_dev *dev)
{
    struct vhu_nsm *vn = vhu_opaque(dev);
    int rc = vhu_nsm_power_cycle(vn);

    if (rc != NSM_OK) {
        tv_err("NSM reset failed: %s", nsm_strerror(rc));
    }
}

/* see vhu_nsm.h */
const struct vhu_device_ops vhu_nsm_ops = {
    .features = 0,
    .queue_started = nsm_queue_started,
    .process = nsm_process,
    .reset = nsm_reset_cb,
};
