/* The one table reader/verifier (docs/table-format.md).
 *
 * Everything is checked before a table is handed out, in a fixed order so a
 * damaged file gets the most useful status: not ours -> version -> header
 * checksum -> length -> payload checksum -> structure. A good checksum does not
 * make the body trustworthy (a hostile file can carry a correct checksum), so
 * the structural checks run on every open. */
#include "table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "enums.h"
#include "fileio.h"

#define QCC_TF_(type, rec, m) rec, offsetof(struct type, m), sizeof(((struct type *)0)->m), #m
#define QCC_FS(m) QCC_TF_(qcc_tbl_settings, QCC_REC_SETTINGS, m)
#define QCC_FP(m) QCC_TF_(qcc_tbl_profile, QCC_REC_PROFILE, m)
#define QCC_FE(m) QCC_TF_(qcc_tbl_endpoint, QCC_REC_ENDPOINT, m)
#define QCC_FT(m) QCC_TF_(qcc_tbl_token, QCC_REC_TOKEN, m)
#define QCC_FPR(m) QCC_TF_(qcc_tbl_price, QCC_REC_PRICE, m)
#define QCC_FNONE QCC_REC_NONE, 0, 0, NULL
#define QCC_TF_ROW_(id, path, kind, en, mn, mx, def, unit, flags, field, help) \
  {field, kind, en, path, flags},
const struct qcc_tbl_field qcc_tbl_fields[QCC_KNOB_COUNT] = {QCC_KNOBS(QCC_TF_ROW_)};
#undef QCC_TF_ROW_

/* One section's records, strided by the record_size found in the file (a newer
 * minor version may append fields). */
struct qcc_view {
  const uint8_t *base;
  uint64_t offset; /* file offset of record 0, for messages */
  uint32_t stride;
  uint32_t count;
};

struct qcc_table {
  const uint8_t *bytes;
  size_t size;
  void *owned; /* non-NULL when the bytes are our private copy of a file */
  const struct qcc_tbl_header *header;
  const struct qcc_tbl_settings *settings;
  struct qcc_view profiles, endpoints, model_maps, metadata, tokens, prices;
  const char *pool;
  uint64_t pool_size;
  /* stable_id -> index, open addressing; slot holds index + 1 (0 = empty). */
  uint32_t *id_slots;
  uint32_t id_mask;
};

static const char *const status_names[] = {
    [QCC_TABLE_OK] = "ok",
    [QCC_TABLE_ERR_IO] = "I/O error",
    [QCC_TABLE_ERR_NOT_TABLE] = "not a qcc table",
    [QCC_TABLE_ERR_VERSION] = "unsupported format version",
    [QCC_TABLE_ERR_TRUNCATED] = "truncated",
    [QCC_TABLE_ERR_CHECKSUM] = "checksum mismatch",
    [QCC_TABLE_ERR_MALFORMED] = "malformed",
};

const char *qcc_table_status_name(enum qcc_table_status s) {
  if ((unsigned)s >= sizeof status_names / sizeof status_names[0]) return "?";
  return status_names[s];
}

