/* SPDX-License-Identifier: MIT */
/*
 * The framed call client against the real frame server (tsm_frame_serve on
 * a TSM model) in a thread at the other end of a socketpair, a UNIX socket
 * and a pseudo-terminal (a character device, as a virtio-serial port is);
 * and against a server that answers wrongly: more output than the buffer,
 * a bad magic, an answer cut short.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"

#include "common/bytes.h"
#include "common/fdio.h"
#include "crypto/crypto.h"
#include "tsm/tsm.h"
#include "tsm/tsm_frame.h"
#include "tsmc/tsmc.h"

#define DEV 7u

enum server_mode {
    SERVE,        /* tsm_frame_serve until EOF or a malformed frame */
    ANSWER_LARGE, /* one answer with more output than out_cap */
    ANSWER_MAGIC, /* one answer with a bad magic */
    ANSWER_CUT,   /* half an answer, then close */
    ANSWER_SPLIT, /* a right answer, written a byte at a time */
    ACCEPT_SERVE, /* accept() on fd, then SERVE */
};

struct server {
    int fd;
    enum server_mode mode;
    int served; /* frames answered */
    pthread_t th;
};

static struct tsm tsm;
static uint8_t req[TSM_FRAME_REQ_MAX];
static uint8_t rsp[TSM_FRAME_RSP_MAX];
static uint8_t scratch[TSM_FRAME_OUT_MAX];
static struct tsmc cl;

static int rnd(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    return crypto_random(buf, len);
}

static const struct tsm_ops ops = {rnd};

/* One request frame from @fd into req; its length, or 0 (EOF, malformed). */
static size_t read_frame(int fd)
{
    size_t len;

    if (fd_read_exact(fd, req, TSM_FRAME_REQ_HDR_SIZE) != 0) {
        return 0;
    }
    len = tsm_frame_req_len(req);
    if (len == 0 || fd_read_exact(fd, req + TSM_FRAME_REQ_HDR_SIZE,
                                  len - TSM_FRAME_REQ_HDR_SIZE) != 0) {
        return 0;
    }
    return len;
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    uint8_t bad[TSM_FRAME_RSP_HDR_SIZE + 8];
    size_t len, rl, i;

    if (s->mode == ACCEPT_SERVE) {
        int c = accept(s->fd, NULL, NULL);
        close(s->fd);
        s->fd = c;
        s->mode = SERVE;
        if (c < 0) {
            return NULL;
        }
    }
    while ((len = read_frame(s->fd)) != 0) {
        switch (s->mode) {
        case SERVE:
            if (tsm_frame_serve(&tsm, 0, req, len, scratch, rsp, sizeof(rsp),
                                &rl) != TSM_FRAME_OK ||
                fd_write_all(s->fd, rsp, rl) != 0) {
                goto out;
            }
            break;
        case ANSWER_SPLIT:
            if (tsm_frame_serve(&tsm, 0, req, len, scratch, rsp, sizeof(rsp),
                                &rl) != TSM_FRAME_OK) {
                goto out;
            }
            for (i = 0; i < rl; i++) {
                if (fd_write_all(s->fd, rsp + i, 1) != 0) {
                    goto out;
                }
                if (i % 8 == 0) {
                    usleep(100);
                }
            }
            break;
        case ANSWER_LARGE:
            memset(scratch, 0xa5, 8);
            if (tsm_frame_rsp_encode((struct sbiret){0, 0}, scratch, 8, bad,
                                     sizeof(bad), &rl) != TSM_FRAME_OK ||
                fd_write_all(s->fd, bad, rl) != 0) {
                goto out;
            }
            break;
        case ANSWER_MAGIC:
            if (tsm_frame_rsp_encode((struct sbiret){0, 0}, NULL, 0, bad,
                                     sizeof(bad), &rl) != TSM_FRAME_OK) {
                goto out;
            }
            bad[0] ^= 1;
            (void)fd_write_all(s->fd, bad, rl);
            goto out;
        case ANSWER_CUT:
            if (tsm_frame_rsp_encode((struct sbiret){0, 0}, scratch, 8, bad,
                                     sizeof(bad), &rl) != TSM_FRAME_OK) {
                goto out;
            }
            (void)fd_write_all(s->fd, bad, rl / 2);
            goto out;
        case ACCEPT_SERVE:
        default:
            goto out;
        }
        s->served++;
    }
out:
    close(s->fd);
    s->fd = -1;
    return NULL;
}

