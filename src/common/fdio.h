/* SPDX-License-Identifier: MIT */
/*
 * Blocking whole-buffer I/O on a file descriptor, for programs, tests and
 * benchmarks. No allocation, no timeout: a caller that must bound the wait
 * polls on its own (src/tsmc does).
 */
#ifndef TV_COMMON_FDIO_H
#define TV_COMMON_FDIO_H

#include <stddef.h>
#include <stdint.h>

/**
 * fd_write_all() - write all @len bytes of @p to @fd: send() without
 * SIGPIPE on a socket, write() on anything else, retried on EINTR.
 * Return: 0, or -1 with errno set (EPIPE when @fd took no byte).
 */
int fd_write_all(int fd, const void *p, size_t len);

/**
 * fd_read_exact() - read exactly @len bytes from @fd into @p, retried on
 * EINTR.
 * Return: 0, or -1 on an error (errno set) or end of file before @len bytes
 * (errno 0).
 */
int fd_read_exact(int fd, void *p, size_t len);

#endif
