/* SPDX-License-Identifier: MIT */
/* Unit tests of core/jsonp: a table of documents it must accept or reject
 * (RFC 8259, strictly), the tree it builds, string and number decoding, the
 * position in error messages, every truncation of a document, the nesting
 * cap, and numbers under a locale with a decimal comma. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonp.h"
#include "check.h"

static bool accepts(const char *s, size_t len)
{
    char err[200];
    struct jsonp_doc *d = jsonp_parse(s, len, err, sizeof(err));
    bool ok = d != NULL;
    if (!ok && err[0] == '\0')
        return true; /* a rejection must say why: count it as a wrong answer */
    jsonp_free(d);
    return ok;
}

static void test_table(void)
{
    static const struct {
        const char *s;
        bool ok;
    } rows[] = {
        {"{}", true},
        {"[]", true},
        {" \t\r\n{ } \n", true},
        {"0", true},
        {"-0.5e-3", true},
        {"\"\"", true},
        {"null", true},
        {"[true,false,null,1,\"a\",{},[]]", true},
        {"{\"a\":{\"b\":[1,{\"c\":\"d\"}]},\"e\":2E+2}", true},
        {"\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"", true},
        {"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", true},
        {"\xef\xbb\xbf{}", true}, /* byte order mark */
        {"", false},
        {"   ", false},
        {"{", false},
        {"}", false},
        {"{\"a\"}", false},
        {"{\"a\":}", false},
        {"{\"a\":1,}", false},
        {"[1,]", false},
        {"[1 2]", false},
        {"{a:1}", false},
        {"{'a':1}", false},
        {"01", false},
        {"1.", false},
        {".5", false},
        {"+1", false},
        {"1e", false},
        {"-", false},
        {"0x10", false},
        {"1e999", false}, /* not finite */
        {"NaN", false},
        {"Infinity", false},
        {"tru", false},
        {"nulll", false},
        {"{}{}", false},
        {"{} x", false},
        {"\"abc", false},
        {"\"a\x01\"", false},
        {"\"a\nb\"", false},
        {"\"\\x41\"", false},
        {"\"\\u12\"", false},
        {"\"\\u00g0\"", false},
        {"\"\xff\"", false},
        {"\"\xc0\x80\"", false},         /* overlong */
        {"\"\xed\xa0\x80\"", false},     /* encoded surrogate */
        {"\"\xf4\x90\x80\x80\"", false}, /* above U+10FFFF */
        {"\"\xc3\"", false},             /* cut sequence */
        {"[1]/*c*/", false},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        check_note("row %zu: %s", r, rows[r].s);
        CHECK_EQ_INT(accepts(rows[r].s, strlen(rows[r].s)), rows[r].ok);
    }
    check_note(NULL);
    /* an embedded NUL byte is not JSON, outside or inside a string */
    CHECK(!accepts("{}\0", 3));
    CHECK(!accepts("\"a\0b\"", 5));
}

static void test_tree(void)
{
    static const char doc[] =
        "{\"log\": {\"version\": \"1.2\", \"n\": -12.5e1, \"t\": true,"
        " \"f\": false, \"z\": null, \"list\": [1, [2, 3], {\"k\": \"v\"}, 4],"
        " \"dup\": 1, \"dup\": 2, \"empty\": {}, \"none\": []}}";
    char err[200];
    struct jsonp_doc *d = jsonp_parse(doc, strlen(doc), err, sizeof(err));
    if (!CHECK(d != NULL))
        return;
    const struct jsonp_val *root = jsonp_root(d), *log = jsonp_get(root, "log");
    CHECK_EQ_INT(root->type, JSONP_OBJECT);
    CHECK_EQ_INT(root->n, 1);
    CHECK(log != NULL && log->type == JSONP_OBJECT && log->n == 10);
    size_t len = 0;
    CHECK_EQ_STR(jsonp_str(jsonp_get(log, "version"), &len), "1.2");
    CHECK_EQ_INT(len, 3);
    double v = 0;
    CHECK(jsonp_num(jsonp_get(log, "n"), &v) && v == -125.0);
    CHECK(!jsonp_num(jsonp_get(log, "version"), &v));
    CHECK(jsonp_true(jsonp_get(log, "t")));
    CHECK(!jsonp_true(jsonp_get(log, "f")));
    CHECK_EQ_INT(jsonp_get(log, "f")->type, JSONP_FALSE);
    CHECK_EQ_INT(jsonp_get(log, "z")->type, JSONP_NULL);
    CHECK(jsonp_str(jsonp_get(log, "n"), NULL) == NULL);

    const struct jsonp_val *list = jsonp_get(log, "list");
    CHECK(list != NULL && list->type == JSONP_ARRAY && list->n == 4);
    if (list != NULL && list->n == 4) {
        CHECK(jsonp_num(&list->items[0], &v) && v == 1);
        CHECK(list->items[1].type == JSONP_ARRAY && list->items[1].n == 2);
        CHECK(jsonp_num(&list->items[1].items[1], &v) && v == 3);
        CHECK_EQ_STR(jsonp_str(jsonp_get(&list->items[2], "k"), NULL), "v");
        CHECK(jsonp_num(&list->items[3], &v) && v == 4);
        CHECK(list->items[0].key == NULL); /* array items have no names */
    }
    CHECK(jsonp_num(jsonp_get(log, "dup"), &v) && v == 1); /* the first one */
    CHECK(jsonp_get(log, "empty")->n == 0 && jsonp_get(log, "empty")->type == JSONP_OBJECT);
    CHECK(jsonp_get(log, "none")->n == 0 && jsonp_get(log, "none")->type == JSONP_ARRAY);
    CHECK(jsonp_get(log, "missing") == NULL);
    CHECK(jsonp_get(NULL, "log") == NULL);
    CHECK(jsonp_get(list, "log") == NULL); /* not an object */
    CHECK(jsonp_get(jsonp_get(jsonp_get(root, "x"), "y"), "z") == NULL);
    jsonp_free(d);
    jsonp_free(NULL);
}

static void test_strings(void)
{
    static const struct {
        const char *in, *out;
        size_t out_len;
    } rows[] = {
        {"\"plain\"", "plain", 5},
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
        {"\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},
        {"\"\\ud83d\"", "\xef\xbf\xbd", 3},   /* lone high surrogate */
        {"\"\\ude00x\"", "\xef\xbf\xbdx", 4}, /* lone low surrogate */
        {"\"\\ud83d\\u0041\"",
         "\xef\xbf\xbd"
         "A",
         4}, /* high then not low */
        {"\"a\\u0000b\"", "a\0b", 3},
        {"\"\xe2\x82\xac\"", "\xe2\x82\xac", 3},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        check_note("string row %zu", r);
        char err[200];
        struct jsonp_doc *d = jsonp_parse(rows[r].in, strlen(rows[r].in), err, sizeof(err));
        if (!CHECK(d != NULL))
            continue;
        size_t len = 0;
        const char *s = jsonp_str(jsonp_root(d), &len);
        CHECK(s != NULL && s[len] == '\0');
        CHECK_EQ_MEM(s, len, rows[r].out, rows[r].out_len);
        jsonp_free(d);
    }
    check_note(NULL);

    /* member names are decoded too */
    char err[200];
    static const char doc[] = "{\"na\\u006de\":\"v\"}";
    struct jsonp_doc *d = jsonp_parse(doc, strlen(doc), err, sizeof(err));
    CHECK(d != NULL && jsonp_get(jsonp_root(d), "name") != NULL);
    jsonp_free(d);
}

static void test_numbers(void)
{
    static const struct {
        const char *in;
        double want;
    } rows[] = {
        {"0", 0},
        {"-0", 0},
        {"12", 12},
        {"1.5", 1.5},
        {"-2.25", -2.25},
        {"1e3", 1000},
        {"1E-2", 0.01},
        {"123.456", 123.456},
        {"9007199254740993", 9007199254740992.0},
        {"0.00000000000000000000000000000000000000000000000000000000000000000000000001", 1e-74},
    };
    for (int pass = 0; pass < 2; pass++) {
        /* the second pass runs under a locale whose decimal point is a comma,
         * as a UI that calls setlocale() would; skipped when none exists */
        if (pass == 1 && setlocale(LC_ALL, "de_DE.UTF-8") == NULL &&
            setlocale(LC_ALL, "fr_FR.UTF-8") == NULL && setlocale(LC_ALL, "de_DE") == NULL)
            break;
        for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
            check_note("pass %d number row %zu: %s", pass, r, rows[r].in);
            char err[200];
            struct jsonp_doc *d = jsonp_parse(rows[r].in, strlen(rows[r].in), err, sizeof(err));
            double v = -1;
            CHECK(d != NULL && jsonp_num(jsonp_root(d), &v) && v == rows[r].want);
            jsonp_free(d);
        }
    }
    setlocale(LC_ALL, "C");
    check_note(NULL);
}

static void test_errors(void)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"", "line 1, column 1: empty input"},
        {"{\n  \"a\": 1,\n  \"b\" 2\n}", "line 3, column 7: expected ':' after a member name"},
        {"[1,\n2,\n", "line 3, column 1: unexpected end of input"},
        {"{\"a\":\"x\ty\"}", "line 1, column 8: control character in string"},
        {"[\"\\q\"]", "line 1, column 3: invalid escape in string"},
        {"[1 2]", "line 1, column 4: expected ',' or ']'"},
        {"{\"a\":1 \"b\"}", "line 1, column 8: expected ',' or '}'"},
        {"[\"\xff\"]", "line 1, column 3: invalid UTF-8 in string"},
        {"{} {}", "line 1, column 4: unexpected data after the JSON value"},
        {"[1e400]", "line 1, column 2: number out of range"},
        {"{1:2}", "line 1, column 2: expected a member name (a string)"},
        {"[-]", "line 1, column 2: expected a value"},
        {"\"abc", "line 1, column 5: unterminated string"},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        check_note("error row %zu", r);
        char err[200] = "unchanged";
        struct jsonp_doc *d = jsonp_parse(rows[r].in, strlen(rows[r].in), err, sizeof(err));
        CHECK(d == NULL);
        CHECK_EQ_STR(err, rows[r].want);
        jsonp_free(d);
    }
    check_note(NULL);
    /* no error buffer: still fails cleanly */
    CHECK(jsonp_parse("[", 1, NULL, 0) == NULL);
    /* a tiny buffer is cut, never overrun */
    char small[8];
    CHECK(jsonp_parse("[", 1, small, sizeof(small)) == NULL);
    CHECK_EQ_INT(strlen(small), 7);
}

