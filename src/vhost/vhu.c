/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end library, messages: framing (one message, its fds, its
 * reply), dispatch, and one handler per request; connection lifetime. The
 * memory table is in vhu_mem.c, the rings in vhu_ring.c. See vhu.h.
 */
#include "vhost/vhu_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"

/* One received message. Payload bytes are copied here before any use. */
struct vhu_msg {
    struct vhost_user_hdr hdr;               /* header as received */
    uint8_t payload[VHOST_USER_MAX_PAYLOAD]; /* hdr.size bytes */
    int fds[VHOST_USER_MAX_FDS];             /* received fds, -1 = taken */
    unsigned n_fds;                          /* entries in @fds */
    bool fds_truncated;                      /* more fds than we take */
};

/* What a handler answers with, besides the REPLY_ACK u64. */
struct vhu_reply {
    bool has_reply; /* own reply body */
    uint32_t size;  /* body bytes */
    uint8_t payload[VHOST_USER_CONFIG_HDR_SIZE +
                    VHOST_USER_MAX_CONFIG_SIZE]; /* body */
};

/*
 * Eventfds from the front-end are used without ever blocking: a full or
 * non-eventfd notifier must not stall the device. Return: 0 or -errno.
 */
static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return -errno;
    }
    return 0;
}

static uint64_t offered_features(const struct vhu_dev *dev)
{
    return VHU_BASE_FEATURES | dev->cfg.ops->features;
}

static uint64_t offered_protocol_features(const struct vhu_dev *dev)
{
    uint64_t f = VHU_BASE_PROTOCOL_FEATURES;

    if (dev->cfg.config_size > 0) {
        f |= 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
    }
    return f;
}

static bool has_protocol_feature(const struct vhu_dev *dev, unsigned bit)
{
    return (dev->protocol_features & (1ull << bit)) != 0;
}

/* see vhu.h */
int vhu_init(struct vhu_dev *dev, const struct vhu_config *cfg)
{
    static const struct vhu_device_ops no_ops;
    unsigned i;

    if (cfg == NULL || cfg->loop == NULL || cfg->n_queues == 0 ||
        cfg->n_queues > VHU_MAX_QUEUES ||
        cfg->config_size > VHOST_USER_MAX_CONFIG_SIZE) {
        return -EINVAL;
    }
    memset(dev, 0, sizeof(*dev));
    dev->cfg = *cfg;
    if (dev->cfg.ops == NULL) {
        dev->cfg.ops = &no_ops;
    }
    dev->sock = -1;
    gmem_init(&dev->gm);
    for (i = 0; i < VHU_MAX_QUEUES; i++) {
        dev->q[i].dev = dev;
        dev->q[i].index = i;
        vhu_ring_reset(&dev->q[i]);
    }
    return 0;
}

/* see vhu.h */
void *vhu_opaque(const struct vhu_dev *dev)
{
    return dev->cfg.opaque;
}

/* see vhu.h */
int vhu_attach(struct vhu_dev *dev, int sock)
{
    unsigned i;

    if (dev->sock >= 0) {
        return -EBUSY;
    }
    dev->sock = sock;
    dev->owner = false;
    dev->features = 0;
    dev->protocol_features = 0;
    dev->status = 0;
    gmem_init(&dev->gm);
    memset(dev->map, 0, sizeof(dev->map));
    for (i = 0; i < VHU_MAX_QUEUES; i++) {
        vhu_ring_reset(&dev->q[i]);
    }
    return 0;
}

/* ---- message handlers --------------------------------------------------- */

/* Take received fd @i out of @msg (the caller now owns it). */
static int msg_take_fd(struct vhu_msg *msg, unsigned i)
{
    int fd = msg->fds[i];

    msg->fds[i] = -1;
    return fd;
}

static void reply_u64(struct vhu_reply *rep, uint64_t v)
{
    rep->has_reply = true;
    rep->size = 8;
    store_le64(rep->payload, v);
}

