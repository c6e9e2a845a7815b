/* SPDX-License-Identifier: MIT */
/*
 * libnsm-preload.so: serve /dev/nsm from a vhost-user-nsm backend named by
 * TRUSTVIO_NSM_SOCKET, so that unmodified programs written for a real
 * enclave (C with the ioctl, Rust through libc, Python through
 * fcntl.ioctl, AWS's libnsm) run against the emulated device:
 *
 *   LD_PRELOAD=libnsm-preload.so TRUSTVIO_NSM_SOCKET=/run/nsm.sock prog
 *
 * open()/open64()/openat()/openat64()/__open_2()/__open64_2() of exactly
 * "/dev/nsm" return a real descriptor of /dev/null (so close, fstat, dup
 * and fork keep working) that the shim remembers; ioctl(NSM_IOCTL_RAW) on
 * it is served through the in-project vhost-user frontend as the kernel
 * driver (drivers/misc/nsm.c) serves it:
 *  - the 32-byte struct nsm_raw and the request are copied in first; a bad
 *    pointer gives EFAULT (copies are guarded against faults, see
 *    nsmp_copyv(), so a wild pointer cannot crash the process),
 *    request.len > 0x1000
 *    gives EMSGSIZE, a zero-length request EINVAL;
 *  - the response is truncated silently to response.len, which becomes
 *    the number of bytes copied;
 *  - an ioctl number with the NSM magic but a wrong size gives EINVAL, any
 *    other ioctl on the descriptor ENOTTY;
 *  - transport failures give EIO (ETIMEDOUT after the frontend's 120 s).
 * One device connection per process, opened at the first open of
 * /dev/nsm and kept across close, so the process sees one enclave; a mutex
 * keeps one request in flight, like the driver's. A broken connection is
 * dropped and reopened at the next request. Copies of the descriptor made
 * with dup()/dup2()/dup3()/fcntl(F_DUPFD[_CLOEXEC]) are served too (Python's
 * os.dup() uses the latter).
 *
 * Without TRUSTVIO_NSM_SOCKET every call passes through untouched (a real
 * /dev/nsm keeps working). A forked child does not use its parent's
 * connection: it opens its own at its next request (the backend must then
 * accept a second connection, which vhost-user backends do only after the
 * first one ends).
 */
/*
 * The build defines _FILE_OFFSET_BITS=64, which turns open() into an alias
 * of open64(); the shim must define both symbols, so it takes the plain
 * names. (Neither takes an off_t, so nothing else changes.)
 */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "frontend/vhu_frontend.h"
#include "common/caps.h"

#define NSMP_PATH       "/dev/nsm"
#define NSMP_SOCKET_ENV "TRUSTVIO_NSM_SOCKET"

/* uapi linux/nsm.h: NSM_IOCTL_RAW = _IOWR(0x0A, 0, struct nsm_raw) */
#define NSMP_IOCTL_RAW 0xC0200A00UL
#define NSMP_IOC_MAGIC 0x0Au

/* Descriptors below this number can stand for /dev/nsm. */
#define NSMP_MAX_FD 65536

struct nsmp_iovec {
    uint64_t addr; /* user pointer */
    uint64_t len;  /* bytes */
};

struct nsmp_raw {
    struct nsmp_iovec request;  /* in: the request */
    struct nsmp_iovec response; /* in: capacity; out: bytes written */
};
_Static_assert(sizeof(struct nsmp_raw) == 32, "uapi struct nsm_raw");

/*
 * Descriptors standing for /dev/nsm: bit fd of nsmp_fds. Atomic words, so
 * that the test every ioctl, close and dup makes takes no lock.
 */
static _Atomic uint64_t nsmp_fds[NSMP_MAX_FD / 64];

/* Our pid for process_vm_readv/writev, set at load and in a forked child. */
static pid_t nsmp_pid;

/*
 * The device connection and the bounce buffers, under nsmp_dev_lock (one
 * request in flight).
 */
static pthread_mutex_t nsmp_dev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vhu_fe *nsmp_fe;
static uint8_t nsmp_req[NSM_REQUEST_MAX_SIZE];
static uint8_t nsmp_resp[NSM_RESPONSE_MAX_SIZE];

