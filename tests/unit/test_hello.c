/* SPDX-License-Identifier: MIT */
/* Unit tests of core/hello: the TLS ClientHello parser. Hellos are built
 * here field by field (b_* helpers, with length prefixes patched on close)
 * and framed into one or more records; one real hello captured from
 * `openssl s_client -servername a.test -alpn h2,http/1.1` (OpenSSL 3.0) is
 * written out as bytes. Inputs are handed over in heap blocks of exactly
 * their length so that AddressSanitizer catches any read past it. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/hello.h"
#include "check.h"

/* Record(s) of a ClientHello for SNI "a.test", ALPN "h2,http/1.1" and
 * supported_versions {0x0304, 0x0303, 0x0302, 0x0301}: one 330-byte record. */
static const unsigned char captured[] = {
    0x16, 0x03, 0x01, 0x01, 0x45, 0x01, 0x00, 0x01, 0x41, 0x03, 0x03, 0x64, 0xfa, 0x35, 0x1b, 0xd1,
    0x76, 0x63, 0x0f, 0xc2, 0xf7, 0x1a, 0xeb, 0x7d, 0x95, 0x72, 0x0a, 0x7e, 0x2a, 0x16, 0x6b, 0xb1,
    0x79, 0xfb, 0xaf, 0x31, 0x1f, 0xe2, 0x36, 0x3f, 0xaf, 0x26, 0xde, 0x20, 0xdb, 0xb6, 0xa6, 0xf0,
    0x9e, 0xd3, 0x04, 0xff, 0x79, 0x1a, 0x6f, 0xed, 0x47, 0x64, 0x33, 0x54, 0x26, 0xc5, 0xdc, 0x42,
    0x29, 0x54, 0xaf, 0x21, 0xd7, 0xd8, 0x81, 0x8e, 0xc2, 0x53, 0x79, 0xfb, 0x00, 0x3e, 0x13, 0x02,
    0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
    0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27,
    0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d,
    0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xba,
    0x00, 0x00, 0x00, 0x0b, 0x00, 0x09, 0x00, 0x00, 0x06, 0x61, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x00,
    0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00,
    0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01,
    0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68,
    0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00,
    0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08,
    0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06,
    0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00,
    0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01,
    0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0xdf, 0x54, 0xdb, 0x07, 0x47, 0xc2,
    0xd9, 0xe2, 0xf4, 0xba, 0xd5, 0x57, 0x4f, 0x1e, 0x62, 0x77, 0x56, 0x8d, 0x9f, 0x88, 0xb9, 0x90,
    0x38, 0xf9, 0x56, 0x27, 0x23, 0x48, 0x51, 0x53, 0x2c, 0x31,
};

/* ---- builder ------------------------------------------------------------- */

#define B_CAP (1u << 17)
#define B_DEPTH 8

struct bld {
    unsigned char d[B_CAP];
    size_t n;
    size_t open[B_DEPTH]; /* where each open length prefix starts */
    int width[B_DEPTH];
    int depth;
};

static struct bld *b_new(void)
{
    struct bld *b = calloc(1, sizeof(*b));
    if (b == NULL)
        abort();
    return b;
}

static void b_mem(struct bld *b, const void *p, size_t n)
{
    if (n > B_CAP - b->n)
        abort(); /* a test asked for too much */
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void b_fill(struct bld *b, unsigned char c, size_t n)
{
    if (n > B_CAP - b->n)
        abort();
    memset(b->d + b->n, c, n);
    b->n += n;
}

static void b_uint(struct bld *b, unsigned long v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        b_mem(b, &c, 1);
    }
}

static void b_u8(struct bld *b, unsigned long v)
{
    b_uint(b, v, 1);
}

static void b_u16(struct bld *b, unsigned long v)
{
    b_uint(b, v, 2);
}

static void b_str(struct bld *b, const char *s)
{
    b_mem(b, s, strlen(s));
}

/* Starts a vector with a length prefix of `width` bytes, patched by b_close(). */
static void b_open(struct bld *b, int width)
{
    if (b->depth == B_DEPTH)
        abort();
    b->open[b->depth] = b->n;
    b->width[b->depth++] = width;
    b_uint(b, 0, width);
}

static void b_close(struct bld *b)
{
    if (b->depth == 0)
        abort();
    b->depth--;
    size_t at = b->open[b->depth], w = (size_t)b->width[b->depth];
    size_t len = b->n - at - w;
    for (size_t i = 0; i < w; i++)
        b->d[at + i] = (unsigned char)(len >> (8 * (w - 1 - i)));
}

