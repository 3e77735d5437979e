/* SPDX-License-Identifier: MIT */
/* Unit tests of ca/mint: leaf certificates as a TLS client would check them
 * (X509_verify_cert against the CA, purpose sslserver, strict mode, with the
 * expected host or IP), name validation, the LRU cache, and concurrent use.
 * The CA lives in a mkdtemp() directory removed at the end. */
#include <arpa/inet.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "ca/mint.h"
#include "check.h"

/* ---- helpers ------------------------------------------------------------ */

static char base[256];
static struct ca *ca;
static X509_STORE *store; /* trusts ca->cert only */

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            char sub[1024];
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
        if (d != NULL)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* X509_verify_cert as a TLS client does it: chain to the CA, purpose
 * sslserver, strict checks, and the name (host, or IP literal when ip).
 * Returns the X509_V_* result (X509_V_OK when good). Thread-safe. */
static int verify(X509 *leaf, const char *name, bool ip)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = -1;

    if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, leaf, NULL))
        goto done;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    if (name != NULL && !ip)
        X509_VERIFY_PARAM_set1_host(param, name, 0);
    if (name != NULL && ip)
        X509_VERIFY_PARAM_set1_ip_asc(param, name);
    rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    if (rc == -1)
        rc = X509_V_ERR_UNSPECIFIED;
done:
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

static bool same_serial(X509 *a, X509 *b)
{
    return a != NULL && b != NULL &&
           ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)) == 0;
}

static GENERAL_NAMES *sans(X509 *c)
{
    return X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
}

/* Index-th subjectAltName as "DNS:x" or "IP:y" into out. */
static const char *san_at(X509 *c, int index, char *out, size_t outlen)
{
    GENERAL_NAMES *g = sans(c);
    out[0] = '\0';
    if (g != NULL && index < sk_GENERAL_NAME_num(g)) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, index);
        if (gn->type == GEN_DNS) {
            snprintf(out, outlen, "DNS:%.*s", ASN1_STRING_length(gn->d.dNSName),
                     (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
        } else if (gn->type == GEN_IPADD) {
            char ip[INET6_ADDRSTRLEN] = "?";
            int len = ASN1_STRING_length(gn->d.iPAddress);
            if (len == 4 || len == 16)
                inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(gn->d.iPAddress), ip,
                          sizeof(ip));
            snprintf(out, outlen, "IP:%s", ip);
        }
    }
    GENERAL_NAMES_free(g);
    return out;
}

static int san_count(X509 *c)
{
    GENERAL_NAMES *g = sans(c);
    int n = g != NULL ? sk_GENERAL_NAME_num(g) : -1;
    GENERAL_NAMES_free(g);
    return n;
}

/* The subject CN, or "" when there is none. */
static const char *cn_of(X509 *c, char *out, int outlen)
{
    out[0] = '\0';
    X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, out, outlen);
    return out;
}

static X509 *leaf(struct mint *m, const char *host, const char *const *extra, size_t nextra)
{
    char err[256] = "";
    X509 *c = mint_leaf(m, host, extra, nextra, err, sizeof(err));
    if (c == NULL)
        fprintf(stderr, "    mint_leaf(%s): %s\n", host, err);
    CHECK_EQ_INT(ERR_peek_error(), 0);
    return c;
}

/* ---- tests -------------------------------------------------------------- */

