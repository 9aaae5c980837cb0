#include "modelmap.h"

#include "schema/modelglob.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int qcc_modelmap_apply(const char *body, size_t len, const struct qcc_jsonscan_facts *facts,
                       qcc_modelmap_lookup_fn lookup, void *ctx, char **out, size_t *out_len) {
  if (body == NULL || len == 0) return 0;
  struct qcc_jsonscan_facts local;
  if (facts == NULL) {
    qcc_jsonscan_body(body, len, &local);
    facts = &local;
  }
  unsigned n = facts->model_count;
  if (!facts->object || n == 0) return 0;
  const struct qcc_json_span *spans = facts->models;
  const char *to[QCC_JSONSCAN_MAX_MODELS];
  size_t to_len[QCC_JSONSCAN_MAX_MODELS];
  size_t total = len;
  int hits = 0;
  char name[QCC_MODELMAP_MAX_NAME];
  for (unsigned k = 0; k < n; k++) {
    to[k] = NULL;
    long dl = qcc_jsonscan_decode(body + spans[k].off, spans[k].len, name, sizeof name);
    if (dl < 0) continue;
    to[k] = lookup(ctx, name, (size_t)dl, &to_len[k]);
    if (to[k] == NULL) continue;
    total = total - spans[k].len + qcc_jsonscan_encode(to[k], to_len[k], NULL);
    hits++;
  }
  if (hits == 0) return 0;
  char *buf = malloc(total > 0 ? total : 1);
  if (buf == NULL) return -1;
  size_t at = 0;
  size_t from = 0;
  for (unsigned k = 0; k < n; k++) {
    if (to[k] == NULL) continue;
    memcpy(buf + at, body + from, spans[k].off - from);
    at += spans[k].off - from;
    at += qcc_jsonscan_encode(to[k], to_len[k], buf + at);
    from = spans[k].off + spans[k].len;
  }
  memcpy(buf + at, body + from, len - from);
  at += len - from;
  *out = buf;
  *out_len = at;
  return 1;
}

struct table_map {
  const struct qcc_table *t;
  const struct qcc_tbl_endpoint *ep;
};

/* The pair of EP's map that names MODEL, by the precedence of
 * schema/modelglob.h: exact name, then the glob with the most literal
 * characters, then the first written. NULL when none matches. */
static const struct qcc_tbl_pair *best_pair(const struct qcc_table *t,
                                            const struct qcc_tbl_endpoint *ep, const char *model,
                                            size_t len) {
  const struct qcc_tbl_pair *best = NULL;
  size_t best_rank = 0;
  for (uint32_t i = 0; i < ep->model_map_count; i++) {
    const struct qcc_tbl_pair *p = qcc_table_model_map(t, ep->model_map_first + i);
    if (p == NULL) continue;
    const char *pat = qcc_table_str(t, p->key);
    size_t rank = qcc_modelglob_rank(pat, p->key.len);
    if (best != NULL && rank <= best_rank) continue;
    bool hit = rank == SIZE_MAX ? p->key.len == len && memcmp(pat, model, len) == 0
                                : qcc_modelglob_match(pat, p->key.len, model, len);
    if (!hit) continue;
    if (rank == SIZE_MAX) return p;
    best = p;
    best_rank = rank;
  }
  return best;
}

static const char *table_lookup(void *ctx, const char *model, size_t len, size_t *to_len) {
  const struct table_map *m = ctx;
  const struct qcc_tbl_pair *p = best_pair(m->t, m->ep, model, len);
  if (p == NULL) return NULL;
  *to_len = p->value.len;
  return qcc_table_str(m->t, p->value);
}

const char *qcc_modelmap_lookup(const struct qcc_table *t, const struct qcc_tbl_endpoint *ep,
                                const char *model, size_t len, size_t *to_len) {
  struct table_map m = {t, ep};
  return table_lookup(&m, model, len, to_len);
}

int qcc_modelmap_rewrite(const struct qcc_table *t, const struct qcc_tbl_endpoint *ep,
                         const char *body, size_t len, const struct qcc_jsonscan_facts *facts,
                         char **out, size_t *out_len) {
  if (ep->model_map_count == 0) return 0;
  struct table_map m = {t, ep};
  return qcc_modelmap_apply(body, len, facts, table_lookup, &m, out, out_len);
}
