/* SPDX-License-Identifier: MIT */
/* Unit tests of ui-term/render: the text the viewer shows and writes.
 * render_body in each view (JSON pretty-printed, gzip JSON decoded, forms,
 * UTF-8 text, binary as hex, empty, cut, undecodable and oversized bodies,
 * text and hex modes); render_json on nested, empty, escaped and malformed
 * input, and on every prefix of each input (no crash, no overread under
 * ASan); render_raw for a full exchange, a CONNECT and a failed flow;
 * render_curl quoting (plain words in '...', quotes, control and non-ASCII
 * bytes in $'...'), hop-by-hop fields dropped, methods and bodies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/flow.h"
#include "core/hdrs.h"
#include "ui-term/render.h"
#include "check.h"

/* ---- fixtures ------------------------------------------------------------- */

static void gzip_into(struct buf *out, const void *in, size_t len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    uLong bound = deflateBound(&zs, (uLong)len);
    buf_reserve(out, bound);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->p + out->len;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    out->len += bound - zs.avail_out;
    deflateEnd(&zs);
}

static void add_hdr(struct hdrs *h, const char *name, const char *value)
{
    hdrs_add(h, name, strlen(name), value, strlen(value));
}

static struct flow *mkflow(const char *method, const char *url)
{
    struct flow *f = flow_new(flow_next_id());
    if (f == NULL)
        abort();
    snprintf(f->method, sizeof(f->method), "%s", method);
    flow_set_url(f, url, strlen(url));
    f->req_major = f->req_minor = 1;
    f->state = FLOW_DONE;
    return f;
}

static void set_response(struct flow *f, int status, const char *reason)
{
    f->status = status;
    flow_set_reason(f, reason, strlen(reason));
    f->resp_major = f->resp_minor = 1;
}

/* render_body of body[0..len) under the given Content-Type / -Encoding
 * (NULL: no such field), as a NUL-terminated string in out */
static void body_of(const char *type, const char *enc, const void *body, size_t len, bool cut,
                    enum render_mode mode, struct buf *out)
{
    struct hdrs h;
    struct buf raw = BUF_INIT;
    hdrs_init(&h);
    if (type)
        add_hdr(&h, "Content-Type", type);
    if (enc)
        add_hdr(&h, "Content-Encoding", enc);
    buf_append(&raw, body, len);
    buf_reset(out);
    render_body(&h, &raw, cut, mode, out);
    buf_putc(out, '\0');
    out->len--;
    buf_free(&raw);
    hdrs_free(&h);
}

/* the text after the first line (the "(type, size; view ...)" line) */
static const char *after_first_line(const struct buf *b)
{
    const char *nl = b->p ? memchr(b->p, '\n', b->len) : NULL;
    return nl ? nl + 1 : "";
}

static bool ends_with_nl(const struct buf *b)
{
    return b->len > 0 && b->p[b->len - 1] == '\n';
}

/* ---- render_body ---------------------------------------------------------- */

static const char json_in[] = "{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"x\"}}";
static const char json_pretty[] = "{\n"
                                  "  \"a\": 1,\n"
                                  "  \"b\": [\n"
                                  "    1,\n"
                                  "    2\n"
                                  "  ],\n"
                                  "  \"c\": {\n"
                                  "    \"d\": \"x\"\n"
                                  "  }\n"
                                  "}\n";

