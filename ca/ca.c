/* SPDX-License-Identifier: MIT */
/* ca: finds lucent's CA in a directory, or makes one there. Key material is
 * only ever written to a file created O_EXCL with mode 0600 under a temporary
 * name and then moved into place, so it is never readable by others, not even
 * for a moment, and a crash leaves either no lucent-ca.pem or a complete one.
 * It must not replace or "repair" an existing lucent-ca.pem, must not prompt
 * for a pass phrase (an encrypted key is an error), and must not leave
 * entries in OpenSSL's error queue: failures are drained into err. */
#include "ca/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

enum {
    CA_FILE_MAX = 1024 * 1024,    /* anything larger is not a CA file */
    CA_VALID_DAYS = 3652,         /* 10 years, leap days included */
    CA_BACKDATE_SECS = 2 * 86400, /* tolerate clients whose clock is behind */
    CA_SERIAL_BYTES = 16,         /* 128 random bits, top bit cleared */
};

/* ---- errors ------------------------------------------------------------- */

void ca_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
}

void ca_ssl_err(char *err, size_t errlen, const char *fmt, ...)
{
    const char *sep = ": ";
    const char *data;
    unsigned long e;
    size_t n = 0;
    va_list ap;
    int flags;

    if (err == NULL)
        errlen = 0;
    if (errlen > 0) {
        va_start(ap, fmt);
        int r = vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        if (r > 0)
            n = (size_t)r < errlen ? (size_t)r : errlen - 1;
    }
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        const char *reason = ERR_reason_error_string(e);
        bool txt = (flags & ERR_TXT_STRING) && data != NULL && *data != '\0';
        char code[32];

        if (n + 1 >= errlen)
            continue; /* full: keep draining */
        if (reason == NULL) {
            snprintf(code, sizeof(code), "error %08lx", e);
            reason = code;
        }
        int r = snprintf(err + n, errlen - n, "%s%s%s%s%s", sep, reason, txt ? " (" : "",
                         txt ? data : "", txt ? ")" : "");
        if (r > 0)
            n += (size_t)r < errlen - n ? (size_t)r : errlen - n - 1;
        sep = "; ";
    }
}

/* ---- files -------------------------------------------------------------- */

/* out = dir "/" name; -1 when it does not fit. */
static int join_path(char *out, size_t outlen, const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    const char *slash = dl > 0 && dir[dl - 1] == '/' ? "" : "/";
    int r = snprintf(out, outlen, "%s%s%s", dir, slash, name);
    return r < 0 || (size_t)r >= outlen ? -1 : 0;
}

/* Creates dir and its missing parents with mode 0700 (chmod'ed, so the umask
 * cannot change it). A directory that already exists is left as it is. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct stat st;
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(path)) {
        ca_err(err, errlen, "invalid CA directory name \"%s\"", dir);
        return -1;
    }
    memcpy(path, dir, len + 1);
    /* every prefix ending before a '/', then the whole path */
    for (size_t i = 1; i <= len; i++) {
        if (i < len && (path[i] != '/' || path[i - 1] == '/'))
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) == 0) {
            if (chmod(path, 0700) == -1) {
                ca_err(err, errlen, "cannot set mode 0700 on %s: %s", path, strerror(errno));
                return -1;
            }
        } else if (errno != EEXIST) {
            ca_err(err, errlen, "cannot create directory %s: %s", path, strerror(errno));
            return -1;
        }
        path[i] = saved;
    }
    if (stat(dir, &st) == -1) {
        ca_err(err, errlen, "cannot use directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        ca_err(err, errlen, "cannot use %s as the CA directory: not a directory", dir);
        return -1;
    }
    return 0;
}

/* Whether anything (even a dangling symlink) is at path. -1 with err when
 * that cannot be told. */
