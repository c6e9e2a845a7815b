/* SPDX-License-Identifier: MIT */
/*
 * trustvio-tsm: the TSM model (src/tsm) behind UNIX stream sockets. One
 * host endpoint takes COVH calls; one endpoint per TVM takes that TVM's
 * COVG calls, the endpoint deciding the identity (docs/tee-io.md, "Framed
 * calls"). One poll loop serves every connection: each reads non-blocking
 * into its own buffer, so a peer that sends half a frame and stalls holds
 * up nobody else. One call at a time per connection; a frame that breaks a
 * rule drops that connection only. The TSM's state (devices, sessions,
 * interfaces) lives as long as the daemon; SIGTERM wipes its keys.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bug.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "daemon/daemon.h"
#include "tsm/tsm.h"
#include "tsm/tsm_frame.h"

#define PROG               "trustvio-tsm"
#define TSMD_MAX_TVMS      8 /* --tvm endpoints */
#define TSMD_MAX_ENDPOINTS (1 + TSMD_MAX_TVMS)
#define TSMD_MAX_CONNS     16 /* connections over all endpoints */
#define TSMD_IO_TIMEOUT_S  10 /* default --io-timeout */
#define TSMD_BACKLOG       4

static const char usage[] =
    "Usage: " PROG " --host-socket=PATH [--tvm=ID:PATH]... [options]\n"
    "\n"
    "A TEE-IO TSM (TEE Security Manager) serving the RISC-V CoVE-IO ABI as\n"
    "framed calls over Unix stream sockets: COVH calls from the host on\n"
    "one socket, COVG calls of each TVM on its own socket. The TSM is the\n"
    "SPDM and TDISP requester; the host relays its messages to the device.\n"
    "\n"
    "Endpoints:\n"
    "  --host-socket=PATH   the host's endpoint (COVH; COVG is refused)\n"
    "  --tvm=ID:PATH        the endpoint of TVM ID (a positive integer):\n"
    "                       its calls are TVM ID's (COVG; COVH refused).\n"
    "                       Repeatable, up to 8\n"
    "  --socket-mode=MODE   octal mode of every socket file, whatever the\n"
    "                       umask (default 0600, or 0660 with\n"
    "                       --socket-group)\n"
    "  --socket-group=GROUP group (name or gid) of the socket files; peers\n"
    "                       in GROUP are served besides the daemon's own\n"
    "                       uid, every other peer is refused\n"
    "  --io-timeout=S       drop a connection that stays inside a frame, or\n"
    "                       does not take its answer, for S seconds\n"
    "                       (1..3600, default 10)\n"
    "\n"
    "Privileges:\n"
    "  --sandbox=KIND       seccomp (default): once set up, the daemon runs\n"
    "                       under a syscall allow-list with no_new_privs "
    "and\n"
    "                       is killed on any other call; none: no filter\n"
    "  --user=USER          switch to USER (name or uid) after binding the\n"
    "                       sockets (needs root; the sockets' directories\n"
    "                       must be writable by USER)\n"
    "  --group=GROUP        switch to GROUP (default: USER's primary group)\n"
    "\n"
    "General:\n"
    "  --verbose            log every call (to stderr)\n"
    "  --quiet              log errors only\n"
    "  --help               this text\n"
    "\n"
    "The daemon stays in the foreground, logs to stderr and exits on\n"
    "SIGTERM or SIGINT, wiping its session keys. Its state (connected\n"
    "devices, bound interfaces) lasts as long as it runs, whoever\n"
    "connects. The socket files appear only once it can serve; under\n"
    "systemd (Type=notify) it then sends READY=1 to $NOTIFY_SOCKET.\n";

enum {
    OPT_HOST = 1,
    OPT_TVM,
    OPT_IO_TIMEOUT,
};

