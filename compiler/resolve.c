#include "resolve.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema/config_schema.h"

/* One endpoint in id order; seq keeps source order among equal ids so a
 * lookup finds the first definition. */
struct ep_ref {
  const char *id;
  size_t seq;
  struct qcc_endpoint_cfg *ep;
};

static int ref_cmp(const void *a, const void *b) {
  const struct ep_ref *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  if (c != 0) return c;
  return x->seq < y->seq ? -1 : (x->seq > y->seq ? 1 : 0);
}

static const struct ep_ref *ref_find(const struct ep_ref *v, size_t n, const char *id) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(v[mid].id, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && strcmp(v[lo].id, id) == 0 ? &v[lo] : NULL;
}

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p == NULL) abort();
  memcpy(p, s, n);
  return p;
}

/* "did you mean 'x'?" over NAMES, or NULL hint text when nothing is close. */
static bool nearest(const char *name, const char *const *names, size_t n, char *hint,
                    size_t cap) {
  const char *best = NULL;
  unsigned best_d = 255;
  for (size_t i = 0; i < n; i++) {
    if (names[i] == NULL) continue;
    unsigned dist = qcc_edit_distance(name, names[i]);
    if (dist < best_d) {
      best_d = dist;
      best = names[i];
    }
  }
  size_t len = strlen(name);
  unsigned limit = len <= 4 ? 1 : (len <= 8 ? 2 : 3);
  if (best == NULL || best_d > limit) return false;
  snprintf(hint, cap, "did you mean '%s'?", best);
  return true;
}

/* ---- profile_groups ------------------------------------------------------ */

static void resolve_groups(struct qcc_loaded *l, struct qcc_diags *d) {
  struct qcc_config *cfg = l->cfg;
  if (l->group_count == 0) return;
  /* For each profile, the group ref that placed it (or NULL). */
  const struct qcc_group_ref **placed = calloc(cfg->profile_count + 1, sizeof *placed);
  const char **names = calloc(cfg->profile_count + 1, sizeof *names);
  if (placed == NULL || names == NULL) abort();
  for (size_t i = 0; i < cfg->profile_count; i++) names[i] = cfg->profiles[i].name;
  for (size_t r = 0; r < l->group_count; r++) {
    const struct qcc_group_ref *g = &l->groups[r];
    const char *gname = qcc_enum_name(&qcc_group_desc, g->group);
    unsigned span = (unsigned)strlen(g->name);
    size_t idx = SIZE_MAX;
    for (size_t i = 0; i < cfg->profile_count && idx == SIZE_MAX; i++) {
      if (names[i] != NULL && strcmp(names[i], g->name) == 0) idx = i;
    }
    if (idx == SIZE_MAX) {
      char hint[512];
      if (!nearest(g->name, names, cfg->profile_count, hint, sizeof hint)) {
        size_t used = (size_t)snprintf(hint, sizeof hint, "defined profiles:");
        for (size_t i = 0; i < cfg->profile_count && used < sizeof hint; i++) {
          bool repeat = false;
          for (size_t j = 0; j < i && !repeat && names[i] != NULL; j++) {
            repeat = names[j] != NULL && strcmp(names[j], names[i]) == 0;
          }
          if (names[i] == NULL || repeat) continue;
          int n = snprintf(hint + used, sizeof hint - used, "%s %s", i == 0 ? "" : ",", names[i]);
          if (n < 0) break;
          used += (size_t)n;
        }
        if (cfg->profile_count == 0) snprintf(hint, sizeof hint, "no profile is defined");
      }
      qcc_diag_add(d, QCC_DIAG_ERROR, g->pos, span, hint,
                   "profile_groups.%s names '%s', which is not a profile", gname, g->name);
      continue;
    }
    struct qcc_profile_cfg *p = &cfg->profiles[idx];
    char hint[512];
    if (placed[idx] != NULL) {
      const struct qcc_group_ref *first = placed[idx];
      snprintf(hint, sizeof hint, "first listed at %s:%u:%u; list each profile once",
               first->pos.file, first->pos.line, first->pos.col);
      if (first->group == g->group) {
        qcc_diag_add(d, QCC_DIAG_ERROR, g->pos, span, hint,
                     "profile '%s' is listed twice in profile_groups.%s", g->name, gname);
      } else {
        qcc_diag_add(d, QCC_DIAG_ERROR, g->pos, span, hint,
                     "profile '%s' is listed in both profile_groups.%s and profile_groups.%s",
                     g->name, qcc_enum_name(&qcc_group_desc, first->group), gname);
      }
      continue;
    }
    placed[idx] = g;
    if (p->group_pos.line != 0 && p->group != g->group) {
      snprintf(hint, sizeof hint, "its priority is set at %s:%u:%u; make the two agree",
               p->group_pos.file, p->group_pos.line, p->group_pos.col);
      qcc_diag_add(d, QCC_DIAG_ERROR, g->pos, span, hint,
                   "profile_groups.%s lists '%s', but that profile has priority: %s", gname,
                   g->name, qcc_enum_name(&qcc_group_desc, p->group));
      continue;
    }
    p->group = g->group;
  }
  free(placed);
  free(names);
}