static void server_start(struct server *s, int fd, enum server_mode mode)
{
    s->fd = fd;
    s->mode = mode;
    s->served = 0;
    assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void server_join(struct server *s)
{
    assert_int_equal(pthread_join(s->th, NULL), 0);
}

/* A client on one end of a socketpair, a server of @mode on the other. */
static void pair(struct server *s, enum server_mode mode)
{
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(tsmc_open_fd(&cl, sv[0]), 0);
    server_start(s, sv[1], mode);
}

static int setup(void **state)
{
    (void)state;
    tsm_init(&tsm, &ops, NULL);
    return 0;
}

/* connect_device's first relay buffer: a GET_VERSION for the device. */
static void check_connect(void)
{
    const uint64_t a[6] = {DEV};
    uint8_t out[TSM_RELAY_MAX];
    struct sbiret r;
    size_t n;

    assert_int_equal(tsmc_call(&cl, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, a,
                               NULL, 0, out, sizeof(out), &n, &r),
                     0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, TSM_SPDM_PENDING_REQUEST);
    assert_int_equal(n, TSM_RELAY_HDR_SIZE + 4);
    assert_int_equal(load_le32(out), TSM_COVH_CONNECT_DEVICE);
    assert_int_equal(load_le32(out + 4), DEV);
    assert_int_equal(load_le32(out + 8), 4);
    assert_int_equal(out[TSM_RELAY_HDR_SIZE + 1], SPDM_GET_VERSION);
}

static void calls_over_socketpair(void **state)
{
    const uint64_t a[6] = {DEV, 0, 0, 0, 0, 0};
    const uint8_t bad[TSM_FRAME_REQ_HDR_SIZE] = {'X', 'S', 'M', 'Q'};
    uint8_t out[64];
    struct server s;
    struct sbiret r;
    size_t n = 99;

    (void)state;
    pair(&s, SERVE);
    check_connect();
    /* the host endpoint refuses a TVM's call; an unknown EID is unknown */
    assert_int_equal(tsmc_call(&cl, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE,
                               a, NULL, 0, out, sizeof(out), &n, &r),
                     0);
    assert_int_equal(r.error, SBI_ERR_DENIED);
    assert_int_equal(n, 0);
    assert_int_equal(
        tsmc_call(&cl, TSM_EID_COVI, 1024, a, NULL, 0, NULL, 0, &n, &r), 0);
    assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
    /* the pending call asked again without an answer: the same buffer */
    check_connect();
    /* a call while the device exchange is pending */
    assert_int_equal(tsmc_call(&cl, TSM_EID_COVH, TSM_COVH_DISCONNECT_DEVICE, a,
                               NULL, 0, NULL, 0, &n, &r),
                     0);
    assert_int_equal(r.error, SBI_ERR_ALREADY_STARTED);
    /* caps are checked before anything is sent */
    assert_int_equal(tsmc_call(&cl, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, a,
                               req, TSM_FRAME_IN_MAX + 1, NULL, 0, &n, &r),
                     -1);
    assert_non_null(strstr(tsmc_error(&cl), "caps"));
    assert_int_equal(tsmc_call(&cl, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, a,
                               NULL, 0, out, TSM_FRAME_OUT_MAX + 1, &n, &r),
                     -1);
    /* a malformed frame: the server drops the connection, the call fails */
    assert_int_equal(fd_write_all(cl.fd, bad, sizeof(bad)), 0);
    server_join(&s);
    assert_int_equal(tsmc_call(&cl, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, a,
                               NULL, 0, out, sizeof(out), &n, &r),
                     -1);
    assert_true(tsmc_error(&cl)[0] != '\0');
    assert_int_equal(s.served, 5);
    tsmc_close(&cl);
    tsmc_close(&cl);
    assert_int_equal(tsmc_call(&cl, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, a,
                               NULL, 0, out, sizeof(out), &n, &r),
                     -1);
    assert_string_equal(tsmc_error(&cl), "not connected");
}

/* An answer that arrives in many small pieces is reassembled. */
static void split_answer(void **state)
{
    struct server s;

    (void)state;
    pair(&s, ANSWER_SPLIT);
    check_connect();
    tsmc_close(&cl);
    server_join(&s);
    assert_int_equal(s.served, 1);
}

static void bad_answers(void **state)
{
    const uint64_t a[6] = {DEV};
    uint8_t out[8];
    struct server s;
    struct sbiret r;
    size_t n;

    (void)state;
    /* 8 output bytes for a 4-byte buffer */
    pair(&s, ANSWER_LARGE);
    assert_int_equal(tsmc_call(&cl, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, a,
                               NULL, 0, out, 4, &n, &r),
                     -1);
    assert_non_null(strstr(tsmc_error(&cl), "8 output bytes for a 4-byte"));
    assert_int_equal(n, 0);
    tsmc_close(&cl);
    server_join(&s);

    pair(&s, ANSWER_MAGIC);
    assert_int_equal(tsmc_call(&cl, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, a,
                               NULL, 0, out, sizeof(out), &n, &r),
                     -1);
    assert_string_equal(tsmc_error(&cl),
                        "the answer is not a TSM response frame");
    tsmc_close(&cl);
    server_join(&s);

    pair(&s, ANSWER_CUT);
    assert_int_equal(tsmc_call(&cl, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, a,
                               NULL, 0, out, sizeof(out), &n, &r),
                     -1);
    assert_non_null(strstr(tsmc_error(&cl), "inside an answer"));
    tsmc_close(&cl);
    server_join(&s);
}

static void open_paths(void **state)
{
    struct sockaddr_un sa;
    char dir[] = "/tmp/tv-tsmc-XXXXXX";
    struct server s;
    int lfd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/tsm.sock", dir);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    server_start(&s, lfd, ACCEPT_SERVE);
    assert_int_equal(tsmc_open_path(&cl, sa.sun_path), 0);
    check_connect();
    tsmc_close(&cl);
    server_join(&s);
    assert_int_equal(s.served, 1);
    /* nobody listens any more */
    assert_int_equal(tsmc_open_socket(&cl, sa.sun_path), -1);
    assert_non_null(strstr(tsmc_error(&cl), "Connection refused"));
    unlink(sa.sun_path);
    assert_int_equal(tsmc_open_path(&cl, sa.sun_path), -1);
    assert_non_null(strstr(tsmc_error(&cl), "No such file"));
    assert_int_equal(tsmc_open_fd(&cl, -1), -1);
    rmdir(dir);
}

/* A character device: the client end of a raw pseudo-terminal. */
static void open_char_device(void **state)
{
    struct termios t;
    struct server s;
    const char *name;
    int m, slave;

    (void)state;
    m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 ||
        (name = ptsname(m)) == NULL) {
        skip();
    }
    /* raw on the terminal itself, so the client's open sees it raw */
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(slave >= 0);
    assert_int_equal(tcgetattr(slave, &t), 0);
    cfmakeraw(&t);
    assert_int_equal(tcsetattr(slave, TCSANOW, &t), 0);
    server_start(&s, m, SERVE);
    assert_int_equal(tsmc_open_path(&cl, name), 0);
    close(slave);
    check_connect();
    check_connect();
    tsmc_close(&cl);
    server_join(&s);
    assert_int_equal(s.served, 2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(calls_over_socketpair, setup),
    cmocka_unit_test_setup(split_answer, setup),
    cmocka_unit_test_setup(bad_answers, setup),
    cmocka_unit_test_setup(open_paths, setup),
    cmocka_unit_test_setup(open_char_device, setup),
};

static int group(void)
{
    return crypto_init();
}

int main(int argc, char **argv)
{
    if (group() != 0) {
        fprintf(stderr, "OpenSSL initialisation failed\n");
        return 1;
    }
    return harness_run("tsmc", tests, sizeof(tests) / sizeof(tests[0]), argc,
                       argv);
}
