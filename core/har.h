/* SPDX-License-Identifier: MIT */
/* har: flows as HAR 1.2 (the HTTP Archive format browsers export) and back.
 * Writing: one "entry" object per flow, a streaming file writer that keeps
 * the file a complete, loadable document after every entry, and a one-shot
 * writer for a list of flows. Reading: HAR files from lucent and from
 * browsers (Chrome, Firefox) into new flows for the viewer.
 *
 * Bodies in HAR are content, not wire bytes: a Content-Encoding lucent can
 * decode is undone (up to HAR_TEXT_LIMIT) and text that is not UTF-8 is
 * written as base64. When decoding fails the raw bytes go out as base64 and
 * the content is marked "_contentEncoded": true. lucent's own fields carry a
 * leading underscore, as the format asks (_flowId, _error, _tls, ...).
 *
 * Output never depends on the locale and is always valid UTF-8 JSON, whatever
 * bytes the flow holds. No threads of its own: a har_writer is used by one
 * thread at a time. */
#ifndef LUCENT_CORE_HAR_H
#define LUCENT_CORE_HAR_H

#include <stddef.h>
#include <sys/types.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/flow.h"

#define HAR_TEXT_LIMIT (16u << 20)     /* largest decoded body written as text */
#define HAR_READ_LIMIT (1024ull << 20) /* largest HAR file har_read_file accepts */

/* Appends one HAR "entry" object for f (no separator, no newline). */
void har_entry(const struct flow *f, struct buf *out) LC_NONNULL(1, 2);

struct har_writer;

/* Creates (or truncates) path, mode 0600 when created since HAR holds cookies
 * and bodies, and writes an empty but complete HAR document. Returns the
 * writer, or NULL with the reason in err. */
struct har_writer *har_open(const char *path, char *err, size_t errlen) LC_NONNULL(1) LC_WUR;
/* Appends f and flushes; the file is a complete document again on return.
 * Returns 0, or -1 with errno set (a later har_add or har_close repairs the
 * tail of the file if it can). */
int har_add(struct har_writer *w, const struct flow *f) LC_NONNULL(1, 2);
/* Makes sure the document is complete, closes the file and frees w (NULL is
 * fine). Returns 0, or -1 with errno set when the file could not be
 * completed or closed. */
int har_close(struct har_writer *w);

/* Writes a complete HAR document holding flows[0..n) to path. Returns 0, or
 * -1 with the reason in err. */
int har_write_file(const char *path, struct flow *const *flows, size_t n, char *err, size_t errlen)
    LC_NONNULL(1) LC_WUR;

/* Reads the HAR file at path into new flows (state FLOW_DONE, refs 1, fresh
 * ids from flow_next_id()); *out becomes a malloc'd array the caller frees
 * after flow_unref() of each flow (NULL when there are none). Returns the
 * number of flows, or -1 with the reason in err and *out = NULL.
 *
 * Fields other than request.method and request.url may be missing. Bodies
 * come from request.postData.text and response.content.text ("encoding" or
 * "_encoding": "base64" decoded). Such text is decoded content, so when a
 * non-empty body is stored that way the message's Content-Encoding fields
 * are removed and a Content-Length is set to the stored length, and the size
 * is that length: viewers then see a plain message. HTTP/2 pseudo-header
 * fields (":authority", ...) are dropped: flows hold HTTP/1 header lists.
 * Timings become points on the flow's clock: t_start = the wall-clock start,
 * t_connected after blocked + dns + connect (when connect >= 0), t_resp_start
 * after send + wait (when there is a response), t_end after "time". */
ssize_t har_read_file(const char *path, struct flow ***out, char *err, size_t errlen)
    LC_NONNULL(1, 2) LC_WUR;

#endif
