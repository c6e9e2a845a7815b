/* SPDX-License-Identifier: MIT */
/*
 * NSM client codec and the /dev/nsm ioctl transport. The decoder follows
 * serde_cbor's deserialize_enum and serde's derived struct visitors, which
 * is what every NSMAPI user effectively runs (aws-nitro-enclaves-nsm-api
 * src/api/mod.rs).
 */
#include "client/nsmc.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cbor/cbor.h"

_Static_assert(sizeof(struct nsmc_raw) == 32, "uapi struct nsm_raw");

/* Longest variant, field or digest name we ever compare against, plus one. */
#define NAME_MAX_LEN 32

struct dec {
    struct cbor_rd rd;     /* cursor over out->raw */
    struct nsmc_resp *out; /* where values go */
};

static const char *const op_names[] = {
    [NSMC_OP_DESCRIBE_PCR] = "DescribePCR",
    [NSMC_OP_EXTEND_PCR] = "ExtendPCR",
    [NSMC_OP_LOCK_PCR] = "LockPCR",
    [NSMC_OP_LOCK_PCRS] = "LockPCRs",
    [NSMC_OP_DESCRIBE_NSM] = "DescribeNSM",
    [NSMC_OP_ATTESTATION] = "Attestation",
    [NSMC_OP_GET_RANDOM] = "GetRandom",
    [NSMC_OP_ERROR] = "Error",
};

static const char *const error_names[] = {
    [NSMC_E_SUCCESS] = "Success",
    [NSMC_E_INVALID_ARGUMENT] = "InvalidArgument",
    [NSMC_E_INVALID_INDEX] = "InvalidIndex",
    [NSMC_E_INVALID_RESPONSE] = "InvalidResponse",
    [NSMC_E_READ_ONLY_INDEX] = "ReadOnlyIndex",
    [NSMC_E_INVALID_OPERATION] = "InvalidOperation",
    [NSMC_E_BUFFER_TOO_SMALL] = "BufferTooSmall",
    [NSMC_E_INPUT_TOO_LARGE] = "InputTooLarge",
    [NSMC_E_INTERNAL_ERROR] = "InternalError",
};

static const char *const digest_names[] = {
    [NSMC_DIGEST_SHA256] = "SHA256",
    [NSMC_DIGEST_SHA384] = "SHA384",
    [NSMC_DIGEST_SHA512] = "SHA512",
};

/* see nsmc.h */
const char *nsmc_op_name(enum nsmc_op op)
{
    if ((unsigned)op >= TV_ARRAY_SIZE(op_names)) {
        return "Unknown";
    }
    return op_names[op];
}

/* see nsmc.h */
const char *nsmc_error_name(enum nsmc_error e)
{
    if ((unsigned)e >= TV_ARRAY_SIZE(error_names)) {
        return "Unknown";
    }
    return error_names[e];
}

/* see nsmc.h */
const char *nsmc_digest_name(enum nsmc_digest d)
{
    if ((unsigned)d >= TV_ARRAY_SIZE(digest_names)) {
        return "Unknown";
    }
    return digest_names[d];
}

/* see nsmc.h */
const char *nsmc_strerror(int status)
{
    switch (status) {
    case NSMC_OK:
        return "success";
    case NSMC_ERR_TOO_LARGE:
        return "request larger than 4096 bytes";
    case NSMC_ERR_TRANSPORT:
        return "transport failure";
    case NSMC_ERR_DECODE:
        return "undecodable response";
    case NSMC_ERR_ARG:
        return "invalid argument";
    default:
        return "unknown status";
    }
}

/* Option<ByteBuf>: None is f6 with the key still present (serde_cbor). */
static void put_opt(struct cbor_wr *w, const char *key,
                    const struct nsmc_opt *v)
{
    cbor_put_cstr(w, key);
    if (v->p == NULL) {
        cbor_put_null(w);
    } else {
        cbor_put_bytes(w, v->p, v->len);
    }
}

/* {"<variant>": {"<key>": index}} for the three one-field index requests */
static void put_index_req(struct cbor_wr *w, const char *variant,
                          const char *key, uint16_t index)
{
    cbor_put_map(w, 1);
    cbor_put_cstr(w, variant);
    cbor_put_map(w, 1);
    cbor_put_cstr(w, key);
    cbor_put_uint(w, index);
}

