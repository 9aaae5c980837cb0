/* The failure queue (queue.h, docs/queue.md).
 *
 * Entries live in a slot pool that grows by doubling up to max_size, so an
 * idle queue costs almost nothing and a full one never more than max_size
 * slots. Two indexed binary heaps over slot numbers:
 *   - the time heap: WAITING entries by due = min(next retry, deadline), so
 *     next_due is its top and pop_due stops at the first future entry;
 *   - the ready heap: entries already due but not yet handed out (pop_due
 *     was given a small out array), by priority then enqueue order.
 * A handle -> slot hash (linear probing, backward-shift delete) makes
 * remove-on-disconnect O(1). */
#include "queue.h"

#include "schema/table.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WHERE_NONE = 0, WHERE_TIME, WHERE_READY };

struct entry {
  void *handle;           /* NULL = free slot */
  uint64_t id;
  uint64_t seq;           /* enqueue order: FIFO within a priority */
  uint64_t enqueued_at;
  uint64_t next_retry_at;
  uint64_t deadline;      /* UINT64_MAX = none */
  uint32_t priority;
  uint32_t retries;
  uint32_t hpos;          /* index in its heap */
  uint32_t next_free;     /* free list link (slot + 1, 0 = end) */
  uint8_t state;          /* enum qcc_queue_state */
  uint8_t where;
};

struct heap {
  uint32_t *slot;
  uint32_t len, cap;
};

struct qcc_queue {
  struct qcc_queue_params p;
  struct entry *e;
  uint32_t cap;           /* slots allocated */
  uint32_t used;          /* live entries */
  uint32_t free_head;     /* slot + 1, 0 = none */
  uint32_t fresh;         /* slots [fresh, cap) never used */
  struct heap time_h, ready_h;
  uint32_t *hash;         /* slot + 1, 0 = empty */
  uint32_t hash_cap;      /* power of two, >= 2 * cap */
  uint64_t next_id, next_seq;
  struct qcc_queue_counters c;
};

/* ---------------------------------------------------------------- params */

void qcc_queue_params_default(struct qcc_queue_params *p) {
  memset(p, 0, sizeof(*p));
  p->max_size = 1000;
  p->strategy = QCC_RETRY_EXPONENTIAL_BACKOFF;
  p->max_retries = 5;
  p->max_wait_ms = 120000;
  p->fixed_interval_ms = 0;
  p->time_scale = 1.0;
}

void qcc_queue_params_from_settings(struct qcc_queue_params *p, const struct qcc_tbl_settings *s,
                                    double time_scale, uint64_t first_id) {
  qcc_queue_params_default(p);
  p->max_size = s->queue_enabled ? s->queue_max_size : 0;
  p->strategy = s->retry_strategy < QCC_RETRY_COUNT ? (enum qcc_retry_strategy)s->retry_strategy
                                                    : QCC_RETRY_EXPONENTIAL_BACKOFF;
  p->max_retries = s->max_retries;
  p->max_wait_ms = s->max_wait_ms;
  p->time_scale = time_scale;
  p->first_id = first_id;
}

double qcc_queue_parse_time_scale(const char *text) {
  if (text == NULL || *text == '\0')
    return 1.0;
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v <= 0.0 || v > 1000.0)
    return 1.0;
  return v;
}

int qcc_queue_parse_priority(const char *value, size_t len, uint32_t *out) {
  size_t i = 0;
  while (i < len && (value[i] == ' ' || value[i] == '\t'))
    i++;
  while (len > i && (value[len - 1] == ' ' || value[len - 1] == '\t'))
    len--;
  if (len - i != 1 || value[i] < '0' || value[i] > '0' + (int)QCC_QUEUE_PRIORITY_MAX_HEADER)
    return -1;
  *out = (uint32_t)(value[i] - '0');
  return 0;
}

static double scale_of(const struct qcc_queue_params *p) {
  return p->time_scale > 0.0 ? p->time_scale : 1.0;
}

static uint64_t scaled(const struct qcc_queue_params *p, uint64_t ms) {
  double v = (double)ms * scale_of(p);
  if (v >= 1.8e19)
    return UINT64_MAX / 2;
  return (uint64_t)llround(v);
}

