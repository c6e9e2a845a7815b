/* SPDX-License-Identifier: MIT */
/*
 * bench_transport: cost of the device-side transport, in process, one core.
 *
 * An in-process front-end (socketpair + memfd guest memory + eventfds, the
 * QEMU message sequence) drives the real back-end library:
 *   ring_batched   64 two-buffer chains per kick through vring_pop/push
 *                  with a null device; limit 1,000,000 chains/s (the
 *                  transport must cost under 1 us per chain)
 *   ring_kicked    one chain per kick: eventfd write, epoll, pop, push,
 *                  call eventfd; limit 0.80 of the same five system calls
 *                  with no ring work at all (raw_notify, measured in the
 *                  same run), i.e. the ring adds under 25% to a round trip
 *   nsm_getrandom  GetRandom through the NSM glue (two chains, as Linux
 *                  queues them); limit 0.80 of the rate that nsm_handle()
 *                  alone plus one raw_notify round trip would allow
 *   copy_out       the copy-out of a finished DescribePCR response from the
 *                  glue's private buffer into the guest's response chain
 *                  (vhu_queue_write(), the cost of never building a response
 *                  in guest memory), per request; limit 2% of one
 *                  DescribePCR round trip through the NSM glue
 *                  (describe_pcr_rt, measured in the same run). The copy of
 *                  the largest response (12 KiB) is printed for information.
 * Each figure is printed as a ratio against its limit (>= 1.00 passes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "daemon/vhu_nsm.h"
#include "vhost/vhu.h"
#include "vhost/vhu_epoll.h"

#define MEM_SIZE  (4u * 1024 * 1024)
#define QNUM      256
#define GPA_DESC  0x100000u
#define GPA_AVAIL 0x110000u
#define GPA_USED  0x120000u
#define GPA_BUF   0x200000u

struct bench {
    int sock;
    struct vhu_dev dev;
    struct vhu_epoll ep;
    int mfd;
    uint8_t *mem;
    int kick, call;
    uint16_t avail_idx;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_transport: %s failed\n", what);
    exit(1);
}

static void send_msg(struct bench *b, uint32_t req, const void *p,
                     uint32_t size, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    uint8_t hdr[12];
    struct iovec iov[2] = {{hdr, 12}, {(void *)p, size}};
    struct msghdr mh;
    uint8_t reply[64];

    store_le32(hdr, req);
    store_le32(hdr + 4, VHOST_USER_VERSION);
    store_le32(hdr + 8, size);
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = iov;
    mh.msg_iovlen = size > 0 ? 2 : 1;
    if (fd >= 0) {
        struct cmsghdr *c;

        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof(ctl.buf);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    if (sendmsg(b->sock, &mh, 0) != (ssize_t)(12 + size) ||
        vhu_dispatch(&b->dev) != 0) {
        die("vhost-user message");
    }
    while (recv(b->sock, reply, sizeof(reply), MSG_DONTWAIT) > 0) {
    }
}

static void send_u64(struct bench *b, uint32_t req, uint64_t v, int fd)
{
    uint8_t p[8];

    store_le64(p, v);
    send_msg(b, req, p, 8, fd);
}

static void send_state(struct bench *b, uint32_t req, uint32_t i, uint32_t n)
{
    uint8_t p[8];

    store_le32(p, i);
    store_le32(p + 4, n);
    send_msg(b, req, p, 8, -1);
}

static void bench_setup(struct bench *b, const struct vhu_device_ops *ops,
                        void *opaque)
{
    struct vhu_config cfg;
    uint8_t p[40];
    int sv[2];

    memset(b, 0, sizeof(*b));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        vhu_epoll_init(&b->ep) < 0) {
        die("setup");
    }
    b->sock = sv[0];
    memset(&cfg, 0, sizeof(cfg));
    cfg.ops = ops;
    cfg.opaque = opaque;
    cfg.loop = &vhu_epoll_ops;
    cfg.loop_ctx = &b->ep;
    cfg.n_queues = 1;
    if (vhu_init(&b->dev, &cfg) < 0 || vhu_attach(&b->dev, sv[1]) < 0) {
        die("vhu_init");
    }
    b->mfd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (b->mfd < 0 || ftruncate(b->mfd, MEM_SIZE) < 0) {
        die("memfd");
    }
    b->mem =
        mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, b->mfd, 0);
    b->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    b->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->mem == MAP_FAILED || b->kick < 0 || b->call < 0) {
        die("mmap/eventfd");
    }
    send_u64(b, VHOST_USER_SET_PROTOCOL_FEATURES, VHU_BASE_PROTOCOL_FEATURES,
             -1);
    send_msg(b, VHOST_USER_SET_OWNER, NULL, 0, -1);
    send_u64(b, VHOST_USER_SET_FEATURES, VHU_BASE_FEATURES, -1);
    memset(p, 0, 8);
    store_le64(p + 8, 0);
    store_le64(p + 16, MEM_SIZE);
    store_le64(p + 24, (uint64_t)(uintptr_t)b->mem);
    store_le64(p + 32, 0);
    send_msg(b, VHOST_USER_ADD_MEM_REG, p, 40, b->mfd);
    send_state(b, VHOST_USER_SET_VRING_NUM, 0, QNUM);
    send_state(b, VHOST_USER_SET_VRING_BASE, 0, 0);
    memset(p, 0, sizeof(p));
    store_le64(p + 8, (uint64_t)(uintptr_t)(b->mem + GPA_DESC));
    store_le64(p + 16, (uint64_t)(uintptr_t)(b->mem + GPA_USED));
    store_le64(p + 24, (uint64_t)(uintptr_t)(b->mem + GPA_AVAIL));
    send_msg(b, VHOST_USER_SET_VRING_ADDR, p, 40, -1);
    send_u64(b, VHOST_USER_SET_VRING_KICK, 0, b->kick);
    send_u64(b, VHOST_USER_SET_VRING_CALL, 0, b->call);
    send_state(b, VHOST_USER_SET_VRING_ENABLE, 0, 1);
}

static void bench_teardown(struct bench *b)
{
    vhu_detach(&b->dev);
    vhu_epoll_fini(&b->ep);
    close(b->sock);
    munmap(b->mem, MEM_SIZE);
    close(b->mfd);
    close(b->kick);
    close(b->call);
}

static void put_desc(struct bench *b, unsigned i, uint64_t gpa, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t *d = b->mem + GPA_DESC + 16 * i;

    store_le64(d, gpa);
    store_le32(d + 8, len);
    store_le16(d + 12, flags);
    store_le16(d + 14, next);
}

static void publish(struct bench *b, uint16_t head)
{
    store_le16(b->mem + GPA_AVAIL + 4 + 2 * (b->avail_idx % QNUM), head);
    b->avail_idx++;
    __atomic_store_n((uint16_t *)(void *)(b->mem + GPA_AVAIL + 2), b->avail_idx,
                     __ATOMIC_RELEASE);
}

static void kick(struct bench *b)
{
    uint64_t one = 1;
    uint64_t v;

    if (write(b->kick, &one, 8) != 8 || vhu_epoll_run_once(&b->ep, 0) < 1) {
        die("kick");
    }
    (void)read(b->call, &v, 8);
}

static uint16_t used_idx(const struct bench *b)
{
    return __atomic_load_n(
        (const uint16_t *)(const void *)(b->mem + GPA_USED + 2),
        __ATOMIC_ACQUIRE);
}

/* The null device: complete every chain with length 0. */
static void null_process(struct vhu_dev *dev, unsigned q)
{
    static struct vring_elem e;

    while (vhu_queue_pop(dev, q, &e) == VRING_OK) {
        if (vhu_queue_push(dev, q, e.head, 0) != VRING_OK) {
            return;
        }
    }
}

