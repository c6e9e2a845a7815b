/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end library: one connection to a front-end (a VMM such as
 * QEMU, or the in-project frontend), its memory table, its virtqueues and
 * the message dispatch, for any virtio device.
 *
 * The library knows no device: a device plugs in through struct
 * vhu_device_ops (all callbacks optional). It owns no event loop: the caller
 * watches the connection socket and calls vhu_dispatch() when it is
 * readable; the library asks the caller (struct vhu_loop_ops) to watch the
 * kick eventfds it receives. vhu_epoll.h is a minimal loop to plug in.
 *
 * Offered: virtio VERSION_1 | RING_INDIRECT_DESC | RING_EVENT_IDX |
 * PROTOCOL_FEATURES (plus the device's own bits) and protocol features MQ,
 * REPLY_ACK, CONFIGURE_MEM_SLOTS, RESET_DEVICE, STATUS, and CONFIG only when
 * the device has a config space.
 *
 * Front-end mistakes never end the process: a bad request is answered with
 * an error (REPLY_ACK, or a zero-length GET_CONFIG reply) and logged; ring
 * violations break that queue only (logged once, err fd signalled). Only
 * framing errors (EOF, a payload over VHOST_USER_MAX_PAYLOAD, bad version)
 * end the connection, through vhu_dispatch()'s return value.
 *
 * Ring life cycle (vhost-user.rst "Ring states"): a ring starts on the first
 * kick after SET_VRING_KICK (at once when the kick is given as "no fd"; such
 * a ring is then polled after every message), stops on GET_VRING_BASE, and
 * is only processed while enabled (SET_VRING_ENABLE, or SET_FEATURES without
 * PROTOCOL_FEATURES). Kick eventfds may start signalled: an empty ring on a
 * kick is normal.
 *
 * Threads: none. A struct vhu_dev is used from one thread; all callbacks run
 * from inside vhu_dispatch() or a kick watch callback.
 */
#ifndef TV_VHOST_VHU_H
#define TV_VHOST_VHU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost/vhost_user_proto.h"
#include "virtio/gmem.h"
#include "virtio/vring.h"

#define VHU_MAX_QUEUES 8 /* virtqueues per device */
/*
 * Chains one @process call may pop. Then vhu_queue_pop() answers
 * VRING_EMPTY, and the library re-arms the ring by signalling its own kick
 * eventfd, so the rest is served on the next loop iteration, after the
 * messages and signals that are ready: a guest that keeps its queue full
 * cannot starve the vhost-user socket or SIGTERM.
 */
#define VHU_QUEUE_BUDGET 128

/* Always-offered virtio features. */
#define VHU_BASE_FEATURES                                                      \
    ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_INDIRECT_DESC) |    \
     (1ull << VIRTIO_F_RING_EVENT_IDX) |                                       \
     (1ull << VHOST_USER_F_PROTOCOL_FEATURES))

/* Always-offered protocol features; CONFIG is added for devices with config. */
#define VHU_BASE_PROTOCOL_FEATURES                                             \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) |                                      \
     (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |                               \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                     \
     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                            \
     (1ull << VHOST_USER_PROTOCOL_F_STATUS))

struct vhu_dev;

/**
 * struct vhu_device_ops - what a device supplies; every member may be NULL.
 * @features:      device-specific virtio feature bits to offer (only bits
 *                 below 24 or device-defined; added to VHU_BASE_FEATURES)
 * @set_features:  the driver's accepted features
 * @get_config:    copy @len bytes of config space from @offset into @buf
 *                 (the library has checked offset + len <= config_size);
 *                 0 or a negative errno
 * @set_config:    write config space; NULL means all of it is read-only and
 *                 SET_CONFIG is refused; 0 or a negative errno
 * @queue_started: ring @q started (true) or stopped (false)
 * @process:       ring @q was kicked (or enabled) while started: pop chains
 *                 with vhu_queue_pop(), complete them with vhu_queue_push();
 *                 the library signals the call fd afterwards when needed
 * @reset:         the driver reset the device (RESET_DEVICE or status 0)
 */
struct vhu_device_ops {
    uint64_t features;
    void (*set_features)(struct vhu_dev *dev, uint64_t features);
    int (*get_config)(struct vhu_dev *dev, uint32_t offset, uint8_t *buf,
                      uint32_t len);
    int (*set_config)(struct vhu_dev *dev, uint32_t offset, const uint8_t *buf,
                      uint32_t len);
    void (*queue_started)(struct vhu_dev *dev, unsigned q, bool started);
    void (*process)(struct vhu_dev *dev, unsigned q);
    void (*reset)(struct vhu_dev *dev);
};

/**
 * struct vhu_loop_ops - the caller's event loop.
 * @set_watch:    call @cb(@arg, @fd) whenever @fd is readable; 0 or a
 *                negative errno. Replaces any earlier watch on @fd.
 * @remove_watch: stop watching @fd (it is about to be closed)
 */
struct vhu_loop_ops {
    int (*set_watch)(void *loop, int fd, void (*cb)(void *arg, int fd),
                     void *arg);
    void (*remove_watch)(void *loop, int fd);
};

/** struct vhu_config - fixed properties of a device, given to vhu_init(). */
struct vhu_config {
    const struct vhu_device_ops *ops; /* device callbacks */
    void *opaque;                     /* for the device, vhu_opaque() */
    const struct vhu_loop_ops *loop;  /* event loop callbacks */
    void *loop_ctx;                   /* passed to @loop */
    unsigned n_queues;                /* 1..VHU_MAX_QUEUES */
    uint32_t config_size;             /* config space bytes, 0 = none */
};

