/* SPDX-License-Identifier: MIT */
/* Unit tests of core/lutil: lucent.json, lucent.url and lucent.base64 as
 * scripts see them, plus lutil_push_query / lutil_build_query from C. Most
 * checks run a Lua chunk and compare its result as text: a row's want is
 * the exact text, "~part" for text that must contain part, or "ERR:part"
 * for a chunk that must raise an error whose message contains part. Results
 * built from tables go through json.encode, whose sorted keys make them
 * deterministic. A last part runs the functions under a Lua allocator with
 * a moving memory cap, so errors raised mid-way are checked for leaks (with
 * AddressSanitizer) and crashes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "core/buf.h"
#include "core/lutil.h"
#include "check.h"

struct row {
    const char *lua; /* a chunk; its first result is compared */
    const char *want;
};

static const char prelude[] =
    "J, U, B = lucent.json, lucent.url, lucent.base64\n"
    /* the error message of a decode/parse that must fail */
    "function derr(s) local v, e = J.decode(s) if v ~= nil then return 'decoded' end "
    "  assert(type(e) == 'string' and #e > 0) return e end\n"
    "function perr(s) local v, e = U.parse(s) if v ~= nil then return 'parsed' end "
    "  assert(type(e) == 'string' and #e > 0) return e end\n"
    "function berr(s) local v, e = B.decode(s) if v ~= nil then return 'decoded' end "
    "  assert(type(e) == 'string' and #e > 0) return e end\n"
    "function rt(s) return J.encode(assert(J.decode(s))) end\n"
    "function P(s) return J.encode(assert(U.parse(s))) end\n"
    "function Q(s) return J.encode(U.decode_query(s)) end\n"
    "function nest(n) local t = {} for i = 2, n do t = {t} end return t end\n";

static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        abort();
    luaL_openlibs(L);
    lua_newtable(L);
    lutil_open(L);
    lua_setglobal(L, "lucent");
    if (luaL_dostring(L, prelude) != LUA_OK) {
        fprintf(stderr, "prelude: %s\n", lua_tostring(L, -1));
        abort();
    }
    return L;
}

/* Runs one chunk and checks its result against want (see the top). */
static void expect(lua_State *L, const char *lua, const char *want, const char *where)
{
    int top = lua_gettop(L);
    const char *got;
    size_t len;
    bool raised;

    check_note("%s: %s", where, lua);
    if (luaL_loadstring(L, lua) != LUA_OK) {
        CHECK_EQ_STR(lua_tostring(L, -1), "(chunk compiles)");
        lua_settop(L, top);
        return;
    }
    raised = lua_pcall(L, 0, 1, 0) != LUA_OK;
    got = raised ? lua_tolstring(L, -1, &len) : luaL_tolstring(L, -1, &len);
    if (got == NULL)
        got = "(error object is not a string)", len = strlen(got);
    if (strncmp(want, "ERR:", 4) == 0) {
        if (CHECK(raised))
            CHECK(strstr(got, want + 4) != NULL && len > 0);
        else
            check_print_bytes("result", got, len);
    } else if (raised) {
        CHECK_EQ_STR(got, want);
    } else if (want[0] == '~') {
        if (!CHECK(strstr(got, want + 1) != NULL))
            check_print_bytes("result", got, len);
    } else {
        CHECK_EQ_MEM(got, len, want, strlen(want));
    }
    check_note(NULL);
    lua_settop(L, top);
}

static void run_rows(lua_State *L, const struct row *rows, size_t n, const char *table)
{
    for (size_t i = 0; i < n; i++) {
        char where[64];
        snprintf(where, sizeof(where), "%s row %zu", table, i);
        expect(L, rows[i].lua, rows[i].want, where);
    }
}

#define RUN(L, rows) run_rows((L), (rows), LC_ARRAY_LEN(rows), #rows)

/* ---- json.encode ---------------------------------------------------------- */

