/* SPDX-License-Identifier: MIT */
/*
 * The NSM device model: a CBOR request in, a CBOR response out.
 *
 * Parsing mirrors what serde_cbor (the decoder of NSMAPI and, as far as the
 * real-hardware tests show, of real NSM) accepts, so that a request is
 * accepted or refused exactly as a real NSM would; the rules are listed in
 * nsm.h. Encoding follows serde_cbor's encoder byte for byte: definite
 * one-entry outer maps, keys in declaration order, minimal integer heads,
 * byte strings for Vec<u8>, null for None with the key present.
 *
 * Nothing here allocates. Request strings that arrive in one piece are used
 * where they lie in the request; chunked (indefinite) strings and byte
 * arrays are gathered into a scratch area on the stack no larger than the
 * request cap. The attestation payload is encoded straight into the
 * response buffer and signed in place (see cose.h), so both buffers must be
 * private memory: a transport copies guest memory in before and out after
 * (read once, write once), and the bank never takes a value back from the
 * response.
 */
#include "nsm/nsm.h"

#include <string.h>

#include "cbor/cbor.h"
#include "common/bug.h"
#include "cose/cose.h"
#include "crypto/crypto.h"

/* Wire error names, in NSMAPI's ErrorCode order (aws-nitro-enclaves-nsm-api
 * src/api/mod.rs). */
enum nsm_wire_err {
    ERR_INVALID_ARGUMENT,
    ERR_INVALID_INDEX,
    ERR_INVALID_RESPONSE,
    ERR_READ_ONLY_INDEX,
    ERR_INVALID_OPERATION,
    ERR_BUFFER_TOO_SMALL,
    ERR_INPUT_TOO_LARGE,
    ERR_INTERNAL_ERROR,
    ERR_NONE, /* no error: the operation succeeded */
};

static const char *const wire_err_names[] = {
    [ERR_INVALID_ARGUMENT] = "InvalidArgument",
    [ERR_INVALID_INDEX] = "InvalidIndex",
    [ERR_INVALID_RESPONSE] = "InvalidResponse",
    [ERR_READ_ONLY_INDEX] = "ReadOnlyIndex",
    [ERR_INVALID_OPERATION] = "InvalidOperation",
    [ERR_BUFFER_TOO_SMALL] = "BufferTooSmall",
    [ERR_INPUT_TOO_LARGE] = "InputTooLarge",
    [ERR_INTERNAL_ERROR] = "InternalError",
};

/* Request variants in NSMAPI's declaration order (= serde variant index). */
enum nsm_op {
    OP_DESCRIBE_PCR,
    OP_EXTEND_PCR,
    OP_LOCK_PCR,
    OP_LOCK_PCRS,
    OP_DESCRIBE_NSM,
    OP_ATTESTATION,
    OP_GET_RANDOM,
    OP_COUNT,
};

/* How a struct field's value is decoded. */
enum field_type {
    FT_U16,       /* uint <= 65535 */
    FT_BYTES,     /* Vec<u8> with serde_bytes: bstr, tstr or [u8] */
    FT_OPT_BYTES, /* Option<ByteBuf>: null or as FT_BYTES */
};

#define OP_MAX_FIELDS 3

/**
 * struct op_desc - one request variant.
 * @name:     variant name on the wire
 * @unit:     a unit variant (no fields)
 * @n_fields: fields of a struct variant, in declaration order
 * @required: bit i set: field i must be present (not an Option)
 */
struct op_desc {
    const char *name;
    bool unit;
    unsigned n_fields;
    const char *field[OP_MAX_FIELDS];
    enum field_type type[OP_MAX_FIELDS];
    unsigned required;
};

static const struct op_desc ops_desc[OP_COUNT] = {
    [OP_DESCRIBE_PCR] = {"DescribePCR", false, 1, {"index"}, {FT_U16}, 1},
    [OP_EXTEND_PCR] =
        {"ExtendPCR", false, 2, {"index", "data"}, {FT_U16, FT_BYTES}, 3},
    [OP_LOCK_PCR] = {"LockPCR", false, 1, {"index"}, {FT_U16}, 1},
    [OP_LOCK_PCRS] = {"LockPCRs", false, 1, {"range"}, {FT_U16}, 1},
    [OP_DESCRIBE_NSM] = {"DescribeNSM", true, 0, {NULL}, {FT_U16}, 0},
    [OP_ATTESTATION] = {"Attestation",
                        false,
                        3,
                        {"user_data", "nonce", "public_key"},
                        {FT_OPT_BYTES, FT_OPT_BYTES, FT_OPT_BYTES},
                        0},
    [OP_GET_RANDOM] = {"GetRandom", true, 0, {NULL}, {FT_U16}, 0},
};

