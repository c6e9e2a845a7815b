/* SPDX-License-Identifier: MIT */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stddef.h>
#include <grp.h>
#include <link.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

#define DAEMON_IO_TIMEOUT_S    5   /* seconds for one message or reply */
#define DAEMON_MAX_CODE_RANGES 128 /* non-writable segments released */
#define DAEMON_PAGEMAP_BATCH   512 /* pagemap entries read at a time */

/* The serve loop's state, shared by its watch callbacks. */
struct serve {
    const struct daemon_cfg *cfg;     /* options */
    struct vhu_dev *dev;              /* the device */
    struct vhu_epoll *ep;             /* the loop */
    const struct daemon_hooks *hooks; /* device glue */
    int listen_fd;                    /* listening socket, or -1 */
    int conn_fd;                      /* current connection, or -1 */
    int sig_fd;                       /* signalfd */
    bool stop;                        /* leave the loop */
};

/* see daemon.h */
void daemon_cfg_init(struct daemon_cfg *cfg, const char *prog,
                     const char *cap_type)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->prog = prog;
    cfg->cap_type = cap_type;
    cfg->fd = -1;
    cfg->sandbox = true;
    tv_log_prefix = prog;
    tv_log_level = TV_LOG_INFO;
}

/* see daemon.h */
bool daemon_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s == '\0' || *s == '-' || *s == '+') {
        return false;
    }
    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* A group name or number. */
static bool parse_group(const char *s, gid_t *gid)
{
    unsigned long v;
    struct group *g;

    if (daemon_parse_uint(s, 0xfffffffeul, &v)) {
        *gid = (gid_t)v;
        return true;
    }
    g = getgrnam(s);
    if (g == NULL) {
        return false;
    }
    *gid = g->gr_gid;
    return true;
}

