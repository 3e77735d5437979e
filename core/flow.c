/* SPDX-License-Identifier: MIT */
/* flow: allocation, reference counting and the few setters. */
#include "core/flow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_uint_fast64_t next_id = 1;

uint64_t flow_next_id(void)
{
    return atomic_fetch_add(&next_id, 1);
}

int64_t flow_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t flow_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct flow *flow_new(uint64_t id)
{
    struct flow *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->id = id;
    f->state = FLOW_REQUEST;
    hdrs_init(&f->req_headers);
    hdrs_init(&f->req_trailers);
    hdrs_init(&f->resp_headers);
    hdrs_init(&f->resp_trailers);
    f->wall_start = flow_wall_us();
    f->t_start = flow_now_us();
    atomic_init(&f->refs, 1);
    return f;
}

struct flow *flow_ref(struct flow *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

static atomic_size_t captured; /* bytes of all captured bodies */

size_t flow_capture_take(struct flow *f, bool req, size_t n, size_t cap)
{
    struct buf *b = req ? &f->req_body : &f->resp_body;
    size_t room = b->len < cap ? cap - b->len : 0;
    size_t used = atomic_load_explicit(&captured, memory_order_relaxed);
    size_t left = used < FLOW_CAPTURE_BUDGET ? FLOW_CAPTURE_BUDGET - used : 0;
    if (room > left)
        room = left;
    if (n > room) {
        *(req ? &f->req_body_cut : &f->resp_body_cut) = true;
        n = room;
    }
    atomic_fetch_add_explicit(&captured, n, memory_order_relaxed);
    f->captured += n;
    return n;
}

void flow_capture_reset(struct flow *f, bool req)
{
    struct buf *b = req ? &f->req_body : &f->resp_body;
    size_t n = b->len < f->captured ? b->len : f->captured;
    atomic_fetch_sub_explicit(&captured, n, memory_order_relaxed);
    f->captured -= n;
    buf_reset(b);
    *(req ? &f->req_body_cut : &f->resp_body_cut) = false;
}

void flow_unref(struct flow *f)
{
    if (f == NULL)
        return;
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    hdrs_free(&f->req_headers);
    hdrs_free(&f->req_trailers);
    hdrs_free(&f->resp_headers);
    hdrs_free(&f->resp_trailers);
    free(f->url);
    free(f->reason);
    atomic_fetch_sub_explicit(&captured, f->captured, memory_order_relaxed);
    buf_free(&f->req_body);
    buf_free(&f->resp_body);
    free(f->error);
    free(f->server_cert);
    free(f->wire);
    free(f->certs);
    free(f);
}

void flow_fail(struct flow *f, const char *fmt, ...)
{
    if (f->error != NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    f->error = strdup(msg);
}

static char *dup_n(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p == NULL)
        abort();
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void flow_set_url(struct flow *f, const char *url, size_t len)
{
    free(f->url);
    f->url = dup_n(url, len);
}

void flow_set_reason(struct flow *f, const char *reason, size_t len)
{
    free(f->reason);
    f->reason = dup_n(reason ? reason : "", reason ? len : 0);
}

void flow_set_server_cert(struct flow *f, const char *summary)
{
    free(f->server_cert);
    f->server_cert = dup_n(summary, strlen(summary));
}
