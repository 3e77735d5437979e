/* SPDX-License-Identifier: MIT */
/* tls: OpenSSL contexts and the interception policy. Upstream certificates
 * are checked by OpenSSL during the handshake (SSL_VERIFY_NONE only keeps a
 * failure from aborting it), so lucent can still finish the client's
 * handshake and answer with a 502 that says exactly what was wrong. */
#include "core/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/mint.h"
#include "core/buf.h"
#include "core/log.h"

#define REJECTED_MAX 1024
#define LEAF_CACHE 4096
#define SESSIONS_MAX 256
#define VERIFIED_MAX 256
#define VERIFIED_TTL 600 /* seconds a verified chain is trusted without a new check */
#define TLS13_CIPHERS "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"     \
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"       \
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:HIGH:!aNULL:!MD5:!RC4:!3DES"

struct tls {
    SSL_CTX *server;   /* owned */
    SSL_CTX *client;   /* owned */
    struct ca *ca;     /* owned */
    struct mint *mint; /* owned */
    regex_t ignore[OPTS_MAX_IGNORE];
    unsigned nignore;
    bool insecure;
    bool auto_ignore;
    pthread_mutex_t mu;           /* guards rejected[] */
    char *rejected[REJECTED_MAX]; /* owned: "host:port", oldest replaced first */
    size_t nrejected, next_rejected;
    /* upstream sessions to resume, by "host:port" (guarded by mu) */
    struct {
        char *key;         /* owned */
        SSL_SESSION *sess; /* owned reference */
    } sessions[SESSIONS_MAX];
    size_t nsessions, next_session;
    /* digests of certificate chains that verified (guarded by mu): many
     * names share one certificate, and verifying it again costs more than
     * minting a leaf */
    struct {
        unsigned char digest[SHA256_DIGEST_LENGTH];
        time_t until;
    } verified[VERIFIED_MAX];
    size_t nverified, next_verified;
};

static int key_index = -1;   /* SSL ex_data: the "host:port" an upstream SSL is for */
static int owner_index = -1; /* SSL ex_data: the struct tls */

static void free_key(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    free(ptr);
}

/* OpenSSL hands over a session it can resume (TLS 1.3: after the handshake,
 * from a NewSessionTicket): keep the newest per host:port. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct tls *t = SSL_get_ex_data(ssl, owner_index);
    const char *key = SSL_get_ex_data(ssl, key_index);
    if (t == NULL || key == NULL)
        return 0;
    pthread_mutex_lock(&t->mu);
    size_t i;
    for (i = 0; i < t->nsessions; i++)
        if (strcmp(t->sessions[i].key, key) == 0)
            break;
    if (i == t->nsessions) {
        char *k = strdup(key);
        if (k == NULL) {
            pthread_mutex_unlock(&t->mu);
            return 0;
        }
        if (t->nsessions < SESSIONS_MAX) {
            i = t->nsessions++;
        } else {
            i = t->next_session;
            t->next_session = (t->next_session + 1) % SESSIONS_MAX;
            free(t->sessions[i].key);
            SSL_SESSION_free(t->sessions[i].sess);
        }
        t->sessions[i].key = k;
    } else {
        SSL_SESSION_free(t->sessions[i].sess);
    }
    t->sessions[i].sess = sess; /* returning 1 keeps OpenSSL's reference for us */
    pthread_mutex_unlock(&t->mu);
    return 1;
}

/* SHA-256 over the DER of the leaf and the untrusted chain the server sent. */
static int chain_digest(X509 *leaf, STACK_OF(X509) * chain, unsigned char *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = -1, n = chain ? sk_X509_num(chain) : 0;
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto done;
    for (int i = -1; i < n; i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(i < 0 ? leaf : sk_X509_value(chain, i), &der);
        if (len <= 0)
            goto done;
        int ok = EVP_DigestUpdate(md, der, (size_t)len);
        OPENSSL_free(der);
        if (ok != 1)
            goto done;
    }
    if (EVP_DigestFinal_ex(md, out, NULL) == 1)
        rc = 0;
done:
    EVP_MD_CTX_free(md);
    return rc;
}

