/* Errors are values: a function returns a status (0 = ok, -1 = failed) and
 * fills a struct qcc_err with what went wrong. Only main prints it. */
#ifndef QCC_SCHEMA_ERROR_H
#define QCC_SCHEMA_ERROR_H

#include <stddef.h>

struct qcc_err {
  int code;        /* an errno value, or a module's own status; 0 when unset */
  char msg[512];   /* what is wrong and, where known, what to do; no secrets */
};

/* Set err (when non-NULL) and return -1, so callers can `return qcc_err_set(...)`. */
int qcc_err_set(struct qcc_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the existing message with "CONTEXT: " (the caller adds the where). */
int qcc_err_wrap(struct qcc_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
