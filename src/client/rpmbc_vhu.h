/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user transport of the RPMB client: connects to a vhost-user-rpmb
 * backend through the in-project frontend (vhu_frontend.h), which plays the
 * VMM and the virtio driver. Each request becomes one descriptor chain: the
 * request frames in device-readable buffers, then the response space in
 * device-writable buffers.
 *
 * Also used by the mmc preload shim, which forwards raw frames.
 */
#ifndef TV_CLIENT_RPMBC_VHU_H
#define TV_CLIENT_RPMBC_VHU_H

#include "client/rpmbc.h"

/* Opaque: a connected frontend. */
struct rpmbc_vhu;

/**
 * rpmbc_vhu_open() - connect to the backend listening on @socket_path and
 * bring its requestq up.
 * @out: receives the connection (allocated; free with rpmbc_vhu_close())
 * Return: 0 or a negative errno (-ECONNREFUSED, -ENOENT, -EPROTO ...).
 */
TV_MUST_CHECK
int rpmbc_vhu_open(struct rpmbc_vhu **out, const char *socket_path);

/** rpmbc_vhu_close() - disconnect and free @v (NULL is allowed). */
void rpmbc_vhu_close(struct rpmbc_vhu *v);

/**
 * rpmbc_vhu_set_flip() - for tests: from now on, XOR @xor_mask into byte
 * @offset of what the device writes, in every response after the next
 * @skip_cnt ones, through the frontend's tamper hook (after the bytes left
 * guest memory, before the client sees them). @xor_mask 0 turns it off.
 */
void rpmbc_vhu_set_flip(struct rpmbc_vhu *v, size_t offset, uint8_t xor_mask,
                        unsigned skip_cnt);

/**
 * rpmbc_vhu_transport() - the transport ops over @v, which must outlive it.
 */
struct rpmbc_transport rpmbc_vhu_transport(struct rpmbc_vhu *v);

#endif
