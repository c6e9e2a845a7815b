/* SPDX-License-Identifier: MIT */
/*
 * The NSM signer process (src/daemon/signer.c), driven over its socketpair:
 * it issues leaves for well-formed requests only, stays up after malformed
 * ones, refuses to start on key files others can read, and leaf renewal
 * through pki_open_issuer() gets a fresh leaf from it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#include "common/bug.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "daemon/signer.h"
#include "pki/pki.h"

#define MODULE_ID "i-0123456789abcdef0-enc0123456789abcdef"

static char dir[64];
static char pki_dir[96];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(crypto_init(), 0);
    snprintf(dir, sizeof(dir), "/tmp/tv-signer-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(pki_dir, sizeof(pki_dir), "%s/pki", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

/* Send @len bytes, return the answer's status byte (-1: none). */
static int ask(struct signer *sg, const uint8_t *req, size_t len, uint8_t *ans,
               size_t cap, ssize_t *ans_len)
{
    ssize_t r;

    assert_int_equal(send(sg->fd, req, len, 0), (ssize_t)len);
    r = recv(sg->fd, ans, cap, 0);
    if (ans_len != NULL) {
        *ans_len = r;
    }
    return r >= 1 ? ans[0] : -1;
}

static void issue_and_refuse(void **state)
{
    static uint8_t ans[SIGNER_MSG_MAX];
    struct signer sg;
    struct crypto_key *key = crypto_key_generate_p384();
    struct crypto_x509 leaf, inter;
    uint8_t req[4 + PKI_SPKI_MAX + 8];
    uint8_t spki[PKI_SPKI_MAX], got[PKI_SPKI_MAX];
    char err[256];
    long spki_len;
    ssize_t n;

    (void)state;
    assert_int_equal(
        signer_start(&sg, pki_dir, MODULE_ID, true, err, sizeof(err)), 0);
    assert_true(sg.root_len > 100 && sg.inter_len > 100);
    assert_non_null(key);
    spki_len = crypto_key_spki_der(key, spki, sizeof(spki));
    assert_true(spki_len > 0);

    /* well-formed: a leaf for exactly this key, under the intermediate */
    req[0] = SIGNER_REQ_ISSUE;
    req[1] = SIGNER_VERSION;
    req[2] = 0;
    req[3] = (uint8_t)spki_len;
    memcpy(req + 4, spki, (size_t)spki_len);
    assert_int_equal(ask(&sg, req, 4 + (size_t)spki_len, ans, sizeof(ans), &n),
                     SIGNER_OK);
    assert_int_equal(crypto_x509_parse(&leaf, ans + 1, (size_t)n - 1), 0);
    assert_int_equal(crypto_x509_parse(&inter, sg.inter_der, sg.inter_len), 0);
    assert_true(crypto_x509_signed_by(&leaf, &inter));
    assert_int_equal(crypto_key_spki_der(leaf.key, got, sizeof(got)), spki_len);
    assert_bytes_equal(got, spki, (size_t)spki_len);
    assert_false(leaf.bc_ca);
    crypto_x509_release(&leaf);
    crypto_x509_release(&inter);

    /* malformed: each refused, none answered with a certificate */
    {
        uint8_t bad[sizeof(req)];

        memcpy(bad, req, sizeof(req));
        bad[0] = 'S'; /* "sign this" is not a question it answers */
        assert_int_equal(
            ask(&sg, bad, 4 + (size_t)spki_len, ans, sizeof(ans), NULL),
            SIGNER_REFUSED);
        memcpy(bad, req, sizeof(req));
        bad[1] = 2; /* unknown version */
        assert_int_equal(
            ask(&sg, bad, 4 + (size_t)spki_len, ans, sizeof(ans), NULL),
            SIGNER_REFUSED);
        /* length field and datagram disagree, both ways */
        assert_int_equal(
            ask(&sg, req, 3 + (size_t)spki_len, ans, sizeof(ans), NULL),
            SIGNER_REFUSED);
        bad[1] = SIGNER_VERSION;
        memset(bad + 4 + spki_len, 0, 4);
        assert_int_equal(
            ask(&sg, req, 8 + (size_t)spki_len, ans, sizeof(ans), NULL),
            SIGNER_REFUSED);
        /* too short for a header, and an empty key */
        assert_int_equal(ask(&sg, req, 2, ans, sizeof(ans), NULL),
                         SIGNER_REFUSED);
        memcpy(bad, req, 4);
        bad[3] = 0;
        assert_int_equal(ask(&sg, bad, 4, ans, sizeof(ans), NULL),
                         SIGNER_REFUSED);
        /* a key too long to be P-384 */
        memcpy(bad, req, 4);
        bad[2] = 0x01;
        bad[3] = 0x00;
        assert_int_equal(
            ask(&sg, bad, 4 + (size_t)spki_len, ans, sizeof(ans), NULL),
            SIGNER_REFUSED);
        /* garbage of the right length, and the key with one byte flipped */
        memcpy(bad, req, 4 + (size_t)spki_len);
        memset(bad + 4, 0x41, (size_t)spki_len);
        assert_int_equal(
            ask(&sg, bad, 4 + (size_t)spki_len, ans, sizeof(ans), NULL),
            SIGNER_REFUSED);
        memcpy(bad, req, 4 + (size_t)spki_len);
        bad[4 + 1] ^= 0x01; /* DER length of the SPKI SEQUENCE */
        assert_int_equal(
            ask(&sg, bad, 4 + (size_t)spki_len, ans, sizeof(ans), NULL),
            SIGNER_REFUSED);
    }
    /* still up and still answering */
    assert_int_equal(
        ask(&sg, req, 4 + (size_t)spki_len, ans, sizeof(ans), NULL), SIGNER_OK);
    crypto_key_free(key);
    signer_stop(&sg);
}

