/* SPDX-License-Identifier: MIT */
/* Unit tests of core/url: absolute-form and authority-form request targets. */
#include <stdlib.h>
#include <string.h>

#include "core/url.h"
#include "check.h"

/* Copies s into a heap block of exactly strlen(s) bytes (no NUL), so that
 * any read past the given length is caught by AddressSanitizer. */
static char *exact(const char *s, size_t *len)
{
    *len = strlen(s);
    char *p = malloc(*len ? *len : 1);
    if (p == NULL)
        abort();
    memcpy(p, s, *len);
    return p;
}

/* ---- absolute-form: accepted -------------------------------------------- */

static void test_absolute_ok(void)
{
    static const struct {
        const char *in;
        const char *scheme, *host;
        unsigned port;
        bool port_explicit, ipv6;
        const char *path; /* "" for path_len == 0 */
    } rows[] = {
        {"http://a.test/x", "http", "a.test", 80, false, false, "/x"},
        {"https://a.test/x", "https", "a.test", 443, false, false, "/x"},
        {"http://a.test:8080/x", "http", "a.test", 8080, true, false, "/x"},
        {"https://a.test:8443/", "https", "a.test", 8443, true, false, "/"},
        {"http://a.test:80/", "http", "a.test", 80, true, false, "/"},
        {"http://a.test:1/", "http", "a.test", 1, true, false, "/"},
        {"http://a.test:65535/", "http", "a.test", 65535, true, false, "/"},
        {"http://a.test:/p", "http", "a.test", 80, false, false, "/p"}, /* empty port */
        {"http://[::1]:8080/p", "http", "::1", 8080, true, true, "/p"},
        {"https://[::1]/", "https", "::1", 443, false, true, "/"},
        {"http://[2001:DB8::A]/", "http", "2001:db8::a", 80, false, true, "/"},
        {"http://[::ffff:1.2.3.4]:81/", "http", "::ffff:1.2.3.4", 81, true, true, "/"},
        {"HTTP://A.Test/Path", "http", "a.test", 80, false, false, "/Path"},
        {"HtTpS://WWW.EXAMPLE.COM:444/X?Y=Z", "https", "www.example.com", 444, true, false,
         "/X?Y=Z"},
        {"http://a.test/x?q=1&r=%20", "http", "a.test", 80, false, false, "/x?q=1&r=%20"},
        {"http://a.test/x?q=1#frag", "http", "a.test", 80, false, false, "/x?q=1"},
        {"http://a.test/x#frag?notquery", "http", "a.test", 80, false, false, "/x"},
        {"http://a.test#frag", "http", "a.test", 80, false, false, ""},
        {"http://a.test", "http", "a.test", 80, false, false, ""},
        {"http://a.test:8080", "http", "a.test", 8080, true, false, ""},
        {"http://a.test?x", "http", "a.test", 80, false, false, "?x"},
        {"http://127.0.0.1:3128/", "http", "127.0.0.1", 3128, true, false, "/"},
        {"http://my_host-1.example~x/", "http", "my_host-1.example~x", 80, false, false, "/"},
        {"http://a.test/p@q", "http", "a.test", 80, false, false, "/p@q"}, /* @ in path */
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct url u;
        char err[128] = "";
        size_t len;
        char *in = exact(rows[r].in, &len);
        check_note("row %zu: %s", r, rows[r].in);
        int rc = url_parse_absolute(in, len, &u, err, sizeof(err));
        if (CHECK_EQ_INT(rc, 0)) {
            CHECK_EQ_STR(u.scheme, rows[r].scheme);
            CHECK_EQ_STR(u.host, rows[r].host);
            CHECK_EQ_INT(u.port, rows[r].port);
            CHECK_EQ_INT(u.port_explicit, rows[r].port_explicit);
            CHECK_EQ_INT(u.ipv6, rows[r].ipv6);
            CHECK_EQ_MEM(u.path, u.path_len, rows[r].path, strlen(rows[r].path));
            /* the path is borrowed from the input */
            CHECK(u.path >= in && u.path + u.path_len <= in + len);
        } else {
            fprintf(stderr, "    err: %s\n", err);
        }
        free(in);
    }
    check_note(NULL);
}

