/* SPDX-License-Identifier: MIT */
/*
 * SQLite RPMB store: creation mode, restart persistence, exclusive lock,
 * refusal of corrupt / foreign / resized stores, export and import rules,
 * the test-only counter override, and a real SQLite I/O failure injected
 * through a wrapping VFS (the model answers WRITE_FAILURE, nothing changes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "rpmb/rpmb.h"
#include "store/store.h"

#define FR       VIRTIO_RPMB_FRAME_SIZE
#define UNITS    1
#define N_BLOCKS (UNITS * VIRTIO_RPMB_BLOCKS_PER_UNIT)

static const uint8_t key1[32] = "AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH";

static char dir[64];
static char db_path[128];
static uint8_t req[8 * FR];
static uint8_t resp[8 * FR];
static char err[256];

/* A fresh private directory per test. */
static int mkdir_setup(void **state)
{
    (void)snprintf(dir, sizeof(dir), "/tmp/tv-store-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    (void)snprintf(db_path, sizeof(db_path), "%s/rpmb.db", dir);
    return 0;
}

static int rmdir_teardown(void **state)
{
    char cmd[128];

    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct rpmb_store *open_ok(uint8_t units)
{
    struct rpmb_store *s =
        rpmb_store_sqlite_open(db_path, units, err, sizeof(err));

    if (s == NULL) {
        fail_msg("open failed: %s", err);
    }
    return s;
}

static void model_init(struct rpmb *r, struct rpmb_store *s)
{
    struct rpmb_config cfg = {UNITS, 0, 0};

    assert_int_equal(rpmb_init(r, &cfg, &rpmb_store_sqlite_ops, s), RPMB_OK);
}

static void mac_of(const uint8_t *frames, size_t n, uint8_t mac[32])
{
    struct crypto_hmac h;
    size_t i;

    assert_int_equal(crypto_hmac_init(&h, key1, 32), 0);
    for (i = 0; i < n; i++) {
        assert_int_equal(
            crypto_hmac_update(&h, frames + i * FR + VIRTIO_RPMB_OFF_DATA,
                               VIRTIO_RPMB_MAC_INPUT_SIZE),
            0);
    }
    assert_int_equal(crypto_hmac_final(&h, mac), 0);
}

static void put_result_read(uint8_t *f)
{
    memset(f, 0, FR);
    store_be16(f + VIRTIO_RPMB_OFF_BLOCK_COUNT, 1);
    store_be16(f + VIRTIO_RPMB_OFF_REQ_RESP, VIRTIO_RPMB_REQ_RESULT_READ);
}

static uint16_t program(struct rpmb *r)
{
    size_t len;

    memset(req, 0, FR);
    memcpy(req + VIRTIO_RPMB_OFF_KEY_MAC, key1, 32);
    store_be16(req + VIRTIO_RPMB_OFF_BLOCK_COUNT, 1);
    store_be16(req + VIRTIO_RPMB_OFF_REQ_RESP, VIRTIO_RPMB_REQ_PROGRAM_KEY);
    put_result_read(req + FR);
    assert_int_equal(rpmb_handle(r, req, 2 * FR, resp, FR, &len), RPMB_OK);
    assert_int_equal(len, FR);
    return load_be16(resp + VIRTIO_RPMB_OFF_RESULT);
}

/* Authenticated write of @n blocks filled with @fill + i. */
static uint16_t write_blocks(struct rpmb *r, uint16_t addr, size_t n,
                             uint32_t counter, uint8_t fill)
{
    uint8_t mac[32];
    size_t len;
    size_t i;

    for (i = 0; i < n; i++) {
        uint8_t *f = req + i * FR;

        memset(f, 0, FR);
        memset(f + VIRTIO_RPMB_OFF_DATA, (int)(fill + i), 256);
        store_be32(f + VIRTIO_RPMB_OFF_WRITE_COUNTER, counter);
        store_be16(f + VIRTIO_RPMB_OFF_ADDRESS, addr);
        store_be16(f + VIRTIO_RPMB_OFF_BLOCK_COUNT, (uint16_t)n);
        store_be16(f + VIRTIO_RPMB_OFF_REQ_RESP, VIRTIO_RPMB_REQ_DATA_WRITE);
    }
    mac_of(req, n, mac);
    memcpy(req + (n - 1) * FR + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    put_result_read(req + n * FR);
    assert_int_equal(rpmb_handle(r, req, (n + 1) * FR, resp, FR, &len),
                     RPMB_OK);
    assert_int_equal(len, FR);
    return load_be16(resp + VIRTIO_RPMB_OFF_RESULT);
}

/* Read @n blocks through the model and check the response MAC. */
static void read_blocks(struct rpmb *r, uint16_t addr, size_t n, uint8_t *out)
{
    uint8_t mac[32];
    size_t len;
    size_t i;

    memset(req, 0, FR);
    store_be16(req + VIRTIO_RPMB_OFF_ADDRESS, addr);
    store_be16(req + VIRTIO_RPMB_OFF_BLOCK_COUNT, (uint16_t)n);
    store_be16(req + VIRTIO_RPMB_OFF_REQ_RESP, VIRTIO_RPMB_REQ_DATA_READ);
    assert_int_equal(rpmb_handle(r, req, FR, resp, n * FR, &len), RPMB_OK);
    assert_int_equal(len, n * FR);
    assert_int_equal(load_be16(resp + VIRTIO_RPMB_OFF_RESULT) & 0x7f, 0);
    mac_of(resp, n, mac);
    assert_bytes_equal(resp + (n - 1) * FR + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    for (i = 0; i < n; i++) {
        memcpy(out + i * 256, resp + i * FR + VIRTIO_RPMB_OFF_DATA, 256);
    }
}

static void create_mode_0600(void **state)
{
    struct rpmb_store *s;
    struct stat sb;
    mode_t old = umask(0);

    s = open_ok(UNITS);
    umask(old);
    assert_int_equal(stat(db_path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(rpmb_store_capacity_units(s), UNITS);
    rpmb_store_close(s);
}

static void restart_keeps_state(void **state)
{
    struct rpmb_store *s = open_ok(UNITS);
    struct rpmb r;
    uint8_t data[3 * 256];
    uint8_t want[256];
    bool key;
    uint32_t c;

    model_init(&r, s);
    assert_int_equal(program(&r), 0);
    assert_int_equal(write_blocks(&r, 10, 3, 0, 0x50), 0);
    assert_int_equal(write_blocks(&r, 11, 1, 1, 0x60), 0);
    rpmb_store_close(s);

    s = open_ok(UNITS);
    assert_int_equal(rpmb_store_sqlite_ops.load_state(s, &key, &c), 0);
    assert_true(key);
    assert_int_equal(c, 2);
    model_init(&r, s);
    assert_true(rpmb_key_programmed(&r));
    assert_int_equal(rpmb_write_counter(&r), 2);
    read_blocks(&r, 10, 3, data);
    memset(want, 0x50, 256);
    assert_bytes_equal(data, want, 256);
    memset(want, 0x60, 256);
    assert_bytes_equal(data + 256, want, 256);
    memset(want, 0x52, 256);
    assert_bytes_equal(data + 512, want, 256);
    /* unwritten blocks read as zeros */
    read_blocks(&r, 0, 1, data);
    memset(want, 0, 256);
    assert_bytes_equal(data, want, 256);
    /* the key survived: a second programming is refused */
    assert_int_equal(program(&r), VIRTIO_RPMB_RES_WRITE_FAILURE);
    assert_int_equal(write_blocks(&r, 12, 1, 2, 0x70), 0);
    rpmb_store_close(s);
}

static void exclusive_lock(void **state)
{
    struct rpmb_store *s = open_ok(UNITS);
    struct rpmb_store *s2;

    s2 = rpmb_store_sqlite_open(db_path, UNITS, err, sizeof(err));
    assert_null(s2);
    assert_non_null(strstr(err, "in use"));
    rpmb_store_close(s);
    s2 = open_ok(UNITS);
    rpmb_store_close(s2);

    /* another program holding SQLite's lock (no flock): refused too */
    {
        sqlite3 *db;

        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "BEGIN; SELECT count(*) FROM state;",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        s2 = rpmb_store_sqlite_open(db_path, UNITS, err, sizeof(err));
        assert_null(s2);
        assert_non_null(strstr(err, "in use"));
        assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
    }
    s2 = open_ok(UNITS);
    rpmb_store_close(s2);
}

static void capacity_mismatch_refused(void **state)
{
    struct rpmb_store *s = open_ok(UNITS);

    rpmb_store_close(s);
    assert_null(rpmb_store_sqlite_open(db_path, 2, err, sizeof(err)));
    assert_non_null(strstr(err, "created for 128 KiB"));
    assert_null(rpmb_store_sqlite_open(db_path, 0, err, sizeof(err)));
    assert_null(rpmb_store_sqlite_open(db_path, 0x81, err, sizeof(err)));
    s = open_ok(UNITS);
    rpmb_store_close(s);
}

static void corrupt_refused(void **state)
{
    struct rpmb_store *s = open_ok(UNITS);
    struct rpmb r;
    uint8_t junk[4096];
    uint8_t back[4096];
    struct stat sb;
    int fd;
    sqlite3 *db;

    model_init(&r, s);
    assert_int_equal(program(&r), 0);
    rpmb_store_close(s);
    /* move everything from the WAL into the database file first */
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);

    /* smash the second page: refused, file left alone */
    memset(junk, 0xa5, sizeof(junk));
    fd = open(db_path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, sizeof(junk), 1024), sizeof(junk));
    close(fd);
    assert_int_equal(stat(db_path, &sb), 0);
    assert_null(rpmb_store_sqlite_open(db_path, UNITS, err, sizeof(err)));
    assert_non_null(strstr(err, "corrupt"));
    fd = open(db_path, O_RDONLY);
    assert_int_equal(pread(fd, back, sizeof(back), 1024), sizeof(back));
    close(fd);
    assert_bytes_equal(back, junk, sizeof(junk));

    /* not a database at all */
    fd = open(db_path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
    close(fd);
    assert_null(rpmb_store_sqlite_open(db_path, UNITS, err, sizeof(err)));
    assert_non_null(strstr(err, "corrupt"));

    /* another application's SQLite database */
    unlink(db_path);
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_null(rpmb_store_sqlite_open(db_path, UNITS, err, sizeof(err)));
    assert_non_null(strstr(err, "not an RPMB store"));
}

static void export_import(void **state)
{
    char img[160];
    struct rpmb_store *s = open_ok(UNITS);
    struct rpmb r;
    uint8_t *image = calloc(1, N_BLOCKS * 256);
    uint8_t *back = calloc(1, N_BLOCKS * 256);
    uint8_t got[256];
    struct stat sb;
    bool key;
    uint32_t c;
    FILE *f;

    assert_non_null(image);
    assert_non_null(back);
    (void)snprintf(img, sizeof(img), "%s/image.bin", dir);
    memset(image + 5 * 256, 0x42, 256);
    memset(image + (N_BLOCKS - 1) * 256, 0x99, 256);
    f = fopen(img, "wb");
    assert_int_equal(fwrite(image, 1, N_BLOCKS * 256, f), N_BLOCKS * 256);
    fclose(f);

    /* set a counter first: import must never touch it */
    assert_int_equal(rpmb_store_sqlite_set_counter_for_test(s, 7), 0);
    assert_int_equal(rpmb_store_import(s, img, err, sizeof(err)), 0);
    assert_int_equal(rpmb_store_sqlite_ops.load_state(s, &key, &c), 0);
    assert_false(key);
    assert_int_equal(c, 7);
    assert_int_equal(rpmb_store_sqlite_ops.read_blocks(s, 5, 1, got, 256), 0);
    assert_bytes_equal(got, image + 5 * 256, 256);

    /* export gives back the same image, mode 0600 */
    (void)snprintf(img, sizeof(img), "%s/export.bin", dir);
    assert_int_equal(rpmb_store_export(s, img, err, sizeof(err)), 0);
    assert_int_equal(stat(img, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, N_BLOCKS * 256);
    f = fopen(img, "rb");
    assert_int_equal(fread(back, 1, N_BLOCKS * 256, f), N_BLOCKS * 256);
    fclose(f);
    assert_bytes_equal(back, image, N_BLOCKS * 256);

    /* wrong size refused */
    f = fopen(img, "ab");
    fputc(0, f);
    fclose(f);
    assert_int_equal(rpmb_store_import(s, img, err, sizeof(err)), -EINVAL);

    /* after key programming import is refused */
    rpmb_store_close(s);
    s = open_ok(UNITS);
    model_init(&r, s);
    assert_int_equal(program(&r), 0);
    (void)snprintf(img, sizeof(img), "%s/image.bin", dir);
    assert_int_equal(rpmb_store_import(s, img, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "key is programmed"));
    rpmb_store_close(s);
    free(image);
    free(back);
}

static void expiry_via_test_counter(void **state)
{
    struct rpmb_store *s = open_ok(UNITS);
    struct rpmb r;

    model_init(&r, s);
    assert_int_equal(program(&r), 0);
    assert_int_equal(rpmb_store_sqlite_set_counter_for_test(s, 0xfffffffe), 0);
    model_init(&r, s);
    assert_int_equal(write_blocks(&r, 1, 1, 0xfffffffe, 1), 0x0080);
    assert_int_equal(write_blocks(&r, 1, 1, 0xffffffff, 2), 0x0085);
    rpmb_store_close(s);
    /* expiry survives a restart */
    s = open_ok(UNITS);
    model_init(&r, s);
    assert_int_equal(rpmb_write_counter(&r), 0xffffffff);
    assert_int_equal(write_blocks(&r, 1, 1, 0xffffffff, 2), 0x0085);
    rpmb_store_close(s);
}

/* The store itself refuses a counter that does not increase. */
static void counter_monotonic_in_store(void **state)
{
    struct rpmb_store *s = open_ok(UNITS);
    uint8_t blk[256] = {1};
    bool key;
    uint32_t c;

    assert_int_equal(rpmb_store_sqlite_ops.write_blocks(s, 0, 1, blk, 256, 5),
                     0);
    assert_int_equal(rpmb_store_sqlite_ops.write_blocks(s, 0, 1, blk, 256, 5),
                     -EINVAL);
    blk[0] = 2;
    assert_int_equal(rpmb_store_sqlite_ops.write_blocks(s, 0, 1, blk, 256, 4),
                     -EINVAL);
    assert_int_equal(rpmb_store_sqlite_ops.load_state(s, &key, &c), 0);
    assert_int_equal(c, 5);
    assert_int_equal(rpmb_store_sqlite_ops.read_blocks(s, 0, 1, blk, 256), 0);
    assert_int_equal(blk[0], 1);
    assert_int_equal(
        rpmb_store_sqlite_ops.read_blocks(s, N_BLOCKS, 1, blk, 256), -ERANGE);
    rpmb_store_close(s);
}

/* ---- a VFS that fails writes or syncs on demand ---- */

static sqlite3_vfs faulty_vfs;
static sqlite3_vfs *base_vfs;
static int fail_mode; /* 0 none, 1 fail xSync, 2 fail xWrite */
static int n_failures;

struct faulty_file {
    sqlite3_file base;  /* our methods */
    sqlite3_file *real; /* the default VFS's file, after us */
};

static struct sqlite3_io_methods faulty_methods;

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((struct faulty_file *)f)->real;
}

static int ff_close(sqlite3_file *f)
{
    int rc = real_of(f)->pMethods->xClose(real_of(f));

    sqlite3_free(real_of(f));
    return rc;
}

static int ff_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    return real_of(f)->pMethods->xRead(real_of(f), p, n, off);
}

static int ff_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    if (fail_mode == 2) {
        n_failures++;
        return SQLITE_IOERR_WRITE;
    }
    return real_of(f)->pMethods->xWrite(real_of(f), p, n, off);
}

static int ff_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int ff_sync(sqlite3_file *f, int flags)
{
    if (fail_mode == 1) {
        n_failures++;
        return SQLITE_IOERR_FSYNC;
    }
    return real_of(f)->pMethods->xSync(real_of(f), flags);
}

static int ff_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int ff_lock(sqlite3_file *f, int l)
{
    return real_of(f)->pMethods->xLock(real_of(f), l);
}

static int ff_unlock(sqlite3_file *f, int l)
{
    return real_of(f)->pMethods->xUnlock(real_of(f), l);
}

static int ff_check(sqlite3_file *f, int *out)
{
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int ff_fcntl(sqlite3_file *f, int op, void *arg)
{
    return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int ff_sector(sqlite3_file *f)
{
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int ff_dev(sqlite3_file *f)
{
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int fv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
                   int flags, int *out_flags)
{
    struct faulty_file *ff = (struct faulty_file *)f;
    int rc;

    ff->real = sqlite3_malloc(base_vfs->szOsFile);
    if (ff->real == NULL) {
        return SQLITE_NOMEM;
    }
    memset(ff->real, 0, (size_t)base_vfs->szOsFile);
    rc = base_vfs->xOpen(base_vfs, name, ff->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        sqlite3_free(ff->real);
        ff->base.pMethods = NULL;
        return rc;
    }
    ff->base.pMethods = &faulty_methods;
    return SQLITE_OK;
}

static void register_faulty_vfs(void)
{
    static bool done;

    if (done) {
        return;
    }
    base_vfs = sqlite3_vfs_find(NULL);
    faulty_vfs = *base_vfs;
    faulty_vfs.zName = "tv-faulty";
    faulty_vfs.szOsFile = (int)sizeof(struct faulty_file);
    faulty_vfs.xOpen = fv_open;
    faulty_vfs.pNext = NULL;
    faulty_methods = (struct sqlite3_io_methods){
        .iVersion = 1,
        .xClose = ff_close,
        .xRead = ff_read,
        .xWrite = ff_write,
        .xTruncate = ff_truncate,
        .xSync = ff_sync,
        .xFileSize = ff_size,
        .xLock = ff_lock,
        .xUnlock = ff_unlock,
        .xCheckReservedLock = ff_check,
        .xFileControl = ff_fcntl,
        .xSectorSize = ff_sector,
        .xDeviceCharacteristics = ff_dev,
    };
    assert_int_equal(sqlite3_vfs_register(&faulty_vfs, 0), SQLITE_OK);
    done = true;
}

static void sqlite_io_failure(void **state)
{
    struct rpmb_store *s;
    struct rpmb r;
    uint8_t data[2 * 256];
    uint8_t want[256];
    int mode;
    uint32_t counter = 0;
    uint8_t last_fill = 0x10;

    register_faulty_vfs();
    s = rpmb_store_sqlite_open_vfs(db_path, UNITS, "tv-faulty", err,
                                   sizeof(err));
    assert_non_null(s);
    model_init(&r, s);
    assert_int_equal(program(&r), 0);
    assert_int_equal(write_blocks(&r, 4, 2, counter++, 0x10), 0);

    for (mode = 1; mode <= 2; mode++) {
        /* a failing fsync (1) or write (2) in the commit */
        fail_mode = mode;
        n_failures = 0;
        assert_int_equal(write_blocks(&r, 4, 2, counter, 0x20 + mode),
                         VIRTIO_RPMB_RES_WRITE_FAILURE);
        fail_mode = 0;
        assert_true(n_failures > 0);
        assert_int_equal(load_be32(resp + VIRTIO_RPMB_OFF_WRITE_COUNTER),
                         counter);
        assert_int_equal(rpmb_write_counter(&r), counter);
        /* nothing changed, seen through the same connection */
        read_blocks(&r, 4, 2, data);
        memset(want, last_fill, 256);
        assert_bytes_equal(data, want, 256);
        memset(want, last_fill + 1, 256);
        assert_bytes_equal(data + 256, want, 256);
        /* and the device keeps working */
        last_fill = (uint8_t)(0x30 + mode);
        assert_int_equal(write_blocks(&r, 4, 2, counter++, last_fill), 0);
    }
    rpmb_store_close(s);

    /* after a restart: the acknowledged writes, nothing else */
    s = open_ok(UNITS);
    model_init(&r, s);
    assert_int_equal(rpmb_write_counter(&r), counter);
    read_blocks(&r, 4, 2, data);
    memset(want, 0x32, 256);
    assert_bytes_equal(data, want, 256);
    memset(want, 0x33, 256);
    assert_bytes_equal(data + 256, want, 256);
    rpmb_store_close(s);

    /* a store that fails key programming stays unkeyed */
    unlink(db_path);
    s = rpmb_store_sqlite_open_vfs(db_path, UNITS, "tv-faulty", err,
                                   sizeof(err));
    assert_non_null(s);
    model_init(&r, s);
    fail_mode = 1;
    assert_int_equal(program(&r), VIRTIO_RPMB_RES_WRITE_FAILURE);
    fail_mode = 0;
    assert_false(rpmb_key_programmed(&r));
    rpmb_store_close(s);
    s = open_ok(UNITS);
    model_init(&r, s);
    assert_false(rpmb_key_programmed(&r));
    assert_int_equal(program(&r), 0);
    rpmb_store_close(s);

    /*
     * A failed fsync is the last thing before close: the frames of the
     * refused write are in the WAL file, yet must not come back.
     */
    s = rpmb_store_sqlite_open_vfs(db_path, UNITS, "tv-faulty", err,
                                   sizeof(err));
    assert_non_null(s);
    model_init(&r, s);
    fail_mode = 1;
    assert_int_equal(write_blocks(&r, 9, 1, 0, 0x44),
                     VIRTIO_RPMB_RES_WRITE_FAILURE);
    fail_mode = 0;
    rpmb_store_close(s);
    s = open_ok(UNITS);
    model_init(&r, s);
    assert_int_equal(rpmb_write_counter(&r), 0);
    read_blocks(&r, 9, 1, data);
    memset(want, 0, 256);
    assert_bytes_equal(data, want, 256);
    rpmb_store_close(s);
}

static off_t file_size(const char *suffix)
{
    char p[160];
    struct stat sb;

    (void)snprintf(p, sizeof(p), "%s%s", db_path, suffix);
    assert_int_equal(stat(p, &sb), 0);
    return sb.st_size;
}

/*
 * Neither the database nor the WAL changes size on a write, from the first
 * one on (a file-size change makes each fdatasync() a journal commit too):
 * 200 single-block writes run through an autocheckpoint and a WAL restart,
 * then one write of 7 blocks.
 */
static void files_never_grow(void **state)
{
    struct rpmb_store *s = open_ok(UNITS);
    struct rpmb r;
    off_t db0, wal0;
    uint32_t c;

    model_init(&r, s);
    db0 = file_size("");
    wal0 = file_size("-wal");
    assert_true(wal0 >= 384 * 1024);
    assert_int_equal(program(&r), 0);
    for (c = 0; c < 200; c++) {
        assert_int_equal(write_blocks(&r, (uint16_t)((c * 37u) % N_BLOCKS), 1,
                                      c, (uint8_t)c),
                         0);
    }
    assert_int_equal(write_blocks(&r, 100, 7, c, 0x33), 0);
    assert_int_equal(rpmb_write_counter(&r), 201);
    assert_int_equal(file_size(""), db0);
    assert_int_equal(file_size("-wal"), wal0);
    rpmb_store_close(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, mkdir_setup, rmdir_teardown)

static const struct CMUnitTest tests[] = {
    T(create_mode_0600),        T(restart_keeps_state),
    T(exclusive_lock),          T(capacity_mismatch_refused),
    T(corrupt_refused),         T(export_import),
    T(expiry_via_test_counter), T(counter_monotonic_in_store),
    T(sqlite_io_failure),       T(files_never_grow),
};

HARNESS_MAIN("store", tests)
