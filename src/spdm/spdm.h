/* SPDX-License-Identifier: MIT */
/*
 * A sans-I/O SPDM 1.2 engine (DMTF DSP0274 1.2, secured messages per
 * DSP0277 1.1): a responder and a requester.
 *
 * Bytes in, bytes out. Both contexts are caller-owned and hold no pointers
 * into caller data (certificate chain and measurement blocks are copied in
 * at init), so a struct may be cloned with memcpy; the only outside
 * references are the ops table and its opaque context. Nothing here
 * allocates; OpenSSL allocates internally behind src/crypto, as everywhere
 * in the project. One context is used by one thread at a time.
 *
 * Algorithms: BaseAsymAlgo ECDSA P-384 (TPM_ALG_ECDSA_ECC_NIST_P384),
 * BaseHashAlgo SHA-384, DHE secp384r1, AEAD AES-256-GCM, the SPDM key
 * schedule, DMTF measurement specification, opaque data format 1. No other
 * set is offered; a NEGOTIATE_ALGORITHMS without ECDSA P-384 and SHA-384
 * (or, when both sides have KEY_EX, without secp384r1, AES-256-GCM and the
 * SPDM key schedule) gets ERROR InvalidRequest. MeasurementHashAlgo is the
 * responder's pick: this responder selects SHA-384, this requester accepts
 * any one defined bit. docs/spdm.md lists every
 * choice made where DSP0274 leaves one.
 *
 * Transport payloads: a plain SPDM message, or a DSP0277 secured-message
 * record {SessionID u32 LE, SequenceNumber (seq_num_size bytes, LE; 0 for
 * PCI DOE), Length u16 LE, AES-256-GCM ciphertext of {ApplicationDataLength
 * u16 LE, SPDM message}, MAC[16]}. The AEAD IV is the session IV with the
 * 64-bit per-direction sequence number XORed little-endian into its first
 * eight bytes; the AAD is the record header. Sequence numbers start at 0 for
 * each key and are never reused; they restart at 0 after a key update.
 * Bytes after a message's defined length (DOE dword padding) are ignored
 * and never enter a transcript.
 */
#ifndef TV_SPDM_SPDM_H
#define TV_SPDM_SPDM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/caps.h"
#include "crypto/crypto.h"

/* Versions, as the header's SPDMVersion byte. */
#define SPDM_VERSION_10 0x10
#define SPDM_VERSION_11 0x11
#define SPDM_VERSION_12 0x12

/* Request codes (DSP0274 1.2 table 4). */
#define SPDM_GET_DIGESTS            0x81
#define SPDM_GET_CERTIFICATE        0x82
#define SPDM_CHALLENGE              0x83
#define SPDM_GET_VERSION            0x84
#define SPDM_CHUNK_SEND             0x85
#define SPDM_CHUNK_GET              0x86
#define SPDM_GET_MEASUREMENTS       0xE0
#define SPDM_GET_CAPABILITIES       0xE1
#define SPDM_GET_SUPPORTED_EVENT    0xE2
#define SPDM_NEGOTIATE_ALGORITHMS   0xE3
#define SPDM_KEY_EXCHANGE           0xE4
#define SPDM_FINISH                 0xE5
#define SPDM_PSK_EXCHANGE           0xE6
#define SPDM_PSK_FINISH             0xE7
#define SPDM_HEARTBEAT              0xE8
#define SPDM_KEY_UPDATE             0xE9
#define SPDM_GET_ENCAPSULATED_REQ   0xEA
#define SPDM_DELIVER_ENCAPSULATED   0xEB
#define SPDM_END_SESSION            0xEC
#define SPDM_GET_CSR                0xED
#define SPDM_SET_CERTIFICATE        0xEE
#define SPDM_VENDOR_DEFINED_REQUEST 0xFE
#define SPDM_RESPOND_IF_READY       0xFF

/* Response codes. */
#define SPDM_DIGESTS                 0x01
#define SPDM_CERTIFICATE             0x02
#define SPDM_CHALLENGE_AUTH          0x03
#define SPDM_VERSION                 0x04
#define SPDM_MEASUREMENTS            0x60
#define SPDM_CAPABILITIES            0x61
#define SPDM_ALGORITHMS              0x63
#define SPDM_KEY_EXCHANGE_RSP        0x64
#define SPDM_FINISH_RSP              0x65
#define SPDM_HEARTBEAT_ACK           0x68
#define SPDM_KEY_UPDATE_ACK          0x69
#define SPDM_END_SESSION_ACK         0x6C
#define SPDM_VENDOR_DEFINED_RESPONSE 0x7E
#define SPDM_ERROR                   0x7F

