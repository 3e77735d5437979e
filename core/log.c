/* SPDX-License-Identifier: MIT */
/* log: formats one diagnostic line and writes it with a single write(2), so
 * lines from different worker threads never interleave. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

enum log_level log_threshold = LOG_LVL_INFO;

static void (*_Atomic redirect)(enum log_level, const char *);

void log_redirect(void (*fn)(enum log_level lvl, const char *line))
{
    redirect = fn;
}

static const char *const level_names[] = {"error: ", "warning: ", "", "", "debug: "};

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n = snprintf(line, sizeof(line), "lucent: %s", level_names[lvl]);
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    void (*fn)(enum log_level, const char *) = redirect;
    if (fn != NULL) {
        line[len] = '\0';
        fn(lvl, line + 8); /* without "lucent: " */
        return;
    }
    line[len++] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, len);
    (void)rc;
}