static const struct vhu_device_ops null_ops = {.process = null_process};

/* Print one figure against its limit; returns 1 when below it. */
static int report(const char *name, double rate, const char *unit, double limit)
{
    printf("%-14s %10.0f %-10s limit %10.0f  ratio %.2f %s\n", name, rate, unit,
           limit, rate / limit, rate >= limit ? "ok" : "BELOW");
    return rate >= limit ? 0 : 1;
}

static double run_ring(bool batched, unsigned n_rounds)
{
    struct bench b;
    unsigned r, i;
    double t0, t1;
    unsigned per_kick = batched ? 64 : 1;

    bench_setup(&b, &null_ops, NULL);
    for (i = 0; i < QNUM; i += 2) {
        put_desc(&b, i, GPA_BUF + 4096ull * (i / 2), 64, VRING_DESC_F_NEXT,
                 (uint16_t)(i + 1));
        put_desc(&b, i + 1, GPA_BUF + 4096ull * (i / 2) + 2048, 512,
                 VRING_DESC_F_WRITE, 0);
    }
    t0 = now_s();
    for (r = 0; r < n_rounds; r++) {
        for (i = 0; i < per_kick; i++) {
            publish(&b, (uint16_t)((2 * i) % QNUM));
        }
        kick(&b);
    }
    t1 = now_s();
    if (used_idx(&b) != (uint16_t)(n_rounds * per_kick)) {
        die("ring accounting");
    }
    bench_teardown(&b);
    return (double)n_rounds * per_kick / (t1 - t0);
}

