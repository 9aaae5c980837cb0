/* The budget gate: qcc-run's one budget (runtime/budget.h) wired to the
 * rest of the runtime (docs/usage.md, "Budgets").
 *
 *   - every table load (start included) resets it from the table, keeping
 *     spending; at start, and when usage.timezone changed, it is seeded from
 *     the usage file's records of this month (schema/usage.h), handed over
 *     by the owner's one pass over the file (in qcc-run the usage log's
 *     scan, runtime/usagelog.h, that seeds the status page's sums too);
 *   - every usage record adds to it (runtime/proxy_usage.c);
 *   - an endpoint whose budget is spent rests until the period's end through
 *     the router (qcc_router_budget_rest: journaled, shown, no rest probe),
 *     checked at every load too, so a reload or a restart never routes to a
 *     spent endpoint; a raised budget lifts the rest at the load;
 *   - a client token whose budget is spent is refused (runtime/client.c: 429
 *     with retry-after) before any upstream work.
 *
 * Time is the wall clock (budgets follow the calendar). Loop thread only. */
#ifndef QCC_RUNTIME_BUDGETGATE_H
#define QCC_RUNTIME_BUDGETGATE_H

#include <stdint.h>

#include "schema/error.h"
#include "schema/usage.h"

struct qcc_table;
struct qcc_router;
struct qcc_budget;
struct qcc_budgetgate;

int qcc_budgetgate_new(struct qcc_router *router, struct qcc_budgetgate **out,
                       struct qcc_err *err);
void qcc_budgetgate_free(struct qcc_budgetgate **g);

/* After the router attached T: reset and rest the spent endpoints: 0. 1 =
 * it must be seeded first (the first load; usage.timezone changed: another
 * zone's days are other days): hand it the usage file's records (the seed_
 * calls below); the endpoints rest at the seed's end. -1 with err (unknown
 * zone, out of memory): the budget keeps the previous table's view. */
int qcc_budgetgate_load(struct qcc_budgetgate *g, const struct qcc_table *t, struct qcc_err *err);

/* The seed, as a usage file reader (usagelog.h's consumer): BEGIN returns
 * the time (unix ms) from which records count (this month's start), or
 * INT64_MAX when no seed is due; RECORD counts one record (a request or an
 * hourly rollup); END rests the spent endpoints. */
int64_t qcc_budgetgate_seed_begin(struct qcc_budgetgate *g);
void qcc_budgetgate_seed_record(struct qcc_budgetgate *g, const struct qcc_usage_rec *r);
void qcc_budgetgate_seed_end(struct qcc_budgetgate *g);

/* One finished request of the endpoint with stable id ENDPOINT_SID (0 =
 * none; found in the router's current view, so a request that straddled a
 * reload still counts) and client token CLIENT (index, QCC_BUDGET_NONE):
 * its known tokens and priced cost. Rests the endpoint when that spent its
 * budget. */
void qcc_budgetgate_add(struct qcc_budgetgate *g, uint64_t endpoint_sid, uint32_t client,
                        const struct qcc_usage_tokens *tokens, uint64_t cost_pico_usd);

/* 0 while client token CLIENT may spend, else the seconds until its budget
 * resets (at least 1): the 429's retry-after. */
int64_t qcc_budgetgate_client_wait(struct qcc_budgetgate *g, uint32_t client);

/* The budget (status, metrics); NULL before the first load. */
struct qcc_budget *qcc_budgetgate_budget(const struct qcc_budgetgate *g);

/* Records the last seed counted. */
uint64_t qcc_budgetgate_seeded(const struct qcc_budgetgate *g);

/* Wall-clock unix seconds (budget.h's `now`), moved by
 * $QCC_BUDGET_CLOCK_OFFSET_S when set (tests reach a period's end without
 * waiting for midnight; the usage records keep the real time). */
#define QCC_BUDGET_CLOCK_OFFSET_ENV "QCC_BUDGET_CLOCK_OFFSET_S"
int64_t qcc_budgetgate_now(void);

#endif
