/* SPDX-License-Identifier: MIT */
/*
 * BUG_ON() checks our own invariants, never values a guest or peer controls.
 * It is fatal in debug and fuzz builds and compiles to nothing otherwise.
 */
#ifndef TV_COMMON_BUG_H
#define TV_COMMON_BUG_H

#include <stdio.h>
#include <stdlib.h>

#if !defined(NDEBUG) || defined(TV_FUZZING)
#define BUG_ON(cond)                                                           \
    do {                                                                       \
        if (cond) {                                                            \
            fprintf(stderr, "BUG at %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                           \
        }                                                                      \
    } while (0)
#else
#define BUG_ON(cond) ((void)sizeof(cond))
#endif

#define TV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TV_MUST_CHECK    __attribute__((warn_unused_result))

#endif
