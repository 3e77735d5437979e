/* SPDX-License-Identifier: MIT */
/* Unit tests of core/har: entries of hand-built flows (plain, gzip, binary,
 * cookies, query strings, failures, hostile bytes), the streaming writer
 * (a valid document after every entry), a write/read round trip, browser
 * HAR files written by hand, and malformed files. Every document written is
 * checked by a strict RFC 8259 validator kept here, apart from core/jsonp
 * (which the tests use to look values up). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/flow.h"
#include "core/har.h"
#include "core/jsonp.h"
#include "check.h"

/* ---- a strict validator -------------------------------------------------- */

struct vj {
    const unsigned char *p, *end;
    int depth;
};

static void vj_ws(struct vj *v)
{
    while (v->p < v->end && (*v->p == ' ' || *v->p == '\n' || *v->p == '\r' || *v->p == '\t'))
        v->p++;
}

static bool vj_value(struct vj *v);

/* A string: UTF-8 checked by hand (no overlongs, surrogates or > U+10FFFF). */
static bool vj_string(struct vj *v)
{
    if (v->p >= v->end || *v->p++ != '"')
        return false;
    while (v->p < v->end) {
        unsigned c = *v->p;
        if (c == '"') {
            v->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            v->p++;
            if (v->p >= v->end)
                return false;
            if (*v->p == 'u') {
                if (v->end - v->p < 5)
                    return false;
                for (int k = 1; k <= 4; k++) {
                    unsigned h = v->p[k];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                          (h >= 'A' && h <= 'F')))
                        return false;
                }
                v->p += 5;
            } else if (memchr("\"\\/bfnrt", *v->p, 8) != NULL) {
                v->p++;
            } else {
                return false;
            }
            continue;
        }
        if (c < 0x80) {
            v->p++;
            continue;
        }
        int n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
        if (n == 0 || c > 0xf4 || v->end - v->p < n)
            return false;
        uint32_t cp = c & (0x7fu >> n);
        for (int k = 1; k < n; k++) {
            if ((v->p[k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (v->p[k] & 0x3fu);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
            return false;
        v->p += n;
    }
    return false;
}

static bool vj_digits(struct vj *v)
{
    const unsigned char *s = v->p;
    while (v->p < v->end && *v->p >= '0' && *v->p <= '9')
        v->p++;
    return v->p > s;
}

static bool vj_number(struct vj *v)
{
    if (v->p < v->end && *v->p == '-')
        v->p++;
    if (v->p < v->end && *v->p == '0')
        v->p++;
    else if (!vj_digits(v))
        return false;
    if (v->p < v->end && *v->p == '.') {
        v->p++;
        if (!vj_digits(v))
            return false;
    }
    if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
        v->p++;
        if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
            v->p++;
        if (!vj_digits(v))
            return false;
    }
    return true;
}

static bool vj_word(struct vj *v, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(v->end - v->p) < n || memcmp(v->p, w, n) != 0)
        return false;
    v->p += n;
    return true;
}

static bool vj_items(struct vj *v, bool object)
{
    unsigned char close = object ? '}' : ']';
    if (++v->depth > 100)
        return false;
    v->p++;
    vj_ws(v);
    if (v->p < v->end && *v->p == close) {
        v->p++;
        v->depth--;
        return true;
    }
    for (;;) {
        vj_ws(v);
        if (object) {
            if (!vj_string(v))
                return false;
            vj_ws(v);
            if (v->p >= v->end || *v->p++ != ':')
                return false;
            vj_ws(v);
        }
        if (!vj_value(v))
            return false;
        vj_ws(v);
        if (v->p >= v->end)
            return false;
        unsigned char c = *v->p++;
        if (c == close) {
            v->depth--;
            return true;
        }
        if (c != ',')
            return false;
    }
}

static bool vj_value(struct vj *v)
{
    if (v->p >= v->end)
        return false;
    switch (*v->p) {
    case '{':
        return vj_items(v, true);
    case '[':
        return vj_items(v, false);
    case '"':
        return vj_string(v);
    case 't':
        return vj_word(v, "true");
    case 'f':
        return vj_word(v, "false");
    case 'n':
        return vj_word(v, "null");
    default:
        return vj_number(v);
    }
}

/* Is s[0..len) one JSON object, with nothing but whitespace around it? */
static bool valid_json(const char *s, size_t len)
{
    struct vj v = {(const unsigned char *)s, (const unsigned char *)s + len, 0};
    vj_ws(&v);
    if (v.p >= v.end || *v.p != '{' || !vj_value(&v))
        return false;
    vj_ws(&v);
    return v.p == v.end;
}

static void test_validator(void)
{
    static const struct {
        const char *s;
        bool ok;
    } rows[] = {
        {"{}", true},
        {" {\"a\":[1,-2.5e+3,0,\"\\u00e9\xc3\xa9\",true,false,null,{}]}\n", true},
        {"{\"a\":1,}", false},
        {"{\"a\":01}", false},
        {"{\"a\":1.}", false},
        {"{\"a\":-}", false},
        {"{\"a\":NaN}", false},
        {"{\"a\":inf}", false},
        {"{\"a\":\"\x1f\"}", false},
        {"{\"a\":\"\xc0\xaf\"}", false},
        {"{\"a\":\"\xed\xb0\x80\"}", false},
        {"{\"a\":\"\xf8\x88\x80\x80\x80\"}", false},
        {"{\"a\":\"\\u12\"}", false},
        {"{\"a\":\"\\a\"}", false},
        {"{\"a\":1}}", false},
        {"{\"a\":[1}", false},
        {"[]", false},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        check_note("validator row %zu", r);
        CHECK_EQ_INT(valid_json(rows[r].s, strlen(rows[r].s)), rows[r].ok);
    }
    check_note(NULL);
}

/* ---- helpers --------------------------------------------------------------- */

/* The value at a dotted path ("request.headers.1.name"; digits index arrays). */
static const struct jsonp_val *at(const struct jsonp_val *v, const char *path)
{
    char seg[64];
    while (v != NULL && *path != '\0') {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(seg))
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        path += n + (path[n] == '.');
        if (v->type == JSONP_ARRAY) {
            char *end;
            unsigned long i = strtoul(seg, &end, 10);
            v = *end == '\0' && i < v->n ? &v->items[i] : NULL;
        } else {
            v = jsonp_get(v, seg);
        }
    }
    return v;
}

static const char *str_at(const struct jsonp_val *v, const char *path)
{
    const char *s = jsonp_str(at(v, path), NULL);
    return s ? s : "(absent)";
}

static double num_at(const struct jsonp_val *v, const char *path)
{
    double d = -12345;
    (void)jsonp_num(at(v, path), &d);
    return d;
}

static struct flow *mkflow(const char *method, const char *url)
{
    struct flow *f = flow_new(flow_next_id());
    if (f == NULL)
        abort();
    f->state = FLOW_DONE;
    f->wall_start = 1700000000123456LL; /* 2023-11-14T22:13:20.123456Z */
    f->t_start = 5000000;
    f->t_connected = f->t_start + 2000;
    f->t_resp_start = f->t_start + 12345;
    f->t_end = f->t_start + 15000;
    snprintf(f->method, sizeof(f->method), "%s", method);
    flow_set_url(f, url, strlen(url));
    f->req_major = f->resp_major = 1;
    f->req_minor = f->resp_minor = 1;
    snprintf(f->client, sizeof(f->client), "127.0.0.1:53122");
    snprintf(f->server, sizeof(f->server), "93.184.216.34:80");
    return f;
}

static void add(struct hdrs *h, const char *name, const char *value)
{
    hdrs_add(h, name, strlen(name), value, strlen(value));
}

/* A header from string literals, which may hold NUL bytes. */
#define ADD_LIT(h, n, v) hdrs_add((h), (n), sizeof(n) - 1, (v), sizeof(v) - 1)

static void respond(struct flow *f, int status, const char *reason, const void *body, size_t len)
{
    f->status = status;
    flow_set_reason(f, reason, strlen(reason));
    buf_append(&f->resp_body, body, len);
    f->resp_size = len;
}