static void test_body_json(void)
{
    struct buf out = BUF_INIT;
    body_of("application/json", NULL, json_in, strlen(json_in), false, RENDER_AUTO, &out);
    CHECK_EQ_STR(out.p, "(application/json, 31 B; view auto, m to change)\n"
                        "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ],\n"
                        "  \"c\": {\n    \"d\": \"x\"\n  }\n}\n");

    /* any type naming json: +json suffixes, parameters, odd case */
    body_of("application/problem+json; charset=utf-8", NULL, json_in, strlen(json_in), false,
            RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), json_pretty);
    body_of("Application/JSON", NULL, json_in, strlen(json_in), false, RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), json_pretty);

    /* a JSON type over something that is not JSON: shown as text */
    body_of("application/json", NULL, "not json\n", 9, false, RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), "not json\n");

    /* JSON without a JSON type is text, not re-indented */
    body_of("text/plain", NULL, json_in, strlen(json_in), false, RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), "{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"x\"}}\n");
    body_of(NULL, NULL, json_in, strlen(json_in), false, RENDER_AUTO, &out);
    CHECK_EQ_STR(out.p, "(31 B; view auto, m to change)\n"
                        "{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"x\"}}\n");

    /* text mode: as sent; hex mode: a dump */
    body_of("application/json", NULL, json_in, strlen(json_in), false, RENDER_TEXT, &out);
    CHECK_EQ_STR(out.p, "(application/json, 31 B; view text, m to change)\n"
                        "{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"x\"}}\n");
    body_of("application/json", NULL, json_in, strlen(json_in), false, RENDER_HEX, &out);
    CHECK(strstr(out.p, "; view hex, m to change)\n") != NULL);
    CHECK(strstr(out.p, "00000000  7b 22 61 22 3a 31 2c 22  62 22 3a 5b 31 2c 32 5d  "
                        "|{\"a\":1,\"b\":[1,2]|\n") != NULL);
    CHECK(strstr(out.p, "00000010  2c 22 63 22 3a 7b 22 64  22 3a 22 78 22 7d 7d ") != NULL);
    CHECK(strstr(out.p, "|,\"c\":{\"d\":\"x\"}}|\n") != NULL);
    buf_free(&out);
}

static void test_body_gzip_json(void)
{
    struct buf out = BUF_INIT, gz = BUF_INIT;
    gzip_into(&gz, json_in, strlen(json_in));
    body_of("application/json", "gzip", gz.p, gz.len, false, RENDER_AUTO, &out);
    char first[200];
    snprintf(first, sizeof(first),
             "(application/json, %zu B gzip \xe2\x86\x92 31 B; view auto, m to change)\n", gz.len);
    CHECK(strncmp(out.p, first, strlen(first)) == 0);
    CHECK_EQ_STR(after_first_line(&out), json_pretty);

    /* text mode shows the decoded text; hex mode the decoded bytes */
    body_of("application/json", "gzip", gz.p, gz.len, false, RENDER_TEXT, &out);
    CHECK_EQ_STR(after_first_line(&out), "{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"x\"}}\n");
    body_of("application/json", "GZIP", gz.p, gz.len, false, RENDER_HEX, &out);
    CHECK(strstr(out.p, "00000000  7b 22 61 22") != NULL);

    /* gzip text, no JSON */
    struct buf gt = BUF_INIT;
    gzip_into(&gt, "hello gzip\n", 11);
    body_of("text/plain", "gzip", gt.p, gt.len, false, RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), "hello gzip\n");

    /* corrupt: says so, then the raw bytes (not text) as hex */
    body_of("application/json", "gzip", "\x1f\x8b garbage", 10, false, RENDER_AUTO, &out);
    CHECK(strstr(out.p, "; not decoded: ") != NULL);
    CHECK(strstr(out.p, "00000000  1f 8b 20 67") != NULL);

    /* a coding lucent does not know: raw bytes, "not decoded" */
    body_of("application/json", "x-unknown", json_in, strlen(json_in), false, RENDER_AUTO, &out);
    CHECK(strstr(out.p, "; not decoded: ") != NULL);
    CHECK_EQ_STR(after_first_line(&out), json_pretty);

    /* identity is a no-op */
    body_of("application/json", "identity", json_in, strlen(json_in), false, RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), json_pretty);

    /* a gzip body only partly kept: never reads past what it has */
    body_of("application/json", "gzip", gz.p, gz.len / 2, true, RENDER_AUTO, &out);
    CHECK(strstr(out.p, "only the start was kept") != NULL);
    CHECK(ends_with_nl(&out));

    /* gzip of nothing: decodes to 0 bytes (once read one byte before them) */
    struct buf ge = BUF_INIT;
    gzip_into(&ge, "", 0);
    body_of("text/plain", "gzip", ge.p, ge.len, false, RENDER_AUTO, &out);
    CHECK(strstr(out.p, " gzip \xe2\x86\x92 0 B; view auto") != NULL);
    CHECK(ends_with_nl(&out));
    body_of("application/json", "gzip", ge.p, ge.len, false, RENDER_TEXT, &out);
    CHECK(ends_with_nl(&out));
    body_of("application/json", "gzip", ge.p, ge.len, false, RENDER_HEX, &out);
    CHECK(ends_with_nl(&out));

    buf_free(&ge);
    buf_free(&gt);
    buf_free(&gz);
    buf_free(&out);
}

