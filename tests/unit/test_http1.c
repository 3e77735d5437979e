/* SPDX-License-Identifier: MIT */
/* Unit tests of core/http1: the llhttp-based message reader.
 * A small driver plays the caller's part the way a connection does: it feeds
 * bytes, honours `used`, counts Content-Length bodies itself, lets chunked
 * bodies go through on_body, and calls http1_next between messages. What it
 * sees is written as a transcript, compared with the expected text for the
 * whole input, for the input split in two at every offset, and for the input
 * fed one byte at a time. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/hdrs.h"
#include "core/http1.h"
#include "check.h"

/* ---- the driver ----------------------------------------------------------- */

enum drv_state { D_HEAD, D_CHUNKED, D_LENGTH, D_EOF, D_TUNNEL, D_DEAD };

struct drv {
    struct http1 rx;
    struct hdrs headers, trailers;
    struct buf body;       /* body of the current message */
    struct buf out;        /* the transcript */
    struct buf err;        /* rx.err of the first error */
    enum drv_state state;
    uint64_t left;         /* D_LENGTH: body bytes still to count */
    bool head_request;     /* responses: the request was HEAD */
    int protocol_errors;   /* `used` out of range, NEED_MORE not consuming all, loops */
};

static void on_body(void *arg, const char *p, size_t len)
{
    struct drv *d = arg;
    buf_append(&d->body, p, len);
}

static const char *body_name(enum http1_body b)
{
    switch (b) {
    case HTTP1_BODY_NONE: return "none";
    case HTTP1_BODY_LENGTH: return "length";
    case HTTP1_BODY_CHUNKED: return "chunked";
    case HTTP1_BODY_EOF: return "eof";
    }
    return "?";
}

static void put_fields(struct buf *out, const char *prefix, const struct hdrs *h)
{
    for (size_t i = 0; i < h->n; i++) {
        size_t nl, vl;
        const char *n = hdrs_name(h, i, &nl);
        const char *v = hdrs_value(h, i, &vl);
        buf_puts(out, prefix);
        buf_append(out, n, nl);
        buf_puts(out, ": ");
        buf_append(out, v, vl);
        buf_putc(out, '\n');
    }
}

static void drv_init(struct drv *d, enum http1_kind kind, size_t max_head, unsigned max_fields,
                     bool head_request)
{
    memset(d, 0, sizeof(*d));
    hdrs_init(&d->headers);
    hdrs_init(&d->trailers);
    http1_init(&d->rx, kind, &d->headers, &d->trailers, on_body, d);
    d->rx.max_head = max_head;
    d->rx.max_fields = max_fields;
    d->head_request = head_request;
    d->state = D_HEAD;
    buf_puts(&d->out, "");
    buf_puts(&d->err, "");
}

static void drv_free(struct drv *d)
{
    http1_free(&d->rx);
    hdrs_free(&d->headers);
    hdrs_free(&d->trailers);
    buf_free(&d->body);
    buf_free(&d->out);
    buf_free(&d->err);
}

/* The message is over: record its body, start the next one. */
static void drv_end(struct drv *d)
{
    if (d->body.len > 0) {
        buf_puts(&d->out, "  body: ");
        buf_append(&d->out, d->body.p, d->body.len);
        buf_putc(&d->out, '\n');
    }
    put_fields(&d->out, "  trailer ", &d->trailers);
    buf_puts(&d->out, "  end\n");
    buf_reset(&d->body);
    hdrs_clear(&d->headers);
    hdrs_clear(&d->trailers);
    http1_next(&d->rx, &d->headers, &d->trailers);
    d->state = D_HEAD;
}

