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
#include "core/pause.h"
#include "core/script.h"

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

/* host:port as a socket address; spec gets the printable form. */
static int listen_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, int *sslen,
                       char *spec, size_t speclen, char *err, size_t errlen)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        *sslen = sizeof(*s4);
        snprintf(spec, speclen, "%s:%u", host, port);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        *sslen = sizeof(*s6);
        snprintf(spec, speclen, "[%s]:%u", host, port);
    } else {
        snprintf(err, errlen, "--listen-host: '%s' is not an IPv4 or IPv6 address", host);
        return -1;
    }
    return 0;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0)
        return 0;
    return ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                             : ((struct sockaddr_in *)&bound)->sin_port);
}

int worker_reserve_port(const char *host, uint16_t *port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int sslen, one = 1, rc = -1;
    char spec[300];

    if (listen_addr(host, *port, &ss, &sslen, spec, sizeof(spec), err, errlen) < 0)
        return -1;
    /* Without SO_REUSEPORT: a port another process (even another lucent)
     * listens on is refused here instead of being silently shared. */
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd == -1) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) == -1 || listen(fd, 1) == -1) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
        goto out;
    }
    if (*port == 0)
        *port = bound_port(fd);
    rc = 0;
out:
    close(fd);
    return rc;
}

static int make_listener(struct worker *w, const char *host, uint16_t *port, char *err,
                         size_t errlen)
{
    struct sockaddr_storage ss;
    int sslen;
    char spec[300];

    if (listen_addr(host, *port, &ss, &sslen, spec, sizeof(spec), err, errlen) < 0)
        return -1;
    w->listener = evconnlistener_new_bind(
        w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT,
        1024, (struct sockaddr *)&ss, sslen);
    if (w->listener == NULL) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec,
                 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return -1;
    }
    evconnlistener_set_error_cb(w->listener, on_accept_error);
    if (*port == 0)
        *port = bound_port(evconnlistener_get_fd(w->listener));
    memcpy(&w->listen_addr, &ss, sizeof(ss));
    if (ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&w->listen_addr)->sin6_port = htons(*port);
    else
        ((struct sockaddr_in *)&w->listen_addr)->sin_port = htons(*port);
    return 0;
}

static void on_decision(void *arg, uint64_t flow_id, enum pause_decision d, const char *edit)
{
    struct worker *w = arg;
    struct conn *c;
    TAILQ_FOREACH(c, &w->conns, link) {
        if (c->paused && c->flow && c->flow->id == flow_id) {
            conn_pause_resolved(c, (int)d, edit);
            return;
        }
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    char sink[64];
    while (read(fd, sink, sizeof(sink)) > 0) {
    }
    if (w->pauses)
        pauses_take(w->pauses, w->index, on_decision, w);
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
    w->wake_fds[0] = w->wake_fds[1] = -1;
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
    w->dns = evdns_base_new(w->base,
                            EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
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
    w->scripts = scripts_new(o, index, err, errlen);
    if (w->scripts == NULL && err[0] != '\0')
        goto fail;
    if (w->scripts && scripts_watch(w->scripts, w->base) < 0) {
        snprintf(err, errlen, "cannot watch the scripts for changes");
        goto fail;
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
    if (pipe(w->wake_fds) == -1) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    evutil_make_socket_nonblocking(w->wake_fds[0]);
    evutil_make_socket_nonblocking(w->wake_fds[1]);
    w->wake_ev = event_new(w->base, w->wake_fds[0], EV_READ | EV_PERSIST, on_wake, w);
    if (w->wake_ev == NULL || event_add(w->wake_ev, NULL) < 0) {
        snprintf(err, errlen, "cannot create the wake event");
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
    scripts_free(w->scripts); /* after the conns: their last flows still run done() */
    w->scripts = NULL;
    if (w->stop_ev) {
        event_free(w->stop_ev);
        w->stop_ev = NULL;
    }
    if (w->wake_ev) {
        event_free(w->wake_ev);
        w->wake_ev = NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (w->stop_fds[i] != -1)
            close(w->stop_fds[i]);
        w->stop_fds[i] = -1;
        if (w->wake_fds[i] != -1)
            close(w->wake_fds[i]);
        w->wake_fds[i] = -1;
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
