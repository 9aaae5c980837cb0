/* One definition per setting (issue 13): walk every row of
 * schema/config_keys.h that has a field. For each, a config that sets it to a
 * value other than the baseline's goes through the real frontend and layout,
 * and must change that very field of the table, the payload bytes and the
 * digest. Then every name `qccc show` prints must be one `qccc config get`
 * takes, and every row with a field must be shown. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/editcmd.h"
#include "compiler/frontend.h"
#include "compiler/layout.h"
#include "compiler/show.h"
#include "schema/config_schema.h"
#include "schema/pricing.h"
#include "schema/table.h"

static char dir[] = "/tmp/qcc-rows-XXXXXX";
static char cfg_path[256];

static void setup(void) {
  cr_assert_not_null(mkdtemp(dir));
  snprintf(cfg_path, sizeof cfg_path, "%s/qcc.yaml", dir);
}

static void teardown(void) {
  char p[300];
  snprintf(p, sizeof p, "%s.bak", cfg_path);
  unlink(p);
  unlink(cfg_path);
  rmdir(dir);
}

TestSuite(rows, .init = setup, .fini = teardown, .timeout = 120);

/* ---- a config with one row set -------------------------------------------- */

struct text {
  char buf[8192];
  size_t len;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
  va_end(ap);
  cr_assert(n >= 0 && (size_t)n < sizeof t->buf - t->len, "config text too long");
  t->len += (size_t)n;
}

/* The path of K below its list item ("load_balancing.strategy"), or the
 * whole path for a setting. */
static const char *rel_path(const struct qcc_knob *k) {
  const char *name = k->path;
  for (const char *c = name; *c != '\0'; c++)
    if ((c[0] == '[' && c[1] == ']' && c[2] == '.') || (c[0] == '{' && c[1] == '}' && c[2] == '.'))
      name = c + 3;
  return name;
}

/* Emit "key: value" for REL ("a" or "a.b") at INDENT. */
static void put_kv(struct text *t, int indent, const char *rel, const char *value) {
  const char *dot = strchr(rel, '.');
  if (dot == NULL) {
    put(t, "%*s%s: %s\n", indent, "", rel, value);
  } else {
    put(t, "%*s%.*s:\n%*s%s: %s\n", indent, "", (int)(dot - rel), rel, indent + 2, "", dot + 1,
        value);
  }
}

/* The baseline config, with row K (NULL: none) set to VALUE. Two profiles
 * so that the first one can be disabled or moved to another group. */
static void write_config(const struct qcc_knob *k, const char *value) {
  struct text t = {.len = 0};
  enum qcc_rec rec = k != NULL ? (enum qcc_rec)qcc_tbl_fields[k->id].rec : QCC_REC_NONE;
  const char *rel = k != NULL ? rel_path(k) : "";
  put(&t, "version: 1\n");
  /* settings: the proxy section always (cert, key, a token), others as set */
  bool cert = rec == QCC_REC_SETTINGS && strcmp(k->path, "proxy.cert") == 0;
  bool key = rec == QCC_REC_SETTINGS && strcmp(k->path, "proxy.key") == 0;
  put(&t, "proxy:\n  cert: %s\n  key: %s\n", cert ? value : "/etc/qcc/cert.pem",
      key ? value : "/etc/qcc/key.pem");
  if (rec == QCC_REC_SETTINGS && strncmp(k->path, "proxy.", 6) == 0 && !cert && !key)
    put(&t, "  %s: %s\n", k->path + 6, value);
  put(&t, "  auth_tokens:\n    - name: %s\n      env: QCC_ROWS_TOKEN\n",
      rec == QCC_REC_TOKEN && strcmp(rel, "name") == 0 ? value : "t");
  if (rec == QCC_REC_TOKEN && strcmp(rel, "name") != 0) put_kv(&t, 6, rel, value);
  if (rec == QCC_REC_SETTINGS && strncmp(k->path, "proxy.", 6) != 0) put_kv(&t, 0, k->path, value);
  put(&t, "profiles:\n  - name: %s\n",
      rec == QCC_REC_PROFILE && strcmp(rel, "name") == 0 ? value : "p");
  if (rec == QCC_REC_PROFILE && strcmp(rel, "name") != 0) put_kv(&t, 4, rel, value);
  put(&t, "    endpoints:\n      - id: %s\n", rec == QCC_REC_ENDPOINT && strcmp(rel, "id") == 0 ? value : "e");
  if (!(rec == QCC_REC_ENDPOINT && strcmp(rel, "base_url") == 0))
    put(&t, "        base_url: https://api.example.com\n");
  put(&t, "        api_key_env: QCC_ROWS_KEY\n");
  if (rec == QCC_REC_ENDPOINT && strcmp(rel, "id") != 0) put_kv(&t, 8, rel, value);
  put(&t, "  - name: q\n    endpoints:\n      - id: f\n        base_url: https://f.example.com\n"
          "        api_key_env: QCC_ROWS_KEY\n");
  /* one price, input and output (the required kinds) always given */
  put(&t, "pricing:\n  claude-rows-*:\n    input: %s\n    output: %s\n",
      rec == QCC_REC_PRICE && strcmp(rel, "input") == 0 ? value : "3",
      rec == QCC_REC_PRICE && strcmp(rel, "output") == 0 ? value : "15");
  if (rec == QCC_REC_PRICE && strcmp(rel, "input") != 0 && strcmp(rel, "output") != 0)
    put_kv(&t, 4, rel, value);
  FILE *f = fopen(cfg_path, "w");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(t.buf, 1, t.len, f), t.len);
  cr_assert_eq(fclose(f), 0);
}

