#include "config_schema.h"

#include "pricing.h"

#include <cyaml/cyaml.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define QCC_KNOB_ROW_(id, path, kind, en, mn, mx, def, unit, flags, field, help) \
  {QCC_K_##id, path, kind, en, mn, mx, def, unit, flags, help},
const struct qcc_knob qcc_knobs[QCC_KNOB_COUNT] = {QCC_KNOBS(QCC_KNOB_ROW_)};
#undef QCC_KNOB_ROW_

const struct qcc_knob *qcc_knob_find(const char *path) {
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    if (strcmp(qcc_knobs[i].path, path) == 0) return &qcc_knobs[i];
  }
  return NULL;
}

const struct qcc_knob *qcc_knob_inherits(const struct qcc_knob *k) {
  return k->def != NULL && k->def[0] == '=' ? qcc_knob_find(k->def + 1) : NULL;
}

/* parent index per knob, -1 at the top level; built once. */
static int knob_parent[QCC_KNOB_COUNT];
static bool knob_parent_built;

static void build_parents(void) {
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const char *path = qcc_knobs[i].path, *dot = strrchr(path, '.');
    knob_parent[i] = -1;
    if (dot == NULL) continue;
    size_t len = (size_t)(dot - path);
    /* "profiles[].x" sits in profiles, "pricing{}.x" in pricing */
    if (len > 2 && ((path[len - 2] == '[' && path[len - 1] == ']') ||
                    (path[len - 2] == '{' && path[len - 1] == '}')))
      len -= 2;
    for (size_t j = 0; j < QCC_KNOB_COUNT; j++) {
      if (strlen(qcc_knobs[j].path) == len && strncmp(qcc_knobs[j].path, path, len) == 0) {
        knob_parent[i] = (int)j;
        break;
      }
    }
  }
  knob_parent_built = true;
}

const struct qcc_knob *qcc_knob_parent(const struct qcc_knob *k) {
  if (!knob_parent_built) build_parents();
  int p = knob_parent[k->id];
  return p < 0 ? NULL : &qcc_knobs[p];
}

const struct qcc_knob *qcc_knob_child(const struct qcc_knob *parent, const char *key) {
  if (!knob_parent_built) build_parents();
  int want = parent == NULL ? -1 : (int)parent->id;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    if (knob_parent[i] == want && strcmp(qcc_knob_key(&qcc_knobs[i]), key) == 0) {
      return &qcc_knobs[i];
    }
  }
  return NULL;
}

const char *qcc_knob_key(const struct qcc_knob *k) {
  const char *dot = strrchr(k->path, '.');
  return dot != NULL ? dot + 1 : k->path;
}

bool qcc_knob_is_child(const struct qcc_knob *k, const char *parent) {
  size_t n = strlen(parent);
  if (n == 0) return strchr(k->path, '.') == NULL;
  return strncmp(k->path, parent, n) == 0 && k->path[n] == '.' &&
         strchr(k->path + n + 1, '.') == NULL;
}

/* ---- scalar parsing ---------------------------------------------------- */

/* Leading decimal digits of S into *out; returns the count (0 = none).
 * *overflow is set when the number does not fit 64 bits. */
static size_t parse_digits(const char *s, uint64_t *out, bool *overflow) {
  uint64_t v = 0;
  size_t i = 0;
  *overflow = false;
  for (; isdigit((unsigned char)s[i]); i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) *overflow = true;
    else v = v * 10 + d;
  }
  *out = v;
  return i;
}

static bool mul_fits(uint64_t a, uint64_t b, uint64_t *out) {
  if (b != 0 && a > UINT64_MAX / b) return false;
  *out = a * b;
  return true;
}

bool qcc_knob_enum_parse(const struct qcc_enum_desc *d, const char *s, unsigned *out) {
  if (qcc_enum_parse(d, s, out)) return true;
  /* Users write "INFO" (the seed plan) and "round-robin"; accept any case
   * and '-' for '_' so the spelling rules are one sentence in the docs. */
  for (size_t i = 0; i < d->count; i++) {
    const char *a = d->names[i], *b = s;
    if (a == NULL) continue;
    for (; *a != '\0' && *b != '\0'; a++, b++) {
      char ca = (char)tolower((unsigned char)*a), cb = (char)tolower((unsigned char)*b);
      if (ca == '-') ca = '_';
      if (cb == '-') cb = '_';
      if (ca != cb) break;
    }
    if (*a == '\0' && *b == '\0') {
      *out = (unsigned)i;
      return true;
    }
  }
  return false;
}

static enum qcc_knob_status check_range(const struct qcc_knob *k, uint64_t v) {
  return v < k->min || v > k->max ? QCC_KNOB_BAD_RANGE : QCC_KNOB_OK;
}

