#include "opcmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler/adminclient.h"
#include "compiler/argscan.h"
#include "compiler/opctx.h"

/* ---- options ------------------------------------------------------------- */

int op_usage(struct ctx *c, const char *fmt, ...) {
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
        return op_usage(c, "--status needs an HTTP status (100-599), not \"%s\"", v);
    } else if (strcmp(a, "-n") == 0 || qcc_arg_is(a, "--lines")) {
      const char *v = strcmp(a, "-n") == 0 ? (i + 1 < argc ? argv[++i] : NULL)
                                           : flag_value(argc, argv, &i, "--lines", &bad);
      if (v == NULL) bad = true;
      else if (!parse_long(v, 0, 100000, &o->lines))
        return op_usage(c, "-n needs a number of lines (0-100000), not \"%s\"", v);
    } else if (qcc_arg_is(a, "--for")) {
      const char *v = flag_value(argc, argv, &i, "--for", &bad);
      long s = 0;
      if (!bad && !parse_long(v, 1, 86400 * 365, &s))
        return op_usage(c, "--for needs a number of seconds, not \"%s\"", v);
      o->for_s = (double)s;
    } else if (strcmp(a, "-c") == 0 || qcc_arg_is(a, "--config")) {
      /* Only `endpoint list` takes it (the config listing); keep it for that. */
      o->config_given = true;
      if (o->nrest + 2 > MAX_ARGS) return op_usage(c, "too many arguments");
      o->rest[o->nrest++] = argv[i];
      if (strchr(a, '=') == NULL) {
        if (i + 1 >= argc) bad = true;
        else o->config = o->rest[o->nrest++] = argv[++i];
      } else {
        o->config = strchr(a, '=') + 1;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      return op_usage(c, "unknown option %s", a);
    } else {
      if (o->npos >= MAX_ARGS || o->nrest >= MAX_ARGS) return op_usage(c, "too many arguments");
      o->pos[o->npos++] = a;
      o->rest[o->nrest++] = argv[i];
    }
    if (bad) return op_usage(c, "option %s needs a value", a);
  }
  return OP_OK;
}

/* ---- talking to qcc-run -------------------------------------------------- */

bool op_reason_body(const struct ctx *c, char *out, size_t cap) {
  snprintf(out, cap, "{}");
  if (c->o.reason == NULL) return true;
  json_t *b = json_pack("{s:s}", "reason", c->o.reason);
  char *s = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
  json_decref(b);
  bool ok = s != NULL && strlen(s) < cap;
  if (ok) snprintf(out, cap, "%s", s);
  free(s);
  return ok;
}

int op_call(struct ctx *c, const char *method, const char *path, const char *body,
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

void op_print_json(struct ctx *c, const json_t *j) {
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s != NULL) fprintf(c->out, "%s\n", s);
  free(s);
}

/* URL-encode one path segment or query value. */
void op_enc(const char *s, char *out, size_t cap) {
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

const char *op_js(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s != NULL ? s : "";
}

long long op_ji(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (long long)json_integer_value(v) : (long long)json_number_value(v);
}

bool op_jb(const json_t *o, const char *k) { return json_is_true(json_object_get(o, k)); }

const char *op_plural(long long n) { return n == 1 ? "" : "s"; }

/* "2h 03m", "4m 10s", "12s". */
void op_fmt_dur(long long s, char *out, size_t cap) {
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
void op_fmt_ago(const json_t *v, char *out, size_t cap) {
  long long t = parse_iso(json_string_value(v));
  if (t < 0) {
    snprintf(out, cap, "-");
    return;
  }
  char d[32];
  op_fmt_dur((long long)time(NULL) - t, d, sizeof d);
  snprintf(out, cap, "%s ago", d);
}

/* "2026-11-26 05:10:02 CET" (local time and its zone: people read these;
 * --json keeps the server's UTC) from an ISO time; "-" for null. */
void op_fmt_time(const json_t *v, char *out, size_t cap) {
  long long t = parse_iso(json_string_value(v));
  struct tm tm;
  time_t tt = (time_t)t;
  if (t < 0 || localtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
    snprintf(out, cap, "-");
}

/* ---- dispatch ------------------------------------------------------------ */

int qccc_op_cmd(int argc, char **argv, FILE *out, FILE *err) {
  struct ctx c = {.out = out, .err = err};
  if (argc < 1) return op_usage(&c, "no command");
  int rc = parse_opts(&c, argc, argv);
  if (rc != OP_OK) return rc;
  const char *cmd = c.o.pos[0];
  if (c.o.config_given && strcmp(cmd, "status") != 0 &&
      !(strcmp(cmd, "endpoint") == 0 && c.o.npos > 1 && strcmp(c.o.pos[1], "list") == 0))
    return op_usage(&c, "-c/--config applies to `status` and `endpoint list` only");
  if (c.o.auto_mode && strcmp(cmd, "priority") != 0) return op_usage(&c, "unknown option --auto");
  if (strcmp(cmd, "status") == 0) return op_cmd_status(&c);
  if (strcmp(cmd, "health") == 0) return op_cmd_health(&c);
  if (strcmp(cmd, "endpoint") == 0) return op_cmd_endpoint(&c);
  if (strcmp(cmd, "priority") == 0) return op_cmd_priority(&c);
  if (strcmp(cmd, "queue") == 0) return op_cmd_queue(&c);
  if (strcmp(cmd, "logs") == 0) return op_cmd_logs(&c);
  return op_usage(&c, "unknown command '%s'", cmd);
}
