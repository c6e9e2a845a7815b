/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue layout (virtio 1.2, 2.7). Layout constants and structs
 * only; shared by the device-side ring walker and the in-project driver.
 * Fields are little-endian; this project runs on little-endian hosts only.
 */
#ifndef TV_VIRTIO_RING_H
#define TV_VIRTIO_RING_H

#include <stdint.h>

#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4

#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY     1

struct vring_desc {
    uint64_t addr; /* guest-physical */
    uint32_t len;  /* bytes */
    uint16_t flags;
    uint16_t next;
};

struct vring_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[]; /* then used_event (EVENT_IDX) */
};

struct vring_used_elem {
    uint32_t id;  /* head descriptor index */
    uint32_t len; /* bytes written */
};

struct vring_used {
    uint16_t flags;
    uint16_t idx;
    struct vring_used_elem ring[]; /* then avail_event (EVENT_IDX) */
};

/* Sizes in bytes of the three parts for a queue of @num entries. */
static inline uint64_t vring_desc_size(unsigned num)
{
    return 16ull * num;
}
static inline uint64_t vring_avail_size(unsigned num)
{
    return 6ull + 2ull * num;
}
static inline uint64_t vring_used_size(unsigned num)
{
    return 6ull + 8ull * num;
}

/* virtio 1.2 2.7.10: should the other side be notified? */
static inline int vring_need_event(uint16_t event_idx, uint16_t new_idx,
                                   uint16_t old_idx)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

#endif
