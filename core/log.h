/* SPDX-License-Identifier: MIT */
/* log: lucent's own diagnostics (not product output: flows go to the bus).
 * Lines go to stderr as "lucent: [level] message". Debug lines cost one
 * integer compare when disabled. Thread-safe: each line is one write(2). */
#ifndef LUCENT_CORE_LOG_H
#define LUCENT_CORE_LOG_H

#include "core/attrib.h"

/* NOTE: shown by default, without a level word (script output, reloads). */
enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_NOTE, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_threshold;

void log_msg(enum log_level lvl, const char *fmt, ...) LC_PRINTF(2, 3);
/* Sends lines (without "lucent: " and newline) to fn instead of stderr, e.g.
 * while the viewer owns the terminal; NULL restores stderr. fn may be called
 * from any thread. */
void log_redirect(void (*fn)(enum log_level lvl, const char *line));

#define LC_LOG(lvl, ...)                                                                           \
    do {                                                                                           \
        if ((lvl) <= log_threshold)                                                                \
            log_msg((lvl), __VA_ARGS__);                                                           \
    } while (0)
#define LC_ERROR(...) LC_LOG(LOG_LVL_ERROR, __VA_ARGS__)
#define LC_WARN(...) LC_LOG(LOG_LVL_WARN, __VA_ARGS__)
#define LC_NOTE(...) LC_LOG(LOG_LVL_NOTE, __VA_ARGS__)
#define LC_INFO(...) LC_LOG(LOG_LVL_INFO, __VA_ARGS__)
#define LC_DEBUG(...) LC_LOG(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
