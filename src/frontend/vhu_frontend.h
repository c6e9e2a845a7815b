/* SPDX-License-Identifier: MIT */
/*
 * vhost-user frontend: plays the VMM (QEMU's generic vhost-user device) and
 * the guest's virtio driver against a vhost-user backend daemon, so that
 * tools, tests, benchmarks and shims can talk to vhost-user-nsm and
 * vhost-user-rpmb without a virtual machine.
 *
 * What it does, in the order QEMU does it (QEMU hw/virtio/vhost-user.c):
 *  - connect:   GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES
 *               (MQ, REPLY_ACK, CONFIG, CONFIGURE_MEM_SLOTS, STATUS as
 *               offered and allowed by the options), GET_QUEUE_NUM (MQ),
 *               GET_MAX_MEM_SLOTS (CONFIGURE_MEM_SLOTS), SET_OWNER,
 *               GET_FEATURES, SET_VRING_CALL (a "masked" eventfd),
 *               SET_VRING_ERR;
 *  - DRIVER_OK: SET_FEATURES (VERSION_1 | EVENT_IDX | INDIRECT as offered,
 *               plus bit 30), [GET_STATUS, SET_STATUS(FEATURES_OK)],
 *               ADD_MEM_REG per region (or SET_MEM_TABLE without
 *               CONFIGURE_MEM_SLOTS), SET_VRING_NUM, SET_VRING_BASE(0),
 *               SET_VRING_ADDR, SET_VRING_KICK, SET_VRING_CALL (the real
 *               eventfd), SET_VRING_ENABLE(1), [GET_STATUS,
 *               SET_STATUS(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK),
 *               GET_STATUS (must show DRIVER_OK, not FAILED/NEEDS_RESET)];
 *  - stop:      SET_VRING_ENABLE(0), GET_VRING_BASE (checked against the
 *               driver's avail index), [SET_STATUS(0)], only when asked
 *               (vhu_fe_stop(), QEMU's poweroff: a device reset);
 *  - close:     just disconnect, like a VMM that exits. A backend then
 *               applies its disconnect policy (e.g. --keep-state).
 * With REPLY_ACK, the messages QEMU sends with NEED_REPLY carry it and a
 * non-zero acknowledgement fails the step.
 *
 * Guest memory is one memfd (1 MiB by default, sealed against shrinking and
 * growing as QEMU seals it) shared with the backend as one or more regions.
 * Guest-physical addresses start at a non-zero base and
 * regions are separated by holes, while the front-end virtual addresses sent
 * in the messages are this process's own mapping, so a backend that confuses
 * the address spaces, or ignores mmap_offset, fails. One split virtqueue
 * (index 0) lives in the first region; request and response bytes are
 * bounced through guest memory, never shared with the caller's buffers.
 *
 * Requests are exchanged as the Linux drivers do: vhu_fe_nsm_call() adds two
 * chains (drivers/misc/nsm.c), vhu_fe_call() one chain of device-readable
 * then device-writable descriptors (RPMB, virtio-spec device-types/rpmb),
 * optionally through an indirect table and optionally split into many
 * descriptors. Completion is interrupt-driven (sleep on the call eventfd, with
 * used_event when EVENT_IDX is negotiated) or busy polling of the used ring.
 * Kicks honour avail_event / VRING_USED_F_NO_NOTIFY.
 *
 * Errors are negative errnos. A device that breaks the ring protocol (an
 * unknown used id, a used length beyond the writable bytes, a signalled
 * error eventfd), a timeout or a lost connection make the frontend broken:
 * every later call returns -EIO and the caller must reconnect.
 *
 * Allocation: vhu_fe_connect() allocates the context, its scratch buffer and
 * the guest memory; calls never allocate. Concurrency: calls on one
 * struct vhu_fe are serialized by an internal mutex (one request in flight,
 * like the NSM driver's mutex); distinct frontends are independent.
 */
#ifndef TV_FRONTEND_VHU_FRONTEND_H
#define TV_FRONTEND_VHU_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/bug.h"

