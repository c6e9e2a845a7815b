/* SPDX-License-Identifier: MIT */
/*
 * The AWS nsm.h API over the NSM client (nsmc). Semantics follow NSMAPI's
 * nsm-lib/src/lib.rs rule for rule (aws-nitro-enclaves-nsm-api); where AWS's
 * library has undefined behaviour (NULL length pointers, more than 64
 * locked PCRs) ours returns an error or bounds the copy instead.
 *
 * A descriptor is either a real /dev/nsm descriptor (served by ioctl) or one
 * registered in conn_table (an emulated device reached through a
 * transport). Requests on registered descriptors hold conn_lock for their
 * whole duration: one request in flight, as the kernel driver's mutex
 * gives.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsm.h"

#include "libnsm/libnsm_priv.h"
#ifdef TV_HAVE_NSMC_VHU
#include "client/nsmc_vhu.h"
#endif

_Static_assert(sizeof(ErrorCode) == sizeof(int), "ErrorCode is a C int");
_Static_assert((int)ERROR_CODE_INTERNAL_ERROR == (int)NSMC_E_INTERNAL_ERROR,
               "nsmc_error numbers are AWS's ErrorCode");
_Static_assert((int)DIGEST_SHA512 == (int)NSMC_DIGEST_SHA512,
               "nsmc_digest numbers are AWS's Digest");
#if defined(__x86_64__)
_Static_assert(sizeof(NsmDescription) == 252, "AWS layout");
_Static_assert(offsetof(NsmDescription, module_id) == 6, "AWS layout");
_Static_assert(offsetof(NsmDescription, module_id_len) == 108, "AWS layout");
_Static_assert(offsetof(NsmDescription, max_pcrs) == 112, "AWS layout");
_Static_assert(offsetof(NsmDescription, locked_pcrs) == 114, "AWS layout");
_Static_assert(offsetof(NsmDescription, locked_pcrs_len) == 244, "AWS layout");
_Static_assert(offsetof(NsmDescription, digest) == 248, "AWS layout");
#endif

#define DEV_NSM    "/dev/nsm"
#define SOCKET_ENV "TRUSTVIO_NSM_SOCKET"

/** struct conn - an emulated device behind a registered descriptor. */
struct conn {
    int fd;                  /* the /dev/null descriptor standing for it */
    struct nsmc_transport t; /* how requests reach the device */
    void (*release)(void *); /* closes the transport, or NULL */
    void *release_ctx;       /* its argument */
};

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn conn_table[LIBNSM_MAX_CONNS]; /* fd < 0: free slot */
static size_t n_conn_used;                       /* slots ever used */

/* The slot of @fd, or NULL. Caller holds conn_lock. */
static struct conn *conn_find_locked(int fd)
{
    size_t i;

    for (i = 0; i < n_conn_used; i++) {
        if (conn_table[i].fd == fd && fd >= 0) {
            return &conn_table[i];
        }
    }
    return NULL;
}

/* see libnsm_priv.h */
int32_t libnsm_register(struct nsmc_transport t, void (*release)(void *),
                        void *release_ctx)
{
    struct conn *c = NULL;
    size_t i;
    int fd;

    pthread_mutex_lock(&conn_lock);
    for (i = 0; i < n_conn_used; i++) {
        if (conn_table[i].fd < 0) {
            c = &conn_table[i];
            break;
        }
    }
    if (c == NULL && n_conn_used < LIBNSM_MAX_CONNS) {
        c = &conn_table[n_conn_used++];
        c->fd = -1;
    }
    if (c == NULL) {
        pthread_mutex_unlock(&conn_lock);
        errno = EMFILE;
        return -1;
    }
    fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        pthread_mutex_unlock(&conn_lock);
        return -1;
    }
    c->fd = fd;
    c->t = t;
    c->release = release;
    c->release_ctx = release_ctx;
    pthread_mutex_unlock(&conn_lock);
    return fd;
}

#ifdef TV_HAVE_NSMC_VHU
/*
 * The process's one connection to the backend, opened by the first
 * nsm_lib_init() and kept until the process ends: every descriptor maps
 * to it, so a process sees one enclave however often it opens and closes
 * the library, as with /dev/nsm (and a vhost-user backend serves one
 * front-end at a time anyway). Without the STATUS feature the frontend
 * never sends SET_STATUS(0), which the backend would take as a device
 * reset; a backend run with --keep-state then also keeps the enclave's
 * PCRs for the next process.
 *
 * A connection that breaks (backend restarted, protocol error, timeout) is
 * dropped and reopened by the next request; a forked child forgets its
 * parent's connection (whose ring it must not touch) and opens its own.
 * Requests run under conn_lock, so dropping never races with a call.
 */