/* The fixed fields of a ClientHello after the handshake header. */
static void hello_fields(struct bld *b, unsigned version, size_t sid_len, size_t cipher_len,
                         size_t comp_len)
{
    b_u16(b, version);
    b_fill(b, 0xa5, 32); /* random */
    b_open(b, 1);
    b_fill(b, 0x5a, sid_len);
    b_close(b);
    b_open(b, 2);
    for (size_t i = 0; i < cipher_len; i++)
        b_u8(b, i % 2 == 0 ? 0x13 : 0x01);
    b_close(b);
    b_open(b, 1);
    b_fill(b, 0, comp_len);
    b_close(b);
}

/* Handshake header and default fields; the extensions block is left open. */
static void hello_begin(struct bld *b)
{
    b_u8(b, 1); /* client_hello */
    b_open(b, 3);
    hello_fields(b, 0x0303, 32, 4, 1);
    b_open(b, 2);
}

static void hello_end(struct bld *b)
{
    b_close(b);
    b_close(b);
}

/* Offset of the extensions length in a hello_begin() message. */
#define EXT_LEN_AT (4 + 2 + 32 + 1 + 32 + 2 + 4 + 1 + 1)

static void ext_sni(struct bld *b, const char *name)
{
    b_u16(b, 0);
    b_open(b, 2);
    b_open(b, 2);
    b_u8(b, 0); /* host_name */
    b_open(b, 2);
    b_str(b, name);
    b_close(b);
    b_close(b);
    b_close(b);
}

/* ALPN with the given protocol names, up to a NULL. */
static void ext_alpn(struct bld *b, ...)
{
    va_list ap;
    const char *s;
    b_u16(b, 16);
    b_open(b, 2);
    b_open(b, 2);
    va_start(ap, b);
    while ((s = va_arg(ap, const char *)) != NULL) {
        b_open(b, 1);
        b_str(b, s);
        b_close(b);
    }
    va_end(ap);
    b_close(b);
    b_close(b);
}

/* supported_versions with n versions. */
static void ext_versions(struct bld *b, int n, ...)
{
    va_list ap;
    b_u16(b, 43);
    b_open(b, 2);
    b_open(b, 1);
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        b_u16(b, va_arg(ap, unsigned));
    va_end(ap);
    b_close(b);
    b_close(b);
}

static void ext_raw(struct bld *b, unsigned type, const void *p, size_t n)
{
    b_u16(b, type);
    b_u16(b, n);
    b_mem(b, p, n);
}

/* Appends msg framed as handshake records that end at each cuts[i]
 * (increasing, inside msg) and at mlen. */
static void frame(struct bld *out, const unsigned char *msg, size_t mlen, const size_t *cuts,
                  size_t ncuts)
{
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : mlen;
        b_u8(out, 0x16);
        b_u16(out, i == 0 ? 0x0301 : 0x0303);
        b_u16(out, end - at);
        b_mem(out, msg + at, end - at);
        at = end;
    }
}

/* One record around the message built in b. */
static struct bld *framed(const struct bld *b)
{
    struct bld *r = b_new();
    frame(r, b->d, b->n, NULL, 0);
    return r;
}

/* ---- running the parser -------------------------------------------------- */

/* hello_parse() on a heap copy of exactly len bytes. */
static enum hello_rc parse(const unsigned char *p, size_t len, struct hello *h)
{
    unsigned char *c = malloc(len ? len : 1);
    if (c == NULL)
        abort();
    if (len > 0)
        memcpy(c, p, len);
    enum hello_rc rc = hello_parse(c, len, h);
    free(c);
    return rc;
}

/* Every proper prefix of a valid hello must ask for more. */
static void check_prefixes(const unsigned char *p, size_t len, const char *what)
{
    long first_bad = -1;
    int rc_bad = 0;
    for (size_t k = 0; k < len && first_bad < 0; k++) {
        struct hello h;
        enum hello_rc rc = parse(p, k, &h);
        if (rc != HELLO_NEED_MORE)
            first_bad = (long)k, rc_bad = rc;
    }
    check_note("%s: first prefix not NEED_MORE (rc %d)", what, rc_bad);
    CHECK_EQ_INT(first_bad, -1);
    check_note(NULL);
}

/* A bad hello: BAD in full, and as prefixes only NEED_MORE up to the first
 * BAD, which must be at or before `by` bytes (0: the full length). */
