/* SPDX-License-Identifier: MIT */
/*
 * The SPDM 1.2 responder: one request in, one response out.
 *
 * Every handler checks the connection state, then the request's size and
 * fields, and only then changes state; a refused request leaves everything
 * as it was and gets the ERROR DSP0274 names for it. Responses are built in
 * a private buffer, sealed there when secured, and copied to the caller's
 * buffer as the last step. Transcripts keep each message at its defined
 * length, never the transport's padding.
 */
#include <string.h>

#include "common/bytes.h"
#include "common/ct.h"
#include "crypto/crypto.h"
#include "spdm/spdm_priv.h"

/* What a handler asks the record layer to do after sealing its response. */
struct post {
    bool data_keys; /* FINISH_RSP sent: switch to the data keys */
    uint8_t th2[SPDM_HASH_SIZE];
    bool end_session; /* END_SESSION_ACK (or a failed FINISH) sent */
};

/* One request being answered. */
struct rq {
    struct spdm_responder *r;
    struct spdm_session *s; /* the session it came in, or NULL */
    const uint8_t *m;       /* the request (private copy) */
    size_t len;
    uint8_t *out; /* response buffer, SPDM_MSG_MAX */
    size_t out_len;
    size_t out_cap; /* what the peer can take */
    struct post post;
};

static int err(struct rq *q, uint8_t code, uint8_t data)
{
    q->out[0] = q->r->c.version != 0 ? q->r->c.version : SPDM_VERSION_10;
    q->out[1] = SPDM_ERROR;
    q->out[2] = code;
    q->out[3] = data;
    q->out_len = 4;
    return SPDM_OK;
}

static void hdr(struct rq *q, uint8_t code, uint8_t p1, uint8_t p2)
{
    q->out[0] = q->r->c.version;
    q->out[1] = code;
    q->out[2] = p1;
    q->out[3] = p2;
}

static bool peer_has(const struct spdm_responder *r, uint32_t cap)
{
    return (r->c.peer_caps & cap) != 0;
}

static void end_session(struct spdm_responder *r, struct spdm_session *s)
{
    uint32_t id = s->id;

    spdm_session_free(s);
    if (r->ops->session_ended != NULL) {
        r->ops->session_ended(r->ops_ctx, id);
    }
}

static void end_all_sessions(struct spdm_responder *r)
{
    for (size_t i = 0; i < SPDM_SESSIONS_MAX; i++) {
        if (r->c.sessions[i].state != SPDM_SESSION_FREE) {
            end_session(r, &r->c.sessions[i]);
        }
    }
}

/* see spdm.h */
void spdm_responder_reset(struct spdm_responder *r)
{
    end_all_sessions(r);
    spdm_conn_reset(&r->c);
    r->out_secured = false;
}

/*
 * GET_VERSION {0x10, 0x84, 0, 0} -> VERSION {0x10, 0x04, 0, 0, Reserved,
 * VersionNumberEntryCount, entries u16 LE (Major<<12 | Minor<<8)}. Always
 * allowed outside a session; it restarts the connection.
 */
static int on_get_version(struct rq *q)
{
    struct spdm_responder *r = q->r;

    if (q->s != NULL) {
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    }
    if (q->m[0] != SPDM_VERSION_10) {
        /* GET_VERSION is always sent as version 1.0 */
        return err(q, SPDM_ERROR_VERSION_MISMATCH, 0);
    }
    spdm_responder_reset(r);
    r->c.version = SPDM_VERSION_10;
    hdr(q, SPDM_VERSION, 0, 0);
    q->out[4] = 0;
    q->out[5] = 1;
    store_le16(q->out + 6, 0x1200);
    q->out_len = 8;
    if (!spdm_ts_add(r->c.vca, &r->c.vca_len, sizeof(r->c.vca), q->m, 4) ||
        !spdm_ts_add(r->c.vca, &r->c.vca_len, sizeof(r->c.vca), q->out, 8)) {
        return SPDM_ERR_INTERNAL;
    }
    r->c.state = SPDM_CONN_AFTER_VERSION;
    /* VERSION's header carries 1.0; later messages the negotiated 1.2 */
    return SPDM_OK;
}

/*
 * GET_CAPABILITIES (1.2, 20 bytes): hdr, Reserved, CTExponent, Reserved[2],
 * Flags u32, DataTransferSize u32, MaxSPDMmsgSize u32. CAPABILITIES: same.
 */
static int on_get_capabilities(struct rq *q)
{
    struct spdm_responder *r = q->r;
    uint32_t flags, dts, max;

    if (q->s != NULL || r->c.state != SPDM_CONN_AFTER_VERSION) {
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    }
    if (q->len < SPDM_GET_CAPS_SIZE) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    flags = load_le32(q->m + 8);
    dts = load_le32(q->m + 12);
    max = load_le32(q->m + 16);
    /* ENCRYPT/MAC need a way to make keys, and KEY_EX needs a use for
     * them (DSP0274 1.2 table 11); PSK_CAP = 11b is reserved. */
    if (dts < SPDM_MIN_TRANSFER || max < dts || q->m[5] > 31 ||
        (flags & SPDM_CAP_PSK) == SPDM_CAP_PSK ||
        ((flags & (SPDM_CAP_ENCRYPT | SPDM_CAP_MAC)) != 0 &&
         (flags & (SPDM_CAP_KEY_EX | SPDM_CAP_PSK)) == 0) ||
        ((flags & SPDM_CAP_KEY_EX) != 0 &&
         (flags & (SPDM_CAP_ENCRYPT | SPDM_CAP_MAC)) == 0)) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    r->c.version = SPDM_VERSION_12;
    r->c.peer_caps = flags;
    r->c.peer_data_transfer_size = dts;
    r->c.peer_max_msg_size = max;
    hdr(q, SPDM_CAPABILITIES, 0, 0);
    memset(q->out + 4, 0, SPDM_CAPS_SIZE - 4);
    q->out[5] = 20; /* CTExponent: 2^20 us */
    store_le32(q->out + 8, r->caps);
    store_le32(q->out + 12, r->data_transfer_size);
    store_le32(q->out + 16, SPDM_MSG_MAX);
    q->out_len = SPDM_CAPS_SIZE;
    if (!spdm_ts_add(r->c.vca, &r->c.vca_len, sizeof(r->c.vca), q->m,
                     SPDM_GET_CAPS_SIZE) ||
        !spdm_ts_add(r->c.vca, &r->c.vca_len, sizeof(r->c.vca), q->out,
                     SPDM_CAPS_SIZE)) {
        return SPDM_ERR_INTERNAL;
    }
    r->c.state = SPDM_CONN_AFTER_CAPS;
    return SPDM_OK;
}

