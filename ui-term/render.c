/* SPDX-License-Identifier: MIT */
/* render: bodies, raw HTTP and curl commands as text. */
#include "ui-term/render.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/codec.h"
#include "core/flowlog.h"
#include "core/json.h"
#include "core/url.h"

#define RENDER_DECODE_MAX (16u * 1024 * 1024)
#define RENDER_HEX_MAX (1024u * 1024)

const char *const render_mode_names[RENDER_MODES] = {"auto", "text", "hex"};

static bool has_ci(const char *s, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++)
        if (strncasecmp(s + i, needle, nl) == 0)
            return true;
    return false;
}

static bool is_utf8_text(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
            return false;
        size_t n = json_utf8_seq(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

static void indent(struct buf *out, int depth)
{
    for (int i = 0; i < depth; i++)
        buf_append(out, "  ", 2);
}

bool render_json(const char *p, size_t len, struct buf *out)
{
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    if (i == len || (p[i] != '{' && p[i] != '['))
        return false;
    int depth = 0;
    bool in_str = false, esc = false;
    for (; i < len; i++) {
        char ch = p[i];
        if (in_str) {
            buf_putc(out, ch);
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                in_str = false;
            continue;
        }
        switch (ch) {
        case ' ':
        case '\n':
        case '\r':
        case '\t':
            break;
        case '"':
            in_str = true;
            buf_putc(out, ch);
            break;
        case '{':
        case '[': {
            size_t j = i + 1;
            while (j < len && (p[j] == ' ' || p[j] == '\n' || p[j] == '\r' || p[j] == '\t'))
                j++;
            if (j < len && (p[j] == '}' || p[j] == ']')) { /* empty: {} or [] */
                buf_putc(out, ch);
                buf_putc(out, p[j]);
                i = j;
                break;
            }
            buf_putc(out, ch);
            buf_putc(out, '\n');
            indent(out, ++depth);
            break;
        }
        case '}':
        case ']':
            buf_putc(out, '\n');
            indent(out, depth > 0 ? --depth : 0);
            buf_putc(out, ch);
            break;
        case ',':
            buf_append(out, ",\n", 2);
            indent(out, depth);
            break;
        case ':':
            buf_append(out, ": ", 2);
            break;
        default:
            buf_putc(out, ch);
        }
    }
    buf_putc(out, '\n');
    return true;
}


static void render_form(const char *p, size_t len, struct buf *out)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '&')
            continue;
        if (i > start) {
            const char *eq = memchr(p + start, '=', i - start);
            size_t nlen = eq ? (size_t)(eq - (p + start)) : i - start;
            url_unescape(p + start, nlen, true, out);
            buf_append(out, " = ", 3);
            if (eq)
                url_unescape(eq + 1, (size_t)(p + i - eq - 1), true, out);
            buf_putc(out, '\n');
        }
        start = i + 1;
    }
}

static void render_hex(const unsigned char *p, size_t len, struct buf *out)
{
    size_t shown = len < RENDER_HEX_MAX ? len : RENDER_HEX_MAX;
    for (size_t off = 0; off < shown; off += 16) {
        buf_printf(out, "%08zx  ", off);
        for (size_t i = 0; i < 16; i++) {
            if (off + i < shown)
                buf_printf(out, "%02x ", p[off + i]);
            else
                buf_append(out, "   ", 3);
            if (i == 7)
                buf_putc(out, ' ');
        }
        buf_append(out, " |", 2);
        for (size_t i = 0; i < 16 && off + i < shown; i++)
            buf_putc(out, p[off + i] >= 0x20 && p[off + i] < 0x7f ? (char)p[off + i] : '.');
        buf_append(out, "|\n", 2);
    }
    if (shown < len)
        buf_printf(out, "(hex view shows the first %u KiB)\n", RENDER_HEX_MAX / 1024);
}

void render_body(const struct hdrs *h, const struct buf *raw, bool cut, enum render_mode mode,
                 struct buf *out)
{
    size_t tlen = 0, elen = 0;
    const char *type = hdrs_get(h, "Content-Type", &tlen);
    const char *enc = hdrs_get(h, "Content-Encoding", &elen);
    const char *p = raw->p ? raw->p : "";
    size_t len = raw->len;
    struct buf dec = BUF_INIT;
    char err[200];
    struct buf size = BUF_INIT;

    if (len == 0) {
        buf_puts(out, cut ? "(body not kept)\n" : "(no body)\n");
        return;
    }
    buf_putc(out, '(');
    if (type)
        buf_printf(out, "%.*s, ", (int)(tlen > 60 ? 60 : tlen), type);
    flowlog_size(len, &size);
    buf_append(out, size.p, size.len);
    if (enc && elen > 0) {
        enum codec_rc rc = codec_decode(enc, elen, p, len, RENDER_DECODE_MAX, &dec, err, sizeof(err));
        if (rc == CODEC_OK) {
            buf_reset(&size);
            flowlog_size(dec.len, &size);
            buf_printf(out, " %.*s \xe2\x86\x92 %.*s", (int)(elen > 30 ? 30 : elen), enc,
                       (int)size.len, size.p);
            p = dec.p ? dec.p : "";
            len = dec.len;
        } else {
            buf_printf(out, "; not decoded: %s", err);
        }
    }
    if (cut)
        buf_puts(out, "; only the start was kept");
    buf_printf(out, "; view %s, m to change)\n", render_mode_names[mode]);

