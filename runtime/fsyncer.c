#include "fsyncer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct qcc_fsyncer {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int fd;
  bool dirty, busy, stop;
  _Atomic uint64_t fsyncs;
  int error; /* errno of the last failed fdatasync, 0 = none */
};

static void *run(void *arg) {
  struct qcc_fsyncer *s = arg;
  pthread_mutex_lock(&s->mu);
  while (!s->stop) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 1;
    while (!s->stop)
      if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) break;
    if (s->stop || !s->dirty) continue;
    int fd = s->fd;
    s->dirty = false;
    s->busy = true;
    pthread_mutex_unlock(&s->mu);
    int rc = fdatasync(fd);
    int e = errno;
    pthread_mutex_lock(&s->mu);
    s->busy = false;
    atomic_fetch_add(&s->fsyncs, 1);
    if (rc != 0) {
      s->error = e;
      s->dirty = true; /* tried again next second */
    }
    pthread_cond_broadcast(&s->cv);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

int qcc_fsyncer_start(int fd, const char *what, struct qcc_fsyncer **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_fsyncer *s = calloc(1, sizeof *s);
  if (s == NULL) return qcc_err_set(err, ENOMEM, "%s: out of memory for the fsync thread", what);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, &ca);
  pthread_condattr_destroy(&ca);
  s->fd = fd;
  int rc = pthread_create(&s->thread, NULL, run, s);
  if (rc != 0) {
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return qcc_err_set(err, rc, "%s: cannot start the fsync thread: %s", what, strerror(rc));
  }
  *out = s;
  return 0;
}

bool qcc_fsyncer_stop(struct qcc_fsyncer **ps) {
  struct qcc_fsyncer *s = *ps;
  if (s == NULL) return false;
  *ps = NULL;
  pthread_mutex_lock(&s->mu);
  s->stop = true;
  bool due = s->dirty;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->thread, NULL);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  free(s);
  return due;
}

void qcc_fsyncer_mark_dirty(struct qcc_fsyncer *s) {
  if (s == NULL) return;
  pthread_mutex_lock(&s->mu);
  s->dirty = true;
  pthread_mutex_unlock(&s->mu);
}

void qcc_fsyncer_set_fd(struct qcc_fsyncer *s, int fd) {
  if (s == NULL) return;
  pthread_mutex_lock(&s->mu);
  while (s->busy) pthread_cond_wait(&s->cv, &s->mu);
  s->fd = fd;
  pthread_mutex_unlock(&s->mu);
}

uint64_t qcc_fsyncer_count(const struct qcc_fsyncer *s) {
  return s == NULL ? 0 : atomic_load(&((struct qcc_fsyncer *)s)->fsyncs);
}

int qcc_fsyncer_take_error(struct qcc_fsyncer *s) {
  if (s == NULL) return 0;
  pthread_mutex_lock(&s->mu);
  int e = s->error;
  s->error = 0;
  pthread_mutex_unlock(&s->mu);
  return e;
}
