/* SPDX-License-Identifier: MIT */
/*
 * TDISP responder and requester codec; see tdisp.h for the rules.
 */
#include "tdisp/tdisp.h"

#include <string.h>

#include "common/bytes.h"
#include "common/ct.h"

/*
 * Header, 16 bytes:
 *   +0 version u8 (0x10)  +1 message type u8  +2 reserved u16
 *   +4 function_id u32    +8 reserved u64
 */
#define OFF_VERSION 0
#define OFF_TYPE    1
#define OFF_FUNC_ID 4
#define OFF_IF_RSVD 8
#define OFF_BODY    TDISP_HEADER_SIZE

/* Exact request sizes, indexed by code - 0x81. */
static const size_t req_size[] = {
    TDISP_HEADER_SIZE,                    /* GET_TDISP_VERSION */
    TDISP_HEADER_SIZE + 4,                /* GET_TDISP_CAPABILITIES */
    TDISP_LOCK_REQ_SIZE,                  /* LOCK_INTERFACE */
    TDISP_HEADER_SIZE + 4,                /* GET_DEVICE_INTERFACE_REPORT */
    TDISP_HEADER_SIZE,                    /* GET_DEVICE_INTERFACE_STATE */
    TDISP_HEADER_SIZE + TDISP_NONCE_SIZE, /* START_INTERFACE */
    TDISP_HEADER_SIZE,                    /* STOP_INTERFACE */
    TDISP_HEADER_SIZE + 2,                /* BIND_P2P_STREAM */
    TDISP_HEADER_SIZE + 1,                /* UNBIND_P2P_STREAM */
    TDISP_HEADER_SIZE + TDISP_RANGE_SIZE, /* SET_MMIO_ATTRIBUTE */
};

static bool implemented(uint8_t code)
{
    return code >= TDISP_GET_VERSION && code <= TDISP_SET_MMIO_ATTRIBUTE;
}

static bool range_ok(const struct tdisp_range *r)
{
    if ((r->addr & 0xfff) != 0 || r->n_pages == 0) {
        return false;
    }
    /* the last byte must not wrap */
    return r->addr <= UINT64_MAX - ((uint64_t)r->n_pages << 12) + 1;
}

static bool tdi_config_ok(const struct tdisp_tdi_config *c)
{
    size_t i;

    if (c->n_ranges > TDISP_MAX_RANGES || c->devspec_len > TDISP_DEVSPEC_MAX) {
        return false;
    }
    for (i = 0; i < c->n_ranges; i++) {
        if (!range_ok(&c->ranges[i])) {
            return false;
        }
    }
    return true;
}

/* see tdisp.h */
int tdisp_init(struct tdisp *t, const struct tdisp_config *cfg,
               const struct tdisp_ops *ops, void *ops_ctx)
{
    size_t i, j;

    memset(t, 0, sizeof(*t));
    if (cfg == NULL || ops == NULL || ops->random == NULL || cfg->n_tdis == 0 ||
        cfg->n_tdis > TDISP_MAX_TDIS) {
        return TDISP_ERR_CONFIG;
    }
    for (i = 0; i < cfg->n_tdis; i++) {
        if (!tdi_config_ok(&cfg->tdis[i])) {
            return TDISP_ERR_CONFIG;
        }
        for (j = 0; j < i; j++) {
            if (cfg->tdis[j].function_id == cfg->tdis[i].function_id) {
                return TDISP_ERR_CONFIG;
            }
        }
        t->tdis[i].cfg = cfg->tdis[i];
        t->tdis[i].state = TDISP_CONFIG_UNLOCKED;
    }
    t->n_tdis = cfg->n_tdis;
    t->lock_flags_supported = cfg->lock_flags_supported;
    t->dev_addr_width = cfg->dev_addr_width;
    t->ops = ops;
    t->ops_ctx = ops_ctx;
    return TDISP_OK;
}

static struct tdisp_tdi *find_tdi(struct tdisp *t, uint32_t function_id)
{
    size_t i;

    for (i = 0; i < t->n_tdis; i++) {
        if (t->tdis[i].cfg.function_id == function_id) {
            return &t->tdis[i];
        }
    }
    return NULL;
}

