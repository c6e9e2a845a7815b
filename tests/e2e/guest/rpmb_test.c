/* SPDX-License-Identifier: MIT */
/*
 * rpmb-test: a user-space virtio-pci driver for the virtio RPMB device
 * (1af4:105c) and an RPMB test over it, run in the e2e guest
 * (virtio-spec virtio PCI transport; device-types/rpmb). Linux has no virtio
 * RPMB driver, so this program finds the device, unbinds virtio-pci, maps
 * its BARs, initialises it and drives the one request queue by polling,
 * with DMA memory in a 2 MiB huge page (physically contiguous; no IOMMU,
 * so physical address = DMA address).
 *
 * Static, without libcrypto: frames come from the project's
 * src/client/rpmb_frame.h, the client steps use src/client/rpmbc.c, and
 * guest_crypto.c supplies the HMAC-SHA256 and random functions of crypto.h.
 * The HMAC is checked against the shared vectors before any device traffic
 * (--vectors DIR in the guest, --hmac on the host).
 *
 * Usage:
 *   rpmb-test --phase fresh|persist --config CAP,WR,RD [--vectors DIR]
 *   rpmb-test --hmac KEYFILE MSGFILE     (host: print the HMAC-SHA256)
 *
 * "fresh" expects a device without a key: read-counter (NO_AUTH_KEY),
 * program-key, read-counter, 2-block writes and reads (one buffer, and one
 * descriptor per frame), the client library's 10-block write and read (split
 * by max_wr_cnt/max_rd_cnt) and tamper detection, then refusals (bad MAC,
 * stale counter, out of range, second key). "persist" runs against the same
 * store after a daemon restart and a reboot: key, counter and data must all
 * still be there. Output lines "E2E-STEP PASS|FAIL <name> ..." as in
 * nsm-test.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "client/rpmb_frame.h"
#include "client/rpmbc.h"
#include "common/ct.h"
#include "crypto/crypto.h"

static unsigned int n_passed;
static unsigned int n_failed;

static void step_pass(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void step_fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void step_pass(const char *name, const char *fmt, ...)
{
    va_list ap;

    n_passed++;
    printf("E2E-STEP PASS %s", name);
    if (fmt != NULL) {
        putchar(' ');
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
    }
    putchar('\n');
    fflush(stdout);
}

static void step_fail(const char *name, const char *fmt, ...)
{
    va_list ap;

    n_failed++;
    printf("E2E-STEP FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void print_hex(const char *label, const uint8_t *p, size_t len)
{
    size_t i;

    printf("  %s: ", label);
    for (i = 0; i < len; i++) {
        printf("%02x", p[i]);
    }
    putchar('\n');
}

/* ---- RPMB frames (virtio-spec rpmb) ------------------------------ */

/* the test key: OP-TEE's CFG_RPMB_TESTKEY (vector key K2) */
static const uint8_t test_key[32] = {
    0xd3, 0xeb, 0x3e, 0xc3, 0x6e, 0x33, 0x4c, 0x9f, 0x98, 0x8c, 0xe2,
    0xc0, 0xb8, 0x59, 0x54, 0x61, 0x0d, 0x2b, 0xcf, 0x86, 0x64, 0x84,
    0x4d, 0xf2, 0xab, 0x56, 0xe6, 0xc6, 0x1b, 0xb7, 0x01, 0xe4,
};

/* TV2's expected MAC (tv.txt) */
static const uint8_t tv2_mac[32] = {
    0xe7, 0x3b, 0x16, 0xcb, 0x64, 0x4c, 0x0e, 0x2d, 0x0d, 0x56, 0xef,
    0x77, 0x31, 0x01, 0x3a, 0x1c, 0xae, 0xef, 0x08, 0x78, 0x2b, 0x33,
    0xe7, 0x1b, 0x42, 0x4c, 0xab, 0xf5, 0x4e, 0xc3, 0x15, 0x8e,
};

struct frame_fields {
    const uint8_t *data;  /* 256 bytes or NULL for zeros */
    const uint8_t *nonce; /* 16 bytes or NULL for zeros */
    uint32_t counter;     /* write_counter */
    uint16_t address;     /* in 256-byte half sectors */
    uint16_t block_count; /* blocks of the whole request */
    uint16_t result;      /* responses only */
    uint16_t req_resp;    /* request or response type */
};

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* the project's frame builder (src/client/rpmb_frame.h) */
static void frame_build(uint8_t *f, const struct frame_fields *ff)
{
    struct rpmb_frame_fields rf;

    memset(&rf, 0, sizeof(rf));
    if (ff->nonce != NULL) {
        memcpy(rf.nonce, ff->nonce, sizeof(rf.nonce));
    }
    rf.write_counter = ff->counter;
    rf.address = ff->address;
    rf.block_count = ff->block_count;
    rf.result = ff->result;
    rf.req_resp = ff->req_resp;
    rpmb_frame_build(f, &rf, ff->data);
}

/* MAC over bytes 228..511 of @n_frames frames: the client library's */
static void frames_mac(const uint8_t *key, const uint8_t *frames,
                       size_t n_frames, uint8_t mac[32])
{
    if (rpmbc_mac(key, frames, n_frames, mac) != 0) {
        memset(mac, 0, 32);
    }
}

static bool mac_equal(const uint8_t *a, const uint8_t *b)
{
    return ct_eq(a, b, 32);
}

static int hmac_once(const uint8_t *key, size_t key_len, const uint8_t *msg,
                     size_t msg_len, uint8_t mac[32])
{
    struct crypto_hmac h;

    if (crypto_hmac_init(&h, key, key_len) != 0) {
        return -1;
    }
    if (crypto_hmac_update(&h, msg, msg_len) != 0) {
        crypto_hmac_abort(&h);
        return -1;
    }
    return crypto_hmac_final(&h, mac);
}

static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");

    if (f == NULL) {
        return -errno;
    }
    *len = fread(buf, 1, cap, f);
    fclose(f);
    return 0;
}

/*
 * Check the HMAC against TV2 in @dir: TV2.key/TV2.msg must give tv2_mac,
 * and TV2's frame rebuilt from its fields must give TV2.msg.
 */
