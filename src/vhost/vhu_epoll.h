/* SPDX-License-Identifier: MIT */
/*
 * A minimal epoll loop that implements struct vhu_loop_ops, for daemons and
 * tests. Level-triggered readability watches only; callbacks may add or
 * remove watches (including their own) while the loop runs.
 */
#ifndef TV_VHOST_VHU_EPOLL_H
#define TV_VHOST_VHU_EPOLL_H

#include "vhost/vhu.h"

#define VHU_EPOLL_MAX_WATCHES 64 /* fds watched at once */

/** struct vhu_epoll_watch - one watched fd. */
struct vhu_epoll_watch {
    int fd;                        /* -1 = free slot */
    void (*cb)(void *arg, int fd); /* called when readable */
    void *arg;                     /* for @cb */
};

/** struct vhu_epoll - the loop. */
struct vhu_epoll {
    int epfd;                                            /* epoll instance */
    struct vhu_epoll_watch watch[VHU_EPOLL_MAX_WATCHES]; /* watches */
};

/** vhu_epoll_ops - struct vhu_loop_ops for a struct vhu_epoll context. */
extern const struct vhu_loop_ops vhu_epoll_ops;

/**
 * vhu_epoll_init() - create the epoll instance. Return: 0 or a negative
 * errno.
 */
int vhu_epoll_init(struct vhu_epoll *ep) __attribute__((warn_unused_result));

/** vhu_epoll_fini() - close the epoll instance (not the watched fds). */
void vhu_epoll_fini(struct vhu_epoll *ep);

/**
 * vhu_epoll_set_watch() - watch @fd for readability (replacing an earlier
 * watch of @fd). Return: 0, -ENOSPC when full, or a negative errno.
 */
int vhu_epoll_set_watch(struct vhu_epoll *ep, int fd,
                        void (*cb)(void *arg, int fd), void *arg)
    __attribute__((warn_unused_result));

/** vhu_epoll_remove_watch() - stop watching @fd; no-op if not watched. */
void vhu_epoll_remove_watch(struct vhu_epoll *ep, int fd);

/**
 * vhu_epoll_run_once() - wait up to @timeout_ms (-1 = forever) and run the
 * callbacks of ready fds. Return: number of callbacks run, or a negative
 * errno (-EINTR is returned as 0).
 */
int vhu_epoll_run_once(struct vhu_epoll *ep, int timeout_ms);

#endif