static const struct row json_encode_rows[] = {
    {"return J.encode(nil)", "null"},
    {"return J.encode(true) .. J.encode(false)", "truefalse"},
    {"return J.encode(0)", "0"},
    {"return J.encode(-17)", "-17"},
    {"return J.encode(math.maxinteger)", "9223372036854775807"},
    {"return J.encode(math.mininteger)", "-9223372036854775808"},
    {"return J.encode(1.5)", "1.5"},
    {"return J.encode(0.1)", "0.1"},
    {"return J.encode(-2.25e-5)", "-2.25e-05"},
    {"return J.encode(1.0)", "1.0"},
    {"return J.encode(100.0)", "100.0"},
    {"return J.encode(-0.0)", "-0.0"},
    {"return J.encode(1/3)", "0.33333333333333331"},
    {"return J.encode(2^53)", "9007199254740992.0"},
    {"return J.encode(1e300)", "1e+300"},
    {"return J.encode(5e-324)", "4.9406564584125e-324"},
    {"return J.encode(0.1 + 0.2)", "0.30000000000000004"},
    {"return J.encode('')", "\"\""},
    {"return J.encode('plain')", "\"plain\""},
    {"return J.encode('q\"b\\\\s/\\n\\r\\t\\0\\x1f')", "\"q\\\"b\\\\s/\\n\\r\\t\\u0000\\u001f\""},
    {"return J.encode('caf\\u{e9} \\u{1f600}')", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},
    {"return J.encode('bad \\xff\\xc3(')", "\"bad \\u00ff\\u00c3(\""},
    {"return J.encode({})", "{}"},
    {"return J.encode({1, 2, 3})", "[1,2,3]"},
    {"return J.encode({'a', {true, false}, {}})", "[\"a\",[true,false],{}]"},
    {"return J.encode({b = 1, a = 2, c = {x = 'y'}})", "{\"a\":2,\"b\":1,\"c\":{\"x\":\"y\"}}"},
    {"return J.encode({b = 1, B = 2, a = 3, aa = 4, [''] = 5})",
     "{\"\":5,\"B\":2,\"a\":3,\"aa\":4,\"b\":1}"},
    {"return J.encode({1, 2, x = 1})", "{\"1\":1,\"2\":2,\"x\":1}"},
    {"return J.encode({[1] = 'a', [3] = 'c'})", "{\"1\":\"a\",\"3\":\"c\"}"},
    {"return J.encode({[2] = 'b'})", "{\"2\":\"b\"}"},
    {"return J.encode({[0] = 'z'})", "{\"0\":\"z\"}"},
    {"return J.encode({[-1] = 'm'})", "{\"-1\":\"m\"}"},
    {"return J.encode({[1.5] = 'f'})", "{\"1.5\":\"f\"}"},
    {"return J.encode({[10] = 1, [9] = 2, x = 3})", "{\"10\":1,\"9\":2,\"x\":3}"},
    {"return J.encode({['k\\0'] = 1})", "{\"k\\u0000\":1}"},
    {"return J.encode({['\\xff'] = 1})", "{\"\\u00ff\":1}"},
    /* json.null and arrays */
    {"return J.encode(J.null)", "null"},
    {"return J.encode({J.null, 2})", "[null,2]"},
    {"return J.encode({a = J.null})", "{\"a\":null}"},
    {"return J.encode(J.array({}))", "[]"},
    {"return J.encode(J.array())", "[]"},
    {"return J.encode({J.array()})", "[[]]"},
    {"local t = {} return J.array(t) == t", "true"},
    {"return J.encode(J.array({1, 2}))", "[1,2]"},
    {"return J.encode(J.array({1, 2, x = 3}))", "[1,2]"},
    {"return J.encode(J.array({1, nil, 3}))", "[1,null,3]"},
    {"return J.encode(J.decode('[]'))", "[]"},
    {"return J.encode(J.decode('{}'))", "{}"},
    {"return J.encode(J.decode('{\"a\":[],\"b\":{}}'))", "{\"a\":[],\"b\":{}}"},
    {"return getmetatable(J.decode('[]')) == getmetatable(J.array({}))", "true"},
    {"return getmetatable(J.decode('{}')) == nil", "true"},
    {"return tostring(J.null)", "null"},
    {"return J.decode('null') == J.null", "true"},
    {"J.null.x = 1", "ERR:read-only"},
    {"return rawequal(J.null, lucent.json.null)", "true"},
    /* shared (not cyclic) tables are fine */
    {"local s = {1} return J.encode({s, s, {k = s}})", "[[1],[1],{\"k\":[1]}]"},
    /* errors */
    {"return J.encode(print)", "ERR:function"},
    {"return J.encode({f = function() end})", "ERR:function"},
    {"return J.encode(0/0)", "ERR:NaN"},
    {"return J.encode({math.huge})", "ERR:infinite"},
    {"return J.encode(-math.huge)", "ERR:infinite"},
    {"return J.encode(io.stdout)", "ERR:userdata"},
    {"return J.encode(coroutine.create(print))", "ERR:thread"},
    {"return J.encode({[true] = 1})", "ERR:boolean"},
    {"return J.encode({[{}] = 1})", "ERR:table"},
    {"return J.encode({[math.huge] = 1, x = 1})", "ERR:keys"},
    {"return J.encode()", "ERR:bad argument"},
    {"local t = {} t.self = t return J.encode(t)", "ERR:contains itself"},
    {"local a, b = {}, {} a[1] = b b[1] = a return J.encode(a)", "ERR:contains itself"},
    /* nesting: 200 levels encode, 201 do not */
    {"return #J.encode(nest(200))", "400"},
    {"return J.encode(nest(201))", "ERR:nesting deeper than 200"},
    {"return J.encode({x = nest(200)})", "ERR:nesting"},
    /* the tables themselves are not changed by encoding */
    {"local t = {b = 1, a = {2}} J.encode(t) return J.encode(t) .. tostring(getmetatable(t))",
     "{\"a\":[2],\"b\":1}nil"},
};

/* ---- json.decode ---------------------------------------------------------- */

