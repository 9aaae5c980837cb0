#include "journal_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsyncer.h"
#include "schema/fileio.h"
#include "schema/statedir.h"

struct qcc_journal {
  char dir[4096];
  char path[4200];
  int fd;
  enum qcc_fsync_policy policy;
  uint64_t size; /* file size = end of the last whole record written */

  uint8_t *buf;
  size_t buf_len, buf_cap;

  /* Offsets of the last keep_recent history (non-snapshot) records. */
  uint64_t *ring;
  unsigned ring_cap, ring_head, ring_count;
  uint64_t history_records; /* in the file, snapshot items excluded */
  uint64_t *pend;           /* their offsets within buf */
  size_t pend_len, pend_cap;

  uint64_t compact_limit, next_compact_at;
  qcc_journal_snapshot_fn snap_fn;
  void *snap_ud;
  uint8_t *snap_buf; /* non-NULL only while the snapshot callback runs */
  size_t snap_len, snap_cap;
  uint32_t snap_items;
  bool compacting;

  struct qcc_fsyncer *sync; /* everysec only (fsyncer.h) */
  struct qcc_journal_recovery rec;
  struct qcc_journal_stats st;
  bool warning;
  struct qcc_err warn;
};

static int write_all(int fd, const uint8_t *p, size_t len, size_t *done) {
  *done = 0;
  while (*done < len) {
    ssize_t n = write(fd, p + *done, len - *done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    *done += (size_t)n;
  }
  return 0;
}


/* ---- the recent-history ring ---- */
static void ring_push(struct qcc_journal *j, uint64_t off) {
  if (j->ring_cap == 0) return;
  unsigned pos = (j->ring_head + j->ring_count) % j->ring_cap;
  if (j->ring_count == j->ring_cap) {
    j->ring[j->ring_head] = off;
    j->ring_head = (j->ring_head + 1) % j->ring_cap;
  } else {
    j->ring[pos] = off;
    j->ring_count++;
  }
}

static int ring_resize(struct qcc_journal *j, unsigned cap) {
  uint64_t *r = calloc(cap ? cap : 1, sizeof *r);
  if (r == NULL) return -1;
  /* Keep the newest min(count, cap) offsets. */
  unsigned keep = j->ring_count < cap ? j->ring_count : cap;
  for (unsigned i = 0; i < keep; i++)
    r[i] = j->ring[(j->ring_head + j->ring_count - keep + i) % j->ring_cap];
  free(j->ring);
  j->ring = r;
  j->ring_cap = cap;
  j->ring_head = 0;
  j->ring_count = keep;
  return 0;
}

/* ---- open ---- */
static int open_scan_cb(const struct qcc_jraw *raw, void *ud) {
  struct qcc_journal *j = ud;
  if (!(raw->flags & QCC_JOURNAL_FLAG_SNAPSHOT) && raw->type != QCC_JT_STATE_SNAPSHOT) {
    ring_push(j, raw->offset);
    j->history_records++;
  }
  return 0;
}

/* A new journal appears whole: header to a temp file, fsync, link. */
static int create_journal(struct qcc_journal *j, struct qcc_err *err) {
  uint8_t hdr[QCC_JOURNAL_HEADER_SIZE];
  qcc_journal_header_encode(hdr, qcc_journal_now_ms());
  struct qcc_newfile *nf = NULL;
  if (qcc_newfile_new(j->path, 0600, &nf, err) != 0) return -1;
  if (qcc_newfile_write(nf, hdr, sizeof hdr, err) != 0) {
    qcc_newfile_free(&nf);
    return -1;
  }
  /* link() instead of rename(): if another process created the journal in
   * the meantime we must not replace it. */
  if (qcc_newfile_commit(&nf, QCC_NEWFILE_CREATE, NULL, err) != 0 && err->code != EEXIST) return -1;
  return 0;
}

static int scan_existing(struct qcc_journal *j, struct qcc_jscan_result *res, struct qcc_err *err) {
  struct stat st;
  if (fstat(j->fd, &st) != 0) return qcc_err_set(err, errno, "cannot stat %s: %s", j->path, strerror(errno));
  if (!S_ISREG(st.st_mode)) return qcc_err_set(err, EINVAL, "%s is not a regular file", j->path);
  size_t len = (size_t)st.st_size;
  if (len == 0) return qcc_journal_scan(NULL, 0, NULL, NULL, res), 0;
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, j->fd, 0);
  if (map == MAP_FAILED) return qcc_err_set(err, errno, "cannot map %s: %s", j->path, strerror(errno));
  qcc_journal_scan(map, len, open_scan_cb, j, res);
  munmap(map, len);
  return 0;
}

