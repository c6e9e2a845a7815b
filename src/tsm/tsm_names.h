/* SPDX-License-Identifier: MIT */
/* Names of the ABI's values for tools and logs. No allocation, no I/O. */
#ifndef TV_TSM_TSM_NAMES_H
#define TV_TSM_TSM_NAMES_H

#include "tsm/tsm_abi.h"

/** tsm_sbi_name() - "SBI_SUCCESS", "SBI_ERR_FAILED", ..., or "SBI_ERR_?". */
static inline const char *tsm_sbi_name(long error)
{
    switch (error) {
    case SBI_SUCCESS:
        return "SBI_SUCCESS";
    case SBI_ERR_FAILED:
        return "SBI_ERR_FAILED";
    case SBI_ERR_NOT_SUPPORTED:
        return "SBI_ERR_NOT_SUPPORTED";
    case SBI_ERR_INVALID_PARAM:
        return "SBI_ERR_INVALID_PARAM";
    case SBI_ERR_DENIED:
        return "SBI_ERR_DENIED";
    case SBI_ERR_INVALID_ADDRESS:
        return "SBI_ERR_INVALID_ADDRESS";
    case SBI_ERR_ALREADY_AVAILABLE:
        return "SBI_ERR_ALREADY_AVAILABLE";
    case SBI_ERR_ALREADY_STARTED:
        return "SBI_ERR_ALREADY_STARTED";
    case SBI_ERR_ALREADY_STOPPED:
        return "SBI_ERR_ALREADY_STOPPED";
    case SBI_ERR_NO_SHMEM:
        return "SBI_ERR_NO_SHMEM";
    case SBI_ERR_INVALID_STATE:
        return "SBI_ERR_INVALID_STATE";
    case SBI_ERR_BAD_RANGE:
        return "SBI_ERR_BAD_RANGE";
    default:
        return "SBI_ERR_?";
    }
}

/** tsm_if_state_name() - "Unlocked", "Locked", "Running", "Error" or "?". */
static inline const char *tsm_if_state_name(long state)
{
    switch (state) {
    case TSM_IF_UNLOCKED:
        return "Unlocked";
    case TSM_IF_LOCKED:
        return "Locked";
    case TSM_IF_RUNNING:
        return "Running";
    case TSM_IF_ERROR:
        return "Error";
    default:
        return "?";
    }
}

#endif
