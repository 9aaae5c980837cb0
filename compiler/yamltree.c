/* The node tree of a YAML text (see yamltree.h): libyaml events with their
 * marks turned into byte offsets (textpos: marks count characters, a CJK
 * character is one mark and three bytes), and lookups by path. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "textpos.h"
#include "yamltree.h"

#define NO_NODE QCC_NO_NODE
/* Cap on nodes so a hostile file cannot make us allocate without bound. */
#define MAX_NODES 1000000u

/* ---- tree ---- */

void qcc_ytree_clear(struct qcc_yamldoc *d) {
  for (size_t i = 0; i < d->count; i++) {
    free(d->nodes[i].kids);
    free(d->nodes[i].value);
    free(d->nodes[i].anchor);
  }
  free(d->nodes);
  d->nodes = NULL;
  d->count = d->cap = 0;
  d->root = NO_NODE;
}

static size_t node_add(struct qcc_yamldoc *d, enum qcc_ynode_kind kind, size_t parent) {
  if (d->count >= MAX_NODES)
    return NO_NODE;
  if (d->count == d->cap) {
    size_t ncap = d->cap ? d->cap * 2 : 64;
    struct ynode *n = realloc(d->nodes, ncap * sizeof *n);
    if (!n)
      return NO_NODE;
    d->nodes = n;
    d->cap = ncap;
  }
  size_t idx = d->count++;
  memset(&d->nodes[idx], 0, sizeof d->nodes[idx]);
  d->nodes[idx].kind = kind;
  d->nodes[idx].style = YS_NONE;
  d->nodes[idx].parent = parent;
  if (parent != NO_NODE) {
    struct ynode *p = &d->nodes[parent];
    if (p->nkids == p->capkids) {
      size_t ncap = p->capkids ? p->capkids * 2 : 8;
      size_t *k = realloc(p->kids, ncap * sizeof *k);
      if (!k) {
        d->count--;
        return NO_NODE;
      }
      p->kids = k;
      p->capkids = ncap;
    }
    p->kids[p->nkids++] = idx;
  }
  return idx;
}

static enum ystyle style_of(yaml_scalar_style_t s) {
  switch (s) {
  case YAML_PLAIN_SCALAR_STYLE:
    return YS_PLAIN;
  case YAML_SINGLE_QUOTED_SCALAR_STYLE:
    return YS_SINGLE;
  case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
    return YS_DOUBLE;
  default:
    return YS_BLOCK;
  }
}

/* Fill node N from event EV (marks turned into byte offsets). */
static int node_fill(struct ynode *n, const yaml_event_t *ev, struct qcc_textpos *tp) {
  n->start = qcc_textpos_byte(tp, ev->start_mark.index);
  n->end = qcc_textpos_byte(tp, ev->end_mark.index);
  const yaml_char_t *anchor = NULL, *tag = NULL;
  switch (ev->type) {
  case YAML_SCALAR_EVENT:
    n->value = strdup((const char *)ev->data.scalar.value);
    if (!n->value)
      return -1;
    n->style = style_of(ev->data.scalar.style);
    n->empty = ev->data.scalar.length == 0 && ev->data.scalar.plain_implicit &&
               n->style == YS_PLAIN && n->start == n->end;
    anchor = ev->data.scalar.anchor;
    tag = ev->data.scalar.tag;
    break;
  case YAML_ALIAS_EVENT:
    n->alias = true;
    n->value = strdup((const char *)ev->data.alias.anchor);
    if (!n->value)
      return -1;
    break;
  case YAML_MAPPING_START_EVENT:
    n->flow = ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
    anchor = ev->data.mapping_start.anchor;
    tag = ev->data.mapping_start.tag;
    break;
  case YAML_SEQUENCE_START_EVENT:
    n->flow = ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
    anchor = ev->data.sequence_start.anchor;
    tag = ev->data.sequence_start.tag;
    break;
  default:
    break;
  }
  n->tagged = tag != NULL;
  if (anchor && !(n->anchor = strdup((const char *)anchor)))
    return -1;
  return 0;
}