static size_t gzip(const void *in, size_t len, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

/* The entry of f, validated and parsed; NULL (and a failed check) if invalid. */
static struct jsonp_doc *entry_doc(const struct flow *f, struct buf *out)
{
    char err[200];
    buf_reset(out);
    har_entry(f, out);
    if (!CHECK(valid_json(out->p, out->len))) {
        check_print_bytes("entry", out->p, out->len);
        return NULL;
    }
    struct jsonp_doc *d = jsonp_parse(out->p, out->len, err, sizeof(err));
    CHECK(d != NULL);
    return d;
}

static char tmpdir[256];

static void tmp_path(char *p, size_t cap, const char *name)
{
    snprintf(p, cap, "%s/%s", tmpdir, name);
}

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(text, 1, len, fp) != len || fclose(fp) != 0)
        abort();
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    struct buf b = BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        buf_append(&b, tmp, n);
    fclose(fp);
    buf_putc(&b, '\0');
    *len = b.len - 1;
    return b.p;
}

static void free_flows(struct flow **flows, ssize_t n)
{
    for (ssize_t i = 0; i < n; i++)
        flow_unref(flows[i]);
    free(flows);
}

/* ---- entries --------------------------------------------------------------- */

static void test_entry_plain(void)
{
    struct flow *f = mkflow("GET", "http://a.test/p?q=1");
    struct buf out = BUF_INIT;
    f->id = 42;
    add(&f->req_headers, "Host", "a.test");
    add(&f->req_headers, "Accept", "*/*");
    add(&f->resp_headers, "Content-Type", "text/plain");
    add(&f->resp_headers, "Content-Length", "5");
    respond(f, 200, "OK", "hello", 5);

    buf_puts(&out, "[");
    har_entry(f, &out); /* appends */
    static const char want[] =
        "[{\"startedDateTime\":\"2023-11-14T22:13:20.123Z\",\"time\":15.000,"
        "\"request\":{\"method\":\"GET\",\"url\":\"http://a.test/p?q=1\",\"httpVersion\":"
        "\"HTTP/1.1\",\"cookies\":[],\"headers\":[{\"name\":\"Host\",\"value\":\"a.test\"},"
        "{\"name\":\"Accept\",\"value\":\"*/*\"}],\"queryString\":[{\"name\":\"q\",\"value\":"
        "\"1\"}],\"headersSize\":-1,\"bodySize\":0},"
        "\"response\":{\"status\":200,\"statusText\":\"OK\",\"httpVersion\":\"HTTP/1.1\","
        "\"cookies\":[],\"headers\":[{\"name\":\"Content-Type\",\"value\":\"text/plain\"},"
        "{\"name\":\"Content-Length\",\"value\":\"5\"}],\"content\":{\"size\":5,"
        "\"mimeType\":\"text/plain\",\"text\":\"hello\"},\"redirectURL\":\"\",\"headersSize\":-1,"
        "\"bodySize\":5},\"cache\":{},"
        "\"timings\":{\"blocked\":-1,\"dns\":-1,\"connect\":2.000,\"send\":0,\"wait\":10.345,"
        "\"receive\":2.655,\"ssl\":-1},\"serverIPAddress\":\"93.184.216.34\","
        "\"connection\":\"53122\",\"_flowId\":42,\"_tls\":false,\"_replay\":false,"
        "\"_localReply\":false,\"_exposed\":{\"in_clear\":[{\"kind\":\"url\",\"where\":"
        "\"request line\",\"name\":\"\",\"value\":\"http://a.test/p?q=1\"},{\"kind\":\"body\","
        "\"where\":\"response body\",\"name\":\"text/plain\",\"value\":\"5 bytes\"}],"
        "\"seen_by_lucent\":[],\"flags\":[]},"
        "\"_client\":\"127.0.0.1:53122\",\"_server\":\"93.184.216.34:80\"}";
    CHECK_EQ_STR(out.p, want);
    CHECK(valid_json(out.p + 1, out.len - 1));

    /* lucent's extras when set; IPv6 server address without brackets */
    f->tls = f->replay = f->local_reply = true;
    snprintf(f->cache, sizeof(f->cache), "hit");
    snprintf(f->server, sizeof(f->server), "[2001:db8::1]:443");
    snprintf(f->sni, sizeof(f->sni), "a.test");
    snprintf(f->tls_client, sizeof(f->tls_client), "TLSv1.3 TLS_AES_128_GCM_SHA256");
    flow_set_server_cert(f, "subject: CN = a.test");
    struct jsonp_doc *d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *e = jsonp_root(d);
        CHECK_EQ_STR(str_at(e, "serverIPAddress"), "2001:db8::1");
        CHECK_EQ_STR(str_at(e, "_server"), "[2001:db8::1]:443");
        CHECK(jsonp_true(at(e, "_tls")) && jsonp_true(at(e, "_replay")));
        CHECK(jsonp_true(at(e, "_localReply")));
        CHECK_EQ_STR(str_at(e, "_cache"), "hit");
        CHECK_EQ_STR(str_at(e, "_sni"), "a.test");
        CHECK_EQ_STR(str_at(e, "_tlsClient"), "TLSv1.3 TLS_AES_128_GCM_SHA256");
        CHECK(at(e, "_tlsServer") == NULL);
        CHECK_EQ_STR(str_at(e, "_serverCert"), "subject: CN = a.test");
        CHECK(at(e, "_error") == NULL);
    }
    jsonp_free(d);
    buf_free(&out);
    flow_unref(f);
}

static void test_entry_gzip(void)
{
    static const char text[] = "{\"greeting\":\"hello, world\",\"n\":[1,2,3,4,5,6,7,8,9,10]}"
                               "{\"greeting\":\"hello, world\",\"n\":[1,2,3,4,5,6,7,8,9,10]}";
    unsigned char z[512];
    size_t zlen = gzip(text, strlen(text), z, sizeof(z));
    struct flow *f = mkflow("GET", "https://a.test/data.json");
    struct buf out = BUF_INIT;
    add(&f->resp_headers, "Content-Type", "application/json");
    add(&f->resp_headers, "Content-Encoding", "gzip");
    respond(f, 200, "OK", z, zlen);

    struct jsonp_doc *d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *e = jsonp_root(d);
        CHECK_EQ_STR(str_at(e, "response.content.text"), text);
        CHECK(at(e, "response.content.encoding") == NULL);
        CHECK(at(e, "response.content._contentEncoded") == NULL);
        CHECK_EQ_INT(num_at(e, "response.content.size"), strlen(text));
        CHECK_EQ_INT(num_at(e, "response.content.compression"), strlen(text) - zlen);
        CHECK_EQ_INT(num_at(e, "response.bodySize"), zlen);
        CHECK_EQ_STR(str_at(e, "response.content.mimeType"), "application/json");
        /* the header stays: HAR keeps what was on the wire */
        CHECK_EQ_STR(str_at(e, "response.headers.1.value"), "gzip");
    }
    jsonp_free(d);

    /* a gzip body that was cut by the capture limit cannot be decoded: the raw
     * bytes go out as base64, marked as still encoded and truncated */
    f->resp_body.len = zlen / 2;
    f->resp_body_cut = true;
    d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *e = jsonp_root(d);
        CHECK_EQ_STR(str_at(e, "response.content.encoding"), "base64");
        CHECK(jsonp_true(at(e, "response.content._contentEncoded")));
        CHECK(jsonp_true(at(e, "response.content._truncated")));
        CHECK_EQ_INT(num_at(e, "response.content.size"), zlen); /* what is known */
        CHECK(at(e, "response.content.compression") == NULL);
    }
    jsonp_free(d);

    /* an encoding lucent does not know: same fallback */
    f->resp_body.len = zlen;
    f->resp_body_cut = false;
    hdrs_set(&f->resp_headers, "Content-Encoding", "x-unknown", 9);
    d = entry_doc(f, &out);
    if (d != NULL) {
        CHECK(jsonp_true(at(jsonp_root(d), "response.content._contentEncoded")));
        CHECK_EQ_STR(str_at(jsonp_root(d), "response.content.encoding"), "base64");
    }
    jsonp_free(d);

    /* identity is no coding at all */
    buf_reset(&f->resp_body);
    buf_puts(&f->resp_body, "plain");
    f->resp_size = 5;
    hdrs_set(&f->resp_headers, "Content-Encoding", "identity", 8);
    d = entry_doc(f, &out);
    if (d != NULL)
        CHECK_EQ_STR(str_at(jsonp_root(d), "response.content.text"), "plain");
    jsonp_free(d);
    buf_free(&out);
    flow_unref(f);
}

