#include "compiler/usagecmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <xxhash.h>

#include "compiler/instance.h"
#include "compiler/journalcmd.h"
#include "compiler/texttable.h"
#include "schema/journal.h"
#include "schema/pricing.h"
#include "schema/statedir.h"
#include "schema/table.h"
#include "schema/usage.h"
#include "schema/zone.h"

#define EXIT_OK 0
#define EXIT_DAMAGED 1
#define EXIT_USAGE 2
#define MAX_BY 5
#define HOUR_MS INT64_C(3600000)

/* request and requested_model: one exchange's record (a rollup has no
 * request id), the model the client asked for beside the one sent upstream */
enum key {
  K_ENDPOINT, K_PROFILE, K_MODEL, K_CLIENT, K_SESSION, K_HOUR, K_DAY, K_REQUEST, K_REQUESTED_MODEL,
  K_COUNT
};
static const char *const key_names[K_COUNT] = {"endpoint", "profile", "model",   "client",
                                               "session",  "hour",    "day",     "request",
                                               "requested_model"};

enum fmt { F_TABLE, F_JSON, F_CSV };

struct opts {
  int64_t since, until; /* [since, until) unix ms */
  bool have_since, have_until;
  enum key by[MAX_BY];
  size_t nby;
  enum fmt fmt;
  const char *export_path;
  const char *since_text, *until_text;
  const char *tz;       /* --tz, else the served table's usage.timezone, else local */
  char zone[256];       /* the zone hours and days are shown in */
  char path[4200];
};

/* The sums of one group (or the total). */
struct sums {
  uint64_t requests, unknown, partial, no_price, partly, errors, attempts;
  int64_t tok[5]; /* input, output, cache_write_5m, cache_write_1h, cache_read */
  uint64_t cost;  /* pico-USD over the priced requests (saturates) */
  uint64_t priced; /* requests with some price */
  uint64_t unpriced_tokens;
};

struct group {
  uint64_t hash;
  char *text[MAX_BY]; /* key values; hour/day as decimal ms */
  int64_t tkey[MAX_BY];
  struct sums s;
};

struct agg {
  const struct opts *o;
  struct group *g;
  size_t cap, n;
  struct sums total;
  bool oom;
};

/* ---- time ---- */
static int64_t local_floor(int64_t ms, bool day) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  tm.tm_min = tm.tm_sec = 0;
  if (day) tm.tm_hour = 0;
  tm.tm_isdst = -1;
  return (int64_t)mktime(&tm) * 1000;
}

static void fmt_local(int64_t ms, bool with_hour, char *buf, size_t cap) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(buf, cap, with_hour ? "%Y-%m-%d %H:%M %Z" : "%Y-%m-%d", &tm);
}

static void fmt_utc(int64_t ms, char *buf, size_t cap) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A date alone is local midnight; the rest as `journal show --since`. */
static int parse_time(const char *s, int64_t now, int64_t *out) {
  int Y, M, D, n = 0;
  if (sscanf(s, "%4d-%2d-%2d%n", &Y, &M, &D, &n) == 3 && s[n] == '\0') {
    if (M < 1 || M > 12 || D < 1 || D > 31) return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_isdst = -1};
    *out = (int64_t)mktime(&tm) * 1000;
    return 0;
  }
  return qccc_parse_since(s, now, out);
}

/* ---- options ---- */
static int add_by(struct opts *o, const char *list, FILE *err) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", list);
  for (char *save = NULL, *w = strtok_r(buf, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
    size_t k = 0;
    while (k < K_COUNT && strcmp(key_names[k], w) != 0) k++;
    if (k == K_COUNT) {
      fprintf(err, "qccc usage: --by %s: not one of endpoint, profile, model, client, session, hour, day, "
                   "request, requested_model\n", w);
      return -1;
    }
    if (o->nby == MAX_BY) {
      fprintf(err, "qccc usage: at most %d --by keys\n", MAX_BY);
      return -1;
    }
    o->by[o->nby++] = (enum key)k;
  }
  return 0;
}

