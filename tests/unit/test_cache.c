/* SPDX-License-Identifier: MIT */
/* Unit tests of core/cache: the RFC 9111 analysis of a finished flow. A
 * table of exchanges (method, status, request and response fields written
 * as text with {D...} placeholders for dates relative to the response time,
 * transit delay, time since) states the expected tag, the flags that must be
 * set (every other flag must be clear), numbers, and substrings of summary
 * and notes; each row's JSON must parse and its explanation must be there.
 * Then HTTP dates (fixed values, boundaries, and every format round-tripped
 * against gmtime_r for many random times), durations for humans, the notes
 * overflow, and random garbage fields that must neither crash nor break
 * the verdict's invariants (run under ASan/UBSan as well). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/cache.h"
#include "core/flow.h"
#include "core/hdrs.h"
#include "core/json.h"
#include "core/jsonp.h"
#include "check.h"

#define T0 1700000000LL /* 2023-11-14 22:13:20 UTC: when requests start */
#define NA INT64_MIN    /* "do not check" */

/* ---- fixtures ------------------------------------------------------------- */

enum date_fmt { FMT_IMF = 0, FMT_850, FMT_ASC };

static void fmt_date(int64_t t, enum date_fmt fmt, char *out, size_t outlen)
{
    static const char *const fmts[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                       "%a %b %e %H:%M:%S %Y"};
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    if (strftime(out, outlen, fmts[fmt], &tm) == 0)
        abort();
}

/* Copies text into out, replacing {D}, {D+N}, {D-N} by the IMF-fixdate of
 * base (+/- N seconds); {850:D...} and {ASC:D...} pick the other formats. */
static void expand(const char *text, int64_t base, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = text; *p != '\0';) {
        if (*p != '{') {
            if (o + 1 >= outlen)
                abort();
            out[o++] = *p++;
            continue;
        }
        enum date_fmt fmt = FMT_IMF;
        p++;
        if (strncmp(p, "850:", 4) == 0)
            fmt = FMT_850, p += 4;
        else if (strncmp(p, "ASC:", 4) == 0)
            fmt = FMT_ASC, p += 4;
        if (*p++ != 'D')
            abort();
        int64_t t = base;
        if (*p == '+' || *p == '-') {
            char *end;
            long long n = strtoll(p, &end, 10);
            t += n;
            p = end;
        }
        if (*p++ != '}')
            abort();
        char d[64];
        fmt_date(t, fmt, d, sizeof(d));
        size_t dl = strlen(d);
        if (o + dl + 1 >= outlen)
            abort();
        memcpy(out + o, d, dl);
        o += dl;
    }
    out[o] = '\0';
}

/* Adds "Name: value" lines (separated by '\n') to h. */
static void add_fields(struct hdrs *h, const char *text, int64_t base)
{
    char buf[2048];
    if (text == NULL)
        return;
    expand(text, base, buf, sizeof(buf));
    char *line = buf;
    while (*line != '\0') {
        char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        char *colon = memchr(line, ':', len);
        if (colon == NULL)
            abort();
        const char *value = colon + 1;
        if (*value == ' ')
            value++;
        hdrs_add(h, line, (size_t)(colon - line), value, len - (size_t)(value - line));
        line += len + (nl != NULL);
    }
}

/* A finished flow: request at T0, response head after delay seconds. */
static struct flow *mkflow(const char *method, int status, const char *req, const char *resp,
                           int64_t delay)
{
    struct flow *f = flow_new(1);
    if (f == NULL)
        abort();
    snprintf(f->method, sizeof(f->method), "%s", method);
    flow_set_url(f, "http://example.test/x", 21);
    f->status = status;
    f->wall_start = T0 * 1000000;
    f->t_start = 5000000;
    f->t_connected = f->t_start + 1000;
    f->t_resp_start = status != 0 ? f->t_start + delay * 1000000 : 0;
    f->t_end = f->t_start + delay * 1000000 + 2000;
    add_fields(&f->req_headers, req, T0 + delay);
    add_fields(&f->resp_headers, resp, T0 + delay);
    f->state = FLOW_DONE;
    return f;
}

/* ---- checks ------------------------------------------------------------- */

/* Every substring in want ('|'-separated; "!x" means x must be absent). */
static void check_substrings(const char *what, const char *have, const char *want)
{
    char one[200];
    if (want == NULL)
        return;
    for (const char *p = want; *p != '\0';) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        bool negate = len > 0 && p[0] == '!';
        snprintf(one, sizeof(one), "%.*s", (int)(len - negate), p + negate);
        bool found = strstr(have, one) != NULL;
        if (!CHECK(found != negate))
            fprintf(stderr, "    %s: \"%s\"\n    %s \"%s\"\n", what, have,
                    negate ? "must not contain" : "must contain", one);
        p += len + (bar != NULL);
    }
}

struct flag {
    const char *word;
    size_t off;
};

#define OFF(m) offsetof(struct cache_verdict, m)

static const struct flag flag_words[] = {
    {"sp", OFF(storable_private)},
    {"ss", OFF(storable_shared)},
    {"fresh", OFF(fresh)},
    {"fresh_s", OFF(fresh_shared)},
    {"no_store", OFF(no_store)},
    {"no_cache", OFF(no_cache)},
    {"must_reval", OFF(must_revalidate)},
    {"proxy_reval", OFF(proxy_revalidate)},
    {"immutable", OFF(immutable)},
    {"private", OFF(is_private)},
    {"public", OFF(is_public)},
    {"req_no_cache", OFF(req_no_cache)},
    {"req_no_store", OFF(req_no_store)},
    {"only_if_cached", OFF(req_only_if_cached)},
    {"etag", OFF(etag)},
    {"weak", OFF(etag_weak)},
    {"lm", OFF(last_modified)},
    {"cond", OFF(conditional)},
    {"inm", OFF(inm)},
    {"ims", OFF(ims)},
    {"matched", OFF(validator_matched)},
    {"vary_star", OFF(vary_star)},
};

static bool has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; p != NULL && *p != '\0';) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == wl && strncmp(p, word, wl) == 0)
            return true;
        p += len;
    }
    return false;
}

static void check_flags(const struct cache_verdict *v, const char *flags)
{
    for (size_t k = 0; k < LC_ARRAY_LEN(flag_words); k++) {
        bool have = *(const bool *)((const char *)v + flag_words[k].off);
        bool want = has_word(flags, flag_words[k].word);
        if (!CHECK(have == want))
            fprintf(stderr, "    flag %s: have %d, want %d\n", flag_words[k].word, have, want);
    }
    /* every word in the row is a known flag */
    for (const char *p = flags; p != NULL && *p != '\0';) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        bool known = false;
        for (size_t k = 0; k < LC_ARRAY_LEN(flag_words) && len > 0; k++)
            known |= strlen(flag_words[k].word) == len && strncmp(flag_words[k].word, p, len) == 0;
        if (len > 0 && !CHECK(known))
            fprintf(stderr, "    unknown flag word %.*s\n", (int)len, p);
        p += len;
    }
}

