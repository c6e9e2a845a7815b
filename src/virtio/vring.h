/* SPDX-License-Identifier: MIT */
/*
 * Device side of a split virtqueue (virtio 1.2, 2.7) over a guest memory map.
 *
 * The guest is untrusted. Every ring and buffer address is translated through
 * struct gmem on every use (so a region removed while the ring runs can never
 * be touched afterwards), every descriptor is copied out of guest memory once
 * before it is looked at, and every violation of the split-ring rules makes
 * the queue "broken": the first error is kept, nothing more is read or
 * written, and the caller is expected to log once and signal the error fd.
 *
 * Rules enforced by vring_pop():
 *  - the avail index may run ahead of ours by at most the queue size;
 *  - head and next indices are inside their descriptor table;
 *  - a chain holds at most queue-size buffer descriptors, direct and indirect
 *    together (the INDIRECT pointer itself is not counted), which also
 *    bounds any loop;
 *  - device-readable buffers come before device-writable ones;
 *  - every buffer of non-zero length lies inside one guest memory region
 *    (see gmem.h); zero-length buffers are skipped without any access;
 *  - INDIRECT needs the negotiated feature, a table of whole descriptors
 *    (len a non-zero multiple of 16, at most queue-size entries) inside guest
 *    memory, no NEXT flag on the pointer and no INDIRECT inside the table;
 *  - at most VRING_ELEM_MAX_IOV non-empty buffers per chain (a device limit).
 *
 * Guest memory is read once and written once, and only in here: a chain
 * comes out of vring_pop() as guest-physical ranges, never as pointers, and
 * the device reaches its bytes only through vring_elem_read() (copy the
 * request into private memory) and vring_elem_write() (copy a finished
 * response out, as the last step). Nothing outside src/virtio holds an
 * address inside guest memory, so no device can parse, hash, sign or read
 * back bytes a guest may be rewriting at the same time.
 *
 * No allocation, no I/O. One thread at a time per struct vring.
 */
#ifndef TV_VIRTIO_VRING_H
#define TV_VIRTIO_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/caps.h"
#include "virtio/gmem.h"
#include "virtio/virtio_ring.h"

#define VRING_MAX_NUM      VHOST_MAX_QUEUE_SIZE /* largest queue size */
#define VRING_ELEM_MAX_IOV 1024 /* non-empty buffers per chain */

enum vring_status {
    VRING_OK = 0,
    VRING_EMPTY = 1,          /* vring_pop(): no chain available */
    VRING_ERR_BROKEN = -1,    /* queue already broken earlier */
    VRING_ERR_NOT_READY = -2, /* size or addresses not configured */
    VRING_ERR_RING_ADDR = -3, /* ring parts not in guest memory/aligned */
    VRING_ERR_AVAIL_IDX = -4, /* avail idx ran ahead by > queue size */
    VRING_ERR_HEAD = -5,      /* head index >= queue size */
    VRING_ERR_NEXT = -6,      /* next index outside its table */
    VRING_ERR_DESC_ADDR = -7, /* buffer outside guest memory or wraps */
    VRING_ERR_CHAIN_LEN = -8, /* more descriptors than queue size (loop) */
    VRING_ERR_DIRECTION = -9, /* readable buffer after a writable one */
    VRING_ERR_INDIRECT_FEATURE = -10, /* INDIRECT not negotiated */
    VRING_ERR_INDIRECT_NESTED = -11,  /* INDIRECT inside an indirect table */
    VRING_ERR_INDIRECT_NEXT = -12,    /* INDIRECT together with NEXT */
    VRING_ERR_INDIRECT_LEN = -13,     /* table length bad */
    VRING_ERR_INDIRECT_ADDR = -14,    /* table outside guest memory */
    VRING_ERR_TOO_MANY_IOV = -15,     /* > VRING_ELEM_MAX_IOV buffers */
    VRING_ERR_NUM = -16,              /* queue size not a power of 2 <= max */
    VRING_ERR_USED_IDX = -17,         /* used idx inconsistent with the base */
};

/**
 * struct vring_iov - one guest buffer, checked to lie inside one guest
 * memory region when it was popped. An address, not a pointer: its bytes
 * are reached only through vring_elem_read() / vring_elem_write().
 */
struct vring_iov {
    uint64_t gpa; /* guest-physical address of the first byte */
    uint32_t len; /* bytes, > 0 */
};

/**
 * struct vring_elem - one popped descriptor chain.
 * The first @n_rd entries of @iov are device-readable, the next @n_wr
 * device-writable. The guest may change the bytes behind them at any time,
 * which is why they are only ever copied, once each way.
 */
struct vring_elem {
    uint16_t head;   /* head descriptor index, for vring_push() */
    unsigned n_rd;   /* device-readable buffers */
    unsigned n_wr;   /* device-writable buffers */
    uint64_t rd_len; /* bytes in the readable buffers */
    uint64_t wr_len; /* bytes in the writable buffers */
    struct vring_iov iov[VRING_ELEM_MAX_IOV]; /* readable, then writable */
};

/**
 * struct vring - one split virtqueue, device side. Addresses are front-end
 * virtual addresses (vhost-user SET_VRING_ADDR), translated on every use.
 */
