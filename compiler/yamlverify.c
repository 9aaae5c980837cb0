/* The check behind every edit (see yamltree.h): the re-parsed text must be
 * the old tree with exactly the asked change. It walks both trees along the
 * edited path; everything off the path must be equal, node for node. Text
 * positions are not compared (they move), values are, as the loader reads
 * them: a scalar's text, and null only when plain (~, null, nothing). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textpos.h"
#include "yamltree.h"

#define NO_NODE QCC_NO_NODE

struct vctx {
  const struct qcc_yamldoc *a, *b; /* old, new */
  const struct yop *op;
  size_t eff;   /* REMOVE: depth of the entry that goes (parents emptied go too) */
  size_t where; /* old node nearest to the first difference */
};

/* As the loader reads a scalar: null, or its text (quoted or not). */
enum sclass { SC_NULL, SC_TEXT, SC_ALIAS };

static enum sclass sclass(const struct ynode *x) {
  if (x->alias)
    return SC_ALIAS;
  const char *v = x->value;
  if (x->style == YS_PLAIN &&
      (!v[0] || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL")))
    return SC_NULL;
  return SC_TEXT;
}

static bool anchors_eq(const struct ynode *x, const struct ynode *y) {
  return (!x->anchor && !y->anchor) || (x->anchor && y->anchor && !strcmp(x->anchor, y->anchor));
}

/* Node X of A and node Y of B hold the same value. */
static bool same(const struct qcc_yamldoc *a, size_t x, const struct qcc_yamldoc *b, size_t y) {
  const struct ynode *p = &a->nodes[x], *q = &b->nodes[y];
  if (p->kind != q->kind || !anchors_eq(p, q) || p->nkids != q->nkids)
    return false;
  if (p->kind == QCC_YNODE_SCALAR) {
    enum sclass c = sclass(p);
    return c == sclass(q) && (c == SC_NULL || strcmp(p->value, q->value) == 0);
  }
  for (size_t i = 0; i < p->nkids; i++)
    if (!same(a, p->kids[i], b, q->kids[i]))
      return false;
  return true;
}

/* The old tree's entries of collection X (pairs or items) equal the new
 * tree's of Y, except entry SKIP of X (NO_NODE: none), which Y lacks when
 * DROPPED. EXTRA: entries Y has past the end of X's. */
static bool same_entries(const struct vctx *v, size_t x, size_t y, size_t skip, bool dropped,
                         size_t extra) {
  const struct ynode *p = &v->a->nodes[x], *q = &v->b->nodes[y];
  size_t stride = p->kind == QCC_YNODE_MAP ? 2 : 1;
  size_t np = p->nkids / stride, nq = q->nkids / stride;
  if (nq != np - (dropped ? 1 : 0) + extra)
    return false;
  for (size_t i = 0, j = 0; i < np; i++) {
    if (i == skip) {
      if (!dropped)
        j++;
      continue;
    }
    for (size_t s = 0; s < stride; s++)
      if (!same(v->a, p->kids[i * stride + s], v->b, q->kids[j * stride + s]))
        return false;
    j++;
  }
  return true;
}

/* The snippet the op expects from depth I on: the chain of the missing keys
 * with the leaf at its end. */
static struct qcc_yamldoc *expected(const struct vctx *v, size_t i) {
  const struct yop *op = v->op;
  char *t = qcc_ytree_chain(0, op->path + i, op->n - i, op->kind == YOP_SET ? op->leaf : NULL,
                            op->kind == YOP_APPEND ? op->leaf : NULL);
  struct qcc_yamldoc *s = NULL;
  struct qcc_err ignore;
  if (t)
    qcc_yamldoc_parse(t, strlen(t), &s, &ignore);
  free(t);
  return s;
}

/* New node Y is what the op creates from depth I (the old had nothing, or
 * a null there). */
static bool created(const struct vctx *v, size_t i, size_t y) {
  struct qcc_yamldoc *s = expected(v, i);
  bool ok = s && s->root != NO_NODE && same(s, s->root, v->b, y);
  qcc_yamldoc_free(&s);
  return ok;
}

/* The last pair of new mapping Y is the chain created from depth I. */
static bool created_pair(const struct vctx *v, size_t i, size_t y) {
  struct qcc_yamldoc *s = expected(v, i);
  const struct ynode *q = &v->b->nodes[y];
  bool ok = s && s->root != NO_NODE && s->nodes[s->root].kind == QCC_YNODE_MAP &&
            s->nodes[s->root].nkids == 2 && q->nkids >= 2 &&
            same(s, s->nodes[s->root].kids[0], v->b, q->kids[q->nkids - 2]) &&
            same(s, s->nodes[s->root].kids[1], v->b, q->kids[q->nkids - 1]);
  qcc_yamldoc_free(&s);
  return ok;
}

/* At the end of the path: old X, new Y. */
static bool target(const struct vctx *v, size_t x, size_t y) {
  const struct ynode *p = &v->a->nodes[x], *q = &v->b->nodes[y];
  if (v->op->kind == YOP_SET)
    return p->kind == QCC_YNODE_SCALAR && created(v, v->op->n, y);
  /* APPEND: the item after the old items */
  struct qcc_yamldoc *s = NULL;
  struct qcc_err ignore;
  if (qcc_yamldoc_parse(v->op->leaf, strlen(v->op->leaf), &s, &ignore) != 0)
    return false;
  bool ok = false;
  if (q->kind == QCC_YNODE_SEQ && q->nkids >= 1 && s->root != NO_NODE &&
      same(s, s->root, v->b, q->kids[q->nkids - 1])) {
    if (p->kind == QCC_YNODE_SEQ)
      ok = same_entries(v, x, y, NO_NODE, false, 1);
    else
      ok = p->kind == QCC_YNODE_SCALAR && sclass(p) == SC_NULL && q->nkids == 1;
  }
  qcc_yamldoc_free(&s);
  return ok;
}

static bool walk(struct vctx *v, size_t x, size_t y, size_t i) {
  v->where = x;
  const struct yop *op = v->op;
  const struct ynode *p = &v->a->nodes[x], *q = &v->b->nodes[y];
  if (i == op->n)
    return target(v, x, y);
  if (p->kind == QCC_YNODE_SCALAR && sclass(p) == SC_NULL && op->kind != YOP_REMOVE)
    return created(v, i, y);
  if (p->kind != q->kind || !anchors_eq(p, q) || p->kind == QCC_YNODE_SCALAR)
    return false;
  size_t c = qcc_ytree_child(v->a, x, op->path[i]);
  size_t stride = p->kind == QCC_YNODE_MAP ? 2 : 1, j = 0;
  if (c == NO_NODE) {
    /* only a mapping grows a key, as its last pair */
    return op->kind != YOP_REMOVE && p->kind == QCC_YNODE_MAP &&
           same_entries(v, x, y, NO_NODE, false, 1) && created_pair(v, i, y);
  }
  while (p->kids[j * stride + stride - 1] != c)
    j++;
  if (op->kind == YOP_REMOVE && i + 1 == v->eff)
    return same_entries(v, x, y, j, true, 0);
  if (!same_entries(v, x, y, j, false, 0))
    return false;
  if (stride == 2 && !same(v->a, p->kids[2 * j], v->b, q->kids[2 * j]))
    return false;
  return walk(v, c, q->kids[j * stride + stride - 1], i + 1);
}

int qcc_yamldoc_verify(const struct qcc_yamldoc *old, const struct qcc_yamldoc *new_doc,
                       const struct yop *op, struct qcc_err *err) {
  struct vctx v = {old, new_doc, op, op->n, old->root};
  bool ok;
  if (op->kind == YOP_REMOVE) {
    /* a mapping left empty goes with its key (yamledit.h) */
    size_t at = old->root;
    for (size_t i = 0; i < op->n && at != NO_NODE; i++)
      at = qcc_ytree_child(old, at, op->path[i]);
    while (at != NO_NODE && v.eff > 1) {
      size_t p = old->nodes[at].parent;
      if (old->nodes[p].kind != QCC_YNODE_MAP || old->nodes[p].nkids != 2 ||
          old->nodes[p].parent == NO_NODE)
        break;
      at = p;
      v.eff--;
    }
  }
  if (old->root == NO_NODE)
    ok = op->kind != YOP_REMOVE && new_doc->root != NO_NODE && created(&v, 0, new_doc->root);
  else if (new_doc->root == NO_NODE) /* the only key of a block document removed */
    ok = op->kind == YOP_REMOVE && v.eff == 1 && old->nodes[old->root].kind == QCC_YNODE_MAP &&
         old->nodes[old->root].nkids == 2;
  else
    ok = walk(&v, old->root, new_doc->root, 0);
  if (ok)
    return 0;
  size_t l = 1, c = 1;
  if (v.where != NO_NODE)
    qcc_textpos_linecol(old->text, old->len, old->nodes[v.where].start, &l, &c);
  return qcc_err_set(err, EINVAL,
                     "%zu:%zu: the edit would change more than was asked here (a layout this "
                     "editor does not handle); nothing was changed: edit it by hand",
                     l, c);
}