static void check_bad_at(const unsigned char *p, size_t len, size_t by, const char *what)
{
    struct hello h;
    size_t first = len + 1;
    bool odd = false;
    for (size_t k = 0; k <= len; k++) {
        enum hello_rc rc = parse(p, k, &h);
        if (first > len && rc == HELLO_BAD)
            first = k;
        else if (first > len ? rc != HELLO_NEED_MORE : rc != HELLO_BAD)
            odd = true;
    }
    check_note("%s", what);
    CHECK(!odd);
    CHECK_EQ_INT(parse(p, len, &h), HELLO_BAD);
    CHECK(first <= (by ? by : len));
    check_note(NULL);
}

static void check_bad(const unsigned char *p, size_t len, const char *what)
{
    check_bad_at(p, len, 0, what);
}

/* Frames the message in b as one record and expects BAD; frees b. */
static void check_bad_msg(struct bld *b, const char *what)
{
    struct bld *r = framed(b);
    check_bad(r->d, r->n, what);
    free(r);
    free(b);
}

/* Frames the message in b as one record and expects OK; frees b. The
 * results stay in *h. */
static bool check_ok_msg(struct bld *b, struct hello *h, const char *what)
{
    struct bld *r = framed(b);
    check_note("%s", what);
    bool ok = CHECK_EQ_INT(parse(r->d, r->n, h), HELLO_OK) && CHECK_EQ_INT(h->length, r->n);
    check_note(NULL);
    free(r);
    free(b);
    return ok;
}

/* ---- a captured hello ---------------------------------------------------- */

static void check_captured_fields(const struct hello *h, size_t length)
{
    CHECK_EQ_STR(h->sni, "a.test");
    CHECK_EQ_STR(h->alpn, "h2,http/1.1");
    CHECK_EQ_INT(h->version, 0x0303);
    CHECK(h->tls13);
    CHECK_EQ_INT(h->length, length);
}

static void test_captured(void)
{
    struct hello h;
    CHECK_EQ_INT(sizeof(captured), 330);
    if (CHECK_EQ_INT(parse(captured, sizeof(captured), &h), HELLO_OK))
        check_captured_fields(&h, sizeof(captured));
    check_prefixes(captured, sizeof(captured), "captured");

    /* What follows the hello is not looked at and not counted. */
    static const char *tails[] = {"\x17\x03\x03\x00\x05hello", "\x16\x03\x03\x00\x01\x02", "GET ",
                                  "\x80"};
    for (size_t i = 0; i < LC_ARRAY_LEN(tails); i++) {
        struct bld *b = b_new();
        b_mem(b, captured, sizeof(captured));
        b_str(b, tails[i]);
        check_note("tail %zu", i);
        if (CHECK_EQ_INT(parse(b->d, b->n, &h), HELLO_OK))
            check_captured_fields(&h, sizeof(captured));
        free(b);
    }
    check_note(NULL);

    /* The same message split over two records, at every offset. */
    const unsigned char *msg = captured + 5;
    size_t mlen = sizeof(captured) - 5;
    long failed = -1;
    for (size_t cut = 1; cut < mlen; cut++) {
        struct bld *b = b_new();
        frame(b, msg, mlen, &cut, 1);
        if (parse(b->d, b->n, &h) != HELLO_OK || h.length != b->n || strcmp(h.sni, "a.test") != 0 ||
            strcmp(h.alpn, "h2,http/1.1") != 0 || !h.tls13)
            failed = (long)cut;
        if (cut == 1 || cut == 3 || cut == 4 || cut == 100 || cut == mlen - 1)
            check_prefixes(b->d, b->n, "two records");
        free(b);
    }
    CHECK_EQ_INT(failed, -1);

    /* Three records, at many pairs of offsets. */
    failed = -1;
    for (size_t i = 1; i < mlen; i += 5) {
        for (size_t j = i + 1; j < mlen; j += 7) {
            size_t cuts[2] = {i, j};
            struct bld *b = b_new();
            frame(b, msg, mlen, cuts, 2);
            if (parse(b->d, b->n, &h) != HELLO_OK || h.length != b->n ||
                strcmp(h.sni, "a.test") != 0 || !h.tls13)
                failed = (long)(i * 1000 + j);
            free(b);
        }
    }
    CHECK_EQ_INT(failed, -1);
    size_t cuts3[2] = {2, 200};
    struct bld *b = b_new();
    frame(b, msg, mlen, cuts3, 2);
    b_str(b, "\x17\x03\x03\x00\x01x");
    if (CHECK_EQ_INT(parse(b->d, b->n, &h), HELLO_OK))
        check_captured_fields(&h, mlen + 15);
    check_prefixes(b->d, mlen + 15, "three records");
    free(b);

    /* One byte per record: 325 records, 1950 bytes. */
    size_t *cuts = malloc(mlen * sizeof(*cuts));
    if (cuts == NULL)
        abort();
    for (size_t i = 0; i + 1 < mlen; i++)
        cuts[i] = i + 1;
    b = b_new();
    frame(b, msg, mlen, cuts, mlen - 1);
    CHECK_EQ_INT(b->n, mlen * 6);
    if (CHECK_EQ_INT(parse(b->d, b->n, &h), HELLO_OK))
        check_captured_fields(&h, mlen * 6);
    check_prefixes(b->d, b->n, "one-byte records");
    free(b);
    free(cuts);
}

