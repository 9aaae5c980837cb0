/* docs/table-format.md against schema/table.h: every documented field has the
 * offset and size of the struct member, every member is documented, and the
 * documented fields tile each struct without gaps. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/table.h"

struct member {
  const char *strct, *field;
  size_t offset, size;
  int seen;
};

#define M(s, f) {#s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f), 0}
static struct member members[] = {
    M(qcc_tbl_header, magic), M(qcc_tbl_header, byte_order), M(qcc_tbl_header, version_major),
    M(qcc_tbl_header, version_minor), M(qcc_tbl_header, header_size), M(qcc_tbl_header, section_count),
    M(qcc_tbl_header, file_size), M(qcc_tbl_header, generation), M(qcc_tbl_header, build_time),
    M(qcc_tbl_header, source_digest), M(qcc_tbl_header, payload_checksum), M(qcc_tbl_header, flags),
    M(qcc_tbl_header, reserved), M(qcc_tbl_header, header_checksum),
    M(qcc_tbl_section, id), M(qcc_tbl_section, record_size), M(qcc_tbl_section, offset),
    M(qcc_tbl_section, count),
    M(qcc_tbl_str, off), M(qcc_tbl_str, len),
    M(qcc_tbl_keyref, kind), M(qcc_tbl_keyref, pad), M(qcc_tbl_keyref, value),
    M(qcc_tbl_settings, host), M(qcc_tbl_settings, tls_cert), M(qcc_tbl_settings, tls_key),
    M(qcc_tbl_settings, port), M(qcc_tbl_settings, ssl_enabled), M(qcc_tbl_settings, log_level),
    M(qcc_tbl_settings, access_log), M(qcc_tbl_settings, journal_fsync), M(qcc_tbl_settings, pad0),
    M(qcc_tbl_settings, max_connections), M(qcc_tbl_settings, max_header_bytes),
    M(qcc_tbl_settings, max_body_bytes), M(qcc_tbl_settings, header_timeout_ms),
    M(qcc_tbl_settings, idle_timeout_ms), M(qcc_tbl_settings, drain_timeout_ms), M(qcc_tbl_settings, pad1),
    M(qcc_tbl_settings, health_enabled), M(qcc_tbl_settings, health_check), M(qcc_tbl_settings, alert_enabled),
    M(qcc_tbl_settings, pad2), M(qcc_tbl_settings, check_interval_ms), M(qcc_tbl_settings, health_timeout_ms),
    M(qcc_tbl_settings, retry_count), M(qcc_tbl_settings, alert_threshold), M(qcc_tbl_settings, queue_enabled),
    M(qcc_tbl_settings, retry_strategy), M(qcc_tbl_settings, persistence_enabled), M(qcc_tbl_settings, pad3),
    M(qcc_tbl_settings, queue_max_size), M(qcc_tbl_settings, max_retries), M(qcc_tbl_settings, max_wait_ms),
    M(qcc_tbl_settings, lb_strategy), M(qcc_tbl_settings, health_aware), M(qcc_tbl_settings, sticky_session),
    M(qcc_tbl_settings, pad4), M(qcc_tbl_settings, auto_switch), M(qcc_tbl_settings, auto_recovery),
    M(qcc_tbl_settings, fallback_enabled), M(qcc_tbl_settings, pad5), M(qcc_tbl_settings, switch_threshold),
    M(qcc_tbl_settings, cooldown_ms), M(qcc_tbl_settings, reserved),
    M(qcc_tbl_settings, tls_ca_file), M(qcc_tbl_settings, tls_ca_path), M(qcc_tbl_settings, alerts_exec),
    M(qcc_tbl_settings, alerts_webhook), M(qcc_tbl_settings, upstream_connect_timeout_ms),
    M(qcc_tbl_settings, upstream_timeout_ms), M(qcc_tbl_settings, upstream_request_timeout_ms),
    M(qcc_tbl_settings, upstream_stream_idle_timeout_ms), M(qcc_tbl_settings, alerts_timeout_ms),
    M(qcc_tbl_settings, pad6),
    M(qcc_tbl_profile, name), M(qcc_tbl_profile, description), M(qcc_tbl_profile, group),
    M(qcc_tbl_profile, enabled), M(qcc_tbl_profile, lb_strategy), M(qcc_tbl_profile, lb_override),
    M(qcc_tbl_profile, health_aware), M(qcc_tbl_profile, sticky_session), M(qcc_tbl_profile, pad),
    M(qcc_tbl_profile, endpoint_first), M(qcc_tbl_profile, endpoint_count),
    M(qcc_tbl_endpoint, stable_id), M(qcc_tbl_endpoint, id), M(qcc_tbl_endpoint, base_url),
    M(qcc_tbl_endpoint, key), M(qcc_tbl_endpoint, profile_index), M(qcc_tbl_endpoint, weight),
    M(qcc_tbl_endpoint, priority), M(qcc_tbl_endpoint, max_failures), M(qcc_tbl_endpoint, timeout_ms),
    M(qcc_tbl_endpoint, rate_limit), M(qcc_tbl_endpoint, max_concurrency), M(qcc_tbl_endpoint, enabled),
    M(qcc_tbl_endpoint, auth), M(qcc_tbl_endpoint, allow_insecure), M(qcc_tbl_endpoint, pad),
    M(qcc_tbl_endpoint, model_map_first), M(qcc_tbl_endpoint, model_map_count),
    M(qcc_tbl_endpoint, metadata_first), M(qcc_tbl_endpoint, metadata_count),
    M(qcc_tbl_endpoint, identity_hash), M(qcc_tbl_endpoint, ca_file), M(qcc_tbl_endpoint, proxy),
    M(qcc_tbl_endpoint, proxy_credentials_env), M(qcc_tbl_endpoint, connect_timeout_ms),
    M(qcc_tbl_endpoint, request_timeout_ms), M(qcc_tbl_endpoint, stream_idle_timeout_ms),
    M(qcc_tbl_endpoint, pad2), M(qcc_tbl_endpoint, pad3), M(qcc_tbl_endpoint, pad4),
    M(qcc_tbl_pair, key), M(qcc_tbl_pair, value),
    M(qcc_tbl_token, name), M(qcc_tbl_token, key), M(qcc_tbl_token, priority), M(qcc_tbl_token, pad),
    M(qcc_tbl_price, model), M(qcc_tbl_price, priced), M(qcc_tbl_price, pad),
};
static const size_t member_count = sizeof members / sizeof members[0];

static const struct {
  const char *name;
  size_t size;
} structs[] = {
    {"qcc_tbl_header", sizeof(struct qcc_tbl_header)},     {"qcc_tbl_section", sizeof(struct qcc_tbl_section)},
    {"qcc_tbl_str", sizeof(struct qcc_tbl_str)},           {"qcc_tbl_keyref", sizeof(struct qcc_tbl_keyref)},
    {"qcc_tbl_settings", sizeof(struct qcc_tbl_settings)}, {"qcc_tbl_profile", sizeof(struct qcc_tbl_profile)},
    {"qcc_tbl_endpoint", sizeof(struct qcc_tbl_endpoint)}, {"qcc_tbl_pair", sizeof(struct qcc_tbl_pair)},
    {"qcc_tbl_token", sizeof(struct qcc_tbl_token)},       {"qcc_tbl_price", sizeof(struct qcc_tbl_price)},
};

/* The list above plus every field a config_keys.h row names (its struct and
 * member from qcc_tbl_fields): a new setting needs no line here, only its
 * line in the doc. */
