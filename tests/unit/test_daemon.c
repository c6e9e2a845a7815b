/* SPDX-License-Identifier: MIT */
/* The daemons' common code: daemon_release_code(). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

#include "daemon/daemon.h"

/* Written before the release: in .data, a private copy of its page. */
static int written = 1;

static int twice(int x)
{
    return 2 * x;
}

/* A relocated pointer in RELRO (.data.rel.ro), read-only once loaded. */
static int (*const relro_fn)(int) = twice;

/*
 * Read-only data (.rodata) with a whole page of its own, which the test
 * turns into a private copy as a debugger's breakpoint does with code.
 */
#define RO_LEN 16384
static const uint8_t ro_pages[RO_LEN] __attribute__((aligned(4096)));

/*
 * The mapping (from /proc/self/maps) holding @addr: its range and whether
 * it is an executable file mapping.
 */
static void mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    char line[512];
    FILE *f = fopen("/proc/self/maps", "r");

    assert_non_null(f);
    *lo = *hi = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long a, b;
        char perms[8];

        if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && addr >= a &&
            addr < b) {
            assert_int_equal(perms[2], 'x');
            *lo = a;
            *hi = b;
        }
    }
    fclose(f);
    assert_true(*hi > *lo);
}

/*
 * Pages of [lo, hi) mapped in this process, from /proc/self/pagemap (bit
 * 63: present). Only open/pread/close: no other code runs in between.
 */
static size_t present_pages(int fd, uintptr_t lo, uintptr_t hi, size_t page)
{
    uint64_t e[512];
    size_t n = 0;

    for (uintptr_t a = lo; a < hi;) {
        size_t k = (hi - a) / page < 512 ? (hi - a) / page : 512;
        ssize_t r = pread(fd, e, k * sizeof(e[0]), (off_t)(a / page * 8));

        if (r != (ssize_t)(k * sizeof(e[0]))) {
            return SIZE_MAX;
        }
        for (size_t i = 0; i < k; i++) {
            n += (size_t)(e[i] >> 63);
        }
        a += k * page;
    }
    return n;
}

/*
 * After daemon_release_code() the C library's code, every page of it
 * touched before, is mapped again only where it ran since (a few 64 KiB
 * fault-around windows), while a private copy of a read-only page, written
 * data and relocated pointers keep their values and code keeps running.
 */
static void release_code_unmaps_code_only(void **state)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo, hi;
    size_t before, after, total;
    volatile uint8_t sink = 0;
    int fd;

    uint8_t *copy;

    (void)state;
    written = getpid() & 0x7fff;
    /* write a page of read-only data, as ptrace(POKETEXT) would */
    copy = (uint8_t *)(((uintptr_t)ro_pages + page) & ~(uintptr_t)(page - 1));
    assert_int_equal(mprotect(copy, page, PROT_READ | PROT_WRITE), 0);
    copy[1] = 0xcc;
    assert_int_equal(mprotect(copy, page, PROT_READ), 0);
    /* a function of the C library, its code mapping touched page by page */
    mapping_of((uintptr_t)&fdatasync, &lo, &hi);
    total = (hi - lo) / page;
    for (uintptr_t a = lo; a < hi; a += page) {
        sink ^= *(const volatile uint8_t *)a;
    }
    (void)sink;
    fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    before = present_pages(fd, lo, hi, page);
    assert_int_equal(daemon_release_code(), 0);
    after = present_pages(fd, lo, hi, page);
    close(fd);
    fprintf(stderr, "libc code: %zu pages, %zu mapped before, %zu after\n",
            total, before, after);
    assert_int_equal(before, total);
    assert_true(after < total / 2);
    /* the private copy, RELRO, data and code are intact */
    assert_int_equal(copy[1], 0xcc);
    assert_int_equal(written, getpid() & 0x7fff);
    assert_int_equal(relro_fn(21), 42);
    assert_string_equal(strerror(0), "Success");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(release_code_unmaps_code_only),
};

HARNESS_MAIN("daemon", tests)