/* A user name or number, with its primary group. */
static bool parse_user(const char *s, uid_t *uid, gid_t *gid)
{
    unsigned long v;
    struct passwd *pw;

    if (daemon_parse_uint(s, 0xfffffffeul, &v)) {
        pw = getpwuid((uid_t)v);
        *uid = (uid_t)v;
        /* a uid without a passwd entry keeps the gid of the same number */
        *gid = pw != NULL ? pw->pw_gid : (gid_t)v;
        return true;
    }
    pw = getpwnam(s);
    if (pw == NULL) {
        return false;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return true;
}

/* see daemon.h */
int daemon_common_opt(struct daemon_cfg *cfg, int opt, const char *arg)
{
    unsigned long v;
    char *end;

    switch (opt) {
    case DAEMON_OPT_SOCKET_PATH:
        if (arg[0] == '\0' ||
            strlen(arg) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            tv_err("--socket-path: '%s' is empty or longer than %zu bytes", arg,
                   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
            return -1;
        }
        cfg->socket_path = arg;
        return 1;
    case DAEMON_OPT_FD:
        if (!daemon_parse_uint(arg, 65535, &v)) {
            tv_err("--fd: '%s' is not a file descriptor number", arg);
            return -1;
        }
        cfg->fd = (int)v;
        return 1;
    case DAEMON_OPT_PRINT_CAPS:
        cfg->print_caps = true;
        return 1;
    case DAEMON_OPT_KEEP_STATE:
        cfg->keep_state = true;
        return 1;
    case DAEMON_OPT_VERBOSE:
        tv_log_level = TV_LOG_DEBUG;
        return 1;
    case DAEMON_OPT_QUIET:
        tv_log_level = TV_LOG_ERR;
        return 1;
    case DAEMON_OPT_HELP:
        cfg->help = true;
        return 1;
    case DAEMON_OPT_SOCKET_MODE:
        errno = 0;
        v = strtoul(arg, &end, 8);
        if (arg[0] < '0' || arg[0] > '7' || *end != '\0' || errno != 0 ||
            v == 0 || v > 0777) {
            tv_err("--socket-mode: '%s' is not an octal mode 1..0777", arg);
            return -1;
        }
        if ((v & 0600) != 0600) {
            tv_err("--socket-mode=%s: the owner needs read and write", arg);
            return -1;
        }
        cfg->socket_mode = (mode_t)v;
        return 1;
    case DAEMON_OPT_SOCKET_GROUP:
        if (!parse_group(arg, &cfg->socket_group)) {
            tv_err("--socket-group: no group '%s'", arg);
            return -1;
        }
        cfg->socket_group_set = true;
        return 1;
    case DAEMON_OPT_SANDBOX:
        if (strcmp(arg, "seccomp") == 0) {
            cfg->sandbox = true;
        } else if (strcmp(arg, "none") == 0) {
            cfg->sandbox = false;
        } else {
            tv_err("--sandbox: '%s' is not seccomp or none", arg);
            return -1;
        }
        return 1;
    case DAEMON_OPT_USER:
        if (!parse_user(arg, &cfg->user, &cfg->user_gid)) {
            tv_err("--user: no user '%s'", arg);
            return -1;
        }
        cfg->user_set = true;
        return 1;
    case DAEMON_OPT_GROUP:
        if (!parse_group(arg, &cfg->group)) {
            tv_err("--group: no group '%s'", arg);
            return -1;
        }
        cfg->group_set = true;
        return 1;
    default:
        return 0;
    }
}

/* see daemon.h */
int daemon_check(const struct daemon_cfg *cfg)
{
    if (cfg->print_caps) {
        /* Schema: qemu docs/interop/vhost-user.json, VHostUserBackend... */
        printf("{\n  \"type\": \"%s\"\n}\n", cfg->cap_type);
        return 1;
    }
    if ((cfg->socket_path == NULL) == (cfg->fd < 0)) {
        tv_err("give exactly one of --socket-path=PATH and --fd=N "
               "(see --help)");
        return -1;
    }
    if ((cfg->socket_mode != 0 || cfg->socket_group_set) &&
        cfg->socket_path == NULL) {
        tv_err("--socket-mode and --socket-group apply to --socket-path "
               "only");
        return -1;
    }
    return 0;
}

/*
 * Bind a socket for cfg->socket_path. A live socket there (somebody
 * accepts) or a non-socket file is an error; a stale socket file is
 * replaced when ours is renamed into place. Ours is bound under a
 * temporary name in the same directory, with a umask that keeps others out
 * until chmod() has set the requested mode, so no one sees it at the final
 * name before the daemon can serve. A path too long for the temporary
 * suffix is bound in place directly (the stale file removed first).
 */
static int listen_path(const struct daemon_cfg *cfg, struct daemon_sock *ds)
{
    const char *path = cfg->socket_path;
    mode_t mode = cfg->socket_mode != 0 ? cfg->socket_mode
                                        : (cfg->socket_group_set ? 0660 : 0600);
    struct sockaddr_un sa;
    struct stat st;
    mode_t old_umask;
    size_t n;
    int fd;
    int probe;
    int rc;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            tv_err("%s exists and is not a socket", path);
            return -1;
        }
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 &&
            connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            tv_err("%s is in use by another back-end", path);
            return -1;
        }
        if (probe >= 0) {
            close(probe);
        }
    }
    n = (size_t)snprintf(ds->bound, sizeof(ds->bound), "%s.%ld.tmp", path,
                         (long)getpid());
    if (n >= sizeof(ds->bound) || n >= sizeof(sa.sun_path)) {
        (void)unlink(path);
        memcpy(ds->bound, path, strlen(path) + 1);
        ds->in_place = true;
    }
    memcpy(sa.sun_path, ds->bound, strlen(ds->bound) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        tv_err("socket: %s", strerror(errno));
        return -1;
    }
    old_umask = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_umask);
    if (rc < 0) {
        tv_err("cannot bind %s: %s", ds->bound, strerror(errno));
        goto err_close;
    }
    ds->created = true;
    if (chmod(ds->bound, mode) != 0 ||
        (cfg->socket_group_set &&
         chown(ds->bound, (uid_t)-1, cfg->socket_group) != 0)) {
        tv_err("cannot set mode %04o%s on %s: %s", (unsigned)mode,
               cfg->socket_group_set ? " and group" : "", ds->bound,
               strerror(errno));
        goto err_unlink;
    }
    if (listen(fd, 1) < 0) {
        tv_err("cannot listen on %s: %s", ds->bound, strerror(errno));
        goto err_unlink;
    }
    return fd;