/*
 * NEGOTIATE_ALGORITHMS (1.2): hdr (Param1 = number of AlgStructs), Length
 * u16, MeasurementSpecification, OtherParamsSupport, BaseAsymAlgo u32,
 * BaseHashAlgo u32, Reserved[12], ExtAsymCount, ExtHashCount, Reserved[2],
 * ExtAsym[4*n], ExtHash[4*n], AlgStructs {AlgType, AlgCount (bits 7:4 = 2,
 * 3:0 = ext count), AlgSupported u16, AlgExternal[4*n]}.
 */
static int on_negotiate_algorithms(struct rq *q)
{
    struct spdm_responder *r = q->r;
    struct bytes b;
    const uint8_t *p;
    size_t total, n_struct;
    uint32_t asym, hash;
    uint16_t sel[6] = {0};
    bool seen[6] = {false};
    uint8_t last_type = 0;
    uint8_t meas_spec, other;
    size_t n;

    if (q->s != NULL || r->c.state != SPDM_CONN_AFTER_CAPS) {
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    }
    if (q->len < SPDM_NEG_ALGS_HDR) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    total = load_le16(q->m + 4);
    n_struct = q->m[2];
    if (total < SPDM_NEG_ALGS_HDR || total > q->len || total > 128 ||
        n_struct > 4) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    meas_spec = q->m[6];
    other = q->m[7];
    asym = load_le32(q->m + 8);
    hash = load_le32(q->m + 12);
    b = bytes_of(q->m + SPDM_NEG_ALGS_HDR, total - SPDM_NEG_ALGS_HDR);
    if (q->m[28] > 20 || q->m[29] > 20 ||
        !bytes_skip(&b, 4 * ((size_t)q->m[28] + q->m[29]))) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    for (size_t i = 0; i < n_struct; i++) {
        uint8_t type;
        if (!bytes_take(&b, 4, &p)) {
            return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
        }
        type = p[0];
        /* types 2..5, ascending, fixed-size field of 2 bytes */
        if (type < 2 || type > 5 || type <= last_type || (p[1] >> 4) != 2 ||
            !bytes_skip(&b, 4 * (size_t)(p[1] & 0x0f))) {
            return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
        }
        last_type = type;
        seen[type] = true;
        sel[type] = load_le16(p + 2);
    }
    if (b.len != 0) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    /* our one set; no common signature or hash algorithm is refused */
    if ((asym & SPDM_ASYM_ECDSA_P384) == 0 || (hash & SPDM_HASH_SHA384) == 0 ||
        (meas_spec & SPDM_MEAS_SPEC_DMTF) == 0) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    sel[2] &= SPDM_DHE_SECP384R1;
    sel[3] &= SPDM_AEAD_AES_256_GCM;
    sel[4] = 0; /* no mutual authentication */
    sel[5] &= SPDM_KEY_SCHEDULE_SPDM;
    if (peer_has(r, SPDM_CAP_KEY_EX) && (r->caps & SPDM_CAP_KEY_EX) != 0 &&
        (sel[2] == 0 || sel[3] == 0 || sel[5] == 0)) {
        /* a requester that wants sessions must offer our DHE/AEAD set */
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    r->c.opaque_fmt1 = (other & SPDM_OPAQUE_DATA_FMT1) != 0;

    n = 0;
    for (uint8_t t = 2; t <= 5; t++) {
        n += seen[t] ? 1 : 0;
    }
    hdr(q, SPDM_ALGORITHMS, (uint8_t)n, 0);
    memset(q->out + 4, 0, SPDM_ALGS_HDR - 4);
    store_le16(q->out + 4, (uint16_t)(SPDM_ALGS_HDR + 4 * n));
    q->out[6] = SPDM_MEAS_SPEC_DMTF;
    q->out[7] = r->c.opaque_fmt1 ? SPDM_OPAQUE_DATA_FMT1 : 0;
    store_le32(q->out + 8, SPDM_MEAS_HASH_SHA384);
    store_le32(q->out + 12, SPDM_ASYM_ECDSA_P384);
    store_le32(q->out + 16, SPDM_HASH_SHA384);
    q->out_len = SPDM_ALGS_HDR;
    for (uint8_t t = 2; t <= 5; t++) {
        if (seen[t]) {
            q->out[q->out_len] = t;
            q->out[q->out_len + 1] = 0x20;
            store_le16(q->out + q->out_len + 2, sel[t]);
            q->out_len += 4;
        }
    }
    if (!spdm_ts_add(r->c.vca, &r->c.vca_len, sizeof(r->c.vca), q->m, total) ||
        !spdm_ts_add(r->c.vca, &r->c.vca_len, sizeof(r->c.vca), q->out,
                     q->out_len)) {
        return err(q, SPDM_ERROR_UNSPECIFIED, 0);
    }
    r->c.state = SPDM_CONN_NEGOTIATED;
    return SPDM_OK;
}

/* Append a request/response pair to message B (outside sessions only). */
static void m1_add(struct rq *q, size_t req_len)
{
    struct spdm_conn *c = &q->r->c;

    if (q->s != NULL || c->m1_lost) {
        return;
    }
    if (!spdm_ts_add(c->m1, &c->m1_len, sizeof(c->m1), q->m, req_len) ||
        !spdm_ts_add(c->m1, &c->m1_len, sizeof(c->m1), q->out, q->out_len)) {
        c->m1_lost = true;
        c->m1_len = 0;
    }
}

/* GET_DIGESTS {hdr} -> DIGESTS {hdr (Param2 = slot mask), digests}. */
static int on_get_digests(struct rq *q)
{
    struct spdm_responder *r = q->r;

    if ((r->caps & SPDM_CAP_CERT) == 0) {
        return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST, SPDM_GET_DIGESTS);
    }
    hdr(q, SPDM_DIGESTS, 0, 0x01);
    memcpy(q->out + 4, r->chain_hash, SPDM_HASH_SIZE);
    q->out_len = 4 + SPDM_HASH_SIZE;
    m1_add(q, 4);
    return SPDM_OK;
}

