/* SPDX-License-Identifier: MIT */
#include "vhost/vhu_epoll.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

static struct vhu_epoll_watch *find_watch(struct vhu_epoll *ep, int fd)
{
    unsigned i;

    for (i = 0; i < VHU_EPOLL_MAX_WATCHES; i++) {
        if (ep->watch[i].fd == fd) {
            return &ep->watch[i];
        }
    }
    return NULL;
}

/* see vhu_epoll.h */
int vhu_epoll_init(struct vhu_epoll *ep)
{
    unsigned i;

    for (i = 0; i < VHU_EPOLL_MAX_WATCHES; i++) {
        ep->watch[i].fd = -1;
        ep->watch[i].cb = NULL;
        ep->watch[i].arg = NULL;
    }
    ep->epfd = epoll_create1(EPOLL_CLOEXEC);
    return ep->epfd < 0 ? -errno : 0;
}

/* see vhu_epoll.h */
void vhu_epoll_fini(struct vhu_epoll *ep)
{
    if (ep->epfd >= 0) {
        close(ep->epfd);
        ep->epfd = -1;
    }
}

/* see vhu_epoll.h */
int vhu_epoll_set_watch(struct vhu_epoll *ep, int fd,
                        void (*cb)(void *arg, int fd), void *arg)
{
    struct vhu_epoll_watch *w = find_watch(ep, fd);
    struct epoll_event ev = {0};
    int op = EPOLL_CTL_MOD;

    if (fd < 0) {
        return -EBADF;
    }
    if (w == NULL) {
        w = find_watch(ep, -1);
        if (w == NULL) {
            return -ENOSPC;
        }
        op = EPOLL_CTL_ADD;
    }
    /* The fd, not a slot pointer, identifies the watch in events: a
     * callback may remove another watch whose event is still pending. */
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(ep->epfd, op, fd, &ev) < 0) {
        return -errno;
    }
    w->fd = fd;
    w->cb = cb;
    w->arg = arg;
    return 0;
}

/* see vhu_epoll.h */
void vhu_epoll_remove_watch(struct vhu_epoll *ep, int fd)
{
    struct vhu_epoll_watch *w = find_watch(ep, fd);

    if (w == NULL || fd < 0) {
        return;
    }
    (void)epoll_ctl(ep->epfd, EPOLL_CTL_DEL, fd, NULL);
    w->fd = -1;
    w->cb = NULL;
    w->arg = NULL;
}

/* see vhu_epoll.h */
int vhu_epoll_run_once(struct vhu_epoll *ep, int timeout_ms)
{
    struct epoll_event ev[16];
    int n;
    int i;
    int ran = 0;

    n = epoll_wait(ep->epfd, ev, (int)(sizeof(ev) / sizeof(ev[0])), timeout_ms);
    if (n < 0) {
        return errno == EINTR ? 0 : -errno;
    }
    for (i = 0; i < n; i++) {
        struct vhu_epoll_watch *w = find_watch(ep, ev[i].data.fd);

        if (w != NULL && w->cb != NULL) {
            w->cb(w->arg, w->fd);
            ran++;
        }
    }
    return ran;
}

static int ops_set_watch(void *loop, int fd, void (*cb)(void *arg, int fd),
                         void *arg)
{
    return vhu_epoll_set_watch(loop, fd, cb, arg);
}

static void ops_remove_watch(void *loop, int fd)
{
    vhu_epoll_remove_watch(loop, fd);
}

/* see vhu_epoll.h */
const struct vhu_loop_ops vhu_epoll_ops = {
    .set_watch = ops_set_watch,
    .remove_watch = ops_remove_watch,
};