uint64_t qcc_queue_retry_delay_ms(const struct qcc_queue_params *p, uint32_t retry) {
  uint64_t ms = 0;
  switch (p->strategy) {
  case QCC_RETRY_EXPONENTIAL_BACKOFF: {
    ms = QCC_QUEUE_BACKOFF_BASE_MS;
    /* doubling stops at the cap, so no shift can overflow */
    for (uint32_t i = 1; i < retry && ms < QCC_QUEUE_BACKOFF_CAP_MS; i++)
      ms *= 2;
    if (ms > QCC_QUEUE_BACKOFF_CAP_MS)
      ms = QCC_QUEUE_BACKOFF_CAP_MS;
    break;
  }
  case QCC_RETRY_FIXED_INTERVAL:
    ms = p->fixed_interval_ms ? p->fixed_interval_ms : QCC_QUEUE_FIXED_DEFAULT_MS;
    break;
  case QCC_RETRY_IMMEDIATE:
  default:
    ms = 0;
    break;
  }
  return scaled(p, ms);
}

/* ------------------------------------------------------------------ heaps */

static uint64_t due_of(const struct entry *x) {
  return x->next_retry_at < x->deadline ? x->next_retry_at : x->deadline;
}

/* Does a sort before b in heap h? */
static bool before(const struct qcc_queue *q, const struct heap *h, uint32_t a, uint32_t b) {
  const struct entry *x = &q->e[a], *y = &q->e[b];
  if (h == &q->time_h) {
    uint64_t dx = due_of(x), dy = due_of(y);
    if (dx != dy)
      return dx < dy;
  } else if (x->priority != y->priority) {
    return x->priority > y->priority;
  }
  return x->seq < y->seq;
}

static void heap_set(struct qcc_queue *q, struct heap *h, uint32_t i, uint32_t slot) {
  h->slot[i] = slot;
  q->e[slot].hpos = i;
}

static void heap_up(struct qcc_queue *q, struct heap *h, uint32_t i) {
  uint32_t s = h->slot[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!before(q, h, s, h->slot[parent]))
      break;
    heap_set(q, h, i, h->slot[parent]);
    i = parent;
  }
  heap_set(q, h, i, s);
}

static void heap_down(struct qcc_queue *q, struct heap *h, uint32_t i) {
  uint32_t s = h->slot[i];
  for (;;) {
    uint32_t l = 2 * i + 1, best = i;
    uint32_t bs = s;
    if (l < h->len && before(q, h, h->slot[l], bs)) {
      best = l;
      bs = h->slot[l];
    }
    if (l + 1 < h->len && before(q, h, h->slot[l + 1], bs)) {
      best = l + 1;
      bs = h->slot[l + 1];
    }
    if (best == i)
      break;
    heap_set(q, h, i, bs);
    i = best;
  }
  heap_set(q, h, i, s);
}

/* Capacity is reserved when the pool grows, so push never fails. */
static void heap_push(struct qcc_queue *q, struct heap *h, uint32_t slot) {
  uint32_t i = h->len++;
  heap_set(q, h, i, slot);
  heap_up(q, h, i);
  q->e[slot].where = (uint8_t)(h == &q->time_h ? WHERE_TIME : WHERE_READY);
}

static void heap_remove(struct qcc_queue *q, struct heap *h, uint32_t i) {
  uint32_t gone = h->slot[i];
  h->len--;
  if (i != h->len) {
    uint32_t moved = h->slot[h->len];
    heap_set(q, h, i, moved);
    heap_down(q, h, i);
    heap_up(q, h, q->e[moved].hpos);
  }
  q->e[gone].where = WHERE_NONE;
}

static void unlink_heaps(struct qcc_queue *q, uint32_t slot) {
  struct entry *x = &q->e[slot];
  if (x->where == WHERE_TIME)
    heap_remove(q, &q->time_h, x->hpos);
  else if (x->where == WHERE_READY)
    heap_remove(q, &q->ready_h, x->hpos);
}

/* ------------------------------------------------------------------- hash */

static uint32_t hash_ptr(const void *p) {
  uint64_t v = (uint64_t)(uintptr_t)p;
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdULL;
  v ^= v >> 33;
  v *= 0xc4ceb9fe1a85ec53ULL;
  v ^= v >> 33;
  return (uint32_t)v;
}

