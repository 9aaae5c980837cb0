#include "load.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "schema/config_schema.h"
#include "schema/modelglob.h"
#include "schema/table.h"

#define LOAD_MAX_FILE (64u << 20)  /* a config bigger than this is a mistake */
#define LOAD_MAX_DEPTH 16           /* include nesting */
#define LOAD_MAX_VISITS 1000000u    /* nodes walked, against alias bombs */
#define LOAD_DUP_SCAN 512           /* keys checked for duplicates per mapping */

/* Profile load_balancing keys given explicitly (the rest come from loadbalancer). */
enum { LB_SET_STRATEGY = 1, LB_SET_HEALTH = 2, LB_SET_STICKY = 4 };

struct include_frame {
  char *real; /* realpath, to find cycles */
  const char *shown;
};

struct ld {
  struct qcc_loaded *out;
  struct qcc_config *cfg;
  struct qcc_diags *d;
  const char *file; /* display name of the file being walked (owned by cfg) */
  bool is_root;
  size_t prof, ep, tok, price; /* current list items, SIZE_MAX = none */
  unsigned *lb_set;     /* per profile */
  size_t lb_cap;
  struct qcc_pos section_at[QCC_KNOB_COUNT]; /* top-level sections seen, per file set */
  struct include_frame stack[LOAD_MAX_DEPTH + 1];
  size_t depth;
  char **seen; /* realpaths of every file read */
  size_t seen_count;
  char **incs; /* include requests of the current file */
  struct qcc_pos *inc_pos;
  size_t inc_count;
  size_t visits;
  bool over_budget;
};

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p == NULL) abort(); /* the compiler is a short-lived CLI: OOM ends it */
  memcpy(p, s, n);
  return p;
}

/* Room for item COUNT of an array that holds COUNT items: capacity doubles
 * at each power of two, so appends stay O(1) amortized without a stored cap. */
static void *append_slot(void *p, size_t count, size_t size) {
  if (count != 0 && (count & (count - 1)) != 0) return p;
  size_t cap = count == 0 ? 1 : count * 2;
  void *q = realloc(p, cap * size);
  if (q == NULL) abort();
  return q;
}

static void *grow(void *p, size_t n, size_t size) {
  void *q = realloc(p, (n == 0 ? 1 : n) * size);
  if (q == NULL) abort();
  return q;
}

/* Optimal string alignment distance: a swap of two neighbours ("prot" for
 * "port") costs 1, the typo people make most. */
unsigned qcc_edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 255;
  unsigned m[65][65];
  for (size_t i = 0; i <= la; i++) m[i][0] = (unsigned)i;
  for (size_t j = 0; j <= lb; j++) m[0][j] = (unsigned)j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
      unsigned best = m[i - 1][j - 1] + cost;
      if (m[i - 1][j] + 1 < best) best = m[i - 1][j] + 1;
      if (m[i][j - 1] + 1 < best) best = m[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          m[i - 2][j - 2] + 1 < best) {
        best = m[i - 2][j - 2] + 1;
      }
      m[i][j] = best;
    }
  }
  return m[la][lb] > 255 ? 255 : m[la][lb];
}

/* ---- positions ------------------------------------------------------------ */

static struct qcc_pos pos_of(const struct ld *ld, const yaml_node_t *n) {
  struct qcc_pos p = {ld->file, (uint32_t)n->start_mark.line + 1,
                      (uint32_t)n->start_mark.column + 1};
  return p;
}

static unsigned span_of(const yaml_node_t *n) {
  if (n->type == YAML_SCALAR_NODE && n->start_mark.line == n->end_mark.line &&
      n->end_mark.column > n->start_mark.column) {
    return (unsigned)(n->end_mark.column - n->start_mark.column);
  }
  if (n->type == YAML_SCALAR_NODE) return (unsigned)n->data.scalar.length;
  return 1;
}