static const struct row json_decode_rows[] = {
    {"return rt('{\"b\":[1,2,{\"c\":null}],\"a\":\"x\",\"d\":true,\"e\":false}')",
     "{\"a\":\"x\",\"b\":[1,2,{\"c\":null}],\"d\":true,\"e\":false}"},
    {"return rt(' \\t\\r\\n[ 1 , 2 ]\\r\\n ')", "[1,2]"},
    {"return rt('\"x\"') .. rt('1') .. rt('true') .. rt('null')", "\"x\"1truenull"},
    {"return J.decode('{\"a\":1,\"a\":2}').a", "2"},
    {"return #J.decode('[1,2,3,[4]]')", "4"},
    {"return J.decode('[[[\"deep\"]]]')[1][1][1]", "deep"},
    {"return J.decode('[1,null,3]')[2] == J.null", "true"},
    {"return J.decode('{\"k\":null}').k == J.null", "true"},
    /* numbers */
    {"return math.type(J.decode('123'))", "integer"},
    {"return math.type(J.decode('-0'))", "integer"},
    {"return math.type(J.decode('1.0'))", "float"},
    {"return math.type(J.decode('1e2')) .. J.decode('1e2')", "float100.0"},
    {"return J.decode('1E+2') .. ' ' .. J.decode('25e-1') .. ' ' .. J.decode('-0.5')",
     "100.0 2.5 -0.5"},
    {"return J.decode('9223372036854775807') == math.maxinteger", "true"},
    {"return J.decode('-9223372036854775808') == math.mininteger", "true"},
    {"return math.type(J.decode('9223372036854775808'))", "float"},
    {"return math.type(J.decode('12345678901234567890123'))", "float"},
    {"return J.decode('0.30000000000000004') == 0.1 + 0.2", "true"},
    {"return J.decode('1e-400')", "0.0"},
    {"return J.decode('0.' .. string.rep('0', 300) .. '1') > 0", "true"},
    {"return J.decode(string.rep('9', 300)) > 1e298", "true"},
    {"return rt('[0.1,1.5,-3,1e+300,2.5e-05]')", "[0.1,1.5,-3,1e+300,2.5e-05]"},
    /* strings */
    {"return J.decode('\"\"')", ""},
    {"return J.decode('\"caf\\\\u00e9\"')", "caf\xc3\xa9"},
    {"return J.decode('\"\\\\u20AC\\\\u20ac\"')", "\xe2\x82\xac\xe2\x82\xac"},
    {"return J.decode('\"\\\\ud83d\\\\ude00\"')", "\xf0\x9f\x98\x80"},
    {"return J.decode('\"\\\\uD834\\\\uDD1E!\"')", "\xf0\x9d\x84\x9e!"},
    {"return J.decode('\"\\\\udbff\\\\udfff\"')", "\xf4\x8f\xbf\xbf"},
    {"return J.decode('\"\\\\u0041\\\\u007f\\\\u0080\\\\u07ff\\\\u0800\\\\uffff\"')",
     "A\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"},
    {"return J.decode('\"\\\\\"\\\\\\\\\\\\/\\\\b\\\\f\\\\n\\\\r\\\\t\"') == "
     "'\"\\\\/\\b\\f\\n\\r\\t'",
     "true"},
    {"local s = J.decode('\"a\\\\u0000b\"') return #s .. (s == 'a\\0b' and 'ok' or 'no')", "3ok"},
    {"return J.decode('\"caf\\u{e9} \\u{10ffff}\"') == 'caf\\u{e9} \\u{10ffff}'", "true"},
    {"return J.decode('{\"\\\\u00e9\":1}')['\\u{e9}']", "1"},
    /* every byte string survives encode then decode */
    {"local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end "
     "local s = table.concat(t) local d = J.decode(J.encode(s)) "
     "return #d .. ' ' .. tostring(d:sub(1, 128) == s:sub(1, 128))",
     "~true"},
    {"local s = string.rep('a\\u{e9}\\u{1f600}\"\\\\\\n', 1000) "
     "return J.decode(J.encode({s = s})).s == s",
     "true"},
    /* nesting: 200 levels decode, 201 do not */
    {"return type(J.decode(string.rep('[', 200) .. string.rep(']', 200)))", "table"},
    {"return derr(string.rep('[', 201) .. string.rep(']', 201))",
     "nesting deeper than 200 levels at position 201"},
    {"return derr(string.rep('{\"a\":', 201) .. '1' .. string.rep('}', 201))",
     "~nesting deeper than 200"},
    {"return derr(string.rep('[', 100000))", "~nesting deeper than 200"},
    /* errors, with positions */
    {"return derr('')", "unexpected end of input at position 1"},
    {"return derr('   ')", "unexpected end of input at position 4"},
    {"return derr('[1,')", "unexpected end of input at position 4"},
    {"return derr('[1 2]')", "expected ',' or ']' at position 4"},
    {"return derr('{\"a\":1 \"b\":2}')", "expected ',' or '}' at position 8"},
    {"return derr('{\"a\" 1}')", "expected ':' at position 6"},
    {"return derr('{a:1}')", "expected a string key at position 2"},
    {"return derr('{\"a\":1,}')", "expected a string key at position 8"},
    {"return derr('[1,]')", "unexpected character ']' at position 4"},
    {"return derr('[1] x')", "unexpected data after the value at position 5"},
    {"return derr('{} {}')", "unexpected data after the value at position 4"},
    {"return derr('\"abc')", "unterminated string at position 1"},
    {"return derr('[\"a\\\\')", "unterminated string at position 2"},
    {"return derr('\"a\\nb\"')", "control character (byte 0x0a) in string at position 3"},
    {"return derr('\"a\\tb\"')", "~control character"},
    {"return derr('\"\\\\x41\"')", "invalid escape in string at position 2"},
    {"return derr('\"\\\\u12\"')", "invalid \\u escape at position 2"},
    {"return derr('\"\\\\u12G4\"')", "invalid \\u escape at position 2"},
    {"return derr('\"\\\\ud83d\"')", "lone high surrogate \\ud83d at position 2"},
    {"return derr('\"\\\\ud83dx\"')", "~lone high surrogate"},
    {"return derr('\"\\\\ud83d\\\\u0041\"')", "~lone high surrogate"},
    {"return derr('\"\\\\ud83d\\\\ud83d\"')", "~lone high surrogate"},
    {"return derr('\"\\\\ude00\"')", "lone low surrogate \\ude00 at position 2"},
    {"return derr('\"\\xff\"')", "invalid UTF-8 in string at position 2"},
    {"return derr('\"ab\\xc3\"')", "invalid UTF-8 in string at position 4"},
    {"return derr('\"\\xc0\\xaf\"')", "~invalid UTF-8"},
    {"return derr('\"\\xed\\xa0\\x80\"')", "~invalid UTF-8"},
    {"return derr('\"\\xf4\\x90\\x80\\x80\"')", "~invalid UTF-8"},
    {"return derr('\\xef\\xbb\\xbf[]')", "unexpected byte 0xef at position 1"},
    {"return derr('[\\xff]')", "unexpected byte 0xff at position 2"},
    {"return derr('01')", "unexpected data after the value at position 2"},
    {"return derr('1.')", "invalid number at position 1"},
    {"return derr('.5')", "unexpected character '.' at position 1"},
    {"return derr('-')", "invalid number at position 1"},
    {"return derr('-a')", "invalid number at position 1"},
    {"return derr('+1')", "unexpected character '+' at position 1"},
    {"return derr('1e')", "invalid number at position 1"},
    {"return derr('1e+')", "invalid number at position 1"},
    {"return derr('[1.e5]')", "invalid number at position 2"},
    {"return derr('0x10')", "unexpected data after the value at position 2"},
    {"return derr('1e400')", "number out of range at position 1"},
    {"return derr('-1e400')", "~out of range"},
    {"return derr('NaN')", "unexpected character 'N' at position 1"},
    {"return derr('Infinity')", "~unexpected character"},
    {"return derr('tru')", "unexpected character 't' at position 1"},
    {"return derr('nul')", "~unexpected character 'n'"},
    {"return derr('truex')", "unexpected data after the value at position 5"},
    {"return derr(\"'a'\")", "unexpected character ''' at position 1"},
    {"return derr('[1,\\0]')", "unexpected byte 0x00 at position 4"},
    {"return derr('/* c */ 1')", "~unexpected character '/'"},
    {"return select('#', J.decode('['))", "2"},
    {"return J.decode()", "ERR:bad argument"},
    {"return J.decode({})", "ERR:bad argument"},
};

