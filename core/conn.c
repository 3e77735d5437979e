/* SPDX-License-Identifier: MIT */
/* conn: HTTP/1.1 exchanges between one client and its upstreams.
 *
 * One exchange at a time: read a request head (the reader stops right after
 * it), open or reuse the upstream connection, send the rewritten head, then
 * stream the request body up and the response down. Bodies with a length
 * (or delimited by EOF) are moved between evbuffers without copying;
 * chunked ones are de-chunked by http1 and re-chunked here. When the
 * response is complete and both sides allow it, the connection goes back to
 * reading heads, first from bytes already buffered (pipelining).
 *
 * Must not: block, buffer a whole body, parse beyond the current exchange,
 * or free a conn while one of its callbacks is on the stack. */
#include "core/conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/conn_int.h"
#include "core/log.h"
#include "core/cache.h"
#include "core/onboard.h"
#include "core/pause.h"
#include "core/scache.h"
#include "core/script.h"
#include "ca/ca.h"
#include "core/tls.h"
#include "core/upstream.h"
#include "core/worker.h"

static uint64_t next_conn_id = 1; /* per process; workers differ by thread, ids need not be dense */

static void on_client_read(struct bufferevent *bev, void *arg);
static void on_client_write(struct bufferevent *bev, void *arg);
static void on_client_event(struct bufferevent *bev, short what, void *arg);
static void on_up_read(struct bufferevent *bev, void *arg);
static void on_up_write(struct bufferevent *bev, void *arg);
static void on_up_event(struct bufferevent *bev, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void on_req_chunk(void *arg, const char *p, size_t len);
static void on_resp_chunk(void *arg, const char *p, size_t len);
static void client_parse(struct conn *c);
static void response_done(struct conn *c);
static void pump_request(struct conn *c);
static void pump_response(struct conn *c);
static void request_go(struct conn *c);
static void response_hooks(struct conn *c);
static void response_hook(struct conn *c);
static void local_reply(struct conn *c);

/* ---- lifetime ---------------------------------------------------------- */

/* Ends an upstream TLS session with close_notify: OpenSSL will not resume a
 * session whose connection was merely dropped. */
static void tls_goodbye(struct bufferevent *bev)
{
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    if (ssl != NULL && SSL_is_init_finished(ssl)) {
        SSL_shutdown(ssl);
        ERR_clear_error();
    }
}

static void free_upstream(struct conn *c)
{
    if (c->pending) {
        upstream_cancel(c->pending);
        c->pending = NULL;
    }
    if (c->ubev) {
        tls_goodbye(c->ubev);
        bufferevent_free(c->ubev);
        c->ubev = NULL;
    }
    c->up_key[0] = '\0';
    c->up_paused = false;
}

static void conn_free(struct conn *c)
{
    struct worker *w = c->w;
    TAILQ_REMOVE(&w->conns, c, link);
    w->nconns--;
    free_upstream(c);
    if (c->cbev)
        bufferevent_free(c->cbev);
    if (c->timer)
        event_free(c->timer);
    if (c->hook_timer)
        event_free(c->hook_timer);
    if (c->tunnel_poll)
        event_free(c->tunnel_poll);
    if (c->paused && c->flow)
        pauses_remove(c->w->pauses, c->flow->id);
    flow_unref(c->flow);
    hook_ctx_free(&c->hc);
    buf_free(&c->path_store);
    if (c->sc_entry)
        scache_unref(c->w->scache, c->sc_entry);
    buf_free(&c->sc_body);
    http1_free(&c->crx);
    http1_free(&c->urx);
    hdrs_free(&c->req_h);
    hdrs_free(&c->scratch);
    buf_free(&c->out_head);
    free(c->server_cert);
    free(c->origin_cert);
    free(c->minted_cert);
    free(c->up_tls_error);
    LC_DEBUG("c%" PRIu64 ": closed", c->id);
    free(c);
}

void conn_hold(struct conn *c)
{
    c->holds++;
}

bool conn_is_tls(struct bufferevent *bev)
{
    return bev != NULL && bufferevent_openssl_get_ssl(bev) != NULL;
}

void conn_flush(struct bufferevent *bev)
{
    struct evbuffer *out;
    /* TLS bevs encrypt and write as soon as output is added */
    if (bev == NULL || conn_is_tls(bev) || (bufferevent_get_enabled(bev) & EV_WRITE))
        return; /* libevent is already on it */
    out = bufferevent_get_output(bev);
    if (evbuffer_get_length(out) == 0)
        return;
    /* bufferevents freeze the front of their output for the user; this is
     * the same write libevent would do one loop turn later */
    evbuffer_unfreeze(out, 1);
    evbuffer_write(out, bufferevent_getfd(bev));
    evbuffer_freeze(out, 1);
    /* the rest (or the error, found on libevent's own attempt) is libevent's */
    if (evbuffer_get_length(out) > 0)
        bufferevent_enable(bev, EV_WRITE);
}

/* For an upstream OpenSSL bev: decrypts what its buffer BIO already holds
 * (see intercept_upstream_tls), which libevent does not know is there. */
static size_t tls_read_more(struct bufferevent *bev, size_t budget)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    BIO *rbio = SSL_get_rbio(ssl);
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t got = 0;

    if (rbio == NULL || BIO_next(rbio) == NULL || !SSL_is_init_finished(ssl))
        return 0; /* not ours (the client side is a filter) */
    while (got < budget && (SSL_has_pending(ssl) || BIO_pending(rbio) > 0)) {
        struct evbuffer_iovec v;
        size_t want = budget - got < 65536 ? budget - got : 65536;
        if (evbuffer_reserve_space(in, (ev_ssize_t)want, &v, 1) < 1)
            break;
        int n = SSL_read(ssl, v.iov_base, (int)(v.iov_len < want ? v.iov_len : want));
        if (n <= 0) {
            /* WANT_READ (a partial record), EOF or an error: libevent's next
             * read sees the same and reports it */
            v.iov_len = 0;
            evbuffer_commit_space(in, &v, 1);
            ERR_clear_error();
            break;
        }
        v.iov_len = (size_t)n;
        evbuffer_commit_space(in, &v, 1);
        got += (size_t)n;
    }
    return got;
}

size_t conn_read_more(struct bufferevent *bev, size_t budget)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t got = 0;
    int fd = bufferevent_getfd(bev);

    if (conn_is_tls(bev))
        return (bufferevent_get_enabled(bev) & EV_READ) ? tls_read_more(bev, budget) : 0;
    if (!(bufferevent_get_enabled(bev) & EV_READ))
        return 0;
    evbuffer_unfreeze(in, 0); /* the end of a bufferevent's input is frozen for the user */
    while (got < budget) {
        struct evbuffer_iovec v[2];
        struct iovec iov[2];
        size_t want = budget - got < 262144 ? budget - got : 262144;
        int nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
        if (nv <= 0)
            break;
        size_t room = 0;
        for (int i = 0; i < nv; i++) {
            iov[i].iov_base = v[i].iov_base;
            iov[i].iov_len = v[i].iov_len;
            room += v[i].iov_len;
        }
        ssize_t r = readv(fd, iov, nv);
        if (r <= 0) {
            /* EOF, EAGAIN or an error: libevent's next read finds and reports it */
            evbuffer_commit_space(in, v, 0);
            break;
        }
        size_t left = (size_t)r;
        for (int i = 0; i < nv; i++) {
            if (v[i].iov_len > left)
                v[i].iov_len = left;
            left -= v[i].iov_len;
        }
        evbuffer_commit_space(in, v, nv);
        got += (size_t)r;
        if ((size_t)r < room)
            break; /* the socket is empty */
    }
    evbuffer_freeze(in, 0);
    return got;
}

bool conn_backed_up(struct bufferevent *dst, struct bufferevent *src, bool *paused)
{
    if (evbuffer_get_length(bufferevent_get_output(dst)) < CONN_HIGH_WATER)
        return false;
    conn_flush(dst);
    if (evbuffer_get_length(bufferevent_get_output(dst)) < CONN_HIGH_WATER)
        return false;
    if (!*paused) {
        *paused = true;
        bufferevent_disable(src, EV_READ);
        bufferevent_setwatermark(dst, EV_WRITE, CONN_HIGH_WATER / 2, 0);
    }
    return true;
}

bool conn_drained(struct bufferevent *dst, struct bufferevent *src, bool *paused)
{
    bool resumed = false;
    if (*paused) {
        *paused = false;
        bufferevent_setwatermark(dst, EV_WRITE, 0, 0);
        if (src)
            bufferevent_enable(src, EV_READ);
        resumed = true;
    }
    /* (an OpenSSL bev only writes while EV_WRITE is on: leave it on) */
    if (evbuffer_get_length(bufferevent_get_output(dst)) == 0 && !conn_is_tls(dst))
        bufferevent_disable(dst, EV_WRITE);
    return resumed;
}

