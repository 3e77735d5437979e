/* SPDX-License-Identifier: MIT */
/* hdrs: ordered header fields in one arena. Removal compacts the entry array
 * and leaves the arena bytes behind: lists are short-lived (one message). */
#include "core/hdrs.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { BUILD_NONE = 0, BUILD_NAME, BUILD_VALUE };

void hdrs_init(struct hdrs *h)
{
    memset(h, 0, sizeof(*h));
}

void hdrs_clear(struct hdrs *h)
{
    h->n = 0;
    h->used = 0;
    h->building = BUILD_NONE;
}

void hdrs_free(struct hdrs *h)
{
    if (h == NULL)
        return;
    free(h->v);
    free(h->arena);
    hdrs_init(h);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL)
        abort();
    return q;
}

static uint32_t arena_put(struct hdrs *h, const char *p, size_t len)
{
    /* p may point into the arena itself (one field's value copied to
     * another): remember it as an offset across the realloc below */
    uintptr_t a = (uintptr_t)h->arena, q = (uintptr_t)p;
    bool inside = h->arena != NULL && q >= a && q < a + h->size;
    size_t src_off = inside ? (size_t)(q - a) : 0;

    if (h->used + len > h->size) {
        size_t size = h->size ? h->size : 512;
        while (size < h->used + len)
            size *= 2;
        h->arena = xrealloc(h->arena, size);
        h->size = size;
    }
    if (inside)
        p = h->arena + src_off;
    uint32_t off = (uint32_t)h->used;
    if (len > 0)
        memcpy(h->arena + h->used, p, len);
    h->used += len;
    return off;
}

static struct hdr *push_entry(struct hdrs *h)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    struct hdr *e = &h->v[h->n++];
    memset(e, 0, sizeof(*e));
    return e;
}

void hdrs_copy(struct hdrs *dst, const struct hdrs *src)
{
    hdrs_clear(dst);
    for (size_t i = 0; i < src->n; i++) {
        size_t nl, vl;
        const char *nm = hdrs_name(src, i, &nl);
        const char *va = hdrs_value(src, i, &vl);
        hdrs_add(dst, nm, nl, va, vl);
    }
}

void hdrs_add(struct hdrs *h, const char *name, size_t nlen, const char *value, size_t vlen)
{
    uint32_t no = arena_put(h, name, nlen);
    uint32_t vo = arena_put(h, value ? value : "", value ? vlen : 0);
    struct hdr *e = push_entry(h);
    e->name_off = no;
    e->name_len = (uint32_t)nlen;
    e->value_off = vo;
    e->value_len = value ? (uint32_t)vlen : 0;
    h->building = BUILD_NONE;
}

void hdrs_feed_name(struct hdrs *h, const char *p, size_t len)
{
    if (h->building != BUILD_NAME) {
        struct hdr *e = push_entry(h);
        e->name_off = e->value_off = (uint32_t)h->used;
        h->building = BUILD_NAME;
    }
    arena_put(h, p, len);
    h->v[h->n - 1].name_len += (uint32_t)len;
}

void hdrs_feed_value(struct hdrs *h, const char *p, size_t len)
{
    if (h->n == 0)
        return;
    struct hdr *e = &h->v[h->n - 1];
    if (h->building != BUILD_VALUE) {
        e->value_off = (uint32_t)h->used;
        e->value_len = 0;
        h->building = BUILD_VALUE;
    }
    arena_put(h, p, len);
    e->value_len += (uint32_t)len;
}

void hdrs_feed_end(struct hdrs *h)
{
    if (h->n == 0)
        return;
    struct hdr *e = &h->v[h->n - 1];
    while (e->value_len > 0) {
        char c = h->arena[e->value_off + e->value_len - 1];
        if (c != ' ' && c != '\t')
            break;
        e->value_len--;
    }
    h->building = BUILD_NONE;
}

void hdrs_feed_name_end(struct hdrs *h)
{
    h->building = BUILD_NONE;
}

