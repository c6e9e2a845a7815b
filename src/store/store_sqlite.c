/* SPDX-License-Identifier: MIT */
/*
 * SQLite RPMB store.
 *
 * Why SQLite in WAL mode with synchronous=FULL: every key programming and
 * every authenticated write is one transaction whose commit appends the
 * changed pages and a commit record to the WAL and fsyncs it before
 * sqlite3_step() returns. A crash at any moment leaves either the whole
 * transaction (valid commit record) or none of it, so data and counter
 * always agree (docs/rpmb.md).
 *
 * Schema (format version 1, PRAGMA application_id 'RPMB'):
 *   meta(name, value)        format_version, capacity_units
 *   state(id=0, key, counter) key NULL until programmed
 *   blocks(addr, data)       every block, created as zeros (a missing row
 *                            also reads as zeros)
 *
 * Locking: a flock() on our own descriptor of the database file refuses a
 * second opener with a clear message, and locking_mode=EXCLUSIVE keeps
 * SQLite's own lock for the connection's lifetime (and the WAL index in
 * process memory). The descriptor stays open until after sqlite3_close():
 * closing any descriptor of the file would drop SQLite's POSIX locks.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/atomic_file.h"
#include "common/ct.h"
#include "common/err.h"
#include "common/log.h"

#define STORE_APP_ID 0x52504d42 /* 'RPMB' */
/*
 * The WAL file is kept at least this long (see store_presize_wal()): 256
 * frames until the autocheckpoint plus the largest write (255 blocks, about
 * 90 pages), 1048 bytes a frame. Also journal_size_limit.
 */
#define STORE_WAL_BYTES (384u * 1024u)
#define STORE_UNIT_SIZE                                                        \
    ((size_t)VIRTIO_RPMB_BLOCKS_PER_UNIT * RPMB_BLK_SIZE) /* 128 KiB */

/**
 * struct rpmb_store - an open SQLite store.
 * @db:         the connection (locking_mode=EXCLUSIVE)
 * @lock_fd:    our descriptor of the database file, flock()ed
 * @units:      capacity in 128 KiB units (from meta)
 * @key_cached: @key holds the stored key
 * @key:        the key, kept here (and only here) after its first use so a
 *              read or counter request costs no key query; wiped at close
 * @fence_pending: a commit failed after its frames may have reached the
 *              WAL; see store_fence()
 * @st_*:       statements prepared once at open and kept
 */
struct rpmb_store {
    sqlite3 *db;
    int lock_fd;
    uint8_t units;
    bool key_cached;
    uint8_t key[RPMB_KEY_LEN];
    bool fence_pending;
    sqlite3_stmt *st_state;
    sqlite3_stmt *st_key;
    sqlite3_stmt *st_read;
    sqlite3_stmt *st_put;
    sqlite3_stmt *st_counter;
    sqlite3_stmt *st_set_key;
    sqlite3_stmt *st_begin;
    sqlite3_stmt *st_commit;
};

/* Map an SQLite result to a negative errno for the ops convention. */
static int sqlite_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return -EBADMSG;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_CONSTRAINT:
        return -EINVAL;
    default:
        return -EIO;
    }
}

/* Log a failed statement once per failure, then map it. */
static int store_fail(struct rpmb_store *s, const char *what, int rc)
{
    tv_err("rpmb store: %s failed: %s (SQLite %d)", what, sqlite3_errmsg(s->db),
           rc);
    return sqlite_errno(rc);
}