/* ---- lucent.url ----------------------------------------------------------- */

static const struct row url_parse_rows[] = {
    {"return P('http://example.com')",
     "{\"host\":\"example.com\",\"path\":\"\",\"scheme\":\"http\"}"},
    {"return P('https://user:pw@Example.COM:8443/a/b?x=1&y=2#frag')",
     "{\"fragment\":\"frag\",\"host\":\"example.com\",\"path\":\"/a/b\",\"port\":8443,"
     "\"query\":\"x=1&y=2\",\"scheme\":\"https\",\"userinfo\":\"user:pw\"}"},
    {"return P('HTTP://[::1]/')", "{\"host\":\"::1\",\"path\":\"/\",\"scheme\":\"http\"}"},
    {"return P('http://[2001:DB8::1]:8080/x')",
     "{\"host\":\"2001:db8::1\",\"path\":\"/x\",\"port\":8080,\"scheme\":\"http\"}"},
    {"return P('http://[::ffff:192.0.2.1]/')",
     "{\"host\":\"::ffff:192.0.2.1\",\"path\":\"/\",\"scheme\":\"http\"}"},
    {"return P('http://[FE80::1%25Eth0]/')",
     "{\"host\":\"fe80::1%25Eth0\",\"path\":\"/\",\"scheme\":\"http\"}"},
    {"return P('http://192.0.2.7:81/')",
     "{\"host\":\"192.0.2.7\",\"path\":\"/\",\"port\":81,\"scheme\":\"http\"}"},
    {"return P('http://a.test:/p')", "{\"host\":\"a.test\",\"path\":\"/p\",\"scheme\":\"http\"}"},
    {"return P('http://a.test?q')",
     "{\"host\":\"a.test\",\"path\":\"\",\"query\":\"q\",\"scheme\":\"http\"}"},
    {"return P('http://a.test#f')",
     "{\"fragment\":\"f\",\"host\":\"a.test\",\"path\":\"\",\"scheme\":\"http\"}"},
    {"return P('http://a.test/?')",
     "{\"host\":\"a.test\",\"path\":\"/\",\"query\":\"\",\"scheme\":\"http\"}"},
    {"return P('http://a.test/#')",
     "{\"fragment\":\"\",\"host\":\"a.test\",\"path\":\"/\",\"scheme\":\"http\"}"},
    {"return P('http://a.test/p?q#f?g#h')",
     "{\"fragment\":\"f?g#h\",\"host\":\"a.test\",\"path\":\"/p\",\"query\":\"q\","
     "\"scheme\":\"http\"}"},
    {"return P('http://a.test/p#f?notquery')",
     "{\"fragment\":\"f?notquery\",\"host\":\"a.test\",\"path\":\"/p\",\"scheme\":\"http\"}"},
    {"return P('http://u@p@host.test/')",
     "{\"host\":\"host.test\",\"path\":\"/\",\"scheme\":\"http\",\"userinfo\":\"u@p\"}"},
    {"return P('http://@host.test/')",
     "{\"host\":\"host.test\",\"path\":\"/\",\"scheme\":\"http\",\"userinfo\":\"\"}"},
    {"return P('http://a.test/%7Euser/a%20b')",
     "{\"host\":\"a.test\",\"path\":\"/%7Euser/a%20b\",\"scheme\":\"http\"}"},
    {"return P('http://m\\u{fc}nchen.test/')",
     "{\"host\":\"m\xc3\xbcnchen.test\",\"path\":\"/\",\"scheme\":\"http\"}"},
    {"return P('ws://a.test:0/')",
     "{\"host\":\"a.test\",\"path\":\"/\",\"port\":0,\"scheme\":\"ws\"}"},
    {"return P('http://a.test:065535')",
     "{\"host\":\"a.test\",\"path\":\"\",\"port\":65535,\"scheme\":\"http\"}"},
    {"return math.type(U.parse('http://a.test:8080').port)", "integer"},
    {"return P('/just/a/path?x=1')", "{\"path\":\"/just/a/path\",\"query\":\"x=1\"}"},
    {"return P('')", "{\"path\":\"\"}"},
    {"return P('?q')", "{\"path\":\"\",\"query\":\"q\"}"},
    {"return P('#top')", "{\"fragment\":\"top\",\"path\":\"\"}"},
    {"return P('rel/a:b')", "{\"path\":\"rel/a:b\"}"},
    {"return P('mailto:someone@example.com')",
     "{\"path\":\"someone@example.com\",\"scheme\":\"mailto\"}"},
    {"return P('urn:isbn:0451450523')", "{\"path\":\"isbn:0451450523\",\"scheme\":\"urn\"}"},
    {"return P('file:///etc/hosts')",
     "{\"host\":\"\",\"path\":\"/etc/hosts\",\"scheme\":\"file\"}"},
    {"return P('//cdn.test/x.js')", "{\"host\":\"cdn.test\",\"path\":\"/x.js\"}"},
    {"return P('svn+SSH://h.test')", "{\"host\":\"h.test\",\"path\":\"\",\"scheme\":\"svn+ssh\"}"},
    {"return P('localhost:8080')", "{\"path\":\"8080\",\"scheme\":\"localhost\"}"},
    {"return P('http://a.test/\\xff')",
     "{\"host\":\"a.test\",\"path\":\"/\\u00ff\",\"scheme\":\"http\"}"},
    /* errors */
    {"return perr('http://a.test:65536/')", "port out of range"},
    {"return perr('http://a.test:99999999999999999999/')", "port out of range"},
    {"return perr('http://a.test:8o/')", "invalid port \"8o\""},
    {"return perr('http://a:b:c/')", "invalid port \"b:c\""},
    {"return perr('http://[::1/')", "unterminated IPv6 literal (no ']')"},
    {"return perr('http://[::1]x/')", "unexpected character 'x' after an IPv6 literal"},
    {"return perr('http://[zz::1]/')", "invalid IPv6 literal"},
    {"return perr('http://[1.2.3.4]/')", "invalid IPv6 literal"},
    {"return perr('http://[]/')", "invalid IPv6 literal"},
    {"return perr('http://[fe80::1%]/')", "invalid IPv6 literal"},
    {"return perr('http://a b/')", "invalid character (byte 0x20) at position 9"},
    {"return perr('http://a.test/\\n')", "~invalid character (byte 0x0a)"},
    {"return perr('http://a.test/\\0')", "~invalid character (byte 0x00)"},
    {"return perr(' http://a.test/')", "~position 1"},
    {"return perr('http://a<b/')", "invalid character '<' in host"},
    {"return perr('http://a\\\\b/')", "invalid character '\\' in host"},
    {"return perr('http://a]b/')", "invalid character ']' in host"},
    {"return U.parse()", "ERR:bad argument"},
};

