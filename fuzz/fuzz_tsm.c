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
 * A COVH record with arg selector bit 4 passes its bytes as the call's input
 * and a1 = 0x9000: connect_device with an IDE stream descriptor.
 * kind 2 with bit 7 set calls a root-port model of its own (COVT) directly
 * with the bytes as its input, a0 = selector bit 0, address registers
 * non-zero unless selector bits 1 and 2. kind 3 with bit 4 set has a real
 * device (SPDM responder, TDISP and IDE_KM behind it) answer the pending
 * request, its answer XORed with the record's bytes when bit 5 is set: so
 * inputs reach the session and the IDE_KM key programming, refresh and
 * disconnect. Checks: every sbiret error is an SBI code; a pending value comes
 * with a relay buffer whose header names the call, the device and the payload
 * length; the output never exceeds its buffer; the root port holds keys only
 * for a device record with an IDE stream; nothing crashes or leaks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "spdm_fixture.h"
#include "tdisp/pcisig.h"
#include "tsm/rootport.h"
#include "tsm/tsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The device: SPDM responder with TDISP and IDE_KM behind it. */
static struct spdm_responder dev_rsp_template, dev_rsp;
static struct tdisp dev_tdisp_template, dev_tdisp;
static struct idekm dev_km;

static int dev_vendor(void *ctx, uint32_t session_id, bool in_session,
                      uint16_t standard_id, const uint8_t *vid, size_t vid_len,
                      const uint8_t *req, size_t req_len, uint8_t *rsp,
                      size_t rsp_cap, size_t *rsp_len)
{
    (void)ctx;
    return pcisig_handle(&dev_tdisp, &dev_km, session_id, in_session,
                         standard_id, vid, vid_len, req, req_len, rsp, rsp_cap,
                         rsp_len) == PCISIG_OK
               ? 0
               : 1;
}

static void dev_session_ended(void *ctx, uint32_t session_id)
{
    (void)ctx;
    tdisp_session_ended(&dev_tdisp, session_id);
}

static const struct spdm_responder_ops dev_ops = {
    fx_sign, fx_random, dev_vendor, dev_session_ended};
static const struct tdisp_ops dev_tdisp_ops = {fx_random};

static void dev_init(void)
{
    static bool done;
    static const uint8_t fw[48] = {1, 2, 3};
    const struct spdm_meas_config meas[1] = {
        {1, SPDM_MEAS_TYPE_FIRMWARE, true, fw, 48}};
    struct spdm_responder_config rc = {0};
    struct tdisp_config tc;

    if (done) {
        return;
    }
    done = true;
    fx_init();
    rc.cert_chain = fx_chain;
    rc.cert_chain_len = fx_chain_len;
    rc.meas = meas;
    rc.n_meas = 1;
    rc.ops = &dev_ops;
    CHECK(spdm_responder_init(&dev_rsp_template, &rc) == SPDM_OK);
    memset(&tc, 0, sizeof(tc));
    tc.n_tdis = 1;
    tc.tdis[0].function_id = 0x100;
    tc.tdis[0].interface_info = TDISP_INFO_DMA_WITHOUT_PASID;
    tc.tdis[0].ranges[0] = (struct tdisp_range){0xfe000000ull, 4, 0, 0};
    tc.tdis[0].n_ranges = 1;
    tc.tdis[0].valid = true;
    tc.lock_flags_supported = TDISP_LOCK_NO_FW_UPDATE;
    tc.dev_addr_width = 52;
    CHECK(tdisp_init(&dev_tdisp_template, &tc, &dev_tdisp_ops, NULL) ==
          TDISP_OK);
}

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
static struct rp_model rp;          /* for the direct COVT calls */
static uint8_t pend[TSM_RELAY_MAX]; /* the last relay buffer */
static size_t pend_len;

