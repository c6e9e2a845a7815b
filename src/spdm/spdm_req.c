/* SPDX-License-Identifier: MIT */
/*
 * The SPDM 1.2 requester as a step API: build a request, parse its
 * response. The requester keeps its own copy of every transcript from the
 * bytes it sent and received, and verifies each signature and verify data
 * against them with the leaf key of the chain it read.
 */
#include <string.h>

#include "common/bytes.h"
#include "common/ct.h"
#include "crypto/crypto.h"
#include "spdm/spdm_priv.h"

#define REC_OVERHEAD (SPDM_RECORD_MAX - SPDM_MSG_MAX)

/* see spdm.h */
int spdm_requester_init(struct spdm_requester *q,
                        const struct spdm_requester_config *cfg)
{
    memset(q, 0, sizeof(*q));
    if (cfg->ops == NULL || cfg->ops->random == NULL || cfg->seq_num_size > 8 ||
        (cfg->data_transfer_size != 0 &&
         (cfg->data_transfer_size < SPDM_MIN_TRANSFER ||
          cfg->data_transfer_size > SPDM_MSG_MAX))) {
        return SPDM_ERR_CONFIG;
    }
    q->caps = cfg->capabilities != 0 ? cfg->capabilities : SPDM_REQ_CAPS;
    if ((q->caps & ~(uint32_t)SPDM_REQ_CAPS) != 0) {
        return SPDM_ERR_CONFIG;
    }
    q->data_transfer_size =
        cfg->data_transfer_size != 0 ? cfg->data_transfer_size : SPDM_MSG_MAX;
    q->c.seq_num_size = cfg->seq_num_size;
    q->next_req_session_id = 0xffff;
    q->ops = cfg->ops;
    q->ops_ctx = cfg->ops_ctx;
    return SPDM_OK;
}

/* see spdm.h */
void spdm_requester_wipe(struct spdm_requester *q)
{
    spdm_conn_reset(&q->c);
    wipe(q, sizeof(*q));
}

/* see spdm.h */
void spdm_req_peer_error(const struct spdm_requester *q, uint8_t *code,
                         uint8_t *data)
{
    *code = q->peer_error;
    *data = q->peer_error_data;
}

/* see spdm.h */
enum spdm_session_state spdm_req_session_state(const struct spdm_requester *q,
                                               uint32_t session_id)
{
    const struct spdm_session *s =
        spdm_session_find((struct spdm_conn *)&q->c, session_id);

    return s != NULL ? s->state : SPDM_SESSION_FREE;
}

static bool both_have(const struct spdm_requester *q, uint32_t cap)
{
    return (q->caps & cap) != 0 && (q->c.peer_caps & cap) != 0;
}

/* The largest message the responder accepts and we can send. */
static size_t send_cap(const struct spdm_requester *q)
{
    size_t cap = SPDM_MSG_MAX;

    if (q->c.peer_data_transfer_size != 0 &&
        q->c.peer_data_transfer_size < cap) {
        cap = q->c.peer_data_transfer_size;
    }
    return cap;
}

/*
 * Finish a build: remember the request (for transcripts and echo checks)
 * and seal it when it goes inside a session.
 */
static int emit(struct spdm_requester *q, uint32_t session_id, const uint8_t *m,
                size_t m_len, uint8_t *out, size_t cap, size_t *len)
{
    if (q->pending != 0) {
        return SPDM_ERR_STATE;
    }
    if (m_len > SPDM_REQ_SAVE_MAX && m[1] != SPDM_VENDOR_DEFINED_REQUEST) {
        return SPDM_ERR_ARG;
    }
    if (session_id != SPDM_NO_SESSION) {
        struct spdm_session *s = spdm_session_find(&q->c, session_id);
        int rc;
        if (s == NULL) {
            return SPDM_ERR_SESSION;
        }
        if (m_len + REC_OVERHEAD > send_cap(q) + REC_OVERHEAD &&
            m_len > send_cap(q)) {
            return SPDM_ERR_ARG;
        }
        rc = spdm_rec_seal(&q->c, s, &s->req, m, m_len, out, cap, len);
        if (rc != SPDM_OK) {
            return rc;
        }
    } else {
        if (m_len > cap) {
            return SPDM_ERR_OUT_SIZE;
        }
        memcpy(out, m, m_len);
        *len = m_len;
    }
    q->pending_req_len = m_len < SPDM_REQ_SAVE_MAX ? m_len : SPDM_REQ_SAVE_MAX;
    if (m[1] == SPDM_VENDOR_DEFINED_REQUEST && m_len > 6 &&
        q->pending_req_len > 7u + m[6]) {
        /* only the ids the response echoes: a payload may be secret (the
         * IDE keys of IDE_KM KEY_PROG) and is in no transcript */
        q->pending_req_len = 7u + m[6];
    }
    wipe(q->pending_req + q->pending_req_len,
         sizeof(q->pending_req) - q->pending_req_len);
    memcpy(q->pending_req, m, q->pending_req_len);
    q->pending = m[1];
    q->pending_param1 = m[2];
    q->pending_param2 = m[3];
    if (m[1] != SPDM_KEY_EXCHANGE) {
        q->pending_session = session_id;
    }
    return SPDM_OK;
}

/*
 * Start a parse: check that @code was the pending request, open the record
 * when @session_id is set, and check the response's header. *@m/@m_len
 * receive the plain response (in @q->scratch or @in).
 */
static int take(struct spdm_requester *q, uint8_t code, uint32_t session_id,
                const uint8_t *in, size_t in_len, const uint8_t **m,
                size_t *m_len, uint8_t want_rsp)
{
    uint8_t want_version =
        code == SPDM_GET_VERSION ? SPDM_VERSION_10 : SPDM_VERSION_12;
    int rc;

    if (q->pending != code || q->pending_session != session_id) {
        return SPDM_ERR_STATE;
    }
    q->pending = 0;
    q->peer_error = 0;
    q->peer_error_data = 0;
    if (session_id != SPDM_NO_SESSION) {
        struct spdm_session *s = spdm_session_find(&q->c, session_id);
        if (s == NULL) {
            return SPDM_ERR_SESSION;
        }
        if (in_len > SPDM_RECORD_MAX) {
            return SPDM_ERR_MALFORMED;
        }
        /* the record may be shared memory: open it into private memory */
        {
            uint8_t rec[SPDM_RECORD_MAX];
            memcpy(rec, in, in_len);
            rc = spdm_rec_open(&q->c, s, &s->rsp, rec, in_len, q->scratch,
                               SPDM_MSG_MAX, m_len);
        }
        if (rc != SPDM_OK) {
            /* a plain ERROR (DecryptError) may come instead of a record */
            if (in_len >= 4 && in[0] == SPDM_VERSION_12 &&
                in[1] == SPDM_ERROR) {
                q->peer_error = in[2];
                q->peer_error_data = in[3];
                spdm_session_free(s);
                return SPDM_ERR_PEER_ERROR;
            }
            spdm_session_free(s);
            return rc;
        }
        *m = q->scratch;
    } else {
        if (in_len > SPDM_MSG_MAX) {
            return SPDM_ERR_MALFORMED;
        }
        memcpy(q->scratch, in, in_len);
        *m = q->scratch;
        *m_len = in_len;
    }
    if (*m_len < SPDM_HDR_SIZE) {
        return SPDM_ERR_MALFORMED;
    }
    if ((*m)[1] == SPDM_ERROR) {
        q->peer_error = (*m)[2];
        q->peer_error_data = (*m)[3];
        return SPDM_ERR_PEER_ERROR;
    }
    if ((*m)[0] != want_version || (*m)[1] != want_rsp) {
        return SPDM_ERR_UNEXPECTED;
    }
    return SPDM_OK;
}

