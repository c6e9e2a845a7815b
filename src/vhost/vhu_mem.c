/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end library, memory table: the regions a front-end
 * shares, checked, sealed against shrinking, mapped and entered into the
 * guest memory map; and unmapped again. See vhu.h.
 */
#include "vhost/vhu_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "common/log.h"

/* see vhu_priv.h */
void vhu_mem_unmap(struct vhu_dev *dev, const uint8_t *host)
{
    unsigned i;

    for (i = 0; i < GMEM_MAX_REGIONS; i++) {
        struct vhu_map *m = &dev->map[i];

        if (m->base != NULL && host >= m->base && host < m->base + m->len) {
            munmap(m->base, m->len);
            m->base = NULL;
            m->len = 0;
            return;
        }
    }
}

/* see vhu_priv.h */
void vhu_mem_clear(struct vhu_dev *dev)
{
    unsigned i;

    for (i = 0; i < GMEM_MAX_REGIONS; i++) {
        if (dev->map[i].base != NULL) {
            munmap(dev->map[i].base, dev->map[i].len);
            dev->map[i].base = NULL;
            dev->map[i].len = 0;
        }
    }
    gmem_init(&dev->gm);
}

/*
 * Guest memory must not shrink under us: touching a mapping past the end of
 * its file raises SIGBUS, which no check on our side can prevent once the
 * front-end truncates the file. So a region is accepted only if its file is
 * sealed against shrinking (F_SEAL_SHRINK). A memfd that allows sealing but
 * is not sealed yet gets the seal from us (the front-end has no business
 * shrinking guest memory; QEMU seals its memfds itself, seal=on being the
 * default). Files that cannot carry seals (a plain or hugetlbfs file, a
 * memfd created without MFD_ALLOW_SEALING) are refused: QEMU's
 * memory-backend-memfd (hugetlb=on for huge pages) always can. Return: 0 or
 * -EPERM.
 */
static int mem_require_seal(int fd)
{
    int seals = fcntl(fd, F_GET_SEALS);

    if (seals >= 0 && (seals & F_SEAL_SHRINK) != 0) {
        return 0;
    }
    if (seals >= 0 && (seals & F_SEAL_SEAL) == 0 &&
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0) {
        return 0;
    }
    tv_warn("memory region refused: its file is not sealed against "
            "shrinking and cannot be (%s); use a memfd with sealing "
            "(QEMU: memory-backend-memfd, seal=on)",
            seals < 0 ? "no seals on this kind of file"
                      : "sealing was closed without F_SEAL_SHRINK");
    return -EPERM;
}

/*
 * Map one region from @fd (which is always closed). mmap_offset need not be
 * page aligned, so the mapping starts at the page that holds it.
 */
int vhu_mem_add_region(struct vhu_dev *dev,
                       const struct vhost_user_mem_region *mr, int fd)
{
    struct gmem_region r;
    struct vhu_map *slot = NULL;
    struct stat st;
    uint64_t len;
    uint64_t skip;
    void *base;
    unsigned i;
    int rc;

    if (mr->memory_size == 0 ||
        mr->mmap_offset + mr->memory_size < mr->mmap_offset ||
        mr->mmap_offset + mr->memory_size > (uint64_t)INT64_MAX) {
        tv_warn("memory region: bad size 0x%llx or offset 0x%llx",
                (unsigned long long)mr->memory_size,
                (unsigned long long)mr->mmap_offset);
        close(fd);
        return -EINVAL;
    }
    for (i = 0; i < GMEM_MAX_REGIONS; i++) {
        if (dev->map[i].base == NULL) {
            slot = &dev->map[i];
            break;
        }
    }
    if (slot == NULL || dev->gm.n_regions >= GMEM_MAX_REGIONS) {
        tv_warn("memory region: all %d slots in use", GMEM_MAX_REGIONS);
        close(fd);
        return -ENOSPC;
    }
    len = mr->mmap_offset + mr->memory_size;
    /*
     * Touching a mapping beyond the end of its file raises SIGBUS, so the
     * file must cover the whole region now, and be sealed so that it keeps
     * doing so.
     */
    rc = mem_require_seal(fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    if (fstat(fd, &st) < 0 ||
        (S_ISREG(st.st_mode) && (uint64_t)st.st_size < len)) {
        tv_warn("memory region: fd covers %lld bytes, region needs 0x%llx",
                (long long)st.st_size, (unsigned long long)len);
        close(fd);
        return -EINVAL;
    }
    /* Map from the page holding mmap_offset, not from the file start. */
    skip = mr->mmap_offset % (uint64_t)sysconf(_SC_PAGESIZE);
    len = mr->memory_size + skip;
    base = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                (off_t)(mr->mmap_offset - skip));
    close(fd);
    if (base == MAP_FAILED) {
        rc = -errno;
        tv_warn("memory region: mmap of 0x%llx bytes failed: %s",
                (unsigned long long)len, strerror(errno));
        return rc;
    }
    r.gpa = mr->guest_phys_addr;
    r.size = mr->memory_size;
    r.uva = mr->userspace_addr;
    r.host = (uint8_t *)base + skip;
    rc = gmem_add(&dev->gm, &r);
    if (rc != GMEM_OK) {
        tv_warn("memory region at 0x%llx refused: %s",
                (unsigned long long)r.gpa, gmem_strerror(rc));
        munmap(base, (size_t)len);
        return -EINVAL;
    }
    slot->base = base;
    slot->len = (size_t)len;
    return 0;
}