/* Decodes base64 text the simple way, to check the writer's encoder. */
static size_t unbase64(const char *s, unsigned char *out)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *c = strchr(chars, *s);
        if (c == NULL)
            return (size_t)-1;
        acc = acc << 6 | (uint32_t)(c - chars);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

static void test_entry_binary(void)
{
    unsigned char bin[256], back[300];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)(255 - i);
    struct flow *f = mkflow("POST", "http://a.test/upload");
    struct buf out = BUF_INIT;
    add(&f->req_headers, "Content-Type", "application/octet-stream");
    buf_append(&f->req_body, bin, 100);
    f->req_size = 100;
    add(&f->resp_headers, "Content-Type", "image/png");
    respond(f, 201, "Created", bin, sizeof(bin));

    struct jsonp_doc *d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *e = jsonp_root(d);
        CHECK_EQ_STR(str_at(e, "response.content.encoding"), "base64");
        const char *t = str_at(e, "response.content.text");
        CHECK_EQ_INT(strlen(t), 344); /* 256 bytes: 86 groups of 4 */
        CHECK_EQ_MEM(back, unbase64(t, back), bin, sizeof(bin));
        CHECK_EQ_INT(num_at(e, "response.content.size"), 256);
        CHECK_EQ_STR(str_at(e, "request.postData.mimeType"), "application/octet-stream");
        CHECK_EQ_STR(str_at(e, "request.postData._encoding"), "base64");
        CHECK(at(e, "request.postData.encoding") == NULL);
        t = str_at(e, "request.postData.text");
        CHECK_EQ_MEM(back, unbase64(t, back), bin, 100);
        CHECK_EQ_INT(num_at(e, "request.bodySize"), 100);
    }
    jsonp_free(d);

    /* every length modulo 3, so every padding */
    for (size_t len = 0; len < 8; len++) {
        check_note("base64 of %zu bytes", len);
        buf_reset(&f->resp_body);
        buf_append(&f->resp_body, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", len);
        d = entry_doc(f, &out);
        if (d != NULL && len > 0) {
            const char *t = str_at(jsonp_root(d), "response.content.text");
            CHECK_EQ_INT(strlen(t), (len + 2) / 3 * 4);
            CHECK_EQ_MEM(back, unbase64(t, back), "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", len);
        } else if (d != NULL) {
            CHECK(at(jsonp_root(d), "response.content.text") == NULL); /* nothing captured */
        }
        jsonp_free(d);
    }
    check_note(NULL);

    /* a text POST body, with control characters, stays text */
    buf_reset(&f->req_body);
    buf_puts(&f->req_body, "a=1&b=\xc3\xa9\t\x01");
    d = entry_doc(f, &out);
    if (d != NULL) {
        CHECK_EQ_STR(str_at(jsonp_root(d), "request.postData.text"), "a=1&b=\xc3\xa9\t\x01");
        CHECK(at(jsonp_root(d), "request.postData._encoding") == NULL);
    }
    jsonp_free(d);

    /* the body was not captured: size only, no text, no postData */
    buf_reset(&f->req_body);
    buf_reset(&f->resp_body);
    d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *e = jsonp_root(d);
        CHECK(at(e, "request.postData") == NULL);
        CHECK_EQ_INT(num_at(e, "request.bodySize"), 100);
        CHECK(at(e, "response.content.text") == NULL);
        CHECK_EQ_INT(num_at(e, "response.content.size"), 256);
    }
    jsonp_free(d);
    buf_free(&out);
    flow_unref(f);
}

static void test_entry_cookies(void)
{
    struct flow *f = mkflow("GET", "http://a.test/");
    struct buf out = BUF_INIT;
    add(&f->req_headers, "Cookie", "sid=abc; theme=dark ;empty=;  flag");
    add(&f->req_headers, "cookie", "late=1");
    respond(f, 302, "Found", "", 0);
    add(&f->resp_headers, "Location", "/login?next=%2F");
    add(&f->resp_headers, "Set-Cookie",
        "sid=xyz; Path=/; Domain=.a.test; Expires=Wed, 21 Oct 2015 07:28:00 GMT; HttpOnly; "
        "Secure; SameSite=Lax");
    add(&f->resp_headers, "set-cookie",
        " pref = a=b ; path=/app; expires=Sunday, 06-Nov-94 "
        "08:49:37 GMT");
    add(&f->resp_headers, "Set-Cookie", "asc=1; Expires=Sun Nov  6 08:49:37 1994; secure");
    add(&f->resp_headers, "Set-Cookie", "bad=1; Expires=someday");
    add(&f->resp_headers, "Set-Cookie", "");

    struct jsonp_doc *d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *e = jsonp_root(d);
        const struct jsonp_val *rc = at(e, "request.cookies");
        CHECK(rc != NULL && rc->n == 5);
        CHECK_EQ_STR(str_at(rc, "0.name"), "sid");
        CHECK_EQ_STR(str_at(rc, "0.value"), "abc");
        CHECK_EQ_STR(str_at(rc, "1.name"), "theme");
        CHECK_EQ_STR(str_at(rc, "1.value"), "dark");
        CHECK_EQ_STR(str_at(rc, "2.name"), "empty");
        CHECK_EQ_STR(str_at(rc, "2.value"), "");
        CHECK_EQ_STR(str_at(rc, "3.name"), "");
        CHECK_EQ_STR(str_at(rc, "3.value"), "flag");
        CHECK_EQ_STR(str_at(rc, "4.name"), "late");

        const struct jsonp_val *sc = at(e, "response.cookies");
        CHECK(sc != NULL && sc->n == 5);
        CHECK_EQ_STR(str_at(sc, "0.name"), "sid");
        CHECK_EQ_STR(str_at(sc, "0.value"), "xyz");
        CHECK_EQ_STR(str_at(sc, "0.path"), "/");
        CHECK_EQ_STR(str_at(sc, "0.domain"), ".a.test");
        CHECK_EQ_STR(str_at(sc, "0.expires"), "2015-10-21T07:28:00.000Z");
        CHECK(jsonp_true(at(sc, "0.httpOnly")) && jsonp_true(at(sc, "0.secure")));
        CHECK_EQ_STR(str_at(sc, "1.name"), "pref");
        CHECK_EQ_STR(str_at(sc, "1.value"), "a=b");
        CHECK_EQ_STR(str_at(sc, "1.path"), "/app");
        CHECK_EQ_STR(str_at(sc, "1.expires"), "1994-11-06T08:49:37.000Z");
        CHECK(!jsonp_true(at(sc, "1.httpOnly")) && !jsonp_true(at(sc, "1.secure")));
        CHECK_EQ_INT(at(sc, "1.secure")->type, JSONP_FALSE);
        CHECK(at(sc, "1.domain") == NULL);
        CHECK_EQ_STR(str_at(sc, "2.expires"), "1994-11-06T08:49:37.000Z");
        CHECK(jsonp_true(at(sc, "2.secure")));
        CHECK_EQ_STR(str_at(sc, "3.expires"), "someday"); /* not a date: as written */
        CHECK_EQ_STR(str_at(sc, "4.name"), "");
        CHECK_EQ_STR(str_at(e, "response.redirectURL"), "/login?next=%2F");
        CHECK_EQ_INT(num_at(e, "response.status"), 302);
    }
    jsonp_free(d);
    buf_free(&out);
    flow_unref(f);
}