static bool verified_before(struct tls *t, const unsigned char *d)
{
    bool hit = false;
    time_t now = time(NULL);
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->nverified && !hit; i++)
        hit = t->verified[i].until > now &&
              memcmp(t->verified[i].digest, d, SHA256_DIGEST_LENGTH) == 0;
    pthread_mutex_unlock(&t->mu);
    return hit;
}

static void remember_verified(struct tls *t, const unsigned char *d)
{
    pthread_mutex_lock(&t->mu);
    size_t i = t->nverified < VERIFIED_MAX ? t->nverified++ : t->next_verified;
    if (i == t->next_verified && t->nverified == VERIFIED_MAX)
        t->next_verified = (t->next_verified + 1) % VERIFIED_MAX;
    memcpy(t->verified[i].digest, d, SHA256_DIGEST_LENGTH);
    t->verified[i].until = time(NULL) + VERIFIED_TTL;
    pthread_mutex_unlock(&t->mu);
}

/* The name and validity period still apply to a chain that verified
 * before under another name. */
static bool name_and_time_ok(X509_STORE_CTX *ctx, X509 *leaf)
{
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    const char *host = X509_VERIFY_PARAM_get0_host(param, 0);
    char *ip = X509_VERIFY_PARAM_get1_ip_asc(param);
    bool ok = X509_cmp_current_time(X509_get0_notBefore(leaf)) < 0 &&
              X509_cmp_current_time(X509_get0_notAfter(leaf)) > 0;
    if (ok && host != NULL)
        ok = X509_check_host(leaf, host, 0, X509_VERIFY_PARAM_get_hostflags(param), NULL) == 1;
    else if (ok && ip != NULL)
        ok = X509_check_ip_asc(leaf, ip, 0) == 1;
    else
        ok = false; /* lucent always sets one of them */
    OPENSSL_free(ip);
    return ok;
}

/* Upstream chain verification, with the cache above in front of it. */
static int on_verify(X509_STORE_CTX *ctx, void *arg)
{
    struct tls *t = arg;
    X509 *leaf = X509_STORE_CTX_get0_cert(ctx);
    unsigned char d[SHA256_DIGEST_LENGTH];
    bool have_digest =
        leaf != NULL && chain_digest(leaf, X509_STORE_CTX_get0_untrusted(ctx), d) == 0;

    if (have_digest && verified_before(t, d) && name_and_time_ok(ctx, leaf)) {
        X509_STORE_CTX_set_error(ctx, X509_V_OK);
        return 1;
    }
    int ok = X509_verify_cert(ctx);
    if (ok == 1 && have_digest && X509_STORE_CTX_get_error(ctx) == X509_V_OK)
        remember_verified(t, d);
    ERR_clear_error();
    return ok;
}