static void test_body_form(void)
{
    struct buf out = BUF_INIT;
    static const char form[] = "a=1&b=hello+world&c=%41%42%7e&d&&e=&f=%zz%4&g=x%3D1%26y";
    body_of("application/x-www-form-urlencoded", NULL, form, strlen(form), false, RENDER_AUTO,
            &out);
    CHECK_EQ_STR(after_first_line(&out), "a = 1\n"
                                         "b = hello world\n"
                                         "c = AB~\n"
                                         "d = \n"
                                         "e = \n"
                                         "f = %zz%4\n"
                                         "g = x=1&y\n");
    /* a field ending in an escape */
    body_of("application/x-www-form-urlencoded; charset=UTF-8", NULL, "k=%41", 5, false,
            RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), "k = A\n");
    /* names are decoded too */
    body_of("application/x-www-form-urlencoded", NULL, "a%20b=c+d", 9, false, RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), "a b = c d\n");
    /* text mode: as sent */
    body_of("application/x-www-form-urlencoded", NULL, form, strlen(form), false, RENDER_TEXT,
            &out);
    CHECK_EQ_STR(after_first_line(&out),
                 "a=1&b=hello+world&c=%41%42%7e&d&&e=&f=%zz%4&g=x%3D1%26y\n");
    buf_free(&out);
}

static void test_body_text(void)
{
    struct buf out = BUF_INIT;
    static const char utf8[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x86\x92 \xf0\x9f\x94\x92\r\n\tend";
    body_of("text/plain; charset=utf-8", NULL, utf8, strlen(utf8), false, RENDER_AUTO, &out);
    CHECK_EQ_STR(out.p, "(text/plain; charset=utf-8, 28 B; view auto, m to change)\n"
                        "h\xc3\xa9llo w\xc3\xb6rld \xe2\x86\x92 \xf0\x9f\x94\x92\r\n\tend\n");
    /* a final newline is not doubled */
    body_of("text/html", NULL, "<p>x</p>\n", 9, false, RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), "<p>x</p>\n");
    /* one byte */
    body_of("text/plain", NULL, "x", 1, false, RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), "x\n");
    body_of("text/plain", NULL, "\n", 1, false, RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), "\n");
    /* sizes */
    char big[2048];
    memset(big, 'a', sizeof(big));
    body_of("text/plain", NULL, big, sizeof(big), false, RENDER_AUTO, &out);
    CHECK(strncmp(out.p, "(text/plain, 2.0 KiB; view auto, m to change)\n",
                  strlen("(text/plain, 2.0 KiB; view auto, m to change)\n")) == 0);
    /* a long Content-Type is cut to 60 bytes in the first line */
    char type[200];
    memset(type, 't', sizeof(type) - 1);
    type[sizeof(type) - 1] = '\0';
    body_of(type, NULL, "x", 1, false, RENDER_AUTO, &out);
    CHECK(strncmp(out.p + 1 + 60, ", 1 B;", 6) == 0);
    buf_free(&out);
}

