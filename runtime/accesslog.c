#include "accesslog.h"

#include "schema/pricing.h"
#include "schema/usage.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct qcc_accesslog {
  char *path; /* NULL = stdout */
  int fd;
  uint64_t dropped;
};

static int open_fd(const char *path, struct qcc_err *err) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return qcc_err_set(err, errno, "access log %s: %s", path, strerror(errno));
  return fd;
}

int qcc_accesslog_open(const char *path, struct qcc_accesslog **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_accesslog *l = calloc(1, sizeof *l);
  if (l == NULL) return qcc_err_set(err, ENOMEM, "access log: out of memory");
  if (path == NULL || strcmp(path, "-") == 0) {
    l->fd = STDOUT_FILENO;
  } else {
    l->path = strdup(path);
    if (l->path == NULL) {
      free(l);
      return qcc_err_set(err, ENOMEM, "access log: out of memory");
    }
    l->fd = open_fd(path, err);
    if (l->fd < 0) {
      free(l->path);
      free(l);
      return -1;
    }
  }
  *out = l;
  return 0;
}

void qcc_accesslog_close(struct qcc_accesslog **log) {
  if (log == NULL || *log == NULL) return;
  struct qcc_accesslog *l = *log;
  if (l->path != NULL && l->fd >= 0) close(l->fd);
  free(l->path);
  free(l);
  *log = NULL;
}

int qcc_accesslog_reopen(struct qcc_accesslog *l, struct qcc_err *err) {
  if (l == NULL || l->path == NULL) return 0;
  int fd = open_fd(l->path, err);
  if (fd < 0) return -1;
  close(l->fd);
  l->fd = fd;
  return 0;
}

uint64_t qcc_accesslog_dropped(const struct qcc_accesslog *l) { return l == NULL ? 0 : l->dropped; }

static void iso_time(char *buf, size_t cap) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
}

/* Round to microseconds so lines stay short and stable. */
static double ms3(double v) { return (double)(int64_t)(v * 1000.0 + 0.5) / 1000.0; }

void qcc_accesslog_write(struct qcc_accesslog *l, const struct qcc_access_entry *e) {
  if (l == NULL || e == NULL) return;
  char when[80];
  iso_time(when, sizeof when);
  json_t *o = json_object();
  if (o == NULL) {
    l->dropped++;
    return;
  }
  /* json_stringn_nocheck would accept invalid UTF-8 from a hostile path;
   * json_stringn rejects it, and then the path is logged as null. */
  json_object_set_new(o, "time", json_string(when));
  json_object_set_new(o, "request_id", json_string(e->request_id != NULL ? e->request_id : ""));
  json_object_set_new(o, "method", json_string(e->method != NULL ? e->method : ""));
  json_t *path = e->path != NULL ? json_stringn(e->path, e->path_len) : NULL;
  json_object_set_new(o, "path", path != NULL ? path : json_null());
  json_object_set_new(o, "endpoint", e->endpoint != NULL ? json_string(e->endpoint) : json_null());
  json_object_set_new(o, "status", json_integer(e->status));
  json_object_set_new(o, "upstream_status", json_integer(e->upstream_status));
  json_object_set_new(o, "ttfb_ms", e->ttfb_ms < 0 ? json_null() : json_real(ms3(e->ttfb_ms)));
  json_object_set_new(o, "total_ms", json_real(ms3(e->total_ms)));
  json_object_set_new(o, "bytes_in", json_integer((json_int_t)e->bytes_in));
  json_object_set_new(o, "bytes_out", json_integer((json_int_t)e->bytes_out));
  json_object_set_new(o, "generation", json_integer((json_int_t)e->generation));
  json_object_set_new(o, "failed", json_boolean(e->failed));
  if (e->model != NULL) json_object_set_new(o, "model", json_string(e->model));
  if (e->tokens != NULL) {
    const struct qcc_usage_tokens *t = e->tokens;
    json_t *tk = json_object();
    const int64_t v[5] = {t->input, t->output, t->cache_write_5m, t->cache_write_1h, t->cache_read};
    static const char *const kinds[5] = {"input", "output", "cache_write_5m", "cache_write_1h",
                                         "cache_read"};
    /* unknown (QCC_USAGE_UNKNOWN) is null, never 0 */
    for (size_t k = 0; k < 5; k++)
      json_object_set_new(tk, kinds[k], v[k] >= 0 ? json_integer(v[k]) : json_null());
    json_object_set_new(o, "tokens", tk);
  }
  if (e->cost_pico != NULL) {
    /* exact USD as a decimal string; null = no price (never a guessed 0) */
    char usd[48];
    if (*e->cost_pico >= 0) qcc_pico_usd_text((uint64_t)*e->cost_pico, usd, sizeof usd);
    json_object_set_new(o, "cost_usd", *e->cost_pico >= 0 ? json_string(usd) : json_null());
  }
  if (e->tried_count > 0) {
    json_t *arr = json_array();
    for (size_t i = 0; i < e->tried_count; i++) {
      json_t *t = json_object();
      json_object_set_new(t, "endpoint", json_string(e->tried[i].endpoint));
      json_object_set_new(t, "status", json_integer(e->tried[i].status));
      json_object_set_new(t, "reason", json_string(e->tried[i].reason));
      json_array_append_new(arr, t);
    }
    json_object_set_new(o, "tried", arr);
  }
  char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  json_decref(o);
  if (line == NULL) {
    l->dropped++;
    return;
  }
  size_t n = strlen(line);
  line[n] = '\n'; /* overwrite the NUL: one write() per line keeps lines whole */
  ssize_t w = write(l->fd, line, n + 1);
  if (w != (ssize_t)(n + 1)) l->dropped++;
  free(line);
}