static uint32_t hash_find(const struct qcc_queue *q, const void *handle) {
  if (q->hash_cap == 0)
    return UINT32_MAX;
  uint32_t mask = q->hash_cap - 1;
  for (uint32_t i = hash_ptr(handle) & mask;; i = (i + 1) & mask) {
    uint32_t v = q->hash[i];
    if (v == 0)
      return UINT32_MAX;
    if (q->e[v - 1].handle == handle)
      return v - 1;
  }
}

static void hash_insert(struct qcc_queue *q, uint32_t slot) {
  uint32_t mask = q->hash_cap - 1;
  uint32_t i = hash_ptr(q->e[slot].handle) & mask;
  while (q->hash[i] != 0)
    i = (i + 1) & mask;
  q->hash[i] = slot + 1;
}

static void hash_delete(struct qcc_queue *q, uint32_t slot) {
  uint32_t mask = q->hash_cap - 1;
  uint32_t i = hash_ptr(q->e[slot].handle) & mask;
  while (q->hash[i] != slot + 1)
    i = (i + 1) & mask;
  /* backward shift: move later members of the probe run into the hole */
  for (uint32_t j = (i + 1) & mask; q->hash[j] != 0; j = (j + 1) & mask) {
    uint32_t home = hash_ptr(q->e[q->hash[j] - 1].handle) & mask;
    bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      q->hash[i] = q->hash[j];
      i = j;
    }
  }
  q->hash[i] = 0;
}

/* ------------------------------------------------------------------- pool */

static uint32_t size_limit(const struct qcc_queue *q) {
  return q->p.max_size > QCC_QUEUE_HARD_MAX ? QCC_QUEUE_HARD_MAX : q->p.max_size;
}

static int grow(struct qcc_queue *q) {
  uint32_t ncap = q->cap ? q->cap * 2 : 16;
  if (ncap > QCC_QUEUE_HARD_MAX)
    ncap = QCC_QUEUE_HARD_MAX;
  if (ncap <= q->cap)
    return -1;
  uint32_t nhash = 32;
  while (nhash < 2 * ncap)
    nhash *= 2;
  struct entry *ne = realloc(q->e, (size_t)ncap * sizeof(*ne));
  if (ne == NULL)
    return -1;
  q->e = ne;
  uint32_t *t = realloc(q->time_h.slot, (size_t)ncap * sizeof(uint32_t));
  if (t == NULL)
    return -1;
  q->time_h.slot = t;
  uint32_t *r = realloc(q->ready_h.slot, (size_t)ncap * sizeof(uint32_t));
  if (r == NULL)
    return -1;
  q->ready_h.slot = r;
  uint32_t *h = calloc(nhash, sizeof(uint32_t));
  if (h == NULL)
    return -1;
  /* only the pool size changed so far: the old state is still consistent */
  memset(q->e + q->cap, 0, (size_t)(ncap - q->cap) * sizeof(*ne));
  q->cap = ncap;
  q->time_h.cap = q->ready_h.cap = ncap;
  free(q->hash);
  q->hash = h;
  q->hash_cap = nhash;
  for (uint32_t s = 0; s < q->fresh; s++)
    if (q->e[s].handle != NULL)
      hash_insert(q, s);
  return 0;
}

static int slot_alloc(struct qcc_queue *q, uint32_t *slot) {
  if (q->free_head != 0) {
    *slot = q->free_head - 1;
    q->free_head = q->e[*slot].next_free;
    return 0;
  }
  if (q->fresh == q->cap && grow(q) != 0)
    return -1;
  *slot = q->fresh++;
  return 0;
}

static void slot_free(struct qcc_queue *q, uint32_t slot) {
  unlink_heaps(q, slot);
  hash_delete(q, slot);
  struct entry *x = &q->e[slot];
  if (x->state == QCC_QUEUE_RETRYING)
    q->c.retrying--;
  memset(x, 0, sizeof(*x));
  x->next_free = q->free_head;
  q->free_head = slot + 1;
  q->used--;
  q->c.queued--;
}

/* ------------------------------------------------------------------- API */

