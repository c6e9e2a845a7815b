/* SPDX-License-Identifier: MIT */
/*
 * What both SPDM roles share: strings, the key schedule (DSP0274 1.2 12.x),
 * the DSP0277 record layer and transcript helpers.
 */
#include <string.h>

#include "common/bytes.h"
#include "common/ct.h"
#include "crypto/crypto.h"
#include "spdm/spdm_priv.h"

/* see spdm.h */
const char *spdm_strerror(int status)
{
    switch (status) {
    case SPDM_OK:
        return "success";
    case SPDM_ERR_INTERNAL:
        return "internal failure (crypto or callback)";
    case SPDM_ERR_OUT_SIZE:
        return "output buffer too small";
    case SPDM_ERR_CONFIG:
        return "bad configuration";
    case SPDM_ERR_STATE:
        return "operation not allowed in this state";
    case SPDM_ERR_ARG:
        return "bad argument";
    case SPDM_ERR_PEER_ERROR:
        return "peer answered with ERROR";
    case SPDM_ERR_UNEXPECTED:
        return "unexpected response";
    case SPDM_ERR_MALFORMED:
        return "malformed response";
    case SPDM_ERR_NEGOTIATION:
        return "no common version, capability or algorithm";
    case SPDM_ERR_SIGNATURE:
        return "signature does not verify";
    case SPDM_ERR_VERIFY_DATA:
        return "verify data (HMAC) mismatch";
    case SPDM_ERR_CERT_CHAIN:
        return "bad certificate chain";
    case SPDM_ERR_NONCE:
        return "nonce mismatch";
    case SPDM_ERR_SESSION:
        return "unknown session or wrong session state";
    case SPDM_ERR_DECRYPT:
        return "secured message does not decrypt (tampered or replayed)";
    case SPDM_ERR_SEQUENCE:
        return "sequence number exhausted";
    case SPDM_ERR_TRANSCRIPT:
        return "transcript exceeds its cap";
    default:
        return "unknown status";
    }
}

/* see spdm.h */
const char *spdm_error_name(uint8_t code)
{
    switch (code) {
    case SPDM_ERROR_INVALID_REQUEST:
        return "InvalidRequest";
    case SPDM_ERROR_BUSY:
        return "Busy";
    case SPDM_ERROR_UNEXPECTED_REQUEST:
        return "UnexpectedRequest";
    case SPDM_ERROR_UNSPECIFIED:
        return "Unspecified";
    case SPDM_ERROR_DECRYPT_ERROR:
        return "DecryptError";
    case SPDM_ERROR_UNSUPPORTED_REQUEST:
        return "UnsupportedRequest";
    case SPDM_ERROR_REQUEST_IN_FLIGHT:
        return "RequestInFlight";
    case SPDM_ERROR_INVALID_RESPONSE:
        return "InvalidResponseCode";
    case SPDM_ERROR_SESSION_LIMIT:
        return "SessionLimitExceeded";
    case SPDM_ERROR_SESSION_REQUIRED:
        return "SessionRequired";
    case SPDM_ERROR_RESET_REQUIRED:
        return "ResetRequired";
    case SPDM_ERROR_RESPONSE_TOO_LARGE:
        return "ResponseTooLarge";
    case SPDM_ERROR_REQUEST_TOO_LARGE:
        return "RequestTooLarge";
    case SPDM_ERROR_LARGE_RESPONSE:
        return "LargeResponse";
    case SPDM_ERROR_MESSAGE_LOST:
        return "MessageLost";
    case SPDM_ERROR_VERSION_MISMATCH:
        return "VersionMismatch";
    case SPDM_ERROR_RESPONSE_NOT_READY:
        return "ResponseNotReady";
    case SPDM_ERROR_REQUEST_RESYNCH:
        return "RequestResynch";
    case SPDM_ERROR_VENDOR_DEFINED:
        return "Vendor/Other Standards Defined";
    default:
        return "Reserved";
    }
}

/*
 * Opaque data format 1 (DSP0274 1.2 table "General opaque data format"):
 * {TotalElements u8, Reserved[3]}, then elements {ID u8 (0 = DMTF),
 * VendorLen u8, OpaqueElementDataLen u16, data, padding to 4 bytes}; the
 * DSP0277 data is {SMDataVersion u8 = 1, SMDataID u8, ...}.
 */
size_t spdm_opaque_version_selection(uint8_t out[SPDM_OPAQUE_SEL_SIZE])
{
    memset(out, 0, SPDM_OPAQUE_SEL_SIZE);
    out[0] = 1;             /* TotalElements */
    out[4] = 0;             /* ID: DMTF */
    out[5] = 0;             /* VendorLen */
    store_le16(out + 6, 4); /* OpaqueElementDataLen */
    out[8] = 1;             /* SMDataVersion */
    out[9] = 0;             /* SMDataID: version selection */
    store_le16(out + 10, SPDM_SECURED_VERSION);
    return SPDM_OPAQUE_SEL_SIZE;
}

