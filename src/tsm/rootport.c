/* SPDX-License-Identifier: MIT */
/*
 * The root-port security manager model; see rootport.h for the key states
 * and tsm_abi.h (TSM_DECISION_COVT_*) for the call layouts.
 */
#include "tsm/rootport.h"

#include <string.h>

#include "common/bytes.h"
#include "common/ct.h"

static struct sbiret ret(long error, long value)
{
    struct sbiret r = {error, value};

    return r;
}

/* see rootport.h */
void rp_init(struct rp_model *m)
{
    memset(m, 0, sizeof(*m));
}

static struct rp_stream *stream_find(struct rp_model *m, uint32_t rp_id,
                                     uint8_t stream_id)
{
    size_t i;

    if (rp_id >= RP_MAX_PORTS) {
        return NULL;
    }
    for (i = 0; i < RP_MAX_STREAMS; i++) {
        struct rp_stream *s = &m->ports[rp_id].streams[i];

        if (s->used && s->stream_id == stream_id) {
            return s;
        }
    }
    return NULL;
}

static void key_clear(struct rp_key *k)
{
    wipe(k, sizeof(*k));
    k->state = TSM_RP_KEY_CLEARED;
}

static bool stream_holds(const struct rp_stream *s, int state)
{
    const struct rp_key *k = &s->key[0][0][0];
    size_t i;

    for (i = 0; i < 12; i++) {
        if (state < 0 ? k[i].state != TSM_RP_KEY_CLEARED
                      : k[i].state == state) {
            return true;
        }
    }
    return false;
}

/* The key a descriptor names; NULL for an invalid descriptor. */
static struct rp_key *key_of(struct rp_model *m, uint64_t rp_id,
                             const uint8_t *desc)
{
    struct rp_stream *s;

    if (rp_id >= RP_MAX_PORTS || desc[1] > 2 || desc[2] > 1 || desc[3] > 1) {
        return NULL;
    }
    s = stream_find(m, (uint32_t)rp_id, desc[0]);
    return s == NULL ? NULL : &s->key[desc[2]][desc[3]][desc[1]];
}

static struct sbiret program_stream(struct rp_model *m, uint64_t rp_id,
                                    const uint8_t *in, size_t in_len)
{
    struct rp_stream *s;
    uint8_t n;
    size_t i;

    if (rp_id >= RP_MAX_PORTS || in_len < TSM_STREAM_DESC_MIN) {
        return ret(SBI_ERR_INVALID_PARAM, 0);
    }
    n = in[1];
    if (n > RP_MAX_ADDR_ASSOC || in[2] != 0 || in[3] != 0 ||
        in_len != TSM_STREAM_DESC_MIN + (size_t)n * TSM_STREAM_ADDR_BLOCK) {
        return ret(SBI_ERR_INVALID_PARAM, 0);
    }
    s = stream_find(m, (uint32_t)rp_id, in[0]);
    if (s != NULL && stream_holds(s, -1)) {
        return ret(SBI_ERR_INVALID_STATE, 0);
    }
    for (i = 0; i < RP_MAX_STREAMS && s == NULL; i++) {
        if (!m->ports[rp_id].streams[i].used) {
            s = &m->ports[rp_id].streams[i];
        }
    }
    if (s == NULL) {
        return ret(SBI_ERR_FAILED, 0); /* no free stream register block */
    }
    memset(s, 0, sizeof(*s));
    s->used = true;
    s->stream_id = in[0];
    s->n_addr = n;
    s->rid_assoc[0] = load_le32(in + 4);
    s->rid_assoc[1] = load_le32(in + 8);
    for (i = 0; i < n; i++) {
        const uint8_t *b = in + TSM_STREAM_DESC_MIN + i * TSM_STREAM_ADDR_BLOCK;

        s->addr_assoc[i][0] = load_le32(b);
        s->addr_assoc[i][1] = load_le32(b + 4);
        s->addr_assoc[i][2] = load_le32(b + 8);
    }
    return ret(SBI_SUCCESS, 0);
}

