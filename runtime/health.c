#include "health.h"

#include <stdio.h>
#include <string.h>

#define LAT_ALPHA 0.2
#define FAIL_ALPHA 0.1
/* The baseline follows improvements quickly and degradations slowly, so a
 * slow period does not become the new normal before it is noticed. */
#define BASE_DOWN 0.3
#define BASE_UP 0.01
/* Samples before the baseline is trusted for the "factor x baseline" rule. */
#define BASE_MIN_SAMPLES 8

void qcc_health_params_default(struct qcc_health_params *p) {
  *p = (struct qcc_health_params){.rise = 2, .fall = 3, .slow_ms = 10000, .slow_factor = 4,
                                  .slow_floor_ms = 500, .flaky_pct = 20};
}

void qcc_health_init(struct qcc_health *h, uint64_t now) {
  *h = (struct qcc_health){0};
  h->status = QCC_HEALTH_HEALTHY;
  h->status_since = now;
}

static void set_status(struct qcc_health *h, enum qcc_health_status s, uint64_t now) {
  if (h->status != s) {
    h->status = s;
    h->status_since = now;
  }
}

static void set_error(struct qcc_health *h, const char *error) {
  snprintf(h->last_error, sizeof h->last_error, "%s", error ? error : "failed");
}

bool qcc_health_is_slow(const struct qcc_health *h, const struct qcc_health_params *p) {
  if (h->latency_count == 0) return false;
  if (p->slow_ms && h->ewma_ms > p->slow_ms) return true;
  if (h->latency_count < BASE_MIN_SAMPLES || p->slow_factor == 0) return false;
  return h->ewma_ms > p->slow_floor_ms && h->ewma_ms > h->baseline_ms * p->slow_factor;
}

static void add_latency(struct qcc_health *h, uint32_t ms) {
  double x = ms;
  if (h->latency_count == 0) {
    h->ewma_ms = x;
    h->baseline_ms = x;
  } else {
    h->ewma_ms += LAT_ALPHA * (x - h->ewma_ms);
    double a = x < h->baseline_ms ? BASE_DOWN : BASE_UP;
    h->baseline_ms += a * (x - h->baseline_ms);
  }
  h->latency_sum_ms += x;
  h->latency_count++;
}

enum qcc_health_status qcc_health_success(struct qcc_health *h, const struct qcc_health_params *p,
                                          uint32_t latency_ms, uint64_t now) {
  enum qcc_health_status before = h->status;
  h->total_requests++;
  h->last_success = now;
  h->consecutive_failures = 0;
  if (h->consecutive_successes < UINT32_MAX) h->consecutive_successes++;
  h->fail_ewma *= 1.0 - FAIL_ALPHA;
  add_latency(h, latency_ms);
  bool weak = qcc_health_is_slow(h, p) || h->fail_ewma * 100.0 > p->flaky_pct;
  if (weak) {
    h->consecutive_ok = 0;
    h->consecutive_weak++;
  } else {
    h->consecutive_ok++;
    h->consecutive_weak = 0;
  }
  if (h->status == QCC_HEALTH_UNHEALTHY) {
    /* Any success counts towards leaving unhealthy; where it lands depends
     * on whether it is still slow or flaky. */
    if (h->consecutive_successes >= p->rise) set_status(h, weak ? QCC_HEALTH_DEGRADED : QCC_HEALTH_HEALTHY, now);
  } else if (h->status == QCC_HEALTH_DEGRADED) {
    if (h->consecutive_ok >= p->rise) set_status(h, QCC_HEALTH_HEALTHY, now);
  } else if (h->consecutive_weak >= p->fall) {
    set_status(h, QCC_HEALTH_DEGRADED, now);
  }
  return before;
}

