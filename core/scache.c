/* SPDX-License-Identifier: MIT */
/* scache: a hash table of entries by URL plus an LRU list, one mutex.
 * Storing and refreshing build a whole new entry outside the lock and swap
 * it in; readers hold references, so nothing changes under them. */
#include "core/scache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cache.h"

#define SCACHE_BUCKETS 4096

struct scache {
    pthread_mutex_t mu;
    size_t max_bytes, bytes, n;
    struct scache_entry *head, *tail; /* LRU: head is the most recent */
    struct scache_entry *bucket[SCACHE_BUCKETS];
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct scache *scache_new(size_t max_bytes)
{
    struct scache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->max_bytes = max_bytes;
    return c;
}

static void entry_free(struct scache_entry *e)
{
    free(e->url);
    free(e->reason);
    hdrs_free(&e->headers);
    hdrs_free(&e->vary);
    buf_free(&e->body);
    free(e);
}

static void entry_unref_locked(struct scache_entry *e)
{
    if (--e->refs == 0)
        entry_free(e);
}

void scache_free(struct scache *c)
{
    if (c == NULL)
        return;
    struct scache_entry *e = c->head;
    while (e) {
        struct scache_entry *next = e->next;
        entry_unref_locked(e);
        e = next;
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

size_t scache_max_object(const struct scache *c)
{
    return c->max_bytes / 4;
}

/* ---- the table (locked) ------------------------------------------------------ */

static struct scache_entry **slot_of(struct scache *c, const char *url)
{
    struct scache_entry **pp = &c->bucket[hash_str(url) % SCACHE_BUCKETS];
    while (*pp && strcmp((*pp)->url, url) != 0)
        pp = &(*pp)->hnext;
    return pp;
}

static void lru_unlink(struct scache *c, struct scache_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_front(struct scache *c, struct scache_entry *e)
{
    e->next = c->head;
    e->prev = NULL;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
}

/* Takes e out of the table and drops the table's reference. */
static void remove_locked(struct scache *c, struct scache_entry *e)
{
    struct scache_entry **pp = slot_of(c, e->url);
    if (*pp == e)
        *pp = e->hnext;
    lru_unlink(c, e);
    c->bytes -= e->bytes;
    c->n--;
    entry_unref_locked(e);
}

static void insert_locked(struct scache *c, struct scache_entry *e)
{
    struct scache_entry **pp = slot_of(c, e->url);
    if (*pp)
        remove_locked(c, *pp);
    pp = slot_of(c, e->url);
    e->hnext = NULL;
    *pp = e;
    lru_front(c, e);
    e->refs++; /* the table's */
    c->bytes += e->bytes;
    c->n++;
    while (c->bytes > c->max_bytes && c->tail && c->tail != e)
        remove_locked(c, c->tail);
}

void scache_unref(struct scache *c, struct scache_entry *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    entry_unref_locked(e);
    pthread_mutex_unlock(&c->mu);
}

void scache_stats(struct scache *c, size_t *entries, size_t *bytes)
{
    pthread_mutex_lock(&c->mu);
    *entries = c->n;
    *bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
}

void scache_invalidate(struct scache *c, const char *url)
{
    pthread_mutex_lock(&c->mu);
    struct scache_entry **pp = slot_of(c, url);
    if (*pp)
        remove_locked(c, *pp);
    pthread_mutex_unlock(&c->mu);
}

/* ---- lookup ------------------------------------------------------------------ */

/* Does the request ask for a fresh copy (no-cache, max-age=0, Pragma)? */
static bool wants_revalidation(const struct hdrs *req)
{
    size_t len;
    const char *cc = hdrs_get(req, "Cache-Control", &len);
    if (cc == NULL)
        return hdrs_has_token(req, "Pragma", "no-cache");
    return hdrs_has_token(req, "Cache-Control", "no-cache") ||
           hdrs_has_token(req, "Cache-Control", "max-age=0");
}

enum scache_result scache_lookup(struct scache *c, const char *url, const struct hdrs *req,
                                 int64_t now, struct scache_entry **out, int64_t *age)
{
    enum scache_result r = SCACHE_MISS;
    *out = NULL;
    pthread_mutex_lock(&c->mu);
    struct scache_entry *e = *slot_of(c, url);
    if (e != NULL) {
        bool match = true;
        for (size_t i = 0; i < e->vary.n && match; i++) {
            size_t nl;
            const char *n = hdrs_name(&e->vary, i, &nl);
            char name[128];
            snprintf(name, sizeof(name), "%.*s", (int)nl, n);
            size_t vl;
            const char *v = hdrs_value(&e->vary, i, &vl);
            size_t rl = 0;
            const char *rv = hdrs_get(req, name, &rl);
            /* a stored empty value stands for "absent" */
            match = (rv == NULL && vl == 0) || (rv && rl == vl && memcmp(rv, v, vl) == 0);
        }
        if (match) {
            int64_t resident = now > e->response_time ? now - e->response_time : 0;
            *age = e->initial_age + resident;
            bool fresh = !e->must_revalidate && e->lifetime > *age && !wants_revalidation(req);
            r = fresh ? SCACHE_FRESH : SCACHE_STALE;
            e->refs++;
            *out = e;
            lru_unlink(c, e);
            lru_front(c, e);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

/* ---- storing ---------------------------------------------------------------- */

static bool is_framing(const struct hdrs *h, size_t i)
{
    return hdrs_name_is(h, i, "Connection") || hdrs_name_is(h, i, "Keep-Alive") ||
           hdrs_name_is(h, i, "Transfer-Encoding") || hdrs_name_is(h, i, "Proxy-Connection") ||
           hdrs_name_is(h, i, "TE") || hdrs_name_is(h, i, "Upgrade") ||
           hdrs_name_is(h, i, "Trailer");
}

/* The response's fields minus the connection's own. */
static void copy_fields(struct hdrs *dst, const struct hdrs *src)
{
    for (size_t i = 0; i < src->n; i++) {
        if (is_framing(src, i))
            continue;
        size_t nl, vl;
        const char *n = hdrs_name(src, i, &nl);
        const char *v = hdrs_value(src, i, &vl);
        hdrs_add(dst, n, nl, v, vl);
    }
}

static void note_vary(struct scache_entry *e, const char *vary, const struct hdrs *req)
{
    const char *p = vary;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',' && *p != ' ')
            p++;
        if (p > s) {
            char name[128];
            size_t vl = 0;
            snprintf(name, sizeof(name), "%.*s", (int)(p - s), s);
            const char *v = hdrs_get(req, name, &vl);
            hdrs_add(&e->vary, name, strlen(name), v ? v : "", v ? vl : 0);
        }
    }
}

static void set_freshness(struct scache_entry *e, const struct cache_verdict *v, int64_t now)
{
    e->response_time = now;
    e->initial_age = v->age_initial > 0 ? v->age_initial : 0;
    e->lifetime = v->lifetime_shared;
    /* no-cache: every use is revalidated; must-revalidate and
     * proxy-revalidate only bind once stale, and stale entries always are */
    e->must_revalidate = v->no_cache;
}

static size_t entry_bytes(const struct scache_entry *e)
{
    return sizeof(*e) + strlen(e->url) + e->headers.size + e->headers.cap * sizeof(struct hdr) +
           e->vary.size + e->body.len;
}

int scache_store(struct scache *c, const struct flow *f, const void *body, size_t len, int64_t now,
                 char *why, size_t whylen)
{
    struct cache_verdict v;
    size_t rl;
    if (strcmp(f->method, "GET") != 0 || f->url == NULL) {
        snprintf(why, whylen, "method %s", f->method);
        return -1;
    }
    if (f->status == 206 || hdrs_get(&f->req_headers, "Range", &rl) != NULL) {
        snprintf(why, whylen, "partial content"); /* lucent stores whole responses only */
        return -1;
    }
    cache_analyze(f, now, &v);
    if (!v.storable_shared) {
        snprintf(why, whylen, "%s", v.why_shared[0] ? v.why_shared : "not storable");
        return -1;
    }
    if (len > scache_max_object(c)) {
        snprintf(why, whylen, "too big for --cache-size");
        return -1;
    }
    struct scache_entry *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    e->url = strdup(f->url);
    e->status = f->status;
    e->reason = strdup(f->reason ? f->reason : "");
    hdrs_init(&e->headers);
    hdrs_init(&e->vary);
    copy_fields(&e->headers, &f->resp_headers);
    note_vary(e, v.vary, &f->req_headers);
    buf_append(&e->body, body ? body : "", len);
    set_freshness(e, &v, now);
    if (e->url == NULL || e->reason == NULL) {
        entry_free(e);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    e->bytes = entry_bytes(e);
    pthread_mutex_lock(&c->mu);
    insert_locked(c, e);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

struct scache_entry *scache_refresh(struct scache *c, struct scache_entry *old,
                                    const struct flow *f304, int64_t now)
{
    struct scache_entry *e = calloc(1, sizeof(*e));
    struct flow *tmp = flow_new(0);
    if (e == NULL || tmp == NULL)
        goto keep;
    e->url = strdup(old->url);
    e->status = old->status;
    e->reason = strdup(old->reason);
    hdrs_init(&e->headers);
    hdrs_init(&e->vary);
    /* stored fields, each replaced by the 304's fields of that name (4.3.4) */
    for (size_t i = 0; i < old->headers.n; i++) {
        size_t nl, vl;
        const char *n = hdrs_name(&old->headers, i, &nl);
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)nl, n);
        if (hdrs_get(&f304->resp_headers, name, &vl) != NULL &&
            strcasecmp(name, "Content-Length") != 0)
            continue;
        const char *v = hdrs_value(&old->headers, i, &vl);
        hdrs_add(&e->headers, n, nl, v, vl);
    }
    for (size_t i = 0; i < f304->resp_headers.n; i++) {
        if (is_framing(&f304->resp_headers, i) ||
            hdrs_name_is(&f304->resp_headers, i, "Content-Length"))
            continue;
        size_t nl, vl;
        const char *n = hdrs_name(&f304->resp_headers, i, &nl);
        const char *v = hdrs_value(&f304->resp_headers, i, &vl);
        hdrs_add(&e->headers, n, nl, v, vl);
    }
    hdrs_copy(&e->vary, &old->vary);
    buf_append(&e->body, old->body.p ? old->body.p : "", old->body.len);
    if (e->url == NULL || e->reason == NULL)
        goto keep;
    /* the freshness of the merged response, as if it had just arrived */
    snprintf(tmp->method, sizeof(tmp->method), "GET");
    flow_set_url(tmp, e->url, strlen(e->url));
    tmp->status = e->status;
    hdrs_copy(&tmp->req_headers, &f304->req_headers);
    hdrs_copy(&tmp->resp_headers, &e->headers);
    tmp->wall_start = f304->wall_start;
    tmp->t_start = f304->t_start;
    tmp->t_resp_start = f304->t_resp_start;
    tmp->t_end = f304->t_end ? f304->t_end : f304->t_resp_start;
    struct cache_verdict v;
    cache_analyze(tmp, now, &v);
    set_freshness(e, &v, now);
    flow_unref(tmp);
    e->bytes = entry_bytes(e);
    pthread_mutex_lock(&c->mu);
    if (*slot_of(c, e->url) == old) /* still the one stored: replace it */
        insert_locked(c, e);
    e->refs++; /* the caller's */
    entry_unref_locked(old);
    pthread_mutex_unlock(&c->mu);
    return e;

keep:
    flow_unref(tmp);
    if (e)
        entry_free(e);
    return old; /* the caller's reference goes on */
}
