/* SPDX-License-Identifier: MIT */
/* Unit tests of core/filter: the flow filter language. A table of
 * expressions is run against six hand-built flows (plain, TLS with a gzip
 * body, CONNECT, IPv6 with NUL bytes in a body, userinfo with a corrupt gzip
 * body, origin-form with a Host field), each row saying which of them must
 * match; a second table holds parse errors with their positions. Then the
 * limits (deep nesting, long chains), every prefix of many expressions and
 * random expressions (no crash, no leak under ASan), concurrent matching of
 * one filter from several threads, and the help text. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/filter.h"
#include "core/flow.h"
#include "core/hdrs.h"
#include "check.h"

#define NFLOWS 6

static struct flow *flows[NFLOWS];

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

static struct flow *mkflow(const char *method, const char *url, int status)
{
    struct flow *f = flow_new(flow_next_id());
    if (f == NULL)
        abort();
    snprintf(f->method, sizeof(f->method), "%s", method);
    flow_set_url(f, url, strlen(url));
    f->status = status;
    if (status != 0)
        flow_set_reason(f, "Whatever", 8);
    f->state = FLOW_DONE;
    return f;
}

static void make_flows(void)
{
    struct flow *f;

    /* 0: plain GET, HTML response */
    f = flows[0] = mkflow("GET", "http://example.com/index.html", 200);
    add_hdr(&f->req_headers, "Host", "example.com");
    add_hdr(&f->req_headers, "User-Agent", "curl/8.5.0");
    add_hdr(&f->resp_headers, "Content-Type", "text/html; charset=utf-8");
    buf_puts(&f->resp_body, "<html>hello world, say \"hi\"</html>");
    snprintf(f->cache, sizeof(f->cache), "stale-304");

    /* 1: TLS POST with a JSON request and a gzip response */
    f = flows[1] = mkflow("POST", "https://api.test:8443/v1/items?id=5", 201);
    f->tls = true;
    add_hdr(&f->req_headers, "Content-Type", "application/json");
    buf_puts(&f->req_body, "{\"name\":\"widget\"}");
    add_hdr(&f->resp_headers, "Content-Type", "text/plain");
    add_hdr(&f->resp_headers, "Content-Encoding", "gzip");
    static const char created[] = "created secret-token\n";
    gzip_into(&f->resp_body, created, sizeof(created) - 1);
    snprintf(f->cache, sizeof(f->cache), "HIT");

    /* 2: a CONNECT that failed */
    f = flows[2] = mkflow("CONNECT", "tunnel.example.org:443", 0);
    f->connect = true;
    flow_fail(f, "upstream refused");

    /* 3: IPv6, 304, replayed, NUL in the response body */
    f = flows[3] = mkflow("GET", "http://[::1]:8080/x", 304);
    f->replay = true;
    add_hdr(&f->resp_headers, "ETag", "\"v1\"");
    buf_append(&f->resp_body, "abc\0def", 7);
    snprintf(f->cache, sizeof(f->cache), "fresh");

    /* 4: userinfo, NUL in the request body, a "gzip" body that is not,
     * a response header line longer than the on-stack buffer */
    f = flows[4] = mkflow("GET", "http://user:pw@login.example.net/", 404);
    buf_append(&f->req_body, "before\0after-nul", 16);
    add_hdr(&f->resp_headers, "Content-Encoding", "gzip");
    buf_puts(&f->resp_body, "notgzip needle");
    char long_value[5001];
    memset(long_value, 'a', 4996);
    memcpy(long_value + 4996, "tail", 5);
    add_hdr(&f->resp_headers, "X-Long", long_value);
    snprintf(f->cache, sizeof(f->cache), "miss");

    /* 5: origin-form target (a request lucent rejected), host in Host */
    f = flows[5] = mkflow("GET", "/only/path", 400);
    add_hdr(&f->req_headers, "Host", "origin.example:81");
    flow_fail(f, "bad request");
}

/* "101000": which flows match, as filter_match says */
static void match_string(const struct filter *flt, char out[NFLOWS + 1])
{
    for (size_t i = 0; i < NFLOWS; i++)
        out[i] = filter_match(flt, flows[i]) ? '1' : '0';
    out[NFLOWS] = '\0';
}

/* ---- matching ------------------------------------------------------------- */

