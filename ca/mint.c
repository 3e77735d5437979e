/* SPDX-License-Identifier: MIT */
/* mint: per-host leaf certificates and their cache. A leaf is the shared
 * leaf key, a random serial, the host's names and five extensions that are
 * the same for every leaf (made once by mint_new()), signed by the CA.
 * Names are validated and put in canonical form (DNS names lower-cased, IP
 * literals re-printed by inet_ntop) before anything else, and the
 * subjectAltName is built from GENERAL_NAME objects, never from a string
 * OpenSSL would parse, so no name can smuggle in another entry.
 * The cache is a chained hash table (random seed) threaded on an LRU list;
 * one mutex guards both and is never held while signing, so workers minting
 * different hosts do not wait for each other. Objects shared between
 * threads (CA key and cert, leaf key, issuer name, extension templates) are
 * only read after mint_new(). Must not: log, abort on bad input, hold the
 * lock across OpenSSL signing, leave entries in OpenSSL's error queue. */
#include "ca/mint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

enum {
    MINT_NAME_MAX = 253,            /* longest DNS name */
    MINT_LABEL_MAX = 63,            /* longest DNS label */
    MINT_CN_MAX = 63,               /* ub-common-name: longer hosts get no CN */
    MINT_STACK_NAMES = 8,           /* host + extras handled without malloc */
    MINT_BACKDATE_SECS = 2 * 86400, /* tolerate clients whose clock is behind */
    MINT_VALID_DAYS = 365,          /* total validity 367 days <= 397 (CA/B) */
    MINT_RENEW_SECS = 86400,        /* a cached leaf this close to expiry is re-minted */
    MINT_BUCKETS_MAX = 1 << 20,
    MINT_EXT_COUNT = 5,
};

struct leaf {
    struct leaf *hnext;       /* hash chain */
    struct leaf *prev, *next; /* LRU list, most recently used first */
    X509 *cert;               /* owned: one reference */
    time_t renew_at;          /* re-mint from then on */
    uint64_t hash;
    size_t keylen;
    char key[]; /* host "\0" sorted extras, each "\0"-terminated */
};

struct mint {
    const struct ca *ca;                  /* borrowed */
    EVP_PKEY *key;                        /* owned: every leaf's key */
    const EVP_MD *md;                     /* NULL: the CA key has its own (Ed25519) */
    X509_NAME *issuer;                    /* owned: the CA's subject, encoding settled */
    X509_EXTENSION *exts[MINT_EXT_COUNT]; /* owned: the same in every leaf */
    uint64_t seed;
    size_t cache_max;
    pthread_mutex_t lock;     /* guards everything below */
    struct leaf **buckets;    /* owned; NULL when cache_max is 0 */
    size_t nbuckets;          /* a power of two */
    struct leaf *head, *tail; /* LRU list; entries owned */
    size_t len;
};

/* The canonical names of one request: v[0] is the host, then the extras
 * sorted and without duplicates. */
struct names {
    char stack[MINT_STACK_NAMES][MINT_NAME_MAX + 1];
    const char *stack_v[MINT_STACK_NAMES];
    char (*buf)[MINT_NAME_MAX + 1]; /* stack or owned */
    const char **v;                 /* stack_v or owned */
    size_t n;
    char *key; /* owned: v joined with NULs */
    size_t keylen;
};

/* A name fit for an error message: at most 64 characters, anything outside
 * printable ASCII (or a quote) shown as '?'. */