static int path_exists(const char *path, bool *exists, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(path, &st) == 0) {
        *exists = true;
        return 0;
    }
    if (errno == ENOENT) {
        *exists = false;
        return 0;
    }
    ca_err(err, errlen, "cannot check %s: %s", path, strerror(errno));
    return -1;
}

/* Reads the regular file at path (at most CA_FILE_MAX bytes) into a new
 * NUL-terminated buffer the caller frees with OPENSSL_clear_free(p, len + 1):
 * it may hold a private key. */
static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    struct stat st;
    int fd;

    /* O_NONBLOCK: a FIFO in place of the file must not hang the start-up */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1) {
        int e = errno;
        if (e == ENOENT && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
            ca_err(err, errlen, "cannot read %s: a symbolic link to a missing file", path);
        else
            ca_err(err, errlen, "cannot read %s: %s", path, strerror(e));
        return -1;
    }
    if (fstat(fd, &st) == -1) {
        ca_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        ca_err(err, errlen, "cannot read %s: not a regular file", path);
        goto fail;
    }
    if (st.st_size > CA_FILE_MAX) {
        ca_err(err, errlen, "cannot read %s: larger than %d bytes", path, CA_FILE_MAX);
        goto fail;
    }
    cap = (size_t)st.st_size;
    buf = OPENSSL_malloc(cap + 1);
    if (buf == NULL) {
        ca_err(err, errlen, "cannot read %s: out of memory", path);
        goto fail;
    }
    while (len < cap) { /* a file growing meanwhile is read as it was */
        ssize_t r = read(fd, buf + len, cap - len);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            ca_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;

fail:
    if (buf != NULL)
        OPENSSL_clear_free(buf, cap + 1);
    close(fd);
    return -1;
}

static void free_file(char *buf, size_t len)
{
    if (buf != NULL)
        OPENSSL_clear_free(buf, len + 1);
}

static void sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t len = slash == NULL ? 0 : (size_t)(slash - path);
    int fd;

    if (len == 0 || len >= sizeof(dir))
        return;
    memcpy(dir, path, len);
    dir[len] = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd != -1) {
        fsync(fd); /* best effort: the file itself is already synced */
        close(fd);
    }
}

/* Writes data to path through a temporary file created O_EXCL with `mode`
 * (fchmod'ed, so the umask cannot change it), synced, then moved into place.
 * With no_replace an existing path wins: 1 is returned and nothing changes.
 * Returns 0 when written, -1 with err. */
static int write_file(const char *path, const void *data, size_t len, mode_t mode, bool no_replace,
                      char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    const unsigned char *p = data;
    int fd = -1, rc = -1;

    for (int tries = 0; fd == -1; tries++) {
        unsigned char rnd[6];
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            ca_ssl_err(err, errlen, "cannot write %s: no random bytes", path);
            return -1;
        }
        int r = snprintf(tmp, sizeof(tmp), "%s.tmp-%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1],
                         rnd[2], rnd[3], rnd[4], rnd[5]);
        if (r < 0 || (size_t)r >= sizeof(tmp)) {
            ca_err(err, errlen, "cannot write %s: path too long", path);
            return -1;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 0600);
        if (fd == -1 && (errno != EEXIST || tries == 8)) {
            ca_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
            return -1;
        }
    }
    if (fchmod(fd, mode) == -1) {
        ca_err(err, errlen, "cannot set mode %03o on %s: %s", (unsigned)mode, tmp, strerror(errno));
        goto done;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1) {
            ca_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
            goto done;
        }
        p += w;
        len -= (size_t)w;
    }
    if (fsync(fd) == -1) {
        ca_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (close(fd) == -1) {
        fd = -1;
        ca_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    if (no_replace) {
        /* link(2) fails when path exists: another lucent sharing the
         * directory may have just created its CA, and that one must stay */
        if (link(tmp, path) == 0) {
            rc = 0;
            goto done;
        }
        if (errno == EEXIST) {
            rc = 1;
            goto done;
        }
        if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS && errno != EMLINK) {
            ca_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
            goto done;
        }
        /* a file system without hard links: fall back to rename below */
    }
    if (rename(tmp, path) == -1) {
        ca_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
        goto done;
    }
    sync_dir_of(path);
    return 0;

done:
    if (fd != -1)
        close(fd);
    unlink(tmp);
    if (rc == 0)
        sync_dir_of(path);
    return rc;
}

