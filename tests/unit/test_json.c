/* SPDX-License-Identifier: MIT */
/* Unit tests of core/json: JSON string escaping and the UTF-8 validator.
 * Besides exact expected outputs, a reference validator written here from
 * RFC 3629 / RFC 8259 checks that every output (over all 1- and 2-byte inputs
 * and many pseudo-random longer ones) is a valid JSON string that decodes to
 * the input: valid UTF-8 as is, every other byte as U+00XX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "check.h"

/* ---- reference: strict UTF-8 per RFC 3629 section 4 --------------------- */

/* Decodes one scalar value at s; returns its length (0 if invalid). */
static size_t ref_utf8(const unsigned char *s, size_t len, uint32_t *cp)
{
    static const struct {
        unsigned char lo[4], hi[4];
        size_t n;
    } forms[] = {
        {{0x00}, {0x7f}, 1},
        {{0xc2, 0x80}, {0xdf, 0xbf}, 2},
        {{0xe0, 0xa0, 0x80}, {0xe0, 0xbf, 0xbf}, 3},
        {{0xe1, 0x80, 0x80}, {0xec, 0xbf, 0xbf}, 3},
        {{0xed, 0x80, 0x80}, {0xed, 0x9f, 0xbf}, 3},
        {{0xee, 0x80, 0x80}, {0xef, 0xbf, 0xbf}, 3},
        {{0xf0, 0x90, 0x80, 0x80}, {0xf0, 0xbf, 0xbf, 0xbf}, 4},
        {{0xf1, 0x80, 0x80, 0x80}, {0xf3, 0xbf, 0xbf, 0xbf}, 4},
        {{0xf4, 0x80, 0x80, 0x80}, {0xf4, 0x8f, 0xbf, 0xbf}, 4},
    };
    for (size_t f = 0; f < LC_ARRAY_LEN(forms); f++) {
        size_t n = forms[f].n, k;
        if (len < n)
            continue;
        for (k = 0; k < n; k++)
            if (s[k] < forms[f].lo[k] || s[k] > forms[f].hi[k])
                break;
        if (k < n)
            continue;
        static const unsigned char lead_mask[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
        *cp = s[0] & lead_mask[n];
        for (k = 1; k < n; k++)
            *cp = (*cp << 6) | (s[k] & 0x3f);
        return n;
    }
    return 0;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
    if (cp < 0x80) {
        buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        buf_putc(b, (char)(0xc0 | cp >> 6));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        buf_putc(b, (char)(0xe0 | cp >> 12));
        buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        buf_putc(b, (char)(0xf0 | cp >> 18));
        buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        buf_putc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

/* What a JSON string of s must decode to: valid sequences as they are, each
 * byte of an invalid one as U+00XX (in UTF-8). */
static void ref_expected(const unsigned char *s, size_t len, struct buf *out)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = ref_utf8(s + i, len - i, &cp);
        if (n == 0) {
            put_utf8(out, s[i]);
            i++;
        } else {
            buf_append(out, s + i, n);
            i += n;
        }
    }
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Validates j[0..len) as exactly one JSON string (RFC 8259 section 7, UTF-8
 * text) and decodes it into out. Returns false when invalid. */
static bool ref_json_string(const char *j, size_t len, struct buf *out)
{
    const unsigned char *p = (const unsigned char *)j;
    size_t i = 1;
    if (len < 2 || p[0] != '"' || p[len - 1] != '"')
        return false;
    while (i < len - 1) {
        uint32_t cp;
        if (p[i] == '"' || p[i] < 0x20)
            return false;
        if (p[i] != '\\') {
            size_t n = ref_utf8(p + i, len - 1 - i, &cp);
            if (n == 0)
                return false;
            buf_append(out, p + i, n);
            i += n;
            continue;
        }
        if (i + 1 >= len - 1)
            return false;
        unsigned char e = p[i + 1];
        static const char escapes[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
        const char *simple = strchr(escapes, e);
        if (e != '\0' && e != 'u' && simple != NULL) {
            buf_putc(out, decoded[simple - escapes]);
            i += 2;
            continue;
        }
        if (e != 'u' || i + 6 > len - 1)
            return false;
        cp = 0;
        for (size_t k = 2; k < 6; k++) {
            int h = hexval(p[i + k]);
            if (h < 0)
                return false;
            cp = cp << 4 | (uint32_t)h;
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            return false; /* json_str has no reason to write surrogates */
        put_utf8(out, cp);
        i += 6;
    }
    return true;
}

/* Runs json_str on an exact-size copy of s (so over-reads are caught by
 * AddressSanitizer) and returns the output in out (reset first). */
static void run(const void *s, size_t len, struct buf *out)
{
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        abort();
    if (len > 0)
        memcpy(copy, s, len);
    buf_reset(out);
    json_str(out, copy, len);
    free(copy);
}

/* ---- exact outputs ------------------------------------------------------ */

#define S(lit) lit, sizeof(lit) - 1

static void test_exact(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } rows[] = {
        {S(""), "\"\""},
        {S("abc"), "\"abc\""},
        {S("a\"b"), "\"a\\\"b\""},
        {S("a\\b"), "\"a\\\\b\""},
        {S("\"\\\""), "\"\\\"\\\\\\\"\""},
        {S("/"), "\"/\""},
        {S("\n\r\t"), "\"\\n\\r\\t\""},
        {S("line1\nline2"), "\"line1\\nline2\""},
        {S("\x00"), "\"\\u0000\""},
        {S("a\x00z"), "\"a\\u0000z\""},
        {S("\x01\x1f"), "\"\\u0001\\u001f\""},
        {S("\x08\x0c\x0b\x1b"), "\"\\u0008\\u000c\\u000b\\u001b\""},
        {S(" ~\x7f"), "\" ~\x7f\""},
        /* valid UTF-8 passes through */
        {S("\xc3\xa9"), "\"\xc3\xa9\""},                 /* é, 2 bytes */
        {S("\xc2\x80"), "\"\xc2\x80\""},                 /* U+0080 */
        {S("\xdf\xbf"), "\"\xdf\xbf\""},                 /* U+07FF */
        {S("\xe2\x82\xac"), "\"\xe2\x82\xac\""},         /* €, 3 bytes */
        {S("\xe0\xa0\x80"), "\"\xe0\xa0\x80\""},         /* U+0800 */
        {S("\xed\x9f\xbf"), "\"\xed\x9f\xbf\""},         /* U+D7FF */
        {S("\xee\x80\x80"), "\"\xee\x80\x80\""},         /* U+E000 */
        {S("\xef\xbf\xbf"), "\"\xef\xbf\xbf\""},         /* U+FFFF */
        {S("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\""}, /* 😀, 4 bytes */
        {S("\xf0\x90\x80\x80"), "\"\xf0\x90\x80\x80\""}, /* U+10000 */
        {S("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\""}, /* U+10FFFF */
        {S("x\xc3\xa9\"\xe2\x82\xac\n"), "\"x\xc3\xa9\\\"\xe2\x82\xac\\n\""},
        /* invalid bytes become \u00XX, one per byte */
        {S("\xff"), "\"\\u00ff\""},
        {S("\xfe\xff"), "\"\\u00fe\\u00ff\""},
        {S("\x80"), "\"\\u0080\""},
        {S("\xbf"), "\"\\u00bf\""},
        {S("\xc0\x80"), "\"\\u00c0\\u0080\""},                         /* overlong NUL */
        {S("\xc1\xbf"), "\"\\u00c1\\u00bf\""},                         /* overlong */
        {S("\xe0\x80\xaf"), "\"\\u00e0\\u0080\\u00af\""},              /* overlong / */
        {S("\xe0\x9f\xbf"), "\"\\u00e0\\u009f\\u00bf\""},              /* overlong */
        {S("\xf0\x8f\xbf\xbf"), "\"\\u00f0\\u008f\\u00bf\\u00bf\""},   /* overlong */
        {S("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\""},              /* U+D800 */
        {S("\xed\xbf\xbf"), "\"\\u00ed\\u00bf\\u00bf\""},              /* U+DFFF */
        {S("\xf4\x90\x80\x80"), "\"\\u00f4\\u0090\\u0080\\u0080\""},   /* > U+10FFFF */
        {S("\xf5\x80\x80\x80"), "\"\\u00f5\\u0080\\u0080\\u0080\""},
        {S("\xf8\x88\x80\x80\x80"), "\"\\u00f8\\u0088\\u0080\\u0080\\u0080\""},
        {S("\xc3"), "\"\\u00c3\""},                                    /* truncated */
        {S("\xe2\x82"), "\"\\u00e2\\u0082\""},
        {S("\xf0\x9f\x98"), "\"\\u00f0\\u009f\\u0098\""},
        {S("\xe2\x82" "A"), "\"\\u00e2\\u0082A\""},
        {S("\xc3\xc3\xa9"), "\"\\u00c3\xc3\xa9\""},     /* bad lead, then a valid é */
        {S("\xe2\x82\xe2\x82\xac"), "\"\\u00e2\\u0082\xe2\x82\xac\""},
        {S("a\xff\"\x01"), "\"a\\u00ff\\\"\\u0001\""},
    };
    struct buf out = BUF_INIT;
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        check_note("row %zu", r);
        run(rows[r].in, rows[r].len, &out);
        CHECK_EQ_MEM(out.p, out.len, rows[r].want, strlen(rows[r].want));
        /* and the reference agrees that it is valid and decodes back */
        struct buf dec = BUF_INIT, want = BUF_INIT;
        buf_puts(&dec, "");
        buf_puts(&want, "");
        CHECK(ref_json_string(out.p, out.len, &dec));
        ref_expected((const unsigned char *)rows[r].in, rows[r].len, &want);
        CHECK_EQ_MEM(dec.p, dec.len, want.p, want.len);
        buf_free(&dec);
        buf_free(&want);
    }
    check_note(NULL);

    /* json_str appends: what was in the buffer stays */
    buf_reset(&out);
    buf_puts(&out, "{\"k\":");
    json_str(&out, "v\n", 2);
    buf_putc(&out, '}');
    CHECK_EQ_STR(out.p, "{\"k\":\"v\\n\"}");
    /* the length counts, not a NUL */
    buf_reset(&out);
    json_str(&out, "abcdef", 3);
    CHECK_EQ_STR(out.p, "\"abc\"");
    buf_free(&out);
}

/* ---- properties over many inputs ---------------------------------------- */

/* Checks one input; returns false (and records one failure) on mismatch. */
static bool roundtrip_ok(const unsigned char *s, size_t len, struct buf *out, struct buf *dec,
                         struct buf *want)
{
    run(s, len, out);
    buf_reset(dec);
    buf_reset(want);
    bool valid = ref_json_string(out->p, out->len, dec);
    ref_expected(s, len, want);
    if (valid && dec->len == want->len && memcmp(dec->p, want->p, want->len) == 0)
        return true;
    check_print_bytes("input ", s, len);
    CHECK(valid);
    CHECK_EQ_MEM(dec->p, dec->len, want->p, want->len);
    return false;
}

static void test_exhaustive_short(void)
{
    struct buf out = BUF_INIT, dec = BUF_INIT, want = BUF_INIT;
    buf_puts(&dec, "");
    buf_puts(&want, "");
    unsigned long bad = 0;
    for (unsigned a = 0; a < 256 && bad < 5; a++) {
        unsigned char s[2] = {(unsigned char)a, 0};
        if (!roundtrip_ok(s, 1, &out, &dec, &want))
            bad++;
        for (unsigned b = 0; b < 256 && bad < 5; b++) {
            s[1] = (unsigned char)b;
            if (!roundtrip_ok(s, 2, &out, &dec, &want))
                bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    buf_free(&out);
    buf_free(&dec);
    buf_free(&want);
}

static void test_random(void)
{
    /* bytes at the edges of the UTF-8 ranges, and ASCII that needs escaping */
    static const unsigned char alphabet[] = {
        0x00, 0x01, 0x0a, 0x1f, 0x20, '"', '\\', 'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
        0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1,
        0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff,
    };
    struct buf out = BUF_INIT, dec = BUF_INIT, want = BUF_INIT;
    buf_puts(&dec, "");
    buf_puts(&want, "");
    uint32_t x = 0x12345678;
    unsigned long bad = 0;
    for (int iter = 0; iter < 100000 && bad < 5; iter++) {
        unsigned char s[8];
        x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
        size_t len = 3 + x % 6;
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            s[k] = alphabet[x % sizeof(alphabet)];
        }
        if (!roundtrip_ok(s, len, &out, &dec, &want))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    buf_free(&out);
    buf_free(&dec);
    buf_free(&want);
}

/* ---- json_utf8_seq ------------------------------------------------------ */

static void test_utf8_seq(void)
{
    static const struct {
        const char *s;
        size_t len; /* bytes json_utf8_seq may look at */
        size_t want;
    } rows[] = {
        {"A", 1, 1},
        {"\x00", 1, 1},
        {"\x7f", 1, 1},
        {"AB", 2, 1},
        {"\xc3\xa9", 2, 2},
        {"\xc3\xa9z", 3, 2},
        {"\xc2\x80", 2, 2},
        {"\xdf\xbf", 2, 2},
        {"\xc0\x80", 2, 0},
        {"\xc1\xbf", 2, 0},
        {"\xc2", 1, 0},
        {"\xc2" "A", 2, 0},
        {"\xc2\xc0", 2, 0},
        {"\xe2\x82\xac", 3, 3},
        {"\xe2\x82\xac", 2, 0}, /* the third byte is beyond len */
        {"\xe0\xa0\x80", 3, 3},
        {"\xe0\x9f\xbf", 3, 0},
        {"\xed\x9f\xbf", 3, 3},
        {"\xed\xa0\x80", 3, 0},
        {"\xed\xbf\xbf", 3, 0},
        {"\xee\x80\x80", 3, 3},
        {"\xef\xbf\xbf", 3, 3},
        {"\xe2\x28\xa1", 3, 0},
        {"\xf0\x9f\x98\x80", 4, 4},
        {"\xf0\x9f\x98\x80", 3, 0},
        {"\xf0\x90\x80\x80", 4, 4},
        {"\xf0\x8f\xbf\xbf", 4, 0},
        {"\xf4\x8f\xbf\xbf", 4, 4},
        {"\xf4\x90\x80\x80", 4, 0},
        {"\xf5\x80\x80\x80", 4, 0},
        {"\xf8\x88\x80\x80\x80", 5, 0},
        {"\xff", 1, 0},
        {"\x80", 1, 0},
        {"\xbf", 1, 0},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        unsigned char *copy = malloc(rows[r].len);
        if (copy == NULL)
            abort();
        memcpy(copy, rows[r].s, rows[r].len);
        check_note("row %zu", r);
        CHECK_EQ_INT(json_utf8_seq(copy, rows[r].len), rows[r].want);
        free(copy);
    }
    check_note(NULL);

    /* agrees with the reference on every 1..4-byte prefix of some bytes */
    unsigned long bad = 0;
    uint32_t x = 0x9e3779b9;
    for (int iter = 0; iter < 200000; iter++) {
        unsigned char s[4];
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        s[0] = (unsigned char)(0xc0 + x % 0x40); /* a multi-byte lead or invalid */
        s[1] = (unsigned char)(0x70 + (x >> 8) % 0x60);
        s[2] = (unsigned char)(0x70 + (x >> 16) % 0x60);
        s[3] = (unsigned char)(0x70 + (x >> 24) % 0x60);
        size_t len = 1 + (x >> 6) % 4;
        uint32_t cp;
        if (json_utf8_seq(s, len) != ref_utf8(s, len, &cp) && bad++ < 3)
            check_print_bytes("mismatch", s, len);
    }
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    test_exact();
    test_exhaustive_short();
    test_random();
    test_utf8_seq();
    return check_summary();
}
