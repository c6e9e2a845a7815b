/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a byte stream of vhost-user messages from a hostile
 * front-end into the back-end library, over a socketpair. File descriptors
 * cannot be fuzzed, so messages carry none (requests that need one must fail
 * cleanly). A toy device with a 3-byte config space and a ring processor is
 * attached so every handler, including ring processing through polled
 * ("no fd") kicks, is reachable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "vhost/vhu.h"
#include "vhost/vhu_epoll.h"

#define MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int toy_get_config(struct vhu_dev *dev, uint32_t off, uint8_t *buf,
                          uint32_t len)
{
    static const uint8_t cfg[3] = {1, 2, 3};

    (void)dev;
    memcpy(buf, cfg + off, len);
    return 0;
}

static void toy_process(struct vhu_dev *dev, unsigned q)
{
    static struct vring_elem e;

    while (vhu_queue_pop(dev, q, &e) == VRING_OK) {
        if (vhu_queue_push(dev, q, e.head, 0) != VRING_OK) {
            return;
        }
    }
}

static const struct vhu_device_ops toy_ops = {
    .get_config = toy_get_config,
    .process = toy_process,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vhu_dev dev;
    struct vhu_epoll ep;
    struct vhu_config cfg;
    uint8_t drain[4096];
    int sv[2];
    int rc;
    unsigned n;

    tv_log_level = TV_LOG_ERR;
    if (size > MAX_INPUT) {
        size = MAX_INPUT;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        return 0;
    }
    /* The whole stream must fit the socket buffer before we dispatch. */
    rc = 4 * MAX_INPUT;
    (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &rc, sizeof(rc));
    (void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &rc, sizeof(rc));
    if (vhu_epoll_init(&ep) < 0) {
        goto out_close;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.ops = &toy_ops;
    cfg.loop = &vhu_epoll_ops;
    cfg.loop_ctx = &ep;
    cfg.n_queues = 2;
    cfg.config_size = 3;
    if (vhu_init(&dev, &cfg) < 0 || vhu_attach(&dev, sv[1]) < 0) {
        abort();
    }
    if (size > 0 && write(sv[0], data, size) != (ssize_t)size) {
        vhu_detach(&dev);
        vhu_epoll_fini(&ep);
        close(sv[0]);
        return 0;
    }
    shutdown(sv[0], SHUT_WR);
    (void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
    for (n = 0; n < 10000; n++) {
        rc = vhu_dispatch(&dev);
        while (read(sv[0], drain, sizeof(drain)) > 0) {
        }
        if (rc < 0) {
            break;
        }
    }
    vhu_detach(&dev);
    vhu_epoll_fini(&ep);
    close(sv[0]);
    return 0;

out_close:
    close(sv[0]);
    close(sv[1]);
    return 0;
}
