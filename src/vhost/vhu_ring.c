/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end library, rings: start and stop, kicks, the per-kick
 * budget, and the calls devices use on their queues (pop, copy-in,
 * copy-out, push, notify). See vhu.h.
 */
#include "vhost/vhu_priv.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"

/* see vhu_priv.h */
void vhu_ring_reset(struct vhu_queue *vq)
{
    vring_init(&vq->vr);
    vq->kick_fd = -1;
    vq->call_fd = -1;
    vq->err_fd = -1;
    vq->kick_polled = false;
    vq->started = false;
    vq->enabled = false;
    vq->error_logged = false;
    vq->n_pushed = 0;
    vq->in_process = false;
    vq->budget = 0;
    vq->budget_hit = false;
}

/* Log a broken ring once and tell the front-end through the err fd. */
void vhu_ring_report_broken(struct vhu_dev *dev, unsigned q)
{
    struct vhu_queue *vq = &dev->q[q];
    uint64_t one = 1;

    if (vq->error_logged) {
        return;
    }
    vq->error_logged = true;
    tv_err("virtqueue %u broken: %s; no further requests served on it", q,
           vring_strerror(vq->vr.error));
    if (vq->err_fd >= 0 && write(vq->err_fd, &one, sizeof(one)) < 0) {
        tv_warn("virtqueue %u: cannot signal the error fd: %s", q,
                strerror(errno));
    }
}

/* see vhu.h */
int vhu_queue_pop(struct vhu_dev *dev, unsigned q, struct vring_elem *elem)
{
    int rc;

    if (q >= dev->cfg.n_queues) {
        return VRING_ERR_NOT_READY;
    }
    if (dev->q[q].in_process) {
        if (dev->q[q].budget == 0) {
            /* Nothing is read: the ring is looked at again when re-armed. */
            dev->q[q].budget_hit = true;
            return VRING_EMPTY;
        }
        dev->q[q].budget--;
    }
    rc = vring_pop(&dev->q[q].vr, &dev->gm, elem);
    if (rc < 0) {
        vhu_ring_report_broken(dev, q);
    }
    return rc;
}

/* see vhu.h */
size_t vhu_queue_read(const struct vhu_dev *dev, const struct vring_elem *elem,
                      uint8_t *dst, size_t cap)
{
    return vring_elem_read(elem, &dev->gm, dst, cap);
}

/* see vhu.h */
size_t vhu_queue_write(const struct vhu_dev *dev, const struct vring_elem *elem,
                       const uint8_t *src, size_t len)
{
    return vring_elem_write(elem, &dev->gm, src, len);
}

/* see vhu.h */
void vhu_queue_unpop(struct vhu_dev *dev, unsigned q)
{
    if (q < dev->cfg.n_queues) {
        vring_unpop(&dev->q[q].vr);
    }
}

/* see vhu.h */
int vhu_queue_push(struct vhu_dev *dev, unsigned q, uint16_t head, uint32_t len)
{
    int rc;

    if (q >= dev->cfg.n_queues) {
        return VRING_ERR_NOT_READY;
    }
    rc = vring_push(&dev->q[q].vr, &dev->gm, head, len);
    if (rc < 0) {
        vhu_ring_report_broken(dev, q);
        return rc;
    }
    dev->q[q].n_pushed++;
    return rc;
}

/* see vhu.h */
void vhu_queue_notify(struct vhu_dev *dev, unsigned q)
{
    struct vhu_queue *vq;
    uint64_t one = 1;

    if (q >= dev->cfg.n_queues) {
        return;
    }
    vq = &dev->q[q];
    if (vq->n_pushed == 0) {
        return;
    }
    vq->n_pushed = 0;
    if (!vring_need_notify(&vq->vr, &dev->gm) || vq->call_fd < 0) {
        return;
    }
    /* EAGAIN means the counter is saturated: the driver will wake anyway. */
    if (write(vq->call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        tv_warn("virtqueue %u: cannot signal the call fd: %s", q,
                strerror(errno));
    }
}

/* see vhu.h */
bool vhu_queue_broken(const struct vhu_dev *dev, unsigned q)
{
    return q < dev->cfg.n_queues && dev->q[q].vr.broken;
}

/* Let the device serve ring @q if it may run. */
void vhu_ring_run(struct vhu_dev *dev, unsigned q)
{
    struct vhu_queue *vq = &dev->q[q];

    if (!vq->started || !vq->enabled || vq->vr.broken ||
        dev->cfg.ops->process == NULL) {
        return;
    }
    vq->budget = VHU_QUEUE_BUDGET;
    vq->budget_hit = false;
    vq->in_process = true;
    dev->cfg.ops->process(dev, q);
    vq->in_process = false;
    vhu_queue_notify(dev, q);
    if (vq->budget_hit && vq->kick_fd >= 0) {
        uint64_t one = 1;

        /*
         * More may be waiting: yield to the loop, and come back through our
         * own kick eventfd, which stays readable. EAGAIN means a kick is
         * pending anyway. A polled ring ("no fd") is served again after the
         * next message.
         */
        if (write(vq->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
            tv_warn("virtqueue %u: cannot re-arm the kick fd: %s", q,
                    strerror(errno));
        }
    }
}

/* see vhu_priv.h */
void vhu_ring_set_started(struct vhu_dev *dev, unsigned q, bool started)
{
    struct vhu_queue *vq = &dev->q[q];

    if (vq->started == started) {
        return;
    }
    vq->started = started;
    if (started) {
        int rc = vring_start(&vq->vr, &dev->gm);

        if (rc > 0) {
            tv_info("virtqueue %u: %d chain(s) made available before the "
                    "restart were never completed; serving them again",
                    q, rc);
        } else if (rc < 0 && rc != VRING_ERR_NOT_READY) {
            vhu_ring_report_broken(dev, q);
        }
    }
    if (dev->cfg.ops->queue_started != NULL) {
        dev->cfg.ops->queue_started(dev, q, started);
    }
}

/* Kick watch: drain the eventfd, start the ring on its first kick, serve. */
static void vhu_ring_kicked(struct vhu_dev *dev, unsigned q)
{
    struct vhu_queue *vq = &dev->q[q];
    uint64_t cnt;
    ssize_t n = read(vq->kick_fd, &cnt, sizeof(cnt));

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        /* Not an eventfd after all (EOF forever): stop watching it rather
         * than spin. */
        tv_warn("virtqueue %u: kick fd unusable (%s); kicks ignored", q,
                n == 0 ? "end of file" : strerror(errno));
        vhu_ring_drop_kick(dev, q);
        return;
    }
    vhu_ring_set_started(dev, q, true);
    vhu_ring_run(dev, q);
}

/* Kick watch trampoline: @arg is the struct vhu_queue. */
void vhu_ring_kick_cb(void *arg, int fd)
{
    struct vhu_queue *vq = arg;

    (void)fd;
    vhu_ring_kicked(vq->dev, vq->index);
}

/* see vhu_priv.h */
void vhu_ring_drop_kick(struct vhu_dev *dev, unsigned q)
{
    struct vhu_queue *vq = &dev->q[q];

    if (vq->kick_fd >= 0) {
        dev->cfg.loop->remove_watch(dev->cfg.loop_ctx, vq->kick_fd);
        vhu_close_fd(&vq->kick_fd);
    }
    vq->kick_polled = false;
}

/* GET_VRING_BASE, RESET_DEVICE, disconnect: the ring stops. */
void vhu_ring_stop(struct vhu_dev *dev, unsigned q)
{
    vhu_ring_drop_kick(dev, q);
    vhu_ring_set_started(dev, q, false);
}
