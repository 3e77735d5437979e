/* SPDX-License-Identifier: MIT */
/* Unit tests of core/expose: a table of crafted flows, each raising exactly
 * the teaching flags it should (and a clean HTTPS flow raising none); Basic
 * decoding, good and bad; url-encoded, multipart (boundaries, quoting,
 * filenames, LF-only lines, every truncation) and JSON bodies; a gzip form
 * body; query strings; in-clear marking for TLS and plain flows; value
 * cutting; a full item list; the JSON and text output; and random bytes in
 * every field. Bodies that are parsed are copied into heap blocks of exactly
 * their size so AddressSanitizer sees any overread. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/expose.h"
#include "core/flow.h"
#include "core/jsonp.h"
#include "check.h"

/* ---- helpers ----------------------------------------------------------------- */

/* Replaces b with an exact-size heap copy of p[0..len). */
static void set_exact(struct buf *b, const void *p, size_t len)
{
    buf_free(b);
    b->p = malloc(len ? len : 1);
    if (b->p == NULL)
        abort();
    if (len > 0)
        memcpy(b->p, p, len);
    b->len = b->cap = len;
}

/* Adds "Name: value" lines (separated by '\n') to h. */
static void add_lines(struct hdrs *h, const char *lines)
{
    if (lines == NULL)
        return;
    const char *p = lines;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (colon != NULL) {
            const char *v = colon + 1;
            if (v < p + len && *v == ' ')
                v++;
            hdrs_add(h, p, (size_t)(colon - p), v, (size_t)(p + len - v));
        }
        p += len;
        if (*p == '\n')
            p++;
    }
}

static struct flow *mkflow(bool tls, const char *url)
{
    struct flow *f = flow_new(flow_next_id());
    if (f == NULL)
        abort();
    f->state = FLOW_DONE;
    f->tls = tls;
    snprintf(f->method, sizeof(f->method), "GET");
    flow_set_url(f, url, strlen(url));
    return f;
}

static void set_req_body(struct flow *f, const void *p, size_t len)
{
    set_exact(&f->req_body, p, len);
    f->req_size = len;
    snprintf(f->method, sizeof(f->method), "POST");
}

static void set_resp(struct flow *f, int status, const char *lines, size_t size)
{
    f->status = status;
    add_lines(&f->resp_headers, lines);
    f->resp_size = size;
}

/* The first item of kind named name (any name when NULL), or NULL. */
static const struct expose_item *find(const struct expose *e, enum expose_kind kind,
                                      const char *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->items[i].kind == kind && (name == NULL || strcmp(e->items[i].name, name) == 0))
            return &e->items[i];
    return NULL;
}

static size_t count(const struct expose *e, enum expose_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        n += e->items[i].kind == kind;
    return n;
}

