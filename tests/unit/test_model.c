/* SPDX-License-Identifier: MIT */
/* Unit tests of ui-term/model: the viewer's flows without a terminal.
 * Adding past max_flows (oldest dropped and counted, the selection kept on
 * its flow), filters (set, cleared, refiltering keeps the selection on or
 * just before its flow, a bad expression keeps the old filter, new flows
 * filtered as they come), delete, clear, follow, moving and selecting,
 * search with wrap-around in both directions; random operations checked
 * against a plain reference list; and 100,000 flows (timings printed for
 * information, nothing asserted about them). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/flow.h"
#include "core/hdrs.h"
#include "ui-term/model.h"
#include "check.h"

/* ---- fixtures ------------------------------------------------------------- */

/* A finished flow: "GET http://host/path" with a status (0: none). */
static struct flow *mkflow(const char *method, const char *url, int status)
{
    struct flow *f = flow_new(flow_next_id());
    if (f == NULL)
        abort();
    snprintf(f->method, sizeof(f->method), "%s", method);
    flow_set_url(f, url, strlen(url));
    f->status = status;
    if (status)
        flow_set_reason(f, "Reason", 6);
    f->state = FLOW_DONE;
    return f;
}

/* flow number n (1-based) of a series: odd ones GET, even ones POST */
static struct flow *nth(unsigned n)
{
    char url[64];
    snprintf(url, sizeof(url), "http://h%u.test/p/%u", n % 7, n);
    return mkflow(n % 2 ? "GET" : "POST", url, n % 5 == 0 ? 404 : 200);
}

/* the path number of a flow made by nth() */
static unsigned num(const struct flow *f)
{
    const char *s = f ? strrchr(f->url, '/') : NULL;
    return s ? (unsigned)strtoul(s + 1, NULL, 10) : 0;
}

static unsigned sel_num(const struct model *m)
{
    return num(model_selected(m));
}

static unsigned shown_num(const struct model *m, size_t i)
{
    return num(model_shown(m, i));
}

/* What holds after every operation: each shown index has a flow, in
 * arrival order, the selection is in range. */
