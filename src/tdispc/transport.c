/* SPDX-License-Identifier: MIT */
/*
 * tdispc transports: the SPDM socket protocol on loopback, and a PCI DOE
 * mailbox through sysfs config space.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/fdio.h"
#include "tdispc/tdispc.h"

#define IO_TIMEOUT_S 10

/* ---- socket ---- */

static struct sock_ctx {
    int fd;
    uint8_t buf[SOCK_HEADER_SIZE + DOE_MAX_OBJECT_SIZE];
} sock;

/* One socket message out, one in; the reply's payload at sock.buf + 12. */
static int sock_roundtrip(uint32_t cmd, const uint8_t *p, size_t len,
                          struct sock_header *h, char *err, size_t err_len)
{
    int one = 1;

    if (len > DOE_MAX_OBJECT_SIZE) {
        snprintf(err, err_len, "message too large");
        return -1;
    }
    sock_build_header(cmd, SOCK_TRANS_PCI_DOE, (uint32_t)len, sock.buf);
    if (len > 0) {
        memcpy(sock.buf + SOCK_HEADER_SIZE, p, len);
    }
    if (fd_write_all(sock.fd, sock.buf, SOCK_HEADER_SIZE + len) != 0) {
        snprintf(err, err_len, "connection lost: %s", strerror(errno));
        return -1;
    }
    /* the reply usually arrives in one read; never more than one reply */
    {
        size_t have = 0, need = SOCK_HEADER_SIZE;
        bool hdr = false;
        while (have < need) {
            if (have > 0) {
                /*
                 * Part of the reply came: a responder that writes it in
                 * pieces with Nagle on (DMTF's emulator writes each header
                 * field on its own) sends the next only once this one is
                 * ACKed, so ACK now rather than after the delayed-ACK
                 * timer.
                 */
                (void)setsockopt(sock.fd, IPPROTO_TCP, TCP_QUICKACK, &one,
                                 sizeof(one));
            }
            ssize_t n = read(sock.fd, sock.buf + have,
                             need - have + (hdr ? 0 : DOE_MAX_OBJECT_SIZE));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                snprintf(err, err_len, "connection lost: %s",
                         n < 0 ? strerror(errno) : "closed");
                return -1;
            }
            have += (size_t)n;
            if (!hdr && have >= SOCK_HEADER_SIZE) {
                sock_parse_header(sock.buf, h);
                if (h->payload_len > DOE_MAX_OBJECT_SIZE) {
                    snprintf(err, err_len, "bad reply (%u-byte payload)",
                             (unsigned)h->payload_len);
                    return -1;
                }
                need = SOCK_HEADER_SIZE + h->payload_len;
                hdr = true;
            }
        }
        if (have != need) {
            snprintf(err, err_len, "the device sent more than one reply");
            return -1;
        }
    }
    return 0;
}

static int sock_xfer(void *ctx, const uint8_t *req, size_t req_len,
                     uint8_t *rsp, size_t cap, size_t *rsp_len, char *err,
                     size_t err_len)
{
    struct sock_header h;

    (void)ctx;
    if (sock_roundtrip(SOCK_CMD_NORMAL, req, req_len, &h, err, err_len) != 0) {
        return -1;
    }
    if (h.command != SOCK_CMD_NORMAL || h.payload_len > cap) {
        snprintf(err, err_len, "reply command 0x%x, %u bytes",
                 (unsigned)h.command, (unsigned)h.payload_len);
        return -1;
    }
    memcpy(rsp, sock.buf + SOCK_HEADER_SIZE, h.payload_len);
    *rsp_len = h.payload_len;
    return 0;
}

static void sock_close(void *ctx)
{
    struct sock_header h;
    char err[128];

    (void)ctx;
    if (sock.fd >= 0) {
        (void)sock_roundtrip(SOCK_CMD_SHUTDOWN, NULL, 0, &h, err, sizeof(err));
        close(sock.fd);
        sock.fd = -1;
    }
}

