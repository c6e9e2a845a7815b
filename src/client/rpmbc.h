/* SPDX-License-Identifier: MIT */
/*
 * RPMB client: builds request frames, checks response frames (MAC, nonce,
 * req_resp, address, block_count, write counter) and runs the four RPMB
 * operations over a transport.
 *
 * A transport moves one request (a stream of 512-byte frames, all device-
 * readable) to the device and returns the response frames it wrote (all
 * device-writable); see struct rpmbc_transport_ops. The vhost-user
 * transport (rpmbc_vhu.h) and an in-process model loopback in the tests
 * are two implementations.
 *
 * Outcomes are told apart (enum rpmbc_status): the device refused the
 * operation with a result code (RPMBC_ERR_DEVICE; the code is in
 * rpmbc.last_result), the response was not what the device must answer
 * (tampering: MAC, nonce, req_resp, address, block_count, counter), or the
 * transport failed. rpmbc_status_class() groups them.
 *
 * No allocation: struct rpmbc holds the frame buffers (about 33 KiB), so
 * allocate it statically or on the heap in programs. One struct rpmbc may be
 * used by one thread at a time. Keys are never stored in the context; every
 * buffer that held a key or MAC is wiped before a function returns.
 */
#ifndef TV_CLIENT_RPMBC_H
#define TV_CLIENT_RPMBC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/rpmb_frame.h"
#include "common/bug.h"

/* Most blocks moved per request; larger operations are split. */
#define RPMBC_MAX_BATCH 64

/* Frame buffer: a full write batch plus its RESULT_READ frame. */
#define RPMBC_BUF_SIZE ((RPMBC_MAX_BATCH + 1) * RPMB_FRAME_LEN)

/**
 * struct rpmbc_transport_ops - how requests reach a device.
 * @call:       send @req_len bytes of request frames (device-readable) and
 *              offer @resp_cap bytes of device-writable space at @resp;
 *              store the bytes the device wrote (the used length) in
 *              *@resp_len. Return 0 or a negative errno.
 * @get_config: read the 3-byte virtio RPMB config (capacity in 128 KiB
 *              units, max_wr_cnt, max_rd_cnt). Return 0 or a negative errno.
 */
struct rpmbc_transport_ops {
    int (*call)(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                size_t resp_cap, size_t *resp_len);
    int (*get_config)(void *ctx, uint8_t config[3]);
};

/**
 * struct rpmbc_transport - a transport: its ops and their context.
 * @ops: the functions, never NULL
 * @ctx: passed to every op
 */
struct rpmbc_transport {
    const struct rpmbc_transport_ops *ops;
    void *ctx;
};

/**
 * enum rpmbc_status - outcome of a client operation (range 0..-99).
 * @RPMBC_OK:               success
 * @RPMBC_ERR_DEVICE:       the device answered with a failure result code
 *                          (see rpmbc.last_result)
 * @RPMBC_ERR_MAC:          response MAC mismatch: tampered or wrong key
 * @RPMBC_ERR_NONCE:        response nonce differs from the request's
 * @RPMBC_ERR_REQ_RESP:     response type differs from the expected one
 * @RPMBC_ERR_ADDRESS:      response address differs from the request's
 * @RPMBC_ERR_BLOCK_COUNT:  response block_count differs from the request's
 * @RPMBC_ERR_COUNTER:      write response counter is not the old one + 1
 * @RPMBC_ERR_SHORT:        the device wrote fewer bytes than the frames
 *                          expected
 * @RPMBC_ERR_TRANSPORT:    the transport failed (rpmbc.last_errno)
 * @RPMBC_ERR_CONFIG:       the device config is unusable (capacity 0)
 * @RPMBC_ERR_RANGE:        address/count outside the device or bad argument
 * @RPMBC_ERR_CRYPTO:       HMAC or random generator failure
 */
