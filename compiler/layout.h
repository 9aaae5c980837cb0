/* Layout phase: struct qcc_config -> the in-memory bytes of a table
 * (docs/table-format.md). Deterministic: the same config, generation and
 * build_time give the same bytes (string pool deduplicated in first-use order,
 * endpoints grouped by profile in config order, no pointers, no padding noise).
 * The image is complete, checksums included, so it can be verified in memory
 * with qcc_table_open_buffer() before anything is written. */
#ifndef QCC_COMPILER_LAYOUT_H
#define QCC_COMPILER_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "compiler/config.h"
#include "schema/error.h"

struct qcc_layout_opts {
  uint64_t generation;
  int64_t build_time; /* unix seconds (SOURCE_DATE_EPOCH when set) */
};

struct qcc_layout;

/* 0 and *out set, or -1 with err filled (limits exceeded, out of memory). */
int qcc_layout_new(const struct qcc_config *cfg, const struct qcc_layout_opts *opts,
                   struct qcc_layout **out, struct qcc_err *err);
void qcc_layout_free(struct qcc_layout **l);

/* The image: 8-byte aligned, valid until qcc_layout_free. */
const void *qcc_layout_bytes(const struct qcc_layout *l, size_t *len);

/* XXH3-128 (canonical big-endian bytes) of a canonical serialization of the
 * whole effective config: defaults applied, fixed field order, no positions,
 * so comments, formatting and key order do not change it. `from:` is
 * resolved before this and is not part of it. */
void qcc_layout_digest(const struct qcc_config *cfg, uint8_t out[16]);

/* The identity hash of an endpoint: XXH3-64 over base_url, auth, key kind and
 * key value (the reference, never a resolved secret). */
uint64_t qcc_layout_identity_hash(const char *base_url, unsigned auth, unsigned key_kind,
                                  const char *key_value);

/* "SOURCE_DATE_EPOCH" when set and valid, else the current time. */
int64_t qcc_layout_build_time(void);

#endif