/* ---- VCA ---- */

/* see spdm.h */
int spdm_req_get_version_build(struct spdm_requester *q, uint8_t *out,
                               size_t cap, size_t *len)
{
    uint8_t m[4] = {SPDM_VERSION_10, SPDM_GET_VERSION, 0, 0};

    /* GET_VERSION restarts everything, pending requests included */
    spdm_conn_reset(&q->c);
    q->pending = 0;
    q->have_digests = false;
    q->chain_done = false;
    q->chain_len = 0;
    q->chain_total = 0;
    return emit(q, SPDM_NO_SESSION, m, sizeof(m), out, cap, len);
}

/* see spdm.h */
int spdm_req_get_version_parse(struct spdm_requester *q, const uint8_t *in,
                               size_t len)
{
    const uint8_t *m;
    size_t n, count;
    bool found = false;
    int rc = take(q, SPDM_GET_VERSION, SPDM_NO_SESSION, in, len, &m, &n,
                  SPDM_VERSION);

    if (rc != SPDM_OK) {
        return rc;
    }
    if (n < 6) {
        return SPDM_ERR_MALFORMED;
    }
    count = m[5];
    if (count == 0 || n < 6 + 2 * count) {
        return SPDM_ERR_MALFORMED;
    }
    for (size_t i = 0; i < count; i++) {
        if (load_le16(m + 6 + 2 * i) >> 8 == 0x12) {
            found = true;
        }
    }
    if (!found) {
        return SPDM_ERR_NEGOTIATION;
    }
    q->c.vca_len = 0;
    if (!spdm_ts_add(q->c.vca, &q->c.vca_len, sizeof(q->c.vca), q->pending_req,
                     4) ||
        !spdm_ts_add(q->c.vca, &q->c.vca_len, sizeof(q->c.vca), m,
                     6 + 2 * count)) {
        q->c.vca_len = 0;
        return SPDM_ERR_TRANSCRIPT;
    }
    q->c.version = SPDM_VERSION_12;
    q->c.state = SPDM_CONN_AFTER_VERSION;
    return SPDM_OK;
}

/* see spdm.h */
int spdm_req_get_capabilities_build(struct spdm_requester *q, uint8_t *out,
                                    size_t cap, size_t *len)
{
    uint8_t m[SPDM_GET_CAPS_SIZE] = {SPDM_VERSION_12, SPDM_GET_CAPABILITIES};

    if (q->c.state != SPDM_CONN_AFTER_VERSION) {
        return SPDM_ERR_STATE;
    }
    m[5] = 20; /* CTExponent */
    store_le32(m + 8, q->caps);
    store_le32(m + 12, q->data_transfer_size);
    store_le32(m + 16, SPDM_MSG_MAX);
    return emit(q, SPDM_NO_SESSION, m, sizeof(m), out, cap, len);
}

/* see spdm.h */
int spdm_req_get_capabilities_parse(struct spdm_requester *q, const uint8_t *in,
                                    size_t len, uint32_t *peer_caps)
{
    const uint8_t *m;
    size_t n;
    uint32_t dts, max;
    int rc = take(q, SPDM_GET_CAPABILITIES, SPDM_NO_SESSION, in, len, &m, &n,
                  SPDM_CAPABILITIES);

    if (rc != SPDM_OK) {
        return rc;
    }
    if (n < SPDM_CAPS_SIZE) {
        return SPDM_ERR_MALFORMED;
    }
    dts = load_le32(m + 12);
    max = load_le32(m + 16);
    if (dts < SPDM_MIN_TRANSFER || max < dts) {
        return SPDM_ERR_MALFORMED;
    }
    if (!spdm_ts_add(q->c.vca, &q->c.vca_len, sizeof(q->c.vca), q->pending_req,
                     SPDM_GET_CAPS_SIZE) ||
        !spdm_ts_add(q->c.vca, &q->c.vca_len, sizeof(q->c.vca), m,
                     SPDM_CAPS_SIZE)) {
        return SPDM_ERR_TRANSCRIPT;
    }
    q->c.peer_caps = load_le32(m + 8);
    q->c.peer_data_transfer_size = dts;
    q->c.peer_max_msg_size = max;
    q->c.state = SPDM_CONN_AFTER_CAPS;
    if (peer_caps != NULL) {
        *peer_caps = q->c.peer_caps;
    }
    return SPDM_OK;
}

#define NEG_ALGS_SIZE (SPDM_NEG_ALGS_HDR + 4 * 4)

/* see spdm.h */
int spdm_req_negotiate_algorithms_build(struct spdm_requester *q, uint8_t *out,
                                        size_t cap, size_t *len)
{
    uint8_t m[NEG_ALGS_SIZE] = {SPDM_VERSION_12, SPDM_NEGOTIATE_ALGORITHMS, 4};
    static const uint16_t sel[4] = {SPDM_DHE_SECP384R1, SPDM_AEAD_AES_256_GCM,
                                    SPDM_ASYM_ECDSA_P384,
                                    SPDM_KEY_SCHEDULE_SPDM};

    if (q->c.state != SPDM_CONN_AFTER_CAPS) {
        return SPDM_ERR_STATE;
    }
    store_le16(m + 4, NEG_ALGS_SIZE);
    m[6] = SPDM_MEAS_SPEC_DMTF;
    m[7] = SPDM_OPAQUE_DATA_FMT1;
    store_le32(m + 8, SPDM_ASYM_ECDSA_P384);
    store_le32(m + 12, SPDM_HASH_SHA384);
    for (size_t i = 0; i < 4; i++) {
        uint8_t *p = m + SPDM_NEG_ALGS_HDR + 4 * i;
        p[0] = (uint8_t)(2 + i);
        p[1] = 0x20;
        store_le16(p + 2, sel[i]);
    }
    return emit(q, SPDM_NO_SESSION, m, sizeof(m), out, cap, len);
}