/* Run a statement that returns no rows, then reset it. */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    (void)sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Undo an open transaction after a failure; harmless if none is open. */
static void store_rollback(struct rpmb_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

/*
 * A commit whose fsync (or a later write) failed has been rolled back in
 * this connection, but its WAL frames, commit record included, may still
 * be in the file; recovery after a crash would then resurrect a write we
 * answered WRITE_FAILURE to. Any later successful commit overwrites those
 * frames (it starts at the last valid frame, and the checksum chain ends
 * any leftover tail), so before the next operation, and at close, commit a
 * small real change (a counter of fences in meta: SQLite skips writes that
 * leave a page identical, so a no-op UPDATE would not do). Until it
 * succeeds every operation fails.
 */
static int store_fence(struct rpmb_store *s)
{
    int rc;

    if (!s->fence_pending) {
        return 0;
    }
    rc = sqlite3_exec(s->db,
                      "BEGIN IMMEDIATE;"
                      "INSERT OR REPLACE INTO meta VALUES ('fences',"
                      " coalesce((SELECT value FROM meta"
                      " WHERE name = 'fences'), 0) + 1);"
                      "COMMIT;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        store_rollback(s);
        return store_fail(s, "fencing off a failed commit", rc);
    }
    s->fence_pending = false;
    return 0;
}

/* A commit-stage failure: roll back and fence before the next op. */
static int store_commit_failed(struct rpmb_store *s, const char *what, int rc)
{
    int e = store_fail(s, what, rc);

    store_rollback(s);
    s->fence_pending = true;
    return e;
}

static int store_load_state(void *ctx, bool *key_programmed, uint32_t *counter)
{
    struct rpmb_store *s = ctx;
    sqlite3_int64 c;
    int rc = store_fence(s);

    if (rc != 0) {
        return rc;
    }
    rc = sqlite3_step(s->st_state);
    if (rc != SQLITE_ROW) {
        (void)sqlite3_reset(s->st_state);
        return store_fail(s, "reading the state", rc);
    }
    *key_programmed = sqlite3_column_int(s->st_state, 0) != 0;
    c = sqlite3_column_int64(s->st_state, 1);
    (void)sqlite3_reset(s->st_state);
    if (c < 0 || c > (sqlite3_int64)UINT32_MAX) {
        tv_err("rpmb store: counter out of range");
        return -EBADMSG;
    }
    *counter = (uint32_t)c;
    return 0;
}

static int store_get_key(void *ctx, uint8_t key[RPMB_KEY_LEN])
{
    struct rpmb_store *s = ctx;
    int rc;
    int ret = -ENOKEY;

    if (s->key_cached) {
        memcpy(key, s->key, RPMB_KEY_LEN);
        return 0;
    }
    rc = sqlite3_step(s->st_key);
    if (rc == SQLITE_ROW &&
        sqlite3_column_bytes(s->st_key, 0) == RPMB_KEY_LEN) {
        memcpy(s->key, sqlite3_column_blob(s->st_key, 0), RPMB_KEY_LEN);
        memcpy(key, s->key, RPMB_KEY_LEN);
        s->key_cached = true;
        ret = 0;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        ret = store_fail(s, "reading the key", rc);
    }
    (void)sqlite3_reset(s->st_key);
    return ret;
}

static int store_read_blocks(void *ctx, uint16_t address, size_t n_blocks,
                             uint8_t *data, size_t stride)
{
    struct rpmb_store *s = ctx;
    sqlite3_int64 end;
    size_t i;
    int rc;

    if ((size_t)address + n_blocks >
        (size_t)s->units * VIRTIO_RPMB_BLOCKS_PER_UNIT) {
        return -ERANGE;
    }
    rc = store_fence(s);
    if (rc != 0) {
        return rc;
    }
    /* unwritten blocks are zeros; written ones overwrite below */
    for (i = 0; i < n_blocks; i++) {
        memset(data + i * stride, 0, RPMB_BLK_SIZE);
    }
    end = (sqlite3_int64)address + (sqlite3_int64)n_blocks;
    (void)sqlite3_bind_int64(s->st_read, 1, address);
    (void)sqlite3_bind_int64(s->st_read, 2, end);
    while ((rc = sqlite3_step(s->st_read)) == SQLITE_ROW) {
        sqlite3_int64 a = sqlite3_column_int64(s->st_read, 0);

        /* the table's CHECKs hold unless the file was edited behind us */
        if (sqlite3_column_bytes(s->st_read, 1) != RPMB_BLK_SIZE ||
            a < address || a >= end) {
            (void)sqlite3_reset(s->st_read);
            tv_err("rpmb store: malformed block row at %lld", (long long)a);
            return -EBADMSG;
        }
        memcpy(data + (size_t)(a - address) * stride,
               sqlite3_column_blob(s->st_read, 1), RPMB_BLK_SIZE);
    }
    (void)sqlite3_reset(s->st_read);
    if (rc != SQLITE_DONE) {
        return store_fail(s, "reading blocks", rc);
    }
    return 0;
}

static int store_program_key(void *ctx, const uint8_t key[RPMB_KEY_LEN])
{
    struct rpmb_store *s = ctx;
    int rc = store_fence(s);

    if (rc != 0) {
        return rc;
    }
    rc = step_done(s->st_begin);
    if (rc != SQLITE_OK) {
        return store_fail(s, "beginning the key transaction", rc);
    }
    (void)sqlite3_bind_blob(s->st_set_key, 1, key, RPMB_KEY_LEN, SQLITE_STATIC);
    rc = step_done(s->st_set_key);
    /* drop SQLite's reference to the caller's key buffer */
    (void)sqlite3_clear_bindings(s->st_set_key);
    if (rc != SQLITE_OK) {
        store_rollback(s);
        return store_fail(s, "storing the key", rc);
    }
    if (sqlite3_changes(s->db) != 1) {
        store_rollback(s);
        return -EEXIST;
    }
    rc = step_done(s->st_commit);
    if (rc != SQLITE_OK) {
        return store_commit_failed(s, "committing the key", rc);
    }
    memcpy(s->key, key, RPMB_KEY_LEN);
    s->key_cached = true;
    return 0;
}

static int store_write_blocks(void *ctx, uint16_t address, size_t n_blocks,
                              const uint8_t *data, size_t stride,
                              uint32_t new_counter)
{
    struct rpmb_store *s = ctx;
    size_t i;
    int rc;

    if ((size_t)address + n_blocks >
        (size_t)s->units * VIRTIO_RPMB_BLOCKS_PER_UNIT) {
        return -ERANGE;
    }
    rc = store_fence(s);
    if (rc != 0) {
        return rc;
    }
    rc = step_done(s->st_begin);
    if (rc != SQLITE_OK) {
        return store_fail(s, "beginning the write transaction", rc);
    }
    for (i = 0; i < n_blocks; i++) {
        (void)sqlite3_bind_int64(s->st_put, 1,
                                 (sqlite3_int64)address + (sqlite3_int64)i);
        (void)sqlite3_bind_blob(s->st_put, 2, data + i * stride, RPMB_BLK_SIZE,
                                SQLITE_STATIC);
        rc = step_done(s->st_put);
        if (rc != SQLITE_OK) {
            /* a cache spill may already have put frames in the WAL */
            return store_commit_failed(s, "writing a block", rc);
        }
    }
    (void)sqlite3_clear_bindings(s->st_put);
    /* the guard keeps the counter monotonic whatever the caller asks */
    (void)sqlite3_bind_int64(s->st_counter, 1, new_counter);
    rc = step_done(s->st_counter);
    if (rc != SQLITE_OK) {
        store_rollback(s);
        return store_fail(s, "updating the counter", rc);
    }
    if (sqlite3_changes(s->db) != 1) {
        store_rollback(s);
        tv_err("rpmb store: refused counter %u: not above the stored one",
               new_counter);
        return -EINVAL;
    }
    rc = step_done(s->st_commit);
    if (rc != SQLITE_OK) {
        return store_commit_failed(s, "committing the write", rc);
    }
    return 0;
}

const struct rpmb_store_ops rpmb_store_sqlite_ops = {
    .load_state = store_load_state,
    .get_key = store_get_key,
    .read_blocks = store_read_blocks,
    .program_key = store_program_key,
    .write_blocks = store_write_blocks,
};

/*
 * Explain why a store could not be opened: another program holding
 * SQLite's lock is not corruption.
 */
static void store_open_failed(struct rpmb_store *s, const char *path, char *err,
                              size_t err_len)
{
    int code = sqlite3_errcode(s->db) & 0xff;

    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
        tv_set_err(err, err_len,
                   "store %s is in use by another program (SQLite lock); two "
                   "devices must never share one store",
                   path);
    } else {
        tv_set_err(err, err_len,
                   "store %s is not a database or is corrupt (%s); refusing to "
                   "use or reset it",
                   path, sqlite3_errmsg(s->db));
    }
}

