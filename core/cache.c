/* SPDX-License-Identifier: MIT */
/* cache: RFC 9111 analysis of one finished flow (storability, freshness,
 * age, validators, conditional requests) and its three renderings: a tag,
 * JSON and a plain-language explanation. Reads only its arguments: no I/O,
 * no clock, no allocation besides the caller's output buffers. Header values
 * are untrusted bytes: every parser here is bounded by explicit lengths and
 * quotes them into notes only after replacing unprintable bytes. */
#include "core/cache.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"

/* ---- text helpers --------------------------------------------------------- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void trim(const char **p, size_t *len)
{
    while (*len > 0 && is_ows((*p)[0])) {
        (*p)++;
        (*len)--;
    }
    while (*len > 0 && is_ows((*p)[*len - 1]))
        (*len)--;
}

/* Appends printf output to the NUL-terminated string in dst[0..size),
 * cutting it short when it does not fit. */
static void LC_PRINTF(3, 4) cat(char *dst, size_t size, const char *fmt, ...)
{
    size_t used = strnlen(dst, size);
    if (used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(dst + used, size - used, fmt, ap) < 0)
        dst[used] = '\0';
    va_end(ap);
}

/* Copies the UTF-8 text src into dst[0..size); when it is too long, the cut
 * falls before the first character that does not fit whole, and spaces
 * left at the end go too. */
static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);
    if (len >= size) {
        len = size - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--; /* src[len] now starts a character: keep what is before it */
        while (len > 0 && src[len - 1] == ' ')
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Copies untrusted bytes for display into dst (at least 8 bytes): printable
 * ASCII kept, every other byte '?', at most 40 characters, "..." when cut. */
static void clean(char *dst, size_t size, const char *p, size_t len)
{
    size_t max = size - 4 < 40 ? size - 4 : 40;
    size_t o = 0;
    for (; o < len && o < max; o++) {
        unsigned char c = (unsigned char)p[o];
        dst[o] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (o < len) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* Adds one note to v->notes ("; "-separated); when it does not fit, "..."
 * ends the list and later notes are dropped. */
static void LC_PRINTF(2, 3) note(struct cache_verdict *v, const char *fmt, ...)
{
    char one[200];
    va_list ap;
    if (v->notes_cut)
        return;
    va_start(ap, fmt);
    vsnprintf(one, sizeof(one), fmt, ap);
    va_end(ap);
    size_t used = strnlen(v->notes, sizeof(v->notes));
    size_t sep = used > 0 ? 2 : 0;
    if (used + sep + strlen(one) + sizeof("; ...") <= sizeof(v->notes)) {
        cat(v->notes, sizeof(v->notes), "%s%s", sep ? "; " : "", one);
        return;
    }
    v->notes_cut = true; /* room for this was kept by every earlier note */
    cat(v->notes, sizeof(v->notes), "%s...", sep ? "; " : "");
}

/* delta-seconds (RFC 9111 1.2.2): digits only; values past 2^31 read as
 * 2^31. -1 when not a number. */
static int64_t parse_delta(const char *p, size_t len)
{
    int64_t x = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(p[i]))
            return -1;
        if (x < CACHE_DELTA_MAX)
            x = x * 10 + (p[i] - '0');
    }
    return x > CACHE_DELTA_MAX ? CACHE_DELTA_MAX : x;
}

void cache_human(int64_t secs, char *out, size_t outlen)
{
    static const struct {
        int64_t size;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}};
    if (outlen == 0)
        return;
    if (secs < 0)
        secs = 0;
    if (secs < 60) {
        snprintf(out, outlen, "%" PRId64 "s", secs);
        return;
    }
    size_t u = 0;
    while (secs < units[u].size)
        u++;
    int64_t size = units[u].size;
    int64_t tenths = (secs * 10 + size / 2) / size;
    if (tenths < 100) {
        if (tenths % 10 == 0)
            snprintf(out, outlen, "%" PRId64 "%c", tenths / 10, units[u].unit);
        else
            snprintf(out, outlen, "%" PRId64 ".%" PRId64 "%c", tenths / 10, tenths % 10,
                     units[u].unit);
        return;
    }
    int64_t whole = (secs + size / 2) / size;
    if (u > 0 && whole * size >= units[u - 1].size) {
        /* 59.6m rounds to 60m: say 1h */
        snprintf(out, outlen, "1%c", units[u - 1].unit);
        return;
    }
    snprintf(out, outlen, "%" PRId64 "%c", whole, units[u].unit);
}

/* ---- HTTP-date (RFC 9110 5.6.7) --------------------------------------------- */

struct rd {
    const char *p;
    size_t len, i;
};

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_names[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const day_names_long[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                              "Friday", "Saturday", "Sunday"};

static bool rd_lit(struct rd *r, const char *s)
{
    size_t n = strlen(s);
    if (r->len - r->i < n)
        return false;
    for (size_t k = 0; k < n; k++) {
        char a = r->p[r->i + k], b = s[k];
        if (a >= 'a' && a <= 'z')
            a = (char)(a - 'a' + 'A');
        if (b >= 'a' && b <= 'z')
            b = (char)(b - 'a' + 'A');
        if (a != b)
            return false;
    }
    r->i += n;
    return true;
}

/* Exactly n digits. */
static bool rd_num(struct rd *r, size_t n, int *out)
{
    int x = 0;
    if (r->len - r->i < n)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = r->p[r->i + k];
        if (!is_digit(c))
            return false;
        x = x * 10 + (c - '0');
    }
    r->i += n;
    *out = x;
    return true;
}

/* One of names (case-insensitive), or -1. Longer names must not be prefixes
 * of later ones (none are here). */
static int rd_name(struct rd *r, const char *const *names, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (rd_lit(r, names[k]))
            return (int)k;
    return -1;
}

static bool rd_time(struct rd *r, int *h, int *m, int *s)
{
    return rd_num(r, 2, h) && rd_lit(r, ":") && rd_num(r, 2, m) && rd_lit(r, ":") &&
           rd_num(r, 2, s);
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Leap years in [1, y). */
static int64_t leaps_before(int64_t y)
{
    return (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400;
}

/* Days from 1970-01-01 to January 1st of year y. */
static int64_t days_to_year(int64_t y)
{
    return 365 * (y - 1970) + leaps_before(y) - leaps_before(1970);
}

/* Seconds since the epoch of a UTC time, -1 for an impossible one, 0 for
 * one before 1970. mon is 0..11. */
static int64_t mk_time(int y, int mon, int d, int hh, int mm, int ss)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon < 0 || mon > 11 || d < 1 || hh > 23 || mm > 59 || ss > 60 || y < 1)
        return -1;
    if (d > mdays[mon] + (mon == 1 && leap(y)))
        return -1;
    int64_t days = days_to_year(y);
    for (int k = 0; k < mon; k++)
        days += mdays[k] + (k == 1 && leap(y));
    days += d - 1;
    int64_t t = days * 86400 + hh * 3600 + mm * 60 + ss;
    return t < 0 ? 0 : t;
}