void conn_release(struct conn *c)
{
    if (--c->holds > 0)
        return;
    if (c->closing) {
        conn_free(c);
        return;
    }
    /* everything this callback queued goes out now, not a loop turn later */
    conn_flush(c->ubev);
    conn_flush(c->cbev);
}

void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    /* stop every callback now; the memory goes at the last release */
    if (c->cbev)
        bufferevent_disable(c->cbev, EV_READ | EV_WRITE);
    if (c->ubev)
        bufferevent_disable(c->ubev, EV_READ | EV_WRITE);
    if (c->timer)
        event_del(c->timer);
    if (c->hook_timer)
        event_del(c->hook_timer);
    if (c->tunnel_poll)
        event_del(c->tunnel_poll);
    if (c->holds == 0)
        conn_free(c);
}

void conn_finish_flow(struct conn *c)
{
    struct flow *f = c->flow;
    if (f == NULL)
        return;
    c->flow = NULL;
    f->t_end = flow_now_us();
    /* the cache lab's verdict is made by whoever shows it (cache_flow_tag,
     * flowlog): here only the moment it is made for, off the hot path */
    if (f->status != 0 && !f->connect)
        f->cache_at = flow_wall_us() / 1000000;
    if (f->cache_status[0]) { /* lucent's own cache: "hit", "miss", "revalidated", "bypass" */
        size_t i = 0;
        for (; f->cache_status[i] && f->cache_status[i] != ' ' && i + 1 < sizeof(f->cache); i++)
            f->cache[i] = (char)(f->cache_status[i] | 0x20);
        f->cache[i] = '\0';
    }
    if (f->tls && f->wire == NULL)
        intercept_wire(c, f);
    struct scripts *s = c->w->scripts;
    if (s != NULL) {
        if (c->hc.flow != f)
            hook_ctx_reset(&c->hc, f, &c->target, &c->path_store, c->w->opts->body_limit);
        if (f->error && scripts_want(s, HOOK_ERROR))
            scripts_run(s, HOOK_ERROR, &c->hc);
        if (scripts_want(s, HOOK_DONE))
            scripts_run(s, HOOK_DONE, &c->hc);
        c->hc.flow = NULL;
        scripts_note_response(s, f);
        scripts_flow_end(s, f->id);
    }
    f->state = FLOW_DONE;
    bus_publish(c->w->bus, f);
    flow_unref(f);
}

void conn_destroy(struct conn *c, const char *why)
{
    if (c->flow) {
        flow_fail(c->flow, "%s", why);
        conn_finish_flow(c);
    }
    conn_free(c);
}

/* ---- capture ------------------------------------------------------------ */

/* Keeps body bytes in the flow for viewers and HAR (when capturing is on),
 * up to --body-limit per body and the process-wide budget (flow.h). */
static bool tee_room(struct conn *c, size_t n)
{
    if (c->sc_body.len + n <= scache_max_object(c->w->scache))
        return true;
    c->sc_tee = false; /* too big to store: stop collecting */
    buf_free(&c->sc_body);
    if (c->flow)
        snprintf(c->flow->cache_status, sizeof(c->flow->cache_status),
                 "BYPASS (too big for --cache-size)");
    return false;
}

static void capture(struct conn *c, bool req, const void *p, size_t n)
{
    if (!req && c->sc_tee && tee_room(c, n)) /* for lucent's own cache */
        buf_append(&c->sc_body, p, n);
    if (!c->w->opts->capture || c->flow == NULL || n == 0)
        return;
    n = flow_capture_take(c->flow, req, n, c->w->opts->body_limit);
    if (n > 0)
        buf_append(req ? &c->flow->req_body : &c->flow->resp_body, p, n);
}

/* The same for the first n bytes of an evbuffer about to be moved on. */
static void capture_ev(struct conn *c, bool req, struct evbuffer *src, size_t n)
{
    if (!req && c->sc_tee && n > 0 && tee_room(c, n)) {
        buf_reserve(&c->sc_body, n);
        evbuffer_copyout(src, c->sc_body.p + c->sc_body.len, n);
        c->sc_body.len += n;
        c->sc_body.p[c->sc_body.len] = '\0';
    }
    if (!c->w->opts->capture || c->flow == NULL || n == 0)
        return;
    n = flow_capture_take(c->flow, req, n, c->w->opts->body_limit);
    if (n == 0)
        return;
    struct buf *b = req ? &c->flow->req_body : &c->flow->resp_body;
    buf_reserve(b, n);
    evbuffer_copyout(src, b->p + b->len, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void capture_reset(struct conn *c, bool req)
{
    if (!req)
        buf_reset(&c->sc_body);
    if (c->flow != NULL)
        flow_capture_reset(c->flow, req);
}

/* ---- timers ------------------------------------------------------------ */

static void arm_idle(struct conn *c)
{
    c->header_timer = false;
    evtimer_add(c->timer, &c->w->tv_idle);
}

static void arm_header(struct conn *c)
{
    c->header_timer = true;
    evtimer_add(c->timer, &c->w->tv_header);
}

/* Bytes still to go to the client (for TLS, ciphertext too). */
static size_t client_pending(struct conn *c)
{
    size_t n = evbuffer_get_length(bufferevent_get_output(c->cbev));
    struct bufferevent *under = bufferevent_get_underlying(c->cbev);
    if (under)
        n += evbuffer_get_length(bufferevent_get_output(under));
    return n;
}

static const struct timeval drain_poll = {0, 10000};

/* Client output flushed, then close; bounded by the idle timeout. */
static void drain_and_close(struct conn *c)
{
    c->state = CONN_DRAINING;
    free_upstream(c);
    bufferevent_disable(c->cbev, EV_READ);
    tls_goodbye(c->cbev); /* close_notify, so the client knows nothing was cut off */
    conn_flush(c->cbev);
    if (client_pending(c) == 0) {
        conn_close(c);
        return;
    }
    c->header_timer = false;
    c->drain_deadline =
        flow_now_us() + (int64_t)c->w->tv_idle.tv_sec * 1000000 + c->w->tv_idle.tv_usec;
    /* a TLS filter's ciphertext drains without telling us: look again soon */
    evtimer_add(c->timer, bufferevent_get_underlying(c->cbev) ? &drain_poll : &c->w->tv_idle);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (c->state == CONN_DRAINING) {
        if (client_pending(c) > 0 && flow_now_us() < c->drain_deadline)
            evtimer_add(c->timer, &drain_poll);
        else
            conn_close(c);
    } else if (c->state == CONN_PEEK || c->state == CONN_HANDSHAKE) {
        intercept_timeout(c);
    } else if (c->state == CONN_REQ_BODY) {
        conn_reply_error(c, 408, "request body not received: the client was silent for %g s",
                         c->w->opts->idle_timeout);
    } else if (c->state == CONN_READ_HEAD) {
        if (c->header_timer && http1_started(&c->crx))
            conn_reply_error(c, 408, "request head not received within %g s",
                             c->w->opts->header_timeout);
        else
            conn_close(c); /* idle keep-alive connection */
    }
    conn_release(c);
}

/* ---- accept ------------------------------------------------------------ */

void conn_accept(struct worker *w, evutil_socket_t fd, const struct sockaddr *sa)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->id = __atomic_fetch_add(&next_conn_id, 1, __ATOMIC_RELAXED);
    c->w = w;
    upstream_format_addr(sa, c->client_addr, sizeof(c->client_addr));
    hdrs_init(&c->req_h);
    hdrs_init(&c->scratch);
    TAILQ_INSERT_TAIL(&w->conns, c, link);
    w->nconns++;

    c->cbev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(w->base, on_timer, c);
    if (c->cbev == NULL || c->timer == NULL) {
        if (c->cbev == NULL)
            evutil_closesocket(fd);
        conn_free(c);
        return;
    }
    http1_init(&c->crx, HTTP1_REQUEST, &c->req_h, &c->req_h, on_req_chunk, c);
    c->crx.max_head = w->opts->max_header_size;
    c->crx.max_fields = w->opts->max_headers;
    /* response heads are the origin's business; only guard against abuse */
    http1_init(&c->urx, HTTP1_RESPONSE, &c->scratch, &c->scratch, on_resp_chunk, c);
    c->urx.max_head = 1024 * 1024;
    c->urx.max_fields = 10000;
    bufferevent_setcb(c->cbev, on_client_read, on_client_write, on_client_event, c);
    /* bound what a pipelining client can park in our input buffer */
    bufferevent_setwatermark(c->cbev, EV_READ, 0, CONN_HIGH_WATER);
    bufferevent_set_max_single_read(c->cbev, CONN_HIGH_WATER);
    bufferevent_set_max_single_write(c->cbev, CONN_HIGH_WATER);
    bufferevent_enable(c->cbev, EV_READ); /* EV_WRITE only while output is pending */
    c->state = CONN_READ_HEAD;
    arm_idle(c);
    LC_DEBUG("c%" PRIu64 ": accepted %s", c->id, c->client_addr);
}

/* ---- error replies ----------------------------------------------------- */

static const char *status_reason(int status)
{
    const char *r = hook_reason(status);
    return r[0] ? r : "Error";
}

/* Ensures a flow exists for an error found before the head was complete. */
static void ensure_flow(struct conn *c)
{
    if (c->flow)
        return;
    c->flow = flow_new(flow_next_id());
    if (c->flow == NULL)
        return;
    memset(&c->target, 0, sizeof(c->target)); /* hooks may read it: nothing stale */
    snprintf(c->flow->client, sizeof(c->flow->client), "%s", c->client_addr);
    if (c->crx.method)
        snprintf(c->flow->method, sizeof(c->flow->method), "%s", c->crx.method);
    if (c->crx.target.len > 0)
        flow_set_url(c->flow, c->crx.target.p, c->crx.target.len);
    hdrs_copy(&c->flow->req_headers, &c->req_h);
}

/* Answers with lucent's own error (when nothing was sent yet for this
 * exchange; otherwise the client connection is cut), records it in the
 * flow, and closes the connection once the reply is out. */
void conn_reply_error(struct conn *c, int status, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    ensure_flow(c);
    if (c->flow) {
        flow_fail(c->flow, "%s", msg);
        if (!c->sent_to_client) {
            c->flow->status = status;
            c->flow->local_reply = true;
            flow_set_reason(c->flow, status_reason(status), strlen(status_reason(status)));
            hdrs_clear(&c->flow->resp_headers);
        }
    }
    LC_INFO("c%" PRIu64 ": %d %s", c->id, status, msg);
    free_upstream(c);
    if (c->sent_to_client) {
        conn_finish_flow(c);
        conn_close(c);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->cbev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %zu\r\nConnection: close\r\n\r\nlucent: %s\n",
                        status, status_reason(status), strlen(msg) + 9, msg);
    if (c->flow) {
        c->flow->resp_size = strlen(msg) + 9;
        c->flow->t_resp_start = flow_now_us();
        capture_reset(c, false);
        capture(c, false, "lucent: ", 8);
        capture(c, false, msg, strlen(msg));
        capture(c, false, "\n", 1);
    }
    c->sent_to_client = true;
    conn_finish_flow(c);
    drain_and_close(c);
}

/* The exchange failed after bytes went to the client: record and cut. */
static void abort_exchange(struct conn *c, const char *fmt, ...) LC_PRINTF(2, 3);
static void abort_exchange(struct conn *c, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->flow)
        flow_fail(c->flow, "%s", msg);
    LC_INFO("c%" PRIu64 ": %s", c->id, msg);
    conn_finish_flow(c);
    free_upstream(c);
    conn_close(c);
}