/* Run SQL without results; on failure describe it in @err. */
static int exec_sql(sqlite3 *db, const char *sql, const char *path, char *err,
                    size_t err_len)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        tv_set_err(err, err_len, "store %s: %s", path,
                   msg != NULL ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
    }
    return rc;
}

/* Read one integer (the first column of the first row) from @sql. */
static int query_int(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK) {
        return rc;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_NOTFOUND;
    }
    sqlite3_finalize(st);
    return rc;
}

static const char store_schema[] =
    "BEGIN IMMEDIATE;"
    "PRAGMA application_id = 1380994370;" /* STORE_APP_ID */
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE state(id INTEGER PRIMARY KEY CHECK (id = 0),"
    " key BLOB CHECK (key IS NULL OR length(key) = 32),"
    " counter INTEGER NOT NULL CHECK (counter BETWEEN 0 AND 4294967295));"
    "CREATE TABLE blocks(addr INTEGER PRIMARY KEY"
    " CHECK (addr BETWEEN 0 AND 65535),"
    " data BLOB NOT NULL CHECK (length(data) = 256));"
    "INSERT INTO state VALUES (0, NULL, 0);";

/*
 * Create the schema in a fresh (empty) database, with every block present
 * as zeros: the database never grows after creation, so an authenticated
 * write touches one leaf page and the state page, and a filling filesystem
 * cannot fail a block write later (only the WAL, reused in place, grows).
 * The creation WAL (the whole image) is checkpointed at once and
 * truncated, so that the connection the store is then served from (see
 * rpmb_store_sqlite_open_vfs()) finds an empty log and builds a one-block
 * WAL index instead of one covering every page of the image; the file is
 * then given its working length by store_presize_wal(), real blocks that
 * later commits overwrite in place, so that none of them grows the WAL (a
 * growing file makes fdatasync() commit the new size in the filesystem
 * journal too, about doubling its cost).
 */
/*
 * Make the -wal file at least STORE_WAL_BYTES long by appending zeros (real
 * blocks, not a hole or fallocate()'s unwritten extents, which a later
 * write would still have to convert in the filesystem journal). SQLite
 * reads frames only up to the first one whose salt and checksum fail, so
 * zeros after the last frame are never taken for data. Best effort: a WAL
 * that stays short only costs speed until it has grown once.
 */
static void store_presize_wal(const char *path)
{
    static const uint8_t zeros[16384];
    char wal[PATH_MAX];
    struct stat sb;
    off_t off;
    int fd;

    if (snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal)) {
        return;
    }
    fd = open(wal, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return;
    }
    if (fstat(fd, &sb) == 0 && sb.st_size < (off_t)STORE_WAL_BYTES) {
        for (off = sb.st_size; off < (off_t)STORE_WAL_BYTES;) {
            size_t n = sizeof(zeros);
            ssize_t w;

            if ((off_t)n > (off_t)STORE_WAL_BYTES - off) {
                n = (size_t)((off_t)STORE_WAL_BYTES - off);
            }
            w = pwrite(fd, zeros, n, off);
            if (w <= 0) {
                break;
            }
            off += w;
        }
        (void)fdatasync(fd);
    }
    /* no SQLite lock lives on the WAL file (the exclusive-mode locks are
     * on the database file), so this descriptor may be closed */
    close(fd);
}

