/* SPDX-License-Identifier: MIT */
/* Unit tests of core/codec: Content-Encoding decoding. Inputs are made here
 * with zlib (and libzstd, whose library also compresses); br inputs are
 * fixed vectors made once with libbrotlienc. Every input is copied into a
 * heap block of exactly its size so AddressSanitizer sees any overread. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#ifdef LUCENT_HAVE_ZSTD
#include <zstd.h>
#endif

#include "core/buf.h"
#include "core/codec.h"
#include "check.h"

/* ---- helpers ---------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

/* zlib deflate with the given window bits (15 zlib, -15 raw, 31 gzip). */
static void zcompress(int wbits, const void *in, size_t len, struct buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    int zr;
    do {
        buf_reserve(out, 65536);
        zs.next_out = (Bytef *)out->p + out->len;
        zs.avail_out = 65536;
        zr = deflate(&zs, Z_FINISH);
        out->len += 65536 - zs.avail_out;
    } while (zr == Z_OK);
    if (zr != Z_STREAM_END)
        abort();
    deflateEnd(&zs);
}

/* Decodes through an exact-size heap copy of in[0..len). */
static enum codec_rc dec(const char *enc, const void *in, size_t len, size_t limit, struct buf *out,
                         char *err, size_t errlen)
{
    void *copy = xmalloc(len);
    if (len > 0)
        memcpy(copy, in, len);
    size_t enclen = strlen(enc);
    char *enc_copy = xmalloc(enclen);
    memcpy(enc_copy, enc, enclen);
    err[0] = '\0';
    enum codec_rc rc = codec_decode(enc_copy, enclen, copy, len, limit, out, err, errlen);
    free(enc_copy);
    free(copy);
    return rc;
}