__attribute__((format(printf, 4, 5))) static int fail(struct qcc_table_error *err,
                                                      enum qcc_table_status st,
                                                      uint64_t offset, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    err->status = st;
    err->offset = offset;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Overflow-safe: is [off, off+len) inside [0, size)? */
static bool in_bounds(uint64_t off, uint64_t len, uint64_t size) {
  return !(off > size || size - off < len);
}

static int check_str(const struct qcc_table *t, struct qcc_tbl_str s, uint64_t at,
                     const char *what, uint32_t index, struct qcc_table_error *err) {
  /* pool[off + len] must exist and be the terminator, so off + len < pool_size. */
  if (!in_bounds(s.off, (uint64_t)s.len + 1, t->pool_size))
    return fail(err, QCC_TABLE_ERR_MALFORMED, at,
                "%s %u: string (off %u, len %u) outside the string pool (%llu bytes)", what,
                index, s.off, s.len, (unsigned long long)t->pool_size);
  if (t->pool[(uint64_t)s.off + s.len] != '\0')
    return fail(err, QCC_TABLE_ERR_MALFORMED, at, "%s %u: string at pool offset %u is not NUL-terminated",
                what, index, s.off);
  if (s.len > 0 && memchr(t->pool + s.off, '\0', s.len) != NULL)
    return fail(err, QCC_TABLE_ERR_MALFORMED, at, "%s %u: string at pool offset %u contains a NUL byte",
                what, index, s.off);
  return 0;
}

static int check_enum(unsigned v, unsigned count, uint64_t at, const char *what, uint32_t index,
                      const char *field, struct qcc_table_error *err) {
  if (v >= count)
    return fail(err, QCC_TABLE_ERR_MALFORMED, at, "%s %u: %s value %u out of range (< %u)", what,
                index, field, v, count);
  return 0;
}

static int check_bool(unsigned v, uint64_t at, const char *what, uint32_t index, const char *field,
                      struct qcc_table_error *err) {
  return check_enum(v, 2, at, what, index, field, err);
}

static uint64_t field_uint(const uint8_t *r, const struct qcc_tbl_field *f) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < f->size && i < 8; i++) v |= (uint64_t)r[f->offset + i] << (8 * i);
  return v;
}

/* Every row field of one record: strings in the pool, booleans 0/1, enum
 * values known. */
static int check_fields(const struct qcc_table *t, enum qcc_rec which, const uint8_t *r,
                        uint64_t at, const char *what, uint32_t index, struct qcc_table_error *err) {
  for (size_t k = 0; k < QCC_KNOB_COUNT; k++) {
    const struct qcc_tbl_field *f = &qcc_tbl_fields[k];
    if (f->rec != which) continue;
    uint64_t fat = at + f->offset;
    int rc = 0;
    if (f->kind == QCC_KNOB_STRING) {
      struct qcc_tbl_str s;
      memcpy(&s, r + f->offset, sizeof s);
      rc = check_str(t, s, fat, what, index, err);
    } else if (f->kind == QCC_KNOB_BOOL) {
      rc = check_bool((unsigned)field_uint(r, f), fat, what, index, f->name, err);
    } else if (f->kind == QCC_KNOB_ENUM) {
      uint64_t v = field_uint(r, f);
      rc = check_enum(v > UINT32_MAX ? UINT32_MAX : (unsigned)v, (unsigned)f->desc->count, fat, what,
                      index, f->name, err);
    }
    if (rc != 0) return rc;
  }
  return 0;
}

static const uint8_t *rec(const struct qcc_view *v, uint32_t i) {
  return v->base + (size_t)i * v->stride;
}

static uint64_t rec_off(const struct qcc_view *v, uint32_t i) {
  return v->offset + (uint64_t)i * v->stride;
}

/* Known record sizes and alignments, by section id. */
static const struct {
  uint32_t size, align;
  const char *name;
} known[] = {
    [QCC_SEC_SETTINGS] = {sizeof(struct qcc_tbl_settings), _Alignof(struct qcc_tbl_settings), "settings"},
    [QCC_SEC_PROFILES] = {sizeof(struct qcc_tbl_profile), _Alignof(struct qcc_tbl_profile), "profiles"},
    [QCC_SEC_ENDPOINTS] = {sizeof(struct qcc_tbl_endpoint), _Alignof(struct qcc_tbl_endpoint), "endpoints"},
    [QCC_SEC_MODEL_MAPS] = {sizeof(struct qcc_tbl_pair), _Alignof(struct qcc_tbl_pair), "model_maps"},
    [QCC_SEC_METADATA] = {sizeof(struct qcc_tbl_pair), _Alignof(struct qcc_tbl_pair), "metadata"},
    [QCC_SEC_AUTH_TOKENS] = {sizeof(struct qcc_tbl_token), _Alignof(struct qcc_tbl_token), "auth_tokens"},
    [QCC_SEC_STRINGS] = {1, 1, "strings"},
    [QCC_SEC_PRICES] = {sizeof(struct qcc_tbl_price), _Alignof(struct qcc_tbl_price), "prices"},
};
#define KNOWN_MAX QCC_SEC_PRICES

