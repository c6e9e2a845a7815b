/* SPDX-License-Identifier: MIT */
/*
 * The daemons' syscall filter: once set-up is done (socket bound, state
 * opened, privileges dropped), a process keeps only the system calls its
 * loop needs. Anything else kills the whole process (SECCOMP_RET_KILL_PROCESS),
 * and no_new_privs is set first, so neither the filter nor the uid can be
 * escaped through execve() of a set-id program. Programs only.
 */
#ifndef TV_DAEMON_SANDBOX_H
#define TV_DAEMON_SANDBOX_H

#include <stddef.h>

/**
 * enum sandbox_profile - which allow-list.
 * @SANDBOX_SERVE_NSM:  the vhost-user-nsm serve loop: socket and epoll I/O,
 *                      guest memory mapping, the clock and the RNG
 * @SANDBOX_SERVE_RPMB: the same plus what the SQLite store does on a
 *                      write (its WAL file: open, pread/pwrite, fsync,
 *                      ftruncate, unlink)
 * @SANDBOX_SIGNER:     the NSM signer: read a request, sign, write the
 *                      answer; nothing else
 * @SANDBOX_SERVE_TSM:  the trustvio-tsm loop: accept and poll UNIX stream
 *                      connections, non-blocking reads and writes, the
 *                      DRBG; its socket files removed on exit
 * @SANDBOX_SERVE_DSM:  the trustvio-dsm loop: poll, accept on its TCP
 *                      listener and admin socket, read/send on the
 *                      connections, the signalfd, the clock, the RNG; the
 *                      admin socket file removed on exit
 */
enum sandbox_profile {
    SANDBOX_SERVE_NSM,
    SANDBOX_SERVE_RPMB,
    SANDBOX_SIGNER,
    SANDBOX_SERVE_TSM,
    SANDBOX_SERVE_DSM,
};

/**
 * sandbox_apply() - set no_new_privs and load the filter of @profile into
 * the calling process (all its threads must be created after, or be none).
 * Return: 0, or -1 with a one-line reason in @err.
 */
int sandbox_apply(enum sandbox_profile profile, char *err, size_t err_len);

#endif
