#include "journalcmd.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "compiler/humantime.h"
#include "schema/journal.h"
#include "schema/statedir.h"

enum { EXIT_OK = 0, EXIT_DAMAGED = 1, EXIT_USAGE = 2 };

#define TIME_W 28 /* "2026-11-26 05:33:05.123 CET": local, with the zone (--json: UTC) */

/* ---- --since ---- */
static int parse_duration_ms(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long n = strtoll(s, &end, 10);
  if (end == s || errno != 0 || n < 0) return -1;
  int64_t unit;
  switch (*end) {
  case 's': unit = 1000; break;
  case 'm': unit = 60 * 1000; break;
  case 'h': unit = 3600 * 1000; break;
  case 'd': unit = 86400 * 1000; break;
  default: return -1;
  }
  end++;
  while (*end == ' ') end++;
  if (*end != '\0' && strcmp(end, "ago") != 0) return -1;
  if (n > INT64_MAX / unit) return -1;
  *out = n * unit;
  return 0;
}

int qccc_parse_since(const char *s, int64_t now_ms, int64_t *out_ms) {
  int64_t d;
  if (parse_duration_ms(s, &d) == 0) {
    *out_ms = now_ms - d;
    return 0;
  }
  struct tm tm = {0};
  int Y, M, D, h = 0, m = 0, n = 0, len = 0;
  double sec = 0;
  if (sscanf(s, "%4d-%2d-%2d%n", &Y, &M, &D, &len) != 3) return -1;
  const char *p = s + len;
  if (*p == 'T' || *p == ' ') {
    p++;
    if (sscanf(p, "%2d:%2d%n", &h, &m, &n) != 2) return -1;
    p += n;
    if (*p == ':') {
      char *end;
      sec = strtod(p + 1, &end);
      if (end == p + 1 || sec < 0 || sec >= 61) return -1;
      p = end;
    }
  }
  if (*p == 'Z') p++;
  if (*p != '\0' || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59) return -1;
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  time_t t = timegm(&tm);
  *out_ms = (int64_t)t * 1000 + (int64_t)(sec * 1000.0);
  return 0;
}

/* ---- shared options ---- */
struct opts {
  char dir[4096];
  char path[4200];
  bool json, fix, have_since;
  int64_t since_ms;
  bool types[1024]; /* wanted type ids (ids are small) */
  bool type_filter;
  const char *endpoint;
};

static bool type_wanted(const struct opts *o, uint16_t type) {
  if (!o->type_filter) return true;
  return type < sizeof o->types && o->types[type];
}

static int parse_types(struct opts *o, const char *list, FILE *errout) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", list);
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
    const struct qcc_jtype_info *ti = qcc_journal_type_by_name(t);
    if (ti == NULL) {
      fprintf(errout, "qccc: unknown record type '%s'; expected one of:", t);
      for (size_t i = 0; i < qcc_jtype_count; i++) fprintf(errout, " %s", qcc_jtypes[i].name);
      fputc('\n', errout);
      return -1;
    }
    o->types[ti->id] = true;
    o->type_filter = true;
  }
  return 0;
}

/* Parse flags after the subcommand; positional args land in pos[]. */
static int parse_opts(int argc, char **argv, struct opts *o, const char **pos, int *npos,
                      int maxpos, bool allow_fix, bool allow_show, FILE *errout) {
  bool missing;
  const char *flag = qcc_statedir_take_flag(&argc, argv, &missing);
  if (missing) {
    fprintf(errout, "qccc: --state-dir needs a directory\n");
    return -1;
  }
  *npos = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0) {
      o->json = true;
    } else if (allow_fix && strcmp(a, "--fix") == 0) {
      o->fix = true;
    } else if (strcmp(a, "--since") == 0 && allow_show) {
      if (i + 1 >= argc) {
        fprintf(errout, "qccc: --since needs a time (2026-11-26T03:00:00Z) or a duration (1h ago)\n");
        return -1;
      }
      if (qccc_parse_since(argv[++i], qcc_journal_now_ms(), &o->since_ms) != 0) {
        fprintf(errout,
                "qccc: --since '%s' is not a time: use an ISO time in UTC "
                "(2026-11-26T03:00:00Z) or a duration (90s, 30m, 1h ago, 2d)\n",
                argv[i]);
        return -1;
      }
      o->have_since = true;
    } else if (strcmp(a, "--type") == 0 && allow_show) {
      if (i + 1 >= argc) {
        fprintf(errout, "qccc: --type needs a record type name\n");
        return -1;
      }
      if (parse_types(o, argv[++i], errout) != 0) return -1;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(errout, "qccc: unknown option '%s'\n", a);
      return -1;
    } else if (*npos < maxpos) {
      pos[(*npos)++] = a;
    } else {
      fprintf(errout, "qccc: unexpected argument '%s'\n", a);
      return -1;
    }
  }
  struct qcc_err err = {0};
  if (qcc_statedir_resolve(flag, o->dir, sizeof o->dir, &err) != 0 ||
      qcc_statedir_path(o->dir, QCC_JOURNAL_FILE, o->path, sizeof o->path, &err) != 0) {
    fprintf(errout, "qccc: %s\n", err.msg);
    return -1;
  }
  return 0;
}

