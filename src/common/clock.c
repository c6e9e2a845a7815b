/* SPDX-License-Identifier: MIT */
#include "common/clock.h"

#include <time.h>

static uint64_t ts_ms(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* see clock.h */
uint64_t tv_wall_ms(void)
{
    return ts_ms(CLOCK_REALTIME);
}

/* see clock.h */
int64_t tv_wall_s(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec;
}

/* see clock.h */
uint64_t tv_mono_ms(void)
{
    return ts_ms(CLOCK_MONOTONIC);
}
