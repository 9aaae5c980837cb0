#include "replay.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadletters.h"
#include "exchange.h"
#include "generation.h"
#include "log.h"
#include "proxy.h"
#include "tableset.h"

struct replay {
  struct qcc_deadletters *dl;
  void (*done)(void *arg, int status, const char *detail);
  void *arg;
  char id[QCC_DL_ID_MAX];
  char *method, *target;
  char *body;
  size_t body_len;
  struct qcc_header *headers;
  size_t header_count;
  struct qcc_request req;
  struct qcc_generation *gen;
  int status;
  char *resp;  /* first QCC_REPLAY_MAX_RESPONSE bytes of the answer */
  size_t resp_len;
};

static void replay_free(struct replay *r) {
  if (r == NULL) return;
  qcc_generation_unref(&r->gen);
  for (size_t i = 0; i < r->header_count; i++) {
    free((char *)r->headers[i].name);
    free((char *)r->headers[i].value);
  }
  free(r->headers);
  free(r->method);
  free(r->target);
  free(r->body);
  free(r->resp);
  free(r);
}

static void keep(struct replay *r, const char *data, size_t len) {
  size_t room = QCC_REPLAY_MAX_RESPONSE - r->resp_len;
  if (len > room) len = room;
  if (len == 0) return;
  memcpy(r->resp + r->resp_len, data, len);
  r->resp_len += len;
}

static void sink_head(void *ctx, int status, const struct qcc_header *h, size_t n, int64_t clen) {
  (void)h;
  (void)n;
  (void)clen;
  struct replay *r = ctx;
  r->status = status;
}

static int sink_body(void *ctx, const char *data, size_t len) {
  keep(ctx, data, len);
  return 0;
}

static void sink_done(void *ctx, const struct qcc_exchange_result *res) {
  struct replay *r = ctx;
  char detail[256];
  if (r->status == 0) {
    /* no head: our own error answer, as a client would have seen it */
    r->status = res->status != 0 ? res->status : 502;
    const char *m = res->error_message != NULL ? res->error_message : "upstream request failed";
    keep(r, m, strlen(m));
    snprintf(detail, sizeof detail, "%s", m);
  } else {
    snprintf(detail, sizeof detail, "HTTP %d from %s%s", r->status,
             res->endpoint_id != NULL ? res->endpoint_id : "?",
             res->failed ? " (stream broken)" : "");
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct qcc_err err = {0};
  if (qcc_deadletters_set_replay(r->dl, r->id, r->status, r->resp, r->resp_len,
                                 (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &err) != 0)
    qcc_log_error("dead letter %s: keeping the replay's answer: %s", r->id, err.msg);
  qcc_log_info("dead letter %s replayed: %s", r->id, detail);
  r->done(r->arg, r->status, detail);
  replay_free(r);
}

static const struct qcc_sink_ops replay_ops = {
    .head = sink_head, .body = sink_body, .done = sink_done};

static char *dup_or_empty(const char *s) { return strdup(s != NULL ? s : ""); }

int qcc_replay_start(struct qcc_proxy *p, struct qcc_tableset *tables, struct qcc_deadletters *dl,
                     const char *id, void (*done)(void *arg, int status, const char *detail),
                     void *arg, struct qcc_err *err) {
  const struct qcc_deadletter *d = qcc_deadletters_get(dl, id);
  if (d == NULL) return qcc_err_set(err, ENOENT, "no dead letter %s", id);
  struct replay *r = calloc(1, sizeof *r);
  if (r == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  r->dl = dl;
  r->done = done;
  r->arg = arg;
  snprintf(r->id, sizeof r->id, "%s", d->id);
  if (d->body_len > 0) {
    if (!d->body_kept) {
      replay_free(r);
      return qcc_err_set(err, ENODATA,
                         "dead letter %s has no stored body (queue.persistence_enabled is off)",
                         id);
    }
    if (qcc_deadletters_body(dl, id, &r->body, &r->body_len, err) != 0) {
      replay_free(r);
      return -1;
    }
    /* the store may have changed under that call: read the entry again */
    d = qcc_deadletters_get(dl, id);
    if (d == NULL) {
      replay_free(r);
      return qcc_err_set(err, ENOENT, "no dead letter %s", id);
    }
  }
  r->method = dup_or_empty(d->method);
  r->target = dup_or_empty(d->target);
  r->resp = malloc(QCC_REPLAY_MAX_RESPONSE);
  r->headers = calloc(d->header_count + 1, sizeof *r->headers);
  if (r->method == NULL || r->target == NULL || r->resp == NULL || r->headers == NULL) {
    replay_free(r);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < d->header_count; i++) {
    char *n = strdup(d->headers[i].name), *v = strdup(d->headers[i].value);
    r->headers[r->header_count++] =
        (struct qcc_header){.name = n, .name_len = n != NULL ? strlen(n) : 0, .value = v,
                            .value_len = v != NULL ? strlen(v) : 0};
    if (n == NULL || v == NULL) {
      replay_free(r);
      return qcc_err_set(err, ENOMEM, "out of memory");
    }
  }
  r->gen = qcc_generation_ref(qcc_tableset_current(tables));
  r->req = (struct qcc_request){.method = r->method, .target = r->target, .headers = r->headers,
                                .header_count = r->header_count, .body = r->body,
                                .body_len = r->body_len, .request_id = r->id, .gen = r->gen};
  if (qcc_exchange_start_direct(p, &r->req, &replay_ops, r) == NULL) {
    replay_free(r);
    return qcc_err_set(err, ENOMEM, "out of memory starting the replay");
  }
  return 0;
}
