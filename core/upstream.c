/* SPDX-License-Identifier: MIT */
/* upstream: evdns_getaddrinfo, then bufferevent_socket_connect on each
 * address until one answers. evdns may call back synchronously (numeric
 * hosts, /etc/hosts) and may call back after a cancel, so the request is
 * only freed once no DNS callback can still arrive. */
#include "core/upstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "core/flow.h"
#include "core/log.h"
#include "core/worker.h"

struct upstream_req {
    struct worker *w; /* borrowed */
    char host[256];
    uint16_t port;
    struct evdns_getaddrinfo_request *dns; /* pending lookup, or NULL */
    struct evutil_addrinfo *ai;            /* owned */
    struct evutil_addrinfo *next;          /* borrowed: address being tried */
    struct bufferevent *bev;               /* owned: attempt in progress / result */
    struct event *ev;                      /* owned: deadline, then delivery */
    upstream_done_fn fn;
    void *arg;
    int status;
    int last_err;
    bool done, dead;
    char peer[FLOW_ADDR_MAX];
    char err[300];
};

void upstream_format_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(out, outlen, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(out, outlen, "%s:%u", ip, ntohs(s4->sin_port));
    } else {
        snprintf(out, outlen, "?");
    }
}

static void req_free(struct upstream_req *r)
{
    if (r->dns != NULL) {
        /* a cancelled lookup still calls back (maybe later): free then */
        struct evdns_getaddrinfo_request *d = r->dns;
        if (!r->dead) {
            r->dead = true;
            evdns_getaddrinfo_cancel(d);
        }
        return;
    }
    if (r->bev)
        bufferevent_free(r->bev);
    if (r->ai)
        evutil_freeaddrinfo(r->ai);
    if (r->ev)
        event_free(r->ev);
    free(r);
}

/* Records the outcome and schedules its delivery from the loop. */
static void finish(struct upstream_req *r, int status, const char *fmt, ...) LC_PRINTF(3, 4);
static void finish(struct upstream_req *r, int status, const char *fmt, ...)
{
    if (r->done)
        return;
    r->done = true;
    r->status = status;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, sizeof(r->err), fmt, ap);
        va_end(ap);
    }
    event_del(r->ev);
    event_active(r->ev, EV_TIMEOUT, 1);
}

static void on_connect_event(struct bufferevent *bev, short what, void *arg);

static bool is_local(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_V4MAPPED(a);
    }
    return false;
}

/* Would connecting to sa reach lucent's own listener (a request to itself,
 * which would loop until file descriptors run out)? */
static bool is_self(const struct worker *w, const struct sockaddr *sa)
{
    const struct sockaddr *l = (const struct sockaddr *)&w->listen_addr;
    if (sa->sa_family == AF_INET && l->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)sa, *b = (const void *)l;
        return a->sin_port == b->sin_port &&
               (a->sin_addr.s_addr == b->sin_addr.s_addr ||
                (b->sin_addr.s_addr == htonl(INADDR_ANY) && is_local(sa)));
    }
    if (sa->sa_family == AF_INET6 && l->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)sa, *b = (const void *)l;
        return a->sin6_port == b->sin6_port &&
               (memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0 ||
                (IN6_IS_ADDR_UNSPECIFIED(&b->sin6_addr) && is_local(sa)));
    }
    return false;
}

static void try_next(struct upstream_req *r)
{
    while (r->next != NULL) {
        struct evutil_addrinfo *a = r->next;
        upstream_format_addr(a->ai_addr, r->peer, sizeof(r->peer));
        if (is_self(r->w, a->ai_addr)) {
            finish(r, 508, "%s:%u (%s) is lucent itself: the request would loop", r->host, r->port,
                   r->peer);
            return;
        }
        r->bev = bufferevent_socket_new(r->w->base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (r->bev == NULL) {
            finish(r, 502, "cannot connect to %s:%u: out of memory", r->host, r->port);
            return;
        }
        bufferevent_setcb(r->bev, NULL, NULL, on_connect_event, r);
        if (bufferevent_socket_connect(r->bev, a->ai_addr, (int)a->ai_addrlen) == 0)
            return; /* wait for on_connect_event */
        r->last_err = EVUTIL_SOCKET_ERROR();
        bufferevent_free(r->bev);
        r->bev = NULL;
        r->next = a->ai_next;
    }
    finish(r, 502, "cannot connect to %s:%u (%s): %s", r->host, r->port, r->peer,
           evutil_socket_error_to_string(r->last_err));
}

static void on_connect_event(struct bufferevent *bev, short what, void *arg)
{
    struct upstream_req *r = arg;
    if (what & BEV_EVENT_CONNECTED) {
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        finish(r, 0, NULL);
        return;
    }
    r->last_err = EVUTIL_SOCKET_ERROR();
    if (r->last_err == 0)
        r->last_err = ECONNREFUSED;
    bufferevent_free(r->bev);
    r->bev = NULL;
    r->next = r->next ? r->next->ai_next : NULL;
    try_next(r);
}

static void on_dns(int result, struct evutil_addrinfo *res, void *arg)
{
    struct upstream_req *r = arg;
    r->dns = NULL;
    if (r->dead) {
        if (res)
            evutil_freeaddrinfo(res);
        req_free(r);
        return;
    }
    if (result == EVUTIL_EAI_CANCEL) {
        if (res)
            evutil_freeaddrinfo(res);
        return;
    }
    if (result != 0 || res == NULL) {
        if (res)
            evutil_freeaddrinfo(res);
        finish(r, 502, "cannot resolve %s: %s", r->host,
               result == EVUTIL_EAI_NONAME ? "no such host" : evutil_gai_strerror(result));
        return;
    }
    r->ai = res;
    r->next = res;
    try_next(r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct upstream_req *r = arg;
    if (!r->done) {
        r->done = true;
        r->status = 504;
        snprintf(r->err, sizeof(r->err), "timed out connecting to %s:%u", r->host, r->port);
        if (r->bev) {
            bufferevent_free(r->bev);
            r->bev = NULL;
        }
    }
    struct bufferevent *bev = r->status == 0 ? r->bev : NULL;
    r->bev = NULL;
    if (bev)
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    upstream_done_fn fn = r->fn;
    void *fnarg = r->arg;
    char peer[FLOW_ADDR_MAX], err[300];
    int status = r->status;
    memcpy(peer, r->peer, sizeof(peer));
    memcpy(err, r->err, sizeof(err));
    req_free(r);
    fn(fnarg, bev, peer, status, err);
}

struct upstream_req *upstream_connect(struct worker *w, const char *host, uint16_t port,
                                      upstream_done_fn fn, void *arg)
{
    struct upstream_req *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->w = w;
    snprintf(r->host, sizeof(r->host), "%s", host);
    r->port = port;
    r->fn = fn;
    r->arg = arg;
    r->ev = evtimer_new(w->base, on_timer, r);
    if (r->ev == NULL) {
        free(r);
        return NULL;
    }
    evtimer_add(r->ev, &w->tv_connect);

    struct evutil_addrinfo hints;
    char portstr[8];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    snprintf(portstr, sizeof(portstr), "%u", port);
    /* mark pending first: the callback may run before this returns */
    r->dns = (struct evdns_getaddrinfo_request *)1;
    struct evdns_getaddrinfo_request *d =
        evdns_getaddrinfo(w->dns, host, portstr, &hints, on_dns, r);
    if (r->dns != NULL) /* no synchronous answer: the lookup is pending */
        r->dns = d;
    return r;
}

void upstream_cancel(struct upstream_req *r)
{
    if (r == NULL)
        return;
    r->fn = NULL;
    req_free(r);
}
