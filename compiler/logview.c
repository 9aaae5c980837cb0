#include "compiler/logview.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compiler/humantime.h"
#include "compiler/instance.h"

#define LV_OK 0
#define LV_FAIL 1
#define LV_USAGE 2
#define TAIL_BYTES (8u << 20) /* the last lines are in the file's last 8 MiB */
#define LINE_MAX_LEN 8192
#define POLL_US 200000

static const char help[] =
    "usage: qccc logs --errors [-n LINES] [-f] [--for S] [--level L] [--state-dir DIR] [--file PATH]\n"
    "       qccc logs --all [-n LINES] [--level L] [--state-dir DIR]\n"
    "--errors: the last LINES (default 20) of qcc-run's error log (STATE_DIR/qcc-run.log, where\n"
    "  failovers, breakers, reloads and start-up problems are told); -f follows it.\n"
    "--all: the error log and the access log merged by time, each line with its level\n"
    "  (access lines: ACCESS, or ACCESS! when the request failed).\n"
    "--level debug|info|warning|error: that level and above (a failed request is a warning).\n"
    "Times are local, with the zone (the files keep UTC). Without --errors/--all, `qccc logs`\n"
    "shows the access log.\n";

struct lv_opts {
  bool errors, all, follow;
  long lines, for_s;
  int level; /* 0 debug .. 3 error */
  const char *state_dir, *file;
};

/* Level of an error-log line from its tag (0..3; 1 when unknown). */
static int line_level(const char *line) {
  const char *sp = strchr(line, ' ');
  if (sp == NULL) return 1;
  static const char *const tags[] = {"DEBUG ", "INFO ", "WARN ", "ERROR "};
  for (int i = 0; i < 4; i++)
    if (strncmp(sp + 1, tags[i], strlen(tags[i])) == 0) return i;
  return 1;
}

static const char *str_or(json_t *j, const char *key) {
  const char *v = json_string_value(json_object_get(j, key));
  return v != NULL ? v : "-";
}

/* One access-log JSON line as "TIME ACCESS ..." text; NULL when not JSON. */
static char *access_text(const char *line, int *level) {
  json_error_t je;
  json_t *j = json_loads(line, 0, &je);
  if (!json_is_object(j)) {
    json_decref(j);
    return NULL;
  }
  const char *t = json_string_value(json_object_get(j, "time"));
  const char *ep = json_string_value(json_object_get(j, "endpoint"));
  long long status = json_integer_value(json_object_get(j, "status"));
  bool failed = json_is_true(json_object_get(j, "failed")) || status >= 500;
  *level = failed ? 2 : 1;
  char *buf = malloc(LINE_MAX_LEN);
  if (buf != NULL)
    snprintf(buf, LINE_MAX_LEN, "%s ACCESS%s %lld %s %s endpoint=%s total=%.0fms", t != NULL ? t : "-",
             failed ? "!" : "", status, str_or(j, "method"), str_or(j, "path"), ep != NULL && *ep ? ep : "-",
             json_number_value(json_object_get(j, "total_ms")));
  json_decref(j);
  return buf;
}

struct ring {
  char **lines;
  size_t cap, count, head;
};

static void ring_push(struct ring *r, char *line) {
  if (r->cap == 0 || line == NULL) {
    free(line);
    return;
  }
  if (r->count == r->cap) {
    free(r->lines[r->head]);
    r->lines[r->head] = line;
    r->head = (r->head + 1) % r->cap;
  } else {
    r->lines[(r->head + r->count++) % r->cap] = line;
  }
}

static char *ring_at(const struct ring *r, size_t i) { return r->lines[(r->head + i) % r->cap]; }

static void ring_free(struct ring *r) {
  for (size_t i = 0; i < r->count; i++) free(ring_at(r, i));
  free(r->lines);
}

/* The last o->lines matching lines of PATH into R (access: JSON lines turned
 * into text). Leaves *pos at the end of what was read. -1 when unreadable. */
static int tail(const char *path, bool access, const struct lv_opts *o, struct ring *r, FILE **keep) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && st.st_size > (off_t)TAIL_BYTES) {
    fseeko(f, st.st_size - (off_t)TAIL_BYTES, SEEK_SET);
    int ch;
    do ch = fgetc(f);
    while (ch != EOF && ch != '\n');
  }
  char line[LINE_MAX_LEN];
  while (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '\0') continue;
    int lvl = 1;
    char *text = access ? access_text(line, &lvl) : strdup(line);
    if (!access) lvl = line_level(line);
    if (text != NULL && lvl >= o->level) ring_push(r, text);
    else free(text);
  }
  if (keep != NULL) *keep = f;
  else fclose(f);
  return 0;
}