/*
 * GET_CERTIFICATE {hdr (Param1 = slot), Offset u16, Length u16} ->
 * CERTIFICATE {hdr (Param1 = slot), PortionLength u16, RemainderLength u16,
 * portion}.
 */
static int on_get_certificate(struct rq *q)
{
    struct spdm_responder *r = q->r;
    size_t off, want, room;

    if ((r->caps & SPDM_CAP_CERT) == 0) {
        return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST, SPDM_GET_CERTIFICATE);
    }
    if (q->len < SPDM_GET_CERT_SIZE || (q->m[2] & 0x0f) != 0 ||
        (q->m[2] & 0xf0) != 0) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    off = load_le16(q->m + 4);
    want = load_le16(q->m + 6);
    if (off >= r->chain_len || want == 0) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    room = q->out_cap - SPDM_CERT_HDR_SIZE;
    if (want > room) {
        want = room;
    }
    if (want > r->chain_len - off) {
        want = r->chain_len - off;
    }
    hdr(q, SPDM_CERTIFICATE, 0, 0);
    store_le16(q->out + 4, (uint16_t)want);
    store_le16(q->out + 6, (uint16_t)(r->chain_len - off - want));
    memcpy(q->out + 8, r->chain + off, want);
    q->out_len = 8 + want;
    m1_add(q, SPDM_GET_CERT_SIZE);
    return SPDM_OK;
}

/* TCB blocks: the code and configuration the device's security rests on. */
static bool meas_in_tcb(uint8_t type)
{
    switch (type & 0x7f) {
    case SPDM_MEAS_TYPE_ROM:
    case SPDM_MEAS_TYPE_FIRMWARE:
    case SPDM_MEAS_TYPE_HW_CONFIG:
    case SPDM_MEAS_TYPE_FW_CONFIG:
        return true;
    default:
        return false;
    }
}

/* The digest form of block @i into @out (cap), 0 when it does not fit. */
static size_t meas_put(const struct spdm_responder *r, size_t i, bool raw,
                       uint8_t *out, size_t cap)
{
    uint8_t d[SPDM_HASH_SIZE];

    if (r->meas[i].is_digest || !raw) {
        if (r->meas[i].is_digest) {
            memcpy(d, r->meas[i].value, SPDM_HASH_SIZE);
        } else if (crypto_sha384_2(r->meas[i].value, r->meas[i].value_len, NULL,
                                   0, d) != 0) {
            return 0;
        }
        return spdm_meas_block_put(out, cap, r->meas[i].index,
                                   (uint8_t)(r->meas[i].type & 0x7f), d,
                                   SPDM_HASH_SIZE);
    }
    return spdm_meas_block_put(out, cap, r->meas[i].index,
                               (uint8_t)(r->meas[i].type | 0x80),
                               r->meas[i].value, r->meas[i].value_len);
}

/*
 * MeasurementSummaryHash: SHA-384 over the concatenated digest-form blocks
 * (all of them, or only the TCB ones).
 */
static int meas_summary(const struct spdm_responder *r, uint8_t type,
                        uint8_t out[SPDM_HASH_SIZE])
{
    uint8_t buf[SPDM_MEAS_BLOCKS_MAX * (7 + SPDM_HASH_SIZE)];
    size_t n = 0;

    for (size_t i = 0; i < r->n_meas; i++) {
        if (type == SPDM_MEAS_SUMMARY_TCB && !meas_in_tcb(r->meas[i].type)) {
            continue;
        }
        size_t k = meas_put(r, i, false, buf + n, sizeof(buf) - n);
        if (k == 0) {
            return -1;
        }
        n += k;
    }
    return crypto_sha384_2(buf, n, NULL, 0, out);
}

static int sign(struct rq *q, const char *label,
                const uint8_t hash[SPDM_HASH_SIZE], uint8_t *sig)
{
    uint8_t in[SPDM_SIGN_INPUT_SIZE];
    size_t sig_len = 0;

    spdm_sign_input(label, hash, in);
    if (q->r->ops->sign(q->r->ops_ctx, SPDM_HASH_SHA384, in, sizeof(in), sig,
                        SPDM_SIG_SIZE, &sig_len) != 0 ||
        sig_len != SPDM_SIG_SIZE) {
        return -1;
    }
    return 0;
}

/*
 * CHALLENGE {hdr (Param1 = slot, Param2 = summary type), Nonce[32]} ->
 * CHALLENGE_AUTH {hdr (Param1 = slot, Param2 = slot mask), CertChainHash,
 * Nonce[32], MeasurementSummaryHash (when asked), OpaqueDataLength u16 = 0,
 * Signature}, signed over M1 = A || B || C.
 */
static int on_challenge(struct rq *q)
{
    struct spdm_responder *r = q->r;
    struct spdm_conn *c = &r->c;
    uint8_t type, h[SPDM_HASH_SIZE];
    struct crypto_iov v[4];
    size_t n;

    if ((r->caps & SPDM_CAP_CHAL) == 0) {
        return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST, SPDM_CHALLENGE);
    }
    if (q->s != NULL) {
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    }
    type = q->m[3];
    if (q->len < SPDM_CHALLENGE_SIZE || q->m[2] != 0 ||
        (type != SPDM_MEAS_SUMMARY_NONE && type != SPDM_MEAS_SUMMARY_TCB &&
         type != SPDM_MEAS_SUMMARY_ALL)) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    if (c->m1_lost) {
        c->m1_lost = false;
        c->m1_len = 0;
        return err(q, SPDM_ERROR_REQUEST_RESYNCH, 0);
    }
    hdr(q, SPDM_CHALLENGE_AUTH, 0, 0x01);
    n = 4;
    memcpy(q->out + n, r->chain_hash, SPDM_HASH_SIZE);
    n += SPDM_HASH_SIZE;
    if (r->ops->random(r->ops_ctx, q->out + n, SPDM_NONCE_SIZE) != 0) {
        return err(q, SPDM_ERROR_UNSPECIFIED, 0);
    }
    n += SPDM_NONCE_SIZE;
    if (type != SPDM_MEAS_SUMMARY_NONE) {
        if (meas_summary(r, type, q->out + n) != 0) {
            return err(q, SPDM_ERROR_UNSPECIFIED, 0);
        }
        n += SPDM_HASH_SIZE;
    }
    store_le16(q->out + n, 0);
    n += 2;
    v[0] = (struct crypto_iov){c->vca, c->vca_len};
    v[1] = (struct crypto_iov){c->m1, c->m1_len};
    v[2] = (struct crypto_iov){q->m, SPDM_CHALLENGE_SIZE};
    v[3] = (struct crypto_iov){q->out, n};
    if (crypto_sha384_v(v, 4, h) != 0 ||
        sign(q, SPDM_CTX_CHALLENGE_AUTH, h, q->out + n) != 0) {
        return err(q, SPDM_ERROR_UNSPECIFIED, 0);
    }
    q->out_len = n + SPDM_SIG_SIZE;
    c->m1_len = 0;
    return SPDM_OK;
}

