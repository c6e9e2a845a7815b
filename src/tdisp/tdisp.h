/* SPDX-License-Identifier: MIT */
/*
 * TDISP (PCIe 6.x §11, TEE Device Interface Security Protocol), sans I/O.
 *
 * The responder keeps one state machine per TDI (TEE Device Interface):
 *
 *   CONFIG_UNLOCKED --LOCK_INTERFACE--> CONFIG_LOCKED --START_INTERFACE--> RUN
 *        ^                                   |                              |
 *        +------------- STOP_INTERFACE ------+------------------------------+
 *   any state --configuration change while locked / session ends--> ERROR
 *   ERROR --STOP_INTERFACE--> CONFIG_UNLOCKED
 *
 * tdisp_handle() takes one TDISP message (the bytes after the PCI-SIG
 * protocol id of an SPDM VENDOR_DEFINED_REQUEST) and writes one response:
 * the message's response or TDISP_ERROR. Refusals are data; a non-zero
 * return only means @rsp_cap is too small for even an error (below
 * TDISP_ERROR_RSP_SIZE). The model never allocates, never does I/O and holds
 * no pointers except its ops table, so a struct tdisp may be copied.
 *
 * Wire rules enforced (every refusal is a TDISP_ERROR, the state unchanged
 * unless stated):
 *  - a message outside a secure SPDM session: INVALID_REQUEST, for every
 *    message including GET_TDISP_VERSION;
 *  - fewer than 16 bytes, or a length other than the message's exact size:
 *    INVALID_REQUEST (error_data 0);
 *  - header version other than 0x10: VERSION_MISMATCH;
 *  - a function id naming no TDI, or a non-zero interface-id reserved field:
 *    INVALID_INTERFACE;
 *  - a request code this responder does not implement (VDM, codes outside
 *    0x81..0x8B, any response code): UNSUPPORTED_REQUEST;
 *  - LOCK_INTERFACE outside CONFIG_UNLOCKED, START_INTERFACE outside
 *    CONFIG_LOCKED, GET_DEVICE_INTERFACE_REPORT outside CONFIG_LOCKED/RUN,
 *    BIND/UNBIND_P2P_STREAM and SET_MMIO_ATTRIBUTE outside RUN:
 *    INVALID_INTERFACE_STATE;
 *  - LOCK_INTERFACE with a flag not in lock_flags_supported, or a
 *    mmio_reporting_offset that makes a range wrap: INVALID_REQUEST; the
 *    TDI's configuration marked invalid: INVALID_DEVICE_CONFIGURATION; the
 *    random source failing: INSUFFICIENT_ENTROPY;
 *  - START_INTERFACE for a TDI locked under another session:
 *    INVALID_REQUEST (a TDI belongs to the session that locked it);
 *  - START_INTERFACE whose nonce differs from the one LOCK_INTERFACE
 *    returned: INVALID_NONCE (compared in constant time, TDI stays locked);
 *    the nonce is single use and wiped once START succeeds;
 *  - GET_DEVICE_INTERFACE_REPORT with offset beyond the report or length 0:
 *    INVALID_REQUEST; otherwise the portion is min(length, remainder,
 *    what fits in @rsp_cap);
 *  - BIND_P2P_STREAM without the BIND_P2P lock flag, a stream already bound
 *    or no free binding; UNBIND of an unbound stream; SET_MMIO_ATTRIBUTE for
 *    a range id not reported, different pages, or a range not marked
 *    IS_MEM_ATTR_UPDATABLE, or changing a bit other than IS_NON_TEE_MEM:
 *    INVALID_REQUEST.
 * STOP_INTERFACE is accepted in every state and returns the TDI to
 * CONFIG_UNLOCKED, wiping its nonce and P2P bindings.
 *
 * The interface report: interface_info, reserved, MSI-X message control,
 * LNR control, TPH control, the MMIO ranges (byte address of the first 4 KiB
 * page plus the LOCK's mmio_reporting_offset, page count, attributes, range
 * id), the device-specific data. Fields little-endian as everywhere in PCIe.
 *
 * Concurrency: one struct tdisp is used by one thread at a time.
 */
#ifndef TV_TDISP_TDISP_H
#define TV_TDISP_TDISP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/caps.h"

/* Message codes (PCIe 6.1 Table 11-4). */
#define TDISP_VERSION_10 0x10