/* The UTC year of t, kept within 1970..9999. */
static int64_t year_of(int64_t t)
{
    if (t < 0)
        return 1970;
    int64_t days = t / 86400;
    if (days >= days_to_year(10000))
        return 9999;
    int64_t y = 1970 + days / 366; /* at most a few dozen years short */
    while (days_to_year(y + 1) <= days)
        y++;
    return y;
}

/* Sun, 06 Nov 1994 08:49:37 GMT */
static int64_t date_imf(struct rd r)
{
    int d, mon, y, hh, mm, ss;
    if (rd_name(&r, day_names, 7) < 0 || !rd_lit(&r, ", ") || !rd_num(&r, 2, &d) ||
        !rd_lit(&r, " ") || (mon = rd_name(&r, month_names, 12)) < 0 || !rd_lit(&r, " ") ||
        !rd_num(&r, 4, &y) || !rd_lit(&r, " ") || !rd_time(&r, &hh, &mm, &ss) ||
        !rd_lit(&r, " GMT") || r.i != r.len)
        return -1;
    return mk_time(y, mon, d, hh, mm, ss);
}

/* Sunday, 06-Nov-94 08:49:37 GMT */
static int64_t date_850(struct rd r, int64_t now)
{
    int d, mon, yy, hh, mm, ss;
    if (rd_name(&r, day_names_long, 7) < 0 || !rd_lit(&r, ", ") || !rd_num(&r, 2, &d) ||
        !rd_lit(&r, "-") || (mon = rd_name(&r, month_names, 12)) < 0 || !rd_lit(&r, "-") ||
        !rd_num(&r, 2, &yy) || !rd_lit(&r, " ") || !rd_time(&r, &hh, &mm, &ss) ||
        !rd_lit(&r, " GMT") || r.i != r.len)
        return -1;
    /* RFC 9110 5.6.7: more than 50 years ahead means the century before */
    int64_t ny = year_of(now);
    int64_t y = ny - ny % 100 + yy;
    if (y > ny + 50)
        y -= 100;
    return mk_time((int)y, mon, d, hh, mm, ss);
}

/* Sun Nov  6 08:49:37 1994 */
static int64_t date_asctime(struct rd r)
{
    int d, mon, y, hh, mm, ss;
    if (rd_name(&r, day_names, 7) < 0 || !rd_lit(&r, " ") ||
        (mon = rd_name(&r, month_names, 12)) < 0 || !rd_lit(&r, " "))
        return -1;
    if (!rd_num(&r, 2, &d) && !(rd_lit(&r, " ") && rd_num(&r, 1, &d)))
        return -1;
    if (!rd_lit(&r, " ") || !rd_time(&r, &hh, &mm, &ss) || !rd_lit(&r, " ") || !rd_num(&r, 4, &y) ||
        r.i != r.len)
        return -1;
    return mk_time(y, mon, d, hh, mm, ss);
}

int64_t cache_parse_date(const char *s, size_t len, int64_t now)
{
    if (s == NULL)
        return -1;
    trim(&s, &len);
    struct rd r = {s, len, 0};
    int64_t t = date_imf(r);
    if (t < 0)
        t = date_850(r, now);
    if (t < 0)
        t = date_asctime(r);
    return t;
}

/* ---- Cache-Control ---------------------------------------------------------- */

enum cc_id {
    CC_MAX_AGE = 0,
    CC_S_MAXAGE,
    CC_NO_CACHE,
    CC_NO_STORE,
    CC_MUST_REVALIDATE,
    CC_PROXY_REVALIDATE,
    CC_PRIVATE,
    CC_PUBLIC,
    CC_IMMUTABLE,
    CC_SWR,
    CC_SIE,
    CC_MUST_UNDERSTAND,
    CC_NO_TRANSFORM,
    CC_MAX_STALE,
    CC_MIN_FRESH,
    CC_ONLY_IF_CACHED,
    CC_COUNT
};

enum cc_arg { ARG_NONE = 0, ARG_DELTA, ARG_DELTA_OPT, ARG_FIELDS };

#define CC_IN_REQ 1
#define CC_IN_RESP 2

static const struct {
    const char *name;
    enum cc_arg arg;
    unsigned where;
} cc_defs[CC_COUNT] = {
    [CC_MAX_AGE] = {"max-age", ARG_DELTA, CC_IN_REQ | CC_IN_RESP},
    [CC_S_MAXAGE] = {"s-maxage", ARG_DELTA, CC_IN_RESP},
    [CC_NO_CACHE] = {"no-cache", ARG_FIELDS, CC_IN_REQ | CC_IN_RESP},
    [CC_NO_STORE] = {"no-store", ARG_NONE, CC_IN_REQ | CC_IN_RESP},
    [CC_MUST_REVALIDATE] = {"must-revalidate", ARG_NONE, CC_IN_RESP},
    [CC_PROXY_REVALIDATE] = {"proxy-revalidate", ARG_NONE, CC_IN_RESP},
    [CC_PRIVATE] = {"private", ARG_FIELDS, CC_IN_RESP},
    [CC_PUBLIC] = {"public", ARG_NONE, CC_IN_RESP},
    [CC_IMMUTABLE] = {"immutable", ARG_NONE, CC_IN_RESP},
    [CC_SWR] = {"stale-while-revalidate", ARG_DELTA, CC_IN_RESP},
    [CC_SIE] = {"stale-if-error", ARG_DELTA, CC_IN_REQ | CC_IN_RESP},
    [CC_MUST_UNDERSTAND] = {"must-understand", ARG_NONE, CC_IN_RESP},
    [CC_NO_TRANSFORM] = {"no-transform", ARG_NONE, CC_IN_REQ | CC_IN_RESP},
    [CC_MAX_STALE] = {"max-stale", ARG_DELTA_OPT, CC_IN_REQ},
    [CC_MIN_FRESH] = {"min-fresh", ARG_DELTA, CC_IN_REQ},
    [CC_ONLY_IF_CACHED] = {"only-if-cached", ARG_NONE, CC_IN_REQ},
};

#define CC_ARG_MAX 64

struct cc {
    bool any;                       /* the message has a Cache-Control field */
    bool seen[CC_COUNT];            /* present (first occurrence decides) */
    bool qualified[CC_COUNT];       /* private="..." / no-cache="..." */
    int64_t num[CC_COUNT];          /* delta-seconds; -1 when absent or invalid */
    bool had_arg[CC_COUNT];         /* first occurrence had "=..." */
    char arg[CC_COUNT][CC_ARG_MAX]; /* its argument, unquoted (cut when long) */
    bool conflict[CC_COUNT];        /* a later occurrence differed (noted once) */
};

static void cc_init(struct cc *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t k = 0; k < CC_COUNT; k++)
        c->num[k] = -1;
}

/* One directive: name[0..nlen), argument arg (unquoted, NUL-terminated,
 * NUL bytes replaced) when has_arg; cut says it did not fit in the buffer. */
