/* `qccc logs`: qcc-run's access log, read from the state dir, filtered or
 * followed (compiler/opcmd.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compiler/opctx.h"
#include "schema/statedir.h"

/* ---- logs ---------------------------------------------------------------- */

#define LOG_TAIL_BYTES (8u << 20) /* the last lines are found in the file's last 8 MiB */
#define LOG_LINE_MAX 65536
#define LOG_POLL_US 200000

static bool log_match(const struct opts *o, const json_t *j) {
  if (j == NULL) return false;
  if (o->endpoint != NULL && strcmp(op_js(j, "endpoint"), o->endpoint) != 0) return false;
  if (o->status != 0 && op_ji(j, "status") != o->status) return false;
  return true;
}

static void log_print(struct ctx *c, const char *line, const json_t *j) {
  if (c->o.json) {
    fprintf(c->out, "%s\n", line);
    return;
  }
  char tm[40], ttfb[24] = "-", total[24];
  op_fmt_time(json_object_get(j, "time"), tm, sizeof tm);
  const json_t *t = json_object_get(j, "ttfb_ms");
  if (json_is_number(t)) snprintf(ttfb, sizeof ttfb, "%.0f ms", json_number_value(t));
  snprintf(total, sizeof total, "%.0f ms", json_number_value(json_object_get(j, "total_ms")));
  fprintf(c->out, "%s  %3lld  %-6s %-32s %-16s ttfb %8s  total %8s%s\n", tm, op_ji(j, "status"),
          op_js(j, "method"), op_js(j, "path"), op_js(j, "endpoint")[0] ? op_js(j, "endpoint") : "-", ttfb,
          total, op_jb(j, "failed") ? "  FAILED" : "");
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

int op_cmd_logs(struct ctx *c) {
  if (c->o.npos != 1)
    return op_usage(c, "usage: qccc logs [-f] [--endpoint ID] [--status N] [-n LINES] [--json]");
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
