/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user back-end library driven over a socketpair by an in-test
 * front-end that plays QEMU (the message sequence of QEMU's
 * hw/virtio/vhost-user.c) and the guest driver, with memfd guest memory. Each
 * message is sent, then vhu_dispatch() runs, then the reply (if any) is read;
 * kicks are eventfd writes followed by one turn of the epoll helper.
 *
 * Devices: a toy "reverse" device with a 3-byte config space for library
 * behaviour, the real NSM glue (vhu_nsm.c) over the real NSM model, and the
 * real RPMB glue (vhu_rpmb.c) over the RPMB model and its in-memory store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define TV_VIRTIO_INTERNAL 1 /* gmem_gpa() to look at the map */
#include "harness.h"
#include "common/bytes.h"
#include "daemon/vhu_nsm.h"
#include "daemon/vhu_rpmb.h"
#include "store/store.h"
#include "vhost/vhu.h"
#include "vhost/vhu_epoll.h"

#define MEM_SIZE   (2u * 1024 * 1024)
#define HOLE_START 0xa0000u /* QEMU pc: two regions around a hole */
#define HOLE_END   0xc0000u
#define QNUM       64
#define GPA_DESC   0x100000u
#define GPA_AVAIL  0x101000u
#define GPA_USED   0x102000u
#define GPA_BUF    0x110000u /* 4 KiB data buffers from here */

#define F_QEMU_ACK 0x170000000ull /* features QEMU acked in the field */

/* ---- the toy device ---- */

struct toy {
    unsigned n_process;  /* process callbacks */
    unsigned n_reset;    /* reset callbacks */
    int last_started;    /* last queue_started value, -1 none */
    struct vring_elem e; /* chain being served */
};

static int toy_get_config(struct vhu_dev *dev, uint32_t off, uint8_t *buf,
                          uint32_t len)
{
    static const uint8_t cfg[3] = {0x11, 0x22, 0x33};

    (void)dev;
    memcpy(buf, cfg + off, len);
    return 0;
}

/* Write the readable bytes back reversed. */
static void toy_process(struct vhu_dev *dev, unsigned q)
{
    struct toy *t = vhu_opaque(dev);
    uint8_t in[4096];
    uint8_t out[4096];
    size_t n;
    size_t i;

    t->n_process++;
    while (vhu_queue_pop(dev, q, &t->e) == VRING_OK) {
        n = vhu_queue_read(dev, &t->e, in, sizeof(in));
        for (i = 0; i < n; i++) {
            out[i] = in[n - 1 - i];
        }
        n = vhu_queue_write(dev, &t->e, out, n);
        if (vhu_queue_push(dev, q, t->e.head, (uint32_t)n) != VRING_OK) {
            return;
        }
    }
}

static void toy_started(struct vhu_dev *dev, unsigned q, bool started)
{
    struct toy *t = vhu_opaque(dev);

    (void)q;
    t->last_started = started;
}

static void toy_reset(struct vhu_dev *dev)
{
    struct toy *t = vhu_opaque(dev);

    t->n_reset++;
}

static const struct vhu_device_ops toy_ops = {
    .get_config = toy_get_config,
    .queue_started = toy_started,
    .process = toy_process,
    .reset = toy_reset,
};

/* ---- the front-end ---- */

struct fe {
    int sock;            /* our end of the socketpair */
    struct vhu_dev dev;  /* back-end under test */
    struct vhu_epoll ep; /* its loop */
    struct toy toy;      /* toy device state */
    int mfd;             /* guest memory memfd */
    uint8_t *mem;        /* our mapping: host = mem + gpa */
    int kick, call, err; /* our copies of the eventfds */
    uint16_t avail_idx;  /* driver's next avail index */
    uint16_t used_seen;  /* driver's last used index consumed */
};

static void fe_setup(struct fe *f, const struct vhu_device_ops *ops,
                     void *opaque, uint32_t config_size)
{
    struct vhu_config cfg;
    int sv[2];

    memset(f, 0, sizeof(*f));
    f->toy.last_started = -1;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    f->sock = sv[0];
    assert_int_equal(vhu_epoll_init(&f->ep), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.ops = ops;
    cfg.opaque = opaque != NULL ? opaque : &f->toy;
    cfg.loop = &vhu_epoll_ops;
    cfg.loop_ctx = &f->ep;
    cfg.n_queues = 1;
    cfg.config_size = config_size;
    assert_int_equal(vhu_init(&f->dev, &cfg), 0);
    assert_int_equal(vhu_attach(&f->dev, sv[1]), 0);
    f->mfd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(f->mfd >= 0);
    assert_int_equal(ftruncate(f->mfd, MEM_SIZE), 0);
    f->mem =
        mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->mfd, 0);
    assert_true(f->mem != MAP_FAILED);
    /* The kick starts signalled, as QEMU's does. */
    f->kick = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    f->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(f->kick >= 0 && f->call >= 0 && f->err >= 0);
}

static void fe_teardown(struct fe *f)
{
    vhu_detach(&f->dev);
    vhu_epoll_fini(&f->ep);
    close(f->sock);
    munmap(f->mem, MEM_SIZE);
    close(f->mfd);
    close(f->kick);
    close(f->call);
    close(f->err);
}

