/* SPDX-License-Identifier: MIT */
/* script: the Lua scripts given with -s. Each worker owns one `scripts`: a
 * Lua state per script file (globals are per worker, as in OpenResty and
 * HAProxy), loaded at start and reloaded when the file changes. Hooks are
 * global functions; a hook call is bounded by an instruction budget and
 * each state by a memory cap, and an error in a hook undoes what that call
 * changed (see lflow.c). Runs on the worker's thread only. */
#ifndef LUCENT_CORE_SCRIPT_H
#define LUCENT_CORE_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"
#include "core/hook.h"
#include "core/opts.h"

struct scripts;
struct event_base;

/* Loads every script of o (running its chunk and load()). `index` is the
 * worker's: only worker 0 reports reloads, so they are said once. With no
 * scripts returns NULL and err = "". On a failure returns NULL and err says
 * "script FILE:LINE: message". */
struct scripts *scripts_new(const struct opts *o, unsigned index, char *err, size_t errlen)
    LC_NONNULL(1, 3) LC_WUR;
/* Checks the files for changes every second on base. */
int scripts_watch(struct scripts *s, struct event_base *base) LC_NONNULL(1, 2) LC_WUR;
void scripts_free(struct scripts *s); /* calls unload(); NULL is fine */

/* Does some script define hook h? (As of its last load.) NULL-safe. */
bool scripts_want(const struct scripts *s, enum hook h);
/* Runs hook h of every script defining it, in order, on hc. Stops after a
 * script asks for respond or kill. Errors are logged and undone. */
void scripts_run(struct scripts *s, enum hook h, struct hook_ctx *hc) LC_NONNULL(1, 3);
/* A finished flow: remember its validators for lucent.cache.answer_304. NULL-safe. */
void scripts_note_response(struct scripts *s, const struct flow *f) LC_NONNULL(2);
/* The flow is over: forget its flow.state tables. NULL-safe. */
void scripts_flow_end(struct scripts *s, uint64_t flow_id);

/* For tests: look for changed files now. */
void scripts_check(struct scripts *s) LC_NONNULL(1);

#endif
