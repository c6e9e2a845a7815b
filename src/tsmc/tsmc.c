/* SPDX-License-Identifier: MIT */
/* The framed call client: see tsmc.h. */
#include "tsmc/tsmc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/err.h"

static int fail(struct tsmc *c, const char *what, int err)
{
    tv_set_err(c->err, sizeof(c->err), "%s: %s", what, strerror(err));
    return -1;
}

/* Wait until @fd is ready for @events; 0, or -1 with errno set. */
static int wait_fd(int fd, short events)
{
    struct pollfd p = {fd, events, 0};

    for (;;) {
        int n = poll(&p, 1, TSMC_IO_TIMEOUT_MS);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        return 0;
    }
}

/* All of @p out: send() without SIGPIPE on a socket, write() otherwise. */
static int write_all(struct tsmc *c, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n;

        /* bounded: wait for room first, then write what fits */
        if (wait_fd(c->fd, POLLOUT) != 0) {
            return fail(c, "sending the call", errno);
        }
        n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == ENOTSOCK) {
            n = write(c->fd, p, len);
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            continue;
        }
        if (n <= 0) {
            return fail(c, "sending the call", n < 0 ? errno : EPIPE);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Exactly @len bytes into @p, each wait bounded. */
static int read_all(struct tsmc *c, uint8_t *p, size_t len, bool inside)
{
    while (len > 0) {
        ssize_t n;

        if (wait_fd(c->fd, POLLIN) != 0) {
            return fail(c, "waiting for the answer", errno);
        }
        n = read(c->fd, p, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n < 0) {
            return fail(c, "reading the answer", errno);
        }
        if (n == 0) {
            tv_set_err(c->err, sizeof(c->err),
                       "the TSM closed the connection%s",
                       inside ? " inside an answer"
                              : " (it drops a connection whose frame "
                                "breaks a rule)");
            return -1;
        }
        p += n;
        len -= (size_t)n;
        inside = true;
    }
    return 0;
}

/* see tsmc.h */
int tsmc_open_fd(struct tsmc *c, int fd)
{
    c->err[0] = '\0';
    c->fd = -1;
    if (fd < 0) {
        tv_set_err(c->err, sizeof(c->err), "no file descriptor");
        return -1;
    }
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        int e = errno;

        close(fd);
        return fail(c, "file descriptor", e);
    }
    c->fd = fd;
    return 0;
}

/* see tsmc.h */
int tsmc_open_socket(struct tsmc *c, const char *path)
{
    struct sockaddr_un a;
    char what[sizeof(a.sun_path) + 16];
    int fd;

    c->err[0] = '\0';
    c->fd = -1;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a.sun_path)) {
        tv_set_err(c->err, sizeof(c->err), "%s: socket path too long", path);
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path));
    snprintf(what, sizeof(what), "%s", path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return fail(c, "socket", errno);
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;

        close(fd);
        return fail(c, what, e);
    }
    return tsmc_open_fd(c, fd);
}

/* see tsmc.h */
int tsmc_open_path(struct tsmc *c, const char *path)
{
    struct stat st;
    int fd;

    c->err[0] = '\0';
    c->fd = -1;
    if (stat(path, &st) != 0) {
        return fail(c, path, errno);
    }
    if (S_ISSOCK(st.st_mode)) {
        return tsmc_open_socket(c, path);
    }
    fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return fail(c, path, errno);
    }
    return tsmc_open_fd(c, fd);
}

/* see tsmc.h */
int tsmc_call(struct tsmc *c, uint32_t eid, uint32_t fid, const uint64_t a[6],
              const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
              size_t *out_len, struct sbiret *ret)
{
    struct tsm_frame_req q;
    const uint8_t *o;
    size_t len, n, i;
    uint32_t body;
    int rc;

    c->err[0] = '\0';
    *out_len = 0;
    if (c->fd < 0) {
        tv_set_err(c->err, sizeof(c->err), "not connected");
        return -1;
    }
    if (in_len > TSM_FRAME_IN_MAX || out_cap > TSM_FRAME_OUT_MAX) {
        tv_set_err(c->err, sizeof(c->err),
                   "call of %zu input bytes, %zu output bytes: the caps are "
                   "%u and %u",
                   in_len, out_cap, (unsigned)TSM_FRAME_IN_MAX,
                   (unsigned)TSM_FRAME_OUT_MAX);
        return -1;
    }
    memset(&q, 0, sizeof(q));
    q.eid = eid;
    q.call.fid = fid;
    for (i = 0; i < 6; i++) {
        q.call.a[i] = a != NULL ? a[i] : 0;
    }
    q.call.in = in;
    q.call.in_len = in_len;
    q.out_cap = (uint32_t)out_cap;
    rc = tsm_frame_req_encode(&q, c->buf, sizeof(c->buf), &len);
    if (rc != TSM_FRAME_OK) {
        tv_set_err(c->err, sizeof(c->err), "encoding the call: %s",
                   tsm_frame_strerror(rc));
        return -1;
    }
    if (write_all(c, c->buf, len) != 0) {
        return -1;
    }
    /* the fixed header, then exactly the length it announces */
    if (read_all(c, c->buf, TSM_FRAME_RSP_HDR_SIZE, false) != 0) {
        return -1;
    }
    body = load_le32(c->buf + 24);
    if (load_le32(c->buf) != TSM_FRAME_RSP_MAGIC || body > TSM_FRAME_OUT_MAX) {
        tv_set_err(c->err, sizeof(c->err),
                   "the answer is not a TSM response frame");
        return -1;
    }
    if (read_all(c, c->buf + TSM_FRAME_RSP_HDR_SIZE, body, true) != 0) {
        return -1;
    }
    rc = tsm_frame_rsp_decode(c->buf, TSM_FRAME_RSP_HDR_SIZE + body, ret, &o,
                              &n);
    if (rc != TSM_FRAME_OK) {
        tv_set_err(c->err, sizeof(c->err), "bad answer: %s",
                   tsm_frame_strerror(rc));
        return -1;
    }
    if (n > out_cap) {
        tv_set_err(c->err, sizeof(c->err),
                   "the answer carries %zu output bytes for a %zu-byte "
                   "buffer",
                   n, out_cap);
        return -1;
    }
    if (n != 0) {
        memcpy(out, o, n);
    }
    *out_len = n;
    return 0;
}

/* see tsmc.h */
const char *tsmc_error(const struct tsmc *c)
{
    return c->err;
}

/* see tsmc.h */
void tsmc_close(struct tsmc *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}
