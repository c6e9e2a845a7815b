/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD library for the sandbox test: after the daemon accepts a
 * front-end (so inside the serve loop, with the filter on), make a system
 * call no daemon loop needs: open an IPv4 socket. Under --sandbox=seccomp
 * the kernel kills the daemon with SIGSYS; under --sandbox=none the socket
 * is closed again and serving goes on. Nothing of this is in the daemons.
 */
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len, int flags)
{
    int (*real)(int, __SOCKADDR_ARG, socklen_t *restrict, int);
    void *sym = dlsym(RTLD_NEXT, "accept4");
    long s;
    int c;

    memcpy(&real, &sym, sizeof(real));
    c = real(fd, addr, len, flags);
    if (c >= 0) {
        s = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
        if (s >= 0) {
            close((int)s);
        }
    }
    return c;
}