/* Defaults of struct vhu_fe_options (a zero field selects the default). */
#define VHU_FE_DEFAULT_QUEUE_SIZE 64u           /* descriptors (QEMU vq_size) */
#define VHU_FE_DEFAULT_MEM_SIZE   (1u << 20)    /* guest memory, bytes */
#define VHU_FE_DEFAULT_GPA_BASE   0x40000000ull /* first guest-phys address */
#define VHU_FE_DEFAULT_N_REGIONS  2u            /* like QEMU's pc layout */
#define VHU_FE_DEFAULT_TIMEOUT_MS 120000u       /* NSM_DEFAULT_TIMEOUT_MSECS */
#define VHU_FE_MAX_REGIONS        8u            /* VHOST_USER_MEM_REGIONS */

/* NSM chain sizes (drivers/misc/nsm.c, common/caps.h). */
#define VHU_FE_NSM_REQ_MAX  0x1000u /* largest request, bytes */
#define VHU_FE_NSM_RESP_LEN 0x3000u /* writable bytes offered, as Linux */

/* Flags of struct vhu_fe_options.flags. */
#define VHU_FE_POLL         (1u << 0) /* busy-poll the used ring */
#define VHU_FE_NO_EVENT_IDX (1u << 1) /* do not accept EVENT_IDX */
#define VHU_FE_NO_INDIRECT  (1u << 2) /* do not accept INDIRECT_DESC */
#define VHU_FE_NO_REPLY_ACK (1u << 3) /* do not accept REPLY_ACK */
#define VHU_FE_MEM_TABLE    (1u << 4) /* SET_MEM_TABLE, not ADD_MEM_REG */
#define VHU_FE_NO_STATUS    (1u << 5) /* do not accept STATUS */
#define VHU_FE_INDIRECT     (1u << 6) /* vhu_fe_call(): indirect table */
#define VHU_FE_NO_INIT_KICK (1u << 7) /* no spurious kick after SET_KICK */

/**
 * enum vhu_fe_kind - which entry point produced the bytes given to a
 * tamper hook.
 */
enum vhu_fe_kind {
    VHU_FE_KIND_NSM = 0,  /* vhu_fe_nsm_call() response chain */
    VHU_FE_KIND_CALL = 1, /* vhu_fe_call() writable buffers */
};

/**
 * typedef vhu_fe_tamper_fn - test hook run on what the device wrote.
 * @ctx:  struct vhu_fe_options.tamper_ctx
 * @kind: which call
 * @buf:  the device-written bytes, in a private copy (already out of guest
 *        memory); the hook may change them in place
 * @len:  bytes the device reported (the used length)
 * @cap:  bytes offered to the device (writable capacity of the chain)
 *
 * Runs with the frontend's mutex held, before the bytes reach the caller.
 * Return: the length to continue with, <= @cap (return @len to keep it).
 */
typedef size_t (*vhu_fe_tamper_fn)(void *ctx, enum vhu_fe_kind kind,
                                   uint8_t *buf, size_t len, size_t cap);

/**
 * struct vhu_fe_options - how to connect. All-zero (or a NULL pointer)
 * means the defaults above.
 * @queue_size:      descriptors in the ring, a power of two <= 32768
 * @mem_size:        guest memory bytes (multiple of 4 KiB, >= 64 KiB)
 * @gpa_base:        guest-physical address of the first region (4 KiB
 *                   aligned)
 * @n_regions:       regions the memory is split into (1..8); regions are
 *                   separated by a 1 MiB guest-physical hole
 * @timeout_ms:      how long a request or a reply may take
 * @connect_wait_ms: keep retrying connect() this long while the socket is
 *                   missing or refuses (a daemon still starting); 0 = once
 * @split_len:       vhu_fe_call(): largest descriptor in bytes (buffers are
 *                   cut into several descriptors); 0 = one per buffer
 *                   (buffers still break at region boundaries)
 * @flags:           VHU_FE_* flags
 * @tamper:          optional test hook, see vhu_fe_tamper_fn
 * @tamper_ctx:      passed to @tamper
 */