err_unlink:
    unlink(ds->bound);
    ds->created = false;
err_close:
    close(fd);
    return -1;
}

/* see daemon.h */
bool daemon_peer_allowed(const struct daemon_cfg *cfg, int fd, const char *who)
{
    struct ucred uc;
    socklen_t len = sizeof(uc);
    gid_t groups[256];
    bool ok = false;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
        tv_err("refusing a %s: SO_PEERCRED: %s", who, strerror(errno));
        return false;
    }
    if (uc.uid == geteuid()) {
        ok = true;
    } else if (cfg->socket_group_set) {
        ok = uc.gid == cfg->socket_group;
        len = sizeof(groups);
        if (!ok &&
            getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
            for (size_t i = 0; i < len / sizeof(groups[0]) && !ok; i++) {
                ok = groups[i] == cfg->socket_group;
            }
        }
    }
    if (!ok) {
        if (cfg->socket_group_set) {
            tv_warn("refusing a %s: pid %ld uid %u gid %u is neither "
                    "uid %u nor in group %u",
                    who, (long)uc.pid, (unsigned)uc.uid, (unsigned)uc.gid,
                    (unsigned)geteuid(), (unsigned)cfg->socket_group);
        } else {
            tv_warn("refusing a %s: pid %ld uid %u gid %u is not uid "
                    "%u (see --socket-group)",
                    who, (long)uc.pid, (unsigned)uc.uid, (unsigned)uc.gid,
                    (unsigned)geteuid());
        }
        return false;
    }
    tv_info("%s connected: pid %ld uid %u gid %u", who, (long)uc.pid,
            (unsigned)uc.uid, (unsigned)uc.gid);
    return true;
}

static void listen_cb(void *arg, int fd);

static int watch_listener(struct serve *s)
{
    int rc = vhu_epoll_set_watch(s->ep, s->listen_fd, listen_cb, s);

    if (rc < 0) {
        tv_err("cannot watch the listening socket: %s", strerror(-rc));
    }
    return rc;
}

/* The connection ended: clean up and get ready for the next front-end. */
static void conn_end(struct serve *s)
{
    vhu_epoll_remove_watch(s->ep, s->conn_fd);
    vhu_detach(s->dev); /* closes conn_fd */
    s->conn_fd = -1;
    if (s->hooks != NULL && s->hooks->disconnected != NULL) {
        s->hooks->disconnected(s->hooks->ctx, s->cfg->keep_state);
    }
    if (s->listen_fd < 0) {
        s->stop = true;
        return;
    }
    if (watch_listener(s) < 0) {
        s->stop = true;
    }
}

static void conn_cb(void *arg, int fd)
{
    struct serve *s = arg;
    struct pollfd pfd = {fd, POLLIN, 0};
    int rc;

    /*
     * An event may be stale (its fd closed and the number reused within
     * one epoll batch); dispatch only when there really is something to
     * read, as vhu_dispatch() blocks for a whole message.
     */
    if (poll(&pfd, 1, 0) != 1) {
        return;
    }
    rc = vhu_dispatch(s->dev);
    if (rc == 0) {
        return;
    }
    if (rc == -ECONNRESET) {
        tv_info("front-end disconnected");
    } else {
        tv_err("front-end connection dropped: %s", strerror(-rc));
    }
    conn_end(s);
}