static void test_entry_query(void)
{
    struct flow *f = mkflow("GET", "http://a.test/s?a=1&b=%20x+y&c&&d=%zz%4&e=%E2%82%AC&%ff=%00"
                                   "&=v&f=a=b#frag&g=2");
    struct buf out = BUF_INIT;
    respond(f, 200, "OK", "", 0);
    struct jsonp_doc *d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *q = at(jsonp_root(d), "request.queryString");
        static const struct {
            const char *name, *value;
            size_t vlen;
        } want[] = {
            {"a", "1", 1},     {"b", " x y", 4},         {"c", "", 0},
            {"d", "%zz%4", 5}, {"e", "\xe2\x82\xac", 3}, {"\xc3\xbf", "\0", 1},
            {"", "v", 1},      {"f", "a=b", 3},
        };
        CHECK(q != NULL && q->n == LC_ARRAY_LEN(want));
        for (size_t i = 0; q != NULL && i < q->n && i < LC_ARRAY_LEN(want); i++) {
            check_note("query pair %zu", i);
            size_t vl = 0;
            const char *v = jsonp_str(jsonp_get(&q->items[i], "value"), &vl);
            CHECK_EQ_STR(jsonp_str(jsonp_get(&q->items[i], "name"), NULL), want[i].name);
            CHECK_EQ_MEM(v, vl, want[i].value, want[i].vlen);
        }
        check_note(NULL);
    }
    jsonp_free(d);

    /* no query, and CONNECT's authority form */
    flow_set_url(f, "http://a.test/?", 15);
    d = entry_doc(f, &out);
    if (d != NULL)
        CHECK_EQ_INT(at(jsonp_root(d), "request.queryString")->n, 0);
    jsonp_free(d);
    snprintf(f->method, sizeof(f->method), "CONNECT");
    f->connect = true;
    flow_set_url(f, "a.test:443", 10);
    d = entry_doc(f, &out);
    if (d != NULL) {
        CHECK_EQ_STR(str_at(jsonp_root(d), "request.url"), "a.test:443");
        CHECK_EQ_STR(str_at(jsonp_root(d), "request.method"), "CONNECT");
        CHECK_EQ_INT(at(jsonp_root(d), "request.queryString")->n, 0);
    }
    jsonp_free(d);
    buf_free(&out);
    flow_unref(f);
}

static void test_entry_failed(void)
{
    struct flow *f = mkflow("GET", "https://down.test/");
    struct buf out = BUF_INIT;
    f->t_connected = f->t_resp_start = 0;
    f->t_end = f->t_start + 3001;
    f->server[0] = '\0';
    flow_fail(f, "upstream: connection refused");

    struct jsonp_doc *d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *e = jsonp_root(d);
        CHECK_EQ_INT(num_at(e, "response.status"), 0);
        CHECK_EQ_STR(str_at(e, "response.statusText"), "");
        CHECK_EQ_STR(str_at(e, "response.httpVersion"), "");
        CHECK_EQ_INT(num_at(e, "response.content.size"), 0);
        CHECK_EQ_STR(str_at(e, "response.content.mimeType"), "");
        CHECK_EQ_INT(num_at(e, "response.bodySize"), -1);
        CHECK_EQ_INT(at(e, "response.headers")->n, 0);
        CHECK_EQ_STR(str_at(e, "_error"), "upstream: connection refused");
        CHECK(at(e, "serverIPAddress") == NULL);
        CHECK_EQ_INT(num_at(e, "timings.connect"), -1);
        CHECK(num_at(e, "timings.wait") == 3.001);
        CHECK(num_at(e, "timings.receive") == 0);
        CHECK(num_at(e, "time") == 3.001);
    }
    jsonp_free(d);

    /* nothing reached at all, no client address, no method yet */
    f->t_end = 0;
    f->client[0] = '\0';
    f->method[0] = '\0';
    f->req_major = f->req_minor = 0;
    free(f->url);
    f->url = NULL;
    d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *e = jsonp_root(d);
        CHECK(num_at(e, "time") == 0);
        CHECK_EQ_STR(str_at(e, "connection"), "");
        CHECK_EQ_STR(str_at(e, "request.url"), "");
        CHECK_EQ_STR(str_at(e, "request.httpVersion"), "");
    }
    jsonp_free(d);

    /* a local reply (lucent's 502) is a response, with the error kept */
    respond(f, 502, "Bad Gateway", "refused", 7);
    f->local_reply = true;
    f->t_resp_start = f->t_start + 100;
    f->t_end = f->t_start + 150;
    d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *e = jsonp_root(d);
        CHECK_EQ_INT(num_at(e, "response.status"), 502);
        CHECK_EQ_STR(str_at(e, "response.content.text"), "refused");
        CHECK_EQ_STR(str_at(e, "_error"), "upstream: connection refused");
        CHECK(num_at(e, "timings.wait") == 0.1 && num_at(e, "timings.receive") == 0.05);
    }
    jsonp_free(d);
    buf_free(&out);
    flow_unref(f);
}

static void test_entry_timings(void)
{
    /* phases always add up to time, whatever was reached; odd clocks clamp */
    static const struct {
        int64_t connected, resp_start, end; /* offsets from t_start; -1 = not reached */
    } rows[] = {
        {2000, 12345, 15000}, {-1, 500, 900},  {100, -1, 700}, {-1, -1, 50},
        {-1, -1, -1},         {300, 200, 100}, {0, 0, 0},      {7, 7, 7},
    };
    struct buf out = BUF_INIT;
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        check_note("timings row %zu", r);
        struct flow *f = mkflow("GET", "http://a.test/");
        f->t_connected = rows[r].connected < 0 ? 0 : f->t_start + rows[r].connected;
        f->t_resp_start = rows[r].resp_start < 0 ? 0 : f->t_start + rows[r].resp_start;
        f->t_end = rows[r].end < 0 ? 0 : f->t_start + rows[r].end;
        if (rows[r].resp_start >= 0)
            respond(f, 204, "No Content", "", 0);
        struct jsonp_doc *d = entry_doc(f, &out);
        if (d != NULL) {
            const struct jsonp_val *e = jsonp_root(d);
            double c = num_at(e, "timings.connect"), w = num_at(e, "timings.wait");
            double rc = num_at(e, "timings.receive"), t = num_at(e, "time");
            CHECK(w >= 0 && rc >= 0 && t >= 0);
            CHECK(c == -1 || c >= 0);
            CHECK((int64_t)((c > 0 ? c : 0) * 1000 + w * 1000 + rc * 1000 + 0.5) ==
                  (int64_t)(t * 1000 + 0.5));
            CHECK_EQ_INT(num_at(e, "timings.blocked"), -1);
            CHECK_EQ_INT(num_at(e, "timings.send"), 0);
        }
        jsonp_free(d);
        flow_unref(f);
    }
    check_note(NULL);
    buf_free(&out);
}

static void test_entry_escaping(void)
{
    struct flow *f = mkflow("G\"ET", "http://a.test/\"q\"\\\x1b[31m\x7f\xff?x=\x01\xfe");
    struct buf out = BUF_INIT;
    ADD_LIT(&f->req_headers, "X-\"Odd\"", "a\"b\\c\x01\n\xff\xc3\xa9\xed\xa0\x80");
    ADD_LIT(&f->req_headers, "X-Nul", "a\0b");
    ADD_LIT(&f->req_headers, "Cookie", "k\xff=\x80v; \x01=\"q\"");
    respond(f, 200, "O\tK\xff", "", 0);
    ADD_LIT(&f->resp_headers, "Set-Cookie", "n\xc0=v\x1f; Path=/\xfe; Expires=\x01\xff");
    ADD_LIT(&f->resp_headers, "Location", "\xf0\x28\x8c\x28");
    ADD_LIT(&f->resp_headers, "Content-Type", "text/\"x\"\xff");
    buf_append(&f->resp_body, "\xe2\x82", 2); /* cut UTF-8: base64 */
    flow_fail(f, "bad \"reply\"\r\n\xff"
                 " from upstream");
    snprintf(f->cache, sizeof(f->cache), "\x01\xff");
    snprintf(f->client, sizeof(f->client), "\xff:\xfe");

    struct jsonp_doc *d = entry_doc(f, &out);
    if (d != NULL) {
        const struct jsonp_val *e = jsonp_root(d);
        /* bytes that are not UTF-8 read back as their Latin-1 characters */
        CHECK_EQ_STR(str_at(e, "request.headers.0.value"),
                     "a\"b\\c\x01\n\xc3\xbf\xc3\xa9\xc3\xad\xc2\xa0\xc2\x80");
        size_t vl = 0;
        const char *v = jsonp_str(at(e, "request.headers.1.value"), &vl);
        CHECK_EQ_MEM(v, vl, "a\0b", 3);
        CHECK_EQ_STR(str_at(e, "request.method"), "G\"ET");
        CHECK_EQ_STR(str_at(e, "response.statusText"), "O\tK\xc3\xbf");
        CHECK_EQ_STR(str_at(e, "_error"), "bad \"reply\"\r\n\xc3\xbf"
                                          " from upstream");
        CHECK_EQ_STR(str_at(e, "response.content.encoding"), "base64");
        CHECK_EQ_STR(str_at(e, "response.content.text"), "4oI=");
    }
    /* every bytes-to-JSON path under a byte sweep: all 256 values in every
     * field that takes message bytes */
    jsonp_free(d);
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    hdrs_add(&f->req_headers, all, 256, all, 256);
    hdrs_add(&f->req_headers, "Cookie", 6, all, 256);
    hdrs_add(&f->resp_headers, "Set-Cookie", 10, all, 256);
    flow_set_url(f, all + 1, 255);
    flow_set_reason(f, all, 256);
    d = entry_doc(f, &out);
    jsonp_free(d);
    buf_free(&out);
    flow_unref(f);
}

