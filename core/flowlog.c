/* SPDX-License-Identifier: MIT */
/* flowlog: JSON object and log line of a finished flow. Field names follow
 * the README; arrays of [name, value] keep header order and case. */
#include "core/flowlog.h"

#include <inttypes.h>
#include <string.h>

#include "core/cache.h"
#include "core/expose.h"
#include "core/json.h"

static void json_cstr(struct buf *out, const char *s)
{
    if (s == NULL)
        buf_puts(out, "null");
    else
        json_str(out, s, strlen(s));
}

static void json_hdrs(struct buf *out, const struct hdrs *h)
{
    buf_putc(out, '[');
    for (size_t i = 0; i < h->n; i++) {
        size_t nl, vl;
        const char *n = hdrs_name(h, i, &nl);
        const char *v = hdrs_value(h, i, &vl);
        if (i > 0)
            buf_putc(out, ',');
        buf_putc(out, '[');
        json_str(out, n, nl);
        buf_putc(out, ',');
        json_str(out, v, vl);
        buf_putc(out, ']');
    }
    buf_putc(out, ']');
}

static void json_ms(struct buf *out, const struct flow *f, int64_t t)
{
    if (t == 0)
        buf_puts(out, "null");
    else
        buf_printf(out, "%.3f", (double)(t - f->t_start) / 1000.0);
}

/* The verdict as made when the flow finished, with lucent's own cache's
 * word ("HIT", ...) in front when --cache was on. */
static void verdict(const struct flow *f, struct cache_verdict *v)
{
    cache_analyze(f, f->cache_at, v);
    if (f->cache_status[0] == '\0')
        return;
    struct buf b = BUF_INIT;
    buf_puts(&b, f->cache_status);
    buf_puts(&b, " \xc2\xb7 ");
    buf_puts(&b, v->summary);
    size_t n = b.len < sizeof(v->summary) - 1 ? b.len : sizeof(v->summary) - 1;
    while (n > 0 && n < b.len && ((unsigned char)b.p[n] & 0xc0) == 0x80)
        n--; /* not in the middle of a character */
    memcpy(v->summary, b.p, n);
    v->summary[n] = '\0';
    buf_free(&b);
    cache_flow_tag(f, v->tag, sizeof(v->tag));
}

void flowlog_json(const struct flow *f, struct buf *out)
{
    buf_printf(out, "{\"id\":%" PRIu64 ",\"client\":", f->id);
    json_cstr(out, f->client);
    buf_puts(out, ",\"server\":");
    json_cstr(out, f->server[0] ? f->server : NULL);
    buf_puts(out, ",\"method\":");
    json_cstr(out, f->method);
    buf_puts(out, ",\"url\":");
    json_cstr(out, f->url ? f->url : "");
    if (f->req_major == 0 && f->req_minor == 0)
        buf_puts(out, ",\"http_version\":null");
    else
        buf_printf(out, ",\"http_version\":\"HTTP/%u.%u\"", f->req_major, f->req_minor);
    if (f->status == 0)
        buf_puts(out, ",\"status\":null,\"reason\":null");
    else {
        buf_printf(out, ",\"status\":%d,\"reason\":", f->status);
        json_cstr(out, f->reason ? f->reason : "");
    }
    buf_printf(out, ",\"tls\":%s,\"sni\":", f->tls ? "true" : "false");
    json_cstr(out, f->sni[0] ? f->sni : NULL);
    buf_puts(out, ",\"tls_client\":");
    json_cstr(out, f->tls_client[0] ? f->tls_client : NULL);
    buf_puts(out, ",\"tls_server\":");
    json_cstr(out, f->tls_server[0] ? f->tls_server : NULL);
    buf_puts(out, ",\"server_cert\":");
    json_cstr(out, f->server_cert);
    buf_puts(out, ",\"request_headers\":");
    json_hdrs(out, &f->req_headers);
    buf_puts(out, ",\"response_headers\":");
    json_hdrs(out, &f->resp_headers);
    buf_puts(out, ",\"request_trailers\":");
    json_hdrs(out, &f->req_trailers);
    buf_puts(out, ",\"response_trailers\":");
    json_hdrs(out, &f->resp_trailers);
    buf_printf(out, ",\"request_size\":%" PRIu64 ",\"response_size\":%" PRIu64, f->req_size,
               f->resp_size);
    buf_printf(out, ",\"local_reply\":%s", f->local_reply ? "true" : "false");
    buf_printf(out, ",\"timing\":{\"start\":%" PRId64 ".%06" PRId64 ",\"connect_ms\":",
               f->wall_start / 1000000, f->wall_start % 1000000);
    json_ms(out, f, f->t_connected);
    buf_puts(out, ",\"response_start_ms\":");
    json_ms(out, f, f->t_resp_start);
    buf_puts(out, ",\"total_ms\":");
    json_ms(out, f, f->t_end ? f->t_end : f->t_start);
    buf_puts(out, "},\"cache\":");
    if (f->cache_at != 0) {
        struct cache_verdict v;
        verdict(f, &v);
        cache_json(&v, out);
    } else {
        buf_puts(out, "null");
    }
    buf_puts(out, ",\"exposed\":");
    struct expose ex;
    expose_analyze(f, &ex);
    expose_json(&ex, out);
    buf_puts(out, ",\"error\":");
    json_cstr(out, f->error);
    buf_puts(out, "}\n");
}

void flowlog_size(uint64_t n, struct buf *out)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        buf_printf(out, "%" PRIu64 " B", n);
        return;
    }
    double v = (double)n / 1024.0;
    size_t u = 0;
    while (v >= 1023.95 && u + 1 < LC_ARRAY_LEN(units)) { /* never "1024.0 KiB" */
        v /= 1024.0;
        u++;
    }
    buf_printf(out, "%.1f %s", v, units[u]);
}

/* Printable text for the terminal: bytes < 0x20 and 0x7f become \xNN. */
static void term_str(struct buf *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            buf_printf(out, "\\x%02x", c);
        else
            buf_putc(out, (char)c);
    }
}

void flowlog_line(const struct flow *f, struct buf *out)
{
    int64_t end = f->t_end ? f->t_end : f->t_start;
    int64_t ms = (end - f->t_start + 500) / 1000;

    term_str(out, f->client);
    buf_putc(out, ' ');
    term_str(out, f->method[0] ? f->method : "-");
    buf_putc(out, ' ');
    term_str(out, f->url && f->url[0] ? f->url : "-");
    buf_puts(out, " \xe2\x86\x92 "); /* → */
    if (f->status != 0) {
        buf_printf(out, "%d", f->status);
        if (f->error == NULL && !f->connect && f->reason && f->reason[0]) {
            buf_putc(out, ' ');
            term_str(out, f->reason);
        }
    } else {
        buf_puts(out, "-");
    }
    if (f->error != NULL) {
        buf_putc(out, ' ');
        term_str(out, f->error);
    } else if (f->connect) {
        buf_puts(out, " \xe2\x86\x91"); /* ↑ */
        flowlog_size(f->req_size, out);
        buf_puts(out, " \xe2\x86\x93"); /* ↓ */
        flowlog_size(f->resp_size, out);
    } else {
        buf_putc(out, ' ');
        flowlog_size(f->resp_size, out);
    }
    buf_printf(out, " %" PRId64 " ms", ms);
    if (f->cache_at != 0 && f->error == NULL) {
        struct cache_verdict v;
        verdict(f, &v);
        buf_puts(out, " \xc2\xb7 "); /* · */
        term_str(out, v.summary);
    }
    buf_putc(out, '\n');
}