static int store_create(struct rpmb_store *s, const char *path, uint8_t units,
                        char *err, size_t err_len)
{
    char sql[320];
    int rc;

    rc = exec_sql(s->db, store_schema, path, err, err_len);
    if (rc == SQLITE_OK) {
        (void)snprintf(sql, sizeof(sql),
                       "INSERT INTO meta VALUES ('format_version', %d),"
                       " ('capacity_units', %u);"
                       "WITH RECURSIVE n(a) AS (SELECT 0 UNION ALL"
                       " SELECT a + 1 FROM n WHERE a + 1 < %u)"
                       " INSERT INTO blocks SELECT a, zeroblob(256) FROM n;"
                       " COMMIT;"
                       "PRAGMA wal_checkpoint(TRUNCATE);",
                       RPMB_STORE_FORMAT_VERSION, (unsigned)units,
                       (unsigned)units * 512u);
        rc = exec_sql(s->db, sql, path, err, err_len);
    }
    if (rc != SQLITE_OK) {
        store_rollback(s);
    }
    return rc;
}

/*
 * Check an existing database: SQLite's own structure check, then that it
 * is one of ours, of our format, made for the requested capacity. Never
 * repair or reset: a damaged store is the user's to investigate.
 */
static int store_check(struct rpmb_store *s, const char *path, uint8_t units,
                       char *err, size_t err_len)
{
    sqlite3_stmt *st;
    sqlite3_int64 v = 0;
    const unsigned char *txt;
    int rc;

    /*
     * main.: without a schema name quick_check also checks, and so opens,
     * the temp database, whose pager and cache (4 KiB pages, allocated 20
     * at a time) then stayed for the connection's life: about 80 KiB.
     */
    rc = sqlite3_prepare_v2(s->db, "PRAGMA main.quick_check(1)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        txt = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
        if (txt == NULL || strcmp((const char *)txt, "ok") != 0) {
            tv_set_err(err, err_len,
                       "store %s is corrupt (%s); refusing to use or reset it",
                       path,
                       txt != NULL ? (const char *)txt : sqlite3_errmsg(s->db));
            sqlite3_finalize(st);
            return SQLITE_CORRUPT;
        }
        sqlite3_finalize(st);
    } else {
        store_open_failed(s, path, err, err_len);
        return rc;
    }
    if (query_int(s->db, "PRAGMA application_id", &v) != SQLITE_OK ||
        v != STORE_APP_ID) {
        tv_set_err(err, err_len,
                   "%s is an SQLite database but not an RPMB store", path);
        return SQLITE_NOTADB;
    }
    if (query_int(s->db, "SELECT value FROM meta WHERE name = 'format_version'",
                  &v) != SQLITE_OK ||
        v != RPMB_STORE_FORMAT_VERSION) {
        tv_set_err(err, err_len,
                   "store %s has format version %lld; this program reads "
                   "version %d",
                   path, (long long)v, RPMB_STORE_FORMAT_VERSION);
        return SQLITE_NOTADB;
    }
    if (query_int(s->db, "SELECT value FROM meta WHERE name = 'capacity_units'",
                  &v) != SQLITE_OK ||
        v < 1 || v > VIRTIO_RPMB_MAX_UNITS) {
        tv_set_err(err, err_len, "store %s: capacity record missing or invalid",
                   path);
        return SQLITE_CORRUPT;
    }
    if (v != units) {
        tv_set_err(
            err, err_len,
            "store %s was created for %lld KiB (%lld units), not %u KiB; "
            "refusing to resize it",
            path, (long long)v * 128, (long long)v, (unsigned)units * 128);
        return SQLITE_MISMATCH;
    }
    if (query_int(s->db, "SELECT count(*) FROM state WHERE id = 0", &v) !=
            SQLITE_OK ||
        v != 1) {
        tv_set_err(err, err_len, "store %s: state record missing", path);
        return SQLITE_CORRUPT;
    }
    return SQLITE_OK;
}