/* see spdm.h */
int spdm_req_negotiate_algorithms_parse(struct spdm_requester *q,
                                        const uint8_t *in, size_t len)
{
    const uint8_t *m;
    size_t n, total, n_struct, off;
    uint32_t meas_hash;
    uint16_t sel[6] = {0};
    int rc = take(q, SPDM_NEGOTIATE_ALGORITHMS, SPDM_NO_SESSION, in, len, &m,
                  &n, SPDM_ALGORITHMS);

    if (rc != SPDM_OK) {
        return rc;
    }
    if (n < SPDM_ALGS_HDR) {
        return SPDM_ERR_MALFORMED;
    }
    total = load_le16(m + 4);
    n_struct = m[2];
    off = SPDM_ALGS_HDR + 4 * ((size_t)m[32] + m[33]);
    if (total > n || total < off + 4 * n_struct || n_struct > 4) {
        return SPDM_ERR_MALFORMED;
    }
    for (size_t i = 0; i < n_struct; i++) {
        const uint8_t *p = m + off;
        if (p[0] < 2 || p[0] > 5 || (p[1] >> 4) != 2 ||
            off + 4 + 4 * (size_t)(p[1] & 0x0f) > total) {
            return SPDM_ERR_MALFORMED;
        }
        sel[p[0]] = load_le16(p + 2);
        off += 4 + 4 * (size_t)(p[1] & 0x0f);
    }
    /*
     * Exactly one of what we offered, or nothing where optional. The
     * request carries no MeasurementHashAlgo: the responder picks it from
     * its own set, so any one defined bit is accepted (zero only without
     * measurements), and it needs the DMTF measurement specification.
     */
    meas_hash = load_le32(m + 8);
    if (load_le32(m + 12) != SPDM_ASYM_ECDSA_P384 ||
        load_le32(m + 16) != SPDM_HASH_SHA384 ||
        (m[6] != 0 && m[6] != SPDM_MEAS_SPEC_DMTF) ||
        (meas_hash & (meas_hash - 1)) != 0 ||
        meas_hash > SPDM_MEAS_HASH_SM3_256 ||
        ((q->c.peer_caps & (SPDM_CAP_MEAS_SIG | SPDM_CAP_MEAS_NO_SIG)) != 0 &&
         (meas_hash == 0 || m[6] == 0))) {
        return SPDM_ERR_NEGOTIATION;
    }
    if (both_have(q, SPDM_CAP_KEY_EX) &&
        (sel[2] != SPDM_DHE_SECP384R1 || sel[3] != SPDM_AEAD_AES_256_GCM ||
         sel[5] != SPDM_KEY_SCHEDULE_SPDM)) {
        return SPDM_ERR_NEGOTIATION;
    }
    if (!spdm_ts_add(q->c.vca, &q->c.vca_len, sizeof(q->c.vca), q->pending_req,
                     NEG_ALGS_SIZE) ||
        !spdm_ts_add(q->c.vca, &q->c.vca_len, sizeof(q->c.vca), m, total)) {
        return SPDM_ERR_TRANSCRIPT;
    }
    q->c.opaque_fmt1 = (m[7] & SPDM_OPAQUE_DATA_FMT1) != 0;
    q->c.meas_hash = meas_hash;
    q->c.state = SPDM_CONN_NEGOTIATED;
    return SPDM_OK;
}

/* ---- digests and certificates ---- */

static int need_negotiated(const struct spdm_requester *q, uint32_t session_id)
{
    const struct spdm_session *s;

    if (q->c.state != SPDM_CONN_NEGOTIATED) {
        return SPDM_ERR_STATE;
    }
    if (session_id != SPDM_NO_SESSION) {
        s = spdm_session_find((struct spdm_conn *)&q->c, session_id);
        if (s == NULL || s->state != SPDM_SESSION_ESTABLISHED) {
            return SPDM_ERR_SESSION;
        }
    }
    return SPDM_OK;
}

/* Message B: request/response pairs outside sessions. */
static void m1_add(struct spdm_requester *q, uint32_t session_id,
                   const uint8_t *rsp, size_t rsp_len, size_t req_len)
{
    struct spdm_conn *c = &q->c;

    if (session_id != SPDM_NO_SESSION || c->m1_lost) {
        return;
    }
    if (!spdm_ts_add(c->m1, &c->m1_len, sizeof(c->m1), q->pending_req,
                     req_len) ||
        !spdm_ts_add(c->m1, &c->m1_len, sizeof(c->m1), rsp, rsp_len)) {
        c->m1_lost = true;
        c->m1_len = 0;
    }
}

/* see spdm.h */
int spdm_req_get_digests_build(struct spdm_requester *q, uint32_t session_id,
                               uint8_t *out, size_t cap, size_t *len)
{
    uint8_t m[4] = {SPDM_VERSION_12, SPDM_GET_DIGESTS, 0, 0};
    int rc = need_negotiated(q, session_id);

    if (rc != SPDM_OK) {
        return rc;
    }
    if ((q->c.peer_caps & SPDM_CAP_CERT) == 0) {
        return SPDM_ERR_NEGOTIATION;
    }
    return emit(q, session_id, m, sizeof(m), out, cap, len);
}

static size_t popcount8(uint8_t v)
{
    size_t n = 0;

    for (; v != 0; v &= (uint8_t)(v - 1)) {
        n++;
    }
    return n;
}

/* see spdm.h */
int spdm_req_get_digests_parse(struct spdm_requester *q, uint32_t session_id,
                               const uint8_t *in, size_t len,
                               struct spdm_digests *res)
{
    const uint8_t *m;
    size_t n, k = 0, want;
    int rc =
        take(q, SPDM_GET_DIGESTS, session_id, in, len, &m, &n, SPDM_DIGESTS);

    if (rc != SPDM_OK) {
        return rc;
    }
    want = 4 + SPDM_HASH_SIZE * popcount8(m[3]);
    if (m[3] == 0 || n < want) {
        return SPDM_ERR_MALFORMED;
    }
    memset(res, 0, sizeof(*res));
    res->slot_mask = m[3];
    for (size_t i = 0; i < 8; i++) {
        if ((m[3] & (1u << i)) != 0) {
            memcpy(res->digests[i], m + 4 + SPDM_HASH_SIZE * k, SPDM_HASH_SIZE);
            k++;
        }
    }
    memcpy(q->digests, res->digests, sizeof(q->digests));
    q->slot_mask = m[3];
    q->have_digests = true;
    m1_add(q, session_id, m, want, 4);
    return SPDM_OK;
}

/* see spdm.h */
int spdm_req_get_certificate_build(struct spdm_requester *q,
                                   uint32_t session_id, uint8_t slot,
                                   uint8_t *out, size_t cap, size_t *len)
{
    uint8_t m[SPDM_GET_CERT_SIZE] = {SPDM_VERSION_12, SPDM_GET_CERTIFICATE};
    size_t want;
    int rc = need_negotiated(q, session_id);

    if (rc != SPDM_OK) {
        return rc;
    }
    if (slot > 7) {
        return SPDM_ERR_ARG;
    }
    if ((q->c.peer_caps & SPDM_CAP_CERT) == 0) {
        return SPDM_ERR_NEGOTIATION;
    }
    if (q->chain_done || q->chain_slot != slot) {
        q->chain_done = false;
        q->chain_len = 0;
        q->chain_total = 0;
        q->chain_slot = slot;
    }
    want = send_cap(q);
    if (session_id != SPDM_NO_SESSION) {
        want = want > REC_OVERHEAD + 64 ? want - REC_OVERHEAD : 64;
    }
    if (want > q->data_transfer_size) {
        want = q->data_transfer_size;
    }
    want -= SPDM_CERT_HDR_SIZE;
    if (want > sizeof(q->chain) - q->chain_len) {
        want = sizeof(q->chain) - q->chain_len;
    }
    if (want == 0) {
        return SPDM_ERR_CERT_CHAIN;
    }
    m[2] = slot;
    store_le16(m + 4, (uint16_t)q->chain_len);
    store_le16(m + 6, (uint16_t)want);
    return emit(q, session_id, m, sizeof(m), out, cap, len);
}

