/* SPDX-License-Identifier: MIT */
/*
 * librpmb-mmc-preload.so at the ioctl level, run under LD_PRELOAD against a
 * real vhost-user-rpmb backend (TRUSTVIO_RPMB_SOCKET). Covers what mmc-utils
 * never sends: one command per MMC_IOC_CMD (OP-TEE's supplicant style),
 * opcode 23 entries, multi-frame writes, openat(), a write whose result is
 * never read, and malformed command sequences.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client/rpmb_frame.h"
#include "client/rpmbc.h"

#define MMC_IOC_CMD_NR       0xC048B300UL
#define MMC_IOC_MULTI_CMD_NR 0xC008B301UL

struct ioc_cmd {
    int32_t write_flag;
    int32_t is_acmd;
    uint32_t opcode;
    uint32_t arg;
    uint32_t response[4];
    uint32_t flags;
    uint32_t blksz;
    uint32_t blocks;
    uint32_t postsleep_min_us;
    uint32_t postsleep_max_us;
    uint32_t data_timeout_ns;
    uint32_t cmd_timeout_ms;
    uint32_t pad;
    uint64_t data_ptr;
};

struct ioc_multi {
    uint64_t num_of_cmds;
    struct ioc_cmd cmds[5];
};

static int n_pass;
static int n_fail;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            n_pass++;                                                          \
            printf("PASS: ");                                                  \
        } else {                                                               \
            n_fail++;                                                          \
            printf("FAIL (%s:%d): ", __FILE__, __LINE__);                      \
        }                                                                      \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
    } while (0)

static const uint8_t key[32] = "0123456789abcdefFEDCBA9876543210";

static struct ioc_cmd cmd(uint32_t opcode, int32_t wflag, void *buf,
                          uint32_t blocks)
{
    struct ioc_cmd c;

    memset(&c, 0, sizeof(c));
    c.opcode = opcode;
    c.write_flag = wflag;
    c.blksz = 512;
    c.blocks = blocks;
    c.flags = 0x35;
    c.data_ptr = (uint64_t)(uintptr_t)buf;
    return c;
}

static int single(int fd, uint32_t opcode, int32_t wflag, void *buf,
                  uint32_t blocks)
{
    struct ioc_cmd c = cmd(opcode, wflag, buf, blocks);

    return ioctl(fd, MMC_IOC_CMD_NR, &c);
}

static void frame(uint8_t *f, uint16_t req, uint16_t addr, uint16_t count,
                  uint32_t counter, const uint8_t *nonce, const uint8_t *data)
{
    struct rpmb_frame_fields x;

    memset(&x, 0, sizeof(x));
    x.req_resp = req;
    x.address = addr;
    x.block_count = count;
    x.write_counter = counter;
    if (nonce != NULL) {
        memcpy(x.nonce, nonce, sizeof(x.nonce));
    }
    rpmb_frame_build(f, &x, data);
}

static bool mac_ok(const uint8_t *frames, size_t n)
{
    uint8_t mac[32];

    if (rpmbc_mac(key, frames, n, mac) != 0) {
        return false;
    }
    return memcmp(mac, rpmb_frame_key_mac(frames + (n - 1) * 512), 32) == 0;
}

/* GET_WRITE_COUNTER as OP-TEE sends it: two single-command ioctls. */
static int read_counter_single(int fd, struct rpmb_frame_fields *r,
                               uint8_t resp[512])
{
    uint8_t req[512];
    uint8_t nonce[16];
    size_t i;

    for (i = 0; i < sizeof(nonce); i++) {
        nonce[i] = (uint8_t)(0xa0 + i);
    }
    frame(req, RPMB_FRAME_REQ_GET_WRITE_COUNTER, 0, 0, 0, nonce, NULL);
    if (single(fd, 25, 1, req, 1) != 0 || single(fd, 18, 0, resp, 1) != 0) {
        return -1;
    }
    rpmb_frame_parse(resp, r);
    return memcmp(r->nonce, nonce, 16) == 0 ? 0 : -2;
}

