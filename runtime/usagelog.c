#include "usagelog.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "fsyncer.h"
#include "log.h"
#include "schema/fileio.h"
#include "schema/journal.h"
#include "schema/statedir.h"

#define SEEN_SLOTS 8192u /* per generation; a generation holds at most half */
#define DAY_MS INT64_C(86400000)
#define REC_MAX 2048u        /* an encoded record's room (qcc_usage_encode) */
#define WBUF_CAP 65536u      /* records buffered until the loop is about to block */

struct seen {
  uint64_t slot[SEEN_SLOTS]; /* 0 = empty */
  unsigned n;
};

/* The daily rollup runs on a thread: the fold reads and rewrites the whole
 * file and fdatasyncs it, which must not stall the loop. The loop thread
 * then appends the records written meanwhile and renames. */
struct fold_job {
  pthread_t th;
  bool running;
  const char *path, *tmp;  /* the log's */
  struct qcc_usage_retention ret;
  int64_t now_ms;
  uint64_t upto;           /* the file's size when it started: whole records */
  int tfd;
  int rc;
  struct qcc_usage_fold_stats st;
  struct qcc_err err;
};

struct qcc_usagelog {
  struct ev_loop *loop;
  ev_timer tick;
  ev_prepare prep;
  struct qcc_fsyncer *sync; /* everysec with a loop only (fsyncer.h) */
  uint8_t *wbuf;   /* encoded records not yet written */
  size_t wlen;
  unsigned wcount; /* records in wbuf */
  struct qcc_usagelog_consumer cons[QCC_USAGELOG_MAX_CONSUMERS];
  size_t ncons;
  ev_async fold_done;
  struct fold_job job;
  int fd;
  enum qcc_fsync_policy policy;
  struct qcc_usage_retention ret;
  bool dirty;
  int64_t next_rollup_ms;
  struct seen *cur, *prev; /* two generations of recent request ids */
  struct qcc_usagelog_stats st;
  char path[4096];
  char tmp[4200];
};

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t id_hash(const char *id) {
  uint64_t h = XXH3_64bits(id, strlen(id));
  return h != 0 ? h : 1;
}

static bool seen_has(const struct seen *s, uint64_t h) {
  for (unsigned j = (unsigned)h & (SEEN_SLOTS - 1);; j = (j + 1) & (SEEN_SLOTS - 1)) {
    if (s->slot[j] == 0) return false;
    if (s->slot[j] == h) return true;
  }
}

static void seen_add(struct qcc_usagelog *l, uint64_t h) {
  if (l->cur->n >= SEEN_SLOTS / 2) {
    struct seen *old = l->prev;
    l->prev = l->cur;
    memset(old, 0, sizeof *old);
    l->cur = old;
  }
  unsigned j = (unsigned)h & (SEEN_SLOTS - 1);
  while (l->cur->slot[j] != 0) {
    if (l->cur->slot[j] == h) return;
    j = (j + 1) & (SEEN_SLOTS - 1);
  }
  l->cur->slot[j] = h;
  l->cur->n++;
}

static bool is_dup(const struct qcc_usagelog *l, uint64_t h) {
  return seen_has(l->cur, h) || seen_has(l->prev, h);
}

/* One pass over the file: the ids (at open) and every consumer's seed. */
struct seed {
  struct qcc_usagelog *l;
  bool ids;
  int64_t oldest_request, oldest;
  int64_t since[QCC_USAGELOG_MAX_CONSUMERS], min_since;
};

static void seed_begin(struct qcc_usagelog *l, struct seed *s, bool ids) {
  *s = (struct seed){.l = l, .ids = ids, .oldest_request = INT64_MAX, .oldest = INT64_MAX,
                     .min_since = INT64_MAX};
  for (size_t i = 0; i < l->ncons; i++) {
    s->since[i] = l->cons[i].begin != NULL ? l->cons[i].begin(l->cons[i].arg) : INT64_MAX;
    if (l->cons[i].seen == NULL) s->since[i] = INT64_MAX;
    if (s->since[i] < s->min_since) s->min_since = s->since[i];
  }
}

static void seed_end(struct qcc_usagelog *l) {
  l->st.scans++;
  for (size_t i = 0; i < l->ncons; i++)
    if (l->cons[i].end != NULL) l->cons[i].end(l->cons[i].arg);
}