static bool name_eq(const struct hdrs *h, size_t i, const char *name, size_t nlen)
{
    return h->v[i].name_len == nlen && strncasecmp(h->arena + h->v[i].name_off, name, nlen) == 0;
}

bool hdrs_name_is(const struct hdrs *h, size_t i, const char *name)
{
    return name_eq(h, i, name, strlen(name));
}

const char *hdrs_get(const struct hdrs *h, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < h->n; i++)
        if (name_eq(h, i, name, nlen))
            return hdrs_value(h, i, vlen);
    *vlen = 0;
    return NULL;
}

/* Calls fn on each trimmed, non-empty element of a comma-separated list. */
static bool list_find(const char *p, size_t len, const char *token)
{
    size_t tlen = strlen(token);
    size_t i = 0;
    while (i < len) {
        while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
            i++;
        size_t start = i;
        while (i < len && p[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t'))
            end--;
        if (end - start == tlen && strncasecmp(p + start, token, tlen) == 0)
            return true;
    }
    return false;
}

bool hdrs_has_token(const struct hdrs *h, const char *name, const char *token)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < h->n; i++) {
        if (!name_eq(h, i, name, nlen))
            continue;
        size_t vl;
        const char *v = hdrs_value(h, i, &vl);
        if (list_find(v, vl, token))
            return true;
    }
    return false;
}

size_t hdrs_remove(struct hdrs *h, const char *name, size_t nlen)
{
    size_t j = 0, removed = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (name_eq(h, i, name, nlen)) {
            removed++;
            continue;
        }
        h->v[j++] = h->v[i];
    }
    h->n = j;
    return removed;
}

void hdrs_set(struct hdrs *h, const char *name, const char *value, size_t vlen)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < h->n; i++) {
        if (!name_eq(h, i, name, nlen))
            continue;
        uint32_t vo = arena_put(h, value, vlen);
        h->v[i].value_off = vo;
        h->v[i].value_len = (uint32_t)vlen;
        /* drop later duplicates, keep this position */
        size_t j = i + 1;
        for (size_t k = i + 1; k < h->n; k++)
            if (!name_eq(h, k, name, nlen))
                h->v[j++] = h->v[k];
        h->n = j;
        return;
    }
    hdrs_add(h, name, nlen, value, vlen);
}

static const char *const hop_by_hop[] = {
    "Proxy-Connection", "Keep-Alive", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding",
};

size_t hdrs_strip_hop_by_hop(struct hdrs *h, bool upgrading)
{
    size_t removed = 0;

    /* Fields named by Connection first (they may be any name). */
    for (size_t i = 0; i < h->n; i++) {
        if (!hdrs_name_is(h, i, "Connection"))
            continue;
        size_t vl;
        const char *v = hdrs_value(h, i, &vl);
        size_t k = 0;
        while (k < vl) {
            while (k < vl && (v[k] == ' ' || v[k] == '\t' || v[k] == ','))
                k++;
            size_t start = k;
            while (k < vl && v[k] != ',' && v[k] != ' ' && v[k] != '\t')
                k++;
            size_t tl = k - start;
            if (tl == 0)
                continue;
            if (upgrading && tl == 7 && strncasecmp(v + start, "upgrade", 7) == 0)
                continue;
            if (tl == 10 && strncasecmp(v + start, "Connection", 10) == 0)
                continue;
            /* the arena is stable while we only compact entries */
            size_t before = h->n;
            removed += hdrs_remove(h, v + start, tl);
            if (h->n != before) {
                i = (size_t)-1; /* entries moved: rescan from the start */
                break;
            }
        }
    }
    removed += hdrs_remove(h, "Connection", 10);
    for (size_t i = 0; i < LC_ARRAY_LEN(hop_by_hop); i++)
        removed += hdrs_remove(h, hop_by_hop[i], strlen(hop_by_hop[i]));
    if (!upgrading)
        removed += hdrs_remove(h, "Upgrade", 7);
    else
        hdrs_add(h, "Connection", 10, "upgrade", 7);
    return removed;
}
