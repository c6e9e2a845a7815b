/* SPDX-License-Identifier: MIT */
/*
 * The TSM model: see tsm.h for the states, tsm_abi.h for the ABI and the
 * decisions. Every device exchange is an "op" (the FID of the host call that
 * started it) walked one step per relay round trip; the pending request is
 * kept in private memory so a host that lost it can ask again and gets the
 * same bytes.
 */
#include "tsm/tsm.h"

#include <string.h>

#include "common/bytes.h"
#include "common/ct.h"
#include "tdisp/pcisig.h"

/* Steps of the ops. */
enum {
    ST_VERSION,
    ST_CAPS,
    ST_ALGS,
    ST_DIGESTS,
    ST_CERT,
    ST_KEY_EXCHANGE,
    ST_FINISH,
    ST_MEAS,
    ST_TDISP_VERSION,
    ST_TDISP_CAPS,
    ST_LOCK,
    ST_REPORT,
    ST_LOCKED_STATE,
    ST_STOP,
    ST_START,
    ST_RUN_STATE,
    ST_STATE,
    ST_KEY_UPDATE,
    ST_HEARTBEAT,
    ST_END_SESSION,
    ST_IDE_QUERY,
    ST_IDE_KEY_PROG,
    ST_IDE_GO,
    ST_IDE_STOP,
};

/* IDE keys of one key set: device Rx then Tx, sub-streams PR, NPR, CPL */
#define IDE_SLOTS    6
#define IDE_DEV_PORT 0 /* IDE_KM port index: the function's upstream port */

/* parse results */
#define P_DONE 1
#define P_MORE 0
#define P_FAIL (-1) /* did not verify: the connection ends */
#define P_DENY (-2) /* the device refused inside the session */

#define REPORT_PORTION 1024

static const uint8_t pcisig_vid[2] = {PCISIG_VENDOR_ID & 0xff,
                                      PCISIG_VENDOR_ID >> 8};

static struct sbiret ret(long error, long value)
{
    struct sbiret r = {error, value};

    return r;
}

static int tsm_random(void *ctx, uint8_t *buf, size_t len)
{
    struct tsm *t = ctx;

    return t->ops->random(t->ops_ctx, buf, len);
}

static const struct spdm_requester_ops req_ops = {tsm_random};

/* see tsm.h */
void tsm_init(struct tsm *t, const struct tsm_ops *ops, void *ops_ctx)
{
    memset(t, 0, sizeof(*t));
    rp_init(&t->rp);
    t->ops = ops;
    t->ops_ctx = ops_ctx;
}

static struct tsm_dev *dev_find(struct tsm *t, uint32_t device_id)
{
    size_t i;

    for (i = 0; i < TSM_MAX_DEVICES; i++) {
        if (t->devs[i].state != TSM_DEV_FREE &&
            t->devs[i].device_id == device_id) {
            return &t->devs[i];
        }
    }
    return NULL;
}

static int if_index(const struct tsm *t, uint64_t if_id)
{
    size_t i;

    for (i = 0; i < TSM_MAX_IFS; i++) {
        if (t->ifs[i].used &&
            TSM_IF_ID(t->ifs[i].device_id, t->ifs[i].function_id) == if_id) {
            return (int)i;
        }
    }
    return -1;
}

/* see tsm.h */
const struct tsm_if *tsm_if_find(const struct tsm *t, uint64_t if_id)
{
    int i = if_index(t, if_id);

    return i < 0 ? NULL : &t->ifs[i];
}

/* see tsm.h */
const struct tsm_dev *tsm_dev_find(const struct tsm *t, uint32_t device_id)
{
    return dev_find((struct tsm *)t, device_id);
}

static void if_free(struct tsm_if *f)
{
    wipe(f, sizeof(*f));
}

/* ---- the root port (COVT, TSM_DECISION_COVT_CALLER) ---- */

/* Device record i uses root port i (TSM_DECISION_IDE_STREAM_DESC). */
_Static_assert(RP_MAX_PORTS >= TSM_MAX_DEVICES, "a root port per device");

/* A present buffer's address register: the model sees the bytes only. */
#define COVT_BUF 1u

static struct sbiret covt(struct tsm *t, const struct tsm_dev *d, uint32_t fid,
                          uint64_t a1, const uint8_t *in, size_t in_len)
{
    uint64_t a[6] = {d->rp_id, a1, 0, 0, 0, 0};

    if (fid == TSM_COVT_PROGRAM_KEY) {
        a[2] = COVT_BUF;
    }
    return rp_covt(&t->rp, fid, a, in, in_len);
}

/* IDE key @slot of @set: the device's key_sub_stream byte. */
static uint8_t slot_kss(unsigned set, unsigned slot)
{
    return (uint8_t)(set | (slot >= 3 ? IDEKM_DIR_TX : 0) | (slot % 3) << 4);
}

/* The root port's key descriptor for the same key: the opposite direction. */
static void slot_desc(const struct tsm_dev *d, unsigned set, unsigned slot,
                      uint8_t desc[TSM_KEY_DESC_SIZE])
{
    desc[0] = d->ide_stream;
    desc[1] = (uint8_t)(slot % 3);
    desc[2] = (uint8_t)set;
    desc[3] = slot >= 3 ? TSM_KEY_RX : TSM_KEY_TX;
}

/* Every key of @set of the device's stream in @state on the root port. */
static bool rp_keys_in(struct tsm *t, const struct tsm_dev *d, unsigned set,
                       long state)
{
    uint8_t desc[TSM_KEY_DESC_SIZE];
    struct sbiret r;
    unsigned i;

    for (i = 0; i < IDE_SLOTS; i++) {
        slot_desc(d, set, i, desc);
        r = covt(t, d, TSM_COVT_KEY_STATUS, COVT_BUF, desc, sizeof(desc));
        if (r.error != SBI_SUCCESS || r.value != state) {
            return false;
        }
    }
    return true;
}

/* Stop every Enabled key of the stream, then clear it (wipes the keys). */
static void rp_teardown(struct tsm *t, struct tsm_dev *d)
{
    uint8_t desc[TSM_KEY_DESC_SIZE];
    unsigned set, i;

    if (d->ide) {
        for (set = 0; set < 2; set++) {
            for (i = 0; i < IDE_SLOTS; i++) {
                slot_desc(d, set, i, desc);
                (void)covt(t, d, TSM_COVT_SET_STOP, COVT_BUF, desc,
                           sizeof(desc));
            }
        }
        (void)covt(t, d, TSM_COVT_CLEAR_KEY, d->ide_stream, NULL, 0);
    }
    d->ide = d->ide_on = false;
    wipe(d->ide_key, sizeof(d->ide_key));
}

