/* SPDX-License-Identifier: MIT */
/* lutil: lucent.json, lucent.url and lucent.base64 for scripts. Everything
 * allocated while Lua may raise an error (a bad argument, or out of memory
 * under the script's cap) is owned by Lua: strings, tables, luaL_Buffer, or a
 * struct buf inside a userdata freed by __gc. An error unwinding through
 * these functions therefore leaks nothing. No I/O, no globals: the shared
 * objects (json.null, the array metatable) live in the registry.
 *
 * JSON: encoded objects have their keys sorted bytewise so output is
 * deterministic; a table is an array when its keys are exactly 1..n (n >= 1)
 * or when it carries the array metatable (decoded arrays, json.array(t)).
 * Nesting is limited to 200 levels both ways. JSON null is json.null, also
 * at the top level, so decode() returns nil only on error.
 *
 * URLs: RFC 3986 references. parse() returns the parts as written (not
 * percent-decoded), except that scheme and host are lower-cased and an IPv6
 * literal loses its brackets; path is always a string ("" when empty), the
 * other parts are nil when absent; query and fragment are "" when the '?'
 * or '#' is there with nothing after it, so build(parse(s)) gives back s
 * up to that case folding. */
#include "core/lutil.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "core/json.h"

#define LUTIL_JSON_MAX_DEPTH 200

/* registry keys (their addresses are the keys) */
static char key_array_mt;
static char key_null;
static char key_buf_mt;

static const char hexdigits[] = "0123456789ABCDEF";

/* ASCII classes, whatever the locale says about other bytes */
static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}

static bool is_xdigit(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char to_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- shared helpers -------------------------------------------------------- */

static int tmpbuf_gc(lua_State *L)
{
    buf_free(lua_touserdata(L, 1));
    return 0;
}

/* Pushes a userdata holding an empty struct buf that Lua frees (__gc) if an
 * error unwinds past it; buf_free() it early on the normal path. */
static struct buf *push_tmpbuf(lua_State *L)
{
    struct buf *b = lua_newuserdatauv(L, sizeof(*b), 0);
    *b = (struct buf)BUF_INIT;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &key_buf_mt) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, tmpbuf_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &key_buf_mt);
    }
    lua_setmetatable(L, -2);
    return b;
}

/* Pushes registry[key], creating it first with make() if it is missing. */
static void push_shared(lua_State *L, void *key, void (*make)(lua_State *L))
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) != LUA_TNIL)
        return;
    lua_pop(L, 1);
    make(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

static int null_tostring(lua_State *L)
{
    lua_pushliteral(L, "null");
    return 1;
}

static int null_newindex(lua_State *L)
{
    return luaL_error(L, "json.null is read-only");
}

static void make_null(lua_State *L)
{
    lua_newtable(L);
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, null_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

static void make_array_mt(lua_State *L)
{
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "lucent.json.array");
    lua_setfield(L, -2, "__name");
}

/* Formats the number at idx: integers exactly; floats as the shorter of
 * %.14g and %.17g that reads back unchanged, with ".0" added where the text
 * would otherwise read back as an integer. False for NaN and infinities. */
static bool fmt_number(lua_State *L, int idx, char *s, size_t n)
{
    if (lua_isinteger(L, idx)) {
        snprintf(s, n, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
        return true;
    }
    double d = (double)lua_tonumber(L, idx);
    if (!isfinite(d))
        return false;
    snprintf(s, n, "%.14g", d);
    if (strtod(s, NULL) != d)
        snprintf(s, n, "%.17g", d);
    bool frac = false;
    for (char *p = s; *p != '\0'; p++) {
        if (*p == 'e') {
            frac = true;
        } else if (!is_digit((unsigned char)*p) && *p != '-' && *p != '+') {
            *p = '.'; /* whatever the locale's decimal point is */
            frac = true;
        }
    }
    if (!frac) {
        size_t len = strlen(s);
        snprintf(s + len, n - len, ".0");
    }
    return true;
}

/* A table key turned into text, for sorting. */
struct skey {
    const char *s; /* borrowed: anchored in the anchor table */
    size_t len;
    lua_Integer slot; /* the original key is anchor[2 * slot + 2] */
};

static int skey_cmp(const void *a, const void *b)
{
    const struct skey *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    if (c != 0)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* Pushes the keys of table t as text, sorted, in a userdata (its address in
 * *keys, the count in *n), then an anchor table holding the texts and the
 * original keys. Keys must be strings or finite numbers: returns the type of
 * the first other key (both pushes done), or LUA_TNONE when all are fine. */
static int sorted_keys(lua_State *L, int t, struct skey **keys, size_t *n)
{
    size_t count = 0, i = 0;
    int bad = LUA_TNONE;

    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        lua_pop(L, 1);
        count++;
    }
    *keys = lua_newuserdatauv(L, count * sizeof(**keys), 0);
    lua_createtable(L, count > INT_MAX / 2 ? INT_MAX : (int)(count * 2), 0);
    int anchor = lua_gettop(L);
    lua_pushnil(L);
    while (i < count && lua_next(L, t) != 0) {
        char num[48];
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, anchor, (lua_Integer)(2 * i + 2));
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
        } else if (lua_type(L, -1) == LUA_TNUMBER && fmt_number(L, -1, num, sizeof(num))) {
            lua_pushstring(L, num);
        } else {
            if (bad == LUA_TNONE)
                bad = lua_type(L, -1);
            continue;
        }
        (*keys)[i].s = lua_tolstring(L, -1, &(*keys)[i].len);
        (*keys)[i].slot = (lua_Integer)i;
        lua_rawseti(L, anchor, (lua_Integer)(2 * i + 1));
        i++;
    }
    lua_settop(L, anchor); /* lua_next may not have run to its end */
    if (bad != LUA_TNONE) {
        *n = 0;
        return bad;
    }
    *n = i;
    qsort(*keys, i, sizeof(**keys), skey_cmp);
    return LUA_TNONE;
}

