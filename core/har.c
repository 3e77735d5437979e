/* SPDX-License-Identifier: MIT */
/* har: HAR 1.2 writing (entries, a streaming file writer) and reading (HAR
 * files into flows). Times are whole microseconds on the flow, so every
 * number written is an integer or a fixed three-decimal millisecond value
 * built with integer arithmetic: finite, and free of the locale's decimal
 * comma. Strings go through json_str(), which turns any bytes into valid
 * JSON. Reading uses the jsonp tree; it must not trust a single field. */
#include "core/har.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cache.h"
#include "core/expose.h"
#include "core/codec.h"
#include "core/json.h"
#include "core/url.h"
#include "core/jsonp.h"

static const char har_tail[] = "\n]}}\n";
#define HAR_TAIL_LEN (sizeof(har_tail) - 1)

/* ---- small writers ---------------------------------------------------------- */

static void put_cstr(struct buf *out, const char *s)
{
    json_str(out, s ? s : "", s ? strlen(s) : 0);
}

/* ,"key":"value" */
static void put_field(struct buf *out, const char *key, const char *s, size_t len)
{
    buf_printf(out, ",\"%s\":", key);
    json_str(out, s, len);
}

static void put_bool(struct buf *out, const char *key, bool v)
{
    buf_printf(out, ",\"%s\":%s", key, v ? "true" : "false");
}

/* Milliseconds with three decimals from microseconds (>= 0). */
static void put_ms(struct buf *out, int64_t us)
{
    if (us < 0)
        us = 0;
    buf_printf(out, "%" PRId64 ".%03" PRId64, us / 1000, us % 1000);
}

static void put_version(struct buf *out, uint8_t major, uint8_t minor)
{
    if (major == 0 && minor == 0)
        buf_puts(out, "\"\"");
    else
        buf_printf(out, "\"HTTP/%u.%u\"", major, minor);
}

static bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = json_utf8_seq(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends "base64 of p[0..len)" with its quotes (base64 needs no escaping). */
static void put_base64(struct buf *out, const void *data, size_t len)
{
    const unsigned char *p = data;
    buf_reserve(out, len / 3 * 4 + 6);
    buf_putc(out, '"');
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {b64_chars[v >> 18], b64_chars[(v >> 12) & 63], b64_chars[(v >> 6) & 63],
                     b64_chars[v & 63]};
        buf_append(out, q, 4);
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
        char q[4] = {b64_chars[v >> 18], b64_chars[(v >> 12) & 63],
                     i + 1 < len ? b64_chars[(v >> 6) & 63] : '=', '='};
        buf_append(out, q, 4);
    }
    buf_putc(out, '"');
}

/* Decodes base64 (whitespace ignored, padding optional) and appends to out;
 * -1 on any other character or a dangling sixth of a byte. */
static int base64_decode(const char *s, size_t len, struct buf *out)
{
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    buf_reserve(out, len / 4 * 3 + 3);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int v;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad > 0) /* data after padding */
            return -1;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_putc(out, (char)((acc >> bits) & 0xFF));
        }
    }
    if (bits >= 6 || pad > 2) /* one leftover character carries no whole byte */
        return -1;
    return 0;
}

/* ---- dates ------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* "2023-11-14T22:13:20.123Z" from microseconds since the epoch. */
static void put_iso(struct buf *out, int64_t us)
{
    const int64_t max_us = 253402300799999999LL; /* 9999-12-31T23:59:59.999999Z */
    if (us < 0)
        us = 0;
    if (us > max_us)
        us = max_us;
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    buf_printf(out, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
               tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000 / 1000));
}

/* Reads exactly n digits at *p. */
static bool take_digits(const char **p, const char *end, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || **p < '0' || **p > '9')
            return false;
        *v = *v * 10 + (**p - '0');
        (*p)++;
    }
    return true;
}

/* ISO 8601 as HAR writers use it: "YYYY-MM-DDThh:mm[:ss[.frac]]" then "Z",
 * "+hh:mm", "+hhmm" or nothing (UTC). Microseconds since the epoch. */
static bool parse_iso(const char *s, size_t len, int64_t *us)
{
    const char *p = s, *end = s + len;
    int y, mo, d, h, mi, sec = 0, frac = 0;
    if (!take_digits(&p, end, 4, &y) || p >= end || *p++ != '-' || !take_digits(&p, end, 2, &mo) ||
        p >= end || *p++ != '-' || !take_digits(&p, end, 2, &d) || p >= end ||
        (*p != 'T' && *p != 't' && *p != ' '))
        return false;
    p++;
    if (!take_digits(&p, end, 2, &h) || p >= end || *p++ != ':' || !take_digits(&p, end, 2, &mi))
        return false;
    if (p < end && *p == ':') {
        p++;
        if (!take_digits(&p, end, 2, &sec))
            return false;
        if (p < end && (*p == '.' || *p == ',')) {
            p++;
            int n = 0;
            while (p < end && *p >= '0' && *p <= '9') {
                if (n < 6) {
                    frac = frac * 10 + (*p - '0');
                    n++;
                }
                p++;
            }
            if (n == 0)
                return false;
            for (; n < 6; n++)
                frac *= 10;
        }
    }
    int64_t offset = 0;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (!take_digits(&p, end, 2, &oh))
            return false;
        if (p < end && *p == ':')
            p++;
        if (p < end && !take_digits(&p, end, 2, &om))
            return false;
        if (oh > 23 || om > 59)
            return false;
        offset = sign * (int64_t)(oh * 3600 + om * 60);
    }
    if (p != end || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return false;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    *us = t * 1000000 + frac;
    return true;
}

