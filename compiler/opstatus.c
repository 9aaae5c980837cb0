/* The routing state of a running qcc-run: status, health, endpoint, priority
 * (compiler/opcmd.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "compiler/editcmd.h"
#include "compiler/freshness.h"
#include "compiler/opctx.h"
#include "compiler/texttable.h"
#include "compiler/todaycell.h"

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
  qccc_report_drift(config, op_js(t, "digest"), (uint64_t)op_ji(t, "generation"), path, c->out);
}

/* Endpoints whose key qcc-run could not resolve (GET /endpoints key_problem). */
/* "today        up1 1.2k tok $0.0012 budget spent": per endpoint that
 * spent something today or has a budget. */
static void status_today(struct ctx *c, const json_t *sp) {
  size_t i;
  const json_t *e;
  bool first = true;
  json_array_foreach(sp, i, e) {
    if (op_ji(json_object_get(e, "today"), "tokens") == 0 && !json_is_object(json_object_get(e, "budget")))
      continue;
    char td[64];
    qccc_today_cell(e, td, sizeof td);
    fprintf(c->out, "%-13s%s %s\n", first ? "today" : "", op_js(e, "id"), td);
    first = false;
  }
}

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
            op_js(e, "id"), op_js(e, "key_problem"));
  }
  qcc_admin_reply_free(&r);
}

/* " (4m 10s ago)": the age of the failure the last error came from, "" when
 * unknown (a line cut to fit keeps it). */
static void error_age(const json_t *e, char *out, size_t cap) {
  char ago[40];
  op_fmt_ago(json_object_get(e, "last_failure"), ago, sizeof ago);
  if (strcmp(ago, "-") == 0) snprintf(out, cap, "%s", "");
  else snprintf(out, cap, " (%s)", ago);
}

/* Endpoints with a last error: their state and that error with its age, so a
 * recovered endpoint reads "healthy" and still says what happened. */
static void status_errors(struct ctx *c) {
  struct qcc_admin_reply r;
  struct qcc_err err = {0};
  if (qcc_admin_call(c->sock, "GET", "/endpoints", NULL, 5000, &r, &err) != 0) return;
  size_t i, shown = 0, more = 0;
  const json_t *e;
  json_array_foreach(json_object_get(r.json, "endpoints"), i, e) {
    if (op_js(e, "last_error")[0] == '\0') continue;
    if (shown == 8) {
      more++;
      continue;
    }
    char line[700], age[48];
    error_age(e, age, sizeof age);
    snprintf(line, sizeof line, "%-12s %s %s, last error: %s", shown == 0 ? "errors" : "",
             op_js(e, "id"), op_js(e, "health"), op_js(e, "last_error"));
    qccc_texttable_line(c->out, line, age, c->o.wide ? 0 : TEXT_FIT);
    shown++;
  }
  if (more > 0)
    fprintf(c->out, "%-12s ... %zu more (`qccc endpoint list`)\n", "", more);
  qcc_admin_reply_free(&r);
}

