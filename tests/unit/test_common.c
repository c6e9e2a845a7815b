/* SPDX-License-Identifier: MIT */
/* Byte cursors, endian helpers, hex, constant-time compare and wipe. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#include "common/atomic_file.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/ct.h"
#include "common/hex.h"

static void cursor_take_bounds(void **state)
{
    const uint8_t buf[5] = {1, 2, 3, 4, 5};
    struct bytes b = bytes_of(buf, sizeof(buf));
    const uint8_t *p;

    assert_true(bytes_take(&b, 2, &p));
    assert_ptr_equal(p, buf);
    assert_int_equal(b.len, 3);
    /* too many: refused, cursor unchanged */
    assert_false(bytes_take(&b, 4, &p));
    assert_int_equal(b.len, 3);
    assert_ptr_equal(b.p, buf + 2);
    assert_true(bytes_skip(&b, 3));
    assert_int_equal(b.len, 0);
    assert_false(bytes_skip(&b, 1));
    /* SIZE_MAX must not wrap the check */
    b = bytes_of(buf, sizeof(buf));
    assert_false(bytes_take(&b, SIZE_MAX, &p));
}

static void endian_round_trip(void **state)
{
    uint8_t be[8], le[8];
    const uint8_t want_be[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

    store_be64(be, 0x0123456789abcdefull);
    assert_bytes_equal(be, want_be, 8);
    assert_true(load_be64(be) == 0x0123456789abcdefull);
    assert_int_equal(load_be32(be), 0x01234567u);
    assert_int_equal(load_be16(be + 6), 0xcdef);
    store_le64(le, 0x0123456789abcdefull);
    assert_int_equal(le[0], 0xef);
    assert_int_equal(le[7], 0x01);
    assert_true(load_le64(le) == 0x0123456789abcdefull);
    store_be16(be, 0xbeef);
    assert_int_equal(load_be16(be), 0xbeef);
    store_le16(le, 0xbeef);
    assert_int_equal(load_le16(le), 0xbeef);
    store_be32(be, 0xdeadbeef);
    assert_int_equal(load_be32(be), 0xdeadbeefu);
    store_le32(le, 0xdeadbeef);
    assert_int_equal(load_le32(le), 0xdeadbeefu);
}

static void hex_codec(void **state)
{
    uint8_t out[4];
    char txt[9];

    assert_int_equal(hex_decode("0aFf10", out, sizeof(out)), 3);
    assert_int_equal(out[0], 0x0a);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(out[2], 0x10);
    assert_int_equal(hex_decode("0x0102", out, sizeof(out)), 2);
    assert_int_equal(hex_decode("", out, sizeof(out)), 0);
    assert_int_equal(hex_decode("abc", out, sizeof(out)), -1);
    assert_int_equal(hex_decode("zz", out, sizeof(out)), -1);
    assert_int_equal(hex_decode("0102030405", out, sizeof(out)), -1);
    hex_encode((const uint8_t *)"\x01\xab\xff\x00", 4, txt);
    assert_string_equal(txt, "01abff00");
}

static void ct_compare_and_wipe(void **state)
{
    uint8_t a[32], b[32];
    size_t i;

    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_true(ct_eq(a, b, sizeof(a)));
    for (i = 0; i < sizeof(a); i++) {
        b[i] ^= 0x01;
        assert_false(ct_eq(a, b, sizeof(a)));
        b[i] ^= 0x01;
    }
    assert_true(ct_eq(a, b, 0));
    wipe(a, sizeof(a));
    for (i = 0; i < sizeof(a); i++) {
        assert_int_equal(a[i], 0);
    }
    wipe(NULL, 10); /* tolerated */
}

/* Files in @dir besides "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void read_back(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/*
 * The mode is the one asked for whatever the umask, a replacement leaves no
 * temporary file, an aborted one leaves the old content, and a symlink in
 * the final place is replaced, never written through.
 */
static void atomic_file_replace(void **state)
{
    char dir[] = "/tmp/tv-atomic-XXXXXX";
    char path[64], victim[64], buf[64];
    struct tv_atomic_file af;
    struct stat st;
    mode_t old_umask;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/f", dir);
    snprintf(victim, sizeof(victim), "%s/victim", dir);

    old_umask = umask(0);
    assert_int_equal(tv_write_file_atomic(path, "one", 3, 0600), 0);
    umask(old_umask);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    old_umask = umask(0077);
    assert_int_equal(tv_write_file_atomic(path, "two", 3, 0644), 0);
    umask(old_umask);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    read_back(path, buf, sizeof(buf));
    assert_string_equal(buf, "two");
    assert_int_equal(count_entries(dir), 1);

    assert_int_equal(tv_atomic_open(&af, path, 0600), 0);
    assert_int_equal(tv_atomic_write(&af, "three", 5), 0);
    tv_atomic_abort(&af);
    read_back(path, buf, sizeof(buf));
    assert_string_equal(buf, "two");
    assert_int_equal(count_entries(dir), 1);

    /* a symlink at the final name is replaced; its target is untouched */
    assert_int_equal(tv_write_file_atomic(victim, "keep", 4, 0600), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(tv_write_file_atomic(path, "four", 4, 0600), 0);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    read_back(victim, buf, sizeof(buf));
    assert_string_equal(buf, "keep");

    /* a missing directory is an error, not a crash */
    snprintf(buf, sizeof(buf), "%s/none/f", dir);
    assert_int_equal(tv_write_file_atomic(buf, "x", 1, 0600), -ENOENT);

    unlink(path);
    unlink(victim);
    assert_int_equal(rmdir(dir), 0);
}

static void set_err_and_clocks(void **state)
{
    char err[8];
    uint64_t a, b;

    (void)state;
    tv_set_err(err, sizeof(err), "%s %d", "abcdef", 12345);
    assert_string_equal(err, "abcdef ");
    tv_set_err(NULL, 0, "ignored");
    tv_set_err(err, 0, "ignored");
    assert_string_equal(err, "abcdef ");
    /* after 2020-01-01 and consistent in its two units */
    assert_true(tv_wall_ms() > 1577836800000ull);
    assert_true(tv_wall_s() >= (int64_t)(tv_wall_ms() / 1000) - 1);
    a = tv_mono_ms();
    usleep(20000);
    b = tv_mono_ms();
    assert_true(b >= a + 15);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(cursor_take_bounds),
    cmocka_unit_test(endian_round_trip),
    cmocka_unit_test(hex_codec),
    cmocka_unit_test(ct_compare_and_wipe),
    cmocka_unit_test(atomic_file_replace),
    cmocka_unit_test(set_err_and_clocks),
};

HARNESS_MAIN("common", tests)