static const struct {
    const char *expr;
    const char *want; /* flows 0..5 */
} match_rows[] = {
    /* empty and ~all */
    {"", "111111"},
    {"   \t", "111111"},
    {"~all", "111111"},
    /* ~m */
    {"~m GET", "100111"},
    {"~m get", "100111"},
    {"~m ^post$", "010000"},
    {"~m CONNECT", "001000"},
    {"~m (GET|POST)", "110111"},
    {"~m PUT", "000000"},
    /* ~d: host without userinfo, brackets or port; Host for origin form */
    {"~d example", "101011"},
    {"~d ^example\\.com$", "100000"},
    {"~d ^api\\.test$", "010000"},
    {"~d ^tunnel\\.example\\.org$", "001000"},
    {"~d ^::1$", "000100"},
    {"~d ^login\\.example\\.net$", "000010"},
    {"~d ^origin\\.example$", "000001"},
    {"~d 8443", "000000"},
    {"~d 443", "000000"},
    {"~d user", "000000"},
    {"~d only", "000000"},
    /* ~u */
    {"~u index", "100000"},
    {"~u ^https://", "010000"},
    {"~u id=5$", "010000"},
    {"~u :443$", "001000"},
    {"~u ^/only", "000001"},
    {"~u a|b", "111011"},
    {"~u nowhere", "000000"},
    /* ~c, ~s, ~q */
    {"~c 200", "100000"},
    {"~c 201", "010000"},
    {"~c 304", "000100"},
    {"~c 404", "000010"},
    {"~c 500", "000000"},
    {"~s", "110111"},
    {"~q", "001000"},
    /* headers */
    {"~h user-agent", "100000"},
    {"~h '^user-agent: curl/'", "100000"},
    {"~h ^user-agent: curl/", "000000"}, /* the arg ends at the space: & ~u curl/ */
    {"~h \"^content-type: application/json$\"", "010000"},
    {"~hq text/html", "000000"},
    {"~hs text/html", "100000"},
    {"~h text/html", "100000"},
    {"~hq json", "010000"},
    {"~hs json", "000000"},
    {"~h ^host: ", "100001"},
    {"~hs tail$", "000010"},
    {"~hs '^x-long: a+tail$'", "000010"},
    {"~h etag", "000100"},
    {"~hq etag", "000000"},
    /* bodies: decoded gzip, raw when decoding fails, NUL bytes */
    {"~b hello", "100000"},
    {"~bq widget", "010000"},
    {"~bs widget", "000000"},
    {"~b widget", "010000"},
    {"~bs secret-token", "010000"},
    {"~bs ^created", "010000"},
    {"~bq secret", "000000"},
    {"~b def", "000100"},
    {"~bs ^abc", "000100"},
    {"~bs def$", "000100"},
    {"~b needle", "000010"},
    {"~bs ^notgzip", "000010"},
    {"~bq after-nul$", "000010"},
    {"~bq ^before", "000010"},
    {"~bs after", "000000"},
    /* Content-Type */
    {"~t json", "010000"},
    {"~tq json", "010000"},
    {"~ts json", "000000"},
    {"~ts html", "100000"},
    {"~tq html", "000000"},
    {"~t text/", "110000"},
    {"~ts ^text/plain$", "010000"},
    /* flags */
    {"~e", "001001"},
    {"~tls", "010000"},
    {"~replay", "000100"},
    /* ~cache */
    {"~cache hit", "010000"},
    {"~cache HIT", "010000"},
    {"~cache fresh", "000100"},
    {"~cache miss", "000010"},
    {"~cache stale", "100000"},
    {"~cache 304", "100100"},
    /* bare words and quoted strings are ~u */
    {"example", "101010"},
    {"index.html", "100000"},
    {"'index.html'", "100000"},
    {"\"id=5\"", "010000"},
    {"!example", "010101"},
    {"example ~c 200", "100000"},
    /* precedence: ! > & > |, juxtaposition is & */
    {"~m GET | ~m POST & ~tls", "110111"},
    {"(~m GET | ~m POST) & ~tls", "010000"},
    {"~m POST & ~tls | ~m CONNECT", "011000"},
    {"~m CONNECT | ~m POST & ~tls", "011000"},
    {"!~s | ~e", "001001"},
    {"!(~s | ~e)", "000000"},
    {"!~s & ~e", "001000"},
    {"~m GET & !~c 200", "000111"},
    {"!!~tls", "010000"},
    {"!!!~tls", "101111"},
    {"! ~tls", "101111"},
    {"~m GET ~c 200", "100000"},
    {"~m GET ~c 200 | ~tls", "110000"},
    {"~tls | ~m GET ~c 304", "010100"},
    {"~s&~e", "000001"},
    {"~e|~tls", "011001"},
    {"(~e)", "001001"},
    {"((~e))", "001001"},
    {" ( ~e ) ", "001001"},
    {"~e|(~tls&~c 201)", "011001"},
    {"~e|(~tls&~c 200)", "001001"},
    {"!~e", "110110"},
    {"~tls|~replay|~e", "011101"},
    {"~tls ~replay", "000000"},
    {"~tls&~replay|~q", "001000"},
    {"(~m GET)(~c 200)", "100000"},
    /* quoting */
    {"~h \"user-agent: curl\"", "100000"},
    {"~h 'User-Agent: curl'", "100000"},
    {"~b \"hello world\"", "100000"},
    {"~b \"say \\\"hi\\\"\"", "100000"},
    {"~b 'say \"hi\"'", "100000"},
    {"~b 'say \\'hi\\''", "000000"},
    {"~u \"index\\.html\"", "100000"},
    {"~u \"index\\.htm$\"", "000000"},
    {"~u ''", "111111"},
    {"~u \"\\\\\"", "000000"},
    {"~c '404'", "000010"},
    {"~cache \"fresh\"", "000100"},
    /* unquoted args keep balanced parentheses and backslash pairs */
    {"~u (index|items)", "110000"},
    {"(~u index)", "100000"},
    {"(~u (index|items))", "110000"},
    {"(~u (index|items))~tls", "010000"},
    {"~u index\\)", "000000"},
    {"~u \\(", "000000"},
};