/*
 * see nsmc.h. Keys in declaration order, as serde_cbor writes them:
 *   ExtendPCR{16,010203}: a1 69 "ExtendPCR" a2 65 "index" 10 64 "data" 43 ..
 */
int nsmc_fill_req(const struct nsmc_req *req, uint8_t *buf, size_t cap,
                  size_t *len)
{
    struct cbor_wr w;

    if (cap > NSM_REQUEST_MAX_SIZE) {
        cap = NSM_REQUEST_MAX_SIZE;
    }
    cbor_wr_init(&w, buf, cap);
    switch (req->op) {
    case NSMC_OP_DESCRIBE_PCR:
        put_index_req(&w, "DescribePCR", "index", req->index);
        break;
    case NSMC_OP_EXTEND_PCR:
        cbor_put_map(&w, 1);
        cbor_put_cstr(&w, "ExtendPCR");
        cbor_put_map(&w, 2);
        cbor_put_cstr(&w, "index");
        cbor_put_uint(&w, req->index);
        put_opt(&w, "data", &req->data);
        break;
    case NSMC_OP_LOCK_PCR:
        put_index_req(&w, "LockPCR", "index", req->index);
        break;
    case NSMC_OP_LOCK_PCRS:
        put_index_req(&w, "LockPCRs", "range", req->index);
        break;
    case NSMC_OP_DESCRIBE_NSM:
        cbor_put_cstr(&w, "DescribeNSM");
        break;
    case NSMC_OP_ATTESTATION:
        cbor_put_map(&w, 1);
        cbor_put_cstr(&w, "Attestation");
        cbor_put_map(&w, 3);
        put_opt(&w, "user_data", &req->user_data);
        put_opt(&w, "nonce", &req->nonce);
        put_opt(&w, "public_key", &req->public_key);
        break;
    case NSMC_OP_GET_RANDOM:
        cbor_put_cstr(&w, "GetRandom");
        break;
    case NSMC_OP_ERROR:
    default:
        return NSMC_ERR_ARG;
    }
    if (w.overflow) {
        return NSMC_ERR_TOO_LARGE;
    }
    *len = w.len;
    return NSMC_OK;
}

/*
 * Read a text (or, as serde's identifier visitors allow, byte) string,
 * definite or indefinite, into @name. Names longer than NAME_MAX_LEN - 1 are
 * read but can match nothing: *@name_len is then set past any known name.
 */
static int get_name(struct dec *d, const struct cbor_tok *t, char *name,
                    size_t *name_len)
{
    size_t n = 0;

    switch (t->type) {
    case CBOR_TOK_TEXT:
    case CBOR_TOK_BYTES:
        if (t->len >= NAME_MAX_LEN) {
            *name_len = NAME_MAX_LEN;
            return 0;
        }
        memcpy(name, t->p, t->len);
        n = t->len;
        break;
    case CBOR_TOK_TEXT_INDEF:
    case CBOR_TOK_BYTES_INDEF:
        if (cbor_rd_string(&d->rd, t, (uint8_t *)name, NAME_MAX_LEN - 1, &n) !=
            0) {
            /* too long or malformed: skip it, then it names nothing */
            if (cbor_rd_skip(&d->rd, t) != 0) {
                return -1;
            }
            n = NAME_MAX_LEN;
        }
        break;
    default:
        return -1;
    }
    *name_len = n;
    if (n < NAME_MAX_LEN) {
        name[n] = '\0';
    }
    return 0;
}

static bool name_is(const char *name, size_t name_len, const char *want)
{
    return name_len == strlen(want) && memcmp(name, want, name_len) == 0;
}

static int get_u16(struct dec *d, uint16_t *v)
{
    struct cbor_tok t;

    if (cbor_rd_next(&d->rd, &t) != 0 || t.type != CBOR_TOK_UINT ||
        t.u > UINT16_MAX) {
        return -1;
    }
    *v = (uint16_t)t.u;
    return 0;
}

static int get_bool(struct dec *d, bool *v)
{
    struct cbor_tok t;

    if (cbor_rd_next(&d->rd, &t) != 0 || t.type != CBOR_TOK_BOOL) {
        return -1;
    }
    *v = t.b;
    return 0;
}

/* Room left in the scratch area, bytes. */
static size_t scratch_room(const struct dec *d)
{
    return sizeof(d->out->scratch) - d->out->scratch_used;
}

