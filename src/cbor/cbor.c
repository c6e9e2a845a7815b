/* SPDX-License-Identifier: MIT */
/*
 * A pull reader built on libcbor's callback-driven cbor_stream_decode(): each
 * call decodes exactly one item head, and the callbacks below record it in a
 * struct cbor_tok. The writer wraps cbor_encode_*() with a capacity check.
 */
#include "cbor/cbor.h"

#include <string.h>

#include <cbor.h>

static struct cbor_tok *tok(void *ctx)
{
    return ctx;
}

static void on_uint8(void *c, uint8_t v)
{
    tok(c)->type = CBOR_TOK_UINT;
    tok(c)->u = v;
}
static void on_uint16(void *c, uint16_t v)
{
    tok(c)->type = CBOR_TOK_UINT;
    tok(c)->u = v;
}
static void on_uint32(void *c, uint32_t v)
{
    tok(c)->type = CBOR_TOK_UINT;
    tok(c)->u = v;
}
static void on_uint64(void *c, uint64_t v)
{
    tok(c)->type = CBOR_TOK_UINT;
    tok(c)->u = v;
}
static void on_negint8(void *c, uint8_t v)
{
    tok(c)->type = CBOR_TOK_NEGINT;
    tok(c)->u = v;
}
static void on_negint16(void *c, uint16_t v)
{
    tok(c)->type = CBOR_TOK_NEGINT;
    tok(c)->u = v;
}
static void on_negint32(void *c, uint32_t v)
{
    tok(c)->type = CBOR_TOK_NEGINT;
    tok(c)->u = v;
}
static void on_negint64(void *c, uint64_t v)
{
    tok(c)->type = CBOR_TOK_NEGINT;
    tok(c)->u = v;
}
static void on_bytes(void *c, cbor_data p, size_t len)
{
    tok(c)->type = CBOR_TOK_BYTES;
    tok(c)->p = p;
    tok(c)->len = len;
}
static void on_bytes_indef(void *c)
{
    tok(c)->type = CBOR_TOK_BYTES_INDEF;
}
static void on_text(void *c, cbor_data p, size_t len)
{
    tok(c)->type = CBOR_TOK_TEXT;
    tok(c)->p = p;
    tok(c)->len = len;
}
static void on_text_indef(void *c)
{
    tok(c)->type = CBOR_TOK_TEXT_INDEF;
}
static void on_array(void *c, size_t n)
{
    tok(c)->type = CBOR_TOK_ARRAY;
    tok(c)->u = n;
}
static void on_array_indef(void *c)
{
    tok(c)->type = CBOR_TOK_ARRAY_INDEF;
}
static void on_map(void *c, size_t n)
{
    tok(c)->type = CBOR_TOK_MAP;
    tok(c)->u = n;
}
static void on_map_indef(void *c)
{
    tok(c)->type = CBOR_TOK_MAP_INDEF;
}
static void on_tag(void *c, uint64_t v)
{
    tok(c)->type = CBOR_TOK_TAG;
    tok(c)->u = v;
}
static void on_float(void *c, float v)
{
    tok(c)->type = CBOR_TOK_FLOAT;
}
static void on_double(void *c, double v)
{
    tok(c)->type = CBOR_TOK_FLOAT;
}
static void on_undefined(void *c)
{
    tok(c)->type = CBOR_TOK_UNDEFINED;
}
static void on_null(void *c)
{
    tok(c)->type = CBOR_TOK_NULL;
}
static void on_bool(void *c, bool b)
{
    tok(c)->type = CBOR_TOK_BOOL;
    tok(c)->b = b;
}
static void on_break(void *c)
{
    tok(c)->type = CBOR_TOK_BREAK;
}

/*
 * libcbor 0.8's header comments for the string and collection members are
 * shifted by one line; the assignments follow streaming.c's behaviour.
 */
static const struct cbor_callbacks callbacks = {
    .uint8 = on_uint8,
    .uint16 = on_uint16,
    .uint32 = on_uint32,
    .uint64 = on_uint64,
    .negint8 = on_negint8,
    .negint16 = on_negint16,
    .negint32 = on_negint32,
    .negint64 = on_negint64,
    .byte_string_start = on_bytes_indef,
    .byte_string = on_bytes,
    .string = on_text,
    .string_start = on_text_indef,
    .indef_array_start = on_array_indef,
    .array_start = on_array,
    .indef_map_start = on_map_indef,
    .map_start = on_map,
    .tag = on_tag,
    .float2 = on_float,
    .float4 = on_float,
    .float8 = on_double,
    .undefined = on_undefined,
    .null = on_null,
    .boolean = on_bool,
    .indef_break = on_break,
};