/* The zone of hours, days and dates: --tz, else usage.timezone of the table
 * the state dir's qcc-run serves (GET /status), else of the one `qccc
 * start` started it with (run.json), else local time. */
static void served_zone(const char *dir, char *zone, size_t cap) {
  zone[0] = '\0';
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return; /* never create it */
  struct qcc_instance *inst = NULL;
  struct qcc_err e = {0};
  if (qcc_instance_new(dir, &inst, &e) != 0) return;
  char table[QCC_INSTANCE_PATH_MAX] = "";
  struct qcc_run_info info;
  if (qcc_instance_served_table(inst, table, sizeof table) != 0) {
    table[0] = '\0';
    if (qcc_instance_info_load(inst, &info, &e) == 0) snprintf(table, sizeof table, "%s", info.table);
  }
  qcc_instance_free(&inst);
  struct qcc_table *t = NULL;
  struct qcc_table_error te;
  if (table[0] != '\0' && qcc_table_open(table, &t, &te) == 0) {
    snprintf(zone, cap, "%s", qcc_table_str(t, qcc_table_settings(t)->usage_timezone));
    qcc_table_close(&t);
  }
}

static int use_zone(struct opts *o, const char *dir, FILE *err) {
  if (o->tz != NULL) snprintf(o->zone, sizeof o->zone, "%s", o->tz);
  else served_zone(dir, o->zone, sizeof o->zone);
  if (o->zone[0] == '\0') snprintf(o->zone, sizeof o->zone, "local");
  if (!qcc_zone_known(o->zone)) {
    if (o->tz != NULL) {
      fprintf(err, "qccc usage: --tz %s: not a zone of this machine's tz database\n", o->tz);
      return -1;
    }
    snprintf(o->zone, sizeof o->zone, "local"); /* the table was built elsewhere */
  }
  if (strcmp(o->zone, "local") != 0) {
    setenv("TZ", o->zone, 1);
    tzset();
  }
  return 0;
}

static int parse_opts(int argc, char **argv, int64_t now, struct opts *o, FILE *err) {
  bool missing = false;
  const char *dirflag = qcc_statedir_take_flag(&argc, argv, &missing);
  if (missing) {
    fprintf(err, "qccc usage: --state-dir needs a directory\n");
    return -1;
  }
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "export") == 0) {
    if (argc < 3 || argv[2][0] == '-') {
      fprintf(err, "qccc usage export: name the FILE (.csv or .json)\n");
      return -1;
    }
    o->export_path = argv[2];
    const char *dot = strrchr(o->export_path, '.');
    if (dot != NULL && strcmp(dot, ".csv") == 0) o->fmt = F_CSV;
    else if (dot != NULL && strcmp(dot, ".json") == 0) o->fmt = F_JSON;
    else {
      fprintf(err, "qccc usage export: %s: the name must end in .csv or .json\n", o->export_path);
      return -1;
    }
    first = 3;
  }
  static const struct option lo[] = {{"since", required_argument, NULL, 's'},
                                     {"until", required_argument, NULL, 'u'},
                                     {"by", required_argument, NULL, 'b'},
                                     {"json", no_argument, NULL, 'j'},
                                     {"csv", no_argument, NULL, 'c'},
                                     {"tz", required_argument, NULL, 'z'},
                                     {NULL, 0, NULL, 0}};
  int sub_argc = argc - first + 1;
  char **sub_argv = argv + first - 1;
  optind = 0;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(sub_argc, sub_argv, "", lo, NULL)) != -1) {
    switch (ch) {
    case 's':
    case 'u': {
      /* parsed once the zone is known: a date is its midnight */
      if (ch == 's') o->since_text = optarg;
      else o->until_text = optarg;
      break;
    }
    case 'b':
      if (add_by(o, optarg, err) != 0) return -1;
      break;
    case 'z':
      o->tz = optarg;
      break;
    case 'j':
      if (o->export_path == NULL) o->fmt = F_JSON;
      break;
    case 'c':
      if (o->export_path == NULL) o->fmt = F_CSV;
      break;
    default:
      fprintf(err, "qccc usage: unknown option %s\n", sub_argv[optind - 1]);
      return -1;
    }
  }
  if (optind < sub_argc) {
    fprintf(err, "qccc usage: unexpected argument '%s'\n", sub_argv[optind]);
    return -1;
  }
  if (o->nby == 0) o->by[o->nby++] = K_ENDPOINT;
  struct qcc_err e = {0};
  char dir[4096];
  if (qcc_statedir_resolve(dirflag, dir, sizeof dir, &e) != 0 ||
      qcc_statedir_path(dir, QCC_USAGE_FILE, o->path, sizeof o->path, &e) != 0) {
    fprintf(err, "qccc usage: %s\n", e.msg);
    return -1;
  }
  if (use_zone(o, dir, err) != 0) return -1;
  const char *tx[2] = {o->since_text, o->until_text};
  for (int i = 0; i < 2; i++) {
    if (tx[i] == NULL) continue;
    int64_t t;
    if (parse_time(tx[i], now, &t) != 0) {
      fprintf(err, "qccc usage: --%s %s: not a time (24h, 7d, 2026-12-01, 2026-12-01T10:00Z)\n",
              i == 0 ? "since" : "until", tx[i]);
      return -1;
    }
    if (i == 0) o->since = t, o->have_since = true;
    else o->until = t, o->have_until = true;
  }
  return 0;
}