/* ERROR codes (Param1 of ERROR). */
#define SPDM_ERROR_INVALID_REQUEST     0x01
#define SPDM_ERROR_BUSY                0x03
#define SPDM_ERROR_UNEXPECTED_REQUEST  0x04
#define SPDM_ERROR_UNSPECIFIED         0x05
#define SPDM_ERROR_DECRYPT_ERROR       0x06
#define SPDM_ERROR_UNSUPPORTED_REQUEST 0x07
#define SPDM_ERROR_REQUEST_IN_FLIGHT   0x08
#define SPDM_ERROR_INVALID_RESPONSE    0x09
#define SPDM_ERROR_SESSION_LIMIT       0x0A
#define SPDM_ERROR_SESSION_REQUIRED    0x0B
#define SPDM_ERROR_RESET_REQUIRED      0x0C
#define SPDM_ERROR_RESPONSE_TOO_LARGE  0x0D
#define SPDM_ERROR_REQUEST_TOO_LARGE   0x0E
#define SPDM_ERROR_LARGE_RESPONSE      0x0F
#define SPDM_ERROR_MESSAGE_LOST        0x10
#define SPDM_ERROR_VERSION_MISMATCH    0x41
#define SPDM_ERROR_RESPONSE_NOT_READY  0x42
#define SPDM_ERROR_REQUEST_RESYNCH     0x43
#define SPDM_ERROR_VENDOR_DEFINED      0xFF

/* Capability flags (CAPABILITIES / GET_CAPABILITIES Flags). */
#define SPDM_CAP_CACHE           (1u << 0)
#define SPDM_CAP_CERT            (1u << 1)
#define SPDM_CAP_CHAL            (1u << 2)
#define SPDM_CAP_MEAS_NO_SIG     (1u << 3) /* MEAS_CAP = 01b */
#define SPDM_CAP_MEAS_SIG        (1u << 4) /* MEAS_CAP = 10b */
#define SPDM_CAP_MEAS_FRESH      (1u << 5)
#define SPDM_CAP_ENCRYPT         (1u << 6)
#define SPDM_CAP_MAC             (1u << 7)
#define SPDM_CAP_MUT_AUTH        (1u << 8)
#define SPDM_CAP_KEY_EX          (1u << 9)
#define SPDM_CAP_PSK             (3u << 10)
#define SPDM_CAP_ENCAP           (1u << 12)
#define SPDM_CAP_HBEAT           (1u << 13)
#define SPDM_CAP_KEY_UPD         (1u << 14)
#define SPDM_CAP_HANDSHAKE_CLEAR (1u << 15)
#define SPDM_CAP_PUB_KEY_ID      (1u << 16)
#define SPDM_CAP_CHUNK           (1u << 17)

/* What this engine implements as a responder, and asks for as requester. */
#define SPDM_RSP_CAPS                                                          \
    (SPDM_CAP_CERT | SPDM_CAP_CHAL | SPDM_CAP_MEAS_SIG | SPDM_CAP_MEAS_FRESH | \
     SPDM_CAP_ENCRYPT | SPDM_CAP_MAC | SPDM_CAP_KEY_EX | SPDM_CAP_HBEAT |      \
     SPDM_CAP_KEY_UPD)
#define SPDM_REQ_CAPS                                                          \
    (SPDM_CAP_CERT | SPDM_CAP_CHAL | SPDM_CAP_ENCRYPT | SPDM_CAP_MAC |         \
     SPDM_CAP_KEY_EX | SPDM_CAP_HBEAT | SPDM_CAP_KEY_UPD)

/* Algorithm bits (NEGOTIATE_ALGORITHMS / ALGORITHMS). */
#define SPDM_ASYM_ECDSA_P256    (1u << 4)
#define SPDM_ASYM_ECDSA_P384    (1u << 7)
#define SPDM_HASH_SHA256        (1u << 0)
#define SPDM_HASH_SHA384        (1u << 1)
#define SPDM_MEAS_HASH_RAW      (1u << 0)
#define SPDM_MEAS_HASH_SHA256   (1u << 1)
#define SPDM_MEAS_HASH_SHA384   (1u << 2)
#define SPDM_MEAS_HASH_SHA512   (1u << 3)
#define SPDM_MEAS_HASH_SHA3_256 (1u << 4)
#define SPDM_MEAS_HASH_SHA3_384 (1u << 5)
#define SPDM_MEAS_HASH_SHA3_512 (1u << 6)
#define SPDM_MEAS_HASH_SM3_256  (1u << 7)
#define SPDM_DHE_SECP384R1      (1u << 4)
#define SPDM_AEAD_AES_256_GCM   (1u << 1)
#define SPDM_KEY_SCHEDULE_SPDM  (1u << 0)
#define SPDM_MEAS_SPEC_DMTF     (1u << 0)
#define SPDM_OPAQUE_DATA_FMT1   (1u << 1)

/* Sizes for the one algorithm set. */
#define SPDM_HASH_SIZE     48 /* SHA-384 */
#define SPDM_SIG_SIZE      96 /* ECDSA P-384 r || s */
#define SPDM_DHE_SIZE      96 /* P-384 X || Y */
#define SPDM_NONCE_SIZE    32
#define SPDM_RANDOM_SIZE   32 /* KEY_EXCHANGE RandomData */
#define SPDM_AEAD_KEY_SIZE 32
#define SPDM_AEAD_IV_SIZE  12
#define SPDM_AEAD_TAG_SIZE 16
#define SPDM_P384_PUB_SIZE 97 /* uncompressed SEC1 point 04 || X || Y */

/* GET_MEASUREMENTS Param2 (MeasurementOperation). */
#define SPDM_MEAS_OP_COUNT 0x00
#define SPDM_MEAS_OP_ALL   0xFF

/* Measurement summary hash types (CHALLENGE / KEY_EXCHANGE Param). */
#define SPDM_MEAS_SUMMARY_NONE 0x00
#define SPDM_MEAS_SUMMARY_TCB  0x01
#define SPDM_MEAS_SUMMARY_ALL  0xFF

