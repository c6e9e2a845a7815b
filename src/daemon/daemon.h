/* SPDX-License-Identifier: MIT */
/*
 * What both vhost-user daemons share: the backend-program options of
 * qemu docs/interop/vhost-user.rst ("Backend program conventions"), the
 * listening socket, signal handling and the serve loop. Programs only.
 */
#ifndef TV_DAEMON_DAEMON_H
#define TV_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon/sandbox.h"
#include "vhost/vhu.h"
#include "vhost/vhu_epoll.h"

/* getopt_long ids of the common options (device options use other ids). */
enum daemon_opt {
    DAEMON_OPT_SOCKET_PATH = 0x1000,
    DAEMON_OPT_FD,
    DAEMON_OPT_PRINT_CAPS,
    DAEMON_OPT_KEEP_STATE,
    DAEMON_OPT_VERBOSE,
    DAEMON_OPT_QUIET,
    DAEMON_OPT_HELP,
    DAEMON_OPT_SOCKET_MODE,
    DAEMON_OPT_SOCKET_GROUP,
    DAEMON_OPT_SANDBOX,
    DAEMON_OPT_USER,
    DAEMON_OPT_GROUP,
};

/* The common entries of a struct option table, to splice into a device's. */
/* clang-format off */
#define DAEMON_LONG_OPTIONS                                                    \
    {"socket-path", required_argument, NULL, DAEMON_OPT_SOCKET_PATH},          \
    {"fd", required_argument, NULL, DAEMON_OPT_FD},                            \
    {"print-capabilities", no_argument, NULL, DAEMON_OPT_PRINT_CAPS},          \
    {"keep-state", no_argument, NULL, DAEMON_OPT_KEEP_STATE},                  \
    {"verbose", no_argument, NULL, DAEMON_OPT_VERBOSE},                        \
    {"quiet", no_argument, NULL, DAEMON_OPT_QUIET},                            \
    {"help", no_argument, NULL, DAEMON_OPT_HELP},                              \
    {"socket-mode", required_argument, NULL, DAEMON_OPT_SOCKET_MODE},          \
    {"socket-group", required_argument, NULL, DAEMON_OPT_SOCKET_GROUP},        \
    {"sandbox", required_argument, NULL, DAEMON_OPT_SANDBOX},                  \
    {"user", required_argument, NULL, DAEMON_OPT_USER},                        \
    {"group", required_argument, NULL, DAEMON_OPT_GROUP}
/* clang-format on */

/* Help text of the common options. */
#define DAEMON_HELP_COMMON                                                     \
    "Transport (exactly one of --socket-path and --fd):\n"                     \
    "  --socket-path=PATH   listen on the Unix socket PATH (created,\n"        \
    "                       removed on exit; a stale socket file is\n"         \
    "                       replaced, a live one is an error)\n"               \
    "  --fd=N               serve the inherited socket fd N instead: a\n"      \
    "                       listening socket is served like\n"                 \
    "                       --socket-path, a connected one until it\n"         \
    "                       disconnects\n"                                     \
    "  --socket-mode=MODE   octal mode of the --socket-path file, set\n"       \
    "                       whatever the umask (default 0600, or 0660\n"       \
    "                       with --socket-group)\n"                            \
    "  --socket-group=GROUP group (name or gid) of the socket file; peers\n"   \
    "                       in GROUP are served besides the daemon's own\n"    \
    "                       uid, every other peer is refused\n"                \
    "\n"                                                                       \
    "Privileges:\n"                                                            \
    "  --sandbox=KIND       seccomp (default): once set up, the daemon runs\n" \
    "                       under a syscall allow-list with no_new_privs "     \
    "and\n"                                                                    \
    "                       is killed on any other call; none: no filter\n"    \
    "  --user=USER          switch to USER (name or uid) after binding the\n"  \
    "                       socket, before opening any state (needs root;\n"   \
    "                       the socket's directory must be writable by "       \
    "USER)\n"                                                                  \
    "  --group=GROUP        switch to GROUP (default: USER's primary group)\n" \
    "\n"                                                                       \
    "General:\n"                                                               \
    "  --keep-state         keep the device state when a front-end\n"          \
    "                       disconnects (default: the next connection\n"       \
    "                       finds a freshly powered-on device)\n"              \
    "  --print-capabilities print the vhost-user capability JSON and exit\n"   \
    "  --verbose            log every vhost-user message (to stderr)\n"        \
    "  --quiet              log errors only\n"                                 \
    "  --help               this text\n"                                       \
    "\n"                                                                       \
    "The daemon stays in the foreground, logs to stderr and exits on\n"        \
    "SIGTERM or SIGINT. After a front-end disconnects it serves the next.\n"   \
    "The socket file appears only once the daemon can serve; under systemd\n"  \
    "(Type=notify) it then sends READY=1 to $NOTIFY_SOCKET.\n"

