/* SPDX-License-Identifier: MIT */
/* main: options, the bus and its output thread, the workers; then run the
 * viewer (stdout is a terminal) or wait for SIGINT/SIGTERM, and shut down in
 * order: stop accepting and close connections (their unfinished flows are
 * published as failed), then let the output thread write everything and
 * flush. `-r FILE` runs only the viewer, on the flows of a HAR file. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/demo.h"
#include "core/filter.h"
#include "core/har.h"
#include "core/log.h"
#include "core/pause.h"
#include "core/scache.h"
#include "core/opts.h"
#include "core/sink.h"
#include "core/tls.h"
#include "ca/ca.h"
#include "core/worker.h"
#include "ui-term/view.h"

#define BUS_CAPACITY 8192

/* -r FILE: the viewer on a HAR file's flows, nothing else. */
static int read_har(const struct opts *o, const sigset_t *sigs)
{
    char err[512];
    struct flow **flows = NULL;
    if (!isatty(STDOUT_FILENO)) {
        fprintf(stderr, "lucent: -r needs a terminal to show %s in\n", o->read_har);
        return 2;
    }
    ssize_t n = har_read_file(o->read_har, &flows, err, sizeof(err));
    if (n < 0) {
        fprintf(stderr, "lucent: %s\n", err);
        return 2;
    }
    struct view_args a = {.o = o, .sigs = sigs, .preload = flows, .npreload = (size_t)n};
    int rc = view_run(&a);
    free(flows);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    char err[512];
    int status = 1;
    struct bus *bus = NULL;
    struct sink *sink = NULL;
    struct worker *workers = NULL;
    unsigned nworkers = 0, ready = 0;
    FILE *flow_log = NULL;
    struct tls *tls = NULL;
    struct har_writer *har = NULL;
    struct filter *filter = NULL;
    struct pauses *pauses = NULL;
    struct scache *scache = NULL;
    struct demo *demo = NULL; /* `lucent demo`: the teaching site */
    sigset_t sigs;
    bool ui;
    int ui_sub = -1;

    opts_defaults(&o);
    switch (opts_parse(&o, argc, argv, err, sizeof(err))) {
    case OPTS_OK:
        break;
    case OPTS_EXIT:
        if (o.help)
            fputs(opts_usage, stdout);
        else
            printf("lucent %s\n", LUCENT_VERSION);
        return 0;
    case OPTS_ERROR:
        fprintf(stderr, "lucent: %s\n", err);
        return 2;
    }
    log_threshold = o.verbosity < 0    ? LOG_LVL_ERROR
                    : o.verbosity == 0 ? LOG_LVL_NOTE
                    : o.verbosity == 1 ? LOG_LVL_INFO
                                       : LOG_LVL_DEBUG;

    /* Streaming reuses buffers of 64-512 KiB all the time: keep them in the
     * heap instead of a fresh mmap (and page faults) for each, and give
     * memory back to the system only past a few MiB of slack. */
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);

    nworkers = o.workers;
    if (nworkers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nworkers = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
    }

    /* signals are taken by sigwait() below, on this thread only */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (o.read_har)
        return read_har(&o, &sigs);
    ui = !o.headless && isatty(STDOUT_FILENO);
    o.capture = ui || o.har != NULL; /* bodies are kept only for someone to see */
    if (o.filter) {
        size_t pos = 0;
        filter = filter_compile(o.filter, err, sizeof(err), &pos);
        if (filter == NULL) {
            fprintf(stderr, "lucent: --filter: %s\n", err);
            return 2;
        }
    }
    if (o.har) {
        har = har_open(o.har, err, sizeof(err));
        if (har == NULL) {
            fprintf(stderr, "lucent: --har: %s\n", err);
            filter_free(filter);
            return 2;
        }
    }

    if (o.flow_log) {
        flow_log = fopen(o.flow_log, "a");
        if (flow_log == NULL) {
            fprintf(stderr, "lucent: --flow-log: cannot open %s: %s\n", o.flow_log,
                    strerror(errno));
            return 2;
        }
    }
    tls = tls_new(&o, err, sizeof(err));
    if (tls == NULL) {
        fprintf(stderr, "lucent: %s\n", err);
        goto out;
    }
    fprintf(stderr, "lucent: CA certificate %s (SHA-256 %s)%s\n",
            tls_ca(tls)->created ? "created" : "loaded", tls_ca(tls)->fingerprint,
            tls_ca(tls)->created ? "; trust it once: see http://lucent.proxy/ through the proxy"
                                 : "");
    /* before the workers: the proxy trusts the demo's certificate from the start */
    if (o.demo) {
        uint16_t dhttp, dhttps;
        if (tls_trust_own_ca(tls, err, sizeof(err)) < 0 ||
            (demo = demo_start(tls, o.demo_port, err, sizeof(err))) == NULL) {
            fprintf(stderr, "lucent: %s\n", err);
            status = 2;
            goto out;
        }
        demo_ports(demo, &dhttp, &dhttps);
        fprintf(stderr,
                "lucent: demo site on http://127.0.0.1:%u/ and https://127.0.0.1:%u/ "
                "(certificate from lucent's CA)\n",
                dhttp, dhttps);
    }
    bus = bus_new(BUS_CAPACITY);
    workers = calloc(nworkers, sizeof(*workers));
    if (bus == NULL || workers == NULL) {
        fprintf(stderr, "lucent: out of memory\n");
        goto out;
    }
    /* the viewer takes the terminal; otherwise a log line per flow on stdout */
    if (o.cache && (scache = scache_new(o.cache_size)) == NULL) {
        fprintf(stderr, "lucent: out of memory\n");
        goto out;
    }
    if (ui && (pauses = pauses_new()) == NULL) {
        fprintf(stderr, "lucent: out of memory\n");
        goto out;
    }
    if (ui && (ui_sub = bus_subscribe(bus)) < 0) {
        fprintf(stderr, "lucent: cannot subscribe the viewer\n");
        goto out;
    }
    sink = sink_start(bus, stdout, !ui, flow_log, har, filter);
    if (sink == NULL) {
        fprintf(stderr, "lucent: cannot start the output thread\n");
        goto out;
    }

    uint16_t port = o.listen_port;
    if (worker_reserve_port(o.listen_host, &port, err, sizeof(err)) < 0) {
        fprintf(stderr, "lucent: %s\n", err);
        goto out;
    }
    for (unsigned i = 0; i < nworkers; i++) {
        if (worker_init(&workers[i], i, &o, bus, &port, err, sizeof(err)) < 0) {
            fprintf(stderr, "lucent: %s\n", err);
            status = 2; /* a script that does not load, an address in use: the setup */
            goto out;
        }
        workers[i].tls = tls;
        workers[i].pauses = pauses;
        workers[i].scache = scache;
        if (pauses)
            pauses_set_wake(pauses, i, workers[i].wake_fds[1]);
        ready++;
    }
    for (unsigned i = 0; i < nworkers; i++) {
        if (worker_start(&workers[i]) < 0) {
            fprintf(stderr, "lucent: cannot start worker thread %u\n", i);
            goto out;
        }
    }
    if (strchr(o.listen_host, ':'))
        fprintf(stderr, "lucent: listening on [%s]:%u\n", o.listen_host, port);
    else
        fprintf(stderr, "lucent: listening on %s:%u\n", o.listen_host, port);
    LC_INFO("%u worker%s", nworkers, nworkers == 1 ? "" : "s");

    if (ui) {
        struct view_args a = {
            .bus = bus, .sub = ui_sub, .o = &o, .port = port, .sigs = &sigs, .pauses = pauses};
        status = view_run(&a) < 0 ? 1 : 0;
    } else {
        int sig = 0;
        sigwait(&sigs, &sig);
        LC_INFO("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        status = 0;
    }

out:
    for (unsigned i = 0; i < ready; i++)
        worker_stop(&workers[i]);
    for (unsigned i = 0; i < ready; i++)
        worker_join(&workers[i]);
    demo_stop(demo); /* before tls_free(): it borrows tls */
    for (unsigned i = 0; i < ready; i++)
        worker_free(&workers[i]);
    if (bus)
        bus_close(bus);
    sink_stop(sink);
    bus_free(bus);
    if (har && har_close(har) != 0) {
        fprintf(stderr, "lucent: --har: %s\n", strerror(errno));
        status = 1;
    }
    filter_free(filter);
    pauses_free(pauses);
    scache_free(scache);
    free(workers);
    tls_free(tls);
    if (flow_log && fclose(flow_log) != 0) {
        fprintf(stderr, "lucent: --flow-log: %s\n", strerror(errno));
        status = 1;
    }
    fflush(stdout);
    return status;
}