/* ---- aggregation ---- */
static void sums_add(struct sums *a, const struct qcc_usage_rec *r) {
  const int64_t v[5] = {r->input, r->output, r->cache_write_5m, r->cache_write_1h, r->cache_read};
  for (size_t k = 0; k < 5; k++)
    if (v[k] > 0) a->tok[k] += v[k];
  a->requests += r->requests;
  a->unknown += r->unknown;
  a->partial += r->partial;
  a->no_price += r->no_price;
  a->partly += r->partly_priced;
  a->errors += r->errors;
  a->attempts += r->attempts;
  if (r->unpriced_tokens > 0) a->unpriced_tokens += (uint64_t)r->unpriced_tokens;
  if (r->cost != QCC_USAGE_NO_PRICE) {
    uint64_t c = r->cost > 0 ? (uint64_t)r->cost : 0;
    a->cost = a->cost > UINT64_MAX - c ? UINT64_MAX : a->cost + c;
    a->priced += r->requests - r->no_price;
  }
}

static const char *key_text(const struct qcc_usage_rec *r, enum key k) {
  switch (k) {
  case K_ENDPOINT: return r->endpoint;
  case K_PROFILE: return r->profile;
  case K_MODEL: return r->upstream_model;
  case K_CLIENT: return r->client;
  case K_SESSION: return r->session;
  case K_REQUEST: return r->request_id;
  case K_REQUESTED_MODEL: return r->model;
  default: return "";
  }
}

static int agg_grow(struct agg *a) {
  size_t ncap = a->cap ? a->cap * 2 : 256;
  struct group *ng = calloc(ncap, sizeof *ng);
  if (ng == NULL) return -1;
  for (size_t i = 0; i < a->cap; i++) {
    if (a->g[i].hash == 0) continue;
    size_t j = a->g[i].hash & (ncap - 1);
    while (ng[j].hash != 0) j = (j + 1) & (ncap - 1);
    ng[j] = a->g[i];
  }
  free(a->g);
  a->g = ng;
  a->cap = ncap;
  return 0;
}