/* Cookie date tokens (RFC 6265 5.1.1) are separated by these bytes. */
static bool date_delim(unsigned char c)
{
    return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40) ||
           (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

/* min..max digits at the start of tok, not followed by another digit. */
static size_t lead_digits(const char *tok, size_t len, size_t min, size_t max, int *v)
{
    size_t i = 0;
    *v = 0;
    while (i < len && tok[i] >= '0' && tok[i] <= '9') {
        if (i == max)
            return 0;
        *v = *v * 10 + (tok[i] - '0');
        i++;
    }
    return i >= min ? i : 0;
}

static bool date_time_token(const char *t, size_t n, int *h, int *m, int *s)
{
    size_t a = lead_digits(t, n, 1, 2, h), b, c;
    if (a == 0 || a >= n || t[a] != ':')
        return false;
    b = lead_digits(t + a + 1, n - a - 1, 1, 2, m);
    if (b == 0 || a + 1 + b >= n || t[a + 1 + b] != ':')
        return false;
    c = lead_digits(t + a + b + 2, n - a - b - 2, 1, 2, s);
    return c > 0;
}

/* An HTTP cookie Expires date ("Wed, 21 Oct 2015 07:28:00 GMT", the old
 * dashed and asctime forms too) as ISO 8601; false when it is none. */
static bool cookie_date_iso(const char *s, size_t len, struct buf *out)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    bool have_time = false, have_day = false, have_month = false, have_year = false;
    int h = 0, mi = 0, sec = 0, day = 0, mon = 0, year = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && date_delim((unsigned char)s[i]))
            i++;
        size_t j = i;
        while (j < len && !date_delim((unsigned char)s[j]))
            j++;
        const char *t = s + i;
        size_t n = j - i;
        int v;
        i = j;
        if (n == 0)
            continue;
        if (!have_time && date_time_token(t, n, &h, &mi, &sec)) {
            have_time = true;
        } else if (!have_day && lead_digits(t, n, 1, 2, &v) > 0) {
            have_day = true;
            day = v;
        } else if (!have_month && n >= 3) {
            for (int k = 0; k < 12; k++)
                if (strncasecmp(t, months + 3 * k, 3) == 0) {
                    have_month = true;
                    mon = k + 1;
                }
            if (!have_month && !have_year && lead_digits(t, n, 2, 4, &v) > 0) {
                have_year = true;
                year = v;
            }
        } else if (!have_year && lead_digits(t, n, 2, 4, &v) > 0) {
            have_year = true;
            year = v;
        }
    }
    if (year >= 70 && year <= 99)
        year += 1900;
    else if (year >= 0 && year <= 69)
        year += 2000;
    if (!have_time || !have_day || !have_month || !have_year || year < 1601 || day < 1 ||
        day > days_in_month(year, mon) || h > 23 || mi > 59 || sec > 59)
        return false;
    buf_printf(out, "\"%04d-%02d-%02dT%02d:%02d:%02d.000Z\"", year, mon, day, h, mi, sec);
    return true;
}

/* ---- cookies, query ------------------------------------------------------- */

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* The next ';'-separated, trimmed segment of *s; false at the end. */
static bool next_segment(const char **s, const char *end, const char **seg, size_t *len)
{
    if (*s >= end)
        return false;
    const char *semi = memchr(*s, ';', (size_t)(end - *s));
    const char *stop = semi ? semi : end;
    *seg = *s;
    *len = (size_t)(stop - *s);
    *s = semi ? semi + 1 : end;
    trim(seg, len);
    return true;
}

/* {"name":..,"value":.. of "name=value" (no '=': the whole text is the value) */
static void put_pair_open(struct buf *out, const char *seg, size_t len)
{
    const char *eq = memchr(seg, '=', len);
    const char *n = seg, *v = "";
    size_t nl = 0, vl = 0;
    if (eq != NULL) {
        nl = (size_t)(eq - seg);
        v = eq + 1;
        vl = len - nl - 1;
        trim(&n, &nl);
        trim(&v, &vl);
    } else {
        v = seg;
        vl = len;
    }
    buf_puts(out, "{\"name\":");
    json_str(out, n, nl);
    put_field(out, "value", v, vl);
}

static void put_request_cookies(struct buf *out, const struct hdrs *h)
{
    bool first = true;
    buf_putc(out, '[');
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, "Cookie"))
            continue;
        size_t vl;
        const char *v = hdrs_value(h, i, &vl), *end = v + vl, *seg;
        size_t sl;
        while (next_segment(&v, end, &seg, &sl)) {
            if (sl == 0)
                continue;
            if (!first)
                buf_putc(out, ',');
            first = false;
            put_pair_open(out, seg, sl);
            buf_putc(out, '}');
        }
    }
    buf_putc(out, ']');
}