static int verify_header(struct qcc_table *t, struct qcc_table_error *err) {
  const uint8_t *b = t->bytes;
  size_t size = t->size;
  bool magic_ok = size >= QCC_TABLE_MAGIC_LEN && memcmp(b, QCC_TABLE_MAGIC, QCC_TABLE_MAGIC_LEN) == 0;
  if (size < QCC_TABLE_HEADER_SIZE) {
    /* A prefix of one of our files is more usefully called truncated. */
    if (magic_ok)
      return fail(err, QCC_TABLE_ERR_TRUNCATED, size, "file is %zu bytes, shorter than the %d-byte header",
                  size, QCC_TABLE_HEADER_SIZE);
    return fail(err, QCC_TABLE_ERR_NOT_TABLE, 0, "file is %zu bytes, too short for a table header", size);
  }
  if (!magic_ok) return fail(err, QCC_TABLE_ERR_NOT_TABLE, 0, "bad magic: not a qcc table");
  const struct qcc_tbl_header *h = (const struct qcc_tbl_header *)b;
  if (h->byte_order != QCC_TABLE_BYTE_ORDER)
    return fail(err, QCC_TABLE_ERR_NOT_TABLE, 8, "byte order mark 0x%08x: written for another byte order",
                h->byte_order);
  if (h->version_major != QCC_TABLE_MAJOR)
    return fail(err, QCC_TABLE_ERR_VERSION, 12, "format version %u.%u, this reader reads %d.x",
                h->version_major, h->version_minor, QCC_TABLE_MAJOR);
  uint64_t hsum = XXH3_64bits(b, offsetof(struct qcc_tbl_header, header_checksum));
  if (hsum != h->header_checksum)
    return fail(err, QCC_TABLE_ERR_CHECKSUM, 120, "header checksum mismatch");
  if (h->file_size > size)
    return fail(err, QCC_TABLE_ERR_TRUNCATED, size, "file is %zu bytes, header says %llu", size,
                (unsigned long long)h->file_size);
  if (h->file_size < size)
    return fail(err, QCC_TABLE_ERR_MALFORMED, h->file_size, "file is %zu bytes, header says %llu", size,
                (unsigned long long)h->file_size);
  uint64_t psum = XXH3_64bits(b + QCC_TABLE_HEADER_SIZE, size - QCC_TABLE_HEADER_SIZE);
  if (psum != h->payload_checksum)
    return fail(err, QCC_TABLE_ERR_CHECKSUM, QCC_TABLE_HEADER_SIZE, "payload checksum mismatch");
  if (h->header_size != QCC_TABLE_HEADER_SIZE)
    return fail(err, QCC_TABLE_ERR_MALFORMED, 16, "header_size %u, expected %d", h->header_size,
                QCC_TABLE_HEADER_SIZE);
  t->header = h;
  return 0;
}