/* DMTFSpecMeasurementValueType (bits 6:0). */
#define SPDM_MEAS_TYPE_ROM         0x00
#define SPDM_MEAS_TYPE_FIRMWARE    0x01
#define SPDM_MEAS_TYPE_HW_CONFIG   0x02
#define SPDM_MEAS_TYPE_FW_CONFIG   0x03
#define SPDM_MEAS_TYPE_MANIFEST    0x04
#define SPDM_MEAS_TYPE_DEVICE_MODE 0x05
#define SPDM_MEAS_TYPE_FW_VERSION  0x06
#define SPDM_MEAS_TYPE_SVN         0x07
#define SPDM_MEAS_TYPE_RAW         0x80 /* bit 7: raw bit stream */

/* KEY_UPDATE operations. */
#define SPDM_KEY_UPDATE_KEY      1
#define SPDM_KEY_UPDATE_ALL_KEYS 2
#define SPDM_KEY_UPDATE_VERIFY   3

/* VENDOR_DEFINED StandardID values (DSP0274 table "Registry or standards
 * body ID"); PCI-SIG carries TDISP and IDE_KM with vendor id 0x0001. */
#define SPDM_STANDARD_ID_PCISIG 0x0003

/* A session id as on the wire: ReqSessionID | RspSessionID << 16. */
#define SPDM_NO_SESSION 0u

/**
 * enum spdm_status - engine results. SPDM_OK is 0, everything else is
 * negative. The responder returns only SPDM_OK, SPDM_ERR_INTERNAL,
 * SPDM_ERR_OUT_SIZE and SPDM_ERR_CONFIG (protocol errors are ERROR
 * responses); the requester's parse functions say exactly what failed.
 */
enum spdm_status {
    SPDM_OK = 0,
    SPDM_ERR_INTERNAL = -1,     /* crypto or an ops callback failed */
    SPDM_ERR_OUT_SIZE = -2,     /* output capacity too small */
    SPDM_ERR_CONFIG = -3,       /* bad config at init */
    SPDM_ERR_STATE = -4,        /* operation not allowed in this state */
    SPDM_ERR_ARG = -5,          /* bad argument to a build call */
    SPDM_ERR_PEER_ERROR = -6,   /* peer sent ERROR; see spdm_req_peer_error */
    SPDM_ERR_UNEXPECTED = -7,   /* wrong response code, version or param */
    SPDM_ERR_MALFORMED = -8,    /* response too short, lengths disagree */
    SPDM_ERR_NEGOTIATION = -9,  /* no common version/capability/algorithm */
    SPDM_ERR_SIGNATURE = -10,   /* signature does not verify */
    SPDM_ERR_VERIFY_DATA = -11, /* HMAC verify data mismatch */
    SPDM_ERR_CERT_CHAIN = -12,  /* chain header/root hash/digest/leaf bad */
    SPDM_ERR_NONCE = -13,       /* nonce echo mismatch */
    SPDM_ERR_SESSION = -14,     /* unknown session, wrong session state */
    SPDM_ERR_DECRYPT = -15,     /* AEAD open failed (tamper, replay) */
    SPDM_ERR_SEQUENCE = -16,    /* sequence number exhausted or mismatch */
    SPDM_ERR_TRANSCRIPT = -17,  /* a transcript would exceed its cap */
};

/** spdm_strerror() - a static English description of an enum spdm_status. */
const char *spdm_strerror(int status);

/**
 * spdm_error_name() - the DSP0274 name of an ERROR code ("InvalidRequest"),
 * or "Reserved" for an unassigned one. Static string.
 */
const char *spdm_error_name(uint8_t code);

/* ------------------------------------------------------------------ */
/* Responder                                                           */
/* ------------------------------------------------------------------ */

/**
 * struct spdm_responder_ops - what the device supplies.
 * @sign: sign @msg (the DSP0274 1.2 signing input: the 100-byte combined
 *        signing context followed by the transcript hash) with the slot-0
 *        leaf key: hash it with @hash_alg (SPDM_HASH_SHA384) and ECDSA-sign
 *        the digest; write r || s (96 bytes) to @sig (capacity @cap), set
 *        *@sig_len. Return 0, or non-zero on failure (the request then gets
 *        ERROR Unspecified). The private key never enters the engine.
 * @random: fill @len bytes with fresh randomness (nonces, RandomData,
 *        RspSessionID). Return 0 or non-zero.
 * @vendor_defined: a VENDOR_DEFINED_REQUEST. @session_id/@in_session say
 *        whether it came inside an established secured session (TDISP and
 *        IDE_KM must refuse otherwise, with their own error). @req/@req_len
 *        is the VendorDefinedReqPayload; write the VendorDefinedRespPayload
 *        to @rsp (capacity @rsp_cap, at most SPDM_VENDOR_PAYLOAD_MAX) and
 *        set *@rsp_len; the engine adds the SPDM header, StandardID and
 *        VendorID (echoed). Return 0 on success, a positive value when the
 *        (standard, vendor) pair is not handled (ERROR UnsupportedRequest),
 *        negative on an internal failure (ERROR Unspecified). May be NULL:
 *        every vendor request is then UnsupportedRequest.
 * @session_ended: optional (may be NULL); told when a session ends
 * (END_SESSION, GET_VERSION reset, a decrypt error, spdm_responder_reset()), so
 *        TDIs bound to it can leave CONFIG_LOCKED/RUN.
 */