int qcc_queue_new(const struct qcc_queue_params *p, struct qcc_queue **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_queue *q = calloc(1, sizeof(*q));
  if (q == NULL)
    return qcc_err_set(err, ENOMEM, "out of memory creating the request queue");
  if (p != NULL)
    q->p = *p;
  else
    qcc_queue_params_default(&q->p);
  q->next_id = q->p.first_id ? q->p.first_id : 1;
  *out = q;
  return 0;
}

void qcc_queue_free(struct qcc_queue **q) {
  if (q == NULL || *q == NULL)
    return;
  free((*q)->e);
  free((*q)->time_h.slot);
  free((*q)->ready_h.slot);
  free((*q)->hash);
  free(*q);
  *q = NULL;
}

void qcc_queue_configure(struct qcc_queue *q, const struct qcc_queue_params *p) {
  q->p = *p;
}

/* Seconds to tell a refused client: until the queue next moves. */
static uint32_t retry_after_s(const struct qcc_queue *q, uint64_t now) {
  uint64_t wait_ms;
  if (q->ready_h.len > 0)
    wait_ms = 0;
  else if (q->time_h.len > 0 && due_of(&q->e[q->time_h.slot[0]]) != UINT64_MAX)
    wait_ms = due_of(&q->e[q->time_h.slot[0]]) > now ? due_of(&q->e[q->time_h.slot[0]]) - now : 0;
  else
    wait_ms = qcc_queue_retry_delay_ms(&q->p, 1);
  uint64_t s = (wait_ms + 999) / 1000;
  if (s < 1)
    s = 1;
  if (s > QCC_QUEUE_BACKOFF_CAP_MS / 1000)
    s = QCC_QUEUE_BACKOFF_CAP_MS / 1000;
  return (uint32_t)s;
}

static enum qcc_queue_push_status push(struct qcc_queue *q, void *handle, uint32_t priority,
                                       uint64_t now, uint64_t *id, uint32_t *retry_after,
                                       bool at_wake);

enum qcc_queue_push_status qcc_queue_push(struct qcc_queue *q, void *handle, uint32_t priority,
                                          uint64_t now, uint64_t *id, uint32_t *retry_after) {
  return push(q, handle, priority, now, id, retry_after, false);
}

enum qcc_queue_push_status qcc_queue_push_waiting(struct qcc_queue *q, void *handle,
                                                  uint32_t priority, uint64_t now, uint64_t *id,
                                                  uint32_t *retry_after) {
  return push(q, handle, priority, now, id, retry_after, true);
}

static enum qcc_queue_push_status push(struct qcc_queue *q, void *handle, uint32_t priority,
                                       uint64_t now, uint64_t *id, uint32_t *retry_after,
                                       bool at_wake) {
  if (retry_after != NULL)
    *retry_after = 0;
  if (handle == NULL)
    return QCC_QUEUE_DUPLICATE;
  if (size_limit(q) == 0 || q->p.max_retries == 0) {
    q->c.rejected++;
    if (retry_after != NULL)
      *retry_after = retry_after_s(q, now);
    return QCC_QUEUE_OFF;
  }
  if (hash_find(q, handle) != UINT32_MAX)
    return QCC_QUEUE_DUPLICATE;
  if (q->used >= size_limit(q)) {
    q->c.rejected++;
    if (retry_after != NULL)
      *retry_after = retry_after_s(q, now);
    return QCC_QUEUE_FULL;
  }
  uint32_t slot;
  if (slot_alloc(q, &slot) != 0)
    return QCC_QUEUE_NOMEM;
  struct entry *x = &q->e[slot];
  memset(x, 0, sizeof(*x));
  x->handle = handle;
  x->id = q->next_id++;
  x->seq = q->next_seq++;
  x->priority = priority;
  x->enqueued_at = now;
  x->next_retry_at = at_wake ? UINT64_MAX : now + qcc_queue_retry_delay_ms(&q->p, 1);
  x->deadline = q->p.max_wait_ms ? now + scaled(&q->p, q->p.max_wait_ms) : UINT64_MAX;
  x->state = QCC_QUEUE_WAITING;
  hash_insert(q, slot);
  heap_push(q, &q->time_h, slot);
  q->used++;
  q->c.queued++;
  q->c.enqueued++;
  if (id != NULL)
    *id = x->id;
  return QCC_QUEUE_PUSHED;
}

