#include "compiler/clientenv.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/argscan.h"
#include "compiler/claudesettings.h"
#include "compiler/confirm.h"
#include "compiler/instance.h"
#include "compiler/lifecycle.h"
#include "schema/fileio.h"

#define CE_OK 0
#define CE_FAIL 1
#define CE_USAGE 2
#define SETTINGS_CAP (16u << 20)

#define VAR_URL QCC_CS_URL
#define VAR_TOKEN QCC_CS_TOKEN
#define VAR_KEY QCC_CS_KEY

static const char run_help[] =
    "usage: qccc run [-c FILE] [-o TABLE] [--state-dir DIR] [-- COMMAND ARGS...]\n"
    "Start qcc-run unless it runs (as `qccc start`), then run COMMAND (default: claude) with\n"
    "ANTHROPIC_BASE_URL pointing at it and ANTHROPIC_AUTH_TOKEN set (a client token of\n"
    "proxy.auth_tokens, else a placeholder qcc-run accepts); ANTHROPIC_API_KEY is removed.\n"
    "Exit: COMMAND's exit status; 127 when COMMAND is not found; 1 when qcc-run cannot start.\n";
static const char env_help[] =
    "usage: qccc env [--shell bash|zsh|fish] [-o TABLE] [--state-dir DIR]\n"
    "Print the lines that point a shell's Claude Code at qcc-run:  eval \"$(qccc env)\"\n"
    "(fish: qccc env --shell fish | source). Tokens are printed as references ($VAR,\n"
    "$(cat FILE)), not their values. Default shell: from $SHELL.\n";
static const char settings_help[] =
    "usage: qccc claude-settings [--write | --undo [-y]] [-o TABLE] [--state-dir DIR]\n"
    "Show (default), write or take out the env block of Claude Code's settings.json\n"
    "($CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json) that the IDE\n"
    "extensions use. --write merges ANTHROPIC_BASE_URL and one auth variable into the file\n"
    "as it is, keeping every other setting; the first write keeps a backup\n"
    "(settings.json.qcc.bak). --undo removes just those (restoring values they replaced).\n";

struct ce_opts {
  const char *config, *table, *state_dir, *shell;
  bool write, undo, help, yes;
  int cmd_at; /* run: index of COMMAND in argv, 0 = default */
};

static int usage(FILE *err, const char *cmd, const char *what, const char *arg) {
  fprintf(err, "qccc %s: %s%s\n  hint: run `qccc %s --help`\n", cmd, what, arg, cmd);
  return CE_USAGE;
}

static int parse(int argc, char **argv, struct ce_opts *o, FILE *err) {
  const char *cmd = argv[0];
  bool is_run = strcmp(cmd, "run") == 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (strcmp(a, "--") == 0 && is_run) {
      o->cmd_at = i + 1 < argc ? i + 1 : 0;
      return CE_OK;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      o->help = true;
    } else if ((strcmp(a, "-c") == 0 || qcc_arg_is(a, "--config")) && is_run) {
      v = qcc_arg_value(argc, argv, &i, "--config");
      if (v == NULL) return usage(err, cmd, "missing value for ", a);
      o->config = v;
    } else if (strcmp(a, "-o") == 0 || qcc_arg_is(a, "--table")) {
      v = qcc_arg_value(argc, argv, &i, "--table");
      if (v == NULL) return usage(err, cmd, "missing value for ", a);
      o->table = v;
    } else if (qcc_arg_is(a, "--state-dir")) {
      v = qcc_arg_value(argc, argv, &i, "--state-dir");
      if (v == NULL) return usage(err, cmd, "missing value for ", a);
      o->state_dir = v;
    } else if (qcc_arg_is(a, "--shell") && strcmp(cmd, "env") == 0) {
      v = qcc_arg_value(argc, argv, &i, "--shell");
      if (v == NULL) return usage(err, cmd, "missing value for ", a);
      if (strcmp(v, "bash") != 0 && strcmp(v, "zsh") != 0 && strcmp(v, "fish") != 0)
        return usage(err, cmd, "--shell takes bash, zsh or fish, not ", v);
      o->shell = v;
    } else if (strcmp(a, "--write") == 0 && strcmp(cmd, "claude-settings") == 0) {
      o->write = true;
    } else if (strcmp(a, "--undo") == 0 && strcmp(cmd, "claude-settings") == 0) {
      o->undo = true;
    } else if ((strcmp(a, "-y") == 0 || strcmp(a, "--yes") == 0) && strcmp(cmd, "claude-settings") == 0) {
      o->yes = true;
    } else if (a[0] == '-') {
      return usage(err, cmd, "unknown option ", a);
    } else if (is_run) {
      o->cmd_at = i; /* `qccc run claude -p hi` works without the -- */
      return CE_OK;
    } else {
      return usage(err, cmd, "unexpected argument ", a);
    }
  }
  if (o->write && o->undo) return usage(err, cmd, "--write and --undo exclude each other", "");
  return CE_OK;
}

