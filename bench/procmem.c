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
    m->clean_kib += pc;
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

/* One mapping of smaps: its header line and the two private counters. */
struct mapping {
    char head[512];
    long clean;
    long dirty;
};

static void mapping_print(const struct mapping *mp, FILE *out, long *clean,
                          long *dirty)
{
    unsigned long lo, hi;
    char perms[8] = "", name[160] = "";

    if (mp->head[0] == '\0' || mp->clean + mp->dirty == 0) {
        return;
    }
    /* "lo-hi perms offset dev inode   name" */
    if (sscanf(mp->head, "%lx-%lx %7s %*s %*s %*s %159[^\n]", &lo, &hi, perms,
               name) < 3) {
        return;
    }
    fprintf(out, "  %6ld clean %6ld dirty KiB  %6lu KiB %s %s\n", mp->clean,
            mp->dirty, (hi - lo) / 1024, perms,
            name[0] != '\0' ? name : "[anon]");
    *clean += mp->clean;
    *dirty += mp->dirty;
}

/* see procmem.h */
int procmem_breakdown(pid_t pid, FILE *out)
{
    char path[64], line[512];
    struct mapping mp = {"", 0, 0};
    long clean = 0, dirty = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    fprintf(out, "pid %d: mappings with private pages\n", (int)pid);
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t h = strspn(line, "0123456789abcdef");

        if (h > 0 && line[h] == '-') {
            /* a new mapping's header: "lo-hi perms ..." (a field line
             * starts with its name and a colon) */
            mapping_print(&mp, out, &clean, &dirty);
            snprintf(mp.head, sizeof(mp.head), "%s", line);
            mp.clean = mp.dirty = 0;
        } else if (strncmp(line, "Private_Clean:", 14) == 0) {
            mp.clean = strtol(line + 14, NULL, 10);
        } else if (strncmp(line, "Private_Dirty:", 14) == 0) {
            mp.dirty = strtol(line + 14, NULL, 10);
        }
    }
    mapping_print(&mp, out, &clean, &dirty);
    fclose(f);
    fprintf(out, "  %6ld clean %6ld dirty KiB  total %ld KiB\n", clean, dirty,
            clean + dirty);
    return 0;
}

static void breakdown_descendants(const struct pp *v, size_t n, pid_t pid,
                                  FILE *out, unsigned depth)
{
    if (depth > 8) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].ppid == pid && procmem_breakdown(v[i].pid, out) == 0) {
            breakdown_descendants(v, n, v[i].pid, out, depth + 1);
        }
    }
}

/* see procmem.h */
int procmem_breakdown_tree(pid_t root, FILE *out)
{
    size_t n;
    struct pp *v;

    if (procmem_breakdown(root, out) != 0) {
        return -1;
    }
    v = walk_proc(&n);
    if (v != NULL) {
        breakdown_descendants(v, n, root, out, 0);
    }
    free(v);
    return 0;
}