int tdispc_sock_open(struct tdispc_transport *t, unsigned port, char *err,
                     size_t err_len)
{
    struct sockaddr_in a;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    struct sock_header h;
    int one = 1;

    sock.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock.fd < 0) {
        snprintf(err, err_len, "socket: %s", strerror(errno));
        return -1;
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)setsockopt(sock.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(sock.fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        snprintf(err, err_len, "127.0.0.1:%u: %s", port, strerror(errno));
        close(sock.fd);
        sock.fd = -1;
        return -1;
    }
    if (sock_roundtrip(SOCK_CMD_TEST, (const uint8_t *)"Client Hello!",
                       sizeof("Client Hello!"), &h, err, err_len) != 0) {
        close(sock.fd);
        sock.fd = -1;
        return -1;
    }
    if (h.command != SOCK_CMD_TEST) {
        snprintf(err, err_len, "127.0.0.1:%u: TEST answered with 0x%x", port,
                 (unsigned)h.command);
        close(sock.fd);
        sock.fd = -1;
        return -1;
    }
    t->xfer = sock_xfer;
    t->close = sock_close;
    t->ctx = &sock;
    return 0;
}

/* ---- PCI DOE mailbox through sysfs ---- */

#define PCI_EXT_CAP_START 0x100
#define PCI_EXT_CAP_DOE   0x2e
#define DOE_CAP           0x04
#define DOE_CTRL          0x08
#define DOE_STATUS        0x0c
#define DOE_WRITE         0x10
#define DOE_READ          0x14
#define DOE_CTRL_ABORT    (1u << 0)
#define DOE_CTRL_GO       (1u << 31)
#define DOE_STATUS_BUSY   (1u << 0)
#define DOE_STATUS_ERROR  (1u << 2)
#define DOE_STATUS_READY  (1u << 31)

static struct doe_ctx {
    int fd;
    off_t cap;
} doe = {-1, 0};

static int cfg_read(off_t off, uint32_t *v)
{
    uint8_t b[4];

    if (pread(doe.fd, b, 4, off) != 4) {
        return -1;
    }
    *v = load_le32(b);
    return 0;
}

