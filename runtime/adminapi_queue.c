/* The admin API's failure queue and dead letters (docs/admin-api.md, GET
 * /queue and /queue/deadletters, POST /queue/retry, retry-all, clear and
 * drop): their state as JSON, and replaying or dropping stored failures.
 * Shares the helpers of adminapi.c through adminapi_int.h. */
#include "adminapi_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadletters.h"
#include "queue.h"
#include "router.h"
#include "schema/enums.h"
#include "schema/journal.h"
#include "schema/table.h"

/* ---- queue --------------------------------------------------------------- */

static json_t *deadletters_summary(const struct qcc_admin_ctx *c) {
  if (c->deadletters == NULL) return json_null();
  struct qcc_deadletters_counters dc;
  qcc_deadletters_counters(c->deadletters, &dc);
  return json_pack("{s:I,s:I,s:I,s:I}", "count", (json_int_t)dc.count, "bytes",
                   (json_int_t)dc.bytes, "added", (json_int_t)dc.added, "dropped",
                   (json_int_t)dc.dropped);
}

void api_h_queue(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  if (c->queue == NULL) {
    qcc_admin_reply_error(req, 503, "queue not available");
    return;
  }
  uint64_t now = api_now_of(c);
  json_t *o = json_object();
  const struct qcc_table *t = api_table_of(c);
  if (t != NULL) {
    const struct qcc_tbl_settings *st = qcc_table_settings(t);
    json_object_set_new(o, "enabled", json_boolean(st->queue_enabled));
    json_object_set_new(o, "max_size", json_integer(st->queue_max_size));
    json_object_set_new(o, "strategy", json_string(qcc_enum_name(&qcc_retry_desc,
                                                                 st->retry_strategy)));
    json_object_set_new(o, "max_retries", json_integer(st->max_retries));
    json_object_set_new(o, "max_wait_ms", json_integer(st->max_wait_ms));
  }
  struct qcc_queue_counters qc;
  qcc_queue_counters(c->queue, &qc);
  json_object_set_new(o, "depth", json_integer((json_int_t)qc.queued));
  json_object_set_new(o, "retrying", json_integer((json_int_t)qc.retrying));
  json_object_set_new(
      o, "counters",
      json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "enqueued", (json_int_t)qc.enqueued, "rejected",
                (json_int_t)qc.rejected, "expired", (json_int_t)qc.expired, "succeeded",
                (json_int_t)qc.succeeded, "removed", (json_int_t)qc.removed, "retries",
                (json_int_t)qc.retries, "woken", (json_int_t)qc.woken));
  enum { MAX_LIST = 1000 };
  struct qcc_queue_info *info = calloc(MAX_LIST, sizeof *info);
  json_t *arr = json_array();
  size_t n = info != NULL ? qcc_queue_list(c->queue, info, MAX_LIST) : 0;
  for (size_t i = 0; arr != NULL && i < n; i++) {
    const struct qcc_queue_info *q = &info[i];
    char id[QCC_DL_ID_MAX];
    snprintf(id, sizeof id, "%llx", (unsigned long long)q->id);
    json_array_append_new(
        arr, json_pack("{s:s,s:i,s:i,s:s,s:I,s:o,s:o}", "id", id, "priority", (int)q->priority,
                       "retries", (int)q->retries, "state", qcc_queue_state_name(q->state),
                       "waiting_ms", (json_int_t)(now > q->enqueued_at ? now - q->enqueued_at : 0),
                       "next_retry_in_ms",
                       q->state == QCC_QUEUE_WAITING && q->next_retry_at != UINT64_MAX
                           ? json_integer(q->next_retry_at > now
                                              ? (json_int_t)(q->next_retry_at - now)
                                              : 0)
                           : json_null(),
                       "deadline_in_ms",
                       q->deadline == UINT64_MAX
                           ? json_null()
                           : json_integer(q->deadline > now ? (json_int_t)(q->deadline - now)
                                                            : 0)));
  }
  free(info);
  json_object_set_new(o, "entries", arr != NULL ? arr : json_array());
  json_object_set_new(o, "dead_letters", deadletters_summary(c));
  qcc_admin_reply_json(req, 200, o);
}

