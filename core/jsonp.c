/* SPDX-License-Identifier: MIT */
/* jsonp: recursive descent over the text. A value is first pushed on a
 * stack; when its container closes, the container's items move from the
 * stack to the end of the value array in one block, which is why every
 * container's items end up contiguous (items[i] indexing) while values are
 * only ever appended. Decoded strings never outgrow their quoted source, so
 * one arena the size of the input holds them all and never moves. Allocation
 * failure is reported as an error, not an abort: the input may be large. */
#include "core/jsonp.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

struct jsonp_doc {
    struct jsonp_val *vals; /* owned; the root is the last one */
    size_t n;
    char *arena; /* owned: every key and string */
};

struct parser {
    const unsigned char *start, *p, *end;
    char *arena; /* borrowed from the doc being built */
    size_t arena_used;
    struct jsonp_val *stack; /* owned: values whose container is still open */
    size_t sn, scap;
    struct jsonp_val *vals; /* owned until handed to the doc */
    size_t vn, vcap;
    locale_t c_locale; /* owned; (locale_t)0 when newlocale failed */
    char *err;
    size_t errlen;
    bool failed;
};

static void fail(struct parser *P, const char *fmt, ...) LC_PRINTF(2, 3);

/* Records the first error with its line and column (1-based, in bytes). */
static void fail(struct parser *P, const char *fmt, ...)
{
    if (P->failed)
        return;
    P->failed = true;
    if (P->err == NULL || P->errlen == 0)
        return;
    size_t line = 1, col = 1;
    for (const unsigned char *q = P->start; q < P->p && q < P->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(P->err, P->errlen, "line %zu, column %zu: %s", line, col, what);
}

/* Makes room for one more value in *v (capacity *cap); -1 when out of memory. */
static int grow(struct parser *P, struct jsonp_val **v, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    if (ncap > SIZE_MAX / sizeof(**v)) {
        fail(P, "out of memory");
        return -1;
    }
    struct jsonp_val *nv = realloc(*v, ncap * sizeof(**v));
    if (nv == NULL) {
        fail(P, "out of memory");
        return -1;
    }
    *v = nv;
    *cap = ncap;
    return 0;
}

static struct jsonp_val *push(struct parser *P, enum jsonp_type type, const char *key,
                              size_t key_len)
{
    if (grow(P, &P->stack, P->sn, &P->scap) < 0)
        return NULL;
    struct jsonp_val *v = &P->stack[P->sn++];
    memset(v, 0, sizeof(*v));
    v->type = type;
    v->key = key;
    v->key_len = key_len;
    return v;
}

static void skip_ws(struct parser *P)
{
    while (P->p < P->end && (*P->p == ' ' || *P->p == '\t' || *P->p == '\n' || *P->p == '\r'))
        P->p++;
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xC0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xE0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *d++ = (char)(0xF0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    return d;
}

/* The escape after a backslash (P->p at the character after it); appends
 * its bytes at *d. A \u escape is 6 bytes for at most 3 decoded, a pair 12
 * for 4: the arena bound holds. */
static int parse_escape(struct parser *P, char **d)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (P->p >= P->end) {
        fail(P, "unterminated string");
        return -1;
    }
    const char *e = *P->p != 'u' ? strchr(from, *P->p) : NULL;
    if (e != NULL && *e != '\0') {
        *(*d)++ = to[e - from];
        P->p++;
        return 0;
    }
    if (*P->p != 'u') {
        P->p--;
        fail(P, "invalid escape in string");
        return -1;
    }
    uint32_t cp, lo;
    if (P->end - P->p < 5 || hex4(P->p + 1, &cp) < 0) {
        P->p--;
        fail(P, "invalid \\u escape in string");
        return -1;
    }
    P->p += 5;
    if (cp >= 0xD800 && cp <= 0xDBFF && P->end - P->p >= 6 && P->p[0] == '\\' && P->p[1] == 'u' &&
        hex4(P->p + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        P->p += 6;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
        cp = 0xFFFD; /* a lone surrogate has no UTF-8 form */
    }
    *d = put_utf8(*d, cp);
    return 0;
}

/* A string at P->p (the opening quote), decoded into the arena. */
static int parse_string(struct parser *P, const char **out, size_t *outlen)
{
    char *d0 = P->arena + P->arena_used, *d = d0;
    P->p++;
    for (;;) {
        if (P->p >= P->end) {
            fail(P, "unterminated string");
            return -1;
        }
        unsigned char c = *P->p;
        if (c == '"') {
            P->p++;
            break;
        }
        if (c < 0x20) {
            fail(P, "control character in string");
            return -1;
        }
        if (c == '\\') {
            P->p++;
            if (parse_escape(P, &d) < 0)
                return -1;
            continue;
        }
        size_t n = c < 0x80 ? 1 : json_utf8_seq(P->p, (size_t)(P->end - P->p));
        if (n == 0) {
            fail(P, "invalid UTF-8 in string");
            return -1;
        }
        memcpy(d, P->p, n);
        d += n;
        P->p += n;
    }
    *d = '\0';
    *out = d0;
    *outlen = (size_t)(d - d0);
    P->arena_used += *outlen + 1;
    return 0;
}

static bool is_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

static int parse_number(struct parser *P, double *out)
{
    const unsigned char *s = P->p, *q = s;
    if (q < P->end && *q == '-')
        q++;
    if (!is_digit(q, P->end)) {
        fail(P, "expected a value");
        return -1;
    }
    if (*q == '0')
        q++;
    else
        while (is_digit(q, P->end))
            q++;
    if (q < P->end && *q == '.') {
        q++;
        if (!is_digit(q, P->end)) {
            P->p = q;
            fail(P, "digit expected after '.'");
            return -1;
        }
        while (is_digit(q, P->end))
            q++;
    }
    if (q < P->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < P->end && (*q == '+' || *q == '-'))
            q++;
        if (!is_digit(q, P->end)) {
            P->p = q;
            fail(P, "digit expected in exponent");
            return -1;
        }
        while (is_digit(q, P->end))
            q++;
    }

    /* strtod wants a NUL-terminated copy, and the "C" locale so that a UI's
     * setlocale() cannot turn the decimal point into a comma */
    size_t n = (size_t)(q - s);
    char small[64], *tmp = small;
    if (n >= sizeof(small)) {
        tmp = malloc(n + 1);
        if (tmp == NULL) {
            fail(P, "out of memory");
            return -1;
        }
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    locale_t old = P->c_locale != (locale_t)0 ? uselocale(P->c_locale) : (locale_t)0;
    double v = strtod(tmp, NULL);
    if (old != (locale_t)0)
        uselocale(old);
    if (tmp != small)
        free(tmp);
    if (!isfinite(v)) {
        fail(P, "number out of range");
        return -1;
    }
    *out = v;
    P->p = q;
    return 0;
}

static bool literal(struct parser *P, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(P->end - P->p) < n || memcmp(P->p, word, n) != 0)
        return false;
    P->p += n;
    return true;
}

/* Moves the items of the container at stack[ci] to the value array. */
static int close_container(struct parser *P, size_t ci)
{
    size_t k = P->sn - ci - 1;
    while (P->vcap - P->vn < k) {
        if (grow(P, &P->vals, P->vcap, &P->vcap) < 0)
            return -1;
    }
    if (k > 0)
        memcpy(P->vals + P->vn, P->stack + ci + 1, k * sizeof(*P->vals));
    P->stack[ci].first_ = P->vn;
    P->stack[ci].n = k;
    P->vn += k;
    P->sn = ci + 1;
    return 0;
}

static int parse_value(struct parser *P, int depth, const char *key, size_t key_len);

static int parse_container(struct parser *P, int depth, const char *key, size_t key_len,
                           bool object)
{
    char close = object ? '}' : ']';
    if (depth >= JSONP_MAX_DEPTH) {
        fail(P, "nested too deeply (more than %d levels)", JSONP_MAX_DEPTH);
        return -1;
    }
    size_t ci = P->sn;
    if (push(P, object ? JSONP_OBJECT : JSONP_ARRAY, key, key_len) == NULL)
        return -1;
    P->p++;
    skip_ws(P);
    if (P->p < P->end && *P->p == close) {
        P->p++;
        return close_container(P, ci);
    }
    for (;;) {
        const char *k = NULL;
        size_t kl = 0;
        skip_ws(P);
        if (object) {
            if (P->p >= P->end || *P->p != '"') {
                fail(P, "expected a member name (a string)");
                return -1;
            }
            if (parse_string(P, &k, &kl) < 0)
                return -1;
            skip_ws(P);
            if (P->p >= P->end || *P->p != ':') {
                fail(P, "expected ':' after a member name");
                return -1;
            }
            P->p++;
            skip_ws(P);
        }
        if (parse_value(P, depth + 1, k, kl) < 0)
            return -1;
        skip_ws(P);
        if (P->p < P->end && *P->p == ',') {
            P->p++;
            continue;
        }
        if (P->p < P->end && *P->p == close) {
            P->p++;
            return close_container(P, ci);
        }
        if (P->p >= P->end)
            fail(P, "unexpected end of input");
        else
            fail(P, "expected ',' or '%c'", close);
        return -1;
    }
}

static int parse_value(struct parser *P, int depth, const char *key, size_t key_len)
{
    struct jsonp_val *v;
    if (P->p >= P->end) {
        fail(P, "unexpected end of input");
        return -1;
    }
    switch (*P->p) {
    case '{':
        return parse_container(P, depth, key, key_len, true);
    case '[':
        return parse_container(P, depth, key, key_len, false);
    case '"': {
        const char *s;
        size_t n;
        if (parse_string(P, &s, &n) < 0 || (v = push(P, JSONP_STRING, key, key_len)) == NULL)
            return -1;
        v->str = s;
        v->len = n;
        return 0;
    }
    case 't':
    case 'f':
    case 'n':
        if (literal(P, "true"))
            return push(P, JSONP_TRUE, key, key_len) ? 0 : -1;
        if (literal(P, "false"))
            return push(P, JSONP_FALSE, key, key_len) ? 0 : -1;
        if (literal(P, "null"))
            return push(P, JSONP_NULL, key, key_len) ? 0 : -1;
        fail(P, "expected a value");
        return -1;
    default: {
        double d;
        if (parse_number(P, &d) < 0 || (v = push(P, JSONP_NUMBER, key, key_len)) == NULL)
            return -1;
        v->num = d;
        return 0;
    }
    }
}

struct jsonp_doc *jsonp_parse(const char *s, size_t len, char *err, size_t errlen)
{
    struct parser P = {0};
    struct jsonp_doc *d = calloc(1, sizeof(*d));

    P.start = P.p = (const unsigned char *)s;
    P.end = P.start + len;
    P.err = err;
    P.errlen = errlen;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    P.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (d == NULL || len == SIZE_MAX || (P.arena = malloc(len + 1)) == NULL) {
        fail(&P, "out of memory");
        goto fail;
    }
    d->arena = P.arena;

    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) /* some Windows tools write one */
        P.p += 3;
    skip_ws(&P);
    if (P.p >= P.end) {
        fail(&P, "empty input");
        goto fail;
    }
    if (parse_value(&P, 0, NULL, 0) < 0)
        goto fail;
    skip_ws(&P);
    if (P.p < P.end) {
        fail(&P, "unexpected data after the JSON value");
        goto fail;
    }
    /* the root goes last; then every container learns where its items are */
    if (grow(&P, &P.vals, P.vn, &P.vcap) < 0)
        goto fail;
    P.vals[P.vn++] = P.stack[0];
    for (size_t i = 0; i < P.vn; i++) {
        struct jsonp_val *v = &P.vals[i];
        if ((v->type == JSONP_ARRAY || v->type == JSONP_OBJECT) && v->n > 0)
            v->items = P.vals + v->first_;
    }
    d->vals = P.vals;
    d->n = P.vn;
    free(P.stack);
    if (P.c_locale != (locale_t)0)
        freelocale(P.c_locale);
    return d;

fail:
    free(P.stack);
    free(P.vals);
    if (P.c_locale != (locale_t)0)
        freelocale(P.c_locale);
    jsonp_free(d);
    return NULL;
}

void jsonp_free(struct jsonp_doc *d)
{
    if (d == NULL)
        return;
    free(d->vals);
    free(d->arena);
    free(d);
}

const struct jsonp_val *jsonp_root(const struct jsonp_doc *d)
{
    return &d->vals[d->n - 1];
}

const struct jsonp_val *jsonp_get(const struct jsonp_val *v, const char *key)
{
    if (v == NULL || v->type != JSONP_OBJECT || key == NULL)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i].key_len == kl && memcmp(v->items[i].key, key, kl) == 0)
            return &v->items[i];
    return NULL;
}

const char *jsonp_str(const struct jsonp_val *v, size_t *len)
{
    if (v == NULL || v->type != JSONP_STRING)
        return NULL;
    if (len != NULL)
        *len = v->len;
    return v->str;
}

bool jsonp_num(const struct jsonp_val *v, double *out)
{
    if (v == NULL || v->type != JSONP_NUMBER)
        return false;
    *out = v->num;
    return true;
}

bool jsonp_true(const struct jsonp_val *v)
{
    return v != NULL && v->type == JSONP_TRUE;
}
