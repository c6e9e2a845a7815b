/* SPDX-License-Identifier: MIT */
/* The framed call encoding: see tsm_frame.h. */
#include "tsm/tsm_frame.h"

#include <string.h>

#include "common/bytes.h"

/* see tsm_frame.h */
const char *tsm_frame_strerror(int status)
{
    switch (status) {
    case TSM_FRAME_OK:
        return "ok";
    case TSM_FRAME_SHORT:
        return "frame shorter than its header says";
    case TSM_FRAME_MAGIC:
        return "not a TSM frame (bad magic)";
    case TSM_FRAME_BAD_VERSION:
        return "unsupported frame version or non-zero reserved field";
    case TSM_FRAME_TOO_LARGE:
        return "frame length field over its cap";
    case TSM_FRAME_TRAILING:
        return "bytes after the frame";
    case TSM_FRAME_CAP:
        return "output buffer too small";
    default:
        return "unknown frame status";
    }
}

/* see tsm_frame.h */
int tsm_frame_req_encode(const struct tsm_frame_req *r, uint8_t *buf,
                         size_t cap, size_t *len)
{
    size_t i, n;

    if (r->call.in_len > TSM_FRAME_IN_MAX || r->out_cap > TSM_FRAME_OUT_MAX) {
        return TSM_FRAME_TOO_LARGE;
    }
    n = TSM_FRAME_REQ_HDR_SIZE + r->call.in_len;
    if (n > cap) {
        return TSM_FRAME_CAP;
    }
    store_le32(buf, TSM_FRAME_REQ_MAGIC);
    store_le16(buf + 4, TSM_FRAME_VERSION);
    store_le16(buf + 6, 0);
    store_le32(buf + 8, r->eid);
    store_le32(buf + 12, r->call.fid);
    for (i = 0; i < 6; i++) {
        store_le64(buf + 16 + 8 * i, r->call.a[i]);
    }
    store_le32(buf + 64, r->out_cap);
    store_le32(buf + 68, (uint32_t)r->call.in_len);
    if (r->call.in_len != 0) {
        memcpy(buf + TSM_FRAME_REQ_HDR_SIZE, r->call.in, r->call.in_len);
    }
    *len = n;
    return TSM_FRAME_OK;
}

/* see tsm_frame.h */
size_t tsm_frame_req_len(const uint8_t hdr[TSM_FRAME_REQ_HDR_SIZE])
{
    uint32_t in_len = load_le32(hdr + 68);

    if (load_le32(hdr) != TSM_FRAME_REQ_MAGIC ||
        load_le16(hdr + 4) != TSM_FRAME_VERSION || load_le16(hdr + 6) != 0 ||
        in_len > TSM_FRAME_IN_MAX) {
        return 0;
    }
    return TSM_FRAME_REQ_HDR_SIZE + (size_t)in_len;
}

/* see tsm_frame.h */
int tsm_frame_req_decode(const uint8_t *buf, size_t len,
                         struct tsm_frame_req *r)
{
    uint32_t in_len;
    size_t i;

    if (len < TSM_FRAME_REQ_HDR_SIZE) {
        return TSM_FRAME_SHORT;
    }
    if (load_le32(buf) != TSM_FRAME_REQ_MAGIC) {
        return TSM_FRAME_MAGIC;
    }
    if (load_le16(buf + 4) != TSM_FRAME_VERSION || load_le16(buf + 6) != 0) {
        return TSM_FRAME_BAD_VERSION;
    }
    in_len = load_le32(buf + 68);
    memset(r, 0, sizeof(*r));
    r->out_cap = load_le32(buf + 64);
    if (in_len > TSM_FRAME_IN_MAX || r->out_cap > TSM_FRAME_OUT_MAX) {
        return TSM_FRAME_TOO_LARGE;
    }
    if (len - TSM_FRAME_REQ_HDR_SIZE < in_len) {
        return TSM_FRAME_SHORT;
    }
    if (len - TSM_FRAME_REQ_HDR_SIZE > in_len) {
        return TSM_FRAME_TRAILING;
    }
    r->eid = load_le32(buf + 8);
    r->call.fid = load_le32(buf + 12);
    for (i = 0; i < 6; i++) {
        r->call.a[i] = load_le64(buf + 16 + 8 * i);
    }
    r->call.in = in_len != 0 ? buf + TSM_FRAME_REQ_HDR_SIZE : NULL;
    r->call.in_len = in_len;
    return TSM_FRAME_OK;
}

