/* SPDX-License-Identifier: MIT */
/*
 * librpmb-mmc-preload.so: serve /dev/mmcblk<N>rpmb from a virtio RPMB
 * device (a vhost-user-rpmb backend named by TRUSTVIO_RPMB_SOCKET), so that
 * unmodified eMMC RPMB tools such as Debian's `mmc rpmb ...` run against it.
 *
 * open()/open64()/openat()/openat64()/__open_2()/__open64_2() of a path
 * matching /dev/mmcblk[0-9]+rpmb (when TRUSTVIO_RPMB_SOCKET is set; else
 * they pass through) return a real fd (of /dev/null, so close()
 * and the like keep working) tied to a connection to the backend; ioctl()
 * MMC_IOC_CMD and MMC_IOC_MULTI_CMD on that fd are translated into virtio
 * RPMB requests; close() drops the connection. Everything else passes
 * through to libc.
 *
 * The shim is a bridge, not an emulator: every frame handed back to the
 * caller was written by the device. Translation rules (eMMC -> virtio):
 *
 *  - CMD25 with write_flag bit 31 (reliable write) carries a write-type
 *    request (DATA_WRITE, PROGRAM_KEY). An eMMC executes it right away and
 *    latches the result for a later RESULT_READ, so it is sent at once
 *    together with a RESULT_READ frame, and the device's response frame is
 *    kept as the fd's result register.
 *  - CMD25 without bit 31 carrying RESULT_READ arms the next CMD18 to
 *    return the result register (or, without a preceding write, forwards
 *    the RESULT_READ to the device and returns whatever it answers).
 *  - Any other CMD25 frame (GET_WRITE_COUNTER, DATA_READ) is held until the
 *    next CMD18, whose blocks give the response size. DATA_READ's
 *    block_count is set from CMD18's block count (eMMC carries it in CMD23
 *    and clients send 0); other single-frame requests get 0 rewritten to 1.
 *    Only the unauthenticated non-write frames are rewritten.
 *  - Opcode 23 (SET_BLOCK_COUNT) entries are ignored: the kernel adds them.
 *  - State lives per fd, across ioctl calls, so a caller that sends one
 *    command per MMC_IOC_CMD (OP-TEE's supplicant) sees the same device as
 *    one that batches them in MMC_IOC_MULTI_CMD (mmc-utils).
 */
/*
 * The build defines _FILE_OFFSET_BITS=64, which turns open() into an alias
 * of open64(); the shim must define both symbols, so it takes the plain
 * names. (Neither takes an off_t, so nothing else changes.)
 */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <unistd.h>

#include "client/rpmb_frame.h"
#include "client/rpmbc_vhu.h"

/* <linux/mmc/ioctl.h>, restated with fixed-size types */
#define SHIM_MMC_IOC_CMD        0xC048B300UL
#define SHIM_MMC_IOC_MULTI_CMD  0xC008B301UL
#define SHIM_MMC_IOC_MAX_CMDS   255
#define SHIM_OP_SET_BLOCK_COUNT 23
#define SHIM_OP_READ_MULTIPLE   18
#define SHIM_OP_WRITE_MULTIPLE  25
#define SHIM_RELIABLE_WRITE     0x80000000u
#define SHIM_R1_READY           0x00000900u /* R1: ready for data, state tran */

/* Most frames in one request or response (MMC_IOC_MAX_BYTES / 512 is
 * larger, but no RPMB operation needs more than a u8 block count + 1). */
#define SHIM_MAX_FRAMES 257

#define SHIM_MAX_FDS 64

struct shim_mmc_ioc_cmd {
    int32_t write_flag;
    int32_t is_acmd;
    uint32_t opcode;
    uint32_t arg;
    uint32_t response[4];
    uint32_t flags;
    uint32_t blksz;
    uint32_t blocks;
    uint32_t postsleep_min_us;
    uint32_t postsleep_max_us;
    uint32_t data_timeout_ns;
    uint32_t cmd_timeout_ms;
    uint32_t pad;
    uint64_t data_ptr;
};