static void check_invariants(const struct model *m, const char *where)
{
    check_note("invariants after %s", where);
    CHECK(m->nshown <= model_count(m));
    CHECK(model_count(m) <= m->cap);
    if (m->nshown == 0) {
        CHECK_EQ_INT(m->sel, 0);
        CHECK(model_selected(m) == NULL);
    } else {
        CHECK(m->sel < m->nshown);
        CHECK(model_selected(m) != NULL);
    }
    for (size_t i = 0; i < m->nshown; i++) {
        CHECK(model_shown(m, i) != NULL);
        if (i > 0)
            CHECK(m->shown[i] > m->shown[i - 1]);
    }
    CHECK(model_shown(m, m->nshown) == NULL);
    check_note(NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- adding and dropping -------------------------------------------------- */

static void test_empty(void)
{
    struct model m;
    char err[200];
    size_t pos = 99;
    CHECK_EQ_INT(model_init(&m, 10), 0);
    CHECK_EQ_INT(model_count(&m), 0);
    CHECK_EQ_INT(m.nshown, 0);
    CHECK(m.follow);
    CHECK(model_selected(&m) == NULL);
    CHECK(model_shown(&m, 0) == NULL);
    /* nothing to act on: no crash, nothing changes */
    model_move(&m, 1);
    model_move(&m, -1);
    model_select(&m, 5);
    model_delete_selected(&m);
    CHECK(!model_search(&m, "x", 1));
    CHECK(!model_search(&m, "x", -1));
    CHECK_EQ_INT(model_set_filter(&m, "~m GET", err, sizeof(err), &pos), 0);
    CHECK_EQ_STR(m.filter_text, "~m GET");
    model_clear(&m);
    check_invariants(&m, "empty model");
    model_free(&m);
    model_free(&m); /* freed members are NULL: a second free is harmless */
    model_free(NULL);
}

static void test_add_and_drop(void)
{
    struct model m;
    CHECK_EQ_INT(model_init(&m, 10), 0);
    for (unsigned i = 1; i <= 5; i++)
        model_add(&m, nth(i));
    CHECK_EQ_INT(model_count(&m), 5);
    CHECK_EQ_INT(m.nshown, 5);
    CHECK_EQ_INT(m.dropped, 0);
    CHECK_EQ_INT(shown_num(&m, 0), 1);
    CHECK_EQ_INT(shown_num(&m, 4), 5);
    CHECK_EQ_INT(sel_num(&m), 5); /* follow: the newest */
    check_invariants(&m, "5 adds");

    /* past max_flows: the oldest go, counted */
    for (unsigned i = 6; i <= 25; i++)
        model_add(&m, nth(i));
    CHECK_EQ_INT(model_count(&m), 10);
    CHECK_EQ_INT(m.nshown, 10);
    CHECK_EQ_INT(m.dropped, 15);
    CHECK_EQ_INT(shown_num(&m, 0), 16);
    CHECK_EQ_INT(shown_num(&m, 9), 25);
    CHECK_EQ_INT(sel_num(&m), 25);
    CHECK(m.follow);
    check_invariants(&m, "25 adds into 10");

    /* not following: the selection stays on its flow while flows go */
    model_select(&m, 3); /* flow 19 */
    CHECK(!m.follow);
    CHECK_EQ_INT(sel_num(&m), 19);
    m.top = 2;
    model_add(&m, nth(26)); /* drops 16 */
    CHECK_EQ_INT(sel_num(&m), 19);
    CHECK_EQ_INT(m.sel, 2);
    CHECK_EQ_INT(m.top, 1);
    model_add(&m, nth(27));
    model_add(&m, nth(28)); /* drops 17, 18 */
    CHECK_EQ_INT(sel_num(&m), 19);
    CHECK_EQ_INT(m.sel, 0);
    CHECK_EQ_INT(m.top, 0);
    /* its flow dropped: on the oldest kept one */
    model_add(&m, nth(29));
    CHECK_EQ_INT(m.sel, 0);
    CHECK_EQ_INT(sel_num(&m), 20);
    CHECK_EQ_INT(m.dropped, 19);
    check_invariants(&m, "drops without follow");
    model_free(&m);
}

/* ---- filters -------------------------------------------------------------- */

static void test_filter(void)
{
    struct model m;
    char err[200];
    size_t pos;
    CHECK_EQ_INT(model_init(&m, 100), 0);
    for (unsigned i = 1; i <= 20; i++)
        model_add(&m, nth(i));

    /* following: the newest shown flow stays selected */
    err[0] = '\0';
    CHECK_EQ_INT(model_set_filter(&m, "~m POST", err, sizeof(err), &pos), 0);
    CHECK_EQ_STR(m.filter_text, "~m POST");
    CHECK_EQ_INT(m.nshown, 10);
    CHECK_EQ_INT(model_count(&m), 20);
    for (size_t i = 0; i < m.nshown; i++)
        CHECK_EQ_STR(model_shown(&m, i)->method, "POST");
    CHECK_EQ_INT(sel_num(&m), 20);
    CHECK(m.follow);
    check_invariants(&m, "~m POST");

    /* new flows go through the filter as they come */
    model_add(&m, nth(21)); /* GET */
    CHECK_EQ_INT(m.nshown, 10);
    CHECK_EQ_INT(model_count(&m), 21);
    CHECK_EQ_INT(sel_num(&m), 20);
    model_add(&m, nth(22)); /* POST */
    CHECK_EQ_INT(m.nshown, 11);
    CHECK_EQ_INT(sel_num(&m), 22);

    /* not following: refiltering keeps the selected flow when it still
     * shows, else the nearest one before it */
    model_select(&m, 4); /* flow 10 */
    CHECK_EQ_INT(sel_num(&m), 10);
    CHECK(!m.follow);
    CHECK_EQ_INT(model_set_filter(&m, "", err, sizeof(err), &pos), 0);
    CHECK(m.filter_text == NULL);
    CHECK_EQ_INT(m.nshown, 22);
    CHECK_EQ_INT(sel_num(&m), 10);
    CHECK_EQ_INT(model_set_filter(&m, "~c 404", err, sizeof(err), &pos), 0);
    CHECK_EQ_INT(m.nshown, 4); /* 5 10 15 20 */
    CHECK_EQ_INT(sel_num(&m), 10);
    CHECK_EQ_INT(model_set_filter(&m, "~m GET", err, sizeof(err), &pos), 0);
    CHECK_EQ_INT(sel_num(&m), 9); /* 10 is a POST: the GET before it */
    CHECK_EQ_INT(model_set_filter(&m, "   ", err, sizeof(err), &pos), 0); /* blank = all */
    CHECK(m.filter_text == NULL);
    CHECK_EQ_INT(m.nshown, 22);
    CHECK_EQ_INT(sel_num(&m), 9);
    /* selected before every flow that passes: the first one */
    model_select(&m, 0); /* flow 1, a GET */
    CHECK_EQ_INT(model_set_filter(&m, "~m POST", err, sizeof(err), &pos), 0);
    CHECK_EQ_INT(sel_num(&m), 2);
    /* nothing passes */
    CHECK_EQ_INT(model_set_filter(&m, "~m PATCH", err, sizeof(err), &pos), 0);
    CHECK_EQ_INT(m.nshown, 0);
    CHECK(model_selected(&m) == NULL);
    check_invariants(&m, "nothing passes");
    model_add(&m, nth(24));
    CHECK_EQ_INT(m.nshown, 0);
    CHECK_EQ_INT(model_set_filter(&m, "~u /p/2$", err, sizeof(err), &pos), 0);
    CHECK_EQ_INT(m.nshown, 1);
    CHECK_EQ_INT(sel_num(&m), 2);

    /* a bad expression: -1, a message and a position, and the old filter
     * with its list and selection as they were */
    CHECK_EQ_INT(model_set_filter(&m, "~m POST", err, sizeof(err), &pos), 0);
    model_select(&m, 3);
    unsigned before = sel_num(&m);
    size_t nshown = m.nshown;
    static const char *const bad[] = {"~x",   "~m POST & ~nope", "(~m GET", "~c abc", "~m", "!",
                                      "~m (", "a | | b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        check_note("bad filter %s", bad[i]);
        err[0] = '\0';
        pos = 9999;
        CHECK_EQ_INT(model_set_filter(&m, bad[i], err, sizeof(err), &pos), -1);
        CHECK(err[0] != '\0');
        CHECK(pos <= strlen(bad[i]));
        CHECK_EQ_STR(m.filter_text, "~m POST");
        CHECK_EQ_INT(m.nshown, nshown);
        CHECK_EQ_INT(sel_num(&m), before);
    }
    check_note(NULL);
    err[0] = '\0';
    CHECK_EQ_INT(model_set_filter(&m, "~x", err, sizeof(err), NULL), -1); /* errpos optional */
    CHECK(strstr(err, "~x") != NULL);
    /* and the kept filter still filters new flows */
    model_add(&m, nth(25)); /* GET */
    CHECK_EQ_INT(m.nshown, nshown);
    model_add(&m, nth(26)); /* POST */
    CHECK_EQ_INT(m.nshown, nshown + 1);
    check_invariants(&m, "bad filters");
    model_free(&m);

    /* filtered-out flows dropped past max_flows do not disturb the list */
    CHECK_EQ_INT(model_init(&m, 10), 0);
    CHECK_EQ_INT(model_set_filter(&m, "~m POST", err, sizeof(err), &pos), 0);
    for (unsigned i = 1; i <= 35; i++)
        model_add(&m, nth(i));
    CHECK_EQ_INT(model_count(&m), 10);
    CHECK_EQ_INT(m.dropped, 25);
    CHECK_EQ_INT(m.nshown, 5); /* 26 28 30 32 34 */
    CHECK_EQ_INT(shown_num(&m, 0), 26);
    CHECK_EQ_INT(sel_num(&m), 34);
    check_invariants(&m, "filtered drops");
    model_free(&m);
}

/* ---- delete, clear -------------------------------------------------------- */

static void test_delete(void)
{
    struct model m;
    char err[200];
    size_t pos;
    CHECK_EQ_INT(model_init(&m, 100), 0);
    for (unsigned i = 1; i <= 6; i++)
        model_add(&m, nth(i));
    model_select(&m, 2); /* flow 3 */
    model_delete_selected(&m);
    CHECK_EQ_INT(m.nshown, 5);
    CHECK_EQ_INT(sel_num(&m), 4); /* the next one moves up */
    CHECK_EQ_INT(shown_num(&m, 1), 2);
    CHECK_EQ_INT(shown_num(&m, 2), 4);
    /* the status bar's total: a deleted flow is no longer kept */
    CHECK_EQ_INT(model_count(&m), 5);
    check_invariants(&m, "delete in the middle");

    /* the last row: the one before becomes selected */
    model_select(&m, m.nshown - 1);
    model_delete_selected(&m);
    CHECK_EQ_INT(m.nshown, 4);
    CHECK_EQ_INT(sel_num(&m), 5);
    /* deleted flows stay gone when refiltering */
    CHECK_EQ_INT(model_set_filter(&m, "~m GET", err, sizeof(err), &pos), 0);
    CHECK_EQ_INT(m.nshown, 2); /* 1 5 */
    CHECK_EQ_INT(model_set_filter(&m, "", err, sizeof(err), &pos), 0);
    CHECK_EQ_INT(m.nshown, 4); /* 1 2 4 5 */
    CHECK_EQ_INT(shown_num(&m, 0), 1);
    CHECK_EQ_INT(shown_num(&m, 3), 5);
    /* a search never lands on a deleted flow */
    CHECK(!model_search(&m, "/p/3", 1));
    CHECK(!model_search(&m, "/p/6", -1));
    /* delete everything, one at a time */
    while (m.nshown > 0)
        model_delete_selected(&m);
    CHECK(model_selected(&m) == NULL);
    CHECK_EQ_INT(model_count(&m), 0);
    model_delete_selected(&m);
    check_invariants(&m, "all deleted");
    model_add(&m, nth(7));
    CHECK_EQ_INT(m.nshown, 1);
    CHECK_EQ_INT(sel_num(&m), 7);
    model_free(&m);

    /* deleted flows take no room from max_flows, and are not "dropped" */
    CHECK_EQ_INT(model_init(&m, 10), 0);
    for (unsigned i = 1; i <= 10; i++)
        model_add(&m, nth(i));
    for (int i = 0; i < 5; i++)
        model_delete_selected(&m); /* the newest: 10 9 8 7 6 */
    CHECK_EQ_INT(m.nshown, 5);
    CHECK_EQ_INT(sel_num(&m), 5);
    CHECK_EQ_INT(model_count(&m), 5);
    model_add(&m, nth(11)); /* 6 kept of 10: nothing to drop */
    CHECK_EQ_INT(m.nshown, 6);
    CHECK_EQ_INT(shown_num(&m, 0), 1);
    CHECK_EQ_INT(m.dropped, 0);
    for (unsigned i = 12; i <= 20; i++)
        model_add(&m, nth(i)); /* 15 would be kept: the 5 oldest go */
    CHECK_EQ_INT(m.nshown, 10);
    CHECK_EQ_INT(shown_num(&m, 0), 11);
    CHECK_EQ_INT(m.dropped, 5);
    check_invariants(&m, "deletes then drops");
    model_free(&m);
}

static void test_clear(void)
{
    struct model m;
    char err[200];
    size_t pos;
    CHECK_EQ_INT(model_init(&m, 10), 0);
    for (unsigned i = 1; i <= 15; i++)
        model_add(&m, nth(i));
    CHECK_EQ_INT(model_set_filter(&m, "~m GET", err, sizeof(err), &pos), 0);
    model_select(&m, 1);
    CHECK(!m.follow);
    model_clear(&m);
    CHECK_EQ_INT(model_count(&m), 0);
    CHECK_EQ_INT(m.nshown, 0);
    CHECK(model_selected(&m) == NULL);
    CHECK(m.follow);
    CHECK_EQ_INT(m.dropped, 5);            /* what was dropped stays counted */
    CHECK_EQ_STR(m.filter_text, "~m GET"); /* clearing flows keeps the filter */
    check_invariants(&m, "clear");
    /* the model works on after a clear: room for max_flows again */
    for (unsigned i = 16; i <= 30; i++)
        model_add(&m, nth(i));
    CHECK_EQ_INT(model_count(&m), 10);
    CHECK_EQ_INT(m.dropped, 10);
    CHECK_EQ_INT(m.nshown, 5); /* 21 23 25 27 29 */
    CHECK_EQ_INT(shown_num(&m, 0), 21);
    CHECK_EQ_INT(sel_num(&m), 29);
    CHECK_EQ_INT(model_set_filter(&m, "", err, sizeof(err), &pos), 0);
    CHECK_EQ_INT(m.nshown, 10);
    CHECK_EQ_INT(shown_num(&m, 0), 21);
    check_invariants(&m, "after clear");
    model_clear(&m);
    model_clear(&m);
    check_invariants(&m, "clear twice");
    model_free(&m);
}

/* ---- follow, move, select ------------------------------------------------- */

static void test_follow_and_move(void)
{
    struct model m;
    CHECK_EQ_INT(model_init(&m, 100), 0);
    for (unsigned i = 1; i <= 10; i++)
        model_add(&m, nth(i));
    CHECK(m.follow);
    CHECK_EQ_INT(m.sel, 9);

    /* moving up ends follow; new flows then leave the selection alone */
    model_move(&m, -1);
    CHECK(!m.follow);
    CHECK_EQ_INT(sel_num(&m), 9);
    model_add(&m, nth(11));
    CHECK_EQ_INT(sel_num(&m), 9);
    /* clamped at both ends */
    model_move(&m, -100);
    CHECK_EQ_INT(m.sel, 0);
    model_move(&m, -1);
    CHECK_EQ_INT(m.sel, 0);
    model_move(&m, 3);
    CHECK_EQ_INT(sel_num(&m), 4);
    CHECK(!m.follow);
    model_move(&m, 1000);
    CHECK_EQ_INT(m.sel, 10);
    /* landing on the last row does not turn follow back on (the user does:
     * F or G in the view) */
    CHECK(!m.follow);
    model_add(&m, nth(12));
    CHECK_EQ_INT(sel_num(&m), 11);

    /* with follow on, moving down onto the last row keeps it */
    m.follow = true;
    m.sel = m.nshown - 2;
    model_move(&m, 1);
    CHECK(m.follow);
    model_add(&m, nth(13));
    CHECK_EQ_INT(sel_num(&m), 13);
    /* and moving down past it too */
    model_move(&m, 5);
    CHECK(m.follow);
    CHECK_EQ_INT(sel_num(&m), 13);

    /* select: clamped; anything but the last row ends follow */
    model_select(&m, 1000);
    CHECK_EQ_INT(sel_num(&m), 13);
    CHECK(m.follow);
    model_select(&m, 0);
    CHECK(!m.follow);
    CHECK_EQ_INT(sel_num(&m), 1);
    model_select(&m, m.nshown - 1);
    CHECK(!m.follow);
    check_invariants(&m, "follow and move");
    model_free(&m);
}

/* ---- search ----------------------------------------------------------------- */

static void test_search(void)
{
    struct model m;
    char err[200];
    size_t pos;
    CHECK_EQ_INT(model_init(&m, 100), 0);
    model_add(&m, mkflow("GET", "http://alpha.test/one", 200));    /* 0 */
    model_add(&m, mkflow("POST", "http://beta.test/Needle", 201)); /* 1 */
    model_add(&m, mkflow("GET", "http://gamma.test/three", 404));  /* 2 */
    model_add(&m, mkflow("PUT", "http://delta.test/needle", 500)); /* 3 */
    struct flow *e = mkflow("GET", "http://eps.test/x", 0);
    flow_fail(e, "connection refused by upstream");
    model_add(&m, e);                                           /* 4 */
    model_add(&m, mkflow("DELETE", "http://zeta.test/z", 204)); /* 5 */
    CHECK(m.follow);
    CHECK_EQ_INT(m.sel, 5);

    /* forward from the last row wraps to the top; case-insensitive */
    CHECK(model_search(&m, "NEEDLE", 1));
    CHECK_EQ_INT(m.sel, 1);
    CHECK(!m.follow); /* a search moves the selection: follow ends */
    CHECK(model_search(&m, "needle", 1));
    CHECK_EQ_INT(m.sel, 3);
    CHECK(model_search(&m, "needle", 1)); /* wraps */
    CHECK_EQ_INT(m.sel, 1);
    /* backward, wrapping at the top */
    CHECK(model_search(&m, "needle", -1));
    CHECK_EQ_INT(m.sel, 3);
    CHECK(model_search(&m, "needle", -1));
    CHECK_EQ_INT(m.sel, 1);
    /* methods, the status as a whole number, errors */
    model_select(&m, 0);
    CHECK(model_search(&m, "put", 1));
    CHECK_EQ_INT(m.sel, 3);
    CHECK(model_search(&m, "404", -1));
    CHECK_EQ_INT(m.sel, 2);
    model_select(&m, 0);
    CHECK(model_search(&m, "refused", 1));
    CHECK_EQ_INT(m.sel, 4);
    /* the only match is the selected flow: found, stays */
    CHECK(model_search(&m, "eps.test", 1));
    CHECK_EQ_INT(m.sel, 4);
    CHECK(model_search(&m, "eps.test", -1));
    CHECK_EQ_INT(m.sel, 4);
    /* not found: false, the selection stays */
    CHECK(!model_search(&m, "nowhere", 1));
    CHECK_EQ_INT(m.sel, 4);
    CHECK(!model_search(&m, "nowhere", -1));
    CHECK_EQ_INT(m.sel, 4);
    CHECK(!model_search(&m, "", 1));
    CHECK_EQ_INT(m.sel, 4);
    /* only shown flows are searched */
    CHECK_EQ_INT(model_set_filter(&m, "~m GET", err, sizeof(err), &pos), 0);
    CHECK(!model_search(&m, "needle", 1));
    CHECK(model_search(&m, "gamma", 1));
    CHECK_EQ_STR(model_selected(&m)->url, "http://gamma.test/three");
    check_invariants(&m, "search");
    model_free(&m);
}

/* ---- random operations against a reference --------------------------------- */

/* The reference: the numbers of the flows kept, in order (deleted ones
 * removed, the oldest dropped at cap); what the filter shows is computed
 * from it (odd numbers are GETs). */
struct ref {
    unsigned num[4096];
    size_t n;
};

static bool ref_passes(unsigned n, int filter)
{
    return filter == 0 || (filter == 1 && n % 2 == 1) || (filter == 2 && n % 2 == 0);
}

static void test_random(unsigned seed, size_t cap, bool deletes)
{
    static const char *const filters[] = {"", "~m GET", "~m POST"};
    struct model m;
    struct ref r = {.n = 0};
    unsigned next = 1;
    int filter = 0;
    uint64_t dropped = 0;
    char err[200];
    size_t pos;
    srand(seed);
    CHECK_EQ_INT(model_init(&m, cap), 0);
    for (int step = 0; step < 4000; step++) {
        int op = rand() % 100;
        char where[80];
        snprintf(where, sizeof(where), "seed %u step %d op %d", seed, step, op);
        if (op < 55) {
            if (r.n == cap) {
                memmove(r.num, r.num + 1, (r.n - 1) * sizeof(r.num[0]));
                r.n--;
                dropped++;
            }
            r.num[r.n++] = next;
            model_add(&m, nth(next++));
        } else if (op < 62) {
            filter = rand() % 3;
            CHECK_EQ_INT(model_set_filter(&m, filters[filter], err, sizeof(err), &pos), 0);
        } else if (op < 65) {
            CHECK_EQ_INT(model_set_filter(&m, "~m (", err, sizeof(err), &pos), -1);
        } else if (op < 75) {
            model_move(&m, (long)(rand() % 41) - 20);
        } else if (op < 80) {
            model_select(&m, (size_t)rand() % (m.nshown + 3));
        } else if (op < 85) {
            char text[32];
            snprintf(text, sizeof(text), "/p/%u", (unsigned)rand() % (next + 1));
            unsigned before = sel_num(&m);
            bool found = model_search(&m, text, rand() % 2 ? 1 : -1);
            if (found) {
                CHECK(strstr(model_selected(&m)->url, text) != NULL);
            } else {
                CHECK_EQ_INT(sel_num(&m), before);
            }
        } else if (op < 88) {
            m.follow = !m.follow;
        } else if (deletes && op < 97) {
            unsigned gone = sel_num(&m);
            model_delete_selected(&m);
            for (size_t i = 0; gone && i < r.n; i++)
                if (r.num[i] == gone) {
                    memmove(r.num + i, r.num + i + 1, (r.n - i - 1) * sizeof(r.num[0]));
                    r.n--;
                    break;
                }
        } else if (op == 99 && rand() % 4 == 0) {
            model_clear(&m);
            r.n = 0;
        }
        check_invariants(&m, where);
        check_note("%s", where);
        /* the shown list is the reference, filtered */
        size_t k = 0;
        bool same = true;
        for (size_t i = 0; i < r.n; i++) {
            if (!ref_passes(r.num[i], filter))
                continue;
            if (k >= m.nshown || shown_num(&m, k) != r.num[i])
                same = false;
            k++;
        }
        CHECK(same && k == m.nshown);
        CHECK_EQ_INT(model_count(&m), r.n);
        CHECK_EQ_INT(m.dropped, dropped);
        check_note(NULL);
        if (check_state()->failed > 20)
            break; /* one broken step makes every later one fail too */
    }
    model_free(&m);
}

/* ---- 100,000 flows ------------------------------------------------------------ */

static void test_many(size_t total, size_t cap)
{
    struct model m;
    char err[200];
    size_t pos;
    double t0 = now_s();
    CHECK_EQ_INT(model_init(&m, cap), 0);
    for (size_t i = 1; i <= total; i++) {
        struct flow *f = nth((unsigned)i);
        hdrs_add(&f->req_headers, "Host", 4, "h.test", 6);
        model_add(&m, f);
    }
    double t1 = now_s();
    size_t kept = total < cap ? total : cap;
    CHECK_EQ_INT(model_count(&m), kept);
    CHECK_EQ_INT(m.nshown, kept);
    CHECK_EQ_INT(m.dropped, total - kept);
    CHECK_EQ_INT(sel_num(&m), total);

    /* set a filter, move around, refilter, search */
    model_select(&m, kept / 2);
    unsigned mid = sel_num(&m);
    CHECK_EQ_INT(model_set_filter(&m, "~m POST & ~u /p/", err, sizeof(err), &pos), 0);
    double t2 = now_s();
    CHECK_EQ_INT(m.nshown, kept / 2);
    CHECK(sel_num(&m) == mid || sel_num(&m) == mid - 1);
    for (int i = 0; i < 1000; i++)
        model_move(&m, i % 2 ? 997 : -1000);
    model_move(&m, -(long)m.nshown);
    CHECK_EQ_INT(m.sel, 0);
    for (size_t i = 0; i < m.nshown; i += 1000)
        model_select(&m, i);
    model_move(&m, (long)m.nshown);
    CHECK_EQ_INT(m.sel, m.nshown - 1);
    double t3 = now_s();
    CHECK_EQ_INT(model_set_filter(&m, "~c 404 | ~d ^h3\\.test$", err, sizeof(err), &pos), 0);
    CHECK(m.nshown > 0);
    CHECK_EQ_INT(model_set_filter(&m, "", err, sizeof(err), &pos), 0);
    CHECK_EQ_INT(m.nshown, kept);
    double t4 = now_s();
    model_select(&m, 0);
    char last[32];
    snprintf(last, sizeof(last), "/p/%zu", total);
    CHECK(model_search(&m, last, 1));
    CHECK_EQ_INT(sel_num(&m), total);
    double t5 = now_s();
    /* more flows with a filter set and the selection in the middle */
    CHECK_EQ_INT(model_set_filter(&m, "~m GET", err, sizeof(err), &pos), 0);
    model_select(&m, m.nshown / 2);
    for (size_t i = total + 1; i <= total + 1000; i++)
        model_add(&m, nth((unsigned)i));
    double t6 = now_s();
    check_invariants(&m, "many flows");
    printf("model with %zu flows (max %zu): add %.3f s, filter %.3f s, moves %.3f s, "
           "two refilters %.3f s, search %.3f s, 1000 more %.3f s\n",
           total, cap, t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5);
    model_free(&m);
}

int main(void)
{
    test_empty();
    test_add_and_drop();
    test_filter();
    test_delete();
    test_clear();
    test_follow_and_move();
    test_search();
    for (unsigned seed = 1; seed <= 4; seed++)
        test_random(seed, seed % 2 ? 16 : 4000, false);
    for (unsigned seed = 5; seed <= 8; seed++)
        test_random(seed, seed % 2 ? 16 : 4000, true);
    test_many(100000, 100000);
    test_many(100000, 50000); /* the default --max-flows: half of them dropped */
    return check_summary();
}
