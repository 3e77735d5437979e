/* SPDX-License-Identifier: MIT */
/* Unit tests of ca/ca: creating, loading and refusing CA directories. Each
 * case works in its own directory under one mkdtemp() base, removed at the
 * end. The process umask is changed on purpose: file modes must not depend
 * on it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "check.h"

/* ---- helpers ------------------------------------------------------------ */

static char base[256];

/* base "/" name, in one of a few rotating static buffers */
static const char *at(const char *name)
{
    static char bufs[8][512];
    static unsigned i;
    char *b = bufs[i++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", base, name);
    return b;
}

static const char *in(const char *dir, const char *file)
{
    static char bufs[8][512];
    static unsigned i;
    char *b = bufs[i++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, file);
    return b;
}

/* The whole file, NUL-terminated (len excludes the NUL); NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            p = realloc(p, cap);
            if (p == NULL)
                abort();
        }
        size_t r = fread(p + n, 1, 4096, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    p[n] = '\0';
    if (len != NULL)
        *len = n;
    return p;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "test bug: cannot write %s\n", path);
        abort();
    }
}

static int mode_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

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

/* "AB:CD:..." of the SHA-256 of p */
static void sha256_colons(const void *p, size_t len, char out[96])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t o = 0;

    EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL);
    out[0] = '\0';
    for (unsigned int i = 0; i < mdlen; i++)
        o += (size_t)snprintf(out + o, 96 - o, i ? ":%02X" : "%02X", md[i]);
}

/* The key block of a CA file written by lucent (key first). */
static char *key_block(const char *ca_file)
{
    char *text = slurp(ca_file, NULL);
    const char *end_marker = "-----END PRIVATE KEY-----\n";
    char *end = text != NULL ? strstr(text, end_marker) : NULL;
    if (end == NULL) {
        fprintf(stderr, "test bug: no key block in %s\n", ca_file);
        abort();
    }
    end[strlen(end_marker)] = '\0';
    return text;
}

static struct ca *load(const char *dir, char *err, size_t errlen)
{
    err[0] = '\0';
    struct ca *ca = ca_load_or_create(dir, err, errlen);
    CHECK_EQ_INT(ERR_peek_error(), 0); /* nothing left in OpenSSL's queue */
    return ca;
}

/* ca_load_or_create(dir) must fail, name `names` in the message, contain
 * `what`, and leave lucent-ca.pem (if any) byte for byte as it was. */
static void expect_refused(const char *dir, const char *names, const char *what)
{
    char err[512];
    size_t before_len = 0, after_len = 0;
    char *before = slurp(in(dir, CA_KEY_FILE), &before_len);
    struct ca *ca = load(dir, err, sizeof(err));

    check_note("dir %s, want \"%s\" and \"%s\", got \"%s\"", dir, names, what, err);
    CHECK(ca == NULL);
    CHECK(strstr(err, names) != NULL);
    CHECK(strstr(err, what) != NULL);
    char *after = slurp(in(dir, CA_KEY_FILE), &after_len);
    if (before != NULL && CHECK(after != NULL))
        CHECK_EQ_MEM(after, after_len, before, before_len);
    ca_free(ca);
    free(before);
    free(after);
    check_note(NULL);
}

/* ---- tests -------------------------------------------------------------- */