int main(void)
{
    uint8_t req[3 * 512];
    uint8_t resp[3 * 512];
    uint8_t data[2][256];
    uint8_t mac[32];
    struct rpmb_frame_fields r;
    struct ioc_multi m;
    int fd;
    int rc;

    memset(data[0], 0x3c, 256);
    memset(data[1], 0xc3, 256);

    fd = openat(AT_FDCWD, "/dev/mmcblk7rpmb", O_RDWR);
    CHECK(fd >= 0, "openat(/dev/mmcblk7rpmb) through the shim: fd %d", fd);
    if (fd < 0) {
        goto out;
    }
    rc = open("/dev/mmcblk7rpmbx", O_RDONLY);
    CHECK(rc < 0 && errno == ENOENT, "other paths are not intercepted");

    /* before a key: NO_AUTH_KEY from the device */
    rc = read_counter_single(fd, &r, resp);
    CHECK((rc == 0 || rc == -2) && r.result == RPMB_FRAME_RES_NO_AUTH_KEY,
          "single-cmd GET_WRITE_COUNTER before a key: result 0x%04x", r.result);

    /* PROGRAM_KEY as three single commands, block_count 0 as eMMC sends */
    frame(req, RPMB_FRAME_REQ_PROGRAM_KEY, 0, 0, 0, NULL, NULL);
    rpmb_frame_set_key_mac(req, key);
    frame(req + 512, RPMB_FRAME_REQ_RESULT_READ, 0, 0, 0, NULL, NULL);
    rc = single(fd, 25, (int32_t)0x80000001u, req, 1);
    rc |= single(fd, 25, 1, req + 512, 1);
    rc |= single(fd, 18, 0, resp, 1);
    rpmb_frame_parse(resp, &r);
    CHECK(rc == 0 && r.req_resp == RPMB_FRAME_RESP_PROGRAM_KEY && r.result == 0,
          "single-cmd PROGRAM_KEY: req_resp 0x%04x result 0x%04x", r.req_resp,
          r.result);

    rc = read_counter_single(fd, &r, resp);
    CHECK(rc == 0 && r.result == 0 && r.write_counter == 0 && mac_ok(resp, 1),
          "single-cmd GET_WRITE_COUNTER: nonce echoed, counter %u, MAC ok",
          r.write_counter);

    /* a 2-block DATA_WRITE in one MULTI_CMD, with an opcode 23 entry */
    frame(req, RPMB_FRAME_REQ_DATA_WRITE, 4, 2, 0, NULL, data[0]);
    frame(req + 512, RPMB_FRAME_REQ_DATA_WRITE, 4, 2, 0, NULL, data[1]);
    if (rpmbc_mac(key, req, 2, mac) != 0) {
        return 2;
    }
    rpmb_frame_set_key_mac(req + 512, mac);
    frame(req + 1024, RPMB_FRAME_REQ_RESULT_READ, 0, 0, 0, NULL, NULL);
    memset(&m, 0, sizeof(m));
    m.num_of_cmds = 4;
    m.cmds[0] = cmd(23, 0, NULL, 0);
    m.cmds[0].arg = 0x80000002u;
    m.cmds[0].blksz = 0;
    m.cmds[1] = cmd(25, (int32_t)0x80000001u, req, 2);
    m.cmds[2] = cmd(25, 1, req + 1024, 1);
    m.cmds[3] = cmd(18, 0, resp, 1);
    rc = ioctl(fd, MMC_IOC_MULTI_CMD_NR, &m);
    rpmb_frame_parse(resp, &r);
    CHECK(rc == 0 && r.req_resp == RPMB_FRAME_RESP_DATA_WRITE &&
              r.result == 0 && r.write_counter == 1 && r.address == 4 &&
              mac_ok(resp, 1),
          "MULTI_CMD 2-block DATA_WRITE: result 0x%04x counter %u", r.result,
          r.write_counter);

    /* DATA_READ: block_count 0 in the frame, 2 blocks in CMD18 */
    frame(req, RPMB_FRAME_REQ_DATA_READ, 4, 0, 0,
          (const uint8_t *)"nonce-nonce-1234", NULL);
    memset(&m, 0, sizeof(m));
    m.num_of_cmds = 2;
    m.cmds[0] = cmd(25, 1, req, 1);
    m.cmds[1] = cmd(18, 0, resp, 2);
    rc = ioctl(fd, MMC_IOC_MULTI_CMD_NR, &m);
    rpmb_frame_parse(resp + 512, &r);
    CHECK(rc == 0 && r.result == 0 && r.block_count == 2 && r.address == 4 &&
              memcmp(r.nonce, "nonce-nonce-1234", 16) == 0 &&
              memcmp(rpmb_frame_data(resp), data[0], 256) == 0 &&
              memcmp(rpmb_frame_data(resp + 512), data[1], 256) == 0 &&
              mac_ok(resp, 2),
          "MULTI_CMD DATA_READ x2: data, nonce, address, MAC");

    /* a write whose result is never read still happens (eMMC semantics) */
    frame(req, RPMB_FRAME_REQ_DATA_WRITE, 0, 1, 1, NULL, data[1]);
    if (rpmbc_mac(key, req, 1, mac) != 0) {
        return 2;
    }
    rpmb_frame_set_key_mac(req, mac);
    rc = single(fd, 25, (int32_t)0x80000001u, req, 1);
    CHECK(rc == 0, "single-cmd DATA_WRITE without RESULT_READ");
    rc = read_counter_single(fd, &r, resp);
    CHECK(rc == 0 && r.write_counter == 2, "...was executed: counter %u",
          r.write_counter);

    /* a replayed write: COUNT_FAILURE from the device, via the register */
    rc = single(fd, 25, (int32_t)0x80000001u, req, 1);
    frame(req + 512, RPMB_FRAME_REQ_RESULT_READ, 0, 0, 0, NULL, NULL);
    rc |= single(fd, 25, 1, req + 512, 1);
    rc |= single(fd, 18, 0, resp, 1);
    rpmb_frame_parse(resp, &r);
    CHECK(rc == 0 && r.result == RPMB_FRAME_RES_COUNT_FAILURE,
          "replayed DATA_WRITE: result 0x%04x", r.result);

    /* malformed sequences fail the ioctl, never the process */
    rc = single(fd, 18, 0, resp, 1);
    CHECK(rc == -1 && errno == EINVAL, "CMD18 with nothing pending: EINVAL");
    rc = single(fd, 6, 0, resp, 1);
    CHECK(rc == -1 && errno == EINVAL, "unsupported opcode: EINVAL");
    {
        struct ioc_cmd c = cmd(25, 1, req, 1);

        c.blksz = 256;
        rc = ioctl(fd, MMC_IOC_CMD_NR, &c);
        CHECK(rc == -1 && errno == EINVAL, "blksz 256: EINVAL");
    }
    rc = ioctl(fd, 0x1234, resp);
    CHECK(rc == -1 && errno == ENOTTY, "unknown ioctl: ENOTTY");
    memset(&m, 0, sizeof(m));
    rc = ioctl(fd, MMC_IOC_MULTI_CMD_NR, &m);
    CHECK(rc == -1 && errno == EINVAL, "MULTI_CMD with 0 commands: EINVAL");

    CHECK(close(fd) == 0, "close");
    rc = ioctl(fd, MMC_IOC_CMD_NR, &m);
    CHECK(rc == -1 && errno == EBADF, "ioctl after close: EBADF from libc");
out:
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail == 0 ? 0 : 1;
}