static pthread_mutex_t vhu_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t vhu_once = PTHREAD_ONCE_INIT;
static struct vhu_fe *vhu_shared; /* the connection, or NULL */
static char vhu_path[4096];       /* the socket of the first init */

static struct vhu_fe *vhu_get(void)
{
    struct vhu_fe_options opts = {.connect_wait_ms = 1000,
                                  .flags = VHU_FE_NO_STATUS};
    struct vhu_fe *fe;

    pthread_mutex_lock(&vhu_lock);
    if (vhu_shared == NULL) {
        /* a daemon that is still starting gets a second for its socket */
        vhu_shared = vhu_fe_connect(vhu_path, &opts, NULL, 0);
    }
    fe = vhu_shared;
    pthread_mutex_unlock(&vhu_lock);
    return fe;
}

static int vhu_call(void *ctx, const uint8_t *req, size_t req_len,
                    uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct nsmc_transport t;
    struct vhu_fe *fe = vhu_get();
    int rc;

    (void)ctx;
    if (fe == NULL) {
        return errno > 0 ? -errno : -EIO;
    }
    t = nsmc_vhu_transport(fe);
    rc = t.ops->call(t.ctx, req, req_len, resp, resp_cap, resp_len);
    if (rc < 0 && rc != -EMSGSIZE && rc != -ENODATA && rc != -EINVAL) {
        pthread_mutex_lock(&vhu_lock);
        if (vhu_shared == fe) {
            vhu_fe_close(fe);
            vhu_shared = NULL;
        }
        pthread_mutex_unlock(&vhu_lock);
    }
    return rc;
}

static const struct nsmc_transport_ops vhu_lazy_ops = {
    .call = vhu_call,
};

static void vhu_atfork_child(void)
{
    vhu_shared = NULL; /* the parent's: its memory and socket stay theirs */
    pthread_mutex_init(&vhu_lock, NULL);
    pthread_mutex_init(&conn_lock, NULL);
}

static void vhu_setup(void)
{
    pthread_atfork(NULL, NULL, vhu_atfork_child);
}

