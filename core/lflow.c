/* SPDX-License-Identifier: MIT */
/* lflow: flow, flow.request, flow.response and headers as Lua userdata.
 *
 * An object holds only the generation of the hook call that made it; every
 * access checks it against the state's running call, so an object kept past
 * its hook raises an error instead of touching freed memory. Setters save
 * what they replace (struct lflow_undo) before the first change of a call.
 *
 * Must not: keep pointers into the conn beyond a call, let a script put
 * CR/LF/NUL into a head, or change anything a later step cannot honour
 * (e.g. a body that already streamed). */
#include "core/lflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <lauxlib.h>

#include "core/codec.h"
#include "core/lutil.h"

#define MT_FLOW "lucent.flow"
#define MT_MSG "lucent.message"
#define MT_HDRS "lucent.headers"
#define STATES_KEY "lucent.states"

enum ud_kind { UD_FLOW = 0, UD_REQ, UD_RESP };

struct ud {
    uint64_t gen;
    enum ud_kind kind; /* UD_REQ/UD_RESP for messages and headers */
};

/* ---- environment --------------------------------------------------------- */

void lflow_env_init(struct lflow_env *e, const char *name, size_t decode_limit)
{
    memset(e, 0, sizeof(*e));
    e->name = name;
    e->decode_limit = decode_limit;
    hdrs_init(&e->undo.req_h);
    hdrs_init(&e->undo.resp_h);
}

void lflow_env_free(struct lflow_env *e)
{
    if (e == NULL)
        return;
    hdrs_free(&e->undo.req_h);
    hdrs_free(&e->undo.resp_h);
    buf_free(&e->undo.path);
    buf_free(&e->undo.req_body);
    buf_free(&e->undo.resp_body);
    free(e->undo.url);
    free(e->undo.reason);
    buf_free(&e->scratch);
    buf_free(&e->scratch2);
}

static struct lflow_env *env_of(lua_State *L)
{
    return *(struct lflow_env **)lua_getextraspace(L);
}

/* The live exchange behind the object at idx, or a Lua error. */
static struct hook_ctx *live(lua_State *L, int idx, const char *mt, struct ud **out)
{
    struct ud *u = luaL_checkudata(L, idx, mt);
    struct lflow_env *e = env_of(L);
    if (e->hc == NULL || u->gen != e->gen)
        luaL_error(L, "flow used after its hook returned (keep data in flow.state or copies)");
    if (out)
        *out = u;
    return e->hc;
}

static void push_ud(lua_State *L, enum ud_kind kind, const char *mt)
{
    struct ud *u = lua_newuserdatauv(L, sizeof(*u), 0);
    u->gen = env_of(L)->gen;
    u->kind = kind;
    luaL_setmetatable(L, mt);
}

/* ---- undo ------------------------------------------------------------------ */

void lflow_begin(struct lflow_env *e, struct hook_ctx *hc, enum hook h)
{
    struct lflow_undo *u = &e->undo;
    struct flow *f = hc->flow;

    e->hc = hc;
    e->hook = h;
    e->gen++;
    u->target = *hc->target;
    memcpy(u->method, f->method, sizeof(u->method));
    u->req_major = f->req_major;
    u->req_minor = f->req_minor;
    u->resp_major = f->resp_major;
    u->resp_minor = f->resp_minor;
    u->status = f->status;
    u->local_reply = f->local_reply;
    u->req_flags = hc->req;
    u->resp_flags = hc->resp;
    u->respond = hc->respond;
    u->kill = hc->kill;
    u->host_set = hc->host_set;
    u->delay_ms = hc->delay_ms;
    u->have_path = u->have_url = u->have_reason = false;
    u->have_req_h = u->have_resp_h = u->have_req_body = u->have_resp_body = false;
}

static void swap_buf(struct buf *a, struct buf *b)
{
    struct buf t = *a;
    *a = *b;
    *b = t;
}

static void swap_hdrs(struct hdrs *a, struct hdrs *b)
{
    struct hdrs t = *a;
    *a = *b;
    *b = t;
}

void lflow_rollback(struct lflow_env *e)
{
    struct lflow_undo *u = &e->undo;
    struct hook_ctx *hc = e->hc;
    struct flow *f = hc->flow;

    if (u->have_path)
        swap_buf(hc->path_store, &u->path); /* the saved target points into it */
    *hc->target = u->target;
    if (u->have_url) {
        free(f->url);
        f->url = u->url;
        u->url = NULL;
    }
    if (u->have_reason) {
        free(f->reason);
        f->reason = u->reason;
        u->reason = NULL;
    }
    memcpy(f->method, u->method, sizeof(f->method));
    f->req_major = u->req_major;
    f->req_minor = u->req_minor;
    f->resp_major = u->resp_major;
    f->resp_minor = u->resp_minor;
    f->status = u->status;
    f->local_reply = u->local_reply;
    if (u->have_req_h)
        swap_hdrs(&f->req_headers, &u->req_h);
    if (u->have_resp_h)
        swap_hdrs(&f->resp_headers, &u->resp_h);
    if (u->have_req_body)
        swap_buf(&hc->req.raw, &u->req_body);
    if (u->have_resp_body)
        swap_buf(&hc->resp.raw, &u->resp_body);
    /* flags back, bodies (swapped above) kept */
    struct buf rq = hc->req.raw, rs = hc->resp.raw;
    hc->req = u->req_flags;
    hc->resp = u->resp_flags;
    hc->req.raw = rq;
    hc->resp.raw = rs;
    hc->respond = u->respond;
    hc->kill = u->kill;
    hc->host_set = u->host_set;
    hc->delay_ms = u->delay_ms;
    lflow_commit(e); /* what is left in undo is the failed call's: drop it */
}

