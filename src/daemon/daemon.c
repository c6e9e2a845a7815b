/* SPDX-License-Identifier: MIT */
#include "daemon/daemon.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

#define DAEMON_IO_TIMEOUT_S 5 /* seconds for one message or reply */

/* The serve loop's state, shared by its watch callbacks. */
struct serve {
    const struct daemon_cfg *cfg;     /* options */
    struct vhu_dev *dev;              /* the device */
    struct vhu_epoll *ep;             /* the loop */
    const struct daemon_hooks *hooks; /* device glue */
    int listen_fd;                    /* listening socket, or -1 */
    int conn_fd;                      /* current connection, or -1 */
    int sig_fd;                       /* signalfd */
    bool stop;                        /* leave the loop */
};

/* see daemon.h */
void daemon_cfg_init(struct daemon_cfg *cfg, const char *prog,
                     const char *cap_type)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->prog = prog;
    cfg->cap_type = cap_type;
    cfg->fd = -1;
    tv_log_prefix = prog;
    tv_log_level = TV_LOG_INFO;
}

/* see daemon.h */
bool daemon_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s == '\0' || *s == '-' || *s == '+') {
        return false;
    }
    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* see daemon.h */
int daemon_common_opt(struct daemon_cfg *cfg, int opt, const char *arg)
{
    unsigned long v;

    switch (opt) {
    case DAEMON_OPT_SOCKET_PATH:
        if (arg[0] == '\0' ||
            strlen(arg) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            tv_err("--socket-path: '%s' is empty or longer than %zu bytes", arg,
                   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            return -1;
        }
        cfg->socket_path = arg;
        return 1;
    case DAEMON_OPT_FD:
        if (!daemon_parse_uint(arg, 65535, &v)) {
            tv_err("--fd: '%s' is not a file descriptor number", arg);
            return -1;
        }
        cfg->fd = (int)v;
        return 1;
    case DAEMON_OPT_PRINT_CAPS:
        cfg->print_caps = true;
        return 1;
    case DAEMON_OPT_KEEP_STATE:
        cfg->keep_state = true;
        return 1;
    case DAEMON_OPT_VERBOSE:
        tv_log_level = TV_LOG_DEBUG;
        return 1;
    case DAEMON_OPT_QUIET:
        tv_log_level = TV_LOG_ERR;
        return 1;
    case DAEMON_OPT_HELP:
        cfg->help = true;
        return 1;
    default:
        return 0;
    }
}

/* see daemon.h */
int daemon_check(const struct daemon_cfg *cfg)
{
    if (cfg->print_caps) {
        /* Schema: qemu docs/interop/vhost-user.json, VHostUserBackend... */
        printf("{\n  \"type\": \"%s\"\n}\n", cfg->cap_type);
        return 1;
    }
    if ((cfg->socket_path == NULL) == (cfg->fd < 0)) {
        tv_err("give exactly one of --socket-path=PATH and --fd=N "
               "(see --help)");
        return -1;
    }
    return 0;
}

/*
 * Bind @path, replacing a stale socket file (nobody accepts on it) but never
 * a live one or a non-socket file.
 */
static int listen_path(const char *path)
{
    struct sockaddr_un sa;
    struct stat st;
    int fd;
    int probe;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        tv_err("socket: %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (errno != EADDRINUSE) {
            tv_err("cannot bind %s: %s", path, strerror(errno));
            goto err_close;
        }
        if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
            tv_err("%s exists and is not a socket", path);
            goto err_close;
        }
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 &&
            connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            tv_err("%s is in use by another back-end", path);
            goto err_close;
        }
        if (probe >= 0) {
            close(probe);
        }
        unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            tv_err("cannot bind %s: %s", path, strerror(errno));
            goto err_close;
        }
    }
    if (listen(fd, 1) < 0) {
        tv_err("cannot listen on %s: %s", path, strerror(errno));
        unlink(path);
        goto err_close;
    }
    return fd;

err_close:
    close(fd);
    return -1;
}

static void listen_cb(void *arg, int fd);

static int watch_listener(struct serve *s)
{
    int rc = vhu_epoll_set_watch(s->ep, s->listen_fd, listen_cb, s);

    if (rc < 0) {
        tv_err("cannot watch the listening socket: %s", strerror(-rc));
    }
    return rc;
}

/* The connection ended: clean up and get ready for the next front-end. */
static void conn_end(struct serve *s)
{
    vhu_epoll_remove_watch(s->ep, s->conn_fd);
    vhu_detach(s->dev); /* closes conn_fd */
    s->conn_fd = -1;
    if (s->hooks != NULL && s->hooks->disconnected != NULL) {
        s->hooks->disconnected(s->hooks->ctx, s->cfg->keep_state);
    }
    if (s->listen_fd < 0) {
        s->stop = true;
        return;
    }
    if (watch_listener(s) < 0) {
        s->stop = true;
    }
}

