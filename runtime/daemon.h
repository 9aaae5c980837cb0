/* qcc-run as a daemon (--daemon) and its pidfile (--pidfile): the double
 * fork that reports the start's outcome to the first parent, and a pidfile
 * that names a live qcc-run. Used by runtime/main.c only. */
#ifndef QCC_RUNTIME_DAEMON_H
#define QCC_RUNTIME_DAEMON_H

#include <stddef.h>
#include <sys/types.h>

#include "schema/error.h"

/* Double fork: the first parent exits with 0 once qcc_daemon_ready is
 * called, else with the status given to qcc_daemon_failed and the daemon's
 * stderr (its reason). Returns 0 in the daemon, -1 when it cannot fork. */
int qcc_daemon_start(void);
/* Serving: tell the parent; stderr goes to /dev/null from now on. No-op
 * when not a daemon. */
void qcc_daemon_ready(void);
/* The start failed with RC: the parent exits with it. No-op when not a
 * daemon or already ready. */
void qcc_daemon_failed(int rc);

/* PATH made absolute against the working directory (a daemon leaves it):
 * 0, or -1 when it does not fit CAP. */
int qcc_daemon_absolute(const char *path, char *out, size_t cap);

/* The pid in FILE when it names a live qcc-run (not us), else 0. */
pid_t qcc_pidfile_live(const char *file);
/* Write our pid to FILE (0600, atomically). */
int qcc_pidfile_write(const char *file, struct qcc_err *err);
/* Remove FILE only while it still names us (a successor may own it). */
void qcc_pidfile_remove(const char *file);

#endif
