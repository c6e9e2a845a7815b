/* SPDX-License-Identifier: MIT */
/*
 * procmem: what a daemon costs the host in memory, from
 * /proc/PID/smaps_rollup, summed over the daemon and every process it
 * started (vhost-user-nsm's signer, for one):
 *
 *   private  Private_Clean + Private_Dirty: pages mapped by this process
 *            tree alone, what one more daemon adds to the host
 *   pss      Pss: private pages plus each shared page divided by the
 *            number of processes mapping it
 *   rss      Rss, for comparison (counts every shared-library page whole)
 *
 * Benchmark code only; allocates.
 */
#ifndef TV_BENCH_PROCMEM_H
#define TV_BENCH_PROCMEM_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/**
 * struct procmem - memory of one process tree, KiB.
 * @private_kib: Private_Clean + Private_Dirty
 * @pss_kib:     Pss
 * @rss_kib:     Rss
 * @clean_kib:   Private_Clean alone: pages nobody else maps that the
 *               kernel can drop and read back (mostly shared-library code
 *               and data no other process on the host has mapped)
 * @n_procs:     processes counted (the root and its descendants)
 */
struct procmem {
    long private_kib;
    long pss_kib;
    long rss_kib;
    long clean_kib;
    unsigned n_procs;
};

/**
 * procmem_trees() - measure @n_roots process trees with one walk of /proc.
 * @roots: the root pids
 * @out:   receives one struct procmem per root
 * Return: 0, or -1 when a root's smaps_rollup cannot be read (it is gone).
 */
int procmem_trees(const pid_t *roots, size_t n_roots, struct procmem *out);

/**
 * procmem_breakdown() - print @pid's private memory mapping by mapping.
 * @pid: the process
 * @out: where to print: one line per mapping of /proc/PID/smaps with
 *       private pages (Private_Clean, Private_Dirty, its address range,
 *       permissions and name), then the totals
 * Return: 0, or -1 when the process's smaps cannot be read.
 */
int procmem_breakdown(pid_t pid, FILE *out);

/**
 * procmem_breakdown_tree() - procmem_breakdown() of @root and of every
 * process it started.
 * Return: 0, or -1 when @root's smaps cannot be read.
 */
int procmem_breakdown_tree(pid_t root, FILE *out);

#endif
