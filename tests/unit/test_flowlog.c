/* SPDX-License-Identifier: MIT */
/* Unit tests of core/flowlog: the JSON object, the log line and sizes of a
 * hand-built flow. Every JSON output is also run through a strict RFC 8259
 * validator written here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/flow.h"
#include "core/flowlog.h"
#include "check.h"

#define ARROW "\xe2\x86\x92" /* → */
#define UP "\xe2\x86\x91"    /* ↑ */
#define DOWN "\xe2\x86\x93"  /* ↓ */

/* ---- a strict JSON validator -------------------------------------------- */

struct jp {
    const unsigned char *p, *end;
    int depth;
};

static void jp_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool jp_lit(struct jp *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return false;
    j->p += n;
    return true;
}

/* One UTF-8 scalar value (RFC 3629), at least 0x20. */
static bool jp_char(struct jp *j)
{
    const unsigned char *s = j->p;
    size_t left = (size_t)(j->end - s), n;
    uint32_t cp, min;
    if (s[0] < 0x20)
        return false;
    if (s[0] < 0x80)
        n = 1, cp = s[0], min = 0;
    else if ((s[0] & 0xe0) == 0xc0)
        n = 2, cp = s[0] & 0x1fu, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, cp = s[0] & 0x0fu, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, cp = s[0] & 0x07u, min = 0x10000;
    else
        return false;
    if (left < n)
        return false;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return false;
        cp = cp << 6 | (s[k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    j->p += n;
    return true;
}

static bool jp_string(struct jp *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        if (*j->p != '\\') {
            if (!jp_char(j))
                return false;
            continue;
        }
        j->p++;
        if (j->p >= j->end)
            return false;
        if (*j->p == 'u') {
            for (int k = 1; k <= 4; k++)
                if (j->p + k >= j->end || strchr("0123456789abcdefABCDEF", j->p[k]) == NULL ||
                    j->p[k] == '\0')
                    return false;
            j->p += 5;
        } else if (*j->p != '\0' && strchr("\"\\/bfnrt", *j->p) != NULL) {
            j->p++;
        } else {
            return false;
        }
    }
    if (j->p >= j->end)
        return false;
    j->p++;
    return true;
}

static bool jp_number(struct jp *j)
{
    const unsigned char *s = j->p;
    if (s < j->end && *s == '-')
        s++;
    if (s >= j->end || *s < '0' || *s > '9')
        return false;
    if (*s == '0')
        s++;
    else
        while (s < j->end && *s >= '0' && *s <= '9')
            s++;
    if (s < j->end && *s == '.') {
        s++;
        if (s >= j->end || *s < '0' || *s > '9')
            return false;
        while (s < j->end && *s >= '0' && *s <= '9')
            s++;
    }
    if (s < j->end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < j->end && (*s == '+' || *s == '-'))
            s++;
        if (s >= j->end || *s < '0' || *s > '9')
            return false;
        while (s < j->end && *s >= '0' && *s <= '9')
            s++;
    }
    j->p = s;
    return true;
}

static bool jp_value(struct jp *j);

static bool jp_container(struct jp *j, char open, char close, bool object)
{
    if (++j->depth > 64 || j->p >= j->end || *j->p != (unsigned char)open)
        return false;
    j->p++;
    jp_ws(j);
    if (j->p < j->end && *j->p == (unsigned char)close) {
        j->p++;
        j->depth--;
        return true;
    }
    for (;;) {
        jp_ws(j);
        if (object) {
            if (!jp_string(j))
                return false;
            jp_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return false;
            j->p++;
            jp_ws(j);
        }
        if (!jp_value(j))
            return false;
        jp_ws(j);
        if (j->p >= j->end)
            return false;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p != (unsigned char)close)
            return false;
        j->p++;
        j->depth--;
        return true;
    }
}

static bool jp_value(struct jp *j)
{
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{': return jp_container(j, '{', '}', true);
    case '[': return jp_container(j, '[', ']', false);
    case '"': return jp_string(j);
    case 't': return jp_lit(j, "true");
    case 'f': return jp_lit(j, "false");
    case 'n': return jp_lit(j, "null");
    default: return jp_number(j);
    }
}

/* Is s[0..len) exactly one JSON object followed by one '\n'? */
static bool json_line_ok(const char *s, size_t len)
{
    if (len < 3 || s[len - 1] != '\n' || memchr(s, '\n', len - 1) != NULL)
        return false;
    struct jp j = {(const unsigned char *)s, (const unsigned char *)s + len - 1, 0};
    if (*j.p != '{' || !jp_value(&j))
        return false;
    return j.p == j.end;
}

