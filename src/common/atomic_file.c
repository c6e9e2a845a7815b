/* SPDX-License-Identifier: MIT */
#include "common/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define ATOMIC_TRIES 16 /* fresh random names before giving up on EEXIST */

/* see atomic_file.h */
int tv_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd;
    int rc = 0;

    if (slash == NULL) {
        (void)snprintf(dir, sizeof(dir), ".");
    } else if (slash == path) {
        (void)snprintf(dir, sizeof(dir), "/");
    } else if ((size_t)(slash - path) < sizeof(dir)) {
        (void)snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    } else {
        return -ENAMETOOLONG;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (fsync(fd) != 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

/* see atomic_file.h */
int tv_atomic_open(struct tv_atomic_file *af, const char *path, mode_t mode)
{
    size_t n = strlen(path);
    uint32_t r;

    af->fd = -1;
    if (n == 0 || n + 1 > sizeof(af->path) || n + 16 > sizeof(af->tmp)) {
        return -ENAMETOOLONG;
    }
    memcpy(af->path, path, n + 1);
    for (int i = 0; i < ATOMIC_TRIES; i++) {
        if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
            return errno != 0 ? -errno : -EIO;
        }
        (void)snprintf(af->tmp, sizeof(af->tmp), "%s.tmp-%08x", path, r);
        af->fd =
            open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 mode & 0777);
        if (af->fd >= 0) {
            break;
        }
        if (errno != EEXIST) {
            return -errno;
        }
    }
    if (af->fd < 0) {
        return -EEXIST;
    }
    /* the umask applied at open(); the caller's mode is the one wanted */
    if (fchmod(af->fd, mode & 0777) != 0) {
        int rc = -errno;

        tv_atomic_abort(af);
        return rc;
    }
    return 0;
}

/* see atomic_file.h */
int tv_atomic_write(struct tv_atomic_file *af, const void *p, size_t len)
{
    const uint8_t *q = p;

    while (len > 0) {
        ssize_t w = write(af->fd, q, len);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -errno;
        }
        if (w == 0) {
            return -EIO;
        }
        q += w;
        len -= (size_t)w;
    }
    return 0;
}

/* see atomic_file.h */
int tv_atomic_commit(struct tv_atomic_file *af)
{
    int rc;

    if (fsync(af->fd) != 0) {
        rc = -errno;
        goto err_abort;
    }
    rc = close(af->fd);
    af->fd = -1;
    if (rc != 0) {
        rc = -errno;
        goto err_abort;
    }
    if (rename(af->tmp, af->path) != 0) {
        rc = -errno;
        goto err_abort;
    }
    return tv_fsync_parent(af->path);

err_abort:
    tv_atomic_abort(af);
    return rc;
}

/* see atomic_file.h */
void tv_atomic_abort(struct tv_atomic_file *af)
{
    if (af->fd >= 0) {
        close(af->fd);
        af->fd = -1;
    }
    (void)unlink(af->tmp);
}

/* see atomic_file.h */
int tv_write_file_atomic(const char *path, const void *p, size_t len,
                         mode_t mode)
{
    struct tv_atomic_file af;
    int rc = tv_atomic_open(&af, path, mode);

    if (rc != 0) {
        return rc;
    }
    rc = tv_atomic_write(&af, p, len);
    if (rc != 0) {
        tv_atomic_abort(&af);
        return rc;
    }
    return tv_atomic_commit(&af);
}
