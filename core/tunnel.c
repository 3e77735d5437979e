/* SPDX-License-Identifier: MIT */
/* tunnel: after CONNECT (or a 101 Switching Protocols) the two sockets are
 * joined: bytes go both ways untouched, with the same back-pressure as HTTP
 * bodies. A side that ends (EOF) is passed on as a half-close once its
 * bytes are delivered; when both have ended, or either fails, the flow is
 * published with the byte counts and the conn closes. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/conn_int.h"
#include "core/log.h"
#include "core/worker.h"

static void tunnel_end(struct conn *c, const char *error)
{
    if (c->flow && error)
        flow_fail(c->flow, "%s", error);
    conn_finish_flow(c);
    conn_close(c);
}

/* Copies what `from` has read to `to`; pauses `from` when `to` is backed up. */
static void move(struct conn *c, struct bufferevent *from, struct bufferevent *to, uint64_t *count,
                 bool *paused)
{
    struct evbuffer *in = bufferevent_get_input(from);
    size_t have = evbuffer_get_length(bufferevent_get_output(to));
    if (!*paused && have < CONN_HIGH_WATER)
        conn_read_more(from, CONN_HIGH_WATER - have);
    size_t n = evbuffer_get_length(in);
    if (n > 0) {
        *count += n;
        evbuffer_add_buffer(bufferevent_get_output(to), in);
    }
    conn_backed_up(to, from, paused);
}

/* Bytes still to leave through b: for a TLS filter (an intercepted
 * client) also the ciphertext in the socket below it. */
static size_t pending(struct bufferevent *b)
{
    size_t n = evbuffer_get_length(bufferevent_get_output(b));
    struct bufferevent *under = bufferevent_get_underlying(b);
    if (under)
        n += evbuffer_get_length(bufferevent_get_output(under));
    return n;
}

static void on_poll(evutil_socket_t fd, short what, void *arg);

/* A filter's ciphertext drains without telling us: look again soon. */
static void poll_later(struct conn *c)
{
    static const struct timeval soon = {0, 10000};
    if (c->tunnel_poll == NULL && (c->tunnel_poll = evtimer_new(c->w->base, on_poll, c)) == NULL)
        return; /* the idle timeout still ends the tunnel */
    evtimer_add(c->tunnel_poll, &soon);
}

/* Passes an end of stream on to `to` once everything before it has left:
 * close_notify first on a TLS side (so the peer knows nothing was cut
 * off), then a TCP half-close. */
static void half_close(struct conn *c, struct bufferevent *to)
{
    bool client = to == c->cbev;
    bool *shut = client ? &c->shut_client : &c->shut_up;
    bool *notify = client ? &c->notify_client : &c->notify_up;
    SSL *ssl = bufferevent_openssl_get_ssl(to);
    if (*shut)
        return;
    if (ssl != NULL && !*notify) {
        *notify = true;
        if (SSL_is_init_finished(ssl))
            SSL_shutdown(ssl);
        ERR_clear_error();
    }
    if (pending(to) > 0) {
        poll_later(c);
        return;
    }
    struct bufferevent *under = bufferevent_get_underlying(to);
    shutdown(bufferevent_getfd(under ? under : to), SHUT_WR);
    *shut = true;
}

/* After `to` drained: resume its peer, or pass on a pending half-close. */
static void drained(struct conn *c, struct bufferevent *to, struct bufferevent *from, bool *paused,
                    bool from_eof)
{
    conn_drained(to, from_eof ? NULL : from, paused);
    if (from_eof && evbuffer_get_length(bufferevent_get_output(to)) == 0)
        half_close(c, to);
    if (c->client_eof && c->up_eof) {
        if (pending(c->cbev) == 0 && pending(c->ubev) == 0)
            tunnel_end(c, NULL);
        else
            poll_later(c);
    }
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (!c->closing && c->state == CONN_TUNNEL) {
        if (c->up_eof)
            drained(c, c->cbev, c->ubev, &c->up_paused, true);
        if (!c->closing && c->client_eof)
            drained(c, c->ubev, c->cbev, &c->client_paused, true);
    }
    conn_release(c);
}

static void on_client_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    move(c, c->cbev, c->ubev, &c->flow->req_size, &c->client_paused);
    conn_release(c);
}

static void on_up_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    move(c, c->ubev, c->cbev, &c->flow->resp_size, &c->up_paused);
    conn_release(c);
}

static void on_client_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    drained(c, c->cbev, c->ubev, &c->up_paused, c->up_eof);
    conn_release(c);
}

static void on_up_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    drained(c, c->ubev, c->cbev, &c->client_paused, c->client_eof);
    conn_release(c);
}

static void side_event(struct conn *c, bool client, short what)
{
    struct bufferevent *from = client ? c->cbev : c->ubev;
    struct bufferevent *to = client ? c->ubev : c->cbev;

    if (what & BEV_EVENT_ERROR) {
        char why[200];
        snprintf(why, sizeof(why), "%s connection failed: %s", client ? "client" : "upstream",
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        /* a reset after both sides finished is not worth reporting */
        tunnel_end(c, c->client_eof && c->up_eof ? NULL : why);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        if (client) {
            c->client_eof = true;
            move(c, from, to, &c->flow->req_size, &c->client_paused);
        } else {
            c->up_eof = true;
            move(c, from, to, &c->flow->resp_size, &c->up_paused);
        }
        /* one side gone: the other gets the idle timeout to finish */
        evtimer_add(c->timer, &c->w->tv_idle);
        conn_flush(to); /* what stays unsent gets a write callback: then the half-close */
        if (client)
            drained(c, c->ubev, c->cbev, &c->client_paused, true);
        else
            drained(c, c->cbev, c->ubev, &c->up_paused, true);
    }
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    side_event(c, true, what);
    conn_release(c);
}

static void on_up_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    side_event(c, false, what);
    conn_release(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    tunnel_end(c, NULL);
    conn_release(c);
}

void tunnel_start(struct conn *c)
{
    LC_DEBUG("c%" PRIu64 " f%" PRIu64 ": tunnel to %s", c->id, c->flow->id, c->up_key);
    c->state = CONN_TUNNEL;
    c->client_eof = c->up_eof = false;
    c->shut_client = c->shut_up = c->notify_client = c->notify_up = false;
    c->client_paused = c->up_paused = false;
    event_del(c->timer);
    event_assign(c->timer, c->w->base, -1, 0, on_timer, c);
    bufferevent_set_timeouts(c->ubev, NULL, NULL);
    bufferevent_setwatermark(c->cbev, EV_READ, 0, 0);
    bufferevent_setcb(c->cbev, on_client_read, on_client_write, on_client_event, c);
    bufferevent_setcb(c->ubev, on_up_read, on_up_write, on_up_event, c);
    bufferevent_enable(c->cbev, EV_READ);
    bufferevent_enable(c->ubev, EV_READ);
    /* bytes that arrived with the head belong to the tunnel already */
    move(c, c->cbev, c->ubev, &c->flow->req_size, &c->client_paused);
    move(c, c->ubev, c->cbev, &c->flow->resp_size, &c->up_paused);
}