static int agg_add(struct agg *a, const struct qcc_usage_rec *r) {
  const struct opts *o = a->o;
  const char *txt[MAX_BY];
  int64_t tk[MAX_BY];
  uint64_t h = 0x9e3779b97f4a7c15u;
  for (size_t i = 0; i < o->nby; i++) {
    tk[i] = o->by[i] == K_HOUR ? local_floor(r->time_ms, false)
            : o->by[i] == K_DAY ? local_floor(r->time_ms, true)
                                : 0;
    txt[i] = key_text(r, o->by[i]);
    h = XXH3_64bits_withSeed(txt[i], strlen(txt[i]), h ^ (uint64_t)tk[i]);
  }
  if (h == 0) h = 1;
  if ((a->n + 1) * 4 > a->cap * 3 && agg_grow(a) != 0) return -1;
  size_t j = h & (a->cap - 1);
  for (; a->g[j].hash != 0; j = (j + 1) & (a->cap - 1)) {
    if (a->g[j].hash != h) continue;
    bool same = true;
    for (size_t i = 0; i < o->nby && same; i++)
      same = a->g[j].tkey[i] == tk[i] && strcmp(a->g[j].text[i], txt[i]) == 0;
    if (same) {
      sums_add(&a->g[j].s, r);
      return 0;
    }
  }
  struct group *g = &a->g[j];
  for (size_t i = 0; i < o->nby; i++) {
    g->tkey[i] = tk[i];
    g->text[i] = strdup(txt[i]);
    if (g->text[i] == NULL) return -1;
  }
  g->hash = h;
  a->n++;
  sums_add(&g->s, r);
  return 0;
}

static int scan_cb(const struct qcc_jraw *raw, void *ud) {
  struct agg *a = ud;
  const struct opts *o = a->o;
  if (o->have_since && raw->time_ms < o->since) return 0;
  if (o->have_until && raw->time_ms >= o->until) return 0;
  struct qcc_usage_rec r;
  struct qcc_err e = {0};
  if (qcc_usage_decode(raw, &r, &e) != 0) return 0; /* a newer writer's type */
  sums_add(&a->total, &r);
  if (agg_add(a, &r) != 0) {
    a->oom = true;
    return 1;
  }
  return 0;
}

/* Groups in order: time keys ascending, else by total tokens, largest first. */
static const struct opts *sort_opts;
static int64_t group_tokens(const struct group *g) {
  return g->s.tok[0] + g->s.tok[1] + g->s.tok[2] + g->s.tok[3] + g->s.tok[4];
}
static int group_cmp(const void *pa, const void *pb) {
  const struct group *a = *(const struct group *const *)pa, *b = *(const struct group *const *)pb;
  for (size_t i = 0; i < sort_opts->nby; i++) {
    enum key k = sort_opts->by[i];
    if (k == K_HOUR || k == K_DAY) {
      if (a->tkey[i] != b->tkey[i]) return a->tkey[i] < b->tkey[i] ? -1 : 1;
    }
  }
  int64_t ta = group_tokens(a), tb = group_tokens(b);
  if (ta != tb) return ta > tb ? -1 : 1;
  for (size_t i = 0; i < sort_opts->nby; i++) {
    int c = strcmp(a->text[i], b->text[i]);
    if (c != 0) return c;
  }
  return 0;
}

/* ---- output ---- */
static void key_value(const struct opts *o, const struct group *g, size_t i, bool human, char *buf,
                      size_t cap) {
  enum key k = o->by[i];
  if (k == K_HOUR || k == K_DAY) {
    if (human) fmt_local(g->tkey[i], k == K_HOUR, buf, cap);
    else fmt_utc(g->tkey[i], buf, cap);
  } else if (human && g->text[i][0] == '\0') {
    snprintf(buf, cap, "%s",
             k == K_CLIENT                      ? "(none)"
             : k == K_SESSION || k == K_REQUEST ? "(none/rolled up)"
                                                : "-");
  } else {
    snprintf(buf, cap, "%s", g->text[i]);
  }
}

/* Dollars to the cent for big sums, to 1e-6 for small ones (a single
 * cheap request must not read $0.0000); --json has the exact figure. */
static void usd_text(uint64_t pico, char *buf, size_t cap) {
  uint64_t whole = pico / QCC_PICO_PER_USD, frac = pico % QCC_PICO_PER_USD;
  if (pico >= 100 * QCC_PICO_PER_USD)
    snprintf(buf, cap, "$%" PRIu64 ".%02" PRIu64, whole, frac / UINT64_C(10000000000));
  else if (pico >= QCC_PICO_PER_USD / 100)
    snprintf(buf, cap, "$%" PRIu64 ".%04" PRIu64, whole, frac / UINT64_C(100000000));
  else
    snprintf(buf, cap, "$%" PRIu64 ".%06" PRIu64, whole, frac / UINT64_C(1000000));
}

