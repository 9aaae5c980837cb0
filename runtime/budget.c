/* Budget counters per endpoint and client over the calendar (budget.h). */
#include "budget.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "schema/table.h"
#include "schema/zone.h"

#define PICO_PER_MICRO UINT64_C(1000000)

struct acct {
  uint64_t key;                                 /* carries spending across resets */
  uint64_t lim_day_pico, lim_month_pico, lim_day_tokens; /* 0 = no cap */
  uint64_t day_pico, month_pico, day_tokens, month_tokens;
};

struct qcc_budget {
  char zone[256];
  struct acct *eps, *cls;
  uint32_t n_eps, n_cls;
  bool ready;
  int64_t day_start, day_end, month_start, month_end;
};

/* ---- the zone -----------------------------------------------------------
 * The process's TZ as the last budget set it; "local" restores the TZ the
 * process started with. */
static char cur_zone[256];
static bool orig_saved;
static char *orig_tz;

static void use_zone(const char *zone) {
  if (strcmp(cur_zone, zone) == 0) return;
  if (!orig_saved) {
    const char *o = getenv("TZ");
    orig_tz = o != NULL ? strdup(o) : NULL;
    orig_saved = true;
  }
  if (strcmp(zone, "local") != 0) setenv("TZ", zone, 1);
  else if (orig_tz != NULL) setenv("TZ", orig_tz, 1);
  else unsetenv("TZ");
  tzset();
  snprintf(cur_zone, sizeof cur_zone, "%s", zone);
}

static void bounds(const char *zone, enum qcc_budget_period p, int64_t now, int64_t *start,
                   int64_t *end) {
  use_zone(zone);
  time_t t = (time_t)now;
  struct tm tm;
  if (localtime_r(&t, &tm) == NULL) { /* outside what time_t/tm can hold */
    *start = now - now % 86400;
    *end = *start + 86400;
    return;
  }
  struct tm a = tm;
  a.tm_hour = a.tm_min = a.tm_sec = 0;
  a.tm_isdst = -1; /* let the zone say whether midnight is summer time */
  if (p == QCC_BUDGET_MONTH) a.tm_mday = 1;
  struct tm z = a;
  if (p == QCC_BUDGET_DAY) z.tm_mday += 1; /* mktime normalizes the 32nd, the 13th month */
  else z.tm_mon += 1;
  time_t s = mktime(&a), e = mktime(&z);
  /* A zone whose midnight falls into a DST gap gets the first instant after
   * it; whatever mktime does, the period must hold NOW. */
  *start = s == (time_t)-1 || (int64_t)s > now ? now : (int64_t)s;
  *end = e == (time_t)-1 || (int64_t)e <= now ? now + 1 : (int64_t)e;
}

void qcc_budget_period(const struct qcc_budget *b, enum qcc_budget_period p, int64_t now,
                       int64_t *start, int64_t *end) {
  bounds(b->zone[0] != '\0' ? b->zone : "local", p, now, start, end);
}

/* ---- lifecycle ------------------------------------------------------------ */

int qcc_budget_new(struct qcc_budget **out, struct qcc_err *err) {
  *out = calloc(1, sizeof **out);
  if (*out == NULL) return qcc_err_set(err, ENOMEM, "out of memory for budgets");
  snprintf((*out)->zone, sizeof (*out)->zone, "local");
  return 0;
}

void qcc_budget_free(struct qcc_budget **b) {
  if (b == NULL || *b == NULL) return;
  free((*b)->eps);
  free((*b)->cls);
  free(*b);
  *b = NULL;
}

static void limits(struct acct *a, uint64_t daily_usd, uint64_t monthly_usd, uint64_t daily_tokens) {
  /* micro-USD -> pico-USD; the table caps budgets at 10^12 micro-USD */
  a->lim_day_pico = daily_usd > UINT64_MAX / PICO_PER_MICRO ? UINT64_MAX : daily_usd * PICO_PER_MICRO;
  a->lim_month_pico =
      monthly_usd > UINT64_MAX / PICO_PER_MICRO ? UINT64_MAX : monthly_usd * PICO_PER_MICRO;
  a->lim_day_tokens = daily_tokens;
}

