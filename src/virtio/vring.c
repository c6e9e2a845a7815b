/* SPDX-License-Identifier: MIT */
#define TV_VIRTIO_INTERNAL 1 /* gmem_gpa(), gmem_uva() */
#include "virtio/vring.h"

#include <string.h>

#include "common/bytes.h"

/*
 * Ring parts translated for one operation. They are looked up again on every
 * call instead of being cached, so a memory table change can never leave a
 * stale pointer behind.
 */
struct ring_ptrs {
    uint8_t *desc;  /* num descriptors */
    uint8_t *avail; /* flags, idx, ring[num], used_event */
    uint8_t *used;  /* flags, idx, ring[num], avail_event */
};

/* see vring.h */
void vring_init(struct vring *vr)
{
    memset(vr, 0, sizeof(*vr));
}

/* see vring.h */
int vring_set_num(struct vring *vr, uint32_t num)
{
    if (num == 0 || num > VRING_MAX_NUM || (num & (num - 1)) != 0) {
        return VRING_ERR_NUM;
    }
    /* 32768 is the largest size, and it fits a uint16_t. */
    vr->num = (uint16_t)num;
    return VRING_OK;
}

/* see vring.h */
void vring_set_addr(struct vring *vr, uint64_t desc_uva, uint64_t avail_uva,
                    uint64_t used_uva)
{
    vr->desc_uva = desc_uva;
    vr->avail_uva = avail_uva;
    vr->used_uva = used_uva;
    vr->addr_set = true;
}

/* see vring.h */
void vring_set_base(struct vring *vr, uint16_t base)
{
    vr->last_avail_idx = base;
    vr->used_idx = base;
    vr->signalled_used = 0;
    vr->signalled_used_valid = false;
    vr->broken = false;
    vr->error = VRING_OK;
}

/* see vring.h */
void vring_set_features(struct vring *vr, bool indirect, bool event_idx)
{
    vr->indirect = indirect;
    vr->event_idx = event_idx;
}

/* Make the queue broken with @err unless it already is; returns @err. */
static int vring_break(struct vring *vr, int err)
{
    if (!vr->broken) {
        vr->broken = true;
        vr->error = err;
    }
    return err;
}

/*
 * Translate the three ring parts. Alignment is part of the check because the
 * index fields are accessed atomically (virtio 1.2 2.7: 16, 2 and 4 bytes).
 */
static int ring_map(const struct vring *vr, const struct gmem *gm,
                    struct ring_ptrs *rp)
{
    if (vr->num == 0 || !vr->addr_set) {
        return VRING_ERR_NOT_READY;
    }
    rp->desc = gmem_uva(gm, vr->desc_uva, vring_desc_size(vr->num));
    rp->avail = gmem_uva(gm, vr->avail_uva, vring_avail_size(vr->num));
    rp->used = gmem_uva(gm, vr->used_uva, vring_used_size(vr->num));
    if (rp->desc == NULL || rp->avail == NULL || rp->used == NULL) {
        return VRING_ERR_RING_ADDR;
    }
    if (((uintptr_t)rp->desc & 15) != 0 || ((uintptr_t)rp->avail & 1) != 0 ||
        ((uintptr_t)rp->used & 3) != 0) {
        return VRING_ERR_RING_ADDR;
    }
    return VRING_OK;
}

/*
 * The avail index is read with acquire semantics: the ring entries and
 * descriptors the driver wrote before publishing the index must be visible
 * to our later reads (pairs with the driver's write barrier before it
 * updates avail->idx).
 */
static uint16_t avail_idx_acquire(const struct ring_ptrs *rp)
{
    return __atomic_load_n((const uint16_t *)(rp->avail + 2), __ATOMIC_ACQUIRE);
}

static uint16_t avail_ring_entry(const struct ring_ptrs *rp, unsigned i)
{
    return __atomic_load_n((const uint16_t *)(rp->avail + 4 + 2 * (size_t)i),
                           __ATOMIC_RELAXED);
}

/* Copy descriptor @i of @table out of guest memory, exactly once. */
static struct vring_desc desc_copy(const uint8_t *table, unsigned i)
{
    struct vring_desc d;
    const uint8_t *p = table + 16 * (size_t)i;

    memcpy(&d, p, sizeof(d));
    return d;
}

/* Walk the chain starting at @head into @elem. */
static int walk_chain(const struct vring *vr, const struct gmem *gm,
                      const uint8_t *ring_desc, uint16_t head,
                      struct vring_elem *elem)
{
    const uint8_t *table = ring_desc;
    unsigned table_n = vr->num;
    unsigned i = head;
    unsigned n_bufs = 0;
    bool in_indirect = false;
    bool seen_wr = false;

