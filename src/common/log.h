/* SPDX-License-Identifier: MIT */
/*
 * Log sink. Libraries report through tv_log(); programs choose where it
 * goes (stderr by default) and how much (tv_log_level).
 */
#ifndef TV_COMMON_LOG_H
#define TV_COMMON_LOG_H

enum tv_log_level {
    TV_LOG_ERR = 0,
    TV_LOG_WARN = 1,
    TV_LOG_INFO = 2,
    TV_LOG_DEBUG = 3,
};

/* Messages above this level are dropped. Default TV_LOG_WARN. */
extern enum tv_log_level tv_log_level;

/* Prefix for every line (the program name); may be NULL. */
extern const char *tv_log_prefix;

void tv_log(enum tv_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define tv_err(...)   tv_log(TV_LOG_ERR, __VA_ARGS__)
#define tv_warn(...)  tv_log(TV_LOG_WARN, __VA_ARGS__)
#define tv_info(...)  tv_log(TV_LOG_INFO, __VA_ARGS__)
#define tv_debug(...) tv_log(TV_LOG_DEBUG, __VA_ARGS__)

#endif
