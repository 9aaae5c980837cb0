/* The record format and the one reader: doc vs code, round trips, and the
 * crash cases (cut at every byte offset, flipped bytes). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <xxhash.h>

#include "sample.h"
#include "schema/journal.h"

static char *read_doc(void) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root, "QCC_SOURCE_ROOT not set");
  char path[4096];
  snprintf(path, sizeof path, "%s/docs/journal-format.md", root);
  size_t len;
  uint8_t *p = read_whole(path, &len);
  cr_assert_not_null(p, "cannot read %s", path);
  char *s = realloc(p, len + 1);
  s[len] = '\0';
  return s;
}

static void expect_row(const char *doc, const char *row) {
  cr_expect_not_null(strstr(doc, row), "docs/journal-format.md lacks the row: %s", row);
}

Test(journal_format, a_doc_matches_code) {
  char *doc = read_doc();
  char row[2048];
  /* File header and record header offsets. */
  struct { unsigned off, size; const char *type, *name; } hdr[] = {
    {QCC_JOURNAL_HDR_MAGIC, QCC_JOURNAL_MAGIC_LEN, "u8[8]", "magic"},
    {QCC_JOURNAL_HDR_BYTE_ORDER, 4, "u32", "byte_order"},
    {QCC_JOURNAL_HDR_MAJOR, 2, "u16", "version_major"},
    {QCC_JOURNAL_HDR_MINOR, 2, "u16", "version_minor"},
    {QCC_JOURNAL_HDR_CREATED, 8, "i64", "created_ms"},
    {QCC_JOURNAL_HDR_CHECKSUM, 8, "u64", "header_checksum"},
    {QCC_JOURNAL_REC_LEN, 4, "u32", "payload_len"},
    {QCC_JOURNAL_REC_TYPE, 2, "u16", "type"},
    {QCC_JOURNAL_REC_FLAGS, 2, "u16", "flags"},
    {QCC_JOURNAL_REC_TIME, 8, "i64", "time_ms"},
  };
  for (size_t i = 0; i < sizeof hdr / sizeof hdr[0]; i++) {
    snprintf(row, sizeof row, "| %u | %u | %s | `%s` |", hdr[i].off, hdr[i].size, hdr[i].type, hdr[i].name);
    expect_row(doc, row);
  }
  snprintf(row, sizeof row, "## File header (%d bytes)", QCC_JOURNAL_HEADER_SIZE);
  expect_row(doc, row);
  snprintf(row, sizeof row, "| %d | payload_len | bytes | `payload` |", QCC_JOURNAL_REC_PAYLOAD);
  expect_row(doc, row);
  snprintf(row, sizeof row, "at most %u |", QCC_JOURNAL_MAX_PAYLOAD);
  expect_row(doc, row);
  cr_expect_eq(QCC_JOURNAL_REC_TRAILER, 8);
  expect_row(doc, "| 16 + pad8(payload_len) | 8 | u64 | `checksum` |");
  expect_row(doc, "`QCCJRN\\r\\n`");
  cr_expect_str_eq(QCC_JOURNAL_MAGIC, "QCCJRN\r\n");
  /* Kinds. */
#define KIND_ROW_(k, ct, nm, enc) \
  snprintf(row, sizeof row, "| `%s` | %s |", nm, enc); \
  expect_row(doc, row);
  QCC_JKIND_LIST(KIND_ROW_)
#undef KIND_ROW_
  /* Types: the summary row and each field row in the type's own section. */
  size_t headings = 0;
  for (const char *p = doc; (p = strstr(p, "\n### ")) != NULL; p++) headings++;
  cr_expect_eq(headings, qcc_jtype_count, "doc has %zu type sections, code has %zu types", headings,
               qcc_jtype_count);
  for (size_t i = 0; i < qcc_jtype_count; i++) {
    const struct qcc_jtype_info *t = &qcc_jtypes[i];
    char layout[1024];
    qcc_journal_type_layout(t, layout, sizeof layout);
    snprintf(row, sizeof row, "| %u | `%s` | %s | %s |", t->id, t->name, layout, t->doc);
    expect_row(doc, row);
    snprintf(row, sizeof row, "\n### %u `%s`\n", t->id, t->name);
    const char *sec = strstr(doc, row);
    cr_expect_not_null(sec, "no section %s", row);
    if (sec == NULL) continue;
    const char *end = strstr(sec + 1, "\n##");
    size_t seclen = end ? (size_t)(end - sec) : strlen(sec);
    char *copy = strndup(sec, seclen);
    for (size_t k = 0; k < t->field_count; k++) {
      snprintf(row, sizeof row, "| %zu | `%s` | %s | %s", k, t->fields[k].name,
               qcc_journal_kind_name(t->fields[k].kind), t->fields[k].doc);
      cr_expect_not_null(strstr(copy, row), "section %s lacks: %s", t->name, row);
    }
    /* No extra field rows in the doc. */
    snprintf(row, sizeof row, "\n| %zu | `", t->field_count);
    cr_expect_null(strstr(copy, row), "section %s documents more fields than the code", t->name);
    free(copy);
  }
  free(doc);
}