static const char *scalar(const yaml_node_t *n) {
  return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const char *s = scalar(n);
  return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
         strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static const char *node_kind(const yaml_node_t *n) {
  if (n->type == YAML_MAPPING_NODE) return "a mapping";
  if (n->type == YAML_SEQUENCE_NODE) return "a list";
  return "a single value";
}

/* "proxy", "profiles[].endpoints[]" -> words for messages. */
static void where_text(const char *prefix, char *buf, size_t cap) {
  if (prefix[0] == '\0') snprintf(buf, cap, "at the top level");
  else if (strcmp(prefix, "profiles[]") == 0) snprintf(buf, cap, "in a profile");
  else if (strcmp(prefix, "profiles[].endpoints[]") == 0) snprintf(buf, cap, "in an endpoint");
  else if (strcmp(prefix, "proxy.auth_tokens[]") == 0) snprintf(buf, cap, "in an auth token");
  else if (strcmp(prefix, "pricing{}") == 0) snprintf(buf, cap, "in a price");
  else snprintf(buf, cap, "in '%s'", prefix);
}

/* ---- the config under construction ------------------------------------ */

static void settings_defaults(struct qcc_config *cfg);

static struct qcc_profile_cfg *cur_profile(struct ld *ld) {
  return ld->prof == SIZE_MAX ? NULL : &ld->cfg->profiles[ld->prof];
}

static struct qcc_endpoint_cfg *cur_endpoint(struct ld *ld) {
  struct qcc_profile_cfg *p = cur_profile(ld);
  return p == NULL || ld->ep == SIZE_MAX ? NULL : &p->endpoints[ld->ep];
}

static void set_str(char **dst, const char *v) {
  free(*dst);
  *dst = dupstr(v);
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

static void settings_defaults(struct qcc_config *cfg) {
  apply_defaults(&cfg->settings, QCC_REC_SETTINGS);
}

static void begin_item(struct ld *ld, enum qcc_knob_id list, struct qcc_pos at) {
  struct qcc_config *cfg = ld->cfg;
  if (list == QCC_K_PROFILES) {
    cfg->profiles = append_slot(cfg->profiles, cfg->profile_count, sizeof *cfg->profiles);
    struct qcc_profile_cfg *p = &cfg->profiles[cfg->profile_count];
    memset(p, 0, sizeof *p);
    apply_defaults(p, QCC_REC_PROFILE);
    p->pos = at;
    if (cfg->profile_count >= ld->lb_cap) {
      ld->lb_cap = ld->lb_cap == 0 ? 16 : ld->lb_cap * 2;
      ld->lb_set = grow(ld->lb_set, ld->lb_cap, sizeof *ld->lb_set);
    }
    ld->lb_set[cfg->profile_count] = 0;
    ld->prof = cfg->profile_count++;
  } else if (list == QCC_K_ENDPOINTS) {
    struct qcc_profile_cfg *p = cur_profile(ld);
    p->endpoints = append_slot(p->endpoints, p->endpoint_count, sizeof *p->endpoints);
    struct qcc_endpoint_cfg *e = &p->endpoints[p->endpoint_count];
    memset(e, 0, sizeof *e);
    apply_defaults(e, QCC_REC_ENDPOINT);
    e->pos = at;
    ld->ep = p->endpoint_count++;
  } else if (list == QCC_K_TOKENS) {
    cfg->tokens = append_slot(cfg->tokens, cfg->token_count, sizeof *cfg->tokens);
    struct qcc_token_cfg *t = &cfg->tokens[cfg->token_count];
    memset(t, 0, sizeof *t);
    apply_defaults(t, QCC_REC_TOKEN);
    t->pos = at;
    ld->tok = cfg->token_count++;
  }
}

/* One `pricing:` entry, keyed by its model name or glob. */
static void begin_price(struct ld *ld, const char *model, struct qcc_pos at) {
  struct qcc_config *cfg = ld->cfg;
  cfg->prices = append_slot(cfg->prices, cfg->price_count, sizeof *cfg->prices);
  struct qcc_price_cfg *p = &cfg->prices[cfg->price_count];
  memset(p, 0, sizeof *p);
  p->model = dupstr(model);
  p->pos = at;
  ld->price = cfg->price_count++;
}

static void end_item(struct ld *ld, enum qcc_knob_id list) {
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
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, k), span_of(k), hint,
                 "two key sources on one %s: %s and %s", token ? "auth token" : "endpoint",
                 names[key->kind], names[kind]);
    return;
  }
  key->kind = kind;
  key->value = dupstr(value);
  key->pos = pos_of(ld, k);
}

static void add_pair(struct qcc_pair **v, size_t *n, const char *key, const char *value,
                     struct qcc_pos pos) {
  *v = append_slot(*v, *n, sizeof **v);
  (*v)[*n].key = dupstr(key);
  (*v)[*n].value = dupstr(value);
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
static void store(struct ld *ld, const struct qcc_knob *kn, const struct qcc_knob_value *v,
                  const yaml_node_t *k, const yaml_node_t *val) {
  struct qcc_profile_cfg *p = cur_profile(ld);
  struct qcc_endpoint_cfg *e = cur_endpoint(ld);
  struct qcc_token_cfg *t = ld->tok == SIZE_MAX ? NULL : &ld->cfg->tokens[ld->tok];
  struct qcc_price_cfg *pr = ld->price == SIZE_MAX ? NULL : &ld->cfg->prices[ld->price];
  if (p == NULL && t == NULL && pr == NULL) ld->out->setting_pos[kn->id] = pos_of(ld, k);
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
      o->groups = append_slot(o->groups, o->group_count, sizeof *o->groups);
      struct qcc_group_ref *g = &o->groups[o->group_count++];
      g->name = dupstr(v->str);
      g->group = kn->id == QCC_K_GROUPS_PRIMARY     ? QCC_GROUP_PRIMARY
                 : kn->id == QCC_K_GROUPS_SECONDARY ? QCC_GROUP_SECONDARY
                                                    : QCC_GROUP_FALLBACK;
      g->pos = pos_of(ld, val);
      break;
    }
    case QCC_K_INCLUDE:
      ld->incs = append_slot(ld->incs, ld->inc_count, sizeof *ld->incs);
      ld->inc_pos = append_slot(ld->inc_pos, ld->inc_count, sizeof *ld->inc_pos);
      ld->incs[ld->inc_count] = dupstr(v->str);
      ld->inc_pos[ld->inc_count++] = pos_of(ld, val);
      break;
    case QCC_K_PROF_NAME: p->pos = pos_of(ld, val); break;
    case QCC_K_PROF_PRIORITY: p->group_pos = pos_of(ld, val); break;
    case QCC_K_PROF_LB_STRATEGY: ld->lb_set[ld->prof] |= LB_SET_STRATEGY; break;
    case QCC_K_PROF_LB_HEALTH_AWARE: ld->lb_set[ld->prof] |= LB_SET_HEALTH; break;
    case QCC_K_PROF_LB_STICKY: ld->lb_set[ld->prof] |= LB_SET_STICKY; break;
    case QCC_K_EP_ID: e->pos = pos_of(ld, val); break;
    case QCC_K_EP_FROM:
      set_str(&e->from, v->str);
      e->from_pos = pos_of(ld, val);
      break;
    case QCC_K_EP_BASE_URL:
      strip_slashes(e->base_url);
      e->base_url_pos = pos_of(ld, val);
      break;
    case QCC_K_EP_API_KEY: set_key(ld, &e->key, QCC_KEY_LITERAL, v->str, k, false); break;
    case QCC_K_EP_API_KEY_ENV: set_key(ld, &e->key, QCC_KEY_ENV, v->str, k, false); break;
    case QCC_K_EP_API_KEY_FILE: set_key(ld, &e->key, QCC_KEY_FILE, v->str, k, false); break;
    case QCC_K_EP_PROXY: e->proxy_pos = pos_of(ld, val); break;
    case QCC_K_EP_PROXY_CRED_ENV: e->proxy_cred_pos = pos_of(ld, val); break;
    case QCC_K_PRICE_INPUT: pr->priced |= 1u << QCC_PRICE_INPUT; break;
    case QCC_K_PRICE_OUTPUT: pr->priced |= 1u << QCC_PRICE_OUTPUT; break;
    case QCC_K_PRICE_CACHE_WRITE_5M: pr->priced |= 1u << QCC_PRICE_CACHE_WRITE_5M; break;
    case QCC_K_PRICE_CACHE_WRITE_1H: pr->priced |= 1u << QCC_PRICE_CACHE_WRITE_1H; break;
    case QCC_K_PRICE_CACHE_READ: pr->priced |= 1u << QCC_PRICE_CACHE_READ; break;
    default: break;
  }
}

