/* SPDX-License-Identifier: MIT */
/*
 * Ring walker tests over fake guest memory: a chain builder writes
 * descriptor tables and avail entries the way a (possibly hostile) driver
 * would, and every rule of vring.h is checked for success and failure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TV_VIRTIO_INTERNAL 1 /* gmem_gpa(), gmem_uva() under test */
#include "harness.h"
#include "common/bytes.h"
#include "virtio/gmem.h"
#include "virtio/vring.h"

#define MEM_SIZE  (256 * 1024)
#define GPA_BASE  0x100000ull       /* guest-physical start of the region */
#define UVA_BASE  0x7f1200000000ull /* front-end virtual start */
#define OFF_DESC  0x0000u           /* ring parts, offsets into the region */
#define OFF_AVAIL 0x8000u
#define OFF_USED  0x10000u
#define OFF_INDIR 0x20000u /* indirect tables */
#define OFF_BUF   0x28000u /* data buffers */

/* The fake guest: one region, one ring. */
struct fake {
    uint8_t *mem; /* region contents (MEM_SIZE bytes) */
    struct gmem gm;
    struct vring vr;
    unsigned num;
    uint16_t avail_idx; /* driver's next avail index */
    struct vring_elem elem;
};

static struct fake *fake_new(unsigned num, bool indirect, bool event_idx)
{
    struct fake *f = calloc(1, sizeof(*f));
    struct gmem_region r;

    assert_non_null(f);
    f->mem = aligned_alloc(4096, MEM_SIZE);
    assert_non_null(f->mem);
    memset(f->mem, 0, MEM_SIZE);
    gmem_init(&f->gm);
    r.gpa = GPA_BASE;
    r.size = MEM_SIZE;
    r.uva = UVA_BASE;
    r.host = f->mem;
    assert_int_equal(gmem_add(&f->gm, &r), GMEM_OK);
    vring_init(&f->vr);
    assert_int_equal(vring_set_num(&f->vr, num), VRING_OK);
    vring_set_addr(&f->vr, UVA_BASE + OFF_DESC, UVA_BASE + OFF_AVAIL,
                   UVA_BASE + OFF_USED);
    vring_set_base(&f->vr, 0);
    vring_set_features(&f->vr, indirect, event_idx);
    f->num = num;
    return f;
}

static void fake_free(struct fake *f)
{
    free(f->mem);
    free(f);
}

/* Write descriptor @i of the table at region offset @table_off. */
static void put_desc(struct fake *f, uint32_t table_off, unsigned i,
                     uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = f->mem + table_off + 16 * i;

    store_le64(d, gpa);
    store_le32(d + 8, len);
    store_le16(d + 12, flags);
    store_le16(d + 14, next);
}

/* Make descriptor @head available. */
static void publish(struct fake *f, uint16_t head)
{
    store_le16(f->mem + OFF_AVAIL + 4 + 2 * (f->avail_idx % f->num), head);
    f->avail_idx++;
    store_le16(f->mem + OFF_AVAIL + 2, f->avail_idx);
}

/* Guest address of data buffer @k (4 KiB each). */
static uint64_t buf_gpa(unsigned k)
{
    return GPA_BASE + OFF_BUF + 4096ull * k;
}

static uint16_t used_idx(const struct fake *f)
{
    return load_le16(f->mem + OFF_USED + 2);
}

static void used_elem(const struct fake *f, unsigned i, uint32_t *id,
                      uint32_t *len)
{
    const uint8_t *e = f->mem + OFF_USED + 4 + 8 * (i % f->num);

    *id = load_le32(e);
    *len = load_le32(e + 4);
}

/* Pop expecting error @err, then check the queue stays broken. */
static void expect_broken(struct fake *f, int err)
{
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), err);
    assert_true(f->vr.broken);
    assert_int_equal(f->vr.error, err);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_ERR_BROKEN);
    assert_int_equal(vring_push(&f->vr, &f->gm, 0, 0), VRING_ERR_BROKEN);
    assert_false(vring_need_notify(&f->vr, &f->gm));
}

/* ---- success cases ---- */

