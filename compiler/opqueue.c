/* The retry queue and its dead letters of a running qcc-run (compiler/opcmd.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/opctx.h"
#include "compiler/texttable.h"

/* ---- queue --------------------------------------------------------------- */

static void fmt_bytes(long long n, char *out, size_t cap) {
  if (n >= 1 << 20) snprintf(out, cap, "%.1f MiB", (double)n / (1 << 20));
  else if (n >= 1 << 10) snprintf(out, cap, "%.1f KiB", (double)n / (1 << 10));
  else snprintf(out, cap, "%lld B", n);
}

static void print_queue_status(struct ctx *c, const json_t *j) {
  char wait[32];
  op_fmt_dur(op_ji(j, "max_wait_ms") / 1000, wait, sizeof wait);
  /* two lines: one fits 100 columns with the longest strategy name */
  fprintf(c->out, "queue        %s, %lld waiting (%lld retrying), at most %lld\n",
          json_object_get(j, "enabled") == NULL ? "?" : op_jb(j, "enabled") ? "enabled" : "disabled",
          op_ji(j, "depth"), op_ji(j, "retrying"), op_ji(j, "max_size"));
  fprintf(c->out, "retries      %s, %lld retr%s, max wait %s\n", op_js(j, "strategy"),
          op_ji(j, "max_retries"), op_ji(j, "max_retries") == 1 ? "y" : "ies", wait);
  const json_t *k = json_object_get(j, "counters");
  fprintf(c->out, "totals       %lld enqueued, %lld rejected, %lld expired, %lld succeeded, "
                  "%lld removed, %lld retries\n",
          op_ji(k, "enqueued"), op_ji(k, "rejected"), op_ji(k, "expired"), op_ji(k, "succeeded"),
          op_ji(k, "removed"), op_ji(k, "retries"));
  const json_t *d = json_object_get(j, "dead_letters");
  if (json_is_object(d)) {
    char b[32];
    fmt_bytes(op_ji(d, "bytes"), b, sizeof b);
    fprintf(c->out, "dead letters %lld kept (%s), %lld added, %lld dropped%s\n", op_ji(d, "count"),
            b, op_ji(d, "added"), op_ji(d, "dropped"),
            op_ji(d, "count") > 0 ? "; `qccc queue list` shows them" : "");
  } else {
    fprintf(c->out, "dead letters not available\n");
  }
}