/* Mark which keys an endpoint has, valid or not (see load.h). */
static void note_present(struct ld *ld, const struct qcc_knob *kn) {
  struct qcc_endpoint_cfg *e = cur_endpoint(ld);
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

/* ---- validation of one scalar ---------------------------------------------- */

static void type_hint(const struct qcc_knob *kn, char *buf, size_t cap) {
  char range[96];
  qcc_knob_range_text(kn, range, sizeof range);
  switch (kn->kind) {
    case QCC_KNOB_BOOL: snprintf(buf, cap, "write true or false"); break;
    case QCC_KNOB_INT: snprintf(buf, cap, "write an integer %s", range); break;
    case QCC_KNOB_DURATION:
      snprintf(buf, cap, "write a duration like 500ms, 30s, 5m, 1h or plain seconds, %s", range);
      break;
    case QCC_KNOB_SIZE:
      snprintf(buf, cap, "write a size like 65536, 64KiB, 32MiB or 1MB, %s", range);
      break;
    case QCC_KNOB_DECIMAL:
      snprintf(buf, cap, "write a number like 3, 0.5 or 3.75 (at most 6 decimals), %s", range);
      break;
    case QCC_KNOB_STRING: snprintf(buf, cap, "write one value (quote it if it contains ': ')"); break;
    case QCC_KNOB_ENUM: {
      char list[256];
      qcc_enum_list(kn->enum_desc, list, sizeof list);
      snprintf(buf, cap, "expected %s", list);
      break;
    }
    case QCC_KNOB_SECTION:
    case QCC_KNOB_STRMAP:
    case QCC_KNOB_SCALARMAP: snprintf(buf, cap, "write 'key: value' lines indented under it"); break;
    case QCC_KNOB_DICT:
      snprintf(buf, cap, "write one 'name: {input: 3, output: 15}' line per entry under it");
      break;
    case QCC_KNOB_LIST:
    case QCC_KNOB_STRLIST: snprintf(buf, cap, "write one '- item' line per entry under it"); break;
  }
}

static const char *kind_words(const struct qcc_knob *kn) {
  switch (kn->kind) {
    case QCC_KNOB_BOOL: return "true or false";
    case QCC_KNOB_INT: return "an integer";
    case QCC_KNOB_DURATION: return "a duration";
    case QCC_KNOB_SIZE: return "a size";
    case QCC_KNOB_DECIMAL: return "a number";
    case QCC_KNOB_STRING: return "a single value";
    case QCC_KNOB_ENUM: return "one of its names";
    case QCC_KNOB_SECTION:
    case QCC_KNOB_STRMAP:
    case QCC_KNOB_SCALARMAP:
    case QCC_KNOB_DICT: return "a mapping";
    case QCC_KNOB_LIST: return "a list of mappings";
    case QCC_KNOB_STRLIST: return "a list of values";
  }
  return "?";
}

static void wrong_type(struct ld *ld, const struct qcc_knob *kn, const yaml_node_t *val) {
  char hint[320];
  type_hint(kn, hint, sizeof hint);
  qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, val), span_of(val), hint,
               "'%s' must be %s, not %s", qcc_knob_key(kn), kind_words(kn), node_kind(val));
}