    elem->head = head;
    elem->n_rd = 0;
    elem->n_wr = 0;
    elem->rd_len = 0;
    elem->wr_len = 0;
    for (;;) {
        struct vring_desc d = desc_copy(table, i);
        uint8_t *host;

        if ((d.flags & VRING_DESC_F_INDIRECT) != 0) {
            if (!vr->indirect) {
                return VRING_ERR_INDIRECT_FEATURE;
            }
            if (in_indirect) {
                return VRING_ERR_INDIRECT_NESTED;
            }
            if ((d.flags & VRING_DESC_F_NEXT) != 0) {
                return VRING_ERR_INDIRECT_NEXT;
            }
            if (d.len == 0 || d.len % 16 != 0 || d.len / 16 > vr->num) {
                return VRING_ERR_INDIRECT_LEN;
            }
            host = gmem_gpa(gm, d.addr, d.len);
            if (host == NULL) {
                return VRING_ERR_INDIRECT_ADDR;
            }
            table = host;
            table_n = d.len / 16;
            i = 0;
            in_indirect = true;
            continue;
        }
        /* Counting every buffer descriptor bounds loops in either table. */
        if (++n_bufs > vr->num) {
            return VRING_ERR_CHAIN_LEN;
        }
        if ((d.flags & VRING_DESC_F_WRITE) != 0) {
            seen_wr = true;
        } else if (seen_wr) {
            return VRING_ERR_DIRECTION;
        }
        if (d.len > 0) {
            unsigned k = elem->n_rd + elem->n_wr;

            host = gmem_gpa(gm, d.addr, d.len);
            if (host == NULL) {
                return VRING_ERR_DESC_ADDR;
            }
            if (k >= VRING_ELEM_MAX_IOV) {
                return VRING_ERR_TOO_MANY_IOV;
            }
            elem->iov[k].gpa = d.addr;
            elem->iov[k].len = d.len;
            if (seen_wr) {
                elem->n_wr++;
                elem->wr_len += d.len;
            } else {
                elem->n_rd++;
                elem->rd_len += d.len;
            }
        }
        if ((d.flags & VRING_DESC_F_NEXT) == 0) {
            return VRING_OK;
        }
        if (d.next >= table_n) {
            return VRING_ERR_NEXT;
        }
        i = d.next;
    }
}

/* How many entries the driver has made available; > num means broken. */
static unsigned avail_pending(const struct vring *vr,
                              const struct ring_ptrs *rp)
{
    return (uint16_t)(avail_idx_acquire(rp) - vr->last_avail_idx);
}

/* see vring.h */
int vring_start(struct vring *vr, const struct gmem *gm)
{
    struct ring_ptrs rp;
    uint16_t used;
    uint16_t ahead;

    if (vr->broken) {
        return VRING_ERR_BROKEN;
    }
    if (ring_map(vr, gm, &rp) != VRING_OK) {
        return VRING_ERR_NOT_READY;
    }
    /* Read once: the guest may write it, so only this copy is used. */
    used = __atomic_load_n((const uint16_t *)(rp.used + 2), __ATOMIC_RELAXED);
    ahead = (uint16_t)(vr->last_avail_idx - used);
    if (ahead > vr->num) {
        return vring_break(vr, VRING_ERR_USED_IDX);
    }
    vr->used_idx = used;
    vr->last_avail_idx = used;
    vr->signalled_used_valid = false;
    return ahead;
}

