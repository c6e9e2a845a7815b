/* SPDX-License-Identifier: MIT */
/*
 * The TVM's side of the CoVE-IO ABI: COVG calls on a trustvio-tsm TVM
 * endpoint (src/tsmc), and the accept flow a TVM runs before it lets an
 * assigned interface into its trust boundary (docs/tee-io.md, "tsm-guest"):
 *
 *   get_device_link            SECURED_SPDM must be set
 *   transcript FULL and DEVICE_CERTIFICATE; the chain verifies under the
 *                              pinned root (OpenSSL, src/crypto/x509) and is
 *                              the FULL transcript's certificate element
 *   get_device_measurements    a fresh random 32-byte nonce, echoed; every
 *                              block equals the policy's, none missing
 *   get_interface_report       its MMIO ranges are the expected ones
 *   get_interface_state        Locked
 *   map_interface_mmio         each range (the host must have added it)
 *   start_interface, then get_interface_state until Running (the host
 *                              relays the START with tee_io_action)
 *
 * The first check that fails ends the flow with one line naming it.
 *
 * Policy file: one `index=hexdigest` line per measurement block, the index
 * decimal (1..254), the value the block's bytes in hex (a digest, or a raw
 * value such as a version string); blank lines and lines starting with '#'
 * are ignored. A block the device reports that the policy does not name,
 * a policy index the device does not report, or a different value is a
 * mismatch.
 *
 * Programs only (does I/O through tsmc). Caller-owned context.
 */
#ifndef TV_TSMGUEST_TSMGUEST_H
#define TV_TSMGUEST_TSMGUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdisp/tdisp.h"
#include "tsm/tsm.h"
#include "tsmc/tsmc.h"

/** struct tsmg_block - one measurement block (or one policy line). */
struct tsmg_block {
    uint8_t index;
    uint8_t type;
    uint16_t len;
    uint8_t value[SPDM_MEAS_VALUE_MAX];
};

/** struct tsmg_policy - the expected measurement blocks. */
struct tsmg_policy {
    struct tsmg_block b[SPDM_MEAS_BLOCKS_MAX];
    size_t n;
};

/** struct tsmg_meas - get_device_measurements' answer, decoded. */
struct tsmg_meas {
    uint8_t nonce[TDISP_NONCE_SIZE];
    uint32_t generation;
    struct tsmg_block b[SPDM_MEAS_BLOCKS_MAX];
    size_t n;
};

/** struct tsmg_range - an MMIO range, bytes. */
struct tsmg_range {
    uint64_t addr;
    uint64_t size;
};

/**
 * struct tsmg_accept_cfg - what the TVM expects.
 * @root:       the pinned device root CA (DER)
 * @policy:     the measurement policy
 * @mmio:       the expected MMIO ranges, in report order
 * @gpa:        where to map each range (@n_gpa == @n_mmio), or NULL to map
 *              each at its own address
 * @timeout_ms: how long to wait for Running
 * @poll_ms:    the pause between two get_interface_state calls
 */
struct tsmg_accept_cfg {
    const uint8_t *root;
    size_t root_len;
    const struct tsmg_policy *policy;
    const struct tsmg_range *mmio;
    size_t n_mmio;
    const uint64_t *gpa;
    size_t n_gpa;
    unsigned timeout_ms;
    unsigned poll_ms;
};

/** struct tsmg_accept_result - what the flow saw (also on failure). */
struct tsmg_accept_result {
    const char *step; /* the step that failed, or "running" */
    size_t chain_len;
    size_t n_certs;
    size_t transcript_len;
    size_t n_blocks;
    uint32_t generation;
    size_t n_ranges;
    unsigned polls;
};

/** struct tsmg - one TVM endpoint; large, keep it static. */
struct tsmg {
    struct tsmc *c;
    uint8_t buf[TSM_FRAME_OUT_MAX];
    uint8_t chain[TSM_FRAME_OUT_MAX];
    size_t chain_len;
    uint8_t report[TDISP_REPORT_MAX];
    size_t report_len;
    struct tsmg_meas meas;   /* tsmg_accept()'s */
    struct tdisp_report rep; /* tsmg_accept()'s */
    char err[512];
};

/** tsmg_init() - calls on @c (open). */
void tsmg_init(struct tsmg *g, struct tsmc *c);