/* see tsm_frame.h */
int tsm_frame_rsp_encode(struct sbiret ret, const uint8_t *out, size_t out_len,
                         uint8_t *buf, size_t cap, size_t *len)
{
    size_t n;

    if (out_len > TSM_FRAME_OUT_MAX) {
        return TSM_FRAME_TOO_LARGE;
    }
    n = TSM_FRAME_RSP_HDR_SIZE + out_len;
    if (n > cap) {
        return TSM_FRAME_CAP;
    }
    store_le32(buf, TSM_FRAME_RSP_MAGIC);
    store_le16(buf + 4, TSM_FRAME_VERSION);
    store_le16(buf + 6, 0);
    store_le64(buf + 8, (uint64_t)(int64_t)ret.error);
    store_le64(buf + 16, (uint64_t)(int64_t)ret.value);
    store_le32(buf + 24, (uint32_t)out_len);
    if (out_len != 0) {
        memcpy(buf + TSM_FRAME_RSP_HDR_SIZE, out, out_len);
    }
    *len = n;
    return TSM_FRAME_OK;
}

/* see tsm_frame.h */
int tsm_frame_rsp_decode(const uint8_t *buf, size_t len, struct sbiret *ret,
                         const uint8_t **out, size_t *out_len)
{
    uint32_t n;

    if (len < TSM_FRAME_RSP_HDR_SIZE) {
        return TSM_FRAME_SHORT;
    }
    if (load_le32(buf) != TSM_FRAME_RSP_MAGIC) {
        return TSM_FRAME_MAGIC;
    }
    if (load_le16(buf + 4) != TSM_FRAME_VERSION || load_le16(buf + 6) != 0) {
        return TSM_FRAME_BAD_VERSION;
    }
    n = load_le32(buf + 24);
    if (n > TSM_FRAME_OUT_MAX) {
        return TSM_FRAME_TOO_LARGE;
    }
    if (len - TSM_FRAME_RSP_HDR_SIZE < n) {
        return TSM_FRAME_SHORT;
    }
    if (len - TSM_FRAME_RSP_HDR_SIZE > n) {
        return TSM_FRAME_TRAILING;
    }
    ret->error = (long)(int64_t)load_le64(buf + 8);
    ret->value = (long)(int64_t)load_le64(buf + 16);
    *out = buf + TSM_FRAME_RSP_HDR_SIZE;
    *out_len = n;
    return TSM_FRAME_OK;
}

/* see tsm_frame.h */
int tsm_frame_serve(struct tsm *t, uint64_t tvm, const uint8_t *req,
                    size_t req_len, uint8_t *scratch, uint8_t *rsp,
                    size_t rsp_cap, size_t *rsp_len)
{
    struct tsm_frame_req r;
    struct sbiret ret;
    size_t out_len = 0;
    int rc;

    rc = tsm_frame_req_decode(req, req_len, &r);
    if (rc != TSM_FRAME_OK) {
        return rc;
    }
    if (r.eid == (tvm == 0 ? TSM_EID_COVG : TSM_EID_COVH)) {
        /* the host cannot speak for a TVM, nor a TVM for the host */
        ret.error = SBI_ERR_DENIED;
        ret.value = 0;
    } else {
        ret = tsm_call(t, r.eid, tvm, &r.call, scratch, r.out_cap, &out_len);
    }
    return tsm_frame_rsp_encode(ret, scratch, out_len, rsp, rsp_cap, rsp_len);
}
