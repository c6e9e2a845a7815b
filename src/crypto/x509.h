/* SPDX-License-Identifier: MIT */
/*
 * X.509 through the crypto adapter: parsing certificates into plain fields,
 * checking one certificate's signature against its issuer's key, issuing
 * certificates for the local PKI, PEM/DER file helpers, and an independent
 * reference check built on OpenSSL's own chain verification.
 *
 * The attestation verifier (src/verify) makes every §12 decision itself from
 * the fields of struct crypto_x509; OpenSSL here only decodes DER and checks
 * single ECDSA signatures. crypto_x509_verify_chain_openssl() is the one
 * exception and exists only as a second opinion for tests.
 *
 * OpenSSL allocates inside all of these functions; no OpenSSL type appears
 * in this header. All functions are safe to call from several threads on
 * different objects; a parsed struct crypto_x509 may be read concurrently.
 */
#ifndef TV_CRYPTO_X509_H
#define TV_CRYPTO_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct crypto_key;

/* keyUsage bits, numbered as in RFC 5280 §4.2.1.3 (bit 0 = first bit). */
#define CRYPTO_KU_DIGITAL_SIGNATURE (1u << 0)
#define CRYPTO_KU_NON_REPUDIATION   (1u << 1)
#define CRYPTO_KU_KEY_ENCIPHERMENT  (1u << 2)
#define CRYPTO_KU_DATA_ENCIPHERMENT (1u << 3)
#define CRYPTO_KU_KEY_AGREEMENT     (1u << 4)
#define CRYPTO_KU_KEY_CERT_SIGN     (1u << 5)
#define CRYPTO_KU_CRL_SIGN          (1u << 6)

#define CRYPTO_X509_SERIAL_MAX 20   /* bytes (RFC 5280 §4.1.2.2) */
#define CRYPTO_X509_NAME_MAX   256  /* a one-line distinguished name */
#define CRYPTO_X509_DER_MAX    4096 /* bytes; any certificate we issue */

/**
 * struct crypto_x509 - one parsed certificate. Created by
 * crypto_x509_parse(), released by crypto_x509_release(). The DER is parsed
 * by a strict DER walker here (no OpenSSL ASN.1 templates, no decoders: they
 * cost more than the signature checks); the fields are a snapshot of it.
 * @der, @der_len:    the caller's DER, which must outlive this structure
 * @tbs_off, @tbs_len:         the signed TBSCertificate, within @der
 * @issuer_off, @issuer_len:   the issuer Name (DER), within @der
 * @subject_off, @subject_len: the subject Name (DER), within @der
 * @sig_off, @sig_len:         the ECDSA-Sig-Value (DER), within @der
 * @key:              subject public key when it is an EC P-384 key, owned;
 *                    NULL for any other key
 * @not_before_s:     notBefore, Unix seconds (UTC)
 * @not_after_s:      notAfter, Unix seconds (UTC)
 * @sig_es384:        signatureAlgorithm is ecdsa-with-SHA384 (outer and TBS
 *                    algorithm identifiers identical, no parameters)
 * @key_p384:         the subject key is an EC P-384 key (@key set)
 * @bc_present:       basicConstraints present
 * @bc_critical:      ... and marked critical
 * @bc_ca:            ... with cA TRUE
 * @bc_pathlen:       pathLenConstraint, or -1 when absent
 * @ku_present:       keyUsage present
 * @ku_critical:      ... and marked critical
 * @ku_bits:          CRYPTO_KU_* bits that are set
 * @unknown_critical: count of critical extensions this adapter does not
 *                    interpret (anything but basicConstraints, keyUsage,
 *                    subject/authority key identifiers)
 * @bad_extension:    a known extension failed to decode, or an extension
 *                    (known or not) appears twice
 * @serial:           serial number bytes (big-endian, DER content)
 * @serial_len:       bytes in @serial
 * @ski_off, @ski_len: the subjectKeyIdentifier's keyIdentifier (its
 *                    content), within @der; @ski_len 0 when absent
 */