static int missing_journal(const struct opts *o, FILE *errout) {
  if (access(o->path, F_OK) == 0) return 0;
  fprintf(errout,
          "qccc: no journal at %s (qcc-run has not run with this state directory; "
          "pass --state-dir DIR or set " QCC_STATE_DIR_ENV ")\n",
          o->path);
  return -1;
}

/* ---- journal check ---- */
static int cmd_check(struct opts *o, FILE *out, FILE *errout) {
  if (missing_journal(o, errout) != 0) return EXIT_USAGE;
  struct qcc_jscan_result res;
  struct qcc_err err = {0};
  if (qcc_journal_scan_file(o->path, NULL, NULL, &res, &err) != 0) {
    fprintf(errout, "qccc: %s\n", err.msg);
    return EXIT_USAGE;
  }
  if (o->json) {
    json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I}", "path", o->path, "status",
                          qcc_jscan_status_name(res.status), "ok_up_to", (json_int_t)res.ok_up_to,
                          "records", (json_int_t)res.records, "size", (json_int_t)res.size);
    if (res.status == QCC_JSCAN_CORRUPT || res.status == QCC_JSCAN_TORN_TAIL)
      json_object_set_new(j, "bad_offset", json_integer((json_int_t)res.bad_offset));
    if (res.why[0]) json_object_set_new(j, "why", json_string(res.why));
    json_dumpf(j, out, JSON_INDENT(2));
    fputc('\n', out);
    json_decref(j);
  } else {
    fprintf(out, "ok_up_to=%" PRIu64 " records=%" PRIu64 " size=%" PRIu64 " status=%s\n",
            res.ok_up_to, res.records, res.size, qcc_jscan_status_name(res.status));
  }
  switch (res.status) {
  case QCC_JSCAN_OK:
  case QCC_JSCAN_EMPTY:
    return EXIT_OK;
  case QCC_JSCAN_NOT_JOURNAL:
  case QCC_JSCAN_BAD_VERSION:
  case QCC_JSCAN_BAD_HEADER:
    /* Not ours to cut: --fix never touches a file it cannot read. */
    fprintf(errout, "qccc: %s: %s; move it away to let qcc-run start a new journal\n", o->path,
            res.why);
    return EXIT_DAMAGED;
  case QCC_JSCAN_TORN_TAIL:
  case QCC_JSCAN_CORRUPT:
    break;
  }
  uint64_t cut = res.size - res.ok_up_to;
  if (!o->fix) {
    fprintf(errout, "qccc: %s: %s\n", o->path, res.why);
    if (res.status == QCC_JSCAN_TORN_TAIL)
      fprintf(errout, "qccc: qcc-run truncates a torn tail itself at start; `qccc journal check --fix` "
                      "does it now (%" PRIu64 " bytes)\n", cut);
    else
      fprintf(errout, "qccc: qcc-run refuses to start on it; `qccc journal check --fix` truncates it at "
                      "offset %" PRIu64 " (%" PRIu64 " bytes, records after the damage are lost)\n",
              res.ok_up_to, cut);
    return EXIT_DAMAGED;
  }
  int fd = open(o->path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fprintf(errout, "qccc: cannot open %s: %s\n", o->path, strerror(errno));
    return EXIT_USAGE;
  }
  /* qcc-run holds an exclusive lock while it writes. */
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    fprintf(errout, "qccc: %s is in use (qcc-run is running?); stop it before --fix\n", o->path);
    close(fd);
    return EXIT_USAGE;
  }
  /* Scan again under the lock: the file may have changed since. */
  struct qcc_jscan_result again;
  if (qcc_journal_scan_file(o->path, NULL, NULL, &again, &err) != 0 ||
      again.ok_up_to != res.ok_up_to) {
    fprintf(errout, "qccc: %s changed while checking; run the check again\n", o->path);
    close(fd);
    return EXIT_USAGE;
  }
  if (ftruncate(fd, (off_t)res.ok_up_to) != 0 || fsync(fd) != 0) {
    fprintf(errout, "qccc: cannot truncate %s: %s\n", o->path, strerror(errno));
    close(fd);
    return EXIT_USAGE;
  }
  close(fd);
  if (!o->json)
    fprintf(out, "fixed: truncated to %" PRIu64 " (removed %" PRIu64 " bytes)\n", res.ok_up_to, cut);
  return EXIT_OK;
}