void lflow_commit(struct lflow_env *e)
{
    struct lflow_undo *u = &e->undo;
    if (u->have_path)
        buf_free(&u->path);
    free(u->url);
    free(u->reason);
    u->url = u->reason = NULL;
    if (u->have_req_h)
        hdrs_clear(&u->req_h);
    if (u->have_resp_h)
        hdrs_clear(&u->resp_h);
    if (u->have_req_body)
        buf_free(&u->req_body);
    if (u->have_resp_body)
        buf_free(&u->resp_body);
    u->have_path = u->have_url = u->have_reason = false;
    u->have_req_h = u->have_resp_h = u->have_req_body = u->have_resp_body = false;
    e->hc = NULL;
    if (e->scratch.cap > 1024 * 1024)
        buf_free(&e->scratch);
    if (e->scratch2.cap > 1024 * 1024)
        buf_free(&e->scratch2);
}

static struct hdrs *msg_hdrs(struct hook_ctx *hc, enum ud_kind k)
{
    return k == UD_REQ ? &hc->flow->req_headers : &hc->flow->resp_headers;
}

/* Sets every value of `name` to the strings at stack indexes vals[0..n):
 * together, where the first field of that name was (or at the end). */
static void set_values(lua_State *L, struct hdrs *h, const char *name, size_t nlen, int tidx,
                       lua_Integer n)
{
    struct hdrs nh;
    bool done = false;
    hdrs_init(&nh);
    for (size_t i = 0; i <= h->n; i++) {
        bool at_end = i == h->n;
        if (at_end && done)
            break;
        if (at_end || hdrs_name_is(h, i, name)) {
            if (!done) {
                for (lua_Integer j = 1; j <= n; j++) {
                    size_t vl;
                    lua_geti(L, tidx, j);
                    const char *v = lua_tolstring(L, -1, &vl);
                    hdrs_add(&nh, name, nlen, v, vl);
                    lua_pop(L, 1);
                }
                done = true;
            }
            continue;
        }
        size_t fl, vl;
        const char *fn = hdrs_name(h, i, &fl);
        const char *fv = hdrs_value(h, i, &vl);
        hdrs_add(&nh, fn, fl, fv, vl);
    }
    struct hdrs t = *h;
    *h = nh;
    hdrs_free(&t);
}

static void note_host(struct lflow_env *e, enum ud_kind k, const char *name)
{
    if (k == UD_REQ && strcasecmp(name, "Host") == 0)
        e->hc->host_set = true;
}

static struct hdrs *hdrs_for_write(struct lflow_env *e, enum ud_kind k)
{
    struct lflow_undo *u = &e->undo;
    struct hdrs *h = msg_hdrs(e->hc, k);
    bool *have = k == UD_REQ ? &u->have_req_h : &u->have_resp_h;
    if (!*have) {
        hdrs_copy(k == UD_REQ ? &u->req_h : &u->resp_h, h);
        *have = true;
    }
    return h;
}

static struct buf *body_for_write(struct lflow_env *e, enum ud_kind k)
{
    struct lflow_undo *u = &e->undo;
    struct hook_body *b = k == UD_REQ ? &e->hc->req : &e->hc->resp;
    bool *have = k == UD_REQ ? &u->have_req_body : &u->have_resp_body;
    if (!*have) {
        struct buf *save = k == UD_REQ ? &u->req_body : &u->resp_body;
        buf_free(save);
        *save = b->raw; /* moved, not copied */
        b->raw = (struct buf)BUF_INIT;
        *have = true;
    } else {
        buf_reset(&b->raw);
    }
    return &b->raw;
}

static void save_url(struct lflow_env *e)
{
    struct lflow_undo *u = &e->undo;
    if (!u->have_url) {
        u->url = e->hc->flow->url;
        e->hc->flow->url = NULL;
        u->have_url = true;
    }
}

static void set_reason(struct lflow_env *e, const char *r, size_t len)
{
    struct lflow_undo *u = &e->undo;
    struct flow *f = e->hc->flow;
    if (!u->have_reason) {
        u->reason = f->reason;
        f->reason = NULL;
        u->have_reason = true;
    }
    flow_set_reason(f, r, len);
}

