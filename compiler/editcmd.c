/* The config-editing commands (see editcmd.h).
 *
 * Every command has the same shape: read qcc.yaml, compute the new text with
 * yamledit, then commit(): write it to a temp file beside qcc.yaml, validate
 * that file with the frontend, and only when it is valid keep the old file
 * as qcc.yaml.bak and rename the temp over qcc.yaml (fsync file and dir).
 * Any failure before the rename leaves qcc.yaml byte-identical. */
#include "editcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend.h"
#include "presets.h"
#include "prompt.h"
#include "schema/config_schema.h"
#include "schema/enums.h"
#include "schema/error.h"
#include "schema/fileio.h"
#include "texttable.h"
#include "textpos.h"
#include "yamledit.h"

#define MAX_FILE (16u << 20) /* larger than any sane config; refuse beyond */
#define MAX_NAMES 4096
#define MAX_SEGS 16

/* ---- options ---- */

struct opts {
  const char *config;
  bool yes;
  bool wide; /* endpoint list: every column, nothing cut */
  const char *from, *base_url, *preset, *key_env, *key_file, *auth, *id;
  const char *weight, *priority, *timeout;
  const char *description;
  int auto_failover, auto_recovery; /* -1 = not given */
  const char *threshold, *cooldown;
  const char *pos[4];
  int npos;
};

enum {
  C_EP_ADD = 1 << 0,
  C_EP_REMOVE = 1 << 1,
  C_EP_LIST = 1 << 2,
  C_PROF_ADD = 1 << 3,
  C_PROF_REMOVE = 1 << 4,
  C_PRIO = 1 << 5,
  C_POLICY = 1 << 6,
  C_CONFIG = 1 << 7,
  C_ALL = 0xff,
};

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

struct ctx {
  FILE *in, *out, *err;
  struct qcc_prompt *pr;
  bool tty;
  struct opts o;
  const char *cmdname; /* "endpoint add" for messages */
  const char *path;
  char *orig;
  size_t orig_len;
  bool exists;
  mode_t mode;
  struct qcc_yamldoc *doc;
  struct qcc_config *cfg; /* the current config when it validates */
  bool cfg_tried;
  /* a key typed interactively, written to keyfile_path at commit */
  char *keyfile_path;
  char *secret;
};

static int fail(struct ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, int code, const char *fmt, ...) {
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
      return fail(c, QCCC_EDIT_USAGE, "argument %d is not valid UTF-8 text; nothing was changed",
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
        return fail(c, QCCC_EDIT_USAGE, "unknown option %.*s", (int)nl, a);
      if (!(f->cmds & cmd))
        return fail(c, QCCC_EDIT_USAGE, "option %s does not apply here", f->name);
      const char *val = eq ? eq + 1 : NULL;
      if (!val) {
        if (i + 1 >= argc)
          return fail(c, QCCC_EDIT_USAGE, "option %s needs a value", f->name);
        val = argv[++i];
      }
      *(const char **)((char *)o + f->off) = val;
      continue;
    }
    if (a[0] == '-' && a[1] != '\0')
      return fail(c, QCCC_EDIT_USAGE, "unknown option %s", a);
    if (o->npos >= (int)(sizeof o->pos / sizeof o->pos[0]))
      return fail(c, QCCC_EDIT_USAGE, "too many arguments");
    o->pos[o->npos++] = a;
  }
  return 0;
}

/* ---- files ---- */

/* The one reader (schema/fileio.h): a regular file of at most MAX_FILE
 * bytes, NUL-terminated, with its mode. */
