/* Config, table file and running table compared by digest (freshness.h). */
#include "compiler/freshness.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

#include "compiler/adminclient.h"
#include "compiler/diag.h"
#include "compiler/frontend.h"
#include "compiler/layout.h"
#include "compiler/show.h"
#include "schema/table.h"

int qccc_config_digest(const char *config, uint8_t out[16], struct qcc_err *err) {
  struct qcc_diags *d = qcc_diags_new();
  if (d == NULL) return -1;
  struct qcc_config *cfg = NULL;
  struct qcc_frontend_opts fo = {0};
  bool io = false;
  int rc = qcc_frontend_run(config, &fo, &cfg, d, &io);
  qcc_diags_free(&d);
  if (rc != 0) {
    if (err != NULL) qcc_err_set(err, 0, "%s: %s", config, io ? "cannot be read" : "does not validate");
    return -1;
  }
  qcc_layout_digest(cfg, out);
  qcc_config_free(&cfg);
  return 0;
}

static int table_header(const char *path, struct qcc_tbl_header *h) {
  struct qcc_table *t = NULL;
  struct qcc_table_error te;
  if (qcc_table_open(path, &t, &te) != 0) return -1;
  *h = *qcc_table_header(t);
  qcc_table_close(&t);
  return 0;
}

/* GET /status: the running generation, digest and last reload. 0, or -1 when
 * qcc-run does not answer. */
struct running {
  long long generation;
  char path[4096];
  char digest[33];
  bool reload_failed;
  long long reload_generation;
  char reload_error[256];
};

static int ask_running(const char *state_dir, struct running *r) {
  char sock[4096];
  struct qcc_err err = {0};
  if (qcc_admin_socket_path(state_dir, sock, sizeof sock, &err) != 0) return -1;
  struct qcc_admin_reply rep;
  if (qcc_admin_call(sock, "GET", "/status", NULL, 3000, &rep, &err) != 0) return -1;
  memset(r, 0, sizeof *r);
  const json_t *t = json_object_get(rep.json, "table");
  r->generation = json_integer_value(json_object_get(t, "generation"));
  const char *tp = json_string_value(json_object_get(t, "path"));
  snprintf(r->path, sizeof r->path, "%s", tp != NULL ? tp : "");
  const char *dg = json_string_value(json_object_get(t, "digest"));
  snprintf(r->digest, sizeof r->digest, "%s", dg != NULL ? dg : "");
  const json_t *lr = json_object_get(rep.json, "last_reload");
  if (json_is_object(lr) && json_is_false(json_object_get(lr, "ok"))) {
    r->reload_failed = true;
    r->reload_generation = json_integer_value(json_object_get(lr, "generation"));
    const char *e = json_string_value(json_object_get(lr, "error"));
    snprintf(r->reload_error, sizeof r->reload_error, "%s", e != NULL ? e : "");
  }
  qcc_admin_reply_free(&rep);
  return 0;
}

int qccc_running_table(const char *state_dir, char *path, size_t cap) {
  struct running r;
  if (ask_running(state_dir, &r) != 0 || r.path[0] == '\0') return -1;
  snprintf(path, cap, "%s", r.path);
  return 0;
}

int qccc_report_live(const char *table, const char *state_dir, FILE *out, FILE *err) {
  struct qcc_tbl_header h;
  if (table_header(table, &h) != 0) return 0; /* build reported it */
  struct running r;
  if (ask_running(state_dir, &r) != 0) {
    fprintf(out, "qcc-run is not running; it serves generation %llu when started on %s\n",
            (unsigned long long)h.generation, table);
    return 0;
  }
  /* qcc-run notices the new file at once (inotify; 1 s polling without). */
  for (int i = 0; i < 50 && (unsigned long long)r.generation != h.generation; i++) {
    if (r.reload_failed && (unsigned long long)r.reload_generation == h.generation) {
      fprintf(err, "qccc: qcc-run rejected generation %llu: %s (generation %lld keeps serving)\n",
              (unsigned long long)h.generation, r.reload_error, r.generation);
      return 1;
    }
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    if (ask_running(state_dir, &r) != 0) break;
  }
  if ((unsigned long long)r.generation == h.generation)
    fprintf(out, "live in generation %llu\n", (unsigned long long)h.generation);
  else
    fprintf(out, "built generation %llu, but qcc-run still serves generation %lld (is it serving another table?)\n",
            (unsigned long long)h.generation, r.generation);
  return 0;
}

void qccc_report_drift(const char *config, const char *running_digest, uint64_t running_gen,
                       const char *running_path, FILE *out) {
  uint8_t cd[16];
  char chex[33];
  if (running_digest == NULL || running_digest[0] == '\0') return;
  struct qcc_err err = {0};
  if (qccc_config_digest(config, cd, &err) != 0) {
    fprintf(out, "warning      %s (`qccc validate -c %s`); not compared with the running table\n", err.msg,
            config);
    return;
  }
  qcc_digest_hex(cd, chex);
  if (strcmp(chex, running_digest) == 0) return;
  struct qcc_tbl_header h;
  char thex[33] = "";
  bool have_table = running_path != NULL && table_header(running_path, &h) == 0;
  if (have_table) qcc_digest_hex(h.source_digest, thex);
  if (have_table && strcmp(thex, chex) == 0) {
    fprintf(out, "warning      %s is built (%s generation %llu) but qcc-run still serves generation %llu;\n"
                 "             see `last reload` above\n",
            config, running_path, (unsigned long long)h.generation, (unsigned long long)running_gen);
    return;
  }
  fprintf(out, "warning      %s differs from the table qcc-run serves (generation %llu):\n"
               "             an edit is not built yet, or a rollback left the config ahead of the table\n"
               "             `qccc diff %s %s` shows what; `qccc build -c %s` makes it live\n",
          config, (unsigned long long)running_gen, running_path != NULL ? running_path : "table.bin", config,
          config);
}