/* ---- built hellos that parse --------------------------------------------- */

static void test_ok(void)
{
    struct hello h;
    struct bld *b;

    /* No extensions block at all (SSL 3.0 style). */
    b = b_new();
    b_u8(b, 1);
    b_open(b, 3);
    hello_fields(b, 0x0300, 0, 2, 1);
    b_close(b);
    if (check_ok_msg(b, &h, "no extensions")) {
        CHECK_EQ_STR(h.sni, "");
        CHECK_EQ_STR(h.alpn, "");
        CHECK_EQ_INT(h.version, 0x0300);
        CHECK(!h.tls13);
    }

    /* An empty extensions block. */
    b = b_new();
    hello_begin(b);
    hello_end(b);
    if (check_ok_msg(b, &h, "empty extensions")) {
        CHECK_EQ_STR(h.sni, "");
        CHECK(!h.tls13);
    }

    /* No SNI, but ALPN and TLS 1.3. */
    b = b_new();
    hello_begin(b);
    ext_alpn(b, "http/1.1", NULL);
    ext_versions(b, 2, 0x0304u, 0x0303u);
    hello_end(b);
    if (check_ok_msg(b, &h, "no sni")) {
        CHECK_EQ_STR(h.sni, "");
        CHECK_EQ_STR(h.alpn, "http/1.1");
        CHECK(h.tls13);
        CHECK_EQ_INT(h.version, 0x0303);
    }

    /* Names are lower-cased; one trailing dot goes. */
    static const struct {
        const char *in, *want;
    } names[] = {
        {"a.test", "a.test"},
        {"WWW.Example.COM.", "www.example.com"},
        {"my_host-1.A.test", "my_host-1.a.test"},
        {"x", "x"},
        {"a.test..", "a.test."},
        /* Not a valid host_name (RFC 6066 3), but only characters are checked. */
        {"127.0.0.1", "127.0.0.1"},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(names); i++) {
        b = b_new();
        hello_begin(b);
        ext_sni(b, names[i].in);
        hello_end(b);
        if (check_ok_msg(b, &h, names[i].in))
            CHECK_EQ_STR(h.sni, names[i].want);
    }

    /* 255 bytes is the longest name; with a trailing dot it keeps 254. */
    char name[257];
    memset(name, 'a', 255);
    name[255] = '\0';
    b = b_new();
    hello_begin(b);
    ext_sni(b, name);
    hello_end(b);
    if (check_ok_msg(b, &h, "255-byte name"))
        CHECK_EQ_STR(h.sni, name);
    name[254] = '.';
    b = b_new();
    hello_begin(b);
    ext_sni(b, name);
    hello_end(b);
    if (check_ok_msg(b, &h, "255-byte name with a dot")) {
        name[254] = '\0';
        CHECK_EQ_STR(h.sni, name);
    }

    /* Entries of other name types are skipped, before or after host_name. */
    b = b_new();
    hello_begin(b);
    b_u16(b, 0);
    b_open(b, 2);
    b_open(b, 2);
    b_u8(b, 7);
    b_open(b, 2);
    b_str(b, "\x01\x02 weird");
    b_close(b);
    b_u8(b, 0);
    b_open(b, 2);
    b_str(b, "B.test");
    b_close(b);
    b_u8(b, 8);
    b_open(b, 2);
    b_close(b);
    b_close(b);
    b_close(b);
    hello_end(b);
    if (check_ok_msg(b, &h, "other name types"))
        CHECK_EQ_STR(h.sni, "b.test");

    /* tls13 only when 0x0304 is listed; GREASE versions and extensions,
     * and unknown extensions with any content, are passed over. */
    b = b_new();
    hello_begin(b);
    ext_raw(b, 0x0a0a, "", 0);
    ext_versions(b, 3, 0x0303u, 0x0302u, 0x7a7au);
    ext_raw(b, 0xfe0d, "\x00\xff\x01", 3);
    ext_raw(b, 0x4a4a, "\x00", 1);
    hello_end(b);
    if (check_ok_msg(b, &h, "no 0x0304"))
        CHECK(!h.tls13);
    b = b_new();
    hello_begin(b);
    ext_versions(b, 2, 0x2a2au, 0x0304u);
    hello_end(b);
    if (check_ok_msg(b, &h, "grease and 0x0304"))
        CHECK(h.tls13);

    /* GREASE ALPN identifiers (RFC 8701) are ignored. */
    b = b_new();
    hello_begin(b);
    ext_alpn(b, "\x0a\x0a", "h2", "\xfa\xfa", "http/1.1", NULL);
    hello_end(b);
    if (check_ok_msg(b, &h, "grease alpn"))
        CHECK_EQ_STR(h.alpn, "h2,http/1.1");

    /* A list too long for alpn[] is cut before the first name that does not
     * fit: 28 of 30 nine-byte entries make 251 bytes. */
    b = b_new();
    hello_begin(b);
    b_u16(b, 16);
    b_open(b, 2);
    b_open(b, 2);
    char want[512] = "";
    for (int i = 0; i < 30; i++) {
        char p[16];
        snprintf(p, sizeof(p), "proto-%02d", i);
        b_open(b, 1);
        b_str(b, p);
        b_close(b);
        if (i < 28)
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", i ? "," : "", p);
    }
    b_close(b);
    b_close(b);
    hello_end(b);
    if (check_ok_msg(b, &h, "alpn cut")) {
        CHECK_EQ_INT(strlen(h.alpn), 251);
        CHECK_EQ_STR(h.alpn, want);
    }

    /* Exactly 255 bytes fit; one more and the second name is left out. */
    char p200[201], p54[56];
    memset(p200, 'x', 200);
    p200[200] = '\0';
    memset(p54, 'y', 55);
    p54[54] = '\0';
    b = b_new();
    hello_begin(b);
    ext_alpn(b, p200, p54, NULL);
    hello_end(b);
    if (check_ok_msg(b, &h, "alpn 255")) {
        CHECK_EQ_INT(strlen(h.alpn), 255);
        CHECK(strncmp(h.alpn, p200, 200) == 0 && strcmp(h.alpn + 201, p54) == 0);
    }
    p54[54] = 'y';
    p54[55] = '\0';
    b = b_new();
    hello_begin(b);
    ext_alpn(b, p200, p54, "h2", NULL);
    hello_end(b);
    if (check_ok_msg(b, &h, "alpn 256"))
        CHECK_EQ_STR(h.alpn, p200);
    char p255[256];
    memset(p255, 'z', 255);
    p255[255] = '\0';
    b = b_new();
    hello_begin(b);
    ext_alpn(b, p255, NULL);
    hello_end(b);
    if (check_ok_msg(b, &h, "one 255-byte protocol"))
        CHECK_EQ_STR(h.alpn, p255);
}