static int read_file(const char *path, char **out, size_t *len, mode_t *mode, struct qcc_err *err) {
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
static int validate(struct ctx *c, const char *file, const char *shown, bool quiet_ok,
                    struct qcc_config **out) {
  struct qcc_frontend_opts fo = {.strict = false, .check_secrets = false};
  struct qcc_diags *d = qcc_diags_new();
  if (!d)
    return fail(c, QCCC_EDIT_USAGE, "out of memory");
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
static int edit_failed(struct ctx *c, const char *what, const struct qcc_err *e) {
  unsigned line, col;
  int used = 0;
  if (sscanf(e->msg, "%u:%u:%n", &line, &col, &used) == 2 && used > 0)
    return fail(c, QCCC_EDIT_USAGE, "%s:%s", c->path, e->msg);
  if (what)
    return fail(c, QCCC_EDIT_USAGE, "%s: %s", what, e->msg);
  return fail(c, QCCC_EDIT_USAGE, "%s", e->msg);
}

/* ---- load / commit ---- */

static int load(struct ctx *c, bool must_exist) {
  struct qcc_err e = {0};
  if (read_file(c->path, &c->orig, &c->orig_len, &c->mode, &e) != 0) {
    if (e.code == ENOENT && !must_exist) {
      c->exists = false;
      c->mode = 0644;
      c->orig = strdup("");
      if (!c->orig)
        return fail(c, QCCC_EDIT_USAGE, "out of memory");
      return qcc_yamldoc_parse("", 0, &c->doc, &e) == 0 ? 0 : QCCC_EDIT_USAGE;
    }
    if (e.code == ENOENT)
      return fail(c, QCCC_EDIT_USAGE,
                  "%s not found: create one with `qccc init` or name it with --config FILE",
                  c->path);
    return fail(c, QCCC_EDIT_USAGE, "%s", e.msg);
  }
  c->exists = true;
  if (qcc_yamldoc_parse(c->orig, c->orig_len, &c->doc, &e) != 0)
    return fail(c, QCCC_EDIT_INVALID, "%s:%s (fix the YAML first; nothing was changed)", c->path,
                e.msg);
  return 0;
}

/* The current config, loaded through the frontend; NULL (after printing
 * why) when the file does not validate. */
static const struct qcc_config *current(struct ctx *c, bool report) {
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

static int commit(struct ctx *c, const char *what) {
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
    return fail(c, QCCC_EDIT_USAGE, "%s", e.msg);
  }
  int rc = validate(c, qcc_newfile_temp(nf), c->path, true, NULL);
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
    if (read_file(c->path, &now, &nlen, NULL, &e) != 0 || nlen != c->orig_len ||
        memcmp(now, c->orig, nlen) != 0) {
      free(now);
      qcc_newfile_free(&nf);
      return fail(c, QCCC_EDIT_USAGE, "%s changed while we were editing it; run the command again",
                  c->path);
    }
    free(now);
    char bak[PATH_MAX];
    if ((size_t)snprintf(bak, sizeof bak, "%s.bak", c->path) >= sizeof bak ||
        qcc_file_replace(bak, c->orig, c->orig_len, c->mode, &e) != 0) {
      qcc_newfile_free(&nf);
      return fail(c, QCCC_EDIT_USAGE, "cannot keep the backup: %s; nothing was changed", e.msg);
    }
  }
  bool wrote_key = false;
  if (c->secret) {
    if (write_keyfile(c, &e) != 0) {
      qcc_newfile_free(&nf);
      return fail(c, QCCC_EDIT_USAGE, "cannot write the key file: %s; nothing was changed", e.msg);
    }
    wrote_key = true;
  }
  /* The directory is synced apart: once renamed, the edit is made. */
  if (qcc_newfile_commit(&nf, QCC_NEWFILE_NO_DIRSYNC, NULL, &e) != 0) {
    if (wrote_key)
      unlink(c->keyfile_path);
    return fail(c, QCCC_EDIT_USAGE, "%s", e.msg);
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
static const char *closest(const char *s, const char *const *names, size_t n) {
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

static const char *const PROFILES[] = {"profiles"};

static size_t profile_names(struct ctx *c, const char **names) {
  return qcc_yamldoc_items(c->doc, PROFILES, 1, "name", names, MAX_NAMES);
}

static bool has_profile(struct ctx *c, const char *name) {
  const char *path[] = {"profiles", name};
  return qcc_yamldoc_get(c->doc, path, 2, NULL) == QCC_YNODE_MAP;
}

static int no_profile(struct ctx *c, const char *name) {
  const struct qcc_config *cfg = current(c, false);
  for (size_t i = 0; cfg && i < cfg->profile_count; i++)
    if (strcmp(cfg->profiles[i].name, name) == 0 && cfg->profiles[i].pos.file)
      return fail(c, QCCC_EDIT_USAGE, "profile %s is defined in %s; edit it there (-c %s)", name,
                  cfg->profiles[i].pos.file, cfg->profiles[i].pos.file);
  const char **names = calloc(MAX_NAMES, sizeof *names);
  size_t n = names ? profile_names(c, names) : 0;
  const char *hint = closest(name, names, n);
  int rc;
  if (hint)
    rc = fail(c, QCCC_EDIT_USAGE, "no profile named \"%s\" in %s; did you mean \"%s\"?", name,
              c->path, hint);
  else
    rc =
        fail(c, QCCC_EDIT_USAGE, "no profile named \"%s\" in %s (`qccc profile add %s` creates it)",
             name, c->path, name);
  free(names);
  return rc;
}

/* Profile holding endpoint ID in this file, or NULL. */
static const char *profile_of(struct ctx *c, const char *id) {
  const char **names = calloc(MAX_NAMES, sizeof *names);
  if (!names)
    return NULL;
  size_t n = profile_names(c, names);
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
static size_t all_ids(struct ctx *c, const char **ids, size_t max) {
  size_t n = 0;
  const char **names = calloc(MAX_NAMES, sizeof *names);
  if (!names)
    return 0;
  size_t np = profile_names(c, names);
  for (size_t i = 0; i < np && n < max; i++) {
    const char *path[] = {"profiles", names[i], "endpoints"};
    n += qcc_yamldoc_items(c->doc, path, 3, "id", ids + n, max - n);
  }
  free(names);
  const struct qcc_config *cfg = current(c, false);
  for (size_t i = 0; cfg && i < cfg->profile_count; i++)
    for (size_t j = 0; j < cfg->profiles[i].endpoint_count && n < max; j++)
      ids[n++] = cfg->profiles[i].endpoints[j].id;
  return n;
}

static bool id_taken(struct ctx *c, const char *id) {
  const char **ids = calloc(MAX_NAMES, sizeof *ids);
  if (!ids)
    return false;
  size_t n = all_ids(c, ids, MAX_NAMES);
  bool taken = false;
  for (size_t i = 0; i < n && !taken; i++)
    taken = strcmp(ids[i], id) == 0;
  free(ids);
  return taken;
}

static bool good_name(const char *s) {
  if (!s[0] || strlen(s) > 255)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '-' || *p == '_'))
      return false;
  return true;
}

static bool good_env(const char *s) {
  if (!s[0] || (s[0] >= '0' && s[0] <= '9') || strlen(s) > 255)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          *p == '_'))
      return false;
  return true;
}

/* ---- config get / set / list / reset / export / import ---- */

struct keyref {
  char buf[1024];
  const char *segs[MAX_SEGS];
  size_t n;
  const struct qcc_knob *knob; /* NULL for an entry of a free map */
  bool on_item;                /* the path names a list item itself */
  bool map_entry;              /* a key of models: / metadata: */
  size_t last_item;            /* index of the last item-name segment + 1; 0 = none */
};

static bool scalar_kind(enum qcc_knob_kind k) {
  return k == QCC_KNOB_BOOL || k == QCC_KNOB_INT || k == QCC_KNOB_DURATION || k == QCC_KNOB_SIZE ||
         k == QCC_KNOB_STRING || k == QCC_KNOB_ENUM;
}

/* Map a dotted path with item names ("profiles.prod.endpoints.e1.weight")
 * onto the knob table ("profiles[].endpoints[].weight"). */
static int resolve_key(struct ctx *c, const char *dotted, struct keyref *r) {
  memset(r, 0, sizeof *r);
  r->n = qcc_path_split(dotted, r->buf, sizeof r->buf, r->segs, MAX_SEGS);
  if (r->n == 0)
    return fail(c, QCCC_EDIT_USAGE, "\"%s\" is not a key path (like proxy.port)", dotted);
  char norm[512] = "";
  for (size_t i = 0; i < r->n; i++) {
    char cand[512];
    snprintf(cand, sizeof cand, "%s%s%s", norm, norm[0] ? "." : "", r->segs[i]);
    const struct qcc_knob *k = qcc_knob_find(cand);
    if (!k) {
      if (r->knob && i == r->n - 1 && !r->on_item &&
          (r->knob->kind == QCC_KNOB_STRMAP || r->knob->kind == QCC_KNOB_SCALARMAP)) {
        r->map_entry = true;
        r->knob = NULL;
        return 0;
      }
      const char *kids[QCC_KNOB_COUNT];
      size_t nk = 0;
      for (size_t j = 0; j < QCC_KNOB_COUNT; j++)
        if (qcc_knob_is_child(&qcc_knobs[j], norm))
          kids[nk++] = qcc_knob_key(&qcc_knobs[j]);
      const char *hint = closest(r->segs[i], kids, nk);
      char prefix[512] = "";
      for (size_t j = 0; j < i; j++) {
        size_t pl = strlen(prefix);
        snprintf(prefix + pl, sizeof prefix - pl, "%s.", r->segs[j]);
      }
      if (hint)
        return fail(c, QCCC_EDIT_USAGE, "unknown key \"%s\"; did you mean \"%s%s\"?", dotted,
                    prefix, hint);
      return fail(c, QCCC_EDIT_USAGE, "unknown key \"%s\" (`qccc config list` shows the keys)",
                  dotted);
    }
    r->knob = k;
    r->on_item = false;
    snprintf(norm, sizeof norm, "%s", cand);
    if (k->kind == QCC_KNOB_LIST && i + 1 < r->n) {
      i++; /* the item's name */
      r->on_item = true;
      r->last_item = i + 1;
      size_t nl = strlen(norm);
      snprintf(norm + nl, sizeof norm - nl, "[]");
    }
  }
  return 0;
}

static int need_scalar(struct ctx *c, const struct keyref *r, const char *dotted) {
  if (r->map_entry || (r->knob && scalar_kind(r->knob->kind) && !r->on_item))
    return 0;
  return fail(c, QCCC_EDIT_USAGE,
              "%s is a %s, not a single value; name one of its keys (`qccc config list`)", dotted,
              r->on_item ? "list item" : "section or list");
}

static const char *current_value(struct ctx *c, enum qcc_knob_id id, char *buf, size_t cap);

static int config_get(struct ctx *c) {
  if (c->o.npos != 2)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc config get KEY");
  const char *key = c->o.pos[1];
  struct keyref r;
  int rc = resolve_key(c, key, &r);
  if (rc == 0)
    rc = need_scalar(c, &r, key);
  if (rc == 0)
    rc = load(c, true);
  if (rc != 0)
    return rc;
  if (r.knob && (r.knob->flags & QCC_KF_SECRET))
    return fail(c, QCCC_EDIT_USAGE, "%s holds a secret and is never shown", key);
  char *v = NULL;
  enum qcc_ynode_kind k = qcc_yamldoc_get(c->doc, r.segs, r.n, &v);
  if (k == QCC_YNODE_SCALAR) {
    fprintf(c->out, "%s\n", v ? v : "");
    free(v);
    return QCCC_EDIT_OK;
  }
  if (k != QCC_YNODE_NONE)
    return fail(c, QCCC_EDIT_INVALID, "%s is not a single value in %s", key, c->path);
  if (r.last_item && qcc_yamldoc_get(c->doc, r.segs, r.last_item, NULL) == QCC_YNODE_NONE)
    return fail(c, QCCC_EDIT_USAGE, "no \"%s\" under %s in %s", r.segs[r.last_item - 1],
                r.segs[r.last_item - 2], c->path);
  const struct qcc_knob *from = r.knob ? qcc_knob_inherits(r.knob) : NULL;
  char buf[1024];
  const char *def = from   ? current_value(c, from->id, buf, sizeof buf)
                    : r.knob ? r.knob->def
                             : NULL;
  /* Unset and no default: the empty value, as `qccc show` prints it. */
  fprintf(c->out, "%s\n", def ? def : "");
  return QCCC_EDIT_OK;
}

static int config_set(struct ctx *c) {
  if (c->o.npos != 3)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc config set KEY VALUE");
  const char *key = c->o.pos[1], *val = c->o.pos[2];
  struct keyref r;
  int rc = resolve_key(c, key, &r);
  if (rc == 0)
    rc = need_scalar(c, &r, key);
  if (rc != 0)
    return rc;
  if (r.knob && (r.knob->flags & QCC_KF_SECRET))
    return fail(c, QCCC_EDIT_USAGE,
                "refusing to write a secret into the config: use api_key_env (an environment "
                "variable) or api_key_file (a file, mode 0600) instead");
  if (r.knob && r.knob->kind != QCC_KNOB_STRING && val[0] == '\0')
    return fail(c, QCCC_EDIT_USAGE,
                "%s needs a value (`qccc config reset %s` restores the default)", key, key);
  rc = load(c, true);
  if (rc != 0)
    return rc;
  bool as_string = r.map_entry || r.knob->kind == QCC_KNOB_STRING;
  char *scalar = qcc_yaml_scalar(val, as_string);
  if (!scalar)
    return fail(c, QCCC_EDIT_USAGE, "out of memory");
  struct qcc_err e = {0};
  rc = qcc_yamldoc_set(c->doc, r.segs, r.n, scalar, &e);
  free(scalar);
  if (rc != 0)
    return edit_failed(c, key, &e);
  char what[600];
  snprintf(what, sizeof what, "%s set", key);
  return commit(c, what);
}

static bool global_scalar(const struct qcc_knob *k) {
  return scalar_kind(k->kind) && !strchr(k->path, '[') && k->id != QCC_K_VERSION;
}

static int config_list(struct ctx *c) {
  if (c->o.npos != 1)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc config list");
  int rc = load(c, true);
  if (rc != 0)
    return rc;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    if (!global_scalar(k))
      continue;
    const char *segs[MAX_SEGS];
    char buf[256];
    size_t n = qcc_path_split(k->path, buf, sizeof buf, segs, MAX_SEGS);
    char *v = NULL;
    enum qcc_ynode_kind kind = qcc_yamldoc_get(c->doc, segs, n, &v);
    if (kind == QCC_YNODE_SCALAR)
      fprintf(c->out, "%-36s %s\n", k->path, (k->flags & QCC_KF_SECRET) ? "(hidden)" : v ? v : "");
    else if (k->def)
      fprintf(c->out, "%-36s %s  (default)\n", k->path, k->def);
    else
      fprintf(c->out, "%-36s (not set)\n", k->path);
    free(v);
  }
  return QCCC_EDIT_OK;
}

