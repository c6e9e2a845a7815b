/* SPDX-License-Identifier: MIT */
/*
 * vhost-user frontend, test hooks (vhu_frontend_test.h): a guest's second
 * vCPU that rewrites the response buffer while the device serves it.
 * Compiled only into the test build of the frontend (VHU_FE_TEST_HOOKS).
 */
#include "frontend/vhu_fe_priv.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "frontend/vhu_frontend_test.h"

#ifndef VHU_FE_TEST_HOOKS
#error "vhu_fe_test.c belongs to the test build of the frontend only"
#endif

/* ---- test hooks: a hostile second vCPU ---------------------------------- */

static void *fe_racer_main(void *arg)
{
    struct fe_racer *r = arg;

    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (r->state == RACE_IDLE) {
            pthread_cond_wait(&r->cond, &r->lock);
        }
        if (r->state == RACE_QUIT) {
            break;
        }
        pthread_mutex_unlock(&r->lock);
        /* busy before the state check, so that fe_racer_set(RACE_IDLE)
         * either sees us busy or we see the new state */
        __atomic_store_n(&r->busy, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&r->state, __ATOMIC_SEQ_CST) == RACE_RUN) {
            volatile uint8_t *d = r->dst;

            for (uint32_t i = 0; i < r->len; i++) {
                d[i] = r->bytes[i];
            }
            r->n_writes++;
        }
        __atomic_store_n(&r->busy, 0, __ATOMIC_SEQ_CST);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Move the racer to @state; RACE_IDLE returns once it stopped writing. */
void fe_racer_set(struct vhu_fe *fe, int state)
{
    struct fe_racer *r = &fe->racer;

    if (!r->running) {
        return;
    }
    pthread_mutex_lock(&r->lock);
    __atomic_store_n(&r->state, state, __ATOMIC_SEQ_CST);
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (state == RACE_IDLE) {
        while (__atomic_load_n(&r->busy, __ATOMIC_SEQ_CST) != 0) {
            sched_yield();
        }
    }
}

void fe_racer_quit(struct vhu_fe *fe)
{
    struct fe_racer *r = &fe->racer;

    if (!r->running) {
        return;
    }
    fe_racer_set(fe, RACE_QUIT);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    r->running = false;
}

/* see vhu_frontend_test.h */
int vhu_fe_test_race_nsm_response(struct vhu_fe *fe, uint32_t off,
                                  const uint8_t *bytes, uint32_t len)
{
    struct fe_racer *r = &fe->racer;
    int ret = 0;

    pthread_mutex_lock(&fe->lock);
    fe_racer_quit(fe);
    if (len == 0) {
        goto out_unlock;
    }
    if (len > sizeof(r->bytes) || off > VHU_FE_NSM_RESP_LEN ||
        len > VHU_FE_NSM_RESP_LEN - off) {
        ret = -EINVAL;
        goto out_unlock;
    }
    memset(r, 0, sizeof(*r));
    r->dst = fe->mem + fe->nsm_resp_off + off;
    memcpy(r->bytes, bytes, len);
    r->len = len;
    r->state = RACE_IDLE;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    ret = -pthread_create(&r->thread, NULL, fe_racer_main, r);
    if (ret == 0) {
        r->running = true;
    } else {
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
    }

out_unlock:
    pthread_mutex_unlock(&fe->lock);
    return ret;
}

/* see vhu_frontend_test.h */
uint64_t vhu_fe_test_race_writes(struct vhu_fe *fe)
{
    uint64_t n;

    pthread_mutex_lock(&fe->lock);
    n = fe->racer.n_writes;
    pthread_mutex_unlock(&fe->lock);
    return n;
}

/* ---- test hooks: a guest that keeps its queue full ---------------------- */

/*
 * Two descriptors, a request and its response space, made available again
 * and again without waiting for them to come back, as long as the avail
 * index stays within a queue size of the device's used index.
 */
