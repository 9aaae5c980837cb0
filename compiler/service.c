#include "compiler/service.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <grp.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compiler/confirm.h"
#include "compiler/instance.h"
#include "compiler/lifecycle.h"
#include "schema/fileio.h"

extern char **environ;

#define SV_OK 0
#define SV_FAIL 1
#define SV_USAGE 2
#define UNIT_NAME "qcc-run.service"

static const char help[] =
    "usage: qccc service install [--user | --system] [-c FILE] [-o TABLE] [--state-dir DIR]\n"
    "                            [--run-as USER] [--root DIR] [--no-start]\n"
    "       qccc service uninstall [--user | --system] [--root DIR] [-y]\n"
    "       qccc service status [--user | --system] [--root DIR]\n"
    "install: build FILE (default ./qcc.yaml) into TABLE (default ./table.bin) and write a\n"
    "  hardened systemd unit " UNIT_NAME " running qcc-run on it, logs and pidfile in the\n"
    "  state dir; a user unit (~/.config/systemd/user) unless --system (/etc/systemd/system,\n"
    "  run as --run-as USER, default $SUDO_USER or you). Enables and starts it where systemd\n"
    "  runs, else prints what to run. Keys named by api_key_env go in STATE_DIR/keys.env\n"
    "  (VAR=value lines, mode 0600), which the unit reads.\n"
    "uninstall: stop and disable it, remove the unit (asks on a terminal; -y does not).\n"
    "status: the unit and whether it serves.\n"
    "--root DIR (or $QCC_SERVICE_ROOT): write under DIR, never call systemctl.\n";

struct sv_opts {
  const char *sub, *config, *table, *state_dir, *run_as, *root;
  bool system, no_start, help, yes;
};

static bool is_flag(const char *a, const char *name) {
  size_t n = strlen(name);
  return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

static const char *value(int argc, char **argv, int *i, const char *name) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) == 0 && a[n] == '=') return a + n + 1;
  return *i + 1 < argc ? argv[++*i] : NULL;
}

static int usage(FILE *err, const char *what, const char *arg) {
  fprintf(err, "qccc service: %s%s\n  hint: run `qccc service --help`\n", what, arg);
  return SV_USAGE;
}

static int parse(int argc, char **argv, struct sv_opts *o, FILE *err) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
#define TAKE(name)                                                                  \
  v = value(argc, argv, &i, name);                                                \
  if (v == NULL) return usage(err, "missing value for ", a)
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) o->help = true;
    else if (strcmp(a, "--user") == 0) o->system = false;
    else if (strcmp(a, "--system") == 0) o->system = true;
    else if (strcmp(a, "--no-start") == 0) o->no_start = true;
    else if (strcmp(a, "-y") == 0 || strcmp(a, "--yes") == 0) o->yes = true;
    else if (strcmp(a, "-c") == 0 || is_flag(a, "--config")) { TAKE("--config"); o->config = v; }
    else if (strcmp(a, "-o") == 0 || is_flag(a, "--table")) { TAKE("--table"); o->table = v; }
    else if (is_flag(a, "--state-dir")) { TAKE("--state-dir"); o->state_dir = v; }
    else if (is_flag(a, "--run-as")) { TAKE("--run-as"); o->run_as = v; }
    else if (is_flag(a, "--root")) { TAKE("--root"); o->root = v; }
    else if (a[0] == '-') return usage(err, "unknown option ", a);
    else if (o->sub == NULL) o->sub = a;
    else return usage(err, "unexpected argument ", a);
#undef TAKE
  }
  if (o->root == NULL && getenv("QCC_SERVICE_ROOT") != NULL && *getenv("QCC_SERVICE_ROOT") != '\0')
    o->root = getenv("QCC_SERVICE_ROOT");
  return SV_OK;
}

static int abs_path(const char *path, char *out, size_t cap) {
  char cwd[QCC_INSTANCE_PATH_MAX];
  if (path[0] == '/') return snprintf(out, cap, "%s", path) < (int)cap ? 0 : -1;
  if (getcwd(cwd, sizeof cwd) == NULL) return -1;
  int n = snprintf(out, cap, "%s/%s", cwd, path);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* mkdir -p with MODE for the missing parts. */
static int mkdirs(const char *dir, mode_t mode) {
  char buf[QCC_INSTANCE_PATH_MAX];
  snprintf(buf, sizeof buf, "%s", dir);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, mode) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, mode) != 0 && errno != EEXIST ? -1 : 0;
}

