/* SPDX-License-Identifier: MIT */
/* intercept: what happens to a CONNECT tunnel once lucent has said 200.
 *
 * peek: read the client's first bytes without consuming them. A TLS
 *   ClientHello (SNI read from it) is intercepted unless the host is to be
 *   passed through; something that looks like HTTP is served as plain
 *   requests inside the tunnel; anything else, or a server that speaks
 *   first, becomes an opaque tunnel.
 * upstream TLS: SNI and ALPN http/1.1 to the origin, its certificate checked
 *   (the outcome is kept: a failure is told to the client as a 502 on its
 *   first request, over TLS, so the browser shows why).
 * client TLS: a leaf for the SNI (or CONNECT host) that mirrors the origin
 *   certificate's names, then requests are read as in plain HTTP.
 * A client that refuses lucent's certificate ends the CONNECT flow with a
 * tls-client-rejected error and the host is passed through next time.
 *
 * Must not: consume a byte of the ClientHello before deciding (the
 * passthrough tunnel and the TLS filter both need it), block, or publish a
 * CONNECT flow for a connection whose requests are published instead. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "core/conn_int.h"
#include "core/hello.h"
#include "core/log.h"
#include "core/script.h"
#include "core/tls.h"
#include "core/worker.h"
#include "core/buf.h"
#include "core/flowlog.h"

#define PEER_NAMES_MAX 32

static void client_tls_start(struct conn *c, char **names, size_t nnames);

/* The CONNECT flow is not published: the requests inside are the flows. */
static void drop_connect_flow(struct conn *c)
{
    if (c->flow)
        scripts_flow_end(c->w->scripts, c->flow->id);
    flow_unref(c->flow);
    c->flow = NULL;
}

static void passthrough(struct conn *c, const char *why)
{
    LC_DEBUG("c%" PRIu64 ": %s passes through (%s)", c->id, c->up_key, why);
    if (c->flow && c->sni[0])
        snprintf(c->flow->sni, sizeof(c->flow->sni), "%s", c->sni);
    tunnel_start(c);
}

/* Pulls the OpenSSL errors of a bufferevent (and the thread's queue) into
 * one short reason. */
static bool ssl_reason(struct bufferevent *bev, char *out, size_t outlen)
{
    unsigned long e, last = 0;
    bool alert = false; /* the peer sent a TLS alert (it refused something) */
    /* libevent keeps SSL_get_error()'s code among them: take a real one */
    while ((e = bufferevent_get_openssl_error(bev)) != 0)
        if (last == 0 && ERR_GET_LIB(e) != 0)
            last = e;
    while ((e = ERR_get_error()) != 0)
        if (last == 0 && ERR_GET_LIB(e) != 0)
            last = e;
    if (last != 0) {
        const char *r = ERR_reason_error_string(last);
        /* alerts received arrive as SSL reasons from SSL_AD_REASON_OFFSET on */
        alert = ERR_GET_LIB(last) == ERR_LIB_SSL && ERR_GET_REASON(last) >= SSL_AD_REASON_OFFSET;
        if (r == NULL) { /* libevent hands back raw codes: the text is in the string form */
            char buf[256];
            ERR_error_string_n(last, buf, sizeof(buf));
            const char *colon = strrchr(buf, ':');
            snprintf(out, outlen, "%s", colon && colon[1] ? colon + 1 : buf);
        } else {
            snprintf(out, outlen, "%s", r);
        }
    } else {
        int se = EVUTIL_SOCKET_ERROR();
        snprintf(out, outlen, "%s", se ? evutil_socket_error_to_string(se) : "connection closed");
    }
    return alert || strstr(out, "alert") != NULL;
}

/* ---- upstream TLS ------------------------------------------------------- */