/* Where clients go and which table says so: the running instance's, else
 * TABLE (or ./table.bin) read offline. */
static int target(const struct ce_opts *o, char *url, size_t urlcap, char *table, size_t tablecap,
                  bool *running, FILE *err) {
  struct qcc_instance *inst = NULL;
  struct qcc_err e = {0};
  if (qcc_instance_new(o->state_dir, &inst, &e) != 0) {
    fprintf(err, "qccc: %s\n", e.msg);
    return CE_FAIL;
  }
  struct qcc_run_info info;
  uint64_t gen = 0;
  bool have = qcc_instance_info_load(inst, &info, &e) == 0;
  *running = qcc_instance_healthz(inst, &gen, &e) == 0;
  if (o->table != NULL) snprintf(table, tablecap, "%s", o->table);
  else if (!*running || qcc_instance_served_table(inst, table, tablecap) != 0)
    snprintf(table, tablecap, "%s", have && info.table[0] ? info.table : "table.bin");
  int rc = CE_OK;
  if (*running && o->table == NULL && qcc_instance_logged_url(inst, url, urlcap) == 0) {
    /* the address qcc-run said it listens on */
  } else if (*running && o->table == NULL && have && info.url[0]) {
    snprintf(url, urlcap, "%s", info.url);
  } else if (qcc_instance_table_url(table, have && o->table == NULL ? info.listen : NULL, url, urlcap, &e) != 0) {
    fprintf(err, "qccc: %s\n  hint: `qccc start` builds and starts it\n", e.msg);
    rc = CE_FAIL;
  }
  qcc_instance_free(&inst);
  return rc;
}

/* The auth value for clients: the client token, or the placeholder. */
static int auth_value(const char *table, char **token, char *ref, size_t refcap, FILE *err) {
  struct qcc_err e = {0};
  if (qcc_instance_client_token(table, token, ref, refcap, &e) != 0) {
    fprintf(err, "qccc: %s\n", e.msg);
    return CE_FAIL;
  }
  if (*token == NULL) *token = strdup(QCC_INSTANCE_PLACEHOLDER_TOKEN);
  if (*token == NULL) return CE_FAIL;
  return CE_OK;
}

/* ---- run ------------------------------------------------------------------ */

static int cmd_run(int argc, char **argv, const struct ce_opts *o, FILE *err) {
  char url[512], table[QCC_INSTANCE_PATH_MAX];
  int rc = qccc_lifecycle_ensure(o->config, o->table, o->state_dir, url, sizeof url, table, sizeof table, err);
  if (rc != CE_OK) return rc;
  char *token = NULL, ref[QCC_INSTANCE_PATH_MAX + 8];
  if (auth_value(table, &token, ref, sizeof ref, err) != CE_OK) return CE_FAIL;
  if (setenv(VAR_URL, url, 1) != 0 || setenv(VAR_TOKEN, token, 1) != 0 || unsetenv(VAR_KEY) != 0) {
    free(token);
    fprintf(err, "qccc run: setenv: %s\n", strerror(errno));
    return CE_FAIL;
  }
  free(token);
  char *def[] = {"claude", NULL};
  char **cmd = o->cmd_at > 0 ? argv + o->cmd_at : def;
  (void)argc;
  fflush(NULL);
  execvp(cmd[0], cmd);
  int e = errno;
  if (e == ENOENT) {
    fprintf(err, "qccc run: %s: command not found%s\n", cmd[0],
            o->cmd_at == 0 ? "\n  hint: install Claude Code (npm install -g @anthropic-ai/claude-code), or name "
                             "a command: qccc run -- COMMAND"
                           : "");
    return 127;
  }
  fprintf(err, "qccc run: %s: %s\n", cmd[0], strerror(e));
  return 126;
}