static void test_dns_leaf(void)
{
    char err[256], buf[300];
    struct mint *m = mint_new(ca, 100, err, sizeof(err));
    if (!CHECK(m != NULL))
        return;
    CHECK(mint_key(m) != NULL);
    CHECK_EQ_INT(EVP_PKEY_get_base_id(mint_key(m)), EVP_PKEY_EC);
    CHECK_EQ_INT(EVP_PKEY_get_bits(mint_key(m)), 256);
    CHECK_EQ_INT(mint_cache_len(m), 0);

    X509 *a = leaf(m, "a.test", NULL, 0);
    if (!CHECK(a != NULL)) {
        mint_free(m);
        return;
    }
    CHECK_EQ_INT(verify(a, "a.test", false), X509_V_OK);
    CHECK_EQ_INT(verify(a, "b.test", false), X509_V_ERR_HOSTNAME_MISMATCH);
    CHECK_EQ_INT(X509_check_host(a, "a.test", 0, 0, NULL), 1);
    CHECK(X509_check_host(a, "b.test", 0, 0, NULL) != 1);
    CHECK(X509_check_host(a, "x.a.test", 0, 0, NULL) != 1);
    CHECK_EQ_INT(X509_get_version(a), X509_VERSION_3);
    CHECK_EQ_INT(X509_check_ca(a), 0);
    CHECK(X509_get_extended_key_usage(a) & XKU_SSL_SERVER);
    CHECK(X509_get_key_usage(a) & KU_DIGITAL_SIGNATURE);
    CHECK(!(X509_get_key_usage(a) & KU_KEY_CERT_SIGN));
    int i = X509_get_ext_by_NID(a, NID_key_usage, -1);
    CHECK(i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(a, i)));
    i = X509_get_ext_by_NID(a, NID_basic_constraints, -1);
    CHECK(i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(a, i)));
    i = X509_get_ext_by_NID(a, NID_subject_alt_name, -1);
    CHECK(i >= 0 && !X509_EXTENSION_get_critical(X509_get_ext(a, i)));
    CHECK(X509_get0_subject_key_id(a) != NULL);
    const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(a);
    const ASN1_OCTET_STRING *ca_skid = X509_get0_subject_key_id(ca->cert);
    CHECK(akid != NULL && ca_skid != NULL && ASN1_OCTET_STRING_cmp(akid, ca_skid) == 0);
    CHECK_EQ_INT(X509_NAME_cmp(X509_get_issuer_name(a), X509_get_subject_name(ca->cert)), 0);
    CHECK_EQ_STR(cn_of(a, buf, sizeof(buf)), "a.test");
    X509_NAME_oneline(X509_get_subject_name(a), buf, sizeof(buf));
    CHECK_EQ_STR(buf, "/CN=a.test/O=lucent");
    CHECK_EQ_INT(san_count(a), 1);
    CHECK_EQ_STR(san_at(a, 0, buf, sizeof(buf)), "DNS:a.test");
    CHECK_EQ_INT(X509_get_signature_nid(a), NID_ecdsa_with_SHA256);
    CHECK_EQ_INT(X509_verify(a, X509_get0_pubkey(ca->cert)), 1);

    /* validity */
    int days = 0, secs = 0;
    CHECK(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(a), X509_get0_notAfter(a)));
    CHECK(days < 397 || (days == 397 && secs == 0));
    CHECK(days >= 300);
    CHECK(X509_cmp_current_time(X509_get0_notBefore(a)) < 0);
    CHECK(X509_cmp_current_time(X509_get0_notAfter(a)) > 0);

    /* the public key is the shared leaf key */
    CHECK_EQ_INT(EVP_PKEY_eq(X509_get0_pubkey(a), mint_key(m)), 1);

    /* serial: positive, up to 128 bits, random */
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(a), NULL);
    CHECK(bn != NULL && !BN_is_negative(bn) && !BN_is_zero(bn) && BN_num_bits(bn) <= 128 &&
          BN_num_bits(bn) > 64);
    BN_free(bn);
    CHECK_EQ_INT(mint_cache_len(m), 1);

    /* cached: the same certificate, counted once */
    X509 *a2 = leaf(m, "a.test", NULL, 0);
    CHECK(same_serial(a, a2));
    CHECK(a2 == a);
    CHECK_EQ_INT(mint_cache_len(m), 1);
    /* canonical forms hit the same entry */
    X509 *a3 = leaf(m, "A.Test", NULL, 0);
    CHECK(same_serial(a, a3));
    X509 *a4 = leaf(m, "a.test.", NULL, 0);
    CHECK(same_serial(a, a4));
    CHECK_EQ_INT(mint_cache_len(m), 1);

    X509 *b = leaf(m, "b.test", NULL, 0);
    CHECK(b != NULL && !same_serial(a, b));
    CHECK_EQ_INT(mint_cache_len(m), 2);
    CHECK_EQ_INT(verify(b, "b.test", false), X509_V_OK);
    CHECK(X509_check_host(b, "a.test", 0, 0, NULL) != 1);

    X509_free(a);
    X509_free(a2);
    X509_free(a3);
    X509_free(a4);
    X509_free(b);

    /* a leaf stays valid after its mint is gone (the caller holds a ref) */
    X509 *kept = leaf(m, "kept.test", NULL, 0);
    mint_free(m);
    if (CHECK(kept != NULL))
        CHECK_EQ_INT(verify(kept, "kept.test", false), X509_V_OK);
    X509_free(kept);
    mint_free(NULL);
}

