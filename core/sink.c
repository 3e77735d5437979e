/* SPDX-License-Identifier: MIT */
/* sink: drain, format, write, flush. Batches naturally under load: it waits
 * a few milliseconds after a busy round so one wake-up carries many flows. */
#include "core/sink.h"

#include <inttypes.h>
#include <pthread.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/filter.h"
#include "core/flowlog.h"
#include "core/har.h"
#include "core/log.h"

struct sink {
    struct bus *bus; /* borrowed */
    int sub;
    FILE *out; /* borrowed */
    bool log_lines;
    FILE *flow_log; /* borrowed */
    struct har_writer *har;      /* borrowed */
    const struct filter *filter; /* borrowed */
    pthread_t thread;
};

static void *run(void *arg)
{
    struct sink *s = arg;
    struct flow *batch[256];
    struct buf line = BUF_INIT, json = BUF_INIT;
    uint64_t lost_total = 0;
    bool har_failed = false;

    for (;;) {
        bool alive = bus_wait(s->bus, s->sub, 500);
        uint64_t lost = 0;
        size_t n = bus_drain(s->bus, s->sub, batch, LC_ARRAY_LEN(batch), &lost);
        if (lost > 0) {
            lost_total += lost;
            LC_WARN("output fell behind: %" PRIu64 " flows not logged (%" PRIu64 " in all)", lost,
                    lost_total);
        }
        buf_reset(&line);
        buf_reset(&json);
        for (size_t i = 0; i < n; i++) {
            if (s->filter && !filter_match(s->filter, batch[i])) {
                flow_unref(batch[i]);
                continue;
            }
            if (s->har && har_add(s->har, batch[i]) < 0 && !har_failed) {
                har_failed = true;
                LC_ERROR("--har: cannot write: %s", strerror(errno));
            }
            if (s->log_lines)
                flowlog_line(batch[i], &line);
            if (s->flow_log)
                flowlog_json(batch[i], &json);
            flow_unref(batch[i]);
        }
        if (line.len > 0) {
            fwrite(line.p, 1, line.len, s->out);
            fflush(s->out);
        }
        if (json.len > 0) {
            fwrite(json.p, 1, json.len, s->flow_log);
            fflush(s->flow_log);
        }
        if (!alive && n == 0)
            break;
        if (n == LC_ARRAY_LEN(batch))
            continue;
        if (n > 0) {
            /* busy: let a few more flows gather before the next round */
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    buf_free(&line);
    buf_free(&json);
    return NULL;
}

struct sink *sink_start(struct bus *bus, FILE *out, bool log_lines, FILE *flow_log,
                        struct har_writer *har, const struct filter *filter)
{
    struct sink *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->bus = bus;
    s->out = out;
    s->log_lines = log_lines;
    s->flow_log = flow_log;
    s->har = har;
    s->filter = filter;
    s->sub = bus_subscribe(bus);
    if (s->sub < 0 || pthread_create(&s->thread, NULL, run, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void sink_stop(struct sink *s)
{
    if (s == NULL)
        return;
    pthread_join(s->thread, NULL);
    free(s);
}