static void test_prefixes(void)
{
    /* every proper prefix of an object is incomplete, so rejected, and
     * nothing leaks on any of the error paths */
    static const char doc[] =
        "{\"log\":{\"entries\":[{\"a\":[1,2.5e-1,true,false,null],\"s\":\"x\\u00e9\\ud83d\\ude00"
        "\xc3\xa9\"},{}],\"n\":-0}}";
    size_t len = strlen(doc);
    char err[200];
    for (size_t cut = 0; cut < len; cut++) {
        check_note("prefix of %zu bytes", cut);
        struct jsonp_doc *d = jsonp_parse(doc, cut, err, sizeof(err));
        CHECK(d == NULL);
        jsonp_free(d);
    }
    check_note(NULL);
    struct jsonp_doc *d = jsonp_parse(doc, len, err, sizeof(err));
    CHECK(d != NULL);
    jsonp_free(d);
}

static void test_depth(void)
{
    char err[200];
    size_t n = JSONP_MAX_DEPTH;
    char *s = malloc(2 * n + 2);
    if (s == NULL)
        abort();
    /* exactly the cap parses; one more level does not */
    memset(s, '[', n);
    memset(s + n, ']', n);
    struct jsonp_doc *d = jsonp_parse(s, 2 * n, err, sizeof(err));
    CHECK(d != NULL);
    jsonp_free(d);
    memset(s, '[', n + 1);
    memset(s + n + 1, ']', n + 1);
    d = jsonp_parse(s, 2 * n + 2, err, sizeof(err));
    CHECK(d == NULL);
    CHECK(strstr(err, "nested too deeply") != NULL);
    free(s);

    /* a deep but hostile input (no closing brackets) is refused, not a crash */
    size_t big = 1000000;
    s = malloc(big);
    if (s == NULL)
        abort();
    memset(s, '[', big);
    d = jsonp_parse(s, big, err, sizeof(err));
    CHECK(d == NULL);
    free(s);
}

static void test_big_array(void)
{
    /* many values: the stack and value array grow many times */
    size_t n = 100000;
    char *s = malloc(n * 8 + 2);
    if (s == NULL)
        abort();
    size_t len = 0;
    s[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, 9, "%s{\"k\":%zu}", i ? "," : "", i % 10);
    s[len++] = ']';
    char err[200];
    struct jsonp_doc *d = jsonp_parse(s, len, err, sizeof(err));
    if (CHECK(d != NULL)) {
        const struct jsonp_val *root = jsonp_root(d);
        CHECK_EQ_INT(root->n, n);
        double v = -1;
        CHECK(jsonp_num(jsonp_get(&root->items[n - 1], "k"), &v) && v == (double)((n - 1) % 10));
    }
    jsonp_free(d);
    free(s);
}

int main(void)
{
    test_table();
    test_tree();
    test_strings();
    test_numbers();
    test_errors();
    test_prefixes();
    test_depth();
    test_big_array();
    return check_summary();
}
