/* SPDX-License-Identifier: MIT */
/*
 * IDE_KM responder (PCIe 6.x §6.33.8, IDE key management), sans I/O.
 *
 * An emulated device has no link to encrypt: this responder holds the keys
 * the TSM programs, in memory only, enforces the key-slot state machine and
 * reports the stream state through QUERY_RESP. It never claims to encrypt
 * anything: a stream is reported "secure" only in the sense IDE defines (all
 * its keys are programmed and set going), and nothing uses the keys.
 *
 * Key slots, one per (stream, key set K0/K1, direction RX/TX, sub-stream
 * PR/NPR/CPL):
 *
 *   EMPTY --KEY_PROG--> PROGRAMMED --K_SET_GO--> ACTIVE
 *     ^                    |   ^                   |
 *     +----K_SET_STOP------+   +--K_SET_GO on the--+
 *     +----K_SET_STOP----------    other key set --+
 *
 *  - KEY_PROG into an ACTIVE slot: KP_ACK status UNSPECIFIED_FAILURE (a key
 *    in use is never overwritten); into PROGRAMMED: replaces the key.
 *  - K_SET_GO on a PROGRAMMED slot makes it ACTIVE and returns the other key
 *    set of the same direction and sub-stream to PROGRAMMED (a key switch).
 *  - K_SET_STOP wipes the slot and makes it EMPTY.
 *  - K_SET_GO on an EMPTY or ACTIVE slot, K_SET_STOP on an EMPTY one, a
 *    QUERY for another port, a message outside a secure session, shorter
 *    than its fixed part or of unknown object id: refused (IDEKM_REFUSED;
 *    K_GOSTOP_ACK and QUERY_RESP have no status field, so the caller answers
 *    with an SPDM ERROR instead).
 *  - KEY_PROG of the wrong length: KP_ACK INCORRECT_LENGTH; port index
 *    over IDEKM_MAX_PORT_INDEX: UNSUPPORTED_PORT_INDEX; a key_sub_stream byte
 * with bits other than key set, direction and a sub-stream 0..2, or a new
 * stream id when every stream register block is taken: UNSUPPORTED_VALUE.
 *
 * Stream ids are the TSM's: the first KEY_PROG for a (port, id) takes a
 * free stream register block; the block is released when all its slots are
 * EMPTY again. Ports 0..IDEKM_MAX_PORT_INDEX are accepted (QUERY_RESP
 * reports that maximum), each with its own streams; QUERY for a port
 * reports that port's blocks.
 *
 * A stream belongs to the SPDM session whose KEY_PROG took its block: a
 * KEY_PROG for it in another session gets KP_ACK UNSPECIFIED_FAILURE, a
 * K_SET_GO or K_SET_STOP is refused. When that session ends (END_SESSION,
 * the connection dropped, idekm_session_ended()) every key of the stream is
 * wiped and its block freed: the stream is Insecure, as PCIe requires of
 * keys whose session is gone, and the next session starts from the state
 * idekm_init() left.
 *
 * Concurrency: one struct idekm is used by one thread at a time.
 */
#ifndef TV_TDISP_IDEKM_H
#define TV_TDISP_IDEKM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDEKM_QUERY        0x00
#define IDEKM_QUERY_RESP   0x01
#define IDEKM_KEY_PROG     0x02
#define IDEKM_KP_ACK       0x03
#define IDEKM_K_SET_GO     0x04
#define IDEKM_K_SET_STOP   0x05
#define IDEKM_K_GOSTOP_ACK 0x06

#define IDEKM_KEY_SET_MASK    0x01
#define IDEKM_DIR_TX          0x02
#define IDEKM_SUB_STREAM_MASK 0xF0
#define IDEKM_SUB_PR          0x00
#define IDEKM_SUB_NPR         0x10
#define IDEKM_SUB_CPL         0x20

#define IDEKM_KP_SUCCESS           0x00
#define IDEKM_KP_INCORRECT_LENGTH  0x01
#define IDEKM_KP_UNSUPPORTED_PORT  0x02
#define IDEKM_KP_UNSUPPORTED_VALUE 0x03
#define IDEKM_KP_UNSPECIFIED       0x04

#define IDEKM_KEY_SIZE       32 /* AES-256-GCM key, bytes */
#define IDEKM_IFV_SIZE       8  /* invocation field of the IV, bytes */
#define IDEKM_MSG_SIZE       7  /* KP_ACK, K_SET_*, K_GOSTOP_ACK */
#define IDEKM_KEY_PROG_SIZE  (IDEKM_MSG_SIZE + IDEKM_KEY_SIZE + IDEKM_IFV_SIZE)
#define IDEKM_MAX_STREAMS    4 /* selective IDE stream register blocks */
#define IDEKM_MAX_PORT_INDEX 1 /* ports 0..1 (DMTF's requester uses 1) */
#define IDEKM_QUERY_RSP_SIZE (IDEKM_MSG_SIZE + 8 + IDEKM_MAX_STREAMS * 20)

enum idekm_slot_state {
    IDEKM_EMPTY = 0,
    IDEKM_PROGRAMMED,
    IDEKM_ACTIVE,
};

struct idekm_slot {
    enum idekm_slot_state state;
    uint8_t key[IDEKM_KEY_SIZE];
    uint8_t ifv[IDEKM_IFV_SIZE];
};

