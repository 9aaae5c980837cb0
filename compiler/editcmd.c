/* The config-editing commands (see editcmd.h).
 *
 * Every command has the same shape: read qcc.yaml, compute the new text with
 * yamledit, then commit(): write it to a temp file beside qcc.yaml, validate
 * that file with the frontend, and only when it is valid keep the old file
 * as qcc.yaml.bak and rename the temp over qcc.yaml (fsync file and dir).
 * Any failure before the rename leaves qcc.yaml byte-identical. */
#include "editcmd.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "editctx.h"
#include "frontend.h"
#include "schema/fileio.h"
#include "textpos.h"

/* ---- options ---- */

struct flagdef {
  const char *name;
  unsigned cmds;
  size_t off; /* offset of the const char * field; SIZE_MAX for booleans */
};

#define OFF(f) offsetof(struct opts, f)
static const struct flagdef flags[] = {
    {"--config", C_ALL, OFF(config)},
    {"--from", C_EP_ADD, OFF(from)},
    {"--base-url", C_EP_ADD, OFF(base_url)},
    {"--preset", C_EP_ADD, OFF(preset)},
    {"--key-env", C_EP_ADD, OFF(key_env)},
    {"--key-file", C_EP_ADD, OFF(key_file)},
    {"--auth", C_EP_ADD, OFF(auth)},
    {"--id", C_EP_ADD, OFF(id)},
    {"--weight", C_EP_ADD, OFF(weight)},
    {"--priority", C_EP_ADD | C_PROF_ADD, OFF(priority)},
    {"--timeout", C_EP_ADD, OFF(timeout)},
    {"--description", C_PROF_ADD, OFF(description)},
    {"--failure-threshold", C_POLICY, OFF(threshold)},
    {"--cooldown", C_POLICY, OFF(cooldown)},
};

/* ---- context ---- */


int ed_fail(struct ctx *c, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(c->err, "qccc %s: ", c->cmdname);
  vfprintf(c->err, fmt, ap);
  fputc('\n', c->err);
  va_end(ap);
  return code;
}

static int parse_opts(struct ctx *c, unsigned cmd, int argc, char **argv, int first) {
  struct opts *o = &c->o;
  o->auto_failover = o->auto_recovery = -1;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    /* every word may end up in the file: it must be text the file can hold */
    if (qcc_utf8_valid_prefix(a, strlen(a)) != strlen(a))
      return ed_fail(c, QCCC_EDIT_USAGE, "argument %d is not valid UTF-8 text; nothing was changed",
                  i + 1);
    if (strcmp(a, "-y") == 0 || strcmp(a, "--yes") == 0) {
      o->yes = true;
      continue;
    }
    if (strcmp(a, "--build") == 0)
      continue; /* main builds after a successful edit: qccc_edit_wants_build */
    if (strcmp(a, "--wide") == 0 && cmd == C_EP_LIST) {
      o->wide = true;
      continue;
    }
    if (cmd == C_POLICY) {
      int *b = NULL, v = 1;
      if (strcmp(a, "--auto-failover") == 0 || strcmp(a, "--no-auto-failover") == 0)
        b = &o->auto_failover;
      else if (strcmp(a, "--auto-recovery") == 0 || strcmp(a, "--no-auto-recovery") == 0)
        b = &o->auto_recovery;
      if (b) {
        v = strncmp(a, "--no-", 5) != 0;
        *b = v;
        continue;
      }
    }
    if (strcmp(a, "-c") == 0)
      a = "--config";
    if (a[0] == '-' && a[1] == '-' && a[2] != '\0') {
      const char *eq = strchr(a, '=');
      size_t nl = eq ? (size_t)(eq - a) : strlen(a);
      const struct flagdef *f = NULL;
      for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if (strlen(flags[k].name) == nl && strncmp(flags[k].name, a, nl) == 0)
          f = &flags[k];
      if (!f)
        return ed_fail(c, QCCC_EDIT_USAGE, "unknown option %.*s", (int)nl, a);
      if (!(f->cmds & cmd))
        return ed_fail(c, QCCC_EDIT_USAGE, "option %s does not apply here", f->name);
      const char *val = eq ? eq + 1 : NULL;
      if (!val) {
        if (i + 1 >= argc)
          return ed_fail(c, QCCC_EDIT_USAGE, "option %s needs a value", f->name);
        val = argv[++i];
      }
      *(const char **)((char *)o + f->off) = val;
      continue;
    }
    if (a[0] == '-' && a[1] != '\0')
      return ed_fail(c, QCCC_EDIT_USAGE, "unknown option %s", a);
    if (o->npos >= (int)(sizeof o->pos / sizeof o->pos[0]))
      return ed_fail(c, QCCC_EDIT_USAGE, "too many arguments");
    o->pos[o->npos++] = a;
  }
  return 0;
}

