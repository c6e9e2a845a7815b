/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: device responses into the NSM client's decoder
 * (nsmc_parse_resp), which libnsm, the nsm CLI and every application trust
 * with whatever a device or backend sends. A decoded response must only
 * point into its own raw bytes or scratch area, keep locked_pcrs ascending,
 * distinct and within its 64 slots, and map to an AWS ErrorCode in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/nsmc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            abort();                                                           \
        }                                                                      \
    } while (0)

static struct nsmc_resp resp;

static void check_field(const struct nsmc_bytes *b)
{
    const uint8_t *raw_end = resp.raw + resp.raw_len;
    const uint8_t *scr_end = resp.scratch + resp.scratch_used;

    if (b->p == NULL) {
        CHECK(b->len == 0);
        return;
    }
    CHECK((b->p >= resp.raw && b->p + b->len <= raw_end) ||
          (b->p >= resp.scratch && b->p + b->len <= scr_end));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i;
    int op;

    if (size > NSM_RESPONSE_MAX_SIZE) {
        return 0;
    }
    if (nsmc_parse_resp(data, size, &resp) != NSMC_OK) {
        return 0;
    }
    CHECK(resp.raw_len == size && memcmp(resp.raw, data, size) == 0);
    CHECK(resp.op >= NSMC_OP_DESCRIBE_PCR && resp.op <= NSMC_OP_ERROR);
    CHECK(resp.scratch_used <= sizeof(resp.scratch));
    check_field(&resp.data);
    check_field(&resp.module_id);
    CHECK(resp.n_locked_pcrs <= NSMC_LOCKED_PCRS_MAX);
    for (i = 1; i < resp.n_locked_pcrs; i++) {
        CHECK(resp.locked_pcrs[i - 1] < resp.locked_pcrs[i]);
    }
    if (resp.op == NSMC_OP_ERROR) {
        CHECK(resp.error <= NSMC_E_INTERNAL_ERROR);
    }
    for (op = NSMC_OP_DESCRIBE_PCR; op <= NSMC_OP_GET_RANDOM; op++) {
        CHECK(nsmc_error_to_aws(NSMC_OK, &resp, (enum nsmc_op)op) <=
              NSMC_E_INTERNAL_ERROR);
    }
    return 0;
}
