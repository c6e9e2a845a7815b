/* SPDX-License-Identifier: MIT */
/* Constant-time comparison and secret wiping. */
#ifndef TV_COMMON_CT_H
#define TV_COMMON_CT_H

#include <stdbool.h>
#include <stddef.h>

/**
 * ct_eq() - compare @len bytes of @a and @b in time independent of content.
 * Return: true when equal.
 */
bool ct_eq(const void *a, const void *b, size_t len);

/**
 * wipe() - overwrite @len bytes at @p with zeros in a way the compiler may
 * not elide. Use on keys, MACs and nonces on every exit path.
 */
void wipe(void *p, size_t len);

#endif
