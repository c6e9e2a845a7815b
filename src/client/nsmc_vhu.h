/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user transport of the NSM client: requests go to a
 * vhost-user-nsm backend through the in-project frontend (vhu_frontend.h),
 * as two descriptor chains per request, exactly as drivers/misc/nsm.c
 * queues them. Behaves as the kernel's NSM_IOCTL_RAW towards the caller:
 * requests over NSM_REQUEST_MAX_SIZE fail with -EMSGSIZE before any I/O,
 * responses are truncated silently to the caller's capacity.
 */
#ifndef TV_CLIENT_NSMC_VHU_H
#define TV_CLIENT_NSMC_VHU_H

#include "client/nsmc.h"
#include "frontend/vhu_frontend.h"

/**
 * nsmc_vhu_transport() - the transport over the connected frontend @fe,
 * which must outlive it. Concurrency: the frontend serialises calls.
 */
struct nsmc_transport nsmc_vhu_transport(struct vhu_fe *fe);

#endif