/*
 * GET_MEASUREMENTS {hdr (Param1 bit 0 = signature, bit 1 = raw; Param2 =
 * operation), [Nonce[32], SlotIDParam]} -> MEASUREMENTS {hdr (Param1 =
 * total for operation 0, Param2 = slot when signed), NumberOfBlocks,
 * MeasurementRecordLength u24, record, Nonce[32], OpaqueDataLength u16 = 0,
 * [Signature over L1/L2 = A || the GET_MEASUREMENTS/MEASUREMENTS pairs]}.
 */
static int on_get_measurements(struct rq *q)
{
    struct spdm_responder *r = q->r;
    struct spdm_conn *c = &r->c;
    bool sig = (q->m[2] & 0x01) != 0, raw = (q->m[2] & 0x02) != 0;
    uint8_t op = q->m[3], nblocks = 0;
    size_t req_len = sig ? 4 + SPDM_NONCE_SIZE + 1 : 4;
    uint8_t *l1 = q->s != NULL ? q->s->l1 : c->l1;
    size_t *l1_len = q->s != NULL ? &q->s->l1_len : &c->l1_len;
    bool *lost = q->s != NULL ? &q->s->l1_lost : &c->l1_lost;
    size_t n, rec;
    uint8_t h[SPDM_HASH_SIZE];

    if ((r->caps & (SPDM_CAP_MEAS_SIG | SPDM_CAP_MEAS_NO_SIG)) == 0) {
        return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST, SPDM_GET_MEASUREMENTS);
    }
    if (q->len < req_len || (q->m[2] & 0xfc) != 0 ||
        (sig && (r->caps & SPDM_CAP_MEAS_SIG) == 0) ||
        (sig && q->m[4 + SPDM_NONCE_SIZE] != 0)) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    n = 8; /* hdr, NumberOfBlocks, MeasurementRecordLength */
    if (op == SPDM_MEAS_OP_COUNT) {
        hdr(q, SPDM_MEASUREMENTS, (uint8_t)r->n_meas, 0);
    } else {
        bool found = false;
        hdr(q, SPDM_MEASUREMENTS, 0, 0);
        for (size_t i = 0; i < r->n_meas; i++) {
            if (op != SPDM_MEAS_OP_ALL && r->meas[i].index != op) {
                continue;
            }
            size_t k = meas_put(r, i, raw, q->out + n, q->out_cap - n);
            if (k == 0) {
                return err(q, SPDM_ERROR_RESPONSE_TOO_LARGE, 0);
            }
            n += k;
            nblocks++;
            found = true;
        }
        if (!found) {
            return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
        }
    }
    rec = n - 8;
    q->out[4] = nblocks;
    q->out[5] = (uint8_t)rec;
    q->out[6] = (uint8_t)(rec >> 8);
    q->out[7] = (uint8_t)(rec >> 16);
    if (n + SPDM_NONCE_SIZE + 2 + (sig ? SPDM_SIG_SIZE : 0) > q->out_cap) {
        return err(q, SPDM_ERROR_RESPONSE_TOO_LARGE, 0);
    }
    if (r->ops->random(r->ops_ctx, q->out + n, SPDM_NONCE_SIZE) != 0) {
        return err(q, SPDM_ERROR_UNSPECIFIED, 0);
    }
    n += SPDM_NONCE_SIZE;
    store_le16(q->out + n, 0);
    n += 2;
    q->out_len = n;
    if (!sig) {
        if (!*lost && (!spdm_ts_add(l1, l1_len, SPDM_L1_MAX, q->m, req_len) ||
                       !spdm_ts_add(l1, l1_len, SPDM_L1_MAX, q->out, n))) {
            *lost = true;
            *l1_len = 0;
        }
        return SPDM_OK;
    }
    if (*lost) {
        *lost = false;
        *l1_len = 0;
        return err(q, SPDM_ERROR_REQUEST_RESYNCH, 0);
    }
    {
        struct crypto_iov v[4] = {
            {c->vca, c->vca_len},
            {l1, *l1_len},
            {q->m, req_len},
            {q->out, n},
        };
        if (crypto_sha384_v(v, 4, h) != 0 ||
            sign(q, SPDM_CTX_MEASUREMENTS, h, q->out + n) != 0) {
            return err(q, SPDM_ERROR_UNSPECIFIED, 0);
        }
    }
    q->out_len = n + SPDM_SIG_SIZE;
    *l1_len = 0;
    return SPDM_OK;
}

static bool session_id_used(const struct spdm_responder *r, uint16_t rsp_id)
{
    for (size_t i = 0; i < SPDM_SESSIONS_MAX; i++) {
        if (r->c.sessions[i].state != SPDM_SESSION_FREE &&
            (r->c.sessions[i].id >> 16) == rsp_id) {
            return true;
        }
    }
    return false;
}

/*
 * KEY_EXCHANGE {hdr (Param1 = summary type, Param2 = slot), ReqSessionID
 * u16, SessionPolicy, Reserved, RandomData[32], ExchangeData[96],
 * OpaqueDataLength u16, OpaqueData} -> KEY_EXCHANGE_RSP {hdr (Param1 =
 * HeartbeatPeriod), RspSessionID u16, MutAuthRequested, SlotIDParam,
 * RandomData[32], ExchangeData[96], [MeasurementSummaryHash], OpaqueLength
 * u16, OpaqueData, Signature over TH1, ResponderVerifyData}.
 */
