/* The editing commands (compiler/editcmd.h): `qccc endpoint add / remove /
 * list` (the config listing); commit() and the names in editcmd.c. */
#include "editcmd.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "editctx.h"
#include "presets.h"
#include "texttable.h"

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

int ed_endpoint_list(struct ctx *c) {
  if (c->o.npos > 2)
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc endpoint list [PROFILE]");
  const char *only = c->o.npos == 2 ? c->o.pos[1] : NULL;
  int rc = ed_load(c, true);
  if (rc != 0)
    return rc;
  const struct qcc_config *cfg = ed_current(c, true);
  if (!cfg)
    return ed_fail(c, QCCC_EDIT_INVALID, "%s does not validate (see above)", c->path);
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
    return ed_no_profile(c, only);
  return QCCC_EDIT_OK;
}

int ed_endpoint_remove(struct ctx *c) {
  if (c->o.npos != 2)
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc endpoint remove ID");
  const char *id = c->o.pos[1];
  int rc = ed_load(c, true);
  if (rc != 0)
    return rc;
  const char *prof = ed_profile_of(c, id);
  const struct qcc_config *cfg = prof ? NULL : ed_current(c, false);
  for (size_t i = 0; cfg && i < cfg->profile_count; i++)
    for (size_t j = 0; j < cfg->profiles[i].endpoint_count; j++)
      if (strcmp(cfg->profiles[i].endpoints[j].id, id) == 0 && cfg->profiles[i].pos.file)
        return ed_fail(c, QCCC_EDIT_USAGE, "endpoint %s is defined in %s; edit it there (-c %s)", id,
                    cfg->profiles[i].pos.file, cfg->profiles[i].pos.file);
  if (!prof) {
    const char **ids = calloc(MAX_NAMES, sizeof *ids);
    size_t n = ids ? ed_all_ids(c, ids, MAX_NAMES) : 0;
    const char *hint = ed_closest(id, ids, n);
    if (hint)
      rc = ed_fail(c, QCCC_EDIT_USAGE, "no endpoint \"%s\" in %s; did you mean \"%s\"?", id, c->path,
                hint);
    else
      rc = ed_fail(c, QCCC_EDIT_USAGE,
                "no endpoint \"%s\" in %s (an included file's endpoints are "
                "edited in that file)",
                id, c->path);
    free(ids);
    return rc;
  }
  char pname[256], what[600];
  snprintf(pname, sizeof pname, "%s", prof);
  snprintf(what, sizeof what, "Remove endpoint %s from profile %s in %s", id, pname, c->path);
  rc = ed_ask_remove(c, what);
  if (rc != QCCC_EDIT_OK)
    return rc;
  const char *path[] = {"profiles", pname, "endpoints", id};
  struct qcc_err e = {0};
  if (qcc_yamldoc_remove(c->doc, path, 4, &e) != 0)
    return ed_edit_failed(c, NULL, &e);
  snprintf(what, sizeof what, "endpoint %s removed from profile %s", id, pname);
  return ed_commit(c, what);
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
  if (ed_good_env(s))
    return true;
  snprintf(why, cap, "an environment variable name has letters, digits and '_' only");
  return false;
}

