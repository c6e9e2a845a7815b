/* SPDX-License-Identifier: MIT */
/*
 * Crash atomicity of the RPMB model + SQLite store.
 *
 * Each iteration forks a writer that opens the store and issues
 * authenticated writes (1..4 blocks each) through rpmb_handle(), reporting
 * every acknowledged write on a pipe before starting the next. The parent
 * SIGKILLs it after a random delay. The next writer's open is the recovery:
 * it reports the counter, the key flag and a SHA-256 of the whole image it
 * found, and the parent checks they equal exactly the acknowledged writes,
 * the one in flight either wholly present with its counter or wholly
 * absent. After the last kill the parent opens the store itself and
 * compares the image byte for byte. Writes are a pure function of the counter
 * value they were made with, so the parent can recompute the expected image.
 *
 * Usage: rpmb_crash [ITERATIONS [MAX_DELAY_US [DIR]]]
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "rpmb/rpmb.h"
#include "store/store.h"

#define FR         VIRTIO_RPMB_FRAME_SIZE
#define UNITS      1
#define N_BLOCKS   (UNITS * VIRTIO_RPMB_BLOCKS_PER_UNIT)
#define MAX_WRITE  4
#define HELLO_SIZE (4 + 1 + 32) /* counter, key present, SHA-256(image) */

static const uint8_t crash_key[32] = "crash-test-key-0123456789abcdef";

/* The write made with counter @c: where, how many blocks, which bytes. */
static uint16_t write_addr(uint32_t c)
{
    return (uint16_t)((c * 37u) % (N_BLOCKS - MAX_WRITE));
}

static size_t write_n_blocks(uint32_t c)
{
    return 1 + c % MAX_WRITE;
}

static uint8_t write_byte(uint32_t c, size_t block, size_t j)
{
    return (uint8_t)(c * 131u + block * 17u + j);
}

static void apply_write(uint8_t *img, uint32_t c)
{
    size_t i;
    size_t j;

    for (i = 0; i < write_n_blocks(c); i++) {
        for (j = 0; j < RPMB_BLK_SIZE; j++) {
            img[((size_t)write_addr(c) + i) * RPMB_BLK_SIZE + j] =
                write_byte(c, i, j);
        }
    }
}

static int mac_frames(const uint8_t *frames, size_t n, uint8_t mac[32])
{
    struct crypto_hmac h;
    size_t i;

    if (crypto_hmac_init(&h, crash_key, 32) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (crypto_hmac_update(&h, frames + i * FR + VIRTIO_RPMB_OFF_DATA,
                               VIRTIO_RPMB_MAC_INPUT_SIZE) != 0) {
            crypto_hmac_abort(&h);
            return -1;
        }
    }
    return crypto_hmac_final(&h, mac);
}

/* Build the request for the write made with counter @c, + RESULT_READ. */
static size_t build_write(uint8_t *req, uint32_t c)
{
    size_t n = write_n_blocks(c);
    uint8_t mac[32];
    size_t i;
    size_t j;

    for (i = 0; i < n; i++) {
        uint8_t *f = req + i * FR;

        memset(f, 0, FR);
        for (j = 0; j < RPMB_BLK_SIZE; j++) {
            f[VIRTIO_RPMB_OFF_DATA + j] = write_byte(c, i, j);
        }
        store_be32(f + VIRTIO_RPMB_OFF_WRITE_COUNTER, c);
        store_be16(f + VIRTIO_RPMB_OFF_ADDRESS, write_addr(c));
        store_be16(f + VIRTIO_RPMB_OFF_BLOCK_COUNT, (uint16_t)n);
        store_be16(f + VIRTIO_RPMB_OFF_REQ_RESP, VIRTIO_RPMB_REQ_DATA_WRITE);
    }
    if (mac_frames(req, n, mac) != 0) {
        return 0;
    }
    memcpy(req + (n - 1) * FR + VIRTIO_RPMB_OFF_KEY_MAC, mac, 32);
    memset(req + n * FR, 0, FR);
    store_be16(req + n * FR + VIRTIO_RPMB_OFF_BLOCK_COUNT, 1);
    store_be16(req + n * FR + VIRTIO_RPMB_OFF_REQ_RESP,
               VIRTIO_RPMB_REQ_RESULT_READ);
    return (n + 1) * FR;
}