static int verify_directory(struct qcc_table *t, struct qcc_table_error *err) {
  const struct qcc_tbl_header *h = t->header;
  uint64_t size = t->size;
  uint64_t dir_len = (uint64_t)h->section_count * sizeof(struct qcc_tbl_section);
  if (!in_bounds(QCC_TABLE_HEADER_SIZE, dir_len, size))
    return fail(err, QCC_TABLE_ERR_MALFORMED, 20, "section directory (%u entries) runs past the end",
                h->section_count);
  uint64_t data_start = QCC_TABLE_HEADER_SIZE + dir_len;
  const struct qcc_tbl_section *dir = (const struct qcc_tbl_section *)(t->bytes + QCC_TABLE_HEADER_SIZE);
  const struct qcc_tbl_section *found[KNOWN_MAX + 1] = {0};
  for (uint32_t i = 0; i < h->section_count; i++) {
    const struct qcc_tbl_section *s = &dir[i];
    uint64_t at = QCC_TABLE_HEADER_SIZE + (uint64_t)i * sizeof *s;
    if (s->offset % QCC_TABLE_ALIGN != 0)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at, "section %u (id %u): offset %llu not %d-byte aligned", i,
                  s->id, (unsigned long long)s->offset, QCC_TABLE_ALIGN);
    if (s->record_size == 0)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at, "section %u (id %u): record_size 0", i, s->id);
    if (s->count > UINT64_MAX / s->record_size)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at, "section %u (id %u): count * record_size overflows", i,
                  s->id);
    uint64_t len = s->count * s->record_size;
    if (s->offset < data_start || !in_bounds(s->offset, len, size))
      return fail(err, QCC_TABLE_ERR_MALFORMED, at,
                  "section %u (id %u): bytes [%llu, +%llu) outside the data area [%llu, %llu)", i, s->id,
                  (unsigned long long)s->offset, (unsigned long long)len, (unsigned long long)data_start,
                  (unsigned long long)size);
    if (s->id == 0 || s->id > KNOWN_MAX) continue; /* a newer minor's section: skip */
    if (found[s->id] != NULL)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at, "section %s appears twice", known[s->id].name);
    if (s->record_size < known[s->id].size || s->record_size % known[s->id].align != 0)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at, "section %s: record_size %u (this reader needs >= %u, multiple of %u)",
                  known[s->id].name, s->record_size, known[s->id].size, known[s->id].align);
    if (s->id != QCC_SEC_STRINGS && s->count > UINT32_MAX)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at, "section %s: %llu records, at most 2^32-1",
                  known[s->id].name, (unsigned long long)s->count);
    found[s->id] = s;
  }
  static const uint32_t required[] = {QCC_SEC_SETTINGS, QCC_SEC_PROFILES, QCC_SEC_ENDPOINTS,
                                      QCC_SEC_STRINGS};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    if (found[required[i]] == NULL)
      return fail(err, QCC_TABLE_ERR_MALFORMED, QCC_TABLE_HEADER_SIZE, "required section %s missing",
                  known[required[i]].name);
  }
  const struct qcc_tbl_section *st = found[QCC_SEC_SETTINGS];
  if (st->count != 1)
    return fail(err, QCC_TABLE_ERR_MALFORMED, st->offset, "settings section has %llu records, expected 1",
                (unsigned long long)st->count);
  t->settings = (const struct qcc_tbl_settings *)(t->bytes + st->offset);

  const struct qcc_tbl_section *sp = found[QCC_SEC_STRINGS];
  if (sp->count < 1 || t->bytes[sp->offset] != '\0')
    return fail(err, QCC_TABLE_ERR_MALFORMED, sp->offset, "string pool must start with a NUL byte");
  t->pool = (const char *)t->bytes + sp->offset;
  t->pool_size = sp->count;

  struct {
    uint32_t id;
    struct qcc_view *v;
  } views[] = {{QCC_SEC_PROFILES, &t->profiles},     {QCC_SEC_ENDPOINTS, &t->endpoints},
               {QCC_SEC_MODEL_MAPS, &t->model_maps}, {QCC_SEC_METADATA, &t->metadata},
               {QCC_SEC_AUTH_TOKENS, &t->tokens},   {QCC_SEC_PRICES, &t->prices}};
  for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
    const struct qcc_tbl_section *s = found[views[i].id];
    if (s == NULL) continue; /* optional, empty */
    views[i].v->base = t->bytes + s->offset;
    views[i].v->offset = s->offset;
    views[i].v->stride = s->record_size;
    views[i].v->count = (uint32_t)s->count;
  }
  return 0;
}

