/* SPDX-License-Identifier: MIT */
/* script: Lua states for the -s files of one worker, their loading and
 * reloading, and calling hooks under an instruction budget and a memory cap.
 *
 * Each state has its own allocator (counting bytes against --script-memory)
 * and a count hook (every SCRIPT_STEP instructions) that stops a call past
 * --script-budget. Once over budget the count hook fires on every
 * instruction, so a script cannot catch the error with pcall and go on.
 *
 * Must not: run Lua outside a protected call, block (files are stat'ed
 * once a second), or let one script's failure touch another's state. */
#include "core/script.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "core/filter.h"
#include "core/lcache.h"
#include "core/lflow.h"
#include "core/log.h"
#include "core/lutil.h"

#define SCRIPT_STEP 1000

/* One loaded version of a script: a Lua state and its accounting. */
struct lstate {
    struct lflow_env env; /* first: the state's extra space points here */
    lua_State *L;         /* owned */
    size_t used, limit;   /* bytes */
    uint64_t count, budget;
    unsigned want;    /* bit per hook defined at load */
    bool over_budget; /* the count hook fires on every instruction */
};

struct script {
    const char *path;   /* borrowed from the options */
    struct lstate *cur; /* owned */
    struct stat st;     /* the file as last loaded (or tried) */
};

struct scripts {
    struct script *v; /* owned */
    struct lcache_memory *seen; /* owned: validators per URL, for lucent.cache.answer_304 */
    unsigned n;
    unsigned want;
    unsigned index; /* worker */
    const struct opts *o;
    struct event *timer; /* owned */
};

/* ---- allocation and budget ------------------------------------------------ */

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct lstate *ls = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        ls->used -= old;
        free(ptr);
        return NULL;
    }
    if (nsize > old && ls->used + (nsize - old) > ls->limit)
        return NULL; /* Lua raises "not enough memory" */
    void *p = realloc(ptr, nsize);
    if (p != NULL)
        ls->used = ls->used - old + nsize;
    return p;
}

static void on_count(lua_State *L, lua_Debug *ar)
{
    struct lstate *ls = *(struct lstate **)lua_getextraspace(L);
    (void)ar;
    ls->count += SCRIPT_STEP;
    if (ls->count > ls->budget) {
        lua_sethook(L, on_count, LUA_MASKCOUNT, 1); /* every instruction from now on */
        ls->over_budget = true;
        luaL_where(L, 0); /* the running function: where the script is looping */
        lua_pushfstring(L, "instruction budget exceeded (%I instructions, see --script-budget)",
                        (lua_Integer)ls->budget);
        lua_concat(L, 2);
        lua_error(L);
    }
}

static int on_error(lua_State *L)
{
    if (!lua_isstring(L, 1))
        lua_pushstring(L, luaL_tolstring(L, 1, NULL));
    return 1;
}

/* Calls the function below nargs arguments, protected and budgeted. On an
 * error returns -1 with the message in err. */
static int call(struct lstate *ls, int nargs, char *err, size_t errlen)
{
    lua_State *L = ls->L;
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, on_error);
    lua_insert(L, base);
    ls->count = 0;
    if (ls->over_budget) { /* the last call ran out: back to checking every step */
        lua_sethook(L, on_count, LUA_MASKCOUNT, SCRIPT_STEP);
        ls->over_budget = false;
    }
    int rc = lua_pcall(L, nargs, 0, base);
    if (rc != LUA_OK) {
        size_t len;
        const char *m = lua_tolstring(L, -1, &len);
        snprintf(err, errlen, "%s", m ? m : "error");
        lua_pop(L, 1);
        if (rc == LUA_ERRMEM || ls->used > ls->limit / 2)
            lua_gc(L, LUA_GCCOLLECT); /* give back what the failed call left behind */
    }
    lua_remove(L, base);
    return rc == LUA_OK ? 0 : -1;
}

/* ---- the lucent table ------------------------------------------------------- */

static int l_log(lua_State *L)
{
    struct lstate *ls = *(struct lstate **)lua_getextraspace(L);
    luaL_Buffer b;
    int n = lua_gettop(L);
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, ' ');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    LC_NOTE("script %s: %s", ls->env.name, lua_tostring(L, -1));
    return 0;
}

/* lucent.filter(expr) -> a matcher: m(flow) is true when the flow matches. */
#define MT_FILTER "lucent.filter"

static int l_filter_call(lua_State *L)
{
    struct filter **fp = luaL_checkudata(L, 1, MT_FILTER);
    const struct flow *f = lflow_check(L, 2);
    lua_pushboolean(L, *fp != NULL && filter_match(*fp, f));
    return 1;
}