/* "name=value" pairs of numeric fields, e.g. "swr=30 age_header=-1". */
static void check_nums(const struct cache_verdict *v, const char *nums)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"max_age", offsetof(struct cache_verdict, max_age)},
        {"s_maxage", offsetof(struct cache_verdict, s_maxage)},
        {"swr", offsetof(struct cache_verdict, swr)},
        {"sie", offsetof(struct cache_verdict, sie)},
        {"age_header", offsetof(struct cache_verdict, age_header)},
        {"age_initial", offsetof(struct cache_verdict, age_initial)},
        {"age_resident", offsetof(struct cache_verdict, age_resident)},
        {"req_max_age", offsetof(struct cache_verdict, req_max_age)},
    };
    for (const char *p = nums; p != NULL && *p != '\0';) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        const char *eq = memchr(p, '=', len);
        bool found = false;
        for (size_t k = 0; eq != NULL && k < LC_ARRAY_LEN(fields); k++) {
            if (strlen(fields[k].name) != (size_t)(eq - p) ||
                strncmp(fields[k].name, p, (size_t)(eq - p)) != 0)
                continue;
            found = true;
            int64_t have = *(const int64_t *)((const char *)v + fields[k].off);
            int64_t want = strtoll(eq + 1, NULL, 10);
            if (!CHECK_EQ_INT(have, want))
                fprintf(stderr, "    field %s\n", fields[k].name);
        }
        if (len > 0 && !CHECK(found))
            fprintf(stderr, "    unknown number %.*s\n", (int)len, p);
        p += len;
    }
}

/* The JSON parses and agrees with the verdict on a few members. */
static void check_json(const struct cache_verdict *v)
{
    struct buf out = BUF_INIT;
    char err[128];
    cache_json(v, &out);
    struct jsonp_doc *d = jsonp_parse(out.p, out.len, err, sizeof(err));
    if (CHECK(d != NULL)) {
        const struct jsonp_val *root = jsonp_root(d);
        size_t len;
        const char *tag = jsonp_str(jsonp_get(root, "tag"), &len);
        CHECK(tag != NULL && strcmp(tag, v->tag) == 0);
        const char *sum = jsonp_str(jsonp_get(root, "summary"), &len);
        CHECK(sum != NULL && strcmp(sum, v->summary) == 0);
        CHECK_EQ_INT(jsonp_true(jsonp_get(jsonp_get(root, "private"), "stored")),
                     v->storable_private);
        CHECK_EQ_INT(jsonp_true(jsonp_get(jsonp_get(root, "shared"), "stored")),
                     v->storable_shared);
        double lt;
        if (v->lifetime >= 0)
            CHECK(jsonp_num(jsonp_get(jsonp_get(root, "private"), "lifetime"), &lt) &&
                  (int64_t)lt == v->lifetime);
        CHECK_EQ_INT(jsonp_true(jsonp_get(jsonp_get(root, "directives"), "no_cache")), v->no_cache);
    } else {
        fprintf(stderr, "    %s\n    %s\n", err, out.p);
    }
    jsonp_free(d);
    buf_free(&out);
}

/* ---- the table ------------------------------------------------------------ */

struct row {
    const char *name;
    const char *method;
    int status;
    const char *req, *resp; /* "Name: value\n..." with {D...} dates */
    int64_t delay, after;   /* seconds: request to response head; response to now */
    const char *tag;
    const char *flags; /* every flag that must be true (the rest must be false) */
    int64_t life, life_s, age;
    enum cache_src src, src_s;
    const char *summary, *notes; /* '|'-separated substrings, "!x" = absent */
    const char *nums;            /* extra numbers: "swr=30 sie=60" */
};

#define N CACHE_SRC_NONE
#define SM CACHE_SRC_SMAXAGE
#define MA CACHE_SRC_MAXAGE
#define EX CACHE_SRC_EXPIRES
#define HE CACHE_SRC_HEURISTIC