static const struct row url_build_rows[] = {
    {"return U.build({scheme = 'http', host = 'a.test'})", "http://a.test"},
    {"return U.build({scheme = 'http', host = '::1', port = 8080, path = '/x'})",
     "http://[::1]:8080/x"},
    {"return U.build({scheme = 'http', host = '[::1]', path = '/'})", "http://[::1]/"},
    {"return U.build({host = 'a.test', path = 'x'})", "//a.test/x"},
    {"return U.build({scheme = 'https', host = 'a.test', query = {b = '2', a = {'1', 'x y'}}})",
     "https://a.test?a=1&a=x%20y&b=2"},
    {"return U.build({path = '/p', query = 'a=1', fragment = 'f'})", "/p?a=1#f"},
    {"return U.build({path = '/p', query = '', fragment = ''})", "/p?#"},
    {"return U.build({scheme = 'mailto', path = 'a@b'})", "mailto:a@b"},
    {"return U.build({userinfo = 'u:p', host = 'h', port = 1})", "//u:p@h:1"},
    {"return U.build({host = 'h', port = '8080'})", "//h:8080"},
    {"return U.build({host = 'h', port = 80.0})", "//h:80"},
    {"return U.build({scheme = 'file', host = '', path = '/etc/hosts'})", "file:///etc/hosts"},
    {"return U.build({})", ""},
    {"return U.build({port = 80})", "ERR:without a host"},
    {"return U.build({userinfo = 'u'})", "ERR:without a host"},
    {"return U.build({host = 'a', port = 70000})", "ERR:port"},
    {"return U.build({host = 'a', port = -1})", "ERR:port"},
    {"return U.build({host = 'a', port = 'x'})", "ERR:port"},
    {"return U.build({host = 'a', port = 1.5})", "ERR:port"},
    {"return U.build({scheme = '1http', host = 'a'})", "ERR:invalid scheme"},
    {"return U.build({scheme = '', host = 'a'})", "ERR:invalid scheme"},
    {"return U.build({host = 'a/b'})", "ERR:invalid character in host"},
    {"return U.build({host = 'a b'})", "ERR:invalid character in host"},
    {"return U.build({host = 1})", "ERR:host must be a string"},
    {"return U.build({path = {}})", "ERR:path must be a string"},
    {"return U.build({query = true})", "ERR:query must be a string or a table"},
    {"return U.build({query = {a = {{}}}})", "ERR:query value for \"a\""},
    {"return U.build('http://a')", "ERR:bad argument"},
    /* parse then build gives the URL back (lower case, explicit parts) */
    {"local bad = {} for _, s in ipairs({'http://a.test', 'http://a.test/', "
     "'https://u:p@a.test:8443/a/b?x=1&y=2#f', 'http://[::1]:8080/x', 'http://[fe80::1%25eth0]/', "
     "'http://a.test/?', 'http://a.test/#', 'http://a.test?q#f', '/p?q', '', '?x', '#y', "
     "'mailto:a@b.test', 'urn:isbn:1', 'file:///etc/hosts', '//cdn.test/x', 'http://@h/', "
     "'http://a.test:0/', 'rel/path', 'http://a.test/%41%zz'}) do "
     "local got = U.build(assert(U.parse(s))) if got ~= s then bad[#bad + 1] = s .. ' -> ' .. got "
     "end "
     "end return #bad == 0 and 'ok' or table.concat(bad, ', ')",
     "ok"},
};