_Static_assert(sizeof(struct shim_mmc_ioc_cmd) == 72, "mmc_ioc_cmd ABI");

/**
 * struct shim_fd - one open RPMB node.
 * @fd:         the caller's fd (-1 = free slot)
 * @vhu:        connection to the backend
 * @pending:    request frames held until the next CMD18
 * @n_pending:  frames in @pending
 * @result:     the result register: response to the last write-type
 *              request
 * @have_result: @result holds a device response
 * @want_result: a RESULT_READ arrived; the next CMD18 returns @result
 */
struct shim_fd {
    int fd;
    struct rpmbc_vhu *vhu;
    uint8_t pending[RPMB_FRAME_LEN];
    unsigned n_pending;
    uint8_t result[RPMB_FRAME_LEN];
    bool have_result;
    bool want_result;
};

static struct shim_fd shim_fds[SHIM_MAX_FDS];
static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t shim_once = PTHREAD_ONCE_INIT;

/*
 * Set while this thread holds shim_lock: the frontend code linked into the
 * shim calls close() and friends, which resolve to the interposers below;
 * they must go straight to libc rather than wait for the lock we hold.
 */
static __thread bool shim_busy;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real___open_2)(const char *, int);
static int (*real___open64_2)(const char *, int);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);

/*
 * Exported entry points. The library is built with hidden visibility so the
 * client code linked into it never interposes anything else; only these
 * are visible. The prototypes keep -Wmissing-prototypes satisfied for the
 * symbols libc declares only under some feature macros.
 */
#define SHIM_EXPORT __attribute__((visibility("default")))
SHIM_EXPORT int open(const char *path, int flags, ...);
SHIM_EXPORT int open64(const char *path, int flags, ...);
SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...);
SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...);
SHIM_EXPORT int __open_2(const char *path, int flags);
SHIM_EXPORT int __open64_2(const char *path, int flags);
SHIM_EXPORT int close(int fd);
SHIM_EXPORT int ioctl(int fd, unsigned long request, ...);

/*
 * dlsym() returns an object pointer; ISO C has no conversion to a function
 * pointer, POSIX guarantees the representations match, so copy the bytes.
 */
#define SHIM_RESOLVE(var, name)                                                \
    do {                                                                       \
        void *sym_ = dlsym(RTLD_NEXT, name);                                   \
        _Static_assert(sizeof(var) == sizeof(sym_), "function pointer size");  \
        memcpy(&(var), &sym_, sizeof(var));                                    \
    } while (0)

static void shim_resolve(void)
{
    size_t i;

    SHIM_RESOLVE(real_open, "open");
    SHIM_RESOLVE(real_open64, "open64");
    SHIM_RESOLVE(real_openat, "openat");
    SHIM_RESOLVE(real_openat64, "openat64");
    SHIM_RESOLVE(real___open_2, "__open_2");
    SHIM_RESOLVE(real___open64_2, "__open64_2");
    SHIM_RESOLVE(real_close, "close");
    SHIM_RESOLVE(real_ioctl, "ioctl");
    for (i = 0; i < SHIM_MAX_FDS; i++) {
        shim_fds[i].fd = -1;
    }
}

static void shim_init(void)
{
    pthread_once(&shim_once, shim_resolve);
}

/* Is @path an RPMB node: /dev/mmcblk<digits>rpmb ? */
static bool shim_is_rpmb_path(const char *path)
{
    static const char prefix[] = "/dev/mmcblk";
    const char *p;

    if (path == NULL || strncmp(path, prefix, sizeof(prefix) - 1) != 0) {
        return false;
    }
    p = path + sizeof(prefix) - 1;
    if (*p < '0' || *p > '9') {
        return false;
    }
    while (*p >= '0' && *p <= '9') {
        p++;
    }
    return strcmp(p, "rpmb") == 0;
}