/* The client offers protocols; lucent speaks HTTP/1.1 only (for now). */
static int on_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg)
{
    for (unsigned i = 0; i < inlen;) {
        unsigned len = in[i];
        if (i + 1 + len > inlen)
            break;
        if (len == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)len;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    return SSL_TLSEXT_ERR_NOACK; /* no ALPN: HTTP/1.1 by default */
}

/* --keylog: one file for the process; OpenSSL calls back from any worker */
static pthread_mutex_t keylog_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *keylog_fp;

static void on_keylog(const SSL *ssl, const char *line)
{
    (void)ssl;
    pthread_mutex_lock(&keylog_mu);
    if (keylog_fp != NULL) {
        fputs(line, keylog_fp);
        fputc('\n', keylog_fp);
        fflush(keylog_fp); /* a capture tool may read it while lucent runs */
    }
    pthread_mutex_unlock(&keylog_mu);
}

static int open_keylog(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600); /* secrets */
    FILE *fp = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (fp == NULL) {
        snprintf(err, errlen, "--keylog: cannot open %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    pthread_mutex_lock(&keylog_mu);
    if (keylog_fp)
        fclose(keylog_fp);
    keylog_fp = fp;
    pthread_mutex_unlock(&keylog_mu);
    return 0;
}

struct tls *tls_new(const struct opts *o, char *err, size_t errlen)
{
    struct tls *t = calloc(1, sizeof(*t));
    char dir[4096];
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    t->insecure = o->ssl_insecure;
    t->auto_ignore = o->auto_ignore;
    for (unsigned i = 0; i < o->nignore; i++) {
        if (regcomp(&t->ignore[i], o->ignore_hosts[i], REG_EXTENDED | REG_ICASE | REG_NOSUB)) {
            snprintf(err, errlen, "--ignore-hosts: bad pattern '%s'", o->ignore_hosts[i]);
            goto fail;
        }
        t->nignore++;
    }

    if (o->confdir) {
        snprintf(dir, sizeof(dir), "%s", o->confdir);
    } else {
        const char *home = getenv("HOME");
        if (home == NULL || home[0] == '\0') {
            snprintf(err, errlen, "--confdir: $HOME is not set; give a directory");
            goto fail;
        }
        snprintf(dir, sizeof(dir), "%s/.lucent", home);
    }
    t->ca = ca_load_or_create(dir, err, errlen);
    if (t->ca == NULL)
        goto fail;
    t->mint = mint_new(t->ca, LEAF_CACHE, err, errlen);
    if (t->mint == NULL)
        goto fail;

    t->server = SSL_CTX_new(TLS_server_method());
    t->client = SSL_CTX_new(TLS_client_method());
    if (t->server == NULL || t->client == NULL) {
        ca_ssl_err(err, errlen, "cannot create TLS contexts");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(t->server, TLS1_2_VERSION);
    SSL_CTX_set_min_proto_version(t->client, TLS1_2_VERSION);
    /* AES-128-GCM first on both sides (as browsers prefer): every byte is
     * decrypted and encrypted again here, and it is the cheapest strong
     * cipher with AES-NI; lucent picks it as a server, offers it first as a
     * client */
    if (SSL_CTX_set_ciphersuites(t->server, TLS13_CIPHERS) != 1 ||
        SSL_CTX_set_ciphersuites(t->client, TLS13_CIPHERS) != 1 ||
        SSL_CTX_set_cipher_list(t->server, TLS12_CIPHERS) != 1 ||
        SSL_CTX_set_cipher_list(t->client, TLS12_CIPHERS) != 1) {
        ca_ssl_err(err, errlen, "cannot set the TLS cipher preferences");
        goto fail;
    }
    SSL_CTX_set_options(t->server, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (o->keylog) {
        if (open_keylog(o->keylog, err, errlen) < 0)
            goto fail;
        SSL_CTX_set_keylog_callback(t->server, on_keylog);
        SSL_CTX_set_keylog_callback(t->client, on_keylog);
    }
    /* (no read_ahead: libevent 2.1 does not drain what OpenSSL buffered, and
     * responses were cut short) */
    SSL_CTX_set_alpn_select_cb(t->server, on_alpn_select, NULL);
    /* resume upstream sessions (our own small cache, see on_new_session) */
    SSL_CTX_set_session_cache_mode(t->client,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(t->client, on_new_session);
    if (key_index < 0) {
        key_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_key);
        owner_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    }
    SSL_CTX_set_mode(t->server, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_mode(t->client, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(t->client, SSL_VERIFY_NONE, NULL); /* checked in tls_check_upstream */
    SSL_CTX_set_cert_verify_callback(t->client, on_verify, t);
    if (SSL_CTX_set_default_verify_paths(t->client) != 1) {
        ca_ssl_err(err, errlen, "cannot load the system trust store");
        goto fail;
    }
    if (o->upstream_ca && SSL_CTX_load_verify_locations(t->client, o->upstream_ca, NULL) != 1) {
        ca_ssl_err(err, errlen, "--upstream-ca: cannot load CA certificates from %s",
                   o->upstream_ca);
        goto fail;
    }
    ERR_clear_error();
    return t;

fail:
    ERR_clear_error();
    tls_free(t);
    return NULL;
}

void tls_free(struct tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->server);
    SSL_CTX_free(t->client);
    mint_free(t->mint);
    ca_free(t->ca);
    for (unsigned i = 0; i < t->nignore; i++)
        regfree(&t->ignore[i]);
    for (size_t i = 0; i < t->nrejected; i++)
        free(t->rejected[i]);
    for (size_t i = 0; i < t->nsessions; i++) {
        free(t->sessions[i].key);
        SSL_SESSION_free(t->sessions[i].sess);
    }
    pthread_mutex_destroy(&t->mu);
    free(t);
    pthread_mutex_lock(&keylog_mu);
    if (keylog_fp) {
        fclose(keylog_fp);
        keylog_fp = NULL;
    }
    pthread_mutex_unlock(&keylog_mu);
}

const struct ca *tls_ca(const struct tls *t)
{
    return t->ca;
}

int tls_trust_own_ca(struct tls *t, char *err, size_t errlen)
{
    if (X509_STORE_add_cert(SSL_CTX_get_cert_store(t->client), t->ca->cert) != 1) {
        ca_ssl_err(err, errlen, "cannot trust lucent's CA upstream");
        return -1;
    }
    return 0;
}

bool tls_passthrough(struct tls *t, const char *host, uint16_t port, const char **why)
{
    char hp[300];
    snprintf(hp, sizeof(hp), "%s:%u", host, port);
    for (unsigned i = 0; i < t->nignore; i++) {
        if (regexec(&t->ignore[i], hp, 0, NULL, 0) == 0) {
            *why = "--ignore-hosts";
            return true;
        }
    }
    if (!t->auto_ignore)
        return false;
    bool found = false;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->nrejected && !found; i++)
        found = strcmp(t->rejected[i], hp) == 0;
    pthread_mutex_unlock(&t->mu);
    if (found)
        *why = "its client rejected lucent's certificate before";
    return found;
}

void tls_remember_rejected(struct tls *t, const char *host, uint16_t port)
{
    char hp[300];
    if (!t->auto_ignore)
        return;
    snprintf(hp, sizeof(hp), "%s:%u", host, port);
    pthread_mutex_lock(&t->mu);
    bool found = false;
    for (size_t i = 0; i < t->nrejected && !found; i++)
        found = strcmp(t->rejected[i], hp) == 0;
    if (!found) {
        char *copy = strdup(hp);
        if (copy != NULL) {
            if (t->nrejected < REJECTED_MAX) {
                t->rejected[t->nrejected++] = copy;
            } else {
                free(t->rejected[t->next_rejected]);
                t->rejected[t->next_rejected] = copy;
                t->next_rejected = (t->next_rejected + 1) % REJECTED_MAX;
            }
        }
    }
    pthread_mutex_unlock(&t->mu);
}

SSL *tls_server_ssl(struct tls *t, const char *name, const char *const *extra, size_t nextra,
                    char *err, size_t errlen)
{
    X509 *leaf = mint_leaf(t->mint, name, extra, nextra, err, errlen);
    if (leaf == NULL)
        return NULL;
    SSL *ssl = SSL_new(t->server);
    if (ssl == NULL || SSL_use_certificate(ssl, leaf) != 1 ||
        SSL_use_PrivateKey(ssl, mint_key(t->mint)) != 1 ||
        SSL_add1_chain_cert(ssl, t->ca->cert) != 1) {
        ca_ssl_err(err, errlen, "cannot set up the client-side TLS");
        SSL_free(ssl);
        X509_free(leaf);
        return NULL;
    }
    X509_free(leaf); /* the SSL holds its own reference */
    return ssl;
}

static bool is_ip(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

SSL *tls_client_ssl(struct tls *t, const char *host, uint16_t port, const char *sni, char *err,
                    size_t errlen)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    char key[300];
    SSL *ssl = SSL_new(t->client);
    if (ssl == NULL)
        goto fail;
    snprintf(key, sizeof(key), "%s:%u", host, port);
    char *k = strdup(key);
    if (k == NULL || SSL_set_ex_data(ssl, key_index, k) != 1) {
        free(k);
        goto fail;
    }
    SSL_set_ex_data(ssl, owner_index, t);
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->nsessions; i++) {
        if (strcmp(t->sessions[i].key, key) == 0) {
            if (SSL_SESSION_is_resumable(t->sessions[i].sess))
                SSL_set_session(ssl, t->sessions[i].sess);
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (sni != NULL && sni[0] != '\0' && !is_ip(sni) && SSL_set_tlsext_host_name(ssl, sni) != 1)
        goto fail;
    if (SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1) != 0)
        goto fail;
    if (is_ip(host)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1)
            goto fail;
    } else if (SSL_set1_host(ssl, host) != 1) {
        goto fail;
    }
    return ssl;
fail:
    ca_ssl_err(err, errlen, "cannot set up the upstream TLS");
    SSL_free(ssl);
    return NULL;
}

int tls_check_upstream(struct tls *t, SSL *ssl, char *err, size_t errlen)
{
    if (t->insecure)
        return 0;
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (peer == NULL) {
        snprintf(err, errlen, "the server sent no certificate");
        return -1;
    }
    long rc = SSL_get_verify_result(ssl);
    if (rc == X509_V_OK)
        return 0;
    snprintf(err, errlen,
             "upstream certificate rejected: %s (use --upstream-ca FILE to trust "
             "its CA, or --ssl-insecure)",
             X509_verify_cert_error_string(rc));
    return -1;
}

size_t tls_peer_names(SSL *ssl, char **names, size_t max)
{
    X509 *peer = SSL_get0_peer_certificate(ssl);
    size_t n = 0;
    if (peer == NULL)
        return 0;
    GENERAL_NAMES *sans = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans) && n < max; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        char buf[300];
        if (g->type == GEN_DNS) {
            const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
            int len = ASN1_STRING_length(g->d.dNSName);
            if (len <= 0 || len >= (int)sizeof(buf) || memchr(d, '\0', (size_t)len))
                continue;
            memcpy(buf, d, (size_t)len);
            buf[len] = '\0';
        } else if (g->type == GEN_IPADD) {
            int len = ASN1_STRING_length(g->d.iPAddress);
            const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
            if (len == 4)
                inet_ntop(AF_INET, d, buf, sizeof(buf));
            else if (len == 16)
                inet_ntop(AF_INET6, d, buf, sizeof(buf));
            else
                continue;
        } else {
            continue;
        }
        names[n] = strdup(buf);
        if (names[n] != NULL)
            n++;
    }
    GENERAL_NAMES_free(sans);
    return n;
}

void tls_describe(SSL *ssl, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s %s%s", SSL_get_version(ssl), SSL_get_cipher_name(ssl),
             SSL_session_reused(ssl) ? " (resumed)" : "");
}