/* Register a descriptor for the shared connection to @path. */
static int32_t init_vhu(const char *path)
{
    struct nsmc_transport t = {&vhu_lazy_ops, NULL};
    size_t len = strlen(path);

    pthread_once(&vhu_once, vhu_setup);
    if (len >= sizeof(vhu_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    pthread_mutex_lock(&vhu_lock);
    if (vhu_shared == NULL) {
        memcpy(vhu_path, path, len + 1);
    }
    pthread_mutex_unlock(&vhu_lock);
    /* connect now, so that a missing backend fails init like a missing
     * /dev/nsm fails the open */
    if (vhu_get() == NULL) {
        return -1;
    }
    return libnsm_register(t, NULL, NULL);
}
#endif

/* see nsm.h */
int32_t nsm_lib_init(void)
{
    const char *path = getenv(SOCKET_ENV);

    if (path != NULL && path[0] != '\0') {
#ifdef TV_HAVE_NSMC_VHU
        return init_vhu(path);
#else
        errno = ENOTSUP;
        return -1;
#endif
    }
    return open(DEV_NSM, O_RDWR | O_CLOEXEC);
}

/* see nsm.h */
void nsm_lib_exit(int32_t fd)
{
    struct conn *c;
    struct conn gone = {.fd = -1};

    if (fd < 0) {
        return;
    }
    pthread_mutex_lock(&conn_lock);
    c = conn_find_locked(fd);
    if (c != NULL) {
        gone = *c;
        c->fd = -1;
    }
    pthread_mutex_unlock(&conn_lock);
    if (gone.release != NULL) {
        gone.release(gone.release_ctx);
    }
    close(fd);
}

/*
 * NSMAPI's nsm_process_request(): encode (InputTooLarge over 4096 bytes,
 * before any I/O), call with a 0x3000-byte response buffer, decode. The
 * return value is the outcome mapped to ErrorCode against @want; *@resp
 * holds the decoded response when it is ERROR_CODE_SUCCESS, or NULL when
 * the device answered {"Error": "Success"}: NSMAPI then returns SUCCESS
 * and leaves every output untouched, and so do we. The response
 * area is allocated here (24 KiB is too much for some thread stacks);
 * failing that is an InternalError.
 */
static ErrorCode process(int32_t fd, const struct nsmc_req *req,
                         enum nsmc_op want, struct nsmc_resp **resp)
{
    struct nsmc_transport t;
    struct nsmc_resp *r;
    struct conn *c;
    uint8_t buf[NSM_REQUEST_MAX_SIZE];
    size_t len;
    int rc;

    *resp = NULL;
    if (nsmc_fill_req(req, buf, sizeof(buf), &len) != NSMC_OK) {
        return ERROR_CODE_INPUT_TOO_LARGE;
    }
    r = malloc(sizeof(*r));
    if (r == NULL) {
        return ERROR_CODE_INTERNAL_ERROR;
    }
    pthread_mutex_lock(&conn_lock);
    c = conn_find_locked(fd);
    if (c != NULL) {
        t = c->t;
        rc = nsmc_call_raw(&t, buf, len, r, NULL);
        pthread_mutex_unlock(&conn_lock);
    } else {
        /* a /dev/nsm descriptor: the kernel serialises requests */
        pthread_mutex_unlock(&conn_lock);
        t = nsmc_ioctl_transport(fd);
        rc = nsmc_call_raw(&t, buf, len, r, NULL);
    }
    if (rc == NSMC_OK) {
        rc = nsmc_parse_resp(r->raw, r->raw_len, r);
    }
    rc = (int)nsmc_error_to_aws(rc, r, want);
    if (rc != ERROR_CODE_SUCCESS || r->op != want) {
        /* {"Error": "Success"} returns SUCCESS with nothing to copy */
        free(r);
        return (ErrorCode)rc;
    }
    *resp = r;
    return ERROR_CODE_SUCCESS;
}

/* NSMAPI's nsm_get_raw_from_vec(): the truncating copy rule. */
static ErrorCode copy_out(const struct nsmc_bytes *in, uint8_t *out,
                          uint32_t *out_len)
{
    ErrorCode e = ERROR_CODE_SUCCESS;

    if (out == NULL) {
        *out_len = 0;
        return ERROR_CODE_BUFFER_TOO_SMALL;
    }
    if (*out_len >= in->len) {
        *out_len = (uint32_t)in->len;
    } else {
        e = ERROR_CODE_BUFFER_TOO_SMALL;
    }
    if (*out_len > 0) {
        memcpy(out, in->p, *out_len);
    }
    return e;
}

/* NSMAPI's nsm_get_vec_from_raw(): NULL is None whatever the length. */
static struct nsmc_opt opt_of(const uint8_t *p, uint32_t len)
{
    struct nsmc_opt o = {p, p != NULL ? len : 0};
    return o;
}

/* see nsm.h */
ErrorCode nsm_extend_pcr(int32_t fd, uint16_t index, const uint8_t *data,
                         uint32_t data_len, uint8_t *pcr_data,
                         uint32_t *pcr_data_len)
{
    struct nsmc_req req = {.op = NSMC_OP_EXTEND_PCR, .index = index};
    struct nsmc_resp *r;
    ErrorCode e;

    if (data == NULL || pcr_data_len == NULL) {
        return ERROR_CODE_INVALID_ARGUMENT;
    }
    req.data = opt_of(data, data_len);
    e = process(fd, &req, NSMC_OP_EXTEND_PCR, &r);
    if (e != ERROR_CODE_SUCCESS || r == NULL) {
        return e;
    }
    e = copy_out(&r->data, pcr_data, pcr_data_len);
    free(r);
    return e;
}

/* see nsm.h */
ErrorCode nsm_describe_pcr(int32_t fd, uint16_t index, bool *lock,
                           uint8_t *data, uint32_t *data_len)
{
    struct nsmc_req req = {.op = NSMC_OP_DESCRIBE_PCR, .index = index};
    struct nsmc_resp *r;
    ErrorCode e;

    if (lock == NULL || data_len == NULL) {
        return ERROR_CODE_INVALID_ARGUMENT;
    }
    e = process(fd, &req, NSMC_OP_DESCRIBE_PCR, &r);
    if (e != ERROR_CODE_SUCCESS || r == NULL) {
        return e;
    }
    *lock = r->lock;
    e = copy_out(&r->data, data, data_len);
    free(r);
    return e;
}

/* LockPCR and LockPCRs: success is the unit response of the same name. */
static ErrorCode lock_op(int32_t fd, enum nsmc_op op, uint16_t index)
{
    struct nsmc_req req = {.op = op, .index = index};
    struct nsmc_resp *r;
    ErrorCode e;

    e = process(fd, &req, op, &r);
    free(r);
    return e;
}

/* see nsm.h */
ErrorCode nsm_lock_pcr(int32_t fd, uint16_t index)
{
    return lock_op(fd, NSMC_OP_LOCK_PCR, index);
}

/* see nsm.h */
ErrorCode nsm_lock_pcrs(int32_t fd, uint16_t range)
{
    return lock_op(fd, NSMC_OP_LOCK_PCRS, range);
}

/* see nsm.h */
ErrorCode nsm_get_description(int32_t fd, NsmDescription *nsm_description)
{
    struct nsmc_req req = {.op = NSMC_OP_DESCRIBE_NSM};
    NsmDescription *d = nsm_description;
    struct nsmc_resp *r;
    size_t n, i;
    ErrorCode e;

    if (d == NULL) {
        return ERROR_CODE_INVALID_ARGUMENT;
    }
    e = process(fd, &req, NSMC_OP_DESCRIBE_NSM, &r);
    if (e != ERROR_CODE_SUCCESS || r == NULL) {
        return e;
    }
    d->version_major = r->version_major;
    d->version_minor = r->version_minor;
    d->version_patch = r->version_patch;
    /* lib.rs: min(sizeof(module_id) - 1, len) bytes, then a NUL */
    n = r->module_id.len;
    if (n > sizeof(d->module_id) - 1) {
        n = sizeof(d->module_id) - 1;
    }
    if (n > 0) {
        memcpy(d->module_id, r->module_id.p, n);
    }
    d->module_id[n] = 0;
    d->module_id_len = (uint32_t)n;
    d->max_pcrs = r->max_pcrs;
    /* lib.rs copies without a bound; we keep at most the 64 slots */
    n = r->n_locked_pcrs;
    if (n > TV_ARRAY_SIZE(d->locked_pcrs)) {
        n = TV_ARRAY_SIZE(d->locked_pcrs);
    }
    for (i = 0; i < n; i++) {
        d->locked_pcrs[i] = r->locked_pcrs[i];
    }
    d->locked_pcrs_len = (uint32_t)n;
    d->digest = (Digest)r->digest;
    free(r);
    return ERROR_CODE_SUCCESS;
}

/* see nsm.h */
ErrorCode nsm_get_attestation_doc(int32_t fd, const uint8_t *user_data,
                                  uint32_t user_data_len,
                                  const uint8_t *nonce_data, uint32_t nonce_len,
                                  const uint8_t *pub_key_data,
                                  uint32_t pub_key_len, uint8_t *att_doc_data,
                                  uint32_t *att_doc_len)
{
    struct nsmc_req req = {.op = NSMC_OP_ATTESTATION};
    struct nsmc_resp *r;
    ErrorCode e;

    if (att_doc_len == NULL) {
        return ERROR_CODE_INVALID_ARGUMENT;
    }
    req.user_data = opt_of(user_data, user_data_len);
    req.nonce = opt_of(nonce_data, nonce_len);
    req.public_key = opt_of(pub_key_data, pub_key_len);
    e = process(fd, &req, NSMC_OP_ATTESTATION, &r);
    if (e != ERROR_CODE_SUCCESS || r == NULL) {
        return e;
    }
    e = copy_out(&r->data, att_doc_data, att_doc_len);
    free(r);
    return e;
}

/* see nsm.h */
ErrorCode nsm_get_random(int32_t fd, uint8_t *buf, uintptr_t *buf_len)
{
    struct nsmc_req req = {.op = NSMC_OP_GET_RANDOM};
    struct nsmc_resp *r;
    ErrorCode e;
    size_t n;

    if (fd < 0 || buf == NULL || buf_len == NULL || *buf_len == 0) {
        return ERROR_CODE_INVALID_ARGUMENT;
    }
    e = process(fd, &req, NSMC_OP_GET_RANDOM, &r);
    if (e != ERROR_CODE_SUCCESS || r == NULL) {
        return e;
    }
    n = *buf_len < r->data.len ? *buf_len : r->data.len;
    if (n > 0) {
        memcpy(buf, r->data.p, n);
    }
    *buf_len = n;
    free(r);
    return ERROR_CODE_SUCCESS;
}