int op_cmd_status(struct ctx *c) {
  if (c->o.npos != 1) return op_usage(c, "usage: qccc status [--json] [--state-dir DIR]");
  struct qcc_admin_reply r;
  int rc = op_call(c, "GET", "/status", NULL, 0, &r);
  if (rc != OP_OK) return rc;
  const json_t *j = r.json;
  if (c->o.json) {
    op_print_json(c, j);
    qcc_admin_reply_free(&r);
    return OP_OK;
  }
  char up[32], t1[40], t2[40];
  op_fmt_dur(op_ji(j, "uptime_s"), up, sizeof up);
  op_fmt_time(json_object_get(j, "started_at"), t1, sizeof t1);
  fprintf(c->out, "qcc-run %s  pid %lld, up %s (since %s)\n", op_js(j, "version"), op_ji(j, "pid"),
          up, t1);
  const json_t *t = json_object_get(j, "table");
  if (json_is_object(t)) {
    op_fmt_time(json_object_get(t, "built_at"), t2, sizeof t2);
    fprintf(c->out, "table        %s: generation %lld, %lld profile%s, %lld endpoint%s (built %s)\n",
            op_js(t, "path")[0] ? op_js(t, "path") : "(unknown path)", op_ji(t, "generation"),
            op_ji(t, "profiles"), op_plural(op_ji(t, "profiles")), op_ji(t, "endpoints"),
            op_plural(op_ji(t, "endpoints")), t2);
  } else {
    fprintf(c->out, "table        none loaded\n");
  }
  const json_t *lr = json_object_get(j, "last_reload");
  if (json_is_object(lr)) {
    op_fmt_time(json_object_get(lr, "time"), t2, sizeof t2);
    if (op_jb(lr, "ok"))
      fprintf(c->out, "last reload  ok at %s (generation %lld)\n", t2, op_ji(lr, "generation"));
    else
      fprintf(c->out, "last reload  REJECTED at %s: %s (the previous table keeps serving)\n",
              t2, op_js(lr, "error"));
  } else {
    fprintf(c->out, "last reload  none since start\n");
  }
  const json_t *ro = json_object_get(j, "routing");
  op_fmt_time(json_object_get(ro, "active_since"), t2, sizeof t2);
  if (op_jb(ro, "pinned") && op_js(ro, "pin_profile")[0])
    fprintf(c->out, "active       %s (pinned)\n", op_js(ro, "pin_profile"));
  else if (json_is_string(json_object_get(ro, "active_profile")))
    fprintf(c->out, "active       %s (%s) since %s\n", op_js(ro, "active_profile"),
            op_js(ro, "active_group"), t2);
  else
    fprintf(c->out, "active       no profile can take requests\n");
  if (op_jb(ro, "pinned"))
    fprintf(c->out, "switching    pinned to %s%s%s%s (`qccc priority switch --auto` resumes)\n",
            op_js(ro, "pin_profile"), op_js(ro, "pin_reason")[0] ? ": \"" : "", op_js(ro, "pin_reason"),
            op_js(ro, "pin_reason")[0] ? "\"" : "");
  else
    fprintf(c->out, "switching    automatic\n");
  const json_t *e = json_object_get(j, "endpoints");
  fprintf(c->out,
          "endpoints    %lld total, %lld available; %lld healthy, %lld degraded, %lld unhealthy; "
          "%lld breaker%s open, %lld disabled\n",
          op_ji(e, "total"), op_ji(e, "available"), op_ji(e, "healthy"), op_ji(e, "degraded"),
          op_ji(e, "unhealthy"), op_ji(e, "breaker_open"), op_plural(op_ji(e, "breaker_open")),
          op_ji(e, "disabled"));
  const json_t *q = json_object_get(j, "requests");
  fprintf(c->out,
          "requests     %lld total, %lld failed, %lld active, %lld waiting, %lld rejected; "
          "%lld retr%s, %lld failover%s\n",
          op_ji(q, "total"), op_ji(q, "failed"), op_ji(q, "active"), op_ji(q, "waiting"), op_ji(q, "rejected"),
          op_ji(q, "retries"), op_ji(q, "retries") == 1 ? "y" : "ies", op_ji(q, "failovers"),
          op_plural(op_ji(q, "failovers")));
  fprintf(c->out, "connections  %lld open\n", op_ji(json_object_get(j, "connections"), "active"));
  status_today(c, json_object_get(j, "spending"));
  const json_t *qu = json_object_get(j, "queue");
  if (json_is_object(qu)) {
    fprintf(c->out, "queue        %lld waiting (%lld retrying)", op_ji(qu, "depth"), op_ji(qu, "retrying"));
    if (json_is_integer(json_object_get(qu, "dead_letters")))
      fprintf(c->out, ", %lld dead letter%s", op_ji(qu, "dead_letters"),
              op_plural(op_ji(qu, "dead_letters")));
    fputc('\n', c->out);
  } else {
    fprintf(c->out, "queue        not available\n");
  }
  status_keys(c);
  status_errors(c);
  status_drift(c, j);
  qcc_admin_reply_free(&r);
  return OP_OK;
}

/* ---- health -------------------------------------------------------------- */

/* closed / open (probe in 12s) / ready to probe / half-open: an open breaker
 * whose cooldown is over lets the next request through as a probe. */