/* The writer: runs until killed; exits non-zero on any misbehaviour. */
static void writer(const char *path, int ack_fd)
{
    static uint8_t req[(MAX_WRITE + 1) * FR];
    uint8_t resp[FR];
    struct rpmb_config cfg = {UNITS, 0, 0};
    struct rpmb r;
    char err[256];
    struct rpmb_store *s =
        rpmb_store_sqlite_open(path, UNITS, err, sizeof(err));

    if (s == NULL) {
        fprintf(stderr, "writer: %s\n", err);
        _exit(2);
    }
    if (rpmb_init(&r, &cfg, &rpmb_store_sqlite_ops, s) != RPMB_OK) {
        _exit(3);
    }
    {
        /*
         * Ready: report what this open found (counter, key present, and a
         * digest of the whole image) so the parent can check the state
         * left by the previous kill without opening the store itself.
         */
        static uint8_t image[N_BLOCKS * RPMB_BLK_SIZE];
        uint8_t hello[HELLO_SIZE];
        bool key;
        uint32_t c;

        if (rpmb_store_sqlite_ops.load_state(s, &key, &c) != 0 ||
            rpmb_store_sqlite_ops.read_blocks(s, 0, N_BLOCKS, image,
                                              RPMB_BLK_SIZE) != 0 ||
            crypto_sha256(image, sizeof(image), hello + 5) != 0) {
            _exit(6);
        }
        store_be32(hello, c);
        hello[4] = key;
        if (write(ack_fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello)) {
            _exit(5);
        }
    }
    for (;;) {
        uint32_t c = rpmb_write_counter(&r);
        size_t req_len = build_write(req, c);
        size_t resp_len;
        uint8_t ack[4];

        if (req_len == 0 ||
            rpmb_handle(&r, req, req_len, resp, sizeof(resp), &resp_len) !=
                RPMB_OK ||
            resp_len != FR || load_be16(resp + VIRTIO_RPMB_OFF_RESULT) != 0 ||
            load_be32(resp + VIRTIO_RPMB_OFF_WRITE_COUNTER) != c + 1) {
            fprintf(stderr, "writer: write %u not acknowledged\n", c);
            _exit(4);
        }
        /* acknowledged: report it before starting the next write */
        store_be32(ack, c + 1);
        if (write(ack_fd, ack, sizeof(ack)) != (ssize_t)sizeof(ack)) {
            _exit(5);
        }
    }
}

static int setup_store(const char *path)
{
    struct rpmb_config cfg = {UNITS, 0, 0};
    struct rpmb r;
    uint8_t req[2 * FR] = {0};
    uint8_t resp[FR];
    size_t resp_len;
    char err[256];
    struct rpmb_store *s =
        rpmb_store_sqlite_open(path, UNITS, err, sizeof(err));
    int rc = -1;

    if (s == NULL) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    if (rpmb_init(&r, &cfg, &rpmb_store_sqlite_ops, s) != RPMB_OK) {
        goto out_close;
    }
    memcpy(req + VIRTIO_RPMB_OFF_KEY_MAC, crash_key, 32);
    store_be16(req + VIRTIO_RPMB_OFF_REQ_RESP, VIRTIO_RPMB_REQ_PROGRAM_KEY);
    store_be16(req + FR + VIRTIO_RPMB_OFF_REQ_RESP,
               VIRTIO_RPMB_REQ_RESULT_READ);
    if (rpmb_handle(&r, req, sizeof(req), resp, sizeof(resp), &resp_len) ==
            RPMB_OK &&
        resp_len == FR && load_be16(resp + VIRTIO_RPMB_OFF_RESULT) == 0) {
        rc = 0;
    }
out_close:
    rpmb_store_close(s);
    return rc;
}