static void test_match(void)
{
    for (size_t r = 0; r < LC_ARRAY_LEN(match_rows); r++) {
        char err[256] = "unset";
        size_t pos = 12345;
        check_note("row %zu: %s", r, match_rows[r].expr);
        struct filter *flt = filter_compile(match_rows[r].expr, err, sizeof(err), &pos);
        if (!CHECK(flt != NULL)) {
            fprintf(stderr, "    err: %s\n", err);
            continue;
        }
        CHECK_EQ_STR(err, ""); /* cleared on success */
        CHECK_EQ_INT(pos, 12345);
        char got[NFLOWS + 1];
        match_string(flt, got);
        CHECK_EQ_STR(got, match_rows[r].want);
        filter_free(flt);
    }
    check_note(NULL);
}

/* ---- errors --------------------------------------------------------------- */

static const struct {
    const char *expr;
    size_t pos;
    const char *msg; /* the message up to " at <pos>" (a prefix when it ends in ':') */
} error_rows[] = {
    {"~x", 0, "filter: unknown operator ~x"},
    {"~s & ~x", 5, "filter: unknown operator ~x"},
    {"~", 0, "filter: unknown operator ~"},
    {"~ ~s", 0, "filter: unknown operator ~"},
    {"~tls200", 0, "filter: unknown operator ~tls200"},
    {"~M GET", 0, "filter: unknown operator ~M"},
    {"~m GET ~x", 7, "filter: unknown operator ~x"},
    {"~abcdefghijklmnopqrstuvwxyz", 0, "filter: unknown operator ~abcdefghijklmnopqrst..."},
    {"~c", 2, "filter: ~c needs a status code"},
    {"~c abc", 3, "filter: ~c needs a status code"},
    {"~c 99", 3, "filter: ~c needs a status code"},
    {"~c 1000", 3, "filter: ~c needs a status code"},
    {"~c 20x", 3, "filter: ~c needs a status code"},
    {"~c -1", 3, "filter: ~c needs a status code"},
    {"~c )", 3, "filter: ~c needs a status code"},
    {"~c ''", 3, "filter: ~c needs a status code"},
    {"~m", 2, "filter: ~m needs a regex"},
    {"(~m)", 3, "filter: ~m needs a regex"},
    {"~h ~s", 3, "filter: ~h needs a regex"},
    {"~bs   & ~s", 6, "filter: ~bs needs a regex"},
    {"~d |", 3, "filter: ~d needs a regex"},
    {"~t !x", 3, "filter: ~t needs a regex"},
    {"~cache", 6, "filter: ~cache needs hit, miss, fresh, stale or 304"},
    {"~cache warm", 7, "filter: ~cache needs hit, miss, fresh, stale or 304"},
    {"(~s", 3, "filter: missing ')'"},
    {"(~s ~e", 6, "filter: missing ')'"},
    {"((~s)", 5, "filter: missing ')'"},
    {"~s | (~e & (~tls)", 17, "filter: missing ')'"},
    {"~s)", 2, "filter: unexpected ')'"},
    {")", 0, "filter: unexpected ')'"},
    {"()", 1, "filter: unexpected ')'"},
    {"(~s))", 4, "filter: unexpected ')'"},
    {"~s &", 4, "filter: expected an expression"},
    {"~s |", 4, "filter: expected an expression"},
    {"!", 1, "filter: expected an expression"},
    {"! ", 2, "filter: expected an expression"},
    {"(", 1, "filter: expected an expression"},
    {"& ~s", 0, "filter: unexpected '&'"},
    {"| ~s", 0, "filter: unexpected '|'"},
    {"~s & | ~e", 5, "filter: unexpected '|'"},
    {"~s || ~e", 4, "filter: unexpected '|'"},
    {"~s && ~e", 4, "filter: unexpected '&'"},
    {"!&", 1, "filter: unexpected '&'"},
    {"~u \"abc", 3, "filter: unterminated quote"},
    {"'abc", 0, "filter: unterminated quote"},
    {"~b \"a\\\"", 3, "filter: unterminated quote"},
    {"~b 'a\\", 3, "filter: unterminated quote"},
    {"~u (", 3, "filter: ~u: bad regex:"},
    {"~u [", 3, "filter: ~u: bad regex:"},
    {"~h 'a{2,1}'", 3, "filter: ~h: bad regex:"},
    {"abc(", 0, "filter: ~u: bad regex:"},
    {"~s abc(", 3, "filter: ~u: bad regex:"},
    {"~m GET ~u ((", 10, "filter: ~u: bad regex:"},
};