/* A decoded byte-string field: absent/null, or @len bytes at @p. */
struct req_bytes {
    bool present;     /* given and not null */
    const uint8_t *p; /* into the request or the scratch area */
    size_t len;       /* bytes */
};

/**
 * struct nsm_req - a parsed request. Byte fields point into the request or
 * into the scratch area; @u16 holds index or range.
 */
struct nsm_req {
    enum nsm_op op;
    uint16_t u16[OP_MAX_FIELDS];           /* FT_U16 field values */
    struct req_bytes bytes[OP_MAX_FIELDS]; /* byte field values */
    unsigned seen;                         /* bit i: field i was given */
};

/* Gathering area for chunked strings and byte arrays. */
struct scratch {
    uint8_t buf[NSM_REQUEST_MAX_SIZE]; /* contents never exceed the request */
    size_t used;                       /* bytes handed out */
};

/* Longest name we need to recognise (variant or field), plus one. */
#define NAME_MAX_LEN 16

/*
 * Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF), as
 * Rust's str::from_utf8, which serde_cbor applies to every text string.
 */
static bool utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t c = p[i];
        size_t n;
        uint8_t lo = 0x80, hi = 0xbf;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0) {
                lo = 0xa0;
            } else if (c == 0xed) {
                hi = 0x9f;
            }
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0) {
                lo = 0x90;
            } else if (c == 0xf4) {
                hi = 0x8f;
            }
        } else {
            return false;
        }
        if (len - i - 1 < n || p[i + 1] < lo || p[i + 1] > hi) {
            return false;
        }
        for (size_t k = 2; k <= n; k++) {
            if (p[i + k] < 0x80 || p[i + k] > 0xbf) {
                return false;
            }
        }
        i += n + 1;
    }
    return true;
}

static bool name_is(const uint8_t *p, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(p, name, len) == 0;
}

/*
 * Read an identifier (variant or field name) whose head is @t: a text or
 * byte string, definite or indefinite, or a uint (serde's index form).
 * Sets *@name and *@name_len for strings (NULL when the string is too long to
 * be any name we know, which then simply matches nothing) or *@index for
 * uints (*@name NULL). Return: false when the item is not an identifier or
 * is malformed.
 */
static bool read_ident(struct cbor_rd *rd, const struct cbor_tok *t,
                       uint8_t buf[NAME_MAX_LEN], const uint8_t **name,
                       size_t *name_len, uint64_t *index)
{
    *name = NULL;
    *name_len = 0;
    *index = UINT64_MAX;
    switch (t->type) {
    case CBOR_TOK_UINT:
        *index = t->u;
        return true;
    case CBOR_TOK_TEXT:
        if (!utf8_valid(t->p, t->len)) {
            return false;
        }
        *name = t->p;
        *name_len = t->len;
        return true;
    case CBOR_TOK_BYTES:
        *name = t->p;
        *name_len = t->len;
        return true;
    case CBOR_TOK_TEXT_INDEF:
    case CBOR_TOK_BYTES_INDEF:
        if (cbor_rd_string(rd, t, buf, NAME_MAX_LEN, name_len) == 0) {
            if (t->type == CBOR_TOK_TEXT_INDEF && !utf8_valid(buf, *name_len)) {
                return false;
            }
            *name = buf;
            return true;
        }
        /* too long for any known name, or malformed: tell them apart */
        *name_len = 0;
        return cbor_rd_skip(rd, t) == 0;
    case CBOR_TOK_NEGINT:
    case CBOR_TOK_ARRAY:
    case CBOR_TOK_ARRAY_INDEF:
    case CBOR_TOK_MAP:
    case CBOR_TOK_MAP_INDEF:
    case CBOR_TOK_TAG:
    case CBOR_TOK_BOOL:
    case CBOR_TOK_NULL:
    case CBOR_TOK_UNDEFINED:
    case CBOR_TOK_FLOAT:
    case CBOR_TOK_BREAK:
    default:
        return false;
    }
}

