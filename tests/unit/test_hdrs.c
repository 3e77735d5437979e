/* SPDX-License-Identifier: MIT */
/* Unit tests of core/hdrs: ordered, case-keeping header lists. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/hdrs.h"
#include "check.h"

/* ---- helpers ------------------------------------------------------------ */

/* Fills h from "Name: value\n" lines (the value is what follows ": "). */
static void load(struct hdrs *h, const char *text)
{
    while (*text != '\0') {
        const char *eol = strchr(text, '\n');
        const char *colon = strstr(text, ": ");
        if (eol == NULL)
            eol = text + strlen(text);
        if (colon == NULL || colon > eol) {
            fprintf(stderr, "test bug: bad line in %s\n", text);
            abort();
        }
        hdrs_add(h, text, (size_t)(colon - text), colon + 2, (size_t)(eol - colon - 2));
        text = *eol != '\0' ? eol + 1 : eol;
    }
}

/* Writes h as "Name: value\n" lines into out (reset first), skipping the
 * fields named `skip` (NULL: none). */
static const char *dump_skip(const struct hdrs *h, const char *skip, struct buf *out)
{
    buf_reset(out);
    buf_puts(out, ""); /* p is never NULL afterwards */
    for (size_t i = 0; i < h->n; i++) {
        size_t nl, vl;
        const char *n = hdrs_name(h, i, &nl);
        const char *v = hdrs_value(h, i, &vl);
        if (skip != NULL && hdrs_name_is(h, i, skip))
            continue;
        buf_append(out, n, nl);
        buf_append(out, ": ", 2);
        buf_append(out, v, vl);
        buf_putc(out, '\n');
    }
    return out->p;
}

static const char *dump(const struct hdrs *h, struct buf *out)
{
    return dump_skip(h, NULL, out);
}

static size_t count_named(const struct hdrs *h, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += hdrs_name_is(h, i, name);
    return n;
}

/* Checks that hdrs_get(h, name) is exactly `want` (NULL: absent). */
static bool check_get(const struct hdrs *h, const char *name, const char *want)
{
    size_t vl = 12345;
    const char *v = hdrs_get(h, name, &vl);
    check_note("hdrs_get(\"%s\")", name);
    bool ok;
    if (want == NULL)
        ok = CHECK(v == NULL) && CHECK_EQ_INT(vl, 0);
    else
        ok = CHECK(v != NULL) && CHECK_EQ_MEM(v, vl, want, strlen(want));
    check_note(NULL);
    return ok;
}

/* ---- add / get / name_is ------------------------------------------------ */

static void test_add_get(void)
{
    struct hdrs h;
    struct buf b = BUF_INIT;

    hdrs_init(&h);
    CHECK_EQ_INT(h.n, 0);
    check_get(&h, "Host", NULL);

    load(&h, "Host: a.test\nContent-Type: text/html\nX-Dup: one\nHostname: other\nx-dup: two\n");
    /* lengths are honoured: only the first nlen / vlen bytes are taken */
    hdrs_add(&h, "X-Len-ignored", 5, "12345678", 3);
    hdrs_add(&h, "X-Empty", 7, NULL, 0);
    hdrs_add(&h, "X-Zero", 6, "", 0);

    CHECK_EQ_INT(h.n, 8);
    CHECK_EQ_STR(dump(&h, &b), "Host: a.test\nContent-Type: text/html\nX-Dup: one\n"
                               "Hostname: other\nx-dup: two\nX-Len: 123\nX-Empty: \nX-Zero: \n");

    check_get(&h, "Host", "a.test");
    check_get(&h, "HOST", "a.test");
    check_get(&h, "content-type", "text/html");
    check_get(&h, "cOnTeNt-TyPe", "text/html");
    check_get(&h, "x-dup", "one"); /* the first of two */
    check_get(&h, "Hostname", "other");
    check_get(&h, "Hos", NULL);      /* a prefix is not a match */
    check_get(&h, "Host-name", NULL);
    check_get(&h, "X-Len", "123");
    check_get(&h, "X-Len-ignored", NULL);
    check_get(&h, "X-Empty", "");
    check_get(&h, "x-zero", "");
    check_get(&h, "Cookie", NULL);

    CHECK(hdrs_name_is(&h, 0, "host"));
    CHECK(hdrs_name_is(&h, 0, "HOST"));
    CHECK(!hdrs_name_is(&h, 0, "Hostname"));
    CHECK(!hdrs_name_is(&h, 3, "Host"));
    CHECK(hdrs_name_is(&h, 4, "X-DUP"));

    size_t nl, vl;
    const char *n = hdrs_name(&h, 1, &nl);
    const char *v = hdrs_value(&h, 1, &vl);
    CHECK_EQ_MEM(n, nl, "Content-Type", 12);
    CHECK_EQ_MEM(v, vl, "text/html", 9);

    /* clear empties the list; it is usable again */
    hdrs_clear(&h);
    CHECK_EQ_INT(h.n, 0);
    check_get(&h, "Host", NULL);
    load(&h, "B: 2\nA: 1\n");
    CHECK_EQ_STR(dump(&h, &b), "B: 2\nA: 1\n");

    hdrs_free(&h);
    CHECK_EQ_INT(h.n, 0);
    hdrs_free(&h); /* twice is fine: free re-initialises */
    hdrs_free(NULL);
    buf_free(&b);
}