/* Parse a scalar node for knob KN; diagnose and return false when bad. */
static bool check_scalar(struct ld *ld, const struct qcc_knob *kn, const yaml_node_t *val,
                         struct qcc_knob_value *out) {
  struct qcc_pos at = pos_of(ld, val);
  unsigned span = span_of(val);
  const char *key = qcc_knob_key(kn);
  bool secret = (kn->flags & QCC_KF_SECRET) != 0;
  char hint[320], range[96];
  if (val->type != YAML_SCALAR_NODE) {
    wrong_type(ld, kn, val);
    return false;
  }
  if (is_null(val)) {
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, "give it a value or remove the key",
                 "'%s' has no value", key);
    return false;
  }
  const char *text = scalar(val);
  if (strlen(text) != val->data.scalar.length) {
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, "remove the \\0 escape from the value",
                 "'%s' contains a NUL character", key);
    return false;
  }
  enum qcc_knob_status st = qcc_knob_parse(kn, text, out);
  if (st == QCC_KNOB_OK) return true;
  /* Only failures pay for formatting the hints. */
  qcc_knob_range_text(kn, range, sizeof range);
  type_hint(kn, hint, sizeof hint);
  switch (st) {
    case QCC_KNOB_OK:
      return true;
    case QCC_KNOB_BAD_TYPE:
      if (kn->kind == QCC_KNOB_ENUM) {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, hint, "'%s' is not a %s: '%s'", key,
                     kn->enum_desc->name, text);
      } else {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, hint, "'%s' must be %s, not '%s'", key,
                     kind_words(kn), text);
      }
      return false;
    case QCC_KNOB_BAD_SYNTAX:
      if (kn->kind == QCC_KNOB_DECIMAL)
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, hint,
                     "'%s' has more than 6 decimals: '%s'", key, text);
      else
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, hint, "'%s' is not a %s: '%s'", key,
                     kn->kind == QCC_KNOB_DURATION ? "duration" : "size", text);
      return false;
    case QCC_KNOB_BAD_RANGE:
      if (kn->id == QCC_K_VERSION) {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, "this qccc reads version: 1",
                     "unsupported config version %s", text);
      } else if (kn->kind == QCC_KNOB_STRING) {
        snprintf(hint, sizeof hint, "legal: %s", range);
        if (out->num == 0) {
          qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, "give it a value or remove the key",
                       "'%s' must not be empty", key);
        } else {
          qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, hint, "'%s' is too long (%zu characters)",
                       key, strlen(text));
        }
      } else {
        snprintf(hint, sizeof hint, "legal: %s", range);
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, hint, "'%s' is out of range: %s", key,
                     secret ? "(value hidden)" : text);
      }
      return false;
  }
  return false;
}

/* ---- the walk ------------------------------------------------------------- */

static void walk_map(struct ld *ld, yaml_document_t *doc, const yaml_node_t *map,
                     const struct qcc_knob *parent, const char *prefix);

static void unknown_key(struct ld *ld, const yaml_node_t *k, const char *prefix) {
  const char *name = scalar(k);
  const struct qcc_knob *best = NULL;
  unsigned best_d = 255;
  char legal[1024] = "", where[96], hint[1200];
  size_t used = 0;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *kn = &qcc_knobs[i];
    if (!qcc_knob_is_child(kn, prefix)) continue;
    unsigned dist = qcc_edit_distance(name, qcc_knob_key(kn));
    if (dist < best_d) {
      best_d = dist;
      best = kn;
    }
    int n = snprintf(legal + used, sizeof legal - used, "%s%s", used == 0 ? "" : ", ",
                     qcc_knob_key(kn));
    if (n > 0 && (size_t)n < sizeof legal - used) used += (size_t)n;
  }
  size_t len = strlen(name);
  unsigned limit = len <= 4 ? 1 : (len <= 8 ? 2 : 3);
  if (strcmp(name, "<<") == 0) {
    snprintf(hint, sizeof hint, "YAML merge keys are not supported; 'from: ID' reuses an endpoint");
  } else if (best != NULL && best_d <= limit) {
    snprintf(hint, sizeof hint, "did you mean '%s'?", qcc_knob_key(best));
  } else {
    snprintf(hint, sizeof hint, "legal keys here: %s", legal);
  }
  where_text(prefix, where, sizeof where);
  qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, k), span_of(k), hint, "unknown key '%s' %s",
               name, where);
}

static bool budget(struct ld *ld) {
  if (++ld->visits <= LOAD_MAX_VISITS) return true;
  if (!ld->over_budget) {
    ld->over_budget = true;
    struct qcc_pos at = {ld->file, 1, 1};
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "aliases (*name) may expand to a huge document",
                 "config too large: more than %u nodes", LOAD_MAX_VISITS);
    ld->out->fatal = true;
  }
  return false;
}

/* A `models:` key is a name or a glob (schema/modelglob.h); a bad glob is
 * reported at the faulty character. */
static bool model_pattern_ok(struct ld *ld, const yaml_node_t *k) {
  size_t at = 0;
  const char *why = NULL;
  if (qcc_modelglob_check(scalar(k), k->data.scalar.length, &at, &why) == 0) return true;
  struct qcc_pos p = pos_of(ld, k);
  bool quoted = k->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                k->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
  if (k->start_mark.line == k->end_mark.line) p.col += (uint32_t)at + (quoted ? 1 : 0);
  qcc_diag_add(ld->d, QCC_DIAG_ERROR, p, 1,
               "a key is a model name or a glob: '*' any run, '?' one character, '[a-z]' a set",
               "bad model pattern '%s': %s", scalar(k), why);
  return false;
}

/* Free maps: models (string -> string) and metadata (string -> scalar). */
static void walk_free_map(struct ld *ld, yaml_document_t *doc, const struct qcc_knob *kn,
                          const yaml_node_t *map) {
  struct qcc_endpoint_cfg *e = cur_endpoint(ld);
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
       pr++) {
    const yaml_node_t *k = yaml_document_get_node(doc, pr->key);
    const yaml_node_t *v = yaml_document_get_node(doc, pr->value);
    if (k == NULL || v == NULL || !budget(ld)) return;
    if (k->type != YAML_SCALAR_NODE || is_null(k)) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, k), span_of(k), "write 'name: value' lines",
                   "keys of '%s' must be single values", qcc_knob_key(kn));
      continue;
    }
    const struct qcc_knob *typed = qcc_knob_child(kn, scalar(k));
    if (typed != NULL) {
      struct qcc_knob_value tv;
      if (check_scalar(ld, typed, v, &tv)) store(ld, typed, &tv, k, v);
      if (v->type != YAML_SCALAR_NODE || is_null(v)) continue;
    } else if (v->type != YAML_SCALAR_NODE || is_null(v)) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, v), span_of(v),
                   kn->kind == QCC_KNOB_STRMAP ? "write 'requested-model: upstream-model'"
                                               : "metadata values are single values",
                   "'%s.%s' must be a single value, not %s", qcc_knob_key(kn), scalar(k),
                   is_null(v) ? "empty" : node_kind(v));
      continue;
    }
    if (kn->id == QCC_K_EP_MODELS && !model_pattern_ok(ld, k)) continue;
    if (e == NULL) continue;
    if (kn->id == QCC_K_EP_MODELS) {
      add_pair(&e->models, &e->model_count, scalar(k), scalar(v), pos_of(ld, k));
    } else {
      add_pair(&e->metadata, &e->metadata_count, scalar(k), scalar(v), pos_of(ld, k));
    }
  }
}

