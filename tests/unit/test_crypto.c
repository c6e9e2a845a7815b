/* SPDX-License-Identifier: MIT */
/*
 * Crypto adapter: HMAC-SHA256 against RFC 4231, SHA-256/384 known answers
 * (FIPS 180-2 examples), incremental = one-shot, ECDSA P-384 sign/verify
 * round trip with tampering, DRBG output, ct_eq and wipe, and the serials
 * the certificate issuer writes.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#include "common/bug.h"
#include "common/ct.h"
#include "crypto/aes_ni.h"
#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "crypto/x509_int.h"

struct hmac_case {
    const char *key_hex; /* or NULL with key_fill/key_len */
    uint8_t key_fill;
    size_t key_len;
    const char *data; /* text, or NULL with data_fill/data_len */
    uint8_t data_fill;
    size_t data_len;
    const char *mac_hex; /* may be truncated (case 5) */
};

/* RFC 4231 §4.2-4.8, HMAC-SHA-256 */
static const struct hmac_case rfc4231[] = {
    {NULL, 0x0b, 20, "Hi There", 0, 0,
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"4a656665", 0, 0, "what do ya want for nothing?", 0, 0,
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {NULL, 0xaa, 20, NULL, 0xdd, 50,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {"0102030405060708090a0b0c0d0e0f10111213141516171819", 0, 0, NULL, 0xcd, 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {NULL, 0x0c, 20, "Test With Truncation", 0, 0,
     "a3b6167473100ee06e0c796c2955552b"},
    {NULL, 0xaa, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
     0, 0, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {NULL, 0xaa, 131,
     "This is a test using a larger than block-size key and a larger than "
     "block-size data. The key needs to be hashed before being used by the "
     "HMAC algorithm.",
     0, 0, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
};

static void hmac_rfc4231(void **state)
{
    size_t i;

    for (i = 0; i < TV_ARRAY_SIZE(rfc4231); i++) {
        const struct hmac_case *c = &rfc4231[i];
        uint8_t key[131];
        uint8_t data[160];
        uint8_t want[32];
        uint8_t mac[32];
        uint8_t mac2[32];
        size_t key_len;
        size_t data_len;
        size_t want_len;
        size_t split;
        struct crypto_hmac h;

        if (c->key_hex != NULL) {
            key_len = harness_hex(c->key_hex, key, sizeof(key));
        } else {
            key_len = c->key_len;
            memset(key, c->key_fill, key_len);
        }
        if (c->data != NULL) {
            data_len = strlen(c->data);
            memcpy(data, c->data, data_len);
        } else {
            data_len = c->data_len;
            memset(data, c->data_fill, data_len);
        }
        want_len = harness_hex(c->mac_hex, want, sizeof(want));

        assert_int_equal(crypto_hmac_init(&h, key, key_len), 0);
        assert_int_equal(crypto_hmac_update(&h, data, data_len), 0);
        assert_int_equal(crypto_hmac_final(&h, mac), 0);
        assert_null(h.impl);
        assert_bytes_equal(mac, want, want_len);

        /* incremental in two pieces at every split = one shot */
        for (split = 0; split <= data_len; split += 7) {
            assert_int_equal(crypto_hmac_init(&h, key, key_len), 0);
            assert_int_equal(crypto_hmac_update(&h, data, split), 0);
            assert_int_equal(
                crypto_hmac_update(&h, data + split, data_len - split), 0);
            assert_int_equal(crypto_hmac_final(&h, mac2), 0);
            assert_bytes_equal(mac2, mac, 32);
        }
    }
}

static void hmac_flipped_bit_differs(void **state)
{
    uint8_t key[32] = {1};
    uint8_t msg[284] = {0};
    uint8_t a[32];
    uint8_t b[32];
    struct crypto_hmac h;

    assert_int_equal(crypto_hmac_init(&h, key, 32), 0);
    assert_int_equal(crypto_hmac_update(&h, msg, sizeof(msg)), 0);
    assert_int_equal(crypto_hmac_final(&h, a), 0);
    msg[283] ^= 1;
    assert_int_equal(crypto_hmac_init(&h, key, 32), 0);
    assert_int_equal(crypto_hmac_update(&h, msg, sizeof(msg)), 0);
    assert_int_equal(crypto_hmac_final(&h, b), 0);
    assert_false(ct_eq(a, b, 32));
    /* abort frees without output; update/final after it fail cleanly */
    assert_int_equal(crypto_hmac_init(&h, key, 32), 0);
    crypto_hmac_abort(&h);
    assert_null(h.impl);
    assert_int_equal(crypto_hmac_update(&h, msg, 1), -1);
    assert_int_equal(crypto_hmac_final(&h, b), -1);
}

static void sha_known_answers(void **state)
{
    uint8_t want[48];
    uint8_t out[48];
    uint8_t out2[48];
    static const char million_a_256[] =
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    static uint8_t big[1000000];

    harness_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f200"
                "15ad",
                want, sizeof(want));
    assert_int_equal(crypto_sha256("abc", 3, out), 0);
    assert_bytes_equal(out, want, 32);
    harness_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852"
                "b855",
                want, sizeof(want));
    assert_int_equal(crypto_sha256("", 0, out), 0);
    assert_bytes_equal(out, want, 32);
    memset(big, 'a', sizeof(big));
    harness_hex(million_a_256, want, sizeof(want));
    assert_int_equal(crypto_sha256(big, sizeof(big), out), 0);
    assert_bytes_equal(out, want, 32);

    harness_hex("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff"
                "5bed8086072ba1e7cc2358baeca134c825a7",
                want, sizeof(want));
    assert_int_equal(crypto_sha384_2("abc", 3, NULL, 0, out), 0);
    assert_bytes_equal(out, want, 48);
    /* the two-part form equals the one-part one at every split */
    assert_int_equal(crypto_sha384_2("a", 1, "bc", 2, out2), 0);
    assert_bytes_equal(out2, want, 48);
    assert_int_equal(crypto_sha384_2("", 0, "abc", 3, out2), 0);
    assert_bytes_equal(out2, want, 48);
    harness_hex("38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6"
                "e1da274edebfe76f65fbd51ad2f14898b95b",
                want, sizeof(want));
    assert_int_equal(crypto_sha384_2(NULL, 0, NULL, 0, out), 0);
    assert_bytes_equal(out, want, 48);
}

static void ecdsa_round_trip(void **state)
{
    struct crypto_key *k = crypto_key_generate_p384();
    struct crypto_key *other = crypto_key_generate_p384();
    struct crypto_key *pub;
    static const char msg[] = "attestation document payload";
    uint8_t sig[CRYPTO_P384_SIG_SIZE];
    uint8_t spki[256];
    long spki_len;

    assert_non_null(k);
    assert_non_null(other);
    assert_int_equal(crypto_ecdsa_p384_sign(k, msg, sizeof(msg), sig), 0);
    assert_true(crypto_ecdsa_p384_verify(k, msg, sizeof(msg), sig));
    /* the public key alone, through its DER SPKI, verifies too */
    spki_len = crypto_key_spki_der(k, spki, sizeof(spki));
    assert_true(spki_len > 0);
    pub = crypto_key_from_spki_der(spki, (size_t)spki_len);
    assert_non_null(pub);
    assert_true(crypto_ecdsa_p384_verify(pub, msg, sizeof(msg), sig));
    /* wrong key, changed message, changed r, changed s */
    assert_false(crypto_ecdsa_p384_verify(other, msg, sizeof(msg), sig));
    assert_false(crypto_ecdsa_p384_verify(pub, msg, sizeof(msg) - 1, sig));
    sig[0] ^= 0x80;
    assert_false(crypto_ecdsa_p384_verify(pub, msg, sizeof(msg), sig));
    sig[0] ^= 0x80;
    sig[95] ^= 0x01;
    assert_false(crypto_ecdsa_p384_verify(pub, msg, sizeof(msg), sig));
    /* a too small SPKI buffer is an error, not an overflow */
    assert_int_equal(crypto_key_spki_der(k, spki, 10), -1);
    assert_null(crypto_key_from_spki_der(spki, 5));
    crypto_key_free(pub);
    crypto_key_free(other);
    crypto_key_free(k);
}

static void random_bytes(void **state)
{
    uint8_t a[64] = {0};
    uint8_t b[64] = {0};
    static const uint8_t zero[64];

    assert_int_equal(crypto_random(a, sizeof(a)), 0);
    assert_int_equal(crypto_random(b, sizeof(b)), 0);
    assert_false(ct_eq(a, b, sizeof(a)));
    assert_false(ct_eq(a, zero, sizeof(a)));
    assert_int_equal(crypto_random(a, 0), 0);
}

static void ct_eq_and_wipe(void **state)
{
    uint8_t a[33];
    uint8_t b[33];
    size_t i;

    for (i = 0; i < sizeof(a); i++) {
        a[i] = (uint8_t)i;
        b[i] = (uint8_t)i;
    }
    assert_true(ct_eq(a, b, sizeof(a)));
    assert_true(ct_eq(a, b, 0));
    /* a difference in any byte, any bit */
    for (i = 0; i < sizeof(a); i++) {
        b[i] ^= (uint8_t)(1u << (i % 8));
        assert_false(ct_eq(a, b, sizeof(a)));
        b[i] = a[i];
    }
    wipe(a, sizeof(a));
    for (i = 0; i < sizeof(a); i++) {
        assert_int_equal(a[i], 0);
    }
}

/* RFC 4231 4.2, HMAC-SHA-384 */
static void hmac_sha384_rfc4231(void **state)
{
    uint8_t key[20], mac[48], want[48];

    memset(key, 0x0b, sizeof(key));
    harness_hex("afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7ceb"
                "c59cfaea9ea9076ede7f4af152e8b2fa9cb6",
                want, sizeof(want));
    assert_int_equal(crypto_hmac_sha384(key, sizeof(key), "Hi There", 8, mac),
                     0);
    assert_bytes_equal(mac, want, 48);
}

/*
 * HKDF-SHA-384 with RFC 5869 test case 1's inputs; the expected values were
 * computed with Python's hmac module following RFC 5869 section 2.
 */
static void hkdf_sha384_known_answer(void **state)
{
    uint8_t salt[13], ikm[22], info[10], prk[48], okm[60], want[60];

    for (size_t i = 0; i < sizeof(salt); i++) {
        salt[i] = (uint8_t)i;
    }
    memset(ikm, 0x0b, sizeof(ikm));
    for (size_t i = 0; i < sizeof(info); i++) {
        info[i] = (uint8_t)(0xf0 + i);
    }
    assert_int_equal(
        crypto_hkdf_sha384_extract(salt, sizeof(salt), ikm, sizeof(ikm), prk),
        0);
    harness_hex("704b39990779ce1dc548052c7dc39f303570dd13fb39f7acc564680bef80"
                "e8dec70ee9a7e1f3e293ef68eceb072a5ade",
                want, 48);
    assert_bytes_equal(prk, want, 48);
    assert_int_equal(
        crypto_hkdf_sha384_expand(prk, info, sizeof(info), okm, sizeof(okm)),
        0);
    harness_hex("9b5097a86038b805309076a44b3a9f38063e25b516dcbf369f394cfab436"
                "85f748b6457763e4f0204fc5d95d1da3e62587b22eb8943d0fab6bb631a2",
                want, 60);
    assert_bytes_equal(okm, want, 60);
    /* a prefix of the output is the shorter output */
    assert_int_equal(
        crypto_hkdf_sha384_expand(prk, info, sizeof(info), okm, 12), 0);
    assert_bytes_equal(okm, want, 12);
    assert_int_equal(crypto_hkdf_sha384_expand(prk, info, 1, okm, 0), -1);
}

/* AES-256-GCM: NIST GCM test case 14, and a vector with AAD computed with
 * Python's cryptography package; every flipped bit is refused. */
static void aes256gcm_known_answer_and_tamper(void **state)
{
    uint8_t key[32] = {0}, iv[12] = {0}, pt[17], ct[17], tag[16], out[17];
    uint8_t want[33];
    static const char msg[] = "secured message!!";

    memset(pt, 0, 16);
    assert_int_equal(crypto_aes256gcm_seal(key, iv, NULL, 0, pt, 16, ct, tag),
                     0);
    harness_hex("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48a"
                "b919",
                want, 32);
    assert_bytes_equal(ct, want, 16);
    assert_bytes_equal(tag, want + 16, 16);

    for (size_t i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
    }
    for (size_t i = 0; i < 12; i++) {
        iv[i] = (uint8_t)i;
    }
    memcpy(pt, msg, 17);
    assert_int_equal(
        crypto_aes256gcm_seal(key, iv, "spdm aad", 8, pt, 17, ct, tag), 0);
    harness_hex("3467b56eb780a63be024e4f8d08e1d4ca220c257e6aaa100a7f9982c8dc2"
                "fd64b2",
                want, 33);
    assert_bytes_equal(ct, want, 17);
    assert_bytes_equal(tag, want + 17, 16);
    assert_int_equal(
        crypto_aes256gcm_open(key, iv, "spdm aad", 8, ct, 17, tag, out), 0);
    assert_bytes_equal(out, msg, 17);
    for (size_t bit = 0; bit < 8 * 17; bit += 7) {
        ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        memset(out, 0xaa, sizeof(out));
        assert_int_equal(
            crypto_aes256gcm_open(key, iv, "spdm aad", 8, ct, 17, tag, out),
            -1);
        /* nothing unauthenticated is left behind */
        for (size_t i = 0; i < 17; i++) {
            assert_int_equal(out[i], 0);
        }
        ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    tag[3] ^= 1;
    assert_int_equal(
        crypto_aes256gcm_open(key, iv, "spdm aad", 8, ct, 17, tag, out), -1);
    tag[3] ^= 1;
    assert_int_equal(
        crypto_aes256gcm_open(key, iv, "spdm aaD", 8, ct, 17, tag, out), -1);
}

/*
 * Keyed contexts: the same bytes as the one-shot calls for many records
 * under one key, both directions on one context; a changed key (KEY_UPDATE)
 * re-keys; a copied handle whose owner re-keyed still works for either
 * key; a released handle and its stale copies are keyed afresh; the table
 * is taken over least recently used first without failing anyone.
 */
static void gcm_keyed_contexts(void **state)
{
    uint8_t k1[32], k2[32], iv[12] = {9}, pt[50], ct[50], ct1[50], out[50];
    uint8_t tag[16], tag1[16];
    struct crypto_gcm h = {0}, copy, many[CRYPTO_GCM_CONTEXTS + 8];
    size_t base = crypto_gcm_in_use();

    (void)state;
    memset(k1, 0x11, sizeof(k1));
    memset(k2, 0x22, sizeof(k2));
    for (size_t i = 0; i < sizeof(pt); i++) {
        pt[i] = (uint8_t)(i * 7);
    }
    for (unsigned r = 0; r < 20; r++) {
        iv[0] = (uint8_t)r;
        assert_int_equal(
            crypto_aes256gcm_seal(k1, iv, "hdr", 3, pt, sizeof(pt), ct1, tag1),
            0);
        assert_int_equal(
            crypto_gcm_seal(&h, k1, iv, "hdr", 3, pt, sizeof(pt), ct, tag), 0);
        assert_bytes_equal(ct, ct1, sizeof(ct));
        assert_bytes_equal(tag, tag1, sizeof(tag));
        assert_int_equal(
            crypto_gcm_open(&h, k1, iv, "hdr", 3, ct, sizeof(ct), tag, out), 0);
        assert_bytes_equal(out, pt, sizeof(pt));
        ct[r % sizeof(ct)] ^= 0x40;
        memset(out, 0xaa, sizeof(out));
        assert_int_equal(
            crypto_gcm_open(&h, k1, iv, "hdr", 3, ct, sizeof(ct), tag, out),
            -1);
        for (size_t i = 0; i < sizeof(out); i++) {
            assert_int_equal(out[i], 0);
        }
    }
    assert_int_equal(crypto_gcm_in_use(), base + 1);
    /* a new key on the same handle */
    copy = h;
    assert_int_equal(crypto_gcm_rekey(&h, k2), 0);
    assert_int_equal(
        crypto_aes256gcm_seal(k2, iv, NULL, 0, pt, sizeof(pt), ct1, tag1), 0);
    assert_int_equal(
        crypto_gcm_seal(&h, k2, iv, NULL, 0, pt, sizeof(pt), ct, tag), 0);
    assert_bytes_equal(ct, ct1, sizeof(ct));
    /* the copy names the same context, now under k2, and still gets k1 */
    assert_int_equal(
        crypto_gcm_seal(&copy, k1, iv, NULL, 0, pt, sizeof(pt), ct, tag), 0);
    assert_int_equal(
        crypto_aes256gcm_open(k1, iv, NULL, 0, ct, sizeof(ct), tag, out), 0);
    assert_int_equal(
        crypto_gcm_seal(&h, k2, iv, NULL, 0, pt, sizeof(pt), ct, tag), 0);
    assert_bytes_equal(ct, ct1, sizeof(ct));
    /* released: the handle is none, the stale copy is keyed afresh */
    crypto_gcm_release(&h);
    assert_int_equal(h.gen, 0);
    assert_int_equal(crypto_gcm_in_use(), base);
    assert_int_equal(
        crypto_gcm_seal(&copy, k1, iv, NULL, 0, pt, sizeof(pt), ct, tag), 0);
    assert_int_equal(
        crypto_aes256gcm_open(k1, iv, NULL, 0, ct, sizeof(ct), tag, out), 0);
    crypto_gcm_release(&copy);
    crypto_gcm_release(&copy); /* twice is harmless */
    assert_int_equal(crypto_gcm_in_use(), base);
    /* more handles than contexts: every one still seals correctly */
    memset(many, 0, sizeof(many));
    for (size_t i = 0; i < TV_ARRAY_SIZE(many); i++) {
        k1[0] = (uint8_t)i;
        assert_int_equal(crypto_gcm_rekey(&many[i], k1), 0);
    }
    assert_int_equal(crypto_gcm_in_use(), CRYPTO_GCM_CONTEXTS);
    for (size_t i = 0; i < TV_ARRAY_SIZE(many); i++) {
        k1[0] = (uint8_t)i;
        assert_int_equal(
            crypto_gcm_seal(&many[i], k1, iv, NULL, 0, pt, 16, ct, tag), 0);
        assert_int_equal(
            crypto_aes256gcm_open(k1, iv, NULL, 0, ct, 16, tag, out), 0);
        assert_bytes_equal(out, pt, 16);
    }
    for (size_t i = 0; i < TV_ARRAY_SIZE(many); i++) {
        crypto_gcm_release(&many[i]);
    }
    assert_int_equal(crypto_gcm_in_use(), 0); /* base's were taken over */
}

/*
 * Keyed contexts against the one-shot calls for every record shape the
 * record layer can meet: plaintext lengths 0..200 bytes (whole and partial
 * blocks, either side of four-block strides) and a few large ones, AAD
 * lengths around a block, sealed and opened in place as the record layer
 * does; NIST's test case 16 (AES-256, AAD, a partial last block); a
 * flipped tag or AAD bit is refused with the output wiped.
 */
static void gcm_keyed_every_length(void **state)
{
    static const size_t aad_lens[] = {0, 1, 6, 15, 16, 17, 31, 32, 33, 40};
    static const size_t big[] = {255, 256, 1024, 4099};
    static uint8_t pt[4200], ct[4200], ct1[4200], buf[4200], out[4200];
    uint8_t key[32], iv[12], aad[40], tag[16], tag1[16], want[76];
    struct crypto_gcm h = {0};

    (void)state;
    /* NIST GCM test case 16 */
    harness_hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f946730"
                "8308",
                key, 32);
    harness_hex("cafebabefacedbaddecaf888", iv, 12);
    harness_hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a31"
                "8a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
                pt, 60);
    harness_hex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, 20);
    harness_hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555"
                "d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                "76fc6ece0f4e1768cddf8853bb2d551b",
                want, 76);
    assert_int_equal(crypto_gcm_seal(&h, key, iv, aad, 20, pt, 60, ct, tag), 0);
    assert_bytes_equal(ct, want, 60);
    assert_bytes_equal(tag, want + 60, 16);
    assert_int_equal(crypto_gcm_open(&h, key, iv, aad, 20, ct, 60, tag, out),
                     0);
    assert_bytes_equal(out, pt, 60);

    for (size_t i = 0; i < sizeof(pt); i++) {
        pt[i] = (uint8_t)(i * 131 + 7);
    }
    for (size_t i = 0; i < sizeof(aad); i++) {
        aad[i] = (uint8_t)(0xa0 + i);
    }
    for (size_t len = 0; len < 200 + TV_ARRAY_SIZE(big); len++) {
        size_t n = len < 200 ? len : big[len - 200];

        for (size_t a = 0; a < TV_ARRAY_SIZE(aad_lens); a++) {
            size_t al = aad_lens[a];

            iv[11] = (uint8_t)(n + a);
            assert_int_equal(
                crypto_aes256gcm_seal(key, iv, aad, al, pt, n, ct1, tag1), 0);
            memcpy(buf, pt, n);
            assert_int_equal(
                crypto_gcm_seal(&h, key, iv, aad, al, buf, n, buf, tag), 0);
            assert_bytes_equal(buf, ct1, n);
            assert_bytes_equal(tag, tag1, 16);
            assert_int_equal(
                crypto_gcm_open(&h, key, iv, aad, al, buf, n, tag, buf), 0);
            assert_bytes_equal(buf, pt, n);
            if (a != 2) {
                continue;
            }
            tag1[n % 16] ^= 0x01;
            memset(out, 0xaa, n);
            assert_int_equal(
                crypto_gcm_open(&h, key, iv, aad, al, ct1, n, tag1, out), -1);
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(out[i], 0);
            }
            tag1[n % 16] ^= 0x01;
            aad[0] ^= 0x80;
            assert_int_equal(
                crypto_gcm_open(&h, key, iv, aad, al, ct1, n, tag1, out), -1);
            aad[0] ^= 0x80;
        }
    }
    crypto_gcm_release(&h);
}

