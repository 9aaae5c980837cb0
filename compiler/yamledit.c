/* Comment- and format-preserving YAML edits (see yamledit.h).
 *
 * libyaml drops comments but gives every event a start and end byte offset.
 * We keep a small node tree with those offsets and edit the text between
 * them. Block collections have no reliable end mark (libyaml puts it at the
 * next token, past trailing comments and blank lines), so the end of a block
 * collection is the end of its last child ("content end"); edits that remove
 * or append whole entries work on whole lines from there. */
#include "yamledit.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define NO_NODE SIZE_MAX
/* Cap on nodes so a hostile file cannot make us allocate without bound. */
#define MAX_NODES 1000000u

struct ynode {
  enum qcc_ynode_kind kind;
  bool flow;
  bool empty;        /* plain scalar with no text: a null value */
  size_t start, end; /* byte offsets from libyaml marks */
  size_t parent;
  size_t *kids; /* map: key0, value0, key1, value1 ...; seq: items */
  size_t nkids, capkids;
  char *value; /* scalar value (NULL for aliases) */
};

struct qcc_yamldoc {
  char *text;
  size_t len;
  struct ynode *nodes;
  size_t count, cap;
  size_t root;
};

/* ---- tree ---- */

static void nodes_clear(struct qcc_yamldoc *d) {
  for (size_t i = 0; i < d->count; i++) {
    free(d->nodes[i].kids);
    free(d->nodes[i].value);
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

/* Build the tree of d->text. */
static int build(struct qcc_yamldoc *d, struct qcc_err *err) {
  yaml_parser_t parser;
  yaml_event_t ev;
  size_t cur = NO_NODE; /* open collection */
  int rc = -1;
  bool done = false;
  unsigned docs = 0;

  nodes_clear(d);
  if (!yaml_parser_initialize(&parser))
    return qcc_err_set(err, ENOMEM, "out of memory");
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
        yaml_event_delete(&ev);
        qcc_err_set(err, EINVAL, "%zu:%zu: more than one YAML document; edit it by hand",
                    ev.start_mark.line + 1, ev.start_mark.column + 1);
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
      if (idx == NO_NODE) {
        yaml_event_delete(&ev);
        qcc_err_set(err, ENOMEM, "out of memory (or too many YAML nodes)");
        goto out;
      }
      struct ynode *n = &d->nodes[idx];
      n->start = ev.start_mark.index;
      n->end = ev.end_mark.index;
      if (ev.type == YAML_SCALAR_EVENT) {
        n->value = strdup((const char *)ev.data.scalar.value);
        if (!n->value) {
          yaml_event_delete(&ev);
          qcc_err_set(err, ENOMEM, "out of memory");
          goto out;
        }
        n->empty = ev.data.scalar.length == 0 && ev.data.scalar.plain_implicit &&
                   ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                   ev.start_mark.index == ev.end_mark.index;
      } else if (ev.type == YAML_MAPPING_START_EVENT) {
        n->flow = ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
        cur = idx;
      } else if (ev.type == YAML_SEQUENCE_START_EVENT) {
        n->flow = ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
        cur = idx;
      }
      if (d->root == NO_NODE)
        d->root = idx;
      break;
    }
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      if (cur != NO_NODE) {
        if (d->nodes[cur].flow)
          d->nodes[cur].end = ev.end_mark.index;
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
  if (rc != 0)
    nodes_clear(d);
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
  nodes_clear(*doc);
  free((*doc)->text);
  free(*doc);
  *doc = NULL;
}

const char *qcc_yamldoc_text(const struct qcc_yamldoc *doc, size_t *len) {
  if (len)
    *len = doc->len;
  return doc->text;
}

/* ---- positions ---- */

static size_t line_start(const struct qcc_yamldoc *d, size_t pos) {
  while (pos > 0 && d->text[pos - 1] != '\n')
    pos--;
  return pos;
}

/* Index just past the newline ending the line that holds the byte before POS
 * (a block scalar's end mark is already at a line start). */
static size_t line_after(const struct qcc_yamldoc *d, size_t pos) {
  if (pos > 0 && d->text[pos - 1] == '\n')
    return pos;
  while (pos < d->len && d->text[pos] != '\n')
    pos++;
  return pos < d->len ? pos + 1 : d->len;
}

/* Index of the newline ending that line (or len). */
static size_t line_stop(const struct qcc_yamldoc *d, size_t pos) {
  size_t a = line_after(d, pos);
  if (a > 0 && a <= d->len && d->text[a - 1] == '\n')
    a--;
  if (a > pos && a > 0 && d->text[a - 1] == '\r')
    a--; /* CRLF: stop before the CR */
  return a;
}

/* A file written with CRLF line ends gets CRLF in what we insert too. */
static bool uses_crlf(const struct qcc_yamldoc *d) {
  const char *nl = memchr(d->text, '\n', d->len);
  return nl && nl > d->text && nl[-1] == '\r';
}

static size_t col_of(const struct qcc_yamldoc *d, size_t pos) { return pos - line_start(d, pos); }

static bool only_space_before(const struct qcc_yamldoc *d, size_t pos) {
  for (size_t i = line_start(d, pos); i < pos; i++)
    if (d->text[i] != ' ' && d->text[i] != '\t')
      return false;
  return true;
}

/* End of the last text that belongs to node N. */
static size_t content_end(const struct qcc_yamldoc *d, size_t n) {
  const struct ynode *x = &d->nodes[n];
  if (x->kind == QCC_YNODE_SCALAR || x->flow || x->nkids == 0)
    return x->end;
  return content_end(d, x->kids[x->nkids - 1]);
}

/* Position just past the ':' that follows key node K. */
static size_t after_colon(const struct qcc_yamldoc *d, size_t k) {
  size_t p = d->nodes[k].end;
  while (p < d->len && (d->text[p] == ' ' || d->text[p] == '\t'))
    p++;
  if (p < d->len && d->text[p] == ':')
    return p + 1;
  return d->nodes[k].end;
}

/* ---- lookup ---- */

static const char *map_get_scalar(const struct qcc_yamldoc *d, size_t map, const char *key) {
  const struct ynode *m = &d->nodes[map];
  for (size_t i = 0; i + 1 < m->nkids; i += 2) {
    const struct ynode *k = &d->nodes[m->kids[i]];
    const struct ynode *v = &d->nodes[m->kids[i + 1]];
    if (k->value && strcmp(k->value, key) == 0)
      return v->kind == QCC_YNODE_SCALAR ? v->value : NULL;
  }
  return NULL;
}

/* Child of N selected by SEG: the value for a key, or an item. */
static size_t child(const struct qcc_yamldoc *d, size_t n, const char *seg) {
  const struct ynode *x = &d->nodes[n];
  if (x->kind == QCC_YNODE_MAP) {
    for (size_t i = 0; i + 1 < x->nkids; i += 2) {
      const struct ynode *k = &d->nodes[x->kids[i]];
      if (k->value && strcmp(k->value, seg) == 0)
        return x->kids[i + 1];
    }
    return NO_NODE;
  }
  if (x->kind == QCC_YNODE_SEQ) {
    for (size_t i = 0; i < x->nkids; i++) {
      size_t it = x->kids[i];
      if (d->nodes[it].kind == QCC_YNODE_SCALAR && d->nodes[it].value &&
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
    cur = child(d, cur, path[i]);
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
  if (x->kind == QCC_YNODE_SCALAR && value && x->value && !x->empty)
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
    else if (it->kind == QCC_YNODE_SCALAR && !it->empty)
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
  size_t line = 1;
  for (size_t i = 0; i < doc->nodes[at].start && i < doc->len; i++)
    line += doc->text[i] == '\n';
  return line;
}

/* ---- text building ---- */

struct sbuf {
  char *p;
  size_t len, cap;
  bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 128;
    while (ncap < b->len + n + 1)
      ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (!np) {
      b->oom = true;
      return;
    }
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_spaces(struct sbuf *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    sb_add(b, " ", 1);
}

/* ITEM (block YAML at column 0) as a sequence item: "- " at column DASH. */
static void sb_item(struct sbuf *b, size_t dash, const char *item) {
  bool first = true;
  const char *p = item;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (first) {
      sb_spaces(b, dash);
      sb_str(b, "- ");
    } else if (n > 0) {
      sb_spaces(b, dash + 2);
    }
    sb_add(b, p, n);
    sb_str(b, "\n");
    first = false;
    p += n + (nl ? 1 : 0);
  }
  if (first) { /* empty item */
    sb_spaces(b, dash);
    sb_str(b, "- {}\n");
  }
}

static int splice_raw(struct qcc_yamldoc *d, size_t a, size_t b, const char *ins,
                      struct qcc_err *err);

/* Replace [a, b) with INS and rebuild the tree; the old text is kept when
 * the result does not parse. */
static int splice(struct qcc_yamldoc *d, size_t a, size_t b, const char *ins, struct qcc_err *err) {
  char *conv = NULL;
  if (uses_crlf(d) && strchr(ins, '\n')) {
    size_t nl = 0, n = strlen(ins);
    for (size_t i = 0; i < n; i++)
      nl += ins[i] == '\n' && (i == 0 || ins[i - 1] != '\r');
    conv = malloc(n + nl + 1);
    if (!conv)
      return qcc_err_set(err, ENOMEM, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
      if (ins[i] == '\n' && (i == 0 || ins[i - 1] != '\r'))
        conv[o++] = '\r';
      conv[o++] = ins[i];
    }
    conv[o] = '\0';
    ins = conv;
  }
  int rc = splice_raw(d, a, b, ins, err);
  free(conv);
  return rc;
}

static int splice_raw(struct qcc_yamldoc *d, size_t a, size_t b, const char *ins,
                      struct qcc_err *err) {
  size_t il = strlen(ins);
  size_t nlen = d->len - (b - a) + il;
  char *nt = malloc(nlen + 1);
  if (!nt)
    return qcc_err_set(err, ENOMEM, "out of memory");
  memcpy(nt, d->text, a);
  memcpy(nt + a, ins, il);
  memcpy(nt + a + il, d->text + b, d->len - b);
  nt[nlen] = '\0';
  char *old = d->text;
  size_t olen = d->len;
  d->text = nt;
  d->len = nlen;
  if (build(d, err) != 0) {
    qcc_err_wrap(err, "internal: the edited text does not parse");
    free(nt);
    d->text = old;
    d->len = olen;
    struct qcc_err ignore;
    build(d, &ignore);
    return -1;
  }
  free(old);
  return 0;
}

/* Insert a block chain "s0:\n  s1:\n    s2: VALUE" (or ending in a block
 * sequence holding ITEM) at POS with the first key at column IND. LEAD is
 * put before it (a newline when inserting after a key with no value). */
static int insert_chain(struct qcc_yamldoc *d, size_t pos, size_t ind, const char *lead,
                        const char *const *segs, size_t k, const char *scalar, const char *item,
                        bool trailing_nl, struct qcc_err *err) {
  struct sbuf b = {0};
  if (pos == d->len && d->len > 0 && d->text[d->len - 1] != '\n' && !lead[0])
    sb_str(&b, "\n");
  sb_str(&b, lead);
  for (size_t j = 0; j < k; j++) {
    sb_spaces(&b, ind + 2 * j);
    sb_str(&b, segs[j]);
    sb_str(&b, ":");
    if (j + 1 < k) {
      sb_str(&b, "\n");
    } else if (item) {
      sb_str(&b, "\n");
      sb_item(&b, ind + 2 * j + 2, item);
    } else {
      sb_str(&b, " ");
      sb_str(&b, scalar);
      sb_str(&b, "\n");
    }
  }
  if (!trailing_nl && b.len > 0 && b.p[b.len - 1] == '\n')
    b.p[--b.len] = '\0';
  if (b.oom) {
    free(b.p);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  int rc = splice(d, pos, pos, b.p ? b.p : "", err);
  free(b.p);
  return rc;
}

/* Flow text for the chain: "s0: {s1: VALUE}" */
static int insert_flow_chain(struct qcc_yamldoc *d, size_t map, const char *const *segs, size_t k,
                             const char *scalar, const char *item, struct qcc_err *err) {
  if (item)
    return qcc_err_set(err, EINVAL, "%s is written in flow style {...}; edit it by hand", segs[0]);
  struct ynode *m = &d->nodes[map];
  struct sbuf b = {0};
  size_t pos;
  if (m->nkids > 0) {
    pos = content_end(d, m->kids[m->nkids - 1]);
    sb_str(&b, ", ");
  } else {
    pos = m->start + 1;
  }
  for (size_t j = 0; j < k; j++) {
    sb_str(&b, segs[j]);
    sb_str(&b, j + 1 < k ? ": {" : ": ");
  }
  sb_str(&b, scalar);
  for (size_t j = 1; j < k; j++)
    sb_str(&b, "}");
  if (b.oom) {
    free(b.p);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  int rc = splice(d, pos, pos, b.p, err);
  free(b.p);
  return rc;
}

/* Create the missing keys SEGS[0..k) under mapping MAP. */
static int create_in_map(struct qcc_yamldoc *d, size_t map, const char *const *segs, size_t k,
                         const char *scalar, const char *item, struct qcc_err *err) {
  struct ynode *m = &d->nodes[map];
  if (m->flow)
    return insert_flow_chain(d, map, segs, k, scalar, item, err);
  size_t ind = col_of(d, m->start);
  size_t pos = line_after(d, content_end(d, map));
  return insert_chain(d, pos, ind, "", segs, k, scalar, item, true, err);
}

/* Create SEGS under the key whose value is the null scalar V. */
static int create_under_null(struct qcc_yamldoc *d, size_t v, const char *const *segs, size_t k,
                             const char *scalar, const char *item, struct qcc_err *err) {
  size_t p = d->nodes[v].parent;
  if (p == NO_NODE || d->nodes[p].kind != QCC_YNODE_MAP || d->nodes[p].flow)
    return qcc_err_set(err, EINVAL, "cannot add %s under an empty value here; edit it by hand",
                       segs[0]);
  size_t key = NO_NODE;
  for (size_t i = 1; i < d->nodes[p].nkids; i += 2)
    if (d->nodes[p].kids[i] == v)
      key = d->nodes[p].kids[i - 1];
  if (key == NO_NODE)
    return qcc_err_set(err, EINVAL, "internal: null value without key");
  size_t ind = col_of(d, d->nodes[key].start) + 2;
  size_t pos = line_stop(d, d->nodes[v].end);
  return insert_chain(d, pos, ind, "\n", segs, k, scalar, item, false, err);
}

static const char *kind_name(enum qcc_ynode_kind k) {
  return k == QCC_YNODE_MAP ? "a mapping" : k == QCC_YNODE_SEQ ? "a list" : "a single value";
}

/* Walk PATH; on the first missing segment create the rest. FOUND gets the
 * node at PATH when it exists. */
static int walk_create(struct qcc_yamldoc *d, const char *const *path, size_t n, const char *scalar,
                       const char *item, size_t *found, struct qcc_err *err) {
  *found = NO_NODE;
  size_t cur = d->root;
  if (cur == NO_NODE) /* empty document */
    return insert_chain(d, d->len, 0, "", path, n, scalar, item, true, err);
  for (size_t i = 0; i < n; i++) {
    struct ynode *x = &d->nodes[cur];
    size_t next = child(d, cur, path[i]);
    if (next != NO_NODE) {
      cur = next;
      continue;
    }
    if (x->kind == QCC_YNODE_MAP)
      return create_in_map(d, cur, path + i, n - i, scalar, item, err);
    if (x->kind == QCC_YNODE_SEQ)
      return qcc_err_set(err, ENOENT, "no entry named \"%s\" in %s", path[i],
                         i ? path[i - 1] : "the document");
    if (x->empty && i > 0)
      return create_under_null(d, cur, path + i, n - i, scalar, item, err);
    return qcc_err_set(err, EINVAL, "%s is %s, not a mapping", i ? path[i - 1] : "the document",
                       kind_name(x->kind));
  }
  *found = cur;
  return 0;
}

int qcc_yamldoc_set(struct qcc_yamldoc *doc, const char *const *path, size_t n, const char *scalar,
                    struct qcc_err *err) {
  if (n == 0)
    return qcc_err_set(err, EINVAL, "empty key");
  size_t at;
  if (walk_create(doc, path, n, scalar, NULL, &at, err) != 0)
    return -1;
  if (at == NO_NODE)
    return 0; /* created */
  struct ynode *x = &doc->nodes[at];
  if (x->kind != QCC_YNODE_SCALAR)
    return qcc_err_set(err, EINVAL, "%s is %s; set one of its keys instead", path[n - 1],
                       kind_name(x->kind));
  if (x->empty) {
    char *ins = malloc(strlen(scalar) + 2);
    if (!ins)
      return qcc_err_set(err, ENOMEM, "out of memory");
    ins[0] = ' ';
    memcpy(ins + 1, scalar, strlen(scalar) + 1);
    int rc = splice(doc, x->start, x->end, ins, err);
    free(ins);
    return rc;
  }
  return splice(doc, x->start, x->end, scalar, err);
}

static int remove_node(struct qcc_yamldoc *d, size_t idx, struct qcc_err *err) {
  size_t pi = d->nodes[idx].parent;
  if (pi == NO_NODE)
    return qcc_err_set(err, EINVAL, "cannot remove the whole document");
  const struct ynode *p = &d->nodes[pi];
  if (p->kind == QCC_YNODE_MAP) {
    size_t j = 0;
    while (j + 1 < p->nkids && p->kids[j + 1] != idx)
      j += 2;
    size_t key = p->kids[j];
    if (p->nkids == 2) {
      if (p->parent != NO_NODE)
        return remove_node(d, pi, err);
      if (p->flow)
        return splice(d, p->start, p->end, "{}", err);
    }
    if (p->flow) {
      if (j == 0)
        return splice(d, d->nodes[key].start, d->nodes[p->kids[2]].start, "", err);
      return splice(d, content_end(d, p->kids[j - 1]), content_end(d, idx), "", err);
    }
    size_t ks = d->nodes[key].start;
    if (only_space_before(d, ks))
      return splice(d, line_start(d, ks), line_after(d, content_end(d, idx)), "", err);
    if (j + 2 < p->nkids) /* first key of a "- key: v" item */
      return splice(d, ks, d->nodes[p->kids[j + 2]].start, "", err);
    return qcc_err_set(err, EINVAL, "cannot remove %s here; edit it by hand", d->nodes[key].value);
  }
  /* sequence item */
  size_t j = 0;
  while (j < p->nkids && p->kids[j] != idx)
    j++;
  if (p->flow) {
    if (p->nkids == 1)
      return splice(d, p->start, p->end, "[]", err);
    if (j == 0)
      return splice(d, d->nodes[idx].start, d->nodes[p->kids[1]].start, "", err);
    return splice(d, content_end(d, p->kids[j - 1]), content_end(d, idx), "", err);
  }
  if (p->nkids == 1 && p->parent != NO_NODE && d->nodes[p->parent].kind == QCC_YNODE_MAP) {
    const struct ynode *gp = &d->nodes[p->parent];
    for (size_t i = 1; i < gp->nkids; i += 2)
      if (gp->kids[i] == pi)
        return splice(d, after_colon(d, gp->kids[i - 1]), line_stop(d, content_end(d, idx)), " []",
                      err);
  }
  size_t dash = d->nodes[idx].start;
  while (dash > 0 && d->text[dash] != '-')
    dash--;
  if (d->text[dash] != '-' || !only_space_before(d, dash))
    return qcc_err_set(err, EINVAL, "cannot remove this list item; edit it by hand");
  return splice(d, line_start(d, dash), line_after(d, content_end(d, idx)), "", err);
}

int qcc_yamldoc_remove(struct qcc_yamldoc *doc, const char *const *path, size_t n,
                       struct qcc_err *err) {
  if (n == 0)
    return qcc_err_set(err, EINVAL, "empty key");
  size_t at = locate(doc, path, n);
  if (at == NO_NODE)
    return qcc_err_set(err, ENOENT, "%s is not in the file", path[n - 1]);
  return remove_node(doc, at, err);
}

int qcc_yamldoc_append(struct qcc_yamldoc *doc, const char *const *path, size_t n, const char *item,
                       struct qcc_err *err) {
  if (n == 0)
    return qcc_err_set(err, EINVAL, "empty key");
  size_t at;
  if (walk_create(doc, path, n, NULL, item, &at, err) != 0)
    return -1;
  if (at == NO_NODE)
    return 0; /* created with the item */
  struct ynode *x = &doc->nodes[at];
  struct sbuf b = {0};
  size_t a, e;
  if (x->kind == QCC_YNODE_SCALAR && x->empty && x->parent != NO_NODE &&
      doc->nodes[x->parent].kind == QCC_YNODE_MAP && !doc->nodes[x->parent].flow) {
    /* "key:" with no value gets a block list under it */
    const struct ynode *p = &doc->nodes[x->parent];
    size_t key = NO_NODE;
    for (size_t i = 1; i < p->nkids; i += 2)
      if (p->kids[i] == at)
        key = p->kids[i - 1];
    a = e = line_stop(doc, x->end);
    sb_str(&b, "\n");
    sb_item(&b, col_of(doc, doc->nodes[key].start) + 2, item);
    if (b.len > 0)
      b.p[--b.len] = '\0';
  } else if (x->kind != QCC_YNODE_SEQ) {
    return qcc_err_set(err, EINVAL, "%s is %s, not a list", path[n - 1], kind_name(x->kind));
  } else if (!x->flow) {
    a = e = line_after(doc, content_end(doc, at));
    if (a == doc->len && doc->len > 0 && doc->text[doc->len - 1] != '\n')
      sb_str(&b, "\n");
    sb_item(&b, col_of(doc, x->start), item);
  } else if (x->nkids == 0 && x->parent != NO_NODE && doc->nodes[x->parent].kind == QCC_YNODE_MAP &&
             !doc->nodes[x->parent].flow) {
    /* "key: []" becomes a block list */
    const struct ynode *p = &doc->nodes[x->parent];
    size_t key = NO_NODE;
    for (size_t i = 1; i < p->nkids; i += 2)
      if (p->kids[i] == at)
        key = p->kids[i - 1];
    a = after_colon(doc, key);
    e = x->end;
    sb_str(&b, "\n");
    sb_item(&b, col_of(doc, doc->nodes[key].start) + 2, item);
    if (b.len > 0)
      b.p[--b.len] = '\0';
  } else if (x->nkids > 0 && !strchr(item, '\n') && !strchr(item, ':')) {
    /* "[a, b]" + c -> "[a, b, c]": only single scalars fit a flow list */
    a = e = content_end(doc, x->kids[x->nkids - 1]);
    sb_str(&b, ", ");
    sb_str(&b, item);
  } else {
    return qcc_err_set(err, EINVAL, "%s is written in flow style [...]; edit it by hand",
                       path[n - 1]);
  }
  if (b.oom) {
    free(b.p);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  int rc = splice(doc, a, e, b.p ? b.p : "", err);
  free(b.p);
  return rc;
}

/* ---- scalars and paths ---- */

static bool looks_typed(const char *s) {
  static const char *const words[] = {"true", "false", "yes", "no",   "on",
                                      "off",  "y",     "n",   "null", "~"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strcasecmp(s, words[i]) == 0)
      return true;
  const char *p = s;
  if (*p == '+' || *p == '-')
    p++;
  if (*p == '.')
    p++;
  return isdigit((unsigned char)*p) != 0 || strcasecmp(p, "inf") == 0 || strcasecmp(p, "nan") == 0;
}

static bool plain_safe(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == ':')
    return false;
  if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) && !(s[0] == '-' && n > 1 && s[1] != ' '))
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f || strchr(",[]{}", c))
      return false;
    if (c == ':' && s[i + 1] == ' ')
      return false;
    if (c == '#' && i > 0 && s[i - 1] == ' ')
      return false;
  }
  return true;
}

char *qcc_yaml_scalar(const char *s, bool as_string) {
  if (plain_safe(s) && !(as_string && looks_typed(s)))
    return strdup(s);
  struct sbuf b = {0};
  sb_str(&b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      sb_add(&b, esc, 2);
    } else if (*p == '\n') {
      sb_str(&b, "\\n");
    } else if (*p == '\t') {
      sb_str(&b, "\\t");
    } else if (*p < 0x20 || *p == 0x7f) {
      snprintf(esc, sizeof esc, "\\x%02x", *p);
      sb_str(&b, esc);
    } else {
      sb_add(&b, (const char *)p, 1);
    }
  }
  sb_str(&b, "\"");
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

size_t qcc_path_split(const char *dotted, char *buf, size_t cap, const char **segs,
                      size_t max_segs) {
  size_t len = strlen(dotted);
  if (len == 0 || len + 1 > cap)
    return 0;
  memcpy(buf, dotted, len + 1);
  size_t n = 0;
  char *p = buf;
  for (;;) {
    char *dot = strchr(p, '.');
    if (dot)
      *dot = '\0';
    if (*p == '\0' || n == max_segs)
      return 0;
    segs[n++] = p;
    if (!dot)
      break;
    p = dot + 1;
  }
  return n;
}
