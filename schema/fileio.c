#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_TAG ".tmp."
#define NAME_TRIES 100

struct qcc_newfile {
  int fd;
  char *path; /* the target */
  char *dir;  /* its directory, "." when none */
  char *temp;
};

/* DIR (malloc'd) and the base name inside PATH. */
static int split_path(const char *path, char **dir, const char **base, struct qcc_err *err) {
  const char *slash = strrchr(path, '/');
  size_t n = 1;
  const char *d = ".";
  *base = path;
  if (slash != NULL) {
    d = path;
    n = slash == path ? 1 : (size_t)(slash - path); /* "/x" -> "/" */
    *base = slash + 1;
  }
  if (**base == '\0') return qcc_err_set(err, EINVAL, "%s: not a file name", path);
  *dir = strndup(d, n);
  if (*dir == NULL) return qcc_err_set(err, ENOMEM, "%s: out of memory", path);
  return 0;
}

int qcc_dir_fsync(const char *dir, struct qcc_err *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return qcc_err_set(err, errno, "%s: cannot open directory: %s", dir, strerror(errno));
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc != 0) return qcc_err_set(err, e, "%s: cannot fsync the directory: %s", dir, strerror(e));
  return 0;
}

int qcc_dir_fsync_of(const char *path, struct qcc_err *err) {
  char *dir = NULL;
  const char *base = NULL;
  if (split_path(path, &dir, &base, err) != 0) return -1;
  int rc = qcc_dir_fsync(dir, err);
  free(dir);
  return rc;
}

void qcc_newfile_free(struct qcc_newfile **pf) {
  if (pf == NULL || *pf == NULL) return;
  struct qcc_newfile *f = *pf;
  if (f->fd >= 0) close(f->fd);
  if (f->temp != NULL) unlink(f->temp);
  free(f->temp);
  free(f->dir);
  free(f->path);
  free(f);
  *pf = NULL;
}

int qcc_newfile_new(const char *path, mode_t mode, struct qcc_newfile **out, struct qcc_err *err) {
  static atomic_uint counter;
  *out = NULL;
  struct qcc_newfile *f = calloc(1, sizeof *f);
  if (f == NULL) return qcc_err_set(err, ENOMEM, "%s: out of memory", path);
  f->fd = -1;
  const char *base = NULL;
  if (split_path(path, &f->dir, &base, err) != 0) {
    free(f);
    return -1;
  }
  size_t cap = strlen(f->dir) + strlen(base) + 64;
  f->path = strdup(path);
  f->temp = malloc(cap);
  if (f->path == NULL || f->temp == NULL) {
    free(f->temp);
    f->temp = NULL;
    qcc_newfile_free(&f);
    return qcc_err_set(err, ENOMEM, "%s: out of memory", path);
  }
  /* The pid in the name tells a dead writer's leftovers from a live one's. */
  for (int i = 0; i < NAME_TRIES; i++) {
    snprintf(f->temp, cap, "%s/.%s" TMP_TAG "%ld.%u", f->dir, base, (long)getpid(),
             atomic_fetch_add(&counter, 1));
    f->fd = open(f->temp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
    if (f->fd >= 0 || errno != EEXIST) break;
  }
  if (f->fd < 0) {
    int e = errno;
    free(f->temp);
    f->temp = NULL; /* not ours: do not unlink */
    qcc_newfile_free(&f);
    return qcc_err_set(err, e, "%s: cannot create a temp file beside it: %s", path, strerror(e));
  }
  /* The umask must neither widen nor narrow the mode asked for. */
  if (fchmod(f->fd, mode & 07777) != 0) {
    int e = errno;
    qcc_newfile_free(&f);
    return qcc_err_set(err, e, "%s: cannot set mode %o: %s", path, (unsigned)(mode & 07777),
                       strerror(e));
  }
  *out = f;
  return 0;
}

int qcc_newfile_fd(const struct qcc_newfile *f) { return f->fd; }
const char *qcc_newfile_temp(const struct qcc_newfile *f) { return f->temp; }

int qcc_newfile_write(struct qcc_newfile *f, const void *data, size_t len, struct qcc_err *err) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(f->fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      return qcc_err_set(err, e, "%s: cannot write: %s", f->temp, strerror(e));
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int qcc_newfile_pwrite(struct qcc_newfile *f, const void *data, size_t len, uint64_t off,
                       struct qcc_err *err) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = pwrite(f->fd, p, len, (off_t)off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      return qcc_err_set(err, e, "%s: cannot write: %s", f->temp, strerror(e));
    }
    p += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 0;
}

int qcc_newfile_commit(struct qcc_newfile **pf, unsigned flags, int *keep_fd, struct qcc_err *err) {
  struct qcc_newfile *f = *pf;
  if (keep_fd != NULL) *keep_fd = -1;
  int rc = -1;
  /* The rename must never expose a file that is not on disk. */
  if (fsync(f->fd) != 0) {
    qcc_err_set(err, errno, "%s: cannot fsync: %s", f->temp, strerror(errno));
    goto out;
  }
  if (keep_fd == NULL) {
    int c = close(f->fd);
    f->fd = -1;
    if (c != 0) {
      qcc_err_set(err, errno, "%s: cannot write: %s", f->temp, strerror(errno));
      goto out;
    }
  }
  if (flags & QCC_NEWFILE_CREATE) {
    /* link, not rename: whoever created the target first keeps it. */
    if (link(f->temp, f->path) != 0) {
      int e = errno;
      qcc_err_set(err, e, "%s: %s", f->path,
                  e == EEXIST ? "already exists" : strerror(e));
      goto out;
    }
    unlink(f->temp);
  } else if (rename(f->temp, f->path) != 0) {
    qcc_err_set(err, errno, "%s: cannot replace: %s", f->path, strerror(errno));
    goto out;
  }
  free(f->temp);
  f->temp = NULL; /* in place now: nothing to remove */
  if (keep_fd != NULL) {
    *keep_fd = f->fd;
    f->fd = -1;
  }
  rc = 0;
  if (!(flags & QCC_NEWFILE_NO_DIRSYNC)) rc = qcc_dir_fsync(f->dir, err);
out:
  qcc_newfile_free(pf);
  return rc;
}

int qcc_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                     struct qcc_err *err) {
  struct qcc_newfile *f = NULL;
  if (qcc_newfile_new(path, mode, &f, err) != 0) return -1;
  if (qcc_newfile_write(f, data, len, err) != 0) {
    qcc_newfile_free(&f);
    return -1;
  }
  return qcc_newfile_commit(&f, QCC_NEWFILE_REPLACE, NULL, err);
}

