/* SPDX-License-Identifier: MIT */
/* opts: lucent's command line. opts_parse() validates every value and, on a
 * bad one, writes a message naming the option into err. Pure. */
#ifndef LUCENT_CORE_OPTS_H
#define LUCENT_CORE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/attrib.h"

#define OPTS_MAX_IGNORE 32
#define OPTS_MAX_SCRIPTS 16

struct opts {
    const char *listen_host; /* borrowed from argv or static */
    uint16_t listen_port;
    unsigned workers; /* 0 = one per CPU */
    bool headless;
    const char *flow_log;  /* NULL = none */
    double header_timeout; /* seconds */
    double idle_timeout;
    double connect_timeout;
    double upstream_timeout;
    size_t max_header_size;
    unsigned max_headers;
    int verbosity; /* -1 quiet, 0 normal, 1+ verbose */
    /* TLS interception */
    const char *confdir;     /* NULL = ~/.lucent */
    const char *upstream_ca; /* extra trusted CAs for upstream verification, or NULL */
    bool ssl_insecure;       /* do not verify upstream certificates */
    const char *ignore_hosts[OPTS_MAX_IGNORE]; /* POSIX extended regexes on host:port */
    unsigned nignore;
    bool auto_ignore; /* pass through hosts whose clients refused our cert */
    const char *keylog; /* --keylog FILE: TLS secrets of both sides (SSLKEYLOGFILE format), or NULL */
    /* Lua scripts */
    const char *scripts[OPTS_MAX_SCRIPTS]; /* borrowed from argv, in order */
    unsigned nscripts;
    size_t body_limit;    /* bodies up to this are buffered for hooks */
    uint64_t script_budget; /* instructions per hook call */
    size_t script_memory; /* bytes per Lua state */
    /* viewer and files */
    const char *har;         /* --har FILE: every finished flow, HAR 1.2; or NULL */
    const char *read_har;    /* -r FILE: open a HAR in the viewer instead of proxying; or NULL */
    const char *filter;      /* --filter EXPR: what the log and flow log record; or NULL */
    unsigned max_flows;      /* flows the viewer keeps */
    const char *lang;        /* --lang en|zh for the explain pane; NULL = from the locale */
    bool capture;            /* keep bodies in flows (viewer, HAR); set by main, not an option */
    /* cache lab */
    bool anticache;  /* strip conditional request headers: every answer is a full one */
    bool no_caching; /* ... and make every response uncacheable */
    bool cache;        /* lucent's own shared cache */
    size_t cache_size; /* its bound in bytes */
    /* the built-in demo site (core/demo.h) */
    bool demo;          /* `lucent demo` or --demo */
    uint16_t demo_port; /* its HTTP port (HTTPS: the next one); 0 = any free ports */
    bool help, version;
};

enum opts_rc { OPTS_OK = 0, OPTS_EXIT, OPTS_ERROR };

void opts_defaults(struct opts *o) LC_NONNULL(1);
/* OPTS_EXIT: --help/--version were handled (text in o->help/version). */
enum opts_rc opts_parse(struct opts *o, int argc, char **argv, char *err, size_t errlen)
    LC_NONNULL(1, 3, 4);
extern const char opts_usage[];

#endif
