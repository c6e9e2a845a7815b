/* SPDX-License-Identifier: MIT */
/*
 * Inside the vhost-user frontend: the context shared by its VMM side
 * (vhu_fe_vmm.c: messages, memory sharing, negotiation, lifetime) and its
 * driver side (vhu_fe_driver.c: chains, kicks, completions), and the test
 * hooks (vhu_fe_test.c, test builds only). Not installed, not for callers:
 * they see vhu_frontend.h.
 * Memory layout of the memfd (offsets; guest-physical addresses are derived
 * per region, see fe_gpa()):
 *
 *   0            descriptor table          16 * queue_size
 *                avail ring + used_event   6 + 2 * queue_size
 *   4 KiB align  used ring + avail_event   6 + 8 * queue_size
 *   16 align     indirect table            16 * queue_size
 *   4 KiB align  NSM request buffer        0x1000  (region 0 only)
 *                NSM response buffer       0x3000  (region 0 only)
 *                data area                 the rest, across all regions
 *
 * Everything up to the data area must lie in region 0 so that each of these
 * structures is one guest-physically contiguous range; the data area is cut
 * into descriptors wherever a region ends.
 */
#ifndef TV_FRONTEND_VHU_FE_PRIV_H
#define TV_FRONTEND_VHU_FE_PRIV_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/clock.h"
#include "frontend/vhu_frontend.h"
#include "vhost/vhost_user_proto.h"
#include "virtio/virtio_ring.h"

/* virtio 1.2 2.1: device status bits */
#define VIRTIO_S_ACKNOWLEDGE 1u
#define VIRTIO_S_DRIVER      2u
#define VIRTIO_S_DRIVER_OK   4u
#define VIRTIO_S_FEATURES_OK 8u
#define VIRTIO_S_NEEDS_RESET 0x40u
#define VIRTIO_S_FAILED      0x80u

#define FE_PAGE_SIZE    4096u
#define FE_REGION_HOLE  (1ull << 20) /* guest-physical gap between regions */
#define FE_MIN_MEM_SIZE (64u * 1024u)
#define FE_POLL_SPINS   1024u /* spins between clock checks */
#define FE_WAIT_N       3u    /* fds in wait_fd: call_fd, err_fd, sock */

/* Protocol features we accept when offered (QEMU docs/interop/vhost-user.rst).
 */
#define FE_PROTOCOL_WANTED                                                     \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) |                                      \
     (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |                               \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |                                  \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                     \
     (1ull << VHOST_USER_PROTOCOL_F_STATUS))

#ifdef VHU_FE_TEST_HOOKS
/**
 * struct fe_racer - a thread that keeps rewriting part of the NSM response
 * buffer in guest memory while a request is in flight, as a guest's second
 * vCPU could. Test builds only.
 */
struct fe_racer {
    pthread_t thread;     /* the writer */
    bool running;         /* @thread exists */
    pthread_mutex_t lock; /* guards @state changes and waits on @cond */
    pthread_cond_t cond;  /* signalled when @state changes */
    int state;            /* RACE_*; read atomically by the writer loop */
    int busy;             /* the writer is inside its write loop */
    uint8_t *dst;         /* where in guest memory */
    uint8_t bytes[256];   /* what */
    uint32_t len;         /* bytes of @bytes */
    uint64_t n_writes;    /* rewrites done */
};
#endif

/**
 * struct vhu_fe - one connection, its guest memory and its ring.
 */
struct vhu_fe {
    pthread_mutex_t lock; /* serializes every public call */
    int sock;             /* vhost-user socket */
    int kick_fd;          /* eventfd: driver -> device */
    int call_fd;          /* eventfd: device -> driver */
    int err_fd;           /* eventfd: device reports a broken ring */
    int wait_fd;          /* epoll over call_fd, err_fd and sock */
    int mem_fd;           /* memfd backing guest memory */

    uint8_t *mem;         /* our mapping of the whole memfd */
    uint32_t mem_size;    /* bytes */
    uint32_t region_size; /* bytes per region */
    uint32_t n_regions;   /* regions */
    uint64_t gpa_base;    /* guest-physical address of region 0 */

