/* The walk of phase 1, load: a YAML document's mappings, key by key,
 * against the knob table (schema/config_keys.h): unknown keys with "did you
 * mean", sections given twice, lists, dicts and free maps, the node budget
 * against alias bombs, and each scalar handed to load_scalar.c and stored by
 * load_config.c. Shares the loader's state through load_int.h. */
#include "load_int.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "schema/config_schema.h"
#include "schema/modelglob.h"

/* ---- the walk ------------------------------------------------------------- */

static void unknown_key(struct ld *ld, const yaml_node_t *k, const char *prefix) {
  const char *name = ld_scalar(k);
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
  ld_where_text(prefix, where, sizeof where);
  qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, k), ld_span_of(k), hint, "unknown key '%s' %s",
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
  if (qcc_modelglob_check(ld_scalar(k), k->data.scalar.length, &at, &why) == 0) return true;
  struct qcc_pos p = ld_pos_of(ld, k);
  bool quoted = k->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                k->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
  if (k->start_mark.line == k->end_mark.line) p.col += (uint32_t)at + (quoted ? 1 : 0);
  qcc_diag_add(ld->d, QCC_DIAG_ERROR, p, 1,
               "a key is a model name or a glob: '*' any run, '?' one character, '[a-z]' a set",
               "bad model pattern '%s': %s", ld_scalar(k), why);
  return false;
}

/* Free maps: models (string -> string) and metadata (string -> scalar). */
static void walk_free_map(struct ld *ld, yaml_document_t *doc, const struct qcc_knob *kn,
                          const yaml_node_t *map) {
  struct qcc_endpoint_cfg *e = ld_cur_endpoint(ld);
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
       pr++) {
    const yaml_node_t *k = yaml_document_get_node(doc, pr->key);
    const yaml_node_t *v = yaml_document_get_node(doc, pr->value);
    if (k == NULL || v == NULL || !budget(ld)) return;
    if (k->type != YAML_SCALAR_NODE || ld_is_null(k)) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, k), ld_span_of(k),
                   "write 'name: value' lines", "keys of '%s' must be single values",
                   qcc_knob_key(kn));
      continue;
    }
    const struct qcc_knob *typed = qcc_knob_child(kn, ld_scalar(k));
    if (typed != NULL) {
      struct qcc_knob_value tv;
      if (ld_check_scalar(ld, typed, v, &tv)) ld_store(ld, typed, &tv, k, v);
      if (v->type != YAML_SCALAR_NODE || ld_is_null(v)) continue;
    } else if (v->type != YAML_SCALAR_NODE || ld_is_null(v)) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, v), ld_span_of(v),
                   kn->kind == QCC_KNOB_STRMAP ? "write 'requested-model: upstream-model'"
                                               : "metadata values are single values",
                   "'%s.%s' must be a single value, not %s", qcc_knob_key(kn), ld_scalar(k),
                   ld_is_null(v) ? "empty" : ld_node_kind(v));
      continue;
    }
    if (kn->id == QCC_K_EP_MODELS && !model_pattern_ok(ld, k)) continue;
    if (e == NULL) continue;
    if (kn->id == QCC_K_EP_MODELS) {
      ld_add_pair(&e->models, &e->model_count, ld_scalar(k), ld_scalar(v), ld_pos_of(ld, k));
    } else {
      ld_add_pair(&e->metadata, &e->metadata_count, ld_scalar(k), ld_scalar(v), ld_pos_of(ld, k));
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
    if (k->type != YAML_SCALAR_NODE || ld_is_null(k) ||
        strlen(ld_scalar(k)) != k->data.scalar.length) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, k), ld_span_of(k),
                   "write a model name or glob, like claude-sonnet-4*",
                   "keys of '%s' must be model names", qcc_knob_key(kn));
      continue;
    }
    if (k->data.scalar.length > 255) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, k), 1, "model names are at most 255 bytes",
                   "a model name of %zu bytes in '%s'", k->data.scalar.length, qcc_knob_key(kn));
      continue;
    }
    bool dup = false;
    for (yaml_node_pair_t *q = start; q < pr && q - start < LOAD_DUP_SCAN; q++) {
      const yaml_node_t *qk = yaml_document_get_node(doc, q->key);
      if (qk != NULL && qk->type == YAML_SCALAR_NODE &&
          strcmp(ld_scalar(qk), ld_scalar(k)) == 0) {
        char hint[96];
        snprintf(hint, sizeof hint, "first given at line %zu; remove one", qk->start_mark.line + 1);
        qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, k), ld_span_of(k), hint,
                     "'%s' is priced twice", ld_scalar(k));
        dup = true;
        break;
      }
    }
    if (dup) continue;
    if (v->type != YAML_MAPPING_NODE) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, v), ld_span_of(v),
                   "write '{input: 3, output: 15}' (USD per million tokens)",
                   "the price of '%s' must be a mapping, not %s", ld_scalar(k),
                   ld_is_null(v) ? "empty" : ld_node_kind(v));
      continue;
    }
    ld_begin_price(ld, ld_scalar(k), ld_pos_of(ld, k));
    ld_walk_map(ld, doc, v, kn, child);
    ld->price = SIZE_MAX;
  }
}