/** tsmg_error() - one line: why the last function returned -1. */
const char *tsmg_error(const struct tsmg *g);

/**
 * tsmg_call() - one COVG call; 0 with @ret, -1 on a transport failure.
 * @out/@out_len may be NULL when the call writes nothing.
 */
int tsmg_call(struct tsmg *g, uint32_t fid, const uint64_t a[6],
              const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
              size_t *out_len, struct sbiret *ret)
    __attribute__((warn_unused_result));

/* The calls below return 0, or -1 with the reason (an SBI error included)
 * in tsmg_error(). */

/** tsmg_state() - get_interface_state into *@state (TSM_IF_*). */
int tsmg_state(struct tsmg *g, uint64_t ifid, long *state);

/** tsmg_link() - get_device_link's bits into *@link. */
int tsmg_link(struct tsmg *g, uint64_t ifid, long *link);

/**
 * tsmg_transcript() - one element (TSM_ELEM_*) into g->buf, *@len bytes.
 */
int tsmg_transcript(struct tsmg *g, uint64_t ifid, uint32_t elem, size_t *len);

/**
 * tsmg_measurements() - with @nonce (32 bytes); checks the echo, decodes the
 * blocks into @m.
 */
int tsmg_measurements(struct tsmg *g, uint64_t ifid, const uint8_t *nonce,
                      struct tsmg_meas *m);

/**
 * tsmg_meas_decode() - decode get_device_measurements' output (@len bytes:
 * nonce[32] | generation u32 | length u32 | {index u8, type u8, length u16,
 * value} blocks) into @m; the nonce must be @nonce. Sans I/O.
 * Return: 0, or -1 with the reason in @err.
 */
int tsmg_meas_decode(const uint8_t *buf, size_t len, const uint8_t *nonce,
                     struct tsmg_meas *m, char *err, size_t err_len);

/** tsmg_report() - the interface report into g->report, decoded into @r. */
int tsmg_report(struct tsmg *g, uint64_t ifid, struct tdisp_report *r);

/** tsmg_map() - map_interface_mmio(@ifid, @gpa, @hpa, @size). */
int tsmg_map(struct tsmg *g, uint64_t ifid, uint64_t gpa, uint64_t hpa,
             uint64_t size);

/** tsmg_start() / tsmg_stop() - start_interface / stop_interface. */
int tsmg_start(struct tsmg *g, uint64_t ifid);
int tsmg_stop(struct tsmg *g, uint64_t ifid);

/**
 * tsmg_verify_chain() - @chain (DER certificates, root first, @len bytes)
 * verifies under @root (DER) at the current time: the device's first
 * certificate is the root itself or issued under it, OpenSSL accepts the
 * leaf with @root as the only anchor. *@n_certs the count.
 */
int tsmg_verify_chain(struct tsmg *g, const uint8_t *chain, size_t len,
                      const uint8_t *root, size_t root_len, size_t *n_certs);

/**
 * tsmg_policy_parse() - the policy text (@len bytes) into @p.
 * Return: 0, or -1 with the line and the reason in @err.
 */
int tsmg_policy_parse(const char *text, size_t len, struct tsmg_policy *p,
                      char *err, size_t err_len);

/**
 * tsmg_policy_check() - every block of @m equals @p's, and @p names no
 * block @m lacks. Return: 0, or -1 with the first mismatch in @err.
 */
int tsmg_policy_check(const struct tsmg_policy *p, const struct tsmg_meas *m,
                      char *err, size_t err_len);

/**
 * tsmg_ranges_parse() - "ADDR+SIZE[,ADDR+SIZE...]" (hex or decimal, SIZE
 * with an optional k or m suffix) into @r (@cap entries), *@n parsed.
 * Return: 0, or -1 when malformed.
 */
int tsmg_ranges_parse(const char *s, struct tsmg_range *r, size_t cap,
                      size_t *n);

/**
 * tsmg_accept() - the accept flow above on interface @ifid.
 * Return: 0 when the interface runs, or -1 with one line in tsmg_error()
 * naming the first failed check (res->step says which).
 */
int tsmg_accept(struct tsmg *g, uint64_t ifid,
                const struct tsmg_accept_cfg *cfg,
                struct tsmg_accept_result *res);

#endif
