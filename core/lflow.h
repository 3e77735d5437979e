/* SPDX-License-Identifier: MIT */
/* lflow: the flow object a hook gets (flow, flow.request, flow.response,
 * their headers), reading and writing the conn's exchange through a
 * hook_ctx. Objects are only valid while their hook runs: each carries the
 * generation of the call that made it. Every change first saves what it
 * replaces, so a hook that fails can be undone as if it never ran. */
#ifndef LUCENT_CORE_LFLOW_H
#define LUCENT_CORE_LFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <lua.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/hdrs.h"
#include "core/hook.h"

/* What a failing hook call must put back; taken lazily by the setters. */
struct lflow_undo {
    /* small, always saved at the start of a call */
    struct url target;
    char method[24];
    uint8_t req_major, req_minor, resp_major, resp_minor;
    int status;
    bool local_reply;
    struct hook_body req_flags, resp_flags; /* flags only (raw not used) */
    bool respond, kill, host_set;
    int64_t delay_ms;
    /* saved on first change */
    bool have_path, have_url, have_reason, have_req_h, have_resp_h, have_req_body, have_resp_body;
    struct buf path;       /* owned: the path store as it was */
    char *url, *reason;    /* owned: the flow's as they were */
    struct hdrs req_h, resp_h; /* owned */
    struct buf req_body, resp_body; /* owned */
};

/* One per Lua state; its address sits in the state's extra space. */
struct lflow_env {
    const char *name;     /* borrowed: the script file as given */
    struct hook_ctx *hc;  /* the running hook's exchange, or NULL */
    enum hook hook;
    uint64_t gen;         /* bumped per call: objects of older calls are stale */
    size_t decode_limit;  /* largest decoded body handed to Lua */
    size_t nstates;       /* live flow.state tables */
    struct lflow_undo undo;
    struct buf scratch, scratch2; /* owned: decoding, building */
};

void lflow_env_init(struct lflow_env *e, const char *name, size_t decode_limit) LC_NONNULL(1, 2);
void lflow_env_free(struct lflow_env *e);

/* Registers the metatables in L (call once, protected). */
int lflow_open(lua_State *L);
/* Starts a hook call on hc; then push the flow object with lflow_push. */
void lflow_begin(struct lflow_env *e, struct hook_ctx *hc, enum hook h) LC_NONNULL(1, 2);
void lflow_push(lua_State *L) LC_NONNULL(1);
/* Ends the call: keep its changes, or put everything back. */
void lflow_commit(struct lflow_env *e) LC_NONNULL(1);
void lflow_rollback(struct lflow_env *e) LC_NONNULL(1);
/* The live flow behind the flow object at idx, or a Lua error. */
const struct flow *lflow_check(lua_State *L, int idx) LC_NONNULL(1);
/* Drops flow.state of flow `id` in L. */
void lflow_forget(lua_State *L, uint64_t id) LC_NONNULL(1);

#endif