/* ---- from: --------------------------------------------------------------- */

enum { ST_NEW, ST_VISITING, ST_OK, ST_FAILED };

/* Copy what `from:` reuses, unless the endpoint gives it itself. */
static void inherit(struct qcc_endpoint_cfg *dst, const struct qcc_endpoint_cfg *src) {
  if ((dst->set_mask & QCC_EP_SET_BASE_URL) == 0 && dst->base_url == NULL &&
      src->base_url != NULL) {
    dst->base_url = dupstr(src->base_url);
    dst->base_url_pos = dst->from_pos;
  }
  if ((dst->set_mask & QCC_EP_SET_KEY) == 0 && dst->key.kind == QCC_KEY_NONE &&
      src->key.kind != QCC_KEY_NONE) {
    dst->key.kind = src->key.kind;
    dst->key.value = src->key.value != NULL ? dupstr(src->key.value) : NULL;
    dst->key.pos = src->key.pos;
  }
  if ((dst->set_mask & QCC_EP_SET_AUTH) == 0) dst->auth = src->auth;
}

struct from_ctx {
  struct ep_ref *refs; /* sorted by id */
  size_t n;
  const char **ids;    /* all ids, for did-you-mean */
  struct qcc_endpoint_cfg **flat;
  unsigned char *state;
  size_t *chain;
};

static void resolve_one(struct from_ctx *c, size_t start, struct qcc_diags *d) {
  size_t len = 0, cur = start;
  bool ok = true;
  for (;;) {
    c->chain[len++] = cur;
    c->state[cur] = ST_VISITING;
    struct qcc_endpoint_cfg *e = c->flat[cur];
    if (e->from == NULL) break;
    const struct ep_ref *r = ref_find(c->refs, c->n, e->from);
    if (r == NULL) {
      char hint[512];
      if (!nearest(e->from, c->ids, c->n, hint, sizeof hint)) {
        snprintf(hint, sizeof hint, "from: takes the id of another endpoint");
      }
      qcc_diag_add(d, QCC_DIAG_ERROR, e->from_pos, (unsigned)strlen(e->from), hint,
                   "from: '%s' is not an endpoint id", e->from);
      ok = false;
      break;
    }
    size_t t = r->seq;
    if (c->state[t] == ST_OK) break;
    if (c->state[t] == ST_FAILED) {
      ok = false; /* already reported where it failed */
      break;
    }
    if (c->state[t] == ST_VISITING) {
      size_t at = 0;
      while (at < len && c->chain[at] != t) at++;
      char text[1024];
      size_t used = 0;
      for (size_t i = at; i < len; i++) {
        int n = snprintf(text + used, sizeof text - used, "%s -> ", c->flat[c->chain[i]]->id);
        if (n < 0 || (size_t)n >= sizeof text - used) break;
        used += (size_t)n;
      }
      snprintf(text + used, sizeof text - used, "%s", c->flat[t]->id);
      const struct qcc_endpoint_cfg *first = c->flat[c->chain[at]];
      qcc_diag_add(d, QCC_DIAG_ERROR, first->from_pos, (unsigned)strlen(first->from),
                   "break the cycle: one endpoint must give base_url and a key itself",
                   "from: cycle %s", text);
      ok = false;
      break;
    }
    cur = t;
  }
  /* Inherit from the far end back, so chains a -> b -> c work. */
  for (size_t i = len; i-- > 0;) {
    size_t x = c->chain[i];
    if (!ok) {
      c->state[x] = ST_FAILED;
      continue;
    }
    struct qcc_endpoint_cfg *e = c->flat[x];
    if (e->from != NULL) {
      const struct ep_ref *r = ref_find(c->refs, c->n, e->from);
      inherit(e, c->flat[r->seq]);
    }
    c->state[x] = ST_OK;
  }
}