struct built {
  void *img;
  size_t len;
  struct qcc_table *t;
};

static struct built build(const char *what) {
  struct qcc_diags *d = qcc_diags_new();
  struct qcc_config *cfg = NULL;
  struct built b = {0};
  int rc = qcc_frontend_run(cfg_path, NULL, &cfg, d, NULL);
  if (rc != 0) {
    char *text = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&text, &n);
    qcc_diags_print(d, QCC_DIAG_TEXT, m);
    fclose(m);
    cr_assert_fail("%s: the config does not validate:\n%s", what, text);
  }
  qcc_diags_free(&d);
  struct qcc_layout_opts o = {1, 0};
  struct qcc_layout *l = NULL;
  struct qcc_err e = {0};
  cr_assert_eq(qcc_layout_new(cfg, &o, &l, &e), 0, "%s: layout: %s", what, e.msg);
  const void *bytes = qcc_layout_bytes(l, &b.len);
  b.img = aligned_alloc(8, (b.len + 7) & ~(size_t)7);
  cr_assert_not_null(b.img);
  memcpy(b.img, bytes, b.len);
  qcc_layout_free(&l);
  qcc_config_free(&cfg);
  struct qcc_table_error te;
  cr_assert_eq(qcc_table_open_buffer(b.img, b.len, &b.t, &te), 0, "%s: %s", what, te.message);
  return b;
}

static void built_free(struct built *b) {
  qcc_table_close(&b->t);
  free(b->img);
}

/* The record row K's field is in (settings, the first profile, endpoint or token). */
static const uint8_t *record(const struct qcc_table *t, enum qcc_rec rec) {
  switch (rec) {
    case QCC_REC_SETTINGS: return (const uint8_t *)qcc_table_settings(t);
    case QCC_REC_PROFILE: return (const uint8_t *)qcc_table_profile(t, 0);
    case QCC_REC_ENDPOINT: return (const uint8_t *)qcc_table_endpoint(t, 0);
    case QCC_REC_TOKEN: return (const uint8_t *)qcc_table_token(t, 0);
    case QCC_REC_PRICE: return (const uint8_t *)qcc_table_price(t, 0);
    default: return NULL;
  }
}

static uint64_t field_num(const struct qcc_table *t, const struct qcc_tbl_field *f) {
  const uint8_t *r = record(t, (enum qcc_rec)f->rec);
  uint64_t v = 0;
  for (uint32_t i = 0; i < f->size && i < 8; i++) v |= (uint64_t)r[f->offset + i] << (8 * i);
  return v;
}

static const char *field_str(const struct qcc_table *t, const struct qcc_tbl_field *f) {
  struct qcc_tbl_str s;
  memcpy(&s, record(t, (enum qcc_rec)f->rec) + f->offset, sizeof s);
  return qcc_table_str(t, s);
}

