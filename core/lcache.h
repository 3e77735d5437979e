/* SPDX-License-Identifier: MIT */
/* lcache: the lucent.cache table for scripts (see lcache.c), and the
 * per-worker memory of the validators each URL last answered with, which
 * lucent.cache.answer_304() compares conditional requests against. */
#ifndef LUCENT_CORE_LCACHE_H
#define LUCENT_CORE_LCACHE_H

#include <lua.h>
#include "core/attrib.h"
#include "core/flow.h"

struct lcache_memory;

struct lcache_memory *lcache_memory_new(void) LC_WUR;
void lcache_memory_free(struct lcache_memory *m); /* NULL is fine */
/* Remembers the validators of a finished GET 200 (NULL m is fine). */
void lcache_note(struct lcache_memory *m, const struct flow *f) LC_NONNULL(2);
/* Sets lucent.cache in the table on top of the stack (protected call). m
 * is borrowed and must outlive L. */
int lcache_open(lua_State *L, struct lcache_memory *m) LC_NONNULL(1);

#endif