struct spdm_responder_ops {
    int (*sign)(void *ctx, uint32_t hash_alg, const uint8_t *msg, size_t len,
                uint8_t *sig, size_t cap, size_t *sig_len);
    int (*random)(void *ctx, uint8_t *buf, size_t len);
    int (*vendor_defined)(void *ctx, uint32_t session_id, bool in_session,
                          uint16_t standard_id, const uint8_t *vendor_id,
                          size_t vendor_id_len, const uint8_t *req,
                          size_t req_len, uint8_t *rsp, size_t rsp_cap,
                          size_t *rsp_len);
    void (*session_ended)(void *ctx, uint32_t session_id);
};

/**
 * struct spdm_meas_config - one measurement block.
 * @index: 1..0xFE, unique
 * @type: SPDM_MEAS_TYPE_* (bits 6:0; bit 7 ignored)
 * @is_digest: @value is already a SHA-384 digest (@value_len 48); otherwise
 *        @value is the raw value: reported raw when the requester asks for
 *        raw bit streams, else as its SHA-384 digest.
 * @value/@value_len: at most SPDM_MEAS_VALUE_MAX bytes
 */
struct spdm_meas_config {
    uint8_t index;
    uint8_t type;
    bool is_digest;
    const uint8_t *value;
    size_t value_len;
};

/**
 * struct spdm_responder_config - copied by spdm_responder_init().
 * @capabilities: CAPABILITIES flags; 0 means SPDM_RSP_CAPS. Flags this engine
 *        does not implement are refused (SPDM_ERR_CONFIG).
 * @cert_chain/@cert_chain_len: slot 0: DER certificates concatenated, root
 *        first, leaf (P-384 key) last; the engine builds the SPDM cert-chain
 *        structure {Length u16, Reserved u16, RootHash, Certificates}. At most
 *        SPDM_CERT_CHAIN_MAX - 4 - 48 bytes.
 * @meas/@n_meas: measurement blocks (at most SPDM_MEAS_BLOCKS_MAX)
 * @heartbeat_period_s: KEY_EXCHANGE_RSP HeartbeatPeriod (0 = none; DMTF's
 *        requester then sends no HEARTBEAT at all, so daemons want non-zero).
 *        With a period, a session that sees no request for more than twice
 *        the period is ended by spdm_responder_tick() (DSP0274 HEARTBEAT).
 * @seq_num_size: sequence-number bytes in the secured-record header
 *        (0 for PCI DOE, 2 for MCTP; at most 8)
 * @data_transfer_size: CAPABILITIES DataTransferSize; 0 means
 *        SPDM_MSG_MAX. Must be 42..SPDM_MSG_MAX.
 * @ops/@ops_ctx: callbacks, see struct spdm_responder_ops; @sign and
 *        @random are required.
 */
struct spdm_responder_config {
    uint32_t capabilities;
    const uint8_t *cert_chain;
    size_t cert_chain_len;
    const struct spdm_meas_config *meas;
    size_t n_meas;
    uint8_t heartbeat_period_s;
    uint8_t seq_num_size;
    uint32_t data_transfer_size;
    const struct spdm_responder_ops *ops;
    void *ops_ctx;
};

/* Connection states, in order (exposed for tests and logs). */
enum spdm_conn_state {
    SPDM_CONN_NONE = 0,      /* nothing yet, or after a reset */
    SPDM_CONN_AFTER_VERSION, /* VERSION sent/received */
    SPDM_CONN_AFTER_CAPS,    /* CAPABILITIES sent/received */
    SPDM_CONN_NEGOTIATED,    /* ALGORITHMS sent/received */
};

enum spdm_session_state {
    SPDM_SESSION_FREE = 0,
    SPDM_SESSION_HANDSHAKE, /* after KEY_EXCHANGE_RSP: only FINISH */
    SPDM_SESSION_ESTABLISHED,
};

/** struct spdm_aead_dir - one direction of a session's record layer. */
struct spdm_aead_dir {
    uint8_t secret[SPDM_HASH_SIZE]; /* current (handshake or data) secret */
    uint8_t key[SPDM_AEAD_KEY_SIZE];
    uint8_t iv[SPDM_AEAD_IV_SIZE];
    uint64_t seq;          /* next sequence number */
    struct crypto_gcm gcm; /* @key's keyed context in src/crypto */
};

/**
 * struct spdm_session - one secured session (either side's view).
 * Internal; exposed only so contexts can be caller-allocated.
 */
struct spdm_session {
    enum spdm_session_state state;
    uint32_t id; /* ReqSessionID | RspSessionID << 16 */
    uint8_t handshake_secret[SPDM_HASH_SIZE];
    uint8_t finished_key_req[SPDM_HASH_SIZE];
    uint8_t finished_key_rsp[SPDM_HASH_SIZE];
    struct spdm_aead_dir req; /* requester -> responder */
    struct spdm_aead_dir rsp; /* responder -> requester */
    uint8_t th[SPDM_TH_MAX];  /* KE .. FINISH_RSP, raw bytes */
    size_t th_len;
    uint8_t dhe_priv[SPDM_HASH_SIZE]; /* requester: ephemeral scalar */
    uint8_t meas_summary_type;        /* requested in KEY_EXCHANGE */
    uint8_t l1[SPDM_L1_MAX];          /* in-session measurement log */
    size_t l1_len;
    bool l1_lost;     /* the log overflowed: a signed reply needs a resynch */
    bool key_updated; /* a KEY_UPDATE happened; VerifyNewKey is allowed */
    uint64_t last_ms; /* responder: clock of its last request (KEY_EXCHANGE
                         on); see spdm_responder_tick() */
};