/* ---- the writer -------------------------------------------------------------- */

static struct flow *sample_flow(int i)
{
    char url[64];
    snprintf(url, sizeof(url), "http://a.test/item/%d?x=%d", i, i * 7);
    struct flow *f = mkflow(i % 2 ? "POST" : "GET", url);
    add(&f->req_headers, "Host", "a.test");
    if (i % 2) {
        buf_puts(&f->req_body, "k=v");
        f->req_size = 3;
    }
    add(&f->resp_headers, "Content-Type", "text/plain");
    char body[32];
    int n = snprintf(body, sizeof(body), "body %d", i);
    respond(f, 200 + i, "Fine", body, (size_t)n);
    return f;
}

static void test_writer(void)
{
    char path[300], err[300];
    tmp_path(path, sizeof(path), "stream.har");
    struct har_writer *w = har_open(path, err, sizeof(err));
    if (!CHECK(w != NULL))
        return;
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

    for (int i = 0; i <= 6; i++) {
        check_note("after %d entries", i);
        size_t len = 0;
        char *text = slurp(path, &len);
        CHECK(text != NULL && valid_json(text, len));
        struct jsonp_doc *d = text ? jsonp_parse(text, len, err, sizeof(err)) : NULL;
        if (CHECK(d != NULL)) {
            const struct jsonp_val *log = at(jsonp_root(d), "log");
            CHECK_EQ_STR(str_at(log, "version"), "1.2");
            CHECK_EQ_STR(str_at(log, "creator.name"), "lucent");
            CHECK_EQ_STR(str_at(log, "creator.version"), LUCENT_VERSION);
            CHECK(at(log, "pages") != NULL && at(log, "pages")->type == JSONP_ARRAY);
            CHECK_EQ_INT(at(log, "entries")->n, i);
            if (i > 0)
                CHECK_EQ_INT(num_at(log, "entries.0.response.status"), 200);
            if (i > 1)
                CHECK_EQ_STR(str_at(log, "entries.1.request.postData.text"), "k=v");
        }
        jsonp_free(d);
        free(text);

        /* and the reader takes it as it is being written */
        struct flow **flows = NULL;
        ssize_t n = har_read_file(path, &flows, err, sizeof(err));
        CHECK_EQ_INT(n, i);
        if (n > 0)
            CHECK_EQ_INT(flows[n - 1]->status, 200 + i - 1);
        free_flows(flows, n);

        if (i < 6) {
            struct flow *f = sample_flow(i);
            CHECK_EQ_INT(har_add(w, f), 0);
            flow_unref(f);
        }
    }
    check_note(NULL);
    CHECK_EQ_INT(har_close(w), 0);
    CHECK_EQ_INT(har_close(NULL), 0);
    size_t len = 0;
    char *text = slurp(path, &len);
    CHECK(text != NULL && valid_json(text, len));
    CHECK(text != NULL && len > 5 && strcmp(text + len - 5, "\n]}}\n") == 0);
    free(text);
    unlink(path);

    /* an empty writer is a valid, empty HAR */
    w = har_open(path, err, sizeof(err));
    CHECK(w != NULL && har_close(w) == 0);
    text = slurp(path, &len);
    CHECK(text != NULL && valid_json(text, len) && strstr(text, "\"entries\":[\n\n]}}") != NULL);
    free(text);
    unlink(path);

    /* failures say where */
    char bad[300];
    tmp_path(bad, sizeof(bad), "no/such/dir.har");
    CHECK(har_open(bad, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "dir.har: No such file or directory") != NULL);
    if (access("/dev/full", W_OK) == 0) {
        /* the head cannot be flushed to a full disk */
        CHECK(har_open("/dev/full", err, sizeof(err)) == NULL);
        CHECK(strstr(err, "/dev/full: No space left on device") != NULL);
    }
}

/* ---- round trip -------------------------------------------------------------- */

static void check_hdrs_equal(const struct hdrs *a, const struct hdrs *b)
{
    CHECK_EQ_INT(a->n, b->n);
    for (size_t i = 0; i < a->n && i < b->n; i++) {
        size_t al, bl;
        const char *an = hdrs_name(a, i, &al), *bn = hdrs_name(b, i, &bl);
        CHECK_EQ_MEM(an, al, bn, bl);
        an = hdrs_value(a, i, &al);
        bn = hdrs_value(b, i, &bl);
        CHECK_EQ_MEM(an, al, bn, bl);
    }
}

