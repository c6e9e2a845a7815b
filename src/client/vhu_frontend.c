/* SPDX-License-Identifier: MIT */
/*
 * vhost-user frontend: the VMM half (messages, memory sharing, eventfds) and
 * the guest driver half (split ring, notification suppression) in one
 * synchronous object. See vhu_frontend.h for the contract.
 *
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
#include "client/vhu_frontend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#ifdef VHU_FE_TEST_HOOKS
#include "client/vhu_frontend_test.h"
#endif
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

/* Protocol features we accept when offered (vhost-user-and-e2e.md §3). */
#define FE_PROTOCOL_WANTED                                                     \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) |                                      \
     (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |                               \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |                                  \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                     \
     (1ull << VHOST_USER_PROTOCOL_F_STATUS))

#ifdef VHU_FE_TEST_HOOKS
/* Racer states (struct fe_racer.state). */
enum { RACE_IDLE, RACE_RUN, RACE_QUIT };

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
    struct fe_racer racer; /* hostile second vCPU (test builds only) */
#endif
    struct vhu_fe_info info; /* negotiated values and counters */
    char *err;               /* connect-time error text or NULL */
    size_t err_len;          /* bytes at @err */
};

static void fe_set_err(struct vhu_fe *fe, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep the first reason only: later ones are consequences of it. */
static void fe_set_err(struct vhu_fe *fe, const char *fmt, ...)
{
    va_list ap;

    if (fe->err == NULL || fe->err_len == 0 || fe->err[0] != '\0') {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(fe->err, fe->err_len, fmt, ap);
    va_end(ap);
}

static int64_t fe_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fe_remaining_ms(int64_t deadline)
{
    int64_t left = deadline - fe_now_ms();

    if (left < 0) {
        return 0;
    }
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* ---- vhost-user messages ---------------------------------------------- */

/* Send one message; fds ride along as SCM_RIGHTS with the header. */
static int fe_send(struct vhu_fe *fe, uint32_t req, uint32_t flags,
                   const void *payload, uint32_t size, const int *fds,
                   unsigned n_fds)
{
    struct vhost_user_hdr hdr = {req, VHOST_USER_VERSION | flags, size};
    union {
        char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov[2];
    struct msghdr msg;
    size_t total = sizeof(hdr) + size;
    size_t sent = 0;

    BUG_ON(n_fds > VHOST_USER_MAX_FDS);
    memset(&msg, 0, sizeof(msg));
    memset(&ctl, 0, sizeof(ctl));
    iov[0].iov_base = &hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = (void *)payload;
    iov[1].iov_len = size;
    msg.msg_iov = iov;
    msg.msg_iovlen = size ? 2 : 1;
    if (n_fds > 0) {
        struct cmsghdr *c;

        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
    }
    /* A short write on a stream socket is finished without the fds. */
    while (sent < total) {
        ssize_t n = sendmsg(fe->sock, &msg, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fe_set_err(fe, "%s: send: %s", vhost_user_request_name(req),
                       strerror(errno));
            return errno == EPIPE ? -ECONNRESET : -errno;
        }
        sent += (size_t)n;
        msg.msg_control = NULL;
        msg.msg_controllen = 0;
        while (n > 0 && msg.msg_iovlen > 0) {
            size_t take = (size_t)n < msg.msg_iov[0].iov_len
                              ? (size_t)n
                              : msg.msg_iov[0].iov_len;

            msg.msg_iov[0].iov_base = (uint8_t *)msg.msg_iov[0].iov_base + take;
            msg.msg_iov[0].iov_len -= take;
            n -= (ssize_t)take;
            if (msg.msg_iov[0].iov_len == 0) {
                msg.msg_iov++;
                msg.msg_iovlen--;
            }
        }
    }
    return 0;
}

/* Read exactly @len bytes before @deadline. */
static int fe_read_full(struct vhu_fe *fe, void *buf, size_t len,
                        int64_t deadline)
{
    size_t got = 0;

    while (got < len) {
        struct pollfd p = {fe->sock, POLLIN, 0};
        int r = poll(&p, 1, fe_remaining_ms(deadline));
        ssize_t n;

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (r == 0) {
            return -ETIMEDOUT;
        }
        /* Any fds a backend might attach are discarded by the kernel. */
        n = recv(fe->sock, (uint8_t *)buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            return -ECONNRESET;
        }
        got += (size_t)n;
    }
    return 0;
}

/*
 * Receive the reply to @req: header checked (same request, REPLY flag,
 * version 1, size <= @cap), payload into @payload. *@size gets its length.
 */
static int fe_recv_reply(struct vhu_fe *fe, uint32_t req, void *payload,
                         uint32_t cap, uint32_t *size)
{
    int64_t deadline = fe_now_ms() + fe->timeout_ms;
    struct vhost_user_hdr hdr;
    int ret;

    ret = fe_read_full(fe, &hdr, sizeof(hdr), deadline);
    if (ret < 0) {
        goto err_io;
    }
    if (hdr.request != req ||
        (hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
        !(hdr.flags & VHOST_USER_REPLY_MASK) || hdr.size > cap) {
        fe_set_err(fe, "%s: bad reply header (request %u, flags 0x%x, size %u)",
                   vhost_user_request_name(req), hdr.request, hdr.flags,
                   hdr.size);
        fe->broken = true;
        return -EPROTO;
    }
    ret = fe_read_full(fe, payload, hdr.size, deadline);
    if (ret < 0) {
        goto err_io;
    }
    *size = hdr.size;
    return 0;

err_io:
    fe->broken = true;
    fe_set_err(fe, "%s: reply: %s", vhost_user_request_name(req),
               ret == -ECONNRESET ? "backend closed the connection"
                                  : strerror(-ret));
    return ret;
}

/* Read a u64 reply to @req. */
static int fe_recv_u64(struct vhu_fe *fe, uint32_t req, uint64_t *val)
{
    uint32_t size = 0;
    int ret = fe_recv_reply(fe, req, val, sizeof(*val), &size);

    if (ret < 0) {
        return ret;
    }
    if (size != sizeof(*val)) {
        fe_set_err(fe, "%s: reply of %u bytes, expected 8",
                   vhost_user_request_name(req), size);
        fe->broken = true;
        return -EPROTO;
    }
    return 0;
}

/*
 * Send a message that has no reply body of its own. When @ack is set and
 * REPLY_ACK was negotiated, ask for (NEED_REPLY) and check the u64 ack, as
 * QEMU does for the messages it sends with flags 0x9.
 */
static int fe_request(struct vhu_fe *fe, uint32_t req, const void *payload,
                      uint32_t size, const int *fds, unsigned n_fds, bool ack)
{
    bool need = ack && fe->reply_ack;
    uint64_t code = 0;
    int ret;

    ret = fe_send(fe, req, need ? VHOST_USER_NEED_REPLY_MASK : 0, payload, size,
                  fds, n_fds);
    if (ret < 0 || !need) {
        if (ret < 0) {
            fe->broken = true;
        }
        return ret;
    }
    ret = fe_recv_u64(fe, req, &code);
    if (ret < 0) {
        return ret;
    }
    if (code != 0) {
        fe_set_err(fe, "%s: backend refused (ack %llu)",
                   vhost_user_request_name(req), (unsigned long long)code);
        return -EPROTO;
    }
    return 0;
}

static int fe_set_u64(struct vhu_fe *fe, uint32_t req, uint64_t val, bool ack)
{
    return fe_request(fe, req, &val, sizeof(val), NULL, 0, ack);
}

static int fe_get_u64(struct vhu_fe *fe, uint32_t req, uint64_t *val)
{
    int ret = fe_send(fe, req, 0, NULL, 0, NULL, 0);

    if (ret < 0) {
        fe->broken = true;
        return ret;
    }
    return fe_recv_u64(fe, req, val);
}

static int fe_set_state(struct vhu_fe *fe, uint32_t req, uint32_t num, bool ack)
{
    struct vhost_vring_state st = {0, num};

    return fe_request(fe, req, &st, sizeof(st), NULL, 0, ack);
}

/* The u64 of SET_VRING_KICK/CALL/ERR for queue 0 with an fd attached. */
static int fe_set_vring_fd(struct vhu_fe *fe, uint32_t req, int fd)
{
    uint64_t val = 0;

    return fe_request(fe, req, &val, sizeof(val), &fd, 1, true);
}

/* ---- guest memory ----------------------------------------------------- */

/* Guest-physical address of memfd offset @off. */
static uint64_t fe_gpa(const struct vhu_fe *fe, uint32_t off)
{
    uint32_t r = off / fe->region_size;

    return fe->gpa_base + (uint64_t)r * (fe->region_size + FE_REGION_HOLE) +
           (off - r * fe->region_size);
}

static void fe_region(const struct vhu_fe *fe, uint32_t r,
                      struct vhost_user_mem_region *out)
{
    out->guest_phys_addr = fe_gpa(fe, r * fe->region_size);
    out->memory_size = fe->region_size;
    out->userspace_addr = (uint64_t)(uintptr_t)(fe->mem + r * fe->region_size);
    out->mmap_offset = (uint64_t)r * fe->region_size;
}

static uint32_t fe_align(uint32_t v, uint32_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Lay the ring and buffers out in the memfd (see the top of this file). */
static int fe_layout(struct vhu_fe *fe)
{
    uint32_t q = fe->qsize;
    uint32_t avail_off = (uint32_t)vring_desc_size(q);
    uint32_t used_off =
        fe_align(avail_off + (uint32_t)vring_avail_size(q), FE_PAGE_SIZE);
    uint32_t end;

    fe->indir_off = fe_align(used_off + (uint32_t)vring_used_size(q), 16);
    fe->nsm_req_off =
        fe_align(fe->indir_off + (uint32_t)vring_desc_size(q), FE_PAGE_SIZE);
    fe->nsm_resp_off = fe->nsm_req_off + VHU_FE_NSM_REQ_MAX;
    end = fe->nsm_resp_off + VHU_FE_NSM_RESP_LEN;
    if (end > fe->region_size) {
        fe_set_err(fe,
                   "queue size %u needs %u bytes of ring and NSM buffers, "
                   "more than one %u-byte region",
                   q, end, fe->region_size);
        return -EINVAL;
    }
    fe->data_off = end;
    fe->data_len = fe->mem_size - end;
    fe->desc = (struct vring_desc *)(void *)fe->mem;
    fe->avail = (struct vring_avail *)(void *)(fe->mem + avail_off);
    fe->used = (struct vring_used *)(void *)(fe->mem + used_off);
    fe->used_event = &fe->avail->ring[q];
    fe->avail_event = (uint16_t *)(void *)&fe->used->ring[q];
    return 0;
}

static int fe_setup_memory(struct vhu_fe *fe)
{
    fe->mem_fd = memfd_create("trustvio-guest", MFD_CLOEXEC);
    if (fe->mem_fd < 0) {
        fe_set_err(fe, "memfd_create: %s", strerror(errno));
        return -errno;
    }
    if (ftruncate(fe->mem_fd, fe->mem_size) < 0) {
        fe_set_err(fe, "ftruncate guest memory: %s", strerror(errno));
        return -errno;
    }
    fe->mem = mmap(NULL, fe->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   fe->mem_fd, 0);
    if (fe->mem == MAP_FAILED) {
        fe->mem = NULL;
        fe_set_err(fe, "mmap guest memory: %s", strerror(errno));
        return -errno;
    }
    return fe_layout(fe);
}

static int fe_share_memory(struct vhu_fe *fe)
{
    bool slots = fe->info.acked_protocol &
                 (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
    int ret;

    if (slots && !(fe->flags & VHU_FE_MEM_TABLE)) {
        for (uint32_t r = 0; r < fe->n_regions; r++) {
            struct vhost_user_mem_reg_msg m;

            memset(&m, 0, sizeof(m));
            fe_region(fe, r, &m.region);
            ret = fe_request(fe, VHOST_USER_ADD_MEM_REG, &m, sizeof(m),
                             &fe->mem_fd, 1, true);
            if (ret < 0) {
                return ret;
            }
        }
        return 0;
    } else {
        struct vhost_user_memory m;
        int fds[VHU_FE_MAX_REGIONS];

        memset(&m, 0, sizeof(m));
        m.nregions = fe->n_regions;
        for (uint32_t r = 0; r < fe->n_regions; r++) {
            fe_region(fe, r, &m.regions[r]);
            fds[r] = fe->mem_fd;
        }
        /* QEMU sends only the regions in use, one fd each. */
        return fe_request(fe, VHOST_USER_SET_MEM_TABLE, &m,
                          (uint32_t)(8 + fe->n_regions * sizeof(m.regions[0])),
                          fds, fe->n_regions, true);
    }
}

/* ---- negotiation ------------------------------------------------------ */

/* QEMU's vhost_user_add_status(): GET_STATUS, then SET_STATUS if needed. */
static int fe_add_status(struct vhu_fe *fe, uint8_t bits)
{
    uint64_t s = 0;
    int ret;

    ret = fe_get_u64(fe, VHOST_USER_GET_STATUS, &s);
    if (ret < 0) {
        return ret;
    }
    if ((s & bits) == bits) {
        return 0;
    }
    return fe_set_u64(fe, VHOST_USER_SET_STATUS, (s & 0xff) | bits, false);
}

/* realize: everything QEMU does before the guest sets DRIVER_OK. */
static int fe_realize(struct vhu_fe *fe)
{
    uint64_t f = 0;
    int masked_fd;
    int ret;

    ret = fe_get_u64(fe, VHOST_USER_GET_FEATURES, &fe->info.features);
    if (ret < 0) {
        return ret;
    }
    fe->has_protocol =
        fe->info.features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    if (fe->has_protocol) {
        uint64_t want = FE_PROTOCOL_WANTED;

        ret = fe_get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES,
                         &fe->info.protocol_features);
        if (ret < 0) {
            return ret;
        }
        if (fe->flags & VHU_FE_NO_REPLY_ACK) {
            want &= ~(1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
        }
        if (fe->flags & VHU_FE_NO_STATUS) {
            want &= ~(1ull << VHOST_USER_PROTOCOL_F_STATUS);
        }
        fe->info.acked_protocol = fe->info.protocol_features & want;
        ret = fe_set_u64(fe, VHOST_USER_SET_PROTOCOL_FEATURES,
                         fe->info.acked_protocol, false);
        if (ret < 0) {
            return ret;
        }
        /* REPLY_ACK applies from the next message on. */
        f = fe->info.acked_protocol;
        fe->reply_ack = f & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
        fe->has_status = f & (1ull << VHOST_USER_PROTOCOL_F_STATUS);
        fe->has_config = f & (1ull << VHOST_USER_PROTOCOL_F_CONFIG);
        if (f & (1ull << VHOST_USER_PROTOCOL_F_MQ)) {
            ret = fe_get_u64(fe, VHOST_USER_GET_QUEUE_NUM, &fe->info.queue_num);
            if (ret < 0) {
                return ret;
            }
            if (fe->info.queue_num < 1) {
                fe_set_err(fe, "GET_QUEUE_NUM: backend has no queue");
                return -EPROTO;
            }
        }
        if (f & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
            ret = fe_get_u64(fe, VHOST_USER_GET_MAX_MEM_SLOTS,
                             &fe->info.max_mem_slots);
            if (ret < 0) {
                return ret;
            }
            if (fe->info.max_mem_slots < fe->n_regions &&
                !(fe->flags & VHU_FE_MEM_TABLE)) {
                fe_set_err(fe,
                           "GET_MAX_MEM_SLOTS: backend takes %llu regions, "
                           "%u needed",
                           (unsigned long long)fe->info.max_mem_slots,
                           fe->n_regions);
                return -EPROTO;
            }
        }
    }
    ret = fe_request(fe, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, false);
    if (ret < 0) {
        return ret;
    }
    ret = fe_get_u64(fe, VHOST_USER_GET_FEATURES, &f);
    if (ret < 0) {
        return ret;
    }
    if (f != fe->info.features) {
        fe_set_err(fe, "GET_FEATURES: 0x%llx, earlier 0x%llx",
                   (unsigned long long)f,
                   (unsigned long long)fe->info.features);
        return -EPROTO;
    }
    /* QEMU starts with a masked notifier; the real one comes at start. */
    masked_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (masked_fd < 0) {
        fe_set_err(fe, "eventfd: %s", strerror(errno));
        return -errno;
    }
    ret = fe_set_vring_fd(fe, VHOST_USER_SET_VRING_CALL, masked_fd);
    close(masked_fd);
    if (ret < 0) {
        return ret;
    }
    return fe_set_vring_fd(fe, VHOST_USER_SET_VRING_ERR, fe->err_fd);
}

/* DRIVER_OK: features, memory, ring, notifiers, enable, status. */
static int fe_start(struct vhu_fe *fe)
{
    uint64_t offered = fe->info.features;
    uint64_t acked = 1ull << VIRTIO_F_VERSION_1;
    struct vhost_vring_addr addr;
    int ret;

    if (!(offered & (1ull << VIRTIO_F_VERSION_1))) {
        fe_set_err(fe,
                   "backend does not offer VIRTIO_F_VERSION_1 "
                   "(features 0x%llx)",
                   (unsigned long long)offered);
        return -EPROTO;
    }
    if (!(fe->flags & VHU_FE_NO_EVENT_IDX)) {
        acked |= offered & (1ull << VIRTIO_F_RING_EVENT_IDX);
    }
    if (!(fe->flags & VHU_FE_NO_INDIRECT)) {
        acked |= offered & (1ull << VIRTIO_F_RING_INDIRECT_DESC);
    }
    acked |= offered & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    fe->info.acked_features = acked;
    fe->event_idx = acked & (1ull << VIRTIO_F_RING_EVENT_IDX);
    fe->indirect = acked & (1ull << VIRTIO_F_RING_INDIRECT_DESC);
    ret = fe_set_u64(fe, VHOST_USER_SET_FEATURES, acked, false);
    if (ret < 0) {
        return ret;
    }
    if (fe->has_status) {
        ret = fe_add_status(fe, VIRTIO_S_FEATURES_OK);
        if (ret < 0) {
            return ret;
        }
    }
    ret = fe_share_memory(fe);
    if (ret < 0) {
        return ret;
    }
    ret = fe_set_state(fe, VHOST_USER_SET_VRING_NUM, fe->qsize, false);
    if (ret < 0) {
        return ret;
    }
    ret = fe_set_state(fe, VHOST_USER_SET_VRING_BASE, fe->avail_idx, false);
    if (ret < 0) {
        return ret;
    }
    memset(&addr, 0, sizeof(addr));
    addr.desc_user_addr = (uint64_t)(uintptr_t)fe->desc;
    addr.used_user_addr = (uint64_t)(uintptr_t)fe->used;
    addr.avail_user_addr = (uint64_t)(uintptr_t)fe->avail;
    ret = fe_request(fe, VHOST_USER_SET_VRING_ADDR, &addr, sizeof(addr), NULL,
                     0, false);
    if (ret < 0) {
        return ret;
    }
    ret = fe_set_vring_fd(fe, VHOST_USER_SET_VRING_KICK, fe->kick_fd);
    if (ret < 0) {
        return ret;
    }
    /* QEMU's kick notifier starts signalled: the backend sees a spurious
     * kick on an empty ring before the driver adds anything. */
    if (!(fe->flags & VHU_FE_NO_INIT_KICK)) {
        uint64_t one = 1;

        if (write(fe->kick_fd, &one, sizeof(one)) == sizeof(one)) {
            fe->info.n_kicks++;
        }
    }
    ret = fe_set_vring_fd(fe, VHOST_USER_SET_VRING_CALL, fe->call_fd);
    if (ret < 0) {
        return ret;
    }
    if (fe->has_protocol) {
        ret = fe_set_state(fe, VHOST_USER_SET_VRING_ENABLE, 1, true);
        if (ret < 0) {
            return ret;
        }
    }
    if (fe->has_status) {
        uint64_t s = 0;

        ret = fe_add_status(fe, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
                                    VIRTIO_S_DRIVER_OK);
        if (ret < 0) {
            return ret;
        }
        ret = fe_get_u64(fe, VHOST_USER_GET_STATUS, &s);
        if (ret < 0) {
            return ret;
        }
        fe->info.status = (uint8_t)s;
        if (s & (VIRTIO_S_FAILED | VIRTIO_S_NEEDS_RESET) ||
            !(s & VIRTIO_S_DRIVER_OK)) {
            fe_set_err(fe, "GET_STATUS: device status 0x%llx after DRIVER_OK",
                       (unsigned long long)s);
            return -EPROTO;
        }
    }
    fe->started = true;
    return 0;
}

/* ---- options and lifetime --------------------------------------------- */

static int fe_apply_options(struct vhu_fe *fe, const struct vhu_fe_options *o)
{
    static const struct vhu_fe_options none;

    if (o == NULL) {
        o = &none;
    }
    fe->qsize = o->queue_size ? o->queue_size : VHU_FE_DEFAULT_QUEUE_SIZE;
    fe->mem_size = o->mem_size ? o->mem_size : VHU_FE_DEFAULT_MEM_SIZE;
    fe->gpa_base = o->gpa_base ? o->gpa_base : VHU_FE_DEFAULT_GPA_BASE;
    fe->n_regions = o->n_regions ? o->n_regions : VHU_FE_DEFAULT_N_REGIONS;
    fe->timeout_ms = o->timeout_ms ? o->timeout_ms : VHU_FE_DEFAULT_TIMEOUT_MS;
    fe->flags = o->flags;
    fe->split_len = o->split_len;
    fe->tamper = o->tamper;
    fe->tamper_ctx = o->tamper_ctx;
    if (fe->qsize > 32768 || (fe->qsize & (fe->qsize - 1)) != 0) {
        fe_set_err(fe, "queue size %u is not a power of two <= 32768",
                   fe->qsize);
        return -EINVAL;
    }
    if (fe->n_regions > VHU_FE_MAX_REGIONS) {
        fe_set_err(fe, "%u regions, at most %u", fe->n_regions,
                   VHU_FE_MAX_REGIONS);
        return -EINVAL;
    }
    if (fe->mem_size < FE_MIN_MEM_SIZE ||
        fe->mem_size % (fe->n_regions * FE_PAGE_SIZE) != 0) {
        fe_set_err(fe,
                   "memory size %u must be >= %u and a multiple of %u "
                   "(regions x 4 KiB)",
                   fe->mem_size, FE_MIN_MEM_SIZE, fe->n_regions * FE_PAGE_SIZE);
        return -EINVAL;
    }
    if (fe->gpa_base % FE_PAGE_SIZE != 0 || fe->gpa_base > UINT64_MAX / 2) {
        fe_set_err(fe, "guest base 0x%llx is not 4 KiB aligned",
                   (unsigned long long)fe->gpa_base);
        return -EINVAL;
    }
    fe->region_size = fe->mem_size / fe->n_regions;
    fe->info.queue_size = fe->qsize;
    return 0;
}

#ifdef VHU_FE_TEST_HOOKS
static void fe_racer_set(struct vhu_fe *fe, int state);
static void fe_racer_quit(struct vhu_fe *fe);
#endif

static void fe_free(struct vhu_fe *fe)
{
#ifdef VHU_FE_TEST_HOOKS
    fe_racer_quit(fe);
#endif
    if (fe->sock >= 0) {
        close(fe->sock);
    }
    if (fe->kick_fd >= 0) {
        close(fe->kick_fd);
    }
    if (fe->call_fd >= 0) {
        close(fe->call_fd);
    }
    if (fe->err_fd >= 0) {
        close(fe->err_fd);
    }
    if (fe->mem != NULL) {
        munmap(fe->mem, fe->mem_size);
    }
    if (fe->mem_fd >= 0) {
        close(fe->mem_fd);
    }
    free(fe->chain);
    free(fe->scratch);
    pthread_mutex_destroy(&fe->lock);
    free(fe);
}

/* see vhu_frontend.h */
struct vhu_fe *vhu_fe_connect_fd(int fd, const struct vhu_fe_options *opts,
                                 char *err, size_t err_len)
{
    struct vhu_fe *fe;
    int ret;

    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }
    fe = calloc(1, sizeof(*fe));
    if (fe == NULL) {
        if (err != NULL && err_len > 0) {
            snprintf(err, err_len, "out of memory");
        }
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&fe->lock, NULL);
    fe->sock = fd;
    fe->kick_fd = fe->call_fd = fe->err_fd = fe->mem_fd = -1;
    fe->err = err;
    fe->err_len = err_len;
    ret = fe_apply_options(fe, opts);
    if (ret < 0) {
        goto err_free;
    }
    fe->chain = calloc(fe->qsize, sizeof(*fe->chain));
    if (fe->chain == NULL) {
        ret = -ENOMEM;
        fe_set_err(fe, "out of memory");
        goto err_free;
    }
    ret = fe_setup_memory(fe);
    if (ret < 0) {
        goto err_free;
    }
    fe->scratch_len =
        fe->data_len > VHU_FE_NSM_RESP_LEN ? fe->data_len : VHU_FE_NSM_RESP_LEN;
    fe->scratch = malloc(fe->scratch_len);
    fe->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    fe->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    fe->err_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fe->scratch == NULL || fe->kick_fd < 0 || fe->call_fd < 0 ||
        fe->err_fd < 0) {
        ret = fe->scratch == NULL ? -ENOMEM : -errno;
        fe_set_err(fe, "setup: %s", strerror(-ret));
        goto err_free;
    }
    ret = fe_realize(fe);
    if (ret < 0) {
        goto err_free;
    }
    ret = fe_start(fe);
    if (ret < 0) {
        goto err_free;
    }
    fe->err = NULL;
    fe->err_len = 0;
    return fe;

err_free:
    fe_set_err(fe, "vhost-user setup failed: %s", strerror(-ret));
    fe_free(fe);
    errno = -ret;
    return NULL;
}

/* see vhu_frontend.h */
struct vhu_fe *vhu_fe_connect(const char *socket_path,
                              const struct vhu_fe_options *opts, char *err,
                              size_t err_len)
{
    struct sockaddr_un sa;
    uint32_t wait_ms = opts != NULL ? opts->connect_wait_ms : 0;
    int64_t deadline = fe_now_ms() + wait_ms;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (socket_path == NULL || socket_path[0] == '\0' ||
        strlen(socket_path) >= sizeof(sa.sun_path)) {
        if (err != NULL && err_len > 0) {
            snprintf(err, err_len, "socket path empty or longer than %zu bytes",
                     sizeof(sa.sun_path) - 1);
        }
        errno = EINVAL;
        return NULL;
    }
    memcpy(sa.sun_path, socket_path, strlen(socket_path));
    for (;;) {
        int e;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            e = errno;
            if (err != NULL && err_len > 0) {
                snprintf(err, err_len, "socket: %s", strerror(e));
            }
            errno = e;
            return NULL;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            break;
        }
        e = errno;
        close(fd);
        if ((e == ENOENT || e == ECONNREFUSED || e == EINTR) &&
            fe_now_ms() < deadline) {
            struct timespec ts = {0, 10 * 1000 * 1000};

            nanosleep(&ts, NULL);
            continue;
        }
        if (err != NULL && err_len > 0) {
            snprintf(err, err_len, "connect %s: %s", socket_path, strerror(e));
        }
        errno = e;
        return NULL;
    }
    return vhu_fe_connect_fd(fd, opts, err, err_len);
}

/* Stop the ring; caller holds the lock. */
static int fe_stop_locked(struct vhu_fe *fe)
{
    struct vhost_vring_state st = {0, 0};
    uint32_t size = 0;
    int ret;

    if (fe->stopped) {
        return 0;
    }
    fe->stopped = true;
    if (fe->broken) {
        return -EIO;
    }
    if (fe->has_protocol) {
        ret = fe_set_state(fe, VHOST_USER_SET_VRING_ENABLE, 0, true);
        if (ret < 0) {
            return ret;
        }
    }
    ret = fe_send(fe, VHOST_USER_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0);
    if (ret < 0) {
        fe->broken = true;
        return ret;
    }
    ret = fe_recv_reply(fe, VHOST_USER_GET_VRING_BASE, &st, sizeof(st), &size);
    if (ret < 0) {
        return ret;
    }
    if (size != sizeof(st) || st.index != 0 || st.num != fe->avail_idx) {
        tv_debug("vhu_fe: GET_VRING_BASE answered {%u, %u}, expected {0, %u}",
                 st.index, st.num, fe->avail_idx);
        return -EPROTO;
    }
    if (fe->has_status) {
        ret = fe_set_u64(fe, VHOST_USER_SET_STATUS, 0, false);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* see vhu_frontend.h */
int vhu_fe_stop(struct vhu_fe *fe)
{
    int ret;

    pthread_mutex_lock(&fe->lock);
    ret = fe_stop_locked(fe);
    pthread_mutex_unlock(&fe->lock);
    return ret;
}

/* see vhu_frontend.h */
void vhu_fe_close(struct vhu_fe *fe)
{
    if (fe == NULL) {
        return;
    }
    fe_free(fe);
}

/* ---- the driver: building chains ---------------------------------------- */

/*
 * Append descriptors covering memfd bytes [off, off + len) to fe->chain,
 * cut at region ends and at split_len (when @split).
 */
static int fe_chain_add(struct vhu_fe *fe, uint32_t off, uint32_t len,
                        bool write, bool split)
{
    while (len > 0) {
        uint32_t region_end = (off / fe->region_size + 1) * fe->region_size;
        uint32_t take = region_end - off;
        struct vring_desc *d;

        if (take > len) {
            take = len;
        }
        if (split && fe->split_len != 0 && take > fe->split_len) {
            take = fe->split_len;
        }
        if (fe->n_chain >= fe->qsize) {
            return -EINVAL;
        }
        d = &fe->chain[fe->n_chain++];
        d->addr = fe_gpa(fe, off);
        d->len = take;
        d->flags = write ? VRING_DESC_F_WRITE : 0;
        d->next = 0;
        off += take;
        len -= take;
    }
    return 0;
}

/*
 * Put fe->chain into the descriptor table (or an indirect table) and make
 * it available; does not publish the avail index. Return: the head.
 */
static uint16_t fe_chain_post(struct vhu_fe *fe, bool indirect)
{
    uint16_t head = fe->next_desc;
    uint16_t slot = (uint16_t)(fe->avail_idx & (fe->qsize - 1));

    BUG_ON(fe->n_chain == 0);
    if (indirect) {
        struct vring_desc *t =
            (struct vring_desc *)(void *)(fe->mem + fe->indir_off);

        for (uint32_t i = 0; i < fe->n_chain; i++) {
            t[i] = fe->chain[i];
            if (i + 1 < fe->n_chain) {
                t[i].flags |= VRING_DESC_F_NEXT;
                t[i].next = (uint16_t)(i + 1);
            }
        }
        fe->desc[head].addr = fe_gpa(fe, fe->indir_off);
        fe->desc[head].len = (uint32_t)(fe->n_chain * sizeof(*t));
        fe->desc[head].flags = VRING_DESC_F_INDIRECT;
        fe->desc[head].next = 0;
        fe->next_desc = (uint16_t)((head + 1) & (fe->qsize - 1));
    } else {
        uint16_t i = head;

        for (uint32_t k = 0; k < fe->n_chain; k++) {
            uint16_t nxt = (uint16_t)((i + 1) & (fe->qsize - 1));

            fe->desc[i] = fe->chain[k];
            if (k + 1 < fe->n_chain) {
                fe->desc[i].flags |= VRING_DESC_F_NEXT;
                fe->desc[i].next = nxt;
            }
            i = nxt;
        }
        fe->next_desc = i;
    }
    fe->avail->ring[slot] = head;
    fe->avail_idx++;
    fe->n_chain = 0;
    return head;
}

/*
 * Publish the avail index (after the descriptors and ring entries), arm
 * or disarm completion notifications, and kick unless the device asked not
 * to be (virtio 1.2 2.7.10 / 2.7.7).
 */
static int fe_publish_and_kick(struct vhu_fe *fe, uint16_t old_idx,
                               uint16_t n_used)
{
    bool poll_mode = fe->flags & VHU_FE_POLL;
    bool need;

    if (fe->event_idx) {
        /* Wake me when the n_used-th new used entry appears; in poll mode
         * park the event half a ring away so the device never signals. */
        uint16_t ev = poll_mode ? (uint16_t)(fe->last_used + 0x8000u)
                                : (uint16_t)(fe->last_used + n_used - 1);

        __atomic_store_n(fe->used_event, ev, __ATOMIC_RELAXED);
        __atomic_store_n(&fe->avail->flags, 0, __ATOMIC_RELAXED);
    } else {
        __atomic_store_n(&fe->avail->flags,
                         poll_mode ? VRING_AVAIL_F_NO_INTERRUPT : 0,
                         __ATOMIC_RELAXED);
    }
    /* Descriptors, ring entries and used_event before the new index. */
    __atomic_store_n(&fe->avail->idx, fe->avail_idx, __ATOMIC_RELEASE);
    /* The new index must be visible before we read the device's
     * suppression state, or we could miss a kick the device waits for. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (fe->event_idx) {
        uint16_t ev = __atomic_load_n(fe->avail_event, __ATOMIC_RELAXED);

        need = vring_need_event(ev, fe->avail_idx, old_idx);
    } else {
        need = !(__atomic_load_n(&fe->used->flags, __ATOMIC_RELAXED) &
                 VRING_USED_F_NO_NOTIFY);
    }
    if (!need) {
        fe->info.n_kicks_suppressed++;
        return 0;
    }
    for (;;) {
        uint64_t one = 1;
        ssize_t n = write(fe->kick_fd, &one, sizeof(one));

        if (n == sizeof(one)) {
            break;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break; /* counter saturated: the device has a kick pending */
        }
        fe->broken = true;
        return -EIO;
    }
    fe->info.n_kicks++;
    return 0;
}

/* The socket must stay quiet while requests run; EOF means a dead peer. */
static int fe_check_sock(struct vhu_fe *fe)
{
    uint8_t b;
    ssize_t n = recv(fe->sock, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    if (n == 0) {
        fe->broken = true;
        return -ECONNRESET;
    }
    if (n > 0) {
        tv_debug("vhu_fe: unsolicited message from the backend");
        fe->broken = true;
        return -EIO;
    }
    return 0;
}

static int fe_check_err_fd(struct vhu_fe *fe)
{
    uint64_t cnt;

    if (read(fe->err_fd, &cnt, sizeof(cnt)) == sizeof(cnt)) {
        tv_debug("vhu_fe: the backend signalled the vring error eventfd");
        fe->broken = true;
        return -EIO;
    }
    return 0;
}

/* Wait until @n_used used entries beyond last_used are there. */
static int fe_wait_used(struct vhu_fe *fe, uint16_t n_used)
{
    int64_t deadline = fe_now_ms() + fe->timeout_ms;
    uint32_t spins = 0;

    for (;;) {
        uint16_t uidx = __atomic_load_n(&fe->used->idx, __ATOMIC_ACQUIRE);
        uint16_t ready = (uint16_t)(uidx - fe->last_used);
        int ret;

        if (ready > n_used) {
            tv_debug("vhu_fe: used index %u runs %u entries ahead of %u "
                     "outstanding",
                     uidx, ready, n_used);
            fe->broken = true;
            return -EIO;
        }
        if (ready == n_used) {
            return 0;
        }
        if (fe->flags & VHU_FE_POLL) {
            if (++spins < FE_POLL_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                continue;
            }
            spins = 0;
            ret = fe_check_err_fd(fe);
            if (ret == 0) {
                ret = fe_check_sock(fe);
            }
            if (ret < 0) {
                return ret;
            }
            if (fe_now_ms() >= deadline) {
                fe->broken = true;
                return -ETIMEDOUT;
            }
            continue;
        } else {
            struct pollfd p[3] = {
                {fe->call_fd, POLLIN, 0},
                {fe->err_fd, POLLIN, 0},
                {fe->sock, POLLIN, 0},
            };
            int r = poll(p, 3, fe_remaining_ms(deadline));

            if (r < 0 && errno != EINTR) {
                fe->broken = true;
                return -errno;
            }
            if (r == 0) {
                fe->broken = true;
                return -ETIMEDOUT;
            }
            if (r < 0) {
                continue;
            }
            if (p[0].revents & POLLIN) {
                uint64_t cnt;

                if (read(fe->call_fd, &cnt, sizeof(cnt)) == sizeof(cnt)) {
                    fe->info.n_wakeups++;
                }
            }
            if (p[1].revents & POLLIN) {
                ret = fe_check_err_fd(fe);
                if (ret < 0) {
                    return ret;
                }
            }
            if (p[2].revents) {
                ret = fe_check_sock(fe);
                if (ret < 0) {
                    return ret;
                }
            }
        }
    }
}

/* Take the next used entry (after fe_wait_used() said it is there). */
static struct vring_used_elem fe_take_used(struct vhu_fe *fe)
{
    struct vring_used_elem e;
    uint16_t slot = (uint16_t)(fe->last_used & (fe->qsize - 1));

    e.id = __atomic_load_n(&fe->used->ring[slot].id, __ATOMIC_RELAXED);
    e.len = __atomic_load_n(&fe->used->ring[slot].len, __ATOMIC_RELAXED);
    fe->last_used++;
    return e;
}

/* Run @tamper over the private copy; returns the length to go on with. */
static size_t fe_tamper(struct vhu_fe *fe, enum vhu_fe_kind kind, size_t len,
                        size_t cap)
{
    size_t n;

    if (fe->tamper == NULL) {
        return len;
    }
    n = fe->tamper(fe->tamper_ctx, kind, fe->scratch, len, cap);
    return n > cap ? cap : n;
}

static int fe_usable(const struct vhu_fe *fe)
{
    if (fe->broken || fe->stopped || !fe->started) {
        return -EIO;
    }
    return 0;
}

/* see vhu_frontend.h */
int vhu_fe_nsm_call(struct vhu_fe *fe, const uint8_t *req, size_t req_len,
                    uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct vring_used_elem first;
    struct vring_used_elem second;
    uint16_t req_head;
    uint16_t resp_head;
    uint16_t old_idx;
    size_t n;
    int ret;

    if (req == NULL || req_len == 0 || req_len > VHU_FE_NSM_REQ_MAX ||
        (resp == NULL && resp_cap > 0) || resp_len == NULL) {
        return -EINVAL;
    }
    pthread_mutex_lock(&fe->lock);
    ret = fe_usable(fe);
    if (ret < 0) {
        goto out_unlock;
    }
    if (fe->qsize < 2) {
        ret = -EINVAL;
        goto out_unlock;
    }
    memcpy(fe->mem + fe->nsm_req_off, req, req_len);
    memset(fe->mem + fe->nsm_resp_off, 0, VHU_FE_NSM_RESP_LEN);
    old_idx = fe->avail_idx;
    /* Two chains, as nsm_sendrecv_msg_locked() adds them. */
    ret = fe_chain_add(fe, fe->nsm_req_off, (uint32_t)req_len, false, false);
    BUG_ON(ret < 0);
    req_head = fe_chain_post(fe, false);
    ret = fe_chain_add(fe, fe->nsm_resp_off, VHU_FE_NSM_RESP_LEN, true, false);
    BUG_ON(ret < 0);
    resp_head = fe_chain_post(fe, false);
#ifdef VHU_FE_TEST_HOOKS
    fe_racer_set(fe, RACE_RUN);
#endif
    ret = fe_publish_and_kick(fe, old_idx, 2);
    if (ret == 0) {
        ret = fe_wait_used(fe, 2);
    }
#ifdef VHU_FE_TEST_HOOKS
    fe_racer_set(fe, RACE_IDLE);
#endif
    if (ret < 0) {
        goto out_unlock;
    }
    first = fe_take_used(fe);
    second = fe_take_used(fe);
    if (first.id == resp_head && second.id == req_head) {
        /* The kernel's "wrong request/response buffer": chains consumed,
         * nothing returned. */
        ret = -ENODATA;
        goto out_unlock;
    }
    if (first.id != req_head || second.id != resp_head || first.len != 0 ||
        second.len > VHU_FE_NSM_RESP_LEN) {
        tv_debug("vhu_fe: NSM used entries {%u,%u} {%u,%u}, expected "
                 "{%u,0} {%u,<=%u}",
                 first.id, first.len, second.id, second.len, req_head,
                 resp_head, VHU_FE_NSM_RESP_LEN);
        fe->broken = true;
        ret = -EIO;
        goto out_unlock;
    }
    fe->info.last_used_len = second.len;
    /* Copy out of shared memory first; only the copy is looked at. */
    memcpy(fe->scratch, fe->mem + fe->nsm_resp_off, second.len);
    n = fe_tamper(fe, VHU_FE_KIND_NSM, second.len, VHU_FE_NSM_RESP_LEN);
    if (n > resp_cap) {
        n = resp_cap;
    }
    if (n > 0) {
        memcpy(resp, fe->scratch, n);
    }
    *resp_len = n;
    fe->info.n_requests++;
    ret = 0;

out_unlock:
    pthread_mutex_unlock(&fe->lock);
    return ret;
}

/* Total bytes of @iov, or SIZE_MAX on overflow. */
static size_t fe_iov_total(const struct iovec *iov, size_t n)
{
    size_t total = 0;

    for (size_t i = 0; i < n; i++) {
        if (iov[i].iov_len > SIZE_MAX - total) {
            return SIZE_MAX;
        }
        total += iov[i].iov_len;
    }
    return total;
}

/* see vhu_frontend.h */
int vhu_fe_call(struct vhu_fe *fe, const struct iovec *out, size_t n_out,
                const struct iovec *in, size_t n_in, size_t *used_len)
{
    size_t out_total = fe_iov_total(out, n_out);
    size_t in_total = fe_iov_total(in, n_in);
    struct vring_used_elem e;
    bool indirect;
    uint32_t off;
    uint16_t head;
    uint16_t old_idx;
    size_t n;
    int ret;

    if ((n_out > 0 && out == NULL) || (n_in > 0 && in == NULL)) {
        return -EINVAL;
    }
    if (out_total == SIZE_MAX || in_total == SIZE_MAX) {
        return -EMSGSIZE;
    }
    if (out_total + in_total == 0) {
        return -EINVAL;
    }
    pthread_mutex_lock(&fe->lock);
    ret = fe_usable(fe);
    if (ret < 0) {
        goto out_unlock;
    }
    if (out_total > fe->data_len || in_total > fe->data_len - out_total) {
        ret = -EMSGSIZE;
        goto out_unlock;
    }
    indirect = fe->flags & VHU_FE_INDIRECT;
    if (indirect && !fe->indirect) {
        ret = -EOPNOTSUPP;
        goto out_unlock;
    }
    /* Bounce the readable part into guest memory, buffer by buffer, so each
     * caller buffer becomes its own descriptor(s), as a driver's sg list. */
    fe->n_chain = 0;
    off = fe->data_off;
    for (size_t i = 0; i < n_out; i++) {
        uint32_t len = (uint32_t)out[i].iov_len;

        if (len == 0) {
            continue;
        }
        memcpy(fe->mem + off, out[i].iov_base, len);
        ret = fe_chain_add(fe, off, len, false, true);
        if (ret < 0) {
            goto err_chain;
        }
        off += len;
    }
    /* Poison the writable part so bytes the device claims but never wrote
     * do not read back as an earlier response. */
    memset(fe->mem + off, 0xa5, in_total);
    for (size_t i = 0; i < n_in; i++) {
        uint32_t len = (uint32_t)in[i].iov_len;

        if (len == 0) {
            continue;
        }
        ret = fe_chain_add(fe, off, len, true, true);
        if (ret < 0) {
            goto err_chain;
        }
        off += len;
    }
    old_idx = fe->avail_idx;
    head = fe_chain_post(fe, indirect);
    ret = fe_publish_and_kick(fe, old_idx, 1);
    if (ret < 0) {
        goto out_unlock;
    }
    ret = fe_wait_used(fe, 1);
    if (ret < 0) {
        goto out_unlock;
    }
    e = fe_take_used(fe);
    if (e.id != head || e.len > in_total) {
        tv_debug("vhu_fe: used entry {%u,%u}, expected {%u,<=%zu}", e.id, e.len,
                 head, in_total);
        fe->broken = true;
        ret = -EIO;
        goto out_unlock;
    }
    fe->info.last_used_len = e.len;
    memcpy(fe->scratch, fe->mem + fe->data_off + out_total, e.len);
    n = fe_tamper(fe, VHU_FE_KIND_CALL, e.len, in_total);
    /* Scatter the private copy into the caller's buffers. */
    off = 0;
    for (size_t i = 0; i < n_in && off < n; i++) {
        size_t take = in[i].iov_len < n - off ? in[i].iov_len : n - off;

        if (take > 0) {
            memcpy(in[i].iov_base, fe->scratch + off, take);
        }
        off += (uint32_t)take;
    }
    if (used_len != NULL) {
        *used_len = n;
    }
    fe->info.n_requests++;
    ret = 0;
    goto out_unlock;

err_chain:
    /* More descriptors than a chain may have (virtio 1.2 2.7.5.3.1). */
    fe->n_chain = 0;
    ret = -EINVAL;
out_unlock:
    pthread_mutex_unlock(&fe->lock);
    return ret;
}

/* see vhu_frontend.h */
int vhu_fe_get_config(struct vhu_fe *fe, uint32_t offset, uint8_t *buf,
                      uint32_t len)
{
    struct vhost_user_config cfg;
    uint32_t size = 0;
    int ret;

    if (buf == NULL || len == 0 || len > VHOST_USER_MAX_CONFIG_SIZE) {
        return -EINVAL;
    }
    pthread_mutex_lock(&fe->lock);
    if (fe->broken) {
        ret = -EIO;
        goto out_unlock;
    }
    if (!fe->has_config) {
        ret = -EOPNOTSUPP;
        goto out_unlock;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.offset = offset;
    cfg.size = len;
    ret = fe_send(fe, VHOST_USER_GET_CONFIG, 0, &cfg,
                  VHOST_USER_CONFIG_HDR_SIZE + len, NULL, 0);
    if (ret < 0) {
        fe->broken = true;
        goto out_unlock;
    }
    ret = fe_recv_reply(fe, VHOST_USER_GET_CONFIG, &cfg, sizeof(cfg), &size);
    if (ret < 0) {
        goto out_unlock;
    }
    /* QEMU: a reply of any other size (a zero-length one included) is the
     * backend's way of failing the read. */
    if (size != VHOST_USER_CONFIG_HDR_SIZE + len || cfg.size != len) {
        ret = -EPROTO;
        goto out_unlock;
    }
    memcpy(buf, cfg.region, len);
    ret = 0;

out_unlock:
    pthread_mutex_unlock(&fe->lock);
    return ret;
}

/* see vhu_frontend.h */
void vhu_fe_get_info(struct vhu_fe *fe, struct vhu_fe_info *info)
{
    pthread_mutex_lock(&fe->lock);
    *info = fe->info;
    pthread_mutex_unlock(&fe->lock);
}

/* see vhu_frontend.h */
void vhu_fe_set_flags(struct vhu_fe *fe, uint32_t flags, uint32_t split_len)
{
    const uint32_t per_call = VHU_FE_POLL | VHU_FE_INDIRECT;

    pthread_mutex_lock(&fe->lock);
    fe->flags = (fe->flags & ~per_call) | (flags & per_call);
    fe->split_len = split_len;
    pthread_mutex_unlock(&fe->lock);
}

/* see vhu_frontend.h */
int vhu_fe_fd(const struct vhu_fe *fe)
{
    return fe->sock;
}

#ifdef VHU_FE_TEST_HOOKS
/* ---- test hooks: a hostile second vCPU ---------------------------------- */

static void *fe_racer_main(void *arg)
{
    struct fe_racer *r = arg;

    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (r->state == RACE_IDLE) {
            pthread_cond_wait(&r->cond, &r->lock);
        }
        if (r->state == RACE_QUIT) {
            break;
        }
        pthread_mutex_unlock(&r->lock);
        /* busy before the state check, so that fe_racer_set(RACE_IDLE)
         * either sees us busy or we see the new state */
        __atomic_store_n(&r->busy, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&r->state, __ATOMIC_SEQ_CST) == RACE_RUN) {
            volatile uint8_t *d = r->dst;

            for (uint32_t i = 0; i < r->len; i++) {
                d[i] = r->bytes[i];
            }
            r->n_writes++;
        }
        __atomic_store_n(&r->busy, 0, __ATOMIC_SEQ_CST);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Move the racer to @state; RACE_IDLE returns once it stopped writing. */
static void fe_racer_set(struct vhu_fe *fe, int state)
{
    struct fe_racer *r = &fe->racer;

    if (!r->running) {
        return;
    }
    pthread_mutex_lock(&r->lock);
    __atomic_store_n(&r->state, state, __ATOMIC_SEQ_CST);
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (state == RACE_IDLE) {
        while (__atomic_load_n(&r->busy, __ATOMIC_SEQ_CST) != 0) {
            sched_yield();
        }
    }
}

static void fe_racer_quit(struct vhu_fe *fe)
{
    struct fe_racer *r = &fe->racer;

    if (!r->running) {
        return;
    }
    fe_racer_set(fe, RACE_QUIT);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    r->running = false;
}

/* see vhu_frontend_test.h */
int vhu_fe_test_race_nsm_response(struct vhu_fe *fe, uint32_t off,
                                  const uint8_t *bytes, uint32_t len)
{
    struct fe_racer *r = &fe->racer;
    int ret = 0;

    pthread_mutex_lock(&fe->lock);
    fe_racer_quit(fe);
    if (len == 0) {
        goto out_unlock;
    }
    if (len > sizeof(r->bytes) || off > VHU_FE_NSM_RESP_LEN ||
        len > VHU_FE_NSM_RESP_LEN - off) {
        ret = -EINVAL;
        goto out_unlock;
    }
    memset(r, 0, sizeof(*r));
    r->dst = fe->mem + fe->nsm_resp_off + off;
    memcpy(r->bytes, bytes, len);
    r->len = len;
    r->state = RACE_IDLE;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    ret = -pthread_create(&r->thread, NULL, fe_racer_main, r);
    if (ret == 0) {
        r->running = true;
    } else {
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
    }

out_unlock:
    pthread_mutex_unlock(&fe->lock);
    return ret;
}

/* see vhu_frontend_test.h */
uint64_t vhu_fe_test_race_writes(struct vhu_fe *fe)
{
    uint64_t n;

    pthread_mutex_lock(&fe->lock);
    n = fe->racer.n_writes;
    pthread_mutex_unlock(&fe->lock);
    return n;
}
#endif /* VHU_FE_TEST_HOOKS */