static int verify_settings(struct qcc_table *t, struct qcc_table_error *err) {
  const uint8_t *s = (const uint8_t *)t->settings;
  return check_fields(t, QCC_REC_SETTINGS, s, (uint64_t)(s - t->bytes), "settings", 0, err);
}

static int verify_profiles(struct qcc_table *t, struct qcc_table_error *err) {
  uint64_t next = 0; /* profiles cover the endpoints in order, without gaps */
  const char *w = "profile";
  for (uint32_t i = 0; i < t->profiles.count; i++) {
    const struct qcc_tbl_profile *p = (const struct qcc_tbl_profile *)rec(&t->profiles, i);
    uint64_t at = rec_off(&t->profiles, i);
    if (check_fields(t, QCC_REC_PROFILE, (const uint8_t *)p, at, w, i, err) ||
        check_bool(p->lb_override, at + offsetof(struct qcc_tbl_profile, lb_override), w, i,
                   "lb_override", err))
      return -1;
    if (p->endpoint_first != next || !in_bounds(p->endpoint_first, p->endpoint_count, t->endpoints.count))
      return fail(err, QCC_TABLE_ERR_MALFORMED, at + offsetof(struct qcc_tbl_profile, endpoint_first),
                  "profile %u: endpoint range [%u, +%u) does not continue at %llu within %u endpoints", i,
                  p->endpoint_first, p->endpoint_count, (unsigned long long)next, t->endpoints.count);
    next += p->endpoint_count;
  }
  if (next != t->endpoints.count)
    return fail(err, QCC_TABLE_ERR_MALFORMED, t->endpoints.offset,
                "profiles cover %llu endpoints, the table has %u", (unsigned long long)next,
                t->endpoints.count);
  return 0;
}

static int check_keyref(const struct qcc_table *t, const struct qcc_tbl_keyref *k, uint64_t at,
                        const char *what, uint32_t i, struct qcc_table_error *err) {
  if (check_enum(k->kind, QCC_KEY_COUNT, at, what, i, "key kind", err) ||
      check_str(t, k->value, at + offsetof(struct qcc_tbl_keyref, value), what, i, err))
    return -1;
  return 0;
}

static int index_insert(struct qcc_table *t, uint64_t id, uint32_t i) {
  uint32_t slot = (uint32_t)id & t->id_mask;
  for (;;) {
    uint32_t v = t->id_slots[slot];
    if (v == 0) {
      t->id_slots[slot] = i + 1;
      return 0;
    }
    const struct qcc_tbl_endpoint *o = (const struct qcc_tbl_endpoint *)rec(&t->endpoints, v - 1);
    if (o->stable_id == id) return -1;
    slot = (slot + 1) & t->id_mask;
  }
}