static void direct_chain(void **state)
{
    struct fake *f = fake_new(8, false, false);
    uint32_t id, len;

    (void)state;
    memcpy(f->mem + OFF_BUF, "hello", 5);
    put_desc(f, OFF_DESC, 3, buf_gpa(0), 5, VRING_DESC_F_NEXT, 5);
    put_desc(f, OFF_DESC, 5, buf_gpa(1), 100, VRING_DESC_F_WRITE, 0);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_EMPTY);
    publish(f, 3);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(f->elem.head, 3);
    assert_int_equal(f->elem.n_rd, 1);
    assert_int_equal(f->elem.n_wr, 1);
    assert_int_equal(f->elem.rd_len, 5);
    assert_int_equal(f->elem.wr_len, 100);
    assert_int_equal(f->elem.iov[0].gpa, buf_gpa(0));
    assert_int_equal(f->elem.iov[1].gpa, buf_gpa(1));
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_EMPTY);
    assert_int_equal(vring_push(&f->vr, &f->gm, 3, 42), VRING_OK);
    assert_int_equal(used_idx(f), 1);
    used_elem(f, 0, &id, &len);
    assert_int_equal(id, 3);
    assert_int_equal(len, 42);
    assert_true(vring_need_notify(&f->vr, &f->gm));
    fake_free(f);
}

/*
 * Ring start after SET_VRING_BASE: the used index comes from the ring, and
 * chains made available but never completed are served again.
 */
static void start_reads_used_idx(void **state)
{
    struct fake *f = fake_new(8, false, false);
    uint32_t id, len;

    (void)state;
    for (uint16_t i = 0; i < 7; i++) {
        put_desc(f, OFF_DESC, i, buf_gpa(i), 16, VRING_DESC_F_WRITE, 0);
        publish(f, i);
    }
    /* A backend completed 5 chains, popped 7, and went away. */
    store_le16(f->mem + OFF_USED + 2, 5);
    vring_set_base(&f->vr, 7);
    assert_int_equal(vring_start(&f->vr, &f->gm), 2);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(f->elem.head, 5);
    assert_int_equal(vring_push(&f->vr, &f->gm, f->elem.head, 3), VRING_OK);
    assert_int_equal(used_idx(f), 6);
    used_elem(f, 5, &id, &len);
    assert_int_equal(id, 5);
    assert_int_equal(len, 3);
    /* Consistent: nothing rewound. */
    store_le16(f->mem + OFF_USED + 2, 7);
    vring_set_base(&f->vr, 7);
    assert_int_equal(vring_start(&f->vr, &f->gm), 0);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_EMPTY);
    /* used->idx ahead of the base, or far behind: broken. */
    store_le16(f->mem + OFF_USED + 2, 9);
    vring_set_base(&f->vr, 7);
    assert_int_equal(vring_start(&f->vr, &f->gm), VRING_ERR_USED_IDX);
    assert_true(f->vr.broken);
    assert_int_equal(f->vr.error, VRING_ERR_USED_IDX);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_ERR_BROKEN);
    store_le16(f->mem + OFF_USED + 2, 0xfff0);
    vring_set_base(&f->vr, 7);
    assert_int_equal(vring_start(&f->vr, &f->gm), VRING_ERR_USED_IDX);
    /* Not mapped yet: not an error of the guest's. */
    vring_init(&f->vr);
    assert_int_equal(vring_start(&f->vr, &f->gm), VRING_ERR_NOT_READY);
    assert_false(f->vr.broken);
    fake_free(f);
}