static const char *value_of(const struct expose *e, enum expose_kind kind, const char *name)
{
    const struct expose_item *it = find(e, kind, name);
    return it != NULL ? it->value : "(absent)";
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
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

/* Standard base64 of in[0..len) into out (room for 4/3 len + 4); returns
 * the length written. */
static size_t b64(const void *in, size_t len, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = in;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = al[v >> 18];
        out[o++] = al[(v >> 12) & 63];
        out[o++] = i + 1 < len ? al[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? al[v & 63] : '=';
    }
    return o;
}

/* Is s valid UTF-8 (no overlongs, surrogates or > U+10FFFF)? */
static bool utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        unsigned c = *p;
        int n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (n == 0 || c > 0xf4)
            return false;
        for (int k = 1; k < n; k++)
            if ((p[k] & 0xc0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

/* JSON of e, checked to parse; returns the document (caller frees). */
static struct jsonp_doc *json_of(const struct expose *e, struct buf *out)
{
    char err[128];
    buf_reset(out);
    expose_json(e, out);
    struct jsonp_doc *d = jsonp_parse(out->p, out->len, err, sizeof(err));
    if (!CHECK(d != NULL))
        fprintf(stderr, "    %s\n    %s\n", err, out->p);
    return d;
}

/* ---- the flag table ------------------------------------------------------------ */

#define HSTS "Strict-Transport-Security: max-age=31536000\n"
#define HTML "Content-Type: text/html; charset=utf-8\n"
#define GOOD_COOKIE "Set-Cookie: sid=abc123; Path=/; Secure; HttpOnly; SameSite=Lax\n"
#define FORM "Content-Type: application/x-www-form-urlencoded\n"

struct row {
    const char *what;
    bool tls;
    const char *url;
    const char *req;
    const char *body; /* request body, or NULL */
    int status;       /* 0: no response */
    const char *resp;
    bool local;    /* lucent's own reply */
    unsigned want; /* exactly these flags */
};

static const struct row rows[] = {
    {"clean HTTPS", true, "https://shop.test/account", "Cookie: sid=abc123\n", NULL, 200,
     HTML HSTS GOOD_COOKIE, false, 0},
    {"clean HTTPS form", true, "https://shop.test/login", FORM, "user=bob&password=hunter2", 302,
     "Location: /\n" HSTS GOOD_COOKIE, false, 0},
    {"clean HTTP, no secrets", false, "http://shop.test/?q=shoes&author=me&page=2",
     "Referer: http://shop.test/\n", NULL, 200, HTML, false, 0},
    {"Basic over HTTPS", true, "https://shop.test/admin", "Authorization: Basic YWxpY2U6czNjcmV0\n",
     NULL, 200, HTML HSTS, false, EXPOSE_F_BASIC_AUTH},
    {"Basic over HTTP", false, "http://shop.test/admin", "Authorization: Basic YWxpY2U6czNjcmV0\n",
     NULL, 200, HTML, false, EXPOSE_F_BASIC_AUTH | EXPOSE_F_CREDENTIALS_IN_CLEAR},
    {"Basic lower case", false, "http://shop.test/", "authorization: basic YWxpY2U6czNjcmV0\n",
     NULL, 401, "", false, EXPOSE_F_BASIC_AUTH | EXPOSE_F_CREDENTIALS_IN_CLEAR},
    {"Bearer over HTTPS", true, "https://api.test/v1/me", "Authorization: Bearer eyJ.abc.def\n",
     NULL, 200, "Content-Type: application/json\n", false, 0},
    {"Bearer over HTTP", false, "http://api.test/v1/me", "Authorization: Bearer eyJ.abc.def\n",
     NULL, 200, "Content-Type: application/json\n", false, EXPOSE_F_CREDENTIALS_IN_CLEAR},
    {"Proxy-Authorization over HTTP", false, "http://a.test/", "Proxy-Authorization: Basic dTpw\n",
     NULL, 200, "", false, EXPOSE_F_BASIC_AUTH | EXPOSE_F_CREDENTIALS_IN_CLEAR},
    {"form password over HTTP", false, "http://shop.test/login", FORM, "user=bob&password=hunter2",
     302, "Location: /\n", false, EXPOSE_F_CREDENTIALS_IN_CLEAR},
    {"form without secrets over HTTP", false, "http://shop.test/search", FORM,
     "q=shoes&author=bob&compass=n", 200, "", false, 0},
    {"form of another type", false, "http://shop.test/upload", "Content-Type: text/plain\n",
     "password=hunter2", 200, "", false, 0},
    {"JSON login over HTTP", false, "http://shop.test/api/login",
     "Content-Type: application/json\n", "{\"user\":\"bob\",\"password\":\"hunter2\"}", 200, "",
     false, EXPOSE_F_CREDENTIALS_IN_CLEAR},
    {"token in query, HTTPS", true, "https://api.test/feed?access_token=abc", "", NULL, 200,
     "Content-Type: application/json\n", false, EXPOSE_F_SECRET_IN_QUERY},
    {"token in query, HTTP", false, "http://api.test/feed?x=1&apiKey=abc", "", NULL, 200,
     "Content-Type: application/json\n", false,
     EXPOSE_F_SECRET_IN_QUERY | EXPOSE_F_CREDENTIALS_IN_CLEAR},
    {"Set-Cookie without HttpOnly", true, "https://shop.test/", "", NULL, 200,
     HTML HSTS "Set-Cookie: sid=1; Secure; SameSite=Strict\n", false, EXPOSE_F_COOKIE_INSECURE},
    {"Set-Cookie without Secure", true, "https://shop.test/", "", NULL, 200,
     HTML HSTS "Set-Cookie: sid=1; HttpOnly; SameSite=Strict\n", false, EXPOSE_F_COOKIE_INSECURE},
    {"Set-Cookie without SameSite", true, "https://shop.test/", "", NULL, 200,
     HTML HSTS "Set-Cookie: sid=1; Secure; HttpOnly\n", false, EXPOSE_F_COOKIE_INSECURE},
    {"Set-Cookie over HTTP", false, "http://shop.test/", "", NULL, 200,
     HTML "Set-Cookie: sid=1; HttpOnly; SameSite=Lax\n", false, EXPOSE_F_COOKIE_INSECURE},
    {"Set-Cookie deletions", false, "http://shop.test/logout", "", NULL, 200,
     "Set-Cookie: sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT\n"
     "Set-Cookie: other=x; Max-Age=0\nSet-Cookie: third=y; max-age=-1\n",
     false, 0},
    {"no HSTS", true, "https://shop.test/", "", NULL, 200, HTML, false, EXPOSE_F_NO_HSTS},
    {"no HSTS, no type", true, "https://shop.test/", "", NULL, 200, "", false, EXPOSE_F_NO_HSTS},
    {"no HSTS on a redirect", true, "https://shop.test/", "", NULL, 301, "Location: /x\n", false,
     EXPOSE_F_NO_HSTS},
    {"HSTS max-age=0", true, "https://shop.test/", "", NULL, 200,
     HTML "Strict-Transport-Security: max-age=0; includeSubDomains\n", false, EXPOSE_F_NO_HSTS},
    {"HSTS quoted", true, "https://shop.test/", "", NULL, 200,
     HTML "Strict-Transport-Security: includeSubDomains; max-age=\"600\"\n", false, 0},
    {"no HSTS on an image", true, "https://shop.test/a.png", "", NULL, 200,
     "Content-Type: image/png\n", false, 0},
    {"no HSTS on a 404", true, "https://shop.test/x", "", NULL, 404, HTML, false, 0},
    {"no HSTS on lucent's own page", true, "https://lucent.proxy/", "", NULL, 200, HTML, true, 0},
    {"no HSTS needed over HTTP", false, "http://shop.test/", "", NULL, 200, HTML, false, 0},
    {"no HSTS without a response", true, "https://shop.test/", "", NULL, 0, "", false, 0},
    {"mixed content, Referer", false, "http://cdn.test/app.js",
     "Referer: https://shop.test/checkout\n", NULL, 200, "Content-Type: text/javascript\n", false,
     EXPOSE_F_MIXED_CONTENT},
    {"mixed content, Origin", false, "http://api.test/x", "Origin: HTTPS://shop.test\n", NULL, 200,
     "", false, EXPOSE_F_MIXED_CONTENT},
    {"HTTPS from HTTPS", true, "https://cdn.test/app.js", "Referer: https://shop.test/\n", NULL,
     200, "Content-Type: text/javascript\n", false, 0},
};

static void test_flag_table(void)
{
    struct expose e;
    for (size_t i = 0; i < LC_ARRAY_LEN(rows); i++) {
        const struct row *r = &rows[i];
        check_note("row %zu: %s", i, r->what);
        struct flow *f = mkflow(r->tls, r->url);
        add_lines(&f->req_headers, r->req);
        if (r->body != NULL)
            set_req_body(f, r->body, strlen(r->body));
        if (r->status != 0)
            set_resp(f, r->status, r->resp, 100);
        f->local_reply = r->local;
        expose_analyze(f, &e);
        CHECK_EQ_INT(e.flags, r->want);
        /* every flag raised is explained */
        for (unsigned b = 1; b <= EXPOSE_F_ALL; b <<= 1)
            if (e.flags & b)
                CHECK(expose_flag_text(b)[0] != '\0');
        flow_unref(f);
    }
    check_note(NULL);
}

static void test_flag_names(void)
{
    static const struct {
        unsigned flag;
        const char *name;
    } names[] = {
        {EXPOSE_F_CREDENTIALS_IN_CLEAR, "credentials-in-clear"},
        {EXPOSE_F_BASIC_AUTH, "basic-auth"},
        {EXPOSE_F_SECRET_IN_QUERY, "secret-in-query"},
        {EXPOSE_F_COOKIE_INSECURE, "cookie-insecure"},
        {EXPOSE_F_NO_HSTS, "no-hsts"},
        {EXPOSE_F_MIXED_CONTENT, "mixed-content"},
    };
    unsigned all = 0;
    for (size_t i = 0; i < LC_ARRAY_LEN(names); i++) {
        CHECK_EQ_STR(expose_flag_name(names[i].flag), names[i].name);
        const char *t = expose_flag_text(names[i].flag);
        CHECK(strlen(t) > 20 && strlen(t) < 200 && strchr(t, '\n') == NULL);
        all |= names[i].flag;
    }
    CHECK_EQ_INT(all, EXPOSE_F_ALL);
    CHECK_EQ_STR(expose_flag_name(0), "unknown");
    CHECK_EQ_STR(expose_flag_name(3), "unknown");
    CHECK_EQ_STR(expose_flag_name(64), "unknown");
    CHECK_EQ_STR(expose_flag_text(3), "");
    CHECK_EQ_STR(expose_kind_name(EXPOSE_FORM_SECRET), "form-secret");
    CHECK_EQ_STR(expose_kind_name(EXPOSE_SIZES), "sizes");
    CHECK_EQ_STR(expose_kind_name((enum expose_kind)99), "unknown");
}

/* ---- Authorization ------------------------------------------------------------- */

static void test_basic(void)
{
    static const struct {
        const char *header;
        const char *value, *note_part;
    } cases[] = {
        {"Basic YWxpY2U6czNjcmV0", "alice:s3cret", "decoded"},
        {"Basic   YWxpY2U6czNjcmV0  ", "alice:s3cret", "decoded"},
        {"Basic YWxpY2U6czNjcmV0==", "alice:s3cret", "decoded"}, /* extra padding tolerated */
        {"Basic dTpw", "u:p", "decoded"},
        {"Basic dTpwYQ", "u:pa", "decoded"}, /* no padding */
        {"Basic YWxpY2U=", "alice", "no ':'"},
        {"Basic !!!not base64!!!", "!!!not base64!!!", "not valid base64"},
        {"Basic YWxpY2U6czNjcmV0===", "YWxpY2U6czNjcmV0===", "not valid base64"},
        {"Basic abcde", "abcde", "not valid base64"}, /* 5 chars: impossible length */
        {"Basic", "", "no ':'"},
        {"Basic dTpw\xff", "dTpw\xff", "not valid base64"},
        {"Basic AHU6cA==", "\xe2\x80\xa6", "decoded"}, /* "\0u:p": a NUL ends the value */
    };
    struct expose e;
    for (size_t i = 0; i < LC_ARRAY_LEN(cases); i++) {
        check_note("basic %zu: %s", i, cases[i].header);
        struct flow *f = mkflow(false, "http://a.test/");
        hdrs_add(&f->req_headers, "Authorization", 13, cases[i].header, strlen(cases[i].header));
        expose_analyze(f, &e);
        const struct expose_item *it = find(&e, EXPOSE_BASIC_AUTH, "Basic");
        if (CHECK(it != NULL)) {
            CHECK_EQ_STR(it->value, cases[i].value);
            CHECK(strstr(it->note, cases[i].note_part) != NULL);
            CHECK_EQ_STR(it->where, "request header Authorization");
            CHECK(it->in_clear);
            CHECK_EQ_INT(it->flags, EXPOSE_F_BASIC_AUTH | EXPOSE_F_CREDENTIALS_IN_CLEAR);
        }
        flow_unref(f);
    }
    check_note(NULL);

    /* a long password is kept, cut with "…"; Bearer and other schemes */
    char raw[600], hdr[1000];
    memset(raw, 'x', sizeof(raw));
    memcpy(raw, "bob:", 4);
    memcpy(hdr, "Basic ", 6);
    size_t n = 6 + b64(raw, sizeof(raw), hdr + 6);
    struct flow *f = mkflow(true, "https://a.test/");
    hdrs_add(&f->req_headers, "Authorization", 13, hdr, n);
    add_lines(&f->req_headers, "Authorization: Bearer tok.en\nAuthorization: Digest "
                               "username=\"bob\", nonce=\"1\"\n");
    expose_analyze(f, &e);
    const struct expose_item *it = find(&e, EXPOSE_BASIC_AUTH, "Basic");
    if (CHECK(it != NULL)) {
        size_t vl = strlen(it->value);
        CHECK(vl < sizeof(it->value) && vl > 100);
        CHECK(strncmp(it->value, "bob:xxxx", 8) == 0);
        CHECK(strcmp(it->value + vl - 3, "\xe2\x80\xa6") == 0);
        CHECK(!it->in_clear);
        CHECK_EQ_INT(it->flags, EXPOSE_F_BASIC_AUTH);
    }
    CHECK_EQ_STR(value_of(&e, EXPOSE_BEARER, "Bearer"), "tok.en");
    CHECK_EQ_STR(value_of(&e, EXPOSE_AUTH, "Digest"), "username=\"bob\", nonce=\"1\"");
    CHECK_EQ_INT(e.flags, EXPOSE_F_BASIC_AUTH);
    flow_unref(f);
}

/* ---- url-encoded forms and query strings ------------------------------------------ */

static void test_urlencoded(void)
{
    static const char body[] = "user=bob&password=hunter%202&pass+word=x%ZZ&csrf_token=a+b&&=&"
                               "novalue&api%5Fkey=K%&secret&author=me";
    struct expose e;
    struct flow *f = mkflow(false, "http://shop.test/login");
    add_lines(&f->req_headers, "Content-Type: Application/X-WWW-Form-Urlencoded ; charset=utf-8");
    set_req_body(f, body, sizeof(body) - 1);
    expose_analyze(f, &e);
    CHECK_EQ_INT(count(&e, EXPOSE_FORM_SECRET), 5);
    CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "password"), "hunter 2");
    CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "pass word"), "x%ZZ");
    CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "csrf_token"), "a b");
    CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "api_key"), "K%");
    CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "secret"), "");
    CHECK(find(&e, EXPOSE_FORM_SECRET, "user") == NULL);
    const struct expose_item *it = find(&e, EXPOSE_FORM_SECRET, "password");
    if (CHECK(it != NULL)) {
        CHECK_EQ_STR(it->where, "form field");
        CHECK(it->in_clear);
        CHECK_EQ_INT(it->flags, EXPOSE_F_CREDENTIALS_IN_CLEAR);
    }
    /* the request body item: type and size, never the content */
    it = find(&e, EXPOSE_BODY, NULL);
    if (CHECK(it != NULL)) {
        CHECK_EQ_STR(it->name, "application/x-www-form-urlencoded");
        CHECK(strstr(it->value, "bytes") != NULL && strstr(it->value, "hunter") == NULL);
    }
    flow_unref(f);

    /* a captured body that was cut */
    f = mkflow(false, "http://shop.test/login");
    add_lines(&f->req_headers, FORM);
    set_req_body(f, "user=bob&passwd=hun", 19);
    f->req_size = 4000;
    f->req_body_cut = true;
    expose_analyze(f, &e);
    CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "passwd"), "hun");
    flow_unref(f);
}