static const struct row query_rows[] = {
    {"return Q('a=1&b=2')", "{\"a\":\"1\",\"b\":\"2\"}"},
    {"return Q('a=1&a=2&a=3&b=x')", "{\"a\":[\"1\",\"2\",\"3\"],\"b\":\"x\"}"},
    {"return Q('a=1&b=2&a=3')", "{\"a\":[\"1\",\"3\"],\"b\":\"2\"}"},
    {"return Q('q=hello+world&x=%41%42')", "{\"q\":\"hello world\",\"x\":\"AB\"}"},
    {"return Q('a%20b=c%2Bd+e')", "{\"a b\":\"c+d e\"}"},
    {"return Q('a+b=1')", "{\"a b\":\"1\"}"},
    {"return Q('flag&x=')", "{\"flag\":\"\",\"x\":\"\"}"},
    {"return Q('&&a=1&')", "{\"a\":\"1\"}"},
    {"return Q('=v')", "{\"\":\"v\"}"},
    {"return Q('bad=%zz%4&pct=%&end=%4')", "{\"bad\":\"%zz%4\",\"end\":\"%4\",\"pct\":\"%\"}"},
    {"return Q('a=b=c')", "{\"a\":\"b=c\"}"},
    {"return Q('')", "{}"},
    {"return Q('%E2%82%AC=%e2%82%ac')", "{\"\xe2\x82\xac\":\"\xe2\x82\xac\"}"},
    {"return Q('a=%00')", "{\"a\":\"\\u0000\"}"},
    {"return Q('a=1;b=2')", "{\"a\":\"1;b=2\"}"},
    {"return U.decode_query('k=1&k=2').k[2]", "2"},
    {"return U.encode_query({b = '2', a = '1'})", "a=1&b=2"},
    {"return U.encode_query({a = {'1', '2'}, b = true, c = 1.5, d = 3, e = false})",
     "a=1&a=2&b=true&c=1.5&d=3&e=false"},
    {"return U.encode_query({q = 'hello world+x&y=z#'})", "q=hello%20world%2Bx%26y%3Dz%23"},
    {"return U.encode_query({['a b'] = '\\u{20ac}', ['~x-y_z.'] = '~'})",
     "a%20b=%E2%82%AC&~x-y_z.=~"},
    {"return U.encode_query({})", ""},
    {"return U.encode_query({a = {}})", ""},
    {"return U.encode_query({a = {}, b = 'x'})", "b=x"},
    {"return U.encode_query({'x', 'y'})", "1=x&2=y"},
    {"return U.encode_query({[''] = ''})", "="},
    {"return U.encode_query({a = J.array({'1'})})", "a=1"},
    {"return U.encode_query({a = {x = 1}})", "ERR:query value for \"a\""},
    {"return U.encode_query({a = {1, nil, 3}})", "ERR:query value for \"a\""},
    {"return U.encode_query({a = {{}}})", "ERR:query value for \"a\""},
    {"return U.encode_query({a = print})", "ERR:query value for \"a\""},
    {"return U.encode_query({[true] = 1})", "ERR:query names must be strings or numbers"},
    {"return U.encode_query('x')", "ERR:bad argument"},
    /* round trip */
    {"local t = {a = {'1', '2 3'}, ['b&c'] = '=+%', d = ''} "
     "return J.encode(U.decode_query(U.encode_query(t))) == J.encode(t)",
     "true"},
};

static const struct row escape_rows[] = {
    {"return U.escape('a b&c/d?e=f~g-h.i_j')", "a%20b%26c%2Fd%3Fe%3Df~g-h.i_j"},
    {"return U.escape('\\u{20ac}+%')", "%E2%82%AC%2B%25"},
    {"return U.escape('')", ""},
    {"return U.escape('\\0\\xff')", "%00%FF"},
    {"return U.escape('AZaz09')", "AZaz09"},
    {"return U.unescape('a%20b+c')", "a b+c"},
    {"return U.unescape('%41%4a%4A%7e')", "AJJ~"},
    {"return U.unescape('%zz%4%%%')", "%zz%4%%%"},
    {"return U.unescape('%%41')", "%A"},
    {"return U.unescape('')", ""},
    {"return #U.unescape('%00')", "1"},
    {"local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end local s = table.concat(t) "
     "return U.unescape(U.escape(s)) == s",
     "true"},
    {"return U.escape()", "ERR:bad argument"},
};

