/* SPDX-License-Identifier: MIT */
/* Unit tests of core/explain: the teaching notes. Coverage first: every
 * status code hook_reason() names has its own text in every language (not
 * the class fallback), and the same codes do; every header name with a note
 * in one language has one in all, found in any letter case. The texts are
 * valid UTF-8; the Chinese ones contain CJK characters and the English ones
 * none (so a missing Chinese row cannot hide behind the English fallback).
 * Then hand-built flows: the pane names the status, every field once (with
 * "no note yet" for unknown ones) and exactly the topics that apply, in
 * both languages. Last, parsing language names and the locale variables. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/explain.h"
#include "core/flow.h"
#include "core/hdrs.h"
#include "core/hook.h"
#include "check.h"

/* ---- UTF-8 ---------------------------------------------------------------- */

/* Decodes one strict UTF-8 sequence at s (no overlongs, surrogates or values
 * past U+10FFFF); returns its length and the code point, 0 when invalid. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n;
    uint32_t c;

    if (len == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, c = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, c = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, c = s[0] & 0x07;
    else
        return 0;
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

static bool is_cjk(uint32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf);
}

/* Valid UTF-8 without control characters (tabs and newlines allowed only
 * when `lines`); counts CJK code points into *cjk. */
static bool text_ok(const char *s, bool lines, size_t *cjk)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);

    *cjk = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t n = utf8_next(p + i, len - i, &c);
        if (n == 0)
            return false;
        if ((c < 0x20 && !(lines && c == '\n')) || c == 0x7f)
            return false;
        if (is_cjk(c))
            (*cjk)++;
        i += n;
    }
    return true;
}

static void test_utf8_checker(void)
{
    size_t cjk;
    CHECK(text_ok("plain", false, &cjk) && cjk == 0);
    CHECK(text_ok("\xe7\xbc\x93\xe5\xad\x98", false, &cjk) && cjk == 2); /* 缓存 */
    CHECK(!text_ok("\xe7\xbc", false, &cjk));                            /* cut short */
    CHECK(!text_ok("\xc0\xaf", false, &cjk));                            /* overlong '/' */
    CHECK(!text_ok("\xed\xa0\x80", false, &cjk));                        /* surrogate */
    CHECK(!text_ok("\xff", false, &cjk));
    CHECK(!text_ok("a\nb", false, &cjk));
    CHECK(text_ok("a\nb", true, &cjk));
}

/* One language's text: non-empty, clean, Chinese in Chinese, none in English. */
static void check_text(const char *s, enum explain_lang l, const char *what)
{
    size_t cjk = 0;
    check_note("%s (%s)", what, explain_lang_name(l));
    if (!CHECK(s != NULL))
        return;
    CHECK(s[0] != '\0');
    CHECK(text_ok(s, false, &cjk));
    if (l == EXPLAIN_ZH)
        CHECK(cjk > 0);
    else
        CHECK_EQ_INT(cjk, 0);
}

/* ---- coverage ---------------------------------------------------------------- */