/* One line as people read it: its leading UTC time in local time. */
static void put_line(FILE *out, const char *line) {
  char buf[LINE_MAX_LEN + 64];
  fputs(qccc_humantime_line(line, buf, sizeof buf), out);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void follow(FILE *f, const struct lv_opts *o, FILE *out) {
  char line[LINE_MAX_LEN];
  double t0 = now_s();
  for (;;) {
    clearerr(f);
    if (fgets(line, sizeof line, f) != NULL) {
      if (line_level(line) >= o->level) put_line(out, line);
      fflush(out);
      continue;
    }
    if (o->for_s > 0 && now_s() - t0 >= (double)o->for_s) return;
    usleep(POLL_US);
  }
}

static int parse(int argc, char **argv, struct lv_opts *o, FILE *out, FILE *err, bool *done) {
  *done = false;
  o->lines = 20;
  o->level = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = NULL;
    bool takes = strcmp(a, "-n") == 0 || strcmp(a, "--lines") == 0 || strcmp(a, "--for") == 0 ||
                 strcmp(a, "--level") == 0 || strcmp(a, "--state-dir") == 0 || strcmp(a, "--file") == 0;
    if (takes) {
      if (i + 1 >= argc) {
        fprintf(err, "qccc logs: %s needs a value\n  hint: run `qccc logs --help`\n", a);
        return LV_USAGE;
      }
      v = argv[++i];
    } else if (strncmp(a, "--", 2) == 0 && strchr(a, '=') != NULL) {
      size_t n = (size_t)(strchr(a, '=') - a);
      static const char *const names[] = {"--lines", "--for", "--level", "--state-dir", "--file"};
      for (size_t k = 0; k < 5 && v == NULL; k++)
        if (strlen(names[k]) == n && strncmp(a, names[k], n) == 0) v = a + n + 1;
    }
    char *end = NULL;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(help, out);
      *done = true;
      return LV_OK;
    } else if (strcmp(a, "--errors") == 0) {
      o->errors = true;
    } else if (strcmp(a, "--all") == 0) {
      o->all = true;
    } else if (strcmp(a, "-f") == 0 || strcmp(a, "--follow") == 0) {
      o->follow = true;
    } else if (v != NULL && (strcmp(a, "-n") == 0 || strncmp(a, "--lines", 7) == 0)) {
      o->lines = strtol(v, &end, 10);
      if (end == v || *end || o->lines < 0 || o->lines > 100000) goto bad_value;
    } else if (v != NULL && strncmp(a, "--for", 5) == 0) {
      o->for_s = strtol(v, &end, 10);
      if (end == v || *end || o->for_s < 1) goto bad_value;
    } else if (v != NULL && strncmp(a, "--level", 7) == 0) {
      static const char *const lv[] = {"debug", "info", "warning", "error"};
      o->level = -1;
      for (int k = 0; k < 4; k++)
        if (strcmp(v, lv[k]) == 0 || (k == 2 && strcmp(v, "warn") == 0)) o->level = k;
      if (o->level < 0) goto bad_value;
    } else if (v != NULL && strncmp(a, "--state-dir", 11) == 0) {
      o->state_dir = v;
    } else if (v != NULL && strncmp(a, "--file", 6) == 0) {
      o->file = v;
    } else {
      fprintf(err, "qccc logs: unknown option or argument %s\n  hint: run `qccc logs --help`\n", a);
      return LV_USAGE;
    }
    continue;
  bad_value:
    fprintf(err, "qccc logs: %s: bad value \"%s\"\n  hint: run `qccc logs --help`\n", a, v);
    return LV_USAGE;
  }
  if (o->all && o->follow) {
    fprintf(err, "qccc logs: -f follows one log: use it with --errors (or plain `qccc logs -f`)\n");
    return LV_USAGE;
  }
  if (!o->all) o->errors = true; /* --level alone: the error log */
  return LV_OK;
}

int qccc_logview_cmd(int argc, char **argv, FILE *out, FILE *err) {
  struct lv_opts o = {0};
  bool done = false;
  int rc = parse(argc, argv, &o, out, err, &done);
  if (rc != LV_OK || done) return rc;
  struct qcc_instance *inst = NULL;
  struct qcc_err e = {0};
  if (qcc_instance_new(o.state_dir, &inst, &e) != 0) {
    fprintf(err, "qccc logs: %s\n", e.msg);
    return LV_FAIL;
  }
  const char *errlog = o.file != NULL ? o.file : qcc_instance_errlog(inst);
  struct ring er = {.cap = (size_t)o.lines}, ar = {.cap = (size_t)o.lines};
  er.lines = calloc(er.cap + 1, sizeof *er.lines);
  ar.lines = calloc(ar.cap + 1, sizeof *ar.lines);
  FILE *keep = NULL;
  rc = LV_OK;
  if (er.lines == NULL || ar.lines == NULL) {
    fprintf(err, "qccc logs: out of memory\n");
    rc = LV_FAIL;
  } else if (tail(errlog, false, &o, &er, o.follow ? &keep : NULL) != 0) {
    fprintf(err, "qccc logs: no error log at %s: %s\n  hint: `qccc start` writes it there; qcc-run run by "
                 "hand logs to stderr unless given --log\n",
            errlog, strerror(errno));
    rc = LV_FAIL;
  } else if (o.all) {
    tail(qcc_instance_accesslog(inst), true, &o, &ar, NULL); /* no access log yet: errors only */
    /* Merge by the ISO time that starts every line; keep the last LINES. */
    size_t total = er.count + ar.count, skip = total > (size_t)o.lines ? total - (size_t)o.lines : 0;
    size_t i = 0, k = 0;
    for (size_t n = 0; n < total; n++) {
      bool take_e = k >= ar.count || (i < er.count && strncmp(ring_at(&er, i), ring_at(&ar, k), 24) <= 0);
      const char *line = take_e ? ring_at(&er, i++) : ring_at(&ar, k++);
      if (n >= skip) {
        put_line(out, line);
        fputc('\n', out);
      }
    }
  } else {
    for (size_t i = 0; i < er.count; i++) {
      put_line(out, ring_at(&er, i));
      fputc('\n', out);
    }
    fflush(out);
    if (keep != NULL) follow(keep, &o, out);
  }
  if (keep != NULL) fclose(keep);
  if (er.lines != NULL) ring_free(&er);
  if (ar.lines != NULL) ring_free(&ar);
  qcc_instance_free(&inst);
  return rc;
}
