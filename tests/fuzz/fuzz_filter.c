/* SPDX-License-Identifier: MIT */
/* fuzz_filter: filter expressions (the viewer's f, --filter, lucent.filter).
 * The first line is compiled; a failure must say what and where (inside the
 * input); a filter that compiles is matched against a flow built from the
 * rest of the input (headers and bodies), which must not crash. */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/filter.h"
#include "core/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t elen = nl ? (size_t)(nl - (const char *)data) : size;
    char *expr = malloc(elen + 1);
    char err[300];
    size_t pos = 0;
    if (expr == NULL)
        return 0;
    memcpy(expr, data, elen);
    expr[elen] = '\0';
    struct filter *f = filter_compile(expr, err, sizeof(err), &pos);
    if (f == NULL) {
        if (err[0] == '\0' || pos > elen)
            __builtin_trap();
    } else {
        const char *rest = nl ? nl + 1 : "";
        size_t rlen = nl ? size - elen - 1 : 0;
        struct flow *fl = flow_new(1);
        snprintf(fl->method, sizeof(fl->method), "GET");
        flow_set_url(fl, rest, rlen < 200 ? rlen : 200);
        hdrs_add(&fl->req_headers, "X", 1, rest, rlen);
        hdrs_add(&fl->resp_headers, "Content-Encoding", 16, "gzip", 4);
        buf_append(&fl->resp_body, rest, rlen);
        buf_append(&fl->req_body, rest, rlen);
        fl->status = rlen % 600;
        fl->cache_at = 1700000000;
        (void)filter_match(f, fl);
        flow_unref(fl);
        filter_free(f);
    }
    free(expr);
    return 0;
}
