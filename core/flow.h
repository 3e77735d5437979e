/* SPDX-License-Identifier: MIT */
/* flow: one transaction (a request and its response, or a CONNECT tunnel).
 * Created by the conn that read the request head; the conn holds one
 * reference while the exchange runs, the bus one per queued event, each
 * subscriber its own while it formats. Nothing modifies a flow after
 * flow_finish(): from then on it is read-only and may be read from any
 * thread. Reference counts are atomic for that reason. */
#ifndef LUCENT_CORE_FLOW_H
#define LUCENT_CORE_FLOW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/hdrs.h"

enum flow_state { FLOW_REQUEST = 0, FLOW_UPSTREAM, FLOW_RESPONSE, FLOW_DONE };

#define FLOW_ADDR_MAX 56

struct flow {
    uint64_t id;
    enum flow_state state;
    bool tls;                   /* the client side was intercepted (TLS) */
    bool connect;               /* a CONNECT tunnel */
    char sni[256];              /* TLS server name the client asked for, or "" */
    char tls_client[96];        /* client side: "TLSv1.3 TLS_AES_128_GCM_SHA256", or "" */
    char tls_server[96];        /* upstream side, or "" */
    char *server_cert;          /* owned: upstream certificate subject/issuer/validity, or NULL */
    char client[FLOW_ADDR_MAX]; /* "127.0.0.1:53122", "[::1]:4000" */
    char server[FLOW_ADDR_MAX]; /* upstream address connected to, or "" */

    /* request, as the client sent it */
    char method[24];
    char *url; /* owned: scheme://authority/path?query, or host:port */
    uint8_t req_major, req_minor;
    struct hdrs req_headers, req_trailers; /* owned */
    uint64_t req_size;                     /* body bytes (de-chunked); tunnel: client→server */

    /* response, as the origin sent it (or lucent's own error reply) */
    int status;   /* 0 = no response */
    char *reason; /* owned; NULL when no response */
    uint8_t resp_major, resp_minor;
    struct hdrs resp_headers, resp_trailers; /* owned */
    uint64_t resp_size;                      /* body bytes (de-chunked); tunnel: server→client */
    bool local_reply;                        /* the response came from lucent, not upstream */

    /* bodies kept for viewers and HAR when capturing is on: de-chunked,
     * still content-encoded, at most the capture limit of each */
    struct buf req_body, resp_body; /* owned */
    bool req_body_cut, resp_body_cut; /* the body was longer than what was kept */
    size_t captured;                  /* private: bytes counted against the budget */
    bool replay;                      /* re-sent from the viewer */
    char cache[24];                   /* cache verdict tag ("hit", "fresh", ...), or "" */
    char cache_status[80];            /* lucent's own cache (--cache): "HIT", "MISS",
                                       * "REVALIDATED", "BYPASS (why)", or "" */
    int64_t cache_at;                 /* when that verdict was made (s since the epoch), 0 = none;
                                       * cache_analyze(f, cache_at) gives it again in full */

    /* timing: wall clock at start (µs since the epoch); the rest monotonic µs,
     * 0 when the phase was not reached */
    int64_t wall_start;
    int64_t t_start, t_connected, t_resp_start, t_end;
    int64_t t_tls; /* the upstream TLS handshake of this exchange ended, or 0 */

    /* the classroom: what crossed the wire before lucent decrypted anything
     * (intercepted TLS: CONNECT line, ClientHello, versions, certificate in
     * clear, ciphertext sizes and timing), and the origin's certificate
     * beside the one lucent minted; owned text, or NULL */
    char *wire;
    char *certs;

    char *error; /* owned; NULL, or why the exchange failed */
    atomic_uint refs;
};

struct flow *flow_new(uint64_t id) LC_WUR; /* refs == 1, t_start = now */
struct flow *flow_ref(struct flow *f) LC_NONNULL(1);
void flow_unref(struct flow *f); /* NULL is fine */
void flow_fail(struct flow *f, const char *fmt, ...) LC_NONNULL(1)
    LC_PRINTF(2, 3); /* first reason wins */
void flow_set_url(struct flow *f, const char *url, size_t len) LC_NONNULL(1, 2);
void flow_set_reason(struct flow *f, const char *reason, size_t len) LC_NONNULL(1);
void flow_set_server_cert(struct flow *f, const char *summary) LC_NONNULL(1, 2);

/* Captured bodies: all flows together keep at most FLOW_CAPTURE_BUDGET
 * bytes (freed flows give theirs back). Of n more bytes for a body, how many
 * may be kept (at most cap per body)? Marks the body cut when fewer, and
 * counts what it allows: the caller appends exactly that many. */
#define FLOW_CAPTURE_BUDGET ((size_t)512 * 1024 * 1024)
size_t flow_capture_take(struct flow *f, bool req, size_t n, size_t cap) LC_NONNULL(1);
void flow_capture_reset(struct flow *f, bool req) LC_NONNULL(1);

int64_t flow_now_us(void);   /* monotonic */
int64_t flow_wall_us(void);  /* realtime */
uint64_t flow_next_id(void); /* process-wide, from 1 */

#endif