size_t spdm_opaque_version_list(uint8_t out[SPDM_OPAQUE_LIST_SIZE])
{
    memset(out, 0, SPDM_OPAQUE_LIST_SIZE);
    out[0] = 1;
    store_le16(out + 6, 5);
    out[8] = 1;  /* SMDataVersion */
    out[9] = 1;  /* SMDataID: supported version list */
    out[10] = 1; /* VersionCount */
    store_le16(out + 11, SPDM_SECURED_VERSION);
    return SPDM_OPAQUE_LIST_SIZE;
}

int spdm_opaque_find_version(const uint8_t *p, size_t len, uint8_t sm_id)
{
    struct bytes b = bytes_of(p, len);
    const uint8_t *h, *d;
    int found = 0;
    size_t n;

    if (len == 0) {
        return 0;
    }
    if (!bytes_take(&b, 4, &h)) {
        return -1;
    }
    n = h[0];
    for (size_t i = 0; i < n; i++) {
        size_t vlen, dlen, elen;
        if (!bytes_take(&b, 2, &d)) {
            return -1;
        }
        vlen = d[1];
        if (!bytes_skip(&b, vlen) || !bytes_take(&b, 2, &d)) {
            return -1;
        }
        dlen = load_le16(d);
        if (!bytes_take(&b, dlen, &d)) {
            return -1;
        }
        elen = 4 + vlen + dlen;
        if (elen % 4 != 0 && !bytes_skip(&b, 4 - elen % 4)) {
            return -1;
        }
        if (vlen != 0 || dlen < 2 || d[0] != 1 || d[1] != sm_id) {
            continue;
        }
        if (sm_id == 0 && dlen >= 4 &&
            load_le16(d + 2) >> 8 == SPDM_SECURED_VERSION >> 8) {
            found = 1;
        } else if (sm_id == 1 && dlen >= 3 && dlen >= 3 + 2 * (size_t)d[2]) {
            for (size_t k = 0; k < d[2]; k++) {
                if (load_le16(d + 3 + 2 * k) >> 8 ==
                    SPDM_SECURED_VERSION >> 8) {
                    found = 1;
                }
            }
        }
    }
    return found;
}

bool spdm_ts_add(uint8_t *buf, size_t *len, size_t cap, const void *p, size_t n)
{
    if (n > cap - *len) {
        return false;
    }
    if (n > 0) {
        memcpy(buf + *len, p, n);
    }
    *len += n;
    return true;
}

void spdm_sign_input(const char *label, const uint8_t hash[SPDM_HASH_SIZE],
                     uint8_t out[SPDM_SIGN_INPUT_SIZE])
{
    static const char prefix[] = "dmtf-spdm-v1.2.*";
    size_t l = strlen(label);

    for (size_t i = 0; i < 4; i++) {
        memcpy(out + 16 * i, prefix, 16);
    }
    memset(out + 64, 0, 36 - l);
    memcpy(out + 64 + 36 - l, label, l);
    memcpy(out + SPDM_SIGN_CTX_SIZE, hash, SPDM_HASH_SIZE);
}

int spdm_th_hash(const struct spdm_conn *c, const uint8_t *ct,
                 const struct spdm_session *s, uint8_t out[SPDM_HASH_SIZE])
{
    struct crypto_iov v[3] = {
        {c->vca, c->vca_len},
        {ct, ct != NULL ? SPDM_HASH_SIZE : 0},
        {s->th, s->th_len},
    };
    return crypto_sha384_v(v, 3, out);
}

/*
 * BinConcat(Length, Label, Context) = Length u16 LE || "spdm1.2 " || Label
 * || Context, then HKDF-Expand(secret, that, Length).
 */
static int expand_label(const uint8_t secret[SPDM_HASH_SIZE], const char *label,
                        const uint8_t *context, size_t context_len,
                        uint8_t *out, size_t out_len)
{
    uint8_t info[2 + 8 + 16 + SPDM_HASH_SIZE];
    size_t l = strlen(label), n = 0;

    store_le16(info, (uint16_t)out_len);
    n = 2;
    memcpy(info + n, "spdm1.2 ", 8);
    n += 8;
    memcpy(info + n, label, l);
    n += l;
    if (context_len > 0) {
        memcpy(info + n, context, context_len);
        n += context_len;
    }
    return crypto_hkdf_sha384_expand(secret, info, n, out, out_len);
}