static void test_validator(void)
{
    /* the validator itself must tell good from bad, or it proves nothing */
    static const struct {
        const char *s;
        bool ok;
    } rows[] = {
        {"{}\n", true},
        {"{\"a\":[1,-2.5,3e+2,\"x\\u00ff\\n\",true,false,null,{}]}\n", true},
        {"{\"a\":\"\xc3\xa9\"}\n", true},
        {"{}", false},
        {"{}\n\n", false},
        {"{\"a\":1,}\n", false},
        {"{\"a\" 1}\n", false},
        {"{\"a\":01}\n", false},
        {"{\"a\":1.}\n", false},
        {"{\"a\":\"\x01\"}\n", false},
        {"{\"a\":\"\xff\"}\n", false},
        {"{\"a\":\"\xed\xa0\x80\"}\n", false},
        {"{\"a\":\"\\x41\"}\n", false},
        {"{\"a\":\"\\u00g0\"}\n", false},
        {"{\"a\":\"x}\n", false},
        {"{\"a\":nul}\n", false},
        {"[1]\n", false},
        {"{\"a\":1}x\n", false},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        check_note("validator row %zu", r);
        CHECK_EQ_INT(json_line_ok(rows[r].s, strlen(rows[r].s)), rows[r].ok);
    }
    check_note(NULL);
}

/* ---- flows -------------------------------------------------------------- */

static struct flow *make_flow(uint64_t id)
{
    struct flow *f = flow_new(id);
    if (f == NULL)
        abort();
    /* fixed times so the output is known */
    f->wall_start = 1700000000123456LL;
    f->t_start = 5000000;
    f->t_connected = f->t_resp_start = f->t_end = 0;
    return f;
}

static void add(struct hdrs *h, const char *name, const char *value)
{
    hdrs_add(h, name, strlen(name), value, strlen(value));
}

static void test_json_full(void)
{
    struct flow *f = make_flow(7);
    struct buf out = BUF_INIT;

    snprintf(f->client, sizeof(f->client), "127.0.0.1:53122");
    snprintf(f->server, sizeof(f->server), "93.184.216.34:80");
    snprintf(f->method, sizeof(f->method), "GET");
    flow_set_url(f, "http://a.test:8081/x?y=1", 24);
    f->req_major = 1;
    f->req_minor = 1;
    add(&f->req_headers, "Host", "a.test:8081");
    add(&f->req_headers, "user-agent", "curl/7.88.1");
    add(&f->req_headers, "X-Dup", "1");
    add(&f->req_headers, "x-dup", "2");
    f->status = 200;
    flow_set_reason(f, "OK", 2);
    add(&f->resp_headers, "Server", "nginx");
    add(&f->resp_headers, "Content-Length", "6");
    add(&f->resp_trailers, "Server-Timing", "db;dur=53");
    f->req_size = 0;
    f->resp_size = 6;
    f->t_connected = f->t_start + 412;
    f->t_resp_start = f->t_start + 977;
    f->t_end = f->t_start + 1020;

    buf_puts(&out, "previous line\n"); /* appended to, not replaced */
    flowlog_json(f, &out);
    static const char want[] =
        "previous line\n"
        "{\"id\":7,\"client\":\"127.0.0.1:53122\",\"server\":\"93.184.216.34:80\","
        "\"method\":\"GET\",\"url\":\"http://a.test:8081/x?y=1\",\"http_version\":\"HTTP/1.1\","
        "\"status\":200,\"reason\":\"OK\",\"tls\":false,"
        "\"sni\":null,\"tls_client\":null,\"tls_server\":null,\"server_cert\":null,"
        "\"request_headers\":[[\"Host\",\"a.test:8081\"],[\"user-agent\",\"curl/7.88.1\"],"
        "[\"X-Dup\",\"1\"],[\"x-dup\",\"2\"]],"
        "\"response_headers\":[[\"Server\",\"nginx\"],[\"Content-Length\",\"6\"]],"
        "\"request_trailers\":[],\"response_trailers\":[[\"Server-Timing\",\"db;dur=53\"]],"
        "\"request_size\":0,\"response_size\":6,\"local_reply\":false,"
        "\"timing\":{\"start\":1700000000.123456,\"connect_ms\":0.412,"
        "\"response_start_ms\":0.977,\"total_ms\":1.020},\"cache\":null,"
        "\"exposed\":{\"in_clear\":[{\"kind\":\"url\",\"where\":\"request line\",\"name\":\"\","
        "\"value\":\"http://a.test:8081/x?y=1\"},{\"kind\":\"body\",\"where\":\"response body\","
        "\"name\":\"\",\"value\":\"6 bytes\"}],\"seen_by_lucent\":[],\"flags\":[]},\"error\":null}\n";
    CHECK_EQ_STR(out.p, want);
    size_t skip = strlen("previous line\n");
    CHECK(json_line_ok(out.p + skip, out.len - skip));

    buf_free(&out);
    flow_unref(f);
}