static enum qcc_knob_status parse_unit_number(const struct qcc_knob *k, const char *text,
                                              uint64_t *out) {
  static const struct {
    const char *unit;
    uint64_t mul;
  } durations[] = {{"ms", 1}, {"s", QCC_MS_SEC}, {"m", QCC_MS_MIN}, {"h", QCC_MS_HOUR},
                   {"d", QCC_MS_DAY}, {"", QCC_MS_SEC}},
    sizes[] = {{"B", 1}, {"KB", 1000}, {"KiB", QCC_KIB}, {"MB", 1000000}, {"MiB", QCC_MIB},
               {"GB", 1000000000}, {"GiB", QCC_GIB}, {"", 1}};
  bool overflow;
  uint64_t n;
  /* "off" as written; false is how YAML 1.1 tools read a plain off */
  if ((k->flags & QCC_KF_OFF) != 0 && (strcmp(text, "off") == 0 || strcmp(text, "false") == 0)) {
    *out = 0;
    return QCC_KNOB_OK;
  }
  size_t len = parse_digits(text, &n, &overflow);
  if (len == 0) return text[0] == '-' && isdigit((unsigned char)text[1]) ? QCC_KNOB_BAD_RANGE
                                                                         : QCC_KNOB_BAD_SYNTAX;
  const char *unit = text + len;
  bool dur = k->kind == QCC_KNOB_DURATION;
  size_t count = dur ? sizeof durations / sizeof durations[0] : sizeof sizes / sizeof sizes[0];
  for (size_t i = 0; i < count; i++) {
    const char *u = dur ? durations[i].unit : sizes[i].unit;
    uint64_t mul = dur ? durations[i].mul : sizes[i].mul;
    if (strcmp(unit, u) != 0) continue;
    if (overflow || !mul_fits(n, mul, out)) {
      *out = UINT64_MAX;
      return QCC_KNOB_BAD_RANGE;
    }
    return check_range(k, *out);
  }
  return QCC_KNOB_BAD_SYNTAX;
}

/* "3", "0.5", "3.750000" -> millionths; no exponent, no sign but a
 * leading '-' (out of range), at most 6 decimals (BAD_SYNTAX beyond). */
static enum qcc_knob_status parse_decimal(const struct qcc_knob *k, const char *text,
                                          uint64_t *out) {
  bool neg = text[0] == '-', overflow;
  const char *s = neg || text[0] == '+' ? text + 1 : text;
  uint64_t whole = 0, frac = 0;
  size_t wl = parse_digits(s, &whole, &overflow), fl = 0;
  const char *p = s + wl;
  if (*p == '.') {
    p++;
    for (; isdigit((unsigned char)p[fl]); fl++) {
      if (fl < 6) frac = frac * 10 + (uint64_t)(p[fl] - '0');
      else if (p[fl] != '0') return QCC_KNOB_BAD_SYNTAX; /* trailing zeros are harmless */
    }
    p += fl;
  }
  if ((wl == 0 && fl == 0) || *p != '\0') return QCC_KNOB_BAD_TYPE;
  for (size_t i = fl; i < 6; i++) frac *= 10;
  if (overflow || !mul_fits(whole, QCC_DEC_ONE, out) || *out > UINT64_MAX - frac) {
    *out = UINT64_MAX;
    return QCC_KNOB_BAD_RANGE;
  }
  *out += frac;
  if (neg && *out != 0) {
    *out = 0;
    return QCC_KNOB_BAD_RANGE;
  }
  return check_range(k, *out);
}

enum qcc_knob_status qcc_knob_parse(const struct qcc_knob *k, const char *text,
                                    struct qcc_knob_value *out) {
  memset(out, 0, sizeof *out);
  switch (k->kind) {
    case QCC_KNOB_BOOL:
      if (strcmp(text, "true") == 0 || strcmp(text, "True") == 0 || strcmp(text, "TRUE") == 0) {
        out->flag = true;
        return QCC_KNOB_OK;
      }
      if (strcmp(text, "false") == 0 || strcmp(text, "False") == 0 ||
          strcmp(text, "FALSE") == 0) {
        out->flag = false;
        return QCC_KNOB_OK;
      }
      return QCC_KNOB_BAD_TYPE;
    case QCC_KNOB_INT: {
      bool overflow, neg = text[0] == '-';
      const char *s = neg || text[0] == '+' ? text + 1 : text;
      size_t len = parse_digits(s, &out->num, &overflow);
      if (len == 0 || s[len] != '\0') return QCC_KNOB_BAD_TYPE;
      if (neg || overflow) {
        out->num = neg ? 0 : UINT64_MAX;
        return QCC_KNOB_BAD_RANGE;
      }
      return check_range(k, out->num);
    }
    case QCC_KNOB_DURATION:
    case QCC_KNOB_SIZE:
      return parse_unit_number(k, text, &out->num);
    case QCC_KNOB_DECIMAL:
      return parse_decimal(k, text, &out->num);
    case QCC_KNOB_STRING: {
      size_t len = strlen(text);
      out->str = text;
      out->num = len;
      return check_range(k, len);
    }
    case QCC_KNOB_ENUM: {
      unsigned v;
      if (k->enum_desc == NULL || !qcc_knob_enum_parse(k->enum_desc, text, &v)) {
        return QCC_KNOB_BAD_TYPE;
      }
      out->num = v;
      return QCC_KNOB_OK;
    }
    default:
      return QCC_KNOB_BAD_TYPE;
  }
}

