/* SPDX-License-Identifier: MIT */
/*
 * A program written against AWS's nsm.h only, the way NSMAPI's
 * nsm-test/src/main.cc uses it: describe the module, check every PCR's
 * lock state, extend and lock PCRs, attestation documents with user data,
 * nonce and public key of 0..1024 bytes, random bytes, then the error
 * cases. Built against include/nsm.h, linked to libnsm.so.0, run against a
 * vhost-user-nsm backend through TRUSTVIO_NSM_SOCKET (or a real /dev/nsm).
 *
 * Prints one line per check; exit status 0 when all pass.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <nsm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATT_DOC_MAX (16 * 1024)
#define PCR_LEN     48

static int n_failed;
static int n_passed;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            n_passed++;                                                        \
        } else {                                                               \
            n_failed++;                                                        \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                        \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
        }                                                                      \
    } while (0)

static const char *ec_name(ErrorCode e)
{
    static const char *const names[] = {
        "SUCCESS",          "INVALID_ARGUMENT", "INVALID_INDEX",
        "INVALID_RESPONSE", "READ_ONLY_INDEX",  "INVALID_OPERATION",
        "BUFFER_TOO_SMALL", "INPUT_TOO_LARGE",  "INTERNAL_ERROR",
    };
    return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}

#define CHECK_EC(got, want)                                                    \
    CHECK((got) == (want), "%s: got %s, want %s", #got, ec_name(got),          \
          ec_name(want))

static NsmDescription check_description(int32_t fd)
{
    NsmDescription d;
    ErrorCode e;

    memset(&d, 0, sizeof(d));
    e = nsm_get_description(fd, &d);
    CHECK_EC(e, ERROR_CODE_SUCCESS);
    printf("NSM version %u.%u.%u, module %s, %u PCRs, %u locked, digest %d\n",
           d.version_major, d.version_minor, d.version_patch,
           (const char *)d.module_id, d.max_pcrs, d.locked_pcrs_len,
           (int)d.digest);
    CHECK(d.version_major == 1 && d.version_minor == 0 && d.version_patch == 0,
          "version");
    CHECK(d.module_id_len > 0 && d.module_id_len < 100 &&
              d.module_id[d.module_id_len] == 0 &&
              strlen((const char *)d.module_id) == d.module_id_len,
          "module_id NUL-terminated with module_id_len bytes");
    CHECK(d.max_pcrs == 32, "max_pcrs %u", d.max_pcrs);
    CHECK(d.digest == DIGEST_SHA384, "digest %d", (int)d.digest);
    CHECK(d.locked_pcrs_len == 16, "locked_pcrs_len %u", d.locked_pcrs_len);
    for (uint32_t i = 0; i < d.locked_pcrs_len && i < 64; i++) {
        CHECK(d.locked_pcrs[i] == i, "locked_pcrs[%u] = %u", i,
              d.locked_pcrs[i]);
    }
    return d;
}

/* nsm-test's check_pcr_locks: boot PCRs locked and unextendable. */
static void check_pcr_locks(int32_t fd, const NsmDescription *d)
{
    uint8_t data[PCR_LEN], dummy[PCR_LEN];
    uint32_t len;
    bool lock;

    memset(dummy, 0xab, sizeof(dummy));
    for (uint16_t i = 0; i < d->max_pcrs; i++) {
        len = sizeof(data);
        CHECK_EC(nsm_describe_pcr(fd, i, &lock, data, &len),
                 ERROR_CODE_SUCCESS);
        CHECK(len == PCR_LEN, "PCR %u length %u", i, len);
        CHECK(lock == (i < 16), "PCR %u lock %d", i, lock);
        if (i < 16) {
            len = sizeof(data);
            CHECK_EC(nsm_extend_pcr(fd, i, dummy, sizeof(dummy), data, &len),
                     ERROR_CODE_READ_ONLY_INDEX);
            CHECK_EC(nsm_lock_pcr(fd, i), ERROR_CODE_READ_ONLY_INDEX);
        }
    }
}

