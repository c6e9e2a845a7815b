/* SPDX-License-Identifier: MIT */
#include "common/ct.h"

#include <stdint.h>
#include <string.h>

/* see ct.h: accumulate differences, branch only on the final value */
bool ct_eq(const void *a, const void *b, size_t len)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t acc = 0;
    size_t i;

    for (i = 0; i < len; i++) {
        acc |= (uint8_t)(x[i] ^ y[i]);
    }
    return acc == 0;
}

/* see ct.h: explicit_bzero is not optimised away as a dead store */
void wipe(void *p, size_t len)
{
    if (p != NULL && len > 0) {
        explicit_bzero(p, len);
    }
}