/* Enough fields and bytes to grow the entry array and the arena several
 * times; every value must survive the moves. */
static void test_many(void)
{
    struct hdrs h;
    hdrs_init(&h);
    char name[32], value[200];
    for (int i = 0; i < 300; i++) {
        int nl = snprintf(name, sizeof(name), "X-Field-%d", i);
        memset(value, 'a' + i % 26, sizeof(value));
        int vl = snprintf(value, sizeof(value), "v%d-", i);
        value[vl] = 'z'; /* value: "v<i>-zzz..." of length 20 + i % 150 */
        hdrs_add(&h, name, (size_t)nl, value, (size_t)(20 + i % 150));
    }
    CHECK_EQ_INT(h.n, 300);
    int bad = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "x-FIELD-%d", i);
        size_t vl;
        const char *v = hdrs_get(&h, name, &vl);
        char want[32];
        int wl = snprintf(want, sizeof(want), "v%d-z", i);
        if (v == NULL || vl != (size_t)(20 + i % 150) || memcmp(v, want, (size_t)wl) != 0 ||
            v[vl - 1] != (vl > (size_t)wl ? 'a' + i % 26 : 'z'))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    hdrs_free(&h);
}

/* ---- has_token ---------------------------------------------------------- */

static void test_has_token(void)
{
    static const struct {
        const char *fields;
        const char *name, *token;
        bool want;
    } rows[] = {
        {"Connection: keep-alive, Upgrade\n", "Connection", "upgrade", true},
        {"Connection: keep-alive, Upgrade\n", "connection", "KEEP-ALIVE", true},
        {"Connection: close\n", "Connection", "close", true},
        {"Connection: close\n", "Connection", "clos", false},
        {"Connection: close\n", "Connection", "closed", false},
        {"Connection: closed\n", "Connection", "close", false},
        {"Connection: x-upgrade\n", "Connection", "upgrade", false},
        {"Connection:   ,  upgrade  ,  \n", "Connection", "upgrade", true},
        {"Connection: a,\tb\t,c\n", "Connection", "b", true},
        {"Connection: a,b,c\n", "Connection", "c", true},
        {"Connection: foo bar\n", "Connection", "foo", false},
        {"Connection: \n", "Connection", "close", false},
        {"Connection: close\nConnection: Upgrade\n", "Connection", "upgrade", true},
        {"Upgrade: close\nConnection: keep-alive\n", "Connection", "close", false},
        {"Transfer-Encoding: gzip, chunked\n", "Transfer-Encoding", "chunked", true},
        {"Transfer-Encoding: chunked, gzip\n", "Transfer-Encoding", "chunked", true},
        {"Host: a\n", "Connection", "close", false},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct hdrs h;
        hdrs_init(&h);
        load(&h, rows[r].fields);
        check_note("row %zu: %s has %s", r, rows[r].name, rows[r].token);
        CHECK_EQ_INT(hdrs_has_token(&h, rows[r].name, rows[r].token), rows[r].want);
        hdrs_free(&h);
    }
    check_note(NULL);
}

/* ---- set / remove ------------------------------------------------------- */