static bool payload_is(const struct vhu_msg *msg, uint32_t size)
{
    return msg->hdr.size == size;
}

static uint64_t payload_u64(const struct vhu_msg *msg)
{
    return load_le64(msg->payload);
}

/* {u32 index, u32 num} with a valid index. */
static int payload_state(const struct vhu_dev *dev, const struct vhu_msg *msg,
                         unsigned *q, uint32_t *num)
{
    uint32_t idx;

    if (!payload_is(msg, 8)) {
        return -EINVAL;
    }
    idx = load_le32(msg->payload);
    if (idx >= dev->cfg.n_queues) {
        return -ERANGE;
    }
    *q = idx;
    *num = load_le32(msg->payload + 4);
    return 0;
}

static int handle_set_features(struct vhu_dev *dev, const struct vhu_msg *msg)
{
    uint64_t f;
    unsigned i;

    if (!payload_is(msg, 8)) {
        return -EINVAL;
    }
    f = payload_u64(msg);
    if ((f & ~offered_features(dev)) != 0) {
        tv_warn("SET_FEATURES: 0x%llx includes bits never offered",
                (unsigned long long)f);
        return -EINVAL;
    }
    dev->features = f;
    for (i = 0; i < dev->cfg.n_queues; i++) {
        struct vhu_queue *vq = &dev->q[i];

        vring_set_features(&vq->vr,
                           (f & (1ull << VIRTIO_F_RING_INDIRECT_DESC)) != 0,
                           (f & (1ull << VIRTIO_F_RING_EVENT_IDX)) != 0);
        /* Without PROTOCOL_FEATURES, rings are born enabled. */
        if ((f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) == 0) {
            vq->enabled = true;
        }
    }
    if (dev->cfg.ops->set_features != NULL) {
        dev->cfg.ops->set_features(dev, f);
    }
    return 0;
}

static int handle_set_protocol_features(struct vhu_dev *dev,
                                        const struct vhu_msg *msg)
{
    uint64_t f;

    if (!payload_is(msg, 8)) {
        return -EINVAL;
    }
    f = payload_u64(msg);
    if ((f & ~offered_protocol_features(dev)) != 0) {
        tv_warn("SET_PROTOCOL_FEATURES: 0x%llx includes bits never offered",
                (unsigned long long)f);
        return -EINVAL;
    }
    dev->protocol_features = f;
    return 0;
}

static int handle_set_mem_table(struct vhu_dev *dev, struct vhu_msg *msg)
{
    uint32_t n;
    unsigned i;
    int rc = 0;

    if (msg->hdr.size < 8) {
        return -EINVAL;
    }
    n = load_le32(msg->payload);
    if (n > VHOST_USER_MEM_REGIONS || msg->hdr.size != 8 + 32 * n ||
        msg->n_fds != n || msg->fds_truncated) {
        tv_warn("SET_MEM_TABLE: %u regions, %u bytes, %u fds do not match", n,
                msg->hdr.size, msg->n_fds);
        return -EINVAL;
    }
    /* A new table replaces the old one entirely. */
    vhu_mem_clear(dev);
    for (i = 0; i < n; i++) {
        struct vhost_user_mem_region mr;
        const uint8_t *p = msg->payload + 8 + 32 * (size_t)i;
        int r;

        mr.guest_phys_addr = load_le64(p);
        mr.memory_size = load_le64(p + 8);
        mr.userspace_addr = load_le64(p + 16);
        mr.mmap_offset = load_le64(p + 24);
        r = vhu_mem_add_region(dev, &mr, msg_take_fd(msg, i));
        if (r < 0 && rc == 0) {
            rc = r;
        }
    }
    if (rc < 0) {
        vhu_mem_clear(dev);
    }
    return rc;
}

static void parse_mem_reg(const struct vhu_msg *msg,
                          struct vhost_user_mem_region *mr)
{
    const uint8_t *p = msg->payload + 8;