static void test_statuses(void)
{
    int named = 0;
    char what[64];

    for (int code = 100; code <= 599; code++) {
        bool known = hook_reason(code)[0] != '\0';
        named += known;
        for (int l = 0; l < EXPLAIN_LANGS; l++) {
            const char *s = explain_status(code, (enum explain_lang)l);
            /* x99 has no row anywhere: it gives the class text */
            const char *cls = explain_status(code / 100 * 100 + 99, (enum explain_lang)l);
            snprintf(what, sizeof(what), "status %d", code);
            check_text(s, (enum explain_lang)l, what);
            if (known)
                CHECK(s != cls); /* a text of its own, not the fallback */
            /* the same codes have their own text in every language */
            bool own = s != cls;
            bool own_en = explain_status(code, EXPLAIN_EN) !=
                          explain_status(code / 100 * 100 + 99, EXPLAIN_EN);
            CHECK_EQ_INT(own, own_en);
        }
    }
    check_note(NULL);
    CHECK(named >= 50);

    /* classes are distinct, and outside 100..599 there is a generic sentence */
    for (int l = 0; l < EXPLAIN_LANGS; l++) {
        enum explain_lang lg = (enum explain_lang)l;
        const char *generic = explain_status(600, lg);
        check_text(generic, lg, "generic");
        CHECK(explain_status(0, lg) == generic);
        CHECK(explain_status(-1, lg) == generic);
        CHECK(explain_status(99, lg) == generic);
        CHECK(explain_status(1000, lg) == generic);
        for (int c = 1; c <= 5; c++) {
            const char *cls = explain_status(c * 100 + 99, lg);
            check_text(cls, lg, "class");
            CHECK(cls != generic);
            CHECK(explain_status(c * 100 + 98, lg) == cls);
            for (int d = 1; d < c; d++)
                CHECK(explain_status(d * 100 + 99, lg) != cls);
        }
    }
    check_note(NULL);
    /* a few spot checks of content */
    CHECK(strstr(explain_status(304, EXPLAIN_EN), "If-None-Match") != NULL);
    CHECK(strstr(explain_status(101, EXPLAIN_ZH), "WebSocket") != NULL);
    CHECK(strstr(explain_status(404, EXPLAIN_ZH), "地址") != NULL);
    CHECK(explain_status(404, (enum explain_lang)7) == explain_status(404, EXPLAIN_EN));
}

