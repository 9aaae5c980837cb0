/* Per-endpoint health model (the seed plan's): counters, EWMA latency, a
 * 0-100 score and a status with hysteresis. Real traffic (passive) and
 * active checks feed the same model. No I/O; time is a monotonic now_ms.
 *
 * Status rules (rise/fall like HAProxy):
 *   - `fall` consecutive failures          -> unhealthy
 *   - `fall` consecutive successes that are slow or come while the recent
 *     failure rate is high (intermittent)  -> degraded (from healthy)
 *   - `rise` consecutive good successes    -> healthy
 *   - `rise` consecutive successes while unhealthy -> degraded or healthy
 *   - an active check passes               -> healthy (degraded if slow);
 *     from unhealthy after `rise` passes, or at once when its breaker was open
 * The struct is public so the router can embed it; use the functions. */
#ifndef QCC_RUNTIME_HEALTH_H
#define QCC_RUNTIME_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#define QCC_HEALTH_STATUS_LIST(X) \
  X(QCC_HEALTH_HEALTHY, "healthy") \
  X(QCC_HEALTH_DEGRADED, "degraded") \
  X(QCC_HEALTH_UNHEALTHY, "unhealthy")

#define QCC_HEALTH_MEMBER_(c, s) c,
enum qcc_health_status { QCC_HEALTH_STATUS_LIST(QCC_HEALTH_MEMBER_) QCC_HEALTH_STATUS_COUNT };
#undef QCC_HEALTH_MEMBER_

struct qcc_health_params {
  uint32_t rise;          /* good results in a row to go up (default 2) */
  uint32_t fall;          /* bad results in a row to go down (default 3) */
  uint32_t slow_ms;       /* EWMA latency above this is slow (default 10000) */
  uint32_t slow_factor;   /* ... or above factor x own baseline (default 4) */
  uint32_t slow_floor_ms; /* never slow below this, however small the baseline (500) */
  uint32_t flaky_pct;     /* recent failure rate (EWMA, %) that makes degraded (20) */
};

void qcc_health_params_default(struct qcc_health_params *p);

#define QCC_HEALTH_ERROR_LEN 96

struct qcc_health {
  enum qcc_health_status status;
  uint64_t status_since;
  uint64_t last_check;     /* last active check result */
  uint64_t last_success;   /* any source */
  uint64_t last_failure;
  uint32_t consecutive_failures;
  uint32_t consecutive_successes;
  uint32_t consecutive_ok;    /* successes in a row that were "good" */
  uint32_t consecutive_weak;  /* results in a row that were slow/flaky or failed */
  uint64_t total_requests;    /* passive + active */
  uint64_t failed_requests;
  double ewma_ms;          /* latency EWMA (alpha 0.2) */
  double baseline_ms;      /* slow-moving "normal" latency of this endpoint */
  double fail_ewma;        /* recent failure rate 0..1 (alpha 0.1) */
  double latency_sum_ms;   /* for the plain average */
  uint64_t latency_count;
  char last_error[QCC_HEALTH_ERROR_LEN];
};

void qcc_health_init(struct qcc_health *h, uint64_t now);

/* Record a result. latency_ms is the time to first byte when known. ERROR is
 * a short text without secrets (may be NULL). Returns the status before. */
enum qcc_health_status qcc_health_success(struct qcc_health *h, const struct qcc_health_params *p,
                                          uint32_t latency_ms, uint64_t now);
enum qcc_health_status qcc_health_failure(struct qcc_health *h, const struct qcc_health_params *p,
                                          const char *error, uint64_t now);
/* An active check failed after its own retries (retry_count): that is
 * already the hysteresis, so the endpoint goes unhealthy at once. */
enum qcc_health_status qcc_health_check_failure(struct qcc_health *h,
                                                const struct qcc_health_params *p,
                                                const char *error, uint64_t now);
/* An active check passed: healthy at once (degraded when the endpoint is
 * slow), the recent failure rate cleared so the next real successes do not
 * read as flaky; last error and its time kept. An unhealthy endpoint needs
 * `rise` passes in a row first (no flapping back), unless LIFT (its breaker
 * was open: the check is what lets its group recover). Returns the status
 * before. */
enum qcc_health_status qcc_health_check_pass(struct qcc_health *h,
                                             const struct qcc_health_params *p,
                                             uint32_t latency_ms, bool lift, uint64_t now);
/* Out of unhealthy now, to degraded (streaks cleared, counters kept): an
 * operator says the endpoint is fixed, or an active check passed on an
 * endpoint whose breaker was open. `rise` real successes still decide
 * "healthy". Returns the status before. */
enum qcc_health_status qcc_health_lift(struct qcc_health *h, uint64_t now);
/* Count a request without judging the endpoint (e.g. 429): totals only. */
void qcc_health_count(struct qcc_health *h, bool failed, const char *error, uint64_t now);

/* 0-100: 70 points for the recent success rate, 30 for latency; unhealthy
 * caps it at 20 and degraded at 70, so the score never contradicts status. */
unsigned qcc_health_score(const struct qcc_health *h, const struct qcc_health_params *p);
/* Percent of requests that succeeded (100 when none yet). */
double qcc_health_success_rate(const struct qcc_health *h);
/* Plain average latency of successes, ms (0 when none). */
double qcc_health_avg_ms(const struct qcc_health *h);
/* Is the latency EWMA slow under P? */
bool qcc_health_is_slow(const struct qcc_health *h, const struct qcc_health_params *p);

const char *qcc_health_status_name(enum qcc_health_status s);

#endif