/* ---- writing heads ----------------------------------------------------- */

static void put_hdrs(struct evbuffer *out, const struct hdrs *h)
{
    for (size_t i = 0; i < h->n; i++) {
        size_t nl, vl;
        const char *n = hdrs_name(h, i, &nl);
        const char *v = hdrs_value(h, i, &vl);
        evbuffer_add(out, n, nl);
        evbuffer_add(out, ": ", 2);
        evbuffer_add(out, v, vl);
        evbuffer_add(out, "\r\n", 2);
    }
}

/* Builds the request head lucent sends upstream into c->out_head. */
static void build_request_head(struct conn *c)
{
    struct hdrs *h = &c->scratch;
    struct buf *b = &c->out_head;
    char auth[URL_HOST_MAX + 10];
    size_t alen = url_authority(&c->target, false, auth, sizeof(auth));

    hdrs_copy(h, &c->flow->req_headers);
    hdrs_strip_hop_by_hop(h, c->upgrade_req);
    if (c->expect_continue || c->continue_sent)
        hdrs_remove(h, "Expect", 6);
    if (c->sc_cond) { /* revalidating what lucent's cache holds */
        size_t len;
        const char *v = hdrs_get(&c->sc_entry->headers, "ETag", &len);
        if (v)
            hdrs_add(h, "If-None-Match", 13, v, len);
        if ((v = hdrs_get(&c->sc_entry->headers, "Last-Modified", &len)) != NULL)
            hdrs_add(h, "If-Modified-Since", 17, v, len);
    }
    if (!c->hc.host_set) /* a script's own Host stays (virtual hosts behind a map remote) */
        hdrs_set(h, "Host", auth, alen);
    if (c->req_buffered || (c->hc.req.replaced && c->req_body == HTTP1_BODY_NONE)) {
        /* the whole body is in hand (scripts): say its length */
        char cl[24];
        int n = snprintf(cl, sizeof(cl), "%zu", c->hc.req.raw.len);
        c->chunk_up = false;
        c->req_buffered = true;
        hdrs_set(h, "Content-Length", cl, (size_t)n); /* where it was, or last */
    }
    if (c->chunk_up)
        hdrs_add(h, "Transfer-Encoding", 17, "chunked", 7);

    buf_reset(b);
    buf_puts(b, c->flow->method);
    buf_putc(b, ' ');
    if (c->target.path_len == 0 || c->target.path[0] != '/')
        buf_putc(b, '/');
    buf_append(b, c->target.path, c->target.path_len);
    buf_puts(b, " HTTP/1.1\r\n");
    for (size_t i = 0; i < h->n; i++) {
        size_t nl, vl;
        const char *n = hdrs_name(h, i, &nl);
        const char *v = hdrs_value(h, i, &vl);
        buf_append(b, n, nl);
        buf_append(b, ": ", 2);
        buf_append(b, v, vl);
        buf_append(b, "\r\n", 2);
    }
    buf_append(b, "\r\n", 2);
}

/* Writes the response head (final or interim) to the client. */
static void write_response_head(struct conn *c, bool interim)
{
    struct flow *f = c->flow;
    struct hdrs *h = &c->scratch;
    struct evbuffer *out = bufferevent_get_output(c->cbev);
    bool upgrading = f->status == 101 && c->upgrade_req;

    hdrs_copy(h, &f->resp_headers);
    hdrs_strip_hop_by_hop(h, upgrading);
    if (!interim && c->resp_fixed_len) {
        char cl[24];
        int n = snprintf(cl, sizeof(cl), "%zu", c->hc.resp.raw.len);
        hdrs_set(h, "Content-Length", cl, (size_t)n);
    }
    if (!interim && !upgrading) {
        /* re-chunked by lucent; or a HEAD answer that says what upstream sent */
        if (c->chunk_down ||
            (c->resp_body == HTTP1_BODY_NONE && c->urx.chunked && !c->client_http10))
            hdrs_add(h, "Transfer-Encoding", 17, "chunked", 7);
        if (!c->client_keep)
            hdrs_add(h, "Connection", 10, "close", 5);
        else if (c->client_http10)
            hdrs_add(h, "Connection", 10, "keep-alive", 10);
    }
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", f->status, f->reason ? f->reason : "");
    put_hdrs(out, h);
    evbuffer_add(out, "\r\n", 2);
    c->sent_to_client = true;
}

static void write_trailers(struct evbuffer *out, const struct hdrs *t)
{
    evbuffer_add(out, "0\r\n", 3);
    put_hdrs(out, t);
    evbuffer_add(out, "\r\n", 2);
}

/* ---- starting an exchange ---------------------------------------------- */