/* Build the tree of d->text. */
static int build(struct qcc_yamldoc *d, struct qcc_err *err) {
  yaml_parser_t parser;
  yaml_event_t ev;
  size_t cur = NO_NODE; /* open collection */
  int rc = -1;
  bool done = false;
  unsigned docs = 0;

  qcc_ytree_clear(d);
  const unsigned char *t = (const unsigned char *)d->text;
  if (d->len >= 2 && ((t[0] == 0xFF && t[1] == 0xFE) || (t[0] == 0xFE && t[1] == 0xFF)))
    return qcc_err_set(err, EINVAL, "1:1: the file is UTF-16; save it as UTF-8 to edit it");
  struct qcc_textpos *tp = qcc_textpos_new(d->text, d->len);
  if (!tp)
    return qcc_err_set(err, ENOMEM, "out of memory");
  if (!yaml_parser_initialize(&parser)) {
    qcc_textpos_free(&tp);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)d->text, d->len);
  while (!done) {
    if (!yaml_parser_parse(&parser, &ev)) {
      qcc_err_set(err, EINVAL, "%zu:%zu: %s", parser.problem_mark.line + 1,
                  parser.problem_mark.column + 1,
                  parser.problem ? parser.problem : "YAML syntax error");
      goto out;
    }
    size_t idx;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      done = true;
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (++docs > 1) {
        qcc_err_set(err, EINVAL, "%zu:%zu: more than one YAML document; edit it by hand",
                    ev.start_mark.line + 1, ev.start_mark.column + 1);
        yaml_event_delete(&ev);
        goto out;
      }
      break;
    case YAML_SCALAR_EVENT:
    case YAML_ALIAS_EVENT:
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
      enum qcc_ynode_kind k = ev.type == YAML_MAPPING_START_EVENT    ? QCC_YNODE_MAP
                              : ev.type == YAML_SEQUENCE_START_EVENT ? QCC_YNODE_SEQ
                                                                     : QCC_YNODE_SCALAR;
      idx = node_add(d, k, cur);
      if (idx == NO_NODE || node_fill(&d->nodes[idx], &ev, tp) != 0) {
        yaml_event_delete(&ev);
        qcc_err_set(err, ENOMEM, "out of memory (or too many YAML nodes)");
        goto out;
      }
      if (k != QCC_YNODE_SCALAR)
        cur = idx;
      if (d->root == NO_NODE)
        d->root = idx;
      break;
    }
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      if (cur != NO_NODE) {
        if (d->nodes[cur].flow)
          d->nodes[cur].end = qcc_textpos_byte(tp, ev.end_mark.index);
        cur = d->nodes[cur].parent;
      }
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
  }
  rc = 0;
out:
  yaml_parser_delete(&parser);
  qcc_textpos_free(&tp);
  if (rc != 0)
    qcc_ytree_clear(d);
  return rc;
}