static void dev_free(struct tsm *t, struct tsm_dev *d)
{
    size_t i;

    rp_teardown(t, d);
    for (i = 0; i < TSM_MAX_IFS; i++) {
        if (t->ifs[i].used && t->ifs[i].device_id == d->device_id) {
            if_free(&t->ifs[i]);
        }
    }
    spdm_requester_wipe(&d->spdm);
    wipe(d, sizeof(*d));
}

/* TSM_DECISION_RELAY_FAILURE */
static struct sbiret dev_fail(struct tsm *t, struct tsm_dev *d)
{
    size_t i;

    for (i = 0; i < TSM_MAX_IFS; i++) {
        struct tsm_if *f = &t->ifs[i];

        if (f->used && f->device_id == d->device_id) {
            f->state = TSM_IF_ERROR;
            f->dma_enabled = false;
            f->want_start = f->want_stop = f->want_refresh = false;
            wipe(f->nonce, sizeof(f->nonce));
        }
    }
    d->state = TSM_DEV_ERROR;
    d->op = 0;
    d->op_if = -1;
    rp_teardown(t, d);
    spdm_requester_wipe(&d->spdm);
    return ret(SBI_ERR_FAILED, 0);
}

static bool append(uint8_t *log, size_t *log_len, size_t cap, const void *p,
                   size_t n)
{
    if (n > cap - *log_len) {
        return false;
    }
    memcpy(log + *log_len, p, n);
    *log_len += n;
    return true;
}

/* ---- building requests ---- */

static int build_tdisp(struct tsm_dev *d, uint8_t code, uint32_t fid,
                       const void *arg)
{
    uint8_t msg[1 + TDISP_HEADER_SIZE + 64];
    size_t n;

    msg[0] = PCISIG_PROTO_TDISP;
    n = tdisp_build_request(code, fid, arg, msg + 1, sizeof(msg) - 1);
    if (n == 0) {
        return -1;
    }
    return spdm_req_vendor_defined_build(
        &d->spdm, d->session_id, SPDM_STANDARD_ID_PCISIG, pcisig_vid,
        sizeof(pcisig_vid), msg, n + 1, d->req, sizeof(d->req), &d->req_len);
}

static int build_idekm(struct tsm_dev *d, const uint8_t *obj, size_t n)
{
    uint8_t msg[1 + IDEKM_KEY_PROG_SIZE];
    int rc;

    if (n == 0 || n > sizeof(msg) - 1) {
        return -1;
    }
    msg[0] = PCISIG_PROTO_IDEKM;
    memcpy(msg + 1, obj, n);
    rc = spdm_req_vendor_defined_build(
        &d->spdm, d->session_id, SPDM_STANDARD_ID_PCISIG, pcisig_vid,
        sizeof(pcisig_vid), msg, n + 1, d->req, sizeof(d->req), &d->req_len);
    wipe(msg, sizeof(msg));
    return rc;
}

/* The IDE_KM request of the current step (fresh keys for KEY_PROG). */
static int build_ide(struct tsm *t, struct tsm_dev *d)
{
    uint8_t obj[IDEKM_KEY_PROG_SIZE];
    uint8_t kss = slot_kss(d->ide_work_set, d->ide_slot);
    size_t n;
    int rc;

    switch (d->step) {
    case ST_IDE_QUERY:
        n = idekm_build_query(IDE_DEV_PORT, obj, sizeof(obj));
        break;
    case ST_IDE_KEY_PROG:
        if (t->ops->random(t->ops_ctx, d->ide_key, sizeof(d->ide_key)) != 0) {
            return -1;
        }
        n = idekm_build_key_prog(d->ide_stream, kss, IDE_DEV_PORT, d->ide_key,
                                 d->ide_key + IDEKM_KEY_SIZE, obj, sizeof(obj));
        break;
    default:
        n = idekm_build_set(d->step == ST_IDE_GO ? IDEKM_K_SET_GO
                                                 : IDEKM_K_SET_STOP,
                            d->ide_stream, kss, IDE_DEV_PORT, obj, sizeof(obj));
        break;
    }
    rc = build_idekm(d, obj, n);
    wipe(obj, sizeof(obj));
    return rc;
}

/* Build the request of the current step into d->req. */
static int dev_build(struct tsm *t, struct tsm_dev *d)
{
    struct spdm_requester *q = &d->spdm;
    struct tsm_if *f = d->op_if >= 0 ? &t->ifs[d->op_if] : NULL;
    uint8_t *o = d->req;
    size_t cap = sizeof(d->req);
    size_t *n = &d->req_len;
    uint16_t portion[2];
    struct tdisp_lock_params lp;
    int rc;

    d->req_secured = d->session_id != SPDM_NO_SESSION;
    switch (d->step) {
    case ST_VERSION:
        d->req_secured = false;
        rc = spdm_req_get_version_build(q, o, cap, n);
        break;
    case ST_CAPS:
        rc = spdm_req_get_capabilities_build(q, o, cap, n);
        break;
    case ST_ALGS:
        rc = spdm_req_negotiate_algorithms_build(q, o, cap, n);
        break;
    case ST_DIGESTS:
        rc = spdm_req_get_digests_build(q, SPDM_NO_SESSION, o, cap, n);
        break;
    case ST_CERT:
        rc = spdm_req_get_certificate_build(q, SPDM_NO_SESSION, 0, o, cap, n);
        break;
    case ST_KEY_EXCHANGE:
        rc = spdm_req_key_exchange_build(q, 0, SPDM_MEAS_SUMMARY_NONE, o, cap,
                                         n);
        break;
    case ST_FINISH:
        rc = spdm_req_finish_build(q, d->session_id, o, cap, n);
        d->req_secured = true;
        break;
    case ST_MEAS:
        rc = spdm_req_get_measurements_build(q, d->session_id, SPDM_MEAS_OP_ALL,
                                             true, false, 0, o, cap, n);
        break;
    case ST_TDISP_VERSION:
        rc = build_tdisp(d, TDISP_GET_VERSION, f->function_id, NULL);
        break;
    case ST_TDISP_CAPS:
        rc = build_tdisp(d, TDISP_GET_CAPABILITIES, f->function_id, NULL);
        break;
    case ST_LOCK:
        memset(&lp, 0, sizeof(lp));
        lp.flags =
            (uint16_t)(TDISP_LOCK_NO_FW_UPDATE & d->lock_flags_supported);
        rc = build_tdisp(d, TDISP_LOCK_INTERFACE, f->function_id, &lp);
        break;
    case ST_REPORT:
        portion[0] = d->report_off;
        portion[1] = REPORT_PORTION;
        rc = build_tdisp(d, TDISP_GET_DEVICE_INTERFACE_REPORT, f->function_id,
                         portion);
        break;
    case ST_LOCKED_STATE:
    case ST_RUN_STATE:
    case ST_STATE:
        rc = build_tdisp(d, TDISP_GET_DEVICE_INTERFACE_STATE, f->function_id,
                         NULL);
        break;
    case ST_STOP:
        rc = build_tdisp(d, TDISP_STOP_INTERFACE, f->function_id, NULL);
        break;
    case ST_START:
        rc = build_tdisp(d, TDISP_START_INTERFACE, f->function_id, f->nonce);
        break;
    case ST_KEY_UPDATE:
        d->tag++;
        rc = spdm_req_key_update_build(
            q, d->session_id, SPDM_KEY_UPDATE_ALL_KEYS, d->tag, o, cap, n);
        break;
    case ST_HEARTBEAT:
        rc = spdm_req_heartbeat_build(q, d->session_id, o, cap, n);
        break;
    case ST_END_SESSION:
        rc = spdm_req_end_session_build(q, d->session_id, o, cap, n);
        break;
    case ST_IDE_QUERY:
    case ST_IDE_KEY_PROG:
    case ST_IDE_GO:
    case ST_IDE_STOP:
        rc = build_ide(t, d);
        break;
    default:
        rc = -1;
        break;
    }
    return rc == SPDM_OK ? 0 : -1;
}