static const struct option long_options[] = {
    {"host-socket", required_argument, NULL, OPT_HOST},
    {"tvm", required_argument, NULL, OPT_TVM},
    {"io-timeout", required_argument, NULL, OPT_IO_TIMEOUT},
    {"socket-mode", required_argument, NULL, DAEMON_OPT_SOCKET_MODE},
    {"socket-group", required_argument, NULL, DAEMON_OPT_SOCKET_GROUP},
    {"sandbox", required_argument, NULL, DAEMON_OPT_SANDBOX},
    {"user", required_argument, NULL, DAEMON_OPT_USER},
    {"group", required_argument, NULL, DAEMON_OPT_GROUP},
    {"verbose", no_argument, NULL, DAEMON_OPT_VERBOSE},
    {"quiet", no_argument, NULL, DAEMON_OPT_QUIET},
    {"help", no_argument, NULL, DAEMON_OPT_HELP},
    {NULL, 0, NULL, 0},
};

/** struct endpoint - one listening socket and whose calls arrive on it. */
struct endpoint {
    uint64_t tvm; /* 0: the host */
    char name[40];
    struct daemon_cfg cfg; /* the options, socket_path this endpoint's */
};

/** struct conn - one connection: its partial frame and unsent answer. */
struct conn {
    int fd; /* -1: slot free */
    size_t ep;
    unsigned id;
    unsigned long calls;
    size_t have, need; /* bytes of the frame read, and to read */
    uint64_t since;    /* when the partial frame or unsent answer began */
    size_t tx_len, tx_off;
    uint8_t rx[TSM_FRAME_REQ_MAX];
    uint8_t tx[TSM_FRAME_RSP_MAX];
};

/* Static: large, and early exits leak nothing. */
static struct tsm tsm;
static struct endpoint eps[TSMD_MAX_ENDPOINTS];
static struct daemon_sock socks[TSMD_MAX_ENDPOINTS];
static size_t n_eps;
static struct conn conns[TSMD_MAX_CONNS];
static uint8_t scratch[TSM_FRAME_OUT_MAX];
static uint64_t io_timeout_ms = TSMD_IO_TIMEOUT_S * 1000ull;
static unsigned next_id = 1;

static int tsm_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    return crypto_random(buf, len);
}

static const struct tsm_ops ops = {tsm_random};

static bool path_ok(const char *opt, const char *path)
{
    if (path[0] == '\0' ||
        strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        tv_err("%s: '%s' is empty or longer than %zu bytes", opt, path,
               sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return false;
    }
    for (size_t i = 0; i < n_eps; i++) {
        if (eps[i].cfg.socket_path != NULL &&
            strcmp(eps[i].cfg.socket_path, path) == 0) {
            tv_err("%s: %s is already %s's socket", opt, path, eps[i].name);
            return false;
        }
    }
    return true;
}

/* --tvm=ID:PATH (argv is left as it is: ps shows the options given) */
static int add_tvm(const char *arg)
{
    const char *colon = strchr(arg, ':');
    char id_s[24];
    unsigned long id;
    size_t i;

    if (n_eps - 1 == TSMD_MAX_TVMS) {
        tv_err("--tvm: at most %d TVM endpoints", TSMD_MAX_TVMS);
        return -1;
    }
    if (colon == NULL || (size_t)(colon - arg) >= sizeof(id_s)) {
        tv_err("--tvm=%s: expected ID:PATH", arg);
        return -1;
    }
    memcpy(id_s, arg, (size_t)(colon - arg));
    id_s[colon - arg] = '\0';
    if (!daemon_parse_uint(id_s, UINT32_MAX, &id) || id == 0) {
        tv_err("--tvm=%s: the TVM id must be a positive integer", arg);
        return -1;
    }
    for (i = 1; i < n_eps; i++) {
        if (eps[i].tvm == id) {
            tv_err("--tvm: TVM %lu given twice", id);
            return -1;
        }
    }
    if (!path_ok("--tvm", colon + 1)) {
        return -1;
    }
    eps[n_eps].tvm = id;
    snprintf(eps[n_eps].name, sizeof(eps[n_eps].name), "TVM %lu endpoint", id);
    eps[n_eps].cfg.socket_path = colon + 1;
    n_eps++;
    return 0;
}

static void conn_drop(struct conn *c, const char *why)
{
    if (c->have != 0 && why == NULL) {
        why = "closed inside a frame";
    }
    tv_info("%s: connection %u %s after %lu call(s)", eps[c->ep].name, c->id,
            why != NULL ? why : "closed", c->calls);
    close(c->fd);
    c->fd = -1;
}

/* Send what is left of the answer; 0, or -1 when the connection is gone. */
static int conn_flush(struct conn *c)
{
    while (c->tx_off < c->tx_len) {
        ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0; /* POLLOUT */
        }
        if (n <= 0) {
            tv_warn("%s: connection %u: %s", eps[c->ep].name, c->id,
                    n < 0 ? strerror(errno) : "send failed");
            return -1;
        }
        c->tx_off += (size_t)n;
    }
    c->tx_len = c->tx_off = 0;
    return 0;
}

