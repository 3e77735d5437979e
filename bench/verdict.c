/* SPDX-License-Identifier: MIT */
/* bench/verdict.c — how long one RFC 9111 verdict (cache_analyze) takes.
 * Built and run by bench/cache; by hand, from the repository root:
 *
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. bench/verdict.c \
 *      build/liblucent_core.a build/liblucent_ca.a build/libllhttp.a \
 *      $(pkg-config --libs libevent_core libevent_extra libevent_openssl lua5.4 zlib \
 *        libbrotlidec libzstd openssl) -lpthread -lm -o verdict
 *   ./verdict [ITERATIONS]          (calls per flow; default 250000: a million in all)
 *
 * Four finished flows with about ten request and ten response fields each:
 *   nginx200   what the benchmark's nginx sends ("expires 1h"): Cache-Control
 *              max-age=3600, Expires, ETag, Last-Modified, Date
 *   maxage200  a typical CDN answer: Cache-Control public, max-age, ETag, Date, Vary
 *   cond304    a conditional request (If-None-Match + If-Modified-Since) answered 304
 *   heur200    no Cache-Control or Expires: heuristic freshness from Last-Modified
 * Each is judged ITERATIONS times in a row; the time per call is the thread's
 * CPU time (CLOCK_THREAD_CPUTIME_ID: a busy machine stretches it less than
 * wall time) over the calls.  For nginx200 the whole log line (flowlog_line,
 * what lucent --headless prints) and the flow log's JSON (flowlog_json) are
 * timed too, ITERATIONS / 2 calls each, with the verdict (cache_at set, as
 * lucent does for every flow with a response) and without (cache_at = 0: no
 * analysis, no cache part).
 *
 * Output: a readable table, then machine-readable lines for bench/cache:
 *   VERDICT name=NAME ns=X
 *   LINE name=nginx200 with_ns=X without_ns=Y       (log line)
 *   JSON name=nginx200 with_ns=X without_ns=Y       (flow log object) */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/cache.h"
#include "core/flow.h"
#include "core/flowlog.h"
#include "core/hdrs.h"

#define NOW 1700000000LL /* when the flows finished (s since the epoch) */

static volatile int64_t sink; /* keeps every result alive */

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void imf(int64_t t, char *out, size_t outlen)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, outlen, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void add(struct hdrs *h, const char *name, const char *value)
{
    hdrs_add(h, name, strlen(name), value, strlen(value));
}