Test(journal_format, a_type_table_is_consistent) {
  for (size_t i = 0; i < qcc_jtype_count; i++) {
    cr_expect_neq(qcc_jtypes[i].id, 0, "type 0 is reserved");
    cr_expect_eq(qcc_journal_type(qcc_jtypes[i].id), &qcc_jtypes[i]);
    cr_expect_eq(qcc_journal_type_by_name(qcc_jtypes[i].name), &qcc_jtypes[i]);
    for (size_t k = 0; k < qcc_jtypes[i].field_count; k++)
      cr_expect_eq(qcc_jtypes[i].fields[k].kind == QCC_JK_ENUM, qcc_jtypes[i].fields[k].values != NULL,
                   "%s.%s: enum fields (only) have a value list", qcc_jtypes[i].name,
                   qcc_jtypes[i].fields[k].name);
  }
  cr_expect_null(qcc_journal_type(0));
  cr_expect_null(qcc_journal_type(999));
  cr_expect_null(qcc_journal_type_by_name("nope"));
}

Test(journal_format, b_header_round_trip) {
  uint8_t h[QCC_JOURNAL_HEADER_SIZE];
  qcc_journal_header_encode(h, 1764131585123);
  struct qcc_jscan_result res;
  cr_assert_eq(qcc_journal_scan(h, sizeof h, NULL, NULL, &res), 0, "%s", res.why);
  cr_expect_eq(res.status, QCC_JSCAN_OK);
  cr_expect_eq(res.created_ms, 1764131585123);
  cr_expect_eq(res.major, QCC_JOURNAL_MAJOR);
  cr_expect_eq(res.ok_up_to, QCC_JOURNAL_HEADER_SIZE);
  cr_expect_eq(res.records, 0);
  /* Little-endian on disk, whatever the host. */
  cr_expect_eq(h[8], 0x04);
  cr_expect_eq(h[11], 0x01);

  uint8_t bad[QCC_JOURNAL_HEADER_SIZE];
  memcpy(bad, h, sizeof bad);
  bad[0] = 'X';
  qcc_journal_scan(bad, sizeof bad, NULL, NULL, &res);
  cr_expect_eq(res.status, QCC_JSCAN_NOT_JOURNAL);
  memcpy(bad, h, sizeof bad);
  bad[17] ^= 1;
  qcc_journal_scan(bad, sizeof bad, NULL, NULL, &res);
  cr_expect_eq(res.status, QCC_JSCAN_BAD_HEADER);
  memcpy(bad, h, sizeof bad);
  bad[8] = 1, bad[11] = 4; /* byte-swapped writer */
  qcc_journal_scan(bad, sizeof bad, NULL, NULL, &res);
  cr_expect_eq(res.status, QCC_JSCAN_NOT_JOURNAL);
  qcc_journal_scan(NULL, 0, NULL, NULL, &res);
  cr_expect_eq(res.status, QCC_JSCAN_EMPTY);
}

Test(journal_format, b_version_major_refused) {
  uint8_t h[QCC_JOURNAL_HEADER_SIZE];
  qcc_journal_header_encode(h, 1);
  h[QCC_JOURNAL_HDR_MAJOR] = QCC_JOURNAL_MAJOR + 1;
  /* Recompute the header checksum so only the version is wrong. */
  struct qcc_jscan_result res;
  uint8_t fixed[QCC_JOURNAL_HEADER_SIZE];
  memcpy(fixed, h, sizeof fixed);
  uint64_t c = XXH3_64bits(fixed, QCC_JOURNAL_HDR_CHECKSUM);
  for (int i = 0; i < 8; i++) fixed[QCC_JOURNAL_HDR_CHECKSUM + i] = (uint8_t)(c >> (8 * i));
  cr_expect_neq(qcc_journal_scan(fixed, sizeof fixed, NULL, NULL, &res), 0);
  cr_expect_eq(res.status, QCC_JSCAN_BAD_VERSION);
  char want[16];
  snprintf(want, sizeof want, "%d.%d", QCC_JOURNAL_MAJOR + 1, QCC_JOURNAL_MINOR);
  cr_expect_not_null(strstr(res.why, want), "%s", res.why);
}