static int config_reset(struct ctx *c) {
  if (c->o.npos > 2)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc config reset [KEY]");
  int rc;
  struct qcc_err e = {0};
  if (c->o.npos == 2) {
    const char *key = c->o.pos[1];
    struct keyref r;
    rc = resolve_key(c, key, &r);
    if (rc == 0)
      rc = need_scalar(c, &r, key);
    if (rc != 0)
      return rc;
    if (r.knob && (r.knob->flags & QCC_KF_REQUIRED))
      return fail(c, QCCC_EDIT_USAGE, "%s is required and has no default to reset to", key);
    rc = load(c, true);
    if (rc != 0)
      return rc;
    if (qcc_yamldoc_get(c->doc, r.segs, r.n, NULL) == QCC_YNODE_NONE) {
      fprintf(c->out, "%s is not set in %s; it already has its default\n", key, c->path);
      return QCCC_EDIT_OK;
    }
    if (qcc_yamldoc_remove(c->doc, r.segs, r.n, &e) != 0)
      return edit_failed(c, key, &e);
    char what[600];
    if (r.knob && qcc_knob_inherits(r.knob))
      snprintf(what, sizeof what, "%s reset to its default (as %s)", key, r.knob->def + 1);
    else if (r.knob && r.knob->def)
      snprintf(what, sizeof what, "%s reset to its default (%s)", key, r.knob->def);
    else
      snprintf(what, sizeof what, "%s removed (no default)", key);
    return commit(c, what);
  }
  rc = load(c, true);
  if (rc != 0)
    return rc;
  if (!c->o.yes) {
    if (!c->tty)
      return fail(c, QCCC_EDIT_USAGE, "resetting every setting needs --yes when not on a terminal");
    bool ok = false;
    rc = qcc_prompt_yesno(c->pr,
                          "Reset every setting (proxy, health, queue, loadbalancer, "
                          "switching_policy, journal) to its default? Profiles stay",
                          false, &ok);
    if (rc != 0 || !ok) {
      fprintf(c->out, "cancelled; %s unchanged\n", c->path);
      return rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;
    }
  }
  size_t removed = 0;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    if (!global_scalar(k))
      continue;
    const char *segs[MAX_SEGS];
    char buf[256];
    size_t n = qcc_path_split(k->path, buf, sizeof buf, segs, MAX_SEGS);
    if (qcc_yamldoc_get(c->doc, segs, n, NULL) != QCC_YNODE_SCALAR)
      continue;
    if (qcc_yamldoc_remove(c->doc, segs, n, &e) != 0)
      return edit_failed(c, k->path, &e);
    removed++;
  }
  char what[64];
  snprintf(what, sizeof what, "%zu setting%s reset to default", removed, removed == 1 ? "" : "s");
  return commit(c, what);
}

static void env_name_for(const char *prefix, const char *id, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "%s", prefix);
  for (const char *p = id; *p && n + 1 < cap; p++) {
    char ch = *p;
    if (ch >= 'a' && ch <= 'z')
      ch = (char)(ch - 'a' + 'A');
    else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
      ch = '_';
    buf[n++] = ch;
  }
  buf[n < cap ? n : cap - 1] = '\0';
}

/* Export: the file with every default written out and every literal secret
 * replaced by an environment reference (the value is never copied). */
static int config_export(struct ctx *c) {
  if (c->o.npos != 2)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc config export FILE");
  const char *dest = c->o.pos[1];
  int rc = load(c, true);
  if (rc != 0)
    return rc;
  if (!current(c, true))
    return fail(c, QCCC_EDIT_INVALID, "%s does not validate; fix it before exporting", c->path);
  struct qcc_err e = {0};
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    if (!global_scalar(k) || !k->def)
      continue;
    const char *segs[MAX_SEGS];
    char buf[256];
    size_t n = qcc_path_split(k->path, buf, sizeof buf, segs, MAX_SEGS);
    if (qcc_yamldoc_get(c->doc, segs, n, NULL) != QCC_YNODE_NONE)
      continue;
    char *s = qcc_yaml_scalar(k->def, k->kind == QCC_KNOB_STRING);
    rc = s ? qcc_yamldoc_set(c->doc, segs, n, s, &e) : -1;
    free(s);
    if (rc != 0)
      return edit_failed(c, k->path, &e);
  }
  const char **names = calloc(MAX_NAMES, sizeof *names);
  const char **ids = calloc(MAX_NAMES, sizeof *ids);
  if (!names || !ids) {
    free(names);
    free(ids);
    return fail(c, QCCC_EDIT_USAGE, "out of memory");
  }
  size_t np = profile_names(c, names);
  for (size_t i = 0; i < np; i++) {
    char pname[256];
    snprintf(pname, sizeof pname, "%s", names[i]);
    const char *ep[] = {"profiles", pname, "endpoints"};
    size_t ne = qcc_yamldoc_items(c->doc, ep, 3, "id", ids, MAX_NAMES);
    for (size_t j = 0; j < ne; j++) {
      char id[256];
      snprintf(id, sizeof id, "%s", ids[j]);
      const char *lit[] = {"profiles", pname, "endpoints", id, "api_key"};
      const char *env[] = {"profiles", pname, "endpoints", id, "api_key_env"};
      if (qcc_yamldoc_get(c->doc, lit, 5, NULL) == QCC_YNODE_NONE)
        continue;
      char var[300];
      env_name_for("QCC_KEY_", id, var, sizeof var);
      if (qcc_yamldoc_remove(c->doc, lit, 5, &e) != 0 ||
          qcc_yamldoc_set(c->doc, env, 5, var, &e) != 0) {
        free(names);
        free(ids);
        return edit_failed(c, id, &e);
      }
      fprintf(c->err,
              "qccc config export: endpoint %s has a literal api_key; exported as "
              "api_key_env: %s (set that variable)\n",
              id, var);
      /* the profile/endpoint names point into the old tree: refresh */
      np = profile_names(c, names);
      ne = qcc_yamldoc_items(c->doc, ep, 3, "id", ids, MAX_NAMES);
    }
  }
  free(names);
  free(ids);
  for (unsigned t = 0; t < 1000; t++) {
    char ix[16];
    snprintf(ix, sizeof ix, "%u", t);
    const char *item[] = {"proxy", "auth_tokens", ix};
    if (qcc_yamldoc_get(c->doc, item, 3, NULL) == QCC_YNODE_NONE)
      break;
    const char *lit[] = {"proxy", "auth_tokens", ix, "value"};
    const char *env[] = {"proxy", "auth_tokens", ix, "env"};
    if (qcc_yamldoc_get(c->doc, lit, 4, NULL) == QCC_YNODE_NONE)
      continue;
    char var[64];
    snprintf(var, sizeof var, "QCC_CLIENT_TOKEN_%u", t);
    if (qcc_yamldoc_remove(c->doc, lit, 4, &e) != 0 ||
        qcc_yamldoc_set(c->doc, env, 4, var, &e) != 0)
      return edit_failed(c, "auth_tokens", &e);
    fprintf(c->err, "qccc config export: auth token %u is literal; exported as env: %s\n", t, var);
  }
  size_t len;
  const char *text = qcc_yamldoc_text(c->doc, &len);
  if (qcc_file_replace(dest, text, len, 0644, &e) != 0)
    return fail(c, QCCC_EDIT_USAGE, "%s", e.msg);
  fprintf(c->out, "%s: exported %s with defaults written out and keys as references\n", dest,
          c->path);
  return QCCC_EDIT_OK;
}

static int config_import(struct ctx *c) {
  if (c->o.npos != 2)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc config import FILE");
  const char *src = c->o.pos[1];
  int rc = load(c, false);
  if (rc != 0)
    return rc;
  char *text = NULL;
  size_t len = 0;
  struct qcc_err e = {0};
  if (read_file(src, &text, &len, NULL, &e) != 0)
    return fail(c, QCCC_EDIT_USAGE, "%s", e.msg);
  rc = validate(c, src, src, false, NULL);
  if (rc != 0) {
    free(text);
    fprintf(c->err, "qccc config import: %s does not validate; %s unchanged\n", src, c->path);
    return rc;
  }
  if (c->exists && !c->o.yes && c->tty) {
    char q[PATH_MAX * 2 + 32];
    snprintf(q, sizeof q, "Replace %s with %s", c->path, src);
    bool ok = false;
    rc = qcc_prompt_yesno(c->pr, q, false, &ok);
    if (rc != 0 || !ok) {
      free(text);
      fprintf(c->out, "cancelled; %s unchanged\n", c->path);
      return rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;
    }
  }
  struct qcc_yamldoc *nd = NULL;
  rc = qcc_yamldoc_parse(text, len, &nd, &e);
  free(text);
  if (rc != 0)
    return fail(c, QCCC_EDIT_INVALID, "%s:%s", src, e.msg);
  qcc_yamldoc_free(&c->doc);
  c->doc = nd;
  char what[PATH_MAX + 32];
  snprintf(what, sizeof what, "imported from %s", src);
  return commit(c, what);
}

