/* SPDX-License-Identifier: MIT */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>

enum tv_log_level tv_log_level = TV_LOG_WARN;
const char *tv_log_prefix;

/* see log.h: one line per call, written with a single stdio call */
void tv_log(enum tv_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    if (level > tv_log_level) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if (tv_log_prefix != NULL) {
        fprintf(stderr, "%s: %s\n", tv_log_prefix, line);
    } else {
        fprintf(stderr, "%s\n", line);
    }
}