/* Map an identifier to a variant; OP_COUNT when it names none. */
static enum nsm_op ident_op(const uint8_t *name, size_t name_len,
                            uint64_t index)
{
    unsigned i;

    if (name == NULL) {
        return index < OP_COUNT ? (enum nsm_op)index : OP_COUNT;
    }
    for (i = 0; i < OP_COUNT; i++) {
        if (name_is(name, name_len, ops_desc[i].name)) {
            return (enum nsm_op)i;
        }
    }
    return OP_COUNT;
}

/*
 * Decode a Vec<u8> value whose head is @t into @out: definite strings stay
 * in the request, chunked strings and [u8] arrays go to the scratch area.
 */
static bool read_bytes(struct cbor_rd *rd, const struct cbor_tok *t,
                       struct scratch *s, struct req_bytes *out)
{
    struct cbor_tok e;
    uint8_t *dst = s->buf + s->used;
    size_t room = sizeof(s->buf) - s->used;
    size_t len = 0;
    uint64_t i;

    switch (t->type) {
    case CBOR_TOK_TEXT:
    case CBOR_TOK_BYTES:
        if (t->type == CBOR_TOK_TEXT && !utf8_valid(t->p, t->len)) {
            return false;
        }
        out->p = t->p;
        out->len = t->len;
        break;
    case CBOR_TOK_TEXT_INDEF:
    case CBOR_TOK_BYTES_INDEF:
        if (cbor_rd_string(rd, t, dst, room, &len) != 0 ||
            (t->type == CBOR_TOK_TEXT_INDEF && !utf8_valid(dst, len))) {
            return false;
        }
        out->p = dst;
        out->len = len;
        s->used += len;
        break;
    case CBOR_TOK_ARRAY:
    case CBOR_TOK_ARRAY_INDEF:
        /* each element takes at least one request byte, so room suffices */
        for (i = 0; t->type == CBOR_TOK_ARRAY_INDEF || i < t->u; i++) {
            if (cbor_rd_next(rd, &e) != 0) {
                return false;
            }
            if (e.type == CBOR_TOK_BREAK && t->type == CBOR_TOK_ARRAY_INDEF) {
                break;
            }
            if (e.type != CBOR_TOK_UINT || e.u > 0xff || len >= room) {
                return false;
            }
            dst[len++] = (uint8_t)e.u;
        }
        out->p = dst;
        out->len = len;
        s->used += len;
        break;
    case CBOR_TOK_UINT:
    case CBOR_TOK_NEGINT:
    case CBOR_TOK_MAP:
    case CBOR_TOK_MAP_INDEF:
    case CBOR_TOK_TAG:
    case CBOR_TOK_BOOL:
    case CBOR_TOK_NULL:
    case CBOR_TOK_UNDEFINED:
    case CBOR_TOK_FLOAT:
    case CBOR_TOK_BREAK:
    default:
        return false;
    }
    out->present = true;
    return true;
}

/* Decode the value of field @f of @d whose head has just been read. */
static bool read_field(struct cbor_rd *rd, const struct op_desc *d, unsigned f,
                       struct scratch *s, struct nsm_req *req)
{
    struct cbor_tok t;

    if (cbor_rd_next(rd, &t) != 0) {
        return false;
    }
    switch (d->type[f]) {
    case FT_U16:
        if (t.type != CBOR_TOK_UINT || t.u > UINT16_MAX) {
            return false;
        }
        req->u16[f] = (uint16_t)t.u;
        return true;
    case FT_OPT_BYTES:
        if (t.type == CBOR_TOK_NULL) {
            req->bytes[f].present = false;
            return true;
        }
        return read_bytes(rd, &t, s, &req->bytes[f]);
    case FT_BYTES:
        return read_bytes(rd, &t, s, &req->bytes[f]);
    default:
        return false;
    }
}

/*
 * Decode a struct variant's value: a map, definite or indefinite, of
 * identifier keys. Unknown keys are skipped with their (well-formed) values;
 * a known field given twice is refused.
 */
static bool read_struct(struct cbor_rd *rd, const struct op_desc *d,
                        struct scratch *s, struct nsm_req *req)
{
    struct cbor_tok t, k, v;
    uint8_t name_buf[NAME_MAX_LEN];
    const uint8_t *name;
    size_t name_len;
    uint64_t index, i;
    bool indef;
    unsigned f;

