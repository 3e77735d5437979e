/* SPDX-License-Identifier: MIT */
/* Unit tests of core/script and core/lflow without sockets: scripts are
 * written to temporary files, loaded, and their hooks run on a hand-built
 * exchange (flow, target, bodies). Covers loading errors, every flow field
 * read and written, undo after an error, budget and memory limits, stale
 * flow objects, respond/delay/kill, flow.state and reloading. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/flow.h"
#include "core/hook.h"
#include "core/log.h"
#include "core/opts.h"
#include "core/script.h"
#include "core/url.h"
#include "check.h"

static char dir[] = "/tmp/lucent-test-script-XXXXXX";
static int nfiles;

static const char *write_file(const char *name, const char *text)
{
    static char paths[64][300];
    char *p = paths[nfiles++ % 64];
    snprintf(p, 300, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f == NULL)
        abort();
    fputs(text, f);
    fclose(f);
    return p;
}

/* One exchange: GET http://a.test/p?x=1&y=a%20b with two headers. */
struct ex {
    struct flow *f;
    struct url target;
    struct buf path_store;
    struct hook_ctx hc;
    char raw_url[100];
};

static void ex_init(struct ex *e, uint64_t id)
{
    char err[100];
    memset(e, 0, sizeof(*e));
    e->f = flow_new(id);
    snprintf(e->f->method, sizeof(e->f->method), "GET");
    snprintf(e->f->client, sizeof(e->f->client), "127.0.0.1:5555");
    e->f->req_major = e->f->req_minor = 1;
    snprintf(e->raw_url, sizeof(e->raw_url), "http://a.test/p?x=1&y=a%%20b");
    if (url_parse_absolute(e->raw_url, strlen(e->raw_url), &e->target, err, sizeof(err)) < 0)
        abort();
    flow_set_url(e->f, e->raw_url, strlen(e->raw_url));
    hdrs_add(&e->f->req_headers, "Host", 4, "a.test", 6);
    hdrs_add(&e->f->req_headers, "X-One", 5, "1", 1);
    hook_ctx_init(&e->hc);
    hook_ctx_reset(&e->hc, e->f, &e->target, &e->path_store, 1 << 20);
    e->hc.req.present = true;
}

static void ex_response(struct ex *e, int status, const char *body)
{
    e->f->status = status;
    flow_set_reason(e->f, "OK", 2);
    e->f->resp_major = e->f->resp_minor = 1;
    hdrs_add(&e->f->resp_headers, "Content-Type", 12, "text/plain", 10);
    buf_append(&e->hc.resp.raw, body, strlen(body));
    e->hc.resp.present = true;
}

static void ex_free(struct ex *e)
{
    flow_unref(e->f);
    buf_free(&e->path_store);
    hook_ctx_free(&e->hc);
}

static struct scripts *load(struct opts *o, const char *path, char *err, size_t errlen)
{
    opts_defaults(o);
    o->scripts[0] = path;
    o->nscripts = 1;
    o->script_budget = 200000;
    o->script_memory = 4 * 1024 * 1024;
    return scripts_new(o, 1, err, errlen);
}

static const char *hdr(const struct hdrs *h, const char *name)
{
    static char v[256];
    size_t len;
    const char *p = hdrs_get(h, name, &len);
    if (p == NULL)
        return "(none)";
    snprintf(v, sizeof(v), "%.*s", (int)len, p);
    return v;
}

