/* The upstream side's operating wiring (docs/queue.md, "Wiring"): the
 * failure queue a request waits in when no endpoint can take it, the dead
 * letters and journal records of its life, and the global in-flight limit.
 * The attempt lifecycle (proxy.c) calls in here when it runs out of
 * endpoints and when an exchange ends. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "headers.h"
#include "keystore.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "proxy_internal.h"
#include "queue.h"
#include "schema/journal.h"

/* ---- failure queue (docs/queue.md, "Wiring") ----------------------------- */

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool px_queue_on(const struct qcc_exchange *x) {
  return !x->direct && x->p->hooks.queue != NULL && !x->p->stopping && !x->head_sent &&
         !x->cancelled;
}

static void journal(struct qcc_proxy *p, struct qcc_jrec *r) {
  if (p->hooks.journal != NULL) p->hooks.journal(p->hooks.ctx, r);
}

/* The journal's view of an endpoint of the request's table. */
static struct qcc_jep px_jep_of(const struct qcc_exchange *x, uint32_t idx, const char *id) {
  struct qcc_jep e = {.id = id};
  const struct qcc_table *t = x->req->gen->table;
  if (idx < qcc_table_endpoint_count(t)) {
    const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(t, idx);
    e.sid = ep->stable_id;
    e.identity = ep->identity_hash;
  }
  return e;
}

void px_qtimer_arm(struct qcc_proxy *p) {
  uint64_t due = UINT64_MAX;
  if (p->hooks.queue != NULL) due = qcc_queue_next_due(p->hooks.queue);
  if (p->hooks.limits != NULL) {
    uint64_t l = qcc_limits_next_due(p->hooks.limits);
    if (l < due) due = l;
  }
  uint64_t now = px_now_ms();
  /* requests waiting for an endpoint: wake them when one becomes eligible
   * by the clock (a rest or a breaker cooldown ends) */
  struct qcc_router *router = p->router != NULL ? p->router : p->own_router;
  p->ready_due = UINT64_MAX;
  if (router != NULL && p->hooks.queue != NULL && qcc_queue_waiting(p->hooks.queue) > 0)
    p->ready_due = qcc_router_next_ready(router, now);
  if (p->ready_due < due) due = p->ready_due;
  ev_timer_stop(p->loop, &p->qtimer);
  if (due == UINT64_MAX) return;
  double secs = due > now ? (double)(due - now) / 1e3 : 0.;
  ev_timer_set(&p->qtimer, secs, 0.);
  ev_timer_start(p->loop, &p->qtimer);
}

/* The request failed for good after waiting: keep it as a dead letter,
 * journal it, and put the final answer naming what was tried in x->res. */
static void dead_letter(struct qcc_exchange *x) {
  struct qcc_proxy *p = x->p;
  const struct qcc_request *r = x->req;
  struct qcc_queue_attempt tried[QCC_DL_MAX_TRIED];
  for (size_t i = 0; i < x->hist_n; i++)
    tried[i] = (struct qcc_queue_attempt){.endpoint = x->hist[i].ep, .status = x->hist[i].status,
                                          .reason = x->hist[i].reason};
  char reason[256];
  const char *src = x->res.error_message != NULL ? x->msg : "no endpoint";
  size_t rl = strnlen(src, sizeof reason - 1); /* cut: a dead letter keeps 255 bytes */
  memcpy(reason, src, rl);
  reason[rl] = '\0';
  const char *dlid = NULL;
  uint64_t hash = 0;
  if (p->hooks.deadletters != NULL) {
    struct qcc_deadletter_in in = {
        .id = x->qid, .time_ms = wall_ms(), .method = r->method, .target = r->target,
        .priority = x->priority, .headers = r->headers, .header_count = r->header_count,
        .tried = tried, .tried_count = x->hist_n, .attempts = x->total_attempts,
        .reason = reason, .body = r->body, .body_len = r->body_len};
    struct qcc_err err = {0};
    if (qcc_deadletters_add(p->hooks.deadletters, &in, &dlid, &err) != 0)
      qcc_log_error("dead letter: %s", err.msg);
    const struct qcc_deadletter *d =
        dlid != NULL ? qcc_deadletters_get(p->hooks.deadletters, dlid) : NULL;
    if (d != NULL) hash = d->body_hash;
  }
  struct qcc_jrec j = {.type = QCC_JT_QUEUE_DEAD_LETTER};
  j.u.queue_dead_letter.request_id = x->qid;
  j.u.queue_dead_letter.body_hash = hash;
  j.u.queue_dead_letter.reason = reason;
  size_t n = x->hist_n < QCC_JOURNAL_MAX_ATTEMPTS ? x->hist_n : QCC_JOURNAL_MAX_ATTEMPTS;
  j.u.queue_dead_letter.tried.count = (uint16_t)n;
  for (size_t i = 0; i < n; i++)
    j.u.queue_dead_letter.tried.item[i] = (struct qcc_jattempt){
        .endpoint = px_jep_of(x, x->hist[i].idx, x->hist[i].ep), .http_status = x->hist[i].status,
        .reason = x->hist[i].reason};
  journal(p, &j);
  uint64_t waited = px_now_ms() - x->enq_ms;
  char msg[sizeof x->msg];
  qcc_queue_expired_message(tried, x->hist_n, x->total_attempts, waited, dlid, msg, sizeof msg);
  px_set_error(x, 503, "overloaded_error", "%s", msg);
  qcc_log_warn("queued request %llu failed for good after %u attempts (%s %.*s)%s%s",
               (unsigned long long)x->qid, x->total_attempts, r->method, px_path_len(r->target),
               r->target, dlid != NULL ? ": dead letter " : "", dlid != NULL ? dlid : "");
}