/* The complete chain: header, root hash, DER walk, digest, leaf key. */
static int chain_check(struct spdm_requester *q)
{
    size_t off = 4 + SPDM_HASH_SIZE, last = off;
    long first = -1;
    uint8_t h[SPDM_HASH_SIZE];

    if (q->chain_len <= 4 + SPDM_HASH_SIZE ||
        load_le16(q->chain) != q->chain_len) {
        return SPDM_ERR_CERT_CHAIN;
    }
    while (off < q->chain_len) {
        long n = crypto_der_next(q->chain + off, q->chain_len - off);
        if (n < 0) {
            return SPDM_ERR_CERT_CHAIN;
        }
        if (first < 0) {
            first = n;
        }
        last = off;
        off += (size_t)n;
    }
    if (crypto_sha384_2(q->chain + 4 + SPDM_HASH_SIZE, (size_t)first, NULL, 0,
                        h) != 0) {
        return SPDM_ERR_INTERNAL;
    }
    if (!ct_eq(h, q->chain + 4, SPDM_HASH_SIZE)) {
        return SPDM_ERR_CERT_CHAIN;
    }
    if (crypto_sha384_2(q->chain, q->chain_len, NULL, 0, q->chain_hash) != 0) {
        return SPDM_ERR_INTERNAL;
    }
    if (q->have_digests && (q->slot_mask & (1u << q->chain_slot)) != 0 &&
        !ct_eq(q->chain_hash, q->digests[q->chain_slot], SPDM_HASH_SIZE)) {
        return SPDM_ERR_CERT_CHAIN;
    }
    if (crypto_x509_p384_point(q->chain + last, q->chain_len - last,
                               q->leaf_pub) != 0) {
        return SPDM_ERR_CERT_CHAIN;
    }
    return SPDM_OK;
}

/* see spdm.h */
int spdm_req_get_certificate_parse(struct spdm_requester *q,
                                   uint32_t session_id, const uint8_t *in,
                                   size_t len, bool *done)
{
    const uint8_t *m;
    size_t n, portion, remainder;
    int rc = take(q, SPDM_GET_CERTIFICATE, session_id, in, len, &m, &n,
                  SPDM_CERTIFICATE);

    *done = false;
    if (rc != SPDM_OK) {
        return rc;
    }
    if (n < SPDM_CERT_HDR_SIZE) {
        return SPDM_ERR_MALFORMED;
    }
    portion = load_le16(m + 4);
    remainder = load_le16(m + 6);
    if ((m[2] & 0x0f) != q->chain_slot ||
        portion > load_le16(q->pending_req + 6) ||
        n < SPDM_CERT_HDR_SIZE + portion || (portion == 0 && remainder != 0)) {
        return SPDM_ERR_MALFORMED;
    }
    if (q->chain_len + portion + remainder > sizeof(q->chain) ||
        (q->chain_total != 0 &&
         q->chain_len + portion + remainder != q->chain_total)) {
        return SPDM_ERR_CERT_CHAIN;
    }
    memcpy(q->chain + q->chain_len, m + SPDM_CERT_HDR_SIZE, portion);
    q->chain_len += portion;
    q->chain_total = q->chain_len + remainder;
    m1_add(q, session_id, m, SPDM_CERT_HDR_SIZE + portion, SPDM_GET_CERT_SIZE);
    if (remainder != 0) {
        return SPDM_OK;
    }
    rc = chain_check(q);
    if (rc != SPDM_OK) {
        q->chain_len = 0;
        q->chain_total = 0;
        return rc;
    }
    q->chain_done = true;
    *done = true;
    return SPDM_OK;
}

/* see spdm.h */
int spdm_req_cert_chain(const struct spdm_requester *q, const uint8_t **der,
                        size_t *der_len)
{
    if (!q->chain_done) {
        return SPDM_ERR_STATE;
    }
    *der = q->chain + 4 + SPDM_HASH_SIZE;
    *der_len = q->chain_len - 4 - SPDM_HASH_SIZE;
    return SPDM_OK;
}

/* see spdm.h */
int spdm_req_leaf_pubkey(const struct spdm_requester *q,
                         uint8_t pub[SPDM_P384_PUB_SIZE])
{
    if (!q->chain_done) {
        return SPDM_ERR_STATE;
    }
    memcpy(pub, q->leaf_pub, SPDM_P384_PUB_SIZE);
    return SPDM_OK;
}

static bool verify(const struct spdm_requester *q, const char *label,
                   const uint8_t hash[SPDM_HASH_SIZE], const uint8_t *sig)
{
    uint8_t in[SPDM_SIGN_INPUT_SIZE];

    spdm_sign_input(label, hash, in);
    return crypto_ecdsa_p384_verify_point(q->leaf_pub, in, sizeof(in), sig);
}

static bool summary_type_ok(uint8_t t)
{
    return t == SPDM_MEAS_SUMMARY_NONE || t == SPDM_MEAS_SUMMARY_TCB ||
           t == SPDM_MEAS_SUMMARY_ALL;
}

/* ---- CHALLENGE ---- */

/* see spdm.h */
int spdm_req_challenge_build(struct spdm_requester *q, uint8_t slot,
                             uint8_t meas_summary_type, uint8_t *out,
                             size_t cap, size_t *len)
{
    uint8_t m[SPDM_CHALLENGE_SIZE] = {SPDM_VERSION_12, SPDM_CHALLENGE, slot,
                                      meas_summary_type};
    int rc = need_negotiated(q, SPDM_NO_SESSION);

    if (rc != SPDM_OK) {
        return rc;
    }
    if (!summary_type_ok(meas_summary_type) || slot > 7) {
        return SPDM_ERR_ARG;
    }
    if (!q->chain_done || q->chain_slot != slot) {
        return SPDM_ERR_STATE;
    }
    if ((q->c.peer_caps & SPDM_CAP_CHAL) == 0) {
        return SPDM_ERR_NEGOTIATION;
    }
    if (q->ops->random(q->ops_ctx, m + 4, SPDM_NONCE_SIZE) != 0) {
        return SPDM_ERR_INTERNAL;
    }
    return emit(q, SPDM_NO_SESSION, m, sizeof(m), out, cap, len);
}

