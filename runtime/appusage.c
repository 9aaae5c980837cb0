/* The usage records' readers in qcc-run (runtime/app.h): the budgets
 * (budgetgate.h) and the status page's usage sums (usagesum.h), fed by one
 * pass over the usage file at open and on a rescan, then record by record;
 * and the page's usage document with each endpoint's budget left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "budget.h"
#include "budgetgate.h"
#include "generation.h"
#include "log.h"
#include "schema/journal.h"
#include "schema/table.h"
#include "tableset.h"
#include "usagelog.h"
#include "usagesum.h"

/* ---- the status page's usage panel (usagesum.h) ---- */

/* TZ as the sums' zone note: "=VALUE", "" when unset (unset != ""). */
static void zone_now(char *buf, size_t cap) {
  const char *tz = getenv("TZ");
  snprintf(buf, cap, "%s%s", tz != NULL ? "=" : "", tz != NULL ? tz : "");
}

/* The sums as a reader of the usage file (usagelog.h): every scan (the one
 * at open, a rescan) makes them again, in the zone of the moment. */
int64_t app_usagesum_begin(void *arg) {
  struct app *a = arg;
  qcc_usagesum_clear(a->usagesum);
  zone_now(a->usage_zone, sizeof a->usage_zone);
  a->usage_seed_ms = qcc_journal_now_ms();
  int64_t h = qcc_usagesum_start_ms(QCC_USAGESUM_HOURLY, a->usage_seed_ms);
  int64_t d = qcc_usagesum_start_ms(QCC_USAGESUM_DAILY, a->usage_seed_ms);
  return h < d ? h : d;
}

void app_usagesum_seen(void *arg, const struct qcc_usage_rec *r) {
  struct app *a = arg;
  qcc_usagesum_add(a->usagesum, r, a->usage_seed_ms);
}

/* The budgets as a reader: they want the records only when a load asked
 * for a seed (qcc_budgetgate_load returned 1). */
int64_t app_budget_begin(void *arg) { return qcc_budgetgate_seed_begin(((struct app *)arg)->budget); }
void app_budget_seen(void *arg, const struct qcc_usage_rec *r) {
  qcc_budgetgate_seed_record(((struct app *)arg)->budget, r);
}
void app_budget_end(void *arg) { qcc_budgetgate_seed_end(((struct app *)arg)->budget); }

/* One pass over the usage file for every reader that wants one. */
void app_usage_rescan(struct app *a, const char *why) {
  struct qcc_err err = {0};
  qcc_log_info("%s: usage sums made again from %s", why,
               qcc_usagelog_path(a->usage));
  if (qcc_usagelog_rescan(a->usage, &err) != 0) qcc_log_warn("usage sums: %s", err.msg);
}

/* The sums' days are those of TZ, which follows the table's usage.timezone
 * (runtime/budget.c points TZ at it on a load; the load that changes it
 * rescans, on_swap): when TZ changed since the sums were made, the days are
 * other days: make them again. 1 when it rescanned. */
static int zone_check(struct app *a) {
  char now[sizeof a->usage_zone];
  zone_now(now, sizeof now);
  if (strcmp(now, a->usage_zone) == 0) return 0;
  app_usage_rescan(a, "the zone changed");
  return 1;
}

void app_usage_observed(void *arg, const struct qcc_usage_rec *r) {
  struct app *a = arg;
  if (zone_check(a)) return; /* the rescan counted R: it is in the file */
  qcc_usagesum_add(a->usagesum, r, qcc_journal_now_ms());
}

/* The budget whose endpoint indexes are the current table's: the one the
 * usage records feed (runtime/budgetgate.h). */
static const struct qcc_budget *current_budget(struct app *a) {
  return a->budget != NULL ? qcc_budgetgate_budget(a->budget) : NULL;
}

/* today.endpoints[].budget_left of endpoint I of the current table: USD left
 * of its daily budget (of its monthly one when it has no daily one); null
 * without a budget. */
static json_t *budget_left(struct app *a, uint32_t i) {
  const struct qcc_budget *b = current_budget(a);
  if (b == NULL || i == UINT32_MAX) return json_null();
  int64_t now = qcc_journal_now_ms() / 1000;
  struct qcc_budget_left left;
  if (qcc_budget_endpoint_remaining(b, i, QCC_BUDGET_DAY, now, &left) == 0 && left.usd_capped)
    return json_real((double)left.usd_pico / 1e12);
  if (qcc_budget_endpoint_remaining(b, i, QCC_BUDGET_MONTH, now, &left) == 0 && left.usd_capped)
    return json_real((double)left.usd_pico / 1e12);
  return json_null();
}

/* GET /qcc/api/usage (docs/status-page.md): the sums, a row for every
 * endpoint of the table (zero when idle) so the page shows each one's today,
 * and each row's budget. */
void app_usage_fill(void *arg, json_t *doc) {
  struct app *a = arg;
  (void)zone_check(a);
  if (qcc_usagesum_fill(a->usagesum, doc, qcc_journal_now_ms()) != 0) return;
  json_t *list = json_object_get(json_object_get(doc, "today"), "endpoints");
  if (!json_is_array(list)) return;
  struct qcc_generation *g = qcc_tableset_current(a->rt.tables);
  const struct qcc_table *t = g != NULL ? g->table : NULL;
  uint32_t n = t != NULL ? qcc_table_endpoint_count(t) : 0;
  size_t k;
  json_t *e;
  for (uint32_t i = 0; i < n; i++) {
    const char *id = qcc_table_str(t, qcc_table_endpoint(t, i)->id);
    bool listed = false;
    json_array_foreach(list, k, e) {
      const char *had = json_string_value(json_object_get(e, "endpoint"));
      listed |= had != NULL && strcmp(had, id) == 0;
    }
    if (!listed)
      json_array_append_new(list, json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:f,s:i,s:i,s:n}",
                                            "endpoint", id, "tokens", 0, "input_tokens", 0,
                                            "output_tokens", 0, "cache_read_tokens", 0,
                                            "cache_write_tokens", 0, "cost", 0.0, "requests", 0,
                                            "unpriced_requests", 0, "budget_left"));
  }
  json_array_foreach(list, k, e) {
    const char *id = json_string_value(json_object_get(e, "endpoint"));
    uint32_t idx = UINT32_MAX; /* an endpoint no longer in the table: no budget */
    for (uint32_t i = 0; i < n && idx == UINT32_MAX && id != NULL; i++)
      if (strcmp(qcc_table_str(t, qcc_table_endpoint(t, i)->id), id) == 0) idx = i;
    json_object_set_new(e, "budget_left", budget_left(a, idx));
  }
}