static void test_json_sparse(void)
{
    /* nothing reached: nulls where the README says so */
    struct flow *f = make_flow(18446744073709551615ULL);
    struct buf out = BUF_INIT;
    snprintf(f->client, sizeof(f->client), "[::1]:4000");
    f->tls = true;
    f->local_reply = true;
    f->req_size = 12345678901ULL;
    f->wall_start = 1000000LL * 1700000000 + 7; /* microseconds keep six digits */
    flow_fail(f, "client closed the connection");
    flow_fail(f, "second reason is ignored");
    flowlog_json(f, &out);
    static const char want[] =
        "{\"id\":18446744073709551615,\"client\":\"[::1]:4000\",\"server\":null,"
        "\"method\":\"\",\"url\":\"\",\"http_version\":null,\"status\":null,\"reason\":null,"
        "\"tls\":true,\"sni\":null,\"tls_client\":null,\"tls_server\":null,\"server_cert\":null,"
        "\"request_headers\":[],\"response_headers\":[],\"request_trailers\":[],"
        "\"response_trailers\":[],\"request_size\":12345678901,\"response_size\":0,"
        "\"local_reply\":true,\"timing\":{\"start\":1700000000.000007,\"connect_ms\":null,"
        "\"response_start_ms\":null,\"total_ms\":0.000},"
        "\"cache\":null,\"exposed\":{\"in_clear\":[{\"kind\":\"sizes\",\"where\":\"TLS record "
        "lengths\",\"name\":\"sizes\",\"value\":\"request body 12345678901 bytes, response body 0 "
        "bytes\"}],\"seen_by_lucent\":[],\"flags\":[]},\"error\":\"client closed the connection\"}\n";
    CHECK_EQ_STR(out.p, want);
    CHECK(json_line_ok(out.p, out.len));

    /* the TLS details of an intercepted flow */
    buf_reset(&out);
    snprintf(f->sni, sizeof(f->sni), "a.test");
    snprintf(f->tls_client, sizeof(f->tls_client), "TLSv1.3 TLS_AES_128_GCM_SHA256");
    snprintf(f->tls_server, sizeof(f->tls_server), "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384 (resumed)");
    flow_set_server_cert(f, "subject: CN = a.test; issuer: CN = \"test\" CA");
    flowlog_json(f, &out);
    CHECK(strstr(out.p, "\"tls\":true,\"sni\":\"a.test\",\"tls_client\":\"TLSv1.3 "
                        "TLS_AES_128_GCM_SHA256\",\"tls_server\":\"TLSv1.2 "
                        "ECDHE-ECDSA-AES256-GCM-SHA384 (resumed)\",\"server_cert\":\"subject: CN = "
                        "a.test; issuer: CN = \\\"test\\\" CA\",") != NULL);
    CHECK(json_line_ok(out.p, out.len));
    f->sni[0] = f->tls_client[0] = f->tls_server[0] = '\0';

    /* a status without reason; HTTP/1.0 */
    buf_reset(&out);
    f->status = 502;
    f->req_major = 1;
    f->req_minor = 0;
    flowlog_json(f, &out);
    CHECK(strstr(out.p, ",\"http_version\":\"HTTP/1.0\",\"status\":502,\"reason\":\"\",") != NULL);
    CHECK(json_line_ok(out.p, out.len));
    buf_free(&out);
    flow_unref(f);
}

