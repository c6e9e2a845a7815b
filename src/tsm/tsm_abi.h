/* SPDX-License-Identifier: MIT */
/*
 * The RISC-V CoVE-IO ABI as this TSM serves it (CoVE-IO v0.3.0 on CoVE
 * v0.7), and every decision this project took where v0.3.0 is silent or
 * inconsistent. docs/tee-io.md explains each TSM_DECISION_* below; nothing
 * else in src/tsm restates them.
 */
#ifndef TV_TSM_TSM_ABI_H
#define TV_TSM_TSM_ABI_H

#include <stdint.h>

/* Extension ids: ASCII "COVH", "COVG", "COVT". */
#define TSM_EID_COVH 0x434F5648u
#define TSM_EID_COVG 0x434F5647u
#define TSM_EID_COVT 0x434F5654u
/*
 * TSM_DECISION_COVT_NAME: v0.3.0 names the root-port extension COVI in
 * places while defining COVT. COVI (0x434F5649) stays CoVE's interrupt
 * extension; the root-port calls are COVT only.
 */
#define TSM_EID_COVI 0x434F5649u

/* COVH: host -> TSM. */
#define TSM_COVH_CONNECT_DEVICE        1024
#define TSM_COVH_DISCONNECT_DEVICE     1025
#define TSM_COVH_ADD_INTERFACE_REGION  1026
#define TSM_COVH_RECLAIM_INTERFACE_REG 1027
#define TSM_COVH_BIND_INTERFACE        1028
/*
 * TSM_DECISION_FID_1029: COVH FID 1029 is absent from v0.3.0 and the
 * binding flow calls an undefined sbi_covh_tee_io_action(). Both become one
 * call, tee_io_action(device_id): the host asks whether the TSM has device
 * work queued by a TVM (START on the TVM's request, a state refresh) and
 * relays it exactly like any other pending request. value 0: nothing queued.
 */
#define TSM_COVH_TEE_IO_ACTION       1029
#define TSM_COVH_UNBIND_INTERFACE    1030
#define TSM_COVH_SPDM_KEY_UPDATE     1031
#define TSM_COVH_IDE_KEY_REFRESH     1032
#define TSM_COVH_SPDM_HEARTBEAT      1033
#define TSM_COVH_GET_CONN_TRANSCRIPT 1034

/* COVG: TVM -> TSM. */
#define TSM_COVG_GET_DEVICE_LINK         1024
#define TSM_COVG_GET_CONN_TRANSCRIPT     1025
#define TSM_COVG_GET_DEVICE_MEASUREMENTS 1026
#define TSM_COVG_GET_INTERFACE_REPORT    1027
#define TSM_COVG_GET_INTERFACE_STATE     1028
#define TSM_COVG_MAP_INTERFACE_MMIO      1029
#define TSM_COVG_START_INTERFACE         1030
#define TSM_COVG_STOP_INTERFACE          1031

/* COVG get_device_link bits. */
#define TSM_LINK_SECURED_SPDM 1u
#define TSM_LINK_PCIE_IDE     2u

/* COVG get_device_connection_transcript elements. */
#define TSM_ELEM_FULL               0
#define TSM_ELEM_DEVICE_CERTIFICATE 1
#define TSM_ELEM_DEVICE_MEASUREMENT 2
#define TSM_ELEM_VCA                3
#define TSM_ELEM_SESSION            4
#define TSM_ELEM_TDISP_VC           5
#define TSM_ELEM_COUNT              6

/* COVG get_interface_state values. */
#define TSM_IF_UNLOCKED 0
#define TSM_IF_LOCKED   1
#define TSM_IF_RUNNING  2
#define TSM_IF_ERROR    3

/* SBI error codes (SBI 2.0 §3.2). */
#define SBI_SUCCESS               0
#define SBI_ERR_FAILED            (-1)
#define SBI_ERR_NOT_SUPPORTED     (-2)
#define SBI_ERR_INVALID_PARAM     (-3)
#define SBI_ERR_DENIED            (-4)
#define SBI_ERR_INVALID_ADDRESS   (-5)
#define SBI_ERR_ALREADY_AVAILABLE (-6)
#define SBI_ERR_ALREADY_STARTED   (-7)
#define SBI_ERR_ALREADY_STOPPED   (-8)
#define SBI_ERR_NO_SHMEM          (-9)
#define SBI_ERR_INVALID_STATE     (-10)
#define SBI_ERR_BAD_RANGE         (-11)

/** struct sbiret - an SBI call's return registers a0/a1. */
struct sbiret {
    long error;
    long value;
};

/* The value of a COVH call that needs the device. */
#define TSM_SPDM_PENDING_REQUEST 1

/*
 * The relay buffer, both directions, little-endian:
 *   function_id u32 | device_id u32 | spdm_payload_length u32 | payload
 * TSM_DECISION_SECURED_FLAG: the ABI does not say whether the payload is a
 * plain SPDM message or a DSP0277 record, which the host needs for the DOE
 * object type (CMA/SPDM 1 or Secured CMA/SPDM 2). Bit 31 of function_id is
 * set for a secured record; bits 15:0 hold the FID. The host's answer carries
 * the same function_id and device_id and the device's payload.
 */
#define TSM_RELAY_HDR_SIZE 12
#define TSM_RELAY_SECURED  0x80000000u
#define TSM_RELAY_FID_MASK 0x0000FFFFu

/*
 * TSM_DECISION_SHMEM: the ABI passes guest-physical addresses and sizes for
 * output buffers. The model sees no memory: the caller (daemon, test)
 * passes the buffer contents in and takes them out; the address registers
 * are kept only to be echoed, the size registers bound the output.
 *
 * TSM_DECISION_DMA: v0.3.0 has no DMA mapping call. The TSM programs the
 * interface's IOMMU context at bind (blocked) and enables DMA at start; in
 * this model that is the dma_enabled flag of the interface, exposed for
 * tests and logs.
 *
 * TSM_DECISION_MEASUREMENTS: a COVG call cannot reach the device (the TVM
 * relays nothing). get_device_measurements returns the last signed set the
 * TSM verified inside the session (fetched at connect and again at every
 * bind, with the TSM's own nonce), prefixed by the TVM's nonce echoed and a
 * generation counter. A set that differs at bind from the one seen at
 * connect fails the bind and puts the device in ERROR.
 *
 * TSM_DECISION_RELAY_FAILURE: any answer that does not verify (a record
 * that does not open, a wrong signature, a certificate that changed, a
 * TDISP response that does not parse) ends the connection: the device goes
 * to ERROR, every interface on it to ERROR, and the call returns
 * SBI_ERR_FAILED. Only disconnect_device leaves that state.
 *
 * TSM_DECISION_UNBIND: unbinding an interface its TVM runs stops it on the
 * device; the TVM loses it (its COVG calls for it then get
 * SBI_ERR_INVALID_PARAM) and its regions are reclaimed. A TVM's own stop
 * keeps the interface bound, unlocked, its regions reclaimed; reuse takes
 * an unbind and a new bind (a fresh LOCK and report).
 *
 * TSM_DECISION_REGIONS: a region is 4 KiB aligned, lies inside one MMIO
 * range of the verified interface report, and overlaps no other region; it
 * can be added only while the interface is bound and locked, reclaimed
 * only while it is not running. map_interface_mmio needs the hpa range to
 * be inside one added region.
 */
#define TSM_PAGE_SIZE 4096u

#endif