static void test_vectors(const char *dir)
{
    char path[512];
    uint8_t key[64];
    uint8_t msg[1024];
    uint8_t data[256];
    uint8_t frame[RPMB_FRAME_LEN];
    uint8_t mac[32];
    size_t key_len;
    size_t msg_len;
    struct frame_fields ff;
    unsigned int i;

    snprintf(path, sizeof(path), "%s/TV2.key", dir);
    if (read_file(path, key, sizeof(key), &key_len) != 0 || key_len != 32) {
        step_fail("hmac_tv2", "cannot read %s", path);
        return;
    }
    snprintf(path, sizeof(path), "%s/TV2.msg", dir);
    if (read_file(path, msg, sizeof(msg), &msg_len) != 0 ||
        msg_len != RPMB_FRAME_MAC_INPUT_SIZE) {
        step_fail("hmac_tv2", "cannot read %s", path);
        return;
    }
    if (hmac_once(key, key_len, msg, msg_len, mac) != 0 ||
        !mac_equal(mac, tv2_mac)) {
        step_fail("hmac_tv2", "HMAC-SHA256 differs from the vector");
        print_hex("got", mac, 32);
        return;
    }
    /* TV2: DATA_WRITE request, data 00..ff, counter 0, address 2, count 1 */
    for (i = 0; i < 256; i++) {
        data[i] = (uint8_t)i;
    }
    memset(&ff, 0, sizeof(ff));
    ff.data = data;
    ff.address = 2;
    ff.block_count = 1;
    ff.req_resp = RPMB_FRAME_REQ_DATA_WRITE;
    frame_build(frame, &ff);
    if (memcmp(frame + RPMB_FRAME_OFF_DATA, msg, RPMB_FRAME_MAC_INPUT_SIZE) !=
            0 ||
        memcmp(key, test_key, 32) != 0) {
        step_fail("hmac_tv2", "frame layout differs from TV2.msg");
        return;
    }
    step_pass("hmac_tv2", "HMAC and frame layout match TV2");
}

/* ---- virtio-pci (virtio 1.x §4.1) and the split ring (§2.7) ------------ */

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_RPMB 0x105c /* 0x1040 + 28 */

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* common configuration layout */
#define CC_DFSELECT 0x00
#define CC_DF       0x04
#define CC_GFSELECT 0x08
#define CC_GF       0x0c
#define CC_MSIX     0x10
#define CC_NUMQ     0x12
#define CC_STATUS   0x14
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE   0x18
#define CC_Q_MSIX   0x1a
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOFF   0x1e
#define CC_Q_DESC   0x20
#define CC_Q_DRIVER 0x28
#define CC_Q_DEVICE 0x30

#define ST_ACKNOWLEDGE 1
#define ST_DRIVER      2
#define ST_DRIVER_OK   4
#define ST_FEATURES_OK 8
#define ST_FAILED      128

#define VRING_DESC_F_NEXT          1
#define VRING_DESC_F_WRITE         2
#define VRING_AVAIL_F_NO_INTERRUPT 1

#define QUEUE_SIZE    16
#define DMA_SIZE      (2u << 20)
#define DMA_OFF_DESC  0x0000
#define DMA_OFF_AVAIL 0x1000
#define DMA_OFF_USED  0x2000
#define DMA_OFF_BUF   0x4000  /* request frames, then response frames */
#define BUF_SIZE      0x40000 /* 512 frames each way */

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vring_used_elem {
    uint32_t id;
    uint32_t len;
};

struct vdev {
    char sysfs[300];          /* /sys/bus/pci/devices/<bdf> */
    volatile uint8_t *common; /* common configuration */
    volatile uint8_t *notify; /* this queue's notify register */
    volatile uint8_t *devcfg; /* device configuration */
    uint32_t devcfg_len;      /* its length */
    uint8_t *dma;             /* DMA memory (huge page) */
    uint64_t dma_phys;        /* its physical address */
    uint32_t notify_mult;     /* notify_off_multiplier */
    uint16_t q_size;          /* ring entries */
    uint16_t avail_idx;       /* next avail index we publish */
    uint16_t used_seen;       /* used index consumed so far */
    double last_us;           /* duration of the last request */
};

static struct vdev dev;

static void mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static uint8_t rd8(volatile uint8_t *base, unsigned int off)
{
    return *(volatile uint8_t *)(base + off);
}

static uint16_t rd16(volatile uint8_t *base, unsigned int off)
{
    return *(volatile uint16_t *)(void *)(base + off);
}

static uint32_t rd32(volatile uint8_t *base, unsigned int off)
{
    return *(volatile uint32_t *)(void *)(base + off);
}

static void wr8(volatile uint8_t *base, unsigned int off, uint8_t v)
{
    *(volatile uint8_t *)(base + off) = v;
}

static void wr16(volatile uint8_t *base, unsigned int off, uint16_t v)
{
    *(volatile uint16_t *)(void *)(base + off) = v;
}

static void wr32(volatile uint8_t *base, unsigned int off, uint32_t v)
{
    *(volatile uint32_t *)(void *)(base + off) = v;
}

/* 64-bit fields written as two 32-bit halves, low first (§4.1.3.1) */
static void wr64(volatile uint8_t *base, unsigned int off, uint64_t v)
{
    wr32(base, off, (uint32_t)v);
    wr32(base, off + 4, (uint32_t)(v >> 32));
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long sysfs_read_hex(const char *dir, const char *name)
{
    char path[400];
    char buf[32];
    FILE *f;
    long v = -1;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    if (fgets(buf, sizeof(buf), f) != NULL) {
        v = strtol(buf, NULL, 16);
    }
    fclose(f);
    return v;
}

static bool find_device(void)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    char dir[300];
    bool found = false;

    if (d == NULL) {
        return false;
    }
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", e->d_name);
        if (sysfs_read_hex(dir, "vendor") == VIRTIO_PCI_VENDOR &&
            sysfs_read_hex(dir, "device") == VIRTIO_PCI_DEVICE_RPMB) {
            memcpy(dev.sysfs, dir, sizeof(dev.sysfs));
            found = true;
        }
    }
    closedir(d);
    return found;
}