static void walk_value(struct ld *ld, yaml_document_t *doc, const struct qcc_knob *kn,
                       const yaml_node_t *k, const yaml_node_t *val) {
  char child[160];
  ld_note_present(ld, kn);
  switch (kn->kind) {
    case QCC_KNOB_SECTION:
      if (ld_is_null(val)) return;
      if (val->type != YAML_MAPPING_NODE) {
        ld_wrong_type(ld, kn, val);
        return;
      }
      ld_walk_map(ld, doc, val, kn, kn->path);
      return;
    case QCC_KNOB_LIST:
      if (ld_is_null(val)) return;
      if (val->type != YAML_SEQUENCE_NODE) {
        ld_wrong_type(ld, kn, val);
        return;
      }
      snprintf(child, sizeof child, "%s[]", kn->path);
      for (yaml_node_item_t *it = val->data.sequence.items.start;
           it < val->data.sequence.items.top; it++) {
        const yaml_node_t *item = yaml_document_get_node(doc, *it);
        if (item == NULL || !budget(ld)) return;
        if (item->type != YAML_MAPPING_NODE) {
          qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, item), ld_span_of(item),
                       "write the item's keys ('key: value') after its '-'",
                       "each item of '%s' must be a mapping, not %s", qcc_knob_key(kn),
                       ld_node_kind(item));
          continue;
        }
        ld_begin_item(ld, kn->id, ld_pos_of(ld, item));
        ld_walk_map(ld, doc, item, kn, child);
        ld_end_item(ld, kn->id);
      }
      return;
    case QCC_KNOB_STRLIST:
      if (ld_is_null(val)) return;
      if (val->type != YAML_SEQUENCE_NODE) {
        ld_wrong_type(ld, kn, val);
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
        if (ld_check_scalar(ld, &str, item, &v)) ld_store(ld, kn, &v, k, item);
      }
      return;
    case QCC_KNOB_STRMAP:
    case QCC_KNOB_SCALARMAP:
      if (ld_is_null(val)) return;
      if (val->type != YAML_MAPPING_NODE) {
        ld_wrong_type(ld, kn, val);
        return;
      }
      walk_free_map(ld, doc, kn, val);
      return;
    case QCC_KNOB_DICT:
      if (ld_is_null(val)) return;
      if (val->type != YAML_MAPPING_NODE) {
        ld_wrong_type(ld, kn, val);
        return;
      }
      walk_dict(ld, doc, kn, val);
      return;
    default: {
      struct qcc_knob_value v;
      if (ld_check_scalar(ld, kn, val, &v)) ld_store(ld, kn, &v, k, val);
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
    *first = ld_pos_of(ld, k);
    return true;
  }
  char hint[512];
  snprintf(hint, sizeof hint, "first given at %s:%u:%u; merge the two", first->file, first->line,
           first->col);
  qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, k), ld_span_of(k), hint,
               "section '%s' is given in two files", kn->path);
  return false;
}

void ld_walk_map(struct ld *ld, yaml_document_t *doc, const yaml_node_t *map,
                 const struct qcc_knob *parent, const char *prefix) {
  yaml_node_pair_t *start = map->data.mapping.pairs.start, *top = map->data.mapping.pairs.top;
  unsigned char seen_required[QCC_KNOB_COUNT] = {0};
  for (yaml_node_pair_t *pr = start; pr < top; pr++) {
    const yaml_node_t *k = yaml_document_get_node(doc, pr->key);
    const yaml_node_t *v = yaml_document_get_node(doc, pr->value);
    if (k == NULL || v == NULL || !budget(ld)) return;
    if (k->type != YAML_SCALAR_NODE) {
      qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, k), 1, "keys are plain names like 'port'",
                   "a key must be a single value, not %s", ld_node_kind(k));
      continue;
    }
    bool dup = false;
    if (pr - start < LOAD_DUP_SCAN) {
      for (yaml_node_pair_t *q = start; q < pr; q++) {
        const yaml_node_t *qk = yaml_document_get_node(doc, q->key);
        if (qk != NULL && qk->type == YAML_SCALAR_NODE &&
            strcmp(ld_scalar(qk), ld_scalar(k)) == 0) {
          char hint[96];
          snprintf(hint, sizeof hint, "first given at line %zu; remove one",
                   qk->start_mark.line + 1);
          qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, k), ld_span_of(k), hint,
                       "duplicate key '%s'", ld_scalar(k));
          dup = true;
          break;
        }
      }
    }
    if (dup) continue;
    const struct qcc_knob *kn = qcc_knob_child(parent, ld_scalar(k));
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
    ld_where_text(prefix, where, sizeof where);
    if (kn->id == QCC_K_VERSION) snprintf(hint, sizeof hint, "add 'version: 1' at the top");
    else snprintf(hint, sizeof hint, "add '%s: ...'", qcc_knob_key(kn));
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, map), 1, hint, "missing key '%s' %s",
                 qcc_knob_key(kn), where);
  }
}
