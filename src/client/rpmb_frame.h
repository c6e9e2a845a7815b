/* SPDX-License-Identifier: MIT */
/*
 * RPMB frame layout: build and parse the 512-byte virtio RPMB / eMMC RPMB
 * frame (JESD84-B51 §6.6.22, virtio spec "RPMB Device"). Header-only, no
 * crypto, no allocation, no libc beyond <string.h>, so a static guest
 * program can include it as is.
 *
 * Frame (big-endian scalars):
 *
 *   offset size field
 *        0  196 stuff
 *      196   32 key_mac   key for PROGRAM_KEY, HMAC-SHA256 otherwise
 *      228  256 data
 *      484   16 nonce
 *      500    4 write_counter
 *      504    2 address      in 256-byte half sectors
 *      506    2 block_count
 *      508    2 result
 *      510    2 req_resp
 *
 * The MAC covers bytes 228..511 (RPMB_FRAME_MAC_INPUT_SIZE bytes) of every
 * frame of a request or response, concatenated in order, and sits in
 * key_mac of the last frame.
 */
#ifndef TV_CLIENT_RPMB_FRAME_H
#define TV_CLIENT_RPMB_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rpmb/virtio_rpmb.h"

/* The wire constants live in the device's header; these are client names
 * for them (a constants-only header, so guest programs can include it). */
#define RPMB_FRAME_LEN       VIRTIO_RPMB_FRAME_SIZE   /* one frame, bytes */
#define RPMB_FRAME_DATA_LEN  VIRTIO_RPMB_DATA_SIZE    /* data bytes */
#define RPMB_FRAME_KEY_LEN   VIRTIO_RPMB_KEY_MAC_SIZE /* key / MAC bytes */
#define RPMB_FRAME_NONCE_LEN VIRTIO_RPMB_NONCE_SIZE   /* nonce bytes */

#define RPMB_FRAME_OFF_KEY_MAC     VIRTIO_RPMB_OFF_KEY_MAC
#define RPMB_FRAME_OFF_DATA        VIRTIO_RPMB_OFF_DATA
#define RPMB_FRAME_OFF_NONCE       VIRTIO_RPMB_OFF_NONCE
#define RPMB_FRAME_OFF_COUNTER     VIRTIO_RPMB_OFF_WRITE_COUNTER
#define RPMB_FRAME_OFF_ADDRESS     VIRTIO_RPMB_OFF_ADDRESS
#define RPMB_FRAME_OFF_BLOCK_COUNT VIRTIO_RPMB_OFF_BLOCK_COUNT
#define RPMB_FRAME_OFF_RESULT      VIRTIO_RPMB_OFF_RESULT
#define RPMB_FRAME_OFF_REQ_RESP    VIRTIO_RPMB_OFF_REQ_RESP

/* MAC input per frame: data .. req_resp, bytes 228..511 */
#define RPMB_FRAME_MAC_INPUT_SIZE VIRTIO_RPMB_MAC_INPUT_SIZE

/* Request codes (virtio spec, JESD84-B51 table 18) */
#define RPMB_FRAME_REQ_PROGRAM_KEY       VIRTIO_RPMB_REQ_PROGRAM_KEY
#define RPMB_FRAME_REQ_GET_WRITE_COUNTER VIRTIO_RPMB_REQ_GET_WRITE_COUNTER
#define RPMB_FRAME_REQ_DATA_WRITE        VIRTIO_RPMB_REQ_DATA_WRITE
#define RPMB_FRAME_REQ_DATA_READ         VIRTIO_RPMB_REQ_DATA_READ
#define RPMB_FRAME_REQ_RESULT_READ       VIRTIO_RPMB_REQ_RESULT_READ

/* Response codes: the request code shifted into the high byte */
#define RPMB_FRAME_RESP_PROGRAM_KEY       VIRTIO_RPMB_RESP_PROGRAM_KEY
#define RPMB_FRAME_RESP_GET_WRITE_COUNTER VIRTIO_RPMB_RESP_GET_WRITE_COUNTER
#define RPMB_FRAME_RESP_DATA_WRITE        VIRTIO_RPMB_RESP_DATA_WRITE
#define RPMB_FRAME_RESP_DATA_READ         VIRTIO_RPMB_RESP_DATA_READ

