/* SPDX-License-Identifier: MIT */
/*
 * Bounded, non-allocating CBOR reading and writing over libcbor's streaming
 * decoder (cbor_stream_decode) and encoder functions (cbor_encode_*). No
 * cbor_item_t trees: a reader yields one item head at a time from the
 * caller's buffer, a writer appends to the caller's buffer and becomes
 * sticky-failed on overflow.
 */
#ifndef TV_CBOR_CBOR_H
#define TV_CBOR_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting cbor_rd_skip() follows before giving up. */
#define CBOR_MAX_DEPTH 16

enum cbor_tok_type {
    CBOR_TOK_UINT,        /* u = value */
    CBOR_TOK_NEGINT,      /* value = -1 - u */
    CBOR_TOK_BYTES,       /* definite byte string: p, len */
    CBOR_TOK_TEXT,        /* definite text string: p, len (UTF-8 unchecked) */
    CBOR_TOK_BYTES_INDEF, /* indefinite byte string: chunks follow, BREAK */
    CBOR_TOK_TEXT_INDEF,  /* indefinite text string: chunks follow, BREAK */
    CBOR_TOK_ARRAY,       /* definite array: u = element count */
    CBOR_TOK_ARRAY_INDEF, /* indefinite array: items follow, BREAK */
    CBOR_TOK_MAP,         /* definite map: u = pair count */
    CBOR_TOK_MAP_INDEF,   /* indefinite map: pairs follow, BREAK */
    CBOR_TOK_TAG,         /* u = tag number; the tagged item follows */
    CBOR_TOK_BOOL,        /* b */
    CBOR_TOK_NULL,
    CBOR_TOK_UNDEFINED,
    CBOR_TOK_FLOAT, /* half, single or double; value not kept */
    CBOR_TOK_BREAK, /* end of an indefinite item */
};

/** struct cbor_tok - one item head. Pointers point into the reader's input. */
struct cbor_tok {
    enum cbor_tok_type type;
    uint64_t u;          /* value, count or tag number (see type) */
    const uint8_t *p;    /* string contents (definite strings only) */
    size_t len;          /* string length, bytes */
    bool b;              /* boolean value */
    const uint8_t *head; /* first byte of this item in the input */
};

/** struct cbor_rd - a cursor over CBOR input. Plain data: copy freely. */
struct cbor_rd {
    const uint8_t *p; /* next unread byte */
    size_t len;       /* bytes left */
};

void cbor_rd_init(struct cbor_rd *rd, const uint8_t *p, size_t len);

/**
 * cbor_rd_next() - decode the next item head into @t and advance past it.
 * Simple values other than false/true/null/undefined (e0..f3, f8 xx) have no
 * token and are refused like malformed input; nothing in NSM or COSE uses
 * them.
 * Return: 0, or -1 on malformed or truncated input (the reader is then
 * left where it was).
 */
int cbor_rd_next(struct cbor_rd *rd, struct cbor_tok *t);

/**
 * cbor_rd_skip() - having read the head @t, skip the rest of that item
 * (its elements, pairs, chunks or tagged item), at most CBOR_MAX_DEPTH deep.
 * Return: 0, or -1 on malformed input or excessive depth.
 */
int cbor_rd_skip(struct cbor_rd *rd, const struct cbor_tok *t);

/**
 * cbor_rd_string() - having read the head @t of a byte or text string
 * (definite or indefinite), copy its contents into @out (capacity @cap).
 * For indefinite strings the chunks must all be of the same major type.
 * Return: 0 and *@out_len, or -1 on malformed input or overflow of @cap.
 */
int cbor_rd_string(struct cbor_rd *rd, const struct cbor_tok *t, uint8_t *out,
                   size_t cap, size_t *out_len);

static inline bool cbor_rd_done(const struct cbor_rd *rd)
{
    return rd->len == 0;
}

/**
 * struct cbor_wr - an append-only writer over a caller's buffer. After the
 * first write that does not fit, @overflow is set and later writes do
 * nothing; check it once at the end.
 */
struct cbor_wr {
    uint8_t *buf;  /* output buffer */
    size_t cap;    /* capacity, bytes */
    size_t len;    /* bytes written */
    bool overflow; /* a write did not fit */
};

void cbor_wr_init(struct cbor_wr *w, uint8_t *buf, size_t cap);
void cbor_put_uint(struct cbor_wr *w, uint64_t v);
/* 0x1b followed by 8 bytes whatever the value (the attestation timestamp) */
void cbor_put_uint64_full(struct cbor_wr *w, uint64_t v);
/* encodes -1 - @v */
void cbor_put_negint(struct cbor_wr *w, uint64_t v);
void cbor_put_bytes(struct cbor_wr *w, const void *p, size_t len);
void cbor_put_bytes_head(struct cbor_wr *w, size_t len);
void cbor_put_text(struct cbor_wr *w, const void *p, size_t len);
void cbor_put_cstr(struct cbor_wr *w, const char *s);
void cbor_put_array(struct cbor_wr *w, size_t n);
void cbor_put_map(struct cbor_wr *w, size_t n);
void cbor_put_map_indef(struct cbor_wr *w);
void cbor_put_break(struct cbor_wr *w);
void cbor_put_tag(struct cbor_wr *w, uint64_t tag);
void cbor_put_bool(struct cbor_wr *w, bool b);
void cbor_put_null(struct cbor_wr *w);
void cbor_put_raw(struct cbor_wr *w, const void *p, size_t len);

/**
 * cbor_wr_reserve() - claim @n bytes at the end of the output for the caller
 * to fill (e.g. random bytes or a digest written in place).
 * Return: a pointer to them, or NULL (and @overflow set).
 */
uint8_t *cbor_wr_reserve(struct cbor_wr *w, size_t n);

/* Length of the head that cbor_put_uint() etc. would write for @v. */
size_t cbor_head_size(uint64_t v);

#endif
