#include "modelmap.h"

#include "schema/modelglob.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int qcc_modelmap_plan(const char *body, size_t len, const struct qcc_jsonscan_facts *facts,
                      qcc_modelmap_lookup_fn lookup, void *ctx, struct qcc_modelmap_splice *sp) {
  memset(sp, 0, sizeof *sp);
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
  size_t total = len, text_len = 0;
  unsigned hits = 0;
  char name[QCC_MODELMAP_MAX_NAME];
  for (unsigned k = 0; k < n; k++) {
    long dl = qcc_jsonscan_decode(body + spans[k].off, spans[k].len, name, sizeof name);
    if (dl < 0) continue;
    size_t tl = 0;
    const char *t = lookup(ctx, name, (size_t)dl, &tl);
    if (t == NULL) continue;
    size_t enc = qcc_jsonscan_encode(t, tl, NULL);
    to[hits] = t;
    to_len[hits] = tl;
    sp->cut[hits] = spans[k];
    sp->rep_len[hits] = enc;
    total = total - spans[k].len + enc;
    text_len += enc;
    hits++;
  }
  if (hits == 0) return 0;
  sp->text = malloc(text_len);
  if (sp->text == NULL) return -1;
  size_t at = 0;
  for (unsigned k = 0; k < hits; k++) at += qcc_jsonscan_encode(to[k], to_len[k], sp->text + at);
  sp->n = hits;
  sp->out_len = total;
  return 1;
}

size_t qcc_modelmap_copy(const struct qcc_modelmap_splice *sp, const char *body, size_t len,
                         size_t pos, char *out, size_t cap) {
  /* the pieces in order: body up to cut 0, text 0, body after cut 0 up to
   * cut 1, ..., body after the last cut; SEG_AT is where a piece starts in
   * the rewritten body */
  size_t done = 0, seg_at = 0, from = 0, text_at = 0;
  for (unsigned k = 0; k <= sp->n && done < cap; k++) {
    const char *piece[2];
    size_t plen[2];
    size_t upto = k < sp->n ? sp->cut[k].off : len;
    piece[0] = body + from;
    plen[0] = upto - from;
    piece[1] = k < sp->n ? sp->text + text_at : NULL;
    plen[1] = k < sp->n ? sp->rep_len[k] : 0;
    for (int j = 0; j < 2 && done < cap; j++) {
      size_t want = pos + done; /* the next byte to copy, in the rewritten body */
      if (want < seg_at + plen[j]) {
        size_t skip = want - seg_at, take = plen[j] - skip;
        if (take > cap - done) take = cap - done;
        memcpy(out + done, piece[j] + skip, take);
        done += take;
      }
      seg_at += plen[j];
    }
    if (k < sp->n) {
      from = sp->cut[k].off + sp->cut[k].len;
      text_at += sp->rep_len[k];
    }
  }
  return done;
}

void qcc_modelmap_splice_free(struct qcc_modelmap_splice *sp) {
  free(sp->text);
  memset(sp, 0, sizeof *sp);
}

int qcc_modelmap_apply(const char *body, size_t len, const struct qcc_jsonscan_facts *facts,
                       qcc_modelmap_lookup_fn lookup, void *ctx, char **out, size_t *out_len) {
  struct qcc_modelmap_splice sp;
  int rc = qcc_modelmap_plan(body, len, facts, lookup, ctx, &sp);
  if (rc != 1) return rc;
  char *buf = malloc(sp.out_len > 0 ? sp.out_len : 1);
  if (buf == NULL) {
    qcc_modelmap_splice_free(&sp);
    return -1;
  }
  *out_len = qcc_modelmap_copy(&sp, body, len, 0, buf, sp.out_len);
  *out = buf;
  qcc_modelmap_splice_free(&sp);
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

int qcc_modelmap_rewrite_plan(const struct qcc_table *t, const struct qcc_tbl_endpoint *ep,
                              const char *body, size_t len,
                              const struct qcc_jsonscan_facts *facts,
                              struct qcc_modelmap_splice *sp) {
  memset(sp, 0, sizeof *sp);
  if (ep->model_map_count == 0) return 0;
  struct table_map m = {t, ep};
  return qcc_modelmap_plan(body, len, facts, table_lookup, &m, sp);
}