/* ---- rendering records ---- */
/* json_string() refuses invalid UTF-8 (journal text may come from upstream
 * error bodies): fall back to a copy with non-ASCII bytes replaced. */
static json_t *jstr(const char *s) {
  if (s == NULL) s = "";
  json_t *v = json_string(s);
  if (v != NULL) return v;
  char clean[QCC_JOURNAL_MAX_TEXT * 4 + 1];
  size_t n = 0;
  for (; s[n] != '\0' && n + 1 < sizeof clean; n++) clean[n] = (unsigned char)s[n] < 0x80 ? s[n] : '?';
  clean[n] = '\0';
  return json_string(clean);
}

static json_t *field_json(const struct qcc_jrec *r, const struct qcc_jfield *f) {
  const void *v = qcc_journal_field_ptr(r, f);
  char buf[64];
  switch (f->kind) {
  case QCC_JK_BOOL: return json_boolean(*(const uint8_t *)v);
  case QCC_JK_U8: return json_integer(*(const uint8_t *)v);
  case QCC_JK_ENUM: return json_string(qcc_enum_name(f->values, *(const uint8_t *)v));
  case QCC_JK_U16: return json_integer(*(const uint16_t *)v);
  case QCC_JK_U32: return json_integer(*(const uint32_t *)v);
  case QCC_JK_U64: {
    uint64_t u = *(const uint64_t *)v;
    if (u <= (uint64_t)INT64_MAX) return json_integer((json_int_t)u);
    snprintf(buf, sizeof buf, "%" PRIu64, u);
    return json_string(buf);
  }
  case QCC_JK_HASH:
  case QCC_JK_TIME:
    if (f->kind == QCC_JK_TIME && *(const int64_t *)v == 0) return json_null();
    qcc_journal_format_field(r, f, buf, sizeof buf);
    return json_string(buf);
  case QCC_JK_STR: return jstr(*(const char *const *)v);
  case QCC_JK_EP: {
    const struct qcc_jep *e = v;
    char ident[24];
    snprintf(buf, sizeof buf, "%016" PRIx64, e->sid);
    snprintf(ident, sizeof ident, "%016" PRIx64, e->identity);
    return json_pack("{s:o, s:s, s:s}", "id", jstr(e->id), "sid", buf, "identity", ident);
  }
  case QCC_JK_ATTEMPTS: {
    const struct qcc_jattempts *a = v;
    json_t *arr = json_array();
    for (unsigned i = 0; i < a->count && i < QCC_JOURNAL_MAX_ATTEMPTS; i++) {
      snprintf(buf, sizeof buf, "%016" PRIx64, a->item[i].endpoint.sid);
      json_array_append_new(arr, json_pack("{s:{s:o, s:s}, s:i, s:o}", "endpoint", "id",
                                           jstr(a->item[i].endpoint.id), "sid", buf, "http_status",
                                           a->item[i].http_status, "reason", jstr(a->item[i].reason)));
    }
    return arr;
  }
  case QCC_JK_COUNT: break;
  }
  return json_null();
}

static json_t *record_json(const struct qcc_jrec *r, uint64_t offset, const char *skip_field) {
  char t[40];
  qcc_journal_iso_time(r->time_ms, t, sizeof t);
  const struct qcc_jtype_info *ti = qcc_journal_type(r->type);
  json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:b}", "offset", (json_int_t)offset, "time", t,
                        "time_ms", (json_int_t)r->time_ms, "type", ti ? ti->name : "unknown",
                        "snapshot", (r->flags & QCC_JOURNAL_FLAG_SNAPSHOT) != 0);
  for (size_t i = 0; ti != NULL && i < ti->field_count; i++) {
    if (skip_field != NULL && strcmp(ti->fields[i].name, skip_field) == 0) continue;
    json_t *v = field_json(r, &ti->fields[i]);
    /* Field names never clash with the envelope (offset, time, type). */
    json_object_set_new(o, ti->fields[i].name, v != NULL ? v : json_null());
  }
  return o;
}

