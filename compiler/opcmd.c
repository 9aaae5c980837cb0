#include "opcmd.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compiler/adminclient.h"
#include "compiler/argscan.h"
#include "compiler/editcmd.h"
#include "compiler/freshness.h"
#include "compiler/texttable.h"
#include "compiler/todaycell.h"
#include "schema/statedir.h"

#define OP_OK 0
#define OP_FAIL 1
#define OP_USAGE 2

#define MAX_ARGS 32
#define TEXT_FIT 100 /* columns a table fits in unless --wide */
#define LONG_TIMEOUT_MS (10 * 60 * 1000) /* checks and replays wait for upstreams */

/* ---- options ------------------------------------------------------------- */

struct opts {
  bool json, help, follow, auto_mode;
  bool yes;  /* -y: destructive commands do not ask */
  bool wide; /* tables as wide as their cells, not fitted to 100 columns */
  const char *config; /* -c FILE: endpoint list's listing, status's comparison */
  const char *state_dir;
  const char *reason;
  const char *endpoint;  /* logs --endpoint */
  const char *file;      /* logs --file */
  long status;           /* logs --status, 0 = any */
  long lines;            /* logs -n */
  double for_s;          /* logs --for, 0 = until interrupted */
  bool config_given;     /* endpoint list -c FILE: the config listing */
  const char *pos[MAX_ARGS];
  int npos;
  /* the words for the config-listing fallback, without our flags */
  char *rest[MAX_ARGS];
  int nrest;
};

struct ctx {
  FILE *out, *err;
  struct opts o;
  char sock[4096];
};

static int usage(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage(struct ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(c->err, "qccc: ");
  vfprintf(c->err, fmt, ap);
  fprintf(c->err, "\n  hint: run `qccc --help`\n");
  va_end(ap);
  return OP_USAGE;
}

static bool parse_long(const char *s, long lo, long hi, long *out) {
  if (s == NULL || *s == '\0') return false;
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

/* The value of "--name V" or "--name=V"; advances *i. NULL + *bad when missing. */
static const char *flag_value(int argc, char **argv, int *i, const char *name, bool *bad) {
  size_t nl = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, name, nl) == 0 && a[nl] == '=') return a + nl + 1;
  if (*i + 1 >= argc) {
    *bad = true;
    return NULL;
  }
  return argv[++*i];
}

static int parse_opts(struct ctx *c, int argc, char **argv) {
  struct opts *o = &c->o;
  o->lines = 20;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    bool bad = false;
    if (strcmp(a, "--json") == 0) {
      o->json = true;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      o->help = true;
    } else if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0) {
      o->follow = true;
    } else if (strcmp(a, "--auto") == 0) {
      o->auto_mode = true;
    } else if (strcmp(a, "-y") == 0 || strcmp(a, "--yes") == 0) {
      o->yes = true;
    } else if (strcmp(a, "--wide") == 0) {
      o->wide = true;
    } else if (qcc_arg_is(a, "--state-dir")) {
      o->state_dir = flag_value(argc, argv, &i, "--state-dir", &bad);
    } else if (qcc_arg_is(a, "--reason")) {
      o->reason = flag_value(argc, argv, &i, "--reason", &bad);
    } else if (qcc_arg_is(a, "--endpoint")) {
      o->endpoint = flag_value(argc, argv, &i, "--endpoint", &bad);
    } else if (qcc_arg_is(a, "--file")) {
      o->file = flag_value(argc, argv, &i, "--file", &bad);
    } else if (qcc_arg_is(a, "--status")) {
      const char *v = flag_value(argc, argv, &i, "--status", &bad);
      if (!bad && !parse_long(v, 100, 599, &o->status))
        return usage(c, "--status needs an HTTP status (100-599), not \"%s\"", v);
    } else if (strcmp(a, "-n") == 0 || qcc_arg_is(a, "--lines")) {
      const char *v = strcmp(a, "-n") == 0 ? (i + 1 < argc ? argv[++i] : NULL)
                                           : flag_value(argc, argv, &i, "--lines", &bad);
      if (v == NULL) bad = true;
      else if (!parse_long(v, 0, 100000, &o->lines))
        return usage(c, "-n needs a number of lines (0-100000), not \"%s\"", v);
    } else if (qcc_arg_is(a, "--for")) {
      const char *v = flag_value(argc, argv, &i, "--for", &bad);
      long s = 0;
      if (!bad && !parse_long(v, 1, 86400 * 365, &s))
        return usage(c, "--for needs a number of seconds, not \"%s\"", v);
      o->for_s = (double)s;
    } else if (strcmp(a, "-c") == 0 || qcc_arg_is(a, "--config")) {
      /* Only `endpoint list` takes it (the config listing); keep it for that. */
      o->config_given = true;
      if (o->nrest + 2 > MAX_ARGS) return usage(c, "too many arguments");
      o->rest[o->nrest++] = argv[i];
      if (strchr(a, '=') == NULL) {
        if (i + 1 >= argc) bad = true;
        else o->config = o->rest[o->nrest++] = argv[++i];
      } else {
        o->config = strchr(a, '=') + 1;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      return usage(c, "unknown option %s", a);
    } else {
      if (o->npos >= MAX_ARGS || o->nrest >= MAX_ARGS) return usage(c, "too many arguments");
      o->pos[o->npos++] = a;
      o->rest[o->nrest++] = argv[i];
    }
    if (bad) return usage(c, "option %s needs a value", a);
  }
  return OP_OK;
}

/* ---- talking to qcc-run -------------------------------------------------- */

static int call(struct ctx *c, const char *method, const char *path, const char *body,
                int timeout_ms, struct qcc_admin_reply *r) {
  struct qcc_err err = {0};
  if (c->sock[0] == '\0' &&
      qcc_admin_socket_path(c->o.state_dir, c->sock, sizeof c->sock, &err) != 0) {
    fprintf(c->err, "qccc: %s\n  hint: pass --state-dir DIR or set QCC_STATE_DIR\n", err.msg);
    return OP_FAIL;
  }
  if (qcc_admin_call(c->sock, method, path, body, timeout_ms, r, &err) != 0) {
    fprintf(c->err, "qccc: %s\n", err.msg);
    return OP_FAIL;
  }
  if (r->status < 200 || r->status > 299) {
    fprintf(c->err, "qccc: qcc-run: %s (HTTP %d)\n", qcc_admin_reply_error_text(r), r->status);
    if (c->o.json && r->json != NULL) {
      char *s = json_dumps(r->json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
      if (s != NULL) fprintf(c->out, "%s\n", s);
      free(s);
    }
    qcc_admin_reply_free(r);
    return OP_FAIL;
  }
  if (r->json == NULL && strcmp(path, "/metrics") != 0) {
    fprintf(c->err, "qccc: qcc-run at %s answered with something that is not JSON\n", c->sock);
    qcc_admin_reply_free(r);
    return OP_FAIL;
  }
  return OP_OK;
}

static void print_json(struct ctx *c, const json_t *j) {
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s != NULL) fprintf(c->out, "%s\n", s);
  free(s);
}

