/* SPDX-License-Identifier: MIT */
/*
 * vhost-user frontend, driver side: what the guest's virtio driver does on
 * the split ring in guest memory: build chains (direct, split, indirect),
 * publish them, kick unless suppressed, wait for completions (call eventfd
 * or polling), and copy device-written bytes out of guest memory once
 * before anything looks at them. See vhu_frontend.h.
 */
#include "frontend/vhu_fe_priv.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

/* ---- the driver: building chains ---------------------------------------- */

/*
 * Append descriptors covering memfd bytes [off, off + len) to fe->chain,
 * cut at region ends and at split_len (when @split).
 */
static int fe_chain_add(struct vhu_fe *fe, uint32_t off, uint32_t len,
                        bool write, bool split)
{
    while (len > 0) {
        uint32_t region_end = (off / fe->region_size + 1) * fe->region_size;
        uint32_t take = region_end - off;
        struct vring_desc *d;

        if (take > len) {
            take = len;
        }
        if (split && fe->split_len != 0 && take > fe->split_len) {
            take = fe->split_len;
        }
        if (fe->n_chain >= fe->qsize) {
            return -EINVAL;
        }
        d = &fe->chain[fe->n_chain++];
        d->addr = fe_gpa(fe, off);
        d->len = take;
        d->flags = write ? VRING_DESC_F_WRITE : 0;
        d->next = 0;
        off += take;
        len -= take;
    }
    return 0;
}

/*
 * Put fe->chain into the descriptor table (or an indirect table) and make
 * it available; does not publish the avail index. Return: the head.
 */
static uint16_t fe_chain_post(struct vhu_fe *fe, bool indirect)
{
    uint16_t head = fe->next_desc;
    uint16_t slot = (uint16_t)(fe->avail_idx & (fe->qsize - 1));

    BUG_ON(fe->n_chain == 0);
    if (indirect) {
        struct vring_desc *t =
            (struct vring_desc *)(void *)(fe->mem + fe->indir_off);

        for (uint32_t i = 0; i < fe->n_chain; i++) {
            t[i] = fe->chain[i];
            if (i + 1 < fe->n_chain) {
                t[i].flags |= VRING_DESC_F_NEXT;
                t[i].next = (uint16_t)(i + 1);
            }
        }
        fe->desc[head].addr = fe_gpa(fe, fe->indir_off);
        fe->desc[head].len = (uint32_t)(fe->n_chain * sizeof(*t));
        fe->desc[head].flags = VRING_DESC_F_INDIRECT;
        fe->desc[head].next = 0;
        fe->next_desc = (uint16_t)((head + 1) & (fe->qsize - 1));
    } else {
        uint16_t i = head;

        for (uint32_t k = 0; k < fe->n_chain; k++) {
            uint16_t nxt = (uint16_t)((i + 1) & (fe->qsize - 1));

            fe->desc[i] = fe->chain[k];
            if (k + 1 < fe->n_chain) {
                fe->desc[i].flags |= VRING_DESC_F_NEXT;
                fe->desc[i].next = nxt;
            }
            i = nxt;
        }
        fe->next_desc = i;
    }
    fe->avail->ring[slot] = head;
    fe->avail_idx++;
    fe->n_chain = 0;
    return head;
}

/*
 * Publish the avail index (after the descriptors and ring entries), arm
 * or disarm completion notifications, and kick unless the device asked not
 * to be (virtio 1.2 2.7.10 / 2.7.7).
 */