/** struct daemon_cfg - the parsed common options. */
struct daemon_cfg {
    const char *prog;        /* program name, for messages */
    const char *cap_type;    /* capability "type", e.g. "rpmb" */
    const char *socket_path; /* --socket-path, or NULL */
    int fd;                  /* --fd, or -1 */
    bool keep_state;         /* --keep-state */
    bool print_caps;         /* --print-capabilities */
    bool help;               /* --help */
    mode_t socket_mode;      /* --socket-mode, or 0 for the default */
    bool socket_group_set;   /* --socket-group given */
    gid_t socket_group;      /* its gid */
    bool sandbox;            /* --sandbox=seccomp (the default) */
    bool user_set;           /* --user given */
    uid_t user;              /* its uid */
    gid_t user_gid;          /* its primary group */
    bool group_set;          /* --group given */
    gid_t group;             /* its gid */
};

/**
 * daemon_cfg_init() - defaults for @prog; log lines get @prog as prefix and
 * the log level becomes INFO.
 */
void daemon_cfg_init(struct daemon_cfg *cfg, const char *prog,
                     const char *cap_type);

/**
 * daemon_common_opt() - handle common option @opt with argument @arg.
 * Return: 1 if handled, 0 if @opt is not a common option, -1 on a bad value
 * (already reported in one line).
 */
int daemon_common_opt(struct daemon_cfg *cfg, int opt, const char *arg);

/**
 * daemon_check() - after parsing: print the capabilities and return 1 for
 * --print-capabilities, report a missing or doubled transport and return -1,
 * else return 0.
 */
int daemon_check(const struct daemon_cfg *cfg);

/**
 * daemon_parse_uint() - parse a decimal (or 0x hex) unsigned <= @max.
 * Return: true and *@out, or false.
 */
bool daemon_parse_uint(const char *s, unsigned long max, unsigned long *out);

/**
 * struct daemon_hooks - what the serve loop tells the device glue, and how
 * it treats the process.
 * @disconnected: the front-end went away (after vhu_detach()); the glue
 *                power-cycles the device unless @keep_state
 * @release_code: once set-up is over, daemon_serve() calls
 *                daemon_release_code(): for a daemon whose start-up runs
 *                much code the serve loop never runs again (SQL parsing
 *                and planning in vhost-user-rpmb). Not for a daemon that
 *                has started helper processes sharing its pages (the NSM
 *                signer): those would keep the pages mapped, as their own.
 */
struct daemon_hooks {
    void (*disconnected)(void *ctx, bool keep_state);
    void *ctx;
    bool release_code;
};

/**
 * daemon_release_code() - unmap this process's code and read-only data
 * (the non-writable PT_LOAD segments of every loaded object but the vDSO),
 * so that afterwards only the pages the process touches again are mapped.
 *
 * The pages stay in the page cache: a later access maps them again with a
 * minor fault, as at start-up. Writable segments, RELRO included, and
 * pages holding private copies (a debugger's breakpoints, uprobes, text
 * relocations; found in /proc/self/pagemap) are left alone.
 * Does not allocate; makes only open(), pread(), madvise() and close()
 * calls; call while no other thread runs.
 * Return: 0, or -errno: of open() (nothing is released), or of the first
 * pread() or madvise() that failed (what could be checked is released).
 */