static void drv_head(struct drv *d)
{
    struct http1 *rx = &d->rx;
    enum http1_body body;
    if (rx->kind == HTTP1_REQUEST) {
        body = http1_request_body(rx);
        buf_printf(&d->out, "> %s ", rx->method ? rx->method : "(null)");
        buf_append(&d->out, rx->target.p, rx->target.len);
    } else {
        body = http1_response_body(rx, d->head_request);
        buf_printf(&d->out, "< %d ", rx->status);
        if (rx->reason.len > 0)
            buf_append(&d->out, rx->reason.p, rx->reason.len);
    }
    buf_printf(&d->out, " HTTP/%u.%u keep_alive=%d upgrade=%d body=%s", rx->major, rx->minor,
               rx->keep_alive, rx->upgrade, body_name(body));
    if (body == HTTP1_BODY_LENGTH)
        buf_printf(&d->out, " %llu", (unsigned long long)rx->content_length);
    buf_putc(&d->out, '\n');
    put_fields(&d->out, "  ", &d->headers);

    if (rx->kind == HTTP1_REQUEST && rx->method_id == HTTP_CONNECT) {
        d->state = D_TUNNEL;
        return;
    }
    if (rx->kind == HTTP1_RESPONSE && rx->status == 101 && rx->upgrade) {
        d->state = D_TUNNEL;
        return;
    }
    switch (body) {
    case HTTP1_BODY_NONE: drv_end(d); break;
    case HTTP1_BODY_LENGTH:
        d->state = D_LENGTH;
        d->left = rx->content_length;
        break;
    case HTTP1_BODY_CHUNKED: d->state = D_CHUNKED; break;
    case HTTP1_BODY_EOF: d->state = D_EOF; break;
    }
}

/* Feeds one piece, as a connection would with the bytes of one read. */
static void drv_feed(struct drv *d, const char *p, size_t len)
{
    int guard = 0;
    while (len > 0 && d->state != D_DEAD) {
        if (++guard > 1000) {
            d->protocol_errors++;
            return;
        }
        if (d->state == D_LENGTH) {
            size_t n = len < d->left ? len : (size_t)d->left;
            buf_append(&d->body, p, n);
            p += n, len -= n, d->left -= n;
            if (d->left == 0)
                drv_end(d);
            continue;
        }
        if (d->state == D_EOF || d->state == D_TUNNEL) {
            buf_append(&d->body, p, len); /* shown at the end by drv_finish */
            return;
        }
        size_t used = (size_t)-1;
        enum http1_rc rc = http1_feed(&d->rx, p, len, &used);
        if (used > len) {
            d->protocol_errors++;
            return;
        }
        p += used, len -= used;
        switch (rc) {
        case HTTP1_NEED_MORE:
            if (len != 0) /* NEED_MORE means everything was consumed */
                d->protocol_errors++;
            return;
        case HTTP1_HEAD:
            if (d->state != D_HEAD)
                buf_puts(&d->out, "  unexpected HEAD\n");
            drv_head(d);
            break;
        case HTTP1_DONE:
            if (d->state != D_CHUNKED)
                buf_puts(&d->out, "  unexpected DONE\n");
            drv_end(d);
            break;
        case HTTP1_ERROR:
            buf_printf(&d->out, "  error %d\n", d->rx.err_status);
            if (d->err.len == 0)
                buf_puts(&d->err, d->rx.err);
            d->state = D_DEAD;
            return;
        }
    }
}

/* End of input: whatever stream data is pending. */
static void drv_finish(struct drv *d)
{
    if (d->state == D_EOF || d->state == D_TUNNEL) {
        buf_puts(&d->out, d->state == D_EOF ? "  eof body: " : "  tunnel: ");
        buf_append(&d->out, d->body.p, d->body.len);
        buf_putc(&d->out, '\n');
    } else if (d->state != D_HEAD && d->state != D_DEAD) {
        buf_puts(&d->out, "  incomplete\n");
    }
}

/* ---- running a row ------------------------------------------------------ */

struct row {
    const char *name;
    enum http1_kind kind;
    const char *in;
    const char *want;
    size_t max_head;
    unsigned max_fields;
    bool head_request;
};

/* Runs the input cut at the given offsets (sorted, within the input); each
 * piece is an exact-size heap copy so over-reads are caught by ASan. */
static void run_cuts(const struct row *r, const size_t *cuts, size_t ncuts, struct buf *out,
                     struct buf *err, int *protocol_errors)
{
    struct drv d;
    size_t len = strlen(r->in), from = 0;
    drv_init(&d, r->kind, r->max_head, r->max_fields, r->head_request);
    for (size_t c = 0; c <= ncuts; c++) {
        size_t to = c < ncuts ? cuts[c] : len;
        char *piece = malloc(to - from + 1);
        if (piece == NULL)
            abort();
        memcpy(piece, r->in + from, to - from);
        drv_feed(&d, piece, to - from);
        free(piece);
        from = to;
    }
    drv_finish(&d);
    buf_reset(out);
    buf_append(out, d.out.p, d.out.len);
    buf_reset(err);
    buf_append(err, d.err.p, d.err.len);
    *protocol_errors = d.protocol_errors;
    drv_free(&d);
}