static json_t *deadletter_json(const struct qcc_deadletter *d) {
  json_t *tried = json_array();
  for (size_t i = 0; tried != NULL && i < d->tried_count; i++)
    json_array_append_new(tried, json_pack("{s:o,s:i,s:o}", "endpoint",
                                           api_jstr(d->tried[i].endpoint), "status",
                                           (int)d->tried[i].status, "reason",
                                           api_str_or_null(d->tried[i].reason)));
  json_t *replay =
      d->replay_status != 0
          ? json_pack("{s:i,s:o,s:I,s:b}", "status", d->replay_status, "time",
                      api_iso_wall(d->replay_time_ms), "bytes", (json_int_t)d->replay_len,
                      "truncated", d->replay_truncated)
          : json_null();
  char hash[17];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)d->body_hash);
  return json_pack("{s:o,s:o,s:o,s:o,s:i,s:i,s:o,s:o,s:s,s:I,s:b,s:o}", "id", api_jstr(d->id),
                   "time", api_iso_wall(d->time_ms), "method", api_jstr(d->method), "target",
                   api_jstr(d->target),
                   "priority", (int)d->priority, "attempts", (int)d->attempts, "tried",
                   tried != NULL ? tried : json_array(), "reason", api_str_or_null(d->reason),
                   "body_hash", hash, "body_len", (json_int_t)d->body_len, "body_kept",
                   d->body_kept, "replay", replay);
}

void api_h_deadletters(struct qcc_admin_req *req, void *arg) {
  const struct qcc_admin_ctx *c = arg;
  if (c->deadletters == NULL) {
    qcc_admin_reply_error(req, 503, "queue not available (no dead-letter store)");
    return;
  }
  size_t n = qcc_deadletters_count(c->deadletters);
  const struct qcc_deadletter **dl = calloc(n ? n : 1, sizeof *dl);
  json_t *arr = json_array();
  if (dl == NULL || arr == NULL) {
    free(dl);
    json_decref(arr);
    api_reply_oom(req);
    return;
  }
  n = qcc_deadletters_list(c->deadletters, dl, n);
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, deadletter_json(dl[i]));
  free(dl);
  qcc_admin_reply_json(req, 200, json_pack("{s:I,s:o}", "count", (json_int_t)n, "dead_letters",
                                           arr));
}

struct replay_one {
  struct qcc_admin_req *req;
  char id[QCC_DL_ID_MAX];
};

static void replay_one_done(void *arg, int status, const char *detail) {
  struct replay_one *ro = arg;
  qcc_admin_reply_json(ro->req, 200,
                       json_pack("{s:s,s:i,s:b,s:o}", "id", ro->id, "status", status, "ok",
                                 status >= 200 && status < 300, "detail", api_str_or_null(detail)));
  free(ro);
}

static bool queue_ready(struct qcc_admin_req *req, const struct qcc_admin_ctx *c, bool replay) {
  if (c->deadletters == NULL || (c->queue == NULL && replay)) {
    qcc_admin_reply_error(req, 503, "queue not available");
    return false;
  }
  if (replay && c->replay == NULL) {
    qcc_admin_reply_error(req, 503, "queue not available (replay is not wired)");
    return false;
  }
  return true;
}

void api_h_retry(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  if (!queue_ready(req, c, true)) return;
  const char *id = qcc_admin_req_param(req, 0);
  if (qcc_deadletters_get(c->deadletters, id) == NULL) {
    qcc_admin_reply_error(req, 404, "no dead letter with id \"%s\" (`qccc queue list` shows them)",
                          id);
    return;
  }
  char reason[128];
  if (!api_body_reason(req, reason, sizeof reason)) return;
  struct replay_one *ro = calloc(1, sizeof *ro);
  if (ro == NULL) {
    api_reply_oom(req);
    return;
  }
  ro->req = req;
  snprintf(ro->id, sizeof ro->id, "%s", id);
  api_journal_action(c, "retry", ro->id, reason);
  if (c->replay(c, ro->id, replay_one_done, ro) != 0) {
    free(ro);
    qcc_admin_reply_error(req, 503, "could not start the replay of %s", id);
  }
}

/* retry-all replays one at a time: gentle on upstreams that just failed. */
struct replay_all {
  struct qcc_admin_req *req;
  struct qcc_admin_ctx *ctx;
  size_t count, next, ok, failed;
  bool in_start; /* a synchronous done() must not recurse */
  bool again;
  json_t *results;
  char (*ids)[QCC_DL_ID_MAX];
};

static void replay_all_next(struct replay_all *ra);