static void set_path(struct lflow_env *e, const char *p, size_t len)
{
    struct hook_ctx *hc = e->hc;
    struct lflow_undo *u = &e->undo;
    if (!u->have_path) {
        buf_free(&u->path);
        u->path = *hc->path_store; /* the target may point into it: keep it alive */
        *hc->path_store = (struct buf)BUF_INIT;
        u->have_path = true;
    } else {
        buf_reset(hc->path_store);
    }
    buf_append(hc->path_store, p, len);
    hc->target->path = hc->path_store->p;
    hc->target->path_len = len;
}

static void target_changed(struct lflow_env *e)
{
    save_url(e);
    hook_set_flow_url(e->hc);
}

/* ---- validation ------------------------------------------------------------ */

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static void check_token(lua_State *L, const char *what, const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max)
        luaL_error(L, "%s must be 1 to %d characters", what, (int)max);
    for (size_t i = 0; i < len; i++)
        if (!is_tchar((unsigned char)s[i]))
            luaL_error(L, "%s contains a character not allowed there (byte %d)", what,
                       (unsigned char)s[i]);
}

static void check_value(lua_State *L, const char *name, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            luaL_error(L, "header %s: CR, LF and NUL are not allowed in a value", name);
}

/* ---- headers --------------------------------------------------------------- */

static int hdrs_index(lua_State *L)
{
    struct ud *u;
    struct hook_ctx *hc = live(L, 1, MT_HDRS, &u);
    size_t nlen, vlen;
    const char *name = luaL_checklstring(L, 2, &nlen);
    if (strcmp(name, "add") == 0 || strcmp(name, "get_all") == 0) {
        luaL_getmetatable(L, MT_HDRS);
        lua_getfield(L, -1, name);
        return 1;
    }
    char key[256];
    if (nlen >= sizeof(key))
        return lua_pushnil(L), 1;
    memcpy(key, name, nlen + 1);
    const char *v = hdrs_get(msg_hdrs(hc, u->kind), key, &vlen);
    if (v == NULL)
        lua_pushnil(L);
    else
        lua_pushlstring(L, v, vlen);
    return 1;
}

static void add_value(lua_State *L, struct hdrs *h, const char *name, size_t nlen, int idx)
{
    size_t vlen;
    const char *v = luaL_tolstring(L, idx, &vlen);
    check_value(L, name, v, vlen);
    hdrs_add(h, name, nlen, v, vlen);
    lua_pop(L, 1);
}

/* h[name] = string | number | {values...} | nil */
static void set_field(lua_State *L, struct lflow_env *e, enum ud_kind k, const char *name,
                      size_t nlen, int vidx)
{
    check_token(L, "a header name", name, nlen, 255);
    int t = lua_type(L, vidx);
    if (t != LUA_TNIL && t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TTABLE)
        luaL_error(L, "header %s: a value must be a string, a number, a list or nil", name);
    if (t == LUA_TTABLE) { /* check everything before changing anything */
        lua_Integer n = luaL_len(L, vidx);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, vidx, i);
            size_t vl;
            if (!lua_isstring(L, -1))
                luaL_error(L, "header %s: list item %d is not a string", name, (int)i);
            const char *v = lua_tolstring(L, -1, &vl);
            check_value(L, name, v, vl);
            lua_pop(L, 1);
        }
    } else if (t != LUA_TNIL) {
        size_t vl;
        const char *v = lua_tolstring(L, vidx, &vl);
        check_value(L, name, v, vl);
    }
    struct hdrs *h = hdrs_for_write(e, k);
    note_host(e, k, name);
    if (t == LUA_TNIL) {
        hdrs_remove(h, name, nlen);
    } else if (t == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, vidx);
        if (n == 0)
            hdrs_remove(h, name, nlen);
        else
            set_values(L, h, name, nlen, vidx, n);
    } else {
        size_t vl;
        const char *v = lua_tolstring(L, vidx, &vl);
        hdrs_set(h, name, v, vl);
    }
}

static int hdrs_newindex(lua_State *L)
{
    struct ud *u;
    live(L, 1, MT_HDRS, &u);
    size_t nlen;
    const char *name = luaL_checklstring(L, 2, &nlen);
    set_field(L, env_of(L), u->kind, name, nlen, 3);
    return 0;
}

static int hdrs_add_m(lua_State *L)
{
    struct ud *u;
    live(L, 1, MT_HDRS, &u);
    size_t nlen;
    const char *name = luaL_checklstring(L, 2, &nlen);
    luaL_checkany(L, 3);
    if (!lua_isstring(L, 3))
        luaL_error(L, "header %s: a value must be a string or a number", name);
    check_token(L, "a header name", name, nlen, 255);
    add_value(L, hdrs_for_write(env_of(L), u->kind), name, nlen, 3);
    note_host(env_of(L), u->kind, name);
    return 0;
}