static void cc_directive(struct cc *c, struct cache_verdict *v, bool req, const char *name,
                         size_t nlen, bool has_arg, const char *arg, bool quoted, bool cut)
{
    const char *who = req ? "request " : "";
    char shown[48], ashown[48];
    size_t k;

    clean(shown, sizeof(shown), name, nlen);
    if (nlen == 0) {
        note(v, "ignored: %sCache-Control element without a name", who);
        return;
    }
    for (k = 0; k < CC_COUNT; k++)
        if (strlen(cc_defs[k].name) == nlen && strncasecmp(cc_defs[k].name, name, nlen) == 0)
            break;
    if (k == CC_COUNT) {
        note(v, "ignored: unknown %sdirective %s", who, shown);
        return;
    }
    if (!(cc_defs[k].where & (req ? CC_IN_REQ : CC_IN_RESP))) {
        note(v, "ignored: %s in a %s", cc_defs[k].name, req ? "request" : "response");
        return;
    }
    clean(ashown, sizeof(ashown), arg, strlen(arg));
    if (c->seen[k]) {
        bool same = c->had_arg[k] == has_arg && (!has_arg || strcmp(c->arg[k], arg) == 0);
        if (!same && !c->conflict[k]) {
            c->conflict[k] = true;
            note(v, "conflicting %s%s: first used", who, cc_defs[k].name);
        }
        return;
    }
    c->seen[k] = true;
    c->had_arg[k] = has_arg;
    snprintf(c->arg[k], sizeof(c->arg[k]), "%s", arg);

    switch (cc_defs[k].arg) {
    case ARG_NONE:
        if (has_arg)
            note(v, "%s%s takes no argument: \"%s\" ignored", who, cc_defs[k].name, ashown);
        break;
    case ARG_FIELDS:
        if (has_arg && arg[0] != '\0')
            c->qualified[k] = true;
        break;
    case ARG_DELTA:
    case ARG_DELTA_OPT:
        if (!has_arg) {
            if (cc_defs[k].arg == ARG_DELTA_OPT)
                c->num[k] = CACHE_DELTA_MAX; /* max-stale alone: any staleness */
            else
                note(v, "ignored: %s%s without a value", who, cc_defs[k].name);
            break;
        }
        c->num[k] = cut ? -1 : parse_delta(arg, strlen(arg));
        if (c->num[k] < 0) {
            note(v, "ignored: %s%s=%s", who, cc_defs[k].name, ashown);
            break;
        }
        if (quoted)
            note(v, "%s%s=\"%s\": quoted form accepted", who, cc_defs[k].name, ashown);
        if (c->num[k] == CACHE_DELTA_MAX)
            note(v, "%s%s too large: read as %lld", who, cc_defs[k].name, CACHE_DELTA_MAX);
        break;
    }
}

/* Parses one Cache-Control field value: a comma-separated list of
 * token [ "=" ( token / quoted-string ) ]. */
static void cc_parse(struct cc *c, struct cache_verdict *v, bool req, const char *p, size_t len)
{
    size_t i = 0;
    c->any = true;
    while (i < len) {
        while (i < len && (is_ows(p[i]) || p[i] == ','))
            i++;
        if (i >= len)
            break;
        size_t ns = i;
        while (i < len && p[i] != '=' && p[i] != ',' && !is_ows(p[i]))
            i++;
        size_t nlen = i - ns;
        while (i < len && is_ows(p[i]))
            i++;
        char arg[CC_ARG_MAX];
        size_t al = 0;
        bool has_arg = false, quoted = false, cut = false, junk = false;
        if (i < len && p[i] == '=') {
            has_arg = true;
            i++;
            while (i < len && is_ows(p[i]))
                i++;
            if (i < len && p[i] == '"') {
                quoted = true;
                i++;
                bool closed = false;
                while (i < len) {
                    char ch = p[i];
                    if (ch == '"') {
                        closed = true;
                        i++;
                        break;
                    }
                    if (ch == '\\' && i + 1 < len) {
                        i++;
                        ch = p[i];
                    }
                    if (al + 1 < sizeof(arg))
                        arg[al++] = ch != '\0' ? ch : '?';
                    else
                        cut = true;
                    i++;
                }
                if (!closed)
                    note(v, "%sCache-Control: unterminated quoted string", req ? "request " : "");
            } else {
                size_t as = i;
                while (i < len && p[i] != ',')
                    i++;
                size_t ae = i;
                while (ae > as && is_ows(p[ae - 1]))
                    ae--;
                al = ae - as;
                if (al + 1 > sizeof(arg)) {
                    al = sizeof(arg) - 1;
                    cut = true;
                }
                memcpy(arg, p + as, al);
                for (size_t k = 0; k < al; k++)
                    if (arg[k] == '\0')
                        arg[k] = '?'; /* "6\0" must not read as 6 */
            }
        }
        arg[al] = '\0';
        while (i < len && p[i] != ',') {
            if (!is_ows(p[i]))
                junk = true;
            i++;
        }
        if (junk) {
            char shown[48];
            clean(shown, sizeof(shown), p + ns, nlen);
            note(v, "%sCache-Control: junk after %s ignored", req ? "request " : "", shown);
        }
        cc_directive(c, v, req, p + ns, nlen, has_arg, arg, quoted, cut);
    }
}

static void cc_read(struct cc *c, struct cache_verdict *v, bool req, const struct hdrs *h)
{
    cc_init(c);
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, "Cache-Control"))
            continue;
        size_t len;
        const char *p = hdrs_value(h, i, &len);
        cc_parse(c, v, req, p, len);
    }
}

/* ---- the analysis ----------------------------------------------------------- */

struct ctx {
    const struct flow *f;
    int64_t now;
    struct cache_verdict *v;
    struct cc req, resp;
    int64_t request_time, response_time; /* seconds since the epoch */
    int64_t response_delay;              /* seconds between the two, rounded */
    int64_t date;                        /* Date, or response_time without a valid one */
    bool has_expires;
    int64_t expires;  /* -1: invalid, i.e. already expired */
    int64_t last_mod; /* -1 when absent or invalid */
    bool by_default;  /* status cacheable by default (a 304 counts) */
    const char *etag; /* opaque-tag of the response's ETag (quotes included) */
    size_t etag_len;
};

static bool method_is(const struct flow *f, const char *m)
{
    return strncmp(f->method, m, sizeof(f->method)) == 0;
}

static bool status_by_default(int status)
{
    static const int codes[] = {200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501};
    for (size_t k = 0; k < LC_ARRAY_LEN(codes); k++)
        if (codes[k] == status)
            return true;
    return false;
}

static const char *src_name(enum cache_src s)
{
    switch (s) {
    case CACHE_SRC_SMAXAGE:
        return "s-maxage";
    case CACHE_SRC_MAXAGE:
        return "max-age";
    case CACHE_SRC_EXPIRES:
        return "Expires";
    case CACHE_SRC_HEURISTIC:
        return "heuristic";
    case CACHE_SRC_NONE:
        break;
    }
    return "none";
}

/* The first `name` field, parsed as a date; notes a bad one and conflicting
 * repeats. Returns -1 when absent, -2 when present but malformed. */
static int64_t read_date(struct ctx *c, const struct hdrs *h, const char *name)
{
    int64_t first = -1;
    const char *fp = NULL;
    size_t fl = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, name))
            continue;
        size_t len;
        const char *p = hdrs_value(h, i, &len);
        if (fp == NULL) {
            fp = p;
            fl = len;
            first = cache_parse_date(p, len, c->now);
            if (first < 0)
                first = -2;
        } else if (len != fl || memcmp(p, fp, len) != 0) {
            note(c->v, "conflicting %s: first used", name);
            break;
        }
    }
    return first;
}

