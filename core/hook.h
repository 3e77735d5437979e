/* SPDX-License-Identifier: MIT */
/* hook: what a script hook sees and may change of one exchange. The conn
 * owns one hook_ctx for its current exchange and fills it; script.c runs the
 * hooks, lflow.c is the Lua face of it. After a hook the conn reads the
 * requests it left (respond, kill, delay, stream) and acts on them.
 * Pure data and a few helpers; no I/O. */
#ifndef LUCENT_CORE_HOOK_H
#define LUCENT_CORE_HOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/flow.h"
#include "core/url.h"

enum hook {
    HOOK_CONNECT = 0,
    HOOK_REQUESTHEADERS,
    HOOK_REQUEST,
    HOOK_RESPONSEHEADERS,
    HOOK_RESPONSE,
    HOOK_ERROR,
    HOOK_DONE,
    HOOK_COUNT,
};

extern const char *const hook_names[HOOK_COUNT];

/* One message body as hooks see it. */
struct hook_body {
    struct buf raw; /* owned: the body as on the wire (de-chunked), when present */
    bool present;   /* raw holds the whole body (possibly empty) */
    bool streamed;  /* it went (or goes) through unbuffered: hooks see none */
    bool stream;    /* a script asked for streaming */
    bool replaced;  /* a script assigned it: identity-encoded now */
};

struct hook_ctx {
    struct flow *flow;      /* borrowed: the exchange */
    struct url *target;     /* borrowed: where the request goes (writable) */
    struct buf *path_store; /* borrowed: owns target->path once a script set it */
    size_t body_limit;      /* --body-limit */
    struct hook_body req, resp;

    /* left by hooks for the conn; cleared by it once acted on */
    bool host_set;     /* a script wrote the Host header itself: keep it */
    bool respond;      /* flow->status, reason, resp_headers and resp.raw are the reply */
    bool kill;         /* drop the client connection */
    int64_t delay_ms;  /* hold the flow this long first */
    char killed_by[64]; /* script name, for the flow's error */
};

void hook_ctx_init(struct hook_ctx *hc) LC_NONNULL(1);
/* Starts a new exchange: bodies emptied (memory kept unless large), requests cleared. */
void hook_ctx_reset(struct hook_ctx *hc, struct flow *f, struct url *target,
                    struct buf *path_store, size_t body_limit) LC_NONNULL(1, 3, 4);
void hook_ctx_free(struct hook_ctx *hc);

/* Standard reason phrase for a status code ("" when unknown). */
const char *hook_reason(int status);

/* Rebuilds flow->url from the target (after a script re-targeted it). */
void hook_set_flow_url(struct hook_ctx *hc) LC_NONNULL(1);

#endif
