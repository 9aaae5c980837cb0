/* The qcc.yaml schema, generated from the knob table (config_keys.h):
 * lookup by key path, scalar parsing with ranges (shared by the loader and
 * the defaults), the JSON Schema and the Markdown reference, and the libcyaml
 * schema that loads the document skeleton. */
#ifndef QCC_SCHEMA_CONFIG_SCHEMA_H
#define QCC_SCHEMA_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config_keys.h"
#include "enums.h"


struct qcc_knob {
  enum qcc_knob_id id;
  const char *path;
  enum qcc_knob_kind kind;
  const struct qcc_enum_desc *enum_desc;
  uint64_t min, max;
  const char *def;
  const char *unit;
  unsigned flags;
  const char *help;
};

extern const struct qcc_knob qcc_knobs[QCC_KNOB_COUNT];

/* Exact path ("profiles[].endpoints[].weight"); NULL when not a key. */
const struct qcc_knob *qcc_knob_find(const char *path);
/* The setting K's default is the value of ("=PATH" in its row), or NULL. */
const struct qcc_knob *qcc_knob_inherits(const struct qcc_knob *k);
/* Last path component ("weight"). */
const char *qcc_knob_key(const struct qcc_knob *k);
/* The key KEY directly inside PARENT (NULL = top level; for a list, its
 * items), or NULL. Fast path for the loader: no path string is built. */
const struct qcc_knob *qcc_knob_child(const struct qcc_knob *parent, const char *key);
/* The compound key K sits in, NULL at the top level. */
const struct qcc_knob *qcc_knob_parent(const struct qcc_knob *k);
/* True when k sits directly under PARENT ("" = top level). */
bool qcc_knob_is_child(const struct qcc_knob *k, const char *parent);

struct qcc_knob_value {
  uint64_t num;      /* INT, DURATION (ms), SIZE (bytes), ENUM (value), DECIMAL (millionths) */
  bool flag;         /* BOOL */
  const char *str;   /* STRING: the input text (not copied) */
};

enum qcc_knob_status {
  QCC_KNOB_OK,
  QCC_KNOB_BAD_TYPE,   /* not a bool / integer / legal enum spelling */
  QCC_KNOB_BAD_SYNTAX, /* not a duration / size */
  QCC_KNOB_BAD_RANGE,  /* parsed, but outside min..max */
};

/* Parse TEXT for a scalar knob; OUT is filled on OK (and num on BAD_RANGE). */
enum qcc_knob_status qcc_knob_parse(const struct qcc_knob *k, const char *text,
                                    struct qcc_knob_value *out);
/* Enum spelling: exact, else case-insensitive with '-' == '_'. */
bool qcc_knob_enum_parse(const struct qcc_enum_desc *d, const char *s, unsigned *out);
/* "from 1 to 65535", "from 1s to 24h", "1 to 255 characters" */
void qcc_knob_range_text(const struct qcc_knob *k, char *buf, size_t cap);
/* A duration in ms / a size in bytes as a user would write it. */
void qcc_format_duration(uint64_t ms, char *buf, size_t cap);
void qcc_format_size(uint64_t bytes, char *buf, size_t cap);


/* JSON Schema (draft 2020-12) for qcc.yaml; 0 or -1 on write error. */
int qcc_config_schema_json(FILE *out);
/* docs/config-reference.md; 0 or -1 on write error. */
int qcc_config_reference_md(FILE *out);

/* libcyaml: load the document skeleton (sections, profiles, endpoints, with
 * scalars as text). The frontend uses it as a second, independent schema
 * check of what its own positional pass accepted. */
struct qcc_cyaml_doc;
/* 0 on success (*out set, free with qcc_cyaml_doc_free); -1 with a message. */
int qcc_cyaml_load(const char *data, size_t len, struct qcc_cyaml_doc **out, char *msg,
                   size_t cap);
size_t qcc_cyaml_doc_profiles(const struct qcc_cyaml_doc *doc);
size_t qcc_cyaml_doc_endpoints(const struct qcc_cyaml_doc *doc, size_t profile);
const char *qcc_cyaml_doc_profile_name(const struct qcc_cyaml_doc *doc, size_t profile);
void qcc_cyaml_doc_free(struct qcc_cyaml_doc **doc);

#endif