static void read_age(struct ctx *c)
{
    struct cache_verdict *v = c->v;
    size_t len;
    const char *p = hdrs_get(&c->f->resp_headers, "Age", &len);
    v->age_header = -1;
    if (p == NULL)
        return;
    trim(&p, &len);
    v->age_header = parse_delta(p, len);
    if (v->age_header < 0) {
        char shown[48];
        clean(shown, sizeof(shown), p, len);
        note(v, "ignored: Age: %s", shown);
    }
}

/* Splits an entity-tag (RFC 9110 8.8.3) into weakness and opaque-tag; false
 * when it is not well-formed (the opaque part is then the raw text). */
static bool split_etag(const char *p, size_t len, bool *weak, const char **op, size_t *olen)
{
    trim(&p, &len);
    *weak = len >= 2 && p[0] == 'W' && p[1] == '/';
    if (*weak) {
        p += 2;
        len -= 2;
    }
    *op = p;
    *olen = len;
    if (len < 2 || p[0] != '"' || p[len - 1] != '"')
        return false;
    return memchr(p + 1, '"', len - 2) == NULL;
}

static void read_validators(struct ctx *c)
{
    struct cache_verdict *v = c->v;
    const struct hdrs *h = &c->f->resp_headers;
    size_t len;
    const char *p = hdrs_get(h, "ETag", &len);
    if (p != NULL) {
        bool weak;
        v->etag = true;
        if (!split_etag(p, len, &weak, &c->etag, &c->etag_len)) {
            char shown[48];
            clean(shown, sizeof(shown), p, len);
            note(v, "ETag %s is not a quoted string: compared as written", shown);
        }
        v->etag_weak = weak;
    }
    c->last_mod = read_date(c, h, "Last-Modified");
    if (c->last_mod == -2) {
        note(v, "ignored: Last-Modified: bad date");
        c->last_mod = -1;
    }
    v->last_modified = c->last_mod >= 0;
}

static void read_vary(struct ctx *c)
{
    struct cache_verdict *v = c->v;
    const struct hdrs *h = &c->f->resp_headers;
    bool cut = false;
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, "Vary"))
            continue;
        size_t len, k = 0;
        const char *p = hdrs_value(h, i, &len);
        while (k < len) {
            while (k < len && (is_ows(p[k]) || p[k] == ','))
                k++;
            size_t s = k;
            while (k < len && p[k] != ',')
                k++;
            const char *e = p + s;
            size_t el = k - s;
            trim(&e, &el);
            if (el == 0)
                continue;
            if (el == 1 && e[0] == '*')
                v->vary_star = true;
            char shown[48];
            clean(shown, sizeof(shown), e, el);
            size_t used = strlen(v->vary);
            if (used + strlen(shown) + 3 > sizeof(v->vary)) {
                cut = true;
                continue;
            }
            cat(v->vary, sizeof(v->vary), "%s%s", used ? ", " : "", shown);
        }
    }
    if (cut)
        note(v, "Vary list too long: cut");
}

/* Fills why (empty when storable) for the private or the shared cache. */
static bool judge_storage(struct ctx *c, bool shared, char *why, size_t whylen)
{
    const struct flow *f = c->f;
    struct cache_verdict *v = c->v;
    size_t alen;
    why[0] = '\0';
    if (!method_is(f, "GET") && !method_is(f, "HEAD")) {
        char m[32];
        clean(m, sizeof(m), f->method, strnlen(f->method, sizeof(f->method)));
        snprintf(why, whylen, "method %s", m);
    } else if (f->status < 200) {
        snprintf(why, whylen, "status %d", f->status);
    } else if (v->req_no_store) {
        snprintf(why, whylen, "request no-store");
    } else if (v->no_store) {
        snprintf(why, whylen, "no-store");
    } else if (v->vary_star) {
        snprintf(why, whylen, "Vary: *");
    } else if (shared && v->is_private) {
        snprintf(why, whylen, "private");
    } else if (shared && hdrs_get(&f->req_headers, "Authorization", &alen) != NULL &&
               !v->is_public && v->s_maxage < 0 && !v->must_revalidate) {
        snprintf(why, whylen, "Authorization");
    } else if (!c->by_default) {
        bool explicit_fresh = v->max_age >= 0 || c->has_expires || v->is_public ||
                              (shared ? v->s_maxage >= 0 : c->resp.seen[CC_PRIVATE]);
        if (!explicit_fresh)
            snprintf(why, whylen, "status %d not cacheable by default", f->status);
    }
    return why[0] == '\0';
}

static void judge_freshness(struct ctx *c, bool shared, int64_t *lifetime, enum cache_src *src)
{
    struct cache_verdict *v = c->v;
    if (shared && v->s_maxage >= 0) {
        *lifetime = v->s_maxage;
        *src = CACHE_SRC_SMAXAGE;
    } else if (v->max_age >= 0) {
        *lifetime = v->max_age;
        *src = CACHE_SRC_MAXAGE;
    } else if (c->has_expires) {
        *lifetime = c->expires < 0 || c->expires < c->date ? 0 : c->expires - c->date;
        *src = CACHE_SRC_EXPIRES;
    } else if ((c->by_default || v->is_public) && c->last_mod >= 0) {
        int64_t since = c->date - c->last_mod;
        *lifetime = since <= 0 ? 0 : since / 10;
        if (*lifetime > CACHE_HEURISTIC_CAP)
            *lifetime = CACHE_HEURISTIC_CAP;
        *src = CACHE_SRC_HEURISTIC;
    } else {
        *lifetime = 0;
        *src = CACHE_SRC_NONE;
    }
}

/* Notes on which freshness source won and on the questionable ones. */
static void freshness_notes(struct ctx *c)
{
    struct cache_verdict *v = c->v;
    if (v->no_store && (v->max_age >= 0 || v->s_maxage >= 0 || c->has_expires))
        note(v, "no-store wins over explicit freshness");
    if (v->is_private && v->is_public)
        note(v, "private wins over public");
    if (!v->storable_private && !v->storable_shared)
        return;
    if (v->storable_shared && v->s_maxage >= 0) {
        if (v->max_age >= 0)
            note(v, "s-maxage=%" PRId64 " wins over max-age=%" PRId64 " in shared caches",
                 v->s_maxage, v->max_age);
        else if (c->has_expires)
            note(v, "s-maxage=%" PRId64 " wins over Expires in shared caches", v->s_maxage);
    }
    if (v->max_age >= 0 && c->has_expires)
        note(v, "max-age=%" PRId64 " wins over Expires", v->max_age);
    bool expires_used = (v->storable_private && v->source == CACHE_SRC_EXPIRES) ||
                        (v->storable_shared && v->source_shared == CACHE_SRC_EXPIRES);
    if (c->has_expires && c->expires < 0) {
        if (expires_used)
            note(v, "Expires: bad date, means already expired");
        else
            note(v, "ignored: Expires: bad date");
    } else if (expires_used && c->expires < c->date) {
        note(v, "Expires is before Date: already expired");
    }
    bool heuristic = (v->storable_private && v->source == CACHE_SRC_HEURISTIC) ||
                     (v->storable_shared && v->source_shared == CACHE_SRC_HEURISTIC);
    if (heuristic) {
        int64_t since = c->date - c->last_mod;
        char s1[16], s2[16];
        cache_human(since, s1, sizeof(s1));
        cache_human(since / 10, s2, sizeof(s2));
        if (since <= 0)
            note(v, "heuristic: Last-Modified is not before Date: 0s");
        else if (since / 10 > CACHE_HEURISTIC_CAP)
            note(v, "heuristic: 10%% of %s since Last-Modified = %s, capped at 1d", s1, s2);
        else
            note(v, "heuristic: 10%% of %s since Last-Modified", s1);
    }
}