/* see cbor.h */
void cbor_rd_init(struct cbor_rd *rd, const uint8_t *p, size_t len)
{
    rd->p = p;
    rd->len = len;
}

/* see cbor.h */
int cbor_rd_next(struct cbor_rd *rd, struct cbor_tok *t)
{
    struct cbor_decoder_result r;

    if (rd->len == 0) {
        return -1;
    }
    memset(t, 0, sizeof(*t));
    t->type = CBOR_TOK_BREAK;
    if (rd->p[0] >= 0xc6 && rd->p[0] <= 0xd4) {
        /*
         * Tags 6..20 in the head byte are well-formed (RFC 8949 §3.4), but
         * libcbor 0.8 reports them as errors ("unassigned tag"), while its
         * encoder emits exactly these bytes for such tags.
         */
        t->type = CBOR_TOK_TAG;
        t->u = (uint64_t)(rd->p[0] - 0xc0);
        t->head = rd->p;
        rd->p++;
        rd->len--;
        return 0;
    }
    r = cbor_stream_decode(rd->p, rd->len, &callbacks, t);
    if (r.status != CBOR_DECODER_FINISHED || r.read == 0 || r.read > rd->len) {
        return -1;
    }
    t->head = rd->p;
    rd->p += r.read;
    rd->len -= r.read;
    return 0;
}