static const struct acct *find_key(const struct acct *v, uint32_t n, uint64_t key, uint32_t hint) {
  if (hint < n && v[hint].key == key) return &v[hint];
  for (uint32_t i = 0; i < n; i++)
    if (v[i].key == key) return &v[i];
  return NULL;
}

static void carry(struct acct *to, const struct acct *from) {
  if (from == NULL) return;
  to->day_pico = from->day_pico;
  to->month_pico = from->month_pico;
  to->day_tokens = from->day_tokens;
  to->month_tokens = from->month_tokens;
}

int qcc_budget_reset(struct qcc_budget *b, const struct qcc_table *t, int64_t now,
                     struct qcc_err *err) {
  const char *zone = qcc_table_str(t, qcc_table_settings(t)->usage_timezone);
  if (zone[0] == '\0') zone = "local"; /* a table built without usage: */
  if (!qcc_zone_known(zone))
    return qcc_err_set(err, EINVAL, "usage.timezone '%s' is not in this machine's tz database",
                       zone);
  uint32_t ne = qcc_table_endpoint_count(t), nc = qcc_table_token_count(t);
  struct acct *eps = calloc(ne + 1, sizeof *eps), *cls = calloc(nc + 1, sizeof *cls);
  if (eps == NULL || cls == NULL) {
    free(eps);
    free(cls);
    return qcc_err_set(err, ENOMEM, "out of memory for budgets");
  }
  /* Periods of the new zone first: spending carried over belongs to them
   * only when the zone did not change. */
  bool same_zone = b->ready && strcmp(b->zone, zone) == 0;
  for (uint32_t i = 0; i < ne; i++) {
    const struct qcc_tbl_endpoint *e = qcc_table_endpoint(t, i);
    eps[i].key = e->stable_id;
    limits(&eps[i], e->budget_daily_usd, e->budget_monthly_usd, e->budget_daily_tokens);
    if (same_zone) carry(&eps[i], find_key(b->eps, b->n_eps, e->stable_id, i));
  }
  for (uint32_t j = 0; j < nc; j++) {
    const struct qcc_tbl_token *k = qcc_table_token(t, j);
    const char *name = qcc_table_str(t, k->name);
    /* unnamed tokens are told apart by position; the top bit keeps the two
     * kinds of key from meeting */
    cls[j].key = name[0] != '\0' ? XXH3_64bits(name, strlen(name)) | (UINT64_C(1) << 63) : j;
    limits(&cls[j], k->budget_daily_usd, k->budget_monthly_usd, k->budget_daily_tokens);
    if (same_zone) carry(&cls[j], find_key(b->cls, b->n_cls, cls[j].key, j));
  }
  free(b->eps);
  free(b->cls);
  b->eps = eps;
  b->cls = cls;
  b->n_eps = ne;
  b->n_cls = nc;
  snprintf(b->zone, sizeof b->zone, "%s", zone);
  use_zone(zone);
  if (!same_zone) {
    bounds(zone, QCC_BUDGET_DAY, now, &b->day_start, &b->day_end);
    bounds(zone, QCC_BUDGET_MONTH, now, &b->month_start, &b->month_end);
  }
  b->ready = true;
  return 0;
}

/* ---- counting -------------------------------------------------------------- */

