/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: hostile frames into trustvio-tsm's framed call
 * encoding, served by one TSM. The input is a byte stream cut into frames
 * the way a stream reader does (tsm_frame_req_len() on each header); the
 * first byte of each chunk picks the endpoint (even: host, odd: TVM 1 or 2).
 * Checks: a frame is served only when it decodes; every response decodes
 * with the response codec, fits its caps, carries an SBI error code and no
 * more output than the request's out_cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsm/tsm_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0xa5, len);
    return 0;
}

static const struct tsm_ops ops = {fuzz_random};

static struct tsm tsm;
static uint8_t scratch[TSM_FRAME_OUT_MAX];
static uint8_t rsp[TSM_FRAME_RSP_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;

    tsm_init(&tsm, &ops, NULL);
    while (off + 1 + TSM_FRAME_REQ_HDR_SIZE <= size) {
        uint8_t ep = data[off];
        const uint8_t *f = data + off + 1;
        size_t n = tsm_frame_req_len(f);
        struct tsm_frame_req q;
        struct sbiret r;
        const uint8_t *o;
        size_t rl = 0, ol;
        int rc;

        if (n == 0 || n > size - off - 1) {
            /* a stream reader would drop the connection here */
            rc = tsm_frame_req_decode(f, size - off - 1, &q);
            if (rc == TSM_FRAME_OK && n == 0) {
                abort();
            }
            break;
        }
        off += 1 + n;
        rc = tsm_frame_serve(&tsm, (ep & 1) ? 1u + ((ep >> 1) & 1u) : 0, f, n,
                             scratch, rsp, sizeof(rsp), &rl);
        if (rc != TSM_FRAME_OK) {
            if (tsm_frame_req_decode(f, n, &q) == TSM_FRAME_OK) {
                abort();
            }
            continue;
        }
        if (tsm_frame_req_decode(f, n, &q) != TSM_FRAME_OK ||
            tsm_frame_rsp_decode(rsp, rl, &r, &o, &ol) != TSM_FRAME_OK ||
            ol > q.out_cap || r.error > 0 || r.error < SBI_ERR_BAD_RANGE) {
            abort();
        }
    }
    tsm_wipe(&tsm);
    return 0;
}