    mr->guest_phys_addr = load_le64(p);
    mr->memory_size = load_le64(p + 8);
    mr->userspace_addr = load_le64(p + 16);
    mr->mmap_offset = load_le64(p + 24);
}

static int handle_add_mem_reg(struct vhu_dev *dev, struct vhu_msg *msg)
{
    struct vhost_user_mem_region mr;

    if (!payload_is(msg, 40) || msg->n_fds != 1 || msg->fds_truncated) {
        tv_warn("ADD_MEM_REG: needs a 40-byte payload and one fd");
        return -EINVAL;
    }
    parse_mem_reg(msg, &mr);
    return vhu_mem_add_region(dev, &mr, msg_take_fd(msg, 0));
}

static int handle_rem_mem_reg(struct vhu_dev *dev, const struct vhu_msg *msg)
{
    struct vhost_user_mem_region mr;
    struct gmem_region gone;

    /* An fd that comes along is closed with the other leftovers. */
    if (!payload_is(msg, 40)) {
        return -EINVAL;
    }
    parse_mem_reg(msg, &mr);
    if (gmem_remove(&dev->gm, mr.guest_phys_addr, mr.memory_size, &gone) !=
        GMEM_OK) {
        tv_warn("REM_MEM_REG: no region at 0x%llx of 0x%llx bytes",
                (unsigned long long)mr.guest_phys_addr,
                (unsigned long long)mr.memory_size);
        return -ENOENT;
    }
    vhu_mem_unmap(dev, gone.host);
    return 0;
}

static int handle_vring_fd(struct vhu_dev *dev, struct vhu_msg *msg,
                           unsigned *q_out, int *fd_out)
{
    uint64_t v;
    unsigned q;

    if (!payload_is(msg, 8)) {
        return -EINVAL;
    }
    v = payload_u64(msg);
    q = (unsigned)(v & VHOST_USER_VRING_IDX_MASK);
    if (q >= dev->cfg.n_queues || (v >> 9) != 0) {
        return -ERANGE;
    }
    if ((v & VHOST_USER_VRING_NOFD_MASK) != 0) {
        if (msg->n_fds != 0) {
            return -EINVAL;
        }
        *fd_out = -1;
    } else {
        if (msg->n_fds != 1 || msg->fds_truncated) {
            return -EINVAL;
        }
        *fd_out = msg_take_fd(msg, 0);
        if (set_nonblock(*fd_out) < 0) {
            vhu_close_fd(fd_out);
            return -EBADF;
        }
    }
    *q_out = q;
    return 0;
}

static int handle_set_vring_kick(struct vhu_dev *dev, struct vhu_msg *msg)
{
    struct vhu_queue *vq;
    unsigned q;
    int fd;
    int rc;

    rc = handle_vring_fd(dev, msg, &q, &fd);
    if (rc < 0) {
        return rc;
    }
    vq = &dev->q[q];
    vhu_ring_drop_kick(dev, q);
    if (fd < 0) {
        /* No fd: the ring runs now and is polled after each message. */
        vq->kick_polled = true;
        vhu_ring_set_started(dev, q, true);
        return 0;
    }
    rc = dev->cfg.loop->set_watch(dev->cfg.loop_ctx, fd, vhu_ring_kick_cb, vq);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    vq->kick_fd = fd;
    return 0;
}

static int handle_set_vring_callerr(struct vhu_dev *dev, struct vhu_msg *msg,
                                    bool is_err)
{
    struct vhu_queue *vq;
    unsigned q;
    int fd;
    int rc;

    rc = handle_vring_fd(dev, msg, &q, &fd);
    if (rc < 0) {
        return rc;
    }
    vq = &dev->q[q];
    if (is_err) {
        vhu_close_fd(&vq->err_fd);
        vq->err_fd = fd;
    } else {
        vhu_close_fd(&vq->call_fd);
        vq->call_fd = fd;
    }
    return 0;
}