static void test_round_trip(void)
{
    static const char text[] = "<html>compressed \xc3\xa9t\xc3\xa9 text, compressed text</html>";
    unsigned char z[512], bin[300];
    size_t zlen = gzip(text, strlen(text), z, sizeof(z));
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 37);

    struct flow *in[5];
    /* 0: plain GET over TLS with duplicate headers in odd case */
    in[0] = mkflow("GET", "https://a.test/p?q=1");
    in[0]->tls = true;
    snprintf(in[0]->sni, sizeof(in[0]->sni), "a.test");
    snprintf(in[0]->tls_server, sizeof(in[0]->tls_server), "TLSv1.3 TLS_AES_256_GCM_SHA384");
    add(&in[0]->req_headers, "host", "a.test");
    add(&in[0]->req_headers, "X-Dup", "1");
    add(&in[0]->req_headers, "x-dup", "2");
    add(&in[0]->resp_headers, "Content-Type", "text/plain; charset=utf-8");
    respond(in[0], 200, "OK", "hi\n", 3);
    snprintf(in[0]->cache, sizeof(in[0]->cache), "fresh");
    /* 1: gzip response */
    in[1] = mkflow("GET", "http://a.test/gz");
    in[1]->resp_minor = 0;
    add(&in[1]->resp_headers, "Content-Type", "text/html");
    add(&in[1]->resp_headers, "Content-Encoding", "gzip");
    char cl[16];
    snprintf(cl, sizeof(cl), "%zu", zlen);
    add(&in[1]->resp_headers, "Content-Length", cl);
    add(&in[1]->resp_headers, "Vary", "Accept-Encoding");
    respond(in[1], 200, "OK", z, zlen);
    /* 2: binary POST, binary response, replayed */
    in[2] = mkflow("POST", "http://a.test/up");
    in[2]->replay = true;
    add(&in[2]->req_headers, "Content-Type", "application/octet-stream");
    buf_append(&in[2]->req_body, bin, 200);
    in[2]->req_size = 200;
    respond(in[2], 201, "Created", bin, sizeof(bin));
    in[2]->t_connected = 0;
    /* 3: failed */
    in[3] = mkflow("GET", "http://down.test/");
    in[3]->t_connected = in[3]->t_resp_start = 0;
    in[3]->server[0] = '\0';
    flow_fail(in[3], "connect: connection refused");
    /* 4: a CONNECT tunnel, with a cut body capture */
    in[4] = mkflow("CONNECT", "a.test:443");
    in[4]->connect = true;
    in[4]->req_size = 5000;
    respond(in[4], 200, "Connection Established", "", 0);
    in[4]->resp_size = 70000;
    in[4]->local_reply = true;
    buf_puts(&in[4]->resp_body, "partial");
    in[4]->resp_body_cut = true;

    char path[300], err[300];
    tmp_path(path, sizeof(path), "trip.har");
    CHECK_EQ_INT(har_write_file(path, in, LC_ARRAY_LEN(in), err, sizeof(err)), 0);
    size_t len = 0;
    char *doc = slurp(path, &len);
    CHECK(doc != NULL && valid_json(doc, len));
    free(doc);

    struct flow **out = NULL;
    ssize_t n = har_read_file(path, &out, err, sizeof(err));
    CHECK_EQ_INT(n, LC_ARRAY_LEN(in));
    for (ssize_t i = 0; i < n && i < (ssize_t)LC_ARRAY_LEN(in); i++) {
        const struct flow *a = in[i], *b = out[i];
        check_note("round trip flow %zd", i);
        CHECK(b->id != a->id && b->id > 0); /* fresh ids */
        CHECK_EQ_INT(b->state, FLOW_DONE);
        CHECK_EQ_STR(b->method, a->method);
        CHECK_EQ_STR(b->url, a->url);
        CHECK_EQ_INT(b->connect, a->connect);
        CHECK_EQ_INT(b->status, a->status);
        CHECK_EQ_STR(b->reason, a->reason);
        CHECK_EQ_INT(b->req_major, a->req_major);
        CHECK_EQ_INT(b->req_minor, a->req_minor);
        CHECK_EQ_INT(b->resp_major, a->status ? a->resp_major : 0);
        CHECK_EQ_INT(b->resp_minor, a->status ? a->resp_minor : 0);
        CHECK_EQ_INT(b->tls, a->tls);
        CHECK_EQ_INT(b->replay, a->replay);
        CHECK_EQ_INT(b->local_reply, a->local_reply);
        CHECK_EQ_STR(b->cache, a->cache);
        CHECK_EQ_STR(b->client, a->client);
        CHECK_EQ_STR(b->server, a->server);
        CHECK_EQ_STR(b->sni, a->sni);
        CHECK_EQ_STR(b->tls_server, a->tls_server);
        CHECK_EQ_STR(b->error, a->error);
        check_hdrs_equal(&b->req_headers, &a->req_headers);
        CHECK_EQ_MEM(b->req_body.p, b->req_body.len, a->req_body.p, a->req_body.len);
        CHECK_EQ_INT(b->req_size, a->req_size);
        CHECK_EQ_INT(b->req_body_cut, a->req_body_cut);
        CHECK_EQ_INT(b->resp_body_cut, a->resp_body_cut);
        /* the wall clock to the millisecond, the phases to the microsecond */
        CHECK_EQ_INT(b->wall_start, a->wall_start / 1000 * 1000);
        CHECK_EQ_INT(b->t_end - b->t_start, a->t_end - a->t_start);
        CHECK_EQ_INT(b->t_connected ? b->t_connected - b->t_start : -1,
                     a->t_connected ? a->t_connected - a->t_start : -1);
        CHECK_EQ_INT(b->t_resp_start ? b->t_resp_start - b->t_start : -1,
                     a->t_resp_start ? a->t_resp_start - a->t_start : -1);
        if (i != 1) {
            check_hdrs_equal(&b->resp_headers, &a->resp_headers);
            CHECK_EQ_MEM(b->resp_body.p, b->resp_body.len, a->resp_body.p, a->resp_body.len);
            CHECK_EQ_INT(b->resp_size, a->resp_size);
        }
    }
    check_note(NULL);
    if (n == (ssize_t)LC_ARRAY_LEN(in)) {
        /* the gzip body comes back decoded, and the headers say so */
        const struct flow *b = out[1];
        CHECK_EQ_MEM(b->resp_body.p, b->resp_body.len, text, strlen(text));
        CHECK_EQ_INT(b->resp_size, strlen(text));
        size_t vl = 0;
        CHECK(hdrs_get(&b->resp_headers, "Content-Encoding", &vl) == NULL);
        const char *v = hdrs_get(&b->resp_headers, "Content-Length", &vl);
        char want[16];
        snprintf(want, sizeof(want), "%zu", strlen(text));
        CHECK(v != NULL && vl == strlen(want) && memcmp(v, want, vl) == 0);
        CHECK_EQ_INT(b->resp_headers.n, 3);
        CHECK(hdrs_name_is(&b->resp_headers, 0, "Content-Type"));
        CHECK(hdrs_name_is(&b->resp_headers, 1, "Content-Length"));
        CHECK(hdrs_name_is(&b->resp_headers, 2, "Vary"));

        /* written again, it is the same document apart from ids and the
         * decoded body */
        struct buf e1 = BUF_INIT, e2 = BUF_INIT;
        out[0]->id = in[0]->id;
        out[0]->wall_start = in[0]->wall_start;
        out[0]->t_start = in[0]->t_start;
        out[0]->t_connected = in[0]->t_connected;
        out[0]->t_resp_start = in[0]->t_resp_start;
        out[0]->t_end = in[0]->t_end;
        har_entry(in[0], &e1);
        har_entry(out[0], &e2);
        CHECK_EQ_STR(e2.p, e1.p);
        buf_free(&e1);
        buf_free(&e2);
    }
    free_flows(out, n);
    for (size_t i = 0; i < LC_ARRAY_LEN(in); i++)
        flow_unref(in[i]);
    unlink(path);

    /* an empty list */
    CHECK_EQ_INT(har_write_file(path, NULL, 0, err, sizeof(err)), 0);
    out = (struct flow **)&out; /* must be reset */
    CHECK_EQ_INT(har_read_file(path, &out, err, sizeof(err)), 0);
    CHECK(out == NULL);
    unlink(path);
    char bad[300];
    tmp_path(bad, sizeof(bad), "missing/x.har");
    CHECK_EQ_INT(har_write_file(bad, NULL, 0, err, sizeof(err)), -1);
    CHECK(strstr(err, "x.har: No such file or directory") != NULL);
}

/* ---- browser files ----------------------------------------------------------- */

/* Trimmed from the shape of a Chrome DevTools export ("Save all as HAR with
 * content"): HTTP/2 pseudo-headers, ALPN versions, fractional timings,
 * Chrome's own underscore fields, a gzip'd page whose text is decoded, a
 * base64 image and a request that failed. */