/*
 * AES-256 GCM known answers: test cases 13 to 16 of McGrew and Viega's
 * "The Galois/Counter Mode of Operation (GCM)" (revised 2005), and the
 * first vectors of NIST CAVP's gcmEncryptExtIV256.rsp for an empty
 * plaintext with 16 bytes of AAD and 16 bytes of each.
 */
struct gcm_vector {
    const char *key, *iv, *aad, *pt, *ct, *tag;
};

static const struct gcm_vector gcm_vectors[] = {
    /* test case 13: nothing at all */
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "",
     "530f8afbc74536b9a963b4f1c4cb738b"},
    /* test case 14: one block, no AAD */
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    /* test case 15: four blocks, no AAD */
    {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    /* test case 16: 60 bytes (a partial block) with 20 bytes of AAD */
    {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    /* CAVP, PTlen 0, AADlen 128, count 0: AAD alone */
    {"78dc4e0aaf52d935c3c01eea57428f00ca1fd475f5da86a49c8dd73d68c8e223",
     "d79cf22d504cc793c3fb6c8a", "b96baa8c1c75a671bfb2d08d06be5f36", "", "",
     "3e5d486aa2e30b22e040b85723a06e76"},
    /* CAVP, PTlen 128, AADlen 128, count 0 */
    {"92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
     "ac93a1a6145299bde902f21a", "1e0889016f67601c8ebea4943bc23ad6",
     "2d71bcfa914e4ac045b2aa60955fad24", "8995ae2e6df3dbf96fac7b7137bae67f",
     "eca5aa77d51d4a0a14d9c51e1da474ab"},
};

/*
 * Every vector through the one-shot calls, a keyed context (apart and in
 * place), and aes_ni.c directly where the CPU has the instructions; a
 * flipped tag bit is refused by each, with the output wiped (or, for
 * aes_ni.c, untouched).
 */
static void gcm_nist_vectors(void **state)
{
    (void)state;
    for (size_t v = 0; v < TV_ARRAY_SIZE(gcm_vectors); v++) {
        const struct gcm_vector *g = &gcm_vectors[v];
        uint8_t key[32], iv[12], aad[32], pt[64], ct[64], want[64], out[64];
        uint8_t tag[16], want_tag[16];
        struct crypto_gcm h = {0};
        size_t aad_len, len;

        harness_hex(g->key, key, sizeof(key));
        harness_hex(g->iv, iv, sizeof(iv));
        aad_len = harness_hex(g->aad, aad, sizeof(aad));
        len = harness_hex(g->pt, pt, sizeof(pt));
        assert_int_equal(harness_hex(g->ct, want, sizeof(want)), len);
        harness_hex(g->tag, want_tag, sizeof(want_tag));

        assert_int_equal(
            crypto_aes256gcm_seal(key, iv, aad, aad_len, pt, len, ct, tag), 0);
        assert_bytes_equal(ct, want, len);
        assert_bytes_equal(tag, want_tag, 16);
        assert_int_equal(
            crypto_aes256gcm_open(key, iv, aad, aad_len, ct, len, tag, out), 0);
        assert_bytes_equal(out, pt, len);

        memset(ct, 0, sizeof(ct));
        assert_int_equal(
            crypto_gcm_seal(&h, key, iv, aad, aad_len, pt, len, ct, tag), 0);
        assert_bytes_equal(ct, want, len);
        assert_bytes_equal(tag, want_tag, 16);
        assert_int_equal(
            crypto_gcm_open(&h, key, iv, aad, aad_len, ct, len, tag, out), 0);
        assert_bytes_equal(out, pt, len);
        memcpy(out, pt, len);
        assert_int_equal(
            crypto_gcm_seal(&h, key, iv, aad, aad_len, out, len, out, tag), 0);
        assert_bytes_equal(out, want, len);
        assert_bytes_equal(tag, want_tag, 16);
        assert_int_equal(
            crypto_gcm_open(&h, key, iv, aad, aad_len, out, len, tag, out), 0);
        assert_bytes_equal(out, pt, len);

        tag[15] ^= 0x80;
        memset(out, 0xaa, sizeof(out));
        assert_int_equal(
            crypto_aes256gcm_open(key, iv, aad, aad_len, ct, len, tag, out),
            -1);
        for (size_t i = 0; i < len; i++) {
            assert_int_equal(out[i], 0);
        }
        memset(out, 0xaa, sizeof(out));
        assert_int_equal(
            crypto_gcm_open(&h, key, iv, aad, aad_len, ct, len, tag, out), -1);
        for (size_t i = 0; i < len; i++) {
            assert_int_equal(out[i], 0);
        }
        tag[15] ^= 0x80;
        crypto_gcm_release(&h);

#ifdef AES_NI_BUILD
        if (aes_ni_available()) {
            struct aes_ni_gcm ni;

            aes_ni_gcm_init(&ni, key);
            assert_int_equal(
                aes_ni_gcm_seal(&ni, iv, aad, aad_len, pt, len, ct, tag), 0);
            assert_bytes_equal(ct, want, len);
            assert_bytes_equal(tag, want_tag, 16);
            assert_int_equal(
                aes_ni_gcm_open(&ni, iv, aad, aad_len, ct, len, tag, out), 0);
            assert_bytes_equal(out, pt, len);
            tag[0] ^= 0x01;
            memset(out, 0xaa, sizeof(out));
            assert_int_equal(
                aes_ni_gcm_open(&ni, iv, aad, aad_len, ct, len, tag, out), -1);
            for (size_t i = 0; i < sizeof(out); i++) {
                assert_int_equal(out[i], 0xaa);
            }
            wipe(&ni, sizeof(ni));
        }
#endif
    }
}

/*
 * Lengths no call can take are refused before anything is read or
 * written: above INT32_MAX for the adapter's calls (OpenSSL counts in int),
 * above SP 800-38D's limits for aes_ni.c (2^36 - 32 bytes of text, where
 * the 32-bit counter would come round to the tag's counter block).
 * The buffers are far shorter than the lengths given.
 */
static void gcm_length_limits(void **state)
{
    uint8_t key[32] = {7}, iv[12] = {0}, buf[32], tag[16];
    size_t big = (size_t)INT32_MAX + 1;
    struct crypto_gcm h = {0};

    (void)state;
    memset(buf, 0x5a, sizeof(buf));
    memset(tag, 0x5a, sizeof(tag));
    assert_int_equal(crypto_aes256gcm_seal(key, iv, buf, 1, buf, big, buf, tag),
                     -1);
    assert_int_equal(crypto_aes256gcm_seal(key, iv, buf, big, buf, 1, buf, tag),
                     -1);
    assert_int_equal(crypto_aes256gcm_open(key, iv, buf, 1, buf, big, tag, buf),
                     -1);
    assert_int_equal(crypto_aes256gcm_open(key, iv, buf, big, buf, 1, tag, buf),
                     -1);
    assert_int_equal(crypto_gcm_seal(&h, key, iv, buf, 1, buf, big, buf, tag),
                     -1);
    assert_int_equal(crypto_gcm_seal(&h, key, iv, buf, big, buf, 1, buf, tag),
                     -1);
    assert_int_equal(crypto_gcm_open(&h, key, iv, buf, 1, buf, big, tag, buf),
                     -1);
    assert_int_equal(crypto_gcm_open(&h, key, iv, buf, big, buf, 1, tag, buf),
                     -1);
    for (size_t i = 0; i < sizeof(buf); i++) {
        assert_int_equal(buf[i], 0x5a);
    }
    for (size_t i = 0; i < sizeof(tag); i++) {
        assert_int_equal(tag[i], 0x5a);
    }
    crypto_gcm_release(&h);

#ifdef AES_NI_BUILD
    if (aes_ni_available()) {
        struct aes_ni_gcm ni;
        size_t over = (size_t)AES_NI_GCM_MAX_LEN + 1;
        size_t aad_over = (size_t)AES_NI_GCM_MAX_AAD_LEN + 1;

        aes_ni_gcm_init(&ni, key);
        assert_int_equal(aes_ni_gcm_seal(&ni, iv, buf, 1, buf, over, buf, tag),
                         -1);
        assert_int_equal(
            aes_ni_gcm_seal(&ni, iv, buf, 1, buf, SIZE_MAX, buf, tag), -1);
        assert_int_equal(
            aes_ni_gcm_seal(&ni, iv, buf, aad_over, buf, 1, buf, tag), -1);
        assert_int_equal(aes_ni_gcm_open(&ni, iv, buf, 1, buf, over, tag, buf),
                         -1);
        assert_int_equal(
            aes_ni_gcm_open(&ni, iv, buf, aad_over, buf, 1, tag, buf), -1);
        for (size_t i = 0; i < sizeof(buf); i++) {
            assert_int_equal(buf[i], 0x5a);
        }
        for (size_t i = 0; i < sizeof(tag); i++) {
            assert_int_equal(tag[i], 0x5a);
        }
        wipe(&ni, sizeof(ni));
    }
#endif
}

static void ecdh_p384_agreement(void **state)
{
    uint8_t a[48], apub[96], b[48], bpub[96], s1[48], s2[48], bad[96];

    assert_int_equal(crypto_ecdh_p384_keygen(a, apub), 0);
    assert_int_equal(crypto_ecdh_p384_keygen(b, bpub), 0);
    assert_int_equal(crypto_ecdh_p384_derive(a, apub, bpub, s1), 0);
    assert_int_equal(crypto_ecdh_p384_derive(b, bpub, apub, s2), 0);
    assert_bytes_equal(s1, s2, 48);
    assert_memory_not_equal(apub, bpub, 96);
    /* a point off the curve is refused */
    memcpy(bad, bpub, 96);
    bad[95] ^= 1;
    assert_int_equal(crypto_ecdh_p384_derive(a, apub, bad, s1), -1);
    memset(bad, 0, 96);
    assert_int_equal(crypto_ecdh_p384_derive(a, apub, bad, s1), -1);
}

static void ecdsa_verify_point(void **state)
{
    struct crypto_key *k = crypto_key_generate_p384();
    uint8_t spki[256], pub[97], sig[96];
    long n;

    assert_non_null(k);
    n = crypto_key_spki_der(k, spki, sizeof(spki));
    assert_true(n > 97);
    /* the point is the last 97 bytes of a P-384 SubjectPublicKeyInfo */
    memcpy(pub, spki + n - 97, 97);
    assert_int_equal(crypto_ecdsa_p384_sign(k, "msg", 3, sig), 0);
    assert_true(crypto_ecdsa_p384_verify_point(pub, "msg", 3, sig));
    assert_false(crypto_ecdsa_p384_verify_point(pub, "msh", 3, sig));
    sig[10] ^= 1;
    assert_false(crypto_ecdsa_p384_verify_point(pub, "msg", 3, sig));
    pub[50] ^= 1;
    assert_false(crypto_ecdsa_p384_verify_point(pub, "msg", 3, sig));
    crypto_key_free(k);
}

static void der_walk(void **state)
{
    static const uint8_t short_form[] = {0x30, 0x02, 0x05, 0x00, 0x30};
    uint8_t long_form[0x104] = {0x30, 0x82, 0x01, 0x00};
    static const uint8_t not_der[] = {0x30, 0x81, 0x10};
    uint8_t cert[16];

    assert_int_equal(crypto_der_next(short_form, sizeof(short_form)), 4);
    assert_int_equal(crypto_der_next(short_form, 3), -1);
    assert_int_equal(crypto_der_next(short_form + 4, 1), -1);
    assert_int_equal(crypto_der_next(long_form, sizeof(long_form)), 0x104);
    assert_int_equal(crypto_der_next(long_form, sizeof(long_form) - 1), -1);
    /* a long form for a length under 128 is not DER */
    assert_int_equal(crypto_der_next(not_der, sizeof(not_der)), -1);
    memset(cert, 0, sizeof(cert));
    assert_int_equal(crypto_x509_p384_point(cert, sizeof(cert), long_form), -1);
}

/*
 * The content length of the serial INTEGER: TBSCertificate header (30 81 LL
 * or 30 82 LL LL), version a0 03 02 01 02, then 02 <len>.
 */
static size_t serial_int_len(const struct crypto_x509 *c)
{
    const uint8_t *tbs = c->der + c->tbs_off;
    size_t hdr = tbs[1] == 0x82 ? 4 : tbs[1] == 0x81 ? 3 : 2;

    assert_int_equal(tbs[hdr + 5], 0x02);
    return tbs[hdr + 6];
}

/*
 * crypto_x509_issue() writes every serial as the shortest positive INTEGER
 * (leading zero bytes dropped, a sign byte before a set top bit) that the
 * strict parser reads back, and refuses a zero or over-long one.
 */
static void x509_issue_serials(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
        long ok;           /* 1: issued */
        size_t parsed_len; /* value bytes read back */
        size_t int_len;    /* INTEGER content bytes in the DER */
    } cases[] = {
        {"\x01", 1, 1, 1, 1},
        {"\x00\x05", 2, 1, 1, 1},
        {"\x00\x00\x80\x01", 4, 1, 2, 3},
        {"\x80", 1, 1, 1, 2},
        {"\x00", 1, 0, 0, 0},
        {"\x00\x00\x00", 3, 0, 0, 0},
    };
    struct crypto_key *k = crypto_key_generate_p384();
    uint8_t der[CRYPTO_X509_DER_MAX], big[CRYPTO_X509_SERIAL_MAX + 1];
    struct crypto_x509_template t = {
        .org = "test",
        .cn = "serials",
        .not_before_s = 1700000000,
        .not_after_s = 1700003600,
        .ca = false,
        .pathlen = -1,
        .ku_bits = CRYPTO_KU_DIGITAL_SIGNATURE,
        .subject_key = k,
    };
    struct crypto_x509 c;
    long len;

    assert_non_null(k);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t.serial = (const uint8_t *)cases[i].bytes;
        t.serial_len = cases[i].len;
        len = crypto_x509_issue(&t, NULL, k, der, sizeof(der));
        if (!cases[i].ok) {
            assert_int_equal(len, -1);
            continue;
        }
        assert_true(len > 0);
        assert_int_equal(crypto_x509_parse(&c, der, (size_t)len), 0);
        assert_int_equal(c.serial_len, cases[i].parsed_len);
        assert_memory_equal(c.serial,
                            cases[i].bytes + cases[i].len - c.serial_len,
                            c.serial_len);
        assert_int_equal(serial_int_len(&c), cases[i].int_len);
        crypto_x509_release(&c);
    }

    /* 20 bytes with the top bit set: 21 content bytes, still accepted */
    memset(big, 0xa5, sizeof(big));
    t.serial = big;
    t.serial_len = CRYPTO_X509_SERIAL_MAX;
    len = crypto_x509_issue(&t, NULL, k, der, sizeof(der));
    assert_true(len > 0);
    assert_int_equal(crypto_x509_parse(&c, der, (size_t)len), 0);
    assert_int_equal(c.serial_len, CRYPTO_X509_SERIAL_MAX);
    assert_int_equal(serial_int_len(&c), CRYPTO_X509_SERIAL_MAX + 1);
    crypto_x509_release(&c);
    t.serial_len = CRYPTO_X509_SERIAL_MAX + 1;
    assert_int_equal(crypto_x509_issue(&t, NULL, k, der, sizeof(der)), -1);
    crypto_key_free(k);
}