static void test_body_binary(void)
{
    struct buf out = BUF_INIT;
    unsigned char bin[20];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 13);
    body_of("application/octet-stream", NULL, bin, sizeof(bin), false, RENDER_AUTO, &out);
    CHECK_EQ_STR(out.p, "(application/octet-stream, 20 B; view auto, m to change)\n"
                        "00000000  00 0d 1a 27 34 41 4e 5b  68 75 82 8f 9c a9 b6 c3  "
                        "|...'4AN[hu......|\n"
                        "00000010  d0 dd ea f7                                       "
                        "|....|\n");
    /* text mode keeps the bytes as they are (the view escapes them) */
    body_of("application/octet-stream", NULL, bin, sizeof(bin), false, RENDER_TEXT, &out);
    const char *t = after_first_line(&out);
    CHECK_EQ_MEM(t, sizeof(bin), bin, sizeof(bin));
    /* control characters and invalid UTF-8 are not "text" */
    body_of("text/plain", NULL, "ok\x1b[2Jx", 7, false, RENDER_AUTO, &out);
    CHECK(strstr(out.p, "00000000  6f 6b 1b 5b 32 4a 78") != NULL);
    body_of("text/plain", NULL, "caf\xe9", 4, false, RENDER_AUTO, &out);
    CHECK(strstr(out.p, "00000000  63 61 66 e9") != NULL);
    body_of("text/plain", NULL, "a\0b", 3, false, RENDER_AUTO, &out);
    CHECK(strstr(out.p, "00000000  61 00 62") != NULL);
    /* exactly 16 bytes: one line */
    body_of(NULL, NULL, bin, 16, false, RENDER_HEX, &out);
    CHECK_EQ_STR(after_first_line(&out), "00000000  00 0d 1a 27 34 41 4e 5b  68 75 82 8f 9c a9 b6 "
                                         "c3  |...'4AN[hu......|\n");
    /* past the hex limit: the first MiB, and a note */
    size_t n = 1024 * 1024 + 100;
    unsigned char *huge = calloc(1, n);
    if (huge == NULL)
        abort();
    body_of(NULL, NULL, huge, n, false, RENDER_AUTO, &out);
    CHECK(strstr(out.p, "000ffff0  00 00") != NULL);
    CHECK(strstr(out.p, "00100000  ") == NULL);
    CHECK(strstr(out.p, "(hex view shows the first 1024 KiB)\n") != NULL);
    free(huge);
    buf_free(&out);
}

static void test_body_empty_and_cut(void)
{
    struct buf out = BUF_INIT;
    body_of("application/json", NULL, "", 0, false, RENDER_AUTO, &out);
    CHECK_EQ_STR(out.p, "(no body)\n");
    body_of("application/json", NULL, "", 0, true, RENDER_AUTO, &out);
    CHECK_EQ_STR(out.p, "(body not kept)\n");
    body_of("application/json", "gzip", "", 0, false, RENDER_HEX, &out);
    CHECK_EQ_STR(out.p, "(no body)\n");

    /* the start of a body */
    body_of("text/plain", NULL, "abc", 3, true, RENDER_AUTO, &out);
    CHECK_EQ_STR(out.p, "(text/plain, 3 B; only the start was kept; view auto, m to change)\n"
                        "abc\n");
    /* a JSON start is still laid out */
    body_of("application/json", NULL, "{\"a\":[1,", 8, true, RENDER_AUTO, &out);
    CHECK_EQ_STR(after_first_line(&out), "{\n  \"a\": [\n    1,\n    \n");
    /* a UTF-8 sequence cut in half: hex, not text */
    body_of("text/plain", NULL, "ab\xe2\x86", 4, true, RENDER_AUTO, &out);
    CHECK(strstr(out.p, "00000000  61 62 e2 86") != NULL);
    buf_free(&out);
}

/* ---- render_json ---------------------------------------------------------- */