/* URL-encode one path segment or query value. */
static void enc(const char *s, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t k = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p && k + 4 < cap; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      out[k++] = (char)*p;
    } else {
      out[k++] = '%';
      out[k++] = hex[*p >> 4];
      out[k++] = hex[*p & 15];
    }
  }
  out[k] = '\0';
}

/* ---- JSON field access and formatting ------------------------------------ */

static const char *js(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s != NULL ? s : "";
}

static long long ji(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (long long)json_integer_value(v) : (long long)json_number_value(v);
}

static bool jb(const json_t *o, const char *k) { return json_is_true(json_object_get(o, k)); }

static const char *plural(long long n) { return n == 1 ? "" : "s"; }

/* "2h 03m", "4m 10s", "12s". */
static void fmt_dur(long long s, char *out, size_t cap) {
  if (s < 0) s = 0;
  if (s >= 86400) snprintf(out, cap, "%lldd %02lldh", s / 86400, s % 86400 / 3600);
  else if (s >= 3600) snprintf(out, cap, "%lldh %02lldm", s / 3600, s % 3600 / 60);
  else if (s >= 60) snprintf(out, cap, "%lldm %02llds", s / 60, s % 60);
  else snprintf(out, cap, "%llds", s);
}

/* ISO "2026-11-26T04:10:02.123Z" -> unix seconds; -1 when not one. */
static long long parse_iso(const char *s) {
  struct tm tm = {0};
  if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                          &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (long long)timegm(&tm);
}

/* "12s ago", or "-" for null. */
static void fmt_ago(const json_t *v, char *out, size_t cap) {
  long long t = parse_iso(json_string_value(v));
  if (t < 0) {
    snprintf(out, cap, "-");
    return;
  }
  char d[32];
  fmt_dur((long long)time(NULL) - t, d, sizeof d);
  snprintf(out, cap, "%s ago", d);
}

/* "2026-11-26 05:10:02 CET" (local time and its zone: people read these;
 * --json keeps the server's UTC) from an ISO time; "-" for null. */