static pthread_once_t nsmp_once = PTHREAD_ONCE_INIT;
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real___open_2)(const char *, int);
static int (*real___open64_2)(const char *, int);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static int (*real_fcntl64)(int, int, ...);
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
typedef void (*nsmp_sighandler)(int);
static nsmp_sighandler (*real_signal)(int, nsmp_sighandler);
static nsmp_sighandler (*real_bsd_signal)(int, nsmp_sighandler);
static nsmp_sighandler (*real_sysv_signal)(int, nsmp_sighandler);
static nsmp_sighandler (*real___sysv_signal)(int, nsmp_sighandler);
static nsmp_sighandler (*real_sigset)(int, nsmp_sighandler);

/*
 * Exported entry points: the library is built with hidden visibility, so
 * only these interpose on libc. The prototypes keep -Wmissing-prototypes
 * satisfied for symbols libc declares only under some feature macros.
 */
#define NSMP_EXPORT __attribute__((visibility("default")))
NSMP_EXPORT int open(const char *path, int flags, ...);
NSMP_EXPORT int open64(const char *path, int flags, ...);
NSMP_EXPORT int openat(int dirfd, const char *path, int flags, ...);
NSMP_EXPORT int openat64(int dirfd, const char *path, int flags, ...);
NSMP_EXPORT int __open_2(const char *path, int flags);
NSMP_EXPORT int __open64_2(const char *path, int flags);
NSMP_EXPORT int close(int fd);
NSMP_EXPORT int ioctl(int fd, unsigned long request, ...);
NSMP_EXPORT int dup(int fd);
NSMP_EXPORT int dup2(int fd, int fd2);
NSMP_EXPORT int dup3(int fd, int fd2, int flags);
NSMP_EXPORT int fcntl(int fd, int cmd, ...);
NSMP_EXPORT int fcntl64(int fd, int cmd, ...);
NSMP_EXPORT int sigaction(int sig, const struct sigaction *act,
                          struct sigaction *old);
NSMP_EXPORT nsmp_sighandler signal(int sig, nsmp_sighandler handler);
NSMP_EXPORT nsmp_sighandler bsd_signal(int sig, nsmp_sighandler handler);
NSMP_EXPORT nsmp_sighandler sysv_signal(int sig, nsmp_sighandler handler);
NSMP_EXPORT nsmp_sighandler __sysv_signal(int sig, nsmp_sighandler handler);
NSMP_EXPORT nsmp_sighandler sigset(int sig, nsmp_sighandler handler);

/*
 * dlsym() returns an object pointer; ISO C has no conversion to a function
 * pointer, POSIX guarantees the representations match, so copy the bytes.
 */
#define NSMP_RESOLVE(var, name)                                                \
    do {                                                                       \
        void *sym_ = dlsym(RTLD_NEXT, name);                                   \
        _Static_assert(sizeof(var) == sizeof(sym_), "function pointer size");  \
        memcpy(&(var), &sym_, sizeof(var));                                    \
    } while (0)

/* A forked child must not drive its parent's ring: forget the connection. */
static void nsmp_atfork_child(void)
{
    nsmp_fe = NULL; /* its memory and socket stay the parent's business */
    nsmp_pid = getpid();
    pthread_mutex_init(&nsmp_dev_lock, NULL);
}

static void nsmp_resolve(void)
{
    NSMP_RESOLVE(real_open, "open");
    NSMP_RESOLVE(real_open64, "open64");
    NSMP_RESOLVE(real_openat, "openat");
    NSMP_RESOLVE(real_openat64, "openat64");
    NSMP_RESOLVE(real___open_2, "__open_2");
    NSMP_RESOLVE(real___open64_2, "__open64_2");
    NSMP_RESOLVE(real_close, "close");
    NSMP_RESOLVE(real_ioctl, "ioctl");
    NSMP_RESOLVE(real_dup, "dup");
    NSMP_RESOLVE(real_dup2, "dup2");
    NSMP_RESOLVE(real_dup3, "dup3");
    NSMP_RESOLVE(real_fcntl, "fcntl");
    NSMP_RESOLVE(real_fcntl64, "fcntl64");
    NSMP_RESOLVE(real_sigaction, "sigaction");
    NSMP_RESOLVE(real_signal, "signal");
    NSMP_RESOLVE(real_bsd_signal, "bsd_signal");
    NSMP_RESOLVE(real_sysv_signal, "sysv_signal");
    NSMP_RESOLVE(real___sysv_signal, "__sysv_signal");
    NSMP_RESOLVE(real_sigset, "sigset");
    if (real_fcntl64 == NULL) {
        real_fcntl64 = real_fcntl; /* glibc before 2.28 */
    }
    nsmp_pid = getpid();
    pthread_atfork(NULL, NULL, nsmp_atfork_child);
}