/* ---- parsing answers ---- */

/* Open a TDISP response; P_DENY for TDISP_ERROR (in @r). */
static int parse_tdisp(struct tsm_dev *d, uint8_t code, uint32_t fid,
                       const uint8_t *in, size_t len, uint8_t *buf, size_t cap,
                       struct tdisp_rsp *r)
{
    size_t n;

    d->tdisp_len = 0;
    if (spdm_req_vendor_defined_parse(&d->spdm, d->session_id, in, len, buf,
                                      cap, &n) != SPDM_OK ||
        n < 1 || buf[0] != PCISIG_PROTO_TDISP ||
        tdisp_parse_response(code, fid, buf + 1, n - 1, r) != TDISP_PARSE_OK) {
        return P_FAIL;
    }
    d->tdisp_len = n - 1;
    return r->code == TDISP_ERROR ? P_DENY : P_MORE;
}

/*
 * Open an IDE_KM answer into @buf (protocol id first). An SPDM ERROR inside
 * the session is the device refusing (TSM_DECISION_IDE_REFUSAL); a plain
 * ERROR could come from anyone and fails like any answer that does not open.
 */
static int parse_idekm(struct tsm_dev *d, const uint8_t *in, size_t len,
                       uint8_t *buf, size_t cap, size_t *n)
{
    int rc = spdm_req_vendor_defined_parse(&d->spdm, d->session_id, in, len,
                                           buf, cap, n);

    if (rc == SPDM_ERR_PEER_ERROR && len >= 4 &&
        load_le32(in) == d->session_id) {
        return P_DENY;
    }
    if (rc != SPDM_OK || *n < 1 || buf[0] != PCISIG_PROTO_IDEKM) {
        return P_FAIL;
    }
    return P_MORE;
}

/* One IDE_KM step's answer, and the same step on the root port. */
static int parse_ide(struct tsm *t, struct tsm_dev *d, const uint8_t *in,
                     size_t len)
{
    uint8_t buf[SPDM_VENDOR_PAYLOAD_MAX]; /* a real QUERY_RESP may be long */
    uint8_t kss = slot_kss(d->ide_work_set, d->ide_slot);
    uint8_t desc[TSM_KEY_DESC_SIZE + TSM_KEY_DATA_SIZE];
    struct idekm_query_info qi;
    struct sbiret r;
    uint8_t status;
    size_t n;
    int rc = parse_idekm(d, in, len, buf, sizeof(buf), &n);

    if (rc != P_MORE) {
        return rc;
    }
    if (d->step == ST_IDE_QUERY) {
        if (idekm_parse_query_resp(IDE_DEV_PORT, buf + 1, n - 1, &qi) !=
            IDEKM_PARSE_OK) {
            return P_FAIL;
        }
        if ((qi.ide_cap & (1u << 1)) == 0 || (qi.ide_cap & (1u << 6)) == 0 ||
            qi.addr_blocks < d->ide_naddr) {
            return P_DENY; /* no selective streams, no IDE_KM, too few */
        }
        d->ide_slot = 0;
        d->step = ST_IDE_KEY_PROG;
        return P_MORE;
    }
    if (idekm_parse_ack(d->step == ST_IDE_KEY_PROG ? IDEKM_KP_ACK
                                                   : IDEKM_K_GOSTOP_ACK,
                        d->ide_stream, kss, IDE_DEV_PORT, buf + 1, n - 1,
                        &status) != IDEKM_PARSE_OK) {
        return P_FAIL;
    }
    if (status != IDEKM_KP_SUCCESS) {
        return P_DENY;
    }
    slot_desc(d, d->ide_work_set, d->ide_slot, desc);
    switch (d->step) {
    case ST_IDE_KEY_PROG:
        memcpy(desc + TSM_KEY_DESC_SIZE, d->ide_key, TSM_KEY_DATA_SIZE);
        wipe(d->ide_key, sizeof(d->ide_key));
        r = covt(t, d, TSM_COVT_PROGRAM_KEY, COVT_BUF, desc, sizeof(desc));
        wipe(desc, sizeof(desc));
        break;
    case ST_IDE_GO:
        /* the device's receiver is going: now the root port's transmitter;
         * the root port's receivers went before the device's transmitters */
        r.error = SBI_SUCCESS;
        if (d->ide_slot < 3) {
            r = covt(t, d, TSM_COVT_SET_GO, COVT_BUF, desc, TSM_KEY_DESC_SIZE);
        }
        break;
    default: /* ST_IDE_STOP: the root port's keys go at the end */
        r.error = SBI_SUCCESS;
        if (d->op == TSM_COVH_IDE_KEY_REFRESH) {
            r = covt(t, d, TSM_COVT_SET_STOP, COVT_BUF, desc,
                     TSM_KEY_DESC_SIZE);
        }
        break;
    }
    if (r.error != SBI_SUCCESS) {
        return P_FAIL; /* the TSM's own root port refused: keys out of step */
    }
    if (++d->ide_slot < IDE_SLOTS) {
        return P_MORE;
    }
    d->ide_slot = 0;
    switch (d->step) {
    case ST_IDE_KEY_PROG:
        /* receivers before transmitters: the root port's Rx keys first */
        for (n = 3; n < IDE_SLOTS; n++) {
            slot_desc(d, d->ide_work_set, (unsigned)n, desc);
            if (covt(t, d, TSM_COVT_SET_GO, COVT_BUF, desc, TSM_KEY_DESC_SIZE)
                    .error != SBI_SUCCESS) {
                return P_FAIL;
            }
        }
        d->step = ST_IDE_GO;
        return P_MORE;
    case ST_IDE_GO:
        if (d->op == TSM_COVH_IDE_KEY_REFRESH) {
            d->ide_work_set = d->ide_set; /* now stop the old set */
            d->step = ST_IDE_STOP;
            return P_MORE;
        }
        return P_DONE;
    default:
        if (d->op == TSM_COVH_IDE_KEY_REFRESH) {
            return P_DONE;
        }
        rp_teardown(t, d); /* disconnect: then END_SESSION */
        d->step = ST_END_SESSION;
        return P_MORE;
    }
}

