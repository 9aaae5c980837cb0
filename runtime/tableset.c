#include "tableset.h"

#include <errno.h>
#include <ev.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

/* How many debounce ticks we wait for a file that keeps changing before
 * trying it anyway (a writer that never settles must not starve reloads). */
#define QCC_SETTLE_MAX 40
/* libev's ev_stat compares mtimes in whole seconds: a same-size rewrite in
 * the second of its last stat goes unseen (ev.pod, "The special problem of
 * stat time resolution"). We look again, to the nanosecond, this long after
 * each of its stats. */
#define QCC_RECHECK_S 1.1

struct file_id {
  bool exists;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
};

struct qcc_tableset {
  struct ev_loop *loop;
  char *path;
  struct qcc_generation *cur;
  qcc_tableset_check_fn check;
  void *check_ctx;
  qcc_tableset_swap_fn on_swap;
  void *swap_ctx;
  struct file_id loaded;  /* identity of the file behind cur */
  struct file_id settling; /* last identity seen while debouncing */
  unsigned settle_ticks;
  double debounce;
  bool watching;
  ev_stat stat_w;
  ev_timer settle_w;
  ev_timer recheck_w;
  uint64_t swaps, rejects;
};

static struct file_id identify(const char *path) {
  struct file_id id = {0};
  struct stat st;
  if (stat(path, &st) != 0) return id;
  id.exists = true;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = st.st_size;
  id.mtime = st.st_mtim;
  return id;
}

static bool same_file(const struct file_id *a, const struct file_id *b) {
  return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int qcc_tableset_new(struct ev_loop *loop, const char *path, struct qcc_tableset **out,
                     struct qcc_err *err) {
  *out = NULL;
  struct qcc_tableset *ts = calloc(1, sizeof *ts);
  if (ts == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  ts->loop = loop;
  ts->path = strdup(path);
  if (ts->path == NULL) {
    free(ts);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  /* Identify before loading: if the file changes in between, the watcher
   * sees a difference and loads again, never the reverse. */
  struct file_id id = identify(path);
  if (qcc_generation_load(path, &ts->cur, err) != 0) {
    free(ts->path);
    free(ts);
    return -1;
  }
  ts->loaded = id;
  *out = ts;
  return 0;
}

void qcc_tableset_free(struct qcc_tableset **pts) {
  if (pts == NULL || *pts == NULL) return;
  struct qcc_tableset *ts = *pts;
  qcc_tableset_unwatch(ts);
  qcc_generation_unref(&ts->cur);
  free(ts->path);
  free(ts);
  *pts = NULL;
}

void qcc_tableset_set_check(struct qcc_tableset *ts, qcc_tableset_check_fn fn, void *ctx) {
  ts->check = fn;
  ts->check_ctx = ctx;
}

void qcc_tableset_on_swap(struct qcc_tableset *ts, qcc_tableset_swap_fn fn, void *ctx) {
  ts->on_swap = fn;
  ts->swap_ctx = ctx;
}

struct qcc_generation *qcc_tableset_current(const struct qcc_tableset *ts) { return ts->cur; }
uint64_t qcc_tableset_swaps(const struct qcc_tableset *ts) { return ts->swaps; }
uint64_t qcc_tableset_rejects(const struct qcc_tableset *ts) { return ts->rejects; }

int qcc_tableset_reload(struct qcc_tableset *ts, const char *why, struct qcc_err *err) {
  struct qcc_err local = {0};
  if (err == NULL) err = &local;
  struct file_id id = identify(ts->path);
  struct qcc_generation *g = NULL;
  if (qcc_generation_load(ts->path, &g, err) != 0 ||
      (ts->check != NULL && ts->check(ts->check_ctx, g, err) != 0)) {
    uint64_t offered = g != NULL ? g->number : 0;
    qcc_generation_unref(&g);
    ts->rejects++;
    /* Remember the bad file so the watcher does not retry it every tick;
     * a new write changes the identity and is tried again. */
    ts->loaded = id;
    qcc_log_error("table reload (%s) rejected, generation %llu keeps serving: %s", why,
                  (unsigned long long)ts->cur->number, err->msg);
    if (ts->on_swap != NULL) ts->on_swap(ts->swap_ctx, ts->cur->number, NULL, offered, err->msg);
    return -1;
  }
  uint64_t from = ts->cur->number;
  /* The one pointer swap. In-flight requests hold their own reference. */
  struct qcc_generation *old = ts->cur;
  ts->cur = g;
  ts->loaded = id;
  ts->swaps++;
  qcc_generation_unref(&old);
  qcc_log_info("table generation %llu -> %llu (%s)", (unsigned long long)from,
               (unsigned long long)g->number, why);
  if (ts->on_swap != NULL) ts->on_swap(ts->swap_ctx, from, g, g->number, "");
  return 0;
}

static void settle_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_tableset *ts = w->data;
  struct file_id now = identify(ts->path);
  if (!same_file(&now, &ts->settling) && ts->settle_ticks < QCC_SETTLE_MAX) {
    /* Still moving (a writer without atomic rename): look again later. */
    ts->settling = now;
    ts->settle_ticks++;
    ev_timer_again(ts->loop, &ts->settle_w);
    return;
  }
  ev_timer_stop(ts->loop, &ts->settle_w);
  if (!now.exists) {
    qcc_log_warn("table %s disappeared; generation %llu keeps serving", ts->path,
                 (unsigned long long)ts->cur->number);
    ts->loaded = now;
    return;
  }
  if (same_file(&now, &ts->loaded)) return; /* e.g. only atime or a reverted edit */
  qcc_tableset_reload(ts, "file changed", NULL);
}

static void changed(struct qcc_tableset *ts) {
  ts->settling = identify(ts->path);
  ts->settle_ticks = 0;
  ev_timer_again(ts->loop, &ts->settle_w); /* restart the debounce */
}

static void stat_cb(struct ev_loop *loop, ev_stat *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_tableset *ts = w->data;
  changed(ts);
  ev_timer_again(ts->loop, &ts->recheck_w);
}

static void recheck_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_tableset *ts = w->data;
  ev_timer_stop(ts->loop, w); /* one look per libev stat, not a poll */
  struct file_id now = identify(ts->path);
  if (!same_file(&now, &ts->loaded) && !ev_is_active(&ts->settle_w)) changed(ts);
}

void qcc_tableset_watch(struct qcc_tableset *ts, double debounce) {
  if (ts->watching) return;
  ts->debounce = debounce > 0 ? debounce : 0.05;
  /* The interval is only the polling fallback when inotify is unavailable. */
  ev_stat_init(&ts->stat_w, stat_cb, ts->path, 1.0);
  ts->stat_w.data = ts;
  ev_init(&ts->settle_w, settle_cb);
  ts->settle_w.repeat = ts->debounce;
  ts->settle_w.data = ts;
  ev_init(&ts->recheck_w, recheck_cb);
  ts->recheck_w.repeat = QCC_RECHECK_S;
  ts->recheck_w.data = ts;
  ev_stat_start(ts->loop, &ts->stat_w);
  ev_timer_again(ts->loop, &ts->recheck_w); /* ev_stat_start took the first stat */
  ts->watching = true;
}

void qcc_tableset_unwatch(struct qcc_tableset *ts) {
  if (!ts->watching) return;
  ev_stat_stop(ts->loop, &ts->stat_w);
  ev_timer_stop(ts->loop, &ts->settle_w);
  ev_timer_stop(ts->loop, &ts->recheck_w);
  ts->watching = false;
}
