/* SPDX-License-Identifier: MIT */
/* render: text the viewer shows or writes, made without a terminal: message
 * bodies (decoded, then as pretty JSON, form fields, text or hex), a flow as
 * raw HTTP, and a flow as a curl command line that sends the request again.
 * Output bytes may be anything the input held: the view escapes them when
 * drawing. Pure. */
#ifndef LUCENT_UI_TERM_RENDER_H
#define LUCENT_UI_TERM_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include "core/attrib.h"
#include "core/buf.h"
#include "core/flow.h"
#include "core/hdrs.h"

enum render_mode { RENDER_AUTO = 0, RENDER_TEXT, RENDER_HEX, RENDER_MODES };

extern const char *const render_mode_names[RENDER_MODES];

/* Appends the body (raw bytes as captured, with the message's headers for
 * Content-Type and Content-Encoding) as lines of text, each ending in '\n'.
 * The first line says what it is: "(json, gzip → 1.2 KiB)" and the like.
 * In auto mode: JSON pretty-printed, urlencoded forms as "name = value",
 * UTF-8 text as is, anything else as a hex dump. */
void render_body(const struct hdrs *h, const struct buf *raw, bool cut, enum render_mode mode,
                 struct buf *out) LC_NONNULL(1, 2, 5);
/* Re-indents JSON text (tolerant: malformed input is still laid out);
 * returns false when it does not look like JSON. */
bool render_json(const char *p, size_t len, struct buf *out) LC_NONNULL(1, 3);
/* The request as raw HTTP/1.1, then a blank line and the response. */
void render_raw(const struct flow *f, struct buf *out) LC_NONNULL(1, 2);
/* A bash command line: curl with method, URL, headers and body. */
void render_curl(const struct flow *f, struct buf *out) LC_NONNULL(1, 2);

#endif