/* True for a database with no tables and no application id. */
static bool store_is_blank(struct rpmb_store *s)
{
    sqlite3_int64 n_tables = -1;
    sqlite3_int64 app_id = -1;

    return query_int(s->db, "SELECT count(*) FROM sqlite_schema", &n_tables) ==
               SQLITE_OK &&
           query_int(s->db, "PRAGMA application_id", &app_id) == SQLITE_OK &&
           n_tables == 0 && app_id == 0;
}

static int store_prepare(struct rpmb_store *s, const char *path, char *err,
                         size_t err_len)
{
    static const struct {
        size_t off;
        const char *sql;
    } stmts[] = {
        {offsetof(struct rpmb_store, st_state),
         "SELECT key IS NOT NULL, counter FROM state WHERE id = 0"},
        {offsetof(struct rpmb_store, st_key),
         "SELECT key FROM state WHERE id = 0 AND key IS NOT NULL"},
        {offsetof(struct rpmb_store, st_read),
         "SELECT addr, data FROM blocks WHERE addr >= ?1 AND addr < ?2"
         " ORDER BY addr"},
        {offsetof(struct rpmb_store, st_put),
         "INSERT INTO blocks(addr, data) VALUES (?1, ?2)"
         " ON CONFLICT(addr) DO UPDATE SET data = excluded.data"},
        {offsetof(struct rpmb_store, st_counter),
         "UPDATE state SET counter = ?1 WHERE id = 0 AND counter < ?1"},
        {offsetof(struct rpmb_store, st_set_key),
         "UPDATE state SET key = ?1 WHERE id = 0 AND key IS NULL"},
        {offsetof(struct rpmb_store, st_begin), "BEGIN IMMEDIATE"},
        {offsetof(struct rpmb_store, st_commit), "COMMIT"},
    };
    size_t i;
    int rc;

    for (i = 0; i < TV_ARRAY_SIZE(stmts); i++) {
        sqlite3_stmt **slot =
            (sqlite3_stmt **)(void *)((char *)s + stmts[i].off);

        rc = sqlite3_prepare_v3(s->db, stmts[i].sql, -1,
                                SQLITE_PREPARE_PERSISTENT, slot, NULL);
        if (rc != SQLITE_OK) {
            tv_set_err(err, err_len, "store %s: cannot prepare statements: %s",
                       path, sqlite3_errmsg(s->db));
            return rc;
        }
    }
    return SQLITE_OK;
}

static void store_finalize(struct rpmb_store *s)
{
    sqlite3_finalize(s->st_state);
    sqlite3_finalize(s->st_key);
    sqlite3_finalize(s->st_read);
    sqlite3_finalize(s->st_put);
    sqlite3_finalize(s->st_counter);
    sqlite3_finalize(s->st_set_key);
    sqlite3_finalize(s->st_begin);
    sqlite3_finalize(s->st_commit);
}