static bool attr_is(const char *seg, size_t len, const char *name, const char **val, size_t *vl)
{
    size_t n = strlen(name);
    const char *eq = memchr(seg, '=', len);
    const char *a = seg;
    size_t al = eq ? (size_t)(eq - seg) : len;
    trim(&a, &al);
    if (al != n || strncasecmp(a, name, n) != 0)
        return false;
    *val = eq ? eq + 1 : "";
    *vl = eq ? len - (size_t)(eq - seg) - 1 : 0;
    trim(val, vl);
    return true;
}

static void put_set_cookie(struct buf *out, const char *v, size_t vl)
{
    const char *end = v + vl, *seg, *av;
    size_t sl, al;
    bool http_only = false, secure = false;

    if (!next_segment(&v, end, &seg, &sl))
        seg = "", sl = 0;
    put_pair_open(out, seg, sl);
    while (next_segment(&v, end, &seg, &sl)) {
        if (attr_is(seg, sl, "path", &av, &al)) {
            put_field(out, "path", av, al);
        } else if (attr_is(seg, sl, "domain", &av, &al)) {
            put_field(out, "domain", av, al);
        } else if (attr_is(seg, sl, "expires", &av, &al)) {
            buf_puts(out, ",\"expires\":");
            if (!cookie_date_iso(av, al, out))
                json_str(out, av, al);
        } else if (attr_is(seg, sl, "httponly", &av, &al)) {
            http_only = true;
        } else if (attr_is(seg, sl, "secure", &av, &al)) {
            secure = true;
        }
    }
    put_bool(out, "httpOnly", http_only);
    put_bool(out, "secure", secure);
    buf_putc(out, '}');
}

static void put_response_cookies(struct buf *out, const struct hdrs *h)
{
    bool first = true;
    buf_putc(out, '[');
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, "Set-Cookie"))
            continue;
        size_t vl;
        const char *v = hdrs_value(h, i, &vl);
        if (!first)
            buf_putc(out, ',');
        first = false;
        put_set_cookie(out, v, vl);
    }
    buf_putc(out, ']');
}

/* Percent-decoded s[0..len) ('+' is a space; a bad escape stays as written). */
static void put_decoded(struct buf *out, struct buf *tmp, const char *s, size_t len)
{
    buf_reset(tmp);
    url_unescape(s, len, true, tmp);
    json_str(out, tmp->p ? tmp->p : "", tmp->len);
}

static void put_query(struct buf *out, const char *url)
{
    struct buf tmp = BUF_INIT;
    bool first = true;
    buf_putc(out, '[');
    const char *q = url ? strchr(url, '?') : NULL;
    if (q != NULL) {
        q++;
        const char *end = q + strcspn(q, "#");
        while (q < end) {
            const char *amp = memchr(q, '&', (size_t)(end - q));
            const char *stop = amp ? amp : end;
            size_t len = (size_t)(stop - q);
            if (len > 0) {
                const char *eq = memchr(q, '=', len);
                size_t nl = eq ? (size_t)(eq - q) : len;
                if (!first)
                    buf_putc(out, ',');
                first = false;
                buf_puts(out, "{\"name\":");
                put_decoded(out, &tmp, q, nl);
                buf_puts(out, ",\"value\":");
                if (eq != NULL)
                    put_decoded(out, &tmp, eq + 1, len - nl - 1);
                else
                    buf_puts(out, "\"\"");
                buf_putc(out, '}');
            }
            q = amp ? amp + 1 : end;
        }
    }
    buf_putc(out, ']');
    buf_free(&tmp);
}

static void put_headers(struct buf *out, const struct hdrs *h)
{
    buf_putc(out, '[');
    for (size_t i = 0; i < h->n; i++) {
        size_t nl, vl;
        const char *n = hdrs_name(h, i, &nl);
        const char *v = hdrs_value(h, i, &vl);
        if (i > 0)
            buf_putc(out, ',');
        buf_puts(out, "{\"name\":");
        json_str(out, n, nl);
        put_field(out, "value", v, vl);
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
}

/* ---- bodies --------------------------------------------------------------- */

/* Every Content-Encoding field value, joined with ", " in order. */
static void content_coding(const struct hdrs *h, struct buf *enc)
{
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, "Content-Encoding"))
            continue;
        size_t vl;
        const char *v = hdrs_value(h, i, &vl);
        if (enc->len > 0)
            buf_puts(enc, ", ");
        buf_append(enc, v, vl);
    }
}

struct content {
    const char *p; /* borrowed: the body or the scratch buffer */
    size_t len;
    bool decoded;       /* a Content-Encoding was undone */
    bool still_encoded; /* a Content-Encoding that could not be undone */
};

/* The content of a captured body: decoded when the message names a
 * Content-Encoding lucent can undo within HAR_TEXT_LIMIT. */