static void test_errors(void)
{
    for (size_t r = 0; r < LC_ARRAY_LEN(error_rows); r++) {
        char err[256] = "unset";
        size_t pos = 12345;
        const char *msg = error_rows[r].msg;
        size_t mlen = strlen(msg);
        check_note("row %zu: %s", r, error_rows[r].expr);
        struct filter *flt = filter_compile(error_rows[r].expr, err, sizeof(err), &pos);
        if (!CHECK(flt == NULL)) {
            filter_free(flt);
            continue;
        }
        CHECK_EQ_INT(pos, error_rows[r].pos);
        char tail[32];
        snprintf(tail, sizeof(tail), " at %zu", error_rows[r].pos);
        size_t elen = strlen(err), tlen = strlen(tail);
        CHECK(elen >= tlen && strcmp(err + elen - tlen, tail) == 0);
        if (msg[mlen - 1] == ':') {
            CHECK(strncmp(err, msg, mlen) == 0);
            CHECK(elen > mlen + tlen); /* the regex library's reason is there */
        } else {
            char want[300];
            snprintf(want, sizeof(want), "%s%s", msg, tail);
            CHECK_EQ_STR(err, want);
        }
        /* err and errpos are optional; a short err is truncated, not overrun */
        CHECK(filter_compile(error_rows[r].expr, NULL, 0, NULL) == NULL);
        char small[10];
        memset(small, 'x', sizeof(small));
        CHECK(filter_compile(error_rows[r].expr, small, 8, NULL) == NULL);
        CHECK_EQ_INT(strlen(small), 7);
        CHECK_EQ_INT(small[9], 'x');
    }
    check_note(NULL);

    /* the exact messages of the brief */
    char err[128];
    size_t pos = 0;
    CHECK(filter_compile("~m GET (~s & ~e", err, sizeof(err), &pos) == NULL);
    CHECK_EQ_STR(err, "filter: missing ')' at 15");
    CHECK_EQ_INT(pos, 15);
    CHECK(filter_compile("~s & ~x", err, sizeof(err), &pos) == NULL);
    CHECK_EQ_STR(err, "filter: unknown operator ~x at 5");
}

/* ---- limits --------------------------------------------------------------- */

static char *repeat(const char *head, const char *unit, size_t n, const char *foot)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, head);
    for (size_t i = 0; i < n; i++)
        buf_puts(&b, unit);
    buf_puts(&b, foot);
    return b.p;
}