uint64_t qcc_queue_next_due(const struct qcc_queue *q) {
  if (q->ready_h.len > 0)
    return 0; /* already due */
  if (q->time_h.len > 0)
    return due_of(&q->e[q->time_h.slot[0]]);
  return UINT64_MAX;
}

static void fill_item(const struct entry *x, bool expired, struct qcc_queue_item *it) {
  it->handle = x->handle;
  it->id = x->id;
  it->priority = x->priority;
  it->attempt = x->retries;
  it->enqueued_at = x->enqueued_at;
  it->expired = expired;
  it->retries_used = false;
}

static void expire(struct qcc_queue *q, uint32_t slot, bool retries_used,
                   struct qcc_queue_item *it) {
  if (it != NULL) {
    fill_item(&q->e[slot], true, it);
    it->retries_used = retries_used;
  }
  q->c.expired++;
  slot_free(q, slot);
}

size_t qcc_queue_pop_due(struct qcc_queue *q, uint64_t now, struct qcc_queue_item *out,
                         size_t max) {
  size_t n = 0;
  /* move what is due into the ready heap; expiries go out at once */
  while (q->time_h.len > 0) {
    uint32_t s = q->time_h.slot[0];
    struct entry *x = &q->e[s];
    if (due_of(x) > now)
      break;
    if (now >= x->deadline) {
      if (n == max)
        break;
      expire(q, s, false, &out[n++]);
      continue;
    }
    heap_remove(q, &q->time_h, 0);
    heap_push(q, &q->ready_h, s);
  }
  while (n < max && q->ready_h.len > 0) {
    uint32_t s = q->ready_h.slot[0];
    struct entry *x = &q->e[s];
    if (now >= x->deadline) {
      expire(q, s, false, &out[n++]);
      continue;
    }
    heap_remove(q, &q->ready_h, 0);
    x->state = QCC_QUEUE_RETRYING;
    x->retries++;
    q->c.retrying++;
    q->c.retries++;
    fill_item(x, false, &out[n++]);
  }
  return n;
}

enum qcc_queue_retry_status qcc_queue_retry_failed(struct qcc_queue *q, void *handle,
                                                   uint64_t now) {
  uint32_t s = hash_find(q, handle);
  if (s == UINT32_MAX || q->e[s].state != QCC_QUEUE_RETRYING)
    return QCC_QUEUE_UNKNOWN;
  struct entry *x = &q->e[s];
  if (x->retries >= q->p.max_retries) {
    expire(q, s, true, NULL);
    return QCC_QUEUE_EXPIRED;
  }
  if (now >= x->deadline) {
    expire(q, s, false, NULL);
    return QCC_QUEUE_EXPIRED;
  }
  x->state = QCC_QUEUE_WAITING;
  q->c.retrying--;
  x->next_retry_at = now + qcc_queue_retry_delay_ms(&q->p, x->retries + 1);
  heap_push(q, &q->time_h, s);
  return QCC_QUEUE_RESCHEDULED;
}

enum qcc_queue_retry_status qcc_queue_retry_no_endpoint(struct qcc_queue *q, void *handle,
                                                        uint64_t now) {
  uint32_t s = hash_find(q, handle);
  if (s == UINT32_MAX || q->e[s].state != QCC_QUEUE_RETRYING)
    return QCC_QUEUE_UNKNOWN;
  struct entry *x = &q->e[s];
  /* pop_due counted a retry that never started */
  if (x->retries > 0)
    x->retries--;
  if (q->c.retries > 0)
    q->c.retries--;
  if (now >= x->deadline) {
    expire(q, s, false, NULL);
    return QCC_QUEUE_EXPIRED;
  }
  x->state = QCC_QUEUE_WAITING;
  q->c.retrying--;
  x->next_retry_at = UINT64_MAX;
  heap_push(q, &q->time_h, s);
  return QCC_QUEUE_RESCHEDULED;
}

uint64_t qcc_queue_waiting(const struct qcc_queue *q) {
  return q->c.queued - q->c.retrying;
}

int qcc_queue_succeeded(struct qcc_queue *q, void *handle) {
  uint32_t s = hash_find(q, handle);
  if (s == UINT32_MAX)
    return -1;
  q->c.succeeded++;
  slot_free(q, s);
  return 0;
}

