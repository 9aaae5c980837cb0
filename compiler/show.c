#include "show.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "compiler/humantime.h"
#include "schema/pricing.h"

/* The fields of each record, in row order: every row of config_keys.h with
 * a field in that record, named as the user writes it (settings by their
 * full path, the rest relative to their list item, so `qccc config get`
 * takes the same names), then the fields no row owns. */
struct field_set {
  struct qcc_field f[QCC_KNOB_COUNT + 4];
  size_t n;
};
static struct field_set field_sets[QCC_REC_COUNT];
static bool fields_built;

static void add(struct field_set *fs, const char *name, enum qcc_field_kind kind, size_t off,
                size_t size, const struct qcc_enum_desc *desc, bool derived) {
  fs->f[fs->n++] = (struct qcc_field){name, kind, (uint16_t)off, (uint16_t)size, desc, derived};
}

static void build_fields(void) {
  for (size_t k = 0; k < QCC_KNOB_COUNT; k++) {
    const struct qcc_tbl_field *tf = &qcc_tbl_fields[k];
    if (tf->rec == QCC_REC_NONE) continue;
    const char *name = tf->path; /* after the last "[]." or "{}." */
    for (const char *c = name; *c != '\0'; c++)
      if ((c[0] == '[' && c[1] == ']' && c[2] == '.') || (c[0] == '{' && c[1] == '}' && c[2] == '.'))
        name = c + 3;
    enum qcc_field_kind kind = QCC_FIELD_UINT;
    switch ((enum qcc_knob_kind)tf->kind) {
      case QCC_KNOB_BOOL: kind = QCC_FIELD_BOOL; break;
      case QCC_KNOB_DURATION:
        kind = (tf->flags & QCC_KF_OFF) != 0 ? QCC_FIELD_MS_OFF : QCC_FIELD_MS;
        break;
      case QCC_KNOB_STRING:
        kind = (tf->flags & QCC_KF_URL_TOKEN) != 0 ? QCC_FIELD_URL : QCC_FIELD_STR;
        break;
      case QCC_KNOB_ENUM: kind = QCC_FIELD_ENUM; break;
      case QCC_KNOB_DECIMAL: kind = QCC_FIELD_DEC; break;
      default: break;
    }
    add(&field_sets[tf->rec], name, kind, tf->offset, tf->size, tf->desc, false);
  }
  add(&field_sets[QCC_REC_PROFILE], "load_balancing_override", QCC_FIELD_BOOL,
      offsetof(struct qcc_tbl_profile, lb_override), 1, NULL, false);
  add(&field_sets[QCC_REC_ENDPOINT], "key", QCC_FIELD_KEY, offsetof(struct qcc_tbl_endpoint, key),
      sizeof(struct qcc_tbl_keyref), NULL, false);
  add(&field_sets[QCC_REC_ENDPOINT], "stable_id", QCC_FIELD_HEX,
      offsetof(struct qcc_tbl_endpoint, stable_id), 8, NULL, true);
  add(&field_sets[QCC_REC_ENDPOINT], "identity_hash", QCC_FIELD_HEX,
      offsetof(struct qcc_tbl_endpoint, identity_hash), 8, NULL, true);
  add(&field_sets[QCC_REC_TOKEN], "key", QCC_FIELD_KEY, offsetof(struct qcc_tbl_token, key),
      sizeof(struct qcc_tbl_keyref), NULL, false);
  fields_built = true;
}

const struct qcc_field *qcc_record_fields(enum qcc_rec rec, size_t *n) {
  if (!fields_built) build_fields();
  *n = field_sets[rec].n;
  return field_sets[rec].f;
}

static uint64_t field_uint(const void *rec, const struct qcc_field *f) {
  const uint8_t *p = (const uint8_t *)rec + f->offset;
  uint64_t v = 0;
  for (unsigned i = 0; i < f->size && i < 8; i++) v |= (uint64_t)p[i] << (8 * i); /* little-endian */
  return v;
}

static struct qcc_tbl_str field_str(const void *rec, const struct qcc_field *f) {
  struct qcc_tbl_str s;
  memcpy(&s, (const uint8_t *)rec + f->offset, sizeof s);
  return s;
}