/* A value for row K that differs from what the baseline table holds. */
static void other_value(const struct qcc_knob *k, const struct qcc_table *base, char *buf,
                        size_t cap) {
  const struct qcc_tbl_field *f = &qcc_tbl_fields[k->id];
  uint64_t cur = k->kind == QCC_KNOB_STRING ? 0 : field_num(base, f);
  switch (k->kind) {
    case QCC_KNOB_BOOL: snprintf(buf, cap, "%s", cur ? "false" : "true"); break;
    case QCC_KNOB_ENUM:
      snprintf(buf, cap, "%s", qcc_enum_name(k->enum_desc, (unsigned)((cur + 1) % k->enum_desc->count)));
      break;
    case QCC_KNOB_DURATION:
      snprintf(buf, cap, "%llums", (unsigned long long)(cur != k->max ? k->max : k->min));
      break;
    case QCC_KNOB_INT:
    case QCC_KNOB_SIZE:
      snprintf(buf, cap, "%llu", (unsigned long long)(cur != k->max ? k->max : k->min));
      break;
    case QCC_KNOB_DECIMAL: qcc_decimal_text(cur != k->max ? k->max : k->min, buf, cap); break;
    case QCC_KNOB_STRING: {
      /* Values the semantic checks accept for the few keys that have them. */
      static const struct {
        const char *path, *value;
      } special[] = {
          {"proxy.host", "127.0.0.2"},
          {"alerts.webhook", "https://hooks.example.com/qcc"},
          {"profiles[].endpoints[].base_url", "https://other.example.com"},
          {"profiles[].endpoints[].proxy", "socks5h://127.0.0.1:1080"},
          {"profiles[].endpoints[].proxy_credentials_env", "QCC_ROWS_PROXY"},
          {"proxy.cert", "/changed/cert.pem"},
          {"proxy.key", "/changed/key.pem"},
          {"usage.timezone", "Asia/Shanghai"},
      };
      const char *v = "\"changed value\"";
      for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        if (strcmp(special[i].path, k->path) == 0) v = special[i].value;
      snprintf(buf, cap, "%s", v);
      break;
    }
    default: cr_assert_fail("%s: a field on a row of kind %d", k->path, (int)k->kind);
  }
}

Test(rows, every_row_with_a_field_changes_its_field_the_payload_and_the_digest) {
  write_config(NULL, NULL);
  struct built base = build("baseline");
  const struct qcc_tbl_header *bh = qcc_table_header(base.t);
  size_t walked = 0;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    const struct qcc_tbl_field *f = &qcc_tbl_fields[i];
    if (f->rec == QCC_REC_NONE) continue;
    /* The compiler's member and the table's agree on the row. */
    cr_assert_eq(qcc_cfg_fields[i].rec, f->rec, "%s", k->path);
    cr_assert_eq(qcc_cfg_fields[i].kind, k->kind, "%s", k->path);
    if (k->kind == QCC_KNOB_STRING) {
      cr_assert_eq(f->size, sizeof(struct qcc_tbl_str), "%s: not a string field", k->path);
      cr_assert_eq(qcc_cfg_fields[i].size, sizeof(char *), "%s: not a char * member", k->path);
    } else {
      cr_assert(f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8, "%s", k->path);
      uint64_t top = k->kind == QCC_KNOB_BOOL ? 1 : k->kind == QCC_KNOB_ENUM ? k->enum_desc->count - 1 : k->max;
      cr_assert(f->size == 8 || top < (1ull << (8 * f->size)), "%s: max %llu does not fit %u bytes",
                k->path, (unsigned long long)top, f->size);
    }
    char value[256];
    other_value(k, base.t, value, sizeof value);
    write_config(k, value);
    struct built b = build(k->path);
    const struct qcc_tbl_header *h = qcc_table_header(b.t);
    if (k->kind == QCC_KNOB_STRING)
      cr_assert_str_neq(field_str(b.t, f), field_str(base.t, f), "%s: field %s unchanged", k->path, f->name);
    else
      cr_assert_neq(field_num(b.t, f), field_num(base.t, f), "%s = %s: field %s unchanged", k->path, value,
                    f->name);
    cr_assert(b.len != base.len || memcmp((char *)b.img + QCC_TABLE_HEADER_SIZE,
                                          (char *)base.img + QCC_TABLE_HEADER_SIZE,
                                          b.len - QCC_TABLE_HEADER_SIZE) != 0,
              "%s: payload unchanged", k->path);
    cr_assert(memcmp(h->source_digest, bh->source_digest, 16) != 0, "%s = %s: digest unchanged",
              k->path, value);
    built_free(&b);
    walked++;
  }
  cr_assert_geq(walked, 60, "only %zu rows walked", walked);
  built_free(&base);
}

/* ---- show names == config get names --------------------------------------- */