/* Back to CONFIG_UNLOCKED with nothing of the lock left. */
static void unlock(struct tdisp_tdi *d)
{
    wipe(d->nonce, sizeof(d->nonce));
    memset(d->p2p, 0, sizeof(d->p2p));
    d->n_p2p = 0;
    d->lock_flags = 0;
    d->default_stream_id = 0;
    d->mmio_offset = 0;
    d->p2p_mask = 0;
    d->session_id = 0;
    d->state = TDISP_CONFIG_UNLOCKED;
}

static void to_error(struct tdisp_tdi *d)
{
    wipe(d->nonce, sizeof(d->nonce));
    d->state = TDISP_STATE_ERROR;
}

static void put_header(uint8_t *out, uint8_t type, uint32_t function_id)
{
    memset(out, 0, TDISP_HEADER_SIZE);
    out[OFF_VERSION] = TDISP_VERSION_10;
    out[OFF_TYPE] = type;
    store_le32(out + OFF_FUNC_ID, function_id);
}

static size_t put_error(uint8_t *out, uint32_t function_id, uint32_t code,
                        uint32_t data)
{
    put_header(out, TDISP_ERROR, function_id);
    store_le32(out + OFF_BODY, code);
    store_le32(out + OFF_BODY + 4, data);
    return TDISP_ERROR_RSP_SIZE;
}

/* Serialise @d's report (with the lock's reporting offset) into @out. */
static size_t build_report(const struct tdisp_tdi *d, uint8_t *out)
{
    const struct tdisp_tdi_config *c = &d->cfg;
    uint8_t *p = out;
    size_t i;

    store_le16(p, c->interface_info);
    store_le16(p + 2, 0);
    store_le16(p + 4, c->msix_ctl);
    store_le16(p + 6, c->lnr_ctl);
    store_le32(p + 8, c->tph_ctl);
    store_le32(p + 12, (uint32_t)c->n_ranges);
    p += TDISP_REPORT_FIXED;
    for (i = 0; i < c->n_ranges; i++) {
        store_le64(p, c->ranges[i].addr + d->mmio_offset);
        store_le32(p + 8, c->ranges[i].n_pages);
        store_le16(p + 12, c->ranges[i].attrs);
        store_le16(p + 14, c->ranges[i].range_id);
        p += TDISP_RANGE_SIZE;
    }
    store_le32(p, (uint32_t)c->devspec_len);
    p += 4;
    memcpy(p, c->devspec, c->devspec_len);
    p += c->devspec_len;
    return (size_t)(p - out);
}

static size_t report_size(const struct tdisp_tdi *d)
{
    return TDISP_REPORT_FIXED + d->cfg.n_ranges * TDISP_RANGE_SIZE + 4 +
           d->cfg.devspec_len;
}

/* Would adding @off to every range wrap the address space? */
static bool offset_wraps(const struct tdisp_tdi *d, uint64_t off)
{
    size_t i;

    for (i = 0; i < d->cfg.n_ranges; i++) {
        uint64_t end = d->cfg.ranges[i].addr +
                       (((uint64_t)d->cfg.ranges[i].n_pages << 12) - 1);
        if (end > UINT64_MAX - off) {
            return true;
        }
    }
    return false;
}

static uint32_t do_lock(struct tdisp *t, struct tdisp_tdi *d,
                        uint32_t session_id, const uint8_t *body)
{
    uint16_t flags = load_le16(body);
    uint64_t off = load_le64(body + 4);

    if (d->state != TDISP_CONFIG_UNLOCKED) {
        return TDISP_ERR_INVALID_INTERFACE_STATE;
    }
    if ((flags & ~t->lock_flags_supported) != 0 || body[3] != 0 ||
        offset_wraps(d, off)) {
        return TDISP_ERR_INVALID_REQUEST;
    }
    if (!d->cfg.valid) {
        return TDISP_ERR_INVALID_DEVICE_CONFIGURATION;
    }
    if (t->ops->random(t->ops_ctx, d->nonce, sizeof(d->nonce)) != 0) {
        wipe(d->nonce, sizeof(d->nonce));
        return TDISP_ERR_INSUFFICIENT_ENTROPY;
    }
    d->lock_flags = flags;
    d->default_stream_id = body[2];
    d->mmio_offset = off;
    d->p2p_mask = load_le64(body + 12);
    d->session_id = session_id;
    d->n_p2p = 0;
    d->state = TDISP_CONFIG_LOCKED;
    return 0;
}

