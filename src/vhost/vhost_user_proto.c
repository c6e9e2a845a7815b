/* SPDX-License-Identifier: MIT */
/* Names of vhost-user requests, for logs and error messages. */
#include "vhost/vhost_user_proto.h"

/* see vhost_user_proto.h */
const char *vhost_user_request_name(uint32_t request)
{
    switch (request) {
    case VHOST_USER_NONE:
        return "NONE";
    case VHOST_USER_GET_FEATURES:
        return "GET_FEATURES";
    case VHOST_USER_SET_FEATURES:
        return "SET_FEATURES";
    case VHOST_USER_SET_OWNER:
        return "SET_OWNER";
    case VHOST_USER_RESET_OWNER:
        return "RESET_OWNER";
    case VHOST_USER_SET_MEM_TABLE:
        return "SET_MEM_TABLE";
    case VHOST_USER_SET_LOG_BASE:
        return "SET_LOG_BASE";
    case VHOST_USER_SET_LOG_FD:
        return "SET_LOG_FD";
    case VHOST_USER_SET_VRING_NUM:
        return "SET_VRING_NUM";
    case VHOST_USER_SET_VRING_ADDR:
        return "SET_VRING_ADDR";
    case VHOST_USER_SET_VRING_BASE:
        return "SET_VRING_BASE";
    case VHOST_USER_GET_VRING_BASE:
        return "GET_VRING_BASE";
    case VHOST_USER_SET_VRING_KICK:
        return "SET_VRING_KICK";
    case VHOST_USER_SET_VRING_CALL:
        return "SET_VRING_CALL";
    case VHOST_USER_SET_VRING_ERR:
        return "SET_VRING_ERR";
    case VHOST_USER_GET_PROTOCOL_FEATURES:
        return "GET_PROTOCOL_FEATURES";
    case VHOST_USER_SET_PROTOCOL_FEATURES:
        return "SET_PROTOCOL_FEATURES";
    case VHOST_USER_GET_QUEUE_NUM:
        return "GET_QUEUE_NUM";
    case VHOST_USER_SET_VRING_ENABLE:
        return "SET_VRING_ENABLE";
    case VHOST_USER_SET_BACKEND_REQ_FD:
        return "SET_BACKEND_REQ_FD";
    case VHOST_USER_GET_CONFIG:
        return "GET_CONFIG";
    case VHOST_USER_SET_CONFIG:
        return "SET_CONFIG";
    case VHOST_USER_GET_INFLIGHT_FD:
        return "GET_INFLIGHT_FD";
    case VHOST_USER_SET_INFLIGHT_FD:
        return "SET_INFLIGHT_FD";
    case VHOST_USER_RESET_DEVICE:
        return "RESET_DEVICE";
    case VHOST_USER_VRING_KICK:
        return "VRING_KICK";
    case VHOST_USER_GET_MAX_MEM_SLOTS:
        return "GET_MAX_MEM_SLOTS";
    case VHOST_USER_ADD_MEM_REG:
        return "ADD_MEM_REG";
    case VHOST_USER_REM_MEM_REG:
        return "REM_MEM_REG";
    case VHOST_USER_SET_STATUS:
        return "SET_STATUS";
    case VHOST_USER_GET_STATUS:
        return "GET_STATUS";
    case VHOST_USER_SET_DEVICE_STATE_FD:
        return "SET_DEVICE_STATE_FD";
    case VHOST_USER_CHECK_DEVICE_STATE:
        return "CHECK_DEVICE_STATE";
    default:
        return "unknown";
    }
}