static int cfg_write(off_t off, uint32_t v)
{
    uint8_t b[4];

    store_le32(b, v);
    return pwrite(doe.fd, b, 4, off) == 4 ? 0 : -1;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait until (status & @mask) == @want, IO_TIMEOUT_S at most. */
static int wait_status(uint32_t mask, uint32_t want, uint32_t *st)
{
    double end = now_s() + IO_TIMEOUT_S;

    for (;;) {
        if (cfg_read(doe.cap + DOE_STATUS, st) != 0) {
            return -1;
        }
        if ((*st & mask) == want) {
            return 0;
        }
        if (now_s() > end) {
            return -1;
        }
        usleep(100);
    }
}

static int doe_xfer(void *ctx, const uint8_t *req, size_t req_len, uint8_t *rsp,
                    size_t cap, size_t *rsp_len, char *err, size_t err_len)
{
    uint32_t st, v;
    size_t i, n_dw;

    (void)ctx;
    if (req_len % 4 != 0) {
        snprintf(err, err_len, "DOE objects are whole dwords");
        return -1;
    }
    if (wait_status(DOE_STATUS_BUSY, 0, &st) != 0) {
        snprintf(err, err_len, "DOE mailbox stays busy");
        return -1;
    }
    if (st & DOE_STATUS_ERROR) {
        (void)cfg_write(doe.cap + DOE_CTRL, DOE_CTRL_ABORT);
        if (wait_status(DOE_STATUS_BUSY | DOE_STATUS_ERROR, 0, &st) != 0) {
            snprintf(err, err_len, "DOE mailbox: abort did not clear ERROR");
            return -1;
        }
    }
    for (i = 0; i < req_len; i += 4) {
        if (cfg_write(doe.cap + DOE_WRITE, load_le32(req + i)) != 0) {
            snprintf(err, err_len, "DOE write mailbox: %s", strerror(errno));
            return -1;
        }
    }
    if (cfg_write(doe.cap + DOE_CTRL, DOE_CTRL_GO) != 0) {
        snprintf(err, err_len, "DOE control: %s", strerror(errno));
        return -1;
    }
    if (wait_status(DOE_STATUS_READY | DOE_STATUS_ERROR, DOE_STATUS_READY,
                    &st) != 0) {
        snprintf(err, err_len, "DOE: no response object (status 0x%08x)",
                 (unsigned)st);
        return -1;
    }
    /* each dword read once, acknowledged by a write to the read mailbox */
    n_dw = 2;
    for (i = 0; i < n_dw; i++) {
        if (cfg_read(doe.cap + DOE_READ, &v) != 0 ||
            cfg_write(doe.cap + DOE_READ, 0) != 0) {
            snprintf(err, err_len, "DOE read mailbox: %s", strerror(errno));
            return -1;
        }
        if ((i + 1) * 4 > cap) {
            snprintf(err, err_len, "DOE response over %zu bytes", cap);
            return -1;
        }
        store_le32(rsp + i * 4, v);
        if (i == 1) {
            n_dw = v & DOE_LENGTH_MASK;
            if (n_dw < 2 || n_dw * 4 > cap) {
                snprintf(err, err_len, "DOE response length %zu dwords", n_dw);
                return -1;
            }
        }
    }
    *rsp_len = n_dw * 4;
    return 0;
}

static void doe_close(void *ctx)
{
    (void)ctx;
    if (doe.fd >= 0) {
        close(doe.fd);
        doe.fd = -1;
    }
}

int tdispc_doe_open(struct tdispc_transport *t, const char *bdf, char *err,
                    size_t err_len)
{
    char path[256];
    uint32_t hdr;
    off_t off = PCI_EXT_CAP_START;
    int guard = 0;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
    doe.fd = open(path, O_RDWR | O_CLOEXEC);
    if (doe.fd < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    doe.cap = 0;
    while (off != 0 && guard++ < 64) {
        if (cfg_read(off, &hdr) != 0 || hdr == 0 || hdr == 0xffffffffu) {
            break;
        }
        if ((hdr & 0xffff) == PCI_EXT_CAP_DOE) {
            doe.cap = off;
            break;
        }
        off = (off_t)(hdr >> 20);
        if (off != 0 && off < PCI_EXT_CAP_START) {
            break;
        }
    }
    if (doe.cap == 0) {
        snprintf(err, err_len,
                 "%s: no DOE extended capability (0x2e); a PCIe machine "
                 "(q35) is needed and the device must have one",
                 bdf);
        doe_close(NULL);
        return -1;
    }
    t->xfer = doe_xfer;
    t->close = doe_close;
    t->ctx = &doe;
    /* discovery: CMA/SPDM and Secured CMA/SPDM must be listed */
    {
        uint8_t req[12], rsp[64];
        uint8_t idx = 0;
        bool spdm = false, secured = false;
        size_t n, got;
        do {
            uint8_t pl[4] = {idx, 0, 0, 0};
            n = doe_build(DOE_VENDOR_PCISIG, DOE_TYPE_DISCOVERY, pl, 4, req,
                          sizeof(req));
            if (doe_xfer(NULL, req, n, rsp, sizeof(rsp), &got, err, err_len) !=
                0) {
                doe_close(NULL);
                return -1;
            }
            if (got < 12) {
                snprintf(err, err_len, "%s: bad DOE discovery answer", bdf);
                doe_close(NULL);
                return -1;
            }
            if (load_le16(rsp + 8) == DOE_VENDOR_PCISIG) {
                spdm = spdm || rsp[10] == DOE_TYPE_SPDM;
                secured = secured || rsp[10] == DOE_TYPE_SECURED;
            }
            idx = rsp[11];
        } while (idx != 0 && ++guard < 128);
        if (!spdm || !secured) {
            snprintf(err, err_len,
                     "%s: the DOE mailbox offers no CMA/SPDM and Secured "
                     "CMA/SPDM",
                     bdf);
            doe_close(NULL);
            return -1;
        }
    }
    return 0;
}
