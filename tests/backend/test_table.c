/* The reader: accepts a valid table, rejects each class of damage with its
 * own status. Damage that keeps checksums valid is re-sealed (checksums
 * recomputed) so the structural checks are what must catch it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "fixture.h"
#include "schema/table.h"

static struct qcc_config *cfg;
static uint8_t *img;
static size_t img_len;

static void setup(void) {
  cfg = fixture_config(3, 4, 1);
  img = fixture_image(cfg, 7, &img_len);
}
static void teardown(void) {
  free(img);
  fixture_free(&cfg);
}

static struct qcc_tbl_header *hdr(void) { return (struct qcc_tbl_header *)img; }

static void reseal(void) {
  hdr()->payload_checksum = XXH3_64bits(img + QCC_TABLE_HEADER_SIZE, img_len - QCC_TABLE_HEADER_SIZE);
  hdr()->header_checksum = XXH3_64bits(img, offsetof(struct qcc_tbl_header, header_checksum));
}

static struct qcc_tbl_section *section(uint32_t id) {
  struct qcc_tbl_section *dir = (struct qcc_tbl_section *)(img + QCC_TABLE_HEADER_SIZE);
  for (uint32_t i = 0; i < hdr()->section_count; i++)
    if (dir[i].id == id) return &dir[i];
  cr_assert_fail("section %u missing", id);
  return NULL;
}

static void *record(uint32_t id, uint32_t i) {
  struct qcc_tbl_section *s = section(id);
  return img + s->offset + (size_t)i * s->record_size;
}

static enum qcc_table_status open_status(struct qcc_table_error *e) {
  struct qcc_table *t = NULL;
  int rc = qcc_table_open_buffer(img, img_len, &t, e);
  if (rc == 0) {
    cr_assert_not_null(t);
    qcc_table_close(&t);
    cr_assert_null(t);
    return QCC_TABLE_OK;
  }
  cr_assert_null(t);
  cr_assert_neq(e->status, QCC_TABLE_OK);
  cr_assert_neq(e->message[0], '\0', "a rejection carries a message");
  return e->status;
}

static void expect(enum qcc_table_status want, const char *needle) {
  struct qcc_table_error e;
  enum qcc_table_status got = open_status(&e);
  cr_assert_eq(got, want, "status %s (%s), want %s", qcc_table_status_name(got), e.message,
               qcc_table_status_name(want));
  if (needle != NULL)
    cr_assert_not_null(strstr(e.message, needle), "message \"%s\" lacks \"%s\"", e.message, needle);
}

TestSuite(table, .init = setup, .fini = teardown);

Test(table, a_valid_table_opens) {
  struct qcc_table *t = NULL;
  struct qcc_table_error e;
  cr_assert_eq(qcc_table_open_buffer(img, img_len, &t, &e), 0, "%s", e.message);
  cr_assert_eq(qcc_table_header(t)->generation, 7);
  cr_assert_eq(qcc_table_profile_count(t), 3);
  cr_assert_eq(qcc_table_endpoint_count(t), 12);
  cr_assert_str_eq(qcc_table_str(t, qcc_table_profile(t, 2)->name), "profile-2");
  cr_assert_null(qcc_table_profile(t, 3));
  cr_assert_null(qcc_table_endpoint(t, 12));
  size_t n = 0;
  cr_assert_eq(qcc_table_bytes(t, &n), img);
  cr_assert_eq(n, img_len);
  qcc_table_close(&t);
  qcc_table_close(&t); /* idempotent */
}

Test(table, find_endpoint_and_profile) {
  struct qcc_table *t = NULL;
  struct qcc_table_error e;
  cr_assert_eq(qcc_table_open_buffer(img, img_len, &t, &e), 0, "%s", e.message);
  for (uint32_t i = 0; i < qcc_table_endpoint_count(t); i++) {
    const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(t, i);
    cr_assert_eq(qcc_table_find_endpoint(t, ep->stable_id), (int64_t)i);
  }
  cr_assert_eq(qcc_table_find_endpoint(t, XXH3_64bits("nope", 4)), -1);
  cr_assert_eq(qcc_table_find_endpoint(t, XXH3_64bits("ep-1-2", 6)), 6);
  cr_assert_eq(qcc_table_find_profile(t, "profile-1"), 1);
  cr_assert_eq(qcc_table_find_profile(t, "profile-9"), -1);
  qcc_table_close(&t);
}

