/* SPDX-License-Identifier: MIT */
/* Unit tests of core/opts: the command line. Each argv is a fresh array of
 * heap strings (getopt_long may permute it, and opts borrows from it). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/opts.h"
#include "check.h"

#define MAX_ARGS 12

struct cmd {
    int argc;
    char *argv[MAX_ARGS + 2];
    struct opts o;
    char err[256];
    enum opts_rc rc;
};

/* opts_parse sets optind = 1, which glibc does not take as a reset: its
 * pointer into the previous argv survives, so after a parse that ended right
 * after a short option the next one reads the old (here freed) strings; see
 * test_regressions. optind = 0 makes getopt start afresh. */
static void getopt_reset(void)
{
    static char prog[] = "reset";
    char *argv[] = {prog, NULL};
    optind = 0;
    opterr = 0;
    (void)getopt(1, argv, "");
}

/* Runs opts_parse over "lucent" + args (NULL-terminated list); `reset`
 * works around the bug above. */
static void run_ex(struct cmd *c, const char *const *args, bool reset)
{
    memset(c, 0, sizeof(*c));
    c->argv[c->argc++] = strdup("lucent");
    for (size_t i = 0; args[i] != NULL && i < MAX_ARGS; i++)
        c->argv[c->argc++] = strdup(args[i]);
    c->argv[c->argc] = NULL;
    for (int i = 0; i < c->argc; i++)
        if (c->argv[i] == NULL)
            abort();
    opts_defaults(&c->o);
    if (reset)
        getopt_reset();
    c->rc = opts_parse(&c->o, c->argc, c->argv, c->err, sizeof(c->err));
}

static void run(struct cmd *c, const char *const *args)
{
    run_ex(c, args, true);
}

static void done(struct cmd *c)
{
    for (int i = 0; i < c->argc; i++)
        free(c->argv[i]);
}

/* ---- defaults ----------------------------------------------------------- */

static void test_defaults(void)
{
    struct opts o;
    memset(&o, 0xa5, sizeof(o));
    opts_defaults(&o);
    CHECK_EQ_STR(o.listen_host, "127.0.0.1");
    CHECK_EQ_INT(o.listen_port, 8080);
    CHECK_EQ_INT(o.workers, 0);
    CHECK(!o.headless);
    CHECK(o.flow_log == NULL);
    CHECK(o.header_timeout == 30);
    CHECK(o.idle_timeout == 60);
    CHECK(o.connect_timeout == 10);
    CHECK(o.upstream_timeout == 60);
    CHECK_EQ_INT(o.max_header_size, 64 * 1024);
    CHECK_EQ_INT(o.max_headers, 100);
    CHECK_EQ_INT(o.verbosity, 0);
    CHECK(!o.help);
    CHECK(!o.version);

    /* no arguments: OK and nothing changes */
    struct cmd c;
    static const char *const none[] = {NULL};
    run(&c, none);
    CHECK_EQ_INT(c.rc, OPTS_OK);
    CHECK(memcmp(&c.o, &o, sizeof(o)) == 0); /* opts_defaults zeroes the padding too */
    CHECK_EQ_STR(c.o.listen_host, "127.0.0.1");
    CHECK_EQ_INT(c.o.max_header_size, 65536);
    done(&c);
}

/* ---- every option, long and short --------------------------------------- */

enum field {
    F_HOST, F_PORT, F_WORKERS, F_HEADLESS, F_FLOW_LOG, F_HEADER_TIMEOUT, F_IDLE_TIMEOUT,
    F_CONNECT_TIMEOUT, F_UPSTREAM_TIMEOUT, F_MAX_HEADER_SIZE, F_MAX_HEADERS, F_VERBOSITY,
    F_COUNT
};

static double num_field(const struct opts *o, enum field f)
{
    switch (f) {
    case F_PORT: return o->listen_port;
    case F_WORKERS: return o->workers;
    case F_HEADLESS: return o->headless;
    case F_HEADER_TIMEOUT: return o->header_timeout;
    case F_IDLE_TIMEOUT: return o->idle_timeout;
    case F_CONNECT_TIMEOUT: return o->connect_timeout;
    case F_UPSTREAM_TIMEOUT: return o->upstream_timeout;
    case F_MAX_HEADER_SIZE: return (double)o->max_header_size;
    case F_MAX_HEADERS: return o->max_headers;
    case F_VERBOSITY: return o->verbosity;
    default: return -12345;
    }
}