static void test_create(void)
{
    char err[512], fp[96];
    const char *dir = at("fresh/conf");
    size_t der_len = 0, pem_len = 0, key_len = 0;

    umask(0); /* the key file must still be 0600 and the directory 0700 */
    struct ca *ca = load(dir, err, sizeof(err));
    umask(022);
    if (!CHECK(ca != NULL)) {
        fprintf(stderr, "    err: %s\n", err);
        return;
    }
    CHECK(ca->created);
    CHECK_EQ_STR(err, "");
    CHECK_EQ_INT(mode_of(at("fresh")), 0700);
    CHECK_EQ_INT(mode_of(dir), 0700);
    CHECK_EQ_INT(mode_of(in(dir, CA_KEY_FILE)), 0600);
    CHECK_EQ_INT(mode_of(in(dir, CA_CERT_PEM_FILE)), 0644);
    CHECK_EQ_INT(mode_of(in(dir, CA_CERT_DER_FILE)), 0644);

    /* nothing else is left in the directory (no temporary files) */
    DIR *d = opendir(dir);
    struct dirent *de;
    int entries = 0;
    while (d != NULL && (de = readdir(d)) != NULL)
        entries += de->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    CHECK_EQ_INT(entries, 3);

    /* the certificate */
    X509 *c = ca->cert;
    CHECK_EQ_INT(X509_get_version(c), X509_VERSION_3);
    CHECK_EQ_INT(X509_check_ca(c), 1);
    CHECK(X509_get_key_usage(c) & KU_KEY_CERT_SIGN);
    CHECK(X509_get_key_usage(c) & KU_CRL_SIGN);
    int i = X509_get_ext_by_NID(c, NID_basic_constraints, -1);
    CHECK(i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(c, i)));
    i = X509_get_ext_by_NID(c, NID_key_usage, -1);
    CHECK(i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(c, i)));
    CHECK(X509_get0_subject_key_id(c) != NULL);
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(c), subject, sizeof(subject));
    CHECK(strstr(subject, "lucent") != NULL);
    CHECK_EQ_STR(subject, "/CN=lucent CA/O=lucent");
    CHECK_EQ_INT(X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)), 0);
    int days = 0, secs = 0;
    CHECK(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c), X509_get0_notAfter(c)));
    CHECK(days >= 5 * 365);
    CHECK(X509_cmp_current_time(X509_get0_notBefore(c)) < 0);
    CHECK(X509_cmp_current_time(X509_get0_notAfter(c)) > 0);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(c);
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    CHECK(bn != NULL && !BN_is_negative(bn) && !BN_is_zero(bn) && BN_num_bits(bn) <= 128 &&
          BN_num_bits(bn) > 64);
    BN_free(bn);
    CHECK_EQ_INT(X509_verify(c, X509_get0_pubkey(c)), 1); /* self-signed */
    CHECK_EQ_INT(X509_get_signature_nid(c), NID_ecdsa_with_SHA256);
    CHECK_EQ_INT(EVP_PKEY_get_base_id(ca->key), EVP_PKEY_EC);
    CHECK_EQ_INT(EVP_PKEY_get_bits(ca->key), 256);
    CHECK_EQ_INT(X509_check_private_key(c, ca->key), 1);

    /* the files and the in-memory encodings */
    char *der = slurp(in(dir, CA_CERT_DER_FILE), &der_len);
    char *pem = slurp(in(dir, CA_CERT_PEM_FILE), &pem_len);
    char *key = slurp(in(dir, CA_KEY_FILE), &key_len);
    if (CHECK(der != NULL && pem != NULL && key != NULL)) {
        sha256_colons(der, der_len, fp);
        CHECK_EQ_STR(ca->fingerprint, fp);
        CHECK_EQ_INT(strlen(ca->fingerprint), 95);
        CHECK_EQ_MEM(ca->cert_der, ca->cert_der_len, der, der_len);
        CHECK_EQ_MEM(ca->cert_pem, ca->cert_pem_len, pem, pem_len);
        CHECK_EQ_INT(strlen(ca->cert_pem), ca->cert_pem_len);
        CHECK(strncmp(key, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
        char *cert_in_key = strstr(key, "-----BEGIN CERTIFICATE-----");
        if (CHECK(cert_in_key != NULL))
            CHECK_EQ_STR(cert_in_key, pem);
        const unsigned char *p = (const unsigned char *)der;
        X509 *from_der = d2i_X509(NULL, &p, (long)der_len);
        CHECK(from_der != NULL && X509_cmp(from_der, c) == 0);
        X509_free(from_der);
    }
    free(der);
    free(pem);
    free(key);

    /* a second call loads the same CA */
    struct ca *again = load(dir, err, sizeof(err));
    if (CHECK(again != NULL)) {
        CHECK(!again->created);
        CHECK_EQ_STR(again->fingerprint, ca->fingerprint);
        CHECK_EQ_INT(X509_cmp(again->cert, ca->cert), 0);
        CHECK_EQ_INT(EVP_PKEY_eq(again->key, ca->key), 1);
        CHECK_EQ_MEM(again->cert_pem, again->cert_pem_len, ca->cert_pem, ca->cert_pem_len);
    }
    ca_free(again);

    /* a CA made elsewhere is another CA; umask 077 must not narrow 0644 */
    umask(077);
    struct ca *other = load(at("other"), err, sizeof(err));
    umask(022);
    if (CHECK(other != NULL)) {
        CHECK(other->created);
        CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(other->cert),
                               X509_get0_serialNumber(ca->cert)) != 0);
        CHECK(strcmp(other->fingerprint, ca->fingerprint) != 0);
        CHECK_EQ_INT(EVP_PKEY_eq(other->key, ca->key), 0);
        CHECK_EQ_INT(mode_of(in(at("other"), CA_CERT_PEM_FILE)), 0644);
        CHECK_EQ_INT(mode_of(in(at("other"), CA_CERT_DER_FILE)), 0644);
        CHECK_EQ_INT(mode_of(in(at("other"), CA_KEY_FILE)), 0600);
    }
    ca_free(other);
    ca_free(ca);
    ca_free(NULL);
}