/* open n times, then mid, then close n times */
static char *nest(const char *open, size_t n, const char *mid, const char *close)
{
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++)
        buf_puts(&b, open);
    buf_puts(&b, mid);
    for (size_t i = 0; i < n; i++)
        buf_puts(&b, close);
    return b.p;
}

static void expect_matches(const char *what, char *expr, const char *want)
{
    char err[128] = "";
    check_note("%s", what);
    struct filter *flt = filter_compile(expr, err, sizeof(err), NULL);
    if (CHECK(flt != NULL)) {
        char got[NFLOWS + 1];
        match_string(flt, got);
        CHECK_EQ_STR(got, want);
    } else {
        fprintf(stderr, "    err: %s\n", err);
    }
    filter_free(flt);
    free(expr);
    check_note(NULL);
}

static void expect_too_deep(const char *what, char *expr, size_t at)
{
    char err[128] = "";
    size_t pos = 0;
    check_note("%s", what);
    CHECK(filter_compile(expr, err, sizeof(err), &pos) == NULL);
    CHECK_EQ_INT(pos, at);
    CHECK(strstr(err, "nested too deeply") != NULL);
    free(expr);
    check_note(NULL);
}

static void test_limits(void)
{
    /* nesting up to 100 is fine, beyond it is an error, not a stack overflow */
    expect_matches("100 nots", repeat("", "!", 100, "~s"), "110111");
    expect_matches("100 parens", nest("(", 100, "~e", ")"), "001001");
    expect_matches("50 ! ( pairs", nest("!(", 50, "~e", ")"), "001001");
    expect_too_deep("101 nots", repeat("", "!", 101, "~s"), 100);
    expect_too_deep("100000 nots", repeat("", "!", 100000, "~s"), 100);
    expect_too_deep("100000 parens", repeat("", "(", 100000, "~s"), 100);
    expect_too_deep("mixed", repeat("~s & ", "(!", 60, "~s"), 5 + 100);

    /* long chains are one n-ary node: no recursion along them */
    expect_matches("and chain", repeat("", "~s & ", 50000, "~m GET"), "100111");
    expect_matches("juxtaposed chain", repeat("", "~s ", 50000, "~m GET"), "100111");
    expect_matches("or chain", repeat("", "~c 999 | ", 50000, "~e"), "001001");
    expect_matches("or of ands", repeat("", "~s ~q | ", 20000, "~tls"), "010000");
}

/* ---- robustness ------------------------------------------------------------ */

/* Compiles (and, when it compiles, matches) every prefix of expr. */
static unsigned long compile_prefixes(const char *expr)
{
    size_t len = strlen(expr);
    unsigned long compiled = 0;
    for (size_t n = 0; n <= len; n++) {
        char *pre = malloc(n + 1);
        if (pre == NULL)
            abort();
        memcpy(pre, expr, n);
        pre[n] = '\0';
        char err[128];
        size_t pos = SIZE_MAX;
        struct filter *flt = filter_compile(pre, err, sizeof(err), &pos);
        if (flt != NULL) {
            char got[NFLOWS + 1];
            match_string(flt, got);
            compiled++;
        } else if (pos > n || strncmp(err, "filter: ", 8) != 0) {
            check_note("prefix %zu of %s", n, expr);
            CHECK(pos <= n);
            CHECK_EQ_STR(err, "filter: ...");
            check_note(NULL);
        }
        filter_free(flt);
        free(pre);
    }
    return compiled;
}

static void test_prefixes(void)
{
    unsigned long compiled = 0;
    static const char *const extra[] = {
        "(~m GET | ~m POST) & !~c 200 ~d \"example\\.com\" | ~cache 304 ~b 'a \\'b\\''",
        "~hq \"x: (a|b)\" ~hs '^set-cookie' | !(~tls | ~replay) & ~q",
        "!(!(!(~e))) ~u (x(y)z) \"q\\\"uoted\" 'single'",
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(match_rows); r++)
        compiled += compile_prefixes(match_rows[r].expr);
    for (size_t r = 0; r < LC_ARRAY_LEN(error_rows); r++)
        compiled += compile_prefixes(error_rows[r].expr);
    for (size_t r = 0; r < LC_ARRAY_LEN(extra); r++)
        compiled += compile_prefixes(extra[r]);
    CHECK(compiled > 100);
}

