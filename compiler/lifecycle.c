#include "compiler/lifecycle.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compiler/adminclient.h"
#include "compiler/argscan.h"
#include "compiler/clientenv.h"
#include "compiler/diag.h"
#include "compiler/frontend.h"
#include "compiler/instance.h"
#include "compiler/layout.h"
#include "compiler/logview.h"
#include "compiler/opcmd.h"
#include "compiler/service.h"
#include "compiler/snapshots.h"
#include "schema/table.h"

#define LC_OK 0
#define LC_FAIL 1
#define LC_USAGE 2

#define DEFAULT_CONFIG "qcc.yaml"
#define DEFAULT_TABLE "table.bin"
#define START_TIMEOUT_S 30
#define STOP_TIMEOUT_S 60 /* above the default drain_timeout (30 s) */
#define RELOAD_TIMEOUT_S 15
#define POLL_US 50000

struct lc_opts {
  const char *config, *table, *state_dir, *listen;
  long timeout_s;
  bool force, config_given, table_given;
};

struct lc {
  FILE *out, *err;
  struct lc_opts o;
  bool fresh; /* start/run (not restart): see settle_paths */
  struct qcc_instance *inst;
};

static int usage(struct lc *c, const char *cmd, const char *what, const char *arg) {
  fprintf(c->err, "qccc %s: %s%s\n  hint: run `qccc %s --help`\n", cmd, what, arg, cmd);
  return LC_USAGE;
}

