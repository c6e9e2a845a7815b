/* SPDX-License-Identifier: MIT */
/*
 * In-memory RPMB store and a fault-injecting wrapper. Both exist for tests
 * and fuzzing: they make failures of the store happen on demand so the
 * model's "fails wholly, state unchanged" behaviour can be checked.
 */
#include "store/store.h"

#include <errno.h>
#include <string.h>

#include "common/ct.h"

/* Take the injected error, if any; one-shot unless sticky. */
static int mem_take_fault(struct rpmb_mem_store *m, int *err)
{
    int e = *err;

    if (e != 0 && !m->fail_sticky) {
        *err = 0;
    }
    return e;
}

static bool mem_range_ok(const struct rpmb_mem_store *m, uint16_t address,
                         size_t n_blocks)
{
    return n_blocks <= m->n_blocks && address <= m->n_blocks - n_blocks;
}

static int mem_load_state(void *ctx, bool *key_programmed, uint32_t *counter)
{
    struct rpmb_mem_store *m = ctx;

    *key_programmed = m->key_programmed;
    *counter = m->counter;
    return 0;
}

static int mem_get_key(void *ctx, uint8_t key[RPMB_KEY_LEN])
{
    struct rpmb_mem_store *m = ctx;

    if (!m->key_programmed) {
        return -ENOKEY;
    }
    memcpy(key, m->key, RPMB_KEY_LEN);
    return 0;
}

static int mem_read_blocks(void *ctx, uint16_t address, size_t n_blocks,
                           uint8_t *data, size_t stride)
{
    struct rpmb_mem_store *m = ctx;
    size_t i;
    int e = mem_take_fault(m, &m->fail_read_err);

    if (e != 0) {
        return e;
    }
    if (!mem_range_ok(m, address, n_blocks)) {
        return -ERANGE;
    }
    for (i = 0; i < n_blocks; i++) {
        memcpy(data + i * stride,
               m->blocks + ((size_t)address + i) * RPMB_BLK_SIZE,
               RPMB_BLK_SIZE);
    }
    return 0;
}

static int mem_program_key(void *ctx, const uint8_t key[RPMB_KEY_LEN])
{
    struct rpmb_mem_store *m = ctx;
    int e = mem_take_fault(m, &m->fail_write_err);

    if (e != 0) {
        return e;
    }
    if (m->key_programmed) {
        return -EEXIST;
    }
    memcpy(m->key, key, RPMB_KEY_LEN);
    m->key_programmed = true;
    m->n_commits++;
    return 0;
}

static int mem_write_blocks(void *ctx, uint16_t address, size_t n_blocks,
                            const uint8_t *data, size_t stride,
                            uint32_t new_counter)
{
    struct rpmb_mem_store *m = ctx;
    size_t i;
    int e = mem_take_fault(m, &m->fail_write_err);

    if (e != 0) {
        return e;
    }
    if (!mem_range_ok(m, address, n_blocks)) {
        return -ERANGE;
    }
    for (i = 0; i < n_blocks; i++) {
        memcpy(m->blocks + ((size_t)address + i) * RPMB_BLK_SIZE,
               data + i * stride, RPMB_BLK_SIZE);
    }
    m->counter = new_counter;
    m->n_commits++;
    return 0;
}

const struct rpmb_store_ops rpmb_mem_store_ops = {
    .load_state = mem_load_state,
    .get_key = mem_get_key,
    .read_blocks = mem_read_blocks,
    .program_key = mem_program_key,
    .write_blocks = mem_write_blocks,
};

/* see store.h */
void rpmb_mem_store_init(struct rpmb_mem_store *m, uint8_t *blocks,
                         size_t n_blocks)
{
    memset(m, 0, sizeof(*m));
    m->blocks = blocks;
    m->n_blocks = n_blocks;
    memset(blocks, 0, n_blocks * RPMB_BLK_SIZE);
}

/* see store.h */
void rpmb_mem_store_wipe(struct rpmb_mem_store *m)
{
    wipe(m->key, sizeof(m->key));
}

/* ---- fault wrapper ---- */

static int fault_load_state(void *ctx, bool *key_programmed, uint32_t *counter)
{
    struct rpmb_fault_store *f = ctx;

    return f->inner->load_state(f->inner_ctx, key_programmed, counter);
}

static int fault_get_key(void *ctx, uint8_t key[RPMB_KEY_LEN])
{
    struct rpmb_fault_store *f = ctx;

    if (f->fail_key_err != 0) {
        return f->fail_key_err;
    }
    return f->inner->get_key(f->inner_ctx, key);
}

static int fault_read_blocks(void *ctx, uint16_t address, size_t n_blocks,
                             uint8_t *data, size_t stride)
{
    struct rpmb_fault_store *f = ctx;

    if (f->fail_read_err != 0) {
        return f->fail_read_err;
    }
    return f->inner->read_blocks(f->inner_ctx, address, n_blocks, data, stride);
}

/* Decide whether this write fails: after ok_writes_left successes. */
static int fault_write_gate(struct rpmb_fault_store *f)
{
    if (f->fail_write_err == 0) {
        return 0;
    }
    if (f->ok_writes_left > 0) {
        f->ok_writes_left--;
        return 0;
    }
    return f->fail_write_err;
}

static int fault_program_key(void *ctx, const uint8_t key[RPMB_KEY_LEN])
{
    struct rpmb_fault_store *f = ctx;
    int e = fault_write_gate(f);

    if (e != 0) {
        return e;
    }
    return f->inner->program_key(f->inner_ctx, key);
}

static int fault_write_blocks(void *ctx, uint16_t address, size_t n_blocks,
                              const uint8_t *data, size_t stride,
                              uint32_t new_counter)
{
    struct rpmb_fault_store *f = ctx;
    int e = fault_write_gate(f);

    if (e != 0) {
        return e;
    }
    return f->inner->write_blocks(f->inner_ctx, address, n_blocks, data, stride,
                                  new_counter);
}

const struct rpmb_store_ops rpmb_fault_store_ops = {
    .load_state = fault_load_state,
    .get_key = fault_get_key,
    .read_blocks = fault_read_blocks,
    .program_key = fault_program_key,
    .write_blocks = fault_write_blocks,
};