enum rpmbc_status {
    RPMBC_OK = 0,
    RPMBC_ERR_DEVICE = -1,
    RPMBC_ERR_MAC = -10,
    RPMBC_ERR_NONCE = -11,
    RPMBC_ERR_REQ_RESP = -12,
    RPMBC_ERR_ADDRESS = -13,
    RPMBC_ERR_BLOCK_COUNT = -14,
    RPMBC_ERR_COUNTER = -15,
    RPMBC_ERR_SHORT = -16,
    RPMBC_ERR_TRANSPORT = -20,
    RPMBC_ERR_CONFIG = -21,
    RPMBC_ERR_RANGE = -30,
    RPMBC_ERR_CRYPTO = -31,
};

/**
 * enum rpmbc_class - what kind of outcome a status is; the CLI exit codes.
 */
enum rpmbc_class {
    RPMBC_CLASS_OK = 0,        /* success */
    RPMBC_CLASS_DEVICE = 1,    /* device result code */
    RPMBC_CLASS_USAGE = 2,     /* bad arguments */
    RPMBC_CLASS_TAMPER = 3,    /* response failed a check */
    RPMBC_CLASS_TRANSPORT = 4, /* transport, config or local crypto */
};

/**
 * struct rpmbc_config - the device config.
 * @capacity_units: size in 128 KiB units
 * @max_wr_cnt:     most blocks per write request, 0 = no limit
 * @max_rd_cnt:     most blocks per read request, 0 = no limit
 */
struct rpmbc_config {
    uint8_t capacity_units;
    uint8_t max_wr_cnt;
    uint8_t max_rd_cnt;
};

/**
 * struct rpmbc - a client bound to one transport.
 * @tr:           the transport
 * @config:       the device config, valid once @have_config is set
 * @have_config:  @config was read
 * @last_result:  result field of the last response (0 when none came)
 * @last_errno:   negative errno of the last transport failure
 * @last_counter: write counter from the last read-counter or write
 * @req:          request frame buffer
 * @resp:         response frame buffer
 */
struct rpmbc {
    struct rpmbc_transport tr;
    struct rpmbc_config config;
    bool have_config;
    uint16_t last_result;
    int last_errno;
    uint32_t last_counter;
    uint8_t req[RPMBC_BUF_SIZE];
    uint8_t resp[RPMBC_BUF_SIZE];
};

/**
 * rpmbc_init() - bind @c to the transport @tr (copied). Does no I/O.
 */
void rpmbc_init(struct rpmbc *c, const struct rpmbc_transport *tr);

/**
 * rpmbc_get_config() - read (once, then cached) the device config.
 * @cfg: receives it; may be NULL to just fill the cache.
 * Return: RPMBC_OK, RPMBC_ERR_TRANSPORT or RPMBC_ERR_CONFIG (capacity 0 or
 * above 0x80 units).
 */
TV_MUST_CHECK
enum rpmbc_status rpmbc_get_config(struct rpmbc *c, struct rpmbc_config *cfg);

/**
 * rpmbc_capacity_blocks() - capacity in 256-byte blocks (0 before config).
 */
uint32_t rpmbc_capacity_blocks(const struct rpmbc *c);

/**
 * rpmbc_program_key() - program the one-time authentication key:
 * PROGRAM_KEY + RESULT_READ, then check the PROGRAM_KEY response.
 * @key: 32 bytes; the request frame holding it is wiped before return.
 * Return: RPMBC_OK, RPMBC_ERR_DEVICE (e.g. a key is already programmed),
 * a tampering status or RPMBC_ERR_TRANSPORT.
 */
TV_MUST_CHECK
enum rpmbc_status rpmbc_program_key(struct rpmbc *c, const uint8_t key[32]);