/* A hello padded (extension 21) so that its records take `total` bytes. */
static struct bld *padded_hello(size_t total, size_t nrec)
{
    struct bld *m = b_new(), *r = b_new();
    hello_begin(m);
    ext_sni(m, "pad.test");
    size_t pad = total - 5 * nrec - m->n - 4; /* m->n: all but the padding extension */
    b_u16(m, 21);
    b_open(m, 2);
    b_fill(m, 0, pad);
    b_close(m);
    hello_end(m);
    size_t cuts[2] = {m->n / 3, 2 * m->n / 3};
    frame(r, m->d, m->n, cuts, nrec - 1);
    free(m);
    if (r->n != total)
        abort();
    return r;
}

static void test_cap(void)
{
    struct hello h;
    for (size_t nrec = 1; nrec <= 3; nrec++) {
        check_note("%zu records", nrec);
        struct bld *b = padded_hello(HELLO_MAX, nrec);
        if (CHECK_EQ_INT(parse(b->d, b->n, &h), HELLO_OK)) {
            CHECK_EQ_STR(h.sni, "pad.test");
            CHECK_EQ_INT(h.length, HELLO_MAX);
        }
        free(b);
        /* One byte more: BAD, known as soon as the lengths say so: from the
         * record header, the hello header, or the second record header
         * (before it, the hello could still fit in two records). */
        b = padded_hello(HELLO_MAX + 1, nrec);
        size_t rlen1 = (size_t)b->d[3] << 8 | b->d[4];
        check_bad_at(b->d, b->n, nrec == 1 ? 5 : nrec == 2 ? 9 : 10 + rlen1, "over the cap");
        free(b);
    }
    check_note(NULL);

    /* A hello announcing more than the cap: BAD from the 4 header bytes. */
    static const unsigned char big[] = {0x16, 3, 1, 0, 4, 1, 0, 0x40, 0};
    check_bad_at(big, sizeof(big), sizeof(big), "message over the cap");
    /* Records of 1 byte: headers use up the cap; BAD before HELLO_MAX. */
    struct bld *m = b_new(), *r = b_new();
    hello_begin(m);
    b_u16(m, 21);
    b_open(m, 2);
    b_fill(m, 0, 3000);
    b_close(m);
    hello_end(m);
    for (size_t i = 0; i < m->n; i++)
        frame(r, m->d + i, 1, NULL, 0);
    CHECK_EQ_INT(parse(r->d, HELLO_MAX, &h), HELLO_BAD);
    check_bad_at(r->d, r->n, HELLO_MAX, "1-byte records over the cap");
    free(m);
    free(r);
}