static struct content body_content(const struct hdrs *h, const struct buf *body,
                                   struct buf *scratch)
{
    struct content c = {body->p ? body->p : "", body->len, false, false};
    struct buf enc = BUF_INIT;
    content_coding(h, &enc);
    if (enc.len > 0 && body->len > 0) {
        char why[128];
        buf_reset(scratch);
        if (codec_decode(enc.p, enc.len, body->p, body->len, HAR_TEXT_LIMIT, scratch, why,
                         sizeof(why)) == CODEC_OK) {
            c.p = scratch->p ? scratch->p : "";
            c.len = scratch->len;
            c.decoded = true;
        } else {
            c.still_encoded = true;
        }
    }
    buf_free(&enc);
    return c;
}

/* ,"text":..[,"<enc_key>":"base64"] plus lucent's marks */
static void put_text(struct buf *out, const struct content *c, bool cut, const char *enc_key)
{
    if (utf8_valid(c->p, c->len)) {
        put_field(out, "text", c->p, c->len);
    } else {
        buf_puts(out, ",\"text\":");
        put_base64(out, c->p, c->len);
        buf_printf(out, ",\"%s\":\"base64\"", enc_key);
    }
    if (c->still_encoded)
        put_bool(out, "_contentEncoded", true);
    if (cut)
        put_bool(out, "_truncated", true);
}

static void put_mime(struct buf *out, const struct hdrs *h)
{
    size_t vl = 0;
    const char *v = hdrs_get(h, "Content-Type", &vl);
    buf_puts(out, "\"mimeType\":");
    json_str(out, v ? v : "", v ? vl : 0);
}

/* ---- entries -------------------------------------------------------------- */

static void put_request(struct buf *out, const struct flow *f, struct buf *scratch)
{
    buf_puts(out, "\"request\":{\"method\":");
    put_cstr(out, f->method);
    buf_puts(out, ",\"url\":");
    put_cstr(out, f->url);
    buf_puts(out, ",\"httpVersion\":");
    put_version(out, f->req_major, f->req_minor);
    buf_puts(out, ",\"cookies\":");
    put_request_cookies(out, &f->req_headers);
    buf_puts(out, ",\"headers\":");
    put_headers(out, &f->req_headers);
    buf_puts(out, ",\"queryString\":");
    put_query(out, f->url);
    if (f->req_body.len > 0) {
        struct content c = body_content(&f->req_headers, &f->req_body, scratch);
        buf_puts(out, ",\"postData\":{");
        put_mime(out, &f->req_headers);
        put_text(out, &c, f->req_body_cut, "_encoding");
        buf_putc(out, '}');
    }
    buf_printf(out, ",\"headersSize\":-1,\"bodySize\":%" PRIu64 "}", f->req_size);
}

