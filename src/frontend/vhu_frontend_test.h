/* SPDX-License-Identifier: MIT */
/*
 * Test-only controls of the vhost-user frontend: a hostile guest.
 *
 * Only the test build of the frontend (vhu_fe_test_dep in meson, compiled
 * with VHU_FE_TEST_HOOKS) has these; the shipped library does not.
 *
 * A real guest with a second vCPU can keep rewriting a buffer it has handed
 * to the device while the device serves it. The racer below is that vCPU: a
 * thread that rewrites part of the NSM response buffer in guest memory, as
 * fast as it can, from the kick until both used entries are seen. A device
 * that reads back anything it wrote there, or signs it in place, then
 * reports or signs the racer's bytes; a device that finishes its response
 * in private memory and copies it out last cannot be steered.
 */
#ifndef TV_FRONTEND_VHU_FRONTEND_TEST_H
#define TV_FRONTEND_VHU_FRONTEND_TEST_H

#include <stdint.h>

#include "frontend/vhu_frontend.h"

/**
 * vhu_fe_test_race_nsm_response() - race every later vhu_fe_nsm_call() of
 * @fe: while it is in flight, a second thread keeps writing @bytes (@len
 * bytes, at most 256) at byte @off of the response buffer in guest memory.
 * The writer stops before the frontend copies the response out, so the
 * caller sees exactly what guest memory held when the device completed.
 * @len 0 stops racing. Allocates a thread; not for the shipped library.
 * Return: 0, -EINVAL (range outside the VHU_FE_NSM_RESP_LEN buffer), or a
 * negative errno from pthread_create().
 */
int vhu_fe_test_race_nsm_response(struct vhu_fe *fe, uint32_t off,
                                  const uint8_t *bytes, uint32_t len);

/** vhu_fe_test_race_writes() - rewrites the racer has made so far. */
uint64_t vhu_fe_test_race_writes(struct vhu_fe *fe);

/**
 * vhu_fe_test_flood() - keep the queue full: a thread makes the NSM request
 * @req (and its response space) available again and again, without waiting
 * for completions, as long as the avail index stays within a queue size of
 * the device's used index, kicking each time. Until
 * vhu_fe_test_flood_stop(), only vhu_fe_test_vring_base() and
 * vhu_fe_close() may be called. Allocates a thread.
 * Return: 0, -EINVAL (bad @req, already flooding), -EIO (unusable).
 */
int vhu_fe_test_flood(struct vhu_fe *fe, const uint8_t *req, size_t req_len);

/**
 * vhu_fe_test_flood_stop() - end the flood. The frontend is broken
 * afterwards (the used ring was never consumed): close it.
 * Return: chains the device completed during the flood.
 */
uint64_t vhu_fe_test_flood_stop(struct vhu_fe *fe);

/**
 * vhu_fe_test_vring_base() - send GET_VRING_BASE now (also while flooding)
 * and wait for the answer (at most the frontend's timeout).
 * Return: 0 with the backend's next avail index in *@num, or a negative
 * errno (-ETIMEDOUT when no answer came).
 */
int vhu_fe_test_vring_base(struct vhu_fe *fe, uint32_t *num);

#endif
