/* SPDX-License-Identifier: MIT */
/* lutil: the parts of the `lucent` table scripts use that need no flow:
 * lucent.json (encode/decode, own implementation, UTF-8 safe), lucent.url
 * (parse/build, query strings, percent-escapes) and lucent.base64.
 * Pure Lua C functions: no I/O, no globals beyond what lutil_open sets. */
#ifndef LUCENT_CORE_LUTIL_H
#define LUCENT_CORE_LUTIL_H

#include <stddef.h>
#include <lua.h>
#include "core/attrib.h"
#include "core/buf.h"

/* Sets json, url and base64 in the table on top of the stack (left there). */
void lutil_open(lua_State *L) LC_NONNULL(1);

/* Pushes the decoded query string q[0..len) ("a=1&b=%20x&a=2", no '?') as a
 * table: name -> value, a repeated name -> array of its values in order;
 * '+' is a space; bad escapes are kept as written. */
void lutil_push_query(lua_State *L, const char *q, size_t len) LC_NONNULL(1);

/* Appends the query string for the table at idx to out (keys sorted;
 * values strings, numbers, booleans, or arrays of those -> repeated keys;
 * names and values percent-escaped). Returns 0, or -1 after pushing an error
 * message string (the caller raises it). */
int lutil_build_query(lua_State *L, int idx, struct buf *out) LC_NONNULL(1, 3) LC_WUR;

#endif