static void fmt_time(const json_t *v, char *out, size_t cap) {
  long long t = parse_iso(json_string_value(v));
  struct tm tm;
  time_t tt = (time_t)t;
  if (t < 0 || localtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
    snprintf(out, cap, "-");
}

/* ---- status -------------------------------------------------------------- */

/* The config on disk against the running table: -c FILE, else $QCC_CONFIG,
 * else ./qcc.yaml when there is one. */
static void status_drift(struct ctx *c, const json_t *j) {
  const json_t *t = json_object_get(j, "table");
  if (!json_is_object(t)) return;
  const char *env = getenv("QCC_CONFIG");
  const char *config = c->o.config != NULL ? c->o.config : env != NULL && env[0] ? env : "qcc.yaml";
  struct stat st;
  if (c->o.config == NULL && stat(config, &st) != 0) return;
  const char *path = json_string_value(json_object_get(t, "path"));
  qccc_report_drift(config, js(t, "digest"), (uint64_t)ji(t, "generation"), path, c->out);
}

/* Endpoints whose key qcc-run could not resolve (GET /endpoints key_problem). */
static void status_keys(struct ctx *c) {
  struct qcc_admin_reply r;
  struct qcc_err err = {0};
  if (qcc_admin_call(c->sock, "GET", "/endpoints", NULL, 5000, &r, &err) != 0) return;
  size_t i;
  const json_t *e;
  json_array_foreach(json_object_get(r.json, "endpoints"), i, e) {
    if (!json_is_string(json_object_get(e, "key_problem"))) continue;
    fprintf(c->out, "warning      endpoint %s has no key: %s (qcc-run's environment); it takes\n"
                    "             no requests until a reload finds one\n",
            js(e, "id"), js(e, "key_problem"));
  }
  qcc_admin_reply_free(&r);
}

/* "today        up1 1.2k tok $0.0012 budget spent": per endpoint that
 * spent something today or has a budget. */
static void status_today(struct ctx *c, const json_t *sp) {
  size_t i;
  const json_t *e;
  bool first = true;
  json_array_foreach(sp, i, e) {
    if (ji(json_object_get(e, "today"), "tokens") == 0 && !json_is_object(json_object_get(e, "budget")))
      continue;
    char td[64];
    qccc_today_cell(e, td, sizeof td);
    fprintf(c->out, "%-13s%s %s\n", first ? "today" : "", js(e, "id"), td);
    first = false;
  }
}

static int cmd_status(struct ctx *c) {
  if (c->o.npos != 1) return usage(c, "usage: qccc status [--json] [--state-dir DIR]");
  struct qcc_admin_reply r;
  int rc = call(c, "GET", "/status", NULL, 0, &r);
  if (rc != OP_OK) return rc;
  const json_t *j = r.json;
  if (c->o.json) {
    print_json(c, j);
    qcc_admin_reply_free(&r);
    return OP_OK;
  }
  char up[32], t1[40], t2[40];
  fmt_dur(ji(j, "uptime_s"), up, sizeof up);
  fmt_time(json_object_get(j, "started_at"), t1, sizeof t1);
  fprintf(c->out, "qcc-run %s  pid %lld, up %s (since %s)\n", js(j, "version"), ji(j, "pid"),
          up, t1);
  const json_t *t = json_object_get(j, "table");
  if (json_is_object(t)) {
    fmt_time(json_object_get(t, "built_at"), t2, sizeof t2);
    fprintf(c->out, "table        %s: generation %lld, %lld profile%s, %lld endpoint%s (built %s)\n",
            js(t, "path")[0] ? js(t, "path") : "(unknown path)", ji(t, "generation"),
            ji(t, "profiles"), plural(ji(t, "profiles")), ji(t, "endpoints"),
            plural(ji(t, "endpoints")), t2);
  } else {
    fprintf(c->out, "table        none loaded\n");
  }
  const json_t *lr = json_object_get(j, "last_reload");
  if (json_is_object(lr)) {
    fmt_time(json_object_get(lr, "time"), t2, sizeof t2);
    if (jb(lr, "ok"))
      fprintf(c->out, "last reload  ok at %s (generation %lld)\n", t2, ji(lr, "generation"));
    else
      fprintf(c->out, "last reload  REJECTED at %s: %s (the previous table keeps serving)\n",
              t2, js(lr, "error"));
  } else {
    fprintf(c->out, "last reload  none since start\n");
  }
  const json_t *ro = json_object_get(j, "routing");
  fmt_time(json_object_get(ro, "active_since"), t2, sizeof t2);
  if (jb(ro, "pinned") && js(ro, "pin_profile")[0])
    fprintf(c->out, "active       %s (pinned)\n", js(ro, "pin_profile"));
  else if (json_is_string(json_object_get(ro, "active_profile")))
    fprintf(c->out, "active       %s (%s) since %s\n", js(ro, "active_profile"),
            js(ro, "active_group"), t2);
  else
    fprintf(c->out, "active       no profile can take requests\n");
  if (jb(ro, "pinned"))
    fprintf(c->out, "switching    pinned to %s%s%s%s (`qccc priority switch --auto` resumes)\n",
            js(ro, "pin_profile"), js(ro, "pin_reason")[0] ? ": \"" : "", js(ro, "pin_reason"),
            js(ro, "pin_reason")[0] ? "\"" : "");
  else
    fprintf(c->out, "switching    automatic\n");
  const json_t *e = json_object_get(j, "endpoints");
  fprintf(c->out,
          "endpoints    %lld total, %lld available; %lld healthy, %lld degraded, %lld unhealthy; "
          "%lld breaker%s open, %lld disabled\n",
          ji(e, "total"), ji(e, "available"), ji(e, "healthy"), ji(e, "degraded"),
          ji(e, "unhealthy"), ji(e, "breaker_open"), plural(ji(e, "breaker_open")),
          ji(e, "disabled"));
  const json_t *q = json_object_get(j, "requests");
  fprintf(c->out,
          "requests     %lld total, %lld failed, %lld active, %lld waiting, %lld rejected; "
          "%lld retr%s, %lld failover%s\n",
          ji(q, "total"), ji(q, "failed"), ji(q, "active"), ji(q, "waiting"), ji(q, "rejected"),
          ji(q, "retries"), ji(q, "retries") == 1 ? "y" : "ies", ji(q, "failovers"),
          plural(ji(q, "failovers")));
  fprintf(c->out, "connections  %lld open\n", ji(json_object_get(j, "connections"), "active"));
  status_today(c, json_object_get(j, "spending"));
  const json_t *qu = json_object_get(j, "queue");
  if (json_is_object(qu)) {
    fprintf(c->out, "queue        %lld waiting (%lld retrying)", ji(qu, "depth"), ji(qu, "retrying"));
    if (json_is_integer(json_object_get(qu, "dead_letters")))
      fprintf(c->out, ", %lld dead letter%s", ji(qu, "dead_letters"),
              plural(ji(qu, "dead_letters")));
    fputc('\n', c->out);
  } else {
    fprintf(c->out, "queue        not available\n");
  }
  status_keys(c);
  status_drift(c, j);
  qcc_admin_reply_free(&r);
  return OP_OK;
}

/* ---- health -------------------------------------------------------------- */

/* closed / open (probe in 12s) / ready to probe / half-open: an open breaker
 * whose cooldown is over lets the next request through as a probe. */
static void breaker_text(const json_t *e, char *out, size_t cap) {
  const char *b = js(e, "breaker");
  if (strcmp(b, "open") == 0) {
    long long left = ji(e, "breaker_open_for_ms");
    if (left > 0) {
      char d[32];
      fmt_dur((left + 999) / 1000, d, sizeof d);
      snprintf(out, cap, "open (probe in %s)", d);
    } else {
      snprintf(out, cap, "ready to probe");
    }
  } else if (strcmp(b, "half_open") == 0) {
    snprintf(out, cap, "half-open");
  } else {
    snprintf(out, cap, "%s", b);
  }
}

/* "HTTP 503 (4m 10s ago)": the error and the age of the failure it came from. */
static void last_error_text(const json_t *e, char *out, size_t cap) {
  const char *err = js(e, "last_error");
  if (err[0] == '\0') {
    snprintf(out, cap, "-");
    return;
  }
  char ago[40];
  fmt_ago(json_object_get(e, "last_failure"), ago, sizeof ago);
  if (strcmp(ago, "-") == 0) snprintf(out, cap, "%s", err);
  else snprintf(out, cap, "%s (%s)", err, ago);
}

static void endpoint_rows(struct qccc_texttable *t, const json_t *arr) {
  size_t i;
  const json_t *e;
  json_array_foreach(arr, i, e) {
    char score[16], rate[24], avg[24], ago[40];
    snprintf(score, sizeof score, "%lld", ji(e, "score"));
    snprintf(rate, sizeof rate, "%.1f%%", json_number_value(json_object_get(e, "success_rate")));
    snprintf(avg, sizeof avg, "%.0f ms", json_number_value(json_object_get(e, "avg_ms")));
    fmt_ago(json_object_get(e, "last_check"), ago, sizeof ago);
    char br[48], le[400];
    breaker_text(e, br, sizeof br);
    last_error_text(e, le, sizeof le);
    qccc_texttable_row(t, js(e, "id"), js(e, "profile"), js(e, "health"), score, br, rate, avg, ago, le);
  }
}

/* `health check` in text: POST /health/check answers when every probe is
 * done (a hung endpoint holds it for its whole timeout), so a thread waits
 * for it while this one polls GET /endpoints and prints each endpoint whose
 * last check changed, as it finishes. */
struct check_job {
  const char *sock;
  struct qcc_admin_reply reply;
  struct qcc_err err;
  int rc;
  pthread_mutex_t mu;
  bool done;
};

static void *check_thread(void *arg) {
  struct check_job *job = arg;
  int rc = qcc_admin_call(job->sock, "POST", "/health/check", "{}", LONG_TIMEOUT_MS, &job->reply, &job->err);
  pthread_mutex_lock(&job->mu);
  job->rc = rc;
  job->done = true;
  pthread_mutex_unlock(&job->mu);
  return NULL;
}

static bool job_done(struct check_job *job) {
  pthread_mutex_lock(&job->mu);
  bool d = job->done;
  pthread_mutex_unlock(&job->mu);
  return d;
}

/* id -> "last_check|last_success" of every enabled endpoint, as a JSON object. */
static json_t *check_marks(struct ctx *c) {
  struct qcc_admin_reply r;
  struct qcc_err err = {0};
  if (qcc_admin_call(c->sock, "GET", "/endpoints", NULL, 5000, &r, &err) != 0) return NULL;
  json_t *m = json_object();
  size_t i;
  const json_t *e;
  json_array_foreach(json_object_get(r.json, "endpoints"), i, e) {
    if (!jb(e, "enabled") || jb(e, "operator_disabled")) continue;
    json_object_set_new(m, js(e, "id"),
                        json_pack("{s:s,s:s,s:s,s:I,s:s}", "check", js(e, "last_check"), "success",
                                  js(e, "last_success"), "health", js(e, "health"), "score",
                                  (json_int_t)ji(e, "score"), "error", js(e, "last_error")));
  }
  qcc_admin_reply_free(&r);
  return m;
}

static int health_check_streamed(struct ctx *c, struct qcc_admin_reply *out) {
  struct qcc_err err = {0};
  if (c->sock[0] == '\0' && qcc_admin_socket_path(c->o.state_dir, c->sock, sizeof c->sock, &err) != 0)
    return call(c, "POST", "/health/check", "{}", LONG_TIMEOUT_MS, out); /* reports it */
  json_t *before = check_marks(c);
  if (before == NULL) return call(c, "POST", "/health/check", "{}", LONG_TIMEOUT_MS, out);
  struct check_job job = {.sock = c->sock};
  pthread_mutex_init(&job.mu, NULL);
  pthread_t th;
  if (pthread_create(&th, NULL, check_thread, &job) != 0) {
    pthread_mutex_destroy(&job.mu);
    json_decref(before);
    return call(c, "POST", "/health/check", "{}", LONG_TIMEOUT_MS, out);
  }
  fprintf(c->out, "checking %zu endpoint%s...\n", json_object_size(before),
          json_object_size(before) == 1 ? "" : "s");
  fflush(c->out);
  json_t *shown = json_object();
  while (!job_done(&job)) {
    nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
    json_t *now = check_marks(c);
    const char *id;
    json_t *m;
    json_object_foreach(now, id, m) {
      const json_t *b = json_object_get(before, id);
      if (json_object_get(shown, id) != NULL || b == NULL || strcmp(js(b, "check"), js(m, "check")) == 0)
        continue;
      bool ok = strcmp(js(b, "success"), js(m, "success")) != 0;
      fprintf(c->out, "  %s %s: %s, score %lld%s%s\n", ok ? "✓" : "✗", id, js(m, "health"), ji(m, "score"),
              !ok && js(m, "error")[0] ? ": " : "", ok ? "" : js(m, "error"));
      fflush(c->out);
      json_object_set_new(shown, id, json_true());
    }
    json_decref(now);
  }
  pthread_join(th, NULL);
  pthread_mutex_destroy(&job.mu);
  json_decref(before);
  json_decref(shown);
  if (job.rc != 0) {
    fprintf(c->err, "qccc: %s\n", job.err.msg);
    return OP_FAIL;
  }
  if (job.reply.status < 200 || job.reply.status > 299 || job.reply.json == NULL) {
    fprintf(c->err, "qccc: qcc-run: %s (HTTP %d)\n", qcc_admin_reply_error_text(&job.reply), job.reply.status);
    qcc_admin_reply_free(&job.reply);
    return OP_FAIL;
  }
  fputc('\n', c->out);
  *out = job.reply;
  return OP_OK;
}

static int cmd_health(struct ctx *c) {
  const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
  bool check = strcmp(sub, "check") == 0;
  if (c->o.npos != 2 || (!check && strcmp(sub, "status") != 0))
    return usage(c, "usage: qccc health status | check | history ENDPOINT  [--json]");
  struct qcc_admin_reply r;
  int rc = check && !c->o.json ? health_check_streamed(c, &r)
           : check             ? call(c, "POST", "/health/check", "{}", LONG_TIMEOUT_MS, &r)
                               : call(c, "GET", "/health", NULL, 0, &r);
  if (rc != OP_OK) return rc;
  const json_t *j = r.json;
  int result = OP_OK;
  if (check) {
    size_t i;
    const json_t *e;
    long long bad = 0;
    json_array_foreach(json_object_get(j, "results"), i, e) bad += !jb(e, "ok");
    if (c->o.json) {
      print_json(c, j);
    } else {
      struct qccc_texttable t = {.cols = 7};
      t.right[3] = t.right[5] = true;
      qccc_texttable_row(&t, "ENDPOINT", "RESULT", "STATUS", "LATENCY", "HEALTH", "SCORE", "DETAIL");
      json_array_foreach(json_object_get(j, "results"), i, e) {
        char st[16], lat[24], sc[16];
        snprintf(st, sizeof st, "%lld", ji(e, "status"));
        snprintf(lat, sizeof lat, "%lld ms", ji(e, "latency_ms"));
        snprintf(sc, sizeof sc, "%lld", ji(e, "score"));
        qccc_texttable_row(&t, js(e, "id"), jb(e, "ok") ? "✓ ok" : "✗ failed",
                ji(e, "status") != 0 ? st : "-", lat, js(e, "health"),
                json_object_get(e, "score") != NULL ? sc : "-", js(e, "detail"));
      }
      qccc_texttable_print(&t, c->out, "", c->o.wide ? 0 : TEXT_FIT);
      fprintf(c->out, "\nchecked %lld endpoint%s: %lld ok, %lld failed\n", ji(j, "checked"),
              plural(ji(j, "checked")), ji(j, "checked") - bad, bad);
    }
    if (bad > 0) result = OP_FAIL;
  } else if (c->o.json) {
    print_json(c, j);
  } else {
    struct qccc_texttable t = {.cols = 9};
    t.right[3] = t.right[5] = t.right[6] = true;
    qccc_texttable_row(&t, "ENDPOINT", "PROFILE", "STATUS", "SCORE", "BREAKER", "SUCCESS", "AVG",
            "LAST CHECK", "LAST ERROR");
    endpoint_rows(&t, json_object_get(j, "endpoints"));
    qccc_texttable_print(&t, c->out, "", c->o.wide ? 0 : TEXT_FIT);
    const json_t *s = json_object_get(j, "summary");
    fprintf(c->out, "\n%lld healthy, %lld degraded, %lld unhealthy\n", ji(s, "healthy"),
            ji(s, "degraded"), ji(s, "unhealthy"));
  }
  qcc_admin_reply_free(&r);
  return result;
}

/* ---- endpoint ------------------------------------------------------------ */

static int endpoint_list_config(struct ctx *c) {
  char *argv[MAX_ARGS + 1];
  int n = 0;
  for (int i = 1; i < c->o.nrest; i++) argv[n++] = c->o.rest[i]; /* drop the word "endpoint" */
  argv[n] = NULL;
  return qccc_edit_cmd("endpoint", n, argv, stdin, c->out, c->err);
}

static void state_text(const json_t *e, char *out, size_t cap) {
  if (jb(e, "operator_disabled"))
    snprintf(out, cap, "off (operator%s%s)", js(e, "disabled_reason")[0] ? ": " : "",
             js(e, "disabled_reason"));
  else if (!jb(e, "enabled")) snprintf(out, cap, "off (config)");
  else if (jb(e, "key_rejected")) snprintf(out, cap, "on, key rejected");
  else if (ji(e, "resting_for_ms") > 0 && strcmp(js(e, "rest_reason"), "budget") == 0) {
    char d[32];
    fmt_dur(ji(e, "resting_for_ms") / 1000 + 1, d, sizeof d);
    snprintf(out, cap, "on, budget (%s)", d);
  } else if (ji(e, "resting_for_ms") > 0) snprintf(out, cap, "on, resting %llds",
                                                ji(e, "resting_for_ms") / 1000 + 1);
  else snprintf(out, cap, "%s", jb(e, "available") ? "on" : "on, unavailable");
}

static int endpoint_list(struct ctx *c) {
  if (c->o.npos > 3) return usage(c, "usage: qccc endpoint list [PROFILE] [--json]");
  if (c->o.config_given) return endpoint_list_config(c);
  char path[512] = "/endpoints";
  if (c->o.npos == 3) {
    char e[256];
    enc(c->o.pos[2], e, sizeof e);
    snprintf(path, sizeof path, "/endpoints?profile=%s", e);
  }
  struct qcc_admin_reply r;
  struct qcc_err err = {0};
  if (qcc_admin_socket_path(c->o.state_dir, c->sock, sizeof c->sock, &err) == 0 &&
      qcc_admin_call(c->sock, "GET", path, NULL, 0, &r, &err) != 0 &&
      err.code == QCC_ADMIN_NOT_RUNNING && !c->o.json) {
    fprintf(c->err, "qccc: %s\n  (listing the config file instead; live state needs qcc-run)\n",
            err.msg);
    return endpoint_list_config(c);
  }
  if (err.code != 0) {
    fprintf(c->err, "qccc: %s\n", err.msg);
    return OP_FAIL;
  }
  if (r.status != 200 || r.json == NULL) {
    fprintf(c->err, "qccc: qcc-run: %s (HTTP %d)\n", qcc_admin_reply_error_text(&r), r.status);
    qcc_admin_reply_free(&r);
    return OP_FAIL;
  }
  if (c->o.json) {
    print_json(c, r.json);
  } else {
    /* GROUP, WEIGHT, PRIO, SCORE and INFLIGHT only with --wide: the rest
     * (with TODAY) fits 100 columns */
    bool wide = c->o.wide;
    struct qccc_texttable t = {.cols = wide ? 12 : 7, .cut_first = wide ? 0 : 7};
    if (wide) t.right[4] = t.right[5] = t.right[7] = t.right[9] = true;
    if (wide)
      qccc_texttable_row(&t, "ID", "PROFILE", "GROUP", "STATE", "WEIGHT", "PRIO", "HEALTH", "SCORE", "BREAKER",
              "INFLIGHT", "TODAY", "BASE_URL");
    else
      qccc_texttable_row(&t, "ID", "PROFILE", "STATE", "HEALTH", "BREAKER", "TODAY", "BASE_URL");
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(r.json, "endpoints"), i, e) {
      char st[160], w[16], p[16], sc[16], inf[16];
      state_text(e, st, sizeof st);
      snprintf(w, sizeof w, "%lld", ji(e, "weight"));
      snprintf(p, sizeof p, "%lld", ji(e, "priority"));
      snprintf(sc, sizeof sc, "%lld", ji(e, "score"));
      snprintf(inf, sizeof inf, "%lld", ji(e, "inflight"));
      char br[48], td[64];
      breaker_text(e, br, sizeof br);
      qccc_today_cell(e, td, sizeof td);
      if (wide)
        qccc_texttable_row(&t, js(e, "id"), js(e, "profile"), js(e, "group"), st, w, p, js(e, "health"), sc, br,
                inf, td, js(e, "base_url"));
      else
        qccc_texttable_row(&t, js(e, "id"), js(e, "profile"), st, js(e, "health"), br, td,
                           js(e, "base_url"));
    }
    size_t n = json_array_size(json_object_get(r.json, "endpoints"));
    qccc_texttable_print(&t, c->out, "", c->o.wide ? 0 : TEXT_FIT);
    fprintf(c->out, "\n%zu endpoint%s (live state from qcc-run)\n", n, n == 1 ? "" : "s");
  }
  qcc_admin_reply_free(&r);
  return OP_OK;
}

