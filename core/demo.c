/* SPDX-License-Identifier: MIT */
/* demo: the classroom site. One thread, one event_base, two listeners on
 * 127.0.0.1. Each accepted socket is a struct dconn that reads one request
 * at a time with core/http1 (head, then a body of at most 1 MiB, answering
 * Expect: 100-continue first), answers it, and goes back to reading; a
 * WebSocket takes the connection over after its 101. Slow, delayed and
 * chunked answers run on timers, never by sleeping. A dconn is freed only
 * outside its own callbacks: they bracket their work with dc_hold() and
 * dc_release(), and closing only marks it (the last release frees).
 * It must not block, must not touch the proxy's workers, and must not listen
 * anywhere but on loopback. */
#include "core/demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/cache.h"
#include "core/explain.h"
#include "core/hdrs.h"
#include "core/http1.h"
#include "core/json.h"
#include "core/jsonp.h"
#include "core/log.h"
#include "core/tls.h"
#include "core/url.h"

#define DEMO_MAX_CONNS 256
#define DEMO_MAX_HEAD (16 * 1024)
#define DEMO_MAX_FIELDS 100
#define DEMO_MAX_BODY (1024 * 1024)
#define DEMO_MAX_PENDING (256 * 1024)  /* unread input while an answer is under way */
#define DEMO_MAX_OUT (4 * 1024 * 1024) /* unsent output of a WebSocket that does not read */
#define DEMO_HANDSHAKE_SECS 10
#define DEMO_HEAD_SECS 30 /* a request head, or the quiet between two requests */
#define DEMO_BODY_SECS 30 /* without a byte of the body */
#define DEMO_WRITE_SECS 30
#define DEMO_WS_IDLE_SECS 300
#define DEMO_LINGER_SECS 2
#define DEMO_MAX_SESSIONS 256
#define DEMO_SESSION_SECS 3600
#define DEMO_MAX_ITEMS 200
#define DEMO_ITEM_MAX 200 /* bytes of an item's name */
#define DEMO_USER_MAX 60
#define DEMO_PASSWORD "lucent"
#define DEMO_SLOW_MAX_MS 30000
#define DEMO_RES_DELAY_MAX_MS 2000
#define DEMO_CHUNKS 10
#define DEMO_CHUNK_MS 100
#define DEMO_MANY 50
#define DEMO_WS_MAX_MSG (1024 * 1024)
#define DEMO_MAX_PARTS 100
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum dc_state {
    DC_HANDSHAKE = 0, /* TLS handshake under way */
    DC_HEAD,          /* reading a request head, or idle between requests */
    DC_BODY,          /* reading a request body */
    DC_BUSY,          /* answering (a timer may still be due) */
    DC_WS,            /* a WebSocket */
    DC_CLOSING,       /* the last answer is being written */
    DC_LINGER,        /* plain TCP with its write side shut: input discarded until EOF */
};

enum dc_job { JOB_NONE = 0, JOB_SLOW, JOB_CHUNKED, JOB_RES };

struct session {
    char token[33]; /* 32 hex digits; "" = free slot */
    char user[DEMO_USER_MAX + 1];
    time_t created, expires;
    bool https; /* created over HTTPS (its cookie is Secure) */
};

struct item {
    unsigned id;
    char *name; /* owned, NUL-terminated, UTF-8 */
};

struct dconn;

struct demo {
    struct event_base *base;            /* owned */
    struct evconnlistener *listener[2]; /* owned: HTTP, HTTPS */
    struct event *stop_ev;              /* owned: reads stop_fds[0] */
    int stop_fds[2];                    /* owned: demo_stop() writes a byte */
    pthread_t thread;
    bool running;
    struct tls *tls; /* borrowed: mints the HTTPS leaf */
    uint16_t port[2];
    TAILQ_HEAD(dconn_list, dconn) conns;
    size_t nconns;
    uint64_t next_id;
    time_t started;
    char etag[48]; /* quoted; the same while the process runs */
    struct session sessions[DEMO_MAX_SESSIONS];
    size_t next_session; /* slot replaced when all are taken */
    struct item items[DEMO_MAX_ITEMS];
    size_t nitems;
    unsigned next_item;
};

struct dconn {
    TAILQ_ENTRY(dconn) link;
    struct demo *d; /* borrowed */
    uint64_t id;
    bool tls;
    char peer[64];
    enum dc_state state;
    struct bufferevent *bev; /* owned: the socket (and the SSL) */
    struct event *deadline;  /* owned: timeouts of reads and handshakes */
    struct event *work;      /* owned: slow, delayed and chunked answers */
    unsigned holds;
    bool closing;
    bool peer_eof; /* the client will send nothing more */

    /* the request being read or answered */
    struct http1 rx;
    struct hdrs req, trailers; /* owned */
    struct buf target;         /* owned: path, NUL, query (split at '?') */
    const char *path, *query;  /* into target */
    char method[24];
    struct buf body; /* owned */
    uint64_t body_left;
    bool body_chunked, body_too_big;
    bool keep_alive, http10, head_req, expect_continue, sent_continue;

    /* a timed answer */
    enum dc_job job;
    unsigned job_n;
    int job_ms;
    struct timespec job_t0;
    struct buf pending; /* owned: a head waiting for the first chunk */

    /* WebSocket */
    struct buf ws_msg; /* owned: the message being assembled */
    unsigned ws_op;    /* its opcode, 0 = none */
    bool ws_close_sent;
};

static void parse(struct dconn *c);
static void finish(struct dconn *c);

/* ---- small helpers --------------------------------------------------------- */

static void http_date(time_t t, char *out, size_t outlen)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(out, outlen, "Thu, 01 Jan 1970 00:00:00 GMT");
        return;
    }
    snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "14:03:12.345 UTC": when a page was made. */
static void clock_line(char *out, size_t outlen)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (gmtime_r(&ts.tv_sec, &tm) == NULL) {
        snprintf(out, outlen, "?");
        return;
    }
    snprintf(out, outlen, "%02d:%02d:%02d.%03ld UTC", tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void html_esc(struct buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '&':
            buf_puts(b, "&amp;");
            break;
        case '<':
            buf_puts(b, "&lt;");
            break;
        case '>':
            buf_puts(b, "&gt;");
            break;
        case '"':
            buf_puts(b, "&quot;");
            break;
        case '\'':
            buf_puts(b, "&#39;");
            break;
        case '\0':
            buf_puts(b, "\\0");
            break;
        default:
            buf_putc(b, s[i]);
        }
    }
}

static void html_escs(struct buf *b, const char *s)
{
    html_esc(b, s, strlen(s));
}

static bool ieq(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

static const char *find_bytes(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0 || hlen < nlen)
        return NULL;
    for (size_t i = 0; i + nlen <= hlen; i++) {
        const char *p = memchr(hay + i, needle[0], hlen - nlen - i + 1);
        if (p == NULL)
            return NULL;
        if (memcmp(p, needle, nlen) == 0)
            return p;
        i = (size_t)(p - hay);
    }
    return NULL;
}