static void cost_text(const struct sums *s, char *buf, size_t cap) {
  if (s->priced == 0) {
    snprintf(buf, cap, "no price");
    return;
  }
  char usd[48];
  usd_text(s->cost, usd, sizeof usd);
  snprintf(buf, cap, "%s%s", usd, s->no_price > 0 ? " + no price" : s->partly > 0 ? " + unpriced" : "");
}

static void print_table(const struct opts *o, struct group **gs, size_t n, const struct sums *t,
                        FILE *out) {
  char from[64] = "the start", to[64] = "now";
  if (o->have_since) fmt_local(o->since, true, from, sizeof from);
  if (o->have_until) fmt_local(o->until, true, to, sizeof to);
  fprintf(out, "usage from %s to %s (%s time)\n", from, to, o->zone);
  struct qccc_texttable tt = {.cols = o->nby + 7};
  for (size_t c = o->nby; c < tt.cols; c++) tt.right[c] = true;
  const char *hdr[QCCC_TEXTTABLE_MAX_COLS];
  size_t c = 0;
  for (size_t i = 0; i < o->nby; i++) hdr[c++] = key_names[o->by[i]];
  const char *num_hdr[] = {"REQUESTS", "INPUT", "OUTPUT", "CACHE_W_5M", "CACHE_W_1H", "CACHE_READ",
                           "COST"};
  char up[MAX_BY][16];
  for (size_t i = 0; i < o->nby; i++) {
    size_t k = 0;
    for (; hdr[i][k] && k < 15; k++) up[i][k] = (char)(hdr[i][k] >= 'a' && hdr[i][k] <= 'z' ? hdr[i][k] - 32 : hdr[i][k]);
    up[i][k] = '\0';
    hdr[i] = up[i];
  }
  for (size_t k = 0; k < 7; k++) hdr[c++] = num_hdr[k];
  char cell[QCCC_TEXTTABLE_MAX_COLS][160];
  const char *row[QCCC_TEXTTABLE_MAX_COLS];
#define ROW_(r)                                                                                  \
  qccc_texttable_row(&tt, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], \
                     r[11])
  for (size_t k = c; k < QCCC_TEXTTABLE_MAX_COLS; k++) hdr[k] = "";
  ROW_(hdr);
  for (size_t gi = 0; gi <= n; gi++) {
    const struct sums *s = gi < n ? &gs[gi]->s : t;
    size_t k = 0;
    for (size_t i = 0; i < o->nby; i++, k++) {
      if (gi < n) key_value(o, gs[gi], i, true, cell[k], sizeof cell[k]);
      else snprintf(cell[k], sizeof cell[k], "%s", i == 0 ? "TOTAL" : "");
    }
    snprintf(cell[k++], sizeof cell[0], "%" PRIu64, s->requests);
    for (size_t j = 0; j < 5; j++) snprintf(cell[k++], sizeof cell[0], "%" PRId64, s->tok[j]);
    cost_text(s, cell[k], sizeof cell[k]);
    k++;
    for (size_t j = 0; j < QCCC_TEXTTABLE_MAX_COLS; j++) row[j] = j < k ? cell[j] : "";
    ROW_(row);
  }
