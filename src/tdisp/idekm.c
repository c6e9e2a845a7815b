/* SPDX-License-Identifier: MIT */
/*
 * IDE_KM responder; see idekm.h for the slot rules.
 */
#include "tdisp/idekm.h"

#include <string.h>

#include "common/bytes.h"
#include "common/ct.h"

/*
 * KEY_PROG / K_SET_GO / K_SET_STOP / KP_ACK / K_GOSTOP_ACK, 7 bytes:
 *   +0 object id  +1 reserved[2]  +3 stream id  +4 status (KP_ACK) or 0
 *   +5 key_sub_stream  +6 port index
 * KEY_PROG adds the key (8 DW) and the IFV (2 DW).
 * QUERY is object id, reserved, port index; QUERY_RESP's fixed part is
 *   +0 object id  +1 reserved  +2 port index  +3 dev/func  +4 bus
 *   +5 segment  +6 max port index, then the IDE capability and control
 *   registers and each selective stream's register block.
 */
#define OFF_STREAM 3
#define OFF_STATUS 4
#define OFF_KSS    5
#define OFF_PORT   6

/* see idekm.h */
void idekm_init(struct idekm *k, uint8_t bus, uint8_t devfn, uint8_t segment)
{
    memset(k, 0, sizeof(*k));
    k->bus = bus;
    k->devfn = devfn;
    k->segment = segment;
}

static struct idekm_stream *find_stream(struct idekm *k, uint8_t port,
                                        uint8_t id)
{
    size_t i;

    for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
        if (k->streams[i].used && k->streams[i].port == port &&
            k->streams[i].stream_id == id) {
            return &k->streams[i];
        }
    }
    return NULL;
}

/* Decode key_sub_stream; false for bits outside set/direction/sub-stream. */
static bool decode_kss(uint8_t kss, unsigned *set, unsigned *dir, unsigned *sub)
{
    if ((kss & 0x0c) != 0 || (kss >> 4) > 2) {
        return false;
    }
    *set = kss & IDEKM_KEY_SET_MASK;
    *dir = (kss & IDEKM_DIR_TX) ? 1 : 0;
    *sub = kss >> 4;
    return true;
}

static bool stream_empty(const struct idekm_stream *s)
{
    const struct idekm_slot *slot = &s->slot[0][0][0];
    size_t i;

    for (i = 0; i < 12; i++) {
        if (slot[i].state != IDEKM_EMPTY) {
            return false;
        }
    }
    return true;
}

static void slot_clear(struct idekm_slot *s)
{
    wipe(s->key, sizeof(s->key));
    wipe(s->ifv, sizeof(s->ifv));
    s->state = IDEKM_EMPTY;
}

static void put_ack(uint8_t *rsp, uint8_t type, const uint8_t *req,
                    uint8_t status)
{
    memset(rsp, 0, IDEKM_MSG_SIZE);
    rsp[0] = type;
    rsp[OFF_STREAM] = req[OFF_STREAM];
    rsp[OFF_STATUS] = status;
    rsp[OFF_KSS] = req[OFF_KSS];
    rsp[OFF_PORT] = req[OFF_PORT];
}

static uint8_t key_prog(struct idekm *k, uint32_t session_id,
                        const uint8_t *req, size_t req_len)
{
    struct idekm_stream *s;
    struct idekm_slot *slot;
    unsigned set, dir, sub;
    size_t i;

    if (req_len != IDEKM_KEY_PROG_SIZE) {
        return IDEKM_KP_INCORRECT_LENGTH;
    }
    if (req[OFF_PORT] > IDEKM_MAX_PORT_INDEX) {
        return IDEKM_KP_UNSUPPORTED_PORT;
    }
    if (!decode_kss(req[OFF_KSS], &set, &dir, &sub)) {
        return IDEKM_KP_UNSUPPORTED_VALUE;
    }
    s = find_stream(k, req[OFF_PORT], req[OFF_STREAM]);
    if (s == NULL) {
        for (i = 0; i < IDEKM_MAX_STREAMS && s == NULL; i++) {
            if (!k->streams[i].used) {
                s = &k->streams[i];
            }
        }
        if (s == NULL) {
            return IDEKM_KP_UNSUPPORTED_VALUE;
        }
        memset(s, 0, sizeof(*s));
        s->used = true;
        s->port = req[OFF_PORT];
        s->stream_id = req[OFF_STREAM];
        s->session_id = session_id;
    } else if (s->session_id != session_id) {
        return IDEKM_KP_UNSPECIFIED; /* another session's stream */
    }
    slot = &s->slot[set][dir][sub];
    if (slot->state == IDEKM_ACTIVE) {
        return IDEKM_KP_UNSPECIFIED;
    }
    memcpy(slot->key, req + IDEKM_MSG_SIZE, IDEKM_KEY_SIZE);
    memcpy(slot->ifv, req + IDEKM_MSG_SIZE + IDEKM_KEY_SIZE, IDEKM_IFV_SIZE);
    slot->state = IDEKM_PROGRAMMED;
    return IDEKM_KP_SUCCESS;
}