static const char chrome_har[] =
    "{\n"
    "  \"log\": {\n"
    "    \"version\": \"1.2\",\n"
    "    \"creator\": {\"name\": \"WebInspector\", \"version\": \"537.36\"},\n"
    "    \"pages\": [{\"startedDateTime\": \"2024-03-05T10:15:30.250Z\", \"id\": \"page_1\","
    " \"title\": \"https://www.example.test/\", \"pageTimings\": {\"onContentLoad\": 312.5,"
    " \"onLoad\": 540.1}}],\n"
    "    \"entries\": [\n"
    "      {\n"
    "        \"_initiator\": {\"type\": \"other\"},\n"
    "        \"_priority\": \"VeryHigh\",\n"
    "        \"_resourceType\": \"document\",\n"
    "        \"cache\": {},\n"
    "        \"connection\": \"443\",\n"
    "        \"pageref\": \"page_1\",\n"
    "        \"request\": {\n"
    "          \"method\": \"GET\",\n"
    "          \"url\": \"https://www.example.test/?lang=fr&q=caf%C3%A9\",\n"
    "          \"httpVersion\": \"http/2.0\",\n"
    "          \"headers\": [\n"
    "            {\"name\": \":authority\", \"value\": \"www.example.test\"},\n"
    "            {\"name\": \":method\", \"value\": \"GET\"},\n"
    "            {\"name\": \":path\", \"value\": \"/?lang=fr&q=caf%C3%A9\"},\n"
    "            {\"name\": \":scheme\", \"value\": \"https\"},\n"
    "            {\"name\": \"accept\", \"value\": \"text/html\"},\n"
    "            {\"name\": \"accept-encoding\", \"value\": \"gzip, deflate, br\"},\n"
    "            {\"name\": \"cookie\", \"value\": \"a=1; b=2\"}\n"
    "          ],\n"
    "          \"queryString\": [{\"name\": \"lang\", \"value\": \"fr\"},"
    " {\"name\": \"q\", \"value\": \"caf\\u00e9\"}],\n"
    "          \"cookies\": [{\"name\": \"a\", \"value\": \"1\", \"path\": \"/\", \"domain\":"
    " \".example.test\", \"expires\": \"2025-03-05T10:15:30.000Z\", \"httpOnly\": false,"
    " \"secure\": true}],\n"
    "          \"headersSize\": -1,\n"
    "          \"bodySize\": 0\n"
    "        },\n"
    "        \"response\": {\n"
    "          \"status\": 200,\n"
    "          \"statusText\": \"\",\n"
    "          \"httpVersion\": \"http/2.0\",\n"
    "          \"headers\": [\n"
    "            {\"name\": \"content-encoding\", \"value\": \"gzip\"},\n"
    "            {\"name\": \"content-length\", \"value\": \"1270\"},\n"
    "            {\"name\": \"content-type\", \"value\": \"text/html; charset=UTF-8\"},\n"
    "            {\"name\": \"date\", \"value\": \"Tue, 05 Mar 2024 10:15:30 GMT\"}\n"
    "          ],\n"
    "          \"cookies\": [],\n"
    "          \"content\": {\"size\": 27, \"mimeType\": \"text/html\", \"compression\": -1243,"
    " \"text\": \"<!doctype html><p>caf\\u00e9</p>\"},\n"
    "          \"redirectURL\": \"\",\n"
    "          \"headersSize\": -1,\n"
    "          \"bodySize\": 1270,\n"
    "          \"_transferSize\": 1520,\n"
    "          \"_error\": null\n"
    "        },\n"
    "        \"serverIPAddress\": \"[2606:2800:220:1:248:1893:25c8:1946]\",\n"
    "        \"startedDateTime\": \"2024-03-05T10:15:30.250Z\",\n"
    "        \"time\": 212.34500000000003,\n"
    "        \"timings\": {\"blocked\": 3.118, \"dns\": 10.5, \"ssl\": 22.25, \"connect\": 40.75,"
    " \"send\": 0.25, \"wait\": 150.0, \"receive\": 7.727000000000032,"
    " \"_blocked_queueing\": 2.118}\n"
    "      },\n"
    "      {\n"
    "        \"_resourceType\": \"image\",\n"
    "        \"cache\": {},\n"
    "        \"connection\": \"443\",\n"
    "        \"request\": {\"method\": \"GET\", \"url\": \"https://www.example.test/dot.gif\","
    " \"httpVersion\": \"h3\", \"headers\": [], \"queryString\": [], \"cookies\": [],"
    " \"headersSize\": -1, \"bodySize\": 0},\n"
    "        \"response\": {\"status\": 200, \"statusText\": \"OK\", \"httpVersion\": \"h3\","
    " \"headers\": [{\"name\": \"Content-Type\", \"value\": \"image/gif\"}], \"cookies\": [],"
    " \"content\": {\"size\": 43, \"mimeType\": \"image/gif\", \"text\":"
    " \"R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==\", \"encoding\":"
    " \"base64\"}, \"redirectURL\": \"\", \"headersSize\": -1, \"bodySize\": -1,"
    " \"_transferSize\": 0},\n"
    "        \"serverIPAddress\": \"\",\n"
    "        \"startedDateTime\": \"2024-03-05T10:15:30.600Z\",\n"
    "        \"time\": 0.514,\n"
    "        \"timings\": {\"blocked\": -1, \"dns\": -1, \"ssl\": -1, \"connect\": -1,"
    " \"send\": 0, \"wait\": 0.3, \"receive\": 0.214}\n"
    "      },\n"
    "      {\n"
    "        \"request\": {\"method\": \"POST\", \"url\": \"https://api.example.test/v1\","
    " \"httpVersion\": \"\", \"headers\": [{\"name\": \"Content-Type\", \"value\":"
    " \"application/json\"}], \"queryString\": [], \"cookies\": [], \"headersSize\": -1,"
    " \"bodySize\": 11, \"postData\": {\"mimeType\": \"application/json\", \"text\":"
    " \"{\\\"a\\\":[1,2]}\"}},\n"
    "        \"response\": {\"status\": 0, \"statusText\": \"\", \"httpVersion\": \"\","
    " \"headers\": [], \"cookies\": [], \"content\": {\"size\": 0, \"mimeType\":"
    " \"x-unknown\"}, \"redirectURL\": \"\", \"headersSize\": -1, \"bodySize\": -1,"
    " \"_transferSize\": 0, \"_error\": \"net::ERR_NAME_NOT_RESOLVED\"},\n"
    "        \"_error\": \"net::ERR_NAME_NOT_RESOLVED\",\n"
    "        \"cache\": {},\n"
    "        \"startedDateTime\": \"2024-03-05T10:15:31.000Z\",\n"
    "        \"time\": 4.2,\n"
    "        \"timings\": {\"blocked\": 4.2, \"dns\": -1, \"ssl\": -1, \"connect\": -1,"
    " \"send\": 0, \"wait\": 0, \"receive\": 0}\n"
    "      }\n"
    "    ]\n"
    "  }\n"
    "}\n";

/* Firefox's export: offsets in the date, "HTTP/2", a BOM, optional parts left
 * out (no timings at all, no response content). */
static const char firefox_har[] =
    "\xef\xbb\xbf{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"Firefox\",\"version\":"
    "\"124.0\"},\"browser\":{\"name\":\"Firefox\",\"version\":\"124.0\"},\"pages\":[],"
    "\"entries\":[{\"startedDateTime\":\"2024-03-05T11:15:30.250+01:00\",\"time\":12,"
    "\"request\":{\"bodySize\":0,\"method\":\"GET\",\"url\":\"http://plain.test/\","
    "\"httpVersion\":\"HTTP/1.1\",\"headers\":[{\"name\":\"Host\",\"value\":\"plain.test\"}],"
    "\"cookies\":[],\"queryString\":[],\"headersSize\":61},"
    "\"response\":{\"status\":301,\"statusText\":\"Moved Permanently\",\"httpVersion\":"
    "\"HTTP/2\",\"headers\":[{\"name\":\"Location\",\"value\":\"https://plain.test/\"}],"
    "\"cookies\":[],\"redirectURL\":\"https://plain.test/\",\"headersSize\":120,"
    "\"bodySize\":0},\"cache\":{}},"
    "{\"startedDateTime\":\"2024-03-05T05:00:00.5-05:00\",\"request\":{\"method\":\"OPTIONS\","
    "\"url\":\"https://x.test/\"}}]}}";