/* Is the table at t a sequence 1..n (n >= 1, nothing else)? Sets *n. */
static bool is_sequence(lua_State *L, int t, lua_Integer *n)
{
    lua_Integer count = 0, max = 0;
    bool ints = true;

    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        lua_pop(L, 1);
        count++;
        if (ints && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
            lua_Integer k = lua_tointeger(L, -1);
            if (k > max)
                max = k;
        } else {
            ints = false;
        }
    }
    *n = count;
    return count > 0 && ints && max == count;
}

/* ---- json.encode ------------------------------------------------------------- */

struct jenc {
    lua_State *L;
    struct buf *out; /* borrowed: a tmpbuf on the stack */
    int seen;        /* stack index: tables being encoded, to find cycles */
    int null;        /* stack index: json.null */
    int array_mt;    /* stack index: the array metatable */
};

static void encode_value(struct jenc *e, int idx, int depth);

static void encode_table(struct jenc *e, int idx, int depth)
{
    lua_State *L = e->L;
    lua_Integer n;
    bool array;

    if (depth >= LUTIL_JSON_MAX_DEPTH)
        luaL_error(L, "json.encode: nesting deeper than %d levels", LUTIL_JSON_MAX_DEPTH);
    luaL_checkstack(L, 8, "json.encode: nesting");
    lua_pushvalue(L, idx);
    if (lua_rawget(L, e->seen) != LUA_TNIL)
        luaL_error(L, "json.encode: a table contains itself");
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, e->seen);

    array = false;
    if (lua_getmetatable(L, idx)) {
        array = lua_rawequal(L, -1, e->array_mt);
        lua_pop(L, 1);
    }
    if (array)
        n = (lua_Integer)lua_rawlen(L, idx);
    else
        array = is_sequence(L, idx, &n);

    if (array) {
        buf_putc(e->out, '[');
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1)
                buf_putc(e->out, ',');
            lua_rawgeti(L, idx, i);
            encode_value(e, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        buf_putc(e->out, ']');
    } else {
        struct skey *keys;
        size_t count;
        int bad = sorted_keys(L, idx, &keys, &count);
        int anchor = lua_gettop(L);
        if (bad != LUA_TNONE)
            luaL_error(L, "json.encode: object keys must be strings or finite numbers, not %s",
                       lua_typename(L, bad));
        buf_putc(e->out, '{');
        for (size_t i = 0; i < count; i++) {
            if (i > 0)
                buf_putc(e->out, ',');
            json_str(e->out, keys[i].s, keys[i].len);
            buf_putc(e->out, ':');
            lua_rawgeti(L, anchor, 2 * keys[i].slot + 2);
            lua_rawget(L, idx);
            encode_value(e, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        buf_putc(e->out, '}');
        lua_pop(L, 2);
    }

    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, e->seen);
}

static void encode_value(struct jenc *e, int idx, int depth)
{
    lua_State *L = e->L;
    char num[48];
    size_t len;
    const char *s;

    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        buf_puts(e->out, "null");
        break;
    case LUA_TBOOLEAN:
        buf_puts(e->out, lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TNUMBER:
        if (!fmt_number(L, idx, num, sizeof(num)))
            luaL_error(L, "json.encode: cannot encode %s",
                       isnan(lua_tonumber(L, idx)) ? "NaN" : "an infinite number");
        buf_puts(e->out, num);
        break;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        json_str(e->out, s, len);
        break;
    case LUA_TTABLE:
        if (lua_rawequal(L, idx, e->null))
            buf_puts(e->out, "null");
        else
            encode_table(e, idx, depth);
        break;
    default:
        luaL_error(L, "json.encode: cannot encode a %s", luaL_typename(L, idx));
    }
}

static int l_json_encode(lua_State *L)
{
    struct jenc e;

    luaL_checkany(L, 1);
    lua_settop(L, 1);
    e.L = L;
    e.out = push_tmpbuf(L);
    lua_newtable(L);
    e.seen = lua_gettop(L);
    push_shared(L, &key_null, make_null);
    e.null = lua_gettop(L);
    push_shared(L, &key_array_mt, make_array_mt);
    e.array_mt = lua_gettop(L);
    encode_value(&e, 1, 0);
    lua_pushlstring(L, e.out->p != NULL ? e.out->p : "", e.out->len);
    buf_free(e.out);
    return 1;
}

/* ---- json.decode -------------------------------------------------------------- */

struct jdec {
    lua_State *L;
    const unsigned char *s;
    size_t len, pos;
    int depth;
    int null;     /* stack index: json.null */
    int array_mt; /* stack index: the array metatable */
    char err[160];
};