static int go_stop(struct idekm *k, uint32_t session_id, const uint8_t *req,
                   size_t req_len)
{
    struct idekm_stream *s;
    struct idekm_slot *slot, *other;
    unsigned set, dir, sub;

    if (req_len != IDEKM_MSG_SIZE || req[OFF_PORT] > IDEKM_MAX_PORT_INDEX ||
        !decode_kss(req[OFF_KSS], &set, &dir, &sub)) {
        return IDEKM_REFUSED;
    }
    s = find_stream(k, req[OFF_PORT], req[OFF_STREAM]);
    if (s == NULL || s->session_id != session_id) {
        return IDEKM_REFUSED;
    }
    slot = &s->slot[set][dir][sub];
    other = &s->slot[set ^ 1][dir][sub];
    if (req[0] == IDEKM_K_SET_GO) {
        if (slot->state != IDEKM_PROGRAMMED) {
            return IDEKM_REFUSED;
        }
        if (other->state == IDEKM_ACTIVE) {
            other->state = IDEKM_PROGRAMMED;
        }
        slot->state = IDEKM_ACTIVE;
        return IDEKM_OK;
    }
    if (slot->state == IDEKM_EMPTY) {
        return IDEKM_REFUSED;
    }
    slot_clear(slot);
    if (stream_empty(s)) {
        memset(s, 0, sizeof(*s));
    }
    return IDEKM_OK;
}

/* Registers of one selective stream block, as QUERY_RESP reports them. */
static bool stream_secure(const struct idekm_stream *s)
{
    unsigned set, dir, sub;

    for (set = 0; set < 2; set++) {
        bool all = true;
        for (dir = 0; dir < 2; dir++) {
            for (sub = 0; sub < 3; sub++) {
                all = all && s->slot[set][dir][sub].state == IDEKM_ACTIVE;
            }
        }
        if (all) {
            return true;
        }
    }
    return false;
}

static void put_stream_regs(uint8_t *p, const struct idekm_stream *s,
                            uint8_t port)
{
    uint32_t ctrl = 0, status = 0;

    if (s->used && s->port == port) {
        bool secure = stream_secure(s);
        ctrl = (uint32_t)s->stream_id << 24 | (secure ? 1u : 0u);
        status = secure ? 2u : 0u; /* Secure : Insecure */
    }
    store_le32(p, 0); /* capability: no address association blocks */
    store_le32(p + 4, ctrl);
    store_le32(p + 8, status);
    store_le32(p + 12, 0); /* RID association 1 */
    store_le32(p + 16, 0); /* RID association 2 */
}

static size_t query_resp(const struct idekm *k, uint8_t port, uint8_t *rsp)
{
    /* selective streams, IDE_KM, AES-GCM-256 (alg 0), N-1 streams */
    uint32_t cap = 1u << 1 | 1u << 6 | (uint32_t)(IDEKM_MAX_STREAMS - 1) << 16;
    uint8_t *p = rsp + IDEKM_MSG_SIZE;
    size_t i;

    memset(rsp, 0, IDEKM_MSG_SIZE);
    rsp[0] = IDEKM_QUERY_RESP;
    rsp[2] = port;
    rsp[3] = k->devfn;
    rsp[4] = k->bus;
    rsp[5] = k->segment;
    rsp[6] = IDEKM_MAX_PORT_INDEX;
    store_le32(p, cap);
    store_le32(p + 4, 0); /* IDE control */
    p += 8;
    for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
        put_stream_regs(p, &k->streams[i], port);
        p += 20;
    }
    return (size_t)(p - rsp);
}

