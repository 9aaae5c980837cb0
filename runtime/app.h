/* qcc-run's process state, shared by main.c (start-up, signals, table
 * swaps, the admin socket's callbacks) and appusage.c (the usage records'
 * readers: budgets and the status page's sums). Private to qcc-run. */
#ifndef QCC_RUNTIME_APP_H
#define QCC_RUNTIME_APP_H

#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "adminapi.h"
#include "runtime.h"
#include "schema/usage.h"

struct qcc_admin;
struct qcc_statuspage;
struct qcc_usagesum;
struct qcc_admin_route;
struct qcc_usagelog;
struct qcc_budgetgate;
struct qcc_alerts;
struct qcc_warmer;
struct qcc_tlsserver;

struct app {
  struct qcc_runtime rt;
  struct qcc_admin_ctx admin_ctx;
  struct qcc_admin *metrics_port; /* --metrics-listen, or NULL */
  struct qcc_statuspage *page;    /* /qcc/ on the listener and the admin socket */
  struct qcc_usagesum *usagesum;  /* the page's usage sums, fed by usage */
  char usage_zone[256];           /* TZ the sums' days were made in ("=VALUE", "" unset) */
  int64_t usage_seed_ms;          /* the wall clock of the scan seeding the sums */
  struct qcc_admin_route *admin_routes; /* the admin API's and the page's */
  struct qcc_usagelog *usage;     /* STATE_DIR/usage.qu */
  struct qcc_budgetgate *budget;  /* budgets, fed by the usage records */
  double time_scale;
  uint64_t first_id;
  bool loopback;
  bool drained;
  const char *stop_reason;
  ev_signal sighup, sigterm, sigint, sigusr1;
  struct qcc_alerts *alerts;      /* health.alert_enabled, alerts.* */
  struct qcc_warmer *warmer;      /* warm upstream connections (warmer.h) */
  struct qcc_tlsserver *tls;      /* the listener's TLS (proxy.ssl_enabled), or NULL */
  struct qcc_tlsserver *tls_next; /* built by the check of a table about to go live */
};

/* The usage file's readers (usagelog.h consumers, ARG the app): the
 * budgets want this period's records when a load asked for a seed; the
 * page's sums want every scan and every new record. */
int64_t app_budget_begin(void *arg);
void app_budget_seen(void *arg, const struct qcc_usage_rec *r);
void app_budget_end(void *arg);
int64_t app_usagesum_begin(void *arg);
void app_usagesum_seen(void *arg, const struct qcc_usage_rec *r);
void app_usage_observed(void *arg, const struct qcc_usage_rec *r);
/* One pass over the usage file for every reader that wants one; WHY is logged. */
void app_usage_rescan(struct app *a, const char *why);
/* GET /qcc/api/usage (statuspage.h's usage callback, ARG the app). */
void app_usage_fill(void *arg, json_t *doc);

#endif
