#include "snapshots.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/layout.h"
#include "compiler/tablefile.h"

#define SNAP_DIGITS 12
#define SNAP_SUFFIX ".bin"

struct qcc_snapshots {
  char out[4096];
  char dir[4160];
  uint64_t *gens;
  size_t count, cap;
};

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* "000000000042.bin" -> 42; false for anything else. */
static bool parse_name(const char *name, uint64_t *gen) {
  size_t n = strlen(name);
  if (n != SNAP_DIGITS + strlen(SNAP_SUFFIX) || strcmp(name + SNAP_DIGITS, SNAP_SUFFIX) != 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < SNAP_DIGITS; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + (uint64_t)(name[i] - '0');
  }
  *gen = v;
  return v > 0;
}

static int rescan(struct qcc_snapshots *s, struct qcc_err *err) {
  s->count = 0;
  DIR *d = opendir(s->dir);
  if (d == NULL) {
    if (errno == ENOENT) return 0;
    return qcc_err_set(err, errno, "%s: cannot read: %s", s->dir, strerror(errno));
  }
  struct dirent *de;
  for (de = readdir(d); de != NULL; de = readdir(d)) {
    uint64_t g;
    if (!parse_name(de->d_name, &g)) continue;
    if (s->count == s->cap) {
      size_t ncap = s->cap ? s->cap * 2 : 16;
      uint64_t *n = realloc(s->gens, ncap * sizeof *n);
      if (n == NULL) {
        closedir(d);
        return qcc_err_set(err, ENOMEM, "out of memory");
      }
      s->gens = n;
      s->cap = ncap;
    }
    s->gens[s->count++] = g;
  }
  closedir(d);
  if (s->count > 1) qsort(s->gens, s->count, sizeof *s->gens, cmp_u64); /* gens may be NULL */
  return 0;
}

