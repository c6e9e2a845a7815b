/* SPDX-License-Identifier: MIT */
#include "client/rpmbc_vhu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "frontend/vhu_frontend.h"
#include "common/log.h"

/*
 * Guest memory for the frontend. The client moves at most
 * RPMBC_MAX_BATCH + 1 frames each way (33 KiB); the mmc shim forwards up to
 * 257 frames (128.5 KiB) each way. 1 MiB holds both directions and the ring
 * with room to spare.
 */
#define RPMBC_VHU_MEM_SIZE (1u << 20)
_Static_assert(RPMBC_VHU_MEM_SIZE >= 4u * 257u * 512u, "guest memory size");

/**
 * struct rpmbc_vhu - one connection.
 * @fe:        the frontend (owned)
 * @flip_off:  byte of each response to flip (rpmbc_vhu_set_flip())
 * @flip_mask: bits to flip; 0 = off
 * @flip_skip: responses still to leave alone
 */
struct rpmbc_vhu {
    struct vhu_fe *fe;
    size_t flip_off;
    uint8_t flip_mask;
    unsigned flip_skip;
};

/* The frontend's tamper hook: runs on the device-written bytes. */
static size_t rpmbc_vhu_tamper(void *ctx, enum vhu_fe_kind kind, uint8_t *buf,
                               size_t len, size_t cap)
{
    struct rpmbc_vhu *v = ctx;

    (void)kind;
    (void)cap;
    if (v->flip_mask == 0) {
        return len;
    }
    if (v->flip_skip > 0) {
        v->flip_skip--;
        return len;
    }
    if (v->flip_off < len) {
        buf[v->flip_off] ^= v->flip_mask;
    }
    return len;
}

/* see rpmbc_vhu.h */
void rpmbc_vhu_set_flip(struct rpmbc_vhu *v, size_t offset, uint8_t xor_mask,
                        unsigned skip_cnt)
{
    v->flip_off = offset;
    v->flip_mask = xor_mask;
    v->flip_skip = skip_cnt;
}

/* see rpmbc_vhu.h */
int rpmbc_vhu_open(struct rpmbc_vhu **out, const char *socket_path)
{
    struct vhu_fe_options opts;
    struct rpmbc_vhu *v;
    char err[256];
    int rc;

    *out = NULL;
    v = calloc(1, sizeof(*v));
    if (v == NULL) {
        return -ENOMEM;
    }
    memset(&opts, 0, sizeof(opts));
    opts.mem_size = RPMBC_VHU_MEM_SIZE;
    opts.tamper = rpmbc_vhu_tamper;
    opts.tamper_ctx = v;
    err[0] = '\0';
    v->fe = vhu_fe_connect(socket_path, &opts, err, sizeof(err));
    if (v->fe == NULL) {
        rc = errno != 0 ? -errno : -EIO;
        tv_info("vhost-user connect to %s: %s", socket_path, err);
        free(v);
        return rc;
    }
    *out = v;
    return 0;
}

/* see rpmbc_vhu.h */
void rpmbc_vhu_close(struct rpmbc_vhu *v)
{
    if (v == NULL) {
        return;
    }
    vhu_fe_close(v->fe);
    free(v);
}

/*
 * One chain: the request frames device-readable, then the response space
 * device-writable, as the Linaro virtio RPMB driver lays it out.
 */
static int rpmbc_vhu_call(void *ctx, const uint8_t *req, size_t req_len,
                          uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct rpmbc_vhu *v = ctx;
    struct iovec out = {(void *)(uintptr_t)req, req_len};
    struct iovec in = {resp, resp_cap};
    size_t used = 0;
    int rc;

    rc = vhu_fe_call(v->fe, &out, 1, &in, resp_cap > 0 ? 1 : 0, &used);
    if (rc != 0) {
        return rc;
    }
    /* the frontend rejects used lengths beyond the writable bytes */
    *resp_len = used;
    return 0;
}

static int rpmbc_vhu_get_config(void *ctx, uint8_t config[3])
{
    struct rpmbc_vhu *v = ctx;

    return vhu_fe_get_config(v->fe, 0, config, 3);
}

static const struct rpmbc_transport_ops rpmbc_vhu_ops = {
    .call = rpmbc_vhu_call,
    .get_config = rpmbc_vhu_get_config,
};

/* see rpmbc_vhu.h */
struct rpmbc_transport rpmbc_vhu_transport(struct rpmbc_vhu *v)
{
    struct rpmbc_transport tr = {&rpmbc_vhu_ops, v};

    return tr;
}