static int l_filter_gc(lua_State *L)
{
    struct filter **fp = luaL_checkudata(L, 1, MT_FILTER);
    filter_free(*fp);
    *fp = NULL;
    return 0;
}

static int l_filter(lua_State *L)
{
    const char *expr = luaL_checkstring(L, 1);
    char err[300];
    size_t pos = 0;
    struct filter **fp = lua_newuserdatauv(L, sizeof(*fp), 0);
    *fp = NULL;
    luaL_setmetatable(L, MT_FILTER); /* freed by __gc, also when compiling fails below */
    *fp = filter_compile(expr, err, sizeof(err), &pos);
    if (*fp == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    return 1;
}

/* Everything a fresh state needs before the script's chunk (protected). */
static int setup(lua_State *L)
{
    const char *path = lua_touserdata(L, 1);
    struct lcache_memory *seen = lua_touserdata(L, 2);
    luaL_openlibs(L);
    /* Lua makes the metatable of its large string buffers on first use; if
     * that first use ran out of memory (the cap), the state could never
     * build a large string again. Use one now, while memory is plentiful. */
    luaL_Buffer warm;
    luaL_buffinitsize(L, &warm, 4 * LUAL_BUFFERSIZE);
    luaL_pushresultsize(&warm, 0);
    lua_pop(L, 1);
    /* `load` and `error` are Lua's own functions too: remember them, so
     * only a script's own definitions count as hooks */
    lua_getglobal(L, "load");
    lua_setfield(L, LUA_REGISTRYINDEX, "lucent.builtin.load");
    lua_getglobal(L, "error");
    lua_setfield(L, LUA_REGISTRYINDEX, "lucent.builtin.error");
    lflow_open(L);
    lua_newtable(L);
    lua_pushcfunction(L, l_log);
    lua_setfield(L, -2, "log");
    lua_pushcfunction(L, l_filter);
    lua_setfield(L, -2, "filter");
    if (luaL_newmetatable(L, MT_FILTER)) {
        lua_pushcfunction(L, l_filter_call);
        lua_setfield(L, -2, "__call");
        lua_pushcfunction(L, l_filter_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lutil_open(L);
    lcache_open(L, seen);
    lua_setglobal(L, "lucent");
    /* require() finds modules next to the script first */
    char dir[1024];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s", dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
    return 0;
}

/* Is global `name` a function of the script's own (not Lua's builtin)?
 * Leaves it on the stack when true. */
static bool defines(lua_State *L, const char *name)
{
    if (lua_getglobal(L, name) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return false;
    }
    char key[64];
    snprintf(key, sizeof(key), "lucent.builtin.%s", name);
    lua_getfield(L, LUA_REGISTRYINDEX, key);
    bool own = !lua_rawequal(L, -1, -2);
    lua_pop(L, own ? 1 : 2);
    return own;
}

static void state_free(struct lstate *ls, bool unload)
{
    char err[600];
    if (ls == NULL)
        return;
    if (ls->L) {
        if (unload && lua_getglobal(ls->L, "unload") == LUA_TFUNCTION) {
            if (call(ls, 0, err, sizeof(err)) < 0)
                LC_ERROR("script %s: unload: %s", ls->env.name, err);
        } else {
            lua_settop(ls->L, 0);
        }
        lua_close(ls->L);
    }
    lflow_env_free(&ls->env);
    free(ls);
}

/* A new state running path's chunk and its load(); NULL with err on failure. */
static struct lstate *state_load(const char *path, const struct opts *o,
                                 struct lcache_memory *seen, char *err, size_t errlen)
{
    char why[600];
    struct lstate *ls = calloc(1, sizeof(*ls));
    if (ls == NULL) {
        snprintf(err, errlen, "script %s: out of memory", path);
        return NULL;
    }
    lflow_env_init(&ls->env, path, o->script_memory);
    ls->limit = o->script_memory;
    ls->budget = o->script_budget;
    ls->L = lua_newstate(l_alloc, ls);
    if (ls->L == NULL) {
        snprintf(err, errlen, "script %s: out of memory", path);
        goto fail;
    }
    *(struct lstate **)lua_getextraspace(ls->L) = ls;
    /* the count only advances while Lua runs, i.e. inside call() */
    lua_sethook(ls->L, on_count, LUA_MASKCOUNT, SCRIPT_STEP);
    /* every hook call makes a few short-lived objects (the flow and its
     * parts): the generational collector handles those cheaply */
    lua_gc(ls->L, LUA_GCGEN, 0, 0);
    lua_pushcfunction(ls->L, setup);
    lua_pushlightuserdata(ls->L, (void *)path);
    lua_pushlightuserdata(ls->L, seen);
    if (call(ls, 2, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "script %s: %s", path, why);
        goto fail;
    }
    if (luaL_loadfilex(ls->L, path, "t") != LUA_OK) {
        /* "cannot open ..." or "FILE:LINE: message" */
        snprintf(err, errlen, "script %s", lua_tostring(ls->L, -1));
        goto fail;
    }
    if (call(ls, 0, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "script %s", why);
        goto fail;
    }
    if (defines(ls->L, "load")) {
        if (call(ls, 0, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "script %s: load: %s", path, why);
            goto fail;
        }
    }
    for (int h = 0; h < HOOK_COUNT; h++)
        if (defines(ls->L, hook_names[h]))
            ls->want |= 1u << h;
    return ls;

fail:
    state_free(ls, false);
    return NULL;
}

/* ---- the set ---------------------------------------------------------------- */

static void update_want(struct scripts *s)
{
    s->want = 0;
    for (unsigned i = 0; i < s->n; i++)
        s->want |= s->v[i].cur->want;
}

struct scripts *scripts_new(const struct opts *o, unsigned index, char *err, size_t errlen)
{
    err[0] = '\0';
    if (o->nscripts == 0)
        return NULL;
    struct scripts *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->v = calloc(o->nscripts, sizeof(*s->v))) == NULL) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->o = o;
    s->index = index;
    s->seen = lcache_memory_new();
    if (s->seen == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < o->nscripts; i++) {
        struct script *sc = &s->v[i];
        sc->path = o->scripts[i];
        if (stat(sc->path, &sc->st) == -1) {
            snprintf(err, errlen, "script %s: %s", sc->path, strerror(errno));
            goto fail;
        }
        sc->cur = state_load(sc->path, o, s->seen, err, errlen);
        if (sc->cur == NULL)
            goto fail;
        s->n++;
    }
    update_want(s);
    return s;

fail:
    scripts_free(s);
    return NULL;
}

void scripts_free(struct scripts *s)
{
    if (s == NULL)
        return;
    if (s->timer)
        event_free(s->timer);
    for (unsigned i = 0; i < s->n; i++)
        state_free(s->v[i].cur, true);
    free(s->v);
    lcache_memory_free(s->seen);
    free(s);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

void scripts_check(struct scripts *s)
{
    char err[700];
    for (unsigned i = 0; i < s->n; i++) {
        struct script *sc = &s->v[i];
        struct stat st;
        if (stat(sc->path, &st) == -1 || same_file(&st, &sc->st))
            continue; /* a file being replaced may be missing for a moment */
        sc->st = st;
        struct lstate *ls = state_load(sc->path, s->o, s->seen, err, sizeof(err));
        if (ls == NULL) {
            if (s->index == 0)
                LC_ERROR("%s (previous version stays active)", err);
            continue;
        }
        state_free(sc->cur, true);
        sc->cur = ls;
        if (s->index == 0)
            LC_NOTE("script %s reloaded", sc->path);
    }
    update_want(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    scripts_check(arg);
}

int scripts_watch(struct scripts *s, struct event_base *base)
{
    static const struct timeval second = {1, 0};
    s->timer = event_new(base, -1, EV_PERSIST, on_timer, s);
    if (s->timer == NULL || event_add(s->timer, &second) < 0)
        return -1;
    return 0;
}

bool scripts_want(const struct scripts *s, enum hook h)
{
    return s != NULL && (s->want & (1u << h));
}

void scripts_run(struct scripts *s, enum hook h, struct hook_ctx *hc)
{
    char err[700];
    for (unsigned i = 0; i < s->n; i++) {
        struct lstate *ls = s->v[i].cur;
        if (!(ls->want & (1u << h)))
            continue;
        lua_State *L = ls->L;
        if (lua_getglobal(L, hook_names[h]) != LUA_TFUNCTION) {
            lua_pop(L, 1);
            continue;
        }
        lflow_begin(&ls->env, hc, h);
        lflow_push(L);
        if (call(ls, 1, err, sizeof(err)) < 0) {
            LC_ERROR("script %s: %s: %s (flow f%" PRIu64 ")", ls->env.name, hook_names[h], err,
                     hc->flow->id);
            lflow_rollback(&ls->env);
        } else {
            lflow_commit(&ls->env);
        }
        if (hc->respond || hc->kill)
            break;
    }
}

void scripts_note_response(struct scripts *s, const struct flow *f)
{
    if (s != NULL)
        lcache_note(s->seen, f);
}

void scripts_flow_end(struct scripts *s, uint64_t flow_id)
{
    if (s == NULL)
        return;
    for (unsigned i = 0; i < s->n; i++)
        lflow_forget(s->v[i].cur->L, flow_id);
}