static void nsmp_init(void)
{
    pthread_once(&nsmp_once, nsmp_resolve);
}

static const char *nsmp_socket(void)
{
    const char *s = getenv(NSMP_SOCKET_ENV);

    return s != NULL && s[0] != '\0' ? s : NULL;
}

static bool nsmp_is_dev(const char *path)
{
    return path != NULL && strcmp(path, NSMP_PATH) == 0;
}

/*
 * Relaxed order is enough: a descriptor number is handed out by the kernel
 * and reaches another thread only through something that synchronises.
 */
static bool nsmp_fd_tracked(int fd)
{
    if (fd < 0 || fd >= NSMP_MAX_FD) {
        return false;
    }
    return (atomic_load_explicit(&nsmp_fds[fd / 64], memory_order_relaxed) >>
            (fd % 64)) &
           1u;
}

static void nsmp_fd_set(int fd, bool on)
{
    uint64_t bit;

    if (fd < 0 || fd >= NSMP_MAX_FD) {
        return;
    }
    bit = UINT64_C(1) << (fd % 64);
    if (on) {
        atomic_fetch_or_explicit(&nsmp_fds[fd / 64], bit, memory_order_relaxed);
    } else {
        atomic_fetch_and_explicit(&nsmp_fds[fd / 64], ~bit,
                                  memory_order_relaxed);
    }
}

/*
 * Connect unless connected. Caller holds nsmp_dev_lock. Without the STATUS
 * feature the connection never sends SET_STATUS(0) (a device reset), so a
 * backend run with --keep-state shows the next process the same enclave.
 * Return 0 or -errno.
 */
static int nsmp_connect_locked(void)
{
    struct vhu_fe_options opts = {.flags = VHU_FE_NO_STATUS};
    const char *path;

    if (nsmp_fe != NULL) {
        return 0; /* every request but the first: no environment lookup */
    }
    path = nsmp_socket();
    if (path == NULL) {
        return -ENODEV;
    }
    nsmp_fe = vhu_fe_connect(path, &opts, NULL, 0);
    if (nsmp_fe == NULL) {
        return errno > 0 ? -errno : -EIO;
    }
    return 0;
}

/*
 * open of /dev/nsm with the device emulated: connect (so that a missing
 * backend fails the open, as a missing device would), then hand out a
 * /dev/null descriptor with the caller's O_CLOEXEC/O_NONBLOCK.
 */
static int nsmp_open_dev(int flags)
{
    int rc, fd;

    pthread_mutex_lock(&nsmp_dev_lock);
    rc = nsmp_connect_locked();
    pthread_mutex_unlock(&nsmp_dev_lock);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    fd = real_open("/dev/null", O_RDWR | (flags & (O_CLOEXEC | O_NONBLOCK)));
    if (fd < 0) {
        return -1;
    }
    if (fd >= NSMP_MAX_FD) {
        real_close(fd);
        errno = EMFILE;
        return -1;
    }
    nsmp_fd_set(fd, true);
    return fd;
}

/*
 * Copies from and to the caller's addresses must report a bad pointer as
 * EFAULT, as the driver's copy_from_user()/copy_to_user() do, never crash
 * the process. Two ways:
 *
 *  - guarded copies: a plain memcpy() with a SIGSEGV/SIGBUS handler that,
 *    while this thread is inside one, jumps back out of it (the user-space
 *    form of the kernel's exception table). The handler is installed at the
 *    first request, chains every other fault to the disposition it
 *    replaced, and is used only while it is still the one installed: the
 *    shim interposes sigaction() and the signal() family, and once the
 *    program sets a SIGSEGV or SIGBUS disposition of its own through them
 *    it keeps it, and every later copy takes the second way. (A program
 *    that bypasses libc with a raw rt_sigaction system call after its
 *    first request is not noticed.) Not in AddressSanitizer builds, whose
 *    memcpy() reports a wild pointer itself.
 *  - process_vm_readv/writev on our own pid, which return EFAULT. Correct
 *    everywhere, but each call costs about as much as the rest of the
 *    shim's work on a request together (pinning the pages).
 */
