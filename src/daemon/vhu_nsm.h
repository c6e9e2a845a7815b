/* SPDX-License-Identifier: MIT */
/*
 * Glue between the vhost-user library and the NSM model (virtio ID 33, one
 * queue, no features, no config; Linux drivers/misc/nsm.c).
 *
 * Chain shapes served:
 *  - two chains, as the Linux driver adds them: a chain of only
 *    device-readable buffers (the request), then a chain of only
 *    device-writable buffers (the response space). The request chain is
 *    returned first with used length 0, then the response chain with the
 *    number of response bytes;
 *  - one chain carrying both: readable buffers, then writable ones; used
 *    length = response bytes.
 * Shape errors are answered, never fatal: a request chain followed by
 * anything but a response-only chain is returned with length 0 (dropped)
 * and the new chain is served on its own; a response-only chain with no
 * request before it, or an empty chain, is returned with length 0.
 *
 * The request (at most NSM_REQUEST_MAX_SIZE bytes; longer ones are cut at
 * NSM_REQUEST_MAX_SIZE + 1 so the model answers InputTooLarge) is copied
 * into a private buffer before the model sees it. The response is built,
 * signed and finished in a private buffer and copied over the writable
 * buffers as the last step; nothing written to guest memory is read back,
 * so a guest rewriting its buffers mid-request changes nothing the device
 * computes, signs or stores (read once, write once: docs/architecture.md).
 *
 * Response-space policy: the model gets min(writable bytes,
 * NSM_RESPONSE_MAX_SIZE) as its capacity. A response that does not fit
 * becomes {"Error": "InternalError"} with no state change (the model's
 * rule); when not even that fits (under about 20 bytes of space), the
 * response chain is returned with used length 0. No truncated CBOR is ever
 * reported.
 *
 * Shape errors and model failures are logged for the first
 * VHU_NSM_LOG_SHAPE_MAX occurrences per power cycle only, so a guest cannot
 * flood the log.
 *
 * If the ring stops between the two chains of a request, the request chain
 * is handed back to the ring (vring_unpop) and served after the restart.
 * No allocation per request.
 */
#ifndef TV_DAEMON_VHU_NSM_H
#define TV_DAEMON_VHU_NSM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/caps.h"
#include "nsm/nsm.h"
#include "vhost/vhu.h"

#define VIRTIO_ID_NSM         33
#define VHU_NSM_LOG_SHAPE_MAX 8 /* shape errors logged per power cycle */

/** struct vhu_nsm - the glue state (about 33 KiB; allocate, don't stack). */
struct vhu_nsm {
    struct nsm *nsm;                       /* the model, owned by main */
    bool pending;                          /* request chain awaits reply */
    uint16_t pending_head;                 /* its head index */
    size_t req_len;                        /* its bytes in @req */
    uint8_t req[NSM_REQUEST_MAX_SIZE + 1]; /* private request copy */
    uint8_t resp[NSM_RESPONSE_MAX_SIZE];   /* private response */
    struct vring_elem elem;                /* chain being served */
    unsigned long n_requests;              /* served, for logs/tests */
    unsigned long n_shape_errors;          /* misshapen chains seen */
    unsigned long n_model_errors;          /* internal model failures */
};

/** vhu_nsm_ops - the device callbacks; vhu opaque = struct vhu_nsm. */
extern const struct vhu_device_ops vhu_nsm_ops;

/** vhu_nsm_init() - glue for model @nsm (initialised by the caller). */
void vhu_nsm_init(struct vhu_nsm *vn, struct nsm *nsm);

/**
 * vhu_nsm_power_cycle() - forget any half-received request and reset the
 * model (nsm_reset()). Return: 0 or a negative enum nsm_status.
 */
int vhu_nsm_power_cycle(struct vhu_nsm *vn);

#endif
