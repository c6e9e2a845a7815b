/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: hostile descriptor tables, avail rings and indirect
 * tables in fake guest memory, walked by vring_pop() and completed with
 * vring_push(). Any read or write outside the two fake regions is caught by
 * ASan (the regions are separate heap blocks with nothing in between that
 * we own).
 *
 * Input: 4 control bytes (queue size exponent, features, base index low and
 * high byte), then the contents of region 0 (guest-physical 0, 64 KiB):
 * avail ring at 0, descriptor table at 0x810, used ring at 0x5000 (so short
 * inputs already hold a ring and a few descriptors); region 1
 * (guest-physical 0x20000, 4 KiB) starts zeroed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/gmem.h"
#include "virtio/vring.h"

#define R0_SIZE 0x10000u
#define R1_GPA  0x20000u
#define R1_SIZE 0x1000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vring_elem elem;
    uint8_t *r0;
    uint8_t *r1;
    struct gmem gm;
    struct gmem_region r;
    struct vring vr;
    uint8_t scratch[8192];
    unsigned num;
    unsigned i;

    if (size < 4) {
        return 0;
    }
    r0 = calloc(1, R0_SIZE);
    r1 = calloc(1, R1_SIZE);
    if (r0 == NULL || r1 == NULL) {
        free(r0);
        free(r1);
        return 0;
    }
    memcpy(r0, data + 4, size - 4 < R0_SIZE ? size - 4 : R0_SIZE);
    gmem_init(&gm);
    r.gpa = 0;
    r.size = R0_SIZE;
    r.uva = 0x7f0000000000ull;
    r.host = r0;
    if (gmem_add(&gm, &r) != GMEM_OK) {
        abort();
    }
    r.gpa = R1_GPA;
    r.size = R1_SIZE;
    r.uva = 0x7f0000100000ull;
    r.host = r1;
    if (gmem_add(&gm, &r) != GMEM_OK) {
        abort();
    }
    /* Queue sizes 1..1024 keep all three parts inside region 0. */
    num = 1u << (data[0] % 11);
    vring_init(&vr);
    if (vring_set_num(&vr, num) != VRING_OK) {
        abort();
    }
    vring_set_addr(&vr, 0x7f0000000810ull, 0x7f0000000000ull,
                   0x7f0000005000ull);
    vring_set_base(&vr, (uint16_t)(data[2] | data[3] << 8));
    vring_set_features(&vr, (data[1] & 1) != 0, (data[1] & 2) != 0);
    for (i = 0; i < 2 * num + 2; i++) {
        int rc = vring_pop(&vr, &gm, &elem);
        size_t n;

        if (rc != VRING_OK) {
            break;
        }
        n = vring_elem_read(&elem, &gm, scratch, sizeof(scratch));
        n = vring_elem_write(&elem, &gm, scratch, n);
        if ((data[1] & 4) != 0 && i == 0) {
            /* Region 1 disappears while the chain is in flight. */
            (void)gmem_remove(&gm, R1_GPA, R1_SIZE, NULL);
        }
        if (vring_push(&vr, &gm, elem.head, (uint32_t)n) != VRING_OK) {
            break;
        }
        (void)vring_need_notify(&vr, &gm);
    }
    free(r0);
    free(r1);
    return 0;
}
