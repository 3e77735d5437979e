/* SPDX-License-Identifier: MIT */
/* tls: the TLS side of interception. Two OpenSSL contexts: a server context
 * that faces the clients (with a leaf minted per host, see ca/mint.h) and a
 * client context that faces the origins (verified against the system trust
 * store plus --upstream-ca, unless --ssl-insecure). Also the decisions
 * around them: which CONNECT tunnels pass through untouched (--ignore-hosts,
 * and hosts whose clients refused lucent's certificate), and the text of
 * upstream verification failures. Shared by all workers: read-only after
 * tls_new() except the rejected-host memory, which has its own lock. */
#ifndef LUCENT_CORE_TLS_H
#define LUCENT_CORE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include "core/attrib.h"
#include "core/opts.h"

struct ca;
struct mint;
struct tls;

/* Loads or creates the CA in o->confdir and builds both contexts. */
struct tls *tls_new(const struct opts *o, char *err, size_t errlen) LC_NONNULL(1, 2) LC_WUR;
void tls_free(struct tls *t);
const struct ca *tls_ca(const struct tls *t) LC_NONNULL(1);
/* Upstream verification trusts lucent's own CA too: the built-in demo site
 * (core/demo.h) presents a leaf minted from it. Call before the workers
 * start. -1 with err on failure. */
int tls_trust_own_ca(struct tls *t, char *err, size_t errlen) LC_NONNULL(1, 2) LC_WUR;

/* Should the tunnel to host:port (CONNECT host, or SNI) pass through? Sets
 * *why to "ignore-hosts" or "client rejected lucent's certificate before". */
bool tls_passthrough(struct tls *t, const char *host, uint16_t port, const char **why)
    LC_NONNULL(1, 2, 4);
/* Remember that a client refused lucent's certificate for host:port. */
void tls_remember_rejected(struct tls *t, const char *host, uint16_t port) LC_NONNULL(1, 2);

/* An SSL for the client side of an intercepted connection, with a leaf for
 * `name` (SNI, or the CONNECT host) that also carries `extra` SAN names.
 * NULL with err on failure. */
SSL *tls_server_ssl(struct tls *t, const char *name, const char *const *extra, size_t nextra,
                    char *err, size_t errlen) LC_NONNULL(1, 2, 5) LC_WUR;
/* An SSL for the upstream side: SNI `sni` (NULL or an IP: none sent),
 * verification of `host` (name or IP), ALPN http/1.1, and the last session
 * with host:port to resume when there is one. */
SSL *tls_client_ssl(struct tls *t, const char *host, uint16_t port, const char *sni, char *err,
                    size_t errlen) LC_NONNULL(1, 2, 5) LC_WUR;
/* After the upstream handshake: 0 when the certificate is acceptable (or
 * --ssl-insecure), else -1 with the reason ("certificate has expired",
 * "hostname mismatch", ...) in err. */
int tls_check_upstream(struct tls *t, SSL *ssl, char *err, size_t errlen) LC_NONNULL(1, 2, 3);
/* The DNS/IP names of the upstream certificate's subjectAltName, to mirror
 * into the leaf. Returns how many (≤ max); the strings are malloc'ed. */
size_t tls_peer_names(SSL *ssl, char **names, size_t max) LC_NONNULL(1, 2);
/* "TLSv1.3 TLS_AES_128_GCM_SHA256", with " (resumed)" for a resumed session */
void tls_describe(SSL *ssl, char *out, size_t outlen) LC_NONNULL(1, 2);
/* Subject, issuer and validity of the peer certificate, one line. */
void tls_peer_summary(SSL *ssl, char *out, size_t outlen) LC_NONNULL(1, 2);
/* Appends a certificate for the classroom: subject, issuer, SANs, key type,
 * validity and SHA-256 fingerprint, one per line, each line indented by
 * `indent`. `which`: the peer's certificate (upstream) or our own (the leaf
 * lucent showed the client). */
struct buf;
void tls_cert_details(SSL *ssl, bool peer, const char *indent, struct buf *out) LC_NONNULL(1, 3, 4);
/* The standard name of a TLS cipher suite or version number ("TLS_AES_128_GCM_SHA256",
 * "TLSv1.3"), or a hex form when unknown. */
void tls_suite_name(SSL *ssl, uint16_t id, char *out, size_t outlen) LC_NONNULL(1, 3);
const char *tls_version_name(uint16_t v);

#endif
