/* The usage of a /v1/messages exchange (docs/usage.md): its answer's bytes
 * pass through the capture (runtime/usagecap.h) on their way to the client,
 * and one record is made when the client exchange ends, from the attempt
 * that answered; retries and queue rounds are the same exchange, so nothing
 * is counted twice. count_tokens and other paths are not usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "budget.h"
#include "budgetgate.h"
#include "log.h"
#include "metrics.h"
#include "modelmap.h"
#include "proxy_internal.h"
#include "schema/pricing.h"
#include "usagelog.h"

#define SESSION_HEADER "x-claude-code-session-id"

static void copy_text(char *dst, size_t cap, const char *src, size_t len) {
  if (len >= cap) len = cap - 1;
  memmove(dst, src, len); /* may be in place */
  dst[len] = '\0';
  /* control bytes never reach a record (or a terminal showing it) */
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f) dst[i] = '?';
}

/* SRC (NUL-terminated, trusted: table strings) into DST, cut to fit. */
static void copy_str(char *dst, size_t cap, const char *src) {
  size_t n = src != NULL ? strnlen(src, cap - 1) : 0;
  memcpy(dst, src != NULL ? src : "", n);
  dst[n] = '\0';
}

void px_usage_start(struct qcc_exchange *x) {
  const struct qcc_request *r = x->req;
  struct qcc_proxy *p = x->p;
  if (p->hooks.usage == NULL && p->hooks.metrics == NULL && p->hooks.budget == NULL) return;
  if (r->method == NULL || strcmp(r->method, "POST") != 0) return;
  if (px_path_len(r->target) != 12 || memcmp(r->target, "/v1/messages", 12) != 0) return;
  struct px_usage *u = calloc(1, sizeof *u);
  if (u == NULL) return; /* not counted, still served */
  u->on = true;
  if (r->request_id != NULL) copy_text(u->request_id, sizeof u->request_id, r->request_id, strlen(r->request_id));
  if (r->client != NULL) copy_text(u->client, sizeof u->client, r->client, strlen(r->client));
  for (size_t i = 0; i < r->header_count; i++) {
    const struct qcc_header *h = &r->headers[i];
    if (h->name_len == sizeof SESSION_HEADER - 1 &&
        strncasecmp(h->name, SESSION_HEADER, h->name_len) == 0) {
      copy_text(u->session, sizeof u->session, h->value, h->value_len);
      break;
    }
  }
  const struct qcc_jsonscan_facts *f = px_facts(x);
  if (f->has_model) {
    long n = qcc_jsonscan_decode(r->body + f->model.off, f->model.len, u->model,
                                 sizeof u->model - 1);
    if (n > 0) copy_text(u->model, sizeof u->model, u->model, (size_t)n);
    else u->model[0] = '\0';
  }
  x->usage = u;
}

void px_usage_head(struct qcc_exchange *x, const struct attempt *a, bool sse, bool json) {
  struct px_usage *u = x->usage;
  if (u == NULL) return;
  u->answered = true;
  qcc_usagecap_begin(&u->cap, sse ? QCC_USAGECAP_SSE : json ? QCC_USAGECAP_JSON : QCC_USAGECAP_OFF);
  const struct qcc_table *t = x->req->gen->table;
  const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(t, a->endpoint);
  copy_str(u->endpoint, sizeof u->endpoint, a->endpoint_id);
  u->endpoint_idx = a->endpoint;
  memcpy(u->upstream_model, u->model, sizeof u->model);
  if (ep == NULL) return;
  u->endpoint_sid = ep->stable_id;
  const struct qcc_tbl_profile *pr = qcc_table_profile(t, ep->profile_index);
  if (pr != NULL) copy_str(u->profile, sizeof u->profile, qcc_table_str(t, pr->name));
  size_t to_len = 0;
  const char *to = ep->model_map_count == 0 ? NULL
                   : qcc_modelmap_lookup(t, ep, u->model, strlen(u->model), &to_len);
  if (to != NULL) copy_text(u->upstream_model, sizeof u->upstream_model, to, to_len);
}

int px_body(struct qcc_exchange *x, const char *p, size_t len) {
  if (x->usage != NULL) qcc_usagecap_feed(&x->usage->cap, p, len);
  return x->ops->body(x->ctx, p, len);
}

/* The cost of a request: the live table's price for the model sent upstream
 * (docs/usage.md, "Pricing") times the endpoint's price_multiplier, exact
 * in pico-USD. The table is the exchange's generation, the one it was
 * routed with. */