static void test_headers(void)
{
    char what[160];

    CHECK(explain_header_count(EXPLAIN_EN) >= 70);
    CHECK_EQ_INT(explain_header_count(EXPLAIN_ZH), explain_header_count(EXPLAIN_EN));
    CHECK(explain_header_name(explain_header_count(EXPLAIN_EN), EXPLAIN_EN) == NULL);

    for (int l = 0; l < EXPLAIN_LANGS; l++) {
        size_t n = explain_header_count((enum explain_lang)l);
        for (size_t i = 0; i < n; i++) {
            const char *name = explain_header_name(i, (enum explain_lang)l);
            char upper[80], lower[80];
            size_t len;

            check_note("header %zu of %s", i, explain_lang_name((enum explain_lang)l));
            if (!CHECK(name != NULL && name[0] != '\0'))
                continue;
            len = strlen(name);
            CHECK(len < sizeof(upper));
            /* no name twice in one table */
            for (size_t j = 0; j < i; j++)
                CHECK(strcasecmp(explain_header_name(j, (enum explain_lang)l), name) != 0);
            /* every language has it, with a clean text of its own */
            for (int m = 0; m < EXPLAIN_LANGS; m++) {
                snprintf(what, sizeof(what), "header %s", name);
                check_text(explain_header(name, (enum explain_lang)m), (enum explain_lang)m, what);
            }
            /* any letter case finds the same text; so does a counted name */
            for (size_t k = 0; k <= len && k < sizeof(upper); k++) {
                char c = name[k];
                upper[k] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
                lower[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            }
            for (int m = 0; m < EXPLAIN_LANGS; m++) {
                const char *s = explain_header(name, (enum explain_lang)m);
                CHECK(explain_header(upper, (enum explain_lang)m) == s);
                CHECK(explain_header(lower, (enum explain_lang)m) == s);
                char padded[96];
                snprintf(padded, sizeof(padded), "%sX", name);
                CHECK(explain_header_n(padded, len, (enum explain_lang)m) == s);
                CHECK(explain_header(padded, (enum explain_lang)m) == NULL);
            }
            /* prefixes are not matches */
            snprintf(what, sizeof(what), "%.*s", (int)(len - 1), name);
            CHECK(explain_header(what, EXPLAIN_EN) != explain_header(name, EXPLAIN_EN));
        }
    }
    check_note(NULL);

    /* the fields the pane is expected to know */
    static const char *const must[] = {"Host",
                                       "User-Agent",
                                       "Accept",
                                       "Accept-Encoding",
                                       "Accept-Language",
                                       "Cookie",
                                       "Set-Cookie",
                                       "Authorization",
                                       "Cache-Control",
                                       "Expires",
                                       "ETag",
                                       "Last-Modified",
                                       "If-None-Match",
                                       "If-Modified-Since",
                                       "Age",
                                       "Vary",
                                       "Pragma",
                                       "Content-Type",
                                       "Content-Length",
                                       "Content-Encoding",
                                       "Transfer-Encoding",
                                       "Connection",
                                       "Keep-Alive",
                                       "Upgrade",
                                       "Sec-WebSocket-Key",
                                       "Sec-WebSocket-Accept",
                                       "Sec-WebSocket-Version",
                                       "Sec-WebSocket-Protocol",
                                       "Location",
                                       "Referer",
                                       "Origin",
                                       "Access-Control-Allow-Origin",
                                       "Access-Control-Allow-Methods",
                                       "Access-Control-Allow-Headers",
                                       "Access-Control-Allow-Credentials",
                                       "Access-Control-Request-Method",
                                       "Strict-Transport-Security",
                                       "Content-Security-Policy",
                                       "X-Frame-Options",
                                       "X-Content-Type-Options",
                                       "Referrer-Policy",
                                       "Server",
                                       "Date",
                                       "Range",
                                       "Content-Range",
                                       "Accept-Ranges",
                                       "Expect",
                                       "Via",
                                       "X-Forwarded-For",
                                       "X-Forwarded-Proto",
                                       "X-Forwarded-Host",
                                       "Forwarded",
                                       "Alt-Svc",
                                       "Link",
                                       "Retry-After",
                                       "WWW-Authenticate",
                                       "Proxy-Authenticate",
                                       "Proxy-Authorization",
                                       "TE",
                                       "Trailer",
                                       "DNT",
                                       "Sec-Fetch-Site",
                                       "Sec-Fetch-Mode",
                                       "Sec-Fetch-Dest",
                                       "Sec-Fetch-User",
                                       "Upgrade-Insecure-Requests",
                                       "Priority",
                                       "Content-Disposition"};
    for (size_t i = 0; i < LC_ARRAY_LEN(must); i++) {
        check_note("must know %s", must[i]);
        CHECK(explain_header(must[i], EXPLAIN_EN) != NULL);
        CHECK(explain_header(must[i], EXPLAIN_ZH) != NULL);
    }
    check_note(NULL);

    CHECK(explain_header("hOsT", EXPLAIN_EN) == explain_header("HOST", EXPLAIN_EN));
    CHECK(explain_header("content-TYPE", EXPLAIN_ZH) == explain_header("Content-Type", EXPLAIN_ZH));
    CHECK(explain_header("X-Made-Up", EXPLAIN_EN) == NULL);
    CHECK(explain_header("X-Made-Up", EXPLAIN_ZH) == NULL);
    CHECK(explain_header("", EXPLAIN_EN) == NULL);
    CHECK(explain_header_n("Hos", 3, EXPLAIN_EN) == NULL);
    CHECK(explain_header("Host ", EXPLAIN_EN) == NULL);
    CHECK(explain_header("H\xc3\xb6st", EXPLAIN_EN) == NULL);
}

static void test_topics(void)
{
    for (int t = 0; t < EXPLAIN_TOPICS; t++) {
        for (int l = 0; l < EXPLAIN_LANGS; l++) {
            char what[32];
            snprintf(what, sizeof(what), "topic %d", t);
            check_text(explain_topic((enum explain_topic)t, (enum explain_lang)l),
                       (enum explain_lang)l, what);
            snprintf(what, sizeof(what), "topic title %d", t);
            const char *title = explain_topic_title((enum explain_topic)t, (enum explain_lang)l);
            check_text(title, (enum explain_lang)l, what);
            for (int u = 0; u < t; u++)
                CHECK(strcmp(title, explain_topic_title((enum explain_topic)u,
                                                        (enum explain_lang)l)) != 0);
        }
    }
    check_note(NULL);
    CHECK_EQ_STR(explain_topic(EXPLAIN_TOPICS, EXPLAIN_EN), "");
    CHECK_EQ_STR(explain_topic_title((enum explain_topic) - 1, EXPLAIN_ZH), "");

    /* what the brief asked each topic to cover */
    const char *s = explain_topic(EXPLAIN_TOPIC_KEEPALIVE, EXPLAIN_EN);
    CHECK(strstr(s, "head-of-line") != NULL && strstr(s, "HTTP/1.1") != NULL);
    CHECK(strstr(explain_topic(EXPLAIN_TOPIC_KEEPALIVE, EXPLAIN_ZH), "队头阻塞") != NULL);
    s = explain_topic(EXPLAIN_TOPIC_METHODS, EXPLAIN_EN);
    CHECK(strstr(s, "idempotent") != NULL && strstr(s, "Expect: 100-continue") != NULL);
    CHECK(strstr(explain_topic(EXPLAIN_TOPIC_METHODS, EXPLAIN_ZH), "幂等") != NULL);
    CHECK(strstr(explain_topic(EXPLAIN_TOPIC_COOKIES, EXPLAIN_EN), "Set-Cookie") != NULL);
    CHECK(strstr(explain_topic_title(EXPLAIN_TOPIC_COOKIES, EXPLAIN_ZH), "无状态") != NULL);
    CHECK(strstr(explain_topic(EXPLAIN_TOPIC_WEBSOCKET, EXPLAIN_EN), "101") != NULL);
    CHECK(strstr(explain_topic(EXPLAIN_TOPIC_TLS, EXPLAIN_EN), "SNI") != NULL);
    CHECK(strstr(explain_topic(EXPLAIN_TOPIC_CACHE, EXPLAIN_EN), "Details") != NULL);
    CHECK(strstr(explain_topic(EXPLAIN_TOPIC_REDIRECTS, EXPLAIN_ZH), "Location") != NULL);
}

/* ---- flows ------------------------------------------------------------------ */

static void add(struct hdrs *h, const char *name, const char *value)
{
    hdrs_add(h, name, strlen(name), value, strlen(value));
}

static struct flow *mkflow(const char *method, const char *url, int status, bool tls)
{
    struct flow *f = flow_new(1);
    if (f == NULL)
        abort();
    snprintf(f->method, sizeof(f->method), "%s", method);
    flow_set_url(f, url, strlen(url));
    f->req_major = f->resp_major = 1;
    f->req_minor = f->resp_minor = 1;
    f->tls = tls;
    f->status = status;
    if (status != 0 && hook_reason(status)[0] != '\0')
        flow_set_reason(f, hook_reason(status), strlen(hook_reason(status)));
    return f;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + len, needle))
        n++;
    return n;
}