static int unit_path(const struct sv_opts *o, char *dir, size_t dcap, char *path, size_t pcap, FILE *err) {
  const char *root = o->root != NULL ? o->root : "";
  if (o->system) {
    snprintf(dir, dcap, "%s/etc/systemd/system", root);
  } else {
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/') snprintf(dir, dcap, "%s%s/systemd/user", root, xdg);
    else if (home != NULL && *home != '\0') snprintf(dir, dcap, "%s%s/.config/systemd/user", root, home);
    else {
      fprintf(err, "qccc service: HOME is not set: where does the user unit go?\n");
      return SV_FAIL;
    }
  }
  int n = snprintf(path, pcap, "%s/%s", dir, UNIT_NAME);
  return n > 0 && (size_t)n < pcap ? SV_OK : SV_FAIL;
}

/* systemd splits unit lines at spaces and expands % and $: refuse paths it
 * would read differently rather than quote them half right. */
static bool unit_safe(const char *p) { return strpbrk(p, " \t\n\"'\\%$;") == NULL; }

/* Run systemctl [--user] ARGS; output goes where ours goes (quiet: nowhere). */
static int systemctl(bool user, bool quiet, const char *a1, const char *a2, const char *a3) {
  char *argv[8];
  int n = 0;
  argv[n++] = "systemctl";
  if (user) argv[n++] = "--user";
  if (a1 != NULL) argv[n++] = (char *)a1;
  if (a2 != NULL) argv[n++] = (char *)a2;
  if (a3 != NULL) argv[n++] = (char *)a3;
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (quiet) {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  fflush(NULL);
  pid_t pid;
  int rc = posix_spawnp(&pid, "systemctl", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* systemd runs here and answers (for a user unit: the user's manager). */
static bool systemd_usable(const struct sv_opts *o) {
  if (o->root != NULL) return false;
  if (access("/run/systemd/system", F_OK) != 0) return false;
  return systemctl(!o->system, true, "show-environment", NULL, NULL) == 0;
}

static void what_to_run(FILE *out, bool user, const char *verb) {
  const char *u = user ? " --user" : "";
  fprintf(out, "  systemctl%s daemon-reload\n  systemctl%s %s qcc-run\n", u, u, verb);
}

static bool under_tmp(const char *p) { return strncmp(p, "/tmp/", 5) == 0 || strncmp(p, "/var/tmp/", 9) == 0; }

static int write_unit(const struct sv_opts *o, const char *path, const char *prog, const char *table,
                      const char *state, FILE *err) {
  char user[256] = "", group[256] = "";
  if (o->system) {
    const char *name = o->run_as != NULL ? o->run_as : getenv("SUDO_USER");
    struct passwd *pw = name != NULL ? getpwnam(name) : getpwuid(getuid());
    if (pw == NULL || pw->pw_uid == 0) {
      fprintf(err, "qccc service: --system needs an unprivileged user to run as: --run-as USER%s%s\n",
              name != NULL ? " (not " : "", name != NULL ? name : "");
      if (name != NULL) fprintf(err, ")\n");
      return SV_FAIL;
    }
    struct group *gr = getgrgid(pw->pw_gid);
    snprintf(user, sizeof user, "%s", pw->pw_name);
    snprintf(group, sizeof group, "%s", gr != NULL ? gr->gr_name : pw->pw_name);
  }
  char when[40];
  time_t now = time(NULL);
  struct tm tm;
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (f == NULL) return SV_FAIL;
  fprintf(f,
          "# Written by `qccc service install%s` (%s). `qccc service uninstall` removes it.\n"
          "# qcc-run serves %s; `qccc reload` rebuilds it and qcc-run swaps\n"
          "# without a restart. Logs: %s/qcc-run.log (errors), %s/access.log.\n"
          "# Keys named by api_key_env: put VAR=value lines in %s/keys.env (mode 0600).\n"
          "[Unit]\n"
          "Description=qcc-run: routing proxy for Claude Code\n"
          "After=network-online.target\n"
          "Wants=network-online.target\n"
          "\n"
          "[Service]\n"
          "Type=simple\n",
          o->system ? " --system" : "", when, table, state, state, state);
  if (o->system) fprintf(f, "User=%s\nGroup=%s\n", user, group);
  fprintf(f,
          "Environment=QCC_STATE_DIR=%s\n"
          "EnvironmentFile=-%s/keys.env\n"
          "# Refuse to start on a table that does not verify (exit 1 with the reason).\n"
          "ExecStartPre=%s --check %s\n"
          "ExecStart=%s --state-dir %s --pidfile %s/qcc-run.pid --log %s/qcc-run.log %s\n"
          "ExecReload=/bin/kill -HUP $MAINPID\n"
          "# SIGTERM drains open requests (proxy.drain_timeout), then exits 0.\n"
          "KillSignal=SIGTERM\n"
          "TimeoutStopSec=45\n"
          "Restart=on-failure\n"
          "RestartSec=2\n"
          "LimitNOFILE=65536\n"
          "# Hardening: nothing but the state dir is writable; no privileges to gain.\n"
          "UMask=0077\n"
          "NoNewPrivileges=yes\n"
          "%s"
          "ProtectSystem=strict\n"
          "ProtectHome=read-only\n"
          "ReadWritePaths=%s\n"
          "LockPersonality=yes\n"
          "RestrictRealtime=yes\n"
          "RestrictSUIDSGID=yes\n"
          "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"
          "SystemCallArchitectures=native\n",
          state, state, prog, table, prog, state, state, state, table,
          under_tmp(state) || under_tmp(table) ? "# PrivateTmp off: the state dir or table is in /tmp\n"
                                               : "PrivateTmp=yes\n",
          state);
  if (o->system)
    fputs("# A system unit can drop everything else too.\n"
          "CapabilityBoundingSet=\n"
          "AmbientCapabilities=\n"
          "PrivateDevices=yes\n"
          "ProtectKernelTunables=yes\n"
          "ProtectKernelModules=yes\n"
          "ProtectKernelLogs=yes\n"
          "ProtectControlGroups=yes\n"
          "ProtectClock=yes\n"
          "ProtectHostname=yes\n"
          "RestrictNamespaces=yes\n"
          "MemoryDenyWriteExecute=yes\n"
          "SystemCallFilter=@system-service\n",
          f);
  fprintf(f, "\n[Install]\nWantedBy=%s\n", o->system ? "multi-user.target" : "default.target");
  if (fclose(f) != 0) {
    free(text);
    return SV_FAIL;
  }
  struct qcc_err e = {0};
  int rc = qcc_file_replace(path, text, len, 0644, &e);
  free(text);
  if (rc != 0) {
    fprintf(err, "qccc service: %s%s\n", e.msg, o->system && o->root == NULL ? " (--system needs root: sudo)" : "");
    return SV_FAIL;
  }
  return SV_OK;
}

static int install(const struct sv_opts *o, const char *dir, const char *path, FILE *out, FILE *err) {
  char prog[QCC_INSTANCE_PATH_MAX], config[QCC_INSTANCE_PATH_MAX], table[QCC_INSTANCE_PATH_MAX];
  struct qcc_err e = {0};
  if (qcc_instance_program(prog, sizeof prog, &e) != 0) {
    fprintf(err, "qccc service: %s\n", e.msg);
    return SV_FAIL;
  }
  if (abs_path(o->config != NULL ? o->config : "qcc.yaml", config, sizeof config) != 0 ||
      abs_path(o->table != NULL ? o->table : "table.bin", table, sizeof table) != 0)
    return SV_FAIL;
  struct stat st;
  if (stat(config, &st) == 0 || o->config != NULL) {
    int rc = qccc_lifecycle_build(config, table, out, err);
    if (rc != SV_OK) return rc;
  } else if (stat(table, &st) != 0) {
    fprintf(err, "qccc service: no config %s and no table %s\n  hint: `qccc init` writes a starter config\n",
            config, table);
    return SV_FAIL;
  }
  struct qcc_instance *inst = NULL;
  if (qcc_instance_new(o->state_dir, &inst, &e) != 0) {
    fprintf(err, "qccc service: %s\n", e.msg);
    return SV_FAIL;
  }
  char state[QCC_INSTANCE_PATH_MAX];
  snprintf(state, sizeof state, "%s", qcc_instance_dir(inst));
  pid_t running = qcc_instance_pid(inst);
  qcc_instance_free(&inst);
  const char *paths[] = {prog, table, state};
  for (size_t i = 0; i < 3; i++)
    if (!unit_safe(paths[i])) {
      fprintf(err, "qccc service: %s: a path with spaces, quotes, %% or $ cannot go in a unit as is\n",
              paths[i]);
      return SV_FAIL;
    }
  if (mkdirs(dir, 0755) != 0) {
    fprintf(err, "qccc service: %s: %s%s\n", dir, strerror(errno),
            o->system && o->root == NULL ? " (--system needs root: sudo)" : "");
    return SV_FAIL;
  }
  int rc = write_unit(o, path, prog, table, state, err);
  if (rc != SV_OK) return rc;
  /* What `qccc reload`, `run` and `env` read to find this instance. */
  struct qcc_run_info info = {0};
  snprintf(info.config, sizeof info.config, "%s", config);
  snprintf(info.table, sizeof info.table, "%s", table);
  if (o->root == NULL && qcc_instance_new(o->state_dir, &inst, &e) == 0 &&
      qcc_instance_table_url(table, NULL, info.url, sizeof info.url, &e) == 0)
    qcc_instance_info_save(inst, &info, &e);
  qcc_instance_free(&inst);
  fprintf(out, "wrote %s (%s unit)\n", path, o->system ? "system" : "user");
  bool user = !o->system;
  if (o->no_start || !systemd_usable(o)) {
    fprintf(out, "%s; to enable and start it:\n",
            o->root != NULL ? "installed under --root" : o->no_start ? "not started (--no-start)"
                                                                      : "systemd is not running here");
    what_to_run(out, user, "enable --now");
    if (o->root == NULL && !o->no_start) fprintf(out, "  (without systemd: `qccc start`)\n");
    return SV_OK;
  }
  if (running != 0)
    fprintf(err, "qccc service: qcc-run started by `qccc start` runs (pid %ld); the unit would fight it for "
                 "the port: `qccc stop` first\n",
            (long)running);
  if (systemctl(user, false, "daemon-reload", NULL, NULL) != 0 ||
      systemctl(user, false, "enable", "--now", UNIT_NAME) != 0) {
    fprintf(err, "qccc service: systemctl failed; see `systemctl%s status qcc-run`\n", user ? " --user" : "");
    return SV_FAIL;
  }
  fprintf(out, "enabled and started: systemctl%s status qcc-run\n", user ? " --user" : "");
  if (user) fprintf(out, "  (to keep it running while you are logged out: loginctl enable-linger)\n");
  return SV_OK;
}

static int uninstall(const struct sv_opts *o, const char *path, FILE *out, FILE *err) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(out, "no unit at %s: nothing to remove\n", path);
    return SV_OK;
  }
  char what[QCC_INSTANCE_PATH_MAX + 64];
  snprintf(what, sizeof what, "stop qcc-run's unit and remove %s", path);
  enum qccc_confirm ok = qccc_confirm(o->yes, false, what, stdin, out, err);
  if (ok != QCCC_CONFIRM_GO) return ok == QCCC_CONFIRM_CANCELLED ? SV_OK : SV_USAGE;
  bool live = systemd_usable(o);
  if (live) systemctl(!o->system, false, "disable", "--now", UNIT_NAME);
  if (unlink(path) != 0) {
    fprintf(err, "qccc service: %s: %s\n", path, strerror(errno));
    return SV_FAIL;
  }
  fprintf(out, "removed %s\n", path);
  if (live) systemctl(!o->system, false, "daemon-reload", NULL, NULL);
  else if (o->root == NULL) {
    fprintf(out, "if it was running under systemd:\n");
    what_to_run(out, !o->system, "stop");
  }
  return SV_OK;
}

static int status(const struct sv_opts *o, const char *path, FILE *out) {
  const char *flag = o->state_dir;
  struct stat st;
  bool installed = stat(path, &st) == 0;
  fprintf(out, "unit: %s (%s)\n", path, installed ? "installed" : "not installed");
  if (installed && systemd_usable(o)) {
    fprintf(out, "systemd: ");
    systemctl(!o->system, false, "is-enabled", UNIT_NAME, NULL);
    fprintf(out, "         ");
    systemctl(!o->system, false, "is-active", UNIT_NAME, NULL);
  } else if (installed) {
    fprintf(out, "systemd: not reachable here\n");
  }
  struct qcc_instance *inst = NULL;
  struct qcc_err e = {0};
  uint64_t gen = 0;
  if (qcc_instance_new(flag, &inst, &e) == 0 && qcc_instance_healthz(inst, &gen, &e) == 0)
    fprintf(out, "qcc-run: serving generation %llu (state dir %s)\n", (unsigned long long)gen,
            qcc_instance_dir(inst));
  else
    fprintf(out, "qcc-run: not answering%s%s\n", inst != NULL ? " on " : "", inst != NULL ? qcc_instance_socket(inst) : "");
  qcc_instance_free(&inst);
  return installed ? SV_OK : SV_FAIL;
}

int qccc_service_cmd(int argc, char **argv, FILE *out, FILE *err) {
  struct sv_opts o = {0};
  int rc = parse(argc, argv, &o, err);
  if (rc != SV_OK) return rc;
  if (o.help || o.sub == NULL) {
    fputs(help, o.help ? out : err);
    return o.help ? SV_OK : SV_USAGE;
  }
  char dir[QCC_INSTANCE_PATH_MAX], path[QCC_INSTANCE_PATH_MAX + 32];
  if (unit_path(&o, dir, sizeof dir, path, sizeof path, err) != SV_OK) return SV_FAIL;
  if (strcmp(o.sub, "install") == 0) return install(&o, dir, path, out, err);
  if (strcmp(o.sub, "uninstall") == 0) return uninstall(&o, path, out, err);
  if (strcmp(o.sub, "status") == 0) return status(&o, path, out);
  return usage(err, "unknown subcommand ", o.sub);
}