#if defined(__SANITIZE_ADDRESS__)
#define NSMP_GUARD 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NSMP_GUARD 0
#endif
#endif
#ifndef NSMP_GUARD
#define NSMP_GUARD 1
#endif

#if NSMP_GUARD
/* Where a fault inside a guarded copy of this thread returns to. */
static _Thread_local sigjmp_buf *volatile nsmp_guard_env
    __attribute__((tls_model("initial-exec")));
static struct sigaction nsmp_prev_segv, nsmp_prev_bus; /* what we replaced */
static pthread_once_t nsmp_guard_once = PTHREAD_ONCE_INIT;
static bool nsmp_guard_installed;
static atomic_bool nsmp_guard_lost; /* the program set its own since */

/*
 * A kernel-raised fault inside a guarded copy leaves it; anything else goes
 * on as if we had never been installed.
 */
static void nsmp_fault(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *prev =
        sig == SIGBUS ? &nsmp_prev_bus : &nsmp_prev_segv;
    sigjmp_buf *env = nsmp_guard_env;

    if (env != NULL && si != NULL && si->si_code > 0) {
        siglongjmp(*env, 1);
    }
    if ((prev->sa_flags & SA_SIGINFO) != 0 && prev->sa_sigaction != NULL) {
        prev->sa_sigaction(sig, si, uc);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    } else {
        /* the default action: restore it; a real fault repeats on return,
         * a sent signal is raised again */
        struct sigaction dfl;

        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        atomic_store(&nsmp_guard_lost, true);
        real_sigaction(sig, &dfl, NULL);
        if (si == NULL || si->si_code <= 0) {
            raise(sig);
        }
    }
}

static void nsmp_guard_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = nsmp_fault;
    /* NODEFER: a jump out of the handler leaves the signal unblocked */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (real_sigaction(SIGSEGV, &sa, &nsmp_prev_segv) != 0) {
        return;
    }
    if (real_sigaction(SIGBUS, &sa, &nsmp_prev_bus) != 0) {
        real_sigaction(SIGSEGV, &nsmp_prev_segv, NULL);
        return;
    }
    nsmp_guard_installed = true;
}

/* Whether guarded copies can be used for this request: no system call. */
static bool nsmp_guard_ready(void)
{
    if (atomic_load_explicit(&nsmp_guard_lost, memory_order_relaxed)) {
        return false;
    }
    pthread_once(&nsmp_guard_once, nsmp_guard_install);
    return nsmp_guard_installed &&
           !atomic_load_explicit(&nsmp_guard_lost, memory_order_relaxed);
}

/* memcpy() that returns -EFAULT instead of faulting. */
static int nsmp_guarded_copy(void *dst, const void *src, size_t len)
{
    sigjmp_buf env;

    if (sigsetjmp(env, 0) != 0) {
        nsmp_guard_env = NULL;
        return -EFAULT;
    }
    nsmp_guard_env = &env;
    atomic_signal_fence(memory_order_seq_cst);
    memcpy(dst, src, len);
    atomic_signal_fence(memory_order_seq_cst);
    nsmp_guard_env = NULL;
    return 0;
}
#endif

/*
 * Copy between our memory and addresses the caller gave us (see above).
 * @local[i] and @remote[i] have the same length; a NULL remote address is
 * EFAULT. Pieces are copied in order, in one system call on the slow way.
 * Where process_vm_readv/writev are unavailable (seccomp, old kernel),
 * fall back to plain copies. Return 0 or -EFAULT.
 */
static int nsmp_copyv(struct iovec *local, struct iovec *remote, size_t n_iov,
                      bool to_user, bool guarded)
{
    size_t total = 0, i;
    ssize_t n;

    for (i = 0; i < n_iov; i++) {
        if (remote[i].iov_base == NULL && remote[i].iov_len > 0) {
            return -EFAULT;
        }
        total += local[i].iov_len;
    }
    if (total == 0) {
        return 0;
    }
#if NSMP_GUARD
    if (guarded) {
        for (i = 0; i < n_iov; i++) {
            int rc =
                to_user
                    ? nsmp_guarded_copy(remote[i].iov_base, local[i].iov_base,
                                        local[i].iov_len)
                    : nsmp_guarded_copy(local[i].iov_base, remote[i].iov_base,
                                        local[i].iov_len);

            if (rc < 0) {
                return rc;
            }
        }
        return 0;
    }
#endif
    n = to_user ? process_vm_writev(nsmp_pid, local, n_iov, remote, n_iov, 0)
                : process_vm_readv(nsmp_pid, local, n_iov, remote, n_iov, 0);
    if (n == (ssize_t)total) {
        return 0;
    }
    if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
        for (i = 0; i < n_iov; i++) {
            if (to_user) {
                memcpy(remote[i].iov_base, local[i].iov_base, local[i].iov_len);
            } else {
                memcpy(local[i].iov_base, remote[i].iov_base, local[i].iov_len);
            }
        }
        return 0;
    }
    return -EFAULT;
}