static bool check_id(const char *s, char *why, size_t cap, void *ctx) {
  struct ctx *c = ctx;
  if (!ed_good_name(s)) {
    snprintf(why, cap, "use letters, digits, '-' and '_' only");
    return false;
  }
  if (ed_id_taken(c, s)) {
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
  const struct qcc_config *cfg = ed_current(c, false);
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
    rc = qcc_prompt_text(c->pr, "Timeout", "30s", ed_check_duration,
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
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc endpoint add PROFILE [options]");
  if (!!o->from + !!o->base_url + !!o->preset > 1)
    return ed_fail(c, QCCC_EDIT_USAGE, "give only one of --from, --base-url and --preset");
  if (o->key_env && o->key_file)
    return ed_fail(c, QCCC_EDIT_USAGE, "give only one of --key-env and --key-file");
  if (o->key_env && !ed_good_env(o->key_env))
    return ed_fail(c, QCCC_EDIT_USAGE, "--key-env %s: not an environment variable name", o->key_env);
  if (o->key_file && !check_path(o->key_file, why, sizeof why, NULL))
    return ed_fail(c, QCCC_EDIT_USAGE, "--key-file %s: give an absolute path", o->key_file);
  if (o->id && !ed_good_name(o->id))
    return ed_fail(c, QCCC_EDIT_USAGE, "--id %s: use letters, digits, '-' and '_' only", o->id);
  if (o->base_url && !check_url(o->base_url, why, sizeof why, NULL))
    return ed_fail(c, QCCC_EDIT_USAGE, "--base-url %s: expected https://host[:port][/path]",
                o->base_url);
  unsigned v;
  if (o->auth) {
    if (!qcc_enum_parse(&qcc_auth_desc, o->auth, &v))
      return ed_fail(c, QCCC_EDIT_USAGE, "--auth %s: expected x-api-key or bearer", o->auth);
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
      const char *hint = ed_closest(o->preset, names, np < 64 ? np : 64);
      if (hint)
        return ed_fail(c, QCCC_EDIT_USAGE, "unknown preset \"%s\"; did you mean \"%s\"? (known: %s)",
                    o->preset, hint, known);
      return ed_fail(c, QCCC_EDIT_USAGE, "unknown preset \"%s\" (known: %s)", o->preset, known);
    }
  }
  int rc = 0;
  if (o->weight)
    rc = ed_flag_value(c, "--weight", o->weight, QCC_K_EP_WEIGHT);
  if (rc == 0 && o->priority)
    rc = ed_flag_value(c, "--priority", o->priority, QCC_K_EP_PRIORITY);
  if (rc == 0 && o->timeout)
    rc = ed_flag_value(c, "--timeout", o->timeout, QCC_K_EP_TIMEOUT);
  return rc;
}

/* The profile to add to: the argument, or chosen from a list on a terminal. */
static int pick_profile(struct ctx *c, struct newep *n) {
  if (c->o.npos == 2) {
    if (!ed_has_profile(c, c->o.pos[1]))
      return ed_no_profile(c, c->o.pos[1]);
    n->profile = strdup(c->o.pos[1]);
    return n->profile ? 0 : QCCC_EDIT_USAGE;
  }
  if (!c->tty)
    return ed_fail(c, QCCC_EDIT_USAGE, "missing PROFILE: qccc endpoint add PROFILE [options]");
  const char **names = calloc(MAX_NAMES, sizeof *names);
  size_t np = names ? ed_profile_names(c, names) : 0;
  if (np == 0) {
    free(names);
    return ed_fail(c, QCCC_EDIT_USAGE, "%s has no profile yet: `qccc profile add NAME` first",
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
    if (ed_id_taken(c, c->o.id))
      return ed_fail(c, QCCC_EDIT_USAGE, "--id %s: that endpoint id is already used", c->o.id);
    n->id = strdup(c->o.id);
    return n->id ? 0 : QCCC_EDIT_USAGE;
  }
  char def[300];
  for (unsigned i = 1; i < 100000; i++) {
    snprintf(def, sizeof def, "%s-%u", n->profile, i);
    if (!ed_id_taken(c, def))
      break;
  }
  if (!c->tty) {
    n->id = strdup(def);
    return n->id ? 0 : QCCC_EDIT_USAGE;
  }
  return answered(qcc_prompt_text(c->pr, "Endpoint id", def, check_id, c, &n->id));
}

int ed_endpoint_add(struct ctx *c) {
  const struct opts *o = &c->o;
  struct newep n = {0};
  bool sourced = o->from || o->base_url || o->preset;
  int rc = check_add_flags(c, &n);
  if (rc == 0)
    rc = ed_load(c, true);
  if (rc == 0)
    rc = pick_profile(c, &n);
  if (rc == 0 && !sourced && !c->tty)
    rc = ed_fail(c, QCCC_EDIT_USAGE,
              "missing --from ID, --base-url URL or --preset NAME (not on a terminal, so "
              "nothing is asked)");
  if (rc == 0 && (o->base_url || o->preset) && !o->key_env && !o->key_file && !c->tty)
    rc = ed_fail(c, QCCC_EDIT_USAGE,
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
    rc = ed_fail(c, QCCC_EDIT_USAGE,
              ri == -2 ? "a value is not valid UTF-8 text; nothing was changed"
                       : "endpoint too large");
  if (rc == 0)
    rc = confirm_item(c, &n, item);
  if (rc == 0) {
    const char *path[] = {"profiles", n.profile, "endpoints"};
    struct qcc_err e = {0};
    if (qcc_yamldoc_append(c->doc, path, 3, item, &e) != 0) {
      rc = ed_edit_failed(c, NULL, &e);
    } else {
      char what[600];
      snprintf(what, sizeof what, "endpoint %s added to profile %s", n.id, n.profile);
      rc = ed_commit(c, what);
    }
  }
  if (rc == QCCC_EDIT_CANCELLED)
    fprintf(c->out, "cancelled; %s unchanged\n", c->path);
  newep_free(&n);
  return rc;
}