/* Result codes; bit 7 is the write-counter-expired flag (JEDEC) */
#define RPMB_FRAME_RES_OK              VIRTIO_RPMB_RES_OK
#define RPMB_FRAME_RES_GENERAL_FAILURE VIRTIO_RPMB_RES_GENERAL_FAILURE
#define RPMB_FRAME_RES_AUTH_FAILURE    VIRTIO_RPMB_RES_AUTH_FAILURE
#define RPMB_FRAME_RES_COUNT_FAILURE   VIRTIO_RPMB_RES_COUNT_FAILURE
#define RPMB_FRAME_RES_ADDR_FAILURE    VIRTIO_RPMB_RES_ADDR_FAILURE
#define RPMB_FRAME_RES_WRITE_FAILURE   VIRTIO_RPMB_RES_WRITE_FAILURE
#define RPMB_FRAME_RES_READ_FAILURE    VIRTIO_RPMB_RES_READ_FAILURE
#define RPMB_FRAME_RES_NO_AUTH_KEY     VIRTIO_RPMB_RES_NO_AUTH_KEY
#define RPMB_FRAME_RES_EXPIRED_FLAG    VIRTIO_RPMB_RES_WRITE_COUNTER_EXPIRED
#define RPMB_FRAME_RES_CODE_MASK       0x007f

/**
 * struct rpmb_frame_fields - the scalar fields of one frame.
 * @nonce:         16 bytes, copied as is
 * @write_counter: write counter
 * @address:       start address, 256-byte units
 * @block_count:   blocks in the whole request or response
 * @result:        result code (responses)
 * @req_resp:      request or response type
 */
struct rpmb_frame_fields {
    uint8_t nonce[RPMB_FRAME_NONCE_LEN];
    uint32_t write_counter;
    uint16_t address;
    uint16_t block_count;
    uint16_t result;
    uint16_t req_resp;
};

/** rpmb_frame_ld16() - load a big-endian u16 from @p. */
static inline uint16_t rpmb_frame_ld16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

/** rpmb_frame_st16() - store @v big-endian at @p. */
static inline void rpmb_frame_st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/**
 * rpmb_frame_build() - write a whole frame: zero stuff and key_mac, copy
 * @data (256 bytes, or zeros when NULL) and the fields of @f.
 * @frame: RPMB_FRAME_LEN bytes, written entirely.
 *
 * The key or MAC is set separately (rpmb_frame_set_key_mac()).
 */
static inline void rpmb_frame_build(uint8_t frame[RPMB_FRAME_LEN],
                                    const struct rpmb_frame_fields *f,
                                    const uint8_t *data)
{
    uint32_t c = f->write_counter;

    memset(frame, 0, RPMB_FRAME_OFF_DATA);
    if (data != NULL) {
        memcpy(frame + RPMB_FRAME_OFF_DATA, data, RPMB_FRAME_DATA_LEN);
    } else {
        memset(frame + RPMB_FRAME_OFF_DATA, 0, RPMB_FRAME_DATA_LEN);
    }
    memcpy(frame + RPMB_FRAME_OFF_NONCE, f->nonce, RPMB_FRAME_NONCE_LEN);
    frame[RPMB_FRAME_OFF_COUNTER] = (uint8_t)(c >> 24);
    frame[RPMB_FRAME_OFF_COUNTER + 1] = (uint8_t)(c >> 16);
    frame[RPMB_FRAME_OFF_COUNTER + 2] = (uint8_t)(c >> 8);
    frame[RPMB_FRAME_OFF_COUNTER + 3] = (uint8_t)c;
    rpmb_frame_st16(frame + RPMB_FRAME_OFF_ADDRESS, f->address);
    rpmb_frame_st16(frame + RPMB_FRAME_OFF_BLOCK_COUNT, f->block_count);
    rpmb_frame_st16(frame + RPMB_FRAME_OFF_RESULT, f->result);
    rpmb_frame_st16(frame + RPMB_FRAME_OFF_REQ_RESP, f->req_resp);
}

/**
 * rpmb_frame_parse() - read the scalar fields of @frame into @f.
 * Never fails: every bit pattern is a frame; callers judge the values.
 */
static inline void rpmb_frame_parse(const uint8_t frame[RPMB_FRAME_LEN],
                                    struct rpmb_frame_fields *f)
{
    const uint8_t *c = frame + RPMB_FRAME_OFF_COUNTER;

