/* SPDX-License-Identifier: MIT */
/*
 * Test helpers shared by the unit tests: a named test table so a subset runs
 * (`test_nsm describe_pcr extend_pcr`), hex-dump diffs on mismatch, and
 * reading vector files from tests/vectors.
 */
#ifndef TV_TESTS_HARNESS_H
#define TV_TESTS_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/**
 * harness_run() - run the tests of @tests whose names are in argv[1..], or
 * all of them when none are named. Return: cmocka's failure count.
 */
int harness_run(const char *group, const struct CMUnitTest *tests, size_t n,
                int argc, char **argv);

#define HARNESS_MAIN(group, table)                                             \
    int main(int argc, char **argv)                                            \
    {                                                                          \
        return harness_run(group, table, sizeof(table) / sizeof(table[0]),     \
                           argc, argv);                                        \
    }

/**
 * assert_bytes_equal() - fail with a hex dump of both buffers, the first
 * differing offset marked, unless @a and @b hold the same @len bytes.
 */
#define assert_bytes_equal(a, b, len)                                          \
    harness_bytes_equal((const uint8_t *)(a), (const uint8_t *)(b), (len),     \
                        __FILE__, __LINE__)
void harness_bytes_equal(const uint8_t *a, const uint8_t *b, size_t len,
                         const char *file, int line);

/**
 * harness_read_vector() - read tests/vectors/@rel into @buf.
 * Return: its size; fails the test if missing or larger than @cap.
 */
size_t harness_read_vector(const char *rel, uint8_t *buf, size_t cap);

/* harness_hex() - decode a hex literal into @buf; fails the test if bad. */
size_t harness_hex(const char *hex, uint8_t *buf, size_t cap);

/**
 * harness_file_has() - whether the first 64 KiB of the file at @path (a
 * daemon's log, /proc/PID/status) hold the string @s; false when the file
 * cannot be opened.
 */
bool harness_file_has(const char *path, const char *s);

/**
 * harness_preload() - in a child about to exec a daemon: LD_PRELOAD @lib,
 * and let ASan (when the daemon has it) accept a library loaded before it
 * (verify_asan_link_order=0 added to ASAN_OPTIONS).
 */
void harness_preload(const char *lib);

#endif
