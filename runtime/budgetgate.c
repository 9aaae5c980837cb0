/* qcc-run's budget wired to the router, the usage file and the clients
 * (budgetgate.h). */
#include "budgetgate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "router.h"
#include "runtime.h"
#include "schema/table.h"

struct qcc_budgetgate {
  struct qcc_router *router;
  struct qcc_budget *b;
  const struct qcc_table *t; /* of the last load: the seed's endpoint and client indexes */
  char zone[256]; /* of the last seed: another zone's days are other days */
  bool seeded, want_seed;
  uint64_t seed_records;
};

/* QCC_BUDGET_CLOCK_OFFSET_S moves the budgets' calendar (tests: a period's
 * end within seconds); read once. */
static int64_t clock_offset_s(void) {
  static bool read;
  static int64_t off;
  if (!read) {
    const char *e = getenv(QCC_BUDGET_CLOCK_OFFSET_ENV);
    off = e != NULL && e[0] != '\0' ? strtoll(e, NULL, 10) : 0;
    read = true;
  }
  return off;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ((int64_t)ts.tv_sec + clock_offset_s()) * 1000 + ts.tv_nsec / 1000000;
}

int64_t qcc_budgetgate_now(void) { return wall_ms() / 1000; }

int qcc_budgetgate_new(struct qcc_router *router, struct qcc_budgetgate **out,
                       struct qcc_err *err) {
  struct qcc_budgetgate *g = calloc(1, sizeof *g);
  if (g == NULL) return qcc_err_set(err, ENOMEM, "out of memory for budgets");
  if (qcc_budget_new(&g->b, err) != 0) {
    free(g);
    return -1;
  }
  g->router = router;
  *out = g;
  return 0;
}

void qcc_budgetgate_free(struct qcc_budgetgate **g) {
  if (g == NULL || *g == NULL) return;
  qcc_budget_free(&(*g)->b);
  free(*g);
  *g = NULL;
}

struct qcc_budget *qcc_budgetgate_budget(const struct qcc_budgetgate *g) {
  return g != NULL && g->seeded ? g->b : NULL;
}

static uint64_t known_tokens(const struct qcc_usage_tokens *t) {
  const int64_t k[] = {t->input, t->output, t->cache_write_5m, t->cache_write_1h, t->cache_read};
  uint64_t n = 0;
  for (size_t i = 0; i < 5; i++)
    if (k[i] > 0) n += (uint64_t)k[i];
  return n;
}

/* ---- the seed: this month's records --------------------------------------- */

static uint32_t endpoint_of(const struct qcc_table *t, uint64_t sid) {
  uint32_t n = qcc_table_endpoint_count(t);
  for (uint32_t i = 0; i < n && sid != 0; i++)
    if (qcc_table_endpoint(t, i)->stable_id == sid) return i;
  return QCC_BUDGET_NONE;
}

static uint32_t client_of(const struct qcc_table *t, const char *name) {
  uint32_t n = qcc_table_token_count(t);
  for (uint32_t j = 0; j < n && name[0] != '\0'; j++)
    if (strcmp(qcc_table_str(t, qcc_table_token(t, j)->name), name) == 0) return j;
  return QCC_BUDGET_NONE;
}

int64_t qcc_budgetgate_seed_begin(struct qcc_budgetgate *g) {
  if (!g->want_seed) return INT64_MAX;
  int64_t ms, me;
  qcc_budget_period(g->b, QCC_BUDGET_MONTH, qcc_budgetgate_now(), &ms, &me);
  g->seed_records = 0;
  return ms * 1000;
}

void qcc_budgetgate_seed_record(struct qcc_budgetgate *g, const struct qcc_usage_rec *r) {
  if (!g->want_seed) return;
  struct qcc_usage_tokens t = qcc_usage_rec_tokens(r);
  uint64_t cost = r->cost != QCC_USAGE_NO_PRICE && r->cost > 0 ? (uint64_t)r->cost : 0;
  qcc_budget_seed(g->b, endpoint_of(g->t, r->endpoint_sid), client_of(g->t, r->client),
                  known_tokens(&t), cost, r->time_ms / 1000);
  g->seed_records++;
}

/* ---- resting spent endpoints ----------------------------------------------- */

/* "daily budget spent until 00:00 +08" in the budget's zone (the process's
 * TZ since the load). */