/* Fills p with xorshift bytes (incompressible). */
static void random_bytes(unsigned char *p, size_t n, uint32_t seed)
{
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

/* Decoding must succeed and append exactly want to a buffer holding "keep". */
static void expect_ok(const char *enc, const void *in, size_t len, const void *want, size_t wantlen)
{
    struct buf out = BUF_INIT;
    char err[200];
    buf_puts(&out, "keep");
    enum codec_rc rc = dec(enc, in, len, SIZE_MAX, &out, err, sizeof(err));
    if (CHECK_EQ_INT(rc, CODEC_OK)) {
        CHECK_EQ_MEM(out.p, 4, "keep", 4);
        CHECK_EQ_MEM(out.p + 4, out.len - 4, want, wantlen);
        CHECK_EQ_INT(out.p[out.len], '\0');
    } else {
        fprintf(stderr, "    err: %s\n", err);
    }
    buf_free(&out);
}

/* Decoding must fail with rc, leave "keep" alone and give a reason. */
static void expect_fail(const char *enc, const void *in, size_t len, size_t limit,
                        enum codec_rc want)
{
    struct buf out = BUF_INIT;
    char err[200];
    buf_puts(&out, "keep");
    enum codec_rc rc = dec(enc, in, len, limit, &out, err, sizeof(err));
    CHECK_EQ_INT(rc, want);
    CHECK_EQ_STR(out.p, "keep");
    CHECK_EQ_INT(out.len, 4);
    CHECK(err[0] != '\0');
    buf_free(&out);
}

static const char text[] = "The quick brown fox jumps over the lazy dog. "
                           "The quick brown fox jumps over the lazy dog. 0123456789\n";

/* ---- gzip and deflate ------------------------------------------------------ */

static void test_round_trips(void)
{
    static const size_t sizes[] = {1, 45, 1000, 16383, 16384, 16385, 100000, 300000};
    unsigned char *rnd = xmalloc(300000);
    random_bytes(rnd, 300000, 0x2545f491);
    for (size_t i = 0; i < LC_ARRAY_LEN(sizes); i++) {
        struct buf gz = BUF_INIT, zl = BUF_INIT, raw = BUF_INIT;
        check_note("random, %zu bytes", sizes[i]);
        zcompress(31, rnd, sizes[i], &gz);
        zcompress(15, rnd, sizes[i], &zl);
        zcompress(-15, rnd, sizes[i], &raw);
        expect_ok("gzip", gz.p, gz.len, rnd, sizes[i]);
        expect_ok("x-gzip", gz.p, gz.len, rnd, sizes[i]);
        expect_ok("deflate", zl.p, zl.len, rnd, sizes[i]);
        expect_ok("deflate", raw.p, raw.len, rnd, sizes[i]);
        buf_free(&gz);
        buf_free(&zl);
        buf_free(&raw);
    }
    check_note(NULL);

    /* compressible: far more output than input, many output steps */
    size_t big = 3 * 1000 * 1000;
    unsigned char *rep = xmalloc(big);
    for (size_t i = 0; i < big; i++)
        rep[i] = (unsigned char)text[i % (sizeof(text) - 1)];
    struct buf gz = BUF_INIT, raw = BUF_INIT;
    zcompress(31, rep, big, &gz);
    zcompress(-15, rep, big, &raw);
    CHECK(gz.len < big / 100);
    expect_ok("gzip", gz.p, gz.len, rep, big);
    expect_ok("deflate", raw.p, raw.len, rep, big);
    buf_free(&gz);
    buf_free(&raw);
    free(rep);
    free(rnd);
}

static void test_names(void)
{
    struct buf gz = BUF_INIT;
    zcompress(31, text, sizeof(text) - 1, &gz);
    static const char *const gzip_names[] = {
        "gzip",          "GZIP",
        "Gzip",          " gzip ",
        "\tgzip\t",      "x-gzip",
        "X-GZip",        "gzip,",
        ",gzip",         "identity, gzip",
        "gzip,identity", "gzip, , ,",
        "IDENTITY,gzip", "identity,,gzip,identity",
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(gzip_names); i++) {
        check_note("coding \"%s\"", gzip_names[i]);
        expect_ok(gzip_names[i], gz.p, gz.len, text, sizeof(text) - 1);
        CHECK(codec_supported(gzip_names[i], strlen(gzip_names[i])));
    }
    /* no coding at all: the bytes as they are */
    static const char *const none[] = {"", "identity", "Identity", " , ,", ","};
    for (size_t i = 0; i < LC_ARRAY_LEN(none); i++) {
        check_note("coding \"%s\"", none[i]);
        expect_ok(none[i], text, sizeof(text) - 1, text, sizeof(text) - 1);
        expect_ok(none[i], "", 0, "", 0);
        CHECK(codec_supported(none[i], strlen(none[i])));
    }
    check_note(NULL);
    buf_free(&gz);
}

static void test_unsupported(void)
{
    static const char *const rows[] = {
        "compress", "foo",        "gzip, foo", "foo, gzip", "gzipx",
        "gzi",      "x-compress", "gzip;q=1",  "\"gzip\"",  "deflate gzip",
#ifndef LUCENT_HAVE_BROTLI
        "br",
#endif
#ifndef LUCENT_HAVE_ZSTD
        "zstd",
#endif
    };
    struct buf gz = BUF_INIT;
    zcompress(31, text, sizeof(text) - 1, &gz);
    for (size_t i = 0; i < LC_ARRAY_LEN(rows); i++) {
        check_note("coding \"%s\"", rows[i]);
        CHECK(!codec_supported(rows[i], strlen(rows[i])));
        expect_fail(rows[i], gz.p, gz.len, SIZE_MAX, CODEC_UNSUPPORTED);
        expect_fail(rows[i], "", 0, SIZE_MAX, CODEC_UNSUPPORTED);
    }
    check_note(NULL);

    /* the reason names the coding */
    struct buf out = BUF_INIT;
    char err[200];
    CHECK_EQ_INT(dec("gzip, Compress", gz.p, gz.len, SIZE_MAX, &out, err, sizeof(err)),
                 CODEC_UNSUPPORTED);
    CHECK(strstr(err, "Compress") != NULL);
    CHECK_EQ_INT(out.len, 0);
    buf_free(&out);

    /* eight layers are decoded, nine are refused */
    struct buf cur = BUF_INIT;
    buf_append(&cur, text, sizeof(text) - 1);
    char enc[200];
    size_t el = 0;
    for (int k = 0; k < 9; k++) {
        struct buf next = BUF_INIT;
        zcompress(31, cur.p, cur.len, &next);
        buf_free(&cur);
        cur = next;
        if (k < 8)
            el += (size_t)snprintf(enc + el, sizeof(enc) - el, "%s", k ? ", gzip" : "gzip");
    }
    CHECK(codec_supported(enc, strlen(enc)));
    snprintf(enc + el, sizeof(enc) - el, ",gzip");
    CHECK(!codec_supported(enc, strlen(enc)));
    expect_fail(enc, cur.p, cur.len, SIZE_MAX, CODEC_UNSUPPORTED);
    buf_free(&cur);
    buf_free(&gz);
}

static void test_layers(void)
{
    /* "deflate, gzip": deflate applied first, so the wire is gzip(deflate(x)) */
    struct buf inner = BUF_INIT, wire = BUF_INIT, raw = BUF_INIT, wire2 = BUF_INIT;
    zcompress(15, text, sizeof(text) - 1, &inner);
    zcompress(31, inner.p, inner.len, &wire);
    expect_ok("deflate, gzip", wire.p, wire.len, text, sizeof(text) - 1);
    expect_ok("Deflate,identity,GZIP", wire.p, wire.len, text, sizeof(text) - 1);
    expect_ok("gzip", wire.p, wire.len, inner.p, inner.len);
    /* the other order reads the gzip stream as deflate: corrupt */
    expect_fail("gzip, deflate", wire.p, wire.len, SIZE_MAX, CODEC_BAD);

    zcompress(-15, wire.p, wire.len, &raw);
    zcompress(31, raw.p, raw.len, &wire2);
    expect_ok("deflate, gzip, deflate, gzip", wire2.p, wire2.len, text, sizeof(text) - 1);
    buf_free(&inner);
    buf_free(&wire);
    buf_free(&raw);
    buf_free(&wire2);

    /* gzip of an empty body inside another coding */
    struct buf e1 = BUF_INIT, e2 = BUF_INIT;
    zcompress(31, "", 0, &e1);
    zcompress(15, e1.p, e1.len, &e2);
    expect_ok("gzip, deflate", e2.p, e2.len, "", 0);
    buf_free(&e1);
    buf_free(&e2);
}

static void test_gzip_members(void)
{
    struct buf a = BUF_INIT, b = BUF_INIT, both = BUF_INIT;
    zcompress(31, "first part, ", 12, &a);
    zcompress(31, "second part", 11, &b);
    buf_append(&both, a.p, a.len);
    buf_append(&both, b.p, b.len);
    expect_ok("gzip", both.p, both.len, "first part, second part", 23);
    /* a second member cut short is corrupt */
    for (size_t cut = 2; cut < b.len; cut++) {
        check_note("second member cut at %zu", cut);
        expect_fail("gzip", both.p, a.len + cut, SIZE_MAX, CODEC_BAD);
    }
    /* one byte of it cannot start a member: ignored like other trailing bytes */
    expect_ok("gzip", both.p, a.len + 1, "first part, ", 12);
    check_note(NULL);
    /* other bytes after the stream are ignored, as browsers do */
    buf_reset(&both);
    buf_append(&both, a.p, a.len);
    buf_append(&both, "\0\0\0junk", 8);
    expect_ok("gzip", both.p, both.len, "first part, ", 12);
    buf_free(&a);
    buf_free(&b);
    buf_free(&both);

    /* the same for zlib and raw deflate streams */
    struct buf z = BUF_INIT;
    zcompress(15, text, sizeof(text) - 1, &z);
    buf_append(&z, "trailing", 8);
    expect_ok("deflate", z.p, z.len, text, sizeof(text) - 1);
    buf_free(&z);
}

static void test_truncated_corrupt(void)
{
    static const int wbits[] = {31, 15, -15};
    static const char *const names[] = {"gzip", "deflate", "deflate"};
    unsigned char rnd[3000];
    random_bytes(rnd, sizeof(rnd), 7);
    for (size_t w = 0; w < LC_ARRAY_LEN(wbits); w++) {
        for (int kind = 0; kind < 2; kind++) {
            struct buf c = BUF_INIT;
            if (kind == 0)
                zcompress(wbits[w], text, sizeof(text) - 1, &c);
            else
                zcompress(wbits[w], rnd, sizeof(rnd), &c);
            for (size_t cut = 1; cut < c.len; cut++) {
                check_note("%s (wbits %d, input %d) cut at %zu of %zu", names[w], wbits[w], kind,
                           cut, c.len);
                expect_fail(names[w], c.p, cut, SIZE_MAX, CODEC_BAD);
            }
            check_note(NULL);
            buf_free(&c);
        }
    }

    /* a flipped bit in the middle, in the CRC, in the length */
    struct buf gz = BUF_INIT;
    zcompress(31, text, sizeof(text) - 1, &gz);
    size_t at[] = {gz.len / 2, gz.len - 6, gz.len - 2, 3};
    for (size_t i = 0; i < LC_ARRAY_LEN(at); i++) {
        check_note("gzip, bit flipped at %zu", at[i]);
        gz.p[at[i]] ^= 0x10;
        expect_fail("gzip", gz.p, gz.len, SIZE_MAX, CODEC_BAD);
        gz.p[at[i]] ^= 0x10;
    }
    check_note(NULL);
    expect_ok("gzip", gz.p, gz.len, text, sizeof(text) - 1);
    /* the zlib checksum */
    struct buf zl = BUF_INIT;
    zcompress(15, text, sizeof(text) - 1, &zl);
    zl.p[zl.len - 1] ^= 1;
    expect_fail("deflate", zl.p, zl.len, SIZE_MAX, CODEC_BAD);
    buf_free(&zl);

    /* not compressed at all */
    expect_fail("gzip", text, sizeof(text) - 1, SIZE_MAX, CODEC_BAD);
    expect_fail("gzip", "\x1f\x8b", 2, SIZE_MAX, CODEC_BAD);
    expect_fail("deflate", "\xff\xff\xff\xff", 4, SIZE_MAX, CODEC_BAD);
    expect_fail("deflate", "\x78\x9c", 2, SIZE_MAX, CODEC_BAD);
    buf_free(&gz);
}

static void test_empty(void)
{
    static const char *const encs[] = {
        "gzip", "deflate", "x-gzip", "deflate, gzip",
#ifdef LUCENT_HAVE_BROTLI
        "br",
#endif
#ifdef LUCENT_HAVE_ZSTD
        "zstd",
#endif
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(encs); i++) {
        check_note("empty body, %s", encs[i]);
        expect_ok(encs[i], "", 0, "", 0);
        /* NULL is a fine pointer for no bytes */
        struct buf out = BUF_INIT;
        char err[100];
        CHECK_EQ_INT(codec_decode(encs[i], strlen(encs[i]), NULL, 0, 0, &out, err, sizeof(err)),
                     CODEC_OK);
        CHECK_EQ_INT(out.len, 0);
        buf_free(&out);
    }
    check_note(NULL);
    /* compressed empty content */
    struct buf gz = BUF_INIT;
    zcompress(31, "", 0, &gz);
    expect_ok("gzip", gz.p, gz.len, "", 0);
    buf_free(&gz);
}

static void test_limit(void)
{
    unsigned char *a = xmalloc(100000);
    memset(a, 'a', 100000);
    struct buf gz = BUF_INIT, raw = BUF_INIT;
    zcompress(31, a, 100000, &gz);
    zcompress(-15, a, 100000, &raw);
    static const char *const encs[] = {"gzip", "deflate"};
    struct buf *ins[] = {&gz, &raw};
    for (size_t i = 0; i < 2; i++) {
        struct buf out = BUF_INIT;
        char err[200];
        check_note("%s", encs[i]);
        CHECK_EQ_INT(dec(encs[i], ins[i]->p, ins[i]->len, 100000, &out, err, sizeof(err)),
                     CODEC_OK);
        CHECK_EQ_INT(out.len, 100000);
        buf_free(&out);
        expect_fail(encs[i], ins[i]->p, ins[i]->len, 99999, CODEC_TOO_BIG);
        expect_fail(encs[i], ins[i]->p, ins[i]->len, 1, CODEC_TOO_BIG);
        expect_fail(encs[i], ins[i]->p, ins[i]->len, 0, CODEC_TOO_BIG);
        /* the limit counts only what this call appends */
        buf_puts(&out, "0123456789");
        CHECK_EQ_INT(dec(encs[i], ins[i]->p, ins[i]->len, 100000, &out, err, sizeof(err)),
                     CODEC_OK);
        CHECK_EQ_INT(out.len, 100010);
        buf_free(&out);
    }
    check_note(NULL);
    /* identity bodies are held to the limit too */
    expect_fail("identity", a, 100, 99, CODEC_TOO_BIG);
    expect_fail("", a, 1, 0, CODEC_TOO_BIG);
    struct buf out = BUF_INIT;
    char err[200];
    CHECK_EQ_INT(dec("", a, 100, 100, &out, err, sizeof(err)), CODEC_OK);
    CHECK_EQ_INT(out.len, 100);
    buf_free(&out);
    /* the err message mentions the limit */
    buf_puts(&out, "x");
    CHECK_EQ_INT(dec("gzip", gz.p, gz.len, 4096, &out, err, sizeof(err)), CODEC_TOO_BIG);
    CHECK(strstr(err, "4096") != NULL);
    CHECK_EQ_STR(out.p, "x");
    buf_free(&out);
    buf_free(&gz);
    buf_free(&raw);
    free(a);
}

/* 256 MiB of zeros in about 250 KiB: decoding stops at the limit and the
 * output buffer stays near it. Also as a second layer inside gzip. */
static void test_bomb(void)
{
    const size_t chunk = 1 << 20, total = 256;
    unsigned char *zeros = calloc(1, chunk);
    struct buf bomb = BUF_INIT;
    z_stream zs;
    if (zeros == NULL)
        abort();
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    for (size_t k = 0; k < total; k++) {
        zs.next_in = zeros;
        zs.avail_in = (uInt)chunk;
        int flush = k + 1 == total ? Z_FINISH : Z_NO_FLUSH;
        int zr;
        do {
            buf_reserve(&bomb, 65536);
            zs.next_out = (Bytef *)bomb.p + bomb.len;
            zs.avail_out = 65536;
            zr = deflate(&zs, flush);
            bomb.len += 65536 - zs.avail_out;
        } while (zs.avail_out == 0 || (flush == Z_FINISH && zr == Z_OK));
    }
    deflateEnd(&zs);
    free(zeros);
    CHECK(bomb.len < 1 << 20);

    const size_t limit = 1 << 20;
    struct buf out = BUF_INIT;
    char err[200];
    CHECK_EQ_INT(dec("gzip", bomb.p, bomb.len, limit, &out, err, sizeof(err)), CODEC_TOO_BIG);
    CHECK_EQ_INT(out.len, 0);
    CHECK(out.cap <= 4 * limit);
    buf_free(&out);

    struct buf outer = BUF_INIT;
    zcompress(31, bomb.p, bomb.len, &outer);
    CHECK_EQ_INT(dec("gzip, gzip", outer.p, outer.len, limit, &out, err, sizeof(err)),
                 CODEC_TOO_BIG);
    CHECK(out.cap <= 4 * limit);
    buf_free(&out);
    buf_free(&outer);
    buf_free(&bomb);
}

/* ---- br ---------------------------------------------------------------------- */

#ifdef LUCENT_HAVE_BROTLI
/* Made with BrotliEncoderCompress(11, 22, BROTLI_MODE_GENERIC, ...). */
static const unsigned char br_hello[] = {
    0x1b, 0x2c, 0x00, 0xf8, 0x9d, 0x09, 0x76, 0xac, 0x15, 0x2b, 0x5d, 0xf2, 0xc2,
    0x5a, 0x01, 0x04, 0x49, 0x4c, 0x95, 0xc9, 0x25, 0x5b, 0xda, 0x5b, 0x86, 0xb0,
    0xd0, 0x95, 0x22, 0x4c, 0x85, 0x00, 0x7b, 0x38, 0xff, 0x22, 0x00,
};
static const char br_hello_text[] = "Hello, brotli! Hello, brotli! Hello, brotli!\n";
/* 100000 times 'a' */
static const unsigned char br_a100k[] = {
    0x5b, 0x9f, 0x86, 0x81, 0x5f, 0x22, 0x2c, 0x1e, 0x0b, 0x04, 0xb2, 0xfc, 0x02, 0x00,
};
/* empty content */
static const unsigned char br_empty[] = {0x06};

static void test_brotli(void)
{
    CHECK(codec_supported("br", 2));
    CHECK(codec_supported("BR, gzip", 8));
    expect_ok("br", br_hello, sizeof(br_hello), br_hello_text, sizeof(br_hello_text) - 1);
    expect_ok("Br", br_hello, sizeof(br_hello), br_hello_text, sizeof(br_hello_text) - 1);
    expect_ok("br", br_empty, sizeof(br_empty), "", 0);

    unsigned char *a = xmalloc(100000);
    memset(a, 'a', 100000);
    expect_ok("br", br_a100k, sizeof(br_a100k), a, 100000);
    struct buf out = BUF_INIT;
    char err[200];
    CHECK_EQ_INT(dec("br", br_a100k, sizeof(br_a100k), 100000, &out, err, sizeof(err)), CODEC_OK);
    CHECK_EQ_INT(out.len, 100000);
    buf_free(&out);
    expect_fail("br", br_a100k, sizeof(br_a100k), 99999, CODEC_TOO_BIG);
    expect_fail("br", br_a100k, sizeof(br_a100k), 0, CODEC_TOO_BIG);

    for (size_t cut = 1; cut < sizeof(br_hello); cut++) {
        check_note("br cut at %zu", cut);
        expect_fail("br", br_hello, cut, SIZE_MAX, CODEC_BAD);
    }
    check_note(NULL);
    expect_fail("br", text, sizeof(text) - 1, SIZE_MAX, CODEC_BAD);

    /* gzip applied after br */
    struct buf gz = BUF_INIT;
    zcompress(31, br_hello, sizeof(br_hello), &gz);
    expect_ok("br, gzip", gz.p, gz.len, br_hello_text, sizeof(br_hello_text) - 1);
    expect_fail("gzip, br", gz.p, gz.len, SIZE_MAX, CODEC_BAD);
    buf_free(&gz);
    free(a);
}
#endif

/* ---- zstd -------------------------------------------------------------------- */

#ifdef LUCENT_HAVE_ZSTD
static void zstd_compress(const void *in, size_t len, struct buf *out)
{
    size_t bound = ZSTD_compressBound(len);
    buf_reserve(out, bound);
    size_t n = ZSTD_compress(out->p + out->len, bound, in, len, 19);
    if (ZSTD_isError(n))
        abort();
    out->len += n;
}

static void test_zstd(void)
{
    CHECK(codec_supported("zstd", 4));
    CHECK(codec_supported("ZSTD", 4));

    unsigned char *rnd = xmalloc(200000);
    random_bytes(rnd, 200000, 99);
    static const size_t sizes[] = {0, 1, 1000, 16384, 200000};
    for (size_t i = 0; i < LC_ARRAY_LEN(sizes); i++) {
        struct buf z = BUF_INIT;
        check_note("zstd, %zu random bytes", sizes[i]);
        zstd_compress(rnd, sizes[i], &z);
        expect_ok("zstd", z.p, z.len, rnd, sizes[i]);
        buf_free(&z);
    }
    check_note(NULL);

    /* two frames back to back */
    struct buf z = BUF_INIT;
    zstd_compress("first, ", 7, &z);
    zstd_compress("second", 6, &z);
    expect_ok("zstd", z.p, z.len, "first, second", 13);
    buf_free(&z);

    /* truncated anywhere, garbage, trailing garbage */
    zstd_compress(text, sizeof(text) - 1, &z);
    for (size_t cut = 1; cut < z.len; cut++) {
        check_note("zstd cut at %zu", cut);
        expect_fail("zstd", z.p, cut, SIZE_MAX, CODEC_BAD);
    }
    check_note(NULL);
    expect_fail("zstd", text, sizeof(text) - 1, SIZE_MAX, CODEC_BAD);
    buf_free(&z);

    /* the limit */
    unsigned char *a = xmalloc(100000);
    memset(a, 'a', 100000);
    zstd_compress(a, 100000, &z);
    struct buf out = BUF_INIT;
    char err[200];
    CHECK_EQ_INT(dec("zstd", z.p, z.len, 100000, &out, err, sizeof(err)), CODEC_OK);
    CHECK(out.len == 100000 && memcmp(out.p, a, 100000) == 0);
    buf_free(&out);
    expect_fail("zstd", z.p, z.len, 99999, CODEC_TOO_BIG);
    expect_fail("zstd", z.p, z.len, 0, CODEC_TOO_BIG);
    buf_free(&z);

    /* a frame asking for a 32 MiB window is refused (HTTP allows 8 MiB) */
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    if (cc == NULL || ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 25)))
        abort();
    buf_reserve(&z, 1 << 16);
    ZSTD_outBuffer ob = {z.p, 1 << 16, 0};
    ZSTD_inBuffer ib = {a, 100000, 0};
    /* streamed without a pledged size, so the header keeps the window */
    if (ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)) ||
        ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end) != 0)
        abort();
    z.len = ob.pos;
    ZSTD_freeCCtx(cc);
    expect_fail("zstd", z.p, z.len, SIZE_MAX, CODEC_BAD);
    buf_free(&z);

    /* zstd inside gzip */
    struct buf inner = BUF_INIT, wire = BUF_INIT;
    zstd_compress(text, sizeof(text) - 1, &inner);
    zcompress(31, inner.p, inner.len, &wire);
    expect_ok("zstd, gzip", wire.p, wire.len, text, sizeof(text) - 1);
    buf_free(&inner);
    buf_free(&wire);
    free(a);
    free(rnd);
}
#endif

int main(void)
{
    test_round_trips();
    test_names();
    test_unsupported();
    test_layers();
    test_gzip_members();
    test_truncated_corrupt();
    test_empty();
    test_limit();
    test_bomb();
#ifdef LUCENT_HAVE_BROTLI
    test_brotli();
#endif
#ifdef LUCENT_HAVE_ZSTD
    test_zstd();
#endif
    return check_summary();
}
