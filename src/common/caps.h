/* SPDX-License-Identifier: MIT */
/*
 * Every buffer cap in one place. Values come from the kernel uapi
 * (include/uapi/linux/nsm.h) and the virtio RPMB frame layout.
 */
#ifndef TV_COMMON_CAPS_H
#define TV_COMMON_CAPS_H

#define NSM_REQUEST_MAX_SIZE  0x1000 /* NSM request, bytes */
#define NSM_RESPONSE_MAX_SIZE 0x3000 /* NSM response, bytes */
#define NSM_PCR_COUNT         32     /* PCRs in the bank */
#define NSM_PCR_SIZE          48     /* SHA-384 digest, bytes */
#define NSM_RANDOM_SIZE       256    /* bytes per GetRandom */

#define RPMB_FRAME_SIZE 512          /* one virtio RPMB frame, bytes */
#define RPMB_BLOCK_SIZE 256          /* data bytes per frame */
#define RPMB_KEY_SIZE   32           /* HMAC-SHA256 key, bytes */
#define RPMB_MAC_SIZE   32           /* HMAC-SHA256 output, bytes */
#define RPMB_NONCE_SIZE 16           /* bytes */
#define RPMB_UNIT_SIZE  (128 * 1024) /* capacity unit, bytes */
#define RPMB_MAX_UNITS  0x80         /* 16 MiB */
#define RPMB_MAX_FRAMES 256          /* frames per request or response */

#define VHOST_MAX_REGIONS    32    /* memory regions (mem slots) */
#define VHOST_MAX_QUEUE_SIZE 32768 /* descriptors per split ring */

/* SPDM engine (src/spdm). No chunking: every message fits one transfer. */
#define SPDM_MSG_MAX         4096 /* one plain SPDM message, bytes */
#define SPDM_RECORD_MAX      (SPDM_MSG_MAX + 32) /* secured record, bytes */
#define SPDM_CERT_CHAIN_MAX  8192 /* SPDM cert-chain structure, bytes */
#define SPDM_VCA_MAX         1024 /* message A transcript, bytes */
#define SPDM_M1_MAX          (SPDM_CERT_CHAIN_MAX + 2048) /* B || C, bytes */
#define SPDM_L1_MAX          4096 /* measurement transcript, bytes */
#define SPDM_TH_MAX          1536 /* KEY_EXCHANGE..FINISH_RSP, bytes */
#define SPDM_REQ_SAVE_MAX    512  /* a request kept for its transcript, bytes */
#define SPDM_SESSIONS_MAX    4    /* concurrent secured sessions */
#define SPDM_MEAS_BLOCKS_MAX 16   /* measurement blocks */
#define SPDM_MEAS_VALUE_MAX  128  /* bytes per measurement value */
#define SPDM_VENDOR_PAYLOAD_MAX                                                \
    (SPDM_MSG_MAX - 512) /* VENDOR_DEFINED, bytes                              \
                          */

#endif