static int config_validate(struct ctx *c) {
  int rc = validate(c, c->path, c->path, false, NULL);
  if (rc == 0)
    fprintf(c->out, "%s: valid\n", c->path);
  return rc;
}

/* ---- profiles and priority ---- */

static const char *const GROUPS = "profile_groups";

/* Keep profile_groups (when the file has it) in step with a profile's group. */
static int sync_groups(struct ctx *c, const char *name, const char *group, struct qcc_err *e) {
  const char *sec[] = {GROUPS};
  if (qcc_yamldoc_get(c->doc, sec, 1, NULL) != QCC_YNODE_MAP)
    return 0;
  for (size_t g = 0; g < qcc_group_desc.count; g++) {
    const char *gname = qcc_group_desc.names[g];
    const char *item[] = {GROUPS, gname, name};
    bool there = qcc_yamldoc_get(c->doc, item, 3, NULL) != QCC_YNODE_NONE;
    bool want = group && strcmp(gname, group) == 0;
    if (there && !want && qcc_yamldoc_remove(c->doc, item, 3, e) != 0)
      return -1;
    if (!there && want) {
      char *s = qcc_yaml_scalar(name, true);
      const char *list[] = {GROUPS, gname};
      int rc = s ? qcc_yamldoc_append(c->doc, list, 2, s, e) : -1;
      free(s);
      if (rc != 0)
        return -1;
    }
  }
  return 0;
}

static int parse_group(struct ctx *c, const char *s, const char **out) {
  unsigned v;
  if (!qcc_enum_parse(&qcc_group_desc, s, &v)) {
    char legal[128];
    qcc_enum_list(&qcc_group_desc, legal, sizeof legal);
    return fail(c, QCCC_EDIT_USAGE, "\"%s\" is not a priority group; expected %s", s, legal);
  }
  *out = qcc_group_desc.names[v];
  return 0;
}

static int priority_set(struct ctx *c) {
  if (c->o.npos != 3 || strcmp(c->o.pos[0], "set") != 0)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc priority set PROFILE primary|secondary|fallback");
  const char *name = c->o.pos[1], *group = NULL;
  int rc = parse_group(c, c->o.pos[2], &group);
  if (rc == 0)
    rc = load(c, true);
  if (rc != 0)
    return rc;
  if (!has_profile(c, name))
    return no_profile(c, name);
  const char *path[] = {"profiles", name, "priority"};
  struct qcc_err e = {0};
  if (qcc_yamldoc_set(c->doc, path, 3, group, &e) != 0 || sync_groups(c, name, group, &e) != 0)
    return edit_failed(c, NULL, &e);
  char what[512];
  snprintf(what, sizeof what, "profile %s is now %s", name, group);
  return commit(c, what);
}

static int profile_add(struct ctx *c) {
  if (c->o.npos != 2)
    return fail(c, QCCC_EDIT_USAGE,
                "usage: qccc profile add NAME [--description TEXT] [--priority GROUP]");
  const char *name = c->o.pos[1];
  if (!good_name(name))
    return fail(c, QCCC_EDIT_USAGE, "profile name \"%s\": use letters, digits, '-' and '_' only",
                name);
  const char *group = NULL;
  int rc = c->o.priority ? parse_group(c, c->o.priority, &group) : 0;
  if (rc == 0)
    rc = load(c, false);
  if (rc != 0)
    return rc;
  if (has_profile(c, name))
    return fail(c, QCCC_EDIT_USAGE, "profile %s already exists", name);
  char *desc = c->o.description ? strdup(c->o.description) : NULL;
  if (!group && c->tty) {
    size_t pick;
    rc = qcc_prompt_choice(c->pr, "Priority group of the new profile", qcc_group_desc.names,
                           qcc_group_desc.count, 0, &pick);
    if (rc == 0 && !desc) {
      rc = qcc_prompt_text(c->pr, "Description (empty for none)", "", NULL, NULL, &desc);
      if (rc == 0 && desc[0] == '\0') {
        free(desc);
        desc = NULL;
      }
    }
    if (rc != 0) {
      free(desc);
      fprintf(c->out, "cancelled; %s unchanged\n", c->path);
      return rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;
    }
    group = qcc_group_desc.names[pick];
  }
  char *qn = qcc_yaml_scalar(name, true);
  char *qd = desc ? qcc_yaml_scalar(desc, true) : NULL;
  if (!qn || (desc && !qd)) { /* a description typed at the prompt that is not UTF-8 */
    free(desc);
    free(qn);
    free(qd);
    return fail(c, QCCC_EDIT_USAGE, "the description is not valid UTF-8 text; nothing was changed");
  }
  free(desc);
  char item[8192];
  snprintf(item, sizeof item, "name: %s\n%s%s%spriority: %s\nendpoints: []\n", qn ? qn : name,
           qd ? "description: " : "", qd ? qd : "", qd ? "\n" : "", group ? group : "primary");
  free(qn);
  free(qd);
  struct qcc_err e = {0};
  if (qcc_yamldoc_append(c->doc, PROFILES, 1, item, &e) != 0 ||
      sync_groups(c, name, group ? group : "primary", &e) != 0)
    return edit_failed(c, NULL, &e);
  char what[512];
  snprintf(what, sizeof what, "profile %s added (add endpoints with `qccc endpoint add %s`)", name,
           name);
  return commit(c, what);
}

/* A removal asks on a terminal unless -y (the file keeps FILE.bak, so
 * elsewhere it goes on). QCCC_EDIT_OK to go on. */
static int ask_remove(struct ctx *c, const char *what) {
  if (c->o.yes || !c->tty) return QCCC_EDIT_OK;
  bool ok = false;
  int rc = qcc_prompt_yesno(c->pr, what, false, &ok);
  if (rc != 0 || !ok) {
    fprintf(c->out, "cancelled; %s unchanged\n", c->path);
    return rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;
  }
  return QCCC_EDIT_OK;
}

static int profile_remove(struct ctx *c) {
  if (c->o.npos != 2)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc profile remove NAME");
  const char *name = c->o.pos[1];
  int rc = load(c, true);
  if (rc != 0)
    return rc;
  if (!has_profile(c, name))
    return no_profile(c, name);
  char keep[256], q[400];
  snprintf(keep, sizeof keep, "%s", name);
  snprintf(q, sizeof q, "Remove profile %s and every endpoint in it from %s", keep, c->path);
  rc = ask_remove(c, q);
  if (rc != QCCC_EDIT_OK)
    return rc;
  const char *path[] = {"profiles", keep};
  struct qcc_err e = {0};
  if (qcc_yamldoc_remove(c->doc, path, 2, &e) != 0 || sync_groups(c, keep, NULL, &e) != 0)
    return edit_failed(c, NULL, &e);
  char what[512];
  snprintf(what, sizeof what, "profile %s removed", keep);
  return commit(c, what);
}

/* ---- policy ---- */

static bool check_duration(const char *s, char *why, size_t cap, void *ctx) {
  const struct qcc_knob *k = ctx;
  struct qcc_knob_value v;
  enum qcc_knob_status st = qcc_knob_parse(k, s, &v);
  if (st == QCC_KNOB_OK)
    return true;
  char range[96];
  qcc_knob_range_text(k, range, sizeof range);
  snprintf(why, cap, "%s must be a duration (30s, 5m, 1h or seconds) %s", k->path, range);
  return false;
}

/* Parse a flag value for knob K; a usage error naming FLAG when it is bad. */
static int flag_value(struct ctx *c, const char *flag, const char *val, enum qcc_knob_id id) {
  const struct qcc_knob *k = &qcc_knobs[id];
  struct qcc_knob_value v;
  if (qcc_knob_parse(k, val, &v) == QCC_KNOB_OK)
    return 0;
  char range[96];
  qcc_knob_range_text(k, range, sizeof range);
  return fail(c, QCCC_EDIT_USAGE, "%s %s: %s must be %s %s", flag, val, k->path,
              k->kind == QCC_KNOB_DURATION ? "a duration (30s, 5m, 1h or seconds)"
                                           : "a whole number",
              range);
}

static const char *current_value(struct ctx *c, enum qcc_knob_id id, char *buf, size_t cap) {
  const char *segs[MAX_SEGS];
  char pb[256];
  size_t n = qcc_path_split(qcc_knobs[id].path, pb, sizeof pb, segs, MAX_SEGS);
  char *v = NULL;
  if (qcc_yamldoc_get(c->doc, segs, n, &v) == QCC_YNODE_SCALAR && v) {
    snprintf(buf, cap, "%s", v);
    free(v);
    return buf;
  }
  free(v);
  return qcc_knobs[id].def;
}