/* Fields of the connection both sides keep. */
struct spdm_conn {
    enum spdm_conn_state state;
    uint8_t version;    /* negotiated SPDMVersion byte */
    uint32_t peer_caps; /* the peer's capability flags */
    uint32_t peer_data_transfer_size;
    uint32_t peer_max_msg_size;
    uint8_t vca[SPDM_VCA_MAX]; /* message A: GET_VERSION .. ALGORITHMS */
    size_t vca_len;
    uint8_t m1[SPDM_M1_MAX]; /* message B || C since the last reset */
    size_t m1_len;
    uint8_t l1[SPDM_L1_MAX]; /* out-of-session measurement log */
    size_t l1_len;
    bool m1_lost;       /* message B overflowed: CHALLENGE resynchs */
    bool l1_lost;       /* as spdm_session.l1_lost */
    bool opaque_fmt1;   /* OpaqueDataFmt1 selected */
    uint32_t meas_hash; /* MeasurementHashAlgo selected (SPDM_MEAS_HASH_*) */
    struct spdm_session sessions[SPDM_SESSIONS_MAX];
    uint8_t seq_num_size;
};

/**
 * struct spdm_responder - responder context. Caller-allocated (it is large:
 * see SPDM_* caps; keep it static or on the heap, not on a small stack);
 * fields are private.
 */
struct spdm_responder {
    struct spdm_conn c;
    uint32_t caps;
    uint32_t data_transfer_size;
    uint8_t heartbeat_period_s;
    uint8_t chain[SPDM_CERT_CHAIN_MAX]; /* SPDM cert-chain structure, slot 0 */
    size_t chain_len;
    uint8_t chain_hash[SPDM_HASH_SIZE]; /* DIGESTS entry for slot 0 */
    struct {
        uint8_t index;
        uint8_t type;
        bool is_digest;
        uint8_t value[SPDM_MEAS_VALUE_MAX];
        uint16_t value_len;
    } meas[SPDM_MEAS_BLOCKS_MAX];
    size_t n_meas;
    bool out_secured; /* the last response was a secured record */
    uint64_t now_ms;  /* the caller's clock, from spdm_responder_tick() */
    uint16_t next_rsp_session_id;
    const struct spdm_responder_ops *ops;
    void *ops_ctx;
};

/**
 * spdm_responder_init() - set up @r from @cfg (copied; @cfg and the buffers
 * it points at may be freed afterwards). Does not call @cfg->ops.
 * Return: SPDM_OK, SPDM_ERR_CONFIG (missing ops, chain too long or not DER,
 * leaf not P-384, too many/duplicate measurement indices, bad sizes), or
 * SPDM_ERR_INTERNAL (SHA-384 unavailable).
 */
int spdm_responder_init(struct spdm_responder *r,
                        const struct spdm_responder_config *cfg)
    __attribute__((warn_unused_result));

/**
 * spdm_responder_reset() - back to SPDM_CONN_NONE, every session ended
 * (ops->session_ended called for each) and wiped; e.g. after the transport
 * disconnected. The configuration is kept.
 */
void spdm_responder_reset(struct spdm_responder *r);

/**
 * spdm_responder_handle() - answer one request.
 * @secured: @msg is a secured-message record (session id first) rather than
 *        a plain SPDM message.
 * @msg/@msg_len: one transport payload, at most SPDM_RECORD_MAX bytes (more
 *        gives ERROR RequestTooLarge). Read once, never written.
 * @out/@out_cap/@out_len: the response payload; secured (with the request's
 *        session keys) when the request was secured and its record opened,
 *        plain otherwise. spdm_responder_out_secured() tells which. A
 *        record that does not open (unknown session, bad MAC, replay) gets a
 *        plain ERROR DecryptError and its session, when known, is ended.
 *        @out_cap of SPDM_RECORD_MAX always suffices.
 *
 * Every malformed, out-of-order or unsupported request gets the ERROR
 * DSP0274 names for it, and changes no state. Return: SPDM_OK (a response,
 * possibly ERROR, is in @out), SPDM_ERR_OUT_SIZE (@out_cap too small even
 * for ERROR), SPDM_ERR_INTERNAL (only when not even an ERROR could be built).
 */
int spdm_responder_handle(struct spdm_responder *r, bool secured,
                          const uint8_t *msg, size_t msg_len, uint8_t *out,
                          size_t out_cap, size_t *out_len)
    __attribute__((warn_unused_result));