/* Records why decoding failed at byte offset at; returns -1. */
static LC_PRINTF(3, 4) int jfail(struct jdec *d, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->err, sizeof(d->err), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(d->err))
        snprintf(d->err + n, sizeof(d->err) - (size_t)n, " at position %zu", at + 1);
    return -1;
}

static void skip_ws(struct jdec *d)
{
    while (d->pos < d->len && (d->s[d->pos] == ' ' || d->s[d->pos] == '\t' ||
                               d->s[d->pos] == '\n' || d->s[d->pos] == '\r'))
        d->pos++;
}

static int unexpected(struct jdec *d)
{
    if (d->pos >= d->len)
        return jfail(d, d->pos, "unexpected end of input");
    unsigned char c = d->s[d->pos];
    if (c > 0x20 && c < 0x7f)
        return jfail(d, d->pos, "unexpected character '%c'", c);
    return jfail(d, d->pos, "unexpected byte 0x%02x", c);
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int x = hexval(p[i]);
        if (x < 0)
            return -1;
        v = v << 4 | x;
    }
    return v;
}

static void add_utf8(luaL_Buffer *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    }
    luaL_addlstring(b, u, n);
}

/* \uXXXX at d->pos (the backslash), with its low surrogate if it is a high
 * one; adds the UTF-8 to b and moves past it. */
static int decode_u_escape(struct jdec *d, luaL_Buffer *b)
{
    size_t at = d->pos;
    int hi = d->len - at >= 6 ? hex4(d->s + at + 2) : -1;
    if (hi < 0)
        return jfail(d, at, "invalid \\u escape");
    d->pos += 6;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return jfail(d, at, "lone low surrogate \\u%04x", (unsigned)hi);
    if (hi < 0xd800 || hi > 0xdbff) {
        add_utf8(b, (uint32_t)hi);
        return 0;
    }
    int lo = -1;
    if (d->len - d->pos >= 6 && d->s[d->pos] == '\\' && d->s[d->pos + 1] == 'u')
        lo = hex4(d->s + d->pos + 2);
    if (lo < 0xdc00 || lo > 0xdfff)
        return jfail(d, at, "lone high surrogate \\u%04x", (unsigned)hi);
    d->pos += 6;
    add_utf8(b, 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00));
    return 0;
}

/* A string at d->pos (the opening quote): pushes it. */
static int decode_string(struct jdec *d)
{
    size_t open = d->pos, run;
    luaL_Buffer b;
    bool buffered = false;

    d->pos++;
    for (;;) {
        run = d->pos;
        /* plain bytes: no quote, backslash or control character; valid UTF-8 */
        while (d->pos < d->len) {
            unsigned char c = d->s[d->pos];
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            if (c < 0x80) {
                d->pos++;
                continue;
            }
            size_t n = json_utf8_seq(d->s + d->pos, d->len - d->pos);
            if (n == 0)
                return jfail(d, d->pos, "invalid UTF-8 in string");
            d->pos += n;
        }
        if (d->pos >= d->len)
            return jfail(d, open, "unterminated string");
        unsigned char c = d->s[d->pos];
        if (c < 0x20)
            return jfail(d, d->pos, "control character (byte 0x%02x) in string", c);
        if (c == '"' && !buffered) {
            lua_pushlstring(d->L, (const char *)d->s + run, d->pos - run);
            d->pos++;
            return 0;
        }
        if (!buffered) {
            luaL_buffinit(d->L, &b);
            buffered = true;
        }
        luaL_addlstring(&b, (const char *)d->s + run, d->pos - run);
        if (c == '"') {
            luaL_pushresult(&b);
            d->pos++;
            return 0;
        }
        /* a backslash */
        if (d->pos + 1 >= d->len)
            return jfail(d, open, "unterminated string");
        char e = (char)d->s[d->pos + 1];
        switch (e) {
        case '"':
        case '\\':
        case '/':
            luaL_addchar(&b, e);
            break;
        case 'b':
            luaL_addchar(&b, '\b');
            break;
        case 'f':
            luaL_addchar(&b, '\f');
            break;
        case 'n':
            luaL_addchar(&b, '\n');
            break;
        case 'r':
            luaL_addchar(&b, '\r');
            break;
        case 't':
            luaL_addchar(&b, '\t');
            break;
        case 'u':
            if (decode_u_escape(d, &b) < 0)
                return -1;
            continue;
        default:
            return jfail(d, d->pos, "invalid escape in string");
        }
        d->pos += 2;
    }
}

static bool at_digit(const struct jdec *d)
{
    return d->pos < d->len && is_digit(d->s[d->pos]);
}

/* A number at d->pos: pushes an integer when it has no fraction or exponent
 * and fits lua_Integer, else a float. */