static const char *printable(const char *name, char *out, size_t outlen)
{
    size_t i = 0;

    for (; name[i] != '\0' && i + 4 < outlen && i < 64; i++)
        out[i] = name[i] > 0x20 && name[i] < 0x7f && name[i] != '"' ? name[i] : '?';
    if (name[i] != '\0') {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* ---- names -------------------------------------------------------------- */

static bool name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == '*' || c == ':';
}

/* Validates name and writes its canonical form into out: IP literals as
 * inet_ntop prints them, DNS names lower-cased without a trailing dot.
 * Returns 0, or -1 with err. */
static int canon_name(const char *name, char out[MINT_NAME_MAX + 1], char *err, size_t errlen)
{
    unsigned char addr[sizeof(struct in6_addr)];
    char shown[80];
    const char *why = NULL;
    size_t len = strnlen(name, MINT_NAME_MAX + 1);
    bool colon = false;

    if (len == 0)
        why = "empty";
    else if (len > MINT_NAME_MAX)
        why = "longer than 253 characters";
    for (size_t i = 0; why == NULL && i < len; i++) {
        if (!name_char_ok((unsigned char)name[i]))
            why = "character not allowed in a host name";
        colon = colon || name[i] == ':';
    }
    if (why != NULL)
        goto bad;

    if (inet_pton(AF_INET6, name, addr) == 1) {
        if (inet_ntop(AF_INET6, addr, out, MINT_NAME_MAX + 1) == NULL)
            goto bad_ip;
        return 0;
    }
    if (colon) {
        why = "':' outside an IPv6 address";
        goto bad;
    }
    if (inet_pton(AF_INET, name, addr) == 1) {
        if (inet_ntop(AF_INET, addr, out, MINT_NAME_MAX + 1) == NULL)
            goto bad_ip;
        return 0;
    }

    /* a DNS name: non-empty labels, '*' only as a whole leftmost label */
    if (name[len - 1] == '.')
        len--;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? name[i] : '.';
        if (c == '.') {
            if (label == 0)
                why = "empty label";
            else if (label > MINT_LABEL_MAX)
                why = "label longer than 63 characters";
            label = 0;
        } else {
            if (c == '*' && (i != 0 || len < 3 || name[1] != '.'))
                why = "'*' that is not a whole leftmost label";
            label++;
        }
        if (why != NULL)
            goto bad;
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[len] = '\0';
    return 0;

bad_ip:
    why = "unprintable IP address";
bad:
    ca_err(err, errlen, "invalid host name \"%s\": %s", printable(name, shown, sizeof(shown)), why);
    return -1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void names_free(struct names *nm)
{
    if (nm->buf != nm->stack)
        free(nm->buf);
    if (nm->v != nm->stack_v)
        free(nm->v);
    free(nm->key);
}

/* Canonical host and extras of one request, and the cache key they make. */
static int names_init(struct names *nm, const char *host, const char *const *extra, size_t nextra,
                      char *err, size_t errlen)
{
    size_t n = 1, keylen = 0;

    nm->buf = nm->stack;
    nm->v = nm->stack_v;
    nm->key = NULL;
    nm->n = 0;
    if (nextra >= MINT_STACK_NAMES) {
        if (nextra > SIZE_MAX / sizeof(*nm->buf) - 1) {
            ca_err(err, errlen, "too many names");
            return -1;
        }
        nm->buf = malloc((nextra + 1) * sizeof(*nm->buf));
        nm->v = malloc((nextra + 1) * sizeof(*nm->v));
        if (nm->buf == NULL || nm->v == NULL)
            goto oom;
    }
    if (canon_name(host, nm->buf[0], err, errlen) < 0)
        return -1;
    nm->v[0] = nm->buf[0];
    for (size_t i = 0; i < nextra; i++) {
        if (extra[i] == NULL) {
            ca_err(err, errlen, "invalid host name: NULL");
            return -1;
        }
        if (canon_name(extra[i], nm->buf[n], err, errlen) < 0)
            return -1;
        nm->v[n] = nm->buf[n];
        n++;
    }
    qsort(nm->v + 1, n - 1, sizeof(*nm->v), cmp_names);
    nm->n = 1;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(nm->v[i], nm->v[0]) == 0 ||
            (nm->n > 1 && strcmp(nm->v[i], nm->v[nm->n - 1]) == 0))
            continue;
        nm->v[nm->n++] = nm->v[i];
    }
    for (size_t i = 0; i < nm->n; i++)
        keylen += strlen(nm->v[i]) + 1;
    nm->key = malloc(keylen);
    if (nm->key == NULL)
        goto oom;
    nm->keylen = 0;
    for (size_t i = 0; i < nm->n; i++) {
        size_t l = strlen(nm->v[i]) + 1;
        memcpy(nm->key + nm->keylen, nm->v[i], l);
        nm->keylen += l;
    }
    return 0;

oom:
    ca_err(err, errlen, "out of memory");
    return -1;
}

/* ---- minting ------------------------------------------------------------ */

