/* SPDX-License-Identifier: MIT */
/* scache: lucent's own shared HTTP cache (--cache), RFC 9111 for a shared
 * cache: it stores what a shared cache may store (core/cache.c decides),
 * serves fresh entries itself, and lets stale ones be revalidated with a
 * conditional request whose 304 is merged into the stored response.
 *
 * One store for the process, behind a mutex, bounded in bytes (LRU). Entries
 * are immutable and reference counted: a worker serving one keeps it alive
 * while another replaces it. Keys are GET URLs; one variant per URL, its
 * Vary'ed request fields stored with it. */
#ifndef LUCENT_CORE_SCACHE_H
#define LUCENT_CORE_SCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/flow.h"
#include "core/hdrs.h"

struct scache;

struct scache_entry {
    char *url; /* owned */
    int status;
    char *reason;          /* owned */
    struct hdrs headers;   /* owned: as stored (updated by revalidations) */
    struct hdrs vary;      /* owned: the request fields Vary named, as the request had them */
    struct buf body;       /* owned */
    int64_t response_time; /* s since the epoch, when it (last) arrived */
    int64_t initial_age;   /* corrected initial age at that time, s */
    int64_t lifetime;      /* freshness lifetime for a shared cache, s */
    bool must_revalidate;  /* no-cache: revalidated on every use, even when fresh */
    /* private */
    size_t bytes;
    unsigned refs;
    struct scache_entry *prev, *next, *hnext;
};

enum scache_result {
    SCACHE_MISS = 0, /* nothing usable stored */
    SCACHE_FRESH,    /* serve it */
    SCACHE_STALE,    /* revalidate it */
};

struct scache *scache_new(size_t max_bytes) LC_WUR;
void scache_free(struct scache *c);

/* Looks up a GET for url with these request fields at time now. On FRESH
 * or STALE *e is a reference (scache_unref it) and *age its current age. */
enum scache_result scache_lookup(struct scache *c, const char *url, const struct hdrs *req,
                                 int64_t now, struct scache_entry **e, int64_t *age)
    LC_NONNULL(1, 2, 3, 5, 6);
void scache_unref(struct scache *c, struct scache_entry *e);

/* Offers a finished GET exchange (its complete body) to the cache. Returns
 * 0 when stored, else -1 and why not in why ("private", "no-store", "too
 * big", ...). */
int scache_store(struct scache *c, const struct flow *f, const void *body, size_t len, int64_t now,
                 char *why, size_t whylen) LC_NONNULL(1, 2, 6);
/* An unsafe method (POST, PUT, DELETE, PATCH) went to url: drop it (4.4). */
void scache_invalidate(struct scache *c, const char *url) LC_NONNULL(1, 2);
/* The largest body stored. */
size_t scache_max_object(const struct scache *c) LC_NONNULL(1);
/* A 304 answered the revalidation of e: stores an updated copy (headers
 * from the 304 replace the stored ones, RFC 9111 4.3.4) and returns a
 * reference to it (or to e when that is not possible). */
struct scache_entry *scache_refresh(struct scache *c, struct scache_entry *e,
                                    const struct flow *f304, int64_t now) LC_NONNULL(1, 2, 3);

/* Counters for the viewer and tests. */
void scache_stats(struct scache *c, size_t *entries, size_t *bytes) LC_NONNULL(1, 2, 3);

#endif
