/* SPDX-License-Identifier: MIT */
/*
 * The TDISP requester library under the `tdisp` tool: drives a device's
 * SPDM, TDISP and IDE_KM responders through the src/spdm requester step API
 * over a transport that moves DOE data objects.
 *
 * Transports: the SPDM socket protocol on 127.0.0.1 (tdispc_sock_open, for a
 * trustvio-dsm or any spdm-emu compatible responder on the host), and a
 * PCI DOE mailbox through /sys/bus/pci/devices/BDF/config (tdispc_doe_open,
 * inside a guest).
 *
 * Every function returns 0 or -1; on -1, tdispc_error() is one line saying
 * what failed (an SPDM ERROR code, a TDISP error name, a bad signature, a
 * chain under another root, a transport failure). Programs only: not a core
 * library (it allocates nothing itself, but the transports do I/O).
 */
#ifndef TV_TDISPC_TDISPC_H
#define TV_TDISPC_TDISPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doe/doe.h"
#include "spdm/spdm.h"
#include "tdisp/tdisp.h"

/**
 * struct tdispc_transport - move one DOE object to the device and its answer
 * back. @xfer sends @req (@req_len bytes, a whole DOE object) and receives
 * the response object into @rsp (capacity @cap). Return 0 or -1 (with a
 * reason in @err, @err_len bytes).
 */
struct tdispc_transport {
    int (*xfer)(void *ctx, const uint8_t *req, size_t req_len, uint8_t *rsp,
                size_t cap, size_t *rsp_len, char *err, size_t err_len);
    void (*close)(void *ctx);
    void *ctx;
};

/** tdispc_sock_open() - connect to 127.0.0.1:@port, send TEST. */
int tdispc_sock_open(struct tdispc_transport *t, unsigned port, char *err,
                     size_t err_len);

/**
 * tdispc_doe_open() - find the DOE capability (extended capability 0x2E) of
 * PCI function @bdf ("0000:00:04.0") through its sysfs config file and check
 * by discovery that it offers CMA/SPDM and Secured CMA/SPDM.
 */
int tdispc_doe_open(struct tdispc_transport *t, const char *bdf, char *err,
                    size_t err_len);

/** struct tdispc - one requester; large, keep it static. */
struct tdispc {
    struct spdm_requester q;
    struct tdispc_transport t;
    uint32_t session; /* SPDM_NO_SESSION until tdispc_session() */
    bool negotiated;
    bool authenticated;
    uint8_t tx[DOE_MAX_OBJECT_SIZE];
    uint8_t rx[DOE_MAX_OBJECT_SIZE];
    uint8_t msg[SPDM_RECORD_MAX];
    char err[512];
};

const char *tdispc_error(const struct tdispc *c);

/** tdispc_init() - a requester over @t (taken over: closed by tdispc_close). */
int tdispc_init(struct tdispc *c, const struct tdispc_transport *t);

/** tdispc_vca() - GET_VERSION, GET_CAPABILITIES, NEGOTIATE_ALGORITHMS. */
int tdispc_vca(struct tdispc *c);

/**
 * tdispc_authenticate() - GET_DIGESTS, GET_CERTIFICATE (slot 0, in
 * portions), verify the chain: its first certificate must be @root (DER)
 * or be issued under it, and OpenSSL's verifier must accept the leaf with
 * @root as the only anchor; then CHALLENGE (signature over M1/M2 checked
 * by the engine with the leaf key).
 */
int tdispc_authenticate(struct tdispc *c, const uint8_t *root, size_t root_len);

/** tdispc_chain() - the DER chain read by tdispc_authenticate(). */
int tdispc_chain(const struct tdispc *c, const uint8_t **der, size_t *len);

/** tdispc_measurements() - all blocks, signed when authenticated. */
int tdispc_measurements(struct tdispc *c, struct spdm_meas_result *res);

/** tdispc_session() - KEY_EXCHANGE + FINISH. */
int tdispc_session(struct tdispc *c);

/** tdispc_heartbeat() / tdispc_key_update() - in the session. */
int tdispc_heartbeat(struct tdispc *c);
int tdispc_key_update(struct tdispc *c);

/**
 * tdispc_tdisp() - one TDISP request (see tdisp_build_request for @arg),
 * inside the session, or outside it when @plain. @buf (TDISP_MSG_MAX) holds
 * the response @r points into. A TDISP_ERROR response is a success here:
 * the caller looks at @r->code.
 */
int tdispc_tdisp(struct tdispc *c, bool plain, uint8_t code, uint32_t fid,
                 const void *arg, uint8_t *buf, struct tdisp_rsp *r);

/**
 * tdispc_report() - the whole interface report in portions into @out
 * (capacity TDISP_REPORT_MAX). A TDISP_ERROR is a failure here, named in
 * tdispc_error().
 */
int tdispc_report(struct tdispc *c, uint32_t fid, uint8_t *out, size_t *len);

/** tdispc_close() - END_SESSION when one is open, SHUTDOWN, close. */
void tdispc_close(struct tdispc *c);

#endif