static const struct {
    const char *in;
    const char *want; /* NULL: not JSON (returns false) */
} json_rows[] = {
    {"{}", "{}\n"},
    {"[]", "[]\n"},
    {"  { \n }  ", "{}\n"},
    {"[ ]", "[]\n"},
    {"[{}]", "[\n  {}\n]\n"},
    {"{\"a\":{},\"b\":[]}", "{\n  \"a\": {},\n  \"b\": []\n}\n"},
    {"[1,[2,[3,[4]]]]", "[\n  1,\n  [\n    2,\n    [\n      3,\n      [\n        4\n      ]\n"
                        "    ]\n  ]\n]\n"},
    {"{\"a\":{\"b\":{\"c\":null}}}",
     "{\n  \"a\": {\n    \"b\": {\n      \"c\": null\n    }\n  }\n}\n"},
    {"{ \"k\" : true , \"n\" : -1.5e3 }", "{\n  \"k\": true,\n  \"n\": -1.5e3\n}\n"},
    /* strings keep everything inside them, escapes included */
    {"{\"a,b\":\"{x}[y]:z\"}", "{\n  \"a,b\": \"{x}[y]:z\"\n}\n"},
    {"{\"q\":\"say \\\"hi\\\", {ok}\"}", "{\n  \"q\": \"say \\\"hi\\\", {ok}\"\n}\n"},
    {"[\"back\\\\\",\"slash\"]", "[\n  \"back\\\\\",\n  \"slash\"\n]\n"},
    {"[\"sp  ace\",\"\\u00e9\",\"\xc3\xa9\"]",
     "[\n  \"sp  ace\",\n  \"\\u00e9\",\n  \"\xc3\xa9\"\n]\n"},
    {"[\"a\nb\"]", "[\n  \"a\nb\"\n]\n"},
    /* malformed: still laid out, never more closing than opening indent */
    {"{\"a\":", "{\n  \"a\": \n"},
    {"{\"a\":\"unterminated", "{\n  \"a\": \"unterminated\n"},
    {"[1,2", "[\n  1,\n  2\n"},
    {"{}}]", "{}\n}\n]\n"},
    {"[1]]", "[\n  1\n]\n]\n"},
    {"{\"a\" 1 2}", "{\n  \"a\"12\n}\n"},
    {"{\"a\":1,}", "{\n  \"a\": 1,\n  \n}\n"},
    /* not JSON */
    {"", NULL},
    {"   \n\t", NULL},
    {"\"str\"", NULL},
    {"123", NULL},
    {"null", NULL},
    {"}", NULL},
    {"<html>{}</html>", NULL},
};

static void test_json(void)
{
    struct buf out = BUF_INIT;
    for (size_t r = 0; r < sizeof(json_rows) / sizeof(json_rows[0]); r++) {
        const char *in = json_rows[r].in;
        check_note("json row %zu: %s", r, in);
        buf_reset(&out);
        bool ok = render_json(in, strlen(in), &out);
        CHECK_EQ_INT(ok, json_rows[r].want != NULL);
        if (json_rows[r].want) {
            buf_putc(&out, '\0');
            CHECK_EQ_STR(out.p, json_rows[r].want);
        } else {
            CHECK_EQ_INT(out.len, 0); /* nothing appended when it says no */
        }
        /* every prefix, from a heap copy of exactly that length (ASan sees
         * any read past it): a result, each ending in a newline */
        size_t len = strlen(in);
        for (size_t cut = 0; cut <= len; cut++) {
            char *p = malloc(cut ? cut : 1);
            if (p == NULL)
                abort();
            memcpy(p, in, cut);
            buf_reset(&out);
            check_note("json row %zu prefix %zu", r, cut);
            if (render_json(p, cut, &out))
                CHECK(ends_with_nl(&out));
            else
                CHECK_EQ_INT(out.len, 0);
            free(p);
        }
    }
    check_note(NULL);

    /* appends, keeping what out held */
    buf_reset(&out);
    buf_puts(&out, "before|");
    CHECK(render_json("[1]", 3, &out));
    buf_putc(&out, '\0');
    CHECK_EQ_STR(out.p, "before|[\n  1\n]\n");

    /* deep nesting: no recursion to overflow, depth back to zero */
    size_t depth = 1000;
    char *deep = malloc(2 * depth);
    if (deep == NULL)
        abort();
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    buf_reset(&out);
    CHECK(render_json(deep, 2 * depth, &out));
    CHECK(ends_with_nl(&out));
    CHECK(out.len > 2 * depth);
    CHECK_EQ_INT(out.p[out.len - 2], ']');
    CHECK_EQ_INT(out.p[out.len - 3], '\n'); /* last ] on its own line, at indent 0 */
    free(deep);
    buf_free(&out);
}

/* ---- render_raw ----------------------------------------------------------- */