struct crypto_x509 {
    const uint8_t *der;
    size_t der_len;
    size_t tbs_off, tbs_len;
    size_t issuer_off, issuer_len;
    size_t subject_off, subject_len;
    size_t sig_off, sig_len;
    const struct crypto_key *key;
    int64_t not_before_s;
    int64_t not_after_s;
    bool sig_es384;
    bool key_p384;
    bool bc_present;
    bool bc_critical;
    bool bc_ca;
    int bc_pathlen;
    bool ku_present;
    bool ku_critical;
    uint32_t ku_bits;
    unsigned unknown_critical;
    bool bad_extension;
    uint8_t serial[CRYPTO_X509_SERIAL_MAX];
    size_t serial_len;
    size_t ski_off, ski_len;
};

/**
 * crypto_x509_parse() - decode the DER certificate @der of @len bytes.
 * @c: caller-allocated, fully overwritten; release with crypto_x509_release()
 *     after a successful parse (after a failure nothing needs releasing).
 *     @c points into @der, which must stay valid and unchanged while @c is
 *     in use.
 * The whole input must be one X.509 v3 certificate in DER (definite minimal
 * lengths, trailing bytes are an error) that also keeps these rules:
 *  - the serial is a positive INTEGER of at most 20 value bytes, and every
 *    INTEGER read (serial, pathLenConstraint, the r and s of an ECDSA
 *    signature) has its shortest encoding and the right sign;
 *  - times are real calendar dates (29 February in leap years only), in
 *    UTCTime through 2049 and GeneralizedTime only from 2050 (RFC 5280
 *    §4.1.2.5).
 * Extension rules do not fail the parse; they set @bad_extension for the
 * verifier to report: a keyUsage with a set unused bit or no bits at all, a
 * basicConstraints that does not decode, any extension present twice.
 * Allocates inside OpenSSL for the public key only. Return: 0, or -1 when
 * the DER is not a certificate by the rules above.
 */
int crypto_x509_parse(struct crypto_x509 *c, const uint8_t *der, size_t len)
    __attribute__((warn_unused_result));

/** crypto_x509_release() - free what crypto_x509_parse() allocated. */
void crypto_x509_release(struct crypto_x509 *c);

/**
 * crypto_x509_issuer_matches() - whether @child's issuer name is
 * byte-identical to @parent's subject name (the DER encodings; CAs copy the
 * issuer's subject, so this is the strict form of RFC 5280 §7.1).
 */
bool crypto_x509_issuer_matches(const struct crypto_x509 *child,
                                const struct crypto_x509 *parent);

/**
 * crypto_x509_signed_by() - whether @child's signature verifies under
 * @parent's public key (SHA-384 of the TBSCertificate, ECDSA), requiring
 * ecdsa-with-SHA384 and a P-384 key. Checks that one signature only: no
 * names, times or constraints.
 */
bool crypto_x509_signed_by(const struct crypto_x509 *child,
                           const struct crypto_x509 *parent);

/**
 * crypto_x509_subject() / crypto_x509_issuer() - the distinguished name as
 * one line ("C=US, O=Amazon, OU=AWS, CN=aws.nitro-enclaves"), truncated to
 * @cap - 1 bytes and NUL-terminated. Return: @buf.
 */
char *crypto_x509_subject(const struct crypto_x509 *c, char *buf, size_t cap);
char *crypto_x509_issuer(const struct crypto_x509 *c, char *buf, size_t cap);

/**
 * crypto_ecdsa_p384_verify2() - check the r || s signature @sig over
 * SHA-384(@a || @b) with @key. The two-part form lets a COSE verifier hash
 * the Sig_structure head and the payload in place, without a copy.
 * Return: true only when the signature is valid.
 */
bool crypto_ecdsa_p384_verify2(const struct crypto_key *key, const void *a,
                               size_t a_len, const void *b, size_t b_len,
                               const uint8_t sig[96]);