static int endpoint_switch(struct ctx *c, bool enable) {
  if (c->o.npos != 3)
    return usage(c, "usage: qccc endpoint %s ID%s [--json]", enable ? "enable" : "disable",
                 enable ? "" : " [--reason TEXT]");
  char e[256], path[320];
  enc(c->o.pos[2], e, sizeof e);
  snprintf(path, sizeof path, "/endpoints/%s/%s", e, enable ? "enable" : "disable");
  char *body = NULL;
  if (c->o.reason != NULL) {
    json_t *b = json_pack("{s:s}", "reason", c->o.reason);
    body = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (body == NULL) return usage(c, "--reason must be UTF-8 text");
  }
  struct qcc_admin_reply r;
  int rc = call(c, "POST", path, body, 0, &r);
  free(body);
  if (rc != OP_OK) return rc;
  if (c->o.json) {
    print_json(c, r.json);
  } else if (enable) {
    fprintf(c->out, "✓ endpoint %s enabled (%s, %s)\n", js(r.json, "id"), js(r.json, "health"),
            jb(r.json, "available") ? "available" : "not available yet");
  } else {
    fprintf(c->out, "✓ endpoint %s disabled%s%s; `qccc endpoint enable %s` brings it back\n",
            js(r.json, "id"), js(r.json, "disabled_reason")[0] ? ": " : "",
            js(r.json, "disabled_reason"), js(r.json, "id"));
  }
  qcc_admin_reply_free(&r);
  return OP_OK;
}