struct collect {
  struct qcc_jrec rec[512];
  uint64_t off[512];
  unsigned n;
};

static int collect_cb(const struct qcc_jraw *raw, void *ud) {
  struct collect *c = ud;
  struct qcc_err err = {0};
  cr_assert_lt(c->n, 512);
  cr_assert_eq(qcc_journal_decode(raw, &c->rec[c->n], &err), 0, "%s", err.msg);
  c->off[c->n++] = raw->offset;
  return 0;
}

Test(journal_format, c_round_trip_every_type) {
  for (size_t t = 0; t < qcc_jtype_count; t++) {
    for (unsigned i = 0; i < 5; i++) {
      struct qcc_jrec in, out;
      sample_record(qcc_jtypes[t].id, i, &in);
      in.flags = (uint16_t)(i == 3 ? QCC_JOURNAL_FLAG_SNAPSHOT : 0);
      uint8_t buf[QCC_JOURNAL_MAX_RECORD];
      size_t len;
      struct qcc_err err = {0};
      cr_assert_eq(qcc_journal_encode(&in, buf, sizeof buf, &len, &err), 0, "%s", err.msg);
      cr_expect_eq(len % QCC_JOURNAL_ALIGN, 0);
      uint8_t img[QCC_JOURNAL_HEADER_SIZE + QCC_JOURNAL_MAX_RECORD];
      qcc_journal_header_encode(img, 5);
      memcpy(img + QCC_JOURNAL_HEADER_SIZE, buf, len);
      struct collect *c = calloc(1, sizeof *c);
      struct qcc_jscan_result res;
      cr_assert_eq(qcc_journal_scan(img, QCC_JOURNAL_HEADER_SIZE + len, collect_cb, c, &res), 0,
                   "%s: %s", qcc_jtypes[t].name, res.why);
      cr_assert_eq(c->n, 1);
      out = c->rec[0];
      char why[256];
      cr_expect(records_equal(&in, &out, why, sizeof why), "%s #%u: %s", qcc_jtypes[t].name, i, why);
      /* Every field is formatted (output and JSON use these). */
      char text[4096];
      qcc_journal_format_fields(&out, text, sizeof text);
      cr_expect_neq(text[0], '\0');
      free(c);
    }
  }
}

Test(journal_format, c_text_is_capped_on_utf8_boundary) {
  char longtext[1000];
  /* "é" is two bytes: 300 of them cross the 255 cap mid-sequence. */
  for (int i = 0; i < 300; i++) memcpy(longtext + 2 * i, "\xc3\xa9", 2);
  longtext[600] = '\0';
  struct qcc_jrec in = {.type = QCC_JT_SHUTDOWN, .time_ms = 1};
  in.u.shutdown.reason = longtext;
  uint8_t buf[2048], img[4096];
  size_t len;
  cr_assert_eq(qcc_journal_encode(&in, buf, sizeof buf, &len, NULL), 0);
  qcc_journal_header_encode(img, 1);
  memcpy(img + QCC_JOURNAL_HEADER_SIZE, buf, len);
  struct collect *c = calloc(1, sizeof *c);
  struct qcc_jscan_result res;
  cr_assert_eq(qcc_journal_scan(img, QCC_JOURNAL_HEADER_SIZE + len, collect_cb, c, &res), 0);
  size_t n = strlen(c->rec[0].u.shutdown.reason);
  cr_expect_leq(n, QCC_JOURNAL_MAX_TEXT);
  cr_expect_eq(n % 2, 0, "cut inside a UTF-8 sequence (%zu bytes)", n);
  cr_expect_eq(strncmp(c->rec[0].u.shutdown.reason, longtext, n), 0);
  free(c);
  /* Too many attempts is refused, not silently cut. */
  struct qcc_jrec d = {.type = QCC_JT_QUEUE_DEAD_LETTER};
  d.u.queue_dead_letter.tried.count = QCC_JOURNAL_MAX_ATTEMPTS + 1;
  struct qcc_err err = {0};
  cr_expect_neq(qcc_journal_encode(&d, buf, sizeof buf, &len, &err), 0);
  cr_expect_not_null(strstr(err.msg, "attempts"), "%s", err.msg);
  struct qcc_jrec u = {.type = 77};
  cr_expect_neq(qcc_journal_encode(&u, buf, sizeof buf, &len, NULL), 0);
  cr_expect_neq(qcc_journal_encode(&in, buf, 40, &len, NULL), 0, "a record that does not fit");
}

