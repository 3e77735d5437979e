/* SPDX-License-Identifier: MIT */
/* json: string escaping with a strict UTF-8 validator (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
#include "core/json.h"

#include <stdint.h>

size_t json_utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void json_str(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    buf_reserve(out, len + 2);
    buf_putc(out, '"');
    while (i < len) {
        unsigned char c = p[i];
        size_t run = i;
        /* copy plain ASCII runs in one go */
        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            buf_append(out, p + i, run - i);
            i = run;
            continue;
        }
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_append(out, e, 2);
            i++;
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            switch (c) {
            case '\n':
                buf_append(out, "\\n", 2);
                break;
            case '\r':
                buf_append(out, "\\r", 2);
                break;
            case '\t':
                buf_append(out, "\\t", 2);
                break;
            default:
                buf_append(out, e, 6);
                break;
            }
            i++;
        } else {
            size_t n = json_utf8_seq(p + i, len - i);
            if (n == 0) {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                buf_append(out, e, 6);
                i++;
            } else {
                buf_append(out, p + i, n);
                i += n;
            }
        }
    }
    buf_putc(out, '"');
}
