/* SPDX-License-Identifier: MIT */
/*
 * The client side of trustvio-tsm's framed calls (docs/tee-io.md, "Framed
 * calls"; the codec is src/tsm/tsm_frame.h): one CoVE-IO call out as a
 * request frame, its struct sbiret and output bytes back from the response
 * frame, over any byte stream: the daemon's UNIX stream sockets, or a
 * character device such as a virtio-serial port.
 *
 * One call at a time per struct tsmc; a call blocks until the whole answer
 * is in (each wait bounded by TSMC_IO_TIMEOUT_MS). Every function returns 0
 * or -1; on -1, tsmc_error() is one line saying what failed. A transport or
 * frame failure leaves the connection unusable: close it and open another.
 * Programs only: not a core library (it does I/O), but it allocates
 * nothing; struct tsmc is caller-owned.
 */
#ifndef TV_TSMC_TSMC_H
#define TV_TSMC_TSMC_H

#include <stddef.h>
#include <stdint.h>

#include "tsm/tsm_abi.h"
#include "tsm/tsm_frame.h"

/* How long one read or write may wait for the peer, milliseconds. */
#define TSMC_IO_TIMEOUT_MS 30000

/** struct tsmc - one connection to a TSM endpoint. */
struct tsmc {
    int fd; /* private */
    uint8_t buf[TSM_FRAME_RSP_MAX];
    char err[256];
};

/**
 * tsmc_open_socket() - connect to the UNIX stream socket @path.
 * Return: 0, or -1 with the reason in tsmc_error().
 */
int tsmc_open_socket(struct tsmc *c, const char *path);

/**
 * tsmc_open_fd() - use @fd, any connected byte stream (e.g. a virtio-serial
 * port /dev/virtio-ports/NAME opened O_RDWR). @c takes @fd over:
 * tsmc_close() closes it, and so does a failure here.
 * Return: 0, or -1 (@fd < 0, or not usable).
 */
int tsmc_open_fd(struct tsmc *c, int fd);

/**
 * tsmc_open_path() - tsmc_open_socket() when @path is a socket, else open()
 * it read-write (a character device) and tsmc_open_fd().
 */
int tsmc_open_path(struct tsmc *c, const char *path);

/**
 * tsmc_call() - one call: @eid, @fid, argument registers @a (a0..a5), the
 * shared buffer's input bytes @in (@in_len, at most TSM_FRAME_IN_MAX) and
 * the output capacity @out_cap (at most TSM_FRAME_OUT_MAX). *@ret gets the
 * sbiret; @out and @out_len what the call wrote (never more than @out_cap: an
 * answer with more is a frame failure). @out may be NULL when @out_cap is 0.
 * Return: 0, or -1 on a transport or frame failure (reason in tsmc_error()).
 */
int tsmc_call(struct tsmc *c, uint32_t eid, uint32_t fid, const uint64_t a[6],
              const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
              size_t *out_len, struct sbiret *ret);

/** tsmc_error() - the last failure, one line ("" when none). */
const char *tsmc_error(const struct tsmc *c);

/** tsmc_close() - close the connection (safe to call twice). */
void tsmc_close(struct tsmc *c);

#endif