/*
 * What crypto_x509_issue() writes reads back field for field: names,
 * validity on both sides of 2050 (UTCTime, then GeneralizedTime), basic
 * constraints with and without a path length, key usage bits, and a
 * leaf's authority key identifier equal to its issuer's subject key
 * identifier; a buffer too small is an error.
 */
static void x509_issue_fields(void **state)
{
    static const uint8_t serial[] = {0x42};
    struct crypto_key *ca_key = crypto_key_generate_p384();
    struct crypto_key *leaf_key = crypto_key_generate_p384();
    uint8_t ca_der[CRYPTO_X509_DER_MAX], leaf_der[CRYPTO_X509_DER_MAX];
    uint8_t aki[4 + 20];
    struct crypto_x509_template t = {
        .org = "trustvio test",
        .cn = "ca.test",
        .serial = serial,
        .serial_len = sizeof(serial),
        .not_before_s = 1700000000,
        .not_after_s = 2600000000, /* 2052: GeneralizedTime */
        .ca = true,
        .pathlen = 0,
        .ku_bits = CRYPTO_KU_KEY_CERT_SIGN | CRYPTO_KU_CRL_SIGN,
        .ku_critical = true,
        .subject_key = ca_key,
    };
    struct crypto_x509 ca, leaf;
    char name[CRYPTO_X509_NAME_MAX];
    long ca_len, leaf_len;
    bool found = false;

    (void)state;
    assert_non_null(ca_key);
    assert_non_null(leaf_key);
    ca_len = crypto_x509_issue(&t, NULL, ca_key, ca_der, sizeof(ca_der));
    assert_true(ca_len > 0);
    assert_int_equal(crypto_x509_parse(&ca, ca_der, (size_t)ca_len), 0);
    assert_int_equal(ca.not_before_s, 1700000000);
    assert_int_equal(ca.not_after_s, 2600000000);
    assert_true(ca.sig_es384 && ca.key_p384 && !ca.bad_extension);
    assert_true(ca.bc_present && ca.bc_critical && ca.bc_ca);
    assert_int_equal(ca.bc_pathlen, 0);
    assert_true(ca.ku_present && ca.ku_critical);
    assert_int_equal(ca.ku_bits, CRYPTO_KU_KEY_CERT_SIGN | CRYPTO_KU_CRL_SIGN);
    assert_int_equal(ca.ski_len, 20);
    assert_true(crypto_x509_issuer_matches(&ca, &ca));
    assert_true(crypto_x509_signed_by(&ca, &ca));
    assert_string_equal(crypto_x509_subject(&ca, name, sizeof(name)),
                        "O=trustvio test, CN=ca.test");

    t.cn = "leaf.test";
    t.not_after_s = 1700003600;
    t.ca = false;
    t.pathlen = -1;
    t.ku_bits = CRYPTO_KU_DIGITAL_SIGNATURE | CRYPTO_KU_NON_REPUDIATION;
    t.ku_critical = false;
    t.subject_key = leaf_key;
    leaf_len = crypto_x509_issue(&t, &ca, ca_key, leaf_der, sizeof(leaf_der));
    assert_true(leaf_len > 0);
    assert_int_equal(crypto_x509_parse(&leaf, leaf_der, (size_t)leaf_len), 0);
    assert_int_equal(leaf.not_after_s, 1700003600);
    assert_true(leaf.bc_present && leaf.bc_critical && !leaf.bc_ca);
    assert_int_equal(leaf.bc_pathlen, -1);
    assert_true(leaf.ku_present && !leaf.ku_critical);
    assert_int_equal(leaf.ku_bits,
                     CRYPTO_KU_DIGITAL_SIGNATURE | CRYPTO_KU_NON_REPUDIATION);
    assert_true(crypto_x509_issuer_matches(&leaf, &ca));
    assert_true(crypto_x509_signed_by(&leaf, &ca));
    assert_false(crypto_x509_signed_by(&leaf, &leaf));
    assert_int_equal(leaf.ski_len, 20);
    assert_memory_not_equal(leaf_der + leaf.ski_off, ca_der + ca.ski_off, 20);
    /* AuthorityKeyIdentifier ::= SEQUENCE { [0] the CA's identifier } */
    aki[0] = 0x30;
    aki[1] = 0x16;
    aki[2] = 0x80;
    aki[3] = 0x14;
    memcpy(aki + 4, ca_der + ca.ski_off, 20);
    for (long i = 0; i + (long)sizeof(aki) <= leaf_len; i++) {
        found = found || memcmp(leaf_der + i, aki, sizeof(aki)) == 0;
    }
    assert_true(found);
    /* a name that is not UTF-8 (a lone continuation byte, an overlong '/') */
    t.cn = "bad\x80name";
    assert_int_equal(
        crypto_x509_issue(&t, &ca, ca_key, leaf_der, sizeof(leaf_der)), -1);
    t.cn = "bad\xc0\xafname";
    assert_int_equal(
        crypto_x509_issue(&t, &ca, ca_key, leaf_der, sizeof(leaf_der)), -1);
    t.cn = "caf\xc3\xa9.test";
    assert_true(crypto_x509_issue(&t, &ca, ca_key, leaf_der, sizeof(leaf_der)) >
                0);
    t.cn = "leaf.test";
    /* too small a buffer: refused, nothing written past it */
    memset(leaf_der, 0x5a, sizeof(leaf_der));
    assert_int_equal(crypto_x509_issue(&t, &ca, ca_key, leaf_der, 200), -1);
    assert_int_equal(leaf_der[200], 0x5a);
    crypto_x509_release(&leaf);
    crypto_x509_release(&ca);
    crypto_key_free(leaf_key);
    crypto_key_free(ca_key);
}