struct vring {
    uint16_t num;              /* queue size (power of 2), 0 = unset */
    uint64_t desc_uva;         /* descriptor table */
    uint64_t avail_uva;        /* driver area */
    uint64_t used_uva;         /* device area */
    bool addr_set;             /* the three addresses were given */
    bool indirect;             /* VIRTIO_F_RING_INDIRECT_DESC negotiated */
    bool event_idx;            /* VIRTIO_F_RING_EVENT_IDX negotiated */
    uint16_t last_avail_idx;   /* next avail entry we will read */
    uint16_t used_idx;         /* next used entry we will write */
    uint16_t signalled_used;   /* used_idx at the last notify decision */
    bool signalled_used_valid; /* @signalled_used means something */
    bool broken;               /* sticky: a rule was violated */
    int error;                 /* the first enum vring_status error */
};

/** vring_init() - an unconfigured, unbroken ring. */
void vring_init(struct vring *vr);

/**
 * vring_set_num() - set the queue size.
 * Return: VRING_OK, or VRING_ERR_NUM unless @num is a power of two in
 * 1..VRING_MAX_NUM (the ring is left unchanged then; not a sticky error).
 */
int vring_set_num(struct vring *vr, uint32_t num)
    __attribute__((warn_unused_result));

/** vring_set_addr() - set the three ring addresses (front-end virtual). */
void vring_set_addr(struct vring *vr, uint64_t desc_uva, uint64_t avail_uva,
                    uint64_t used_uva);

/**
 * vring_set_base() - set the next avail index to read (SET_VRING_BASE).
 * The used index follows it until vring_start() reads the ring's own.
 * Clears the notify history and @broken.
 */
void vring_set_base(struct vring *vr, uint16_t base);

/**
 * vring_start() - the ring starts (first kick after SET_VRING_BASE): take
 * the used index from the used ring in guest memory, as libvhost-user does,
 * so that completions pushed before a reconnect are not counted twice. If
 * the driver made chains available that were never completed (the avail
 * base runs ahead of used->idx, e.g. a backend that died mid-request), the
 * avail index is rewound to used->idx and those chains are served again:
 * the devices here complete chains in order.
 * Return: chains rewound (>= 0); VRING_ERR_NOT_READY when the ring is not
 * configured or mapped yet (nothing changed, not sticky); or
 * VRING_ERR_USED_IDX when used->idx is more than a queue size away from the
 * base (the queue is broken).
 */
int vring_start(struct vring *vr, const struct gmem *gm)
    __attribute__((warn_unused_result));

/** vring_set_features() - what the driver negotiated. */
void vring_set_features(struct vring *vr, bool indirect, bool event_idx);

/**
 * vring_pop() - take the next available chain.
 * @gm:   the guest memory map
 * @elem: receives the chain
 * Return: VRING_OK with @elem filled, VRING_EMPTY when the driver has not
 * made another chain available (with EVENT_IDX, avail_event is published
 * and the ring re-checked first, so no kick can be lost), or a negative enum
 * vring_status: the queue is now broken.
 */
int vring_pop(struct vring *vr, const struct gmem *gm, struct vring_elem *elem)
    __attribute__((warn_unused_result));

/**
 * vring_unpop() - give back the last chain popped (not pushed), so that the
 * next vring_pop() returns it again, e.g. when the ring stops between the
 * two chains of one NSM request.
 */
void vring_unpop(struct vring *vr);

/**
 * vring_push() - return chain @head to the driver with @len bytes written.
 * The used element is visible to the driver before the new used index.
 * Return: VRING_OK or a negative enum vring_status (the queue is broken).
 */
int vring_push(struct vring *vr, const struct gmem *gm, uint16_t head,
               uint32_t len) __attribute__((warn_unused_result));

/**
 * vring_need_notify() - decide whether to signal the driver for the used
 * entries pushed since the last call: honours VRING_AVAIL_F_NO_INTERRUPT
 * or, with EVENT_IDX, used_event. False on a broken ring.
 */
bool vring_need_notify(struct vring *vr, const struct gmem *gm);

/**
 * vring_elem_read() - copy-in: the readable bytes of @elem, in order, into
 * private memory @dst (at most @cap bytes). Call it once per chain and work
 * on the copy only: reading guest memory twice would let the guest change
 * the bytes between the reads.
 * @gm: the guest memory map; each buffer is translated again, so a region
 *      removed since vring_pop() is never touched (the copy stops there)
 * Return: bytes copied, min(rd_len, cap) unless a region went away.
 */
size_t vring_elem_read(const struct vring_elem *elem, const struct gmem *gm,
                       uint8_t *dst, size_t cap);

/**
 * vring_elem_write() - copy-out: @len bytes of a finished response at
 * private @src over the writable buffers of @elem, in order. The last step
 * of serving a chain: everything the device computes, signs or stores must
 * be final in @src before, and nothing written is ever read back.
 * @gm: the guest memory map (as for vring_elem_read())
 * Return: bytes copied, min(len, wr_len) unless a region went away.
 */
size_t vring_elem_write(const struct vring_elem *elem, const struct gmem *gm,
                        const uint8_t *src, size_t len);

/** vring_strerror() - static description of an enum vring_status. */
const char *vring_strerror(int status);

#endif