static int nsmp_copy(void *local, uint64_t remote, size_t len, bool to_user,
                     bool guarded)
{
    struct iovec l = {local, len};
    struct iovec r = {(void *)(uintptr_t)remote, len};

    return nsmp_copyv(&l, &r, 1, to_user, guarded);
}

/* NSM_IOCTL_RAW on a descriptor of ours. Return 0 or -errno. */
static int nsmp_raw(uint64_t arg)
{
    struct nsmp_raw raw;
    size_t resp_len = 0, cap;
    bool guarded = false; /* fast copies, decided once per request */
    int rc;

#if NSMP_GUARD
    guarded = nsmp_guard_ready();
#endif
    rc = nsmp_copy(&raw, arg, sizeof(raw), false, guarded);
    if (rc < 0) {
        return rc;
    }
    if (raw.request.len > NSM_REQUEST_MAX_SIZE) {
        return -EMSGSIZE;
    }
    if (raw.request.len == 0) {
        return -EINVAL;
    }
    pthread_mutex_lock(&nsmp_dev_lock);
    rc = nsmp_copy(nsmp_req, raw.request.addr, (size_t)raw.request.len, false,
                   guarded);
    if (rc < 0) {
        goto out_unlock;
    }
    rc = nsmp_connect_locked();
    if (rc < 0) {
        rc = -EIO;
        goto out_unlock;
    }
    cap = raw.response.len < sizeof(nsmp_resp) ? (size_t)raw.response.len
                                               : sizeof(nsmp_resp);
    rc = vhu_fe_nsm_call(nsmp_fe, nsmp_req, (size_t)raw.request.len, nsmp_resp,
                         sizeof(nsmp_resp), &resp_len);
    if (rc == -ENODATA) {
        goto out_unlock; /* wrong used order; the connection stays usable */
    }
    if (rc < 0) {
        /* broken, timed out or gone: drop it, the next request reconnects */
        vhu_fe_close(nsmp_fe);
        nsmp_fe = NULL;
        rc = rc == -ETIMEDOUT ? -ETIMEDOUT : -EIO;
        goto out_unlock;
    }
    if (resp_len > cap) {
        resp_len = cap; /* the driver's silent truncation */
    }
    /* the response, then its length, as the driver copies them; one call */
    raw.response.len = resp_len;
    {
        struct iovec l[2] = {{nsmp_resp, resp_len},
                             {&raw.response.len, sizeof(raw.response.len)}};
        struct iovec r[2] = {
            {(void *)(uintptr_t)raw.response.addr, resp_len},
            {(void *)(uintptr_t)(arg + offsetof(struct nsmp_raw, response.len)),
             sizeof(raw.response.len)}};

        rc = nsmp_copyv(l, r, 2, true, guarded);
    }

out_unlock:
    pthread_mutex_unlock(&nsmp_dev_lock);
    return rc;
}

/* Fetch open's optional mode argument. */
#define NSMP_MODE(flags, last)                                                 \
    mode_t mode = 0;                                                           \
    if (((flags)&O_CREAT) != 0 || ((flags)&O_TMPFILE) == O_TMPFILE) {          \
        va_list ap;                                                            \
        va_start(ap, last);                                                    \
        mode = (mode_t)va_arg(ap, int);                                        \
        va_end(ap);                                                            \
    }

