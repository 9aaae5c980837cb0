/* Usage sums for the status page (docs/status-page.md, GET /qcc/api/usage):
 * tokens, cost and requests per endpoint x model, hourly for the last 48
 * hours and daily for the last 30 days, kept in memory.
 *
 * Seeded at start by the usage log's one pass over its file (request
 * records and hourly rollups, schema/usage.h; the same pass seeds the
 * budgets), then fed every record qcc-run appends (a usagelog.h consumer
 * wired in runtime/main.c), so the page never reads the file per request.
 *
 * Buckets are rings keyed by their absolute hour / day: a bucket whose key
 * is not the one asked for is empty, so nothing has to run at a boundary.
 * Hours are UTC hours; days are calendar days of the process's local zone
 * (zone_day / zone_day_start in usagesum.c, the one place that knows it).
 * usage.timezone reaches it through TZ: runtime/budget.c points TZ at the
 * table's zone; when that changes, qcc_usagesum_clear and seed again.
 *
 * Memory is bounded: at most QCC_USAGESUM_MAX_MODELS models per endpoint
 * (the rest count under model "_other") and QCC_USAGESUM_MAX_SERIES pairs
 * (a pair with nothing in the window is reused; beyond that everything
 * counts under endpoint and model "_other"); a pair takes about 5.5 KiB,
 * allocated when it first appears. Every call takes the wall clock
 * NOW (unix ms): tests inject it. Loop thread only. */
#ifndef QCC_RUNTIME_USAGESUM_H
#define QCC_RUNTIME_USAGESUM_H

#include <stddef.h>
#include <stdint.h>

#include "schema/error.h"
#include "schema/usage.h"

struct json_t;
struct qcc_usagesum;

#define QCC_USAGESUM_HOURS 48
#define QCC_USAGESUM_DAYS 30
#define QCC_USAGESUM_MAX_SERIES 128 /* endpoint x model pairs, the "_other" one included */
#define QCC_USAGESUM_MAX_MODELS 8   /* per endpoint, then model "_other" */
#define QCC_USAGESUM_OTHER "_other"

enum qcc_usagesum_span { QCC_USAGESUM_HOURLY, QCC_USAGESUM_DAILY };

/* The usage record's cost unit per USD (schema/usage.h, field "cost"):
 * pico-USD. The test usage_sum/cost_unit_is_the_records checks it against
 * that field's documented unit. */
#define QCC_USAGESUM_COST_PER_USD 1e12

/* One bucket's sums. Token counts are the known ones (an unknown count adds
 * nothing); cost is the priced requests' cost, in the record's unit. */
struct qcc_usagesum_bucket {
  struct qcc_usage_tokens tokens;
  int64_t cost;
  uint32_t requests;
  uint32_t no_price; /* requests without a price: priced = requests - no_price */
};

int qcc_usagesum_new(struct qcc_usagesum **out, struct qcc_err *err);
void qcc_usagesum_free(struct qcc_usagesum **s);

/* Forget everything: the zone's days changed (usage.timezone on a reload):
 * seed again. */
void qcc_usagesum_clear(struct qcc_usagesum *s);

/* Count R (a request record or an hourly rollup) at R->time_ms, keyed by
 * R->endpoint and R->upstream_model (R->model when that is empty). Times
 * before the window are ignored; a time after NOW counts into NOW's bucket. */
void qcc_usagesum_add(struct qcc_usagesum *s, const struct qcc_usage_rec *r, int64_t now_ms);

/* Seed from a usage file image BUF[0..LEN) (as qcc_usage_map gives it): every
 * record in the window, as qcc_usagesum_add would count it. -1 with ERR when
 * the image is not a usage file; a damaged tail only ends the pass. */
int qcc_usagesum_seed(struct qcc_usagesum *s, const uint8_t *buf, size_t len, int64_t now_ms,
                      struct qcc_err *err);
/* The same from the file at PATH (a missing file seeds nothing). */
int qcc_usagesum_seed_file(struct qcc_usagesum *s, const char *path, int64_t now_ms,
                           struct qcc_err *err);

/* Bucket I of SPAN as of NOW (0 = the oldest, QCC_USAGESUM_HOURS - 1 or
 * QCC_USAGESUM_DAYS - 1 = the current one) summed over the pairs matching
 * ENDPOINT and MODEL (NULL = any). */
void qcc_usagesum_bucket(const struct qcc_usagesum *s, enum qcc_usagesum_span span,
                         const char *endpoint, const char *model, unsigned i, int64_t now_ms,
                         struct qcc_usagesum_bucket *out);
/* The start (unix ms) of bucket 0 of SPAN as of NOW. */
int64_t qcc_usagesum_start_ms(enum qcc_usagesum_span span, int64_t now_ms);
/* Pairs in use. */
size_t qcc_usagesum_series_count(const struct qcc_usagesum *s);

/* Fill the status page's usage document DOC (the empty one statuspage.c
 * builds: docs/status-page.md): "available" true, "note" null, both spans'
 * "start" and "series", and today.endpoints (one entry per endpoint with
 * usage today, "budget_left" null: the caller sets it). 0, or -1 out of
 * memory. */
int qcc_usagesum_fill(const struct qcc_usagesum *s, struct json_t *doc, int64_t now_ms);

#endif