/* Does the If-None-Match value p[0..len) name the opaque tag etag (weak
 * comparison: W/ ignored on both sides; etag NULL: no tag matches)? Sets
 * *star for "*" and *malformed for a tag that is not a quoted string. */
static bool inm_matches(const char *p, size_t len, const char *etag, size_t etag_len, bool *star,
                        bool *malformed)
{
    bool matched = false;
    size_t k = 0;
    while (k < len) {
        while (k < len && (is_ows(p[k]) || p[k] == ','))
            k++;
        if (k >= len)
            break;
        size_t s = k;
        if (p[k] == '*') {
            *star = true;
            k++;
        } else {
            if (len - k >= 2 && p[k] == 'W' && p[k + 1] == '/')
                k += 2;
            if (k < len && p[k] == '"') {
                const char *q = memchr(p + k + 1, '"', len - k - 1);
                k = q != NULL ? (size_t)(q - p) + 1 : len;
                *malformed |= q == NULL;
            } else {
                *malformed = true;
            }
            while (k < len && p[k] != ',') {
                *malformed |= !is_ows(p[k]);
                k++;
            }
            bool weak;
            const char *op;
            size_t ol;
            split_etag(p + s, k - s, &weak, &op, &ol);
            if (etag != NULL && ol == etag_len && memcmp(op, etag, ol) == 0)
                matched = true;
        }
        while (k < len && p[k] != ',') {
            *malformed |= !is_ows(p[k]);
            k++;
        }
    }
    return matched;
}

bool cache_request_has(const struct hdrs *req, const struct hdrs *resp, int64_t now)
{
    size_t len, elen = 0;
    const char *tag = hdrs_get(resp, "ETag", &elen);
    const char *etag = NULL;
    size_t etag_len = 0;
    if (tag != NULL) {
        bool weak;
        split_etag(tag, elen, &weak, &etag, &etag_len);
    }
    bool inm = false, star = false, malformed = false, matched = false;
    for (size_t i = 0; i < req->n; i++) {
        if (!hdrs_name_is(req, i, "If-None-Match"))
            continue;
        inm = true;
        const char *p = hdrs_value(req, i, &len);
        matched |= inm_matches(p, len, etag, etag_len, &star, &malformed);
    }
    if (inm)
        return matched || star; /* If-Modified-Since does not count beside it */
    const char *ims = hdrs_get(req, "If-Modified-Since", &len);
    const char *lm = hdrs_get(resp, "Last-Modified", &elen);
    if (ims == NULL || lm == NULL)
        return false;
    int64_t since = cache_parse_date(ims, len, now), modified = cache_parse_date(lm, elen, now);
    return since >= 0 && modified >= 0 && since >= modified;
}

/* If-None-Match / If-Modified-Since against the response's validators. */
static void judge_conditional(struct ctx *c)
{
    struct cache_verdict *v = c->v;
    const struct flow *f = c->f;
    const struct hdrs *h = &f->req_headers;
    bool star = false, matched = false, malformed = false;

    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, "If-None-Match"))
            continue;
        v->inm = true;
        size_t len;
        const char *p = hdrs_value(h, i, &len);
        matched |= inm_matches(p, len, c->etag, c->etag_len, &star, &malformed);
    }
    if (malformed)
        note(v, "If-None-Match: malformed entity tag");

    size_t ilen;
    const char *ims = hdrs_get(h, "If-Modified-Since", &ilen);
    v->ims = ims != NULL;
    bool get_head = method_is(f, "GET") || method_is(f, "HEAD");

    if (v->inm) {
        v->conditional = true;
        if (v->ims)
            note(v, "If-Modified-Since ignored: If-None-Match present");
        if (star) {
            matched = true;
        } else if (c->etag == NULL && f->status == 304) {
            matched = true;
            note(v, "304 without ETag: the server says If-None-Match matched");
        } else if (c->etag == NULL) {
            note(v, "If-None-Match, but the response has no ETag");
        }
    } else if (v->ims) {
        int64_t t = cache_parse_date(ims, ilen, c->now);
        if (t < 0) {
            note(v, "ignored: If-Modified-Since: bad date");
        } else if (!get_head) {
            note(v, "ignored: If-Modified-Since (only for GET and HEAD)");
        } else {
            v->conditional = true;
            if (c->last_mod >= 0) {
                matched = c->last_mod <= t;
            } else if (f->status == 304) {
                matched = true;
                note(v, "304 without Last-Modified: the server says If-Modified-Since matched");
            }
        }
    }
    if (!v->conditional)
        return;
    v->validator_matched = matched;
    if (f->status == 304 && !matched)
        note(v, "304 although the validator does not match");
    else if (f->status >= 200 && f->status < 300 && matched)
        note(v, "validator matched, yet the server sent a full %d", f->status);
}

/* Freshness view of one cache for the summary, in two parts: what
 * ("fresh 1h") and why ("(max-age)"). */
static void view(const struct cache_verdict *v, bool shared, char *what, size_t wlen, char *why,
                 size_t ylen)
{
    int64_t life = shared ? v->lifetime_shared : v->lifetime;
    enum cache_src src = shared ? v->source_shared : v->source;
    bool fresh = shared ? v->fresh_shared : v->fresh;
    char d[16], l[16];

    snprintf(why, ylen, "(%s)", src_name(src));
    if (v->no_cache) {
        snprintf(what, wlen, "revalidate");
        snprintf(why, ylen, "(no-cache)");
    } else if (src == CACHE_SRC_NONE && v->tag[0] == '3') {
        snprintf(what, wlen, "revalidated"); /* the stored response's freshness applies */
        why[0] = '\0';
    } else if (src == CACHE_SRC_NONE) {
        snprintf(what, wlen, "no freshness info");
        snprintf(why, ylen, "(revalidate)");
    } else if (life == 0) {
        snprintf(what, wlen, "stale at once");
        if (src == CACHE_SRC_MAXAGE || src == CACHE_SRC_SMAXAGE)
            snprintf(why, ylen, "(%s=0)", src_name(src));
    } else if (fresh) {
        cache_human(life - v->age, d, sizeof(d));
        cache_human(life, l, sizeof(l));
        bool partly = strcmp(d, l) != 0;
        snprintf(what, wlen, "%s %s%s%s", src == CACHE_SRC_HEURISTIC ? "heuristic" : "fresh", d,
                 partly ? " of " : "", partly ? l : "");
        if (src == CACHE_SRC_HEURISTIC)
            snprintf(why, ylen, "(Last-Modified)");
    } else {
        cache_human(v->age - life, d, sizeof(d));
        snprintf(what, wlen, "stale by %s", d);
    }
}

