/* SPDX-License-Identifier: MIT */
/* jsonp: a strict JSON (RFC 8259) parser that builds a read-only tree, for
 * reading documents lucent did not write (HAR files). The whole text is
 * parsed up front; the tree lives in two allocations (values and decoded
 * strings) owned by a struct jsonp_doc. Strings must be valid UTF-8; \u
 * escapes are decoded to UTF-8 (a lone surrogate becomes U+FFFD); numbers
 * are read independently of the process locale. Nesting is capped so
 * hostile input cannot exhaust the stack. Pure: bytes in, tree out. */
#ifndef LUCENT_CORE_JSONP_H
#define LUCENT_CORE_JSONP_H

#include <stdbool.h>
#include <stddef.h>
#include "core/attrib.h"

#define JSONP_MAX_DEPTH 256

enum jsonp_type {
    JSONP_NULL = 0,
    JSONP_FALSE,
    JSONP_TRUE,
    JSONP_NUMBER,
    JSONP_STRING,
    JSONP_ARRAY,
    JSONP_OBJECT,
};

struct jsonp_val {
    enum jsonp_type type;
    size_t n;                      /* ARRAY, OBJECT: number of items */
    const struct jsonp_val *items; /* ARRAY, OBJECT: items[0..n), in document order */
    const char *key;               /* items of an OBJECT: member name (NUL-terminated) */
    size_t key_len;
    const char *str; /* STRING: decoded bytes, NUL-terminated (may hold NULs: use len) */
    size_t len;
    double num;    /* NUMBER: always finite */
    size_t first_; /* private: index of items[0] while parsing */
};

struct jsonp_doc;

/* Parses s[0..len) (one JSON value, surrounding whitespace and a leading
 * UTF-8 byte order mark allowed). Returns the tree, owned by the caller
 * (jsonp_free), or NULL with "line L, column C: what was wrong" in err. */
struct jsonp_doc *jsonp_parse(const char *s, size_t len, char *err, size_t errlen)
    LC_NONNULL(1) LC_WUR;
void jsonp_free(struct jsonp_doc *d); /* NULL is fine */
const struct jsonp_val *jsonp_root(const struct jsonp_doc *d) LC_NONNULL(1);

/* Lookups that tolerate absent parts, so paths chain without checks:
 * jsonp_get(v, "k") is the first member "k" of object v, or NULL when v is
 * NULL, not an object or has no such member. */
const struct jsonp_val *jsonp_get(const struct jsonp_val *v, const char *key);
/* The bytes of a string value (length in *len when len != NULL), or NULL. */
const char *jsonp_str(const struct jsonp_val *v, size_t *len);
/* Is v a number? Then *out holds it. */
bool jsonp_num(const struct jsonp_val *v, double *out) LC_NONNULL(2);
/* Is v true (false for false, NULL and every other type)? */
bool jsonp_true(const struct jsonp_val *v);

#endif
