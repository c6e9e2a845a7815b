/* SPDX-License-Identifier: MIT */
/*
 * The device glue: socket commands (TEST, SHUTDOWN, unknown ones, another
 * transport), DOE discovery, SPDM inside DOE objects with their padding,
 * objects the device does not answer, a session reset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "dsm/dsm.h"
#include "pki/devid.h"

static struct dsm d;
static struct devid id;
static uint8_t out[DSM_SOCK_MAX];
static char dir[64];

static int setup(void **state)
{
    struct dsm_config cfg;
    static const uint8_t v[] = "fw-1.0";
    static struct spdm_meas_config m;
    char err[256];

    (void)state;
    assert_int_equal(crypto_init(), 0);
    snprintf(dir, sizeof(dir), "/tmp/tv-dsm-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(devid_init_dir(dir, "unit", err, sizeof(err)), 0);
    assert_int_equal(devid_open(&id, dir, err, sizeof(err)), 0);
    memset(&cfg, 0, sizeof(cfg));
    m = (struct spdm_meas_config){1, SPDM_MEAS_TYPE_FW_VERSION, false, v, 6};
    cfg.key = id.key;
    cfg.chain = id.chain;
    cfg.chain_len = id.chain_len;
    cfg.meas = &m;
    cfg.n_meas = 1;
    cfg.tdisp.tdis[0].valid = true;
    cfg.tdisp.n_tdis = 1;
    assert_int_equal(dsm_init(&d, &cfg, err, sizeof(err)), 0);
    return 0;
}

static int teardown(void **state)
{
    static const char *const f[] = {"ca.pem",     "ca.der",     "ca.key",
                                    "device.pem", "device.der", "device.key"};
    char p[128];
    size_t i;

    (void)state;
    dsm_wipe(&d);
    devid_close(&id);
    for (i = 0; i < 6; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, f[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static enum dsm_verdict msg(uint32_t cmd, uint32_t trans, const uint8_t *p,
                            size_t len, size_t *out_len, struct sock_header *h)
{
    struct sock_header in = {cmd, trans, (uint32_t)len};
    enum dsm_verdict v =
        dsm_socket_message(&d, &in, p, out, sizeof(out), out_len);

    if (*out_len >= SOCK_HEADER_SIZE) {
        sock_parse_header(out, h);
        assert_int_equal(h->payload_len, *out_len - SOCK_HEADER_SIZE);
    }
    return v;
}

static void socket_commands(void **state)
{
    struct sock_header h;
    size_t n;

    (void)state;
    assert_int_equal(msg(SOCK_CMD_TEST, SOCK_TRANS_PCI_DOE,
                         (const uint8_t *)"Client Hello!", 14, &n, &h),
                     DSM_REPLY);
    assert_int_equal(h.command, SOCK_CMD_TEST);
    assert_int_equal(h.transport, SOCK_TRANS_PCI_DOE);
    assert_memory_equal(out + SOCK_HEADER_SIZE, "Server Hello!", 14);
    assert_int_equal(
        msg(SOCK_CMD_SHUTDOWN, SOCK_TRANS_PCI_DOE, NULL, 0, &n, &h),
        DSM_REPLY_CLOSE);
    assert_int_equal(h.command, SOCK_CMD_SHUTDOWN);
    assert_int_equal(h.payload_len, 0);
    assert_int_equal(msg(0x1234, SOCK_TRANS_PCI_DOE, NULL, 0, &n, &h),
                     DSM_REPLY);
    assert_int_equal(h.command, SOCK_CMD_UNKNOWN);
    assert_int_equal(msg(SOCK_CMD_NORMAL, SOCK_TRANS_MCTP,
                         (const uint8_t *)"\x05\x10\x84\x00", 4, &n, &h),
                     DSM_REPLY);
    assert_int_equal(h.command, SOCK_CMD_UNKNOWN);
    /* a buffer under DSM_SOCK_MAX is an internal error, not a crash */
    {
        struct sock_header in = {SOCK_CMD_TEST, 2, 0};
        assert_int_equal(dsm_socket_message(&d, &in, NULL, out, 100, &n),
                         DSM_INTERNAL);
    }
}

static void discovery_and_unanswered(void **state)
{
    uint8_t obj[64];
    struct sock_header h;
    struct doe_object o;
    size_t n, len;

    (void)state;
    len = doe_build(DOE_VENDOR_PCISIG, DOE_TYPE_DISCOVERY,
                    (const uint8_t *)"\x01\x00\x00\x00", 4, obj, sizeof(obj));
    assert_int_equal(msg(SOCK_CMD_NORMAL, SOCK_TRANS_PCI_DOE, obj, len, &n, &h),
                     DSM_REPLY);
    assert_int_equal(doe_parse(out + SOCK_HEADER_SIZE, h.payload_len, &o),
                     DOE_OK);
    assert_int_equal(o.payload[2], DOE_TYPE_SPDM);
    assert_int_equal(o.payload[3], 2);
    /* another vendor, an unknown type, bad framing: empty NORMAL replies */
    len = doe_build(0x1234, DOE_TYPE_SPDM, (const uint8_t *)"\x12\x84\0\0", 4,
                    obj, sizeof(obj));
    assert_int_equal(msg(SOCK_CMD_NORMAL, SOCK_TRANS_PCI_DOE, obj, len, &n, &h),
                     DSM_REPLY);
    assert_int_equal(h.command, SOCK_CMD_NORMAL);
    assert_int_equal(h.payload_len, 0);
    len = doe_build(DOE_VENDOR_PCISIG, 7, (const uint8_t *)"abcd", 4, obj,
                    sizeof(obj));
    assert_int_equal(msg(SOCK_CMD_NORMAL, SOCK_TRANS_PCI_DOE, obj, len, &n, &h),
                     DSM_REPLY);
    assert_int_equal(h.payload_len, 0);
    assert_int_equal(
        msg(SOCK_CMD_NORMAL, SOCK_TRANS_PCI_DOE, obj, len - 1, &n, &h),
        DSM_REPLY);
    assert_int_equal(h.payload_len, 0);
}