void conn_send_request(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->ubev);
    evbuffer_add(out, c->out_head.p, c->out_head.len);
    if (c->req_buffered) {
        evbuffer_add(out, c->hc.req.raw.p, c->hc.req.raw.len);
        c->flow->req_size = c->hc.req.raw.len;
        capture_reset(c, true); /* a retry sends it again */
        capture(c, true, c->hc.req.raw.p, c->hc.req.raw.len);
    } else if (c->req_prefix && c->hc.req.raw.len > 0) {
        capture_reset(c, true);
        capture(c, true, c->hc.req.raw.p, c->hc.req.raw.len);
        /* the start of a body that streams: read before the hooks ran */
        if (c->chunk_up)
            evbuffer_add_printf(out, "%zx\r\n", c->hc.req.raw.len);
        evbuffer_add(out, c->hc.req.raw.p, c->hc.req.raw.len);
        if (c->chunk_up)
            evbuffer_add(out, "\r\n", 2);
    }
    if (c->expect_continue && !c->sent_to_client && !c->continue_sent)
        evbuffer_add(bufferevent_get_output(c->cbev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    c->state = CONN_EXCHANGE;
    c->flow->state = FLOW_UPSTREAM;
    http1_next(&c->urx, &c->flow->resp_headers, &c->flow->resp_trailers);
    bufferevent_setcb(c->ubev, on_up_read, on_up_write, on_up_event, c);
    bufferevent_enable(c->ubev, conn_is_tls(c->ubev) ? EV_READ | EV_WRITE : EV_READ);
    bufferevent_set_timeouts(c->ubev, NULL, NULL);
    bufferevent_enable(c->cbev, EV_READ);
    pump_request(c);
}

static void start_connect(struct conn *c);

static void on_upstream_ready(void *arg, struct bufferevent *bev, const char *peer, int status,
                              const char *err)
{
    struct conn *c = arg;
    conn_hold(c);
    c->pending = NULL;
    if (bev == NULL) {
        conn_reply_error(c, status, "%s", err);
        goto out;
    }
    c->ubev = bev;
    bufferevent_set_max_single_read(bev, CONN_HIGH_WATER);
    bufferevent_set_max_single_write(bev, CONN_HIGH_WATER);
    int one = 1;
    setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    snprintf(c->up_peer, sizeof(c->up_peer), "%s", peer);
    snprintf(c->flow->server, sizeof(c->flow->server), "%s", peer);
    c->flow->t_connected = flow_now_us();
    LC_DEBUG("c%" PRIu64 " f%" PRIu64 ": connected to %s (%s)", c->id, c->flow->id, c->up_key,
             peer);
    if (c->flow->connect) {
        static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
        c->flow->status = 200;
        c->flow->local_reply = true;
        flow_set_reason(c->flow, "Connection established", 22);
        c->flow->t_resp_start = flow_now_us();
        evbuffer_add(bufferevent_get_output(c->cbev), ok, sizeof(ok) - 1);
        c->sent_to_client = true;
        if (c->w->tls)
            intercept_peek(c);
        else
            tunnel_start(c);
        goto out;
    }
    if (strcmp(c->target.scheme, "https") == 0) {
        intercept_upstream_tls(c); /* then conn_send_request() */
        goto out;
    }
    conn_send_request(c);
out:
    conn_release(c);
}

static void start_connect(struct conn *c)
{
    free_upstream(c);
    snprintf(c->up_key, sizeof(c->up_key), "%s:%u", c->target.host, c->target.port);
    c->state = CONN_CONNECTING;
    bufferevent_disable(c->cbev, EV_READ);
    c->pending = upstream_connect(c->w, c->target.host, c->target.port, on_upstream_ready, c);
    if (c->pending == NULL)
        conn_reply_error(c, 502, "cannot connect to %s: out of memory", c->up_key);
}

void conn_serve_requests(struct conn *c)
{
    c->state = CONN_READ_HEAD;
    c->sent_to_client = false;
    hdrs_clear(&c->req_h);
    http1_next(&c->crx, &c->req_h, &c->req_h);
    bufferevent_setcb(c->cbev, on_client_read, on_client_write, on_client_event, c);
    bufferevent_enable(c->cbev, conn_is_tls(c->cbev) ? EV_READ | EV_WRITE : EV_READ);
    if (c->ubev) { /* kept for the requests to come; idle until then */
        bufferevent_setcb(c->ubev, on_up_read, on_up_write, on_up_event, c);
        bufferevent_enable(c->ubev, EV_READ);
    }
    arm_idle(c);
    if (evbuffer_get_length(bufferevent_get_input(c->cbev)) > 0)
        client_parse(c);
}

/* Answers a request for http://lucent.proxy/ from lucent itself. */
static void serve_onboarding(struct conn *c)
{
    struct onboard_reply r;
    struct evbuffer *out = bufferevent_get_output(c->cbev);
    char len[32];

    onboard_reply(tls_ca(c->w->tls), c->target.path, c->target.path_len, &r);
    struct flow *f = c->flow;
    f->status = r.status;
    f->local_reply = true;
    flow_set_reason(f, r.reason, strlen(r.reason));
    f->t_connected = f->t_resp_start = flow_now_us();
    snprintf(len, sizeof(len), "%zu", r.body.len);
    hdrs_add(&f->resp_headers, "Content-Type", 12, r.content_type, strlen(r.content_type));
    hdrs_add(&f->resp_headers, "Content-Length", 14, len, strlen(len));
    if (r.disposition)
        hdrs_add(&f->resp_headers, "Content-Disposition", 19, r.disposition, strlen(r.disposition));
    hdrs_add(&f->resp_headers, "Cache-Control", 13, "no-store", 8);
    c->resp_body = HTTP1_BODY_LENGTH;
    c->req_done = c->req_body == HTTP1_BODY_NONE; /* a body sent here is not read: close after */
    c->state = CONN_EXCHANGE;
    write_response_head(c, false);
    if (!c->head_request) {
        evbuffer_add(out, r.body.p, r.body.len);
        f->resp_size = r.body.len;
        capture(c, false, r.body.p, r.body.len);
    }
    buf_free(&r.body);
    c->up_keep = false;
    c->resp_done = false;
    response_done(c);
}

/* ---- scripts ---------------------------------------------------------- */

/* A delay or a viewer's hold is over: go on where the exchange stopped. */
static void hook_continue(struct conn *c)
{
    void (*next)(struct conn *) = c->after_delay;
    c->hook_wait = false;
    c->after_delay = NULL;
    if (next)
        next(c);
    /* bytes that came in before the hold wait in the buffers: no callback will say so */
    if (!c->closing && !c->hook_wait) {
        if (c->state == CONN_REQ_BODY) {
            bufferevent_enable(c->cbev, EV_READ);
            if (evbuffer_get_length(bufferevent_get_input(c->cbev)) > 0)
                on_client_read(c->cbev, c);
        } else if (c->state == CONN_EXCHANGE && c->ubev && c->resp_head_done && !c->resp_done) {
            if (!c->up_paused)
                bufferevent_enable(c->ubev, EV_READ);
            pump_response(c);
        }
    }
}

static void on_hook_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    hook_continue(c);
    conn_release(c);
}

static bool hooks_on(const struct conn *c)
{
    return c->w->scripts != NULL || pauses_active(c->w->pauses);
}

/* Holds the exchange for the viewer; `next` runs once it decides. */
static void pause_here(struct conn *c, int phase, void (*next)(struct conn *))
{
    struct buf text = BUF_INIT;
    if (phase == PAUSE_REQUEST)
        pause_text_request(&c->hc, &text);
    else
        pause_text_response(&c->hc, &text);
    c->paused = true;
    c->pause_phase = phase;
    c->hook_wait = true;
    c->after_delay = next;
    bufferevent_disable(c->cbev, EV_READ);
    if (c->ubev)
        bufferevent_disable(c->ubev, EV_READ);
    pauses_add(c->w->pauses, c->w->index, c->flow, (enum pause_phase)phase,
               text.p ? text.p : "", text.len);
    buf_free(&text);
    LC_DEBUG("c%" PRIu64 " f%" PRIu64 ": held by the viewer", c->id, c->flow->id);
}

void conn_pause_resolved(struct conn *c, int decision, const char *edit)
{
    char err[300];
    conn_hold(c);
    c->paused = false;
    if (decision == PAUSE_KILL) {
        abort_exchange(c, "killed from the viewer");
    } else {
        if (edit != NULL) {
            int rc = c->pause_phase == PAUSE_REQUEST
                         ? pause_apply_request(&c->hc, edit, err, sizeof(err))
                         : pause_apply_response(&c->hc, edit, err, sizeof(err));
            if (rc < 0)
                LC_WARN("flow %" PRIu64 ": the edit was not used: %s", c->flow->id, err);
        }
        hook_continue(c);
    }
    conn_release(c);
}

/* Runs hook h on the current exchange and acts on a kill or a delay.
 * Returns true when the caller must stop: the exchange is over, or `next`
 * runs when the delay is up. */
static bool run_hook(struct conn *c, enum hook h, void (*next)(struct conn *))
{
    scripts_run(c->w->scripts, h, &c->hc);
    if (c->hc.kill) {
        c->hc.kill = false;
        abort_exchange(c, "killed by script %s (flow:kill() in %s)", c->hc.killed_by,
                       hook_names[h]);
        return true;
    }
    if (c->hc.delay_ms <= 0)
        return false;
    int64_t ms = c->hc.delay_ms;
    c->hc.delay_ms = 0;
    if (c->hook_timer == NULL && (c->hook_timer = evtimer_new(c->w->base, on_hook_timer, c)) == NULL)
        return false; /* no memory for a timer: go on without the delay */
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    c->hook_wait = true;
    c->after_delay = next;
    bufferevent_disable(c->cbev, EV_READ);
    if (c->ubev)
        bufferevent_disable(c->ubev, EV_READ);
    evtimer_add(c->hook_timer, &tv);
    LC_DEBUG("c%" PRIu64 " f%" PRIu64 ": held %" PRId64 " ms by a script", c->id, c->flow->id, ms);
    return true;
}

static void after_connect_hook(struct conn *c)
{
    if (c->hc.respond) {
        c->client_keep = false; /* a refused tunnel: the connection ends with the reply */
        local_reply(c);
        return;
    }
    start_connect(c);
}

static void after_request_hook(struct conn *c)
{
    if (c->hc.respond) {
        local_reply(c);
        return;
    }
    if (c->icpt_req) {
        c->icpt_req = false;
        pause_here(c, PAUSE_REQUEST, after_request_hook);
        return;
    }
    request_go(c);
}