static int dir_keys(struct spdm_aead_dir *d)
{
    if (expand_label(d->secret, "key", NULL, 0, d->key, sizeof(d->key)) ||
        expand_label(d->secret, "iv", NULL, 0, d->iv, sizeof(d->iv)) ||
        crypto_gcm_rekey(&d->gcm, d->key) != 0) {
        return -1;
    }
    d->seq = 0;
    return 0;
}

int spdm_ks_handshake(struct spdm_session *s, const uint8_t dhe[SPDM_HASH_SIZE],
                      const uint8_t th1[SPDM_HASH_SIZE])
{
    static const uint8_t salt0[SPDM_HASH_SIZE];

    if (crypto_hkdf_sha384_extract(salt0, sizeof(salt0), dhe, SPDM_HASH_SIZE,
                                   s->handshake_secret) ||
        expand_label(s->handshake_secret, "req hs data", th1, SPDM_HASH_SIZE,
                     s->req.secret, SPDM_HASH_SIZE) ||
        expand_label(s->handshake_secret, "rsp hs data", th1, SPDM_HASH_SIZE,
                     s->rsp.secret, SPDM_HASH_SIZE) ||
        expand_label(s->req.secret, "finished", NULL, 0, s->finished_key_req,
                     SPDM_HASH_SIZE) ||
        expand_label(s->rsp.secret, "finished", NULL, 0, s->finished_key_rsp,
                     SPDM_HASH_SIZE) ||
        dir_keys(&s->req) || dir_keys(&s->rsp)) {
        return -1;
    }
    return 0;
}

int spdm_ks_data(struct spdm_session *s, const uint8_t th2[SPDM_HASH_SIZE])
{
    static const uint8_t zero[SPDM_HASH_SIZE];
    uint8_t salt1[SPDM_HASH_SIZE], master[SPDM_HASH_SIZE];
    int rc = -1;

    if (expand_label(s->handshake_secret, "derived", NULL, 0, salt1,
                     sizeof(salt1)) ||
        crypto_hkdf_sha384_extract(salt1, sizeof(salt1), zero, sizeof(zero),
                                   master) ||
        expand_label(master, "req app data", th2, SPDM_HASH_SIZE, s->req.secret,
                     SPDM_HASH_SIZE) ||
        expand_label(master, "rsp app data", th2, SPDM_HASH_SIZE, s->rsp.secret,
                     SPDM_HASH_SIZE) ||
        dir_keys(&s->req) || dir_keys(&s->rsp)) {
        goto out;
    }
    /* the handshake secrets are of no further use */
    wipe(s->handshake_secret, sizeof(s->handshake_secret));
    wipe(s->finished_key_req, sizeof(s->finished_key_req));
    wipe(s->finished_key_rsp, sizeof(s->finished_key_rsp));
    rc = 0;
out:
    wipe(salt1, sizeof(salt1));
    wipe(master, sizeof(master));
    return rc;
}

int spdm_ks_update(struct spdm_aead_dir *d)
{
    uint8_t next[SPDM_HASH_SIZE];

    if (expand_label(d->secret, "traffic upd", NULL, 0, next, sizeof(next))) {
        return -1;
    }
    memcpy(d->secret, next, sizeof(next));
    wipe(next, sizeof(next));
    return dir_keys(d);
}

int spdm_finished_hmac(const uint8_t key[SPDM_HASH_SIZE],
                       const uint8_t th[SPDM_HASH_SIZE],
                       uint8_t out[SPDM_HASH_SIZE])
{
    return crypto_hmac_sha384(key, SPDM_HASH_SIZE, th, SPDM_HASH_SIZE, out);
}

static void rec_iv(const struct spdm_aead_dir *d, uint8_t iv[12])
{
    memcpy(iv, d->iv, 12);
    for (size_t i = 0; i < 8; i++) {
        iv[i] ^= (uint8_t)(d->seq >> (8 * i));
    }
}

bool spdm_rec_session_id(const uint8_t *in, size_t len, uint32_t *id)
{
    if (len < 4) {
        return false;
    }
    *id = load_le32(in);
    return true;
}

/*
 * Record: SessionID u32 | SequenceNumber[seq_num_size] | Length u16 |
 * E(ApplicationDataLength u16 | message) | MAC[16]; AAD = the header.
 */
