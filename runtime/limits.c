/* The global in-flight limit (limits.h). The wait list is a plain array in
 * arrival order: it is capped at a few thousand entries, so a linear scan
 * for the best waiter costs less than keeping a heap in step with cancels. */
#include "limits.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct waiter {
  void *handle;
  uint32_t priority;
  uint64_t until; /* wait runs out */
};

struct qcc_limits {
  struct qcc_limits_params p;
  struct waiter *w; /* arrival order */
  uint32_t nw, capw;
  struct qcc_limits_counters c;
};

void qcc_limits_params_default(struct qcc_limits_params *p) {
  memset(p, 0, sizeof(*p));
  p->max_in_flight = 0;
  p->max_waiting = 64;
  p->max_wait_ms = QCC_LIMITS_WAIT_DEFAULT_MS;
}

int qcc_limits_new(const struct qcc_limits_params *p, struct qcc_limits **out,
                   struct qcc_err *err) {
  *out = NULL;
  struct qcc_limits *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return qcc_err_set(err, ENOMEM, "out of memory creating the request limits");
  if (p != NULL)
    l->p = *p;
  else
    qcc_limits_params_default(&l->p);
  *out = l;
  return 0;
}

void qcc_limits_free(struct qcc_limits **l) {
  if (l == NULL || *l == NULL)
    return;
  free((*l)->w);
  free(*l);
  *l = NULL;
}

void qcc_limits_configure(struct qcc_limits *l, const struct qcc_limits_params *p) {
  l->p = *p;
}

static uint32_t wait_cap(const struct qcc_limits *l) {
  return l->p.max_waiting > QCC_LIMITS_WAIT_HARD_MAX ? QCC_LIMITS_WAIT_HARD_MAX
                                                     : l->p.max_waiting;
}

static bool has_room(const struct qcc_limits *l) {
  return l->p.max_in_flight == 0 || l->c.active < l->p.max_in_flight;
}

static void go(struct qcc_limits *l) {
  l->c.active++;
  if (l->c.active > l->c.peak_active)
    l->c.peak_active = l->c.active;
}

static void drop_waiter(struct qcc_limits *l, uint32_t i) {
  memmove(&l->w[i], &l->w[i + 1], (size_t)(l->nw - i - 1) * sizeof(l->w[0]));
  l->nw--;
  l->c.waiting--;
}

enum qcc_admit qcc_limits_admit(struct qcc_limits *l, void *handle, uint32_t priority,
                                uint64_t now, uint32_t *retry_after_s) {
  l->c.total++;
  if (retry_after_s != NULL)
    *retry_after_s = 0;
  /* waiters go first: a newcomer may not overtake the wait list */
  if (has_room(l) && l->nw == 0) {
    go(l);
    l->c.admitted++;
    return QCC_ADMIT_GO;
  }
  if (handle != NULL && l->nw < wait_cap(l)) {
    if (l->nw == l->capw) {
      uint32_t ncap = l->capw ? l->capw * 2 : 16;
      if (ncap > QCC_LIMITS_WAIT_HARD_MAX)
        ncap = QCC_LIMITS_WAIT_HARD_MAX;
      struct waiter *nw = realloc(l->w, (size_t)ncap * sizeof(*nw));
      if (nw == NULL)
        goto reject; /* no memory for a waiter: refuse this one request */
      l->w = nw;
      l->capw = ncap;
    }
    uint32_t wait = l->p.max_wait_ms ? l->p.max_wait_ms : QCC_LIMITS_WAIT_DEFAULT_MS;
    l->w[l->nw++] = (struct waiter){.handle = handle, .priority = priority, .until = now + wait};
    l->c.waiting++;
    l->c.waited++;
    return QCC_ADMIT_WAIT;
  }
reject:
  l->c.rejected++;
  if (retry_after_s != NULL)
    *retry_after_s = 1; /* in-flight slots free up within seconds */
  return QCC_ADMIT_REJECT;
}

/* Index of the waiter to go next: highest priority, earliest arrival. */
static int best_waiter(const struct qcc_limits *l) {
  if (l->nw == 0)
    return -1;
  uint32_t best = 0;
  for (uint32_t i = 1; i < l->nw; i++)
    if (l->w[i].priority > l->w[best].priority)
      best = i;
  return (int)best;
}

static void *take_best(struct qcc_limits *l) {
  int b = best_waiter(l);
  if (b < 0)
    return NULL;
  void *h = l->w[b].handle;
  drop_waiter(l, (uint32_t)b);
  go(l);
  return h;
}

void *qcc_limits_release(struct qcc_limits *l) {
  if (l->c.active > 0)
    l->c.active--;
  if (!has_room(l))
    return NULL;
  return take_best(l);
}

size_t qcc_limits_promote(struct qcc_limits *l, void **out, size_t max) {
  size_t n = 0;
  while (n < max && l->nw > 0 && has_room(l))
    out[n++] = take_best(l);
  return n;
}

int qcc_limits_cancel(struct qcc_limits *l, void *handle) {
  for (uint32_t i = 0; i < l->nw; i++) {
    if (l->w[i].handle == handle) {
      drop_waiter(l, i);
      return 0;
    }
  }
  return -1;
}

uint64_t qcc_limits_next_due(const struct qcc_limits *l) {
  uint64_t due = UINT64_MAX;
  for (uint32_t i = 0; i < l->nw; i++)
    if (l->w[i].until < due)
      due = l->w[i].until;
  return due;
}

size_t qcc_limits_expire(struct qcc_limits *l, uint64_t now, void **out, size_t max) {
  size_t n = 0;
  uint32_t i = 0;
  while (i < l->nw && n < max) {
    if (l->w[i].until <= now) {
      out[n++] = l->w[i].handle;
      drop_waiter(l, i);
      l->c.timed_out++;
    } else {
      i++;
    }
  }
  return n;
}

void qcc_limits_counters(const struct qcc_limits *l, struct qcc_limits_counters *out) {
  *out = l->c;
}