static void roll(struct qcc_budget *b, int64_t now) {
  if (!b->ready) return;
  if (now >= b->day_end) {
    for (uint32_t i = 0; i < b->n_eps; i++) b->eps[i].day_pico = b->eps[i].day_tokens = 0;
    for (uint32_t j = 0; j < b->n_cls; j++) b->cls[j].day_pico = b->cls[j].day_tokens = 0;
    bounds(b->zone, QCC_BUDGET_DAY, now, &b->day_start, &b->day_end);
  }
  if (now >= b->month_end) {
    for (uint32_t i = 0; i < b->n_eps; i++) b->eps[i].month_pico = b->eps[i].month_tokens = 0;
    for (uint32_t j = 0; j < b->n_cls; j++) b->cls[j].month_pico = b->cls[j].month_tokens = 0;
    bounds(b->zone, QCC_BUDGET_MONTH, now, &b->month_start, &b->month_end);
  }
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static void count(struct acct *a, uint64_t tokens, uint64_t cost, bool day, bool month) {
  if (day) {
    a->day_pico = sat_add(a->day_pico, cost);
    a->day_tokens = sat_add(a->day_tokens, tokens);
  }
  if (month) {
    a->month_pico = sat_add(a->month_pico, cost);
    a->month_tokens = sat_add(a->month_tokens, tokens);
  }
}

static void count_both(struct qcc_budget *b, uint32_t endpoint, uint32_t client, uint64_t tokens,
                       uint64_t cost, bool day, bool month) {
  if (endpoint < b->n_eps) count(&b->eps[endpoint], tokens, cost, day, month);
  if (client < b->n_cls) count(&b->cls[client], tokens, cost, day, month);
}

void qcc_budget_add(struct qcc_budget *b, uint32_t endpoint, uint32_t client, uint64_t tokens,
                    uint64_t cost_pico_usd, int64_t now) {
  roll(b, now);
  count_both(b, endpoint, client, tokens, cost_pico_usd, true, true);
}

void qcc_budget_seed(struct qcc_budget *b, uint32_t endpoint, uint32_t client, uint64_t tokens,
                     uint64_t cost_pico_usd, int64_t when) {
  if (!b->ready) return;
  bool day = when >= b->day_start && when < b->day_end;
  bool month = when >= b->month_start && when < b->month_end;
  count_both(b, endpoint, client, tokens, cost_pico_usd, day, month);
}

static int64_t spent_until(const struct qcc_budget *b, const struct acct *a) {
  bool day = (a->lim_day_pico != 0 && a->day_pico >= a->lim_day_pico) ||
             (a->lim_day_tokens != 0 && a->day_tokens >= a->lim_day_tokens);
  bool month = a->lim_month_pico != 0 && a->month_pico >= a->lim_month_pico;
  int64_t until = 0;
  if (day) until = b->day_end;
  if (month && b->month_end > until) until = b->month_end;
  return until;
}

int64_t qcc_budget_endpoint_spent_until(struct qcc_budget *b, uint32_t endpoint, int64_t now) {
  roll(b, now);
  return endpoint < b->n_eps ? spent_until(b, &b->eps[endpoint]) : 0;
}

int64_t qcc_budget_client_spent_until(struct qcc_budget *b, uint32_t client, int64_t now) {
  roll(b, now);
  return client < b->n_cls ? spent_until(b, &b->cls[client]) : 0;
}

static void left(const struct qcc_budget *b, const struct acct *a, enum qcc_budget_period p,
                 int64_t now, struct qcc_budget_left *out) {
  memset(out, 0, sizeof *out);
  bool day = p == QCC_BUDGET_DAY;
  int64_t end = day ? b->day_end : b->month_end;
  bool fresh = !b->ready || now >= end; /* the period ended: nothing spent in the new one */
  if (fresh) {
    int64_t start;
    qcc_budget_period(b, p, now, &start, &end);
  }
  uint64_t lim = day ? a->lim_day_pico : a->lim_month_pico;
  out->spent_pico = fresh ? 0 : day ? a->day_pico : a->month_pico;
  out->spent_tokens = fresh ? 0 : day ? a->day_tokens : a->month_tokens;
  out->usd_capped = lim != 0;
  out->usd_pico = lim > out->spent_pico ? lim - out->spent_pico : 0;
  out->tokens_capped = day && a->lim_day_tokens != 0;
  if (out->tokens_capped)
    out->tokens = a->lim_day_tokens > out->spent_tokens ? a->lim_day_tokens - out->spent_tokens : 0;
  out->resets_at = end;
}

int qcc_budget_endpoint_remaining(const struct qcc_budget *b, uint32_t endpoint,
                                  enum qcc_budget_period p, int64_t now,
                                  struct qcc_budget_left *out) {
  if (endpoint >= b->n_eps) return -1;
  left(b, &b->eps[endpoint], p, now, out);
  return 0;
}

int qcc_budget_client_remaining(const struct qcc_budget *b, uint32_t client,
                                enum qcc_budget_period p, int64_t now, struct qcc_budget_left *out) {
  if (client >= b->n_cls) return -1;
  left(b, &b->cls[client], p, now, out);
  return 0;
}
