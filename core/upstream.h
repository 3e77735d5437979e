/* SPDX-License-Identifier: MIT */
/* upstream: resolve a host name without blocking (evdns: /etc/hosts, then
 * the resolv.conf name servers; IPv4 and IPv6) and connect to its addresses
 * in turn, all under one deadline. The result is always delivered from the
 * event loop, never from inside upstream_connect(). */
#ifndef LUCENT_CORE_UPSTREAM_H
#define LUCENT_CORE_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"

struct bufferevent;
struct sockaddr;
struct worker;
struct upstream_req;

/* Called once. On success status is 0, bev is connected and now owned by the
 * callee, peer names the address ("127.0.0.1:80"). On failure bev is NULL,
 * status is 502 (resolve/connect failed), 504 (deadline) or 508 (the
 * address is lucent's own listener), err says why. */
typedef void (*upstream_done_fn)(void *arg, struct bufferevent *bev, const char *peer, int status,
                                 const char *err);

struct upstream_req *upstream_connect(struct worker *w, const char *host, uint16_t port,
                                      upstream_done_fn fn, void *arg) LC_NONNULL(1, 2, 4) LC_WUR;
/* Abandons a pending request: fn will not be called. */
void upstream_cancel(struct upstream_req *r);

/* "127.0.0.1:80" / "[::1]:80" */
void upstream_format_addr(const struct sockaddr *sa, char *out, size_t outlen) LC_NONNULL(1, 2);

#endif