/*
 * Serve @path from the backend? Only RPMB nodes, and only when a backend is
 * named: without TRUSTVIO_RPMB_SOCKET the shim stays out of the way, so a
 * real /dev/mmcblkNrpmb keeps working under it.
 */
static bool shim_serves(const char *path)
{
    const char *sock;

    if (!shim_is_rpmb_path(path)) {
        return false;
    }
    sock = getenv("TRUSTVIO_RPMB_SOCKET");
    return sock != NULL && *sock != '\0';
}

static struct shim_fd *shim_find_locked(int fd)
{
    size_t i;

    for (i = 0; i < SHIM_MAX_FDS; i++) {
        if (shim_fds[i].fd == fd && fd >= 0) {
            return &shim_fds[i];
        }
    }
    return NULL;
}

/*
 * Open @path as an RPMB node: connect first (so a missing backend fails the
 * open, as a missing device would), then take a /dev/null fd for the
 * caller. Return the fd or -1 with errno set.
 */
static int shim_open_rpmb(const char *path, int flags)
{
    const char *sock = getenv("TRUSTVIO_RPMB_SOCKET");
    struct rpmbc_vhu *vhu = NULL;
    struct shim_fd *s = NULL;
    size_t i;
    int fd;
    int rc;

    (void)path;
    if (sock == NULL || *sock == '\0') {
        errno = ENODEV;
        return -1;
    }
    rc = rpmbc_vhu_open(&vhu, sock);
    if (rc != 0) {
        fprintf(stderr, "librpmb-mmc-preload: cannot connect to %s: %s\n", sock,
                strerror(-rc));
        errno = ENXIO;
        return -1;
    }
    fd = real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC));
    if (fd < 0) {
        rc = errno;
        goto err_close_vhu;
    }
    pthread_mutex_lock(&shim_lock);
    for (i = 0; i < SHIM_MAX_FDS && s == NULL; i++) {
        if (shim_fds[i].fd < 0) {
            s = &shim_fds[i];
        }
    }
    if (s == NULL) {
        pthread_mutex_unlock(&shim_lock);
        real_close(fd);
        rc = EMFILE;
        goto err_close_vhu;
    }
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->vhu = vhu;
    pthread_mutex_unlock(&shim_lock);
    return fd;

err_close_vhu:
    rpmbc_vhu_close(vhu);
    errno = rc;
    return -1;
}

static mode_t shim_mode(int flags, va_list ap)
{
    if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
        return (mode_t)va_arg(ap, int);
    }
    return 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    shim_init();
    if (shim_serves(path)) {
        return shim_open_rpmb(path, flags);
    }
    va_start(ap, flags);
    mode = shim_mode(flags, ap);
    va_end(ap);
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    shim_init();
    if (shim_serves(path)) {
        return shim_open_rpmb(path, flags);
    }
    va_start(ap, flags);
    mode = shim_mode(flags, ap);
    va_end(ap);
    return real_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    shim_init();
    if (shim_serves(path)) {
        return shim_open_rpmb(path, flags);
    }
    va_start(ap, flags);
    mode = shim_mode(flags, ap);
    va_end(ap);
    return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    shim_init();
    if (shim_serves(path)) {
        return shim_open_rpmb(path, flags);
    }
    va_start(ap, flags);
    mode = shim_mode(flags, ap);
    va_end(ap);
    return real_openat64(dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags)
{
    shim_init();
    if (shim_serves(path)) {
        return shim_open_rpmb(path, flags);
    }
    return real___open_2(path, flags);
}

int __open64_2(const char *path, int flags)
{
    shim_init();
    if (shim_serves(path)) {
        return shim_open_rpmb(path, flags);
    }
    return real___open64_2(path, flags);
}