static struct qcc_tbl_keyref field_key(const void *rec, const struct qcc_field *f) {
  struct qcc_tbl_keyref k;
  memcpy(&k, (const uint8_t *)rec + f->offset, sizeof k);
  return k;
}

void qcc_ms_text(uint64_t ms, char *buf, size_t cap) {
  /* days only past one, so "24h" reads as the config reference writes it */
  if (ms > 86400000 && ms % 86400000 == 0)
    snprintf(buf, cap, "%" PRIu64 "d", ms / 86400000);
  else if (ms != 0 && ms % 3600000 == 0)
    snprintf(buf, cap, "%" PRIu64 "h", ms / 3600000);
  else if (ms != 0 && ms % 60000 == 0)
    snprintf(buf, cap, "%" PRIu64 "m", ms / 60000);
  else if (ms % 1000 == 0)
    snprintf(buf, cap, "%" PRIu64 "s", ms / 1000);
  else
    snprintf(buf, cap, "%" PRIu64 "ms", ms);
}

void qcc_digest_hex(const uint8_t digest[16], char out[33]) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  out[32] = '\0';
}

/* Never the literal value itself: that is the whole point. */
static void key_text(const struct qcc_table *t, struct qcc_tbl_keyref k, char *buf, size_t cap) {
  switch (k.kind) {
  case QCC_KEY_NONE: snprintf(buf, cap, "none"); break;
  case QCC_KEY_LITERAL: snprintf(buf, cap, "literal:<redacted>"); break;
  default: snprintf(buf, cap, "%s:%s", qcc_enum_name(&qcc_key_desc, k.kind), qcc_table_str(t, k.value));
  }
}

/* "https://hooks.example.com/<redacted>": chat webhooks carry their token in
 * the path, so only scheme and host are shown. */
static void url_text(const char *u, char *buf, size_t cap) {
  const char *sep = strstr(u, "://");
  size_t keep = sep != NULL ? (size_t)(sep - u) + 3 : 0;
  keep += strcspn(u + keep, "/?#");
  snprintf(buf, cap, "%.*s%s", (int)keep, u, u[keep] != '\0' ? "/<redacted>" : "");
}

void qcc_field_text(const struct qcc_table *t, const void *rec, const struct qcc_field *f, char *buf,
                    size_t cap) {
  switch (f->kind) {
  case QCC_FIELD_BOOL: snprintf(buf, cap, "%s", field_uint(rec, f) ? "true" : "false"); break;
  case QCC_FIELD_UINT: snprintf(buf, cap, "%" PRIu64, field_uint(rec, f)); break;
  case QCC_FIELD_MS: qcc_ms_text(field_uint(rec, f), buf, cap); break;
  case QCC_FIELD_MS_OFF:
    if (field_uint(rec, f) == 0) snprintf(buf, cap, "off");
    else qcc_ms_text(field_uint(rec, f), buf, cap);
    break;
  case QCC_FIELD_DEC: qcc_decimal_text(field_uint(rec, f), buf, cap); break;
  case QCC_FIELD_HEX: snprintf(buf, cap, "%016" PRIx64, field_uint(rec, f)); break;
  case QCC_FIELD_STR: snprintf(buf, cap, "%s", qcc_table_str(t, field_str(rec, f))); break;
  case QCC_FIELD_URL: url_text(qcc_table_str(t, field_str(rec, f)), buf, cap); break;
  case QCC_FIELD_ENUM: snprintf(buf, cap, "%s", qcc_enum_name(f->desc, (unsigned)field_uint(rec, f))); break;
  case QCC_FIELD_KEY: key_text(t, field_key(rec, f), buf, cap); break;
  }
}

json_t *qcc_field_json(const struct qcc_table *t, const void *rec, const struct qcc_field *f) {
  char buf[1024];
  switch (f->kind) {
  case QCC_FIELD_BOOL: return json_boolean(field_uint(rec, f) != 0);
  case QCC_FIELD_UINT:
  case QCC_FIELD_MS:
  case QCC_FIELD_MS_OFF: return json_integer((json_int_t)field_uint(rec, f));
  case QCC_FIELD_DEC: return json_real((double)field_uint(rec, f) / 1e6);
  case QCC_FIELD_HEX:
  case QCC_FIELD_ENUM:
  case QCC_FIELD_KEY:
  case QCC_FIELD_URL: qcc_field_text(t, rec, f, buf, sizeof buf); return json_string(buf);
  case QCC_FIELD_STR: return json_string(qcc_table_str(t, field_str(rec, f)));
  }
  return json_null();
}