static void test_existing_dir_kept(void)
{
    char err[512];
    const char *dir = at("kept");

    mkdir(dir, 0755);
    chmod(dir, 0755);
    struct ca *ca = load(dir, err, sizeof(err));
    CHECK(ca != NULL && ca->created);
    CHECK_EQ_INT(mode_of(dir), 0755);
    ca_free(ca);

    /* a trailing slash is the same directory */
    char slash[600];
    snprintf(slash, sizeof(slash), "%s/", dir);
    ca = load(slash, err, sizeof(err));
    CHECK(ca != NULL && !ca->created);
    ca_free(ca);
}

static void test_derived_rewritten(void)
{
    char err[512];
    const char *dir = at("derived");
    size_t len = 0;

    struct ca *ca = load(dir, err, sizeof(err));
    if (!CHECK(ca != NULL))
        return;
    char *key_before = slurp(in(dir, CA_KEY_FILE), NULL);

    /* missing: written again */
    unlink(in(dir, CA_CERT_PEM_FILE));
    unlink(in(dir, CA_CERT_DER_FILE));
    struct ca *b = load(dir, err, sizeof(err));
    if (CHECK(b != NULL)) {
        CHECK(!b->created);
        CHECK_EQ_STR(b->fingerprint, ca->fingerprint);
        char *pem = slurp(in(dir, CA_CERT_PEM_FILE), &len);
        CHECK(pem != NULL && strcmp(pem, ca->cert_pem) == 0);
        free(pem);
        char *der = slurp(in(dir, CA_CERT_DER_FILE), &len);
        if (CHECK(der != NULL))
            CHECK_EQ_MEM(der, len, ca->cert_der, ca->cert_der_len);
        free(der);
        CHECK_EQ_INT(mode_of(in(dir, CA_CERT_PEM_FILE)), 0644);
        CHECK_EQ_INT(mode_of(in(dir, CA_CERT_DER_FILE)), 0644);
    }
    ca_free(b);

    /* different: written again */
    spit(in(dir, CA_CERT_PEM_FILE), "stale\n", 6);
    spit(in(dir, CA_CERT_DER_FILE), "\x30\x00", 2);
    b = load(dir, err, sizeof(err));
    if (CHECK(b != NULL)) {
        char *pem = slurp(in(dir, CA_CERT_PEM_FILE), &len);
        CHECK(pem != NULL && strcmp(pem, ca->cert_pem) == 0);
        free(pem);
        char *der = slurp(in(dir, CA_CERT_DER_FILE), &len);
        if (CHECK(der != NULL))
            CHECK_EQ_MEM(der, len, ca->cert_der, ca->cert_der_len);
        free(der);
    }
    ca_free(b);

    char *key_after = slurp(in(dir, CA_KEY_FILE), NULL);
    CHECK(key_before != NULL && key_after != NULL && strcmp(key_before, key_after) == 0);
    free(key_before);
    free(key_after);
    ca_free(ca);
}

