/* `qccc show`: a table as readable text or JSON. Secrets never appear: a key
 * is shown as env:NAME, file:PATH or literal:<redacted>.
 *
 * The record fields come from the rows of schema/config_keys.h and drive
 * the text output, the JSON output and `qccc diff`, so the three cannot
 * disagree about names, units or redaction, nor with `qccc config get`. */
#ifndef QCC_COMPILER_SHOW_H
#define QCC_COMPILER_SHOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "schema/enums.h"
#include "schema/table.h"

enum qcc_field_kind {
  QCC_FIELD_BOOL,
  QCC_FIELD_UINT, /* 1, 2, 4 or 8 bytes */
  QCC_FIELD_MS,   /* uint32/uint64 milliseconds: text "30s", JSON NAME_ms */
  QCC_FIELD_MS_OFF, /* the same, 0 meaning off (upstream.keep_warm): text "off" */
  QCC_FIELD_HEX,  /* uint64 shown in hex (hashes) */
  QCC_FIELD_STR,  /* struct qcc_tbl_str */
  QCC_FIELD_ENUM, /* uint8 with desc */
  QCC_FIELD_KEY,  /* struct qcc_tbl_keyref, redacted */
  QCC_FIELD_URL,  /* struct qcc_tbl_str, a URL shown without its path (QCC_KF_URL_TOKEN) */
  QCC_FIELD_DEC,  /* uint32/uint64 millionths: text "0.5", JSON number */
};

struct qcc_field {
  const char *name; /* config spelling; settings use "section.key", items "key" */
  enum qcc_field_kind kind;
  uint16_t offset, size;
  const struct qcc_enum_desc *desc; /* QCC_FIELD_ENUM */
  bool derived;                     /* computed from other fields: diff skips it */
};

/* The fields of one record kind (settings, profile, endpoint, token): one
 * per row of schema/config_keys.h that has a field there, named as
 * `qccc config get` takes it, then the derived ones (key, hashes). */
const struct qcc_field *qcc_record_fields(enum qcc_rec rec, size_t *n);

/* The value of field F of record REC as text (redacted). */
void qcc_field_text(const struct qcc_table *t, const void *rec, const struct qcc_field *f, char *buf,
                    size_t cap);
/* The value as JSON (redacted); new reference. */
json_t *qcc_field_json(const struct qcc_table *t, const void *rec, const struct qcc_field *f);
/* Semantic equality of a field across two tables (strings by content, keys
 * by kind and value even though neither is shown). */
bool qcc_field_equal(const struct qcc_table *ta, const void *ra, const struct qcc_table *tb,
                     const void *rb, const struct qcc_field *f);

/* "a -> b, c -> d" of a model map or metadata range. */
void qcc_pairs_text(const struct qcc_table *t, bool models, uint32_t first, uint32_t count, char *buf,
                    size_t cap);

/* 32 lowercase hex digits + NUL. */
void qcc_digest_hex(const uint8_t digest[16], char out[33]);
/* "30s", "5m", "1h", "1500ms", "30d". */
void qcc_ms_text(uint64_t ms, char *buf, size_t cap);

/* Everything compiled in T. NAME labels it (the path). */
void qcc_show_text(const struct qcc_table *t, const char *name, FILE *out);
json_t *qcc_show_json(const struct qcc_table *t, const char *name);

#endif