static const struct row table[] = {
    /* ---- freshness and its sources ---- */
    {"max-age", "GET", 200, NULL, "Cache-Control: max-age=3600\nDate: {D}\nETag: \"abc\"", 0, 0,
     "fresh", "sp ss fresh fresh_s etag", 3600, 3600, 0, MA, MA, "fresh 1h (max-age) · ETag",
     "!wins", "max_age=3600 s_maxage=-1 swr=-1 sie=-1 age_header=-1"},
    {"max-age half used", "GET", 200, NULL, "Cache-Control: max-age=3600\nDate: {D}", 0, 1800,
     "fresh", "sp ss fresh fresh_s", 3600, 3600, 1800, MA, MA, "fresh 30m of 1h (max-age)", NULL,
     "age_initial=0 age_resident=1800"},
    {"max-age stale", "GET", 200, NULL, "Cache-Control: max-age=60\nDate: {D}", 0, 360, "stale",
     "sp ss", 60, 60, 360, MA, MA, "stale by 5m (max-age)", NULL, NULL},
    {"max-age=0", "GET", 200, NULL, "Cache-Control: max-age=0\nDate: {D}", 0, 0, "stale", "sp ss",
     0, 0, 0, MA, MA, "stale at once (max-age=0)", NULL, NULL},
    {"max-age wins over Expires", "GET", 200, NULL,
     "Cache-Control: max-age=600\nDate: {D}\nExpires: {D+3600}", 0, 0, "fresh",
     "sp ss fresh fresh_s", 600, 600, 0, MA, MA, "fresh 10m (max-age)",
     "max-age=600 wins over Expires", NULL},
    {"Expires - Date", "GET", 200, NULL, "Date: {D}\nExpires: {D+7200}", 0, 0, "fresh",
     "sp ss fresh fresh_s", 7200, 7200, 0, EX, EX, "fresh 2h (Expires)", "!wins", NULL},
    {"Expires - Date, server clock behind", "GET", 200, NULL, "Date: {D-100}\nExpires: {D+3500}", 0,
     0, "fresh", "sp ss fresh fresh_s", 3600, 3600, 100, EX, EX, "fresh 58m of 1h (Expires)", NULL,
     "age_initial=100"},
    {"Expires stale", "GET", 200, NULL, "Date: {D}\nExpires: {D+60}\nLast-Modified: {D-86400}", 0,
     360, "stale", "sp ss lm", 60, 60, 360, EX, EX, "stale by 5m (Expires) · Last-Modified", NULL,
     NULL},
    {"Expires before Date", "GET", 200, NULL, "Date: {D}\nExpires: {D-60}", 0, 0, "stale", "sp ss",
     0, 0, 0, EX, EX, "stale at once (Expires)", "Expires is before Date", NULL},
    {"Expires without Date", "GET", 200, NULL, "Expires: {D+120}", 0, 0, "fresh",
     "sp ss fresh fresh_s", 120, 120, 0, EX, EX, "fresh 2m (Expires)", NULL, NULL},
    {"Expires: 0", "GET", 200, NULL, "Date: {D}\nExpires: 0", 0, 0, "stale", "sp ss", 0, 0, 0, EX,
     EX, "stale at once (Expires)", "Expires: bad date, means already expired", NULL},
    {"Expires bad, max-age wins", "GET", 200, NULL,
     "Date: {D}\nExpires: tomorrow\nCache-Control: max-age=60", 0, 0, "fresh",
     "sp ss fresh fresh_s", 60, 60, 0, MA, MA, "fresh 1m (max-age)",
     "ignored: Expires: bad date|max-age=60 wins over Expires", NULL},
    {"Expires RFC 850", "GET", 200, NULL, "Date: {D}\nExpires: {850:D+3600}", 0, 0, "fresh",
     "sp ss fresh fresh_s", 3600, 3600, 0, EX, EX, "fresh 1h (Expires)", "!bad date", NULL},
    {"Expires asctime, Date RFC 850", "GET", 200, NULL, "Date: {850:D}\nExpires: {ASC:D+5400}", 0,
     0, "fresh", "sp ss fresh fresh_s", 5400, 5400, 0, EX, EX, "fresh 1.5h (Expires)", "!bad date",
     NULL},
    {"conflicting Expires", "GET", 200, NULL, "Date: {D}\nExpires: {D+60}\nExpires: {D+6000}", 0, 0,
     "fresh", "sp ss fresh fresh_s", 60, 60, 0, EX, EX, "fresh 1m (Expires)",
     "conflicting Expires: first used", NULL},
    {"s-maxage for shared caches", "GET", 200, NULL,
     "Cache-Control: max-age=60, s-maxage=600\nDate: {D}", 0, 0, "fresh", "sp ss fresh fresh_s", 60,
     600, 0, MA, SM, "fresh 1m (max-age) · shared: fresh 10m (s-maxage)",
     "s-maxage=600 wins over max-age=60 in shared caches", "max_age=60 s_maxage=600"},
    {"s-maxage over Expires", "GET", 200, NULL,
     "Cache-Control: s-maxage=300\nDate: {D}\nExpires: {D+60}", 0, 0, "fresh",
     "sp ss fresh fresh_s", 60, 300, 0, EX, SM, "fresh 1m (Expires) · shared: fresh 5m (s-maxage)",
     "s-maxage=300 wins over Expires in shared caches", NULL},
    {"s-maxage only, status 500", "GET", 500, NULL, "Cache-Control: s-maxage=300", 0, 0, "fresh",
     "ss fresh_s", -1, 300, 0, N, SM,
     "not stored by the browser (status 500 not cacheable by default) · fresh 5m in shared "
     "caches (s-maxage)",
     NULL, NULL},
    {"heuristic", "GET", 200, NULL, "Date: {D}\nLast-Modified: {D-86400}", 0, 0, "fresh",
     "sp ss fresh fresh_s lm", 8640, 8640, 0, HE, HE, "heuristic 2.4h (Last-Modified)",
     "heuristic: 10% of 1d since Last-Modified|!capped", NULL},
    {"heuristic capped", "GET", 200, NULL, "Date: {D}\nLast-Modified: {D-2592000}", 0, 0, "fresh",
     "sp ss fresh fresh_s lm", 86400, 86400, 0, HE, HE, "heuristic 1d (Last-Modified)",
     "capped at 1d", NULL},
    {"heuristic stale", "GET", 404, NULL, "Date: {D}\nLast-Modified: {D-36000}", 0, 7200, "stale",
     "sp ss lm", 3600, 3600, 7200, HE, HE, "stale by 1h (heuristic)", NULL, NULL},
    {"heuristic, Last-Modified after Date", "GET", 200, NULL, "Date: {D}\nLast-Modified: {D+60}", 0,
     0, "stale", "sp ss lm", 0, 0, 0, HE, HE, "stale at once (heuristic)",
     "Last-Modified is not before Date", NULL},
    {"no heuristic for 500", "GET", 500, NULL, "Date: {D}\nLast-Modified: {D-86400}", 0, 0,
     "nostore", "lm", -1, -1, 0, N, N, "not stored (status 500 not cacheable by default)", NULL,
     NULL},
    {"500 public: heuristic", "GET", 500, NULL,
     "Cache-Control: public\nDate: {D}\nLast-Modified: {D-8640}", 0, 0, "fresh",
     "sp ss fresh fresh_s lm public", 864, 864, 0, HE, HE, "heuristic 14m (Last-Modified)", NULL,
     NULL},
    {"500 with max-age", "GET", 500, NULL, "Cache-Control: max-age=30", 0, 0, "fresh",
     "sp ss fresh fresh_s", 30, 30, 0, MA, MA, "fresh 30s (max-age)", NULL, NULL},
    {"no freshness information", "GET", 200, NULL, "Content-Type: text/plain", 0, 0, "stale",
     "sp ss", 0, 0, 0, N, N, "no freshness info", NULL, NULL},

    /* ---- age ---- */
    {"Age field", "GET", 200, NULL, "Cache-Control: max-age=600\nAge: 100\nDate: {D}", 0, 0,
     "fresh", "sp ss fresh fresh_s", 600, 600, 100, MA, MA, "fresh 8.3m of 10m (max-age)", NULL,
     "age_header=100 age_initial=100 age_resident=0"},
    {"Age plus transit", "GET", 200, NULL, "Cache-Control: max-age=600\nAge: 100\nDate: {D}", 2, 10,
     "fresh", "sp ss fresh fresh_s", 600, 600, 112, MA, MA, NULL, NULL,
     "age_initial=102 age_resident=10"},
    {"apparent age beats Age", "GET", 200, NULL,
     "Cache-Control: max-age=600\nAge: 100\nDate: {D-500}", 0, 0, "fresh", "sp ss fresh fresh_s",
     600, 600, 500, MA, MA, NULL, NULL, "age_initial=500"},
    {"Age beyond max-age", "GET", 200, NULL, "Cache-Control: max-age=60\nAge: 3600", 0, 0, "stale",
     "sp ss", 60, 60, 3600, MA, MA, "stale by 59m (max-age)", NULL, NULL},
    {"Age invalid", "GET", 200, NULL, "Cache-Control: max-age=60\nAge: abc", 0, 0, "fresh",
     "sp ss fresh fresh_s", 60, 60, 0, MA, MA, NULL, "ignored: Age: abc", "age_header=-1"},
    {"Date bad", "GET", 200, NULL, "Cache-Control: max-age=60\nDate: Mon, 32 Nov 2023 00:00:00 GMT",
     0, 0, "fresh", "sp ss fresh fresh_s", 60, 60, 0, MA, MA, NULL, "ignored: Date: bad date",
     NULL},

    /* ---- storage ---- */
    {"no-store", "GET", 200, NULL, "Cache-Control: no-store, max-age=600", 0, 0, "nostore",
     "no_store", -1, -1, 0, N, N, "not stored (no-store)|!ETag", "no-store wins", NULL},
    {"request no-store", "GET", 200, "Cache-Control: no-store", "Cache-Control: max-age=600", 0, 0,
     "nostore", "req_no_store", -1, -1, 0, N, N, "not stored (request no-store)", NULL, NULL},
    {"private", "GET", 200, NULL, "Cache-Control: private, max-age=600", 0, 0, "fresh",
     "sp fresh private", 600, -1, 0, MA, N,
     "not stored by shared caches (private) · fresh 10m for the browser", NULL, NULL},
    {"private qualified", "GET", 200, NULL, "Cache-Control: private=\"Set-Cookie\", max-age=60", 0,
     0, "fresh", "sp ss fresh fresh_s", 60, 60, 0, MA, MA, "fresh 1m (max-age)",
     "private=\"Set-Cookie\": shared caches may store the rest", NULL},
    {"private and public", "GET", 200, NULL, "Cache-Control: public, private, max-age=60", 0, 0,
     "fresh", "sp fresh private public", 60, -1, 0, MA, N, "not stored by shared caches (private)",
     "private wins over public", NULL},
    {"Authorization", "GET", 200, "Authorization: Bearer abc", "Cache-Control: max-age=60", 0, 0,
     "fresh", "sp fresh", 60, -1, 0, MA, N, "not stored by shared caches (Authorization)", NULL,
     NULL},
    {"Authorization, public", "GET", 200, "Authorization: Bearer abc",
     "Cache-Control: public, max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s public", 60, 60, 0,
     MA, MA, "fresh 1m (max-age)", "Authorization: shared caches may store it (public)", NULL},
    {"Authorization, s-maxage", "GET", 200, "Authorization: Bearer abc",
     "Cache-Control: s-maxage=60", 0, 0, "stale", "sp ss fresh_s", 0, 60, 0, N, SM,
     "no freshness info (revalidate) · shared: fresh 1m (s-maxage)",
     "Authorization: shared caches may store it (s-maxage)", NULL},
    {"Authorization, must-revalidate", "GET", 200, "authorization: Basic eDp5",
     "Cache-Control: must-revalidate, max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s must_reval",
     60, 60, 0, MA, MA, NULL, "shared caches may store it (must-revalidate)", NULL},
    {"Vary", "GET", 200, NULL,
     "Cache-Control: max-age=60\nVary: Accept-Encoding\nVary: Accept-Language, ,Origin", 0, 0,
     "fresh", "sp ss fresh fresh_s", 60, 60, 0, MA, MA, NULL, NULL, NULL},
    {"Vary: *", "GET", 200, NULL, "Cache-Control: max-age=60\nVary: Origin, *", 0, 0, "nostore",
     "vary_star", -1, -1, 0, N, N, "not stored (Vary: *)", NULL, NULL},
    {"POST", "POST", 200, NULL, "Cache-Control: max-age=60", 0, 0, "nostore", "", -1, -1, 0, N, N,
     "not stored (method POST)", NULL, NULL},
    {"PUT", "PUT", 204, NULL, "Cache-Control: max-age=60", 0, 0, "nostore", "", -1, -1, 0, N, N,
     "not stored (method PUT)", NULL, NULL},
    {"lower-case get is another method", "get", 200, NULL, "Cache-Control: max-age=60", 0, 0,
     "nostore", "", -1, -1, 0, N, N, "not stored (method get)", NULL, NULL},
    {"HEAD", "HEAD", 200, NULL, "Cache-Control: max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s",
     60, 60, 0, MA, MA, NULL, NULL, NULL},
    {"status 307", "GET", 307, NULL, "Location: /y", 0, 0, "nostore", "", -1, -1, 0, N, N,
     "not stored (status 307 not cacheable by default)", NULL, NULL},
    {"status 101", "GET", 101, NULL, "Cache-Control: max-age=60", 0, 0, "nostore", "", -1, -1, 0, N,
     N, "not stored (status 101)", NULL, NULL},
    {"status 206 by default", "GET", 206, NULL, "Date: {D}\nLast-Modified: {D-1000}", 0, 0, "fresh",
     "sp ss fresh fresh_s lm", 100, 100, 0, HE, HE, "heuristic 1.7m (Last-Modified)", NULL, NULL},
    {"status 410 by default, Expires", "GET", 410, NULL, "Expires: {D+60}", 0, 0, "fresh",
     "sp ss fresh fresh_s", 60, 60, 0, EX, EX, NULL, NULL, NULL},

    /* ---- directives ---- */
    {"no-cache", "GET", 200, NULL, "Cache-Control: no-cache\nETag: W/\"1\"", 0, 0, "revalidate",
     "sp ss no_cache etag weak", 0, 0, 0, N, N, "revalidate (no-cache) · weak ETag", NULL, NULL},
    {"no-cache with max-age", "GET", 200, NULL, "Cache-Control: max-age=600, no-cache", 0, 0,
     "revalidate", "sp ss fresh fresh_s no_cache", 600, 600, 0, MA, MA, "revalidate (no-cache)",
     "no-cache wins over max-age", NULL},
    {"no-cache qualified", "GET", 200, NULL, "Cache-Control: no-cache=\"Set-Cookie\", max-age=60",
     0, 0, "fresh", "sp ss fresh fresh_s", 60, 60, 0, MA, MA, NULL,
     "no-cache=\"Set-Cookie\": only those fields need revalidation", NULL},
    {"must-revalidate, proxy-revalidate", "GET", 200, NULL,
     "Cache-Control: max-age=60, must-revalidate, proxy-revalidate", 0, 120, "stale",
     "sp ss must_reval proxy_reval", 60, 60, 120, MA, MA, "stale by 1m (max-age)", NULL, NULL},
    {"immutable", "GET", 200, NULL, "Cache-Control: public, max-age=31536000, immutable", 0, 0,
     "fresh", "sp ss fresh fresh_s immutable public", 31536000, 31536000, 0, MA, MA,
     "fresh 365d (max-age) · immutable", NULL, NULL},
    {"stale-while-revalidate, stale-if-error", "GET", 200, NULL,
     "Cache-Control: max-age=60, stale-while-revalidate=30, stale-if-error=86400", 0, 0, "fresh",
     "sp ss fresh fresh_s", 60, 60, 0, MA, MA, NULL, NULL, "swr=30 sie=86400"},
    {"Pragma: no-cache in the request", "GET", 200, "Pragma: no-cache", "Cache-Control: max-age=60",
     0, 0, "fresh", "sp ss fresh fresh_s req_no_cache", 60, 60, 0, MA, MA, "request no-cache",
     "Pragma: no-cache read as Cache-Control: no-cache", NULL},
    {"Pragma beside Cache-Control", "GET", 200, "Pragma: no-cache\nCache-Control: max-age=5",
     "Cache-Control: max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s", 60, 60, 0, MA, MA,
     "!request no-cache", "ignored: request Pragma", "req_max_age=5"},
    {"Pragma in a response", "GET", 200, NULL, "Pragma: no-cache\nCache-Control: max-age=60", 0, 0,
     "fresh", "sp ss fresh fresh_s", 60, 60, 0, MA, MA, NULL, "ignored: Pragma in a response",
     NULL},
    {"request max-age=0 (reload)", "GET", 200, "Cache-Control: max-age=0",
     "Cache-Control: max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s req_no_cache", 60, 60, 0, MA,
     MA, "request no-cache", NULL, "req_max_age=0"},
    {"request no-cache, only-if-cached", "GET", 200, "Cache-Control: no-cache, only-if-cached",
     "Cache-Control: max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s req_no_cache only_if_cached",
     60, 60, 0, MA, MA, NULL, NULL, NULL},
    {"request directive in a response", "GET", 200, "Cache-Control: public",
     "Cache-Control: only-if-cached, max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s", 60, 60, 0,
     MA, MA, NULL, "ignored: only-if-cached in a response|ignored: public in a request", NULL},
    {"names and directives are case-insensitive", "GET", 200, NULL,
     "CACHE-CONTROL: MAX-AGE=60, Private", 0, 0, "fresh", "sp fresh private", 60, -1, 0, MA, N,
     NULL, "!ignored", NULL},

    /* ---- malformed directives ---- */
    {"max-age=abc", "GET", 200, NULL, "Cache-Control: max-age=abc\nDate: {D}\nExpires: {D+60}", 0,
     0, "fresh", "sp ss fresh fresh_s", 60, 60, 0, EX, EX, NULL, "ignored: max-age=abc",
     "max_age=-1"},
    {"max-age=-1", "GET", 200, NULL, "Cache-Control: max-age=-1", 0, 0, "stale", "sp ss", 0, 0, 0,
     N, N, "no freshness info", "ignored: max-age=-1", NULL},
    {"max-age without value", "GET", 200, NULL, "Cache-Control: max-age", 0, 0, "stale", "sp ss", 0,
     0, 0, N, N, NULL, "ignored: max-age without a value", NULL},
    {"max-age= empty", "GET", 200, NULL, "Cache-Control: max-age=", 0, 0, "stale", "sp ss", 0, 0, 0,
     N, N, NULL, "ignored: max-age=", NULL},
    {"max-age quoted", "GET", 200, NULL, "Cache-Control: max-age=\"60\"", 0, 0, "fresh",
     "sp ss fresh fresh_s", 60, 60, 0, MA, MA, NULL, "max-age=\"60\": quoted form accepted", NULL},
    {"max-age unterminated quote", "GET", 200, NULL, "Cache-Control: max-age=\"60", 0, 0, "fresh",
     "sp ss fresh fresh_s", 60, 60, 0, MA, MA, NULL, "unterminated quoted string", NULL},
    {"max-age with junk", "GET", 200, NULL, "Cache-Control: max-age=60 s", 0, 0, "stale", "sp ss",
     0, 0, 0, N, N, NULL, "ignored: max-age=60 s", NULL},
    {"max-age huge", "GET", 200, NULL, "Cache-Control: max-age=99999999999999999999999", 0, 0,
     "fresh", "sp ss fresh fresh_s", 2147483648LL, 2147483648LL, 0, MA, MA, NULL,
     "max-age too large: read as 2147483648", NULL},
    {"conflicting max-age", "GET", 200, NULL, "Cache-Control: max-age=60, max-age=3600", 0, 0,
     "fresh", "sp ss fresh fresh_s", 60, 60, 0, MA, MA, NULL, "conflicting max-age: first used",
     NULL},
    {"conflicting max-age across fields", "GET", 200, NULL,
     "Cache-Control: max-age=60\nCache-Control: public, max-age=3600", 0, 0, "fresh",
     "sp ss fresh fresh_s public", 60, 60, 0, MA, MA, NULL, "conflicting max-age: first used",
     NULL},
    {"repeated equal max-age", "GET", 200, NULL,
     "Cache-Control: max-age=60\nCache-Control: max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s",
     60, 60, 0, MA, MA, NULL, "!conflicting", NULL},
    {"unknown directive, argument on a flag", "GET", 200, NULL,
     "Cache-Control: foo=bar, max-age=60, must-revalidate=1, =5", 0, 0, "fresh",
     "sp ss fresh fresh_s must_reval", 60, 60, 0, MA, MA, NULL,
     "unknown directive foo|must-revalidate takes no argument|element without a name", NULL},
    {"directive with comma in quotes", "GET", 200, NULL,
     "Cache-Control: private=\"Set-Cookie, X-A\", max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s",
     60, 60, 0, MA, MA, NULL, "private=\"Set-Cookie, X-A\"", NULL},
    {"unprintable bytes in a note", "GET", 200, NULL, "Cache-Control: max-age=\x01\x7f\xff", 0, 0,
     "stale", "sp ss", 0, 0, 0, N, N, NULL, "ignored: max-age=???", NULL},
    {"ETag unquoted", "GET", 200, NULL, "ETag: abc\nCache-Control: max-age=60", 0, 0, "fresh",
     "sp ss fresh fresh_s etag", 60, 60, 0, MA, MA, NULL, "ETag abc is not a quoted string", NULL},
    {"Last-Modified bad", "GET", 200, NULL, "Last-Modified: yesterday", 0, 0, "stale", "sp ss", 0,
     0, 0, N, N, "!Last-Modified", "ignored: Last-Modified: bad date", NULL},

    /* ---- conditional requests ---- */
    {"no-cache revalidated: 304", "GET", 304, "If-None-Match: \"v1\"",
     "Cache-Control: no-cache\nETag: \"v1\"", 0, 0, "304", "sp ss no_cache etag cond inm matched",
     0, 0, 0, N, N, "revalidate (no-cache) → 304 · ETag", NULL, NULL},
    {"304, strong If-None-Match, weak ETag", "GET", 304, "If-None-Match: \"x\"",
     "ETag: W/\"x\"\nCache-Control: max-age=60", 0, 0, "304",
     "sp ss fresh fresh_s etag weak cond inm matched", 60, 60, 0, MA, MA,
     "fresh 1m (max-age) → 304", "304: its fields update the stored response", NULL},
    {"304, weak If-None-Match list", "GET", 304, "If-None-Match: \"a\", W/\"b\" , \"c,d\"",
     "ETag: \"b\"", 0, 0, "304", "sp ss etag cond inm matched", 0, 0, 0, N, N, "revalidated → 304",
     "!malformed", NULL},
    {"304, quoted comma does not split", "GET", 304, "If-None-Match: \"c,d\"", "ETag: \"c,d\"", 0,
     0, "304", "sp ss etag cond inm matched", 0, 0, 0, N, N, NULL, NULL, NULL},
    {"304 without ETag", "GET", 304, "If-None-Match: \"a\"", "Date: {D}", 0, 0, "304",
     "sp ss cond inm matched", 0, 0, 0, N, N, NULL, "304 without ETag", NULL},
    {"If-None-Match *", "GET", 304, "If-None-Match: *", "Date: {D}", 0, 0, "304",
     "sp ss cond inm matched", 0, 0, 0, N, N, NULL, "!304 without ETag", NULL},
    {"304 whose ETag differs", "GET", 304, "If-None-Match: \"a\"", "ETag: \"b\"", 0, 0, "304",
     "sp ss etag cond inm", 0, 0, 0, N, N, NULL, "304 although the validator does not match", NULL},
    {"200 changed", "GET", 200, "If-None-Match: \"old\"",
     "ETag: \"new\"\nCache-Control: max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s etag cond inm",
     60, 60, 0, MA, MA, "fresh 1m (max-age) → 200 (changed) · ETag", NULL, NULL},
    {"200 although matched", "GET", 200, "If-None-Match: W/\"same\"",
     "ETag: \"same\"\nCache-Control: max-age=60", 0, 0, "fresh",
     "sp ss fresh fresh_s etag cond inm matched", 60, 60, 0, MA, MA, "!changed",
     "validator matched, yet the server sent a full 200", NULL},
    {"If-None-Match wins over If-Modified-Since", "GET", 200,
     "If-None-Match: \"a\"\nIf-Modified-Since: {D}",
     "ETag: \"b\"\nLast-Modified: {D-1000}\nCache-Control: max-age=60", 0, 0, "fresh",
     "sp ss fresh fresh_s etag lm cond inm ims", 60, 60, 0, MA, MA, "→ 200 (changed)",
     "If-Modified-Since ignored: If-None-Match present", NULL},
    {"malformed If-None-Match", "GET", 200, "If-None-Match: abc, W/x",
     "ETag: \"abc\"\nCache-Control: max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s etag cond inm",
     60, 60, 0, MA, MA, NULL, "If-None-Match: malformed entity tag", NULL},
    {"If-Modified-Since: 304", "GET", 304, "If-Modified-Since: {D}", "Last-Modified: {D-100}", 0, 0,
     "304", "sp ss fresh fresh_s lm cond ims matched", 10, 10, 0, HE, HE, "→ 304", NULL, NULL},
    {"If-Modified-Since: 200 newer", "GET", 200, "If-Modified-Since: {D-1000}",
     "Last-Modified: {D-100}\nCache-Control: max-age=60", 0, 0, "fresh",
     "sp ss fresh fresh_s lm cond ims", 60, 60, 0, MA, MA, "→ 200 (changed) · Last-Modified", NULL,
     NULL},
    {"If-Modified-Since asctime", "GET", 304, "If-Modified-Since: {ASC:D}",
     "Last-Modified: {D-100}", 0, 0, "304", "sp ss fresh fresh_s lm cond ims matched", 10, 10, 0,
     HE, HE, NULL, "!bad date", NULL},
    {"If-Modified-Since: 304 without Last-Modified", "GET", 304, "If-Modified-Since: {D}", NULL, 0,
     0, "304", "sp ss cond ims matched", 0, 0, 0, N, N, NULL, "304 without Last-Modified", NULL},
    {"If-Modified-Since bad date", "GET", 200, "If-Modified-Since: whenever",
     "Cache-Control: max-age=60", 0, 0, "fresh", "sp ss fresh fresh_s ims", 60, 60, 0, MA, MA,
     "!changed", "ignored: If-Modified-Since: bad date", NULL},
    {"If-Modified-Since on POST", "POST", 200, "If-Modified-Since: {D}", NULL, 0, 0, "nostore",
     "ims", -1, -1, 0, N, N, NULL, "ignored: If-Modified-Since (only for GET and HEAD)", NULL},

    /* ---- nothing to judge ---- */
    {"no response", "GET", 0, NULL, NULL, 0, 0, "", "", -1, -1, 0, N, N, "no response", NULL, NULL},
};