/* see spdm.h */
int spdm_req_challenge_parse(struct spdm_requester *q, const uint8_t *in,
                             size_t len, struct spdm_challenge_result *res)
{
    struct spdm_conn *c = &q->c;
    const uint8_t *m;
    size_t n, off, opaque;
    bool summary = q->pending_param2 != SPDM_MEAS_SUMMARY_NONE;
    uint8_t h[SPDM_HASH_SIZE];
    int rc = take(q, SPDM_CHALLENGE, SPDM_NO_SESSION, in, len, &m, &n,
                  SPDM_CHALLENGE_AUTH);

    if (rc != SPDM_OK) {
        return rc;
    }
    off = 4 + SPDM_HASH_SIZE + SPDM_NONCE_SIZE + (summary ? SPDM_HASH_SIZE : 0);
    if (n < off + 2) {
        rc = SPDM_ERR_MALFORMED;
        goto out_reset;
    }
    opaque = load_le16(m + off);
    off += 2 + opaque;
    if (n < off + SPDM_SIG_SIZE) {
        rc = SPDM_ERR_MALFORMED;
        goto out_reset;
    }
    if ((m[2] & 0x0f) != q->chain_slot || (m[3] & (1u << q->chain_slot)) == 0 ||
        (m[2] & 0x80) != 0) {
        rc = SPDM_ERR_UNEXPECTED;
        goto out_reset;
    }
    if (!ct_eq(m + 4, q->chain_hash, SPDM_HASH_SIZE)) {
        rc = SPDM_ERR_CERT_CHAIN;
        goto out_reset;
    }
    if (c->m1_lost) {
        rc = SPDM_ERR_TRANSCRIPT;
        goto out_reset;
    }
    {
        struct crypto_iov v[4] = {
            {c->vca, c->vca_len},
            {c->m1, c->m1_len},
            {q->pending_req, SPDM_CHALLENGE_SIZE},
            {m, off},
        };
        if (crypto_sha384_v(v, 4, h) != 0) {
            rc = SPDM_ERR_INTERNAL;
            goto out_reset;
        }
    }
    if (!verify(q, SPDM_CTX_CHALLENGE_AUTH, h, m + off)) {
        rc = SPDM_ERR_SIGNATURE;
        goto out_reset;
    }
    memset(res, 0, sizeof(*res));
    res->slot = m[2] & 0x0f;
    res->slot_mask = m[3];
    res->has_meas_summary = summary;
    if (summary) {
        memcpy(res->meas_summary, m + 4 + SPDM_HASH_SIZE + SPDM_NONCE_SIZE,
               SPDM_HASH_SIZE);
    }
    rc = SPDM_OK;
out_reset:
    /* the responder starts message B afresh after CHALLENGE_AUTH */
    c->m1_len = 0;
    c->m1_lost = false;
    return rc;
}

/* ---- GET_MEASUREMENTS ---- */

/* see spdm.h */
int spdm_req_get_measurements_build(struct spdm_requester *q,
                                    uint32_t session_id, uint8_t op, bool sign,
                                    bool raw, uint8_t slot, uint8_t *out,
                                    size_t cap, size_t *len)
{
    uint8_t m[4 + SPDM_NONCE_SIZE + 1] = {SPDM_VERSION_12,
                                          SPDM_GET_MEASUREMENTS};
    int rc = need_negotiated(q, session_id);

    if (rc != SPDM_OK) {
        return rc;
    }
    if (slot > 7) {
        return SPDM_ERR_ARG;
    }
    if ((q->c.peer_caps & (SPDM_CAP_MEAS_SIG | SPDM_CAP_MEAS_NO_SIG)) == 0 ||
        (sign && (q->c.peer_caps & SPDM_CAP_MEAS_SIG) == 0)) {
        return SPDM_ERR_NEGOTIATION;
    }
    if (sign && (!q->chain_done || q->chain_slot != slot)) {
        return SPDM_ERR_STATE;
    }
    m[2] = (uint8_t)((sign ? 0x01 : 0) | (raw ? 0x02 : 0));
    m[3] = op;
    if (!sign) {
        return emit(q, session_id, m, 4, out, cap, len);
    }
    if (q->ops->random(q->ops_ctx, m + 4, SPDM_NONCE_SIZE) != 0) {
        return SPDM_ERR_INTERNAL;
    }
    m[4 + SPDM_NONCE_SIZE] = slot;
    return emit(q, session_id, m, sizeof(m), out, cap, len);
}

/* Digest size of a MeasurementHashAlgo bit; 0 for raw bit streams only. */
static size_t meas_digest_size(uint32_t meas_hash)
{
    switch (meas_hash) {
    case SPDM_MEAS_HASH_SHA256:
    case SPDM_MEAS_HASH_SHA3_256:
    case SPDM_MEAS_HASH_SM3_256:
        return 32;
    case SPDM_MEAS_HASH_SHA384:
    case SPDM_MEAS_HASH_SHA3_384:
        return 48;
    case SPDM_MEAS_HASH_SHA512:
    case SPDM_MEAS_HASH_SHA3_512:
        return 64;
    default:
        return 0;
    }
}

/*
 * A block in digest form (DMTFSpecMeasurementValueType bit 7 clear) holds a
 * digest of the selected MeasurementHashAlgo; raw bit streams any length.
 */
static int parse_blocks(const uint8_t *p, size_t len, size_t count,
                        uint32_t meas_hash, struct spdm_meas_result *res)
{
    size_t dsize = meas_digest_size(meas_hash);
    struct bytes b = bytes_of(p, len);
    const uint8_t *h, *v;

    if (count > SPDM_MEAS_BLOCKS_MAX) {
        return SPDM_ERR_MALFORMED;
    }
    for (size_t i = 0; i < count; i++) {
        size_t size, vsize;
        if (!bytes_take(&b, 4, &h)) {
            return SPDM_ERR_MALFORMED;
        }
        size = load_le16(h + 2);
        if (h[1] != SPDM_MEAS_SPEC_DMTF || size < 3 ||
            !bytes_take(&b, size, &v)) {
            return SPDM_ERR_MALFORMED;
        }
        vsize = load_le16(v + 1);
        if (vsize != size - 3 || vsize > SPDM_MEAS_VALUE_MAX ||
            ((v[0] & SPDM_MEAS_TYPE_RAW) == 0 && vsize != dsize)) {
            return SPDM_ERR_MALFORMED;
        }
        res->blocks[i].index = h[0];
        res->blocks[i].type = v[0];
        res->blocks[i].value_len = (uint16_t)vsize;
        memcpy(res->blocks[i].value, v + 3, vsize);
    }
    if (b.len != 0) {
        return SPDM_ERR_MALFORMED;
    }
    res->n_blocks = count;
    return SPDM_OK;
}