bool qcc_field_equal(const struct qcc_table *ta, const void *ra, const struct qcc_table *tb,
                     const void *rb, const struct qcc_field *f) {
  if (f->kind == QCC_FIELD_STR || f->kind == QCC_FIELD_URL)
    return strcmp(qcc_table_str(ta, field_str(ra, f)), qcc_table_str(tb, field_str(rb, f))) == 0;
  if (f->kind == QCC_FIELD_KEY) {
    struct qcc_tbl_keyref a = field_key(ra, f), b = field_key(rb, f);
    return a.kind == b.kind && strcmp(qcc_table_str(ta, a.value), qcc_table_str(tb, b.value)) == 0;
  }
  return field_uint(ra, f) == field_uint(rb, f);
}

void qcc_pairs_text(const struct qcc_table *t, bool models, uint32_t first, uint32_t count, char *buf,
                    size_t cap) {
  size_t used = 0;
  buf[0] = '\0';
  for (uint32_t i = 0; i < count && used < cap; i++) {
    const struct qcc_tbl_pair *p = models ? qcc_table_model_map(t, first + i) : qcc_table_metadata(t, first + i);
    if (p == NULL) break;
    int n = snprintf(buf + used, cap - used, "%s%s%s%s", i ? ", " : "", qcc_table_str(t, p->key),
                     models ? " -> " : "=", qcc_table_str(t, p->value));
    if (n < 0) break;
    used += (size_t)n;
  }
}

/* JSON field name: durations carry their unit. */
static void json_name(const struct qcc_field *f, const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, "%s%s", name, f->kind == QCC_FIELD_MS || f->kind == QCC_FIELD_MS_OFF ? "_ms" : "");
}

/* Local time with the zone (--json keeps the number). */
static void time_text(int64_t t, char *buf, size_t cap) {
  if (qccc_humantime(t, buf, cap) != 0) snprintf(buf, cap, "%" PRId64, t);
}

static void print_fields(const struct qcc_table *t, const void *rec, const struct qcc_field *fs, size_t n,
                         const char *indent, FILE *out, size_t skip) {
  char buf[1024];
  for (size_t i = skip; i < n; i++) {
    qcc_field_text(t, rec, &fs[i], buf, sizeof buf);
    fprintf(out, "%s%s: %s\n", indent, fs[i].name, buf);
  }
}