/*
 * A ByteBuf or String: definite strings are used in place; indefinite
 * strings and arrays of byte values are reassembled in the scratch area.
 */
static int get_bytes(struct dec *d, struct nsmc_bytes *v, bool text_only)
{
    struct cbor_tok t, e;
    uint8_t *dst = d->out->scratch + d->out->scratch_used;
    size_t n = 0;
    uint64_t i;

    if (cbor_rd_next(&d->rd, &t) != 0) {
        return -1;
    }
    switch (t.type) {
    case CBOR_TOK_BYTES:
    case CBOR_TOK_TEXT:
        v->p = t.p;
        v->len = t.len;
        return 0;
    case CBOR_TOK_BYTES_INDEF:
    case CBOR_TOK_TEXT_INDEF:
        if (cbor_rd_string(&d->rd, &t, dst, scratch_room(d), &n) != 0) {
            return -1;
        }
        break;
    case CBOR_TOK_ARRAY:
    case CBOR_TOK_ARRAY_INDEF:
        if (text_only) {
            return -1;
        }
        for (i = 0; t.type == CBOR_TOK_ARRAY_INDEF || i < t.u; i++) {
            if (cbor_rd_next(&d->rd, &e) != 0) {
                return -1;
            }
            if (e.type == CBOR_TOK_BREAK && t.type == CBOR_TOK_ARRAY_INDEF) {
                break;
            }
            if (e.type != CBOR_TOK_UINT || e.u > UINT8_MAX ||
                n >= scratch_room(d)) {
                return -1;
            }
            dst[n++] = (uint8_t)e.u;
        }
        break;
    default:
        return -1;
    }
    v->p = dst;
    v->len = n;
    d->out->scratch_used += n;
    return 0;
}

/* Insert @v into the ascending set of locked PCRs (a BTreeSet<u16>). */
static void locked_insert(struct nsmc_resp *out, uint16_t v)
{
    size_t i = 0;

    while (i < out->n_locked_pcrs && out->locked_pcrs[i] < v) {
        i++;
    }
    if (i < out->n_locked_pcrs && out->locked_pcrs[i] == v) {
        return;
    }
    if (out->n_locked_pcrs == NSMC_LOCKED_PCRS_MAX) {
        out->locked_pcrs_truncated = true;
        if (i == NSMC_LOCKED_PCRS_MAX) {
            return; /* larger than every kept value */
        }
        out->n_locked_pcrs--; /* drop the largest */
    }
    memmove(&out->locked_pcrs[i + 1], &out->locked_pcrs[i],
            (out->n_locked_pcrs - i) * sizeof(out->locked_pcrs[0]));
    out->locked_pcrs[i] = v;
    out->n_locked_pcrs++;
}

static int get_locked_pcrs(struct dec *d)
{
    struct cbor_tok t, e;
    uint64_t i;

    if (cbor_rd_next(&d->rd, &t) != 0 ||
        (t.type != CBOR_TOK_ARRAY && t.type != CBOR_TOK_ARRAY_INDEF)) {
        return -1;
    }
    d->out->n_locked_pcrs = 0;
    d->out->locked_pcrs_truncated = false;
    for (i = 0; t.type == CBOR_TOK_ARRAY_INDEF || i < t.u; i++) {
        if (cbor_rd_next(&d->rd, &e) != 0) {
            return -1;
        }
        if (e.type == CBOR_TOK_BREAK && t.type == CBOR_TOK_ARRAY_INDEF) {
            break;
        }
        if (e.type != CBOR_TOK_UINT || e.u > UINT16_MAX) {
            return -1;
        }
        locked_insert(d->out, (uint16_t)e.u);
    }
    return 0;
}

/*
 * A unit-only enum value (Digest, ErrorCode): serde_cbor takes a text
 * string, or an 0xa1 map whose one value is the unit (null/undefined).
 */