static int verify_endpoints(struct qcc_table *t, struct qcc_table_error *err) {
  uint32_t n = t->endpoints.count;
  uint64_t slots = 16;
  while (slots < (uint64_t)n * 2) slots *= 2;
  t->id_slots = calloc(slots, sizeof *t->id_slots);
  if (t->id_slots == NULL)
    return fail(err, QCC_TABLE_ERR_IO, 0, "out of memory indexing %u endpoints", n);
  t->id_mask = (uint32_t)(slots - 1);

  const char *w = "endpoint";
  uint32_t prof = 0;
  for (uint32_t i = 0; i < n; i++) {
    const struct qcc_tbl_endpoint *e = (const struct qcc_tbl_endpoint *)rec(&t->endpoints, i);
    uint64_t at = rec_off(&t->endpoints, i);
    /* Profiles were verified to cover endpoints in order: find i's owner. */
    while (prof < t->profiles.count) {
      const struct qcc_tbl_profile *p = (const struct qcc_tbl_profile *)rec(&t->profiles, prof);
      if (i < (uint64_t)p->endpoint_first + p->endpoint_count) break;
      prof++;
    }
    if (e->profile_index != prof)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at + offsetof(struct qcc_tbl_endpoint, profile_index),
                  "endpoint %u: profile_index %u, but profile %u holds it", i, e->profile_index, prof);
    if (check_fields(t, QCC_REC_ENDPOINT, (const uint8_t *)e, at, w, i, err) ||
        check_keyref(t, &e->key, at + offsetof(struct qcc_tbl_endpoint, key), w, i, err))
      return -1;
    if (e->id.len == 0)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at + offsetof(struct qcc_tbl_endpoint, id),
                  "endpoint %u: empty id", i);
    if (e->price_multiplier > 1000 * QCC_DEC_ONE)
      return fail(err, QCC_TABLE_ERR_MALFORMED,
                  at + offsetof(struct qcc_tbl_endpoint, price_multiplier),
                  "endpoint %u: price_multiplier %u over 1000000000 (1000x)", i,
                  e->price_multiplier);
    if (!in_bounds(e->model_map_first, e->model_map_count, t->model_maps.count))
      return fail(err, QCC_TABLE_ERR_MALFORMED, at + offsetof(struct qcc_tbl_endpoint, model_map_first),
                  "endpoint %u: model map range [%u, +%u) outside %u entries", i, e->model_map_first,
                  e->model_map_count, t->model_maps.count);
    if (!in_bounds(e->metadata_first, e->metadata_count, t->metadata.count))
      return fail(err, QCC_TABLE_ERR_MALFORMED, at + offsetof(struct qcc_tbl_endpoint, metadata_first),
                  "endpoint %u: metadata range [%u, +%u) outside %u entries", i, e->metadata_first,
                  e->metadata_count, t->metadata.count);
    /* stable_id is the hash of id, so unique stable_ids also mean unique ids. */
    if (e->stable_id != XXH3_64bits(t->pool + e->id.off, e->id.len))
      return fail(err, QCC_TABLE_ERR_MALFORMED, at, "endpoint %u: stable_id does not match its id", i);
    if (index_insert(t, e->stable_id, i) != 0)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at, "endpoint %u: duplicate endpoint id \"%s\"", i,
                  t->pool + e->id.off);
  }
  return 0;
}

static int verify_pairs(struct qcc_table *t, const struct qcc_view *v, const char *what,
                        struct qcc_table_error *err) {
  for (uint32_t i = 0; i < v->count; i++) {
    const struct qcc_tbl_pair *p = (const struct qcc_tbl_pair *)rec(v, i);
    uint64_t at = rec_off(v, i);
    if (check_str(t, p->key, at, what, i, err) ||
        check_str(t, p->value, at + offsetof(struct qcc_tbl_pair, value), what, i, err))
      return -1;
  }
  return 0;
}

static int verify_tokens(struct qcc_table *t, struct qcc_table_error *err) {
  for (uint32_t i = 0; i < t->tokens.count; i++) {
    const struct qcc_tbl_token *k = (const struct qcc_tbl_token *)rec(&t->tokens, i);
    uint64_t at = rec_off(&t->tokens, i);
    if (check_fields(t, QCC_REC_TOKEN, (const uint8_t *)k, at, "auth token", i, err) ||
        check_keyref(t, &k->key, at + offsetof(struct qcc_tbl_token, key), "auth token", i, err))
      return -1;
  }
  return 0;
}

/* Rates bounded so that schema/pricing.c's sums cannot overflow unseen; a
 * kind without a price carries rate 0, so nothing can read it as one. */