void qcc_format_duration(uint64_t ms, char *buf, size_t cap) {
  /* days only past one, so "24h" reads as it always did */
  if (ms > QCC_MS_DAY && ms % QCC_MS_DAY == 0) snprintf(buf, cap, "%" PRIu64 "d", ms / QCC_MS_DAY);
  else if (ms != 0 && ms % QCC_MS_HOUR == 0) snprintf(buf, cap, "%" PRIu64 "h", ms / QCC_MS_HOUR);
  else if (ms != 0 && ms % QCC_MS_MIN == 0) snprintf(buf, cap, "%" PRIu64 "m", ms / QCC_MS_MIN);
  else if (ms % QCC_MS_SEC == 0) snprintf(buf, cap, "%" PRIu64 "s", ms / QCC_MS_SEC);
  else snprintf(buf, cap, "%" PRIu64 "ms", ms);
}

void qcc_format_size(uint64_t bytes, char *buf, size_t cap) {
  if (bytes != 0 && bytes % QCC_GIB == 0) snprintf(buf, cap, "%" PRIu64 "GiB", bytes / QCC_GIB);
  else if (bytes != 0 && bytes % QCC_MIB == 0) snprintf(buf, cap, "%" PRIu64 "MiB", bytes / QCC_MIB);
  else if (bytes != 0 && bytes % QCC_KIB == 0) snprintf(buf, cap, "%" PRIu64 "KiB", bytes / QCC_KIB);
  else snprintf(buf, cap, "%" PRIu64, bytes);
}

static void format_value(const struct qcc_knob *k, uint64_t v, char *buf, size_t cap) {
  if (k->kind == QCC_KNOB_DURATION) qcc_format_duration(v, buf, cap);
  else if (k->kind == QCC_KNOB_DECIMAL) qcc_decimal_text(v, buf, cap);
  else if (k->kind == QCC_KNOB_SIZE) qcc_format_size(v, buf, cap);
  else snprintf(buf, cap, "%" PRIu64, v);
}

void qcc_knob_range_text(const struct qcc_knob *k, char *buf, size_t cap) {
  char lo[32], hi[32];
  format_value(k, k->min, lo, sizeof lo);
  format_value(k, k->max, hi, sizeof hi);
  if (k->kind == QCC_KNOB_STRING) snprintf(buf, cap, "%s to %s characters", lo, hi);
  else if (k->min == k->max) snprintf(buf, cap, "exactly %s", lo);
  else snprintf(buf, cap, "from %s to %s", lo, hi);
}

/* ---- JSON Schema --------------------------------------------------------- */

static void json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c == '\n') fputs("\\n", out);
    else if (c < 0x20) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

static void indent(FILE *out, int n) {
  fprintf(out, "%*s", n * 2, "");
}

static void json_object_body(FILE *out, const char *prefix, int depth);
static void json_properties(FILE *out, const char *prefix, int depth);

static void json_default(FILE *out, const struct qcc_knob *k, int depth) {
  struct qcc_knob_value v;
  if (k->def == NULL || qcc_knob_parse(k, k->def, &v) != QCC_KNOB_OK) return;
  fputs(",\n", out);
  indent(out, depth);
  fputs("\"default\": ", out);
  if (k->kind == QCC_KNOB_BOOL) fputs(v.flag ? "true" : "false", out);
  else if (k->kind == QCC_KNOB_INT || k->kind == QCC_KNOB_DECIMAL) fputs(k->def, out);
  else json_str(out, k->def);
}

static void json_scalar(FILE *out, const struct qcc_knob *k, int depth) {
  indent(out, depth);
  fputs("\"description\": ", out);
  json_str(out, k->help);
  fputs(",\n", out);
  indent(out, depth);
  switch (k->kind) {
    case QCC_KNOB_BOOL:
      fputs("\"type\": \"boolean\"", out);
      break;
    case QCC_KNOB_INT:
      fprintf(out, "\"type\": \"integer\", \"minimum\": %" PRIu64 ", \"maximum\": %" PRIu64,
              k->min, k->max);
      break;
    case QCC_KNOB_DURATION:
      /* Plain integers are seconds; the pattern covers the suffixed forms
       * (their range is enforced by qccc, not expressible here). */
      fprintf(out,
              "\"oneOf\": [{\"type\": \"integer\", \"minimum\": %" PRIu64 ", \"maximum\": %" PRIu64
              "}, {\"type\": \"string\", \"pattern\": \"%s\"}%s]",
              (k->min + QCC_MS_SEC - 1) / QCC_MS_SEC, k->max / QCC_MS_SEC,
              (k->flags & QCC_KF_OFF) != 0 ? "^([0-9]+(ms|s|m|h|d)?|off)$" : "^[0-9]+(ms|s|m|h|d)?$",
              (k->flags & QCC_KF_OFF) != 0 ? ", {\"const\": false}" : "");
      break;
    case QCC_KNOB_SIZE:
      fprintf(out,
              "\"oneOf\": [{\"type\": \"integer\", \"minimum\": %" PRIu64 ", \"maximum\": %" PRIu64
              "}, {\"type\": \"string\", \"pattern\": \"^[0-9]+(B|KB|KiB|MB|MiB|GB|GiB)?$\"}]",
              k->min, k->max);
      break;
    case QCC_KNOB_DECIMAL: {
      char lo[32], hi[32];
      qcc_decimal_text(k->min, lo, sizeof lo);
      qcc_decimal_text(k->max, hi, sizeof hi);
      fprintf(out, "\"type\": \"number\", \"minimum\": %s, \"maximum\": %s", lo, hi);
      break;
    }
    case QCC_KNOB_STRING:
      fprintf(out, "\"type\": \"string\", \"minLength\": %" PRIu64 ", \"maxLength\": %" PRIu64,
              k->min, k->max);
      break;
    case QCC_KNOB_ENUM:
      /* Editors complete from the enum; the pattern accepts exactly the
       * other spellings qccc accepts (any case, '-' for '_'). */
      fputs("\"anyOf\": [{\"enum\": [", out);
      for (size_t i = 0; i < k->enum_desc->count; i++) {
        if (i > 0) fputs(", ", out);
        json_str(out, k->enum_desc->names[i]);
      }
      fputs("]}, {\"type\": \"string\", \"pattern\": \"^(", out);
      for (size_t i = 0; i < k->enum_desc->count; i++) {
        if (i > 0) fputc('|', out);
        for (const char *c = k->enum_desc->names[i]; *c != '\0'; c++) {
          if (*c == '-' || *c == '_') fputs("[-_]", out);
          else if (isalpha((unsigned char)*c)) {
            fprintf(out, "[%c%c]", tolower((unsigned char)*c), toupper((unsigned char)*c));
          }
          else fputc(*c, out);
        }
      }
      fputs(")$\"}]", out);
      break;
    default:
      break;
  }
  json_default(out, k, depth);
}