static int handle_vring_state(struct vhu_dev *dev, const struct vhu_msg *msg)
{
    unsigned q;
    uint32_t num;
    int rc;

    rc = payload_state(dev, msg, &q, &num);
    if (rc < 0) {
        return rc;
    }
    switch (msg->hdr.request) {
    case VHOST_USER_SET_VRING_NUM:
        if (vring_set_num(&dev->q[q].vr, num) != VRING_OK) {
            tv_warn("SET_VRING_NUM: %u is not a power of two up to %d", num,
                    VRING_MAX_NUM);
            return -EINVAL;
        }
        return 0;
    case VHOST_USER_SET_VRING_BASE:
        if (num > 0xffff) {
            return -EINVAL;
        }
        vring_set_base(&dev->q[q].vr, (uint16_t)num);
        dev->q[q].error_logged = false;
        return 0;
    case VHOST_USER_SET_VRING_ENABLE:
        if (num > 1) {
            return -EINVAL;
        }
        dev->q[q].enabled = num == 1;
        /* Kicks that came while disabled are served now. */
        vhu_ring_run(dev, q);
        return 0;
    default:
        return -ENOSYS;
    }
}

static int handle_set_vring_addr(struct vhu_dev *dev, const struct vhu_msg *msg)
{
    uint32_t q;

    if (!payload_is(msg, 40)) {
        return -EINVAL;
    }
    q = load_le32(msg->payload);
    if (q >= dev->cfg.n_queues) {
        return -ERANGE;
    }
    /* Flag bit 0 (log used-ring writes) is moot: LOG_ALL is never offered. */
    vring_set_addr(&dev->q[q].vr, load_le64(msg->payload + 8),
                   load_le64(msg->payload + 24), load_le64(msg->payload + 16));
    return 0;
}

static void handle_get_vring_base(struct vhu_dev *dev,
                                  const struct vhu_msg *msg,
                                  struct vhu_reply *rep)
{
    uint32_t idx = 0;
    uint32_t base = 0;

    /* Always answered; a bad index gets {index, 0}. */
    if (msg->hdr.size >= 4) {
        idx = load_le32(msg->payload);
    }
    if (payload_is(msg, 8) && idx < dev->cfg.n_queues) {
        vhu_ring_stop(dev, idx);
        base = dev->q[idx].vr.last_avail_idx;
    } else {
        tv_warn("GET_VRING_BASE: bad request for ring %u", idx);
    }
    rep->has_reply = true;
    rep->size = 8;
    store_le32(rep->payload, idx);
    store_le32(rep->payload + 4, base);
}

static void handle_get_config(struct vhu_dev *dev, const struct vhu_msg *msg,
                              struct vhu_reply *rep)
{
    uint32_t off;
    uint32_t len;

    /* Always answered; a zero-length reply tells the front-end it failed. */
    rep->has_reply = true;
    rep->size = 0;
    if (msg->hdr.size < VHOST_USER_CONFIG_HDR_SIZE ||
        dev->cfg.config_size == 0 || dev->cfg.ops->get_config == NULL) {
        tv_warn("GET_CONFIG: refused (no config space or short message)");
        return;
    }
    off = load_le32(msg->payload);
    len = load_le32(msg->payload + 4);
    if (len == 0 || len > VHOST_USER_MAX_CONFIG_SIZE ||
        off > dev->cfg.config_size || len > dev->cfg.config_size - off ||
        msg->hdr.size != VHOST_USER_CONFIG_HDR_SIZE + len) {
        tv_warn("GET_CONFIG: offset %u size %u outside the %u-byte config", off,
                len, dev->cfg.config_size);
        return;
    }
    memcpy(rep->payload, msg->payload, VHOST_USER_CONFIG_HDR_SIZE);
    memset(rep->payload + VHOST_USER_CONFIG_HDR_SIZE, 0, len);
    if (dev->cfg.ops->get_config(
            dev, off, rep->payload + VHOST_USER_CONFIG_HDR_SIZE, len) < 0) {
        return;
    }
    rep->size = VHOST_USER_CONFIG_HDR_SIZE + len;
}