static int verify_prices(struct qcc_table *t, struct qcc_table_error *err) {
  for (uint32_t i = 0; i < t->prices.count; i++) {
    const struct qcc_tbl_price *p = (const struct qcc_tbl_price *)rec(&t->prices, i);
    uint64_t at = rec_off(&t->prices, i);
    if (check_str(t, p->model, at, "price", i, err)) return -1;
    if (p->model.len == 0)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at, "price %u: empty model name", i);
    if ((p->priced & ~((1u << QCC_PRICE_KINDS) - 1)) != 0)
      return fail(err, QCC_TABLE_ERR_MALFORMED, at + offsetof(struct qcc_tbl_price, priced),
                  "price %u: unknown bits in priced 0x%02x", i, p->priced);
    const uint64_t rate[QCC_PRICE_KINDS] = {p->input, p->output, p->cache_write_5m,
                                            p->cache_write_1h, p->cache_read};
    for (unsigned k = 0; k < QCC_PRICE_KINDS; k++) {
      bool priced = (p->priced >> k) & 1;
      if (rate[k] > QCC_PRICE_MAX || (!priced && rate[k] != 0))
        return fail(err, QCC_TABLE_ERR_MALFORMED, at + 8 + 8 * k,
                    "price %u: rate %u is %llu (priced %d, at most %llu)", i, k,
                    (unsigned long long)rate[k], priced, (unsigned long long)QCC_PRICE_MAX);
    }
  }
  return 0;
}

static int verify(struct qcc_table *t, struct qcc_table_error *err) {
  if (verify_header(t, err) || verify_directory(t, err) || verify_settings(t, err) ||
      verify_profiles(t, err) || verify_endpoints(t, err) ||
      verify_pairs(t, &t->model_maps, "model map", err) ||
      verify_pairs(t, &t->metadata, "metadata", err) || verify_tokens(t, err) ||
      verify_prices(t, err))
    return -1;
  return 0;
}

static void table_free(struct qcc_table *t) {
  if (t == NULL) return;
  if (t->owned != NULL) {
    explicit_bzero(t->owned, t->size); /* a literal key may be in it */
    free(t->owned);
  }
  free(t->id_slots);
  free(t);
}

int qcc_table_open_buffer(const void *buf, size_t len, struct qcc_table **out,
                          struct qcc_table_error *err) {
  *out = NULL;
  if (buf == NULL && len > 0) return fail(err, QCC_TABLE_ERR_IO, 0, "no buffer");
  /* Records are read in place; the mapping/allocation must keep them aligned. */
  if ((uintptr_t)buf % QCC_TABLE_ALIGN != 0)
    return fail(err, QCC_TABLE_ERR_IO, 0, "buffer is not %d-byte aligned", QCC_TABLE_ALIGN);
  if (len > QCC_TABLE_MAX_SIZE)
    return fail(err, QCC_TABLE_ERR_NOT_TABLE, 0, "%zu bytes: larger than any table", len);
  struct qcc_table *t = calloc(1, sizeof *t);
  if (t == NULL) return fail(err, QCC_TABLE_ERR_IO, 0, "out of memory");
  t->bytes = buf;
  t->size = len;
  if (verify(t, err) != 0) {
    table_free(t);
    return -1;
  }
  if (err != NULL) {
    err->status = QCC_TABLE_OK;
    err->offset = 0;
    err->message[0] = '\0';
  }
  *out = t;
  return 0;
}

int qcc_table_open(const char *path, struct qcc_table **out, struct qcc_table_error *err) {
  *out = NULL;
  /* Read, not mapped: a table truncated or rewritten in place by someone
   * else must not fault or change under its reader (SIGBUS, torn records).
   * The read refuses what is not a regular file without blocking on it. */
  void *buf = NULL;
  size_t len = 0;
  struct qcc_err ferr = {0};
  if (qcc_file_read(path, QCC_TABLE_MAX_SIZE, &buf, &len, &ferr) != 0) {
    if (ferr.code == EFBIG)
      return fail(err, QCC_TABLE_ERR_NOT_TABLE, 0, "larger than any table (%llu bytes)",
                  (unsigned long long)QCC_TABLE_MAX_SIZE);
    /* the message starts with the path, which the caller adds itself */
    const char *why = ferr.msg;
    size_t pl = strlen(path);
    if (strncmp(why, path, pl) == 0 && strncmp(why + pl, ": ", 2) == 0) why += pl + 2;
    return fail(err, QCC_TABLE_ERR_IO, 0, "%s", why);
  }
  if (qcc_table_open_buffer(buf, len, out, err) != 0) {
    explicit_bzero(buf, len);
    free(buf);
    return -1;
  }
  (*out)->owned = buf;
  return 0;
}