int spdm_rec_seal(const struct spdm_conn *c, const struct spdm_session *s,
                  struct spdm_aead_dir *d, const uint8_t *plain,
                  size_t plain_len, uint8_t *out, size_t cap, size_t *len)
{
    size_t hdr = 4 + c->seq_num_size + 2;
    size_t body = 2 + plain_len;
    uint8_t iv[12];

    if (d->seq == UINT64_MAX) {
        return SPDM_ERR_SEQUENCE;
    }
    if (plain_len > SPDM_MSG_MAX || cap < hdr + body + SPDM_AEAD_TAG_SIZE) {
        return SPDM_ERR_OUT_SIZE;
    }
    store_le32(out, s->id);
    for (size_t i = 0; i < c->seq_num_size; i++) {
        out[4 + i] = (uint8_t)(d->seq >> (8 * i));
    }
    store_le16(out + hdr - 2, (uint16_t)(body + SPDM_AEAD_TAG_SIZE));
    store_le16(out + hdr, (uint16_t)plain_len);
    memcpy(out + hdr + 2, plain, plain_len);
    rec_iv(d, iv);
    if (crypto_gcm_seal(&d->gcm, d->key, iv, out, hdr, out + hdr, body,
                        out + hdr, out + hdr + body) != 0) {
        return SPDM_ERR_INTERNAL;
    }
    d->seq++;
    *len = hdr + body + SPDM_AEAD_TAG_SIZE;
    return SPDM_OK;
}

int spdm_rec_open(const struct spdm_conn *c, const struct spdm_session *s,
                  struct spdm_aead_dir *d, const uint8_t *in, size_t in_len,
                  uint8_t *plain, size_t cap, size_t *plain_len)
{
    size_t hdr = 4 + c->seq_num_size + 2, body, app;
    uint8_t buf[SPDM_RECORD_MAX];
    uint8_t iv[12];

    if (d->seq == UINT64_MAX) {
        return SPDM_ERR_SEQUENCE;
    }
    if (in_len < hdr || load_le32(in) != s->id) {
        return SPDM_ERR_DECRYPT;
    }
    for (size_t i = 0; i < c->seq_num_size; i++) {
        if (in[4 + i] != (uint8_t)(d->seq >> (8 * i))) {
            return SPDM_ERR_DECRYPT; /* replayed or out of order */
        }
    }
    body = load_le16(in + hdr - 2);
    /* bytes after Length's end are transport padding */
    if (body < 2 + SPDM_AEAD_TAG_SIZE || body > in_len - hdr ||
        body > sizeof(buf)) {
        return SPDM_ERR_DECRYPT;
    }
    body -= SPDM_AEAD_TAG_SIZE;
    rec_iv(d, iv);
    if (crypto_gcm_open(&d->gcm, d->key, iv, in, hdr, in + hdr, body,
                        in + hdr + body, buf) != 0) {
        return SPDM_ERR_DECRYPT;
    }
    app = load_le16(buf);
    if (app > body - 2) {
        wipe(buf, body);
        return SPDM_ERR_DECRYPT;
    }
    if (app > cap) {
        wipe(buf, body);
        return SPDM_ERR_OUT_SIZE;
    }
    memcpy(plain, buf + 2, app);
    wipe(buf, body);
    d->seq++;
    *plain_len = app;
    return SPDM_OK;
}

struct spdm_session *spdm_session_find(struct spdm_conn *c, uint32_t id)
{
    for (size_t i = 0; i < SPDM_SESSIONS_MAX; i++) {
        if (c->sessions[i].state != SPDM_SESSION_FREE &&
            c->sessions[i].id == id) {
            return &c->sessions[i];
        }
    }
    return NULL;
}

struct spdm_session *spdm_session_alloc(struct spdm_conn *c)
{
    for (size_t i = 0; i < SPDM_SESSIONS_MAX; i++) {
        if (c->sessions[i].state == SPDM_SESSION_FREE) {
            return &c->sessions[i];
        }
    }
    return NULL;
}

void spdm_session_free(struct spdm_session *s)
{
    /* the key schedules go with the session */
    crypto_gcm_release(&s->req.gcm);
    crypto_gcm_release(&s->rsp.gcm);
    wipe(s, sizeof(*s));
    s->state = SPDM_SESSION_FREE;
}

void spdm_conn_reset(struct spdm_conn *c)
{
    uint8_t seq = c->seq_num_size;

    for (size_t i = 0; i < SPDM_SESSIONS_MAX; i++) {
        spdm_session_free(&c->sessions[i]);
    }
    memset(c, 0, sizeof(*c));
    c->seq_num_size = seq;
}

size_t spdm_meas_block_put(uint8_t *out, size_t cap, uint8_t index,
                           uint8_t type, const uint8_t *value,
                           uint16_t value_len)
{
    size_t n = 4 + 3 + (size_t)value_len;

    if (n > cap) {
        return 0;
    }
    out[0] = index;
    out[1] = SPDM_MEAS_SPEC_DMTF;
    store_le16(out + 2, (uint16_t)(3 + value_len));
    out[4] = type;
    store_le16(out + 5, value_len);
    memcpy(out + 7, value, value_len);
    return n;
}