int close(int fd)
{
    struct shim_fd *s;
    struct rpmbc_vhu *vhu = NULL;

    shim_init();
    if (shim_busy) {
        return real_close(fd);
    }
    pthread_mutex_lock(&shim_lock);
    s = shim_find_locked(fd);
    if (s != NULL) {
        vhu = s->vhu;
        memset(s, 0, sizeof(*s));
        s->fd = -1;
    }
    pthread_mutex_unlock(&shim_lock);
    if (vhu != NULL) {
        rpmbc_vhu_close(vhu);
    }
    return real_close(fd);
}

/*
 * Send @n_req frames to the device and place its answer at @out (@out_len
 * bytes); bytes the device did not write are zeroed. Return 0 or -errno.
 */
static int shim_call(struct shim_fd *s, const uint8_t *req, size_t req_len,
                     uint8_t *out, size_t out_len)
{
    struct rpmbc_transport tr = rpmbc_vhu_transport(s->vhu);
    size_t got = 0;
    int rc;

    rc = tr.ops->call(tr.ctx, req, req_len, out, out_len, &got);
    if (rc != 0) {
        return rc;
    }
    if (got < out_len) {
        memset(out + got, 0, out_len - got);
    }
    return 0;
}

/* CMD25 with reliable write: run the write now, latch its result. */
static int shim_write_request(struct shim_fd *s, const uint8_t *frames,
                              size_t n_frames)
{
    /* callers hold shim_lock, so one buffer serves every fd */
    static uint8_t req[SHIM_MAX_FRAMES * RPMB_FRAME_LEN];
    size_t len = n_frames * RPMB_FRAME_LEN;
    int rc;

    if (n_frames == 0 || n_frames + 1 > SHIM_MAX_FRAMES) {
        return -EINVAL;
    }
    memcpy(req, frames, len);
    /* §7.2: PROGRAM_KEY carries no MAC, so its block_count may be fixed */
    if (rpmb_frame_req_resp(req) == RPMB_FRAME_REQ_PROGRAM_KEY &&
        rpmb_frame_block_count(req) == 0) {
        rpmb_frame_set_block_count(req, 1);
    }
    memset(req + len, 0, RPMB_FRAME_LEN);
    rpmb_frame_st16(req + len + RPMB_FRAME_OFF_REQ_RESP,
                    RPMB_FRAME_REQ_RESULT_READ);
    rpmb_frame_set_block_count(req + len, 1);
    s->have_result = false;
    s->want_result = false;
    s->n_pending = 0;
    rc = shim_call(s, req, len + RPMB_FRAME_LEN, s->result, RPMB_FRAME_LEN);
    /* the request may have held the key (PROGRAM_KEY) */
    memset(req, 0, len);
    if (rc == 0) {
        s->have_result = true;
    }
    return rc;
}

/* CMD25 without reliable write: hold the frame, or arm RESULT_READ. */
static int shim_plain_request(struct shim_fd *s, const uint8_t *frames,
                              size_t n_frames)
{
    if (n_frames != 1) {
        return -EINVAL;
    }
    if (rpmb_frame_req_resp(frames) == RPMB_FRAME_REQ_RESULT_READ &&
        s->have_result) {
        s->want_result = true;
        s->n_pending = 0;
        return 0;
    }
    memcpy(s->pending, frames, RPMB_FRAME_LEN);
    s->n_pending = 1;
    s->want_result = false;
    return 0;
}