static int handle_set_config(struct vhu_dev *dev, const struct vhu_msg *msg)
{
    uint32_t off;
    uint32_t len;

    if (msg->hdr.size < VHOST_USER_CONFIG_HDR_SIZE) {
        return -EINVAL;
    }
    off = load_le32(msg->payload);
    len = load_le32(msg->payload + 4);
    if (len > VHOST_USER_MAX_CONFIG_SIZE || off > dev->cfg.config_size ||
        len > dev->cfg.config_size - off ||
        msg->hdr.size != VHOST_USER_CONFIG_HDR_SIZE + len) {
        return -EINVAL;
    }
    if (dev->cfg.ops->set_config == NULL) {
        tv_warn("SET_CONFIG: refused, the config space is read-only");
        return -EPERM;
    }
    return dev->cfg.ops->set_config(
        dev, off, msg->payload + VHOST_USER_CONFIG_HDR_SIZE, len);
}

static void device_reset(struct vhu_dev *dev)
{
    if (dev->cfg.ops->reset != NULL) {
        dev->cfg.ops->reset(dev);
    }
}

static int handle_reset_device(struct vhu_dev *dev)
{
    unsigned i;

    /* Rings off and forgotten; memory and ownership stay. */
    for (i = 0; i < dev->cfg.n_queues; i++) {
        struct vhu_queue *vq = &dev->q[i];

        vhu_ring_stop(dev, i);
        vhu_close_fd(&vq->call_fd);
        vhu_close_fd(&vq->err_fd);
        vhu_ring_reset(vq);
    }
    dev->features = 0;
    dev->status = 0;
    device_reset(dev);
    return 0;
}

static int handle_set_status(struct vhu_dev *dev, const struct vhu_msg *msg)
{
    uint64_t v;

    if (!payload_is(msg, 8)) {
        return -EINVAL;
    }
    v = payload_u64(msg);
    if (v > 0xff) {
        return -EINVAL;
    }
    /* Writing 0 is the driver's device reset (virtio 1.2 2.1). */
    if (v == 0 && dev->status != 0) {
        dev->status = 0;
        device_reset(dev);
    }
    dev->status = (uint8_t)v;
    return 0;
}

/*
 * One request. Returns 0 or a negative errno for the REPLY_ACK answer; a
 * request with its own reply body fills @rep instead. *@known tells whether
 * the request is one this back-end implements.
 */