    uint32_t qsize;            /* descriptors */
    struct vring_desc *desc;   /* descriptor table (in @mem) */
    struct vring_avail *avail; /* avail ring (in @mem) */
    struct vring_used *used;   /* used ring (in @mem) */
    uint16_t *used_event;      /* after avail->ring[qsize] */
    uint16_t *avail_event;     /* after used->ring[qsize] */
    uint32_t indir_off;        /* offset of the indirect table */
    uint32_t nsm_req_off;      /* offset of the NSM request buffer */
    uint32_t nsm_resp_off;     /* offset of the NSM response buffer */
    uint32_t data_off;         /* offset of the data area */
    uint32_t data_len;         /* bytes of the data area */
    uint16_t avail_idx;        /* driver's next avail index */
    uint16_t last_used;        /* next used index to consume */
    uint16_t next_desc;        /* rotating first free descriptor */

    struct vring_desc *chain; /* chain under construction, qsize slots */
    uint32_t n_chain;         /* descriptors in @chain */
    uint8_t *scratch;         /* private copy of device-written bytes */
    uint32_t scratch_len;     /* bytes at @scratch */

    uint32_t timeout_ms;     /* per request or reply */
    uint32_t flags;          /* VHU_FE_* */
    uint32_t split_len;      /* max bytes per data descriptor, 0 = any */
    vhu_fe_tamper_fn tamper; /* test hook or NULL */
    void *tamper_ctx;        /* its context */

    bool has_protocol; /* bit 30 offered */
    bool reply_ack;    /* REPLY_ACK negotiated */
    bool event_idx;    /* EVENT_IDX negotiated */
    bool indirect;     /* INDIRECT_DESC negotiated */
    bool has_status;   /* STATUS negotiated */
    bool has_config;   /* CONFIG negotiated */
    bool started;      /* DRIVER_OK done */
    bool stopped;      /* vhu_fe_stop() done */
    bool broken;       /* sticky: no more requests */

#ifdef VHU_FE_TEST_HOOKS
    struct fe_racer racer;    /* hostile second vCPU (test builds only) */
    pthread_t flooder;        /* keeps the ring full (test builds only) */
    bool flooding;            /* @flooder runs */
    int flood_stop;           /* tells @flooder to end */
    uint64_t flood_completed; /* chains the device completed meanwhile */
#endif
    struct vhu_fe_info info; /* negotiated values and counters */
    char *err;               /* connect-time error text or NULL */
    size_t err_len;          /* bytes at @err */
};

/* ---- shared by both sides ---------------------------------------------- */

/* Monotonic milliseconds, the time base of every frontend deadline. */
static inline int64_t fe_now_ms(void)
{
    return (int64_t)tv_mono_ms();
}

/* Milliseconds until @deadline (fe_now_ms() time), clamped for poll(). */
static inline int fe_remaining_ms(int64_t deadline)
{
    int64_t left = deadline - fe_now_ms();

    if (left < 0) {
        return 0;
    }
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Guest-physical address of memfd offset @off. */
static inline uint64_t fe_gpa(const struct vhu_fe *fe, uint32_t off)
{
    uint32_t r = off / fe->region_size;

    return fe->gpa_base + (uint64_t)r * (fe->region_size + FE_REGION_HOLE) +
           (off - r * fe->region_size);
}

/* 0 while requests may be made, else -EIO (broken, stopped, not started). */
static inline int fe_usable(const struct vhu_fe *fe)
{
    if (fe->broken || fe->stopped || !fe->started) {
        return -EIO;
    }
    return 0;
}

/**
 * fe_get_vring_base() - GET_VRING_BASE for queue 0 (the ring stops) and its
 * answer in @st. Return: 0, -EPROTO for a wrongly sized reply, or another
 * negative errno (a send failure makes @fe broken).
 */
int fe_get_vring_base(struct vhu_fe *fe, struct vhost_vring_state *st);

#ifdef VHU_FE_TEST_HOOKS
/* vhu_fe_test.c: racer states, and moving the racer between them. */
enum { RACE_IDLE, RACE_RUN, RACE_QUIT };
void fe_racer_set(struct vhu_fe *fe, int state);
void fe_racer_quit(struct vhu_fe *fe);
void fe_flood_quit(struct vhu_fe *fe);
#endif

#endif
