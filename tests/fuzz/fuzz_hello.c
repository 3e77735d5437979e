/* SPDX-License-Identifier: MIT */
/* fuzz_hello: the TLS ClientHello parser, three ways. The input as a
 * client's byte stream; the same repeated to just past HELLO_MAX (a small
 * input reaches the cap); and the input minus its first byte as a handshake
 * message, framed into 1 to 4 records at offsets that first byte picks (so
 * that deep fields are reached without the fuzzer keeping record lengths
 * straight).
 * Checks what a result promises: a name of allowed characters, NUL-ended
 * strings, a length inside the input that parses the same alone, prefixes
 * that only ask for more, and never NEED_MORE past HELLO_MAX. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hello.h"

static bool same(const struct hello *a, const struct hello *b)
{
    return strcmp(a->sni, b->sni) == 0 && strcmp(a->alpn, b->alpn) == 0 &&
           a->version == b->version && a->tls13 == b->tls13 && a->length == b->length;
}

/* hello_parse() on a heap copy of exactly len bytes. */
static enum hello_rc parse_copy(const uint8_t *p, size_t len, struct hello *h)
{
    uint8_t *c = malloc(len ? len : 1);
    if (c == NULL)
        abort();
    if (len > 0)
        memcpy(c, p, len);
    enum hello_rc rc = hello_parse(c, len, h);
    free(c);
    return rc;
}

static void check(const uint8_t *p, size_t len)
{
    struct hello h, h2;
    enum hello_rc rc = hello_parse(p, len, &h);

    switch (rc) {
    case HELLO_NEED_MORE:
        if (len >= HELLO_MAX)
            __builtin_trap(); /* we never wait for more than HELLO_MAX bytes */
        if (len > 0 && p[0] != 0x16)
            __builtin_trap();
        break;
    case HELLO_NOT_TLS:
        if (len == 0 || (p[0] == 0x16 && (len < 2 || p[1] == 3)))
            __builtin_trap();
        break;
    case HELLO_BAD:
        if (len < 5 || p[0] != 0x16 || p[1] != 3)
            __builtin_trap();
        break;
    case HELLO_OK:
        /* record + handshake header + the smallest body */
        if (h.length > len || h.length > HELLO_MAX || h.length < 5 + 4 + 41)
            __builtin_trap();
        if (memchr(h.sni, '\0', sizeof(h.sni)) == NULL ||
            memchr(h.alpn, '\0', sizeof(h.alpn)) == NULL)
            __builtin_trap();
        for (const char *s = h.sni; *s; s++)
            if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
                  *s == '_'))
                __builtin_trap();
        for (const char *s = h.alpn; *s; s++)
            if (*s < 0x20 || *s > 0x7e)
                __builtin_trap();
        if (h.alpn[0] == ',' || (h.alpn[0] && h.alpn[strlen(h.alpn) - 1] == ',') ||
            strstr(h.alpn, ",,") != NULL)
            __builtin_trap();
        if (h.version >> 8 != 3)
            __builtin_trap();
        /* The hello alone parses the same; shorter, it asks for more. */
        if (parse_copy(p, h.length, &h2) != HELLO_OK || !same(&h, &h2))
            __builtin_trap();
        if (parse_copy(p, h.length - 1, &h2) != HELLO_NEED_MORE ||
            parse_copy(p, h.length / 2, &h2) != HELLO_NEED_MORE)
            __builtin_trap();
        break;
    default:
        __builtin_trap();
    }

    /* A verdict on a prefix stands for the whole. */
    if (len > 0) {
        enum hello_rc half = parse_copy(p, len / 2, &h2);
        if (half != HELLO_NEED_MORE && half != rc)
            __builtin_trap();
        if (half == HELLO_OK && !same(&h, &h2))
            __builtin_trap();
    }
}

/* The input repeated to just past HELLO_MAX: whatever it starts, a verdict
 * must be in by then. */
static void check_long(const uint8_t *data, size_t size)
{
    size_t len = HELLO_MAX + (data[0] & 15);
    uint8_t *p = malloc(len);
    if (p == NULL)
        abort();
    for (size_t i = 0; i < len; i += size)
        memcpy(p + i, data, len - i < size ? len - i : size);
    check(p, len);
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    if (size > 0 && size < HELLO_MAX)
        check_long(data, size);

    if (size < 2 || size > 2 * HELLO_MAX)
        return 0;
    /* Framed: data[0] picks the number of records and where they split. */
    const uint8_t *msg = data + 1;
    size_t mlen = size - 1, nrec = 1 + (data[0] & 3), cuts[4], ncuts = 0;
    for (size_t i = 1; i < nrec; i++) {
        size_t c = mlen * i / nrec + ((data[0] >> 2) & 7) * i;
        if (c > 0 && c < mlen && (ncuts == 0 || c > cuts[ncuts - 1]))
            cuts[ncuts++] = c;
    }
    cuts[ncuts] = mlen;
    size_t flen = mlen + 5 * (ncuts + 1), at = 0, o = 0, ends[4];
    uint8_t *f = malloc(flen);
    if (f == NULL)
        abort();
    for (size_t i = 0; i <= ncuts; i++) {
        size_t n = cuts[i] - at;
        f[o++] = 0x16;
        f[o++] = 3;
        f[o++] = i == 0 ? 1 : 3;
        f[o++] = (uint8_t)(n >> 8);
        f[o++] = (uint8_t)n;
        memcpy(f + o, msg + at, n);
        o += n;
        at = cuts[i];
        ends[i] = o;
    }
    struct hello h;
    enum hello_rc rc = hello_parse(f, flen, &h);
    if (rc == HELLO_NOT_TLS)
        __builtin_trap();
    if (rc == HELLO_OK) {
        /* The hello ends with one of the records; later ones are left alone. */
        size_t i = 0;
        while (i <= ncuts && ends[i] != h.length)
            i++;
        if (i > ncuts)
            __builtin_trap();
    }
    check(f, flen);
    free(f);
    return 0;
}