static uint32_t do_bind(struct tdisp_tdi *d, const uint8_t *body)
{
    size_t i;

    if (d->state != TDISP_RUN) {
        return TDISP_ERR_INVALID_INTERFACE_STATE;
    }
    if (!(d->lock_flags & TDISP_LOCK_BIND_P2P) || body[1] != 0 ||
        d->n_p2p == TDISP_MAX_P2P) {
        return TDISP_ERR_INVALID_REQUEST;
    }
    for (i = 0; i < d->n_p2p; i++) {
        if (d->p2p[i] == body[0]) {
            return TDISP_ERR_INVALID_REQUEST;
        }
    }
    d->p2p[d->n_p2p++] = body[0];
    return 0;
}

static uint32_t do_unbind(struct tdisp_tdi *d, const uint8_t *body)
{
    size_t i;

    if (d->state != TDISP_RUN) {
        return TDISP_ERR_INVALID_INTERFACE_STATE;
    }
    for (i = 0; i < d->n_p2p; i++) {
        if (d->p2p[i] == body[0]) {
            d->p2p[i] = d->p2p[--d->n_p2p];
            d->p2p[d->n_p2p] = 0;
            return 0;
        }
    }
    return TDISP_ERR_INVALID_REQUEST;
}

static uint32_t do_set_mmio(struct tdisp_tdi *d, const uint8_t *body)
{
    uint64_t first = load_le64(body);
    uint32_t pages = load_le32(body + 8);
    uint16_t attrs = load_le16(body + 12);
    uint16_t id = load_le16(body + 14);
    size_t i;

    if (d->state != TDISP_RUN) {
        return TDISP_ERR_INVALID_INTERFACE_STATE;
    }
    for (i = 0; i < d->cfg.n_ranges; i++) {
        struct tdisp_range *r = &d->cfg.ranges[i];
        if (r->range_id != id || r->addr + d->mmio_offset != first ||
            r->n_pages != pages) {
            continue;
        }
        if (!(r->attrs & TDISP_RANGE_MEM_ATTR_UPDATABLE) ||
            ((attrs ^ r->attrs) & (uint16_t)~TDISP_RANGE_NON_TEE_MEM) != 0) {
            return TDISP_ERR_INVALID_REQUEST;
        }
        r->attrs = attrs;
        return 0;
    }
    return TDISP_ERR_INVALID_REQUEST;
}