static int on_key_exchange(struct rq *q)
{
    struct spdm_responder *r = q->r;
    struct spdm_conn *c = &r->c;
    struct spdm_session *s;
    uint8_t type = q->m[2];
    size_t req_len, opaque_len, n;
    uint8_t priv[SPDM_HASH_SIZE], dhe[SPDM_HASH_SIZE], h[SPDM_HASH_SIZE];
    uint8_t rid[2];
    uint16_t rsp_id;
    int rc = SPDM_OK;

    if ((r->caps & SPDM_CAP_KEY_EX) == 0) {
        return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST, SPDM_KEY_EXCHANGE);
    }
    if (q->s != NULL || !peer_has(r, SPDM_CAP_KEY_EX)) {
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    }
    if (q->len < SPDM_KE_FIXED_SIZE) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    opaque_len = load_le16(q->m + SPDM_KE_FIXED_SIZE - 2);
    req_len = SPDM_KE_FIXED_SIZE + opaque_len;
    if (req_len > q->len || opaque_len > 1024 || q->m[3] != 0 ||
        (type != SPDM_MEAS_SUMMARY_NONE && type != SPDM_MEAS_SUMMARY_TCB &&
         type != SPDM_MEAS_SUMMARY_ALL) ||
        (c->opaque_fmt1 && spdm_opaque_find_version(q->m + SPDM_KE_FIXED_SIZE,
                                                    opaque_len, 1) < 0)) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    s = spdm_session_alloc(c);
    if (s == NULL) {
        return err(q, SPDM_ERROR_SESSION_LIMIT, 0);
    }
    do {
        if (r->ops->random(r->ops_ctx, rid, 2) != 0) {
            return err(q, SPDM_ERROR_UNSPECIFIED, 0);
        }
        rsp_id = load_le16(rid);
    } while (rsp_id == 0 || session_id_used(r, rsp_id));

    hdr(q, SPDM_KEY_EXCHANGE_RSP, r->heartbeat_period_s, 0);
    n = 4;
    store_le16(q->out + n, rsp_id);
    q->out[n + 2] = 0; /* MutAuthRequested */
    q->out[n + 3] = 0; /* SlotIDParam */
    n += 4;
    if (r->ops->random(r->ops_ctx, q->out + n, SPDM_RANDOM_SIZE) != 0) {
        return err(q, SPDM_ERROR_UNSPECIFIED, 0);
    }
    n += SPDM_RANDOM_SIZE;
    if (crypto_ecdh_p384_keygen(priv, q->out + n) != 0 ||
        crypto_ecdh_p384_derive(priv, q->out + n, q->m + 40, dhe) != 0) {
        /* the usual cause: the peer's point is not on the curve */
        wipe(priv, sizeof(priv));
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    wipe(priv, sizeof(priv));
    n += SPDM_DHE_SIZE;
    if (type != SPDM_MEAS_SUMMARY_NONE) {
        if (meas_summary(r, type, q->out + n) != 0) {
            rc = err(q, SPDM_ERROR_UNSPECIFIED, 0);
            goto out_wipe;
        }
        n += SPDM_HASH_SIZE;
    }
    if (c->opaque_fmt1) {
        store_le16(q->out + n, SPDM_OPAQUE_SEL_SIZE);
        n += 2;
        n += spdm_opaque_version_selection(q->out + n);
    } else {
        store_le16(q->out + n, 0);
        n += 2;
    }

    memset(s, 0, sizeof(*s));
    s->id = (uint32_t)load_le16(q->m + 4) | (uint32_t)rsp_id << 16;
    s->last_ms = r->now_ms; /* the heartbeat count starts here */
    s->meas_summary_type = type;
    if (!spdm_ts_add(s->th, &s->th_len, sizeof(s->th), q->m, req_len) ||
        !spdm_ts_add(s->th, &s->th_len, sizeof(s->th), q->out, n) ||
        spdm_th_hash(c, r->chain_hash, s, h) != 0 ||
        sign(q, SPDM_CTX_KEY_EXCHANGE, h, q->out + n) != 0) {
        rc = err(q, SPDM_ERROR_UNSPECIFIED, 0);
        goto out_free;
    }
    if (!spdm_ts_add(s->th, &s->th_len, sizeof(s->th), q->out + n,
                     SPDM_SIG_SIZE)) {
        rc = err(q, SPDM_ERROR_UNSPECIFIED, 0);
        goto out_free;
    }
    n += SPDM_SIG_SIZE;
    /* TH1 (with the signature) keys the handshake and the verify data */
    if (spdm_th_hash(c, r->chain_hash, s, h) != 0 ||
        spdm_ks_handshake(s, dhe, h) != 0 ||
        spdm_finished_hmac(s->finished_key_rsp, h, q->out + n) != 0 ||
        !spdm_ts_add(s->th, &s->th_len, sizeof(s->th), q->out + n,
                     SPDM_HASH_SIZE)) {
        rc = err(q, SPDM_ERROR_UNSPECIFIED, 0);
        goto out_free;
    }
    n += SPDM_HASH_SIZE;
    q->out_len = n;
    s->state = SPDM_SESSION_HANDSHAKE;
    goto out_wipe;
out_free:
    spdm_session_free(s);
out_wipe:
    wipe(dhe, sizeof(dhe));
    return rc;
}

/*
 * FINISH {hdr (Param1 bit 0 = signature present), [Signature],
 * RequesterVerifyData} -> FINISH_RSP {hdr}; only inside the handshake.
 */
static int on_finish(struct rq *q)
{
    struct spdm_responder *r = q->r;
    struct spdm_session *s = q->s;
    uint8_t h[SPDM_HASH_SIZE], want[SPDM_HASH_SIZE];

    if ((r->caps & SPDM_CAP_KEY_EX) == 0) {
        return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST, SPDM_FINISH);
    }
    if (s == NULL || s->state != SPDM_SESSION_HANDSHAKE) {
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    }
    if (q->len < 4 + SPDM_HASH_SIZE || (q->m[2] & 0x01) != 0) {
        /* no mutual authentication was asked for, so no signature */
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    if (!spdm_ts_add(s->th, &s->th_len, sizeof(s->th), q->m, 4)) {
        return err(q, SPDM_ERROR_UNSPECIFIED, 0);
    }
    if (spdm_th_hash(&r->c, r->chain_hash, s, h) != 0 ||
        spdm_finished_hmac(s->finished_key_req, h, want) != 0) {
        s->th_len -= 4;
        return err(q, SPDM_ERROR_UNSPECIFIED, 0);
    }
    if (!ct_eq(want, q->m + 4, SPDM_HASH_SIZE)) {
        /* DSP0274: a bad RequesterVerifyData ends the handshake */
        q->post.end_session = true;
        return err(q, SPDM_ERROR_DECRYPT_ERROR, 0);
    }
    hdr(q, SPDM_FINISH_RSP, 0, 0);
    q->out_len = 4;
    if (!spdm_ts_add(s->th, &s->th_len, sizeof(s->th), q->m + 4,
                     SPDM_HASH_SIZE) ||
        !spdm_ts_add(s->th, &s->th_len, sizeof(s->th), q->out, 4) ||
        spdm_th_hash(&r->c, r->chain_hash, s, q->post.th2) != 0) {
        q->post.end_session = true;
        return err(q, SPDM_ERROR_UNSPECIFIED, 0);
    }
    q->post.data_keys = true;
    return SPDM_OK;
}