void qcc_table_close(struct qcc_table **t) {
  if (t == NULL || *t == NULL) return;
  table_free(*t);
  *t = NULL;
}

const struct qcc_tbl_header *qcc_table_header(const struct qcc_table *t) { return t->header; }
const struct qcc_tbl_settings *qcc_table_settings(const struct qcc_table *t) { return t->settings; }

const void *qcc_table_bytes(const struct qcc_table *t, size_t *len) {
  if (len != NULL) *len = t->size;
  return t->bytes;
}

uint32_t qcc_table_profile_count(const struct qcc_table *t) { return t->profiles.count; }
const struct qcc_tbl_profile *qcc_table_profile(const struct qcc_table *t, uint32_t i) {
  if (i >= t->profiles.count) return NULL;
  return (const struct qcc_tbl_profile *)rec(&t->profiles, i);
}
uint32_t qcc_table_endpoint_count(const struct qcc_table *t) { return t->endpoints.count; }
const struct qcc_tbl_endpoint *qcc_table_endpoint(const struct qcc_table *t, uint32_t i) {
  if (i >= t->endpoints.count) return NULL;
  return (const struct qcc_tbl_endpoint *)rec(&t->endpoints, i);
}
uint32_t qcc_table_model_map_count(const struct qcc_table *t) { return t->model_maps.count; }
const struct qcc_tbl_pair *qcc_table_model_map(const struct qcc_table *t, uint32_t i) {
  if (i >= t->model_maps.count) return NULL;
  return (const struct qcc_tbl_pair *)rec(&t->model_maps, i);
}
uint32_t qcc_table_metadata_count(const struct qcc_table *t) { return t->metadata.count; }
const struct qcc_tbl_pair *qcc_table_metadata(const struct qcc_table *t, uint32_t i) {
  if (i >= t->metadata.count) return NULL;
  return (const struct qcc_tbl_pair *)rec(&t->metadata, i);
}
uint32_t qcc_table_token_count(const struct qcc_table *t) { return t->tokens.count; }
const struct qcc_tbl_token *qcc_table_token(const struct qcc_table *t, uint32_t i) {
  if (i >= t->tokens.count) return NULL;
  return (const struct qcc_tbl_token *)rec(&t->tokens, i);
}

uint32_t qcc_table_price_count(const struct qcc_table *t) { return t->prices.count; }
const struct qcc_tbl_price *qcc_table_price(const struct qcc_table *t, uint32_t i) {
  if (i >= t->prices.count) return NULL;
  return (const struct qcc_tbl_price *)rec(&t->prices, i);
}

const char *qcc_table_str(const struct qcc_table *t, struct qcc_tbl_str s) {
  /* Verified at open for every string the table holds; a string value made
   * up by the caller still must not read outside the pool. */
  if (!in_bounds(s.off, (uint64_t)s.len + 1, t->pool_size) || t->pool[(uint64_t)s.off + s.len] != '\0')
    return "";
  return t->pool + s.off;
}

int64_t qcc_table_find_endpoint(const struct qcc_table *t, uint64_t stable_id) {
  uint32_t slot = (uint32_t)stable_id & t->id_mask;
  for (;;) {
    uint32_t v = t->id_slots[slot];
    if (v == 0) return -1;
    if (((const struct qcc_tbl_endpoint *)rec(&t->endpoints, v - 1))->stable_id == stable_id)
      return (int64_t)v - 1;
    slot = (slot + 1) & t->id_mask;
  }
}

int64_t qcc_table_find_profile(const struct qcc_table *t, const char *name) {
  for (uint32_t i = 0; i < t->profiles.count; i++) {
    const struct qcc_tbl_profile *p = qcc_table_profile(t, i);
    if (strcmp(t->pool + p->name.off, name) == 0) return i;
  }
  return -1;
}