/* pricing: model name or glob -> {input: ..., output: ...} */
static void walk_dict(struct ld *ld, yaml_document_t *doc, const struct qcc_knob *kn,
                      const yaml_node_t *map) {
  char child[160];
  snprintf(child, sizeof child, "%s{}", kn->path);
  yaml_node_pair_t *start = map->data.mapping.pairs.start, *top = map->data.mapping.pairs.top;
  for (yaml_node_pair_t *pr = start; pr < top; pr++) {
    const yaml_node_t *k = yaml_document_get_node(doc, pr->key);
    const yaml_node_t *v = yaml_document_get_node(doc, pr->value);
    if (k == NULL || v == NULL || !budget(ld)) return;
    if (k->type != YAML_SCALAR_NODE || is_null(k) ||
        strlen(scalar(k)) != k->data.scalar.length) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, k), span_of(k),
                   "write a model name or glob, like claude-sonnet-4*",
                   "keys of '%s' must be model names", qcc_knob_key(kn));
      continue;
    }
    if (k->data.scalar.length > 255) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, k), 1, "model names are at most 255 bytes",
                   "a model name of %zu bytes in '%s'", k->data.scalar.length, qcc_knob_key(kn));
      continue;
    }
    bool dup = false;
    for (yaml_node_pair_t *q = start; q < pr && q - start < LOAD_DUP_SCAN; q++) {
      const yaml_node_t *qk = yaml_document_get_node(doc, q->key);
      if (qk != NULL && qk->type == YAML_SCALAR_NODE && strcmp(scalar(qk), scalar(k)) == 0) {
        char hint[96];
        snprintf(hint, sizeof hint, "first given at line %zu; remove one", qk->start_mark.line + 1);
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, k), span_of(k), hint,
                     "'%s' is priced twice", scalar(k));
        dup = true;
        break;
      }
    }
    if (dup) continue;
    if (v->type != YAML_MAPPING_NODE) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, v), span_of(v),
                   "write '{input: 3, output: 15}' (USD per million tokens)",
                   "the price of '%s' must be a mapping, not %s", scalar(k),
                   is_null(v) ? "empty" : node_kind(v));
      continue;
    }
    begin_price(ld, scalar(k), pos_of(ld, k));
    walk_map(ld, doc, v, kn, child);
    ld->price = SIZE_MAX;
  }
}

static void walk_value(struct ld *ld, yaml_document_t *doc, const struct qcc_knob *kn,
                       const yaml_node_t *k, const yaml_node_t *val) {
  char child[160];
  note_present(ld, kn);
  switch (kn->kind) {
    case QCC_KNOB_SECTION:
      if (is_null(val)) return;
      if (val->type != YAML_MAPPING_NODE) {
        wrong_type(ld, kn, val);
        return;
      }
      walk_map(ld, doc, val, kn, kn->path);
      return;
    case QCC_KNOB_LIST:
      if (is_null(val)) return;
      if (val->type != YAML_SEQUENCE_NODE) {
        wrong_type(ld, kn, val);
        return;
      }
      snprintf(child, sizeof child, "%s[]", kn->path);
      for (yaml_node_item_t *it = val->data.sequence.items.start;
           it < val->data.sequence.items.top; it++) {
        const yaml_node_t *item = yaml_document_get_node(doc, *it);
        if (item == NULL || !budget(ld)) return;
        if (item->type != YAML_MAPPING_NODE) {
          qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, item), span_of(item),
                       "write the item's keys ('key: value') after its '-'",
                       "each item of '%s' must be a mapping, not %s", qcc_knob_key(kn),
                       node_kind(item));
          continue;
        }
        begin_item(ld, kn->id, pos_of(ld, item));
        walk_map(ld, doc, item, kn, child);
        end_item(ld, kn->id);
      }
      return;
    case QCC_KNOB_STRLIST:
      if (is_null(val)) return;
      if (val->type != YAML_SEQUENCE_NODE) {
        wrong_type(ld, kn, val);
        return;
      }
      for (yaml_node_item_t *it = val->data.sequence.items.start;
           it < val->data.sequence.items.top; it++) {
        const yaml_node_t *item = yaml_document_get_node(doc, *it);
        if (item == NULL || !budget(ld)) return;
        struct qcc_knob str = *kn;
        str.kind = QCC_KNOB_STRING;
        str.min = 1;
        str.max = 4096;
        struct qcc_knob_value v;
        if (check_scalar(ld, &str, item, &v)) store(ld, kn, &v, k, item);
      }
      return;
    case QCC_KNOB_STRMAP:
    case QCC_KNOB_SCALARMAP:
      if (is_null(val)) return;
      if (val->type != YAML_MAPPING_NODE) {
        wrong_type(ld, kn, val);
        return;
      }
      walk_free_map(ld, doc, kn, val);
      return;
    case QCC_KNOB_DICT:
      if (is_null(val)) return;
      if (val->type != YAML_MAPPING_NODE) {
        wrong_type(ld, kn, val);
        return;
      }
      walk_dict(ld, doc, kn, val);
      return;
    default: {
      struct qcc_knob_value v;
      if (check_scalar(ld, kn, val, &v)) store(ld, kn, &v, k, val);
      return;
    }
  }
}