/* ---- not TLS at all ------------------------------------------------------ */

static void test_not_tls(void)
{
    static const struct {
        const char *in;
        size_t len;
        enum hello_rc want;
    } rows[] = {
        {"", 0, HELLO_NEED_MORE},
        {"\x16", 1, HELLO_NEED_MORE},
        {"\x16\x03", 2, HELLO_NEED_MORE},
        {"\x16\x03\x01\x01", 4, HELLO_NEED_MORE},
        {"G", 1, HELLO_NOT_TLS},
        {"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 32, HELLO_NOT_TLS},
        {"C", 1, HELLO_NOT_TLS},
        {"CONNECT a.test:443 HTTP/1.1\r\n\r\n", 31, HELLO_NOT_TLS},
        {"\x80", 1, HELLO_NOT_TLS},
        /* SSL 2.0 style CLIENT-HELLO */
        {"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10", 11, HELLO_NOT_TLS},
        {"\x16\x02", 2, HELLO_NOT_TLS},
        {"\x16\x00\x01\x00\x05", 5, HELLO_NOT_TLS},
        {"\x16\x16\x03", 3, HELLO_NOT_TLS},
        {"\x17\x03\x03\x00\x01x", 6, HELLO_NOT_TLS},
        {"\x15\x03\x01\x00\x02\x02\x28", 7, HELLO_NOT_TLS}, /* alert */
        {"\x00", 1, HELLO_NOT_TLS},
        {"\xff", 1, HELLO_NOT_TLS},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(rows); i++) {
        struct hello h;
        check_note("row %zu", i);
        CHECK_EQ_INT(parse((const unsigned char *)rows[i].in, rows[i].len, &h), rows[i].want);
        if (rows[i].want == HELLO_NOT_TLS)
            for (size_t k = 1; k < rows[i].len; k++)
                CHECK_EQ_INT(parse((const unsigned char *)rows[i].in, k, &h),
                             k < 2 && rows[i].in[0] == 0x16 ? HELLO_NEED_MORE : HELLO_NOT_TLS);
    }
    check_note(NULL);
}

/* ---- malformed hellos ---------------------------------------------------- */

static void test_bad_fields(void)
{
    struct bld *b;

    /* A ServerHello is not a ClientHello: known from its first byte. */
    b = b_new();
    hello_begin(b);
    hello_end(b);
    b->d[0] = 2;
    struct bld *r = framed(b);
    check_bad_at(r->d, r->n, 6, "server hello");
    free(r);
    free(b);

    /* A body shorter than the fixed fields. */
    static const unsigned char tiny[] = {0x16, 3, 1, 0, 14, 1, 0, 0, 10, 3,
                                         3,    1, 2, 3, 4,  5, 6, 7, 8};
    check_bad(tiny, sizeof(tiny), "short body");

    b = b_new();
    b_u8(b, 1);
    b_open(b, 3);
    hello_fields(b, 0x0200, 0, 2, 1);
    b_close(b);
    check_bad_msg(b, "version 2.0");

    /* Session id of 33 bytes: known from its length byte (offset 43). */
    b = b_new();
    b_u8(b, 1);
    b_open(b, 3);
    hello_fields(b, 0x0303, 33, 2, 1);
    b_close(b);
    r = framed(b);
    check_bad_at(r->d, r->n, 5 + 4 + 2 + 32 + 1, "session id 33");
    free(r);
    free(b);

    static const size_t ciphers[] = {0, 1, 3, 5};
    for (size_t i = 0; i < LC_ARRAY_LEN(ciphers); i++) {
        b = b_new();
        b_u8(b, 1);
        b_open(b, 3);
        hello_fields(b, 0x0303, 0, ciphers[i], 1);
        b_close(b);
        check_bad_msg(b, "cipher_suites length");
    }
    b = b_new();
    b_u8(b, 1);
    b_open(b, 3);
    hello_fields(b, 0x0303, 0, 2, 0);
    b_close(b);
    check_bad_msg(b, "no compression method");

    /* One byte after the compression methods is not an extensions block. */
    b = b_new();
    b_u8(b, 1);
    b_open(b, 3);
    hello_fields(b, 0x0303, 0, 2, 1);
    b_u8(b, 0);
    b_close(b);
    check_bad_msg(b, "stray byte");

    /* Extensions length one more or one less than what remains. */
    for (int d = -1; d <= 1; d += 2) {
        b = b_new();
        hello_begin(b);
        ext_sni(b, "a.test");
        hello_end(b);
        unsigned v = (unsigned)(b->d[EXT_LEN_AT] << 8 | b->d[EXT_LEN_AT + 1]) + (unsigned)d;
        b->d[EXT_LEN_AT] = (unsigned char)(v >> 8);
        b->d[EXT_LEN_AT + 1] = (unsigned char)v;
        check_bad_msg(b, "extensions length mismatch");
    }

    /* Whole extensions, then bytes after the block inside the message. */
    b = b_new();
    hello_begin(b);
    ext_sni(b, "a.test");
    b_close(b);
    ext_raw(b, 0x1234, "", 0);
    b_close(b);
    check_bad_msg(b, "bytes after the extensions block");

    /* An extension running past the block; a block ending inside a header. */
    b = b_new();
    hello_begin(b);
    b_u16(b, 0x1234);
    b_u16(b, 100);
    b_fill(b, 0, 3);
    hello_end(b);
    check_bad_msg(b, "extension overrun");
    b = b_new();
    hello_begin(b);
    ext_sni(b, "a.test");
    b_fill(b, 0, 3);
    hello_end(b);
    check_bad_msg(b, "partial extension header");

    /* The record carries a byte beyond the hello. */
    b = b_new();
    hello_begin(b);
    hello_end(b);
    b_u8(b, 0);
    check_bad_msg(b, "record longer than the hello");

    /* Duplicates. */
    b = b_new();
    hello_begin(b);
    ext_sni(b, "a.test");
    ext_sni(b, "a.test");
    hello_end(b);
    check_bad_msg(b, "sni twice");
    b = b_new();
    hello_begin(b);
    ext_raw(b, 0x1234, "", 0);
    ext_sni(b, "a.test");
    ext_raw(b, 0x1234, "x", 1);
    hello_end(b);
    check_bad_msg(b, "unknown extension twice");
    b = b_new();
    hello_begin(b);
    ext_versions(b, 1, 0x0304u);
    ext_versions(b, 1, 0x0303u);
    hello_end(b);
    check_bad_msg(b, "supported_versions twice");
}

static void test_bad_sni(void)
{
    char longname[300];
    memset(longname, 'a', 256);
    longname[256] = '\0';
    const char *names[] = {"",    ".",     "a b",    "a*b",
                           "a/b", "a:443", "a\x01z", "\xc3\xa9.test",
                           "a,b", "[::1]", "a\x7f",  longname};
    for (size_t i = 0; i < LC_ARRAY_LEN(names); i++) {
        struct bld *b = b_new();
        hello_begin(b);
        ext_sni(b, names[i]);
        hello_end(b);
        check_bad_msg(b, names[i]);
    }
    /* A NUL inside the name. */
    struct bld *b = b_new();
    hello_begin(b);
    ext_raw(b, 0, "\0\6\0\0\3a\0b", 8);
    hello_end(b);
    check_bad_msg(b, "nul in sni");
    /* Two host_names (octal escapes: "\2ab" is 2, then "ab"). */
    b = b_new();
    hello_begin(b);
    ext_raw(b, 0, "\0\11\0\0\2ab\0\0\1c", 11);
    hello_end(b);
    check_bad_msg(b, "two host_names");
    static const struct {
        const char *body;
        size_t len;
    } raw[] = {
        {"", 0},                 /* empty extension (a server's form) */
        {"\x00", 1},             /* half a list length */
        {"\x00\x00", 2},         /* empty list */
        {"\0\10\0\0\3abc", 8},   /* list longer than the extension */
        {"\0\5\0\0\3abc", 8},    /* list shorter than the extension */
        {"\0\6\0\0\4abc", 8},    /* name past the list */
        {"\x00\x02\x00\x00", 4}, /* entry without its name */
        {"\x00\x01\x00", 3},     /* entry without its length */
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(raw); i++) {
        b = b_new();
        hello_begin(b);
        ext_raw(b, 0, raw[i].body, raw[i].len);
        hello_end(b);
        check_bad_msg(b, "sni framing");
    }
}

static void test_bad_alpn(void)
{
    static const struct {
        const char *body;
        size_t len;
    } raw[] = {
        {"", 0},
        {"\x00\x00", 2},                 /* empty list */
        {"\x00\x01\x00", 3},             /* empty protocol name */
        {"\x00\x04\x02h2\x00", 5},       /* then an empty one */
        {"\x00\x04\x03h2", 5},           /* name past the list */
        {"\x00\x05\x02h2", 5},           /* list past the extension */
        {"\x00\x03\x02h2\x00", 6},       /* list shorter than the extension */
        {"\x00\x05\x04h2,x", 7},         /* comma */
        {"\x00\x03\x02h\x01", 5},        /* control character */
        {"\x00\x03\x02h\x7f", 5},        /* DEL */
        {"\x00\x03\x02h\xc3", 5},        /* not ASCII */
        {"\x00\x03\x02\x0a\x0b", 5},     /* not GREASE */
        {"\x00\x03\x02\x0b\x0b", 5},     /* nor this */
        {"\x00\x04\x03\x0a\x0a\x0a", 6}, /* not GREASE either */
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(raw); i++) {
        struct bld *b = b_new();
        hello_begin(b);
        ext_raw(b, 16, raw[i].body, raw[i].len);
        hello_end(b);
        char what[64];
        snprintf(what, sizeof(what), "alpn row %zu", i);
        check_bad_msg(b, what);
    }
}

static void test_bad_versions(void)
{
    static const struct {
        const char *body;
        size_t len;
    } raw[] = {
        {"", 0},
        {"\x00", 1},
        {"\x01\x03", 2},
        {"\x03\x03\x04\x03", 4},
        {"\x02\x03\x04\x03", 4},
        {"\x04\x03\x04", 3},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(raw); i++) {
        struct bld *b = b_new();
        hello_begin(b);
        ext_raw(b, 43, raw[i].body, raw[i].len);
        hello_end(b);
        char what[64];
        snprintf(what, sizeof(what), "supported_versions row %zu", i);
        check_bad_msg(b, what);
    }
}

static void test_bad_records(void)
{
    static const struct {
        const char *in;
        size_t len;
    } rows[] = {
        {"\x16\x03\x01\x00\x00", 5}, /* empty record */
        {"\x16\x03\x01\x48\x01", 5}, /* 18433 > 2^14 + 2048 */
        {"\x16\x03\x01\xff\xff", 5},
        {"\x16\x03\x01\x48\x00", 5}, /* allowed size, but past HELLO_MAX */
        {"\x16\x03\x01\x3f\xfc", 5}, /* 16380 + 5 > HELLO_MAX */
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(rows); i++) {
        char what[32];
        snprintf(what, sizeof(what), "record row %zu", i);
        check_bad_at((const unsigned char *)rows[i].in, rows[i].len, 5, what);
    }
    /* The largest record that can fit: parsing goes on. */
    struct hello h;
    CHECK_EQ_INT(parse((const unsigned char *)"\x16\x03\x01\x3f\xfb\x01", 6, &h), HELLO_NEED_MORE);

    /* Something else than a handshake record before the hello is whole:
     * known from the first byte of that record (or the second). */
    const unsigned char *msg = captured + 5;
    size_t mlen = sizeof(captured) - 5, cut = 100;
    static const char *seconds[] = {"\x17\x03\x03\x00\x05", "\x15\x03\x03\x00\x02", "\x14",
                                    "\x16\x02\x00"};
    for (size_t i = 0; i < LC_ARRAY_LEN(seconds); i++) {
        struct bld *b = b_new();
        frame(b, msg, cut, NULL, 0);
        size_t by = b->n + (seconds[i][0] == 0x16 ? 2 : 1);
        b_str(b, seconds[i]);
        b_mem(b, msg + cut, mlen - cut);
        char what[32];
        snprintf(what, sizeof(what), "second record %zu", i);
        check_bad_at(b->d, b->n, by, what);
        free(b);
    }
}

int main(void)
{
    test_captured();
    test_ok();
    test_cap();
    test_not_tls();
    test_bad_fields();
    test_bad_sni();
    test_bad_alpn();
    test_bad_versions();
    test_bad_records();
    return check_summary();
}
