/* SPDX-License-Identifier: MIT */
/*
 * see sandbox.h. The lists name what each loop does, and why, so a new call
 * in the loop shows up as a kill in the tests (every test tier runs the
 * daemons filtered) rather than as a silent widening.
 */
#include "daemon/sandbox.h"

#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>

#include "common/bug.h"
#include "common/err.h"

/* What every filtered process needs to run and to end. */
static const int base_calls[] = {
    SCMP_SYS(read),       SCMP_SYS(write),         SCMP_SYS(close),
    SCMP_SYS(exit),       SCMP_SYS(exit_group),    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(brk),        SCMP_SYS(mmap),          SCMP_SYS(munmap),
    SCMP_SYS(mremap),     SCMP_SYS(madvise),       SCMP_SYS(futex),
    SCMP_SYS(getrandom),  SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
    SCMP_SYS(getpid),     SCMP_SYS(gettid),        SCMP_SYS(fstat),
    SCMP_SYS(newfstatat), SCMP_SYS(lseek),         SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(geteuid),    SCMP_SYS(getuid),        SCMP_SYS(getegid),
    SCMP_SYS(getgid),
};

/* The vhost-user serve loop (daemon.c, src/vhost). */
static const int serve_calls[] = {
    /* front-end connections: accept, peer check, timeouts */
    SCMP_SYS(accept4),
    SCMP_SYS(getsockopt),
    SCMP_SYS(setsockopt),
    /* vhost-user messages carry fds (memory regions, kick/call eventfds) */
    SCMP_SYS(recvmsg),
    SCMP_SYS(sendmsg),
    SCMP_SYS(recvfrom),
    SCMP_SYS(sendto),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(fcntl),
    /* the loop */
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    /* the socket file is removed on exit, the NSM signer reaped */
    SCMP_SYS(unlink),
    SCMP_SYS(wait4),
};

/* The trustvio-tsm loop (src/tsmd): no fd passing, no memory mapping. */
static const int tsm_calls[] = {
    /* connections: accept (non-blocking), peer check */
    SCMP_SYS(accept4),
    SCMP_SYS(getsockopt),
    /* answers go out with send(), MSG_NOSIGNAL */
    SCMP_SYS(sendto),
    SCMP_SYS(recvfrom),
    /* the loop */
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    /* the socket files are removed on exit */
    SCMP_SYS(unlink),
};

/*
 * The trustvio-dsm loop (src/dsm/main_dsm.c), as strace shows it over the
 * whole integration test: poll() (ppoll() where there is no poll) over the
 * signalfd, the TCP listener or the connection and the admin socket;
 * accept4(); each message read() and answered with one send(); the
 * per-connection socket options (TCP_NODELAY, timeouts, TCP_QUICKACK after
 * each receive); the admin socket file removed on exit. OpenSSL's signing
 * and key exchange after set-up need the heap, getpid() (its fork check),
 * futexes and the RNG, all in base_calls.
 */
static const int dsm_calls[] = {
    SCMP_SYS(accept4), SCMP_SYS(setsockopt), SCMP_SYS(poll),
    SCMP_SYS(ppoll),   SCMP_SYS(sendto),     SCMP_SYS(unlink),
};

/* What SQLite does in the loop: its WAL, journal and temporary files. */
static const int store_calls[] = {
    SCMP_SYS(openat),    SCMP_SYS(pread64),   SCMP_SYS(pwrite64),
    SCMP_SYS(fsync),     SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
    SCMP_SYS(fallocate), SCMP_SYS(unlinkat),  SCMP_SYS(flock),
    SCMP_SYS(access),    SCMP_SYS(faccessat), SCMP_SYS(stat),
    SCMP_SYS(lstat),     SCMP_SYS(getcwd),    SCMP_SYS(readlink),
};

/*
 * AddressSanitizer's runtime, in sanitizer builds only: its allocator,
 * error reports (which read /proc/self/maps) and LeakSanitizer's exit scan
 * (a helper thread that ptrace()s the others).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif
#ifdef SANDBOX_ASAN
static const int asan_calls[] = {
    SCMP_SYS(mprotect),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(sched_yield),
    SCMP_SYS(prctl),
    SCMP_SYS(clone),
    SCMP_SYS(clone3),
    SCMP_SYS(ptrace),
    SCMP_SYS(wait4),
    SCMP_SYS(openat),
    SCMP_SYS(readlink),
    SCMP_SYS(getppid),
    SCMP_SYS(tgkill),
    SCMP_SYS(kill),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(getrlimit),
    SCMP_SYS(prlimit64),
    SCMP_SYS(pipe2),
    SCMP_SYS(dup2),
    SCMP_SYS(dup3),
    SCMP_SYS(uname),
    SCMP_SYS(open),
    SCMP_SYS(getdents),
    SCMP_SYS(getdents64),
    SCMP_SYS(exit),
};
#endif

static int allow_all(scmp_filter_ctx ctx, const int *calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);

        /* a call this architecture does not have is simply not allowed */
        if (rc != 0 && rc != -EDOM && rc != -EFAULT) {
            return rc;
        }
    }
    return 0;
}

/* see sandbox.h */
int sandbox_apply(enum sandbox_profile profile, char *err, size_t err_len)
{
    scmp_filter_ctx ctx;
    int rc;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        tv_set_err(err, err_len, "cannot set no_new_privs: %s",
                   strerror(errno));
        return -1;
    }
    ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL) {
        tv_set_err(err, err_len, "cannot set up the syscall filter");
        return -1;
    }
    rc = allow_all(ctx, base_calls, TV_ARRAY_SIZE(base_calls));
    switch (profile) {
    case SANDBOX_SERVE_RPMB:
        if (rc == 0) {
            rc = allow_all(ctx, store_calls, TV_ARRAY_SIZE(store_calls));
        }
        __attribute__((fallthrough));
    case SANDBOX_SERVE_NSM:
        if (rc == 0) {
            rc = allow_all(ctx, serve_calls, TV_ARRAY_SIZE(serve_calls));
        }
        break;
    case SANDBOX_SERVE_TSM:
        if (rc == 0) {
            rc = allow_all(ctx, tsm_calls, TV_ARRAY_SIZE(tsm_calls));
        }
        break;
    case SANDBOX_SERVE_DSM:
        if (rc == 0) {
            rc = allow_all(ctx, dsm_calls, TV_ARRAY_SIZE(dsm_calls));
        }
        break;
    case SANDBOX_SIGNER:
        /* answers go out with send(), MSG_NOSIGNAL */
        if (rc == 0) {
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 0);
        }
        break;
    default:
        rc = -EINVAL;
        break;
    }
#ifdef SANDBOX_ASAN
    if (rc == 0) {
        rc = allow_all(ctx, asan_calls, TV_ARRAY_SIZE(asan_calls));
    }
#endif
    if (rc == 0) {
        rc = seccomp_load(ctx);
    }
    seccomp_release(ctx);
    if (rc != 0) {
        tv_set_err(err, err_len, "cannot load the syscall filter: %s",
                   strerror(-rc));
        return -1;
    }
    return 0;
}