struct walk {
  const struct opts *o;
  FILE *out;
  int mode; /* 0 show, 1 health history, 2 priority history */
  int pass; /* priority history: 0 measures column widths, 1 prints */
  unsigned long rows;
  int w_event, w_from, w_to;
};

static void json_row(struct walk *w, json_t *o) {
  fputs(w->rows ? ",\n  " : "[\n  ", w->out);
  json_dumpf(o, w->out, JSON_COMPACT | JSON_ENSURE_ASCII);
  json_decref(o);
  w->rows++;
}

static bool ep_matches(const struct qcc_jep *e, const char *want) {
  char hex[24];
  snprintf(hex, sizeof hex, "%016" PRIx64, e->sid);
  return (e->id != NULL && strcmp(e->id, want) == 0) || strcasecmp(hex, want) == 0;
}

/* health history: records naming the endpoint, except queue traffic; and
 * alerts naming it or every endpoint (all_down, all_down_over), shown whole
 * ("" skips no field) so the row says which endpoint the alert named. */
static const char *health_ep_field(const struct qcc_jrec *r, const char *want) {
  switch (r->type) {
  case QCC_JT_HEALTH_CHECK:
    return ep_matches(&r->u.health_check.endpoint, want) ? "endpoint" : NULL;
  case QCC_JT_HEALTH_STATUS:
    return ep_matches(&r->u.health_status.endpoint, want) ? "endpoint" : NULL;
  case QCC_JT_BREAKER:
    return ep_matches(&r->u.breaker.endpoint, want) ? "endpoint" : NULL;
  case QCC_JT_OVERRIDE:
    if (r->u.override.kind != QCC_JOVERRIDE_DISABLE && r->u.override.kind != QCC_JOVERRIDE_ENABLE)
      return NULL;
    return ep_matches(&r->u.override.target, want) ? "target" : NULL;
  case QCC_JT_KEY_REJECTED:
    return ep_matches(&r->u.key_rejected.endpoint, want) ? "endpoint" : NULL;
  case QCC_JT_ENDPOINT_REST:
    return ep_matches(&r->u.endpoint_rest.endpoint, want) ? "endpoint" : NULL;
  case QCC_JT_ENDPOINT_RESET:
    return ep_matches(&r->u.endpoint_reset.endpoint, want) ? "endpoint" : NULL;
  case QCC_JT_ALERT: {
    const struct qcc_jrec_alert *a = &r->u.alert;
    bool everyone = a->endpoint.sid == 0 && a->kind != NULL && strncmp(a->kind, "all_down", 8) == 0;
    return everyone || ep_matches(&a->endpoint, want) ? "" : NULL;
  }
  default:
    return NULL;
  }
}

/* priority history rows: event, from, to, reason. */
static bool priority_row(const struct qcc_jrec *r, const char **ev, char *from, char *to,
                         size_t cap, char *reason) {
  char a[QCC_JOURNAL_MAX_TEXT + 1], b[QCC_JOURNAL_MAX_TEXT + 1];
  if (r->type == QCC_JT_GROUP_SWITCH) {
    const struct qcc_jrec_group_switch *g = &r->u.group_switch;
    *ev = "switch";
    qcc_journal_printable(a, sizeof a, g->from);
    qcc_journal_printable(b, sizeof b, g->to);
    snprintf(from, cap, "%s (%s)", a, qcc_enum_name(&qcc_group_desc, g->from_group));
    snprintf(to, cap, "%s (%s)", b, qcc_enum_name(&qcc_group_desc, g->to_group));
    qcc_journal_printable(reason, cap, g->reason);
    return true;
  }
  if (r->type == QCC_JT_OVERRIDE &&
      (r->u.override.kind == QCC_JOVERRIDE_PIN || r->u.override.kind == QCC_JOVERRIDE_UNPIN)) {
    *ev = qcc_enum_name(&qcc_joverride_desc, r->u.override.kind);
    snprintf(from, cap, "-");
    qcc_journal_printable(to, cap, r->u.override.kind == QCC_JOVERRIDE_PIN ? r->u.override.target.id : "auto");
    qcc_journal_printable(reason, cap, r->u.override.reason);
    return true;
  }
  return false;
}

