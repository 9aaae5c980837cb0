/* qcc-run's usage file writer (format: schema/usage.h, docs/usage.md).
 *
 * One record per finished /v1/messages exchange. With a loop, records are
 * buffered and written (O_APPEND) once per loop iteration, from an
 * ev_prepare watcher that runs before the loop blocks (and when the buffer
 * fills), so N exchanges ending in one iteration cost one write() and every
 * record is in the kernel before the loop sleeps: a kill -9 after a client
 * got its answer loses nothing. Without a loop, and under fsync `always`,
 * each append writes at once. The fsync policy is the journal's setting:
 * always = fdatasync after each record, before the exchange's answer ends
 * (a machine crash loses no answered record); everysec = at most once a second on a thread of its own (like the
 * journal's: the loop never waits on the disk); no = the kernel decides.
 * At open a torn tail is cut (a damaged file is moved aside, never refused:
 * usage must not stop the proxy); then, and once a day, old request records
 * are folded into hourly rollups and rollups past retention dropped (temp
 * file, fsync, rename). A request id already recorded (the last ~8k ids,
 * seeded from the file at open) is never recorded again.
 *
 * The file is read once at open: that one pass cuts the tail, seeds the ids
 * and hands every record to the consumers (the budgets' and the status
 * page's seeds), which then get every record appended. Loop thread only
 * (the fsync and rollup threads are internal). */
#ifndef QCC_RUNTIME_USAGELOG_H
#define QCC_RUNTIME_USAGELOG_H

#include <stdbool.h>
#include <stdint.h>

#include "schema/enums.h"
#include "schema/error.h"
#include "schema/usage.h"

struct ev_loop;
struct qcc_usagelog;

/* A reader of the records. At a scan (the one at open, qcc_usagelog_rescan)
 * BEGIN(ARG) returns the time (unix ms) from which it wants the file's
 * records (INT64_MAX: none this time), SEEN(ARG, R) gets each whole record
 * at or after it in file order (request records and hourly rollups; the
 * time is tested before the record is decoded), END(ARG) follows the pass.
 * ADDED(ARG, R) gets every record appended after (not a duplicate). Any may
 * be NULL. */
struct qcc_usagelog_consumer {
  int64_t (*begin)(void *arg);
  void (*seen)(void *arg, const struct qcc_usage_rec *r);
  void (*end)(void *arg);
  void (*added)(void *arg, const struct qcc_usage_rec *r);
  void *arg;
};
#define QCC_USAGELOG_MAX_CONSUMERS 4

struct qcc_usagelog_params {
  const char *dir;                 /* the state directory */
  enum qcc_fsync_policy policy;    /* the journal's */
  struct qcc_usage_retention ret;  /* zeros: the defaults (30 / 400 days) */
  const struct qcc_usagelog_consumer *consumers; /* copied; fed by the scan at open */
  size_t nconsumers;               /* at most QCC_USAGELOG_MAX_CONSUMERS */
};

struct qcc_usagelog_stats {
  uint64_t records;       /* appended (buffered ones included) */
  uint64_t duplicates;    /* refused: request id already recorded */
  uint64_t write_errors;  /* failed writes (each may have lost a batch) */
  uint64_t lost;          /* records a failed write lost */
  uint64_t writes;        /* write() calls that appended records */
  uint64_t scans;         /* passes over the whole file (open, rescans) */
  uint64_t fsyncs;        /* fdatasync of appended records (any thread) */
  uint64_t truncated;     /* torn tail bytes cut at open */
  bool moved_aside;       /* a damaged file was renamed at open */
  uint64_t rollups;       /* rewrites done */
  uint64_t size;
};

/* LOOP may be NULL (tests): then nothing runs by itself (no batching, no
 * everysec fsync, no daily rollup). */
int qcc_usagelog_open(struct ev_loop *loop, const struct qcc_usagelog_params *p,
                      struct qcc_usagelog **out, struct qcc_err *err);
void qcc_usagelog_close(struct qcc_usagelog **l);
/* Append R (its request_id is the dedupe key). 1 = a duplicate, not
 * written; -1 = it could not be encoded or (without a loop) written (the
 * file is back at its last whole record). A failed batched write is logged
 * and counted (stats.write_errors, stats.lost). */
int qcc_usagelog_append(struct qcc_usagelog *l, const struct qcc_usage_rec *r, struct qcc_err *err);
/* Write the buffered records now (the prepare watcher and close do it). */
void qcc_usagelog_flush(struct qcc_usagelog *l);
/* One pass over the file handing its records to the consumers again (their
 * days changed: usage.timezone on a reload). -1 when the file cannot be
 * read (the consumers then got begin and end only). */
int qcc_usagelog_rescan(struct qcc_usagelog *l, struct qcc_err *err);
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