Test(table, not_a_table) {
  img[0] = 'X';
  expect(QCC_TABLE_ERR_NOT_TABLE, "magic");
}

Test(table, empty_and_tiny_inputs) {
  struct qcc_table *t = NULL;
  struct qcc_table_error e;
  static const uint64_t zeros[4];
  cr_assert_eq(qcc_table_open_buffer(zeros, 0, &t, &e), -1);
  cr_assert_eq(e.status, QCC_TABLE_ERR_NOT_TABLE);
  cr_assert_eq(qcc_table_open_buffer(zeros, sizeof zeros, &t, &e), -1);
  cr_assert_eq(e.status, QCC_TABLE_ERR_NOT_TABLE);
  /* A prefix of a real table is truncated, not foreign. */
  cr_assert_eq(qcc_table_open_buffer(img, 64, &t, &e), -1);
  cr_assert_eq(e.status, QCC_TABLE_ERR_TRUNCATED);
  cr_assert_null(t);
}

Test(table, other_byte_order) {
  hdr()->byte_order = 0x04030201u;
  expect(QCC_TABLE_ERR_NOT_TABLE, "byte order");
}

Test(table, unsupported_major_version) {
  hdr()->version_major = 2;
  hdr()->version_minor = 0;
  reseal();
  expect(QCC_TABLE_ERR_VERSION, "2.0");
}

Test(table, newer_minor_is_read) {
  hdr()->version_minor = 9;
  reseal();
  expect(QCC_TABLE_OK, NULL);
}

Test(table, header_checksum) {
  hdr()->generation ^= 1;
  expect(QCC_TABLE_ERR_CHECKSUM, "header");
}

Test(table, payload_checksum) {
  img[img_len - 2] ^= 0x40;
  expect(QCC_TABLE_ERR_CHECKSUM, "payload");
}

Test(table, truncated) {
  img_len -= 9;
  expect(QCC_TABLE_ERR_TRUNCATED, NULL);
}

Test(table, trailing_bytes) {
  uint8_t *big = aligned_alloc(8, img_len + 8);
  cr_assert_not_null(big);
  memcpy(big, img, img_len);
  memset(big + img_len, 0, 8);
  free(img);
  img = big;
  img_len += 8;
  expect(QCC_TABLE_ERR_MALFORMED, "header says");
}

Test(table, misaligned_section) {
  section(QCC_SEC_PROFILES)->offset += 4;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "aligned");
}

Test(table, section_past_end) {
  section(QCC_SEC_ENDPOINTS)->count += 1000;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "outside");
}

Test(table, section_count_overflow) {
  section(QCC_SEC_METADATA)->count = UINT64_MAX / 8;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "overflow");
}

Test(table, directory_past_end) {
  hdr()->section_count = 1u << 30;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "directory");
}

Test(table, small_record_size) {
  section(QCC_SEC_ENDPOINTS)->record_size = 88;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "record_size");
}

Test(table, missing_required_section) {
  section(QCC_SEC_SETTINGS)->id = 99; /* an unknown id is skipped */
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "settings");
}

Test(table, duplicate_section) {
  section(QCC_SEC_METADATA)->id = QCC_SEC_MODEL_MAPS;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "twice");
}

Test(table, settings_count_not_one) {
  section(QCC_SEC_SETTINGS)->count = 2;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "settings");
}

Test(table, pool_without_leading_nul) {
  img[section(QCC_SEC_STRINGS)->offset] = 'a';
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "NUL");
}

Test(table, string_outside_pool) {
  struct qcc_tbl_profile *p = record(QCC_SEC_PROFILES, 1);
  p->name.off = (uint32_t)section(QCC_SEC_STRINGS)->count;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "outside the string pool");
}

Test(table, string_length_overflow) {
  struct qcc_tbl_endpoint *e = record(QCC_SEC_ENDPOINTS, 3);
  e->base_url.len = UINT32_MAX;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "outside the string pool");
}

Test(table, string_not_terminated) {
  struct qcc_tbl_endpoint *e = record(QCC_SEC_ENDPOINTS, 0);
  e->base_url.len -= 1;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "NUL-terminated");
}

Test(table, string_with_interior_nul) {
  struct qcc_tbl_endpoint *e = record(QCC_SEC_ENDPOINTS, 0);
  e->id.len += 1; /* swallows the terminator: now there is a NUL inside */
  char *pool = (char *)img + section(QCC_SEC_STRINGS)->offset;
  cr_assert_eq(pool[e->id.off + e->id.len - 1], '\0');
  pool[e->id.off + e->id.len] = '\0';
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "contains a NUL");
}