static bool established(const struct rq *q)
{
    return q->s != NULL && q->s->state == SPDM_SESSION_ESTABLISHED;
}

static int on_heartbeat(struct rq *q)
{
    if ((q->r->caps & SPDM_CAP_HBEAT) == 0) {
        return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST, SPDM_HEARTBEAT);
    }
    if (!established(q)) {
        return err(q, SPDM_ERROR_SESSION_REQUIRED, 0);
    }
    if (!peer_has(q->r, SPDM_CAP_HBEAT)) {
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    }
    hdr(q, SPDM_HEARTBEAT_ACK, 0, 0);
    q->out_len = 4;
    return SPDM_OK;
}

/*
 * KEY_UPDATE {hdr (Param1 = operation, Param2 = tag)} -> KEY_UPDATE_ACK
 * (echoes both). The request arrived under the old request key, which
 * changes for what follows; the response key changes only for
 * UpdateAllKeys, and then before the ACK is sealed.
 */
static int on_key_update(struct rq *q)
{
    struct spdm_session *s = q->s;
    uint8_t op = q->m[2];

    if ((q->r->caps & SPDM_CAP_KEY_UPD) == 0) {
        return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST, SPDM_KEY_UPDATE);
    }
    if (!established(q)) {
        return err(q, SPDM_ERROR_SESSION_REQUIRED, 0);
    }
    if (!peer_has(q->r, SPDM_CAP_KEY_UPD)) {
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    }
    if (op < SPDM_KEY_UPDATE_KEY || op > SPDM_KEY_UPDATE_VERIFY ||
        (op == SPDM_KEY_UPDATE_VERIFY && !s->key_updated)) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    if (op == SPDM_KEY_UPDATE_VERIFY) {
        s->key_updated = false;
    } else {
        if (spdm_ks_update(&s->req) != 0) {
            q->post.end_session = true;
            return err(q, SPDM_ERROR_UNSPECIFIED, 0);
        }
        s->key_updated = true;
        /* UpdateAllKeys: the ACK already goes under the new response key,
         * as DMTF's libspdm requester expects it */
        if (op == SPDM_KEY_UPDATE_ALL_KEYS && spdm_ks_update(&s->rsp) != 0) {
            q->post.end_session = true;
            return err(q, SPDM_ERROR_UNSPECIFIED, 0);
        }
    }
    hdr(q, SPDM_KEY_UPDATE_ACK, op, q->m[3]);
    q->out_len = 4;
    return SPDM_OK;
}

static int on_end_session(struct rq *q)
{
    if (!established(q)) {
        return err(q, SPDM_ERROR_SESSION_REQUIRED, 0);
    }
    hdr(q, SPDM_END_SESSION_ACK, 0, 0);
    q->out_len = 4;
    q->post.end_session = true;
    return SPDM_OK;
}

/*
 * VENDOR_DEFINED_REQUEST {hdr, StandardID u16, Len, VendorID[Len],
 * ReqLength u16, payload} -> VENDOR_DEFINED_RESPONSE {hdr, StandardID,
 * Len, VendorID, RespLength u16, payload}.
 */
static int on_vendor_defined(struct rq *q)
{
    struct spdm_responder *r = q->r;
    struct bytes b = bytes_of(q->m + 4, q->len - 4);
    const uint8_t *p, *vid, *payload;
    uint16_t std;
    size_t vid_len, plen, n, rsp_len = 0;
    int rc;

    if (!bytes_take(&b, 3, &p)) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    std = load_le16(p);
    vid_len = p[2];
    if (!bytes_take(&b, vid_len, &vid) || !bytes_take(&b, 2, &p)) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    plen = load_le16(p);
    if (!bytes_take(&b, plen, &payload)) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    if (r->ops->vendor_defined == NULL) {
        return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST,
                   SPDM_VENDOR_DEFINED_REQUEST);
    }
    n = 4 + 3 + vid_len + 2;
    if (q->out_cap <= n) {
        return err(q, SPDM_ERROR_RESPONSE_TOO_LARGE, 0);
    }
    {
        size_t cap = q->out_cap - n;
        if (cap > SPDM_VENDOR_PAYLOAD_MAX) {
            cap = SPDM_VENDOR_PAYLOAD_MAX;
        }
        rc = r->ops->vendor_defined(r->ops_ctx, q->s != NULL ? q->s->id : 0,
                                    established(q), std, vid, vid_len, payload,
                                    plen, q->out + n, cap, &rsp_len);
        if (rc > 0) {
            return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST,
                       SPDM_VENDOR_DEFINED_REQUEST);
        }
        if (rc < 0 || rsp_len > cap) {
            return err(q, SPDM_ERROR_UNSPECIFIED, 0);
        }
    }
    hdr(q, SPDM_VENDOR_DEFINED_RESPONSE, 0, 0);
    store_le16(q->out + 4, std);
    q->out[6] = (uint8_t)vid_len;
    memcpy(q->out + 7, vid, vid_len);
    store_le16(q->out + 7 + vid_len, (uint16_t)rsp_len);
    q->out_len = n + rsp_len;
    return SPDM_OK;
}

