/* SPDX-License-Identifier: MIT */
/* view: the terminal viewer (ncurses). It runs on the thread that calls
 * view_run(), drains its own bus subscription a bounded batch per tick,
 * redraws at most 20 times a second and reads keys without blocking, so
 * traffic never waits for it. */
#ifndef LUCENT_UI_TERM_VIEW_H
#define LUCENT_UI_TERM_VIEW_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"
#include "core/bus.h"
#include "core/flow.h"
#include "core/opts.h"

struct view_args {
    struct bus *bus;        /* borrowed, or NULL (reading a HAR file) */
    int sub;                /* the viewer's subscription */
    const struct opts *o;   /* borrowed */
    uint16_t port;          /* where lucent listens (replay goes through it), 0 = none */
    const sigset_t *sigs;   /* signals that end the viewer (blocked by the caller) */
    struct pauses *pauses;  /* the intercept shared with the workers, or NULL */
    struct flow **preload;  /* references handed over (e.g. from -r FILE), or NULL */
    size_t npreload;
};

/* Returns when the user quits or a signal of sigs arrives: 0, or -1 when the
 * terminal could not be set up (the reason is on stderr). */
int view_run(const struct view_args *a) LC_NONNULL(1);

#endif