static void test_secret_names(void)
{
    static const struct {
        const char *name;
        bool secret;
    } names[] = {
        {"password", true},
        {"Passwd", true},
        {"pwd", true},
        {"pass", true},
        {"user_pass", true},
        {"passCode", true},
        {"token", true},
        {"refresh_token", true},
        {"secret", true},
        {"client_secret", true},
        {"api_key", true},
        {"apikey", true},
        {"apiKey", true},
        {"X-API-KEY", true},
        {"access_token", true},
        {"auth", true},
        {"authCode", true},
        {"x-auth", true},
        {"session", true},
        {"PHPSESSID", true},
        {"JSESSIONID", true},
        {"sid", true},
        {"csrf", true},
        {"_xsrf", true},
        {"authenticity_token", true},
        {"key", true},
        {"otp", true},
        {"new_pw", true},
        {"credentials", true},
        {"Authorization", true},
        {"user", false},
        {"author", false},
        {"authority", false},
        {"q", false},
        {"compass", false},
        {"sort_key", false},
        {"keyword", false},
        {"email", false},
        {"inside", false},
        {"", false},
        {"passenger", false},
        {"monkey", false},
    };
    struct expose e;
    for (size_t i = 0; i < LC_ARRAY_LEN(names); i++) {
        check_note("name \"%s\"", names[i].name);
        char url[128];
        snprintf(url, sizeof(url), "https://a.test/?%s=v", names[i].name);
        struct flow *f = mkflow(true, url);
        expose_analyze(f, &e);
        CHECK_EQ_INT(count(&e, EXPOSE_QUERY_SECRET), names[i].secret ? 1 : 0);
        flow_unref(f);
    }
    check_note(NULL);
}

