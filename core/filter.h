/* SPDX-License-Identifier: MIT */
/* filter: the flow filter language of the viewer and the command line, in
 * mitmproxy's style: "~m POST & ~d example\.com", "!~s | ~e", "~bs token".
 * A filter is compiled once and then tested against any number of flows.
 * Pure: no I/O, no libevent; it only reads flows, never changes them.
 *
 * Grammar (precedence ! > & > |; two expressions side by side mean &):
 *
 *   expr    := and ('|' and)*
 *   and     := unary (['&'] unary)*
 *   unary   := '!' unary | primary
 *   primary := '(' expr ')' | '~'name [arg] | arg          (a bare arg is ~u)
 *   arg     := "..." | '...' | unquoted
 *
 * In quotes, a backslash before the quote character escapes it; any other
 * backslash stays (it belongs to the regex). An unquoted arg ends at white
 * space or at a ')' that closes nothing inside it, so "~u (a|b)" is one arg;
 * a backslash keeps the next character in the arg. An unquoted arg may not
 * start with ~ ) & | or ! (quote it). Regexes are POSIX extended and
 * case-insensitive, searched anywhere in the subject. */
#ifndef LUCENT_CORE_FILTER_H
#define LUCENT_CORE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include "core/attrib.h"
#include "core/flow.h"

struct filter;

/* Compiles expr. An empty expression (or only white space) gives a filter
 * that matches every flow. On error: NULL, a message naming the byte offset
 * in err (when err != NULL), e.g. "filter: unknown operator ~x at 5",
 * "filter: missing ')' at 12", "filter: ~c needs a status code at 3", and
 * that 0-based offset in *errpos (when errpos != NULL). The caller owns the
 * result (filter_free). */
struct filter *filter_compile(const char *expr, char *err, size_t errlen, size_t *errpos)
    LC_NONNULL(1) LC_WUR;

/* Does fl match f? Thread-safe for concurrent calls on the same filter; it
 * allocates nothing unless a body must be decoded (~b on a content-encoded
 * message, decoded up to 8 MiB; a body that fails to decode is searched as it
 * was sent) or a header line is longer than 2 KiB. */
bool filter_match(const struct filter *f, const struct flow *fl) LC_NONNULL(1, 2);

void filter_free(struct filter *f); /* NULL is fine */

/* Human help text: one line per operator, each ending in '\n'. */
extern const char filter_help[];

#endif