static void *fe_flood_main(void *arg)
{
    struct vhu_fe *fe = arg;
    uint16_t req_head = fe->next_desc;
    uint16_t resp_head = (uint16_t)((req_head + 1) & (fe->qsize - 1));
    uint16_t avail = fe->avail_idx;
    uint16_t used = __atomic_load_n(&fe->used->idx, __ATOMIC_ACQUIRE);
    uint64_t completed = 0;

    while (!__atomic_load_n(&fe->flood_stop, __ATOMIC_ACQUIRE)) {
        uint16_t now = __atomic_load_n(&fe->used->idx, __ATOMIC_ACQUIRE);
        uint64_t one = 1;
        bool added = false;

        completed += (uint16_t)(now - used);
        used = now;
        while ((uint16_t)(avail - used) + 2u <= fe->qsize) {
            fe->avail->ring[avail & (fe->qsize - 1)] = req_head;
            fe->avail->ring[(avail + 1) & (fe->qsize - 1)] = resp_head;
            avail = (uint16_t)(avail + 2);
            added = true;
        }
        if (added) {
            /* Ring entries before the index that hands them over. */
            __atomic_store_n(&fe->avail->idx, avail, __ATOMIC_RELEASE);
            (void)write(fe->kick_fd, &one, sizeof(one));
        } else {
            sched_yield();
        }
    }
    fe->avail_idx = avail;
    fe->flood_completed = completed;
    return NULL;
}

/* see vhu_fe_priv.h */
void fe_flood_quit(struct vhu_fe *fe)
{
    if (!fe->flooding) {
        return;
    }
    __atomic_store_n(&fe->flood_stop, 1, __ATOMIC_RELEASE);
    pthread_join(fe->flooder, NULL);
    fe->flooding = false;
    /* The used ring is not ours to account for any more. */
    fe->broken = true;
}

/* see vhu_frontend_test.h */
int vhu_fe_test_flood(struct vhu_fe *fe, const uint8_t *req, size_t req_len)
{
    int ret;

    if (req == NULL || req_len == 0 || req_len > VHU_FE_NSM_REQ_MAX) {
        return -EINVAL;
    }
    pthread_mutex_lock(&fe->lock);
    ret = fe_usable(fe);
    if (ret == 0 && (fe->flooding || fe->qsize < 2)) {
        ret = -EINVAL;
    }
    if (ret < 0) {
        goto out_unlock;
    }
    memcpy(fe->mem + fe->nsm_req_off, req, req_len);
    {
        uint16_t a = fe->next_desc;
        uint16_t b = (uint16_t)((a + 1) & (fe->qsize - 1));

        fe->desc[a].addr = fe_gpa(fe, fe->nsm_req_off);
        fe->desc[a].len = (uint32_t)req_len;
        fe->desc[a].flags = 0;
        fe->desc[a].next = 0;
        fe->desc[b].addr = fe_gpa(fe, fe->nsm_resp_off);
        fe->desc[b].len = VHU_FE_NSM_RESP_LEN;
        fe->desc[b].flags = VRING_DESC_F_WRITE;
        fe->desc[b].next = 0;
    }
    fe->flood_stop = 0;
    fe->flood_completed = 0;
    ret = -pthread_create(&fe->flooder, NULL, fe_flood_main, fe);
    if (ret == 0) {
        fe->flooding = true;
    }

out_unlock:
    pthread_mutex_unlock(&fe->lock);
    return ret;
}

/* see vhu_frontend_test.h */
uint64_t vhu_fe_test_flood_stop(struct vhu_fe *fe)
{
    uint64_t n;

    pthread_mutex_lock(&fe->lock);
    fe_flood_quit(fe);
    n = fe->flood_completed;
    pthread_mutex_unlock(&fe->lock);
    return n;
}

/* see vhu_frontend_test.h */
int vhu_fe_test_vring_base(struct vhu_fe *fe, uint32_t *num)
{
    struct vhost_vring_state st;
    int ret;

    pthread_mutex_lock(&fe->lock);
    ret = fe_get_vring_base(fe, &st);
    if (ret == 0) {
        *num = st.num;
    }
    pthread_mutex_unlock(&fe->lock);
    return ret;
}