/* Extend a PCR twice, compare with the known answers, lock it. */
static void check_extend_and_lock(int32_t fd)
{
    static const uint8_t d1[] = {0x0b, 0x00, 0x37, 0x48,
                                 0x63, 0xff, 0x5c, 0x65};
    static const uint8_t d2[] = {0x65, 0x66, 0xff, 0x00, 0x17, 0x2c, 0x4d};
    static const char *want1 = "b33da05a0fdb71627c8c68fc4232281fc440edd6f0ac"
                               "7467fa497bbb907db32d957b5fd393845fa02c264a"
                               "d5ea233888";
    static const char *want2 = "022db9572e340c6fe4ae1ea55fc665226932209b42dd"
                               "8c42556000e913aea3ffec9e55c2cfa7efcc5dc52b"
                               "0ebf03eb5b";
    uint8_t out[PCR_LEN], again[PCR_LEN];
    char hex[2 * PCR_LEN + 1];
    uint32_t len = sizeof(out);
    bool lock = true;

    CHECK_EC(nsm_extend_pcr(fd, 16, d1, sizeof(d1), out, &len),
             ERROR_CODE_SUCCESS);
    for (int i = 0; i < PCR_LEN; i++) {
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
    }
    CHECK(len == PCR_LEN && strcmp(hex, want1) == 0, "PCR16 first extend %s",
          hex);
    len = sizeof(out);
    CHECK_EC(nsm_extend_pcr(fd, 16, d2, sizeof(d2), out, &len),
             ERROR_CODE_SUCCESS);
    for (int i = 0; i < PCR_LEN; i++) {
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
    }
    CHECK(strcmp(hex, want2) == 0, "PCR16 second extend %s", hex);
    len = sizeof(again);
    CHECK_EC(nsm_describe_pcr(fd, 16, &lock, again, &len), ERROR_CODE_SUCCESS);
    CHECK(!lock && memcmp(again, out, PCR_LEN) == 0, "describe after extend");

    CHECK_EC(nsm_lock_pcr(fd, 16), ERROR_CODE_SUCCESS);
    CHECK_EC(nsm_lock_pcr(fd, 16), ERROR_CODE_READ_ONLY_INDEX);
    len = sizeof(out);
    CHECK_EC(nsm_extend_pcr(fd, 16, d1, sizeof(d1), out, &len),
             ERROR_CODE_READ_ONLY_INDEX);
    len = sizeof(again);
    CHECK_EC(nsm_describe_pcr(fd, 16, &lock, again, &len), ERROR_CODE_SUCCESS);
    CHECK(lock, "PCR16 locked");
}

/* nsm-test's check_attestation: sizes 0..1024 of each field together. */
static void check_attestation(int32_t fd)
{
    static const uint32_t sizes[] = {0, 1, 100, 512, 1023, 1024};
    uint8_t *ud = malloc(1024), *nonce = malloc(1024), *pk = malloc(1024);
    uint8_t *doc = malloc(ATT_DOC_MAX);
    uint32_t len;

    if (ud == NULL || nonce == NULL || pk == NULL || doc == NULL) {
        CHECK(0, "out of memory");
        return;
    }
    memset(ud, 'u', 1024);
    memset(nonce, 'n', 1024);
    memset(pk, 'k', 1024);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        len = ATT_DOC_MAX;
        CHECK_EC(nsm_get_attestation_doc(fd, ud, sizes[i], nonce, sizes[i], pk,
                                         sizes[i], doc, &len),
                 ERROR_CODE_SUCCESS);
        CHECK(len > 3 * sizes[i] && doc[0] == 0x84 && doc[1] == 0x44,
              "document of %u bytes for fields of %u", len, sizes[i]);
        CHECK(memmem(doc, len, nonce, sizes[i]) != NULL,
              "nonce of %u bytes in the document", sizes[i]);
    }
    /* no optional fields at all */
    len = ATT_DOC_MAX;
    CHECK_EC(nsm_get_attestation_doc(fd, NULL, 0, NULL, 0, NULL, 0, doc, &len),
             ERROR_CODE_SUCCESS);
    printf("attestation document without fields: %u bytes\n", len);
    /* truncating copy into a small buffer */
    len = 64;
    CHECK_EC(nsm_get_attestation_doc(fd, NULL, 0, NULL, 0, NULL, 0, doc, &len),
             ERROR_CODE_BUFFER_TOO_SMALL);
    CHECK(len == 64, "truncated length %u", len);
    free(ud);
    free(nonce);
    free(pk);
    free(doc);
}