int qcc_yamldoc_parse(const char *text, size_t len, struct qcc_yamldoc **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_yamldoc *d = calloc(1, sizeof *d);
  if (!d)
    return qcc_err_set(err, ENOMEM, "out of memory");
  d->root = NO_NODE;
  d->text = malloc(len + 1);
  if (!d->text) {
    free(d);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  memcpy(d->text, text, len);
  d->text[len] = '\0';
  d->len = len;
  if (build(d, err) != 0) {
    qcc_yamldoc_free(&d);
    return -1;
  }
  *out = d;
  return 0;
}

void qcc_yamldoc_free(struct qcc_yamldoc **doc) {
  if (!doc || !*doc)
    return;
  qcc_ytree_clear(*doc);
  free((*doc)->text);
  free(*doc);
  *doc = NULL;
}

const char *qcc_yamldoc_text(const struct qcc_yamldoc *doc, size_t *len) {
  if (len)
    *len = doc->len;
  return doc->text;
}

/* ---- lookup ---- */

static const char *map_get_scalar(const struct qcc_yamldoc *d, size_t map, const char *key) {
  const struct ynode *m = &d->nodes[map];
  for (size_t i = 0; i + 1 < m->nkids; i += 2) {
    const struct ynode *k = &d->nodes[m->kids[i]];
    const struct ynode *v = &d->nodes[m->kids[i + 1]];
    if (k->value && !k->alias && strcmp(k->value, key) == 0)
      return v->kind == QCC_YNODE_SCALAR && !v->alias ? v->value : NULL;
  }
  return NULL;
}

size_t qcc_ytree_child(const struct qcc_yamldoc *d, size_t n, const char *seg) {
  const struct ynode *x = &d->nodes[n];
  if (x->kind == QCC_YNODE_MAP) {
    for (size_t i = 0; i + 1 < x->nkids; i += 2) {
      const struct ynode *k = &d->nodes[x->kids[i]];
      if (k->value && !k->alias && strcmp(k->value, seg) == 0)
        return x->kids[i + 1];
    }
    return NO_NODE;
  }
  if (x->kind == QCC_YNODE_SEQ) {
    for (size_t i = 0; i < x->nkids; i++) {
      size_t it = x->kids[i];
      if (d->nodes[it].kind == QCC_YNODE_SCALAR && !d->nodes[it].alias && d->nodes[it].value &&
          strcmp(d->nodes[it].value, seg) == 0)
        return it; /* a list of names */
      if (d->nodes[it].kind != QCC_YNODE_MAP)
        continue;
      const char *name = map_get_scalar(d, it, "name");
      const char *id = map_get_scalar(d, it, "id");
      if ((name && strcmp(name, seg) == 0) || (id && strcmp(id, seg) == 0))
        return it;
    }
    char *endp = NULL;
    errno = 0;
    unsigned long long ix = strtoull(seg, &endp, 10);
    if (isdigit((unsigned char)seg[0]) && *endp == '\0' && errno == 0 && ix < x->nkids)
      return x->kids[ix];
  }
  return NO_NODE;
}

static size_t locate(const struct qcc_yamldoc *d, const char *const *path, size_t n) {
  size_t cur = d->root;
  for (size_t i = 0; i < n && cur != NO_NODE; i++)
    cur = qcc_ytree_child(d, cur, path[i]);
  return cur;
}

enum qcc_ynode_kind qcc_yamldoc_get(const struct qcc_yamldoc *doc, const char *const *path,
                                    size_t n, char **value) {
  if (value)
    *value = NULL;
  size_t at = locate(doc, path, n);
  if (at == NO_NODE)
    return QCC_YNODE_NONE;
  const struct ynode *x = &doc->nodes[at];
  if (x->kind == QCC_YNODE_SCALAR && value && x->value && !x->empty && !x->alias)
    *value = strdup(x->value);
  return x->kind;
}

size_t qcc_yamldoc_items(const struct qcc_yamldoc *doc, const char *const *path, size_t n,
                         const char *field, const char **names, size_t max) {
  size_t at = locate(doc, path, n);
  if (at == NO_NODE || doc->nodes[at].kind != QCC_YNODE_SEQ)
    return 0;
  size_t count = 0;
  const struct ynode *x = &doc->nodes[at];
  for (size_t i = 0; i < x->nkids && count < max; i++) {
    const struct ynode *it = &doc->nodes[x->kids[i]];
    const char *v = NULL;
    if (it->kind == QCC_YNODE_MAP)
      v = map_get_scalar(doc, x->kids[i], field);
    else if (it->kind == QCC_YNODE_SCALAR && !it->empty && !it->alias)
      v = it->value;
    if (v)
      names[count++] = v;
  }
  return count;
}

size_t qcc_yamldoc_line(const struct qcc_yamldoc *doc, const char *const *path, size_t n) {
  size_t at = locate(doc, path, n);
  if (at == NO_NODE)
    return 0;
  size_t l, c;
  qcc_textpos_linecol(doc->text, doc->len, doc->nodes[at].start, &l, &c);
  return l;
}