static int set_knob(struct ctx *c, enum qcc_knob_id id, const char *val, struct qcc_err *e) {
  const char *segs[MAX_SEGS];
  char pb[256];
  size_t n = qcc_path_split(qcc_knobs[id].path, pb, sizeof pb, segs, MAX_SEGS);
  char *s = qcc_yaml_scalar(val, qcc_knobs[id].kind == QCC_KNOB_STRING);
  if (!s)
    return qcc_err_set(e, ENOMEM, "out of memory");
  int rc = qcc_yamldoc_set(c->doc, segs, n, s, e);
  free(s);
  return rc;
}

static int policy(struct ctx *c) {
  struct opts *o = &c->o;
  if (o->npos != 0)
    return fail(c, QCCC_EDIT_USAGE,
                "usage: qccc policy [--auto-failover|--no-auto-failover] "
                "[--auto-recovery|--no-auto-recovery] "
                "[--failure-threshold N] [--cooldown D]");
  int rc = 0;
  if (o->threshold)
    rc = flag_value(c, "--failure-threshold", o->threshold, QCC_K_SWITCH_THRESHOLD);
  if (rc == 0 && o->cooldown)
    rc = flag_value(c, "--cooldown", o->cooldown, QCC_K_SWITCH_COOLDOWN);
  if (rc == 0)
    rc = load(c, true);
  if (rc != 0)
    return rc;
  bool none = o->auto_failover < 0 && o->auto_recovery < 0 && !o->threshold && !o->cooldown;
  char thr_buf[32], *cool = NULL;
  if (none) {
    if (!c->tty)
      return fail(c, QCCC_EDIT_USAGE,
                  "nothing to change: give --auto-failover or --no-auto-failover, "
                  "--auto-recovery or --no-auto-recovery, --failure-threshold N or "
                  "--cooldown D (not on a terminal, so nothing is asked)");
    char b1[64], b2[64], b3[64], b4[64];
    bool af, ar;
    uint32_t thr;
    const struct qcc_knob *kt = &qcc_knobs[QCC_K_SWITCH_THRESHOLD];
    rc = qcc_prompt_yesno(c->pr, "Fail over automatically when a group is down",
                          strcmp(current_value(c, QCC_K_SWITCH_AUTO, b1, sizeof b1), "false") != 0,
                          &af);
    if (rc == 0)
      rc = qcc_prompt_yesno(
          c->pr, "Recover back to primary automatically",
          strcmp(current_value(c, QCC_K_SWITCH_RECOVERY, b2, sizeof b2), "false") != 0, &ar);
    if (rc == 0)
      rc = qcc_prompt_uint(
          c->pr, "Consecutive failures before failing over",
          (uint32_t)strtoul(current_value(c, QCC_K_SWITCH_THRESHOLD, b3, sizeof b3), NULL, 10),
          (uint32_t)kt->min, (uint32_t)kt->max, &thr);
    if (rc == 0)
      rc = qcc_prompt_text(c->pr, "Cooldown between switches",
                           current_value(c, QCC_K_SWITCH_COOLDOWN, b4, sizeof b4), check_duration,
                           (void *)&qcc_knobs[QCC_K_SWITCH_COOLDOWN], &cool);
    if (rc != 0) {
      fprintf(c->out, "cancelled; %s unchanged\n", c->path);
      return rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;
    }
    o->auto_failover = af;
    o->auto_recovery = ar;
    snprintf(thr_buf, sizeof thr_buf, "%u", thr);
    o->threshold = thr_buf;
    o->cooldown = cool;
  }
  struct qcc_err e = {0};
  rc = 0;
  if (o->auto_failover >= 0)
    rc = set_knob(c, QCC_K_SWITCH_AUTO, o->auto_failover ? "true" : "false", &e);
  if (rc == 0 && o->auto_recovery >= 0)
    rc = set_knob(c, QCC_K_SWITCH_RECOVERY, o->auto_recovery ? "true" : "false", &e);
  if (rc == 0 && o->threshold)
    rc = set_knob(c, QCC_K_SWITCH_THRESHOLD, o->threshold, &e);
  if (rc == 0 && o->cooldown)
    rc = set_knob(c, QCC_K_SWITCH_COOLDOWN, o->cooldown, &e);
  free(cool);
  if (rc != 0)
    return edit_failed(c, NULL, &e);
  return commit(c, "switching_policy updated");
}

/* ---- endpoints ---- */

/* "sk-ant-…yyyy": enough to recognise a key, never enough to use it. */
static void mask_key(const char *key, char *buf, size_t cap) {
  size_t n = strlen(key);
  if (n < 12) {
    snprintf(buf, cap, "****");
    return;
  }
  size_t head = n >= 20 ? 7 : 3;
  snprintf(buf, cap, "%.*s\xe2\x80\xa6%s", (int)head, key, key + n - 4);
}

static void describe_key(const struct qcc_keysrc *k, char *buf, size_t cap) {
  char masked[64] = "";
  const char *val = NULL;
  char filebuf[512];
  if (k->kind == QCC_KEY_ENV) {
    val = getenv(k->value);
  } else if (k->kind == QCC_KEY_FILE) {
    FILE *f = fopen(k->value, "r");
    if (f) {
      if (fgets(filebuf, sizeof filebuf, f)) {
        filebuf[strcspn(filebuf, "\r\n")] = '\0';
        val = filebuf;
      }
      fclose(f);
    }
  } else if (k->kind == QCC_KEY_LITERAL) {
    val = k->value;
  }
  if (val && val[0])
    mask_key(val, masked, sizeof masked);
  else
    snprintf(masked, sizeof masked, "not set here");
  switch (k->kind) {
  case QCC_KEY_ENV:
    snprintf(buf, cap, "env %s (%s)", k->value, masked);
    break;
  case QCC_KEY_FILE:
    snprintf(buf, cap, "file %s (%s)", k->value, masked);
    break;
  case QCC_KEY_LITERAL:
    snprintf(buf, cap, "literal key in the config (%s)", masked);
    break;
  default:
    snprintf(buf, cap, "no key");
  }
  explicit_bzero(filebuf, sizeof filebuf);
}

static int endpoint_list(struct ctx *c) {
  if (c->o.npos > 2)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc endpoint list [PROFILE]");
  const char *only = c->o.npos == 2 ? c->o.pos[1] : NULL;
  int rc = load(c, true);
  if (rc != 0)
    return rc;
  const struct qcc_config *cfg = current(c, true);
  if (!cfg)
    return fail(c, QCCC_EDIT_INVALID, "%s does not validate (see above)", c->path);
  bool found = only == NULL;
  /* GROUP and PRIO only with --wide: the rest fits 100 columns (BASE_URL
   * cut first), like the live listing */
  bool wide = c->o.wide;
  struct qccc_texttable t = {.cols = wide ? 8 : 6, .cut_first = wide ? 4 : 3};
  if (wide) {
    t.right[5] = t.right[6] = true;
    qccc_texttable_row(&t, "PROFILE", "GROUP", "ID", "BASE_URL", "KEY", "WEIGHT", "PRIO", "ENABLED");
  } else {
    t.right[4] = true;
    qccc_texttable_row(&t, "PROFILE", "ID", "BASE_URL", "KEY", "WEIGHT", "ENABLED");
  }
  for (size_t i = 0; i < cfg->profile_count; i++) {
    const struct qcc_profile_cfg *p = &cfg->profiles[i];
    if (only && strcmp(only, p->name) != 0)
      continue;
    found = true;
    for (size_t j = 0; j < p->endpoint_count; j++) {
      const struct qcc_endpoint_cfg *ep = &p->endpoints[j];
      char key[300], w[16], pr[16];
      if (ep->key.kind == QCC_KEY_ENV || ep->key.kind == QCC_KEY_FILE)
        snprintf(key, sizeof key, "%s:%s", qcc_enum_name(&qcc_key_desc, ep->key.kind),
                 ep->key.value);
      else
        snprintf(key, sizeof key, "%s", qcc_enum_name(&qcc_key_desc, ep->key.kind));
      snprintf(w, sizeof w, "%u", ep->weight);
      snprintf(pr, sizeof pr, "%u", ep->priority);
      const char *en = ep->enabled && p->enabled ? "yes" : "no";
      if (wide)
        qccc_texttable_row(&t, p->name, qcc_enum_name(&qcc_group_desc, p->group), ep->id,
                           ep->base_url ? ep->base_url : "-", key, w, pr, en);
      else
        qccc_texttable_row(&t, p->name, ep->id, ep->base_url ? ep->base_url : "-", key, w, en);
    }
  }
  qccc_texttable_print(&t, c->out, "", wide ? 0 : 100);
  if (!found)
    return no_profile(c, only);
  return QCCC_EDIT_OK;
}