static int hdrs_get_all(lua_State *L)
{
    struct ud *u;
    struct hook_ctx *hc = live(L, 1, MT_HDRS, &u);
    const char *name = luaL_checkstring(L, 2);
    struct hdrs *h = msg_hdrs(hc, u->kind);
    lua_newtable(L);
    lua_Integer n = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, name))
            continue;
        size_t vl;
        const char *v = hdrs_value(h, i, &vl);
        lua_pushlstring(L, v, vl);
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

static int hdrs_next(lua_State *L)
{
    struct ud *u;
    struct hook_ctx *hc = live(L, 1, MT_HDRS, &u);
    struct hdrs *h = msg_hdrs(hc, u->kind);
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(1));
    if (i < 0 || (size_t)i >= h->n)
        return 0;
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(1));
    size_t nl, vl;
    const char *n = hdrs_name(h, (size_t)i, &nl);
    const char *v = hdrs_value(h, (size_t)i, &vl);
    lua_pushlstring(L, n, nl);
    lua_pushlstring(L, v, vl);
    return 2;
}

static int hdrs_pairs(lua_State *L)
{
    live(L, 1, MT_HDRS, NULL);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, hdrs_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int hdrs_len(lua_State *L)
{
    struct ud *u;
    struct hook_ctx *hc = live(L, 1, MT_HDRS, &u);
    lua_pushinteger(L, (lua_Integer)msg_hdrs(hc, u->kind)->n);
    return 1;
}

static int hdrs_tostring(lua_State *L)
{
    lua_pushliteral(L, "headers");
    return 1;
}

/* msg.headers = {name = value-or-list, ...}: replaces them all (names sorted) */
static void replace_all(lua_State *L, struct lflow_env *e, enum ud_kind k, int tidx)
{
    luaL_checktype(L, tidx, LUA_TTABLE);
    lua_newtable(L); /* sorted names */
    int names = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, tidx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "headers: names must be strings");
        lua_pushvalue(L, -1);
        lua_rawseti(L, names, ++n);
    }
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, names);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    /* validate first: a failure must leave the headers as they were */
    for (lua_Integer i = 1; i <= n; i++) {
        size_t nl;
        lua_rawgeti(L, names, i);
        const char *name = lua_tolstring(L, -1, &nl);
        check_token(L, "a header name", name, nl, 255);
        lua_pop(L, 1);
    }
    hdrs_clear(hdrs_for_write(e, k));
    if (k == UD_REQ)
        e->hc->host_set = true; /* whatever the table says, Host included or left out */
    for (lua_Integer i = 1; i <= n; i++) {
        size_t nl;
        lua_rawgeti(L, names, i);
        const char *name = lua_tolstring(L, -1, &nl);
        lua_pushvalue(L, -1);
        lua_gettable(L, tidx);
        struct hdrs *h = hdrs_for_write(e, k);
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_Integer m = luaL_len(L, -1);
            for (lua_Integer j = 1; j <= m; j++) {
                lua_geti(L, -1, j);
                add_value(L, h, name, nl, lua_gettop(L));
                lua_pop(L, 1);
            }
        } else {
            add_value(L, h, name, nl, lua_gettop(L));
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

/* ---- bodies ---------------------------------------------------------------- */

static int push_body(lua_State *L, struct lflow_env *e, enum ud_kind k, bool decode)
{
    struct hook_ctx *hc = e->hc;
    struct hook_body *b = k == UD_REQ ? &hc->req : &hc->resp;
    if (!b->present)
        return lua_pushnil(L), 1;
    size_t elen = 0;
    const char *enc = decode && !b->replaced ? hdrs_get(msg_hdrs(hc, k), "Content-Encoding", &elen)
                                             : NULL;
    if (enc == NULL || elen == 0) {
        lua_pushlstring(L, b->raw.p ? b->raw.p : "", b->raw.len);
        return 1;
    }
    char err[200];
    buf_reset(&e->scratch);
    enum codec_rc rc =
        codec_decode(enc, elen, b->raw.p ? b->raw.p : "", b->raw.len, e->decode_limit,
                     &e->scratch, err, sizeof(err));
    if (rc != CODEC_OK)
        return luaL_error(L, "cannot decode the body (Content-Encoding: %.*s): %s; raw_body has "
                             "the bytes as sent",
                          (int)(elen > 40 ? 40 : elen), enc, err);
    lua_pushlstring(L, e->scratch.p ? e->scratch.p : "", e->scratch.len);
    buf_reset(&e->scratch);
    return 1;
}

static void set_body(lua_State *L, struct lflow_env *e, enum ud_kind k, int vidx)
{
    struct hook_body *b = k == UD_REQ ? &e->hc->req : &e->hc->resp;
    size_t len = 0;
    const char *p = lua_isnil(L, vidx) ? "" : luaL_checklstring(L, vidx, &len);
    if (!b->present) {
        if (b->streamed || b->stream)
            luaL_error(L, "the body streams through (over --body-limit or marked stream) and "
                          "cannot be replaced");
        luaL_error(L, "the body is not read yet here: set it in the %s hook",
                   k == UD_REQ ? "request" : "response");
    }
    struct buf *raw = body_for_write(e, k);
    buf_append(raw, p, len);
    b->replaced = true;
    struct hdrs *h = hdrs_for_write(e, k);
    char cl[24];
    int n = snprintf(cl, sizeof(cl), "%zu", len);
    hdrs_remove(h, "Content-Encoding", 16);
    hdrs_remove(h, "Transfer-Encoding", 17);
    hdrs_set(h, "Content-Length", cl, (size_t)n);
}

/* ---- request and response -------------------------------------------------- */

static void push_version(lua_State *L, uint8_t major, uint8_t minor)
{
    lua_pushfstring(L, "HTTP/%d.%d", (int)major, (int)minor);
}

static void parse_version(lua_State *L, int idx, uint8_t *major, uint8_t *minor)
{
    const char *v = luaL_checkstring(L, idx);
    if (strcmp(v, "HTTP/1.1") == 0)
        *major = 1, *minor = 1;
    else if (strcmp(v, "HTTP/1.0") == 0)
        *major = 1, *minor = 0;
    else
        luaL_error(L, "http_version must be \"HTTP/1.0\" or \"HTTP/1.1\"");
}

static void push_url(lua_State *L, struct hook_ctx *hc)
{
    lua_pushstring(L, hc->flow->url ? hc->flow->url : "");
}

static const char *query_of(const struct url *t, size_t *qlen, size_t *plen)
{
    const char *q = t->path_len ? memchr(t->path, '?', t->path_len) : NULL;
    *plen = q ? (size_t)(q - t->path) : t->path_len;
    *qlen = q ? t->path_len - *plen - 1 : 0;
    return q ? q + 1 : NULL;
}

static int msg_index(lua_State *L)
{
    struct ud *u;
    struct hook_ctx *hc = live(L, 1, MT_MSG, &u);
    struct lflow_env *e = env_of(L);
    struct flow *f = hc->flow;
    const char *k = luaL_checkstring(L, 2);
    bool req = u->kind == UD_REQ;
    struct hook_body *b = req ? &hc->req : &hc->resp;

    if (strcmp(k, "headers") == 0) {
        push_ud(L, u->kind, MT_HDRS);
    } else if (strcmp(k, "body") == 0) {
        push_body(L, e, u->kind, true);
    } else if (strcmp(k, "raw_body") == 0) {
        push_body(L, e, u->kind, false);
    } else if (strcmp(k, "http_version") == 0) {
        push_version(L, req ? f->req_major : f->resp_major, req ? f->req_minor : f->resp_minor);
    } else if (strcmp(k, "stream") == 0) {
        lua_pushboolean(L, b->stream);
    } else if (strcmp(k, "streamed") == 0) {
        lua_pushboolean(L, b->streamed);
    } else if (!req) {
        if (strcmp(k, "status") == 0)
            lua_pushinteger(L, f->status);
        else if (strcmp(k, "reason") == 0)
            lua_pushstring(L, f->reason ? f->reason : "");
        else
            lua_pushnil(L);
    } else if (strcmp(k, "method") == 0) {
        lua_pushstring(L, f->method);
    } else if (strcmp(k, "scheme") == 0) {
        lua_pushstring(L, hc->target->scheme);
    } else if (strcmp(k, "host") == 0) {
        lua_pushstring(L, hc->target->host);
    } else if (strcmp(k, "port") == 0) {
        lua_pushinteger(L, hc->target->port);
    } else if (strcmp(k, "path") == 0) {
        if (hc->target->path_len == 0)
            lua_pushstring(L, f->connect ? "" : "/");
        else
            lua_pushlstring(L, hc->target->path, hc->target->path_len);
    } else if (strcmp(k, "query") == 0) {
        size_t qlen, plen;
        const char *q = query_of(hc->target, &qlen, &plen);
        lutil_push_query(L, q ? q : "", qlen);
    } else if (strcmp(k, "url") == 0) {
        push_url(L, hc);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

static void check_path(lua_State *L, const char *p, size_t len)
{
    if (len == 0 || (p[0] != '/' && !(len == 1 && p[0] == '*')))
        luaL_error(L, "path must start with '/'");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] <= ' ' || p[i] == 0x7f || p[i] == '#')
            luaL_error(L, "path: byte %d is not allowed in a request target (escape it)",
                       (unsigned char)p[i]);
}

static void set_request(lua_State *L, struct lflow_env *e, const char *k, int v)
{
    struct hook_ctx *hc = e->hc;
    struct flow *f = hc->flow;
    struct url *t = hc->target;
    size_t len;

    if (strcmp(k, "method") == 0) {
        const char *m = luaL_checklstring(L, v, &len);
        check_token(L, "method", m, len, sizeof(f->method) - 1);
        if (f->connect || strcmp(m, "CONNECT") == 0)
            luaL_error(L, "a request cannot become or stop being a CONNECT");
        memcpy(f->method, m, len + 1);
    } else if (strcmp(k, "scheme") == 0) {
        const char *s = luaL_checkstring(L, v);
        if (strcmp(s, "http") != 0 && strcmp(s, "https") != 0)
            luaL_error(L, "scheme must be \"http\" or \"https\"");
        if (f->connect)
            luaL_error(L, "a CONNECT has no scheme");
        if (!t->port_explicit || t->port == url_default_port(t->scheme))
            t->port = url_default_port(s);
        snprintf(t->scheme, sizeof(t->scheme), "%s", s);
        target_changed(e);
    } else if (strcmp(k, "host") == 0) {
        const char *h = luaL_checklstring(L, v, &len);
        bool v6 = memchr(h, ':', len) != NULL;
        if (len == 0 || len > URL_HOST_MAX)
            luaL_error(L, "host must be 1 to %d characters", URL_HOST_MAX);
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)h[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '-' || ch == '_' || (v6 && ch == ':')))
                luaL_error(L, "host: '%c' is not allowed in a host name", ch);
        }
        for (size_t i = 0; i <= len; i++)
            t->host[i] = (char)((h[i] >= 'A' && h[i] <= 'Z') ? h[i] + 32 : h[i]);
        t->ipv6 = v6;
        target_changed(e);
    } else if (strcmp(k, "port") == 0) {
        lua_Integer p = luaL_checkinteger(L, v);
        if (p < 1 || p > 65535)
            luaL_error(L, "port must be 1 to 65535");
        t->port = (uint16_t)p;
        t->port_explicit = true;
        target_changed(e);
    } else if (strcmp(k, "path") == 0) {
        const char *p = luaL_checklstring(L, v, &len);
        if (f->connect)
            luaL_error(L, "a CONNECT has no path");
        check_path(L, p, len);
        set_path(e, p, len);
        target_changed(e);
    } else if (strcmp(k, "query") == 0) {
        /* the env's buffers, not locals: building may raise (memory cap) */
        struct buf *q = &e->scratch, *p = &e->scratch2;
        size_t qlen, plen;
        if (f->connect)
            luaL_error(L, "a CONNECT has no query");
        buf_reset(q);
        buf_reset(p);
        if (!lua_isnil(L, v)) {
            luaL_checktype(L, v, LUA_TTABLE);
            if (lutil_build_query(L, v, q) < 0)
                lua_error(L);
        }
        query_of(t, &qlen, &plen);
        buf_append(p, plen ? t->path : "/", plen ? plen : 1);
        if (q->len > 0) {
            buf_putc(p, '?');
            buf_append(p, q->p, q->len);
        }
        set_path(e, p->p, p->len);
        target_changed(e);
    } else if (strcmp(k, "url") == 0) {
        const char *s = luaL_checklstring(L, v, &len);
        struct url nu;
        char err[200];
        if (f->connect)
            luaL_error(L, "a CONNECT has no URL: set host and port");
        if (url_parse_absolute(s, len, &nu, err, sizeof(err)) < 0)
            luaL_error(L, "url: %s", err);
        char path[1]; /* nu.path points into s: copy it to the store */
        const char *np = nu.path_len ? nu.path : (path[0] = '/', path);
        size_t nl = nu.path_len ? nu.path_len : 1;
        check_path(L, np, nl);
        set_path(e, np, nl);
        nu.path = t->path;
        nu.path_len = t->path_len;
        *t = nu;
        target_changed(e);
    } else if (strcmp(k, "http_version") == 0) {
        parse_version(L, v, &f->req_major, &f->req_minor);
    } else if (strcmp(k, "headers") == 0) {
        replace_all(L, e, UD_REQ, v);
    } else if (strcmp(k, "body") == 0) {
        set_body(L, e, UD_REQ, v);
    } else if (strcmp(k, "stream") == 0) {
        if (e->hook != HOOK_REQUESTHEADERS)
            luaL_error(L, "request.stream can only be set in requestheaders");
        hc->req.stream = lua_toboolean(L, v);
    } else {
        luaL_error(L, "request.%s cannot be set", k);
    }
}