struct vhu_fe_options {
    uint32_t queue_size;
    uint32_t mem_size;
    uint64_t gpa_base;
    uint32_t n_regions;
    uint32_t timeout_ms;
    uint32_t connect_wait_ms;
    uint32_t split_len;
    uint32_t flags;
    vhu_fe_tamper_fn tamper;
    void *tamper_ctx;
};

/**
 * struct vhu_fe_info - what was negotiated, and counters.
 * @features:          virtio features offered by the backend
 * @acked_features:    virtio features sent in SET_FEATURES
 * @protocol_features: protocol features offered by the backend
 * @acked_protocol:    protocol features sent in SET_PROTOCOL_FEATURES
 * @queue_num:         GET_QUEUE_NUM answer (0 without MQ)
 * @max_mem_slots:     GET_MAX_MEM_SLOTS answer (0 without the feature)
 * @status:            last GET_STATUS answer (0 without STATUS)
 * @queue_size:        ring size in use
 * @n_requests:        requests completed (an NSM call counts once)
 * @n_kicks:           kick eventfd writes (including the initial one)
 * @n_kicks_suppressed: kicks the device's event index / flags suppressed
 * @n_wakeups:         call eventfd reads that returned a count
 * @last_used_len:     used length of the last response chain, before any
 *                     truncation to the caller's capacity
 */
struct vhu_fe_info {
    uint64_t features;
    uint64_t acked_features;
    uint64_t protocol_features;
    uint64_t acked_protocol;
    uint64_t queue_num;
    uint64_t max_mem_slots;
    uint8_t status;
    uint32_t queue_size;
    uint64_t n_requests;
    uint64_t n_kicks;
    uint64_t n_kicks_suppressed;
    uint64_t n_wakeups;
    uint32_t last_used_len;
};

/* Opaque frontend context. */
struct vhu_fe;

/**
 * vhu_fe_connect() - connect to the backend listening on @socket_path,
 * negotiate and bring queue 0 up (DRIVER_OK).
 * @socket_path: UNIX socket path
 * @opts:        options, or NULL for the defaults
 * @err:         receives a one-line reason on failure (may be NULL)
 * @err_len:     size of @err in bytes
 *
 * Allocates. Does not install signal handlers; writes use MSG_NOSIGNAL.
 * Return: the frontend, or NULL with errno set (ENOENT, ECONNREFUSED,
 * EPROTO for a backend that misbehaves, EINVAL for bad options, ENOMEM,
 * ETIMEDOUT) and @err filled.
 */
struct vhu_fe *vhu_fe_connect(const char *socket_path,
                              const struct vhu_fe_options *opts, char *err,
                              size_t err_len);

/**
 * vhu_fe_connect_fd() - as vhu_fe_connect() over an already connected
 * stream socket @fd (e.g. one end of a socketpair). Takes ownership of @fd,
 * also on failure.
 */
struct vhu_fe *vhu_fe_connect_fd(int fd, const struct vhu_fe_options *opts,
                                 char *err, size_t err_len);

/**
 * vhu_fe_stop() - stop the queue as QEMU does at poweroff:
 * SET_VRING_ENABLE(0), GET_VRING_BASE, SET_STATUS(0) (with STATUS, this
 * resets the device: backends power-cycle their state on it).
 *
 * Checks that the backend's answer to GET_VRING_BASE equals the number of
 * chains made available. Afterwards calls fail with -EIO. Idempotent.
 * Return: 0, -EPROTO if the ring base disagrees, or another negative errno.
 */
TV_MUST_CHECK
int vhu_fe_stop(struct vhu_fe *fe);

/**
 * vhu_fe_close() - disconnect and free. Sends nothing: the backend sees a
 * front-end that went away (no device reset), so a daemon started with
 * --keep-state keeps its state for the next connection. Call vhu_fe_stop()
 * first for QEMU's orderly poweroff.
 * @fe: may be NULL
 */
void vhu_fe_close(struct vhu_fe *fe);