static int config_get(const char *key) {
  char *argv[] = {"get", (char *)key, "-c", cfg_path, NULL};
  char *o = NULL, *e = NULL;
  size_t ol = 0, el = 0;
  FILE *out = open_memstream(&o, &ol), *err = open_memstream(&e, &el), *in = fopen("/dev/null", "r");
  cr_assert(out && err && in);
  int rc = qccc_edit_cmd("config", 4, argv, in, out, err);
  fclose(out);
  fclose(err);
  fclose(in);
  if (rc != 0) cr_log_error("config get %s: %s", key, e);
  free(o);
  free(e);
  return rc;
}

/* Fields show prints that are computed, not settings. */
static bool computed(const char *name) {
  static const char *const names[] = {"load_balancing_override", "key", "stable_id", "identity_hash",
                                      "models", "metadata"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(names[i], name) == 0) return true;
  return false;
}

Test(rows, every_name_show_prints_is_accepted_by_config_get) {
  write_config(NULL, NULL);
  struct built b = build("baseline");
  char *text = NULL;
  size_t n = 0;
  FILE *m = open_memstream(&text, &n);
  qcc_show_text(b.t, "t", m);
  fclose(m);
  bool seen[QCC_KNOB_COUNT] = {false};
  char prefix[2048] = "", line_buf[1024];
  size_t checked = 0;
  FILE *in = fmemopen(text, n, "r");
  cr_assert_not_null(in);
  while (fgets(line_buf, sizeof line_buf, in) != NULL) {
    char *line = line_buf, name[256];
    line[strcspn(line, "\n")] = '\0';
    if (strcmp(line, "settings") == 0) {
      prefix[0] = '\0';
      continue;
    }
    if (strncmp(line, "profile ", 8) == 0) {
      snprintf(prefix, sizeof prefix, "profiles.%.*s.", (int)strcspn(line + 8, " "), line + 8);
      continue;
    }
    if (strncmp(line, "  endpoint ", 11) == 0) {
      char *dot = strstr(prefix, ".endpoints.");
      if (dot != NULL) dot[1] = '\0';
      size_t pl = strlen(prefix);
      snprintf(prefix + pl, sizeof prefix - pl, "endpoints.%s.", line + 11);
      continue;
    }
    if (strncmp(line, "pricing", 7) == 0) {
      snprintf(prefix, sizeof prefix, "pricing.");
      continue;
    }
    if (strncmp(line, "  price ", 8) == 0) {
      snprintf(prefix, sizeof prefix, "pricing.%s.", line + 8);
      continue;
    }
    if (strcmp(line, "auth_tokens") == 0) break; /* tokens are listed by hand, not by row */
    if (line[0] != ' ' || strchr(line, ':') == NULL || strncmp(line, "table ", 6) == 0) continue;
    while (*line == ' ') line++;
    size_t nl = strcspn(line, ":");
    snprintf(name, sizeof name, "%.*s", (int)nl, line);
    if (prefix[0] == '\0' && strchr(name, '.') == NULL) continue; /* header lines: format, digest... */
    if (computed(name)) continue;
    char key[512];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    cr_expect_eq(config_get(key), 0, "qccc show prints %s, qccc config get rejects %s", name, key);
    /* Which row it is: the setting path, or the item path with [] */
    for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
      const struct qcc_knob *k = &qcc_knobs[i];
      if (qcc_tbl_fields[i].rec == QCC_REC_NONE || qcc_tbl_fields[i].rec == QCC_REC_TOKEN) continue;
      bool setting = qcc_tbl_fields[i].rec == QCC_REC_SETTINGS;
      bool price = qcc_tbl_fields[i].rec == QCC_REC_PRICE;
      if (price != (strncmp(prefix, "pricing.", 8) == 0)) continue;
      if ((setting && prefix[0] == '\0' && strcmp(k->path, name) == 0) ||
          (!setting && prefix[0] != '\0' && strcmp(rel_path(k), name) == 0 &&
           (qcc_tbl_fields[i].rec == QCC_REC_ENDPOINT) == (strstr(prefix, ".endpoints.") != NULL)))
        seen[i] = true;
    }
    checked++;
  }
  fclose(in);
  /* The first field of a profile and an endpoint (name, id) heads its block. */
  seen[QCC_K_PROF_NAME] = seen[QCC_K_EP_ID] = true;
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    if (qcc_tbl_fields[i].rec == QCC_REC_NONE || qcc_tbl_fields[i].rec == QCC_REC_TOKEN) continue;
    cr_expect(seen[i], "row %s has a field but qccc show does not print it", qcc_knobs[i].path);
  }
  cr_assert_geq(checked, 60);
  free(text);
  built_free(&b);
}