static int conn_start(struct serve *s, int fd)
{
    struct timeval tv = {DAEMON_IO_TIMEOUT_S, 0};
    int rc;

    /*
     * Messages are read whole once the socket is readable, and replies are
     * written blocking: a front-end that stalls mid-message or stops
     * reading replies is dropped after a timeout instead of freezing the
     * loop (and delaying exit on SIGTERM).
     */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

    rc = vhu_attach(s->dev, fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    s->conn_fd = fd;
    rc = vhu_epoll_set_watch(s->ep, fd, conn_cb, s);
    if (rc < 0) {
        tv_err("cannot watch the connection: %s", strerror(-rc));
        vhu_detach(s->dev);
        s->conn_fd = -1;
        return rc;
    }
    return 0;
}

/* One front-end at a time: stop accepting while one is connected. */
static void listen_cb(void *arg, int fd)
{
    struct serve *s = arg;
    int c;

    c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            tv_err("accept: %s", strerror(errno));
        }
        return;
    }
    if (!daemon_peer_allowed(s->cfg, c, "front-end")) {
        close(c);
        return;
    }
    vhu_epoll_remove_watch(s->ep, fd);
    if (conn_start(s, c) < 0 && watch_listener(s) < 0) {
        s->stop = true;
    }
}

static void signal_cb(void *arg, int fd)
{
    struct serve *s = arg;
    struct signalfd_siginfo si;

    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        tv_info("signal %u: exiting", si.ssi_signo);
    }
    s->stop = true;
}

/* see daemon.h */
int daemon_listen(const struct daemon_cfg *cfg, struct daemon_sock *ds)
{
    int acc = 0;
    socklen_t len = sizeof(acc);

    ds->listen_fd = -1;
    ds->conn_fd = -1;
    ds->created = false;
    ds->in_place = false;
    ds->bound[0] = '\0';
    ds->notify_fd = -1;
    if (cfg->socket_path != NULL) {
        ds->listen_fd = listen_path(cfg, ds);
        return ds->listen_fd < 0 ? 1 : 0;
    }
    if (getsockopt(cfg->fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0) {
        tv_err("--fd=%d: not a socket: %s", cfg->fd, strerror(errno));
        return 1;
    }
    if (acc != 0) {
        ds->listen_fd = cfg->fd;
    } else {
        ds->conn_fd = cfg->fd;
    }
    return 0;
}

/* see daemon.h */
void daemon_unlisten(const struct daemon_cfg *cfg, struct daemon_sock *ds)
{
    if (ds->listen_fd >= 0) {
        close(ds->listen_fd);
        ds->listen_fd = -1;
    }
    if (ds->conn_fd >= 0) {
        close(ds->conn_fd);
        ds->conn_fd = -1;
    }
    if (ds->created) {
        unlink(ds->in_place ? cfg->socket_path : ds->bound);
        ds->created = false;
    }
    if (ds->notify_fd >= 0) {
        close(ds->notify_fd);
        ds->notify_fd = -1;
    }
}

/* see daemon.h */
int daemon_drop_privileges(const struct daemon_cfg *cfg,
                           const struct daemon_sock *ds)
{
    return daemon_drop_privileges_n(cfg, ds, 1);
}

/* see daemon.h */
int daemon_drop_privileges_n(const struct daemon_cfg *cfg,
                             const struct daemon_sock *ds, size_t n)
{
    uid_t uid = cfg->user_set ? cfg->user : geteuid();
    gid_t gid = cfg->group_set ? cfg->group
                               : (cfg->user_set ? cfg->user_gid : getegid());

    if (!cfg->user_set && !cfg->group_set) {
        return 0;
    }
    if (geteuid() != 0) {
        if (uid == geteuid() && gid == getegid()) {
            return 0;
        }
        tv_err("--user/--group: switching to uid %u gid %u needs root",
               (unsigned)uid, (unsigned)gid);
        return 1;
    }
    /* the socket files belong to whoever serves them, and can be removed */
    for (size_t i = 0; i < n; i++) {
        if (ds[i].created &&
            chown(ds[i].bound, uid, cfg->socket_group_set ? (gid_t)-1 : gid) !=
                0) {
            tv_err("cannot hand %s to uid %u: %s", ds[i].bound, (unsigned)uid,
                   strerror(errno));
            return 1;
        }
    }
    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        tv_err("cannot switch to uid %u gid %u: %s", (unsigned)uid,
               (unsigned)gid, strerror(errno));
        return 1;
    }
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        tv_err("privileges could be regained after switching to uid %u",
               (unsigned)uid);
        return 1;
    }
    tv_info("running as uid %u gid %u", (unsigned)uid, (unsigned)gid);
    return 0;
}

