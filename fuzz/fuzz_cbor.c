/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the CBOR pull reader.
 *
 * Walks the input as a sequence of items with cbor_rd_next()/cbor_rd_skip(),
 * checking that the cursor stays inside the input and that a failed call
 * leaves it where it was. Strings are gathered with cbor_rd_string(), which
 * must consume exactly what cbor_rd_skip() consumes. Items the writer can
 * express are re-encoded, and re-encoding the re-encoding must give the
 * same bytes (decode∘encode is the identity on the writer's output).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor/cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Re-encode the item whose head is @t; -1 if the writer cannot say it. */
static int reencode(struct cbor_rd *rd, const struct cbor_tok *t,
                    struct cbor_wr *w, unsigned depth)
{
    struct cbor_tok in;
    uint64_t i, n;

    if (depth > CBOR_MAX_DEPTH) {
        return -1;
    }
    switch (t->type) {
    case CBOR_TOK_UINT:
        cbor_put_uint(w, t->u);
        return 0;
    case CBOR_TOK_NEGINT:
        cbor_put_negint(w, t->u);
        return 0;
    case CBOR_TOK_BYTES:
        cbor_put_bytes(w, t->p, t->len);
        return 0;
    case CBOR_TOK_TEXT:
        cbor_put_text(w, t->p, t->len);
        return 0;
    case CBOR_TOK_ARRAY:
    case CBOR_TOK_MAP:
        if (t->type == CBOR_TOK_ARRAY) {
            cbor_put_array(w, t->u);
            n = t->u;
        } else {
            if (t->u > UINT64_MAX / 2) {
                return -1;
            }
            cbor_put_map(w, t->u);
            n = 2 * t->u;
        }
        for (i = 0; i < n; i++) {
            if (cbor_rd_next(rd, &in) != 0 ||
                reencode(rd, &in, w, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case CBOR_TOK_MAP_INDEF:
        cbor_put_map_indef(w);
        for (n = 0;; n++) {
            if (cbor_rd_next(rd, &in) != 0) {
                return -1;
            }
            if (in.type == CBOR_TOK_BREAK) {
                cbor_put_break(w);
                return n % 2 == 0 ? 0 : -1;
            }
            if (reencode(rd, &in, w, depth + 1) != 0) {
                return -1;
            }
        }
    case CBOR_TOK_TAG:
        cbor_put_tag(w, t->u);
        if (cbor_rd_next(rd, &in) != 0) {
            return -1;
        }
        return reencode(rd, &in, w, depth + 1);
    case CBOR_TOK_BOOL:
        cbor_put_bool(w, t->b);
        return 0;
    case CBOR_TOK_NULL:
        cbor_put_null(w);
        return 0;
    case CBOR_TOK_BYTES_INDEF:
    case CBOR_TOK_TEXT_INDEF:
    case CBOR_TOK_ARRAY_INDEF:
    case CBOR_TOK_UNDEFINED:
    case CBOR_TOK_FLOAT:
    case CBOR_TOK_BREAK:
    default:
        return -1;
    }
}

static void check_identity(const uint8_t *item, size_t len)
{
    static uint8_t a[1 << 16], b[1 << 16];
    struct cbor_rd rd;
    struct cbor_tok t;
    struct cbor_wr wa, wb;

    cbor_rd_init(&rd, item, len);
    cbor_wr_init(&wa, a, sizeof(a));
    CHECK(cbor_rd_next(&rd, &t) == 0);
    if (reencode(&rd, &t, &wa, 0) != 0 || wa.overflow) {
        return;
    }
    /* the writer's output is canonical: it must survive a round trip */
    cbor_rd_init(&rd, a, wa.len);
    cbor_wr_init(&wb, b, sizeof(b));
    CHECK(cbor_rd_next(&rd, &t) == 0);
    CHECK(reencode(&rd, &t, &wb, 0) == 0);
    CHECK(cbor_rd_done(&rd));
    CHECK(!wb.overflow && wb.len == wa.len);
    CHECK(memcmp(a, b, wa.len) == 0);
    /* never longer than the input: heads are minimal */
    CHECK(wa.len <= len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[1 << 16];
    struct cbor_rd rd, before, after_skip;
    struct cbor_tok t;
    size_t out_len;
    int rc;

    cbor_rd_init(&rd, data, size);
    while (!cbor_rd_done(&rd)) {
        before = rd;
        if (cbor_rd_next(&rd, &t) != 0) {
            CHECK(rd.p == before.p && rd.len == before.len);
            break;
        }
        CHECK(rd.p > before.p && rd.p <= data + size);
        CHECK(rd.len == size - (size_t)(rd.p - data));
        CHECK(t.head == before.p);
        if (t.type == CBOR_TOK_BYTES || t.type == CBOR_TOK_TEXT) {
            CHECK(t.p >= data && t.len <= size && t.p + t.len <= data + size &&
                  t.p + t.len == rd.p);
        }
        if (t.type == CBOR_TOK_BREAK) {
            continue;
        }
        after_skip = rd;
        if (cbor_rd_skip(&after_skip, &t) != 0) {
            CHECK(after_skip.p == rd.p && after_skip.len == rd.len);
            break;
        }
        if (t.type == CBOR_TOK_BYTES || t.type == CBOR_TOK_TEXT ||
            t.type == CBOR_TOK_BYTES_INDEF || t.type == CBOR_TOK_TEXT_INDEF) {
            struct cbor_rd srd = rd;

            rc = cbor_rd_string(&srd, &t, out, sizeof(out), &out_len);
            /* well-formed strings fit: they are no longer than the input */
            CHECK(rc == 0 && srd.p == after_skip.p);
            CHECK(out_len <= size);
            if (out_len > 0) {
                struct cbor_rd small = rd;

                CHECK(cbor_rd_string(&small, &t, out, out_len - 1, &out_len) ==
                      -1);
                CHECK(small.p == rd.p);
            }
        }
        check_identity(before.p, (size_t)(after_skip.p - before.p));
        rd = after_skip;
    }
    return 0;
}