/* ---- files ---- */

/* The one reader (schema/fileio.h): a regular file of at most MAX_FILE
 * bytes, NUL-terminated, with its mode. */
int ed_read_file(const char *path, char **out, size_t *len, mode_t *mode, struct qcc_err *err) {
  void *buf = NULL;
  int rc = qcc_file_read_mode(path, MAX_FILE, &buf, len, mode, err);
  *out = buf;
  return rc;
}

/* mkdir -p for the directories of a key file, 0700. */
static int make_parents(const char *file, struct qcc_err *err) {
  char buf[PATH_MAX];
  if (strlen(file) >= sizeof buf)
    return qcc_err_set(err, ENAMETOOLONG, "path too long");
  snprintf(buf, sizeof buf, "%s", file);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
      return qcc_err_set(err, errno, "cannot create %s: %s", buf, strerror(errno));
    *p = '/';
  }
  return 0;
}

/* ---- diagnostics ---- */

/* Print D, naming SHOWN where the frontend saw TMP: the user edits qcc.yaml,
 * the temp file is our business. */
static void print_diags(struct ctx *c, const struct qcc_diags *d, const char *tmp,
                        const char *shown) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m) {
    qcc_diags_print(d, QCC_DIAG_TEXT, c->err);
    return;
  }
  qcc_diags_print(d, QCC_DIAG_TEXT, m);
  fclose(m);
  size_t tl = tmp ? strlen(tmp) : 0;
  const char *p = buf;
  while (p && *p) {
    const char *hit = tl ? strstr(p, tmp) : NULL;
    if (!hit) {
      fputs(p, c->err);
      break;
    }
    fwrite(p, 1, (size_t)(hit - p), c->err);
    fputs(shown, c->err);
    p = hit + tl;
  }
  free(buf);
}

/* Run the frontend on FILE: 0 valid, QCCC_EDIT_INVALID, or QCCC_EDIT_USAGE
 * on I/O trouble. OUT (when non-NULL) gets the loaded config. */
int ed_validate(struct ctx *c, const char *file, const char *shown, bool quiet_ok,
                    struct qcc_config **out) {
  struct qcc_frontend_opts fo = {.strict = false, .check_secrets = false};
  struct qcc_diags *d = qcc_diags_new();
  if (!d)
    return ed_fail(c, QCCC_EDIT_USAGE, "out of memory");
  struct qcc_config *cfg = NULL;
  bool io = false;
  int rc = qcc_frontend_run(file, &fo, &cfg, d, &io);
  if (rc != 0 || !quiet_ok)
    print_diags(c, d, file, shown);
  qcc_diags_free(&d);
  if (rc != 0) {
    qcc_config_free(&cfg);
    return io ? QCCC_EDIT_USAGE : QCCC_EDIT_INVALID;
  }
  if (out)
    *out = cfg;
  else
    qcc_config_free(&cfg);
  return 0;
}

/* An edit yamledit refused or could not make. A message that starts with
 * "LINE:COL:" points into the user's file: print it as FILE:LINE:COL. */
int ed_edit_failed(struct ctx *c, const char *what, const struct qcc_err *e) {
  unsigned line, col;
  int used = 0;
  if (sscanf(e->msg, "%u:%u:%n", &line, &col, &used) == 2 && used > 0)
    return ed_fail(c, QCCC_EDIT_USAGE, "%s:%s", c->path, e->msg);
  if (what)
    return ed_fail(c, QCCC_EDIT_USAGE, "%s: %s", what, e->msg);
  return ed_fail(c, QCCC_EDIT_USAGE, "%s", e->msg);
}

/* ---- load / commit ---- */

