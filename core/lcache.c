/* SPDX-License-Identifier: MIT */
/* lcache: lucent.cache for scripts, the cache lab's helpers.
 *
 *   lucent.cache.analyze(flow)          the RFC 9111 verdict as a table
 *   lucent.cache.force(flow, seconds)   strong cache: max-age=N and Expires
 *   lucent.cache.disable(flow)          no-store
 *   lucent.cache.revalidate_always(f)   no-cache, validators kept
 *   lucent.cache.strip_validators(f)    no ETag, no Last-Modified
 *   lucent.cache.answer_304(flow)       lucent answers a conditional request
 *                                       whose validator matches the last
 *                                       response it saw for that URL
 *
 * The header edits are plain Lua over the flow API (so a failing hook
 * undoes them like any other edit); the verdict and the memory of validators
 * are C. The memory is one fixed table of recent URLs for the whole process
 * (a conditional request may reach another worker than its 200 did), behind
 * a mutex. */
#include "core/lcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <lauxlib.h>

#include "core/cache.h"
#include "core/lflow.h"

#define SEEN_SLOTS 1024

struct seen {
    uint64_t hash;
    char *url, *etag, *last_modified; /* owned */
    char *cache_control, *expires, *vary; /* owned: fields a 304 repeats (RFC 9110 15.4.5) */
};

struct lcache_memory {
    struct seen v[SEEN_SLOTS];
};

/* the one memory, shared by every worker's scripts */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lcache_memory *seen_all;
static unsigned seen_users;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct lcache_memory *lcache_memory_new(void)
{
    pthread_mutex_lock(&seen_lock);
    if (seen_all == NULL)
        seen_all = calloc(1, sizeof(struct lcache_memory));
    if (seen_all != NULL)
        seen_users++;
    struct lcache_memory *m = seen_all;
    pthread_mutex_unlock(&seen_lock);
    return m;
}

static void seen_clear(struct seen *e)
{
    free(e->url);
    free(e->etag);
    free(e->last_modified);
    free(e->cache_control);
    free(e->expires);
    free(e->vary);
    memset(e, 0, sizeof(*e));
}

void lcache_memory_free(struct lcache_memory *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&seen_lock);
    if (--seen_users == 0) {
        for (size_t i = 0; i < SEEN_SLOTS; i++)
            seen_clear(&m->v[i]);
        free(m);
        seen_all = NULL;
    }
    pthread_mutex_unlock(&seen_lock);
}

static char *dup_hdr(const struct hdrs *h, const char *name)
{
    size_t len;
    const char *v = hdrs_get(h, name, &len);
    char *s = v ? malloc(len + 1) : NULL;
    if (s) {
        memcpy(s, v, len);
        s[len] = '\0';
    }
    return s;
}

void lcache_note(struct lcache_memory *m, const struct flow *f)
{
    size_t len;
    if (m == NULL || f->url == NULL || f->status != 200 || strcmp(f->method, "GET") != 0)
        return;
    if (hdrs_get(&f->resp_headers, "ETag", &len) == NULL &&
        hdrs_get(&f->resp_headers, "Last-Modified", &len) == NULL)
        return;
    uint64_t h = hash_str(f->url);
    pthread_mutex_lock(&seen_lock);
    struct seen *e = &m->v[h % SEEN_SLOTS];
    seen_clear(e); /* the newest response for a slot wins */
    e->hash = h;
    e->url = strdup(f->url);
    e->etag = dup_hdr(&f->resp_headers, "ETag");
    e->last_modified = dup_hdr(&f->resp_headers, "Last-Modified");
    e->cache_control = dup_hdr(&f->resp_headers, "Cache-Control");
    e->expires = dup_hdr(&f->resp_headers, "Expires");
    e->vary = dup_hdr(&f->resp_headers, "Vary");
    pthread_mutex_unlock(&seen_lock);
}

/* ---- Lua ------------------------------------------------------------------ */