static void make_summary(struct ctx *c)
{
    struct cache_verdict *v = c->v;
    const struct flow *f = c->f;
    char a[64], ay[32], b[64], by[32];
    char s[512]; /* composed in full, then cut to fit v->summary */
    size_t n = sizeof(s);

    s[0] = '\0';
    if (!v->storable_private && !v->storable_shared) {
        cat(s, n, "not stored (%s)", v->why_private);
    } else if (v->storable_private && !v->storable_shared) {
        view(v, false, a, sizeof(a), ay, sizeof(ay));
        cat(s, n, "not stored by shared caches (%s) · %s for the browser%s%s", v->why_shared, a,
            ay[0] ? " " : "", ay);
    } else if (!v->storable_private) {
        view(v, true, a, sizeof(a), ay, sizeof(ay));
        cat(s, n, "not stored by the browser (%s) · %s in shared caches%s%s", v->why_private, a,
            ay[0] ? " " : "", ay);
    } else {
        view(v, false, a, sizeof(a), ay, sizeof(ay));
        cat(s, n, "%s%s%s", a, ay[0] ? " " : "", ay);
        view(v, true, b, sizeof(b), by, sizeof(by));
        if (strcmp(a, b) != 0 || strcmp(ay, by) != 0)
            cat(s, n, " · shared: %s%s%s", b, by[0] ? " " : "", by);
    }
    if (f->status == 304)
        cat(s, n, " → 304");
    else if (v->conditional && !v->validator_matched && f->status >= 200 && f->status < 300)
        cat(s, n, " → %d (changed)", f->status);
    if ((v->storable_private || v->storable_shared) && (v->etag || v->last_modified))
        cat(s, n, " · %s%s%s", v->etag ? (v->etag_weak ? "weak ETag" : "ETag") : "",
            v->etag && v->last_modified ? ", " : "", v->last_modified ? "Last-Modified" : "");
    if (v->immutable && (v->storable_private || v->storable_shared))
        cat(s, n, " · immutable");
    if (v->req_no_cache)
        cat(s, n, " · request no-cache");
    copy_cut(v->summary, sizeof(v->summary), s);
}

static void make_tag(struct ctx *c)
{
    struct cache_verdict *v = c->v;
    const char *t;
    if (c->f->status == 304)
        t = "304";
    else if (!v->storable_private && !v->storable_shared)
        t = "nostore";
    else if (v->no_cache)
        t = "revalidate";
    else if (v->storable_private ? v->fresh : v->fresh_shared)
        t = "fresh";
    else
        t = "stale";
    snprintf(v->tag, sizeof(v->tag), "%s", t);
}

static void read_request(struct ctx *c)
{
    struct cache_verdict *v = c->v;
    const struct hdrs *h = &c->f->req_headers;
    cc_read(&c->req, v, true, h);
    v->req_no_store = c->req.seen[CC_NO_STORE];
    v->req_no_cache = c->req.seen[CC_NO_CACHE] || c->req.num[CC_MAX_AGE] == 0;
    v->req_max_age = c->req.num[CC_MAX_AGE];
    v->req_only_if_cached = c->req.seen[CC_ONLY_IF_CACHED];
    if (hdrs_has_token(h, "Pragma", "no-cache")) {
        if (c->req.any) {
            note(v, "ignored: request Pragma (Cache-Control present)");
        } else {
            v->req_no_cache = true;
            note(v, "request Pragma: no-cache read as Cache-Control: no-cache");
        }
    }
}

static void read_response(struct ctx *c)
{
    struct cache_verdict *v = c->v;
    const struct hdrs *h = &c->f->resp_headers;
    size_t len;
    cc_read(&c->resp, v, false, h);
    const struct cc *r = &c->resp;
    v->no_store = r->seen[CC_NO_STORE];
    v->no_cache = r->seen[CC_NO_CACHE] && !r->qualified[CC_NO_CACHE];
    v->must_revalidate = r->seen[CC_MUST_REVALIDATE];
    v->proxy_revalidate = r->seen[CC_PROXY_REVALIDATE];
    v->immutable = r->seen[CC_IMMUTABLE];
    v->is_private = r->seen[CC_PRIVATE] && !r->qualified[CC_PRIVATE];
    v->is_public = r->seen[CC_PUBLIC];
    v->max_age = r->num[CC_MAX_AGE];
    v->s_maxage = r->num[CC_S_MAXAGE];
    v->swr = r->num[CC_SWR];
    v->sie = r->num[CC_SIE];
    if (r->qualified[CC_NO_CACHE]) {
        char shown[48];
        clean(shown, sizeof(shown), r->arg[CC_NO_CACHE], strlen(r->arg[CC_NO_CACHE]));
        note(v, "no-cache=\"%s\": only those fields need revalidation", shown);
    }
    if (r->qualified[CC_PRIVATE]) {
        char shown[48];
        clean(shown, sizeof(shown), r->arg[CC_PRIVATE], strlen(r->arg[CC_PRIVATE]));
        note(v, "private=\"%s\": shared caches may store the rest", shown);
    }
    if (hdrs_get(h, "Pragma", &len) != NULL)
        note(v, "ignored: Pragma in a response");

    int64_t d = read_date(c, h, "Date");
    if (d == -2)
        note(v, "ignored: Date: bad date");
    if (d < 0)
        c->date = c->response_time; /* RFC 9110 6.6.1: the time it was received */
    else
        c->date = d;

    int64_t e = read_date(c, h, "Expires");
    c->has_expires = e != -1;
    c->expires = e < 0 ? -1 : e;

    read_age(c);
    read_validators(c);
    read_vary(c);
}

/* request_time and response_time from the flow's clocks; the wall clock is
 * read once at the start, the rest is monotonic. */
static void read_times(struct ctx *c)
{
    const struct flow *f = c->f;
    int64_t req_us = f->wall_start;
    int64_t delay = 0;
    if (f->t_resp_start > 0 && f->t_start > 0 && f->t_resp_start >= f->t_start)
        delay = f->t_resp_start - f->t_start;
    else if (f->t_end > 0 && f->t_start > 0 && f->t_end >= f->t_start)
        delay = f->t_end - f->t_start;
    /* in whole seconds, floored, without overflowing on absurd clocks */
    int64_t req_s = req_us / 1000000, req_rem = req_us % 1000000;
    if (req_rem < 0) {
        req_s--;
        req_rem += 1000000;
    }
    c->request_time = req_s;
    c->response_time = req_s + delay / 1000000 + (req_rem + delay % 1000000) / 1000000;
    c->response_delay = delay / 1000000 + (delay % 1000000 >= 500000);
}

/* max(0, a - b), at most 2^31 (RFC 9111 1.2.2: overflowing ages read as 2^31). */
static int64_t age_diff(int64_t a, int64_t b)
{
    if (a <= b)
        return 0;
    if (b < 0 && a > INT64_MAX + b)
        return CACHE_DELTA_MAX;
    return a - b > CACHE_DELTA_MAX ? CACHE_DELTA_MAX : a - b;
}

