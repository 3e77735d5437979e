/* SPDX-License-Identifier: MIT */
/* expose: what an eavesdropper on the network path could read from one
 * finished flow, for teachers showing a class why plain HTTP is dangerous.
 * Reads the request line, headers and captured bodies (decoding the request
 * body's Content-Encoding) and lists findings: credentials in Authorization,
 * cookies sent and set, secret-looking form, JSON and query fields, a leaked
 * HTTPS Referer, the URL and the bodies; and raises teaching flags
 * (basic-auth, credentials-in-clear, secret-in-query, cookie-insecure,
 * no-hsts, mixed-content), each with one sentence for learners.
 *
 * A finding is "in clear" when it crosses the wire readable: everything of a
 * plain-HTTP flow; of an intercepted HTTPS flow only the server name (SNI)
 * and the sizes. The rest of an HTTPS flow is what lucent sees because the
 * client trusted its CA. Values are kept (they are the lesson) but cut to
 * the item's size with "…"; nothing is escaped here (the JSON writer and the
 * viewer escape). Pure: no I/O, no clock; never fails, whatever bytes the
 * flow holds. It does not decide what is shown or logged.
 *
 * Decisions:
 *  - A name "looks secret" when, lower-cased, it contains passw, passphrase,
 *    passcode, pwd, secret, token, apikey/api_key/api-key, access_key,
 *    private_key, session, sessid, csrf, xsrf, credential or authorization;
 *    or has a word (split at punctuation and camelCase) pass, pw, auth, sid
 *    or otp; or is exactly "key". ("author" is not "auth".)
 *  - Every cookie sent is listed, and every Set-Cookie but deletions (an
 *    empty value, or Max-Age <= 0). cookie-insecure: over plain HTTP any
 *    Set-Cookie (it travelled in clear), plus missing HttpOnly or SameSite;
 *    over HTTPS a missing Secure, HttpOnly or SameSite. The note names them.
 *  - basic-auth fires for Basic over HTTPS too (the password rides in every
 *    request, one base64 decode away). credentials-in-clear fires for a
 *    plain-HTTP flow carrying any Authorization or Proxy-Authorization, a
 *    secret form or JSON field, or a secret query parameter.
 *  - JSON request bodies (application/json, *+json) are searched like forms,
 *    at any depth, since many login pages post JSON.
 *  - no-hsts: intercepted HTTPS, status 2xx/3xx, text/html or no type, no
 *    Strict-Transport-Security (or max-age=0), and not lucent's own reply.
 *  - mixed-content: a plain-HTTP request whose Referer or Origin is https://;
 *    that Referer is itself listed, since the HTTPS page's URL leaked.
 *  - A CONNECT flow (a tunnel) shows its plain-text head (target and any
 *    Proxy-Authorization), the SNI and the byte counts, and counts as
 *    "tls" for the headings: the tunnelled bytes are not read.
 *  - A request body whose Content-Encoding cannot be decoded is not
 *    searched (it only gets its body item).
 *  - Items are ordered SNI, URL, secrets, then bodies or sizes, whose slots
 *    are kept. Past EXPOSE_MAX_ITEMS findings are counted in `dropped`, and
 *    flags still fire. */
#ifndef LUCENT_CORE_EXPOSE_H
#define LUCENT_CORE_EXPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/flow.h"

#define EXPOSE_MAX_ITEMS 32
#define EXPOSE_DECODE_LIMIT ((size_t)8 << 20) /* largest decoded request body searched */

enum expose_kind {
    EXPOSE_URL = 0,    /* the request URL (or CONNECT target) */
    EXPOSE_SNI,        /* server name in the TLS ClientHello */
    EXPOSE_BASIC_AUTH, /* value "user:password", decoded */
    EXPOSE_BEARER,     /* value: the token */
    EXPOSE_AUTH,       /* another scheme: name the scheme, value its parameters */
    EXPOSE_COOKIE,     /* one cookie of a Cookie field */
    EXPOSE_SET_COOKIE, /* one Set-Cookie */
    EXPOSE_FORM_SECRET,
    EXPOSE_QUERY_SECRET,
    EXPOSE_REFERER, /* an https:// Referer or Origin sent over plain HTTP */
    EXPOSE_BODY,    /* name: content type; value: size (never the content) */
    EXPOSE_SIZES,   /* what TLS record lengths give away */
};

enum expose_flag {
    EXPOSE_F_CREDENTIALS_IN_CLEAR = 1,
    EXPOSE_F_BASIC_AUTH = 2,
    EXPOSE_F_SECRET_IN_QUERY = 4,
    EXPOSE_F_COOKIE_INSECURE = 8,
    EXPOSE_F_NO_HSTS = 16,
    EXPOSE_F_MIXED_CONTENT = 32,
};
#define EXPOSE_F_ALL 63u

struct expose_item {
    enum expose_kind kind;
    bool in_clear;   /* readable on the wire, not only by lucent */
    unsigned flags;  /* the expose_flag bits this finding raised */
    char where[48];  /* "request header Authorization", "query string", ... */
    char name[64];   /* field or cookie name, scheme, content type; may be "" */
    char value[160]; /* raw bytes, cut with "…"; may hold any byte but NUL */
    char note[80];   /* "missing HttpOnly, SameSite", "not valid base64", or "" */
};

struct expose {
    struct expose_item items[EXPOSE_MAX_ITEMS];
    size_t n;
    size_t dropped; /* findings that did not fit */
    bool tls;       /* intercepted HTTPS, or a CONNECT tunnel: only some is in clear */
    unsigned flags; /* union of expose_flag bits */
};

/* Fills out (previous contents discarded) with what f exposes. */
void expose_analyze(const struct flow *f, struct expose *out) LC_NONNULL(1, 2);

/* For one flag bit: its name ("basic-auth", ...) and one sentence for
 * learners. Anything else (0, several bits, unknown): "unknown" and "". */
const char *expose_flag_name(unsigned flag);
const char *expose_flag_text(unsigned flag);
/* The kind as one word for JSON: "basic-auth", "cookie", "form-secret", ... */
const char *expose_kind_name(enum expose_kind kind);

/* Appends one JSON object (the flow log's and HAR's "exposed"):
 * {"in_clear":[item...],"seen_by_lucent":[item...],"flags":["basic-auth"...]}
 * with item {"kind","where","name","value"[,"note"][,"flags":[...]]}, and
 * "dropped":N when findings did not fit. */
void expose_json(const struct expose *e, struct buf *out) LC_NONNULL(1, 2);

/* Appends plain lines, each ending in '\n', for the viewer: what is in
 * clear, what only lucent sees, then each flag with its sentence. */
void expose_text(const struct expose *e, struct buf *out) LC_NONNULL(1, 2);

#endif