/*
 * Open (creating if needed) and lock the file ourselves: we set the mode
 * regardless of the umask and learn whether it is new (empty).
 */
static int store_open_file(const char *path, bool *fresh, char *err,
                           size_t err_len)
{
    struct stat sb;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0) {
        tv_set_err(err, err_len, "cannot open store %s: %s", path,
                   strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        tv_set_err(err, err_len,
                   e == EWOULDBLOCK
                       ? "store %s is in use by another process (locked); two "
                         "devices must never share one store"
                       : "cannot lock store %s: %s",
                   path, strerror(e));
        close(fd);
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        tv_set_err(err, err_len, "store %s is not a regular file", path);
        close(fd);
        return -1;
    }
    *fresh = sb.st_size == 0;
    if (*fresh && fchmod(fd, 0600) != 0) {
        tv_set_err(err, err_len, "cannot set mode 0600 on %s: %s", path,
                   strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * Open the SQLite connection of @s (its file already locked by us) and
 * set it up; @fresh: the file is new (its page size can still be chosen).
 * Return 0, or -1 with @err set (s->db may then need closing).
 */
static int store_connect(struct rpmb_store *s, const char *path,
                         const char *vfs, bool fresh, char *err, size_t err_len)
{
    int rc;

    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_EXRESCODE,
                         vfs);
    if (rc != SQLITE_OK) {
        tv_set_err(err, err_len, "cannot open store %s: %s", path,
                   s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        return -1;
    }
    (void)sqlite3_extended_result_codes(s->db, 1);
    /*
     * Exclusive locking before WAL: the WAL index then lives in process
     * memory (no -shm file) and no other connection can read or write.
     * A 1 KiB page keeps the bytes appended per single-block commit small.
     */
    if (exec_sql(s->db, "PRAGMA locking_mode = EXCLUSIVE;", path, err,
                 err_len) != SQLITE_OK) {
        return -1;
    }
    {
        /*
         * Keep the WAL file across close and checkpoints: commits then
         * overwrite blocks already allocated, and each fdatasync() needs
         * no file-size metadata update (roughly halves the commit cost
         * compared with an appending WAL).
         */
        int persist = 1;

        (void)sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL,
                                   &persist);
        /*
         * SQLite's own checkpoint at close would also truncate the WAL;
         * rpmb_store_close() runs a checkpoint that keeps it.
         */
        (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
                                NULL);
    }
    /*
     * WAL sizing: a checkpoint every 256 frames (about 128 single-block
     * writes) keeps the WAL below STORE_WAL_BYTES, which is also the
     * journal_size_limit and the length store_presize_wal() gives the
     * file, so after the first commit it neither grows nor shrinks.
     *
     * Memory: the page cache is 16 pages (about 20 KiB): that holds the
     * b-tree's root and interior pages for the default 1 MiB device
     * (about 1400 leaf pages under 14 interior ones) and the pages of the
     * current request; other pages come from the OS page cache (one
     * pread() of 1 KiB, microseconds against a write's fdatasync(); a
     * 16 MiB device has about 200 interior pages, which 64 pages did not
     * hold either). SQLite's default, 2000 KiB, filled
     * at creation and was most of the daemon's private memory; 64 pages
     * still cost 55 KiB more than 16 for no measurable speed.
     * temp_store=MEMORY puts statement journals in memory in small
     * chunks instead of a 64 KiB spill buffer per transaction (about
     * 35 KiB less heap left behind after creating a store). See also
     * store_check(): main.quick_check.
     */
    if (fresh && exec_sql(s->db, "PRAGMA page_size = 1024;", path, err,
                          err_len) != SQLITE_OK) {
        return -1;
    }
    if (exec_sql(s->db,
                 "PRAGMA journal_mode = WAL;"
                 "PRAGMA synchronous = FULL;"
                 "PRAGMA wal_autocheckpoint = 256;"
                 "PRAGMA journal_size_limit = 393216;" /* STORE_WAL_BYTES */
                 "PRAGMA cache_size = 16;"
                 "PRAGMA temp_store = MEMORY;"
                 "PRAGMA trusted_schema = OFF;"
                 "PRAGMA cell_size_check = ON;",
                 path, err, err_len) != SQLITE_OK) {
        store_open_failed(s, path, err, err_len);
        return -1;
    }
    return 0;
}

/* see store.h */
struct rpmb_store *rpmb_store_sqlite_open_vfs(const char *path,
                                              uint8_t capacity_units,
                                              const char *vfs, char *err,
                                              size_t err_len)
{
    struct rpmb_store *s;
    bool fresh = false;
    int rc;

    tv_set_err(err, err_len, "no error");
    if (path == NULL || capacity_units == 0 ||
        capacity_units > VIRTIO_RPMB_MAX_UNITS) {
        tv_set_err(err, err_len,
                   "capacity must be 128 KiB .. 16 MiB in "
                   "128 KiB steps");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        tv_set_err(err, err_len, "out of memory");
        return NULL;
    }
    s->units = capacity_units;
    s->lock_fd = store_open_file(path, &fresh, err, err_len);
    if (s->lock_fd < 0) {
        goto err_free;
    }
    if (store_connect(s, path, vfs, fresh, err, err_len) != 0) {
        goto err_close_db;
    }
    if (!fresh && store_is_blank(s)) {
        /* a creation interrupted before its commit left no schema */
        fresh = true;
    }
    if (fresh) {
        rc = store_create(s, path, capacity_units, err, err_len);
        if (rc == SQLITE_OK) {
            /*
             * Serve from a new connection: the creation transaction put
             * every page of the store through the WAL, and the WAL index
             * it needed (one 32 KiB block per 4096 frames: six for 16 MiB)
             * would stay in this connection's memory for its whole life.
             * The reopened store is checked like any existing one.
             */
            sqlite3_close(s->db);
            s->db = NULL;
            rc = store_connect(s, path, vfs, false, err, err_len) == 0
                     ? store_check(s, path, capacity_units, err, err_len)
                     : SQLITE_CANTOPEN;
        }
    } else {
        rc = store_check(s, path, capacity_units, err, err_len);
    }
    if (rc != SQLITE_OK) {
        goto err_close_db;
    }
    store_presize_wal(path);
    if (store_prepare(s, path, err, err_len) != SQLITE_OK) {
        goto err_finalize;
    }
    return s;

err_finalize:
    store_finalize(s);
err_close_db:
    sqlite3_close(s->db);
    close(s->lock_fd);
err_free:
    free(s);
    return NULL;
}

/* see store.h */
struct rpmb_store *rpmb_store_sqlite_open(const char *path,
                                          uint8_t capacity_units, char *err,
                                          size_t err_len)
{
    return rpmb_store_sqlite_open_vfs(path, capacity_units, NULL, err, err_len);
}

/* see store.h */
void rpmb_store_close(struct rpmb_store *s)
{
    if (s == NULL) {
        return;
    }
    if (store_fence(s) != 0) {
        tv_err("rpmb store: the last failed write may reappear after a "
               "crash (whole, with its counter)");
    }
    /*
     * Copy the WAL's committed pages into the database file so that, after
     * a clean close, the .db file alone holds everything (the WAL file is
     * kept for speed but adds nothing). After a crash the WAL does hold
     * committed writes until the next open recovers them.
     */
    if (sqlite3_exec(s->db, "PRAGMA wal_checkpoint(FULL)", NULL, NULL, NULL) !=
        SQLITE_OK) {
        tv_warn("rpmb store: checkpoint at close: %s; the -wal file still "
                "holds committed writes",
                sqlite3_errmsg(s->db));
    }
    store_finalize(s);
    if (sqlite3_close(s->db) != SQLITE_OK) {
        tv_warn("rpmb store: close: %s", sqlite3_errmsg(s->db));
    }
    /* only now: closing our descriptor earlier would drop SQLite's locks */
    close(s->lock_fd);
    wipe(s->key, sizeof(s->key));
    free(s);
}

/* see store.h */
uint8_t rpmb_store_capacity_units(const struct rpmb_store *s)
{
    return s->units;
}

/* see store.h */
int rpmb_store_sqlite_set_counter_for_test(struct rpmb_store *s,
                                           uint32_t counter)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
        s->db, "UPDATE state SET counter = ?1 WHERE id = 0", -1, &st, NULL);

    if (rc != SQLITE_OK) {
        return store_fail(s, "preparing the counter override", rc);
    }
    (void)sqlite3_bind_int64(st, 1, counter);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_fail(s, "overriding the counter", rc);
}