static int endpoint_test(struct ctx *c) {
  if (c->o.npos != 3) return usage(c, "usage: qccc endpoint test ID [--json]");
  char e[256], path[320];
  enc(c->o.pos[2], e, sizeof e);
  snprintf(path, sizeof path, "/endpoints/%s/test", e);
  struct qcc_admin_reply r;
  int rc = call(c, "POST", path, "{}", LONG_TIMEOUT_MS, &r);
  if (rc != OP_OK) return rc;
  bool ok = jb(r.json, "ok");
  if (c->o.json) {
    print_json(c, r.json);
  } else {
    char st[32] = "no HTTP answer";
    if (ji(r.json, "status") != 0) snprintf(st, sizeof st, "HTTP %lld", ji(r.json, "status"));
    fprintf(c->out, "%s %s: %s in %lld ms%s%s\n", ok ? "✓" : "✗", js(r.json, "id"), st,
            ji(r.json, "latency_ms"), js(r.json, "detail")[0] ? ": " : "", js(r.json, "detail"));
  }
  qcc_admin_reply_free(&r);
  return ok ? OP_OK : OP_FAIL;
}

static int cmd_endpoint(struct ctx *c) {
  const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
  if (strcmp(sub, "list") == 0) return endpoint_list(c);
  if (strcmp(sub, "enable") == 0) return endpoint_switch(c, true);
  if (strcmp(sub, "disable") == 0) return endpoint_switch(c, false);
  if (strcmp(sub, "test") == 0) return endpoint_test(c);
  return usage(c, "usage: qccc endpoint list [PROFILE] | enable ID | disable ID | test ID");
}

/* ---- priority ------------------------------------------------------------ */

static void print_priority(struct ctx *c, const json_t *j) {
  static const char *groups[] = {"primary", "secondary", "fallback"};
  bool any_pinned = false;
  {
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(j, "profiles"), i, p) any_pinned |= jb(p, "pinned");
  }
  for (size_t g = 0; g < 3; g++) {
    bool header = false;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(j, "profiles"), i, p) {
      if (strcmp(js(p, "group"), groups[g]) != 0) continue;
      if (!header) {
        char up[16];
        snprintf(up, sizeof up, "%s", groups[g]);
        for (char *s = up; *s; s++) *s = (char)(*s - 'a' + 'A');
        fprintf(c->out, "%s%s\n", g > 0 ? "\n" : "", up);
        header = true;
      }
      char avail[64];
      if (!jb(p, "enabled")) snprintf(avail, sizeof avail, "disabled");
      else snprintf(avail, sizeof avail, "%lld/%lld endpoints available", ji(p, "available"),
                    ji(p, "endpoints"));
      const char *mark = jb(p, "pinned")                      ? "(active, pinned)"
                         : jb(p, "active")                    ? "(active)"
                                                              : "";
      /* one star: the pinned profile is the one serving while a pin holds */
      bool star = any_pinned ? jb(p, "pinned") : jb(p, "active");
      if (any_pinned && !jb(p, "pinned")) mark = "";
      fprintf(c->out, "  %s %-16s %-16s %s\n", star ? "*" : "-", js(p, "name"), mark, avail);
    }
  }
  const json_t *pin = json_object_get(j, "pinned");
  if (json_is_object(pin))
    fprintf(c->out, "\nmode: pinned to %s%s%s%s; `qccc priority switch --auto` resumes automatic "
                    "switching\n",
            js(pin, "profile"), js(pin, "reason")[0] ? " (\"" : "", js(pin, "reason"),
            js(pin, "reason")[0] ? "\")" : "");
  else
    fprintf(c->out, "\nmode: automatic (auto_switch %s, auto_recovery %s, cooldown %llds)\n",
            jb(j, "auto_switch") ? "on" : "off", jb(j, "auto_recovery") ? "on" : "off",
            ji(j, "cooldown_ms") / 1000);
}