#undef ROW_
  qccc_texttable_print(&tt, out, "", 0);
  if (t->no_price > 0)
    fprintf(out, "no price: %" PRIu64 " of %" PRIu64 " requests (%.0f%%): their tokens are counted, "
                 "not priced (see `pricing:` in docs/usage.md)\n",
            t->no_price, t->requests, t->requests ? 100.0 * (double)t->no_price / (double)t->requests : 0.0);
  if (t->partly > 0)
    fprintf(out, "partly priced: %" PRIu64 " request%s had tokens of a kind without a price\n",
            t->partly, t->partly == 1 ? "" : "s");
  if (t->unpriced_tokens > 0)
    fprintf(out, "unpriced tokens: %" PRIu64 " of %" PRId64 " (%.1f%%) are not in COST\n",
            t->unpriced_tokens, t->tok[0] + t->tok[1] + t->tok[2] + t->tok[3] + t->tok[4],
            100.0 * (double)t->unpriced_tokens /
                (double)(t->tok[0] + t->tok[1] + t->tok[2] + t->tok[3] + t->tok[4] > 0
                             ? t->tok[0] + t->tok[1] + t->tok[2] + t->tok[3] + t->tok[4]
                             : 1));
  if (t->unknown > 0)
    fprintf(out, "unknown: %" PRIu64 " requests reported no usable count of some kind (not added)\n",
            t->unknown);
  if (t->partial > 0)
    fprintf(out, "partial: %" PRIu64 " streams were cut short (what arrived is counted)\n", t->partial);
}

static json_t *sums_json(const struct sums *s) {
  json_t *j = json_object();
  json_object_set_new(j, "requests", json_integer((json_int_t)s->requests));
  static const char *const kinds[5] = {"input", "output", "cache_write_5m", "cache_write_1h",
                                       "cache_read"};
  json_t *t = json_object();
  for (size_t k = 0; k < 5; k++) json_object_set_new(t, kinds[k], json_integer(s->tok[k]));
  json_object_set_new(j, "tokens", t);
  /* exact: a decimal string and the integer pico-USD (1e-12) it came from */
  char usd[48];
  qcc_pico_usd_text(s->cost, usd, sizeof usd);
  json_object_set_new(j, "cost_usd", s->priced ? json_string(usd) : json_null());
  json_object_set_new(j, "cost_pico_usd",
                      s->priced ? json_integer((json_int_t)(s->cost > INT64_MAX ? INT64_MAX : s->cost))
                                : json_null());
  json_object_set_new(j, "no_price_requests", json_integer((json_int_t)s->no_price));
  json_object_set_new(j, "partly_priced_requests", json_integer((json_int_t)s->partly));
  json_object_set_new(j, "unpriced_tokens", json_integer((json_int_t)s->unpriced_tokens));
  json_object_set_new(j, "unknown_requests", json_integer((json_int_t)s->unknown));
  json_object_set_new(j, "partial_requests", json_integer((json_int_t)s->partial));
  json_object_set_new(j, "error_requests", json_integer((json_int_t)s->errors));
  json_object_set_new(j, "attempts", json_integer((json_int_t)s->attempts));
  return j;
}

static void print_json(const struct opts *o, struct group **gs, size_t n, const struct sums *t,
                       FILE *out) {
  json_t *root = json_object();
  char b[64];
  if (o->have_since) fmt_utc(o->since, b, sizeof b);
  json_object_set_new(root, "since", o->have_since ? json_string(b) : json_null());
  if (o->have_until) fmt_utc(o->until, b, sizeof b);
  json_object_set_new(root, "until", o->have_until ? json_string(b) : json_null());
  json_t *by = json_array();
  for (size_t i = 0; i < o->nby; i++) json_array_append_new(by, json_string(key_names[o->by[i]]));
  json_object_set_new(root, "by", by);
  json_t *arr = json_array();
  for (size_t gi = 0; gi < n; gi++) {
    json_t *g = sums_json(&gs[gi]->s);
    for (size_t i = 0; i < o->nby; i++) {
      char v[300];
      key_value(o, gs[gi], i, false, v, sizeof v);
      json_object_set_new(g, key_names[o->by[i]], json_string(v));
    }
    json_array_append_new(arr, g);
  }
  json_object_set_new(root, "groups", arr);
  json_object_set_new(root, "total", sums_json(t));
  json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  fputc('\n', out);
  json_decref(root);
}

static void csv_field(const char *s, FILE *out) {
  if (strpbrk(s, ",\"\n\r") == NULL) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"') fputc('"', out);
    fputc(*s, out);
  }
  fputc('"', out);
}