/**
 * struct crypto_x509_template - what crypto_x509_issue() puts in a
 * certificate. The subject is "O=@org, CN=@cn"; extensions are
 * basicConstraints (always critical), keyUsage, subjectKeyIdentifier and
 * authorityKeyIdentifier.
 * @org, @cn:        subject attributes (UTF-8, NUL-terminated)
 * @serial:          serial bytes, big-endian unsigned, 1..20, not all zero;
 *                   encoded as the shortest positive INTEGER
 * @not_before_s:    validity start, Unix seconds
 * @not_after_s:     validity end, Unix seconds
 * @ca:              cA TRUE
 * @pathlen:         pathLenConstraint, or -1 for none
 * @ku_bits:         CRYPTO_KU_* bits
 * @ku_critical:     mark keyUsage critical
 * @subject_key:     the P-384 key being certified (its public part is
 *                   used; its subjectKeyIdentifier is the SHA-1 of the
 *                   point, RFC 5280 §4.2.1.2 method 1)
 */
struct crypto_x509_template {
    const char *org;
    const char *cn;
    const uint8_t *serial;
    size_t serial_len;
    int64_t not_before_s;
    int64_t not_after_s;
    bool ca;
    int pathlen;
    uint32_t ku_bits;
    bool ku_critical;
    const struct crypto_key *subject_key;
};

/**
 * crypto_x509_issue() - issue a certificate for @t, signed with
 * ecdsa-with-SHA384 by @issuer_key.
 * @issuer:     the issuer's certificate, or NULL for a self-signed one (then
 *              @issuer_key must be @t->subject_key's private key); it must
 *              carry a subjectKeyIdentifier, which becomes the
 *              authorityKeyIdentifier's keyIdentifier
 * @out, @cap:  receives the DER
 * The DER is written here; OpenSSL only signs (and allocates for that).
 * Return: DER length, or -1 (bad template, OpenSSL failure, or @cap too
 * small).
 */
long crypto_x509_issue(const struct crypto_x509_template *t,
                       const struct crypto_x509 *issuer,
                       const struct crypto_key *issuer_key, uint8_t *out,
                       size_t cap) __attribute__((warn_unused_result));

/**
 * crypto_x509_to_der() - accept a certificate in PEM (first CERTIFICATE
 * block) or DER form and write its DER to @out.
 * Return: DER length, or -1 when neither form decodes or @cap is too small.
 */
long crypto_x509_to_der(const uint8_t *in, size_t in_len, uint8_t *out,
                        size_t cap) __attribute__((warn_unused_result));

/**
 * crypto_x509_write_pem() - write @der as a PEM CERTIFICATE to @path with
 * mode 0644, through a temporary file, fsync and rename (all or nothing).
 * Return: 0 or -1 (reason logged through tv_log).
 */
int crypto_x509_write_pem(const uint8_t *der, size_t len, const char *path)
    __attribute__((warn_unused_result));

/**
 * crypto_x509_verify_chain_openssl() - the independent reference check:
 * OpenSSL's own X509_verify_cert() with @root as the only trust anchor and
 * @inter the untrusted intermediates (any order), at Unix time @at_s
 * (X509_V_FLAG_USE_CHECK_TIME). Default flags: X509_V_FLAG_X509_STRICT would
 * reject the real AWS leaf, which has no authority key identifier. Not used
 * by our verifier; tests run it beside ours so the two must agree.
 * @err:  receives OpenSSL's reason on failure (may be NULL)
 * Return: 0 when OpenSSL accepts the chain, -1 otherwise.
 */
int crypto_x509_verify_chain_openssl(const uint8_t *root, size_t root_len,
                                     const uint8_t *const *inter,
                                     const size_t *inter_len, size_t n_inter,
                                     const uint8_t *leaf, size_t leaf_len,
                                     int64_t at_s, char *err, size_t err_len);

/**
 * crypto_x509_time_str() - format Unix seconds as RFC 3339 UTC,
 * "2023-09-18T15:03:30Z", into @buf (at least 32 bytes). Return: @buf.
 */
char *crypto_x509_time_str(int64_t t_s, char *buf, size_t cap);

#endif