static const char *str_field(const struct opts *o, enum field f)
{
    return f == F_HOST ? o->listen_host : f == F_FLOW_LOG ? o->flow_log : NULL;
}

static void test_each_option(void)
{
    static const struct {
        const char *args[5];
        enum field field;
        double num;
        const char *str;
    } rows[] = {
        {{"--listen-host", "::1"}, F_HOST, 0, "::1"},
        {{"--listen-host=0.0.0.0"}, F_HOST, 0, "0.0.0.0"},
        {{"--listen-port", "3128"}, F_PORT, 3128, NULL},
        {{"--listen-port=3129"}, F_PORT, 3129, NULL},
        {{"-p", "3130"}, F_PORT, 3130, NULL},
        {{"-p3131"}, F_PORT, 3131, NULL},
        {{"-p", "0"}, F_PORT, 0, NULL},
        {{"-p", "65535"}, F_PORT, 65535, NULL},
        {{"-p", "1", "-p", "2"}, F_PORT, 2, NULL}, /* the last one wins */
        {{"--workers", "4"}, F_WORKERS, 4, NULL},
        {{"--workers=1"}, F_WORKERS, 1, NULL},
        {{"--workers", "64"}, F_WORKERS, 64, NULL},
        {{"--headless"}, F_HEADLESS, 1, NULL},
        {{"--flow-log", "flows.jsonl"}, F_FLOW_LOG, 0, "flows.jsonl"},
        {{"--flow-log=/tmp/x y.jsonl"}, F_FLOW_LOG, 0, "/tmp/x y.jsonl"},
        {{"--header-timeout", "0.5"}, F_HEADER_TIMEOUT, 0.5, NULL},
        {{"--header-timeout=12"}, F_HEADER_TIMEOUT, 12, NULL},
        {{"--idle-timeout", "120"}, F_IDLE_TIMEOUT, 120, NULL},
        {{"--connect-timeout", "2.25"}, F_CONNECT_TIMEOUT, 2.25, NULL},
        {{"--upstream-timeout", "604800"}, F_UPSTREAM_TIMEOUT, 604800, NULL},
        {{"--max-header-size", "300"}, F_MAX_HEADER_SIZE, 300, NULL},
        {{"--max-header-size", "256"}, F_MAX_HEADER_SIZE, 256, NULL},
        {{"--max-header-size", "32k"}, F_MAX_HEADER_SIZE, 32 * 1024, NULL},
        {{"--max-header-size", "8K"}, F_MAX_HEADER_SIZE, 8 * 1024, NULL},
        {{"--max-header-size", "1m"}, F_MAX_HEADER_SIZE, 1024 * 1024, NULL},
        {{"--max-header-size", "16M"}, F_MAX_HEADER_SIZE, 16 * 1024 * 1024, NULL},
        {{"--max-header-size=16384k"}, F_MAX_HEADER_SIZE, 16 * 1024 * 1024, NULL},
        {{"--max-headers", "50"}, F_MAX_HEADERS, 50, NULL},
        {{"--max-headers", "1"}, F_MAX_HEADERS, 1, NULL},
        {{"--max-headers", "10000"}, F_MAX_HEADERS, 10000, NULL},
        {{"-v"}, F_VERBOSITY, 1, NULL},
        {{"--verbose"}, F_VERBOSITY, 1, NULL},
        {{"-v", "-v"}, F_VERBOSITY, 2, NULL},
        {{"-vv"}, F_VERBOSITY, 2, NULL},
        {{"-vvv", "--verbose"}, F_VERBOSITY, 4, NULL},
        {{"-q"}, F_VERBOSITY, -1, NULL},
        {{"--quiet"}, F_VERBOSITY, -1, NULL},
        {{"-v", "-q"}, F_VERBOSITY, -1, NULL},
        {{"-q", "-v"}, F_VERBOSITY, 0, NULL},
        {{"--work", "3"}, F_WORKERS, 3, NULL}, /* unambiguous abbreviation */
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct cmd c;
        struct opts def;
        opts_defaults(&def);
        run(&c, rows[r].args);
        check_note("row %zu: %s %s", r, rows[r].args[0], rows[r].args[1] ? rows[r].args[1] : "");
        if (!CHECK_EQ_INT(c.rc, OPTS_OK))
            fprintf(stderr, "    err: %s\n", c.err);
        CHECK_EQ_STR(c.err, "");
        if (rows[r].str != NULL)
            CHECK_EQ_STR(str_field(&c.o, rows[r].field), rows[r].str);
        else
            CHECK(num_field(&c.o, rows[r].field) == rows[r].num);
        /* and nothing else moved */
        for (enum field f = 0; f < F_COUNT; f++) {
            if (f == rows[r].field)
                continue;
            if (f == F_HOST || f == F_FLOW_LOG)
                CHECK_EQ_STR(str_field(&c.o, f), str_field(&def, f));
            else
                CHECK(num_field(&c.o, f) == num_field(&def, f));
        }
        CHECK(!c.o.help && !c.o.version);
        done(&c);
    }
    check_note(NULL);
}