static void run_row(const struct row *r)
{
    struct flow *f = mkflow(r->method, r->status, r->req, r->resp, r->delay);
    struct cache_verdict v;
    cache_analyze(f, T0 + r->delay + r->after, &v);
    check_note("row \"%s\"", r->name);
    CHECK_EQ_STR(v.tag, r->tag);
    CHECK_EQ_STR(cache_tag(&v), r->tag);
    check_flags(&v, r->flags);
    if (r->life != NA)
        CHECK_EQ_INT(v.lifetime, r->life);
    if (r->life_s != NA)
        CHECK_EQ_INT(v.lifetime_shared, r->life_s);
    if (r->age != NA && r->tag[0] != '\0' && (v.storable_private || v.storable_shared))
        CHECK_EQ_INT(v.age, r->age);
    CHECK_EQ_INT(v.source, r->src);
    CHECK_EQ_INT(v.source_shared, r->src_s);
    check_substrings("summary", v.summary, r->summary);
    check_substrings("notes", v.notes, r->notes);
    check_nums(&v, r->nums);
    check_json(&v);
    struct buf ex = BUF_INIT;
    cache_explain(&v, &ex);
    CHECK(ex.len > 0 && strstr(ex.p, v.summary) != NULL);
    buf_free(&ex);
    check_note(NULL);
    flow_unref(f);
}

