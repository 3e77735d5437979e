/* SPDX-License-Identifier: MIT */
/* Unit tests of core/bus: the bounded ring of finished flows, with flow
 * reference counts checked after every step (flow->refs). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/bus.h"
#include "core/flow.h"
#include "check.h"

static unsigned refs(struct flow *f)
{
    return atomic_load(&f->refs);
}

static struct flow *make(uint64_t id)
{
    struct flow *f = flow_new(id);
    if (f == NULL)
        abort();
    return f;
}

static int64_t now_ms(void)
{
    return flow_now_us() / 1000;
}

/* ---- flow references ---------------------------------------------------- */

static void test_flow_refs(void)
{
    struct flow *f = make(42);
    CHECK_EQ_INT(f->id, 42);
    CHECK_EQ_INT(refs(f), 1);
    CHECK(flow_ref(f) == f);
    CHECK_EQ_INT(refs(f), 2);
    flow_unref(f);
    CHECK_EQ_INT(refs(f), 1);
    flow_unref(f); /* freed: ASan would report a leak otherwise */
    flow_unref(NULL);
}

/* ---- one subscriber ----------------------------------------------------- */

static void test_order(void)
{
    struct bus *b = bus_new(16);
    struct flow *f[5], *out[8];
    uint64_t lost = 0;
    if (!CHECK(b != NULL))
        return;
    int sub = bus_subscribe(b);
    CHECK_EQ_INT(sub, 0);

    CHECK_EQ_INT(bus_drain(b, sub, out, 8, &lost), 0); /* empty */
    for (int i = 0; i < 5; i++) {
        f[i] = make((uint64_t)i + 1);
        bus_publish(b, f[i]);
        CHECK_EQ_INT(refs(f[i]), 2); /* ours + the queued one */
    }

    /* a partial drain, then the rest, in publication order */
    size_t n = bus_drain(b, sub, out, 2, &lost);
    CHECK_EQ_INT(n, 2);
    CHECK(out[0] == f[0]);
    CHECK(out[1] == f[1]);
    CHECK_EQ_INT(lost, 0);
    /* the drained reference moved to us; the slot's was released */
    CHECK_EQ_INT(refs(f[0]), 2);
    flow_unref(out[0]);
    flow_unref(out[1]);
    CHECK_EQ_INT(refs(f[0]), 1);
    CHECK_EQ_INT(refs(f[1]), 1);
    CHECK_EQ_INT(refs(f[2]), 2); /* still queued */

    n = bus_drain(b, sub, out, 8, &lost);
    CHECK_EQ_INT(n, 3);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_INT(out[i]->id, i + 3);
        flow_unref(out[i]);
    }
    CHECK_EQ_INT(lost, 0);
    CHECK_EQ_INT(bus_drain(b, sub, out, 8, &lost), 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(refs(f[i]), 1);

    /* wrapping the ring many times keeps the order */
    int bad = 0;
    uint64_t next = 100;
    for (int round = 0; round < 50; round++) {
        struct flow *g[7];
        for (int i = 0; i < 7; i++) {
            g[i] = make(next + (uint64_t)i);
            bus_publish(b, g[i]);
            flow_unref(g[i]);
        }
        n = bus_drain(b, sub, out, 8, &lost);
        bad += n != 7;
        for (size_t i = 0; i < n; i++) {
            bad += out[i]->id != next + i;
            bad += refs(out[i]) != 1; /* only ours is left */
            flow_unref(out[i]);
        }
        next += 7;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(lost, 0);

    bus_free(b);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(refs(f[i]), 1);
        flow_unref(f[i]);
    }
}

/* ---- several subscribers ------------------------------------------------ */