static int queue_list(struct ctx *c) {
  struct qcc_admin_reply q, d;
  int rc = op_call(c, "GET", "/queue", NULL, 0, &q);
  if (rc != OP_OK) return rc;
  rc = op_call(c, "GET", "/queue/deadletters", NULL, 0, &d);
  if (rc != OP_OK) {
    qcc_admin_reply_free(&q);
    return rc;
  }
  if (c->o.json) {
    json_t *o = json_pack("{s:O,s:O}", "waiting", json_object_get(q.json, "entries"),
                          "dead_letters", json_object_get(d.json, "dead_letters"));
    op_print_json(c, o);
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
        snprintf(pr, sizeof pr, "%lld", op_ji(e, "priority"));
        snprintf(re, sizeof re, "%lld", op_ji(e, "retries"));
        op_fmt_dur(op_ji(e, "waiting_ms") / 1000, w, sizeof w);
        qccc_texttable_row(&t, op_js(e, "id"), pr, re, op_js(e, "state"), w);
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
        op_fmt_time(json_object_get(e, "time"), tm, sizeof tm);
        snprintf(req, sizeof req, "%s %.120s", op_js(e, "method"), op_js(e, "target"));
        snprintf(at, sizeof at, "%lld", op_ji(e, "attempts"));
        size_t k;
        const json_t *tr;
        json_array_foreach(json_object_get(e, "tried"), k, tr) {
          size_t l = strlen(tried);
          snprintf(tried + l, sizeof tried - l, "%s%s", k ? ", " : "", op_js(tr, "endpoint"));
        }
        const json_t *rp = json_object_get(e, "replay");
        if (json_is_object(rp)) snprintf(rep, sizeof rep, "HTTP %lld", op_ji(rp, "status"));
        qccc_texttable_row(&t, op_js(e, "id"), tm, req, at, tried, op_js(e, "reason"), rep);
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

int op_cmd_queue(struct ctx *c) {
  const char *sub = c->o.npos > 1 ? c->o.pos[1] : "";
  struct qcc_admin_reply r;
  int rc;
  if (strcmp(sub, "list") == 0 && c->o.npos == 2) return queue_list(c);
  if (strcmp(sub, "status") == 0 && c->o.npos == 2) {
    rc = op_call(c, "GET", "/queue", NULL, 0, &r);
    if (rc != OP_OK) return rc;
    if (c->o.json) op_print_json(c, r.json);
    else print_queue_status(c, r.json);
    qcc_admin_reply_free(&r);
    return OP_OK;
  }
  if (strcmp(sub, "retry") == 0 && c->o.npos == 3) {
    char e[128], path[192];
    op_enc(c->o.pos[2], e, sizeof e);
    snprintf(path, sizeof path, "/queue/retry/%s", e);
    char body[400];
    if (!op_reason_body(c, body, sizeof body)) return op_usage(c, "--reason must be UTF-8 text");
    rc = op_call(c, "POST", path, body, LONG_TIMEOUT_MS, &r);
    if (rc != OP_OK) return rc;
    bool ok = op_jb(r.json, "ok");
    if (c->o.json) op_print_json(c, r.json);
    else
      fprintf(c->out, "%s dead letter %s replayed: %s%lld%s%s\n", ok ? "✓" : "✗", op_js(r.json, "id"),
              op_ji(r.json, "status") ? "HTTP " : "status ", op_ji(r.json, "status"),
              op_js(r.json, "detail")[0] ? ": " : "", op_js(r.json, "detail"));
    qcc_admin_reply_free(&r);
    return ok ? OP_OK : OP_FAIL;
  }
  if (strcmp(sub, "retry-all") == 0 && c->o.npos == 2) {
    rc = op_call(c, "POST", "/queue/retry-all", "{}", LONG_TIMEOUT_MS, &r);
    if (rc != OP_OK) return rc;
    long long failed = op_ji(r.json, "failed");
    if (c->o.json) {
      op_print_json(c, r.json);
    } else {
      size_t i;
      const json_t *e;
      struct qccc_texttable t = {.cols = 3};
      qccc_texttable_row(&t, "ID", "RESULT", "DETAIL");
      json_array_foreach(json_object_get(r.json, "results"), i, e) {
        char st[32];
        snprintf(st, sizeof st, "%s HTTP %lld",
                 op_ji(e, "status") >= 200 && op_ji(e, "status") < 300 ? "✓" : "✗", op_ji(e, "status"));
        qccc_texttable_row(&t, op_js(e, "id"), st, op_js(e, "detail"));
      }
      if (op_ji(r.json, "retried") > 0) {
        qccc_texttable_print(&t, c->out, "", c->o.wide ? 0 : TEXT_FIT);
        fputc('\n', c->out);
      } else {
        qccc_texttable_free(&t);
      }
      fprintf(c->out, "retried %lld dead letter%s: %lld succeeded, %lld failed\n",
              op_ji(r.json, "retried"), op_plural(op_ji(r.json, "retried")), op_ji(r.json, "succeeded"),
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
    rc = op_call(c, "POST", "/queue/clear", "{}", 0, &r);
    if (rc != OP_OK) return rc;
    if (c->o.json) op_print_json(c, r.json);
    else fprintf(c->out, "✓ cleared %lld dead letter%s\n", op_ji(r.json, "cleared"),
                 op_plural(op_ji(r.json, "cleared")));
    qcc_admin_reply_free(&r);
    return OP_OK;
  }
  return op_usage(c, "usage: qccc queue status | list | retry ID | retry-all | clear  [--json]");
}
