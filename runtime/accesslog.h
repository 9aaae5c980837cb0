/* The access log: one JSON object per line per request. It never holds a
 * header value (so no key or token can leak through it). Destination is a
 * file opened O_APPEND (reopened on SIGUSR1 after rotation) or stdout. */
#ifndef QCC_RUNTIME_ACCESSLOG_H
#define QCC_RUNTIME_ACCESSLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "exchange.h"
#include "schema/error.h"

struct qcc_accesslog;

struct qcc_access_entry {
  const char *request_id;
  const char *method;
  const char *path;        /* without the query string; need not be NUL-terminated */
  size_t path_len;
  const char *endpoint;    /* NULL when no upstream was chosen */
  int status;
  int upstream_status;     /* 0 when none answered */
  double ttfb_ms;          /* < 0 when there was no first byte */
  double total_ms;
  uint64_t bytes_in;       /* request bytes read (head + body) */
  uint64_t bytes_out;      /* response bytes queued to the client (head + body) */
  uint64_t generation;
  bool failed;
  const char *model;                     /* upstream model of a /v1/messages answer, or NULL */
  const struct qcc_usage_tokens *tokens; /* its usage (schema/usage.h), or NULL */
  const int64_t *cost_pico;              /* its cost, pico-USD (INT64_MIN = no price), or NULL */
  const struct qcc_exchange_try *tried;  /* endpoints that failed before, with why */
  size_t tried_count;
};

/* PATH "-" = stdout. The file is created 0600 if missing. */
int qcc_accesslog_open(const char *path, struct qcc_accesslog **out, struct qcc_err *err);
void qcc_accesslog_close(struct qcc_accesslog **log);
/* Open the path anew (log rotation). Keeps the old fd when that fails. */
int qcc_accesslog_reopen(struct qcc_accesslog *log, struct qcc_err *err);
/* One line; a failed write is counted, never fatal to the request. */
void qcc_accesslog_write(struct qcc_accesslog *log, const struct qcc_access_entry *e);
uint64_t qcc_accesslog_dropped(const struct qcc_accesslog *log);

#endif
