/* SPDX-License-Identifier: MIT */
/* cache: what HTTP caches (RFC 9111) would do with one finished exchange.
 * Reads a flow's method, status, request and response fields and timing and
 * says whether a private cache (the browser) and a shared cache (a proxy or
 * CDN) may store the response, for how long it is fresh and why, its current
 * age, its validators, how a conditional request went, and every header or
 * directive it had to ignore. Pure: no I/O and no clock reads; "now" is an
 * argument, so the same flow and now always give the same verdict. It does
 * not cache anything itself.
 *
 * Decisions where the RFC leaves room:
 *  - Heuristic freshness is 10% of (Date - Last-Modified), capped at one day
 *    (CACHE_HEURISTIC_CAP), and only for statuses cacheable by default or
 *    responses marked public. Without Last-Modified there is no heuristic:
 *    a stored response without freshness information is stale at once.
 *  - A directive given twice with different values: the first is used and a
 *    note says so (RFC 9111 4.2.1 allows this or "stale").
 *  - An invalid max-age, s-maxage, stale-* value is ignored with a note (as
 *    browsers do), not treated as "stale"; an invalid Expires (including
 *    "0") means already expired (RFC 9111 5.3).
 *  - Quoted arguments (max-age="60") are accepted, with a note.
 *  - POST and every method but GET and HEAD: not stored. 304: the headers
 *    refresh a stored response (RFC 9111 4.3.4), so it is judged as if its
 *    status were cacheable by default. Vary: * is reported as not stored
 *    (such a response can never be reused).
 *  - Qualified private="..." and no-cache="..." only restrict the named
 *    fields: the response stays storable and reusable, with a note.
 *  - The tag and the first part of the summary take the browser's view when
 *    the browser may store the response, the shared cache's otherwise. */
#ifndef LUCENT_CORE_CACHE_H
#define LUCENT_CORE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/flow.h"

#define CACHE_HEURISTIC_CAP 86400    /* seconds: at most one day of heuristic freshness */
#define CACHE_DELTA_MAX 2147483648LL /* RFC 9111 1.2.2: larger delta-seconds read as 2^31 */

enum cache_src {
    CACHE_SRC_NONE = 0, /* no freshness information (or not stored) */
    CACHE_SRC_SMAXAGE,
    CACHE_SRC_MAXAGE,
    CACHE_SRC_EXPIRES,   /* Expires - Date */
    CACHE_SRC_HEURISTIC, /* 10% of Date - Last-Modified */
};

struct cache_verdict {
    /* storage: "why" is a short reason ("no-store", "private", "method
     * POST", ...) when that cache may not store the response, else "" */
    bool storable_private, storable_shared;
    char why_private[48], why_shared[48];

    /* freshness, per cache: lifetime in seconds (-1 when that cache does not
     * store the response), where it came from, and whether the current age
     * is below it */
    int64_t lifetime, lifetime_shared;
    enum cache_src source, source_shared;
    bool fresh, fresh_shared;

    /* current age (RFC 9111 4.2.3), seconds: age_initial is the corrected
     * initial age (Age field, apparent age, transit), age_resident the time
     * since the response arrived; age is their sum */
    int64_t age, age_initial, age_resident;
    int64_t age_header; /* the Age field, -1 when absent or invalid */

    /* response directives; the numbers are seconds, -1 when absent */
    bool no_store, no_cache, must_revalidate, proxy_revalidate, immutable;
    bool is_private, is_public; /* unqualified private; public */
    int64_t max_age, s_maxage, swr, sie;

    /* request directives (Pragma: no-cache counts as no-cache when the
     * request has no Cache-Control) */
    bool req_no_cache, req_no_store, req_only_if_cached;
    int64_t req_max_age; /* -1 when absent */

    /* validators of the response */
    bool etag, etag_weak, last_modified;

    /* conditional request: inm / ims say which fields the request carried;
     * conditional that one of them counts (a valid If-Modified-Since on
     * GET or HEAD, ignored beside If-None-Match); validator_matched that the
     * response's validator satisfies it (the resource did not change) */
    bool conditional, inm, ims, validator_matched;

    bool vary_star;
    char vary[128];  /* field names from Vary, ", "-joined, or "" */
    char notes[512]; /* "; "-separated: what was ignored and why, which source won */
    bool notes_cut;  /* notes was full: it ends in "..." and later ones were dropped */
    char tag[16];    /* one word: "", "304", "fresh", "stale", "nostore", "revalidate" */
    char summary[160];
};

/* Judges flow f at time now (seconds since the epoch). f should be finished;
 * a flow without a response (or a tunnel) gets an empty tag and a summary
 * that says so. Never fails: malformed fields are ignored with notes. */
void cache_analyze(const struct flow *f, int64_t now, struct cache_verdict *v) LC_NONNULL(1, 3);

/* The verdict's tag, one word for filters (~cache): "304", "fresh", "stale",
 * "nostore", "revalidate", or "" when there is nothing to judge. */
const char *cache_tag(const struct cache_verdict *v) LC_NONNULL(1);

/* Appends the verdict as one JSON object (the flow log's "cache" key). */
void cache_json(const struct cache_verdict *v, struct buf *out) LC_NONNULL(1, 2);

/* Appends the reasoning in plain language, several lines each ending in
 * '\n', for the viewer's Details tab. */
void cache_explain(const struct cache_verdict *v, struct buf *out) LC_NONNULL(1, 2);

/* Would a cache answer this request 304 from a response with these fields?
 * If-None-Match (weak comparison, "*") when present, else If-Modified-Since
 * no earlier than Last-Modified. now places RFC 850 dates. */
bool cache_request_has(const struct hdrs *req, const struct hdrs *resp, int64_t now)
    LC_NONNULL(1, 2);

/* The flow's tag: flow->cache when set (lucent's own cache: "hit" ...),
 * else the verdict's as of flow->cache_at (computed now: the worker leaves
 * it to whoever looks), else "". */
void cache_flow_tag(const struct flow *f, char *out, size_t outlen) LC_NONNULL(1, 2);

/* Parses an HTTP date (RFC 9110 5.6.7: IMF-fixdate, RFC 850 or asctime
 * format, surrounding whitespace allowed) into seconds since the epoch; -1
 * when malformed. now (seconds since the epoch) places the two-digit years
 * of RFC 850 dates: one more than 50 years ahead of now is read as the
 * century before. Dates before 1970 read as 0. */
int64_t cache_parse_date(const char *s, size_t len, int64_t now) LC_WUR;

/* Writes a duration for humans into out: "45s", "2.4m", "12h", "3d" (one
 * decimal below 10 units, none when it would be ".0"). */
void cache_human(int64_t secs, char *out, size_t outlen) LC_NONNULL(2);

#endif