/* Renewal through the signer: a later signing time gets a new leaf. */
static void renewal_through_signer(void **state)
{
    struct signer sg;
    struct pki *pki;
    const struct nsm_signer *s1, *s2;
    static uint8_t first[CRYPTO_X509_DER_MAX];
    size_t first_len;
    char err[256];
    uint64_t now_ms = (uint64_t)time(NULL) * 1000;

    (void)state;
    assert_int_equal(
        signer_start(&sg, pki_dir, MODULE_ID, true, err, sizeof(err)), 0);
    pki = pki_open_issuer(sg.root_der, sg.root_len, sg.inter_der, sg.inter_len,
                          signer_issue, &sg, err, sizeof(err));
    assert_non_null(pki);
    assert_int_equal(pki_get_signer(pki, now_ms, &s1), 0);
    first_len = s1->cert_len;
    memcpy(first, s1->cert, first_len);
    /* two and a half hours on: less than an hour of validity left */
    assert_int_equal(pki_get_signer(pki, now_ms + 9000ull * 1000, &s2), 0);
    assert_false(s2->cert_len == first_len &&
                 memcmp(s2->cert, first, first_len) == 0);
    /* the signer gone: no renewal, and no stale signer handed out */
    signer_stop(&sg);
    assert_int_equal(pki_get_signer(pki, now_ms + 9001ull * 1000, &s2), -1);
    pki_close(pki);
}

/* Key files like ssh: too open, not ours, or a symlink: refused with why. */
static void key_file_checks(void **state)
{
    struct signer sg;
    char err[256];
    char key[160], moved[160];

    (void)state;
    /* the PKI of the tests above exists: break it three ways */
    snprintf(key, sizeof(key), "%s/intermediate.key", pki_dir);
    snprintf(moved, sizeof(moved), "%s/elsewhere.key", dir);
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(
        signer_start(&sg, pki_dir, MODULE_ID, true, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too open"));
    assert_non_null(strstr(err, "intermediate.key"));
    assert_int_equal(chmod(key, 0600), 0);

    if (geteuid() == 0) {
        assert_int_equal(chown(key, 65534, 65534), 0);
        assert_int_equal(
            signer_start(&sg, pki_dir, MODULE_ID, true, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "owned by uid 65534"));
        assert_int_equal(chown(key, 0, 0), 0);
    }

    assert_int_equal(rename(key, moved), 0);
    assert_int_equal(symlink(moved, key), 0);
    assert_int_equal(
        signer_start(&sg, pki_dir, MODULE_ID, true, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "symbolic link"));
    assert_int_equal(unlink(key), 0);
    assert_int_equal(rename(moved, key), 0);

    /* the root key is never loaded but must not be readable either */
    snprintf(key, sizeof(key), "%s/root.key", pki_dir);
    assert_int_equal(chmod(key, 0640), 0);
    assert_int_equal(
        signer_start(&sg, pki_dir, MODULE_ID, true, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "root.key"));
    assert_int_equal(chmod(key, 0600), 0);

    /* repaired: starts again */
    assert_int_equal(
        signer_start(&sg, pki_dir, MODULE_ID, true, err, sizeof(err)), 0);
    signer_stop(&sg);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(issue_and_refuse),
    cmocka_unit_test(renewal_through_signer),
    cmocka_unit_test(key_file_checks),
};

int main(int argc, char **argv)
{
    int rc;

    if (setup(NULL) != 0) {
        return 1;
    }
    rc = harness_run("signer", tests, TV_ARRAY_SIZE(tests), argc, argv);
    teardown(NULL);
    return rc;
}