static void json_knob(FILE *out, const struct qcc_knob *k, int depth) {
  char child[160];
  switch (k->kind) {
    case QCC_KNOB_SECTION:
      indent(out, depth);
      fputs("\"description\": ", out);
      json_str(out, k->help);
      fputs(",\n", out);
      json_object_body(out, k->path, depth);
      break;
    case QCC_KNOB_LIST:
      indent(out, depth);
      fputs("\"description\": ", out);
      json_str(out, k->help);
      fputs(",\n", out);
      indent(out, depth);
      fputs("\"type\": \"array\",\n", out);
      indent(out, depth);
      fputs("\"items\": {\n", out);
      snprintf(child, sizeof child, "%s[]", k->path);
      json_object_body(out, child, depth + 1);
      fputc('\n', out);
      indent(out, depth);
      fputc('}', out);
      break;
    case QCC_KNOB_STRLIST:
      indent(out, depth);
      fputs("\"description\": ", out);
      json_str(out, k->help);
      fputs(",\n", out);
      indent(out, depth);
      fputs("\"type\": \"array\", \"items\": {\"type\": \"string\"}", out);
      break;
    case QCC_KNOB_STRMAP:
      indent(out, depth);
      fputs("\"description\": ", out);
      json_str(out, k->help);
      fputs(",\n", out);
      indent(out, depth);
      fputs("\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\"}", out);
      break;
    case QCC_KNOB_SCALARMAP:
      indent(out, depth);
      fputs("\"description\": ", out);
      json_str(out, k->help);
      fputs(",\n", out);
      indent(out, depth);
      fputs("\"type\": \"object\",\n", out);
      indent(out, depth);
      fputs("\"additionalProperties\": {\"type\": [\"string\", \"number\", \"boolean\"]},\n", out);
      /* Typed children of a free map (metadata.rate_limit). */
      json_properties(out, k->path, depth);
      break;
    case QCC_KNOB_DICT:
      indent(out, depth);
      fputs("\"description\": ", out);
      json_str(out, k->help);
      fputs(",\n", out);
      indent(out, depth);
      fputs("\"type\": \"object\",\n", out);
      indent(out, depth);
      fputs("\"additionalProperties\": {\n", out);
      snprintf(child, sizeof child, "%s{}", k->path);
      json_object_body(out, child, depth + 1);
      fputc('\n', out);
      indent(out, depth);
      fputc('}', out);
      break;
    default:
      json_scalar(out, k, depth);
      break;
  }
}

static void json_properties(FILE *out, const char *prefix, int depth) {
  indent(out, depth);
  fputs("\"properties\": {", out);
  bool first = true;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    if (!qcc_knob_is_child(k, prefix)) continue;
    fputs(first ? "\n" : ",\n", out);
    first = false;
    indent(out, depth + 1);
    json_str(out, qcc_knob_key(k));
    fputs(": {\n", out);
    json_knob(out, k, depth + 2);
    fputc('\n', out);
    indent(out, depth + 1);
    fputc('}', out);
  }
  fputc('\n', out);
  indent(out, depth);
  fputc('}', out);
}

/* "type": "object", no other keys, "properties": {...}, "required": [...] */
static void json_object_body(FILE *out, const char *prefix, int depth) {
  indent(out, depth);
  fputs("\"type\": \"object\",\n", out);
  indent(out, depth);
  fputs("\"additionalProperties\": false,\n", out);
  json_properties(out, prefix, depth);
  bool first = true;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    if (!qcc_knob_is_child(k, prefix) || (k->flags & QCC_KF_REQUIRED) == 0) continue;
    fputs(first ? ",\n" : ", ", out);
    if (first) {
      indent(out, depth);
      fputs("\"required\": [", out);
    }
    first = false;
    json_str(out, qcc_knob_key(k));
  }
  if (!first) fputc(']', out);
}

int qcc_config_schema_json(FILE *out) {
  fputs("{\n", out);
  fputs("  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n", out);
  fputs("  \"$id\": \"https://qcc.invalid/qcc.schema.json\",\n", out);
  fputs("  \"title\": \"qcc.yaml\",\n", out);
  fputs("  \"description\": \"qcc config (generated from schema/config_keys.h by "
        "qcc_config_schema_json; do not edit)\",\n",
        out);
  json_object_body(out, "", 1);
  fputs("\n}\n", out);
  return ferror(out) ? -1 : 0;
}

