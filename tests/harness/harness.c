/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"

/* see harness.h */
int harness_run(const char *group, const struct CMUnitTest *tests, size_t n,
                int argc, char **argv)
{
    struct CMUnitTest *sel;
    size_t i, k = 0;
    int a, rc;

    if (argc <= 1) {
        return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    }
    sel = calloc(n, sizeof(*sel));
    if (sel == NULL) {
        return 1;
    }
    for (a = 1; a < argc; a++) {
        int found = 0;
        for (i = 0; i < n; i++) {
            if (strcmp(tests[i].name, argv[a]) == 0) {
                sel[k++] = tests[i];
                found = 1;
            }
        }
        if (!found) {
            fprintf(stderr, "%s: no test named %s\n", group, argv[a]);
            free(sel);
            return 1;
        }
    }
    rc = _cmocka_run_group_tests(group, sel, k, NULL, NULL);
    free(sel);
    return rc;
}

static void dump(const char *label, const uint8_t *p, size_t len, size_t mark)
{
    size_t i;

    fprintf(stderr, "%s:", label);
    for (i = 0; i < len; i++) {
        if (i % 16 == 0) {
            fprintf(stderr, "\n  %04zx:", i);
        }
        fprintf(stderr, i == mark ? "[%02x]" : " %02x", p[i]);
    }
    fprintf(stderr, "\n");
}

/* see harness.h */
void harness_bytes_equal(const uint8_t *a, const uint8_t *b, size_t len,
                         const char *file, int line)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (a[i] != b[i]) {
            break;
        }
    }
    if (i == len) {
        return;
    }
    fprintf(stderr, "%s:%d: buffers differ at offset %zu of %zu\n", file, line,
            i, len);
    dump("actual", a, len, i);
    dump("expected", b, len, i);
    fail_msg("buffers differ at offset %zu", i);
}

/* see harness.h */
size_t harness_read_vector(const char *rel, uint8_t *buf, size_t cap)
{
    char path[4096];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", TV_VECTORS_DIR, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open vector %s", path);
    }
    n = fread(buf, 1, cap, f);
    if (n == cap && fgetc(f) != EOF) {
        fclose(f);
        fail_msg("vector %s larger than %zu bytes", path, cap);
    }
    fclose(f);
    return n;
}

/* see harness.h */
size_t harness_hex(const char *hex, uint8_t *buf, size_t cap)
{
    long n = hex_decode(hex, buf, cap);

    if (n < 0) {
        fail_msg("bad hex literal %s", hex);
    }
    return (size_t)n;
}

/* see harness.h */
bool harness_file_has(const char *path, const char *s)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        return false;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, s) != NULL;
}

/* see harness.h */
void harness_preload(const char *lib)
{
    char asan[512];
    const char *old = getenv("ASAN_OPTIONS");

    setenv("LD_PRELOAD", lib, 1);
    snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0",
             old != NULL ? old : "", old != NULL ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
}