/* A decimal number of at most 9 digits, the whole of s[0..len). */
static bool parse_num(const char *s, size_t len, long *out)
{
    long v = 0;
    if (len == 0 || len > 9)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

typedef void (*form_fn)(void *arg, const struct buf *name, const struct buf *value);

/* Calls fn for each name=value pair of an urlencoded string (at most 100). */
static void form_each(const char *s, size_t len, form_fn fn, void *arg)
{
    struct buf name = BUF_INIT, value = BUF_INIT;
    unsigned n = 0;
    size_t i = 0;
    while (i < len && n < 100) {
        size_t end = i;
        while (end < len && s[end] != '&')
            end++;
        if (end > i) {
            const char *eq = memchr(s + i, '=', end - i);
            size_t nl = eq ? (size_t)(eq - (s + i)) : end - i;
            buf_reset(&name);
            buf_reset(&value);
            url_unescape(s + i, nl, true, &name);
            if (eq)
                url_unescape(eq + 1, end - i - nl - 1, true, &value);
            buf_putc(&name, '\0'); /* both always allocated and NUL-terminated */
            name.len--;
            buf_putc(&value, '\0');
            value.len--;
            fn(arg, &name, &value);
            n++;
        }
        i = end + 1;
    }
    buf_free(&name);
    buf_free(&value);
}

struct form_get {
    const char *want;
    struct buf *out;
    bool found;
};

static void on_form_get(void *arg, const struct buf *name, const struct buf *value)
{
    struct form_get *g = arg;
    if (!g->found && strcmp(name->p, g->want) == 0) {
        buf_append(g->out, value->p, value->len);
        g->found = true;
    }
}

/* The first value of field `want`, decoded into out. */
static bool form_get(const char *s, size_t len, const char *want, struct buf *out)
{
    struct form_get g = {want, out, false};
    form_each(s, len, on_form_get, &g);
    return g.found;
}

static void on_form_row(void *arg, const struct buf *name, const struct buf *value)
{
    struct buf *html = arg;
    buf_puts(html, "<tr><td>");
    html_esc(html, name->p, name->len);
    buf_puts(html, "</td><td>");
    html_esc(html, value->p, value->len < 200 ? value->len : 200);
    if (value->len > 200)
        buf_puts(html, "&hellip;");
    buf_puts(html, "</td></tr>\n");
}

/* The fields of an urlencoded string as an HTML table. */
static void form_table(struct buf *html, const char *s, size_t len)
{
    size_t before;
    buf_puts(html, "<table><tr><th>field</th><th>value</th></tr>\n");
    before = html->len;
    form_each(s, len, on_form_row, html);
    if (html->len == before)
        buf_puts(html, "<tr><td colspan=\"2\"><em>no fields</em></td></tr>\n");
    buf_puts(html, "</table>\n");
}

static const char *reason(int status)
{
    static const struct {
        int code;
        const char *text;
    } t[] = {
        {100, "Continue"},
        {101, "Switching Protocols"},
        {102, "Processing"},
        {103, "Early Hints"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {203, "Non-Authoritative Information"},
        {204, "No Content"},
        {205, "Reset Content"},
        {206, "Partial Content"},
        {300, "Multiple Choices"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {402, "Payment Required"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {407, "Proxy Authentication Required"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "Length Required"},
        {412, "Precondition Failed"},
        {413, "Content Too Large"},
        {414, "URI Too Long"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"},
        {418, "I'm a teapot"},
        {421, "Misdirected Request"},
        {422, "Unprocessable Content"},
        {425, "Too Early"},
        {426, "Upgrade Required"},
        {428, "Precondition Required"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {451, "Unavailable For Legal Reasons"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
        {507, "Insufficient Storage"},
        {511, "Network Authentication Required"},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(t); i++)
        if (t[i].code == status)
            return t[i].text;
    return "Unknown";
}

/* ---- pages ------------------------------------------------------------------ */

static void page_begin(struct dconn *c, struct buf *b, const char *title)
{
    buf_puts(b,
             "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    html_escs(b, title);
    if (strncmp(title, "lucent demo", 11) != 0)
        buf_puts(b, " - lucent demo");
    buf_puts(b, "</title>\n"
                "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:1.5em auto;"
                "padding:0 1em}code,pre{background:#f3f3f3;padding:.1em .3em}pre{padding:.6em;"
                "overflow-x:auto}nav{font-size:.9em;color:#555}table{border-collapse:collapse}"
                "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
                ".t{font-size:1.3em}.err{color:#b00}form{margin:.6em 0}</style></head><body>\n"
                "<nav><a href=\"/\">lucent demo</a> &middot; ");
    buf_puts(b, c->tls ? "HTTPS" : "HTTP");
    buf_puts(b, "</nav>\n<h1>");
    html_escs(b, title);
    buf_puts(b, "</h1>\n");
}

static void page_end(struct buf *b)
{
    buf_puts(b, "</body></html>\n");
}

static struct evbuffer *output(struct dconn *c)
{
    return bufferevent_get_output(c->bev);
}

/* Status line and fields into m; clen < 0: no Content-Length. Heads and
 * bodies are queued with one evbuffer_add() so a small answer leaves in one
 * TLS record: fewer packets, and clients that read records one at a time
 * see the whole answer at once. */
static void put_head(struct dconn *c, struct buf *m, int status, const char *ctype,
                     const struct buf *hx, int64_t clen)
{
    char date[40];
    http_date(time(NULL), date, sizeof(date));
    buf_printf(m, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: lucent-demo\r\n", status, reason(status),
               date);
    if (ctype != NULL)
        buf_printf(m, "Content-Type: %s\r\n", ctype);
    if (hx != NULL && hx->len > 0)
        buf_append(m, hx->p, hx->len);
    if (clen >= 0)
        buf_printf(m, "Content-Length: %" PRId64 "\r\n", clen);
    if (!c->keep_alive)
        buf_puts(m, "Connection: close\r\n");
    else if (c->http10)
        buf_puts(m, "Connection: keep-alive\r\n");
    buf_puts(m, "\r\n");
    LC_DEBUG("demo c%" PRIu64 ": %s %s%s%s -> %d", c->id, c->method, c->path,
             c->query[0] ? "?" : "", c->query, status);
}

/* A complete answer; then the connection reads the next request (or
 * closes). hx: extra "Name: value\r\n" lines, or NULL. */
static void respond(struct dconn *c, int status, const char *ctype, const struct buf *hx,
                    const char *body, size_t len)
{
    struct buf m = BUF_INIT;
    bool bodiless = status == 204 || status == 304 || (status >= 100 && status < 200);
    if (status == 205)
        len = 0;
    put_head(c, &m, status, bodiless ? NULL : ctype, hx, bodiless ? -1 : (int64_t)len);
    if (!bodiless && !c->head_req && len > 0)
        buf_append(&m, body, len);
    evbuffer_add(output(c), m.p, m.len);
    buf_free(&m);
    finish(c);
}

static void respond_buf(struct dconn *c, int status, const char *ctype, const struct buf *hx,
                        const struct buf *body)
{
    respond(c, status, ctype, hx, body->p, body->len);
}

#define HTML "text/html; charset=utf-8"
#define JSON "application/json"

/* An error page; the connection closes after it (the rest of what the
 * client sent cannot be trusted to line up with a next request). */
static void reply_error(struct dconn *c, int status, const char *what)
{
    struct buf b = BUF_INIT;
    char title[64];
    c->keep_alive = false;
    c->state = DC_BUSY;
    snprintf(title, sizeof(title), "%d %s", status, reason(status));
    page_begin(c, &b, title);
    buf_puts(&b, "<p class=\"err\">");
    html_escs(&b, what);
    buf_puts(&b, "</p>\n");
    page_end(&b);
    respond_buf(c, status, HTML, NULL, &b);
    buf_free(&b);
}

static void not_found(struct dconn *c)
{
    struct buf b = BUF_INIT;
    page_begin(c, &b, "404 Not Found");
    buf_puts(&b, "<p>There is no page <code>");
    html_escs(&b, c->path);
    buf_puts(&b, "</code> on the demo site. See the <a href=\"/\">index</a>.</p>\n");
    page_end(&b);
    respond_buf(c, 404, HTML, NULL, &b);
    buf_free(&b);
}

/* Is the method one of `methods` ("GET, HEAD, POST")? If not: 405. */
static bool allow(struct dconn *c, const char *methods)
{
    size_t ml = strlen(c->method);
    for (const char *p = methods; *p;) {
        size_t n = strcspn(p, ", ");
        if (n == ml && memcmp(p, c->method, n) == 0)
            return true;
        p += n;
        p += strspn(p, ", ");
    }
    struct buf hx = BUF_INIT, b = BUF_INIT;
    buf_printf(&hx, "Allow: %s\r\n", methods);
    page_begin(c, &b, "405 Method Not Allowed");
    buf_puts(&b, "<p><code>");
    html_escs(&b, c->path);
    buf_puts(&b, "</code> answers ");
    html_escs(&b, methods);
    buf_puts(&b, ", not ");
    html_escs(&b, c->method);
    buf_puts(&b, ". The <code>Allow</code> header says so too.</p>\n");
    page_end(&b);
    respond_buf(c, 405, HTML, &hx, &b);
    buf_free(&hx);
    buf_free(&b);
    return false;
}

static bool is_method(const struct dconn *c, const char *m)
{
    return strcmp(c->method, m) == 0;
}

static bool is_get(const struct dconn *c)
{
    return is_method(c, "GET") || is_method(c, "HEAD");
}

/* The value of query parameter `name`, decoded, or false. */
static bool query_get(const struct dconn *c, const char *name, struct buf *out)
{
    return form_get(c->query, strlen(c->query), name, out);
}

/* A number from the query (default when absent); false when malformed. */
static bool query_num(const struct dconn *c, const char *name, long dflt, long *out)
{
    struct buf v = BUF_INIT;
    bool ok = true;
    *out = dflt;
    if (query_get(c, name, &v))
        ok = parse_num(v.p ? v.p : "", v.len, out);
    buf_free(&v);
    return ok;
}

/* ---- index ------------------------------------------------------------------- */

static void page_index(struct dconn *c)
{
    struct buf b = BUF_INIT;
    if (!allow(c, "GET, HEAD"))
        return;
    page_begin(c, &b, "lucent demo site");
    buf_printf(&b,
               "<p>This small site runs inside lucent on this computer (127.0.0.1), over HTTP "
               "(port %u) and HTTPS (port %u, with a certificate from lucent's CA). Browse it "
               "through lucent and watch each exchange in the viewer.</p>\n",
               c->d->port[0], c->d->port[1]);
    buf_puts(&b,
             "<h2>Sessions and cookies</h2><ul>"
             "<li><a href=\"/login\">/login</a>: a form that sets a session cookie; "
             "<a href=\"/account\">/account</a> needs it</li></ul>\n"
             "<h2>Caching</h2><ul>"
             "<li><a href=\"/cache/max-age\">max-age=60</a></li>"
             "<li><a href=\"/cache/expires\">Expires only</a></li>"
             "<li><a href=\"/cache/no-cache\">no-cache with an ETag</a> (304s)</li>"
             "<li><a href=\"/cache/last-modified\">Last-Modified only</a> (304s)</li>"
             "<li><a href=\"/cache/no-store\">no-store</a></li>"
             "<li><a href=\"/cache/immutable\">immutable</a></li></ul>\n"
             "<h2>Status codes and redirects</h2><ul>"
             "<li><code>/status/NNN</code> answers with any status: "
             "<a href=\"/status/200\">200</a>, <a href=\"/status/201\">201</a>, "
             "<a href=\"/status/204\">204</a>, <a href=\"/status/301\">301</a>, "
             "<a href=\"/status/304\">304</a>, <a href=\"/status/401\">401</a>, "
             "<a href=\"/status/403\">403</a>, <a href=\"/status/404\">404</a>, "
             "<a href=\"/status/418\">418</a>, <a href=\"/status/500\">500</a>, "
             "<a href=\"/status/503\">503</a>, <a href=\"/status/103\">103</a></li>"
             "<li><a href=\"/redirects\">/redirects</a>: 301, 302, 303, 307 and 308, with GET "
             "and POST</li></ul>\n"
             "<h2>Timing</h2><ul>"
             "<li><a href=\"/chunked\">/chunked</a>: a response in 10 chunks over a second</li>"
             "<li><a href=\"/slow?ms=2000\">/slow?ms=2000</a>: an answer that takes its time</li>"
             "<li><a href=\"/many\">/many</a>: 50 small images (keep-alive, queueing)</li></ul>\n"
             "<h2>Applications</h2><ul>"
             "<li><a href=\"/app\">/app</a>: a page that uses the JSON API "
             "<a href=\"/api/items\">/api/items</a> with XMLHttpRequest and fetch</li>"
             "<li><a href=\"/ws-page\">/ws-page</a>: a WebSocket echo (<code>/ws</code>)</li>"
             "<li><a href=\"/forms\">/forms</a>: GET and POST forms; "
             "<a href=\"/upload\">/upload</a>: a file upload</li>"
             "<li><a href=\"/headers\">/headers</a>: the request as this site received it</li>"
             "</ul>\n");
    page_end(&b);
    respond_buf(c, 200, HTML, NULL, &b);
    buf_free(&b);
}

/* ---- login and sessions ---------------------------------------------------- */

static struct session *session_of(struct dconn *c)
{
    time_t now = time(NULL);
    for (size_t i = 0; i < c->req.n; i++) {
        size_t vl;
        if (!hdrs_name_is(&c->req, i, "Cookie"))
            continue;
        const char *v = hdrs_value(&c->req, i, &vl);
        size_t j = 0;
        while (j < vl) {
            while (j < vl && (v[j] == ' ' || v[j] == ';'))
                j++;
            size_t end = j;
            while (end < vl && v[end] != ';')
                end++;
            if (end - j > 8 && memcmp(v + j, "session=", 8) == 0) {
                const char *tok = v + j + 8;
                size_t tl = end - j - 8;
                while (tl > 0 && tok[tl - 1] == ' ')
                    tl--;
                for (size_t k = 0; tl == 32 && k < DEMO_MAX_SESSIONS; k++) {
                    struct session *s = &c->d->sessions[k];
                    if (s->token[0] && memcmp(s->token, tok, 32) == 0 && s->expires > now)
                        return s;
                }
            }
            j = end;
        }
    }
    return NULL;
}

static struct session *session_new(struct dconn *c, const char *user)
{
    struct demo *d = c->d;
    unsigned char rnd[16];
    struct session *s = NULL;
    time_t now = time(NULL);
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ERR_clear_error();
        return NULL;
    }
    for (size_t i = 0; i < DEMO_MAX_SESSIONS && s == NULL; i++)
        if (d->sessions[i].token[0] == '\0' || d->sessions[i].expires <= now)
            s = &d->sessions[i];
    if (s == NULL) { /* all in use: slots are taken over in turn */
        s = &d->sessions[d->next_session];
        d->next_session = (d->next_session + 1) % DEMO_MAX_SESSIONS;
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(s->token + 2 * i, 3, "%02x", rnd[i]);
    snprintf(s->user, sizeof(s->user), "%s", user);
    s->created = now;
    s->expires = now + DEMO_SESSION_SECS;
    s->https = c->tls;
    return s;
}

static void login_form(struct dconn *c, struct buf *b, const char *error)
{
    if (error != NULL) {
        buf_puts(b, "<p class=\"err\">");
        html_escs(b, error);
        buf_puts(b, "</p>\n");
    }
    buf_puts(b, "<form method=\"post\" action=\"/login\">"
                "<p><label>User name <input name=\"username\" autocomplete=\"username\"></label>"
                "</p><p><label>Password <input name=\"password\" type=\"password\" "
                "autocomplete=\"current-password\"></label></p>"
                "<p><button>Sign in</button></p></form>\n"
                "<p>Any user name will do; the password is <code>" DEMO_PASSWORD "</code>.</p>\n");
    if (c->tls)
        buf_puts(b, "<p>Over HTTPS the cookie is <code>Secure</code> (never sent over plain "
                    "HTTP) and <code>HttpOnly</code> (scripts cannot read it).</p>\n");
    else
        buf_puts(b, "<p>This is plain HTTP: the password travels readable to anyone on the "
                    "way (look at the POST body in lucent), and the session cookie has neither "
                    "<code>Secure</code> nor <code>HttpOnly</code>: the page's scripts can read "
                    "it, and the browser sends it over HTTP too. Compare with the "
                    "HTTPS site.</p>\n");
}

static void page_login(struct dconn *c)
{
    struct buf b = BUF_INIT, hx = BUF_INIT, user = BUF_INIT, pass = BUF_INIT;
    if (!allow(c, "GET, HEAD, POST"))
        return;
    if (is_get(c)) {
        struct session *s = session_of(c);
        page_begin(c, &b, "Sign in");
        if (s != NULL) {
            buf_puts(&b, "<p>You are signed in as <b>");
            html_escs(&b, s->user);
            buf_puts(&b, "</b>: see <a href=\"/account\">/account</a>, or "
                         "<a href=\"/logout\">sign out</a>.</p>\n");
        }
        login_form(c, &b, NULL);
        page_end(&b);
        buf_puts(&hx, "Cache-Control: no-store\r\n");
        respond_buf(c, 200, HTML, &hx, &b);
        goto out;
    }
    form_get(c->body.p ? c->body.p : "", c->body.len, "username", &user);
    form_get(c->body.p ? c->body.p : "", c->body.len, "password", &pass);
    bool ok_user =
        user.len > 0 && user.len <= DEMO_USER_MAX && memchr(user.p, '\0', user.len) == NULL;
    for (size_t i = 0; ok_user && i < user.len; i++)
        ok_user = (unsigned char)user.p[i] >= 0x20 && user.p[i] != 0x7f;
    if (!ok_user || pass.len != strlen(DEMO_PASSWORD) ||
        memcmp(pass.p, DEMO_PASSWORD, pass.len) != 0) {
        page_begin(c, &b, "Sign in");
        login_form(c, &b,
                   !ok_user ? "Give a user name (at most 60 characters)." : "Wrong password.");
        page_end(&b);
        respond_buf(c, 403, HTML, NULL, &b);
        goto out;
    }
    struct session *s = session_new(c, user.p);
    if (s == NULL) {
        reply_error(c, 500, "no random numbers for a session");
        goto out;
    }
    buf_printf(&hx, "Set-Cookie: session=%s; Path=/%s\r\nLocation: /account\r\n", s->token,
               c->tls ? "; Secure; HttpOnly; SameSite=Lax" : "");
    buf_puts(&hx, "Cache-Control: no-store\r\n");
    page_begin(c, &b, "Signed in");
    buf_puts(&b, "<p>Signed in: on to <a href=\"/account\">/account</a>. This answer is a "
                 "<code>303 See Other</code>, so a reload does not post the form again.</p>\n");
    page_end(&b);
    respond_buf(c, 303, HTML, &hx, &b);
out:
    buf_free(&b);
    buf_free(&hx);
    buf_free(&user);
    buf_free(&pass);
}

static void page_logout(struct dconn *c)
{
    struct buf b = BUF_INIT, hx = BUF_INIT;
    if (!allow(c, "GET, HEAD, POST"))
        return;
    struct session *s = session_of(c);
    if (s != NULL)
        memset(s, 0, sizeof(*s));
    buf_printf(&hx, "Set-Cookie: session=; Path=/; Max-Age=0%s\r\nLocation: /login\r\n",
               c->tls ? "; Secure; HttpOnly; SameSite=Lax" : "");
    page_begin(c, &b, "Signed out");
    buf_puts(&b, "<p>The cookie was replaced by an expired one, which deletes it.</p>\n");
    page_end(&b);
    respond_buf(c, 303, HTML, &hx, &b);
    buf_free(&b);
    buf_free(&hx);
}

static void page_account(struct dconn *c)
{
    struct buf b = BUF_INIT, hx = BUF_INIT;
    char when[40];
    if (!allow(c, "GET, HEAD"))
        return;
    struct session *s = session_of(c);
    buf_puts(&hx, "Cache-Control: no-store\r\n");
    if (s == NULL) {
        buf_puts(&hx, "Location: /login\r\n");
        page_begin(c, &b, "Not signed in");
        buf_puts(&b, "<p>No valid <code>session</code> cookie came with this request: "
                     "<a href=\"/login\">sign in</a> first.</p>\n");
        page_end(&b);
        respond_buf(c, 302, HTML, &hx, &b);
        goto out;
    }
    http_date(s->created, when, sizeof(when));
    page_begin(c, &b, "Your account");
    buf_puts(&b, "<p class=\"t\">Signed in as <b id=\"user\">");
    html_escs(&b, s->user);
    buf_printf(&b,
               "</b></p>\n<p>The session began %s over %s. Every request carries the "
               "cookie back in its <code>Cookie</code> header: the server knows you only "
               "by it. Whoever copies it is you.</p>\n",
               when, s->https ? "HTTPS" : "HTTP");
    buf_puts(&b, "<p>What this page's scripts see in <code>document.cookie</code>: "
                 "<code id=\"cookie\"></code></p>\n<script>document.getElementById('cookie')"
                 ".textContent=document.cookie||'(nothing: the cookie is HttpOnly)';</script>\n"
                 "<p><a href=\"/logout\">Sign out</a></p>\n");
    page_end(&b);
    respond_buf(c, 200, HTML, &hx, &b);
out:
    buf_free(&b);
    buf_free(&hx);
}

/* ---- caching ----------------------------------------------------------------- */

static const struct {
    const char *name, *title, *explain;
} cache_pages[] = {
    {"max-age", "Cache-Control: max-age=60",
     "The response is fresh for 60 seconds: follow a link to this page within a minute and "
     "the browser shows its stored copy without asking (the time above stays, and lucent sees "
     "no request). The reload button makes the browser ask again."},
    {"expires", "Expires (no Cache-Control)",
     "The older way to say the same: an absolute date, here 60 seconds after the answer. It "
     "depends on the client's clock; when both are present, max-age wins."},
    {"no-cache", "Cache-Control: no-cache with an ETag",
     "The browser may store this but must check with the server before each use: it sends "
     "<code>If-None-Match</code> with the ETag, and while the ETag matches the server answers "
     "<code>304 Not Modified</code> without a body. The time above stays the one of the first "
     "200, because the page comes from the browser's cache."},
    {"last-modified", "Last-Modified only",
     "A validator without a lifetime: the browser may reuse the copy for a while on its own "
     "(heuristic freshness, typically a tenth of the time since the last change), then asks "
     "with <code>If-Modified-Since</code>; the answer is 304 while nothing changed."},
    {"no-store", "Cache-Control: no-store",
     "Never stored: every visit is a full request and a full response, and the time changes "
     "every time."},
    {"immutable", "Cache-Control: max-age=31536000, immutable",
     "Fresh for a year, and never checked again, not even on reload (in browsers that know "
     "immutable). Meant for files whose name changes with their content (app.3f2a1c.js)."},
};

/* Does an If-None-Match list hold etag (weak comparison, as for GET)? */
static bool etag_match(const char *v, size_t vl, const char *etag)
{
    size_t i = 0, el = strlen(etag);
    while (i < vl) {
        while (i < vl && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t end = i;
        while (end < vl && v[end] != ',')
            end++;
        size_t e = end;
        while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        const char *t = v + i;
        size_t tl = e - i;
        if (tl == 1 && t[0] == '*')
            return true;
        if (tl > 2 && t[0] == 'W' && t[1] == '/')
            t += 2, tl -= 2;
        if (tl == el && memcmp(t, etag, el) == 0)
            return true;
        i = end;
    }
    return false;
}

static void page_cache(struct dconn *c, const char *which)
{
    struct buf b = BUF_INIT, hx = BUF_INIT;
    char now[40], date[40];
    size_t k, vl;
    for (k = 0; k < LC_ARRAY_LEN(cache_pages); k++)
        if (strcmp(which, cache_pages[k].name) == 0)
            break;
    if (k == LC_ARRAY_LEN(cache_pages)) {
        not_found(c);
        return;
    }
    if (!allow(c, "GET, HEAD"))
        return;
    const char *name = cache_pages[k].name;
    bool not_modified = false;
    if (strcmp(name, "max-age") == 0) {
        buf_puts(&hx, "Cache-Control: max-age=60\r\n");
    } else if (strcmp(name, "expires") == 0) {
        http_date(time(NULL) + 60, date, sizeof(date));
        buf_printf(&hx, "Expires: %s\r\n", date);
    } else if (strcmp(name, "no-cache") == 0) {
        buf_printf(&hx, "Cache-Control: no-cache\r\nETag: %s\r\n", c->d->etag);
        const char *inm = hdrs_get(&c->req, "If-None-Match", &vl);
        not_modified = inm != NULL && etag_match(inm, vl, c->d->etag);
    } else if (strcmp(name, "last-modified") == 0) {
        http_date(c->d->started, date, sizeof(date));
        buf_printf(&hx, "Last-Modified: %s\r\n", date);
        size_t inml;
        const char *ims = hdrs_get(&c->req, "If-Modified-Since", &vl);
        if (ims != NULL && hdrs_get(&c->req, "If-None-Match", &inml) == NULL) {
            int64_t t = cache_parse_date(ims, vl, (int64_t)time(NULL));
            not_modified = t >= 0 && t >= (int64_t)c->d->started;
        }
    } else if (strcmp(name, "no-store") == 0) {
        buf_puts(&hx, "Cache-Control: no-store\r\n");
    } else {
        buf_puts(&hx, "Cache-Control: max-age=31536000, immutable\r\n");
    }
    if (not_modified) {
        respond(c, 304, NULL, &hx, NULL, 0);
        buf_free(&hx);
        return;
    }
    clock_line(now, sizeof(now));
    page_begin(c, &b, cache_pages[k].title);
    buf_printf(&b, "<p class=\"t\">Generated at <b id=\"generated\">%s</b></p>\n<p>", now);
    buf_puts(&b, cache_pages[k].explain);
    buf_puts(&b, "</p>\n<p>Headers of this answer that matter:</p><pre>");
    html_esc(&b, hx.p, hx.len);
    buf_puts(&b, "</pre>\n<p>Follow a link to <a href=\"");
    buf_printf(&b, "/cache/%s\">this page</a>, or try another:", name);
    for (size_t i = 0; i < LC_ARRAY_LEN(cache_pages); i++)
        buf_printf(&b, " <a href=\"/cache/%s\">%s</a>", cache_pages[i].name, cache_pages[i].name);
    buf_puts(&b, "</p>\n");
    page_end(&b);
    respond_buf(c, 200, HTML, &hx, &b);
    buf_free(&b);
    buf_free(&hx);
}

/* ---- status codes and redirects ------------------------------------------- */

static void page_status(struct dconn *c, const char *arg)
{
    struct buf b = BUF_INIT, hx = BUF_INIT;
    long code;
    char title[80];
    if (!parse_num(arg, strlen(arg), &code) || strlen(arg) != 3 || code < 100 || code > 599) {
        not_found(c);
        return;
    }
    if (code < 200) {
        snprintf(title, sizeof(title), "%ld %s cannot be a final answer", code, reason((int)code));
        page_begin(c, &b, title);
        buf_puts(&b, "<p>Status codes 100 to 199 are <em>interim</em> answers: a server sends "
                     "them before the real one (the final status, 200 or later) on the same "
                     "request, so this page answers <code>400 Bad Request</code> instead.</p>\n"
                     "<p>You can see a real one: <code>100 Continue</code> answers a request "
                     "sent with <code>Expect: 100-continue</code>, such as curl's large "
                     "uploads to <a href=\"/upload\">/upload</a>. <code>101 Switching "
                     "Protocols</code> starts a WebSocket (<a href=\"/ws-page\">/ws-page</a>)."
                     "</p>\n");
        page_end(&b);
        respond_buf(c, 400, HTML, NULL, &b);
        goto out;
    }
    if (code >= 300 && code < 400 && code != 304)
        buf_puts(&hx, "Location: /\r\n");
    if (code == 401)
        buf_puts(&hx, "WWW-Authenticate: Basic realm=\"lucent demo\"\r\n");
    if (code == 405)
        buf_puts(&hx, "Allow: GET, HEAD\r\n");
    if (code == 429 || code == 503)
        buf_puts(&hx, "Retry-After: 10\r\n");
    snprintf(title, sizeof(title), "%ld %s", code, reason((int)code));
    page_begin(c, &b, title);
    buf_puts(&b, "<p>");
    html_escs(&b, explain_status((int)code, EXPLAIN_EN));
    buf_puts(&b, "</p>\n<p>");
    if (code >= 300 && code < 400 && code != 304)
        buf_puts(&b, "This one points to <code>/</code> (<code>Location</code>). ");
    buf_puts(&b, "Browsers show this body, but scripts and tools act on the status.</p>\n");
    page_end(&b);
    respond_buf(c, (int)code, HTML, &hx, &b);
out:
    buf_free(&b);
    buf_free(&hx);
}

static const int redirect_codes[] = {301, 302, 303, 307, 308};

static void page_redirects(struct dconn *c)
{
    struct buf b = BUF_INIT;
    if (!allow(c, "GET, HEAD"))
        return;
    page_begin(c, &b, "Redirects and methods");
    buf_puts(&b, "<p>Each link or button below goes to <code>/redirect/NNN</code>, which "
                 "answers with that status and <code>Location: /redirected?from=NNN</code>. "
                 "After a POST, 301 and 302 make browsers switch to GET and drop the body "
                 "(for historical reasons), 303 always means GET, and 307 and 308 repeat the "
                 "same method with the same body.</p>\n<table><tr><th>status</th><th>GET</th>"
                 "<th>POST</th></tr>\n");
    for (size_t i = 0; i < LC_ARRAY_LEN(redirect_codes); i++) {
        int n = redirect_codes[i];
        buf_printf(&b,
                   "<tr><td>%d %s</td><td><a href=\"/redirect/%d\">follow</a></td><td><form "
                   "method=\"post\" action=\"/redirect/%d\"><input type=\"hidden\" name=\"note\" "
                   "value=\"posted to /redirect/%d\"><button>POST</button></form></td></tr>\n",
                   n, reason(n), n, n, n);
    }
    buf_puts(&b, "</table>\n");
    page_end(&b);
    respond_buf(c, 200, HTML, NULL, &b);
    buf_free(&b);
}

static void page_redirect(struct dconn *c, const char *arg)
{
    struct buf b = BUF_INIT, hx = BUF_INIT;
    long code;
    size_t i;
    if (!parse_num(arg, strlen(arg), &code)) {
        not_found(c);
        return;
    }
    for (i = 0; i < LC_ARRAY_LEN(redirect_codes); i++)
        if (redirect_codes[i] == code)
            break;
    if (i == LC_ARRAY_LEN(redirect_codes)) {
        not_found(c);
        return;
    }
    buf_printf(&hx, "Location: /redirected?from=%ld\r\n", code);
    page_begin(c, &b, "Redirecting");
    buf_printf(&b, "<p>%ld %s: on to <a href=\"/redirected?from=%ld\">/redirected</a>.</p>\n", code,
               reason((int)code), code);
    page_end(&b);
    respond_buf(c, (int)code, HTML, &hx, &b);
    buf_free(&b);
    buf_free(&hx);
}

static void page_redirected(struct dconn *c)
{
    struct buf b = BUF_INIT, from = BUF_INIT;
    query_get(c, "from", &from);
    page_begin(c, &b, "Redirected");
    buf_puts(&b, "<p class=\"t\">Arrived with <b id=\"method\">");
    html_escs(&b, c->method);
    buf_puts(&b, "</b> after a <b id=\"from\">");
    html_esc(&b, from.p ? from.p : "?", from.p ? from.len : 1);
    buf_printf(&b, "</b>, with a body of <b id=\"body\">%zu</b> bytes.</p>\n", c->body.len);
    if (c->body.len > 0)
        form_table(&b, c->body.p, c->body.len);
    buf_puts(&b, "<p>See <a href=\"/redirects\">/redirects</a>.</p>\n");
    page_end(&b);
    respond_buf(c, 200, HTML, NULL, &b);
    buf_free(&b);
    buf_free(&from);
}

/* ---- timing: chunked, slow, many -------------------------------------------- */

static void arm_work(struct dconn *c, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->work, &tv);
}

/* Frames b as a chunk after what c->pending holds (the head, before the
 * first chunk), with the last-chunk marker when last; one write. */
static void write_chunk(struct dconn *c, const struct buf *b, bool last)
{
    struct buf *m = &c->pending;
    if (c->http10) { /* no chunked coding in HTTP/1.0: the close ends the body */
        buf_append(m, b->p, b->len);
    } else {
        if (b->len > 0) {
            buf_printf(m, "%zx\r\n", b->len);
            buf_append(m, b->p, b->len);
            buf_puts(m, "\r\n");
        }
        if (last)
            buf_puts(m, "0\r\n\r\n");
    }
    evbuffer_add(output(c), m->p, m->len);
    buf_reset(m);
}

static void chunk_step(struct dconn *c)
{
    struct buf b = BUF_INIT;
    char now[40];
    clock_line(now, sizeof(now));
    if (c->job_n == 0) {
        page_begin(c, &b, "A chunked response");
        buf_printf(&b,
                   "<p>This body is sent in %d chunks, one every %d ms "
                   "(<code>Transfer-Encoding: chunked</code>: each chunk is preceded by "
                   "its length in hex; a chunk of length 0 ends the body). The browser "
                   "shows each line as it arrives; lucent's timing shows the long "
                   "transfer.</p>\n<ol>\n",
                   DEMO_CHUNKS, DEMO_CHUNK_MS);
    }
    buf_printf(&b, "<li class=\"chunk\">chunk %u at +%ld ms (%s)</li>\n", c->job_n + 1,
               ms_since(&c->job_t0), now);
    if (c->job_n + 1 == DEMO_CHUNKS) {
        buf_puts(&b, "</ol>\n<p id=\"done\">All chunks sent.</p>\n");
        page_end(&b);
    }
    write_chunk(c, &b, c->job_n + 1 == DEMO_CHUNKS);
    buf_free(&b);
    if (++c->job_n < DEMO_CHUNKS) {
        arm_work(c, DEMO_CHUNK_MS);
        return;
    }
    finish(c);
}

static void page_chunked(struct dconn *c)
{
    struct buf hx = BUF_INIT;
    if (!allow(c, "GET, HEAD"))
        return;
    buf_puts(&hx, "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
    if (c->http10)
        c->keep_alive = false;
    else
        buf_puts(&hx, "Transfer-Encoding: chunked\r\n");
    buf_reset(&c->pending);
    put_head(c, &c->pending, 200, HTML, &hx, -1);
    buf_free(&hx);
    if (c->head_req) {
        evbuffer_add(output(c), c->pending.p, c->pending.len);
        buf_reset(&c->pending);
        finish(c);
        return;
    }
    c->job = JOB_CHUNKED;
    c->job_n = 0;
    clock_gettime(CLOCK_MONOTONIC, &c->job_t0);
    chunk_step(c);
}

static void slow_answer(struct dconn *c)
{
    struct buf b = BUF_INIT, hx = BUF_INIT;
    char now[40];
    clock_line(now, sizeof(now));
    page_begin(c, &b, "A slow answer");
    buf_printf(&b,
               "<p class=\"t\">This answer waited <b id=\"waited\">%d</b> ms "
               "(measured: %ld ms) and was sent at %s.</p>\n"
               "<p>In lucent's timing the wait shows as time to the first byte. Try "
               "<a href=\"/slow?ms=500\">500 ms</a>, <a href=\"/slow?ms=5000\">5 s</a> or "
               "<a href=\"/slow?ms=30000\">30 s</a> (the most).</p>\n",
               c->job_ms, ms_since(&c->job_t0), now);
    page_end(&b);
    buf_puts(&hx, "Cache-Control: no-store\r\n");
    respond_buf(c, 200, HTML, &hx, &b);
    buf_free(&b);
    buf_free(&hx);
}

static void page_slow(struct dconn *c)
{
    long ms;
    if (!allow(c, "GET, HEAD"))
        return;
    if (!query_num(c, "ms", 1000, &ms)) {
        reply_error(c, 400, "ms must be a number of milliseconds, e.g. /slow?ms=2000");
        return;
    }
    if (ms > DEMO_SLOW_MAX_MS)
        ms = DEMO_SLOW_MAX_MS;
    c->job = JOB_SLOW;
    c->job_ms = (int)ms;
    clock_gettime(CLOCK_MONOTONIC, &c->job_t0);
    arm_work(c, ms);
}

static void page_many(struct dconn *c)
{
    struct buf b = BUF_INIT, hx = BUF_INIT;
    long delay;
    if (!allow(c, "GET, HEAD"))
        return;
    if (!query_num(c, "delay", 0, &delay)) {
        reply_error(c, 400, "delay must be a number of milliseconds");
        return;
    }
    if (delay > DEMO_RES_DELAY_MAX_MS)
        delay = DEMO_RES_DELAY_MAX_MS;
    page_begin(c, &b, "Many small resources");
    buf_printf(&b,
               "<p>%d small images, each its own request. Over HTTP/1.1 a browser opens "
               "at most six connections to a site and reuses them (keep-alive): the "
               "others wait in a queue, and one slow answer holds up the next on its "
               "connection (head-of-line blocking). Compare the waterfall with each image "
               "taking <a href=\"/many?delay=200\">200 ms</a> on the server, or with "
               "<a href=\"/many\">no delay</a>.</p>\n<p>",
               DEMO_MANY);
    for (int i = 0; i < DEMO_MANY; i++) {
        if (delay > 0)
            buf_printf(&b,
                       "<img src=\"/res/%d.png?delay=%ld\" width=\"32\" height=\"32\" "
                       "alt=\"%d\">\n",
                       i, delay, i);
        else
            buf_printf(&b, "<img src=\"/res/%d.png\" width=\"32\" height=\"32\" alt=\"%d\">\n", i,
                       i);
    }
    buf_puts(&b, "</p>\n");
    page_end(&b);
    buf_puts(&hx, "Cache-Control: no-store\r\n");
    respond_buf(c, 200, HTML, &hx, &b);
    buf_free(&b);
    buf_free(&hx);
}

static void put_be32(struct buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    buf_append(b, x, 4);
}

static void png_chunk(struct buf *b, const char *type, const unsigned char *p, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    put_be32(b, (uint32_t)len);
    buf_append(b, type, 4);
    if (len > 0)
        buf_append(b, p, len);
    crc = crc32(crc, (const Bytef *)type, 4);
    if (len > 0)
        crc = crc32(crc, p, (uInt)len);
    put_be32(b, (uint32_t)crc);
}

/* A 16x16 RGB PNG: a colour of its own for each n, with a darker frame. */
static int make_png(unsigned n, struct buf *out)
{
    enum { W = 16, H = 16, ROW = 1 + W * 3 };
    unsigned char raw[H * ROW], z[1024];
    unsigned char rgb[3] = {(unsigned char)(n * 67 + 40), (unsigned char)(n * 131 + 90),
                            (unsigned char)(n * 29 + 160)};
    uLongf zlen = sizeof(z);
    for (int y = 0; y < H; y++) {
        raw[y * ROW] = 0; /* filter: none */
        for (int x = 0; x < W; x++) {
            bool edge = x == 0 || y == 0 || x == W - 1 || y == H - 1;
            for (int k = 0; k < 3; k++)
                raw[y * ROW + 1 + x * 3 + k] = edge ? (unsigned char)(rgb[k] / 2) : rgb[k];
        }
    }
    if (compress2(z, &zlen, raw, sizeof(raw), 9) != Z_OK)
        return -1;
    const unsigned char ihdr[13] = {0, 0, 0, W, 0, 0, 0, H, 8, 2, 0, 0, 0}; /* 8-bit RGB */
    buf_append(out, "\x89PNG\r\n\x1a\n", 8);
    png_chunk(out, "IHDR", ihdr, sizeof(ihdr));
    png_chunk(out, "IDAT", z, zlen);
    png_chunk(out, "IEND", NULL, 0);
    return 0;
}

static void res_answer(struct dconn *c)
{
    struct buf b = BUF_INIT, hx = BUF_INIT;
    if (make_png((unsigned)c->job_n, &b) < 0) {
        buf_free(&b);
        reply_error(c, 500, "cannot make the image");
        return;
    }
    buf_puts(&hx, "Cache-Control: no-store\r\n");
    respond_buf(c, 200, "image/png", &hx, &b);
    buf_free(&b);
    buf_free(&hx);
}

static void page_res(struct dconn *c, const char *arg)
{
    size_t len = strlen(arg);
    long n, delay;
    if (len < 5 || strcmp(arg + len - 4, ".png") != 0 || !parse_num(arg, len - 4, &n) || n > 999) {
        not_found(c);
        return;
    }
    if (!allow(c, "GET, HEAD"))
        return;
    if (!query_num(c, "delay", 0, &delay)) {
        reply_error(c, 400, "delay must be a number of milliseconds");
        return;
    }
    c->job_n = (unsigned)n;
    if (delay <= 0) {
        res_answer(c);
        return;
    }
    c->job = JOB_RES;
    arm_work(c, delay > DEMO_RES_DELAY_MAX_MS ? DEMO_RES_DELAY_MAX_MS : delay);
}

/* ---- JSON API --------------------------------------------------------------- */

static void item_json(struct buf *b, const struct item *it)
{
    buf_printf(b, "{\"id\":%u,\"name\":", it->id);
    json_str(b, it->name, strlen(it->name));
    buf_putc(b, '}');
}

static void api_reply(struct dconn *c, int status, const struct buf *hx0, const char *fmt,
                      const char *arg)
{
    struct buf b = BUF_INIT, hx = BUF_INIT;
    buf_puts(&hx, "Cache-Control: no-store\r\n");
    if (hx0 != NULL)
        buf_append(&hx, hx0->p, hx0->len);
    if (arg != NULL) {
        buf_puts(&b, "{\"error\":");
        json_str(&b, arg, strlen(arg));
        buf_puts(&b, "}\n");
    } else {
        buf_puts(&b, fmt);
    }
    respond_buf(c, status, JSON, &hx, &b);
    buf_free(&b);
    buf_free(&hx);
}

static void api_add(struct dconn *c)
{
    struct demo *d = c->d;
    char err[160];
    struct buf b = BUF_INIT, hx = BUF_INIT;
    size_t nl = 0;
    struct jsonp_doc *doc = jsonp_parse(c->body.p ? c->body.p : "", c->body.len, err, sizeof(err));
    if (doc == NULL) {
        char why[220];
        snprintf(why, sizeof(why), "the body is not JSON: %s", err);
        api_reply(c, 400, NULL, NULL, why);
        return;
    }
    const char *name = jsonp_str(jsonp_get(jsonp_root(doc), "name"), &nl);
    if (name == NULL || nl == 0 || nl > DEMO_ITEM_MAX || memchr(name, '\0', nl) != NULL) {
        jsonp_free(doc);
        api_reply(c, 400, NULL, NULL,
                  "send an object with a \"name\": a string of 1 to 200 bytes, e.g. "
                  "{\"name\":\"tea\"}");
        return;
    }
    if (d->nitems == DEMO_MAX_ITEMS) {
        jsonp_free(doc);
        api_reply(c, 507, NULL, NULL, "the list is full: delete some items");
        return;
    }
    char *copy = strndup(name, nl);
    jsonp_free(doc);
    if (copy == NULL) {
        api_reply(c, 500, NULL, NULL, "out of memory");
        return;
    }
    struct item *it = &d->items[d->nitems++];
    it->id = d->next_item++;
    it->name = copy;
    buf_printf(&hx, "Location: /api/items/%u\r\n", it->id);
    item_json(&b, it);
    buf_putc(&b, '\n');
    api_reply(c, 201, &hx, b.p, NULL);
    buf_free(&b);
    buf_free(&hx);
}

/* rest: "" for the list, "/N" for one item. */
static void api_items(struct dconn *c, const char *rest)
{
    struct demo *d = c->d;
    struct buf b = BUF_INIT;
    long id;
    size_t i;
    if (rest[0] == '\0') {
        if (!allow(c, "GET, HEAD, POST"))
            return;
        if (is_method(c, "POST")) {
            api_add(c);
            return;
        }
        buf_putc(&b, '[');
        for (i = 0; i < d->nitems; i++) {
            if (i > 0)
                buf_putc(&b, ',');
            item_json(&b, &d->items[i]);
        }
        buf_puts(&b, "]\n");
        api_reply(c, 200, NULL, b.p, NULL);
        buf_free(&b);
        return;
    }
    if (rest[0] != '/' || !parse_num(rest + 1, strlen(rest + 1), &id)) {
        api_reply(c, 404, NULL, NULL, "no such item");
        return;
    }
    for (i = 0; i < d->nitems; i++)
        if (d->items[i].id == (unsigned long)id)
            break;
    if (!allow(c, "GET, HEAD, DELETE"))
        return;
    if (i == d->nitems) {
        api_reply(c, 404, NULL, NULL, "no such item");
        return;
    }
    if (is_method(c, "DELETE")) {
        free(d->items[i].name);
        memmove(&d->items[i], &d->items[i + 1], (d->nitems - i - 1) * sizeof(d->items[0]));
        d->nitems--;
        api_reply(c, 204, NULL, "", NULL);
        return;
    }
    item_json(&b, &d->items[i]);
    buf_putc(&b, '\n');
    api_reply(c, 200, NULL, b.p, NULL);
    buf_free(&b);
}

static const char app_script[] =
    "<script>\n"
    "const $ = (id) => document.getElementById(id);\n"
    "function render(items) {\n"
    "  const ul = $('items');\n"
    "  ul.textContent = '';\n"
    "  for (const it of items) {\n"
    "    const li = document.createElement('li');\n"
    "    li.className = 'item';\n"
    "    li.textContent = it.name + ' ';\n"
    "    const del = document.createElement('button');\n"
    "    del.textContent = 'delete';\n"
    "    del.onclick = () => fetch('/api/items/' + it.id, {method: 'DELETE'}).then(load);\n"
    "    li.appendChild(del);\n"
    "    ul.appendChild(li);\n"
    "  }\n"
    "  $('xhr').textContent = 'XMLHttpRequest loaded ' + items.length + ' items';\n"
    "}\n"
    "function load() {\n"
    "  const x = new XMLHttpRequest();\n"
    "  x.open('GET', '/api/items');\n"
    "  x.responseType = 'json';\n"
    "  x.onload = () => render(x.response || []);\n"
    "  x.onerror = () => { $('xhr').textContent = 'XMLHttpRequest failed'; };\n"
    "  x.send();\n"
    "  fetch('/api/items', {headers: {'Accept': 'application/json'}})\n"
    "    .then((r) => r.json())\n"
    "    .then((items) => { $('fetch').textContent = 'fetch saw ' + items.length + ' items'; })\n"
    "    .catch((e) => { $('fetch').textContent = 'fetch failed: ' + e; });\n"
    "}\n"
    "$('add').onsubmit = (e) => {\n"
    "  e.preventDefault();\n"
    "  fetch('/api/items', {method: 'POST', headers: {'Content-Type': 'application/json'},\n"
    "                       body: JSON.stringify({name: $('name').value})})\n"
    "    .then((r) => r.json()).then(() => { $('name').value = ''; load(); });\n"
    "};\n"
    "load();\n"
    "</script>\n";

static void page_app(struct dconn *c)
{
    struct buf b = BUF_INIT;
    if (!allow(c, "GET, HEAD"))
        return;
    page_begin(c, &b, "Items");
    buf_puts(&b, "<p>This page is an application: its script loads the list from "
                 "<a href=\"/api/items\">/api/items</a> with XMLHttpRequest (and once more "
                 "with fetch), adds items with a fetch POST carrying JSON, and deletes them "
                 "with fetch DELETE. The page itself never reloads: watch the API calls in "
                 "lucent.</p>\n<ul id=\"items\"></ul>\n"
                 "<form id=\"add\"><input id=\"name\" placeholder=\"a new item\" required "
                 "maxlength=\"200\"> <button>Add</button></form>\n"
                 "<p><small id=\"xhr\">loading&hellip;</small> &middot; "
                 "<small id=\"fetch\"></small></p>\n");
    buf_puts(&b, app_script);
    page_end(&b);
    respond_buf(c, 200, HTML, NULL, &b);
    buf_free(&b);
}

/* ---- forms and upload --------------------------------------------------------- */

static void page_forms(struct dconn *c)
{
    struct buf b = BUF_INIT;
    if (!allow(c, "GET, HEAD"))
        return;
    page_begin(c, &b, "GET and POST forms");
    buf_puts(&b, "<p>The same form twice. With GET the fields go into the URL's query "
                 "string: they end up in history, bookmarks and server logs. With POST they "
                 "travel in the request body (<code>application/x-www-form-urlencoded</code>)."
                 "</p>\n<h2>GET</h2><form method=\"get\" action=\"/forms/result\">"
                 "<label>Name <input name=\"name\" value=\"Ada\"></label> "
                 "<label>Colour <input name=\"colour\" value=\"green\"></label> "
                 "<button>Send with GET</button></form>\n"
                 "<h2>POST</h2><form method=\"post\" action=\"/forms/result\">"
                 "<label>Name <input name=\"name\" value=\"Ada\"></label> "
                 "<label>Colour <input name=\"colour\" value=\"green\"></label> "
                 "<button>Send with POST</button></form>\n"
                 "<p>Files need <code>multipart/form-data</code>: see "
                 "<a href=\"/upload\">/upload</a>.</p>\n");
    page_end(&b);
    respond_buf(c, 200, HTML, NULL, &b);
    buf_free(&b);
}

static void page_form_result(struct dconn *c)
{
    struct buf b = BUF_INIT;
    size_t ctl = 0;
    if (!allow(c, "GET, HEAD, POST"))
        return;
    const char *ct = hdrs_get(&c->req, "Content-Type", &ctl);
    page_begin(c, &b, "What the form sent");
    buf_puts(&b, "<p>Method <b id=\"method\">");
    html_escs(&b, c->method);
    buf_puts(&b, "</b>; query string <code id=\"query\">");
    html_escs(&b, c->query);
    buf_printf(&b, "</code>; body of %zu bytes", c->body.len);
    if (ct != NULL) {
        buf_puts(&b, " (<code>");
        html_esc(&b, ct, ctl);
        buf_puts(&b, "</code>)");
    }
    buf_puts(&b, ".</p>\n");
    if (is_method(c, "POST"))
        form_table(&b, c->body.p ? c->body.p : "", c->body.len);
    else
        form_table(&b, c->query, strlen(c->query));
    buf_puts(&b, "<p><a href=\"/forms\">Back to the forms</a></p>\n");
    page_end(&b);
    respond_buf(c, 200, HTML, NULL, &b);
    buf_free(&b);
}

/* The value of parameter `key` in a header value like `form-data; name="x"`. */
static bool header_param(const char *v, size_t vl, const char *key, struct buf *out)
{
    size_t kl = strlen(key), i = 0;
    while (i < vl) {
        size_t end = i;
        bool quoted = false;
        while (end < vl && (quoted || v[end] != ';')) {
            if (v[end] == '"')
                quoted = !quoted;
            end++;
        }
        size_t s = i;
        while (s < end && (v[s] == ' ' || v[s] == '\t'))
            s++;
        if (end - s > kl && strncasecmp(v + s, key, kl) == 0 && v[s + kl] == '=') {
            const char *p = v + s + kl + 1;
            size_t pl = (size_t)(v + end - p);
            while (pl > 0 && (p[pl - 1] == ' ' || p[pl - 1] == '\t'))
                pl--;
            if (pl >= 2 && p[0] == '"' && p[pl - 1] == '"')
                p++, pl -= 2;
            buf_append(out, p, pl);
            return true;
        }
        i = end + 1;
    }
    return false;
}

/* Reads the header lines of one part, [p, end) (each ends with CRLF). */
static void part_headers(const char *p, const char *end, struct buf *name, struct buf *file,
                         bool *has_file, struct buf *type)
{
    while (p < end) {
        const char *le = find_bytes(p, (size_t)(end - p), "\r\n", 2);
        if (le == NULL)
            le = end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon != NULL) {
            const char *v = colon + 1;
            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            if (ieq(p, (size_t)(colon - p), "Content-Disposition")) {
                header_param(v, (size_t)(le - v), "name", name);
                *has_file = header_param(v, (size_t)(le - v), "filename", file);
            } else if (ieq(p, (size_t)(colon - p), "Content-Type")) {
                buf_append(type, v, (size_t)(le - v));
            }
        }
        p = le + 2;
    }
}

/* Reports each part of a multipart/form-data body (RFC 7578) as a table
 * row; -1 when the body is not well-formed. */
static int multipart_table(struct buf *html, const char *body, size_t len, const char *boundary,
                           size_t blen, unsigned *nparts)
{
    struct buf delim = BUF_INIT, name = BUF_INIT, file = BUF_INIT, type = BUF_INIT;
    const char *end = body + len, *p;
    int rc = -1;

    buf_puts(&delim, "\r\n--");
    buf_append(&delim, boundary, blen);
    *nparts = 0;
    /* the first delimiter may open the body without the CRLF before it */
    if (len >= delim.len - 2 && memcmp(body, delim.p + 2, delim.len - 2) == 0) {
        p = body + delim.len - 2;
    } else {
        p = find_bytes(body, len, delim.p, delim.len);
        if (p == NULL)
            goto out;
        p += delim.len;
    }
    for (;;) {
        const char *hend, *data, *next;
        bool has_file = false;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            rc = 0; /* the close delimiter */
            break;
        }
        while (p < end && (*p == ' ' || *p == '\t')) /* transport padding */
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n' || *nparts == DEMO_MAX_PARTS)
            break;
        p += 2;
        buf_reset(&name);
        buf_reset(&file);
        buf_reset(&type);
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') { /* a part without headers */
            data = p + 2;
        } else {
            hend = find_bytes(p, (size_t)(end - p), "\r\n\r\n", 4);
            if (hend == NULL)
                break;
            part_headers(p, hend + 2, &name, &file, &has_file, &type);
            data = hend + 4;
        }
        next = find_bytes(data, (size_t)(end - data), delim.p, delim.len);
        if (next == NULL)
            break;
        buf_puts(html, "<tr><td class=\"name\">");
        html_esc(html, name.p ? name.p : "", name.len);
        buf_puts(html, "</td><td>");
        if (has_file)
            html_esc(html, file.p ? file.p : "", file.len);
        buf_puts(html, "</td><td>");
        html_esc(html, type.p ? type.p : "", type.len);
        buf_printf(html, "</td><td class=\"size\">%zu</td></tr>\n", (size_t)(next - data));
        (*nparts)++;
        p = next + delim.len;
    }
out:
    buf_free(&delim);
    buf_free(&name);
    buf_free(&file);
    buf_free(&type);
    return rc;
}

static void page_upload(struct dconn *c)
{
    struct buf b = BUF_INIT, boundary = BUF_INIT, rows = BUF_INIT;
    size_t ctl = 0;
    unsigned nparts = 0;
    if (!allow(c, "GET, HEAD, POST"))
        return;
    if (is_get(c)) {
        page_begin(c, &b, "Upload a file");
        buf_puts(&b, "<p>A form with a file needs <code>enctype=\"multipart/form-data\"</code>: "
                     "the body holds one part per field, separated by a boundary string. curl "
                     "sends big uploads with <code>Expect: 100-continue</code> and waits for "
                     "<code>100 Continue</code> before the body; this site answers it (bodies "
                     "up to 1 MiB).</p>\n"
                     "<form method=\"post\" action=\"/upload\" enctype=\"multipart/form-data\">"
                     "<p><label>Comment <input name=\"comment\" value=\"my file\"></label></p>"
                     "<p><input type=\"file\" name=\"file\"></p><p><button>Upload</button></p>"
                     "</form>\n<pre>curl -F comment=hi -F file=@photo.jpg "
                     "http://127.0.0.1:PORT/upload</pre>\n");
        page_end(&b);
        respond_buf(c, 200, HTML, NULL, &b);
        goto out;
    }
    const char *ct = hdrs_get(&c->req, "Content-Type", &ctl);
    if (ct == NULL || ctl < 19 || strncasecmp(ct, "multipart/form-data", 19) != 0 ||
        !header_param(ct, ctl, "boundary", &boundary) || boundary.len == 0 || boundary.len > 200) {
        reply_error(c, 415,
                    "send multipart/form-data with a boundary (an HTML form with "
                    "enctype=\"multipart/form-data\", or curl -F)");
        goto out;
    }
    if (multipart_table(&rows, c->body.p ? c->body.p : "", c->body.len, boundary.p, boundary.len,
                        &nparts) < 0) {
        reply_error(c, 400, "the multipart body is not well-formed (a missing boundary?)");
        goto out;
    }
    page_begin(c, &b, "Upload received");
    buf_printf(&b,
               "<p>Request body: <b id=\"total\">%zu</b> bytes in <b id=\"parts\">%u</b> "
               "parts, sent %s. ",
               c->body.len, nparts, c->body_chunked ? "chunked" : "with a Content-Length");
    buf_puts(&b, c->sent_continue ? "<span id=\"expect\">The client asked with <code>Expect: "
                                    "100-continue</code> and got <code>100 Continue</code> "
                                    "before it sent the body.</span>"
                                  : "<span id=\"expect\">No <code>Expect: 100-continue</code>: "
                                    "the body came right after the head.</span>");
    buf_puts(&b, "</p>\n<table><tr><th>field</th><th>file name</th><th>type</th><th>bytes</th>"
                 "</tr>\n");
    buf_append(&b, rows.p ? rows.p : "", rows.len);
    buf_puts(&b, "</table>\n<p><a href=\"/upload\">Upload another</a></p>\n");
    page_end(&b);
    respond_buf(c, 200, HTML, NULL, &b);
out:
    buf_free(&b);
    buf_free(&boundary);
    buf_free(&rows);
}

static void page_headers(struct dconn *c)
{
    struct buf b = BUF_INIT, hx = BUF_INIT;
    if (!allow(c, "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS"))
        return;
    buf_printf(&b, "%s %s%s%s HTTP/%u.%u\n", c->method, c->path, c->query[0] ? "?" : "", c->query,
               c->rx.major, c->rx.minor);
    for (size_t i = 0; i < c->req.n; i++) {
        size_t nl, vl;
        const char *n = hdrs_name(&c->req, i, &nl);
        const char *v = hdrs_value(&c->req, i, &vl);
        buf_append(&b, n, nl);
        buf_puts(&b, ": ");
        buf_append(&b, v, vl);
        buf_putc(&b, '\n');
    }
    buf_printf(&b, "\n(%zu body bytes; from %s over %s)\n", c->body.len, c->peer,
               c->tls ? "TLS" : "plain TCP");
    buf_puts(&hx, "Cache-Control: no-store\r\n");
    respond_buf(c, 200, "text/plain; charset=utf-8", &hx, &b);
    buf_free(&b);
    buf_free(&hx);
}

/* ---- WebSocket ------------------------------------------------------------------ */

static const char ws_script[] =
    "<script>\n"
    "const log = (t) => { const li = document.createElement('li'); li.textContent = t;\n"
    "                     document.getElementById('log').appendChild(li); };\n"
    "const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') +\n"
    "                         location.host + '/ws');\n"
    "ws.onopen = () => { log('open'); ws.send('hello from the browser'); };\n"
    "ws.onmessage = (e) => log('echo: ' + e.data);\n"
    "ws.onclose = (e) => log('closed (' + e.code + ')');\n"
    "ws.onerror = () => log('error');\n"
    "document.getElementById('f').onsubmit = (e) => {\n"
    "  e.preventDefault(); const m = document.getElementById('msg');\n"
    "  if (ws.readyState === 1) { ws.send(m.value); m.value = ''; }\n"
    "};\n"
    "</script>\n";

static void page_ws(struct dconn *c)
{
    struct buf b = BUF_INIT;
    if (!allow(c, "GET, HEAD"))
        return;
    page_begin(c, &b, "WebSocket echo");
    buf_puts(&b, "<p>The script opens a WebSocket to <code>/ws</code>: a GET with "
                 "<code>Upgrade: websocket</code>, answered by <code>101 Switching "
                 "Protocols</code>; from then on the connection carries frames both ways. "
                 "The server sends back every message.</p>\n<form id=\"f\"><input id=\"msg\" "
                 "placeholder=\"a message\"> <button>Send</button></form>\n<ol id=\"log\"></ol>\n");
    buf_puts(&b, ws_script);
    page_end(&b);
    respond_buf(c, 200, HTML, NULL, &b);
    buf_free(&b);
}

static void ws_frame(struct dconn *c, unsigned op, const void *p, size_t len)
{
    unsigned char h[10];
    size_t hl;
    h[0] = (unsigned char)(0x80 | op);
    if (len < 126) {
        h[1] = (unsigned char)len;
        hl = 2;
    } else if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    struct buf m = BUF_INIT;
    buf_append(&m, h, hl);
    if (len > 0)
        buf_append(&m, p, len);
    evbuffer_add(output(c), m.p, m.len);
    buf_free(&m);
}

static void close_after_flush(struct dconn *c);

/* Ends the WebSocket with a close frame (code and reason), then the TCP. */
static void ws_fail(struct dconn *c, unsigned code, const char *why)
{
    unsigned char p[125];
    size_t wl = strlen(why) > 120 ? 120 : strlen(why);
    LC_DEBUG("demo c%" PRIu64 ": WebSocket closed by the site: %u %s", c->id, code, why);
    if (!c->ws_close_sent) {
        p[0] = (unsigned char)(code >> 8);
        p[1] = (unsigned char)code;
        memcpy(p + 2, why, wl);
        ws_frame(c, 8, p, 2 + wl);
        c->ws_close_sent = true;
    }
    close_after_flush(c);
}

static bool utf8_ok(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = json_utf8_seq(s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

static bool close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

/* One complete frame: its payload, unmasked, in p[0..len). */
static void ws_handle(struct dconn *c, bool fin, unsigned op, unsigned char *p, size_t len)
{
    switch (op) {
    case 0x8: { /* close: answer with the same code, then close the TCP */
        unsigned code = len >= 2 ? (unsigned)(p[0] << 8 | p[1]) : 0;
        if (len == 1 || (len >= 2 && !close_code_ok(code))) {
            ws_fail(c, 1002, "bad close frame");
            return;
        }
        if (len > 2 && !utf8_ok(p + 2, len - 2)) {
            ws_fail(c, 1007, "close reason is not UTF-8");
            return;
        }
        if (!c->ws_close_sent)
            ws_frame(c, 8, p, len >= 2 ? 2 : 0);
        c->ws_close_sent = true;
        close_after_flush(c);
        return;
    }
    case 0x9: /* ping */
        ws_frame(c, 0xA, p, len);
        return;
    case 0xA: /* pong: nothing to do */
        return;
    case 0x0:
        if (c->ws_op == 0) {
            ws_fail(c, 1002, "continuation without a message");
            return;
        }
        break;
    default: /* text or binary */
        if (c->ws_op != 0) {
            ws_fail(c, 1002, "a new message inside a fragmented one");
            return;
        }
        c->ws_op = op;
        buf_reset(&c->ws_msg);
    }
    buf_append(&c->ws_msg, p, len);
    if (!fin)
        return;
    if (c->ws_op == 1 && !utf8_ok((const unsigned char *)c->ws_msg.p, c->ws_msg.len)) {
        ws_fail(c, 1007, "text message is not UTF-8");
        return;
    }
    ws_frame(c, c->ws_op, c->ws_msg.p, c->ws_msg.len);
    c->ws_op = 0;
    buf_reset(&c->ws_msg);
}

/* Reads the frames that are complete in the input. */
static void ws_read(struct dconn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (!c->closing && c->state == DC_WS) {
        unsigned char h[14];
        size_t avail = evbuffer_get_length(in), hl = 2;
        if (avail < 2)
            return;
        evbuffer_copyout(in, h, avail < sizeof(h) ? avail : sizeof(h));
        bool fin = (h[0] & 0x80) != 0, masked = (h[1] & 0x80) != 0;
        unsigned op = h[0] & 0x0f;
        uint64_t len = h[1] & 0x7f;
        if (len == 126) {
            if (avail < 4)
                return;
            len = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10)
                return;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | h[2 + i];
            hl = 10;
        }
        if (h[0] & 0x70) {
            ws_fail(c, 1002, "reserved bits set (no extension was agreed)");
            return;
        }
        if (!masked) {
            ws_fail(c, 1002, "client frames must be masked");
            return;
        }
        if ((op >= 3 && op <= 7) || op >= 0xB) {
            ws_fail(c, 1002, "unknown opcode");
            return;
        }
        if ((op & 8) && (!fin || len > 125)) {
            ws_fail(c, 1002, "control frames are short and never fragmented");
            return;
        }
        if (len > DEMO_WS_MAX_MSG || (!(op & 8) && c->ws_msg.len + len > DEMO_WS_MAX_MSG)) {
            ws_fail(c, 1009, "message larger than 1 MiB");
            return;
        }
        if (avail < hl + 4 + len)
            return; /* bounded: at most 1 MiB and a header wait in the buffer */
        unsigned char mask[4];
        memcpy(mask, h + hl, 4);
        evbuffer_drain(in, hl + 4);
        unsigned char *p = malloc(len > 0 ? (size_t)len : 1);
        if (p == NULL) {
            ws_fail(c, 1011, "out of memory");
            return;
        }
        evbuffer_remove(in, p, (size_t)len);
        for (size_t i = 0; i < len; i++)
            p[i] ^= mask[i & 3];
        ws_handle(c, fin, op, p, (size_t)len);
        free(p);
        if (evbuffer_get_length(output(c)) > DEMO_MAX_OUT) {
            LC_DEBUG("demo c%" PRIu64 ": WebSocket peer does not read; closing", c->id);
            c->closing = true;
            return;
        }
        if (c->state == DC_WS) {
            struct timeval tv = {DEMO_WS_IDLE_SECS, 0};
            evtimer_add(c->deadline, &tv);
        }
    }
}

/* GET /ws with Upgrade: websocket: the handshake of RFC 6455 4.2. */
static void ws_upgrade(struct dconn *c)
{
    struct buf hx = BUF_INIT;
    size_t kl = 0, vl = 0;
    const char *key = hdrs_get(&c->req, "Sec-WebSocket-Key", &kl);
    const char *ver = hdrs_get(&c->req, "Sec-WebSocket-Version", &vl);
    unsigned char raw[24], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char in[24 + sizeof(WS_GUID)], acc[64];

    c->state = DC_BUSY;
    c->keep_alive = false; /* whatever happens, no further HTTP on this connection */
    if (ver == NULL || vl != 2 || memcmp(ver, "13", 2) != 0) {
        buf_puts(&hx, "Sec-WebSocket-Version: 13\r\n");
        respond(c, 426, "text/plain; charset=utf-8", &hx, "WebSocket version 13 only\n", 26);
        buf_free(&hx);
        return;
    }
    if (key == NULL || kl != 24 || key[22] != '=' || key[23] != '=' ||
        EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18 ||
        http1_request_body(&c->rx) != HTTP1_BODY_NONE || !is_method(c, "GET")) {
        reply_error(c, 400,
                    "a WebSocket handshake is a GET without a body and with a "
                    "Sec-WebSocket-Key of 16 bytes in base64");
        return;
    }
    memcpy(in, key, 24);
    memcpy(in + 24, WS_GUID, sizeof(WS_GUID) - 1);
    if (EVP_Digest(in, 24 + sizeof(WS_GUID) - 1, md, &mdlen, EVP_sha1(), NULL) != 1) {
        ERR_clear_error();
        reply_error(c, 500, "SHA-1 is not available");
        return;
    }
    EVP_EncodeBlock((unsigned char *)acc, md, (int)mdlen);
    evbuffer_add_printf(output(c),
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                        acc);
    LC_DEBUG("demo c%" PRIu64 ": WebSocket open", c->id);
    c->state = DC_WS;
    c->ws_op = 0;
    struct timeval tv = {DEMO_WS_IDLE_SECS, 0};
    evtimer_add(c->deadline, &tv);
}

static void ws_refuse(struct dconn *c)
{
    struct buf hx = BUF_INIT, b = BUF_INIT;
    buf_puts(&hx, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
    page_begin(c, &b, "426 Upgrade Required");
    buf_puts(&b, "<p><code>/ws</code> speaks WebSocket only: open "
                 "<a href=\"/ws-page\">/ws-page</a>, whose script connects to it.</p>\n");
    page_end(&b);
    respond_buf(c, 426, HTML, &hx, &b);
    buf_free(&hx);
    buf_free(&b);
}

/* ---- the request cycle ---------------------------------------------------------- */

static void route(struct dconn *c)
{
    const char *p = c->path;
    if (strcmp(p, "/") == 0 || strcmp(p, "/index.html") == 0)
        page_index(c);
    else if (strcmp(p, "/login") == 0)
        page_login(c);
    else if (strcmp(p, "/logout") == 0)
        page_logout(c);
    else if (strcmp(p, "/account") == 0)
        page_account(c);
    else if (strncmp(p, "/cache/", 7) == 0)
        page_cache(c, p + 7);
    else if (strncmp(p, "/status/", 8) == 0)
        page_status(c, p + 8);
    else if (strcmp(p, "/redirects") == 0)
        page_redirects(c);
    else if (strncmp(p, "/redirect/", 10) == 0)
        page_redirect(c, p + 10);
    else if (strcmp(p, "/redirected") == 0)
        page_redirected(c);
    else if (strcmp(p, "/chunked") == 0)
        page_chunked(c);
    else if (strcmp(p, "/slow") == 0)
        page_slow(c);
    else if (strcmp(p, "/many") == 0)
        page_many(c);
    else if (strncmp(p, "/res/", 5) == 0)
        page_res(c, p + 5);
    else if (strcmp(p, "/api/items") == 0 || strncmp(p, "/api/items/", 11) == 0)
        api_items(c, p + 10);
    else if (strcmp(p, "/app") == 0)
        page_app(c);
    else if (strcmp(p, "/ws") == 0)
        ws_refuse(c);
    else if (strcmp(p, "/ws-page") == 0)
        page_ws(c);
    else if (strcmp(p, "/forms") == 0)
        page_forms(c);
    else if (strcmp(p, "/forms/result") == 0)
        page_form_result(c);
    else if (strcmp(p, "/upload") == 0)
        page_upload(c);
    else if (strcmp(p, "/headers") == 0)
        page_headers(c);
    else if (strcmp(p, "/favicon.ico") == 0 && is_get(c))
        respond(c, 204, NULL, NULL, NULL, 0); /* nothing, but no 404 in every page's log */
    else
        not_found(c);
}

static void arm(struct dconn *c, int secs)
{
    struct timeval tv = {secs, 0};
    evtimer_add(c->deadline, &tv);
}

static void dc_free(struct dconn *c)
{
    struct demo *d = c->d;
    TAILQ_REMOVE(&d->conns, c, link);
    d->nconns--;
    if (c->bev != NULL) {
        SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
        if (ssl != NULL && SSL_is_init_finished(ssl))
            SSL_shutdown(ssl); /* close_notify: the end of the data is the real end */
        ERR_clear_error();
        bufferevent_free(c->bev);
    }
    if (c->deadline != NULL)
        event_free(c->deadline);
    if (c->work != NULL)
        event_free(c->work);
    http1_free(&c->rx);
    hdrs_free(&c->req);
    hdrs_free(&c->trailers);
    buf_free(&c->target);
    buf_free(&c->body);
    buf_free(&c->ws_msg);
    buf_free(&c->pending);
    LC_DEBUG("demo c%" PRIu64 ": closed", c->id);
    free(c);
}

static void dc_hold(struct dconn *c)
{
    c->holds++;
}

static void dc_release(struct dconn *c)
{
    if (--c->holds == 0 && c->closing)
        dc_free(c);
}

/* After the output is written: TLS ends here; plain TCP shuts its write
 * side and discards what still comes, so the client reads our answer before
 * any reset. */
static void output_done(struct dconn *c)
{
    if (c->tls || c->peer_eof) {
        c->closing = true;
        return;
    }
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    c->state = DC_LINGER;
    arm(c, DEMO_LINGER_SECS);
    evbuffer_drain(bufferevent_get_input(c->bev),
                   evbuffer_get_length(bufferevent_get_input(c->bev)));
}

static void close_after_flush(struct dconn *c)
{
    c->state = DC_CLOSING;
    c->job = JOB_NONE;
    evtimer_del(c->work);
    if (evbuffer_get_length(output(c)) == 0)
        output_done(c);
    else
        arm(c, DEMO_WRITE_SECS);
}

/* The answer is complete: next request, or close. */
static void finish(struct dconn *c)
{
    c->job = JOB_NONE;
    evtimer_del(c->work);
    if (c->state == DC_CLOSING || c->state == DC_LINGER || c->closing)
        return;
    if (!c->keep_alive) {
        close_after_flush(c);
        return;
    }
    hdrs_clear(&c->req);
    hdrs_clear(&c->trailers);
    http1_next(&c->rx, &c->req, &c->trailers);
    c->head_req = c->http10 = false; /* an error before the next head has a body */
    c->state = DC_HEAD;
    arm(c, DEMO_HEAD_SECS);
}

static void dispatch(struct dconn *c)
{
    evtimer_del(c->deadline);
    c->state = DC_BUSY;
    route(c);
}

/* The request target as path and query (an absolute-form target loses its
 * scheme and authority). */
static void set_target(struct dconn *c)
{
    const char *t = c->rx.target.p ? c->rx.target.p : "";
    size_t tl = c->rx.target.len;
    size_t skip = tl > 7 && strncasecmp(t, "http://", 7) == 0    ? 7
                  : tl > 8 && strncasecmp(t, "https://", 8) == 0 ? 8
                                                                 : 0;
    if (skip > 0) {
        const char *s = memchr(t + skip, '/', tl - skip);
        tl = s ? tl - (size_t)(s - t) : 0;
        t = s ? s : "";
    }
    buf_reset(&c->target);
    if (tl == 0 || t[0] != '/')
        buf_putc(&c->target, '/');
    buf_append(&c->target, t, tl);
    buf_putc(&c->target, '\0');
    char *q = memchr(c->target.p, '?', c->target.len);
    if (q != NULL)
        *q = '\0';
    c->path = c->target.p;
    c->query = q ? q + 1 : c->target.p + c->target.len - 1;
}

static void on_head(struct dconn *c)
{
    struct http1 *rx = &c->rx;
    size_t vl;
    c->keep_alive = rx->keep_alive;
    c->http10 = rx->major == 1 && rx->minor == 0;
    c->head_req = rx->method_id == HTTP_HEAD;
    c->expect_continue = c->sent_continue = false;
    c->body_chunked = c->body_too_big = false;
    c->body_left = 0;
    buf_reset(&c->body);
    snprintf(c->method, sizeof(c->method), "%s", rx->method ? rx->method : "?");
    set_target(c);
    if (strcmp(c->path, "/ws") == 0 && rx->upgrade &&
        hdrs_has_token(&c->req, "Upgrade", "websocket")) {
        ws_upgrade(c);
        return;
    }
    if (rx->upgrade || rx->method_id == HTTP_CONNECT)
        c->keep_alive = false; /* we do not switch; nothing after this request is HTTP for sure */
    if (rx->major != 1) {
        reply_error(c, 505, "HTTP/1.0 and HTTP/1.1 only");
        return;
    }
    const char *expect = hdrs_get(&c->req, "Expect", &vl);
    if (expect != NULL) {
        if (!ieq(expect, vl, "100-continue")) {
            reply_error(c, 417, "the only expectation this site meets is 100-continue");
            return;
        }
        c->expect_continue = true;
    }
    enum http1_body kind = http1_request_body(rx);
    if (kind == HTTP1_BODY_LENGTH && rx->content_length > DEMO_MAX_BODY) {
        /* refused before the body is sent (with Expect: 100-continue, it never is) */
        reply_error(c, 413, "request bodies are limited to 1 MiB on the demo site");
        return;
    }
    if (kind == HTTP1_BODY_NONE) {
        dispatch(c);
        return;
    }
    if (c->expect_continue && !c->http10) {
        evbuffer_add(output(c), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->sent_continue = true;
    }
    c->body_chunked = kind == HTTP1_BODY_CHUNKED;
    c->body_left = rx->content_length;
    c->state = DC_BODY;
    arm(c, DEMO_BODY_SECS);
}

/* De-chunked request body bytes from http1. */
static void on_req_chunk(void *arg, const char *p, size_t len)
{
    struct dconn *c = arg;
    if (c->body_too_big || c->body.len + len > DEMO_MAX_BODY)
        c->body_too_big = true;
    else
        buf_append(&c->body, p, len);
}

/* Moves input into the request cycle as far as it goes. */
static void parse(struct dconn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (!c->closing) {
        size_t avail = evbuffer_get_length(in);
        switch (c->state) {
        case DC_HEAD:
        case DC_BODY: {
            if (avail == 0)
                return;
            if (c->state == DC_BODY && !c->body_chunked) {
                size_t n = avail < c->body_left ? avail : (size_t)c->body_left;
                buf_reserve(&c->body, n);
                evbuffer_remove(in, c->body.p + c->body.len, n);
                c->body.len += n;
                c->body.p[c->body.len] = '\0';
                c->body_left -= n;
                if (c->body_left == 0)
                    dispatch(c);
                else
                    arm(c, DEMO_BODY_SECS);
                continue;
            }
            size_t len = evbuffer_get_contiguous_space(in), used = 0;
            const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
            enum http1_rc rc = http1_feed(&c->rx, p, len, &used);
            evbuffer_drain(in, used);
            if (rc == HTTP1_ERROR) {
                reply_error(c, c->rx.err_status ? c->rx.err_status : 400, c->rx.err);
            } else if (c->state == DC_BODY && c->body_too_big) {
                reply_error(c, 413, "request bodies are limited to 1 MiB on the demo site");
            } else if (rc == HTTP1_HEAD && c->state == DC_HEAD) {
                on_head(c);
            } else if (rc == HTTP1_DONE && c->state == DC_BODY) {
                dispatch(c);
            } else if (used == 0) {
                return; /* nothing consumed and nothing decided: wait */
            } else if (c->state == DC_BODY) {
                arm(c, DEMO_BODY_SECS);
            }
            continue;
        }
        case DC_WS:
            ws_read(c);
            return;
        case DC_BUSY:
            if (avail > DEMO_MAX_PENDING) {
                LC_DEBUG("demo c%" PRIu64 ": too much input while answering", c->id);
                c->closing = true;
            }
            return;
        case DC_CLOSING:
        case DC_LINGER:
            evbuffer_drain(in, avail);
            return;
        default:
            return;
        }
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct dconn *c = arg;
    dc_hold(c);
    parse(c);
    dc_release(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct dconn *c = arg;
    dc_hold(c);
    if (c->state == DC_CLOSING && evbuffer_get_length(output(c)) == 0)
        output_done(c);
    dc_release(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct dconn *c = arg;
    dc_hold(c);
    if (what & BEV_EVENT_CONNECTED) {
        c->state = DC_HEAD;
        arm(c, DEMO_HEAD_SECS);
        parse(c);
    } else {
        if ((what & BEV_EVENT_ERROR) && c->state == DC_HANDSHAKE) {
            unsigned long e = bufferevent_get_openssl_error(bev);
            char why[200] = "connection closed";
            if (e != 0)
                ERR_error_string_n(e, why, sizeof(why));
            /* e.g. a browser that does not trust lucent's CA yet */
            LC_INFO("demo c%" PRIu64 ": TLS handshake with %s failed: %s", c->id, c->peer, why);
        }
        ERR_clear_error();
        c->peer_eof = true;
        if (!(what & BEV_EVENT_EOF) || (what & BEV_EVENT_ERROR))
            c->closing = true;
        else if (c->state == DC_BUSY)
            c->keep_alive = false; /* a half-close after the request: answer, then close */
        else if (c->state == DC_HEAD && evbuffer_get_length(output(c)) > 0)
            close_after_flush(c); /* the last answer is still on its way */
        else if (c->state != DC_CLOSING)
            c->closing = true;
    }
    dc_release(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct dconn *c = arg;
    dc_hold(c);
    switch (c->state) {
    case DC_HEAD:
        if (http1_started(&c->rx) || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
            reply_error(c, 408, "the request head did not arrive in time");
        else
            c->closing = true; /* an idle keep-alive connection */
        break;
    case DC_BODY:
        reply_error(c, 408, "the request body stopped coming");
        break;
    case DC_WS:
        ws_fail(c, 1001, "idle for too long");
        break;
    default: /* handshake, a stuck write, lingering */
        c->closing = true;
    }
    dc_release(c);
}

static void on_work(evutil_socket_t fd, short what, void *arg)
{
    struct dconn *c = arg;
    dc_hold(c);
    switch (c->job) {
    case JOB_SLOW:
        slow_answer(c);
        break;
    case JOB_CHUNKED:
        chunk_step(c);
        break;
    case JOB_RES:
        res_answer(c);
        break;
    default:
        break;
    }
    if (c->state == DC_HEAD)
        parse(c); /* a request that came while we answered */
    dc_release(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct demo *d = arg;
    bool tls = l == d->listener[1];
    int one = 1;
    char err[300];
    struct dconn *c;

    if (d->nconns >= DEMO_MAX_CONNS) {
        LC_WARN("demo: %d connections open; refusing another", DEMO_MAX_CONNS);
        close(fd);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->d = d;
    c->id = ++d->next_id;
    c->tls = tls;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        char ip[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(s4->sin_port));
    } else {
        snprintf(c->peer, sizeof(c->peer), "?");
    }
    TAILQ_INSERT_TAIL(&d->conns, c, link);
    d->nconns++;
    hdrs_init(&c->req);
    hdrs_init(&c->trailers);
    http1_init(&c->rx, HTTP1_REQUEST, &c->req, &c->trailers, on_req_chunk, c);
    c->rx.max_head = DEMO_MAX_HEAD;
    c->rx.max_fields = DEMO_MAX_FIELDS;
    buf_putc(&c->target, '/');
    buf_putc(&c->target, '\0');
    c->path = c->target.p;
    c->query = c->target.p + 1;
    c->deadline = evtimer_new(d->base, on_deadline, c);
    c->work = evtimer_new(d->base, on_work, c);
    if (c->deadline == NULL || c->work == NULL)
        goto fail;
    if (tls) {
        static const char *const extra[] = {"demo.lucent"};
        SSL *ssl = tls_server_ssl(d->tls, "127.0.0.1", extra, 1, err, sizeof(err));
        if (ssl == NULL) {
            LC_WARN("demo: %s", err);
            goto fail;
        }
        c->bev = bufferevent_openssl_socket_new(d->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE);
        fd = -1; /* libevent's now; on failure it may have closed it and freed ssl already */
        if (c->bev == NULL)
            goto fail;
        bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        c->state = DC_HANDSHAKE;
        arm(c, DEMO_HANDSHAKE_SECS);
    } else {
        c->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (c->bev == NULL)
            goto fail;
        fd = -1;
        c->state = DC_HEAD;
        arm(c, DEMO_HEAD_SECS);
    }
    struct timeval wtv = {DEMO_WRITE_SECS, 0};
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_set_timeouts(c->bev, NULL, &wtv);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    LC_DEBUG("demo c%" PRIu64 ": %s connection from %s", c->id, tls ? "HTTPS" : "HTTP", c->peer);
    return;

fail:
    if (fd != -1)
        close(fd);
    dc_free(c);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    int e = EVUTIL_SOCKET_ERROR();
    LC_WARN("demo: accept: %s", evutil_socket_error_to_string(e));
}

/* ---- the thread -------------------------------------------------------------- */

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct demo *d = arg;
    event_base_loopbreak(d->base);
}

static void *run(void *arg)
{
    struct demo *d = arg;
    event_base_dispatch(d->base);
    return NULL;
}

static int listen_on(struct demo *d, int i, uint16_t port, char *err, size_t errlen)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only, always */
    d->listener[i] = evconnlistener_new_bind(
        d->base, on_accept, d, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        128, (struct sockaddr *)&sin, sizeof(sin));
    if (d->listener[i] == NULL) {
        snprintf(err, errlen, "demo site: cannot listen on 127.0.0.1:%u: %s", port,
                 strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(d->listener[i], on_accept_error);
    struct sockaddr_in bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(evconnlistener_get_fd(d->listener[i]), (struct sockaddr *)&bound, &blen) ==
        -1) {
        snprintf(err, errlen, "demo site: getsockname: %s", strerror(errno));
        return -1;
    }
    d->port[i] = ntohs(bound.sin_port);
    return 0;
}

struct demo *demo_start(struct tls *tls, uint16_t port, char *err, size_t errlen)
{
    static const char *const seed[] = {"apples", "bread", "coffee"};
    struct demo *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        snprintf(err, errlen, "demo site: out of memory");
        return NULL;
    }
    d->stop_fds[0] = d->stop_fds[1] = -1;
    TAILQ_INIT(&d->conns);
    d->tls = tls;
    d->started = time(NULL);
    d->next_item = 1;
    snprintf(d->etag, sizeof(d->etag), "\"demo-%llx\"", (unsigned long long)d->started);
    for (size_t i = 0; i < LC_ARRAY_LEN(seed); i++) {
        d->items[i].id = d->next_item++;
        d->items[i].name = strdup(seed[i]);
        if (d->items[i].name == NULL) {
            snprintf(err, errlen, "demo site: out of memory");
            goto fail;
        }
        d->nitems++;
    }
    if (port == 65535) {
        snprintf(err, errlen, "demo site: port %u leaves no port for HTTPS (port + 1)", port);
        goto fail;
    }
    d->base = event_base_new();
    if (d->base == NULL) {
        snprintf(err, errlen, "demo site: cannot create an event loop");
        goto fail;
    }
    /* a pipe, not evthread locking: the loop stays lock-free */
    if (pipe(d->stop_fds) == -1) {
        snprintf(err, errlen, "demo site: pipe: %s", strerror(errno));
        goto fail;
    }
    fcntl(d->stop_fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(d->stop_fds[1], F_SETFD, FD_CLOEXEC);
    d->stop_ev = event_new(d->base, d->stop_fds[0], EV_READ, on_stop, d);
    if (d->stop_ev == NULL || event_add(d->stop_ev, NULL) != 0) {
        snprintf(err, errlen, "demo site: cannot watch the stop pipe");
        goto fail;
    }
    if (listen_on(d, 0, port, err, errlen) < 0 ||
        listen_on(d, 1, port ? (uint16_t)(port + 1) : 0, err, errlen) < 0)
        goto fail;
    if (pthread_create(&d->thread, NULL, run, d) != 0) {
        snprintf(err, errlen, "demo site: cannot start its thread");
        goto fail;
    }
    d->running = true;
    return d;

fail:
    demo_stop(d);
    return NULL;
}

void demo_ports(const struct demo *d, uint16_t *http_port, uint16_t *https_port)
{
    *http_port = d->port[0];
    *https_port = d->port[1];
}

void demo_stop(struct demo *d)
{
    struct dconn *c;
    if (d == NULL)
        return;
    if (d->running) {
        ssize_t rc = write(d->stop_fds[1], "x", 1);
        (void)rc; /* a full pipe already says stop */
        pthread_join(d->thread, NULL);
        d->running = false;
    }
    while ((c = TAILQ_FIRST(&d->conns)) != NULL)
        dc_free(c);
    for (int i = 0; i < 2; i++)
        if (d->listener[i] != NULL)
            evconnlistener_free(d->listener[i]);
    if (d->stop_ev != NULL)
        event_free(d->stop_ev);
    if (d->base != NULL)
        event_base_free(d->base);
    for (int i = 0; i < 2; i++)
        if (d->stop_fds[i] != -1)
            close(d->stop_fds[i]);
    for (size_t i = 0; i < d->nitems; i++)
        free(d->items[i].name);
    free(d);
}
