/* SPDX-License-Identifier: MIT */
/*
 * PCI-SIG vendor-defined dispatch; see pcisig.h.
 */
#include "tdisp/pcisig.h"

#include "common/bytes.h"

/* see pcisig.h */
int pcisig_handle(struct tdisp *t, struct idekm *k, uint32_t session_id,
                  bool in_session, uint16_t standard_id,
                  const uint8_t *vendor_id, size_t vendor_id_len,
                  const uint8_t *req, size_t req_len, uint8_t *rsp,
                  size_t rsp_cap, size_t *rsp_len)
{
    size_t n = 0;
    int rc;

    *rsp_len = 0;
    if (standard_id != PCISIG_STANDARD_ID || vendor_id_len != 2 ||
        load_le16(vendor_id) != PCISIG_VENDOR_ID || req_len < 1) {
        return PCISIG_UNSUPPORTED;
    }
    if (rsp_cap < 1) {
        return PCISIG_REFUSED;
    }
    switch (req[0]) {
    case PCISIG_PROTO_TDISP:
        rc = tdisp_handle(t, session_id, in_session, req + 1, req_len - 1,
                          rsp + 1, rsp_cap - 1, &n);
        if (rc != TDISP_OK) {
            return PCISIG_REFUSED;
        }
        break;
    case PCISIG_PROTO_IDEKM:
        rc = idekm_handle(k, session_id, in_session, req + 1, req_len - 1,
                          rsp + 1, rsp_cap - 1, &n);
        if (rc != IDEKM_OK) {
            return PCISIG_REFUSED;
        }
        break;
    default:
        return PCISIG_UNSUPPORTED;
    }
    rsp[0] = req[0];
    *rsp_len = n + 1;
    return PCISIG_OK;
}
