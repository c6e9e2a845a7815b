/* SPDX-License-Identifier: MIT */
/*
 * vhost-user frontend, VMM side: the vhost-user messages QEMU sends, the
 * guest memory it shares (one memfd, sealed against shrinking and growing
 * as QEMU seals it, cut into regions with guest-physical holes), feature
 * and status negotiation, and the lifetime of struct vhu_fe. See
 * vhu_frontend.h for the contract and vhu_fe_priv.h for the memory layout.
 */
#include "frontend/vhu_fe_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

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
    fe->mem_fd =
        memfd_create("trustvio-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fe->mem_fd < 0) {
        fe_set_err(fe, "memfd_create: %s", strerror(errno));
        return -errno;
    }
    if (ftruncate(fe->mem_fd, fe->mem_size) < 0) {
        fe_set_err(fe, "ftruncate guest memory: %s", strerror(errno));
        return -errno;
    }
    /* Guest memory never changes size; seal it as QEMU does (seal=on). */
    if (fcntl(fe->mem_fd, F_ADD_SEALS,
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        fe_set_err(fe, "seal guest memory: %s", strerror(errno));
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

static void fe_free(struct vhu_fe *fe)
{
#ifdef VHU_FE_TEST_HOOKS
    fe_flood_quit(fe);
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
    if (fe->wait_fd >= 0) {
        close(fe->wait_fd);
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

/*
 * The set a sleeping request waits on: the call eventfd (the answer), the
 * error eventfd and the socket (a dead or misbehaving backend). Registered
 * once, so that each wait is one epoll_wait() that arms nothing; poll()
 * over the three would add and remove three wait-queue entries per
 * request. Return 0, or -1 with errno set.
 */
static int fe_setup_wait(struct vhu_fe *fe)
{
    const int fds[FE_WAIT_N] = {fe->call_fd, fe->err_fd, fe->sock};

    fe->wait_fd = epoll_create1(EPOLL_CLOEXEC);
    if (fe->wait_fd < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < FE_WAIT_N; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

        if (epoll_ctl(fe->wait_fd, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
            return -1;
        }
    }
    return 0;
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
    fe->kick_fd = fe->call_fd = fe->err_fd = fe->wait_fd = fe->mem_fd = -1;
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
        fe->err_fd < 0 || fe_setup_wait(fe) < 0) {
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
/* see vhu_fe_priv.h */
int fe_get_vring_base(struct vhu_fe *fe, struct vhost_vring_state *st)
{
    uint32_t size = 0;
    int ret;

    st->index = 0;
    st->num = 0;
    ret = fe_send(fe, VHOST_USER_GET_VRING_BASE, 0, st, sizeof(*st), NULL, 0);
    if (ret < 0) {
        fe->broken = true;
        return ret;
    }
    ret = fe_recv_reply(fe, VHOST_USER_GET_VRING_BASE, st, sizeof(*st), &size);
    if (ret < 0) {
        return ret;
    }
    return size == sizeof(*st) ? 0 : -EPROTO;
}

static int fe_stop_locked(struct vhu_fe *fe)
{
    struct vhost_vring_state st = {0, 0};
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
    ret = fe_get_vring_base(fe, &st);
    if (ret < 0 && ret != -EPROTO) {
        return ret;
    }
    if (ret < 0 || st.index != 0 || st.num != fe->avail_idx) {
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