static void test_ip_leaf(void)
{
    char err[256], buf[300];
    struct mint *m = mint_new(ca, 100, err, sizeof(err));
    if (!CHECK(m != NULL))
        return;

    X509 *v4 = leaf(m, "127.0.0.1", NULL, 0);
    if (CHECK(v4 != NULL)) {
        CHECK_EQ_INT(X509_check_ip_asc(v4, "127.0.0.1", 0), 1);
        CHECK(X509_check_ip_asc(v4, "127.0.0.2", 0) != 1);
        CHECK_EQ_INT(verify(v4, "127.0.0.1", true), X509_V_OK);
        CHECK_EQ_STR(san_at(v4, 0, buf, sizeof(buf)), "IP:127.0.0.1");
        CHECK_EQ_STR(cn_of(v4, buf, sizeof(buf)), "127.0.0.1");
    }
    X509 *v6 = leaf(m, "::1", NULL, 0);
    if (CHECK(v6 != NULL)) {
        CHECK_EQ_INT(X509_check_ip_asc(v6, "::1", 0), 1);
        CHECK_EQ_INT(X509_check_ip_asc(v6, "0:0:0:0:0:0:0:1", 0), 1);
        CHECK(X509_check_ip_asc(v6, "127.0.0.1", 0) != 1);
        CHECK_EQ_INT(verify(v6, "::1", true), X509_V_OK);
        CHECK_EQ_STR(san_at(v6, 0, buf, sizeof(buf)), "IP:::1");
    }
    /* another spelling of ::1 is the same leaf */
    X509 *v6b = leaf(m, "0:0::1", NULL, 0);
    CHECK(same_serial(v6, v6b));
    X509 *v6c = leaf(m, "2001:DB8::A", NULL, 0);
    if (CHECK(v6c != NULL))
        CHECK_EQ_INT(X509_check_ip_asc(v6c, "2001:db8::a", 0), 1);
    X509_free(v4);
    X509_free(v6);
    X509_free(v6b);
    X509_free(v6c);
    mint_free(m);
}

