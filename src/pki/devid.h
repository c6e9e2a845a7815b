/* SPDX-License-Identifier: MIT */
/*
 * Device identity for the SPDM responder: a device CA and a device leaf.
 *
 * A device identity directory holds (written by devid_init_dir(), never
 * overwritten):
 *
 *   ca.pem, ca.der   the device CA, self-signed: verifiers pin it
 *                    (`tdisp authenticate --root DIR/ca.pem`)
 *   ca.key           its P-384 private key, PKCS#8 PEM, mode 0600; only
 *                    devid_init_dir() uses it, the daemon never reads it
 *   device.pem, device.der  the device leaf, issued by the CA
 *   device.key       the leaf's P-384 private key, PKCS#8 PEM, mode 0600:
 *                    the key SPDM signatures are made with
 *
 * Certificates, ECDSA P-384 with SHA-384, X.509 v3, as DSP0274 1.2 §10.6
 * asks of a device certificate chain:
 *   CA    O=trustvio, CN=device-ca.trustvio, 30 years; basicConstraints
 *         critical CA:TRUE; keyUsage critical keyCertSign, cRLSign,
 *         digitalSignature
 *   leaf  O=trustvio, CN=<name>.trustvio, 20 years (a device identity
 *         lives as long as the device); basicConstraints critical CA:FALSE;
 *         keyUsage critical digitalSignature
 * Both carry subject and authority key identifiers and a random 16-byte
 * serial. The SPDM chain for slot 0 is ca.der || device.der.
 *
 * devid_open() refuses a device.key that is not a regular file owned by
 * the caller with no group or other permission bits.
 */
#ifndef TV_PKI_DEVID_H
#define TV_PKI_DEVID_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/x509.h"

#define DEVID_CA_LIFETIME_S   (30LL * 365 * 24 * 3600)
#define DEVID_LEAF_LIFETIME_S (20LL * 365 * 24 * 3600)
#define DEVID_NAME_MAX        64

struct crypto_key;

/**
 * struct devid - an opened identity. @chain is ca.der || device.der.
 */
struct devid {
    struct crypto_key *key; /* device.key */
    uint8_t chain[2 * CRYPTO_X509_DER_MAX];
    size_t chain_len;
    size_t ca_len; /* the first @ca_len bytes of @chain are the CA */
};

/**
 * devid_init_dir() - create a new identity in @dir (made 0700 if missing).
 * @name: the leaf's CN prefix (letters, digits, '-', '.'; at most
 *        DEVID_NAME_MAX), e.g. "nvme0"
 * Refuses a directory already holding any of the files. On failure, files
 * written by this call are removed. Return: 0, or -1 with @err set.
 */
int devid_init_dir(const char *dir, const char *name, char *err,
                   size_t err_len);

/**
 * devid_open() - load the chain and the device key from @dir, checking the
 * key file's ownership and mode, that the leaf is issued by the CA and that
 * device.key is the leaf's key. Return: 0, or -1 with @err set.
 */
int devid_open(struct devid *d, const char *dir, char *err, size_t err_len);

/** devid_close() - free the key; the chain stays readable. */
void devid_close(struct devid *d);

#endif
