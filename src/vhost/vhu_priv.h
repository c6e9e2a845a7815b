/* SPDX-License-Identifier: MIT */
/*
 * Inside the vhost-user back-end library: what its three parts share.
 * vhu.c handles the messages (framing, dispatch, one handler per request),
 * vhu_mem.c the memory table (mapping, sealing, unmapping regions),
 * vhu_ring.c the rings (start/stop, kicks, the per-kick budget, pop/push
 * and the copy-in / copy-out calls for devices). Not for devices: they see
 * vhu.h.
 */
#ifndef TV_VHOST_VHU_PRIV_H
#define TV_VHOST_VHU_PRIV_H

#include <unistd.h>

#include "vhost/vhu.h"

/* Close *@fd if open and mark it closed. */
static inline void vhu_close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* ---- vhu_ring.c ---- */

/** vhu_ring_reset() - ring @vq as on a new connection: unconfigured, no fds. */
void vhu_ring_reset(struct vhu_queue *vq);

/** vhu_ring_report_broken() - log a broken ring once, signal its err fd. */
void vhu_ring_report_broken(struct vhu_dev *dev, unsigned q);

/**
 * vhu_ring_run() - let the device serve ring @q if it may run (started,
 * enabled, not broken), within VHU_QUEUE_BUDGET chains, then notify.
 */
void vhu_ring_run(struct vhu_dev *dev, unsigned q);

/** vhu_ring_set_started() - start (reading used->idx) or stop ring @q. */
void vhu_ring_set_started(struct vhu_dev *dev, unsigned q, bool started);

/** vhu_ring_kick_cb() - kick watch callback; @arg is the struct vhu_queue. */
void vhu_ring_kick_cb(void *arg, int fd);

/** vhu_ring_drop_kick() - stop watching and close the kick fd of ring @q. */
void vhu_ring_drop_kick(struct vhu_dev *dev, unsigned q);

/** vhu_ring_stop() - GET_VRING_BASE, RESET_DEVICE, disconnect: @q stops. */
void vhu_ring_stop(struct vhu_dev *dev, unsigned q);

/* ---- vhu_mem.c ---- */

/** vhu_mem_unmap() - unmap the mapping that holds @host, if any. */
void vhu_mem_unmap(struct vhu_dev *dev, const uint8_t *host);

/** vhu_mem_clear() - unmap every region and empty the memory map. */
void vhu_mem_clear(struct vhu_dev *dev);

/**
 * vhu_mem_add_region() - check, seal (see vhu_mem.c), map and add region
 * @mr backed by @fd, which is always closed. Return: 0 or a negative errno.
 */
int vhu_mem_add_region(struct vhu_dev *dev,
                       const struct vhost_user_mem_region *mr, int fd);

#endif