/* ---- env ------------------------------------------------------------------ */

/* VALUE quoted for the shell: single quotes ('\'' inside; fish: \'). */
static void put_quoted(FILE *out, const char *v, bool fish) {
  fputc('\'', out);
  for (const char *p = v; *p; p++) {
    if (*p == '\'') fputs(fish ? "\\'" : "'\\''", out);
    else if (fish && *p == '\\') fputs("\\\\", out);
    else fputc(*p, out);
  }
  fputc('\'', out);
}

static int cmd_env(const struct ce_opts *o, FILE *out, FILE *err) {
  char url[512], table[QCC_INSTANCE_PATH_MAX];
  bool running = false;
  if (target(o, url, sizeof url, table, sizeof table, &running, err) != CE_OK) return CE_FAIL;
  const char *shell = o->shell;
  if (shell == NULL) {
    const char *sh = getenv("SHELL");
    const char *base = sh != NULL && strrchr(sh, '/') != NULL ? strrchr(sh, '/') + 1 : sh != NULL ? sh : "";
    shell = strcmp(base, "fish") == 0 ? "fish" : strcmp(base, "zsh") == 0 ? "zsh" : "bash";
  }
  bool fish = strcmp(shell, "fish") == 0;
  char *token = NULL, ref[QCC_INSTANCE_PATH_MAX + 8];
  struct qcc_err e = {0};
  if (qcc_instance_client_token(table, &token, ref, sizeof ref, &e) != 0 && strncmp(ref, "env:", 4) != 0 &&
      strncmp(ref, "file:", 5) != 0) {
    fprintf(err, "qccc env: %s\n", e.msg);
    return CE_FAIL;
  }
  if (!running) fprintf(err, "qccc env: qcc-run is not running yet: `qccc start`\n");
  fprintf(out, fish ? "set -gx %s " : "export %s=", VAR_URL);
  put_quoted(out, url, fish);
  fprintf(out, fish ? "\nset -gx %s " : "\nexport %s=", VAR_TOKEN);
  if (strncmp(ref, "env:", 4) == 0) {
    fprintf(out, fish ? "$%s" : "\"$%s\"", ref + 4);
  } else if (strncmp(ref, "file:", 5) == 0) {
    fputs(fish ? "(cat " : "\"$(cat ", out);
    put_quoted(out, ref + 5, fish);
    fputs(fish ? ")" : ")\"", out);
  } else {
    put_quoted(out, token != NULL ? token : QCC_INSTANCE_PLACEHOLDER_TOKEN, fish);
  }
  fprintf(out, fish ? "\nset -e %s\n" : "\nunset %s\n", VAR_KEY);
  free(token);
  return CE_OK;
}

/* ---- claude-settings ------------------------------------------------------ */

struct settings {
  char dir[QCC_INSTANCE_PATH_MAX];
  char path[QCC_INSTANCE_PATH_MAX + 32], undo[QCC_INSTANCE_PATH_MAX + 64], backup[QCC_INSTANCE_PATH_MAX + 64];
  json_t *root;  /* the file as it is (an empty object when missing) */
  json_t *record; /* the undo record, NULL when none */
  bool exists;
  mode_t mode;
};

