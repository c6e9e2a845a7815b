/* SPDX-License-Identifier: MIT */
/*
 * PCI-SIG protocols inside SPDM VENDOR_DEFINED messages (PCIe 6.x §6.31.4):
 * standard id 3 (PCI-SIG), vendor id 0x0001 (2 bytes, little-endian), and a
 * payload whose first byte is the protocol id: 0x00 IDE_KM, 0x01 TDISP.
 * The response payload starts with the same protocol id.
 */
#ifndef TV_TDISP_PCISIG_H
#define TV_TDISP_PCISIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdisp/idekm.h"
#include "tdisp/tdisp.h"

#define PCISIG_STANDARD_ID 3
#define PCISIG_VENDOR_ID   0x0001
#define PCISIG_PROTO_IDEKM 0x00
#define PCISIG_PROTO_TDISP 0x01

#define PCISIG_OK          0
#define PCISIG_UNSUPPORTED 1    /* not PCI-SIG, or an unknown protocol */
#define PCISIG_REFUSED     (-1) /* a refusal the protocol cannot carry */

/**
 * pcisig_handle() - dispatch one VENDOR_DEFINED_REQUEST payload.
 * @standard_id, @vendor_id (@vendor_id_len bytes): from the SPDM message;
 *                anything but PCI-SIG / 0x0001 is refused
 * @req:          the payload, @req_len bytes, in private memory
 * @rsp:          the response payload, at most @rsp_cap bytes
 * Return: PCISIG_OK with *@rsp_len set; PCISIG_UNSUPPORTED for another
 * standard or vendor, an empty payload or an unknown protocol id (SPDM
 * answers UnsupportedRequest); PCISIG_REFUSED for an IDE_KM refusal or a
 * buffer too small (SPDM answers with an ERROR).
 */
int pcisig_handle(struct tdisp *t, struct idekm *k, uint32_t session_id,
                  bool in_session, uint16_t standard_id,
                  const uint8_t *vendor_id, size_t vendor_id_len,
                  const uint8_t *req, size_t req_len, uint8_t *rsp,
                  size_t rsp_cap, size_t *rsp_len);

#endif