/* see idekm.h */
int idekm_handle(struct idekm *k, uint32_t session_id, bool in_session,
                 const uint8_t *req, size_t req_len, uint8_t *rsp,
                 size_t rsp_cap, size_t *rsp_len)
{
    int rc;

    *rsp_len = 0;
    if (rsp_cap < IDEKM_QUERY_RSP_SIZE) {
        return IDEKM_ERR_RSP_CAP;
    }
    if (!in_session || req_len < 1) {
        return IDEKM_REFUSED;
    }
    switch (req[0]) {
    case IDEKM_QUERY:
        /* object id, reserved, port index */
        if (req_len != 3 || req[1] != 0 || req[2] > IDEKM_MAX_PORT_INDEX) {
            return IDEKM_REFUSED;
        }
        *rsp_len = query_resp(k, req[2], rsp);
        return IDEKM_OK;
    case IDEKM_KEY_PROG:
        if (req_len < IDEKM_MSG_SIZE) {
            return IDEKM_REFUSED;
        }
        put_ack(rsp, IDEKM_KP_ACK, req, key_prog(k, session_id, req, req_len));
        *rsp_len = IDEKM_MSG_SIZE;
        return IDEKM_OK;
    case IDEKM_K_SET_GO:
    case IDEKM_K_SET_STOP:
        rc = go_stop(k, session_id, req, req_len);
        if (rc != IDEKM_OK) {
            return rc;
        }
        put_ack(rsp, IDEKM_K_GOSTOP_ACK, req, 0);
        *rsp_len = IDEKM_MSG_SIZE;
        return IDEKM_OK;
    default:
        return IDEKM_REFUSED;
    }
}

/* see idekm.h */
enum idekm_slot_state idekm_slot_state(const struct idekm *k, uint8_t stream_id,
                                       uint8_t key_sub_stream)
{
    return idekm_slot_state_port(k, 0, stream_id, key_sub_stream);
}

/* see idekm.h */
enum idekm_slot_state idekm_slot_state_port(const struct idekm *k, uint8_t port,
                                            uint8_t stream_id,
                                            uint8_t key_sub_stream)
{
    unsigned set, dir, sub;
    size_t i;

    if (!decode_kss(key_sub_stream, &set, &dir, &sub)) {
        return IDEKM_EMPTY;
    }
    for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
        const struct idekm_stream *s = &k->streams[i];
        if (s->used && s->port == port && s->stream_id == stream_id) {
            return s->slot[set][dir][sub].state;
        }
    }
    return IDEKM_EMPTY;
}

/* see idekm.h */
bool idekm_stream_secure(const struct idekm *k, uint8_t stream_id)
{
    size_t i;

    for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
        const struct idekm_stream *s = &k->streams[i];
        if (s->used && s->port == 0 && s->stream_id == stream_id) {
            return stream_secure(s);
        }
    }
    return false;
}

/* see idekm.h */
void idekm_wipe(struct idekm *k)
{
    wipe(k->streams, sizeof(k->streams));
}

/* see idekm.h */
unsigned idekm_session_ended(struct idekm *k, uint32_t session_id)
{
    unsigned n = 0;
    size_t i;

    for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
        struct idekm_stream *s = &k->streams[i];
        if (s->used && s->session_id == session_id) {
            wipe(s, sizeof(*s));
            n++;
        }
    }
    return n;
}

/* Append @s to @out at *@off; false when it does not fit with a NUL. */
static bool put_str(char *out, size_t cap, size_t *off, const char *s)
{
    size_t n = strlen(s);

    if (n >= cap - *off) {
        return false;
    }
    memcpy(out + *off, s, n + 1);
    *off += n;
    return true;
}

/* @v in decimal into @buf (at least 4 bytes for a u8). */
static void put_u8(char *buf, uint8_t v)
{
    char *p = buf;

    if (v >= 100) {
        *p++ = (char)('0' + v / 100);
    }
    if (v >= 10) {
        *p++ = (char)('0' + v / 10 % 10);
    }
    *p++ = (char)('0' + v % 10);
    *p = '\0';
}

