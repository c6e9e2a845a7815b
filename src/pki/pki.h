/* SPDX-License-Identifier: MIT */
/*
 * The local PKI: a private stand-in for the AWS Nitro certificate chain, so
 * that attestation documents from our NSM model are signed by a chain with
 * the same shape and constraints as the real one and verify against a root
 * the relying party pins.
 *
 * A PKI directory holds (written by pki_init_dir(), never overwritten):
 *
 *   root.pem          the root CA certificate; relying parties pin this
 *                     (`nsm verify --root DIR/root.pem`)
 *   root.der          the same certificate, DER
 *   root.key          the root's P-384 private key, PKCS#8 PEM, mode 0600
 *   intermediate.pem  the intermediate CA certificate
 *   intermediate.key  its P-384 private key, PKCS#8 PEM, mode 0600
 *
 * The chain, all ECDSA P-384 with SHA-384 (as in AWS nsm-api
 * docs/attestation_process.md):
 *
 *   root          O=trustvio, CN=root.trustvio, self-signed, 30 years;
 *                 basicConstraints critical CA:TRUE (no pathLen);
 *                 keyUsage critical digitalSignature, keyCertSign, cRLSign
 *   intermediate  O=trustvio, CN=intermediate.trustvio, 10 years;
 *                 basicConstraints critical CA:TRUE, pathLen 0 (it issues
 *                 the leaf directly); keyUsage critical keyCertSign, cRLSign
 *   leaf          O=trustvio, CN=<module_id>.trustvio, 3 hours, key made in
 *                 memory and never written; basicConstraints critical
 *                 CA:FALSE; keyUsage (not critical) digitalSignature,
 *                 nonRepudiation; serial = 8-byte enclave id || 8 random
 *                 bytes (AWS puts a time there; random bits keep serials
 *                 unique across renewals within one second and across
 *                 daemons sharing a PKI)
 *
 * Every certificate carries subject and authority key identifiers. The
 * cabundle of a document is [root, intermediate]: root first, leaf issuer
 * last, like the real [root, regional, zonal, instance].
 *
 * The leaf is renewed when less than PKI_LEAF_RENEW_S of its validity is
 * left at the time a document is signed, so a fresh document always has at
 * least an hour of chain validity ahead of it. The check on the hot path is
 * one comparison.
 */
#ifndef TV_PKI_PKI_H
#define TV_PKI_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsm/nsm.h"

#define PKI_ROOT_LIFETIME_S         (30LL * 365 * 24 * 3600 + 7 * 24 * 3600)
#define PKI_INTERMEDIATE_LIFETIME_S (10LL * 365 * 24 * 3600 + 2 * 24 * 3600)
#define PKI_LEAF_LIFETIME_S         (3LL * 3600) /* like AWS: 3 hours */
#define PKI_LEAF_RENEW_S            (3600LL)     /* renew below 1 hour left */
#define PKI_BACKDATE_S              (60LL)       /* notBefore slack, clocks */

#define PKI_SPKI_MAX 160 /* DER SubjectPublicKeyInfo of a P-384 key: 120 */

struct pki;
struct pki_ca;

/**
 * typedef pki_issue_fn - issue a leaf certificate for the public key @spki
 * (DER SubjectPublicKeyInfo, P-384) valid from about @now_s (an issuer in
 * another process may use its own clock instead) into @der of @cap bytes.
 * Return: the certificate's length, or -1.
 */
typedef long (*pki_issue_fn)(void *ctx, const uint8_t *spki, size_t spki_len,
                             int64_t now_s, uint8_t *der, size_t cap);

/**
 * pki_init_dir() - create a new PKI in @dir (created with mode 0700 if it
 * does not exist): root and intermediate keys and certificates as listed
 * above. Refuses to touch a directory that already holds any of the five
 * files. Files are written atomically; on failure the ones written by this
 * call are removed again.
 * @err, @err_len:  receives a one-line reason on failure
 * Return: 0 or -1.
 */