static void test_json_escaping(void)
{
    struct flow *f = make_flow(3);
    struct buf out = BUF_INIT;
    snprintf(f->client, sizeof(f->client), "127.0.0.1:1");
    snprintf(f->method, sizeof(f->method), "GET");
    flow_set_url(f, "http://a.test/\"q\"\\\x1b[31m\x7f", 24);
    f->status = 200;
    flow_set_reason(f, "O\tK\xff", 4);
    /* odd header bytes: quote, backslash, controls, Latin-1, UTF-8, bad UTF-8 */
    hdrs_add(&f->req_headers, "X-\"Odd\"", 7, "a\"b\\c\x01\n\xff\xc3\xa9\xed\xa0\x80", 13);
    hdrs_add(&f->req_headers, "X-Nul", 5, "a\0b", 3);
    add(&f->resp_headers, "Set-Cookie", "k=\xe2\x82\xac; Path=/");
    flow_fail(f, "bad \"reply\"\r\n from upstream");
    flowlog_json(f, &out);

    CHECK(json_line_ok(out.p, out.len));
    CHECK(strstr(out.p, "\"url\":\"http://a.test/\\\"q\\\"\\\\\\u001b[31m\x7f\"") != NULL);
    CHECK(strstr(out.p, "\"reason\":\"O\\tK\\u00ff\"") != NULL);
    CHECK(strstr(out.p, "\"request_headers\":[[\"X-\\\"Odd\\\"\","
                        "\"a\\\"b\\\\c\\u0001\\n\\u00ff\xc3\xa9\\u00ed\\u00a0\\u0080\"],"
                        "[\"X-Nul\",\"a\\u0000b\"]]") != NULL);
    CHECK(strstr(out.p, "\"response_headers\":[[\"Set-Cookie\",\"k=\xe2\x82\xac; Path=/\"]]") !=
          NULL);
    CHECK(strstr(out.p, "\"error\":\"bad \\\"reply\\\"\\r\\n from upstream\"}\n") != NULL);
    buf_free(&out);
    flow_unref(f);
}

/* ---- the log line ------------------------------------------------------- */

static void test_line(void)
{
    static const struct {
        const char *client, *method, *url;
        int status;
        const char *reason, *error;
        bool connect;
        uint64_t req_size, resp_size;
        int64_t duration_us; /* -1: t_end not set */
        const char *want;
    } rows[] = {
        {"127.0.0.1:5", "GET", "http://a.test/x", 200, "OK", NULL, false, 0, 1229, 3000,
         "127.0.0.1:5 GET http://a.test/x " ARROW " 200 OK 1.2 KiB 3 ms\n"},
        {"127.0.0.1:5", "POST", "http://a.test/", 201, "Created", NULL, false, 99, 0, 2499,
         "127.0.0.1:5 POST http://a.test/ " ARROW " 201 Created 0 B 2 ms\n"},
        {"127.0.0.1:5", "GET", "http://a.test/", 404, "Not Found", NULL, false, 0, 1023, 2500,
         "127.0.0.1:5 GET http://a.test/ " ARROW " 404 Not Found 1023 B 3 ms\n"},
        {"[::1]:80", "HEAD", "http://a.test/", 304, "", NULL, false, 0, 0, -1,
         "[::1]:80 HEAD http://a.test/ " ARROW " 304 0 B 0 ms\n"},
        {"127.0.0.1:5", "GET", "http://a.test/", 502, "Bad Gateway",
         "cannot connect to a.test:80: Connection refused", false, 0, 0, 1234567,
         "127.0.0.1:5 GET http://a.test/ " ARROW
         " 502 cannot connect to a.test:80: Connection refused 1235 ms\n"},
        {"127.0.0.1:5", "GET", "http://a.test/", 0, NULL, "client closed the connection", false,
         0, 0, 500,
         "127.0.0.1:5 GET http://a.test/ " ARROW " - client closed the connection 1 ms\n"},
        {"127.0.0.1:5", "CONNECT", "a.test:443", 200, "Connection established", NULL, true, 512,
         1536, 10000,
         "127.0.0.1:5 CONNECT a.test:443 " ARROW " 200 " UP "512 B " DOWN "1.5 KiB 10 ms\n"},
        {"127.0.0.1:5", "", "", 0, NULL, NULL, false, 0, 0, 0,
         "127.0.0.1:5 - - " ARROW " - 0 B 0 ms\n"},
        {"127.0.0.1:5", "GET", "http://a.test/\x1b[2J\x7f\xc3\xa9", 200, "O\tK\r", NULL, false, 0,
         1048576 + 524288, 999,
         "127.0.0.1:5 GET http://a.test/\\x1b[2J\\x7f\xc3\xa9 " ARROW
         " 200 O\\x09K\\x0d 1.5 MiB 1 ms\n"},
        {"127.0.0.1:5", "GET", "http://a.test/", 0, NULL, "bad\nline", false, 0, 0, 0,
         "127.0.0.1:5 GET http://a.test/ " ARROW " - bad\\x0aline 0 ms\n"},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct flow *f = make_flow(r + 1);
        struct buf out = BUF_INIT;
        snprintf(f->client, sizeof(f->client), "%s", rows[r].client);
        snprintf(f->method, sizeof(f->method), "%s", rows[r].method);
        flow_set_url(f, rows[r].url, strlen(rows[r].url));
        f->status = rows[r].status;
        if (rows[r].reason != NULL)
            flow_set_reason(f, rows[r].reason, strlen(rows[r].reason));
        if (rows[r].error != NULL)
            flow_fail(f, "%s", rows[r].error);
        f->connect = rows[r].connect;
        f->req_size = rows[r].req_size;
        f->resp_size = rows[r].resp_size;
        if (rows[r].duration_us >= 0)
            f->t_end = f->t_start + rows[r].duration_us;
        check_note("row %zu", r);
        flowlog_line(f, &out);
        CHECK_EQ_STR(out.p, rows[r].want);
        buf_free(&out);
        flow_unref(f);
    }
    check_note(NULL);

    /* no URL at all (a flow that failed before one was known) */
    struct flow *f = make_flow(99);
    struct buf out = BUF_INIT;
    buf_puts(&out, ">");
    snprintf(f->client, sizeof(f->client), "127.0.0.1:9");
    flowlog_line(f, &out);
    CHECK_EQ_STR(out.p, ">127.0.0.1:9 - - " ARROW " - 0 B 0 ms\n");
    buf_free(&out);
    flow_unref(f);
}

