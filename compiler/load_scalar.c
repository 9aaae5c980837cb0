/* One YAML node in phase 1, load: its position and span for diagnostics,
 * and validating a scalar against its knob (type, range, enum, duration,
 * size) with the error and hint when it does not fit. Shares the loader's
 * state through load_int.h. */
#include "load_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "schema/config_schema.h"

/* ---- positions ------------------------------------------------------------ */

struct qcc_pos ld_pos_of(const struct ld *ld, const yaml_node_t *n) {
  struct qcc_pos p = {ld->file, (uint32_t)n->start_mark.line + 1,
                      (uint32_t)n->start_mark.column + 1};
  return p;
}

unsigned ld_span_of(const yaml_node_t *n) {
  if (n->type == YAML_SCALAR_NODE && n->start_mark.line == n->end_mark.line &&
      n->end_mark.column > n->start_mark.column) {
    return (unsigned)(n->end_mark.column - n->start_mark.column);
  }
  if (n->type == YAML_SCALAR_NODE) return (unsigned)n->data.scalar.length;
  return 1;
}

const char *ld_scalar(const yaml_node_t *n) {
  return (const char *)n->data.scalar.value;
}

bool ld_is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const char *s = ld_scalar(n);
  return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
         strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *ld_node_kind(const yaml_node_t *n) {
  if (n->type == YAML_MAPPING_NODE) return "a mapping";
  if (n->type == YAML_SEQUENCE_NODE) return "a list";
  return "a single value";
}

/* "proxy", "profiles[].endpoints[]" -> words for messages. */
void ld_where_text(const char *prefix, char *buf, size_t cap) {
  if (prefix[0] == '\0') snprintf(buf, cap, "at the top level");
  else if (strcmp(prefix, "profiles[]") == 0) snprintf(buf, cap, "in a profile");
  else if (strcmp(prefix, "profiles[].endpoints[]") == 0) snprintf(buf, cap, "in an endpoint");
  else if (strcmp(prefix, "proxy.auth_tokens[]") == 0) snprintf(buf, cap, "in an auth token");
  else if (strcmp(prefix, "pricing{}") == 0) snprintf(buf, cap, "in a price");
  else snprintf(buf, cap, "in '%s'", prefix);
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

void ld_wrong_type(struct ld *ld, const struct qcc_knob *kn, const yaml_node_t *val) {
  char hint[320];
  type_hint(kn, hint, sizeof hint);
  qcc_diag_add(ld->d, QCC_DIAG_ERROR, ld_pos_of(ld, val), ld_span_of(val), hint,
               "'%s' must be %s, not %s", qcc_knob_key(kn), kind_words(kn), ld_node_kind(val));
}

/* Parse a scalar node for knob KN; diagnose and return false when bad. */
bool ld_check_scalar(struct ld *ld, const struct qcc_knob *kn, const yaml_node_t *val,
                     struct qcc_knob_value *out) {
  struct qcc_pos at = ld_pos_of(ld, val);
  unsigned span = ld_span_of(val);
  const char *key = qcc_knob_key(kn);
  bool secret = (kn->flags & QCC_KF_SECRET) != 0;
  char hint[320], range[96];
  if (val->type != YAML_SCALAR_NODE) {
    ld_wrong_type(ld, kn, val);
    return false;
  }
  if (ld_is_null(val)) {
    qcc_diag_add(ld->d, QCC_DIAG_ERROR, at, span, "give it a value or remove the key",
                 "'%s' has no value", key);
    return false;
  }
  const char *text = ld_scalar(val);
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