/* Send one message (without dispatching it). */
static void fe_send_raw(struct fe *f, uint32_t req, uint32_t flags,
                        const void *payload, uint32_t size, const int *fds,
                        unsigned n_fds)
{
    union {
        char buf[CMSG_SPACE(16 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    uint8_t hdr[12];
    struct iovec iov[2] = {{hdr, 12}, {(void *)payload, size}};
    struct msghdr mh;

    store_le32(hdr, req);
    store_le32(hdr + 4, flags);
    store_le32(hdr + 8, size);
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = iov;
    mh.msg_iovlen = size > 0 ? 2 : 1;
    if (n_fds > 0) {
        struct cmsghdr *c;

        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
    }
    assert_int_equal(sendmsg(f->sock, &mh, 0), (ssize_t)(12 + size));
}

/* Send and let the back-end handle it; returns vhu_dispatch()'s result. */
static int fe_send(struct fe *f, uint32_t req, uint32_t flags,
                   const void *payload, uint32_t size, const int *fds,
                   unsigned n_fds)
{
    fe_send_raw(f, req, VHOST_USER_VERSION | flags, payload, size, fds, n_fds);
    return vhu_dispatch(&f->dev);
}

/* Read a reply to @req; returns its payload size, -1 if none is waiting. */
static int fe_reply(struct fe *f, uint32_t req, uint8_t *buf, size_t cap)
{
    uint8_t hdr[12];
    ssize_t n = recv(f->sock, hdr, sizeof(hdr), MSG_DONTWAIT);
    uint32_t size;

    if (n < 0 && errno == EAGAIN) {
        return -1;
    }
    assert_int_equal(n, 12);
    assert_int_equal(load_le32(hdr), req);
    assert_int_equal(load_le32(hdr + 4),
                     VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
    size = load_le32(hdr + 8);
    assert_true(size <= cap);
    if (size > 0) {
        assert_int_equal(recv(f->sock, buf, size, MSG_WAITALL), size);
    }
    return (int)size;
}

static uint64_t fe_get_u64(struct fe *f, uint32_t req)
{
    uint8_t b[8];

    assert_int_equal(fe_send(f, req, 0, NULL, 0, NULL, 0), 0);
    assert_int_equal(fe_reply(f, req, b, sizeof(b)), 8);
    return load_le64(b);
}

/* Send a u64 with NEED_REPLY and return the REPLY_ACK value. */
static uint64_t fe_ack_u64(struct fe *f, uint32_t req, uint64_t v,
                           const int *fds, unsigned n_fds)
{
    uint8_t p[8];
    uint8_t b[8];

    store_le64(p, v);
    assert_int_equal(
        fe_send(f, req, VHOST_USER_NEED_REPLY_MASK, p, 8, fds, n_fds), 0);
    assert_int_equal(fe_reply(f, req, b, sizeof(b)), 8);
    return load_le64(b);
}

static uint64_t fe_ack_state(struct fe *f, uint32_t req, uint32_t idx,
                             uint32_t num)
{
    uint8_t p[8];
    uint8_t b[8];

    store_le32(p, idx);
    store_le32(p + 4, num);
    assert_int_equal(fe_send(f, req, VHOST_USER_NEED_REPLY_MASK, p, 8, NULL, 0),
                     0);
    assert_int_equal(fe_reply(f, req, b, sizeof(b)), 8);
    return load_le64(b);
}

static void mem_reg_payload(uint8_t p[40], uint64_t gpa, uint64_t size,
                            uint64_t uva, uint64_t off)
{
    memset(p, 0, 8);
    store_le64(p + 8, gpa);
    store_le64(p + 16, size);
    store_le64(p + 24, uva);
    store_le64(p + 32, off);
}

static uint64_t fe_add_region(struct fe *f, uint64_t gpa, uint64_t size)
{
    uint8_t p[40];
    uint8_t b[8];

    mem_reg_payload(p, gpa, size, (uint64_t)(uintptr_t)(f->mem + gpa), gpa);
    assert_int_equal(fe_send(f, VHOST_USER_ADD_MEM_REG,
                             VHOST_USER_NEED_REPLY_MASK, p, 40, &f->mfd, 1),
                     0);
    assert_int_equal(fe_reply(f, VHOST_USER_ADD_MEM_REG, b, 8), 8);
    return load_le64(b);
}

/* Realize + DRIVER_OK exactly as QEMU's generic device does it. */
static void fe_bringup(struct fe *f, uint64_t features)
{
    uint64_t pf;
    uint8_t p[40];
    uint8_t b[8];

    assert_int_equal(fe_get_u64(f, VHOST_USER_GET_FEATURES) &
                         (1ull << VHOST_USER_F_PROTOCOL_FEATURES),
                     1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    pf = fe_get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES);
    store_le64(p, pf);
    assert_int_equal(
        fe_send(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, p, 8, NULL, 0), 0);
    assert_int_equal(fe_reply(f, 0, b, 8), -1);
    assert_int_equal(fe_get_u64(f, VHOST_USER_GET_QUEUE_NUM), 1);
    assert_int_equal(fe_get_u64(f, VHOST_USER_GET_MAX_MEM_SLOTS), 32);
    assert_int_equal(fe_send(f, VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0), 0);
    (void)fe_get_u64(f, VHOST_USER_GET_FEATURES);
    assert_int_equal(fe_ack_u64(f, VHOST_USER_SET_VRING_CALL, 0, &f->call, 1),
                     0);
    assert_int_equal(fe_ack_u64(f, VHOST_USER_SET_VRING_ERR, 0, &f->err, 1), 0);
    /* DRIVER_OK */
    store_le64(p, features);
    assert_int_equal(fe_send(f, VHOST_USER_SET_FEATURES, 0, p, 8, NULL, 0), 0);
    assert_int_equal(fe_add_region(f, 0, HOLE_START), 0);
    assert_int_equal(fe_add_region(f, HOLE_END, MEM_SIZE - HOLE_END), 0);
    assert_int_equal(fe_ack_state(f, VHOST_USER_SET_VRING_NUM, 0, QNUM), 0);
    assert_int_equal(fe_ack_state(f, VHOST_USER_SET_VRING_BASE, 0, 0), 0);
    memset(p, 0, sizeof(p));
    store_le64(p + 8, (uint64_t)(uintptr_t)(f->mem + GPA_DESC));
    store_le64(p + 16, (uint64_t)(uintptr_t)(f->mem + GPA_USED));
    store_le64(p + 24, (uint64_t)(uintptr_t)(f->mem + GPA_AVAIL));
    assert_int_equal(fe_send(f, VHOST_USER_SET_VRING_ADDR, 0, p, 40, NULL, 0),
                     0);
    assert_int_equal(fe_ack_u64(f, VHOST_USER_SET_VRING_KICK, 0, &f->kick, 1),
                     0);
    assert_int_equal(fe_ack_u64(f, VHOST_USER_SET_VRING_CALL, 0, &f->call, 1),
                     0);
    assert_int_equal(fe_ack_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
    assert_int_equal(fe_ack_u64(f, VHOST_USER_SET_STATUS, 0x0f, NULL, 0), 0);
    assert_int_equal(fe_get_u64(f, VHOST_USER_GET_STATUS), 0x0f);
}

/* Run the back-end's loop once (kick callbacks). */
static void fe_poll(struct fe *f)
{
    assert_true(vhu_epoll_run_once(&f->ep, 0) >= 0);
}

static void fe_kick(struct fe *f)
{
    uint64_t one = 1;

    assert_int_equal(write(f->kick, &one, 8), 8);
    fe_poll(f);
}

static bool fe_eventfd_fired(int fd)
{
    uint64_t v;

    return read(fd, &v, 8) == 8;
}

static void put_desc(struct fe *f, unsigned i, uint64_t gpa, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t *d = f->mem + GPA_DESC + 16 * i;

    store_le64(d, gpa);
    store_le32(d + 8, len);
    store_le16(d + 12, flags);
    store_le16(d + 14, next);
}

static void publish(struct fe *f, uint16_t head)
{
    store_le16(f->mem + GPA_AVAIL + 4 + 2 * (f->avail_idx % QNUM), head);
    f->avail_idx++;
    __atomic_store_n((uint16_t *)(void *)(f->mem + GPA_AVAIL + 2), f->avail_idx,
                     __ATOMIC_RELEASE);
}

static uint16_t used_idx(const struct fe *f)
{
    return load_le16(f->mem + GPA_USED + 2);
}

/* Consume the next used element. */
static void next_used(struct fe *f, uint32_t *id, uint32_t *len)
{
    const uint8_t *e = f->mem + GPA_USED + 4 + 8 * (f->used_seen % QNUM);

    assert_true(f->used_seen != used_idx(f));
    *id = load_le32(e);
    *len = load_le32(e + 4);
    f->used_seen++;
}

static uint8_t *buf(struct fe *f, unsigned k)
{
    return f->mem + GPA_BUF + 4096 * k;
}

static uint64_t buf_gpa(unsigned k)
{
    return GPA_BUF + 4096ull * k;
}

static unsigned count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned n = 0;

    assert_non_null(d);
    while (readdir(d) != NULL) {
        n++;
    }
    closedir(d);
    return n;
}

/* ---- tests ---- */

static void features_offered(void **state)
{
    struct fe f;
    uint64_t pf;
    uint8_t p[8];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    assert_int_equal(fe_get_u64(&f, VHOST_USER_GET_FEATURES),
                     (1ull << 32) | (1ull << 28) | (1ull << 29) | (1ull << 30));
    pf = fe_get_u64(&f, VHOST_USER_GET_PROTOCOL_FEATURES);
    assert_int_equal(pf, (1ull << 0) | (1ull << 3) | (1ull << 13) |
                             (1ull << 15) | (1ull << 16));
    /* REPLY_ACK on: a feature never offered is refused. */
    store_le64(p, pf);
    assert_int_equal(
        fe_send(&f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, p, 8, NULL, 0), 0);
    assert_int_not_equal(fe_ack_u64(&f, VHOST_USER_SET_FEATURES,
                                    F_QEMU_ACK | (1ull << 26), NULL, 0),
                         0);
    assert_int_equal(
        fe_ack_u64(&f, VHOST_USER_SET_FEATURES, F_QEMU_ACK, NULL, 0), 0);
    assert_int_not_equal(
        fe_ack_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES, 1ull << 9, NULL, 0),
        0);
    fe_teardown(&f);

    /* A device with config space also offers CONFIG. */
    fe_setup(&f, &toy_ops, NULL, 3);
    assert_int_equal(fe_get_u64(&f, VHOST_USER_GET_PROTOCOL_FEATURES),
                     pf | (1ull << 9));
    fe_teardown(&f);
}

static void reply_ack(void **state)
{
    struct fe f;
    uint8_t b[8];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    /* Before REPLY_ACK is negotiated, NEED_REPLY gets no answer. */
    assert_int_equal(fe_send(&f, VHOST_USER_SET_OWNER,
                             VHOST_USER_NEED_REPLY_MASK, NULL, 0, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_SET_OWNER, b, 8), -1);
    assert_int_equal(fe_ack_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES,
                                1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK, NULL,
                                0),
                     0);
    /* Second SET_OWNER on one connection: an error, not a crash. */
    assert_int_equal(fe_send(&f, VHOST_USER_SET_OWNER,
                             VHOST_USER_NEED_REPLY_MASK, NULL, 0, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_SET_OWNER, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    /* Without NEED_REPLY: silence. */
    assert_int_equal(fe_send(&f, VHOST_USER_RESET_OWNER, 0, NULL, 0, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_RESET_OWNER, b, 8), -1);
    assert_int_equal(fe_ack_state(&f, VHOST_USER_SET_VRING_NUM, 0, 256), 0);
    assert_int_not_equal(fe_ack_state(&f, VHOST_USER_SET_VRING_NUM, 0, 100), 0);
    assert_int_not_equal(fe_ack_state(&f, VHOST_USER_SET_VRING_NUM, 0, 65536),
                         0);
    assert_int_not_equal(fe_ack_state(&f, VHOST_USER_SET_VRING_NUM, 1, 64), 0);
    assert_int_equal(fe_ack_state(&f, VHOST_USER_SET_VRING_NUM, 0, 32768), 0);
    fe_teardown(&f);
}

static void get_config(void **state)
{
    struct fe f;
    uint8_t p[12 + 3];
    uint8_t b[300];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 3);
    memset(p, 0, sizeof(p));
    store_le32(p + 4, 3);
    assert_int_equal(
        fe_send(&f, VHOST_USER_GET_CONFIG, 0, p, sizeof(p), NULL, 0), 0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_CONFIG, b, sizeof(b)), 15);
    assert_int_equal(load_le32(b + 4), 3);
    assert_memory_equal(b + 12, "\x11\x22\x33", 3);
    /* offset 1, size 2 */
    store_le32(p, 1);
    store_le32(p + 4, 2);
    assert_int_equal(fe_send(&f, VHOST_USER_GET_CONFIG, 0, p, 14, NULL, 0), 0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_CONFIG, b, sizeof(b)), 14);
    assert_memory_equal(b + 12, "\x22\x33", 2);
    /* beyond the config space: a zero-length reply */
    store_le32(p, 2);
    store_le32(p + 4, 3);
    assert_int_equal(
        fe_send(&f, VHOST_USER_GET_CONFIG, 0, p, sizeof(p), NULL, 0), 0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_CONFIG, b, sizeof(b)), 0);
    /* wrapping offset + size */
    store_le32(p, 0xffffffffu);
    store_le32(p + 4, 3);
    assert_int_equal(
        fe_send(&f, VHOST_USER_GET_CONFIG, 0, p, sizeof(p), NULL, 0), 0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_CONFIG, b, sizeof(b)), 0);
    /* short message: still answered */
    assert_int_equal(fe_send(&f, VHOST_USER_GET_CONFIG, 0, p, 4, NULL, 0), 0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_CONFIG, b, sizeof(b)), 0);
    /* SET_CONFIG: read-only, refused */
    assert_int_equal(fe_ack_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES,
                                (1ull << 3) | (1ull << 9), NULL, 0),
                     0);
    store_le32(p, 0);
    store_le32(p + 4, 3);
    assert_int_equal(fe_send(&f, VHOST_USER_SET_CONFIG,
                             VHOST_USER_NEED_REPLY_MASK, p, sizeof(p), NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_SET_CONFIG, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    fe_teardown(&f);

    /* No config space at all: GET_CONFIG answered empty. */
    fe_setup(&f, &toy_ops, NULL, 0);
    store_le32(p, 0);
    store_le32(p + 4, 3);
    assert_int_equal(
        fe_send(&f, VHOST_USER_GET_CONFIG, 0, p, sizeof(p), NULL, 0), 0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_CONFIG, b, sizeof(b)), 0);
    fe_teardown(&f);
}

