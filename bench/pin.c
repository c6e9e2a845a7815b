/* SPDX-License-Identifier: MIT */
#include "pin.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_pin_apply(struct bench_pin *p)
{
    const char *mode = getenv("BENCH_PIN");
    cpu_set_t allowed, one;
    int cpu = -1;

    memset(p, 0, sizeof(*p));
    if (mode != NULL && strcmp(mode, "none") == 0) {
        snprintf(p->desc, sizeof(p->desc), "unpinned (BENCH_PIN=none)");
        return 0;
    }
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
        fprintf(stderr, "sched_getaffinity: %s\n", strerror(errno));
        return -1;
    }
    if (mode == NULL || *mode == '\0' || strcmp(mode, "same") == 0) {
        for (int i = CPU_SETSIZE - 1; i >= 0; i--) {
            if (CPU_ISSET(i, &allowed)) {
                cpu = i;
                break;
            }
        }
    } else {
        char *end;
        long v;

        errno = 0;
        v = strtol(mode, &end, 10);
        if (errno != 0 || end == mode || *end != '\0' || v < 0 ||
            v >= CPU_SETSIZE) {
            fprintf(stderr,
                    "BENCH_PIN=%s: expected same, none or a CPU "
                    "number\n",
                    mode);
            return -1;
        }
        cpu = (int)v;
    }
    if (cpu < 0 || !CPU_ISSET(cpu, &allowed)) {
        fprintf(stderr,
                "BENCH_PIN: CPU %d is not one this process may run "
                "on\n",
                cpu);
        return -1;
    }
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0) {
        fprintf(stderr, "sched_setaffinity(CPU %d): %s\n", cpu,
                strerror(errno));
        return -1;
    }
    p->pinned = true;
    p->cpu = cpu;
    snprintf(p->desc, sizeof(p->desc), "both ends pinned to CPU %d", cpu);
    return 0;
}
