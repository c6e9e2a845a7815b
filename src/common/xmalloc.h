/* SPDX-License-Identifier: MIT */
/*
 * Allocation for programs (tools/ and daemon main paths) only: report and
 * exit on failure. Core libraries never allocate.
 */
#ifndef TV_COMMON_XMALLOC_H
#define TV_COMMON_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

#endif