static int handle_msg(struct vhu_dev *dev, struct vhu_msg *msg,
                      struct vhu_reply *rep, bool *known)
{
    *known = true;
    switch (msg->hdr.request) {
    case VHOST_USER_GET_FEATURES:
        reply_u64(rep, offered_features(dev));
        return 0;
    case VHOST_USER_SET_FEATURES:
        return handle_set_features(dev, msg);
    case VHOST_USER_GET_PROTOCOL_FEATURES:
        reply_u64(rep, offered_protocol_features(dev));
        return 0;
    case VHOST_USER_SET_PROTOCOL_FEATURES:
        return handle_set_protocol_features(dev, msg);
    case VHOST_USER_SET_OWNER:
        if (dev->owner) {
            tv_warn("SET_OWNER: sent twice on one connection");
            return -EBUSY;
        }
        dev->owner = true;
        return 0;
    case VHOST_USER_RESET_OWNER:
        /* Deprecated; ignored, the connection state stays. */
        return 0;
    case VHOST_USER_GET_QUEUE_NUM:
        reply_u64(rep, dev->cfg.n_queues);
        return 0;
    case VHOST_USER_GET_MAX_MEM_SLOTS:
        reply_u64(rep, GMEM_MAX_REGIONS);
        return 0;
    case VHOST_USER_SET_MEM_TABLE:
        return handle_set_mem_table(dev, msg);
    case VHOST_USER_ADD_MEM_REG:
        return handle_add_mem_reg(dev, msg);
    case VHOST_USER_REM_MEM_REG:
        return handle_rem_mem_reg(dev, msg);
    case VHOST_USER_SET_VRING_NUM:
    case VHOST_USER_SET_VRING_BASE:
    case VHOST_USER_SET_VRING_ENABLE:
        return handle_vring_state(dev, msg);
    case VHOST_USER_SET_VRING_ADDR:
        return handle_set_vring_addr(dev, msg);
    case VHOST_USER_GET_VRING_BASE:
        handle_get_vring_base(dev, msg, rep);
        return 0;
    case VHOST_USER_SET_VRING_KICK:
        return handle_set_vring_kick(dev, msg);
    case VHOST_USER_SET_VRING_CALL:
        return handle_set_vring_callerr(dev, msg, false);
    case VHOST_USER_SET_VRING_ERR:
        return handle_set_vring_callerr(dev, msg, true);
    case VHOST_USER_GET_CONFIG:
        handle_get_config(dev, msg, rep);
        return 0;
    case VHOST_USER_SET_CONFIG:
        return handle_set_config(dev, msg);
    case VHOST_USER_RESET_DEVICE:
        return handle_reset_device(dev);
    case VHOST_USER_SET_STATUS:
        return handle_set_status(dev, msg);
    case VHOST_USER_GET_STATUS:
        reply_u64(rep, dev->status);
        return 0;
    case VHOST_USER_GET_INFLIGHT_FD:
        /* Never offered, but a GET is always answered: an empty area
         * (mmap_size 0, no fd) tells the front-end there is none. */
        rep->has_reply = true;
        rep->size = 24;
        memset(rep->payload, 0, 24);
        tv_warn("GET_INFLIGHT_FD: INFLIGHT_SHMFD was never offered");
        return 0;
    case VHOST_USER_SET_DEVICE_STATE_FD:
    case VHOST_USER_CHECK_DEVICE_STATE:
        /* Never offered; these always expect a u64 result: failure. */
        reply_u64(rep, EOPNOTSUPP);
        tv_warn("%s: DEVICE_STATE was never offered",
                vhost_user_request_name(msg->hdr.request));
        return 0;
    default:
        *known = false;
        tv_warn("request %u (%s) not supported", msg->hdr.request,
                vhost_user_request_name(msg->hdr.request));
        return -ENOSYS;
    }
}

/* ---- framing ------------------------------------------------------------ */

