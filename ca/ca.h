/* SPDX-License-Identifier: MIT */
/* ca: lucent's local certificate authority, kept in a configuration
 * directory as three files:
 *   lucent-ca.pem       private key (PKCS#8 PEM, unencrypted), then the
 *                       certificate; mode 0600. The only source of truth.
 *   lucent-ca-cert.pem  the certificate alone, PEM; mode 0644.
 *   lucent-ca-cert.cer  the certificate alone, DER; mode 0644.
 * The two certificate files are derived from lucent-ca.pem and rewritten
 * whenever they are missing or differ from it. lucent-ca.pem itself is never
 * replaced or repaired: a file lucent cannot use is an error naming the file
 * and the problem, so a user's CA is never silently swapped for a new one
 * (clients trusting the old one would stop trusting lucent).
 * OpenSSL only; no logging, no globals. */
#ifndef LUCENT_CA_CA_H
#define LUCENT_CA_CA_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/attrib.h"

#define CA_KEY_FILE "lucent-ca.pem"
#define CA_CERT_PEM_FILE "lucent-ca-cert.pem"
#define CA_CERT_DER_FILE "lucent-ca-cert.cer"

struct ca {
    EVP_PKEY *key;        /* owned */
    X509 *cert;           /* owned */
    char fingerprint[96]; /* SHA-256 of the DER cert, "AB:CD:..." upper-case hex with colons */
    char *cert_pem;       /* owned, NUL-terminated: the certificate as PEM */
    size_t cert_pem_len;
    unsigned char *cert_der; /* owned */
    size_t cert_der_len;
    bool created; /* this call created the files */
};

/* Loads lucent's CA from dir, or creates it when dir holds none.
 * dir is created (with its missing parents) mode 0700 when absent; an
 * existing directory is left as it is. A new CA is an EC P-256 key and a
 * self-signed certificate "CN=lucent CA, O=lucent" valid for 10 years.
 * Returns a CA the caller frees with ca_free(), or NULL with the reason in
 * err (the OpenSSL error queue is drained into it, never left behind). */
struct ca *ca_load_or_create(const char *dir, char *err, size_t errlen) LC_NONNULL(1, 2) LC_WUR;
void ca_free(struct ca *ca); /* NULL is fine */
/* Errors for the user, written into err (NULL is fine). ca_err() formats a
 * message complete in itself and empties OpenSSL's error queue; ca_ssl_err()
 * appends the reasons OpenSSL queued (": reason; reason") and empties the
 * queue too, so no stale reason surfaces in a later, unrelated failure. */
void ca_err(char *err, size_t errlen, const char *fmt, ...) LC_PRINTF(3, 4);
void ca_ssl_err(char *err, size_t errlen, const char *fmt, ...) LC_PRINTF(3, 4);
/* Gives crt a random positive non-zero 128-bit serial (CA and leaves). */
int ca_random_serial(X509 *crt) LC_NONNULL(1) LC_WUR;

#endif