static void set_response(lua_State *L, struct lflow_env *e, const char *k, int v)
{
    struct hook_ctx *hc = e->hc;
    struct flow *f = hc->flow;
    if (strcmp(k, "status") == 0) {
        lua_Integer s = luaL_checkinteger(L, v);
        if (s < 200 || s > 999)
            luaL_error(L, "status must be 200 to 999 (interim 1xx replies cannot be made here)");
        f->status = (int)s;
        const char *r = hook_reason((int)s);
        set_reason(e, r, strlen(r));
    } else if (strcmp(k, "reason") == 0) {
        size_t len;
        const char *r = luaL_checklstring(L, v, &len);
        for (size_t i = 0; i < len; i++)
            if (r[i] == '\r' || r[i] == '\n' || r[i] == '\0')
                luaL_error(L, "reason: CR, LF and NUL are not allowed");
        set_reason(e, r, len);
    } else if (strcmp(k, "http_version") == 0) {
        parse_version(L, v, &f->resp_major, &f->resp_minor);
    } else if (strcmp(k, "headers") == 0) {
        replace_all(L, e, UD_RESP, v);
    } else if (strcmp(k, "body") == 0) {
        set_body(L, e, UD_RESP, v);
    } else if (strcmp(k, "stream") == 0) {
        if (e->hook != HOOK_RESPONSEHEADERS)
            luaL_error(L, "response.stream can only be set in responseheaders");
        hc->resp.stream = lua_toboolean(L, v);
    } else {
        luaL_error(L, "response.%s cannot be set", k);
    }
}

