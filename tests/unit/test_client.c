/* SPDX-License-Identifier: MIT */
/*
 * vhost-user frontend (src/frontend/vhu_frontend.c) against a fake backend: a
 * thread on the other end of a socketpair that answers the vhost-user
 * handshake, maps the shared memfd regions by guest-physical address and
 * serves the ring trivially (each response byte is a request byte ^ 0x5a).
 * The fake records every message and every chain, and can misbehave on
 * request (swap NSM used entries, stay silent, over-report lengths, signal
 * the error eventfd, never interrupt, refuse a message).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

#include "frontend/vhu_frontend.h"
#include "vhost/vhost_user_proto.h"
#include "virtio/virtio_ring.h"

/* ---- the fake backend -------------------------------------------------- */

enum fake_mode {
    FAKE_ECHO = 0, /* serve correctly */
    FAKE_SWAP,     /* NSM: push the response chain first */
    FAKE_SILENT,   /* consume chains, never push */
    FAKE_BAD_LEN,  /* used length one beyond the writable bytes */
    FAKE_ERR_FD,   /* signal the vring error eventfd instead */
    FAKE_NO_CALL,  /* push but never signal the call eventfd */
    FAKE_HANG_UP,  /* close the socket on the first kick with work */
};

#define FAKE_LOG_MAX  256
#define FAKE_BUF_SIZE (1u << 20)

struct fake_region {
    uint64_t gpa;  /* guest-physical start */
    uint64_t size; /* bytes */
    uint64_t uva;  /* front-end virtual start */
    uint64_t off;  /* mmap offset */
    uint8_t *host; /* our mapping */
};

struct fake {
    int sock;      /* backend end of the socketpair */
    pthread_t thr; /* serving thread */
    /* behaviour, set before connecting or between calls */
    uint64_t features; /* GET_FEATURES answer */
    uint64_t protocol; /* GET_PROTOCOL_FEATURES answer */
    uint32_t nack_req; /* request answered with ack 1, 0 = none */
    int mode;          /* enum fake_mode, read atomically */
    uint32_t resp_len; /* response bytes to write, 0 = request len */
    uint32_t delay_us; /* pause before pushing used entries */
    uint8_t config[8]; /* device config */
    /* recorded */
    uint32_t log[FAKE_LOG_MAX];       /* message ids in arrival order */
    uint32_t log_flags[FAKE_LOG_MAX]; /* their header flags */
    uint64_t log_u64[FAKE_LOG_MAX];   /* first 8 payload bytes */
    unsigned n_log;
    uint64_t acked_features;
    uint64_t acked_protocol;
    struct fake_region reg[8];
    unsigned n_reg;
    int kick_fd, call_fd, err_fd;
    uint32_t qsize;
    uint64_t desc_uva, avail_uva, used_uva;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t last_avail;
    uint16_t used_idx;
    bool enabled;
    uint8_t status;
    unsigned n_chains;      /* chains served */
    unsigned max_descs;     /* most descriptors in one chain */
    unsigned n_indirect;    /* chains that used an indirect table */
    unsigned n_kicks;       /* kick eventfd reads */
    unsigned n_empty_kicks; /* kicks that found nothing to do */
    unsigned n_calls;       /* call eventfd writes */
    uint64_t min_gpa;       /* lowest descriptor address seen */
    /* NSM pairing */
    bool pending; /* a request chain waits for its partner */
    uint16_t pending_head;
    uint32_t pending_len;
    uint8_t req[FAKE_BUF_SIZE];
    char error[160]; /* first inconsistency the fake saw */
};

static void fake_fail(struct fake *f, const char *what)
{
    if (f->error[0] == '\0') {
        snprintf(f->error, sizeof(f->error), "%s", what);
        fprintf(stderr, "fake backend: %s\n", what);
    }
}

static uint8_t *fake_gpa(struct fake *f, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < f->n_reg; i++) {
        struct fake_region *r = &f->reg[i];

        if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len) {
            return r->host + (gpa - r->gpa);
        }
    }
    fake_fail(f, "descriptor outside guest memory");
    return NULL;
}

static uint8_t *fake_uva(struct fake *f, uint64_t uva)
{
    for (unsigned i = 0; i < f->n_reg; i++) {
        struct fake_region *r = &f->reg[i];

        if (uva >= r->uva && uva - r->uva < r->size) {
            return r->host + (uva - r->uva);
        }
    }
    fake_fail(f, "ring address outside guest memory");
    return NULL;
}

static void fake_send(struct fake *f, uint32_t req, const void *p,
                      uint32_t size)
{
    struct vhost_user_hdr h = {req, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK,
                               size};
    uint8_t buf[512];

    memcpy(buf, &h, sizeof(h));
    if (size > 0) {
        memcpy(buf + sizeof(h), p, size);
    }
    if (write(f->sock, buf, sizeof(h) + size) != (ssize_t)(sizeof(h) + size)) {
        fake_fail(f, "reply write failed");
    }
}

static void fake_reply_u64(struct fake *f, uint32_t req, uint64_t v)
{
    fake_send(f, req, &v, sizeof(v));
}

static void fake_map(struct fake *f, const struct vhost_user_mem_region *m,
                     int fd)
{
    struct fake_region *r;
    void *p;

    if (f->n_reg >= 8 || fd < 0) {
        fake_fail(f, "too many regions or no fd");
        return;
    }
    p = mmap(NULL, m->memory_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
             (off_t)m->mmap_offset);
    if (p == MAP_FAILED) {
        fake_fail(f, "mmap of a region failed");
        return;
    }
    r = &f->reg[f->n_reg++];
    r->gpa = m->guest_phys_addr;
    r->size = m->memory_size;
    r->uva = m->userspace_addr;
    r->off = m->mmap_offset;
    r->host = p;
}