static void test_extra_names(void)
{
    char err[256], buf[300];
    struct mint *m = mint_new(ca, 100, err, sizeof(err));
    if (!CHECK(m != NULL))
        return;
    const char *const ex1[] = {"*.x.test", "x.test"};
    const char *const ex2[] = {"x.test", "*.X.test", "*.x.test"};
    const char *const ex3[] = {"*.x.test", "127.0.0.1", "y.test"};

    X509 *x = leaf(m, "x.test", ex1, 2);
    if (CHECK(x != NULL)) {
        CHECK_EQ_INT(X509_check_host(x, "www.x.test", 0, 0, NULL), 1);
        CHECK_EQ_INT(X509_check_host(x, "x.test", 0, 0, NULL), 1);
        CHECK(X509_check_host(x, "a.b.x.test", 0, 0, NULL) != 1);
        CHECK(X509_check_host(x, "y.test", 0, 0, NULL) != 1);
        CHECK_EQ_INT(verify(x, "www.x.test", false), X509_V_OK);
        CHECK_EQ_INT(san_count(x), 2);                              /* "x.test" listed once */
        CHECK_EQ_STR(san_at(x, 0, buf, sizeof(buf)), "DNS:x.test"); /* host first */
        CHECK_EQ_STR(san_at(x, 1, buf, sizeof(buf)), "DNS:*.x.test");
    }
    CHECK_EQ_INT(mint_cache_len(m), 1);

    /* the same names in another order and case: the cached leaf */
    X509 *x2 = leaf(m, "x.test", ex2, 3);
    CHECK(same_serial(x, x2));
    CHECK_EQ_INT(mint_cache_len(m), 1);

    const char *const ab[] = {"a.x.test", "b.x.test"}, *const ba[] = {"b.x.test", "a.x.test"};
    X509 *o1 = leaf(m, "x.test", ab, 2);
    X509 *o2 = leaf(m, "x.test", ba, 2);
    CHECK(o1 != NULL && same_serial(o1, o2));
    CHECK(!same_serial(o1, x));
    CHECK_EQ_INT(mint_cache_len(m), 2);
    X509_free(o1);
    X509_free(o2);

    /* no extras, or other extras: other leaves */
    X509 *x3 = leaf(m, "x.test", NULL, 0);
    CHECK(x3 != NULL && !same_serial(x, x3));
    if (x3 != NULL)
        CHECK(X509_check_host(x3, "www.x.test", 0, 0, NULL) != 1);
    X509 *x4 = leaf(m, "x.test", ex3, 3);
    CHECK(x4 != NULL && !same_serial(x, x4) && !same_serial(x3, x4));
    if (x4 != NULL) {
        CHECK_EQ_INT(san_count(x4), 4);
        CHECK_EQ_INT(X509_check_ip_asc(x4, "127.0.0.1", 0), 1);
        CHECK_EQ_INT(X509_check_host(x4, "y.test", 0, 0, NULL), 1);
        CHECK_EQ_INT(verify(x4, "y.test", false), X509_V_OK);
    }
    CHECK_EQ_INT(mint_cache_len(m), 4);

    /* a long host: no CN (ub-common-name is 64), still valid by its SAN */
    char host63[64], host64[65];
    memset(host63, 'h', sizeof(host63));
    memcpy(host63 + 63 - 5, ".test", 6);
    host63[20] = '.';
    memset(host64, 'h', sizeof(host64));
    memcpy(host64 + 64 - 5, ".test", 6);
    host64[20] = '.';
    X509 *l63 = leaf(m, host63, NULL, 0);
    X509 *l64 = leaf(m, host64, NULL, 0);
    if (CHECK(l63 != NULL && l64 != NULL)) {
        CHECK_EQ_STR(cn_of(l63, buf, sizeof(buf)), host63);
        CHECK_EQ_STR(cn_of(l64, buf, sizeof(buf)), "");
        CHECK_EQ_INT(verify(l64, host64, false), X509_V_OK);
        X509_NAME_oneline(X509_get_subject_name(l64), buf, sizeof(buf));
        CHECK_EQ_STR(buf, "/O=lucent");
    }
    X509_free(x);
    X509_free(x2);
    X509_free(x3);
    X509_free(x4);
    X509_free(l63);
    X509_free(l64);
    mint_free(m);
}