/* Check the reopened store against the acknowledged writes. */
static int verify(const char *path, uint8_t *img, uint32_t *counter,
                  uint32_t last_ack, bool *in_flight)
{
    static uint8_t got[N_BLOCKS * RPMB_BLK_SIZE];
    char err[256];
    struct rpmb_store *s =
        rpmb_store_sqlite_open(path, UNITS, err, sizeof(err));
    bool key;
    uint32_t c;
    uint32_t i;
    int rc = -1;

    if (s == NULL) {
        fprintf(stderr, "reopen after kill: %s\n", err);
        return -1;
    }
    if (rpmb_store_sqlite_ops.load_state(s, &key, &c) != 0 || !key) {
        fprintf(stderr, "state lost (key %d)\n", key);
        goto out_close;
    }
    if (c < *counter || c < last_ack || c > last_ack + 1) {
        fprintf(stderr, "counter %u: previous %u, last acknowledged %u\n", c,
                *counter, last_ack);
        goto out_close;
    }
    for (i = *counter; i < c; i++) {
        apply_write(img, i);
    }
    if (rpmb_store_sqlite_ops.read_blocks(s, 0, N_BLOCKS, got, RPMB_BLK_SIZE) !=
        0) {
        fprintf(stderr, "read back failed\n");
        goto out_close;
    }
    for (i = 0; i < N_BLOCKS * RPMB_BLK_SIZE; i++) {
        if (got[i] != img[i]) {
            fprintf(stderr,
                    "data differs at block %u byte %u (counter %u, last "
                    "acknowledged %u)\n",
                    i / RPMB_BLK_SIZE, i % RPMB_BLK_SIZE, c, last_ack);
            goto out_close;
        }
    }
    *in_flight = c == last_ack + 1;
    *counter = c;
    rc = 0;
out_close:
    rpmb_store_close(s);
    return rc;
}

/*
 * The checked state: @counter with image @img, and @acked, the highest
 * write acknowledged since (the counter after it).
 */
struct crash_state {
    uint8_t img[N_BLOCKS * RPMB_BLK_SIZE];
    uint32_t counter;
    uint32_t acked;
    unsigned long n_in_flight;
};

/* Check a writer's hello against the acknowledged writes. */
static int check_hello(struct crash_state *st, const uint8_t *hello)
{
    uint32_t c = load_be32(hello);
    uint8_t digest[32];
    uint32_t i;

    if (!hello[4]) {
        fprintf(stderr, "key lost\n");
        return -1;
    }
    if (c < st->counter || c < st->acked || c > st->acked + 1) {
        fprintf(stderr, "counter %u: previous %u, last acknowledged %u\n", c,
                st->counter, st->acked);
        return -1;
    }
    for (i = st->counter; i < c; i++) {
        apply_write(st->img, i);
    }
    if (crypto_sha256(st->img, sizeof(st->img), digest) != 0 ||
        memcmp(digest, hello + 5, sizeof(digest)) != 0) {
        fprintf(stderr,
                "data differs from the acknowledged writes (counter "
                "%u, last acknowledged %u)\n",
                c, st->acked);
        return -1;
    }
    st->n_in_flight += c == st->acked + 1;
    st->counter = c;
    st->acked = c;
    return 0;
}

static bool read_exact(int fd, uint8_t *p, size_t len)
{
    return read(fd, p, len) == (ssize_t)len;
}