/* A region removed after the pop: the copy stops there, nothing touched. */
static void copy_after_region_removed(void **state)
{
    struct fake *f = fake_new(8, false, false);
    uint8_t out[16];

    (void)state;
    memcpy(f->mem + OFF_BUF, "abcd", 4);
    put_desc(f, OFF_DESC, 0, buf_gpa(0), 4, VRING_DESC_F_NEXT, 1);
    put_desc(f, OFF_DESC, 1, buf_gpa(1), 4, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(gmem_remove(&f->gm, GPA_BASE, MEM_SIZE, NULL), GMEM_OK);
    assert_int_equal(vring_elem_read(&f->elem, &f->gm, out, sizeof(out)), 0);
    assert_int_equal(vring_elem_write(&f->elem, &f->gm, out, 4), 0);
    fake_free(f);
}

static void gather_scatter(void **state)
{
    struct fake *f = fake_new(8, false, false);
    uint8_t out[16];
    static const uint8_t resp[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

    (void)state;
    memcpy(f->mem + OFF_BUF, "abc", 3);
    memcpy(f->mem + OFF_BUF + 4096, "defgh", 5);
    put_desc(f, OFF_DESC, 0, buf_gpa(0), 3, VRING_DESC_F_NEXT, 1);
    put_desc(f, OFF_DESC, 1, buf_gpa(1), 5, VRING_DESC_F_NEXT, 2);
    put_desc(f, OFF_DESC, 2, buf_gpa(2), 4,
             VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
    put_desc(f, OFF_DESC, 3, buf_gpa(3), 4, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(vring_elem_read(&f->elem, &f->gm, out, sizeof(out)), 8);
    assert_memory_equal(out, "abcdefgh", 8);
    assert_int_equal(vring_elem_read(&f->elem, &f->gm, out, 4), 4);
    assert_int_equal(vring_elem_write(&f->elem, &f->gm, resp, sizeof(resp)), 8);
    assert_bytes_equal(f->mem + OFF_BUF + 2 * 4096, resp, 4);
    assert_bytes_equal(f->mem + OFF_BUF + 3 * 4096, resp + 4, 4);
    fake_free(f);
}

static void indirect_chain(void **state)
{
    struct fake *f = fake_new(8, true, false);

    (void)state;
    put_desc(f, OFF_INDIR, 0, buf_gpa(0), 10, VRING_DESC_F_NEXT, 2);
    put_desc(f, OFF_INDIR, 2, buf_gpa(1), 20, VRING_DESC_F_NEXT, 1);
    put_desc(f, OFF_INDIR, 1, buf_gpa(2), 30, VRING_DESC_F_WRITE, 0);
    put_desc(f, OFF_DESC, 6, GPA_BASE + OFF_INDIR, 3 * 16,
             VRING_DESC_F_INDIRECT, 0);
    publish(f, 6);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(f->elem.head, 6);
    assert_int_equal(f->elem.n_rd, 2);
    assert_int_equal(f->elem.n_wr, 1);
    assert_int_equal(f->elem.rd_len, 30);
    assert_int_equal(f->elem.wr_len, 30);
    fake_free(f);
}

/* Direct buffers first, then an indirect table ending the chain. */
static void mixed_chain(void **state)
{
    struct fake *f = fake_new(8, true, false);

    (void)state;
    put_desc(f, OFF_INDIR, 0, buf_gpa(1), 8, VRING_DESC_F_WRITE, 0);
    put_desc(f, OFF_DESC, 0, buf_gpa(0), 16, VRING_DESC_F_NEXT, 1);
    put_desc(f, OFF_DESC, 1, GPA_BASE + OFF_INDIR, 16, VRING_DESC_F_INDIRECT,
             0);
    publish(f, 0);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(f->elem.n_rd, 1);
    assert_int_equal(f->elem.n_wr, 1);
    fake_free(f);
}

/* Zero-length buffers are skipped, even at addresses outside memory. */
static void zero_length_skipped(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, 0xdead0000ull, 0, VRING_DESC_F_NEXT, 1);
    put_desc(f, OFF_DESC, 1, buf_gpa(0), 4, VRING_DESC_F_WRITE, 0);
    publish(f, 0);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(f->elem.n_rd, 0);
    assert_int_equal(f->elem.n_wr, 1);
    fake_free(f);
}

/* The largest legal chain: exactly queue-size descriptors. */
static void chain_of_queue_size(void **state)
{
    struct fake *f = fake_new(16, false, false);
    unsigned i;

    (void)state;
    for (i = 0; i < 16; i++) {
        put_desc(f, OFF_DESC, i, buf_gpa(0), 1, i < 15 ? VRING_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    }
    publish(f, 0);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(f->elem.n_rd, 16);
    fake_free(f);
}

/* Index wrap-around: many requests on a tiny ring. */
static void wraparound(void **state)
{
    struct fake *f = fake_new(2, false, false);
    unsigned i;
    uint32_t id, len;

    (void)state;
    put_desc(f, OFF_DESC, 1, buf_gpa(0), 8, VRING_DESC_F_WRITE, 0);
    vring_set_base(&f->vr, 65530);
    f->avail_idx = 65530;
    store_le16(f->mem + OFF_USED + 2, 65530);
    for (i = 0; i < 20; i++) {
        publish(f, 1);
        assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
        assert_int_equal(vring_push(&f->vr, &f->gm, 1, i), VRING_OK);
        used_elem(f, (uint16_t)(65530 + i), &id, &len);
        assert_int_equal(id, 1);
        assert_int_equal(len, i);
    }
    assert_int_equal(used_idx(f), (uint16_t)(65530 + 20));
    assert_int_equal(f->vr.last_avail_idx, (uint16_t)(65530 + 20));
    fake_free(f);
}

static void unpop_returns_chain_again(void **state)
{
    struct fake *f = fake_new(4, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 2, buf_gpa(0), 8, 0, 0);
    publish(f, 2);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    vring_unpop(&f->vr);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(f->elem.head, 2);
    fake_free(f);
}

/* ---- notification ---- */

static void no_interrupt_flag(void **state)
{
    struct fake *f = fake_new(4, false, false);

    (void)state;
    store_le16(f->mem + OFF_AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
    assert_int_equal(vring_push(&f->vr, &f->gm, 0, 0), VRING_OK);
    assert_false(vring_need_notify(&f->vr, &f->gm));
    store_le16(f->mem + OFF_AVAIL, 0);
    assert_true(vring_need_notify(&f->vr, &f->gm));
    fake_free(f);
}

static void event_idx_decisions(void **state)
{
    struct fake *f = fake_new(8, false, true);
    uint8_t *used_event = f->mem + OFF_AVAIL + 4 + 2 * 8;

    (void)state;
    /* First decision always signals. */
    assert_int_equal(vring_push(&f->vr, &f->gm, 0, 0), VRING_OK);
    assert_true(vring_need_notify(&f->vr, &f->gm));
    /* Driver wants an interrupt only once used idx passes 3. */
    store_le16(used_event, 3);
    assert_int_equal(vring_push(&f->vr, &f->gm, 0, 0), VRING_OK); /* 2 */
    assert_false(vring_need_notify(&f->vr, &f->gm));
    assert_int_equal(vring_push(&f->vr, &f->gm, 0, 0), VRING_OK); /* 3 */
    assert_false(vring_need_notify(&f->vr, &f->gm));
    assert_int_equal(vring_push(&f->vr, &f->gm, 0, 0), VRING_OK); /* 4 */
    assert_true(vring_need_notify(&f->vr, &f->gm));
    /* Nothing new pushed: no interrupt. */
    assert_false(vring_need_notify(&f->vr, &f->gm));
    /* Batched past the event: one interrupt. */
    store_le16(used_event, 5);
    assert_int_equal(vring_push(&f->vr, &f->gm, 0, 0), VRING_OK);
    assert_int_equal(vring_push(&f->vr, &f->gm, 0, 0), VRING_OK);
    assert_int_equal(vring_push(&f->vr, &f->gm, 0, 0), VRING_OK);
    assert_true(vring_need_notify(&f->vr, &f->gm));
    fake_free(f);
}

static void event_idx_publishes_avail_event(void **state)
{
    struct fake *f = fake_new(8, false, true);
    const uint8_t *avail_event = f->mem + OFF_USED + 4 + 8 * 8;

    (void)state;
    put_desc(f, OFF_DESC, 0, buf_gpa(0), 8, 0, 0);
    publish(f, 0);
    publish(f, 0);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_EMPTY);
    assert_int_equal(load_le16(avail_event), 2);
    fake_free(f);
}

/* ---- hostile chains ---- */

static void desc_out_of_range(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, GPA_BASE + MEM_SIZE, 1, 0, 0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_DESC_ADDR);
    fake_free(f);
}

static void desc_below_region(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, GPA_BASE - 1, 2, 0, 0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_DESC_ADDR);
    fake_free(f);
}

static void desc_straddles_end(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, GPA_BASE + MEM_SIZE - 4, 8, 0, 0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_DESC_ADDR);
    fake_free(f);
}

static void desc_addr_len_overflow(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, UINT64_MAX - 7, 0xffffffffu, 0, 0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_DESC_ADDR);
    fake_free(f);
}