    if (cbor_rd_next(rd, &t) != 0 ||
        (t.type != CBOR_TOK_MAP && t.type != CBOR_TOK_MAP_INDEF)) {
        return false;
    }
    indef = t.type == CBOR_TOK_MAP_INDEF;
    for (i = 0; indef || i < t.u; i++) {
        if (cbor_rd_next(rd, &k) != 0) {
            return false;
        }
        if (indef && k.type == CBOR_TOK_BREAK) {
            break;
        }
        if (!read_ident(rd, &k, name_buf, &name, &name_len, &index)) {
            return false;
        }
        for (f = 0; f < d->n_fields; f++) {
            if (name != NULL ? name_is(name, name_len, d->field[f])
                             : index == f) {
                break;
            }
        }
        if (f == d->n_fields) {
            /* unknown field: skip its value whole */
            if (cbor_rd_next(rd, &v) != 0 || v.type == CBOR_TOK_BREAK ||
                cbor_rd_skip(rd, &v) != 0) {
                return false;
            }
            continue;
        }
        if (req->seen & (1u << f)) {
            return false;
        }
        req->seen |= 1u << f;
        if (!read_field(rd, d, f, s, req)) {
            return false;
        }
    }
    return (req->seen & d->required) == d->required;
}

/* A unit variant given in map form carries null (serde's unit value). */
static bool read_unit(struct cbor_rd *rd)
{
    struct cbor_tok t;

    return cbor_rd_next(rd, &t) == 0 && t.type == CBOR_TOK_NULL;
}

/*
 * Parse a whole request. Return: ERR_NONE with @req filled, or the wire
 * error to answer with (InvalidOperation for anything malformed).
 */
static enum nsm_wire_err parse_req(const uint8_t *p, size_t len,
                                   struct scratch *s, struct nsm_req *req)
{
    struct cbor_rd rd;
    struct cbor_tok t, k;
    uint8_t name_buf[NAME_MAX_LEN];
    const uint8_t *name;
    size_t name_len;
    uint64_t index;
    enum nsm_op op;
    bool ok;

    if (len > NSM_REQUEST_MAX_SIZE) {
        return ERR_INPUT_TOO_LARGE;
    }
    memset(req, 0, sizeof(*req));
    cbor_rd_init(&rd, p, len);
    if (cbor_rd_next(&rd, &t) != 0) {
        return ERR_INVALID_OPERATION;
    }
    if (t.type == CBOR_TOK_MAP || t.type == CBOR_TOK_MAP_INDEF) {
        /* {"Variant": value}: exactly one pair */
        if (t.type == CBOR_TOK_MAP && t.u != 1) {
            return ERR_INVALID_OPERATION;
        }
        if (cbor_rd_next(&rd, &k) != 0 ||
            !read_ident(&rd, &k, name_buf, &name, &name_len, &index)) {
            return ERR_INVALID_OPERATION;
        }
        op = ident_op(name, name_len, index);
        if (op == OP_COUNT) {
            return ERR_INVALID_OPERATION;
        }
        ok = ops_desc[op].unit ? read_unit(&rd)
                               : read_struct(&rd, &ops_desc[op], s, req);
        if (!ok) {
            return ERR_INVALID_OPERATION;
        }
        if (t.type == CBOR_TOK_MAP_INDEF &&
            (cbor_rd_next(&rd, &k) != 0 || k.type != CBOR_TOK_BREAK)) {
            return ERR_INVALID_OPERATION;
        }
    } else {
        /* "Variant": only unit variants can be named alone */
        if (!read_ident(&rd, &t, name_buf, &name, &name_len, &index)) {
            return ERR_INVALID_OPERATION;
        }
        op = ident_op(name, name_len, index);
        if (op == OP_COUNT || !ops_desc[op].unit) {
            return ERR_INVALID_OPERATION;
        }
    }
    if (!cbor_rd_done(&rd)) {
        return ERR_INVALID_OPERATION;
    }
    req->op = op;
    return ERR_NONE;
}

/* {"Error": "<name>"} */
static void put_error(struct cbor_wr *w, enum nsm_wire_err e)
{
    cbor_put_map(w, 1);
    cbor_put_cstr(w, "Error");
    cbor_put_cstr(w, wire_err_names[e]);
}

