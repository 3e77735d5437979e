/* SPDX-License-Identifier: MIT */
/* opts: getopt_long over a table; values are checked strictly (whole string
 * consumed, in range) so typos are errors, not surprises. */
#include "core/opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char opts_usage[] =
    "usage: lucent [options] [demo]\n"
    "\n"
    "An intercepting HTTP(S) debugging proxy. Point a browser's proxy setting or\n"
    "`curl -x http://127.0.0.1:8080` at it and every transaction is shown.\n"
    "\n"
    "Listening:\n"
    "  --listen-host HOST       address to listen on (default 127.0.0.1; ::1 for IPv6)\n"
    "  -p, --listen-port PORT   port to listen on (default 8080; 0 = any free port)\n"
    "  --workers N              worker threads, one event loop each (default: one per CPU)\n"
    "\n"
    "Output:\n"
    "  --headless               print one log line per flow on stdout (the default when\n"
    "                           stdout is not a terminal)\n"
    "  --flow-log FILE          append every finished flow to FILE as a JSON line\n"
    "  --har FILE               write every finished flow to FILE as HAR 1.2 (kept valid\n"
    "                           after each flow)\n"
    "  --filter EXPR            log and record only flows matching EXPR (see the viewer's\n"
    "                           help, key ?, for the filter language)\n"
    "  --max-flows N            flows the viewer keeps, oldest dropped (default 50000)\n"
    "  --lang en|zh             language of the viewer's explanations (default: the locale)\n"
    "  -r, --read FILE          open a HAR file in the viewer (no proxying)\n"
    "  -v, --verbose            more diagnostics on stderr (repeat for debug)\n"
    "  -q, --quiet              only errors on stderr\n"
    "\n"
    "HTTPS interception:\n"
    "  --confdir DIR            where lucent keeps its CA (default ~/.lucent)\n"
    "  --upstream-ca FILE       also trust these CA certificates (PEM) upstream\n"
    "  --ssl-insecure           do not verify upstream certificates\n"
    "  --ignore-hosts REGEX     pass tunnels to matching host:port through untouched\n"
    "                           (extended regex, case-insensitive; repeatable)\n"
    "  --no-auto-ignore         keep intercepting hosts whose clients refused lucent's\n"
    "                           certificate (by default they pass through afterwards)\n"
    "  --keylog FILE            append the TLS secrets of both sides to FILE (the\n"
    "                           SSLKEYLOGFILE format Wireshark and tshark read)\n"
    "\n"
    "Scripting (Lua 5.4; see the README):\n"
    "  -s, --script FILE        run the hooks FILE defines on every flow (repeatable;\n"
    "                           scripts run in the order given, reloaded when changed)\n"
    "  --body-limit BYTES       bodies up to this size are buffered for request/response\n"
    "                           hooks; larger ones stream (suffix k, m, g; default 4m)\n"
    "  --script-budget N        Lua instructions one hook call may run (default 10000000)\n"
    "  --script-memory BYTES    memory cap of each script's Lua state (default 64m)\n"
    "\n"
    "Cache lab:\n"
    "  --anticache              remove If-None-Match/If-Modified-Since from requests, so\n"
    "                           every response is a full one (no 304s)\n"
    "  --no-caching             --anticache, and responses made uncacheable (Cache-Control:\n"
    "                           no-store; validators and Expires removed)\n"
    "  --cache                  run a shared HTTP cache (RFC 9111) inside lucent: fresh\n"
    "                           responses served from memory, stale ones revalidated\n"
    "  --cache-size BYTES       its size, LRU (suffix k, m, g; default 64m)\n"
    "\n"
    "Demo site (for classes working offline):\n"
    "  demo, --demo             also run a small teaching site on 127.0.0.1, over HTTP and\n"
    "                           HTTPS (certificate from lucent's CA); its URLs are printed\n"
    "  --demo-port N            its HTTP port; HTTPS on N+1 (implies --demo; default: any\n"
    "                           free ports)\n"
    "\n"
    "Timeouts (seconds, decimals allowed) and limits:\n"
    "  --header-timeout SEC     time for a client to send a request head (default 30)\n"
    "  --idle-timeout SEC       idle keep-alive client connections are closed after this\n"
    "                           (default 60)\n"
    "  --connect-timeout SEC    resolving and connecting upstream (default 10)\n"
    "  --upstream-timeout SEC   upstream silent this long: 504 (default 60)\n"
    "  --max-header-size BYTES  largest request head, suffix k or m allowed (default 64k)\n"
    "  --max-headers N          most header fields in a request (default 100)\n"
    "\n"
    "  -h, --help               this text\n"
    "  --version                print the version\n";

