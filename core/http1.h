/* SPDX-License-Identifier: MIT */
/* http1: an HTTP/1.x message reader on top of llhttp. It parses heads (into
 * a caller's hdrs) and chunked bodies; it stops after every head so the
 * caller can decide what to do before any body byte is consumed. Bodies with
 * a known length or delimited by EOF are counted by the caller itself (so it
 * can move them between buffers without copying); chunked bodies come out
 * de-chunked through on_body, trailers into a second hdrs.
 * Limits: head size and field count; exceeding them is an error with status
 * 431. Pure: no I/O, no libevent. */
#ifndef LUCENT_CORE_HTTP1_H
#define LUCENT_CORE_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <llhttp.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/hdrs.h"

enum http1_kind { HTTP1_REQUEST = 0, HTTP1_RESPONSE };

enum http1_rc {
    HTTP1_NEED_MORE = 0, /* everything consumed; feed more */
    HTTP1_HEAD,          /* a head is complete; nothing after it consumed */
    HTTP1_DONE,          /* a chunked body (and its trailers) is complete */
    HTTP1_ERROR,         /* see err, err_status; the reader is dead */
};

enum http1_body {
    HTTP1_BODY_NONE = 0, /* no body */
    HTTP1_BODY_LENGTH,   /* content_length bytes, counted by the caller */
    HTTP1_BODY_CHUNKED,  /* keep feeding: on_body gets de-chunked data */
    HTTP1_BODY_EOF,      /* response delimited by the connection closing */
};

typedef void (*http1_body_fn)(void *arg, const char *p, size_t len);

struct http1 {
    llhttp_t parser;
    enum http1_kind kind;
    struct hdrs *headers;  /* borrowed: head fields go here */
    struct hdrs *trailers; /* borrowed: trailer fields go here */
    http1_body_fn on_body;
    void *arg;
    size_t max_head; /* bytes of request line/status line + fields */
    unsigned max_fields;

    /* results, valid after HTTP1_HEAD */
    struct buf target;  /* owned: request target as sent */
    struct buf reason;  /* owned: response reason phrase */
    const char *method; /* static string from llhttp */
    int method_id;
    int status;
    uint8_t major, minor;
    bool keep_alive; /* per the message's version and Connection */
    bool upgrade;    /* Upgrade + Connection: upgrade (or CONNECT) */
    bool chunked;
    bool has_length;
    uint64_t content_length;

    /* private */
    size_t head_bytes;
    size_t name_len; /* of the field name being read */
    unsigned fields;
    bool in_head, in_trailers, head_paused, body_done;
    char err[160];
    int err_status;
};

void http1_init(struct http1 *h, enum http1_kind kind, struct hdrs *headers, struct hdrs *trailers,
                http1_body_fn on_body, void *arg) LC_NONNULL(1, 3, 4);
void http1_free(struct http1 *h);
/* Ready for the next message on the same connection (heads go to the hdrs
 * given at init, which the caller has cleared or replaced). */
void http1_next(struct http1 *h, struct hdrs *headers, struct hdrs *trailers) LC_NONNULL(1, 2, 3);

/* Consumes up to len bytes; *used says how many. */
enum http1_rc http1_feed(struct http1 *h, const char *p, size_t len, size_t *used) LC_NONNULL(1, 4);
/* Has a message begun (any byte of it consumed)? */
bool http1_started(const struct http1 *h) LC_NONNULL(1);

/* Body framing of the message whose head was just read. For responses pass
 * the request method id and whether the request was HEAD. */
enum http1_body http1_request_body(const struct http1 *h) LC_NONNULL(1);
enum http1_body http1_response_body(const struct http1 *h, bool head_request) LC_NONNULL(1);

#endif