static void test_all_at_once(void)
{
    static const char *const args[] = {
        "--listen-host", "::1", "-p", "9000", "--workers", "2", "--headless",
        "--flow-log", "f.jsonl", "--header-timeout", "1.5", NULL,
    };
    static const char *const args2[] = {
        "--idle-timeout", "7", "--connect-timeout", "8", "--upstream-timeout", "9",
        "--max-header-size", "2k", "--max-headers", "20", "-vq", NULL,
    };
    struct cmd c;
    run(&c, args);
    CHECK_EQ_INT(c.rc, OPTS_OK);
    CHECK_EQ_STR(c.o.listen_host, "::1");
    CHECK_EQ_INT(c.o.listen_port, 9000);
    CHECK_EQ_INT(c.o.workers, 2);
    CHECK(c.o.headless);
    CHECK_EQ_STR(c.o.flow_log, "f.jsonl");
    CHECK(c.o.header_timeout == 1.5);
    done(&c);

    run(&c, args2);
    CHECK_EQ_INT(c.rc, OPTS_OK);
    CHECK(c.o.idle_timeout == 7);
    CHECK(c.o.connect_timeout == 8);
    CHECK(c.o.upstream_timeout == 9);
    CHECK_EQ_INT(c.o.max_header_size, 2048);
    CHECK_EQ_INT(c.o.max_headers, 20);
    CHECK_EQ_INT(c.o.verbosity, -1);
    done(&c);
}

/* ---- refused ------------------------------------------------------------ */