static void request_hook(struct conn *c)
{
    if (scripts_want(c->w->scripts, HOOK_REQUEST) &&
        run_hook(c, HOOK_REQUEST, after_request_hook))
        return;
    after_request_hook(c);
}

/* The request body is complete in hc.req.raw, or past the limit. */
static void request_buffered(struct conn *c, bool complete)
{
    c->req_buffering = false;
    evtimer_del(c->timer);
    bufferevent_disable(c->cbev, EV_READ);
    if (complete) {
        c->req_buffered = true;
        c->req_body = HTTP1_BODY_NONE; /* nothing more to read from the client */
        c->hc.req.present = true;
    } else {
        c->req_prefix = true;
        c->hc.req.streamed = true;
    }
    request_hook(c);
}

static void on_req_chunk_buffered(struct conn *c, const char *p, size_t len)
{
    buf_append(&c->hc.req.raw, p, len);
    c->flow->req_size += len;
}

/* Reads the request body into hc.req.raw (CONN_REQ_BODY). */
static void buffer_request(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->cbev);
    struct buf *raw = &c->hc.req.raw;
    size_t limit = c->hc.body_limit;

    conn_read_more(c->cbev, limit - (raw->len < limit ? raw->len : limit) + 1);
    while (!c->closing && c->req_buffering && evbuffer_get_length(in) > 0) {
        size_t avail = evbuffer_get_length(in);
        if (c->req_body == HTTP1_BODY_LENGTH) {
            size_t n = avail < c->req_left ? avail : (size_t)c->req_left;
            buf_reserve(raw, n);
            evbuffer_remove(in, raw->p + raw->len, n);
            raw->len += n;
            raw->p[raw->len] = '\0';
            c->req_left -= n;
            c->flow->req_size += n;
            if (c->req_left == 0) {
                request_buffered(c, true);
                return;
            }
        } else {
            size_t len = evbuffer_get_contiguous_space(in), used = 0;
            const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
            enum http1_rc rc = http1_feed(&c->crx, p, len, &used);
            evbuffer_drain(in, used);
            if (rc == HTTP1_ERROR) {
                conn_reply_error(c, 400, "bad request body: %s", c->crx.err);
                return;
            }
            if (rc == HTTP1_DONE) {
                request_buffered(c, true);
                return;
            }
        }
        if (raw->len > limit) {
            request_buffered(c, false);
            return;
        }
    }
    if (!c->closing && c->req_buffering)
        evtimer_add(c->timer, &c->w->tv_idle); /* the client owes us the rest */
}

