/* SPDX-License-Identifier: MIT */
/* see signer.h */
#include "daemon/signer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ct.h"
#include "common/err.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "daemon/sandbox.h"
#include "pki/pki.h"

/* Buffers of the signer process: static, it runs one request at a time. */
static uint8_t sig_in[SIGNER_MSG_MAX + 1];
static uint8_t sig_out[SIGNER_MSG_MAX];

static void send_refusal(int fd, const char *reason)
{
    size_t n = strlen(reason);

    if (n > sizeof(sig_out) - 1) {
        n = sizeof(sig_out) - 1;
    }
    sig_out[0] = SIGNER_REFUSED;
    memcpy(sig_out + 1, reason, n);
    (void)send(fd, sig_out, 1 + n, MSG_NOSIGNAL);
}

/*
 * One request in @req[0..@len): check its exact shape, issue, answer.
 * Returns after answering; a malformed request gets a refusal, never more.
 */
static void serve_one(struct pki_ca *ca, int fd, const uint8_t *req, size_t len)
{
    size_t spki_len;
    long n;

    if (len < 4 || req[0] != SIGNER_REQ_ISSUE || req[1] != SIGNER_VERSION) {
        send_refusal(fd, "not an issue request");
        return;
    }
    spki_len = (size_t)req[2] << 8 | req[3];
    if (spki_len == 0 || spki_len > PKI_SPKI_MAX || len != 4 + spki_len) {
        send_refusal(fd, "bad public key length");
        return;
    }
    n = pki_ca_issue_leaf(ca, req + 4, spki_len, tv_wall_s(), sig_out + 1,
                          sizeof(sig_out) - 1);
    if (n <= 0) {
        send_refusal(fd, "not a P-384 public key, or issuing failed");
        return;
    }
    sig_out[0] = SIGNER_OK;
    (void)send(fd, sig_out, 1 + (size_t)n, MSG_NOSIGNAL);
}

static void warm_up(struct pki_ca *ca)
{
    struct crypto_key *key = crypto_key_generate_p384();
    uint8_t spki[PKI_SPKI_MAX];
    long n = key != NULL ? crypto_key_spki_der(key, spki, sizeof(spki)) : -1;

    if (n > 0) {
        (void)pki_ca_issue_leaf(ca, spki, (size_t)n, tv_wall_s(), sig_out,
                                sizeof(sig_out));
    }
    crypto_key_free(key);
    wipe(sig_out, sizeof(sig_out));
}

/* The signer process: never returns. */
static void __attribute__((noreturn))
signer_main(int fd, const char *dir, const char *module_id, bool sandbox)
{
    struct pki_ca *ca;
    const uint8_t *p;
    char err[256];
    size_t n, root_len;
    ssize_t r;

    tv_log_prefix = "vhost-user-nsm signer";
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    (void)prctl(PR_SET_NAME, "nsm-signer", 0, 0, 0);
    /* nothing of the daemon's: no listening socket, no connection */
    if (fd != 3 && dup2(fd, 3) < 0) {
        _exit(1);
    }
    if (fd != 3) {
        close(fd);
    }
    fd = 3;
    (void)close_range(4, ~0u, 0);
    (void)close(0);
    (void)close(1);

    ca = pki_ca_open(dir, module_id, true, err, sizeof(err));
    if (ca == NULL) {
        send_refusal(fd, err);
        _exit(1);
    }
    p = pki_ca_root_der(ca, &root_len);
    sig_out[0] = SIGNER_OK;
    sig_out[1] = (uint8_t)(root_len >> 8);
    sig_out[2] = (uint8_t)root_len;
    memcpy(sig_out + 3, p, root_len);
    p = pki_ca_inter_der(ca, &n);
    memcpy(sig_out + 3 + root_len, p, n);
    if (send(fd, sig_out, 3 + root_len + n, MSG_NOSIGNAL) < 0) {
        _exit(1);
    }
    /*
     * One throwaway issue before the filter: OpenSSL loads its
     * configuration and fetches algorithms on first use, which opens
     * files the filter rightly forbids later.
     */
    warm_up(ca);
    if (sandbox && sandbox_apply(SANDBOX_SIGNER, err, sizeof(err)) != 0) {
        tv_err("%s", err);
        _exit(1);
    }
    for (;;) {
        /* one byte more than any valid request: oversize is detected */
        r = read(fd, sig_in, sizeof(sig_in));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        serve_one(ca, fd, sig_in, (size_t)r);
        wipe(sig_out, sizeof(sig_out));
    }
    pki_ca_close(ca);
    _exit(0);
}