/* see spdm.h */
int spdm_req_get_measurements_parse(struct spdm_requester *q,
                                    uint32_t session_id, const uint8_t *in,
                                    size_t len, struct spdm_meas_result *res)
{
    struct spdm_conn *c = &q->c;
    struct spdm_session *s = NULL;
    const uint8_t *m;
    size_t n, rec, off, opaque;
    bool sig = (q->pending_param1 & 0x01) != 0;
    size_t req_len = sig ? 4 + SPDM_NONCE_SIZE + 1 : 4;
    uint8_t *l1;
    size_t *l1_len;
    bool *lost;
    uint8_t h[SPDM_HASH_SIZE];
    int rc = take(q, SPDM_GET_MEASUREMENTS, session_id, in, len, &m, &n,
                  SPDM_MEASUREMENTS);

    if (rc != SPDM_OK) {
        return rc;
    }
    if (session_id != SPDM_NO_SESSION) {
        s = spdm_session_find(c, session_id);
        if (s == NULL) {
            return SPDM_ERR_SESSION;
        }
    }
    l1 = s != NULL ? s->l1 : c->l1;
    l1_len = s != NULL ? &s->l1_len : &c->l1_len;
    lost = s != NULL ? &s->l1_lost : &c->l1_lost;
    if (n < 8) {
        return SPDM_ERR_MALFORMED;
    }
    rec = (size_t)m[5] | (size_t)m[6] << 8 | (size_t)m[7] << 16;
    if (n < 8 + rec + SPDM_NONCE_SIZE + 2) {
        return SPDM_ERR_MALFORMED;
    }
    off = 8 + rec + SPDM_NONCE_SIZE;
    opaque = load_le16(m + off);
    off += 2 + opaque;
    if (n < off + (sig ? SPDM_SIG_SIZE : 0)) {
        return SPDM_ERR_MALFORMED;
    }
    memset(res, 0, sizeof(*res));
    res->meas_hash = c->meas_hash;
    if (q->pending_param2 == SPDM_MEAS_OP_COUNT) {
        if (m[4] != 0 || rec != 0) {
            return SPDM_ERR_MALFORMED;
        }
        res->total = m[2];
    } else {
        rc = parse_blocks(m + 8, rec, m[4], c->meas_hash, res);
        if (rc != SPDM_OK) {
            return rc;
        }
        if (m[4] == 0 ||
            (q->pending_param2 != SPDM_MEAS_OP_ALL &&
             (m[4] != 1 || res->blocks[0].index != q->pending_param2))) {
            return SPDM_ERR_UNEXPECTED;
        }
    }
    if (!sig) {
        if (!*lost &&
            (!spdm_ts_add(l1, l1_len, SPDM_L1_MAX, q->pending_req, req_len) ||
             !spdm_ts_add(l1, l1_len, SPDM_L1_MAX, m, off))) {
            *lost = true;
            *l1_len = 0;
        }
        return SPDM_OK;
    }
    if ((m[3] & 0x0f) != q->chain_slot) {
        *l1_len = 0;
        return SPDM_ERR_UNEXPECTED;
    }
    if (*lost) {
        *lost = false;
        *l1_len = 0;
        return SPDM_ERR_TRANSCRIPT;
    }
    {
        struct crypto_iov v[4] = {
            {c->vca, c->vca_len},
            {l1, *l1_len},
            {q->pending_req, req_len},
            {m, off},
        };
        rc = crypto_sha384_v(v, 4, h);
    }
    *l1_len = 0;
    if (rc != 0) {
        return SPDM_ERR_INTERNAL;
    }
    if (!verify(q, SPDM_CTX_MEASUREMENTS, h, m + off)) {
        return SPDM_ERR_SIGNATURE;
    }
    res->signed_ok = true;
    return SPDM_OK;
}

/* ---- KEY_EXCHANGE / FINISH ---- */

static bool req_id_used(const struct spdm_requester *q, uint16_t id)
{
    for (size_t i = 0; i < SPDM_SESSIONS_MAX; i++) {
        if (q->c.sessions[i].state != SPDM_SESSION_FREE &&
            (q->c.sessions[i].id & 0xffff) == id) {
            return true;
        }
    }
    return false;
}

/* see spdm.h */
int spdm_req_key_exchange_build(struct spdm_requester *q, uint8_t slot,
                                uint8_t meas_summary_type, uint8_t *out,
                                size_t cap, size_t *len)
{
    uint8_t m[SPDM_KE_FIXED_SIZE + SPDM_OPAQUE_LIST_SIZE] = {
        SPDM_VERSION_12, SPDM_KEY_EXCHANGE, meas_summary_type, slot};
    struct spdm_session *s;
    size_t n = SPDM_KE_FIXED_SIZE;
    uint16_t id;
    int rc = need_negotiated(q, SPDM_NO_SESSION);

    if (rc != SPDM_OK) {
        return rc;
    }
    if (!summary_type_ok(meas_summary_type) || slot > 7) {
        return SPDM_ERR_ARG;
    }
    if (!q->chain_done || q->chain_slot != slot) {
        return SPDM_ERR_STATE;
    }
    if (!both_have(q, SPDM_CAP_KEY_EX)) {
        return SPDM_ERR_NEGOTIATION;
    }
    if (q->pending != 0) {
        return SPDM_ERR_STATE;
    }
    s = spdm_session_alloc(&q->c);
    if (s == NULL) {
        return SPDM_ERR_SESSION;
    }
    do {
        id = q->next_req_session_id--;
        if (q->next_req_session_id == 0) {
            q->next_req_session_id = 0xffff;
        }
    } while (id == 0 || req_id_used(q, id));
    store_le16(m + 4, id);
    m[6] = 0; /* SessionPolicy */
    if (q->ops->random(q->ops_ctx, m + 8, SPDM_RANDOM_SIZE) != 0) {
        return SPDM_ERR_INTERNAL;
    }
    memset(s, 0, sizeof(*s));
    if (crypto_ecdh_p384_keygen(s->dhe_priv, m + 40) != 0) {
        spdm_session_free(s);
        return SPDM_ERR_INTERNAL;
    }
    if (q->c.opaque_fmt1) {
        store_le16(m + n - 2, SPDM_OPAQUE_LIST_SIZE);
        n += spdm_opaque_version_list(m + n);
    } else {
        store_le16(m + n - 2, 0);
    }
    rc = emit(q, SPDM_NO_SESSION, m, n, out, cap, len);
    if (rc != SPDM_OK) {
        spdm_session_free(s);
        return rc;
    }
    /* for KEY_EXCHANGE, pending_session names the slot being set up */
    q->pending_session = (uint32_t)(s - q->c.sessions);
    return SPDM_OK;
}

