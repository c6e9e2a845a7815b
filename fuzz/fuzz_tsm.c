/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: hostile COVH/COVG calls and hostile relay answers into
 * one TSM. The host is the attacker: it picks EIDs, FIDs, argument
 * registers and the bytes it claims the device answered.
 *
 * Input: a sequence of records
 *   [u8 kind][u8 fid offset][u8 arg selector][u16 LE len][len bytes]
 * kind bits 1:0: 0 COVH, 1 COVG (TVM 1 or 2 by bit 2), 2 another EID,
 * 3 the relay answer: the bytes get a header naming the pending call (bit 3
 * clear) or are passed as they are (bit 3 set). FID = 1024 + fid offset
 * (mod 16). Argument registers: a0 the device (7) or the interface
 * TSM_IF_ID(7, 0x100), a1..a3 taken from the record's bytes.
 * Checks: every sbiret error is an SBI code; a pending value comes with a
 * relay buffer whose header names the call, the device and the payload
 * length; the output never exceeds its buffer; nothing crashes or leaks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "tsm/tsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x5a, len);
    return 0;
}

static const struct tsm_ops ops = {fuzz_random};

static struct tsm tsm;
static uint8_t out[TSM_RELAY_MAX + 16384];
static uint8_t in[TSM_RELAY_MAX];

static uint64_t arg_of(const uint8_t *p, size_t len, size_t i)
{
    uint8_t b[8] = {0};

    if (len > i * 8) {
        size_t n = len - i * 8 < 8 ? len - i * 8 : 8;

        memcpy(b, p + i * 8, n);
    }
    return load_le64(b);
}

static void check(struct sbiret r, bool host, uint32_t fid, size_t out_len)
{
    if (r.error > 0 || r.error < SBI_ERR_BAD_RANGE || out_len > sizeof(out)) {
        abort();
    }
    /* a host call's value 1 is a pending request (a transcript's is a
     * length) */
    if (host && r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST &&
        fid != TSM_COVH_GET_CONN_TRANSCRIPT) {
        if (out_len < TSM_RELAY_HDR_SIZE ||
            (load_le32(out) & TSM_RELAY_FID_MASK) != fid ||
            load_le32(out + 8) != out_len - TSM_RELAY_HDR_SIZE) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t pending_fid = 0;
    size_t off = 0;

    tsm_init(&tsm, &ops, NULL);
    while (off + 5 <= size) {
        uint8_t kind = data[off];
        uint32_t fid = 1024u + (data[off + 1] & 15u);
        uint8_t sel = data[off + 2];
        size_t len = load_le16(data + off + 3);
        const uint8_t *p = data + off + 5;
        struct tsm_call c;
        struct sbiret r;
        size_t out_len = 0;

        off += 5;
        if (len > size - off) {
            len = size - off;
        }
        off += len;
        memset(&c, 0, sizeof(c));
        c.fid = fid;
        c.a[0] = (sel & 1) ? TSM_IF_ID(7, 0x100) : 7;
        c.a[1] = (sel & 2) ? TSM_IF_ID(7, 0x100) : arg_of(p, len, 0);
        c.a[2] = arg_of(p, len, 1);
        c.a[3] = arg_of(p, len, 2);
        c.a[4] = (sel & 4) ? arg_of(p, len, 3) : sizeof(out);
        if ((sel & 8) && fid == TSM_COVH_BIND_INTERFACE) {
            c.a[0] = 1;
        }
        switch (kind & 3) {
        case 0:
            r = tsm_covh(&tsm, &c, out, sizeof(out), &out_len);
            break;
        case 1:
            if (len == 32) {
                c.in = p;
                c.in_len = len;
            }
            r = tsm_covg(&tsm, (kind & 4) ? 2 : 1, &c, out, sizeof(out),
                         &out_len);
            break;
        case 2:
            r = tsm_call(&tsm, TSM_EID_COVT + (kind >> 4), 1, &c, out,
                         sizeof(out), &out_len);
            break;
        default:
            if (len > sizeof(in) - TSM_RELAY_HDR_SIZE) {
                len = sizeof(in) - TSM_RELAY_HDR_SIZE;
            }
            if (kind & 8) {
                memcpy(in, p, len);
                c.in_len = len;
            } else {
                store_le32(in, pending_fid);
                store_le32(in + 4, 7);
                store_le32(in + 8, (uint32_t)len);
                memcpy(in + TSM_RELAY_HDR_SIZE, p, len);
                c.in_len = TSM_RELAY_HDR_SIZE + len;
            }
            c.fid = pending_fid & TSM_RELAY_FID_MASK;
            c.a[0] = (c.fid >= TSM_COVH_ADD_INTERFACE_REGION &&
                      c.fid <= TSM_COVH_UNBIND_INTERFACE &&
                      c.fid != TSM_COVH_TEE_IO_ACTION)
                         ? 1
                         : 7;
            c.a[1] = TSM_IF_ID(7, 0x100);
            c.in = in;
            r = tsm_covh(&tsm, &c, out, sizeof(out), &out_len);
            break;
        }
        check(r, (kind & 3) == 0 || (kind & 3) == 3, c.fid, out_len);
        if (r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST &&
            out_len >= TSM_RELAY_HDR_SIZE && (kind & 3) != 1) {
            pending_fid = load_le32(out);
        }
    }
    tsm_wipe(&tsm);
    return 0;
}