/* see daemon.h */
int daemon_notify(struct daemon_sock *ds, const char *msg)
{
    const char *env = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t sa_len;
    size_t n;

    if (env == NULL || env[0] == '\0') {
        return 0;
    }
    if (ds->notify_fd < 0) {
        n = strlen(env);
        if ((env[0] != '/' && env[0] != '@') || n >= sizeof(sa.sun_path)) {
            tv_err("NOTIFY_SOCKET=%s: not a socket path or @abstract name",
                   env);
            return -1;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, env, n);
        if (env[0] == '@') {
            sa.sun_path[0] = '\0'; /* abstract: no terminating NUL counted */
        }
        sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                             (env[0] == '/' ? 1 : 0));
        ds->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (ds->notify_fd < 0 ||
            connect(ds->notify_fd, (struct sockaddr *)&sa, sa_len) != 0) {
            tv_err("NOTIFY_SOCKET=%s: %s", env, strerror(errno));
            if (ds->notify_fd >= 0) {
                close(ds->notify_fd);
                ds->notify_fd = -1;
            }
            return -1;
        }
    }
    if (send(ds->notify_fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
        tv_err("NOTIFY_SOCKET=%s: %s", env, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * Everything is set up: put the socket file at its name and tell the
 * service manager. A front-end or script that waits for the socket file
 * finds a daemon that serves.
 */
static int daemon_ready(const struct daemon_cfg *cfg, struct daemon_sock *ds)
{
    if (daemon_sock_in_place(cfg, ds) != 0) {
        return -1;
    }
    (void)daemon_notify(ds, "READY=1");
    return 0;
}

/* see daemon.h */
int daemon_sock_in_place(const struct daemon_cfg *cfg, struct daemon_sock *ds)
{
    if (ds->created && !ds->in_place) {
        if (rename(ds->bound, cfg->socket_path) != 0) {
            tv_err("cannot move %s to %s: %s", ds->bound, cfg->socket_path,
                   strerror(errno));
            return -1;
        }
        ds->in_place = true;
    }
    if (cfg->socket_path != NULL) {
        tv_info("listening on %s", cfg->socket_path);
    }
    return 0;
}

/*
 * Why daemon_release_code() exists: the kernel maps file pages on a fault
 * 64 KiB at a time (fault-around), so the start-up of vhost-user-rpmb,
 * which opens and checks the store and prepares its statements through
 * SQLite's SQL parser, planner and code generator, leaves nearly all of
 * SQLite's code mapped, about 1 MiB that no other process maps, most of
 * which the serve loop, stepping prepared statements (VDBE, b-tree, pager,
 * WAL), never runs again. Unmapping the code once set-up is over lets the
 * serve loop fault back only what it runs; vhost-user-rpmb.ld lays that
 * out together. Measured with bench_vhost (rpmb, and rpmb_many after
 * requests of every kind): see docs/rpmb.md.
 *
 * MADV_DONTNEED on a private file mapping drops the process's page table
 * entries and any private copy of a page. Code and read-only data are
 * never written by the program; the pages that a debugger's breakpoint, a
 * uprobe or a text relocation made private copies of are found in
 * /proc/self/pagemap and kept. The file's pages stay in the page cache, shared
 * with any other process mapping the file, and the next access maps them again
 * with a minor fault. The ranges are collected first and released after
 * dl_iterate_phdr() is done, since the program headers it reads lie in
 * the first segment.
 */
struct code_ranges {
    uintptr_t page; /* page size */
    uintptr_t vdso; /* the vDSO's ELF header, skipped */
    size_t n;       /* ranges collected */
    uintptr_t lo[DAEMON_MAX_CODE_RANGES];
    uintptr_t hi[DAEMON_MAX_CODE_RANGES];
};

/* Shrink [*lo, *hi) so that it shares no page with a writable segment. */
static void clip_writable(const struct dl_phdr_info *info, uintptr_t page,
                          uintptr_t *lo, uintptr_t *hi)
{
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t wlo, whi;

        if ((ph->p_type != PT_LOAD || (ph->p_flags & PF_W) == 0) &&
            ph->p_type != PT_GNU_RELRO) {
            continue;
        }
        wlo = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
        whi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) &
              ~(page - 1);
        if (wlo >= *hi || whi <= *lo) {
            continue;
        }
        if (wlo <= *lo) {
            *lo = whi < *hi ? whi : *hi;
        } else {
            *hi = wlo;
        }
    }
}

static int collect_code(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct code_ranges *r = arg;

    (void)size;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

        if (ph->p_type == PT_LOAD && ph->p_offset == 0 &&
            info->dlpi_addr + ph->p_vaddr == r->vdso) {
            return 0; /* the vDSO: not a file mapping */
        }
    }
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo, hi;

        if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) != 0) {
            continue;
        }
        lo = (info->dlpi_addr + ph->p_vaddr) & ~(r->page - 1);
        hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + r->page - 1) &
             ~(r->page - 1);
        clip_writable(info, r->page, &lo, &hi);
        if (lo < hi && r->n < DAEMON_MAX_CODE_RANGES) {
            r->lo[r->n] = lo;
            r->hi[r->n] = hi;
            r->n++;
        }
    }
    return 0;
}