static void test_raw(void)
{
    struct buf out = BUF_INIT;
    struct flow *f = mkflow("POST", "http://a.test:8080/p/q?x=1&y=2");
    add_hdr(&f->req_headers, "Host", "a.test:8080");
    add_hdr(&f->req_headers, "Content-Type", "text/plain");
    add_hdr(&f->req_headers, "Content-Length", "5");
    buf_puts(&f->req_body, "hello");
    f->req_size = 5;
    set_response(f, 201, "Created");
    add_hdr(&f->resp_headers, "Content-Type", "text/plain");
    add_hdr(&f->resp_headers, "X-Empty", "");
    buf_puts(&f->resp_body, "made");
    f->resp_size = 4;
    render_raw(f, &out);
    buf_putc(&out, '\0');
    CHECK_EQ_STR(out.p, "POST /p/q?x=1&y=2 HTTP/1.1\r\n"
                        "Host: a.test:8080\r\n"
                        "Content-Type: text/plain\r\n"
                        "Content-Length: 5\r\n"
                        "\r\n"
                        "hello"
                        "\r\n\r\n"
                        "HTTP/1.1 201 Created\r\n"
                        "Content-Type: text/plain\r\n"
                        "X-Empty: \r\n"
                        "\r\n"
                        "made");
    flow_unref(f);

    /* HTTP/1.0, a URL without a path, a binary body kept byte for byte */
    f = mkflow("GET", "http://b.test");
    f->req_minor = 0;
    set_response(f, 200, "OK");
    f->resp_minor = 0;
    buf_append(&f->resp_body, "\0\xff\x1b", 3);
    buf_reset(&out);
    render_raw(f, &out);
    static const char want10[] = "GET / HTTP/1.0\r\n\r\n\r\n\r\nHTTP/1.0 200 OK\r\n\r\n\0\xff\x1b";
    CHECK_EQ_MEM(out.p, out.len, want10, sizeof(want10) - 1);
    flow_unref(f);

    /* a CONNECT shows its authority; no response: says why */
    f = mkflow("CONNECT", "tunnel.test:443");
    f->connect = true;
    add_hdr(&f->req_headers, "Host", "tunnel.test:443");
    flow_fail(f, "upstream refused");
    buf_reset(&out);
    render_raw(f, &out);
    buf_putc(&out, '\0');
    CHECK_EQ_STR(out.p, "CONNECT tunnel.test:443 HTTP/1.1\r\nHost: tunnel.test:443\r\n\r\n"
                        "\r\n\r\n(no response: upstream refused)\r\n");
    flow_unref(f);

    /* no response, no error */
    f = mkflow("GET", "https://c.test/x");
    buf_reset(&out);
    render_raw(f, &out);
    buf_putc(&out, '\0');
    CHECK_EQ_STR(out.p, "GET /x HTTP/1.1\r\n\r\n\r\n\r\n(no response)\r\n");
    flow_unref(f);
    buf_free(&out);
}

/* ---- render_curl ---------------------------------------------------------- */

static void curl_of(const struct flow *f, struct buf *out)
{
    buf_reset(out);
    render_curl(f, out);
    buf_putc(out, '\0');
    out->len--;
}