enum {
    OPT_LISTEN_HOST = 256,
    OPT_WORKERS,
    OPT_HEADLESS,
    OPT_FLOW_LOG,
    OPT_HEADER_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_CONNECT_TIMEOUT,
    OPT_UPSTREAM_TIMEOUT,
    OPT_MAX_HEADER_SIZE,
    OPT_MAX_HEADERS,
    OPT_VERSION,
    OPT_CONFDIR,
    OPT_UPSTREAM_CA,
    OPT_SSL_INSECURE,
    OPT_IGNORE_HOSTS,
    OPT_NO_AUTO_IGNORE,
    OPT_BODY_LIMIT,
    OPT_SCRIPT_BUDGET,
    OPT_SCRIPT_MEMORY,
    OPT_HAR,
    OPT_FILTER,
    OPT_MAX_FLOWS,
    OPT_ANTICACHE,
    OPT_NO_CACHING,
    OPT_CACHE,
    OPT_CACHE_SIZE,
    OPT_KEYLOG,
    OPT_LANG,
    OPT_DEMO,
    OPT_DEMO_PORT,
};

static const struct option longopts[] = {
    {"listen-host", required_argument, NULL, OPT_LISTEN_HOST},
    {"listen-port", required_argument, NULL, 'p'},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"headless", no_argument, NULL, OPT_HEADLESS},
    {"flow-log", required_argument, NULL, OPT_FLOW_LOG},
    {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"upstream-timeout", required_argument, NULL, OPT_UPSTREAM_TIMEOUT},
    {"max-header-size", required_argument, NULL, OPT_MAX_HEADER_SIZE},
    {"max-headers", required_argument, NULL, OPT_MAX_HEADERS},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"confdir", required_argument, NULL, OPT_CONFDIR},
    {"upstream-ca", required_argument, NULL, OPT_UPSTREAM_CA},
    {"ssl-insecure", no_argument, NULL, OPT_SSL_INSECURE},
    {"ignore-hosts", required_argument, NULL, OPT_IGNORE_HOSTS},
    {"no-auto-ignore", no_argument, NULL, OPT_NO_AUTO_IGNORE},
    {"script", required_argument, NULL, 's'},
    {"body-limit", required_argument, NULL, OPT_BODY_LIMIT},
    {"script-budget", required_argument, NULL, OPT_SCRIPT_BUDGET},
    {"script-memory", required_argument, NULL, OPT_SCRIPT_MEMORY},
    {"har", required_argument, NULL, OPT_HAR},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"anticache", no_argument, NULL, OPT_ANTICACHE},
    {"no-caching", no_argument, NULL, OPT_NO_CACHING},
    {"cache", no_argument, NULL, OPT_CACHE},
    {"cache-size", required_argument, NULL, OPT_CACHE_SIZE},
    {"keylog", required_argument, NULL, OPT_KEYLOG},
    {"lang", required_argument, NULL, OPT_LANG},
    {"demo", no_argument, NULL, OPT_DEMO},
    {"demo-port", required_argument, NULL, OPT_DEMO_PORT},
    {"read", required_argument, NULL, 'r'},
    {NULL, 0, NULL, 0},
};

static const char *optname(int c)
{
    for (const struct option *o = longopts; o->name; o++)
        if (o->val == c)
            return o->name;
    return "?";
}

void opts_defaults(struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->listen_host = "127.0.0.1";
    o->listen_port = 8080;
    o->header_timeout = 30;
    o->idle_timeout = 60;
    o->connect_timeout = 10;
    o->upstream_timeout = 60;
    o->max_header_size = 64 * 1024;
    o->max_headers = 100;
    o->auto_ignore = true;
    o->body_limit = 4 * 1024 * 1024;
    o->script_budget = 10000000;
    o->script_memory = 64 * 1024 * 1024;
    o->max_flows = 50000;
    o->cache_size = 64 * 1024 * 1024;
}

