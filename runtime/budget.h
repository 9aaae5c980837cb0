/* Budgets: what each endpoint and each client token spent today and this
 * month, and whether its `budget:` (daily_usd, monthly_usd, daily_tokens) is
 * spent, until when (docs/usage.md, "Budgets").
 *
 * Pure and clock-driven like the router: no I/O, no timers; every call that
 * depends on time takes `now`, WALL-CLOCK unix seconds (budgets follow the
 * calendar, not a monotonic clock). Days and months are those of the table's
 * usage.timezone; their boundaries come from the tz database through
 * localtime_r/mktime, so DST days of 23 or 25 hours are right.
 *
 * Time zone choice: glibc has no per-call zone, so qcc_budget_reset() points
 * the process's TZ at usage.timezone ("local" restores the TZ qcc-run
 * started with) and calls tzset(); boundary computations re-point it only
 * when another budget with another zone was used last (tests). qcc-run
 * itself formats every time in UTC, so nothing else moves with it. Only
 * call from the loop thread.
 *
 * Indexes are those of the table passed to the last reset: endpoint i of
 * qcc_table_endpoint(), client j of qcc_table_token(). Costs are pico-USD
 * (schema/pricing.h), budgets in the table micro-USD.
 *
 * Periods only roll forward: a clock stepped back keeps counting into the
 * current day rather than forgetting it. */
#ifndef QCC_RUNTIME_BUDGET_H
#define QCC_RUNTIME_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "schema/error.h"

struct qcc_table;
struct qcc_budget;

#define QCC_BUDGET_NONE UINT32_MAX /* no endpoint / no client token */

enum qcc_budget_period { QCC_BUDGET_DAY, QCC_BUDGET_MONTH };

/* 0, or -1 with err (out of memory). Empty until the first reset. */
int qcc_budget_new(struct qcc_budget **out, struct qcc_err *err);
void qcc_budget_free(struct qcc_budget **b);

/* On every table load: limits and the time zone from T, periods from NOW.
 * Spending carries over for endpoints with the same stable id and clients
 * with the same token name (unnamed tokens: the same index); the rest start
 * at zero, and so does everything when usage.timezone changed (its days are
 * other days: seed again from the records). An unknown usage.timezone (schema/zone.h) fails with EINVAL and
 * leaves B as it was; out of memory likewise (ENOMEM). */
int qcc_budget_reset(struct qcc_budget *b, const struct qcc_table *t, int64_t now,
                     struct qcc_err *err);

/* One finished request: TOKENS of every kind (unknown counts left out) and
 * COST in pico-USD (priced part; unpriced tokens cost nothing here) to
 * endpoint I and client J (either QCC_BUDGET_NONE). Out-of-range indexes
 * are ignored. Counters saturate instead of wrapping. */
void qcc_budget_add(struct qcc_budget *b, uint32_t endpoint, uint32_t client, uint64_t tokens,
                    uint64_t cost_pico_usd, int64_t now);

/* At start, after reset: a past usage record made at WHEN. It counts only
 * into the current day / month (those of the reset's NOW); older records
 * are ignored, so the caller may feed the whole month. */
void qcc_budget_seed(struct qcc_budget *b, uint32_t endpoint, uint32_t client, uint64_t tokens,
                     uint64_t cost_pico_usd, int64_t when);

/* 0 while endpoint I (client J) may spend; else the unix second at which
 * its spent budget resets: the next local midnight for a daily cap, the 1st
 * of next month for the monthly one (the later when both are spent). For a
 * client, retry-after = the result - now. */
int64_t qcc_budget_endpoint_spent_until(struct qcc_budget *b, uint32_t endpoint, int64_t now);
int64_t qcc_budget_client_spent_until(struct qcc_budget *b, uint32_t client, int64_t now);

/* What is left of one period's budget, for status and metrics. */
struct qcc_budget_left {
  bool usd_capped;       /* daily_usd (DAY) / monthly_usd (MONTH) is set */
  uint64_t usd_pico;     /* left, 0 when spent; meaningful when usd_capped */
  uint64_t spent_pico;   /* spent in the period */
  bool tokens_capped;    /* daily_tokens is set (DAY only) */
  uint64_t tokens;       /* left */
  uint64_t spent_tokens; /* spent in the period (DAY: today, MONTH: this month) */
  int64_t resets_at;     /* end of the period, unix seconds */
};
/* 0, or -1 when the index is out of range. Does not change B: a period that
 * ended before NOW reads as fresh. */
int qcc_budget_endpoint_remaining(const struct qcc_budget *b, uint32_t endpoint,
                                  enum qcc_budget_period p, int64_t now,
                                  struct qcc_budget_left *out);
int qcc_budget_client_remaining(const struct qcc_budget *b, uint32_t client,
                                enum qcc_budget_period p, int64_t now, struct qcc_budget_left *out);

/* Start and end (exclusive) of the day or month holding NOW, in B's zone. */
void qcc_budget_period(const struct qcc_budget *b, enum qcc_budget_period p, int64_t now,
                       int64_t *start, int64_t *end);

#endif