int main(int argc, char **argv)
{
    static struct crash_state st;
    unsigned long n_iter = argc > 1 ? strtoul(argv[1], NULL, 0) : 200;
    unsigned long max_delay_us = argc > 2 ? strtoul(argv[2], NULL, 0) : 12000;
    char dir[256];
    char path[300];
    char cmd[300];
    unsigned long it;
    unsigned long n_no_ack = 0;
    bool in_flight = false;
    struct timespec t0;
    struct timespec t1;
    int rc = 1;

    if (argc > 3) {
        (void)snprintf(dir, sizeof(dir), "%s/rpmb-crash-XXXXXX", argv[3]);
    } else {
        (void)snprintf(dir, sizeof(dir), "/tmp/rpmb-crash-XXXXXX");
    }
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    (void)snprintf(path, sizeof(path), "%s/rpmb.db", dir);
    if (setup_store(path) != 0) {
        goto out_rm;
    }
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (it = 0; it < n_iter; it++) {
        int fds[2];
        pid_t pid;
        uint8_t hello[HELLO_SIZE];
        uint8_t ack[4];
        bool have_hello = false;
        bool got_ack = false;
        struct timespec d;
        unsigned long us =
            max_delay_us ? (unsigned long)rand() % max_delay_us : 0;
        int status;
        int mode;

        if (pipe(fds) != 0) {
            perror("pipe");
            goto out_rm;
        }
        pid = fork();
        if (pid < 0) {
            perror("fork");
            goto out_rm;
        }
        if (pid == 0) {
            close(fds[0]);
            writer(path, fds[1]);
        }
        close(fds[1]);
        /*
         * One kill in eight lands while the writer opens and recovers the
         * store; three in eight after it is ready (mostly in its first
         * write, which also restarts the WAL); half after its first
         * acknowledged write, among the following ones.
         */
        mode = rand() % 8;
        if (mode != 0) {
            if (!read_exact(fds[0], hello, sizeof(hello))) {
                fprintf(stderr, "iteration %lu: writer not ready\n", it);
                kill(pid, SIGKILL);
                goto out_rm;
            }
            have_hello = true;
            if (check_hello(&st, hello) != 0) {
                fprintf(stderr, "iteration %lu: FAILED\n", it);
                kill(pid, SIGKILL);
                goto out_rm;
            }
        } else {
            us %= 4000;
        }
        if (mode >= 4) {
            if (!read_exact(fds[0], ack, sizeof(ack)) ||
                load_be32(ack) != st.counter + 1) {
                fprintf(stderr, "iteration %lu: no first write\n", it);
                kill(pid, SIGKILL);
                goto out_rm;
            }
            st.acked = st.counter + 1;
            got_ack = true;
        }
        d.tv_sec = (time_t)(us / 1000000);
        d.tv_nsec = (long)(us % 1000000) * 1000;
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        if (waitpid(pid, &status, 0) != pid) {
            perror("waitpid");
            goto out_rm;
        }
        if (!WIFSIGNALED(status)) {
            fprintf(stderr, "iteration %lu: writer exited with %d\n", it,
                    WEXITSTATUS(status));
            goto out_rm;
        }
        /* pipe writes of a few bytes are atomic: whole messages only */
        if (!have_hello && read_exact(fds[0], hello, sizeof(hello))) {
            have_hello = true;
            if (check_hello(&st, hello) != 0) {
                fprintf(stderr, "iteration %lu: FAILED\n", it);
                goto out_rm;
            }
        }
        while (read_exact(fds[0], ack, sizeof(ack))) {
            got_ack = true;
            if (load_be32(ack) > st.acked) {
                st.acked = load_be32(ack);
            }
        }
        close(fds[0]);
        n_no_ack += !got_ack;
    }
    /* the state left by the last kill, through a full open and compare */
    if (verify(path, st.img, &st.counter, st.acked, &in_flight) != 0) {
        fprintf(stderr, "final check: FAILED\n");
        goto out_rm;
    }
    st.n_in_flight += in_flight;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("rpmb_crash: %lu kills, %u writes acknowledged or recovered, %lu "
           "kills found the in-flight write committed, %lu with no write "
           "acknowledged in that run; %.1f ms per iteration\n",
           n_iter, st.counter, st.n_in_flight, n_no_ack,
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
