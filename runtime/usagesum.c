#include "usagesum.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schema/journal.h"

#define HOUR_MS INT64_C(3600000)
#define NAME_CAP (QCC_USAGE_MAX_TEXT + 1)

struct slot {
  int64_t key; /* absolute hour / day it holds; INT64_MIN = never used */
  struct qcc_usagesum_bucket b;
};

struct series {
  char endpoint[NAME_CAP];
  char model[NAME_CAP];
  struct slot hour[QCC_USAGESUM_HOURS];
  struct slot day[QCC_USAGESUM_DAYS];
};

/* The last local day looked up: seeding asks for the same day many times. */
struct day_cache {
  int64_t from_s, to_s; /* [from, to) unix seconds */
  int64_t day;
};

struct qcc_usagesum {
  /* allocated as pairs appear (memory follows use); the last one is
   * ("_other", "_other") */
  struct series *s[QCC_USAGESUM_MAX_SERIES];
  size_t n;                                 /* pairs in use */
  size_t last;                              /* the pair found last */
  struct day_cache dc, dc_now;              /* records' days, now's day */
};

/* ---- the zone: calendar days ---------------------------------------------------
 * Days are those of the process's local zone (TZ). This pair is the only
 * place that knows it: a per-table usage.timezone goes here. */

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned mp = m > 2 ? m - 3 : m + 9; /* March = 0 */
  unsigned doy = (153 * mp + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* Unix second at which local day DAY (days_from_civil numbering) starts. */
static int64_t zone_day_start(int64_t day) {
  /* back to a civil date through UTC, then local midnight of that date */
  time_t t = (time_t)(day * 86400);
  struct tm tm;
  gmtime_r(&t, &tm);
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return (int64_t)mktime(&tm);
}

/* The local day (days_from_civil numbering) holding unix second S. */
static int64_t zone_day(struct day_cache *c, int64_t s) {
  if (c != NULL && s >= c->from_s && s < c->to_s) return c->day;
  time_t t = (time_t)s;
  struct tm tm;
  localtime_r(&t, &tm);
  int64_t day = days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                                (unsigned)tm.tm_mday);
  if (c != NULL) {
    c->from_s = zone_day_start(day);
    c->to_s = zone_day_start(day + 1);
    c->day = day;
    if (!(s >= c->from_s && s < c->to_s)) c->to_s = c->from_s; /* odd zone: no caching */
  }
  return day;
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static size_t ring(int64_t key, size_t n) {
  int64_t m = key % (int64_t)n;
  return (size_t)(m < 0 ? m + (int64_t)n : m);
}

/* ---- pairs ---------------------------------------------------------------------- */

static void copy_name(char *dst, const char *src) {
  size_t n = src != NULL ? strnlen(src, NAME_CAP - 1) : 0; /* record text is <= 255 bytes */
  memcpy(dst, src != NULL ? src : "", n);
  dst[n] = '\0';
}

static void series_init(struct series *x, const char *endpoint, const char *model) {
  memset(x, 0, sizeof *x);
  copy_name(x->endpoint, endpoint);
  copy_name(x->model, model);
  for (size_t i = 0; i < QCC_USAGESUM_HOURS; i++) x->hour[i].key = INT64_MIN;
  for (size_t i = 0; i < QCC_USAGESUM_DAYS; i++) x->day[i].key = INT64_MIN;
}

/* Nothing in the window as of (hour H, day D): the pair may be reused. */
static bool series_stale(const struct series *x, int64_t h, int64_t d) {
  for (size_t i = 0; i < QCC_USAGESUM_HOURS; i++)
    if (x->hour[i].key > h - QCC_USAGESUM_HOURS) return false;
  for (size_t i = 0; i < QCC_USAGESUM_DAYS; i++)
    if (x->day[i].key > d - QCC_USAGESUM_DAYS) return false;
  return true;
}

static struct series *find(struct qcc_usagesum *s, const char *endpoint, const char *model) {
  if (s->last < QCC_USAGESUM_MAX_SERIES) {
    struct series *x = s->s[s->last];
    if (x != NULL && strcmp(x->endpoint, endpoint) == 0 && strcmp(x->model, model) == 0) return x;
  }
  for (size_t i = 0; i < QCC_USAGESUM_MAX_SERIES; i++) {
    struct series *x = s->s[i];
    if (x != NULL && strcmp(x->endpoint, endpoint) == 0 && strcmp(x->model, model) == 0) {
      s->last = i;
      return x;
    }
  }
  return NULL;
}

static struct series *claim(struct qcc_usagesum *s, const char *endpoint, const char *model,
                            int64_t h, int64_t d) {
  struct series *reuse = NULL;
  for (size_t i = 0; i + 1 < QCC_USAGESUM_MAX_SERIES; i++) {
    struct series *x = s->s[i];
    if (x == NULL) {
      if (reuse != NULL) break; /* an idle pair first: memory stays as it is */
      x = malloc(sizeof *x);
      if (x == NULL) break; /* out of memory: "_other" */
      s->s[i] = x;
      s->n++;
      reuse = x;
      break;
    }
    if (reuse == NULL && series_stale(x, h, d)) reuse = x;
  }
  if (reuse == NULL) return NULL;
  series_init(reuse, endpoint, model);
  return reuse;
}

/* The pair R counts under: its own, its endpoint's "_other" model, or the
 * catch-all. */
static struct series *pair_for(struct qcc_usagesum *s, const char *endpoint, const char *model,
                               int64_t h, int64_t d) {
  struct series *x = find(s, endpoint, model);
  if (x != NULL) return x;
  size_t models = 0;
  for (size_t i = 0; i < QCC_USAGESUM_MAX_SERIES; i++)
    if (s->s[i] != NULL && strcmp(s->s[i]->endpoint, endpoint) == 0 &&
        !series_stale(s->s[i], h, d))
      models++;
  if (models >= QCC_USAGESUM_MAX_MODELS - 1 && strcmp(model, QCC_USAGESUM_OTHER) != 0)
    return pair_for(s, endpoint, QCC_USAGESUM_OTHER, h, d);
  x = claim(s, endpoint, model, h, d);
  if (x != NULL) return x;
  struct series *all = s->s[QCC_USAGESUM_MAX_SERIES - 1];
  if (all == NULL) {
    all = malloc(sizeof *all);
    if (all == NULL) return NULL; /* out of memory: not counted */
    series_init(all, QCC_USAGESUM_OTHER, QCC_USAGESUM_OTHER);
    s->s[QCC_USAGESUM_MAX_SERIES - 1] = all;
    s->n++;
  }
  return all;
}

/* ---- counting --------------------------------------------------------------------- */

static void bucket_add(struct qcc_usagesum_bucket *b, const struct qcc_usage_rec *r) {
  int64_t *dst[] = {&b->tokens.input, &b->tokens.output, &b->tokens.cache_write_5m,
                    &b->tokens.cache_write_1h, &b->tokens.cache_read};
  const int64_t src[] = {r->input, r->output, r->cache_write_5m, r->cache_write_1h,
                         r->cache_read};
  for (size_t k = 0; k < 5; k++)
    if (src[k] > 0) *dst[k] += src[k];
  if (r->cost != QCC_USAGE_NO_PRICE && r->cost > 0) b->cost += r->cost;
  b->requests += r->requests;
  b->no_price += r->no_price;
}

static void slot_add(struct slot *ring_, size_t n, int64_t key, const struct qcc_usage_rec *r) {
  struct slot *sl = &ring_[ring(key, n)];
  if (sl->key > key) return; /* holds a later period: this one is gone */
  if (sl->key < key) {
    sl->key = key;
    memset(&sl->b, 0, sizeof sl->b);
  }
  bucket_add(&sl->b, r);
}

static void add_at(struct qcc_usagesum *s, const struct qcc_usage_rec *r, int64_t now_ms) {
  int64_t t = r->time_ms < now_ms ? r->time_ms : now_ms;
  int64_t h = floor_div(t, HOUR_MS), now_h = floor_div(now_ms, HOUR_MS);
  int64_t d = zone_day(&s->dc, floor_div(t, 1000));
  int64_t now_d = zone_day(&s->dc_now, floor_div(now_ms, 1000));
  bool in_h = h > now_h - QCC_USAGESUM_HOURS, in_d = d > now_d - QCC_USAGESUM_DAYS;
  if (!in_h && !in_d) return;
  const char *ep = r->endpoint != NULL ? r->endpoint : "";
  const char *model = r->upstream_model != NULL && r->upstream_model[0] != '\0' ? r->upstream_model
                      : r->model != NULL                                        ? r->model
                                                                                : "";
  char e[NAME_CAP], m[NAME_CAP]; /* cut like the pairs' names, so lookups match */
  copy_name(e, ep);
  copy_name(m, model);
  struct series *x = pair_for(s, e, m, now_h, now_d);
  if (x == NULL) return;
  if (in_h) slot_add(x->hour, QCC_USAGESUM_HOURS, h, r);
  if (in_d) slot_add(x->day, QCC_USAGESUM_DAYS, d, r);
}

int qcc_usagesum_new(struct qcc_usagesum **out, struct qcc_err *err) {
  *out = calloc(1, sizeof **out);
  if (*out == NULL) return qcc_err_set(err, ENOMEM, "usage sums: out of memory");
  (*out)->last = QCC_USAGESUM_MAX_SERIES;
  return 0;
}

void qcc_usagesum_free(struct qcc_usagesum **s) {
  if (*s != NULL) qcc_usagesum_clear(*s);
  free(*s);
  *s = NULL;
}

void qcc_usagesum_clear(struct qcc_usagesum *s) {
  for (size_t i = 0; i < QCC_USAGESUM_MAX_SERIES; i++) free(s->s[i]);
  memset(s, 0, sizeof *s);
  s->last = QCC_USAGESUM_MAX_SERIES;
}

void qcc_usagesum_add(struct qcc_usagesum *s, const struct qcc_usage_rec *r, int64_t now_ms) {
  if (s == NULL || r == NULL || r->requests == 0) return;
  add_at(s, r, now_ms);
}

/* ---- seeding ---------------------------------------------------------------------- */

struct seed {
  struct qcc_usagesum *s;
  int64_t now_ms, from_ms;
};

static int seed_cb(const struct qcc_jraw *raw, void *ud) {
  struct seed *sd = ud;
  if (raw->time_ms < sd->from_ms) return 0; /* before the window: not even decoded */
  struct qcc_usage_rec r;
  struct qcc_err err = {0};
  if (qcc_usage_decode(raw, &r, &err) != 0) return 0; /* unknown type, odd payload */
  qcc_usagesum_add(sd->s, &r, sd->now_ms);
  return 0;
}

int qcc_usagesum_seed(struct qcc_usagesum *s, const uint8_t *buf, size_t len, int64_t now_ms,
                      struct qcc_err *err) {
  if (len == 0) return 0;
  int64_t from_h = qcc_usagesum_start_ms(QCC_USAGESUM_HOURLY, now_ms);
  int64_t from_d = qcc_usagesum_start_ms(QCC_USAGESUM_DAILY, now_ms);
  struct seed sd = {s, now_ms, from_h < from_d ? from_h : from_d};
  struct qcc_jscan_result res;
  qcc_usage_scan(buf, len, seed_cb, &sd, &res);
  if (res.status == QCC_JSCAN_NOT_JOURNAL || res.status == QCC_JSCAN_BAD_VERSION ||
      res.status == QCC_JSCAN_BAD_HEADER)
    return qcc_err_set(err, EINVAL, "usage sums: not a usage file: %s", res.why);
  return 0;
}

int qcc_usagesum_seed_file(struct qcc_usagesum *s, const char *path, int64_t now_ms,
                           struct qcc_err *err) {
  const uint8_t *buf;
  size_t len;
  if (qcc_usage_map(path, &buf, &len, err) != 0) return -1;
  int rc = qcc_usagesum_seed(s, buf, len, now_ms, err);
  qcc_usage_unmap(buf, len);
  return rc;
}

/* ---- reading ---------------------------------------------------------------------- */

int64_t qcc_usagesum_start_ms(enum qcc_usagesum_span span, int64_t now_ms) {
  if (span == QCC_USAGESUM_HOURLY)
    return (floor_div(now_ms, HOUR_MS) - (QCC_USAGESUM_HOURS - 1)) * HOUR_MS;
  int64_t d = zone_day(NULL, floor_div(now_ms, 1000));
  return zone_day_start(d - (QCC_USAGESUM_DAYS - 1)) * 1000;
}

size_t qcc_usagesum_series_count(const struct qcc_usagesum *s) {
  return s->n;
}

static void bucket_sum(struct qcc_usagesum_bucket *a, const struct qcc_usagesum_bucket *b) {
  a->tokens.input += b->tokens.input;
  a->tokens.output += b->tokens.output;
  a->tokens.cache_write_5m += b->tokens.cache_write_5m;
  a->tokens.cache_write_1h += b->tokens.cache_write_1h;
  a->tokens.cache_read += b->tokens.cache_read;
  a->cost += b->cost;
  a->requests += b->requests;
  a->no_price += b->no_price;
}

/* Bucket I of SPAN of pair X, as of the period keys NOW_H / NOW_D. */
static const struct qcc_usagesum_bucket *series_bucket(const struct series *x,
                                                       enum qcc_usagesum_span span, unsigned i,
                                                       int64_t now_h, int64_t now_d) {
  const struct slot *sl;
  int64_t key;
  if (span == QCC_USAGESUM_HOURLY) {
    key = now_h - (QCC_USAGESUM_HOURS - 1) + i;
    sl = &x->hour[ring(key, QCC_USAGESUM_HOURS)];
  } else {
    key = now_d - (QCC_USAGESUM_DAYS - 1) + i;
    sl = &x->day[ring(key, QCC_USAGESUM_DAYS)];
  }
  return sl->key == key ? &sl->b : NULL;
}

void qcc_usagesum_bucket(const struct qcc_usagesum *s, enum qcc_usagesum_span span,
                         const char *endpoint, const char *model, unsigned i, int64_t now_ms,
                         struct qcc_usagesum_bucket *out) {
  memset(out, 0, sizeof *out);
  unsigned n = span == QCC_USAGESUM_HOURLY ? QCC_USAGESUM_HOURS : QCC_USAGESUM_DAYS;
  if (i >= n) return;
  int64_t now_h = floor_div(now_ms, HOUR_MS), now_d = zone_day(NULL, floor_div(now_ms, 1000));
  for (size_t k = 0; k < QCC_USAGESUM_MAX_SERIES; k++) {
    const struct series *x = s->s[k];
    if (x == NULL || (endpoint != NULL && strcmp(x->endpoint, endpoint) != 0) ||
        (model != NULL && strcmp(x->model, model) != 0))
      continue;
    const struct qcc_usagesum_bucket *b = series_bucket(x, span, i, now_h, now_d);
    if (b != NULL) bucket_sum(out, b);
  }
}

/* ---- the page's document ---------------------------------------------------------- */

static json_t *iso(int64_t ms) {
  time_t t = (time_t)floor_div(ms, 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char b[96];
  snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - floor_div(ms, 1000) * 1000));
  return json_string(b);
}

