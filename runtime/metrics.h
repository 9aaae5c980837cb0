/* Metrics: what qcc-run counts about its traffic, and the Prometheus text
 * exposition format (version 0.0.4) it is shown in (GET /metrics on the
 * admin socket, docs/admin-api.md).
 *
 * Two nouns:
 *   - struct qcc_metrics: counters and histograms the runtime feeds as
 *     requests end (requests by endpoint and status, latency and TTFB,
 *     retries, failovers, breaker transitions, table reloads). Fixed caps:
 *     at most QCC_METRICS_MAX_ENDPOINTS endpoint series and
 *     QCC_METRICS_MAX_STATUS status codes per endpoint; beyond them samples
 *     are folded into endpoint="_other" / status="other", so memory never
 *     grows with traffic.
 *   - struct qcc_prom: a bounded text builder that writes families in the
 *     exposition format (HELP and TYPE first, samples of a family together,
 *     label values escaped). Gauges read at scrape time (breaker state,
 *     health score, queue depth, ...) are written by the caller with it.
 * Single-threaded: everything runs on the loop thread. */
#ifndef QCC_RUNTIME_METRICS_H
#define QCC_RUNTIME_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/error.h"

struct qcc_route_event;

#define QCC_METRICS_MAX_ENDPOINTS 128
#define QCC_METRICS_MAX_MODELS 8 /* token series per endpoint before "other" */
#define QCC_METRICS_MAX_STATUS 16
#define QCC_METRICS_ID_MAX 64 /* longer endpoint ids are cut */
#define QCC_METRICS_OTHER "_other"
#define QCC_METRICS_NONE "_none" /* request answered before an endpoint was chosen */

/* Histogram upper bounds in seconds (le), +Inf implied. */
#define QCC_METRICS_BUCKETS 15

/* ---- text builder -------------------------------------------------------- */

enum qcc_prom_type { QCC_PROM_COUNTER = 0, QCC_PROM_GAUGE, QCC_PROM_HISTOGRAM };

struct qcc_prom_label {
  const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]* */
  const char *value; /* any UTF-8; escaped on output */
};

struct qcc_prom;

/* CAP bounds the text (0 = 4 MiB). */
int qcc_prom_new(size_t cap, struct qcc_prom **out, struct qcc_err *err);
void qcc_prom_free(struct qcc_prom **w);
/* "# HELP NAME HELP" and "# TYPE NAME TYPE". Call once per family, before
 * its samples. */
void qcc_prom_family(struct qcc_prom *w, const char *name, enum qcc_prom_type type,
                     const char *help);
/* "NAME{l1="v1",...} VALUE". NAME includes any _bucket/_sum/_count suffix. */
void qcc_prom_sample(struct qcc_prom *w, const char *name, const struct qcc_prom_label *labels,
                     size_t n, double value);
/* The text so far; true in *truncated when CAP was reached (the text then
 * ends at the last whole line). */
const char *qcc_prom_text(const struct qcc_prom *w, size_t *len, bool *truncated);

/* ---- recorded metrics ---------------------------------------------------- */

struct qcc_metrics;

int qcc_metrics_new(struct qcc_metrics **out, struct qcc_err *err);
void qcc_metrics_free(struct qcc_metrics **m);

/* A request ended with STATUS (sent to the client). ENDPOINT is the last
 * endpoint tried, NULL when none was chosen. TTFB < 0 when no upstream byte
 * arrived. FAILED: the exchange failed (also mid-stream). */
void qcc_metrics_request(struct qcc_metrics *m, const char *endpoint, int status, double total_ms,
                         double ttfb_ms, bool failed);
/* Tokens one /v1/messages answer used (runtime/proxy_usage.c): feeds
 * qcc_tokens_total{endpoint,model,kind}. Unknown kinds add nothing. Models
 * past QCC_METRICS_MAX_MODELS per endpoint fold into "other". */
struct qcc_usage_tokens;
void qcc_metrics_tokens(struct qcc_metrics *m, const char *endpoint, const char *model,
                        const struct qcc_usage_tokens *t);
/* The priced cost of one answer (pico-USD, schema/pricing.h): feeds
 * qcc_cost_usd_total{endpoint,model}; same model slots as the tokens. */
void qcc_metrics_cost(struct qcc_metrics *m, const char *endpoint, const char *model,
                      uint64_t pico_usd);
/* One attempt on ENDPOINT failed and the request moved on to another. */
void qcc_metrics_retry(struct qcc_metrics *m, const char *endpoint);
/* Feed every router event (from the lead's qcc_router_on_event callback):
 * switches count as failovers, breaker events as breaker transitions. */
void qcc_metrics_route_event(struct qcc_metrics *m, const struct qcc_route_event *ev);
/* The listener refused a connection (over proxy.max_connections). */
void qcc_metrics_connection_refused(struct qcc_metrics *m);
/* A table load at WALL_MS (unix ms): OK with GENERATION, or rejected with
 * ERROR (short, no secrets). */
void qcc_metrics_reload(struct qcc_metrics *m, bool ok, uint64_t generation, int64_t wall_ms,
                        const char *error);

struct qcc_metrics_totals {
  uint64_t requests;         /* all requests that ended */
  uint64_t failed;           /* of which failed */
  uint64_t retries;
  uint64_t failovers;        /* router switches between profiles */
  uint64_t connections_refused; /* over proxy.max_connections */
  uint64_t breaker_opens;
  uint64_t reloads_ok, reloads_failed;
  bool last_reload_ok;       /* false also when there was none */
  bool any_reload;
  int64_t last_reload_ms;    /* unix ms, 0 = none */
  uint64_t last_reload_generation;
  char last_reload_error[256];
};
void qcc_metrics_totals(const struct qcc_metrics *m, struct qcc_metrics_totals *out);

/* One endpoint's counters for the status page: requests that ended there,
 * failed ones, and first-byte quantiles read from the histogram (the upper
 * bound of the bucket holding the quantile, -1 with no sample). False when
 * the endpoint has had no request. */
struct qcc_metrics_endpoint {
  uint64_t requests, failed;
  double ttfb_p50_ms, ttfb_p99_ms;
};
bool qcc_metrics_endpoint(const struct qcc_metrics *m, const char *id,
                          struct qcc_metrics_endpoint *out);

/* Write every recorded family (qcc_requests_total, qcc_request_duration_seconds,
 * qcc_upstream_ttfb_seconds, qcc_retries_total, qcc_failovers_total,
 * qcc_breaker_transitions_total, qcc_connections_refused_total, qcc_table_reloads_total,
 * qcc_table_last_reload_success, qcc_table_last_reload_timestamp_seconds). */
void qcc_metrics_render(const struct qcc_metrics *m, struct qcc_prom *w);

/* The bucket bounds, seconds, for tests and docs. */
const double *qcc_metrics_buckets(size_t *n);

#endif
