/* SPDX-License-Identifier: MIT */
/* worker: one thread, one event loop. A worker owns its listener (the
 * workers share the port through SO_REUSEPORT), its resolver, and every
 * connection it accepted; nothing in a worker is touched by another thread,
 * so nothing here needs a lock. Shared with other threads: the bus (which
 * locks internally) and the read-only options. */
#ifndef LUCENT_CORE_WORKER_H
#define LUCENT_CORE_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include "core/attrib.h"
#include "core/bus.h"
#include "core/opts.h"

struct event_base;
struct evdns_base;
struct evconnlistener;
struct conn;
struct tls;
struct scripts;
struct pauses;
struct scache;

struct worker {
    unsigned index;
    pthread_t thread;
    bool running;
    struct event_base *base;         /* owned */
    struct evdns_base *dns;          /* owned */
    struct evconnlistener *listener; /* owned */
    struct event *stop_ev;           /* owned: reads stop_fds[0] */
    int stop_fds[2];                 /* owned: worker_stop() writes a byte */
    const struct opts *opts;         /* borrowed */
    struct bus *bus;                 /* borrowed */
    struct tls *tls;                 /* borrowed: shared, see core/tls.h */
    struct scripts *scripts;         /* owned: this worker's Lua states, or NULL */
    struct pauses *pauses;           /* borrowed: the viewer's intercept, or NULL */
    struct scache *scache;           /* borrowed: lucent's shared cache (--cache), or NULL */
    struct event *wake_ev;           /* owned: reads wake_fds[0] */
    int wake_fds[2];                 /* owned: the viewer decided for a held flow */
    TAILQ_HEAD(conn_list, conn) conns;
    size_t nconns;
    struct timeval tv_header, tv_idle, tv_connect, tv_upstream;
    struct sockaddr_storage listen_addr; /* where clients reach lucent (loop check) */
};

/* Sets up w and its listener on host:*port (SO_REUSEPORT); with *port == 0
 * the kernel picks one and *port is updated, so later workers can share it.
 * On failure returns -1 with a reason in err (and w is cleaned up). */
int worker_init(struct worker *w, unsigned index, const struct opts *o, struct bus *bus,
                uint16_t *port, char *err, size_t errlen) LC_NONNULL(1, 3, 4, 5, 6) LC_WUR;
/* Checks that host:*port is free (and picks a port for 0) before the
 * workers share it with SO_REUSEPORT. */
int worker_reserve_port(const char *host, uint16_t *port, char *err, size_t errlen)
    LC_NONNULL(1, 2, 3) LC_WUR;
int worker_start(struct worker *w) LC_NONNULL(1) LC_WUR; /* runs the loop on a new thread */
void worker_stop(struct worker *w) LC_NONNULL(1);        /* thread-safe: ask the loop to exit */
void worker_join(struct worker *w) LC_NONNULL(1);
/* Closes every connection (in-flight flows are published as failed) and
 * frees the loop. Only after the thread has ended. */
void worker_free(struct worker *w);

#endif
