/* The editing commands (compiler/editcmd.h): `qccc config get / set / list /
 * reset / export / import / validate`. */
#include "editcmd.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "editctx.h"
#include "schema/fileio.h"

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
         k == QCC_KNOB_STRING || k == QCC_KNOB_ENUM || k == QCC_KNOB_DECIMAL;
}

/* Map a dotted path with item names ("profiles.prod.endpoints.e1.weight")
 * onto the knob table ("profiles[].endpoints[].weight"). */
static int resolve_key(struct ctx *c, const char *dotted, struct keyref *r) {
  memset(r, 0, sizeof *r);
  r->n = qcc_path_split(dotted, r->buf, sizeof r->buf, r->segs, MAX_SEGS);
  if (r->n == 0)
    return ed_fail(c, QCCC_EDIT_USAGE, "\"%s\" is not a key path (like proxy.port)", dotted);
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
      const char *hint = ed_closest(r->segs[i], kids, nk);
      char prefix[512] = "";
      for (size_t j = 0; j < i; j++) {
        size_t pl = strlen(prefix);
        snprintf(prefix + pl, sizeof prefix - pl, "%s.", r->segs[j]);
      }
      if (hint)
        return ed_fail(c, QCCC_EDIT_USAGE, "unknown key \"%s\"; did you mean \"%s%s\"?", dotted,
                    prefix, hint);
      return ed_fail(c, QCCC_EDIT_USAGE, "unknown key \"%s\" (`qccc config list` shows the keys)",
                  dotted);
    }
    r->knob = k;
    r->on_item = false;
    snprintf(norm, sizeof norm, "%s", cand);
    if (k->kind == QCC_KNOB_DICT && i + 3 < r->n) {
      /* A model name may hold dots (glm-4.6): the name is every segment
       * between "pricing" and the last one, which is the kind. */
      for (size_t j = i + 2; j + 1 < r->n; j++) ((char *)r->segs[j])[-1] = '.';
      r->segs[i + 2] = r->segs[r->n - 1];
      r->n = i + 3;
    }
    if ((k->kind == QCC_KNOB_LIST || k->kind == QCC_KNOB_DICT) && i + 1 < r->n) {
      i++; /* the item's name (a dict's key: pricing.MODEL.input) */
      r->on_item = true;
      r->last_item = i + 1;
      size_t nl = strlen(norm);
      snprintf(norm + nl, sizeof norm - nl, k->kind == QCC_KNOB_LIST ? "[]" : "{}");
    }
  }
  return 0;
}

static int need_scalar(struct ctx *c, const struct keyref *r, const char *dotted) {
  if (r->map_entry || (r->knob && scalar_kind(r->knob->kind) && !r->on_item))
    return 0;
  return ed_fail(c, QCCC_EDIT_USAGE,
              "%s is a %s, not a single value; name one of its keys (`qccc config list`)", dotted,
              r->on_item ? "list item" : "section or list");
}

int ed_config_get(struct ctx *c) {
  if (c->o.npos != 2)
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc config get KEY");
  const char *key = c->o.pos[1];
  struct keyref r;
  int rc = resolve_key(c, key, &r);
  if (rc == 0)
    rc = need_scalar(c, &r, key);
  if (rc == 0)
    rc = ed_load(c, true);
  if (rc != 0)
    return rc;
  if (r.knob && (r.knob->flags & QCC_KF_SECRET))
    return ed_fail(c, QCCC_EDIT_USAGE, "%s holds a secret and is never shown", key);
  char *v = NULL;
  enum qcc_ynode_kind k = qcc_yamldoc_get(c->doc, r.segs, r.n, &v);
  if (k == QCC_YNODE_SCALAR) {
    fprintf(c->out, "%s\n", v ? v : "");
    free(v);
    return QCCC_EDIT_OK;
  }
  if (k != QCC_YNODE_NONE)
    return ed_fail(c, QCCC_EDIT_INVALID, "%s is not a single value in %s", key, c->path);
  if (r.last_item && qcc_yamldoc_get(c->doc, r.segs, r.last_item, NULL) == QCC_YNODE_NONE)
    return ed_fail(c, QCCC_EDIT_USAGE, "no \"%s\" under %s in %s", r.segs[r.last_item - 1],
                r.segs[r.last_item - 2], c->path);
  const struct qcc_knob *from = r.knob ? qcc_knob_inherits(r.knob) : NULL;
  char buf[1024];
  const char *def = from   ? ed_current_value(c, from->id, buf, sizeof buf)
                    : r.knob ? r.knob->def
                             : NULL;
  /* Unset and no default: the empty value, as `qccc show` prints it. */
  fprintf(c->out, "%s\n", def ? def : "");
  return QCCC_EDIT_OK;
}

