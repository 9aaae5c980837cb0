/* Model-name mapping: an endpoint's `models:` map rewrites the top-level
 * "model" string of a JSON request body (claude-sonnet-4-5 -> glm-4.6).
 * The rewrite is a splice of that one string token, found by the bounded
 * scanner (runtime/jsonscan.h): every other byte of the body stays as the
 * client sent it. Bodies that are not a JSON object, or
 * whose model has no mapping, pass unchanged. */
#ifndef QCC_RUNTIME_MODELMAP_H
#define QCC_RUNTIME_MODELMAP_H

#include <stddef.h>

#include "jsonscan.h"
#include "schema/table.h"

/* Model names longer than this (decoded) are never mapped. */
#define QCC_MODELMAP_MAX_NAME 1024

/* Map MODEL (decoded UTF-8, LEN bytes) to its replacement: returns it
 * (NUL-terminated, *to_len set) or NULL when it has no mapping. */
typedef const char *(*qcc_modelmap_lookup_fn)(void *ctx, const char *model, size_t len,
                                              size_t *to_len);

/* Rewrite BODY[0..LEN) through LOOKUP. FACTS is the body's scan
 * (runtime/jsonscan.h), or NULL to scan it here. Returns 1 when rewritten
 * (*out is a new malloc'd body of *out_len bytes, the caller frees it), 0
 * when the body stays as it is (*out untouched), -1 on allocation failure. */
int qcc_modelmap_apply(const char *body, size_t len, const struct qcc_jsonscan_facts *facts,
                       qcc_modelmap_lookup_fn lookup, void *ctx, char **out, size_t *out_len);

/* The same with endpoint EP's pairs from table T (MODEL_MAPS). An endpoint
 * without a map costs nothing: the body is not looked at. */
int qcc_modelmap_rewrite(const struct qcc_table *t, const struct qcc_tbl_endpoint *ep,
                         const char *body, size_t len, const struct qcc_jsonscan_facts *facts,
                         char **out, size_t *out_len);

/* What endpoint EP maps MODEL[0..LEN) to (NUL-terminated, *to_len set), or
 * NULL when it has no mapping: the upstream model of a usage record. */
const char *qcc_modelmap_lookup(const struct qcc_table *t, const struct qcc_tbl_endpoint *ep,
                                const char *model, size_t len, size_t *to_len);

#endif