/* Builds the pane in both languages and checks it: clean lines, the status
 * text, exactly `topics` among the topic titles, and the given substrings
 * (in each language). Appends the English pane to en when given. */
static void check_pane(const struct flow *f, unsigned topics, const char *const *en_has,
                       const char *const *zh_has, struct buf *en)
{
    CHECK_EQ_INT(explain_flow_topics(f), topics);
    for (int l = 0; l < EXPLAIN_LANGS; l++) {
        enum explain_lang lg = (enum explain_lang)l;
        struct buf out = BUF_INIT;
        size_t cjk;

        explain_flow(f, lg, &out);
        if (!CHECK(out.len > 0 && out.p[out.len - 1] == '\n'))
            goto next;
        CHECK(text_ok(out.p, true, &cjk));
        CHECK(lg == EXPLAIN_ZH ? cjk > 0 : cjk == 0);
        CHECK_EQ_INT(strlen(out.p), out.len);
        if (f->status != 0)
            CHECK(strstr(out.p, explain_status(f->status, lg)) != NULL);
        for (int t = 0; t < EXPLAIN_TOPICS; t++) {
            bool want = (topics >> t) & 1u;
            check_note("%s topic %s", explain_lang_name(lg),
                       explain_topic_title((enum explain_topic)t, EXPLAIN_EN));
            CHECK_EQ_INT(strstr(out.p, explain_topic((enum explain_topic)t, lg)) != NULL, want);
            char line[160]; /* the title as a line of its own: words recur in the notes */
            snprintf(line, sizeof(line), "\n%s\n", explain_topic_title((enum explain_topic)t, lg));
            CHECK_EQ_INT(strstr(out.p, line) != NULL, want);
        }
        check_note(NULL);
        for (const char *const *s = lg == EXPLAIN_EN ? en_has : zh_has; s && *s; s++) {
            check_note("%s pane has \"%s\"", explain_lang_name(lg), *s);
            CHECK(strstr(out.p, *s) != NULL);
        }
        check_note(NULL);
        if (lg == EXPLAIN_EN && en != NULL)
            buf_append(en, out.p, out.len);
    next:
        buf_free(&out);
    }
}