static void fake_notify(struct fake *f, uint16_t old_used)
{
    bool need;
    uint64_t one = 1;

    if (__atomic_load_n(&f->mode, __ATOMIC_ACQUIRE) == FAKE_NO_CALL) {
        return;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (f->acked_features & (1ull << VIRTIO_F_RING_EVENT_IDX)) {
        uint16_t ev =
            __atomic_load_n(&f->avail->ring[f->qsize], __ATOMIC_RELAXED);

        need = vring_need_event(ev, f->used_idx, old_used);
    } else {
        need = !(__atomic_load_n(&f->avail->flags, __ATOMIC_RELAXED) &
                 VRING_AVAIL_F_NO_INTERRUPT);
    }
    if (need && f->call_fd >= 0) {
        if (write(f->call_fd, &one, sizeof(one)) == sizeof(one)) {
            f->n_calls++;
        }
    }
}

static void fake_push(struct fake *f, uint16_t id, uint32_t len)
{
    uint16_t slot = (uint16_t)(f->used_idx & (f->qsize - 1));

    f->used->ring[slot].id = id;
    f->used->ring[slot].len = len;
    __atomic_store_n(&f->used->idx, (uint16_t)(f->used_idx + 1),
                     __ATOMIC_RELEASE);
    f->used_idx++;
}

/* Write the response for @in (len @in_len) into the writable segments. */
static uint32_t fake_respond(struct fake *f, const uint8_t *in, uint32_t in_len,
                             uint8_t **seg, uint32_t *seg_len, unsigned n_seg)
{
    uint32_t want = f->resp_len ? f->resp_len : in_len;
    uint32_t done = 0;

    for (unsigned s = 0; s < n_seg && done < want; s++) {
        for (uint32_t k = 0; k < seg_len[s] && done < want; k++, done++) {
            seg[s][k] = in_len ? (uint8_t)(in[done % in_len] ^ 0x5a) : 0;
        }
    }
    return done;
}

static void fake_serve_ring(struct fake *f)
{
    static uint8_t *seg[1024];
    static uint32_t seg_len[1024];

    if (f->avail == NULL || !f->enabled) {
        return;
    }
    for (;;) {
        uint16_t aidx = __atomic_load_n(&f->avail->idx, __ATOMIC_ACQUIRE);
        uint16_t old_used = f->used_idx;
        struct vring_desc *table = f->desc;
        uint32_t table_n = f->qsize;
        uint32_t in_len = 0, wr_cap = 0;
        unsigned n_seg = 0, n_desc = 0;
        uint16_t head, i;
        int mode = __atomic_load_n(&f->mode, __ATOMIC_ACQUIRE);

        if (aidx == f->last_avail) {
            /* Ask for a kick on the very next chain, then look again: a
             * chain published before the driver could see the new
             * avail_event gets no kick (virtio 1.2 2.7.10). */
            __atomic_store_n((uint16_t *)(void *)&f->used->ring[f->qsize], aidx,
                             __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            if (__atomic_load_n(&f->avail->idx, __ATOMIC_ACQUIRE) == aidx) {
                return;
            }
            continue;
        }
        if (mode == FAKE_HANG_UP) {
            shutdown(f->sock, SHUT_RDWR);
            return;
        }
        head = f->avail->ring[f->last_avail & (f->qsize - 1)];
        f->last_avail++;
        i = head;
        if (f->desc[head].flags & VRING_DESC_F_INDIRECT) {
            table = (struct vring_desc *)(void *)fake_gpa(f, f->desc[head].addr,
                                                          f->desc[head].len);
            table_n = f->desc[head].len / 16;
            if (table == NULL) {
                return;
            }
            f->n_indirect++;
            i = 0;
        }
        for (;;) {
            struct vring_desc d = table[i];
            uint8_t *p;

            if (++n_desc > table_n) {
                fake_fail(f, "descriptor loop");
                return;
            }
            if (d.addr < f->min_gpa) {
                f->min_gpa = d.addr;
            }
            p = fake_gpa(f, d.addr, d.len);
            if (p == NULL) {
                return;
            }
            if (d.flags & VRING_DESC_F_WRITE) {
                if (n_seg >= 1024) {
                    fake_fail(f, "too many segments");
                    return;
                }
                seg[n_seg] = p;
                seg_len[n_seg++] = d.len;
                wr_cap += d.len;
            } else {
                if (n_seg > 0) {
                    fake_fail(f, "readable after writable");
                }
                if (d.len > FAKE_BUF_SIZE - in_len) {
                    fake_fail(f, "request too large");
                    return;
                }
                memcpy(f->req + in_len, p, d.len);
                in_len += d.len;
            }
            if (!(d.flags & VRING_DESC_F_NEXT)) {
                break;
            }
            i = d.next;
            if (i >= table_n) {
                fake_fail(f, "next out of range");
                return;
            }
        }
        f->n_chains++;
        if (n_desc > f->max_descs) {
            f->max_descs = n_desc;
        }
        if (mode == FAKE_SILENT) {
            continue;
        }
        if (mode == FAKE_ERR_FD) {
            uint64_t one = 1;

            if (write(f->err_fd, &one, sizeof(one)) != sizeof(one)) {
                fake_fail(f, "err fd write");
            }
            continue;
        }
        if (f->delay_us != 0 && wr_cap != 0) {
            usleep(f->delay_us);
        }
        if (wr_cap == 0) {
            /* NSM request chain: wait for its response chain. */
            f->pending = true;
            f->pending_head = head;
            f->pending_len = in_len;
            continue;
        }
        if (in_len == 0 && f->pending) {
            uint32_t n =
                fake_respond(f, f->req, f->pending_len, seg, seg_len, n_seg);

            f->pending = false;
            if (mode == FAKE_BAD_LEN) {
                n = wr_cap + 1;
            }
            if (mode == FAKE_SWAP) {
                fake_push(f, head, n);
                fake_push(f, f->pending_head, 0);
            } else {
                fake_push(f, f->pending_head, 0);
                fake_push(f, head, n);
            }
        } else {
            uint32_t n = fake_respond(f, f->req, in_len, seg, seg_len, n_seg);

            fake_push(f, head, mode == FAKE_BAD_LEN ? wr_cap + 1 : n);
        }
        fake_notify(f, old_used);
    }
}

/* Handle one message; false when the connection is over. */
static bool fake_message(struct fake *f)
{
    struct vhost_user_hdr h;
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } ctl;
    uint8_t pl[4096];
    int fds[8];
    unsigned n_fds = 0;
    struct iovec iov = {&h, sizeof(h)};
    struct msghdr msg;
    struct cmsghdr *c;
    ssize_t n;
    bool replied = false;
    uint64_t u64 = 0;

    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    n = recvmsg(f->sock, &msg, MSG_WAITALL);
    if (n != (ssize_t)sizeof(h)) {
        return false;
    }
    for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            n_fds = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            memcpy(fds, CMSG_DATA(c), n_fds * sizeof(int));
        }
    }
    if (h.size > sizeof(pl) ||
        (h.size > 0 && recv(f->sock, pl, h.size, MSG_WAITALL) != h.size)) {
        return false;
    }
    if (h.size >= 8) {
        memcpy(&u64, pl, 8);
    }
    if (f->n_log < FAKE_LOG_MAX) {
        f->log[f->n_log] = h.request;
        f->log_flags[f->n_log] = h.flags;
        f->log_u64[f->n_log++] = u64;
    }
    switch (h.request) {
    case VHOST_USER_GET_FEATURES:
        fake_reply_u64(f, h.request, f->features);
        replied = true;
        break;
    case VHOST_USER_SET_FEATURES:
        f->acked_features = u64;
        if (!(u64 & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))) {
            f->enabled = true;
        }
        break;
    case VHOST_USER_GET_PROTOCOL_FEATURES:
        fake_reply_u64(f, h.request, f->protocol);
        replied = true;
        break;
    case VHOST_USER_SET_PROTOCOL_FEATURES:
        f->acked_protocol = u64;
        break;
    case VHOST_USER_GET_QUEUE_NUM:
        fake_reply_u64(f, h.request, 1);
        replied = true;
        break;
    case VHOST_USER_GET_MAX_MEM_SLOTS:
        fake_reply_u64(f, h.request, 8);
        replied = true;
        break;
    case VHOST_USER_ADD_MEM_REG: {
        struct vhost_user_mem_reg_msg m;

        memcpy(&m, pl, sizeof(m));
        fake_map(f, &m.region, n_fds ? fds[0] : -1);
        break;
    }
    case VHOST_USER_SET_MEM_TABLE: {
        struct vhost_user_memory m;

        memset(&m, 0, sizeof(m));
        memcpy(&m, pl, h.size < sizeof(m) ? h.size : sizeof(m));
        if (m.nregions != n_fds) {
            fake_fail(f, "SET_MEM_TABLE: fd count != regions");
        }
        for (unsigned r = 0; r < m.nregions && r < n_fds; r++) {
            fake_map(f, &m.regions[r], fds[r]);
        }
        break;
    }
    case VHOST_USER_SET_VRING_NUM:
        f->qsize = ((struct vhost_vring_state *)(void *)pl)->num;
        break;
    case VHOST_USER_SET_VRING_BASE:
        f->last_avail = (uint16_t)((struct vhost_vring_state *)(void *)pl)->num;
        f->used_idx = f->last_avail;
        break;
    case VHOST_USER_SET_VRING_ADDR: {
        struct vhost_vring_addr a;

        memcpy(&a, pl, sizeof(a));
        f->desc = (struct vring_desc *)(void *)fake_uva(f, a.desc_user_addr);
        f->avail = (struct vring_avail *)(void *)fake_uva(f, a.avail_user_addr);
        f->used = (struct vring_used *)(void *)fake_uva(f, a.used_user_addr);
        break;
    }
    case VHOST_USER_SET_VRING_KICK:
    case VHOST_USER_SET_VRING_CALL:
    case VHOST_USER_SET_VRING_ERR: {
        int *slot = h.request == VHOST_USER_SET_VRING_KICK   ? &f->kick_fd
                    : h.request == VHOST_USER_SET_VRING_CALL ? &f->call_fd
                                                             : &f->err_fd;

        if (*slot >= 0) {
            close(*slot);
        }
        *slot = n_fds ? fds[0] : -1;
        n_fds = 0;
        break;
    }
    case VHOST_USER_SET_VRING_ENABLE:
        f->enabled = ((struct vhost_vring_state *)(void *)pl)->num != 0;
        /* Without REPLY_ACK a kick can overtake this message. */
        fake_serve_ring(f);
        break;
    case VHOST_USER_GET_VRING_BASE: {
        struct vhost_vring_state st = {0, f->last_avail};

        f->enabled = false;
        fake_send(f, h.request, &st, sizeof(st));
        replied = true;
        break;
    }
    case VHOST_USER_GET_CONFIG: {
        struct vhost_user_config cfg;

        memcpy(&cfg, pl, h.size < sizeof(cfg) ? h.size : sizeof(cfg));
        if (cfg.offset > sizeof(f->config) ||
            cfg.size > sizeof(f->config) - cfg.offset) {
            fake_send(f, h.request, NULL, 0);
        } else {
            memcpy(cfg.region, f->config + cfg.offset, cfg.size);
            fake_send(f, h.request, &cfg,
                      VHOST_USER_CONFIG_HDR_SIZE + cfg.size);
        }
        replied = true;
        break;
    }
    case VHOST_USER_GET_STATUS:
        fake_reply_u64(f, h.request, f->status);
        replied = true;
        break;
    case VHOST_USER_SET_STATUS:
        f->status = (uint8_t)u64;
        break;
    case VHOST_USER_SET_OWNER:
        break;
    default:
        fake_fail(f, "unexpected message");
        break;
    }
    for (unsigned k = 0; k < n_fds; k++) {
        close(fds[k]);
    }
    if (!replied && (h.flags & VHOST_USER_NEED_REPLY_MASK)) {
        fake_reply_u64(f, h.request, h.request == f->nack_req ? 1 : 0);
    }
    return true;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;

    for (;;) {
        struct pollfd p[2] = {{f->sock, POLLIN, 0}, {f->kick_fd, POLLIN, 0}};
        int r = poll(p, f->kick_fd >= 0 ? 2 : 1, -1);

        if (r < 0) {
            continue;
        }
        if (p[0].revents) {
            if (!fake_message(f)) {
                break;
            }
        }
        if (f->kick_fd >= 0 && (p[1].revents & POLLIN)) {
            uint64_t cnt;
            unsigned before = f->n_chains;

            if (read(f->kick_fd, &cnt, sizeof(cnt)) == sizeof(cnt)) {
                f->n_kicks++;
            }
            fake_serve_ring(f);
            if (f->n_chains == before) {
                f->n_empty_kicks++;
            }
        }
    }
    return NULL;
}