static int get_unit_enum(struct dec *d, const char *const *names,
                         size_t n_names, unsigned *v)
{
    struct cbor_tok t, u;
    char name[NAME_MAX_LEN];
    size_t name_len;
    bool in_map = false;
    size_t i;

    if (cbor_rd_next(&d->rd, &t) != 0) {
        return -1;
    }
    if (t.type == CBOR_TOK_MAP && t.head[0] == 0xa1) {
        in_map = true;
        if (cbor_rd_next(&d->rd, &t) != 0) {
            return -1;
        }
    }
    if ((t.type != CBOR_TOK_TEXT && t.type != CBOR_TOK_TEXT_INDEF) ||
        get_name(d, &t, name, &name_len) != 0) {
        return -1;
    }
    if (in_map) {
        if (cbor_rd_next(&d->rd, &u) != 0 ||
            (u.type != CBOR_TOK_NULL && u.type != CBOR_TOK_UNDEFINED)) {
            return -1;
        }
    }
    for (i = 0; i < n_names; i++) {
        if (names[i] != NULL && name_is(name, name_len, names[i])) {
            *v = (unsigned)i;
            return 0;
        }
    }
    return -1;
}

/* Field tables of the struct variants, in declaration order. */
enum {
    F_LOCK,
    F_DATA, /* DescribePCR */
};
static const char *const describe_pcr_fields[] = {"lock", "data"};
static const char *const data_fields[] = {"data"};
static const char *const document_fields[] = {"document"};
static const char *const random_fields[] = {"random"};
enum {
    F_MAJOR,
    F_MINOR,
    F_PATCH,
    F_MODULE_ID,
    F_MAX_PCRS,
    F_LOCKED,
    F_DIGEST,
};
static const char *const describe_nsm_fields[] = {
    "version_major", "version_minor", "version_patch", "module_id",
    "max_pcrs",      "locked_pcrs",   "digest",
};

/* Decode the value of field @f of variant @op. */
static int get_field(struct dec *d, enum nsmc_op op, unsigned f)
{
    struct nsmc_resp *o = d->out;
    unsigned dg;

    switch (op) {
    case NSMC_OP_DESCRIBE_PCR:
        return f == F_LOCK ? get_bool(d, &o->lock)
                           : get_bytes(d, &o->data, false);
    case NSMC_OP_EXTEND_PCR:
    case NSMC_OP_ATTESTATION:
    case NSMC_OP_GET_RANDOM:
        return get_bytes(d, &o->data, false);
    case NSMC_OP_DESCRIBE_NSM:
        switch (f) {
        case F_MAJOR:
            return get_u16(d, &o->version_major);
        case F_MINOR:
            return get_u16(d, &o->version_minor);
        case F_PATCH:
            return get_u16(d, &o->version_patch);
        case F_MODULE_ID:
            return get_bytes(d, &o->module_id, true);
        case F_MAX_PCRS:
            return get_u16(d, &o->max_pcrs);
        case F_LOCKED:
            return get_locked_pcrs(d);
        case F_DIGEST:
            if (get_unit_enum(d, digest_names, TV_ARRAY_SIZE(digest_names),
                              &dg) != 0) {
                return -1;
            }
            o->digest = (enum nsmc_digest)dg;
            return 0;
        default:
            return -1;
        }
    case NSMC_OP_LOCK_PCR:
    case NSMC_OP_LOCK_PCRS:
    case NSMC_OP_ERROR:
    default:
        return -1;
    }
}

/*
 * A struct variant's value: a definite or indefinite map; every field
 * exactly once (serde's missing_field/duplicate_field), unknown keys
 * skipped. A uint key names a field by declaration index, as serde's
 * derived field visitor allows; out of range it is ignored.
 */
static int get_struct(struct dec *d, enum nsmc_op op, const char *const *fields,
                      size_t n_fields)
{
    struct cbor_tok m, k, v;
    char name[NAME_MAX_LEN];
    size_t name_len;
    uint32_t seen = 0;
    uint64_t i;
    size_t f;

    if (cbor_rd_next(&d->rd, &m) != 0 ||
        (m.type != CBOR_TOK_MAP && m.type != CBOR_TOK_MAP_INDEF)) {
        return -1;
    }
    for (i = 0; m.type == CBOR_TOK_MAP_INDEF || i < m.u; i++) {
        if (cbor_rd_next(&d->rd, &k) != 0) {
            return -1;
        }
        if (k.type == CBOR_TOK_BREAK && m.type == CBOR_TOK_MAP_INDEF) {
            break;
        }
        f = n_fields;
        if (k.type == CBOR_TOK_UINT) {
            if (k.u < n_fields) {
                f = (size_t)k.u;
            }
        } else {
            if (get_name(d, &k, name, &name_len) != 0) {
                return -1;
            }
            for (f = 0; f < n_fields; f++) {
                if (name_is(name, name_len, fields[f])) {
                    break;
                }
            }
        }
        if (f == n_fields) {
            if (cbor_rd_next(&d->rd, &v) != 0 || v.type == CBOR_TOK_BREAK ||
                cbor_rd_skip(&d->rd, &v) != 0) {
                return -1;
            }
            continue;
        }
        if ((seen & (1u << f)) != 0 || get_field(d, op, (unsigned)f) != 0) {
            return -1;
        }
        seen |= 1u << f;
    }
    return seen == (1u << n_fields) - 1 ? 0 : -1;
}