static int64_t tokens_all(const struct qcc_usage_tokens *t) {
  return t->input + t->output + t->cache_write_5m + t->cache_write_1h + t->cache_read;
}

/* USD, or null when nothing in B was priced (an empty bucket costs 0). */
static json_t *cost_json(const struct qcc_usagesum_bucket *b) {
  if (b->requests > 0 && b->no_price >= b->requests) return json_null();
  return json_real((double)b->cost / QCC_USAGESUM_COST_PER_USD);
}

static int by_name(const void *a, const void *b) {
  const struct series *x = *(const struct series *const *)a, *y = *(const struct series *const *)b;
  int c = strcmp(x->endpoint, y->endpoint);
  return c != 0 ? c : strcmp(x->model, y->model);
}

/* The pairs in use, by endpoint then model: the document does not depend on
 * the order records came in (seeded or live). Returns how many. */
static size_t sorted(const struct qcc_usagesum *s, const struct series **out) {
  size_t n = 0;
  for (size_t k = 0; k < QCC_USAGESUM_MAX_SERIES; k++)
    if (s->s[k] != NULL) out[n++] = s->s[k];
  qsort(out, n, sizeof *out, by_name);
  return n;
}

static int fill_span(const struct qcc_usagesum *s, json_t *part, enum qcc_usagesum_span span,
                     int64_t now_ms) {
  unsigned n = span == QCC_USAGESUM_HOURLY ? QCC_USAGESUM_HOURS : QCC_USAGESUM_DAYS;
  int64_t now_h = floor_div(now_ms, HOUR_MS), now_d = zone_day(NULL, floor_div(now_ms, 1000));
  json_t *list = json_array();
  if (list == NULL || json_object_set_new(part, "series", list) != 0) return -1;
  if (json_object_set_new(part, "start", iso(qcc_usagesum_start_ms(span, now_ms))) != 0) return -1;
  const struct series *order[QCC_USAGESUM_MAX_SERIES];
  size_t count = sorted(s, order);
  for (size_t k = 0; k < count; k++) {
    const struct series *x = order[k];
    json_t *tok = json_array(), *cost = json_array();
    bool any = false;
    for (unsigned i = 0; i < n && tok != NULL && cost != NULL; i++) {
      const struct qcc_usagesum_bucket *b = series_bucket(x, span, i, now_h, now_d);
      struct qcc_usagesum_bucket zero = {0};
      if (b == NULL) b = &zero;
      any |= b->requests > 0;
      json_array_append_new(tok, json_integer(tokens_all(&b->tokens)));
      json_array_append_new(cost, cost_json(b));
    }
    if (tok == NULL || cost == NULL || !any) {
      json_decref(tok);
      json_decref(cost);
      if (tok == NULL || cost == NULL) return -1;
      continue; /* nothing in this span */
    }
    json_t *o = json_pack("{s:s,s:s,s:o,s:o}", "endpoint", x->endpoint, "model", x->model,
                          "tokens", tok, "cost", cost);
    if (o == NULL || json_array_append_new(list, o) != 0) return -1;
  }
  return 0;
}