/* Top-level sections may come from any file, but each from one place. */
static bool section_once(struct ld *ld, const struct qcc_knob *kn, const yaml_node_t *k) {
  if ((kn->kind != QCC_KNOB_SECTION && kn->kind != QCC_KNOB_DICT) || kn->id == QCC_K_GROUPS)
    return true;
  struct qcc_pos *first = &ld->section_at[kn->id];
  if (first->line == 0) {
    *first = pos_of(ld, k);
    return true;
  }
  char hint[512];
  snprintf(hint, sizeof hint, "first given at %s:%u:%u; merge the two", first->file, first->line,
           first->col);
  qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, k), span_of(k), hint,
               "section '%s' is given in two files", kn->path);
  return false;
}

static void walk_map(struct ld *ld, yaml_document_t *doc, const yaml_node_t *map,
                     const struct qcc_knob *parent, const char *prefix) {
  yaml_node_pair_t *start = map->data.mapping.pairs.start, *top = map->data.mapping.pairs.top;
  unsigned char seen_required[QCC_KNOB_COUNT] = {0};
  for (yaml_node_pair_t *pr = start; pr < top; pr++) {
    const yaml_node_t *k = yaml_document_get_node(doc, pr->key);
    const yaml_node_t *v = yaml_document_get_node(doc, pr->value);
    if (k == NULL || v == NULL || !budget(ld)) return;
    if (k->type != YAML_SCALAR_NODE) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, k), 1, "keys are plain names like 'port'",
                   "a key must be a single value, not %s", node_kind(k));
      continue;
    }
    bool dup = false;
    if (pr - start < LOAD_DUP_SCAN) {
      for (yaml_node_pair_t *q = start; q < pr; q++) {
        const yaml_node_t *qk = yaml_document_get_node(doc, q->key);
        if (qk != NULL && qk->type == YAML_SCALAR_NODE && strcmp(scalar(qk), scalar(k)) == 0) {
          char hint[96];
          snprintf(hint, sizeof hint, "first given at line %zu; remove one",
                   qk->start_mark.line + 1);
          qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, k), span_of(k), hint,
                       "duplicate key '%s'", scalar(k));
          dup = true;
          break;
        }
      }
    }
    if (dup) continue;
    const struct qcc_knob *kn = qcc_knob_child(parent, scalar(k));
    if (kn == NULL) {
      unknown_key(ld, k, prefix);
      continue;
    }
    seen_required[kn->id] = 1;
    if (prefix[0] == '\0' && !section_once(ld, kn, k)) continue;
    walk_value(ld, doc, kn, k, v);
  }
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *kn = &qcc_knobs[i];
    if ((kn->flags & QCC_KF_REQUIRED) == 0 || seen_required[i] || qcc_knob_parent(kn) != parent) {
      continue;
    }
    if (kn->id == QCC_K_VERSION && !ld->is_root) continue;
    char where[96], hint[128];
    where_text(prefix, where, sizeof where);
    if (kn->id == QCC_K_VERSION) snprintf(hint, sizeof hint, "add 'version: 1' at the top");
    else snprintf(hint, sizeof hint, "add '%s: ...'", qcc_knob_key(kn));
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, map), 1, hint, "missing key '%s' %s",
                 qcc_knob_key(kn), where);
  }
}

/* ---- files and includes ------------------------------------------------------ */

static const char *keep_file(struct ld *ld, const char *shown) {
  struct qcc_config *c = ld->cfg;
  c->files = append_slot(c->files, c->file_count, sizeof *c->files);
  c->files[c->file_count] = dupstr(shown);
  return c->files[c->file_count++];
}

static int read_all(const char *path, char **data, size_t *len) {
  struct stat st;
  /* A FIFO or device (include: /dev/stdin) could block or never end. */
  if (stat(path, &st) != 0) return -1;
  if (!S_ISREG(st.st_mode)) {
    errno = EISDIR;
    return S_ISDIR(st.st_mode) ? -1 : -2;
  }
  FILE *in = fopen(path, "rb");
  if (in == NULL) return -1;
  size_t cap = 0, n = 0;
  char *buf = NULL;
  for (;;) {
    if (n == cap) {
      if (cap >= LOAD_MAX_FILE) {
        free(buf);
        fclose(in);
        errno = EFBIG;
        return -1;
      }
      cap = cap == 0 ? 16384 : cap * 2;
      buf = grow(buf, cap + 1, 1);
    }
    size_t got = fread(buf + n, 1, cap - n, in);
    if (got == 0) break;
    n += got;
  }
  int failed = ferror(in);
  fclose(in);
  if (failed) {
    free(buf);
    errno = EIO;
    return -1;
  }
  if (buf == NULL) buf = grow(NULL, 1, 1);
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return 0;
}

static void syntax_error(struct ld *ld, const yaml_parser_t *p) {
  struct qcc_pos at = {ld->file, (uint32_t)p->problem_mark.line + 1,
                       (uint32_t)p->problem_mark.column + 1};
  char hint[256];
  if (p->context != NULL) {
    snprintf(hint, sizeof hint, "%s (line %zu); check indentation and quoting", p->context,
             p->context_mark.line + 1);
  } else {
    snprintf(hint, sizeof hint, "check indentation and quoting");
  }
  qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, hint, "YAML syntax error: %s",
               p->problem != NULL ? p->problem : "cannot parse");
  ld->out->fatal = true;
}