static void print_csv(const struct opts *o, struct group **gs, size_t n, FILE *out) {
  for (size_t i = 0; i < o->nby; i++) fprintf(out, "%s,", key_names[o->by[i]]);
  fputs("requests,input,output,cache_write_5m,cache_write_1h,cache_read,cost_usd,"
        "no_price_requests,unknown_requests,partial_requests,error_requests,"
        "partly_priced_requests,unpriced_tokens\n", out);
  for (size_t gi = 0; gi < n; gi++) {
    const struct sums *s = &gs[gi]->s;
    for (size_t i = 0; i < o->nby; i++) {
      char v[300];
      key_value(o, gs[gi], i, false, v, sizeof v);
      csv_field(v, out);
      fputc(',', out);
    }
    fprintf(out, "%" PRIu64, s->requests);
    for (size_t k = 0; k < 5; k++) fprintf(out, ",%" PRId64, s->tok[k]);
    char usd[48] = "";
    if (s->priced) qcc_pico_usd_text(s->cost, usd, sizeof usd);
    fprintf(out, ",%s", usd);
    fprintf(out, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
            s->no_price, s->unknown, s->partial, s->errors, s->partly, s->unpriced_tokens);
  }
}

int qccc_usage_cmd(int argc, char **argv, int64_t now_ms, FILE *out, FILE *errout) {
  struct opts o = {0};
  if (parse_opts(argc, argv, now_ms, &o, errout) != 0) return EXIT_USAGE;
  const uint8_t *buf;
  size_t len;
  struct qcc_err e = {0};
  if (qcc_usage_map(o.path, &buf, &len, &e) != 0) {
    fprintf(errout, "qccc usage: %s\n", e.msg);
    return EXIT_USAGE;
  }
  struct agg a = {.o = &o};
  struct qcc_jscan_result res;
  int rc = EXIT_OK;
  qcc_usage_scan(buf, len, scan_cb, &a, &res);
  if (res.status == QCC_JSCAN_NOT_JOURNAL || res.status == QCC_JSCAN_BAD_VERSION ||
      res.status == QCC_JSCAN_BAD_HEADER) {
    fprintf(errout, "qccc usage: %s: %s\n", o.path, res.why);
    rc = EXIT_USAGE;
  } else if (res.status == QCC_JSCAN_CORRUPT) {
    fprintf(errout, "qccc usage: %s: %s; showing the records before it\n", o.path, res.why);
    rc = EXIT_DAMAGED;
  }
  if (a.oom) {
    fprintf(errout, "qccc usage: out of memory\n");
    rc = EXIT_USAGE;
  }
  struct group **gs = a.n ? calloc(a.n, sizeof *gs) : NULL;
  size_t n = 0;
  for (size_t i = 0; i < a.cap && (gs != NULL || a.n == 0); i++)
    if (a.g[i].hash != 0) gs[n++] = &a.g[i];
  sort_opts = &o;
  if (n > 1) qsort(gs, n, sizeof *gs, group_cmp);
  if (rc != EXIT_USAGE) {
    FILE *dst = out;
    if (o.export_path != NULL && (dst = fopen(o.export_path, "w")) == NULL) {
      fprintf(errout, "qccc usage export: cannot write %s: %s\n", o.export_path, strerror(errno));
      rc = EXIT_USAGE;
    } else {
      if (o.fmt == F_JSON) print_json(&o, gs, n, &a.total, dst);
      else if (o.fmt == F_CSV) print_csv(&o, gs, n, dst);
      else print_table(&o, gs, n, &a.total, dst);
      if (dst != out) {
        if (fclose(dst) != 0) {
          fprintf(errout, "qccc usage export: cannot write %s: %s\n", o.export_path, strerror(errno));
          rc = EXIT_USAGE;
        } else {
          fprintf(out, "wrote %zu rows to %s\n", n, o.export_path);
        }
      }
    }
  }
  free(gs);
  for (size_t i = 0; i < a.cap; i++)
    for (size_t k = 0; k < o.nby; k++) free(a.g[i].text[k]);
  free(a.g);
  qcc_usage_unmap(buf, len);
  return rc;
}