int qcc_snapshots_open(const char *out_path, struct qcc_snapshots **out, struct qcc_err *err) {
  *out = NULL;
  size_t n = strlen(out_path);
  if (n == 0 || n >= sizeof((struct qcc_snapshots *)0)->out)
    return qcc_err_set(err, ENAMETOOLONG, "bad output path");
  struct qcc_snapshots *s = calloc(1, sizeof *s);
  if (s == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  memcpy(s->out, out_path, n + 1);
  snprintf(s->dir, sizeof s->dir, "%s.snapshots", out_path);
  if (rescan(s, err) != 0) {
    qcc_snapshots_close(&s);
    return -1;
  }
  *out = s;
  return 0;
}

void qcc_snapshots_close(struct qcc_snapshots **s) {
  if (s == NULL || *s == NULL) return;
  free((*s)->gens);
  free(*s);
  *s = NULL;
}

const char *qcc_snapshots_out(const struct qcc_snapshots *s) { return s->out; }
const char *qcc_snapshots_dir(const struct qcc_snapshots *s) { return s->dir; }
size_t qcc_snapshots_count(const struct qcc_snapshots *s) { return s->count; }
uint64_t qcc_snapshots_generation(const struct qcc_snapshots *s, size_t i) {
  return i < s->count ? s->gens[i] : 0;
}

int qcc_snapshots_path(const struct qcc_snapshots *s, uint64_t gen, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s/%0*llu" SNAP_SUFFIX, s->dir, SNAP_DIGITS, (unsigned long long)gen);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

bool qcc_snapshots_has(const struct qcc_snapshots *s, uint64_t gen) {
  return bsearch(&gen, s->gens, s->count, sizeof *s->gens, cmp_u64) != NULL;
}

int qcc_snapshots_current(const struct qcc_snapshots *s, struct qcc_tbl_header *hdr,
                          struct qcc_table_error *te) {
  struct qcc_table *t = NULL;
  if (qcc_table_open(s->out, &t, te) != 0) return -1;
  memcpy(hdr, qcc_table_header(t), sizeof *hdr);
  qcc_table_close(&t);
  return 0;
}

uint64_t qcc_snapshots_next_generation(const struct qcc_snapshots *s) {
  uint64_t max = s->count > 0 ? s->gens[s->count - 1] : 0;
  struct qcc_tbl_header h;
  struct qcc_table_error te;
  if (qcc_snapshots_current(s, &h, &te) == 0 && h.generation > max) max = h.generation;
  return max + 1;
}

int qcc_snapshots_prune(struct qcc_snapshots *s, unsigned keep, struct qcc_err *err) {
  int removed = 0;
  while (s->count > keep) {
    char path[4352];
    if (qcc_snapshots_path(s, s->gens[0], path, sizeof path) != 0)
      return qcc_err_set(err, ENAMETOOLONG, "%s: path too long", s->dir);
    if (unlink(path) != 0 && errno != ENOENT)
      return qcc_err_set(err, errno, "%s: cannot remove: %s", path, strerror(errno));
    memmove(s->gens, s->gens + 1, (s->count - 1) * sizeof *s->gens);
    s->count--;
    removed++;
  }
  return removed;
}

/* Two builds (or a build and a rollback) of the same OUT at once would pick
 * the same generation: serialize them on an advisory lock of OUT's directory.
 * The kernel drops it when a holder dies, so a killed build never blocks. */
static int lock_out_dir(const struct qcc_snapshots *s, int *fd, struct qcc_err *err) {
  char dir[4096];
  const char *slash = strrchr(s->out, '/');
  if (slash == NULL) {
    snprintf(dir, sizeof dir, ".");
  } else {
    size_t n = slash == s->out ? 1 : (size_t)(slash - s->out);
    memcpy(dir, s->out, n);
    dir[n] = '\0';
  }
  *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0) return qcc_err_set(err, errno, "%s: cannot open directory: %s", dir, strerror(errno));
  for (;;) {
    if (flock(*fd, LOCK_EX) == 0) return 0;
    if (errno != EINTR) break;
  }
  int e = errno;
  close(*fd);
  *fd = -1;
  return qcc_err_set(err, e, "%s: cannot lock: %s", dir, strerror(e));
}

static void unlock_out_dir(int fd) {
  if (fd >= 0) close(fd); /* closing releases the flock */
}

static int publish_locked(struct qcc_snapshots *s, const struct qcc_config *cfg, int64_t build_time,
                          unsigned keep, struct qcc_build_result *r, struct qcc_err *err) {
  /* Another build may have finished while we waited for the lock. */
  if (rescan(s, err) != 0) return -1;
  /* Leftovers of a killed build are garbage; they never were OUT. */
  qcc_tablefile_clean(s->out);
  qcc_tablefile_clean_dir(s->dir);

  /* The digest is the layout's own (a hash of its payload): lay out once. */
  struct qcc_layout_opts o = {.generation = qcc_snapshots_next_generation(s), .build_time = build_time};
  struct qcc_layout *l = NULL;
  if (qcc_layout_new(cfg, &o, &l, err) != 0) return -1;
  memcpy(r->digest, ((const struct qcc_tbl_header *)qcc_layout_bytes(l, NULL))->source_digest, 16);
  struct qcc_tbl_header cur;
  struct qcc_table_error te;
  if (qcc_snapshots_current(s, &cur, &te) == 0 && memcmp(cur.source_digest, r->digest, 16) == 0) {
    struct qcc_table *t = NULL;
    qcc_layout_free(&l);
    r->unchanged = true;
    r->generation = cur.generation;
    if (qcc_table_open(s->out, &t, &te) == 0) {
      r->profiles = qcc_table_profile_count(t);
      r->endpoints = qcc_table_endpoint_count(t);
      qcc_table_close(&t);
    }
    return 0;
  }

  size_t len = 0;
  const void *img = qcc_layout_bytes(l, &len);
  /* Read back and verify before anything touches the disk. */
  struct qcc_table *t = NULL;
  if (qcc_table_open_buffer(img, len, &t, &te) != 0) {
    qcc_layout_free(&l);
    return qcc_err_set(err, EINVAL, "internal error: the laid-out table does not verify: %s: %s",
                       qcc_table_status_name(te.status), te.message);
  }
  r->generation = o.generation;
  r->profiles = qcc_table_profile_count(t);
  r->endpoints = qcc_table_endpoint_count(t);
  qcc_table_close(&t);

  int rc = -1;
  if (keep == 0) {
    rc = qcc_tablefile_write(s->out, img, len, err);
  } else {
    char snap[4352];
    if (mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
      qcc_err_set(err, errno, "%s: cannot create: %s", s->dir, strerror(errno));
    } else if (qcc_snapshots_path(s, o.generation, snap, sizeof snap) != 0) {
      qcc_err_set(err, ENAMETOOLONG, "%s: path too long", s->dir);
    } else if (qcc_tablefile_write(snap, img, len, err) == 0 &&
               qcc_tablefile_install(snap, s->out, err) == 0) {
      rc = 0;
    }
  }
  qcc_layout_free(&l);
  if (rc != 0) return -1;
  if (rescan(s, err) != 0) return -1;
  if (keep > 0 && qcc_snapshots_prune(s, keep, err) < 0) return -1;
  return 0;
}

int qcc_snapshots_publish(struct qcc_snapshots *s, const struct qcc_config *cfg, int64_t build_time,
                          unsigned keep, struct qcc_build_result *r, struct qcc_err *err) {
  int fd = -1;
  memset(r, 0, sizeof *r);
  if (lock_out_dir(s, &fd, err) != 0) return -1;
  int rc = publish_locked(s, cfg, build_time, keep, r, err);
  unlock_out_dir(fd);
  return rc;
}

static int rollback_locked(struct qcc_snapshots *s, uint64_t to, uint64_t *became, struct qcc_err *err) {
  if (rescan(s, err) != 0) return -1;
  struct qcc_tbl_header cur;
  struct qcc_table_error te;
  bool have_cur = qcc_snapshots_current(s, &cur, &te) == 0;
  if (s->count == 0) return qcc_err_set(err, ENOENT, "%s: no snapshots to roll back to", s->dir);
  if (to == 0) {
    if (!have_cur) {
      to = s->gens[s->count - 1]; /* OUT is gone or damaged: restore the newest */
    } else {
      for (size_t i = 0; i < s->count; i++)
        if (s->gens[i] < cur.generation) to = s->gens[i];
      if (to == 0)
        return qcc_err_set(err, ENOENT, "no snapshot older than the current generation %llu",
                           (unsigned long long)cur.generation);
    }
  }
  if (!qcc_snapshots_has(s, to))
    return qcc_err_set(err, ENOENT, "no snapshot of generation %llu in %s", (unsigned long long)to, s->dir);
  if (have_cur && cur.generation == to)
    return qcc_err_set(err, EEXIST, "generation %llu is already current", (unsigned long long)to);
  char snap[4352];
  if (qcc_snapshots_path(s, to, snap, sizeof snap) != 0)
    return qcc_err_set(err, ENAMETOOLONG, "%s: path too long", s->dir);
  qcc_tablefile_clean(s->out);
  if (qcc_tablefile_install(snap, s->out, err) != 0) return -1;
  *became = to;
  return 0;
}

int qcc_snapshots_rollback(struct qcc_snapshots *s, uint64_t to, uint64_t *became,
                           struct qcc_err *err) {
  int fd = -1;
  if (lock_out_dir(s, &fd, err) != 0) return -1;
  int rc = rollback_locked(s, to, became, err);
  unlock_out_dir(fd);
  return rc;
}