static void refuse_frame(struct conn *c, int status)
{
    tv_warn("%s: connection %u: refused a frame (%s): dropping the "
            "connection",
            eps[c->ep].name, c->id, tsm_frame_strerror(status));
}

/* The frame in c->rx is whole: run it, queue the answer. 0, or -1: drop. */
static int conn_call(struct conn *c)
{
    const struct endpoint *e = &eps[c->ep];
    int rc;

    rc = tsm_frame_serve(&tsm, e->tvm, c->rx, c->have, scratch, c->tx,
                         sizeof(c->tx), &c->tx_len);
    if (rc != TSM_FRAME_OK) {
        refuse_frame(c, rc);
        return -1;
    }
    c->calls++;
    tv_debug("%s: connection %u: eid 0x%08x fid %u -> error %lld value %lld, "
             "%u output bytes",
             e->name, c->id, (unsigned)load_le32(c->rx + 8),
             (unsigned)load_le32(c->rx + 12), (long long)load_le64(c->tx + 8),
             (long long)load_le64(c->tx + 16), (unsigned)load_le32(c->tx + 24));
    c->have = 0;
    c->need = TSM_FRAME_REQ_HDR_SIZE;
    c->tx_off = 0;
    c->since = tv_mono_ms();
    return conn_flush(c);
}

/* Readable: read what the frame still needs, never past it. */
static int conn_read(struct conn *c)
{
    ssize_t n;

    for (;;) {
        n = recv(c->fd, c->rx + c->have, c->need - c->have, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        break;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return 0;
    }
    if (n < 0) {
        tv_warn("%s: connection %u: %s", eps[c->ep].name, c->id,
                strerror(errno));
        return -1;
    }
    if (n == 0) {
        conn_drop(c, NULL);
        return 1;
    }
    if (c->have == 0) {
        c->since = tv_mono_ms();
    }
    c->have += (size_t)n;
    if (c->have < c->need) {
        return 0;
    }
    if (c->need == TSM_FRAME_REQ_HDR_SIZE) {
        size_t len = tsm_frame_req_len(c->rx);

        if (len == 0) {
            struct tsm_frame_req r;
            int st = tsm_frame_req_decode(c->rx, c->have, &r);

            refuse_frame(c, st != TSM_FRAME_OK && st != TSM_FRAME_SHORT
                                ? st
                                : TSM_FRAME_TOO_LARGE);
            return -1;
        }
        c->need = len;
        if (c->have < c->need) {
            return 0;
        }
    }
    return conn_call(c);
}

static void accept_on(size_t ep, int lfd)
{
    struct conn *c = NULL;
    int fd;

    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            tv_err("%s: accept: %s", eps[ep].name, strerror(errno));
        }
        return;
    }
    for (size_t i = 0; i < TSMD_MAX_CONNS && c == NULL; i++) {
        if (conns[i].fd < 0) {
            c = &conns[i];
        }
    }
    if (c == NULL) {
        tv_warn("%s: refusing a connection: %d connections open already",
                eps[ep].name, TSMD_MAX_CONNS);
        close(fd);
        return;
    }
    if (!daemon_peer_allowed(&eps[ep].cfg, fd, eps[ep].name)) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->ep = ep;
    c->id = next_id++;
    c->calls = 0;
    c->have = 0;
    c->need = TSM_FRAME_REQ_HDR_SIZE;
    c->tx_len = c->tx_off = 0;
    tv_info("%s: connection %u open", eps[ep].name, c->id);
}