static void run_row(const struct row *r)
{
    struct buf out = BUF_INIT, err = BUF_INIT, err0 = BUF_INIT;
    size_t len = strlen(r->in);
    int perr = 0;
    buf_puts(&out, "");
    buf_puts(&err0, "");

    /* whole */
    check_note("%s: whole input", r->name);
    run_cuts(r, NULL, 0, &out, &err, &perr);
    CHECK_EQ_STR(out.p, r->want);
    CHECK_EQ_INT(perr, 0);
    buf_append(&err0, err.p, err.len);
    bool is_error = strstr(r->want, "  error ") != NULL;
    CHECK_EQ_INT(err.len > 0, is_error);

    /* two pieces, cut at every offset */
    int bad = 0;
    for (size_t k = 0; k <= len && bad < 3; k++) {
        check_note("%s: split at %zu", r->name, k);
        run_cuts(r, &k, 1, &out, &err, &perr);
        bool ok = CHECK_EQ_STR(out.p, r->want);
        ok = CHECK_EQ_INT(perr, 0) && ok;
        ok = CHECK_EQ_MEM(err.p, err.len, err0.p, err0.len) && ok;
        bad += !ok;
    }

    /* one byte at a time */
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));
    if (cuts == NULL)
        abort();
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    check_note("%s: byte by byte", r->name);
    run_cuts(r, cuts, len > 0 ? len - 1 : 0, &out, &err, &perr);
    CHECK_EQ_STR(out.p, r->want);
    CHECK_EQ_INT(perr, 0);
    CHECK_EQ_MEM(err.p, err.len, err0.p, err0.len);
    free(cuts);
    check_note(NULL);

    buf_free(&out);
    buf_free(&err);
    buf_free(&err0);
}

#define NO_LIMITS 0, 0, false

/* ---- requests ----------------------------------------------------------- */