static void put_response(struct buf *out, const struct flow *f, struct buf *scratch)
{
    bool answered = f->status != 0;
    struct content c = {"", 0, false, false};
    bool have_text = answered && f->resp_body.len > 0;

    if (have_text)
        c = body_content(&f->resp_headers, &f->resp_body, scratch);
    buf_printf(out, "\"response\":{\"status\":%d,\"statusText\":", f->status);
    put_cstr(out, answered ? f->reason : "");
    buf_puts(out, ",\"httpVersion\":");
    put_version(out, answered ? f->resp_major : 0, answered ? f->resp_minor : 0);
    buf_puts(out, ",\"cookies\":");
    put_response_cookies(out, &f->resp_headers);
    buf_puts(out, ",\"headers\":");
    put_headers(out, &f->resp_headers);

    uint64_t size = !answered ? 0 : c.decoded ? (uint64_t)c.len : f->resp_size;
    buf_printf(out, ",\"content\":{\"size\":%" PRIu64, size);
    if (c.decoded && !f->resp_body_cut && (uint64_t)c.len >= f->resp_size)
        buf_printf(out, ",\"compression\":%" PRIu64, (uint64_t)c.len - f->resp_size);
    buf_putc(out, ',');
    put_mime(out, &f->resp_headers);
    if (have_text)
        put_text(out, &c, f->resp_body_cut, "encoding");
    buf_putc(out, '}');

    size_t ll = 0;
    const char *loc = hdrs_get(&f->resp_headers, "Location", &ll);
    put_field(out, "redirectURL", loc ? loc : "", loc ? ll : 0);
    if (answered)
        buf_printf(out, ",\"headersSize\":-1,\"bodySize\":%" PRIu64 "}", f->resp_size);
    else
        buf_puts(out, ",\"headersSize\":-1,\"bodySize\":-1}");
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

struct phases {
    int64_t total, connect, wait, receive; /* µs; connect -1 when not reached */
};

/* The flow's clock as HAR phases; they add up to the total. */
static struct phases flow_phases(const struct flow *f)
{
    struct phases ph;
    int64_t start = f->t_start;
    int64_t conn = f->t_connected ? max64(f->t_connected, start) : 0;
    int64_t base = conn ? conn : start;
    int64_t resp = f->t_resp_start ? max64(f->t_resp_start, base) : 0;
    int64_t end = max64(f->t_end, resp ? resp : base);

    ph.total = end - start;
    ph.connect = conn ? conn - start : -1;
    ph.wait = (resp ? resp : end) - base;
    ph.receive = resp ? end - resp : 0;
    return ph;
}

static void put_timings(struct buf *out, const struct phases *ph)
{
    buf_puts(out, ",\"timings\":{\"blocked\":-1,\"dns\":-1,\"connect\":");
    if (ph->connect >= 0)
        put_ms(out, ph->connect);
    else
        buf_puts(out, "-1");
    buf_puts(out, ",\"send\":0,\"wait\":");
    put_ms(out, ph->wait);
    buf_puts(out, ",\"receive\":");
    put_ms(out, ph->receive);
    buf_puts(out, ",\"ssl\":-1}");
}

/* "1.2.3.4:80" -> "1.2.3.4", "[::1]:443" -> "::1" */
static void put_server_ip(struct buf *out, const char *server)
{
    const char *colon = strrchr(server, ':');
    size_t len = colon ? (size_t)(colon - server) : strlen(server);
    if (len >= 2 && server[0] == '[' && server[len - 1] == ']') {
        server++;
        len -= 2;
    }
    put_field(out, "serverIPAddress", server, len);
}

static void put_opt(struct buf *out, const char *key, const char *s)
{
    if (s != NULL && s[0] != '\0')
        put_field(out, key, s, strlen(s));
}

void har_entry(const struct flow *f, struct buf *out)
{
    struct buf scratch = BUF_INIT;

    struct phases ph = flow_phases(f);

    /* fields in the order of the HAR 1.2 text */
    buf_puts(out, "{\"startedDateTime\":");
    put_iso(out, f->wall_start);
    buf_puts(out, ",\"time\":");
    put_ms(out, ph.total);
    buf_putc(out, ',');
    put_request(out, f, &scratch);
    buf_putc(out, ',');
    put_response(out, f, &scratch);
    buf_puts(out, ",\"cache\":{}");
    put_timings(out, &ph);
    if (f->server[0] != '\0')
        put_server_ip(out, f->server);
    const char *port = strrchr(f->client, ':');
    put_field(out, "connection", port ? port + 1 : "", port ? strlen(port + 1) : 0);
    buf_printf(out, ",\"_flowId\":%" PRIu64, f->id);
    put_bool(out, "_tls", f->tls);
    put_bool(out, "_replay", f->replay);
    put_bool(out, "_localReply", f->local_reply);
    char tag[24];
    cache_flow_tag(f, tag, sizeof(tag));
    put_opt(out, "_cache", tag);
    struct expose ex; /* what was readable in clear, and the teaching flags */
    expose_analyze(f, &ex);
    buf_puts(out, ",\"_exposed\":");
    expose_json(&ex, out);
    put_opt(out, "_error", f->error);
    put_opt(out, "_client", f->client);
    put_opt(out, "_server", f->server);
    put_opt(out, "_sni", f->sni);
    put_opt(out, "_tlsClient", f->tls_client);
    put_opt(out, "_tlsServer", f->tls_server);
    put_opt(out, "_serverCert", f->server_cert);
    buf_putc(out, '}');
    buf_free(&scratch);
}

/* ---- the file writer ------------------------------------------------------- */

struct har_writer {
    FILE *fp;    /* owned */
    off_t tail;  /* where the tail starts (or the next entry goes) */
    size_t n;    /* entries written */
    bool tailed; /* the tail is on disk at `tail` */
    bool dirty;  /* a failed write may have left bytes after the tail */
};

static void put_head(struct buf *out)
{
    buf_puts(out, "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"lucent\",\"version\":");
    put_cstr(out, LUCENT_VERSION);
    buf_puts(out, "},\"pages\":[],\"entries\":[\n");
}

/* Writes the tail at w->tail, cuts anything after it, flushes. */
static int write_tail(struct har_writer *w)
{
    if (fseeko(w->fp, w->tail, SEEK_SET) != 0 ||
        fwrite(har_tail, 1, HAR_TAIL_LEN, w->fp) != HAR_TAIL_LEN || fflush(w->fp) != 0)
        return -1;
    if (w->dirty) {
        if (ftruncate(fileno(w->fp), w->tail + (off_t)HAR_TAIL_LEN) == -1)
            return -1;
        w->dirty = false;
    }
    w->tailed = true;
    return 0;
}

struct har_writer *har_open(const char *path, char *err, size_t errlen)
{
    struct har_writer *w = calloc(1, sizeof(*w));
    struct buf head = BUF_INIT;
    int fd = -1;

    if (w == NULL)
        goto fail;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1)
        goto fail;
    w->fp = fdopen(fd, "w");
    if (w->fp == NULL)
        goto fail;
    fd = -1;
    put_head(&head);
    if (fwrite(head.p, 1, head.len, w->fp) != head.len)
        goto fail;
    w->tail = (off_t)head.len;
    if (write_tail(w) < 0)
        goto fail;
    buf_free(&head);
    return w;

fail:
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    buf_free(&head);
    if (fd != -1)
        close(fd);
    if (w != NULL && w->fp != NULL)
        fclose(w->fp);
    free(w);
    return NULL;
}