/* see spdm.h */
int spdm_req_key_exchange_parse(struct spdm_requester *q, const uint8_t *in,
                                size_t len, uint32_t *session_id)
{
    struct spdm_conn *c = &q->c;
    struct spdm_session *s;
    const uint8_t *m;
    size_t n, off, opaque, slot_idx = q->pending_session;
    bool summary = q->pending_param1 != SPDM_MEAS_SUMMARY_NONE;
    uint8_t dhe[SPDM_HASH_SIZE], h[SPDM_HASH_SIZE], want[SPDM_HASH_SIZE];
    uint32_t id;
    int rc;

    if (q->pending != SPDM_KEY_EXCHANGE || slot_idx >= SPDM_SESSIONS_MAX) {
        return SPDM_ERR_STATE;
    }
    s = &c->sessions[slot_idx];
    q->pending_session = SPDM_NO_SESSION;
    rc = take(q, SPDM_KEY_EXCHANGE, SPDM_NO_SESSION, in, len, &m, &n,
              SPDM_KEY_EXCHANGE_RSP);
    if (rc != SPDM_OK) {
        goto out_free;
    }
    off = 4 + 4 + SPDM_RANDOM_SIZE + SPDM_DHE_SIZE +
          (summary ? SPDM_HASH_SIZE : 0);
    if (n < off + 2) {
        rc = SPDM_ERR_MALFORMED;
        goto out_free;
    }
    opaque = load_le16(m + off);
    off += 2 + opaque;
    if (n < off + SPDM_SIG_SIZE + SPDM_HASH_SIZE) {
        rc = SPDM_ERR_MALFORMED;
        goto out_free;
    }
    if (m[6] != 0) {
        rc = SPDM_ERR_UNEXPECTED; /* mutual authentication not offered */
        goto out_free;
    }
    if (c->opaque_fmt1 && opaque > 0 &&
        spdm_opaque_find_version(m + off - opaque, opaque, 0) != 1) {
        rc = SPDM_ERR_NEGOTIATION;
        goto out_free;
    }
    id = (uint32_t)load_le16(q->pending_req + 4) | (uint32_t)load_le16(m + 4)
                                                       << 16;
    if (load_le16(m + 4) == 0 || spdm_session_find(c, id) != NULL) {
        rc = SPDM_ERR_UNEXPECTED;
        goto out_free;
    }
    if (crypto_ecdh_p384_derive(s->dhe_priv, q->pending_req + 40,
                                m + 8 + SPDM_RANDOM_SIZE, dhe) != 0) {
        rc = SPDM_ERR_MALFORMED; /* the responder's point is not valid */
        goto out_free;
    }
    wipe(s->dhe_priv, sizeof(s->dhe_priv));
    s->th_len = 0;
    if (!spdm_ts_add(s->th, &s->th_len, sizeof(s->th), q->pending_req,
                     q->pending_req_len) ||
        !spdm_ts_add(s->th, &s->th_len, sizeof(s->th), m, off)) {
        rc = SPDM_ERR_TRANSCRIPT;
        goto out_free;
    }
    if (spdm_th_hash(c, q->chain_hash, s, h) != 0) {
        rc = SPDM_ERR_INTERNAL;
        goto out_free;
    }
    if (!verify(q, SPDM_CTX_KEY_EXCHANGE, h, m + off)) {
        rc = SPDM_ERR_SIGNATURE;
        goto out_free;
    }
    if (!spdm_ts_add(s->th, &s->th_len, sizeof(s->th), m + off,
                     SPDM_SIG_SIZE) ||
        spdm_th_hash(c, q->chain_hash, s, h) != 0 ||
        spdm_ks_handshake(s, dhe, h) != 0 ||
        spdm_finished_hmac(s->finished_key_rsp, h, want) != 0) {
        rc = SPDM_ERR_INTERNAL;
        goto out_free;
    }
    if (!ct_eq(want, m + off + SPDM_SIG_SIZE, SPDM_HASH_SIZE)) {
        rc = SPDM_ERR_VERIFY_DATA;
        goto out_free;
    }
    if (!spdm_ts_add(s->th, &s->th_len, sizeof(s->th), m + off + SPDM_SIG_SIZE,
                     SPDM_HASH_SIZE)) {
        rc = SPDM_ERR_TRANSCRIPT;
        goto out_free;
    }
    s->id = id;
    s->meas_summary_type = q->pending_param1;
    s->state = SPDM_SESSION_HANDSHAKE;
    q->peer_heartbeat_period_s = m[2];
    *session_id = id;
    wipe(dhe, sizeof(dhe));
    return SPDM_OK;
out_free:
    spdm_session_free(s);
    wipe(dhe, sizeof(dhe));
    return rc;
}

/* see spdm.h */
int spdm_req_finish_build(struct spdm_requester *q, uint32_t session_id,
                          uint8_t *out, size_t cap, size_t *len)
{
    uint8_t m[4 + SPDM_HASH_SIZE] = {SPDM_VERSION_12, SPDM_FINISH, 0, 0};
    struct spdm_session *s = spdm_session_find(&q->c, session_id);
    uint8_t h[SPDM_HASH_SIZE];
    size_t th_len;
    int rc;

    if (s == NULL || s->state != SPDM_SESSION_HANDSHAKE) {
        return SPDM_ERR_SESSION;
    }
    if (q->pending != 0) {
        return SPDM_ERR_STATE;
    }
    th_len = s->th_len;
    if (!spdm_ts_add(s->th, &s->th_len, sizeof(s->th), m, 4)) {
        return SPDM_ERR_TRANSCRIPT;
    }
    if (spdm_th_hash(&q->c, q->chain_hash, s, h) != 0 ||
        spdm_finished_hmac(s->finished_key_req, h, m + 4) != 0) {
        s->th_len = th_len;
        return SPDM_ERR_INTERNAL;
    }
    if (!spdm_ts_add(s->th, &s->th_len, sizeof(s->th), m + 4, SPDM_HASH_SIZE)) {
        s->th_len = th_len;
        return SPDM_ERR_TRANSCRIPT;
    }
    rc = emit(q, session_id, m, sizeof(m), out, cap, len);
    if (rc != SPDM_OK) {
        s->th_len = th_len;
    }
    return rc;
}

/* see spdm.h */
int spdm_req_finish_parse(struct spdm_requester *q, uint32_t session_id,
                          const uint8_t *in, size_t len)
{
    struct spdm_session *s;
    const uint8_t *m;
    size_t n;
    uint8_t th2[SPDM_HASH_SIZE];
    int rc = take(q, SPDM_FINISH, session_id, in, len, &m, &n, SPDM_FINISH_RSP);

    s = spdm_session_find(&q->c, session_id);
    if (rc != SPDM_OK) {
        if (s != NULL && rc != SPDM_ERR_STATE) {
            spdm_session_free(s); /* a failed handshake is over */
        }
        return rc;
    }
    if (s == NULL) {
        return SPDM_ERR_SESSION;
    }
    if (!spdm_ts_add(s->th, &s->th_len, sizeof(s->th), m, 4) ||
        spdm_th_hash(&q->c, q->chain_hash, s, th2) != 0 ||
        spdm_ks_data(s, th2) != 0) {
        spdm_session_free(s);
        return SPDM_ERR_INTERNAL;
    }
    wipe(s->th, sizeof(s->th));
    s->th_len = 0;
    s->state = SPDM_SESSION_ESTABLISHED;
    return SPDM_OK;
}

/* ---- in-session requests ---- */

static int simple_build(struct spdm_requester *q, uint32_t session_id,
                        uint8_t code, uint8_t p1, uint8_t p2, uint8_t *out,
                        size_t cap, size_t *len)
{
    uint8_t m[4] = {SPDM_VERSION_12, code, p1, p2};
    int rc;

    if (session_id == SPDM_NO_SESSION) {
        return SPDM_ERR_SESSION;
    }
    rc = need_negotiated(q, session_id);
    if (rc != SPDM_OK) {
        return rc;
    }
    return emit(q, session_id, m, sizeof(m), out, cap, len);
}

/* see spdm.h */
int spdm_req_heartbeat_build(struct spdm_requester *q, uint32_t session_id,
                             uint8_t *out, size_t cap, size_t *len)
{
    if (!both_have(q, SPDM_CAP_HBEAT)) {
        return SPDM_ERR_NEGOTIATION;
    }
    return simple_build(q, session_id, SPDM_HEARTBEAT, 0, 0, out, cap, len);
}

/* see spdm.h */
int spdm_req_heartbeat_parse(struct spdm_requester *q, uint32_t session_id,
                             const uint8_t *in, size_t len)
{
    const uint8_t *m;
    size_t n;

    return take(q, SPDM_HEARTBEAT, session_id, in, len, &m, &n,
                SPDM_HEARTBEAT_ACK);
}

/* see spdm.h */
int spdm_req_key_update_build(struct spdm_requester *q, uint32_t session_id,
                              uint8_t op, uint8_t tag, uint8_t *out, size_t cap,
                              size_t *len)
{
    if (op < SPDM_KEY_UPDATE_KEY || op > SPDM_KEY_UPDATE_VERIFY) {
        return SPDM_ERR_ARG;
    }
    if (!both_have(q, SPDM_CAP_KEY_UPD)) {
        return SPDM_ERR_NEGOTIATION;
    }
    return simple_build(q, session_id, SPDM_KEY_UPDATE, op, tag, out, cap, len);
}