static void test_two_subscribers(void)
{
    struct bus *b = bus_new(8);
    struct flow *f[3], *out[8];
    uint64_t lost_a = 0, lost_b = 0;
    int a = bus_subscribe(b), c = bus_subscribe(b);
    CHECK_EQ_INT(a, 0);
    CHECK_EQ_INT(c, 1);

    for (int i = 0; i < 3; i++) {
        f[i] = make((uint64_t)i + 1);
        bus_publish(b, f[i]);
        CHECK_EQ_INT(refs(f[i]), 2); /* one slot, however many subscribers */
    }

    size_t n = bus_drain(b, a, out, 8, &lost_a);
    CHECK_EQ_INT(n, 3);
    for (size_t i = 0; i < n; i++) {
        CHECK(out[i] == f[i]);
        CHECK_EQ_INT(refs(f[i]), 3); /* ours, a's, and the slot kept for c */
        flow_unref(out[i]);
    }
    CHECK_EQ_INT(bus_drain(b, a, out, 8, &lost_a), 0);

    n = bus_drain(b, c, out, 8, &lost_b);
    CHECK_EQ_INT(n, 3);
    for (size_t i = 0; i < n; i++) {
        CHECK(out[i] == f[i]);
        CHECK_EQ_INT(refs(f[i]), 2); /* the slot went once both had read it */
        flow_unref(out[i]);
    }
    CHECK_EQ_INT(lost_a, 0);
    CHECK_EQ_INT(lost_b, 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(refs(f[i]), 1);

    /* interleaved: a event published after a drained is still seen by both */
    struct flow *g = make(9);
    bus_publish(b, g);
    CHECK_EQ_INT(bus_drain(b, c, out, 8, &lost_b), 1);
    CHECK(out[0] == g);
    flow_unref(out[0]);
    CHECK_EQ_INT(refs(g), 2);
    CHECK_EQ_INT(bus_drain(b, a, out, 8, &lost_a), 1);
    CHECK(out[0] == g);
    flow_unref(out[0]);
    CHECK_EQ_INT(refs(g), 1);
    flow_unref(g);

    /* a subscriber added later sees only what is published after it */
    g = make(10);
    bus_publish(b, g); /* queued for a and c */
    int late = bus_subscribe(b);
    CHECK_EQ_INT(late, 2);
    CHECK_EQ_INT(bus_drain(b, late, out, 8, &lost_b), 0);
    struct flow *h = make(11);
    bus_publish(b, h);
    CHECK_EQ_INT(bus_drain(b, late, out, 8, &lost_b), 1);
    CHECK(out[0] == h);
    flow_unref(out[0]);
    CHECK_EQ_INT(lost_b, 0);
    flow_unref(g);
    flow_unref(h);

    bus_free(b);
    for (int i = 0; i < 3; i++)
        flow_unref(f[i]);

    /* at most BUS_MAX_SUBSCRIBERS */
    b = bus_new(4);
    for (int i = 0; i < BUS_MAX_SUBSCRIBERS; i++)
        CHECK_EQ_INT(bus_subscribe(b), i);
    CHECK_EQ_INT(bus_subscribe(b), -1);
    bus_free(b);
}

/* ---- overflow ----------------------------------------------------------- */

static void test_overflow(void)
{
    enum { CAP = 4, N = 10 };
    struct bus *b = bus_new(CAP);
    struct flow *f[N], *out[N];
    int slow = bus_subscribe(b), fast = bus_subscribe(b);
    uint64_t lost_slow = 100, lost_fast = 0; /* drain adds to what is there */

    for (int i = 0; i < N; i++) {
        f[i] = make((uint64_t)i + 1);
        bus_publish(b, f[i]);
        /* the fast one keeps up */
        CHECK_EQ_INT(bus_drain(b, fast, out, N, &lost_fast), 1);
        CHECK(out[0] == f[i]);
        flow_unref(out[0]);
    }
    CHECK_EQ_INT(lost_fast, 0);
    /* the dropped events' references were released */
    for (int i = 0; i < N - CAP; i++)
        CHECK_EQ_INT(refs(f[i]), 1);
    for (int i = N - CAP; i < N; i++)
        CHECK_EQ_INT(refs(f[i]), 2);

    /* the slow one gets the newest CAP, and is told how many it lost */
    size_t n = bus_drain(b, slow, out, N, &lost_slow);
    CHECK_EQ_INT(n, CAP);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_INT(out[i]->id, N - CAP + 1 + i);
        flow_unref(out[i]);
    }
    CHECK_EQ_INT(lost_slow, 100 + N - CAP);
    /* lost is reported once */
    CHECK_EQ_INT(bus_drain(b, slow, out, N, &lost_slow), 0);
    CHECK_EQ_INT(lost_slow, 100 + N - CAP);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(refs(f[i]), 1);
        flow_unref(f[i]);
    }
    bus_free(b);

    /* a lone subscriber that never drains; bus_free drops what is queued */
    b = bus_new(3);
    int s = bus_subscribe(b);
    struct flow *g[7];
    for (int i = 0; i < 7; i++) {
        g[i] = make((uint64_t)i);
        bus_publish(b, g[i]);
    }
    for (int i = 0; i < 7; i++)
        CHECK_EQ_INT(refs(g[i]), i < 4 ? 1 : 2);
    uint64_t lost = 0;
    CHECK_EQ_INT(bus_drain(b, s, out, 1, &lost), 1); /* max 1 */
    CHECK_EQ_INT(out[0]->id, 4);
    CHECK_EQ_INT(lost, 4);
    flow_unref(out[0]);
    bus_free(b);
    for (int i = 0; i < 7; i++) {
        CHECK_EQ_INT(refs(g[i]), 1);
        flow_unref(g[i]);
    }
}