/* Drop connections stalled past --io-timeout; the poll timeout, ms. */
static int check_stalls(void)
{
    uint64_t now = tv_mono_ms(), next = UINT64_MAX;

    for (size_t i = 0; i < TSMD_MAX_CONNS; i++) {
        struct conn *c = &conns[i];
        uint64_t end;

        if (c->fd < 0 || (c->have == 0 && c->tx_len == 0)) {
            continue;
        }
        end = c->since + io_timeout_ms;
        if (now >= end) {
            conn_drop(c, c->tx_len != 0 ? "dropped: its answer was not taken"
                                        : "dropped: stalled inside a frame");
            continue;
        }
        if (end - now < next) {
            next = end - now;
        }
    }
    return next == UINT64_MAX ? -1 : (int)next;
}

static int serve(int sfd)
{
    struct pollfd pfd[1 + TSMD_MAX_ENDPOINTS + TSMD_MAX_CONNS];
    size_t who[1 + TSMD_MAX_ENDPOINTS + TSMD_MAX_CONNS];

    for (;;) {
        size_t n = 0, i;
        int timeout = check_stalls();

        /* listeners always: a peer over the cap is refused, not queued */
        pfd[n++] = (struct pollfd){sfd, POLLIN, 0};
        for (i = 0; i < n_eps; i++) {
            who[n] = i;
            pfd[n++] = (struct pollfd){socks[i].listen_fd, POLLIN, 0};
        }
        for (i = 0; i < TSMD_MAX_CONNS; i++) {
            if (conns[i].fd >= 0) {
                who[n] = i;
                pfd[n++] = (struct pollfd){
                    conns[i].fd, conns[i].tx_len != 0 ? POLLOUT : POLLIN, 0};
            }
        }
        if (poll(pfd, (nfds_t)n, timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            tv_err("poll: %s", strerror(errno));
            return 1;
        }
        if (pfd[0].revents != 0) {
            struct signalfd_siginfo si;

            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                tv_info("signal %u: exiting", si.ssi_signo);
            }
            return 0;
        }
        for (i = 1; i < n; i++) {
            short ev = pfd[i].revents;
            struct conn *c;
            int rc;

            if (ev == 0) {
                continue;
            }
            if (i <= n_eps) {
                accept_on(who[i], pfd[i].fd);
                continue;
            }
            c = &conns[who[i]];
            if (c->fd != pfd[i].fd) {
                continue;
            }
            if (c->tx_len != 0) {
                rc = (ev & (POLLOUT | POLLERR | POLLHUP)) ? conn_flush(c) : 0;
            } else {
                rc = conn_read(c);
            }
            if (rc < 0) {
                conn_drop(c, "dropped");
            }
        }
    }
}

static void cleanup(void)
{
    for (size_t i = 0; i < TSMD_MAX_CONNS; i++) {
        if (conns[i].fd >= 0) {
            conn_drop(&conns[i], "closed at exit");
        }
    }
    for (size_t i = 0; i < n_eps; i++) {
        daemon_unlisten(&eps[i].cfg, &socks[i]);
    }
    tsm_wipe(&tsm);
}

