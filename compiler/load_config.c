/* The struct qcc_config under construction in phase 1, load: defaults from
 * the knob table, list items (profiles, endpoints, tokens, prices) begun and
 * ended as the walk enters and leaves them, key references, and storing a
 * checked value where its knob says. Shares the loader's state through
 * load_int.h. */
#include "load_int.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/config_schema.h"
#include "schema/table.h"

/* ---- the config under construction ------------------------------------ */

static struct qcc_profile_cfg *cur_profile(struct ld *ld) {
  return ld->prof == SIZE_MAX ? NULL : &ld->cfg->profiles[ld->prof];
}

struct qcc_endpoint_cfg *ld_cur_endpoint(struct ld *ld) {
  struct qcc_profile_cfg *p = cur_profile(ld);
  return p == NULL || ld->ep == SIZE_MAX ? NULL : &p->endpoints[ld->ep];
}

static void set_str(char **dst, const char *v) {
  free(*dst);
  *dst = ld_dupstr(v);
}

/* Default of knob ID parsed by the same code as user input. */
static struct qcc_knob_value knob_default(enum qcc_knob_id id) {
  struct qcc_knob_value v;
  const struct qcc_knob *k = &qcc_knobs[id];
  if (k->def == NULL || qcc_knob_parse(k, k->def, &v) != QCC_KNOB_OK) memset(&v, 0, sizeof v);
  return v;
}

/* Every row of record kind WHICH that has a default, set in REC. */
static void apply_defaults(void *rec, enum qcc_rec which) {
  for (size_t k = 0; k < QCC_KNOB_COUNT; k++) {
    const struct qcc_knob *kn = &qcc_knobs[k];
    /* "=PATH" defaults are filled by resolve, once PATH is known. */
    if (qcc_cfg_fields[k].rec != which || kn->def == NULL || qcc_knob_inherits(kn) != NULL)
      continue;
    struct qcc_knob_value v = knob_default(kn->id);
    if (kn->kind == QCC_KNOB_STRING) qcc_cfg_set_str(rec, kn->id, kn->def);
    else qcc_cfg_set_num(rec, kn->id, kn->kind == QCC_KNOB_BOOL ? v.flag : v.num);
  }
}

void ld_settings_defaults(struct qcc_config *cfg) {
  apply_defaults(&cfg->settings, QCC_REC_SETTINGS);
}

void ld_begin_item(struct ld *ld, enum qcc_knob_id list, struct qcc_pos at) {
  struct qcc_config *cfg = ld->cfg;
  if (list == QCC_K_PROFILES) {
    cfg->profiles = ld_append_slot(cfg->profiles, cfg->profile_count, sizeof *cfg->profiles);
    struct qcc_profile_cfg *p = &cfg->profiles[cfg->profile_count];
    memset(p, 0, sizeof *p);
    apply_defaults(p, QCC_REC_PROFILE);
    p->pos = at;
    if (cfg->profile_count >= ld->lb_cap) {
      ld->lb_cap = ld->lb_cap == 0 ? 16 : ld->lb_cap * 2;
      ld->lb_set = ld_grow(ld->lb_set, ld->lb_cap, sizeof *ld->lb_set);
    }
    ld->lb_set[cfg->profile_count] = 0;
    ld->prof = cfg->profile_count++;
  } else if (list == QCC_K_ENDPOINTS) {
    struct qcc_profile_cfg *p = cur_profile(ld);
    p->endpoints = ld_append_slot(p->endpoints, p->endpoint_count, sizeof *p->endpoints);
    struct qcc_endpoint_cfg *e = &p->endpoints[p->endpoint_count];
    memset(e, 0, sizeof *e);
    apply_defaults(e, QCC_REC_ENDPOINT);
    e->pos = at;
    ld->ep = p->endpoint_count++;
  } else if (list == QCC_K_TOKENS) {
    cfg->tokens = ld_append_slot(cfg->tokens, cfg->token_count, sizeof *cfg->tokens);
    struct qcc_token_cfg *t = &cfg->tokens[cfg->token_count];
    memset(t, 0, sizeof *t);
    apply_defaults(t, QCC_REC_TOKEN);
    t->pos = at;
    ld->tok = cfg->token_count++;
  }
}

/* One `pricing:` entry, keyed by its model name or glob. */
void ld_begin_price(struct ld *ld, const char *model, struct qcc_pos at) {
  struct qcc_config *cfg = ld->cfg;
  cfg->prices = ld_append_slot(cfg->prices, cfg->price_count, sizeof *cfg->prices);
  struct qcc_price_cfg *p = &cfg->prices[cfg->price_count];
  memset(p, 0, sizeof *p);
  p->model = ld_dupstr(model);
  p->pos = at;
  ld->price = cfg->price_count++;
}

