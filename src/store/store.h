/* SPDX-License-Identifier: MIT */
/*
 * RPMB stores: implementations of struct rpmb_store_ops (rpmb/rpmb.h).
 *
 *  - SQLite store (struct rpmb_store): the persistent store used by the
 *    daemon. WAL journal, synchronous=FULL, one transaction per key
 *    programming or authenticated write, committed before the op returns;
 *    an exclusive lock (flock on the database file plus SQLite's
 *    locking_mode=EXCLUSIVE) so two daemons can never fork the counter.
 *    The file is created with mode 0600 whatever the umask.
 *  - In-memory store (struct rpmb_mem_store): caller-allocated, no
 *    allocation, for unit tests and fuzzing; with fault injection.
 *  - Fault wrapper (struct rpmb_fault_store): wraps any store and fails
 *    reads or writes on demand.
 *
 * Functions return 0 or a negative errno (OS-facing convention) unless
 * stated otherwise. A store may be used by one thread at a time.
 */
#ifndef TV_STORE_STORE_H
#define TV_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bug.h"
#include "rpmb/rpmb.h"

/* Format version written to the meta table; other versions are refused. */
#define RPMB_STORE_FORMAT_VERSION 1

/* ---- SQLite store ---- */

/* Opaque; the ctx for rpmb_store_sqlite_ops. */
struct rpmb_store;

/* Store ops over a struct rpmb_store (pass the store as store_ctx). */
extern const struct rpmb_store_ops rpmb_store_sqlite_ops;

/**
 * rpmb_store_sqlite_open() - open or create the store at @path.
 * @path:           database file; created (mode 0600) if missing
 * @capacity_units: device size in 128 KiB units, 1..0x80
 * @err:            receives a one-line reason on failure (may be NULL)
 * @err_len:        size of @err
 *
 * A new file gets the schema, the format version and @capacity_units. An
 * existing file is checked (SQLite quick_check, format version, capacity)
 * and refused, never reset, when it is corrupt, of another format or made
 * for another capacity. The store is locked exclusively for its lifetime;
 * a store already open elsewhere (another daemon, or this process) is
 * refused with "in use". Allocates (SQLite); free with
 * rpmb_store_close().
 *
 * Return: the store, or NULL with @err set.
 */
struct rpmb_store *rpmb_store_sqlite_open(const char *path,
                                          uint8_t capacity_units, char *err,
                                          size_t err_len);

/**
 * rpmb_store_sqlite_open_vfs() - rpmb_store_sqlite_open() through the
 * SQLite VFS named @vfs (NULL = default). Lets tests inject I/O failures
 * with a wrapping VFS.
 */
struct rpmb_store *rpmb_store_sqlite_open_vfs(const char *path,
                                              uint8_t capacity_units,
                                              const char *vfs, char *err,
                                              size_t err_len);

/**
 * rpmb_store_close() - close @s and release its lock. Everything
 * acknowledged is already durable; closing adds nothing. NULL is a no-op.
 */
void rpmb_store_close(struct rpmb_store *s);

/** rpmb_store_capacity_units() - the capacity recorded in the store. */
uint8_t rpmb_store_capacity_units(const struct rpmb_store *s);

/**
 * rpmb_store_export() - write the raw data image (capacity x 128 KiB:
 * every 256-byte block in address order, unwritten blocks as zeros) to
 * @path, created 0600; an existing file is replaced atomically (temporary
 * file, fsync, rename, directory fsync). The key and counter are not
 * exported.
 * Return: 0 or a negative errno, with @err set.
 */
TV_MUST_CHECK
int rpmb_store_export(struct rpmb_store *s, const char *path, char *err,
                      size_t err_len);

/**
 * rpmb_store_import() - load a raw data image written by
 * rpmb_store_export() (exactly capacity x 128 KiB bytes) into @s, in one
 * durable transaction. Allowed only while no key is programmed (after
 * that, data changes only through authenticated writes); the counter is
 * never touched, so import cannot roll it back.
 * Return: 0, -EPERM if a key is programmed, -EINVAL on a size mismatch,
 * or another negative errno, with @err set.
 */
TV_MUST_CHECK
int rpmb_store_import(struct rpmb_store *s, const char *path, char *err,
                      size_t err_len);

/**
 * rpmb_store_sqlite_set_counter_for_test() - overwrite the write counter.
 * FOR TESTS ONLY (expiry tests): it breaks replay protection. Durable.
 */
TV_MUST_CHECK
int rpmb_store_sqlite_set_counter_for_test(struct rpmb_store *s,
                                           uint32_t counter);

/* ---- in-memory store ---- */

/**
 * struct rpmb_mem_store - a store in caller memory, for tests and fuzzing.
 * @blocks:          n_blocks x 256 bytes of data (caller's buffer)
 * @n_blocks:        capacity in blocks
 * @key_programmed:  a key is stored
 * @key:             the key (wiped by rpmb_mem_store_wipe())
 * @counter:         write counter
 * @fail_write_err:  when non-zero, the next program_key/write_blocks fails
 *                   with this negative errno and changes nothing; then it
 *                   resets to 0 unless @fail_sticky
 * @fail_read_err:   the same for read_blocks
 * @fail_sticky:     keep failing until cleared
 * @n_commits:       successful program_key/write_blocks calls
 */
struct rpmb_mem_store {
    uint8_t *blocks;
    size_t n_blocks;
    bool key_programmed;
    uint8_t key[RPMB_KEY_LEN];
    uint32_t counter;
    int fail_write_err;
    int fail_read_err;
    bool fail_sticky;
    unsigned long n_commits;
};

/* Store ops over a struct rpmb_mem_store. */
extern const struct rpmb_store_ops rpmb_mem_store_ops;

/**
 * rpmb_mem_store_init() - an empty store (no key, counter 0) over
 * @blocks, which is zeroed. @n_blocks = capacity_units * 512.
 */
void rpmb_mem_store_init(struct rpmb_mem_store *m, uint8_t *blocks,
                         size_t n_blocks);

/** rpmb_mem_store_wipe() - wipe the key held by @m. */
void rpmb_mem_store_wipe(struct rpmb_mem_store *m);

/* ---- fault-injection wrapper ---- */

/**
 * struct rpmb_fault_store - wraps another store; fails operations on
 * demand without calling the inner store.
 * @inner:          the wrapped ops
 * @inner_ctx:      their context
 * @fail_write_err: non-zero: program_key/write_blocks fail with it
 * @fail_read_err:  non-zero: read_blocks fail with it
 * @fail_key_err:   non-zero: get_key fails with it
 * @ok_writes_left: writes that still succeed before @fail_write_err
 *                  applies (0 = fail at once)
 */
struct rpmb_fault_store {
    const struct rpmb_store_ops *inner;
    void *inner_ctx;
    int fail_write_err;
    int fail_read_err;
    int fail_key_err;
    unsigned ok_writes_left;
};

/* Store ops over a struct rpmb_fault_store. */
extern const struct rpmb_store_ops rpmb_fault_store_ops;

#endif