/* Nothing (more) to try: with the failure queue on, the request (already
 * fully buffered) waits there; otherwise, or when the queue is full or the
 * request has used its retries, it is answered now. SEL->pick says why.
 * Returns 0 when the request waits in the queue (x is held: no attempt,
 * no timer), 1 when x->res holds the answer and the exchange must end. */
int px_no_endpoint(struct qcc_exchange *x, const struct qcc_select_out *sel) {
  const struct qcc_request *r = x->req;
  struct qcc_proxy *p = x->p;
  /* no attempt in this round: nothing to back off from, and no retry spent;
   * it waits for an endpoint to become eligible */
  bool idle = x->attempts == 0;
  p->stats.exhausted++;
  if (x->attempts == 0 || x->res.error_message == NULL) {
    px_set_error(x, 503, "overloaded_error", "%s", sel->reason != NULL ? sel->reason : "no endpoint");
    qcc_log_warn("%s (%s %.*s)", x->msg, r->method, r->target != NULL ? px_path_len(r->target) : 0,
                 r->target != NULL ? r->target : "");
  }
  if (!px_queue_on(x)) return 1;
  struct qcc_queue *q = p->hooks.queue;
  uint64_t now = px_now_ms();
  ev_timer_stop(p->loop, &x->timer);
  if (!x->queued) {
    uint64_t id = 0;
    uint32_t ra = 0;
    enum qcc_queue_push_status st = idle ? qcc_queue_push_waiting(q, x, x->priority, now, &id, &ra)
                                         : qcc_queue_push(q, x, x->priority, now, &id, &ra);
    if (st == QCC_QUEUE_FULL) {
      char msg[256];
      x->res.retry_after_s = ra;
      qcc_queue_full_message(ra, msg, sizeof msg);
      px_set_error(x, QCC_QUEUE_FULL_STATUS, "overloaded_error", "%s", msg);
      return 1;
    }
    if (st != QCC_QUEUE_PUSHED) return 1;
    x->queued = true;
    x->qid = id;
    x->enq_ms = now;
    struct qcc_jrec j = {.type = QCC_JT_QUEUE_ENQUEUED};
    j.u.queue_enqueued.request_id = id;
    j.u.queue_enqueued.priority = x->priority;
    j.u.queue_enqueued.body_hash = 0;
    j.u.queue_enqueued.model = "";
    journal(p, &j);
    qcc_log_info("request queued as %llu (priority %u): %s", (unsigned long long)id,
                 x->priority, x->msg);
    px_qtimer_arm(p);
    return 0;
  }
  if (idle) {
    enum qcc_queue_retry_status rs = qcc_queue_retry_no_endpoint(q, x, now);
    if (rs == QCC_QUEUE_RESCHEDULED) {
      px_qtimer_arm(p);
      return 0;
    }
    x->queued = false;
    if (rs == QCC_QUEUE_EXPIRED) dead_letter(x);
    return 1;
  }
  struct qcc_jrec j = {.type = QCC_JT_QUEUE_RETRIED};
  const struct tried_rec *last = x->hist_n > 0 ? &x->hist[x->hist_n - 1] : NULL;
  j.u.queue_retried.request_id = x->qid;
  j.u.queue_retried.attempt = x->total_attempts;
  j.u.queue_retried.endpoint = last != NULL ? px_jep_of(x, last->idx, last->ep)
                                            : (struct qcc_jep){.id = ""};
  j.u.queue_retried.reason = x->msg;
  journal(p, &j);
  enum qcc_queue_retry_status rs = qcc_queue_retry_failed(q, x, now);
  if (rs == QCC_QUEUE_RESCHEDULED) {
    px_qtimer_arm(p);
    return 0;
  }
  x->queued = false;
  if (rs == QCC_QUEUE_EXPIRED) dead_letter(x);
  return 1;
}