static int msg_newindex(lua_State *L)
{
    struct ud *u;
    live(L, 1, MT_MSG, &u);
    const char *k = luaL_checkstring(L, 2);
    if (u->kind == UD_REQ)
        set_request(L, env_of(L), k, 3);
    else
        set_response(L, env_of(L), k, 3);
    return 0;
}

static int msg_tostring(lua_State *L)
{
    struct ud *u = luaL_checkudata(L, 1, MT_MSG);
    lua_pushstring(L, u->kind == UD_REQ ? "request" : "response");
    return 1;
}

/* ---- flow ------------------------------------------------------------------ */

static void push_state(lua_State *L, struct lflow_env *e, uint64_t id)
{
    lua_getfield(L, LUA_REGISTRYINDEX, STATES_KEY);
    if (lua_rawgeti(L, -1, (lua_Integer)id) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, (lua_Integer)id);
        e->nstates++;
    }
    lua_remove(L, -2);
}

void lflow_forget(lua_State *L, uint64_t id)
{
    struct lflow_env *e = env_of(L);
    if (e->nstates == 0)
        return;
    lua_getfield(L, LUA_REGISTRYINDEX, STATES_KEY);
    if (lua_rawgeti(L, -1, (lua_Integer)id) != LUA_TNIL) {
        lua_pushnil(L);
        lua_rawseti(L, -3, (lua_Integer)id);
        e->nstates--;
    }
    lua_pop(L, 2);
}