static int decode_number(struct jdec *d)
{
    size_t start = d->pos;

    if (d->s[d->pos] == '-')
        d->pos++;
    if (d->pos < d->len && d->s[d->pos] == '0') {
        d->pos++;
    } else if (at_digit(d)) {
        while (at_digit(d))
            d->pos++;
    } else {
        return jfail(d, start, "invalid number");
    }
    if (d->pos < d->len && d->s[d->pos] == '.') {
        d->pos++;
        if (!at_digit(d))
            return jfail(d, start, "invalid number");
        while (at_digit(d))
            d->pos++;
    }
    if (d->pos < d->len && (d->s[d->pos] == 'e' || d->s[d->pos] == 'E')) {
        d->pos++;
        if (d->pos < d->len && (d->s[d->pos] == '+' || d->s[d->pos] == '-'))
            d->pos++;
        if (!at_digit(d))
            return jfail(d, start, "invalid number");
        while (at_digit(d))
            d->pos++;
    }

    /* the text is now plain JSON grammar, which Lua reads the same way:
     * decimal integers that overflow become floats */
    size_t n = d->pos - start;
    char small[64];
    size_t ok;
    if (n < sizeof(small)) {
        memcpy(small, d->s + start, n);
        small[n] = '\0';
        ok = lua_stringtonumber(d->L, small);
    } else {
        lua_pushlstring(d->L, (const char *)d->s + start, n);
        ok = lua_stringtonumber(d->L, lua_tostring(d->L, -1));
        if (ok != 0)
            lua_remove(d->L, -2);
    }
    if (ok == 0)
        return jfail(d, start, "invalid number");
    if (!lua_isinteger(d->L, -1) && !isfinite(lua_tonumber(d->L, -1)))
        return jfail(d, start, "number out of range");
    return 0;
}

static int decode_value(struct jdec *d);

static int decode_array(struct jdec *d)
{
    lua_State *L = d->L;
    lua_Integer i = 0;

    if (d->depth >= LUTIL_JSON_MAX_DEPTH)
        return jfail(d, d->pos, "nesting deeper than %d levels", LUTIL_JSON_MAX_DEPTH);
    d->depth++;
    luaL_checkstack(L, 4, "json.decode: nesting");
    lua_newtable(L);
    lua_pushvalue(L, d->array_mt);
    lua_setmetatable(L, -2);
    d->pos++;
    skip_ws(d);
    if (d->pos < d->len && d->s[d->pos] == ']') {
        d->pos++;
        d->depth--;
        return 0;
    }
    for (;;) {
        if (decode_value(d) < 0)
            return -1;
        lua_rawseti(L, -2, ++i);
        skip_ws(d);
        if (d->pos < d->len && d->s[d->pos] == ',') {
            d->pos++;
            continue;
        }
        if (d->pos < d->len && d->s[d->pos] == ']') {
            d->pos++;
            break;
        }
        if (d->pos >= d->len)
            return unexpected(d);
        return jfail(d, d->pos, "expected ',' or ']'");
    }
    d->depth--;
    return 0;
}

static int decode_object(struct jdec *d)
{
    lua_State *L = d->L;

    if (d->depth >= LUTIL_JSON_MAX_DEPTH)
        return jfail(d, d->pos, "nesting deeper than %d levels", LUTIL_JSON_MAX_DEPTH);
    d->depth++;
    luaL_checkstack(L, 4, "json.decode: nesting");
    lua_newtable(L);
    d->pos++;
    skip_ws(d);
    if (d->pos < d->len && d->s[d->pos] == '}') {
        d->pos++;
        d->depth--;
        return 0;
    }
    for (;;) {
        skip_ws(d);
        if (d->pos >= d->len)
            return unexpected(d);
        if (d->s[d->pos] != '"')
            return jfail(d, d->pos, "expected a string key");
        if (decode_string(d) < 0)
            return -1;
        skip_ws(d);
        if (d->pos >= d->len)
            return unexpected(d);
        if (d->s[d->pos] != ':')
            return jfail(d, d->pos, "expected ':'");
        d->pos++;
        if (decode_value(d) < 0)
            return -1;
        lua_rawset(L, -3); /* a repeated key: the last one wins */
        skip_ws(d);
        if (d->pos < d->len && d->s[d->pos] == ',') {
            d->pos++;
            continue;
        }
        if (d->pos < d->len && d->s[d->pos] == '}') {
            d->pos++;
            break;
        }
        if (d->pos >= d->len)
            return unexpected(d);
        return jfail(d, d->pos, "expected ',' or '}'");
    }
    d->depth--;
    return 0;
}

static int decode_literal(struct jdec *d, const char *word)
{
    size_t n = strlen(word);
    if (d->len - d->pos < n || memcmp(d->s + d->pos, word, n) != 0)
        return unexpected(d);
    d->pos += n;
    return 0;
}

/* One value at d->pos (after whitespace): pushes it. */
static int decode_value(struct jdec *d)
{
    skip_ws(d);
    if (d->pos >= d->len)
        return unexpected(d);
    switch (d->s[d->pos]) {
    case '{':
        return decode_object(d);
    case '[':
        return decode_array(d);
    case '"':
        return decode_string(d);
    case 't':
        if (decode_literal(d, "true") < 0)
            return -1;
        lua_pushboolean(d->L, 1);
        return 0;
    case 'f':
        if (decode_literal(d, "false") < 0)
            return -1;
        lua_pushboolean(d->L, 0);
        return 0;
    case 'n':
        if (decode_literal(d, "null") < 0)
            return -1;
        lua_pushvalue(d->L, d->null);
        return 0;
    default:
        if (d->s[d->pos] == '-' || (d->s[d->pos] >= '0' && d->s[d->pos] <= '9'))
            return decode_number(d);
        return unexpected(d);
    }
}