/* {"<Variant>": {  with @n_fields inner pairs to follow */
static void put_variant(struct cbor_wr *w, const char *variant, size_t n_fields)
{
    cbor_put_map(w, 1);
    cbor_put_cstr(w, variant);
    cbor_put_map(w, n_fields);
}

static bool pcr_locked(const struct nsm *nsm, unsigned i)
{
    return (nsm->locked >> i) & 1u;
}

static enum nsm_wire_err
do_describe_pcr(struct nsm *nsm, const struct nsm_req *req, struct cbor_wr *w)
{
    unsigned i = req->u16[0];

    if (i >= NSM_PCR_COUNT) {
        return ERR_INVALID_INDEX;
    }
    put_variant(w, "DescribePCR", 2);
    cbor_put_cstr(w, "lock");
    cbor_put_bool(w, pcr_locked(nsm, i));
    cbor_put_cstr(w, "data");
    cbor_put_bytes(w, nsm->pcr[i], NSM_PCR_SIZE);
    return ERR_NONE;
}

static int do_extend_pcr(struct nsm *nsm, const struct nsm_req *req,
                         struct cbor_wr *w, enum nsm_wire_err *err)
{
    unsigned i = req->u16[0];
    const struct req_bytes *data = &req->bytes[1];
    uint8_t digest[NSM_PCR_SIZE];
    uint8_t *out;

    if (i >= NSM_PCR_COUNT) {
        *err = ERR_INVALID_INDEX;
        return NSM_OK;
    }
    if (pcr_locked(nsm, i)) {
        *err = ERR_READ_ONLY_INDEX;
        return NSM_OK;
    }
    /*
     * The new value is computed here, goes into the bank, and only then is
     * written to the response: the bank never takes anything back from the
     * response buffer, whoever else can see it.
     */
    if (crypto_sha384_2(nsm->pcr[i], NSM_PCR_SIZE, data->p, data->len,
                        digest) != 0) {
        return NSM_ERR_INTERNAL;
    }
    put_variant(w, "ExtendPCR", 1);
    cbor_put_cstr(w, "data");
    cbor_put_bytes_head(w, NSM_PCR_SIZE);
    out = cbor_wr_reserve(w, NSM_PCR_SIZE);
    if (out == NULL) {
        *err = ERR_NONE; /* overflow: the caller answers InternalError, and
                          * the bank stays as it was */
        return NSM_OK;
    }
    memcpy(nsm->pcr[i], digest, NSM_PCR_SIZE);
    memcpy(out, digest, NSM_PCR_SIZE);
    *err = ERR_NONE;
    return NSM_OK;
}

static enum nsm_wire_err do_lock_pcr(struct nsm *nsm, const struct nsm_req *req,
                                     struct cbor_wr *w)
{
    unsigned i = req->u16[0];

    if (i >= NSM_PCR_COUNT) {
        return ERR_INVALID_INDEX;
    }
    if (pcr_locked(nsm, i)) {
        return ERR_READ_ONLY_INDEX;
    }
    cbor_put_cstr(w, "LockPCR");
    if (!w->overflow) {
        nsm->locked |= 1u << i;
    }
    return ERR_NONE;
}

static enum nsm_wire_err
do_lock_pcrs(struct nsm *nsm, const struct nsm_req *req, struct cbor_wr *w)
{
    unsigned range = req->u16[0];

    /* [0, range) with range == NSM_PCR_COUNT locking everything */
    if (range > NSM_PCR_COUNT) {
        return ERR_INVALID_INDEX;
    }
    cbor_put_cstr(w, "LockPCRs");
    if (!w->overflow && range > 0) {
        nsm->locked |= range == 32 ? UINT32_MAX : (1u << range) - 1;
    }
    return ERR_NONE;
}

static unsigned n_locked(const struct nsm *nsm)
{
    return (unsigned)__builtin_popcount(nsm->locked);
}

static enum nsm_wire_err do_describe_nsm(struct nsm *nsm, struct cbor_wr *w)
{
    unsigned i;