static void chain_loop(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, buf_gpa(0), 1, VRING_DESC_F_NEXT, 1);
    put_desc(f, OFF_DESC, 1, buf_gpa(0), 1, VRING_DESC_F_NEXT, 0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_CHAIN_LEN);
    fake_free(f);
}

static void chain_self_loop(void **state)
{
    struct fake *f = fake_new(2048, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, 0, 0, VRING_DESC_F_NEXT, 0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_CHAIN_LEN);
    fake_free(f);
}

static void next_out_of_range(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, buf_gpa(0), 1, VRING_DESC_F_NEXT, 8);
    publish(f, 0);
    expect_broken(f, VRING_ERR_NEXT);
    fake_free(f);
}

static void head_out_of_range(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    publish(f, 8);
    expect_broken(f, VRING_ERR_HEAD);
    fake_free(f);
}

static void readable_after_writable(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, buf_gpa(0), 4,
             VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    put_desc(f, OFF_DESC, 1, buf_gpa(1), 4, 0, 0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_DIRECTION);
    fake_free(f);
}

static void too_many_descriptors_indirect(void **state)
{
    struct fake *f = fake_new(4, true, false);
    unsigned i;

    (void)state;
    /* A 4-entry table after 1 direct buffer: 5 buffers > queue size 4. */
    for (i = 0; i < 4; i++) {
        put_desc(f, OFF_INDIR, i, buf_gpa(0), 1, i < 3 ? VRING_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    }
    put_desc(f, OFF_DESC, 0, buf_gpa(0), 1, VRING_DESC_F_NEXT, 1);
    put_desc(f, OFF_DESC, 1, GPA_BASE + OFF_INDIR, 64, VRING_DESC_F_INDIRECT,
             0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_CHAIN_LEN);
    fake_free(f);
}

static void indirect_loop(void **state)
{
    struct fake *f = fake_new(8, true, false);

    (void)state;
    put_desc(f, OFF_INDIR, 0, buf_gpa(0), 1, VRING_DESC_F_NEXT, 1);
    put_desc(f, OFF_INDIR, 1, buf_gpa(0), 1, VRING_DESC_F_NEXT, 0);
    put_desc(f, OFF_DESC, 0, GPA_BASE + OFF_INDIR, 32, VRING_DESC_F_INDIRECT,
             0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_CHAIN_LEN);
    fake_free(f);
}

static void indirect_inside_indirect(void **state)
{
    struct fake *f = fake_new(8, true, false);

    (void)state;
    put_desc(f, OFF_INDIR, 0, GPA_BASE + OFF_INDIR + 256, 16,
             VRING_DESC_F_INDIRECT, 0);
    put_desc(f, OFF_DESC, 0, GPA_BASE + OFF_INDIR, 16, VRING_DESC_F_INDIRECT,
             0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_INDIRECT_NESTED);
    fake_free(f);
}

static void indirect_with_next(void **state)
{
    struct fake *f = fake_new(8, true, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, GPA_BASE + OFF_INDIR, 16,
             VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
    publish(f, 0);
    expect_broken(f, VRING_ERR_INDIRECT_NEXT);
    fake_free(f);
}

static void indirect_bad_len(void **state)
{
    static const uint32_t lens[] = {0, 15, 17, 8 * 16 + 16};
    unsigned i;

    (void)state;
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        struct fake *f = fake_new(8, true, false);

        put_desc(f, OFF_DESC, 0, GPA_BASE + OFF_INDIR, lens[i],
                 VRING_DESC_F_INDIRECT, 0);
        publish(f, 0);
        expect_broken(f, VRING_ERR_INDIRECT_LEN);
        fake_free(f);
    }
}

static void indirect_out_of_range(void **state)
{
    struct fake *f = fake_new(8, true, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, GPA_BASE + MEM_SIZE - 16, 32,
             VRING_DESC_F_INDIRECT, 0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_INDIRECT_ADDR);
    fake_free(f);
}

static void indirect_not_negotiated(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    put_desc(f, OFF_INDIR, 0, buf_gpa(0), 4, 0, 0);
    put_desc(f, OFF_DESC, 0, GPA_BASE + OFF_INDIR, 16, VRING_DESC_F_INDIRECT,
             0);
    publish(f, 0);
    expect_broken(f, VRING_ERR_INDIRECT_FEATURE);
    fake_free(f);
}

static void avail_idx_jump(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    store_le16(f->mem + OFF_AVAIL + 2, 9);
    expect_broken(f, VRING_ERR_AVAIL_IDX);
    fake_free(f);
}

/* Exactly queue-size entries ahead is legal. */
static void avail_idx_full_ring(void **state)
{
    struct fake *f = fake_new(4, false, false);
    unsigned i;

    (void)state;
    put_desc(f, OFF_DESC, 0, buf_gpa(0), 4, 0, 0);
    for (i = 0; i < 4; i++) {
        publish(f, 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    }
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_EMPTY);
    fake_free(f);
}

/* The region holding rings and buffers disappears (REM_MEM_REG). */
static void region_removed_while_in_use(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    put_desc(f, OFF_DESC, 0, buf_gpa(0), 4, 0, 0);
    publish(f, 0);
    assert_int_equal(gmem_remove(&f->gm, GPA_BASE, MEM_SIZE, NULL), GMEM_OK);
    expect_broken(f, VRING_ERR_RING_ADDR);
    fake_free(f);
}

/* Rings fine, but a buffer lives in a region that went away. */
static void buffer_region_removed(void **state)
{
    struct fake *f = fake_new(8, false, false);
    static uint8_t other[4096];
    struct gmem_region r = {0x40000000ull, sizeof(other), 0x50000000ull, other};

    (void)state;
    assert_int_equal(gmem_add(&f->gm, &r), GMEM_OK);
    put_desc(f, OFF_DESC, 0, 0x40000000ull, 16, 0, 0);
    publish(f, 0);
    publish(f, 0);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_OK);
    assert_int_equal(gmem_remove(&f->gm, 0x40000000ull, sizeof(other), NULL),
                     GMEM_OK);
    expect_broken(f, VRING_ERR_DESC_ADDR);
    fake_free(f);
}