Test(journal_format, d_unknown_type_is_skipped_not_corrupt) {
  /* A newer writer's record type: framed and checksummed, so readers skip
   * it and go on. Build it by re-typing a good record and re-checksumming. */
  struct qcc_jrec r;
  sample_record(QCC_JT_SHUTDOWN, 1, &r);
  uint8_t img[1024];
  size_t len, len2;
  qcc_journal_header_encode(img, 1);
  cr_assert_eq(qcc_journal_encode(&r, img + 32, sizeof img - 32, &len, NULL), 0);
  img[32 + QCC_JOURNAL_REC_TYPE] = 200;
  uint64_t c = XXH3_64bits(img + 32, len - 8);
  for (int i = 0; i < 8; i++) img[32 + len - 8 + i] = (uint8_t)(c >> (8 * i));
  sample_record(QCC_JT_BREAKER, 2, &r);
  cr_assert_eq(qcc_journal_encode(&r, img + 32 + len, sizeof img - 32 - len, &len2, NULL), 0);
  struct qcc_jscan_result res;
  cr_assert_eq(qcc_journal_scan(img, 32 + len + len2, NULL, NULL, &res), 0, "%s", res.why);
  cr_expect_eq(res.records, 2);
  struct qcc_jraw raw = {.type = 200, .payload = img + 48, .payload_len = 4};
  struct qcc_jrec out;
  struct qcc_err err = {0};
  cr_expect_neq(qcc_journal_decode(&raw, &out, &err), 0);
  cr_expect_eq(err.code, ENOENT);
}

Test(journal_format, d_malformed_payload_rejected) {
  /* A good frame whose payload is cut: decode says so, never reads past. */
  uint8_t payload[64];
  memset(payload, 0xff, sizeof payload);
  for (size_t t = 0; t < qcc_jtype_count; t++) {
    for (uint32_t n = 0; n < 12; n++) {
      struct qcc_jraw raw = {.type = qcc_jtypes[t].id, .payload = payload, .payload_len = n};
      struct qcc_jrec out;
      struct qcc_err err = {0};
      int rc = qcc_journal_decode(&raw, &out, &err);
      if (rc != 0) cr_expect_eq(err.code, EINVAL);
      /* A type with only small integer fields may decode from 12 x 0xff. */
    }
  }
  /* A string without its NUL. */
  uint8_t p[] = {3, 0, 'a', 'b', 'c', 'x', 0, 0};
  struct qcc_jraw raw = {.type = QCC_JT_QUEUE_CLEARED, .payload = p, .payload_len = sizeof p};
  uint8_t full[16] = {1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 'a', 'b', 'c', 'x'};
  raw.payload = full;
  raw.payload_len = 14;
  struct qcc_jrec out;
  cr_expect_neq(qcc_journal_decode(&raw, &out, NULL), 0);
  full[13] = 0;
  cr_expect_eq(qcc_journal_decode(&raw, &out, NULL), 0);
  cr_expect_str_eq(out.u.queue_cleared.reason, "abc");
}

/* ---- crash cases ---- */
#define N_RECORDS 300

Test(journal_format, e_cut_at_every_byte_offset) {
  size_t len, ends[N_RECORDS];
  uint8_t *img = build_image(N_RECORDS, &len, ends);
  cr_assert_gt(len, 10000u, "a few hundred records");
  unsigned k = 0; /* whole records before the cut */
  for (size_t cut = 0; cut <= len; cut++) {
    while (k < N_RECORDS && ends[k] <= cut) k++;
    /* A private copy of exactly `cut` bytes, so ASan sees any overread. */
    uint8_t *p = malloc(cut ? cut : 1);
    memcpy(p, img, cut);
    struct qcc_jscan_result res;
    qcc_journal_scan(cut ? p : NULL, cut, NULL, NULL, &res);
    if (cut == 0) {
      cr_assert_eq(res.status, QCC_JSCAN_EMPTY);
    } else if (cut < QCC_JOURNAL_HEADER_SIZE) {
      cr_assert_eq(res.status, QCC_JSCAN_TORN_TAIL, "cut %zu: %s", cut, qcc_jscan_status_name(res.status));
      cr_assert_eq(res.ok_up_to, 0);
    } else {
      size_t want = k ? ends[k - 1] : QCC_JOURNAL_HEADER_SIZE;
      cr_assert_eq(res.records, k, "cut %zu: %" PRIu64 " records, want %u", cut, res.records, k);
      cr_assert_eq(res.ok_up_to, want, "cut %zu", cut);
      cr_assert_eq(res.status, cut == want ? QCC_JSCAN_OK : QCC_JSCAN_TORN_TAIL, "cut %zu: %s", cut,
                   res.why);
    }
    free(p);
  }
  free(img);
}

