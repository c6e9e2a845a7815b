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
 *    pointer gives EFAULT (copies use process_vm_readv/writev on ourselves,
 *    so a wild pointer cannot crash the process), request.len > 0x1000
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
#include <stdarg.h>
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

/* Descriptors standing for /dev/nsm: bit fd of nsmp_fds. */
static uint64_t nsmp_fds[NSMP_MAX_FD / 64];
static pthread_mutex_t nsmp_fd_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The device connection and the bounce buffers, under nsmp_dev_lock (one
 * request in flight). Lock order: nsmp_dev_lock, then nsmp_fd_lock.
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
    pthread_mutex_init(&nsmp_dev_lock, NULL);
    pthread_mutex_init(&nsmp_fd_lock, NULL);
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
    if (real_fcntl64 == NULL) {
        real_fcntl64 = real_fcntl; /* glibc before 2.28 */
    }
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

static bool nsmp_fd_tracked(int fd)
{
    bool on;

    if (fd < 0 || fd >= NSMP_MAX_FD) {
        return false;
    }
    pthread_mutex_lock(&nsmp_fd_lock);
    on = (nsmp_fds[fd / 64] >> (fd % 64)) & 1u;
    pthread_mutex_unlock(&nsmp_fd_lock);
    return on;
}

static void nsmp_fd_set(int fd, bool on)
{
    if (fd < 0 || fd >= NSMP_MAX_FD) {
        return;
    }
    pthread_mutex_lock(&nsmp_fd_lock);
    if (on) {
        nsmp_fds[fd / 64] |= UINT64_C(1) << (fd % 64);
    } else {
        nsmp_fds[fd / 64] &= ~(UINT64_C(1) << (fd % 64));
    }
    pthread_mutex_unlock(&nsmp_fd_lock);
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
    const char *path = nsmp_socket();

    if (nsmp_fe != NULL) {
        return 0;
    }
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
 * Copy @len bytes between our memory and an address the caller gave us,
 * without faulting on a bad one: process_vm_readv/writev on our own pid
 * report EFAULT instead. Where they are unavailable (seccomp, old kernel),
 * fall back to a plain copy. Return 0 or -EFAULT.
 */
static int nsmp_copy(void *local, uint64_t remote, size_t len, bool to_user)
{
    struct iovec l = {local, len};
    struct iovec r = {(void *)(uintptr_t)remote, len};
    ssize_t n;

    if (len == 0) {
        return 0;
    }
    if (remote == 0) {
        return -EFAULT;
    }
    n = to_user ? process_vm_writev(getpid(), &l, 1, &r, 1, 0)
                : process_vm_readv(getpid(), &l, 1, &r, 1, 0);
    if (n == (ssize_t)len) {
        return 0;
    }
    if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
        if (to_user) {
            memcpy(r.iov_base, local, len);
        } else {
            memcpy(local, r.iov_base, len);
        }
        return 0;
    }
    return -EFAULT;
}

/* NSM_IOCTL_RAW on a descriptor of ours. Return 0 or -errno. */
static int nsmp_raw(uint64_t arg)
{
    struct nsmp_raw raw;
    size_t resp_len = 0, cap;
    int rc;

    rc = nsmp_copy(&raw, arg, sizeof(raw), false);
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
    rc = nsmp_copy(nsmp_req, raw.request.addr, (size_t)raw.request.len, false);
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
    rc = nsmp_copy(nsmp_resp, raw.response.addr, resp_len, true);
    if (rc < 0) {
        goto out_unlock;
    }
    raw.response.len = resp_len;
    rc = nsmp_copy(&raw.response.len,
                   arg + offsetof(struct nsmp_raw, response.len),
                   sizeof(raw.response.len), true);

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