static void ring_not_in_memory(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    vring_set_addr(&f->vr, UVA_BASE + MEM_SIZE - 64, UVA_BASE + OFF_AVAIL,
                   UVA_BASE + OFF_USED);
    expect_broken(f, VRING_ERR_RING_ADDR);
    fake_free(f);
}

static void ring_misaligned(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    vring_set_addr(&f->vr, UVA_BASE + OFF_DESC, UVA_BASE + OFF_AVAIL,
                   UVA_BASE + OFF_USED + 2);
    expect_broken(f, VRING_ERR_RING_ADDR);
    fake_free(f);
}

static void queue_sizes(void **state)
{
    struct vring vr;

    (void)state;
    vring_init(&vr);
    assert_int_equal(vring_set_num(&vr, 0), VRING_ERR_NUM);
    assert_int_equal(vring_set_num(&vr, 3), VRING_ERR_NUM);
    assert_int_equal(vring_set_num(&vr, 65536), VRING_ERR_NUM);
    assert_int_equal(vring_set_num(&vr, 1), VRING_OK);
    assert_int_equal(vring_set_num(&vr, 1024), VRING_OK);
    assert_int_equal(vring_set_num(&vr, 32768), VRING_OK);
    assert_int_equal(vr.num, 32768);
    assert_false(vr.broken);
}