/* The exchange leaves the queue and its in-flight slot, whatever its end. */
void px_leave(struct qcc_exchange *x, bool answered) {
  struct qcc_proxy *p = x->p;
  if (x->queued) {
    x->queued = false;
    if (answered && !x->res.failed && qcc_queue_succeeded(p->hooks.queue, x) == 0) {
      struct qcc_jrec j = {.type = QCC_JT_QUEUE_SUCCEEDED};
      j.u.queue_succeeded.request_id = x->qid;
      j.u.queue_succeeded.attempts = x->total_attempts;
      j.u.queue_succeeded.endpoint =
          x->att != NULL ? px_jep_of(x, x->att->endpoint, x->att->endpoint_id)
                         : (struct qcc_jep){.id = x->res.endpoint_id};
      journal(p, &j);
      qcc_log_info("queued request %llu answered after %u attempts (%.0f ms in the queue)",
                   (unsigned long long)x->qid, x->total_attempts,
                   (double)(px_now_ms() - x->enq_ms));
    } else {
      qcc_queue_remove(p->hooks.queue, x);
    }
    px_qtimer_arm(p);
  }
  if (x->limit_waiting) {
    x->limit_waiting = false;
    qcc_limits_cancel(p->hooks.limits, x);
    px_qtimer_arm(p);
  }
  px_limit_release(x);
}

void px_limit_release(struct qcc_exchange *x) {
  if (!x->limit_held) return;
  x->limit_held = false;
  struct qcc_exchange *next = qcc_limits_release(x->p->hooks.limits);
  if (next != NULL) {
    next->limit_waiting = false;
    next->limit_held = true;
    px_defer(next, true);
  }
  px_qtimer_arm(x->p);
}

/* The global in-flight limit for a new exchange: 0 = go (a slot is held,
 * or there is no limit), 1 = waiting for a slot (x->limit_waiting), 2 =
 * refused (x->res holds the 429). */
int px_limit_admit(struct qcc_exchange *x) {
  struct qcc_proxy *p = x->p;
  if (p->hooks.limits == NULL) return 0;
  uint32_t ra = 0;
  enum qcc_admit ad = qcc_limits_admit(p->hooks.limits, x, x->priority, px_now_ms(), &ra);
  if (ad == QCC_ADMIT_WAIT) {
    x->limit_waiting = true;
    px_qtimer_arm(p);
    return 1;
  }
  if (ad == QCC_ADMIT_REJECT) {
    x->res.retry_after_s = ra != 0 ? ra : 1;
    px_set_error(x, QCC_LIMITS_REJECT_STATUS, "rate_limit_error",
                 "too many requests in flight; retry after %u s", x->res.retry_after_s);
    return 2;
  }
  x->limit_held = true;
  return 0;
}

/* The queue priority: x-qcc-priority, else the client token's, else the default. */
uint32_t px_request_priority(const struct qcc_request *r) {
  for (size_t i = 0; i < r->header_count; i++) {
    const struct qcc_header *h = &r->headers[i];
    uint32_t v = 0;
    if (qcc_hdr_name_is(h->name, h->name_len, QCC_QUEUE_PRIORITY_HEADER) &&
        qcc_queue_parse_priority(h->value, h->value_len, &v) == 0)
      return v;
  }
  if (r->gen == NULL || r->gen->keys == NULL || qcc_keystore_token_count(r->gen->keys) == 0)
    return QCC_QUEUE_PRIORITY_DEFAULT;
  for (size_t i = 0; i < r->header_count; i++) {
    const struct qcc_header *h = &r->headers[i];
    const char *v = h->value;
    size_t n = h->value_len;
    if (qcc_hdr_name_is(h->name, h->name_len, "authorization")) {
      if (n <= 7 || strncasecmp(v, "bearer ", 7) != 0) continue;
      v += 7;
      n -= 7;
      while (n > 0 && *v == ' ') {
        v++;
        n--;
      }
    } else if (!qcc_hdr_name_is(h->name, h->name_len, "x-api-key")) {
      continue;
    }
    uint32_t prio = 0;
    if (qcc_keystore_token_ok(r->gen->keys, v, n, &prio)) return prio;
  }
  return QCC_QUEUE_PRIORITY_DEFAULT;
}