Test(journal_format, e_flipped_byte_in_middle_is_corruption) {
  size_t len, ends[N_RECORDS];
  uint8_t *img = build_image(N_RECORDS, &len, ends);
  uint8_t *p = malloc(len);
  /* Flip one byte inside record r (every position of a few records). */
  unsigned victims[] = {0, 1, 57, 150, N_RECORDS - 2};
  for (size_t v = 0; v < sizeof victims / sizeof victims[0]; v++) {
    unsigned r = victims[v];
    size_t start = r ? ends[r - 1] : QCC_JOURNAL_HEADER_SIZE;
    for (size_t pos = start; pos < ends[r]; pos++) {
      memcpy(p, img, len);
      p[pos] ^= 0x40;
      struct qcc_jscan_result res;
      cr_assert_neq(qcc_journal_scan(p, len, NULL, NULL, &res), 0, "flip at %zu undetected", pos);
      cr_assert_eq(res.status, QCC_JSCAN_CORRUPT, "flip at %zu: %s", pos, qcc_jscan_status_name(res.status));
      cr_assert_eq(res.bad_offset, start, "flip at %zu", pos);
      cr_assert_eq(res.ok_up_to, start);
      cr_assert_eq(res.records, r);
      cr_assert_eq(res.resync_offset, ends[r], "flip at %zu: resync %" PRIu64, pos, res.resync_offset);
    }
  }
  /* The same damage in the LAST record is a torn tail. */
  size_t last = ends[N_RECORDS - 2];
  for (size_t pos = last; pos < len; pos++) {
    memcpy(p, img, len);
    p[pos] ^= 0x40;
    struct qcc_jscan_result res;
    qcc_journal_scan(p, len, NULL, NULL, &res);
    cr_assert_eq(res.status, QCC_JSCAN_TORN_TAIL, "flip at %zu in the last record", pos);
    cr_assert_eq(res.ok_up_to, last);
  }
  free(p);
  free(img);
}

Test(journal_format, e_zero_filled_tail_is_torn) {
  /* After a crash some filesystems show the new size with zeroed blocks. */
  size_t len, ends[20];
  uint8_t *img = build_image(20, &len, ends);
  uint8_t *p = calloc(1, len + 4096);
  memcpy(p, img, len);
  struct qcc_jscan_result res;
  qcc_journal_scan(p, len + 4096, NULL, NULL, &res);
  cr_expect_eq(res.status, QCC_JSCAN_TORN_TAIL);
  cr_expect_eq(res.ok_up_to, len);
  cr_expect_eq(res.records, 20);
  free(p);
  free(img);
}

Test(journal_format, e_random_bytes_never_crash) {
  /* Bounded: 2000 random buffers, some starting with a valid header. */
  srand(12345);
  uint8_t hdr[QCC_JOURNAL_HEADER_SIZE];
  qcc_journal_header_encode(hdr, 1);
  unsigned torn_or_corrupt = 0;
  for (int round = 0; round < 2000; round++) {
    size_t n = (size_t)(rand() % 3000);
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(rand() % 4 ? rand() : 0);
    if (round % 2 && n >= sizeof hdr) memcpy(p, hdr, sizeof hdr);
    struct collect *c = calloc(1, sizeof *c);
    struct qcc_jscan_result res;
    qcc_journal_scan(p, n, NULL, c, &res);
    cr_assert_leq(res.ok_up_to, n);
    if (res.status == QCC_JSCAN_TORN_TAIL || res.status == QCC_JSCAN_CORRUPT) torn_or_corrupt++;
    free(c);
    free(p);
  }
  cr_expect_gt(torn_or_corrupt, 0u);
}