/*
 * The SubjectPublicKeyInfo of a P-384 key is built and taken apart without
 * OpenSSL's encoders: the RFC 5480 form exactly, a point off the curve
 * refused; another kind of key still goes through OpenSSL both ways.
 */
static void spki_p384_form(void **state)
{
    static const uint8_t head[] = {
        0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
        0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00, 0x04,
    };
    /* a P-256 key (openssl ec -pubout -outform DER) */
    static const uint8_t p256[] = {
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
        0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
        0x42, 0x00, 0x04, 0xbe, 0x23, 0x76, 0x70, 0x25, 0x5c, 0xdb, 0x17, 0xce,
        0x82, 0xcb, 0x0e, 0x16, 0xcf, 0x67, 0x48, 0x8d, 0x0e, 0xe8, 0xe7, 0x8b,
        0x92, 0x08, 0x53, 0x9c, 0xe7, 0x59, 0x6f, 0xd0, 0x2b, 0xbc, 0xb2, 0x7f,
        0xd4, 0x0a, 0x12, 0x50, 0x40, 0xc2, 0x7f, 0xad, 0xbb, 0x63, 0x6a, 0x48,
        0xec, 0x10, 0xbf, 0x79, 0x2b, 0xe3, 0x03, 0xfe, 0x01, 0x3d, 0xbd, 0x74,
        0xa0, 0x69, 0xa5, 0xeb, 0x0b, 0xdf, 0x85,
    };
    struct crypto_key *k = crypto_key_generate_p384();
    struct crypto_key *pub;
    uint8_t spki[256], again[256], point[CRYPTO_P384_PUB_SIZE];
    long n;

    (void)state;
    assert_non_null(k);
    n = crypto_key_spki_der(k, spki, sizeof(spki));
    assert_int_equal(n, 120);
    assert_bytes_equal(spki, head, sizeof(head));
    assert_int_equal(crypto_key_spki_der(k, spki, 119), -1);
    /* decoded and encoded again: the same bytes */
    pub = crypto_key_from_spki_der(spki, (size_t)n);
    assert_non_null(pub);
    assert_int_equal(crypto_key_spki_der(pub, again, sizeof(again)), n);
    assert_bytes_equal(again, spki, (size_t)n);
    crypto_key_free(pub);
    /* Y changed: no longer on the curve */
    memcpy(point, spki + n - sizeof(point), sizeof(point));
    spki[n - 1] ^= 0x01;
    assert_null(crypto_key_from_spki_der(spki, (size_t)n));
    /* one byte short */
    spki[n - 1] ^= 0x01;
    assert_null(crypto_key_from_spki_der(spki, (size_t)n - 1));
    assert_bytes_equal(spki + n - sizeof(point), point, sizeof(point));
    /* one byte more, after the SubjectPublicKeyInfo */
    spki[n] = 0x00;
    assert_null(crypto_key_from_spki_der(spki, (size_t)n + 1));
    /* P-256: OpenSSL's decoder and encoder, the same bytes back */
    pub = crypto_key_from_spki_der(p256, sizeof(p256));
    assert_non_null(pub);
    assert_int_equal(crypto_key_spki_der(pub, again, sizeof(again)),
                     (long)sizeof(p256));
    assert_bytes_equal(again, p256, sizeof(p256));
    crypto_key_free(pub);
    /* and with a byte after it */
    memcpy(again, p256, sizeof(p256));
    again[sizeof(p256)] = 0x05;
    assert_null(crypto_key_from_spki_der(again, sizeof(p256) + 1));
    assert_null(crypto_key_from_spki_der(again, 0));
    crypto_key_free(k);
}