/* A CA file written by hand with the certificate before the key loads. */
static void test_cert_first(void)
{
    char err[512];
    const char *src = at("order-src"), *dir = at("order");

    struct ca *ca = load(src, err, sizeof(err));
    if (!CHECK(ca != NULL))
        return;
    char *key = key_block(in(src, CA_KEY_FILE));
    mkdir(dir, 0700);
    FILE *f = fopen(in(dir, CA_KEY_FILE), "w");
    if (f != NULL) {
        fputs(ca->cert_pem, f);
        fputs("some comment between blocks\n", f);
        fputs(key, f);
        fclose(f);
    }
    struct ca *b = load(dir, err, sizeof(err));
    if (CHECK(b != NULL)) {
        CHECK(!b->created);
        CHECK_EQ_STR(b->fingerprint, ca->fingerprint);
    } else {
        fprintf(stderr, "    err: %s\n", err);
    }
    ca_free(b);
    free(key);
    ca_free(ca);
}

/* A self-signed certificate that is not a CA, for key. */
static X509 *non_ca_cert(EVP_PKEY *key)
{
    X509 *c = X509_new();
    X509V3_CTX v3;
    X509_NAME *n = X509_get_subject_name(c);

    X509_set_version(c, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"leaf", -1, -1, 0);
    X509_set_issuer_name(c, n);
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_set_pubkey(c, key);
    X509V3_set_ctx(&v3, c, c, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:FALSE");
    X509_add_ext(c, e, -1);
    X509_EXTENSION_free(e);
    e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,digitalSignature");
    X509_add_ext(c, e, -1);
    X509_EXTENSION_free(e);
    X509_sign(c, key, EVP_sha256());
    return c;
}

static void test_refused(void)
{
    char err[512];
    const char *good = at("good"), *good2 = at("good2");
    struct ca *ca = load(good, err, sizeof(err));
    struct ca *ca2 = load(good2, err, sizeof(err));
    if (!CHECK(ca != NULL && ca2 != NULL)) {
        ca_free(ca);
        ca_free(ca2);
        return;
    }
    char *key1 = key_block(in(good, CA_KEY_FILE));
    char *key2 = key_block(in(good2, CA_KEY_FILE));
    char text[16384];
    const char *dir;

    /* garbage */
    dir = at("garbage");
    mkdir(dir, 0700);
    spit(in(dir, CA_KEY_FILE), "hello\0\x01\x02 world\n", 16);
    expect_refused(dir, in(dir, CA_KEY_FILE), "is not a lucent CA file: no private key");
    CHECK(!exists(in(dir, CA_CERT_PEM_FILE)));
    CHECK(!exists(in(dir, CA_CERT_DER_FILE)));

    /* empty */
    dir = at("empty");
    mkdir(dir, 0700);
    spit(in(dir, CA_KEY_FILE), "", 0);
    expect_refused(dir, in(dir, CA_KEY_FILE), "no private key");

    /* certificate only */
    dir = at("certonly");
    mkdir(dir, 0700);
    spit(in(dir, CA_KEY_FILE), ca->cert_pem, ca->cert_pem_len);
    expect_refused(dir, in(dir, CA_KEY_FILE), "no private key");

    /* key only */
    dir = at("keyonly");
    mkdir(dir, 0700);
    spit(in(dir, CA_KEY_FILE), key1, strlen(key1));
    expect_refused(dir, in(dir, CA_KEY_FILE), "no certificate");

    /* the key of another CA */
    dir = at("mismatch");
    mkdir(dir, 0700);
    snprintf(text, sizeof(text), "%s%s", key2, ca->cert_pem);
    spit(in(dir, CA_KEY_FILE), text, strlen(text));
    expect_refused(dir, in(dir, CA_KEY_FILE), "does not match");

    /* a damaged key block */
    dir = at("badkey");
    mkdir(dir, 0700);
    snprintf(text, sizeof(text), "%s%s", key1, ca->cert_pem);
    text[40] = text[40] == 'A' ? 'B' : 'A';
    text[41] = '!';
    spit(in(dir, CA_KEY_FILE), text, strlen(text));
    expect_refused(dir, in(dir, CA_KEY_FILE), "cannot parse its private key");

    /* a damaged certificate block */
    dir = at("badcert");
    mkdir(dir, 0700);
    snprintf(text, sizeof(text), "%s%s", key1, ca->cert_pem);
    char *body = strstr(text, "-----BEGIN CERTIFICATE-----\n") + 28;
    memset(body, 'A', 20);
    spit(in(dir, CA_KEY_FILE), text, strlen(text));
    expect_refused(dir, in(dir, CA_KEY_FILE), "cannot parse its certificate");

    /* an encrypted key: refused, and no pass phrase prompt */
    dir = at("encrypted");
    mkdir(dir, 0700);
    BIO *mem = BIO_new(BIO_s_mem());
    char *p = NULL;
    PEM_write_bio_PKCS8PrivateKey(mem, ca->key, EVP_aes_256_cbc(), "secret", 6, NULL, NULL);
    PEM_write_bio_X509(mem, ca->cert);
    long plen = BIO_get_mem_data(mem, &p);
    spit(in(dir, CA_KEY_FILE), p, (size_t)plen);
    BIO_free(mem);
    expect_refused(dir, in(dir, CA_KEY_FILE), "encrypted");

    /* a matching key and certificate that is not a CA */
    dir = at("notca");
    mkdir(dir, 0700);
    X509 *leaf = non_ca_cert(ca->key);
    mem = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(mem, ca->key, NULL, NULL, 0, NULL, NULL);
    PEM_write_bio_X509(mem, leaf);
    plen = BIO_get_mem_data(mem, &p);
    spit(in(dir, CA_KEY_FILE), p, (size_t)plen);
    BIO_free(mem);
    X509_free(leaf);
    expect_refused(dir, in(dir, CA_KEY_FILE), "not a CA certificate");

    /* certificate files without lucent-ca.pem */
    dir = at("leftover-pem");
    mkdir(dir, 0700);
    spit(in(dir, CA_CERT_PEM_FILE), ca->cert_pem, ca->cert_pem_len);
    expect_refused(dir, CA_KEY_FILE, "without its private key");
    CHECK(!exists(in(dir, CA_KEY_FILE)));
    dir = at("leftover-der");
    mkdir(dir, 0700);
    spit(in(dir, CA_CERT_DER_FILE), ca->cert_der, ca->cert_der_len);
    expect_refused(dir, CA_KEY_FILE, "without its private key");
    CHECK(!exists(in(dir, CA_KEY_FILE)));

    /* unreadable: a directory in place of the file */
    dir = at("isdir");
    mkdir(dir, 0700);
    mkdir(in(dir, CA_KEY_FILE), 0700);
    expect_refused(dir, in(dir, CA_KEY_FILE), "not a regular file");
    CHECK(!exists(in(dir, CA_CERT_PEM_FILE)));

    /* unreadable: a dangling symlink (must not be replaced by a new CA) */
    dir = at("dangling");
    mkdir(dir, 0700);
    if (CHECK(symlink("no-such-target", in(dir, CA_KEY_FILE)) == 0)) {
        expect_refused(dir, in(dir, CA_KEY_FILE), "symbolic link to a missing file");
        struct stat st;
        CHECK(lstat(in(dir, CA_KEY_FILE), &st) == 0 && S_ISLNK(st.st_mode));
        CHECK(!exists(in(dir, "no-such-target")));
    }

    /* the directory is a regular file */
    spit(at("plainfile"), "x", 1);
    struct ca *none = load(at("plainfile"), err, sizeof(err));
    CHECK(none == NULL);
    CHECK(strstr(err, "plainfile") != NULL);
    ca_free(none);

    /* a parent cannot be created */
    none = load(at("plainfile/sub"), err, sizeof(err));
    CHECK(none == NULL);
    CHECK(strstr(err, "plainfile") != NULL);
    ca_free(none);

    /* an empty name */
    none = load("", err, sizeof(err));
    CHECK(none == NULL);
    CHECK(err[0] != '\0');
    ca_free(none);

    /* a tiny error buffer is filled, not overrun */
    char tiny[8];
    memset(tiny, 'x', sizeof(tiny));
    none = ca_load_or_create(at("garbage"), tiny, 5);
    CHECK(none == NULL);
    CHECK_EQ_INT(strlen(tiny), 4);
    CHECK_EQ_INT(tiny[5], 'x');
    CHECK_EQ_INT(ERR_peek_error(), 0);
    ca_free(none);

    free(key1);
    free(key2);
    ca_free(ca);
    ca_free(ca2);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof(base), "%s/lucent-test-ca-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_create();
    test_existing_dir_kept();
    test_derived_rewritten();
    test_cert_first();
    test_refused();
    rm_rf(base);
    return check_summary();
}
