/* Files both programs write and read, one way (djb's tools, Redis):
 *
 * - a new file is written beside its target as ".<name>.tmp.<pid>.<n>"
 *   (created O_EXCL with exactly the mode asked, whatever the umask), then
 *   fsync, close, rename over the target (or link, when the target must not
 *   exist yet), fsync the directory. A reader sees the old file or the new
 *   one, never a mix; a crash leaves the old file and a temp file that
 *   qcc_file_clean_temps removes once its writer is gone.
 * - a file is read only when it is a regular file (opened O_NONBLOCK, so a
 *   FIFO or a device put at the path cannot block the caller) of at most a
 *   given size, into private memory that later changes to the file (in place
 *   truncation or rewriting) cannot touch.
 *
 * Shared by qccc and qcc-run, hence in schema/ (it is not a format contract,
 * but the one place both may use without including each other). */
#ifndef QCC_SCHEMA_FILEIO_H
#define QCC_SCHEMA_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* A file being written: the temp file until committed. */
struct qcc_newfile;

enum qcc_newfile_flags {
  QCC_NEWFILE_REPLACE = 0,    /* rename over the target */
  QCC_NEWFILE_CREATE = 1,     /* link into place; EEXIST if the target exists */
  QCC_NEWFILE_NO_DIRSYNC = 2, /* the caller fsyncs the directory (and decides
                                 what a failure there means) */
};

/* Create the temp file beside PATH with MODE (exactly). */
int qcc_newfile_new(const char *path, mode_t mode, struct qcc_newfile **out, struct qcc_err *err);
/* The temp file's descriptor (O_RDWR, offset 0): for writers that stream,
 * pwrite or lock it themselves. */
int qcc_newfile_fd(const struct qcc_newfile *f);
/* The temp file's path, e.g. to validate the new contents before commit. */
const char *qcc_newfile_temp(const struct qcc_newfile *f);
int qcc_newfile_write(struct qcc_newfile *f, const void *data, size_t len, struct qcc_err *err);
int qcc_newfile_pwrite(struct qcc_newfile *f, const void *data, size_t len, uint64_t off,
                       struct qcc_err *err);
/* fsync, rename (or link), fsync the directory; F is freed and NULLed either
 * way. KEEP_FD: when non-NULL the descriptor stays open and goes there (-1 on
 * failure); otherwise it is closed (a close error fails the commit). On
 * failure the target is untouched and the temp file removed. */
int qcc_newfile_commit(struct qcc_newfile **f, unsigned flags, int *keep_fd, struct qcc_err *err);
/* Abandon: close and remove the temp file. NULL-safe; NULLs *f. */
void qcc_newfile_free(struct qcc_newfile **f);

/* DATA becomes PATH's whole contents atomically, with MODE. */
int qcc_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                     struct qcc_err *err);

/* Read PATH whole into *OUT (malloc'd, NUL-terminated after LEN bytes,
 * aligned for any type). Refuses what is not a regular file and files over
 * CAP bytes (code EFBIG). The caller frees *OUT. */
int qcc_file_read(const char *path, size_t cap, void **out, size_t *len, struct qcc_err *err);
/* The same, and *MODE (when not NULL) the file's permission bits, from the
 * descriptor read (an edit writes its replacement with the same mode). */
int qcc_file_read_mode(const char *path, size_t cap, void **out, size_t *len, mode_t *mode,
                       struct qcc_err *err);

/* fsync directory DIR (after creating, renaming or removing in it). */
int qcc_dir_fsync(const char *dir, struct qcc_err *err);
/* The same for the directory holding PATH. */
int qcc_dir_fsync_of(const char *path, struct qcc_err *err);

/* Remove temp files a killed writer left beside PATH (only those whose
 * writer process is gone). Returns how many were removed. */
int qcc_file_clean_temps(const char *path);
/* The same for every file's temp files in directory DIR. */
int qcc_dir_clean_temps(const char *dir);

#endif