/* see rootport.h */
struct sbiret rp_covt(struct rp_model *m, uint32_t fid, const uint64_t a[6],
                      const uint8_t *in, size_t in_len)
{
    struct rp_stream *s;
    struct rp_key *k;

    switch (fid) {
    case TSM_COVT_PROGRAM_STREAM:
        if (a[1] == 0) {
            return ret(SBI_ERR_INVALID_PARAM, 0);
        }
        return program_stream(m, a[0], in, in_len);
    case TSM_COVT_CLEAR_KEY:
        if (a[0] >= RP_MAX_PORTS || a[1] > UINT8_MAX) {
            return ret(SBI_ERR_INVALID_PARAM, 0);
        }
        s = stream_find(m, (uint32_t)a[0], (uint8_t)a[1]);
        if (s == NULL) {
            return ret(SBI_ERR_INVALID_PARAM, 0);
        }
        if (stream_holds(s, TSM_RP_KEY_ENABLED)) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        wipe(s, sizeof(*s)); /* keys, registers; the block is free */
        return ret(SBI_SUCCESS, 0);
    case TSM_COVT_PROGRAM_KEY:
    case TSM_COVT_SET_GO:
    case TSM_COVT_SET_STOP:
    case TSM_COVT_KEY_STATUS:
        break;
    default:
        return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
    /* the calls on one key: descriptor first */
    if (a[1] == 0 || in_len < TSM_KEY_DESC_SIZE) {
        return ret(SBI_ERR_INVALID_PARAM, 0);
    }
    k = key_of(m, a[0], in);
    if (k == NULL) {
        return ret(SBI_ERR_INVALID_PARAM, 0);
    }
    switch (fid) {
    case TSM_COVT_PROGRAM_KEY:
        if (a[2] == 0 || in_len != TSM_KEY_DESC_SIZE + TSM_KEY_DATA_SIZE) {
            return ret(SBI_ERR_INVALID_ADDRESS, 0);
        }
        if (k->state == TSM_RP_KEY_ENABLED) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        memcpy(k->key, in + TSM_KEY_DESC_SIZE, RP_KEY_SIZE);
        memcpy(k->ifv, in + TSM_KEY_DESC_SIZE + RP_KEY_SIZE, RP_IFV_SIZE);
        k->state = TSM_RP_KEY_PROGRAMMED;
        return ret(SBI_SUCCESS, 0);
    case TSM_COVT_SET_GO:
        if (in_len != TSM_KEY_DESC_SIZE) {
            return ret(SBI_ERR_INVALID_PARAM, 0);
        }
        if (k->state != TSM_RP_KEY_PROGRAMMED) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        k->state = TSM_RP_KEY_ENABLED;
        return ret(SBI_SUCCESS, 0);
    case TSM_COVT_SET_STOP:
        if (in_len != TSM_KEY_DESC_SIZE) {
            return ret(SBI_ERR_INVALID_PARAM, 0);
        }
        if (k->state != TSM_RP_KEY_ENABLED) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        k->state = TSM_RP_KEY_PROGRAMMED;
        return ret(SBI_SUCCESS, 0);
    default:
        if (in_len != TSM_KEY_DESC_SIZE) {
            return ret(SBI_ERR_INVALID_PARAM, 0);
        }
        return ret(SBI_SUCCESS, k->state);
    }
}

/* see rootport.h */
bool rp_stream_insecure(struct rp_model *m, uint32_t rp_id, uint8_t stream_id)
{
    struct rp_stream *s = stream_find(m, rp_id, stream_id);
    struct rp_key *k;
    size_t i;

    if (s == NULL) {
        return false;
    }
    k = &s->key[0][0][0];
    for (i = 0; i < 12; i++) {
        key_clear(&k[i]);
    }
    return true;
}

/* see rootport.h */
bool rp_stream_secure(const struct rp_model *m, uint32_t rp_id,
                      uint8_t stream_id, unsigned key_set)
{
    const struct rp_stream *s =
        stream_find((struct rp_model *)m, rp_id, stream_id);
    unsigned dir, sub;

    if (s == NULL || key_set > 1) {
        return false;
    }
    for (dir = 0; dir < 2; dir++) {
        for (sub = 0; sub < 3; sub++) {
            if (s->key[key_set][dir][sub].state != TSM_RP_KEY_ENABLED) {
                return false;
            }
        }
    }
    return true;
}

/* see rootport.h */
const struct rp_key *rp_key_peek(const struct rp_model *m, uint32_t rp_id,
                                 uint8_t stream_id, unsigned key_set,
                                 unsigned tx_rx, unsigned sub_stream)
{
    const struct rp_stream *s =
        stream_find((struct rp_model *)m, rp_id, stream_id);

    if (s == NULL || key_set > 1 || tx_rx > 1 || sub_stream > 2) {
        return NULL;
    }
    return &s->key[key_set][tx_rx][sub_stream];
}

/* see rootport.h */
void rp_wipe(struct rp_model *m)
{
    wipe(m, sizeof(*m));
}