/* The device's answer to the pending relay buffer, into @in. */
static size_t device_answer(const uint8_t *x, size_t x_len)
{
    size_t rl = 0, i;

    if (pend_len < TSM_RELAY_HDR_SIZE ||
        spdm_responder_handle(
            &dev_rsp, (load_le32(pend) & TSM_RELAY_SECURED) != 0,
            pend + TSM_RELAY_HDR_SIZE, pend_len - TSM_RELAY_HDR_SIZE,
            in + TSM_RELAY_HDR_SIZE, SPDM_RECORD_MAX, &rl) != SPDM_OK) {
        return 0;
    }
    for (i = 0; i < x_len && i < rl; i++) {
        in[TSM_RELAY_HDR_SIZE + i] ^= x[i];
    }
    memcpy(in, pend, 8);
    store_le32(in + 8, (uint32_t)rl);
    return TSM_RELAY_HDR_SIZE + rl;
}

/* Key material in the root port only where a device has an IDE stream. */
static void check_rp(void)
{
    size_t i, j;

    for (i = 0; i < RP_MAX_PORTS; i++) {
        bool ide = i < TSM_MAX_DEVICES && tsm.devs[i].state != TSM_DEV_FREE &&
                   tsm.devs[i].ide;

        for (j = 0; j < RP_MAX_STREAMS; j++) {
            if (tsm.rp.ports[i].streams[j].used && !ide) {
                abort();
            }
        }
    }
}

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

    dev_init();
    memcpy(&dev_rsp, &dev_rsp_template, sizeof(dev_rsp));
    memcpy(&dev_tdisp, &dev_tdisp_template, sizeof(dev_tdisp));
    idekm_init(&dev_km, 1, 0, 0);
    fx_counter = 0;
    pend_len = 0;
    tsm_init(&tsm, &ops, NULL);
    rp_init(&rp);
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
        if ((sel & 8) && fid >= TSM_COVH_ADD_INTERFACE_REGION &&
            fid <= TSM_COVH_UNBIND_INTERFACE) {
            c.a[0] = 1;
        }
        switch (kind & 3) {
        case 0:
            if (sel & 16) {
                c.a[1] = 0x9000;
                c.in = p;
                c.in_len = len;
            }
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
            if (kind & 0x80) {
                c.a[0] = sel & 1; /* a root port */
                c.a[1] = (sel & 2) ? 0 : 1;
                if (fid == TSM_COVT_CLEAR_KEY) {
                    c.a[1] = len > 0 ? p[0] : 0; /* the stream id */
                }
                c.a[2] = (sel & 4) ? 0 : 1;
                r = rp_covt(&rp, fid, c.a, p, len);
                if (r.error > 0 || r.error < SBI_ERR_BAD_RANGE ||
                    (fid == TSM_COVT_KEY_STATUS && r.error == SBI_SUCCESS &&
                     (r.value < TSM_RP_KEY_CLEARED ||
                      r.value > TSM_RP_KEY_ENABLED))) {
                    abort();
                }
                continue;
            }
            r = tsm_call(&tsm, TSM_EID_COVT + ((kind >> 4) & 7), 1, &c, out,
                         sizeof(out), &out_len);
            break;
        default:
            if (len > sizeof(in) - TSM_RELAY_HDR_SIZE) {
                len = sizeof(in) - TSM_RELAY_HDR_SIZE;
            }
            if (kind & 16) {
                c.in_len = device_answer(p, (kind & 32) ? len : 0);
            } else if (kind & 8) {
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
        check_rp();
        if (r.error == SBI_SUCCESS && r.value == TSM_SPDM_PENDING_REQUEST &&
            out_len >= TSM_RELAY_HDR_SIZE && (kind & 3) != 1 &&
            c.fid != TSM_COVH_GET_CONN_TRANSCRIPT) {
            pending_fid = load_le32(out);
            if (out_len <= sizeof(pend)) {
                memcpy(pend, out, out_len);
                pend_len = out_len;
            }
        } else if ((kind & 3) == 0 || (kind & 3) == 3) {
            pend_len = 0; /* nothing pending: the device is not asked */
        }
    }
    tsm_wipe(&tsm);
    rp_wipe(&rp);
    return 0;
}