    bool text = is_utf8_text((const unsigned char *)p, len);
    if (mode == RENDER_HEX || (mode == RENDER_AUTO && !text)) {
        render_hex((const unsigned char *)p, len, out);
    } else if (mode == RENDER_AUTO && type && has_ci(type, tlen, "json") &&
               render_json(p, len, out)) {
        /* done */
    } else if (mode == RENDER_AUTO && type && has_ci(type, tlen, "x-www-form-urlencoded")) {
        render_form(p, len, out);
    } else {
        buf_append(out, p, len);
        if (len == 0 || p[len - 1] != '\n') /* len is 0 when a coding decoded to nothing */
            buf_putc(out, '\n');
    }
    buf_free(&dec);
    buf_free(&size);
}

static bool hop_by_hop(const struct hdrs *h, size_t i)
{
    static const char *const names[] = {"Connection", "Proxy-Connection", "Keep-Alive",
                                        "Transfer-Encoding", "TE", "Upgrade", "Content-Length",
                                        "Proxy-Authorization"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        if (hdrs_name_is(h, i, names[k]))
            return true;
    return false;
}

static void put_headers(const struct hdrs *h, struct buf *out)
{
    for (size_t i = 0; i < h->n; i++) {
        size_t nl, vl;
        const char *n = hdrs_name(h, i, &nl);
        const char *v = hdrs_value(h, i, &vl);
        buf_append(out, n, nl);
        buf_append(out, ": ", 2);
        buf_append(out, v, vl);
        buf_append(out, "\r\n", 2);
    }
}

/* the path part of an absolute URL */
static const char *url_path(const char *url)
{
    const char *s = url ? strstr(url, "://") : NULL;
    if (s == NULL)
        return url ? url : "/";
    const char *slash = strchr(s + 3, '/');
    return slash ? slash : "/";
}

void render_raw(const struct flow *f, struct buf *out)
{
    buf_printf(out, "%s %s HTTP/%d.%d\r\n", f->method, f->connect ? f->url : url_path(f->url),
               f->req_major, f->req_minor);
    put_headers(&f->req_headers, out);
    buf_append(out, "\r\n", 2);
    buf_append(out, f->req_body.p ? f->req_body.p : "", f->req_body.len);
    if (f->status == 0) {
        buf_printf(out, "\r\n\r\n(no response%s%s)\r\n", f->error ? ": " : "",
                   f->error ? f->error : "");
        return;
    }
    buf_printf(out, "\r\n\r\nHTTP/%d.%d %d %s\r\n", f->resp_major, f->resp_minor, f->status,
               f->reason ? f->reason : "");
    put_headers(&f->resp_headers, out);
    buf_append(out, "\r\n", 2);
    buf_append(out, f->resp_body.p ? f->resp_body.p : "", f->resp_body.len);
}

/* Appends s as one bash word: '...' when plain, $'...' with escapes otherwise. */
static void shell_word(const char *s, size_t len, struct buf *out)
{
    bool plain = true;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '\'')
            plain = false;
    if (plain) {
        buf_putc(out, '\'');
        buf_append(out, s, len);
        buf_putc(out, '\'');
        return;
    }
    buf_append(out, "$'", 2);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'' || c == '\\')
            buf_printf(out, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            buf_printf(out, "\\x%02x", c);
        else
            buf_putc(out, (char)c);
    }
    buf_putc(out, '\'');
}

void render_curl(const struct flow *f, struct buf *out)
{
    buf_puts(out, "curl -sS");
    if (strcmp(f->method, "HEAD") == 0 && f->req_body.len == 0) {
        buf_puts(out, " -I"); /* with -X HEAD curl would wait for a body that never comes */
    } else if (strcmp(f->method, "GET") != 0 || f->req_body.len > 0) {
        buf_puts(out, " -X ");
        shell_word(f->method, strlen(f->method), out);
    }
    buf_putc(out, ' ');
    shell_word(f->url ? f->url : "", f->url ? strlen(f->url) : 0, out);
    for (size_t i = 0; i < f->req_headers.n; i++) {
        size_t nl, vl;
        if (hop_by_hop(&f->req_headers, i))
            continue;
        const char *n = hdrs_name(&f->req_headers, i, &nl);
        const char *v = hdrs_value(&f->req_headers, i, &vl);
        struct buf h = BUF_INIT;
        buf_append(&h, n, nl);
        buf_append(&h, ": ", 2);
        buf_append(&h, v, vl);
        buf_puts(out, " \\\n  -H ");
        shell_word(h.p, h.len, out);
        buf_free(&h);
    }
    if (f->req_body.len > 0 && memchr(f->req_body.p, '\0', f->req_body.len) != NULL) {
        /* bash's $'...' ends at a NUL byte: printf writes every byte */
        buf_puts(out, " \\\n  --data-binary @<(printf '");
        for (size_t i = 0; i < f->req_body.len; i++) {
            unsigned char ch = (unsigned char)f->req_body.p[i];
            if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\' && ch != '%')
                buf_putc(out, (char)ch);
            else
                buf_printf(out, "\\%03o", ch);
        }
        buf_puts(out, "')");
    } else if (f->req_body.len > 0) {
        buf_puts(out, " \\\n  --data-binary ");
        shell_word(f->req_body.p, f->req_body.len, out);
    }
    buf_putc(out, '\n');
    if (f->req_body_cut)
        buf_puts(out, "# note: lucent kept only the start of the request body\n");
}