void ld_end_item(struct ld *ld, enum qcc_knob_id list) {
  if (list == QCC_K_PROFILES) ld->prof = SIZE_MAX;
  else if (list == QCC_K_ENDPOINTS) ld->ep = SIZE_MAX;
  else if (list == QCC_K_TOKENS) ld->tok = SIZE_MAX;
}

static const char *const key_names[] = {"", "api_key_env", "api_key_file", "api_key"};
static const char *const token_names[] = {"", "env", "file", "value"};

/* A second key source on one endpoint / token is an error at the second. */
static void set_key(struct ld *ld, struct qcc_keysrc *key, enum qcc_key_kind kind,
                    const char *value, const yaml_node_t *k, bool token) {
  const char *const *names = token ? token_names : key_names;
  if (key->kind != QCC_KEY_NONE) {
    char hint[160];
    snprintf(hint, sizeof hint, "keep exactly one of %s, %s or %s", names[QCC_KEY_ENV],
             names[QCC_KEY_FILE], names[QCC_KEY_LITERAL]);
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, k), ld_span_of(k), hint,
                 "two key sources on one %s: %s and %s", token ? "auth token" : "endpoint",
                 names[key->kind], names[kind]);
    return;
  }
  key->kind = kind;
  key->value = ld_dupstr(value);
  key->pos = ld_pos_of(ld, k);
}

void ld_add_pair(struct qcc_pair **v, size_t *n, const char *key, const char *value,
                 struct qcc_pos pos) {
  *v = ld_append_slot(*v, *n, sizeof **v);
  (*v)[*n].key = ld_dupstr(key);
  (*v)[*n].value = ld_dupstr(value);
  (*v)[*n].pos = pos;
  (*n)++;
}

/* Normalize "https://host/v1/" to "https://host/v1"; never eat into the
 * "scheme://" itself, so "https://" stays visibly host-less for check. */
static void strip_slashes(char *url) {
  size_t n = strlen(url);
  const char *sep = strstr(url, "://");
  size_t floor = sep != NULL ? (size_t)(sep - url) + 3 : 0;
  while (n > floor && url[n - 1] == '/') url[--n] = '\0';
}

/* Put one validated scalar where it belongs: rows with a field go there
 * (config_keys.h), the rest are handled here by hand. */