/* A chat webhook's token is in its path: show and diff print scheme and host. */
Test(rows, show_hides_the_path_of_alerts_webhook) {
  write_config(qcc_knob_find("alerts.webhook"), "https://hooks.example.com/services/T0/B1/s3cr3t");
  struct built b = build("webhook");
  char *text = NULL;
  size_t n = 0;
  FILE *m = open_memstream(&text, &n);
  qcc_show_text(b.t, "t", m);
  fclose(m);
  cr_assert_not_null(strstr(text, "alerts.webhook: https://hooks.example.com/<redacted>\n"), "%s", text);
  cr_assert_null(strstr(text, "s3cr3t"));
  json_t *j = qcc_show_json(b.t, "t");
  char *js = json_dumps(j, 0);
  cr_assert_null(strstr(js, "s3cr3t"), "%s", js);
  free(js);
  json_decref(j);
  free(text);
  built_free(&b);
}

static char *config_get_out(const char *key) {
  char *argv[] = {"get", (char *)key, "-c", cfg_path, NULL};
  char *o = NULL, *e = NULL;
  size_t ol = 0, el = 0;
  FILE *out = open_memstream(&o, &ol), *err = open_memstream(&e, &el), *in = fopen("/dev/null", "r");
  cr_assert(out && err && in);
  int rc = qccc_edit_cmd("config", 4, argv, in, out, err);
  fclose(out);
  fclose(err);
  fclose(in);
  cr_assert_eq(rc, 0, "config get %s: %s", key, e);
  free(e);
  return o;
}

/* "=PATH" defaults: config get and the table follow the setting. */
Test(rows, inherited_defaults_follow_their_setting) {
  write_config(NULL, NULL);
  char *v = config_get_out("profiles.p.endpoints.e.timeout");
  cr_assert_str_eq(v, "30s\n", "upstream.timeout's default");
  free(v);
  v = config_get_out("profiles.p.endpoints.e.proxy");
  cr_assert_str_eq(v, "\n", "not set, no default");
  free(v);
  write_config(qcc_knob_find("upstream.timeout"), "45s");
  v = config_get_out("profiles.p.endpoints.e.timeout");
  cr_assert_str_eq(v, "45s\n");
  free(v);
  struct built b = build("upstream.timeout");
  cr_assert_eq(qcc_table_endpoint(b.t, 0)->timeout_ms, 45000);
  cr_assert_eq(qcc_table_endpoint(b.t, 1)->timeout_ms, 45000);
  built_free(&b);
  write_config(qcc_knob_find("loadbalancer.strategy"), "failover");
  v = config_get_out("profiles.p.load_balancing.strategy");
  cr_assert_str_eq(v, "failover\n");
  free(v);
}

/* A scalar row without a field reaches the table only through hand-written
 * code: the list of those is closed, so a new row cannot silently lack one. */
Test(rows, every_scalar_row_has_a_field_or_is_handled_by_hand) {
  static const char *const by_hand[] = {
      "version",                                /* checked, not laid out */
      "proxy.auth_tokens[].env",                /* the token's keyref */
      "proxy.auth_tokens[].file",
      "proxy.auth_tokens[].value",
      "profiles[].endpoints[].from",            /* resolved before layout */
      "profiles[].endpoints[].api_key",         /* the endpoint's keyref */
      "profiles[].endpoints[].api_key_env",
      "profiles[].endpoints[].api_key_file",
  };
  for (size_t i = 0; i < QCC_KNOB_COUNT; i++) {
    const struct qcc_knob *k = &qcc_knobs[i];
    bool scalar = k->kind == QCC_KNOB_BOOL || k->kind == QCC_KNOB_INT || k->kind == QCC_KNOB_DURATION ||
                  k->kind == QCC_KNOB_SIZE || k->kind == QCC_KNOB_STRING || k->kind == QCC_KNOB_ENUM;
    if (!scalar || qcc_tbl_fields[i].rec != QCC_REC_NONE) continue;
    bool listed = false;
    for (size_t j = 0; j < sizeof by_hand / sizeof by_hand[0]; j++) listed |= strcmp(by_hand[j], k->path) == 0;
    cr_expect(listed, "%s is a scalar without a field (QCC_FNONE) and not handled by hand", k->path);
  }
}
