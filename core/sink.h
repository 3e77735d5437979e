/* SPDX-License-Identifier: MIT */
/* sink: the thread that turns finished flows into product output: the log
 * line on stdout and the JSON lines of --flow-log. It drains the bus in
 * batches, writes, flushes, and says on stderr when it fell behind and lost
 * events. It never slows traffic: workers only ever publish. */
#ifndef LUCENT_CORE_SINK_H
#define LUCENT_CORE_SINK_H

#include <stdbool.h>
#include <stdio.h>
#include "core/attrib.h"
#include "core/bus.h"

struct sink;

struct har_writer;
struct filter;

/* log_lines: print a line per flow on `out`; flow_log: open stream or NULL;
 * har: HAR file writer or NULL; filter: only matching flows are written, or
 * NULL. The sink borrows all of them. */
struct sink *sink_start(struct bus *bus, FILE *out, bool log_lines, FILE *flow_log,
                        struct har_writer *har, const struct filter *filter) LC_WUR;
/* Waits for everything published before bus_close() to be written. */
void sink_stop(struct sink *s);

#endif