static int cmd_priority(struct ctx *c) {
  const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
  struct qcc_admin_reply r;
  int rc;
  if (strcmp(sub, "list") == 0 && c->o.npos == 2) {
    rc = call(c, "GET", "/priority", NULL, 0, &r);
    if (rc != OP_OK) return rc;
    if (c->o.json) print_json(c, r.json);
    else print_priority(c, r.json);
    qcc_admin_reply_free(&r);
    return OP_OK;
  }
  if (strcmp(sub, "switch") != 0 || (c->o.auto_mode ? c->o.npos != 2 : c->o.npos != 3) ||
      (c->o.auto_mode && c->o.reason != NULL))
    return usage(c, "usage: qccc priority list | switch PROFILE [--reason TEXT] | switch --auto "
                    "| history");
  json_t *b = c->o.auto_mode
                  ? json_pack("{s:b}", "auto", 1)
                  : json_pack("{s:s,s:s}", "profile", c->o.pos[2], "reason",
                              c->o.reason != NULL ? c->o.reason : "");
  char *body = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
  json_decref(b);
  if (body == NULL) return usage(c, "profile names and reasons must be UTF-8 text");
  rc = call(c, "POST", "/priority/switch", body, 0, &r);
  free(body);
  if (rc != OP_OK) return rc;
  if (c->o.json) {
    print_json(c, r.json);
  } else if (c->o.auto_mode) {
    const json_t *a = json_object_get(r.json, "active");
    fprintf(c->out, "✓ automatic switching resumed; active profile: %s\n",
            json_is_object(a) ? js(a, "profile") : "none");
  } else {
    fprintf(c->out, "✓ switched to profile '%s' (pinned%s%s); `qccc priority switch --auto` "
                    "resumes automatic switching\n",
            c->o.pos[2], c->o.reason != NULL ? ", reason: " : "",
            c->o.reason != NULL ? c->o.reason : "");
  }
  qcc_admin_reply_free(&r);
  return OP_OK;
}

/* ---- queue --------------------------------------------------------------- */

static void fmt_bytes(long long n, char *out, size_t cap) {
  if (n >= 1 << 20) snprintf(out, cap, "%.1f MiB", (double)n / (1 << 20));
  else if (n >= 1 << 10) snprintf(out, cap, "%.1f KiB", (double)n / (1 << 10));
  else snprintf(out, cap, "%lld B", n);
}

static void print_queue_status(struct ctx *c, const json_t *j) {
  char wait[32];
  fmt_dur(ji(j, "max_wait_ms") / 1000, wait, sizeof wait);
  fprintf(c->out, "queue        %s, %lld waiting (%lld retrying); max %lld, %s, %lld retr%s, "
                  "max wait %s\n",
          json_object_get(j, "enabled") == NULL ? "?" : jb(j, "enabled") ? "enabled" : "disabled",
          ji(j, "depth"), ji(j, "retrying"), ji(j, "max_size"), js(j, "strategy"),
          ji(j, "max_retries"), ji(j, "max_retries") == 1 ? "y" : "ies", wait);
  const json_t *k = json_object_get(j, "counters");
  fprintf(c->out, "totals       %lld enqueued, %lld rejected, %lld expired, %lld succeeded, "
                  "%lld removed, %lld retries\n",
          ji(k, "enqueued"), ji(k, "rejected"), ji(k, "expired"), ji(k, "succeeded"),
          ji(k, "removed"), ji(k, "retries"));
  const json_t *d = json_object_get(j, "dead_letters");
  if (json_is_object(d)) {
    char b[32];
    fmt_bytes(ji(d, "bytes"), b, sizeof b);
    fprintf(c->out, "dead letters %lld kept (%s), %lld added, %lld dropped%s\n", ji(d, "count"),
            b, ji(d, "added"), ji(d, "dropped"),
            ji(d, "count") > 0 ? "; `qccc queue list` shows them" : "");
  } else {
    fprintf(c->out, "dead letters not available\n");
  }
}

static int queue_list(struct ctx *c) {
  struct qcc_admin_reply q, d;
  int rc = call(c, "GET", "/queue", NULL, 0, &q);
  if (rc != OP_OK) return rc;
  rc = call(c, "GET", "/queue/deadletters", NULL, 0, &d);
  if (rc != OP_OK) {
    qcc_admin_reply_free(&q);
    return rc;
  }
  if (c->o.json) {
    json_t *o = json_pack("{s:O,s:O}", "waiting", json_object_get(q.json, "entries"),
                          "dead_letters", json_object_get(d.json, "dead_letters"));
    print_json(c, o);
    json_decref(o);
  } else {
    const json_t *ent = json_object_get(q.json, "entries");
    size_t i;
    const json_t *e;
    if (json_array_size(ent) > 0) {
      fprintf(c->out, "waiting (%zu):\n", json_array_size(ent));
      struct qccc_texttable t = {.cols = 5};
      t.right[1] = t.right[2] = true;
      qccc_texttable_row(&t, "ID", "PRIORITY", "RETRIES", "STATE", "WAITING");
      json_array_foreach(ent, i, e) {
        char pr[16], re[16], w[32];
        snprintf(pr, sizeof pr, "%lld", ji(e, "priority"));
        snprintf(re, sizeof re, "%lld", ji(e, "retries"));
        fmt_dur(ji(e, "waiting_ms") / 1000, w, sizeof w);
        qccc_texttable_row(&t, js(e, "id"), pr, re, js(e, "state"), w);
      }
      qccc_texttable_print(&t, c->out, "  ", c->o.wide ? 0 : TEXT_FIT);
      fputc('\n', c->out);
    }
    const json_t *dl = json_object_get(d.json, "dead_letters");
    if (json_array_size(dl) == 0) {
      fprintf(c->out, "no dead letters\n");
    } else {
      fprintf(c->out, "dead letters (%zu):\n", json_array_size(dl));
      struct qccc_texttable t = {.cols = 7};
      t.right[3] = true;
      qccc_texttable_row(&t, "ID", "TIME", "REQUEST", "ATTEMPTS", "TRIED", "REASON", "LAST REPLAY");
      json_array_foreach(dl, i, e) {
        char tm[40], req[160], at[16], tried[256] = "", rep[48] = "never";
        fmt_time(json_object_get(e, "time"), tm, sizeof tm);
        snprintf(req, sizeof req, "%s %.120s", js(e, "method"), js(e, "target"));
        snprintf(at, sizeof at, "%lld", ji(e, "attempts"));
        size_t k;
        const json_t *tr;
        json_array_foreach(json_object_get(e, "tried"), k, tr) {
          size_t l = strlen(tried);
          snprintf(tried + l, sizeof tried - l, "%s%s", k ? ", " : "", js(tr, "endpoint"));
        }
        const json_t *rp = json_object_get(e, "replay");
        if (json_is_object(rp)) snprintf(rep, sizeof rep, "HTTP %lld", ji(rp, "status"));
        qccc_texttable_row(&t, js(e, "id"), tm, req, at, tried, js(e, "reason"), rep);
      }
      qccc_texttable_print(&t, c->out, "  ", c->o.wide ? 0 : TEXT_FIT);
    }
  }
  qcc_admin_reply_free(&q);
  qcc_admin_reply_free(&d);
  return OP_OK;
}