int qcc_queue_remove(struct qcc_queue *q, void *handle) {
  uint32_t s = hash_find(q, handle);
  if (s == UINT32_MAX)
    return -1;
  q->c.removed++;
  slot_free(q, s);
  return 0;
}

size_t qcc_queue_wake_all(struct qcc_queue *q, uint64_t now) {
  size_t n = 0;
  while (q->time_h.len > 0) {
    uint32_t s = q->time_h.slot[q->time_h.len - 1];
    heap_remove(q, &q->time_h, q->time_h.len - 1);
    if (q->e[s].next_retry_at > now)
      q->e[s].next_retry_at = now;
    heap_push(q, &q->ready_h, s);
    n++;
  }
  q->c.woken += n;
  return n;
}

size_t qcc_queue_wake_waiting(struct qcc_queue *q, uint64_t now) {
  /* collect first: removing from a heap while walking it moves entries */
  uint32_t len = q->time_h.len, n = 0;
  if (len == 0)
    return 0;
  uint32_t *pick = malloc((size_t)len * sizeof(uint32_t));
  if (pick == NULL)
    return qcc_queue_wake_all(q, now); /* too many woken beats none */
  for (uint32_t i = 0; i < len; i++)
    if (q->e[q->time_h.slot[i]].next_retry_at == UINT64_MAX)
      pick[n++] = q->time_h.slot[i];
  for (uint32_t i = 0; i < n; i++) {
    heap_remove(q, &q->time_h, q->e[pick[i]].hpos);
    q->e[pick[i]].next_retry_at = now;
    heap_push(q, &q->ready_h, pick[i]);
  }
  free(pick);
  q->c.woken += n;
  return n;
}

bool qcc_queue_contains(const struct qcc_queue *q, void *handle) {
  return handle != NULL && hash_find(q, handle) != UINT32_MAX;
}

const char *qcc_queue_state_name(enum qcc_queue_state s) {
  return s == QCC_QUEUE_RETRYING ? "retrying" : "waiting";
}