void qcc_show_text(const struct qcc_table *t, const char *name, FILE *out) {
  const struct qcc_tbl_header *h = qcc_table_header(t);
  char digest[33], when[64], buf[4096];
  qcc_digest_hex(h->source_digest, digest);
  time_text(h->build_time, when, sizeof when);
  fprintf(out, "table %s\n", name);
  fprintf(out, "  format: %u.%u\n", h->version_major, h->version_minor);
  fprintf(out, "  generation: %" PRIu64 "\n", h->generation);
  fprintf(out, "  built: %s\n", when);
  fprintf(out, "  digest: %s\n", digest);
  fprintf(out, "  size: %" PRIu64 " bytes\n", h->file_size);
  fprintf(out, "  literal keys: %s\n", (h->flags & QCC_TABLE_FLAG_LITERAL_KEYS) ? "yes (file is 0600)" : "no");
  fprintf(out, "\nsettings\n");
  size_t ns, np, ne;
  const struct qcc_field *sf = qcc_record_fields(QCC_REC_SETTINGS, &ns);
  const struct qcc_field *pf = qcc_record_fields(QCC_REC_PROFILE, &np);
  const struct qcc_field *ef = qcc_record_fields(QCC_REC_ENDPOINT, &ne);
  print_fields(t, qcc_table_settings(t), sf, ns, "  ", out, 0);
  for (uint32_t i = 0; i < qcc_table_profile_count(t); i++) {
    const struct qcc_tbl_profile *p = qcc_table_profile(t, i);
    fprintf(out, "\nprofile %s (%s, %u endpoint%s)\n", qcc_table_str(t, p->name),
            qcc_enum_name(&qcc_group_desc, p->group), p->endpoint_count, p->endpoint_count == 1 ? "" : "s");
    print_fields(t, p, pf, np, "  ", out, 1);
    for (uint32_t j = 0; j < p->endpoint_count; j++) {
      const struct qcc_tbl_endpoint *e = qcc_table_endpoint(t, p->endpoint_first + j);
      fprintf(out, "  endpoint %s\n", qcc_table_str(t, e->id));
      print_fields(t, e, ef, ne, "    ", out, 1);
      if (e->model_map_count > 0) {
        qcc_pairs_text(t, true, e->model_map_first, e->model_map_count, buf, sizeof buf);
        fprintf(out, "    models: %s\n", buf);
      }
      if (e->metadata_count > 0) {
        qcc_pairs_text(t, false, e->metadata_first, e->metadata_count, buf, sizeof buf);
        fprintf(out, "    metadata: %s\n", buf);
      }
    }
  }
  size_t nr;
  const struct qcc_field *rf = qcc_record_fields(QCC_REC_PRICE, &nr);
  if (qcc_table_price_count(t) > 0) fprintf(out, "\npricing (USD per million tokens)\n");
  for (uint32_t i = 0; i < qcc_table_price_count(t); i++) {
    const struct qcc_tbl_price *p = qcc_table_price(t, i);
    fprintf(out, "  price %s\n", qcc_table_str(t, p->model));
    for (size_t j = 0; j < nr; j++) {
      /* the rows are the kinds, in enum qcc_price_kind order */
      if ((p->priced >> j) & 1) qcc_field_text(t, p, &rf[j], buf, sizeof buf);
      else snprintf(buf, sizeof buf, "no price");
      fprintf(out, "    %s: %s\n", rf[j].name, buf);
    }
  }
  if (qcc_table_token_count(t) > 0) fprintf(out, "\nauth_tokens\n");
  for (uint32_t i = 0; i < qcc_table_token_count(t); i++) {
    const struct qcc_tbl_token *k = qcc_table_token(t, i);
    char kb[1024], bud[160] = "", d[32], m[32];
    key_text(t, k->key, kb, sizeof kb);
    if (k->budget_daily_usd || k->budget_monthly_usd || k->budget_daily_tokens) {
      qcc_decimal_text(k->budget_daily_usd, d, sizeof d);
      qcc_decimal_text(k->budget_monthly_usd, m, sizeof m);
      snprintf(bud, sizeof bud, ", budget: daily_usd %s, monthly_usd %s, daily_tokens %" PRIu64
               " (0 = none)", d, m, k->budget_daily_tokens);
    }
    fprintf(out, "  - name: %s, key: %s, priority: %u%s\n", qcc_table_str(t, k->name), kb, k->priority,
            bud);
  }
}

static json_t *fields_json(const struct qcc_table *t, const void *rec, const struct qcc_field *fs, size_t n) {
  json_t *o = json_object();
  char key[128];
  for (size_t i = 0; i < n; i++) {
    json_name(&fs[i], fs[i].name, key, sizeof key);
    json_object_set_new(o, key, qcc_field_json(t, rec, &fs[i]));
  }
  return o;
}

static json_t *pairs_json(const struct qcc_table *t, bool models, uint32_t first, uint32_t count) {
  json_t *o = json_object();
  for (uint32_t i = 0; i < count; i++) {
    const struct qcc_tbl_pair *p = models ? qcc_table_model_map(t, first + i) : qcc_table_metadata(t, first + i);
    json_object_set_new(o, qcc_table_str(t, p->key), json_string(qcc_table_str(t, p->value)));
  }
  return o;
}

