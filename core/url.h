/* SPDX-License-Identifier: MIT */
/* url: the request-target forms a forward proxy receives (RFC 9112 3.2):
 * absolute-form ("http://host:port/path?query") and authority-form
 * ("host:port", for CONNECT). Pure: bytes in, parts out. */
#ifndef LUCENT_CORE_URL_H
#define LUCENT_CORE_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"

#define URL_HOST_MAX 255

struct url {
    char scheme[8];              /* lower case: "http", "https" */
    char host[URL_HOST_MAX + 1]; /* lower case; IPv6 literal without brackets */
    uint16_t port;               /* explicit, or the scheme's default */
    bool port_explicit;
    bool ipv6;        /* host is an IPv6 literal */
    const char *path; /* borrowed from the input: path and query, no fragment */
    size_t path_len;  /* 0 means "/" */
};

/* Parses an absolute-form target. On failure returns -1 and a reason. */
int url_parse_absolute(const char *s, size_t len, struct url *u, char *err, size_t errlen)
    LC_NONNULL(1, 3, 4) LC_WUR;
/* Parses "host:port" (port required) as sent with CONNECT. */
int url_parse_authority(const char *s, size_t len, struct url *u, char *err, size_t errlen)
    LC_NONNULL(1, 3, 4) LC_WUR;
/* Writes "host[:port]" (IPv6 bracketed; port omitted when it is the scheme's
 * default and !always_port) into out; returns the length (truncated to
 * outlen - 1). */
size_t url_authority(const struct url *u, bool always_port, char *out, size_t outlen)
    LC_NONNULL(1, 3);
uint16_t url_default_port(const char *scheme) LC_NONNULL(1);

/* The value of a hex digit, or -1. */
int url_hexval(char c);
/* Appends s[0..len) percent-decoded to out; with plus_is_space '+' becomes
 * a space (forms, query strings). A '%' not followed by two hex digits
 * stays as written. */
struct buf;
void url_unescape(const char *s, size_t len, bool plus_is_space, struct buf *out) LC_NONNULL(4);

#endif