static void test_query(void)
{
    struct expose e;
    struct flow *f =
        mkflow(true, "https://a.test/p?x=1&access_token=abc&apiKey=K%2B&key=v&author=me&sort_key=s"
                     "#password=frag");
    expose_analyze(f, &e);
    CHECK_EQ_INT(count(&e, EXPOSE_QUERY_SECRET), 3);
    CHECK_EQ_STR(value_of(&e, EXPOSE_QUERY_SECRET, "access_token"), "abc");
    CHECK_EQ_STR(value_of(&e, EXPOSE_QUERY_SECRET, "apiKey"), "K+");
    CHECK_EQ_STR(value_of(&e, EXPOSE_QUERY_SECRET, "key"), "v");
    const struct expose_item *it = find(&e, EXPOSE_QUERY_SECRET, "key");
    if (CHECK(it != NULL)) {
        CHECK_EQ_STR(it->where, "query string");
        CHECK(!it->in_clear);
        CHECK_EQ_INT(it->flags, EXPOSE_F_SECRET_IN_QUERY);
    }
    CHECK_EQ_INT(e.flags, EXPOSE_F_SECRET_IN_QUERY);
    flow_unref(f);

    static const struct {
        const char *url;
        size_t n;
    } urls[] = {
        {"http://a.test/?password", 1},
        {"http://a.test/?", 0},
        {"http://a.test/", 0},
        {"http://a.test", 0},
        {"http://a.test/?&&=&", 0},
        {"http://a.test/?token=%", 1},
        {"http://a.test/?a=1&b=2&pwd=3&pwd=4", 2},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(urls); i++) {
        check_note("%s", urls[i].url);
        f = mkflow(false, urls[i].url);
        expose_analyze(f, &e);
        CHECK_EQ_INT(count(&e, EXPOSE_QUERY_SECRET), urls[i].n);
        CHECK_EQ_INT(e.flags,
                     urls[i].n ? EXPOSE_F_SECRET_IN_QUERY | EXPOSE_F_CREDENTIALS_IN_CLEAR : 0);
        flow_unref(f);
    }
    check_note(NULL);
}

/* ---- multipart ----------------------------------------------------------------------- */

static const char mp_body[] =
    "This is the preamble; --XyZ here is not a delimiter.\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"username\"\r\n"
    "\r\n"
    "bob\r\n"
    "--XyZ \t\r\n" /* transport padding */
    "content-disposition: form-data; name=\"password\"\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "hunter2\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; filename=\"a;b.txt\"; name=\"api_key\"\r\n"
    "\r\n"
    "-----BEGIN KEY-----\r\nabc\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"pass\\\"word\"\r\n"
    "\r\n"
    "x\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=token\r\n"
    "\r\n"
    "\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"comment\"\r\n"
    "\r\n"
    "line one\r\n--XyZ-not a delimiter\r\n--XyZ2\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name*=utf-8''secret; name=\"session\"\r\n"
    "\r\n"
    "s1\r\n--XyZ-- \r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"secret\"\r\n"
    "\r\n"
    "after the close delimiter\r\n";

/* mp_body with every "\r\n" made "\n" (when lf), analysed. */
static void run_multipart(const char *ctype, bool lf, size_t cut, struct expose *e)
{
    char body[sizeof(mp_body)];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(mp_body) - 1; i++) {
        if (lf && mp_body[i] == '\r' && mp_body[i + 1] == '\n')
            continue;
        body[n++] = mp_body[i];
    }
    if (cut < n)
        n = cut;
    struct flow *f = mkflow(false, "http://shop.test/upload");
    hdrs_add(&f->req_headers, "Content-Type", 12, ctype, strlen(ctype));
    set_req_body(f, body, n);
    expose_analyze(f, e);
    flow_unref(f);
}