static void after_requestheaders_hook(struct conn *c)
{
    struct hook_ctx *hc = &c->hc;
    if (hc->respond) {
        local_reply(c);
        return;
    }
    if ((scripts_want(c->w->scripts, HOOK_REQUEST) || c->icpt_req) &&
        c->req_body != HTTP1_BODY_NONE) {
        if (hc->req.stream || hc->body_limit == 0 || c->upgrade_req ||
            (c->req_body == HTTP1_BODY_LENGTH && c->req_left > hc->body_limit)) {
            hc->req.streamed = true;
        } else {
            c->state = CONN_REQ_BODY;
            c->req_buffering = true;
            if (c->expect_continue) { /* the client waits for a go-ahead before its body */
                evbuffer_add(bufferevent_get_output(c->cbev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
                c->continue_sent = true;
            }
            bufferevent_enable(c->cbev, EV_READ);
            buffer_request(c);
            return;
        }
    }
    request_hook(c);
}

/* --no-caching: nothing may be cached or revalidated, whoever answered. */
static void no_caching(struct conn *c)
{
    static const char *const gone[] = {"ETag", "Last-Modified", "Expires", "Pragma", "Age"};
    struct hdrs *h = &c->flow->resp_headers;
    if (!c->w->opts->no_caching)
        return;
    for (size_t i = 0; i < LC_ARRAY_LEN(gone); i++)
        hdrs_remove(h, gone[i], strlen(gone[i]));
    hdrs_set(h, "Cache-Control", "no-store", 8);
}

/* flow:respond(): lucent answers; the reply still passes the response hooks. */
static void local_reply(struct conn *c)
{
    no_caching(c);
    struct flow *f = c->flow;
    int64_t now = flow_now_us();

    c->hc.respond = false;
    if (f->t_connected == 0)
        f->t_connected = now;
    f->t_resp_start = now;
    f->state = FLOW_RESPONSE;
    /* a request body not read by now is not read at all: close after the reply */
    c->req_done = c->req_body == HTTP1_BODY_NONE;
    if (!c->req_done || f->connect)
        c->client_keep = false;
    c->up_keep = c->ubev != NULL; /* an idle upstream from an earlier exchange stays */
    c->resp_body = HTTP1_BODY_LENGTH;
    c->resp_left = 0;
    c->chunk_down = c->close_down = false;
    c->resp_head_done = true;
    c->resp_read_done = true;
    c->state = CONN_EXCHANGE;
    evtimer_del(c->timer);
    bufferevent_disable(c->cbev, EV_READ);
    response_hooks(c);
}

/* A complete request head has been read: make its flow and start it. */
static void start_request(struct conn *c)
{
    struct http1 *rx = &c->crx;
    char err[200];

    evtimer_del(c->timer);
    struct flow *f = flow_new(flow_next_id());
    if (f == NULL) {
        conn_close(c);
        return;
    }
    c->flow = f;
    snprintf(f->client, sizeof(f->client), "%s", c->client_addr);
    snprintf(f->method, sizeof(f->method), "%s", rx->method ? rx->method : "");
    f->req_major = rx->major;
    f->req_minor = rx->minor;
    /* the head's fields move into the flow; trailers go there directly */
    f->req_headers = c->req_h;
    hdrs_init(&c->req_h);
    rx->headers = &c->req_h;
    rx->trailers = &f->req_trailers;

    c->client_http10 = rx->major == 1 && rx->minor == 0;
    c->client_keep = rx->keep_alive;
    c->req_done = c->resp_head_done = c->resp_done = false;
    c->sent_to_client = c->retried = c->up_reused = false;
    c->chunk_up = c->chunk_down = c->close_down = false;
    c->client_paused = false;
    c->head_request = strcmp(f->method, "HEAD") == 0;
    c->upgrade_req = false;
    c->expect_continue = false;
    c->req_buffering = c->req_buffered = c->req_prefix = false;
    c->resp_buffering = c->resp_read_done = c->resp_fixed_len = false;
    c->continue_sent = false;
    c->icpt_req = c->icpt_resp = false;
    if (c->sc_entry) {
        scache_unref(c->w->scache, c->sc_entry);
        c->sc_entry = NULL;
    }
    c->sc_cond = c->sc_tee = false;
    buf_reset(&c->sc_body);
    c->flow->state = FLOW_REQUEST;
    memset(&c->target, 0, sizeof(c->target));
    buf_reset(&c->path_store);
    hook_ctx_reset(&c->hc, f, &c->target, &c->path_store, c->w->opts->body_limit);

    if (c->in_tunnel) {
        f->tls = c->tunnel_tls;
        snprintf(f->sni, sizeof(f->sni), "%s", c->sni);
        snprintf(f->tls_client, sizeof(f->tls_client), "%s", c->tls_client);
        snprintf(f->tls_server, sizeof(f->tls_server), "%s", c->tls_server);
        if (c->server_cert)
            flow_set_server_cert(f, c->server_cert);
    }
    if (rx->method_id == HTTP_CONNECT && c->in_tunnel) {
        flow_set_url(f, rx->target.p, rx->target.len);
        conn_reply_error(c, 400, "CONNECT inside a CONNECT tunnel");
        return;
    }
    if (rx->method_id == HTTP_CONNECT) {
        f->connect = true;
        flow_set_url(f, rx->target.p, rx->target.len);
        if (url_parse_authority(rx->target.p, rx->target.len, &c->target, err, sizeof(err)) < 0) {
            conn_reply_error(c, 400, "bad CONNECT target: %s", err);
            return;
        }
        c->hc.req.present = true; /* a CONNECT has no body */
        if (scripts_want(c->w->scripts, HOOK_CONNECT) &&
            run_hook(c, HOOK_CONNECT, after_connect_hook))
            return;
        after_connect_hook(c);
        return;
    }

    if (c->in_tunnel) {
        /* origin-form inside the tunnel: the target is the CONNECT's */
        const char *path = rx->target.p;
        size_t plen = rx->target.len;
        struct url abs;
        if (plen > 0 && path[0] != '/' && path[0] != '*' &&
            url_parse_absolute(path, plen, &abs, err, sizeof(err)) == 0) {
            path = abs.path;
            plen = abs.path_len;
        }
        c->target = c->tunnel;
        snprintf(c->target.scheme, sizeof(c->target.scheme), "%s",
                 c->tunnel_tls ? "https" : "http");
        c->target.path = path;
        c->target.path_len = plen;
    } else if (url_parse_absolute(rx->target.p, rx->target.len, &c->target, err, sizeof(err)) < 0) {
        flow_set_url(f, rx->target.p, rx->target.len);
        conn_reply_error(c, 400, "%s", err);
        return;
    }
    struct hook_ctx urlctx = {.flow = f, .target = &c->target};
    hook_set_flow_url(&urlctx);

    if (c->w->opts->anticache) { /* a full answer every time: no 304 */
        hdrs_remove(&f->req_headers, "If-None-Match", 13);
        hdrs_remove(&f->req_headers, "If-Modified-Since", 17);
    }
    /* the viewer's replays come back through lucent, marked */
    if (hdrs_remove(&f->req_headers, "X-Lucent-Replay", 15) > 0)
        f->replay = true;
    if (!c->in_tunnel && strcmp(c->target.scheme, "http") != 0 && !f->replay) {
        conn_reply_error(c, 400, "%s URLs go through CONNECT, not as a plain proxy request",
                         c->target.scheme);
        return;
    }

    c->req_body = http1_request_body(rx);
    c->req_left = c->req_body == HTTP1_BODY_LENGTH ? rx->content_length : 0;
    c->chunk_up = c->req_body == HTTP1_BODY_CHUNKED;
    c->upgrade_req = rx->upgrade;
    c->expect_continue = hdrs_has_token(&f->req_headers, "Expect", "100-continue");
    if (!c->in_tunnel && c->w->tls && strcmp(c->target.host, ONBOARD_HOST) == 0) {
        serve_onboarding(c);
        return;
    }
    if (!hooks_on(c)) {
        request_go(c);
        return;
    }
    c->hc.req.present = c->req_body == HTTP1_BODY_NONE;
    c->icpt_req = pauses_match(c->w->pauses, f, PAUSE_REQUEST);
    if (scripts_want(c->w->scripts, HOOK_REQUESTHEADERS) &&
        run_hook(c, HOOK_REQUESTHEADERS, after_requestheaders_hook))
        return;
    after_requestheaders_hook(c);
}

/* ---- lucent's shared cache (--cache) -------------------------------------- */

/* A fresh entry: lucent answers (a 304 when the client already has it). */
static void serve_entry(struct conn *c, const struct scache_entry *e, int64_t age)
{
    struct flow *f = c->flow;
    char a[24];
    int n = snprintf(a, sizeof(a), "%" PRId64, age);
    bool have = cache_request_has(&f->req_headers, &e->headers, flow_wall_us() / 1000000);
    f->status = have ? 304 : e->status;
    flow_set_reason(f, have ? "Not Modified" : e->reason, strlen(have ? "Not Modified" : e->reason));
    f->resp_major = f->resp_minor = 1;
    hdrs_copy(&f->resp_headers, &e->headers);
    hdrs_set(&f->resp_headers, "Age", a, (size_t)n);
    buf_reset(&c->hc.resp.raw);
    if (!have)
        buf_append(&c->hc.resp.raw, e->body.p ? e->body.p : "", e->body.len);
    c->hc.resp.present = true;
    f->local_reply = true;
    snprintf(f->cache_status, sizeof(f->cache_status), "HIT");
    local_reply(c);
}

/* Before going upstream: answer from the cache, or prepare to revalidate
 * and to store. Returns true when the cache answered. */
static bool cache_request(struct conn *c)
{
    struct flow *f = c->flow;
    struct scache *sc = c->w->scache;
    struct scache_entry *e = NULL;
    int64_t age = 0;
    size_t len;

    if (sc == NULL || f->connect || f->url == NULL)
        return false;
    if (strcmp(f->method, "GET") != 0) {
        if (strcmp(f->method, "HEAD") != 0 && strcmp(f->method, "OPTIONS") != 0 &&
            strcmp(f->method, "TRACE") != 0)
            scache_invalidate(sc, f->url); /* an unsafe method changes the resource */
        snprintf(f->cache_status, sizeof(f->cache_status), "BYPASS (method %s)", f->method);
        return false;
    }
    if (hdrs_get(&f->req_headers, "Range", &len) != NULL) { /* partial: not what is stored */
        snprintf(f->cache_status, sizeof(f->cache_status), "BYPASS (Range)");
        return false;
    }
    enum scache_result r =
        scache_lookup(sc, f->url, &f->req_headers, flow_wall_us() / 1000000, &e, &age);
    if (r == SCACHE_FRESH) {
        serve_entry(c, e, age);
        scache_unref(sc, e);
        return true;
    }
    if (hdrs_has_token(&f->req_headers, "Cache-Control", "only-if-cached")) {
        if (e)
            scache_unref(sc, e);
        snprintf(f->cache_status, sizeof(f->cache_status), "BYPASS (only-if-cached, not fresh)");
        conn_reply_error(c, 504, "only-if-cached: lucent's cache holds no fresh response for %s",
                         f->url);
        return true;
    }
    c->sc_tee = true;
    if (r == SCACHE_STALE) {
        bool client_cond = hdrs_get(&f->req_headers, "If-None-Match", &len) != NULL ||
                           hdrs_get(&f->req_headers, "If-Modified-Since", &len) != NULL;
        bool validators = hdrs_get(&e->headers, "ETag", &len) != NULL ||
                          hdrs_get(&e->headers, "Last-Modified", &len) != NULL;
        if (!client_cond && validators) {
            c->sc_entry = e; /* revalidate it */
            c->sc_cond = true;
        } else {
            scache_unref(sc, e);
        }
    }
    return false;
}

/* The upstream said 304 to lucent's own revalidation: the client gets the
 * stored response, refreshed. */
static void cache_revalidated(struct conn *c)
{
    struct flow *f = c->flow;
    struct scache_entry *e =
        scache_refresh(c->w->scache, c->sc_entry, f, flow_wall_us() / 1000000);
    c->sc_entry = NULL;
    c->sc_cond = c->sc_tee = false;
    f->status = e->status;
    flow_set_reason(f, e->reason, strlen(e->reason));
    hdrs_copy(&f->resp_headers, &e->headers);
    hdrs_remove(&f->resp_headers, "Age", 3);
    buf_reset(&c->hc.resp.raw);
    buf_append(&c->hc.resp.raw, e->body.p ? e->body.p : "", e->body.len);
    scache_unref(c->w->scache, e);
    snprintf(f->cache_status, sizeof(f->cache_status), "REVALIDATED");
    c->hc.resp.present = true;
    c->resp_body = HTTP1_BODY_LENGTH;
    c->resp_left = 0;
    c->resp_read_done = true;
    c->chunk_down = c->close_down = false;
    if (!c->req_done)
        c->client_keep = false;
    response_hooks(c);
}

/* The response is complete: offer it to the cache. */
static void cache_response(struct conn *c)
{
    struct flow *f = c->flow;
    char why[64];
    if (!c->sc_tee || f == NULL || f->error != NULL)
        return;
    c->sc_tee = false;
    if (scache_store(c->w->scache, f, c->sc_body.p, c->sc_body.len, flow_wall_us() / 1000000,
                     why, sizeof(why)) == 0)
        snprintf(f->cache_status, sizeof(f->cache_status), "MISS");
    else
        snprintf(f->cache_status, sizeof(f->cache_status), "BYPASS (%s)", why);
    buf_reset(&c->sc_body);
}

/* Hooks are done with the request: send it (connecting first if needed). */
static void request_go(struct conn *c)
{
    struct flow *f = c->flow;
    if (cache_request(c))
        return;
    if (c->up_tls_error && c->in_tunnel && strcmp(c->target.host, c->tunnel.host) == 0 &&
        c->target.port == c->tunnel.port && strcmp(c->target.scheme, "https") == 0) {
        conn_reply_error(c, 502, "%s", c->up_tls_error);
        return;
    }
    build_request_head(c);

    char key[sizeof(c->up_key)];
    snprintf(key, sizeof(key), "%s:%u", c->target.host, c->target.port);
    if (c->ubev != NULL && strcmp(key, c->up_key) == 0 &&
        conn_is_tls(c->ubev) == (strcmp(c->target.scheme, "https") == 0)) {
        c->up_reused = true;
        snprintf(f->server, sizeof(f->server), "%s", c->up_peer);
        f->t_connected = f->t_start;
        conn_send_request(c);
        return;
    }
    start_connect(c);
}

/* ---- request side ------------------------------------------------------ */

static void on_req_chunk(void *arg, const char *p, size_t len)
{
    struct conn *c = arg;
    if (c->req_buffering) {
        on_req_chunk_buffered(c, p, len);
        return;
    }
    if (c->ubev == NULL || len == 0)
        return;
    struct evbuffer *out = bufferevent_get_output(c->ubev);
    evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, p, len);
    evbuffer_add(out, "\r\n", 2);
    c->flow->req_size += len;
    capture(c, true, p, len);
}

static void request_done(struct conn *c)
{
    c->req_done = true;
    if (c->chunk_up)
        write_trailers(bufferevent_get_output(c->ubev), &c->flow->req_trailers);
    /* from now on the upstream owes us a response within the timeout */
    if (!c->resp_done)
        bufferevent_set_timeouts(c->ubev, &c->w->tv_upstream, NULL);
}

/* Moves request body bytes from the client to upstream. */
static void pump_request(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->cbev);

    if (c->req_done || c->ubev == NULL)
        return;
    if (c->req_body != HTTP1_BODY_NONE && !c->client_paused) {
        size_t have = evbuffer_get_length(bufferevent_get_output(c->ubev));
        if (have < CONN_HIGH_WATER)
            conn_read_more(c->cbev, CONN_HIGH_WATER - have);
    }
    while (!c->req_done && !c->closing) {
        size_t avail = evbuffer_get_length(in);
        if (c->req_body == HTTP1_BODY_NONE) {
            request_done(c);
            break;
        }
        if (avail == 0)
            break;
        if (c->req_body == HTTP1_BODY_LENGTH) {
            size_t n = avail < c->req_left ? avail : (size_t)c->req_left;
            capture_ev(c, true, in, n);
            evbuffer_remove_buffer(in, bufferevent_get_output(c->ubev), n);
            c->req_left -= n;
            c->flow->req_size += n;
            if (c->req_left == 0)
                request_done(c);
        } else {
            size_t len = evbuffer_get_contiguous_space(in), used = 0;
            const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
            enum http1_rc rc = http1_feed(&c->crx, p, len, &used);
            evbuffer_drain(in, used);
            if (rc == HTTP1_ERROR) {
                conn_reply_error(c, 400, "bad request body: %s", c->crx.err);
                return;
            }
            if (rc == HTTP1_DONE)
                request_done(c);
        }
        if (conn_backed_up(c->ubev, c->cbev, &c->client_paused))
            break;
    }
}