/* Read exactly @len bytes; 0, -ECONNRESET on EOF, or a negative errno. */
static int read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = recv(fd, p, len, MSG_WAITALL);

        if (n == 0) {
            return -ECONNRESET;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * Read the header with its ancillary fds, then the payload. Fds beyond
 * VHOST_USER_MAX_FDS are dropped by the kernel (MSG_CTRUNC), which is noted
 * so that requests carrying fds fail cleanly.
 */
static int recv_msg(int sock, struct vhu_msg *msg)
{
    union {
        char buf[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    uint8_t hdr[VHOST_USER_HDR_SIZE];
    struct iovec iov = {hdr, sizeof(hdr)};
    struct msghdr mh;
    struct cmsghdr *c;
    ssize_t n;
    int rc;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    msg->n_fds = 0;
    msg->fds_truncated = false;
    do {
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    if (n == 0) {
        return -ECONNRESET;
    }
    for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        size_t cnt;
        size_t i;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < cnt; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (msg->n_fds < VHOST_USER_MAX_FDS) {
                msg->fds[msg->n_fds++] = fd;
            } else {
                close(fd);
                msg->fds_truncated = true;
            }
        }
    }
    if ((mh.msg_flags & MSG_CTRUNC) != 0) {
        msg->fds_truncated = true;
    }
    if ((size_t)n < sizeof(hdr)) {
        rc = read_full(sock, hdr + n, sizeof(hdr) - (size_t)n);
        if (rc < 0) {
            return rc;
        }
    }
    msg->hdr.request = load_le32(hdr);
    msg->hdr.flags = load_le32(hdr + 4);
    msg->hdr.size = load_le32(hdr + 8);
    if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) {
        tv_err("front-end speaks vhost-user version %u, not 1",
               msg->hdr.flags & VHOST_USER_VERSION_MASK);
        return -EPROTO;
    }
    if (msg->hdr.size > VHOST_USER_MAX_PAYLOAD) {
        tv_err("%s: payload of %u bytes exceeds %d",
               vhost_user_request_name(msg->hdr.request), msg->hdr.size,
               VHOST_USER_MAX_PAYLOAD);
        return -EMSGSIZE;
    }
    return read_full(sock, msg->payload, msg->hdr.size);
}

static int send_reply(int sock, uint32_t request, const uint8_t *payload,
                      uint32_t size)
{
    uint8_t hdr[VHOST_USER_HDR_SIZE];
    struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)payload, size}};
    struct msghdr mh;
    size_t want = sizeof(hdr) + size;
    ssize_t n;

    store_le32(hdr, request);
    store_le32(hdr + 4, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
    store_le32(hdr + 8, size);
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = iov;
    mh.msg_iovlen = size > 0 ? 2 : 1;
    do {
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    /* Replies are tiny; a short write on a stream socket means trouble. */
    return (size_t)n == want ? 0 : -EIO;
}

/* see vhu.h */
int vhu_dispatch(struct vhu_dev *dev)
{
    struct vhu_msg msg_buf;
    struct vhu_msg *msg = &msg_buf;
    struct vhu_reply rep;
    bool known;
    unsigned i;
    int rc;
    int result;

    if (dev->sock < 0) {
        return -ENOTCONN;
    }
    rc = recv_msg(dev->sock, msg);
    if (rc < 0) {
        goto err_close_fds;
    }
    tv_debug("<- %s flags 0x%x size %u fds %u",
             vhost_user_request_name(msg->hdr.request), msg->hdr.flags,
             msg->hdr.size, msg->n_fds);
    rep.has_reply = false;
    rep.size = 0;
    result = handle_msg(dev, msg, &rep, &known);
    if (result < 0 && known) {
        tv_warn("%s failed: %s", vhost_user_request_name(msg->hdr.request),
                strerror(-result));
    }
    if (rep.has_reply) {
        rc = send_reply(dev->sock, msg->hdr.request, rep.payload, rep.size);
    } else if ((msg->hdr.flags & VHOST_USER_NEED_REPLY_MASK) != 0 &&
               (!known ||
                has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_REPLY_ACK))) {
        uint8_t ack[8];

        store_le64(ack, result < 0 ? (uint64_t)-result : 0);
        rc = send_reply(dev->sock, msg->hdr.request, ack, sizeof(ack));
    }
    /* Rings without a kick fd are polled after every message. */
    for (i = 0; i < dev->cfg.n_queues; i++) {
        if (dev->q[i].kick_polled) {
            vhu_ring_run(dev, i);
        }
    }
err_close_fds:
    for (i = 0; i < msg->n_fds; i++) {
        vhu_close_fd(&msg->fds[i]);
    }
    msg->n_fds = 0;
    return rc;
}

/* see vhu.h */
void vhu_detach(struct vhu_dev *dev)
{
    unsigned i;

    for (i = 0; i < VHU_MAX_QUEUES; i++) {
        struct vhu_queue *vq = &dev->q[i];

        if (i < dev->cfg.n_queues) {
            vhu_ring_stop(dev, i);
        }
        vhu_close_fd(&vq->call_fd);
        vhu_close_fd(&vq->err_fd);
        vhu_ring_reset(vq);
    }
    vhu_mem_clear(dev);
    vhu_close_fd(&dev->sock);
    dev->owner = false;
    dev->features = 0;
    dev->protocol_features = 0;
}