/* ---- lucent.base64 -------------------------------------------------------- */

static const struct row base64_rows[] = {
    /* RFC 4648 section 10 */
    {"return B.encode('')", ""},
    {"return B.encode('f')", "Zg=="},
    {"return B.encode('fo')", "Zm8="},
    {"return B.encode('foo')", "Zm9v"},
    {"return B.encode('foob')", "Zm9vYg=="},
    {"return B.encode('fooba')", "Zm9vYmE="},
    {"return B.encode('foobar')", "Zm9vYmFy"},
    {"return B.decode('')", ""},
    {"return B.decode('Zg==')", "f"},
    {"return B.decode('Zm8=')", "fo"},
    {"return B.decode('Zm9v')", "foo"},
    {"return B.decode('Zm9vYg==')", "foob"},
    {"return B.decode('Zm9vYmE=')", "fooba"},
    {"return B.decode('Zm9vYmFy')", "foobar"},
    /* padding optional */
    {"return B.decode('Zg') .. B.decode('Zm8') .. B.decode('Zm9vYg') .. B.decode('Zm9vYmE')",
     "ffofoobfooba"},
    /* both alphabets */
    {"return B.encode('\\xfb\\xff\\xbf')", "+/+/"},
    {"return B.decode('+/+/') == '\\xfb\\xff\\xbf'", "true"},
    {"return B.decode('-_-_') == '\\xfb\\xff\\xbf'", "true"},
    {"return B.decode('-_8') == '\\xfb\\xff' and B.decode('-_8=') == '\\xfb\\xff'", "true"},
    {"return B.encode('\\0\\0\\0\\0')", "AAAAAA=="},
    {"return #B.decode('AAAAAA==')", "4"},
    /* non-canonical trailing bits are accepted */
    {"return B.decode('Zh==')", "f"},
    {"local bad = {} for n = 0, 40 do local t = {} for i = 1, n do "
     "t[i] = string.char((i * 37 + n) % 256) end local s = table.concat(t) "
     "local e = B.encode(s) if B.decode(e) ~= s or B.decode((e:gsub('=', ''))) ~= s "
     "or #e ~= 4 * ((n + 2) // 3) then bad[#bad + 1] = n end end return #bad",
     "0"},
    /* errors */
    {"return berr('Zg=')", "incorrect padding"},
    {"return berr('Zg===')", "incorrect padding"},
    {"return berr('Zm9v=')", "incorrect padding"},
    {"return berr('Zm9vY===')", "incorrect padding"},
    {"return berr('====')", "invalid character '=' at position 1"},
    {"return berr('=')", "incorrect padding"},
    {"return berr('Zm8==')", "incorrect padding"},
    {"return berr('Z')", "invalid length"},
    {"return berr('Zm9vY')", "invalid length"},
    {"return berr('Zm9v YmFy')", "invalid byte at position 5"},
    {"return berr('Zm9v\\n')", "invalid byte at position 5"},
    {"return berr('Zm9v*')", "invalid character '*' at position 5"},
    {"return berr('Zg==Zg==')", "invalid character '=' at position 3"},
    {"return berr('Zm9\\xc3\\xa9')", "~invalid byte at position 4"},
    {"return select('#', B.decode('!!!!'))", "2"},
    {"return B.decode()", "ERR:bad argument"},
    {"return B.encode({})", "ERR:bad argument"},
};

/* ---- the C functions -------------------------------------------------------- */

static void test_c_query(lua_State *L)
{
    static const char q[] = "b=2&a=1&a=x+y&c";
    int top = lua_gettop(L);

    lutil_push_query(L, q, sizeof(q) - 1);
    CHECK_EQ_INT(lua_gettop(L), top + 1);
    CHECK(lua_istable(L, -1));
    lua_getfield(L, -1, "c");
    CHECK_EQ_STR(lua_tostring(L, -1), "");
    lua_pop(L, 1);

    struct buf out = BUF_INIT;
    buf_puts(&out, "keep?");
    CHECK_EQ_INT(lutil_build_query(L, -1, &out), 0);
    CHECK_EQ_INT(lua_gettop(L), top + 1);
    CHECK_EQ_STR(out.p, "keep?a=1&a=x%20y&b=2&c=");

    /* a length, not a NUL, ends the query */
    lua_settop(L, top);
    lutil_push_query(L, "x=1&y=2", 3);
    buf_reset(&out);
    CHECK_EQ_INT(lutil_build_query(L, lua_gettop(L), &out), 0);
    CHECK_EQ_STR(out.p, "x=1");
    lua_settop(L, top);
    lutil_push_query(L, NULL, 0);
    buf_reset(&out);
    CHECK_EQ_INT(lutil_build_query(L, -1, &out), 0);
    CHECK_EQ_INT(out.len, 0);
    lua_settop(L, top);

    /* failure: -1, one message pushed, out unchanged */
    buf_reset(&out);
    buf_puts(&out, "keep");
    CHECK(luaL_dostring(L, "return {a = '1', b = {x = 1}, c = '3'}") == LUA_OK);
    CHECK_EQ_INT(lutil_build_query(L, -1, &out), -1);
    CHECK_EQ_INT(lua_gettop(L), top + 2);
    CHECK(lua_type(L, -1) == LUA_TSTRING && strstr(lua_tostring(L, -1), "\"b\"") != NULL);
    CHECK_EQ_STR(out.p, "keep");
    CHECK_EQ_INT(out.len, 4);
    lua_settop(L, top);

    lua_pushinteger(L, 7);
    CHECK_EQ_INT(lutil_build_query(L, -1, &out), -1);
    CHECK_EQ_INT(lua_gettop(L), top + 2);
    CHECK(lua_type(L, -1) == LUA_TSTRING);
    CHECK_EQ_STR(out.p, "keep");
    lua_settop(L, top);
    buf_free(&out);
}