#define T(x) (1u << EXPLAIN_TOPIC_##x)

static void test_flow_cookies_tls(void)
{
    struct flow *f = mkflow("GET", "https://shop.example/cart", 200, true);
    add(&f->req_headers, "Host", "shop.example");
    add(&f->req_headers, "cookie", "sid=1");
    add(&f->req_headers, "X-Made-Up", "1");
    add(&f->resp_headers, "Set-Cookie", "a=1");
    add(&f->resp_headers, "SET-COOKIE", "b=2");
    add(&f->resp_headers, "Cache-Control", "private, max-age=60");
    add(&f->resp_headers, "Content-Type", "text/html");

    static const char *const en[] = {"200 OK",
                                     "Request headers",
                                     "Response headers",
                                     "X-Made-Up \xe2\x80\x94 no note yet",
                                     "GET https://shop.example/cart HTTP/1.1",
                                     NULL};
    static const char *const zh[] = {"200 OK", "请求头", "响应头",
                                     "X-Made-Up \xe2\x80\x94 暂无说明", NULL};
    struct buf out = BUF_INIT;
    check_pane(f, T(COOKIES) | T(TLS) | T(CACHE), en, zh, &out);
    if (out.p != NULL) {
        /* every field once, spelt as it came, with its note */
        CHECK_EQ_INT(count(out.p, "Set-Cookie \xe2\x80\x94"), 1);
        CHECK_EQ_INT(count(out.p, "SET-COOKIE"), 0);
        CHECK(strstr(out.p, "  cookie \xe2\x80\x94 ") != NULL);
        CHECK(strstr(out.p, explain_header("Cookie", EXPLAIN_EN)) != NULL);
        CHECK(strstr(out.p, explain_header("Host", EXPLAIN_EN)) != NULL);
        CHECK_EQ_INT(count(out.p, "no note yet"), 1);
        /* the request section comes before the response section */
        CHECK(strstr(out.p, "Request headers") < strstr(out.p, "Response headers"));
    }
    buf_free(&out);
    flow_unref(f);

    /* a cache tag alone brings the caching topic, with the verdict */
    f = mkflow("GET", "https://x.example/a.css", 200, true);
    snprintf(f->cache, sizeof(f->cache), "hit");
    static const char *const en2[] = {"lucent's cache verdict for this flow: hit\n", NULL};
    static const char *const zh2[] = {"lucent 对这个流的缓存结论：hit\n", NULL};
    check_pane(f, T(TLS) | T(CACHE), en2, zh2, NULL);
    flow_unref(f);
}

