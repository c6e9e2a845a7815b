/* SPDX-License-Identifier: MIT */
/*
 * Glue between the vhost-user library and the RPMB model (virtio ID 28, one
 * queue, no features, 3-byte read-only config; virtio-spec
 * device-types/rpmb/description.tex).
 *
 * Each chain is one request: ALL its device-readable buffers are gathered,
 * in order, into a private buffer (whatever the split over descriptors), the
 * model answers into a private buffer of min(writable bytes,
 * VHU_RPMB_BUF_SIZE), and the response frames are scattered over ALL the
 * device-writable buffers; the used length is the number of bytes written.
 * A request longer than VHU_RPMB_BUF_SIZE (256 frames) is given to the model
 * as an empty request, which it answers with one GENERAL_FAILURE frame.
 * The model commits every state change durably before it returns, so before
 * the used ring shows the response. The request buffer is wiped after
 * every request (PROGRAM_KEY carries the key).
 *
 * The config space (capacity, max_wr_cnt, max_rd_cnt) is served through
 * GET_CONFIG; SET_CONFIG is refused (read-only).
 */
#ifndef TV_DAEMON_VHU_RPMB_H
#define TV_DAEMON_VHU_RPMB_H

#include <stdint.h>

#include "common/caps.h"
#include "rpmb/rpmb.h"
#include "vhost/vhu.h"

#define VHU_RPMB_BUF_SIZE (RPMB_MAX_FRAMES * RPMB_FRAME_SIZE) /* bytes */
#define VHU_RPMB_LOG_MAX  8 /* over-long requests logged */

/**
 * struct vhu_rpmb - the glue state. The two buffers are 128 KiB each:
 * allocate the struct (calloc, so untouched pages cost no memory).
 */
struct vhu_rpmb {
    struct rpmb *rpmb;                /* the model, owned by main */
    struct rpmb_config cfg;           /* its configuration, for resets */
    const struct rpmb_store_ops *ops; /* its store, for resets */
    void *store_ctx;                  /* ditto */
    struct vring_elem elem;           /* chain being served */
    uint8_t req[VHU_RPMB_BUF_SIZE];   /* gathered request frames */
    uint8_t resp[VHU_RPMB_BUF_SIZE];  /* response frames */
    unsigned long n_requests;         /* chains served */
    unsigned long n_too_long;         /* over-long requests refused */
};

/** vhu_rpmb_ops - the device callbacks; vhu opaque = struct vhu_rpmb. */
extern const struct vhu_device_ops vhu_rpmb_ops;

/**
 * vhu_rpmb_init() - glue for model @rpmb, and initialise the model with
 * rpmb_init(@cfg, @ops, @store_ctx). Return: an enum rpmb_status.
 */
int vhu_rpmb_init(struct vhu_rpmb *vr, struct rpmb *rpmb,
                  const struct rpmb_config *cfg,
                  const struct rpmb_store_ops *ops, void *store_ctx)
    __attribute__((warn_unused_result));

/**
 * vhu_rpmb_power_cycle() - drop volatile state (a pending result) by
 * re-initialising the model from its store; key, counter and data persist.
 * Used on guest device reset and on disconnect. Return: enum rpmb_status.
 */
int vhu_rpmb_power_cycle(struct vhu_rpmb *vr)
    __attribute__((warn_unused_result));

#endif
