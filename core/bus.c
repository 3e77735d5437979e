/* SPDX-License-Identifier: MIT */
/* bus: a ring of flow references indexed by a 64-bit sequence. `head` is the
 * next sequence to write, `tail` the oldest still held; each subscriber has a
 * cursor in [tail, head]. A slot is released once every cursor has passed
 * it, or when the ring is full and the newest event needs it. */
#include "core/bus.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct bus {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct flow **ring; /* owned: one reference per slot in [tail, head) */
    size_t cap;
    uint64_t head, tail;
    uint64_t cursor[BUS_MAX_SUBSCRIBERS];
    uint64_t lost[BUS_MAX_SUBSCRIBERS];
    int nsubs;
    bool closed;
};

struct bus *bus_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    struct bus *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->ring = calloc(capacity, sizeof(*b->ring));
    if (b->ring == NULL) {
        free(b);
        return NULL;
    }
    b->cap = capacity;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    return b;
}

void bus_free(struct bus *b)
{
    if (b == NULL)
        return;
    for (uint64_t s = b->tail; s < b->head; s++)
        flow_unref(b->ring[s % b->cap]);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b->ring);
    free(b);
}

int bus_subscribe(struct bus *b)
{
    int id = -1;
    pthread_mutex_lock(&b->mu);
    if (b->nsubs < BUS_MAX_SUBSCRIBERS) {
        id = b->nsubs++;
        b->cursor[id] = b->head;
        b->lost[id] = 0;
    }
    pthread_mutex_unlock(&b->mu);
    return id;
}

/* Releases slots every subscriber has read. Called with mu held. The
 * references are collected so they can be dropped after unlocking. */
static size_t release_read(struct bus *b, struct flow **drop, size_t maxdrop)
{
    uint64_t min = b->head;
    for (int i = 0; i < b->nsubs; i++)
        if (b->cursor[i] < min)
            min = b->cursor[i];
    size_t n = 0;
    while (b->tail < min && n < maxdrop) {
        drop[n++] = b->ring[b->tail % b->cap];
        b->ring[b->tail % b->cap] = NULL;
        b->tail++;
    }
    return n;
}

void bus_publish(struct bus *b, struct flow *f)
{
    struct flow *old = NULL;
    flow_ref(f);
    pthread_mutex_lock(&b->mu);
    if (b->closed || b->nsubs == 0) {
        pthread_mutex_unlock(&b->mu);
        flow_unref(f);
        return;
    }
    if (b->head - b->tail == b->cap) {
        /* full: the oldest event goes; whoever had not read it lost it */
        for (int i = 0; i < b->nsubs; i++) {
            if (b->cursor[i] == b->tail) {
                b->cursor[i]++;
                b->lost[i]++;
            }
        }
        old = b->ring[b->tail % b->cap];
        b->ring[b->tail % b->cap] = NULL;
        b->tail++;
    }
    b->ring[b->head % b->cap] = f;
    b->head++;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    flow_unref(old); /* outside the lock: may free */
}

size_t bus_drain(struct bus *b, int sub, struct flow **out, size_t max, uint64_t *lost)
{
    struct flow *drop[64];
    size_t n = 0, ndrop;
    pthread_mutex_lock(&b->mu);
    while (n < max && b->cursor[sub] < b->head) {
        out[n++] = flow_ref(b->ring[b->cursor[sub] % b->cap]);
        b->cursor[sub]++;
    }
    *lost += b->lost[sub];
    b->lost[sub] = 0;
    ndrop = release_read(b, drop, LC_ARRAY_LEN(drop));
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; i < ndrop; i++)
        flow_unref(drop[i]);
    return n;
}

bool bus_wait(struct bus *b, int sub, int timeout_ms)
{
    struct timespec ts;
    bool alive;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->mu);
    while (!b->closed && b->cursor[sub] == b->head && b->lost[sub] == 0) {
        if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT)
            break;
    }
    alive = !b->closed || b->cursor[sub] < b->head || b->lost[sub] > 0;
    pthread_mutex_unlock(&b->mu);
    return alive;
}

void bus_close(struct bus *b)
{
    pthread_mutex_lock(&b->mu);
    b->closed = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}