/* Makes path hold exactly data, mode 0644, unless it already does. */
static int sync_file(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    char scratch[8];
    char *old = NULL;
    size_t oldlen = 0;
    bool same;

    /* any failure to read (missing, not a file, unreadable) means rewrite */
    if (read_file(path, &old, &oldlen, scratch, sizeof(scratch)) < 0)
        old = NULL;
    same = old != NULL && oldlen == len && memcmp(old, data, len) == 0;
    free_file(old, oldlen);
    if (same)
        return 0;
    return write_file(path, data, len, 0644, false, err, errlen);
}

/* ---- certificates ------------------------------------------------------- */

/* Never prompts: an encrypted key simply fails to decrypt. */
static int no_pass_cb(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static bool contains(const char *hay, size_t haylen, const char *needle)
{
    size_t nl = strlen(needle);

    for (size_t i = 0; nl <= haylen && i <= haylen - nl; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0)
            return true;
    return false;
}

/* Reads the private key and certificate from the CA file at path (in either
 * order). Every way it can be unusable is an error naming the file. */
static int load_ca_file(const char *path, EVP_PKEY **pkey, X509 **pcert, char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    X509 *crt = NULL;
    BIO *bio = NULL;
    char *text = NULL;
    size_t len = 0;

    if (read_file(path, &text, &len, err, errlen) < 0)
        return -1;
    if (!contains(text, len, "PRIVATE KEY-----")) {
        ca_err(err, errlen, "%s is not a lucent CA file: no private key", path);
        goto fail;
    }
    if (contains(text, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
        contains(text, len, "Proc-Type: 4,ENCRYPTED")) {
        ca_err(err, errlen,
               "%s is not a lucent CA file: its private key is encrypted "
               "(lucent needs it unencrypted)",
               path);
        goto fail;
    }
    if (!contains(text, len, "-----BEGIN CERTIFICATE-----")) {
        ca_err(err, errlen, "%s is not a lucent CA file: no certificate", path);
        goto fail;
    }
    /* each reader skips the PEM blocks it does not want */
    bio = BIO_new_mem_buf(text, (int)len);
    if (bio == NULL || (key = PEM_read_bio_PrivateKey(bio, NULL, no_pass_cb, NULL)) == NULL) {
        ca_ssl_err(err, errlen, "%s is not a lucent CA file: cannot parse its private key", path);
        goto fail;
    }
    BIO_free(bio);
    bio = BIO_new_mem_buf(text, (int)len);
    if (bio == NULL || (crt = PEM_read_bio_X509(bio, NULL, no_pass_cb, NULL)) == NULL) {
        ca_ssl_err(err, errlen, "%s is not a lucent CA file: cannot parse its certificate", path);
        goto fail;
    }
    if (X509_check_private_key(crt, key) != 1) {
        ca_err(err, errlen,
               "%s is not a lucent CA file: the private key does not match the certificate", path);
        goto fail;
    }
    if (X509_check_ca(crt) == 0) {
        ca_err(err, errlen, "%s is not a lucent CA file: its certificate is not a CA certificate",
               path);
        goto fail;
    }
    BIO_free(bio);
    free_file(text, len);
    *pkey = key;
    *pcert = crt;
    return 0;

fail:
    BIO_free(bio);
    X509_free(crt);
    EVP_PKEY_free(key);
    free_file(text, len);
    return -1;
}

int ca_random_serial(X509 *crt)
{
    unsigned char b[CA_SERIAL_BYTES];
    ASN1_INTEGER *ai = NULL;
    BIGNUM *bn = NULL;
    bool zero;
    int rc = -1;

    do {
        if (RAND_bytes(b, sizeof(b)) != 1)
            return -1;
        b[0] &= 0x7f;
        zero = true;
        for (size_t i = 0; i < sizeof(b); i++)
            zero = zero && b[i] == 0;
    } while (zero);
    bn = BN_bin2bn(b, sizeof(b), NULL);
    if (bn == NULL || (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
        goto done;
    if (X509_set_serialNumber(crt, ai))
        rc = 0;
done:
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return rc;
}

static int add_ext(X509 *crt, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(crt, ext, -1);

    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A new EC P-256 key and its self-signed CA certificate. */
static int create_ca(EVP_PKEY **pkey, X509 **pcert, char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    X509 *crt = NULL;
    X509_NAME *name;
    X509V3_CTX v3;

    key = EVP_EC_gen("P-256");
    if (key == NULL) {
        ca_ssl_err(err, errlen, "cannot generate the CA key");
        goto fail;
    }
    crt = X509_new();
    if (crt == NULL)
        goto fail_cert;
    name = X509_get_subject_name(crt);
    if (!X509_set_version(crt, X509_VERSION_3) || ca_random_serial(crt) < 0 ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"lucent CA",
                                    -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"lucent", -1,
                                    -1, 0) ||
        !X509_set_issuer_name(crt, name) ||
        !X509_gmtime_adj(X509_getm_notBefore(crt), -(long)CA_BACKDATE_SECS) ||
        !X509_time_adj_ex(X509_getm_notAfter(crt), CA_VALID_DAYS, 0, NULL) ||
        !X509_set_pubkey(crt, key))
        goto fail_cert;
    X509V3_set_ctx(&v3, crt, crt, NULL, NULL, 0);
    if (add_ext(crt, &v3, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(crt, &v3, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(crt, &v3, NID_subject_key_identifier, "hash") < 0 ||
        X509_sign(crt, key, EVP_sha256()) == 0)
        goto fail_cert;
    *pkey = key;
    *pcert = crt;
    return 0;

fail_cert:
    ca_ssl_err(err, errlen, "cannot make the CA certificate");
fail:
    X509_free(crt);
    EVP_PKEY_free(key);
    return -1;
}

/* Writes the new CA to path: the key (PKCS#8) then the certificate, 0600.
 * 1 when path appeared meanwhile (kept; nothing written). */
static int write_ca_file(const char *path, EVP_PKEY *key, X509 *crt, char *err, size_t errlen)
{
    BIO *mem = BIO_new(BIO_s_mem()); /* frees its buffer with OPENSSL_clear_free */
    char *p = NULL;
    long len;
    int rc;

    if (mem == NULL || !PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(mem, crt) || (len = BIO_get_mem_data(mem, &p)) <= 0) {
        ca_ssl_err(err, errlen, "cannot encode the CA for %s", path);
        BIO_free(mem);
        return -1;
    }
    rc = write_file(path, p, (size_t)len, 0600, true, err, errlen);
    BIO_free(mem);
    return rc;
}

/* fingerprint, cert_pem and cert_der from ca->cert. */
static int encode_cert(struct ca *ca, char *err, size_t errlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned char *der = NULL;
    BIO *mem = NULL;
    char *p = NULL;
    long plen;
    int dlen;

    dlen = i2d_X509(ca->cert, &der);
    if (dlen <= 0 || !EVP_Digest(der, (size_t)dlen, md, &mdlen, EVP_sha256(), NULL))
        goto fail;
    ca->cert_der = der;
    ca->cert_der_len = (size_t)dlen;
    der = NULL;
    for (unsigned int i = 0; i < mdlen && 3 * i + 3 <= sizeof(ca->fingerprint); i++)
        snprintf(ca->fingerprint + 3 * i, sizeof(ca->fingerprint) - 3 * i, "%02X%s", md[i],
                 i + 1 < mdlen ? ":" : "");
    mem = BIO_new(BIO_s_mem());
    if (mem == NULL || !PEM_write_bio_X509(mem, ca->cert) ||
        (plen = BIO_get_mem_data(mem, &p)) <= 0)
        goto fail;
    ca->cert_pem = malloc((size_t)plen + 1);
    if (ca->cert_pem == NULL)
        goto fail;
    memcpy(ca->cert_pem, p, (size_t)plen);
    ca->cert_pem[plen] = '\0';
    ca->cert_pem_len = (size_t)plen;
    BIO_free(mem);
    return 0;

fail:
    ca_ssl_err(err, errlen, "cannot encode the CA certificate");
    OPENSSL_free(der);
    BIO_free(mem);
    return -1;
}

/* ---- API ---------------------------------------------------------------- */

struct ca *ca_load_or_create(const char *dir, char *err, size_t errlen)
{
    char key_path[PATH_MAX], pem_path[PATH_MAX], der_path[PATH_MAX];
    bool key_exists, pem_exists, der_exists;
    struct ca *ca = NULL;

    if (errlen > 0)
        err[0] = '\0';
    ERR_set_mark(); /* success pops what OpenSSL queued on the way */
    if (join_path(key_path, sizeof(key_path), dir, CA_KEY_FILE) < 0 ||
        join_path(pem_path, sizeof(pem_path), dir, CA_CERT_PEM_FILE) < 0 ||
        join_path(der_path, sizeof(der_path), dir, CA_CERT_DER_FILE) < 0) {
        ca_err(err, errlen, "CA directory name too long: %s", dir);
        goto fail;
    }
    if (make_dirs(dir, err, errlen) < 0)
        goto fail;
    ca = calloc(1, sizeof(*ca));
    if (ca == NULL) {
        ca_err(err, errlen, "out of memory");
        goto fail;
    }
    if (path_exists(key_path, &key_exists, err, errlen) < 0)
        goto fail;
    if (!key_exists) {
        if (path_exists(pem_path, &pem_exists, err, errlen) < 0 ||
            path_exists(der_path, &der_exists, err, errlen) < 0)
            goto fail;
        if (pem_exists || der_exists) {
            ca_err(err, errlen,
                   "%s has no %s but holds %s: a CA certificate without its private key. "
                   "Restore %s from a backup, or remove %s and %s to make a new CA "
                   "(clients will have to trust the new one)",
                   dir, CA_KEY_FILE, pem_exists ? CA_CERT_PEM_FILE : CA_CERT_DER_FILE, CA_KEY_FILE,
                   CA_CERT_PEM_FILE, CA_CERT_DER_FILE);
            goto fail;
        }
        if (create_ca(&ca->key, &ca->cert, err, errlen) < 0)
            goto fail;
        int rc = write_ca_file(key_path, ca->key, ca->cert, err, errlen);
        if (rc < 0)
            goto fail;
        if (rc == 0) {
            ca->created = true;
        } else {
            /* another process made one meanwhile: use theirs */
            EVP_PKEY_free(ca->key);
            X509_free(ca->cert);
            ca->key = NULL;
            ca->cert = NULL;
            key_exists = true;
        }
    }
    if (key_exists && load_ca_file(key_path, &ca->key, &ca->cert, err, errlen) < 0)
        goto fail;
    if (encode_cert(ca, err, errlen) < 0 ||
        sync_file(pem_path, ca->cert_pem, ca->cert_pem_len, err, errlen) < 0 ||
        sync_file(der_path, ca->cert_der, ca->cert_der_len, err, errlen) < 0)
        goto fail;
    ERR_pop_to_mark();
    return ca;

fail:
    ERR_clear_error(); /* the message has what mattered; the mark goes too */
    ca_free(ca);
    return NULL;
}

void ca_free(struct ca *ca)
{
    if (ca == NULL)
        return;
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca->cert_pem);
    OPENSSL_free(ca->cert_der);
    free(ca);
}