static int dispatch(struct rq *q)
{
    struct spdm_responder *r = q->r;
    uint8_t code;

    if (q->len < SPDM_HDR_SIZE) {
        return err(q, SPDM_ERROR_INVALID_REQUEST, 0);
    }
    code = q->m[1];
    if (code == SPDM_GET_VERSION) {
        return on_get_version(q);
    }
    if (r->c.state == SPDM_CONN_NONE) {
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    }
    /* after VERSION, every request speaks 1.2 (only 1.2 was offered) */
    if (q->m[0] != SPDM_VERSION_12) {
        return err(q, SPDM_ERROR_VERSION_MISMATCH, 0);
    }
    /* inside a handshake only FINISH (and, per 1.2, nothing else) */
    if (q->s != NULL && q->s->state == SPDM_SESSION_HANDSHAKE &&
        code != SPDM_FINISH) {
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    }
    switch (code) {
    case SPDM_GET_CAPABILITIES:
        return on_get_capabilities(q);
    case SPDM_NEGOTIATE_ALGORITHMS:
        return on_negotiate_algorithms(q);
    case SPDM_GET_DIGESTS:
    case SPDM_GET_CERTIFICATE:
    case SPDM_CHALLENGE:
    case SPDM_GET_MEASUREMENTS:
    case SPDM_KEY_EXCHANGE:
    case SPDM_FINISH:
    case SPDM_HEARTBEAT:
    case SPDM_KEY_UPDATE:
    case SPDM_END_SESSION:
    case SPDM_VENDOR_DEFINED_REQUEST:
        if (r->c.state != SPDM_CONN_NEGOTIATED) {
            return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
        }
        break;
    case SPDM_RESPOND_IF_READY:
        /* this responder never answers ResponseNotReady */
        return err(q, SPDM_ERROR_UNEXPECTED_REQUEST, 0);
    default:
        return err(q, SPDM_ERROR_UNSUPPORTED_REQUEST, code);
    }
    switch (code) {
    case SPDM_GET_DIGESTS:
        return on_get_digests(q);
    case SPDM_GET_CERTIFICATE:
        return on_get_certificate(q);
    case SPDM_CHALLENGE:
        return on_challenge(q);
    case SPDM_GET_MEASUREMENTS:
        return on_get_measurements(q);
    case SPDM_KEY_EXCHANGE:
        return on_key_exchange(q);
    case SPDM_FINISH:
        return on_finish(q);
    case SPDM_HEARTBEAT:
        return on_heartbeat(q);
    case SPDM_KEY_UPDATE:
        return on_key_update(q);
    case SPDM_END_SESSION:
        return on_end_session(q);
    default:
        return on_vendor_defined(q);
    }
}

/* The most a response may be: ours and the peer's limits. */
static size_t rsp_cap(const struct spdm_responder *r)
{
    size_t cap = SPDM_MSG_MAX;

    if (r->c.peer_data_transfer_size != 0 &&
        r->c.peer_data_transfer_size < cap) {
        cap = r->c.peer_data_transfer_size;
    }
    return cap;
}

/* see spdm.h */
int spdm_responder_handle(struct spdm_responder *r, bool secured,
                          const uint8_t *msg, size_t msg_len, uint8_t *out,
                          size_t out_cap, size_t *out_len)
{
    uint8_t in[SPDM_RECORD_MAX];
    uint8_t rsp[SPDM_MSG_MAX];
    uint8_t rec[SPDM_RECORD_MAX];
    struct rq q = {.r = r, .out = rsp};
    const uint8_t *final;
    size_t final_len;
    uint32_t id;
    int rc;

    r->out_secured = false;
    *out_len = 0;
    if (out_cap < SPDM_HDR_SIZE) {
        return SPDM_ERR_OUT_SIZE;
    }
    if (msg_len > (secured ? SPDM_RECORD_MAX : SPDM_MSG_MAX)) {
        err(&q, SPDM_ERROR_REQUEST_TOO_LARGE, 0);
        goto copy_out;
    }
    /* read the transport's buffer once */
    if (msg_len > 0) {
        memcpy(in, msg, msg_len);
    }
    q.out_cap = rsp_cap(r);
    if (!secured) {
        q.m = in;
        q.len = msg_len;
        rc = dispatch(&q);
        if (rc != SPDM_OK) {
            return rc;
        }
        goto copy_out;
    }

    if (!spdm_rec_session_id(in, msg_len, &id) ||
        (q.s = spdm_session_find(&r->c, id)) == NULL) {
        err(&q, SPDM_ERROR_DECRYPT_ERROR, 0);
        goto copy_out;
    }
    {
        uint8_t plain[SPDM_MSG_MAX];
        size_t plain_len;

        if (spdm_rec_open(&r->c, q.s, &q.s->req, in, msg_len, plain,
                          sizeof(plain), &plain_len) != SPDM_OK) {
            end_session(r, q.s);
            q.s = NULL;
            err(&q, SPDM_ERROR_DECRYPT_ERROR, 0);
            goto copy_out;
        }
        q.m = plain;
        q.len = plain_len;
        /* any authentic request of the session keeps it alive */
        q.s->last_ms = r->now_ms;
        /* a sealed record adds its overhead to what the peer receives */
        if (r->c.peer_data_transfer_size != 0 &&
            q.out_cap + SPDM_RECORD_MAX - SPDM_MSG_MAX >
                r->c.peer_data_transfer_size) {
            q.out_cap =
                r->c.peer_data_transfer_size - (SPDM_RECORD_MAX - SPDM_MSG_MAX);
        }
        rc = dispatch(&q);
        /* rec_open wrote plain_len bytes; a whole-buffer wipe per record
         * cost as much as the record's AEAD */
        wipe(plain, plain_len);
        if (rc != SPDM_OK) {
            return rc;
        }
    }
    rc = spdm_rec_seal(&r->c, q.s, &q.s->rsp, rsp, q.out_len, rec, sizeof(rec),
                       &final_len);
    if (rc != SPDM_OK) {
        end_session(r, q.s);
        err(&q, SPDM_ERROR_UNSPECIFIED, 0);
        goto copy_out;
    }
    if (q.post.data_keys) {
        if (spdm_ks_data(q.s, q.post.th2) != 0) {
            q.post.end_session = true;
        } else {
            q.s->state = SPDM_SESSION_ESTABLISHED;
            /* the handshake transcript has served its purpose */
            wipe(q.s->th, sizeof(q.s->th));
            q.s->th_len = 0;
        }
    }
    if (q.post.end_session) {
        end_session(r, q.s);
    }
    if (final_len > out_cap) {
        return SPDM_ERR_OUT_SIZE;
    }
    memcpy(out, rec, final_len);
    *out_len = final_len;
    r->out_secured = true;
    return SPDM_OK;

copy_out:
    final = rsp;
    final_len = q.out_len;
    if (final_len > out_cap) {
        err(&q, SPDM_ERROR_RESPONSE_TOO_LARGE, 0);
        final_len = q.out_len;
    }
    memcpy(out, final, final_len);
    *out_len = final_len;
    return SPDM_OK;
}