/**
 * spdm_responder_tick() - the caller's clock, for the heartbeat (the engine
 * reads no clock itself). @now_ms is a monotonic time in milliseconds, any
 * origin, never going back: requests handled until the next call count as
 * received at @now_ms, and every session (in its handshake or established)
 * whose last request (KEY_EXCHANGE first) is more than twice
 * HeartbeatPeriod older than @now_ms is ended and wiped (ops->session_ended
 * called), as DSP0274 has the responder do. A later record of it gets
 * DecryptError like any unknown session. Callers that never tick never
 * expire a session. No effect on expiry with a period of 0.
 * Return: the number of sessions ended.
 */
size_t spdm_responder_tick(struct spdm_responder *r, uint64_t now_ms);

/**
 * spdm_responder_deadline() - the clock value (as in spdm_responder_tick())
 * after which the next session expires, so that a caller can sleep until
 * then; UINT64_MAX when no session can expire (none, or period 0).
 */
uint64_t spdm_responder_deadline(const struct spdm_responder *r);

/** spdm_responder_out_secured() - was the last response a secured record? */
bool spdm_responder_out_secured(const struct spdm_responder *r);

/** spdm_responder_state() - connection state, for tests and logs. */
enum spdm_conn_state spdm_responder_state(const struct spdm_responder *r);

/**
 * spdm_responder_session_state() - the state of session @session_id
 * (SPDM_SESSION_FREE when unknown).
 */
enum spdm_session_state
spdm_responder_session_state(const struct spdm_responder *r,
                             uint32_t session_id);

/* ------------------------------------------------------------------ */
/* Requester                                                           */
/* ------------------------------------------------------------------ */

/**
 * struct spdm_requester_ops - what the requester needs.
 * @random: fill @len bytes with fresh randomness (nonces, RandomData).
 *        Return 0 or non-zero. Required.
 */
struct spdm_requester_ops {
    int (*random)(void *ctx, uint8_t *buf, size_t len);
};

/**
 * struct spdm_requester_config - copied by spdm_requester_init().
 * @capabilities: GET_CAPABILITIES flags; 0 means SPDM_REQ_CAPS.
 * @data_transfer_size: our DataTransferSize (0: SPDM_MSG_MAX)
 * @seq_num_size: as for the responder (0 for PCI DOE)
 * @ops/@ops_ctx: callbacks
 */
struct spdm_requester_config {
    uint32_t capabilities;
    uint32_t data_transfer_size;
    uint8_t seq_num_size;
    const struct spdm_requester_ops *ops;
    void *ops_ctx;
};

/**
 * struct spdm_requester - requester context, caller-allocated (large, like
 * struct spdm_responder); fields are private.
 */
struct spdm_requester {
    struct spdm_conn c;
    uint32_t caps;
    uint32_t data_transfer_size;
    uint8_t pending; /* request code awaiting a response */
    uint8_t pending_param1;
    uint8_t pending_param2;
    uint8_t pending_req[SPDM_REQ_SAVE_MAX]; /* the request, for transcripts */
    size_t pending_req_len;
    uint32_t pending_session;
    uint8_t nonce[SPDM_NONCE_SIZE]; /* nonce of the pending request */
    uint8_t slot_mask;              /* from DIGESTS */
    uint8_t digests[8][SPDM_HASH_SIZE];
    bool have_digests;
    uint8_t chain[SPDM_CERT_CHAIN_MAX]; /* SPDM cert-chain structure */
    size_t chain_len;                   /* bytes received so far */
    size_t chain_total;                 /* 0 until the first portion */
    bool chain_done;                    /* validated, leaf key extracted */
    uint8_t chain_slot;
    uint8_t chain_hash[SPDM_HASH_SIZE];
    uint8_t leaf_pub[SPDM_P384_PUB_SIZE];
    uint8_t peer_error; /* ERROR code of the last response */
    uint8_t peer_error_data;
    uint8_t peer_heartbeat_period_s;
    uint16_t next_req_session_id;
    uint8_t scratch[SPDM_RECORD_MAX]; /* opened plaintext */
    const struct spdm_requester_ops *ops;
    void *ops_ctx;
};

/**
 * spdm_requester_init() - set up @q from @cfg. Return: SPDM_OK or
 * SPDM_ERR_CONFIG.
 */
int spdm_requester_init(struct spdm_requester *q,
                        const struct spdm_requester_config *cfg)
    __attribute__((warn_unused_result));

/**
 * spdm_requester_wipe() - end every session (their keyed record contexts
 * wiped and given back to src/crypto) and wipe all of @q; init again
 * before any other use.
 */
void spdm_requester_wipe(struct spdm_requester *q);

/*
 * The step API. Each operation is a build call that writes the bytes to send
 * into @out (capacity @cap, *@len set) and a parse call that takes the bytes
 * received and returns SPDM_OK with the verified result, or the enum
 * spdm_status saying what failed (for SPDM_ERR_PEER_ERROR,
 * spdm_req_peer_error() gives the ERROR code and data). Calls that take a
 * @session_id build a secured record and parse one when it is not
 * SPDM_NO_SESSION, and a plain message when it is. A build must be followed
 * by its own parse before the next build (SPDM_ERR_STATE otherwise); a parse
 * failure leaves the connection where it was before the build, except that
 * a failed FINISH, a decrypt failure or an ERROR inside a handshake ends
 * the session. None of these functions allocate or do I/O.
 */

/** spdm_req_peer_error() - ERROR code and data of the last parse. */
void spdm_req_peer_error(const struct spdm_requester *q, uint8_t *code,
                         uint8_t *data);

