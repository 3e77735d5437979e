/* SPDX-License-Identifier: MIT */
/* demo: a small web site built into lucent for classrooms (`lucent demo`,
 * --demo), so a class can work offline. It listens on loopback only
 * (127.0.0.1): plain HTTP on one port and HTTPS on the next, with a leaf for
 * "127.0.0.1" and "demo.lucent" minted from lucent's CA, so a browser that
 * trusts lucent's CA trusts the demo too. Its pages teach: a login with a
 * session cookie, caching headers and 304s, status codes, redirects and
 * their methods, chunked and slow responses, many small images, a JSON API
 * used by XMLHttpRequest and fetch, a WebSocket echo, GET/POST forms and a
 * multipart upload (with Expect: 100-continue).
 * The site runs on a thread of its own with its own event_base: it shares
 * nothing with the proxy's workers but the (thread-safe) leaf minting of
 * struct tls, and its state (sessions, API items) lives on that thread only.
 * Every wait has a timeout; heads, bodies (1 MiB), WebSocket messages and
 * connections are bounded. */
#ifndef LUCENT_CORE_DEMO_H
#define LUCENT_CORE_DEMO_H

#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"

struct demo;
struct tls;

/* Binds 127.0.0.1:port (HTTP) and 127.0.0.1:port+1 (HTTPS), or two ports
 * the kernel picks when port is 0, and starts the site's thread. Borrows
 * tls (it must outlive the demo). Call with SIGINT/SIGTERM already blocked
 * so the new thread never takes them. NULL with the reason in err. */
struct demo *demo_start(struct tls *tls, uint16_t port, char *err, size_t errlen)
    LC_NONNULL(1, 3) LC_WUR;
/* The ports bound by demo_start(). */
void demo_ports(const struct demo *d, uint16_t *http_port, uint16_t *https_port)
    LC_NONNULL(1, 2, 3);
/* Stops the thread, closes every connection and frees d. NULL is fine. */
void demo_stop(struct demo *d);

#endif
