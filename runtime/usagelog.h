/* qcc-run's usage file writer (format: schema/usage.h, docs/usage.md).
 *
 * One record per finished /v1/messages exchange, appended with one write()
 * (O_APPEND) when the exchange ends. The fsync policy is the journal's
 * setting: always = fdatasync after each record; everysec = at most once a
 * second from a loop timer; no = the kernel decides. At open a torn tail is
 * cut (a damaged file is moved aside, never refused: usage must not stop the
 * proxy); then, and once a day, old request records are folded into hourly
 * rollups and rollups past retention dropped (temp file, fsync, rename).
 * A request id already recorded (the last ~8k ids, seeded from the file at
 * open) is never recorded again. Single-threaded: loop thread only. */
#ifndef QCC_RUNTIME_USAGELOG_H
#define QCC_RUNTIME_USAGELOG_H

#include <stdbool.h>
#include <stdint.h>

#include "schema/enums.h"
#include "schema/error.h"
#include "schema/usage.h"

struct ev_loop;
struct qcc_usagelog;

struct qcc_usagelog_params {
  const char *dir;                 /* the state directory */
  enum qcc_fsync_policy policy;    /* the journal's */
  struct qcc_usage_retention ret;  /* zeros: the defaults (30 / 400 days) */
};

struct qcc_usagelog_stats {
  uint64_t records;       /* appended */
  uint64_t duplicates;    /* refused: request id already recorded */
  uint64_t write_errors;
  uint64_t truncated;     /* torn tail bytes cut at open */
  bool moved_aside;       /* a damaged file was renamed at open */
  uint64_t rollups;       /* rewrites done */
  uint64_t size;
};

/* LOOP may be NULL (tests): then nothing runs by itself (no everysec fsync,
 * no daily rollup). */
int qcc_usagelog_open(struct ev_loop *loop, const struct qcc_usagelog_params *p,
                      struct qcc_usagelog **out, struct qcc_err *err);
void qcc_usagelog_close(struct qcc_usagelog **l);
/* Append R (its request_id is the dedupe key). 1 = a duplicate, not
 * written; -1 = write failed (the file is back at its last whole record). */
int qcc_usagelog_append(struct qcc_usagelog *l, const struct qcc_usage_rec *r, struct qcc_err *err);
/* FN(ARG, R) after every record appended (not after a duplicate or a failed
 * write): the status page's sums follow the file without reading it. NULL
 * removes it. */
void qcc_usagelog_set_observer(struct qcc_usagelog *l,
                               void (*fn)(void *arg, const struct qcc_usage_rec *r), void *arg);
/* Fold and prune now, as of NOW_MS (unix ms). */
int qcc_usagelog_rollup(struct qcc_usagelog *l, int64_t now_ms, struct qcc_usage_fold_stats *st,
                        struct qcc_err *err);
/* The same on a worker thread (what the daily timer does; needs the loop):
 * returns at once; the new file is put in place from the loop when the fold
 * is done (stats.rollups counts it). No-op while one is running. */
void qcc_usagelog_rollup_async(struct qcc_usagelog *l, int64_t now_ms);
/* A reload's usage.detail_retention / usage.retention (zeros: defaults),
 * used from the next rollup on. */
void qcc_usagelog_set_retention(struct qcc_usagelog *l, const struct qcc_usage_retention *ret);
void qcc_usagelog_get_stats(const struct qcc_usagelog *l, struct qcc_usagelog_stats *out);
const char *qcc_usagelog_path(const struct qcc_usagelog *l);

#endif