static void usage_cost(const struct qcc_exchange *x, const struct px_usage *u,
                       const struct qcc_usage_tokens *t, struct qcc_cost *out) {
  const struct qcc_table *tb = x->req->gen->table;
  const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(tb, u->endpoint_idx);
  const struct qcc_tbl_price *price =
      qcc_table_price_count(tb) > 0 ? qcc_pricing_lookup(tb, u->upstream_model) : NULL;
  qcc_pricing_cost(price, t, ep != NULL ? qcc_pricing_multiplier(ep) : QCC_MULTIPLIER_ONE, out);
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void px_usage_end(struct qcc_exchange *x, bool partial) {
  struct px_usage *u = x->usage;
  if (u == NULL || u->recorded || !u->answered) return;
  u->recorded = true;
  struct qcc_usage_tokens t;
  bool seen = qcc_usagecap_result(&u->cap, &t);
  /* an error answer without usage used nothing (the API does not bill it):
   * zeros, not "unknown" */
  if (!seen && x->res.status >= 400) t = (struct qcc_usage_tokens){0, 0, 0, 0, 0};
  u->tokens = t;
  x->res.model = u->upstream_model[0] != '\0' ? u->upstream_model : NULL;
  x->res.tokens = &u->tokens;
  struct qcc_cost c;
  usage_cost(x, u, &t, &c);
  /* the record's i64: a saturated (absurd) cost stays a number, never "no price" */
  int64_t cost = c.coverage == QCC_COST_UNPRICED ? QCC_USAGE_NO_PRICE
                 : c.pico_usd > (uint64_t)INT64_MAX ? INT64_MAX
                                                    : (int64_t)c.pico_usd;
  uint64_t priced = cost != QCC_USAGE_NO_PRICE ? (uint64_t)cost : 0;
  u->cost = cost;
  x->res.cost_pico = &u->cost;
  struct qcc_proxy *p = x->p;
  if (p->hooks.metrics != NULL) {
    qcc_metrics_tokens(p->hooks.metrics, u->endpoint, u->upstream_model, &t);
    if (cost != QCC_USAGE_NO_PRICE)
      qcc_metrics_cost(p->hooks.metrics, u->endpoint, u->upstream_model, priced);
  }
  uint32_t client = x->req->client_slot > 0 ? x->req->client_slot - 1 : QCC_BUDGET_NONE;
  if (p->hooks.usage == NULL) {
    if (p->hooks.budget != NULL) qcc_budgetgate_add(p->hooks.budget, u->endpoint_sid, client, &t, priced);
    return;
  }
  int status = x->res.status;
  struct qcc_usage_rec r = {
      .type = QCC_USAGE_REC_REQUEST,
      .flags = (uint16_t)((u->cap.kind == QCC_USAGECAP_SSE ? QCC_USAGE_FLAG_STREAM : 0) |
                          (partial ? QCC_USAGE_FLAG_PARTIAL : 0)),
      .time_ms = wall_ms(),
      .endpoint_sid = u->endpoint_sid,
      .cost = cost,
      .requests = 1,
      .unknown = qcc_usage_tokens_unknown(&t) ? 1 : 0,
      .partial = partial ? 1 : 0,
      .no_price = c.coverage == QCC_COST_UNPRICED ? 1 : 0,
      .partly_priced = c.coverage == QCC_COST_PARTLY ? 1 : 0,
      .unpriced_tokens = c.unpriced_tokens > (uint64_t)INT64_MAX ? INT64_MAX
                                                                 : (int64_t)c.unpriced_tokens,
      .errors = status >= 400 ? 1 : 0,
      .attempts = x->total_attempts,
      .status = (uint16_t)(status > 0 && status < 1000 ? status : 0),
      .request_id = u->request_id,
      .endpoint = u->endpoint,
      .profile = u->profile,
      .model = u->model,
      .upstream_model = u->upstream_model,
      .client = u->client,
      .session = u->session,
  };
  qcc_usage_rec_set_tokens(&r, &t);
  struct qcc_err err = {0};
  int rc = qcc_usagelog_append(p->hooks.usage, &r, &err);
  if (rc < 0) qcc_log_warn("usage not recorded for request %s: %s", u->request_id, err.msg);
  /* a replay under a recorded id is not counted twice, in budgets either */
  if (rc != 1 && p->hooks.budget != NULL)
    qcc_budgetgate_add(p->hooks.budget, u->endpoint_sid, client, &t, priced);
}

void px_result_tried(struct qcc_exchange *x) {
  if (x->hist_n == 0 || x->tries != NULL) return;
  x->tries = calloc(x->hist_n, sizeof *x->tries);
  if (x->tries == NULL) return;
  for (size_t i = 0; i < x->hist_n; i++)
    x->tries[i] = (struct qcc_exchange_try){x->hist[i].ep, x->hist[i].status, x->hist[i].reason};
  x->res.tried = x->tries;
  x->res.tried_count = x->hist_n;
}