/* Build the success response for @code into @rsp; 0 or an error code. */
static uint32_t respond(struct tdisp *t, struct tdisp_tdi *d,
                        uint32_t session_id, uint8_t code, const uint8_t *body,
                        uint8_t *rsp, size_t rsp_cap, size_t *rsp_len)
{
    uint32_t fid = d->cfg.function_id;
    uint32_t err;

    switch (code) {
    case TDISP_GET_VERSION:
        if (rsp_cap < TDISP_HEADER_SIZE + 2) {
            return TDISP_ERR_UNSPECIFIED;
        }
        put_header(rsp, TDISP_RSP(code), fid);
        rsp[OFF_BODY] = 1;
        rsp[OFF_BODY + 1] = TDISP_VERSION_10;
        *rsp_len = TDISP_HEADER_SIZE + 2;
        return 0;
    case TDISP_GET_CAPABILITIES: {
        uint8_t *p = rsp + OFF_BODY;
        uint8_t c;

        if (rsp_cap < TDISP_CAPS_RSP_SIZE) {
            return TDISP_ERR_UNSPECIFIED;
        }
        put_header(rsp, TDISP_RSP(code), fid);
        memset(p, 0, 28);
        store_le32(p, 0); /* dsm_caps: no XT mode */
        for (c = TDISP_GET_VERSION; implemented(c); c++) {
            p[4 + (c - 0x80) / 8] |= (uint8_t)(1u << ((c - 0x80) % 8));
        }
        store_le16(p + 20, t->lock_flags_supported);
        p[25] = t->dev_addr_width;
        p[26] = 1; /* one request outstanding for this TDI */
        p[27] = 1; /* and for the whole device */
        *rsp_len = TDISP_CAPS_RSP_SIZE;
        return 0;
    }
    case TDISP_LOCK_INTERFACE:
        if (rsp_cap < TDISP_HEADER_SIZE + TDISP_NONCE_SIZE) {
            return TDISP_ERR_UNSPECIFIED;
        }
        err = do_lock(t, d, session_id, body);
        if (err != 0) {
            return err;
        }
        put_header(rsp, TDISP_RSP(code), fid);
        memcpy(rsp + OFF_BODY, d->nonce, TDISP_NONCE_SIZE);
        *rsp_len = TDISP_HEADER_SIZE + TDISP_NONCE_SIZE;
        return 0;
    case TDISP_GET_DEVICE_INTERFACE_REPORT: {
        uint8_t report[TDISP_REPORT_MAX];
        uint16_t off = load_le16(body);
        uint16_t want = load_le16(body + 2);
        size_t total, portion;

        if (d->state != TDISP_CONFIG_LOCKED && d->state != TDISP_RUN) {
            return TDISP_ERR_INVALID_INTERFACE_STATE;
        }
        total = report_size(d);
        if (want == 0 || off >= total) {
            return TDISP_ERR_INVALID_REQUEST;
        }
        if (rsp_cap <= TDISP_HEADER_SIZE + 4) {
            return TDISP_ERR_UNSPECIFIED;
        }
        portion = total - off;
        if (portion > want) {
            portion = want;
        }
        if (portion > rsp_cap - TDISP_HEADER_SIZE - 4) {
            portion = rsp_cap - TDISP_HEADER_SIZE - 4;
        }
        (void)build_report(d, report);
        put_header(rsp, TDISP_RSP(code), fid);
        store_le16(rsp + OFF_BODY, (uint16_t)portion);
        store_le16(rsp + OFF_BODY + 2, (uint16_t)(total - off - portion));
        memcpy(rsp + OFF_BODY + 4, report + off, portion);
        *rsp_len = TDISP_HEADER_SIZE + 4 + portion;
        return 0;
    }
    case TDISP_GET_DEVICE_INTERFACE_STATE:
        if (rsp_cap < TDISP_HEADER_SIZE + 1) {
            return TDISP_ERR_UNSPECIFIED;
        }
        put_header(rsp, TDISP_RSP(code), fid);
        rsp[OFF_BODY] = (uint8_t)d->state;
        *rsp_len = TDISP_HEADER_SIZE + 1;
        return 0;
    case TDISP_START_INTERFACE:
        if (d->state != TDISP_CONFIG_LOCKED) {
            return TDISP_ERR_INVALID_INTERFACE_STATE;
        }
        if (d->session_id != session_id) {
            return TDISP_ERR_INVALID_REQUEST;
        }
        if (!ct_eq(body, d->nonce, TDISP_NONCE_SIZE)) {
            return TDISP_ERR_INVALID_NONCE;
        }
        wipe(d->nonce, sizeof(d->nonce));
        d->state = TDISP_RUN;
        break;
    case TDISP_STOP_INTERFACE:
        unlock(d);
        break;
    case TDISP_BIND_P2P_STREAM:
        err = do_bind(d, body);
        if (err != 0) {
            return err;
        }
        break;
    case TDISP_UNBIND_P2P_STREAM:
        err = do_unbind(d, body);
        if (err != 0) {
            return err;
        }
        break;
    case TDISP_SET_MMIO_ATTRIBUTE:
        err = do_set_mmio(d, body);
        if (err != 0) {
            return err;
        }
        break;
    default:
        return TDISP_ERR_UNSUPPORTED_REQUEST;
    }
    /* header-only responses; rsp_cap >= TDISP_ERROR_RSP_SIZE > header */
    put_header(rsp, TDISP_RSP(code), fid);
    *rsp_len = TDISP_HEADER_SIZE;
    return 0;
}

