/* SPDX-License-Identifier: MIT */
/* explain: plain-language notes for people learning HTTP (the viewer's
 * explain pane). What a status code means and when it turns up, what a header
 * field does, and a few background topics (cookies, keep-alive, WebSocket,
 * what an eavesdropper sees, caching, redirects, methods), in English and
 * Simplified Chinese. Each language has its own tables with the same keys, so
 * a language or a note is added by adding rows; the unit test checks that no
 * key is missing from a language.
 *
 * Every text is a static UTF-8 string: callers never free it. Pure: no I/O
 * (explain_lang_default() only reads the environment) and no state. It
 * teaches; it does not judge a flow (core/cache.h does that for caching). */
#ifndef LUCENT_CORE_EXPLAIN_H
#define LUCENT_CORE_EXPLAIN_H

#include <stddef.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/flow.h"

enum explain_lang { EXPLAIN_EN = 0, EXPLAIN_ZH, EXPLAIN_LANGS };

enum explain_topic {
    EXPLAIN_TOPIC_COOKIES = 0, /* statelessness, and how cookies carry state */
    EXPLAIN_TOPIC_KEEPALIVE,   /* connection reuse, head-of-line blocking */
    EXPLAIN_TOPIC_WEBSOCKET,   /* Upgrade, 101, frames afterwards */
    EXPLAIN_TOPIC_PLAIN,       /* what an observer sees of plain HTTP */
    EXPLAIN_TOPIC_TLS,         /* what an observer sees of HTTPS */
    EXPLAIN_TOPIC_TUNNEL,      /* CONNECT: a proxy passing opaque bytes */
    EXPLAIN_TOPIC_CACHE,       /* caching, with a pointer to lucent's verdict */
    EXPLAIN_TOPIC_REDIRECTS,   /* 3xx and Location */
    EXPLAIN_TOPIC_METHODS,     /* GET vs POST, idempotence, Expect: 100-continue */
    EXPLAIN_TOPICS,
};

/* "zh", "ZH", "zh_CN.UTF-8", "zh-Hans" ... give EXPLAIN_ZH; anything else
 * (including NULL, "", "C", "en_US.UTF-8") gives EXPLAIN_EN. */
enum explain_lang explain_lang_from(const char *s) LC_WUR;
/* The language of the first non-empty one of LC_ALL, LC_MESSAGES, LANG (the
 * order in which POSIX consults them), through explain_lang_from(). */
enum explain_lang explain_lang_default(void) LC_WUR;
/* "en" or "zh"; "en" for an out-of-range value. */
const char *explain_lang_name(enum explain_lang l) LC_WUR;

/* What status `code` means. Never NULL: a code lucent has no note for gets
 * its class's text (1xx ... 5xx), a code outside 100..599 a sentence saying
 * HTTP does not define it. */
const char *explain_status(int code, enum explain_lang l) LC_WUR;

/* What the header field `name` does, matched case-insensitively (ASCII);
 * NULL when there is no note for it. A language missing the row falls back
 * to English. explain_header_n() takes a name that is not NUL-terminated. */
const char *explain_header(const char *name, enum explain_lang l) LC_NONNULL(1) LC_WUR;
const char *explain_header_n(const char *name, size_t len, enum explain_lang l)
    LC_NONNULL(1) LC_WUR;

/* The header names with a note in language l, for listings and tests:
 * explain_header_name(i, l) for i < explain_header_count(l), else NULL. */
size_t explain_header_count(enum explain_lang l) LC_WUR;
const char *explain_header_name(size_t i, enum explain_lang l) LC_WUR;

/* A topic's heading and its text (a few sentences). Never NULL; "" for an
 * out-of-range topic. */
const char *explain_topic_title(enum explain_topic t, enum explain_lang l) LC_WUR;
const char *explain_topic(enum explain_topic t, enum explain_lang l) LC_WUR;

/* Which topics apply to flow f, as a bit set (1u << topic):
 *  - COOKIES: a Cookie or Set-Cookie field;
 *  - KEEPALIVE: a Keep-Alive field, or Connection with keep-alive or close;
 *  - WEBSOCKET: status 101 or an Upgrade field;
 *  - TUNNEL for a CONNECT, otherwise TLS when f->tls, PLAIN when not;
 *  - CACHE: 304, a cache tag, or a caching field (Cache-Control, Expires,
 *    ETag, Last-Modified, If-None-Match, If-Modified-Since, Age, Pragma);
 *  - REDIRECTS: a 3xx status;
 *  - METHODS: a request body, an Expect field, or POST, PUT or PATCH. */
unsigned explain_flow_topics(const struct flow *f) LC_NONNULL(1) LC_WUR;

/* Appends the explain pane for flow f to out: the request line, the status
 * and its meaning (or that there was no response), each request and
 * response header field once with its note ("no note yet" when there is
 * none), then the topics that apply. Lines end in '\n'; UTF-8. */
void explain_flow(const struct flow *f, enum explain_lang l, struct buf *out) LC_NONNULL(1, 3);

#endif