/* The length is what counts, not a NUL. */
static void test_absolute_length(void)
{
    struct url u;
    char err[128];
    static const char s[] = "http://a.test/xyz GARBAGE";
    CHECK_EQ_INT(url_parse_absolute(s, 17, &u, err, sizeof(err)), 0);
    CHECK_EQ_MEM(u.path, u.path_len, "/xyz", 4);
    CHECK_EQ_INT(url_parse_absolute(s, 13, &u, err, sizeof(err)), 0);
    CHECK_EQ_STR(u.host, "a.test");
    CHECK_EQ_INT(u.path_len, 0);
}

/* ---- absolute-form: refused --------------------------------------------- */

static void test_absolute_errors(void)
{
    char long_host[300 + 16];
    memcpy(long_host, "http://", 7);
    memset(long_host + 7, 'a', 256);
    strcpy(long_host + 7 + 256, "/");

    static char max_host[255 + 16]; /* 255 is allowed */
    memcpy(max_host, "http://", 7);
    memset(max_host + 7, 'b', 255);
    strcpy(max_host + 7 + 255, "/");

    const struct {
        const char *in;
        const char *err_has; /* a substring of the message */
    } rows[] = {
        {"/x", "absolute-form"},
        {"/", "absolute-form"},
        {"", "absolute"},
        {"*", "absolute"},
        {"a.test/x", "absolute"},
        {"http:/a.test/", "absolute"},
        {"http//a.test/", "absolute"},
        {"://a.test/", "absolute"},
        {"ftp://a.test/", "scheme"},
        {"ws://a.test/", "scheme"},
        {"httpss://a.test/", "scheme"},
        {"abcdefgh://a.test/", "scheme"},
        {"http://user@a.test/", "userinfo"},
        {"http://user:pw@a.test:80/", "userinfo"},
        {"http://@a.test/", "userinfo"},
        {"http://a.test:0/", "port"},
        {"http://a.test:65536/", "port"},
        {"http://a.test:99999999999999999999/", "port"},
        {"http://a.test:abc/", "port"},
        {"http://a.test:80a/", "port"},
        {"http://a.test:-1/", "port"},
        {"http://a.test: 80/", "port"},
        {"http:///x", "host"},
        {"http://", "host"},
        {"http://:80/", "host"},
        {"http://a test/", "host"},
        {"http://a\"b/", "host"},
        {"http://a%41/", "host"},
        {"http://a\x01.test/", "host"},
        {"http://a.t\xc3\xa9st/", "host"},
        {"http://a\\b/", "host"},
        {"http://[::1/", "IPv6"},
        {"http://[]/", "IPv6"},
        {"http://[::g]/", "IPv6"},
        {"http://[::1]x/", "after host"},
        {"http://[::1]:0/", "port"},
        {long_host, "too long"},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct url u;
        char err[128] = "";
        size_t len;
        char *in = exact(rows[r].in, &len);
        check_note("row %zu: %.40s", r, rows[r].in);
        CHECK_EQ_INT(url_parse_absolute(in, len, &u, err, sizeof(err)), -1);
        CHECK(err[0] != '\0');
        if (!CHECK(strstr(err, rows[r].err_has) != NULL))
            fprintf(stderr, "    err: %s\n", err);
        free(in);
    }
    check_note(NULL);

    struct url u;
    char err[128] = "";
    CHECK_EQ_INT(url_parse_absolute(max_host, strlen(max_host), &u, err, sizeof(err)), 0);
    CHECK_EQ_INT(strlen(u.host), 255);

    /* a short error buffer is truncated, not overrun */
    char tiny[8];
    memset(tiny, 'X', sizeof(tiny));
    CHECK_EQ_INT(url_parse_absolute("/x", 2, &u, tiny, 5), -1);
    CHECK_EQ_INT(strlen(tiny), 4);
    CHECK_EQ_INT(tiny[5], 'X');
}

/* ---- authority-form (CONNECT) ------------------------------------------- */