    memcpy(f->nonce, frame + RPMB_FRAME_OFF_NONCE, RPMB_FRAME_NONCE_LEN);
    f->write_counter = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 |
                       (uint32_t)c[2] << 8 | c[3];
    f->address = rpmb_frame_ld16(frame + RPMB_FRAME_OFF_ADDRESS);
    f->block_count = rpmb_frame_ld16(frame + RPMB_FRAME_OFF_BLOCK_COUNT);
    f->result = rpmb_frame_ld16(frame + RPMB_FRAME_OFF_RESULT);
    f->req_resp = rpmb_frame_ld16(frame + RPMB_FRAME_OFF_REQ_RESP);
}

/** rpmb_frame_req_resp() - the req_resp field of @frame. */
static inline uint16_t rpmb_frame_req_resp(const uint8_t *frame)
{
    return rpmb_frame_ld16(frame + RPMB_FRAME_OFF_REQ_RESP);
}

/** rpmb_frame_block_count() - the block_count field of @frame. */
static inline uint16_t rpmb_frame_block_count(const uint8_t *frame)
{
    return rpmb_frame_ld16(frame + RPMB_FRAME_OFF_BLOCK_COUNT);
}

/** rpmb_frame_set_block_count() - overwrite block_count of @frame. */
static inline void rpmb_frame_set_block_count(uint8_t *frame, uint16_t n)
{
    rpmb_frame_st16(frame + RPMB_FRAME_OFF_BLOCK_COUNT, n);
}

/** rpmb_frame_set_key_mac() - copy 32 bytes of key or MAC into @frame. */
static inline void rpmb_frame_set_key_mac(uint8_t *frame,
                                          const uint8_t key_mac[32])
{
    memcpy(frame + RPMB_FRAME_OFF_KEY_MAC, key_mac, RPMB_FRAME_KEY_LEN);
}

/** rpmb_frame_key_mac() - pointer to the 32 key_mac bytes of @frame. */
static inline const uint8_t *rpmb_frame_key_mac(const uint8_t *frame)
{
    return frame + RPMB_FRAME_OFF_KEY_MAC;
}

/** rpmb_frame_data() - pointer to the 256 data bytes of @frame. */
static inline const uint8_t *rpmb_frame_data(const uint8_t *frame)
{
    return frame + RPMB_FRAME_OFF_DATA;
}

/**
 * rpmb_frame_mac_input() - the MAC input of @frame: a pointer to its
 * RPMB_FRAME_MAC_INPUT_SIZE bytes starting at the data field. Feed these
 * for every frame in order to HMAC-SHA256 to get the MAC of a frame group.
 */
static inline const uint8_t *rpmb_frame_mac_input(const uint8_t *frame)
{
    return frame + RPMB_FRAME_OFF_DATA;
}

/**
 * rpmb_frame_result_name() - the name of the result code in the low seven
 * bits of @result ("OK", "AUTH_FAILURE", ...; "UNKNOWN" otherwise). The
 * expired flag (bit 7) is not part of the name; test it separately.
 */
static inline const char *rpmb_frame_result_name(uint16_t result)
{
    switch (result & RPMB_FRAME_RES_CODE_MASK) {
    case RPMB_FRAME_RES_OK:
        return "OK";
    case RPMB_FRAME_RES_GENERAL_FAILURE:
        return "GENERAL_FAILURE";
    case RPMB_FRAME_RES_AUTH_FAILURE:
        return "AUTH_FAILURE";
    case RPMB_FRAME_RES_COUNT_FAILURE:
        return "COUNT_FAILURE";
    case RPMB_FRAME_RES_ADDR_FAILURE:
        return "ADDR_FAILURE";
    case RPMB_FRAME_RES_WRITE_FAILURE:
        return "WRITE_FAILURE";
    case RPMB_FRAME_RES_READ_FAILURE:
        return "READ_FAILURE";
    case RPMB_FRAME_RES_NO_AUTH_KEY:
        return "NO_AUTH_KEY";
    default:
        return "UNKNOWN";
    }
}

/**
 * rpmb_frame_result_ok() - true when @result reports success; the expired
 * flag alone is success (the operation happened; the counter is final).
 */
static inline bool rpmb_frame_result_ok(uint16_t result)
{
    return (result & RPMB_FRAME_RES_CODE_MASK) == RPMB_FRAME_RES_OK &&
           (result & ~(uint16_t)(RPMB_FRAME_RES_CODE_MASK |
                                 RPMB_FRAME_RES_EXPIRED_FLAG)) == 0;
}

#endif