static void spdm_in_doe(void **state)
{
    /* GET_VERSION, 4 bytes: one dword, no padding; then again padded by a
     * trailing dword of zeros as a DOE object may be */
    static const uint8_t get_version[4] = {0x10, 0x84, 0x00, 0x00};
    uint8_t obj[64];
    struct sock_header h;
    struct doe_object o;
    size_t n, len;

    (void)state;
    len = doe_build(DOE_VENDOR_PCISIG, DOE_TYPE_SPDM, get_version, 4, obj,
                    sizeof(obj));
    assert_int_equal(msg(SOCK_CMD_NORMAL, SOCK_TRANS_PCI_DOE, obj, len, &n, &h),
                     DSM_REPLY);
    assert_int_equal(doe_parse(out + SOCK_HEADER_SIZE, h.payload_len, &o),
                     DOE_OK);
    assert_int_equal(o.type, DOE_TYPE_SPDM);
    assert_int_equal(o.payload[1], SPDM_VERSION);
    assert_true(d.connected);
    assert_int_equal(spdm_responder_state(&d.spdm), SPDM_CONN_AFTER_VERSION);
    dsm_reset(&d);
    assert_false(d.connected);
    assert_int_equal(spdm_responder_state(&d.spdm), SPDM_CONN_NONE);
    /* a secured record for no session: a plain ERROR, in a CMA object */
    {
        uint8_t rec[32];
        memset(rec, 0, sizeof(rec));
        store_le32(rec, 0xdeadbeef);
        store_le16(rec + 4, 20);
        len = doe_build(DOE_VENDOR_PCISIG, DOE_TYPE_SECURED, rec, 26, obj,
                        sizeof(obj));
        assert_int_equal(
            msg(SOCK_CMD_NORMAL, SOCK_TRANS_PCI_DOE, obj, len, &n, &h),
            DSM_REPLY);
        assert_int_equal(doe_parse(out + SOCK_HEADER_SIZE, h.payload_len, &o),
                         DOE_OK);
        assert_int_equal(o.type, DOE_TYPE_SPDM);
        assert_int_equal(o.payload[1], SPDM_ERROR);
    }
}

/* The connection drops: every IDE key is wiped, the slots as dsm_init()
 * left them (bus, devfn, segment kept for QUERY_RESP). */
static void reset_wipes_ide_keys(void **state)
{
    uint8_t req[IDEKM_KEY_PROG_SIZE], rsp[IDEKM_QUERY_RSP_SIZE];
    uint8_t key[IDEKM_KEY_SIZE], ifv[IDEKM_IFV_SIZE];
    struct idekm fresh;
    size_t rl, i;

    (void)state;
    memset(key, 0x5a, sizeof(key));
    memset(ifv, 0xa5, sizeof(ifv));
    idekm_init(&fresh, d.idekm.bus, d.idekm.devfn, d.idekm.segment);
    assert_memory_equal(&d.idekm, &fresh, sizeof(fresh));
    for (i = 0; i < 2; i++) {
        assert_int_equal(idekm_build_key_prog((uint8_t)(3 + i), 0, 0, key, ifv,
                                              req, sizeof(req)),
                         sizeof(req));
        assert_int_equal(idekm_handle(&d.idekm, 0xfffe0001u + (uint32_t)i, true,
                                      req, sizeof(req), rsp, sizeof(rsp), &rl),
                         IDEKM_OK);
        assert_int_equal(rsp[4], IDEKM_KP_SUCCESS);
    }
    assert_int_equal(idekm_slot_state(&d.idekm, 4, 0), IDEKM_PROGRAMMED);
    assert_memory_equal(d.idekm.streams[1].slot[0][0][0].key, key, sizeof(key));
    dsm_reset(&d);
    assert_memory_equal(&d.idekm, &fresh, sizeof(fresh));
    assert_int_equal(idekm_slot_state(&d.idekm, 3, 0), IDEKM_EMPTY);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(socket_commands, setup, teardown),
    cmocka_unit_test_setup_teardown(discovery_and_unanswered, setup, teardown),
    cmocka_unit_test_setup_teardown(spdm_in_doe, setup, teardown),
    cmocka_unit_test_setup_teardown(reset_wipes_ide_keys, setup, teardown),
};

HARNESS_MAIN("dsm", tests)