/* see tdisp.h */
int tdisp_handle(struct tdisp *t, uint32_t session_id, bool in_session,
                 const uint8_t *req, size_t req_len, uint8_t *rsp,
                 size_t rsp_cap, size_t *rsp_len)
{
    struct tdisp_tdi *d;
    uint32_t fid = 0;
    uint32_t err;
    uint8_t code;

    *rsp_len = 0;
    if (rsp_cap < TDISP_ERROR_RSP_SIZE) {
        return TDISP_ERR_RSP_CAP;
    }
    if (req_len >= OFF_FUNC_ID + 4) {
        fid = load_le32(req + OFF_FUNC_ID);
    }
    if (!in_session || req_len < TDISP_HEADER_SIZE) {
        *rsp_len = put_error(rsp, fid, TDISP_ERR_INVALID_REQUEST, 0);
        return TDISP_OK;
    }
    if (req[OFF_VERSION] != TDISP_VERSION_10) {
        *rsp_len = put_error(rsp, fid, TDISP_ERR_VERSION_MISMATCH, 0);
        return TDISP_OK;
    }
    code = req[OFF_TYPE];
    if (!implemented(code)) {
        *rsp_len = put_error(rsp, fid, TDISP_ERR_UNSUPPORTED_REQUEST, 0);
        return TDISP_OK;
    }
    if (req_len != req_size[code - TDISP_GET_VERSION]) {
        *rsp_len = put_error(rsp, fid, TDISP_ERR_INVALID_REQUEST, 0);
        return TDISP_OK;
    }
    d = find_tdi(t, fid);
    if (d == NULL || load_le64(req + OFF_IF_RSVD) != 0) {
        *rsp_len = put_error(rsp, fid, TDISP_ERR_INVALID_INTERFACE, 0);
        return TDISP_OK;
    }
    err =
        respond(t, d, session_id, code, req + OFF_BODY, rsp, rsp_cap, rsp_len);
    if (err != 0) {
        *rsp_len = put_error(rsp, fid, err, 0);
    }
    return TDISP_OK;
}

/* see tdisp.h */
int tdisp_config_change(struct tdisp *t, uint32_t function_id,
                        const struct tdisp_tdi_config *cfg, bool firmware)
{
    struct tdisp_tdi *d = find_tdi(t, function_id);

    if (d == NULL) {
        return TDISP_ERR_NO_TDI;
    }
    if (cfg != NULL &&
        (cfg->function_id != function_id || !tdi_config_ok(cfg))) {
        return TDISP_ERR_CONFIG;
    }
    if ((d->state == TDISP_CONFIG_LOCKED || d->state == TDISP_RUN) &&
        !(firmware && cfg == NULL &&
          !(d->lock_flags & TDISP_LOCK_NO_FW_UPDATE))) {
        to_error(d);
    }
    /* No report is given in ERROR, so the new layout can apply at once:
     * after STOP the TDI is locked again with what the device now has. */
    if (cfg != NULL) {
        d->cfg = *cfg;
    }
    return (int)d->state;
}

/* see tdisp.h */
void tdisp_session_ended(struct tdisp *t, uint32_t session_id)
{
    size_t i;

    for (i = 0; i < t->n_tdis; i++) {
        struct tdisp_tdi *d = &t->tdis[i];
        if ((d->state == TDISP_CONFIG_LOCKED || d->state == TDISP_RUN) &&
            d->session_id == session_id) {
            to_error(d);
        }
    }
}

/* see tdisp.h */
int tdisp_state(const struct tdisp *t, uint32_t function_id)
{
    size_t i;

    for (i = 0; i < t->n_tdis; i++) {
        if (t->tdis[i].cfg.function_id == function_id) {
            return (int)t->tdis[i].state;
        }
    }
    return TDISP_ERR_NO_TDI;
}

/* see tdisp.h */
const char *tdisp_state_name(int state)
{
    switch (state) {
    case TDISP_CONFIG_UNLOCKED:
        return "CONFIG_UNLOCKED";
    case TDISP_CONFIG_LOCKED:
        return "CONFIG_LOCKED";
    case TDISP_RUN:
        return "RUN";
    case TDISP_STATE_ERROR:
        return "ERROR";
    default:
        return "?";
    }
}