/*
 * One P-384 key in the two PEM forms: PKCS#8 (what crypto_key_save_pem()
 * writes, read by the adapter itself) and SEC1 (read by OpenSSL). Both
 * load as the same key pair, and a PKCS#8 block that does not decode is
 * refused.
 */
static const char key_pkcs8[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDB1mSgYpqCYEgfsLvcA\n"
    "Qg4iTeLfeJxm5qwIif5lM9QETFUrOn3d9QZfv1Hs/PpuNnWhZANiAARGUXY1iPpo\n"
    "Ta4G9hztNXvyXEW2/7uFqITvcRcdyb43rgpPyBCspDzyspwOhT3eV8a9pJl97py5\n"
    "RVAWgszs/fg8I/FT6y+izYvbb57UoB+rQb4NWGGmWKu/CgMnXzunE3M=\n"
    "-----END PRIVATE KEY-----\n";
static const char key_sec1[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MIGkAgEBBDB1mSgYpqCYEgfsLvcAQg4iTeLfeJxm5qwIif5lM9QETFUrOn3d9QZf\n"
    "v1Hs/PpuNnWgBwYFK4EEACKhZANiAARGUXY1iPpoTa4G9hztNXvyXEW2/7uFqITv\n"
    "cRcdyb43rgpPyBCspDzyspwOhT3eV8a9pJl97py5RVAWgszs/fg8I/FT6y+izYvb\n"
    "b57UoB+rQb4NWGGmWKu/CgMnXzunE3M=\n"
    "-----END EC PRIVATE KEY-----\n";

static void key_pem_forms(void **state)
{
    static const char msg[] = "signed with the PKCS#8 key";
    struct crypto_key *a = crypto_key_from_pem(key_pkcs8, sizeof(key_pkcs8));
    struct crypto_key *b = crypto_key_from_pem(key_sec1, sizeof(key_sec1));
    uint8_t spki_a[160], spki_b[160], sig[CRYPTO_P384_SIG_SIZE];
    char bad[sizeof(key_pkcs8)];
    char *p;
    long n;

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    n = crypto_key_spki_der(a, spki_a, sizeof(spki_a));
    assert_int_equal(n, 120);
    assert_int_equal(crypto_key_spki_der(b, spki_b, sizeof(spki_b)), n);
    assert_bytes_equal(spki_a, spki_b, (size_t)n);
    /* the private halves agree too: each verifies the other's signature */
    assert_int_equal(crypto_ecdsa_p384_sign(a, msg, sizeof(msg), sig), 0);
    assert_true(crypto_ecdsa_p384_verify(b, msg, sizeof(msg), sig));
    assert_int_equal(crypto_ecdsa_p384_sign(b, msg, sizeof(msg), sig), 0);
    assert_true(crypto_ecdsa_p384_verify(a, msg, sizeof(msg), sig));
    crypto_key_free(b);
    /* saved again: the very text OpenSSL wrote, mode 0600 */
    {
        char dir[] = "/tmp/test_crypto.XXXXXX";
        char path[64], back[sizeof(key_pkcs8) + 16];
        struct stat st;
        FILE *f;
        size_t got;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/key.pem", dir);
        assert_int_equal(crypto_key_save_pem(a, path), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        f = fopen(path, "r");
        assert_non_null(f);
        got = fread(back, 1, sizeof(back), f);
        fclose(f);
        assert_int_equal(got, sizeof(key_pkcs8) - 1);
        assert_memory_equal(back, key_pkcs8, got);
        unlink(path);
        rmdir(dir);
    }
    crypto_key_free(a);
    /* a character outside base64, and a line cut short */
    memcpy(bad, key_pkcs8, sizeof(bad));
    p = strstr(bad, "MIG2") + 10;
    *p = '*';
    assert_null(crypto_key_from_pem(bad, sizeof(bad)));
    memcpy(bad, key_pkcs8, sizeof(bad));
    p = strstr(bad, "RVAW");
    memmove(p, p + 3, strlen(p + 3) + 1);
    assert_null(crypto_key_from_pem(bad, strlen(bad)));
    /* no END line */
    memcpy(bad, key_pkcs8, sizeof(bad));
    *strstr(bad, "-----END") = '\0';
    assert_null(crypto_key_from_pem(bad, strlen(bad)));
}

/*
 * Key files whose public point is not the private scalar's: the scalar of
 * key_pkcs8 with another key's point, in PKCS#8 (read by the adapter) and
 * SEC1 (read by OpenSSL), and the scalar n + 1 (out of range, though its
 * point G is right for it). OpenSSL's own readers take all three.
 */
static const char key_pkcs8_other_point[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDB1mSgYpqCYEgfsLvcA\n"
    "Qg4iTeLfeJxm5qwIif5lM9QETFUrOn3d9QZfv1Hs/PpuNnWhZANiAATaNKooPePw\n"
    "gD1cTjqD/1k8OSN54CanWMams/1yC5a41PhfsQzrnt3zOChMfpoMVMH7RgpfP+VA\n"
    "WPUzlSmWXNwXrHPlBWUbbyubm6fHowphkuu9XeSSd1jH8craXDXQ7fQ=\n"
    "-----END PRIVATE KEY-----\n";
static const char key_sec1_other_point[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MIGkAgEBBDB1mSgYpqCYEgfsLvcAQg4iTeLfeJxm5qwIif5lM9QETFUrOn3d9QZf\n"
    "v1Hs/PpuNnWgBwYFK4EEACKhZANiAATaNKooPePwgD1cTjqD/1k8OSN54CanWMam\n"
    "s/1yC5a41PhfsQzrnt3zOChMfpoMVMH7RgpfP+VAWPUzlSmWXNwXrHPlBWUbbyub\n"
    "m6fHowphkuu9XeSSd1jH8craXDXQ7fQ=\n"
    "-----END EC PRIVATE KEY-----\n";
static const char key_pkcs8_scalar_n1[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDD/////////////////\n"
    "///////////////HY02B9Dct31gaDbJIsKd67OwZaszFKXShZANiAASqh8oivosF\n"
    "N46xxx7zIK10bh07Younm5hZ90HgglQqOFUC8l2/VSlsOlReOHJ2Crc2F95KliYs\n"
    "b12emL+Sktwp+PQdvSiaFHzp2jETtfC4wApgsc4dfoGdekMdfJDqDl8=\n"
    "-----END PRIVATE KEY-----\n";

static void key_pair_mismatch_refused(void **state)
{
    const char *bad[] = {key_pkcs8_other_point, key_sec1_other_point,
                         key_pkcs8_scalar_n1};
    char dir[] = "/tmp/test_crypto.XXXXXX";
    char path[64];
    struct crypto_key *k;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    for (size_t i = 0; i < TV_ARRAY_SIZE(bad); i++) {
        assert_null(crypto_key_from_pem(bad[i], strlen(bad[i])));
        f = fopen(path, "w");
        assert_non_null(f);
        assert_true(fputs(bad[i], f) >= 0);
        assert_int_equal(fclose(f), 0);
        assert_null(crypto_key_load_pem(path));
    }
    /* the matching pair still loads both ways */
    k = crypto_key_from_pem(key_pkcs8, strlen(key_pkcs8));
    assert_non_null(k);
    crypto_key_free(k);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(key_sec1, f) >= 0);
    assert_int_equal(fclose(f), 0);
    k = crypto_key_load_pem(path);
    assert_non_null(k);
    crypto_key_free(k);
    unlink(path);
    rmdir(dir);
}

/*
 * PEM armour: the BEGIN line is that line alone (white space and a CR may
 * end it), so text on it is not taken as base64; an encoding whose length
 * would wrap the size computation is refused before anything is read.
 */
static void pem_armour_strict(void **state)
{
    uint8_t der[512];
    char text[sizeof(key_pkcs8) + 8];
    static const uint8_t one[1] = {0x30};
    char small[64];
    long n, m;
    char *nl;

    (void)state;
    n = crypto_pem_decode((const uint8_t *)key_pkcs8, strlen(key_pkcs8),
                          "PRIVATE KEY", der, sizeof(der));
    assert_int_equal(n, 185);
    /* white space or a CR before the line break: the same bytes */
    snprintf(text, sizeof(text), "-----BEGIN PRIVATE KEY----- \t\r%s",
             strchr(key_pkcs8, '\n'));
    m = crypto_pem_decode((const uint8_t *)text, strlen(text), "PRIVATE KEY",
                          der, sizeof(der));
    assert_int_equal(m, n);
    /* the first base64 line joined to the BEGIN line */
    memcpy(text, key_pkcs8, sizeof(key_pkcs8));
    nl = strchr(text, '\n');
    memmove(nl, nl + 1, strlen(nl + 1) + 1);
    assert_int_equal(crypto_pem_decode((const uint8_t *)text, strlen(text),
                                       "PRIVATE KEY", der, sizeof(der)),
                     -1);
    assert_null(crypto_key_from_pem(text, strlen(text)));
    /* nothing after the BEGIN line */
    assert_int_equal(
        crypto_pem_decode((const uint8_t *)"-----BEGIN PRIVATE KEY-----", 27,
                          "PRIVATE KEY", der, sizeof(der)),
        -1);
    /* lengths whose character count wraps around */
    assert_int_equal(
        crypto_pem_encode(one, SIZE_MAX, "X", small, sizeof(small)), -1);
    assert_int_equal(
        crypto_pem_encode(one, SIZE_MAX - 1, "X", small, sizeof(small)), -1);
    assert_int_equal(
        crypto_pem_encode(one, 1, "X", small, sizeof(small)),
        (long)strlen("-----BEGIN X-----\nMA==\n-----END X-----\n"));
    assert_string_equal(small, "-----BEGIN X-----\nMA==\n-----END X-----\n");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(hmac_rfc4231),
    cmocka_unit_test(hmac_flipped_bit_differs),
    cmocka_unit_test(sha_known_answers),
    cmocka_unit_test(ecdsa_round_trip),
    cmocka_unit_test(spki_p384_form),
    cmocka_unit_test(key_pem_forms),
    cmocka_unit_test(random_bytes),
    cmocka_unit_test(ct_eq_and_wipe),
    cmocka_unit_test(hmac_sha384_rfc4231),
    cmocka_unit_test(hkdf_sha384_known_answer),
    cmocka_unit_test(aes256gcm_known_answer_and_tamper),
    cmocka_unit_test(ecdh_p384_agreement),
    cmocka_unit_test(ecdsa_verify_point),
    cmocka_unit_test(der_walk),
    cmocka_unit_test(x509_issue_serials),
    cmocka_unit_test(x509_issue_fields),
    cmocka_unit_test(gcm_keyed_contexts),
    cmocka_unit_test(gcm_keyed_every_length),
    cmocka_unit_test(gcm_nist_vectors),
    cmocka_unit_test(gcm_length_limits),
    cmocka_unit_test(key_pair_mismatch_refused),
    cmocka_unit_test(pem_armour_strict),
};

HARNESS_MAIN("crypto", tests)