static void test_authority(void)
{
    static const struct {
        const char *in;
        const char *host;
        unsigned port;
        bool ipv6;
    } ok[] = {
        {"a.test:443", "a.test", 443, false},
        {"A.TEST:8443", "a.test", 8443, false},
        {"a.test:80", "a.test", 80, false},
        {"[::1]:443", "::1", 443, true},
        {"[2001:DB8::1]:8443", "2001:db8::1", 8443, true},
        {"10.0.0.1:22", "10.0.0.1", 22, false},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(ok); r++) {
        struct url u;
        char err[128] = "";
        size_t len;
        char *in = exact(ok[r].in, &len);
        check_note("row %zu: %s", r, ok[r].in);
        if (CHECK_EQ_INT(url_parse_authority(in, len, &u, err, sizeof(err)), 0)) {
            CHECK_EQ_STR(u.host, ok[r].host);
            CHECK_EQ_INT(u.port, ok[r].port);
            CHECK(u.port_explicit);
            CHECK_EQ_INT(u.ipv6, ok[r].ipv6);
            CHECK_EQ_INT(u.path_len, 0);
        } else {
            fprintf(stderr, "    err: %s\n", err);
        }
        free(in);
    }

    static const struct {
        const char *in, *err_has;
    } bad[] = {
        {"a.test", "port missing"},
        {"a.test:", "port missing"},
        {"[::1]", "port missing"},
        {"[::1]:", "port missing"},
        {"", "host"},
        {":443", "host"},
        {"a.test:0", "port"},
        {"a.test:65536", "port"},
        {"a.test:https", "port"},
        {"user@a.test:443", "userinfo"},
        {"http://a.test:443", "port"},
        {"a.test:443/x", "port"},
        {"[::1:443", "IPv6"},
        {"a b:443", "host"},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(bad); r++) {
        struct url u;
        char err[128] = "";
        size_t len;
        char *in = exact(bad[r].in, &len);
        check_note("bad row %zu: %s", r, bad[r].in);
        CHECK_EQ_INT(url_parse_authority(in, len, &u, err, sizeof(err)), -1);
        if (!CHECK(strstr(err, bad[r].err_has) != NULL))
            fprintf(stderr, "    err: %s\n", err);
        free(in);
    }
    check_note(NULL);
}

/* ---- url_authority / url_default_port ----------------------------------- */

static void test_format(void)
{
    static const struct {
        const char *in;
        bool connect; /* parse as authority-form */
        bool always_port;
        const char *want;
    } rows[] = {
        {"http://a.test/", false, false, "a.test"},
        {"http://a.test/", false, true, "a.test:80"},
        {"http://a.test:80/", false, false, "a.test"},
        {"http://a.test:8080/", false, false, "a.test:8080"},
        {"http://a.test:443/", false, false, "a.test:443"},
        {"https://a.test/", false, false, "a.test"},
        {"https://a.test/", false, true, "a.test:443"},
        {"https://a.test:80/", false, false, "a.test:80"},
        {"http://[::1]/", false, false, "[::1]"},
        {"http://[::1]/", false, true, "[::1]:80"},
        {"http://[::1]:8080/", false, false, "[::1]:8080"},
        {"https://[FE80::1]:443/", false, false, "[fe80::1]"},
        {"a.test:443", true, true, "a.test:443"},
        {"a.test:8443", true, false, "a.test:8443"},
        {"[::1]:443", true, true, "[::1]:443"},
    };
    for (size_t r = 0; r < LC_ARRAY_LEN(rows); r++) {
        struct url u;
        char err[128], out[URL_HOST_MAX + 16];
        const char *in = rows[r].in;
        check_note("row %zu: %s always_port=%d", r, in, rows[r].always_port);
        int rc = rows[r].connect ? url_parse_authority(in, strlen(in), &u, err, sizeof(err))
                                 : url_parse_absolute(in, strlen(in), &u, err, sizeof(err));
        if (!CHECK_EQ_INT(rc, 0))
            continue;
        size_t n = url_authority(&u, rows[r].always_port, out, sizeof(out));
        CHECK_EQ_STR(out, rows[r].want);
        CHECK_EQ_INT(n, strlen(rows[r].want));
    }
    check_note(NULL);

    /* truncation: returns outlen - 1, NUL-terminated */
    struct url u;
    char err[64], out[8];
    memset(out, 'X', sizeof(out));
    if (CHECK_EQ_INT(url_parse_absolute("http://[::1]:8080/", 18, &u, err, sizeof(err)), 0)) {
        CHECK_EQ_INT(url_authority(&u, false, out, 6), 5);
        CHECK_EQ_STR(out, "[::1]");
        CHECK_EQ_INT(out[6], 'X');
    }

    CHECK_EQ_INT(url_default_port("http"), 80);
    CHECK_EQ_INT(url_default_port("https"), 443);
}

int main(void)
{
    test_absolute_ok();
    test_absolute_length();
    test_absolute_errors();
    test_authority();
    test_format();
    return check_summary();
}