static void test_load_errors(void)
{
    struct opts o;
    char err[400];
    struct scripts *s;

    s = load(&o, write_file("syntax.lua", "x = 1\nfunction request(flow\n"), err, sizeof(err));
    CHECK(s == NULL);
    CHECK(strstr(err, "script ") == err);
    CHECK(strstr(err, "syntax.lua:3:") != NULL || strstr(err, "syntax.lua:2:") != NULL);

    s = load(&o, write_file("loaderr.lua", "function load()\n  error('no config')\nend\n"), err,
             sizeof(err));
    CHECK(s == NULL);
    CHECK(strstr(err, "load") != NULL && strstr(err, "loaderr.lua:2: no config") != NULL);

    s = load(&o, write_file("runerr.lua", "local x = nil\nx.y = 1\n"), err, sizeof(err));
    CHECK(s == NULL);
    CHECK(strstr(err, "runerr.lua:2:") != NULL);

    snprintf(err, sizeof(err), "unset");
    char missing[350];
    snprintf(missing, sizeof(missing), "%s/missing.lua", dir);
    s = load(&o, missing, err, sizeof(err));
    CHECK(s == NULL);
    CHECK(strstr(err, "missing.lua") != NULL);

    /* Lua's own load and error are not hooks */
    s = load(&o, write_file("none.lua", "local x = load('return 1')()\n"), err, sizeof(err));
    CHECK(s != NULL);
    for (int h = 0; h < HOOK_COUNT; h++)
        CHECK(!scripts_want(s, (enum hook)h));
    scripts_free(s);

    s = load(&o, write_file("two.lua", "function request(f) end\nfunction done(f) end\n"), err,
             sizeof(err));
    CHECK(s != NULL);
    CHECK(scripts_want(s, HOOK_REQUEST) && scripts_want(s, HOOK_DONE));
    CHECK(!scripts_want(s, HOOK_RESPONSE) && !scripts_want(s, HOOK_ERROR));
    scripts_free(s);
}

