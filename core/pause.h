/* SPDX-License-Identifier: MIT */
/* pause: the viewer's intercept. The viewer sets a filter; a worker whose
 * exchange matches holds it (at the request, and optionally at the
 * response) and lists it here with an editable text of the message. The
 * viewer shows the held flows, lets the user edit that text, and decides:
 * resume (with the edit) or kill. The decision wakes the flow's worker
 * through its pipe; only that worker touches the exchange. Held flows never
 * hold anything else: other exchanges go on.
 *
 * Thread-safe: one mutex around the list and the filter. */
#ifndef LUCENT_CORE_PAUSE_H
#define LUCENT_CORE_PAUSE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/flow.h"
#include "core/hook.h"

struct filter;
struct pauses;

enum pause_phase { PAUSE_REQUEST = 0, PAUSE_RESPONSE };
enum pause_decision { PAUSE_WAIT = 0, PAUSE_RESUME, PAUSE_KILL };

/* A held flow as the viewer sees it (a copy). */
struct pause_view {
    uint64_t flow_id;
    enum pause_phase phase;
    struct flow *flow; /* a reference: read only (the worker leaves it alone while held) */
    char *text;        /* owned: the message as editable text */
};

struct pauses *pauses_new(void) LC_WUR;
void pauses_free(struct pauses *p); /* NULL is fine */

/* Worker wake-up: pauses_decide writes a byte to fds[index]. */
void pauses_set_wake(struct pauses *p, unsigned index, int fd) LC_NONNULL(1);

/* Viewer: the filter (owned by p from now on; NULL = intercept off) and
 * whether responses are held too. */
void pauses_set_filter(struct pauses *p, struct filter *f, bool responses) LC_NONNULL(1);
/* Worker: is intercepting on at all (cheap), and does f match for phase? */
bool pauses_active(const struct pauses *p);
bool pauses_match(struct pauses *p, const struct flow *f, enum pause_phase phase) LC_NONNULL(2);
/* Worker: holds flow f (takes a reference) with its editable text. */
void pauses_add(struct pauses *p, unsigned worker, struct flow *f, enum pause_phase phase,
                const char *text, size_t len) LC_NONNULL(1, 3, 5);
/* Worker: the exchange ended while held (its conn closed). */
void pauses_remove(struct pauses *p, uint64_t flow_id) LC_NONNULL(1);

/* Viewer: a copy of the held flows, oldest first; free with pauses_views_free. */
size_t pauses_list(struct pauses *p, struct pause_view **out) LC_NONNULL(1, 2);
void pauses_views_free(struct pause_view *v, size_t n);
/* Viewer: decides for a held flow (edit: the new text, or NULL). Returns
 * false when it is no longer held. */
bool pauses_decide(struct pauses *p, uint64_t flow_id, enum pause_decision d, const char *edit)
    LC_NONNULL(1);

/* Worker, when woken: calls fn for each decided flow of this worker and
 * forgets it. */
void pauses_take(struct pauses *p, unsigned worker,
                 void (*fn)(void *arg, uint64_t flow_id, enum pause_decision d, const char *edit),
                 void *arg) LC_NONNULL(1, 3);

/* The editable text of a request (head + decoded body) and of a response. */
void pause_text_request(const struct hook_ctx *hc, struct buf *out) LC_NONNULL(1, 2);
void pause_text_response(const struct hook_ctx *hc, struct buf *out) LC_NONNULL(1, 2);
/* Applies an edited text to the exchange: method, URL, headers and body
 * (request), or status, reason, headers and body (response). The body is
 * then sent as written, with its length. Returns -1 with err when the text
 * cannot be used (nothing is changed then). */
int pause_apply_request(struct hook_ctx *hc, const char *text, char *err, size_t errlen)
    LC_NONNULL(1, 2, 3);
int pause_apply_response(struct hook_ctx *hc, const char *text, char *err, size_t errlen)
    LC_NONNULL(1, 2, 3);

#endif