static int l_json_decode(lua_State *L)
{
    struct jdec d;
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);

    lua_settop(L, 1);
    memset(&d, 0, sizeof(d));
    d.L = L;
    d.s = (const unsigned char *)s;
    d.len = len;
    push_shared(L, &key_null, make_null);
    d.null = lua_gettop(L);
    push_shared(L, &key_array_mt, make_array_mt);
    d.array_mt = lua_gettop(L);
    if (decode_value(&d) == 0) {
        skip_ws(&d);
        if (d.pos == d.len)
            return 1;
        jfail(&d, d.pos, "unexpected data after the value");
    }
    lua_settop(L, d.array_mt);
    lua_pushnil(L);
    lua_pushstring(L, d.err);
    return 2;
}

static int l_json_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    push_shared(L, &key_array_mt, make_array_mt);
    lua_setmetatable(L, 1);
    return 1;
}

/* ---- percent-encoding and queries ----------------------------------------- */

static bool is_unreserved(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Appends s[0..n) with everything but RFC 3986 unreserved bytes as %XX. */
static void buf_escape(struct buf *out, const char *s, size_t n)
{
    buf_reserve(out, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c)) {
            buf_putc(out, (char)c);
        } else {
            char e[3] = {'%', hexdigits[c >> 4], hexdigits[c & 15]};
            buf_append(out, e, 3);
        }
    }
}

/* Pushes s[0..n) with %XX decoded (bad escapes kept as written) and, with
 * plus, '+' read as a space. */
static void push_unescaped(lua_State *L, const char *s, size_t n, bool plus)
{
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, n);
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            p[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (plus && s[i] == '+') {
            p[o++] = ' ';
        } else {
            p[o++] = s[i];
        }
    }
    luaL_pushresultsize(&b, o);
}

void lutil_push_query(lua_State *L, const char *q, size_t len)
{
    size_t i = 0;

    luaL_checkstack(L, 6, "query");
    lua_newtable(L);
    int t = lua_gettop(L);
    while (i < len) {
        size_t start = i;
        while (i < len && q[i] != '&')
            i++;
        size_t end = i++;
        if (end == start)
            continue;
        const char *eq = memchr(q + start, '=', end - start);
        size_t name_end = eq != NULL ? (size_t)(eq - q) : end;
        push_unescaped(L, q + start, name_end - start, true);
        if (eq != NULL)
            push_unescaped(L, eq + 1, end - name_end - 1, true);
        else
            lua_pushliteral(L, "");
        /* t+1 name, t+2 value, t+3 what the name has so far */
        lua_pushvalue(L, t + 1);
        int had = lua_rawget(L, t);
        if (had == LUA_TNIL) {
            lua_pop(L, 1);
            lua_rawset(L, t);
        } else if (had == LUA_TSTRING) {
            lua_createtable(L, 4, 0);
            lua_pushvalue(L, t + 3);
            lua_rawseti(L, t + 4, 1);
            lua_pushvalue(L, t + 2);
            lua_rawseti(L, t + 4, 2);
            lua_pushvalue(L, t + 1);
            lua_pushvalue(L, t + 4);
            lua_rawset(L, t);
        } else {
            lua_pushvalue(L, t + 2);
            lua_rawseti(L, t + 3, (lua_Integer)lua_rawlen(L, t + 3) + 1);
        }
        lua_settop(L, t);
    }
}

/* The text of a scalar query value at idx (pushed), or NULL if it is not
 * a string, number or boolean. */
static const char *query_scalar(lua_State *L, int idx, size_t *len)
{
    int type = lua_type(L, idx);
    if (type == LUA_TBOOLEAN) {
        lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
    } else if (type == LUA_TSTRING || type == LUA_TNUMBER) {
        lua_pushvalue(L, idx); /* tolstring below converts the copy */
    } else {
        return NULL;
    }
    return lua_tolstring(L, -1, len);
}

static void put_pair(struct buf *out, size_t base, const struct skey *k, const char *v, size_t vlen)
{
    if (out->len > base)
        buf_putc(out, '&');
    buf_escape(out, k->s, k->len);
    buf_putc(out, '=');
    buf_escape(out, v, vlen);
}

int lutil_build_query(lua_State *L, int idx, struct buf *out)
{
    int top = lua_gettop(L);
    size_t base = out->len, count, vlen;
    struct skey *keys;
    const char *v;

    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx)) {
        lua_pushfstring(L, "query must be a table, not %s", luaL_typename(L, idx));
        return -1;
    }
    luaL_checkstack(L, 8, "query");
    int bad = sorted_keys(L, idx, &keys, &count);
    if (bad != LUA_TNONE) {
        lua_settop(L, top);
        lua_pushfstring(L, "query names must be strings or numbers, not %s", lua_typename(L, bad));
        return -1;
    }
    int anchor = lua_gettop(L);
    for (size_t i = 0; i < count; i++) {
        lua_rawgeti(L, anchor, 2 * keys[i].slot + 2);
        lua_rawget(L, idx);
        int val = lua_gettop(L);
        lua_Integer n;
        if ((v = query_scalar(L, val, &vlen)) != NULL) {
            put_pair(out, base, &keys[i], v, vlen);
        } else if (lua_type(L, val) == LUA_TTABLE && (is_sequence(L, val, &n) || n == 0)) {
            for (lua_Integer j = 1; j <= n; j++) {
                lua_rawgeti(L, val, j);
                if ((v = query_scalar(L, -1, &vlen)) == NULL)
                    goto bad_value;
                put_pair(out, base, &keys[i], v, vlen);
                lua_pop(L, 2);
            }
        } else {
            goto bad_value;
        }
        lua_settop(L, anchor);
        continue;

    bad_value:
        out->len = base;
        if (out->p != NULL)
            out->p[base] = '\0';
        lua_settop(L, top);
        lua_pushfstring(L,
                        "query value for \"%s\" must be a string, number, boolean or an "
                        "array of them",
                        keys[i].s);
        return -1;
    }
    lua_settop(L, top);
    return 0;
}

