/* SPDX-License-Identifier: MIT */
/* fuzz_cache: the RFC 9111 analysis on hostile header values. The input is
 * split at NUL bytes into request and response field values; the verdict
 * must always have a tag, a summary and valid JSON-ready text, and HTTP
 * date parsing must never read outside its input. */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "core/cache.h"
#include "core/flow.h"

static const char *const names[] = {"Cache-Control", "Expires", "Date", "Last-Modified",
                                    "ETag", "Age", "Vary", "Pragma", "If-None-Match",
                                    "If-Modified-Since", "Authorization", "Cache-Control"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct flow *f = flow_new(1);
    struct cache_verdict v;
    const char *p = (const char *)data;
    size_t k = 0;

    (void)cache_parse_date(p, size, 1700000000);
    snprintf(f->method, sizeof(f->method), "%s", size % 3 ? "GET" : "HEAD");
    flow_set_url(f, "http://a.test/x", 15);
    f->status = size % 2 ? 200 : 304;
    f->wall_start = 1700000000000000LL;
    f->t_start = 1000;
    f->t_resp_start = f->t_end = 2000;
    while (size > 0 && k < sizeof(names) / sizeof(names[0])) {
        const char *z = memchr(p, '\0', size);
        size_t n = z ? (size_t)(z - p) : size;
        struct hdrs *h = k >= 8 ? &f->req_headers : &f->resp_headers;
        hdrs_add(h, names[k], strlen(names[k]), p, n);
        k++;
        p += n + (z != NULL);
        size -= n + (z != NULL);
    }
    cache_analyze(f, 1700000100, &v);
    if (v.tag[0] == '\0' || v.summary[0] == '\0' || strlen(v.notes) >= sizeof(v.notes))
        __builtin_trap();
    struct buf out = BUF_INIT;
    cache_json(&v, &out);
    cache_explain(&v, &out);
    buf_free(&out);
    flow_unref(f);
    return 0;
}