static int parse(struct lc *c, const char *cmd, int argc, char **argv) {
  struct lc_opts *o = &c->o;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (strcmp(a, "--force") == 0) {
      o->force = true;
    } else if (strcmp(a, "-c") == 0 || qcc_arg_is(a, "--config")) {
      v = qcc_arg_value(argc, argv, &i, "--config");
      if (v == NULL) return usage(c, cmd, "missing value for ", a);
      o->config = v;
      o->config_given = true;
    } else if (strcmp(a, "-o") == 0 || qcc_arg_is(a, "--table")) {
      v = qcc_arg_value(argc, argv, &i, "--table");
      if (v == NULL) return usage(c, cmd, "missing value for ", a);
      o->table = v;
      o->table_given = true;
    } else if (qcc_arg_is(a, "--state-dir")) {
      v = qcc_arg_value(argc, argv, &i, "--state-dir");
      if (v == NULL) return usage(c, cmd, "missing value for ", a);
      o->state_dir = v;
    } else if (qcc_arg_is(a, "--listen")) {
      v = qcc_arg_value(argc, argv, &i, "--listen");
      if (v == NULL) return usage(c, cmd, "missing value for ", a);
      o->listen = v;
    } else if (qcc_arg_is(a, "--timeout")) {
      v = qcc_arg_value(argc, argv, &i, "--timeout");
      if (v == NULL) return usage(c, cmd, "missing value for ", a);
      char *end = NULL;
      o->timeout_s = strtol(v, &end, 10);
      if (end == v || *end != '\0' || o->timeout_s < 1 || o->timeout_s > 3600)
        return usage(c, cmd, "--timeout needs seconds (1-3600), not ", v);
    } else if (a[0] == '-') {
      return usage(c, cmd, "unknown option ", a);
    } else {
      return usage(c, cmd, "unexpected argument ", a);
    }
  }
  return LC_OK;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int abs_path(const char *path, char *out, size_t cap) {
  if (path[0] == '/') return snprintf(out, cap, "%s", path) < (int)cap ? 0 : -1;
  char cwd[QCC_INSTANCE_PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == NULL) return -1;
  int n = snprintf(out, cap, "%s/%s", cwd, path);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

static bool file_exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* Compile CONFIG into TABLE (no new generation when unchanged). */
static int build(struct lc *c, const char *config, const char *table, uint64_t *generation,
                 bool *unchanged) {
  struct qcc_diags *d = qcc_diags_new();
  if (d == NULL) return LC_FAIL;
  struct qcc_frontend_opts fo = {0};
  struct qcc_config *cfg = NULL;
  bool io_error = false;
  int rc = qcc_frontend_run(config, &fo, &cfg, d, &io_error);
  qcc_diags_print(d, QCC_DIAG_TEXT, c->err);
  qcc_diags_free(&d);
  if (rc != 0) {
    fprintf(c->err, "qccc: %s is not usable; nothing was started or changed\n", config);
    return LC_FAIL;
  }
  struct qcc_snapshots *s = NULL;
  struct qcc_err err = {0};
  struct qcc_build_result r;
  rc = LC_OK;
  if (qcc_snapshots_open(table, &s, &err) != 0 ||
      qcc_snapshots_publish(s, cfg, qcc_layout_build_time(), QCC_SNAPSHOTS_KEEP_DEFAULT, &r, &err) != 0) {
    fprintf(c->err, "qccc: build %s: %s\n", table, err.msg);
    rc = LC_FAIL;
  } else {
    fprintf(c->out, "%s -> %s: %sgeneration %" PRIu64 "\n", config, table, r.unchanged ? "unchanged, " : "built ",
            r.generation);
    *generation = r.generation;
    *unchanged = r.unchanged;
  }
  qcc_snapshots_close(&s);
  qcc_config_free(&cfg);
  return rc;
}

/* Fill info's config/table/listen from the options, else run.json, else
 * the defaults. FRESH (start, run): a ./qcc.yaml here wins over run.json,
 * as it does for `qccc build`; restart and reload go on with run.json. */
static int settle_paths(struct lc *c, struct qcc_run_info *info, bool fresh) {
  struct qcc_run_info prev;
  struct qcc_err err = {0};
  bool have_prev = qcc_instance_info_load(c->inst, &prev, &err) == 0;
  if (fresh && !c->o.config_given && !c->o.table_given && file_exists(DEFAULT_CONFIG)) have_prev = false;
  const char *config = c->o.config_given ? c->o.config
                       : (have_prev && !c->o.table_given && prev.config[0]) ? prev.config
                                                                           : DEFAULT_CONFIG;
  const char *table = c->o.table_given ? c->o.table
                      : (have_prev && !c->o.config_given && prev.table[0]) ? prev.table
                                                                          : DEFAULT_TABLE;
  const char *listen = c->o.listen != NULL ? c->o.listen : have_prev ? prev.listen : "";
  memset(info, 0, sizeof *info);
  if (abs_path(config, info->config, sizeof info->config) != 0 ||
      abs_path(table, info->table, sizeof info->table) != 0) {
    fprintf(c->err, "qccc: path too long\n");
    return LC_FAIL;
  }
  snprintf(info->listen, sizeof info->listen, "%s", listen);
  return LC_OK;
}

static void print_running(struct lc *c, pid_t pid, uint64_t gen, const char *url, bool already) {
  if (already)
    fprintf(c->out, "qcc-run is already running: pid %ld, generation %" PRIu64 ", %s\n", (long)pid, gen, url);
  else
    fprintf(c->out, "qcc-run started: pid %ld, generation %" PRIu64 ", %s\n", (long)pid, gen, url);
  fprintf(c->out, "  logs: %s (errors), %s\n", qcc_instance_errlog(c->inst), qcc_instance_accesslog(c->inst));
  fprintf(c->out, "  export ANTHROPIC_BASE_URL=%s\n", url);
  fprintf(c->out, "  or run Claude Code through it: qccc run%s\n",
          already ? "   (edited the config? `qccc reload`)" : "");
}

/* When the instance runs: its pid (0 = answering without a pidfile). */
static bool running(struct lc *c, pid_t *pid, uint64_t *gen) {
  struct qcc_err err = {0};
  *pid = qcc_instance_pid(c->inst);
  *gen = 0;
  if (qcc_instance_healthz(c->inst, gen, &err) == 0) return true;
  return *pid != 0;
}

static void current_url(struct lc *c, char *url, size_t cap) {
  struct qcc_run_info info;
  struct qcc_err err = {0};
  if (qcc_instance_logged_url(c->inst, url, cap) == 0) return;
  if (qcc_instance_info_load(c->inst, &info, &err) == 0 && info.url[0]) snprintf(url, cap, "%s", info.url);
  else snprintf(url, cap, "(address unknown: see %s)", qcc_instance_errlog(c->inst));
}

/* Run qcc-run --daemon and wait for its parent, which exits once the daemon
 * listens or with the daemon's exit status and reasons on stderr. */
static int spawn(struct lc *c, const struct qcc_run_info *info) {
  char prog[QCC_INSTANCE_PATH_MAX];
  struct qcc_err err = {0};
  if (qcc_instance_program(prog, sizeof prog, &err) != 0) {
    fprintf(c->err, "qccc start: %s\n", err.msg);
    return LC_FAIL;
  }
  char *argv[16];
  int n = 0;
  argv[n++] = prog;
  argv[n++] = "--daemon";
  argv[n++] = "--state-dir";
  argv[n++] = (char *)qcc_instance_dir(c->inst);
  argv[n++] = "--pidfile";
  argv[n++] = (char *)qcc_instance_pidfile(c->inst);
  argv[n++] = "--log";
  argv[n++] = (char *)qcc_instance_errlog(c->inst);
  argv[n++] = "--access-log";
  argv[n++] = (char *)qcc_instance_accesslog(c->inst);
  if (info->listen[0] != '\0') {
    argv[n++] = "--listen";
    argv[n++] = (char *)info->listen;
  }
  argv[n++] = (char *)info->table;
  argv[n] = NULL;
  fflush(c->out);
  fflush(c->err);
  pid_t child = fork();
  if (child < 0) {
    fprintf(c->err, "qccc start: fork: %s\n", strerror(errno));
    return LC_FAIL;
  }
  if (child == 0) {
    execv(prog, argv);
    fprintf(stderr, "qccc start: %s: %s\n", prog, strerror(errno));
    _exit(127);
  }
  long limit = c->o.timeout_s > 0 ? c->o.timeout_s : START_TIMEOUT_S;
  double t0 = now_s();
  int status = 0;
  for (;;) {
    pid_t w = waitpid(child, &status, WNOHANG);
    if (w == child) break;
    if (w < 0 && errno != EINTR) {
      fprintf(c->err, "qccc start: waitpid: %s\n", strerror(errno));
      return LC_FAIL;
    }
    if (now_s() - t0 > (double)limit) {
      kill(child, SIGTERM);
      waitpid(child, &status, 0);
      fprintf(c->err, "qccc start: qcc-run did not report ready within %ld s; see %s\n", limit,
              qcc_instance_errlog(c->inst));
      return LC_FAIL;
    }
    usleep(POLL_US);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return LC_OK;
  if (WIFEXITED(status))
    fprintf(c->err, "qccc start: qcc-run did not start (exit status %d); its log: %s\n", WEXITSTATUS(status),
            qcc_instance_errlog(c->inst));
  else
    fprintf(c->err, "qccc start: qcc-run did not start (signal %d); its log: %s\n",
            WIFSIGNALED(status) ? WTERMSIG(status) : 0, qcc_instance_errlog(c->inst));
  return LC_FAIL;
}

/* Build, spawn, wait for /healthz. url (may be NULL) gets the address. */
static int do_start(struct lc *c, bool quiet, char *url, size_t urlcap, char *table, size_t tablecap) {
  pid_t pid;
  uint64_t gen;
  char addr[512];
  struct qcc_run_info info;
  if (settle_paths(c, &info, c->fresh) != LC_OK) return LC_FAIL;
  if (running(c, &pid, &gen)) {
    current_url(c, addr, sizeof addr);
    if (!quiet) print_running(c, pid, gen, addr, true);
    if (url != NULL) snprintf(url, urlcap, "%s", addr);
    if (table != NULL && qcc_instance_served_table(c->inst, table, tablecap) != 0) {
      struct qcc_run_info prev;
      struct qcc_err err = {0};
      bool have = qcc_instance_info_load(c->inst, &prev, &err) == 0 && prev.table[0];
      snprintf(table, tablecap, "%s", have ? prev.table : info.table);
    }
    return LC_OK;
  }
  if (file_exists(info.config) || c->o.config_given) {
    bool unchanged = false;
    if (build(c, info.config, info.table, &gen, &unchanged) != LC_OK) return LC_FAIL;
  } else if (file_exists(info.table)) {
    fprintf(c->out, "no %s; starting with %s as built\n", info.config, info.table);
  } else {
    fprintf(c->err, "qccc start: no config %s and no table %s\n  hint: `qccc init` writes a starter config\n",
            info.config, info.table);
    return LC_FAIL;
  }
  struct qcc_err err = {0};
  if (qcc_instance_table_url(info.table, info.listen, info.url, sizeof info.url, &err) != 0) {
    fprintf(c->err, "qccc start: %s\n", err.msg);
    return LC_FAIL;
  }
  if (spawn(c, &info) != LC_OK) return LC_FAIL;
  double t0 = now_s();
  while (qcc_instance_healthz(c->inst, &gen, &err) != 0) {
    if (now_s() - t0 > 10.0) {
      fprintf(c->err, "qccc start: qcc-run started but %s does not answer: %s\n", qcc_instance_socket(c->inst),
              err.msg);
      return LC_FAIL;
    }
    usleep(POLL_US);
  }
  if (qcc_instance_logged_url(c->inst, addr, sizeof addr) == 0) snprintf(info.url, sizeof info.url, "%s", addr);
  if (qcc_instance_info_save(c->inst, &info, &err) != 0) fprintf(c->err, "qccc start: warning: %s\n", err.msg);
  pid = qcc_instance_pid(c->inst);
  if (quiet) fprintf(c->err, "qccc: started qcc-run (pid %ld) on %s\n", (long)pid, info.url);
  else print_running(c, pid, gen, info.url, false);
  if (url != NULL) snprintf(url, urlcap, "%s", info.url);
  if (table != NULL) snprintf(table, tablecap, "%s", info.table);
  return LC_OK;
}

static off_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : 0;
}

/* The lines qcc-run logged about stopping, after offset FROM. */
static void report_stop_lines(struct lc *c, off_t from) {
  FILE *f = fopen(qcc_instance_errlog(c->inst), "r");
  if (f == NULL) return;
  if (fseeko(f, from, SEEK_SET) != 0) {
    fclose(f);
    return;
  }
  char line[2048];
  while (fgets(line, sizeof line, f) != NULL)
    if (strstr(line, "draining") || strstr(line, "drained") || strstr(line, "exiting") ||
        strstr(line, "ERROR"))
      fprintf(c->out, "  %s", line);
  fclose(f);
}

static int do_stop(struct lc *c) {
  pid_t pid;
  uint64_t gen;
  if (!running(c, &pid, &gen)) {
    fprintf(c->out, "qcc-run is not running (state dir %s)\n", qcc_instance_dir(c->inst));
    return LC_OK;
  }
  if (pid == 0) {
    fprintf(c->err, "qccc stop: qcc-run answers on %s but left no pidfile: it was not started by\n"
                    "  `qccc start`; stop it the way it was started (`qccc service status` shows a unit)\n",
            qcc_instance_socket(c->inst));
    return LC_FAIL;
  }
  off_t from = file_size(qcc_instance_errlog(c->inst));
  if (kill(pid, SIGTERM) != 0) {
    fprintf(c->err, "qccc stop: kill %ld: %s\n", (long)pid, strerror(errno));
    return LC_FAIL;
  }
  long limit = c->o.timeout_s > 0 ? c->o.timeout_s : STOP_TIMEOUT_S;
  double t0 = now_s();
  fprintf(c->out, "qcc-run (pid %ld): SIGTERM sent, draining open requests\n", (long)pid);
  while (qcc_instance_alive(pid)) {
    if (now_s() - t0 > (double)limit) {
      if (!c->o.force) {
        fprintf(c->err, "qccc stop: qcc-run (pid %ld) still running after %ld s\n"
                        "  hint: `qccc stop --force` kills it after the wait\n",
                (long)pid, limit);
        return LC_FAIL;
      }
      kill(pid, SIGKILL);
      fprintf(c->out, "qcc-run (pid %ld) killed after %ld s: open requests were cut off\n", (long)pid, limit);
      return LC_FAIL;
    }
    usleep(POLL_US);
  }
  fprintf(c->out, "qcc-run (pid %ld) stopped after %.1f s\n", (long)pid, now_s() - t0);
  report_stop_lines(c, from);
  return LC_OK;
}

static int do_reload(struct lc *c) {
  pid_t pid;
  uint64_t before = 0, gen = 0;
  if (!running(c, &pid, &before)) {
    fprintf(c->err, "qccc reload: qcc-run is not running\n  hint: `qccc start`\n");
    return LC_FAIL;
  }
  struct qcc_run_info info;
  if (settle_paths(c, &info, false) != LC_OK) return LC_FAIL;
  /* Build into the file qcc-run watches, whoever started it. */
  char served[QCC_INSTANCE_PATH_MAX];
  if (!c->o.table_given && qcc_instance_served_table(c->inst, served, sizeof served) == 0 &&
      strcmp(served, info.table) != 0) {
    fprintf(c->out, "qcc-run serves %s: building into it\n", served);
    snprintf(info.table, sizeof info.table, "%s", served);
  }
  bool unchanged = false;
  if (build(c, info.config, info.table, &gen, &unchanged) != LC_OK) return LC_FAIL;
  long limit = c->o.timeout_s > 0 ? c->o.timeout_s : RELOAD_TIMEOUT_S;
  double t0 = now_s();
  bool nudged = false;
  struct qcc_err err = {0};
  uint64_t live = before;
  /* qcc-run watches the table file; SIGHUP is the fallback when the watch
   * missed it (e.g. a table on another file system). */
  while (live != gen) {
    if (!nudged && now_s() - t0 > 3.0 && pid != 0) {
      kill(pid, SIGHUP);
      nudged = true;
    }
    if (now_s() - t0 > (double)limit) {
      char why[600];
      qcc_instance_reload_error(c->inst, why, sizeof why);
      fprintf(c->err, "qccc reload: qcc-run still serves generation %" PRIu64 " after %ld s, not %" PRIu64 "%s%s\n",
              live, limit, gen, why[0] ? ": " : "", why);
      if (info.table[0])
        fprintf(c->err, "  hint: is it serving %s? `qccc status` shows its table\n", info.table);
      return LC_FAIL;
    }
    usleep(POLL_US);
    if (qcc_instance_healthz(c->inst, &live, &err) != 0) live = before;
  }
  if (unchanged)
    fprintf(c->out, "config unchanged: generation %" PRIu64 " keeps serving\n", live);
  else
    fprintf(c->out, "live: generation %" PRIu64 " now serving (was %" PRIu64 ")\n", live, before);
  return LC_OK;
}

static int dispatch(struct lc *c, int argc, char **argv) {
  const char *cmd = argv[0];
  int rc = parse(c, cmd, argc, argv);
  if (rc != LC_OK) return rc;
  struct qcc_err err = {0};
  if (qcc_instance_new(c->o.state_dir, &c->inst, &err) != 0) {
    fprintf(c->err, "qccc %s: %s\n", cmd, err.msg);
    return LC_FAIL;
  }
  c->fresh = strcmp(cmd, "start") == 0;
  if (c->fresh) rc = do_start(c, false, NULL, 0, NULL, 0);
  else if (strcmp(cmd, "stop") == 0) rc = do_stop(c);
  else if (strcmp(cmd, "reload") == 0) rc = do_reload(c);
  else {
    rc = do_stop(c); /* restart */
    if (rc == LC_OK) rc = do_start(c, false, NULL, 0, NULL, 0);
  }
  qcc_instance_free(&c->inst);
  return rc;
}

static bool is_lifecycle_word(const char *w) {
  return strcmp(w, "start") == 0 || strcmp(w, "stop") == 0 || strcmp(w, "restart") == 0 ||
         strcmp(w, "reload") == 0;
}

static bool wants_logview(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--errors") == 0 || strcmp(argv[i], "--all") == 0 || qcc_arg_is(argv[i], "--level"))
      return true;
  return false;
}

bool qccc_lifecycle_handles(int argc, char **argv) {
  if (argc < 1) return false;
  if (is_lifecycle_word(argv[0]) || strcmp(argv[0], "service") == 0 || qccc_clientenv_handles(argv[0]))
    return true;
  return strcmp(argv[0], "logs") == 0 && wants_logview(argc, argv);
}

int qccc_lifecycle_cmd(int argc, char **argv, FILE *out, FILE *err) {
  struct lc c = {.out = out, .err = err};
  if (strcmp(argv[0], "logs") == 0) return qccc_logview_cmd(argc, argv, out, err);
  if (strcmp(argv[0], "service") == 0) return qccc_service_cmd(argc, argv, out, err);
  if (qccc_clientenv_handles(argv[0])) return qccc_clientenv_cmd(argc, argv, out, err);
  return dispatch(&c, argc, argv);
}

int qccc_lifecycle_build(const char *config, const char *table, FILE *out, FILE *err) {
  struct lc c = {.out = out, .err = err};
  uint64_t gen = 0;
  bool unchanged = false;
  return build(&c, config, table, &gen, &unchanged);
}

int qccc_lifecycle_ensure(const char *config, const char *table_path, const char *state_dir,
                          char *url, size_t urlcap, char *table, size_t tablecap, FILE *err) {
  struct lc c = {.out = err, .err = err, .fresh = true};
  c.o.config = config;
  c.o.config_given = config != NULL;
  c.o.table = table_path;
  c.o.table_given = table_path != NULL;
  c.o.state_dir = state_dir;
  struct qcc_err e = {0};
  if (qcc_instance_new(state_dir, &c.inst, &e) != 0) {
    fprintf(err, "qccc: %s\n", e.msg);
    return LC_FAIL;
  }
  int rc = do_start(&c, true, url, urlcap, table, tablecap);
  qcc_instance_free(&c.inst);
  return rc;
}
