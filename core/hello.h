/* SPDX-License-Identifier: MIT */
/* hello: a pure parser for the TLS ClientHello at the start of a client's
 * byte stream (RFC 8446 4.1.2, RFC 5246 7.4.1.2), so that the proxy can learn
 * the server name (SNI), the offered ALPN protocols and whether TLS 1.3 is on
 * offer before it decides to intercept or tunnel. Bytes in, results out: no
 * libevent, no OpenSSL, no allocation, nothing consumed. It reads only the
 * bytes it is given, never more than HELLO_MAX of them, and does not judge
 * anything the TLS library will check anyway (cipher suites, key shares). */
#ifndef LUCENT_CORE_HELLO_H
#define LUCENT_CORE_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"

/* We never wait for more than this many bytes: a ClientHello whose records
 * (headers included) would end beyond HELLO_MAX is HELLO_BAD, so with len >=
 * HELLO_MAX hello_parse() never answers HELLO_NEED_MORE. */
#define HELLO_MAX 16384

enum hello_rc {
    HELLO_NEED_MORE = 0, /* a ClientHello may be starting: wait for more bytes */
    HELLO_OK,            /* a complete ClientHello was parsed */
    HELLO_NOT_TLS,       /* the bytes are not a TLS handshake record (e.g. plain HTTP) */
    HELLO_BAD,           /* TLS record framing, but a malformed or oversized ClientHello */
};

struct hello {
    /* server_name host_name, lower-cased, one trailing dot removed; "" when
     * absent. Only the characters [a-z0-9.-_] are let through; the name is
     * not otherwise checked, so an IP literal such as "127.0.0.1" (which RFC
     * 6066 forbids as a host_name) passes: callers that care must check. */
    char sni[256];
    /* protocols, comma-separated in offered order ("h2,http/1.1"); "" when
     * absent. Every name is validated; names that would not fit whole are
     * left out, with all that follow them (the list is cut, never a name).
     * GREASE identifiers (RFC 8701: two equal bytes 0x?A) are skipped. */
    char alpn[256];
    uint16_t version; /* legacy_version of the ClientHello (0x0303 for TLS 1.2/1.3) */
    /* what an eavesdropper reads in clear: the offered cipher suites and
     * versions (supported_versions), in order, GREASE values skipped, the
     * first HELLO_MAX_LIST of each */
#define HELLO_MAX_LIST 48
    uint16_t ciphers[HELLO_MAX_LIST];
    uint16_t versions[HELLO_MAX_LIST];
    uint8_t nciphers, nversions;
    bool tls13;       /* supported_versions lists 0x0304 */
    size_t length;    /* bytes of the records that carried the ClientHello */
};

/* Parses the start of a client's byte stream, p[0..len): one or more TLS
 * handshake records carrying exactly one ClientHello, which must end where
 * its last record ends. Bytes after that record are not looked at (length
 * says where the hello ends). Reads only p[0..len) and never keeps p.
 *
 * HELLO_NEED_MORE: len == 0, or the bytes so far are a valid prefix (some
 * invalid prefixes too: a field is judged once it has arrived whole).
 * HELLO_NOT_TLS: decided by p[0] (not 0x16, handshake) or p[1] (not 3).
 * HELLO_BAD: anything else that is not a well-formed ClientHello, including
 * one that would need more than HELLO_MAX bytes; decided as early as the
 * bytes allow. *h is always written; it is meaningful only on HELLO_OK. */
enum hello_rc hello_parse(const unsigned char *p, size_t len, struct hello *h)
    LC_NONNULL(1, 3) LC_WUR;

#endif