/* ---- lucent.url --------------------------------------------------------------- */

struct span {
    const char *p;
    size_t n;
    bool set;
};

struct url_parts {
    struct span scheme, userinfo, host, port, path, query, fragment;
    long portnum;
};

static bool is_scheme_char(unsigned char c)
{
    return is_alnum(c) || c == '+' || c == '-' || c == '.';
}

static bool is_host_char(unsigned char c)
{
    return is_unreserved(c) || c >= 0x80 || c == '%' || strchr("!$&'()*+,;=", c) != NULL;
}

static struct span span_of(const char *p, size_t n)
{
    struct span s = {p, n, true};
    return s;
}

/* An IPv6 literal (inside the brackets): hex digits, ':' and '.', at least
 * one ':', optionally "%" and a zone of unreserved or %XX bytes. */
static bool valid_ipv6(const char *s, size_t n)
{
    size_t i = 0;
    bool colon = false;
    for (; i < n && s[i] != '%'; i++) {
        if (s[i] == ':')
            colon = true;
        else if (!is_xdigit((unsigned char)s[i]) && s[i] != '.')
            return false;
    }
    if (!colon)
        return false;
    if (i < n && i + 1 == n)
        return false; /* an empty zone */
    for (i++; i < n; i++)
        if (!is_unreserved((unsigned char)s[i]) && s[i] != '%')
            return false;
    return true;
}

/* Splits s into parts; on failure writes why into err and returns -1. */
static int url_split(const char *s, size_t len, struct url_parts *u, char *err, size_t errlen)
{
    size_t pos = 0, i;

    memset(u, 0, sizeof(*u));
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f) {
            snprintf(err, errlen, "invalid character (byte 0x%02x) at position %zu", c, i + 1);
            return -1;
        }
    }
    if (len > 0 && is_alpha((unsigned char)s[0])) {
        for (i = 1; i < len && is_scheme_char((unsigned char)s[i]); i++)
            ;
        if (i < len && s[i] == ':') {
            u->scheme = span_of(s, i);
            pos = i + 1;
        }
    }
    if (len - pos >= 2 && s[pos] == '/' && s[pos + 1] == '/') {
        size_t a = pos + 2, end = a, at;
        while (end < len && s[end] != '/' && s[end] != '?' && s[end] != '#')
            end++;
        pos = end;
        for (at = end; at > a && s[at - 1] != '@'; at--)
            ;
        if (at > a) {
            u->userinfo = span_of(s + a, at - 1 - a);
            a = at;
        }
        size_t hend;
        if (a < end && s[a] == '[') {
            const char *close = memchr(s + a, ']', end - a);
            if (close == NULL) {
                snprintf(err, errlen, "unterminated IPv6 literal (no ']')");
                return -1;
            }
            u->host = span_of(s + a + 1, (size_t)(close - s) - a - 1);
            if (!valid_ipv6(u->host.p, u->host.n)) {
                snprintf(err, errlen, "invalid IPv6 literal");
                return -1;
            }
            hend = (size_t)(close - s) + 1;
            if (hend < end && s[hend] != ':') {
                snprintf(err, errlen, "unexpected character '%c' after an IPv6 literal", s[hend]);
                return -1;
            }
        } else {
            for (hend = a; hend < end && s[hend] != ':'; hend++) {
                if (!is_host_char((unsigned char)s[hend])) {
                    snprintf(err, errlen, "invalid character '%c' in host", s[hend]);
                    return -1;
                }
            }
            u->host = span_of(s + a, hend - a);
        }
        if (hend < end) { /* ':' and a port, maybe empty */
            u->port = span_of(s + hend + 1, end - hend - 1);
            u->portnum = 0;
            for (i = 0; i < u->port.n; i++) {
                if (!is_digit((unsigned char)u->port.p[i])) {
                    snprintf(err, errlen, "invalid port \"%.*s\"",
                             u->port.n > 20 ? 20 : (int)u->port.n, u->port.p);
                    return -1;
                }
                u->portnum = u->portnum * 10 + (u->port.p[i] - '0');
                if (u->portnum > 65535) {
                    snprintf(err, errlen, "port out of range");
                    return -1;
                }
            }
            if (u->port.n == 0)
                u->port.set = false;
        }
    }
    for (i = pos; i < len && s[i] != '?' && s[i] != '#'; i++)
        ;
    u->path = span_of(s + pos, i - pos);
    pos = i;
    if (pos < len && s[pos] == '?') {
        for (i = pos + 1; i < len && s[i] != '#'; i++)
            ;
        u->query = span_of(s + pos + 1, i - pos - 1);
        pos = i;
    }
    if (pos < len && s[pos] == '#')
        u->fragment = span_of(s + pos + 1, len - pos - 1);
    return 0;
}