int ed_config_set(struct ctx *c) {
  if (c->o.npos != 3)
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc config set KEY VALUE");
  const char *key = c->o.pos[1], *val = c->o.pos[2];
  struct keyref r;
  int rc = resolve_key(c, key, &r);
  if (rc == 0)
    rc = need_scalar(c, &r, key);
  if (rc != 0)
    return rc;
  if (r.knob && (r.knob->flags & QCC_KF_SECRET))
    return ed_fail(c, QCCC_EDIT_USAGE,
                "refusing to write a secret into the config: use api_key_env (an environment "
                "variable) or api_key_file (a file, mode 0600) instead");
  if (r.knob && r.knob->kind != QCC_KNOB_STRING && val[0] == '\0')
    return ed_fail(c, QCCC_EDIT_USAGE,
                "%s needs a value (`qccc config reset %s` restores the default)", key, key);
  rc = ed_load(c, true);
  if (rc != 0)
    return rc;
  bool as_string = r.map_entry || r.knob->kind == QCC_KNOB_STRING;
  char *scalar = qcc_yaml_scalar(val, as_string);
  if (!scalar)
    return ed_fail(c, QCCC_EDIT_USAGE, "out of memory");
  struct qcc_err e = {0};
  rc = qcc_yamldoc_set(c->doc, r.segs, r.n, scalar, &e);
  free(scalar);
  if (rc != 0)
    return ed_edit_failed(c, key, &e);
  char what[600];
  snprintf(what, sizeof what, "%s set", key);
  return ed_commit(c, what);
}

static bool global_scalar(const struct qcc_knob *k) {
  return scalar_kind(k->kind) && !strchr(k->path, '[') && k->id != QCC_K_VERSION;
}

/* Knob I into R (its knob and path segments) when it is a global scalar:
 * what list and reset walk. */
static bool global_knob_at(size_t i, struct keyref *r) {
  memset(r, 0, sizeof *r);
  r->knob = &qcc_knobs[i];
  if (!global_scalar(r->knob))
    return false;
  r->n = qcc_path_split(r->knob->path, r->buf, sizeof r->buf, r->segs, MAX_SEGS);
  return true;
}