static void may_act(lua_State *L, struct lflow_env *e, const char *what, bool respond)
{
    bool ok = respond ? (e->hook == HOOK_CONNECT || e->hook == HOOK_REQUESTHEADERS ||
                         e->hook == HOOK_REQUEST)
                      : (e->hook != HOOK_ERROR && e->hook != HOOK_DONE);
    if (!ok)
        luaL_error(L, "flow:%s() cannot be used in the %s hook", what, hook_names[e->hook]);
}

/* flow:respond(status[, headers][, body]) */
static int flow_respond(lua_State *L)
{
    struct hook_ctx *hc = live(L, 1, MT_FLOW, NULL);
    struct lflow_env *e = env_of(L);
    struct flow *f = hc->flow;
    may_act(L, e, "respond", true);
    lua_Integer status = luaL_checkinteger(L, 2);
    if (status < 200 || status > 999)
        luaL_error(L, "flow:respond(): status must be 200 to 999");
    int hidx = 0, bidx = 0;
    if (lua_type(L, 3) == LUA_TTABLE) {
        hidx = 3;
        if (!lua_isnoneornil(L, 4))
            bidx = 4;
    } else if (!lua_isnoneornil(L, 3)) {
        bidx = 3;
    }
    if (bidx)
        luaL_checkstring(L, bidx);

    if (hidx)
        replace_all(L, e, UD_RESP, hidx); /* validates, then replaces */
    else
        hdrs_clear(hdrs_for_write(e, UD_RESP));
    struct hdrs *h = hdrs_for_write(e, UD_RESP);
    const char *reason = hook_reason((int)status);
    struct buf *raw = body_for_write(e, UD_RESP);
    bool bodyless = status == 204 || status == 304;
    if (bodyless) {
        hdrs_remove(h, "Content-Length", 14); /* such a reply has no body at all */
    } else if (bidx) {
        size_t blen;
        const char *b = lua_tolstring(L, bidx, &blen);
        buf_append(raw, b, blen);
    } else {
        buf_printf(raw, "%d %s\n", (int)status, reason);
        if (hdrs_get(h, "Content-Type", &(size_t){0}) == NULL)
            hdrs_add(h, "Content-Type", 12, "text/plain; charset=utf-8", 25);
    }
    hdrs_remove(h, "Transfer-Encoding", 17);
    hdrs_remove(h, "Content-Encoding", 16);
    if (!bodyless) {
        char cl[24];
        int n = snprintf(cl, sizeof(cl), "%zu", raw->len);
        hdrs_set(h, "Content-Length", cl, (size_t)n);
    }
    f->status = (int)status;
    f->resp_major = f->resp_minor = 1;
    set_reason(e, reason, strlen(reason));
    f->local_reply = true;
    hc->resp.present = true;
    hc->resp.replaced = true;
    hc->resp.streamed = hc->resp.stream = false;
    hc->respond = true;
    return 0;
}