static void test_flow_post_redirect(void)
{
    struct flow *f = mkflow("POST", "http://forum.example/post", 303, false);
    add(&f->req_headers, "Host", "forum.example");
    add(&f->req_headers, "Content-Length", "10");
    add(&f->req_headers, "Expect", "100-continue");
    add(&f->req_headers, "Connection", "keep-alive");
    add(&f->resp_headers, "Location", "/thread/7");
    add(&f->resp_headers, "Content-Length", "0");

    static const char *const en[] = {"303 See Other", "POST http://forum.example/post", NULL};
    static const char *const zh[] = {"303 See Other", "重定向", NULL};
    check_pane(f, T(METHODS) | T(KEEPALIVE) | T(PLAIN) | T(REDIRECTS), en, zh, NULL);
    flow_unref(f);

    /* the body alone, or the method alone, bring the methods topic */
    f = mkflow("PUT", "http://x.example/a", 204, false);
    check_pane(f, T(METHODS) | T(PLAIN), NULL, NULL, NULL);
    flow_unref(f);
    f = mkflow("OPTIONS", "http://x.example/a", 200, false);
    f->req_size = 3;
    check_pane(f, T(METHODS) | T(PLAIN), NULL, NULL, NULL);
    flow_unref(f);
    f = mkflow("GET", "http://x.example/a", 200, false);
    add(&f->req_headers, "Content-Length", "000");
    add(&f->resp_headers, "Connection", "close");
    check_pane(f, T(PLAIN) | T(KEEPALIVE), NULL, NULL, NULL);
    flow_unref(f);
}