static uint64_t b_now(void *ctx)
{
    (void)ctx;
    return 1700000000000ull;
}

static int b_random(void *ctx, void *out, size_t len)
{
    (void)ctx;
    return crypto_random(out, len);
}

static int b_signer(void *ctx, uint64_t now, const struct nsm_signer **s)
{
    (void)ctx;
    (void)now;
    (void)s;
    return -1;
}

static const struct nsm_platform_ops b_platform = {b_now, b_random, b_signer};

static void nsm_boot_init(struct nsm *nsm)
{
    static struct nsm_boot boot;

    strcpy(boot.module_id, "i-0123456789abcdef0-enc0123456789abcdef");
    if (nsm_init(nsm, &boot, &b_platform, NULL) != NSM_OK) {
        die("nsm_init");
    }
}

/* The system calls of one kicked round trip, without the back-end. */
static double run_raw_notify(unsigned n)
{
    int k = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int c = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint64_t one = 1;
    uint64_t v;
    unsigned i;
    double t0, t1;
    struct epoll_event ev;
    int epfd = epoll_create1(EPOLL_CLOEXEC);

    ev.events = EPOLLIN;
    ev.data.fd = k;
    if (k < 0 || c < 0 || epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, k, &ev)) {
        die("raw notify setup");
    }
    t0 = now_s();
    for (i = 0; i < n; i++) {
        if (write(k, &one, 8) != 8 || epoll_wait(epfd, &ev, 1, 0) != 1 ||
            read(k, &v, 8) != 8 || write(c, &one, 8) != 8 ||
            read(c, &v, 8) != 8) {
            die("raw notify");
        }
    }
    t1 = now_s();
    close(epfd);
    close(k);
    close(c);
    return n / (t1 - t0);
}

static double run_model(unsigned n)
{
    static struct nsm nsm;
    static uint8_t resp[NSM_RESPONSE_MAX_SIZE];
    size_t len;
    unsigned i;
    double t0, t1;

    nsm_boot_init(&nsm);
    t0 = now_s();
    for (i = 0; i < n; i++) {
        if (nsm_handle(&nsm, (const uint8_t *)"\x69GetRandom", 10, resp,
                       sizeof(resp), &len) != NSM_OK) {
            die("nsm_handle");
        }
    }
    t1 = now_s();
    return n / (t1 - t0);
}

/* {"DescribePCR": {"index": 0}} */
static const uint8_t describe_pcr_req[] = "\xa1\x6b"
                                          "DescribePCR\xa1\x65"
                                          "index\x00";
#define DESCRIBE_PCR_REQ_LEN (sizeof(describe_pcr_req) - 1)

/* Round trips/s of @req through the NSM glue: kick, two chains, call. */
static double run_glue(const uint8_t *req, uint32_t req_len, unsigned n)
{
    static struct nsm nsm;
    static struct vhu_nsm vn;
    struct bench b;
    unsigned i;
    double t0, t1;

    nsm_boot_init(&nsm);
    vhu_nsm_init(&vn, &nsm);
    bench_setup(&b, &vhu_nsm_ops, &vn);
    memcpy(b.mem + GPA_BUF, req, req_len);
    put_desc(&b, 0, GPA_BUF, req_len, 0, 0);
    put_desc(&b, 1, GPA_BUF + 0x1000, 0x3000, VRING_DESC_F_WRITE, 0);
    t0 = now_s();
    for (i = 0; i < n; i++) {
        publish(&b, 0);
        publish(&b, 1);
        kick(&b);
    }
    t1 = now_s();
    if (used_idx(&b) != (uint16_t)(2 * n) || vn.n_requests != n) {
        die("NSM accounting");
    }
    bench_teardown(&b);
    return n / (t1 - t0);
}

