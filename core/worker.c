/* SPDX-License-Identifier: MIT */
/* worker: listener, resolver and loop of one thread. */
#include "core/worker.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "core/conn.h"
#include "core/conn_int.h"
#include "core/log.h"

static void to_tv(double secs, struct timeval *tv)
{
    tv->tv_sec = (time_t)secs;
    tv->tv_usec = (suseconds_t)lround((secs - (double)tv->tv_sec) * 1e6);
    if (tv->tv_usec >= 1000000) {
        tv->tv_sec++;
        tv->tv_usec -= 1000000;
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    struct worker *w = arg;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn_accept(w, fd, sa);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    int e = EVUTIL_SOCKET_ERROR();
    LC_WARN("accept: %s", evutil_socket_error_to_string(e));
    /* EMFILE and friends: the listener keeps going; connections wait */
}

static int make_listener(struct worker *w, const char *host, uint16_t *port, char *err,
                         size_t errlen)
{
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    char spec[300];

    if (strchr(host, ':') != NULL)
        snprintf(spec, sizeof(spec), "[%s]:%u", host, *port);
    else
        snprintf(spec, sizeof(spec), "%s:%u", host, *port);
    memset(&ss, 0, sizeof(ss));
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) < 0) {
        snprintf(err, errlen, "--listen-host: '%s' is not an IPv4 or IPv6 address", host);
        return -1;
    }
    w->listener = evconnlistener_new_bind(
        w->base, on_accept, w,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT, 1024,
        (struct sockaddr *)&ss, sslen);
    if (w->listener == NULL) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return -1;
    }
    evconnlistener_set_error_cb(w->listener, on_accept_error);
    if (*port == 0) {
        struct sockaddr_storage bound;
        socklen_t blen = sizeof(bound);
        if (getsockname(evconnlistener_get_fd(w->listener), (struct sockaddr *)&bound, &blen) ==
            0)
            *port = ntohs(bound.ss_family == AF_INET6
                              ? ((struct sockaddr_in6 *)&bound)->sin6_port
                              : ((struct sockaddr_in *)&bound)->sin_port);
    }
    return 0;
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    event_base_loopbreak(w->base);
}

int worker_init(struct worker *w, unsigned index, const struct opts *o, struct bus *bus,
                uint16_t *port, char *err, size_t errlen)
{
    memset(w, 0, sizeof(*w));
    w->stop_fds[0] = w->stop_fds[1] = -1;
    w->index = index;
    w->opts = o;
    w->bus = bus;
    TAILQ_INIT(&w->conns);
    to_tv(o->header_timeout, &w->tv_header);
    to_tv(o->idle_timeout, &w->tv_idle);
    to_tv(o->connect_timeout, &w->tv_connect);
    to_tv(o->upstream_timeout, &w->tv_upstream);

    w->base = event_base_new();
    if (w->base == NULL) {
        snprintf(err, errlen, "cannot create an event loop");
        goto fail;
    }
    /* resolv.conf name servers and /etc/hosts, as the system resolver */
    w->dns = evdns_base_new(w->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                         EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (w->dns == NULL) {
        /* no usable resolv.conf: /etc/hosts and numeric hosts still work */
        w->dns = evdns_base_new(w->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (w->dns == NULL) {
            snprintf(err, errlen, "cannot create a DNS resolver");
            goto fail;
        }
        evdns_base_load_hosts(w->dns, NULL);
        LC_WARN("no name servers from /etc/resolv.conf: only /etc/hosts and addresses resolve");
    }
    if (make_listener(w, o->listen_host, port, err, errlen) < 0)
        goto fail;
    /* a pipe, not evthread locking: the loop stays lock-free */
    if (pipe(w->stop_fds) == -1) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    w->stop_ev = event_new(w->base, w->stop_fds[0], EV_READ, on_stop, w);
    if (w->stop_ev == NULL || event_add(w->stop_ev, NULL) < 0) {
        snprintf(err, errlen, "cannot create the stop event");
        goto fail;
    }
    return 0;

fail:
    worker_free(w);
    return -1;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

int worker_start(struct worker *w)
{
    if (pthread_create(&w->thread, NULL, run, w) != 0)
        return -1;
    w->running = true;
    return 0;
}

void worker_stop(struct worker *w)
{
    if (w->stop_fds[1] != -1) {
        ssize_t rc = write(w->stop_fds[1], "x", 1);
        (void)rc;
    }
}

void worker_join(struct worker *w)
{
    if (w->running) {
        pthread_join(w->thread, NULL);
        w->running = false;
    }
}

void worker_free(struct worker *w)
{
    if (w == NULL)
        return;
    if (w->listener) {
        evconnlistener_free(w->listener);
        w->listener = NULL;
    }
    struct conn *c;
    while ((c = TAILQ_FIRST(&w->conns)) != NULL)
        conn_destroy(c, "lucent shut down before the exchange finished");
    if (w->stop_ev) {
        event_free(w->stop_ev);
        w->stop_ev = NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (w->stop_fds[i] != -1)
            close(w->stop_fds[i]);
        w->stop_fds[i] = -1;
    }
    if (w->dns) {
        evdns_base_free(w->dns, 1); /* fail pending lookups */
        w->dns = NULL;
    }
    if (w->base) {
        event_base_free(w->base);
        w->base = NULL;
    }
}