int ed_load(struct ctx *c, bool must_exist) {
  struct qcc_err e = {0};
  if (ed_read_file(c->path, &c->orig, &c->orig_len, &c->mode, &e) != 0) {
    if (e.code == ENOENT && !must_exist) {
      c->exists = false;
      c->mode = 0644;
      c->orig = strdup("");
      if (!c->orig)
        return ed_fail(c, QCCC_EDIT_USAGE, "out of memory");
      return qcc_yamldoc_parse("", 0, &c->doc, &e) == 0 ? 0 : QCCC_EDIT_USAGE;
    }
    if (e.code == ENOENT)
      return ed_fail(c, QCCC_EDIT_USAGE,
                  "%s not found: create one with `qccc init` or name it with --config FILE",
                  c->path);
    return ed_fail(c, QCCC_EDIT_USAGE, "%s", e.msg);
  }
  c->exists = true;
  if (qcc_yamldoc_parse(c->orig, c->orig_len, &c->doc, &e) != 0)
    return ed_fail(c, QCCC_EDIT_INVALID, "%s:%s (fix the YAML first; nothing was changed)", c->path,
                e.msg);
  return 0;
}

/* The current config, loaded through the frontend; NULL (after printing
 * why) when the file does not validate. */
const struct qcc_config *ed_current(struct ctx *c, bool report) {
  if (c->cfg || (c->cfg_tried && !report))
    return c->cfg;
  c->cfg_tried = true;
  struct qcc_frontend_opts fo = {0};
  struct qcc_diags *d = qcc_diags_new();
  bool io = false;
  if (!d)
    return NULL;
  if (qcc_frontend_run(c->path, &fo, &c->cfg, d, &io) != 0 && report)
    print_diags(c, d, NULL, NULL);
  qcc_diags_free(&d);
  return c->cfg;
}

static int write_keyfile(struct ctx *c, struct qcc_err *e) {
  if (make_parents(c->keyfile_path, e) != 0)
    return -1;
  return qcc_file_replace(c->keyfile_path, c->secret, strlen(c->secret), 0600, e);
}

int ed_commit(struct ctx *c, const char *what) {
  size_t len;
  const char *text = qcc_yamldoc_text(c->doc, &len);
  if (c->exists && len == c->orig_len && memcmp(text, c->orig, len) == 0 && !c->secret) {
    fprintf(c->out, "%s: already so; nothing changed\n", c->path);
    return QCCC_EDIT_OK;
  }
  struct qcc_err e = {0};
  struct qcc_newfile *nf = NULL;
  if (qcc_newfile_new(c->path, c->mode, &nf, &e) != 0 || qcc_newfile_write(nf, text, len, &e) != 0) {
    qcc_newfile_free(&nf);
    return ed_fail(c, QCCC_EDIT_USAGE, "%s", e.msg);
  }
  int rc = ed_validate(c, qcc_newfile_temp(nf), c->path, true, NULL);
  if (rc != 0) {
    qcc_newfile_free(&nf);
    fprintf(c->err,
            "qccc %s: the change would make %s invalid (positions above are in the edited "
            "text); nothing was changed\n",
            c->cmdname, c->path);
    return rc;
  }
  if (c->exists) {
    /* Someone (an editor, another qccc) changed the file meanwhile: do not
     * overwrite their work with an edit of the old text. */
    char *now = NULL;
    size_t nlen = 0;
    if (ed_read_file(c->path, &now, &nlen, NULL, &e) != 0 || nlen != c->orig_len ||
        memcmp(now, c->orig, nlen) != 0) {
      free(now);
      qcc_newfile_free(&nf);
      return ed_fail(c, QCCC_EDIT_USAGE, "%s changed while we were editing it; run the command again",
                  c->path);
    }
    free(now);
    char bak[PATH_MAX];
    if ((size_t)snprintf(bak, sizeof bak, "%s.bak", c->path) >= sizeof bak ||
        qcc_file_replace(bak, c->orig, c->orig_len, c->mode, &e) != 0) {
      qcc_newfile_free(&nf);
      return ed_fail(c, QCCC_EDIT_USAGE, "cannot keep the backup: %s; nothing was changed", e.msg);
    }
  }
  bool wrote_key = false;
  if (c->secret) {
    if (write_keyfile(c, &e) != 0) {
      qcc_newfile_free(&nf);
      return ed_fail(c, QCCC_EDIT_USAGE, "cannot write the key file: %s; nothing was changed", e.msg);
    }
    wrote_key = true;
  }
  /* The directory is synced apart: once renamed, the edit is made. */
  if (qcc_newfile_commit(&nf, QCC_NEWFILE_NO_DIRSYNC, NULL, &e) != 0) {
    if (wrote_key)
      unlink(c->keyfile_path);
    return ed_fail(c, QCCC_EDIT_USAGE, "%s", e.msg);
  }
  qcc_dir_fsync_of(c->path, NULL);
  if (wrote_key)
    fprintf(c->out, "key stored in %s (mode 0600)\n", c->keyfile_path);
  fprintf(c->out, "%s: %s%s\n", c->path, what, c->exists ? " (previous version kept as .bak)" : "");
  return QCCC_EDIT_OK;
}