/** struct vhu_queue - one virtqueue and its notification fds. */
struct vhu_queue {
    struct vhu_dev *dev; /* owner, for the kick callback */
    unsigned index;      /* position in dev->q[] */
    struct vring vr;     /* the ring walker */
    int kick_fd;         /* eventfd the driver kicks, or -1 */
    int call_fd;         /* eventfd we signal, or -1 */
    int err_fd;          /* eventfd for ring errors, or -1 */
    bool kick_polled;    /* kick given as "no fd": poll after each message */
    bool started;        /* between first kick and GET_VRING_BASE */
    bool enabled;        /* SET_VRING_ENABLE state */
    bool error_logged;   /* the broken state was reported */
    uint32_t n_pushed;   /* used entries since the last notify decision */
    bool in_process;     /* inside the device's @process callback */
    uint32_t budget;     /* pops left in this @process call */
    bool budget_hit;     /* a pop was refused for want of @budget */
};

/** struct vhu_map - one mmap of a front-end memory fd. */
struct vhu_map {
    uint8_t *base; /* mmap result, NULL = free slot */
    size_t len;    /* mapped bytes */
};

/** struct vhu_dev - one back-end device and its current connection. */
struct vhu_dev {
    struct vhu_config cfg;                /* from vhu_init() */
    int sock;                             /* connection, or -1 */
    bool owner;                           /* SET_OWNER seen */
    uint64_t features;                    /* acked virtio features */
    uint64_t protocol_features;           /* acked protocol features */
    uint8_t status;                       /* virtio status byte */
    struct gmem gm;                       /* guest memory map */
    struct vhu_map map[GMEM_MAX_REGIONS]; /* our mappings */
    struct vhu_queue q[VHU_MAX_QUEUES];   /* the first n_queues are used */
};

/**
 * vhu_init() - prepare @dev (caller-allocated, about 2 KiB) for @cfg.
 * Nothing is connected yet; @dev must not move afterwards (its queues
 * point back at it for the kick callbacks).
 * Return: 0 or -EINVAL for a bad @cfg.
 */
int vhu_init(struct vhu_dev *dev, const struct vhu_config *cfg)
    __attribute__((warn_unused_result));

/** vhu_opaque() - the device pointer given in struct vhu_config. */
void *vhu_opaque(const struct vhu_dev *dev);

/**
 * vhu_attach() - start serving connected stream socket @sock (ownership
 * passes to @dev; it is closed by vhu_detach()). Connection state starts
 * fresh: no features, no memory, rings stopped and disabled. The caller
 * watches @sock and calls vhu_dispatch() when it is readable.
 * Return: 0, or -EBUSY if a connection is attached.
 */
int vhu_attach(struct vhu_dev *dev, int sock)
    __attribute__((warn_unused_result));

/**
 * vhu_dispatch() - read one message from the connection and handle it.
 * Blocks until the whole message has arrived.
 * Return: 0 when the connection goes on (even if the request failed), or a
 * negative errno when it must end (-ECONNRESET on EOF, -EMSGSIZE, -EPROTO,
 * I/O errors); the caller then removes its watch and calls vhu_detach().
 */
int vhu_dispatch(struct vhu_dev *dev) __attribute__((warn_unused_result));

/**
 * vhu_detach() - end the connection: stop the rings (queue_started(false)),
 * remove watches, close every fd received, unmap guest memory, close the
 * socket. Device state is left alone (the caller decides on a reset).
 * Safe when nothing is attached.
 */
void vhu_detach(struct vhu_dev *dev);

/**
 * vhu_queue_pop() - next chain of ring @q (see vring_pop()). On a ring
 * violation the queue is broken, which is logged once and signalled on the
 * err fd. Inside @process, at most VHU_QUEUE_BUDGET chains are returned;
 * then VRING_EMPTY, and the ring is served again from the loop.
 * Return: VRING_OK, VRING_EMPTY or a negative enum vring_status.
 */
int vhu_queue_pop(struct vhu_dev *dev, unsigned q, struct vring_elem *elem)
    __attribute__((warn_unused_result));

/**
 * vhu_queue_read() - copy-in the readable bytes of @elem (popped from any
 * queue of @dev) into private @dst; vring_elem_read() over the current
 * memory map. Once per chain. Return: bytes copied.
 */
size_t vhu_queue_read(const struct vhu_dev *dev, const struct vring_elem *elem,
                      uint8_t *dst, size_t cap);

/**
 * vhu_queue_write() - copy-out a finished response at private @src over the
 * writable buffers of @elem; vring_elem_write() over the current memory
 * map. The last step before vhu_queue_push(). Return: bytes copied.
 */
size_t vhu_queue_write(const struct vhu_dev *dev, const struct vring_elem *elem,
                       const uint8_t *src, size_t len);

/** vhu_queue_unpop() - hand the last popped chain back (vring_unpop()). */
void vhu_queue_unpop(struct vhu_dev *dev, unsigned q);

/**
 * vhu_queue_push() - complete chain @head of ring @q with @len bytes
 * written. Return: VRING_OK or a negative enum vring_status.
 */
int vhu_queue_push(struct vhu_dev *dev, unsigned q, uint16_t head, uint32_t len)
    __attribute__((warn_unused_result));

/**
 * vhu_queue_notify() - signal the call fd of ring @q if entries were pushed
 * and the driver wants an interrupt. The library calls it after @process;
 * a device may call it earlier.
 */
void vhu_queue_notify(struct vhu_dev *dev, unsigned q);

/** vhu_queue_broken() - whether ring @q is broken. */
bool vhu_queue_broken(const struct vhu_dev *dev, unsigned q);

#endif