/* ---- response side ----------------------------------------------------- */

static void on_resp_chunk(void *arg, const char *p, size_t len)
{
    struct conn *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->cbev);
    if (len == 0)
        return;
    if (c->resp_buffering) {
        buf_append(&c->hc.resp.raw, p, len);
        c->flow->resp_size += len;
        return;
    }
    if (c->chunk_down)
        evbuffer_add_printf(out, "%zx\r\n", len);
    evbuffer_add(out, p, len);
    if (c->chunk_down)
        evbuffer_add(out, "\r\n", 2);
    c->flow->resp_size += len;
    capture(c, false, p, len);
}

/* The response is complete: publish the flow, then keep or close. */
static void response_done(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->cbev);

    c->resp_done = true;
    if (c->chunk_down)
        write_trailers(out, &c->flow->resp_trailers);
    cache_response(c);
    conn_finish_flow(c);

    if (c->ubev) {
        bufferevent_set_timeouts(c->ubev, NULL, NULL);
        if (!c->up_keep || !c->req_done || evbuffer_get_length(bufferevent_get_input(c->ubev)))
            free_upstream(c);
        else
            http1_next(&c->urx, &c->scratch, &c->scratch); /* idle; on_up_read drops strays */
    }
    if (!c->client_keep || !c->req_done || c->close_down) {
        drain_and_close(c);
        return;
    }
    c->state = CONN_READ_HEAD;
    c->sent_to_client = false; /* nothing of the next exchange has gone out */
    hdrs_clear(&c->req_h);
    http1_next(&c->crx, &c->req_h, &c->req_h);
    arm_idle(c);
    if (c->up_paused && c->ubev) {
        c->up_paused = false;
        bufferevent_enable(c->ubev, EV_READ);
    }
    if (!c->client_paused)
        bufferevent_enable(c->cbev, EV_READ);
    /* a pipelined request may be waiting in the buffer: no callback will come for it */
    if (evbuffer_get_length(bufferevent_get_input(c->cbev)) > 0 && !c->client_paused)
        client_parse(c);
}

/* The final (or an interim) response head has been read. */
static void response_head(struct conn *c)
{
    struct flow *f = c->flow;
    struct http1 *rx = &c->urx;

    f->status = rx->status;
    flow_set_reason(f, rx->reason.p, rx->reason.len);
    f->resp_major = rx->major;
    f->resp_minor = rx->minor;
    if (f->t_resp_start == 0)
        f->t_resp_start = flow_now_us();
    f->state = FLOW_RESPONSE;

    if (rx->status == 101 && c->upgrade_req && rx->upgrade) {
        c->resp_head_done = true;
        write_response_head(c, false);
        bufferevent_set_timeouts(c->ubev, NULL, NULL);
        tunnel_start(c);
        return;
    }
    if (rx->status >= 100 && rx->status < 200) {
        /* interim: pass on to HTTP/1.1 clients, then read the final one */
        if (!c->client_http10 && rx->status != 101)
            write_response_head(c, true);
        hdrs_clear(&f->resp_headers);
        http1_next(rx, &f->resp_headers, &f->resp_trailers);
        return;
    }

    c->resp_head_done = true;
    if (c->sc_cond && rx->status == 304) { /* lucent's revalidation came back: serve the stored body */
        c->up_keep = rx->keep_alive;
        http1_next(rx, &f->resp_headers, &f->resp_trailers);
        cache_revalidated(c);
        return;
    }
    no_caching(c);
    c->resp_body = http1_response_body(rx, c->head_request);
    c->resp_left = c->resp_body == HTTP1_BODY_LENGTH ? rx->content_length : 0;
    c->up_keep = rx->keep_alive && c->resp_body != HTTP1_BODY_EOF;
    if (c->resp_body == HTTP1_BODY_CHUNKED || c->resp_body == HTTP1_BODY_EOF) {
        if (c->client_http10)
            c->close_down = true;
        else
            c->chunk_down = true;
    }
    if (c->close_down || !c->req_done)
        c->client_keep = false;
    if (c->resp_body != HTTP1_BODY_CHUNKED)
        http1_next(rx, &f->resp_headers, &f->resp_trailers); /* we count the body ourselves */
    if (hooks_on(c)) {
        c->hc.resp.present = c->resp_read_done = c->resp_body == HTTP1_BODY_NONE;
        c->icpt_resp = pauses_match(c->w->pauses, f, PAUSE_RESPONSE);
        response_hooks(c);
        return;
    }
    write_response_head(c, false);
    if (c->resp_body == HTTP1_BODY_NONE)
        response_done(c);
}

/* ---- response hooks ---------------------------------------------------- */

/* The response hooks are done: the head goes out, with the body when it
 * was read whole (then with its length, whatever the framing was). */
static void after_response_hook(struct conn *c)
{
    struct flow *f = c->flow;
    struct hook_body *b = &c->hc.resp;
    struct evbuffer *out = bufferevent_get_output(c->cbev);
    bool bodyless = c->head_request || f->status == 204 || f->status == 304;

    if (c->icpt_resp) {
        c->icpt_resp = false;
        pause_here(c, PAUSE_RESPONSE, after_response_hook);
        return;
    }

    if (b->present && !b->streamed) {
        if (!bodyless) {
            c->resp_fixed_len = true;
            c->chunk_down = c->close_down = false;
        }
        write_response_head(c, false);
        if (!bodyless) {
            evbuffer_add(out, b->raw.p, b->raw.len);
            f->resp_size = b->raw.len;
            capture_reset(c, false);
            capture(c, false, b->raw.p, b->raw.len);
        }
        if (c->resp_read_done)
            response_done(c);
        return;
    }
    write_response_head(c, false);
    if (b->raw.len > 0) { /* read before the hook ran; the rest streams */
        if (c->chunk_down)
            evbuffer_add_printf(out, "%zx\r\n", b->raw.len);
        evbuffer_add(out, b->raw.p, b->raw.len);
        if (c->chunk_down)
            evbuffer_add(out, "\r\n", 2);
        capture(c, false, b->raw.p, b->raw.len);
    }
    if (c->resp_read_done)
        response_done(c);
}

static void response_hook(struct conn *c)
{
    if (scripts_want(c->w->scripts, HOOK_RESPONSE) &&
        run_hook(c, HOOK_RESPONSE, after_response_hook))
        return;
    after_response_hook(c);
}

static void after_responseheaders_hook(struct conn *c)
{
    struct hook_body *b = &c->hc.resp;
    if ((scripts_want(c->w->scripts, HOOK_RESPONSE) || c->icpt_resp) && !b->present) {
        if (b->stream || c->hc.body_limit == 0 ||
            (c->resp_body == HTTP1_BODY_LENGTH && c->resp_left > c->hc.body_limit)) {
            b->streamed = true;
        } else {
            c->resp_buffering = true; /* pump_response fills hc.resp.raw */
            return;
        }
    }
    response_hook(c);
}