/* ---- Markdown reference ---------------------------------------------------- */

static const char *kind_name(const struct qcc_knob *k) {
  switch (k->kind) {
    case QCC_KNOB_BOOL: return "bool";
    case QCC_KNOB_INT: return "integer";
    case QCC_KNOB_DURATION: return "duration";
    case QCC_KNOB_SIZE: return "size";
    case QCC_KNOB_STRING: return "string";
    case QCC_KNOB_ENUM: return "enum";
    case QCC_KNOB_DECIMAL: return "number";
    case QCC_KNOB_SECTION: return "mapping";
    case QCC_KNOB_LIST: return "list of mappings";
    case QCC_KNOB_STRLIST: return "list of strings";
    case QCC_KNOB_STRMAP: return "mapping string -> string";
    case QCC_KNOB_SCALARMAP: return "mapping string -> scalar";
    case QCC_KNOB_DICT: return "mapping name -> mapping";
  }
  return "?";
}

static void md_legal(FILE *out, const struct qcc_knob *k) {
  char buf[256];
  if (k->kind == QCC_KNOB_ENUM) {
    for (size_t i = 0; i < k->enum_desc->count; i++) {
      fprintf(out, "%s`%s`", i == 0 ? "" : ", ", k->enum_desc->names[i]);
    }
  } else if (k->kind == QCC_KNOB_INT || k->kind == QCC_KNOB_DURATION ||
             k->kind == QCC_KNOB_SIZE || k->kind == QCC_KNOB_STRING ||
             k->kind == QCC_KNOB_DECIMAL) {
    qcc_knob_range_text(k, buf, sizeof buf);
    fputs(buf, out);
  }
}