static void test_flow_websocket(void)
{
    struct flow *f = mkflow("GET", "http://chat.example/ws", 101, false);
    add(&f->req_headers, "Host", "chat.example");
    add(&f->req_headers, "Upgrade", "websocket");
    add(&f->req_headers, "Connection", "Upgrade");
    add(&f->req_headers, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    add(&f->req_headers, "Sec-WebSocket-Version", "13");
    add(&f->resp_headers, "Upgrade", "websocket");
    add(&f->resp_headers, "Connection", "Upgrade");
    add(&f->resp_headers, "Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    static const char *const en[] = {"101 Switching Protocols", "Sec-WebSocket-Accept \xe2\x80\x94",
                                     NULL};
    static const char *const zh[] = {"101 Switching Protocols", "WebSocket", NULL};
    check_pane(f, T(WEBSOCKET) | T(PLAIN), en, zh, NULL);
    flow_unref(f);
}

static void test_flow_tunnel_and_failures(void)
{
    /* a CONNECT: the tunnel topic, no observer topic, no cache */
    struct flow *f = mkflow("CONNECT", "bank.example:443", 200, false);
    f->connect = true;
    f->local_reply = true;
    flow_set_reason(f, "Connection established", 22);
    add(&f->req_headers, "Host", "bank.example:443");
    static const char *const en[] = {"200 Connection established", "came from lucent", NULL};
    static const char *const zh[] = {"200 Connection established", "lucent 自己", NULL};
    check_pane(f, T(TUNNEL), en, zh, NULL);
    flow_unref(f);

    /* no response at all */
    f = mkflow("GET", "http://down.example/", 0, false);
    flow_fail(f, "connection refused");
    static const char *const en0[] = {"No response", "connection refused", NULL};
    static const char *const zh0[] = {"没有响应", "connection refused", NULL};
    check_pane(f, T(PLAIN), en0, zh0, NULL);
    flow_unref(f);

    /* an unlisted code gets its class text; a 304 is about caching too */
    f = mkflow("GET", "https://x.example/", 299, true);
    static const char *const en2[] = {"299\n", NULL};
    check_pane(f, T(TLS), en2, NULL, NULL);
    CHECK(explain_status(299, EXPLAIN_EN) == explain_status(250, EXPLAIN_EN));
    flow_unref(f);
    f = mkflow("GET", "https://x.example/logo.png", 304, true);
    add(&f->req_headers, "If-None-Match", "\"v1\"");
    add(&f->resp_headers, "ETag", "\"v1\"");
    check_pane(f, T(TLS) | T(CACHE) | T(REDIRECTS), NULL, NULL, NULL);
    flow_unref(f);

    /* an empty flow: no method, no URL, no fields */
    f = flow_new(9);
    if (f != NULL) {
        check_pane(f, T(PLAIN), NULL, NULL, NULL);
        flow_unref(f);
    }
}

/* Every known field in one flow: every line of the pane has a note. */
static void test_flow_all_fields(void)
{
    struct flow *f = mkflow("GET", "https://all.example/", 200, true);
    size_t n = explain_header_count(EXPLAIN_EN);
    for (size_t i = 0; i < n; i++)
        add(i % 2 ? &f->resp_headers : &f->req_headers, explain_header_name(i, EXPLAIN_EN), "x");
    for (int l = 0; l < EXPLAIN_LANGS; l++) {
        struct buf out = BUF_INIT;
        explain_flow(f, (enum explain_lang)l, &out);
        CHECK(out.p != NULL && strstr(out.p, l == EXPLAIN_EN ? "no note yet" : "暂无说明") == NULL);
        CHECK(out.p != NULL && count(out.p, " \xe2\x80\x94 ") == n);
        buf_free(&out);
    }
    flow_unref(f);
}

/* ---- languages -------------------------------------------------------------- */

static void test_langs(void)
{
    static const struct {
        const char *s;
        enum explain_lang want;
    } rows[] = {
        {"zh", EXPLAIN_ZH},
        {"ZH", EXPLAIN_ZH},
        {"zh_CN.UTF-8", EXPLAIN_ZH},
        {"zh_TW", EXPLAIN_ZH},
        {"zh-Hans", EXPLAIN_ZH},
        {"zh_CN.GB18030", EXPLAIN_ZH},
        {"zh@pinyin", EXPLAIN_ZH},
        {"en", EXPLAIN_EN},
        {"en_US.UTF-8", EXPLAIN_EN},
        {"C", EXPLAIN_EN},
        {"C.UTF-8", EXPLAIN_EN},
        {"POSIX", EXPLAIN_EN},
        {"", EXPLAIN_EN},
        {"z", EXPLAIN_EN},
        {"zhx", EXPLAIN_EN},
        {"fr_FR.UTF-8", EXPLAIN_EN},
        {"ja_JP.UTF-8", EXPLAIN_EN},
        {NULL, EXPLAIN_EN},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(rows); i++) {
        check_note("lang \"%s\"", rows[i].s ? rows[i].s : "(null)");
        CHECK_EQ_INT(explain_lang_from(rows[i].s), rows[i].want);
    }
    check_note(NULL);
    CHECK_EQ_STR(explain_lang_name(EXPLAIN_EN), "en");
    CHECK_EQ_STR(explain_lang_name(EXPLAIN_ZH), "zh");
    CHECK_EQ_STR(explain_lang_name(EXPLAIN_LANGS), "en");

    /* LC_ALL, then LC_MESSAGES, then LANG; empty ones are skipped */
    unsetenv("LC_ALL");
    unsetenv("LC_MESSAGES");
    unsetenv("LANG");
    CHECK_EQ_INT(explain_lang_default(), EXPLAIN_EN);
    setenv("LANG", "zh_CN.UTF-8", 1);
    CHECK_EQ_INT(explain_lang_default(), EXPLAIN_ZH);
    setenv("LC_MESSAGES", "en_GB.UTF-8", 1);
    CHECK_EQ_INT(explain_lang_default(), EXPLAIN_EN);
    setenv("LC_ALL", "zh_SG", 1);
    CHECK_EQ_INT(explain_lang_default(), EXPLAIN_ZH);
    setenv("LC_ALL", "", 1);
    CHECK_EQ_INT(explain_lang_default(), EXPLAIN_EN);
    setenv("LC_MESSAGES", "", 1);
    CHECK_EQ_INT(explain_lang_default(), EXPLAIN_ZH);
    setenv("LC_ALL", "C", 1);
    CHECK_EQ_INT(explain_lang_default(), EXPLAIN_EN);
    unsetenv("LC_ALL");
    unsetenv("LC_MESSAGES");
    unsetenv("LANG");
}

int main(void)
{
    test_utf8_checker();
    test_statuses();
    test_headers();
    test_topics();
    test_flow_cookies_tls();
    test_flow_post_redirect();
    test_flow_websocket();
    test_flow_tunnel_and_failures();
    test_flow_all_fields();
    test_langs();
    return check_summary();
}
