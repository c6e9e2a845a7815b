/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: hostile RPMB frame streams into rpmb_handle() over the
 * in-memory store.
 *
 * Input: byte 0 = flags, then up to 8 chains, each
 *   [u8 response frames][u16 big-endian request length][request bytes]
 * flags bit 0: program a fixed key before the first chain (so the keyed
 *              paths are reachable);
 *       bit 1: before each chain, give DATA_WRITE frames a valid MAC and
 *              the device's counter (so the store-write path is reachable);
 *       bit 2: the next store write fails (fault injection).
 * Checks after every chain: used length is whole frames within the
 * writable space, the counter never decreases, and the key never appears
 * in a response.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "rpmb/rpmb.h"
#include "store/store.h"

#define FR              VIRTIO_RPMB_FRAME_SIZE
#define MAX_REQ_FRAMES  40
#define MAX_RESP_FRAMES 70

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_key[32] = "fuzz-key-fuzz-key-fuzz-key-fuzz";

static uint8_t blocks[VIRTIO_RPMB_BLOCKS_PER_UNIT * RPMB_BLK_SIZE];
static uint8_t req[MAX_REQ_FRAMES * FR];
static uint8_t resp[MAX_RESP_FRAMES * FR];

/* Sign the DATA_WRITE frames at the start of the request. */
static void fix_write(size_t n_req, uint32_t counter)
{
    struct crypto_hmac h;
    uint8_t mac[32];
    size_t n = 0;
    size_t i;

    while (n < n_req && load_be16(req + n * FR + VIRTIO_RPMB_OFF_REQ_RESP) ==
                            VIRTIO_RPMB_REQ_DATA_WRITE) {
        store_be32(req + n * FR + VIRTIO_RPMB_OFF_WRITE_COUNTER, counter);
        n++;
    }
    if (n == 0 || crypto_hmac_init(&h, fuzz_key, 32) != 0) {
        return;
    }
    for (i = 0; i < n; i++) {
        (void)crypto_hmac_update(&h, req + i * FR + VIRTIO_RPMB_OFF_DATA,
                                 VIRTIO_RPMB_MAC_INPUT_SIZE);
    }
    if (crypto_hmac_final(&h, mac) == 0) {
        memcpy(req + (n - 1) * FR + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rpmb_mem_store mem;
    struct rpmb_config cfg = {1, 0, 0};
    struct rpmb r;
    struct bytes in = bytes_of(data, size);
    const uint8_t *p;
    uint8_t flags;
    int n_chains;
    bool key_in_input = memmem(data, size, fuzz_key, 32) != NULL;

    if (!bytes_take(&in, 1, &p)) {
        return 0;
    }
    flags = p[0];
    cfg.max_wr_cnt = (uint8_t)(flags >> 4);
    rpmb_mem_store_init(&mem, blocks, VIRTIO_RPMB_BLOCKS_PER_UNIT);
    if (flags & 1) {
        mem.key_programmed = true;
        memcpy(mem.key, fuzz_key, 32);
    }
    if (rpmb_init(&r, &cfg, &rpmb_mem_store_ops, &mem) != RPMB_OK) {
        abort();
    }
    for (n_chains = 0; n_chains < 8; n_chains++) {
        uint32_t before = rpmb_write_counter(&r);
        size_t n_resp;
        size_t req_len;
        size_t resp_len = 0;
        size_t odd;

        if (!bytes_take(&in, 3, &p)) {
            break;
        }
        n_resp = p[0] % (MAX_RESP_FRAMES + 1);
        odd = p[0] >> 7;
        req_len = load_be16(p + 1);
        if (req_len > sizeof(req)) {
            req_len = sizeof(req);
        }
        if (req_len > in.len) {
            req_len = in.len;
        }
        if (!bytes_take(&in, req_len, &p)) {
            break;
        }
        memcpy(req, p, req_len);
        if ((flags & 2) && req_len % FR == 0) {
            fix_write(req_len / FR, rpmb_write_counter(&r));
        }
        if (flags & 4) {
            mem.fail_write_err = -5;
        }
        /* an odd capacity: leftover bytes beyond whole frames */
        if (rpmb_handle(&r, req, req_len, resp, n_resp * FR + odd, &resp_len) !=
            RPMB_OK) {
            abort();
        }
        if (resp_len % FR != 0 || resp_len > n_resp * FR) {
            abort();
        }
        if (rpmb_write_counter(&r) < before ||
            rpmb_write_counter(&r) != mem.counter) {
            abort();
        }
        /* the key may only come back as data the guest itself wrote */
        if (!key_in_input && resp_len > 0 &&
            memmem(resp, resp_len, fuzz_key, 32) != NULL) {
            abort();
        }
    }
    rpmb_mem_store_wipe(&mem);
    return 0;
}