static int parse_uint(const char *s, unsigned long long min, unsigned long long max, bool suffix,
                      unsigned long long *out)
{
    char *end;
    if (s[0] == '\0' || s[0] == '-' || s[0] == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    unsigned long long mult = 1;
    if (suffix && (*end == 'k' || *end == 'K'))
        mult = 1024, end++;
    else if (suffix && (*end == 'm' || *end == 'M'))
        mult = 1024 * 1024, end++;
    else if (suffix && (*end == 'g' || *end == 'G'))
        mult = 1024 * 1024 * 1024, end++;
    if (v > max / mult)
        return -1;
    v *= mult;
    if (*end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_seconds(const char *s, double *out)
{
    char *end;
    if (s[0] == '\0' || s[0] == '-' || s[0] == '+')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > 86400 * 7)
        return -1;
    *out = v;
    return 0;
}

enum opts_rc opts_parse(struct opts *o, int argc, char **argv, char *err, size_t errlen)
{
    int c;
    unsigned long long u;
    double *secs;

    optind = 0; /* 0, not 1: glibc then also forgets its place inside a previous argv */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":p:s:r:vqh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN_HOST:
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--listen-host: empty host");
                return OPTS_ERROR;
            }
            o->listen_host = optarg;
            break;
        case 'p':
            if (parse_uint(optarg, 0, 65535, false, &u) < 0) {
                snprintf(err, errlen, "--listen-port: '%s' is not a port (0-65535)", optarg);
                return OPTS_ERROR;
            }
            o->listen_port = (uint16_t)u;
            break;
        case OPT_WORKERS:
            if (parse_uint(optarg, 1, 64, false, &u) < 0) {
                snprintf(err, errlen, "--workers: '%s' is not a number from 1 to 64", optarg);
                return OPTS_ERROR;
            }
            o->workers = (unsigned)u;
            break;
        case OPT_HEADLESS:
            o->headless = true;
            break;
        case OPT_FLOW_LOG:
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--flow-log: empty file name");
                return OPTS_ERROR;
            }
            o->flow_log = optarg;
            break;
        case OPT_HEADER_TIMEOUT:
            secs = &o->header_timeout;
            goto seconds;
        case OPT_IDLE_TIMEOUT:
            secs = &o->idle_timeout;
            goto seconds;
        case OPT_CONNECT_TIMEOUT:
            secs = &o->connect_timeout;
            goto seconds;
        case OPT_UPSTREAM_TIMEOUT:
            secs = &o->upstream_timeout;
        seconds:
            if (parse_seconds(optarg, secs) < 0) {
                snprintf(err, errlen, "--%s: '%s' is not a number of seconds (> 0)", optname(c),
                         optarg);
                return OPTS_ERROR;
            }
            break;
        case OPT_MAX_HEADER_SIZE:
            if (parse_uint(optarg, 256, 16ull * 1024 * 1024, true, &u) < 0) {
                snprintf(err, errlen, "--max-header-size: '%s' is not a size from 256 to 16m bytes",
                         optarg);
                return OPTS_ERROR;
            }
            o->max_header_size = (size_t)u;
            break;
        case OPT_MAX_HEADERS:
            if (parse_uint(optarg, 1, 10000, false, &u) < 0) {
                snprintf(err, errlen, "--max-headers: '%s' is not a number from 1 to 10000",
                         optarg);
                return OPTS_ERROR;
            }
            o->max_headers = (unsigned)u;
            break;
        case OPT_CONFDIR:
        case OPT_UPSTREAM_CA:
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--%s: empty path", optname(c));
                return OPTS_ERROR;
            }
            *(c == OPT_CONFDIR ? &o->confdir : &o->upstream_ca) = optarg;
            break;
        case OPT_SSL_INSECURE:
            o->ssl_insecure = true;
            break;
        case OPT_NO_AUTO_IGNORE:
            o->auto_ignore = false;
            break;
        case OPT_IGNORE_HOSTS: {
            regex_t re;
            int rc;
            if (o->nignore == OPTS_MAX_IGNORE) {
                snprintf(err, errlen, "--ignore-hosts: at most %d patterns", OPTS_MAX_IGNORE);
                return OPTS_ERROR;
            }
            rc = regcomp(&re, optarg, REG_EXTENDED | REG_ICASE | REG_NOSUB);
            if (rc != 0) {
                char why[128];
                regerror(rc, &re, why, sizeof(why));
                snprintf(err, errlen, "--ignore-hosts: '%s' is not a regular expression: %s",
                         optarg, why);
                return OPTS_ERROR;
            }
            regfree(&re);
            o->ignore_hosts[o->nignore++] = optarg;
            break;
        }
        case 's':
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--script: empty file name");
                return OPTS_ERROR;
            }
            if (o->nscripts == OPTS_MAX_SCRIPTS) {
                snprintf(err, errlen, "--script: at most %d scripts", OPTS_MAX_SCRIPTS);
                return OPTS_ERROR;
            }
            o->scripts[o->nscripts++] = optarg;
            break;
        case OPT_BODY_LIMIT:
            if (parse_uint(optarg, 0, 1024ull * 1024 * 1024, true, &u) < 0) {
                snprintf(err, errlen, "--body-limit: '%s' is not a size from 0 to 1g bytes",
                         optarg);
                return OPTS_ERROR;
            }
            o->body_limit = (size_t)u;
            break;
        case OPT_SCRIPT_BUDGET:
            if (parse_uint(optarg, 1000, 1000000000000ull, false, &u) < 0) {
                snprintf(err, errlen,
                         "--script-budget: '%s' is not a number of instructions (>= 1000)",
                         optarg);
                return OPTS_ERROR;
            }
            o->script_budget = u;
            break;
        case OPT_SCRIPT_MEMORY:
            if (parse_uint(optarg, 1024 * 1024, 64ull * 1024 * 1024 * 1024, true, &u) < 0) {
                snprintf(err, errlen, "--script-memory: '%s' is not a size from 1m to 64g bytes",
                         optarg);
                return OPTS_ERROR;
            }
            o->script_memory = (size_t)u;
            break;
        case OPT_HAR:
        case 'r':
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--%s: empty file name", c == 'r' ? "read" : "har");
                return OPTS_ERROR;
            }
            *(c == 'r' ? &o->read_har : &o->har) = optarg;
            break;
        case OPT_FILTER:
            o->filter = optarg;
            break;
        case OPT_ANTICACHE:
            o->anticache = true;
            break;
        case OPT_NO_CACHING:
            o->anticache = o->no_caching = true;
            break;
        case OPT_CACHE:
            o->cache = true;
            break;
        case OPT_DEMO:
            o->demo = true;
            break;
        case OPT_DEMO_PORT:
            if (parse_uint(optarg, 0, 65534, false, &u) < 0) {
                snprintf(err, errlen,
                         "--demo-port: '%s' is not a port (0-65534: HTTPS takes the next one)",
                         optarg);
                return OPTS_ERROR;
            }
            o->demo_port = (uint16_t)u;
            o->demo = true;
            break;
        case OPT_LANG:
            if (strcmp(optarg, "en") != 0 && strcmp(optarg, "zh") != 0) {
                snprintf(err, errlen, "--lang: '%s' is not en or zh", optarg);
                return OPTS_ERROR;
            }
            o->lang = optarg;
            break;
        case OPT_KEYLOG:
            if (optarg[0] == '\0') {
                snprintf(err, errlen, "--keylog: empty file name");
                return OPTS_ERROR;
            }
            o->keylog = optarg;
            break;
        case OPT_CACHE_SIZE:
            if (parse_uint(optarg, 64 * 1024, 64ull * 1024 * 1024 * 1024, true, &u) < 0) {
                snprintf(err, errlen, "--cache-size: '%s' is not a size from 64k to 64g bytes",
                         optarg);
                return OPTS_ERROR;
            }
            o->cache_size = (size_t)u;
            break;
        case OPT_MAX_FLOWS:
            if (parse_uint(optarg, 10, 10000000, false, &u) < 0) {
                snprintf(err, errlen, "--max-flows: '%s' is not a number from 10 to 10000000",
                         optarg);
                return OPTS_ERROR;
            }
            o->max_flows = (unsigned)u;
            break;
        case 'v':
            o->verbosity++;
            break;
        case 'q':
            o->verbosity = -1;
            break;
        case 'h':
            o->help = true;
            return OPTS_EXIT;
        case OPT_VERSION:
            o->version = true;
            return OPTS_EXIT;
        case ':':
            if (optopt == 'p' || optopt == 's' || optopt == 'r' || optopt >= OPT_LISTEN_HOST)
                snprintf(err, errlen, "--%s: missing value", optname(optopt));
            else
                snprintf(err, errlen, "%s: missing value", argv[optind - 1]);
            return OPTS_ERROR;
        default:
            if (optopt > 0 && optopt < 256)
                snprintf(err, errlen, "unknown option '-%c' (see --help)", optopt);
            else
                snprintf(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
            return OPTS_ERROR;
        }
    }
    /* the one sub-command (getopt_long has moved the options before it) */
    if (optind < argc && strcmp(argv[optind], "demo") == 0) {
        o->demo = true;
        optind++;
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
        return OPTS_ERROR;
    }
    return OPTS_OK;
}
