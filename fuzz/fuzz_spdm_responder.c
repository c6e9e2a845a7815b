/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: requests into spdm_responder_handle().
 *
 * The first byte picks a start: bit 0 runs VCA first (so post-negotiation
 * handlers are reachable), bit 1 also reads the chain and opens a session
 * with the engine's requester, after which every message is sealed with the
 * session's keys before it is fed (so in-session handlers are reachable).
 * The rest is up to eight requests separated by "SPD|". Every response must
 * be a bounded, well-formed SPDM message or a record of the right session.
 */
#include "spdm_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct spdm_responder r;
static struct spdm_requester q;
static uint8_t out[SPDM_RECORD_MAX], msg_buf[SPDM_RECORD_MAX];

/* One exchange in the clear between the requester and the responder. */
#define XCHG(build, parse)                                                     \
    do {                                                                       \
        size_t l_, o_;                                                         \
        CHECK((build) == SPDM_OK);                                             \
        l_ = len;                                                              \
        CHECK(spdm_responder_handle(&r, secured, msg_buf, l_, out,             \
                                    sizeof(out), &o_) == SPDM_OK);             \
        olen = o_;                                                             \
        CHECK((parse) == SPDM_OK);                                             \
    } while (0)

static uint32_t open_session(void)
{
    size_t len, olen;
    bool secured = false, done = false;
    uint32_t sid = 0;
    struct spdm_digests dg;

    XCHG(spdm_req_get_version_build(&q, msg_buf, sizeof(msg_buf), &len),
         spdm_req_get_version_parse(&q, out, olen));
    XCHG(spdm_req_get_capabilities_build(&q, msg_buf, sizeof(msg_buf), &len),
         spdm_req_get_capabilities_parse(&q, out, olen, NULL));
    XCHG(
        spdm_req_negotiate_algorithms_build(&q, msg_buf, sizeof(msg_buf), &len),
        spdm_req_negotiate_algorithms_parse(&q, out, olen));
    XCHG(spdm_req_get_digests_build(&q, 0, msg_buf, sizeof(msg_buf), &len),
         spdm_req_get_digests_parse(&q, 0, out, olen, &dg));
    while (!done) {
        XCHG(spdm_req_get_certificate_build(&q, 0, 0, msg_buf, sizeof(msg_buf),
                                            &len),
             spdm_req_get_certificate_parse(&q, 0, out, olen, &done));
    }
    XCHG(spdm_req_key_exchange_build(&q, 0, 0, msg_buf, sizeof(msg_buf), &len),
         spdm_req_key_exchange_parse(&q, out, olen, &sid));
    secured = true;
    XCHG(spdm_req_finish_build(&q, sid, msg_buf, sizeof(msg_buf), &len),
         spdm_req_finish_parse(&q, sid, out, olen));
    return sid;
}

static void check_plain(const uint8_t *p, size_t len)
{
    CHECK(len >= 4 && len <= SPDM_MSG_MAX);
    CHECK(p[0] == SPDM_VERSION_10 || p[0] == SPDM_VERSION_12);
    CHECK(p[1] < 0x80);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *m;
    size_t m_len, olen;
    uint32_t sid = 0;
    uint8_t mode;
    int n = 0;

    fx_init();
    if (size < 1) {
        return 0;
    }
    mode = data[0];
    data++;
    size--;
    memcpy(&r, &fx_rsp_template, sizeof(r));
    memcpy(&q, &fx_req_template, sizeof(q));
    fx_counter = 0;
    if (mode & 2) {
        sid = open_session();
    } else if (mode & 1) {
        static const uint8_t vca[3][48] = {
            {0x10, 0x84},
            {0x12, 0xe1, 0, 0, 0, 10, 0, 0, 0xc6, 0x62, 0, 0, 0, 0x10, 0, 0, 0,
             0x10},
            {0x12, 0xe3, 4, 0, 48, 0,    1,    2, 0x80, 0,    0,    0,
             2,    0,    0, 0, 0,  0,    0,    0, 0,    0,    0,    0,
             0,    0,    0, 0, 0,  0,    0,    0, 2,    0x20, 0x10, 0,
             3,    0x20, 2, 0, 4,  0x20, 0x80, 0, 5,    0x20, 1,    0}};
        static const size_t vca_len[3] = {4, 20, 48};
        for (int i = 0; i < 3; i++) {
            CHECK(spdm_responder_handle(&r, false, vca[i], vca_len[i], out,
                                        sizeof(out), &olen) == SPDM_OK);
            CHECK(out[1] != SPDM_ERROR);
        }
    }
    while (n++ < 8 && fx_next(&data, &size, &m, &m_len)) {
        /* mode 8: 12 s between messages, so a quiet session's heartbeat
         * (twice 10 s) expires mid-input */
        if (mode & 8) {
            (void)spdm_responder_tick(&r, (uint64_t)n * 12000);
        }
        bool secured = sid != 0 && spdm_req_session_state(&q, sid) ==
                                       SPDM_SESSION_ESTABLISHED;
        const uint8_t *in = m;
        size_t in_len = m_len;
        /*
         * A KEY_UPDATE sealed here bypasses the requester's own key-update
         * step, so after UpdateAllKeys the requester cannot follow the
         * responder's new response key: stop the session view after it.
         */
        bool key_update = secured && m_len >= 2 && m[1] == SPDM_KEY_UPDATE;

        if (secured) {
            if (m_len > SPDM_MSG_MAX ||
                spdm_req_seal(&q, sid, m, m_len, msg_buf, sizeof(msg_buf),
                              &in_len) != SPDM_OK) {
                continue;
            }
            in = msg_buf;
        } else if (mode & 4) {
            /* raw bytes as a secured record: the record parser's inputs */
            secured = true;
        }
        CHECK(spdm_responder_handle(&r, secured, in, in_len, out, sizeof(out),
                                    &olen) == SPDM_OK);
        if (spdm_responder_out_secured(&r)) {
            uint8_t plain[SPDM_MSG_MAX];
            size_t plain_len;
            CHECK(sid != 0);
            if (key_update) {
                sid = 0;
                continue;
            }
            CHECK(spdm_req_open(&q, sid, out, olen, plain, sizeof(plain),
                                &plain_len) == SPDM_OK);
            check_plain(plain, plain_len);
            if (plain[1] == SPDM_KEY_UPDATE_ACK ||
                plain[1] == SPDM_END_SESSION_ACK) {
                /* keys moved or the session ended: stop sealing */
                sid = 0;
            }
        } else {
            check_plain(out, olen);
            if (secured && sid != 0 && out[1] == SPDM_ERROR) {
                sid = 0;
            }
        }
    }
    return 0;
}