/*
 * Release [lo, hi) but its pages that hold private copies (present and
 * not the file's, or swapped out), as /proc/self/pagemap (@pm_fd) shows
 * them: a debugger's breakpoints, uprobes and text relocations are written
 * into such copies.
 * Return 0 or -errno (what was checked before a failure is released).
 */
static int release_range(int pm_fd, uintptr_t lo, uintptr_t hi, uintptr_t page)
{
    uint64_t e[DAEMON_PAGEMAP_BATCH];
    uintptr_t run = lo; /* start of the pages not yet released */
    uintptr_t a = lo;
    int ret = 0;

    while (a < hi) {
        size_t k = (hi - a) / page;
        ssize_t r;

        if (k > DAEMON_PAGEMAP_BATCH) {
            k = DAEMON_PAGEMAP_BATCH;
        }
        r = pread(pm_fd, e, k * sizeof(e[0]), (off_t)(a / page * sizeof(e[0])));
        if (r != (ssize_t)(k * sizeof(e[0]))) {
            ret = r < 0 ? -errno : -EIO;
            break;
        }
        for (size_t i = 0; i < k; i++) {
            bool present = (e[i] >> 63) & 1;
            bool swapped = (e[i] >> 62) & 1;
            bool file = (e[i] >> 61) & 1;

            if ((present && !file) || swapped) {
                if (run < a + i * page &&
                    madvise((void *)run, a + i * page - run, MADV_DONTNEED) !=
                        0 &&
                    ret == 0) {
                    ret = -errno;
                }
                run = a + (i + 1) * page;
            }
        }
        a += k * page;
    }
    if (run < a && madvise((void *)run, a - run, MADV_DONTNEED) != 0 &&
        ret == 0) {
        ret = -errno;
    }
    return ret;
}