static void why_text(struct qcc_budget *b, uint32_t i, int64_t until, int64_t now, char *buf,
                     size_t cap) {
  struct qcc_budget_left d, m;
  qcc_budget_endpoint_remaining(b, i, QCC_BUDGET_DAY, now, &d);
  qcc_budget_endpoint_remaining(b, i, QCC_BUDGET_MONTH, now, &m);
  const char *what = m.usd_capped && m.usd_pico == 0 && until == m.resets_at ? "monthly budget"
                     : d.usd_capped && d.usd_pico == 0                       ? "daily budget"
                                                                             : "daily token budget";
  time_t tt = (time_t)until;
  struct tm tm;
  char when[64] = "";
  if (localtime_r(&tt, &tm) != NULL) {
    char z[8];
    strftime(z, sizeof z, "%z", &tm);
    if (strlen(z) == 5 && strcmp(z + 3, "00") == 0) z[3] = '\0'; /* +0800 -> +08 */
    strftime(when, sizeof when, until - now > 86400 ? "%Y-%m-%d %H:%M" : "%H:%M", &tm);
    snprintf(when + strlen(when), sizeof when - strlen(when), " %s", z);
  }
  snprintf(buf, cap, "%s spent until %s", what, when);
}

static void rest_if_spent(struct qcc_budgetgate *g, uint32_t i, int64_t now, bool lift) {
  int64_t until = qcc_budget_endpoint_spent_until(g->b, i, now);
  if (until == 0 && !lift) return;
  uint64_t mono = qcc_runtime_now_ms();
  uint64_t until_mono = 0;
  char why[128] = "";
  if (until > now) {
    int64_t ahead = until * 1000 - wall_ms();
    until_mono = mono + (uint64_t)(ahead > 0 ? ahead : 1);
    why_text(g->b, i, until, now, why, sizeof why);
  }
  struct qcc_err err = {0};
  (void)qcc_router_budget_rest(g->router, i, until_mono, mono, why, &err); /* I is in range */
}

static void rest_all(struct qcc_budgetgate *g) {
  int64_t now = qcc_budgetgate_now();
  uint32_t n = qcc_table_endpoint_count(g->t);
  for (uint32_t i = 0; i < n; i++) rest_if_spent(g, i, now, true);
}

int qcc_budgetgate_load(struct qcc_budgetgate *g, const struct qcc_table *t, struct qcc_err *err) {
  int64_t now = qcc_budgetgate_now();
  if (qcc_budget_reset(g->b, t, now, err) != 0) return -1;
  g->t = t;
  const char *zone = qcc_table_str(t, qcc_table_settings(t)->usage_timezone);
  if (zone[0] == '\0') zone = "local";
  /* the reset starts from zero when the zone changed: its days are other days */
  bool want = !g->seeded || strcmp(zone, g->zone) != 0;
  snprintf(g->zone, sizeof g->zone, "%s", zone);
  if (want) {
    g->want_seed = true;
    return 1;
  }
  rest_all(g);
  return 0;
}

void qcc_budgetgate_seed_end(struct qcc_budgetgate *g) {
  if (!g->want_seed) return;
  g->want_seed = false;
  g->seeded = true;
  rest_all(g);
}

void qcc_budgetgate_add(struct qcc_budgetgate *g, uint64_t endpoint_sid, uint32_t client,
                        const struct qcc_usage_tokens *tokens, uint64_t cost_pico_usd) {
  if (g == NULL || !g->seeded) return;
  uint32_t endpoint = QCC_BUDGET_NONE, n = qcc_router_endpoint_count(g->router);
  for (uint32_t i = 0; i < n && endpoint_sid != 0; i++)
    if (qcc_router_stable_id(g->router, i) == endpoint_sid) endpoint = i;
  int64_t now = qcc_budgetgate_now();
  qcc_budget_add(g->b, endpoint, client, known_tokens(tokens), cost_pico_usd, now);
  if (endpoint != QCC_BUDGET_NONE) rest_if_spent(g, endpoint, now, false);
}

int64_t qcc_budgetgate_client_wait(struct qcc_budgetgate *g, uint32_t client) {
  if (g == NULL || !g->seeded || client == QCC_BUDGET_NONE) return 0;
  int64_t now = qcc_budgetgate_now();
  int64_t until = qcc_budget_client_spent_until(g->b, client, now);
  if (until == 0) return 0;
  return until > now ? until - now : 1;
}

uint64_t qcc_budgetgate_seeded(const struct qcc_budgetgate *g) { return g->seed_records; }