static void response_hooks(struct conn *c)
{
    if (scripts_want(c->w->scripts, HOOK_RESPONSEHEADERS) &&
        run_hook(c, HOOK_RESPONSEHEADERS, after_responseheaders_hook))
        return;
    after_responseheaders_hook(c);
}

/* All of the response body has been read. */
static void body_complete(struct conn *c)
{
    c->resp_read_done = true;
    if (c->resp_buffering) {
        c->resp_buffering = false;
        c->hc.resp.present = true;
        response_hook(c);
        return;
    }
    response_done(c);
}

/* The body being buffered passed --body-limit: the hooks see none, the
 * bytes read so far go out first, the rest streams. */
static void body_over_limit(struct conn *c)
{
    c->resp_buffering = false;
    c->hc.resp.streamed = true;
    response_hook(c);
}

/* Reads response bytes: heads through http1, bodies moved or de-chunked. */
static void pump_response(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->ubev);
    struct evbuffer *out = bufferevent_get_output(c->cbev);

    /* streaming a body: take more than libevent's 4 KiB per read */
    if (c->resp_head_done && !c->up_paused) {
        size_t have = evbuffer_get_length(out);
        if (have < CONN_HIGH_WATER)
            conn_read_more(c->ubev, CONN_HIGH_WATER - have);
    }

    while (!c->closing && c->state == CONN_EXCHANGE && !c->resp_done && !c->hook_wait) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0 && c->resp_head_done && !c->up_paused && !c->resp_read_done) {
            /* the head was in this read; the body may wait in the TLS read
             * buffer, where no event will ever point at it */
            size_t have = evbuffer_get_length(out);
            if (have < CONN_HIGH_WATER)
                conn_read_more(c->ubev, CONN_HIGH_WATER - have);
            avail = evbuffer_get_length(in);
        }
        if (avail == 0)
            break;
        if (c->resp_read_done)
            break; /* read whole; the hooks are holding it */
        if (!c->resp_head_done || c->resp_body == HTTP1_BODY_CHUNKED) {
            size_t len = evbuffer_get_contiguous_space(in), used = 0;
            const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
            enum http1_rc rc = http1_feed(&c->urx, p, len, &used);
            evbuffer_drain(in, used);
            if (rc == HTTP1_ERROR) {
                if (c->resp_head_done)
                    abort_exchange(c, "bad chunked body from %s: %s", c->up_key, c->urx.err);
                else
                    conn_reply_error(c, 502, "bad response from %s: %s", c->up_key, c->urx.err);
                return;
            }
            if (rc == HTTP1_HEAD)
                response_head(c);
            else if (rc == HTTP1_DONE)
                body_complete(c);
        } else if (c->resp_body == HTTP1_BODY_LENGTH) {
            size_t n = avail < c->resp_left ? avail : (size_t)c->resp_left;
            if (c->resp_buffering) {
                struct buf *raw = &c->hc.resp.raw;
                buf_reserve(raw, n);
                evbuffer_remove(in, raw->p + raw->len, n);
                raw->len += n;
                raw->p[raw->len] = '\0';
            } else {
                capture_ev(c, false, in, n);
                evbuffer_remove_buffer(in, out, n);
            }
            c->resp_left -= n;
            c->flow->resp_size += n;
            if (c->resp_left == 0)
                body_complete(c);
        } else if (c->resp_buffering) { /* EOF-delimited, kept for the hooks */
            struct buf *raw = &c->hc.resp.raw;
            buf_reserve(raw, avail);
            evbuffer_remove(in, raw->p + raw->len, avail);
            raw->len += avail;
            raw->p[raw->len] = '\0';
            c->flow->resp_size += avail;
        } else { /* EOF-delimited: everything is body */
            c->flow->resp_size += avail;
            capture_ev(c, false, in, avail);
            if (c->chunk_down) {
                evbuffer_add_printf(out, "%zx\r\n", avail);
                evbuffer_remove_buffer(in, out, avail);
                evbuffer_add(out, "\r\n", 2);
            } else {
                evbuffer_remove_buffer(in, out, avail);
            }
        }
        if (c->resp_buffering && c->hc.resp.raw.len > c->hc.body_limit)
            body_over_limit(c);
        if (c->ubev && !c->closing && conn_backed_up(c->cbev, c->ubev, &c->up_paused))
            break;
    }
}

/* ---- callbacks --------------------------------------------------------- */

/* Reads request heads while in CONN_READ_HEAD. */
static void client_parse(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->cbev);

    while (!c->closing && c->state == CONN_READ_HEAD && evbuffer_get_length(in) > 0) {
        size_t len = evbuffer_get_contiguous_space(in), used = 0;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
        enum http1_rc rc = http1_feed(&c->crx, p, len, &used);
        evbuffer_drain(in, used);
        if (!c->header_timer && http1_started(&c->crx))
            arm_header(c);
        if (rc == HTTP1_ERROR) {
            conn_reply_error(c, c->crx.err_status, "%s%s",
                             c->crx.err_status == 400 ? "bad request: " : "", c->crx.err);
            return;
        }
        if (rc == HTTP1_HEAD) {
            start_request(c);
            return;
        }
    }
}

static void on_client_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (c->state == CONN_READ_HEAD)
        client_parse(c);
    else if (c->state == CONN_REQ_BODY)
        buffer_request(c);
    else if (c->state == CONN_EXCHANGE)
        pump_request(c);
    conn_release(c);
}

static void on_client_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (c->state == CONN_DRAINING) {
        if (client_pending(c) == 0)
            conn_close(c);
        else if (!bufferevent_get_underlying(bev))
            bufferevent_enable(bev, EV_WRITE);
    } else if (conn_drained(bev, c->ubev, &c->up_paused) && c->ubev) {
        pump_response(c);
    }
    conn_release(c);
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (c->state == CONN_EXCHANGE && c->req_done && (what & BEV_EVENT_EOF)) {
        /* half-close after a complete request: still deliver the response */
        c->client_keep = false;
    } else if (c->flow && c->state != CONN_DRAINING) {
        abort_exchange(
            c, "client closed the connection%s%s", (what & BEV_EVENT_ERROR) ? ": " : "",
            (what & BEV_EVENT_ERROR) ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()) : "");
    } else {
        conn_close(c);
    }
    conn_release(c);
}

static void on_up_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (c->state == CONN_EXCHANGE && !c->resp_done)
        pump_response(c);
    else if (c->state != CONN_TUNNEL)
        free_upstream(c); /* bytes from an idle upstream: it is not usable */
    conn_release(c);
}

static void on_up_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (conn_drained(bev, c->cbev, &c->client_paused))
        pump_request(c);
    conn_release(c);
}

/* The reused connection died before answering: try once on a fresh one. */
static bool retry_fresh(struct conn *c)
{
    if (!c->up_reused || c->retried || c->resp_head_done || c->sent_to_client ||
        http1_started(&c->urx) || c->flow->req_size > 0 || c->req_body != HTTP1_BODY_NONE)
        return false;
    c->retried = true;
    c->up_reused = false;
    LC_DEBUG("c%" PRIu64 ": kept-alive upstream %s went away; reconnecting", c->id, c->up_key);
    start_connect(c);
    return true;
}

static void on_up_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (c->state != CONN_EXCHANGE || c->resp_done) {
        free_upstream(c); /* idle upstream closed: fine */
        goto out;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (!c->resp_head_done && !c->sent_to_client)
            conn_reply_error(c, 504, "no response from %s within %g s", c->up_key,
                             c->w->opts->upstream_timeout);
        else
            abort_exchange(c, "%s went silent for %g s mid-response", c->up_key,
                           c->w->opts->upstream_timeout);
        goto out;
    }
    if (what & BEV_EVENT_EOF) {
        pump_response(c); /* whatever was still buffered */
        if (c->closing || c->resp_done)
            goto out;
        if (c->resp_head_done && c->resp_body == HTTP1_BODY_EOF) {
            c->up_keep = false;
            body_complete(c);
            goto out;
        }
        if (retry_fresh(c))
            goto out;
        if (!c->resp_head_done && !http1_started(&c->urx))
            conn_reply_error(c, 502, "%s closed the connection without a response", c->up_key);
        else if (!c->resp_head_done)
            conn_reply_error(c, 502, "%s closed the connection in the middle of the response head",
                             c->up_key);
        else
            abort_exchange(c, "%s closed the connection mid-body", c->up_key);
        goto out;
    }
    /* BEV_EVENT_ERROR */
    int e = EVUTIL_SOCKET_ERROR();
    if (retry_fresh(c))
        goto out;
    if (!c->resp_head_done && !c->sent_to_client)
        conn_reply_error(c, 502, "connection to %s failed: %s", c->up_key,
                         evutil_socket_error_to_string(e));
    else
        abort_exchange(c, "connection to %s failed mid-response: %s", c->up_key,
                       evutil_socket_error_to_string(e));
out:
    conn_release(c);
}
