/* SPDX-License-Identifier: MIT */
/* flowlog: the two text forms of a finished flow: one JSON object (a line of
 * the --flow-log file) and the human log line. Pure: flow in, text out. */
#ifndef LUCENT_CORE_FLOWLOG_H
#define LUCENT_CORE_FLOWLOG_H

#include "core/attrib.h"
#include "core/buf.h"
#include "core/flow.h"

/* Appends the flow as one JSON object followed by '\n'. */
void flowlog_json(const struct flow *f, struct buf *out) LC_NONNULL(1, 2);
/* Appends e.g. "127.0.0.1:53122 GET http://a.test/x → 200 OK 1.2 KiB 3 ms\n".
 * Control characters in the URL or reason are escaped. */
void flowlog_line(const struct flow *f, struct buf *out) LC_NONNULL(1, 2);
/* "512 B", "1.2 KiB", "3.4 MiB", "1.0 GiB" */
void flowlog_size(uint64_t n, struct buf *out) LC_NONNULL(2);

#endif