static int find_op(const char *name, size_t name_len, enum nsmc_op *op)
{
    size_t i;

    for (i = 0; i < TV_ARRAY_SIZE(op_names); i++) {
        if (name_is(name, name_len, op_names[i])) {
            *op = (enum nsmc_op)i;
            return 0;
        }
    }
    return -1;
}

/* The value of variant @op in map form: {"<op>": value}. */
static int get_variant_value(struct dec *d, enum nsmc_op op)
{
    struct cbor_tok t;
    unsigned e;

    switch (op) {
    case NSMC_OP_DESCRIBE_PCR:
        return get_struct(d, op, describe_pcr_fields,
                          TV_ARRAY_SIZE(describe_pcr_fields));
    case NSMC_OP_EXTEND_PCR:
        return get_struct(d, op, data_fields, TV_ARRAY_SIZE(data_fields));
    case NSMC_OP_DESCRIBE_NSM:
        return get_struct(d, op, describe_nsm_fields,
                          TV_ARRAY_SIZE(describe_nsm_fields));
    case NSMC_OP_ATTESTATION:
        return get_struct(d, op, document_fields,
                          TV_ARRAY_SIZE(document_fields));
    case NSMC_OP_GET_RANDOM:
        return get_struct(d, op, random_fields, TV_ARRAY_SIZE(random_fields));
    case NSMC_OP_LOCK_PCR:
    case NSMC_OP_LOCK_PCRS:
        /* a unit variant in map form carries the unit */
        if (cbor_rd_next(&d->rd, &t) != 0 ||
            (t.type != CBOR_TOK_NULL && t.type != CBOR_TOK_UNDEFINED)) {
            return -1;
        }
        return 0;
    case NSMC_OP_ERROR:
        if (get_unit_enum(d, error_names, TV_ARRAY_SIZE(error_names), &e) !=
            0) {
            return -1;
        }
        d->out->error = (enum nsmc_error)e;
        return 0;
    default:
        return -1;
    }
}

/* see nsmc.h */
int nsmc_parse_resp(const uint8_t *buf, size_t len, struct nsmc_resp *out)
{
    struct dec d;
    struct cbor_tok t;
    char name[NAME_MAX_LEN];
    size_t name_len;
    enum nsmc_op op;

    if (buf != out->raw) {
        if (len > sizeof(out->raw)) {
            return NSMC_ERR_DECODE;
        }
        if (len > 0) {
            memmove(out->raw, buf, len);
        }
    }
    out->raw_len = len;
    out->scratch_used = 0;
    out->error = NSMC_E_SUCCESS;
    out->data.p = NULL;
    out->data.len = 0;
    out->module_id.p = NULL;
    out->module_id.len = 0;
    out->n_locked_pcrs = 0;
    out->locked_pcrs_truncated = false;
    d.out = out;
    cbor_rd_init(&d.rd, out->raw, len);

    if (cbor_rd_next(&d.rd, &t) != 0) {
        return NSMC_ERR_DECODE;
    }
    if (t.type == CBOR_TOK_TEXT || t.type == CBOR_TOK_TEXT_INDEF) {
        /* unit variant: only LockPCR and LockPCRs are units in Response */
        if (get_name(&d, &t, name, &name_len) != 0 ||
            find_op(name, name_len, &op) != 0 ||
            (op != NSMC_OP_LOCK_PCR && op != NSMC_OP_LOCK_PCRS)) {
            return NSMC_ERR_DECODE;
        }
    } else if (t.type == CBOR_TOK_MAP && t.head[0] == 0xa1) {
        /* serde_cbor recognises only the 0xa1 header as a map-form enum */
        if (cbor_rd_next(&d.rd, &t) != 0 ||
            (t.type != CBOR_TOK_TEXT && t.type != CBOR_TOK_TEXT_INDEF) ||
            get_name(&d, &t, name, &name_len) != 0 ||
            find_op(name, name_len, &op) != 0 ||
            get_variant_value(&d, op) != 0) {
            return NSMC_ERR_DECODE;
        }
    } else {
        return NSMC_ERR_DECODE;
    }
    if (!cbor_rd_done(&d.rd)) {
        return NSMC_ERR_DECODE; /* serde_cbor::from_slice rejects trailing */
    }
    out->op = op;
    return NSMC_OK;
}

