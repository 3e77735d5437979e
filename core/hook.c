/* SPDX-License-Identifier: MIT */
/* hook: the per-exchange context hooks work on, and the reason phrases. */
#include "core/hook.h"

#include <stdio.h>
#include <string.h>

const char *const hook_names[HOOK_COUNT] = {
    "connect", "requestheaders", "request", "responseheaders", "response", "error", "done",
};

void hook_ctx_init(struct hook_ctx *hc)
{
    memset(hc, 0, sizeof(*hc));
}

static void body_reset(struct hook_body *b)
{
    if (b->raw.cap > 256 * 1024)
        buf_free(&b->raw); /* do not sit on a large body between exchanges */
    else
        buf_reset(&b->raw);
    b->present = b->streamed = b->stream = b->replaced = false;
}

void hook_ctx_reset(struct hook_ctx *hc, struct flow *f, struct url *target,
                    struct buf *path_store, size_t body_limit)
{
    hc->flow = f;
    hc->target = target;
    hc->path_store = path_store;
    hc->body_limit = body_limit;
    body_reset(&hc->req);
    body_reset(&hc->resp);
    hc->respond = hc->kill = hc->host_set = false;
    hc->delay_ms = 0;
    hc->killed_by[0] = '\0';
}

void hook_ctx_free(struct hook_ctx *hc)
{
    if (hc == NULL)
        return;
    buf_free(&hc->req.raw);
    buf_free(&hc->resp.raw);
}

const char *hook_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 511: return "Network Authentication Required";
    default: return "";
    }
}

void hook_set_flow_url(struct hook_ctx *hc)
{
    struct url *t = hc->target;
    struct buf u = BUF_INIT;
    char auth[URL_HOST_MAX + 10];
    size_t alen = url_authority(t, hc->flow->connect, auth, sizeof(auth));

    if (!hc->flow->connect) {
        buf_puts(&u, t->scheme);
        buf_puts(&u, "://");
    }
    buf_append(&u, auth, alen);
    if (!hc->flow->connect) {
        if (t->path_len == 0 || t->path[0] != '/')
            buf_putc(&u, '/');
        buf_append(&u, t->path, t->path_len);
    }
    flow_set_url(hc->flow, u.p, u.len);
    buf_free(&u);
}