#define TDISP_GET_VERSION                 0x81
#define TDISP_GET_CAPABILITIES            0x82
#define TDISP_LOCK_INTERFACE              0x83
#define TDISP_GET_DEVICE_INTERFACE_REPORT 0x84
#define TDISP_GET_DEVICE_INTERFACE_STATE  0x85
#define TDISP_START_INTERFACE             0x86
#define TDISP_STOP_INTERFACE              0x87
#define TDISP_BIND_P2P_STREAM             0x88
#define TDISP_UNBIND_P2P_STREAM           0x89
#define TDISP_SET_MMIO_ATTRIBUTE          0x8A
#define TDISP_VDM                         0x8B
#define TDISP_RSP(req)                    ((uint8_t)((req)-0x80))
#define TDISP_ERROR                       0x7F

/* TDISP_ERROR codes. */
#define TDISP_ERR_INVALID_REQUEST              0x0001
#define TDISP_ERR_BUSY                         0x0003
#define TDISP_ERR_INVALID_INTERFACE_STATE      0x0004
#define TDISP_ERR_UNSPECIFIED                  0x0005
#define TDISP_ERR_UNSUPPORTED_REQUEST          0x0007
#define TDISP_ERR_VERSION_MISMATCH             0x0041
#define TDISP_ERR_VENDOR_SPECIFIC              0x00FF
#define TDISP_ERR_INVALID_INTERFACE            0x0101
#define TDISP_ERR_INVALID_NONCE                0x0102
#define TDISP_ERR_INSUFFICIENT_ENTROPY         0x0103
#define TDISP_ERR_INVALID_DEVICE_CONFIGURATION 0x0104

/* LOCK_INTERFACE flags. */
#define TDISP_LOCK_NO_FW_UPDATE          0x0001
#define TDISP_LOCK_SYSTEM_CACHE_LINE_128 0x0002
#define TDISP_LOCK_LOCK_MSIX             0x0004
#define TDISP_LOCK_BIND_P2P              0x0008
#define TDISP_LOCK_ALL_REQUEST_REDIRECT  0x0010

/* MMIO range attributes. */
#define TDISP_RANGE_MSIX_TABLE         0x0001
#define TDISP_RANGE_MSIX_PBA           0x0002
#define TDISP_RANGE_NON_TEE_MEM        0x0004
#define TDISP_RANGE_MEM_ATTR_UPDATABLE 0x0008

/* interface_info bits of the report. */
#define TDISP_INFO_NO_UPDATE_AFTER_LOCK 0x0001
#define TDISP_INFO_DMA_WITHOUT_PASID    0x0002
#define TDISP_INFO_DMA_WITH_PASID       0x0004
#define TDISP_INFO_ATS                  0x0008
#define TDISP_INFO_PRS                  0x0010

/* Sizes, bytes. */
#define TDISP_HEADER_SIZE    16
#define TDISP_NONCE_SIZE     32
#define TDISP_RANGE_SIZE     16
#define TDISP_ERROR_RSP_SIZE (TDISP_HEADER_SIZE + 8)
#define TDISP_CAPS_RSP_SIZE  (TDISP_HEADER_SIZE + 28)
#define TDISP_LOCK_REQ_SIZE  (TDISP_HEADER_SIZE + 20)
#define TDISP_REPORT_FIXED   16 /* report bytes before the ranges */
#define TDISP_REPORT_MAX                                                       \
    (TDISP_REPORT_FIXED + TDISP_MAX_RANGES * TDISP_RANGE_SIZE + 4 +            \
     TDISP_DEVSPEC_MAX)
#define TDISP_MSG_MAX (TDISP_HEADER_SIZE + 4 + TDISP_REPORT_MAX)

/* Caps: TDIs per device, MMIO ranges per TDI, device data, P2P streams. */
#define TDISP_MAX_TDIS    8
#define TDISP_MAX_RANGES  8
#define TDISP_DEVSPEC_MAX 64
#define TDISP_MAX_P2P     4

enum tdisp_state {
    TDISP_CONFIG_UNLOCKED = 0,
    TDISP_CONFIG_LOCKED = 1,
    TDISP_RUN = 2,
    TDISP_STATE_ERROR = 3,
};

/**
 * struct tdisp_range - one MMIO range of a TDI, as the device decodes it.
 * @addr:     byte address, 4 KiB aligned
 * @n_pages:  4 KiB pages, at least 1
 * @attrs:    TDISP_RANGE_* bits
 * @range_id: the BAR (or other id) the range belongs to
 */
struct tdisp_range {
    uint64_t addr;
    uint32_t n_pages;
    uint16_t attrs;
    uint16_t range_id;
};

