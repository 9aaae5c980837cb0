/* The error log: leveled lines on stderr (or a file reopened on SIGUSR1).
 * Format: "2026-11-26T04:30:00.123Z LEVEL message". Callers never pass
 * secrets; log.c does not try to scrub them. */
#ifndef QCC_RUNTIME_LOG_H
#define QCC_RUNTIME_LOG_H

#include "schema/enums.h"

void qcc_log_set_level(enum qcc_log_level lvl);
/* NULL = stderr. Returns -1 (errno set) when the file cannot be opened. */
int qcc_log_open(const char *path);
int qcc_log_reopen(void);

void qcc_log(enum qcc_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define qcc_log_debug(...) qcc_log(QCC_LOG_DEBUG, __VA_ARGS__)
#define qcc_log_info(...) qcc_log(QCC_LOG_INFO, __VA_ARGS__)
#define qcc_log_warn(...) qcc_log(QCC_LOG_WARNING, __VA_ARGS__)
#define qcc_log_error(...) qcc_log(QCC_LOG_ERROR, __VA_ARGS__)

#endif