static struct member all[sizeof members / sizeof members[0] + QCC_KNOB_COUNT];
static size_t all_count;

static struct member *find(const char *s, const char *f) {
  for (size_t i = 0; i < all_count; i++)
    if (strcmp(all[i].strct, s) == 0 && strcmp(all[i].field, f) == 0) return &all[i];
  return NULL;
}

static void collect_members(void) {
  static const char *const rec_struct[] = {[QCC_REC_SETTINGS] = "qcc_tbl_settings",
                                           [QCC_REC_PROFILE] = "qcc_tbl_profile",
                                           [QCC_REC_ENDPOINT] = "qcc_tbl_endpoint",
                                           [QCC_REC_TOKEN] = "qcc_tbl_token",
                                           [QCC_REC_PRICE] = "qcc_tbl_price"};
  memcpy(all, members, sizeof members);
  all_count = member_count;
  for (size_t k = 0; k < QCC_KNOB_COUNT; k++) {
    const struct qcc_tbl_field *tf = &qcc_tbl_fields[k];
    if (tf->rec == QCC_REC_NONE || find(rec_struct[tf->rec], tf->name) != NULL) continue;
    all[all_count++] = (struct member){rec_struct[tf->rec], tf->name, tf->offset, tf->size, 0};
  }
}

/* Split "| a | b | c |" into trimmed cells; returns the count. */
static int cells(char *line, char **out, int max) {
  int n = 0;
  char *p = strchr(line, '|');
  while (p != NULL && n < max) {
    char *start = p + 1, *end = strchr(start, '|');
    if (end == NULL) break;
    *end = '\0';
    while (*start == ' ') start++;
    char *e = end;
    while (e > start && e[-1] == ' ') *--e = '\0';
    out[n++] = start;
    p = end;
  }
  return n;
}

