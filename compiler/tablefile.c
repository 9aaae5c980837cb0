#include "tablefile.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "schema/fileio.h"
#include "schema/table.h"

int qcc_tablefile_write(const char *path, const void *image, size_t len, struct qcc_err *err) {
  const uint8_t *img = image;
  if (len < QCC_TABLE_HEADER_SIZE) return qcc_err_set(err, EINVAL, "%s: image too short", path);
  struct qcc_tbl_header h;
  memcpy(&h, img, sizeof h);
  /* A literal key is a secret: only the owner may read the file. */
  mode_t mode = (h.flags & QCC_TABLE_FLAG_LITERAL_KEYS) ? 0600 : 0644;
  struct qcc_newfile *f = NULL;
  if (qcc_newfile_new(path, mode, &f, err) != 0) return -1;

  /* Body first, hashed as it streams; the header region stays zero (no magic)
   * until the very end. */
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  const size_t chunk = 1u << 20;
  for (size_t off = QCC_TABLE_HEADER_SIZE; off < len; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    XXH3_64bits_update(&st, img + off, n);
    if (qcc_newfile_pwrite(f, img + off, n, off, err) != 0) goto fail;
  }
  h.file_size = len;
  h.payload_checksum = XXH3_64bits_digest(&st);
  h.header_checksum = XXH3_64bits(&h, offsetof(struct qcc_tbl_header, header_checksum));
  if (qcc_newfile_pwrite(f, &h, sizeof h, 0, err) != 0) goto fail;
  return qcc_newfile_commit(&f, QCC_NEWFILE_REPLACE, NULL, err);
fail:
  qcc_newfile_free(&f);
  return qcc_err_wrap(err, "%s", path);
}

int qcc_tablefile_install(const char *src, const char *dst, struct qcc_err *err) {
  struct qcc_table *t = NULL;
  struct qcc_table_error te;
  if (qcc_table_open(src, &t, &te) != 0)
    return qcc_err_set(err, EINVAL, "%s: %s: %s", src, qcc_table_status_name(te.status), te.message);
  /* A copy, not a hard link: a user who overwrites OUT in place (cp does)
   * must not damage the snapshot it came from. */
  size_t len = 0;
  const void *bytes = qcc_table_bytes(t, &len);
  int rc = qcc_tablefile_write(dst, bytes, len, err);
  qcc_table_close(&t);
  return rc;
}

int qcc_tablefile_clean(const char *path) { return qcc_file_clean_temps(path); }

int qcc_tablefile_clean_dir(const char *dir) { return qcc_dir_clean_temps(dir); }