static void test_table(void)
{
    for (size_t k = 0; k < LC_ARRAY_LEN(table); k++)
        run_row(&table[k]);
}

static bool valid_utf8(const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = json_utf8_seq((const unsigned char *)s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* Vary list, tunnels and the explanation's wording, outside the table. */
static void test_misc(void)
{
    struct cache_verdict v;
    struct flow *f = mkflow("GET", 200, NULL,
                            "Cache-Control: max-age=60, stale-while-revalidate=30\n"
                            "Vary: Accept-Encoding\nVary: Accept-Language, ,Origin\n"
                            "ETag: \"e\"\nLast-Modified: {D-10}",
                            0);
    cache_analyze(f, T0, &v);
    CHECK_EQ_STR(v.vary, "Accept-Encoding, Accept-Language, Origin");
    struct buf ex = BUF_INIT;
    cache_explain(&v, &ex);
    CHECK(strstr(ex.p, "Browser (private cache): may store it; fresh for 1m (from max-age)") !=
          NULL);
    CHECK(strstr(ex.p, "stale-while-revalidate=30: may be served up to 30s stale") != NULL);
    CHECK(strstr(ex.p, "Validators: strong ETag, Last-Modified") != NULL);
    CHECK(strstr(ex.p, "Vary: Accept-Encoding, Accept-Language, Origin: ") != NULL);
    buf_free(&ex);
    flow_unref(f);

    /* explanation of a not-stored response with notes */
    f = mkflow("GET", 200, "Authorization: x", "Cache-Control: no-store, foo, max-age=1", 0);
    cache_analyze(f, T0, &v);
    cache_explain(&v, &ex);
    CHECK(strstr(ex.p, "Browser (private cache): not stored: no-store\n") != NULL);
    CHECK(strstr(ex.p, "Notes:\n  - ignored: unknown directive foo\n  - no-store wins") != NULL);
    buf_free(&ex);
    flow_unref(f);

    /* Vary longer than the field: cut with a note, never overflowing */
    f = mkflow("GET", 200, NULL, NULL, 0);
    for (int i = 0; i < 30; i++) {
        char name[32];
        snprintf(name, sizeof(name), "X-Header-Number-%d", i);
        hdrs_add(&f->resp_headers, "Vary", 4, name, strlen(name));
    }
    cache_analyze(f, T0, &v);
    CHECK(strlen(v.vary) < sizeof(v.vary));
    CHECK(strstr(v.notes, "Vary list too long") != NULL);
    CHECK(strncmp(v.vary, "X-Header-Number-0, X-Header-Number-1", 36) == 0);
    flow_unref(f);

    /* a NUL byte inside a directive's value makes it invalid, not shorter */
    f = mkflow("GET", 200, NULL, NULL, 0);
    hdrs_add(&f->resp_headers, "Cache-Control", 13, "max-age=6\0", 10);
    cache_analyze(f, T0, &v);
    CHECK_EQ_INT(v.max_age, -1);
    CHECK(strstr(v.notes, "ignored: max-age=6?") != NULL);
    flow_unref(f);

    /* the longest summary: cut at a character boundary, still valid UTF-8 */
    f = mkflow("GET", 202, "If-None-Match: \"a\"\nCache-Control: no-cache",
               "Cache-Control: s-maxage=1, no-cache, immutable\nETag: W/\"b\"\n"
               "Last-Modified: {D-10}",
               0);
    cache_analyze(f, T0, &v);
    CHECK(strlen(v.summary) < sizeof(v.summary));
    CHECK(valid_utf8(v.summary));
    static const char longest[] = "not stored by the browser (status 202 not cacheable by "
                                  "default) · revalidate in shared caches (no-cache) → 202 "
                                  "(changed) · weak ETag, Last-Modified · immu";
    CHECK_EQ_STR(v.summary, longest); /* the rest, "table · request no-cache", did not fit */
    flow_unref(f);

    /* long summaries of many lengths: the cut never splits "·" or "→" */
    unsigned long split = 0, bad = 0;
    for (int64_t smax = 2900; smax < 3100; smax += 7) {
        for (int age = 0; age < 40; age += 3) {
            char resp[256];
            snprintf(resp, sizeof(resp),
                     "Cache-Control: s-maxage=%" PRId64 ", immutable\nAge: %d\nETag: W/\"b\"\n"
                     "Last-Modified: {D-10}",
                     smax, age * age * 13);
            f = mkflow("GET", 202, "If-None-Match: \"a\"\nCache-Control: no-cache", resp, 0);
            cache_analyze(f, T0, &v);
            size_t len = strlen(v.summary);
            if (!valid_utf8(v.summary) || len >= sizeof(v.summary) || v.summary[len - 1] == ' ')
                bad++;
            split += len < sizeof(v.summary) - 2 && len > 140; /* "·" and a space dropped */
            flow_unref(f);
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(split > 0);

    /* a tunnel */
    f = mkflow("CONNECT", 200, NULL, NULL, 0);
    f->connect = true;
    cache_analyze(f, T0, &v);
    CHECK_EQ_STR(v.tag, "");
    CHECK_EQ_STR(v.summary, "tunnel");
    check_json(&v);
    cache_explain(&v, &ex);
    CHECK_EQ_STR(ex.p, "Verdict: tunnel\n");
    buf_free(&ex);
    flow_unref(f);

    /* response start unknown: the end of the exchange is used as response time */
    f = mkflow("GET", 200, NULL, "Cache-Control: max-age=60\nAge: 10", 3);
    f->t_resp_start = 0;
    cache_analyze(f, T0 + 3, &v);
    CHECK_EQ_INT(v.age_initial, 13);
    flow_unref(f);
}

/* Notes that do not fit end in "..." and the rest are dropped. */
static void test_notes_overflow(void)
{
    struct flow *f = mkflow("GET", 200, NULL, NULL, 0);
    for (int i = 0; i < 100; i++) {
        char d[32];
        snprintf(d, sizeof(d), "ext-%d=%d", i, i);
        hdrs_add(&f->resp_headers, "Cache-Control", 13, d, strlen(d));
    }
    struct cache_verdict v;
    cache_analyze(f, T0, &v);
    size_t len = strnlen(v.notes, sizeof(v.notes));
    CHECK(len < sizeof(v.notes));
    CHECK(v.notes_cut);
    CHECK(len >= 3 && strcmp(v.notes + len - 3, "...") == 0);
    CHECK(strstr(v.notes, "ignored: unknown directive ext-0; ") == v.notes);
    check_json(&v);
    flow_unref(f);
}

/* ---- dates ---------------------------------------------------------------- */

static void test_dates(void)
{
    static const struct {
        const char *s;
        int64_t now, want;
    } rows[] = {
        {"Sun, 06 Nov 1994 08:49:37 GMT", T0, 784111777},
        {"Sunday, 06-Nov-94 08:49:37 GMT", T0, 784111777},
        {"Sun Nov  6 08:49:37 1994", T0, 784111777},
        {"Sun Nov 06 08:49:37 1994", T0, 784111777},
        {"  Sun, 06 Nov 1994 08:49:37 GMT\t", T0, 784111777},
        {"sun, 06 nov 1994 08:49:37 gmt", T0, 784111777},
        {"Mon, 06 Nov 1994 08:49:37 GMT", T0, 784111777}, /* weekday not cross-checked */
        {"Thu, 01 Jan 1970 00:00:00 GMT", T0, 0},
        {"Wed, 31 Dec 1969 23:59:59 GMT", T0, 0}, /* before the epoch */
        {"Thu, 29 Feb 2024 12:00:00 GMT", T0, 1709208000},
        {"Tue, 29 Feb 2000 00:00:00 GMT", T0, 951782400},
        {"Fri, 31 Dec 9999 23:59:59 GMT", T0, 253402300799},
        {"Sat, 31 Dec 2016 23:59:60 GMT", T0, 1483228800}, /* leap second */
        {"Tue, 14 Nov 2023 22:13:20 GMT", T0, T0},
        /* two-digit years: more than 50 years ahead means the century before */
        {"Tuesday, 14-Nov-23 22:13:20 GMT", T0, T0},
        {"Thursday, 01-Jan-70 00:00:00 GMT", T0, 3155760000},       /* 2070: 46 years ahead */
        {"Friday, 01-Jan-80 00:00:00 GMT", T0, 315532800},          /* 2080 is too far: 1980 */
        {"Friday, 01-Jan-80 00:00:00 GMT", 4102444800, 3471292800}, /* now 2100: 2080 */
        {"Thursday, 01-Jan-70 00:00:00 GMT", 0, 0},
        /* malformed */
        {"", T0, -1},
        {"0", T0, -1},
        {"-1", T0, -1},
        {"Sun, 06 Nov 1994 08:49:37", T0, -1},
        {"Sun, 06 Nov 1994 08:49:37 UTC", T0, -1},
        {"Sun, 06 Nov 1994 08:49:37 GMT x", T0, -1},
        {"Sun, 6 Nov 1994 08:49:37 GMT", T0, -1},
        {"Sun, 06 Nov 94 08:49:37 GMT", T0, -1},
        {"Sun,06 Nov 1994 08:49:37 GMT", T0, -1},
        {"Sun, 06 Nov 1994 8:49:37 GMT", T0, -1},
        {"Sun, 06 Nov 1994 24:00:00 GMT", T0, -1},
        {"Sun, 06 Nov 1994 23:60:00 GMT", T0, -1},
        {"Sun, 06 Nov 1994 23:59:61 GMT", T0, -1},
        {"Sun, 00 Nov 1994 08:49:37 GMT", T0, -1},
        {"Sun, 31 Nov 1994 08:49:37 GMT", T0, -1},
        {"Wed, 29 Feb 2023 00:00:00 GMT", T0, -1},
        {"Thu, 29 Feb 1900 00:00:00 GMT", T0, -1},
        {"Sun, 06 Foo 1994 08:49:37 GMT", T0, -1},
        {"Xyz, 06 Nov 1994 08:49:37 GMT", T0, -1},
        {"Sunday, 06 Nov 1994 08:49:37 GMT", T0, -1},
        {"Sun, 06-Nov-94 08:49:37 GMT", T0, -1},
        {"Sunday, 06-Nov-1994 08:49:37 GMT", T0, -1},
        {"Sun Nov 6 08:49:37 1994", T0, -1},
        {"Sun Nov  6 08:49:37 94", T0, -1},
        {"Sun Nov  6 08:49:37 1994 GMT", T0, -1},
        {"1994-11-06T08:49:37Z", T0, -1},
        {"Sun, 06 Nov 1994 08:49:37 GMT\0", T0, -1},
    };
    for (size_t k = 0; k < LC_ARRAY_LEN(rows); k++) {
        size_t len = strlen(rows[k].s) + (k == LC_ARRAY_LEN(rows) - 1); /* the last holds a NUL */
        char *copy = malloc(len ? len : 1);
        if (copy == NULL)
            abort();
        memcpy(copy, rows[k].s, len);
        check_note("date \"%s\"", rows[k].s);
        CHECK_EQ_INT(cache_parse_date(copy, len, rows[k].now), rows[k].want);
        free(copy);
    }
    check_note(NULL);
    CHECK_EQ_INT(cache_parse_date(NULL, 0, T0), -1);

    /* every prefix of a valid date is invalid (and read within bounds) */
    static const char *const full[] = {"Sun, 06 Nov 1994 08:49:37 GMT",
                                       "Sunday, 06-Nov-94 08:49:37 GMT",
                                       "Sun Nov  6 08:49:37 1994"};
    for (size_t k = 0; k < LC_ARRAY_LEN(full); k++) {
        for (size_t len = 0; len < strlen(full[k]); len++) {
            char *copy = malloc(len ? len : 1);
            if (copy == NULL)
                abort();
            memcpy(copy, full[k], len);
            check_note("prefix %zu of \"%s\"", len, full[k]);
            CHECK_EQ_INT(cache_parse_date(copy, len, T0), -1);
            free(copy);
        }
    }
    check_note(NULL);

    /* random times in all three formats, against gmtime_r */
    uint64_t x = 0x243f6a8885a308d3ULL;
    unsigned long bad = 0;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t t = (int64_t)(x % 253402300800ULL);
        for (int fmt = FMT_IMF; fmt <= FMT_ASC; fmt++) {
            char s[64];
            fmt_date(t, (enum date_fmt)fmt, s, sizeof(s));
            int64_t got = cache_parse_date(s, strlen(s), t); /* now = t: the right century */
            if (got != t && bad++ < 5)
                fprintf(stderr, "    \"%s\": got %" PRId64 ", want %" PRId64 "\n", s, got, t);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_human(void)
{
    static const struct {
        int64_t s;
        const char *want;
    } rows[] = {
        {-5, "0s"},         {0, "0s"},        {1, "1s"},
        {59, "59s"},        {60, "1m"},       {90, "1.5m"},
        {599, "10m"},       {600, "10m"},     {3597, "1h"},
        {3600, "1h"},       {3659, "1h"},     {5400, "1.5h"},
        {8640, "2.4h"},     {35999, "10h"},   {86399, "1d"},
        {86400, "1d"},      {129600, "1.5d"}, {864000, "10d"},
        {31536000, "365d"}, {7200, "2h"},     {2147483648LL, "24855d"},
    };
    for (size_t k = 0; k < LC_ARRAY_LEN(rows); k++) {
        char out[16];
        cache_human(rows[k].s, out, sizeof(out));
        check_note("%" PRId64 " s", rows[k].s);
        CHECK_EQ_STR(out, rows[k].want);
    }
    check_note(NULL);
    char tiny[3];
    cache_human(5400, tiny, sizeof(tiny));
    CHECK_EQ_STR(tiny, "1.");
}

/* ---- garbage -------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 11) % n;
}

/* A value built from pieces that mean something to the parsers, and bytes. */
static size_t garbage(char *out, size_t cap)
{
    static const char *const pieces[] = {"max-age",
                                         "s-maxage",
                                         "=",
                                         "\"",
                                         ",",
                                         " ",
                                         "\t",
                                         "60",
                                         "-1",
                                         "0",
                                         "no-cache",
                                         "no-store",
                                         "private",
                                         "public",
                                         "must-revalidate",
                                         "immutable",
                                         "W/",
                                         "*",
                                         "stale-while-revalidate",
                                         "stale-if-error",
                                         "99999999999999999999",
                                         "\\",
                                         "GMT",
                                         "Sun, 06 Nov 1994 08:49:37 GMT",
                                         "Sunday, 06-Nov-94 08:49:37 GMT",
                                         "Sun Nov  6 08:49:37 1994",
                                         "Feb",
                                         "29",
                                         ":",
                                         "only-if-cached",
                                         "max-stale",
                                         "min-fresh",
                                         "\"abc\"",
                                         "W/\"abc\"",
                                         ";",
                                         "Accept-Encoding"};
    size_t len = 0, n = rnd(12);
    for (size_t k = 0; k < n; k++) {
        if (rnd(4) == 0) {
            if (len + 1 < cap)
                out[len++] = (char)rnd(256);
            continue;
        }
        const char *p = pieces[rnd(LC_ARRAY_LEN(pieces))];
        size_t pl = strlen(p);
        if (len + pl >= cap)
            break;
        memcpy(out + len, p, pl);
        len += pl;
    }
    return len;
}

static void test_garbage(void)
{
    static const char *const names[] = {
        "Cache-Control", "Expires", "Date",          "Last-Modified",     "Age",          "ETag",
        "Vary",          "Pragma",  "If-None-Match", "If-Modified-Since", "Authorization"};
    static const char *const methods[] = {"GET", "HEAD", "POST", "", "G\x01T"};
    static const int statuses[] = {0, 100, 200, 204, 206, 304, 307, 404, 500, 999, -1};
    static const char *const tags[] = {"", "304", "fresh", "stale", "nostore", "revalidate"};
    unsigned long broken = 0;

    for (int iter = 0; iter < 30000; iter++) {
        struct flow *f = flow_new(1);
        if (f == NULL)
            abort();
        snprintf(f->method, sizeof(f->method), "%s", methods[rnd(LC_ARRAY_LEN(methods))]);
        f->status = statuses[rnd(LC_ARRAY_LEN(statuses))];
        f->connect = rnd(50) == 0;
        int64_t walls[] = {T0 * 1000000, 0, -1000000, INT64_MAX, INT64_MIN, (int64_t)rnd(1000000)};
        f->wall_start = walls[rnd(LC_ARRAY_LEN(walls))];
        f->t_start = rnd(3) ? 1000 : 0;
        f->t_resp_start = rnd(3) ? (int64_t)rnd(100000000) : rnd(2) ? INT64_MAX : 0;
        f->t_end = rnd(2) ? f->t_resp_start / 2 + (int64_t)rnd(1000) : 0;
        size_t nh = rnd(10);
        for (size_t k = 0; k < nh; k++) {
            char val[200];
            size_t vl = garbage(val, sizeof(val));
            const char *name = names[rnd(LC_ARRAY_LEN(names))];
            hdrs_add(rnd(3) ? &f->resp_headers : &f->req_headers, name, strlen(name), val, vl);
        }
        int64_t nows[] = {T0, 0, -5, INT64_MAX, INT64_MIN, T0 + (int64_t)rnd(1000000000)};
        struct cache_verdict v;
        memset(&v, 0xa5, sizeof(v)); /* cache_analyze must set every field */
        cache_analyze(f, nows[rnd(LC_ARRAY_LEN(nows))], &v);

        bool ok = memchr(v.tag, '\0', sizeof(v.tag)) &&
                  memchr(v.summary, '\0', sizeof(v.summary)) &&
                  memchr(v.notes, '\0', sizeof(v.notes)) && memchr(v.vary, '\0', sizeof(v.vary));
        if (ok) {
            bool known = false;
            for (size_t k = 0; k < LC_ARRAY_LEN(tags); k++)
                known |= strcmp(v.tag, tags[k]) == 0;
            ok = known && valid_utf8(v.summary) && valid_utf8(v.notes) && v.summary[0] != '\0';
            /* lifetimes exist exactly for the caches that store it */
            ok = ok && (v.lifetime >= 0) == v.storable_private &&
                 (v.lifetime_shared >= 0) == v.storable_shared;
            ok = ok && (!v.fresh || v.storable_private) && (!v.fresh_shared || v.storable_shared);
            ok = ok && (v.tag[0] != '\0' || !(v.storable_private || v.storable_shared));
        }
        struct buf out = BUF_INIT;
        char err[128];
        cache_json(&v, &out);
        struct jsonp_doc *d = jsonp_parse(out.p, out.len, err, sizeof(err));
        ok = ok && d != NULL;
        jsonp_free(d);
        buf_reset(&out);
        cache_explain(&v, &out);
        ok = ok && out.len > 0;
        if (!ok && broken++ < 3)
            fprintf(stderr, "    iteration %d: tag \"%s\" summary \"%s\" notes \"%s\"\n", iter,
                    v.tag, v.summary, v.notes);
        buf_free(&out);
        flow_unref(f);
    }
    CHECK_EQ_INT(broken, 0);

    /* every prefix of a tricky Cache-Control value, exact-size copies */
    static const char cc[] = "max-age=\"6\\\"0\", private=\"a, b\" , s-maxage=10 x, =, ,no-cache";
    for (size_t len = 0; len <= sizeof(cc) - 1; len++) {
        struct flow *f = flow_new(1);
        if (f == NULL)
            abort();
        snprintf(f->method, sizeof(f->method), "GET");
        f->status = 200;
        char *copy = malloc(len ? len : 1);
        if (copy == NULL)
            abort();
        memcpy(copy, cc, len);
        hdrs_add(&f->resp_headers, "Cache-Control", 13, copy, len);
        hdrs_add(&f->req_headers, "If-None-Match", 13, copy, len);
        free(copy);
        struct cache_verdict v;
        cache_analyze(f, T0, &v);
        CHECK(v.tag[0] != '\0');
        flow_unref(f);
    }
}

int main(void)
{
    test_table();
    test_misc();
    test_notes_overflow();
    test_dates();
    test_human();
    test_garbage();
    return check_summary();
}