static void test_read_fields(void)
{
    struct opts o;
    char err[400];
    struct ex e;
    const char *src =
        "function request(flow)\n"
        "  local r = flow.request\n"
        "  local q = r.query\n"
        "  local names = {}\n"
        "  for n, v in pairs(r.headers) do names[#names + 1] = n .. '=' .. v end\n"
        "  r.headers['X-Seen'] = table.concat({flow.id, flow.client, tostring(flow.tls),\n"
        "    tostring(flow.server), r.method, r.scheme, r.host, r.port, r.path, r.url,\n"
        "    r.http_version, q.x, q.y, #r.headers, table.concat(names, ','),\n"
        "    r.headers['x-one'], tostring(r.headers['nope']), #r.headers:get_all('X-ONE'),\n"
        "    r.body, tostring(flow.response)}, '|')\n"
        "end\n";
    struct scripts *s = load(&o, write_file("read.lua", src), err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    ex_init(&e, 42);
    scripts_run(s, HOOK_REQUEST, &e.hc);
    CHECK_EQ_STR(hdr(&e.f->req_headers, "X-Seen"),
                 "42|127.0.0.1:5555|false|nil|GET|http|a.test|80|/p?x=1&y=a%20b|"
                 "http://a.test/p?x=1&y=a%20b|HTTP/1.1|1|a b|2|Host=a.test,X-One=1|1|nil|1||nil");
    ex_free(&e);
    scripts_free(s);
}

static void test_write_fields(void)
{
    struct opts o;
    char err[400];
    struct ex e;
    const char *src =
        "function request(flow)\n"
        "  local r = flow.request\n"
        "  r.method = 'POST'\n"
        "  r.headers['X-One'] = nil\n"
        "  r.headers['X-Two'] = {'a', 'b'}\n"
        "  r.headers:add('X-Two', 'c')\n"
        "  r.headers['host'] = 'ignored-later'\n"
        "  r.query = {k = 'v w', a = {'1', '2'}}\n"
        "  r.body = 'hello'\n"
        "  r.port = 8080\n"
        "end\n"
        "function response(flow)\n"
        "  flow.response.status = 404\n"
        "  flow.response.headers['X-R'] = 'r'\n"
        "  flow.response.body = 'gone'\n"
        "end\n";
    struct scripts *s = load(&o, write_file("write.lua", src), err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    ex_init(&e, 1);
    scripts_run(s, HOOK_REQUEST, &e.hc);
    CHECK_EQ_STR(e.f->method, "POST");
    CHECK_EQ_STR(hdr(&e.f->req_headers, "X-One"), "(none)");
    CHECK_EQ_INT(e.f->req_headers.n, 5); /* Host, X-Two x3, Content-Length */
    CHECK_EQ_STR(hdr(&e.f->req_headers, "Host"), "ignored-later");
    CHECK_EQ_STR(hdr(&e.f->req_headers, "Content-Length"), "5");
    CHECK_EQ_MEM(e.target.path, e.target.path_len, "/p?a=1&a=2&k=v%20w", 18);
    CHECK_EQ_INT(e.target.port, 8080);
    CHECK_EQ_STR(e.f->url, "http://a.test:8080/p?a=1&a=2&k=v%20w");
    CHECK_EQ_MEM(e.hc.req.raw.p, e.hc.req.raw.len, "hello", 5);
    CHECK(e.hc.req.replaced);

    ex_response(&e, 200, "original");
    scripts_run(s, HOOK_RESPONSE, &e.hc);
    CHECK_EQ_INT(e.f->status, 404);
    CHECK_EQ_STR(e.f->reason, "Not Found");
    CHECK_EQ_STR(hdr(&e.f->resp_headers, "X-R"), "r");
    CHECK_EQ_MEM(e.hc.resp.raw.p, e.hc.resp.raw.len, "gone", 4);
    ex_free(&e);
    scripts_free(s);
}

/* An error after changes: the exchange is exactly as before the hook. */
static void test_undo(void)
{
    struct opts o;
    char err[400];
    struct ex e;
    const char *src =
        "function request(flow)\n"
        "  local r = flow.request\n"
        "  r.method = 'PUT'; r.url = 'https://b.test:9/z'; r.headers['X-New'] = '1'\n"
        "  r.headers['X-One'] = nil; r.body = 'new'; flow:delay(50); flow:kill()\n"
        "  if r.path == '/z' then error('after changes') end\n"
        "end\n"
        "function response(flow)\n"
        "  flow.response.status = 500; flow.response.reason = 'Nope'\n"
        "  flow.response.headers = {A = '1'}; flow.response.body = 'x'\n"
        "  while true do end\n"
        "end\n";
    struct scripts *s = load(&o, write_file("undo.lua", src), err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    ex_init(&e, 7);
    buf_append(&e.hc.req.raw, "orig", 4);
    log_threshold = LOG_LVL_ERROR; /* the expected errors are not news */
    scripts_run(s, HOOK_REQUEST, &e.hc);
    CHECK_EQ_STR(e.f->method, "GET");
    CHECK_EQ_STR(e.f->url, "http://a.test/p?x=1&y=a%20b");
    CHECK_EQ_STR(e.target.host, "a.test");
    CHECK_EQ_STR(e.target.scheme, "http");
    CHECK_EQ_INT(e.target.port, 80);
    CHECK_EQ_MEM(e.target.path, e.target.path_len, "/p?x=1&y=a%20b", 14);
    CHECK_EQ_INT(e.f->req_headers.n, 2);
    CHECK_EQ_STR(hdr(&e.f->req_headers, "X-One"), "1");
    CHECK_EQ_MEM(e.hc.req.raw.p, e.hc.req.raw.len, "orig", 4);
    CHECK(!e.hc.req.replaced && !e.hc.kill && e.hc.delay_ms == 0);

    ex_response(&e, 200, "body");
    scripts_run(s, HOOK_RESPONSE, &e.hc); /* runs out of budget */
    CHECK_EQ_INT(e.f->status, 200);
    CHECK_EQ_STR(e.f->reason, "OK");
    CHECK_EQ_INT(e.f->resp_headers.n, 1);
    CHECK_EQ_STR(hdr(&e.f->resp_headers, "Content-Type"), "text/plain");
    CHECK_EQ_MEM(e.hc.resp.raw.p, e.hc.resp.raw.len, "body", 4);
    log_threshold = LOG_LVL_WARN;
    ex_free(&e);
    scripts_free(s);
}

static void test_limits_and_stale(void)
{
    struct opts o;
    char err[400];
    struct ex e;
    const char *src =
        "local kept\n"
        "function request(flow)\n"
        "  local p = flow.request.path\n"
        "  if p == '/loop' then while true do pcall(function() while true do end end) end end\n"
        "  if p == '/mem' then local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 999) .. i end end\n"
        "  if p == '/keep' then kept = flow end\n"
        "  if p == '/stale' then local x = kept.request end\n"
        "  if p == '/inject' then flow.request.headers['X'] = 'a\\r\\nB: c' end\n"
        "  if p == '/badname' then flow.request.headers['X Y'] = 'v' end\n"
        "  flow.request.headers['X-Ok'] = 'yes'\n"
        "end\n";
    struct scripts *s = load(&o, write_file("limits.lua", src), err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    log_threshold = LOG_LVL_ERROR;
    const char *paths[] = {"/loop", "/mem", "/keep", "/stale", "/inject", "/badname", "/fine"};
    const bool ok[] = {false, false, true, false, false, false, true};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        check_note("path %s", paths[i]);
        ex_init(&e, 100 + i);
        e.target.path = paths[i];
        e.target.path_len = strlen(paths[i]);
        scripts_run(s, HOOK_REQUEST, &e.hc);
        CHECK_EQ_STR(hdr(&e.f->req_headers, "X-Ok"), ok[i] ? "yes" : "(none)");
        CHECK_EQ_INT(e.f->req_headers.n, ok[i] ? 3 : 2);
        ex_free(&e);
    }
    check_note(NULL);
    log_threshold = LOG_LVL_WARN;
    scripts_free(s);
}

static void test_respond_and_order(void)
{
    struct opts o;
    char err[400];
    struct ex e;
    const char *first =
        "function requestheaders(flow)\n"
        "  flow.state.n = (flow.state.n or 0) + 1\n"
        "  flow.request.headers['X-First'] = '1'\n"
        "end\n"
        "function request(flow)\n"
        "  if flow.request.path == '/mock' then\n"
        "    flow:respond(503, {['Retry-After'] = '5'})\n"
        "  elseif flow.request.path == '/json' then\n"
        "    flow:respond(200, {['Content-Type'] = 'application/json'}, '{}')\n"
        "  end\n"
        "  flow.request.headers['X-State'] = tostring(flow.state.n)\n"
        "end\n";
    const char *second = "function requestheaders(flow)\n"
                         "  flow.request.headers['X-Second'] = flow.request.headers['X-First']\n"
                         "end\n"
                         "function request(flow) flow.request.headers['X-Late'] = '1' end\n";
    opts_defaults(&o);
    o.scripts[0] = write_file("first.lua", first);
    o.scripts[1] = write_file("second.lua", second);
    o.nscripts = 2;
    struct scripts *s = scripts_new(&o, 1, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;

    ex_init(&e, 9);
    scripts_run(s, HOOK_REQUESTHEADERS, &e.hc);
    CHECK_EQ_STR(hdr(&e.f->req_headers, "X-Second"), "1"); /* order: first, then second */
    e.target.path = "/mock";
    e.target.path_len = 5;
    scripts_run(s, HOOK_REQUEST, &e.hc);
    CHECK(e.hc.respond);
    CHECK_EQ_INT(e.f->status, 503);
    CHECK_EQ_STR(e.f->reason, "Service Unavailable");
    CHECK_EQ_STR(hdr(&e.f->resp_headers, "Retry-After"), "5");
    CHECK_EQ_STR(hdr(&e.f->resp_headers, "Content-Type"), "text/plain; charset=utf-8");
    CHECK_EQ_MEM(e.hc.resp.raw.p, e.hc.resp.raw.len, "503 Service Unavailable\n", 24);
    CHECK_EQ_STR(hdr(&e.f->resp_headers, "Content-Length"), "24");
    CHECK_EQ_STR(hdr(&e.f->req_headers, "X-State"), "1"); /* flow.state kept across hooks */
    CHECK_EQ_STR(hdr(&e.f->req_headers, "X-Late"), "(none)"); /* stopped after respond */
    scripts_flow_end(s, 9);
    ex_free(&e);

    ex_init(&e, 9); /* the same id again: flow.state starts empty */
    scripts_run(s, HOOK_REQUESTHEADERS, &e.hc);
    e.target.path = "/json";
    e.target.path_len = 5;
    scripts_run(s, HOOK_REQUEST, &e.hc);
    CHECK_EQ_STR(hdr(&e.f->req_headers, "X-State"), "1");
    CHECK_EQ_STR(hdr(&e.f->resp_headers, "Content-Type"), "application/json");
    CHECK_EQ_MEM(e.hc.resp.raw.p, e.hc.resp.raw.len, "{}", 2);
    ex_free(&e);
    scripts_free(s);
}

static void test_bodies(void)
{
    struct opts o;
    char err[400];
    struct ex e;
    const char *src = "function response(flow)\n"
                      "  local r = flow.response\n"
                      "  r.headers['X-Decoded'] = r.body\n"
                      "  r.headers['X-Raw-Len'] = #r.raw_body\n"
                      "  r.body = r.body:upper()\n"
                      "end\n"
                      "function requestheaders(flow)\n"
                      "  local ok, why = pcall(function() flow.request.body = 'x' end)\n"
                      "  flow.request.headers['X-Why'] = why:match('not read yet') and 'ok' or why\n"
                      "  flow.request.stream = true\n"
                      "end\n";
    struct scripts *s = load(&o, write_file("bodies.lua", src), err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    /* gzip the text with zlib */
    const char *text = "hello, compressed world";
    unsigned char gz[256];
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (unsigned char *)text;
    z.avail_in = (unsigned)strlen(text);
    z.next_out = gz;
    z.avail_out = sizeof(gz);
    deflate(&z, Z_FINISH);
    size_t gzlen = sizeof(gz) - z.avail_out;
    deflateEnd(&z);

    ex_init(&e, 3);
    e.hc.req.present = false; /* a body not read yet */
    scripts_run(s, HOOK_REQUESTHEADERS, &e.hc);
    CHECK_EQ_STR(hdr(&e.f->req_headers, "X-Why"), "ok");
    CHECK(e.hc.req.stream);
    e.f->status = 200;
    hdrs_add(&e.f->resp_headers, "Content-Encoding", 16, "gzip", 4);
    hdrs_add(&e.f->resp_headers, "Content-Length", 14, "99", 2);
    buf_append(&e.hc.resp.raw, gz, gzlen);
    e.hc.resp.present = true;
    scripts_run(s, HOOK_RESPONSE, &e.hc);
    CHECK_EQ_STR(hdr(&e.f->resp_headers, "X-Decoded"), text);
    char n[16];
    snprintf(n, sizeof(n), "%zu", gzlen);
    CHECK_EQ_STR(hdr(&e.f->resp_headers, "X-Raw-Len"), n);
    CHECK_EQ_STR(hdr(&e.f->resp_headers, "Content-Encoding"), "(none)");
    CHECK_EQ_STR(hdr(&e.f->resp_headers, "Content-Length"), "23");
    CHECK_EQ_MEM(e.hc.resp.raw.p, e.hc.resp.raw.len, "HELLO, COMPRESSED WORLD", 23);
    ex_free(&e);
    scripts_free(s);
}

static void test_filter_matcher(void)
{
    struct opts o;
    char err[400];
    struct ex e;
    const char *src = "local get, post = lucent.filter('~m GET & ~d a.test'), lucent.filter('~m POST')\n"
                      "local none, why = lucent.filter('~x')\n"
                      "function request(flow)\n"
                      "  flow.request.headers['X-F'] = tostring(get(flow)) .. ',' ..\n"
                      "    tostring(post(flow)) .. ',' .. tostring(none) .. ',' ..\n"
                      "    tostring(why:find('unknown operator') ~= nil)\n"
                      "end\n";
    struct scripts *s = load(&o, write_file("filter.lua", src), err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    ex_init(&e, 5);
    scripts_run(s, HOOK_REQUEST, &e.hc);
    CHECK_EQ_STR(hdr(&e.f->req_headers, "X-F"), "true,false,nil,true");
    ex_free(&e);
    scripts_free(s);
}

static void test_reload(void)
{
    struct opts o;
    char err[400];
    struct ex e;
    const char *path = write_file("reload.lua", "function request(f) f.request.headers['V'] = '1' end\n");
    struct scripts *s = load(&o, path, err, sizeof(err));
    CHECK(s != NULL);
    if (s == NULL)
        return;
    log_threshold = LOG_LVL_ERROR;
    /* a broken version: the old one stays */
    write_file("reload.lua", "function request(f) f.request.headers['V'] = \n");
    scripts_check(s);
    ex_init(&e, 1);
    scripts_run(s, HOOK_REQUEST, &e.hc);
    CHECK_EQ_STR(hdr(&e.f->req_headers, "V"), "1");
    ex_free(&e);
    /* a good one replaces it, hooks as newly defined */
    write_file("reload.lua", "function response(f) end\nfunction request(f) f.request.headers['V'] = '2' end\n");
    scripts_check(s);
    CHECK(scripts_want(s, HOOK_RESPONSE));
    ex_init(&e, 2);
    scripts_run(s, HOOK_REQUEST, &e.hc);
    CHECK_EQ_STR(hdr(&e.f->req_headers, "V"), "2");
    ex_free(&e);
    log_threshold = LOG_LVL_WARN;
    scripts_free(s);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 2;
    log_threshold = LOG_LVL_WARN;
    test_load_errors();
    test_read_fields();
    test_write_fields();
    test_undo();
    test_limits_and_stale();
    test_respond_and_order();
    test_bodies();
    test_filter_matcher();
    test_reload();
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
