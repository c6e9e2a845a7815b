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

/*
 * COVT: TSM -> root-port security manager (src/tsm/rootport.h).
 *
 * TSM_DECISION_COVT_CALLER: COVT is the TSM's own call into the security
 * manager of its PCIe root ports; the keys it carries are the TSM's. Neither
 * the host nor a TVM may make it: tsm_call() answers a COVT call from either
 * with SBI_ERR_DENIED (the extension exists, the caller is not allowed).
 * Only the TSM calls rp_covt(), while it programs and refreshes IDE streams.
 *
 * TSM_DECISION_COVT_BUFFERS: as for COVH (TSM_DECISION_SHMEM), a call's
 * memory arguments reach the model as bytes in the call's input: the key
 * descriptor {Stream_ID u8, Sub_Stream_ID u8 (0 PR, 1 NPR, 2 CPL), Key_Set
 * u8 (0, 1), Tx_Rx u8 (0 Tx, 1 Rx)} for set_go, set_stop and status; the
 * descriptor followed by the 40 key and IV bytes (KEY_PROG's payload order)
 * for program; the IDE stream descriptor for program_stream. The address
 * registers must be non-zero. Register use:
 *   1024 program_rp_ide_key(rp_id, key_desc_addr, key_data_addr)
 *   1025 clear_rp_ide_key(rp_id, stream_id)
 *   1026 set_go_rp_ide_key(rp_id, key_desc_addr)
 *   1027 set_stop_rp_ide_key(rp_id, key_desc_addr)
 *   1028 rp_ide_key_status(rp_id, key_desc_addr) -> value TSM_RP_KEY_*
 *   1029 program_rp_ide_stream(rp_id, ide_stream_desc_addr)
 * Input shorter than the descriptor or a zero descriptor address:
 * SBI_ERR_INVALID_PARAM; key data missing or of another length, or a zero
 * key data address: SBI_ERR_INVALID_ADDRESS.
 *
 * TSM_DECISION_COVT_CLEAR: v0.3.0's clear text refuses only while a key of
 * the stream is Enabled, its table "unless every key is Programmed". The
 * text is followed: clear wipes every key of the stream unless one is
 * Enabled (SBI_ERR_INVALID_STATE), and releases the stream's register
 * block, so the stream is unknown afterwards (its keys' status
 * SBI_ERR_INVALID_PARAM, the "Unknown" of the text).
 *
 * TSM_DECISION_COVT_STREAM: program_rp_ide_stream takes a free stream
 * register block for a new Stream_ID (none left: SBI_ERR_FAILED) with every
 * key Cleared, or rewrites the registers of a known stream whose keys are
 * all Cleared; a known stream holding a key is SBI_ERR_INVALID_STATE.
 * A key of a stream that was never programmed is an invalid descriptor.
 * set_go of one key set does not touch the other (both sets may be Enabled
 * during a key switch); set_stop returns a key to Programmed, as the text
 * says. A stream going Insecure (link reset, integrity failure) clears every
 * key of it and keeps the stream known.
 */
#define TSM_COVT_PROGRAM_KEY    1024
#define TSM_COVT_CLEAR_KEY      1025
#define TSM_COVT_SET_GO         1026
#define TSM_COVT_SET_STOP       1027
#define TSM_COVT_KEY_STATUS     1028
#define TSM_COVT_PROGRAM_STREAM 1029

/* COVT key states (rp_ide_key_status value). */
#define TSM_RP_KEY_CLEARED    0
#define TSM_RP_KEY_PROGRAMMED 1
#define TSM_RP_KEY_ENABLED    2

/* COVT descriptors. */
#define TSM_KEY_DESC_SIZE     4
#define TSM_KEY_DATA_SIZE     40 /* key 8 DW, IFV 2 DW */
#define TSM_STREAM_DESC_MIN   12 /* without address association blocks */
#define TSM_STREAM_ADDR_BLOCK 12
#define TSM_KEY_TX            0
#define TSM_KEY_RX            1

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
 * TSM_DECISION_IDE_STREAM_DESC: connect_device's ide_stream_desc register
 * is the descriptor's address, 0 for no IDE stream. With a non-zero
 * address the first call's input holds the descriptor (TSM_DECISION_SHMEM;
 * none: SBI_ERR_INVALID_ADDRESS), the CoVE IDE stream descriptor of
 * v0.3.0: Stream_ID u8, Num_Addr_Assoc u8, reserved u16 = 0,
 * RID_Assoc_1 u32, RID_Assoc_2 u32, then Num_Addr_Assoc blocks of three
 * u32, little-endian. The device's root port is the TSM's (rp_id = the
 * device's record index, tsm_dev.rp_id); the TSM programs the stream into
 * it at once (its refusal is the call's answer), then, once the session is
 * up and the measurements are verified, inside the session: IDE_KM QUERY
 * (port index 0; the device must support selective streams and IDE_KM and
 * at least Num_Addr_Assoc address blocks per stream), and for each of the
 * six keys of key set 0 (device Rx and Tx, sub-streams PR, NPR, CPL) a
 * fresh key and IFV from ops->random, KEY_PROG, then the same key into the
 * root port's opposite direction (the device's Rx key is the root port's
 * Tx key), then K_SET_GO for each and set_go on the root port, receivers
 * before transmitters: the root port's Rx keys, then each device Rx key
 * followed by the root port's Tx key for it, then the device's Tx keys. The
 * link is
 * PCIE_IDE (get_device_link) while the device completed this and the root
 * port has every key of the set in use Enabled.
 *
 * TSM_DECISION_IDE_REFUSAL: a KP_ACK with a non-zero status, an SPDM ERROR
 * inside the session, or a QUERY_RESP that cannot carry the stream is the
 * device refusing: the connection ends as on a relay failure (device ERROR,
 * root-port stream cleared) but the call returns SBI_ERR_DENIED. An ACK
 * naming another stream, key or port, or any answer that does not open or
 * parse, is a relay failure (SBI_ERR_FAILED).
 *
 * TSM_DECISION_IDE_REFRESH: ide_key_refresh(device, stream) needs the
 * device connected with that stream (else SBI_ERR_INVALID_PARAM) and the
 * root port's keys of the set in use Enabled (else SBI_ERR_INVALID_STATE:
 * a stream gone Insecure needs a new connection). It programs the other
 * key set on both sides, sets it going on both sides, then K_SET_STOP on
 * the device and set_stop on the root port for the old set. Disconnecting
 * an IDE device sends K_SET_STOP for the keys in use before END_SESSION and
 * clears the root-port stream; an ERROR device's root-port stream is
 * cleared at once.
 *
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