static void conn_cb(void *arg, int fd)
{
    struct serve *s = arg;
    struct pollfd pfd = {fd, POLLIN, 0};
    int rc;

    /*
     * An event may be stale (its fd closed and the number reused within
     * one epoll batch); dispatch only when there really is something to
     * read, as vhu_dispatch() blocks for a whole message.
     */
    if (poll(&pfd, 1, 0) != 1) {
        return;
    }
    rc = vhu_dispatch(s->dev);
    if (rc == 0) {
        return;
    }
    if (rc == -ECONNRESET) {
        tv_info("front-end disconnected");
    } else {
        tv_err("front-end connection dropped: %s", strerror(-rc));
    }
    conn_end(s);
}

static int conn_start(struct serve *s, int fd)
{
    struct timeval tv = {DAEMON_IO_TIMEOUT_S, 0};
    int rc;

    /*
     * Messages are read whole once the socket is readable, and replies are
     * written blocking: a front-end that stalls mid-message or stops
     * reading replies is dropped after a timeout instead of freezing the
     * loop (and delaying exit on SIGTERM).
     */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    rc = vhu_attach(s->dev, fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    s->conn_fd = fd;
    rc = vhu_epoll_set_watch(s->ep, fd, conn_cb, s);
    if (rc < 0) {
        tv_err("cannot watch the connection: %s", strerror(-rc));
        vhu_detach(s->dev);
        s->conn_fd = -1;
        return rc;
    }
    return 0;
}

/* One front-end at a time: stop accepting while one is connected. */
static void listen_cb(void *arg, int fd)
{
    struct serve *s = arg;
    int c;

    c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            tv_err("accept: %s", strerror(errno));
        }
        return;
    }
    tv_info("front-end connected");
    vhu_epoll_remove_watch(s->ep, fd);
    if (conn_start(s, c) < 0 && watch_listener(s) < 0) {
        s->stop = true;
    }
}

static void signal_cb(void *arg, int fd)
{
    struct serve *s = arg;
    struct signalfd_siginfo si;

    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        tv_info("signal %u: exiting", si.ssi_signo);
    }
    s->stop = true;
}

/* see daemon.h */
int daemon_listen(const struct daemon_cfg *cfg, struct daemon_sock *ds)
{
    int acc = 0;
    socklen_t len = sizeof(acc);

    ds->listen_fd = -1;
    ds->conn_fd = -1;
    ds->created = false;
    if (cfg->socket_path != NULL) {
        ds->listen_fd = listen_path(cfg->socket_path);
        if (ds->listen_fd < 0) {
            return 1;
        }
        ds->created = true;
        return 0;
    }
    if (getsockopt(cfg->fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0) {
        tv_err("--fd=%d: not a socket: %s", cfg->fd, strerror(errno));
        return 1;
    }
    if (acc != 0) {
        ds->listen_fd = cfg->fd;
    } else {
        ds->conn_fd = cfg->fd;
    }
    return 0;
}

/* see daemon.h */
void daemon_unlisten(const struct daemon_cfg *cfg, struct daemon_sock *ds)
{
    if (ds->listen_fd >= 0) {
        close(ds->listen_fd);
        ds->listen_fd = -1;
    }
    if (ds->conn_fd >= 0) {
        close(ds->conn_fd);
        ds->conn_fd = -1;
    }
    if (ds->created) {
        unlink(cfg->socket_path);
        ds->created = false;
    }
}

/* see daemon.h */
int daemon_serve(const struct daemon_cfg *cfg, struct daemon_sock *ds,
                 struct vhu_dev *dev, struct vhu_epoll *ep,
                 const struct daemon_hooks *hooks)
{
    struct serve s = {cfg, dev, ep, hooks, ds->listen_fd, -1, -1, false};
    sigset_t mask;
    int ret = 1;
    int rc;

    /* Signals arrive through the loop; a vanished peer is an EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
        tv_err("sigprocmask: %s", strerror(errno));
        goto out_unlisten;
    }
    s.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s.sig_fd < 0) {
        tv_err("signalfd: %s", strerror(errno));
        goto out_unlisten;
    }
    if (vhu_epoll_set_watch(ep, s.sig_fd, signal_cb, &s) < 0) {
        tv_err("cannot watch signals");
        goto out_close_sig;
    }
    if (ds->conn_fd >= 0) {
        /* The connection now belongs to the device (vhu_detach closes). */
        rc = conn_start(&s, ds->conn_fd);
        ds->conn_fd = -1;
        if (rc < 0) {
            goto out_close_sig;
        }
    }
    if (s.listen_fd >= 0) {
        if (watch_listener(&s) < 0) {
            goto out_close_sig;
        }
        if (cfg->socket_path != NULL) {
            tv_info("listening on %s", cfg->socket_path);
        }
    }
    ret = 0;
    while (!s.stop) {
        rc = vhu_epoll_run_once(ep, -1);
        if (rc < 0) {
            tv_err("epoll: %s", strerror(-rc));
            ret = 1;
            break;
        }
    }
    if (s.conn_fd >= 0) {
        vhu_epoll_remove_watch(ep, s.conn_fd);
        vhu_detach(dev);
        s.conn_fd = -1;
    }
    if (s.listen_fd >= 0) {
        vhu_epoll_remove_watch(ep, s.listen_fd);
    }
out_close_sig:
    vhu_epoll_remove_watch(ep, s.sig_fd);
    close(s.sig_fd);
out_unlisten:
    daemon_unlisten(cfg, ds);
    return ret;
}