static void test_errors(void)
{
    static const struct {
        const char *args[4];
        const char *err_has[2]; /* substrings the message must hold */
    } rows[] = {
        {{"--listen-port", "70000"}, {"--listen-port", "70000"}},
        {{"--listen-port", "65536"}, {"--listen-port", "65536"}},
        {{"-p", "abc"}, {"--listen-port", "abc"}},
        {{"-p", "-1"}, {"--listen-port", "-1"}},
        {{"-p", "+80"}, {"--listen-port", "+80"}},
        {{"-p", ""}, {"--listen-port", NULL}},
        {{"-p", "80x"}, {"--listen-port", "80x"}},
        {{"-p", "99999999999999999999999"}, {"--listen-port", NULL}},
        {{"--workers", "0"}, {"--workers", "'0'"}},
        {{"--workers", "65"}, {"--workers", "65"}},
        {{"--workers", "four"}, {"--workers", "four"}},
        {{"--workers", "2.5"}, {"--workers", "2.5"}},
        {{"--header-timeout", "abc"}, {"--header-timeout", "abc"}},
        {{"--header-timeout", "-1"}, {"--header-timeout", "-1"}},
        {{"--header-timeout", "0"}, {"--header-timeout", "'0'"}},
        {{"--header-timeout", "0.0"}, {"--header-timeout", NULL}},
        {{"--header-timeout", ""}, {"--header-timeout", NULL}},
        {{"--header-timeout", "1s"}, {"--header-timeout", "1s"}},
        {{"--header-timeout", "nan"}, {"--header-timeout", NULL}},
        {{"--header-timeout", "inf"}, {"--header-timeout", NULL}},
        {{"--header-timeout", "604801"}, {"--header-timeout", NULL}},
        {{"--idle-timeout", "0"}, {"--idle-timeout", NULL}},
        {{"--connect-timeout", "x"}, {"--connect-timeout", NULL}},
        {{"--upstream-timeout", "-5"}, {"--upstream-timeout", NULL}},
        {{"--max-header-size", "10"}, {"--max-header-size", "'10'"}},
        {{"--max-header-size", "255"}, {"--max-header-size", NULL}},
        {{"--max-header-size", "1x"}, {"--max-header-size", "1x"}},
        {{"--max-header-size", "17m"}, {"--max-header-size", "17m"}},
        {{"--max-header-size", "16385k"}, {"--max-header-size", NULL}},
        {{"--max-header-size", "k"}, {"--max-header-size", NULL}},
        {{"--max-header-size", "1kk"}, {"--max-header-size", NULL}},
        {{"--max-header-size", "-1k"}, {"--max-header-size", NULL}},
        {{"--max-headers", "0"}, {"--max-headers", NULL}},
        {{"--max-headers", "10001"}, {"--max-headers", NULL}},
        {{"--listen-host", ""}, {"--listen-host", NULL}},
        {{"--flow-log", ""}, {"--flow-log", NULL}},
        {{"--bogus"}, {"unknown option", "--bogus"}},
        {{"--bogus=1"}, {"unknown option", NULL}},
        {{"-x"}, {"unknown option", "-x"}},
        {{"--headless=yes"}, {"--headless", NULL}},
        {{"--head"}, {"--head", NULL}}, /* ambiguous */
        {{"--workers"}, {"--workers", "missing"}},
        {{"--flow-log"}, {"--flow-log", "missing"}},
        {{"--max-header-size"}, {"--max-header-size", "missing"}},
        {{"-p"}, {"--listen-port", "missing"}},
        {{"stray"}, {"unexpected argument", "stray"}},
        {{"--", "-p"}, {"unexpected argument", "-p"}},
        {{"-p", "80", "extra"}, {"unexpected argument", "extra"}},
        {{"--workers", "0", "--workers", "2"}, {"--workers", NULL}}, /* stops at the first */
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct cmd c;
        run(&c, rows[r].args);
        check_note("row %zu: %s %s", r, rows[r].args[0], rows[r].args[1] ? rows[r].args[1] : "");
        CHECK_EQ_INT(c.rc, OPTS_ERROR);
        CHECK(c.err[0] != '\0');
        for (int k = 0; k < 2; k++) {
            if (rows[r].err_has[k] != NULL && !CHECK(strstr(c.err, rows[r].err_has[k]) != NULL))
                fprintf(stderr, "    err: %s\n", c.err);
        }
        CHECK(!c.o.help && !c.o.version);
        done(&c);
    }
    check_note(NULL);

    /* a short buffer gets a truncated message, not an overrun */
    struct cmd c;
    memset(&c, 0, sizeof(c));
    c.argv[c.argc++] = strdup("lucent");
    c.argv[c.argc++] = strdup("--workers");
    c.argv[c.argc++] = strdup("1000");
    opts_defaults(&c.o);
    getopt_reset();
    char small[12];
    memset(small, 'X', sizeof(small));
    CHECK_EQ_INT(opts_parse(&c.o, c.argc, c.argv, small, 10), OPTS_ERROR);
    CHECK_EQ_INT(strlen(small), 9);
    CHECK_EQ_INT(small[10], 'X');
    done(&c);
}

/* ---- --help, --version -------------------------------------------------- */

static void test_exit(void)
{
    static const struct {
        const char *args[4];
        enum opts_rc rc;
        bool help, version;
    } rows[] = {
        {{"--help"}, OPTS_EXIT, true, false},
        {{"-h"}, OPTS_EXIT, true, false},
        {{"--version"}, OPTS_EXIT, false, true},
        {{"-p", "1", "--help"}, OPTS_EXIT, true, false},
        {{"--help", "--bogus"}, OPTS_EXIT, true, false}, /* stops at --help */
        {{"--version", "--help"}, OPTS_EXIT, false, true},
        {{"--bogus", "--help"}, OPTS_ERROR, false, false},
        {{"--workers", "0", "--help"}, OPTS_ERROR, false, false},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct cmd c;
        run(&c, rows[r].args);
        check_note("row %zu: %s", r, rows[r].args[0]);
        CHECK_EQ_INT(c.rc, rows[r].rc);
        CHECK_EQ_INT(c.o.help, rows[r].help);
        CHECK_EQ_INT(c.o.version, rows[r].version);
        done(&c);
    }
    check_note(NULL);

    /* the usage text names every option */
    static const char *const names[] = {
        "--listen-host", "--listen-port", "-p,", "--workers", "--headless", "--flow-log",
        "--header-timeout", "--idle-timeout", "--connect-timeout", "--upstream-timeout",
        "--max-header-size", "--max-headers", "--verbose", "-v,", "--quiet", "-q,", "--help",
        "-h,", "--version",
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(names); i++) {
        check_note("usage mentions %s", names[i]);
        CHECK(strstr(opts_usage, names[i]) != NULL);
    }
    check_note(NULL);
}

