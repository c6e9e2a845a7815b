/* SPDX-License-Identifier: MIT */
/*
 * The TVM side's parsers (src/tsmguest): a policy file, an --expect-mmio
 * range list, and get_device_measurements' output (nonce, generation,
 * blocks) checked against the policy. The first byte picks the parser; the
 * measurement input is split at a position the second byte gives, the rest
 * being the policy text.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tsmguest/tsmguest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tsmg_policy policy;
static struct tsmg_meas meas;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t zero[TDISP_NONCE_SIZE];
    char text[4096], err[256];
    struct tsmg_range r[TDISP_MAX_RANGES];
    size_t n, cut;

    if (size < 2) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        (void)tsmg_policy_parse((const char *)data + 1, size - 1, &policy, err,
                                sizeof(err));
        break;
    case 1:
        n = size - 1 < sizeof(text) - 1 ? size - 1 : sizeof(text) - 1;
        memcpy(text, data + 1, n);
        text[n] = '\0';
        (void)tsmg_ranges_parse(text, r, TDISP_MAX_RANGES, &n);
        break;
    default:
        cut = (size_t)data[1] * 16 < size - 2 ? (size_t)data[1] * 16 : size - 2;
        if (tsmg_policy_parse((const char *)data + 2 + cut, size - 2 - cut,
                              &policy, err, sizeof(err)) != 0) {
            memset(&policy, 0, sizeof(policy));
        }
        /* the nonce is the input's own first 32 bytes, so decoding goes on */
        if (cut >= TDISP_NONCE_SIZE &&
            tsmg_meas_decode(data + 2, cut, data + 2, &meas, err,
                             sizeof(err)) == 0) {
            (void)tsmg_policy_check(&policy, &meas, err, sizeof(err));
        }
        (void)tsmg_meas_decode(data + 2, cut, zero, &meas, err, sizeof(err));
        break;
    }
    return 0;
}