/* libcyaml must accept what the positional pass accepted, and agree on the
 * profiles it found; a disagreement is a bug in qccc, reported as such. */
static void cyaml_cross_check(struct ld *ld, const char *data, size_t len, size_t first_profile) {
  struct qcc_cyaml_doc *doc = NULL;
  char msg[256];
  struct qcc_pos at = {ld->file, 1, 1};
  if (qcc_cyaml_load(data, len, &doc, msg, sizeof msg) != 0) {
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "please report this as a qccc bug",
                 "internal: schema check disagrees: %s", msg);
    return;
  }
  size_t n = qcc_cyaml_doc_profiles(doc);
  bool same = n == ld->cfg->profile_count - first_profile;
  for (size_t i = 0; same && i < n; i++) {
    const struct qcc_profile_cfg *p = &ld->cfg->profiles[first_profile + i];
    const char *name = qcc_cyaml_doc_profile_name(doc, i);
    same = qcc_cyaml_doc_endpoints(doc, i) == p->endpoint_count &&
           (name == NULL) == (p->name == NULL) && (name == NULL || strcmp(name, p->name) == 0);
  }
  if (!same) {
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "please report this as a qccc bug",
                 "internal: schema check disagrees on the profiles of this file");
  }
  qcc_cyaml_doc_free(&doc);
}

static void dirname_of(const char *path, char *buf, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) snprintf(buf, cap, ".");
  else if (slash == path) snprintf(buf, cap, "/");
  else snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

static void load_file(struct ld *ld, const char *shown, const struct qcc_pos *from,
                      unsigned span);

/* "a/b/../c" -> "a/c", "a/./b" -> "a/b", lexically, so messages name files
 * the way a person would; leading ".." that cannot be folded are kept. */
static void normalize_path(char *path) {
  char *parts[256];
  size_t n = 0;
  bool abs = path[0] == '/';
  char copy[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", path);
  for (char *save = NULL, *t = strtok_r(copy, "/", &save); t != NULL;
       t = strtok_r(NULL, "/", &save)) {
    if (strcmp(t, ".") == 0) continue;
    if (strcmp(t, "..") == 0 && n > 0 && strcmp(parts[n - 1], "..") != 0) {
      n--;
      continue;
    }
    if (n == sizeof parts / sizeof parts[0]) return; /* leave odd paths alone */
    parts[n++] = t;
  }
  char out[PATH_MAX];
  size_t used = 0;
  out[0] = '\0';
  if (abs) out[used++] = '/';
  out[used] = '\0';
  for (size_t i = 0; i < n; i++) {
    int w = snprintf(out + used, sizeof out - used, "%s%s", i == 0 ? "" : "/", parts[i]);
    if (w < 0 || (size_t)w >= sizeof out - used) return;
    used += (size_t)w;
  }
  if (used == 0) snprintf(out, sizeof out, ".");
  memcpy(path, out, strlen(out) + 1); /* never longer than the input */
}

static void load_includes(struct ld *ld, char **incs, struct qcc_pos *pos, size_t n,
                          const char *shown) {
  char dir[PATH_MAX];
  dirname_of(shown, dir, sizeof dir);
  for (size_t i = 0; i < n && !ld->out->fatal; i++) {
    char path[PATH_MAX];
    int w;
    if (incs[i][0] == '/' || strcmp(dir, ".") == 0) w = snprintf(path, sizeof path, "%s", incs[i]);
    else w = snprintf(path, sizeof path, "%s/%s", dir, incs[i]);
    if (w < 0 || (size_t)w >= sizeof path) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos[i], 1, "use a shorter relative path",
                   "include path is too long");
      continue;
    }
    normalize_path(path);
    load_file(ld, path, &pos[i], (unsigned)strlen(incs[i]));
  }
}

/* Read SHOWN (as the user would name it) and walk it. FROM is the include
 * that asked for it, NULL for the root. */