static int endpoint_remove(struct ctx *c) {
  if (c->o.npos != 2)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc endpoint remove ID");
  const char *id = c->o.pos[1];
  int rc = load(c, true);
  if (rc != 0)
    return rc;
  const char *prof = profile_of(c, id);
  const struct qcc_config *cfg = prof ? NULL : current(c, false);
  for (size_t i = 0; cfg && i < cfg->profile_count; i++)
    for (size_t j = 0; j < cfg->profiles[i].endpoint_count; j++)
      if (strcmp(cfg->profiles[i].endpoints[j].id, id) == 0 && cfg->profiles[i].pos.file)
        return fail(c, QCCC_EDIT_USAGE, "endpoint %s is defined in %s; edit it there (-c %s)", id,
                    cfg->profiles[i].pos.file, cfg->profiles[i].pos.file);
  if (!prof) {
    const char **ids = calloc(MAX_NAMES, sizeof *ids);
    size_t n = ids ? all_ids(c, ids, MAX_NAMES) : 0;
    const char *hint = closest(id, ids, n);
    if (hint)
      rc = fail(c, QCCC_EDIT_USAGE, "no endpoint \"%s\" in %s; did you mean \"%s\"?", id, c->path,
                hint);
    else
      rc = fail(c, QCCC_EDIT_USAGE,
                "no endpoint \"%s\" in %s (an included file's endpoints are "
                "edited in that file)",
                id, c->path);
    free(ids);
    return rc;
  }
  char pname[256], what[600];
  snprintf(pname, sizeof pname, "%s", prof);
  snprintf(what, sizeof what, "Remove endpoint %s from profile %s in %s", id, pname, c->path);
  rc = ask_remove(c, what);
  if (rc != QCCC_EDIT_OK)
    return rc;
  const char *path[] = {"profiles", pname, "endpoints", id};
  struct qcc_err e = {0};
  if (qcc_yamldoc_remove(c->doc, path, 4, &e) != 0)
    return edit_failed(c, NULL, &e);
  snprintf(what, sizeof what, "endpoint %s removed from profile %s", id, pname);
  return commit(c, what);
}

/* What the new endpoint will be. */
struct newep {
  char *profile;
  char *id;
  char *from;
  char *base_url;
  enum qcc_key_kind key_kind; /* NONE with from: (inherited) */
  char *key_value;            /* env name or file path */
  bool auth_set;
  enum qcc_auth_style auth;
  const struct qcc_preset *preset;
  bool weight_set, prio_set;
  uint32_t weight, prio;
  char *timeout;
};

static void newep_free(struct newep *n) {
  free(n->profile);
  free(n->id);
  free(n->from);
  free(n->base_url);
  free(n->key_value);
  free(n->timeout);
}

static bool check_url(const char *s, char *why, size_t cap, void *ctx) {
  (void)ctx;
  const char *rest = strncmp(s, "https://", 8) == 0  ? s + 8
                     : strncmp(s, "http://", 7) == 0 ? s + 7
                                                     : NULL;
  if (rest && rest[0] && rest[0] != '/' && !strpbrk(s, " \t"))
    return true;
  snprintf(why, cap, "a base URL looks like https://host[:port][/path]");
  return false;
}

static bool check_env(const char *s, char *why, size_t cap, void *ctx) {
  (void)ctx;
  if (good_env(s))
    return true;
  snprintf(why, cap, "an environment variable name has letters, digits and '_' only");
  return false;
}

static bool check_id(const char *s, char *why, size_t cap, void *ctx) {
  struct ctx *c = ctx;
  if (!good_name(s)) {
    snprintf(why, cap, "use letters, digits, '-' and '_' only");
    return false;
  }
  if (id_taken(c, s)) {
    snprintf(why, cap, "endpoint id %s is already used (ids are unique across the config)", s);
    return false;
  }
  return true;
}

static bool check_path(const char *s, char *why, size_t cap, void *ctx) {
  (void)ctx;
  if (s[0] == '/' || s[0] == '~')
    return true;
  snprintf(why, cap, "give an absolute path (or one starting with ~/)");
  return false;
}

/* "~/x" -> "$HOME/x" (qcc-run may run in another directory). */
static char *expand_home(const char *p) {
  const char *home = getenv("HOME");
  if (p[0] == '~' && p[1] == '/' && home && home[0]) {
    size_t n = strlen(home) + strlen(p);
    char *r = malloc(n);
    if (r)
      snprintf(r, n, "%s%s", home, p + 1);
    return r;
  }
  return strdup(p);
}

#define ASK(call)                                                                                  \
  do {                                                                                             \
    int ask_rc_ = (call);                                                                          \
    if (ask_rc_ != 0)                                                                              \
      return ask_rc_ < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;                                  \
  } while (0)

/* How the new endpoint gets its key (asks on a terminal). */
static int ask_key(struct ctx *c, struct newep *n, const char *suggest_env) {
  const char *opts3[] = {
      "From an environment variable that you export (nothing stored)",
      "Type the key now; it is stored in a key file (mode 0600), not in the config",
      "From an existing key file",
  };
  size_t how;
  fprintf(c->out, "How does qcc-run get the API key?\n");
  ASK(qcc_prompt_choice(c->pr, "Key source", opts3, 3, 0, &how));
  if (how == 0) {
    char *env;
    ASK(qcc_prompt_text(c->pr, "Environment variable name", suggest_env, check_env, NULL, &env));
    n->key_kind = QCC_KEY_ENV;
    n->key_value = env;
    return 0;
  }
  if (how == 2) {
    char *p;
    ASK(qcc_prompt_text(c->pr, "Key file path", NULL, check_path, NULL, &p));
    n->key_kind = QCC_KEY_FILE;
    n->key_value = expand_home(p);
    free(p);
    return n->key_value ? 0 : QCCC_EDIT_USAGE;
  }
  char *secret = NULL;
  ASK(qcc_prompt_secret(c->pr, "API key", &secret));
  const char *store[] = {
      "Store it in a key file (recommended)",
      "Do not store it; reference an environment variable that you set yourself",
  };
  size_t where;
  int rc = qcc_prompt_choice(c->pr, "Where should the key live", store, 2, 0, &where);
  if (rc != 0) {
    qcc_prompt_wipe(&secret);
    return rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;
  }
  if (where == 1) {
    qcc_prompt_wipe(&secret); /* not kept anywhere */
    char *env;
    ASK(qcc_prompt_text(c->pr, "Environment variable name", suggest_env, check_env, NULL, &env));
    n->key_kind = QCC_KEY_ENV;
    n->key_value = env;
    fprintf(c->out, "Export %s with the key before starting qcc-run.\n", env);
    return 0;
  }
  char def[PATH_MAX];
  snprintf(def, sizeof def, "~/.qcc/keys/%s.key", n->id);
  char *p = NULL;
  for (;;) {
    rc = qcc_prompt_text(c->pr, "Key file (created with mode 0600)", def, check_path, NULL, &p);
    if (rc != 0) {
      qcc_prompt_wipe(&secret);
      return rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED;
    }
    char *full = expand_home(p);
    free(p);
    if (!full) {
      qcc_prompt_wipe(&secret);
      return QCCC_EDIT_USAGE;
    }
    if (access(full, F_OK) != 0) {
      n->key_kind = QCC_KEY_FILE;
      n->key_value = full;
      break;
    }
    fprintf(c->out, "  %s exists; choose another path (q to cancel)\n", full);
    free(full);
  }
  c->keyfile_path = strdup(n->key_value);
  c->secret = secret;
  return c->keyfile_path ? 0 : QCCC_EDIT_USAGE;
}

/* A prompt's result as an exit code: 0, CANCELLED or USAGE (I/O error). */
static int answered(int rc) { return rc == 0 ? 0 : rc < 0 ? QCCC_EDIT_USAGE : QCCC_EDIT_CANCELLED; }

/* "Reuse an existing endpoint": both kept -> from: ID; else an explicit
 * base_url with the source's key reference unless the key changes (then the
 * key is asked later, after the id). */