/* A destructive command asks on a terminal; elsewhere it needs -y. */
static int confirm(struct ctx *c, const char *what) {
  if (!isatty(STDIN_FILENO)) {
    fprintf(c->err, "qccc: this would %s\n  not asked (stdin is not a terminal): pass -y to confirm\n", what);
    return OP_USAGE;
  }
  fprintf(c->out, "%c%s [y/N] ", what[0] >= 'a' && what[0] <= 'z' ? what[0] - 'a' + 'A' : what[0], what + 1);
  fflush(c->out);
  char line[16];
  if (fgets(line, sizeof line, stdin) == NULL || (line[0] != 'y' && line[0] != 'Y')) {
    fprintf(c->out, "cancelled; nothing dropped\n");
    return OP_FAIL;
  }
  return OP_OK;
}

static int cmd_queue(struct ctx *c) {
  const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
  struct qcc_admin_reply r;
  int rc;
  if (strcmp(sub, "list") == 0 && c->o.npos == 2) return queue_list(c);
  if (strcmp(sub, "status") == 0 && c->o.npos == 2) {
    rc = call(c, "GET", "/queue", NULL, 0, &r);
    if (rc != OP_OK) return rc;
    if (c->o.json) print_json(c, r.json);
    else print_queue_status(c, r.json);
    qcc_admin_reply_free(&r);
    return OP_OK;
  }
  if (strcmp(sub, "retry") == 0 && c->o.npos == 3) {
    char e[128], path[192];
    enc(c->o.pos[2], e, sizeof e);
    snprintf(path, sizeof path, "/queue/retry/%s", e);
    rc = call(c, "POST", path, "{}", LONG_TIMEOUT_MS, &r);
    if (rc != OP_OK) return rc;
    bool ok = jb(r.json, "ok");
    if (c->o.json) print_json(c, r.json);
    else
      fprintf(c->out, "%s dead letter %s replayed: %s%lld%s%s\n", ok ? "✓" : "✗", js(r.json, "id"),
              ji(r.json, "status") ? "HTTP " : "status ", ji(r.json, "status"),
              js(r.json, "detail")[0] ? ": " : "", js(r.json, "detail"));
    qcc_admin_reply_free(&r);
    return ok ? OP_OK : OP_FAIL;
  }
  if (strcmp(sub, "retry-all") == 0 && c->o.npos == 2) {
    rc = call(c, "POST", "/queue/retry-all", "{}", LONG_TIMEOUT_MS, &r);
    if (rc != OP_OK) return rc;
    long long failed = ji(r.json, "failed");
    if (c->o.json) {
      print_json(c, r.json);
    } else {
      size_t i;
      const json_t *e;
      struct qccc_texttable t = {.cols = 3};
      qccc_texttable_row(&t, "ID", "RESULT", "DETAIL");
      json_array_foreach(json_object_get(r.json, "results"), i, e) {
        char st[32];
        snprintf(st, sizeof st, "%s HTTP %lld",
                 ji(e, "status") >= 200 && ji(e, "status") < 300 ? "✓" : "✗", ji(e, "status"));
        qccc_texttable_row(&t, js(e, "id"), st, js(e, "detail"));
      }
      if (ji(r.json, "retried") > 0) {
        qccc_texttable_print(&t, c->out, "", c->o.wide ? 0 : TEXT_FIT);
        fputc('\n', c->out);
      } else {
        qccc_texttable_free(&t);
      }
      fprintf(c->out, "retried %lld dead letter%s: %lld succeeded, %lld failed\n",
              ji(r.json, "retried"), plural(ji(r.json, "retried")), ji(r.json, "succeeded"),
              failed);
    }
    qcc_admin_reply_free(&r);
    return failed > 0 ? OP_FAIL : OP_OK;
  }
  if (strcmp(sub, "clear") == 0 && c->o.npos == 2) {
    if (!c->o.yes) {
      rc = confirm(c, "drop every dead letter (their requests cannot be retried after)?");
      if (rc != OP_OK) return rc;
    }
    rc = call(c, "POST", "/queue/clear", "{}", 0, &r);
    if (rc != OP_OK) return rc;
    if (c->o.json) print_json(c, r.json);
    else fprintf(c->out, "✓ cleared %lld dead letter%s\n", ji(r.json, "cleared"),
                 plural(ji(r.json, "cleared")));
    qcc_admin_reply_free(&r);
    return OP_OK;
  }
  return usage(c, "usage: qccc queue status | list | retry ID | retry-all | clear  [--json]");
}

/* ---- logs ---------------------------------------------------------------- */

#define LOG_TAIL_BYTES (8u << 20) /* the last lines are found in the file's last 8 MiB */
#define LOG_LINE_MAX 65536
#define LOG_POLL_US 200000

static bool log_match(const struct opts *o, const json_t *j) {
  if (j == NULL) return false;
  if (o->endpoint != NULL && strcmp(js(j, "endpoint"), o->endpoint) != 0) return false;
  if (o->status != 0 && ji(j, "status") != o->status) return false;
  return true;
}

static void log_print(struct ctx *c, const char *line, const json_t *j) {
  if (c->o.json) {
    fprintf(c->out, "%s\n", line);
    return;
  }
  char tm[40], ttfb[24] = "-", total[24];
  fmt_time(json_object_get(j, "time"), tm, sizeof tm);
  const json_t *t = json_object_get(j, "ttfb_ms");
  if (json_is_number(t)) snprintf(ttfb, sizeof ttfb, "%.0f ms", json_number_value(t));
  snprintf(total, sizeof total, "%.0f ms", json_number_value(json_object_get(j, "total_ms")));
  fprintf(c->out, "%s  %3lld  %-6s %-32s %-16s ttfb %8s  total %8s%s\n", tm, ji(j, "status"),
          js(j, "method"), js(j, "path"), js(j, "endpoint")[0] ? js(j, "endpoint") : "-", ttfb,
          total, jb(j, "failed") ? "  FAILED" : "");
}

/* Feed complete lines of BUF[0..*len) to the printer (or to the tail ring
 * when RING is set); keeps a partial last line in BUF. */
struct ring {
  char **lines;
  size_t cap, count, head;
};

static void handle_line(struct ctx *c, char *line, struct ring *ring) {
  json_error_t je;
  json_t *j = json_loads(line, 0, &je);
  if (log_match(&c->o, j)) {
    if (ring == NULL) {
      log_print(c, line, j);
    } else if (ring->cap > 0) {
      size_t slot = (ring->head + ring->count) % ring->cap;
      if (ring->count == ring->cap) {
        free(ring->lines[ring->head]);
        ring->head = (ring->head + 1) % ring->cap;
        slot = (ring->head + ring->count - 1) % ring->cap;
      } else {
        ring->count++;
      }
      ring->lines[slot] = strdup(line);
    }
  }
  json_decref(j);
}