static int write_header_at_zero(struct qcc_journal *j, struct qcc_err *err) {
  uint8_t hdr[QCC_JOURNAL_HEADER_SIZE];
  qcc_journal_header_encode(hdr, qcc_journal_now_ms());
  if (ftruncate(j->fd, 0) != 0 || pwrite(j->fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
      fdatasync(j->fd) != 0)
    return qcc_err_set(err, errno, "cannot write the header of %s: %s", j->path, strerror(errno));
  j->size = QCC_JOURNAL_HEADER_SIZE;
  return 0;
}

static int recover(struct qcc_journal *j, struct qcc_err *err) {
  struct qcc_jscan_result res;
  if (scan_existing(j, &res, err) != 0) return -1;
  j->rec.found = res.status;
  j->rec.size_found = res.size;
  j->rec.ok_up_to = res.ok_up_to;
  j->rec.records = res.records;
  snprintf(j->rec.why, sizeof j->rec.why, "%s", res.why);
  switch (res.status) {
  case QCC_JSCAN_OK:
    j->size = res.size;
    return 0;
  case QCC_JSCAN_EMPTY:
    return write_header_at_zero(j, err);
  case QCC_JSCAN_TORN_TAIL:
    /* The last write was cut (crash, full disk): keep every whole record. */
    j->rec.truncated_bytes = res.size - res.ok_up_to;
    if (res.ok_up_to < QCC_JOURNAL_HEADER_SIZE) return write_header_at_zero(j, err);
    if (ftruncate(j->fd, (off_t)res.ok_up_to) != 0 || fdatasync(j->fd) != 0)
      return qcc_err_set(err, errno, "%s: cannot truncate the torn tail at offset %" PRIu64 ": %s",
                         j->path, res.ok_up_to, strerror(errno));
    j->size = res.ok_up_to;
    return 0;
  case QCC_JSCAN_CORRUPT:
    return qcc_err_set(err, EBADMSG,
                       "%s: %s; refusing to start on a damaged journal. Run `qccc journal check "
                       "--fix --state-dir %s` to truncate it at offset %" PRIu64
                       " (records after it are lost), or move the file away",
                       j->path, res.why, j->dir, res.ok_up_to);
  case QCC_JSCAN_NOT_JOURNAL:
  case QCC_JSCAN_BAD_VERSION:
  case QCC_JSCAN_BAD_HEADER:
    return qcc_err_set(err, EBADMSG, "%s: %s; move it away to start a new journal", j->path,
                       res.why);
  }
  return qcc_err_set(err, EINVAL, "%s: unexpected scan status", j->path);
}

int qcc_journal_open(const char *dir, enum qcc_fsync_policy policy, struct qcc_journal **out,
                     struct qcc_err *err) {
  *out = NULL;
  if ((unsigned)policy >= QCC_FSYNC_COUNT) return qcc_err_set(err, EINVAL, "bad fsync policy %d", policy);
  struct qcc_journal *j = calloc(1, sizeof *j);
  if (j == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  j->fd = -1;
  j->policy = policy;
  j->compact_limit = QCC_JOURNAL_COMPACT_SIZE_DEFAULT;
  j->next_compact_at = j->compact_limit;
  if (snprintf(j->dir, sizeof j->dir, "%s", dir) >= (int)sizeof j->dir ||
      snprintf(j->path, sizeof j->path, "%s/%s", dir, QCC_JOURNAL_FILE) >= (int)sizeof j->path) {
    free(j);
    return qcc_err_set(err, ENAMETOOLONG, "state directory path too long");
  }
  j->buf_cap = QCC_JOURNAL_BUFFER_CAP_DEFAULT;
  j->buf = malloc(j->buf_cap);
  j->ring_cap = QCC_JOURNAL_KEEP_RECENT_DEFAULT;
  j->ring = calloc(j->ring_cap, sizeof *j->ring);
  if (j->buf == NULL || j->ring == NULL) {
    qcc_journal_close(&j);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  if (qcc_statedir_ensure(dir, err) != 0) goto fail;
  /* A temp file left by a crash during compaction or creation was never
   * renamed into place: the journal itself is authoritative. */
  qcc_file_clean_temps(j->path);
  j->fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
  if (j->fd < 0 && errno == ENOENT) {
    if (create_journal(j, err) != 0) goto fail;
    j->rec.created = true;
    j->fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
  }
  if (j->fd < 0) {
    qcc_err_set(err, errno, "cannot open %s: %s", j->path, strerror(errno));
    goto fail;
  }
  if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      qcc_err_set(err, EBUSY, "%s is in use by another process (another qcc-run on this state directory?)",
                  j->path);
    else
      qcc_err_set(err, errno, "cannot lock %s: %s", j->path, strerror(errno));
    goto fail;
  }
  if (recover(j, err) != 0) goto fail;
  j->st.size = j->size;
  if (policy == QCC_FSYNC_EVERYSEC && qcc_fsyncer_start(j->fd, "journal", &j->sync, err) != 0)
    goto fail;
  *out = j;
  return 0;
fail:
  qcc_journal_close(&j);
  return -1;
}

const struct qcc_journal_recovery *qcc_journal_recovery(const struct qcc_journal *j) { return &j->rec; }
const char *qcc_journal_path(const struct qcc_journal *j) { return j->path; }
enum qcc_fsync_policy qcc_journal_policy(const struct qcc_journal *j) { return j->policy; }

void qcc_journal_get_stats(const struct qcc_journal *j, struct qcc_journal_stats *out) {
  *out = j->st;
  out->buffered = j->buf_len;
  out->size = j->size;
  out->fsyncs += qcc_fsyncer_count(j->sync);
}

void qcc_journal_set_buffer_cap(struct qcc_journal *j, size_t cap) {
  if (cap < QCC_JOURNAL_MAX_RECORD) cap = QCC_JOURNAL_MAX_RECORD;
  if (cap < j->buf_len) return;
  uint8_t *b = realloc(j->buf, cap);
  if (b == NULL) return;
  j->buf = b;
  j->buf_cap = cap;
}

/* ---- writing ---- */
/* write() the buffer. On a short or failed write, cut the file back to the
 * last whole record it had and keep the buffer for the next try. */
static int write_out(struct qcc_journal *j, struct qcc_err *err) {
  if (j->buf_len == 0) return 0;
  size_t done = 0;
  if (write_all(j->fd, j->buf, j->buf_len, &done) != 0) {
    int e = errno;
    j->st.write_errors++;
    if (done > 0 && ftruncate(j->fd, (off_t)j->size) != 0) {
      /* The partial record stays on disk; the next open truncates it as a
       * torn tail. Appending after it would bury it, so keep retrying. */
      return qcc_err_set(err, errno, "%s: short write (%s) and cannot truncate back to %" PRIu64 ": %s",
                         j->path, strerror(e), j->size, strerror(errno));
    }
    return qcc_err_set(err, e, "%s: write failed after %zu of %zu bytes (%s); truncated back to %" PRIu64,
                       j->path, done, j->buf_len, strerror(e), j->size);
  }
  /* The bytes are in the file: their offsets join the history ring. */
  for (size_t i = 0; i < j->pend_len; i++) {
    ring_push(j, j->size + j->pend[i]);
    j->history_records++;
  }
  j->pend_len = 0;
  j->size += j->buf_len;
  j->buf_len = 0;
  j->st.flushes++;
  return 0;
}

static int pend_push(struct qcc_journal *j, uint64_t off) {
  if (j->pend_len == j->pend_cap) {
    size_t cap = j->pend_cap ? j->pend_cap * 2 : 256;
    uint64_t *p = realloc(j->pend, cap * sizeof *p);
    if (p == NULL) return -1;
    j->pend = p;
    j->pend_cap = cap;
  }
  j->pend[j->pend_len++] = off;
  return 0;
}

int qcc_journal_append(struct qcc_journal *j, const struct qcc_jrec *r, struct qcc_err *err) {
  struct qcc_jrec rec = *r;
  if (rec.time_ms == 0) rec.time_ms = qcc_journal_now_ms();
  /* Snapshot items only come through qcc_journal_snapshot_add. */
  rec.flags &= (uint16_t)~QCC_JOURNAL_FLAG_SNAPSHOT;
  size_t len;
  for (int attempt = 0; attempt < 2; attempt++) {
    struct qcc_err e2;
    if (qcc_journal_encode(&rec, j->buf + j->buf_len, j->buf_cap - j->buf_len, &len, &e2) == 0) {
      bool history = rec.type != QCC_JT_STATE_SNAPSHOT;
      if (history && pend_push(j, j->buf_len) != 0) {
        j->st.dropped++;
        return qcc_err_set(err, ENOMEM, "journal: out of memory");
      }
      j->buf_len += len;
      j->st.appended++;
      return 0;
    }
    if (e2.code != ENOSPC || j->buf_len == 0) {
      j->st.dropped++;
      if (err != NULL) *err = e2;
      return -1;
    }
    /* Full: write now (no fsync; durability still comes from flush). Not
     * during compaction: the old file is about to be replaced. */
    if (j->compacting) {
      qcc_err_set(err, ENOSPC, "journal: buffer full during compaction");
      break;
    }
    if (write_out(j, err) != 0) break;
  }
  j->st.dropped++;
  return qcc_err_wrap(err, "journal buffer full (%zu bytes), record dropped", j->buf_cap);
}

static int maybe_compact(struct qcc_journal *j) {
  if (j->snap_fn == NULL || j->compacting || j->size <= j->next_compact_at) return 0;
  struct qcc_err e;
  if (qcc_journal_compact(j, &e) != 0) {
    j->warning = true;
    j->warn = e;
    /* Do not retry on every flush: wait for the file to grow some more. */
    j->next_compact_at = j->size + j->compact_limit / 2;
  }
  return 0;
}

int qcc_journal_flush(struct qcc_journal *j, struct qcc_err *err) {
  if (j->buf_len == 0) return 0;
  if (write_out(j, err) != 0) return -1;
  if (j->policy == QCC_FSYNC_ALWAYS) {
    j->st.fsyncs++;
    if (fdatasync(j->fd) != 0)
      return qcc_err_set(err, errno, "%s: fdatasync failed: %s", j->path, strerror(errno));
  } else if (j->policy == QCC_FSYNC_EVERYSEC) {
    qcc_fsyncer_mark_dirty(j->sync);
  }
  maybe_compact(j);
  return 0;
}

int qcc_journal_take_warning(struct qcc_journal *j, struct qcc_err *err) {
  {
    int e = qcc_fsyncer_take_error(j->sync);
    if (e != 0 && !j->warning) {
      j->warning = true;
      qcc_err_set(&j->warn, e, "%s: background fdatasync failed: %s", j->path, strerror(e));
    }
  }
  if (!j->warning) return 0;
  j->warning = false;
  if (err != NULL) *err = j->warn;
  return 1;
}

void qcc_journal_close(struct qcc_journal **jp) {
  struct qcc_journal *j = *jp;
  if (j == NULL) return;
  *jp = NULL;
  (void)qcc_fsyncer_stop(&j->sync);
  if (j->fd >= 0) {
    if (j->buf_len > 0) write_out(j, NULL);
    if (j->policy != QCC_FSYNC_NO) fdatasync(j->fd);
    close(j->fd);
  }
  free(j->buf);
  free(j->ring);
  free(j->pend);
  free(j->snap_buf);
  free(j);
}

/* ---- replay ---- */
struct replay_ctx {
  qcc_journal_replay_fn cb;
  void *ud;
  int rc;
};

static int replay_cb(const struct qcc_jraw *raw, void *ud) {
  struct replay_ctx *c = ud;
  struct qcc_jrec r;
  /* Unknown (newer) types and malformed payloads are skipped: the frame's
   * checksum was good, so the next record is still trustworthy. */
  if (qcc_journal_decode(raw, &r, NULL) != 0) return 0;
  c->rc = c->cb(&r, raw->offset, c->ud);
  return c->rc;
}

int qcc_journal_replay(struct qcc_journal *j, qcc_journal_replay_fn cb, void *ud,
                       struct qcc_err *err) {
  if (write_out(j, err) != 0) return -1;
  if (j->size <= QCC_JOURNAL_HEADER_SIZE) return 0;
  void *map = mmap(NULL, (size_t)j->size, PROT_READ, MAP_SHARED, j->fd, 0);
  if (map == MAP_FAILED) return qcc_err_set(err, errno, "cannot map %s: %s", j->path, strerror(errno));
  struct replay_ctx c = {cb, ud, 0};
  struct qcc_jscan_result res;
  qcc_journal_scan(map, (size_t)j->size, replay_cb, &c, &res);
  munmap(map, (size_t)j->size);
  if (c.rc != 0) return c.rc;
  if (res.status != QCC_JSCAN_OK)
    return qcc_err_set(err, EBADMSG, "%s: %s", j->path, res.why);
  return 0;
}

/* ---- compaction ---- */
void qcc_journal_set_compaction(struct qcc_journal *j, uint64_t size_limit, unsigned keep_recent,
                                qcc_journal_snapshot_fn fn, void *ud) {
  j->compact_limit = size_limit;
  j->next_compact_at = size_limit;
  j->snap_fn = fn;
  j->snap_ud = ud;
  if (keep_recent == j->ring_cap) return;
  bool grow = keep_recent > j->ring_cap && j->history_records > j->ring_count;
  if (ring_resize(j, keep_recent) != 0 || !grow) return;
  /* The ring was filled at open with the default size: a larger keep needs
   * the older offsets too, or a compaction would drop history early. */
  if (write_out(j, NULL) != 0 || j->size <= QCC_JOURNAL_HEADER_SIZE) return;
  void *map = mmap(NULL, (size_t)j->size, PROT_READ, MAP_SHARED, j->fd, 0);
  if (map == MAP_FAILED) return;
  j->ring_head = j->ring_count = 0;
  j->history_records = 0;
  struct qcc_jscan_result res;
  qcc_journal_scan(map, (size_t)j->size, open_scan_cb, j, &res);
  munmap(map, (size_t)j->size);
}

int qcc_journal_snapshot_add(struct qcc_journal *j, const struct qcc_jrec *r, struct qcc_err *err) {
  if (!j->compacting)
    return qcc_err_set(err, EINVAL, "journal: snapshot items only inside the compaction callback");
  struct qcc_jrec rec = *r;
  if (rec.time_ms == 0) rec.time_ms = qcc_journal_now_ms();
  rec.flags |= QCC_JOURNAL_FLAG_SNAPSHOT;
  if (j->snap_cap - j->snap_len < QCC_JOURNAL_MAX_RECORD) {
    size_t cap = j->snap_cap ? j->snap_cap * 2 : (1u << 16);
    if (cap > QCC_JOURNAL_SNAPSHOT_CAP)
      return qcc_err_set(err, EFBIG, "journal: snapshot larger than %u bytes", QCC_JOURNAL_SNAPSHOT_CAP);
    uint8_t *b = realloc(j->snap_buf, cap);
    if (b == NULL) return qcc_err_set(err, ENOMEM, "journal: out of memory for the snapshot");
    j->snap_buf = b;
    j->snap_cap = cap;
  }
  size_t len;
  if (qcc_journal_encode(&rec, j->snap_buf + j->snap_len, j->snap_cap - j->snap_len, &len, err) != 0)
    return -1;
  j->snap_len += len;
  j->snap_items++;
  return 0;
}

/* Copy the record at off in the old file to NF; *len its size. */
static int copy_record(struct qcc_journal *j, uint64_t off, struct qcc_newfile *nf, uint8_t *tmp,
                       size_t *len, struct qcc_err *err) {
  uint8_t h[QCC_JOURNAL_REC_PAYLOAD];
  if (pread(j->fd, h, sizeof h, (off_t)off) != (ssize_t)sizeof h)
    return qcc_err_set(err, EIO, "%s: cannot read the record at %" PRIu64, j->path, off);
  uint32_t plen = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  if (plen > QCC_JOURNAL_MAX_PAYLOAD)
    return qcc_err_set(err, EIO, "%s: bad record at %" PRIu64, j->path, off);
  size_t size = qcc_journal_record_size(plen);
  if (pread(j->fd, tmp, size, (off_t)off) != (ssize_t)size)
    return qcc_err_set(err, EIO, "%s: cannot read the record at %" PRIu64, j->path, off);
  if (qcc_newfile_write(nf, tmp, size, err) != 0) return -1;
  *len = size;
  return 0;
}

int qcc_journal_compact(struct qcc_journal *j, struct qcc_err *err) {
  if (j->snap_fn == NULL) return qcc_err_set(err, EINVAL, "journal: no snapshot callback set");
  if (j->compacting) return qcc_err_set(err, EBUSY, "journal: compaction already running");
  /* Everything appended so far goes to the old file first; its effects are
   * in the state the callback describes, so it belongs before the snapshot. */
  if (write_out(j, err) != 0) return qcc_err_wrap(err, "compaction");
  uint64_t prev_size = j->size;
  struct qcc_newfile *nf = NULL;
  if (qcc_newfile_new(j->path, 0600, &nf, err) != 0) return -1;
  int fd = qcc_newfile_fd(nf);
  uint64_t *new_ring = calloc(j->ring_cap ? j->ring_cap : 1, sizeof *new_ring);
  uint8_t *tmp = malloc(QCC_JOURNAL_MAX_RECORD);
  uint8_t hdr[QCC_JOURNAL_HEADER_SIZE];
  size_t len;
  uint64_t size = QCC_JOURNAL_HEADER_SIZE;
  unsigned copied = 0;
  if (new_ring == NULL || tmp == NULL) {
    qcc_err_set(err, ENOMEM, "journal: out of memory for compaction");
    goto fail;
  }
  /* Lock before rename so the new file is never unlocked under our name. */
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    qcc_err_set(err, errno, "cannot lock %s: %s", qcc_newfile_temp(nf), strerror(errno));
    goto fail;
  }
  qcc_journal_header_encode(hdr, qcc_journal_now_ms());
  if (qcc_newfile_write(nf, hdr, sizeof hdr, err) != 0) goto fail;
  /* Recent history first, then the snapshot: replaying the history then
   * the snapshot (which resets) ends in the current state. */
  for (unsigned i = 0; i < j->ring_count; i++) {
    uint64_t off = j->ring[(j->ring_head + i) % j->ring_cap];
    if (copy_record(j, off, nf, tmp, &len, err) != 0) goto fail;
    new_ring[copied++] = size;
    size += len;
  }
  j->compacting = true;
  j->snap_len = 0;
  j->snap_items = 0;
  int rc = j->snap_fn(j, j->snap_ud, err);
  j->compacting = false;
  if (rc != 0) {
    qcc_err_wrap(err, "compaction: snapshot callback");
    goto fail;
  }
  struct qcc_jrec m = {.type = QCC_JT_STATE_SNAPSHOT, .time_ms = qcc_journal_now_ms()};
  m.u.state_snapshot.items = j->snap_items;
  m.u.state_snapshot.dropped_records = j->history_records - copied;
  m.u.state_snapshot.previous_size = prev_size;
  if (qcc_journal_encode(&m, tmp, QCC_JOURNAL_MAX_RECORD, &len, err) != 0) goto fail;
  if (qcc_newfile_write(nf, tmp, len, err) != 0 ||
      (j->snap_len > 0 && qcc_newfile_write(nf, j->snap_buf, j->snap_len, err) != 0))
    goto fail;
  size += len + j->snap_len;
  /* Whatever the policy: the rename must never expose a file not on disk
   * (commit fsyncs first). The descriptor stays ours: it becomes the journal. */
  if (qcc_newfile_commit(&nf, QCC_NEWFILE_NO_DIRSYNC, &fd, err) != 0) goto fail;
  /* From here the new file is the journal: even if the directory fsync
   * fails, switch to it (the old inode is unlinked). Appends from now on. */
  struct qcc_err derr;
  if (fcntl(fd, F_SETFL, O_APPEND) != 0) {
    j->warning = true;
    qcc_err_set(&j->warn, errno, "%s: cannot set O_APPEND: %s", j->path, strerror(errno));
  }
  if (qcc_dir_fsync(j->dir, &derr) != 0) {
    j->warning = true;
    j->warn = derr;
  }
  qcc_fsyncer_set_fd(j->sync, fd);
  close(j->fd);
  j->fd = fd;
  j->size = size;
  free(j->ring);
  j->ring = new_ring;
  j->ring_head = 0;
  j->ring_count = copied;
  j->history_records = copied;
  j->st.compactions++;
  j->st.fsyncs++;
  j->next_compact_at = size * 2 > j->compact_limit ? size * 2 : j->compact_limit;
  free(tmp);
  free(j->snap_buf);
  j->snap_buf = NULL;
  j->snap_cap = j->snap_len = 0;
  return 0;
fail:
  qcc_newfile_free(&nf);
  free(new_ring);
  free(tmp);
  free(j->snap_buf);
  j->snap_buf = NULL;
  j->snap_cap = j->snap_len = 0;
  return -1;
}