int pki_init_dir(const char *dir, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/**
 * pki_open() - load the PKI in @dir for a device whose module id is
 * @module_id, and issue its first leaf at the current wall-clock time.
 * @create_if_empty: when @dir does not exist or is empty, run
 *                   pki_init_dir() first
 * @err, @err_len:   receives a one-line reason on failure
 * Allocates (daemon and tool paths only). The returned object is used by
 * one thread at a time (the NSM model's). Return: the PKI, or NULL.
 */
struct pki *pki_open(const char *dir, const char *module_id,
                     bool create_if_empty, char *err, size_t err_len);

/**
 * pki_open_issuer() - like pki_open() for a process that holds no CA key:
 * the chain certificates are given (DER, copied) and every leaf, the first
 * one included, comes from @issue. A leaf is used only if it certifies the
 * key it was asked for and is signed by @inter_der's key.
 * Allocates. Return: the PKI, or NULL with @err set.
 */
struct pki *pki_open_issuer(const uint8_t *root_der, size_t root_len,
                            const uint8_t *inter_der, size_t inter_len,
                            pki_issue_fn issue, void *issue_ctx, char *err,
                            size_t err_len);

/**
 * pki_ca_open() - load the issuing side of the PKI in @dir (root and
 * intermediate certificates, the intermediate's private key) for leaves of
 * @module_id; with @create_if_empty, pki_init_dir() a missing or empty @dir
 * first. Private key files (root.key, intermediate.key) are refused, like
 * ssh does, unless they are regular files, not symbolic links, owned by the
 * effective uid and not accessible by group or others; the reason names
 * the file and the fix.
 * Allocates. Return: the CA, or NULL with @err set.
 */
struct pki_ca *pki_ca_open(const char *dir, const char *module_id,
                           bool create_if_empty, char *err, size_t err_len);

/**
 * pki_ca_issue_leaf() - a leaf certificate (see above) for @module_id's
 * device and the P-384 public key @spki (its exact DER encoding, else
 * refused), valid from @now_s - PKI_BACKDATE_S for PKI_LEAF_LIFETIME_S or
 * until the intermediate expires. Has the shape of pki_issue_fn.
 * Return: its DER length in @der, or -1.
 */
long pki_ca_issue_leaf(struct pki_ca *ca, const uint8_t *spki, size_t spki_len,
                       int64_t now_s, uint8_t *der, size_t cap);

/** pki_ca_root_der(), pki_ca_inter_der() - the chain, DER. */
const uint8_t *pki_ca_root_der(const struct pki_ca *ca, size_t *len);
const uint8_t *pki_ca_inter_der(const struct pki_ca *ca, size_t *len);

/** pki_ca_close() - free @ca, wiping its key. NULL is a no-op. */
void pki_ca_close(struct pki_ca *ca);

/**
 * pki_check_key_file() - the ssh-like check of pki_ca_open() on an open
 * private key file @fd named @path (regular, ours, mode without group and
 * other bits). Return: 0, or -1 with the reason in @err.
 */
int pki_check_key_file(int fd, const char *path, char *err, size_t err_len);

/**
 * pki_get_signer() - the signer for a document produced at @now_ms; has the
 * signature of struct nsm_platform_ops.get_signer, with @ctx a struct pki.
 * Renews the leaf (new key, new certificate) when less than
 * PKI_LEAF_RENEW_S of validity remains at @now_ms or @now_ms is before the
 * leaf's notBefore. The signer's pointers stay valid until the next call or
 * pki_close(). cabundle = [root, intermediate].
 * Return: 0, or -1 when renewal failed (the old signer is not returned).
 */
int pki_get_signer(void *ctx, uint64_t now_ms, const struct nsm_signer **signer)
    __attribute__((warn_unused_result));

/**
 * pki_root_der() - the root certificate, DER (valid until pki_close()).
 */
const uint8_t *pki_root_der(const struct pki *pki, size_t *len);

/** pki_close() - free the PKI and wipe the keys it holds in memory. */
void pki_close(struct pki *pki);

#endif
