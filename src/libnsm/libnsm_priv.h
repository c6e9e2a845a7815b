/* SPDX-License-Identifier: MIT */
/*
 * libnsm internals shared with its tests (not installed, not exported from
 * libnsm.so): how a descriptor maps to an emulated connection.
 */
#ifndef TV_LIBNSM_LIBNSM_PRIV_H
#define TV_LIBNSM_LIBNSM_PRIV_H

#include <stdint.h>

#include "client/nsmc.h"

/* Emulated connections open at once in one process. */
#define LIBNSM_MAX_CONNS 64

/**
 * libnsm_register() - make a descriptor stand for transport @t.
 * @release: called with @release_ctx by nsm_lib_exit() (may be NULL)
 * The descriptor is an open file description of /dev/null (O_CLOEXEC), so
 * it is unique while open; requests on it go through @t, one at a time.
 * Return: the descriptor, or -1 with errno set (EMFILE when
 * LIBNSM_MAX_CONNS connections are open). On failure @release is not
 * called.
 */
int32_t libnsm_register(struct nsmc_transport t, void (*release)(void *),
                        void *release_ctx);

#endif