static int save_meas(struct tsm_dev *d, const struct spdm_meas_result *m)
{
    size_t i;
    uint8_t h[4];

    d->meas_len = 0;
    if (!m->signed_ok) {
        return P_FAIL;
    }
    for (i = 0; i < m->n_blocks; i++) {
        h[0] = m->blocks[i].index;
        h[1] = m->blocks[i].type;
        store_le16(h + 2, m->blocks[i].value_len);
        if (!append(d->meas, &d->meas_len, sizeof(d->meas), h, 4) ||
            !append(d->meas, &d->meas_len, sizeof(d->meas), m->blocks[i].value,
                    m->blocks[i].value_len)) {
            return P_FAIL;
        }
    }
    d->meas_generation++;
    return P_MORE;
}

static int tdisp_state_of(uint8_t s)
{
    switch (s) {
    case TDISP_CONFIG_UNLOCKED:
        return TSM_IF_UNLOCKED;
    case TDISP_CONFIG_LOCKED:
        return TSM_IF_LOCKED;
    case TDISP_RUN:
        return TSM_IF_RUNNING;
    default:
        return TSM_IF_ERROR;
    }
}

/* Parse the answer to the current step; move d->step on. */
static int dev_parse(struct tsm *t, struct tsm_dev *d, const uint8_t *in,
                     size_t len)
{
    struct spdm_requester *q = &d->spdm;
    struct tsm_if *f = d->op_if >= 0 ? &t->ifs[d->op_if] : NULL;
    uint8_t buf[1 + TDISP_MSG_MAX];
    struct spdm_meas_result m;
    struct tdisp_rsp r;
    bool done;
    int rc;

    switch (d->step) {
    case ST_VERSION:
    case ST_CAPS:
    case ST_ALGS:
        if (d->step == ST_VERSION) {
            rc = spdm_req_get_version_parse(q, in, len);
        } else if (d->step == ST_CAPS) {
            rc = spdm_req_get_capabilities_parse(q, in, len, NULL);
        } else {
            rc = spdm_req_negotiate_algorithms_parse(q, in, len);
        }
        if (rc != SPDM_OK ||
            !append(d->vca, &d->vca_len, sizeof(d->vca), d->req, d->req_len) ||
            !append(d->vca, &d->vca_len, sizeof(d->vca), in, len)) {
            return P_FAIL;
        }
        d->step++;
        return P_MORE;
    case ST_DIGESTS: {
        struct spdm_digests dg;

        if (spdm_req_get_digests_parse(q, SPDM_NO_SESSION, in, len, &dg) !=
                SPDM_OK ||
            (dg.slot_mask & 1u) == 0) {
            return P_FAIL;
        }
        d->step = ST_CERT;
        return P_MORE;
    }
    case ST_CERT:
        if (spdm_req_get_certificate_parse(q, SPDM_NO_SESSION, in, len,
                                           &done) != SPDM_OK) {
            return P_FAIL;
        }
        if (done) {
            d->step = ST_KEY_EXCHANGE;
        }
        return P_MORE;
    case ST_KEY_EXCHANGE:
        if (spdm_req_key_exchange_parse(q, in, len, &d->session_id) !=
                SPDM_OK ||
            !append(d->session_log, &d->session_log_len, sizeof(d->session_log),
                    d->req, d->req_len) ||
            !append(d->session_log, &d->session_log_len, sizeof(d->session_log),
                    in, len)) {
            return P_FAIL;
        }
        d->step = ST_FINISH;
        return P_MORE;
    case ST_FINISH:
        if (spdm_req_finish_parse(q, d->session_id, in, len) != SPDM_OK) {
            return P_FAIL;
        }
        d->step = ST_MEAS;
        return P_MORE;
    case ST_MEAS:
        if (spdm_req_get_measurements_parse(q, d->session_id, in, len, &m) !=
                SPDM_OK ||
            save_meas(d, &m) != P_MORE) {
            return P_FAIL;
        }
        if (d->op == TSM_COVH_CONNECT_DEVICE) {
            memcpy(d->meas_connect, d->meas, d->meas_len);
            d->meas_connect_len = d->meas_len;
            if (d->ide) {
                d->ide_work_set = d->ide_set;
                d->step = ST_IDE_QUERY;
                return P_MORE;
            }
            return P_DONE;
        }
        /* TSM_DECISION_MEASUREMENTS: at bind, the set must not change */
        if (d->meas_len != d->meas_connect_len ||
            !ct_eq(d->meas, d->meas_connect, d->meas_len)) {
            return P_FAIL;
        }
        d->tdisp_vc_len = 0;
        d->step = ST_TDISP_VERSION;
        return P_MORE;
    case ST_TDISP_VERSION:
    case ST_TDISP_CAPS:
        rc = parse_tdisp(d,
                         d->step == ST_TDISP_VERSION ? TDISP_GET_VERSION
                                                     : TDISP_GET_CAPABILITIES,
                         f->function_id, in, len, buf, sizeof(buf), &r);
        if (rc != P_MORE) {
            return P_FAIL;
        }
        if (d->step == ST_TDISP_CAPS) {
            d->lock_flags_supported = r.lock_flags_supported;
        }
        /* the opened TDISP response, as the device sent it */
        if (!append(d->tdisp_vc, &d->tdisp_vc_len, sizeof(d->tdisp_vc), buf + 1,
                    d->tdisp_len)) {
            return P_FAIL;
        }
        d->step = d->step == ST_TDISP_VERSION ? ST_TDISP_CAPS : ST_LOCK;
        return P_MORE;
    case ST_LOCK:
        rc = parse_tdisp(d, TDISP_LOCK_INTERFACE, f->function_id, in, len, buf,
                         sizeof(buf), &r);
        if (rc != P_MORE) {
            return rc;
        }
        memcpy(f->nonce, r.nonce, TDISP_NONCE_SIZE);
        d->report_off = 0;
        f->report_len = 0;
        d->step = ST_REPORT;
        return P_MORE;
    case ST_REPORT:
        rc = parse_tdisp(d, TDISP_GET_DEVICE_INTERFACE_REPORT, f->function_id,
                         in, len, buf, sizeof(buf), &r);
        if (rc != P_MORE) {
            return rc;
        }
        if (r.portion_len == 0 ||
            !append(f->report, &f->report_len, sizeof(f->report), r.portion,
                    r.portion_len) ||
            (size_t)r.remainder_len > sizeof(f->report) - f->report_len) {
            return P_FAIL;
        }
        d->report_off = (uint16_t)f->report_len;
        if (r.remainder_len != 0) {
            return P_MORE;
        }
        if (tdisp_parse_report(f->report, f->report_len, &f->parsed) != 0) {
            return P_FAIL;
        }
        d->step = ST_LOCKED_STATE;
        return P_MORE;
    case ST_LOCKED_STATE:
    case ST_RUN_STATE:
    case ST_STATE:
        rc = parse_tdisp(d, TDISP_GET_DEVICE_INTERFACE_STATE, f->function_id,
                         in, len, buf, sizeof(buf), &r);
        if (rc != P_MORE) {
            return rc == P_DENY ? P_FAIL : rc;
        }
        if (d->step == ST_STATE) {
            if (tdisp_state_of(r.state) != f->state) {
                /* the device left the state the TSM put it in */
                f->state = TSM_IF_ERROR;
                f->dma_enabled = false;
            }
            return P_DONE;
        }
        if (tdisp_state_of(r.state) !=
            (d->step == ST_LOCKED_STATE ? TSM_IF_LOCKED : TSM_IF_RUNNING)) {
            return P_DENY;
        }
        return P_DONE;
    case ST_STOP:
    case ST_START:
        rc = parse_tdisp(d,
                         d->step == ST_STOP ? TDISP_STOP_INTERFACE
                                            : TDISP_START_INTERFACE,
                         f->function_id, in, len, buf, sizeof(buf), &r);
        if (rc != P_MORE) {
            return rc;
        }
        if (d->step == ST_START) {
            d->step = ST_RUN_STATE;
            return P_MORE;
        }
        return P_DONE;
    case ST_KEY_UPDATE:
        return spdm_req_key_update_parse(q, d->session_id, in, len) == SPDM_OK
                   ? P_DONE
                   : P_FAIL;
    case ST_HEARTBEAT:
        return spdm_req_heartbeat_parse(q, d->session_id, in, len) == SPDM_OK
                   ? P_DONE
                   : P_FAIL;
    case ST_END_SESSION:
        return spdm_req_end_session_parse(q, d->session_id, in, len) == SPDM_OK
                   ? P_DONE
                   : P_FAIL;
    case ST_IDE_QUERY:
    case ST_IDE_KEY_PROG:
    case ST_IDE_GO:
    case ST_IDE_STOP:
        return parse_ide(t, d, in, len);
    default:
        return P_FAIL;
    }
}