/* Twice HeartbeatPeriod in ms: a session quiet for longer ends. */
static uint64_t heartbeat_limit_ms(const struct spdm_responder *r)
{
    return 2 * 1000 * (uint64_t)r->heartbeat_period_s;
}

/* see spdm.h */
size_t spdm_responder_tick(struct spdm_responder *r, uint64_t now_ms)
{
    uint64_t limit = heartbeat_limit_ms(r);
    size_t ended = 0;

    r->now_ms = now_ms;
    if (limit == 0) {
        return 0;
    }
    for (size_t i = 0; i < SPDM_SESSIONS_MAX; i++) {
        struct spdm_session *s = &r->c.sessions[i];

        if (s->state != SPDM_SESSION_FREE && now_ms > s->last_ms &&
            now_ms - s->last_ms > limit) {
            end_session(r, s);
            ended++;
        }
    }
    return ended;
}

/* see spdm.h */
uint64_t spdm_responder_deadline(const struct spdm_responder *r)
{
    uint64_t limit = heartbeat_limit_ms(r), next = UINT64_MAX;

    if (limit == 0) {
        return UINT64_MAX;
    }
    for (size_t i = 0; i < SPDM_SESSIONS_MAX; i++) {
        const struct spdm_session *s = &r->c.sessions[i];

        if (s->state != SPDM_SESSION_FREE && s->last_ms + limit < next) {
            next = s->last_ms + limit;
        }
    }
    return next;
}

/* see spdm.h */
bool spdm_responder_out_secured(const struct spdm_responder *r)
{
    return r->out_secured;
}

/* see spdm.h */
enum spdm_conn_state spdm_responder_state(const struct spdm_responder *r)
{
    return r->c.state;
}

/* see spdm.h */
enum spdm_session_state
spdm_responder_session_state(const struct spdm_responder *r,
                             uint32_t session_id)
{
    const struct spdm_session *s =
        spdm_session_find((struct spdm_conn *)&r->c, session_id);

    return s != NULL ? s->state : SPDM_SESSION_FREE;
}

/* see spdm.h */
int spdm_responder_init(struct spdm_responder *r,
                        const struct spdm_responder_config *cfg)
{
    const uint8_t *der = cfg->cert_chain;
    size_t len = cfg->cert_chain_len, off = 0, last = 0;
    long first = -1;
    uint8_t pub[CRYPTO_P384_PUB_SIZE];

    memset(r, 0, sizeof(*r));
    if (cfg->ops == NULL || cfg->ops->sign == NULL ||
        cfg->ops->random == NULL || der == NULL || len == 0 ||
        len > SPDM_CERT_CHAIN_MAX - 4 - SPDM_HASH_SIZE ||
        cfg->n_meas > SPDM_MEAS_BLOCKS_MAX || cfg->seq_num_size > 8 ||
        (cfg->data_transfer_size != 0 &&
         (cfg->data_transfer_size < SPDM_MIN_TRANSFER ||
          cfg->data_transfer_size > SPDM_MSG_MAX))) {
        return SPDM_ERR_CONFIG;
    }
    r->caps = cfg->capabilities != 0 ? cfg->capabilities : SPDM_RSP_CAPS;
    if ((r->caps & ~(uint32_t)SPDM_RSP_CAPS) != 0 ||
        ((r->caps & SPDM_CAP_KEY_EX) != 0 &&
         (r->caps & (SPDM_CAP_ENCRYPT | SPDM_CAP_MAC)) !=
             (SPDM_CAP_ENCRYPT | SPDM_CAP_MAC)) ||
        (r->caps & (SPDM_CAP_MEAS_SIG | SPDM_CAP_MEAS_NO_SIG)) ==
            (SPDM_CAP_MEAS_SIG | SPDM_CAP_MEAS_NO_SIG)) {
        return SPDM_ERR_CONFIG;
    }
    /* walk the DER certificates; the leaf must carry a P-384 key */
    while (off < len) {
        long n = crypto_der_next(der + off, len - off);
        if (n < 0) {
            return SPDM_ERR_CONFIG;
        }
        if (first < 0) {
            first = n;
        }
        last = off;
        off += (size_t)n;
    }
    if (crypto_x509_p384_point(der + last, len - last, pub) != 0) {
        return SPDM_ERR_CONFIG;
    }
    r->chain_len = 4 + SPDM_HASH_SIZE + len;
    store_le16(r->chain, (uint16_t)r->chain_len);
    store_le16(r->chain + 2, 0);
    if (crypto_sha384_2(der, (size_t)first, NULL, 0, r->chain + 4) != 0) {
        return SPDM_ERR_INTERNAL;
    }
    memcpy(r->chain + 4 + SPDM_HASH_SIZE, der, len);
    if (crypto_sha384_2(r->chain, r->chain_len, NULL, 0, r->chain_hash) != 0) {
        return SPDM_ERR_INTERNAL;
    }
    for (size_t i = 0; i < cfg->n_meas; i++) {
        const struct spdm_meas_config *m = &cfg->meas[i];
        if (m->index == 0 || m->index == 0xff || m->value == NULL ||
            m->value_len == 0 || m->value_len > SPDM_MEAS_VALUE_MAX ||
            (m->is_digest && m->value_len != SPDM_HASH_SIZE)) {
            return SPDM_ERR_CONFIG;
        }
        for (size_t k = 0; k < i; k++) {
            if (r->meas[k].index == m->index) {
                return SPDM_ERR_CONFIG;
            }
        }
        r->meas[i].index = m->index;
        r->meas[i].type = (uint8_t)(m->type & 0x7f);
        r->meas[i].is_digest = m->is_digest;
        memcpy(r->meas[i].value, m->value, m->value_len);
        r->meas[i].value_len = (uint16_t)m->value_len;
    }
    r->n_meas = cfg->n_meas;
    r->heartbeat_period_s = cfg->heartbeat_period_s;
    r->data_transfer_size =
        cfg->data_transfer_size != 0 ? cfg->data_transfer_size : SPDM_MSG_MAX;
    r->c.seq_num_size = cfg->seq_num_size;
    r->ops = cfg->ops;
    r->ops_ctx = cfg->ops_ctx;
    return SPDM_OK;
}