static void up_tls_done(struct conn *c, bool ok)
{
    char *names[PEER_NAMES_MAX];
    size_t nnames = 0;
    SSL *ssl = ok ? bufferevent_openssl_get_ssl(c->ubev) : NULL;

    if (ssl != NULL) {
        char why[400], summary[900];
        tls_describe(ssl, c->tls_server, sizeof(c->tls_server));
        tls_peer_summary(ssl, summary, sizeof(summary));
        struct buf d = BUF_INIT;
        tls_cert_details(ssl, true, "    ", &d);
        free(c->origin_cert);
        c->origin_cert = d.p; /* owned now */
        free(c->server_cert);
        c->server_cert = strdup(summary);
        if (tls_check_upstream(c->w->tls, ssl, why, sizeof(why)) < 0) {
            free(c->up_tls_error);
            c->up_tls_error = strdup(why);
        }
        nnames = tls_peer_names(ssl, names, PEER_NAMES_MAX);
    }
    if (c->ubev)
        bufferevent_set_timeouts(c->ubev, NULL, NULL);
    if (c->flow)
        c->flow->t_tls = flow_now_us();
    if (c->state == CONN_HANDSHAKE) {
        client_tls_start(c, names, nnames);
    } else if (c->up_tls_error) {
        conn_reply_error(c, 502, "%s", c->up_tls_error);
    } else if (c->flow) {
        snprintf(c->flow->tls_server, sizeof(c->flow->tls_server), "%s", c->tls_server);
        if (c->server_cert)
            flow_set_server_cert(c->flow, c->server_cert);
        conn_send_request(c);
    }
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
}

static void on_up_tls_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    char why[300];
    conn_hold(c);
    if (what & BEV_EVENT_CONNECTED) {
        up_tls_done(c, true);
    } else {
        if (what & BEV_EVENT_TIMEOUT)
            snprintf(why, sizeof(why), "timed out");
        else
            ssl_reason(bev, why, sizeof(why));
        free(c->up_tls_error);
        size_t n = strlen(why) + strlen(c->up_key) + 64;
        c->up_tls_error = malloc(n);
        if (c->up_tls_error)
            snprintf(c->up_tls_error, n, "TLS handshake with %s failed: %s", c->up_key, why);
        bufferevent_free(c->ubev);
        c->ubev = NULL;
        c->up_key[0] = '\0';
        up_tls_done(c, false);
    }
    conn_release(c);
}

void intercept_upstream_tls(struct conn *c)
{
    char err[300];
    /* the tunnel's origin by the name the client asked for; a script may
     * have sent the request elsewhere */
    bool tunnel_origin = strcmp(c->target.host, c->tunnel.host) == 0 &&
                         c->target.port == c->tunnel.port;
    const char *host = tunnel_origin && c->sni[0] ? c->sni : c->target.host;
    evutil_socket_t fd = bufferevent_getfd(c->ubev);
    SSL *ssl = tls_client_ssl(c->w->tls, host, c->target.port, host, err, sizeof(err));

    free(c->up_tls_error);
    c->up_tls_error = NULL;
    if (ssl == NULL) {
        c->up_tls_error = strdup(err);
        up_tls_done(c, false);
        return;
    }
    /* Reads go through a 64 KiB buffer BIO: OpenSSL alone reads a record
     * header, then its body, two read(2)s per 16 KiB. What the buffer holds
     * is invisible to the event loop; conn_read_more() drains it. Writes
     * go straight to the socket. */
    BIO *sock = BIO_new_socket(fd, BIO_NOCLOSE);
    BIO *rbuf = BIO_new(BIO_f_buffer());
    if (sock == NULL || rbuf == NULL || BIO_set_read_buffer_size(rbuf, 64 * 1024) != 1 ||
        BIO_up_ref(sock) != 1) {
        BIO_free(sock);
        BIO_free(rbuf);
        SSL_free(ssl);
        c->up_tls_error = strdup("cannot set up upstream TLS: out of memory");
        up_tls_done(c, false);
        return;
    }
    BIO_push(rbuf, sock);
    SSL_set_bio(ssl, rbuf, sock); /* both references now the SSL's */
    /* the plain bufferevent lets go of the socket; an OpenSSL one takes it */
    bufferevent_disable(c->ubev, EV_READ | EV_WRITE);
    bufferevent_setfd(c->ubev, -1);
    bufferevent_free(c->ubev);
    c->ubev = bufferevent_openssl_socket_new(c->w->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE);
    if (c->ubev == NULL) {
        /* libevent may already have freed ssl and closed fd: touch neither */
        c->up_tls_error = strdup("cannot set up upstream TLS: out of memory");
        c->up_key[0] = '\0';
        up_tls_done(c, false);
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(c->ubev, 1);
    bufferevent_set_max_single_read(c->ubev, CONN_HIGH_WATER);
    bufferevent_set_max_single_write(c->ubev, CONN_HIGH_WATER);
    bufferevent_setcb(c->ubev, NULL, NULL, on_up_tls_event, c);
    bufferevent_set_timeouts(c->ubev, &c->w->tv_connect, &c->w->tv_connect);
    bufferevent_enable(c->ubev, EV_READ | EV_WRITE);
}

/* ---- client TLS --------------------------------------------------------- */

static void on_client_tls_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (what & BEV_EVENT_CONNECTED) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        tls_describe(ssl, c->tls_client, sizeof(c->tls_client));
        struct buf d = BUF_INIT;
        tls_cert_details(ssl, false, "    ", &d);
        free(c->minted_cert);
        c->minted_cert = d.p;
        evtimer_del(c->timer);
        drop_connect_flow(c);
        LC_DEBUG("c%" PRIu64 ": intercepting %s (%s)", c->id, c->tunnel.host, c->tls_client);
        conn_serve_requests(c);
    } else {
        char why[300];
        bool refused = false;
        if (what & BEV_EVENT_TIMEOUT)
            snprintf(why, sizeof(why), "no answer to lucent's certificate");
        else
            refused = ssl_reason(bev, why, sizeof(why));
        const char *name = c->sni[0] ? c->sni : c->tunnel.host;
        if (!refused) {
            /* a client that just went away (browsers drop spare
             * connections mid-handshake) refused nothing: no pass-through */
            if (c->flow)
                flow_fail(c->flow, "the TLS handshake with the client did not finish (%s)", why);
            LC_INFO("c%" PRIu64 ": TLS handshake with the client for %s ended: %s", c->id, name,
                    why);
            conn_finish_flow(c);
            conn_close(c);
            conn_release(c);
            return;
        }
        if (c->flow) {
            flow_fail(c->flow,
                      "tls-client-rejected: the client refused lucent's certificate for %s (%s). "
                      "Install lucent's CA (see http://lucent.proxy/) or, if the app pins its "
                      "certificates, pass the host through with --ignore-hosts; lucent passes "
                      "%s:%u through from now on",
                      name, why, c->tunnel.host, c->tunnel.port);
            snprintf(c->flow->sni, sizeof(c->flow->sni), "%s", c->sni);
        }
        LC_INFO("c%" PRIu64 ": client rejected lucent's certificate for %s: %s", c->id, name, why);
        tls_remember_rejected(c->w->tls, c->tunnel.host, c->tunnel.port);
        conn_finish_flow(c);
        conn_close(c);
    }
    conn_release(c);
}