static void test_set(void)
{
    struct hdrs h;
    struct buf b = BUF_INIT;
    hdrs_init(&h);

    load(&h, "A: 1\nB: 2\na: 3\nC: 4\nA: 5\n");
    hdrs_set(&h, "a", "x", 1); /* first "A" kept in place, with its case */
    CHECK_EQ_STR(dump(&h, &b), "A: x\nB: 2\nC: 4\n");

    hdrs_set(&h, "D", "new", 3); /* absent: appended */
    CHECK_EQ_STR(dump(&h, &b), "A: x\nB: 2\nC: 4\nD: new\n");

    hdrs_set(&h, "B", "longer-value-than-before", 6); /* vlen honoured */
    CHECK_EQ_STR(dump(&h, &b), "A: x\nB: longer\nC: 4\nD: new\n");

    hdrs_set(&h, "C", "", 0);
    CHECK_EQ_STR(dump(&h, &b), "A: x\nB: longer\nC: \nD: new\n");
    check_get(&h, "c", "");

    /* the single instance at the end */
    hdrs_set(&h, "d", "last", 4);
    CHECK_EQ_STR(dump(&h, &b), "A: x\nB: longer\nC: \nD: last\n");

    /* on an empty list */
    hdrs_clear(&h);
    hdrs_set(&h, "Host", "h.test", 6);
    CHECK_EQ_STR(dump(&h, &b), "Host: h.test\n");

    hdrs_free(&h);
    buf_free(&b);
}

static void test_remove(void)
{
    struct hdrs h;
    struct buf b = BUF_INIT;
    hdrs_init(&h);

    load(&h, "A: 1\nB: 2\na: 3\nC: 4\nA: 5\nAB: 6\n");
    CHECK_EQ_INT(hdrs_remove(&h, "a", 1), 3);
    CHECK_EQ_STR(dump(&h, &b), "B: 2\nC: 4\nAB: 6\n");
    CHECK_EQ_INT(hdrs_remove(&h, "a", 1), 0);
    CHECK_EQ_INT(hdrs_remove(&h, "Zzz", 3), 0);
    CHECK_EQ_STR(dump(&h, &b), "B: 2\nC: 4\nAB: 6\n");
    /* nlen counts: "ABC" with nlen 2 is "AB" */
    CHECK_EQ_INT(hdrs_remove(&h, "ABC", 2), 1);
    CHECK_EQ_STR(dump(&h, &b), "B: 2\nC: 4\n");
    CHECK_EQ_INT(hdrs_remove(&h, "c", 1), 1);
    CHECK_EQ_INT(hdrs_remove(&h, "B", 1), 1);
    CHECK_EQ_INT(h.n, 0);
    /* adding after removals */
    load(&h, "E: 5\n");
    CHECK_EQ_STR(dump(&h, &b), "E: 5\n");

    hdrs_free(&h);
    buf_free(&b);
}

/* ---- streaming construction --------------------------------------------- */

static void test_feed_basic(void)
{
    struct hdrs h;
    struct buf b = BUF_INIT;
    hdrs_init(&h);

    hdrs_feed_value(&h, "ignored", 7); /* no field yet: nothing happens */
    CHECK_EQ_INT(h.n, 0);

    hdrs_feed_name(&h, "Con", 3);
    hdrs_feed_name(&h, "tent-Type", 9);
    hdrs_feed_value(&h, "text/", 5);
    hdrs_feed_value(&h, "html \t ", 7);
    hdrs_feed_end(&h);
    hdrs_feed_name(&h, "X-Inner", 7);
    hdrs_feed_value(&h, "a  b\t c", 7); /* inner whitespace stays */
    hdrs_feed_end(&h);
    hdrs_feed_name(&h, "X-Empty", 7); /* a field without value bytes */
    hdrs_feed_end(&h);
    hdrs_feed_name(&h, "X-Blank", 7);
    hdrs_feed_value(&h, " \t ", 3); /* all whitespace: trimmed to nothing */
    hdrs_feed_end(&h);
    hdrs_add(&h, "X-Added", 7, "v", 1); /* mixes with hdrs_add */
    /* a name after a value starts a new field, even without feed_end */
    hdrs_feed_name(&h, "N1", 2);
    hdrs_feed_value(&h, "v1", 2);
    hdrs_feed_name(&h, "N2", 2);
    hdrs_feed_value(&h, "v2", 2);
    hdrs_feed_end(&h);
    hdrs_feed_name(&h, "Last", 4);
    hdrs_feed_value(&h, "1", 1);
    hdrs_feed_end(&h);

    CHECK_EQ_INT(h.n, 8);
    CHECK_EQ_STR(dump(&h, &b), "Content-Type: text/html\nX-Inner: a  b\t c\nX-Empty: \n"
                               "X-Blank: \nX-Added: v\nN1: v1\nN2: v2\nLast: 1\n");
    check_get(&h, "content-type", "text/html");
    check_get(&h, "x-empty", "");
    hdrs_free(&h);
    buf_free(&b);
}