static int pick_reuse(struct ctx *c, const struct qcc_config *cfg, size_t existing,
                      struct newep *n) {
  const struct qcc_endpoint_cfg **eps = calloc(existing, sizeof *eps);
  char **lines = calloc(existing, sizeof *lines);
  size_t k = 0;
  for (size_t i = 0; eps && lines && i < cfg->profile_count; i++)
    for (size_t j = 0; j < cfg->profiles[i].endpoint_count && k < existing; j++) {
      const struct qcc_endpoint_cfg *ep = &cfg->profiles[i].endpoints[j];
      char key[400], line[1024];
      describe_key(&ep->key, key, sizeof key);
      snprintf(line, sizeof line, "%s (%s)  %s  key: %s", ep->id, cfg->profiles[i].name,
               ep->base_url ? ep->base_url : "-", key);
      eps[k] = ep;
      lines[k++] = strdup(line);
    }
  size_t pick = 0;
  int rc = -1;
  fprintf(c->out, "Existing endpoints:\n");
  if (k == existing)
    rc = qcc_prompt_choice(c->pr, "Reuse which endpoint", (const char *const *)lines, k, 0, &pick);
  for (size_t i = 0; lines && i < k; i++)
    free(lines[i]);
  free(lines);
  const struct qcc_endpoint_cfg *src = rc == 0 ? eps[pick] : NULL;
  free(eps);
  if (rc != 0)
    return answered(rc);
  char key[400];
  describe_key(&src->key, key, sizeof key);
  fprintf(c->out, "Selected %s\n  base_url: %s\n  key:      %s\n", src->id,
          src->base_url ? src->base_url : "-", key);
  bool chg_url = false, chg_key = false;
  rc = qcc_prompt_yesno(c->pr, "Change the base URL?", false, &chg_url);
  if (rc == 0)
    rc = qcc_prompt_yesno(c->pr, "Change the key?", false, &chg_key);
  if (rc != 0)
    return answered(rc);
  if (!chg_url && !chg_key) {
    n->from = strdup(src->id);
    return n->from ? 0 : QCCC_EDIT_USAGE;
  }
  if (chg_url)
    rc = qcc_prompt_text(c->pr, "Base URL", src->base_url, check_url, NULL, &n->base_url);
  else
    n->base_url = strdup(src->base_url ? src->base_url : "");
  if (rc != 0)
    return answered(rc);
  n->auth_set = true;
  n->auth = src->auth;
  if (!chg_key && (src->key.kind == QCC_KEY_ENV || src->key.kind == QCC_KEY_FILE)) {
    n->key_kind = src->key.kind;
    n->key_value = strdup(src->key.value);
  } else if (!chg_key) {
    fprintf(c->out, "%s has no key reference to copy; give one below.\n", src->id);
  }
  return 0;
}

/* "Type a new base URL and key": the URL and how the key is sent. */
static int pick_new(struct ctx *c, struct newep *n) {
  int rc = qcc_prompt_text(c->pr, "Base URL", "https://api.anthropic.com", check_url, NULL,
                           &n->base_url);
  if (rc != 0)
    return answered(rc);
  const char *auths[] = {"x-api-key header (Anthropic style)",
                         "Authorization: Bearer (ANTHROPIC_AUTH_TOKEN style)"};
  size_t a;
  rc = qcc_prompt_choice(c->pr, "How is the key sent", auths, 2, 0, &a);
  if (rc != 0)
    return answered(rc);
  n->auth_set = true;
  n->auth = a == 0 ? QCC_AUTH_X_API_KEY : QCC_AUTH_BEARER;
  return 0;
}

/* "Quick setup from a provider preset". */
static int pick_preset(struct ctx *c, struct newep *n) {
  size_t np = qcc_preset_count();
  char **lines = calloc(np, sizeof *lines);
  for (size_t i = 0; lines && i < np; i++) {
    char line[512];
    snprintf(line, sizeof line, "%-44s %s", qcc_preset_at(i)->title, qcc_preset_at(i)->base_url);
    lines[i] = strdup(line);
  }
  size_t pick = 0;
  fprintf(c->out, "Providers with an Anthropic-compatible endpoint:\n");
  int rc =
      lines ? qcc_prompt_choice(c->pr, "Provider", (const char *const *)lines, np, 0, &pick) : -1;
  for (size_t i = 0; lines && i < np; i++)
    free(lines[i]);
  free(lines);
  if (rc != 0)
    return answered(rc);
  n->preset = qcc_preset_at(pick);
  n->base_url = strdup(n->preset->base_url);
  return n->base_url ? 0 : QCCC_EDIT_USAGE;
}

/* The seed plan's first question and the details of the chosen way. */
static int ask_source(struct ctx *c, struct newep *n) {
  const struct qcc_config *cfg = current(c, false);
  size_t existing = 0;
  for (size_t i = 0; cfg && i < cfg->profile_count; i++)
    existing += cfg->profiles[i].endpoint_count;
  const char *methods[] = {
      "Reuse an existing endpoint (recommended)",
      "Type a new base URL and key",
      "Quick setup from a provider preset",
  };
  size_t method;
  fprintf(c->out, "How do you want to add the endpoint?\n");
  int rc = qcc_prompt_choice(c->pr, "Choose", existing ? methods : methods + 1, existing ? 3 : 2, 0,
                             &method);
  if (rc != 0)
    return answered(rc);
  if (!existing)
    method++;
  if (method == 0)
    return pick_reuse(c, cfg, existing, n);
  if (method == 1)
    return pick_new(c, n);
  return pick_preset(c, n);
}

/* Weight, priority, timeout: from flags, else asked on a terminal, else
 * left out (the documented defaults apply). */
static int ask_numbers(struct ctx *c, struct newep *n) {
  const struct opts *o = &c->o;
  const struct qcc_knob *kw = &qcc_knobs[QCC_K_EP_WEIGHT], *kp = &qcc_knobs[QCC_K_EP_PRIORITY];
  int rc = 0;
  if (o->weight) {
    n->weight_set = true;
    n->weight = (uint32_t)strtoul(o->weight, NULL, 10);
  } else if (c->tty) {
    rc = qcc_prompt_uint(c->pr, "Weight", 100, (uint32_t)kw->min, (uint32_t)kw->max, &n->weight);
    n->weight_set = rc == 0;
  }
  if (rc == 0 && o->priority) {
    n->prio_set = true;
    n->prio = (uint32_t)strtoul(o->priority, NULL, 10);
  } else if (rc == 0 && c->tty) {
    rc = qcc_prompt_uint(c->pr, "Priority (1 = first)", 1, (uint32_t)kp->min, (uint32_t)kp->max,
                         &n->prio);
    n->prio_set = rc == 0;
  }
  if (rc == 0 && o->timeout)
    n->timeout = strdup(o->timeout);
  else if (rc == 0 && c->tty)
    rc = qcc_prompt_text(c->pr, "Timeout", "30s", check_duration,
                         (void *)&qcc_knobs[QCC_K_EP_TIMEOUT], &n->timeout);
  return answered(rc);
}

/* The new list item as block YAML at column 0; -1 when it does not fit,
 * -2 when a value is not UTF-8 text. */
static int render_item(const struct newep *n, char *item, size_t cap) {
  size_t len = 0;
  bool bad = false;
#define ADD(...) len += (size_t)snprintf(item + len, len < cap ? cap - len : 0, __VA_ARGS__)
#define ADDQ(fmt, val, as_string)                                                                  \
  do {                                                                                             \
    char *q_ = qcc_yaml_scalar((val), (as_string));                                                \
    bad = bad || !q_; /* not UTF-8: never written as something else */                             \
    ADD(fmt, q_ ? q_ : "\"\"");                                                                    \
    free(q_);                                                                                      \
  } while (0)
  ADDQ("id: %s\n", n->id, true);
  if (n->from)
    ADDQ("from: %s\n", n->from, true);
  if (n->base_url)
    ADDQ("base_url: %s\n", n->base_url, true);
  if (n->key_kind == QCC_KEY_ENV)
    ADDQ("api_key_env: %s\n", n->key_value ? n->key_value : "", true);
  else if (n->key_kind == QCC_KEY_FILE)
    ADDQ("api_key_file: %s\n", n->key_value ? n->key_value : "", true);
  /* x-api-key is the default; write it only where it is a decision */
  if (n->auth_set && (n->auth != QCC_AUTH_X_API_KEY || n->preset || n->from))
    ADD("auth: %s\n", qcc_enum_name(&qcc_auth_desc, n->auth));
  if (n->weight_set)
    ADD("weight: %u\n", n->weight);
  if (n->prio_set)
    ADD("priority: %u\n", n->prio);
  if (n->timeout)
    ADDQ("timeout: %s\n", n->timeout, false);
  if (n->preset && n->preset->model_count) {
    ADD("models:\n");
    for (size_t i = 0; i < n->preset->model_count; i++) {
      char *a = qcc_yaml_scalar(n->preset->models[i].requested, true);
      char *b = qcc_yaml_scalar(n->preset->models[i].upstream, true);
      ADD("  %s: %s\n", a ? a : "\"\"", b ? b : "\"\"");
      free(a);
      free(b);
    }
  }
  if (n->preset)
    ADD("metadata:\n  provider: %s\n", n->preset->provider);
#undef ADDQ
#undef ADD
  return bad ? -2 : len < cap ? 0 : -1;
}

/* Show the item and ask before writing (terminal, no --yes). */
static int confirm_item(struct ctx *c, const struct newep *n, const char *item) {
  if (!c->tty || c->o.yes)
    return 0;
  fprintf(c->out, "\nNew endpoint in profile %s:\n", n->profile);
  for (const char *p = item; *p;) {
    const char *nl = strchr(p, '\n');
    size_t l = nl ? (size_t)(nl - p) : strlen(p);
    fprintf(c->out, "    %.*s\n", (int)l, p);
    p += l + (nl ? 1 : 0);
  }
  if (c->secret)
    fprintf(c->out, "  (the key you typed goes to %s, mode 0600; never into %s)\n", c->keyfile_path,
            c->path);
  bool ok = false;
  char q[PATH_MAX + 32];
  snprintf(q, sizeof q, "Write it to %s?", c->path);
  int rc = qcc_prompt_yesno(c->pr, q, true, &ok);
  if (rc != 0)
    return answered(rc);
  return ok ? 0 : QCCC_EDIT_CANCELLED;
}