static void wire_note(struct conn *c, size_t n, bool up)
{
    struct wire_ev *e = &c->wire[c->nwire++ % LC_ARRAY_LEN(c->wire)];
    e->t = flow_now_us();
    e->n = (uint32_t)n;
    e->up = up;
}

static void on_wire_in(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    if (info->n_added > 0)
        wire_note(arg, info->n_added, true);
}

static void on_wire_out(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
    if (info->n_added > 0)
        wire_note(arg, info->n_added, false);
}

void intercept_wire(struct conn *c, struct flow *f)
{
    struct buf w = BUF_INIT, sz = BUF_INIT;
    const struct hello *h = &c->hello;
    SSL *ssl = bufferevent_openssl_get_ssl(c->cbev);
    char name[80];

    buf_puts(&w, "What anyone on the network path between the client and lucent saw:\n");
    if (c->connect_line[0])
        buf_printf(&w, "  %s   (in clear, before TLS)\n", c->connect_line);
    buf_puts(&w, "  ClientHello, in clear:\n");
    buf_printf(&w, "    server name (SNI)   %s\n", h->sni[0] ? h->sni : "(none)");
    buf_printf(&w, "    ALPN offered        %s\n", h->alpn[0] ? h->alpn : "(none)");
    buf_puts(&w, "    versions offered    ");
    if (h->nversions == 0)
        buf_printf(&w, "%s", tls_version_name(h->version));
    for (unsigned i = 0; i < h->nversions; i++)
        buf_printf(&w, "%s%s", i ? ", " : "", tls_version_name(h->versions[i]));
    buf_printf(&w, "\n    cipher suites       %u offered:", h->nciphers);
    for (unsigned i = 0; i < h->nciphers && ssl; i++) {
        tls_suite_name(ssl, h->ciphers[i], name, sizeof(name));
        buf_printf(&w, "%s%s", i % 3 ? ", " : "\n      ", name);
    }
    buf_printf(&w, "\n  version and cipher chosen   %s\n", c->tls_client[0] ? c->tls_client : "?");
    bool tls12 = strncmp(c->tls_client, "TLSv1.2", 7) == 0;
    buf_printf(&w, "  server certificate          %s\n",
               tls12 ? "sent in clear (TLS 1.2): lucent's certificate, below"
                     : "encrypted (TLS 1.3 hides it)");
    uint64_t up = 0, down = 0;
    unsigned nup = 0, ndown = 0;
    unsigned first = c->nwire > LC_ARRAY_LEN(c->wire) ? c->nwire - (unsigned)LC_ARRAY_LEN(c->wire) : 0;
    if (first < c->wire_mark)
        first = c->wire_mark; /* since the previous exchange on this connection ended */
    int64_t t0 = first < c->nwire ? c->wire[first % LC_ARRAY_LEN(c->wire)].t : f->t_start;
    struct buf times = BUF_INIT;
    unsigned shown = 0;
    for (unsigned i = first; i < c->nwire; i++) {
        const struct wire_ev *e = &c->wire[i % LC_ARRAY_LEN(c->wire)];
        if (e->up)
            up += e->n, nup++;
        else
            down += e->n, ndown++;
        if (shown++ < 12)
            buf_printf(&times, "    +%7.2f ms  %s %u B\n", (double)(e->t - t0) / 1000.0,
                       e->up ? "client \xe2\x86\x92 lucent" : "lucent \xe2\x86\x92 client", e->n);
    }
    buf_puts(&w, "  encrypted bytes of this exchange: ");
    flowlog_size(up, &sz);
    buf_printf(&w, "%.*s up in %u chunk(s), ", (int)sz.len, sz.p, nup);
    buf_reset(&sz);
    flowlog_size(down, &sz);
    buf_printf(&w, "%.*s down in %u chunk(s)\n", (int)sz.len, sz.p, ndown);
    if (times.len)
        buf_append(&w, times.p, times.len);
    c->wire_mark = c->nwire;
    buf_puts(&w, "  Nothing else: method, URL path, headers, cookies and bodies were encrypted.\n");
    f->wire = w.p;

    struct buf k = BUF_INIT;
    buf_puts(&k, "The certificate the origin really sent (lucent checked it):\n");
    buf_puts(&k, c->origin_cert ? c->origin_cert : "    (not seen: no upstream TLS yet)\n");
    buf_puts(&k, "The certificate lucent minted and showed the client:\n");
    buf_puts(&k, c->minted_cert ? c->minted_cert : "    (none)\n");
    buf_puts(&k, "Trusting lucent's CA lets it stand in for every site like this.\n");
    f->certs = k.p;
    buf_free(&times);
    buf_free(&sz);
}