/* Bugs found while writing these tests (regression tests). */
static void test_regressions(void)
{
    struct cmd c;

    /* the previous parse ended right after "-v": glibc keeps a pointer to
     * its end, which opts_parse (optind = 1) does not clear; the strings are
     * freed, so this parse reads freed memory (ASan: heap-use-after-free) */
    static const char *const v[] = {"-v", NULL}, *const q[] = {"-q", NULL};
    run(&c, v);
    done(&c);
    run_ex(&c, q, false);
    CHECK_EQ_INT(c.rc, OPTS_OK);
    CHECK_EQ_INT(c.o.verbosity, -1);
    done(&c);

    /* a size suffix that overflows wraps around: 2^54+1 k is 2^64 + 1024 */
    static const char *const wrap[] = {"--max-header-size", "18014398509481985k", NULL};
    run(&c, wrap);
    CHECK_EQ_INT(c.rc, OPTS_ERROR);
    done(&c);

    /* an unknown option inside a cluster is reported as argv[optind - 1],
     * which is the program name here */
    static const char *const cluster[] = {"-xv", NULL};
    run(&c, cluster);
    CHECK_EQ_INT(c.rc, OPTS_ERROR);
    CHECK(strstr(c.err, "-x") != NULL);
    done(&c);

    /* optind = 1 does not reset glibc's getopt: the cluster left over from
     * the previous call ("v" of "-xv") is parsed first, and "-q" skipped */
    static const char *const quiet[] = {"-q", NULL};
    run_ex(&c, quiet, false);
    CHECK_EQ_INT(c.rc, OPTS_OK);
    CHECK_EQ_INT(c.o.verbosity, -1);
    done(&c);
}

/* `lucent demo` (the one sub-command), --demo, --demo-port N (HTTPS on N+1) */
static void test_demo(void)
{
    static const struct {
        const char *args[6]; /* NULL-terminated */
        enum opts_rc rc;
        bool demo;
        unsigned port;
        const char *err_has;
    } rows[] = {
        {{NULL}, OPTS_OK, false, 0, NULL},
        {{"demo"}, OPTS_OK, true, 0, NULL},
        {{"demo", "-p", "0", "--headless"}, OPTS_OK, true, 0, NULL},
        {{"-p", "0", "demo", "--workers", "1"}, OPTS_OK, true, 0, NULL},
        {{"--demo"}, OPTS_OK, true, 0, NULL},
        {{"--demo-port", "8000"}, OPTS_OK, true, 8000, NULL},
        {{"--demo-port=65534"}, OPTS_OK, true, 65534, NULL},
        {{"demo", "--demo-port", "0"}, OPTS_OK, true, 0, NULL},
        {{"--demo-port", "65535"}, OPTS_ERROR, false, 0, "--demo-port"},
        {{"--demo-port", "-1"}, OPTS_ERROR, false, 0, "--demo-port"},
        {{"--demo-port", "http"}, OPTS_ERROR, false, 0, "'http'"},
        {{"--demo-port"}, OPTS_ERROR, false, 0, "--demo-port: missing value"},
        {{"demo", "demo"}, OPTS_ERROR, true, 0, "unexpected argument 'demo'"},
        {{"demos"}, OPTS_ERROR, false, 0, "unexpected argument 'demos'"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cmd c;
        run(&c, rows[i].args);
        CHECK_EQ_INT(c.rc, rows[i].rc);
        if (rows[i].rc == OPTS_OK) {
            CHECK_EQ_INT(c.o.demo, rows[i].demo);
            CHECK_EQ_INT(c.o.demo_port, rows[i].port);
        } else {
            CHECK(strstr(c.err, rows[i].err_has) != NULL);
        }
        done(&c);
    }
}

int main(void)
{
    test_defaults();
    test_each_option();
    test_all_at_once();
    test_errors();
    test_exit();
    test_regressions();
    test_demo();
    return check_summary();
}
