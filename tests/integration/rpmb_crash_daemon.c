/* SPDX-License-Identifier: MIT */
/*
 * Crash atomicity through the real daemon: vhost-user-rpmb is SIGKILLed at
 * random moments while this process, as the guest (RPMB client over the
 * in-project vhost-user frontend), streams authenticated writes. After each
 * kill the daemon is restarted on the same store and the client checks,
 * through the device itself (MAC-checked reads), that the counter and the
 * whole data image equal exactly the acknowledged writes, the one in flight
 * wholly present with its counter or wholly absent.
 *
 * Usage: rpmb_crash_daemon VHOST_USER_RPMB [ITERATIONS [MAX_DELAY_US]]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/rpmbc.h"
#include "client/rpmbc_vhu.h"

#define N_BLOCKS  512 /* --capacity=128K */
#define MAX_WRITE 4   /* --max-wr-cnt=4 */

static const uint8_t crash_key[32] = "daemon-crash-key-0123456789abcd";
static volatile pid_t daemon_pid;
static struct rpmbc client; /* 33 KiB of frame buffers */

/* The write made with counter @c: as in rpmb_crash.c. */
static uint16_t write_addr(uint32_t c)
{
    return (uint16_t)((c * 37u) % (N_BLOCKS - MAX_WRITE));
}

static size_t write_n_blocks(uint32_t c)
{
    return 1 + c % MAX_WRITE;
}

static void write_data(uint32_t c, uint8_t *out)
{
    size_t i;
    size_t j;

    for (i = 0; i < write_n_blocks(c); i++) {
        for (j = 0; j < 256; j++) {
            out[i * 256 + j] = (uint8_t)(c * 131u + i * 17u + j);
        }
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGKILL);
    }
}