static void name_line(const X509_NAME *name, char *out, size_t outlen)
{
    BIO *b = BIO_new(BIO_s_mem());
    out[0] = '\0';
    if (b == NULL)
        return;
    X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    int n = BIO_read(b, out, (int)outlen - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

void tls_cert_details(SSL *ssl, bool peer, const char *indent, struct buf *out)
{
    X509 *crt = peer ? SSL_get0_peer_certificate(ssl) : SSL_get_certificate(ssl);
    char subject[256], issuer[256];
    if (crt == NULL) {
        buf_printf(out, "%s(no certificate)\n", indent);
        return;
    }
    name_line(X509_get_subject_name(crt), subject, sizeof(subject));
    name_line(X509_get_issuer_name(crt), issuer, sizeof(issuer));
    buf_printf(out, "%ssubject   %s\n%sissuer    %s\n", indent, subject, indent, issuer);
    GENERAL_NAMES *sans = X509_get_ext_d2i(crt, NID_subject_alt_name, NULL, NULL);
    buf_printf(out, "%sSANs     ", indent);
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans) && i < 20; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type == GEN_DNS)
            buf_printf(out, " DNS:%.*s", ASN1_STRING_length(g->d.dNSName),
                       (const char *)ASN1_STRING_get0_data(g->d.dNSName));
        else if (g->type == GEN_IPADD)
            buf_printf(out, " IP:(%d bytes)", ASN1_STRING_length(g->d.iPAddress));
    }
    GENERAL_NAMES_free(sans);
    buf_putc(out, '\n');
    EVP_PKEY *key = X509_get0_pubkey(crt);
    if (key)
        buf_printf(out, "%skey       %s %d bits\n", indent, EVP_PKEY_get0_type_name(key),
                   EVP_PKEY_get_bits(key));
    BIO *b = BIO_new(BIO_s_mem());
    if (b) {
        char from[64] = "", to[64] = "";
        ASN1_TIME_print(b, X509_get0_notBefore(crt));
        int n = BIO_read(b, from, sizeof(from) - 1);
        from[n > 0 ? n : 0] = '\0';
        ASN1_TIME_print(b, X509_get0_notAfter(crt));
        n = BIO_read(b, to, sizeof(to) - 1);
        to[n > 0 ? n : 0] = '\0';
        BIO_free(b);
        buf_printf(out, "%svalid     %s to %s\n", indent, from, to);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (X509_digest(crt, EVP_sha256(), md, &mdlen) == 1) {
        buf_printf(out, "%sSHA-256   ", indent);
        for (unsigned i = 0; i < mdlen; i++)
            buf_printf(out, "%02X%s", md[i], i + 1 < mdlen ? ":" : "\n");
    }
    ERR_clear_error();
}

