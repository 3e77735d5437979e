/* SPDX-License-Identifier: MIT */
/* conn_int: the conn structure, shared by conn.c (HTTP exchanges) and
 * tunnel.c (the byte pump for CONNECT and upgraded connections). */
#ifndef LUCENT_CORE_CONN_INT_H
#define LUCENT_CORE_CONN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "core/attrib.h"
#include "core/buf.h"
#include "core/conn.h"
#include "core/flow.h"
#include "core/hdrs.h"
#include "core/hello.h"
#include "core/hook.h"
#include "core/http1.h"
#include "core/url.h"

struct bufferevent;
struct event;
struct upstream_req;

/* Past this much unsent output on one side, stop reading the other. */
#define CONN_HIGH_WATER (512 * 1024)

enum conn_state {
    CONN_READ_HEAD = 0, /* waiting for (the rest of) a request head */
    CONN_CONNECTING,    /* resolving/connecting upstream; client reads off */
    CONN_REQ_BODY,      /* reading a request body for the `request` hook */
    CONN_EXCHANGE,      /* request body and response streaming */
    CONN_TUNNEL,        /* CONNECT or Upgrade: bytes both ways */
    CONN_PEEK,          /* after CONNECT's 200: what does the client speak? */
    CONN_HANDSHAKE,     /* TLS handshakes of an intercepted CONNECT */
    CONN_DRAINING,      /* last bytes to the client, then close */
};

struct conn {
    uint64_t id;
    struct worker *w; /* borrowed */
    TAILQ_ENTRY(conn) link;
    enum conn_state state;
    char client_addr[FLOW_ADDR_MAX];

    struct bufferevent *cbev;      /* owned: client side */
    struct bufferevent *ubev;      /* owned: upstream side, or NULL */
    struct upstream_req *pending;  /* owned: connect in progress, or NULL */
    char up_key[URL_HOST_MAX + 8]; /* host:port ubev is connected to */
    char up_peer[FLOW_ADDR_MAX];
    struct event *timer; /* owned: header/idle/drain deadline */

    struct http1 crx, urx; /* request and response readers */
    struct hdrs req_h;     /* request head being read */
    struct hdrs scratch;   /* forwarded head being built */
    struct buf out_head;   /* forwarded request head (kept for a retry) */
    struct flow *flow;     /* owned reference: the current exchange */
    struct url target;

    /* the current exchange */
    enum http1_body req_body, resp_body;
    uint64_t req_left, resp_left;
    bool req_done, resp_head_done, resp_done;
    bool client_http10;
    bool client_keep; /* the client connection may carry another request */
    bool up_keep;     /* the upstream connection may carry another request */
    bool chunk_up;    /* re-chunk the request body to upstream */
    bool chunk_down;  /* re-chunk the response body to the client */
    bool close_down;  /* response delimited by closing the client side */
    bool head_request;
    bool upgrade_req;
    bool expect_continue;
    bool up_reused; /* this exchange runs on a kept-alive upstream */
    bool retried;
    bool sent_to_client;           /* some response bytes went to the client */
    bool up_paused, client_paused; /* reading stopped by back-pressure */
    bool header_timer;             /* the timer is counting a head, not idleness */

    /* scripts: what hooks see of this exchange, and their effects */
    struct hook_ctx hc;
    struct buf path_store;    /* the target's path once a script changed it */
    struct event *hook_timer; /* owned: flow:delay() */
    void (*after_delay)(struct conn *c);
    bool hook_wait;      /* a delay holds the exchange */
    bool req_buffering;  /* the request body goes to hc.req.raw */
    bool req_buffered;   /* ... and is complete there: sent with a Content-Length */
    bool req_prefix;     /* hc.req.raw holds the start of a body that streams */
    bool resp_buffering; /* the response body goes to hc.resp.raw */
    bool resp_read_done; /* the whole response body has been read */
    bool resp_fixed_len; /* send the response with Content-Length hc.resp.raw.len */
    bool continue_sent;  /* lucent answered Expect: 100-continue itself */
    bool icpt_req, icpt_resp; /* the viewer's intercept holds this exchange there */
    bool paused;              /* held by the viewer (listed in w->pauses) */
    /* lucent's shared cache (--cache) */
    struct scache_entry *sc_entry; /* owned reference: the stale entry being revalidated */
    bool sc_cond;                  /* lucent added the conditional fields for it */
    bool sc_tee;                   /* keep the response body to store it */
    struct buf sc_body;            /* that body */
    int pause_phase;          /* enum pause_phase */

