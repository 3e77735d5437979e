/* SPDX-License-Identifier: MIT */
/* check: a tiny header-only assertion layer for lucent's unit tests.
 * Every CHECK* macro is an expression that yields true when the check holds;
 * a failing check prints file:line, the expression and the values to stderr
 * and is counted, the test goes on. check_summary() prints "N passed, N
 * failed" on stdout and returns the exit status (non-zero on any failure).
 * check_note() sets a context line printed with later failures (e.g. which
 * table row or split offset is being run). Counters are not thread-safe:
 * check from one thread only. */
#ifndef LUCENT_TESTS_UNIT_CHECK_H
#define LUCENT_TESTS_UNIT_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define CHECK_MAX_REPORTS 100 /* failures printed in full; the rest are only counted */

struct check_state {
    unsigned long passed, failed;
    char note[256];
};

static inline struct check_state *check_state(void)
{
    static struct check_state s;
    return &s;
}

/* Sets (fmt != NULL) or clears (fmt == NULL) the context of later failures. */
static inline __attribute__((format(printf, 1, 2))) void check_note(const char *fmt, ...)
{
    struct check_state *s = check_state();
    s->note[0] = '\0';
    if (fmt == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->note, sizeof(s->note), fmt, ap);
    va_end(ap);
}

/* Counts a result; on failure prints the header line and says whether the
 * caller should print details (false once CHECK_MAX_REPORTS is reached). */
static inline bool check_record(bool ok, const char *file, int line, const char *what)
{
    struct check_state *s = check_state();
    if (ok) {
        s->passed++;
        return false;
    }
    s->failed++;
    if (s->failed > CHECK_MAX_REPORTS)
        return false;
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    if (s->note[0] != '\0')
        fprintf(stderr, "    note: %s\n", s->note);
    return true;
}

/* Prints bytes as a C string literal: printable ASCII as is, the rest \xNN. */
static inline void check_print_bytes(const char *label, const void *p, size_t len)
{
    const unsigned char *b = p;
    fprintf(stderr, "    %s (%zu bytes): \"", label, len);
    for (size_t i = 0; i < len; i++) {
        if (b[i] == '"' || b[i] == '\\')
            fprintf(stderr, "\\%c", b[i]);
        else if (b[i] >= 0x20 && b[i] < 0x7f)
            fputc(b[i], stderr);
        else
            fprintf(stderr, "\\x%02x", b[i]);
    }
    fputs("\"\n", stderr);
}

static inline bool check_true(bool ok, const char *file, int line, const char *expr)
{
    check_record(ok, file, line, expr);
    return ok;
}

static inline bool check_eq_int(long long a, long long b, const char *ea, const char *eb,
                                const char *file, int line)
{
    bool ok = a == b;
    char what[512];
    snprintf(what, sizeof(what), "%s == %s", ea, eb);
    if (check_record(ok, file, line, what))
        fprintf(stderr, "    left:  %lld\n    right: %lld\n", a, b);
    return ok;
}

static inline bool check_eq_str(const char *a, const char *b, const char *ea, const char *eb,
                                const char *file, int line)
{
    bool ok = (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
    char what[512];
    snprintf(what, sizeof(what), "%s == %s", ea, eb);
    if (check_record(ok, file, line, what)) {
        if (a == NULL)
            fputs("    left:  NULL\n", stderr);
        else
            check_print_bytes("left ", a, strlen(a));
        if (b == NULL)
            fputs("    right: NULL\n", stderr);
        else
            check_print_bytes("right", b, strlen(b));
    }
    return ok;
}

static inline bool check_eq_mem(const void *a, size_t alen, const void *b, size_t blen,
                                const char *ea, const char *eb, const char *file, int line)
{
    bool ok = alen == blen && (alen == 0 || (a != NULL && b != NULL && memcmp(a, b, alen) == 0));
    char what[512];
    snprintf(what, sizeof(what), "%s == %s", ea, eb);
    if (check_record(ok, file, line, what)) {
        size_t i = 0;
        if (a != NULL && b != NULL)
            while (i < alen && i < blen && ((const char *)a)[i] == ((const char *)b)[i])
                i++;
        fprintf(stderr, "    first difference at byte %zu\n", i);
        check_print_bytes("left ", a != NULL ? a : "", a != NULL ? alen : 0);
        check_print_bytes("right", b != NULL ? b : "", b != NULL ? blen : 0);
    }
    return ok;
}

#define CHECK(cond) check_true(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ_INT(a, b)                                                                         \
    check_eq_int((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_STR(a, b) check_eq_str((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_MEM(a, alen, b, blen)                                                             \
    check_eq_mem((a), (alen), (b), (blen), #a, #b, __FILE__, __LINE__)

/* Prints "N passed, N failed"; returns the process exit status. */
static inline int check_summary(void)
{
    struct check_state *s = check_state();
    if (s->failed > CHECK_MAX_REPORTS)
        fprintf(stderr, "(%lu more failures not shown)\n", s->failed - CHECK_MAX_REPORTS);
    fflush(stderr);
    printf("%lu passed, %lu failed\n", s->passed, s->failed);
    fflush(stdout);
    return s->failed == 0 ? 0 : 1;
}

#endif