static int skip_depth(struct cbor_rd *rd, const struct cbor_tok *t,
                      unsigned depth)
{
    struct cbor_tok inner;
    uint64_t i, n;

    if (depth > CBOR_MAX_DEPTH) {
        return -1;
    }
    switch (t->type) {
    case CBOR_TOK_ARRAY:
    case CBOR_TOK_MAP:
        n = t->type == CBOR_TOK_MAP ? 2 * t->u : t->u;
        if (t->type == CBOR_TOK_MAP && t->u > UINT64_MAX / 2) {
            return -1;
        }
        for (i = 0; i < n; i++) {
            /* every item takes at least one byte: bound by input size */
            if (cbor_rd_next(rd, &inner) != 0 || inner.type == CBOR_TOK_BREAK ||
                skip_depth(rd, &inner, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case CBOR_TOK_ARRAY_INDEF:
    case CBOR_TOK_MAP_INDEF:
        for (n = 0;; n++) {
            if (cbor_rd_next(rd, &inner) != 0) {
                return -1;
            }
            if (inner.type == CBOR_TOK_BREAK) {
                /* a map needs an even number of items */
                return (t->type == CBOR_TOK_MAP_INDEF && n % 2 != 0) ? -1 : 0;
            }
            if (skip_depth(rd, &inner, depth + 1) != 0) {
                return -1;
            }
        }
    case CBOR_TOK_BYTES_INDEF:
    case CBOR_TOK_TEXT_INDEF:
        for (;;) {
            enum cbor_tok_type want = t->type == CBOR_TOK_BYTES_INDEF
                                          ? CBOR_TOK_BYTES
                                          : CBOR_TOK_TEXT;
            if (cbor_rd_next(rd, &inner) != 0) {
                return -1;
            }
            if (inner.type == CBOR_TOK_BREAK) {
                return 0;
            }
            if (inner.type != want) {
                return -1;
            }
        }
    case CBOR_TOK_TAG:
        if (cbor_rd_next(rd, &inner) != 0 || inner.type == CBOR_TOK_BREAK) {
            return -1;
        }
        return skip_depth(rd, &inner, depth + 1);
    case CBOR_TOK_BREAK:
        return -1;
    case CBOR_TOK_UINT:
    case CBOR_TOK_NEGINT:
    case CBOR_TOK_BYTES:
    case CBOR_TOK_TEXT:
    case CBOR_TOK_BOOL:
    case CBOR_TOK_NULL:
    case CBOR_TOK_UNDEFINED:
    case CBOR_TOK_FLOAT:
        return 0;
    default:
        return -1;
    }
}

/* see cbor.h */
int cbor_rd_skip(struct cbor_rd *rd, const struct cbor_tok *t)
{
    struct cbor_rd save = *rd;

    if (skip_depth(rd, t, 0) != 0) {
        *rd = save;
        return -1;
    }
    return 0;
}

/* see cbor.h */
int cbor_rd_string(struct cbor_rd *rd, const struct cbor_tok *t, uint8_t *out,
                   size_t cap, size_t *out_len)
{
    struct cbor_rd save = *rd;
    struct cbor_tok chunk;
    enum cbor_tok_type want;
    size_t len = 0;

    switch (t->type) {
    case CBOR_TOK_BYTES:
    case CBOR_TOK_TEXT:
        if (t->len > cap) {
            return -1;
        }
        if (t->len > 0) {
            memcpy(out, t->p, t->len);
        }
        *out_len = t->len;
        return 0;
    case CBOR_TOK_BYTES_INDEF:
    case CBOR_TOK_TEXT_INDEF:
        want = t->type == CBOR_TOK_BYTES_INDEF ? CBOR_TOK_BYTES : CBOR_TOK_TEXT;
        for (;;) {
            if (cbor_rd_next(rd, &chunk) != 0) {
                goto err;
            }
            if (chunk.type == CBOR_TOK_BREAK) {
                *out_len = len;
                return 0;
            }
            if (chunk.type != want || chunk.len > cap - len) {
                goto err;
            }
            if (chunk.len > 0) {
                memcpy(out + len, chunk.p, chunk.len);
            }
            len += chunk.len;
        }
    default:
        return -1;
    }
err:
    *rd = save;
    return -1;
}

/* see cbor.h */
void cbor_wr_init(struct cbor_wr *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

/* Apply one libcbor encoder; a return of 0 means it did not fit. */
static void put_head(struct cbor_wr *w, size_t written)
{
    if (written == 0) {
        w->overflow = true;
    } else {
        w->len += written;
    }
}

#define ROOM(w) ((w)->overflow ? NULL : (w)->buf + (w)->len)
#define LEFT(w) ((w)->overflow ? 0 : (w)->cap - (w)->len)

/* see cbor.h */
void cbor_put_uint(struct cbor_wr *w, uint64_t v)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_uint(v, ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
void cbor_put_uint64_full(struct cbor_wr *w, uint64_t v)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_uint64(v, ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
void cbor_put_negint(struct cbor_wr *w, uint64_t v)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_negint(v, ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
void cbor_put_bytes_head(struct cbor_wr *w, size_t len)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_bytestring_start(len, ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
void cbor_put_bytes(struct cbor_wr *w, const void *p, size_t len)
{
    cbor_put_bytes_head(w, len);
    cbor_put_raw(w, p, len);
}

/* see cbor.h */
void cbor_put_text(struct cbor_wr *w, const void *p, size_t len)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_string_start(len, ROOM(w), LEFT(w)));
    }
    cbor_put_raw(w, p, len);
}

/* see cbor.h */
void cbor_put_cstr(struct cbor_wr *w, const char *s)
{
    cbor_put_text(w, s, strlen(s));
}

/* see cbor.h */
void cbor_put_array(struct cbor_wr *w, size_t n)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_array_start(n, ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
void cbor_put_map(struct cbor_wr *w, size_t n)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_map_start(n, ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
void cbor_put_map_indef(struct cbor_wr *w)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_indef_map_start(ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
void cbor_put_break(struct cbor_wr *w)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_break(ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
void cbor_put_tag(struct cbor_wr *w, uint64_t tag)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_tag(tag, ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
void cbor_put_bool(struct cbor_wr *w, bool b)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_bool(b, ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
void cbor_put_null(struct cbor_wr *w)
{
    if (!w->overflow) {
        put_head(w, cbor_encode_null(ROOM(w), LEFT(w)));
    }
}

/* see cbor.h */
uint8_t *cbor_wr_reserve(struct cbor_wr *w, size_t n)
{
    uint8_t *p;

    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return NULL;
    }
    p = w->buf + w->len;
    w->len += n;
    return p;
}

/* see cbor.h */
void cbor_put_raw(struct cbor_wr *w, const void *p, size_t len)
{
    uint8_t *dst = cbor_wr_reserve(w, len);

    if (dst != NULL && len > 0) {
        memcpy(dst, p, len);
    }
}

/* see cbor.h */
size_t cbor_head_size(uint64_t v)
{
    if (v < 24) {
        return 1;
    }
    if (v <= 0xff) {
        return 2;
    }
    if (v <= 0xffff) {
        return 3;
    }
    if (v <= 0xffffffffu) {
        return 5;
    }
    return 9;
}