static void test_lru(void)
{
    char err[256];
    struct mint *m = mint_new(ca, 2, err, sizeof(err));
    if (!CHECK(m != NULL))
        return;

    X509 *a = leaf(m, "a.test", NULL, 0);
    X509 *b = leaf(m, "b.test", NULL, 0);
    X509 *a2 = leaf(m, "a.test", NULL, 0); /* a is now more recent than b */
    X509 *c = leaf(m, "c.test", NULL, 0);  /* evicts b */
    CHECK(same_serial(a, a2));
    CHECK_EQ_INT(mint_cache_len(m), 2);
    X509 *a3 = leaf(m, "a.test", NULL, 0);
    CHECK(same_serial(a, a3)); /* a kept its serial */
    X509 *b2 = leaf(m, "b.test", NULL, 0);
    CHECK(b2 != NULL && !same_serial(b, b2)); /* b was evicted: a new one */
    CHECK_EQ_INT(mint_cache_len(m), 2);
    /* that evicted c (a was used more recently) */
    X509 *a4 = leaf(m, "a.test", NULL, 0);
    CHECK(same_serial(a, a4));
    X509 *c2 = leaf(m, "c.test", NULL, 0);
    CHECK(c2 != NULL && !same_serial(c, c2));
    CHECK_EQ_INT(mint_cache_len(m), 2);
    /* evicted leaves the caller still holds stay usable */
    CHECK_EQ_INT(verify(b, "b.test", false), X509_V_OK);
    CHECK_EQ_INT(verify(c, "c.test", false), X509_V_OK);
    X509 *all[] = {a, b, a2, c, a3, b2, a4, c2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        X509_free(all[i]);
    mint_free(m);

    /* cache_max 0: nothing cached, every call mints */
    m = mint_new(ca, 0, err, sizeof(err));
    if (!CHECK(m != NULL))
        return;
    a = leaf(m, "a.test", NULL, 0);
    a2 = leaf(m, "a.test", NULL, 0);
    CHECK(a != NULL && a2 != NULL && !same_serial(a, a2));
    CHECK_EQ_INT(mint_cache_len(m), 0);
    X509_free(a);
    X509_free(a2);
    mint_free(m);

    /* many entries: the cache stays bounded and still finds recent ones */
    m = mint_new(ca, 50, err, sizeof(err));
    if (!CHECK(m != NULL))
        return;
    X509 *first[50] = {0};
    int bad = 0;
    for (int i = 0; i < 120; i++) {
        char host[32];
        snprintf(host, sizeof(host), "n%d.test", i);
        X509 *x = leaf(m, host, NULL, 0);
        if (x == NULL)
            bad++;
        if (i >= 70 && x != NULL)
            first[i - 70] = x;
        else
            X509_free(x);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(mint_cache_len(m), 50);
    int hits = 0;
    for (int i = 70; i < 120; i++) {
        char host[32];
        snprintf(host, sizeof(host), "n%d.test", i);
        X509 *x = leaf(m, host, NULL, 0);
        hits += same_serial(x, first[i - 70]);
        X509_free(x);
        X509_free(first[i - 70]);
    }
    CHECK_EQ_INT(hits, 50);
    CHECK_EQ_INT(mint_cache_len(m), 50);
    mint_free(m);
}

static void test_invalid_names(void)
{
    char err[256];
    struct mint *m = mint_new(ca, 10, err, sizeof(err));
    if (!CHECK(m != NULL))
        return;
    char long_name[301];
    memset(long_name, 'a', 300);
    for (int i = 50; i < 300; i += 50)
        long_name[i] = '.';
    long_name[300] = '\0';
    char label64[80];
    memset(label64, 'a', 64);
    memcpy(label64 + 64, ".test", 6);
    const char *bad[] = {
        "a.test,DNS:evil", "bad name", long_name,  "",
        "a..test",         ".a.test",  "*",        "*.",
        "f*o.test",        "a.*.test", "**.test",  "a.test\n",
        "a.test\r\nX: y",  "a:b",      "[::1]",    "1.2.3.4:443",
        "::1%lo",          "a/b",      "a\\b",     "a@b",
        "\xc3\xa9.test",   label64,    "a.test..",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        check_note("bad host #%zu", i);
        strcpy(err, "");
        X509 *c = mint_leaf(m, bad[i], NULL, 0, err, sizeof(err));
        CHECK(c == NULL);
        CHECK(strstr(err, "invalid host name") != NULL);
        CHECK(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL);
        CHECK(strlen(err) < 200);
        CHECK_EQ_INT(ERR_peek_error(), 0);
        X509_free(c);

        /* the same name among the extras */
        const char *extra[] = {"ok.test", bad[i]};
        strcpy(err, "");
        c = mint_leaf(m, "ok.test", extra, 2, err, sizeof(err));
        CHECK(c == NULL);
        CHECK(strstr(err, "invalid host name") != NULL);
        CHECK_EQ_INT(ERR_peek_error(), 0);
        X509_free(c);
    }
    check_note(NULL);
    const char *null_extra[] = {"ok.test", NULL};
    X509 *c = mint_leaf(m, "ok.test", null_extra, 2, err, sizeof(err));
    CHECK(c == NULL);
    CHECK(err[0] != '\0');
    X509_free(c);
    c = mint_leaf(m, "ok.test", NULL, 1, err, sizeof(err));
    CHECK(c == NULL);
    X509_free(c);
    CHECK_EQ_INT(mint_cache_len(m), 0);

    /* the edges of what is allowed */
    char label63[80];
    memset(label63, 'a', 63);
    memcpy(label63 + 63, ".test", 6);
    char name253[254];
    memset(name253, 'a', 253);
    for (int i = 50; i < 253; i += 50)
        name253[i] = '.';
    name253[253] = '\0';
    const char *good[] = {"a-b_c.test", "localhost", "*.x.test",  label63,
                          name253,      "1.2.3",     "x--y.test", "::ffff:1.2.3.4"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        check_note("good host #%zu", i);
        c = mint_leaf(m, good[i], NULL, 0, err, sizeof(err));
        if (!CHECK(c != NULL))
            fprintf(stderr, "    err: %s\n", err);
        X509_free(c);
    }
    check_note(NULL);
    mint_free(m);
}

/* ---- threads ------------------------------------------------------------ */

enum { THREADS = 4, NAMES = 200 };

struct worker {
    pthread_t tid;
    struct mint *m;
    int id;
    int failed_mint, failed_verify, failed_host;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < NAMES; i++) {
        /* threads start at different offsets, so the same names race */
        int n = (i + w->id * (NAMES / THREADS)) % NAMES;
        char host[64], err[256], other[64];
        snprintf(host, sizeof(host), "h%03d.test", n);
        snprintf(other, sizeof(other), "h%03d.test", (n + 1) % NAMES);
        X509 *c = mint_leaf(w->m, host, NULL, 0, err, sizeof(err));
        if (c == NULL) {
            w->failed_mint++;
            continue;
        }
        if (verify(c, host, false) != X509_V_OK)
            w->failed_verify++;
        if (X509_check_host(c, host, 0, 0, NULL) != 1 || X509_check_host(c, other, 0, 0, NULL) == 1)
            w->failed_host++;
        X509_free(c);
    }
    return NULL;
}

static void run_threads(size_t cache_max)
{
    char err[256];
    struct worker w[THREADS];
    struct mint *m = mint_new(ca, cache_max, err, sizeof(err));
    if (!CHECK(m != NULL))
        return;
    check_note("threads, cache_max %zu", cache_max);
    for (int t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof(w[t]));
        w[t].m = m;
        w[t].id = t;
        CHECK_EQ_INT(pthread_create(&w[t].tid, NULL, worker_main, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(w[t].tid, NULL);
        CHECK_EQ_INT(w[t].failed_mint, 0);
        CHECK_EQ_INT(w[t].failed_verify, 0);
        CHECK_EQ_INT(w[t].failed_host, 0);
    }
    CHECK(mint_cache_len(m) <= cache_max);
    if (cache_max >= NAMES)
        CHECK_EQ_INT(mint_cache_len(m), NAMES);
    check_note(NULL);
    mint_free(m);
}

static void test_threads(void)
{
    run_threads(1000); /* every name cached: threads race to mint the same one */
    run_threads(64);   /* constant eviction */
}

int main(void)
{
    char err[512];
    const char *tmp = getenv("TMPDIR");

    snprintf(base, sizeof(base), "%s/lucent-test-mint-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    ca = ca_load_or_create(base, err, sizeof(err));
    if (!CHECK(ca != NULL)) {
        fprintf(stderr, "cannot make a CA: %s\n", err);
        rm_rf(base);
        return check_summary();
    }
    store = X509_STORE_new();
    X509_STORE_add_cert(store, ca->cert);

    test_dns_leaf();
    test_ip_leaf();
    test_extra_names();
    test_lru();
    test_invalid_names();
    test_threads();

    X509_STORE_free(store);
    ca_free(ca);
    rm_rf(base);
    return check_summary();
}