static void test_read_browsers(void)
{
    char path[300], err[300];
    struct flow **flows = NULL;
    tmp_path(path, sizeof(path), "chrome.har");
    write_text(path, chrome_har, strlen(chrome_har));
    ssize_t n = har_read_file(path, &flows, err, sizeof(err));
    if (!CHECK_EQ_INT(n, 3))
        fprintf(stderr, "    err: %s\n", err);
    if (n == 3) {
        struct flow *f = flows[0];
        CHECK_EQ_STR(f->method, "GET");
        CHECK_EQ_STR(f->url, "https://www.example.test/?lang=fr&q=caf%C3%A9");
        CHECK(f->tls && !f->connect);
        CHECK_EQ_INT(f->req_major, 2);
        CHECK_EQ_INT(f->req_minor, 0);
        CHECK_EQ_INT(f->resp_major, 2);
        CHECK_EQ_INT(f->req_headers.n, 3); /* pseudo-headers dropped */
        CHECK(hdrs_name_is(&f->req_headers, 0, "accept"));
        CHECK(hdrs_name_is(&f->req_headers, 2, "cookie"));
        CHECK_EQ_INT(f->status, 200);
        CHECK_EQ_STR(f->reason, "");
        CHECK_EQ_MEM(f->resp_body.p, f->resp_body.len, "<!doctype html><p>caf\xc3\xa9</p>", 27);
        CHECK_EQ_INT(f->resp_size, 27);
        size_t vl = 0;
        CHECK(hdrs_get(&f->resp_headers, "Content-Encoding", &vl) == NULL); /* text is decoded */
        const char *cl = hdrs_get(&f->resp_headers, "content-length", &vl);
        CHECK(cl != NULL && vl == 2 && memcmp(cl, "27", 2) == 0);
        CHECK_EQ_INT(f->resp_headers.n, 3);
        CHECK_EQ_STR(f->server, "[2606:2800:220:1:248:1893:25c8:1946]");
        CHECK(f->error == NULL); /* "_error": null */
        /* 2024-03-05T10:15:30.250Z */
        CHECK_EQ_INT(f->wall_start, 1709633730250000LL);
        CHECK_EQ_INT(f->t_connected - f->t_start, 3118 + 10500 + 40750);
        CHECK_EQ_INT(f->t_resp_start - f->t_start, 3118 + 10500 + 40750 + 250 + 150000);
        CHECK_EQ_INT(f->t_end - f->t_start, 212345);

        f = flows[1];
        CHECK_EQ_INT(f->req_major, 3);
        CHECK_EQ_INT(f->resp_body.len, 43);
        CHECK(f->resp_body.len == 43 && memcmp(f->resp_body.p, "GIF89a", 6) == 0);
        CHECK_EQ_INT(f->resp_size, 43);
        CHECK_EQ_INT(f->t_connected, 0); /* connect -1: a reused connection */
        CHECK_EQ_INT(f->t_resp_start - f->t_start, 300);
        CHECK_EQ_INT(f->t_end - f->t_start, 514);
        CHECK_EQ_STR(f->server, "");

        f = flows[2];
        CHECK_EQ_STR(f->method, "POST");
        CHECK_EQ_INT(f->status, 0);
        CHECK(f->reason == NULL);
        CHECK_EQ_STR(f->error, "net::ERR_NAME_NOT_RESOLVED");
        CHECK_EQ_MEM(f->req_body.p, f->req_body.len, "{\"a\":[1,2]}", 11);
        CHECK_EQ_INT(f->req_size, 11);
        CHECK_EQ_INT(f->t_resp_start, 0);
        CHECK_EQ_INT(f->t_end - f->t_start, 4200);
        CHECK_EQ_INT(f->req_major, 0);
        CHECK(flows[0]->id != flows[1]->id && flows[1]->id != flows[2]->id);
    }
    free_flows(flows, n);

    /* and lucent writes them out again as valid HAR */
    n = har_read_file(path, &flows, err, sizeof(err));
    char again[300];
    tmp_path(again, sizeof(again), "again.har");
    CHECK_EQ_INT(har_write_file(again, flows, n > 0 ? (size_t)n : 0, err, sizeof(err)), 0);
    size_t len = 0;
    char *text = slurp(again, &len);
    CHECK(text != NULL && valid_json(text, len));
    free(text);
    free_flows(flows, n);
    unlink(again);
    unlink(path);

    tmp_path(path, sizeof(path), "firefox.har");
    write_text(path, firefox_har, strlen(firefox_har));
    n = har_read_file(path, &flows, err, sizeof(err));
    if (!CHECK_EQ_INT(n, 2))
        fprintf(stderr, "    err: %s\n", err);
    if (n == 2) {
        struct flow *f = flows[0];
        CHECK_EQ_INT(f->wall_start, 1709633730250000LL); /* the same instant as above */
        CHECK_EQ_INT(f->status, 301);
        CHECK_EQ_STR(f->reason, "Moved Permanently");
        CHECK_EQ_INT(f->resp_major, 2);
        CHECK_EQ_INT(f->resp_minor, 0);
        CHECK_EQ_INT(f->t_end - f->t_start, 12000);
        CHECK_EQ_INT(f->t_connected, 0);
        CHECK(!f->tls);
        CHECK_EQ_INT(f->resp_body.len, 0);
        f = flows[1];
        CHECK_EQ_STR(f->method, "OPTIONS");
        CHECK_EQ_INT(f->wall_start, 1709632800500000LL); /* 10:00:00.5Z */
        CHECK_EQ_INT(f->status, 0);
        CHECK(f->tls);
        CHECK_EQ_INT(f->t_end, f->t_start);
        CHECK_EQ_INT(f->req_headers.n, 0);
    }
    free_flows(flows, n);
    unlink(path);
}

static void test_read_malformed(void)
{
    static const struct {
        const char *text, *want;
    } rows[] = {
        {"", "not a HAR file: invalid JSON (line 1, column 1: empty input)"},
        {"GET / HTTP/1.1\r\n", "not a HAR file: invalid JSON (line 1, column 1: expected a value)"},
        {"[1,2]", "not a HAR file: no log.entries array"},
        {"{\"log\":{}}", "not a HAR file: no log.entries array"},
        {"{\"log\":{\"entries\":{}}}", "not a HAR file: no log.entries array"},
        {"{\"entries\":[]}", "not a HAR file: no log.entries array"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\"}},1]}}",
         "entry 2: no request object"},
        {"{\"log\":{\"entries\":[{\"request\":{\"url\":\"http://a/\"}}]}}",
         "entry 1: request.method missing or not a method"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"AVERYLONGMETHODNAMEINDEED\","
         "\"url\":\"http://a/\"}}]}}",
         "entry 1: request.method missing or not a method"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\"}}]}}",
         "entry 1: request.url missing"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\"},"
         "\"response\":{\"status\":-4}}]}}",
         "entry 1: response.status is not an HTTP status"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\"},"
         "\"response\":{\"status\":200.5}}]}}",
         "entry 1: response.status is not an HTTP status"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\"},"
         "\"response\":{\"status\":200,\"content\":{\"text\":\"!!!!\",\"encoding\":\"base64\"}}}"
         "]}}",
         "entry 1: response.content.text is not valid base64"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"POST\",\"url\":\"http://a/\","
         "\"postData\":{\"text\":\"QQ=A\",\"_encoding\":\"base64\"}}}]}}",
         "entry 1: request.postData.text is not valid base64"},
        {"{\"log\":{\"entries\":[{\"request\":{\"method\":\"POST\",\"url\":\"http://a/\","
         "\"postData\":{\"text\":\"QUJDR\",\"_encoding\":\"base64\"}}}]}}",
         "entry 1: request.postData.text is not valid base64"},
    };
    char path[300], err[300], want[600];
    tmp_path(path, sizeof(path), "bad.har");
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        check_note("malformed row %zu", r);
        write_text(path, rows[r].text, strlen(rows[r].text));
        struct flow **flows = (struct flow **)&flows;
        CHECK_EQ_INT(har_read_file(path, &flows, err, sizeof(err)), -1);
        CHECK(flows == NULL);
        snprintf(want, sizeof(want), "%s: %s", path, rows[r].want);
        CHECK_EQ_STR(err, want);
    }
    check_note(NULL);

    /* a file cut anywhere (a crash while writing without lucent's writer)
     * is refused, never half read */
    struct flow *in[3] = {sample_flow(0), sample_flow(1), sample_flow(2)};
    CHECK_EQ_INT(har_write_file(path, in, 3, err, sizeof(err)), 0);
    size_t len = 0;
    char *full = slurp(path, &len);
    for (size_t cut = 0; full != NULL && cut < len - 1; cut += cut < 64 ? 1 : 37) {
        check_note("cut at %zu of %zu", cut, len);
        write_text(path, full, cut);
        struct flow **flows = NULL;
        CHECK_EQ_INT(har_read_file(path, &flows, err, sizeof(err)), -1);
        CHECK(strstr(err, "not a HAR file: invalid JSON") != NULL);
        CHECK(flows == NULL);
    }
    check_note(NULL);
    free(full);
    for (size_t i = 0; i < 3; i++)
        flow_unref(in[i]);

    /* a file that is not there; no error buffer at all */
    unlink(path);
    struct flow **flows = NULL;
    CHECK_EQ_INT(har_read_file(path, &flows, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    CHECK_EQ_STR(err, want);
    CHECK_EQ_INT(har_read_file(path, &flows, NULL, 0), -1);
    CHECK_EQ_INT(har_read_file(tmpdir, &flows, err, sizeof(err)), -1); /* a directory */
    CHECK(strstr(err, "Is a directory") != NULL);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_har.XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_validator();
    test_entry_plain();
    test_entry_gzip();
    test_entry_binary();
    test_entry_cookies();
    test_entry_query();
    test_entry_failed();
    test_entry_timings();
    test_entry_escaping();
    test_writer();
    test_round_trip();
    test_read_browsers();
    test_read_malformed();
    rmdir(tmpdir);
    return check_summary();
}
