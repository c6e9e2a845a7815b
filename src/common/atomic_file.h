/* SPDX-License-Identifier: MIT */
/*
 * Atomic file replacement, the one writer behind every file the project
 * creates for keeps (PKI certificates and keys, PEM exports, RPMB images):
 *
 *   1. a temporary "<path>.tmp-<random>" in the same directory, opened with
 *      O_CREAT | O_EXCL | O_NOFOLLOW, so nothing planted there beforehand (a
 *      file, a symlink to elsewhere) is ever written through;
 *   2. its mode set with fchmod(), so the umask does not widen or narrow it;
 *   3. data written, fsync()ed, closed;
 *   4. rename() over @path, then the directory fsync()ed, so after a crash
 *      @path holds either the old content or the new, never a torn file.
 *
 * Programs and tool libraries only; no allocation.
 */
#ifndef TV_COMMON_ATOMIC_FILE_H
#define TV_COMMON_ATOMIC_FILE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* clang-format off */
/** struct tv_atomic_file - a replacement in progress. */
struct tv_atomic_file {
    int fd;                  /* the temporary file, or -1 */
    char path[PATH_MAX];     /* final name */
    char tmp[PATH_MAX];      /* temporary name */
};
/* clang-format on */

/**
 * tv_atomic_open() - start replacing @path with a file of mode @mode.
 * Return: 0, or -errno (-ENAMETOOLONG for a path that leaves no room for
 * the temporary suffix).
 */
int tv_atomic_open(struct tv_atomic_file *af, const char *path, mode_t mode)
    __attribute__((warn_unused_result));

/** tv_atomic_write() - append @len bytes. Return: 0 or -errno. */
int tv_atomic_write(struct tv_atomic_file *af, const void *p, size_t len)
    __attribute__((warn_unused_result));

/**
 * tv_atomic_commit() - fsync, rename over the final path, fsync the
 * directory. On failure the temporary file is removed and @path is left as
 * it was. Return: 0 or -errno.
 */
int tv_atomic_commit(struct tv_atomic_file *af)
    __attribute__((warn_unused_result));

/** tv_atomic_abort() - drop the replacement; @path is left as it was. */
void tv_atomic_abort(struct tv_atomic_file *af);

/**
 * tv_write_file_atomic() - the three steps above for bytes held in memory.
 * Return: 0 or -errno.
 */
int tv_write_file_atomic(const char *path, const void *p, size_t len,
                         mode_t mode) __attribute__((warn_unused_result));

/**
 * tv_fsync_parent() - fsync the directory holding @path, so that a create,
 * rename or unlink of @path is durable. Return: 0 or -errno.
 */
int tv_fsync_parent(const char *path);

#endif