static void breaker_text(const json_t *e, char *out, size_t cap) {
  const char *b = op_js(e, "breaker");
  if (strcmp(b, "open") == 0) {
    long long left = op_ji(e, "breaker_open_for_ms");
    if (left > 0) {
      char d[32];
      op_fmt_dur((left + 999) / 1000, d, sizeof d);
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
  const char *err = op_js(e, "last_error");
  if (err[0] == '\0') {
    snprintf(out, cap, "-");
    return;
  }
  char ago[40];
  op_fmt_ago(json_object_get(e, "last_failure"), ago, sizeof ago);
  if (strcmp(ago, "-") == 0) snprintf(out, cap, "%s", err);
  else snprintf(out, cap, "%s (%s)", err, ago);
}

static void endpoint_rows(struct qccc_texttable *t, const json_t *arr) {
  size_t i;
  const json_t *e;
  json_array_foreach(arr, i, e) {
    char score[16], rate[24], avg[24], ago[40];
    snprintf(score, sizeof score, "%lld", op_ji(e, "score"));
    snprintf(rate, sizeof rate, "%.1f%%", json_number_value(json_object_get(e, "success_rate")));
    snprintf(avg, sizeof avg, "%.0f ms", json_number_value(json_object_get(e, "avg_ms")));
    op_fmt_ago(json_object_get(e, "last_check"), ago, sizeof ago);
    char br[48], le[400];
    breaker_text(e, br, sizeof br);
    last_error_text(e, le, sizeof le);
    qccc_texttable_row(t, op_js(e, "id"), op_js(e, "profile"), op_js(e, "health"), score, br, rate, avg, ago, le);
  }
}

/* `health check` in text: POST /health/check answers when every probe is
 * done (a hung endpoint holds it for its whole timeout), so a thread waits
 * for it while this one polls GET /endpoints and prints each endpoint whose
 * last check changed, as it finishes. */
struct check_job {
  const char *sock;
  const char *body;
  struct qcc_admin_reply reply;
  struct qcc_err err;
  int rc;
  pthread_mutex_t mu;
  bool done;
};

static void *check_thread(void *arg) {
  struct check_job *job = arg;
  int rc = qcc_admin_call(job->sock, "POST", "/health/check", job->body, LONG_TIMEOUT_MS, &job->reply, &job->err);
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
    if (!op_jb(e, "enabled") || op_jb(e, "operator_disabled")) continue;
    json_object_set_new(m, op_js(e, "id"),
                        json_pack("{s:s,s:s,s:s,s:I,s:s}", "check", op_js(e, "last_check"), "success",
                                  op_js(e, "last_success"), "health", op_js(e, "health"), "score",
                                  (json_int_t)op_ji(e, "score"), "error", op_js(e, "last_error")));
  }
  qcc_admin_reply_free(&r);
  return m;
}

static int health_check_streamed(struct ctx *c, const char *body, struct qcc_admin_reply *out) {
  struct qcc_err err = {0};
  if (c->sock[0] == '\0' && qcc_admin_socket_path(c->o.state_dir, c->sock, sizeof c->sock, &err) != 0)
    return op_call(c, "POST", "/health/check", body, LONG_TIMEOUT_MS, out); /* reports it */
  json_t *before = check_marks(c);
  if (before == NULL) return op_call(c, "POST", "/health/check", body, LONG_TIMEOUT_MS, out);
  struct check_job job = {.sock = c->sock, .body = body};
  pthread_mutex_init(&job.mu, NULL);
  pthread_t th;
  if (pthread_create(&th, NULL, check_thread, &job) != 0) {
    pthread_mutex_destroy(&job.mu);
    json_decref(before);
    return op_call(c, "POST", "/health/check", body, LONG_TIMEOUT_MS, out);
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
      if (json_object_get(shown, id) != NULL || b == NULL || strcmp(op_js(b, "check"), op_js(m, "check")) == 0)
        continue;
      bool ok = strcmp(op_js(b, "success"), op_js(m, "success")) != 0;
      fprintf(c->out, "  %s %s: %s, score %lld%s%s\n", ok ? "✓" : "✗", id, op_js(m, "health"), op_ji(m, "score"),
              !ok && op_js(m, "error")[0] ? ": " : "", ok ? "" : op_js(m, "error"));
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

int op_cmd_health(struct ctx *c) {
  const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
  bool check = strcmp(sub, "check") == 0;
  if (c->o.npos != 2 || (!check && strcmp(sub, "status") != 0))
    return op_usage(c, "usage: qccc health status | check | history ENDPOINT  [--json]");
  struct qcc_admin_reply r;
  char body[400];
  if (!op_reason_body(c, body, sizeof body)) return op_usage(c, "--reason must be UTF-8 text");
  int rc = check && !c->o.json ? health_check_streamed(c, body, &r)
           : check             ? op_call(c, "POST", "/health/check", body, LONG_TIMEOUT_MS, &r)
                               : op_call(c, "GET", "/health", NULL, 0, &r);
  if (rc != OP_OK) return rc;
  const json_t *j = r.json;
  int result = OP_OK;
  if (check) {
    size_t i;
    const json_t *e;
    long long bad = 0;
    json_array_foreach(json_object_get(j, "results"), i, e) bad += !op_jb(e, "ok");
    if (c->o.json) {
      op_print_json(c, j);
    } else {
      struct qccc_texttable t = {.cols = 7};
      t.right[3] = t.right[5] = true;
      qccc_texttable_row(&t, "ENDPOINT", "RESULT", "STATUS", "LATENCY", "HEALTH", "SCORE", "DETAIL");
      json_array_foreach(json_object_get(j, "results"), i, e) {
        char st[16], lat[24], sc[16];
        snprintf(st, sizeof st, "%lld", op_ji(e, "status"));
        snprintf(lat, sizeof lat, "%lld ms", op_ji(e, "latency_ms"));
        snprintf(sc, sizeof sc, "%lld", op_ji(e, "score"));
        qccc_texttable_row(&t, op_js(e, "id"), op_jb(e, "ok") ? "✓ ok" : "✗ failed",
                op_ji(e, "status") != 0 ? st : "-", lat, op_js(e, "health"),
                json_object_get(e, "score") != NULL ? sc : "-", op_js(e, "detail"));
      }
      qccc_texttable_print(&t, c->out, "", c->o.wide ? 0 : TEXT_FIT);
      fprintf(c->out, "\nchecked %lld endpoint%s: %lld ok, %lld failed\n", op_ji(j, "checked"),
              op_plural(op_ji(j, "checked")), op_ji(j, "checked") - bad, bad);
    }
    if (bad > 0) result = OP_FAIL;
  } else if (c->o.json) {
    op_print_json(c, j);
  } else {
    struct qccc_texttable t = {.cols = 9};
    t.right[3] = t.right[5] = t.right[6] = true;
    qccc_texttable_row(&t, "ENDPOINT", "PROFILE", "STATUS", "SCORE", "BREAKER", "SUCCESS", "AVG",
            "LAST CHECK", "LAST ERROR");
    endpoint_rows(&t, json_object_get(j, "endpoints"));
    qccc_texttable_print(&t, c->out, "", c->o.wide ? 0 : TEXT_FIT);
    const json_t *s = json_object_get(j, "summary");
    fprintf(c->out, "\n%lld healthy, %lld degraded, %lld unhealthy\n", op_ji(s, "healthy"),
            op_ji(s, "degraded"), op_ji(s, "unhealthy"));
  }
  qcc_admin_reply_free(&r);
  return result;
}

/* ---- endpoint ------------------------------------------------------------ */

static int endpoint_list_config(struct ctx *c) {
  char *argv[MAX_ARGS + 2]; /* + --wide */
  int n = 0;
  for (int i = 1; i < c->o.nrest; i++) argv[n++] = c->o.rest[i]; /* drop the word "endpoint" */
  if (c->o.wide) argv[n++] = "--wide";
  argv[n] = NULL;
  return qccc_edit_cmd("endpoint", n, argv, stdin, c->out, c->err);
}

static void state_text(const json_t *e, char *out, size_t cap) {
  if (op_jb(e, "operator_disabled"))
    snprintf(out, cap, "off (operator%s%s)", op_js(e, "disabled_reason")[0] ? ": " : "",
             op_js(e, "disabled_reason"));
  else if (!op_jb(e, "enabled")) snprintf(out, cap, "off (config)");
  else if (op_jb(e, "key_rejected")) snprintf(out, cap, "on, key rejected");
  else if (op_ji(e, "resting_for_ms") > 0 && strcmp(op_js(e, "rest_reason"), "budget") == 0) {
    char d[32];
    op_fmt_dur(op_ji(e, "resting_for_ms") / 1000 + 1, d, sizeof d);
    snprintf(out, cap, "on, budget (%s)", d);
  } else if (op_ji(e, "resting_for_ms") > 0) snprintf(out, cap, "on, resting %llds",
                                                op_ji(e, "resting_for_ms") / 1000 + 1);
  else snprintf(out, cap, "%s", op_jb(e, "available") ? "on" : "on, unavailable");
}

static int endpoint_list(struct ctx *c) {
  if (c->o.npos > 3) return op_usage(c, "usage: qccc endpoint list [PROFILE] [--json]");
  if (c->o.config_given) return endpoint_list_config(c);
  char path[512] = "/endpoints";
  if (c->o.npos == 3) {
    char e[256];
    op_enc(c->o.pos[2], e, sizeof e);
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
    op_print_json(c, r.json);
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
      snprintf(w, sizeof w, "%lld", op_ji(e, "weight"));
      snprintf(p, sizeof p, "%lld", op_ji(e, "priority"));
      snprintf(sc, sizeof sc, "%lld", op_ji(e, "score"));
      snprintf(inf, sizeof inf, "%lld", op_ji(e, "inflight"));
      char br[48], td[64];
      breaker_text(e, br, sizeof br);
      qccc_today_cell(e, td, sizeof td);
      if (wide)
        qccc_texttable_row(&t, op_js(e, "id"), op_js(e, "profile"), op_js(e, "group"), st, w, p, op_js(e, "health"), sc, br,
                inf, td, op_js(e, "base_url"));
      else
        qccc_texttable_row(&t, op_js(e, "id"), op_js(e, "profile"), st, op_js(e, "health"), br, td,
                           op_js(e, "base_url"));
    }
    size_t n = json_array_size(json_object_get(r.json, "endpoints"));
    qccc_texttable_print(&t, c->out, "", c->o.wide ? 0 : TEXT_FIT);
    /* the last error of each endpoint that has one, with its age (a
     * recovered endpoint reads healthy and still says what happened) */
    bool head = false;
    json_array_foreach(json_object_get(r.json, "endpoints"), i, e) {
      if (op_js(e, "last_error")[0] == '\0') continue;
      if (!head) fprintf(c->out, "\nlast errors:\n");
      head = true;
      char line[700], age[48];
      error_age(e, age, sizeof age);
      snprintf(line, sizeof line, "  %s: %s", op_js(e, "id"), op_js(e, "last_error"));
      qccc_texttable_line(c->out, line, age, c->o.wide ? 0 : TEXT_FIT);
    }
    fprintf(c->out, "\n%zu endpoint%s (live state from qcc-run)\n", n, n == 1 ? "" : "s");
  }
  qcc_admin_reply_free(&r);
  return OP_OK;
}

static int endpoint_switch(struct ctx *c, bool enable) {
  if (c->o.npos != 3)
    return op_usage(c, "usage: qccc endpoint %s ID [--reason TEXT] [--json]",
                    enable ? "enable" : "disable");
  char e[256], path[320];
  op_enc(c->o.pos[2], e, sizeof e);
  snprintf(path, sizeof path, "/endpoints/%s/%s", e, enable ? "enable" : "disable");
  char *body = NULL;
  if (c->o.reason != NULL) {
    json_t *b = json_pack("{s:s}", "reason", c->o.reason);
    body = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (body == NULL) return op_usage(c, "--reason must be UTF-8 text");
  }
  struct qcc_admin_reply r;
  int rc = op_call(c, "POST", path, body, 0, &r);
  free(body);
  if (rc != OP_OK) return rc;
  if (c->o.json) {
    op_print_json(c, r.json);
  } else if (enable) {
    fprintf(c->out, "✓ endpoint %s enabled (%s, %s)\n", op_js(r.json, "id"), op_js(r.json, "health"),
            op_jb(r.json, "available") ? "available" : "not available yet");
  } else {
    fprintf(c->out, "✓ endpoint %s disabled%s%s; `qccc endpoint enable %s` brings it back\n",
            op_js(r.json, "id"), op_js(r.json, "disabled_reason")[0] ? ": " : "",
            op_js(r.json, "disabled_reason"), op_js(r.json, "id"));
  }
  qcc_admin_reply_free(&r);
  return OP_OK;
}

int op_cmd_endpoint(struct ctx *c) {
  const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
  if (strcmp(sub, "list") == 0) return endpoint_list(c);
  if (strcmp(sub, "enable") == 0) return endpoint_switch(c, true);
  if (strcmp(sub, "disable") == 0) return endpoint_switch(c, false);
  return op_usage(c, "usage: qccc endpoint list [PROFILE] | enable ID | disable ID");
}

/* ---- priority ------------------------------------------------------------ */

static void print_priority(struct ctx *c, const json_t *j) {
  static const char *groups[] = {"primary", "secondary", "fallback"};
  bool any_pinned = false;
  {
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(j, "profiles"), i, p) any_pinned |= op_jb(p, "pinned");
  }
  for (size_t g = 0; g < 3; g++) {
    bool header = false;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(j, "profiles"), i, p) {
      if (strcmp(op_js(p, "group"), groups[g]) != 0) continue;
      if (!header) {
        char up[16];
        snprintf(up, sizeof up, "%s", groups[g]);
        for (char *s = up; *s; s++) *s = (char)(*s - 'a' + 'A');
        fprintf(c->out, "%s%s\n", g > 0 ? "\n" : "", up);
        header = true;
      }
      char avail[64];
      if (!op_jb(p, "enabled")) snprintf(avail, sizeof avail, "disabled");
      else snprintf(avail, sizeof avail, "%lld/%lld endpoints available", op_ji(p, "available"),
                    op_ji(p, "endpoints"));
      const char *mark = op_jb(p, "pinned")                      ? "(active, pinned)"
                         : op_jb(p, "active")                    ? "(active)"
                                                              : "";
      /* one star: the pinned profile is the one serving while a pin holds */
      bool star = any_pinned ? op_jb(p, "pinned") : op_jb(p, "active");
      if (any_pinned && !op_jb(p, "pinned")) mark = "";
      fprintf(c->out, "  %s %-16s %-16s %s\n", star ? "*" : "-", op_js(p, "name"), mark, avail);
    }
  }
  const json_t *pin = json_object_get(j, "pinned");
  if (json_is_object(pin))
    fprintf(c->out, "\nmode: pinned to %s%s%s%s; `qccc priority switch --auto` resumes automatic "
                    "switching\n",
            op_js(pin, "profile"), op_js(pin, "reason")[0] ? " (\"" : "", op_js(pin, "reason"),
            op_js(pin, "reason")[0] ? "\")" : "");
  else
    fprintf(c->out, "\nmode: automatic (auto_switch %s, auto_recovery %s, cooldown %llds)\n",
            op_jb(j, "auto_switch") ? "on" : "off", op_jb(j, "auto_recovery") ? "on" : "off",
            op_ji(j, "cooldown_ms") / 1000);
}