/* lutil_open fills the table on top of the stack and leaves it there; a
 * second table in the same state shares json.null and the array marker. */
static void test_open(lua_State *L)
{
    int top = lua_gettop(L);
    lua_newtable(L);
    lutil_open(L);
    CHECK_EQ_INT(lua_gettop(L), top + 1);
    lua_setglobal(L, "other");
    expect(L, "return other.json.null == lucent.json.null", "true", "open");
    expect(L, "return other.json.encode(lucent.json.decode('[]'))", "[]", "open");
    expect(L, "return type(other.url.parse) .. type(other.base64.decode)", "functionfunction",
           "open");
    CHECK_EQ_INT(lua_gettop(L), top);
}

/* ---- memory pressure -------------------------------------------------------- */

struct cap {
    size_t used, limit;
};

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct cap *c = ud;
    size_t old = ptr != NULL ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        c->used -= old;
        return NULL;
    }
    if (nsize > old && c->used + (nsize - old) > c->limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p != NULL)
        c->used = c->used - old + nsize;
    return p;
}

/* Each chunk runs with the cap at many levels just above what the state
 * already uses: it either finishes or fails with "not enough memory"; a
 * leak or a crash shows under AddressSanitizer. */
static void test_memory_pressure(void)
{
    static const char *const chunks[] = {
        "local t = {} for i = 1, 200 do t[i] = {k = 'v' .. i, n = i, a = {i, i + 0.5}} end "
        "return #J.encode(t)",
        "return J.decode('[' .. string.rep('{\"a\":[1,2,\"x\\\\u00e9\"],\"b\":null},', 100) "
        "                 .. '0]')",
        "return U.encode_query({a = {'1', '2'}, b = string.rep('x y', 100), c = 3})",
        "return U.decode_query(string.rep('a=1&b=%41+&', 100))",
        "return U.parse('https://u:p@[::1]:8443/a/b?x=1#f'), U.build({scheme = 'http', "
        "host = '::1', port = 1, path = '/p', query = {a = 'b c'}})",
        "return B.decode(B.encode(string.rep('abc', 500))), U.escape(string.rep('\\xe9', 300))",
    };
    struct cap c = {0, SIZE_MAX};
    lua_State *L = lua_newstate(capped_alloc, &c);
    if (L == NULL)
        abort();
    luaL_openlibs(L);
    lua_newtable(L);
    lutil_open(L);
    lua_setglobal(L, "lucent");
    /* Lua 5.4's lauxlib makes the metatable of luaL_Buffer's box on first use
     * and registers it before filling it in: if that first use runs out of
     * memory, every later large buffer in the state fails ("got a
     * non-closable value"). Make it now, before any cap. */
    if (luaL_dostring(L, "J, U, B = lucent.json, lucent.url, lucent.base64 "
                         "local _ = string.rep('x', 100000)") != LUA_OK)
        abort();
    unsigned long ok = 0, oom = 0, other = 0;
    for (size_t k = 0; k < LC_ARRAY_LEN(chunks); k++) {
        lua_gc(L, LUA_GCCOLLECT);
        size_t base = c.used;
        for (size_t extra = 0; extra < 200000; extra += 1 + extra / 16) {
            if (luaL_loadstring(L, chunks[k]) != LUA_OK)
                abort();
            c.limit = base + extra;
            int rc = lua_pcall(L, 0, 0, 0);
            c.limit = SIZE_MAX;
            if (rc == LUA_OK) {
                ok++;
                break;
            }
            if (rc == LUA_ERRMEM ||
                (lua_type(L, -1) == LUA_TSTRING && strstr(lua_tostring(L, -1), "memory")))
                oom++;
            else if (other++ < 3)
                fprintf(stderr, "    chunk %zu: %s\n", k, lua_tostring(L, -1));
            lua_pop(L, 1);
            lua_gc(L, LUA_GCCOLLECT);
        }
    }
    CHECK_EQ_INT(ok, LC_ARRAY_LEN(chunks)); /* each one finished once the cap allowed */
    CHECK(oom > 0);
    CHECK_EQ_INT(other, 0);
    lua_close(L);
    CHECK_EQ_INT(c.used, 0);
}

int main(void)
{
    lua_State *L = new_state();
    RUN(L, json_encode_rows);
    RUN(L, json_decode_rows);
    RUN(L, url_parse_rows);
    RUN(L, url_build_rows);
    RUN(L, query_rows);
    RUN(L, escape_rows);
    RUN(L, base64_rows);
    test_c_query(L);
    test_open(L);
    CHECK_EQ_INT(lua_gettop(L), 0);
    lua_close(L);
    test_memory_pressure();
    return check_summary();
}
