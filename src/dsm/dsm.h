/* SPDX-License-Identifier: MIT */
/*
 * The device security manager's glue: one DOE data object (or one socket
 * message) in, one out. Binds the SPDM responder to the TDISP and IDE_KM
 * responders (VENDOR_DEFINED, PCI-SIG) and answers DOE discovery. No I/O:
 * the trustvio-dsm daemon, the integration tests and the benchmark all
 * drive dsm_socket_message().
 *
 * Shared memory: every input is read once (it is already a private copy:
 * the caller received it from a socket into its own buffer) and every
 * output is built completely before the caller sends it.
 */
#ifndef TV_DSM_DSM_H
#define TV_DSM_DSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doe/doe.h"
#include "spdm/spdm.h"
#include "tdisp/idekm.h"
#include "tdisp/tdisp.h"

struct crypto_key;

/**
 * struct dsm_config - what the daemon's options say.
 * @key: the device leaf's private key (stays owned by the caller, outlives
 *       the struct dsm)
 * @chain/@chain_len: DER certificates, CA first, leaf last
 * @meas/@n_meas: measurement blocks (copied by the engine)
 * @tdisp: the TDIs
 * @bus/@devfn/@segment: the function, as IDE_KM's QUERY_RESP reports it
 * @heartbeat_period_s: the HeartbeatPeriod KEY_EXCHANGE_RSP advertises
 *       (1..255; 0 = none); a session quiet for twice as long ends at the
 *       next dsm_tick()
 */
struct dsm_config {
    const struct crypto_key *key;
    const uint8_t *chain;
    size_t chain_len;
    const struct spdm_meas_config *meas;
    size_t n_meas;
    struct tdisp_config tdisp;
    uint8_t bus, devfn, segment;
    uint8_t heartbeat_period_s;
};

/** struct dsm - the device. Large: keep it static. */
struct dsm {
    struct spdm_responder spdm;
    struct tdisp tdisp;
    struct idekm idekm;
    const struct crypto_key *key;
    uint8_t spdm_out[SPDM_RECORD_MAX];
    bool connected; /* a peer spoke since the last reset */
};

/* Largest socket message this device sends or accepts, bytes. */
#define DSM_SOCK_MAX (SOCK_HEADER_SIZE + DOE_MAX_OBJECT_SIZE)

/**
 * dsm_init() - set up @d. Return: 0, or -1 with @err set (bad chain,
 * measurements or TDIs).
 */
int dsm_init(struct dsm *d, const struct dsm_config *cfg, char *err,
             size_t err_len);

/**
 * dsm_reset() - the peer went away: the SPDM connection restarts, every
 * session ends (TDIs it locked go to ERROR) and every IDE key is wiped, the
 * key slots EMPTY and the stream blocks free as after dsm_init() (the
 * streams go Insecure: their keys' session is gone). A session that ends
 * on its own (END_SESSION, a decrypt error) wipes the streams it
 * programmed.
 */
void dsm_reset(struct dsm *d);

/**
 * dsm_doe() - answer one DOE object @in (@in_len bytes) into @out.
 * Return: the response object's size; 0 when @in is not a DOE object this
 * device answers (bad framing, another vendor or type, a malformed
 * discovery request) — the caller still answers, with an empty payload.
 * Negative on an internal failure.
 */
long dsm_doe(struct dsm *d, const uint8_t *in, size_t in_len, uint8_t *out,
             size_t out_cap);

/**
 * enum dsm_verdict - what the caller does after dsm_socket_message().
 */
enum dsm_verdict {
    DSM_REPLY = 0,     /* send @out and keep serving */
    DSM_REPLY_CLOSE,   /* send @out, then close the connection (SHUTDOWN) */
    DSM_INTERNAL = -1, /* internal failure: log, close */
};

/**
 * dsm_socket_message() - answer one socket message: @h is its header,
 * @payload its @h->payload_len bytes (the caller refuses lengths over
 * DOE_MAX_OBJECT_SIZE before reading them). The reply (header + payload)
 * goes to @out (capacity at least DSM_SOCK_MAX), *@out_len set.
 * TEST is answered with TEST "Server Hello!\0"; SHUTDOWN with SHUTDOWN and
 * no payload; NORMAL with transport PCI_DOE with NORMAL and the response
 * object (empty when none); any other command or transport with UNKNOWN
 * and no payload.
 */
enum dsm_verdict dsm_socket_message(struct dsm *d, const struct sock_header *h,
                                    const uint8_t *payload, uint8_t *out,
                                    size_t out_cap, size_t *out_len);

/**
 * dsm_tick() - the daemon's monotonic clock in ms, before each message and
 * when dsm_deadline() passes: ends the sessions whose heartbeat expired
 * (TDIs they locked go to ERROR). Return: how many ended.
 */
size_t dsm_tick(struct dsm *d, uint64_t now_ms);

/**
 * dsm_deadline() - when (the dsm_tick() clock) the next session expires,
 * UINT64_MAX when none can.
 */
uint64_t dsm_deadline(const struct dsm *d);

/** dsm_wipe() - wipe every key and session (exit). */
void dsm_wipe(struct dsm *d);

#endif