/* ---- the relay ---- */

/* Write the pending request as the relay buffer (the call's last step). */
static struct sbiret emit_pending(struct tsm_dev *d, uint8_t *out,
                                  size_t out_cap, size_t *out_len)
{
    uint32_t fid = d->op | (d->req_secured ? TSM_RELAY_SECURED : 0);

    if (out_cap < TSM_RELAY_HDR_SIZE ||
        d->req_len > out_cap - TSM_RELAY_HDR_SIZE) {
        return ret(SBI_ERR_NO_SHMEM, (long)(TSM_RELAY_HDR_SIZE + d->req_len));
    }
    store_le32(out, fid);
    store_le32(out + 4, d->device_id);
    store_le32(out + 8, (uint32_t)d->req_len);
    memcpy(out + TSM_RELAY_HDR_SIZE, d->req, d->req_len);
    *out_len = TSM_RELAY_HDR_SIZE + d->req_len;
    return ret(SBI_SUCCESS, TSM_SPDM_PENDING_REQUEST);
}

static bool action_next(struct tsm *t, struct tsm_dev *d);

/* The op finished: apply what it established; the call's value. */
static long op_done(struct tsm *t, struct tsm_dev *d)
{
    struct tsm_if *f = d->op_if >= 0 ? &t->ifs[d->op_if] : NULL;

    switch (d->step) {
    case ST_MEAS:
        d->state = TSM_DEV_CONNECTED;
        break;
    case ST_IDE_GO: /* connect with an IDE stream */
        d->state = TSM_DEV_CONNECTED;
        d->ide_on = true;
        break;
    case ST_IDE_STOP: /* refresh: the new set is in use */
        d->ide_set = d->ide_work_set ^ 1u;
        break;
    case ST_LOCKED_STATE:
        f->state = TSM_IF_LOCKED;
        f->dma_enabled = false;
        break;
    case ST_RUN_STATE:
        f->state = TSM_IF_RUNNING;
        f->dma_enabled = true;
        wipe(f->nonce, sizeof(f->nonce));
        break;
    case ST_STOP:
        if (d->op == TSM_COVH_UNBIND_INTERFACE) {
            if_free(f);
        } else {
            f->state = TSM_IF_UNLOCKED;
            f->dma_enabled = false;
            f->n_regions = 0;
            memset(f->regions, 0, sizeof(f->regions));
        }
        break;
    case ST_END_SESSION:
        dev_free(t, d);
        return 0;
    default:
        break;
    }
    d->op = 0;
    d->op_if = -1;
    return 0;
}

/* Start @fid's exchange at @step, or go on with the relay's answer. */
static struct sbiret dev_start(struct tsm *t, struct tsm_dev *d, uint32_t fid,
                               int step, int op_if, uint8_t *out,
                               size_t out_cap, size_t *out_len)
{
    d->op = fid;
    d->step = step;
    d->op_if = op_if;
    if (dev_build(t, d) != 0) {
        return dev_fail(t, d);
    }
    return emit_pending(d, out, out_cap, out_len);
}

static struct sbiret dev_continue(struct tsm *t, struct tsm_dev *d,
                                  const struct tsm_call *c, uint8_t *out,
                                  size_t out_cap, size_t *out_len)
{
    uint32_t fid, dev, n;
    int rc;

    if (c->in_len == 0) {
        return emit_pending(d, out, out_cap, out_len); /* lost: resend */
    }
    if (c->in_len < TSM_RELAY_HDR_SIZE) {
        return ret(SBI_ERR_INVALID_PARAM, 0);
    }
    fid = load_le32(c->in);
    dev = load_le32(c->in + 4);
    n = load_le32(c->in + 8);
    if ((fid & TSM_RELAY_FID_MASK) != d->op || dev != d->device_id ||
        n != c->in_len - TSM_RELAY_HDR_SIZE || n > SPDM_RECORD_MAX) {
        return ret(SBI_ERR_INVALID_PARAM, 0);
    }
    rc = dev_parse(t, d, c->in + TSM_RELAY_HDR_SIZE, n);
    if (rc == P_FAIL) {
        return dev_fail(t, d);
    }
    if (rc == P_DENY && d->op_if < 0) {
        /* TSM_DECISION_IDE_REFUSAL */
        (void)dev_fail(t, d);
        return ret(SBI_ERR_DENIED, 0);
    }
    if (rc == P_DENY) {
        struct tsm_if *f = &t->ifs[d->op_if];

        /* a refusal the device made inside the session */
        if (d->op == TSM_COVH_BIND_INTERFACE) {
            if_free(f);
        } else {
            f->state = TSM_IF_ERROR;
            f->dma_enabled = false;
        }
        d->op = 0;
        d->op_if = -1;
        return ret(SBI_ERR_DENIED, 0);
    }
    if (rc == P_DONE) {
        uint32_t op = d->op;
        long v = op_done(t, d);

        if (op == TSM_COVH_TEE_IO_ACTION && action_next(t, d)) {
            if (dev_build(t, d) != 0) {
                return dev_fail(t, d);
            }
            return emit_pending(d, out, out_cap, out_len);
        }
        return ret(SBI_SUCCESS, v);
    }
    if (dev_build(t, d) != 0) {
        return dev_fail(t, d);
    }
    return emit_pending(d, out, out_cap, out_len);
}