/* ---- dropped publications ----------------------------------------------- */

static void test_dropped(void)
{
    struct bus *b = bus_new(4);
    struct flow *f = make(1), *out[4];
    uint64_t lost = 0;

    bus_publish(b, f); /* no subscriber yet: nothing is kept */
    CHECK_EQ_INT(refs(f), 1);
    int s = bus_subscribe(b);
    CHECK_EQ_INT(bus_drain(b, s, out, 4, &lost), 0); /* a late subscriber sees only later ones */

    bus_publish(b, f);
    CHECK_EQ_INT(refs(f), 2);
    bus_close(b);
    struct flow *g = make(2);
    bus_publish(b, g); /* closed: dropped */
    CHECK_EQ_INT(refs(g), 1);
    CHECK_EQ_INT(bus_drain(b, s, out, 4, &lost), 1); /* what was queued before close stays */
    CHECK(out[0] == f);
    flow_unref(out[0]);
    CHECK_EQ_INT(lost, 0);
    CHECK_EQ_INT(refs(f), 1);
    bus_free(b);
    flow_unref(f);
    flow_unref(g);
}

/* ---- bus_wait ----------------------------------------------------------- */

struct waiter {
    struct bus *b;
    int sub, timeout_ms;
    bool result;
    int64_t elapsed_ms;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    int64_t t0 = now_ms();
    w->result = bus_wait(w->b, w->sub, w->timeout_ms);
    w->elapsed_ms = now_ms() - t0;
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_wait(void)
{
    struct bus *b = bus_new(2);
    struct flow *out[4];
    uint64_t lost = 0;
    int s = bus_subscribe(b);

    /* nothing to read: times out, still alive */
    int64_t t0 = now_ms();
    CHECK(bus_wait(b, s, 30));
    int64_t dt = now_ms() - t0;
    CHECK(dt >= 25);
    CHECK(dt < 2000);
    CHECK(bus_wait(b, s, 0));

    /* something to read: returns at once */
    struct flow *f = make(1);
    bus_publish(b, f);
    t0 = now_ms();
    CHECK(bus_wait(b, s, 5000));
    CHECK(now_ms() - t0 < 1000);

    /* a publication wakes a waiter */
    CHECK_EQ_INT(bus_drain(b, s, out, 4, &lost), 1);
    flow_unref(out[0]);
    struct waiter w = {b, s, 10000, false, 0};
    pthread_t th;
    pthread_create(&th, NULL, wait_thread, &w);
    sleep_ms(20);
    bus_publish(b, f);
    pthread_join(th, NULL);
    CHECK(w.result);
    CHECK(w.elapsed_ms < 5000);

    /* lost events count as something to read */
    CHECK_EQ_INT(bus_drain(b, s, out, 4, &lost), 1);
    flow_unref(out[0]);
    for (int i = 0; i < 3; i++)
        bus_publish(b, f); /* capacity 2: one lost */

    /* closed with events queued: alive until drained */
    bus_close(b);
    CHECK(bus_wait(b, s, 0));
    CHECK_EQ_INT(bus_drain(b, s, out, 4, &lost), 2);
    flow_unref(out[0]);
    flow_unref(out[1]);
    CHECK_EQ_INT(lost, 1);
    t0 = now_ms();
    CHECK(!bus_wait(b, s, 5000)); /* closed and drained: false, at once */
    CHECK(now_ms() - t0 < 1000);
    CHECK(!bus_wait(b, s, 0));
    bus_free(b);

    /* a close wakes a waiter, which then sees false */
    b = bus_new(2);
    s = bus_subscribe(b);
    w = (struct waiter){b, s, 10000, true, 0};
    pthread_create(&th, NULL, wait_thread, &w);
    sleep_ms(20);
    bus_close(b);
    pthread_join(th, NULL);
    CHECK(!w.result);
    CHECK(w.elapsed_ms < 5000);
    bus_free(b);

    CHECK_EQ_INT(refs(f), 1);
    flow_unref(f);
}

/* ---- a producer and consumers on their own threads ---------------------- */

enum { PUBLISHED = 100000, KEEP_EVERY = 100 };

struct consumer {
    struct bus *b;
    int sub;
    uint64_t received, lost, out_of_order, last_id;
};

static void *consume(void *arg)
{
    struct consumer *c = arg;
    struct flow *batch[256];
    while (bus_wait(c->b, c->sub, 100)) {
        size_t n = bus_drain(c->b, c->sub, batch, LC_ARRAY_LEN(batch), &c->lost);
        for (size_t i = 0; i < n; i++) {
            if (batch[i]->id <= c->last_id || batch[i]->id > PUBLISHED)
                c->out_of_order++;
            c->last_id = batch[i]->id;
            flow_unref(batch[i]);
        }
        c->received += n;
    }
    /* once bus_wait says false nothing is left */
    c->received += bus_drain(c->b, c->sub, batch, LC_ARRAY_LEN(batch), &c->lost);
    return NULL;
}

struct producer {
    struct bus *b;
    struct flow **kept; /* every KEEP_EVERY-th flow, with a reference held */
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (uint64_t id = 1; id <= PUBLISHED; id++) {
        struct flow *f = flow_new(id);
        if (f == NULL)
            abort();
        if (id % KEEP_EVERY == 0)
            p->kept[id / KEEP_EVERY - 1] = flow_ref(f);
        bus_publish(p->b, f);
        flow_unref(f);
    }
    bus_close(p->b);
    return NULL;
}

static void test_threads(void)
{
    struct bus *b = bus_new(1024);
    struct consumer c[2];
    struct producer p = {b, calloc(PUBLISHED / KEEP_EVERY, sizeof(struct flow *))};
    pthread_t tc[2], tp;
    if (p.kept == NULL)
        abort();
    for (int i = 0; i < 2; i++) {
        c[i] = (struct consumer){b, bus_subscribe(b), 0, 0, 0, 0};
        pthread_create(&tc[i], NULL, consume, &c[i]);
    }
    pthread_create(&tp, NULL, produce, &p);
    pthread_join(tp, NULL);
    for (int i = 0; i < 2; i++) {
        pthread_join(tc[i], NULL);
        check_note("consumer %d: received %llu lost %llu", i, (unsigned long long)c[i].received,
                   (unsigned long long)c[i].lost);
        CHECK_EQ_INT(c[i].received + c[i].lost, PUBLISHED);
        CHECK_EQ_INT(c[i].out_of_order, 0);
        CHECK(c[i].received > 0);
    }
    check_note(NULL);
    bus_free(b);
    /* every reference the bus and the consumers took was given back */
    int bad = 0;
    for (int i = 0; i < PUBLISHED / KEEP_EVERY; i++) {
        bad += p.kept[i] == NULL || refs(p.kept[i]) != 1;
        flow_unref(p.kept[i]);
    }
    CHECK_EQ_INT(bad, 0);
    free(p.kept);
}

int main(void)
{
    test_flow_refs();
    test_order();
    test_two_subscribers();
    test_overflow();
    test_dropped();
    test_wait();
    test_threads();
    return check_summary();
}