static void test_multipart(void)
{
    struct expose e;
    for (int lf = 0; lf <= 1; lf++) {
        check_note("multipart, %s", lf ? "LF" : "CRLF");
        run_multipart("multipart/form-data; charset=utf-8; boundary=\"XyZ\"", lf, SIZE_MAX, &e);
        CHECK_EQ_INT(count(&e, EXPOSE_FORM_SECRET), 5);
        CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "password"), "hunter2");
        CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "api_key"),
                     lf ? "-----BEGIN KEY-----\nabc" : "-----BEGIN KEY-----\r\nabc");
        CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "pass\"word"), "x");
        CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "token"), "");
        CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "session"), "s1");
        CHECK(find(&e, EXPOSE_FORM_SECRET, "secret") == NULL);
        const struct expose_item *it = find(&e, EXPOSE_FORM_SECRET, "api_key");
        if (CHECK(it != NULL)) {
            CHECK_EQ_STR(it->note, "file \"a;b.txt\"");
            CHECK_EQ_STR(it->where, "multipart form field");
        }
        CHECK_EQ_INT(e.flags, EXPOSE_F_CREDENTIALS_IN_CLEAR);
    }
    /* unquoted boundary, upper-case type */
    check_note("multipart, token boundary");
    run_multipart("Multipart/Form-Data; boundary=XyZ", false, SIZE_MAX, &e);
    CHECK_EQ_INT(count(&e, EXPOSE_FORM_SECRET), 5);
    /* boundaries that do not match, or no boundary at all */
    static const char *const bad[] = {
        "multipart/form-data; boundary=Xy",
        "multipart/form-data; boundary=XyZZ",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary",
        "multipart/form-data; boundary=\"XyZ",
        "multipart/mixed; boundary=XyZ",
        "multipart/form-data; boundary=\"Xy\\Z\"",
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(bad); i++) {
        check_note("multipart, %s", bad[i]);
        run_multipart(bad[i], false, SIZE_MAX, &e);
        /* an unterminated quote reads to the end of the field: "XyZ" still */
        CHECK_EQ_INT(count(&e, EXPOSE_FORM_SECRET), strstr(bad[i], "\"XyZ") ? 5 : 0);
    }
    /* a boundary longer than any kept */
    char longct[400];
    int n = snprintf(longct, sizeof(longct), "multipart/form-data; boundary=");
    memset(longct + n, 'b', sizeof(longct) - (size_t)n - 1);
    longct[sizeof(longct) - 1] = '\0';
    check_note("multipart, long boundary");
    run_multipart(longct, false, SIZE_MAX, &e);
    CHECK_EQ_INT(count(&e, EXPOSE_FORM_SECRET), 0);

    /* every truncation: no crash, never more than the whole, and the password
     * once its value is complete */
    size_t full = sizeof(mp_body) - 1;
    size_t pw_end = (size_t)(strstr(mp_body, "hunter2") - mp_body) + 7;
    for (int lf = 0; lf <= 1; lf++) {
        for (size_t cut = 0; cut <= full; cut++) {
            check_note("multipart %s cut at %zu", lf ? "LF" : "CRLF", cut);
            run_multipart("multipart/form-data; boundary=XyZ", lf, cut, &e);
            CHECK(count(&e, EXPOSE_FORM_SECRET) <= 5);
            if (!lf && cut >= pw_end) {
                const char *v = value_of(&e, EXPOSE_FORM_SECRET, "password");
                CHECK(strncmp(v, "hunter2", 7) == 0);
            }
            if (!lf && cut == pw_end) {
                const struct expose_item *it = find(&e, EXPOSE_FORM_SECRET, "password");
                CHECK(it != NULL && strcmp(it->note, "body cut") == 0);
            }
        }
    }
    check_note(NULL);
}

/* ---- JSON and encoded bodies -------------------------------------------------------- */

static void test_json_body(void)
{
    static const char doc[] =
        "{\"user\":{\"name\":\"bob\",\"credentials\":{\"password\":\"p\\u00e9\"}},"
        "\"otp\":123456,\"pin\":1.5,\"pwd\":1e300,\"passcode\":-42,\"list\":[{\"token\":\"t\"}],"
        "\"passwords\":[\"a\"],"
        "\"secret\":null}";
    struct expose e;
    static const char *const types[] = {"application/json", "application/vnd.api+json; x=y"};
    for (size_t i = 0; i < LC_ARRAY_LEN(types); i++) {
        check_note("%s", types[i]);
        struct flow *f = mkflow(false, "http://a.test/api");
        hdrs_add(&f->req_headers, "Content-Type", 12, types[i], strlen(types[i]));
        set_req_body(f, doc, sizeof(doc) - 1);
        expose_analyze(f, &e);
        CHECK_EQ_INT(count(&e, EXPOSE_FORM_SECRET), 5);
        CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "password"), "p\xc3\xa9");
        CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "pwd"), "1e+300");
        CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "passcode"), "-42");
        CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "otp"), "123456");
        CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "token"), "t");
        flow_unref(f);
    }
    check_note("broken JSON");
    struct flow *f = mkflow(false, "http://a.test/api");
    add_lines(&f->req_headers, "Content-Type: application/json");
    set_req_body(f, "{\"password\":\"p\"", 15);
    expose_analyze(f, &e);
    CHECK_EQ_INT(count(&e, EXPOSE_FORM_SECRET), 0);
    flow_unref(f);
    check_note(NULL);
}

static void test_encoded_body(void)
{
    static const char form[] = "user=bob&password=gz%21";
    unsigned char gz[256];
    size_t gzlen = gzip(form, sizeof(form) - 1, gz, sizeof(gz));
    struct expose e;

    struct flow *f = mkflow(false, "http://a.test/login");
    add_lines(&f->req_headers, FORM "Content-Encoding: gzip");
    set_req_body(f, gz, gzlen);
    expose_analyze(f, &e);
    CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "password"), "gz!");
    CHECK_EQ_INT(e.flags, EXPOSE_F_CREDENTIALS_IN_CLEAR);
    flow_unref(f);

    /* corrupt and cut gzip: nothing to read, nothing found, no crash */
    for (size_t cut = 0; cut < gzlen; cut++) {
        f = mkflow(false, "http://a.test/login");
        add_lines(&f->req_headers, FORM "Content-Encoding: gzip");
        unsigned char bad[256];
        memcpy(bad, gz, gzlen);
        bad[cut] ^= 0x5a;
        set_req_body(f, bad, cut == 0 ? gzlen : cut);
        expose_analyze(f, &e);
        CHECK(count(&e, EXPOSE_FORM_SECRET) <= 1);
        flow_unref(f);
    }
    /* identity is no encoding; an unknown one hides the body */
    f = mkflow(false, "http://a.test/login");
    add_lines(&f->req_headers, FORM "Content-Encoding: identity");
    set_req_body(f, form, sizeof(form) - 1);
    expose_analyze(f, &e);
    CHECK_EQ_STR(value_of(&e, EXPOSE_FORM_SECRET, "password"), "gz!");
    flow_unref(f);
    f = mkflow(false, "http://a.test/login");
    add_lines(&f->req_headers, FORM "Content-Encoding: x-unknown");
    set_req_body(f, form, sizeof(form) - 1);
    expose_analyze(f, &e);
    CHECK_EQ_INT(count(&e, EXPOSE_FORM_SECRET), 0);
    flow_unref(f);
}

/* ---- cookies ------------------------------------------------------------------------ */