static void not_configured(void **state)
{
    struct vring vr;
    struct gmem gm;
    static struct vring_elem e;

    (void)state;
    vring_init(&vr);
    gmem_init(&gm);
    assert_int_equal(vring_pop(&vr, &gm, &e), VRING_ERR_NOT_READY);
}

/* A new base (ring restart) clears the broken state. */
static void set_base_clears_broken(void **state)
{
    struct fake *f = fake_new(8, false, false);

    (void)state;
    publish(f, 8);
    expect_broken(f, VRING_ERR_HEAD);
    vring_set_base(&f->vr, f->avail_idx);
    assert_false(f->vr.broken);
    assert_int_equal(vring_pop(&f->vr, &f->gm, &f->elem), VRING_EMPTY);
    fake_free(f);
}

static void gmem_rules(void **state)
{
    struct gmem gm;
    static uint8_t a[64];
    struct gmem_region r = {0x1000, 64, 0x9000, a};
    struct gmem_region o;
    unsigned i;

    (void)state;
    gmem_init(&gm);
    assert_int_equal(gmem_add(&gm, &r), GMEM_OK);
    assert_ptr_equal(gmem_gpa(&gm, 0x1000, 64), a);
    assert_ptr_equal(gmem_gpa(&gm, 0x103f, 1), a + 63);
    assert_null(gmem_gpa(&gm, 0x103f, 2));
    assert_null(gmem_gpa(&gm, 0x1040, 0));
    assert_null(gmem_gpa(&gm, 0xfff, 2));
    assert_null(gmem_gpa(&gm, 0x1001, UINT64_MAX));
    assert_ptr_equal(gmem_uva(&gm, 0x9010, 16), a + 16);
    o = r;
    o.gpa = 0x1020;
    assert_int_equal(gmem_add(&gm, &o), GMEM_ERR_OVERLAP);
    o.gpa = UINT64_MAX - 10;
    assert_int_equal(gmem_add(&gm, &o), GMEM_ERR_RANGE);
    o.gpa = 0x2000;
    o.size = 0;
    assert_int_equal(gmem_add(&gm, &o), GMEM_ERR_RANGE);
    /* Adjacent regions: a buffer across the seam is refused. */
    o.gpa = 0x1040;
    o.size = 64;
    o.uva = 0xa000;
    assert_int_equal(gmem_add(&gm, &o), GMEM_OK);
    assert_null(gmem_gpa(&gm, 0x1030, 32));
    for (i = 2; i < GMEM_MAX_REGIONS; i++) {
        o.gpa = 0x100000ull * (i + 1);
        assert_int_equal(gmem_add(&gm, &o), GMEM_OK);
    }
    o.gpa = 0x7000000000ull;
    assert_int_equal(gmem_add(&gm, &o), GMEM_ERR_FULL);
    assert_int_equal(gmem_remove(&gm, 0x1000, 64, &o), GMEM_OK);
    assert_ptr_equal(o.host, a);
    assert_null(gmem_gpa(&gm, 0x1000, 1));
    assert_int_equal(gmem_remove(&gm, 0x1000, 64, NULL), GMEM_ERR_NOENT);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(direct_chain),
    cmocka_unit_test(gather_scatter),
    cmocka_unit_test(start_reads_used_idx),
    cmocka_unit_test(copy_after_region_removed),
    cmocka_unit_test(indirect_chain),
    cmocka_unit_test(mixed_chain),
    cmocka_unit_test(zero_length_skipped),
    cmocka_unit_test(chain_of_queue_size),
    cmocka_unit_test(wraparound),
    cmocka_unit_test(unpop_returns_chain_again),
    cmocka_unit_test(no_interrupt_flag),
    cmocka_unit_test(event_idx_decisions),
    cmocka_unit_test(event_idx_publishes_avail_event),
    cmocka_unit_test(desc_out_of_range),
    cmocka_unit_test(desc_below_region),
    cmocka_unit_test(desc_straddles_end),
    cmocka_unit_test(desc_addr_len_overflow),
    cmocka_unit_test(chain_loop),
    cmocka_unit_test(chain_self_loop),
    cmocka_unit_test(next_out_of_range),
    cmocka_unit_test(head_out_of_range),
    cmocka_unit_test(readable_after_writable),
    cmocka_unit_test(too_many_descriptors_indirect),
    cmocka_unit_test(indirect_loop),
    cmocka_unit_test(indirect_inside_indirect),
    cmocka_unit_test(indirect_with_next),
    cmocka_unit_test(indirect_bad_len),
    cmocka_unit_test(indirect_out_of_range),
    cmocka_unit_test(indirect_not_negotiated),
    cmocka_unit_test(avail_idx_jump),
    cmocka_unit_test(avail_idx_full_ring),
    cmocka_unit_test(region_removed_while_in_use),
    cmocka_unit_test(buffer_region_removed),
    cmocka_unit_test(ring_not_in_memory),
    cmocka_unit_test(ring_misaligned),
    cmocka_unit_test(queue_sizes),
    cmocka_unit_test(not_configured),
    cmocka_unit_test(set_base_clears_broken),
    cmocka_unit_test(gmem_rules),
};

HARNESS_MAIN("virtio", tests)