void ld_store(struct ld *ld, const struct qcc_knob *kn, const struct qcc_knob_value *v,
              const yaml_node_t *k, const yaml_node_t *val) {
  struct qcc_profile_cfg *p = cur_profile(ld);
  struct qcc_endpoint_cfg *e = ld_cur_endpoint(ld);
  struct qcc_token_cfg *t = ld->tok == SIZE_MAX ? NULL : &ld->cfg->tokens[ld->tok];
  struct qcc_price_cfg *pr = ld->price == SIZE_MAX ? NULL : &ld->cfg->prices[ld->price];
  if (p == NULL && t == NULL && pr == NULL) ld->out->setting_pos[kn->id] = ld_pos_of(ld, k);
  void *rec = NULL;
  switch ((enum qcc_rec)qcc_cfg_fields[kn->id].rec) {
    case QCC_REC_SETTINGS: rec = &ld->cfg->settings; break;
    case QCC_REC_PROFILE: rec = p; break;
    case QCC_REC_ENDPOINT: rec = e; break;
    case QCC_REC_TOKEN: rec = t; break;
    case QCC_REC_PRICE: rec = pr; break;
    case QCC_REC_NONE: break;
  }
  if (rec != NULL) {
    if (kn->kind == QCC_KNOB_STRING) qcc_cfg_set_str(rec, kn->id, v->str);
    else qcc_cfg_set_num(rec, kn->id, kn->kind == QCC_KNOB_BOOL ? v->flag : v->num);
  }
  switch (kn->id) {
    case QCC_K_VERSION: ld->cfg->version = (uint32_t)v->num; break;
    case QCC_K_TOKEN_ENV: set_key(ld, &t->key, QCC_KEY_ENV, v->str, k, true); break;
    case QCC_K_TOKEN_FILE: set_key(ld, &t->key, QCC_KEY_FILE, v->str, k, true); break;
    case QCC_K_TOKEN_VALUE: set_key(ld, &t->key, QCC_KEY_LITERAL, v->str, k, true); break;
    case QCC_K_GROUPS_PRIMARY:
    case QCC_K_GROUPS_SECONDARY:
    case QCC_K_GROUPS_FALLBACK: {
      struct qcc_loaded *o = ld->out;
      o->groups = ld_append_slot(o->groups, o->group_count, sizeof *o->groups);
      struct qcc_group_ref *g = &o->groups[o->group_count++];
      g->name = ld_dupstr(v->str);
      g->group = kn->id == QCC_K_GROUPS_PRIMARY     ? QCC_GROUP_PRIMARY
                 : kn->id == QCC_K_GROUPS_SECONDARY ? QCC_GROUP_SECONDARY
                                                    : QCC_GROUP_FALLBACK;
      g->pos = ld_pos_of(ld, val);
      break;
    }
    case QCC_K_INCLUDE:
      ld->incs = ld_append_slot(ld->incs, ld->inc_count, sizeof *ld->incs);
      ld->inc_pos = ld_append_slot(ld->inc_pos, ld->inc_count, sizeof *ld->inc_pos);
      ld->incs[ld->inc_count] = ld_dupstr(v->str);
      ld->inc_pos[ld->inc_count++] = ld_pos_of(ld, val);
      break;
    case QCC_K_PROF_NAME: p->pos = ld_pos_of(ld, val); break;
    case QCC_K_PROF_PRIORITY: p->group_pos = ld_pos_of(ld, val); break;
    case QCC_K_PROF_LB_STRATEGY: ld->lb_set[ld->prof] |= LB_SET_STRATEGY; break;
    case QCC_K_PROF_LB_HEALTH_AWARE: ld->lb_set[ld->prof] |= LB_SET_HEALTH; break;
    case QCC_K_PROF_LB_STICKY: ld->lb_set[ld->prof] |= LB_SET_STICKY; break;
    case QCC_K_EP_ID: e->pos = ld_pos_of(ld, val); break;
    case QCC_K_EP_FROM:
      set_str(&e->from, v->str);
      e->from_pos = ld_pos_of(ld, val);
      break;
    case QCC_K_EP_BASE_URL:
      strip_slashes(e->base_url);
      e->base_url_pos = ld_pos_of(ld, val);
      break;
    case QCC_K_EP_API_KEY: set_key(ld, &e->key, QCC_KEY_LITERAL, v->str, k, false); break;
    case QCC_K_EP_API_KEY_ENV: set_key(ld, &e->key, QCC_KEY_ENV, v->str, k, false); break;
    case QCC_K_EP_API_KEY_FILE: set_key(ld, &e->key, QCC_KEY_FILE, v->str, k, false); break;
    case QCC_K_EP_PROXY: e->proxy_pos = ld_pos_of(ld, val); break;
    case QCC_K_EP_PROXY_CRED_ENV: e->proxy_cred_pos = ld_pos_of(ld, val); break;
    case QCC_K_PRICE_INPUT: pr->priced |= 1u << QCC_PRICE_INPUT; break;
    case QCC_K_PRICE_OUTPUT: pr->priced |= 1u << QCC_PRICE_OUTPUT; break;
    case QCC_K_PRICE_CACHE_WRITE_5M: pr->priced |= 1u << QCC_PRICE_CACHE_WRITE_5M; break;
    case QCC_K_PRICE_CACHE_WRITE_1H: pr->priced |= 1u << QCC_PRICE_CACHE_WRITE_1H; break;
    case QCC_K_PRICE_CACHE_READ: pr->priced |= 1u << QCC_PRICE_CACHE_READ; break;
    default: break;
  }
}

/* Mark which keys an endpoint has, valid or not (see load.h). */
void ld_note_present(struct ld *ld, const struct qcc_knob *kn) {
  struct qcc_endpoint_cfg *e = ld_cur_endpoint(ld);
  if (e == NULL) return;
  switch (kn->id) {
    case QCC_K_EP_BASE_URL: e->set_mask |= QCC_EP_SET_BASE_URL; break;
    case QCC_K_EP_API_KEY:
    case QCC_K_EP_API_KEY_ENV:
    case QCC_K_EP_API_KEY_FILE: e->set_mask |= QCC_EP_SET_KEY; break;
    case QCC_K_EP_AUTH: e->set_mask |= QCC_EP_SET_AUTH; break;
    case QCC_K_EP_FROM: e->set_mask |= QCC_EP_SET_FROM; break;
    case QCC_K_EP_ID: e->set_mask |= QCC_EP_SET_ID; break;
    case QCC_K_EP_KEEP_WARM: e->set_mask |= QCC_EP_SET_KEEP_WARM; break;
    default: break;
  }
}
