/* SPDX-License-Identifier: MIT */
/* fuzz_url: request targets (absolute-form and CONNECT authority-form).
 * Checks what a parsed result promises: a host of allowed characters, a
 * non-zero port, a path inside the input, an authority that fits. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct url u;
    char err[200], auth[URL_HOST_MAX + 16];

    for (int form = 0; form < 2; form++) {
        int rc = form == 0 ? url_parse_absolute(s, size, &u, err, sizeof(err))
                           : url_parse_authority(s, size, &u, err, sizeof(err));
        if (rc < 0) {
            if (err[0] == '\0')
                __builtin_trap();
            continue;
        }
        if (u.port == 0 || strlen(u.host) == 0 || strlen(u.host) > URL_HOST_MAX)
            __builtin_trap();
        for (const char *h = u.host; *h; h++)
            if (!isalnum((unsigned char)*h) && !strchr("-._~:", *h))
                __builtin_trap();
        if (u.path < s || u.path + u.path_len > s + size)
            __builtin_trap();
        if (memchr(u.path, '#', u.path_len) != NULL)
            __builtin_trap();
        size_t n = url_authority(&u, true, auth, sizeof(auth));
        if (n >= sizeof(auth) || strlen(auth) != n)
            __builtin_trap();
    }
    return 0;
}