    /* serde declaration order of NSMAPI's DescribeNSM response */
    put_variant(w, "DescribeNSM", 7);
    cbor_put_cstr(w, "version_major");
    cbor_put_uint(w, NSM_VERSION_MAJOR);
    cbor_put_cstr(w, "version_minor");
    cbor_put_uint(w, NSM_VERSION_MINOR);
    cbor_put_cstr(w, "version_patch");
    cbor_put_uint(w, NSM_VERSION_PATCH);
    cbor_put_cstr(w, "module_id");
    cbor_put_cstr(w, nsm->boot.module_id);
    cbor_put_cstr(w, "max_pcrs");
    cbor_put_uint(w, NSM_PCR_COUNT);
    cbor_put_cstr(w, "locked_pcrs");
    cbor_put_array(w, n_locked(nsm));
    for (i = 0; i < NSM_PCR_COUNT; i++) {
        if (pcr_locked(nsm, i)) {
            cbor_put_uint(w, i);
        }
    }
    cbor_put_cstr(w, "digest");
    cbor_put_cstr(w, "SHA384");
    return ERR_NONE;
}

/*
 * a1 69 "GetRandom" a1 66 "random" 59 01 00 <256 bytes>: the exact bytes
 * Linux's nsm_rng_read() expects (Linux drivers/misc/nsm.c). The random bytes
 * are produced in place.
 */
static int do_get_random(struct nsm *nsm, struct cbor_wr *w)
{
    uint8_t *out;

    put_variant(w, "GetRandom", 1);
    cbor_put_cstr(w, "random");
    cbor_put_bytes_head(w, NSM_RANDOM_SIZE);
    out = cbor_wr_reserve(w, NSM_RANDOM_SIZE);
    if (out == NULL) {
        return NSM_OK; /* overflow: the caller answers InternalError */
    }
    if (nsm->ops->random(nsm->ops_ctx, out, NSM_RANDOM_SIZE) != 0) {
        return NSM_ERR_INTERNAL;
    }
    return NSM_OK;
}

/* bstr, or null when absent: Option<ByteBuf> */
static void put_opt_bytes(struct cbor_wr *w, const struct req_bytes *b)
{
    if (b->present) {
        cbor_put_bytes(w, b->p, b->len);
    } else {
        cbor_put_null(w);
    }
}

/*
 * The response before the COSE_Sign1: a1 6b "Attestation" a1 68 "document"
 * and the document's bstr head.
 */
#define ATT_RESP_HEAD_FIXED (1 + 12 + 1 + 9)
/*
 * Where the payload is encoded: room for the largest heads (3-byte bstr
 * heads suffice because nothing exceeds NSM_RESPONSE_MAX_SIZE).
 */
#define ATT_PAYLOAD_OFF (ATT_RESP_HEAD_FIXED + 3 + 7 + 3)

static bool signer_ok(const struct nsm_signer *sg)
{
    size_t i;

    if (sg == NULL || sg->key == NULL || sg->cert == NULL ||
        sg->n_cabundle > NSM_CABUNDLE_MAX) {
        return false;
    }
    for (i = 0; i < sg->n_cabundle; i++) {
        if (sg->cabundle[i] == NULL && sg->cabundle_len[i] > 0) {
            return false;
        }
    }
    return true;
}

/*
 * Build {"Attestation": {"document": COSE_Sign1}} in @resp. The payload is
 * encoded once at ATT_PAYLOAD_OFF, signed in place, and the heads are
 * written in front of it; only when the payload is under 256 bytes (shorter
 * heads) does the finished response move down by a byte or two.
 * Return: NSM_OK with *@resp_len set (0 when it does not fit), or
 * NSM_ERR_INTERNAL.
 */