static void client_tls_start(struct conn *c, char **names, size_t nnames)
{
    char err[300];
    const char *name = c->sni[0] ? c->sni : c->tunnel.host;
    SSL *ssl =
        tls_server_ssl(c->w->tls, name, (const char *const *)names, nnames, err, sizeof(err));
    if (ssl == NULL && nnames > 0) /* an odd name upstream: mint for the host alone */
        ssl = tls_server_ssl(c->w->tls, name, NULL, 0, err, sizeof(err));
    if (ssl == NULL) {
        if (c->flow)
            flow_fail(c->flow, "cannot intercept %s: %s", name, err);
        conn_finish_flow(c);
        conn_close(c);
        return;
    }
    struct bufferevent *tlsbev = bufferevent_openssl_filter_new(
        c->w->base, c->cbev, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (tlsbev == NULL) {
        SSL_free(ssl);
        if (c->flow)
            flow_fail(c->flow, "cannot intercept %s: out of memory", name);
        conn_finish_flow(c);
        conn_close(c);
        return;
    }
    /* the filter stops encrypting while this much ciphertext is unsent */
    bufferevent_setwatermark(c->cbev, EV_WRITE, 0, CONN_HIGH_WATER);
    /* what an eavesdropper sees of it: sizes and times of the ciphertext */
    evbuffer_add_cb(bufferevent_get_input(c->cbev), on_wire_in, c);
    evbuffer_add_cb(bufferevent_get_output(c->cbev), on_wire_out, c);
    c->cbev = tlsbev; /* owns the plain one now */
    bufferevent_openssl_set_allow_dirty_shutdown(tlsbev, 1);
    bufferevent_setcb(tlsbev, NULL, NULL, on_client_tls_event, c);
    bufferevent_enable(tlsbev, EV_READ | EV_WRITE);
    c->in_tunnel = true;
    c->tunnel_tls = true;
    evtimer_add(c->timer, &c->w->tv_header);
}

/* ---- peek ---------------------------------------------------------------- */

static void decide(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->cbev);
    size_t len = evbuffer_get_length(in);
    struct hello h;
    const char *why = NULL;

    if (len == 0)
        return;
    if (len > HELLO_MAX + 64)
        len = HELLO_MAX + 64;
    const unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)len);
    switch (hello_parse(p, len, &h)) {
    case HELLO_NEED_MORE:
        return;
    case HELLO_NOT_TLS:
        if (p[0] >= 'A' && p[0] <= 'Z') { /* a request line: HTTP inside the tunnel */
            evtimer_del(c->timer);
            c->in_tunnel = true;
            c->tunnel_tls = false;
            drop_connect_flow(c);
            conn_serve_requests(c);
        } else {
            passthrough(c, "not TLS or HTTP");
        }
        return;
    case HELLO_BAD:
        passthrough(c, "unparsable TLS ClientHello");
        return;
    case HELLO_OK:
        break;
    }
    snprintf(c->sni, sizeof(c->sni), "%s", h.sni);
    c->hello = h;
    if (c->flow)
        snprintf(c->connect_line, sizeof(c->connect_line), "CONNECT %s HTTP/%d.%d",
                 c->flow->url ? c->flow->url : "", c->flow->req_major, c->flow->req_minor);
    if (tls_passthrough(c->w->tls, c->tunnel.host, c->tunnel.port, &why) ||
        (h.sni[0] && tls_passthrough(c->w->tls, h.sni, c->tunnel.port, &why))) {
        passthrough(c, why);
        return;
    }
    /* leave the ClientHello where it is: the TLS filter reads it from there */
    bufferevent_disable(c->cbev, EV_READ);
    c->state = CONN_HANDSHAKE;
    c->flow->tls = true;
    snprintf(c->flow->sni, sizeof(c->flow->sni), "%s", c->sni);
    /* the upstream handshake has its own deadline; the client's starts later */
    evtimer_del(c->timer);
    intercept_upstream_tls(c);
}