static int walk_cb(const struct qcc_jraw *raw, void *ud) {
  struct walk *w = ud;
  const struct opts *o = w->o;
  if (o->have_since && raw->time_ms < o->since_ms) return 0;
  if (w->mode == 0 && !type_wanted(o, raw->type)) return 0;
  struct qcc_jrec r;
  struct qcc_err err = {0};
  char t[40], lt[64], details[4096];
  qcc_journal_iso_time(raw->time_ms, t, sizeof t);
  qccc_humantime_ms((int64_t)raw->time_ms, lt, sizeof lt);
  bool snap = (raw->flags & QCC_JOURNAL_FLAG_SNAPSHOT) != 0;
  if (qcc_journal_decode(raw, &r, &err) != 0) {
    if (w->mode != 0) return 0;
    /* show lists what it cannot decode instead of hiding it. */
    if (o->json) {
      json_row(w, json_pack("{s:I, s:s, s:I, s:I, s:s}", "offset", (json_int_t)raw->offset, "time", t,
                            "time_ms", (json_int_t)raw->time_ms, "type_id", (json_int_t)raw->type,
                            "error", err.msg));
    } else {
      fprintf(w->out, "%-*s  %-17s  (type %u, %u bytes: %s)\n", TIME_W, lt, "?", raw->type,
              raw->payload_len, err.code == ENOENT ? "unknown type, newer qcc-run?" : "malformed");
      w->rows++;
    }
    return 0;
  }
  const struct qcc_jtype_info *ti = qcc_journal_type(r.type);
  if (w->mode == 0) {
    if (o->json) {
      json_row(w, record_json(&r, raw->offset, NULL));
    } else {
      qcc_journal_format_fields(&r, details, sizeof details);
      fprintf(w->out, "%-*s  %-17s  %s%s\n", TIME_W, lt, ti->name, details, snap ? "  [snapshot]" : "");
      w->rows++;
    }
    return 0;
  }
  if (w->mode == 1) {
    const char *skip = health_ep_field(&r, o->endpoint);
    if (skip == NULL) return 0;
    if (o->json) {
      json_row(w, record_json(&r, raw->offset, NULL));
      return 0;
    }
    /* Details without the endpoint column: it is the one asked for. */
    size_t used = 0;
    details[0] = '\0';
    for (size_t i = 0; i < ti->field_count && used < sizeof details; i++) {
      if (strcmp(ti->fields[i].name, skip) == 0) continue;
      char v[1200];
      qcc_journal_format_field(&r, &ti->fields[i], v, sizeof v);
      int n = snprintf(details + used, sizeof details - used, "%s%s=%s", used ? " " : "",
                       ti->fields[i].name, v[0] ? v : "\"\"");
      if (n < 0) break;
      used += (size_t)n;
    }
    fprintf(w->out, "%-*s  %-13s  %s%s\n", TIME_W, lt, ti->name, details, snap ? "  [snapshot]" : "");
    w->rows++;
    return 0;
  }
  const char *ev;
  char from[600], to[600], reason[600];
  if (!priority_row(&r, &ev, from, to, sizeof from, reason)) return 0;
  if (o->json) {
    if (w->pass == 1) json_row(w, record_json(&r, raw->offset, NULL));
    return 0;
  }
  if (w->pass == 0) {
    int n;
    n = (int)strlen(ev);
    if (n > w->w_event) w->w_event = n;
    n = (int)strlen(from);
    if (n > w->w_from) w->w_from = n;
    n = (int)strlen(to);
    if (n > w->w_to) w->w_to = n;
    return 0;
  }
  fprintf(w->out, "%-*s  %-*s  %-*s  %-*s  %s%s\n", TIME_W, lt, w->w_event, ev, w->w_from, from,
          w->w_to, to, reason, snap ? "  [snapshot]" : "");
  w->rows++;
  return 0;
}