static void replay_all_done(void *arg, int status, const char *detail) {
  struct replay_all *ra = arg;
  const char *id = ra->ids[ra->next - 1];
  if (status >= 200 && status < 300) ra->ok++;
  else ra->failed++;
  json_array_append_new(ra->results, json_pack("{s:s,s:i,s:o}", "id", id, "status", status,
                                               "detail", api_str_or_null(detail)));
  if (ra->in_start) ra->again = true;
  else replay_all_next(ra);
}

static void replay_all_next(struct replay_all *ra) {
  for (;;) {
    if (ra->next == ra->count || qcc_admin_req_orphaned(ra->req)) {
      qcc_admin_reply_json(ra->req, 200,
                           json_pack("{s:i,s:i,s:i,s:o}", "retried", (int)(ra->ok + ra->failed),
                                     "succeeded", (int)ra->ok, "failed", (int)ra->failed,
                                     "results", ra->results));
      free(ra->ids);
      free(ra);
      return;
    }
    const char *id = ra->ids[ra->next++];
    ra->in_start = true;
    ra->again = false;
    int rc = ra->ctx->replay(ra->ctx, id, replay_all_done, ra);
    ra->in_start = false;
    if (rc != 0) {
      ra->failed++;
      json_array_append_new(ra->results, json_pack("{s:s,s:i,s:s}", "id", id, "status", 0,
                                                   "detail", "could not start the replay"));
      continue;
    }
    if (!ra->again) return; /* done() comes later and continues */
  }
}

void api_h_retry_all(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  if (!queue_ready(req, c, true)) return;
  struct replay_all *ra = calloc(1, sizeof *ra);
  size_t n = qcc_deadletters_count(c->deadletters);
  const struct qcc_deadletter **dl = calloc(n ? n : 1, sizeof *dl);
  json_t *results = json_array();
  if (ra != NULL) ra->ids = calloc(n ? n : 1, sizeof *ra->ids);
  if (ra == NULL || ra->ids == NULL || dl == NULL || results == NULL) {
    if (ra != NULL) free(ra->ids);
    free(ra);
    free(dl);
    json_decref(results);
    api_reply_oom(req);
    return;
  }
  /* Copy the ids: replays change the store and so invalidate its pointers. */
  n = qcc_deadletters_list(c->deadletters, dl, n);
  for (size_t i = 0; i < n; i++) snprintf(ra->ids[i], QCC_DL_ID_MAX, "%s", dl[i]->id);
  free(dl);
  ra->req = req;
  ra->ctx = c;
  ra->count = n;
  ra->results = results;
  replay_all_next(ra);
}

void api_h_clear(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  if (!queue_ready(req, c, false)) return;
  size_t n = qcc_deadletters_count(c->deadletters);
  struct qcc_err err = {0};
  if (qcc_deadletters_clear(c->deadletters, &err) != 0) {
    qcc_admin_reply_error(req, 500, "%s", err.msg);
    return;
  }
  if (c->journal != NULL) {
    struct qcc_jrec r = {.type = QCC_JT_QUEUE_CLEARED};
    r.u.queue_cleared = (struct qcc_jrec_queue_cleared){.request_id = 0, .reason = "clear"};
    c->journal(c->journal_arg, &r);
  }
  qcc_admin_reply_json(req, 200, json_pack("{s:i}", "cleared", (int)n));
}

/* One dead letter forgotten (the status page's "drop"); journaled like clear,
 * with its id and the body's reason. */
void api_h_drop(struct qcc_admin_req *req, void *arg) {
  struct qcc_admin_ctx *c = arg;
  if (!queue_ready(req, c, false)) return;
  const char *id = qcc_admin_req_param(req, 0);
  if (qcc_deadletters_get(c->deadletters, id) == NULL) {
    qcc_admin_reply_error(req, 404, "no dead letter with id \"%s\"", id);
    return;
  }
  char reason[128];
  if (!api_body_reason(req, reason, sizeof reason)) return;
  struct qcc_err err = {0};
  if (qcc_deadletters_remove(c->deadletters, id, &err) != 0) {
    qcc_admin_reply_error(req, 500, "%s", err.msg);
    return;
  }
  if (c->journal != NULL) {
    struct qcc_jrec r = {.type = QCC_JT_QUEUE_CLEARED};
    r.u.queue_cleared = (struct qcc_jrec_queue_cleared){
        .request_id = strtoull(id, NULL, 16), .reason = reason[0] != '\0' ? reason : "drop"};
    c->journal(c->journal_arg, &r);
  }
  qcc_admin_reply_json(req, 200, json_pack("{s:s,s:b}", "id", id, "dropped", 1));
}
