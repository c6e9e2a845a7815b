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
 * The chain, all ECDSA P-384 with SHA-384 (nsm-protocol.md §11):
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

struct pki;

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