static const char md_intro[] =
    "# qcc.yaml reference\n\n"
    "<!-- Generated from schema/config_keys.h by qcc_config_reference_md; do not edit.\n"
    "     Regenerate: frontend-tool reference-md > docs/config-reference.md\n"
    "     (tests/frontend checks that this file matches the table). -->\n\n"
    "qcc reads one YAML file (default `./qcc.yaml`), plus the files it `include`s, and\n"
    "`qccc validate` checks it; `qccc build` compiles it into `table.bin`. Editors with a\n"
    "YAML language server can check and complete it with `schema/qcc.schema.json`, which is\n"
    "generated from the same table as this page.\n\n"
    "## Values\n\n"
    "- **duration**: `500ms`, `30s`, `5m`, `1h`, `30d`, or a plain integer = seconds.\n"
    "- **number**: `3`, `0.5`, `3.75`: at most 6 decimals, never negative.\n"
    "- **size**: plain integer bytes, or with `B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB`.\n"
    "- **enum**: case-insensitive, and `-` equals `_` (`round-robin`, `INFO`).\n"
    "- **bool**: `true` / `false` (also `True`, `TRUE` ...; not `yes` / `no`).\n"
    "- A key with an empty value (`cert:`) is an error: remove the key instead.\n"
    "- A key given twice in one mapping is an error.\n\n"
    "## Files and includes\n\n"
    "`include:` lists files relative to the including file. Their profiles are appended\n"
    "after the including file's, in order; their `profile_groups` are merged. Any other\n"
    "section (`proxy`, `health` ...) may appear in one file only. `version` is required in\n"
    "the root file and optional (but must be 1) in included files. A missing include, a file\n"
    "that includes itself, include cycles and a file included twice are errors.\n\n"
    "## Profiles, groups and endpoints\n\n"
    "- Profile names are unique; endpoint ids are unique across the whole config (live\n"
    "  state follows the id across reloads).\n"
    "- A profile's group is its `priority` (default `primary`). `profile_groups` may place\n"
    "  profiles instead; it must name existing profiles, each once, and agree with a\n"
    "  `priority` the profile gives itself.\n"
    "- At least one enabled endpoint must exist in an enabled primary profile.\n"
    "- `from: ID` reuses `base_url`, the key source and `auth` of endpoint ID (chains are\n"
    "  followed; a missing ID or a cycle is an error). Every other field is the\n"
    "  endpoint's own or its default, and fields it gives itself win.\n"
    "- `base_url` is `http://` or `https://` with a host (trailing `/` removed), no\n"
    "  `user:password@`. Plain `http://` is allowed only to loopback (`127.x`, `::1`,\n"
    "  `localhost`) unless the endpoint sets `allow_insecure: true`.\n"
    "- An endpoint without `from:` needs exactly one of `api_key_env`, `api_key_file`,\n"
    "  `api_key`; two key sources on one endpoint are an error.\n"
    "- A default written \"as `upstream.timeout`\" is that setting's value: an endpoint's\n"
    "  `timeout`, `connect_timeout`, `request_timeout`, `stream_idle_timeout` and `ca_file`\n"
    "  come from `upstream.*` and `tls.ca_file` unless the endpoint gives its own; a\n"
    "  profile's `load_balancing.*` from `loadbalancer.*`. The table holds each endpoint's\n"
    "  resolved value.\n"
    "- `proxy` is `http://`, `https://`, `socks5://` or `socks5h://` (names resolved by the\n"
    "  proxy) with a host, never `user:password@`: put the credentials in an environment\n"
    "  variable as `user:password` and name it in `proxy_credentials_env`.\n"
    "- Paths (`ca_file`, `ca_path`, `cert`, `key`, `api_key_file`) are used as written:\n"
    "  a relative path is relative to the directory qcc-run runs in.\n\n"
    "## Model maps\n\n"
    "An endpoint's `models:` rewrites the top-level `model` of a request body\n"
    "(`/v1/messages` and `/v1/messages/count_tokens` alike) before it is sent. A key\n"
    "is a model name or a glob: `*` any run of characters, `?` one character,\n"
    "`[a-z]` / `[!a-z]` one character of a set or not in it; quote keys that start\n"
    "with `*` (`\"*\": deepseek-chat`, else YAML reads an alias). A bad glob is a\n"
    "compile error at its line and column. When several keys match, the most\n"
    "specific wins: an exact name beats every glob; among globs the one with the\n"
    "most literal characters (a set counts as none); a tie goes to the key written\n"
    "first. `\"*\"` is the default for every other name; without it unmatched\n"
    "names pass unchanged.\n\n"
    "```yaml\n"
    "models:\n"
    "  \"claude-*opus*\": glm-4.6      # claude-opus-4-1, claude-opus-5-5 ...\n"
    "  claude-haiku-4-5: glm-4.5-air  # exact: wins over every glob\n"
    "  \"*\": deepseek-chat           # everything else\n"
    "```\n\n"
    "## Secrets\n\n"
    "The table stores key references (variable name or file path), never the key;\n"
    "qcc-run reads them at load and at every reload. A literal `api_key` (or auth token\n"
    "`value`) is a warning, and an error under `--strict`; qccc never prints it.\n"
    "`--check-secrets` also checks that every `api_key_env` / `env` is set and non-empty\n"
    "and every `api_key_file` / `file` is readable, on this machine.\n\n"
    "## Listener\n\n"
    "`ssl_enabled: true` makes qcc-run serve HTTPS (TLS 1.2 and 1.3, forward-secret AEAD\n"
    "ciphers, ALPN `http/1.1`) with `cert` (PEM, the leaf then its chain) and `key` (PEM),\n"
    "both absolute paths. qcc-run reads them at start (a missing or unreadable file, or a\n"
    "key that does not match, stops it with the path and reason) and again at every table\n"
    "load, including SIGHUP: renew the files in place and send SIGHUP. A reload whose\n"
    "files are broken is rejected and the current certificate keeps serving. Clients then\n"
    "use `ANTHROPIC_BASE_URL=https://HOST:PORT` and trust the CA (`NODE_EXTRA_CA_CERTS`\n"
    "for Claude Code and the SDK, `--cacert` for curl). A `host` that is not loopback\n"
    "without `auth_tokens` is a warning: qcc-run refuses to start that way.\n\n"
    "## Alerts\n\n"
    "With `health.alert_enabled` (the default) qcc-run raises an alert, as a warning\n"
    "line in its log, when an endpoint is unhealthy after `health.alert_threshold`\n"
    "failures in a row (`endpoint_unhealthy`, later `endpoint_recovered`), when the\n"
    "active profile changes (`profile_switch`), when no enabled endpoint can take a\n"
    "request for `alert_threshold` seconds (`all_down`, later `all_down_over`), and\n"
    "when an endpoint's `budget:` is spent (`budget_spent`). Each alert is one JSON\n"
    "object: `type` (`qcc_alert`), `kind`, `time` (UTC), `message`,\n"
    "and `endpoint`, `profile`, `detail` where they apply; never a key.\n\n"
    "- `alerts.exec` runs `/bin/sh -c COMMAND` with the alert as one line on stdin and\n"
    "  `QCC_ALERT_KIND` set, in its own process group, killed after `alerts.timeout`.\n"
    "  Its environment holds only PATH, HOME, USER, LANG, LC_ALL, DISPLAY,\n"
    "  WAYLAND_DISPLAY, XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS: never the\n"
    "  variables that hold API keys. A desktop notification:\n"
    "  `exec: \"jq -r .message | xargs -0 notify-send qcc\"`. A chat room (Slack's\n"
    "  incoming webhook wants `{\"text\": ...}`; the URL is kept in a file of mode 0600):\n"
    "  `exec: \"jq '{text: .message}' | curl -sS -m 5 -H 'content-type: application/json'\n"
    "  -d @- \\\"$(cat ~/.config/qcc/slack-url)\\\"\"`.\n"
    "- `alerts.webhook` receives the same object as a JSON POST (for a relay that takes\n"
    "  any JSON: ntfy, n8n, a team bot); a connection error, 5xx or 429 is tried again\n"
    "  after 1 s and 2 s, each try bounded by `alerts.timeout`.\n\n"
    "Nothing waits for a hook: qcc-run keeps serving while one runs, and at most 8\n"
    "deliveries run at once (more are dropped, with a log line).\n\n"
    "## Pricing and budgets\n\n"
    "`pricing:` maps a model name, or a glob with `*` and `?`, to USD per million tokens;\n"
    "an exact name beats every glob, and among globs the one with the most literal\n"
    "characters wins (a tie: the first in the file). `input` and `output` are required;\n"
    "a cache kind left out has no price, and its tokens are counted as unpriced, never\n"
    "guessed. An endpoint's `price_multiplier` scales the list price. `budget:` on an\n"
    "endpoint rests it when spent until the day or month ends in `usage.timezone`; on an\n"
    "auth token it answers that client 429 until then. Details: docs/usage.md.\n\n"
    "## Every key\n\n"
    "Paths use `[]` for the items of a list: `profiles[].endpoints[].weight`, and `{}`\n"
    "for the entries of a mapping keyed by a name you choose: `pricing{}.input`. The same\n"
    "names (with an item's name for `[]`, the entry's key for `{}`) are what `qccc show`\n"
    "prints and what `qccc config get` / `set` take: `profiles.main.endpoints.e1.weight`,\n"
    "`pricing.glm-4.6.input`.\n"
    "A key not listed here is an error, with a \"did you mean\" hint.\n\n"
    "| key | type | default | legal values | meaning |\n"
    "|---|---|---|---|---|\n";