int open(const char *path, int flags, ...)
{
    NSMP_MODE(flags, flags);
    nsmp_init();
    if (nsmp_is_dev(path) && nsmp_socket() != NULL) {
        return nsmp_open_dev(flags);
    }
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    NSMP_MODE(flags, flags);
    nsmp_init();
    if (nsmp_is_dev(path) && nsmp_socket() != NULL) {
        return nsmp_open_dev(flags);
    }
    return real_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    NSMP_MODE(flags, flags);
    nsmp_init();
    if (nsmp_is_dev(path) && nsmp_socket() != NULL) {
        return nsmp_open_dev(flags);
    }
    return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    NSMP_MODE(flags, flags);
    nsmp_init();
    if (nsmp_is_dev(path) && nsmp_socket() != NULL) {
        return nsmp_open_dev(flags);
    }
    return real_openat64(dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags)
{
    nsmp_init();
    if (nsmp_is_dev(path) && nsmp_socket() != NULL) {
        return nsmp_open_dev(flags);
    }
    return real___open_2(path, flags);
}

int __open64_2(const char *path, int flags)
{
    nsmp_init();
    if (nsmp_is_dev(path) && nsmp_socket() != NULL) {
        return nsmp_open_dev(flags);
    }
    return real___open64_2(path, flags);
}

/* Forget the descriptor first: a new open may reuse the number at once. */
int close(int fd)
{
    nsmp_init();
    nsmp_fd_set(fd, false);
    return real_close(fd);
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    void *arg;
    int rc;

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    nsmp_init();
    if (!nsmp_fd_tracked(fd)) {
        return real_ioctl(fd, request, arg);
    }
    if (request == NSMP_IOCTL_RAW) {
        rc = nsmp_raw((uint64_t)(uintptr_t)arg);
    } else if (_IOC_TYPE(request) == NSMP_IOC_MAGIC && _IOC_NR(request) == 0) {
        rc = -EINVAL; /* the raw command with a wrong size or direction */
    } else {
        rc = -ENOTTY;
    }
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return 0;
}

int dup(int fd)
{
    int nfd;

    nsmp_init();
    nfd = real_dup(fd);
    if (nfd >= 0 && nsmp_fd_tracked(fd)) {
        nsmp_fd_set(nfd, true);
    }
    return nfd;
}

/* The target is closed implicitly: it stops being ours unless fd is. */
int dup2(int fd, int fd2)
{
    int nfd;

    nsmp_init();
    nfd = real_dup2(fd, fd2);
    if (nfd >= 0 && nfd != fd) {
        nsmp_fd_set(nfd, nsmp_fd_tracked(fd));
    }
    return nfd;
}

int dup3(int fd, int fd2, int flags)
{
    int nfd;

    nsmp_init();
    nfd = real_dup3(fd, fd2, flags);
    if (nfd >= 0) {
        nsmp_fd_set(nfd, nsmp_fd_tracked(fd));
    }
    return nfd;
}

/*
 * fcntl's third argument is an int, a long or a pointer depending on @cmd;
 * all travel in one integer register on the ABIs glibc supports, which is
 * how glibc's own fcntl wrapper forwards it.
 */
static int nsmp_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    int nfd = real(fd, cmd, arg);

    if (nfd >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&
        nsmp_fd_tracked(fd)) {
        nsmp_fd_set(nfd, true);
    }
    return nfd;
}

int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    nsmp_init();
    return nsmp_fcntl(real_fcntl, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    nsmp_init();
    return nsmp_fcntl(real_fcntl64, fd, cmd, arg);
}

/*
 * The program changes a SIGSEGV or SIGBUS disposition: from now on it is
 * the program's, and the shim's copies stop relying on its own handler.
 */
static void nsmp_note_signal(int sig)
{
#if NSMP_GUARD
    if (sig == SIGSEGV || sig == SIGBUS) {
        atomic_store(&nsmp_guard_lost, true);
    }
#else
    (void)sig;
#endif
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    nsmp_init();
    if (act != NULL) {
        nsmp_note_signal(sig);
    }
    return real_sigaction(sig, act, old);
}

/* The signal() family: glibc implements them without calling sigaction(). */
#define NSMP_SIGNAL_FN(name)                                                   \
    nsmp_sighandler name(int sig, nsmp_sighandler handler)                     \
    {                                                                          \
        nsmp_init();                                                           \
        if (real_##name == NULL) {                                             \
            errno = ENOSYS;                                                    \
            return SIG_ERR;                                                    \
        }                                                                      \
        nsmp_note_signal(sig);                                                 \
        return real_##name(sig, handler);                                      \
    }
NSMP_SIGNAL_FN(signal)
NSMP_SIGNAL_FN(bsd_signal)
NSMP_SIGNAL_FN(sysv_signal)
NSMP_SIGNAL_FN(__sysv_signal)
NSMP_SIGNAL_FN(sigset)