/* Appends one entry; with `complete`, the tail follows and is flushed. */
static int writer_add(struct har_writer *w, const struct flow *f, bool complete)
{
    struct buf b = BUF_INIT;
    int rc = -1, saved;

    if (w->n > 0)
        buf_puts(&b, ",\n");
    har_entry(f, &b);
    size_t entry_len = b.len;
    if (complete)
        buf_append(&b, har_tail, HAR_TAIL_LEN);
    /* in a run of entries without tails the stream is already in place */
    if (ftello(w->fp) != w->tail && fseeko(w->fp, w->tail, SEEK_SET) != 0)
        goto out;
    w->tailed = false;
    if (fwrite(b.p, 1, b.len, w->fp) != b.len || (complete && fflush(w->fp) != 0)) {
        w->dirty = true;
        goto out;
    }
    w->tail += (off_t)entry_len;
    w->n++;
    if (complete) {
        w->tailed = true;
        if (w->dirty) {
            if (ftruncate(fileno(w->fp), w->tail + (off_t)HAR_TAIL_LEN) == -1)
                goto out;
            w->dirty = false;
        }
    }
    rc = 0;
out:
    saved = errno;
    buf_free(&b);
    errno = saved;
    return rc;
}

int har_add(struct har_writer *w, const struct flow *f)
{
    return writer_add(w, f, true);
}