static int settings_open(struct settings *s, FILE *err) {
  const char *cfg = getenv("CLAUDE_CONFIG_DIR"), *home = getenv("HOME");
  if (cfg != NULL && *cfg != '\0') snprintf(s->dir, sizeof s->dir, "%s", cfg);
  else if (home != NULL && *home != '\0') snprintf(s->dir, sizeof s->dir, "%s/.claude", home);
  else {
    fprintf(err, "qccc claude-settings: neither CLAUDE_CONFIG_DIR nor HOME is set\n");
    return CE_FAIL;
  }
  snprintf(s->path, sizeof s->path, "%s/settings.json", s->dir);
  snprintf(s->undo, sizeof s->undo, "%s.qcc-undo", s->path);
  snprintf(s->backup, sizeof s->backup, "%s.qcc.bak", s->path);
  struct stat st;
  s->exists = stat(s->path, &st) == 0;
  s->mode = s->exists ? (st.st_mode & 07777) : 0600;
  void *buf = NULL;
  size_t len = 0;
  struct qcc_err e = {0};
  if (s->exists && qcc_file_read(s->path, SETTINGS_CAP, &buf, &len, &e) != 0) {
    fprintf(err, "qccc claude-settings: %s\n", e.msg);
    return CE_FAIL;
  }
  int rc = qcc_claudesettings_parse(buf, len, &s->root, &e);
  free(buf);
  if (rc != 0) {
    fprintf(err, "qccc claude-settings: %s: %s; not touching it\n", s->path, e.msg);
    return CE_FAIL;
  }
  if (qcc_file_read(s->undo, SETTINGS_CAP, &buf, &len, &e) == 0) s->record = qcc_claudesettings_parse_undo(buf, len);
  free(buf);
  return CE_OK;
}

static int write_json(const char *path, json_t *j, mode_t mode, FILE *err) {
  char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (text == NULL) return CE_FAIL;
  size_t n = strlen(text);
  char *buf = malloc(n + 2);
  if (buf == NULL) {
    free(text);
    return CE_FAIL;
  }
  memcpy(buf, text, n);
  buf[n] = '\n';
  free(text);
  struct qcc_err e = {0};
  int rc = qcc_file_replace(path, buf, n + 1, mode, &e);
  free(buf);
  if (rc != 0) {
    fprintf(err, "qccc claude-settings: %s\n", e.msg);
    return CE_FAIL;
  }
  return CE_OK;
}

static void show_var(FILE *out, json_t *root, const char *key, const char *want, const char *label) {
  const char *now = json_string_value(json_object_get(json_object_get(root, "env"), key));
  const char *state = now == NULL ? "not set" : strcmp(now, want) == 0 ? "set" : "set to another value";
  fprintf(out, "  env.%-22s %s   (now: %s)\n", key, label, state);
}

static int settings_undo(struct settings *s, bool yes, FILE *out, FILE *err) {
  if (s->record == NULL) {
    fprintf(out, "nothing to undo: `qccc claude-settings --write` has not changed %s\n", s->path);
    return CE_OK;
  }
  char what[QCC_INSTANCE_PATH_MAX + 96];
  snprintf(what, sizeof what, "take qcc's ANTHROPIC_* settings out of %s (IDEs stop using qcc)", s->path);
  enum qccc_confirm ok = qccc_confirm(yes, false, what, stdin, out, err);
  if (ok != QCCC_CONFIRM_GO) return ok == QCCC_CONFIRM_CANCELLED ? CE_OK : CE_USAGE;
  size_t restored = 0, kept = 0;
  if (qcc_claudesettings_undo(s->root, s->record, &restored, &kept) == 1 &&
      write_json(s->path, s->root, s->mode, err) != CE_OK)
    return CE_FAIL;
  unlink(s->undo);
  fprintf(out, "%s: qcc's settings taken out (%zu put back", s->path, restored);
  if (kept > 0) fprintf(out, ", %zu changed since and left as they are", kept);
  fprintf(out, "); every other setting left as it was\n");
  return CE_OK;
}

/* Copy the file as it is to the backup. */
static int settings_backup(const struct settings *s, FILE *out, FILE *err) {
  void *buf = NULL;
  size_t len = 0;
  struct qcc_err e = {0};
  if (qcc_file_read(s->path, SETTINGS_CAP, &buf, &len, &e) != 0 ||
      qcc_file_replace(s->backup, buf, len, s->mode, &e) != 0) {
    free(buf);
    fprintf(err, "qccc claude-settings: backup: %s; nothing changed\n", e.msg);
    return CE_FAIL;
  }
  free(buf);
  fprintf(out, "backup: %s\n", s->backup);
  return CE_OK;
}

