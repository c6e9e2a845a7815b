/* SPDX-License-Identifier: MIT */
/*
 * Virtio RPMB (device ID 28) wire constants: config space, frame layout,
 * request/response types and result codes. Constants only; see
 * virtio-spec device-types/rpmb/description.tex and JESD84-B51 §6.6.22.
 *
 * Frame (512 bytes, big-endian scalars):
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
 */
#ifndef TV_RPMB_VIRTIO_RPMB_H
#define TV_RPMB_VIRTIO_RPMB_H

#define VIRTIO_ID_RPMB 28

/* Config space (read-only, 3 bytes) */
#define VIRTIO_RPMB_CFG_CAPACITY   0 /* u8, 128 KiB units, 1..0x80 */
#define VIRTIO_RPMB_CFG_MAX_WR_CNT 1 /* u8, blocks per write, 0 = no limit */
#define VIRTIO_RPMB_CFG_MAX_RD_CNT 2 /* u8, blocks per read, 0 = no limit */
#define VIRTIO_RPMB_CFG_SIZE       3

/* Frame layout */
#define VIRTIO_RPMB_FRAME_SIZE        512
#define VIRTIO_RPMB_OFF_KEY_MAC       196
#define VIRTIO_RPMB_OFF_DATA          228
#define VIRTIO_RPMB_OFF_NONCE         484
#define VIRTIO_RPMB_OFF_WRITE_COUNTER 500
#define VIRTIO_RPMB_OFF_ADDRESS       504
#define VIRTIO_RPMB_OFF_BLOCK_COUNT   506
#define VIRTIO_RPMB_OFF_RESULT        508
#define VIRTIO_RPMB_OFF_REQ_RESP      510
#define VIRTIO_RPMB_KEY_MAC_SIZE      32
#define VIRTIO_RPMB_DATA_SIZE         256
#define VIRTIO_RPMB_NONCE_SIZE        16
/* MAC input per frame: bytes 228..511 (data .. req_resp) */
#define VIRTIO_RPMB_MAC_INPUT_SIZE (512 - 228)

/* Half sectors (256-byte blocks) per 128 KiB capacity unit */
#define VIRTIO_RPMB_BLOCKS_PER_UNIT 512
#define VIRTIO_RPMB_MAX_UNITS       0x80

/* Request types */
#define VIRTIO_RPMB_REQ_PROGRAM_KEY       0x0001
#define VIRTIO_RPMB_REQ_GET_WRITE_COUNTER 0x0002
#define VIRTIO_RPMB_REQ_DATA_WRITE        0x0003
#define VIRTIO_RPMB_REQ_DATA_READ         0x0004
#define VIRTIO_RPMB_REQ_RESULT_READ       0x0005

/* Response types: the request type in the high byte */
#define VIRTIO_RPMB_RESP_PROGRAM_KEY       0x0100
#define VIRTIO_RPMB_RESP_GET_WRITE_COUNTER 0x0200
#define VIRTIO_RPMB_RESP_DATA_WRITE        0x0300
#define VIRTIO_RPMB_RESP_DATA_READ         0x0400

/* Result codes; 0x0080 is the JEDEC write-counter-expired flag (docs/rpmb.md)
 */
#define VIRTIO_RPMB_RES_OK                    0x0000
#define VIRTIO_RPMB_RES_GENERAL_FAILURE       0x0001
#define VIRTIO_RPMB_RES_AUTH_FAILURE          0x0002
#define VIRTIO_RPMB_RES_COUNT_FAILURE         0x0003
#define VIRTIO_RPMB_RES_ADDR_FAILURE          0x0004
#define VIRTIO_RPMB_RES_WRITE_FAILURE         0x0005
#define VIRTIO_RPMB_RES_READ_FAILURE          0x0006
#define VIRTIO_RPMB_RES_NO_AUTH_KEY           0x0007
#define VIRTIO_RPMB_RES_WRITE_COUNTER_EXPIRED 0x0080

/* The counter stops here; writes are refused from then on */
#define VIRTIO_RPMB_COUNTER_MAX 0xFFFFFFFFu

#endif
