/* SPDX-License-Identifier: MIT */
/*
 * vhost-user wire format (qemu docs/interop/vhost-user.rst), shared by the
 * backend library and the in-project frontend. Constants and layouts only.
 * All integers are little-endian on the wire (the host's order on x86-64).
 */
#ifndef TV_VHOST_USER_PROTO_H
#define TV_VHOST_USER_PROTO_H

#include <stdint.h>

/* Front-end -> back-end requests */
enum vhost_user_request {
    VHOST_USER_NONE = 0,
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 2,
    VHOST_USER_SET_OWNER = 3,
    VHOST_USER_RESET_OWNER = 4,
    VHOST_USER_SET_MEM_TABLE = 5,
    VHOST_USER_SET_LOG_BASE = 6,
    VHOST_USER_SET_LOG_FD = 7,
    VHOST_USER_SET_VRING_NUM = 8,
    VHOST_USER_SET_VRING_ADDR = 9,
    VHOST_USER_SET_VRING_BASE = 10,
    VHOST_USER_GET_VRING_BASE = 11,
    VHOST_USER_SET_VRING_KICK = 12,
    VHOST_USER_SET_VRING_CALL = 13,
    VHOST_USER_SET_VRING_ERR = 14,
    VHOST_USER_GET_PROTOCOL_FEATURES = 15,
    VHOST_USER_SET_PROTOCOL_FEATURES = 16,
    VHOST_USER_GET_QUEUE_NUM = 17,
    VHOST_USER_SET_VRING_ENABLE = 18,
    VHOST_USER_SEND_RARP = 19,
    VHOST_USER_NET_SET_MTU = 20,
    VHOST_USER_SET_BACKEND_REQ_FD = 21,
    VHOST_USER_IOTLB_MSG = 22,
    VHOST_USER_SET_VRING_ENDIAN = 23,
    VHOST_USER_GET_CONFIG = 24,
    VHOST_USER_SET_CONFIG = 25,
    VHOST_USER_GET_INFLIGHT_FD = 31,
    VHOST_USER_SET_INFLIGHT_FD = 32,
    VHOST_USER_RESET_DEVICE = 34,
    VHOST_USER_VRING_KICK = 35,
    VHOST_USER_GET_MAX_MEM_SLOTS = 36,
    VHOST_USER_ADD_MEM_REG = 37,
    VHOST_USER_REM_MEM_REG = 38,
    VHOST_USER_SET_STATUS = 39,
    VHOST_USER_GET_STATUS = 40,
    VHOST_USER_SET_DEVICE_STATE_FD = 42,
    VHOST_USER_CHECK_DEVICE_STATE = 43,
};

/* Header flags */
#define VHOST_USER_VERSION         0x1u
#define VHOST_USER_VERSION_MASK    0x3u
#define VHOST_USER_REPLY_MASK      (1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (1u << 3)

/* Virtio feature bits relevant here */
#define VIRTIO_F_RING_INDIRECT_DESC    28
#define VIRTIO_F_RING_EVENT_IDX        29
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VIRTIO_F_VERSION_1             32

/* Protocol feature bits */
#define VHOST_USER_PROTOCOL_F_MQ                   0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD            1
#define VHOST_USER_PROTOCOL_F_REPLY_ACK            3
#define VHOST_USER_PROTOCOL_F_BACKEND_REQ          5
#define VHOST_USER_PROTOCOL_F_CONFIG               9
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD       12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE         13
#define VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS  15
#define VHOST_USER_PROTOCOL_F_STATUS               16

/* KICK/CALL/ERR payload: ring index in bits 0-7, bit 8 = no fd */
#define VHOST_USER_VRING_IDX_MASK  0xffu
#define VHOST_USER_VRING_NOFD_MASK (1u << 8)

#define VHOST_USER_MAX_FDS         8
#define VHOST_USER_MEM_REGIONS     8 /* SET_MEM_TABLE limit */
#define VHOST_USER_MAX_CONFIG_SIZE 256
#define VHOST_USER_HDR_SIZE        12
#define VHOST_USER_MAX_PAYLOAD     4096 /* bytes; larger messages are refused */

struct vhost_user_hdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size; /* payload bytes */
};

struct vhost_vring_state {
    uint32_t index;
    uint32_t num;
};

struct vhost_vring_addr {
    uint32_t index;
    uint32_t flags; /* bit 0: log used-ring writes */
    uint64_t desc_user_addr;
    uint64_t used_user_addr;
    uint64_t avail_user_addr;
    uint64_t log_guest_addr;
};

struct vhost_user_mem_region {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr; /* front-end virtual address */
    uint64_t mmap_offset;
};

struct vhost_user_memory {
    uint32_t nregions;
    uint32_t padding;
    struct vhost_user_mem_region regions[VHOST_USER_MEM_REGIONS];
};

struct vhost_user_mem_reg_msg { /* ADD_MEM_REG / REM_MEM_REG */
    uint64_t padding;
    struct vhost_user_mem_region region;
};

struct vhost_user_config {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
};
#define VHOST_USER_CONFIG_HDR_SIZE 12

/**
 * vhost_user_request_name() - a static name for a vhost-user request id
 * ("SET_VRING_KICK"), or "unknown" for ids this project does not know.
 * Shared by the backend library and the frontend.
 */
const char *vhost_user_request_name(uint32_t request);

#endif