int har_close(struct har_writer *w)
{
    if (w == NULL)
        return 0;
    int rc = 0, saved = 0;
    if ((!w->tailed || w->dirty) && write_tail(w) < 0) {
        rc = -1;
        saved = errno;
    }
    if (fclose(w->fp) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    free(w);
    if (rc != 0)
        errno = saved;
    return rc;
}

int har_write_file(const char *path, struct flow *const *flows, size_t n, char *err, size_t errlen)
{
    struct har_writer *w = har_open(path, err, errlen);
    if (w == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (writer_add(w, flows[i], false) < 0) {
            int saved = errno;
            (void)har_close(w);
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "%s: %s", path, strerror(saved));
            return -1;
        }
    }
    if (har_close(w) < 0) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- reading ---------------------------------------------------------------- */

/* A number that fits a byte count, or false. */
static bool get_size(const struct jsonp_val *v, uint64_t *out)
{
    double d;
    if (!jsonp_num(v, &d) || d < 0 || d > 9007199254740992.0) /* 2^53 */
        return false;
    *out = (uint64_t)d;
    return true;
}

/* A duration in ms as µs; -1 when absent or negative (HAR's "not applicable"). */
static int64_t get_us(const struct jsonp_val *v)
{
    double d;
    if (!jsonp_num(v, &d) || d < 0)
        return -1;
    if (d > 1e12) /* some thirty years: nonsense, but kept finite */
        d = 1e12;
    return (int64_t)llround(d * 1000.0);
}

static void parse_version(const char *s, size_t len, uint8_t *major, uint8_t *minor)
{
    *major = *minor = 0;
    if (s == NULL)
        return;
    if ((len == 2 || len == 3) && (s[0] == 'h' || s[0] == 'H') && s[1] >= '1' && s[1] <= '3') {
        *major = (uint8_t)(s[1] - '0'); /* ALPN style: "h2", "h3", "h2c" */
        return;
    }
    if (len < 6 || strncasecmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9')
        return;
    *major = (uint8_t)(s[5] - '0');
    if (len >= 8 && s[6] == '.' && s[7] >= '0' && s[7] <= '9')
        *minor = (uint8_t)(s[7] - '0');
}

static void read_headers(const struct jsonp_val *arr, struct hdrs *h)
{
    if (arr == NULL || arr->type != JSONP_ARRAY)
        return;
    for (size_t i = 0; i < arr->n; i++) {
        size_t nl = 0, vl = 0;
        const char *n = jsonp_str(jsonp_get(&arr->items[i], "name"), &nl);
        const char *v = jsonp_str(jsonp_get(&arr->items[i], "value"), &vl);
        if (n == NULL || nl == 0 || n[0] == ':') /* HTTP/2 pseudo-headers */
            continue;
        hdrs_add(h, n, nl, v ? v : "", v ? vl : 0);
    }
}

static bool is_base64_text(const struct jsonp_val *obj)
{
    size_t l;
    const char *e = jsonp_str(jsonp_get(obj, "encoding"), &l);
    if (e == NULL)
        e = jsonp_str(jsonp_get(obj, "_encoding"), &l);
    return e != NULL && l == 6 && strcasecmp(e, "base64") == 0;
}

/* The body text of obj (postData or content) into body. Such text is
 * decoded content: when a non-empty body is stored and the message named a
 * Content-Encoding, that field goes, a Content-Length is set to the stored
 * length and *recoded is set. -1 with why when base64 text does not decode. */
static int read_body(const struct jsonp_val *obj, struct hdrs *h, struct buf *body, bool *cut,
                     bool *recoded, const char *where, char *why, size_t whylen)
{
    size_t len;
    const char *text = jsonp_str(jsonp_get(obj, "text"), &len);
    *recoded = false;
    if (text == NULL)
        return 0;
    if (is_base64_text(obj)) {
        if (base64_decode(text, len, body) < 0) {
            snprintf(why, whylen, "%s.text is not valid base64", where);
            return -1;
        }
    } else {
        buf_append(body, text, len);
    }
    *cut = jsonp_true(jsonp_get(obj, "_truncated"));
    if (body->len > 0 && !jsonp_true(jsonp_get(obj, "_contentEncoded")) &&
        hdrs_remove(h, "Content-Encoding", 16) > 0) {
        *recoded = true;
        size_t vl;
        if (hdrs_get(h, "Content-Length", &vl) != NULL) {
            char n[32];
            int k = snprintf(n, sizeof(n), "%zu", body->len);
            hdrs_set(h, "Content-Length", n, (size_t)k);
        }
    }
    return 0;
}

/* A message's body size: the stored length when the body was recoded; else
 * the first size the file gives, but never less than what is stored. */
static uint64_t body_size(bool recoded, const struct buf *body, const struct jsonp_val *size1,
                          const struct jsonp_val *size2)
{
    uint64_t n = 0;
    if (recoded)
        return body->len;
    if (!get_size(size1, &n) && !get_size(size2, &n))
        n = 0;
    return n > body->len ? n : body->len;
}

static void copy_str(char *dst, size_t cap, const struct jsonp_val *v)
{
    size_t len;
    const char *s = jsonp_str(v, &len);
    if (s == NULL)
        return;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

static char *dup_str(const struct jsonp_val *v)
{
    size_t len;
    const char *s = jsonp_str(v, &len);
    if (s == NULL)
        return NULL;
    char *p = malloc(len + 1);
    if (p == NULL)
        abort(); /* as flow.c does: small strings, no way to go on */
    memcpy(p, s, len + 1);
    return p;
}

static void read_timings(const struct jsonp_val *e, struct flow *f)
{
    const struct jsonp_val *t = jsonp_get(e, "timings");
    int64_t total = get_us(jsonp_get(e, "time"));
    int64_t blocked = get_us(jsonp_get(t, "blocked")), dns = get_us(jsonp_get(t, "dns"));
    int64_t connect = get_us(jsonp_get(t, "connect")), send = get_us(jsonp_get(t, "send"));
    int64_t wait = get_us(jsonp_get(t, "wait")), receive = get_us(jsonp_get(t, "receive"));

    size_t dl;
    const char *date = jsonp_str(jsonp_get(e, "startedDateTime"), &dl);
    int64_t wall = 0;
    if (date == NULL || !parse_iso(date, dl, &wall) || wall < 0)
        wall = 0;
    f->wall_start = wall;
    f->t_start = wall > 0 ? wall : 1; /* 0 would mean "not reached" */
    int64_t at = f->t_start + max64(blocked, 0) + max64(dns, 0);
    f->t_connected = 0;
    if (connect >= 0) {
        at += connect;
        f->t_connected = at;
    }
    at += max64(send, 0) + max64(wait, 0);
    f->t_resp_start = f->status != 0 ? at : 0;
    at += max64(receive, 0);
    f->t_end = total >= 0 ? f->t_start + total : at;
    f->t_end = max64(f->t_end, max64(f->t_resp_start, f->t_connected));
}

static struct flow *read_entry(const struct jsonp_val *e, char *why, size_t whylen)
{
    const struct jsonp_val *req = jsonp_get(e, "request"), *resp = jsonp_get(e, "response");
    size_t ml, ul;
    const char *method = jsonp_str(jsonp_get(req, "method"), &ml);
    const char *url = jsonp_str(jsonp_get(req, "url"), &ul);
    struct flow *f = NULL;
    bool recoded;

    if (e->type != JSONP_OBJECT || req == NULL || req->type != JSONP_OBJECT) {
        snprintf(why, whylen, "no request object");
        return NULL;
    }
    if (method == NULL || ml == 0 || ml >= sizeof(f->method) || memchr(method, '\0', ml)) {
        snprintf(why, whylen, "request.method missing or not a method");
        return NULL;
    }
    if (url == NULL) {
        snprintf(why, whylen, "request.url missing");
        return NULL;
    }
    f = flow_new(flow_next_id());
    if (f == NULL) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    f->state = FLOW_DONE;
    memcpy(f->method, method, ml + 1);
    f->connect = strcmp(f->method, "CONNECT") == 0;
    flow_set_url(f, url, ul);
    size_t vl;
    const char *ver = jsonp_str(jsonp_get(req, "httpVersion"), &vl);
    parse_version(ver, ver ? vl : 0, &f->req_major, &f->req_minor);
    read_headers(jsonp_get(req, "headers"), &f->req_headers);
    if (read_body(jsonp_get(req, "postData"), &f->req_headers, &f->req_body, &f->req_body_cut,
                  &recoded, "request.postData", why, whylen) < 0)
        goto fail;
    f->req_size = body_size(recoded, &f->req_body, jsonp_get(req, "bodySize"), NULL);

    double status = 0;
    if (resp != NULL && jsonp_num(jsonp_get(resp, "status"), &status) &&
        (status < 0 || status > 999 || status != floor(status))) {
        snprintf(why, whylen, "response.status is not an HTTP status");
        goto fail;
    }
    f->status = (int)status;
    if (f->status != 0) {
        size_t rl = 0;
        const char *reason = jsonp_str(jsonp_get(resp, "statusText"), &rl);
        flow_set_reason(f, reason ? reason : "", reason ? rl : 0);
        ver = jsonp_str(jsonp_get(resp, "httpVersion"), &vl);
        parse_version(ver, ver ? vl : 0, &f->resp_major, &f->resp_minor);
    }
    read_headers(jsonp_get(resp, "headers"), &f->resp_headers);
    const struct jsonp_val *content = jsonp_get(resp, "content");
    if (read_body(content, &f->resp_headers, &f->resp_body, &f->resp_body_cut, &recoded,
                  "response.content", why, whylen) < 0)
        goto fail;
    f->resp_size =
        body_size(recoded, &f->resp_body, jsonp_get(resp, "bodySize"), jsonp_get(content, "size"));

    read_timings(e, f);
    const struct jsonp_val *tls = jsonp_get(e, "_tls");
    if (tls != NULL && (tls->type == JSONP_TRUE || tls->type == JSONP_FALSE))
        f->tls = tls->type == JSONP_TRUE;
    else
        f->tls = ul >= 8 && strncasecmp(url, "https://", 8) == 0;
    f->replay = jsonp_true(jsonp_get(e, "_replay"));
    f->local_reply = jsonp_true(jsonp_get(e, "_localReply"));
    copy_str(f->cache, sizeof(f->cache), jsonp_get(e, "_cache"));
    copy_str(f->client, sizeof(f->client), jsonp_get(e, "_client"));
    copy_str(f->server, sizeof(f->server), jsonp_get(e, "serverIPAddress"));
    copy_str(f->server, sizeof(f->server), jsonp_get(e, "_server")); /* with its port */
    copy_str(f->sni, sizeof(f->sni), jsonp_get(e, "_sni"));
    copy_str(f->tls_client, sizeof(f->tls_client), jsonp_get(e, "_tlsClient"));
    copy_str(f->tls_server, sizeof(f->tls_server), jsonp_get(e, "_tlsServer"));
    f->server_cert = dup_str(jsonp_get(e, "_serverCert"));
    f->error = dup_str(jsonp_get(e, "_error")); /* Chrome writes one too */
    if (f->error != NULL && f->error[0] == '\0') {
        free(f->error);
        f->error = NULL;
    }
    return f;

fail:
    flow_unref(f);
    return NULL;
}

/* The whole file into a malloc'd, NUL-terminated buffer. */
static char *read_all(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    char *data = NULL;
    size_t n = 0, cap = 0;

    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    /* read one byte past the limit to tell a file that is too large */
    const size_t most = (size_t)HAR_READ_LIMIT + 2;
    for (;;) {
        if (cap - n <= 1) {
            size_t ncap = cap ? cap * 2 : 262144;
            if (ncap > most)
                ncap = most;
            char *p = ncap > cap ? realloc(data, ncap) : NULL;
            if (p == NULL) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            data = p;
            cap = ncap;
        }
        size_t got = fread(data + n, 1, cap - n - 1, fp);
        n += got;
        if (n > HAR_READ_LIMIT) {
            snprintf(err, errlen, "%s: larger than %llu MiB", path,
                     (unsigned long long)(HAR_READ_LIMIT >> 20));
            goto fail;
        }
        if (got == 0) {
            if (ferror(fp)) {
                snprintf(err, errlen, "%s: %s", path, strerror(errno));
                goto fail;
            }
            break;
        }
    }
    fclose(fp);
    data[n] = '\0';
    *len = n;
    return data;

fail:
    fclose(fp);
    free(data);
    return NULL;
}

ssize_t har_read_file(const char *path, struct flow ***out, char *err, size_t errlen)
{
    char dummy[1], jerr[160], why[160];
    struct jsonp_doc *doc = NULL;
    struct flow **flows = NULL;
    size_t len = 0, n = 0;
    char *data;

    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    *out = NULL;
    data = read_all(path, &len, err, errlen);
    if (data == NULL)
        return -1;
    doc = jsonp_parse(data, len, jerr, sizeof(jerr));
    if (doc == NULL) {
        snprintf(err, errlen, "%s: not a HAR file: invalid JSON (%s)", path, jerr);
        goto fail;
    }
    const struct jsonp_val *entries = jsonp_get(jsonp_get(jsonp_root(doc), "log"), "entries");
    if (entries == NULL || entries->type != JSONP_ARRAY) {
        snprintf(err, errlen, "%s: not a HAR file: no log.entries array", path);
        goto fail;
    }
    if (entries->n > 0) {
        flows = calloc(entries->n, sizeof(*flows));
        if (flows == NULL) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto fail;
        }
    }
    for (; n < entries->n; n++) {
        flows[n] = read_entry(&entries->items[n], why, sizeof(why));
        if (flows[n] == NULL) {
            snprintf(err, errlen, "%s: entry %zu: %s", path, n + 1, why);
            goto fail;
        }
    }
    jsonp_free(doc);
    free(data);
    *out = flows;
    return (ssize_t)n;

fail:
    for (size_t i = 0; i < n; i++)
        flow_unref(flows[i]);
    free(flows);
    jsonp_free(doc);
    free(data);
    return -1;
}