/* ---- sizes -------------------------------------------------------------- */

static void test_size(void)
{
    static const struct {
        uint64_t n;
        const char *want;
    } rows[] = {
        {0, "0 B"},
        {1, "1 B"},
        {512, "512 B"},
        {1023, "1023 B"},
        {1024, "1.0 KiB"},
        {1229, "1.2 KiB"},
        {1536, "1.5 KiB"},
        {10240, "10.0 KiB"},
        {1048576, "1.0 MiB"},
        {1572864, "1.5 MiB"},
        {3565158, "3.4 MiB"},
        {1073741824ULL, "1.0 GiB"},
        {1099511627776ULL, "1.0 TiB"},
        {1099511627776ULL * 2048, "2048.0 TiB"},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct buf out = BUF_INIT;
        buf_puts(&out, "[");
        flowlog_size(rows[r].n, &out);
        check_note("row %zu: %llu", r, (unsigned long long)rows[r].n);
        CHECK_EQ_INT(out.p[0], '[');
        CHECK_EQ_STR(out.p + 1, rows[r].want);
        buf_free(&out);
    }
    check_note(NULL);

    /* just under a unit boundary rounds up to "1024.0 KiB" instead of the next unit */
    struct buf out = BUF_INIT;
    flowlog_size(1048575, &out);
    CHECK_EQ_STR(out.p, "1.0 MiB");
    buf_free(&out);
}

/* A verdict made when the flow finished shows on the line and in the JSON. */
static void test_cache_verdict(void)
{
    struct flow *f = make_flow(9);
    struct buf out = BUF_INIT;
    snprintf(f->method, sizeof(f->method), "GET");
    flow_set_url(f, "http://a.test/", 14);
    f->status = 200;
    f->req_major = f->req_minor = f->resp_major = f->resp_minor = 1;
    f->t_resp_start = f->t_end = f->t_start + 1000;
    hdrs_add(&f->resp_headers, "Cache-Control", 13, "max-age=3600", 12);
    hdrs_add(&f->resp_headers, "ETag", 4, "\"v1\"", 4);
    f->cache_at = f->wall_start / 1000000;
    flowlog_line(f, &out);
    CHECK(strstr(out.p, " ms \xc2\xb7 fresh 1h (max-age)") != NULL);
    buf_reset(&out);
    flowlog_json(f, &out);
    CHECK(json_line_ok(out.p, out.len));
    CHECK(strstr(out.p, "\"cache\":{\"tag\":\"fresh\"") != NULL);
    buf_free(&out);
    flow_unref(f);
}

int main(void)
{
    test_validator();
    test_cache_verdict();
    test_json_full();
    test_json_sparse();
    test_json_escaping();
    test_line();
    test_size();
    return check_summary();
}