/* RFC 9111 4.2.3 */
static void compute_age(struct ctx *c)
{
    struct cache_verdict *v = c->v;
    int64_t apparent = age_diff(c->response_time, c->date);
    int64_t corrected = (v->age_header >= 0 ? v->age_header : 0) + c->response_delay;
    if (corrected > CACHE_DELTA_MAX)
        corrected = CACHE_DELTA_MAX;
    v->age_initial = apparent > corrected ? apparent : corrected;
    v->age_resident = age_diff(c->now, c->response_time);
    v->age = v->age_initial + v->age_resident;
}

void cache_analyze(const struct flow *f, int64_t now, struct cache_verdict *v)
{
    struct ctx c;
    memset(v, 0, sizeof(*v));
    memset(&c, 0, sizeof(c));
    c.f = f;
    c.now = now;
    c.v = v;
    c.last_mod = -1;
    v->lifetime = v->lifetime_shared = -1;
    v->max_age = v->s_maxage = v->swr = v->sie = v->req_max_age = v->age_header = -1;

    if (f->connect || f->status == 0) {
        snprintf(v->summary, sizeof(v->summary), "%s", f->connect ? "tunnel" : "no response");
        return;
    }
    read_times(&c);
    read_request(&c);
    read_response(&c);
    c.by_default = status_by_default(f->status) || f->status == 304;
    if (f->status == 304)
        note(v, "304: its fields update the stored response (RFC 9111 4.3.4)");

    v->storable_private = judge_storage(&c, false, v->why_private, sizeof(v->why_private));
    v->storable_shared = judge_storage(&c, true, v->why_shared, sizeof(v->why_shared));
    size_t alen;
    if (v->storable_shared && hdrs_get(&f->req_headers, "Authorization", &alen) != NULL)
        note(v, "Authorization: shared caches may store it (%s)",
             v->is_public       ? "public"
             : v->s_maxage >= 0 ? "s-maxage"
                                : "must-revalidate");
    compute_age(&c);
    if (v->storable_private) {
        judge_freshness(&c, false, &v->lifetime, &v->source);
        v->fresh = v->lifetime > v->age;
    }
    if (v->storable_shared) {
        judge_freshness(&c, true, &v->lifetime_shared, &v->source_shared);
        v->fresh_shared = v->lifetime_shared > v->age;
    }
    freshness_notes(&c);
    if (v->no_cache && (v->max_age > 0 || v->s_maxage > 0) && !v->no_store)
        note(v, "no-cache wins over max-age: revalidate on every reuse");
    judge_conditional(&c);
    make_tag(&c);
    make_summary(&c);
}

const char *cache_tag(const struct cache_verdict *v)
{
    return v->tag;
}

/* ---- renderings ----------------------------------------------------------- */

static void json_bool(struct buf *out, const char *key, bool b)
{
    buf_printf(out, ",\"%s\":%s", key, b ? "true" : "false");
}

static void json_secs(struct buf *out, const char *key, int64_t s)
{
    if (s < 0)
        buf_printf(out, ",\"%s\":null", key);
    else
        buf_printf(out, ",\"%s\":%" PRId64, key, s);
}

static void json_text(struct buf *out, const char *key, const char *s)
{
    buf_printf(out, ",\"%s\":", key);
    if (s == NULL || s[0] == '\0')
        buf_puts(out, "null");
    else
        json_str(out, s, strlen(s));
}

void cache_json(const struct cache_verdict *v, struct buf *out)
{
    bool any = v->storable_private || v->storable_shared;
    buf_puts(out, "{\"tag\":");
    json_str(out, v->tag, strnlen(v->tag, sizeof(v->tag)));
    buf_puts(out, ",\"summary\":");
    json_str(out, v->summary, strnlen(v->summary, sizeof(v->summary)));

    buf_puts(out, ",\"private\":{\"stored\":");
    buf_puts(out, v->storable_private ? "true" : "false");
    json_text(out, "why_not", v->why_private);
    json_secs(out, "lifetime", v->lifetime);
    json_text(out, "source", v->storable_private ? src_name(v->source) : NULL);
    json_bool(out, "fresh", v->fresh);
    buf_puts(out, "},\"shared\":{\"stored\":");
    buf_puts(out, v->storable_shared ? "true" : "false");
    json_text(out, "why_not", v->why_shared);
    json_secs(out, "lifetime", v->lifetime_shared);
    json_text(out, "source", v->storable_shared ? src_name(v->source_shared) : NULL);
    json_bool(out, "fresh", v->fresh_shared);
    buf_putc(out, '}');

    if (any) {
        json_secs(out, "age", v->age);
        json_secs(out, "age_header", v->age_header);
    } else {
        buf_puts(out, ",\"age\":null,\"age_header\":null");
    }

    buf_puts(out, ",\"directives\":{");
    buf_printf(out, "\"no_store\":%s", v->no_store ? "true" : "false");
    json_bool(out, "no_cache", v->no_cache);
    json_bool(out, "must_revalidate", v->must_revalidate);
    json_bool(out, "proxy_revalidate", v->proxy_revalidate);
    json_bool(out, "private", v->is_private);
    json_bool(out, "public", v->is_public);
    json_bool(out, "immutable", v->immutable);
    json_secs(out, "max_age", v->max_age);
    json_secs(out, "s_maxage", v->s_maxage);
    json_secs(out, "stale_while_revalidate", v->swr);
    json_secs(out, "stale_if_error", v->sie);
    buf_puts(out, "},\"request\":{");
    buf_printf(out, "\"no_cache\":%s", v->req_no_cache ? "true" : "false");
    json_bool(out, "no_store", v->req_no_store);
    json_bool(out, "only_if_cached", v->req_only_if_cached);
    json_secs(out, "max_age", v->req_max_age);
    buf_putc(out, '}');

    json_text(out, "etag", v->etag ? (v->etag_weak ? "weak" : "strong") : NULL);
    json_bool(out, "last_modified", v->last_modified);
    if (v->conditional || v->inm || v->ims) {
        buf_printf(out, ",\"conditional\":{\"if_none_match\":%s", v->inm ? "true" : "false");
        json_bool(out, "if_modified_since", v->ims);
        json_bool(out, "used", v->conditional);
        json_bool(out, "matched", v->validator_matched);
        buf_putc(out, '}');
    } else {
        buf_puts(out, ",\"conditional\":null");
    }
    json_text(out, "vary", v->vary);
    json_text(out, "notes", v->notes);
    buf_putc(out, '}');
}

static const char *src_words(enum cache_src s)
{
    switch (s) {
    case CACHE_SRC_SMAXAGE:
        return "from s-maxage";
    case CACHE_SRC_MAXAGE:
        return "from max-age";
    case CACHE_SRC_EXPIRES:
        return "from Expires - Date";
    case CACHE_SRC_HEURISTIC:
        return "heuristic: 10% of the time since Last-Modified, at most 1d";
    case CACHE_SRC_NONE:
        break;
    }
    return "no freshness information: every reuse needs revalidation";
}