static int fe_publish_and_kick(struct vhu_fe *fe, uint16_t old_idx,
                               uint16_t n_used)
{
    bool poll_mode = fe->flags & VHU_FE_POLL;
    bool need;

    if (fe->event_idx) {
        /* Wake me when the n_used-th new used entry appears; in poll mode
         * park the event half a ring away so the device never signals. */
        uint16_t ev = poll_mode ? (uint16_t)(fe->last_used + 0x8000u)
                                : (uint16_t)(fe->last_used + n_used - 1);

        __atomic_store_n(fe->used_event, ev, __ATOMIC_RELAXED);
        __atomic_store_n(&fe->avail->flags, 0, __ATOMIC_RELAXED);
    } else {
        __atomic_store_n(&fe->avail->flags,
                         poll_mode ? VRING_AVAIL_F_NO_INTERRUPT : 0,
                         __ATOMIC_RELAXED);
    }
    /* Descriptors, ring entries and used_event before the new index. */
    __atomic_store_n(&fe->avail->idx, fe->avail_idx, __ATOMIC_RELEASE);
    /* The new index must be visible before we read the device's
     * suppression state, or we could miss a kick the device waits for. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (fe->event_idx) {
        uint16_t ev = __atomic_load_n(fe->avail_event, __ATOMIC_RELAXED);

        need = vring_need_event(ev, fe->avail_idx, old_idx);
    } else {
        need = !(__atomic_load_n(&fe->used->flags, __ATOMIC_RELAXED) &
                 VRING_USED_F_NO_NOTIFY);
    }
    if (!need) {
        fe->info.n_kicks_suppressed++;
        return 0;
    }
    for (;;) {
        uint64_t one = 1;
        ssize_t n = write(fe->kick_fd, &one, sizeof(one));

        if (n == sizeof(one)) {
            break;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break; /* counter saturated: the device has a kick pending */
        }
        fe->broken = true;
        return -EIO;
    }
    fe->info.n_kicks++;
    return 0;
}