/* VCA. GET_VERSION restarts the connection (all sessions end). */
int spdm_req_get_version_build(struct spdm_requester *q, uint8_t *out,
                               size_t cap, size_t *len);
int spdm_req_get_version_parse(struct spdm_requester *q, const uint8_t *in,
                               size_t len) __attribute__((warn_unused_result));
int spdm_req_get_capabilities_build(struct spdm_requester *q, uint8_t *out,
                                    size_t cap, size_t *len);
/* @peer_caps (may be NULL) receives the responder's flags. */
int spdm_req_get_capabilities_parse(struct spdm_requester *q, const uint8_t *in,
                                    size_t len, uint32_t *peer_caps)
    __attribute__((warn_unused_result));
int spdm_req_negotiate_algorithms_build(struct spdm_requester *q, uint8_t *out,
                                        size_t cap, size_t *len);
int spdm_req_negotiate_algorithms_parse(struct spdm_requester *q,
                                        const uint8_t *in, size_t len)
    __attribute__((warn_unused_result));

/**
 * struct spdm_digests - DIGESTS: @slot_mask and one digest per set bit,
 * in slot order (@digests[i] is slot i's when bit i is set).
 */
struct spdm_digests {
    uint8_t slot_mask;
    uint8_t digests[8][SPDM_HASH_SIZE];
};
int spdm_req_get_digests_build(struct spdm_requester *q, uint32_t session_id,
                               uint8_t *out, size_t cap, size_t *len);
int spdm_req_get_digests_parse(struct spdm_requester *q, uint32_t session_id,
                               const uint8_t *in, size_t len,
                               struct spdm_digests *res)
    __attribute__((warn_unused_result));

/**
 * spdm_req_get_certificate_build() - ask for the next portion of slot
 * @slot's chain (offset = bytes received so far; length = what fits the
 * responder's DataTransferSize and ours). Call build/parse until parse sets
 * *@done. When the chain is complete the engine checks its Length, that the
 * RootHash is SHA-384 of the first certificate, that its hash matches the
 * DIGESTS entry (when digests were read), and takes the leaf's P-384 key.
 * The chain is NOT verified against a root: see spdm_req_cert_chain().
 */
int spdm_req_get_certificate_build(struct spdm_requester *q,
                                   uint32_t session_id, uint8_t slot,
                                   uint8_t *out, size_t cap, size_t *len);
int spdm_req_get_certificate_parse(struct spdm_requester *q,
                                   uint32_t session_id, const uint8_t *in,
                                   size_t len, bool *done)
    __attribute__((warn_unused_result));

/**
 * spdm_req_cert_chain() - the DER certificates (root..leaf, after the SPDM
 * header and root hash) of the complete chain, pointing into @q (valid until
 * the next GET_CERTIFICATE or GET_VERSION), for the caller to verify against
 * a pinned root through src/crypto. Return: SPDM_OK or SPDM_ERR_STATE.
 */
int spdm_req_cert_chain(const struct spdm_requester *q, const uint8_t **der,
                        size_t *der_len);

/** spdm_req_leaf_pubkey() - the uncompressed P-384 point signatures are
 * checked with. Return: SPDM_OK or SPDM_ERR_STATE. */
int spdm_req_leaf_pubkey(const struct spdm_requester *q,
                         uint8_t pub[SPDM_P384_PUB_SIZE]);

/**
 * struct spdm_challenge_result - CHALLENGE_AUTH, verified.
 * @meas_summary: the MeasurementSummaryHash (when one was asked for)
 */
struct spdm_challenge_result {
    uint8_t slot;
    uint8_t slot_mask;
    bool has_meas_summary;
    uint8_t meas_summary[SPDM_HASH_SIZE];
};
/* CHALLENGE needs the complete chain of @slot (its hash is checked). */
int spdm_req_challenge_build(struct spdm_requester *q, uint8_t slot,
                             uint8_t meas_summary_type, uint8_t *out,
                             size_t cap, size_t *len);
int spdm_req_challenge_parse(struct spdm_requester *q, const uint8_t *in,
                             size_t len, struct spdm_challenge_result *res)
    __attribute__((warn_unused_result));

/** struct spdm_meas_block - one parsed DMTF measurement block. */
struct spdm_meas_block {
    uint8_t index;
    uint8_t type; /* DMTFSpecMeasurementValueType, bit 7 = raw */
    uint16_t value_len;
    uint8_t value[SPDM_MEAS_VALUE_MAX];
};
/**
 * struct spdm_meas_result - MEASUREMENTS.
 * @total: for SPDM_MEAS_OP_COUNT, the number of indices
 * @meas_hash: the MeasurementHashAlgo the responder selected in ALGORITHMS
 *             (one SPDM_MEAS_HASH_* bit): the hash of every block given in
 *             digest form; the requester takes whichever the responder
 *             picked, as it offers none of its own
 * @signed_ok: a signature was requested and verified over L1/L2
 */
struct spdm_meas_result {
    uint8_t total;
    uint32_t meas_hash;
    size_t n_blocks;
    struct spdm_meas_block blocks[SPDM_MEAS_BLOCKS_MAX];
    bool signed_ok;
};
/**
 * spdm_req_get_measurements_build() - @op: SPDM_MEAS_OP_COUNT, an index,
 * or SPDM_MEAS_OP_ALL; @sign asks for a signature over L1/L2 (needs the
 * complete chain of @slot); @raw asks for raw bit streams.
 */