/* see daemon.h */
int daemon_release_code(void)
{
    struct code_ranges r;
    int ret = 0;
    int fd;

    r.page = (uintptr_t)sysconf(_SC_PAGESIZE);
    r.vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    r.n = 0;
    fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno; /* no way to tell private copies: release nothing */
    }
    (void)dl_iterate_phdr(collect_code, &r);
    for (size_t i = 0; i < r.n; i++) {
        int rc = release_range(fd, r.lo[i], r.hi[i], r.page);

        if (rc < 0 && ret == 0) {
            ret = rc;
        }
    }
    close(fd);
    return ret;
}

/* see daemon.h */
int daemon_serve(const struct daemon_cfg *cfg, struct daemon_sock *ds,
                 struct vhu_dev *dev, struct vhu_epoll *ep,
                 const struct daemon_hooks *hooks, enum sandbox_profile profile)
{
    char err[256];
    struct serve s = {cfg, dev, ep, hooks, ds->listen_fd, -1, -1, false};
    sigset_t mask;
    int ret = 1;
    int rc;

    /* Signals arrive through the loop; a vanished peer is an EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
        tv_err("sigprocmask: %s", strerror(errno));
        goto out_unlisten;
    }
    s.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s.sig_fd < 0) {
        tv_err("signalfd: %s", strerror(errno));
        goto out_unlisten;
    }
    if (vhu_epoll_set_watch(ep, s.sig_fd, signal_cb, &s) < 0) {
        tv_err("cannot watch signals");
        goto out_close_sig;
    }
    if (ds->conn_fd >= 0) {
        /* The connection now belongs to the device (vhu_detach closes). */
        if (!daemon_peer_allowed(cfg, ds->conn_fd, "front-end")) {
            close(ds->conn_fd);
            ds->conn_fd = -1;
            goto out_close_sig;
        }
        rc = conn_start(&s, ds->conn_fd);
        ds->conn_fd = -1;
        if (rc < 0) {
            goto out_close_sig;
        }
    }
    if (s.listen_fd >= 0 && watch_listener(&s) < 0) {
        goto out_close_sig;
    }
    if (daemon_ready(cfg, ds) != 0) {
        goto out_close_sig;
    }
    if (cfg->sandbox) {
        if (sandbox_apply(profile, err, sizeof(err)) != 0) {
            tv_err("--sandbox=seccomp: %s", err);
            goto out_close_sig;
        }
        tv_info("syscall filter on");
    } else {
        tv_warn("--sandbox=none: serving without a syscall filter");
    }
    /*
     * Set-up is over. Opening the PKI or creating a store leaves freed heap
     * behind (SQLite writes every block of a new store, OpenSSL decodes
     * keys and certificates), and so does building the syscall filter
     * (libseccomp's rule tree and BPF program, about 50 KiB); hand those
     * pages back so that they do not stay the daemon's private memory for
     * its whole life. The filter allows what this needs (brk, madvise).
     */
    malloc_trim(0);
    /* likewise the code that only set-up ran (see daemon_release_code()) */
    if (hooks->release_code) {
        rc = daemon_release_code();
        if (rc < 0) {
            tv_warn("releasing the set-up code's mappings: %s", strerror(-rc));
        }
    }
    ret = 0;
    while (!s.stop) {
        rc = vhu_epoll_run_once(ep, -1);
        if (rc < 0) {
            tv_err("epoll: %s", strerror(-rc));
            ret = 1;
            break;
        }
    }
    if (s.conn_fd >= 0) {
        vhu_epoll_remove_watch(ep, s.conn_fd);
        vhu_detach(dev);
        s.conn_fd = -1;
    }
    if (s.listen_fd >= 0) {
        vhu_epoll_remove_watch(ep, s.listen_fd);
    }
    (void)daemon_notify(ds, "STOPPING=1");
out_close_sig:
    vhu_epoll_remove_watch(ep, s.sig_fd);
    close(s.sig_fd);
out_unlisten:
    daemon_unlisten(cfg, ds);
    return ret;
}