/* see store.h: through the one atomic writer, image mode 0600 */
int rpmb_store_export(struct rpmb_store *s, const char *path, char *err,
                      size_t err_len)
{
    struct tv_atomic_file af;
    uint8_t *unit;
    size_t u;
    int rc;

    unit = malloc(STORE_UNIT_SIZE);
    if (unit == NULL) {
        tv_set_err(err, err_len, "out of memory");
        return -ENOMEM;
    }
    rc = tv_atomic_open(&af, path, 0600);
    if (rc != 0) {
        tv_set_err(err, err_len, "cannot create a file next to %s: %s", path,
                   strerror(-rc));
        goto out_free;
    }
    for (u = 0; u < s->units; u++) {
        rc =
            store_read_blocks(s, (uint16_t)(u * VIRTIO_RPMB_BLOCKS_PER_UNIT),
                              VIRTIO_RPMB_BLOCKS_PER_UNIT, unit, RPMB_BLK_SIZE);
        if (rc != 0) {
            tv_set_err(err, err_len, "reading the store failed: %s",
                       strerror(-rc));
            tv_atomic_abort(&af);
            goto out_free;
        }
        rc = tv_atomic_write(&af, unit, STORE_UNIT_SIZE);
        if (rc != 0) {
            tv_set_err(err, err_len, "writing %s failed: %s", af.tmp,
                       strerror(-rc));
            tv_atomic_abort(&af);
            goto out_free;
        }
    }
    rc = tv_atomic_commit(&af);
    if (rc != 0) {
        tv_set_err(err, err_len, "cannot put %s in place: %s", path,
                   strerror(-rc));
    }
out_free:
    free(unit);
    return rc;
}

