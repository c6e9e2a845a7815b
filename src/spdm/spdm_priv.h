/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the SPDM responder and requester: the DSP0274 1.2 key
 * schedule, the DSP0277 record layer, transcripts and signing contexts.
 */
#ifndef TV_SPDM_SPDM_PRIV_H
#define TV_SPDM_SPDM_PRIV_H

#include "spdm/spdm.h"

/* DSP0274 1.2 15.1: "dmtf-spdm-v1.2.*" four times, then zero padding and the
 * operation's context string, 100 bytes in all. */
#define SPDM_SIGN_CTX_SIZE   100
#define SPDM_SIGN_INPUT_SIZE (SPDM_SIGN_CTX_SIZE + SPDM_HASH_SIZE)

#define SPDM_CTX_CHALLENGE_AUTH "responder-challenge_auth signing"
#define SPDM_CTX_MEASUREMENTS   "responder-measurements signing"
#define SPDM_CTX_KEY_EXCHANGE   "responder-key_exchange_rsp signing"

/* Fixed message sizes. */
#define SPDM_HDR_SIZE       4
#define SPDM_GET_CAPS_SIZE  20
#define SPDM_CAPS_SIZE      20
#define SPDM_NEG_ALGS_HDR   32
#define SPDM_ALGS_HDR       36
#define SPDM_GET_CERT_SIZE  8
#define SPDM_CERT_HDR_SIZE  8
#define SPDM_CHALLENGE_SIZE (4 + SPDM_NONCE_SIZE)
#define SPDM_KE_FIXED_SIZE                                                     \
    (4 + 2 + 1 + 1 + SPDM_RANDOM_SIZE + SPDM_DHE_SIZE + 2)
#define SPDM_MIN_TRANSFER    42     /* MinDataTransferSize in 1.2 */
#define SPDM_SECURED_VERSION 0x1100 /* DSP0277 1.1 */

/* A response code's request, and the reverse. */
#define SPDM_OPAQUE_SEL_SIZE  12
#define SPDM_OPAQUE_LIST_SIZE 16

/* Opaque data (format 1, DSP0277 secured message version elements). */
size_t spdm_opaque_version_selection(uint8_t out[SPDM_OPAQUE_SEL_SIZE]);
size_t spdm_opaque_version_list(uint8_t out[SPDM_OPAQUE_LIST_SIZE]);
/* Does the format-1 opaque data @p carry element @sm_id (0 selection, 1
 * list) naming secured version 1.1? -1 malformed, 0 absent, 1 present. */
int spdm_opaque_find_version(const uint8_t *p, size_t len, uint8_t sm_id);

/* Append @n bytes to a transcript of capacity @cap. */
bool spdm_ts_add(uint8_t *buf, size_t *len, size_t cap, const void *p,
                 size_t n);

/* signing input: context for @label, then @hash */
void spdm_sign_input(const char *label, const uint8_t hash[SPDM_HASH_SIZE],
                     uint8_t out[SPDM_SIGN_INPUT_SIZE]);

/* Hash of vca || ct || th, where ct may be NULL. */
int spdm_th_hash(const struct spdm_conn *c, const uint8_t *ct,
                 const struct spdm_session *s, uint8_t out[SPDM_HASH_SIZE]);

/* Key schedule. */
int spdm_ks_handshake(struct spdm_session *s, const uint8_t dhe[SPDM_HASH_SIZE],
                      const uint8_t th1[SPDM_HASH_SIZE]);
int spdm_ks_data(struct spdm_session *s, const uint8_t th2[SPDM_HASH_SIZE]);
int spdm_ks_update(struct spdm_aead_dir *d);
int spdm_finished_hmac(const uint8_t key[SPDM_HASH_SIZE],
                       const uint8_t th[SPDM_HASH_SIZE],
                       uint8_t out[SPDM_HASH_SIZE]);

/* Record layer. */
int spdm_rec_seal(const struct spdm_conn *c, const struct spdm_session *s,
                  struct spdm_aead_dir *d, const uint8_t *plain,
                  size_t plain_len, uint8_t *out, size_t cap, size_t *len);
int spdm_rec_open(const struct spdm_conn *c, const struct spdm_session *s,
                  struct spdm_aead_dir *d, const uint8_t *in, size_t in_len,
                  uint8_t *plain, size_t cap, size_t *plain_len);
/* Session id of a record, or false when too short. */
bool spdm_rec_session_id(const uint8_t *in, size_t len, uint32_t *id);

struct spdm_session *spdm_session_find(struct spdm_conn *c, uint32_t id);
struct spdm_session *spdm_session_alloc(struct spdm_conn *c);
void spdm_session_free(struct spdm_session *s);
void spdm_conn_reset(struct spdm_conn *c);

/* Encode one measurement block; return bytes written or 0 when it does
 * not fit. */
size_t spdm_meas_block_put(uint8_t *out, size_t cap, uint8_t index,
                           uint8_t type, const uint8_t *value,
                           uint16_t value_len);

#endif
