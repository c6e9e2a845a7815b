/* SPDX-License-Identifier: MIT */
/*
 * RPMB client response checks (src/client/rpmbc.c) against hostile device
 * answers. Input: 4 control bytes, then the bytes the "device" writes,
 * consumed call after call.
 *   ctl[0] bits 0-1: operation (read-counter, read, write, program-key)
 *          bit 2:    use a key (MAC checks)
 *          bit 3:    copy the request nonce into every response frame, so
 *                    the checks after the nonce are reached
 *   ctl[1]: block count (1..), ctl[2]: start address, ctl[3]: max_wr/rd.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "client/rpmb_frame.h"
#include "client/rpmbc.h"

/**
 * struct fz - the scripted device.
 * @p:          remaining response bytes
 * @len:        how many
 * @echo_nonce: copy the request nonce into response frames
 * @cfg:        config bytes
 */
struct fz {
    const uint8_t *p;
    size_t len;
    int echo_nonce;
    uint8_t cfg[3];
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_call(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                   size_t resp_cap, size_t *resp_len)
{
    struct fz *f = ctx;
    size_t n = f->len < resp_cap ? f->len : resp_cap;
    size_t i;

    if (f->len == 0) {
        return -5;
    }
    memcpy(resp, f->p, n);
    f->p += n;
    f->len -= n;
    if (f->echo_nonce && req_len >= RPMB_FRAME_LEN) {
        for (i = 0; i + RPMB_FRAME_LEN <= n; i += RPMB_FRAME_LEN) {
            memcpy(resp + i + RPMB_FRAME_OFF_NONCE, req + RPMB_FRAME_OFF_NONCE,
                   RPMB_FRAME_NONCE_LEN);
        }
    }
    *resp_len = n;
    return 0;
}

static int fz_config(void *ctx, uint8_t config[3])
{
    struct fz *f = ctx;

    memcpy(config, f->cfg, 3);
    return 0;
}

static const struct rpmbc_transport_ops fz_ops = {
    .call = fz_call,
    .get_config = fz_config,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rpmbc c;
    static uint8_t buf[256 * 256];
    static const uint8_t key[32] = "fuzz-key-fuzz-key-fuzz-key-fuzz";
    struct fz f;
    struct rpmbc_transport tr = {&fz_ops, &f};
    const uint8_t *k;
    size_t n_blocks;
    uint32_t counter;
    enum rpmbc_status st;

    if (size < 4) {
        return 0;
    }
    memset(&f, 0, sizeof(f));
    f.p = data + 4;
    f.len = size - 4;
    f.echo_nonce = (data[0] >> 3) & 1;
    f.cfg[0] = 1;
    f.cfg[1] = data[3];
    f.cfg[2] = data[3];
    k = (data[0] & 4) ? key : NULL;
    n_blocks = data[1] ? data[1] : 1;
    rpmbc_init(&c, &tr);
    switch (data[0] & 3) {
    case 0:
        st = rpmbc_read_counter(&c, k, &counter);
        break;
    case 1:
        st = rpmbc_read_blocks(&c, k, data[2], buf, n_blocks);
        break;
    case 2:
        memset(buf, 0x5a, n_blocks * 256);
        st = rpmbc_write_blocks(&c, key, data[2], buf, n_blocks);
        break;
    default:
        st = rpmbc_program_key(&c, key);
        break;
    }
    /* every outcome has a class and a message */
    (void)rpmbc_status_class(st);
    (void)rpmbc_strerror(st);
    return 0;
}