/* Read exactly @len bytes. Return 0, -EINVAL on a short file, or -errno. */
static int read_all(int fd, uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            return -EINVAL;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* see store.h */
int rpmb_store_import(struct rpmb_store *s, const char *path, char *err,
                      size_t err_len)
{
    struct stat sb;
    uint8_t *unit;
    bool key;
    uint32_t counter;
    size_t u;
    size_t i;
    int fd;
    int rc;

    rc = store_load_state(s, &key, &counter);
    if (rc != 0) {
        tv_set_err(err, err_len, "cannot read the store state");
        return rc;
    }
    if (key) {
        tv_set_err(err, err_len,
                   "import refused: the key is programmed; data can then only "
                   "change through authenticated writes");
        return -EPERM;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        tv_set_err(err, err_len, "cannot open %s: %s", path, strerror(-rc));
        return rc;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        (size_t)sb.st_size != (size_t)s->units * STORE_UNIT_SIZE) {
        tv_set_err(err, err_len,
                   "%s is not a %u KiB image (the store's capacity)", path,
                   (unsigned)s->units * 128);
        close(fd);
        return -EINVAL;
    }
    unit = malloc(STORE_UNIT_SIZE);
    if (unit == NULL) {
        close(fd);
        tv_set_err(err, err_len, "out of memory");
        return -ENOMEM;
    }
    rc = step_done(s->st_begin);
    if (rc != SQLITE_OK) {
        rc = store_fail(s, "beginning the import", rc);
        tv_set_err(err, err_len, "cannot begin the import transaction");
        goto out_free;
    }
    /* every block is overwritten in place: the table keeps its size */
    for (u = 0; u < s->units; u++) {
        rc = read_all(fd, unit, STORE_UNIT_SIZE);
        if (rc != 0) {
            tv_set_err(err, err_len, "reading %s failed", path);
            goto out_rollback;
        }
        for (i = 0; i < VIRTIO_RPMB_BLOCKS_PER_UNIT; i++) {
            const uint8_t *b = unit + i * RPMB_BLK_SIZE;

            (void)sqlite3_bind_int64(
                s->st_put, 1,
                (sqlite3_int64)(u * VIRTIO_RPMB_BLOCKS_PER_UNIT + i));
            (void)sqlite3_bind_blob(s->st_put, 2, b, RPMB_BLK_SIZE,
                                    SQLITE_STATIC);
            rc = step_done(s->st_put);
            if (rc != SQLITE_OK) {
                rc = store_fail(s, "importing a block", rc);
                tv_set_err(err, err_len, "import: %s", sqlite3_errmsg(s->db));
                goto out_rollback;
            }
        }
    }
    (void)sqlite3_clear_bindings(s->st_put);
    rc = step_done(s->st_commit);
    if (rc != SQLITE_OK) {
        rc = store_commit_failed(s, "committing the import", rc);
        tv_set_err(err, err_len, "import commit failed");
        goto out_rollback;
    }
    rc = 0;
    goto out_free;

out_rollback:
    (void)sqlite3_clear_bindings(s->st_put);
    store_rollback(s);
out_free:
    free(unit);
    close(fd);
    return rc;
}