/**
 * struct tdisp_tdi_config - what the device's configuration says about a TDI.
 * @function_id:    TDISP function id (requester id, segment bits 23:16 and
 *                  segment-valid bit 24)
 * @interface_info: TDISP_INFO_* bits
 * @msix_ctl:       MSI-X message control register
 * @lnr_ctl:        LNR control register
 * @tph_ctl:        TPH control register
 * @ranges:         MMIO ranges, @n_ranges of them
 * @devspec:        device-specific report data, @devspec_len bytes
 * @valid:          false when the configuration cannot be locked (LOCK then
 *                  gives INVALID_DEVICE_CONFIGURATION)
 */
struct tdisp_tdi_config {
    uint32_t function_id;
    uint16_t interface_info;
    uint16_t msix_ctl;
    uint16_t lnr_ctl;
    uint32_t tph_ctl;
    struct tdisp_range ranges[TDISP_MAX_RANGES];
    size_t n_ranges;
    uint8_t devspec[TDISP_DEVSPEC_MAX];
    size_t devspec_len;
    bool valid;
};

/**
 * struct tdisp_ops - outside the model.
 * @random: fill @len bytes from a DRBG; 0, or -1 on failure
 */
struct tdisp_ops {
    int (*random)(void *ctx, uint8_t *buf, size_t len);
};

/**
 * struct tdisp_config - the device.
 * @tdis:                 the TDIs, @n_tdis of them (1..TDISP_MAX_TDIS),
 *                        function ids distinct
 * @lock_flags_supported: TDISP_LOCK_* flags LOCK_INTERFACE may set
 * @dev_addr_width:       device address width, bits (GET_CAPABILITIES)
 */
struct tdisp_config {
    struct tdisp_tdi_config tdis[TDISP_MAX_TDIS];
    size_t n_tdis;
    uint16_t lock_flags_supported;
    uint8_t dev_addr_width;
};

/* One TDI's state; opaque to callers. */
struct tdisp_tdi {
    struct tdisp_tdi_config cfg;
    enum tdisp_state state;
    uint32_t session_id; /* the session that locked it */
    uint16_t lock_flags;
    uint8_t default_stream_id;
    uint64_t mmio_offset;
    uint64_t p2p_mask;
    uint8_t nonce[TDISP_NONCE_SIZE];
    uint8_t p2p[TDISP_MAX_P2P];
    size_t n_p2p;
};

struct tdisp {
    struct tdisp_tdi tdis[TDISP_MAX_TDIS];
    size_t n_tdis;
    uint16_t lock_flags_supported;
    uint8_t dev_addr_width;
    const struct tdisp_ops *ops;
    void *ops_ctx;
};

#define TDISP_OK         0
#define TDISP_ERR_CONFIG (-1) /* bad configuration */
#define TDISP_ERR_RSP_CAP                                                      \
    (-2)                      /* response buffer below TDISP_ERROR_RSP_SIZE    \
                               */
#define TDISP_ERR_NO_TDI (-3) /* no TDI with that function id */

/**
 * tdisp_init() - set up a device whose TDIs all start CONFIG_UNLOCKED.
 * @ops, @ops_ctx must outlive @t. Does not allocate.
 * Return: TDISP_OK, or TDISP_ERR_CONFIG (no TDI, too many, duplicate
 * function ids, a range unaligned, empty, wrapping or over the caps).
 */
int tdisp_init(struct tdisp *t, const struct tdisp_config *cfg,
               const struct tdisp_ops *ops, void *ops_ctx);

/**
 * tdisp_handle() - answer one TDISP message.
 * @session_id: the SPDM session it arrived in (meaningful when @in_session)
 * @in_session: whether it arrived inside a secured session
 * @req:        the request, @req_len bytes, in private memory
 * @rsp:        the response, at most @rsp_cap bytes; *@rsp_len its size
 * Return: TDISP_OK (the response may be a TDISP_ERROR), or TDISP_ERR_RSP_CAP.
 */
int tdisp_handle(struct tdisp *t, uint32_t session_id, bool in_session,
                 const uint8_t *req, size_t req_len, uint8_t *rsp,
                 size_t rsp_cap, size_t *rsp_len);

/**
 * tdisp_config_change() - the TDI's configuration changed (a config-space
 * write, a BAR move, a firmware update). In CONFIG_UNLOCKED the new
 * configuration simply applies. In CONFIG_LOCKED or RUN the TDI goes to
 * ERROR — except a firmware update (@firmware true, @cfg NULL) with
 * NO_FW_UPDATE clear, which the lock permits. A new @cfg applies in every
 * state (no report is given in ERROR; the next LOCK after STOP reports
 * it). @cfg NULL means "changed, layout the same" (a firmware update, a
 * register write that moves nothing).
 * Return: the TDI's state afterwards, or TDISP_ERR_NO_TDI.
 */
