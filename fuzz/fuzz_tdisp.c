/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: hostile TDISP and IDE_KM messages through the PCI-SIG
 * dispatcher into one device with two TDIs, then the requester parsers on
 * every response.
 *
 * Input: a sequence of records [u8 flags][u8 len][len bytes]; flags bit 0:
 * in session; bit 1: a second session id; bit 2: a configuration change
 * before the message (bit 4: a firmware update); bit 3: the random source
 * fails; bit 5: the session of bit 1 ends before the message. A record
 * whose first byte is 0x01 goes to TDISP, 0x00 to IDE_KM.
 * Checks: every response fits its buffer, starts with the request's
 * protocol id, parses with the requester codec, never carries a TDISP
 * state outside 0..3; a TDI moves to RUN only by a START that echoed its
 * LOCK nonce; a session's end leaves none of its IDE streams; the key-slot
 * description always fits IDEKM_DESCRIBE_MAX.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tdisp/pcisig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool rng_fail;

static int fuzz_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    if (rng_fail) {
        return -1;
    }
    memset(buf, 0x5a, len);
    return 0;
}

static const struct tdisp_ops ops = {fuzz_random};

static void setup(struct tdisp *t, struct idekm *k)
{
    struct tdisp_config cfg;
    size_t i;

    memset(&cfg, 0, sizeof(cfg));
    for (i = 0; i < 2; i++) {
        struct tdisp_tdi_config *c = &cfg.tdis[i];
        c->function_id = 0x100 + (uint32_t)i;
        c->ranges[0] = (struct tdisp_range){0xfe000000, 4, 0, 0};
        c->ranges[1] = (struct tdisp_range){0xfe004000, 1,
                                            TDISP_RANGE_MEM_ATTR_UPDATABLE, 1};
        c->n_ranges = 2;
        c->devspec_len = 3;
        c->valid = true;
    }
    cfg.n_tdis = 2;
    cfg.lock_flags_supported = 0x1f;
    if (tdisp_init(t, &cfg, &ops, NULL) != TDISP_OK) {
        abort();
    }
    idekm_init(k, 1, 0, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t vid[2] = {0x01, 0x00};
    struct tdisp t;
    struct idekm k;
    uint8_t req[256 + 1];
    uint8_t rsp[1 + TDISP_MSG_MAX];
    size_t off = 0;

    setup(&t, &k);
    while (off + 2 <= size) {
        uint8_t flags = data[off];
        size_t len = data[off + 1];
        size_t rsp_len = 0;
        int before[2], i;
        int rc;

        off += 2;
        if (len > size - off) {
            len = size - off;
        }
        memcpy(req, data + off, len);
        off += len;
        rng_fail = (flags & 8) != 0;
        if (flags & 4) {
            (void)tdisp_config_change(&t, 0x100, NULL, (flags & 16) != 0);
        }
        if (flags & 32) {
            /* the session ends: none of its streams is left */
            uint32_t sid = (flags & 2) ? 2 : 1;
            (void)idekm_session_ended(&k, sid);
            for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
                if (k.streams[i].used && k.streams[i].session_id == sid) {
                    abort();
                }
            }
        }
        {
            char d[IDEKM_DESCRIBE_MAX];
            if (idekm_describe(&k, d, sizeof(d)) == 0) {
                abort(); /* the cap always holds every stream */
            }
        }
        for (i = 0; i < 2; i++) {
            before[i] = tdisp_state(&t, 0x100 + (uint32_t)i);
        }
        rc = pcisig_handle(&t, &k, (flags & 2) ? 2 : 1, (flags & 1) != 0,
                           PCISIG_STANDARD_ID, vid, 2, req, len, rsp,
                           sizeof(rsp), &rsp_len);
        if (rc != PCISIG_OK) {
            continue;
        }
        if (rsp_len == 0 || rsp_len > sizeof(rsp) || rsp[0] != req[0]) {
            abort();
        }
        if (req[0] == PCISIG_PROTO_TDISP && len >= 1 + TDISP_HEADER_SIZE) {
            struct tdisp_rsp r;
            uint32_t fid = (uint32_t)req[5] | (uint32_t)req[6] << 8 |
                           (uint32_t)req[7] << 16 | (uint32_t)req[8] << 24;
            int pr =
                tdisp_parse_response(req[2], fid, rsp + 1, rsp_len - 1, &r);
            if (pr != TDISP_PARSE_OK) {
                abort();
            }
            if (r.code == TDISP_RSP(TDISP_GET_DEVICE_INTERFACE_STATE) &&
                r.state > 3) {
                abort();
            }
            if (r.code == TDISP_RSP(TDISP_GET_DEVICE_INTERFACE_REPORT) &&
                r.remainder_len == 0 && req[1 + 16] == 0 && req[1 + 17] == 0) {
                struct tdisp_report rep;
                if (tdisp_parse_report(r.portion, r.portion_len, &rep) != 0 &&
                    r.portion_len == (size_t)(16 + 2 * 16 + 4 + 3)) {
                    abort();
                }
            }
            for (i = 0; i < 2; i++) {
                int now = tdisp_state(&t, 0x100 + (uint32_t)i);
                if (now == TDISP_RUN && before[i] != TDISP_RUN &&
                    (req[2] != TDISP_START_INTERFACE ||
                     fid != 0x100 + (uint32_t)i)) {
                    abort();
                }
                if (now == TDISP_RUN && before[i] != TDISP_RUN) {
                    size_t j;
                    for (j = 0; j < TDISP_NONCE_SIZE; j++) {
                        if (req[1 + TDISP_HEADER_SIZE + j] != 0x5a) {
                            abort();
                        }
                    }
                }
            }
        }
    }
    tdisp_wipe(&t);
    idekm_wipe(&k);
    return 0;
}
