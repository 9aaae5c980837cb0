/* Model-name mapping: an endpoint's `models:` map rewrites the top-level
 * "model" string of a JSON request body (claude-sonnet-4-5 -> glm-4.6).
 * The rewrite is a splice of that one string token: every other byte of the
 * body stays as the client sent it. Bodies that are not a JSON object, or
 * whose model has no mapping, pass unchanged. */
#ifndef QCC_RUNTIME_MODELMAP_H
#define QCC_RUNTIME_MODELMAP_H

#include <stddef.h>

#include "schema/table.h"

/* Model names longer than this (decoded) are never mapped. */
#define QCC_MODELMAP_MAX_NAME 1024

/* Map MODEL (decoded UTF-8, LEN bytes) to its replacement: returns it
 * (NUL-terminated, *to_len set) or NULL when it has no mapping. */
typedef const char *(*qcc_modelmap_lookup_fn)(void *ctx, const char *model, size_t len,
                                              size_t *to_len);

/* Rewrite BODY[0..LEN) through LOOKUP. Returns 1 when rewritten (*out is a
 * new malloc'd body of *out_len bytes, the caller frees it), 0 when the body
 * stays as it is (*out untouched), -1 on allocation failure. */
int qcc_modelmap_apply(const char *body, size_t len, qcc_modelmap_lookup_fn lookup, void *ctx,
                       char **out, size_t *out_len);

/* The same with endpoint EP's pairs from table T (MODEL_MAPS). */
int qcc_modelmap_rewrite(const struct qcc_table *t, const struct qcc_tbl_endpoint *ep,
                         const char *body, size_t len, char **out, size_t *out_len);

/* Locate the value tokens of top-level "model" keys whose value is a string:
 * fills up to CAP (offset, length) spans of the quoted token (quotes
 * included) and returns how many there are, or -1 when BODY is not a JSON
 * object as far as this light scanner can tell. Exposed for tests. */
struct qcc_modelmap_span {
  size_t off;
  size_t len;
};
int qcc_modelmap_scan(const char *body, size_t len, struct qcc_modelmap_span *spans, size_t cap);

/* Decode the JSON string token TOK (quotes included) into OUT (UTF-8, not
 * NUL-terminated). Returns the decoded length, or -1 when malformed or
 * longer than CAP. Exposed for tests. */
long qcc_modelmap_decode(const char *tok, size_t len, char *out, size_t cap);

#endif