int ed_config_list(struct ctx *c) {
  if (c->o.npos != 1)
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc config list");
  int rc = ed_load(c, true);
  if (rc != 0)
    return rc;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    struct keyref g;
    if (!global_knob_at(i, &g))
      continue;
    const struct qcc_knob *k = g.knob;
    char *v = NULL;
    enum qcc_ynode_kind kind = qcc_yamldoc_get(c->doc, g.segs, g.n, &v);
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

int ed_config_reset(struct ctx *c) {
  if (c->o.npos > 2)
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc config reset [KEY]");
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
      return ed_fail(c, QCCC_EDIT_USAGE, "%s is required and has no default to reset to", key);
    rc = ed_load(c, true);
    if (rc != 0)
      return rc;
    if (qcc_yamldoc_get(c->doc, r.segs, r.n, NULL) == QCC_YNODE_NONE) {
      fprintf(c->out, "%s is not set in %s; it already has its default\n", key, c->path);
      return QCCC_EDIT_OK;
    }
    if (qcc_yamldoc_remove(c->doc, r.segs, r.n, &e) != 0)
      return ed_edit_failed(c, key, &e);
    char what[600];
    if (r.knob && qcc_knob_inherits(r.knob))
      snprintf(what, sizeof what, "%s reset to its default (as %s)", key, r.knob->def + 1);
    else if (r.knob && r.knob->def)
      snprintf(what, sizeof what, "%s reset to its default (%s)", key, r.knob->def);
    else
      snprintf(what, sizeof what, "%s removed (no default)", key);
    return ed_commit(c, what);
  }
  rc = ed_load(c, true);
  if (rc != 0)
    return rc;
  if (!c->o.yes) {
    if (!c->tty)
      return ed_fail(c, QCCC_EDIT_USAGE, "resetting every setting needs --yes when not on a terminal");
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
    struct keyref g;
    if (!global_knob_at(i, &g))
      continue;
    if (qcc_yamldoc_get(c->doc, g.segs, g.n, NULL) != QCC_YNODE_SCALAR)
      continue;
    if (qcc_yamldoc_remove(c->doc, g.segs, g.n, &e) != 0)
      return ed_edit_failed(c, g.knob->path, &e);
    removed++;
  }
  char what[64];
  snprintf(what, sizeof what, "%zu setting%s reset to default", removed, removed == 1 ? "" : "s");
  return ed_commit(c, what);
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
int ed_config_export(struct ctx *c) {
  if (c->o.npos != 2)
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc config export FILE");
  const char *dest = c->o.pos[1];
  int rc = ed_load(c, true);
  if (rc != 0)
    return rc;
  if (!ed_current(c, true))
    return ed_fail(c, QCCC_EDIT_INVALID, "%s does not validate; fix it before exporting", c->path);
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
      return ed_edit_failed(c, k->path, &e);
  }
  const char **names = calloc(MAX_NAMES, sizeof *names);
  const char **ids = calloc(MAX_NAMES, sizeof *ids);
  if (!names || !ids) {
    free(names);
    free(ids);
    return ed_fail(c, QCCC_EDIT_USAGE, "out of memory");
  }
  size_t np = ed_profile_names(c, names);
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
        return ed_edit_failed(c, id, &e);
      }
      fprintf(c->err,
              "qccc config export: endpoint %s has a literal api_key; exported as "
              "api_key_env: %s (set that variable)\n",
              id, var);
      /* the profile/endpoint names point into the old tree: refresh */
      np = ed_profile_names(c, names);
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
      return ed_edit_failed(c, "auth_tokens", &e);
    fprintf(c->err, "qccc config export: auth token %u is literal; exported as env: %s\n", t, var);
  }
  size_t len;
  const char *text = qcc_yamldoc_text(c->doc, &len);
  if (qcc_file_replace(dest, text, len, 0644, &e) != 0)
    return ed_fail(c, QCCC_EDIT_USAGE, "%s", e.msg);
  fprintf(c->out, "%s: exported %s with defaults written out and keys as references\n", dest,
          c->path);
  return QCCC_EDIT_OK;
}

int ed_config_import(struct ctx *c) {
  if (c->o.npos != 2)
    return ed_fail(c, QCCC_EDIT_USAGE, "usage: qccc config import FILE");
  const char *src = c->o.pos[1];
  int rc = ed_load(c, false);
  if (rc != 0)
    return rc;
  char *text = NULL;
  size_t len = 0;
  struct qcc_err e = {0};
  if (ed_read_file(src, &text, &len, NULL, &e) != 0)
    return ed_fail(c, QCCC_EDIT_USAGE, "%s", e.msg);
  rc = ed_validate(c, src, src, false, NULL);
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
    return ed_fail(c, QCCC_EDIT_INVALID, "%s:%s", src, e.msg);
  qcc_yamldoc_free(&c->doc);
  c->doc = nd;
  char what[PATH_MAX + 32];
  snprintf(what, sizeof what, "imported from %s", src);
  return ed_commit(c, what);
}

int ed_config_validate(struct ctx *c) {
  int rc = ed_validate(c, c->path, c->path, false, NULL);
  if (rc == 0)
    fprintf(c->out, "%s: valid\n", c->path);
  return rc;
}