static void resolve_from(struct qcc_loaded *l, struct qcc_diags *d) {
  struct qcc_config *cfg = l->cfg;
  size_t total = 0;
  for (size_t i = 0; i < cfg->profile_count; i++) total += cfg->profiles[i].endpoint_count;
  if (total == 0) return;
  struct from_ctx c = {0};
  c.flat = calloc(total, sizeof *c.flat);
  c.refs = calloc(total, sizeof *c.refs);
  c.ids = calloc(total, sizeof *c.ids);
  c.state = calloc(total, 1);
  c.chain = calloc(total + 1, sizeof *c.chain);
  if (c.flat == NULL || c.refs == NULL || c.ids == NULL || c.state == NULL || c.chain == NULL) {
    abort();
  }
  size_t k = 0;
  for (size_t i = 0; i < cfg->profile_count; i++) {
    for (size_t j = 0; j < cfg->profiles[i].endpoint_count; j++) {
      struct qcc_endpoint_cfg *e = &cfg->profiles[i].endpoints[j];
      size_t seq = k++;
      c.flat[seq] = e;
      if (e->id == NULL) continue; /* already an error; nothing can point at it */
      c.refs[c.n].id = e->id;
      c.refs[c.n].seq = seq;
      c.refs[c.n].ep = e;
      c.ids[c.n] = e->id;
      c.n++;
    }
  }
  if (c.n > 1) qsort(c.refs, c.n, sizeof *c.refs, ref_cmp);
  for (size_t i = 0; i < total; i++) {
    if (c.state[i] == ST_NEW) resolve_one(&c, i, d);
  }
  free(c.flat);
  free(c.refs);
  free(c.ids);
  free(c.state);
  free(c.chain);
}

/* ---- "=PATH" defaults: each endpoint gets the setting's value ------------
 * (profiles' load_balancing.* are made effective by the loader, which knows
 * which of them were given.) */

/* 0 = not given where 0 is below the row's minimum; a row whose 0 is a
 * value (keep_warm: off) is marked in set_mask when given. */
static bool num_given(const struct qcc_endpoint_cfg *e, const struct qcc_knob *kn) {
  if (kn->id == QCC_K_EP_KEEP_WARM) return (e->set_mask & QCC_EP_SET_KEEP_WARM) != 0;
  return qcc_cfg_num(e, kn->id) != 0;
}

static void resolve_inherited(struct qcc_config *cfg) {
  for (size_t k = 0; k < QCC_KNOB_COUNT; k++) {
    const struct qcc_knob *kn = &qcc_knobs[k], *from = qcc_knob_inherits(kn);
    if (from == NULL || qcc_cfg_fields[k].rec != QCC_REC_ENDPOINT ||
        qcc_cfg_fields[from->id].rec != QCC_REC_SETTINGS)
      continue;
    for (size_t i = 0; i < cfg->profile_count; i++) {
      for (size_t j = 0; j < cfg->profiles[i].endpoint_count; j++) {
        struct qcc_endpoint_cfg *e = &cfg->profiles[i].endpoints[j];
        if (kn->kind == QCC_KNOB_STRING) {
          if (qcc_cfg_str(e, kn->id) == NULL)
            qcc_cfg_set_str(e, kn->id, qcc_cfg_str(&cfg->settings, from->id));
        } else if (!num_given(e, kn)) {
          qcc_cfg_set_num(e, kn->id, qcc_cfg_num(&cfg->settings, from->id));
        }
      }
    }
  }
}

int qcc_resolve(struct qcc_loaded *l, struct qcc_diags *d) {
  if (l == NULL || l->cfg == NULL) return -1;
  size_t before = qcc_diags_errors(d);
  resolve_groups(l, d);
  resolve_from(l, d);
  resolve_inherited(l->cfg);
  return qcc_diags_errors(d) == before ? 0 : -1;
}