/* The queue's and the in-flight limit's timer: retries and expiries due. */
void px_qtimer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)loop;
  (void)revents;
  struct qcc_proxy *p = w->data;
  uint64_t now = px_now_ms();
  if (p->ready_due <= now && p->hooks.queue != NULL) qcc_queue_wake_all(p->hooks.queue, now);
  if (p->hooks.limits != NULL) {
    void *out[32];
    size_t n;
    do {
      n = qcc_limits_expire(p->hooks.limits, now, out, 32);
      for (size_t i = 0; i < n; i++) {
        struct qcc_exchange *x = out[i];
        x->limit_waiting = false;
        x->res.retry_after_s = 1;
        px_set_error(x, QCC_LIMITS_REJECT_STATUS, "rate_limit_error",
                  "too many requests in flight: waited too long for a slot");
        px_complete(x);
      }
    } while (n == 32);
  }
  if (p->hooks.queue != NULL) {
    struct qcc_queue_item items[32];
    size_t n;
    do {
      n = qcc_queue_pop_due(p->hooks.queue, now, items, 32);
      for (size_t i = 0; i < n; i++) {
        struct qcc_exchange *x = items[i].handle;
        if (items[i].expired) {
          x->queued = false;
          dead_letter(x);
          px_complete(x);
          continue;
        }
        /* a new round: every endpoint may be tried again */
        x->tried_count = 0;
        x->attempts = 0;
        int rc = px_attempt_start(x, NULL);
        if (rc == 0) {
          /* let curl start this transfer before the next one is added:
           * transfers due at the same time start in no particular order,
           * and the queue's priority order must reach the upstream */
          if (x->att != NULL) qcc_curlloop_kick(p->cl);
          continue;
        }
        if (rc < 0) px_set_error(x, 500, "api_error", "out of memory starting the upstream request");
        px_complete(x);
      }
    } while (n == 32);
  }
  px_qtimer_arm(p);
}

void qcc_proxy_set_hooks(struct qcc_proxy *p, const struct qcc_proxy_hooks *h) {
  p->hooks = *h;
  px_qtimer_arm(p);
}

struct qcc_metrics *qcc_proxy_metrics(const struct qcc_proxy *p) {
  return p != NULL ? p->hooks.metrics : NULL;
}

void qcc_proxy_queue_wake(struct qcc_proxy *p) {
  if (p->hooks.queue == NULL) return;
  if (qcc_queue_wake_all(p->hooks.queue, px_now_ms()) > 0) px_qtimer_arm(p);
}

void qcc_proxy_limits_changed(struct qcc_proxy *p) {
  if (p->hooks.limits != NULL) {
    void *out[64];
    size_t n;
    do {
      n = qcc_limits_promote(p->hooks.limits, out, 64);
      for (size_t i = 0; i < n; i++) {
        struct qcc_exchange *x = out[i];
        x->limit_waiting = false;
        x->limit_held = true;
        px_defer(x, true);
      }
    } while (n == 64);
  }
  px_qtimer_arm(p);
}

void qcc_proxy_stop_queue(struct qcc_proxy *p) {
  p->stopping = true;
  struct qcc_queue *q = p->hooks.queue;
  if (q == NULL) return;
  struct qcc_queue_info info[64];
  size_t n;
  do {
    n = qcc_queue_list(q, info, 64);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
      if (info[i].state != QCC_QUEUE_WAITING) continue; /* in flight: ends by itself */
      struct qcc_exchange *x = info[i].handle;
      qcc_queue_remove(q, x);
      x->queued = false;
      px_set_error(x, 503, "overloaded_error", "qcc-run is shutting down; the request was kept");
      dead_letter(x);
      px_complete(x);
      done++;
    }
    if (done == 0) break;
  } while (n == 64);
  px_qtimer_arm(p);
}

uint64_t qcc_proxy_waiting(const struct qcc_proxy *p) {
  uint64_t n = 0;
  if (p->hooks.queue != NULL) {
    struct qcc_queue_counters qc;
    qcc_queue_counters(p->hooks.queue, &qc);
    n += qc.queued;
  }
  if (p->hooks.limits != NULL) {
    struct qcc_limits_counters lc;
    qcc_limits_counters(p->hooks.limits, &lc);
    n += lc.waiting;
  }
  return n;
}

