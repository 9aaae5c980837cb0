/* Comment- and format-preserving YAML edits (see yamledit.h).
 *
 * libyaml drops comments but gives every event a start and end mark. Marks
 * count characters, so textpos turns them into byte offsets (a CJK character
 * is one mark step and three bytes). We keep a small node tree with those
 * offsets and edit the text between them. Block collections have no reliable
 * end mark (libyaml puts it at the next token, past trailing comments and
 * blank lines), so the end of a block collection is the end of its last child
 * ("content end"); edits that remove or append whole entries work on whole
 * lines from there. Flow collections ({...}, [...], JSON) are edited in their
 * own layout: one entry per line or all on one line, commas kept right.
 *
 * Every edit is checked before it is kept: the new text is parsed again and
 * compared with the old tree plus the one change asked (yamlverify.c). An
 * edit that would change anything else is refused and the text stays as it
 * was. */
#include "yamledit.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "textpos.h"
#include "yamltree.h"

#define NO_NODE QCC_NO_NODE

/* ---- positions ---- */

/* The first line starts after a byte order mark: it is no indentation. */
static size_t line_start(const struct qcc_yamldoc *d, size_t pos) {
  size_t top = d->len >= 3 && memcmp(d->text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  while (pos > top && d->text[pos - 1] != '\n')
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

/* Width of the indentation of the line holding POS. */
static size_t indent_of(const struct qcc_yamldoc *d, size_t pos) {
  size_t s = line_start(d, pos), i = s;
  while (i < d->len && d->text[i] == ' ')
    i++;
  return i - s;
}

static bool only_space_before(const struct qcc_yamldoc *d, size_t pos) {
  for (size_t i = line_start(d, pos); i < pos; i++)
    if (d->text[i] != ' ' && d->text[i] != '\t')
      return false;
  return true;
}

static size_t skip_blank(const struct qcc_yamldoc *d, size_t p) {
  while (p < d->len && (d->text[p] == ' ' || d->text[p] == '\t'))
    p++;
  return p;
}

static bool newline_between(const struct qcc_yamldoc *d, size_t a, size_t b) {
  return a < b && memchr(d->text + a, '\n', b - a) != NULL;
}

static bool comment_between(const struct qcc_yamldoc *d, size_t a, size_t b) {
  return a < b && memchr(d->text + a, '#', b - a) != NULL;
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
  size_t p = skip_blank(d, d->nodes[k].end);
  if (p < d->len && d->text[p] == ':')
    return p + 1;
  return d->nodes[k].end;
}

/* "LINE:COL" of byte POS, for messages. */
static void where(const struct qcc_yamldoc *d, size_t pos, char *buf, size_t cap) {
  size_t l, c;
  qcc_textpos_linecol(d->text, d->len, pos, &l, &c);
  snprintf(buf, cap, "%zu:%zu", l, c);
}

/* ---- splicing ---- */

struct splice {
  size_t a, b;
  char *ins; /* owned */
};

struct edit {
  struct splice sp[3];
  size_t n;
  bool oom;
};

static void edit_add(struct edit *e, size_t a, size_t b, char *ins) {
  if (!ins || e->n == sizeof e->sp / sizeof e->sp[0]) {
    e->oom = true;
    free(ins);
    return;
  }
  e->sp[e->n++] = (struct splice){a, b, ins};
}

static void edit_free(struct edit *e) {
  for (size_t i = 0; i < e->n; i++)
    free(e->sp[i].ins);
  e->n = 0;
}

/* Append INS to B, with CRLF line ends when CRLF is set. */
static void sb_ins(struct qcc_ytext *b, const char *ins, bool crlf) {
  for (const char *p = ins; *p; p++) {
    if (*p == '\n' && crlf && (p == ins || p[-1] != '\r'))
      qcc_yt_add(b, "\r", 1);
    qcc_yt_add(b, p, 1);
  }
}

/* Apply E to the text, parse the result and check it is the old tree with
 * OP applied; only then keep it. On any failure the document is unchanged. */
static int apply(struct qcc_yamldoc *d, struct edit *e, const struct yop *op, struct qcc_err *err) {
  if (e->oom) {
    edit_free(e);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  bool crlf = uses_crlf(d);
  struct qcc_ytext b = {0};
  size_t at = 0;
  for (size_t i = 0; i < e->n; i++) {
    const struct splice *s = &e->sp[i];
    size_t il = strlen(s->ins);
    if (s->a < at || s->b < s->a || s->b > d->len) {
      edit_free(e);
      free(b.p);
      return qcc_err_set(err, EINVAL, "internal: overlapping edits; nothing was changed");
    }
    if (qcc_utf8_valid_prefix(s->ins, il) != il) {
      edit_free(e);
      free(b.p);
      return qcc_err_set(err, EILSEQ, "the new text is not valid UTF-8; nothing was changed");
    }
    qcc_yt_add(&b, d->text + at, s->a - at);
    sb_ins(&b, s->ins, crlf);
    at = s->b;
  }
  qcc_yt_add(&b, d->text + at, d->len - at);
  edit_free(e);
  if (b.oom || !b.p) {
    free(b.p);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  struct qcc_yamldoc *nd = NULL;
  int rc = qcc_yamldoc_parse(b.p, b.len, &nd, err);
  free(b.p);
  if (rc != 0)
    return qcc_err_wrap(err, "internal: the edited text would not parse; nothing was changed");
  if (qcc_yamldoc_verify(d, nd, op, err) != 0) {
    qcc_yamldoc_free(&nd);
    return -1;
  }
  qcc_ytree_clear(d);
  free(d->text);
  *d = *nd;
  free(nd);
  return 0;
}

/* One splice. */
static int apply1(struct qcc_yamldoc *d, size_t a, size_t b, char *ins, const struct yop *op,
                  struct qcc_err *err) {
  struct edit e = {0};
  edit_add(&e, a, b, ins);
  return apply(d, &e, op, err);
}

/* ---- refusals ---- */

static const char *kind_name(enum qcc_ynode_kind k) {
  return k == QCC_YNODE_MAP ? "a mapping" : k == QCC_YNODE_SEQ ? "a list" : "a single value";
}

/* Anchors, aliases and tags on the way to (or at) the edited node: an edit
 * there would change what other places read too, or drop the tag. */
static int refuse_shared(const struct qcc_yamldoc *d, size_t n, const char *name,
                         struct qcc_err *err) {
  for (size_t x = n; x != NO_NODE; x = d->nodes[x].parent) {
    const struct ynode *y = &d->nodes[x];
    char at[48];
    where(d, y->start, at, sizeof at);
    if (y->alias)
      return qcc_err_set(err, EINVAL,
                         "%s: %s goes through the alias *%s; edit the anchored value by hand", at,
                         name, y->value);
    if (y->anchor)
      return qcc_err_set(err, EINVAL,
                         "%s: %s is inside the anchored value &%s (aliases share it); edit it by "
                         "hand",
                         at, name, y->anchor);
    if (y->tagged && x == n)
      return qcc_err_set(err, EINVAL, "%s: %s has an explicit !tag; edit it by hand", at, name);
  }
  return 0;
}

/* ---- flow layout ---- */

/* Is the document written as JSON around node N: the nearest flow mapping
 * with keys has them all double-quoted. */
static bool json_ctx(const struct qcc_yamldoc *d, size_t n) {
  for (size_t x = n; x != NO_NODE; x = d->nodes[x].parent) {
    const struct ynode *y = &d->nodes[x];
    if (!y->flow)
      return false;
    if (y->kind != QCC_YNODE_MAP || y->nkids == 0)
      continue;
    for (size_t i = 0; i < y->nkids; i += 2)
      if (d->nodes[y->kids[i]].style != YS_DOUBLE)
        return false;
    return true;
  }
  return false;
}

static bool in_flow(const struct qcc_yamldoc *d, size_t n) {
  for (size_t x = n; x != NO_NODE; x = d->nodes[x].parent)
    if (d->nodes[x].flow)
      return true;
  return false;
}

/* How entries of flow collection C are laid out, judged by its last entry
 * (first text START, last END): one per line when the entry starts its line
 * and the closing bracket is on a later line. */
static bool flow_ml(const struct qcc_yamldoc *d, size_t c, size_t start, size_t end) {
  return only_space_before(d, start) && newline_between(d, end, d->nodes[c].end);
}

/* Indentation step of flow collection C: its entries' column minus the
 * indentation of the line its bracket is on. */
static size_t flow_step(const struct qcc_yamldoc *d, size_t c, size_t entry_col) {
  size_t base = indent_of(d, d->nodes[c].start);
  return entry_col > base ? entry_col - base : 2;
}

/* Insert the rendered entry ENTRY (owned) after the last entry of flow
 * collection C, whose last entry runs from START to END, laid out like it. */
static void flow_insert_after(const struct qcc_yamldoc *d, size_t c, size_t start, size_t end,
                              char *entry, struct edit *e) {
  size_t q = skip_blank(d, end);
  bool comma = q < d->len && d->text[q] == ',';
  struct qcc_ytext b = {0};
  if (flow_ml(d, c, start, end)) {
    qcc_yt_str(&b, "\n");
    qcc_yt_spaces(&b, col_of(d, start));
    qcc_yt_str(&b, entry);
    if (comma) {
      qcc_yt_str(&b, ",");
      edit_add(e, line_stop(d, q), line_stop(d, q), qcc_yt_take(&b));
    } else {
      edit_add(e, end, end, strdup(","));
      edit_add(e, line_stop(d, end), line_stop(d, end), qcc_yt_take(&b));
    }
  } else if (comma) {
    qcc_yt_str(&b, " ");
    qcc_yt_str(&b, entry);
    qcc_yt_str(&b, ",");
    edit_add(e, q + 1, q + 1, qcc_yt_take(&b));
  } else {
    qcc_yt_str(&b, ", ");
    qcc_yt_str(&b, entry);
    edit_add(e, end, end, qcc_yt_take(&b));
  }
  free(entry);
}

/* Mapping MAP writes a list or mapping value on one line ("primary":
 * ["a"]): new values there follow suit, even when its keys are one per line. */
static bool inline_values(const struct qcc_yamldoc *d, size_t map) {
  const struct ynode *m = &d->nodes[map];
  for (size_t i = 1; m->kind == QCC_YNODE_MAP && i < m->nkids; i += 2) {
    const struct ynode *v = &d->nodes[m->kids[i]];
    if (v->flow && v->nkids > 0 && !newline_between(d, v->start, v->end))
      return true;
  }
  return false;
}

/* The flow style for a new entry of collection C (last entry START..END). */
static struct qcc_ytstyle style_for(const struct qcc_yamldoc *d, size_t c, size_t start,
                                    size_t end) {
  struct qcc_ytstyle f = {.json = json_ctx(d, c), .ml = false, .step = 2};
  if (start != NO_NODE && flow_ml(d, c, start, end)) {
    f.step = flow_step(d, c, col_of(d, start));
    f.ml = true;
  }
  return f;
}

/* ---- set / create ---- */

/* Insert the pairs of snippet S's root mapping into flow mapping M. */
static int insert_flow_pairs(struct qcc_yamldoc *d, size_t map, const struct qcc_yamldoc *s,
                             const struct yop *op, struct qcc_err *err) {
  const struct ynode *m = &d->nodes[map];
  char at[48];
  where(d, m->start, at, sizeof at);
  if (m->anchor || m->tagged || d->text[m->start] != '{')
    return qcc_err_set(err, EINVAL, "%s: this mapping has an anchor or tag; edit it by hand", at);
  struct edit e = {0};
  size_t lk = m->nkids ? m->kids[m->nkids - 2] : NO_NODE;
  size_t lend = m->nkids ? content_end(d, m->kids[m->nkids - 1]) : 0;
  struct qcc_ytstyle f = style_for(d, map, lk == NO_NODE ? NO_NODE : d->nodes[lk].start, lend);
  if (m->nkids == 0 && m->parent != NO_NODE) {
    f.json = json_ctx(d, m->parent);
  }
  size_t ind = lk != NO_NODE ? col_of(d, d->nodes[lk].start) : indent_of(d, m->start);
  /* the snippet's root is a one-pair mapping: render "key: value" */
  struct qcc_ytext b = {0};
  const struct ynode *r = &s->nodes[s->root];
  struct qcc_ytstyle inner = f;
  inner.ml = f.ml && !inline_values(d, map);
  const struct ynode *k = &s->nodes[r->kids[0]];
  if (f.json || !(k->style == YS_PLAIN && qcc_yt_plain_flow_safe(k->value)))
    qcc_yt_quoted(&b, k->value);
  else
    qcc_yt_str(&b, k->value);
  qcc_yt_str(&b, ": ");
  qcc_yt_flow(&b, s, r->kids[1], &inner, ind);
  char *entry = qcc_yt_take(&b);
  if (!entry)
    return qcc_err_set(err, ENOMEM, "out of memory");
  if (m->nkids == 0) {
    edit_add(&e, m->start + 1, m->start + 1, entry);
  } else {
    flow_insert_after(d, map, d->nodes[lk].start, lend, entry, &e);
  }
  return apply(d, &e, op, err);
}

/* LEAD, then the block chain for SEGS at column IND ending in OP's leaf;
 * without its last newline unless TRAILING_NL. NULL on out of memory. */
static char *chain_text(const char *lead, size_t ind, const char *const *segs, size_t k,
                        const struct yop *op, bool trailing_nl) {
  char *chain = qcc_ytree_chain(ind, segs, k, op->kind == YOP_SET ? op->leaf : NULL,
                                op->kind == YOP_APPEND ? op->leaf : NULL);
  if (!chain)
    return NULL;
  struct qcc_ytext b = {0};
  qcc_yt_str(&b, lead);
  qcc_yt_str(&b, chain);
  free(chain);
  if (!trailing_nl && !b.oom && b.len > 0 && b.p[b.len - 1] == '\n')
    b.p[--b.len] = '\0';
  return qcc_yt_take(&b);
}

/* Create the missing keys SEGS[0..k) under mapping MAP. */
static int create_in_map(struct qcc_yamldoc *d, size_t map, const char *const *segs, size_t k,
                         const struct yop *op, struct qcc_err *err) {
  struct ynode *m = &d->nodes[map];
  const char *scalar = op->kind == YOP_SET ? op->leaf : NULL;
  const char *item = op->kind == YOP_APPEND ? op->leaf : NULL;
  if (m->flow) {
    char *txt = qcc_ytree_chain(0, segs, k, scalar, item);
    if (!txt)
      return qcc_err_set(err, ENOMEM, "out of memory");
    struct qcc_yamldoc *s = NULL;
    int rc = qcc_yamldoc_parse(txt, strlen(txt), &s, err);
    free(txt);
    if (rc != 0)
      return qcc_err_wrap(err, "internal: the new entry does not parse");
    rc = insert_flow_pairs(d, map, s, op, err);
    qcc_yamldoc_free(&s);
    return rc;
  }
  size_t pos = line_after(d, content_end(d, map));
  bool nl = pos == d->len && d->len > 0 && d->text[d->len - 1] != '\n';
  return apply1(d, pos, pos, chain_text(nl ? "\n" : "", col_of(d, m->start), segs, k, op, true), op,
                err);
}

/* Create SEGS under the key whose value is the null scalar V. */
static int create_under_null(struct qcc_yamldoc *d, size_t v, const char *const *segs, size_t k,
                             const struct yop *op, struct qcc_err *err) {
  size_t p = d->nodes[v].parent;
  char at[48];
  where(d, d->nodes[v].start, at, sizeof at);
  if (p == NO_NODE || d->nodes[p].kind != QCC_YNODE_MAP || d->nodes[p].flow)
    return qcc_err_set(err, EINVAL, "%s: cannot add %s under an empty value here; edit it by hand",
                       at, segs[0]);
  size_t key = NO_NODE;
  for (size_t i = 1; i < d->nodes[p].nkids; i += 2)
    if (d->nodes[p].kids[i] == v)
      key = d->nodes[p].kids[i - 1];
  if (key == NO_NODE || !only_space_before(d, d->nodes[key].start))
    return qcc_err_set(err, EINVAL, "%s: cannot add %s under an empty value here; edit it by hand",
                       at, segs[0]);
  size_t pos = line_stop(d, d->nodes[v].end);
  return apply1(d, pos, pos,
                chain_text("\n", col_of(d, d->nodes[key].start) + 2, segs, k, op, false), op, err);
}

/* Walk PATH; on the first missing segment create the rest. FOUND gets the
 * node at PATH when it exists. */
static int walk_create(struct qcc_yamldoc *d, const struct yop *op, size_t *found,
                       struct qcc_err *err) {
  const char *const *path = op->path;
  size_t n = op->n;
  *found = NO_NODE;
  size_t cur = d->root;
  if (cur == NO_NODE) { /* empty document */
    bool nl = d->len > 0 && d->text[d->len - 1] != '\n';
    return apply1(d, d->len, d->len, chain_text(nl ? "\n" : "", 0, path, n, op, true), op, err);
  }
  for (size_t i = 0; i < n; i++) {
    struct ynode *x = &d->nodes[cur];
    if (x->alias || x->anchor)
      return refuse_shared(d, cur, path[i], err);
    size_t next = qcc_ytree_child(d, cur, path[i]);
    if (next != NO_NODE) {
      cur = next;
      continue;
    }
    char at[48];
    where(d, x->start, at, sizeof at);
    if (x->kind == QCC_YNODE_MAP)
      return create_in_map(d, cur, path + i, n - i, op, err);
    if (x->kind == QCC_YNODE_SEQ)
      return qcc_err_set(err, ENOENT, "no entry named \"%s\" in %s", path[i],
                         i ? path[i - 1] : "the document");
    if (x->empty && i > 0)
      return create_under_null(d, cur, path + i, n - i, op, err);
    return qcc_err_set(err, EINVAL, "%s: %s is %s, not a mapping", at,
                       i ? path[i - 1] : "the document", kind_name(x->kind));
  }
  *found = cur;
  return refuse_shared(d, cur, path[n - 1], err);
}

/* The value and style of scalar text S ("7861", "\"a b\""). */
static int parse_scalar(const char *s, struct qcc_yamldoc **out, struct qcc_err *err) {
  if (qcc_yamldoc_parse(s, strlen(s), out, err) != 0)
    return qcc_err_wrap(err, "not a YAML scalar: %s", s);
  if ((*out)->root == NO_NODE || (*out)->nodes[(*out)->root].kind != QCC_YNODE_SCALAR) {
    qcc_yamldoc_free(out);
    return qcc_err_set(err, EINVAL, "not a YAML scalar: %s", s);
  }
  return 0;
}

/* The text replacing scalar X with the value of S: the old quoting kept
 * where the value stays a string, JSON quoting in a JSON document. */
static char *replacement(const struct qcc_yamldoc *d, size_t x, const char *s) {
  struct qcc_yamldoc *sd = NULL;
  struct qcc_err ignore;
  if (parse_scalar(s, &sd, &ignore) != 0)
    return NULL;
  const struct ynode *v = &sd->nodes[sd->root];
  const struct ynode *o = &d->nodes[x];
  bool string = v->style != YS_PLAIN || !qcc_ytree_looks_typed(v->value);
  bool json = json_ctx(d, o->parent);
  struct qcc_ytext b = {0};
  if (v->empty) {
    qcc_yt_str(&b, s);
  } else if (json) {
    if (v->style == YS_PLAIN && qcc_yt_json_literal(v->value))
      qcc_yt_str(&b, v->value);
    else
      qcc_yt_quoted(&b, v->value);
  } else if (string && (o->style == YS_DOUBLE || o->style == YS_BLOCK)) {
    qcc_yt_quoted(&b, v->value);
  } else if (string && o->style == YS_SINGLE && qcc_yt_printable(v->value)) {
    qcc_yt_str(&b, "'");
    for (const char *p = v->value; *p; p++)
      qcc_yt_str(&b, *p == '\'' ? "''" : (char[]){*p, 0}); /* '' inside '...' */
    qcc_yt_str(&b, "'");
  } else if (string && v->style == YS_PLAIN && in_flow(d, x) && !qcc_yt_plain_flow_safe(v->value)) {
    qcc_yt_quoted(&b, v->value);
  } else {
    qcc_yt_str(&b, s);
  }
  qcc_yamldoc_free(&sd);
  return qcc_yt_take(&b);
}

int qcc_yamldoc_set(struct qcc_yamldoc *doc, const char *const *path, size_t n, const char *scalar,
                    struct qcc_err *err) {
  if (n == 0)
    return qcc_err_set(err, EINVAL, "empty key");
  struct yop op = {YOP_SET, path, n, scalar};
  size_t at;
  if (walk_create(doc, &op, &at, err) != 0)
    return -1;
  if (at == NO_NODE)
    return 0; /* created */
  struct ynode *x = &doc->nodes[at];
  char pos[48];
  where(doc, x->start, pos, sizeof pos);
  if (x->kind != QCC_YNODE_SCALAR)
    return qcc_err_set(err, EINVAL, "%s: %s is %s; set one of its keys instead", pos, path[n - 1],
                       kind_name(x->kind));
  size_t end = x->end;
  if (x->style == YS_BLOCK) {
    /* "key: |" and its lines become "key: NEW" on the key's line: from the
     * indicator to the end of the last text line; blank lines after stay */
    size_t hdr = line_stop(doc, x->start);
    if (comment_between(doc, x->start, hdr))
      return qcc_err_set(err, EINVAL,
                         "%s: %s is a block scalar with a comment on its first line; edit it by "
                         "hand",
                         pos, path[n - 1]);
    size_t l = x->end;
    while (l > hdr && strchr(" \t\r\n", doc->text[l - 1]))
      l--;
    end = l > hdr ? line_stop(doc, l - 1) : hdr;
  }
  if (x->empty && in_flow(doc, at))
    return qcc_err_set(err, EINVAL, "%s: %s has an empty value inside {...}; edit it by hand", pos,
                       path[n - 1]);
  char *r = replacement(doc, at, scalar);
  if (!r)
    return qcc_err_set(err, EINVAL, "not a YAML scalar: %s", scalar);
  if (x->empty) {
    char *ins = malloc(strlen(r) + 2);
    if (ins) {
      ins[0] = ' ';
      memcpy(ins + 1, r, strlen(r) + 1);
    }
    free(r);
    return apply1(doc, x->start, x->end, ins, &op, err);
  }
  return apply1(doc, x->start, end, r, &op, err);
}

/* ---- remove ---- */

/* The parent key of value node X in a mapping, or NO_NODE. */
static size_t key_of(const struct qcc_yamldoc *d, size_t x) {
  size_t p = d->nodes[x].parent;
  if (p == NO_NODE || d->nodes[p].kind != QCC_YNODE_MAP)
    return NO_NODE;
  for (size_t i = 1; i < d->nodes[p].nkids; i += 2)
    if (d->nodes[p].kids[i] == x)
      return d->nodes[p].kids[i - 1];
  return NO_NODE;
}

/* Remove entry J (first text START, last END) of flow collection C with N
 * entries whose starts and ends are STARTS/ENDS. */
static int remove_flow_entry(struct qcc_yamldoc *d, size_t c, size_t j, size_t n,
                             const size_t *starts, const size_t *ends, const struct yop *op,
                             struct qcc_err *err) {
  struct edit e = {0};
  size_t s = starts[j], t = ends[j];
  size_t q = skip_blank(d, t);
  bool comma = q < d->len && d->text[q] == ',';
  size_t after = comma ? skip_blank(d, q + 1) : q;
  bool eol =
      after >= d->len || d->text[after] == '\n' || d->text[after] == '\r' || d->text[after] == '#';
  char at[48];
  where(d, s, at, sizeof at);
  const struct ynode *cn = &d->nodes[c];
  bool own_lines = only_space_before(d, s) && eol && newline_between(d, t, cn->end);
  if (n == 1 && !comment_between(d, cn->start, cn->end)) { /* the only entry: {} or [] */
    edit_add(&e, cn->start, cn->end, strdup(cn->kind == QCC_YNODE_MAP ? "{}" : "[]"));
    return apply(d, &e, op, err);
  }
  if (n == 1 && !own_lines)
    return qcc_err_set(err, EINVAL, "%s: a comment sits inside this {...}/[...]; edit it by hand",
                       at);
  if (own_lines) {
    /* one entry per line: drop its lines; the last one takes the comma of
     * the one before unless the file writes trailing commas */
    edit_add(&e, line_start(d, s), line_after(d, t), strdup(""));
    if (j + 1 == n && j > 0 && !comma) {
      size_t pq = skip_blank(d, ends[j - 1]);
      if (pq < d->len && d->text[pq] == ',') {
        struct splice first = {pq, pq + 1, strdup("")};
        if (!first.ins)
          e.oom = true;
        e.sp[1] = e.sp[0];
        e.sp[0] = first;
        e.n = 2;
      }
    }
    return apply(d, &e, op, err);
  }
  size_t a, b;
  if (j + 1 < n) {
    a = s;
    b = starts[j + 1];
  } else {
    a = ends[j - 1];
    b = t;
  }
  if (comment_between(d, a, s) || comment_between(d, t, b))
    return qcc_err_set(err, EINVAL,
                       "%s: comments sit between the entries of this {...}/[...]; edit it by hand",
                       at);
  edit_add(&e, a, b, strdup(""));
  return apply(d, &e, op, err);
}

static int remove_node(struct qcc_yamldoc *d, size_t idx, const struct yop *op,
                       struct qcc_err *err) {
  size_t pi = d->nodes[idx].parent;
  if (pi == NO_NODE)
    return qcc_err_set(err, EINVAL, "cannot remove the whole document");
  const struct ynode *p = &d->nodes[pi];
  char at[48];
  where(d, d->nodes[idx].start, at, sizeof at);
  size_t stride = p->kind == QCC_YNODE_MAP ? 2 : 1;
  size_t j = 0;
  while (j < p->nkids && p->kids[j + stride - 1] != idx)
    j += stride;
  size_t ent = j / stride, nent = p->nkids / stride;
  if (p->kind == QCC_YNODE_MAP && nent == 1 && p->parent != NO_NODE)
    return remove_node(d, pi, op, err);
  if (p->flow) {
    size_t *starts = malloc(nent * sizeof *starts), *ends = malloc(nent * sizeof *ends);
    if (!starts || !ends) {
      free(starts);
      free(ends);
      return qcc_err_set(err, ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nent; i++) {
      starts[i] = d->nodes[p->kids[i * stride]].start;
      ends[i] = content_end(d, p->kids[i * stride + stride - 1]);
    }
    int rc = remove_flow_entry(d, pi, ent, nent, starts, ends, op, err);
    free(starts);
    free(ends);
    return rc;
  }
  if (p->kind == QCC_YNODE_MAP) {
    size_t key = p->kids[j];
    size_t ks = d->nodes[key].start;
    if (only_space_before(d, ks))
      return apply1(d, line_start(d, ks), line_after(d, content_end(d, idx)), strdup(""), op, err);
    if (j + 2 < p->nkids) /* first key of a "- key: v" item */
      return apply1(d, ks, d->nodes[p->kids[j + 2]].start, strdup(""), op, err);
    return qcc_err_set(err, EINVAL, "%s: cannot remove %s here; edit it by hand", at,
                       d->nodes[key].value);
  }
  /* block sequence item: its lines go */
  size_t dash = d->nodes[idx].start;
  while (dash > 0 && d->text[dash] != '-')
    dash--;
  if (d->text[dash] != '-' || !only_space_before(d, dash))
    return qcc_err_set(err, EINVAL, "%s: cannot remove this list item; edit it by hand", at);
  struct edit e = {0};
  size_t key = key_of(d, pi);
  if (nent == 1 && key != NO_NODE) /* the last one leaves "key: []" (comments stay) */
    edit_add(&e, after_colon(d, key), after_colon(d, key), strdup(" []"));
  edit_add(&e, line_start(d, dash), line_after(d, content_end(d, idx)), strdup(""));
  return apply(d, &e, op, err);
}

/* Anchors inside the subtree of N (removing it would orphan aliases). */
static size_t anchored_inside(const struct qcc_yamldoc *d, size_t n) {
  if (d->nodes[n].anchor)
    return n;
  for (size_t i = 0; i < d->nodes[n].nkids; i++) {
    size_t a = anchored_inside(d, d->nodes[n].kids[i]);
    if (a != NO_NODE)
      return a;
  }
  return NO_NODE;
}

int qcc_yamldoc_remove(struct qcc_yamldoc *doc, const char *const *path, size_t n,
                       struct qcc_err *err) {
  if (n == 0)
    return qcc_err_set(err, EINVAL, "empty key");
  size_t at = doc->root;
  for (size_t i = 0; i < n && at != NO_NODE; i++) {
    if (doc->nodes[at].alias)
      return refuse_shared(doc, at, path[n - 1], err);
    at = qcc_ytree_child(doc, at, path[i]);
  }
  if (at == NO_NODE)
    return qcc_err_set(err, ENOENT, "%s is not in the file", path[n - 1]);
  if (refuse_shared(doc, doc->nodes[at].parent, path[n - 1], err) != 0)
    return -1;
  size_t an = anchored_inside(doc, at);
  if (an != NO_NODE) {
    char pos[48];
    where(doc, doc->nodes[an].start, pos, sizeof pos);
    return qcc_err_set(err, EINVAL, "%s: %s holds the anchor &%s; edit it by hand", pos,
                       path[n - 1], doc->nodes[an].anchor);
  }
  struct yop op = {YOP_REMOVE, path, n, NULL};
  return remove_node(doc, at, &op, err);
}

/* ---- append ---- */

/* Append ITEM to flow sequence X. */
static int append_flow(struct qcc_yamldoc *d, size_t at, const struct yop *op,
                       struct qcc_err *err) {
  const struct ynode *x = &d->nodes[at];
  struct qcc_yamldoc *s = NULL;
  if (qcc_yamldoc_parse(op->leaf, strlen(op->leaf), &s, err) != 0)
    return qcc_err_wrap(err, "internal: the new item does not parse");
  if (s->root == NO_NODE) {
    qcc_yamldoc_free(&s);
    return qcc_err_set(err, EINVAL, "internal: empty item");
  }
  struct edit e = {0};
  struct qcc_ytext b = {0};
  if (x->nkids == 0) {
    /* "[]": the new item laid out like the mapping around it */
    size_t key = key_of(d, at), p = x->parent;
    struct qcc_ytstyle f = {.json = json_ctx(d, p != NO_NODE ? p : at), .ml = false, .step = 2};
    size_t ind = indent_of(d, x->start);
    if (key != NO_NODE && d->nodes[p].flow && !inline_values(d, p) &&
        flow_ml(d, p, d->nodes[key].start, content_end(d, at))) {
      f.ml = true;
      f.step = flow_step(d, p, col_of(d, d->nodes[key].start));
      ind = col_of(d, d->nodes[key].start);
    }
    qcc_yt_str(&b, "[");
    if (f.ml) {
      qcc_yt_str(&b, "\n");
      qcc_yt_spaces(&b, ind + f.step);
    }
    qcc_yt_flow(&b, s, s->root, &f, ind + f.step);
    if (f.ml) {
      qcc_yt_str(&b, "\n");
      qcc_yt_spaces(&b, ind);
    }
    qcc_yt_str(&b, "]");
    edit_add(&e, x->start, x->end, qcc_yt_take(&b));
  } else {
    size_t last = x->kids[x->nkids - 1];
    size_t ls = d->nodes[last].start, le = content_end(d, last);
    struct qcc_ytstyle f = style_for(d, at, ls, le);
    const struct ynode *l = &d->nodes[last];
    /* a multi-line item gets multi-line company */
    f.ml = f.ml && l->kind != QCC_YNODE_SCALAR && l->nkids > 0 && newline_between(d, ls, le);
    if (f.ml) {
      size_t first = d->nodes[l->kids[0]].start;
      f.step = col_of(d, first) > col_of(d, ls) ? col_of(d, first) - col_of(d, ls) : 2;
    }
    qcc_yt_flow(&b, s, s->root, &f, col_of(d, ls));
    char *entry = qcc_yt_take(&b);
    if (entry)
      flow_insert_after(d, at, ls, le, entry, &e);
    else
      e.oom = true;
  }
  qcc_yamldoc_free(&s);
  return apply(d, &e, op, err);
}

int qcc_yamldoc_append(struct qcc_yamldoc *doc, const char *const *path, size_t n, const char *item,
                       struct qcc_err *err) {
  if (n == 0)
    return qcc_err_set(err, EINVAL, "empty key");
  struct yop op = {YOP_APPEND, path, n, item};
  size_t at;
  if (walk_create(doc, &op, &at, err) != 0)
    return -1;
  if (at == NO_NODE)
    return 0; /* created with the item */
  struct ynode *x = &doc->nodes[at];
  char pos[48];
  where(doc, x->start, pos, sizeof pos);
  size_t key = key_of(doc, at);
  bool block_parent = key != NO_NODE && !doc->nodes[x->parent].flow;
  struct qcc_ytext b = {0};
  size_t a, e;
  if (x->kind == QCC_YNODE_SCALAR && x->empty && block_parent) {
    /* "key:" with no value gets a block list under it */
    a = e = line_stop(doc, x->end);
    qcc_yt_str(&b, "\n");
    qcc_yt_item(&b, col_of(doc, doc->nodes[key].start) + 2, item);
    if (b.len > 0)
      b.p[--b.len] = '\0';
  } else if (x->kind != QCC_YNODE_SEQ) {
    return qcc_err_set(err, EINVAL, "%s: %s is %s, not a list", pos, path[n - 1],
                       kind_name(x->kind));
  } else if (!x->flow) {
    a = e = line_after(doc, content_end(doc, at));
    if (a == doc->len && doc->len > 0 && doc->text[doc->len - 1] != '\n')
      qcc_yt_str(&b, "\n");
    qcc_yt_item(&b, col_of(doc, x->start), item);
  } else if (x->nkids == 0 && block_parent && !json_ctx(doc, at) &&
             only_space_before(doc, doc->nodes[key].start)) {
    /* "key: []" becomes a block list */
    a = after_colon(doc, key);
    e = x->end;
    qcc_yt_str(&b, "\n");
    qcc_yt_item(&b, col_of(doc, doc->nodes[key].start) + 2, item);
    if (b.len > 0)
      b.p[--b.len] = '\0';
  } else {
    return append_flow(doc, at, &op, err);
  }
  return apply1(doc, a, e, qcc_yt_take(&b), &op, err);
}

/* ---- paths ---- */

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