/* Free a buffer that may hold secrets (a key file, a table with a literal
 * key) without leaving them in the heap. */
static void wipe_free(char *p, size_t n) {
  if (p == NULL) return;
  explicit_bzero(p, n);
  free(p);
}

int qcc_file_read(const char *path, size_t cap, void **out, size_t *len, struct qcc_err *err) {
  return qcc_file_read_mode(path, cap, out, len, NULL, err);
}

int qcc_file_read_mode(const char *path, size_t cap, void **out, size_t *len, mode_t *mode,
                       struct qcc_err *err) {
  *out = NULL;
  *len = 0;
  if (cap > SIZE_MAX / 2) cap = SIZE_MAX / 2; /* CAP + 2 must not wrap */
  /* O_NONBLOCK: opening a FIFO without a writer would block until one comes. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return qcc_err_set(err, errno, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return qcc_err_set(err, e, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return qcc_err_set(err, EINVAL, "%s: not a regular file", path);
  }
  if ((uint64_t)st.st_size > cap) {
    close(fd);
    return qcc_err_set(err, EFBIG, "%s: %lld bytes, more than the %zu allowed", path,
                       (long long)st.st_size, cap);
  }
  if (mode != NULL) *mode = st.st_mode & 07777;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    int e = errno;
    close(fd);
    return qcc_err_set(err, e, "%s: cannot clear O_NONBLOCK: %s", path, strerror(e));
  }
  /* The file may change while we read: trust what read() returns, not the
   * size fstat saw, and stop at CAP + 1 bytes. */
  size_t size = (size_t)st.st_size + 1, got = 0;
  char *buf = malloc(size + 1);
  int e = buf == NULL ? ENOMEM : 0;
  while (e == 0) {
    if (got == size) {
      if (size > cap) break; /* more than CAP arrived */
      size_t ns = size > cap / 2 ? cap + 1 : size * 2;
      char *nb = malloc(ns + 1);
      if (nb == NULL) {
        e = ENOMEM;
        break;
      }
      memcpy(nb, buf, got);
      wipe_free(buf, size + 1);
      buf = nb;
      size = ns;
    }
    ssize_t n = read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) e = errno;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (e == 0 && got > cap) e = EFBIG;
  if (e != 0) {
    wipe_free(buf, buf != NULL ? size + 1 : 0);
    if (e == EFBIG)
      return qcc_err_set(err, e, "%s: grew past the %zu bytes allowed while being read", path, cap);
    return qcc_err_set(err, e, "%s: cannot read: %s", path, strerror(e));
  }
  buf[got] = '\0';
  *out = buf;
  *len = got;
  return 0;
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
  for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
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

int qcc_file_clean_temps(const char *path) {
  char *dir = NULL;
  const char *base = NULL;
  if (split_path(path, &dir, &base, NULL) != 0) return 0;
  int n = clean(dir, base);
  free(dir);
  return n;
}

int qcc_dir_clean_temps(const char *dir) { return clean(dir, NULL); }
