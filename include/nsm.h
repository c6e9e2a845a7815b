/* SPDX-License-Identifier: MIT */
/*
 * nsm.h - the NitroSecureModule C API, source- and binary-compatible with
 * AWS's libnsm (aws-nitro-enclaves-nsm-api 0.5.1, nsm-lib). Link with
 * -lnsm (pkg-config libnsm); the shared library's soname is libnsm.so.0.
 *
 * Devices: nsm_lib_init() opens /dev/nsm. When the environment variable
 * TRUSTVIO_NSM_SOCKET names a vhost-user-nsm socket, it connects to that
 * emulated device instead; the returned descriptor is then a real open file
 * descriptor (of /dev/null) that stands for the device, so it is unique
 * while open and nsm_lib_exit() closes it. All such descriptors of a
 * process share one connection, opened by the first nsm_lib_init() and
 * kept until the process ends, so a process sees one enclave as with
 * /dev/nsm; a broken connection is reopened by the next request, and a
 * forked child opens its own. Pass such a descriptor only to the functions
 * below (not to ioctl).
 *
 * Buffers: for every output buffer with a length pointer, the length holds
 * the capacity on entry. A NULL buffer gives *len = 0 and
 * ERROR_CODE_BUFFER_TOO_SMALL; a buffer smaller than the result receives
 * the first *len bytes (a truncating copy) and ERROR_CODE_BUFFER_TOO_SMALL;
 * otherwise *len becomes the result size. Optional inputs: a NULL pointer
 * means "absent" (null in the request) whatever its length; a non-NULL
 * pointer with length 0 is an empty value. Length pointers must not be NULL
 * (ERROR_CODE_INVALID_ARGUMENT).
 *
 * Errors: a device error response returns its code; a response of the
 * wrong kind ERROR_CODE_INVALID_RESPONSE; an encoded request over 4096 bytes
 * ERROR_CODE_INPUT_TOO_LARGE before any I/O; a transport failure or an
 * undecodable response ERROR_CODE_INTERNAL_ERROR.
 *
 * Concurrency: every function may be called from any thread; requests on
 * one emulated connection are serialised, as the kernel driver does.
 */
#ifndef NSM_LIB_H
#define NSM_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/** enum ErrorCode - outcome of every call; values fixed by AWS's API. */
typedef enum ErrorCode {
    ERROR_CODE_SUCCESS = 0,
    ERROR_CODE_INVALID_ARGUMENT = 1,
    ERROR_CODE_INVALID_INDEX = 2,
    ERROR_CODE_INVALID_RESPONSE = 3,
    ERROR_CODE_READ_ONLY_INDEX = 4,
    ERROR_CODE_INVALID_OPERATION = 5,
    ERROR_CODE_BUFFER_TOO_SMALL = 6,
    ERROR_CODE_INPUT_TOO_LARGE = 7,
    ERROR_CODE_INTERNAL_ERROR = 8,
} ErrorCode;

/** enum Digest - the PCR hash algorithm (real NSM: SHA384). */
typedef enum Digest {
    DIGEST_SHA256 = 0,
    DIGEST_SHA384 = 1,
    DIGEST_SHA512 = 2,
} Digest;

/**
 * struct NsmDescription - the DescribeNSM answer (252 bytes on x86-64).
 * @module_id:       NUL-terminated, truncated to 99 bytes
 * @module_id_len:   bytes of @module_id before the NUL
 * @locked_pcrs:     locked PCR indices, ascending; at most 64 are kept
 * @locked_pcrs_len: entries used in @locked_pcrs
 */
typedef struct NsmDescription {
    uint16_t version_major;
    uint16_t version_minor;
    uint16_t version_patch;
    uint8_t module_id[100];
    uint32_t module_id_len;
    uint16_t max_pcrs;
    uint16_t locked_pcrs[64];
    uint32_t locked_pcrs_len;
    Digest digest;
} NsmDescription;

/**
 * nsm_lib_init() - open the NSM device (see the top of this header).
 * Return: a descriptor for the other calls, or -1 (errno set).
 */
int32_t nsm_lib_init(void);

/** nsm_lib_exit() - close a descriptor from nsm_lib_init(). */
void nsm_lib_exit(int32_t fd);

/**
 * nsm_extend_pcr() - PCR[index] = SHA384(PCR[index] || data).
 * @data:         the bytes to extend with; NULL gives INVALID_ARGUMENT
 * @pcr_data:     receives the new PCR value (48 bytes)
 * @pcr_data_len: capacity in, bytes out
 */
ErrorCode nsm_extend_pcr(int32_t fd, uint16_t index, const uint8_t *data,
                         uint32_t data_len, uint8_t *pcr_data,
                         uint32_t *pcr_data_len);

/**
 * nsm_describe_pcr() - read PCR[index] and whether it is locked.
 * @lock:     receives the lock state
 * @data:     receives the value; @data_len capacity in, bytes out
 */
ErrorCode nsm_describe_pcr(int32_t fd, uint16_t index, bool *lock,
                           uint8_t *data, uint32_t *data_len);

/** nsm_lock_pcr() - lock PCR[index] against further extends. */
ErrorCode nsm_lock_pcr(int32_t fd, uint16_t index);

/** nsm_lock_pcrs() - lock PCRs [0, range). */
ErrorCode nsm_lock_pcrs(int32_t fd, uint16_t range);

/** nsm_get_description() - version, module id, PCR count and locks. */
ErrorCode nsm_get_description(int32_t fd, NsmDescription *nsm_description);

/**
 * nsm_get_attestation_doc() - a signed attestation document (COSE_Sign1)
 * embedding the optional @user_data, @nonce_data and @pub_key_data.
 * @att_doc_data: receives the document; @att_doc_len capacity in, bytes out
 *                (16 KiB always suffices)
 */
ErrorCode nsm_get_attestation_doc(int32_t fd, const uint8_t *user_data,
                                  uint32_t user_data_len,
                                  const uint8_t *nonce_data, uint32_t nonce_len,
                                  const uint8_t *pub_key_data,
                                  uint32_t pub_key_len, uint8_t *att_doc_data,
                                  uint32_t *att_doc_len);

/**
 * nsm_get_random() - up to 256 random bytes from the device.
 * @buf_len: capacity in (0 gives INVALID_ARGUMENT), bytes written out
 *           (min(capacity, 256))
 * A negative @fd or NULL @buf gives INVALID_ARGUMENT.
 */
ErrorCode nsm_get_random(int32_t fd, uint8_t *buf, uintptr_t *buf_len);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NSM_LIB_H */
