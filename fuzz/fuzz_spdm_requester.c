/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: responses into the requester's parse calls.
 *
 * The requester runs the whole flow against the real responder (VCA,
 * digests, certificate, challenge, measurements, KEY_EXCHANGE, FINISH,
 * heartbeat, key update, vendor defined, END_SESSION); the first input byte
 * picks the step (mod 14) whose response comes from the input instead,
 * sealed with the session's response keys for in-session steps, so every
 * parser sees hostile bytes in the state it expects. A parse must return a
 * known status, and a forged
 * KEY_EXCHANGE_RSP (over a fresh ephemeral key) must fail.
 */
#include "spdm/spdm_priv.h"
#include "spdm_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct spdm_responder r;
static struct spdm_requester q;
static uint8_t req[SPDM_RECORD_MAX], rsp[SPDM_RECORD_MAX];

enum { N_STEPS = 14 };

static bool known(int rc)
{
    return rc <= 0 && rc >= SPDM_ERR_TRANSCRIPT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len, rlen;
    int step, rc = SPDM_OK;
    uint32_t sid = 0;
    bool done = false;
    struct spdm_digests dg;
    struct spdm_challenge_result ch;
    struct spdm_meas_result mr;
    uint8_t v[64];
    size_t vlen;
    static const uint8_t vid[2] = {1, 0};

    fx_init();
    if (size < 1) {
        return 0;
    }
    step = data[0] % N_STEPS;
    data++;
    size--;
    if (size > SPDM_MSG_MAX) {
        return 0;
    }
    memcpy(&r, &fx_rsp_template, sizeof(r));
    memcpy(&q, &fx_req_template, sizeof(q));
    fx_counter = 0;

    for (int i = 0; i <= step && rc == SPDM_OK; i++) {
        bool secured = i >= 8;
        switch (i) {
        case 0:
            rc = spdm_req_get_version_build(&q, req, sizeof(req), &len);
            break;
        case 1:
            rc = spdm_req_get_capabilities_build(&q, req, sizeof(req), &len);
            break;
        case 2:
            rc =
                spdm_req_negotiate_algorithms_build(&q, req, sizeof(req), &len);
            break;
        case 3:
            rc = spdm_req_get_digests_build(&q, 0, req, sizeof(req), &len);
            break;
        case 4:
            rc = spdm_req_get_certificate_build(&q, 0, 0, req, sizeof(req),
                                                &len);
            break;
        case 5:
            rc = spdm_req_challenge_build(&q, 0, SPDM_MEAS_SUMMARY_ALL, req,
                                          sizeof(req), &len);
            break;
        case 6:
            rc = spdm_req_get_measurements_build(&q, 0, SPDM_MEAS_OP_ALL, true,
                                                 false, 0, req, sizeof(req),
                                                 &len);
            break;
        case 7:
            rc = spdm_req_key_exchange_build(&q, 0, 0, req, sizeof(req), &len);
            break;
        case 8:
            rc = spdm_req_finish_build(&q, sid, req, sizeof(req), &len);
            break;
        case 9:
            rc = spdm_req_heartbeat_build(&q, sid, req, sizeof(req), &len);
            break;
        case 10:
            rc = spdm_req_key_update_build(&q, sid, SPDM_KEY_UPDATE_ALL_KEYS, 1,
                                           req, sizeof(req), &len);
            break;
        case 11:
            rc = spdm_req_get_measurements_build(&q, sid, 1, true, true, 0, req,
                                                 sizeof(req), &len);
            break;
        case 12:
            rc = spdm_req_vendor_defined_build(&q, sid, SPDM_STANDARD_ID_PCISIG,
                                               vid, 2, vid, 2, req, sizeof(req),
                                               &len);
            break;
        default:
            rc = spdm_req_end_session_build(&q, sid, req, sizeof(req), &len);
            break;
        }
        CHECK(rc == SPDM_OK);
        if (i == step) {
            if (secured) {
                struct spdm_session *s = spdm_session_find(&r.c, sid);
                /* the responder's state is what seals; advance it as the
                 * real response would have */
                CHECK(s != NULL);
                CHECK(spdm_rec_seal(&r.c, s, &s->rsp, data, size, rsp,
                                    sizeof(rsp), &rlen) == SPDM_OK);
            } else {
                memcpy(rsp, data, size);
                rlen = size;
            }
        } else {
            CHECK(spdm_responder_handle(&r, secured, req, len, rsp, sizeof(rsp),
                                        &rlen) == SPDM_OK);
        }
        switch (i) {
        case 0:
            rc = spdm_req_get_version_parse(&q, rsp, rlen);
            break;
        case 1:
            rc = spdm_req_get_capabilities_parse(&q, rsp, rlen, NULL);
            break;
        case 2:
            rc = spdm_req_negotiate_algorithms_parse(&q, rsp, rlen);
            break;
        case 3:
            rc = spdm_req_get_digests_parse(&q, 0, rsp, rlen, &dg);
            break;
        case 4:
            rc = spdm_req_get_certificate_parse(&q, 0, rsp, rlen, &done);
            /* fetch the rest from the responder */
            while (rc == SPDM_OK && !done) {
                CHECK(spdm_req_get_certificate_build(&q, 0, 0, req, sizeof(req),
                                                     &len) == SPDM_OK);
                CHECK(spdm_responder_handle(&r, false, req, len, rsp,
                                            sizeof(rsp), &rlen) == SPDM_OK);
                rc = spdm_req_get_certificate_parse(&q, 0, rsp, rlen, &done);
            }
            break;
        case 5:
            rc = spdm_req_challenge_parse(&q, rsp, rlen, &ch);
            break;
        case 6:
            rc = spdm_req_get_measurements_parse(&q, 0, rsp, rlen, &mr);
            break;
        case 7:
            rc = spdm_req_key_exchange_parse(&q, rsp, rlen, &sid);
            /* the ephemeral key is fresh: no input can carry its TH1 */
            CHECK(i != step || rc != SPDM_OK);
            break;
        case 8:
            rc = spdm_req_finish_parse(&q, sid, rsp, rlen);
            break;
        case 9:
            rc = spdm_req_heartbeat_parse(&q, sid, rsp, rlen);
            break;
        case 10:
            rc = spdm_req_key_update_parse(&q, sid, rsp, rlen);
            if (rc == SPDM_OK && i == step) {
                /* the responder never sent its ACK: stop here */
                return 0;
            }
            break;
        case 11:
            rc = spdm_req_get_measurements_parse(&q, sid, rsp, rlen, &mr);
            break;
        case 12:
            rc = spdm_req_vendor_defined_parse(&q, sid, rsp, rlen, v, sizeof(v),
                                               &vlen);
            break;
        default:
            rc = spdm_req_end_session_parse(&q, sid, rsp, rlen);
            break;
        }
        CHECK(known(rc));
        CHECK(i == step || rc == SPDM_OK);
    }
    return 0;
}
