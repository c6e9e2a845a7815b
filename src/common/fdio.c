/* SPDX-License-Identifier: MIT */
#include "common/fdio.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

int fd_write_all(int fd, const void *p, size_t len)
{
    const uint8_t *b = p;
    int sock = 1;

    while (len > 0) {
        ssize_t n = -1;

        if (sock) {
            n = send(fd, b, len, MSG_NOSIGNAL);
            if (n < 0 && errno == ENOTSOCK) {
                sock = 0;
            }
        }
        if (!sock) {
            n = write(fd, b, len);
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0) {
            errno = EPIPE;
        }
        if (n <= 0) {
            return -1;
        }
        b += n;
        len -= (size_t)n;
    }
    return 0;
}

int fd_read_exact(int fd, void *p, size_t len)
{
    uint8_t *b = p;

    while (len > 0) {
        ssize_t n = read(fd, b, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0) {
            errno = 0;
        }
        if (n <= 0) {
            return -1;
        }
        b += n;
        len -= (size_t)n;
    }
    return 0;
}