static void unknown_request(void **state)
{
    struct fe f;
    uint8_t b[8];
    uint8_t p[24] = {0};
    unsigned fds_before;
    int extra;

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    fds_before = count_open_fds();
    extra = eventfd(0, EFD_CLOEXEC);
    assert_int_equal(
        fe_send(&f, 99, VHOST_USER_NEED_REPLY_MASK, p, 16, &extra, 1), 0);
    close(extra);
    assert_int_equal(fe_reply(&f, 99, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    assert_int_equal(count_open_fds(), fds_before);
    assert_int_equal(fe_send(&f, 99, 0, NULL, 0, NULL, 0), 0);
    assert_int_equal(fe_reply(&f, 99, b, 8), -1);
    assert_int_equal(fe_send(&f, VHOST_USER_NONE, VHOST_USER_NEED_REPLY_MASK,
                             NULL, 0, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_NONE, b, 8), 8);
    /* Messages for features never offered are refused the same way. */
    assert_int_equal(fe_send(&f, VHOST_USER_SET_LOG_BASE,
                             VHOST_USER_NEED_REPLY_MASK, p, 16, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_SET_LOG_BASE, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    /* Requests that always expect a reply get one even if never offered. */
    assert_int_not_equal(fe_get_u64(&f, VHOST_USER_CHECK_DEVICE_STATE), 0);
    assert_int_equal(fe_send(&f, VHOST_USER_GET_INFLIGHT_FD, 0, p, 16, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_INFLIGHT_FD, p, 16 + 8), 24);
    assert_int_equal(load_le64(p), 0);
    /* The connection goes on. */
    assert_int_not_equal(fe_get_u64(&f, VHOST_USER_GET_FEATURES), 0);
    fe_teardown(&f);
}

static void truncated_message(void **state)
{
    struct fe f;
    uint8_t hdr[12];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    store_le32(hdr, VHOST_USER_SET_FEATURES);
    store_le32(hdr + 4, VHOST_USER_VERSION);
    store_le32(hdr + 8, 8);
    assert_int_equal(write(f.sock, hdr, 12), 12);
    assert_int_equal(write(f.sock, "abc", 3), 3);
    assert_int_equal(shutdown(f.sock, SHUT_WR), 0);
    assert_int_equal(vhu_dispatch(&f.dev), -ECONNRESET);
    fe_teardown(&f);

    /* Header cut short. */
    fe_setup(&f, &toy_ops, NULL, 0);
    assert_int_equal(write(f.sock, hdr, 7), 7);
    assert_int_equal(shutdown(f.sock, SHUT_WR), 0);
    assert_int_equal(vhu_dispatch(&f.dev), -ECONNRESET);
    fe_teardown(&f);
}

static void oversized_message(void **state)
{
    struct fe f;
    uint8_t hdr[12];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    store_le32(hdr, VHOST_USER_SET_MEM_TABLE);
    store_le32(hdr + 4, VHOST_USER_VERSION);
    store_le32(hdr + 8, VHOST_USER_MAX_PAYLOAD + 1);
    assert_int_equal(write(f.sock, hdr, 12), 12);
    assert_int_equal(vhu_dispatch(&f.dev), -EMSGSIZE);
    fe_teardown(&f);

    fe_setup(&f, &toy_ops, NULL, 0);
    store_le32(hdr + 4, 2); /* version 2 */
    store_le32(hdr + 8, 0);
    assert_int_equal(write(f.sock, hdr, 12), 12);
    assert_int_equal(vhu_dispatch(&f.dev), -EPROTO);
    fe_teardown(&f);
}

static void wrong_payload_sizes(void **state)
{
    struct fe f;
    uint8_t p[64] = {0};
    uint8_t b[16];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    assert_int_equal(
        fe_ack_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES, 1ull << 3, NULL, 0),
        0);
    assert_int_equal(fe_send(&f, VHOST_USER_SET_FEATURES,
                             VHOST_USER_NEED_REPLY_MASK, p, 4, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_SET_FEATURES, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    assert_int_equal(fe_send(&f, VHOST_USER_SET_VRING_ADDR,
                             VHOST_USER_NEED_REPLY_MASK, p, 39, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_SET_VRING_ADDR, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    /* GET_VRING_BASE with a bad body is still answered. */
    assert_int_equal(fe_send(&f, VHOST_USER_GET_VRING_BASE, 0, p, 3, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_VRING_BASE, b, 16), 8);
    store_le32(p, 7);
    assert_int_equal(fe_send(&f, VHOST_USER_GET_VRING_BASE, 0, p, 8, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_VRING_BASE, b, 16), 8);
    assert_int_equal(load_le32(b), 7);
    /* SET_MEM_TABLE claiming 9 regions */
    store_le32(p, 9);
    assert_int_equal(fe_send(&f, VHOST_USER_SET_MEM_TABLE,
                             VHOST_USER_NEED_REPLY_MASK, p, 8, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_SET_MEM_TABLE, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    fe_teardown(&f);
}

static void wrong_fd_counts(void **state)
{
    struct fe f;
    uint8_t p[8 + 2 * 32];
    uint8_t b[8];
    unsigned fds_before;
    int two[2];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    assert_int_equal(
        fe_ack_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES, 1ull << 3, NULL, 0),
        0);
    fds_before = count_open_fds();
    /* ADD_MEM_REG without its fd */
    mem_reg_payload(p, 0, 4096, 0x1000, 0);
    assert_int_equal(fe_send(&f, VHOST_USER_ADD_MEM_REG,
                             VHOST_USER_NEED_REPLY_MASK, p, 40, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_ADD_MEM_REG, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    /* A region larger than its file would SIGBUS on access: refused. */
    mem_reg_payload(p, 0, MEM_SIZE, 0x1000, 4096);
    assert_int_equal(fe_send(&f, VHOST_USER_ADD_MEM_REG,
                             VHOST_USER_NEED_REPLY_MASK, p, 40, &f.mfd, 1),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_ADD_MEM_REG, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    /* SET_VRING_KICK with two fds: refused, both closed */
    two[0] = eventfd(0, EFD_CLOEXEC);
    two[1] = eventfd(0, EFD_CLOEXEC);
    assert_int_not_equal(fe_ack_u64(&f, VHOST_USER_SET_VRING_KICK, 0, two, 2),
                         0);
    /* SET_VRING_CALL with NOFD and an fd anyway */
    assert_int_not_equal(
        fe_ack_u64(&f, VHOST_USER_SET_VRING_CALL, 1u << 8, two, 1), 0);
    /* KICK without fd and without NOFD */
    assert_int_not_equal(fe_ack_u64(&f, VHOST_USER_SET_VRING_KICK, 0, NULL, 0),
                         0);
    /* SET_MEM_TABLE: two regions, one fd */
    memset(p, 0, sizeof(p));
    store_le32(p, 2);
    store_le64(p + 8 + 8, 4096);
    store_le64(p + 40 + 8, 4096);
    store_le64(p + 40, 0x10000);
    assert_int_equal(fe_send(&f, VHOST_USER_SET_MEM_TABLE,
                             VHOST_USER_NEED_REPLY_MASK, p, sizeof(p), &f.mfd,
                             1),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_SET_MEM_TABLE, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    close(two[0]);
    close(two[1]);
    assert_int_equal(count_open_fds(), fds_before);
    assert_int_equal(f.dev.gm.n_regions, 0);
    fe_teardown(&f);
}

/* Full QEMU sequence, a spurious kick, requests, suspend, restart. */
static void qemu_sequence(void **state)
{
    struct fe f;
    uint32_t id, len;
    uint8_t p[8];
    uint8_t b[8];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    fe_bringup(&f, F_QEMU_ACK);
    /* Spurious first kick: ring starts, nothing to do, no interrupt. */
    fe_poll(&f);
    assert_int_equal(f.toy.last_started, 1);
    assert_int_equal(used_idx(&f), 0);
    assert_false(fe_eventfd_fired(f.call));
    /* One request: "abc" readable, 8 bytes writable. */
    memcpy(buf(&f, 0), "abc", 3);
    put_desc(&f, 0, buf_gpa(0), 3, VRING_DESC_F_NEXT, 1);
    put_desc(&f, 1, buf_gpa(1), 8, VRING_DESC_F_WRITE, 0);
    publish(&f, 0);
    fe_kick(&f);
    next_used(&f, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 3);
    assert_memory_equal(buf(&f, 1), "cba", 3);
    assert_true(fe_eventfd_fired(f.call));
    /* Disabled ring: a kick is remembered, served on enable. */
    assert_int_equal(fe_ack_state(&f, VHOST_USER_SET_VRING_ENABLE, 0, 0), 0);
    publish(&f, 0);
    fe_kick(&f);
    assert_int_equal(used_idx(&f), 1);
    /* EVENT_IDX: like Linux, ask for an interrupt after what we consumed. */
    store_le16(f.mem + GPA_AVAIL + 4 + 2 * QNUM, f.used_seen);
    assert_int_equal(fe_ack_state(&f, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
    assert_int_equal(used_idx(&f), 2);
    assert_true(fe_eventfd_fired(f.call));
    /* Poweroff: GET_VRING_BASE stops the ring and reports next avail. */
    store_le32(p, 0);
    store_le32(p + 4, 0);
    assert_int_equal(fe_send(&f, VHOST_USER_GET_VRING_BASE, 0, p, 8, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_VRING_BASE, b, 8), 8);
    assert_int_equal(load_le32(b + 4), 2);
    assert_int_equal(f.toy.last_started, 0);
    /* Stopped: a new request is not served (device is suspended). */
    publish(&f, 0);
    assert_int_equal(vhu_epoll_run_once(&f.ep, 0), 0);
    assert_int_equal(used_idx(&f), 2);
    /* SET_STATUS 0 resets the device. */
    assert_int_equal(fe_ack_u64(&f, VHOST_USER_SET_STATUS, 0, NULL, 0), 0);
    assert_int_equal(f.toy.n_reset, 1);
    fe_teardown(&f);
}

/*
 * A device whose guest refills the ring the moment a chain is served (as a
 * second vCPU can): the ring never runs dry.
 */
static void refill_process(struct vhu_dev *dev, unsigned q)
{
    struct fe *f = vhu_opaque(dev);

    f->toy.n_process++;
    while (vhu_queue_pop(dev, q, &f->toy.e) == VRING_OK) {
        if (vhu_queue_push(dev, q, f->toy.e.head, 0) != VRING_OK) {
            return;
        }
        publish(f, 0);
    }
}

static const struct vhu_device_ops refill_ops = {.process = refill_process};

/*
 * Bounded work per kick: one loop iteration serves VHU_QUEUE_BUDGET chains,
 * then yields with the kick fd re-armed, so the loop gets to messages and
 * signals between two runs, and the ring keeps being served after them.
 */
static void budget_per_kick(void **state)
{
    struct fe f;
    uint8_t p[8];
    uint8_t b[8];

    (void)state;
    fe_setup(&f, &refill_ops, &f, 0);
    fe_bringup(&f, F_QEMU_ACK);
    put_desc(&f, 0, buf_gpa(0), 8, VRING_DESC_F_WRITE, 0);
    publish(&f, 0);
    fe_poll(&f); /* the kick starts signalled */
    assert_int_equal(f.toy.n_process, 1);
    assert_int_equal(used_idx(&f), VHU_QUEUE_BUDGET);
    /* Re-armed: the loop comes back to the ring by itself. */
    fe_poll(&f);
    assert_int_equal(f.toy.n_process, 2);
    assert_int_equal(used_idx(&f), 2 * VHU_QUEUE_BUDGET);
    /* A message between two runs is answered, and stops the ring. */
    store_le32(p, 0);
    store_le32(p + 4, 0);
    assert_int_equal(fe_send(&f, VHOST_USER_GET_VRING_BASE, 0, p, 8, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_VRING_BASE, b, 8), 8);
    assert_int_equal(load_le32(b + 4), 2 * VHU_QUEUE_BUDGET);
    fe_poll(&f);
    assert_int_equal(f.toy.n_process, 2);
    assert_int_equal(used_idx(&f), 2 * VHU_QUEUE_BUDGET);
    fe_teardown(&f);
}

/* Indirect descriptors and EVENT_IDX through the whole stack. */
static void indirect_and_event_idx(void **state)
{
    struct fe f;
    uint32_t id, len;
    uint8_t *t;

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    fe_bringup(&f, F_QEMU_ACK);
    fe_poll(&f);
    t = buf(&f, 10);
    memcpy(buf(&f, 0), "xy", 2);
    store_le64(t, buf_gpa(0));
    store_le32(t + 8, 2);
    store_le16(t + 12, VRING_DESC_F_NEXT);
    store_le16(t + 14, 1);
    store_le64(t + 16, buf_gpa(1));
    store_le32(t + 24, 2);
    store_le16(t + 28, VRING_DESC_F_WRITE);
    put_desc(&f, 5, buf_gpa(10), 32, VRING_DESC_F_INDIRECT, 0);
    /* used_event = 5: no interrupt for the first completion */
    store_le16(f.mem + GPA_AVAIL + 4 + 2 * QNUM, 5);
    publish(&f, 5);
    fe_kick(&f);
    next_used(&f, &id, &len);
    assert_int_equal(id, 5);
    assert_int_equal(len, 2);
    assert_memory_equal(buf(&f, 1), "yx", 2);
    /* first decision always signals */
    assert_true(fe_eventfd_fired(f.call));
    publish(&f, 5);
    fe_kick(&f);
    assert_false(fe_eventfd_fired(f.call));
    /* avail_event published: we want a kick for the next entry */
    assert_int_equal(load_le16(f.mem + GPA_USED + 4 + 8 * QNUM), 2);
    fe_teardown(&f);
}

/* A hostile chain breaks the queue, signals the err fd, never crashes. */
static void hostile_chain_breaks_queue(void **state)
{
    struct fe f;
    uint8_t p[8];
    uint8_t b[8];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    fe_bringup(&f, F_QEMU_ACK);
    fe_poll(&f);
    /* Buffer in the hole between the two regions. */
    put_desc(&f, 0, HOLE_START + 16, 8, VRING_DESC_F_WRITE, 0);
    publish(&f, 0);
    fe_kick(&f);
    assert_true(vhu_queue_broken(&f.dev, 0));
    assert_true(fe_eventfd_fired(f.err));
    assert_int_equal(used_idx(&f), 0);
    /* Messages still answered; a fresh base revives the ring. */
    store_le32(p, 0);
    store_le32(p + 4, 0);
    assert_int_equal(fe_send(&f, VHOST_USER_GET_VRING_BASE, 0, p, 8, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_GET_VRING_BASE, b, 8), 8);
    assert_int_equal(fe_ack_state(&f, VHOST_USER_SET_VRING_BASE, 0, 1), 0);
    assert_false(vhu_queue_broken(&f.dev, 0));
    fe_teardown(&f);
}

/* REM_MEM_REG (with an fd, which must be closed), then a kick. */
static void rem_mem_reg_then_process(void **state)
{
    struct fe f;
    uint8_t p[40];
    uint8_t b[8];
    unsigned fds_before;
    int extra;

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    fe_bringup(&f, F_QEMU_ACK);
    fe_poll(&f);
    fds_before = count_open_fds();
    extra = dup(f.mfd);
    mem_reg_payload(p, HOLE_END, MEM_SIZE - HOLE_END,
                    (uint64_t)(uintptr_t)(f.mem + HOLE_END), HOLE_END);
    assert_int_equal(fe_send(&f, VHOST_USER_REM_MEM_REG,
                             VHOST_USER_NEED_REPLY_MASK, p, 40, &extra, 1),
                     0);
    close(extra);
    assert_int_equal(fe_reply(&f, VHOST_USER_REM_MEM_REG, b, 8), 8);
    assert_int_equal(load_le64(b), 0);
    assert_int_equal(count_open_fds(), fds_before);
    assert_int_equal(f.dev.gm.n_regions, 1);
    /* Removing it twice is an error. */
    assert_int_equal(fe_send(&f, VHOST_USER_REM_MEM_REG,
                             VHOST_USER_NEED_REPLY_MASK, p, 40, NULL, 0),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_REM_MEM_REG, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    /* The rings lived there: the next kick breaks the queue, safely. */
    put_desc(&f, 0, buf_gpa(0), 8, VRING_DESC_F_WRITE, 0);
    publish(&f, 0);
    fe_kick(&f);
    assert_true(vhu_queue_broken(&f.dev, 0));
    assert_true(fe_eventfd_fired(f.err));
    fe_teardown(&f);
}

static void set_mem_table_and_nofd_kick(void **state)
{
    struct fe f;
    uint8_t p[8 + 2 * 32];
    uint8_t b[8];
    uint32_t id, len;
    int fds[2];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    /* No protocol features: legacy front-end, rings enabled by features. */
    store_le64(p, (1ull << 32) | (1ull << 28) | (1ull << 29));
    assert_int_equal(fe_send(&f, VHOST_USER_SET_FEATURES, 0, p, 8, NULL, 0), 0);
    memset(p, 0, sizeof(p));
    store_le32(p, 2);
    store_le64(p + 8, 0);
    store_le64(p + 16, HOLE_START);
    store_le64(p + 24, (uint64_t)(uintptr_t)f.mem);
    store_le64(p + 32, 0);
    store_le64(p + 40, HOLE_END);
    store_le64(p + 48, MEM_SIZE - HOLE_END);
    store_le64(p + 56, (uint64_t)(uintptr_t)(f.mem + HOLE_END));
    store_le64(p + 64, HOLE_END);
    fds[0] = f.mfd;
    fds[1] = f.mfd;
    assert_int_equal(
        fe_send(&f, VHOST_USER_SET_MEM_TABLE, 0, p, sizeof(p), fds, 2), 0);
    assert_int_equal(f.dev.gm.n_regions, 2);
    store_le32(p, 0);
    store_le32(p + 4, QNUM);
    assert_int_equal(fe_send(&f, VHOST_USER_SET_VRING_NUM, 0, p, 8, NULL, 0),
                     0);
    memset(p, 0, 40);
    store_le64(p + 8, (uint64_t)(uintptr_t)(f.mem + GPA_DESC));
    store_le64(p + 16, (uint64_t)(uintptr_t)(f.mem + GPA_USED));
    store_le64(p + 24, (uint64_t)(uintptr_t)(f.mem + GPA_AVAIL));
    assert_int_equal(fe_send(&f, VHOST_USER_SET_VRING_ADDR, 0, p, 40, NULL, 0),
                     0);
    store_le64(p, 1u << 8); /* kick: no fd, poll */
    assert_int_equal(fe_send(&f, VHOST_USER_SET_VRING_KICK, 0, p, 8, NULL, 0),
                     0);
    memcpy(buf(&f, 0), "12", 2);
    put_desc(&f, 0, buf_gpa(0), 2, VRING_DESC_F_NEXT, 1);
    put_desc(&f, 1, buf_gpa(1), 2, VRING_DESC_F_WRITE, 0);
    publish(&f, 0);
    /* Any message makes the polled ring run. */
    (void)fe_get_u64(&f, VHOST_USER_GET_FEATURES);
    next_used(&f, &id, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(buf(&f, 1), "21", 2);
    (void)b;
    fe_teardown(&f);
}

/* mmap_offset need not be page aligned; the region maps those bytes. */
static void unaligned_mmap_offset(void **state)
{
    struct fe f;
    uint8_t p[40];
    uint8_t b[8];
    uint8_t *host;

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    assert_int_equal(
        fe_ack_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES, 1ull << 3, NULL, 0),
        0);
    mem_reg_payload(p, 0x40000000ull, 0x2000, 0x1000, 0x1234);
    assert_int_equal(fe_send(&f, VHOST_USER_ADD_MEM_REG,
                             VHOST_USER_NEED_REPLY_MASK, p, 40, &f.mfd, 1),
                     0);
    assert_int_equal(fe_reply(&f, VHOST_USER_ADD_MEM_REG, b, 8), 8);
    assert_int_equal(load_le64(b), 0);
    memcpy(f.mem + 0x1234 + 0x10, "seen", 4);
    host = gmem_gpa(&f.dev.gm, 0x40000010ull, 4);
    assert_non_null(host);
    assert_memory_equal(host, "seen", 4);
    assert_null(gmem_gpa(&f.dev.gm, 0x40001ffeull, 4));
    fe_teardown(&f);
}

/* Add @fd as a 0x2000-byte region; return the REPLY_ACK value. */
static uint64_t add_region_fd(struct fe *f, int fd)
{
    uint8_t p[40];
    uint8_t b[8];

    mem_reg_payload(p, 0x40000000ull, 0x2000, 0x1000, 0);
    assert_int_equal(fe_send(f, VHOST_USER_ADD_MEM_REG,
                             VHOST_USER_NEED_REPLY_MASK, p, 40, &fd, 1),
                     0);
    assert_int_equal(fe_reply(f, VHOST_USER_ADD_MEM_REG, b, 8), 8);
    return load_le64(b);
}

/*
 * Guest memory that could shrink under us (SIGBUS) is refused: a memfd that
 * allows sealing is sealed against shrinking by us, so the front-end's
 * truncation fails; one that cannot be sealed, or a plain file, is refused.
 */
static void memory_sealed_against_shrinking(void **state)
{
    struct fe f;
    char path[] = "/tmp/tv-vhost-XXXXXX";
    int nofd, file;

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    assert_int_equal(
        fe_ack_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES, 1ull << 3, NULL, 0),
        0);
    assert_int_equal(fcntl(f.mfd, F_GET_SEALS) & F_SEAL_SHRINK, 0);
    assert_int_equal(add_region_fd(&f, f.mfd), 0);
    assert_int_equal(f.dev.gm.n_regions, 1);
    assert_true((fcntl(f.mfd, F_GET_SEALS) & F_SEAL_SHRINK) != 0);
    assert_int_equal(ftruncate(f.mfd, 0x1000), -1);
    assert_int_equal(errno, EPERM);
    /* still mapped and readable through the library */
    memcpy(f.mem + 0x1ff0, "tail", 4);
    assert_memory_equal(gmem_gpa(&f.dev.gm, 0x40001ff0ull, 4), "tail", 4);

    /* A memfd created without MFD_ALLOW_SEALING can be shrunk: refused. */
    nofd = memfd_create("unsealable", MFD_CLOEXEC);
    assert_true(nofd >= 0);
    assert_int_equal(ftruncate(nofd, 0x4000), 0);
    assert_int_not_equal(add_region_fd(&f, nofd), 0);
    assert_int_equal(f.dev.gm.n_regions, 1);
    close(nofd);

    /* A plain file cannot carry seals: refused. */
    file = mkstemp(path);
    assert_true(file >= 0);
    unlink(path);
    assert_int_equal(ftruncate(file, 0x4000), 0);
    assert_int_not_equal(add_region_fd(&f, file), 0);
    assert_int_equal(f.dev.gm.n_regions, 1);
    close(file);
    fe_teardown(&f);
}

/* A kick "eventfd" that is really a pipe at EOF must not make us spin. */
static void kick_fd_at_eof(void **state)
{
    struct fe f;
    int pfd[2];

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    fe_bringup(&f, F_QEMU_ACK);
    fe_poll(&f);
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(fe_ack_u64(&f, VHOST_USER_SET_VRING_KICK, 0, &pfd[0], 1),
                     0);
    close(pfd[0]);
    close(pfd[1]);
    assert_int_equal(vhu_epoll_run_once(&f.ep, 0), 1);
    assert_int_equal(vhu_epoll_run_once(&f.ep, 0), 0);
    assert_int_equal(f.dev.q[0].kick_fd, -1);
    fe_teardown(&f);
}

static void reset_device(void **state)
{
    struct fe f;

    (void)state;
    fe_setup(&f, &toy_ops, NULL, 0);
    fe_bringup(&f, F_QEMU_ACK);
    fe_poll(&f);
    assert_int_equal(fe_send(&f, VHOST_USER_RESET_DEVICE, 0, NULL, 0, NULL, 0),
                     0);
    assert_int_equal(f.toy.n_reset, 1);
    assert_int_equal(f.toy.last_started, 0);
    /* Memory and ownership stay. */
    assert_int_equal(f.dev.gm.n_regions, 2);
    assert_true(f.dev.owner);
    fe_teardown(&f);
}

/* ---- the NSM glue over the real model ---- */

static uint64_t t_now(void *ctx)
{
    (void)ctx;
    return 1700000000000ull;
}

static int t_random(void *ctx, void *out, size_t len)
{
    (void)ctx;
    memset(out, 0x5a, len);
    return 0;
}

static int t_signer(void *ctx, uint64_t now, const struct nsm_signer **s)
{
    (void)ctx;
    (void)now;
    (void)s;
    return -1;
}

static const struct nsm_platform_ops t_platform = {t_now, t_random, t_signer};

struct nsm_fixture {
    struct fe f;
    struct nsm nsm;
    struct vhu_nsm vn;
};

static struct nsm_fixture *nsm_fixture_new(void)
{
    struct nsm_fixture *x = calloc(1, sizeof(*x));
    struct nsm_boot boot;

    assert_non_null(x);
    memset(&boot, 0, sizeof(boot));
    strcpy(boot.module_id, "i-0123456789abcdef0-enc0123456789abcdef");
    assert_int_equal(nsm_init(&x->nsm, &boot, &t_platform, NULL), NSM_OK);
    vhu_nsm_init(&x->vn, &x->nsm);
    fe_setup(&x->f, &vhu_nsm_ops, &x->vn, 0);
    fe_bringup(&x->f, F_QEMU_ACK);
    fe_poll(&x->f);
    return x;
}

static void nsm_fixture_free(struct nsm_fixture *x)
{
    fe_teardown(&x->f);
    free(x);
}

#define REQ_RANDOM "\x69GetRandom"
#define REQ_DESCRIBE                                                           \
    "\x6b"                                                                     \
    "DescribeNSM"
#define RESP_INTERNAL                                                          \
    "\xa1\x65"                                                                 \
    "Error"                                                                    \
    "\x6d"                                                                     \
    "InternalError"

/* The Linux driver's two chains. */
static void nsm_two_chains(void **state)
{
    struct nsm_fixture *x = nsm_fixture_new();
    struct fe *f = &x->f;
    uint32_t id, len;

    (void)state;
    memcpy(buf(f, 0), REQ_RANDOM, 10);
    put_desc(f, 0, buf_gpa(0), 10, 0, 0);
    put_desc(f, 1, buf_gpa(1), 0x3000, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    publish(f, 1);
    fe_kick(f);
    next_used(f, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 0);
    next_used(f, &id, &len);
    assert_int_equal(id, 1);
    /* {"GetRandom": {"random": bytes(256)}} */
    assert_int_equal(len, 1 + 10 + 1 + 7 + 3 + 256);
    assert_memory_equal(buf(f, 1), "\xa1\x69GetRandom\xa1\x66random\x59\x01",
                        22);
    assert_int_equal(buf(f, 1)[22], 0x5a);
    assert_int_equal(buf(f, 1)[len - 1], 0x5a);
    assert_true(fe_eventfd_fired(f->call));
    assert_int_equal(x->vn.n_requests, 1);
    nsm_fixture_free(x);
}

/* One chain, request split over two buffers, response over three. */
static void nsm_single_chain_scattered(void **state)
{
    struct nsm_fixture *x = nsm_fixture_new();
    struct fe *f = &x->f;
    uint32_t id, len;
    uint8_t whole[512];
    static const char req[] = REQ_DESCRIBE;

    (void)state;
    memcpy(buf(f, 0), req, 5);
    memcpy(buf(f, 1), &req[5], 7);
    put_desc(f, 0, buf_gpa(0), 5, VRING_DESC_F_NEXT, 1);
    put_desc(f, 1, buf_gpa(1), 7, VRING_DESC_F_NEXT, 2);
    put_desc(f, 2, buf_gpa(2), 60, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
    put_desc(f, 3, buf_gpa(3), 60, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
    put_desc(f, 4, buf_gpa(4), 4096, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    fe_kick(f);
    next_used(f, &id, &len);
    assert_int_equal(id, 0);
    assert_true(len > 120 && len < 512);
    memcpy(whole, buf(f, 2), 60);
    memcpy(whole + 60, buf(f, 3), 60);
    memcpy(whole + 120, buf(f, 4), len - 120);
    assert_memory_equal(whole,
                        "\xa1\x6b"
                        "DescribeNSM",
                        13);
    nsm_fixture_free(x);
}

/* Response space too small: InternalError, or nothing at all. */
static void nsm_small_response_space(void **state)
{
    struct nsm_fixture *x = nsm_fixture_new();
    struct fe *f = &x->f;
    uint32_t id, len;

    (void)state;
    memcpy(buf(f, 0), REQ_RANDOM, 10);
    put_desc(f, 0, buf_gpa(0), 10, 0, 0);
    put_desc(f, 1, buf_gpa(1), 64, VRING_DESC_F_WRITE, 0);
    put_desc(f, 2, buf_gpa(2), 8, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    publish(f, 1);
    publish(f, 0);
    publish(f, 2);
    fe_kick(f);
    next_used(f, &id, &len);
    assert_int_equal(len, 0);
    next_used(f, &id, &len);
    assert_int_equal(id, 1);
    assert_int_equal(len, sizeof(RESP_INTERNAL) - 1);
    assert_memory_equal(buf(f, 1), RESP_INTERNAL, len);
    next_used(f, &id, &len);
    assert_int_equal(id, 0);
    next_used(f, &id, &len);
    assert_int_equal(id, 2);
    assert_int_equal(len, 0);
    nsm_fixture_free(x);
}

/* Oversized request: the model's InputTooLarge. */
static void nsm_request_too_large(void **state)
{
    struct nsm_fixture *x = nsm_fixture_new();
    struct fe *f = &x->f;
    uint32_t id, len;

    (void)state;
    memset(buf(f, 0), 0x60, 0x1001);
    put_desc(f, 0, buf_gpa(0), 0x1001, 0, 0);
    put_desc(f, 1, buf_gpa(3), 0x3000, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    publish(f, 1);
    fe_kick(f);
    next_used(f, &id, &len);
    next_used(f, &id, &len);
    assert_int_equal(id, 1);
    assert_memory_equal(buf(f, 3),
                        "\xa1\x65"
                        "Error"
                        "\x6d"
                        "InputTooLarge",
                        len);
    nsm_fixture_free(x);
}

/* Wrong pairings are answered with empty used entries, in order. */
static void nsm_bad_pairings(void **state)
{
    struct nsm_fixture *x = nsm_fixture_new();
    struct fe *f = &x->f;
    uint32_t id, len;

    (void)state;
    memcpy(buf(f, 0), REQ_RANDOM, 10);
    put_desc(f, 0, buf_gpa(0), 10, 0, 0);                      /* request */
    put_desc(f, 1, buf_gpa(1), 0x3000, VRING_DESC_F_WRITE, 0); /* response */
    publish(f, 1); /* response without request */
    publish(f, 0); /* request ... */
    publish(f, 0); /* ... followed by another request */
    publish(f, 1); /* which gets this response */
    fe_kick(f);
    next_used(f, &id, &len);
    assert_int_equal(id, 1);
    assert_int_equal(len, 0);
    next_used(f, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 0);
    next_used(f, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 0);
    next_used(f, &id, &len);
    assert_int_equal(id, 1);
    assert_true(len > 256);
    nsm_fixture_free(x);
}

/* The ring stops between the two chains: the request is served later. */
static void nsm_stop_between_chains(void **state)
{
    struct nsm_fixture *x = nsm_fixture_new();
    struct fe *f = &x->f;
    uint32_t id, len;
    uint8_t p[8];
    uint8_t b[8];

    (void)state;
    memcpy(buf(f, 0), REQ_RANDOM, 10);
    put_desc(f, 0, buf_gpa(0), 10, 0, 0);
    put_desc(f, 1, buf_gpa(1), 0x3000, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    fe_kick(f);
    assert_int_equal(used_idx(f), 0);
    assert_true(x->vn.pending);
    store_le32(p, 0);
    store_le32(p + 4, 0);
    assert_int_equal(fe_send(f, VHOST_USER_GET_VRING_BASE, 0, p, 8, NULL, 0),
                     0);
    assert_int_equal(fe_reply(f, VHOST_USER_GET_VRING_BASE, b, 8), 8);
    assert_int_equal(load_le32(b + 4), 0); /* request handed back */
    assert_false(x->vn.pending);
    /* Restart at that base, as QEMU does, and complete the pair. */
    assert_int_equal(fe_ack_state(f, VHOST_USER_SET_VRING_BASE, 0, 0), 0);
    assert_int_equal(fe_ack_u64(f, VHOST_USER_SET_VRING_KICK, 0, &f->kick, 1),
                     0);
    publish(f, 1);
    fe_kick(f);
    next_used(f, &id, &len);
    assert_int_equal(id, 0);
    next_used(f, &id, &len);
    assert_int_equal(id, 1);
    assert_true(len > 256);
    nsm_fixture_free(x);
}

/* ---- the RPMB glue over the real model ---- */

struct rpmb_fixture {
    struct fe f;
    struct rpmb rpmb;
    struct rpmb_mem_store store;
    uint8_t blocks[512 * RPMB_BLOCK_SIZE];
    struct vhu_rpmb vr;
};

static struct rpmb_fixture *rpmb_fixture_new(void)
{
    struct rpmb_fixture *x = calloc(1, sizeof(*x));
    struct rpmb_config cfg = {1, 2, 4};

    assert_non_null(x);
    rpmb_mem_store_init(&x->store, x->blocks, 512);
    assert_int_equal(
        vhu_rpmb_init(&x->vr, &x->rpmb, &cfg, &rpmb_mem_store_ops, &x->store),
        RPMB_OK);
    fe_setup(&x->f, &vhu_rpmb_ops, &x->vr, VIRTIO_RPMB_CFG_SIZE);
    fe_bringup(&x->f, F_QEMU_ACK);
    fe_poll(&x->f);
    return x;
}

static void rpmb_fixture_free(struct rpmb_fixture *x)
{
    fe_teardown(&x->f);
    free(x);
}

static void rpmb_config_space(void **state)
{
    struct rpmb_fixture *x = rpmb_fixture_new();
    uint8_t p[12 + 3];
    uint8_t b[64];

    (void)state;
    memset(p, 0, sizeof(p));
    store_le32(p + 4, 3);
    assert_int_equal(
        fe_send(&x->f, VHOST_USER_GET_CONFIG, 0, p, sizeof(p), NULL, 0), 0);
    assert_int_equal(fe_reply(&x->f, VHOST_USER_GET_CONFIG, b, sizeof(b)), 15);
    assert_memory_equal(b + 12, "\x01\x02\x04", 3);
    /* Read-only: SET_CONFIG refused. */
    assert_int_equal(fe_send(&x->f, VHOST_USER_SET_CONFIG,
                             VHOST_USER_NEED_REPLY_MASK, p, sizeof(p), NULL, 0),
                     0);
    assert_int_equal(fe_reply(&x->f, VHOST_USER_SET_CONFIG, b, 8), 8);
    assert_int_not_equal(load_le64(b), 0);
    rpmb_fixture_free(x);
}

/* One frame split over two readable and three writable buffers. */
static void rpmb_gather_scatter(void **state)
{
    struct rpmb_fixture *x = rpmb_fixture_new();
    struct fe *f = &x->f;
    uint8_t frame[RPMB_FRAME_SIZE];
    uint8_t resp[RPMB_FRAME_SIZE];
    uint32_t id, len;

    (void)state;
    memset(frame, 0, sizeof(frame));
    memset(frame + VIRTIO_RPMB_OFF_NONCE, 0xab, VIRTIO_RPMB_NONCE_SIZE);
    store_be16(frame + VIRTIO_RPMB_OFF_REQ_RESP,
               VIRTIO_RPMB_REQ_GET_WRITE_COUNTER);
    memcpy(buf(f, 0), frame, 100);
    memcpy(buf(f, 1), frame + 100, 412);
    put_desc(f, 0, buf_gpa(0), 100, VRING_DESC_F_NEXT, 1);
    put_desc(f, 1, buf_gpa(1), 412, VRING_DESC_F_NEXT, 2);
    put_desc(f, 2, buf_gpa(2), 200, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
    put_desc(f, 3, buf_gpa(3), 200, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
    put_desc(f, 4, buf_gpa(4), 4096, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    fe_kick(f);
    next_used(f, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, RPMB_FRAME_SIZE);
    memcpy(resp, buf(f, 2), 200);
    memcpy(resp + 200, buf(f, 3), 200);
    memcpy(resp + 400, buf(f, 4), 112);
    assert_int_equal(load_be16(resp + VIRTIO_RPMB_OFF_REQ_RESP),
                     VIRTIO_RPMB_RESP_GET_WRITE_COUNTER);
    assert_memory_equal(resp + VIRTIO_RPMB_OFF_NONCE,
                        frame + VIRTIO_RPMB_OFF_NONCE, VIRTIO_RPMB_NONCE_SIZE);
    assert_int_equal(x->vr.n_requests, 1);
    rpmb_fixture_free(x);
}

/* A request of more than 256 frames gets one GENERAL_FAILURE frame. */
/* The key of a PROGRAM_KEY request does not stay in the glue's buffer. */
static void rpmb_program_key_wiped(void **state)
{
    static const uint8_t zero[2 * RPMB_FRAME_SIZE];
    struct rpmb_fixture *x = rpmb_fixture_new();
    struct fe *f = &x->f;
    uint8_t frames[2 * RPMB_FRAME_SIZE];
    uint32_t id, len;

    (void)state;
    /* PROGRAM_KEY, then RESULT_READ, in one chain (as Linux sends it) */
    memset(frames, 0, sizeof(frames));
    memset(frames + VIRTIO_RPMB_OFF_KEY_MAC, 0x5c, VIRTIO_RPMB_KEY_MAC_SIZE);
    store_be16(frames + VIRTIO_RPMB_OFF_REQ_RESP, VIRTIO_RPMB_REQ_PROGRAM_KEY);
    store_be16(frames + RPMB_FRAME_SIZE + VIRTIO_RPMB_OFF_REQ_RESP,
               VIRTIO_RPMB_REQ_RESULT_READ);
    memcpy(buf(f, 0), frames, sizeof(frames));
    put_desc(f, 0, buf_gpa(0), sizeof(frames), VRING_DESC_F_NEXT, 1);
    put_desc(f, 1, buf_gpa(1), RPMB_FRAME_SIZE, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    fe_kick(f);
    next_used(f, &id, &len);
    assert_int_equal(len, RPMB_FRAME_SIZE);
    assert_int_equal(load_be16(buf(f, 1) + VIRTIO_RPMB_OFF_REQ_RESP),
                     VIRTIO_RPMB_RESP_PROGRAM_KEY);
    assert_int_equal(load_be16(buf(f, 1) + VIRTIO_RPMB_OFF_RESULT), 0);
    assert_memory_equal(x->vr.req, zero, sizeof(zero));
    rpmb_fixture_free(x);
}

static void rpmb_request_too_long(void **state)
{
    struct rpmb_fixture *x = rpmb_fixture_new();
    struct fe *f = &x->f;
    uint32_t id, len;

    (void)state;
    put_desc(f, 0, buf_gpa(0), VHU_RPMB_BUF_SIZE + RPMB_FRAME_SIZE,
             VRING_DESC_F_NEXT, 1);
    put_desc(f, 1, buf_gpa(64), RPMB_FRAME_SIZE, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    fe_kick(f);
    next_used(f, &id, &len);
    assert_int_equal(len, RPMB_FRAME_SIZE);
    assert_int_equal(load_be16(buf(f, 64) + VIRTIO_RPMB_OFF_RESULT),
                     VIRTIO_RPMB_RES_GENERAL_FAILURE);
    rpmb_fixture_free(x);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(features_offered),
    cmocka_unit_test(reply_ack),
    cmocka_unit_test(get_config),
    cmocka_unit_test(unknown_request),
    cmocka_unit_test(truncated_message),
    cmocka_unit_test(oversized_message),
    cmocka_unit_test(wrong_payload_sizes),
    cmocka_unit_test(wrong_fd_counts),
    cmocka_unit_test(qemu_sequence),
    cmocka_unit_test(budget_per_kick),
    cmocka_unit_test(memory_sealed_against_shrinking),
    cmocka_unit_test(indirect_and_event_idx),
    cmocka_unit_test(hostile_chain_breaks_queue),
    cmocka_unit_test(rem_mem_reg_then_process),
    cmocka_unit_test(set_mem_table_and_nofd_kick),
    cmocka_unit_test(unaligned_mmap_offset),
    cmocka_unit_test(kick_fd_at_eof),
    cmocka_unit_test(reset_device),
    cmocka_unit_test(nsm_two_chains),
    cmocka_unit_test(nsm_single_chain_scattered),
    cmocka_unit_test(nsm_small_response_space),
    cmocka_unit_test(nsm_request_too_large),
    cmocka_unit_test(nsm_bad_pairings),
    cmocka_unit_test(nsm_stop_between_chains),
    cmocka_unit_test(rpmb_config_space),
    cmocka_unit_test(rpmb_gather_scatter),
    cmocka_unit_test(rpmb_request_too_long),
    cmocka_unit_test(rpmb_program_key_wiped),
};

HARNESS_MAIN("vhost", tests)
