/* Corruption: every cut, every flipped byte, and hostile bodies with valid
 * checksums are rejected with a sensible status, never a crash (run it under
 * ASan too). A table that still opens must be fully walkable. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "fixture.h"
#include "schema/table.h"

static struct qcc_config *cfg;
static uint8_t *orig, *buf;
static size_t len;

static void setup(void) {
  cfg = fixture_config(3, 3, 5);
  orig = fixture_image(cfg, 2, &len);
  buf = aligned_alloc(8, (len + 7) & ~(size_t)7);
  cr_assert_not_null(buf);
}
static void teardown(void) {
  free(orig);
  free(buf);
  fixture_free(&cfg);
}
TestSuite(corrupt, .init = setup, .fini = teardown);

static void reseal(uint8_t *b, size_t n) {
  struct qcc_tbl_header *h = (struct qcc_tbl_header *)b;
  if (n < QCC_TABLE_HEADER_SIZE) return;
  h->payload_checksum = XXH3_64bits(b + QCC_TABLE_HEADER_SIZE, n - QCC_TABLE_HEADER_SIZE);
  h->header_checksum = XXH3_64bits(b, offsetof(struct qcc_tbl_header, header_checksum));
}

/* Touch everything an accepted table exposes, through the public API. */
static uint64_t walk(const struct qcc_table *t) {
  uint64_t sum = 0;
  const struct qcc_tbl_settings *s = qcc_table_settings(t);
  sum += strlen(qcc_table_str(t, s->host)) + strlen(qcc_table_str(t, s->tls_cert));
  for (uint32_t i = 0; i < qcc_table_profile_count(t); i++) {
    const struct qcc_tbl_profile *p = qcc_table_profile(t, i);
    sum += strlen(qcc_table_str(t, p->name));
    for (uint32_t j = 0; j < p->endpoint_count; j++) {
      const struct qcc_tbl_endpoint *e = qcc_table_endpoint(t, p->endpoint_first + j);
      cr_assert_not_null(e);
      cr_assert_eq(e->profile_index, i);
      sum += strlen(qcc_table_str(t, e->id)) + strlen(qcc_table_str(t, e->base_url)) +
             strlen(qcc_table_str(t, e->key.value));
      for (uint32_t m = 0; m < e->model_map_count; m++) {
        const struct qcc_tbl_pair *pr = qcc_table_model_map(t, e->model_map_first + m);
        cr_assert_not_null(pr);
        sum += strlen(qcc_table_str(t, pr->key)) + strlen(qcc_table_str(t, pr->value));
      }
      for (uint32_t m = 0; m < e->metadata_count; m++) {
        const struct qcc_tbl_pair *pr = qcc_table_metadata(t, e->metadata_first + m);
        cr_assert_not_null(pr);
        sum += strlen(qcc_table_str(t, pr->key)) + strlen(qcc_table_str(t, pr->value));
      }
      cr_assert_eq(qcc_table_find_endpoint(t, e->stable_id), p->endpoint_first + j);
    }
  }
  for (uint32_t i = 0; i < qcc_table_token_count(t); i++)
    sum += strlen(qcc_table_str(t, qcc_table_token(t, i)->key.value));
  return sum;
}

static enum qcc_table_status try_open(const uint8_t *b, size_t n, struct qcc_table_error *e) {
  struct qcc_table *t = NULL;
  if (qcc_table_open_buffer(b, n, &t, e) != 0) {
    cr_assert_null(t);
    cr_assert_neq(e->message[0], '\0');
    return e->status;
  }
  walk(t);
  qcc_table_close(&t);
  return QCC_TABLE_OK;
}

Test(corrupt, the_original_opens) {
  struct qcc_table_error e;
  cr_assert_eq(try_open(orig, len, &e), QCC_TABLE_OK, "%s", e.message);
}

Test(corrupt, cut_at_every_offset) {
  struct qcc_table_error e;
  for (size_t cut = 0; cut < len; cut++) {
    memcpy(buf, orig, cut);
    enum qcc_table_status st = try_open(buf, cut, &e);
    enum qcc_table_status want = cut < QCC_TABLE_MAGIC_LEN ? QCC_TABLE_ERR_NOT_TABLE : QCC_TABLE_ERR_TRUNCATED;
    cr_assert_eq(st, want, "cut at %zu: %s (%s)", cut, qcc_table_status_name(st), e.message);
  }
}