static void test_random(void)
{
    static const char *const pieces[] = {
        "~m",  "~d",  "~u",  "~c",  "~s",   "~q",     "~h",      "~hq",  "~hs", "~b",  "~bq", "~bs",
        "~t",  "~tq", "~ts", "~e",  "~tls", "~cache", "~replay", "~all", "~",   "~zz", "!",   "&",
        "|",   "(",   ")",   "\"",  "'",    "\\",     " ",       " ",    " ",   "GET", "200", "hit",
        "304", "a.b", "[x]", "x|y", "(a)",  "*",      "+",       "{2}",  "^",   "$",   "\t",
    };
    uint32_t x = 0x12345678;
    unsigned long compiled = 0, failed_ok = 0;
    for (int iter = 0; iter < 30000; iter++) {
        char expr[256];
        size_t len = 0;
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        int n = 1 + (int)(x % 12);
        for (int k = 0; k < n; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            const char *p = pieces[x % LC_ARRAY_LEN(pieces)];
            size_t plen = strlen(p);
            if (len + plen + 1 >= sizeof(expr))
                break;
            memcpy(expr + len, p, plen);
            len += plen;
        }
        expr[len] = '\0';
        char err[128];
        size_t pos = SIZE_MAX;
        struct filter *flt = filter_compile(expr, err, sizeof(err), &pos);
        if (flt != NULL) {
            char got[NFLOWS + 1];
            match_string(flt, got);
            compiled++;
            filter_free(flt);
        } else if (pos <= len && strncmp(err, "filter: ", 8) == 0) {
            failed_ok++;
        } else {
            check_note("random: %s", expr);
            CHECK(pos <= len);
            CHECK_EQ_STR(err, "filter: ...");
            check_note(NULL);
        }
    }
    CHECK(compiled > 1000);
    CHECK(failed_ok > 1000);
}

/* ---- threads -------------------------------------------------------------- */

struct worker_arg {
    const struct filter *flt;
    const char *want;
    unsigned long mismatches;
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    for (int i = 0; i < 300; i++) {
        char got[NFLOWS + 1];
        match_string(a->flt, got);
        if (strcmp(got, a->want) != 0)
            a->mismatches++;
    }
    return NULL;
}

static void test_threads(void)
{
    char err[128];
    struct filter *flt =
        filter_compile("~bs secret-token | ~b hello | ~hs tail$ | ~d ^::1$ | ~m CONNECT ~e", err,
                       sizeof(err), NULL);
    if (!CHECK(flt != NULL))
        return;
    struct worker_arg args[4];
    pthread_t th[4];
    for (size_t i = 0; i < 4; i++) {
        args[i] = (struct worker_arg){.flt = flt, .want = "111110"};
        CHECK_EQ_INT(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (size_t i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(args[i].mismatches, 0);
    }
    filter_free(flt);
}

/* ---- help ------------------------------------------------------------------ */

static void test_help(void)
{
    static const char *const names[] = {"m",  "d",  "u",   "c",     "s",      "q",  "h",
                                        "hq", "hs", "b",   "bq",    "bs",     "t",  "tq",
                                        "ts", "e",  "tls", "cache", "replay", "all"};
    for (size_t i = 0; i < LC_ARRAY_LEN(names); i++) {
        char line_start[32];
        snprintf(line_start, sizeof(line_start), "\n~%s ", names[i]);
        check_note("help for ~%s", names[i]);
        bool first = strncmp(filter_help, line_start + 1, strlen(line_start) - 1) == 0;
        CHECK(first || strstr(filter_help, line_start) != NULL);
        /* and the operator the help names compiles */
        char expr[64];
        snprintf(expr, sizeof(expr), "~%s %s", names[i],
                 strcmp(names[i], "c") == 0       ? "200"
                 : strcmp(names[i], "cache") == 0 ? "hit"
                                                  : "x");
        struct filter *flt = filter_compile(expr, NULL, 0, NULL);
        CHECK(flt != NULL);
        filter_free(flt);
    }
    check_note(NULL);
    size_t len = strlen(filter_help);
    CHECK(len > 0 && filter_help[len - 1] == '\n');
    const char *line = filter_help;
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        CHECK(nl != NULL && nl - line <= 80);
        line = nl != NULL ? nl + 1 : line + strlen(line);
    }
}

int main(void)
{
    make_flows();
    test_match();
    test_errors();
    test_limits();
    test_prefixes();
    test_random();
    test_threads();
    test_help();
    for (size_t i = 0; i < NFLOWS; i++)
        flow_unref(flows[i]);
    return check_summary();
}
