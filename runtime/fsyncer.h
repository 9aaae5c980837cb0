/* The `everysec` fsync thread shared by the journal (journal_writer.c) and
 * the usage store (usagelog.c): a file written on the loop thread is made
 * durable about once a second by fdatasync on a thread of its own, so the
 * loop never waits on the disk (fdatasync here: ~1 ms median, 9 ms worst).
 *
 * The loop thread only marks the file dirty (a mutex held for a flag); the
 * thread never holds the mutex while in fdatasync. Before the owner closes
 * or replaces its descriptor it hands the new one over with
 * qcc_fsyncer_set_fd, which waits for an fdatasync in progress, so the
 * thread never syncs a closed descriptor. A failed fdatasync is retried the
 * next second and its errno kept for qcc_fsyncer_take_error. */
#ifndef QCC_RUNTIME_FSYNCER_H
#define QCC_RUNTIME_FSYNCER_H

#include <stdbool.h>
#include <stdint.h>

#include "schema/error.h"

struct qcc_fsyncer;

/* Start the thread for FD; WHAT names the file in the error ("journal"). */
int qcc_fsyncer_start(int fd, const char *what, struct qcc_fsyncer **out, struct qcc_err *err);
/* Stop and join the thread; true when a sync was still due (the owner
 * syncs before closing). NULL-safe; *S becomes NULL. */
bool qcc_fsyncer_stop(struct qcc_fsyncer **s);
/* Records were written: sync within about a second. NULL-safe. */
void qcc_fsyncer_mark_dirty(struct qcc_fsyncer *s);
/* From now on sync FD (after waiting for an fdatasync in progress). */
void qcc_fsyncer_set_fd(struct qcc_fsyncer *s, int fd);
/* fdatasync calls made so far (read without the lock). 0 for NULL. */
uint64_t qcc_fsyncer_count(const struct qcc_fsyncer *s);
/* errno of the last failed fdatasync since the previous call, 0 = none. */
int qcc_fsyncer_take_error(struct qcc_fsyncer *s);

#endif