static void feed(struct ctx *c, char *buf, size_t *len, struct ring *ring) {
  size_t start = 0;
  for (size_t i = 0; i < *len; i++) {
    if (buf[i] != '\n') continue;
    buf[i] = '\0';
    handle_line(c, buf + start, ring);
    start = i + 1;
  }
  memmove(buf, buf + start, *len - start);
  *len -= start;
  if (*len == LOG_LINE_MAX) *len = 0; /* an endless line: drop it */
}

static int cmd_logs(struct ctx *c) {
  if (c->o.npos != 1)
    return usage(c, "usage: qccc logs [-f] [--endpoint ID] [--status N] [-n LINES] [--json]");
  char path[4096];
  struct qcc_err err = {0};
  if (c->o.file != NULL) {
    snprintf(path, sizeof path, "%s", c->o.file);
  } else {
    char dir[4096];
    if (qcc_statedir_resolve(c->o.state_dir, dir, sizeof dir, &err) != 0 ||
        qcc_statedir_path(dir, "access.log", path, sizeof path, &err) != 0) {
      fprintf(c->err, "qccc: %s\n", err.msg);
      return OP_FAIL;
    }
  }
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    fprintf(c->err, "qccc: no access log at %s: %s (qcc-run writes it there unless started with "
                    "--access-log)\n",
            path, strerror(errno));
    return OP_FAIL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && st.st_size > (off_t)LOG_TAIL_BYTES) {
    fseeko(f, st.st_size - (off_t)LOG_TAIL_BYTES, SEEK_SET);
    int ch;
    do ch = fgetc(f);
    while (ch != EOF && ch != '\n'); /* skip the cut first line */
  }
  char *buf = malloc(LOG_LINE_MAX + 1);
  struct ring ring = {.cap = (size_t)c->o.lines};
  ring.lines = calloc(ring.cap ? ring.cap : 1, sizeof *ring.lines);
  if (buf == NULL || ring.lines == NULL) {
    free(buf);
    free(ring.lines);
    fclose(f);
    fprintf(c->err, "qccc: out of memory\n");
    return OP_FAIL;
  }
  size_t len = 0;
  for (;;) {
    size_t k = fread(buf + len, 1, LOG_LINE_MAX - len, f);
    if (k == 0) break;
    len += k;
    feed(c, buf, &len, &ring);
  }
  for (size_t i = 0; i < ring.count; i++) {
    char *line = ring.lines[(ring.head + i) % ring.cap];
    json_error_t je;
    json_t *j = json_loads(line, 0, &je);
    log_print(c, line, j);
    json_decref(j);
    free(line);
  }
  free(ring.lines);
  fflush(c->out);
  if (c->o.follow) {
    /* Poll: new bytes are printed; a rotated (new inode) or truncated file
     * is reopened from its start. Ends after --for seconds or on ^C. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fstat(fileno(f), &st);
    for (;;) {
      clearerr(f);
      size_t k = fread(buf + len, 1, LOG_LINE_MAX - len, f);
      if (k > 0) {
        len += k;
        feed(c, buf, &len, NULL);
        fflush(c->out);
        continue;
      }
      struct stat now_st;
      off_t pos = ftello(f);
      if (stat(path, &now_st) == 0 &&
          (now_st.st_ino != st.st_ino || now_st.st_dev != st.st_dev || now_st.st_size < pos)) {
        FILE *nf = fopen(path, "r");
        if (nf != NULL) {
          fclose(f);
          f = nf;
          fstat(fileno(f), &st);
          len = 0;
          continue;
        }
      }
      struct timespec t;
      clock_gettime(CLOCK_MONOTONIC, &t);
      double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
      if (c->o.for_s > 0 && el >= c->o.for_s) break;
      usleep(LOG_POLL_US);
    }
  }
  free(buf);
  fclose(f);
  return OP_OK;
}

/* ---- dispatch ------------------------------------------------------------ */

static const char op_usage_text[] =
    "  status                                  table generation, uptime, active profile, counters\n"
    "  health status | check                   live health; check probes every endpoint now\n"
    "  endpoint list [PROFILE] | enable ID | disable ID [--reason T] | test ID\n"
    "  priority list | switch PROFILE [--reason T] | switch --auto\n"
    "  queue status | list | retry ID | retry-all | clear\n"
    "  logs [-f] [--endpoint ID] [--status N] [-n LINES] [--for SECONDS] [--file PATH]\n"
    "       (the access log; --errors: the error log, --all: both; see `qccc logs --errors --help`)\n"
    "  (each takes --json and --state-dir DIR; they talk to qcc-run through\n"
    "   STATE_DIR/admin.sock, default $QCC_STATE_DIR or ~/.qcc)\n";

void qccc_op_usage(FILE *out) { fputs(op_usage_text, out); }

bool qccc_op_handles(int argc, char **argv) {
  if (argc < 1) return false;
  const char *cmd = argv[0];
  const char *sub = argc > 1 ? argv[1] : "";
  if (strcmp(cmd, "status") == 0 || strcmp(cmd, "logs") == 0) return true;
  if (strcmp(cmd, "health") == 0) return strcmp(sub, "status") == 0 || strcmp(sub, "check") == 0;
  if (strcmp(cmd, "endpoint") == 0)
    return strcmp(sub, "list") == 0 || strcmp(sub, "enable") == 0 ||
           strcmp(sub, "disable") == 0 || strcmp(sub, "test") == 0;
  if (strcmp(cmd, "priority") == 0) return strcmp(sub, "list") == 0 || strcmp(sub, "switch") == 0;
  if (strcmp(cmd, "queue") == 0) return true;
  return false;
}

int qccc_op_cmd(int argc, char **argv, FILE *out, FILE *err) {
  struct ctx c = {.out = out, .err = err};
  if (argc < 1) return usage(&c, "no command");
  int rc = parse_opts(&c, argc, argv);
  if (rc != OP_OK) return rc;
  if (c.o.help) {
    fprintf(out, "usage: qccc COMMAND ...\n%s", op_usage_text);
    return OP_OK;
  }
  const char *cmd = c.o.pos[0];
  if (c.o.config_given && strcmp(cmd, "status") != 0 &&
      !(strcmp(cmd, "endpoint") == 0 && c.o.npos > 1 && strcmp(c.o.pos[1], "list") == 0))
    return usage(&c, "-c/--config applies to `status` and `endpoint list` only");
  if (c.o.auto_mode && strcmp(cmd, "priority") != 0) return usage(&c, "unknown option --auto");
  if (strcmp(cmd, "status") == 0) return cmd_status(&c);
  if (strcmp(cmd, "health") == 0) return cmd_health(&c);
  if (strcmp(cmd, "endpoint") == 0) return cmd_endpoint(&c);
  if (strcmp(cmd, "priority") == 0) return cmd_priority(&c);
  if (strcmp(cmd, "queue") == 0) return cmd_queue(&c);
  if (strcmp(cmd, "logs") == 0) return cmd_logs(&c);
  return usage(&c, "unknown command '%s'", cmd);
}
