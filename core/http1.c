/* SPDX-License-Identifier: MIT */
/* http1: llhttp callbacks that fill hdrs, enforce limits, and pause at every
 * head and at the end of every chunked body. llhttp splits tokens across
 * calls, so every data callback appends. */
#include "core/http1.h"

#include <stdio.h>
#include <string.h>

static struct http1 *from(llhttp_t *p)
{
    return p->data;
}

static int limit_error(struct http1 *h, const char *what)
{
    snprintf(h->err, sizeof(h->err), "%s", what);
    h->err_status = 431;
    return HPE_USER;
}

static int count_head(struct http1 *h, size_t len)
{
    h->head_bytes += len;
    if (h->max_head > 0 && h->head_bytes > h->max_head)
        return limit_error(h, h->in_trailers ? "trailer section too large"
                                             : "header section too large");
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    struct http1 *h = from(p);
    h->in_head = true;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct http1 *h = from(p);
    buf_append(&h->target, at, len);
    return count_head(h, len);
}

static int on_status(llhttp_t *p, const char *at, size_t len)
{
    struct http1 *h = from(p);
    buf_append(&h->reason, at, len);
    return count_head(h, len);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct http1 *h = from(p);
    hdrs_feed_name(h->in_trailers ? h->trailers : h->headers, at, len);
    h->name_len += len;
    return count_head(h, len);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct http1 *h = from(p);
    hdrs_feed_value(h->in_trailers ? h->trailers : h->headers, at, len);
    return count_head(h, len);
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int on_header_field_complete(llhttp_t *p)
{
    struct http1 *h = from(p);
    struct hdrs *hs = h->in_trailers ? h->trailers : h->headers;
    size_t nl = h->name_len;
    h->name_len = 0;
    if (nl == 0) { /* no on_header_field at all: there is no entry for it */
        snprintf(h->err, sizeof(h->err), "empty header name");
        h->err_status = 400;
        return HPE_USER;
    }
    hdrs_feed_name_end(hs); /* an empty value must not glue the next name on */
    const char *name = hdrs_name(hs, hs->n - 1, &nl);
    for (size_t i = 0; i < nl; i++) {
        if (!is_tchar((unsigned char)name[i])) {
            snprintf(h->err, sizeof(h->err), "invalid character in header name");
            h->err_status = 400;
            return HPE_USER;
        }
    }
    if (h->max_fields > 0 && ++h->fields > h->max_fields)
        return limit_error(h, "too many header fields");
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    struct http1 *h = from(p);
    hdrs_feed_end(h->in_trailers ? h->trailers : h->headers);
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct http1 *h = from(p);
    h->in_head = false;
    /* llhttp would only object after this callback, where we pause: a
     * request body must be chunked-framed or length-framed (RFC 9112 6.3) */
    if (h->kind == HTTP1_REQUEST && (p->flags & F_TRANSFER_ENCODING) && !(p->flags & F_CHUNKED)) {
        snprintf(h->err, sizeof(h->err), "Transfer-Encoding without chunked as the final coding");
        h->err_status = 400;
        return HPE_USER;
    }
    h->major = llhttp_get_http_major(p);
    h->minor = llhttp_get_http_minor(p);
    if (h->kind == HTTP1_REQUEST) {
        h->method_id = llhttp_get_method(p);
        h->method = llhttp_method_name((llhttp_method_t)h->method_id);
    } else {
        h->status = llhttp_get_status_code(p);
    }
    h->keep_alive = llhttp_should_keep_alive(p) != 0;
    h->upgrade = p->upgrade != 0;
    h->chunked = (p->flags & F_CHUNKED) != 0;
    h->has_length = (p->flags & F_CONTENT_LENGTH) != 0;
    h->content_length = h->has_length ? p->content_length : 0;
    /* a Transfer-Encoding other than chunked: length unknown */
    if ((p->flags & F_TRANSFER_ENCODING) && !h->chunked)
        h->has_length = false;
    h->in_trailers = true; /* any later fields are trailers */
    h->fields = 0;
    h->head_bytes = 0;
    h->head_paused = true;
    return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct http1 *h = from(p);
    if (h->on_body)
        h->on_body(h->arg, at, len);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct http1 *h = from(p);
    h->body_done = true;
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void reset_results(struct http1 *h)
{
    buf_reset(&h->target);
    buf_reset(&h->reason);
    h->method = NULL;
    h->method_id = -1;
    h->status = 0;
    h->major = h->minor = 0;
    h->keep_alive = h->upgrade = h->chunked = h->has_length = false;
    h->content_length = 0;
    h->head_bytes = 0;
    h->name_len = 0;
    h->fields = 0;
    h->in_head = h->in_trailers = h->head_paused = h->body_done = false;
    h->err[0] = '\0';
    h->err_status = 0;
}

void http1_init(struct http1 *h, enum http1_kind kind, struct hdrs *headers, struct hdrs *trailers,
                http1_body_fn body_fn, void *arg)
{
    memset(h, 0, sizeof(*h));
    h->kind = kind;
    h->headers = headers;
    h->trailers = trailers;
    h->on_body = body_fn;
    h->arg = arg;
    llhttp_init(&h->parser, kind == HTTP1_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE, &settings);
    h->parser.data = h;
    reset_results(h);
}

void http1_free(struct http1 *h)
{
    if (h == NULL)
        return;
    buf_free(&h->target);
    buf_free(&h->reason);
}

void http1_next(struct http1 *h, struct hdrs *headers, struct hdrs *trailers)
{
    llhttp_reset(&h->parser);
    h->headers = headers;
    h->trailers = trailers;
    reset_results(h);
}

bool http1_started(const struct http1 *h)
{
    return h->in_head || h->head_paused;
}

enum http1_rc http1_feed(struct http1 *h, const char *p, size_t len, size_t *used)
{
    *used = 0;
    if (h->err_status != 0 && llhttp_get_errno(&h->parser) != HPE_OK &&
        llhttp_get_errno(&h->parser) != HPE_PAUSED)
        return HTTP1_ERROR;
    if (len == 0)
        return HTTP1_NEED_MORE;
    bool was_head = !h->head_paused;
    llhttp_errno_t rc = llhttp_execute(&h->parser, p, len);
    if (rc == HPE_OK) {
        *used = len;
        return HTTP1_NEED_MORE;
    }
    if (rc == HPE_PAUSED) {
        *used = (size_t)(llhttp_get_error_pos(&h->parser) - p);
        llhttp_resume(&h->parser);
        if (h->body_done)
            return HTTP1_DONE;
        if (was_head && h->head_paused)
            return HTTP1_HEAD;
        return HTTP1_NEED_MORE;
    }
    *used = (size_t)(llhttp_get_error_pos(&h->parser) - p);
    if (h->err_status == 0) {
        h->err_status = 400;
        const char *why = llhttp_get_error_reason(&h->parser);
        snprintf(h->err, sizeof(h->err), "%s", why ? why : llhttp_errno_name(rc));
    }
    return HTTP1_ERROR;
}

enum http1_body http1_request_body(const struct http1 *h)
{
    if (h->method_id == HTTP_CONNECT)
        return HTTP1_BODY_NONE;
    if (h->chunked)
        return HTTP1_BODY_CHUNKED;
    if (h->has_length && h->content_length > 0)
        return HTTP1_BODY_LENGTH;
    return HTTP1_BODY_NONE;
}

enum http1_body http1_response_body(const struct http1 *h, bool head_request)
{
    if (head_request || (h->status >= 100 && h->status < 200) || h->status == 204 ||
        h->status == 304)
        return HTTP1_BODY_NONE;
    if (h->chunked)
        return HTTP1_BODY_CHUNKED;
    if (h->has_length)
        return h->content_length > 0 ? HTTP1_BODY_LENGTH : HTTP1_BODY_NONE;
    return HTTP1_BODY_EOF;
}
