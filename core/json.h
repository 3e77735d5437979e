/* SPDX-License-Identifier: MIT */
/* json: writing JSON strings from arbitrary bytes. Output is always valid
 * UTF-8 JSON: valid UTF-8 sequences pass through, control characters, quote
 * and backslash are escaped, and each byte of an invalid sequence becomes
 * \u00XX (read as Latin-1), so header bytes are never lost or mangled into
 * invalid output. Pure. */
#ifndef LUCENT_CORE_JSON_H
#define LUCENT_CORE_JSON_H

#include <stddef.h>
#include "core/attrib.h"
#include "core/buf.h"

/* Appends a quoted JSON string for s[0..len). */
void json_str(struct buf *out, const char *s, size_t len) LC_NONNULL(1);
/* Length of a valid UTF-8 sequence at s (1..4), or 0 when invalid. */
size_t json_utf8_seq(const unsigned char *s, size_t len) LC_NONNULL(1);

#endif