/* see vring.h */
int vring_pop(struct vring *vr, const struct gmem *gm, struct vring_elem *elem)
{
    struct ring_ptrs rp;
    unsigned n;
    uint16_t head;
    int rc;

    if (vr->broken) {
        return VRING_ERR_BROKEN;
    }
    rc = ring_map(vr, gm, &rp);
    if (rc != VRING_OK) {
        return vring_break(vr, rc);
    }
    n = avail_pending(vr, &rp);
    if (n == 0 && vr->event_idx) {
        /*
         * Ask for a kick when entry last_avail_idx is published, then look
         * again: the avail_event store must be visible to the driver before
         * we re-read avail->idx, or a chain added in between would get no
         * kick (pairs with the driver's full barrier between publishing
         * avail->idx and reading avail_event).
         */
        __atomic_store_n((uint16_t *)(rp.used + 4 + 8 * (size_t)vr->num),
                         vr->last_avail_idx, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        n = avail_pending(vr, &rp);
    }
    if (n == 0) {
        return VRING_EMPTY;
    }
    if (n > vr->num) {
        return vring_break(vr, VRING_ERR_AVAIL_IDX);
    }
    head = avail_ring_entry(&rp, vr->last_avail_idx & (vr->num - 1u));
    if (head >= vr->num) {
        return vring_break(vr, VRING_ERR_HEAD);
    }
    rc = walk_chain(vr, gm, rp.desc, head, elem);
    if (rc != VRING_OK) {
        return vring_break(vr, rc);
    }
    vr->last_avail_idx++;
    return VRING_OK;
}

/* see vring.h */
void vring_unpop(struct vring *vr)
{
    vr->last_avail_idx--;
}

/* see vring.h */
int vring_push(struct vring *vr, const struct gmem *gm, uint16_t head,
               uint32_t len)
{
    struct ring_ptrs rp;
    uint8_t *e;
    int rc;

    if (vr->broken) {
        return VRING_ERR_BROKEN;
    }
    rc = ring_map(vr, gm, &rp);
    if (rc != VRING_OK) {
        return vring_break(vr, rc);
    }
    e = rp.used + 4 + 8 * (size_t)(vr->used_idx & (vr->num - 1u));
    store_le32(e, head);
    store_le32(e + 4, len);
    vr->used_idx++;
    /*
     * Release: the used element above must be visible to the driver before
     * the index that hands it over (pairs with the driver's read barrier
     * after it reads used->idx).
     */
    __atomic_store_n((uint16_t *)(rp.used + 2), vr->used_idx, __ATOMIC_RELEASE);
    return VRING_OK;
}

/* see vring.h */
bool vring_need_notify(struct vring *vr, const struct gmem *gm)
{
    struct ring_ptrs rp;
    uint16_t old_idx;
    uint16_t used_event;
    bool valid;

    if (vr->broken || ring_map(vr, gm, &rp) != VRING_OK) {
        return false;
    }
    /*
     * Full barrier: our used->idx store must be visible before we read the
     * driver's suppression state, or we could read a stale used_event while
     * the driver reads our stale used->idx, and both would sleep.
     */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vr->event_idx) {
        uint16_t flags =
            __atomic_load_n((const uint16_t *)rp.avail, __ATOMIC_RELAXED);

        return (flags & VRING_AVAIL_F_NO_INTERRUPT) == 0;
    }
    old_idx = vr->signalled_used;
    valid = vr->signalled_used_valid;
    vr->signalled_used = vr->used_idx;
    vr->signalled_used_valid = true;
    if (!valid) {
        return true;
    }
    used_event =
        __atomic_load_n((const uint16_t *)(rp.avail + 4 + 2 * (size_t)vr->num),
                        __ATOMIC_RELAXED);
    return vring_need_event(used_event, vr->used_idx, old_idx) != 0;
}

/* see vring.h */
size_t vring_elem_read(const struct vring_elem *elem, const struct gmem *gm,
                       uint8_t *dst, size_t cap)
{
    size_t done = 0;
    unsigned i;

    for (i = 0; i < elem->n_rd && done < cap; i++) {
        size_t n = elem->iov[i].len;
        const uint8_t *src;

        if (n > cap - done) {
            n = cap - done;
        }
        src = gmem_gpa(gm, elem->iov[i].gpa, n);
        if (src == NULL) {
            break;
        }
        memcpy(dst + done, src, n);
        done += n;
    }
    return done;
}

/* see vring.h */
size_t vring_elem_write(const struct vring_elem *elem, const struct gmem *gm,
                        const uint8_t *src, size_t len)
{
    size_t done = 0;
    unsigned i;

    for (i = elem->n_rd; i < elem->n_rd + elem->n_wr && done < len; i++) {
        size_t n = elem->iov[i].len;
        uint8_t *dst;

        if (n > len - done) {
            n = len - done;
        }
        dst = gmem_gpa(gm, elem->iov[i].gpa, n);
        if (dst == NULL) {
            break;
        }
        memcpy(dst, src + done, n);
        done += n;
    }
    return done;
}

/* see vring.h */
const char *vring_strerror(int status)
{
    switch (status) {
    case VRING_OK:
        return "success";
    case VRING_EMPTY:
        return "no chain available";
    case VRING_ERR_BROKEN:
        return "queue is broken";
    case VRING_ERR_NOT_READY:
        return "queue size or addresses not set";
    case VRING_ERR_RING_ADDR:
        return "ring not inside guest memory or misaligned";
    case VRING_ERR_AVAIL_IDX:
        return "avail index ran ahead by more than the queue size";
    case VRING_ERR_HEAD:
        return "head descriptor index out of range";
    case VRING_ERR_NEXT:
        return "next descriptor index out of range";
    case VRING_ERR_DESC_ADDR:
        return "buffer outside guest memory";
    case VRING_ERR_CHAIN_LEN:
        return "chain longer than the queue size (loop?)";
    case VRING_ERR_DIRECTION:
        return "device-readable buffer after a device-writable one";
    case VRING_ERR_INDIRECT_FEATURE:
        return "indirect descriptor without the negotiated feature";
    case VRING_ERR_INDIRECT_NESTED:
        return "indirect descriptor inside an indirect table";
    case VRING_ERR_INDIRECT_NEXT:
        return "indirect descriptor with the NEXT flag";
    case VRING_ERR_INDIRECT_LEN:
        return "bad indirect table length";
    case VRING_ERR_INDIRECT_ADDR:
        return "indirect table outside guest memory";
    case VRING_ERR_TOO_MANY_IOV:
        return "too many buffers in one chain";
    case VRING_ERR_NUM:
        return "queue size not a power of two up to 32768";
    case VRING_ERR_USED_IDX:
        return "used index more than a queue size from the ring base";
    default:
        return "unknown ring error";
    }
}