/* see tdisp.h */
const char *tdisp_error_name(uint32_t code)
{
    switch (code) {
    case TDISP_ERR_INVALID_REQUEST:
        return "INVALID_REQUEST";
    case TDISP_ERR_BUSY:
        return "BUSY";
    case TDISP_ERR_INVALID_INTERFACE_STATE:
        return "INVALID_INTERFACE_STATE";
    case TDISP_ERR_UNSPECIFIED:
        return "UNSPECIFIED";
    case TDISP_ERR_UNSUPPORTED_REQUEST:
        return "UNSUPPORTED_REQUEST";
    case TDISP_ERR_VERSION_MISMATCH:
        return "VERSION_MISMATCH";
    case TDISP_ERR_VENDOR_SPECIFIC:
        return "VENDOR_SPECIFIC_ERROR";
    case TDISP_ERR_INVALID_INTERFACE:
        return "INVALID_INTERFACE";
    case TDISP_ERR_INVALID_NONCE:
        return "INVALID_NONCE";
    case TDISP_ERR_INSUFFICIENT_ENTROPY:
        return "INSUFFICIENT_ENTROPY";
    case TDISP_ERR_INVALID_DEVICE_CONFIGURATION:
        return "INVALID_DEVICE_CONFIGURATION";
    default:
        return "?";
    }
}

/* see tdisp.h */
void tdisp_wipe(struct tdisp *t)
{
    wipe(t, sizeof(*t));
}

/* see tdisp.h */
size_t tdisp_build_request(uint8_t code, uint32_t function_id, const void *arg,
                           uint8_t *out, size_t cap)
{
    size_t len;
    uint8_t *b = out + OFF_BODY;

    if (!implemented(code)) {
        return 0;
    }
    len = req_size[code - TDISP_GET_VERSION];
    if (cap < len) {
        return 0;
    }
    memset(out, 0, len);
    put_header(out, code, function_id);
    switch (code) {
    case TDISP_GET_CAPABILITIES:
        store_le32(b, arg != NULL ? *(const uint32_t *)arg : 0);
        break;
    case TDISP_LOCK_INTERFACE: {
        const struct tdisp_lock_params *lp = arg;
        if (lp == NULL) {
            return 0;
        }
        store_le16(b, lp->flags);
        b[2] = lp->default_stream_id;
        store_le64(b + 4, lp->mmio_reporting_offset);
        store_le64(b + 12, lp->bind_p2p_address_mask);
        break;
    }
    case TDISP_GET_DEVICE_INTERFACE_REPORT: {
        const uint16_t *ol = arg;
        if (ol == NULL) {
            return 0;
        }
        store_le16(b, ol[0]);
        store_le16(b + 2, ol[1]);
        break;
    }
    case TDISP_START_INTERFACE:
        if (arg == NULL) {
            return 0;
        }
        memcpy(b, arg, TDISP_NONCE_SIZE);
        break;
    case TDISP_BIND_P2P_STREAM:
    case TDISP_UNBIND_P2P_STREAM:
        if (arg == NULL) {
            return 0;
        }
        b[0] = *(const uint8_t *)arg;
        break;
    case TDISP_SET_MMIO_ATTRIBUTE: {
        const struct tdisp_range *r = arg;
        if (r == NULL) {
            return 0;
        }
        store_le64(b, r->addr);
        store_le32(b + 8, r->n_pages);
        store_le16(b + 12, r->attrs);
        store_le16(b + 14, r->range_id);
        break;
    }
    default:
        break;
    }
    return len;
}