/* Every (name, value) is fed in two pieces at every split point of the name
 * and of the value; the list must always come out the same. */
static void test_feed_splits(void)
{
    static const struct {
        const char *name, *value, *want;
    } fields[] = {
        {"Host", "a.test", "a.test"},
        {"X-Trailing", "v1  \t", "v1"},
        {"Accept", "text/html, */*;q=0.8", "text/html, */*;q=0.8"},
        {"X-Sp", "x y ", "x y"},
    };
    static const char want[] = "Host: a.test\nX-Trailing: v1\nAccept: text/html, */*;q=0.8\n"
                               "X-Sp: x y\n";
    struct buf b = BUF_INIT;
    size_t max = 0;
    for (size_t f = 0; f < LC_ARRAY_LEN(fields); f++) {
        size_t l = strlen(fields[f].name) + strlen(fields[f].value);
        if (l > max)
            max = l;
    }
    int bad = 0;
    /* split point s applies to every field: min(s, len) in the name and
     * s - name_len in the value (so each field is split once per s). */
    for (size_t s = 0; s <= max; s++) {
        struct hdrs h;
        hdrs_init(&h);
        for (size_t f = 0; f < LC_ARRAY_LEN(fields); f++) {
            const char *n = fields[f].name, *v = fields[f].value;
            size_t nl = strlen(n), vl = strlen(v);
            size_t cut = s < nl + vl ? s : nl + vl;
            if (cut <= nl) {
                if (cut > 0)
                    hdrs_feed_name(&h, n, cut);
                if (nl - cut > 0)
                    hdrs_feed_name(&h, n + cut, nl - cut);
                hdrs_feed_value(&h, v, vl);
            } else {
                hdrs_feed_name(&h, n, nl);
                hdrs_feed_value(&h, v, cut - nl);
                if (vl - (cut - nl) > 0)
                    hdrs_feed_value(&h, v + (cut - nl), vl - (cut - nl));
            }
            hdrs_feed_end(&h);
        }
        check_note("split at %zu", s);
        if (!CHECK_EQ_STR(dump(&h, &b), want))
            bad++;
        for (size_t f = 0; f < LC_ARRAY_LEN(fields); f++)
            if (!check_get(&h, fields[f].name, fields[f].want))
                bad++;
        hdrs_free(&h);
    }
    check_note(NULL);
    CHECK_EQ_INT(bad, 0);
    buf_free(&b);
}

/* ---- copy --------------------------------------------------------------- */

static void test_copy(void)
{
    struct hdrs src, dst;
    struct buf b = BUF_INIT;
    hdrs_init(&src);
    hdrs_init(&dst);

    load(&dst, "Old: 1\nOlder: 2\n"); /* replaced by the copy */
    load(&src, "Host: a.test\nX-A: 1\nx-a: 2\n");
    hdrs_feed_name(&src, "Fed", 3);
    hdrs_feed_value(&src, "val  ", 5);
    hdrs_feed_end(&src);

    hdrs_copy(&dst, &src);
    CHECK_EQ_STR(dump(&dst, &b), "Host: a.test\nX-A: 1\nx-a: 2\nFed: val\n");
    check_get(&dst, "Old", NULL);

    /* the copy is independent: changing or freeing the source leaves it */
    hdrs_set(&src, "Host", "changed", 7);
    hdrs_remove(&src, "X-A", 3);
    hdrs_free(&src);
    CHECK_EQ_STR(dump(&dst, &b), "Host: a.test\nX-A: 1\nx-a: 2\nFed: val\n");
    check_get(&dst, "host", "a.test");

    /* copying an empty list empties the destination */
    hdrs_init(&src);
    hdrs_copy(&dst, &src);
    CHECK_EQ_INT(dst.n, 0);

    hdrs_free(&src);
    hdrs_free(&dst);
    buf_free(&b);
}

/* ---- hop-by-hop --------------------------------------------------------- */

