/* SPDX-License-Identifier: MIT */
/*
 * Device identity: the CA and leaf devid_init_dir() writes, checked with
 * OpenSSL's own chain verifier; key-file permission refusals; no overwrite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "pki/devid.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tv-devid-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    static const char *const f[] = {"ca.pem",     "ca.der",     "ca.key",
                                    "device.pem", "device.der", "device.key"};
    char p[128];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, f[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static void chain_and_fields(void **state)
{
    struct devid d;
    struct crypto_x509 ca, leaf;
    char err[256], name[256];
    struct stat st;
    char p[128];
    uint8_t sig[96];

    (void)state;
    assert_int_equal(devid_init_dir(dir, "nvme0", err, sizeof(err)), 0);
    snprintf(p, sizeof(p), "%s/device.key", dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(p, sizeof(p), "%s/ca.key", dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(devid_open(&d, dir, err, sizeof(err)), 0);
    assert_int_equal(crypto_x509_parse(&ca, d.chain, d.ca_len), 0);
    assert_int_equal(
        crypto_x509_parse(&leaf, d.chain + d.ca_len, d.chain_len - d.ca_len),
        0);
    assert_int_equal(crypto_x509_verify_chain_openssl(
                         d.chain, d.ca_len, NULL, NULL, 0, d.chain + d.ca_len,
                         d.chain_len - d.ca_len, (int64_t)time(NULL), err,
                         sizeof(err)),
                     0);
    assert_true(ca.bc_ca && ca.bc_critical);
    assert_true(leaf.bc_present && !leaf.bc_ca && leaf.bc_critical);
    assert_true(leaf.ku_critical);
    assert_int_equal(leaf.ku_bits, CRYPTO_KU_DIGITAL_SIGNATURE);
    assert_true(leaf.sig_es384 && leaf.key_p384);
    assert_int_equal(leaf.unknown_critical, 0);
    assert_string_equal(crypto_x509_subject(&leaf, name, sizeof(name)),
                        "O=trustvio, CN=nvme0.trustvio");
    assert_true(leaf.not_after_s - leaf.not_before_s > 19LL * 365 * 24 * 3600);
    /* the key signs, the leaf verifies */
    assert_int_equal(crypto_ecdsa_p384_sign(d.key, "m", 1, sig), 0);
    assert_true(crypto_ecdsa_p384_verify(leaf.key, "m", 1, sig));
    crypto_x509_release(&ca);
    crypto_x509_release(&leaf);
    devid_close(&d);
    /* no overwrite */
    assert_int_equal(devid_init_dir(dir, "nvme0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "already exists"));
}

static void key_permissions(void **state)
{
    struct devid d;
    char err[256], p[128];

    (void)state;
    assert_int_equal(devid_init_dir(dir, "dev", err, sizeof(err)), 0);
    snprintf(p, sizeof(p), "%s/device.key", dir);
    assert_int_equal(chmod(p, 0640), 0);
    assert_int_equal(devid_open(&d, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mode 0600"));
    assert_int_equal(chmod(p, 0604), 0);
    assert_int_equal(devid_open(&d, dir, err, sizeof(err)), -1);
    assert_int_equal(chmod(p, 0400), 0);
    assert_int_equal(devid_open(&d, dir, err, sizeof(err)), 0);
    devid_close(&d);
    /* a missing key */
    assert_int_equal(unlink(p), 0);
    assert_int_equal(devid_open(&d, dir, err, sizeof(err)), -1);
}

static void bad_names_and_mismatch(void **state)
{
    struct devid d;
    char err[256], p[128], q[160];
    char other[64];

    (void)state;
    assert_int_equal(devid_init_dir(dir, "", err, sizeof(err)), -1);
    assert_int_equal(devid_init_dir(dir, "a/b", err, sizeof(err)), -1);
    assert_int_equal(devid_init_dir(dir, "a b", err, sizeof(err)), -1);
    /* another identity's leaf under this CA is refused */
    assert_int_equal(devid_init_dir(dir, "one", err, sizeof(err)), 0);
    snprintf(other, sizeof(other), "/tmp/tv-devid2-XXXXXX");
    assert_non_null(mkdtemp(other));
    assert_int_equal(devid_init_dir(other, "two", err, sizeof(err)), 0);
    snprintf(p, sizeof(p), "%s/device.der", other);
    snprintf(q, sizeof(q), "%s/device.der", dir);
    assert_int_equal(rename(p, q), 0);
    assert_int_equal(devid_open(&d, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "issued by"));
    {
        static const char *const f[] = {"ca.pem", "ca.der", "ca.key",
                                        "device.pem", "device.key"};
        size_t i;
        for (i = 0; i < 5; i++) {
            snprintf(p, sizeof(p), "%s/%s", other, f[i]);
            unlink(p);
        }
        rmdir(other);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(chain_and_fields, setup, teardown),
    cmocka_unit_test_setup_teardown(key_permissions, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_names_and_mismatch, setup, teardown),
};

HARNESS_MAIN("devid", tests)