/* CMD18: answer from the result register or run the held request. */
static int shim_read_response(struct shim_fd *s, uint8_t *out, size_t n_frames)
{
    size_t out_len = n_frames * RPMB_FRAME_LEN;
    uint16_t type;
    int rc;

    if (n_frames == 0 || n_frames > SHIM_MAX_FRAMES) {
        return -EINVAL;
    }
    if (s->want_result) {
        s->want_result = false;
        s->have_result = false;
        memcpy(out, s->result, RPMB_FRAME_LEN);
        memset(out + RPMB_FRAME_LEN, 0, out_len - RPMB_FRAME_LEN);
        return 0;
    }
    if (s->n_pending == 0) {
        /* a read with no request before it: nothing to ask the device */
        return -EINVAL;
    }
    /* §7.2: eMMC clients send block_count 0; virtio wants the real count */
    type = rpmb_frame_req_resp(s->pending);
    if (type == RPMB_FRAME_REQ_DATA_READ) {
        rpmb_frame_set_block_count(s->pending, (uint16_t)n_frames);
    } else if (type != RPMB_FRAME_REQ_DATA_WRITE &&
               type != RPMB_FRAME_REQ_PROGRAM_KEY &&
               rpmb_frame_block_count(s->pending) == 0) {
        rpmb_frame_set_block_count(s->pending, 1);
    }
    s->n_pending = 0;
    rc = shim_call(s, s->pending, RPMB_FRAME_LEN, out, out_len);
    memset(s->pending, 0, sizeof(s->pending));
    return rc;
}

/* One eMMC command on the RPMB partition. */
static int shim_cmd(struct shim_fd *s, struct shim_mmc_ioc_cmd *cmd)
{
    uint8_t *data = (uint8_t *)(uintptr_t)cmd->data_ptr;
    int rc;

    if (cmd->opcode == SHIM_OP_SET_BLOCK_COUNT) {
        return 0;
    }
    if (cmd->opcode != SHIM_OP_WRITE_MULTIPLE &&
        cmd->opcode != SHIM_OP_READ_MULTIPLE) {
        return -EINVAL;
    }
    if (cmd->blksz != RPMB_FRAME_LEN || cmd->blocks == 0 || data == NULL ||
        cmd->blocks > SHIM_MAX_FRAMES) {
        return -EINVAL;
    }
    if (cmd->opcode == SHIM_OP_WRITE_MULTIPLE) {
        if (cmd->write_flag == 0) {
            return -EINVAL;
        }
        if (((uint32_t)cmd->write_flag & SHIM_RELIABLE_WRITE) != 0) {
            rc = shim_write_request(s, data, cmd->blocks);
        } else {
            rc = shim_plain_request(s, data, cmd->blocks);
        }
    } else {
        if (cmd->write_flag != 0) {
            return -EINVAL;
        }
        rc = shim_read_response(s, data, cmd->blocks);
    }
    if (rc == 0) {
        cmd->response[0] = SHIM_R1_READY;
    }
    return rc;
}

int ioctl(int fd, unsigned long request, ...)
{
    struct shim_fd *s;
    va_list ap;
    void *argp;
    int rc = 0;

    shim_init();
    va_start(ap, request);
    argp = va_arg(ap, void *);
    va_end(ap);

    if (shim_busy) {
        return real_ioctl(fd, request, argp);
    }
    pthread_mutex_lock(&shim_lock);
    s = shim_find_locked(fd);
    if (s == NULL) {
        pthread_mutex_unlock(&shim_lock);
        return real_ioctl(fd, request, argp);
    }
    shim_busy = true;
    if (argp == NULL) {
        rc = -EFAULT;
    } else if (request == SHIM_MMC_IOC_CMD) {
        rc = shim_cmd(s, argp);
    } else if (request == SHIM_MMC_IOC_MULTI_CMD) {
        uint64_t n;
        struct shim_mmc_ioc_cmd *cmds;
        uint64_t i;

        memcpy(&n, argp, sizeof(n));
        cmds = (struct shim_mmc_ioc_cmd *)((uint8_t *)argp + sizeof(n));
        if (n == 0 || n > SHIM_MMC_IOC_MAX_CMDS) {
            rc = -EINVAL;
        }
        for (i = 0; i < n && rc == 0; i++) {
            rc = shim_cmd(s, &cmds[i]);
        }
    } else {
        rc = -ENOTTY;
    }
    shim_busy = false;
    pthread_mutex_unlock(&shim_lock);
    if (rc != 0) {
        errno = -rc;
        return -1;
    }
    return 0;
}
