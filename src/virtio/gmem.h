/* SPDX-License-Identifier: MIT */
/*
 * Guest memory map: the regions a front-end shared with us, each known by
 * its guest-physical address, its front-end virtual address and the host
 * address where we mapped it. Pure bookkeeping: mapping and unmapping the
 * backing fds is the caller's business (src/vhost), so this file never does
 * I/O and never allocates; struct gmem is caller-allocated and memcpy-able.
 *
 * Translation policy: a buffer must lie entirely inside ONE region. A buffer
 * straddling two regions that happen to be adjacent is refused like any
 * other out-of-range buffer (QEMU's pc layout puts a hole at 0xa0000, real
 * drivers never build such buffers, and one contiguous host pointer per
 * buffer keeps every copy a single bounded memcpy).
 *
 * Concurrency: one thread at a time; the guest may write the mapped memory
 * concurrently, which is why callers copy before they validate.
 */
#ifndef TV_VIRTIO_GMEM_H
#define TV_VIRTIO_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/caps.h"

#define GMEM_MAX_REGIONS VHOST_MAX_REGIONS

/**
 * struct gmem_region - one shared memory region.
 * @gpa:  guest-physical address of the first byte
 * @size: length in bytes (> 0)
 * @uva:  front-end virtual address of the first byte
 * @host: our address of the first byte (mapping owned by the caller)
 */
struct gmem_region {
    uint64_t gpa;
    uint64_t size;
    uint64_t uva;
    uint8_t *host;
};

/** struct gmem - the current region set. */
struct gmem {
    struct gmem_region region[GMEM_MAX_REGIONS]; /* first @n_regions used */
    unsigned n_regions;                          /* regions in use */
};

enum gmem_status {
    GMEM_OK = 0,
    GMEM_ERR_FULL = -1,    /* GMEM_MAX_REGIONS regions already present */
    GMEM_ERR_RANGE = -2,   /* zero size, or start + size wraps */
    GMEM_ERR_OVERLAP = -3, /* guest-physical range overlaps a region */
    GMEM_ERR_NOENT = -4,   /* no such region */
};

/** gmem_init() - empty @gm. */
void gmem_init(struct gmem *gm);

/**
 * gmem_add() - add a region.
 * @gm:   the map
 * @r:    the region; copied
 * Return: GMEM_OK, or a negative enum gmem_status (then @gm is unchanged).
 */
int gmem_add(struct gmem *gm, const struct gmem_region *r)
    __attribute__((warn_unused_result));

/**
 * gmem_remove() - remove the region with guest address @gpa and @size.
 * @out: receives the removed region (so the caller can unmap it); may be NULL
 * Return: GMEM_OK or GMEM_ERR_NOENT.
 */
int gmem_remove(struct gmem *gm, uint64_t gpa, uint64_t size,
                struct gmem_region *out) __attribute__((warn_unused_result));

#ifdef TV_VIRTIO_INTERNAL
/*
 * Raw translation, for src/virtio itself (and its unit tests) only: no
 * pointer into guest memory leaves the library. Device code copies through
 * vring_elem_read() / vring_elem_write() instead.
 */

/**
 * gmem_gpa() - host pointer for @len bytes at guest-physical @gpa.
 * Return: the pointer, or NULL unless [gpa, gpa + len) lies inside one
 * region (overflow-safe; @len 0 is treated as 1 so the address itself must be
 * mapped).
 */
uint8_t *gmem_gpa(const struct gmem *gm, uint64_t gpa, uint64_t len);

/**
 * gmem_uva() - host pointer for @len bytes at front-end virtual @uva; same
 * rules as gmem_gpa(). Used for vring addresses (SET_VRING_ADDR).
 */
uint8_t *gmem_uva(const struct gmem *gm, uint64_t uva, uint64_t len);
#endif /* TV_VIRTIO_INTERNAL */

/** gmem_strerror() - static description of an enum gmem_status. */
const char *gmem_strerror(int status);

#endif
