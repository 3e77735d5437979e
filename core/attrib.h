/* SPDX-License-Identifier: MIT */
/* attrib: compiler annotations used on prototypes across lucent. */
#ifndef LUCENT_CORE_ATTRIB_H
#define LUCENT_CORE_ATTRIB_H

#define LC_WUR __attribute__((warn_unused_result))
#define LC_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define LC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LC_UNUSED __attribute__((unused))
#define LC_NORETURN __attribute__((noreturn))
#define LC_LIKELY(x) __builtin_expect(!!(x), 1)
#define LC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