/* see nsmc.h */
int nsmc_call_raw(const struct nsmc_transport *t, const uint8_t *req,
                  size_t req_len, struct nsmc_resp *out, int *err)
{
    size_t resp_len = 0;
    int rc;

    if (err != NULL) {
        *err = 0;
    }
    out->raw_len = 0;
    if (req_len > NSM_REQUEST_MAX_SIZE) {
        return NSMC_ERR_TOO_LARGE;
    }
    rc = t->ops->call(t->ctx, req, req_len, out->raw, sizeof(out->raw),
                      &resp_len);
    if (rc != 0) {
        if (err != NULL) {
            *err = rc;
        }
        return rc == -EMSGSIZE ? NSMC_ERR_TOO_LARGE : NSMC_ERR_TRANSPORT;
    }
    if (resp_len > sizeof(out->raw)) {
        if (err != NULL) {
            *err = -EPROTO;
        }
        return NSMC_ERR_TRANSPORT;
    }
    out->raw_len = resp_len;
    return NSMC_OK;
}

/* see nsmc.h */
int nsmc_call(const struct nsmc_transport *t, const struct nsmc_req *req,
              struct nsmc_resp *out, int *err)
{
    uint8_t buf[NSM_REQUEST_MAX_SIZE];
    size_t len;
    int rc;

    if (err != NULL) {
        *err = 0;
    }
    rc = nsmc_fill_req(req, buf, sizeof(buf), &len);
    if (rc != NSMC_OK) {
        return rc;
    }
    rc = nsmc_call_raw(t, buf, len, out, err);
    if (rc != NSMC_OK) {
        return rc;
    }
    return nsmc_parse_resp(out->raw, out->raw_len, out);
}

/* see nsmc.h */
enum nsmc_error nsmc_error_to_aws(int status, const struct nsmc_resp *resp,
                                  enum nsmc_op want)
{
    switch (status) {
    case NSMC_OK:
        break;
    case NSMC_ERR_TOO_LARGE:
        return NSMC_E_INPUT_TOO_LARGE;
    case NSMC_ERR_ARG:
        return NSMC_E_INVALID_ARGUMENT;
    default:
        return NSMC_E_INTERNAL_ERROR;
    }
    if (resp->op == NSMC_OP_ERROR) {
        return resp->error;
    }
    return resp->op == want ? NSMC_E_SUCCESS : NSMC_E_INVALID_RESPONSE;
}

/*
 * The kernel's NSM_IOCTL_RAW: the driver copies at most response.len bytes
 * and stores the count there.
 */
static int ioctl_call(void *ctx, const uint8_t *req, size_t req_len,
                      uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    int fd = (int)(intptr_t)ctx;
    struct nsmc_raw raw;

    memset(&raw, 0, sizeof(raw));
    raw.request.addr = (uint64_t)(uintptr_t)req;
    raw.request.len = req_len;
    raw.response.addr = (uint64_t)(uintptr_t)resp;
    raw.response.len = resp_cap;
    if (ioctl(fd, NSMC_IOCTL_RAW, &raw) < 0) {
        return errno > 0 ? -errno : -EIO;
    }
    if (raw.response.len > resp_cap) {
        return -EPROTO;
    }
    *resp_len = (size_t)raw.response.len;
    return 0;
}

static const struct nsmc_transport_ops ioctl_ops = {
    .call = ioctl_call,
};

/* see nsmc.h */
struct nsmc_transport nsmc_ioctl_transport(int fd)
{
    struct nsmc_transport t = {&ioctl_ops, (void *)(intptr_t)fd};
    return t;
}