void tls_suite_name(SSL *ssl, uint16_t id, char *out, size_t outlen)
{
    unsigned char b[2] = {(unsigned char)(id >> 8), (unsigned char)id};
    const SSL_CIPHER *c = SSL_CIPHER_find(ssl, b);
    const char *n = c ? SSL_CIPHER_standard_name(c) : NULL;
    if (n)
        snprintf(out, outlen, "%s", n);
    else
        snprintf(out, outlen, "0x%04X", id);
}

const char *tls_version_name(uint16_t v)
{
    switch (v) {
    case 0x0304:
        return "TLS 1.3";
    case 0x0303:
        return "TLS 1.2";
    case 0x0302:
        return "TLS 1.1";
    case 0x0301:
        return "TLS 1.0";
    default:
        return "?";
    }
}

void tls_peer_summary(SSL *ssl, char *out, size_t outlen)
{
    X509 *peer = SSL_get0_peer_certificate(ssl);
    char subject[256], issuer[256], from[64] = "", to[64] = "";
    if (peer == NULL) {
        snprintf(out, outlen, "no certificate");
        return;
    }
    name_line(X509_get_subject_name(peer), subject, sizeof(subject));
    name_line(X509_get_issuer_name(peer), issuer, sizeof(issuer));
    BIO *b = BIO_new(BIO_s_mem());
    if (b) {
        ASN1_TIME_print(b, X509_get0_notBefore(peer));
        int n = BIO_read(b, from, sizeof(from) - 1);
        from[n > 0 ? n : 0] = '\0';
        ASN1_TIME_print(b, X509_get0_notAfter(peer));
        n = BIO_read(b, to, sizeof(to) - 1);
        to[n > 0 ? n : 0] = '\0';
        BIO_free(b);
    }
    snprintf(out, outlen, "subject: %s; issuer: %s; valid %s to %s", subject, issuer, from, to);
}