/* TSM_DECISION_FID_1029: pick the next queued interface work. */
static bool action_next(struct tsm *t, struct tsm_dev *d)
{
    size_t i;

    for (i = 0; i < TSM_MAX_IFS; i++) {
        struct tsm_if *f = &t->ifs[i];

        if (!f->used || f->device_id != d->device_id) {
            continue;
        }
        d->op_if = (int)i;
        d->op = TSM_COVH_TEE_IO_ACTION;
        if (f->want_stop) {
            f->want_stop = f->want_start = f->want_refresh = false;
            d->step = ST_STOP;
            return true;
        }
        if (f->want_start) {
            f->want_start = f->want_refresh = false;
            d->step = ST_START;
            return true;
        }
        if (f->want_refresh) {
            f->want_refresh = false;
            d->step = ST_STATE;
            return true;
        }
    }
    d->op = 0;
    d->op_if = -1;
    return false;
}

/* ---- COVH ---- */

static struct sbiret put(const uint8_t *src, size_t n, uint64_t limit,
                         uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (n > out_cap || n > limit) {
        return ret(SBI_ERR_NO_SHMEM, (long)n);
    }
    memcpy(out, src, n);
    *out_len = n;
    return ret(SBI_SUCCESS, (long)n);
}

/* One transcript element: pointer and length into the device record. */
static bool element(const struct tsm_dev *d, uint64_t elem, const uint8_t **p,
                    size_t *n)
{
    switch (elem) {
    case TSM_ELEM_DEVICE_CERTIFICATE:
        return spdm_req_cert_chain(&d->spdm, p, n) == SPDM_OK;
    case TSM_ELEM_DEVICE_MEASUREMENT:
        *p = d->meas;
        *n = d->meas_len;
        return true;
    case TSM_ELEM_VCA:
        *p = d->vca;
        *n = d->vca_len;
        return true;
    case TSM_ELEM_SESSION:
        *p = d->session_log;
        *n = d->session_log_len;
        return true;
    case TSM_ELEM_TDISP_VC:
        *p = d->tdisp_vc;
        *n = d->tdisp_vc_len;
        return true;
    default:
        return false;
    }
}

/*
 * get_device_connection_transcript: one element, or FULL = every element
 * as {element u32, length u32, bytes}, in element order.
 */
static struct sbiret transcript(const struct tsm_dev *d, uint64_t elem,
                                uint64_t param, uint64_t size, uint8_t *out,
                                size_t out_cap, size_t *out_len)
{
    const uint8_t *p;
    size_t n, total = 0, off = 0;
    uint64_t e;

    if (d->state != TSM_DEV_CONNECTED) {
        return ret(SBI_ERR_INVALID_STATE, 0);
    }
    if (elem == TSM_ELEM_DEVICE_CERTIFICATE && param != 0) {
        return ret(SBI_ERR_INVALID_PARAM, 0); /* slot 0 only */
    }
    if (elem != TSM_ELEM_FULL) {
        if (!element(d, elem, &p, &n)) {
            return ret(SBI_ERR_INVALID_PARAM, 0);
        }
        return put(p, n, size, out, out_cap, out_len);
    }
    for (e = 1; e < TSM_ELEM_COUNT; e++) {
        if (!element(d, e, &p, &n)) {
            return ret(SBI_ERR_FAILED, 0);
        }
        total += 8 + n;
    }
    if (total > out_cap || total > size) {
        return ret(SBI_ERR_NO_SHMEM, (long)total);
    }
    for (e = 1; e < TSM_ELEM_COUNT; e++) {
        (void)element(d, e, &p, &n);
        store_le32(out + off, (uint32_t)e);
        store_le32(out + off + 4, (uint32_t)n);
        memcpy(out + off + 8, p, n);
        off += 8 + n;
    }
    *out_len = total;
    return ret(SBI_SUCCESS, (long)total);
}

static struct tsm_dev *dev_slot(struct tsm *t)
{
    size_t i;

    for (i = 0; i < TSM_MAX_DEVICES; i++) {
        if (t->devs[i].state == TSM_DEV_FREE) {
            return &t->devs[i];
        }
    }
    return NULL;
}

static int if_slot(struct tsm *t)
{
    size_t i;

    for (i = 0; i < TSM_MAX_IFS; i++) {
        if (!t->ifs[i].used) {
            return (int)i;
        }
    }
    return -1;
}