static pid_t start_daemon(const char *daemon, const char *dir)
{
    char sock[300];
    char store[300];
    char log[300];
    pid_t pid;

    (void)snprintf(sock, sizeof(sock), "--socket-path=%s/rpmb.sock", dir);
    (void)snprintf(store, sizeof(store), "--store=%s/rpmb.db", dir);
    (void)snprintf(log, sizeof(log), "%s/daemon.log", dir);
    pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(daemon, daemon, sock, store, "--capacity=128K", "--max-wr-cnt=4",
              "--max-rd-cnt=64", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Connect, retrying while the daemon starts. */
static struct rpmbc_vhu *connect_daemon(const char *dir)
{
    char sock[300];
    struct rpmbc_vhu *v = NULL;
    int i;

    (void)snprintf(sock, sizeof(sock), "%s/rpmb.sock", dir);
    for (i = 0; i < 3000; i++) {
        if (rpmbc_vhu_open(&v, sock) == 0) {
            return v;
        }
        usleep(1000);
    }
    return NULL;
}

static void apply_write(uint8_t *img, uint32_t c)
{
    write_data(c, img + (size_t)write_addr(c) * 256);
}

static int verify(uint8_t *img, uint32_t *counter, uint32_t last_ack,
                  bool *in_flight)
{
    static uint8_t got[N_BLOCKS * 256];
    uint32_t c;
    uint32_t i;
    enum rpmbc_status st;

    st = rpmbc_read_counter(&client, crash_key, &c);
    if (st != RPMBC_OK) {
        fprintf(stderr, "read counter after restart: %s\n", rpmbc_strerror(st));
        return -1;
    }
    if (c < *counter || c < last_ack || c > last_ack + 1) {
        fprintf(stderr, "counter %u: previous %u, last acknowledged %u\n", c,
                *counter, last_ack);
        return -1;
    }
    for (i = *counter; i < c; i++) {
        apply_write(img, i);
    }
    st = rpmbc_read_blocks(&client, crash_key, 0, got, N_BLOCKS);
    if (st != RPMBC_OK) {
        fprintf(stderr, "read back: %s\n", rpmbc_strerror(st));
        return -1;
    }
    if (memcmp(got, img, sizeof(got)) != 0) {
        for (i = 0; i < sizeof(got) && got[i] == img[i]; i++) {
        }
        fprintf(stderr, "data differs at block %u (counter %u, last ack %u)\n",
                i / 256, c, last_ack);
        return -1;
    }
    *in_flight = c == last_ack + 1;
    *counter = c;
    return 0;
}

int main(int argc, char **argv)
{
    static uint8_t img[N_BLOCKS * 256];
    uint8_t data[MAX_WRITE * 256];
    char dir[] = "/tmp/rpmb-crashd-XXXXXX";
    char cmd[300];
    unsigned long n_iter;
    unsigned long max_delay_us;
    unsigned long it;
    unsigned long n_in_flight = 0;
    uint32_t counter = 0;
    uint32_t acked = 0;
    struct sigaction sa;
    struct timespec t0;
    struct timespec t1;
    int rc = 1;

    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: %s VHOST_USER_RPMB [ITERATIONS [MAX_DELAY_US]]\n"
                "  SIGKILLs the daemon during authenticated writes, restarts "
                "it and checks\n  counter and data against the acknowledged "
                "writes (default 200, 15000).\n",
                argv[0]);
        return argc < 2 ? 2 : 0;
    }
    n_iter = argc > 2 ? strtoul(argv[2], NULL, 0) : 200;
    max_delay_us = argc > 3 ? strtoul(argv[3], NULL, 0) : 15000;
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (it = 0; it <= n_iter; it++) {
        struct rpmbc_vhu *v;
        struct rpmbc_transport tr;
        struct itimerval tv;
        bool in_flight = false;
        unsigned long us;
        int status;
        int n;

        daemon_pid = start_daemon(argv[1], dir);
        if (daemon_pid < 0) {
            perror("fork");
            goto out_rm;
        }
        v = connect_daemon(dir);
        if (v == NULL) {
            fprintf(stderr,
                    "iteration %lu: cannot connect to the daemon "
                    "(see %s/daemon.log)\n",
                    it, dir);
            kill(daemon_pid, SIGKILL);
            waitpid(daemon_pid, &status, 0);
            goto out_rm;
        }
        tr = rpmbc_vhu_transport(v);
        rpmbc_init(&client, &tr);
        if (it == 0) {
            if (rpmbc_program_key(&client, crash_key) != RPMBC_OK) {
                fprintf(stderr, "program key failed\n");
                goto out_kill;
            }
        } else if (verify(img, &counter, acked, &in_flight) != 0) {
            fprintf(stderr, "iteration %lu: FAILED\n", it);
            goto out_kill;
        }
        n_in_flight += in_flight;
        acked = counter;
        if (it == n_iter) {
            rpmbc_vhu_close(v);
            kill(daemon_pid, SIGTERM);
            waitpid(daemon_pid, &status, 0);
            break;
        }
        /* kill at a random moment among the next writes */
        us = 1 + (max_delay_us ? (unsigned long)rand() % max_delay_us : 0);
        memset(&tv, 0, sizeof(tv));
        tv.it_value.tv_sec = (time_t)(us / 1000000);
        tv.it_value.tv_usec = (suseconds_t)(us % 1000000);
        setitimer(ITIMER_REAL, &tv, NULL);
        for (n = 0; n < 100000; n++) {
            write_data(acked, data);
            if (rpmbc_write_blocks(&client, crash_key, write_addr(acked), data,
                                   write_n_blocks(acked)) != RPMBC_OK) {
                break;
            }
            acked++; /* acknowledged: the response came back and checked */
        }
        memset(&tv, 0, sizeof(tv));
        setitimer(ITIMER_REAL, &tv, NULL);
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, &status, 0);
        daemon_pid = 0;
        rpmbc_vhu_close(v);
        continue;

    out_kill:
        rpmbc_vhu_close(v);
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, &status, 0);
        goto out_rm;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("rpmb_crash_daemon: %lu daemon kills, %u writes acknowledged or "
           "recovered, %lu kills found the in-flight write committed; %.1f "
           "ms per iteration\n",
           n_iter, counter, n_in_flight,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e3 +
            (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) /
               (double)(n_iter ? n_iter : 1));
    rc = 0;
out_rm:
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", dir);
    }
    return rc;
}
