/* SPDX-License-Identifier: MIT */
/*
 * bench_vhost_app: the application side of bench_vhost. An enclave program
 * as it is written for a real NSM, timing DescribePCR round trips to the
 * backend named by TRUSTVIO_NSM_SOCKET:
 *
 *   bench_vhost_app ioctl N    open("/dev/nsm") and ioctl(NSM_IOCTL_RAW),
 *                              as C, Rust and Python programs do; run it
 *                              under LD_PRELOAD=libnsm-preload.so
 *   bench_vhost_app libnsm N   nsm_lib_init() and nsm_describe_pcr() of
 *                              AWS's C API, served by libnsm.so.0
 *
 * Every answer is checked (a DescribePCR of PCR 16 with 48 bytes of data).
 * After a warm-up, the N round trips are timed one by one and written to
 * stdout as N native-endian uint64_t nanosecond counts, so that the caller
 * can merge them with its own samples; errors go to stderr with exit
 * status 1. bench_vhost starts it with the environment set and reads the
 * samples from a pipe; it is not meant to be run by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "nsm.h"

#define WARMUP 500u

/* uapi linux/nsm.h: NSM_IOCTL_RAW = _IOWR(0x0A, 0, struct nsm_raw) */
#define APP_NSM_IOCTL_RAW 0xC0200A00UL

struct app_iovec {
    uint64_t addr; /* user pointer */
    uint64_t len;  /* bytes */
};

struct app_raw {
    struct app_iovec request;
    struct app_iovec response;
};

/* {"DescribePCR": {"index": 16}} (aws-nitro-enclaves-nsm-api) */
static const uint8_t req_describe[] = {
    0xa1, 0x6b, 'D',  'e',  's', 'c', 'r', 'i', 'b', 'e',  'P',
    'C',  'R',  0xa1, 0x65, 'i', 'n', 'd', 'e', 'x', 0x10,
};
static const char describe_name[] = "DescribePCR";

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One raw DescribePCR through the ioctl; 0 when the answer is one. */
static int describe_ioctl(int fd, uint8_t *resp, size_t cap)
{
    struct app_raw raw = {
        {(uint64_t)(uintptr_t)req_describe, sizeof(req_describe)},
        {(uint64_t)(uintptr_t)resp, cap},
    };

    if (ioctl(fd, APP_NSM_IOCTL_RAW, &raw) < 0) {
        fprintf(stderr, "ioctl(NSM_IOCTL_RAW): %s\n", strerror(errno));
        return -1;
    }
    /* {"DescribePCR": {...}}, not {"Error": ...} */
    if (raw.response.len < 2 + strlen(describe_name) || resp[0] != 0xa1 ||
        memcmp(resp + 2, describe_name, strlen(describe_name)) != 0) {
        fprintf(stderr, "ioctl: unexpected answer (%llu bytes)\n",
                (unsigned long long)raw.response.len);
        return -1;
    }
    return 0;
}

/* One DescribePCR through libnsm; 0 when PCR 16's 48 bytes came back. */
static int describe_libnsm(int32_t fd)
{
    uint8_t data[64];
    uint32_t len = sizeof(data);
    bool lock = true;
    ErrorCode e = nsm_describe_pcr(fd, 16, &lock, data, &len);

    if (e != ERROR_CODE_SUCCESS || len != 48) {
        fprintf(stderr, "nsm_describe_pcr: error %d, %u bytes\n", (int)e, len);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static uint8_t resp[0x3000];
    uint64_t *ns;
    unsigned long n;
    int use_ioctl, fd;

    if (argc != 3 ||
        (strcmp(argv[1], "ioctl") != 0 && strcmp(argv[1], "libnsm") != 0)) {
        fprintf(stderr, "usage: %s ioctl|libnsm N (run by bench_vhost)\n",
                argv[0]);
        return 2;
    }
    use_ioctl = strcmp(argv[1], "ioctl") == 0;
    n = strtoul(argv[2], NULL, 10);
    if (n < 100 || n > 10000000ul) {
        fprintf(stderr, "%s: N must be 100..10000000\n", argv[0]);
        return 2;
    }
    ns = calloc(n, sizeof(*ns));
    if (ns == NULL) {
        perror("calloc");
        return 1;
    }
    fd = use_ioctl ? open("/dev/nsm", O_RDWR | O_CLOEXEC) : nsm_lib_init();
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n",
                use_ioctl ? "open /dev/nsm" : "nsm_lib_init", strerror(errno));
        return 1;
    }
    for (unsigned long i = 0; i < n + WARMUP; i++) {
        uint64_t t0 = now_ns();
        int rc = use_ioctl ? describe_ioctl(fd, resp, sizeof(resp))
                           : describe_libnsm(fd);
        uint64_t t1 = now_ns();

        if (rc < 0) {
            return 1;
        }
        if (i >= WARMUP) {
            ns[i - WARMUP] = t1 - t0;
        }
    }
    if (use_ioctl) {
        close(fd);
    } else {
        nsm_lib_exit(fd);
    }
    if (fwrite(ns, sizeof(*ns), n, stdout) != n || fflush(stdout) != 0) {
        perror("write samples");
        return 1;
    }
    free(ns);
    return 0;
}