static void test_strip_hop_by_hop(void)
{
    static const struct {
        const char *in;
        bool upgrading;
        const char *want; /* without Connection when upgrading */
        size_t removed;
    } rows[] = {
        /* Connection and the fields it names, any case, every instance */
        {"Host: a.test\nConnection: close, X-Foo\nX-Foo: 1\nContent-Length: 5\n"
         "Cookie: c=1\nx-foo: 2\n",
         false, "Host: a.test\nContent-Length: 5\nCookie: c=1\n", 3},
        /* the fixed list */
        {"Proxy-Connection: keep-alive\nHost: h\nKeep-Alive: timeout=5\n"
         "Proxy-Authorization: Basic eDp5\nContent-Length: 10\nTE: trailers\nTrailer: X-T\n"
         "Transfer-Encoding: chunked\nUpgrade: h2c\nCookie: a=b\n",
         false, "Host: h\nContent-Length: 10\nCookie: a=b\n", 7},
        /* lower case names */
        {"connection: x-a\nx-a: 1\nte: trailers\nhost: h\nkeep-alive: 1\n", false, "host: h\n",
         4},
        /* several Connection fields, each naming fields */
        {"Connection: X-A\nX-A: 1\nConnection: X-B\nX-B: 2\nX-C: 3\n", false, "X-C: 3\n", 4},
        /* odd list syntax: empty elements, spaces, tabs */
        {"Connection: ,  X-A ,\t,X-B,\nX-B: 2\nX-A: 1\nX-C: 3\n", false, "X-C: 3\n", 3},
        /* Connection naming itself */
        {"Connection: Connection\nHost: h\n", false, "Host: h\n", 1},
        /* Connection naming a fixed hop-by-hop field */
        {"Connection: Keep-Alive\nKeep-Alive: 5\nHost: h\n", false, "Host: h\n", 2},
        /* nothing hop-by-hop: untouched */
        {"Host: h\nContent-Length: 0\nCookie: a\nCookie: b\nX-Upgrade-Ish: 1\n", false,
         "Host: h\nContent-Length: 0\nCookie: a\nCookie: b\nX-Upgrade-Ish: 1\n", 0},
        /* not upgrading: Upgrade goes, even when Connection names it */
        {"Host: h\nConnection: Upgrade, Keep-Alive\nUpgrade: websocket\nKeep-Alive: t=5\n"
         "Sec-WebSocket-Key: k\n",
         false, "Host: h\nSec-WebSocket-Key: k\n", 3},
        /* upgrading: Upgrade stays, Connection becomes "upgrade" */
        {"Host: h\nConnection: Upgrade, Keep-Alive\nUpgrade: websocket\nKeep-Alive: t=5\n"
         "Sec-WebSocket-Key: k\n",
         true, "Host: h\nUpgrade: websocket\nSec-WebSocket-Key: k\n", 2},
        {"Connection: upgrade, X-Foo\nX-Foo: 1\nUpgrade: websocket\nTE: trailers\nHost: h\n",
         true, "Upgrade: websocket\nHost: h\n", 3},
    };
    struct buf b = BUF_INIT;
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct hdrs h;
        hdrs_init(&h);
        load(&h, rows[r].in);
        check_note("row %zu (upgrading=%d)", r, rows[r].upgrading);
        CHECK_EQ_INT(hdrs_strip_hop_by_hop(&h, rows[r].upgrading), rows[r].removed);
        if (rows[r].upgrading) {
            CHECK_EQ_STR(dump_skip(&h, "Connection", &b), rows[r].want);
            CHECK_EQ_INT(count_named(&h, "Connection"), 1);
            CHECK(hdrs_has_token(&h, "Connection", "upgrade"));
            size_t vl;
            const char *v = hdrs_get(&h, "Connection", &vl);
            if (CHECK(v != NULL))
                CHECK_EQ_MEM(v, vl, "upgrade", 7);
        } else {
            CHECK_EQ_STR(dump(&h, &b), rows[r].want);
        }
        hdrs_free(&h);
    }
    check_note(NULL);
    buf_free(&b);
}

int main(void)
{
    test_add_get();
    test_many();
    test_has_token();
    test_set();
    test_remove();
    test_feed_basic();
    test_feed_splits();
    test_copy();
    test_strip_hop_by_hop();
    return check_summary();
}