Test(corrupt, every_byte_flipped) {
  struct qcc_table_error e;
  for (size_t i = 0; i < len; i++) {
    memcpy(buf, orig, len);
    buf[i] ^= 0xFF;
    enum qcc_table_status st = try_open(buf, len, &e);
    cr_assert_neq(st, QCC_TABLE_OK, "flip at %zu accepted", i);
    if (i < 8) cr_assert_eq(st, QCC_TABLE_ERR_NOT_TABLE, "flip at %zu: %s", i, e.message);
    else if (i < 12) cr_assert_eq(st, QCC_TABLE_ERR_NOT_TABLE, "flip at %zu: %s", i, e.message);
    else if (i >= 12 && i < 14) cr_assert_eq(st, QCC_TABLE_ERR_VERSION, "flip at %zu: %s", i, e.message);
    else cr_assert_eq(st, QCC_TABLE_ERR_CHECKSUM, "flip at %zu: %s (%s)", i, qcc_table_status_name(st), e.message);
  }
}

Test(corrupt, every_byte_flipped_with_valid_checksums) {
  /* A hostile file carries correct checksums: the structure checks must hold. */
  static const uint8_t masks[] = {0x01, 0x80, 0xFF};
  struct qcc_table_error e;
  size_t accepted = 0, rejected = 0;
  for (size_t m = 0; m < sizeof masks; m++) {
    for (size_t i = 0; i < len; i++) {
      if (i >= offsetof(struct qcc_tbl_header, payload_checksum) && i < 72) continue;
      if (i >= 120 && i < 128) continue; /* the checksums themselves are rewritten */
      memcpy(buf, orig, len);
      buf[i] ^= masks[m];
      reseal(buf, len);
      enum qcc_table_status st = try_open(buf, len, &e);
      if (st == QCC_TABLE_OK) {
        accepted++;
        continue;
      }
      rejected++;
      if (i >= QCC_TABLE_HEADER_SIZE)
        cr_assert_eq(st, QCC_TABLE_ERR_MALFORMED, "flip 0x%02x at %zu: %s (%s)", masks[m], i,
                     qcc_table_status_name(st), e.message);
    }
  }
  /* Both outcomes occur: many fields accept any value (weights), many do not. */
  cr_assert_gt(accepted, 0);
  cr_assert_gt(rejected, 0);
}

Test(corrupt, random_garbage_with_valid_checksums) {
  struct qcc_table_error e;
  unsigned seed = 12345;
  for (int round = 0; round < 3000; round++) {
    memcpy(buf, orig, len);
    int flips = 1 + round % 8;
    for (int k = 0; k < flips; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = QCC_TABLE_HEADER_SIZE + (seed >> 8) % (len - QCC_TABLE_HEADER_SIZE);
      seed = seed * 1103515245u + 12345u;
      buf[at] = (uint8_t)(seed >> 16);
    }
    reseal(buf, len);
    enum qcc_table_status st = try_open(buf, len, &e);
    cr_assert(st == QCC_TABLE_OK || st == QCC_TABLE_ERR_MALFORMED, "round %d: %s (%s)", round,
              qcc_table_status_name(st), e.message);
  }
}

Test(corrupt, hostile_directory_values) {
  struct qcc_table_error e;
  static const uint64_t offsets[] = {0, 8, 128, UINT64_MAX, UINT64_MAX - 7, 1ull << 63, 0xFFFFFFF8ull};
  static const uint64_t counts[] = {0, 1, UINT64_MAX, UINT64_MAX / 16 + 1, 1ull << 32};
  static const uint32_t sizes[] = {0, 1, 16, 96, UINT32_MAX};
  for (uint32_t sec = 0; sec < 7; sec++) {
    for (size_t a = 0; a < sizeof offsets / sizeof offsets[0]; a++)
      for (size_t b = 0; b < sizeof counts / sizeof counts[0]; b++)
        for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
          memcpy(buf, orig, len);
          struct qcc_tbl_section *d = (struct qcc_tbl_section *)(buf + QCC_TABLE_HEADER_SIZE) + sec;
          d->offset = offsets[a];
          d->count = counts[b];
          d->record_size = sizes[c];
          reseal(buf, len);
          enum qcc_table_status st = try_open(buf, len, &e);
          cr_assert(st == QCC_TABLE_OK || st == QCC_TABLE_ERR_MALFORMED, "%s", e.message);
        }
  }
}
