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

/* A rewrite kept as a splice of the client's body instead of a copy of it:
 * the rewritten body is BODY with each CUT span replaced by the next
 * REP_LEN[k] bytes of TEXT. A 1 MB body then costs the few bytes of the new
 * names, and the sender reads the pieces in place (qcc_modelmap_copy). */
struct qcc_modelmap_splice {
  unsigned n; /* spans replaced, in body order (0: unchanged) */
  struct qcc_json_span cut[QCC_JSONSCAN_MAX_MODELS];
  size_t rep_len[QCC_JSONSCAN_MAX_MODELS];
  char *text;     /* the replacements, JSON-encoded, back to back (malloc'd) */
  size_t out_len; /* the rewritten body's length */
};

/* qcc_modelmap_apply as a splice: 1 with *SP filled (free it with
 * qcc_modelmap_splice_free), 0 when the body stays as it is (*SP zeroed),
 * -1 on allocation failure. */
int qcc_modelmap_plan(const char *body, size_t len, const struct qcc_jsonscan_facts *facts,
                      qcc_modelmap_lookup_fn lookup, void *ctx, struct qcc_modelmap_splice *sp);

/* qcc_modelmap_rewrite as a splice (see qcc_modelmap_plan). */
int qcc_modelmap_rewrite_plan(const struct qcc_table *t, const struct qcc_tbl_endpoint *ep,
                              const char *body, size_t len,
                              const struct qcc_jsonscan_facts *facts,
                              struct qcc_modelmap_splice *sp);

/* Copy bytes [POS, POS + CAP) of the rewritten body (BODY[0..LEN) spliced
 * by SP) into OUT; returns how many (fewer at the end, 0 past it). */
size_t qcc_modelmap_copy(const struct qcc_modelmap_splice *sp, const char *body, size_t len,
                         size_t pos, char *out, size_t cap);

void qcc_modelmap_splice_free(struct qcc_modelmap_splice *sp);

#endif