static int seed_cb(const struct qcc_jraw *raw, void *ud) {
  struct seed *s = ud;
  if (raw->time_ms < s->oldest) s->oldest = raw->time_ms;
  bool request = raw->type == QCC_USAGE_REC_REQUEST;
  if (request && raw->time_ms < s->oldest_request) s->oldest_request = raw->time_ms;
  if (!(request && s->ids) && raw->time_ms < s->min_since) return 0; /* not even decoded */
  struct qcc_usage_rec r;
  struct qcc_err e = {0};
  if (qcc_usage_decode(raw, &r, &e) != 0) return 0; /* unknown type, odd payload */
  if (request && s->ids && r.request_id[0] != '\0') seen_add(s->l, id_hash(r.request_id));
  const struct qcc_usagelog *l = s->l;
  for (size_t i = 0; i < l->ncons; i++)
    if (raw->time_ms >= s->since[i]) l->cons[i].seen(l->cons[i].arg, &r);
  return 0;
}

static int write_header(int fd, struct qcc_err *err, const char *path) {
  uint8_t hdr[QCC_JOURNAL_HEADER_SIZE];
  qcc_usage_header_encode(hdr, wall_ms());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
      fdatasync(fd) != 0)
    return qcc_err_set(err, errno, "usage: cannot write %s: %s", path, strerror(errno));
  return 0;
}

/* Scan the file: cut a torn tail, move a damaged one aside, seed the ids
 * and the consumers (a damaged file's records before the damage count: they
 * were spent). */
static int recover(struct qcc_usagelog *l, struct seed *sd, struct qcc_err *err) {
  const uint8_t *buf;
  size_t len;
  if (qcc_usage_map(l->path, &buf, &len, err) != 0) return -1;
  struct qcc_jscan_result res;
  seed_begin(l, sd, true);
  qcc_usage_scan(buf, len, seed_cb, sd, &res);
  qcc_usage_unmap(buf, len);
  seed_end(l);
  switch (res.status) {
  case QCC_JSCAN_OK:
    l->st.size = len;
    return 0;
  case QCC_JSCAN_EMPTY:
    break;
  case QCC_JSCAN_TORN_TAIL:
    if (res.ok_up_to >= QCC_JOURNAL_HEADER_SIZE) {
      if (ftruncate(l->fd, (off_t)res.ok_up_to) != 0 || fdatasync(l->fd) != 0)
        return qcc_err_set(err, errno, "usage: cannot truncate %s: %s", l->path, strerror(errno));
      l->st.truncated = len - res.ok_up_to;
      l->st.size = res.ok_up_to;
      return 0;
    }
    l->st.truncated = len;
    break;
  default: {
    /* kept for inspection; counting goes on in a new file */
    char aside[4300];
    snprintf(aside, sizeof aside, "%s.damaged-%lld", l->path, (long long)wall_ms());
    if (rename(l->path, aside) != 0)
      return qcc_err_set(err, errno, "usage: cannot move the damaged %s aside: %s", l->path,
                         strerror(errno));
    close(l->fd);
    l->fd = open(l->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (l->fd < 0) return qcc_err_set(err, errno, "usage: cannot create %s: %s", l->path, strerror(errno));
    l->st.moved_aside = true;
    (void)qcc_dir_fsync_of(l->path, NULL);
    break;
  }
  }
  if (write_header(l->fd, err, l->path) != 0) return -1;
  l->st.size = QCC_JOURNAL_HEADER_SIZE;
  return 0;
}

/* After records were written: make them durable as the policy says. */
static void written(struct qcc_usagelog *l) {
  if (l->policy == QCC_FSYNC_ALWAYS) {
    if (fdatasync(l->fd) == 0) l->st.fsyncs++;
  } else if (l->policy == QCC_FSYNC_EVERYSEC) {
    if (l->sync != NULL) {
      qcc_fsyncer_mark_dirty(l->sync);
    } else {
      l->dirty = true; /* no loop: synced at close */
    }
  }
}

/* Write the buffered records with one write(). On failure the file is cut
 * back to its last whole record and the batch is lost. */
static int write_out(struct qcc_usagelog *l, struct qcc_err *err) {
  if (l->wlen == 0) return 0;
  ssize_t w;
  do w = write(l->fd, l->wbuf, l->wlen);
  while (w < 0 && errno == EINTR);
  size_t n = l->wlen;
  unsigned count = l->wcount;
  l->wlen = 0;
  l->wcount = 0;
  if (w != (ssize_t)n) {
    int e = w < 0 ? errno : ENOSPC;
    l->st.write_errors++;
    l->st.lost += count;
    if (w > 0) (void)ftruncate(l->fd, (off_t)l->st.size);
    return qcc_err_set(err, e, "usage: cannot write %s: %s", l->path, strerror(e));
  }
  l->st.size += n;
  l->st.writes++;
  written(l);
  return 0;
}

void qcc_usagelog_flush(struct qcc_usagelog *l) {
  if (l == NULL || l->wlen == 0) return;
  unsigned count = l->wcount;
  struct qcc_err err = {0};
  if (write_out(l, &err) != 0) qcc_log_warn("%u usage records lost: %s", count, err.msg);
}

/* Runs before the loop blocks: what this iteration appended reaches the
 * kernel before the loop sleeps. */
static void prep_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
  (void)loop;
  (void)revents;
  qcc_usagelog_flush(w->data);
}