json_t *qcc_show_json(const struct qcc_table *t, const char *name) {
  const struct qcc_tbl_header *h = qcc_table_header(t);
  char digest[33], when[64], ver[32], key[128];
  qcc_digest_hex(h->source_digest, digest);
  time_text(h->build_time, when, sizeof when);
  snprintf(ver, sizeof ver, "%u.%u", h->version_major, h->version_minor);
  json_t *root = json_object();
  json_t *hj = json_object();
  json_object_set_new(hj, "path", json_string(name));
  json_object_set_new(hj, "format", json_string(ver));
  json_object_set_new(hj, "generation", json_integer((json_int_t)h->generation));
  json_object_set_new(hj, "build_time", json_integer((json_int_t)h->build_time));
  json_object_set_new(hj, "built", json_string(when));
  json_object_set_new(hj, "digest", json_string(digest));
  json_object_set_new(hj, "size", json_integer((json_int_t)h->file_size));
  json_object_set_new(hj, "literal_keys", json_boolean(h->flags & QCC_TABLE_FLAG_LITERAL_KEYS));
  json_object_set_new(root, "header", hj);

  /* settings nested by section: {"proxy": {"host": ...}, ...} */
  json_t *sj = json_object();
  const struct qcc_tbl_settings *st = qcc_table_settings(t);
  size_t ns, np, ne, nt;
  const struct qcc_field *sf = qcc_record_fields(QCC_REC_SETTINGS, &ns);
  const struct qcc_field *pf = qcc_record_fields(QCC_REC_PROFILE, &np);
  const struct qcc_field *ef = qcc_record_fields(QCC_REC_ENDPOINT, &ne);
  const struct qcc_field *tf = qcc_record_fields(QCC_REC_TOKEN, &nt);
  for (size_t i = 0; i < ns; i++) {
    const struct qcc_field *f = &sf[i];
    const char *dot = strchr(f->name, '.');
    char section[64];
    size_t sl = (size_t)(dot - f->name);
    if (sl >= sizeof section) sl = sizeof section - 1;
    memcpy(section, f->name, sl);
    section[sl] = '\0';
    json_t *sec = json_object_get(sj, section);
    if (sec == NULL) {
      sec = json_object();
      json_object_set_new(sj, section, sec);
    }
    json_name(f, dot + 1, key, sizeof key);
    json_object_set_new(sec, key, qcc_field_json(t, st, f));
  }
  json_object_set_new(root, "settings", sj);

  json_t *pa = json_array();
  for (uint32_t i = 0; i < qcc_table_profile_count(t); i++) {
    const struct qcc_tbl_profile *p = qcc_table_profile(t, i);
    json_t *pj = fields_json(t, p, pf, np);
    json_t *ea = json_array();
    for (uint32_t j = 0; j < p->endpoint_count; j++) {
      const struct qcc_tbl_endpoint *e = qcc_table_endpoint(t, p->endpoint_first + j);
      json_t *ej = fields_json(t, e, ef, ne);
      json_object_set_new(ej, "models", pairs_json(t, true, e->model_map_first, e->model_map_count));
      json_object_set_new(ej, "metadata", pairs_json(t, false, e->metadata_first, e->metadata_count));
      json_array_append_new(ea, ej);
    }
    json_object_set_new(pj, "endpoints", ea);
    json_array_append_new(pa, pj);
  }
  json_object_set_new(root, "profiles", pa);
  json_t *ta = json_array();
  for (uint32_t i = 0; i < qcc_table_token_count(t); i++)
    json_array_append_new(ta, fields_json(t, qcc_table_token(t, i), tf, nt));
  json_object_set_new(root, "auth_tokens", ta);
  size_t nr;
  const struct qcc_field *rf = qcc_record_fields(QCC_REC_PRICE, &nr);
  json_t *pra = json_array();
  for (uint32_t i = 0; i < qcc_table_price_count(t); i++) {
    const struct qcc_tbl_price *p = qcc_table_price(t, i);
    json_t *pj = json_object();
    json_object_set_new(pj, "model", json_string(qcc_table_str(t, p->model)));
    for (size_t j = 0; j < nr; j++)
      json_object_set_new(pj, rf[j].name,
                          (p->priced >> j) & 1 ? qcc_field_json(t, p, &rf[j]) : json_null());
    json_array_append_new(pra, pj);
  }
  json_object_set_new(root, "pricing", pra);
  return root;
}