static struct sbiret covh_connect(struct tsm *t, const struct tsm_call *c,
                                  uint8_t *out, size_t out_cap, size_t *out_len)
{
    struct spdm_requester_config cfg;
    struct tsm_dev *d;
    uint32_t id = (uint32_t)c->a[0];

    if (c->a[0] > UINT32_MAX) {
        return ret(SBI_ERR_INVALID_PARAM, 0);
    }
    if (c->a[1] != 0 && c->in_len == 0) {
        return ret(SBI_ERR_INVALID_ADDRESS, 0); /* no descriptor there */
    }
    d = dev_find(t, id);
    if (d != NULL) {
        return ret(d->state == TSM_DEV_ERROR ? SBI_ERR_INVALID_STATE
                                             : SBI_ERR_ALREADY_AVAILABLE,
                   0);
    }
    d = dev_slot(t);
    if (d == NULL) {
        return ret(SBI_ERR_FAILED, 0);
    }
    memset(d, 0, sizeof(*d));
    d->rp_id = (uint32_t)(d - t->devs);
    if (c->a[1] != 0) {
        /* TSM_DECISION_IDE_STREAM_DESC: the root port first */
        struct sbiret r =
            covt(t, d, TSM_COVT_PROGRAM_STREAM, c->a[1], c->in, c->in_len);

        if (r.error != SBI_SUCCESS) {
            return r;
        }
        d->ide = true;
        d->ide_stream = c->in[0];
        d->ide_naddr = c->in[1];
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.ops = &req_ops;
    cfg.ops_ctx = t;
    if (spdm_requester_init(&d->spdm, &cfg) != SPDM_OK) {
        rp_teardown(t, d);
        return ret(SBI_ERR_FAILED, 0);
    }
    d->state = TSM_DEV_CONNECTING;
    d->device_id = id;
    return dev_start(t, d, TSM_COVH_CONNECT_DEVICE, ST_VERSION, -1, out,
                     out_cap, out_len);
}

static bool region_ok(const struct tsm_if *f, uint64_t base, uint64_t len)
{
    size_t i;

    if (len == 0 || base % TSM_PAGE_SIZE != 0 || len % TSM_PAGE_SIZE != 0 ||
        base + len < base) {
        return false;
    }
    for (i = 0; i < f->n_regions; i++) {
        const struct tsm_region *g = &f->regions[i];

        if (base < g->hpa + g->size && g->hpa < base + len) {
            return false;
        }
    }
    for (i = 0; i < f->parsed.n_ranges; i++) {
        const struct tdisp_range *r = &f->parsed.ranges[i];
        uint64_t end = r->addr + (uint64_t)r->n_pages * TSM_PAGE_SIZE;

        if (base >= r->addr && base + len <= end && end > r->addr) {
            return true;
        }
    }
    return false;
}

/* see tsm.h */
struct sbiret tsm_covh(struct tsm *t, const struct tsm_call *c, uint8_t *out,
                       size_t out_cap, size_t *out_len)
{
    uint32_t dev_id;
    struct tsm_dev *d;
    struct tsm_if *f = NULL;
    int fi = -1;
    size_t i;

    *out_len = 0;
    switch (c->fid) {
    case TSM_COVH_CONNECT_DEVICE:
    case TSM_COVH_DISCONNECT_DEVICE:
    case TSM_COVH_TEE_IO_ACTION:
    case TSM_COVH_SPDM_KEY_UPDATE:
    case TSM_COVH_IDE_KEY_REFRESH:
    case TSM_COVH_SPDM_HEARTBEAT:
    case TSM_COVH_GET_CONN_TRANSCRIPT:
        dev_id = (uint32_t)c->a[0];
        if (c->a[0] > UINT32_MAX) {
            return ret(SBI_ERR_INVALID_PARAM, 0);
        }
        break;
    case TSM_COVH_ADD_INTERFACE_REGION:
    case TSM_COVH_RECLAIM_INTERFACE_REG:
    case TSM_COVH_BIND_INTERFACE:
    case TSM_COVH_UNBIND_INTERFACE:
        dev_id = (uint32_t)(c->a[1] >> 32);
        if (c->a[0] == 0) {
            return ret(SBI_ERR_INVALID_PARAM, 0); /* 0 names no TVM */
        }
        fi = if_index(t, c->a[1]);
        f = fi >= 0 ? &t->ifs[fi] : NULL;
        break;
    default:
        return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
    d = dev_find(t, dev_id);
    if (d != NULL && d->op != 0) {
        if (d->op == c->fid &&
            (f == NULL || d->op_if == fi || d->op == TSM_COVH_TEE_IO_ACTION)) {
            return dev_continue(t, d, c, out, out_cap, out_len);
        }
        return ret(SBI_ERR_ALREADY_STARTED, 0);
    }
    if (c->in_len != 0 && (c->fid != TSM_COVH_CONNECT_DEVICE || c->a[1] == 0)) {
        return ret(SBI_ERR_INVALID_STATE, 0); /* an answer nobody asked for */
    }
    if (c->fid == TSM_COVH_CONNECT_DEVICE) {
        return covh_connect(t, c, out, out_cap, out_len);
    }
    if (d == NULL) {
        return ret(SBI_ERR_INVALID_PARAM, 0);
    }
    if (c->fid == TSM_COVH_DISCONNECT_DEVICE) {
        for (i = 0; i < TSM_MAX_IFS; i++) {
            if (t->ifs[i].used && t->ifs[i].device_id == dev_id &&
                d->state != TSM_DEV_ERROR) {
                return ret(SBI_ERR_INVALID_STATE, 0); /* unbind first */
            }
        }
        if (d->state != TSM_DEV_CONNECTED) {
            dev_free(t, d);
            return ret(SBI_SUCCESS, 0);
        }
        if (d->ide_on) {
            /* TSM_DECISION_IDE_REFRESH: the device's keys stop first */
            d->ide_work_set = d->ide_set;
            d->ide_slot = 0;
            return dev_start(t, d, c->fid, ST_IDE_STOP, -1, out, out_cap,
                             out_len);
        }
        return dev_start(t, d, c->fid, ST_END_SESSION, -1, out, out_cap,
                         out_len);
    }
    if (c->fid == TSM_COVH_GET_CONN_TRANSCRIPT) {
        return transcript(d, c->a[1], c->a[2], c->a[4], out, out_cap, out_len);
    }
    if (d->state != TSM_DEV_CONNECTED) {
        return ret(SBI_ERR_INVALID_STATE, 0);
    }
    switch (c->fid) {
    case TSM_COVH_TEE_IO_ACTION:
        if (!action_next(t, d)) {
            return ret(SBI_SUCCESS, 0);
        }
        if (dev_build(t, d) != 0) {
            return dev_fail(t, d);
        }
        return emit_pending(d, out, out_cap, out_len);
    case TSM_COVH_SPDM_KEY_UPDATE:
        return dev_start(t, d, c->fid, ST_KEY_UPDATE, -1, out, out_cap,
                         out_len);
    case TSM_COVH_SPDM_HEARTBEAT:
        return dev_start(t, d, c->fid, ST_HEARTBEAT, -1, out, out_cap, out_len);
    case TSM_COVH_IDE_KEY_REFRESH:
        /* TSM_DECISION_IDE_REFRESH */
        if (!d->ide_on || c->a[1] != d->ide_stream) {
            return ret(SBI_ERR_INVALID_PARAM, 0);
        }
        if (!rp_keys_in(t, d, d->ide_set, TSM_RP_KEY_ENABLED)) {
            return ret(SBI_ERR_INVALID_STATE, 0); /* the stream went Insecure */
        }
        d->ide_work_set = d->ide_set ^ 1u;
        d->ide_slot = 0;
        return dev_start(t, d, c->fid, ST_IDE_KEY_PROG, -1, out, out_cap,
                         out_len);
    case TSM_COVH_BIND_INTERFACE:
        if (f != NULL) {
            return ret(f->tvm == c->a[0] ? SBI_ERR_ALREADY_AVAILABLE
                                         : SBI_ERR_DENIED,
                       0);
        }
        fi = if_slot(t);
        if (fi < 0) {
            return ret(SBI_ERR_FAILED, 0);
        }
        f = &t->ifs[fi];
        memset(f, 0, sizeof(*f));
        f->used = true;
        f->device_id = dev_id;
        f->function_id = (uint32_t)c->a[1];
        f->tvm = c->a[0];
        f->state = TSM_IF_UNLOCKED;
        return dev_start(t, d, c->fid, ST_MEAS, fi, out, out_cap, out_len);
    default:
        break;
    }
    /* the calls on a bound interface */
    if (f == NULL || f->tvm != c->a[0]) {
        return ret(SBI_ERR_INVALID_PARAM, 0);
    }
    switch (c->fid) {
    case TSM_COVH_UNBIND_INTERFACE:
        return dev_start(t, d, c->fid, ST_STOP, fi, out, out_cap, out_len);
    case TSM_COVH_ADD_INTERFACE_REGION:
        if (f->state != TSM_IF_LOCKED) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        if (f->n_regions == TSM_MAX_REGIONS) {
            return ret(SBI_ERR_FAILED, 0);
        }
        if (!region_ok(f, c->a[2], c->a[3])) {
            return ret(SBI_ERR_INVALID_ADDRESS, 0);
        }
        f->regions[f->n_regions].hpa = c->a[2];
        f->regions[f->n_regions].size = c->a[3];
        f->regions[f->n_regions].mapped = false;
        f->n_regions++;
        return ret(SBI_SUCCESS, 0);
    case TSM_COVH_RECLAIM_INTERFACE_REG:
        if (f->state == TSM_IF_RUNNING) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        for (i = 0; i < f->n_regions; i++) {
            if (f->regions[i].hpa == c->a[2]) {
                f->regions[i] = f->regions[f->n_regions - 1];
                memset(&f->regions[f->n_regions - 1], 0, sizeof(f->regions[0]));
                f->n_regions--;
                return ret(SBI_SUCCESS, 0);
            }
        }
        return ret(SBI_ERR_INVALID_ADDRESS, 0);
    default:
        return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
}

/* ---- COVG ---- */

/* see tsm.h */
struct sbiret tsm_covg(struct tsm *t, uint64_t tvm, const struct tsm_call *c,
                       uint8_t *out, size_t out_cap, size_t *out_len)
{
    uint8_t buf[TDISP_NONCE_SIZE + 8 + TSM_MEAS_LOG_MAX];
    struct tsm_dev *d;
    struct tsm_if *f;
    int fi;
    size_t i;

    *out_len = 0;
    if (c->fid < TSM_COVG_GET_DEVICE_LINK || c->fid > TSM_COVG_STOP_INTERFACE) {
        return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
    fi = if_index(t, c->a[0]);
    if (tvm == 0 || fi < 0 || t->ifs[fi].tvm != tvm) {
        return ret(SBI_ERR_INVALID_PARAM, 0); /* not this TVM's interface */
    }
    f = &t->ifs[fi];
    d = dev_find(t, f->device_id);
    switch (c->fid) {
    case TSM_COVG_GET_DEVICE_LINK:
        if (d->state != TSM_DEV_CONNECTED) {
            return ret(SBI_SUCCESS, 0);
        }
        /* TSM_DECISION_IDE_STREAM_DESC: both sides' keys going */
        return ret(SBI_SUCCESS,
                   (long)TSM_LINK_SECURED_SPDM |
                       (d->ide_on && rp_stream_secure(&t->rp, d->rp_id,
                                                      d->ide_stream, d->ide_set)
                            ? (long)TSM_LINK_PCIE_IDE
                            : 0));
    case TSM_COVG_GET_CONN_TRANSCRIPT:
        return transcript(d, c->a[1], c->a[2], c->a[4], out, out_cap, out_len);
    case TSM_COVG_GET_DEVICE_MEASUREMENTS:
        if (c->in_len != TDISP_NONCE_SIZE || c->a[2] != 0) {
            return ret(SBI_ERR_INVALID_PARAM, 0);
        }
        if (d->state != TSM_DEV_CONNECTED) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        memcpy(buf, c->in, TDISP_NONCE_SIZE);
        store_le32(buf + TDISP_NONCE_SIZE, d->meas_generation);
        store_le32(buf + TDISP_NONCE_SIZE + 4, (uint32_t)d->meas_len);
        memcpy(buf + TDISP_NONCE_SIZE + 8, d->meas, d->meas_len);
        return put(buf, TDISP_NONCE_SIZE + 8 + d->meas_len, c->a[4], out,
                   out_cap, out_len);
    case TSM_COVG_GET_INTERFACE_REPORT:
        if (f->state != TSM_IF_LOCKED && f->state != TSM_IF_RUNNING) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        return put(f->report, f->report_len, c->a[2], out, out_cap, out_len);
    case TSM_COVG_GET_INTERFACE_STATE:
        if (f->state == TSM_IF_LOCKED || f->state == TSM_IF_RUNNING) {
            f->want_refresh = true;
        }
        return ret(SBI_SUCCESS, f->state);
    case TSM_COVG_MAP_INTERFACE_MMIO:
        if (f->state != TSM_IF_LOCKED && f->state != TSM_IF_RUNNING) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        if (c->a[1] % TSM_PAGE_SIZE != 0) {
            return ret(SBI_ERR_INVALID_ADDRESS, 0);
        }
        for (i = 0; i < f->n_regions; i++) {
            struct tsm_region *g = &f->regions[i];

            if (g->hpa == c->a[2] && g->size == c->a[3]) {
                if (g->mapped) {
                    return ret(SBI_ERR_ALREADY_AVAILABLE, 0);
                }
                g->mapped = true;
                g->gpa = c->a[1];
                return ret(SBI_SUCCESS, 0);
            }
        }
        return ret(SBI_ERR_INVALID_ADDRESS, 0);
    case TSM_COVG_START_INTERFACE:
        if (f->state == TSM_IF_RUNNING) {
            return ret(SBI_ERR_ALREADY_STARTED, 0);
        }
        if (f->state != TSM_IF_LOCKED || d->state != TSM_DEV_CONNECTED) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        f->want_start = true;
        return ret(SBI_SUCCESS, 0);
    case TSM_COVG_STOP_INTERFACE:
        if (f->state == TSM_IF_UNLOCKED) {
            return ret(SBI_ERR_ALREADY_STOPPED, 0);
        }
        if (d->state != TSM_DEV_CONNECTED) {
            return ret(SBI_ERR_INVALID_STATE, 0);
        }
        f->dma_enabled = false;
        f->want_stop = true;
        return ret(SBI_SUCCESS, 0);
    default:
        return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
}

/* see tsm.h */
struct sbiret tsm_call(struct tsm *t, uint32_t eid, uint64_t tvm,
                       const struct tsm_call *c, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
    *out_len = 0;
    if (eid == TSM_EID_COVH) {
        return tsm_covh(t, c, out, out_cap, out_len);
    }
    if (eid == TSM_EID_COVG) {
        return tsm_covg(t, tvm, c, out, out_cap, out_len);
    }
    if (eid == TSM_EID_COVT) {
        return ret(SBI_ERR_DENIED, 0); /* TSM_DECISION_COVT_CALLER */
    }
    return ret(SBI_ERR_NOT_SUPPORTED, 0);
}

/* see tsm.h */
void tsm_wipe(struct tsm *t)
{
    for (size_t i = 0; i < TSM_MAX_DEVICES; i++) {
        spdm_requester_wipe(&t->devs[i].spdm);
    }
    wipe(t, sizeof(*t));
}