static void browser_request(struct flow *f)
{
    add(&f->req_headers, "Host", "static.example.com");
    add(&f->req_headers, "User-Agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
    add(&f->req_headers, "Accept", "text/css,*/*;q=0.1");
    add(&f->req_headers, "Accept-Language", "en-US,en;q=0.5");
    add(&f->req_headers, "Accept-Encoding", "gzip, deflate, br, zstd");
    add(&f->req_headers, "Referer", "https://www.example.com/");
    add(&f->req_headers, "Sec-Fetch-Dest", "style");
    add(&f->req_headers, "Sec-Fetch-Mode", "no-cors");
    add(&f->req_headers, "Sec-Fetch-Site", "same-site");
}

static struct flow *mkflow(int status, const char *reason, const char *path)
{
    struct flow *f = flow_new(1);
    if (f == NULL) {
        fprintf(stderr, "verdict: out of memory\n");
        exit(1);
    }
    char url[256];
    snprintf(url, sizeof(url), "http://static.example.com%s", path);
    snprintf(f->method, sizeof(f->method), "GET");
    flow_set_url(f, url, strlen(url));
    f->req_major = f->resp_major = 1;
    f->req_minor = f->resp_minor = 1;
    f->status = status;
    flow_set_reason(f, reason, strlen(reason));
    snprintf(f->client, sizeof(f->client), "127.0.0.1:53122");
    snprintf(f->server, sizeof(f->server), "127.0.0.1:8081");
    /* request sent 2 ms before it finished, answer started after 1 ms */
    f->wall_start = (NOW - 1) * 1000000 + 998000;
    f->t_start = 5000000;
    f->t_connected = f->t_start + 300;
    f->t_resp_start = f->t_start + 1000;
    f->t_end = f->t_start + 2000;
    f->cache_at = NOW;
    browser_request(f);
    return f;
}

struct named {
    const char *name, *what;
    struct flow *f;
};

int main(int argc, char **argv)
{
    long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 250000;
    if (iters < 1) {
        fprintf(stderr, "usage: verdict [ITERATIONS >= 1]\n");
        return 2;
    }
    char date[64], lm[64], exp[64], lmold[64];
    imf(NOW, date, sizeof(date));
    imf(NOW - 86400 * 3, lm, sizeof(lm));
    imf(NOW + 3600, exp, sizeof(exp));
    imf(NOW - 86400 * 40, lmold, sizeof(lmold));

    struct flow *ngx = mkflow(200, "OK", "/1k.bin");
    add(&ngx->resp_headers, "Server", "nginx/1.22.1");
    add(&ngx->resp_headers, "Date", date);
    add(&ngx->resp_headers, "Content-Type", "application/octet-stream");
    add(&ngx->resp_headers, "Content-Length", "1024");
    add(&ngx->resp_headers, "Last-Modified", lm);
    add(&ngx->resp_headers, "ETag", "\"6553f100-400\"");
    add(&ngx->resp_headers, "Expires", exp);
    add(&ngx->resp_headers, "Cache-Control", "max-age=3600");
    add(&ngx->resp_headers, "Accept-Ranges", "bytes");
    ngx->resp_size = 1024;

    struct flow *cdn = mkflow(200, "OK", "/css/site.3f2a9c.css");
    add(&cdn->resp_headers, "Date", date);
    add(&cdn->resp_headers, "Content-Type", "text/css; charset=utf-8");
    add(&cdn->resp_headers, "Content-Length", "18342");
    add(&cdn->resp_headers, "Content-Encoding", "br");
    add(&cdn->resp_headers, "Cache-Control", "public, max-age=31536000, immutable");
    add(&cdn->resp_headers, "ETag", "W/\"47a6-18c7d2e1a40\"");
    add(&cdn->resp_headers, "Vary", "Accept-Encoding");
    add(&cdn->resp_headers, "Age", "1234");
    add(&cdn->resp_headers, "X-Cache", "Hit from cloudfront");
    add(&cdn->resp_headers, "Access-Control-Allow-Origin", "*");
    cdn->resp_size = 18342;

    struct flow *c304 = mkflow(304, "Not Modified", "/app.js");
    add(&c304->req_headers, "If-None-Match", "\"a81f-5f3c\"");
    add(&c304->req_headers, "If-Modified-Since", lm);
    add(&c304->resp_headers, "Server", "nginx/1.22.1");
    add(&c304->resp_headers, "Date", date);
    add(&c304->resp_headers, "Last-Modified", lm);
    add(&c304->resp_headers, "ETag", "\"a81f-5f3c\"");
    add(&c304->resp_headers, "Cache-Control", "no-cache");
    add(&c304->resp_headers, "Expires", exp);
    add(&c304->resp_headers, "Vary", "Accept-Encoding");
    add(&c304->resp_headers, "X-Request-Id", "b7e0c2a4-61f1-4d8e-9a0b-3c9d2f1e8a77");
    add(&c304->resp_headers, "Strict-Transport-Security", "max-age=63072000");

    struct flow *heur = mkflow(200, "OK", "/images/logo.png");
    add(&heur->resp_headers, "Server", "Apache/2.4.62 (Debian)");
    add(&heur->resp_headers, "Date", date);
    add(&heur->resp_headers, "Content-Type", "image/png");
    add(&heur->resp_headers, "Content-Length", "5120");
    add(&heur->resp_headers, "Last-Modified", lmold);
    add(&heur->resp_headers, "ETag", "\"1400-60b3f2c8d1a00\"");
    add(&heur->resp_headers, "Accept-Ranges", "bytes");
    add(&heur->resp_headers, "Keep-Alive", "timeout=5, max=100");
    add(&heur->resp_headers, "X-Content-Type-Options", "nosniff");
    add(&heur->resp_headers, "Set-Cookie", "sid=abc123; Path=/; HttpOnly");
    heur->resp_size = 5120;

    struct named flows[] = {
        {"nginx200", "200, max-age=3600 + Expires + ETag + Last-Modified (the bench's nginx)", ngx},
        {"maxage200", "200, public max-age immutable, weak ETag, Vary, Age", cdn},
        {"cond304", "304 to If-None-Match + If-Modified-Since", c304},
        {"heur200", "200, only Last-Modified: heuristic freshness", heur},
    };
    size_t nflows = sizeof(flows) / sizeof(flows[0]);
    double ns[4], total = 0;

    printf("cache_analyze: %ld calls per flow, thread CPU time per call\n", iters);
    for (size_t k = 0; k < nflows; k++) {
        struct cache_verdict v;
        for (long i = 0; i < iters / 100 + 1; i++) /* warm up */
            cache_analyze(flows[k].f, NOW, &v);
        int64_t t0 = cpu_ns();
        for (long i = 0; i < iters; i++) {
            cache_analyze(flows[k].f, NOW, &v);
            sink += v.lifetime;
        }
        ns[k] = (double)(cpu_ns() - t0) / (double)iters;
        total += ns[k];
        printf("  %-10s %8.1f ns   %s\n             -> [%s] %s\n", flows[k].name, ns[k], flows[k].what,
               v.tag, v.summary);
    }
    printf("  %-10s %8.1f ns\n", "mean", total / (double)nflows);

    /* the whole log line and the flow log object, with and without the verdict */
    struct buf b = BUF_INIT;
    double line[2], json[2];
    long n2 = iters / 2 > 0 ? iters / 2 : 1;
    for (int with = 1; with >= 0; with--) {
        ngx->cache_at = with ? NOW : 0;
        int64_t t0 = cpu_ns();
        for (long i = 0; i < n2; i++) {
            buf_reset(&b);
            flowlog_line(ngx, &b);
            sink += (int64_t)b.len;
        }
        line[with] = (double)(cpu_ns() - t0) / (double)n2;
        t0 = cpu_ns();
        for (long i = 0; i < n2; i++) {
            buf_reset(&b);
            flowlog_json(ngx, &b);
            sink += (int64_t)b.len;
        }
        json[with] = (double)(cpu_ns() - t0) / (double)n2;
    }
    ngx->cache_at = NOW;
    buf_reset(&b);
    flowlog_line(ngx, &b);
    printf("nginx200 log line (flowlog_line), %ld calls: %.1f ns with the verdict, %.1f ns without\n"
           "  %.*s",
           n2, line[1], line[0], (int)b.len, b.p);
    printf("nginx200 flow log JSON (flowlog_json), %ld calls: %.1f ns with the verdict, %.1f ns without\n",
           n2, json[1], json[0]);
    buf_free(&b);

    for (size_t k = 0; k < nflows; k++)
        printf("VERDICT name=%s ns=%.1f\n", flows[k].name, ns[k]);
    printf("VERDICT name=mean ns=%.1f\n", total / (double)nflows);
    printf("LINE name=nginx200 with_ns=%.1f without_ns=%.1f\n", line[1], line[0]);
    printf("JSON name=nginx200 with_ns=%.1f without_ns=%.1f\n", json[1], json[0]);

    for (size_t k = 0; k < nflows; k++)
        flow_unref(flows[k].f);
    return 0;
}