#define FAKE_FEATURES                                                          \
    ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_EVENT_IDX) |        \
     (1ull << VIRTIO_F_RING_INDIRECT_DESC) |                                   \
     (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
#define FAKE_PROTOCOL                                                          \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) |                                      \
     (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |                               \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |                                  \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                     \
     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                            \
     (1ull << VHOST_USER_PROTOCOL_F_STATUS))

/* Fakes come from a small pool so a test can inspect one after joining. */
static struct fake *fake_new(void)
{
    static struct fake pool[2];
    static unsigned next;
    struct fake *f = &pool[next++ % TV_ARRAY_SIZE(pool)];

    memset(f, 0, sizeof(*f));
    f->features = FAKE_FEATURES;
    f->protocol = FAKE_PROTOCOL;
    f->kick_fd = f->call_fd = f->err_fd = -1;
    f->min_gpa = UINT64_MAX;
    memcpy(f->config, "\x20\x02\x03\x04\x05\x06\x07\x08", 8);
    return f;
}

/* Start the fake thread; returns the frontend's end of the socketpair. */
static int fake_start(struct fake *f)
{
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    f->sock = sv[1];
    assert_int_equal(pthread_create(&f->thr, NULL, fake_main, f), 0);
    return sv[0];
}

static void fake_join(struct fake *f)
{
    pthread_join(f->thr, NULL);
    close(f->sock);
    for (unsigned i = 0; i < f->n_reg; i++) {
        munmap(f->reg[i].host, f->reg[i].size);
    }
    if (f->kick_fd >= 0) {
        close(f->kick_fd);
    }
    if (f->call_fd >= 0) {
        close(f->call_fd);
    }
    if (f->err_fd >= 0) {
        close(f->err_fd);
    }
    if (f->error[0] != '\0') {
        fail_msg("fake backend: %s", f->error);
    }
}

static void set_mode(struct fake *f, int mode)
{
    __atomic_store_n(&f->mode, mode, __ATOMIC_RELEASE);
}

static struct vhu_fe *connect_fake(struct fake *f,
                                   const struct vhu_fe_options *o)
{
    char err[200];
    struct vhu_fe *fe = vhu_fe_connect_fd(fake_start(f), o, err, sizeof(err));

    if (fe == NULL) {
        fail_msg("connect: %s", err);
    }
    return fe;
}

static void nsm_roundtrip(struct vhu_fe *fe, const char *msg)
{
    uint8_t resp[VHU_FE_NSM_RESP_LEN];
    size_t len = 0, n = strlen(msg);

    assert_int_equal(
        vhu_fe_nsm_call(fe, (const uint8_t *)msg, n, resp, sizeof(resp), &len),
        0);
    assert_int_equal(len, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(resp[i], (uint8_t)msg[i] ^ 0x5a);
    }
}

/* ---- tests -------------------------------------------------------------- */

/* The exact QEMU message order, flags and payloads of a default session. */
static void handshake_order(void **state)
{
    static const uint32_t want[] = {
        VHOST_USER_GET_FEATURES,
        VHOST_USER_GET_PROTOCOL_FEATURES,
        VHOST_USER_SET_PROTOCOL_FEATURES,
        VHOST_USER_GET_QUEUE_NUM,
        VHOST_USER_GET_MAX_MEM_SLOTS,
        VHOST_USER_SET_OWNER,
        VHOST_USER_GET_FEATURES,
        VHOST_USER_SET_VRING_CALL,
        VHOST_USER_SET_VRING_ERR,
        VHOST_USER_SET_FEATURES,
        VHOST_USER_GET_STATUS,
        VHOST_USER_SET_STATUS,
        VHOST_USER_ADD_MEM_REG,
        VHOST_USER_ADD_MEM_REG,
        VHOST_USER_SET_VRING_NUM,
        VHOST_USER_SET_VRING_BASE,
        VHOST_USER_SET_VRING_ADDR,
        VHOST_USER_SET_VRING_KICK,
        VHOST_USER_SET_VRING_CALL,
        VHOST_USER_SET_VRING_ENABLE,
        VHOST_USER_GET_STATUS,
        VHOST_USER_SET_STATUS,
        VHOST_USER_GET_STATUS,
        /* vhu_fe_stop() */
        VHOST_USER_SET_VRING_ENABLE,
        VHOST_USER_GET_VRING_BASE,
        VHOST_USER_SET_STATUS,
    };
    struct fake *f = fake_new();
    struct vhu_fe *fe = connect_fake(f, NULL);
    struct vhu_fe_info info;

    vhu_fe_get_info(fe, &info);
    assert_true(info.acked_features ==
                ((1ull << VIRTIO_F_VERSION_1) |
                 (1ull << VIRTIO_F_RING_EVENT_IDX) |
                 (1ull << VIRTIO_F_RING_INDIRECT_DESC) |
                 (1ull << VHOST_USER_F_PROTOCOL_FEATURES)));
    /* RESET_DEVICE is offered but not taken (QEMU never sends it). */
    assert_true(
        info.acked_protocol ==
        (FAKE_PROTOCOL & ~(1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE)));
    assert_int_equal(info.status, 0xf);
    assert_int_equal(info.queue_size, 64);
    nsm_roundtrip(fe, "x");
    assert_int_equal(vhu_fe_stop(fe), 0);
    vhu_fe_close(fe);
    fake_join(f);
    assert_int_equal(f->n_log, TV_ARRAY_SIZE(want));
    for (unsigned i = 0; i < TV_ARRAY_SIZE(want); i++) {
        if (f->log[i] != want[i]) {
            fail_msg("message %u: got %u, want %u", i, f->log[i], want[i]);
        }
    }
    /* NEED_REPLY exactly where QEMU sets it (flags 0x9). */
    for (unsigned i = 0; i < f->n_log; i++) {
        uint32_t r = f->log[i];
        bool need =
            r == VHOST_USER_SET_VRING_CALL || r == VHOST_USER_SET_VRING_ERR ||
            r == VHOST_USER_ADD_MEM_REG || r == VHOST_USER_SET_VRING_KICK ||
            r == VHOST_USER_SET_VRING_ENABLE;

        assert_int_equal(f->log_flags[i], need ? 0x9 : 0x1);
    }
    assert_int_equal(f->log_u64[11], 0x8); /* FEATURES_OK */
    assert_int_equal(f->log_u64[21], 0xf); /* ... | DRIVER_OK */
    assert_int_equal(f->status, 0);        /* reset at stop */
    /* Two regions, the second at a non-zero mmap offset behind a hole, and
     * user addresses that are not guest-physical ones. */
    assert_int_equal(f->n_reg, 2);
    assert_true(f->reg[0].gpa == VHU_FE_DEFAULT_GPA_BASE);
    assert_true(f->reg[1].off == f->reg[0].size);
    assert_true(f->reg[1].gpa > f->reg[0].gpa + f->reg[0].size);
    assert_true(f->reg[1].uva == f->reg[0].uva + f->reg[0].size);
    assert_true(f->min_gpa >= VHU_FE_DEFAULT_GPA_BASE);
    assert_int_equal(f->n_empty_kicks, 1); /* the initial spurious kick */
}

static void nsm_two_chains(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe *fe = connect_fake(f, NULL);
    struct vhu_fe_info info;

    nsm_roundtrip(fe, "DescribeNSM");
    nsm_roundtrip(fe, "a much longer request that still fits");
    vhu_fe_get_info(fe, &info);
    assert_int_equal(info.n_requests, 2);
    assert_int_equal(info.last_used_len, 37);
    /* the initial kick + one per call, unless the device was still busy
     * and its avail_event said it needs none (EVENT_IDX) */
    assert_int_equal(info.n_kicks + info.n_kicks_suppressed, 3);
    /* EVENT_IDX: at most one wake-up per request (the frontend may find
     * the entries before it sleeps and read both counts later). */
    assert_true(info.n_wakeups <= 2);
    vhu_fe_close(fe);
    fake_join(f);
    /* close just disconnects: the last message is the DRIVER_OK check */
    assert_int_equal(f->log[f->n_log - 1], VHOST_USER_GET_STATUS);
    assert_int_equal(f->status, 0xf);
    assert_int_equal(f->n_chains, 4);
    assert_int_equal(f->max_descs, 1);
    /* EVENT_IDX: one interrupt for the two used entries of each request */
    assert_int_equal(f->n_calls, 2);
}

/* 40000 requests: the 16-bit avail and used indexes wrap. */
static void nsm_index_wrap(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe_options o = {.queue_size = 8};
    struct vhu_fe *fe = connect_fake(f, &o);

    for (unsigned i = 0; i < 40000; i++) {
        nsm_roundtrip(fe, i % 2 ? "odd" : "even!");
    }
    assert_int_equal(vhu_fe_stop(fe), 0);
    assert_int_equal(vhu_fe_stop(fe), 0);
    vhu_fe_close(fe);
    fake_join(f);
    assert_int_equal(f->n_chains, 80000);
}

static void nsm_truncates(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe *fe = connect_fake(f, NULL);
    uint8_t big[VHU_FE_NSM_REQ_MAX];
    uint8_t resp[VHU_FE_NSM_RESP_LEN];
    struct vhu_fe_info info;
    size_t len = 0;

    memset(big, 0x11, sizeof(big));
    f->resp_len = VHU_FE_NSM_RESP_LEN;
    assert_int_equal(vhu_fe_nsm_call(fe, big, sizeof(big), resp, 5, &len), 0);
    assert_int_equal(len, 5);
    vhu_fe_get_info(fe, &info);
    assert_int_equal(info.last_used_len, VHU_FE_NSM_RESP_LEN);
    /* full response, all 0x3000 bytes */
    assert_int_equal(
        vhu_fe_nsm_call(fe, big, sizeof(big), resp, sizeof(resp), &len), 0);
    assert_int_equal(len, VHU_FE_NSM_RESP_LEN);
    assert_int_equal(resp[VHU_FE_NSM_RESP_LEN - 1], 0x11 ^ 0x5a);
    /* bad arguments never reach the ring */
    assert_int_equal(
        vhu_fe_nsm_call(fe, big, sizeof(big) + 1, resp, sizeof(resp), &len),
        -EINVAL);
    assert_int_equal(vhu_fe_nsm_call(fe, big, 0, resp, sizeof(resp), &len),
                     -EINVAL);
    vhu_fe_close(fe);
    fake_join(f);
    assert_int_equal(f->n_chains, 4);
}

static void nsm_swapped_is_enodata(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe *fe = connect_fake(f, NULL);
    uint8_t resp[64];
    size_t len = 99;

    set_mode(f, FAKE_SWAP);
    assert_int_equal(
        vhu_fe_nsm_call(fe, (const uint8_t *)"ab", 2, resp, sizeof(resp), &len),
        -ENODATA);
    assert_int_equal(len, 99);
    /* both chains were consumed: the next request works */
    set_mode(f, FAKE_ECHO);
    nsm_roundtrip(fe, "again");
    vhu_fe_close(fe);
    fake_join(f);
}

static void timeout_breaks(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe_options o = {.timeout_ms = 150};
    struct vhu_fe *fe = connect_fake(f, &o);
    uint8_t resp[64];
    size_t len;

    set_mode(f, FAKE_SILENT);
    assert_int_equal(
        vhu_fe_nsm_call(fe, (const uint8_t *)"ab", 2, resp, sizeof(resp), &len),
        -ETIMEDOUT);
    set_mode(f, FAKE_ECHO);
    assert_int_equal(
        vhu_fe_nsm_call(fe, (const uint8_t *)"ab", 2, resp, sizeof(resp), &len),
        -EIO);
    assert_int_equal(vhu_fe_stop(fe), -EIO);
    vhu_fe_close(fe);
    fake_join(f);
}

static void device_errors_break(void **state)
{
    static const int modes[] = {FAKE_BAD_LEN, FAKE_ERR_FD};

    for (unsigned m = 0; m < TV_ARRAY_SIZE(modes); m++) {
        struct fake *f = fake_new();
        struct vhu_fe *fe = connect_fake(f, NULL);
        uint8_t resp[64], out[4] = {1, 2, 3, 4};
        struct iovec o = {out, sizeof(out)}, i = {resp, sizeof(resp)};
        size_t len;

        set_mode(f, modes[m]);
        assert_int_equal(vhu_fe_nsm_call(fe, out, 4, resp, sizeof(resp), &len),
                         -EIO);
        assert_int_equal(vhu_fe_call(fe, &o, 1, &i, 1, &len), -EIO);
        vhu_fe_close(fe);
        fake_join(f);
    }
    /* the same over a single chain */
    {
        struct fake *f = fake_new();
        struct vhu_fe *fe = connect_fake(f, NULL);
        uint8_t resp[64], out[4] = {1, 2, 3, 4};
        struct iovec o = {out, sizeof(out)}, i = {resp, sizeof(resp)};
        size_t len;

        set_mode(f, FAKE_BAD_LEN);
        assert_int_equal(vhu_fe_call(fe, &o, 1, &i, 1, &len), -EIO);
        vhu_fe_close(fe);
        fake_join(f);
    }
}

static void hang_up_is_econnreset(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe *fe = connect_fake(f, NULL);
    uint8_t resp[64];
    size_t len;

    set_mode(f, FAKE_HANG_UP);
    assert_int_equal(
        vhu_fe_nsm_call(fe, (const uint8_t *)"ab", 2, resp, sizeof(resp), &len),
        -ECONNRESET);
    vhu_fe_close(fe);
    fake_join(f);
}

/* Gather/scatter over one chain, plain, split, indirect, across regions. */
static void call_chain_shapes(void **state)
{
    static uint8_t a[300000], b[7], r1[5], r2[299000];
    struct fake *f = fake_new();
    struct vhu_fe_options o = {.queue_size = 256};
    struct vhu_fe *fe = connect_fake(f, &o);
    struct iovec out[3] = {{a, sizeof(a)}, {NULL, 0}, {b, sizeof(b)}};
    struct iovec in[2] = {{r1, sizeof(r1)}, {r2, sizeof(r2)}};
    size_t used = 0;

    for (size_t k = 0; k < sizeof(a); k++) {
        a[k] = (uint8_t)(k * 7);
    }
    memcpy(b, "trailer", 7);
    for (unsigned pass = 0; pass < 3; pass++) {
        uint32_t flags = pass == 2 ? VHU_FE_INDIRECT : 0;
        uint32_t split = pass >= 1 ? 4096 : 0;
        unsigned before_indirect = f->n_indirect;

        vhu_fe_set_flags(fe, flags, split);
        memset(r1, 0, sizeof(r1));
        memset(r2, 0, sizeof(r2));
        assert_int_equal(vhu_fe_call(fe, out, 3, in, 2, &used), 0);
        assert_int_equal(used, sizeof(r1) + sizeof(r2));
        for (size_t k = 0; k < sizeof(r1); k++) {
            assert_int_equal(r1[k], a[k] ^ 0x5a);
        }
        for (size_t k = 0; k < sizeof(r2); k++) {
            assert_int_equal(r2[k], a[k + sizeof(r1)] ^ 0x5a);
        }
        if (pass == 0) {
            /* 2 readable + 2 writable, one more where a region ends */
            assert_true(f->max_descs >= 4 && f->max_descs <= 6);
        } else {
            assert_true(f->max_descs > 100);
        }
        assert_int_equal(f->n_indirect - before_indirect, pass == 2 ? 1 : 0);
    }
    /* a shorter response leaves the tail of the buffers untouched */
    f->resp_len = 3;
    memset(r1, 0xee, sizeof(r1));
    assert_int_equal(vhu_fe_call(fe, out, 3, in, 2, &used), 0);
    assert_int_equal(used, 3);
    assert_int_equal(r1[2], a[2] ^ 0x5a);
    assert_int_equal(r1[3], 0xee);
    /* too big for the data area, too many descriptors */
    {
        static uint8_t huge[1u << 20];
        struct iovec h = {huge, sizeof(huge)};

        assert_int_equal(vhu_fe_call(fe, &h, 1, NULL, 0, &used), -EMSGSIZE);
        vhu_fe_set_flags(fe, 0, 16);
        assert_int_equal(vhu_fe_call(fe, out, 3, in, 2, &used), -EINVAL);
        assert_int_equal(vhu_fe_call(fe, NULL, 0, NULL, 0, &used), -EINVAL);
    }
    vhu_fe_close(fe);
    fake_join(f);
}

static void indirect_needs_feature(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe_options o = {.flags = VHU_FE_NO_INDIRECT | VHU_FE_INDIRECT};
    struct vhu_fe *fe = connect_fake(f, &o);
    uint8_t x = 1, y;
    struct iovec out = {&x, 1}, in = {&y, 1};
    size_t used;

    assert_int_equal(vhu_fe_call(fe, &out, 1, &in, 1, &used), -EOPNOTSUPP);
    vhu_fe_set_flags(fe, 0, 0);
    assert_int_equal(vhu_fe_call(fe, &out, 1, &in, 1, &used), 0);
    assert_int_equal(y, 1 ^ 0x5a);
    vhu_fe_close(fe);
    fake_join(f);
}

/* Polling works when the device never interrupts; sleeping does not. */
static void poll_mode(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe_options o = {.flags = VHU_FE_POLL, .timeout_ms = 2000};
    struct vhu_fe *fe = connect_fake(f, &o);
    uint8_t resp[16];
    size_t len;

    set_mode(f, FAKE_NO_CALL);
    for (int i = 0; i < 100; i++) {
        nsm_roundtrip(fe, "polled");
    }
    /* a slow device: the poller must wait for it */
    f->delay_us = 100000;
    nsm_roundtrip(fe, "slow");
    /* sleeping on the call eventfd needs the interrupt that never comes */
    vhu_fe_set_flags(fe, 0, 0);
    assert_int_equal(
        vhu_fe_nsm_call(fe, (const uint8_t *)"x", 1, resp, sizeof(resp), &len),
        -ETIMEDOUT);
    vhu_fe_close(fe);
    fake_join(f);
    /* in poll mode the frontend asks not to be interrupted */
    assert_int_equal(f->n_calls, 0);
}

/* Without EVENT_IDX, INDIRECT, REPLY_ACK, STATUS, with SET_MEM_TABLE. */
static void legacy_paths(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe_options o = {
        .flags = VHU_FE_NO_EVENT_IDX | VHU_FE_NO_REPLY_ACK | VHU_FE_MEM_TABLE |
                 VHU_FE_NO_STATUS,
        .n_regions = 3,
        .mem_size = 3 * 64 * 1024,
        .gpa_base = 0x7000,
        .timeout_ms = 2000,
    };
    struct vhu_fe *fe = connect_fake(f, &o);
    struct vhu_fe_info info;

    for (int i = 0; i < 50; i++) {
        nsm_roundtrip(fe, "legacy");
    }
    vhu_fe_get_info(fe, &info);
    assert_int_equal(info.acked_features,
                     (1ull << VIRTIO_F_VERSION_1) |
                         (1ull << VIRTIO_F_RING_INDIRECT_DESC) |
                         (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
    vhu_fe_close(fe);
    fake_join(f);
    assert_int_equal(f->n_reg, 3);
    assert_true(f->reg[0].gpa == 0x7000);
    for (unsigned i = 0; i < f->n_log; i++) {
        assert_int_equal(f->log_flags[i], 0x1);
        assert_int_not_equal(f->log[i], VHOST_USER_ADD_MEM_REG);
        assert_int_not_equal(f->log[i], VHOST_USER_GET_STATUS);
    }
}

/* A backend without bit 30: no protocol messages, rings on at SET_FEATURES. */
static void no_protocol_features(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe *fe;
    uint8_t cfg[3];

    f->features = (1ull << VIRTIO_F_VERSION_1);
    fe = connect_fake(f, NULL);
    nsm_roundtrip(fe, "plain");
    assert_int_equal(vhu_fe_get_config(fe, 0, cfg, 3), -EOPNOTSUPP);
    vhu_fe_close(fe);
    fake_join(f);
    for (unsigned i = 0; i < f->n_log; i++) {
        assert_int_not_equal(f->log[i], VHOST_USER_GET_PROTOCOL_FEATURES);
        assert_int_not_equal(f->log[i], VHOST_USER_SET_VRING_ENABLE);
    }
}

static void get_config(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe *fe = connect_fake(f, NULL);
    uint8_t cfg[8];

    assert_int_equal(vhu_fe_get_config(fe, 0, cfg, 3), 0);
    assert_bytes_equal(cfg, "\x20\x02\x03", 3);
    assert_int_equal(vhu_fe_get_config(fe, 5, cfg, 3), 0);
    assert_bytes_equal(cfg, "\x06\x07\x08", 3);
    assert_int_equal(vhu_fe_get_config(fe, 6, cfg, 3), -EPROTO);
    assert_int_equal(vhu_fe_get_config(fe, 0, cfg, 0), -EINVAL);
    /* the connection survives a refused read */
    nsm_roundtrip(fe, "after config");
    vhu_fe_close(fe);
    fake_join(f);
}

struct flip {
    size_t at;       /* byte to flip */
    size_t new_len;  /* length to return, 0 = keep */
    unsigned n_runs; /* hook invocations */
};

static size_t flip_hook(void *ctx, enum vhu_fe_kind kind, uint8_t *buf,
                        size_t len, size_t cap)
{
    struct flip *fl = ctx;

    fl->n_runs++;
    if (fl->at < len) {
        buf[fl->at] ^= 0x01;
    }
    return fl->new_len ? fl->new_len : len;
}

static void tamper_hook(void **state)
{
    struct fake *f = fake_new();
    struct flip fl = {.at = 1};
    struct vhu_fe_options o = {.tamper = flip_hook, .tamper_ctx = &fl};
    struct vhu_fe *fe = connect_fake(f, &o);
    uint8_t resp[16], req[4] = {0, 0, 0, 0};
    struct iovec out = {req, 4}, in = {resp, sizeof(resp)};
    size_t len;

    assert_int_equal(vhu_fe_nsm_call(fe, req, 4, resp, sizeof(resp), &len), 0);
    assert_int_equal(len, 4);
    assert_bytes_equal(resp, "\x5a\x5b\x5a\x5a", 4);
    assert_int_equal(vhu_fe_call(fe, &out, 1, &in, 1, &len), 0);
    assert_bytes_equal(resp, "\x5a\x5b\x5a\x5a", 4);
    /* a hook can shorten or lengthen up to the capacity */
    fl.new_len = 2;
    assert_int_equal(vhu_fe_call(fe, &out, 1, &in, 1, &len), 0);
    assert_int_equal(len, 2);
    fl.new_len = 1000;
    assert_int_equal(vhu_fe_call(fe, &out, 1, &in, 1, &len), 0);
    assert_int_equal(len, sizeof(resp));
    assert_int_equal(fl.n_runs, 4);
    vhu_fe_close(fe);
    fake_join(f);
}

static void refused_setup(void **state)
{
    struct fake *f = fake_new();
    char err[200];
    struct vhu_fe *fe;

    f->nack_req = VHOST_USER_ADD_MEM_REG;
    fe = vhu_fe_connect_fd(fake_start(f), NULL, err, sizeof(err));
    assert_null(fe);
    assert_int_equal(errno, EPROTO);
    assert_non_null(strstr(err, "ADD_MEM_REG"));
    fake_join(f);

    f = fake_new();
    f->features = (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    fe = vhu_fe_connect_fd(fake_start(f), NULL, err, sizeof(err));
    assert_null(fe);
    assert_non_null(strstr(err, "VERSION_1"));
    fake_join(f);
}

static void bad_options(void **state)
{
    static const struct vhu_fe_options bad[] = {
        {.queue_size = 48},    {.queue_size = 65536}, {.mem_size = 4096},
        {.mem_size = 100000},  {.n_regions = 9},      {.gpa_base = 0x1001},
        {.queue_size = 32768}, /* ring larger than a 512 KiB region */
    };
    char err[200];

    for (unsigned i = 0; i < TV_ARRAY_SIZE(bad); i++) {
        int sv[2];
        struct vhu_fe *fe;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        fe = vhu_fe_connect_fd(sv[0], &bad[i], err, sizeof(err));
        assert_null(fe);
        assert_int_equal(errno, EINVAL);
        assert_true(strlen(err) > 10);
        close(sv[1]);
    }
    /* queue of 2: the smallest that holds an NSM request */
    {
        struct fake *f = fake_new();
        struct vhu_fe_options o = {.queue_size = 2, .n_regions = 1};
        struct vhu_fe *fe = connect_fake(f, &o);

        for (int i = 0; i < 10; i++) {
            nsm_roundtrip(fe, "tiny ring");
        }
        vhu_fe_close(fe);
        fake_join(f);
    }
}

static void connect_errors(void **state)
{
    char err[200];
    struct vhu_fe *fe;
    struct vhu_fe_options o = {.connect_wait_ms = 50};

    fe = vhu_fe_connect("/nonexistent/trustvio.sock", &o, err, sizeof(err));
    assert_null(fe);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err, "/nonexistent/trustvio.sock"));
    fe = vhu_fe_connect("", NULL, err, sizeof(err));
    assert_null(fe);
    assert_int_equal(errno, EINVAL);
}

struct accept_ctx {
    int lfd;        /* listening socket */
    struct fake *f; /* served after accept */
};

static void *accept_main(void *arg)
{
    struct accept_ctx *a = arg;

    a->f->sock = accept(a->lfd, NULL, NULL);
    if (a->f->sock < 0) {
        fake_fail(a->f, "accept failed");
        return NULL;
    }
    return fake_main(a->f);
}

/* A real listening socket path, accepted by the fake thread. */
static void connect_by_path(void **state)
{
    char dir[] = "/tmp/tv-fe-XXXXXX";
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct vhu_fe_options o = {.connect_wait_ms = 2000};
    struct fake *f = fake_new();
    struct accept_ctx a = {-1, f};
    struct vhu_fe *fe;
    char err[200];

    assert_non_null(mkdtemp(dir));
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
    a.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(a.lfd >= 0);
    assert_int_equal(bind(a.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(a.lfd, 1), 0);
    assert_int_equal(pthread_create(&f->thr, NULL, accept_main, &a), 0);
    fe = vhu_fe_connect(sa.sun_path, &o, err, sizeof(err));
    if (fe == NULL) {
        fail_msg("connect: %s", err);
    }
    nsm_roundtrip(fe, "by path");
    vhu_fe_close(fe);
    fake_join(f);
    close(a.lfd);
    unlink(sa.sun_path);
    rmdir(dir);
}

struct worker {
    struct vhu_fe *fe; /* shared frontend */
    unsigned id;       /* distinguishes the payloads */
    int failures;      /* wrong or failed answers */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    for (unsigned i = 0; i < 2000; i++) {
        uint8_t req[8], resp[64];
        size_t len = 0;

        memset(req, (int)(w->id * 31 + i), sizeof(req));
        if (vhu_fe_nsm_call(w->fe, req, sizeof(req), resp, sizeof(resp),
                            &len) != 0 ||
            len != sizeof(req) || resp[3] != (req[3] ^ 0x5a)) {
            w->failures++;
        }
    }
    return NULL;
}

/* Calls from several threads are serialized: every answer is its own. */
static void concurrent_calls(void **state)
{
    struct fake *f = fake_new();
    struct vhu_fe *fe = connect_fake(f, NULL);
    struct worker w[4];
    pthread_t t[4];
    struct vhu_fe_info info;

    for (unsigned i = 0; i < 4; i++) {
        w[i] = (struct worker){fe, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    vhu_fe_get_info(fe, &info);
    assert_int_equal(info.n_requests, 8000);
    vhu_fe_close(fe);
    fake_join(f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(handshake_order),
    cmocka_unit_test(nsm_two_chains),
    cmocka_unit_test(nsm_index_wrap),
    cmocka_unit_test(nsm_truncates),
    cmocka_unit_test(nsm_swapped_is_enodata),
    cmocka_unit_test(timeout_breaks),
    cmocka_unit_test(device_errors_break),
    cmocka_unit_test(hang_up_is_econnreset),
    cmocka_unit_test(call_chain_shapes),
    cmocka_unit_test(indirect_needs_feature),
    cmocka_unit_test(poll_mode),
    cmocka_unit_test(legacy_paths),
    cmocka_unit_test(no_protocol_features),
    cmocka_unit_test(get_config),
    cmocka_unit_test(tamper_hook),
    cmocka_unit_test(refused_setup),
    cmocka_unit_test(bad_options),
    cmocka_unit_test(connect_errors),
    cmocka_unit_test(connect_by_path),
    cmocka_unit_test(concurrent_calls),
};

HARNESS_MAIN("client", tests)