enum qcc_health_status qcc_health_failure(struct qcc_health *h, const struct qcc_health_params *p,
                                          const char *error, uint64_t now) {
  enum qcc_health_status before = h->status;
  h->total_requests++;
  h->failed_requests++;
  h->last_failure = now;
  if (h->consecutive_failures < UINT32_MAX) h->consecutive_failures++;
  h->consecutive_successes = 0;
  h->consecutive_ok = 0;
  if (h->consecutive_weak < UINT32_MAX) h->consecutive_weak++;
  h->fail_ewma += FAIL_ALPHA * (1.0 - h->fail_ewma);
  set_error(h, error);
  if (h->consecutive_failures >= p->fall) {
    set_status(h, QCC_HEALTH_UNHEALTHY, now);
  } else if (h->status == QCC_HEALTH_HEALTHY && h->consecutive_weak >= p->fall) {
    set_status(h, QCC_HEALTH_DEGRADED, now);
  }
  return before;
}

enum qcc_health_status qcc_health_check_failure(struct qcc_health *h,
                                                const struct qcc_health_params *p,
                                                const char *error, uint64_t now) {
  enum qcc_health_status before = qcc_health_failure(h, p, error, now);
  set_status(h, QCC_HEALTH_UNHEALTHY, now);
  return before;
}

enum qcc_health_status qcc_health_check_pass(struct qcc_health *h,
                                             const struct qcc_health_params *p,
                                             uint32_t latency_ms, bool lift, uint64_t now) {
  enum qcc_health_status before = qcc_health_success(h, p, latency_ms, now);
  /* Out of unhealthy only after `rise` passes in a row (an upstream that
   * flaps faster than that never comes back), unless LIFT. */
  if (h->status == QCC_HEALTH_UNHEALTHY && !lift) return before;
  /* The check is the evidence: failures before it no longer make the next
   * successes look flaky (last_error and last_failure stay, for display). */
  h->fail_ewma = 0;
  h->consecutive_failures = 0;
  h->consecutive_weak = 0;
  set_status(h, qcc_health_is_slow(h, p) ? QCC_HEALTH_DEGRADED : QCC_HEALTH_HEALTHY, now);
  return before;
}

enum qcc_health_status qcc_health_lift(struct qcc_health *h, uint64_t now) {
  enum qcc_health_status before = h->status;
  h->consecutive_failures = 0;
  h->consecutive_weak = 0;
  /* degraded, not healthy: rise real successes still decide "healthy" */
  if (h->status == QCC_HEALTH_UNHEALTHY) set_status(h, QCC_HEALTH_DEGRADED, now);
  return before;
}

void qcc_health_count(struct qcc_health *h, bool failed, const char *error, uint64_t now) {
  h->total_requests++;
  if (failed) {
    h->failed_requests++;
    h->last_failure = now;
    set_error(h, error);
  }
}

unsigned qcc_health_score(const struct qcc_health *h, const struct qcc_health_params *p) {
  double ok = 70.0 * (1.0 - h->fail_ewma);
  double lat = 30.0;
  if (h->latency_count > 0 && p->slow_ms > 0) {
    /* Full marks up to a tenth of the slow threshold, none at twice it. */
    double lo = p->slow_ms / 10.0, hi = 2.0 * p->slow_ms;
    if (h->ewma_ms >= hi) lat = 0;
    else if (h->ewma_ms > lo) lat = 30.0 * (hi - h->ewma_ms) / (hi - lo);
  }
  double s = ok + lat;
  if (h->status == QCC_HEALTH_UNHEALTHY && s > 20) s = 20;
  if (h->status == QCC_HEALTH_DEGRADED && s > 70) s = 70;
  if (s < 0) s = 0;
  return (unsigned)(s + 0.5);
}

double qcc_health_success_rate(const struct qcc_health *h) {
  if (h->total_requests == 0) return 100.0;
  return 100.0 * (double)(h->total_requests - h->failed_requests) / (double)h->total_requests;
}

double qcc_health_avg_ms(const struct qcc_health *h) {
  return h->latency_count ? h->latency_sum_ms / (double)h->latency_count : 0.0;
}

const char *qcc_health_status_name(enum qcc_health_status s) {
#define QCC_HEALTH_NAME_(c, n) [c] = n,
  static const char *const names[] = {QCC_HEALTH_STATUS_LIST(QCC_HEALTH_NAME_)};
#undef QCC_HEALTH_NAME_
  return (unsigned)s < QCC_HEALTH_STATUS_COUNT ? names[s] : "?";
}
