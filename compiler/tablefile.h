/* Putting a table file in place atomically, the djb way: a temp file in the
 * target directory, body first (hashed as it streams), header LAST (so a
 * half-written file has no valid header), fsync, close, rename over the
 * target, fsync the directory. A crash at any point leaves the previous file
 * intact; a reader sees the old table or the new one, never a mix. */
#ifndef QCC_COMPILER_TABLEFILE_H
#define QCC_COMPILER_TABLEFILE_H

#include <stddef.h>

#include "schema/error.h"

/* Write IMAGE (a complete table; its checksums are recomputed while writing)
 * to PATH atomically. Mode 0644, or 0600 when the header says the table holds
 * a literal key. */
int qcc_tablefile_write(const char *path, const void *image, size_t len, struct qcc_err *err);

/* Make DST a copy of the table SRC, atomically, after verifying SRC (a
 * damaged snapshot is never installed). A copy rather than a hard link, so
 * overwriting one file in place cannot damage the other. */
int qcc_tablefile_install(const char *src, const char *dst, struct qcc_err *err);

/* Remove temp files a killed writer left beside PATH (only those whose
 * writer process is gone). Returns how many were removed. */
int qcc_tablefile_clean(const char *path);
/* The same for every table file in DIR. */
int qcc_tablefile_clean_dir(const char *dir);

#endif