/* today.endpoints: one entry per endpoint with usage today, by name. */
static int fill_today(const struct qcc_usagesum *s, json_t *doc, int64_t now_ms) {
  json_t *today = json_object_get(doc, "today");
  if (!json_is_object(today)) {
    today = json_object();
    if (today == NULL || json_object_set_new(doc, "today", today) != 0) return -1;
  }
  json_t *list = json_array();
  if (list == NULL || json_object_set_new(today, "endpoints", list) != 0) return -1;
  const struct series *order[QCC_USAGESUM_MAX_SERIES];
  size_t count = sorted(s, order);
  for (size_t k = 0; k < count; k++) {
    const struct series *x = order[k];
    if (k > 0 && strcmp(order[k - 1]->endpoint, x->endpoint) == 0) continue; /* listed */
    struct qcc_usagesum_bucket b;
    qcc_usagesum_bucket(s, QCC_USAGESUM_DAILY, x->endpoint, NULL, QCC_USAGESUM_DAYS - 1, now_ms,
                        &b);
    if (b.requests == 0) continue;
    const struct qcc_usage_tokens *t = &b.tokens;
    json_t *o = json_pack(
        "{s:s,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:n}", "endpoint", x->endpoint, "tokens",
        (json_int_t)tokens_all(t), "input_tokens", (json_int_t)t->input, "output_tokens",
        (json_int_t)t->output, "cache_read_tokens", (json_int_t)t->cache_read,
        "cache_write_tokens", (json_int_t)(t->cache_write_5m + t->cache_write_1h), "cost",
        cost_json(&b), "requests", (json_int_t)b.requests, "unpriced_requests",
        (json_int_t)b.no_price, "budget_left");
    if (o == NULL || json_array_append_new(list, o) != 0) return -1;
  }
  return 0;
}

int qcc_usagesum_fill(const struct qcc_usagesum *s, json_t *doc, int64_t now_ms) {
  if (json_object_set_new(doc, "available", json_true()) != 0 ||
      json_object_set_new(doc, "note", json_null()) != 0)
    return -1;
  const char *names[] = {"hourly", "daily"};
  for (int k = 0; k < 2; k++) {
    json_t *part = json_object_get(doc, names[k]);
    if (!json_is_object(part)) {
      part = json_object();
      if (part == NULL || json_object_set_new(doc, names[k], part) != 0) return -1;
    }
    enum qcc_usagesum_span span = k == 0 ? QCC_USAGESUM_HOURLY : QCC_USAGESUM_DAILY;
    if (json_object_set_new(part, "step_s", json_integer(k == 0 ? 3600 : 86400)) != 0 ||
        json_object_set_new(part, "points",
                            json_integer(k == 0 ? QCC_USAGESUM_HOURS : QCC_USAGESUM_DAYS)) != 0 ||
        fill_span(s, part, span, now_ms) != 0)
      return -1;
  }
  return fill_today(s, doc, now_ms);
}