/* see idekm.h */
size_t idekm_describe(const struct idekm *k, char *out, size_t cap)
{
    static const char state_ch[] = {'-', 'P', 'A'};
    size_t off = 0, i;
    bool any = false;

    if (cap == 0) {
        return 0;
    }
    out[0] = '\0';
    for (i = 0; i < IDEKM_MAX_STREAMS; i++) {
        const struct idekm_stream *s = &k->streams[i];
        char num[4], sets[2][11];
        unsigned set, dir, sub;

        if (!s->used) {
            continue;
        }
        for (set = 0; set < 2; set++) {
            memcpy(sets[set], set ? " K1=" : " K0=", 4);
            for (dir = 0; dir < 2; dir++) {
                for (sub = 0; sub < 3; sub++) {
                    sets[set][4 + dir * 3 + sub] =
                        state_ch[s->slot[set][dir][sub].state];
                }
            }
            sets[set][10] = '\0';
        }
        if (!put_str(out, cap, &off, any ? "; stream " : "stream ")) {
            return 0;
        }
        put_u8(num, s->port);
        if (!put_str(out, cap, &off, num) || !put_str(out, cap, &off, ":")) {
            return 0;
        }
        put_u8(num, s->stream_id);
        if (!put_str(out, cap, &off, num) ||
            !put_str(out, cap, &off, sets[0]) ||
            !put_str(out, cap, &off, sets[1])) {
            return 0;
        }
        any = true;
    }
    if (!any && !put_str(out, cap, &off, "none")) {
        return 0;
    }
    return off;
}

/* ---- the requester side ---- */

/* see idekm.h */
size_t idekm_build_query(uint8_t port, uint8_t *out, size_t cap)
{
    if (cap < 3) {
        return 0;
    }
    out[0] = IDEKM_QUERY;
    out[1] = 0;
    out[2] = port;
    return 3;
}

static void put_hdr(uint8_t *out, uint8_t code, uint8_t stream_id,
                    uint8_t key_sub_stream, uint8_t port)
{
    memset(out, 0, IDEKM_MSG_SIZE);
    out[0] = code;
    out[OFF_STREAM] = stream_id;
    out[OFF_KSS] = key_sub_stream;
    out[OFF_PORT] = port;
}

/* see idekm.h */
size_t idekm_build_key_prog(uint8_t stream_id, uint8_t key_sub_stream,
                            uint8_t port, const uint8_t key[IDEKM_KEY_SIZE],
                            const uint8_t ifv[IDEKM_IFV_SIZE], uint8_t *out,
                            size_t cap)
{
    if (cap < IDEKM_KEY_PROG_SIZE) {
        return 0;
    }
    put_hdr(out, IDEKM_KEY_PROG, stream_id, key_sub_stream, port);
    memcpy(out + IDEKM_MSG_SIZE, key, IDEKM_KEY_SIZE);
    memcpy(out + IDEKM_MSG_SIZE + IDEKM_KEY_SIZE, ifv, IDEKM_IFV_SIZE);
    return IDEKM_KEY_PROG_SIZE;
}

/* see idekm.h */
size_t idekm_build_set(uint8_t code, uint8_t stream_id, uint8_t key_sub_stream,
                       uint8_t port, uint8_t *out, size_t cap)
{
    if (cap < IDEKM_MSG_SIZE ||
        (code != IDEKM_K_SET_GO && code != IDEKM_K_SET_STOP)) {
        return 0;
    }
    put_hdr(out, code, stream_id, key_sub_stream, port);
    return IDEKM_MSG_SIZE;
}

/* see idekm.h */
int idekm_parse_ack(uint8_t code, uint8_t stream_id, uint8_t key_sub_stream,
                    uint8_t port, const uint8_t *rsp, size_t len,
                    uint8_t *status)
{
    if (len != IDEKM_MSG_SIZE || rsp[0] != code || rsp[1] != 0 || rsp[2] != 0 ||
        rsp[OFF_STREAM] != stream_id || rsp[OFF_KSS] != key_sub_stream ||
        rsp[OFF_PORT] != port ||
        (code == IDEKM_K_GOSTOP_ACK && rsp[OFF_STATUS] != 0)) {
        return IDEKM_PARSE_MISMATCH;
    }
    *status = rsp[OFF_STATUS];
    return IDEKM_PARSE_OK;
}

/* see idekm.h */
int idekm_parse_query_resp(uint8_t port, const uint8_t *rsp, size_t len,
                           struct idekm_query_info *q)
{
    /* fixed part, capability and control, one stream block (20 bytes) */
    if (len < IDEKM_MSG_SIZE + 8 + 20 || rsp[0] != IDEKM_QUERY_RESP ||
        rsp[2] != port || rsp[6] < port) {
        return IDEKM_PARSE_MISMATCH;
    }
    q->max_port = rsp[6];
    q->ide_cap = load_le32(rsp + IDEKM_MSG_SIZE);
    q->n_streams = ((q->ide_cap >> 16) & 0xffu) + 1;
    q->addr_blocks = load_le32(rsp + IDEKM_MSG_SIZE + 8) & 0xfu;
    return IDEKM_PARSE_OK;
}