static int run_walk(struct opts *o, int mode, FILE *out, FILE *errout) {
  if (missing_journal(o, errout) != 0) return EXIT_USAGE;
  struct walk w = {.o = o, .out = out, .mode = mode, .w_event = 5, .w_from = 4, .w_to = 2};
  struct qcc_jscan_result res;
  struct qcc_err err = {0};
  if (mode == 2 && !o->json) {
    if (qcc_journal_scan_file(o->path, walk_cb, &w, &res, &err) != 0) {
      fprintf(errout, "qccc: %s\n", err.msg);
      return EXIT_USAGE;
    }
  }
  w.pass = 1;
  if (!o->json) {
    if (mode == 0) fprintf(out, "%-*s  %-17s  %s\n", TIME_W, "TIME", "TYPE", "DETAILS");
    if (mode == 1) fprintf(out, "%-*s  %-13s  %s\n", TIME_W, "TIME", "EVENT", "DETAILS");
    if (mode == 2)
      fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", TIME_W, "TIME", w.w_event, "EVENT", w.w_from,
              "FROM", w.w_to, "TO", "REASON");
  }
  if (qcc_journal_scan_file(o->path, walk_cb, &w, &res, &err) != 0) {
    fprintf(errout, "qccc: %s\n", err.msg);
    return EXIT_USAGE;
  }
  if (o->json) fputs(w.rows ? "\n]\n" : "[]\n", out);
  switch (res.status) {
  case QCC_JSCAN_OK:
  case QCC_JSCAN_EMPTY:
    break;
  case QCC_JSCAN_TORN_TAIL:
    /* qcc-run may be in the middle of a write; the tail is not history yet. */
    fprintf(errout, "qccc: note: %s: %s\n", o->path, res.why);
    break;
  default:
    fprintf(errout, "qccc: %s: %s; showed records up to offset %" PRIu64 ", see `qccc journal check`\n",
            o->path, res.why, res.ok_up_to);
    return EXIT_DAMAGED;
  }
  if (mode == 1 && w.rows == 0 && !o->json)
    fprintf(errout, "qccc: no health history for endpoint '%s' in %s\n", o->endpoint, o->path);
  return EXIT_OK;
}

static void usage(FILE *errout) {
  fputs("usage: qccc journal check [--fix] [--json] [--state-dir DIR]\n"
        "       qccc journal show [--since T] [--type T[,T...]] [--json] [--state-dir DIR]\n"
        "       qccc health history ENDPOINT [--since T] [--json] [--state-dir DIR]\n"
        "       qccc priority history [--since T] [--json] [--state-dir DIR]\n"
        "T: ISO time in UTC (2026-11-26T03:00:00Z) or a duration (90s, 30m, 1h ago, 2d)\n",
        errout);
}

bool qccc_journal_cmd_handles(int argc, char **argv) {
  if (argc < 1) return false;
  if (strcmp(argv[0], "journal") == 0) return true;
  if (argc < 2) return false;
  return (strcmp(argv[0], "health") == 0 || strcmp(argv[0], "priority") == 0) &&
         strcmp(argv[1], "history") == 0;
}

int qccc_journal_cmd(int argc, char **argv, FILE *out, FILE *errout) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(out);
      return 0;
    }
  }
  if (argc < 2 || !qccc_journal_cmd_handles(argc, argv)) {
    usage(errout);
    return EXIT_USAGE;
  }
  /* parse_opts shuffles argv; work on a copy so the caller's stays intact. */
  char **args = calloc((size_t)argc + 1, sizeof *args);
  if (args == NULL) return EXIT_USAGE;
  memcpy(args, argv, (size_t)argc * sizeof *args);
  struct opts *o = calloc(1, sizeof *o);
  int rc = EXIT_USAGE;
  const char *pos[2];
  int npos = 0;
  if (o == NULL) goto done;
  const char *group = args[0], *sub = args[1];
  if (strcmp(group, "journal") == 0 && strcmp(sub, "check") == 0) {
    if (parse_opts(argc - 2, args + 2, o, pos, &npos, 0, true, false, errout) == 0)
      rc = cmd_check(o, out, errout);
  } else if (strcmp(group, "journal") == 0 && strcmp(sub, "show") == 0) {
    if (parse_opts(argc - 2, args + 2, o, pos, &npos, 0, false, true, errout) == 0)
      rc = run_walk(o, 0, out, errout);
  } else if (strcmp(group, "health") == 0) {
    if (parse_opts(argc - 2, args + 2, o, pos, &npos, 1, false, true, errout) == 0) {
      if (npos != 1) {
        fprintf(errout, "qccc: health history needs an ENDPOINT id\n");
      } else {
        o->endpoint = pos[0];
        rc = run_walk(o, 1, out, errout);
      }
    }
  } else if (strcmp(group, "priority") == 0) {
    if (parse_opts(argc - 2, args + 2, o, pos, &npos, 0, false, true, errout) == 0)
      rc = run_walk(o, 2, out, errout);
  } else {
    fprintf(errout, "qccc: unknown command 'journal %s'\n", sub);
    usage(errout);
  }
done:
  free(o);
  free(args);
  return rc;
}