int op_cmd_priority(struct ctx *c) {
  const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
  struct qcc_admin_reply r;
  int rc;
  if (strcmp(sub, "list") == 0 && c->o.npos == 2) {
    rc = op_call(c, "GET", "/priority", NULL, 0, &r);
    if (rc != OP_OK) return rc;
    if (c->o.json) op_print_json(c, r.json);
    else print_priority(c, r.json);
    qcc_admin_reply_free(&r);
    return OP_OK;
  }
  if (strcmp(sub, "switch") != 0 || (c->o.auto_mode ? c->o.npos != 2 : c->o.npos != 3))
    return op_usage(c, "usage: qccc priority list | switch PROFILE [--reason TEXT] | switch --auto "
                    "[--reason TEXT] | history");
  json_t *b = c->o.auto_mode
                  ? json_pack("{s:b,s:s?}", "auto", 1, "reason", c->o.reason)
                  : json_pack("{s:s,s:s}", "profile", c->o.pos[2], "reason",
                              c->o.reason != NULL ? c->o.reason : "");
  char *body = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
  json_decref(b);
  if (body == NULL) return op_usage(c, "profile names and reasons must be UTF-8 text");
  rc = op_call(c, "POST", "/priority/switch", body, 0, &r);
  free(body);
  if (rc != OP_OK) return rc;
  if (c->o.json) {
    op_print_json(c, r.json);
  } else if (c->o.auto_mode) {
    const json_t *a = json_object_get(r.json, "active");
    fprintf(c->out, "✓ automatic switching resumed; active profile: %s\n",
            json_is_object(a) ? op_js(a, "profile") : "none");
  } else {
    fprintf(c->out, "✓ switched to profile '%s' (pinned%s%s); `qccc priority switch --auto` "
                    "resumes automatic switching\n",
            c->o.pos[2], c->o.reason != NULL ? ", reason: " : "",
            c->o.reason != NULL ? c->o.reason : "");
  }
  qcc_admin_reply_free(&r);
  return OP_OK;
}