static void *fold_thread(void *arg) {
  struct qcc_usagelog *l = arg;
  struct fold_job *j = &l->job;
  const uint8_t *buf;
  size_t len;
  j->rc = qcc_usage_map(j->path, &buf, &len, &j->err);
  if (j->rc == 0) {
    if (len > j->upto) len = (size_t)j->upto;
    j->rc = qcc_usage_fold(buf, len, j->now_ms, &j->ret, j->tfd, &j->st, &j->err);
    qcc_usage_unmap(buf, len);
  }
  if (j->rc == 0 && fdatasync(j->tfd) != 0)
    j->rc = qcc_err_set(&j->err, errno, "usage: cannot sync %s: %s", j->tmp, strerror(errno));
  ev_async_send(l->loop, &l->fold_done);
  return NULL;
}

static void rollup_start(struct qcc_usagelog *l, int64_t now_ms) {
  struct fold_job *j = &l->job;
  if (j->running) return;
  qcc_usagelog_flush(l); /* upto: every record so far */
  j->tfd = open(l->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (j->tfd < 0) return; /* tried again tomorrow */
  j->path = l->path;
  j->tmp = l->tmp;
  j->ret = l->ret;
  j->now_ms = now_ms;
  j->upto = l->st.size;
  j->rc = -1;
  memset(&j->err, 0, sizeof j->err);
  if (pthread_create(&j->th, NULL, fold_thread, l) != 0) {
    close(j->tfd);
    unlink(l->tmp);
    return;
  }
  j->running = true;
}

/* Loop thread: the fold is done. Copy the records appended since it
 * started, then put the new file in place. */
static void rollup_finish(struct qcc_usagelog *l) {
  struct fold_job *j = &l->job;
  pthread_join(j->th, NULL);
  j->running = false;
  qcc_usagelog_flush(l); /* copied below */
  int rc = j->rc;
  uint64_t out = j->st.size_after;
  uint8_t buf[65536];
  for (uint64_t off = j->upto; rc == 0 && off < l->st.size;) {
    size_t want = l->st.size - off < sizeof buf ? (size_t)(l->st.size - off) : sizeof buf;
    ssize_t n = pread(l->fd, buf, want, (off_t)off);
    if (n <= 0 || pwrite(j->tfd, buf, (size_t)n, (off_t)out) != n) rc = -1;
    off += n > 0 ? (uint64_t)n : 0;
    out += n > 0 ? (uint64_t)n : 0;
  }
  if (rc == 0 && (fdatasync(j->tfd) != 0 || rename(l->tmp, l->path) != 0)) rc = -1;
  if (rc != 0) {
    close(j->tfd);
    unlink(l->tmp);
    return; /* the old file goes on; tried again tomorrow */
  }
  (void)qcc_dir_fsync_of(l->path, NULL);
  qcc_fsyncer_set_fd(l->sync, j->tfd);
  close(l->fd);
  l->fd = j->tfd; /* opened O_RDWR without O_APPEND: reopen for appends */
  int fd = open(l->path, O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd >= 0) {
    qcc_fsyncer_set_fd(l->sync, fd);
    close(l->fd);
    l->fd = fd;
  }
  l->st.size = out;
  l->st.rollups++;
}

void qcc_usagelog_rollup_async(struct qcc_usagelog *l, int64_t now_ms) {
  if (l->loop != NULL) rollup_start(l, now_ms);
}

static void fold_done_cb(struct ev_loop *loop, ev_async *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_usagelog *l = w->data;
  if (l->job.running) rollup_finish(l);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_usagelog *l = w->data;
  int64_t now = wall_ms();
  if (now >= l->next_rollup_ms) {
    rollup_start(l, now);
    l->next_rollup_ms = now + DAY_MS;
  }
}

int qcc_usagelog_open(struct ev_loop *loop, const struct qcc_usagelog_params *p,
                      struct qcc_usagelog **out, struct qcc_err *err) {
  *out = NULL;
  if (qcc_statedir_ensure(p->dir, err) != 0) return -1;
  struct qcc_usagelog *l = calloc(1, sizeof *l);
  if (l == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  l->cur = calloc(1, sizeof *l->cur);
  l->prev = calloc(1, sizeof *l->prev);
  l->wbuf = malloc(WBUF_CAP);
  l->fd = -1;
  if (p->nconsumers > QCC_USAGELOG_MAX_CONSUMERS) {
    qcc_usagelog_close(&l);
    return qcc_err_set(err, EINVAL, "usage: at most %d consumers", QCC_USAGELOG_MAX_CONSUMERS);
  }
  for (size_t i = 0; i < p->nconsumers; i++) l->cons[l->ncons++] = p->consumers[i];
  if (l->cur == NULL || l->prev == NULL || l->wbuf == NULL) {
    qcc_usagelog_close(&l);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  l->loop = loop;
  l->policy = p->policy;
  l->ret = p->ret;
  if (l->ret.detail_days == 0) l->ret.detail_days = QCC_USAGE_DETAIL_DAYS_DEFAULT;
  if (l->ret.retention_days == 0) l->ret.retention_days = QCC_USAGE_RETENTION_DAYS_DEFAULT;
  if (qcc_statedir_path(p->dir, QCC_USAGE_FILE, l->path, sizeof l->path, err) != 0) {
    qcc_usagelog_close(&l);
    return -1;
  }
  snprintf(l->tmp, sizeof l->tmp, "%s.tmp", l->path);
  l->fd = open(l->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (l->fd < 0) {
    qcc_err_set(err, errno, "usage: cannot open %s: %s", l->path, strerror(errno));
    qcc_usagelog_close(&l);
    return -1;
  }
  struct seed sd;
  if (recover(l, &sd, err) != 0) {
    qcc_usagelog_close(&l);
    return -1;
  }
  int64_t now = wall_ms();
  /* fold at start only when something is due */
  if (sd.oldest_request < now - (int64_t)l->ret.detail_days * DAY_MS ||
      sd.oldest < now - (int64_t)l->ret.retention_days * DAY_MS) {
    struct qcc_usage_fold_stats fs;
    if (qcc_usagelog_rollup(l, now, &fs, err) != 0) {
      qcc_usagelog_close(&l);
      return -1;
    }
  }
  l->next_rollup_ms = now + DAY_MS;
  if (loop != NULL && l->policy == QCC_FSYNC_EVERYSEC &&
      qcc_fsyncer_start(l->fd, "usage", &l->sync, err) != 0) {
    qcc_usagelog_close(&l);
    return -1;
  }
  if (loop != NULL) {
    ev_prepare_init(&l->prep, prep_cb);
    l->prep.data = l;
    ev_prepare_start(loop, &l->prep);
    ev_unref(loop);
    ev_timer_init(&l->tick, tick_cb, 1., 1.);
    l->tick.data = l;
    ev_timer_start(loop, &l->tick);
    ev_unref(loop); /* the timer alone does not keep the loop running */
    ev_async_init(&l->fold_done, fold_done_cb);
    l->fold_done.data = l;
    ev_async_start(loop, &l->fold_done);
    ev_unref(loop);
  }
  *out = l;
  return 0;
}

void qcc_usagelog_close(struct qcc_usagelog **pl) {
  if (pl == NULL || *pl == NULL) return;
  struct qcc_usagelog *l = *pl;
  if (l->job.running) {
    /* a rollup under way: its result is dropped, the file stays as it is */
    pthread_join(l->job.th, NULL);
    l->job.running = false;
    close(l->job.tfd);
    unlink(l->tmp);
  }
  if (l->loop != NULL && ev_is_active(&l->tick)) {
    ev_ref(l->loop);
    ev_timer_stop(l->loop, &l->tick);
    ev_ref(l->loop);
    ev_async_stop(l->loop, &l->fold_done);
    ev_ref(l->loop);
    ev_prepare_stop(l->loop, &l->prep);
  }
  if (l->fd >= 0) qcc_usagelog_flush(l);
  if (qcc_fsyncer_stop(&l->sync)) l->dirty = true;
  if (l->fd >= 0) {
    if (l->dirty && l->policy != QCC_FSYNC_NO) (void)fdatasync(l->fd);
    close(l->fd);
  }
  free(l->wbuf);
  free(l->cur);
  free(l->prev);
  free(l);
  *pl = NULL;
}

int qcc_usagelog_append(struct qcc_usagelog *l, const struct qcc_usage_rec *r,
                        struct qcc_err *err) {
  uint64_t h = r->request_id != NULL && r->request_id[0] != '\0' ? id_hash(r->request_id) : 0;
  if (h != 0 && is_dup(l, h)) {
    l->st.duplicates++;
    return 1;
  }
  if (WBUF_CAP - l->wlen < REC_MAX) qcc_usagelog_flush(l); /* full: written now */
  size_t n;
  if (qcc_usage_encode(r, l->wbuf + l->wlen, REC_MAX, &n, err) != 0) return -1;
  l->wlen += n;
  l->wcount++;
  /* no loop, or `always` (synced before the client gets its answer): at once */
  if ((l->loop == NULL || l->policy == QCC_FSYNC_ALWAYS) && write_out(l, err) != 0) return -1;
  l->st.records++;
  if (h != 0) seen_add(l, h);
  for (size_t i = 0; i < l->ncons; i++)
    if (l->cons[i].added != NULL) l->cons[i].added(l->cons[i].arg, r);
  return 0;
}

int qcc_usagelog_rescan(struct qcc_usagelog *l, struct qcc_err *err) {
  qcc_usagelog_flush(l); /* the pass sees every record so far */
  struct seed sd;
  seed_begin(l, &sd, false);
  const uint8_t *buf;
  size_t len;
  int rc = qcc_usage_map(l->path, &buf, &len, err);
  if (rc == 0) {
    struct qcc_jscan_result res;
    if (sd.min_since != INT64_MAX) qcc_usage_scan(buf, len, seed_cb, &sd, &res);
    qcc_usage_unmap(buf, len);
  }
  seed_end(l);
  return rc;
}

int qcc_usagelog_rollup(struct qcc_usagelog *l, int64_t now_ms, struct qcc_usage_fold_stats *st,
                        struct qcc_err *err) {
  qcc_usagelog_flush(l);
  const uint8_t *buf;
  size_t len;
  if (qcc_usage_map(l->path, &buf, &len, err) != 0) return -1;
  int tfd = open(l->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (tfd < 0) {
    qcc_usage_unmap(buf, len);
    return qcc_err_set(err, errno, "usage: cannot create %s: %s", l->tmp, strerror(errno));
  }
  int rc = qcc_usage_fold(buf, len, now_ms, &l->ret, tfd, st, err);
  qcc_usage_unmap(buf, len);
  if (rc == 0 && fdatasync(tfd) != 0)
    rc = qcc_err_set(err, errno, "usage: cannot sync %s: %s", l->tmp, strerror(errno));
  if (rc == 0 && rename(l->tmp, l->path) != 0)
    rc = qcc_err_set(err, errno, "usage: cannot replace %s: %s", l->path, strerror(errno));
  if (rc != 0) {
    close(tfd);
    unlink(l->tmp);
    return -1;
  }
  (void)qcc_dir_fsync_of(l->path, NULL);
  int fd = open(l->path, O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    fd = tfd; /* still the file: appends go to its end */
    (void)lseek(fd, 0, SEEK_END);
  } else {
    close(tfd);
  }
  qcc_fsyncer_set_fd(l->sync, fd);
  close(l->fd);
  l->fd = fd;
  l->st.size = st->size_after;
  l->st.rollups++;
  l->dirty = false;
  return 0;
}

void qcc_usagelog_set_retention(struct qcc_usagelog *l, const struct qcc_usage_retention *ret) {
  l->ret = *ret;
  if (l->ret.detail_days == 0) l->ret.detail_days = QCC_USAGE_DETAIL_DAYS_DEFAULT;
  if (l->ret.retention_days == 0) l->ret.retention_days = QCC_USAGE_RETENTION_DAYS_DEFAULT;
}

void qcc_usagelog_get_stats(const struct qcc_usagelog *l, struct qcc_usagelog_stats *out) {
  *out = l->st;
  out->fsyncs += qcc_fsyncer_count(l->sync);
}

const char *qcc_usagelog_path(const struct qcc_usagelog *l) { return l->path; }