/* see spdm.h */
int spdm_req_key_update_parse(struct spdm_requester *q, uint32_t session_id,
                              const uint8_t *in, size_t len)
{
    struct spdm_session *s = spdm_session_find(&q->c, session_id);
    struct spdm_aead_dir next;
    const uint8_t *m;
    size_t n;
    uint8_t op = q->pending_param1, tag = q->pending_param2;
    bool moved = false;
    int rc;

    if (s != NULL && q->pending == SPDM_KEY_UPDATE &&
        q->pending_session == session_id && op == SPDM_KEY_UPDATE_ALL_KEYS &&
        len <= SPDM_RECORD_MAX) {
        /*
         * The ACK to UpdateAllKeys comes under the new response key; an
         * ERROR (no update) would come under the old one, which take()
         * then tries.
         */
        uint8_t rec[SPDM_RECORD_MAX], plain[SPDM_MSG_MAX];
        size_t plain_len;

        next = s->rsp;
        memcpy(rec, in, len);
        if (spdm_ks_update(&next) == 0 &&
            spdm_rec_open(&q->c, s, &next, rec, len, plain, sizeof(plain),
                          &plain_len) == SPDM_OK) {
            s->rsp = next;
            moved = true;
            q->pending_session = SPDM_NO_SESSION;
            rc = take(q, SPDM_KEY_UPDATE, SPDM_NO_SESSION, plain, plain_len, &m,
                      &n, SPDM_KEY_UPDATE_ACK);
            wipe(plain, sizeof(plain));
        } else {
            rc = take(q, SPDM_KEY_UPDATE, session_id, in, len, &m, &n,
                      SPDM_KEY_UPDATE_ACK);
        }
        wipe(&next, sizeof(next));
    } else {
        rc = take(q, SPDM_KEY_UPDATE, session_id, in, len, &m, &n,
                  SPDM_KEY_UPDATE_ACK);
    }
    if (rc != SPDM_OK) {
        return rc;
    }
    s = spdm_session_find(&q->c, session_id);
    if (s == NULL) {
        return SPDM_ERR_SESSION;
    }
    if (m[2] != op || m[3] != tag ||
        (op == SPDM_KEY_UPDATE_ALL_KEYS && !moved)) {
        return SPDM_ERR_UNEXPECTED;
    }
    if (op == SPDM_KEY_UPDATE_VERIFY) {
        return SPDM_OK;
    }
    if (spdm_ks_update(&s->req) != 0) {
        spdm_session_free(s);
        return SPDM_ERR_INTERNAL;
    }
    return SPDM_OK;
}

/* see spdm.h */
int spdm_req_end_session_build(struct spdm_requester *q, uint32_t session_id,
                               uint8_t *out, size_t cap, size_t *len)
{
    return simple_build(q, session_id, SPDM_END_SESSION, 0, 0, out, cap, len);
}

/* see spdm.h */
int spdm_req_end_session_parse(struct spdm_requester *q, uint32_t session_id,
                               const uint8_t *in, size_t len)
{
    const uint8_t *m;
    size_t n;
    int rc = take(q, SPDM_END_SESSION, session_id, in, len, &m, &n,
                  SPDM_END_SESSION_ACK);
    struct spdm_session *s = spdm_session_find(&q->c, session_id);

    if (rc == SPDM_OK && s != NULL) {
        spdm_session_free(s);
    }
    return rc;
}

/* see spdm.h */
int spdm_req_vendor_defined_build(struct spdm_requester *q, uint32_t session_id,
                                  uint16_t standard_id,
                                  const uint8_t *vendor_id,
                                  size_t vendor_id_len, const uint8_t *payload,
                                  size_t payload_len, uint8_t *out, size_t cap,
                                  size_t *len)
{
    uint8_t m[SPDM_MSG_MAX];
    size_t n;
    int rc = need_negotiated(q, session_id);

    if (rc != SPDM_OK) {
        return rc;
    }
    if (vendor_id_len > 255 || payload_len > SPDM_VENDOR_PAYLOAD_MAX) {
        return SPDM_ERR_ARG;
    }
    n = 4 + 3 + vendor_id_len + 2 + payload_len;
    if (n > send_cap(q)) {
        return SPDM_ERR_ARG;
    }
    m[0] = SPDM_VERSION_12;
    m[1] = SPDM_VENDOR_DEFINED_REQUEST;
    m[2] = 0;
    m[3] = 0;
    store_le16(m + 4, standard_id);
    m[6] = (uint8_t)vendor_id_len;
    if (vendor_id_len > 0) {
        memcpy(m + 7, vendor_id, vendor_id_len);
    }
    store_le16(m + 7 + vendor_id_len, (uint16_t)payload_len);
    if (payload_len > 0) {
        memcpy(m + 9 + vendor_id_len, payload, payload_len);
    }
    rc = emit(q, session_id, m, n, out, cap, len);
    wipe(m, n); /* the payload may be secret */
    return rc;
}

/* see spdm.h */
int spdm_req_vendor_defined_parse(struct spdm_requester *q, uint32_t session_id,
                                  const uint8_t *in, size_t len, uint8_t *rsp,
                                  size_t rsp_cap, size_t *rsp_len)
{
    const uint8_t *m;
    size_t n, vid_len, plen;
    int rc = take(q, SPDM_VENDOR_DEFINED_REQUEST, session_id, in, len, &m, &n,
                  SPDM_VENDOR_DEFINED_RESPONSE);

    if (rc != SPDM_OK) {
        return rc;
    }
    vid_len = q->pending_req[6];
    if (n < 4 + 3 + vid_len + 2) {
        return SPDM_ERR_MALFORMED;
    }
    /* the saved request holds StandardID and VendorID in full */
    if (memcmp(m + 4, q->pending_req + 4, 3 + vid_len) != 0) {
        return SPDM_ERR_UNEXPECTED;
    }
    plen = load_le16(m + 7 + vid_len);
    if (n < 9 + vid_len + plen) {
        return SPDM_ERR_MALFORMED;
    }
    if (plen > rsp_cap) {
        return SPDM_ERR_OUT_SIZE;
    }
    memcpy(rsp, m + 9 + vid_len, plen);
    *rsp_len = plen;
    return SPDM_OK;
}

/* see spdm.h */
int spdm_req_seal(struct spdm_requester *q, uint32_t session_id,
                  const uint8_t *plain, size_t plain_len, uint8_t *out,
                  size_t cap, size_t *len)
{
    struct spdm_session *s = spdm_session_find(&q->c, session_id);

    if (s == NULL) {
        return SPDM_ERR_SESSION;
    }
    return spdm_rec_seal(&q->c, s, &s->req, plain, plain_len, out, cap, len);
}

/* see spdm.h */
int spdm_req_open(struct spdm_requester *q, uint32_t session_id,
                  const uint8_t *in, size_t in_len, uint8_t *plain, size_t cap,
                  size_t *plain_len)
{
    struct spdm_session *s = spdm_session_find(&q->c, session_id);

    if (s == NULL) {
        return SPDM_ERR_SESSION;
    }
    return spdm_rec_open(&q->c, s, &s->rsp, in, in_len, plain, cap, plain_len);
}
