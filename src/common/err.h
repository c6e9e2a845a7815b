/* SPDX-License-Identifier: MIT */
/*
 * One-line error reasons for callers that pass a buffer: the convention of
 * the PKI, the store and the certificate code (char *err, size_t err_len).
 */
#ifndef TV_COMMON_ERR_H
#define TV_COMMON_ERR_H

#include <stddef.h>

/**
 * tv_set_err() - format a reason into @err of @err_len bytes (always
 * NUL-terminated, truncated when long). Does nothing when @err is NULL or
 * @err_len is 0. No allocation.
 */
void tv_set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