int tdisp_config_change(struct tdisp *t, uint32_t function_id,
                        const struct tdisp_tdi_config *cfg, bool firmware);

/**
 * tdisp_session_ended() - the SPDM session @session_id ended: every TDI it
 * locked (CONFIG_LOCKED or RUN) goes to ERROR.
 */
void tdisp_session_ended(struct tdisp *t, uint32_t session_id);

/** tdisp_state() - a TDI's state, or TDISP_ERR_NO_TDI. */
int tdisp_state(const struct tdisp *t, uint32_t function_id);

/** tdisp_state_name() - "CONFIG_UNLOCKED", ..., or "?" */
const char *tdisp_state_name(int state);

/** tdisp_error_name() - "INVALID_NONCE", ..., or "?" */
const char *tdisp_error_name(uint32_t code);

/** tdisp_wipe() - wipe every nonce and the whole context. */
void tdisp_wipe(struct tdisp *t);

/*
 * Requester codec: build requests, parse responses. No state; the caller
 * (the tdisp tool, a TSM) keeps the nonce and the report portions.
 */

/**
 * struct tdisp_lock_params - LOCK_INTERFACE's parameters.
 */
struct tdisp_lock_params {
    uint16_t flags;
    uint8_t default_stream_id;
    uint64_t mmio_reporting_offset;
    uint64_t bind_p2p_address_mask;
};

/**
 * tdisp_build_request() - write a request of type @code for @function_id.
 * @arg: LOCK_INTERFACE: const struct tdisp_lock_params *; START_INTERFACE:
 *       the 32-byte nonce; GET_DEVICE_INTERFACE_REPORT: const uint16_t[2]
 *       {offset, length}; GET_CAPABILITIES: const uint32_t * tsm_caps (or
 *       NULL for 0); BIND/UNBIND_P2P_STREAM: const uint8_t * stream id;
 *       SET_MMIO_ATTRIBUTE: const struct tdisp_range *; otherwise unused.
 * Return: the request's size, or 0 for an unknown code or too small @cap.
 */
size_t tdisp_build_request(uint8_t code, uint32_t function_id, const void *arg,
                           uint8_t *out, size_t cap);

/**
 * struct tdisp_rsp - a parsed response. Pointers point into the parsed
 * buffer.
 */
struct tdisp_rsp {
    uint8_t code; /* response code, TDISP_ERROR for an error */
    uint32_t function_id;
    uint32_t error_code; /* TDISP_ERROR */
    uint32_t error_data;
    const uint8_t *versions; /* VERSION: @n_versions entries */
    size_t n_versions;
    uint32_t dsm_caps; /* CAPABILITIES */
    uint8_t req_msgs[16];
    uint16_t lock_flags_supported;
    uint8_t dev_addr_width, num_req_this, num_req_all;
    const uint8_t *nonce;   /* LOCK_INTERFACE_RESPONSE: 32 bytes */
    const uint8_t *portion; /* DEVICE_INTERFACE_REPORT */
    uint16_t portion_len, remainder_len;
    uint8_t state; /* DEVICE_INTERFACE_STATE */
};

#define TDISP_PARSE_OK         0
#define TDISP_PARSE_SHORT      (-1) /* shorter than its type requires */
#define TDISP_PARSE_LENGTH     (-2) /* longer, or lengths disagree */
#define TDISP_PARSE_VERSION    (-3) /* not version 0x10 */
#define TDISP_PARSE_UNEXPECTED (-4) /* neither @expect nor TDISP_ERROR */
#define TDISP_PARSE_INTERFACE  (-5) /* another function id */

/**
 * tdisp_parse_response() - check and decode a response to a request of type
 * @req_code for @function_id. A TDISP_ERROR response parses (code 0x7F).
 * Return: TDISP_PARSE_OK or one of the TDISP_PARSE_* errors.
 */
int tdisp_parse_response(uint8_t req_code, uint32_t function_id,
                         const uint8_t *in, size_t len, struct tdisp_rsp *out);

/**
 * struct tdisp_report - a whole interface report, decoded.
 */
struct tdisp_report {
    uint16_t interface_info;
    uint16_t msix_ctl;
    uint16_t lnr_ctl;
    uint32_t tph_ctl;
    struct tdisp_range ranges[TDISP_MAX_RANGES];
    size_t n_ranges;
    uint8_t devspec[TDISP_DEVSPEC_MAX];
    size_t devspec_len;
};

/**
 * tdisp_parse_report() - decode the concatenated report portions.
 * Return: 0, or -1 when malformed or over the caps.
 */
int tdisp_parse_report(const uint8_t *in, size_t len, struct tdisp_report *r);

#endif
