/* SPDX-License-Identifier: MIT */
/* url: strict parsing of proxy request targets. Hosts are validated to the
 * reg-name / IPv4 / bracketed IPv6 grammar so that nothing odd reaches the
 * resolver or the log; userinfo is refused (RFC 9110 4.2.4). */
#include "core/url.h"

#include "core/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

uint16_t url_default_port(const char *scheme)
{
    if (strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0)
        return 443;
    return 80;
}

static bool is_regname_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int fail(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    return -1;
}

/* host[:port] with the host validated; sets host, ipv6, port (if present). */
static int parse_hostport(const char *s, size_t len, struct url *u, bool port_required, char *err,
                          size_t errlen)
{
    size_t i = 0, hl;
    const char *h;

    if (len == 0)
        return fail(err, errlen, "empty host");
    if (memchr(s, '@', len) != NULL)
        return fail(err, errlen, "userinfo (user@host) is not allowed in a request target");
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return fail(err, errlen, "unterminated IPv6 literal");
        h = s + 1;
        hl = (size_t)(close - h);
        if (hl == 0)
            return fail(err, errlen, "empty IPv6 literal");
        for (size_t k = 0; k < hl; k++)
            if (!isxdigit((unsigned char)h[k]) && h[k] != ':' && h[k] != '.')
                return fail(err, errlen, "invalid character in IPv6 literal");
        u->ipv6 = true;
        i = (size_t)(close - s) + 1;
    } else {
        while (i < len && s[i] != ':')
            i++;
        h = s;
        hl = i;
        if (hl == 0)
            return fail(err, errlen, "empty host");
        for (size_t k = 0; k < hl; k++)
            if (!is_regname_char((unsigned char)h[k]))
                return fail(err, errlen, "invalid character in host");
        u->ipv6 = false;
    }
    if (hl > URL_HOST_MAX)
        return fail(err, errlen, "host name too long");
    for (size_t k = 0; k < hl; k++)
        u->host[k] = (char)tolower((unsigned char)h[k]);
    u->host[hl] = '\0';

    if (i == len) {
        if (port_required)
            return fail(err, errlen, "port missing (expected host:port)");
        u->port_explicit = false;
        return 0;
    }
    if (s[i] != ':')
        return fail(err, errlen, "unexpected character after host");
    i++;
    if (i == len) {
        if (port_required)
            return fail(err, errlen, "port missing (expected host:port)");
        u->port_explicit = false; /* "host:" means the default port */
        return 0;
    }
    unsigned long port = 0;
    for (; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return fail(err, errlen, "invalid port");
        port = port * 10 + (unsigned long)(s[i] - '0');
        if (port > 65535)
            return fail(err, errlen, "port out of range");
    }
    if (port == 0)
        return fail(err, errlen, "port out of range");
    u->port = (uint16_t)port;
    u->port_explicit = true;
    return 0;
}

int url_parse_absolute(const char *s, size_t len, struct url *u, char *err, size_t errlen)
{
    size_t i = 0;

    memset(u, 0, sizeof(*u));
    while (i < len && i < sizeof(u->scheme) && (isalpha((unsigned char)s[i])))
        i++;
    if (i == 0 || i + 3 > len || memcmp(s + i, "://", 3) != 0) {
        if (len > 0 && s[0] == '/')
            return fail(err, errlen,
                        "origin-form request to a proxy: send absolute-form (http://host/path)");
        return fail(err, errlen, "request target is not an absolute URL");
    }
    if (i >= sizeof(u->scheme))
        return fail(err, errlen, "unsupported URL scheme");
    for (size_t k = 0; k < i; k++)
        u->scheme[k] = (char)tolower((unsigned char)s[k]);
    u->scheme[i] = '\0';
    if (strcmp(u->scheme, "http") != 0 && strcmp(u->scheme, "https") != 0)
        return fail(err, errlen, "unsupported URL scheme (only http and https)");

    size_t a = i + 3, e = a;
    while (e < len && s[e] != '/' && s[e] != '?' && s[e] != '#')
        e++;
    if (parse_hostport(s + a, e - a, u, false, err, errlen) < 0)
        return -1;
    if (!u->port_explicit)
        u->port = url_default_port(u->scheme);

    size_t end = e;
    while (end < len && s[end] != '#')
        end++;
    u->path = s + e;
    u->path_len = end - e;
    return 0;
}

int url_parse_authority(const char *s, size_t len, struct url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    if (parse_hostport(s, len, u, true, err, errlen) < 0)
        return -1;
    /* the scheme follows the port only for display */
    snprintf(u->scheme, sizeof(u->scheme), "%s", u->port == 80 ? "http" : "https");
    u->path = s + len;
    u->path_len = 0;
    return 0;
}

size_t url_authority(const struct url *u, bool always_port, char *out, size_t outlen)
{
    int n;
    bool with_port = always_port || u->port != url_default_port(u->scheme);
    if (u->ipv6)
        n = with_port ? snprintf(out, outlen, "[%s]:%u", u->host, (unsigned)u->port)
                      : snprintf(out, outlen, "[%s]", u->host);
    else
        n = with_port ? snprintf(out, outlen, "%s:%u", u->host, (unsigned)u->port)
                      : snprintf(out, outlen, "%s", u->host);
    if (n < 0)
        return 0;
    return (size_t)n < outlen ? (size_t)n : outlen - 1;
}

int url_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void url_unescape(const char *s, size_t len, bool plus_is_space, struct buf *out)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+' && plus_is_space) {
            buf_putc(out, ' ');
        } else if (s[i] == '%' && i + 2 < len && url_hexval(s[i + 1]) >= 0 &&
                   url_hexval(s[i + 2]) >= 0) {
            buf_putc(out, (char)(url_hexval(s[i + 1]) << 4 | url_hexval(s[i + 2])));
            i += 2;
        } else {
            buf_putc(out, s[i]);
        }
    }
}