/**
 * rpmbc_read_counter() - GET_WRITE_COUNTER with a fresh random nonce.
 * @key:     when not NULL, the response MAC is checked with it
 * @counter: receives the write counter on success
 *
 * The nonce is always checked. A result with only the expired flag set is
 * success (rpmbc.last_result keeps the flag).
 * Return: RPMBC_OK, RPMBC_ERR_DEVICE (e.g. NO_AUTH_KEY), a tampering
 * status, RPMBC_ERR_CRYPTO or RPMBC_ERR_TRANSPORT.
 */
TV_MUST_CHECK
enum rpmbc_status rpmbc_read_counter(struct rpmbc *c, const uint8_t *key,
                                     uint32_t *counter);

/**
 * rpmbc_write_blocks() - authenticated write of @n_blocks 256-byte blocks
 * from @data at block @address.
 *
 * Reads the counter itself (MAC- and nonce-checked), then sends DATA_WRITE
 * requests of at most max_wr_cnt (and RPMBC_MAX_BATCH) blocks each, every
 * one followed by RESULT_READ, and checks each response: req_resp 0x0300,
 * result, MAC, address and counter == old + 1. A split write is not atomic
 * as a whole: on failure, requests before the failing one are written
 * (rpmbc.last_counter tells how far it got).
 * Return: RPMBC_OK, RPMBC_ERR_RANGE (n_blocks 0 or past the capacity),
 * RPMBC_ERR_DEVICE, a tampering status, RPMBC_ERR_CRYPTO or
 * RPMBC_ERR_TRANSPORT.
 */
TV_MUST_CHECK
enum rpmbc_status rpmbc_write_blocks(struct rpmbc *c, const uint8_t key[32],
                                     uint16_t address, const uint8_t *data,
                                     size_t n_blocks);

/**
 * rpmbc_read_blocks() - read @n_blocks blocks at @address into @out
 * (@n_blocks * 256 bytes).
 * @key: when not NULL, the MAC over each response's frames is checked
 *
 * Sends DATA_READ requests of at most max_rd_cnt (and RPMBC_MAX_BATCH)
 * blocks, each with a fresh nonce, and checks in every response frame
 * req_resp 0x0400, result, nonce, start address and block_count. @out is
 * wiped when a check fails.
 * Return: as rpmbc_write_blocks().
 */
TV_MUST_CHECK
enum rpmbc_status rpmbc_read_blocks(struct rpmbc *c, const uint8_t *key,
                                    uint16_t address, uint8_t *out,
                                    size_t n_blocks);

/**
 * rpmbc_mac() - HMAC-SHA256 over bytes 228..511 of @n_frames frames at
 * @frames, concatenated, into @mac.
 * Return: 0 or -1 on a crypto failure.
 */
TV_MUST_CHECK
int rpmbc_mac(const uint8_t key[32], const uint8_t *frames, size_t n_frames,
              uint8_t mac[32]);

/** rpmbc_strerror() - a short English description of @st. */
const char *rpmbc_strerror(enum rpmbc_status st);

/** rpmbc_status_class() - the outcome class (and CLI exit code) of @st. */
enum rpmbc_class rpmbc_status_class(enum rpmbc_status st);

/**
 * struct rpmbc_tamper - a transport wrapper for tests that flips bits in
 * responses, to prove that tampering is detected.
 * @inner:     the real transport
 * @offset:    byte offset in the response to flip
 * @xor_mask:  bits to flip (0 = pass through)
 * @skip_cnt:  calls to pass through untouched before flipping
 * @n_calls:   calls seen so far
 */
struct rpmbc_tamper {
    struct rpmbc_transport inner;
    size_t offset;
    uint8_t xor_mask;
    unsigned skip_cnt;
    unsigned n_calls;
};

/**
 * rpmbc_tamper_transport() - a transport over @t, which must outlive it.
 * Every call after the first @t->skip_cnt gets @t->xor_mask applied at
 * @t->offset of the response, if the device wrote that far.
 */
struct rpmbc_transport rpmbc_tamper_transport(struct rpmbc_tamper *t);

#endif
