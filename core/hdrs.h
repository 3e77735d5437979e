/* SPDX-License-Identifier: MIT */
/* hdrs: an ordered list of (name, value) header fields as they came off the
 * wire: original case and order kept, names compared case-insensitively.
 * Bytes live in one arena per list (few allocations per message); entries
 * refer to it by offset. Values are not NUL-terminated: use the lengths.
 * Pure: no I/O, no libevent. */
#ifndef LUCENT_CORE_HDRS_H
#define LUCENT_CORE_HDRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"

struct hdr {
    uint32_t name_off, name_len;
    uint32_t value_off, value_len;
};

struct hdrs {
    struct hdr *v; /* owned */
    size_t n, cap;
    char *arena; /* owned */
    size_t used, size;
    uint8_t building; /* private: parser state for hdrs_feed_* */
};

void hdrs_init(struct hdrs *h) LC_NONNULL(1);
void hdrs_clear(struct hdrs *h) LC_NONNULL(1); /* empty, memory kept */
void hdrs_free(struct hdrs *h);                /* NULL is fine */
void hdrs_copy(struct hdrs *dst, const struct hdrs *src) LC_NONNULL(1, 2);

void hdrs_add(struct hdrs *h, const char *name, size_t nlen, const char *value, size_t vlen)
    LC_NONNULL(1, 2);
/* Streaming construction from a parser that delivers names and values in
 * pieces: name bytes extend the current name (starting a new field after a
 * value), value bytes extend its value; hdrs_feed_end() trims trailing
 * whitespace of the value just finished. */
void hdrs_feed_name(struct hdrs *h, const char *p, size_t len) LC_NONNULL(1);
void hdrs_feed_value(struct hdrs *h, const char *p, size_t len) LC_NONNULL(1);
void hdrs_feed_end(struct hdrs *h) LC_NONNULL(1);
void hdrs_feed_name_end(struct hdrs *h) LC_NONNULL(1); /* the name is complete */

static inline const char *hdrs_name(const struct hdrs *h, size_t i, size_t *len)
{
    *len = h->v[i].name_len;
    return h->arena + h->v[i].name_off;
}
static inline const char *hdrs_value(const struct hdrs *h, size_t i, size_t *len)
{
    *len = h->v[i].value_len;
    return h->arena + h->v[i].value_off;
}

bool hdrs_name_is(const struct hdrs *h, size_t i, const char *name) LC_NONNULL(1, 3);
/* First value of `name`, or NULL. */
const char *hdrs_get(const struct hdrs *h, const char *name, size_t *vlen) LC_NONNULL(1, 2, 3);
/* Does any `name` field hold `token` in its comma-separated list? */
bool hdrs_has_token(const struct hdrs *h, const char *name, const char *token) LC_NONNULL(1, 2, 3);
/* Removes every `name` field; returns how many. */
size_t hdrs_remove(struct hdrs *h, const char *name, size_t nlen) LC_NONNULL(1, 2);
/* Replaces the first `name` field's value in place (and drops the others),
 * or appends the field when absent. */
void hdrs_set(struct hdrs *h, const char *name, const char *value, size_t vlen) LC_NONNULL(1, 2, 3);

/* Removes hop-by-hop fields (RFC 9110 7.6.1): Connection and every field it
 * names, Proxy-Connection, Keep-Alive, Proxy-Authorization, TE, Trailer,
 * Transfer-Encoding, and Upgrade unless `upgrading` (then Upgrade stays and
 * Connection is reduced to "upgrade"). Returns the number removed. */
size_t hdrs_strip_hop_by_hop(struct hdrs *h, bool upgrading) LC_NONNULL(1);

#endif