static int flow_delay(lua_State *L)
{
    struct hook_ctx *hc = live(L, 1, MT_FLOW, NULL);
    may_act(L, env_of(L), "delay", false);
    lua_Number ms = luaL_checknumber(L, 2);
    if (!(ms >= 0 && ms <= 3600000))
        luaL_error(L, "flow:delay(): milliseconds must be 0 to 3600000");
    hc->delay_ms += (int64_t)ms;
    if (hc->delay_ms > 3600000)
        hc->delay_ms = 3600000;
    return 0;
}

static int flow_kill(lua_State *L)
{
    struct hook_ctx *hc = live(L, 1, MT_FLOW, NULL);
    struct lflow_env *e = env_of(L);
    may_act(L, e, "kill", false);
    hc->kill = true;
    snprintf(hc->killed_by, sizeof(hc->killed_by), "%s", e->name);
    return 0;
}

static int flow_index(lua_State *L)
{
    struct hook_ctx *hc = live(L, 1, MT_FLOW, NULL);
    struct flow *f = hc->flow;
    const char *k = luaL_checkstring(L, 2);

    if (strcmp(k, "request") == 0) {
        push_ud(L, UD_REQ, MT_MSG);
    } else if (strcmp(k, "response") == 0) {
        if (f->status == 0)
            lua_pushnil(L);
        else
            push_ud(L, UD_RESP, MT_MSG);
    } else if (strcmp(k, "id") == 0) {
        lua_pushinteger(L, (lua_Integer)f->id);
    } else if (strcmp(k, "state") == 0) {
        push_state(L, env_of(L), f->id);
    } else if (strcmp(k, "client") == 0) {
        lua_pushstring(L, f->client);
    } else if (strcmp(k, "server") == 0) {
        if (f->server[0])
            lua_pushstring(L, f->server);
        else
            lua_pushnil(L);
    } else if (strcmp(k, "tls") == 0) {
        lua_pushboolean(L, f->tls);
    } else if (strcmp(k, "error") == 0) {
        if (f->error)
            lua_pushstring(L, f->error);
        else
            lua_pushnil(L);
    } else if (strcmp(k, "respond") == 0) {
        lua_pushcfunction(L, flow_respond);
    } else if (strcmp(k, "delay") == 0) {
        lua_pushcfunction(L, flow_delay);
    } else if (strcmp(k, "kill") == 0) {
        lua_pushcfunction(L, flow_kill);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

static int flow_newindex(lua_State *L)
{
    live(L, 1, MT_FLOW, NULL);
    return luaL_error(L, "flow.%s cannot be set (use flow.state for your own data)",
                      luaL_checkstring(L, 2));
}

static int flow_tostring(lua_State *L)
{
    struct lflow_env *e = env_of(L);
    struct ud *u = luaL_checkudata(L, 1, MT_FLOW);
    if (e->hc && u->gen == e->gen)
        lua_pushfstring(L, "flow %d", (int)e->hc->flow->id);
    else
        lua_pushliteral(L, "flow (stale)");
    return 1;
}

/* ---- setup ----------------------------------------------------------------- */

int lflow_open(lua_State *L)
{
    static const luaL_Reg flow_mt[] = {{"__index", flow_index},
                                       {"__newindex", flow_newindex},
                                       {"__tostring", flow_tostring},
                                       {NULL, NULL}};
    static const luaL_Reg msg_mt[] = {{"__index", msg_index},
                                      {"__newindex", msg_newindex},
                                      {"__tostring", msg_tostring},
                                      {NULL, NULL}};
    static const luaL_Reg hdrs_mt[] = {{"__index", hdrs_index},     {"__newindex", hdrs_newindex},
                                       {"__pairs", hdrs_pairs},     {"__len", hdrs_len},
                                       {"__tostring", hdrs_tostring}, {"add", hdrs_add_m},
                                       {"get_all", hdrs_get_all},   {NULL, NULL}};
    luaL_newmetatable(L, MT_FLOW);
    luaL_setfuncs(L, flow_mt, 0);
    luaL_newmetatable(L, MT_MSG);
    luaL_setfuncs(L, msg_mt, 0);
    luaL_newmetatable(L, MT_HDRS);
    luaL_setfuncs(L, hdrs_mt, 0);
    lua_pop(L, 3);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, STATES_KEY);
    return 0;
}

const struct flow *lflow_check(lua_State *L, int idx)
{
    return live(L, idx, MT_FLOW, NULL)->flow;
}

void lflow_push(lua_State *L)
{
    push_ud(L, UD_FLOW, MT_FLOW);
}