static int do_attestation(struct nsm *nsm, const struct nsm_req *req,
                          uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    const struct nsm_signer *sg = NULL;
    size_t cap =
        resp_cap < NSM_RESPONSE_MAX_SIZE ? resp_cap : NSM_RESPONSE_MAX_SIZE;
    size_t cose_off, cose_len, head_len, start, i;
    struct cbor_wr w;
    uint64_t now;

    *resp_len = 0;
    now = nsm->ops->now_ms(nsm->ops_ctx);
    if (nsm->ops->get_signer(nsm->ops_ctx, now, &sg) != 0 || !signer_ok(sg)) {
        return NSM_ERR_INTERNAL;
    }
    if (cap < ATT_PAYLOAD_OFF + COSE_SIGN1_TAIL_SIZE) {
        return NSM_OK;
    }
    cbor_wr_init(&w, resp + ATT_PAYLOAD_OFF,
                 cap - ATT_PAYLOAD_OFF - COSE_SIGN1_TAIL_SIZE);

    /* AttestationDoc in real NSM's field order (AWS nsm-api
     * docs/attestation_process.md) */
    cbor_put_map(&w, 9);
    cbor_put_cstr(&w, "module_id");
    cbor_put_cstr(&w, nsm->boot.module_id);
    cbor_put_cstr(&w, "digest");
    cbor_put_cstr(&w, "SHA384");
    cbor_put_cstr(&w, "timestamp");
    cbor_put_uint64_full(&w, now);
    cbor_put_cstr(&w, "pcrs");
    cbor_put_map(&w, n_locked(nsm));
    for (i = 0; i < NSM_PCR_COUNT; i++) {
        if (pcr_locked(nsm, (unsigned)i)) {
            cbor_put_uint(&w, i);
            cbor_put_bytes(&w, nsm->pcr[i], NSM_PCR_SIZE);
        }
    }
    cbor_put_cstr(&w, "certificate");
    cbor_put_bytes(&w, sg->cert, sg->cert_len);
    cbor_put_cstr(&w, "cabundle");
    cbor_put_array(&w, sg->n_cabundle);
    for (i = 0; i < sg->n_cabundle; i++) {
        cbor_put_bytes(&w, sg->cabundle[i], sg->cabundle_len[i]);
    }
    cbor_put_cstr(&w, "public_key");
    put_opt_bytes(&w, &req->bytes[2]);
    cbor_put_cstr(&w, "user_data");
    put_opt_bytes(&w, &req->bytes[0]);
    cbor_put_cstr(&w, "nonce");
    put_opt_bytes(&w, &req->bytes[1]);
    if (w.overflow) {
        return NSM_OK;
    }

    switch (cose_sign1_seal(sg->key, resp, cap, ATT_PAYLOAD_OFF, w.len,
                            &cose_off, &cose_len)) {
    case COSE_OK:
        break;
    case COSE_ERR_SPACE:
        return NSM_OK;
    case COSE_ERR_SIGN:
    default:
        return NSM_ERR_INTERNAL;
    }

    head_len = ATT_RESP_HEAD_FIXED + cbor_head_size(cose_len);
    BUG_ON(head_len > cose_off);
    start = cose_off - head_len;
    cbor_wr_init(&w, resp + start, head_len);
    put_variant(&w, "Attestation", 1);
    cbor_put_cstr(&w, "document");
    cbor_put_bytes_head(&w, cose_len);
    BUG_ON(w.overflow || w.len != head_len);
    if (start > 0) {
        memmove(resp, resp + start, head_len + cose_len);
    }
    *resp_len = head_len + cose_len;
    return NSM_OK;
}

/* Write {"Error": @e} from the start of @resp. */
static int answer_error(enum nsm_wire_err e, uint8_t *resp, size_t resp_cap,
                        size_t *resp_len)
{
    struct cbor_wr w;

    cbor_wr_init(&w, resp, resp_cap);
    put_error(&w, e);
    if (w.overflow) {
        *resp_len = 0;
        return NSM_ERR_RESP_SIZE;
    }
    *resp_len = w.len;
    return NSM_OK;
}

/* see nsm.h */
int nsm_handle(struct nsm *nsm, const uint8_t *req, size_t req_len,
               uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct scratch s;
    struct nsm_req r;
    struct cbor_wr w;
    enum nsm_wire_err e;
    int rc = NSM_OK;

    *resp_len = 0;
    s.used = 0;
    e = parse_req(req, req_len, &s, &r);
    if (e != ERR_NONE) {
        return answer_error(e, resp, resp_cap, resp_len);
    }

    cbor_wr_init(&w, resp, resp_cap);
    switch (r.op) {
    case OP_DESCRIBE_PCR:
        e = do_describe_pcr(nsm, &r, &w);
        break;
    case OP_EXTEND_PCR:
        rc = do_extend_pcr(nsm, &r, &w, &e);
        break;
    case OP_LOCK_PCR:
        e = do_lock_pcr(nsm, &r, &w);
        break;
    case OP_LOCK_PCRS:
        e = do_lock_pcrs(nsm, &r, &w);
        break;
    case OP_DESCRIBE_NSM:
        e = do_describe_nsm(nsm, &w);
        break;
    case OP_GET_RANDOM:
        rc = do_get_random(nsm, &w);
        break;
    case OP_ATTESTATION:
        rc = do_attestation(nsm, &r, resp, resp_cap, resp_len);
        if (rc == NSM_OK && *resp_len == 0) {
            return answer_error(ERR_INTERNAL_ERROR, resp, resp_cap, resp_len);
        }
        break;
    case OP_COUNT:
    default:
        e = ERR_INVALID_OPERATION;
        break;
    }
    if (rc != NSM_OK) {
        /* the transport may forward this; state is unchanged */
        (void)answer_error(ERR_INTERNAL_ERROR, resp, resp_cap, resp_len);
        return rc;
    }
    if (r.op == OP_ATTESTATION) {
        return NSM_OK;
    }
    if (e != ERR_NONE) {
        return answer_error(e, resp, resp_cap, resp_len);
    }
    if (w.overflow) {
        /* a success that does not fit; the handlers changed nothing */
        return answer_error(ERR_INTERNAL_ERROR, resp, resp_cap, resp_len);
    }
    *resp_len = w.len;
    return NSM_OK;
}

