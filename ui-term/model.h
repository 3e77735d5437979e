/* SPDX-License-Identifier: MIT */
/* model: the viewer's flows, without any drawing. A bounded list of flow
 * references in arrival order (oldest dropped past max_flows, counted), a
 * filter, the flows it shows, the selection and follow mode. Plain C, one
 * thread (the viewer's); testable without a terminal. */
#ifndef LUCENT_UI_TERM_MODEL_H
#define LUCENT_UI_TERM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"
#include "core/flow.h"

struct filter;

struct model {
    struct flow **ring; /* owned references, compacted when one is deleted */
    size_t cap, head, n; /* ring of cap slots; n in use from head */
    uint64_t first_seq;  /* sequence number of ring[head] */
    uint64_t dropped;    /* flows dropped to stay under cap */
    uint64_t lost;       /* events the bus dropped before the viewer saw them */
    struct filter *filter; /* owned, or NULL: show everything */
    char *filter_text;     /* owned, or NULL */
    uint64_t *shown;       /* owned: sequence numbers of the flows shown, in order */
    size_t nshown, shown_cap;
    size_t sel;  /* index into shown */
    size_t top;  /* first row drawn (the view keeps sel visible) */
    bool follow; /* select each new flow */
};

int model_init(struct model *m, size_t max_flows) LC_NONNULL(1) LC_WUR;
void model_free(struct model *m);
/* Takes over the reference f. */
void model_add(struct model *m, struct flow *f) LC_NONNULL(1, 2);
size_t model_count(const struct model *m) LC_NONNULL(1); /* flows kept (shown or not) */
/* The i-th flow shown (borrowed), or NULL. */
struct flow *model_shown(const struct model *m, size_t i) LC_NONNULL(1);
struct flow *model_selected(const struct model *m) LC_NONNULL(1);
/* Compiles expr ("" = all) and refilters; on a bad expression returns -1,
 * keeps the old filter, and err/errpos say what and where. */
int model_set_filter(struct model *m, const char *expr, char *err, size_t errlen, size_t *errpos)
    LC_NONNULL(1, 2, 3);
void model_delete_selected(struct model *m) LC_NONNULL(1);
void model_clear(struct model *m) LC_NONNULL(1);
/* Moves the selection by delta rows (clamped); turns follow off unless it
 * lands on the last row. */
void model_move(struct model *m, long delta) LC_NONNULL(1);
void model_select(struct model *m, size_t i) LC_NONNULL(1);
/* Next (dir 1) or previous (-1) shown flow after the selection whose URL,
 * method or status text contains text (case-insensitive); wraps. Returns
 * false when none does. */
bool model_search(struct model *m, const char *text, int dir) LC_NONNULL(1, 2);

#endif
