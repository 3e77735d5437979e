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
#include <event2/event.h>
#include <event2/util.h>

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

/* After `to` drained: resume its peer, or pass on a pending half-close. */
static void drained(struct conn *c, struct bufferevent *to, struct bufferevent *from, bool *paused,
                    bool from_eof)
{
    conn_drained(to, from_eof ? NULL : from, paused);
    if (from_eof && evbuffer_get_length(bufferevent_get_output(to)) == 0)
        shutdown(bufferevent_getfd(to), SHUT_WR);
    if (c->client_eof && c->up_eof && evbuffer_get_length(bufferevent_get_output(c->cbev)) == 0 &&
        evbuffer_get_length(bufferevent_get_output(c->ubev)) == 0)
        tunnel_end(c, NULL);
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