int spdm_req_get_measurements_build(struct spdm_requester *q,
                                    uint32_t session_id, uint8_t op, bool sign,
                                    bool raw, uint8_t slot, uint8_t *out,
                                    size_t cap, size_t *len);
int spdm_req_get_measurements_parse(struct spdm_requester *q,
                                    uint32_t session_id, const uint8_t *in,
                                    size_t len, struct spdm_meas_result *res)
    __attribute__((warn_unused_result));

/**
 * spdm_req_key_exchange_build() - start a session with the chain of @slot
 * (must be complete). Parse verifies the signature over TH1 and the
 * ResponderVerifyData, derives the handshake keys and returns the session
 * id in *@session_id (state SPDM_SESSION_HANDSHAKE).
 */
int spdm_req_key_exchange_build(struct spdm_requester *q, uint8_t slot,
                                uint8_t meas_summary_type, uint8_t *out,
                                size_t cap, size_t *len);
int spdm_req_key_exchange_parse(struct spdm_requester *q, const uint8_t *in,
                                size_t len, uint32_t *session_id)
    __attribute__((warn_unused_result));
/* FINISH, always a secured record under the handshake keys; parse derives
 * the data keys (state SPDM_SESSION_ESTABLISHED). */
int spdm_req_finish_build(struct spdm_requester *q, uint32_t session_id,
                          uint8_t *out, size_t cap, size_t *len);
int spdm_req_finish_parse(struct spdm_requester *q, uint32_t session_id,
                          const uint8_t *in, size_t len)
    __attribute__((warn_unused_result));

/* In-session requests (@session_id established). */
int spdm_req_heartbeat_build(struct spdm_requester *q, uint32_t session_id,
                             uint8_t *out, size_t cap, size_t *len);
int spdm_req_heartbeat_parse(struct spdm_requester *q, uint32_t session_id,
                             const uint8_t *in, size_t len)
    __attribute__((warn_unused_result));
/**
 * spdm_req_key_update_build() - @op SPDM_KEY_UPDATE_KEY (our request key),
 * SPDM_KEY_UPDATE_ALL_KEYS (both) or SPDM_KEY_UPDATE_VERIFY. @tag is echoed.
 * The request goes under the old request key, which changes once parse
 * accepts the ACK. For UpdateAllKeys the responder changes its response key
 * before sealing the ACK (as DMTF's libspdm does), so the ACK is opened with
 * the new response key.
 */
int spdm_req_key_update_build(struct spdm_requester *q, uint32_t session_id,
                              uint8_t op, uint8_t tag, uint8_t *out, size_t cap,
                              size_t *len);
int spdm_req_key_update_parse(struct spdm_requester *q, uint32_t session_id,
                              const uint8_t *in, size_t len)
    __attribute__((warn_unused_result));
int spdm_req_end_session_build(struct spdm_requester *q, uint32_t session_id,
                               uint8_t *out, size_t cap, size_t *len);
int spdm_req_end_session_parse(struct spdm_requester *q, uint32_t session_id,
                               const uint8_t *in, size_t len)
    __attribute__((warn_unused_result));

/**
 * spdm_req_vendor_defined_build() - VENDOR_DEFINED_REQUEST with
 * @standard_id, @vendor_id (at most 255 bytes; PCI-SIG: {0x01, 0x00}) and
 * @payload (at most SPDM_VENDOR_PAYLOAD_MAX). Parse checks the echoed
 * StandardID and VendorID and copies the response payload to @rsp.
 */
int spdm_req_vendor_defined_build(struct spdm_requester *q, uint32_t session_id,
                                  uint16_t standard_id,
                                  const uint8_t *vendor_id,
                                  size_t vendor_id_len, const uint8_t *payload,
                                  size_t payload_len, uint8_t *out, size_t cap,
                                  size_t *len);
int spdm_req_vendor_defined_parse(struct spdm_requester *q, uint32_t session_id,
                                  const uint8_t *in, size_t len, uint8_t *rsp,
                                  size_t rsp_cap, size_t *rsp_len)
    __attribute__((warn_unused_result));

/**
 * spdm_req_seal() - wrap the plain SPDM message @plain in a secured record
 * of @session_id with the next request sequence number (for messages the
 * step API does not build). spdm_req_open() - check and decrypt a response
 * record into @plain (capacity @cap). Both advance the sequence number only
 * on success. Return: SPDM_OK, SPDM_ERR_SESSION, SPDM_ERR_DECRYPT,
 * SPDM_ERR_OUT_SIZE, SPDM_ERR_SEQUENCE.
 */
int spdm_req_seal(struct spdm_requester *q, uint32_t session_id,
                  const uint8_t *plain, size_t plain_len, uint8_t *out,
                  size_t cap, size_t *len);
int spdm_req_open(struct spdm_requester *q, uint32_t session_id,
                  const uint8_t *in, size_t in_len, uint8_t *plain, size_t cap,
                  size_t *plain_len) __attribute__((warn_unused_result));

/** spdm_req_session_state() - state of @session_id on the requester. */
enum spdm_session_state spdm_req_session_state(const struct spdm_requester *q,
                                               uint32_t session_id);

#endif