    /* tunnel */
    bool client_eof, up_eof;
    bool shut_client, shut_up;     /* the half-close was passed on to that side */
    bool notify_client, notify_up; /* close_notify sent on that (TLS) side */
    struct event *tunnel_poll;     /* owned: waits for ciphertext under a TLS filter to leave */

    /* inside a CONNECT: requests go to `tunnel` (scheme set by tunnel_tls) */
    bool in_tunnel, tunnel_tls;
    struct url tunnel;
    char sni[256];       /* from the client's ClientHello, or "" */
    char tls_client[96]; /* "TLSv1.3 TLS_AES_128_GCM_SHA256" */
    char tls_server[96];
    char *server_cert;  /* owned: upstream certificate summary */
    /* the classroom's wire view of an intercepted tunnel */
    struct hello hello;     /* the ClientHello as it crossed in clear */
    char connect_line[300]; /* "CONNECT host:port HTTP/1.1" */
    char *origin_cert;      /* owned: the origin's certificate, in detail */
    char *minted_cert;      /* owned: the one lucent showed the client */
    struct wire_ev {
        int64_t t;  /* monotonic µs */
        uint32_t n; /* ciphertext bytes */
        bool up;    /* client to lucent */
    } wire[64];     /* ring: the latest chunks of ciphertext */
    unsigned nwire; /* chunks seen (wire[nwire % 64] is the next) */
    unsigned wire_mark; /* the first chunk of the current exchange */
    char *up_tls_error; /* owned: why upstream TLS is unusable, or NULL */

    int64_t drain_deadline; /* CONN_DRAINING gives up then */
    unsigned holds;
    bool closing;
};

void conn_hold(struct conn *c);
void conn_release(struct conn *c);     /* frees c if closing and unheld */
void conn_close(struct conn *c);       /* mark; freed at the last release */
void conn_finish_flow(struct conn *c); /* publish and drop the current flow */
/* Output is written as soon as a callback is done (conn_release), not a
 * loop turn later; EV_WRITE is on only while libevent holds unsent bytes. */
void conn_flush(struct bufferevent *bev);
/* Reads up to budget more bytes from bev's socket into its input buffer
 * (libevent reads at most 4 KiB per readiness); returns how many. */
size_t conn_read_more(struct bufferevent *bev, size_t budget);
/* After queueing output on dst: if it is backed up past CONN_HIGH_WATER,
 * stop reading src (once) and return true. */
bool conn_backed_up(struct bufferevent *dst, struct bufferevent *src, bool *paused);
/* From dst's write callback: resume src if it was paused (returns true),
 * and turn EV_WRITE off when nothing is left to write. */
bool conn_drained(struct bufferevent *dst, struct bufferevent *src, bool *paused);

/* conn.c, for intercept.c */
void conn_reply_error(struct conn *c, int status, const char *fmt, ...) LC_PRINTF(3, 4);
void conn_send_request(struct conn *c);   /* upstream ready: send the pending request */
void conn_serve_requests(struct conn *c); /* (back) to reading requests from the client */

/* The viewer decided for this held exchange (edit: new text or NULL). */
void conn_pause_resolved(struct conn *c, int decision, const char *edit);

/* tunnel.c */
void tunnel_start(struct conn *c); /* both bevs set; the flow stays open */

/* intercept.c */
void intercept_peek(struct conn *c); /* CONNECT answered: look at the client's first bytes */
void intercept_upstream_tls(struct conn *c); /* TCP up, tunnel_tls: TLS, then conn_send_request */
void intercept_timeout(struct conn *c);      /* the conn timer fired in CONN_PEEK/CONN_HANDSHAKE */
/* The classroom's view of a finished flow of an intercepted tunnel: what
 * crossed the wire in clear, and the two certificates (f->wire, f->certs). */
void intercept_wire(struct conn *c, struct flow *f);
bool conn_is_tls(struct bufferevent *bev);

#endif