/*
 * Seconds per vhu_queue_write() of @len bytes into a popped 0x3000-byte
 * response chain, as the NSM glue does once per request.
 */
static double run_copy_out(size_t len, unsigned n)
{
    static struct vring_elem e;
    static uint8_t resp[NSM_RESPONSE_MAX_SIZE];
    struct bench b;
    unsigned i;
    size_t done = 0;
    double t0, t1;

    bench_setup(&b, &null_ops, NULL);
    put_desc(&b, 0, GPA_BUF + 0x1000, 0x3000, VRING_DESC_F_WRITE, 0);
    publish(&b, 0);
    if (vhu_queue_pop(&b.dev, 0, &e) != VRING_OK) {
        die("pop for copy_out");
    }
    memset(resp, 0xa5, sizeof(resp));
    t0 = now_s();
    for (i = 0; i < n; i++) {
        resp[0] = (uint8_t)i; /* not the same bytes every time */
        done += vhu_queue_write(&b.dev, &e, resp, len);
    }
    t1 = now_s();
    if (done != (size_t)n * len || b.mem[GPA_BUF + 0x1000] != resp[0]) {
        die("copy_out accounting");
    }
    bench_teardown(&b);
    return (t1 - t0) / n;
}

/* Bytes of the DescribePCR response, from the model itself. */
static size_t describe_pcr_resp_len(void)
{
    static struct nsm nsm;
    static uint8_t resp[NSM_RESPONSE_MAX_SIZE];
    size_t len = 0;

    nsm_boot_init(&nsm);
    if (nsm_handle(&nsm, describe_pcr_req, DESCRIBE_PCR_REQ_LEN, resp,
                   sizeof(resp), &len) != NSM_OK) {
        die("DescribePCR");
    }
    return len;
}

int main(void)
{
    double rt_s, copy_s, copy_max_s;
    size_t dpcr_len;
    double raw;
    double model;
    double glue;
    int fails = 0;

    tv_log_level = TV_LOG_ERR;
    if (crypto_init() != 0) {
        die("crypto_init");
    }
    raw = run_raw_notify(100000);
    model = run_model(100000);
    printf("baselines: raw_notify %.0f round trips/s, nsm_handle GetRandom "
           "%.0f/s\n",
           raw, model);
    fails +=
        report("ring_batched", run_ring(true, 20000), "chains/s", 1000000.0);
    fails +=
        report("ring_kicked", run_ring(false, 100000), "trips/s", 0.80 * raw);
    glue = run_glue((const uint8_t *)"\x69GetRandom", 10, 100000);
    fails += report("nsm_getrandom", glue, "requests/s",
                    0.80 / (1.0 / model + 1.0 / raw));

    dpcr_len = describe_pcr_resp_len();
    rt_s = 1.0 / run_glue(describe_pcr_req, DESCRIBE_PCR_REQ_LEN, 100000);
    copy_s = run_copy_out(dpcr_len, 1000000);
    copy_max_s = run_copy_out(NSM_RESPONSE_MAX_SIZE, 200000);
    printf("describe_pcr_rt %8.0f ns per round trip through the NSM glue\n",
           rt_s * 1e9);
    printf("copy_out       %10.1f ns    limit %10.1f  ratio %.2f %s "
           "(%zu-byte DescribePCR response)\n",
           copy_s * 1e9, 0.02 * rt_s * 1e9, 0.02 * rt_s / copy_s,
           copy_s <= 0.02 * rt_s ? "ok" : "ABOVE", dpcr_len);
    printf("copy_out_max   %10.1f ns    (information: %u bytes, %.1f%% of "
           "the DescribePCR round trip)\n",
           copy_max_s * 1e9, (unsigned)NSM_RESPONSE_MAX_SIZE,
           100.0 * copy_max_s / rt_s);
    fails += copy_s <= 0.02 * rt_s ? 0 : 1;
    return fails == 0 ? 0 : 1;
}