/* ---- names ---- */

static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return SIZE_MAX;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = row[j];
      size_t best = prev + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best)
        best = row[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      prev = cur;
    }
  }
  return row[lb];
}

/* The closest of NAMES to S when close enough to be a typo, else NULL. */
const char *ed_closest(const char *s, const char *const *names, size_t n) {
  const char *best = NULL;
  size_t bd = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    size_t d = edit_distance(s, names[i]);
    if (d < bd) {
      bd = d;
      best = names[i];
    }
  }
  size_t limit = strlen(s) / 3 > 2 ? strlen(s) / 3 : 2;
  return bd <= limit ? best : NULL;
}

const char *const ed_PROFILES[1] = {"profiles"};

size_t ed_profile_names(struct ctx *c, const char **names) {
  return qcc_yamldoc_items(c->doc, ed_PROFILES, 1, "name", names, MAX_NAMES);
}

bool ed_has_profile(struct ctx *c, const char *name) {
  const char *path[] = {"profiles", name};
  return qcc_yamldoc_get(c->doc, path, 2, NULL) == QCC_YNODE_MAP;
}

int ed_no_profile(struct ctx *c, const char *name) {
  const struct qcc_config *cfg = ed_current(c, false);
  for (size_t i = 0; cfg && i < cfg->profile_count; i++)
    if (strcmp(cfg->profiles[i].name, name) == 0 && cfg->profiles[i].pos.file)
      return ed_fail(c, QCCC_EDIT_USAGE, "profile %s is defined in %s; edit it there (-c %s)", name,
                  cfg->profiles[i].pos.file, cfg->profiles[i].pos.file);
  const char **names = calloc(MAX_NAMES, sizeof *names);
  size_t n = names ? ed_profile_names(c, names) : 0;
  const char *hint = ed_closest(name, names, n);
  int rc;
  if (hint)
    rc = ed_fail(c, QCCC_EDIT_USAGE, "no profile named \"%s\" in %s; did you mean \"%s\"?", name,
              c->path, hint);
  else
    rc =
        ed_fail(c, QCCC_EDIT_USAGE, "no profile named \"%s\" in %s (`qccc profile add %s` creates it)",
             name, c->path, name);
  free(names);
  return rc;
}

/* Profile holding endpoint ID in this file, or NULL. */
const char *ed_profile_of(struct ctx *c, const char *id) {
  const char **names = calloc(MAX_NAMES, sizeof *names);
  if (!names)
    return NULL;
  size_t n = ed_profile_names(c, names);
  const char *found = NULL;
  for (size_t i = 0; i < n && !found; i++) {
    const char *path[] = {"profiles", names[i], "endpoints", id};
    if (qcc_yamldoc_get(c->doc, path, 4, NULL) == QCC_YNODE_MAP)
      found = names[i];
  }
  free(names);
  return found;
}

/* Every endpoint id in the file and (when it loads) its includes. */
size_t ed_all_ids(struct ctx *c, const char **ids, size_t max) {
  size_t n = 0;
  const char **names = calloc(MAX_NAMES, sizeof *names);
  if (!names)
    return 0;
  size_t np = ed_profile_names(c, names);
  for (size_t i = 0; i < np && n < max; i++) {
    const char *path[] = {"profiles", names[i], "endpoints"};
    n += qcc_yamldoc_items(c->doc, path, 3, "id", ids + n, max - n);
  }
  free(names);
  const struct qcc_config *cfg = ed_current(c, false);
  for (size_t i = 0; cfg && i < cfg->profile_count; i++)
    for (size_t j = 0; j < cfg->profiles[i].endpoint_count && n < max; j++)
      ids[n++] = cfg->profiles[i].endpoints[j].id;
  return n;
}

bool ed_id_taken(struct ctx *c, const char *id) {
  const char **ids = calloc(MAX_NAMES, sizeof *ids);
  if (!ids)
    return false;
  size_t n = ed_all_ids(c, ids, MAX_NAMES);
  bool taken = false;
  for (size_t i = 0; i < n && !taken; i++)
    taken = strcmp(ids[i], id) == 0;
  free(ids);
  return taken;
}

bool ed_good_name(const char *s) {
  if (!s[0] || strlen(s) > 255)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '-' || *p == '_'))
      return false;
  return true;
}

bool ed_good_env(const char *s) {
  if (!s[0] || (s[0] >= '0' && s[0] <= '9') || strlen(s) > 255)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          *p == '_'))
      return false;
  return true;
}