static int settings_write(struct settings *s, const char *url, const char *token, const char *label, FILE *out,
                          FILE *err) {
  const char *auth = qcc_claudesettings_auth_var(s->root);
  if (qcc_claudesettings_points_at(s->root, url, token)) {
    fprintf(out, "%s already points at qcc (%s); nothing changed\n", s->path, url);
    return CE_OK;
  }
  /* A backup never holds qcc's settings: none of a file pointing at qcc. */
  bool ours = s->record != NULL || qcc_claudesettings_has_url(s->root, url);
  if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
    fprintf(err, "qccc claude-settings: %s: %s\n", s->dir, strerror(errno));
    return CE_FAIL;
  }
  if (s->exists && !ours && settings_backup(s, out, err) != CE_OK) return CE_FAIL;
  qcc_claudesettings_write(s->root, &s->record, url, token);
  /* The record first: a crash between the two leaves an undo that finds
   * nothing of ours, never qcc's values without a way back. */
  if (write_json(s->undo, s->record, 0600, err) != CE_OK || write_json(s->path, s->root, s->mode, err) != CE_OK)
    return CE_FAIL;
  fprintf(out, "%s: env.%s = %s, env.%s = %s\n  other settings unchanged; `qccc claude-settings --undo` takes "
               "these out\n",
          s->path, QCC_CS_URL, url, auth, label);
  if (strcmp(auth, QCC_CS_TOKEN) == 0 &&
      json_object_get(json_object_get(s->root, "env"), QCC_CS_KEY) != NULL)
    fprintf(err, "qccc claude-settings: warning: env.%s is set in the file too; Claude Code may send it\n",
            QCC_CS_KEY);
  return CE_OK;
}

static int cmd_settings(const struct ce_opts *o, FILE *out, FILE *err) {
  char url[512], table[QCC_INSTANCE_PATH_MAX];
  bool running = false;
  if (target(o, url, sizeof url, table, sizeof table, &running, err) != CE_OK) return CE_FAIL;
  struct settings s = {0};
  int rc = settings_open(&s, err);
  if (rc == CE_OK && o->undo) {
    rc = settings_undo(&s, o->yes, out, err);
  } else if (rc == CE_OK) {
    char *token = NULL, ref[QCC_INSTANCE_PATH_MAX + 8], label[QCC_INSTANCE_PATH_MAX + 64];
    rc = auth_value(table, &token, ref, sizeof ref, err);
    if (rc == CE_OK) {
      if (strcmp(ref, "none") == 0) snprintf(label, sizeof label, "\"%s\" (no client tokens configured)", token);
      else snprintf(label, sizeof label, "<client token from %s>", ref);
      if (o->write) {
        /* A real client token is a secret: the file becomes readable by
         * its owner only (the placeholder is not). */
        if (strcmp(ref, "none") != 0 && (s.mode & 077) != 0) {
          s.mode &= (mode_t)~077;
          fprintf(out, "%s will be mode %04o: it holds the client token\n", s.path, (unsigned)s.mode);
        }
        rc = settings_write(&s, url, token, label, out, err);
      } else {
        fprintf(out, "Claude Code settings: %s%s\n", s.path, s.exists ? "" : " (does not exist yet)");
        show_var(out, s.root, QCC_CS_URL, url, url);
        show_var(out, s.root, qcc_claudesettings_auth_var(s.root), token, label);
        if (qcc_claudesettings_points_at(s.root, url, token)) fprintf(out, "it points at qcc already\n");
        else fprintf(out, "`qccc claude-settings --write` merges these into the file (other settings kept)\n");
        if (!running) fprintf(out, "(qcc-run is not running: `qccc start`)\n");
      }
    }
    free(token);
  }
  json_decref(s.record);
  json_decref(s.root);
  return rc;
}

bool qccc_clientenv_handles(const char *cmd) {
  return strcmp(cmd, "run") == 0 || strcmp(cmd, "env") == 0 || strcmp(cmd, "claude-settings") == 0;
}

int qccc_clientenv_cmd(int argc, char **argv, FILE *out, FILE *err) {
  struct ce_opts o = {0};
  int rc = parse(argc, argv, &o, err);
  if (rc != CE_OK) return rc;
  const char *cmd = argv[0];
  if (o.help) {
    fputs(strcmp(cmd, "run") == 0 ? run_help : strcmp(cmd, "env") == 0 ? env_help : settings_help, out);
    return CE_OK;
  }
  if (strcmp(cmd, "run") == 0) return cmd_run(argc, argv, &o, err);
  if (strcmp(cmd, "env") == 0) return cmd_env(&o, out, err);
  return cmd_settings(&o, out, err);
}
