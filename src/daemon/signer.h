/* SPDX-License-Identifier: MIT */
/*
 * The NSM signer: a small process forked by vhost-user-nsm before it
 * serves any guest, holding the PKI's intermediate key, so that the
 * process that parses guest input holds only the current leaf key (privilege
 * separation as in OpenSSH's monitor). It answers one question over a
 * SOCK_SEQPACKET socketpair, "issue a leaf for this public key", under its
 * own syscall filter, and exits when the socket closes.
 *
 * Messages, one datagram each:
 *
 *   hello (signer -> daemon, once, after loading the PKI):
 *     0x00 | u16 root_len (big endian) | root DER | intermediate DER
 *     0x01 | reason (UTF-8 text, no NUL)            (and the signer exits)
 *   request (daemon -> signer):
 *     'L' (0x4c) | 0x01 (version) | u16 spki_len | spki DER (P-384)
 *     exactly 4 + spki_len bytes; anything else is refused
 *   answer (signer -> daemon):
 *     0x00 | leaf certificate DER
 *     0x01 | reason
 *
 * The leaf's validity starts at the signer's own clock; the request carries
 * no time, subject or extension, so a compromised daemon can obtain only
 * what it could anyway: a current leaf for a key of its choosing.
 * Programs only.
 */
#ifndef TV_DAEMON_SIGNER_H
#define TV_DAEMON_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto/x509.h"

#define SIGNER_REQ_ISSUE 0x4c /* 'L' */
#define SIGNER_VERSION   0x01
#define SIGNER_OK        0x00
#define SIGNER_REFUSED   0x01
#define SIGNER_MSG_MAX   (1 + 2 + 2 * CRYPTO_X509_DER_MAX)
#define SIGNER_TIMEOUT_S 10 /* one answer; PKI creation in the hello */

/** struct signer - the daemon's end. */
struct signer {
    pid_t pid;                             /* the signer process */
    int fd;                                /* our end of the socketpair */
    uint8_t root_der[CRYPTO_X509_DER_MAX]; /* from the hello */
    size_t root_len;
    uint8_t inter_der[CRYPTO_X509_DER_MAX];
    size_t inter_len;
};

/**
 * signer_start() - fork the signer for the PKI in @dir (created when empty)
 * and @module_id, and wait for its hello. The child closes every inherited
 * descriptor but its socket and stderr, loads the PKI (refusing key files
 * others can read), sends the hello, enters the SANDBOX_SIGNER filter
 * unless @sandbox is false, then serves requests until end of file.
 * Return: 0, or -1 with the reason (the signer's, when it refused) in @err.
 */
int signer_start(struct signer *sg, const char *dir, const char *module_id,
                 bool sandbox, char *err, size_t err_len);

/**
 * signer_issue() - pki_issue_fn over the socketpair (@ctx is the struct
 * signer; @now_s is not sent, the signer uses its own clock).
 */
long signer_issue(void *ctx, const uint8_t *spki, size_t spki_len,
                  int64_t now_s, uint8_t *der, size_t cap);

/** signer_stop() - close the socket and reap the signer. */
void signer_stop(struct signer *sg);

#endif