/* [key set][direction][sub-stream] */
struct idekm_stream {
    bool used;
    uint8_t port;
    uint8_t stream_id;
    uint32_t session_id; /* the session whose KEY_PROG took the block */
    struct idekm_slot slot[2][2][3];
};

/**
 * struct idekm - the responder. @bus, @devfn, @segment identify the function
 * in QUERY_RESP.
 */
struct idekm {
    uint8_t bus, devfn, segment;
    struct idekm_stream streams[IDEKM_MAX_STREAMS];
};

#define IDEKM_OK          0
#define IDEKM_REFUSED     (-1) /* answer with an SPDM ERROR */
#define IDEKM_ERR_RSP_CAP (-2)

/** idekm_init() - no keys, every stream block free. */
void idekm_init(struct idekm *k, uint8_t bus, uint8_t devfn, uint8_t segment);

/**
 * idekm_handle() - answer one IDE_KM object (the bytes after the PCI-SIG
 * protocol id) that came in session @session_id (@in_session false: outside
 * any session, refused). Return: IDEKM_OK with a response in @rsp,
 * IDEKM_REFUSED (no response), or IDEKM_ERR_RSP_CAP (@rsp_cap below
 * IDEKM_QUERY_RSP_SIZE).
 */
int idekm_handle(struct idekm *k, uint32_t session_id, bool in_session,
                 const uint8_t *req, size_t req_len, uint8_t *rsp,
                 size_t rsp_cap, size_t *rsp_len);

/**
 * idekm_session_ended() - session @session_id is gone: wipe the keys of
 * every stream it programmed and free their blocks. Return: how many
 * streams were wiped.
 */
unsigned idekm_session_ended(struct idekm *k, uint32_t session_id);

/* Caps. */
#define IDEKM_DESCRIBE_MAX 256 /* idekm_describe(), every stream and a NUL */

/**
 * idekm_describe() - the key-slot states, no key bytes, as one line
 * without newline: "none" when no stream block is taken, else per taken
 * block "stream PORT:ID K0=SSSSSS K1=SSSSSS" joined by "; ", each S a slot
 * in the order Rx PR, NPR, CPL, Tx PR, NPR, CPL: '-' EMPTY, 'P'
 * PROGRAMMED, 'A' ACTIVE. Return: the length, or 0 when @cap is too small
 * (IDEKM_DESCRIBE_MAX always suffices).
 */
size_t idekm_describe(const struct idekm *k, char *out, size_t cap);

/**
 * idekm_slot_state() - state of one slot; IDEKM_EMPTY for an unknown stream.
 * @key_sub_stream: the byte as in KEY_PROG
 */
enum idekm_slot_state idekm_slot_state(const struct idekm *k, uint8_t stream_id,
                                       uint8_t key_sub_stream);

/** idekm_slot_state_port() - the same for a slot of port @port. */
enum idekm_slot_state idekm_slot_state_port(const struct idekm *k, uint8_t port,
                                            uint8_t stream_id,
                                            uint8_t key_sub_stream);

/** idekm_stream_secure() - every slot of one key set of @stream_id ACTIVE. */
bool idekm_stream_secure(const struct idekm *k, uint8_t stream_id);

/** idekm_wipe() - wipe every key (the session ended, the daemon exits). */
void idekm_wipe(struct idekm *k);

/*
 * The requester side (the TSM): build IDE_KM objects (the bytes after the
 * PCI-SIG protocol id) and check the answers. Each builder returns the
 * object's length, or 0 when @cap is too small.
 */

/** idekm_build_query() - QUERY for port @port (3 bytes). */
size_t idekm_build_query(uint8_t port, uint8_t *out, size_t cap);

/** idekm_build_key_prog() - KEY_PROG of @key and @ifv into one slot. */
size_t idekm_build_key_prog(uint8_t stream_id, uint8_t key_sub_stream,
                            uint8_t port, const uint8_t key[IDEKM_KEY_SIZE],
                            const uint8_t ifv[IDEKM_IFV_SIZE], uint8_t *out,
                            size_t cap);

/** idekm_build_set() - K_SET_GO or K_SET_STOP (@code) for one slot. */
size_t idekm_build_set(uint8_t code, uint8_t stream_id, uint8_t key_sub_stream,
                       uint8_t port, uint8_t *out, size_t cap);

#define IDEKM_PARSE_OK       0
#define IDEKM_PARSE_MISMATCH (-1) /* not the answer to that request */

/**
 * idekm_parse_ack() - check a KP_ACK (@code IDEKM_KP_ACK) or K_GOSTOP_ACK
 * answering the request for (@stream_id, @key_sub_stream, @port): object
 * id, length and every echoed field. *@status: KP_ACK's status (0 for
 * K_GOSTOP_ACK).
 */
int idekm_parse_ack(uint8_t code, uint8_t stream_id, uint8_t key_sub_stream,
                    uint8_t port, const uint8_t *rsp, size_t len,
                    uint8_t *status);

/** struct idekm_query_info - what the TSM uses of a QUERY_RESP. */
struct idekm_query_info {
    uint8_t max_port;
    uint32_t ide_cap;     /* IDE Capability register */
    unsigned n_streams;   /* selective streams supported */
    unsigned addr_blocks; /* address association blocks of stream block 0 */
};

/**
 * idekm_parse_query_resp() - check a QUERY_RESP for @port: object id, port
 * index, and a length that holds the capability, control and first
 * selective stream registers.
 */
int idekm_parse_query_resp(uint8_t port, const uint8_t *rsp, size_t len,
                           struct idekm_query_info *q);

#endif
