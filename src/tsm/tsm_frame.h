/* SPDX-License-Identifier: MIT */
/*
 * The framed encoding of CoVE-IO calls between trustvio-tsm and its callers
 * (docs/tee-io.md, "Framed calls"). One request frame carries one SBI call
 * (EID, FID, argument registers a0..a5, the shared buffer's input bytes and
 * the capacity of the caller's output buffer); one response frame carries
 * the struct sbiret and the bytes the call wrote. All fields little-endian.
 *
 *   request:  magic "TSMQ" u32 | version u16 (1) | reserved u16 (0) |
 *             eid u32 | fid u32 | a0..a5 u64 | out_cap u32 | in_len u32 |
 *             in[in_len]
 *   response: magic "TSMA" u32 | version u16 (1) | reserved u16 (0) |
 *             error i64 | value i64 | out_len u32 | out[out_len]
 *
 * The frame's length follows from its fixed header, so a stream reader
 * reads TSM_FRAME_*_HDR_SIZE bytes, then the variable part. The TVM's
 * identity is never in a frame: the endpoint a frame arrives on decides it.
 * Sans I/O, no allocation.
 */
#ifndef TV_TSM_TSM_FRAME_H
#define TV_TSM_TSM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "tsm/tsm.h"

#define TSM_FRAME_REQ_MAGIC    0x51534D54u /* "TSMQ" */
#define TSM_FRAME_RSP_MAGIC    0x41534D54u /* "TSMA" */
#define TSM_FRAME_VERSION      1
#define TSM_FRAME_REQ_HDR_SIZE (4 + 2 + 2 + 4 + 4 + 6 * 8 + 4 + 4)
#define TSM_FRAME_RSP_HDR_SIZE (4 + 2 + 2 + 8 + 8 + 4)
#define TSM_FRAME_IN_MAX       TSM_RELAY_MAX /* a relay answer */
#define TSM_FRAME_OUT_MAX      16384         /* a FULL transcript, bytes */
#define TSM_FRAME_REQ_MAX      (TSM_FRAME_REQ_HDR_SIZE + TSM_FRAME_IN_MAX)
#define TSM_FRAME_RSP_MAX      (TSM_FRAME_RSP_HDR_SIZE + TSM_FRAME_OUT_MAX)

enum tsm_frame_status {
    TSM_FRAME_OK = 0,
    TSM_FRAME_SHORT = -1,       /* fewer bytes than the header or in_len says */
    TSM_FRAME_MAGIC = -2,       /* wrong magic */
    TSM_FRAME_BAD_VERSION = -3, /* version or reserved field not as above */
    TSM_FRAME_TOO_LARGE = -4,   /* in_len, out_cap or out_len over its cap */
    TSM_FRAME_TRAILING = -5,    /* bytes after the frame */
    TSM_FRAME_CAP = -6,         /* the output buffer is too small */
};

/** struct tsm_frame_req - a decoded request; @call.in points into the frame */
struct tsm_frame_req {
    uint32_t eid;
    struct tsm_call call;
    uint32_t out_cap;
};

/** tsm_frame_strerror() - a static description of a tsm_frame_status. */
const char *tsm_frame_strerror(int status);

/**
 * tsm_frame_req_encode() - write @r as a request frame into @buf (@cap
 * bytes); *@len its size. Return: TSM_FRAME_OK, TSM_FRAME_TOO_LARGE or
 * TSM_FRAME_CAP.
 */
int tsm_frame_req_encode(const struct tsm_frame_req *r, uint8_t *buf,
                         size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/**
 * tsm_frame_req_decode() - decode exactly one request frame of @len bytes
 * (private memory; @r->call.in points into @buf afterwards).
 * Return: TSM_FRAME_OK or the first rule it breaks.
 */
int tsm_frame_req_decode(const uint8_t *buf, size_t len,
                         struct tsm_frame_req *r)
    __attribute__((warn_unused_result));

/** tsm_frame_rsp_encode() - as tsm_frame_req_encode() for a response. */
int tsm_frame_rsp_encode(struct sbiret ret, const uint8_t *out, size_t out_len,
                         uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/** tsm_frame_rsp_decode() - as tsm_frame_req_decode() for a response. */
int tsm_frame_rsp_decode(const uint8_t *buf, size_t len, struct sbiret *ret,
                         const uint8_t **out, size_t *out_len)
    __attribute__((warn_unused_result));

/**
 * tsm_frame_req_len() - the whole frame's length from its first
 * TSM_FRAME_REQ_HDR_SIZE bytes, or 0 when the header is not acceptable
 * (bad magic, version, or in_len over its cap). For stream readers.
 */
size_t tsm_frame_req_len(const uint8_t hdr[TSM_FRAME_REQ_HDR_SIZE]);

/**
 * tsm_frame_serve() - decode one request, run it, encode the response.
 * @tvm: 0 for the host endpoint (COVH only), else the TVM the endpoint
 *       belongs to (COVG only); a call for the other one of the two gets
 *       SBI_ERR_DENIED, as does COVT (TSM_DECISION_COVT_CALLER); any
 *       other EID SBI_ERR_NOT_SUPPORTED.
 * @scratch: TSM_FRAME_OUT_MAX bytes of private memory the call writes its
 *       output into
 * @rsp: the response frame, @rsp_cap bytes (TSM_FRAME_RSP_MAX always
 *       suffices); written once, after the call.
 * Return: TSM_FRAME_OK with a response in @rsp, or the decode error (the
 * caller then drops the connection: a malformed frame has no answer).
 */
int tsm_frame_serve(struct tsm *t, uint64_t tvm, const uint8_t *req,
                    size_t req_len, uint8_t *scratch, uint8_t *rsp,
                    size_t rsp_cap, size_t *rsp_len)
    __attribute__((warn_unused_result));

#endif