/* Detach virtio-pci: with IO_STRICT_DEVMEM its BARs cannot be mapped. */
static int unbind_driver(void)
{
    char path[400];
    const char *bdf = strrchr(dev.sysfs, '/') + 1;
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/driver/unbind", dev.sysfs);
    fd = open(path, O_WRONLY);
    if (fd < 0) {
        return errno == ENOENT ? 0 : -errno; /* no driver bound */
    }
    n = write(fd, bdf, strlen(bdf));
    close(fd);
    return n == (ssize_t)strlen(bdf) ? 0 : -EIO;
}

static volatile uint8_t *bar_map[6];

static volatile uint8_t *map_bar(unsigned int bar)
{
    char path[400];
    void *p;
    off_t size;
    int fd;

    if (bar > 5) {
        return NULL;
    }
    if (bar_map[bar] != NULL) {
        return bar_map[bar];
    }
    snprintf(path, sizeof(path), "%s/resource%u", dev.sysfs, bar);
    fd = open(path, O_RDWR | O_SYNC);
    if (fd < 0) {
        return NULL;
    }
    size = lseek(fd, 0, SEEK_END);
    p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        return NULL;
    }
    bar_map[bar] = p;
    return p;
}

/* Enable memory space and bus mastering, then find the virtio caps. */
static int setup_pci(char *why, size_t why_size)
{
    char path[400];
    uint8_t cfg[256];
    uint16_t cmd;
    uint32_t notify_mult = 0;
    unsigned int notify_bar = 6;
    uint32_t notify_off = 0;
    unsigned int pos;
    unsigned int n_caps = 0;
    int fd;

    snprintf(path, sizeof(path), "%s/config", dev.sysfs);
    fd = open(path, O_RDWR);
    if (fd < 0 || pread(fd, cfg, sizeof(cfg), 0) != (ssize_t)sizeof(cfg)) {
        snprintf(why, why_size, "read %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    cmd = (uint16_t)(cfg[4] | cfg[5] << 8);
    cmd |= 0x2 | 0x4; /* memory space, bus master */
    cfg[4] = (uint8_t)cmd;
    cfg[5] = (uint8_t)(cmd >> 8);
    if (pwrite(fd, cfg + 4, 2, 4) != 2) {
        snprintf(why, why_size, "write command register: %s", strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    if (!(cfg[6] & 0x10)) {
        snprintf(why, why_size, "no PCI capability list");
        return -1;
    }
    for (pos = cfg[0x34] & 0xfc;
         pos != 0 && pos + 16 <= sizeof(cfg) && n_caps < 48;
         pos = cfg[pos + 1] & 0xfc, n_caps++) {
        unsigned int type = cfg[pos + 3];
        unsigned int bar = cfg[pos + 4];
        uint32_t off = (uint32_t)cfg[pos + 8] | (uint32_t)cfg[pos + 9] << 8 |
                       (uint32_t)cfg[pos + 10] << 16 |
                       (uint32_t)cfg[pos + 11] << 24;
        uint32_t len = (uint32_t)cfg[pos + 12] | (uint32_t)cfg[pos + 13] << 8 |
                       (uint32_t)cfg[pos + 14] << 16 |
                       (uint32_t)cfg[pos + 15] << 24;
        volatile uint8_t *base;

        if (cfg[pos] != 0x09) {
            continue;
        }
        if (type != VIRTIO_PCI_CAP_COMMON_CFG &&
            type != VIRTIO_PCI_CAP_NOTIFY_CFG &&
            type != VIRTIO_PCI_CAP_DEVICE_CFG) {
            continue;
        }
        base = map_bar(bar);
        if (base == NULL) {
            snprintf(why, why_size, "cannot map BAR %u: %s", bar,
                     strerror(errno));
            return -1;
        }
        if (type == VIRTIO_PCI_CAP_COMMON_CFG && dev.common == NULL) {
            dev.common = base + off;
        } else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && notify_bar == 6 &&
                   pos + 20 <= sizeof(cfg)) {
            notify_bar = bar;
            notify_off = off;
            notify_mult =
                (uint32_t)cfg[pos + 16] | (uint32_t)cfg[pos + 17] << 8 |
                (uint32_t)cfg[pos + 18] << 16 | (uint32_t)cfg[pos + 19] << 24;
        } else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && dev.devcfg == NULL) {
            dev.devcfg = base + off;
            dev.devcfg_len = len;
        }
    }
    if (dev.common == NULL || notify_bar == 6) {
        snprintf(why, why_size, "virtio common/notify capability missing");
        return -1;
    }
    /* the queue's notify_off is read after selecting it (init_device) */
    dev.notify = map_bar(notify_bar) + notify_off;
    dev.notify_mult = notify_mult;
    return 0;
}

static int alloc_dma(char *why, size_t why_size)
{
    uint64_t entry;
    void *p;
    int fd;

    p = mmap(NULL, DMA_SIZE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_LOCKED |
                 MAP_POPULATE,
             -1, 0);
    if (p == MAP_FAILED) {
        snprintf(why, why_size, "huge page: %s (vm.nr_hugepages?)",
                 strerror(errno));
        return -1;
    }
    memset(p, 0, DMA_SIZE);
    fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0 ||
        pread(fd, &entry, sizeof(entry), (off_t)((uintptr_t)p / 4096 * 8)) !=
            (ssize_t)sizeof(entry)) {
        snprintf(why, why_size, "pagemap: %s", strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    if (!(entry >> 63) || (entry & ((1ull << 55) - 1)) == 0) {
        snprintf(why, why_size, "pagemap: page not present or PFN hidden");
        return -1;
    }
    dev.dma = p;
    dev.dma_phys = (entry & ((1ull << 55) - 1)) * 4096;
    return 0;
}

/*
 * Reset, negotiate VERSION_1 only, set up queue 0 and go live
 * (virtio 1.x §3.1.1). The 3 config bytes are read between FEATURES_OK
 * and DRIVER_OK as the spec allows.
 */
static int init_device(uint8_t config[3], char *why, size_t why_size)
{
    uint32_t feat_hi;
    uint16_t qmax;
    uint16_t noff;
    unsigned int i;
    double t0;

    wr8(dev.common, CC_STATUS, 0);
    t0 = now_us();
    while (rd8(dev.common, CC_STATUS) != 0) {
        if (now_us() - t0 > 5e6) {
            snprintf(why, why_size, "device reset did not complete");
            return -1;
        }
    }
    wr8(dev.common, CC_STATUS, ST_ACKNOWLEDGE);
    wr8(dev.common, CC_STATUS, ST_ACKNOWLEDGE | ST_DRIVER);
    wr32(dev.common, CC_DFSELECT, 1);
    feat_hi = rd32(dev.common, CC_DF);
    wr32(dev.common, CC_DFSELECT, 0);
    printf("  device features: 0x%08x%08x\n", feat_hi, rd32(dev.common, CC_DF));
    if (!(feat_hi & 1)) {
        snprintf(why, why_size, "device does not offer VERSION_1");
        return -1;
    }
    wr32(dev.common, CC_GFSELECT, 0);
    wr32(dev.common, CC_GF, 0);
    wr32(dev.common, CC_GFSELECT, 1);
    wr32(dev.common, CC_GF, 1); /* VERSION_1 */
    wr8(dev.common, CC_STATUS, ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK);
    if (!(rd8(dev.common, CC_STATUS) & ST_FEATURES_OK)) {
        snprintf(why, why_size, "device refused FEATURES_OK");
        return -1;
    }
    if (dev.devcfg == NULL || dev.devcfg_len < 3) {
        snprintf(why, why_size, "no 3-byte device config");
        return -1;
    }
    for (i = 0; i < 3; i++) {
        config[i] = rd8(dev.devcfg, i);
    }
    wr16(dev.common, CC_MSIX, 0xffff);
    if (rd16(dev.common, CC_NUMQ) < 1) {
        snprintf(why, why_size, "device has no queue");
        return -1;
    }
    wr16(dev.common, CC_Q_SELECT, 0);
    qmax = rd16(dev.common, CC_Q_SIZE);
    if (qmax == 0) {
        snprintf(why, why_size, "queue 0 unavailable");
        return -1;
    }
    dev.q_size = qmax < QUEUE_SIZE ? qmax : QUEUE_SIZE;
    wr16(dev.common, CC_Q_SIZE, dev.q_size);
    wr16(dev.common, CC_Q_MSIX, 0xffff);
    wr64(dev.common, CC_Q_DESC, dev.dma_phys + DMA_OFF_DESC);
    wr64(dev.common, CC_Q_DRIVER, dev.dma_phys + DMA_OFF_AVAIL);
    wr64(dev.common, CC_Q_DEVICE, dev.dma_phys + DMA_OFF_USED);
    noff = rd16(dev.common, CC_Q_NOFF);
    dev.notify += (size_t)noff * dev.notify_mult;
    /* no interrupts: we poll the used ring */
    *(volatile uint16_t *)(void *)(dev.dma + DMA_OFF_AVAIL) =
        VRING_AVAIL_F_NO_INTERRUPT;
    wr16(dev.common, CC_Q_ENABLE, 1);
    wr8(dev.common, CC_STATUS,
        ST_ACKNOWLEDGE | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    if (rd8(dev.common, CC_STATUS) & ST_FAILED) {
        snprintf(why, why_size, "device status FAILED after DRIVER_OK");
        return -1;
    }
    return 0;
}

/*
 * One request: @req_len bytes of request frames split into readable
 * descriptors of @req_split bytes, and @resp_cap bytes of writable space
 * split into descriptors of @resp_split bytes. Returns the used length
 * (bytes written) or -1 on timeout / ring error.
 */
static long vq_call(const uint8_t *req, size_t req_len, size_t req_split,
                    uint8_t *resp, size_t resp_cap, size_t resp_split)
{
    volatile struct vring_desc *desc =
        (volatile struct vring_desc *)(void *)(dev.dma + DMA_OFF_DESC);
    volatile uint16_t *avail =
        (volatile uint16_t *)(void *)(dev.dma + DMA_OFF_AVAIL);
    volatile uint16_t *used_idx =
        (volatile uint16_t *)(void *)(dev.dma + DMA_OFF_USED + 2);
    volatile struct vring_used_elem *used =
        (volatile struct vring_used_elem *)(void *)(dev.dma + DMA_OFF_USED + 4);
    uint8_t *rbuf = dev.dma + DMA_OFF_BUF;
    uint8_t *wbuf = dev.dma + DMA_OFF_BUF + BUF_SIZE;
    uint64_t rphys = dev.dma_phys + DMA_OFF_BUF;
    uint64_t wphys = rphys + BUF_SIZE;
    unsigned int n = 0;
    size_t off;
    size_t chunk;
    uint32_t id;
    uint32_t len;
    double t0;

    if (req_len > BUF_SIZE || resp_cap > BUF_SIZE) {
        return -1;
    }
    memcpy(rbuf, req, req_len);
    memset(wbuf, 0xee, resp_cap); /* so stale bytes cannot pass as data */
    for (off = 0; off < req_len; off += chunk) {
        chunk = req_len - off < req_split ? req_len - off : req_split;
        desc[n].addr = rphys + off;
        desc[n].len = (uint32_t)chunk;
        desc[n].flags = VRING_DESC_F_NEXT;
        desc[n].next = (uint16_t)(n + 1);
        n++;
    }
    for (off = 0; off < resp_cap; off += chunk) {
        chunk = resp_cap - off < resp_split ? resp_cap - off : resp_split;
        desc[n].addr = wphys + off;
        desc[n].len = (uint32_t)chunk;
        desc[n].flags = VRING_DESC_F_NEXT | VRING_DESC_F_WRITE;
        desc[n].next = (uint16_t)(n + 1);
        n++;
    }
    if (n == 0 || n > dev.q_size) {
        return -1;
    }
    desc[n - 1].flags &= (uint16_t)~VRING_DESC_F_NEXT;
    desc[n - 1].next = 0;
    avail[2 + dev.avail_idx % dev.q_size] = 0; /* head: descriptor 0 */
    mb(); /* descriptors and ring slot visible before the index */
    dev.avail_idx++;
    avail[1] = dev.avail_idx;
    mb(); /* index visible before the notification */
    t0 = now_us();
    wr16(dev.notify, 0, 0);
    while (*used_idx == dev.used_seen) {
        if (now_us() - t0 > 60e6) {
            return -1;
        }
    }
    mb(); /* the used element is read after the index that published it */
    dev.last_us = now_us() - t0;
    id = used[dev.used_seen % dev.q_size].id;
    len = used[dev.used_seen % dev.q_size].len;
    dev.used_seen++;
    if (id != 0 || len > resp_cap) {
        printf("  used element id %u len %u (cap %zu)\n", id, len, resp_cap);
        return -1;
    }
    memcpy(resp, wbuf, len);
    return (long)len;
}

/* ---- RPMB operations ---------------------------------------------------- */

static uint8_t req_frames[66 * RPMB_FRAME_LEN];
static uint8_t resp_frames[64 * RPMB_FRAME_LEN];

/*
 * Check the common part of a response frame group: @n_frames frames,
 * req_resp @type, result @result in the last, MAC over all in the last.
 */
static bool check_resp(const char *name, long got, unsigned int n_frames,
                       uint16_t type, uint16_t result, bool want_mac)
{
    const uint8_t *last;
    uint8_t mac[32];
    unsigned int i;

    if (got != (long)(n_frames * RPMB_FRAME_LEN)) {
        step_fail(name, "device wrote %ld bytes, want %u", got,
                  n_frames * RPMB_FRAME_LEN);
        return false;
    }
    for (i = 0; i < n_frames; i++) {
        const uint8_t *f = resp_frames + i * RPMB_FRAME_LEN;

        if (rpmb_frame_ld16(f + RPMB_FRAME_OFF_REQ_RESP) != type) {
            step_fail(name, "frame %u req_resp 0x%04x, want 0x%04x", i,
                      rpmb_frame_ld16(f + RPMB_FRAME_OFF_REQ_RESP), type);
            return false;
        }
    }
    last = resp_frames + (n_frames - 1) * RPMB_FRAME_LEN;
    if (rpmb_frame_ld16(last + RPMB_FRAME_OFF_RESULT) != result) {
        step_fail(name, "result 0x%04x, want 0x%04x",
                  rpmb_frame_ld16(last + RPMB_FRAME_OFF_RESULT), result);
        return false;
    }
    if (want_mac) {
        frames_mac(test_key, resp_frames, n_frames, mac);
        if (!mac_equal(mac, last + RPMB_FRAME_OFF_KEY_MAC)) {
            step_fail(name, "response MAC does not verify");
            print_hex("got ", last + RPMB_FRAME_OFF_KEY_MAC, 32);
            print_hex("want", mac, 32);
            return false;
        }
    }
    return true;
}

static long op_program_key(const uint8_t *key)
{
    struct frame_fields ff;

    memset(&ff, 0, sizeof(ff));
    ff.block_count = 1;
    ff.req_resp = RPMB_FRAME_REQ_PROGRAM_KEY;
    frame_build(req_frames, &ff);
    memcpy(req_frames + RPMB_FRAME_OFF_KEY_MAC, key, 32);
    ff.req_resp = RPMB_FRAME_REQ_RESULT_READ;
    frame_build(req_frames + RPMB_FRAME_LEN, &ff);
    return vq_call(req_frames, 2 * RPMB_FRAME_LEN, 2 * RPMB_FRAME_LEN,
                   resp_frames, RPMB_FRAME_LEN, RPMB_FRAME_LEN);
}

/*
 * GET_WRITE_COUNTER with a fresh nonce; checks nonce echo, type, result
 * and MAC. Return: true with *counter set.
 */
static bool op_read_counter(const char *name, uint16_t want_result,
                            uint32_t *counter)
{
    uint8_t nonce[16];
    struct frame_fields ff;
    long got;

    if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
        step_fail(name, "getrandom: %s", strerror(errno));
        return false;
    }
    memset(&ff, 0, sizeof(ff));
    ff.nonce = nonce;
    ff.block_count = 1;
    ff.req_resp = RPMB_FRAME_REQ_GET_WRITE_COUNTER;
    frame_build(req_frames, &ff);
    got = vq_call(req_frames, RPMB_FRAME_LEN, RPMB_FRAME_LEN, resp_frames,
                  RPMB_FRAME_LEN, RPMB_FRAME_LEN);
    if (!check_resp(name, got, 1, RPMB_FRAME_RESP_GET_WRITE_COUNTER,
                    want_result, want_result == RPMB_FRAME_RES_OK)) {
        return false;
    }
    if (want_result == RPMB_FRAME_RES_OK &&
        memcmp(resp_frames + RPMB_FRAME_OFF_NONCE, nonce, sizeof(nonce)) != 0) {
        step_fail(name, "nonce not echoed");
        return false;
    }
    *counter = ld32(resp_frames + RPMB_FRAME_OFF_COUNTER);
    return true;
}

/*
 * DATA_WRITE of @n_blocks blocks at @address with counter @counter, MAC
 * in the last frame (corrupted when @bad_mac), + RESULT_READ; request
 * frames go one per descriptor when @split. Return: used length.
 */
static long op_write(uint16_t address, const uint8_t *data,
                     unsigned int n_blocks, uint32_t counter, bool bad_mac,
                     bool split)
{
    struct frame_fields ff;
    uint8_t mac[32];
    unsigned int i;

    memset(&ff, 0, sizeof(ff));
    ff.counter = counter;
    ff.address = address;
    ff.block_count = (uint16_t)n_blocks;
    ff.req_resp = RPMB_FRAME_REQ_DATA_WRITE;
    for (i = 0; i < n_blocks; i++) {
        ff.data = data + (size_t)i * 256;
        frame_build(req_frames + (size_t)i * RPMB_FRAME_LEN, &ff);
    }
    frames_mac(test_key, req_frames, n_blocks, mac);
    if (bad_mac) {
        mac[5] ^= 0x10;
    }
    memcpy(req_frames + (size_t)(n_blocks - 1) * RPMB_FRAME_LEN +
               RPMB_FRAME_OFF_KEY_MAC,
           mac, 32);
    memset(&ff, 0, sizeof(ff));
    ff.block_count = 1;
    ff.req_resp = RPMB_FRAME_REQ_RESULT_READ;
    frame_build(req_frames + (size_t)n_blocks * RPMB_FRAME_LEN, &ff);
    return vq_call(req_frames, (size_t)(n_blocks + 1) * RPMB_FRAME_LEN,
                   split ? RPMB_FRAME_LEN
                         : (size_t)(n_blocks + 1) * RPMB_FRAME_LEN,
                   resp_frames, RPMB_FRAME_LEN, RPMB_FRAME_LEN);
}

/* DATA_READ request; response frames one per descriptor when @split. */
static long op_read(uint16_t address, unsigned int n_blocks,
                    const uint8_t *nonce, bool split)
{
    struct frame_fields ff;

    memset(&ff, 0, sizeof(ff));
    ff.nonce = nonce;
    ff.address = address;
    ff.block_count = (uint16_t)n_blocks;
    ff.req_resp = RPMB_FRAME_REQ_DATA_READ;
    frame_build(req_frames, &ff);
    return vq_call(req_frames, RPMB_FRAME_LEN, RPMB_FRAME_LEN, resp_frames,
                   (size_t)n_blocks * RPMB_FRAME_LEN,
                   split ? RPMB_FRAME_LEN : (size_t)n_blocks * RPMB_FRAME_LEN);
}

/* ---- the test ------------------------------------------------------------ */

#define TEST_ADDR   6 /* first of the two blocks written */
#define TEST_BLOCKS 2

static void test_data(uint8_t *data, unsigned int gen)
{
    unsigned int i;

    for (i = 0; i < TEST_BLOCKS * 256; i++) {
        data[i] = (uint8_t)(i * 7 + gen * 31 + (i >> 8));
    }
}

static void check_read(const char *name, const uint8_t *want, bool split)
{
    uint8_t nonce[16];
    unsigned int i;
    long got;

    if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
        step_fail(name, "getrandom failed");
        return;
    }
    got = op_read(TEST_ADDR, TEST_BLOCKS, nonce, split);
    if (!check_resp(name, got, TEST_BLOCKS, RPMB_FRAME_RESP_DATA_READ,
                    RPMB_FRAME_RES_OK, true)) {
        return;
    }
    for (i = 0; i < TEST_BLOCKS; i++) {
        const uint8_t *f = resp_frames + i * RPMB_FRAME_LEN;

        if (memcmp(f + RPMB_FRAME_OFF_NONCE, nonce, 16) != 0 ||
            rpmb_frame_ld16(f + RPMB_FRAME_OFF_ADDRESS) != TEST_ADDR ||
            rpmb_frame_ld16(f + RPMB_FRAME_OFF_BLOCK_COUNT) != TEST_BLOCKS) {
            step_fail(name, "frame %u: nonce/address/block_count wrong", i);
            return;
        }
        if (memcmp(f + RPMB_FRAME_OFF_DATA, want + (size_t)i * 256, 256) != 0) {
            step_fail(name, "frame %u: data differs from what was written", i);
            return;
        }
    }
    step_pass(name, "%u blocks, data+nonce+MAC ok (%.0f us)", TEST_BLOCKS,
              dev.last_us);
}

/*
 * A written 2-block write followed by a counter check; @gen varies data.
 * Return: true if the write went through (counter now @counter + 1).
 */
static bool write_and_check(const char *name, uint32_t counter,
                            unsigned int gen, bool split, uint8_t *data)
{
    long got;

    test_data(data, gen);
    got = op_write(TEST_ADDR, data, TEST_BLOCKS, counter, false, split);
    if (!check_resp(name, got, 1, RPMB_FRAME_RESP_DATA_WRITE, RPMB_FRAME_RES_OK,
                    true)) {
        return false;
    }
    if (ld32(resp_frames + RPMB_FRAME_OFF_COUNTER) != counter + 1 ||
        rpmb_frame_ld16(resp_frames + RPMB_FRAME_OFF_ADDRESS) != TEST_ADDR) {
        step_fail(name, "response counter %u address %u, want %u and %u",
                  ld32(resp_frames + RPMB_FRAME_OFF_COUNTER),
                  rpmb_frame_ld16(resp_frames + RPMB_FRAME_OFF_ADDRESS),
                  counter + 1, TEST_ADDR);
        return false;
    }
    step_pass(name, "%u blocks%s, counter %u -> %u, MAC ok (%.0f us)",
              TEST_BLOCKS, split ? " (one descriptor per frame)" : "", counter,
              counter + 1, dev.last_us);
    return true;
}

static void refusals(uint32_t counter, unsigned int capacity)
{
    static uint8_t data[TEST_BLOCKS * 256];
    uint32_t after;
    long got;

    test_data(data, 99);
    got = op_write(TEST_ADDR, data, TEST_BLOCKS, counter, true, false);
    if (check_resp("write_bad_mac", got, 1, RPMB_FRAME_RESP_DATA_WRITE,
                   RPMB_FRAME_RES_AUTH_FAILURE, false)) {
        step_pass("write_bad_mac", "AUTH_FAILURE");
    }
    got = op_write(TEST_ADDR, data, TEST_BLOCKS, counter - 1, false, false);
    if (check_resp("write_stale_counter", got, 1, RPMB_FRAME_RESP_DATA_WRITE,
                   RPMB_FRAME_RES_COUNT_FAILURE, false)) {
        step_pass("write_stale_counter", "COUNT_FAILURE");
    }
    got = op_write((uint16_t)(capacity * 512 - 1), data, TEST_BLOCKS, counter,
                   false, false);
    if (check_resp("write_out_of_range", got, 1, RPMB_FRAME_RESP_DATA_WRITE,
                   RPMB_FRAME_RES_ADDR_FAILURE, false)) {
        step_pass("write_out_of_range", "ADDR_FAILURE");
    }
    got = op_program_key(test_key);
    if (got == RPMB_FRAME_LEN &&
        rpmb_frame_ld16(resp_frames + RPMB_FRAME_OFF_REQ_RESP) ==
            RPMB_FRAME_RESP_PROGRAM_KEY &&
        rpmb_frame_ld16(resp_frames + RPMB_FRAME_OFF_RESULT) !=
            RPMB_FRAME_RES_OK) {
        step_pass("second_program_key", "refused with 0x%04x",
                  rpmb_frame_ld16(resp_frames + RPMB_FRAME_OFF_RESULT));
    } else {
        step_fail("second_program_key",
                  "not refused (%ld bytes, result "
                  "0x%04x)",
                  got, rpmb_frame_ld16(resp_frames + RPMB_FRAME_OFF_RESULT));
    }
    if (op_read_counter("counter_unchanged", RPMB_FRAME_RES_OK, &after)) {
        if (after == counter) {
            step_pass("counter_unchanged", "still %u after the refusals",
                      after);
        } else {
            step_fail("counter_unchanged", "%u, want %u", after, counter);
        }
    }
}

/* ---- the project's RPMB client (src/client/rpmbc.c) over this driver --- */

#define CLIENT_ADDR   16 /* first block the client writes */
#define CLIENT_BLOCKS 10 /* more than max_wr_cnt/max_rd_cnt: split requests */

static struct rpmbc client;

static int guest_call(void *ctx, const uint8_t *req, size_t req_len,
                      uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    long got;

    (void)ctx;
    got = vq_call(req, req_len, req_len, resp, resp_cap, resp_cap);
    if (got < 0) {
        return -EIO;
    }
    *resp_len = (size_t)got;
    return 0;
}

/* each byte read is a GET_CONFIG round trip to the daemon (no cache) */
static int guest_get_config(void *ctx, uint8_t config[3])
{
    unsigned int i;

    (void)ctx;
    for (i = 0; i < 3; i++) {
        config[i] = rd8(dev.devcfg, i);
    }
    return 0;
}

static const struct rpmbc_transport_ops guest_transport_ops = {
    .call = guest_call,
    .get_config = guest_get_config,
};

static void client_data(uint8_t *data, unsigned int gen)
{
    unsigned int i;

    for (i = 0; i < CLIENT_BLOCKS * 256; i++) {
        data[i] = (uint8_t)(i * 13 + gen * 101 + (i >> 8) * 3);
    }
}

/* requests the client needs for CLIENT_BLOCKS blocks at @max_cnt each */
static unsigned int client_n_requests(unsigned int max_cnt)
{
    unsigned int per =
        max_cnt == 0 || max_cnt > RPMBC_MAX_BATCH ? RPMBC_MAX_BATCH : max_cnt;

    return (CLIENT_BLOCKS + per - 1) / per;
}

static void client_read_check(const char *name, unsigned int gen)
{
    static uint8_t want[CLIENT_BLOCKS * 256];
    static uint8_t got[CLIENT_BLOCKS * 256];
    enum rpmbc_status st;

    client_data(want, gen);
    st = rpmbc_read_blocks(&client, test_key, CLIENT_ADDR, got, CLIENT_BLOCKS);
    if (st != RPMBC_OK) {
        step_fail(name, "rpmbc_read_blocks: %s (result 0x%04x)",
                  rpmbc_strerror(st), client.last_result);
    } else if (memcmp(got, want, sizeof(want)) != 0) {
        step_fail(name, "data differs from what was written");
    } else {
        step_pass(name, "%u blocks in %u requests, all checks ok",
                  CLIENT_BLOCKS, client_n_requests(client.config.max_rd_cnt));
    }
}

/*
 * The client library end to end: config, counter, a write and a read that
 * both need several requests, and tamper detection. @counter is the device
 * counter before; returns the counter after.
 */
static uint32_t client_steps(const uint8_t config[3], uint32_t counter)
{
    static uint8_t data[CLIENT_BLOCKS * 256];
    static uint8_t out[CLIENT_BLOCKS * 256];
    struct rpmbc_transport tr = {&guest_transport_ops, NULL};
    struct rpmbc_tamper tamper;
    struct rpmbc_transport ttr;
    struct rpmbc_config cfg;
    enum rpmbc_status st;
    unsigned int n_req = client_n_requests(config[1]);
    uint32_t c = 0;

    rpmbc_init(&client, &tr);
    st = rpmbc_get_config(&client, &cfg);
    if (st != RPMBC_OK || cfg.capacity_units != config[0] ||
        cfg.max_wr_cnt != config[1] || cfg.max_rd_cnt != config[2]) {
        step_fail("client_config", "rpmbc_get_config: %s", rpmbc_strerror(st));
        return counter;
    }
    step_pass("client_config", "%u blocks", rpmbc_capacity_blocks(&client));
    st = rpmbc_read_counter(&client, test_key, &c);
    if (st != RPMBC_OK || c != counter) {
        step_fail("client_read_counter", "%s, counter %u want %u",
                  rpmbc_strerror(st), c, counter);
        return counter;
    }
    step_pass("client_read_counter", "counter %u", c);
    client_data(data, 1);
    st =
        rpmbc_write_blocks(&client, test_key, CLIENT_ADDR, data, CLIENT_BLOCKS);
    if (st != RPMBC_OK || client.last_counter != counter + n_req) {
        step_fail("client_write_10_blocks",
                  "%s (result 0x%04x), counter "
                  "%u want %u",
                  rpmbc_strerror(st), client.last_result, client.last_counter,
                  counter + n_req);
        return client.last_counter;
    }
    step_pass("client_write_10_blocks", "%u requests, counter %u -> %u", n_req,
              counter, client.last_counter);
    counter = client.last_counter;
    client_read_check("client_read_10_blocks", 1);

    /* a flipped data bit in a read response must be caught by the MAC */
    memset(&tamper, 0, sizeof(tamper));
    tamper.inner = tr;
    tamper.offset = RPMB_FRAME_OFF_DATA + 17;
    tamper.xor_mask = 0x04;
    ttr = rpmbc_tamper_transport(&tamper);
    rpmbc_init(&client, &ttr);
    st = rpmbc_read_blocks(&client, test_key, CLIENT_ADDR, out, 2);
    if (st == RPMBC_ERR_MAC) {
        step_pass("client_detects_tamper", "flipped bit -> %s",
                  rpmbc_strerror(st));
    } else {
        step_fail("client_detects_tamper", "got %s, want a MAC mismatch",
                  rpmbc_strerror(st));
    }
    rpmbc_init(&client, &tr);
    return counter;
}

/* ---- the phases ---------------------------------------------------------- */

static void phase_fresh(const uint8_t config[3])
{
    static uint8_t data[TEST_BLOCKS * 256];
    uint32_t counter = 0;
    long got;

    if (op_read_counter("counter_without_key", RPMB_FRAME_RES_NO_AUTH_KEY,
                        &counter)) {
        step_pass("counter_without_key", "NO_AUTH_KEY");
    }
    got = op_program_key(test_key);
    if (check_resp("program_key", got, 1, RPMB_FRAME_RESP_PROGRAM_KEY,
                   RPMB_FRAME_RES_OK, false)) {
        step_pass("program_key", "(%.0f us)", dev.last_us);
    }
    if (!op_read_counter("read_counter", RPMB_FRAME_RES_OK, &counter)) {
        return;
    }
    if (counter != 0) {
        step_fail("read_counter", "fresh device counter %u", counter);
        return;
    }
    step_pass("read_counter", "counter 0, nonce+MAC ok");
    if (write_and_check("write_2_blocks", counter, 1, false, data)) {
        counter++;
    }
    check_read("read_2_blocks", data, false);
    if (write_and_check("write_2_blocks_split", counter, 2, true, data)) {
        counter++;
    }
    check_read("read_2_blocks_split", data, true);
    counter = client_steps(config, counter);
    refusals(counter, config[0]);
}

/* after a daemon restart and a reboot: key, counter, data all kept */
static void phase_persist(const uint8_t config[3])
{
    static uint8_t data[TEST_BLOCKS * 256];
    struct rpmbc_transport tr = {&guest_transport_ops, NULL};
    uint32_t want = 2 + client_n_requests(config[1]);
    uint32_t counter = 0;
    long got;

    if (!op_read_counter("persist_counter", RPMB_FRAME_RES_OK, &counter)) {
        return;
    }
    if (counter == want) {
        step_pass("persist_counter", "counter %u kept", counter);
    } else {
        step_fail("persist_counter", "counter %u, want %u", counter, want);
    }
    test_data(data, 2);
    check_read("persist_data", data, false);
    rpmbc_init(&client, &tr);
    client_read_check("persist_client_data", 1);
    got = op_program_key(test_key);
    if (got == RPMB_FRAME_LEN &&
        rpmb_frame_ld16(resp_frames + RPMB_FRAME_OFF_RESULT) !=
            RPMB_FRAME_RES_OK) {
        step_pass("persist_key_once", "re-programming refused");
    } else {
        step_fail("persist_key_once", "key programmed again");
    }
    if (write_and_check("persist_write", counter, 3, false, data)) {
        check_read("persist_read_back", data, false);
    }
}

static int run(const char *phase, const unsigned int want_cfg[3])
{
    uint8_t config[3];
    char why[512];

    if (!find_device()) {
        step_fail("find_device", "no PCI device 1af4:105c");
        return -1;
    }
    step_pass("find_device", "%s", strrchr(dev.sysfs, '/') + 1);
    if (unbind_driver() != 0 || setup_pci(why, sizeof(why)) != 0 ||
        alloc_dma(why, sizeof(why)) != 0 ||
        init_device(config, why, sizeof(why)) != 0) {
        step_fail("init_device", "%s", why);
        return -1;
    }
    step_pass("init_device", "queue size %u, DMA at 0x%llx", dev.q_size,
              (unsigned long long)dev.dma_phys);
    if (config[0] != want_cfg[0] || config[1] != want_cfg[1] ||
        config[2] != want_cfg[2]) {
        step_fail("config",
                  "capacity %u max_wr_cnt %u max_rd_cnt %u, want "
                  "%u %u %u",
                  config[0], config[1], config[2], want_cfg[0], want_cfg[1],
                  want_cfg[2]);
    } else {
        step_pass("config", "capacity %u max_wr_cnt %u max_rd_cnt %u",
                  config[0], config[1], config[2]);
    }
    if (strcmp(phase, "fresh") == 0) {
        phase_fresh(config);
    } else {
        phase_persist(config);
    }
    return 0;
}

static int host_hmac(const char *key_path, const char *msg_path)
{
    static uint8_t msg[1 << 16];
    uint8_t key[256];
    uint8_t mac[32];
    size_t key_len;
    size_t msg_len;
    unsigned int i;

    if (read_file(key_path, key, sizeof(key), &key_len) != 0 ||
        read_file(msg_path, msg, sizeof(msg), &msg_len) != 0) {
        fprintf(stderr, "rpmb-test: cannot read %s or %s\n", key_path,
                msg_path);
        return 1;
    }
    if (hmac_once(key, key_len, msg, msg_len, mac) != 0) {
        fprintf(stderr, "rpmb-test: HMAC failed\n");
        return 1;
    }
    for (i = 0; i < 32; i++) {
        printf("%02x", mac[i]);
    }
    putchar('\n');
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rpmb-test --phase fresh|persist --config CAP,WR,RD "
            "[--vectors DIR]\n"
            "       rpmb-test --hmac KEYFILE MSGFILE\n"
            "Drives the virtio RPMB PCI device 1af4:105c from user space "
            "(root, huge pages).\n");
}

int main(int argc, char **argv)
{
    const char *phase = NULL;
    const char *vectors = NULL;
    unsigned int cfg[3] = {0, 0, 0};
    bool have_cfg = false;
    int i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--hmac") == 0 && i + 2 < argc) {
            return host_hmac(argv[i + 1], argv[i + 2]);
        } else if (strcmp(argv[i], "--phase") == 0 && i + 1 < argc) {
            phase = argv[++i];
        } else if (strcmp(argv[i], "--vectors") == 0 && i + 1 < argc) {
            vectors = argv[++i];
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            have_cfg =
                sscanf(argv[++i], "%u,%u,%u", &cfg[0], &cfg[1], &cfg[2]) == 3;
        } else {
            usage();
            return 2;
        }
    }
    if (phase == NULL || !have_cfg ||
        (strcmp(phase, "fresh") != 0 && strcmp(phase, "persist") != 0)) {
        usage();
        return 2;
    }
    if (vectors != NULL) {
        test_vectors(vectors);
    }
    if (n_failed == 0) {
        run(phase, cfg);
    }
    printf("E2E-RESULT %u passed, %u failed\n", n_passed, n_failed);
    return n_failed == 0 ? 0 : 1;
}
