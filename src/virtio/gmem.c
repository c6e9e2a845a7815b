/* SPDX-License-Identifier: MIT */
#define TV_VIRTIO_INTERNAL 1 /* gmem_gpa(), gmem_uva() */
#include "virtio/gmem.h"

#include <string.h>

/* see gmem.h */
void gmem_init(struct gmem *gm)
{
    memset(gm, 0, sizeof(*gm));
}

/* [a, a + alen) and [b, b + blen) intersect; both known not to wrap. */
static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* see gmem.h */
int gmem_add(struct gmem *gm, const struct gmem_region *r)
{
    unsigned i;

    if (gm->n_regions >= GMEM_MAX_REGIONS) {
        return GMEM_ERR_FULL;
    }
    /* Ends are computed as start + size elsewhere: refuse wrapping ones. */
    if (r->size == 0 || r->gpa + r->size < r->gpa ||
        r->uva + r->size < r->uva) {
        return GMEM_ERR_RANGE;
    }
    for (i = 0; i < gm->n_regions; i++) {
        const struct gmem_region *o = &gm->region[i];

        if (ranges_overlap(r->gpa, r->size, o->gpa, o->size)) {
            return GMEM_ERR_OVERLAP;
        }
    }
    gm->region[gm->n_regions++] = *r;
    return GMEM_OK;
}

/* see gmem.h */
int gmem_remove(struct gmem *gm, uint64_t gpa, uint64_t size,
                struct gmem_region *out)
{
    unsigned i;

    for (i = 0; i < gm->n_regions; i++) {
        if (gm->region[i].gpa == gpa && gm->region[i].size == size) {
            if (out != NULL) {
                *out = gm->region[i];
            }
            /* Order does not matter: close the gap with the last entry. */
            gm->region[i] = gm->region[gm->n_regions - 1];
            memset(&gm->region[gm->n_regions - 1], 0, sizeof(gm->region[0]));
            gm->n_regions--;
            return GMEM_OK;
        }
    }
    return GMEM_ERR_NOENT;
}

/*
 * Offset of [addr, addr + len) inside [start, start + size), or false.
 * Written so that no sum can wrap: addr - start is only formed once
 * addr >= start, and len is compared against the room left.
 */
static bool range_inside(uint64_t start, uint64_t size, uint64_t addr,
                         uint64_t len, uint64_t *off)
{
    if (len == 0) {
        len = 1;
    }
    if (addr < start || addr - start >= size) {
        return false;
    }
    if (len > size - (addr - start)) {
        return false;
    }
    *off = addr - start;
    return true;
}

/* see gmem.h */
uint8_t *gmem_gpa(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
    unsigned i;
    uint64_t off;

    for (i = 0; i < gm->n_regions; i++) {
        const struct gmem_region *r = &gm->region[i];

        if (range_inside(r->gpa, r->size, gpa, len, &off)) {
            return r->host + off;
        }
    }
    return NULL;
}

/* see gmem.h */
uint8_t *gmem_uva(const struct gmem *gm, uint64_t uva, uint64_t len)
{
    unsigned i;
    uint64_t off;

    for (i = 0; i < gm->n_regions; i++) {
        const struct gmem_region *r = &gm->region[i];

        if (range_inside(r->uva, r->size, uva, len, &off)) {
            return r->host + off;
        }
    }
    return NULL;
}

/* see gmem.h */
const char *gmem_strerror(int status)
{
    switch (status) {
    case GMEM_OK:
        return "success";
    case GMEM_ERR_FULL:
        return "too many memory regions";
    case GMEM_ERR_RANGE:
        return "empty or wrapping memory region";
    case GMEM_ERR_OVERLAP:
        return "memory region overlaps an existing one";
    case GMEM_ERR_NOENT:
        return "no such memory region";
    default:
        return "unknown guest memory error";
    }
}