static const struct row request_rows[] = {
    {"GET with headers", HTTP1_REQUEST,
     "GET http://a.test/x?y=1 HTTP/1.1\r\nHost: a.test\r\nUser-Agent: t/1\r\n"
     "accept: */*\r\nX-Case: MiXeD  \r\nX-Empty:\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n",
     "> GET http://a.test/x?y=1 HTTP/1.1 keep_alive=1 upgrade=0 body=none\n"
     "  Host: a.test\n  User-Agent: t/1\n  accept: */*\n  X-Case: MiXeD\n  X-Empty: \n"
     "  X-Dup: 1\n  x-dup: 2\n  end\n", NO_LIMITS},
    {"POST with Content-Length", HTTP1_REQUEST,
     "POST http://a.test/p HTTP/1.1\r\nHost: a.test\r\nContent-Length: 11\r\n\r\nhello world",
     "> POST http://a.test/p HTTP/1.1 keep_alive=1 upgrade=0 body=length 11\n"
     "  Host: a.test\n  Content-Length: 11\n  body: hello world\n  end\n", NO_LIMITS},
    {"POST with Content-Length 0", HTTP1_REQUEST,
     "POST http://a.test/p HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
     "> POST http://a.test/p HTTP/1.1 keep_alive=1 upgrade=0 body=none\n"
     "  Content-Length: 0\n  end\n", NO_LIMITS},
    {"chunked with extensions and trailers", HTTP1_REQUEST,
     "POST http://a.test/c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5;name=val\r\nhello\r\n6;a;b=c\r\n world\r\nA\r\n0123456789\r\n"
     "0\r\nX-Trailer: t1\r\nX-Sum:  abc  \r\n\r\n",
     "> POST http://a.test/c HTTP/1.1 keep_alive=1 upgrade=0 body=chunked\n"
     "  Host: a.test\n  Transfer-Encoding: chunked\n  body: hello world0123456789\n"
     "  trailer X-Trailer: t1\n  trailer X-Sum: abc\n  end\n", NO_LIMITS},
    {"chunked without trailers", HTTP1_REQUEST,
     "PUT http://a.test/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
     "1\r\na\r\nf\r\n0123456789abcde\r\n0\r\n\r\n",
     "> PUT http://a.test/c HTTP/1.1 keep_alive=1 upgrade=0 body=chunked\n"
     "  Transfer-Encoding: chunked\n  body: a0123456789abcde\n  end\n", NO_LIMITS},
    {"CONNECT", HTTP1_REQUEST,
     "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n\x16\x03\x01",
     "> CONNECT a.test:443 HTTP/1.1 keep_alive=1 upgrade=1 body=none\n"
     "  Host: a.test:443\n  tunnel: \x16\x03\x01\n", NO_LIMITS},
    {"CONNECT with Content-Length", HTTP1_REQUEST,
     "CONNECT a.test:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
     "> CONNECT a.test:443 HTTP/1.1 keep_alive=1 upgrade=1 body=none\n"
     "  Content-Length: 5\n  tunnel: hello\n",
     NO_LIMITS},
    {"HTTP/1.0", HTTP1_REQUEST, "GET http://a.test/ HTTP/1.0\r\nHost: a.test\r\n\r\n",
     "> GET http://a.test/ HTTP/1.0 keep_alive=0 upgrade=0 body=none\n  Host: a.test\n  end\n",
     NO_LIMITS},
    {"HTTP/1.0 keep-alive", HTTP1_REQUEST,
     "GET http://a.test/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
     "> GET http://a.test/ HTTP/1.0 keep_alive=1 upgrade=0 body=none\n"
     "  Connection: keep-alive\n  end\n", NO_LIMITS},
    {"HTTP/1.1 close", HTTP1_REQUEST, "GET http://a.test/ HTTP/1.1\r\nConnection: close\r\n\r\n",
     "> GET http://a.test/ HTTP/1.1 keep_alive=0 upgrade=0 body=none\n"
     "  Connection: close\n  end\n", NO_LIMITS},
    {"websocket upgrade", HTTP1_REQUEST,
     "GET http://a.test/ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\n"
     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
     "> GET http://a.test/ws HTTP/1.1 keep_alive=1 upgrade=1 body=none\n"
     "  Host: a.test\n  Upgrade: websocket\n  Connection: Upgrade\n"
     "  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n  end\n", NO_LIMITS},
    {"Upgrade without Connection: upgrade", HTTP1_REQUEST,
     "GET http://a.test/ HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
     "> GET http://a.test/ HTTP/1.1 keep_alive=1 upgrade=0 body=none\n"
     "  Upgrade: websocket\n  end\n", NO_LIMITS},
    {"pipelined", HTTP1_REQUEST,
     "GET http://a.test/1 HTTP/1.1\r\nHost: a.test\r\n\r\n"
     "POST http://b.test/2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
     "PUT http://c.test/3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
     "HEAD http://d.test/4 HTTP/1.1\r\nX: 4\r\n\r\n",
     "> GET http://a.test/1 HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  Host: a.test\n  end\n"
     "> POST http://b.test/2 HTTP/1.1 keep_alive=1 upgrade=0 body=length 3\n"
     "  Content-Length: 3\n  body: abc\n  end\n"
     "> PUT http://c.test/3 HTTP/1.1 keep_alive=1 upgrade=0 body=chunked\n"
     "  Transfer-Encoding: chunked\n  body: xy\n  end\n"
     "> HEAD http://d.test/4 HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  X: 4\n  end\n",
     NO_LIMITS},
    {"head limit", HTTP1_REQUEST,
     "GET http://a.test/ HTTP/1.1\r\nX-Big: 0123456789012345678901234567890123456789\r\n\r\n",
     "  error 431\n", 48, 0, false},
    {"head within limit", HTTP1_REQUEST, "GET http://a.test/ HTTP/1.1\r\nX-Small: 01234\r\n\r\n",
     "> GET http://a.test/ HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  X-Small: 01234\n"
     "  end\n",
     48, 0, false},
    {"field limit", HTTP1_REQUEST,
     "GET http://a.test/ HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
     "  error 431\n", 0, 3, false},
    {"fields at the limit", HTTP1_REQUEST,
     "GET http://a.test/ HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
     "> GET http://a.test/ HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  A: 1\n  B: 2\n  C: 3\n"
     "  end\n",
     0, 3, false},
    {"trailer field limit", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\nT1: 1\r\nT2: 2\r\nT3: 3\r\n\r\n",
     "> POST http://a.test/ HTTP/1.1 keep_alive=1 upgrade=0 body=chunked\n"
     "  Transfer-Encoding: chunked\n  error 431\n",
     0, 2, false},
    {"trailers have limits of their own", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Head: 0123456789\r\n\r\n"
     "0\r\nT1: 0123456789\r\nT2: 0123456789\r\n\r\n",
     "> POST http://a.test/ HTTP/1.1 keep_alive=1 upgrade=0 body=chunked\n"
     "  Transfer-Encoding: chunked\n  X-Head: 0123456789\n  trailer T1: 0123456789\n"
     "  trailer T2: 0123456789\n  end\n",
     60, 2, false},
    {"limits apply again to the next message", HTTP1_REQUEST,
     "GET http://a.test/ HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n"
     "GET http://a.test/ HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
     "> GET http://a.test/ HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  A: 1\n  B: 2\n  end\n"
     "  error 431\n",
     0, 2, false},
    /* malformed */
    {"bad method", HTTP1_REQUEST, "BREW http://a.test/ HTTP/1.1\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"lower-case method", HTTP1_REQUEST, "get http://a.test/ HTTP/1.1\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"bad version", HTTP1_REQUEST, "GET http://a.test/ HTTP/9.9\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"bad protocol", HTTP1_REQUEST, "GET http://a.test/ HTTX/1.1\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"invalid header token", HTTP1_REQUEST,
     "GET http://a.test/ HTTP/1.1\r\nBad Name: x\r\n\r\n", "  error 400\n", NO_LIMITS},
    {"space before colon", HTTP1_REQUEST, "GET http://a.test/ HTTP/1.1\r\nHost : x\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"control char in value", HTTP1_REQUEST,
     "GET http://a.test/ HTTP/1.1\r\nX-A: a\x01z\r\n\r\n", "  error 400\n", NO_LIMITS},
    {"invalid Content-Length", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "  error 400\n", NO_LIMITS},
    {"negative Content-Length", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "  error 400\n", NO_LIMITS},
    {"huge Content-Length", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"two Content-Lengths", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"Content-Length with chunked", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"chunked, then Content-Length", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
     "0\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"chunked not last", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"bad chunk size", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
     "> POST http://a.test/ HTTP/1.1 keep_alive=1 upgrade=0 body=chunked\n"
     "  Transfer-Encoding: chunked\n  error 400\n", NO_LIMITS},
    {"chunk size overflow", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
     "fffffffffffffffffff\r\n",
     "> POST http://a.test/ HTTP/1.1 keep_alive=1 upgrade=0 body=chunked\n"
     "  Transfer-Encoding: chunked\n  error 400\n", NO_LIMITS},
    {"CR without LF", HTTP1_REQUEST, "GET http://a.test/ HTTP/1.1\rHost: a\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"invalid trailer name", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n"
     "0\r\nBad Trailer: 1\r\n\r\n",
     "> POST http://a.test/ HTTP/1.1 keep_alive=1 upgrade=0 body=chunked\n"
     "  Transfer-Encoding: chunked\n  error 400\n",
     NO_LIMITS},
    {"error after a good message", HTTP1_REQUEST,
     "GET http://a.test/ HTTP/1.1\r\n\r\nGET http://a.test/ HTTP/1.1\r\nA B: c\r\n\r\n",
     "> GET http://a.test/ HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  end\n  error 400\n",
     NO_LIMITS},
};