static void explain_cache(const struct cache_verdict *v, bool shared, struct buf *out)
{
    bool stored = shared ? v->storable_shared : v->storable_private;
    int64_t life = shared ? v->lifetime_shared : v->lifetime;
    enum cache_src src = shared ? v->source_shared : v->source;
    bool fresh = shared ? v->fresh_shared : v->fresh;
    char d[16];

    buf_puts(out, shared ? "Shared caches (proxies, CDNs): " : "Browser (private cache): ");
    if (!stored) {
        buf_printf(out, "not stored: %s\n", shared ? v->why_shared : v->why_private);
        return;
    }
    cache_human(life, d, sizeof(d));
    if (src == CACHE_SRC_NONE && v->tag[0] == '3')
        buf_puts(out, "may store it; the stored response's freshness still applies\n");
    else if (src == CACHE_SRC_NONE)
        buf_printf(out, "may store it; %s\n", src_words(src));
    else
        buf_printf(out, "may store it; fresh for %s (%s)\n", d, src_words(src));
    if (src != CACHE_SRC_NONE) {
        cache_human(fresh ? life - v->age : v->age - life, d, sizeof(d));
        buf_printf(out, "  now %s %s\n", fresh ? "fresh for another" : "stale by", d);
    }
}

void cache_explain(const struct cache_verdict *v, struct buf *out)
{
    char a[16], b[16], c[16];
    buf_printf(out, "Verdict: %s\n", v->summary);
    if (v->tag[0] == '\0')
        return;
    explain_cache(v, false, out);
    explain_cache(v, true, out);
    if (v->storable_private || v->storable_shared) {
        cache_human(v->age, a, sizeof(a));
        cache_human(v->age_initial, b, sizeof(b));
        cache_human(v->age_resident, c, sizeof(c));
        buf_printf(out, "Current age: %s (%s when received", a, b);
        if (v->age_header >= 0) {
            char h[16];
            cache_human(v->age_header, h, sizeof(h));
            buf_printf(out, ", Age field %s", h);
        }
        buf_printf(out, ", plus %s since)\n", c);
    }

    const struct {
        bool on;
        const char *text;
    } flags[] = {
        {v->no_store, "no-store: no cache may keep a copy"},
        {v->no_cache, "no-cache: may be stored, but every reuse must be revalidated with the "
                      "origin"},
        {v->must_revalidate,
         "must-revalidate: once stale, never served without a successful revalidation"},
        {v->proxy_revalidate, "proxy-revalidate: like must-revalidate, for shared caches only"},
        {v->is_private, "private: meant for one user; only the browser may store it"},
        {v->is_public, "public: shared caches may store it even when Authorization or the "
                       "status would forbid it"},
        {v->immutable,
         "immutable: will not change while fresh; browsers skip revalidation on reload"},
    };
    bool header = false;
    for (size_t k = 0; k < LC_ARRAY_LEN(flags); k++) {
        if (!flags[k].on)
            continue;
        if (!header)
            buf_puts(out, "Directives:\n");
        header = true;
        buf_printf(out, "  %s\n", flags[k].text);
    }
    if (v->s_maxage >= 0) {
        if (!header)
            buf_puts(out, "Directives:\n");
        header = true;
        cache_human(v->s_maxage, a, sizeof(a));
        buf_printf(out, "  s-maxage=%" PRId64 ": %s in shared caches, which must then revalidate\n",
                   v->s_maxage, a);
    }
    if (v->swr >= 0 || v->sie >= 0) {
        if (!header)
            buf_puts(out, "Directives:\n");
        if (v->swr >= 0) {
            cache_human(v->swr, a, sizeof(a));
            buf_printf(out,
                       "  stale-while-revalidate=%" PRId64
                       ": may be served up to %s stale while revalidating in the background\n",
                       v->swr, a);
        }
        if (v->sie >= 0) {
            cache_human(v->sie, a, sizeof(a));
            buf_printf(out,
                       "  stale-if-error=%" PRId64
                       ": may be served up to %s stale when the origin fails\n",
                       v->sie, a);
        }
    }
    if (v->req_no_cache || v->req_no_store || v->req_only_if_cached || v->req_max_age > 0) {
        buf_puts(out, "Request:\n");
        if (v->req_no_cache)
            buf_puts(out, "  no-cache: the client wants a revalidated answer (a reload)\n");
        if (v->req_no_store)
            buf_puts(out, "  no-store: no cache may keep this request or its response\n");
        if (v->req_max_age > 0) {
            cache_human(v->req_max_age, a, sizeof(a));
            buf_printf(out, "  max-age=%" PRId64 ": accepts stored answers up to %s old\n",
                       v->req_max_age, a);
        }
        if (v->req_only_if_cached)
            buf_puts(out, "  only-if-cached: answer from a cache or fail with 504\n");
    }
    if (v->etag || v->last_modified) {
        buf_printf(out, "Validators: %s%s%s: a stale copy can be revalidated cheaply\n",
                   v->etag ? (v->etag_weak ? "weak ETag" : "strong ETag") : "",
                   v->etag && v->last_modified ? ", " : "",
                   v->last_modified ? "Last-Modified" : "");
    } else if (v->storable_private || v->storable_shared) {
        buf_puts(out, "Validators: none: once stale it must be downloaded again in full\n");
    }
    if (v->inm || v->ims) {
        buf_printf(out, "Conditional request: %s%s%s", v->inm ? "If-None-Match" : "",
                   v->inm && v->ims ? ", If-Modified-Since" : "",
                   !v->inm && v->ims ? "If-Modified-Since" : "");
        if (!v->conditional)
            buf_puts(out, " (not usable)\n");
        else if (v->validator_matched)
            buf_puts(out, ": the validator matched (not modified)\n");
        else
            buf_puts(out, ": the validator did not match (changed)\n");
    }
    if (v->vary[0] != '\0')
        buf_printf(out, "Vary: %s: %s\n", v->vary,
                   v->vary_star ? "never reusable for another request"
                                : "a stored copy serves only requests with the same values of "
                                  "these fields");
    if (v->notes[0] != '\0') {
        buf_puts(out, "Notes:\n");
        const char *p = v->notes;
        size_t len = strnlen(v->notes, sizeof(v->notes));
        while (len > 0) {
            const char *sep = NULL;
            for (size_t k = 0; k + 1 < len; k++)
                if (p[k] == ';' && p[k + 1] == ' ') {
                    sep = p + k;
                    break;
                }
            size_t n = sep != NULL ? (size_t)(sep - p) : len;
            buf_puts(out, "  - ");
            buf_append(out, p, n);
            buf_putc(out, '\n');
            if (sep == NULL)
                break;
            len -= n + 2;
            p = sep + 2;
        }
    }
}

void cache_flow_tag(const struct flow *f, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    out[0] = '\0';
    if (f->cache[0]) {
        snprintf(out, outlen, "%s", f->cache);
    } else if (f->cache_at != 0 && f->status != 0 && !f->connect) {
        struct cache_verdict v;
        cache_analyze(f, f->cache_at, &v);
        snprintf(out, outlen, "%s", v.tag);
    }
}