static void test_curl(void)
{
    struct buf out = BUF_INIT;

    /* a plain GET: no -X, each field in single quotes */
    struct flow *f = mkflow("GET", "http://a.test:8080/p?x=1&y=$HOME");
    add_hdr(&f->req_headers, "Host", "a.test:8080");
    add_hdr(&f->req_headers, "User-Agent", "curl/8.5.0");
    add_hdr(&f->req_headers, "X-Shell", "$(id) `id` \\ \"!\" *");
    curl_of(f, &out);
    CHECK_EQ_STR(out.p, "curl -sS 'http://a.test:8080/p?x=1&y=$HOME' \\\n"
                        "  -H 'Host: a.test:8080' \\\n"
                        "  -H 'User-Agent: curl/8.5.0' \\\n"
                        "  -H 'X-Shell: $(id) `id` \\ \"!\" *'\n");
    flow_unref(f);

    /* hop-by-hop and framing fields are left to curl */
    f = mkflow("GET", "http://a.test/");
    add_hdr(&f->req_headers, "Host", "a.test");
    add_hdr(&f->req_headers, "Connection", "keep-alive, X-Hop");
    add_hdr(&f->req_headers, "proxy-connection", "keep-alive");
    add_hdr(&f->req_headers, "Keep-Alive", "timeout=5");
    add_hdr(&f->req_headers, "Transfer-Encoding", "chunked");
    add_hdr(&f->req_headers, "TE", "trailers");
    add_hdr(&f->req_headers, "Upgrade", "websocket");
    add_hdr(&f->req_headers, "CONTENT-LENGTH", "0");
    add_hdr(&f->req_headers, "Proxy-Authorization", "Basic dXNlcjpwdw==");
    add_hdr(&f->req_headers, "Accept", "*/*");
    curl_of(f, &out);
    CHECK_EQ_STR(out.p, "curl -sS 'http://a.test/' \\\n"
                        "  -H 'Host: a.test' \\\n"
                        "  -H 'Accept: */*'\n");
    flow_unref(f);

    /* a single quote or a control byte: $'...' with escapes */
    f = mkflow("POST", "http://a.test/it's");
    add_hdr(&f->req_headers, "X-Quote", "it's \\ here");
    add_hdr(&f->req_headers, "X-Utf8", "caf\xc3\xa9");
    add_hdr(&f->req_headers, "Content-Type", "application/octet-stream");
    buf_append(&f->req_body, "a'b\\c\n\x01\x7f\xff\tz", 11);
    curl_of(f, &out);
    CHECK_EQ_STR(out.p, "curl -sS -X 'POST' $'http://a.test/it\\'s' \\\n"
                        "  -H $'X-Quote: it\\'s \\\\ here' \\\n"
                        "  -H $'X-Utf8: caf\\xc3\\xa9' \\\n"
                        "  -H 'Content-Type: application/octet-stream' \\\n"
                        "  --data-binary $'a\\'b\\\\c\\x0a\\x01\\x7f\\xff\\x09z'\n");
    flow_unref(f);

    /* a plain body; a GET with a body says -X GET; a cut body is noted */
    f = mkflow("PUT", "http://a.test/r");
    buf_puts(&f->req_body, "{\"k\": \"v\"}");
    curl_of(f, &out);
    CHECK_EQ_STR(out.p, "curl -sS -X 'PUT' 'http://a.test/r' \\\n"
                        "  --data-binary '{\"k\": \"v\"}'\n");
    flow_unref(f);
    f = mkflow("GET", "http://a.test/g");
    buf_puts(&f->req_body, "q");
    f->req_body_cut = true;
    curl_of(f, &out);
    CHECK_EQ_STR(out.p, "curl -sS -X 'GET' 'http://a.test/g' \\\n"
                        "  --data-binary 'q'\n"
                        "# note: lucent kept only the start of the request body\n");
    flow_unref(f);

    /* DELETE without a body still names its method */
    f = mkflow("DELETE", "http://a.test/d");
    curl_of(f, &out);
    CHECK_EQ_STR(out.p, "curl -sS -X 'DELETE' 'http://a.test/d'\n");
    flow_unref(f);

    /* HEAD: "-X HEAD" makes curl wait for a body that never comes */
    f = mkflow("HEAD", "http://a.test/h");
    curl_of(f, &out);
    CHECK_EQ_STR(out.p, "curl -sS -I 'http://a.test/h'\n");
    flow_unref(f);

    /* every byte value survives in a header value as \xNN or itself */
    f = mkflow("GET", "http://a.test/");
    char all[256];
    for (int i = 0; i < 255; i++)
        all[i] = (char)(i + 1);
    all[255] = '\0';
    add_hdr(&f->req_headers, "X-All", all); /* bytes 1..255 (strlen stops at NUL) */
    curl_of(f, &out);
    CHECK(strstr(out.p, "-H $'X-All: \\x01\\x02") != NULL);
    CHECK(strstr(out.p, "\\x1f !\"#$%&\\'()*") != NULL);
    CHECK(strstr(out.p, "[\\\\]^_`") != NULL);
    CHECK(strstr(out.p, "}~\\x7f\\x80") != NULL);
    CHECK(strstr(out.p, "\\xfe\\xff'\n") != NULL);
    for (size_t i = 0; i < out.len; i++)
        if ((unsigned char)out.p[i] < 0x20 && out.p[i] != '\n')
            CHECK(!"a raw control byte in the command");
        else if ((unsigned char)out.p[i] >= 0x7f)
            CHECK(!"a raw non-ASCII byte in the command");
    flow_unref(f);
    buf_free(&out);
}

int main(void)
{
    test_body_json();
    test_body_gzip_json();
    test_body_form();
    test_body_text();
    test_body_binary();
    test_body_empty_and_cut();
    test_json();
    test_raw();
    test_curl();
    return check_summary();
}
