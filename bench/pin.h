/* SPDX-License-Identifier: MIT */
/*
 * pin: where the processes of a latency benchmark run.
 *
 * On a VM, waking a process that sleeps on another, idle vCPU goes through
 * the hypervisor (the vCPU halted) and costs tens of microseconds, while a
 * wake-up on the same CPU is a plain context switch. A round trip between
 * two processes thus measures where the scheduler happened to put them, not
 * the code, unless both ends share one CPU. bench_pin_apply() pins the
 * calling thread to one CPU before the benchmark forks or starts anything,
 * so that every process and thread taking part inherits the same CPU.
 *
 * BENCH_PIN in the environment selects the mode:
 *   same (or unset)  every process on one CPU: the last one the benchmark
 *                    may run on (CPU 1 on a two-vCPU machine)
 *   N                every process on CPU N
 *   none             no pinning: the scheduler places each process (the
 *                    wake-up cost then depends on that placement)
 *
 * Benchmark code only.
 */
#ifndef TV_BENCH_PIN_H
#define TV_BENCH_PIN_H

#include <stdbool.h>

/**
 * struct bench_pin - the mode a benchmark runs in.
 * @pinned: true when the calling thread was pinned
 * @cpu:    the CPU, when @pinned
 * @desc:   the mode as printed in the benchmark's header line
 */
struct bench_pin {
    bool pinned;
    int cpu;
    char desc[64];
};

/**
 * bench_pin_apply() - pin the calling thread as BENCH_PIN asks.
 * @p: filled with the mode
 *
 * Return: 0, or -1 with a message on stderr (an unknown BENCH_PIN value, a
 * CPU the process may not run on, sched_setaffinity failing).
 */
int bench_pin_apply(struct bench_pin *p);

#endif