int main(int argc, char **argv)
{
    struct daemon_cfg cfg;
    sigset_t mask;
    char err[256];
    const char *host = NULL;
    unsigned long v;
    size_t i;
    int opt, rc, sfd = -1;

    daemon_cfg_init(&cfg, PROG, "tsm");
    n_eps = 1; /* eps[0] is the host's */
    for (i = 0; i < TSMD_MAX_CONNS; i++) {
        conns[i].fd = -1;
    }
    for (i = 0; i < TSMD_MAX_ENDPOINTS; i++) {
        socks[i].listen_fd = socks[i].conn_fd = socks[i].notify_fd = -1;
    }
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_HOST:
            if (host != NULL) {
                tv_err("--host-socket given twice");
                return 2;
            }
            if (!path_ok("--host-socket", optarg)) {
                return 2;
            }
            host = optarg;
            eps[0].cfg.socket_path = host;
            snprintf(eps[0].name, sizeof(eps[0].name), "host endpoint");
            break;
        case OPT_TVM:
            if (add_tvm(optarg) != 0) {
                return 2;
            }
            break;
        case OPT_IO_TIMEOUT:
            if (!daemon_parse_uint(optarg, 3600, &v) || v == 0) {
                tv_err("--io-timeout=%s: expected 1..3600 seconds", optarg);
                return 2;
            }
            io_timeout_ms = v * 1000ull;
            break;
        default:
            rc = daemon_common_opt(&cfg, opt, optarg);
            if (rc < 0) {
                return 2;
            }
            if (rc == 0) {
                fprintf(stderr, "Try '%s --help'.\n", PROG);
                return 2;
            }
            break;
        }
    }
    if (cfg.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (optind != argc) {
        tv_err("unexpected argument '%s' (try --help)", argv[optind]);
        return 2;
    }
    if (host == NULL) {
        tv_err("--host-socket=PATH is required (see --help)");
        return 2;
    }
    eps[0].tvm = 0;
    for (i = 0; i < n_eps; i++) {
        const char *path = eps[i].cfg.socket_path;

        eps[i].cfg = cfg;
        eps[i].cfg.socket_path = path;
    }

    /* the sockets first: "in use" is reported before anything else */
    for (i = 0; i < n_eps; i++) {
        if (daemon_listen(&eps[i].cfg, &socks[i]) != 0) {
            goto fail;
        }
    }
    if (daemon_drop_privileges_n(&cfg, socks, n_eps) != 0) {
        goto fail;
    }
    if (crypto_init() != 0 || crypto_random(scratch, 32) != 0) {
        tv_err("OpenSSL initialisation failed (DRBG)");
        goto fail;
    }
    tsm_init(&tsm, &ops, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        tv_err("signalfd: %s", strerror(errno));
        goto fail;
    }
    for (i = 0; i < n_eps; i++) {
        if (listen(socks[i].listen_fd, TSMD_BACKLOG) != 0) {
            tv_err("cannot listen on %s: %s", eps[i].cfg.socket_path,
                   strerror(errno));
            goto fail;
        }
        if (daemon_sock_in_place(&eps[i].cfg, &socks[i]) != 0) {
            goto fail;
        }
    }
    tv_info("serving the host and %zu TVM endpoint(s)", n_eps - 1);
    (void)daemon_notify(&socks[0], "READY=1");
    malloc_trim(0);
    if (cfg.sandbox) {
        if (sandbox_apply(SANDBOX_SERVE_TSM, err, sizeof(err)) != 0) {
            tv_err("--sandbox=seccomp: %s", err);
            goto fail;
        }
        tv_info("syscall filter on");
    } else {
        tv_warn("--sandbox=none: serving without a syscall filter");
    }
    rc = serve(sfd);
    (void)daemon_notify(&socks[0], "STOPPING=1");
    close(sfd);
    cleanup();
    tv_info("session keys wiped");
    return rc;

fail:
    if (sfd >= 0) {
        close(sfd);
    }
    cleanup();
    return 1;
}