/**
 * vhu_fe_nsm_call() - one NSM request as drivers/misc/nsm.c sends it.
 * @fe:        the frontend
 * @req:       request bytes (1..VHU_FE_NSM_REQ_MAX)
 * @req_len:   bytes at @req
 * @resp:      receives the response
 * @resp_cap:  bytes available at @resp
 * @resp_len:  receives the bytes copied to @resp
 *
 * Adds a device-readable chain holding exactly the request, then a
 * device-writable chain of VHU_FE_NSM_RESP_LEN bytes, kicks once and waits
 * for both used entries. The first used entry must be the request chain.
 * Like the kernel's NSM_IOCTL_RAW, a response longer than @resp_cap is
 * truncated silently and *@resp_len is the number of bytes copied, i.e.
 * min(used length, @resp_cap); the full used length is in
 * vhu_fe_info.last_used_len.
 *
 * Return: 0; -EINVAL (bad lengths), -ENODATA (the response chain came back
 * first: both chains are consumed and the frontend stays usable),
 * -ETIMEDOUT, -EIO (broken: protocol violation or earlier failure),
 * -ECONNRESET (backend gone).
 */
TV_MUST_CHECK
int vhu_fe_nsm_call(struct vhu_fe *fe, const uint8_t *req, size_t req_len,
                    uint8_t *resp, size_t resp_cap, size_t *resp_len);

/**
 * vhu_fe_call() - one chain: device-readable buffers, then device-writable
 * buffers (the RPMB layout).
 * @fe:       the frontend
 * @out:      buffers the device reads, in order (copied into guest memory)
 * @n_out:    entries of @out
 * @in:       buffers the device writes, in order; filled from guest memory
 *            up to the used length, the rest left untouched
 * @n_in:     entries of @in
 * @used_len: receives the used length (bytes the device wrote); may be NULL
 *
 * Zero-length buffers are skipped. With VHU_FE_INDIRECT (and INDIRECT_DESC
 * negotiated) the chain is one descriptor pointing at an indirect table;
 * with @split_len set, buffers are cut into descriptors of at most that
 * many bytes. The total of all buffers must fit the guest memory's data
 * area (about mem_size minus the ring).
 *
 * Return: 0; -EINVAL (nothing to send, too many descriptors), -EMSGSIZE
 * (buffers larger than the data area), -EOPNOTSUPP (VHU_FE_INDIRECT without
 * INDIRECT_DESC), -ETIMEDOUT, -EIO, -ECONNRESET.
 */
TV_MUST_CHECK
int vhu_fe_call(struct vhu_fe *fe, const struct iovec *out, size_t n_out,
                const struct iovec *in, size_t n_in, size_t *used_len);

/**
 * vhu_fe_get_config() - read @len bytes of device config at @offset
 * (GET_CONFIG; QEMU sends one per guest config access, uncached).
 * Return: 0; -EOPNOTSUPP without the CONFIG protocol feature, -EINVAL for
 * @len 0 or > 256, -EPROTO for an error or wrongly sized reply, -EIO,
 * -ECONNRESET.
 */
TV_MUST_CHECK
int vhu_fe_get_config(struct vhu_fe *fe, uint32_t offset, uint8_t *buf,
                      uint32_t len);

/** vhu_fe_get_info() - copy negotiated values and counters into @info. */
void vhu_fe_get_info(struct vhu_fe *fe, struct vhu_fe_info *info);

/**
 * vhu_fe_set_flags() - change the per-call flags (VHU_FE_POLL,
 * VHU_FE_INDIRECT) and @split_len between calls, e.g. to run the same
 * connection in several modes. Other flags only matter at connect time and
 * are ignored here.
 */
void vhu_fe_set_flags(struct vhu_fe *fe, uint32_t flags, uint32_t split_len);

/**
 * vhu_fe_fd() - the vhost-user socket, for tests that send raw messages or
 * watch for the backend closing it. Still owned by @fe.
 */
int vhu_fe_fd(const struct vhu_fe *fe);

#endif
