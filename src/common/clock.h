/* SPDX-License-Identifier: MIT */
/*
 * The clocks the project reads, in one place: wall-clock time for
 * certificates and attestation timestamps, monotonic time for timeouts.
 */
#ifndef TV_COMMON_CLOCK_H
#define TV_COMMON_CLOCK_H

#include <stdint.h>

/** tv_wall_ms() - milliseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t tv_wall_ms(void);

/** tv_wall_s() - seconds since the Unix epoch (CLOCK_REALTIME). */
int64_t tv_wall_s(void);

/**
 * tv_mono_ms() - milliseconds of CLOCK_MONOTONIC: only differences mean
 * anything; never goes back when the wall clock is set.
 */
uint64_t tv_mono_ms(void);

#endif