int daemon_release_code(void);

/** struct daemon_sock - where front-ends come from. */
struct daemon_sock {
    int listen_fd;   /* listening socket, or -1 */
    int conn_fd;     /* inherited connected socket (--fd), or -1 */
    bool created;    /* we bound a socket file: remove it at the end */
    bool in_place;   /* it has its final name (cfg->socket_path) */
    char bound[108]; /* the name it was bound to (sun_path) */
    int notify_fd;   /* connected to $NOTIFY_SOCKET, or -1 */
};

/**
 * daemon_listen() - bind --socket-path (or inspect --fd) before anything
 * else is set up, so that "socket in use" is reported before a device
 * touches its state. The socket is bound under a temporary name next to
 * --socket-path with the mode and group of the options; daemon_serve()
 * renames it into place once everything is set up, so a socket file at
 * --socket-path always means "ready to serve".
 * Return: 0, or 1 after reporting the error in one line.
 */
int daemon_listen(const struct daemon_cfg *cfg, struct daemon_sock *ds);

/**
 * daemon_drop_privileges() - switch to --user / --group (supplementary
 * groups cleared) when given; the socket file is handed to that user
 * first. Call right after daemon_listen().
 * Return: 0, or 1 after reporting the error in one line.
 */
int daemon_drop_privileges(const struct daemon_cfg *cfg,
                           const struct daemon_sock *ds);

/**
 * daemon_drop_privileges_n() - daemon_drop_privileges() for a daemon with
 * @n listening sockets @ds[0..n-1] (each bound with daemon_listen() from a
 * copy of @cfg with its own socket_path): every socket file is handed over
 * before the switch.
 */
int daemon_drop_privileges_n(const struct daemon_cfg *cfg,
                             const struct daemon_sock *ds, size_t n);

/**
 * daemon_sock_in_place() - rename the socket of @ds, bound by
 * daemon_listen(), to cfg->socket_path and log it: call once everything
 * is set up (daemon_serve() does it itself). Return: 0, or -1 (reported).
 */
int daemon_sock_in_place(const struct daemon_cfg *cfg, struct daemon_sock *ds);

/**
 * daemon_peer_allowed() - whether the peer on @fd may be served: our own
 * uid, or a member of --socket-group (primary or supplementary group).
 * Logged either way, the peer named @who ("front-end", "host endpoint").
 */
bool daemon_peer_allowed(const struct daemon_cfg *cfg, int fd, const char *who);

/** daemon_unlisten() - close @ds and remove the socket file we created. */
void daemon_unlisten(const struct daemon_cfg *cfg, struct daemon_sock *ds);

/**
 * daemon_serve() - finish set-up (signals, watches), announce readiness
 * (socket renamed into place, READY=1 on $NOTIFY_SOCKET), enter the
 * @profile sandbox unless --sandbox=none, then serve front-ends from @ds
 * one at a time until SIGTERM or SIGINT, then daemon_unlisten(). @dev must
 * be initialised with vhu_epoll_ops and @ep. Front-ends whose uid is not
 * ours and whose groups do not include --socket-group are refused.
 * Return: 0 on a signal or when an inherited connected fd disconnects, 1
 * after reporting an error in one line.
 */
int daemon_serve(const struct daemon_cfg *cfg, struct daemon_sock *ds,
                 struct vhu_dev *dev, struct vhu_epoll *ep,
                 const struct daemon_hooks *hooks,
                 enum sandbox_profile profile);

/**
 * daemon_notify() - send @msg (e.g. "READY=1") to $NOTIFY_SOCKET when set,
 * the sd_notify(3) datagram. Return: 0, or -1 (reported) when the variable
 * is set but the message cannot be sent.
 */
int daemon_notify(struct daemon_sock *ds, const char *msg);

#endif
