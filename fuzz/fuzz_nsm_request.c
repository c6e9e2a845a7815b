/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: guest requests into nsm_handle().
 *
 * The input is up to four requests separated by the bytes "NSM|", served in
 * order on a fresh device (so state-dependent paths such as extend-then-
 * lock-then-attest are reachable and every crash reproduces from its input
 * alone). Every response must be one well-formed CBOR item of a shape a
 * real NSM client accepts: a unit-variant text, {"Error": <known name>}, or a
 * definite one-pair map whose value is the definite map of that variant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor/cbor.h"
#include "crypto/crypto.h"
#include "nsm/nsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            abort();                                                           \
        }                                                                      \
    } while (0)

static struct nsm template_dev;
static struct nsm_signer signer;
static uint8_t leaf[640], ca[4][800];
static uint64_t counter;

static uint64_t f_now_ms(void *ctx)
{
    return 1695049410860ull;
}

/* cheap deterministic bytes: fuzzing speed matters, not entropy */
static int f_random(void *ctx, void *out, size_t len)
{
    uint8_t *p = out;
    size_t i;

    for (i = 0; i < len; i++) {
        counter = counter * 6364136223846793005ull + 1;
        p[i] = (uint8_t)(counter >> 56);
    }
    return 0;
}

static int f_get_signer(void *ctx, uint64_t now_ms,
                        const struct nsm_signer **out)
{
    *out = &signer;
    return 0;
}

static const struct nsm_platform_ops f_ops = {f_now_ms, f_random, f_get_signer};

static void init_once(void)
{
    static bool done;
    struct nsm_boot b;
    size_t i;

    if (done) {
        return;
    }
    done = true;
    signer.key = crypto_key_generate_p384();
    CHECK(signer.key != NULL);
    memset(leaf, 0x30, sizeof(leaf));
    signer.cert = leaf;
    signer.cert_len = sizeof(leaf);
    for (i = 0; i < 4; i++) {
        memset(ca[i], 0x31, sizeof(ca[i]));
        signer.cabundle[i] = ca[i];
        signer.cabundle_len[i] = sizeof(ca[i]);
    }
    signer.n_cabundle = 4;
    memset(&b, 0, sizeof(b));
    strcpy(b.module_id, "i-0123456789abcdef0-enc0123456789abcdef");
    strcpy(b.parent_id, "i-0123456789abcdef0");
    b.debug_mode = true;
    CHECK(nsm_init(&template_dev, &b, &f_ops, NULL) == NSM_OK);
}

static bool tok_is(const struct cbor_tok *t, const char *s)
{
    return t->type == CBOR_TOK_TEXT && t->len == strlen(s) &&
           memcmp(t->p, s, t->len) == 0;
}

static void check_error_name(const struct cbor_tok *t)
{
    static const char *const names[] = {"InvalidArgument",  "InvalidIndex",
                                        "InvalidResponse",  "ReadOnlyIndex",
                                        "InvalidOperation", "BufferTooSmall",
                                        "InputTooLarge",    "InternalError"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (tok_is(t, names[i])) {
            return;
        }
    }
    abort();
}

/* Check that the COSE_Sign1 of an attestation is laid out as real NSM's. */
static void check_document(const struct cbor_tok *doc)
{
    static const uint8_t head[] = {0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0};
    struct cbor_rd rd;
    struct cbor_tok t;

    CHECK(doc->type == CBOR_TOK_BYTES && doc->len > sizeof(head));
    CHECK(memcmp(doc->p, head, sizeof(head)) == 0);
    cbor_rd_init(&rd, doc->p + sizeof(head), doc->len - sizeof(head));
    CHECK(cbor_rd_next(&rd, &t) == 0 && t.type == CBOR_TOK_BYTES);
    {
        struct cbor_rd pl;
        struct cbor_tok m;

        cbor_rd_init(&pl, t.p, t.len);
        CHECK(cbor_rd_next(&pl, &m) == 0 && m.type == CBOR_TOK_MAP && m.u == 9);
        CHECK(cbor_rd_skip(&pl, &m) == 0 && cbor_rd_done(&pl));
    }
    CHECK(cbor_rd_next(&rd, &t) == 0 && t.type == CBOR_TOK_BYTES &&
          t.len == 96);
    CHECK(cbor_rd_done(&rd));
}

static void check_response(const uint8_t *resp, size_t len)
{
    struct cbor_rd rd;
    struct cbor_tok t, k, v, save;

    CHECK(len > 0 && len <= NSM_RESPONSE_MAX_SIZE);
    cbor_rd_init(&rd, resp, len);
    CHECK(cbor_rd_next(&rd, &t) == 0);
    if (t.type == CBOR_TOK_TEXT) {
        CHECK(tok_is(&t, "LockPCR") || tok_is(&t, "LockPCRs"));
        CHECK(cbor_rd_done(&rd));
        return;
    }
    /* serde_cbor clients only take the definite a1 form */
    CHECK(t.type == CBOR_TOK_MAP && t.u == 1 && resp[0] == 0xa1);
    CHECK(cbor_rd_next(&rd, &k) == 0 && k.type == CBOR_TOK_TEXT);
    CHECK(cbor_rd_next(&rd, &v) == 0);
    if (tok_is(&k, "Error")) {
        check_error_name(&v);
        CHECK(cbor_rd_done(&rd));
        return;
    }
    CHECK(v.type == CBOR_TOK_MAP);
    CHECK(tok_is(&k, "DescribePCR") || tok_is(&k, "ExtendPCR") ||
          tok_is(&k, "DescribeNSM") || tok_is(&k, "Attestation") ||
          tok_is(&k, "GetRandom"));
    if (tok_is(&k, "GetRandom")) {
        CHECK(len == 22 + NSM_RANDOM_SIZE);
        CHECK(memcmp(resp + 19, "\x59\x01\x00", 3) == 0);
    }
    if (tok_is(&k, "Attestation")) {
        struct cbor_tok dk, dv;

        CHECK(v.u == 1);
        CHECK(cbor_rd_next(&rd, &dk) == 0 && tok_is(&dk, "document"));
        CHECK(cbor_rd_next(&rd, &dv) == 0);
        check_document(&dv);
        CHECK(cbor_rd_done(&rd));
        return;
    }
    save = v;
    CHECK(cbor_rd_skip(&rd, &save) == 0);
    CHECK(cbor_rd_done(&rd));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t resp[NSM_RESPONSE_MAX_SIZE];
    static const uint8_t sep[4] = {'N', 'S', 'M', '|'};
    struct nsm dev;
    size_t resp_len, start = 0, i, n_reqs = 0;

    init_once();
    memcpy(&dev, &template_dev, sizeof(dev));
    for (i = 0; i <= size && n_reqs < 4; i++) {
        bool at_sep =
            i + sizeof(sep) <= size && memcmp(data + i, sep, sizeof(sep)) == 0;

        if (i < size && !at_sep) {
            continue;
        }
        CHECK(nsm_handle(&dev, data + start, i - start, resp, sizeof(resp),
                         &resp_len) == NSM_OK);
        check_response(resp, resp_len);
        n_reqs++;
        start = i + sizeof(sep);
        i = start - 1;
        if (start > size) {
            break;
        }
    }
    return 0;
}
