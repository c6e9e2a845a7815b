/* SPDX-License-Identifier: MIT */
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p, size_t size)
{
    if (p == NULL && size != 0) {
        fprintf(stderr, "out of memory (%zu bytes)\n", size);
        exit(1);
    }
    return p;
}

void *xmalloc(size_t size)
{
    return check(malloc(size), size);
}

void *xcalloc(size_t n, size_t size)
{
    return check(calloc(n, size), n * size);
}

void *xrealloc(void *p, size_t size)
{
    return check(realloc(p, size), size);
}

char *xstrdup(const char *s)
{
    return check(strdup(s), strlen(s) + 1);
}