/* ---- responses ---------------------------------------------------------- */

static const struct row response_rows[] = {
    {"200 with Content-Length", HTTP1_RESPONSE,
     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc",
     "< 200 OK HTTP/1.1 keep_alive=1 upgrade=0 body=length 3\n"
     "  Content-Type: text/plain\n  Content-Length: 3\n  body: abc\n  end\n", NO_LIMITS},
    {"404 reason", HTTP1_RESPONSE, "HTTP/1.1 404 Not Found Here\r\nContent-Length: 0\r\n\r\n",
     "< 404 Not Found Here HTTP/1.1 keep_alive=1 upgrade=0 body=none\n"
     "  Content-Length: 0\n  end\n", NO_LIMITS},
    {"204", HTTP1_RESPONSE, "HTTP/1.1 204 No Content\r\nX: y\r\n\r\n",
     "< 204 No Content HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  X: y\n  end\n", NO_LIMITS},
    {"304 with Content-Length", HTTP1_RESPONSE,
     "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
     "< 304 Not Modified HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  Content-Length: 10\n"
     "  end\n", NO_LIMITS},
    {"100 then 200", HTTP1_RESPONSE,
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
     "< 100 Continue HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  end\n"
     "< 200 OK HTTP/1.1 keep_alive=1 upgrade=0 body=length 2\n  Content-Length: 2\n"
     "  body: ok\n  end\n", NO_LIMITS},
    {"103 with fields", HTTP1_RESPONSE,
     "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
     "< 103 Early Hints HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  Link: </a.css>\n  end\n"
     "< 204 No Content HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  end\n", NO_LIMITS},
    {"101 switching", HTTP1_RESPONSE,
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
     "\x81\x05",
     "< 101 Switching Protocols HTTP/1.1 keep_alive=1 upgrade=1 body=none\n"
     "  Upgrade: websocket\n  Connection: Upgrade\n  tunnel: \x81\x05\n", NO_LIMITS},
    {"HEAD response", HTTP1_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
     "< 200 OK HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  Content-Length: 5\n  end\n", 0, 0,
     true},
    {"HEAD response, chunked", HTTP1_RESPONSE,
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
     "< 200 OK HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  Transfer-Encoding: chunked\n"
     "  end\n",
     0, 0, true},
    {"chunked", HTTP1_RESPONSE,
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n"
     "0\r\nServer-Timing: db;dur=53\r\n\r\n",
     "< 200 OK HTTP/1.1 keep_alive=1 upgrade=0 body=chunked\n  Transfer-Encoding: chunked\n"
     "  body: abcdefg\n  trailer Server-Timing: db;dur=53\n  end\n", NO_LIMITS},
    {"EOF-delimited", HTTP1_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>x",
     "< 200 OK HTTP/1.1 keep_alive=0 upgrade=0 body=eof\n  Content-Type: text/html\n"
     "  eof body: <p>x\n", NO_LIMITS},
    {"non-chunked Transfer-Encoding", HTTP1_RESPONSE,
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b",
     "< 200 OK HTTP/1.1 keep_alive=0 upgrade=0 body=eof\n  Transfer-Encoding: gzip\n"
     "  eof body: \x1f\x8b\n", NO_LIMITS},
    {"HTTP/1.0 with Content-Length", HTTP1_RESPONSE,
     "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
     "< 200 OK HTTP/1.0 keep_alive=0 upgrade=0 body=length 2\n  Content-Length: 2\n"
     "  body: hi\n  end\n", NO_LIMITS},
    {"keep-alive responses in a row", HTTP1_RESPONSE,
     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
     "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nB\r\n0\r\n\r\n"
     "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 1\r\n\r\nC",
     "< 200 OK HTTP/1.1 keep_alive=1 upgrade=0 body=length 1\n  Content-Length: 1\n"
     "  body: A\n  end\n"
     "< 201 Created HTTP/1.1 keep_alive=1 upgrade=0 body=chunked\n"
     "  Transfer-Encoding: chunked\n  body: B\n  end\n"
     "< 500 Oops HTTP/1.1 keep_alive=0 upgrade=0 body=length 1\n  Connection: close\n"
     "  Content-Length: 1\n  body: C\n  end\n", NO_LIMITS},
    {"empty reason", HTTP1_RESPONSE, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
     "< 200  HTTP/1.1 keep_alive=1 upgrade=0 body=none\n  Content-Length: 0\n  end\n",
     NO_LIMITS},
    {"bad status", HTTP1_RESPONSE, "HTTP/1.1 abc OK\r\n\r\n", "  error 400\n", NO_LIMITS},
    {"bad response version", HTTP1_RESPONSE, "HTTP/7.0 200 OK\r\n\r\n", "  error 400\n", NO_LIMITS},
    {"duplicate Content-Length", HTTP1_RESPONSE,
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    {"response head limit", HTTP1_RESPONSE,
     "HTTP/1.1 200 OK\r\nSet-Cookie: 0123456789012345678901234567890123456789\r\n\r\n",
     "  error 431\n", 32, 0, false},
};

/* Inputs lucent once accepted and must refuse (regression tests). */
static const struct row regression_rows[] = {
    /* RFC 9110 5.1: a field name is a token, at least one character */
    {"empty header name", HTTP1_REQUEST, "GET http://a.test/ HTTP/1.1\r\n: x\r\n\r\n",
     "  error 400\n", NO_LIMITS},
    /* found by fuzz_http1: an empty name after other fields was checked
     * against the previous field's name (and with no field, index -1) */
    {"empty header name after a field", HTTP1_REQUEST,
     "GET http://a.test/ HTTP/1.1\r\nA: 1\r\n: x\r\n\r\n", "  error 400\n", NO_LIMITS},
    {"empty header name in a response", HTTP1_RESPONSE,
     "HTTP/1.1 200 OK\r\n:ontent-Length: 3\r\n\r\nabc", "  error 400\n", NO_LIMITS},
    /* RFC 9112 6.3: a request whose final coding is not chunked is a 400; llhttp
     * says so only after on_headers_complete, which http1 pauses in, so the
     * request is taken as bodiless and the body read as the next request */
    {"request with non-chunked Transfer-Encoding", HTTP1_REQUEST,
     "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"
     "GET http://b.test/ HTTP/1.1\r\n\r\n",
     "  error 400\n", NO_LIMITS},
};

static void test_rows(void)
{
    for (size_t r = 0; r < LC_ARRAY_LEN(request_rows); r++)
        run_row(&request_rows[r]);
    for (size_t r = 0; r < LC_ARRAY_LEN(response_rows); r++)
        run_row(&response_rows[r]);
    for (size_t r = 0; r < LC_ARRAY_LEN(regression_rows); r++)
        run_row(&regression_rows[r]);
}

/* ---- direct checks of the results and the feed contract ----------------- */

static void test_request_results(void)
{
    static const char in[] = "GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\nNEXT";
    struct hdrs h, t;
    struct http1 rx;
    size_t used = 999;
    hdrs_init(&h);
    hdrs_init(&t);
    http1_init(&rx, HTTP1_REQUEST, &h, &t, NULL, NULL);

    CHECK(!http1_started(&rx));
    CHECK_EQ_INT(http1_feed(&rx, in, 0, &used), HTTP1_NEED_MORE);
    CHECK_EQ_INT(used, 0);
    CHECK(!http1_started(&rx));
    CHECK_EQ_INT(http1_feed(&rx, in, 3, &used), HTTP1_NEED_MORE);
    CHECK_EQ_INT(used, 3);
    CHECK(http1_started(&rx));
    CHECK_EQ_INT(http1_feed(&rx, in + 3, sizeof(in) - 1 - 3, &used), HTTP1_HEAD);
    /* stops right after the head: "NEXT" is not consumed */
    CHECK_EQ_INT(used, sizeof(in) - 1 - 3 - 4);
    CHECK(http1_started(&rx));
    CHECK_EQ_STR(rx.method, "GET");
    CHECK_EQ_INT(rx.method_id, HTTP_GET);
    CHECK_EQ_MEM(rx.target.p, rx.target.len, "http://a.test/x", 15);
    CHECK_EQ_INT(rx.major, 1);
    CHECK_EQ_INT(rx.minor, 1);
    CHECK(rx.keep_alive);
    CHECK(!rx.upgrade);
    CHECK(!rx.chunked);
    CHECK(!rx.has_length);
    CHECK_EQ_INT(http1_request_body(&rx), HTTP1_BODY_NONE);
    CHECK_EQ_INT(h.n, 1);
    CHECK_EQ_INT(t.n, 0);

    /* next message: results reset, nothing started */
    hdrs_clear(&h);
    http1_next(&rx, &h, &t);
    CHECK(!http1_started(&rx));
    CHECK(rx.method == NULL);
    CHECK_EQ_INT(rx.target.len, 0);
    http1_free(&rx);

    /* CONNECT */
    static const char conn[] = "CONNECT [::1]:443 HTTP/1.1\r\n\r\n";
    http1_init(&rx, HTTP1_REQUEST, &h, &t, NULL, NULL);
    CHECK_EQ_INT(http1_feed(&rx, conn, sizeof(conn) - 1, &used), HTTP1_HEAD);
    CHECK_EQ_INT(used, sizeof(conn) - 1);
    CHECK_EQ_INT(rx.method_id, HTTP_CONNECT);
    CHECK_EQ_STR(rx.method, "CONNECT");
    CHECK_EQ_MEM(rx.target.p, rx.target.len, "[::1]:443", 9);
    CHECK_EQ_INT(http1_request_body(&rx), HTTP1_BODY_NONE);
    http1_free(&rx);

    /* POST: content_length and has_length */
    static const char post[] =
        "POST http://a.test/ HTTP/1.1\r\nContent-Length: 1234567890123\r\n\r\n";
    http1_init(&rx, HTTP1_REQUEST, &h, &t, NULL, NULL);
    CHECK_EQ_INT(http1_feed(&rx, post, sizeof(post) - 1, &used), HTTP1_HEAD);
    CHECK(rx.has_length);
    CHECK_EQ_INT(rx.content_length, 1234567890123LL);
    CHECK_EQ_INT(http1_request_body(&rx), HTTP1_BODY_LENGTH);
    http1_free(&rx);

    hdrs_free(&h);
    hdrs_free(&t);
}

static void test_error_is_final(void)
{
    static const char bad[] = "GET http://a.test/ HTTP/1.1\r\nA B: c\r\n\r\n";
    static const char good[] = "GET http://a.test/ HTTP/1.1\r\n\r\n";
    struct hdrs h, t;
    struct http1 rx;
    size_t used = 999;
    hdrs_init(&h);
    hdrs_init(&t);
    http1_init(&rx, HTTP1_REQUEST, &h, &t, NULL, NULL);
    CHECK_EQ_INT(http1_feed(&rx, bad, sizeof(bad) - 1, &used), HTTP1_ERROR);
    CHECK(used <= sizeof(bad) - 1);
    CHECK_EQ_INT(rx.err_status, 400);
    CHECK(rx.err[0] != '\0');
    /* the reader is dead: more bytes, even good ones, are refused */
    used = 999;
    CHECK_EQ_INT(http1_feed(&rx, good, sizeof(good) - 1, &used), HTTP1_ERROR);
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(rx.err_status, 400);

    /* a limit error keeps its 431 and message */
    http1_free(&rx);
    hdrs_clear(&h);
    hdrs_clear(&t);
    http1_init(&rx, HTTP1_REQUEST, &h, &t, NULL, NULL);
    rx.max_fields = 1;
    static const char two[] = "GET http://a.test/ HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
    CHECK_EQ_INT(http1_feed(&rx, two, sizeof(two) - 1, &used), HTTP1_ERROR);
    CHECK_EQ_INT(rx.err_status, 431);
    CHECK(strstr(rx.err, "too many") != NULL);
    CHECK_EQ_INT(http1_feed(&rx, good, sizeof(good) - 1, &used), HTTP1_ERROR);
    CHECK_EQ_INT(rx.err_status, 431);

    http1_free(&rx);
    hdrs_clear(&h);
    hdrs_clear(&t);
    http1_init(&rx, HTTP1_REQUEST, &h, &t, NULL, NULL);
    rx.max_head = 20;
    static const char big[] = "GET http://a.test/ HTTP/1.1\r\nX-Long: 01234567890123456789\r\n\r\n";
    CHECK_EQ_INT(http1_feed(&rx, big, sizeof(big) - 1, &used), HTTP1_ERROR);
    CHECK_EQ_INT(rx.err_status, 431);
    CHECK(strstr(rx.err, "too large") != NULL);

    http1_free(&rx);
    http1_free(NULL);
    hdrs_free(&h);
    hdrs_free(&t);
}

static void test_response_body_kinds(void)
{
    /* http1_response_body straight from the results fields */
    static const struct {
        int status;
        bool chunked, has_length;
        uint64_t len;
        bool head_request;
        enum http1_body want;
    } rows[] = {
        {200, false, true, 10, false, HTTP1_BODY_LENGTH},
        {200, false, true, 0, false, HTTP1_BODY_NONE},
        {200, true, false, 0, false, HTTP1_BODY_CHUNKED},
        {200, false, false, 0, false, HTTP1_BODY_EOF},
        {200, false, true, 10, true, HTTP1_BODY_NONE},
        {200, true, false, 0, true, HTTP1_BODY_NONE},
        {204, false, true, 10, false, HTTP1_BODY_NONE},
        {304, true, false, 0, false, HTTP1_BODY_NONE},
        {100, false, false, 0, false, HTTP1_BODY_NONE},
        {199, false, false, 0, false, HTTP1_BODY_NONE},
        {205, false, true, 3, false, HTTP1_BODY_LENGTH},
        {500, false, false, 0, false, HTTP1_BODY_EOF},
    };
    struct hdrs h, t;
    hdrs_init(&h);
    hdrs_init(&t);
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct http1 rx;
        http1_init(&rx, HTTP1_RESPONSE, &h, &t, NULL, NULL);
        rx.status = rows[r].status;
        rx.chunked = rows[r].chunked;
        rx.has_length = rows[r].has_length;
        rx.content_length = rows[r].len;
        check_note("row %zu: status %d", r, rows[r].status);
        CHECK_EQ_INT(http1_response_body(&rx, rows[r].head_request), rows[r].want);
        http1_free(&rx);
    }
    check_note(NULL);
    hdrs_free(&h);
    hdrs_free(&t);
}

int main(void)
{
    test_rows();
    test_request_results();
    test_error_is_final();
    test_response_body_kinds();
    return check_summary();
}
