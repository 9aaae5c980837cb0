#include "tablefile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "schema/table.h"

#define TMP_TAG ".tmp."

/* Split PATH into its directory ("." when none) and base name. */
static int split_path(const char *path, char *dir, size_t dcap, const char **base,
                      struct qcc_err *err) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    snprintf(dir, dcap, ".");
    *base = path;
  } else {
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/x" -> "/" */
    if (n >= dcap) return qcc_err_set(err, ENAMETOOLONG, "%s: path too long", path);
    memcpy(dir, path, n);
    dir[n] = '\0';
    *base = slash + 1;
  }
  if (**base == '\0') return qcc_err_set(err, EINVAL, "%s: not a file name", path);
  return 0;
}

static int fsync_dir(const char *dir, struct qcc_err *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return qcc_err_set(err, errno, "%s: cannot open directory: %s", dir, strerror(errno));
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc != 0) return qcc_err_set(err, e, "%s: fsync directory: %s", dir, strerror(e));
  return 0;
}

/* A fresh temp name beside PATH; the pid in it lets a later build tell a dead
 * writer's leftovers from a concurrent writer's file. */
static int tmp_name(const char *dir, const char *base, char *out, size_t cap, struct qcc_err *err) {
  static unsigned counter;
  int n = snprintf(out, cap, "%s/.%s" TMP_TAG "%ld.%u", dir, base, (long)getpid(), counter++);
  if (n < 0 || (size_t)n >= cap) return qcc_err_set(err, ENAMETOOLONG, "%s/%s: path too long", dir, base);
  return 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, off_t off) {
  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
    off += n;
  }
  return 0;
}

int qcc_tablefile_write(const char *path, const void *image, size_t len, struct qcc_err *err) {
  const uint8_t *img = image;
  if (len < QCC_TABLE_HEADER_SIZE) return qcc_err_set(err, EINVAL, "%s: image too short", path);
  char dir[4096], tmp[4352];
  const char *base = NULL;
  if (split_path(path, dir, sizeof dir, &base, err) != 0 || tmp_name(dir, base, tmp, sizeof tmp, err) != 0)
    return -1;
  struct qcc_tbl_header h;
  memcpy(&h, img, sizeof h);
  /* A literal key is a secret: only the owner may read the file. */
  mode_t mode = (h.flags & QCC_TABLE_FLAG_LITERAL_KEYS) ? 0600 : 0644;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return qcc_err_set(err, errno, "%s: cannot create: %s", tmp, strerror(errno));
  if (fchmod(fd, mode) != 0) goto fail; /* the umask must not widen or narrow it */

  /* Body first, hashed as it streams; the header region stays zero (no magic)
   * until the very end. */
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  const size_t chunk = 1u << 20;
  for (size_t off = QCC_TABLE_HEADER_SIZE; off < len; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    XXH3_64bits_update(&st, img + off, n);
    if (pwrite_all(fd, img + off, n, (off_t)off) != 0) goto fail;
  }
  h.file_size = len;
  h.payload_checksum = XXH3_64bits_digest(&st);
  h.header_checksum = XXH3_64bits(&h, offsetof(struct qcc_tbl_header, header_checksum));
  if (pwrite_all(fd, (const uint8_t *)&h, sizeof h, 0) != 0) goto fail;
  if (fsync(fd) != 0) goto fail;
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) != 0) goto fail;
  return fsync_dir(dir, err);
fail : {
  int e = errno;
  if (fd >= 0) close(fd);
  unlink(tmp);
  return qcc_err_set(err, e, "%s: cannot write: %s", path, strerror(e));
}
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

/* Remove ".<base>.tmp.<pid>.<n>" files in DIR (any base when BASE is NULL)
 * whose writer is gone. */
static int clean(const char *dir, const char *base) {
  char prefix[512];
  int pn = 0;
  if (base != NULL) {
    pn = snprintf(prefix, sizeof prefix, ".%s" TMP_TAG, base);
    if (pn < 0 || (size_t)pn >= sizeof prefix) return 0;
  }
  DIR *d = opendir(dir);
  if (d == NULL) return 0;
  int removed = 0;
  struct dirent *de;
  for (de = readdir(d); de != NULL; de = readdir(d)) {
    const char *rest = NULL;
    if (base != NULL) {
      if (strncmp(de->d_name, prefix, (size_t)pn) != 0) continue;
      rest = de->d_name + pn;
    } else {
      const char *tag = de->d_name[0] == '.' ? strstr(de->d_name, TMP_TAG) : NULL;
      if (tag == NULL) continue;
      rest = tag + strlen(TMP_TAG);
    }
    char *end = NULL;
    long pid = strtol(rest, &end, 10);
    if (end == rest || *end != '.' || pid <= 0) continue;
    /* Leave a live writer's file alone (it is about to be renamed). */
    if (pid != (long)getpid() && !(kill((pid_t)pid, 0) != 0 && errno == ESRCH)) continue;
    char full[4608];
    int n = snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
    if (n < 0 || (size_t)n >= sizeof full) continue;
    if (unlink(full) == 0) removed++;
  }
  closedir(d);
  return removed;
}

int qcc_tablefile_clean(const char *path) {
  char dir[4096];
  const char *base = NULL;
  if (split_path(path, dir, sizeof dir, &base, NULL) != 0) return 0;
  return clean(dir, base);
}

int qcc_tablefile_clean_dir(const char *dir) { return clean(dir, NULL); }