/* One datagram from the signer into sig_in; its length, or -1. */
static ssize_t recv_msg(int fd)
{
    ssize_t r;

    do {
        r = recv(fd, sig_in, sizeof(sig_in), 0);
    } while (r < 0 && errno == EINTR);
    return r;
}

/* see signer.h */
int signer_start(struct signer *sg, const char *dir, const char *module_id,
                 bool sandbox, char *err, size_t err_len)
{
    struct timeval tv = {SIGNER_TIMEOUT_S, 0};
    int sv[2];
    ssize_t r;
    size_t root_len;

    sg->pid = -1;
    sg->fd = -1;
    /*
     * Both processes generate P-384 keys, sign and verify: built once here,
     * OpenSSL's DRBG, method stores and group tables stay in pages the two
     * share after the fork (about 100 KiB that each would otherwise build
     * for itself), as long as neither writes to them.
     */
    if (crypto_p384_prepare() != 0) {
        tv_set_err(err, err_len, "OpenSSL cannot generate or use P-384 keys");
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        tv_set_err(err, err_len, "socketpair: %s", strerror(errno));
        return -1;
    }
    fflush(stderr);
    sg->pid = fork();
    if (sg->pid < 0) {
        tv_set_err(err, err_len, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (sg->pid == 0) {
        close(sv[0]);
        signer_main(sv[1], dir, module_id, sandbox);
    }
    close(sv[1]);
    sg->fd = sv[0];
    (void)setsockopt(sg->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    r = recv_msg(sg->fd);
    if (r < 1) {
        tv_set_err(err, err_len, "the signer did not start: %s",
                   r < 0 ? strerror(errno) : "it exited");
        goto err_stop;
    }
    if (sig_in[0] != SIGNER_OK) {
        tv_set_err(err, err_len, "%.*s", (int)(r - 1),
                   (const char *)sig_in + 1);
        goto err_stop;
    }
    root_len = r >= 3 ? (size_t)sig_in[1] << 8 | sig_in[2] : 0;
    if (r < 3 || root_len == 0 || root_len > sizeof(sg->root_der) ||
        (size_t)r - 3 <= root_len ||
        (size_t)r - 3 - root_len > sizeof(sg->inter_der)) {
        tv_set_err(err, err_len, "the signer's hello is malformed");
        goto err_stop;
    }
    memcpy(sg->root_der, sig_in + 3, root_len);
    sg->root_len = root_len;
    sg->inter_len = (size_t)r - 3 - root_len;
    memcpy(sg->inter_der, sig_in + 3 + root_len, sg->inter_len);
    return 0;

err_stop:
    signer_stop(sg);
    return -1;
}

/* see signer.h */
long signer_issue(void *ctx, const uint8_t *spki, size_t spki_len,
                  int64_t now_s, uint8_t *der, size_t cap)
{
    struct signer *sg = ctx;
    uint8_t req[4 + PKI_SPKI_MAX];
    ssize_t r;

    (void)now_s;
    if (sg->fd < 0 || spki_len == 0 || spki_len > PKI_SPKI_MAX) {
        return -1;
    }
    req[0] = SIGNER_REQ_ISSUE;
    req[1] = SIGNER_VERSION;
    req[2] = (uint8_t)(spki_len >> 8);
    req[3] = (uint8_t)spki_len;
    memcpy(req + 4, spki, spki_len);
    if (send(sg->fd, req, 4 + spki_len, MSG_NOSIGNAL) !=
        (ssize_t)(4 + spki_len)) {
        tv_err("signer: %s", strerror(errno));
        return -1;
    }
    r = recv_msg(sg->fd);
    if (r < 1) {
        tv_err("signer: no answer: %s", r < 0 ? strerror(errno) : "it exited");
        return -1;
    }
    if (sig_in[0] != SIGNER_OK) {
        tv_err("signer refused: %.*s", (int)(r - 1), (const char *)sig_in + 1);
        return -1;
    }
    if ((size_t)r - 1 > cap) {
        tv_err("signer: leaf certificate too large");
        return -1;
    }
    memcpy(der, sig_in + 1, (size_t)r - 1);
    return (long)r - 1;
}

/* see signer.h */
void signer_stop(struct signer *sg)
{
    if (sg->fd >= 0) {
        close(sg->fd);
        sg->fd = -1;
    }
    if (sg->pid > 0) {
        while (waitpid(sg->pid, NULL, 0) < 0 && errno == EINTR) {
        }
        sg->pid = -1;
    }
}