Test(table, enum_out_of_range) {
  struct qcc_tbl_profile *p = record(QCC_SEC_PROFILES, 0);
  p->group = QCC_GROUP_COUNT;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "group");
}

Test(table, settings_enum_out_of_range) {
  struct qcc_tbl_settings *s = record(QCC_SEC_SETTINGS, 0);
  s->journal_fsync = 200;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "journal_fsync");
}

Test(table, key_kind_out_of_range) {
  struct qcc_tbl_endpoint *e = record(QCC_SEC_ENDPOINTS, 5);
  e->key.kind = QCC_KEY_COUNT;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "key kind");
}

Test(table, profile_range_gap) {
  struct qcc_tbl_profile *p = record(QCC_SEC_PROFILES, 1);
  p->endpoint_first += 1;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "endpoint range");
}

Test(table, profile_range_past_end) {
  struct qcc_tbl_profile *p = record(QCC_SEC_PROFILES, 2);
  p->endpoint_count = UINT32_MAX;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "endpoint range");
}

Test(table, endpoints_not_covered) {
  struct qcc_tbl_profile *p = record(QCC_SEC_PROFILES, 2);
  p->endpoint_count -= 1;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "cover");
}

Test(table, wrong_profile_index) {
  struct qcc_tbl_endpoint *e = record(QCC_SEC_ENDPOINTS, 4);
  e->profile_index = 0;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "profile_index");
}

Test(table, model_map_range) {
  struct qcc_tbl_endpoint *e = record(QCC_SEC_ENDPOINTS, 1);
  e->model_map_first = (uint32_t)section(QCC_SEC_MODEL_MAPS)->count;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "model map range");
}

Test(table, metadata_range) {
  struct qcc_tbl_endpoint *e = record(QCC_SEC_ENDPOINTS, 1);
  e->metadata_count = UINT32_MAX;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "metadata range");
}

Test(table, stable_id_mismatch) {
  struct qcc_tbl_endpoint *e = record(QCC_SEC_ENDPOINTS, 2);
  e->stable_id ^= 1;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "stable_id");
}

Test(table, duplicate_endpoint_id) {
  struct qcc_tbl_endpoint *a = record(QCC_SEC_ENDPOINTS, 2);
  struct qcc_tbl_endpoint *b = record(QCC_SEC_ENDPOINTS, 9);
  b->id = a->id;
  b->stable_id = a->stable_id;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "duplicate");
}

Test(table, token_string) {
  struct qcc_tbl_token *k = record(QCC_SEC_AUTH_TOKENS, 0);
  k->key.value.off = UINT32_MAX;
  reseal();
  expect(QCC_TABLE_ERR_MALFORMED, "auth token");
}

Test(table, open_from_file_and_io_errors) {
  char *dir = fixture_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/t.bin", dir);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(img, 1, img_len, f), img_len);
  fclose(f);
  struct qcc_table *t = NULL;
  struct qcc_table_error e;
  cr_assert_eq(qcc_table_open(path, &t, &e), 0, "%s", e.message);
  cr_assert_eq(qcc_table_endpoint_count(t), 12);
  qcc_table_close(&t);

  snprintf(path, sizeof path, "%s/missing.bin", dir);
  cr_assert_eq(qcc_table_open(path, &t, &e), -1);
  cr_assert_eq(e.status, QCC_TABLE_ERR_IO);
  cr_assert_eq(qcc_table_open(dir, &t, &e), -1);
  cr_assert_eq(e.status, QCC_TABLE_ERR_IO);

  snprintf(path, sizeof path, "%s/short.bin", dir);
  f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(img, 1, 40, f), 40);
  fclose(f);
  cr_assert_eq(qcc_table_open(path, &t, &e), -1);
  cr_assert_eq(e.status, QCC_TABLE_ERR_TRUNCATED, "%s", e.message);
  fixture_rmtree(dir);
  free(dir);
}

Test(table, status_names_distinct) {
  for (int a = QCC_TABLE_OK; a <= QCC_TABLE_ERR_MALFORMED; a++)
    for (int b = a + 1; b <= QCC_TABLE_ERR_MALFORMED; b++)
      cr_assert_str_neq(qcc_table_status_name(a), qcc_table_status_name(b));
  cr_assert_str_eq(qcc_table_status_name(QCC_TABLE_ERR_CHECKSUM), "checksum mismatch");
}