static int set_subject(X509 *crt, const char *host)
{
    X509_NAME *name = X509_get_subject_name(crt);

    if (strlen(host) <= MINT_CN_MAX &&
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)host, -1, -1,
                                    0))
        return -1;
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"lucent", -1,
                                    -1, 0))
        return -1;
    return 0;
}

/* A GEN_IPADD for an IP literal, else a GEN_DNS, for a canonical name. */
static GENERAL_NAME *general_name(const char *name)
{
    unsigned char addr[sizeof(struct in6_addr)];
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_STRING *s = NULL;
    int alen = 0;

    if (gn == NULL)
        return NULL;
    if (inet_pton(AF_INET, name, addr) == 1)
        alen = 4;
    else if (inet_pton(AF_INET6, name, addr) == 1)
        alen = 16;
    if (alen > 0) {
        s = ASN1_OCTET_STRING_new();
        if (s == NULL || !ASN1_OCTET_STRING_set(s, addr, alen))
            goto fail;
        GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
    } else {
        s = ASN1_IA5STRING_new();
        if (s == NULL || !ASN1_STRING_set(s, name, -1))
            goto fail;
        GENERAL_NAME_set0_value(gn, GEN_DNS, s);
    }
    return gn;

fail:
    ASN1_STRING_free(s);
    GENERAL_NAME_free(gn);
    return NULL;
}

/* subjectAltName from canonical names, as objects: nothing is parsed. */
static int add_san(X509 *crt, const struct names *nm)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_reserve(NULL, (int)nm->n);
    int rc = -1;

    if (gens == NULL)
        return -1;
    for (size_t i = 0; i < nm->n; i++) {
        GENERAL_NAME *gn = general_name(nm->v[i]);
        if (gn == NULL || !sk_GENERAL_NAME_push(gens, gn)) {
            GENERAL_NAME_free(gn);
            goto done;
        }
    }
    if (X509_add1_ext_i2d(crt, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1)
        rc = 0;
done:
    GENERAL_NAMES_free(gens);
    return rc;
}

/* A new leaf for nm, signed by the CA. */
static X509 *mint_one(struct mint *m, const struct names *nm, char *err, size_t errlen)
{
    X509 *crt = X509_new();

    if (crt == NULL || !X509_set_version(crt, X509_VERSION_3) || ca_random_serial(crt) < 0 ||
        !X509_set_issuer_name(crt, m->issuer) || set_subject(crt, nm->v[0]) < 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(crt), -(long)MINT_BACKDATE_SECS) ||
        !X509_time_adj_ex(X509_getm_notAfter(crt), MINT_VALID_DAYS, 0, NULL) ||
        !X509_set_pubkey(crt, m->key) || add_san(crt, nm) < 0)
        goto fail;
    for (size_t i = 0; i < MINT_EXT_COUNT; i++)
        if (!X509_add_ext(crt, m->exts[i], -1))
            goto fail;
    if (X509_sign(crt, m->ca->key, m->md) == 0)
        goto fail;
    /* fill OpenSSL's lazily computed extension cache now, while the leaf
     * is still private to this thread */
    X509_check_purpose(crt, -1, 0);
    return crt;

fail:
    ca_ssl_err(err, errlen, "cannot mint a certificate for %s", nm->v[0]);
    X509_free(crt);
    return NULL;
}

/* ---- cache -------------------------------------------------------------- */