/* Flags that are wrong whatever the config says. */
static int check_add_flags(struct ctx *c, struct newep *n) {
  const struct opts *o = &c->o;
  char why[256];
  if (o->npos > 2)
    return fail(c, QCCC_EDIT_USAGE, "usage: qccc endpoint add PROFILE [options]");
  if (!!o->from + !!o->base_url + !!o->preset > 1)
    return fail(c, QCCC_EDIT_USAGE, "give only one of --from, --base-url and --preset");
  if (o->key_env && o->key_file)
    return fail(c, QCCC_EDIT_USAGE, "give only one of --key-env and --key-file");
  if (o->key_env && !good_env(o->key_env))
    return fail(c, QCCC_EDIT_USAGE, "--key-env %s: not an environment variable name", o->key_env);
  if (o->key_file && !check_path(o->key_file, why, sizeof why, NULL))
    return fail(c, QCCC_EDIT_USAGE, "--key-file %s: give an absolute path", o->key_file);
  if (o->id && !good_name(o->id))
    return fail(c, QCCC_EDIT_USAGE, "--id %s: use letters, digits, '-' and '_' only", o->id);
  if (o->base_url && !check_url(o->base_url, why, sizeof why, NULL))
    return fail(c, QCCC_EDIT_USAGE, "--base-url %s: expected https://host[:port][/path]",
                o->base_url);
  unsigned v;
  if (o->auth) {
    if (!qcc_enum_parse(&qcc_auth_desc, o->auth, &v))
      return fail(c, QCCC_EDIT_USAGE, "--auth %s: expected x-api-key or bearer", o->auth);
    n->auth_set = true;
    n->auth = (enum qcc_auth_style)v;
  }
  if (o->preset) {
    n->preset = qcc_preset_find(o->preset);
    if (!n->preset) {
      const char *names[64];
      char known[512] = "";
      size_t np = qcc_preset_count();
      for (size_t i = 0; i < np && i < 64; i++) {
        names[i] = qcc_preset_at(i)->name;
        size_t kl = strlen(known);
        snprintf(known + kl, sizeof known - kl, "%s%s", i ? ", " : "", names[i]);
      }
      const char *hint = closest(o->preset, names, np < 64 ? np : 64);
      if (hint)
        return fail(c, QCCC_EDIT_USAGE, "unknown preset \"%s\"; did you mean \"%s\"? (known: %s)",
                    o->preset, hint, known);
      return fail(c, QCCC_EDIT_USAGE, "unknown preset \"%s\" (known: %s)", o->preset, known);
    }
  }
  int rc = 0;
  if (o->weight)
    rc = flag_value(c, "--weight", o->weight, QCC_K_EP_WEIGHT);
  if (rc == 0 && o->priority)
    rc = flag_value(c, "--priority", o->priority, QCC_K_EP_PRIORITY);
  if (rc == 0 && o->timeout)
    rc = flag_value(c, "--timeout", o->timeout, QCC_K_EP_TIMEOUT);
  return rc;
}

/* The profile to add to: the argument, or chosen from a list on a terminal. */
static int pick_profile(struct ctx *c, struct newep *n) {
  if (c->o.npos == 2) {
    if (!has_profile(c, c->o.pos[1]))
      return no_profile(c, c->o.pos[1]);
    n->profile = strdup(c->o.pos[1]);
    return n->profile ? 0 : QCCC_EDIT_USAGE;
  }
  if (!c->tty)
    return fail(c, QCCC_EDIT_USAGE, "missing PROFILE: qccc endpoint add PROFILE [options]");
  const char **names = calloc(MAX_NAMES, sizeof *names);
  size_t np = names ? profile_names(c, names) : 0;
  if (np == 0) {
    free(names);
    return fail(c, QCCC_EDIT_USAGE, "%s has no profile yet: `qccc profile add NAME` first",
                c->path);
  }
  size_t pick;
  int rc = qcc_prompt_choice(c->pr, "Add the endpoint to which profile", names, np, 0, &pick);
  if (rc == 0)
    n->profile = strdup(names[pick]);
  free(names);
  return answered(rc);
}

/* The endpoint id: --id, else asked on a terminal (default PROFILE-N), else
 * PROFILE-N. */
static int pick_id(struct ctx *c, struct newep *n) {
  if (c->o.id) {
    if (id_taken(c, c->o.id))
      return fail(c, QCCC_EDIT_USAGE, "--id %s: that endpoint id is already used", c->o.id);
    n->id = strdup(c->o.id);
    return n->id ? 0 : QCCC_EDIT_USAGE;
  }
  char def[300];
  for (unsigned i = 1; i < 100000; i++) {
    snprintf(def, sizeof def, "%s-%u", n->profile, i);
    if (!id_taken(c, def))
      break;
  }
  if (!c->tty) {
    n->id = strdup(def);
    return n->id ? 0 : QCCC_EDIT_USAGE;
  }
  return answered(qcc_prompt_text(c->pr, "Endpoint id", def, check_id, c, &n->id));
}

static int endpoint_add(struct ctx *c) {
  const struct opts *o = &c->o;
  struct newep n = {0};
  bool sourced = o->from || o->base_url || o->preset;
  int rc = check_add_flags(c, &n);
  if (rc == 0)
    rc = load(c, true);
  if (rc == 0)
    rc = pick_profile(c, &n);
  if (rc == 0 && !sourced && !c->tty)
    rc = fail(c, QCCC_EDIT_USAGE,
              "missing --from ID, --base-url URL or --preset NAME (not on a terminal, so "
              "nothing is asked)");
  if (rc == 0 && (o->base_url || o->preset) && !o->key_env && !o->key_file && !c->tty)
    rc = fail(c, QCCC_EDIT_USAGE,
              "missing --key-env NAME or --key-file PATH (keys are never written into the "
              "config; not on a terminal, so nothing is asked)");
  if (rc == 0 && o->from)
    n.from = strdup(o->from);
  else if (rc == 0 && o->base_url)
    n.base_url = strdup(o->base_url);
  else if (rc == 0 && o->preset)
    n.base_url = strdup(n.preset->base_url);
  else if (rc == 0)
    rc = ask_source(c, &n);
  if (rc == 0)
    rc = pick_id(c, &n);
  if (rc == 0 && n.preset && !n.auth_set) {
    n.auth_set = true;
    n.auth = n.preset->auth;
  }
  /* the key reference: flags win over what a reused endpoint had */
  if (rc == 0 && (o->key_env || o->key_file)) {
    free(n.key_value);
    n.key_kind = o->key_env ? QCC_KEY_ENV : QCC_KEY_FILE;
    n.key_value = o->key_env ? strdup(o->key_env) : expand_home(o->key_file);
  } else if (rc == 0 && !n.from && n.key_kind == QCC_KEY_NONE) {
    rc = ask_key(c, &n, n.preset ? n.preset->key_env : "ANTHROPIC_API_KEY");
  }
  if (rc == 0)
    rc = ask_numbers(c, &n);
  char item[16384];
  int ri = rc == 0 ? render_item(&n, item, sizeof item) : 0;
  if (ri != 0)
    rc = fail(c, QCCC_EDIT_USAGE,
              ri == -2 ? "a value is not valid UTF-8 text; nothing was changed"
                       : "endpoint too large");
  if (rc == 0)
    rc = confirm_item(c, &n, item);
  if (rc == 0) {
    const char *path[] = {"profiles", n.profile, "endpoints"};
    struct qcc_err e = {0};
    if (qcc_yamldoc_append(c->doc, path, 3, item, &e) != 0) {
      rc = edit_failed(c, NULL, &e);
    } else {
      char what[600];
      snprintf(what, sizeof what, "endpoint %s added to profile %s", n.id, n.profile);
      rc = commit(c, what);
    }
  }
  if (rc == QCCC_EDIT_CANCELLED)
    fprintf(c->out, "cancelled; %s unchanged\n", c->path);
  newep_free(&n);
  return rc;
}

/* ---- dispatch ---- */

struct sub {
  const char *cmd, *sub;
  unsigned mask;
  int (*fn)(struct ctx *);
};

static const struct sub subs[] = {
    {"endpoint", "add", C_EP_ADD, endpoint_add},
    {"endpoint", "remove", C_EP_REMOVE, endpoint_remove},
    {"endpoint", "list", C_EP_LIST, endpoint_list},
    {"profile", "add", C_PROF_ADD, profile_add},
    {"profile", "remove", C_PROF_REMOVE, profile_remove},
    {"priority", "set", C_PRIO, priority_set},
    {"policy", NULL, C_POLICY, policy},
    {"config", "get", C_CONFIG, config_get},
    {"config", "set", C_CONFIG, config_set},
    {"config", "list", C_CONFIG, config_list},
    {"config", "reset", C_CONFIG, config_reset},
    {"config", "export", C_CONFIG, config_export},
    {"config", "import", C_CONFIG, config_import},
    {"config", "validate", C_CONFIG, config_validate},
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
    return fail(&c, QCCC_EDIT_USAGE, "out of memory");
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