/* PCR = SHA384(0^48 || s): one extend from zero, as real NSM boots. */
static int boot_extend(uint8_t pcr[NSM_PCR_SIZE], const char *s)
{
    static const uint8_t zero[NSM_PCR_SIZE];

    return crypto_sha384_2(zero, sizeof(zero), s, strlen(s), pcr);
}

static bool boot_str_ok(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

/* see nsm.h */
int nsm_reset(struct nsm *nsm)
{
    const struct nsm_boot *b = &nsm->boot;
    unsigned i;

    memset(nsm->pcr, 0, sizeof(nsm->pcr));
    nsm->locked = 0;
    for (i = 0; i < NSM_BOOT_PCR_COUNT; i++) {
        if (b->pcr_set & (1u << i)) {
            memcpy(nsm->pcr[i], b->pcr[i], NSM_PCR_SIZE);
        }
    }
    if (!(b->pcr_set & (1u << 3)) && b->parent_role_arn[0] != '\0' &&
        boot_extend(nsm->pcr[3], b->parent_role_arn) != 0) {
        return NSM_ERR_INTERNAL;
    }
    if (!(b->pcr_set & (1u << 4)) && b->parent_id[0] != '\0' &&
        boot_extend(nsm->pcr[4], b->parent_id) != 0) {
        return NSM_ERR_INTERNAL;
    }
    if (b->debug_mode) {
        /* debug enclaves report the image measurements as zero */
        memset(nsm->pcr[0], 0, NSM_PCR_SIZE);
        memset(nsm->pcr[1], 0, NSM_PCR_SIZE);
        memset(nsm->pcr[2], 0, NSM_PCR_SIZE);
        memset(nsm->pcr[8], 0, NSM_PCR_SIZE);
    }
    nsm->locked = (1u << NSM_BOOT_PCR_COUNT) - 1;
    return NSM_OK;
}

/* see nsm.h */
int nsm_init(struct nsm *nsm, const struct nsm_boot *boot,
             const struct nsm_platform_ops *ops, void *ops_ctx)
{
    memset(nsm, 0, sizeof(*nsm));
    if (boot == NULL || ops == NULL || ops->now_ms == NULL ||
        ops->random == NULL || ops->get_signer == NULL ||
        !boot_str_ok(boot->module_id, sizeof(boot->module_id)) ||
        boot->module_id[0] == '\0' ||
        !boot_str_ok(boot->parent_role_arn, sizeof(boot->parent_role_arn)) ||
        !boot_str_ok(boot->parent_id, sizeof(boot->parent_id))) {
        return NSM_ERR_CONFIG;
    }
    nsm->boot = *boot;
    nsm->ops = ops;
    nsm->ops_ctx = ops_ctx;
    if (crypto_init() != 0) {
        return NSM_ERR_INTERNAL;
    }
    return nsm_reset(nsm);
}

/* see nsm.h */
const char *nsm_strerror(int status)
{
    switch (status) {
    case NSM_OK:
        return "success";
    case NSM_ERR_INTERNAL:
        return "internal failure (platform callback or crypto)";
    case NSM_ERR_RESP_SIZE:
        return "response buffer too small for any response";
    case NSM_ERR_CONFIG:
        return "invalid NSM boot configuration or platform ops";
    default:
        return "unknown NSM status";
    }
}