static uint64_t hash_key(uint64_t seed, const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed; /* FNV-1a, seeded */

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33; /* murmur3 finaliser: spread the bits we mask */
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* Caller holds the lock. */
static struct leaf *cache_find(struct mint *m, uint64_t hash, const char *key, size_t keylen)
{
    for (struct leaf *e = m->buckets[hash & (m->nbuckets - 1)]; e != NULL; e = e->hnext)
        if (e->hash == hash && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
            return e;
    return NULL;
}

static void lru_unlink(struct mint *m, struct leaf *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        m->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        m->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(struct mint *m, struct leaf *e)
{
    e->prev = NULL;
    e->next = m->head;
    if (m->head != NULL)
        m->head->prev = e;
    m->head = e;
    if (m->tail == NULL)
        m->tail = e;
}

/* Unlinks e from its chain and the LRU list; the caller frees it. */
static void cache_remove(struct mint *m, struct leaf *e)
{
    struct leaf **pp = &m->buckets[e->hash & (m->nbuckets - 1)];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(m, e);
    m->len--;
}

static void leaf_free(struct leaf *e)
{
    if (e == NULL)
        return;
    X509_free(e->cert);
    free(e);
}

/* ---- API ---------------------------------------------------------------- */

/* The leaf key. On OpenSSL 3.0, X509_set_pubkey() with a provider-native EC
 * key encodes it and decodes it again (about 190 us, most of the cost of a
 * leaf); with a key built on an EC_KEY it copies the encoding (about 5 us).
 * EC_KEY is deprecated but present in every 3.x; where it is compiled out,
 * the provider-native key still works, only slower. */
static EVP_PKEY *make_leaf_key(void)
{
#ifndef OPENSSL_NO_DEPRECATED_3_0
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    EVP_PKEY *pk = EVP_PKEY_new();

    if (ec != NULL && pk != NULL && EC_KEY_generate_key(ec) && EVP_PKEY_assign_EC_KEY(pk, ec))
        return pk;
    EC_KEY_free(ec);
    EVP_PKEY_free(pk);
    ERR_clear_error();
#pragma GCC diagnostic pop
#endif
    return EVP_EC_gen("P-256");
}

static X509_EXTENSION *make_ext(X509V3_CTX *ctx, int nid, const char *value)
{
    return X509V3_EXT_conf_nid(NULL, ctx, nid, value);
}

struct mint *mint_new(const struct ca *ca, size_t cache_max, char *err, size_t errlen)
{
    struct mint *m = NULL;
    X509 *tmpl = NULL;
    X509V3_CTX v3;
    int nid = NID_undef;

    if (errlen > 0)
        err[0] = '\0';
    ERR_set_mark();
    if (ca->key == NULL || ca->cert == NULL) {
        ca_err(err, errlen, "cannot make leaf certificates: no CA");
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        ca_err(err, errlen, "out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        ca_err(err, errlen, "cannot create the leaf cache lock");
        free(m);
        return NULL;
    }
    m->ca = ca;
    m->cache_max = cache_max;
    m->md = EVP_sha256();
    /* a key type with a fixed digest (Ed25519 in a user-made CA) wants NULL */
    if (EVP_PKEY_get_default_digest_nid(ca->key, &nid) == 2 && nid == NID_undef)
        m->md = NULL;
    if (RAND_bytes((unsigned char *)&m->seed, sizeof(m->seed)) != 1) {
        ca_ssl_err(err, errlen, "cannot seed the leaf cache");
        goto fail;
    }
    m->key = make_leaf_key();
    if (m->key == NULL) {
        ca_ssl_err(err, errlen, "cannot generate the leaf key");
        goto fail;
    }
    /* the issuer name is copied into every leaf: settle its encoding now
     * so that those copies only ever read it */
    m->issuer = X509_NAME_dup(X509_get_subject_name(ca->cert));
    if (m->issuer == NULL || i2d_X509_NAME(m->issuer, NULL) <= 0) {
        ca_ssl_err(err, errlen, "cannot copy the CA name");
        goto fail;
    }
    /* the key identifiers depend only on the leaf key and the CA */
    tmpl = X509_new();
    if (tmpl == NULL || !X509_set_pubkey(tmpl, m->key)) {
        ca_ssl_err(err, errlen, "cannot prepare leaf extensions");
        goto fail;
    }
    X509V3_set_ctx(&v3, ca->cert, tmpl, NULL, NULL, 0);
    m->exts[0] = make_ext(&v3, NID_basic_constraints, "critical,CA:FALSE");
    m->exts[1] = make_ext(&v3, NID_key_usage, "critical,digitalSignature");
    m->exts[2] = make_ext(&v3, NID_ext_key_usage, "serverAuth");
    m->exts[3] = make_ext(&v3, NID_subject_key_identifier, "hash");
    m->exts[4] = make_ext(&v3, NID_authority_key_identifier, "keyid");
    for (size_t i = 0; i < MINT_EXT_COUNT; i++) {
        if (m->exts[i] == NULL) {
            ca_ssl_err(err, errlen, "cannot prepare leaf extensions");
            goto fail;
        }
    }
    if (cache_max > 0) {
        m->nbuckets = 16;
        while (m->nbuckets < cache_max && m->nbuckets < MINT_BUCKETS_MAX)
            m->nbuckets *= 2;
        m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
        if (m->buckets == NULL) {
            ca_err(err, errlen, "out of memory");
            goto fail;
        }
    }
    X509_free(tmpl);
    ERR_pop_to_mark();
    return m;

fail:
    X509_free(tmpl);
    mint_free(m);
    ERR_clear_error();
    return NULL;
}

void mint_free(struct mint *m)
{
    if (m == NULL)
        return;
    for (struct leaf *e = m->head, *next; e != NULL; e = next) {
        next = e->next;
        leaf_free(e);
    }
    free(m->buckets);
    for (size_t i = 0; i < MINT_EXT_COUNT; i++)
        X509_EXTENSION_free(m->exts[i]);
    X509_NAME_free(m->issuer);
    EVP_PKEY_free(m->key);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

EVP_PKEY *mint_key(const struct mint *m)
{
    return m->key;
}

size_t mint_cache_len(struct mint *m)
{
    size_t len;

    pthread_mutex_lock(&m->lock);
    len = m->len;
    pthread_mutex_unlock(&m->lock);
    return len;
}

X509 *mint_leaf(struct mint *m, const char *host, const char *const *extra, size_t nextra,
                char *err, size_t errlen)
{
    struct leaf *e, *fresh = NULL, *evicted = NULL;
    X509 *crt = NULL, *spare = NULL;
    struct names nm;
    uint64_t hash = 0;
    time_t now = time(NULL);

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (nextra > 0 && extra == NULL) {
        ca_err(err, errlen, "extra names missing");
        return NULL;
    }
    if (names_init(&nm, host, extra, nextra, err, errlen) < 0)
        goto done;

    if (m->cache_max > 0) {
        hash = hash_key(m->seed, nm.key, nm.keylen);
        pthread_mutex_lock(&m->lock);
        e = cache_find(m, hash, nm.key, nm.keylen);
        if (e != NULL && now < e->renew_at) {
            lru_unlink(m, e);
            lru_push_front(m, e);
            crt = e->cert;
            X509_up_ref(crt);
        }
        pthread_mutex_unlock(&m->lock);
        if (crt != NULL)
            goto done;
    }

    ERR_set_mark();
    crt = mint_one(m, &nm, err, errlen);
    if (crt == NULL)
        goto done; /* the queue was drained into err, mark included */
    ERR_pop_to_mark();
    if (m->cache_max == 0)
        goto done;

    fresh = malloc(sizeof(*fresh) + nm.keylen);
    if (fresh == NULL)
        goto done; /* still a good leaf, just not cached */
    memset(fresh, 0, sizeof(*fresh));
    fresh->hash = hash;
    fresh->keylen = nm.keylen;
    memcpy(fresh->key, nm.key, nm.keylen);
    fresh->cert = crt;
    X509_up_ref(crt);
    fresh->renew_at = now + (time_t)MINT_VALID_DAYS * 86400 - MINT_RENEW_SECS;

    pthread_mutex_lock(&m->lock);
    e = cache_find(m, hash, nm.key, nm.keylen);
    if (e != NULL && now < e->renew_at) {
        /* another thread minted this one meanwhile: hand out the same */
        lru_unlink(m, e);
        lru_push_front(m, e);
        spare = crt;
        crt = e->cert;
        X509_up_ref(crt);
    } else {
        if (e != NULL) {
            cache_remove(m, e);
            evicted = e;
        } else if (m->len >= m->cache_max) {
            evicted = m->tail;
            cache_remove(m, evicted);
        }
        struct leaf **b = &m->buckets[hash & (m->nbuckets - 1)];
        fresh->hnext = *b;
        *b = fresh;
        lru_push_front(m, fresh);
        m->len++;
        fresh = NULL;
    }
    pthread_mutex_unlock(&m->lock);

done:
    /* frees happen outside the lock */
    leaf_free(fresh);
    leaf_free(evicted);
    X509_free(spare);
    names_free(&nm);
    return crt;
}