/* see tdisp.h */
int tdisp_parse_response(uint8_t req_code, uint32_t function_id,
                         const uint8_t *in, size_t len, struct tdisp_rsp *out)
{
    const uint8_t *b = in + OFF_BODY;
    size_t body_len;

    memset(out, 0, sizeof(*out));
    if (len < TDISP_HEADER_SIZE) {
        return TDISP_PARSE_SHORT;
    }
    if (in[OFF_VERSION] != TDISP_VERSION_10) {
        return TDISP_PARSE_VERSION;
    }
    out->code = in[OFF_TYPE];
    out->function_id = load_le32(in + OFF_FUNC_ID);
    body_len = len - TDISP_HEADER_SIZE;
    if (out->code == TDISP_ERROR) {
        if (body_len < 8) {
            return TDISP_PARSE_SHORT;
        }
        out->error_code = load_le32(b);
        out->error_data = load_le32(b + 4);
        return TDISP_PARSE_OK;
    }
    if (!implemented(req_code) || out->code != TDISP_RSP(req_code)) {
        return TDISP_PARSE_UNEXPECTED;
    }
    if (out->function_id != function_id) {
        return TDISP_PARSE_INTERFACE;
    }
    switch (req_code) {
    case TDISP_GET_VERSION:
        if (body_len < 1) {
            return TDISP_PARSE_SHORT;
        }
        if (body_len != 1 + (size_t)b[0]) {
            return body_len < 1 + (size_t)b[0] ? TDISP_PARSE_SHORT
                                               : TDISP_PARSE_LENGTH;
        }
        out->n_versions = b[0];
        out->versions = b + 1;
        return TDISP_PARSE_OK;
    case TDISP_GET_CAPABILITIES:
        if (body_len != 28) {
            return body_len < 28 ? TDISP_PARSE_SHORT : TDISP_PARSE_LENGTH;
        }
        out->dsm_caps = load_le32(b);
        memcpy(out->req_msgs, b + 4, 16);
        out->lock_flags_supported = load_le16(b + 20);
        out->dev_addr_width = b[25];
        out->num_req_this = b[26];
        out->num_req_all = b[27];
        return TDISP_PARSE_OK;
    case TDISP_LOCK_INTERFACE:
        if (body_len != TDISP_NONCE_SIZE) {
            return body_len < TDISP_NONCE_SIZE ? TDISP_PARSE_SHORT
                                               : TDISP_PARSE_LENGTH;
        }
        out->nonce = b;
        return TDISP_PARSE_OK;
    case TDISP_GET_DEVICE_INTERFACE_REPORT:
        if (body_len < 4) {
            return TDISP_PARSE_SHORT;
        }
        out->portion_len = load_le16(b);
        out->remainder_len = load_le16(b + 2);
        if (body_len != 4 + (size_t)out->portion_len) {
            return TDISP_PARSE_LENGTH;
        }
        out->portion = b + 4;
        return TDISP_PARSE_OK;
    case TDISP_GET_DEVICE_INTERFACE_STATE:
        if (body_len != 1) {
            return body_len < 1 ? TDISP_PARSE_SHORT : TDISP_PARSE_LENGTH;
        }
        out->state = b[0];
        return TDISP_PARSE_OK;
    default:
        return body_len == 0 ? TDISP_PARSE_OK : TDISP_PARSE_LENGTH;
    }
}

/* see tdisp.h */
int tdisp_parse_report(const uint8_t *in, size_t len, struct tdisp_report *r)
{
    struct bytes c = bytes_of(in, len);
    const uint8_t *p;
    uint32_t n, dlen;
    size_t i;

    memset(r, 0, sizeof(*r));
    if (!bytes_take(&c, TDISP_REPORT_FIXED, &p)) {
        return -1;
    }
    r->interface_info = load_le16(p);
    r->msix_ctl = load_le16(p + 4);
    r->lnr_ctl = load_le16(p + 6);
    r->tph_ctl = load_le32(p + 8);
    n = load_le32(p + 12);
    if (n > TDISP_MAX_RANGES) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (!bytes_take(&c, TDISP_RANGE_SIZE, &p)) {
            return -1;
        }
        r->ranges[i].addr = load_le64(p);
        r->ranges[i].n_pages = load_le32(p + 8);
        r->ranges[i].attrs = load_le16(p + 12);
        r->ranges[i].range_id = load_le16(p + 14);
    }
    r->n_ranges = n;
    if (!bytes_take(&c, 4, &p)) {
        return -1;
    }
    dlen = load_le32(p);
    if (dlen > TDISP_DEVSPEC_MAX || !bytes_take(&c, dlen, &p) || c.len != 0) {
        return -1;
    }
    memcpy(r->devspec, p, dlen);
    r->devspec_len = dlen;
    return 0;
}