int qcc_config_reference_md(FILE *out) {
  fputs(md_intro, out);
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    /* Durations and sizes show their written forms; other units are named. */
    bool unit = k->unit[0] != '\0' && k->kind != QCC_KNOB_DURATION && k->kind != QCC_KNOB_SIZE;
    fprintf(out, "| `%s` | %s%s%s%s%s | ", k->path, kind_name(k), unit ? " (" : "",
            unit ? k->unit : "", unit ? ")" : "",
            (k->flags & QCC_KF_REQUIRED) != 0 ? ", required" : "");
    if (qcc_knob_inherits(k) != NULL) fprintf(out, "as `%s`", k->def + 1);
    else if (k->def != NULL) fprintf(out, "`%s`", k->def);
    fputs(" | ", out);
    md_legal(out, k);
    fprintf(out, " | %s |\n", k->help);
  }
  return ferror(out) ? -1 : 0;
}

/* ---- libcyaml skeleton ------------------------------------------------------
 * One generic node type serves every mapping level: scalars land in s[], a
 * section or list in c[]/n[]. The cyaml field arrays are generated from the
 * knob table, so libcyaml enforces the same key set as the positional pass. */

#define CY_MAX_SCALARS 24
#define CY_MAX_CHILDREN 16
#define CY_MAX_LEVELS 24

struct cy_node {
  char *s[CY_MAX_SCALARS];
  void *c[CY_MAX_CHILDREN];
  unsigned n[CY_MAX_CHILDREN];
};

struct qcc_cyaml_doc {
  struct cy_node *root;
};

struct cy_level {
  char prefix[96];
  cyaml_schema_field_t fields[CY_MAX_SCALARS + CY_MAX_CHILDREN + 1];
  cyaml_schema_value_t entry; /* this level as a list item */
};

static struct cy_level cy_levels[CY_MAX_LEVELS];
static size_t cy_level_count;
static cyaml_schema_value_t cy_root;
static bool cy_built, cy_ok;

static const cyaml_schema_value_t cy_string_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static struct cy_level *cy_build(const char *prefix);

static bool cy_add_field(struct cy_level *lv, size_t *nf, size_t *ns, size_t *nc,
                         const struct qcc_knob *k) {
  cyaml_schema_field_t *f = &lv->fields[*nf];
  char child[128];
  memset(f, 0, sizeof *f);
  f->key = qcc_knob_key(k);
  switch (k->kind) {
    case QCC_KNOB_SECTION: {
      struct cy_level *sub = cy_build(k->path);
      if (sub == NULL || *nc >= CY_MAX_CHILDREN) return false;
      f->data_offset = (uint32_t)offsetof(struct cy_node, c[*nc]);
      f->value.type = CYAML_MAPPING;
      f->value.flags = CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL;
      f->value.data_size = sizeof(struct cy_node);
      f->value.mapping.fields = sub->fields;
      (*nc)++;
      break;
    }
    case QCC_KNOB_LIST:
    case QCC_KNOB_STRLIST: {
      const cyaml_schema_value_t *entry = &cy_string_entry;
      uint32_t size = sizeof(char *);
      if (k->kind == QCC_KNOB_LIST) {
        snprintf(child, sizeof child, "%s[]", k->path);
        struct cy_level *sub = cy_build(child);
        if (sub == NULL) return false;
        entry = &sub->entry;
        size = sizeof(struct cy_node);
      }
      if (*nc >= CY_MAX_CHILDREN) return false;
      f->data_offset = (uint32_t)offsetof(struct cy_node, c[*nc]);
      f->count_offset = (uint32_t)offsetof(struct cy_node, n[*nc]);
      f->count_size = sizeof(unsigned);
      f->value.type = CYAML_SEQUENCE;
      f->value.flags = CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL;
      f->value.data_size = size;
      f->value.sequence.entry = entry;
      f->value.sequence.min = 0;
      f->value.sequence.max = CYAML_UNLIMITED;
      (*nc)++;
      break;
    }
    case QCC_KNOB_STRMAP:
    case QCC_KNOB_SCALARMAP:
    case QCC_KNOB_DICT:
      /* Free-form maps have no fixed keys; libcyaml cannot express them. */
      f->value.type = CYAML_IGNORE;
      f->value.flags = CYAML_FLAG_OPTIONAL;
      break;
    default:
      if (*ns >= CY_MAX_SCALARS) return false;
      f->data_offset = (uint32_t)offsetof(struct cy_node, s[*ns]);
      f->value.type = CYAML_STRING;
      f->value.flags = CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL;
      f->value.data_size = sizeof(char *);
      f->value.string.min = 0;
      f->value.string.max = CYAML_UNLIMITED;
      (*ns)++;
      break;
  }
  (*nf)++;
  return true;
}