/* Sets t[name] to the span lower-cased up to stop (a '%' zone keeps its case). */
static void set_lower(lua_State *L, const char *name, const struct span *sp, char stop)
{
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, sp->n);
    bool fold = true;
    for (size_t i = 0; i < sp->n; i++) {
        if (sp->p[i] == stop)
            fold = false;
        p[i] = fold ? to_lower(sp->p[i]) : sp->p[i];
    }
    luaL_pushresultsize(&b, sp->n);
    lua_setfield(L, -2, name);
}

static void set_span(lua_State *L, const char *name, const struct span *sp)
{
    if (!sp->set)
        return;
    lua_pushlstring(L, sp->p, sp->n);
    lua_setfield(L, -2, name);
}

static int l_url_parse(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    struct url_parts u;
    char err[120];

    if (url_split(s, len, &u, err, sizeof(err)) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_createtable(L, 0, 7);
    if (u.scheme.set)
        set_lower(L, "scheme", &u.scheme, '\0');
    set_span(L, "userinfo", &u.userinfo);
    if (u.host.set)
        set_lower(L, "host", &u.host, '%');
    if (u.port.set) {
        lua_pushinteger(L, u.portnum);
        lua_setfield(L, -2, "port");
    }
    set_span(L, "path", &u.path);
    set_span(L, "query", &u.query);
    set_span(L, "fragment", &u.fragment);
    return 1;
}

/* t[name] as a string (NULL if nil); raises for other types. */
static const char *opt_field(lua_State *L, int t, const char *name, size_t *len)
{
    int type = lua_getfield(L, t, name);
    if (type == LUA_TNIL) {
        lua_pop(L, 1);
        *len = 0;
        return NULL;
    }
    if (type != LUA_TSTRING)
        luaL_error(L, "url.build: %s must be a string, not %s", name, luaL_typename(L, -1));
    return lua_tolstring(L, -1, len); /* left on the stack, which anchors it */
}

static int l_url_build(lua_State *L)
{
    size_t slen, ulen, hlen, plen, qlen, flen;
    const char *scheme, *user, *host, *path, *query = NULL, *frag;
    lua_Integer port = -1;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    struct buf *out = push_tmpbuf(L);

    scheme = opt_field(L, 1, "scheme", &slen);
    if (scheme != NULL) {
        bool ok = slen > 0 && is_alpha((unsigned char)scheme[0]);
        for (size_t i = 1; ok && i < slen; i++)
            ok = is_scheme_char((unsigned char)scheme[i]);
        if (!ok)
            return luaL_error(L, "url.build: invalid scheme");
        buf_append(out, scheme, slen);
        buf_putc(out, ':');
    }
    user = opt_field(L, 1, "userinfo", &ulen);
    host = opt_field(L, 1, "host", &hlen);
    if (lua_getfield(L, 1, "port") != LUA_TNIL) {
        int isnum;
        port = lua_tointegerx(L, -1, &isnum);
        if (!isnum || port < 0 || port > 65535)
            return luaL_error(L, "url.build: port must be an integer from 0 to 65535");
    }
    lua_pop(L, 1);
    if (host != NULL) {
        for (size_t i = 0; i < hlen; i++) {
            unsigned char c = (unsigned char)host[i];
            if (c <= 0x20 || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '@')
                return luaL_error(L, "url.build: invalid character in host");
        }
        buf_puts(out, "//");
        if (user != NULL) {
            buf_append(out, user, ulen);
            buf_putc(out, '@');
        }
        bool bracket = memchr(host, ':', hlen) != NULL && !(hlen > 0 && host[0] == '[');
        if (bracket)
            buf_putc(out, '[');
        buf_append(out, host, hlen);
        if (bracket)
            buf_putc(out, ']');
        if (port >= 0)
            buf_printf(out, ":%lld", (long long)port);
    } else if (user != NULL || port >= 0) {
        return luaL_error(L, "url.build: userinfo or port without a host");
    }
    path = opt_field(L, 1, "path", &plen);
    if (path != NULL) {
        if (host != NULL && plen > 0 && path[0] != '/')
            buf_putc(out, '/');
        buf_append(out, path, plen);
    }
    int qtype = lua_getfield(L, 1, "query");
    if (qtype == LUA_TTABLE) {
        buf_putc(out, '?');
        if (lutil_build_query(L, -1, out) < 0)
            return lua_error(L);
    } else if (qtype == LUA_TSTRING) {
        query = lua_tolstring(L, -1, &qlen);
        buf_putc(out, '?');
        buf_append(out, query, qlen);
    } else if (qtype != LUA_TNIL) {
        return luaL_error(L, "url.build: query must be a string or a table, not %s",
                          luaL_typename(L, -1));
    }
    frag = opt_field(L, 1, "fragment", &flen);
    if (frag != NULL) {
        buf_putc(out, '#');
        buf_append(out, frag, flen);
    }
    lua_pushlstring(L, out->p != NULL ? out->p : "", out->len);
    buf_free(out);
    return 1;
}

static int l_url_decode_query(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lutil_push_query(L, s, len);
    return 1;
}

static int l_url_encode_query(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    struct buf *out = push_tmpbuf(L);
    if (lutil_build_query(L, 1, out) < 0)
        return lua_error(L);
    lua_pushlstring(L, out->p != NULL ? out->p : "", out->len);
    buf_free(out);
    return 1;
}

static int l_url_escape(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    struct buf *out = push_tmpbuf(L);
    buf_escape(out, s, len);
    lua_pushlstring(L, out->p != NULL ? out->p : "", out->len);
    buf_free(out);
    return 1;
}

static int l_url_unescape(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    push_unescaped(L, s, len, false);
    return 1;
}

/* ---- lucent.base64 ----------------------------------------------------------- */

static int l_base64_encode(lua_State *L)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;

    if (len / 3 >= SIZE_MAX / 4 - 1)
        return luaL_error(L, "base64.encode: string too long");
    size_t outlen = (len + 2) / 3 * 4, o = 0, i = 0;
    char *p = luaL_buffinitsize(L, &b, outlen);
    for (; len - i >= 3; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        p[o++] = abc[v >> 18];
        p[o++] = abc[(v >> 12) & 63];
        p[o++] = abc[(v >> 6) & 63];
        p[o++] = abc[v & 63];
    }
    if (len - i > 0) {
        uint32_t v = (uint32_t)s[i] << 16 | (len - i > 1 ? (uint32_t)s[i + 1] << 8 : 0);
        p[o++] = abc[v >> 18];
        p[o++] = abc[(v >> 12) & 63];
        p[o++] = len - i > 1 ? abc[(v >> 6) & 63] : '=';
        p[o++] = '=';
    }
    luaL_pushresultsize(&b, o);
    return 1;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static int b64_fail(lua_State *L, const char *msg)
{
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
}

/* Standard or URL-safe alphabet, padding optional but correct if present;
 * anything else (whitespace included) is an error. Unused low bits of the
 * last character are not checked. */
static int l_base64_decode(lua_State *L)
{
    size_t len, n, pad = 0;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;

    n = len;
    while (n > 0 && s[n - 1] == '=' && pad < 3) {
        n--;
        pad++;
    }
    for (size_t i = 0; i < n; i++) {
        if (b64_value(s[i]) < 0) {
            lua_pushnil(L);
            if (s[i] > 0x20 && s[i] < 0x7f)
                lua_pushfstring(L, "invalid character '%c' at position %I", s[i],
                                (lua_Integer)i + 1);
            else
                lua_pushfstring(L, "invalid byte at position %I", (lua_Integer)i + 1);
            return 2;
        }
    }
    if (pad > 2 || (pad > 0 && len % 4 != 0))
        return b64_fail(L, "incorrect padding");
    if (n % 4 == 1)
        return b64_fail(L, "invalid length");
    size_t outlen = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1), o = 0, i = 0;
    char *p = luaL_buffinitsize(L, &b, outlen);
    for (; n - i >= 4; i += 4) {
        uint32_t v = (uint32_t)b64_value(s[i]) << 18 | (uint32_t)b64_value(s[i + 1]) << 12 |
                     (uint32_t)b64_value(s[i + 2]) << 6 | (uint32_t)b64_value(s[i + 3]);
        p[o++] = (char)(v >> 16);
        p[o++] = (char)(v >> 8);
        p[o++] = (char)v;
    }
    if (n - i >= 2) {
        uint32_t v = (uint32_t)b64_value(s[i]) << 18 | (uint32_t)b64_value(s[i + 1]) << 12;
        if (n - i == 3)
            v |= (uint32_t)b64_value(s[i + 2]) << 6;
        p[o++] = (char)(v >> 16);
        if (n - i == 3)
            p[o++] = (char)(v >> 8);
    }
    luaL_pushresultsize(&b, o);
    return 1;
}

/* ---- registration ------------------------------------------------------------ */

static const luaL_Reg json_funcs[] = {
    {"encode", l_json_encode},
    {"decode", l_json_decode},
    {"array", l_json_array},
    {NULL, NULL},
};

static const luaL_Reg url_funcs[] = {
    {"parse", l_url_parse},
    {"build", l_url_build},
    {"decode_query", l_url_decode_query},
    {"encode_query", l_url_encode_query},
    {"escape", l_url_escape},
    {"unescape", l_url_unescape},
    {NULL, NULL},
};

static const luaL_Reg base64_funcs[] = {
    {"encode", l_base64_encode},
    {"decode", l_base64_decode},
    {NULL, NULL},
};

void lutil_open(lua_State *L)
{
    int t = lua_gettop(L);

    luaL_checkstack(L, 4, "lutil_open");
    luaL_newlib(L, json_funcs);
    push_shared(L, &key_null, make_null);
    lua_setfield(L, -2, "null");
    lua_setfield(L, t, "json");
    luaL_newlib(L, url_funcs);
    lua_setfield(L, t, "url");
    luaL_newlib(L, base64_funcs);
    lua_setfield(L, t, "base64");
}