static void on_peek_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (c->state == CONN_PEEK)
        decide(c);
    conn_release(c);
}

static void on_peek_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    /* the client left before saying anything: an empty tunnel */
    if (c->flow)
        c->flow->req_size = 0;
    conn_finish_flow(c);
    conn_close(c);
    conn_release(c);
}

static void on_peek_up_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (c->state == CONN_PEEK)
        passthrough(c, "the server spoke first");
    conn_release(c);
}

static void on_peek_up_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    conn_hold(c);
    if (c->state == CONN_PEEK) {
        if (c->flow)
            flow_fail(c->flow, "%s closed the tunnel before the client spoke", c->up_key);
        conn_finish_flow(c);
        conn_close(c);
    }
    conn_release(c);
}

void intercept_peek(struct conn *c)
{
    c->state = CONN_PEEK;
    c->tunnel = c->target;
    c->sni[0] = '\0';
    c->in_tunnel = c->tunnel_tls = false;
    bufferevent_setcb(c->cbev, on_peek_read, NULL, on_peek_event, c);
    bufferevent_setcb(c->ubev, on_peek_up_read, NULL, on_peek_up_event, c);
    bufferevent_enable(c->cbev, EV_READ);
    bufferevent_enable(c->ubev, EV_READ);
    /* browsers open tunnels ahead of need: wait as for an idle connection */
    evtimer_add(c->timer, &c->w->tv_idle);
    decide(c); /* bytes may have come with the CONNECT */
}

void intercept_timeout(struct conn *c)
{
    if (c->state == CONN_PEEK) {
        if (c->flow)
            flow_fail(c->flow, "the client sent nothing through the tunnel within %g s",
                      c->w->opts->idle_timeout);
        conn_finish_flow(c);
        conn_close(c);
        return;
    }
    /* CONN_HANDSHAKE: the client went quiet during its handshake */
    if (c->flow)
        flow_fail(c->flow, "TLS handshake with the client timed out");
    conn_finish_flow(c);
    conn_close(c);
}