Test(doc, table_format_matches_the_structs) {
  collect_members();
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root, "QCC_SOURCE_ROOT not set");
  char path[4096];
  snprintf(path, sizeof path, "%s/docs/table-format.md", root);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "cannot open %s", path);
  char line[2048], current[128] = "";
  size_t next_offset = 0, rows = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "### struct ", 11) == 0) {
      if (current[0] != '\0') {
        for (size_t i = 0; i < sizeof structs / sizeof structs[0]; i++)
          if (strcmp(structs[i].name, current) == 0)
            cr_assert_eq(next_offset, structs[i].size, "%s: documented fields end at %zu, sizeof is %zu",
                         current, next_offset, structs[i].size);
      }
      size_t nl = strcspn(line + 11, " \r\n");
      if (nl >= sizeof current) nl = sizeof current - 1;
      memcpy(current, line + 11, nl);
      current[nl] = '\0';
      next_offset = 0;
      continue;
    }
    if (strncmp(line, "## ", 3) == 0 && current[0] != '\0') {
      for (size_t i = 0; i < sizeof structs / sizeof structs[0]; i++)
        if (strcmp(structs[i].name, current) == 0)
          cr_assert_eq(next_offset, structs[i].size, "%s: documented fields end at %zu, sizeof is %zu", current,
                       next_offset, structs[i].size);
      current[0] = '\0';
      continue;
    }
    if (current[0] == '\0' || line[0] != '|') continue;
    char *c[8];
    int n = cells(line, c, 8);
    if (n < 5 || c[0][0] < '0' || c[0][0] > '9') continue; /* header or separator row */
    size_t off = strtoul(c[0], NULL, 10), size = strtoul(c[1], NULL, 10);
    struct member *m = find(current, c[3]);
    cr_assert_not_null(m, "doc documents %s.%s, which the struct does not have", current, c[3]);
    cr_assert_eq(off, m->offset, "%s.%s: doc offset %zu, offsetof %zu", current, c[3], off, m->offset);
    cr_assert_eq(size, m->size, "%s.%s: doc size %zu, sizeof %zu", current, c[3], size, m->size);
    cr_assert_eq(off, next_offset, "%s.%s: gap or overlap before offset %zu", current, c[3], off);
    next_offset = off + size;
    m->seen++;
    rows++;
  }
  fclose(f);
  cr_assert_gt(rows, 0);
  for (size_t i = 0; i < all_count; i++)
    cr_assert_eq(all[i].seen, 1, "%s.%s documented %d times", all[i].strct, all[i].field, all[i].seen);
}
