/* qcc-run's journal writer (format: schema/journal.h, docs/journal-format.md).
 *
 * Redis's AOF is the model:
 *   - qcc_journal_append() encodes a record into an in-memory buffer (capped);
 *   - qcc_journal_flush() is called once per loop iteration: one write() of
 *     everything buffered; a short or failed write is truncated back to the
 *     last whole record and the buffer kept for the next flush;
 *   - the fsync policy (enum qcc_fsync_policy) decides durability:
 *       always   fdatasync() in flush before it returns: a record is
 *                acknowledged only once flush has returned 0;
 *       everysec a background thread fdatasync()s at most once a second, so
 *                the loop never waits on the disk (up to ~1 s may be lost);
 *       no       the kernel decides.
 *   - at open a torn tail is truncated (and reported); corruption before the
 *     tail is refused with the offset and `qccc journal check --fix`.
 *   - past a size limit the file is compacted: the last K history records, a
 *     state_snapshot record, then the caller's current state as snapshot
 *     items, written to a temp file, fsync, rename, fsync dir.
 * Single-threaded use: all calls from the loop thread. The file is locked
 * (flock) so two qcc-run processes cannot share one state directory. */
#ifndef QCC_RUNTIME_JOURNAL_WRITER_H
#define QCC_RUNTIME_JOURNAL_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/enums.h"
#include "schema/error.h"
#include "schema/journal.h"

#define QCC_JOURNAL_BUFFER_CAP_DEFAULT (4u << 20)     /* 4 MiB of unflushed records */
#define QCC_JOURNAL_COMPACT_SIZE_DEFAULT (64ull << 20) /* compact past 64 MiB */
#define QCC_JOURNAL_KEEP_RECENT_DEFAULT 1000u         /* history records kept */
#define QCC_JOURNAL_SNAPSHOT_CAP (64u << 20)          /* cap of one snapshot */

struct qcc_journal;

/* What open found and did. */
struct qcc_journal_recovery {
  enum qcc_jscan_status found; /* status of the file as found */
  bool created;                /* there was no journal: a new one was made */
  uint64_t size_found;         /* bytes before recovery */
  uint64_t ok_up_to;           /* end of the last good record */
  uint64_t truncated_bytes;    /* torn tail cut off (size_found - ok_up_to) */
  uint64_t records;            /* good records in the file */
  char why[160];               /* scanner's reason when not clean */
};

struct qcc_journal_stats {
  uint64_t appended;     /* records accepted by append */
  uint64_t dropped;      /* records refused: buffer full and the disk failing */
  uint64_t flushes;      /* write() calls that wrote something */
  uint64_t write_errors; /* failed/short writes (truncated back) */
  uint64_t fsyncs;       /* fdatasync calls, both threads */
  uint64_t compactions;
  uint64_t size;         /* file size after the last successful write */
  size_t buffered;       /* bytes waiting for the next flush */
};

/* Open (creating 0600, and the directory 0700, when absent) DIR/journal.qj,
 * scan it and recover a torn tail. Fails on corruption before the tail, on a
 * foreign or newer-major file, and when another process holds it. */
int qcc_journal_open(const char *dir, enum qcc_fsync_policy policy, struct qcc_journal **out,
                     struct qcc_err *err);
/* Flush what is buffered, fsync (unless policy no), stop the fsync thread,
 * close. *j becomes NULL. Errors on the way are lost: flush first to see them. */
void qcc_journal_close(struct qcc_journal **j);

const struct qcc_journal_recovery *qcc_journal_recovery(const struct qcc_journal *j);
void qcc_journal_get_stats(const struct qcc_journal *j, struct qcc_journal_stats *out);
const char *qcc_journal_path(const struct qcc_journal *j);
enum qcc_fsync_policy qcc_journal_policy(const struct qcc_journal *j);
/* Change the cap of the in-memory buffer (bytes, at least one max record). */
void qcc_journal_set_buffer_cap(struct qcc_journal *j, size_t cap);

/* Buffer one record (time_ms 0 = now). When the buffer is full it writes
 * (without fsync) to make room; -1 (record dropped) only if that fails too. */
int qcc_journal_append(struct qcc_journal *j, const struct qcc_jrec *r, struct qcc_err *err);
/* Write everything buffered; under `always` also fdatasync before returning.
 * 0 = every appended record is written (and, under always, durable). On -1
 * the file is back at the last whole record and the records stay buffered.
 * Also runs compaction when the file has grown past the limit; a compaction
 * failure does not fail the flush (see qcc_journal_take_warning). */
int qcc_journal_flush(struct qcc_journal *j, struct qcc_err *err);
/* 1 and fills err when something went wrong off the main path (compaction,
 * background fsync) since the last call; 0 otherwise. */
int qcc_journal_take_warning(struct qcc_journal *j, struct qcc_err *err);

/* Yield every record in the file in order (after writing out the buffer), so
 * the runtime can rebuild state. A state_snapshot record means "forget what
 * was replayed so far": the items that follow (flag QCC_JOURNAL_FLAG_SNAPSHOT)
 * are the whole state at compaction time. Unknown record types are skipped.
 * The record and its strings are valid only during the callback. A non-zero
 * return from cb stops the replay and is returned. */
typedef int (*qcc_journal_replay_fn)(const struct qcc_jrec *r, uint64_t offset, void *ud);
int qcc_journal_replay(struct qcc_journal *j, qcc_journal_replay_fn cb, void *ud,
                       struct qcc_err *err);

/* Compaction. fn must describe the current state by calling
 * qcc_journal_snapshot_add() once per item (pins, disabled endpoints, breaker
 * states, active group, health status, dead letters); it may also append
 * ordinary records, which go to the new file after the snapshot. */
typedef int (*qcc_journal_snapshot_fn)(struct qcc_journal *j, void *ud, struct qcc_err *err);
void qcc_journal_set_compaction(struct qcc_journal *j, uint64_t size_limit, unsigned keep_recent,
                                qcc_journal_snapshot_fn fn, void *ud);
/* Only valid inside the snapshot callback. */
int qcc_journal_snapshot_add(struct qcc_journal *j, const struct qcc_jrec *r, struct qcc_err *err);
/* Compact now, whatever the size. */
int qcc_journal_compact(struct qcc_journal *j, struct qcc_err *err);

#endif