/* ---- dispatch ---- */

struct sub {
  const char *cmd, *sub;
  unsigned mask;
  int (*fn)(struct ctx *);
};

static const struct sub subs[] = {
    {"endpoint", "add", C_EP_ADD, ed_endpoint_add},
    {"endpoint", "remove", C_EP_REMOVE, ed_endpoint_remove},
    {"endpoint", "list", C_EP_LIST, ed_endpoint_list},
    {"profile", "add", C_PROF_ADD, ed_profile_add},
    {"profile", "remove", C_PROF_REMOVE, ed_profile_remove},
    {"priority", "set", C_PRIO, ed_priority_set},
    {"policy", NULL, C_POLICY, ed_policy},
    {"config", "get", C_CONFIG, ed_config_get},
    {"config", "set", C_CONFIG, ed_config_set},
    {"config", "list", C_CONFIG, ed_config_list},
    {"config", "reset", C_CONFIG, ed_config_reset},
    {"config", "export", C_CONFIG, ed_config_export},
    {"config", "import", C_CONFIG, ed_config_import},
    {"config", "validate", C_CONFIG, ed_config_validate},
};

static const struct sub *find_sub(const char *cmd, int argc, char **argv) {
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
    if (strcmp(subs[i].cmd, cmd) != 0)
      continue;
    if (!subs[i].sub)
      return &subs[i];
    if (argc > 0 && strcmp(subs[i].sub, argv[0]) == 0)
      return &subs[i];
  }
  return NULL;
}

bool qccc_edit_handles(const char *cmd, int argc, char **argv) {
  return cmd && find_sub(cmd, argc, argv) != NULL;
}

bool qccc_edit_wants_build(int argc, char **argv) {
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], "--build") == 0)
      return true;
  return false;
}

void qccc_edit_usage(FILE *out) {
  fputs("  endpoint add PROFILE [--from ID | --base-url URL | --preset NAME]\n"
        "               [--key-env NAME | --key-file PATH] [--auth x-api-key|bearer]\n"
        "               [--id ID] [--weight N] [--priority N] [--timeout D]\n"
        "  endpoint remove ID | endpoint list [PROFILE]\n"
        "  profile add NAME [--description TEXT] [--priority GROUP] | profile remove NAME\n"
        "  priority set PROFILE primary|secondary|fallback\n"
        "  policy [--[no-]auto-failover] [--[no-]auto-recovery] [--failure-threshold N]\n"
        "         [--cooldown D]\n"
        "  config get KEY | set KEY VALUE | list | reset [KEY] | export FILE | import FILE\n"
        "         | validate\n"
        "  (each takes -c FILE to name the config, -y to skip confirmations,\n"
        "   --build to compile the table after a successful edit)\n",
        out);
}

int qccc_edit_cmd(const char *cmd, int argc, char **argv, FILE *in, FILE *out, FILE *err) {
  struct ctx c = {.in = in, .out = out, .err = err};
  const struct sub *s = cmd ? find_sub(cmd, argc, argv) : NULL;
  char name[64];
  snprintf(name, sizeof name, "%s%s%s", cmd ? cmd : "", s && s->sub ? " " : "",
           s && s->sub ? s->sub : "");
  c.cmdname = name;
  if (!s) {
    fprintf(err, "qccc %s: unknown command; the editing commands are:\n", cmd ? cmd : "");
    qccc_edit_usage(err);
    return QCCC_EDIT_USAGE;
  }
  /* config/endpoint/... keep the subcommand as pos[0]; policy has none */
  if (s->sub) {
    c.o.pos[0] = s->sub;
    c.o.npos = 1;
  }
  int rc = parse_opts(&c, s->mask, argc, argv, s->sub ? 1 : 0);
  if (rc != 0)
    return rc;
  const char *env = getenv("QCC_CONFIG");
  c.path = c.o.config ? c.o.config : env && env[0] ? env : "qcc.yaml";
  c.pr = qcc_prompt_new(in, out);
  if (!c.pr)
    return ed_fail(&c, QCCC_EDIT_USAGE, "out of memory");
  c.tty = qcc_prompt_interactive(c.pr);
  rc = s->fn(&c);
  fflush(out);
  qcc_prompt_free(&c.pr);
  qcc_yamldoc_free(&c.doc);
  qcc_config_free(&c.cfg);
  free(c.orig);
  free(c.keyfile_path);
  qcc_prompt_wipe(&c.secret);
  return rc;
}