/* The socket must stay quiet while requests run; EOF means a dead peer. */
static int fe_check_sock(struct vhu_fe *fe)
{
    uint8_t b;
    ssize_t n = recv(fe->sock, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    if (n == 0) {
        fe->broken = true;
        return -ECONNRESET;
    }
    if (n > 0) {
        tv_debug("vhu_fe: unsolicited message from the backend");
        fe->broken = true;
        return -EIO;
    }
    return 0;
}

static int fe_check_err_fd(struct vhu_fe *fe)
{
    uint64_t cnt;

    if (read(fe->err_fd, &cnt, sizeof(cnt)) == sizeof(cnt)) {
        tv_debug("vhu_fe: the backend signalled the vring error eventfd");
        fe->broken = true;
        return -EIO;
    }
    return 0;
}

/* Handle one ready member of wait_fd (0 call_fd, 1 err_fd, 2 sock). */
static int fe_wait_event(struct vhu_fe *fe, uint32_t which)
{
    uint64_t cnt;

    switch (which) {
    case 0:
        if (read(fe->call_fd, &cnt, sizeof(cnt)) == sizeof(cnt)) {
            fe->info.n_wakeups++;
        }
        return 0;
    case 1:
        return fe_check_err_fd(fe);
    default:
        return fe_check_sock(fe);
    }
}

/* Wait until @n_used used entries beyond last_used are there. */
static int fe_wait_used(struct vhu_fe *fe, uint16_t n_used)
{
    int64_t deadline = fe_now_ms() + fe->timeout_ms;
    uint32_t spins = 0;

    for (;;) {
        uint16_t uidx = __atomic_load_n(&fe->used->idx, __ATOMIC_ACQUIRE);
        uint16_t ready = (uint16_t)(uidx - fe->last_used);
        int ret;

        if (ready > n_used) {
            tv_debug("vhu_fe: used index %u runs %u entries ahead of %u "
                     "outstanding",
                     uidx, ready, n_used);
            fe->broken = true;
            return -EIO;
        }
        if (ready == n_used) {
            return 0;
        }
        if (fe->flags & VHU_FE_POLL) {
            if (++spins < FE_POLL_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                continue;
            }
            spins = 0;
            ret = fe_check_err_fd(fe);
            if (ret == 0) {
                ret = fe_check_sock(fe);
            }
            if (ret < 0) {
                return ret;
            }
            if (fe_now_ms() >= deadline) {
                fe->broken = true;
                return -ETIMEDOUT;
            }
            continue;
        } else {
            struct epoll_event ev[FE_WAIT_N];
            int r = epoll_wait(fe->wait_fd, ev, FE_WAIT_N,
                               fe_remaining_ms(deadline));

            if (r < 0 && errno != EINTR) {
                fe->broken = true;
                return -errno;
            }
            if (r == 0) {
                fe->broken = true;
                return -ETIMEDOUT;
            }
            for (int i = 0; i < r; i++) {
                ret = fe_wait_event(fe, ev[i].data.u32);
                if (ret < 0) {
                    return ret;
                }
            }
        }
    }
}

/* Take the next used entry (after fe_wait_used() said it is there). */
static struct vring_used_elem fe_take_used(struct vhu_fe *fe)
{
    struct vring_used_elem e;
    uint16_t slot = (uint16_t)(fe->last_used & (fe->qsize - 1));

    e.id = __atomic_load_n(&fe->used->ring[slot].id, __ATOMIC_RELAXED);
    e.len = __atomic_load_n(&fe->used->ring[slot].len, __ATOMIC_RELAXED);
    fe->last_used++;
    return e;
}

/* Run @tamper over the private copy; returns the length to go on with. */
static size_t fe_tamper(struct vhu_fe *fe, enum vhu_fe_kind kind, size_t len,
                        size_t cap)
{
    size_t n;

    if (fe->tamper == NULL) {
        return len;
    }
    n = fe->tamper(fe->tamper_ctx, kind, fe->scratch, len, cap);
    return n > cap ? cap : n;
}

/* see vhu_frontend.h */
int vhu_fe_nsm_call(struct vhu_fe *fe, const uint8_t *req, size_t req_len,
                    uint8_t *resp, size_t resp_cap, size_t *resp_len)
{
    struct vring_used_elem first;
    struct vring_used_elem second;
    uint16_t req_head;
    uint16_t resp_head;
    uint16_t old_idx;
    size_t n;
    int ret;

    if (req == NULL || req_len == 0 || req_len > VHU_FE_NSM_REQ_MAX ||
        (resp == NULL && resp_cap > 0) || resp_len == NULL) {
        return -EINVAL;
    }
    pthread_mutex_lock(&fe->lock);
    ret = fe_usable(fe);
    if (ret < 0) {
        goto out_unlock;
    }
    if (fe->qsize < 2) {
        ret = -EINVAL;
        goto out_unlock;
    }
    memcpy(fe->mem + fe->nsm_req_off, req, req_len);
    memset(fe->mem + fe->nsm_resp_off, 0, VHU_FE_NSM_RESP_LEN);
    old_idx = fe->avail_idx;
    /* Two chains, as nsm_sendrecv_msg_locked() adds them. */
    ret = fe_chain_add(fe, fe->nsm_req_off, (uint32_t)req_len, false, false);
    BUG_ON(ret < 0);
    req_head = fe_chain_post(fe, false);
    ret = fe_chain_add(fe, fe->nsm_resp_off, VHU_FE_NSM_RESP_LEN, true, false);
    BUG_ON(ret < 0);
    resp_head = fe_chain_post(fe, false);
#ifdef VHU_FE_TEST_HOOKS
    fe_racer_set(fe, RACE_RUN);
#endif
    ret = fe_publish_and_kick(fe, old_idx, 2);
    if (ret == 0) {
        ret = fe_wait_used(fe, 2);
    }
#ifdef VHU_FE_TEST_HOOKS
    fe_racer_set(fe, RACE_IDLE);
#endif
    if (ret < 0) {
        goto out_unlock;
    }
    first = fe_take_used(fe);
    second = fe_take_used(fe);
    if (first.id == resp_head && second.id == req_head) {
        /* The kernel's "wrong request/response buffer": chains consumed,
         * nothing returned. */
        ret = -ENODATA;
        goto out_unlock;
    }
    if (first.id != req_head || second.id != resp_head || first.len != 0 ||
        second.len > VHU_FE_NSM_RESP_LEN) {
        tv_debug("vhu_fe: NSM used entries {%u,%u} {%u,%u}, expected "
                 "{%u,0} {%u,<=%u}",
                 first.id, first.len, second.id, second.len, req_head,
                 resp_head, VHU_FE_NSM_RESP_LEN);
        fe->broken = true;
        ret = -EIO;
        goto out_unlock;
    }
    fe->info.last_used_len = second.len;
    /* Copy out of shared memory first; only the copy is looked at. */
    memcpy(fe->scratch, fe->mem + fe->nsm_resp_off, second.len);
    n = fe_tamper(fe, VHU_FE_KIND_NSM, second.len, VHU_FE_NSM_RESP_LEN);
    if (n > resp_cap) {
        n = resp_cap;
    }
    if (n > 0) {
        memcpy(resp, fe->scratch, n);
    }
    *resp_len = n;
    fe->info.n_requests++;
    ret = 0;

out_unlock:
    pthread_mutex_unlock(&fe->lock);
    return ret;
}

/* Total bytes of @iov, or SIZE_MAX on overflow. */
static size_t fe_iov_total(const struct iovec *iov, size_t n)
{
    size_t total = 0;

    for (size_t i = 0; i < n; i++) {
        if (iov[i].iov_len > SIZE_MAX - total) {
            return SIZE_MAX;
        }
        total += iov[i].iov_len;
    }
    return total;
}

/* see vhu_frontend.h */
int vhu_fe_call(struct vhu_fe *fe, const struct iovec *out, size_t n_out,
                const struct iovec *in, size_t n_in, size_t *used_len)
{
    size_t out_total = fe_iov_total(out, n_out);
    size_t in_total = fe_iov_total(in, n_in);
    struct vring_used_elem e;
    bool indirect;
    uint32_t off;
    uint16_t head;
    uint16_t old_idx;
    size_t n;
    int ret;

    if ((n_out > 0 && out == NULL) || (n_in > 0 && in == NULL)) {
        return -EINVAL;
    }
    if (out_total == SIZE_MAX || in_total == SIZE_MAX) {
        return -EMSGSIZE;
    }
    if (out_total + in_total == 0) {
        return -EINVAL;
    }
    pthread_mutex_lock(&fe->lock);
    ret = fe_usable(fe);
    if (ret < 0) {
        goto out_unlock;
    }
    if (out_total > fe->data_len || in_total > fe->data_len - out_total) {
        ret = -EMSGSIZE;
        goto out_unlock;
    }
    indirect = fe->flags & VHU_FE_INDIRECT;
    if (indirect && !fe->indirect) {
        ret = -EOPNOTSUPP;
        goto out_unlock;
    }
    /* Bounce the readable part into guest memory, buffer by buffer, so each
     * caller buffer becomes its own descriptor(s), as a driver's sg list. */
    fe->n_chain = 0;
    off = fe->data_off;
    for (size_t i = 0; i < n_out; i++) {
        uint32_t len = (uint32_t)out[i].iov_len;

        if (len == 0) {
            continue;
        }
        memcpy(fe->mem + off, out[i].iov_base, len);
        ret = fe_chain_add(fe, off, len, false, true);
        if (ret < 0) {
            goto err_chain;
        }
        off += len;
    }
    /* Poison the writable part so bytes the device claims but never wrote
     * do not read back as an earlier response. */
    memset(fe->mem + off, 0xa5, in_total);
    for (size_t i = 0; i < n_in; i++) {
        uint32_t len = (uint32_t)in[i].iov_len;

        if (len == 0) {
            continue;
        }
        ret = fe_chain_add(fe, off, len, true, true);
        if (ret < 0) {
            goto err_chain;
        }
        off += len;
    }
    old_idx = fe->avail_idx;
    head = fe_chain_post(fe, indirect);
    ret = fe_publish_and_kick(fe, old_idx, 1);
    if (ret < 0) {
        goto out_unlock;
    }
    ret = fe_wait_used(fe, 1);
    if (ret < 0) {
        goto out_unlock;
    }
    e = fe_take_used(fe);
    if (e.id != head || e.len > in_total) {
        tv_debug("vhu_fe: used entry {%u,%u}, expected {%u,<=%zu}", e.id, e.len,
                 head, in_total);
        fe->broken = true;
        ret = -EIO;
        goto out_unlock;
    }
    fe->info.last_used_len = e.len;
    memcpy(fe->scratch, fe->mem + fe->data_off + out_total, e.len);
    n = fe_tamper(fe, VHU_FE_KIND_CALL, e.len, in_total);
    /* Scatter the private copy into the caller's buffers. */
    off = 0;
    for (size_t i = 0; i < n_in && off < n; i++) {
        size_t take = in[i].iov_len < n - off ? in[i].iov_len : n - off;

        if (take > 0) {
            memcpy(in[i].iov_base, fe->scratch + off, take);
        }
        off += (uint32_t)take;
    }
    if (used_len != NULL) {
        *used_len = n;
    }
    fe->info.n_requests++;
    ret = 0;
    goto out_unlock;

err_chain:
    /* More descriptors than a chain may have (virtio 1.2 2.7.5.3.1). */
    fe->n_chain = 0;
    ret = -EINVAL;
out_unlock:
    pthread_mutex_unlock(&fe->lock);
    return ret;
}