static void test_cookies(void)
{
    struct expose e;
    struct flow *f = mkflow(true, "https://shop.test/");
    add_lines(&f->req_headers, "Cookie: a=1; b = 2 ;;c=x=y; flag\nCookie: d=4");
    set_resp(f, 200,
             HSTS "Set-Cookie: SID=abc; secure; HTTPONLY; samesite=None\n"
                  "Set-Cookie: id=9; SameSite\n"
                  "Set-Cookie: pref=dark; Secure; SameSite=Lax\n"
                  "Set-Cookie: bare\n",
             10);
    expose_analyze(f, &e);
    CHECK_EQ_INT(count(&e, EXPOSE_COOKIE), 5);
    CHECK_EQ_STR(value_of(&e, EXPOSE_COOKIE, "a"), "1");
    CHECK_EQ_STR(value_of(&e, EXPOSE_COOKIE, "b"), "2");
    CHECK_EQ_STR(value_of(&e, EXPOSE_COOKIE, "c"), "x=y");
    CHECK_EQ_STR(value_of(&e, EXPOSE_COOKIE, ""), "flag");
    CHECK_EQ_STR(value_of(&e, EXPOSE_COOKIE, "d"), "4");
    CHECK_EQ_INT(count(&e, EXPOSE_SET_COOKIE), 4);
    const struct expose_item *it = find(&e, EXPOSE_SET_COOKIE, "SID");
    if (CHECK(it != NULL)) {
        CHECK_EQ_STR(it->value, "abc");
        CHECK_EQ_STR(it->note, "");
        CHECK_EQ_INT(it->flags, 0);
        CHECK_EQ_STR(it->where, "response header Set-Cookie");
    }
    it = find(&e, EXPOSE_SET_COOKIE, "id");
    if (CHECK(it != NULL)) {
        CHECK_EQ_STR(it->note, "missing Secure, HttpOnly, SameSite");
        CHECK_EQ_INT(it->flags, EXPOSE_F_COOKIE_INSECURE);
    }
    it = find(&e, EXPOSE_SET_COOKIE, "pref");
    CHECK(it != NULL && strcmp(it->note, "missing HttpOnly") == 0);
    it = find(&e, EXPOSE_SET_COOKIE, "");
    CHECK(it != NULL && strcmp(it->value, "bare") == 0);
    CHECK_EQ_INT(e.flags, EXPOSE_F_COOKIE_INSECURE);
    flow_unref(f);

    f = mkflow(false, "http://shop.test/");
    set_resp(f, 200,
             "Set-Cookie: a=1; HttpOnly; SameSite=Lax\nSet-Cookie: b=2\n"
             "Set-Cookie: c=3; Secure; HttpOnly; SameSite=Strict\n",
             10);
    expose_analyze(f, &e);
    CHECK_EQ_STR(find(&e, EXPOSE_SET_COOKIE, "a")->note, "set over plain HTTP");
    CHECK_EQ_STR(find(&e, EXPOSE_SET_COOKIE, "b")->note,
                 "set over plain HTTP; missing HttpOnly, SameSite");
    CHECK_EQ_STR(find(&e, EXPOSE_SET_COOKIE, "c")->note, "set over plain HTTP");
    CHECK(find(&e, EXPOSE_SET_COOKIE, "c")->in_clear);
    flow_unref(f);
}

/* ---- in clear, or seen only by lucent ------------------------------------------------ */

static struct flow *everything(bool tls)
{
    struct flow *f = mkflow(tls, tls ? "https://shop.test/login?token=q"
                                     : "http://shop.test/"
                                       "login?token=q");
    if (tls)
        snprintf(f->sni, sizeof(f->sni), "shop.test");
    add_lines(&f->req_headers, FORM "Authorization: Basic YWxpY2U6czNjcmV0\nCookie: sid=1\n"
                                    "Referer: https://shop.test/\n");
    set_req_body(f, "password=p", 10);
    set_resp(f, 200, HTML "Set-Cookie: sid=2\n", 5000);
    return f;
}

