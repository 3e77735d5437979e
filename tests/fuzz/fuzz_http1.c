/* SPDX-License-Identifier: MIT */
/* fuzz_http1: feeds arbitrary bytes to the HTTP/1 reader the way a
 * connection does (requests, then responses): honouring `used`, counting
 * length-framed bodies itself, starting the next message after each one.
 * The first input byte picks the kind and where the input is split. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/hdrs.h"
#include "core/http1.h"

static void on_body(void *arg, const char *p, size_t len)
{
    size_t *total = arg;
    *total += len;
    if (len > 0)
        (void)p[len - 1]; /* must be readable */
}

static void run(enum http1_kind kind, const char *p, size_t len, size_t split)
{
    struct hdrs h, t;
    struct http1 rx;
    size_t total = 0;
    hdrs_init(&h);
    hdrs_init(&t);
    http1_init(&rx, kind, &h, &t, on_body, &total);
    rx.max_head = 4096;
    rx.max_fields = 50;

    enum http1_body body = HTTP1_BODY_NONE;
    uint64_t left = 0;
    bool in_body = false;
    size_t off = 0;
    for (int guard = 0; off < len && guard < 100000; guard++) {
        size_t end = off < split && split < len ? split : len;
        if (in_body && body == HTTP1_BODY_LENGTH) {
            size_t n = end - off < left ? end - off : (size_t)left;
            off += n;
            left -= n;
            if (left == 0) {
                in_body = false;
                hdrs_clear(&h);
                hdrs_clear(&t);
                http1_next(&rx, &h, &t);
            }
            continue;
        }
        if (in_body && body == HTTP1_BODY_EOF)
            break;
        size_t used = 0;
        enum http1_rc rc = http1_feed(&rx, p + off, end - off, &used);
        if (used > end - off)
            __builtin_trap();
        off += used;
        if (rc == HTTP1_ERROR)
            break;
        if (rc == HTTP1_HEAD) {
            for (size_t i = 0; i < h.n; i++) {
                size_t nl, vl;
                const char *n = hdrs_name(&h, i, &nl);
                const char *v = hdrs_value(&h, i, &vl);
                if (nl == 0)
                    __builtin_trap(); /* empty names are refused */
                (void)n[nl - 1];
                if (vl)
                    (void)v[vl - 1];
            }
            body = kind == HTTP1_REQUEST ? http1_request_body(&rx)
                                         : http1_response_body(&rx, false);
            if (kind == HTTP1_REQUEST && rx.method_id == HTTP_CONNECT)
                break;
            if (body == HTTP1_BODY_LENGTH) {
                left = rx.content_length;
                in_body = true;
            } else if (body == HTTP1_BODY_CHUNKED) {
                in_body = true;
            } else if (body == HTTP1_BODY_EOF) {
                in_body = true;
            } else {
                hdrs_clear(&h);
                http1_next(&rx, &h, &t);
            }
        } else if (rc == HTTP1_DONE) {
            in_body = false;
            hdrs_clear(&h);
            hdrs_clear(&t);
            http1_next(&rx, &h, &t);
        } else if (used == 0 && off < end) {
            __builtin_trap(); /* NEED_MORE must consume everything */
        }
    }
    http1_free(&rx);
    hdrs_free(&h);
    hdrs_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum http1_kind kind = (data[0] & 1) ? HTTP1_RESPONSE : HTTP1_REQUEST;
    size_t split = data[1];
    run(kind, (const char *)data + 2, size - 2, split);
    return 0;
}