static void check_random(int32_t fd)
{
    uint8_t a[256], b[256];
    uintptr_t la = sizeof(a), lb = sizeof(b);

    CHECK_EC(nsm_get_random(fd, a, &la), ERROR_CODE_SUCCESS);
    CHECK_EC(nsm_get_random(fd, b, &lb), ERROR_CODE_SUCCESS);
    CHECK(la == 256 && lb == 256, "random lengths %lu %lu", (unsigned long)la,
          (unsigned long)lb);
    CHECK(memcmp(a, b, sizeof(a)) != 0, "two random draws differ");
    la = 7;
    CHECK_EC(nsm_get_random(fd, a, &la), ERROR_CODE_SUCCESS);
    CHECK(la == 7, "random of 7: %lu", (unsigned long)la);
}

static void check_errors(int32_t fd, const NsmDescription *d)
{
    uint8_t buf[PCR_LEN];
    uint8_t *big = calloc(1, 4096);
    uint32_t len = sizeof(buf);
    uintptr_t rlen = 0;
    bool lock;

    CHECK_EC(nsm_describe_pcr(fd, d->max_pcrs, &lock, buf, &len),
             ERROR_CODE_INVALID_INDEX);
    CHECK_EC(nsm_lock_pcr(fd, d->max_pcrs), ERROR_CODE_INVALID_INDEX);
    CHECK_EC(nsm_lock_pcrs(fd, (uint16_t)(d->max_pcrs + 1)),
             ERROR_CODE_INVALID_INDEX);
    CHECK_EC(nsm_extend_pcr(fd, 17, NULL, 0, buf, &len),
             ERROR_CODE_INVALID_ARGUMENT);
    CHECK_EC(nsm_get_random(fd, buf, &rlen), ERROR_CODE_INVALID_ARGUMENT);
    CHECK_EC(nsm_get_random(-1, buf, &rlen), ERROR_CODE_INVALID_ARGUMENT);
    len = sizeof(buf);
    if (big != NULL) {
        CHECK_EC(nsm_extend_pcr(fd, 17, big, 4096, buf, &len),
                 ERROR_CODE_INPUT_TOO_LARGE);
        CHECK_EC(
            nsm_get_attestation_doc(fd, big, 4096, NULL, 0, NULL, 0, buf, &len),
            ERROR_CODE_INPUT_TOO_LARGE);
    }
    len = sizeof(buf);
    CHECK_EC(nsm_extend_pcr(fd, 17, buf, 1, NULL, &len),
             ERROR_CODE_BUFFER_TOO_SMALL);
    CHECK(len == 0, "NULL output gives length 0");
    free(big);
}

/* nsm-test's lock_pcrs: all of them succeeds (twice), one more fails. */
static void check_lock_all(int32_t fd, uint16_t max_pcrs)
{
    NsmDescription d;
    uint8_t out[PCR_LEN];
    uint32_t len = sizeof(out);

    CHECK_EC(nsm_lock_pcrs(fd, max_pcrs), ERROR_CODE_SUCCESS);
    CHECK_EC(nsm_lock_pcrs(fd, max_pcrs), ERROR_CODE_SUCCESS);
    CHECK_EC(nsm_extend_pcr(fd, 31, out, 1, out, &len),
             ERROR_CODE_READ_ONLY_INDEX);
    CHECK_EC(nsm_get_description(fd, &d), ERROR_CODE_SUCCESS);
    CHECK(d.locked_pcrs_len == max_pcrs, "all %u PCRs locked (%u)", max_pcrs,
          d.locked_pcrs_len);
}

int main(void)
{
    NsmDescription d;
    int32_t fd, fd2;

    fd = nsm_lib_init();
    if (fd < 0) {
        perror("nsm_lib_init");
        return 1;
    }
    fd2 = nsm_lib_init(); /* a second, independent descriptor */
    CHECK(fd2 >= 0 && fd2 != fd, "second nsm_lib_init %d", fd2);
    d = check_description(fd);
    check_pcr_locks(fd, &d);
    check_extend_and_lock(fd);
    check_attestation(fd);
    check_random(fd);
    check_errors(fd, &d);
    nsm_lib_exit(fd2);
    check_random(fd); /* closing one descriptor leaves the other working */
    check_lock_all(fd, d.max_pcrs);
    nsm_lib_exit(fd);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed == 0 ? 0 : 1;
}