static const char *src_name(enum cache_src s)
{
    switch (s) {
    case CACHE_SRC_SMAXAGE:
        return "s-maxage";
    case CACHE_SRC_MAXAGE:
        return "max-age";
    case CACHE_SRC_EXPIRES:
        return "Expires";
    case CACHE_SRC_HEURISTIC:
        return "heuristic";
    default:
        return NULL;
    }
}

static void set_int(lua_State *L, const char *k, int64_t v)
{
    if (v < 0)
        return; /* unknown: nil */
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, bool v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

/* lucent.cache.analyze(flow) */
static int l_analyze(lua_State *L)
{
    const struct flow *f = lflow_check(L, 1);
    struct cache_verdict v;
    if (f->status == 0)
        return lua_pushnil(L), 1;
    cache_analyze(f, (int64_t)time(NULL), &v);
    lua_createtable(L, 0, 24);
    set_str(L, "tag", v.tag);
    set_str(L, "summary", v.summary);
    set_bool(L, "storable", v.storable_private);
    set_bool(L, "storable_shared", v.storable_shared);
    set_str(L, "why_not", v.why_private);
    set_str(L, "why_not_shared", v.why_shared);
    set_int(L, "lifetime", v.lifetime);
    set_int(L, "lifetime_shared", v.lifetime_shared);
    set_str(L, "source", src_name(v.source));
    set_str(L, "source_shared", src_name(v.source_shared));
    set_bool(L, "fresh", v.fresh);
    set_bool(L, "fresh_shared", v.fresh_shared);
    set_int(L, "age", v.age);
    set_bool(L, "no_store", v.no_store);
    set_bool(L, "no_cache", v.no_cache);
    set_bool(L, "must_revalidate", v.must_revalidate);
    set_bool(L, "immutable", v.immutable);
    set_bool(L, "private", v.is_private);
    set_bool(L, "public", v.is_public);
    set_int(L, "max_age", v.max_age);
    set_int(L, "s_maxage", v.s_maxage);
    set_bool(L, "etag", v.etag);
    set_bool(L, "weak_etag", v.etag_weak);
    set_bool(L, "last_modified", v.last_modified);
    set_bool(L, "conditional", v.conditional);
    set_bool(L, "validator_matched", v.validator_matched);
    set_str(L, "vary", v.vary_star ? "*" : v.vary);
    set_str(L, "notes", v.notes);
    return 1;
}

/* lucent.cache._seen(url) -> etag, last_modified, cache_control, expires, vary (or nils) */
static int l_seen(lua_State *L)
{
    struct lcache_memory *m = lua_touserdata(L, lua_upvalueindex(1));
    const char *url = luaL_checkstring(L, 1);
    uint64_t h = hash_str(url);
    char v[5][512]; /* copied under the lock, to the stack: pushing may raise */
    bool have[5] = {false, false, false, false, false};
    bool found = false;
    pthread_mutex_lock(&seen_lock);
    struct seen *e = m ? &m->v[h % SEEN_SLOTS] : NULL;
    if (e != NULL && e->url != NULL && e->hash == h && strcmp(e->url, url) == 0) {
        found = true;
        const char *src[5] = {e->etag, e->last_modified, e->cache_control, e->expires, e->vary};
        for (int i = 0; i < 5; i++)
            if ((have[i] = src[i] != NULL))
                snprintf(v[i], sizeof(v[i]), "%s", src[i]);
    }
    pthread_mutex_unlock(&seen_lock);
    if (!found)
        return 0;
    for (int i = 0; i < 5; i++) {
        if (have[i])
            lua_pushstring(L, v[i]);
        else
            lua_pushnil(L);
    }
    return 5;
}

/* lucent.cache._date(s) -> seconds since the epoch, or nil */
static int l_date(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int64_t t = cache_parse_date(s, len, (int64_t)time(NULL));
    if (t < 0)
        return 0;
    lua_pushinteger(L, (lua_Integer)t);
    return 1;
}

static const char helpers[] =
    "local cache = ...\n"
    "local function response_headers(flow, who)\n"
    "  local r = flow.response\n"
    "  if r == nil then\n"
    "    error('lucent.cache.' .. who .. ': no response yet (use it in responseheaders or "
    "response)', 3)\n"
    "  end\n"
    "  return r.headers\n"
    "end\n"
    "function cache.force(flow, seconds)\n"
    "  local n = math.tointeger(seconds) or (type(seconds) == 'number' and math.floor(seconds))\n"
    "  if not n or n < 0 then error('lucent.cache.force: seconds must be a number >= 0', 2) end\n"
    "  local h = response_headers(flow, 'force')\n"
    "  h['Cache-Control'] = 'max-age=' .. n\n"
    "  h['Expires'] = os.date('!%a, %d %b %Y %H:%M:%S GMT', os.time() + n)\n"
    "  h['Pragma'] = nil\n"
    "end\n"
    "function cache.disable(flow)\n"
    "  local h = response_headers(flow, 'disable')\n"
    "  h['Cache-Control'] = 'no-store'\n"
    "  h['Expires'] = nil\n"
    "end\n"
    "function cache.revalidate_always(flow)\n"
    "  local h = response_headers(flow, 'revalidate_always')\n"
    "  h['Cache-Control'] = 'no-cache'\n"
    "  h['Expires'] = nil\n"
    "  h['Pragma'] = nil\n"
    "end\n"
    "function cache.strip_validators(flow)\n"
    "  local h = response_headers(flow, 'strip_validators')\n"
    "  h['ETag'] = nil\n"
    "  h['Last-Modified'] = nil\n"
    "end\n"
    "local function opaque(tag) return (tag:gsub('^%s*W/', ''):gsub('^%s+', ''):gsub('%s+$', '')) end\n"
    "function cache.answer_304(flow)\n"
    "  local q = flow.request\n"
    "  if q.method ~= 'GET' and q.method ~= 'HEAD' then return false end\n"
    "  local etag, lm, cc, expires, vary = cache._seen(q.url)\n"
    "  if etag == nil and lm == nil then return false end\n"
    "  local inm, ims = q.headers['If-None-Match'], q.headers['If-Modified-Since']\n"
    "  local match = false\n"
    "  if inm then\n"
    "    for tag in inm:gmatch('[^,]+') do\n"
    "      tag = opaque(tag)\n"
    "      if tag == '*' or (etag and tag == opaque(etag)) then match = true end\n"
    "    end\n"
    "  elseif ims and lm then\n"
    "    local a, b = cache._date(ims), cache._date(lm)\n"
    "    match = a ~= nil and b ~= nil and a >= b\n"
    "  end\n"
    "  if not match then return false end\n"
    "  local h = {Date = os.date('!%a, %d %b %Y %H:%M:%S GMT')}\n"
    "  if etag then h['ETag'] = etag end\n"
    "  if lm then h['Last-Modified'] = lm end\n"
    "  if cc then h['Cache-Control'] = cc end\n"
    "  if expires then h['Expires'] = expires end\n"
    "  if vary then h['Vary'] = vary end\n"
    "  flow:respond(304, h)\n"
    "  return true\n"
    "end\n";

int lcache_open(lua_State *L, struct lcache_memory *m)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_analyze);
    lua_setfield(L, -2, "analyze");
    lua_pushlightuserdata(L, m);
    lua_pushcclosure(L, l_seen, 1);
    lua_setfield(L, -2, "_seen");
    lua_pushcfunction(L, l_date);
    lua_setfield(L, -2, "_date");
    if (luaL_loadbufferx(L, helpers, sizeof(helpers) - 1, "=lucent.cache", "t") != LUA_OK)
        return lua_error(L);
    lua_pushvalue(L, -2);
    lua_call(L, 1, 0);
    lua_setfield(L, -2, "cache"); /* into the lucent table below it */
    return 0;
}