static void load_file(struct ld *ld, const char *shown, const struct qcc_pos *from,
                      unsigned span) {
  char real[PATH_MAX];
  if (realpath(shown, real) == NULL) {
    int e = errno;
    if (from == NULL) {
      struct qcc_pos at = {keep_file(ld, shown), 0, 0};
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "pass the config with -c FILE",
                   "cannot read config: %s", strerror(e));
      ld->out->io_error = true;
      ld->out->fatal = true;
    } else {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span,
                   "include paths are relative to the including file",
                   "cannot read include '%s': %s", shown, strerror(e));
    }
    return;
  }
  if (from != NULL) {
    for (size_t i = 0; i < ld->depth; i++) {
      if (strcmp(ld->stack[i].real, real) != 0) continue;
      char chain[1024];
      size_t used = 0;
      for (size_t j = i; j < ld->depth; j++) {
        int n = snprintf(chain + used, sizeof chain - used, "%s -> ", ld->stack[j].shown);
        if (n > 0 && (size_t)n < sizeof chain - used) used += (size_t)n;
      }
      snprintf(chain + used, sizeof chain - used, "%s", shown);
      if (i + 1 == ld->depth) {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span, "remove this include",
                     "'%s' includes itself", ld->stack[i].shown);
      } else {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span, "remove one include of the cycle",
                     "include cycle: %s", chain);
      }
      return;
    }
    for (size_t i = 0; i < ld->seen_count; i++) {
      if (strcmp(ld->seen[i], real) == 0) {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span, "include each file once",
                     "'%s' is already included", shown);
        return;
      }
    }
    if (ld->depth >= LOAD_MAX_DEPTH) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span, "include the files from one place instead",
                   "includes nested more than %d deep", LOAD_MAX_DEPTH);
      return;
    }
  }
  char *data = NULL;
  size_t len = 0;
  int got = read_all(shown, &data, &len);
  if (got != 0) {
    const char *why = got == -2 ? "not a regular file" : strerror(errno);
    if (from == NULL) {
      struct qcc_pos at = {keep_file(ld, shown), 0, 0};
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "check the file's permissions and size",
                   "cannot read config: %s", why);
      ld->out->io_error = true;
      ld->out->fatal = true;
    } else {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, *from, span, "check the file's permissions and size",
                   "cannot read include '%s': %s",
                   shown, why);
    }
    return;
  }
  ld->seen = append_slot(ld->seen, ld->seen_count, sizeof *ld->seen);
  ld->seen[ld->seen_count++] = dupstr(real);
  const char *saved_file = ld->file;
  bool saved_root = ld->is_root;
  ld->file = keep_file(ld, shown);
  ld->is_root = from == NULL;
  ld->stack[ld->depth].real = ld->seen[ld->seen_count - 1];
  ld->stack[ld->depth].shown = ld->file;
  ld->depth++;

  yaml_parser_t parser;
  yaml_document_t doc;
  bool have_doc = false;
  if (!yaml_parser_initialize(&parser)) abort();
  yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
  if (!yaml_parser_load(&parser, &doc)) {
    syntax_error(ld, &parser);
  } else {
    have_doc = true;
    /* A second document would be silently ignored: say so. */
    yaml_document_t extra;
    if (!yaml_parser_load(&parser, &extra)) {
      syntax_error(ld, &parser);
    } else {
      const yaml_node_t *x = yaml_document_get_root_node(&extra);
      if (x != NULL) {
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, x), 1, "one config per file; use include",
                     "a second YAML document in one file");
      }
      yaml_document_delete(&extra);
    }
  }
  yaml_parser_delete(&parser);

  char **incs = NULL;
  struct qcc_pos *inc_pos = NULL;
  size_t inc_count = 0;
  if (have_doc && !ld->out->fatal) {
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    size_t errors_before = qcc_diags_errors(ld->d);
    size_t first_profile = ld->cfg->profile_count;
    char **saved_incs = ld->incs;
    struct qcc_pos *saved_pos = ld->inc_pos;
    size_t saved_count = ld->inc_count;
    ld->incs = NULL;
    ld->inc_pos = NULL;
    ld->inc_count = 0;
    if (root == NULL) {
      if (ld->is_root) {
        struct qcc_pos at = {ld->file, 1, 1};
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, 1, "add 'version: 1' and your profiles",
                     "the config is empty");
        ld->out->fatal = true; /* every later rule would only repeat it */
      }
    } else if (root->type != YAML_MAPPING_NODE) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, pos_of(ld, root), 1,
                   "a config starts with 'version: 1' and top-level keys",
                   "the top level must be a mapping of keys, not %s", node_kind(root));
      if (ld->is_root) ld->out->fatal = true;
    } else {
      walk_map(ld, &doc, root, NULL, "");
      if (qcc_diags_errors(ld->d) == errors_before && !ld->out->fatal) {
        cyaml_cross_check(ld, data, len, first_profile);
      }
    }
    incs = ld->incs;
    inc_pos = ld->inc_pos;
    inc_count = ld->inc_count;
    ld->incs = saved_incs;
    ld->inc_pos = saved_pos;
    ld->inc_count = saved_count;
  }
  if (have_doc) yaml_document_delete(&doc);
  free(data);

  load_includes(ld, incs, inc_pos, inc_count, ld->file);
  for (size_t i = 0; i < inc_count; i++) free(incs[i]);
  free(incs);
  free(inc_pos);

  ld->depth--;
  ld->file = saved_file;
  ld->is_root = saved_root;
}

int qcc_load(const char *path, struct qcc_loaded *l, struct qcc_diags *d) {
  memset(l, 0, sizeof *l);
  struct ld *ld = calloc(1, sizeof *ld);
  if (ld == NULL) abort();
  ld->out = l;
  ld->d = d;
  ld->prof = ld->ep = ld->tok = ld->price = SIZE_MAX;
  ld->cfg = calloc(1, sizeof *ld->cfg);
  if (ld->cfg == NULL) abort();
  l->cfg = ld->cfg;
  l->setting_pos = calloc(QCC_KNOB_COUNT, sizeof *l->setting_pos);
  if (l->setting_pos == NULL) abort();
  settings_defaults(ld->cfg);
  size_t errors_before = qcc_diags_errors(d);

  load_file(ld, path, NULL, 1);

  /* Per-profile load_balancing: unset keys come from loadbalancer. */
  const struct qcc_settings *s = &ld->cfg->settings;
  for (size_t i = 0; i < ld->cfg->profile_count; i++) {
    struct qcc_profile_cfg *p = &ld->cfg->profiles[i];
    unsigned set = ld->lb_set[i];
    p->lb_override = set != 0;
    if ((set & LB_SET_STRATEGY) == 0) p->lb_strategy = s->lb_strategy;
    if ((set & LB_SET_HEALTH) == 0) p->health_aware = s->health_aware;
    if ((set & LB_SET_STICKY) == 0) p->sticky_session = s->sticky_session;
  }
  for (size_t i = 0; i < ld->seen_count; i++) free(ld->seen[i]);
  free(ld->seen);
  free(ld->lb_set);
  free(ld);
  return qcc_diags_errors(d) == errors_before ? 0 : -1;
}

void qcc_loaded_release(struct qcc_loaded *l) {
  if (l == NULL) return;
  qcc_config_free(&l->cfg);
  for (size_t i = 0; i < l->group_count; i++) free(l->groups[i].name);
  free(l->groups);
  free(l->setting_pos);
  memset(l, 0, sizeof *l);
}