static void test_in_clear(void)
{
    struct expose e;
    struct buf out = BUF_INIT;

    /* intercepted HTTPS: only the server name and the sizes are in clear */
    struct flow *f = everything(true);
    expose_analyze(f, &e);
    CHECK(e.tls);
    for (size_t i = 0; i < e.n; i++) {
        const struct expose_item *it = &e.items[i];
        check_note("TLS item %zu kind %s", i, expose_kind_name(it->kind));
        CHECK_EQ_INT(it->in_clear, it->kind == EXPOSE_SNI || it->kind == EXPOSE_SIZES);
        CHECK(it->kind != EXPOSE_BODY && it->kind != EXPOSE_REFERER);
    }
    check_note(NULL);
    CHECK_EQ_STR(value_of(&e, EXPOSE_SNI, "server name"), "shop.test");
    CHECK_EQ_STR(value_of(&e, EXPOSE_SIZES, "sizes"),
                 "request body 10 bytes, response body 5000 bytes");
    CHECK(find(&e, EXPOSE_URL, NULL) != NULL && !find(&e, EXPOSE_URL, NULL)->in_clear);
    CHECK(find(&e, EXPOSE_FORM_SECRET, "password") != NULL);
    CHECK_EQ_INT(e.flags, EXPOSE_F_BASIC_AUTH | EXPOSE_F_SECRET_IN_QUERY |
                              EXPOSE_F_COOKIE_INSECURE | EXPOSE_F_NO_HSTS);
    struct jsonp_doc *d = json_of(&e, &out);
    if (d != NULL) {
        const struct jsonp_val *root = jsonp_root(d);
        const struct jsonp_val *clear = jsonp_get(root, "in_clear");
        const struct jsonp_val *lucent = jsonp_get(root, "seen_by_lucent");
        if (CHECK(clear != NULL && clear->type == JSONP_ARRAY && lucent != NULL)) {
            CHECK_EQ_INT(clear->n, 2);
            CHECK_EQ_INT(clear->n + lucent->n, e.n);
            CHECK_EQ_STR(jsonp_str(jsonp_get(&clear->items[0], "kind"), NULL), "sni");
            bool basic = false;
            for (size_t i = 0; i < lucent->n; i++)
                if (strcmp(jsonp_str(jsonp_get(&lucent->items[i], "kind"), NULL), "basic-auth") ==
                    0) {
                    basic = true;
                    CHECK_EQ_STR(jsonp_str(jsonp_get(&lucent->items[i], "value"), NULL),
                                 "alice:s3cret");
                    const struct jsonp_val *fl = jsonp_get(&lucent->items[i], "flags");
                    CHECK(fl != NULL && fl->n == 1 &&
                          strcmp(jsonp_str(&fl->items[0], NULL), "basic-auth") == 0);
                }
            CHECK(basic);
        }
        const struct jsonp_val *flags = jsonp_get(root, "flags");
        CHECK(flags != NULL && flags->n == 4);
        CHECK(jsonp_get(root, "dropped") == NULL);
        jsonp_free(d);
    }
    buf_reset(&out);
    expose_text(&e, &out);
    CHECK(strstr(out.p, "On the network, outside the encryption:\n"
                        "  TLS handshake (SNI): server name = shop.test\n") != NULL);
    CHECK(strstr(out.p, "Seen only by lucent, because you trusted its CA:\n") != NULL);
    CHECK(strstr(out.p, "  request header Authorization: Basic = alice:s3cret  (user:password, "
                        "decoded from base64) [basic-auth]\n") != NULL);
    CHECK(strstr(out.p, "Flags:\n  basic-auth: Basic authentication") != NULL);
    CHECK(strstr(out.p, "  no-hsts: ") != NULL);
    CHECK(strstr(out.p, "mixed-content") == NULL);
    flow_unref(f);

    /* plain HTTP: everything */
    f = everything(false);
    expose_analyze(f, &e);
    CHECK(!e.tls);
    for (size_t i = 0; i < e.n; i++)
        CHECK(e.items[i].in_clear);
    CHECK(find(&e, EXPOSE_SNI, NULL) == NULL && find(&e, EXPOSE_SIZES, NULL) == NULL);
    CHECK_EQ_STR(value_of(&e, EXPOSE_URL, ""), "http://shop.test/login?token=q");
    CHECK_EQ_STR(value_of(&e, EXPOSE_REFERER, ""), "https://shop.test/");
    CHECK_EQ_STR(value_of(&e, EXPOSE_BODY, "text/html"), "5000 bytes");
    CHECK_EQ_STR(find(&e, EXPOSE_BODY, "text/html")->where, "response body");
    CHECK_EQ_STR(value_of(&e, EXPOSE_BODY, "application/x-www-form-urlencoded"), "10 bytes");
    CHECK_EQ_INT(e.flags, EXPOSE_F_CREDENTIALS_IN_CLEAR | EXPOSE_F_BASIC_AUTH |
                              EXPOSE_F_SECRET_IN_QUERY | EXPOSE_F_COOKIE_INSECURE |
                              EXPOSE_F_MIXED_CONTENT);
    d = json_of(&e, &out);
    if (d != NULL) {
        CHECK_EQ_INT(jsonp_get(jsonp_root(d), "in_clear")->n, e.n);
        CHECK_EQ_INT(jsonp_get(jsonp_root(d), "seen_by_lucent")->n, 0);
        CHECK_EQ_INT(jsonp_get(jsonp_root(d), "flags")->n, 5);
        jsonp_free(d);
    }
    buf_reset(&out);
    expose_text(&e, &out);
    static const char head[] = "Anyone on the network path can read (plain HTTP):\n"
                               "  request line: http://shop.test/login?token=q\n";
    CHECK(strncmp(out.p, head, sizeof(head) - 1) == 0);
    CHECK(strstr(out.p, "  response body: text/html, 5000 bytes\n") != NULL);
    CHECK(strstr(out.p, "Seen only by lucent") == NULL);
    flow_unref(f);

    /* a CONNECT tunnel: its head is plain text, the rest only sizes */
    f = mkflow(false, "shop.test:443");
    f->connect = true;
    snprintf(f->sni, sizeof(f->sni), "shop.test");
    add_lines(&f->req_headers, "Proxy-Authorization: Basic dTpw\nCookie: not=here");
    f->req_size = 700;
    f->resp_size = 9000;
    f->status = 200;
    expose_analyze(f, &e);
    CHECK(e.tls);
    CHECK_EQ_INT(e.n, 4);
    CHECK_EQ_STR(value_of(&e, EXPOSE_URL, ""), "shop.test:443");
    CHECK_EQ_STR(find(&e, EXPOSE_URL, "")->where, "CONNECT request");
    CHECK_EQ_STR(value_of(&e, EXPOSE_BASIC_AUTH, "Basic"), "u:p");
    CHECK_EQ_STR(value_of(&e, EXPOSE_SIZES, "sizes"),
                 "client to server 700 bytes, server to client 9000 bytes");
    for (size_t i = 0; i < e.n; i++)
        CHECK(e.items[i].in_clear);
    CHECK_EQ_INT(e.flags, EXPOSE_F_BASIC_AUTH | EXPOSE_F_CREDENTIALS_IN_CLEAR);
    flow_unref(f);

    /* nothing at all */
    f = flow_new(flow_next_id());
    expose_analyze(f, &e);
    CHECK_EQ_INT(e.n, 0);
    buf_reset(&out);
    expose_text(&e, &out);
    CHECK_EQ_STR(out.p, "Nothing exposed.\n");
    d = json_of(&e, &out);
    CHECK_EQ_STR(out.p, "{\"in_clear\":[],\"seen_by_lucent\":[],\"flags\":[]}");
    jsonp_free(d);
    flow_unref(f);
    buf_free(&out);
}

/* ---- cutting and overflow ---------------------------------------------------------- */

static void test_cutting(void)
{
    struct expose e;
    char cookie[1200];
    int n = snprintf(cookie, sizeof(cookie), "Cookie: ");
    for (int i = 0; i < 100; i++)
        n += snprintf(cookie + n, sizeof(cookie) - (size_t)n, "n\xc3\xa9");
    n += snprintf(cookie + n, sizeof(cookie) - (size_t)n, "=");
    for (int i = 0; i < 300; i++)
        n += snprintf(cookie + n, sizeof(cookie) - (size_t)n, "\xc3\xa9");
    for (int shift = 0; shift < 3; shift++) {
        check_note("shift %d", shift);
        char line[1300];
        snprintf(line, sizeof(line), "Cookie: %.*s%s", shift, "xx", cookie + 8);
        struct flow *f = mkflow(false, "http://a.test/");
        add_lines(&f->req_headers, line);
        expose_analyze(f, &e);
        const struct expose_item *it = find(&e, EXPOSE_COOKIE, NULL);
        if (CHECK(it != NULL)) {
            CHECK(utf8_ok(it->name) && utf8_ok(it->value));
            CHECK(strlen(it->name) < sizeof(it->name) && strlen(it->name) > 50);
            CHECK(strlen(it->value) < sizeof(it->value) && strlen(it->value) > 140);
            CHECK(strcmp(it->value + strlen(it->value) - 3, "\xe2\x80\xa6") == 0);
            CHECK(strcmp(it->name + strlen(it->name) - 3, "\xe2\x80\xa6") == 0);
        }
        flow_unref(f);
    }
    check_note(NULL);

    /* a short value that fits exactly is not cut */
    char v[200];
    memset(v, 'v', 159);
    v[159] = '\0';
    char line[300];
    snprintf(line, sizeof(line), "Cookie: a=%s", v);
    struct flow *f = mkflow(false, "http://a.test/");
    add_lines(&f->req_headers, line);
    expose_analyze(f, &e);
    CHECK_EQ_STR(value_of(&e, EXPOSE_COOKIE, "a"), v);
    flow_unref(f);
}