static int by_priority(const void *a, const void *b, void *arg) {
  const struct qcc_queue *q = arg;
  const struct entry *x = &q->e[*(const uint32_t *)a], *y = &q->e[*(const uint32_t *)b];
  if (x->priority != y->priority)
    return x->priority > y->priority ? -1 : 1;
  return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

size_t qcc_queue_list(const struct qcc_queue *q, struct qcc_queue_info *out, size_t max) {
  if (q->used == 0 || max == 0)
    return 0;
  uint32_t *idx = malloc((size_t)q->used * sizeof(uint32_t));
  if (idx == NULL)
    return 0;
  uint32_t n = 0;
  for (uint32_t s = 0; s < q->fresh && n < q->used; s++)
    if (q->e[s].handle != NULL)
      idx[n++] = s;
  qsort_r(idx, n, sizeof(uint32_t), by_priority, (void *)q);
  size_t k = 0;
  for (; k < n && k < max; k++) {
    const struct entry *x = &q->e[idx[k]];
    out[k] = (struct qcc_queue_info){
        .handle = x->handle, .id = x->id, .priority = x->priority, .retries = x->retries,
        .state = (enum qcc_queue_state)x->state, .enqueued_at = x->enqueued_at,
        .next_retry_at = x->next_retry_at, .deadline = x->deadline};
  }
  free(idx);
  return k;
}

void qcc_queue_counters(const struct qcc_queue *q, struct qcc_queue_counters *out) {
  *out = q->c;
}

/* ------------------------------------------------------- error JSON bodies */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t left) {
  unsigned char c = s[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (left < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

/* Append s escaped as JSON string content; stop (whole characters only)
 * when fewer than `reserve` bytes would remain. Returns the new length. */
static size_t put_escaped(char *buf, size_t len, size_t cap, size_t reserve, const char *s) {
  const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
  size_t left = strlen((const char *)p);
  while (left > 0) {
    char tmp[8];
    size_t tn, adv = 1;
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      tmp[0] = '\\';
      tmp[1] = (char)c;
      tn = 2;
    } else if (c < 0x20 || c == 0x7f) {
      tn = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", c);
    } else if (c < 0x80) {
      tmp[0] = (char)c;
      tn = 1;
    } else {
      adv = utf8_len(p, left);
      if (adv == 0) {
        tmp[0] = '?';
        tn = 1;
        adv = 1;
      } else {
        memcpy(tmp, p, adv);
        tn = adv;
      }
    }
    if (len + tn + reserve > cap)
      break;
    memcpy(buf + len, tmp, tn);
    len += tn;
    p += adv;
    left -= adv;
  }
  return len;
}

static size_t put_raw(char *buf, size_t len, const char *s) {
  size_t n = strlen(s);
  memcpy(buf + len, s, n);
  return len + n;
}

int qcc_error_json(const char *type, const char *message, char *buf, size_t cap) {
  static const char head[] = "{\"type\":\"error\",\"error\":{\"type\":\"";
  static const char mid[] = "\",\"message\":\"";
  static const char tail[] = "\"}}";
  /* the type is ours (a fixed word); still escaped, never cut */
  char tbuf[64];
  size_t tl = put_escaped(tbuf, 0, sizeof(tbuf), 1, type != NULL ? type : "api_error");
  tbuf[tl] = '\0';
  size_t fixed = sizeof(head) - 1 + tl + sizeof(mid) - 1 + sizeof(tail) - 1 + 1;
  if (buf == NULL || cap < fixed)
    return -1;
  size_t len = put_raw(buf, 0, head);
  len = put_raw(buf, len, tbuf);
  len = put_raw(buf, len, mid);
  len = put_escaped(buf, len, cap, sizeof(tail) - 1 + 1, message);
  len = put_raw(buf, len, tail);
  buf[len] = '\0';
  return (int)len;
}

int qcc_queue_full_message(uint32_t retry_after_s, char *msg, size_t cap) {
  return snprintf(msg, cap,
                  "qcc: every endpoint is busy or failing and the retry queue is full; "
                  "retry after %u s",
                  (unsigned)retry_after_s);
}

int qcc_queue_full_json(uint32_t retry_after_s, char *buf, size_t cap) {
  char msg[160];
  qcc_queue_full_message(retry_after_s, msg, sizeof(msg));
  return qcc_error_json("overloaded_error", msg, buf, cap);
}

int qcc_queue_expired_json(const struct qcc_queue_attempt *tried, size_t n, uint32_t attempts,
                           uint64_t waited_ms, const char *dead_letter_id, char *buf, size_t cap) {
  char msg[1024];
  qcc_queue_expired_message(tried, n, attempts, waited_ms, dead_letter_id, msg, sizeof(msg));
  /* snprintf may have cut a multi-byte character: put_escaped turns any
   * broken tail into '?', so the JSON stays valid */
  return qcc_error_json("overloaded_error", msg, buf, cap);
}

int qcc_queue_expired_message(const struct qcc_queue_attempt *tried, size_t n, uint32_t attempts,
                              uint64_t waited_ms, const char *dead_letter_id, char *msg,
                              size_t cap) {
  size_t len = 0;
  int w = snprintf(msg, cap, "qcc: request failed after %u attempt%s over %.1f s; tried: ",
                   (unsigned)attempts, attempts == 1 ? "" : "s", (double)waited_ms / 1000.0);
  len = w > 0 ? (size_t)w : 0;
  if (n == 0 && len < cap)
    len += (size_t)snprintf(msg + len, cap - len, "no endpoint");
  for (size_t i = 0; i < n && len < cap; i++) {
    const struct qcc_queue_attempt *a = &tried[i];
    const char *ep = a->endpoint != NULL && *a->endpoint ? a->endpoint : "?";
    const char *sep = i ? ", " : "";
    if (a->status != 0 && a->reason != NULL && *a->reason)
      w = snprintf(msg + len, cap - len, "%s%s (HTTP %u, %s)", sep, ep, a->status,
                   a->reason);
    else if (a->status != 0)
      w = snprintf(msg + len, cap - len, "%s%s (HTTP %u)", sep, ep, a->status);
    else
      w = snprintf(msg + len, cap - len, "%s%s (%s)", sep, ep,
                   a->reason != NULL && *a->reason ? a->reason : "no response");
    if (w < 0)
      break;
    len += (size_t)w;
  }
  if (dead_letter_id != NULL && *dead_letter_id && len < cap)
    snprintf(msg + len, cap - len, "; kept as dead letter %s", dead_letter_id);
  return (int)strnlen(msg, cap);
}
