/* SPDX-License-Identifier: MIT */
/* mint: leaf certificates for intercepted hosts, signed by lucent's CA.
 * One EC P-256 leaf key is made by mint_new() and used for every leaf, so a
 * new leaf costs one signature. Leaves are kept in a cache of at most
 * cache_max entries (least recently used evicted), keyed by the host and
 * its sorted, de-duplicated extra names. Host names are validated before
 * they reach a certificate; DNS names are lower-cased. OpenSSL only. */
#ifndef LUCENT_CA_MINT_H
#define LUCENT_CA_MINT_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "core/attrib.h"

struct mint;

/* One leaf key (EC P-256) generated here, used for every leaf; a cache of at
 * most cache_max leaves (0: no cache). Borrows ca (it must outlive the
 * mint). NULL with err on failure. */
struct mint *mint_new(const struct ca *ca, size_t cache_max, char *err, size_t errlen)
    LC_NONNULL(1, 3) LC_WUR;
void mint_free(struct mint *m);                         /* NULL is fine */
EVP_PKEY *mint_key(const struct mint *m) LC_NONNULL(1); /* borrowed */

/* A leaf for `host` (DNS name, or an IPv4/IPv6 literal without brackets)
 * whose subjectAltName also lists the `extra` names (DNS names, wildcards
 * like "*.x.test", or IP literals; duplicates of host or each other
 * dropped). Names hold only [A-Za-z0-9._*:-], at most 253 characters; '*'
 * only as a whole leftmost label; ':' only in IPv6 literals. From the cache
 * when this host with the same extra names was minted before. Returns a new
 * reference (the caller X509_free()s it), or NULL with err (OpenSSL's error
 * queue drained into it). Thread-safe: a mutex guards the cache; signing
 * happens outside it. extra may be NULL when nextra is 0. */
X509 *mint_leaf(struct mint *m, const char *host, const char *const *extra, size_t nextra,
                char *err, size_t errlen) LC_NONNULL(1, 2) LC_WUR;
size_t mint_cache_len(struct mint *m) LC_NONNULL(1); /* leaves cached now */

#endif
