/* SPDX-License-Identifier: MIT */
/* buf: a growable byte string for building output (JSON, log lines, heads).
 * Allocation failure aborts: these are small, bounded buffers and lucent has
 * no sensible way to go on without them. */
#ifndef LUCENT_CORE_BUF_H
#define LUCENT_CORE_BUF_H

#include <stddef.h>
#include "core/attrib.h"

struct buf {
    char *p; /* owned; always NUL-terminated when cap > 0 */
    size_t len;
    size_t cap;
};

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void buf_reserve(struct buf *b, size_t extra) LC_NONNULL(1);
void buf_append(struct buf *b, const void *p, size_t len) LC_NONNULL(1);
void buf_puts(struct buf *b, const char *s) LC_NONNULL(1, 2);
void buf_putc(struct buf *b, char c) LC_NONNULL(1);
void buf_printf(struct buf *b, const char *fmt, ...) LC_NONNULL(1, 2) LC_PRINTF(2, 3);
void buf_reset(struct buf *b) LC_NONNULL(1); /* len = 0, memory kept */
void buf_free(struct buf *b);                /* NULL is fine */

#endif
