/* SPDX-License-Identifier: MIT */
/* conn: one accepted client connection and everything it drives: reading
 * requests, the upstream connection (kept alive and reused for the same
 * host:port), streaming bodies both ways with back-pressure, CONNECT and
 * Upgrade tunnels, timeouts, error replies, and one flow per exchange.
 * Exchanges on a connection run one at a time, so pipelined requests are
 * answered in order. A conn is never freed inside its own callback: work is
 * bracketed by conn_hold()/conn_release() and conn_close() only marks it. */
#ifndef LUCENT_CORE_CONN_H
#define LUCENT_CORE_CONN_H

#include <event2/util.h>
#include "core/attrib.h"

struct worker;
struct sockaddr;
struct conn;

/* Takes ownership of fd (closed on failure). */
void conn_accept(struct worker *w, evutil_socket_t fd, const struct sockaddr *sa) LC_NONNULL(1, 3);
/* Worker shutdown: the in-flight flow (if any) is published as failed with
 * `why`, then everything is freed at once. */
void conn_destroy(struct conn *c, const char *why) LC_NONNULL(1, 2);

#endif