static struct cy_level *cy_build(const char *prefix) {
  if (cy_level_count >= CY_MAX_LEVELS) return NULL;
  struct cy_level *lv = &cy_levels[cy_level_count++];
  size_t nf = 0, ns = 0, nc = 0;
  snprintf(lv->prefix, sizeof lv->prefix, "%s", prefix);
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    if (!qcc_knob_is_child(&qcc_knobs[i], prefix)) continue;
    if (nf >= CY_MAX_SCALARS + CY_MAX_CHILDREN) return NULL;
    if (!cy_add_field(lv, &nf, &ns, &nc, &qcc_knobs[i])) return NULL;
  }
  memset(&lv->fields[nf], 0, sizeof lv->fields[nf]);
  lv->entry.type = CYAML_MAPPING;
  lv->entry.flags = CYAML_FLAG_DEFAULT;
  lv->entry.data_size = sizeof(struct cy_node);
  lv->entry.mapping.fields = lv->fields;
  return lv;
}

static bool cy_schema(void) {
  if (!cy_built) {
    cy_built = true;
    struct cy_level *root = cy_build("");
    cy_ok = root != NULL;
    if (cy_ok) {
      cy_root.type = CYAML_MAPPING;
      cy_root.flags = CYAML_FLAG_POINTER;
      cy_root.data_size = sizeof(struct cy_node);
      cy_root.mapping.fields = root->fields;
    }
  }
  return cy_ok;
}

static const cyaml_config_t cy_config = {
    .log_fn = NULL,
    .mem_fn = cyaml_mem,
    .log_level = CYAML_LOG_ERROR,
    .flags = CYAML_CFG_DEFAULT,
};

/* Index of the child slot the knob PATH occupies in its level, or -1. */
static int cy_child_slot(const char *parent, const char *path) {
  int slot = 0;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    if (!qcc_knob_is_child(k, parent)) continue;
    if (k->kind != QCC_KNOB_SECTION && k->kind != QCC_KNOB_LIST && k->kind != QCC_KNOB_STRLIST) {
      continue;
    }
    if (strcmp(k->path, path) == 0) return slot;
    slot++;
  }
  return -1;
}

static int cy_scalar_slot(const char *parent, const char *path) {
  int slot = 0;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    if (!qcc_knob_is_child(k, parent) || k->kind > QCC_KNOB_DECIMAL) continue;
    if (strcmp(k->path, path) == 0) return slot;
    slot++;
  }
  return -1;
}

int qcc_cyaml_load(const char *data, size_t len, struct qcc_cyaml_doc **out, char *msg,
                   size_t cap) {
  *out = NULL;
  if (!cy_schema()) {
    snprintf(msg, cap, "internal: the libcyaml schema does not fit the knob table");
    return -1;
  }
  struct qcc_cyaml_doc *doc = calloc(1, sizeof *doc);
  if (doc == NULL) {
    snprintf(msg, cap, "out of memory");
    return -1;
  }
  cyaml_data_t *root = NULL;
  cyaml_err_t err = cyaml_load_data((const uint8_t *)data, len, &cy_config, &cy_root, &root, NULL);
  if (err != CYAML_OK) {
    snprintf(msg, cap, "libcyaml: %s", cyaml_strerror(err));
    free(doc);
    return -1;
  }
  doc->root = root;
  *out = doc;
  return 0;
}

static const struct cy_node *cy_profiles(const struct qcc_cyaml_doc *doc, unsigned *count) {
  int slot = cy_child_slot("", "profiles");
  *count = 0;
  if (doc == NULL || doc->root == NULL || slot < 0) return NULL;
  *count = doc->root->n[slot];
  return doc->root->c[slot];
}

size_t qcc_cyaml_doc_profiles(const struct qcc_cyaml_doc *doc) {
  unsigned n;
  cy_profiles(doc, &n);
  return n;
}

size_t qcc_cyaml_doc_endpoints(const struct qcc_cyaml_doc *doc, size_t profile) {
  unsigned n;
  const struct cy_node *p = cy_profiles(doc, &n);
  int slot = cy_child_slot("profiles[]", "profiles[].endpoints");
  if (p == NULL || profile >= n || slot < 0) return 0;
  return p[profile].n[slot];
}

const char *qcc_cyaml_doc_profile_name(const struct qcc_cyaml_doc *doc, size_t profile) {
  unsigned n;
  const struct cy_node *p = cy_profiles(doc, &n);
  int slot = cy_scalar_slot("profiles[]", "profiles[].name");
  if (p == NULL || profile >= n || slot < 0) return NULL;
  return p[profile].s[slot];
}

void qcc_cyaml_doc_free(struct qcc_cyaml_doc **doc) {
  if (doc == NULL || *doc == NULL) return;
  if ((*doc)->root != NULL) cyaml_free(&cy_config, &cy_root, (*doc)->root, 0);
  free(*doc);
  *doc = NULL;
}
