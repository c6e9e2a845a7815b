/* SPDX-License-Identifier: MIT */
/* see procmem.h */
#include "procmem.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pp {
    pid_t pid;
    pid_t ppid;
};

/* Add @pid's smaps_rollup to @m. Return 0 or -1. */
static int rollup_add(pid_t pid, struct procmem *m)
{
    char path[64], line[256];
    long rss = -1, pss = -1, pc = -1, pd = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        long *dst = NULL;
        size_t skip = 0;

        if (strncmp(line, "Rss:", 4) == 0) {
            dst = &rss, skip = 4;
        } else if (strncmp(line, "Pss:", 4) == 0) {
            dst = &pss, skip = 4;
        } else if (strncmp(line, "Private_Clean:", 14) == 0) {
            dst = &pc, skip = 14;
        } else if (strncmp(line, "Private_Dirty:", 14) == 0) {
            dst = &pd, skip = 14;
        }
        if (dst != NULL) {
            *dst = strtol(line + skip, NULL, 10);
        }
    }
    fclose(f);
    if (rss < 0 || pss < 0 || pc < 0 || pd < 0) {
        return -1;
    }
    m->rss_kib += rss;
    m->pss_kib += pss;
    m->private_kib += pc + pd;
    m->n_procs++;
    return 0;
}

/* Every (pid, ppid) on the system; *@n receives the count. */
static struct pp *walk_proc(size_t *n)
{
    struct pp *v = NULL;
    size_t cap = 0;
    struct dirent *e;
    DIR *d = opendir("/proc");

    *n = 0;
    if (d == NULL) {
        return NULL;
    }
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[512], *close_paren;
        FILE *f;
        int ppid;

        if (!isdigit((unsigned char)e->d_name[0])) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        if (fgets(buf, sizeof(buf), f) == NULL) {
            fclose(f);
            continue;
        }
        fclose(f);
        /* "pid (comm) state ppid ...": comm may hold spaces and parens */
        close_paren = strrchr(buf, ')');
        if (close_paren == NULL ||
            sscanf(close_paren + 1, " %*c %d", &ppid) != 1) {
            continue;
        }
        if (*n == cap) {
            struct pp *nv;

            cap = cap ? cap * 2 : 1024;
            nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL) {
                free(v);
                closedir(d);
                *n = 0;
                return NULL;
            }
            v = nv;
        }
        v[*n].pid = (pid_t)atoi(e->d_name);
        v[*n].ppid = (pid_t)ppid;
        (*n)++;
    }
    closedir(d);
    return v;
}

/* Add every descendant of @pid (depth first) to @m. */
static void add_descendants(const struct pp *v, size_t n, pid_t pid,
                            struct procmem *m, unsigned depth)
{
    if (depth > 8) {
        return; /* daemons start one level of helpers; bound the walk */
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].ppid == pid && rollup_add(v[i].pid, m) == 0) {
            add_descendants(v, n, v[i].pid, m, depth + 1);
        }
    }
}

/* see procmem.h */
int procmem_trees(const pid_t *roots, size_t n_roots, struct procmem *out)
{
    size_t n;
    struct pp *v = walk_proc(&n);
    int rc = 0;

    for (size_t r = 0; r < n_roots; r++) {
        memset(&out[r], 0, sizeof(out[r]));
        if (rollup_add(roots[r], &out[r]) < 0) {
            rc = -1;
            continue;
        }
        if (v != NULL) {
            add_descendants(v, n, roots[r], &out[r], 0);
        }
    }
    free(v);
    return rc;
}