static void test_overflow(void)
{
    struct expose e;
    struct buf out = BUF_INIT;
    struct flow *f = mkflow(false, "http://a.test/");
    char line[64];
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof(line), "Cookie: c%d=%d", i, i);
        add_lines(&f->req_headers, line);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(line, sizeof(line), "Set-Cookie: s%d=%d", i, i);
        add_lines(&f->resp_headers, line);
    }
    f->status = 200;
    f->resp_size = 77;
    expose_analyze(f, &e);
    CHECK_EQ_INT(e.n, EXPOSE_MAX_ITEMS);
    CHECK_EQ_INT(e.n + e.dropped, 1 + 100 + 20 + 1);
    CHECK_EQ_INT(e.items[e.n - 1].kind, EXPOSE_BODY); /* kept a slot */
    CHECK(e.flags & EXPOSE_F_COOKIE_INSECURE);        /* raised, though not listed */
    struct jsonp_doc *d = json_of(&e, &out);
    if (d != NULL) {
        double dropped = 0;
        CHECK(jsonp_num(jsonp_get(jsonp_root(d), "dropped"), &dropped) && dropped == e.dropped);
        jsonp_free(d);
    }
    buf_reset(&out);
    expose_text(&e, &out);
    CHECK(strstr(out.p, "more findings not listed") != NULL);
    buf_free(&out);
    flow_unref(f);
}

/* ---- random bytes ---------------------------------------------------------------------- */

static uint32_t rng = 12345;

static uint32_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    return rng;
}

/* Random bytes, biased toward the ones parsers care about. */
static size_t rnd_bytes(char *p, size_t max)
{
    static const char special[] = ";=\"\\ \t\r\n-%+&:,{}[]xyzB";
    size_t n = rnd() % (max + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = rnd() % 3 ? special[rnd() % (sizeof(special) - 1)] : (char)(rnd() & 0xff);
    return n;
}

static void test_garbage(void)
{
    static const char *const names[] = {
        "Authorization", "Proxy-Authorization", "Cookie",
        "Content-Type",  "Content-Encoding",    "Referer",
        "Origin",        "Set-Cookie",
    };
    static const char *const starts[] = {
        "Basic ",
        "Bearer ",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
        "application/json",
        "https://",
        "gzip",
        "",
        "sid=",
        "multipart/form-data; boundary=\"",
    };
    struct expose e;
    struct buf out = BUF_INIT;
    char err[128];
    unsigned long bad = 0;

    for (int iter = 0; iter < 20000; iter++) {
        char tmp[600];
        size_t n = rnd_bytes(tmp, 200);
        struct flow *f = flow_new(flow_next_id());
        f->tls = rnd() & 1;
        f->connect = (rnd() % 8) == 0;
        if (rnd() & 1) {
            char url[300];
            int k = snprintf(url, sizeof(url), "%s", rnd() & 1 ? "http://a/?" : "");
            memcpy(url + k, tmp, n);
            flow_set_url(f, url, (size_t)k + n);
        }
        if (rnd() & 1)
            snprintf(f->sni, sizeof(f->sni), "%.*s", (int)(n < 255 ? n : 255), tmp);
        for (int h = (int)(rnd() % 8); h > 0; h--) {
            const char *name = names[rnd() % LC_ARRAY_LEN(names)];
            const char *start = starts[rnd() % LC_ARRAY_LEN(starts)];
            size_t sl = strlen(start);
            memcpy(tmp, start, sl);
            n = sl + rnd_bytes(tmp + sl, 300);
            hdrs_add(strcmp(name, "Set-Cookie") ? &f->req_headers : &f->resp_headers, name,
                     strlen(name), tmp, n);
        }
        if (rnd() & 1) {
            /* the multipart example, mutated, or plain noise */
            char body[sizeof(mp_body)];
            if (rnd() & 1) {
                memcpy(body, mp_body, sizeof(mp_body) - 1);
                for (int m = (int)(rnd() % 6); m > 0; m--)
                    body[rnd() % (sizeof(mp_body) - 1)] = (char)rnd();
                n = rnd() % sizeof(mp_body);
                hdrs_add(&f->req_headers, "Content-Type", 12, "multipart/form-data; boundary=XyZ",
                         33);
            } else {
                n = rnd_bytes(body, sizeof(body) - 1);
            }
            set_req_body(f, body, n);
        }
        if (rnd() & 1) {
            f->status = (int)(rnd() % 600);
            f->resp_size = rnd();
        }
        expose_analyze(f, &e);
        bool ok = e.n <= EXPOSE_MAX_ITEMS && (e.flags & ~EXPOSE_F_ALL) == 0;
        for (size_t i = 0; i < e.n && ok; i++) {
            const struct expose_item *it = &e.items[i];
            ok = strnlen(it->where, sizeof(it->where)) < sizeof(it->where) &&
                 strnlen(it->name, sizeof(it->name)) < sizeof(it->name) &&
                 strnlen(it->value, sizeof(it->value)) < sizeof(it->value) &&
                 strnlen(it->note, sizeof(it->note)) < sizeof(it->note) &&
                 (it->flags & ~e.flags) == 0;
        }
        buf_reset(&out);
        expose_json(&e, &out);
        struct jsonp_doc *d = jsonp_parse(out.p, out.len, err, sizeof(err));
        ok = ok && d != NULL;
        jsonp_free(d);
        buf_reset(&out);
        expose_text(&e, &out);
        ok = ok && out.len > 0 && out.p[out.len - 1] == '\n';
        if (!ok && bad++ < 5)
            fprintf(stderr, "garbage iteration %d failed\n", iter);
        flow_unref(f);
    }
    CHECK_EQ_INT(bad, 0);
    buf_free(&out);
}

int main(void)
{
    test_flag_table();
    test_flag_names();
    test_basic();
    test_urlencoded();
    test_secret_names();
    test_query();
    test_multipart();
    test_json_body();
    test_encoded_body();
    test_cookies();
    test_in_clear();
    test_cutting();
    test_overflow();
    test_garbage();
    return check_summary();
}
