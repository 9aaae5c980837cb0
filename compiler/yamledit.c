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
#include <yaml.h>

#include "textpos.h"
#include "yamltree.h"

#define NO_NODE QCC_NO_NODE
/* Cap on nodes so a hostile file cannot make us allocate without bound. */
#define MAX_NODES 1000000u

/* ---- tree ---- */

static void nodes_clear(struct qcc_yamldoc *d) {
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

  nodes_clear(d);
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

/* ---- text buffer ---- */

struct sbuf {
  char *p;
  size_t len, cap;
  bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 64;
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

/* The buffer's string (owned by the caller), or NULL on out of memory. */
static char *sb_take(struct sbuf *b) {
  if (b->oom) {
    free(b->p);
    return NULL;
  }
  return b->p ? b->p : strdup("");
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

/* ---- scalars ---- */

bool qcc_ytree_looks_typed(const char *s) {
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

/* A JSON literal: number, true, false, null (plain in JSON too). */
static bool json_literal(const char *s) {
  if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null"))
    return true;
  const char *p = s;
  if (*p == '-')
    p++;
  if (!isdigit((unsigned char)*p) || (p[0] == '0' && isdigit((unsigned char)p[1])))
    return false;
  while (isdigit((unsigned char)*p))
    p++;
  if (*p == '.') {
    if (!isdigit((unsigned char)*++p))
      return false;
    while (isdigit((unsigned char)*p))
      p++;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-')
      p++;
    if (!isdigit((unsigned char)*p))
      return false;
    while (isdigit((unsigned char)*p))
      p++;
  }
  return *p == '\0';
}

/* Characters libyaml refuses to read raw (or reads as a line break). */
static bool printable(unsigned long cp) {
  if (cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF)
    return false;
  return (cp >= 0x20 && cp <= 0x7E) || (cp >= 0xA0 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

static bool all_printable(const char *s) {
  for (size_t i = 0; s[i];) {
    size_t k;
    if (!printable(qcc_utf8_decode(s + i, &k)))
      return false;
    i += k;
  }
  return true;
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
  return all_printable(s);
}

/* Plain inside {...} / [...] too: libyaml 0.2 also ends a flow plain scalar
 * at ':' before a flow indicator, so any ':' is quoted there. */
static bool plain_flow_safe(const char *s) { return plain_safe(s) && !strchr(s, ':'); }

/* S double-quoted with escapes both YAML and JSON read: \" \\ \n \t \r and
 * \uXXXX for anything else libyaml would not take raw. S is valid UTF-8. */
static void sb_quoted(struct sbuf *b, const char *s) {
  sb_str(b, "\"");
  for (size_t i = 0; s[i];) {
    size_t k;
    unsigned long cp = qcc_utf8_decode(s + i, &k);
    char esc[16];
    if (cp == '"' || cp == '\\') {
      esc[0] = '\\';
      esc[1] = (char)cp;
      sb_add(b, esc, 2);
    } else if (cp == '\n') {
      sb_str(b, "\\n");
    } else if (cp == '\t') {
      sb_str(b, "\\t");
    } else if (cp == '\r') {
      sb_str(b, "\\r");
    } else if (!printable(cp) && cp <= 0xFFFF) {
      snprintf(esc, sizeof esc, "\\u%04lx", cp);
      sb_str(b, esc);
    } else {
      sb_add(b, s + i, k);
    }
    i += k;
  }
  sb_str(b, "\"");
}

char *qcc_yaml_scalar(const char *s, bool as_string) {
  if (qcc_utf8_valid_prefix(s, strlen(s)) != strlen(s)) {
    errno = EILSEQ;
    return NULL;
  }
  if (plain_safe(s) && !(as_string && qcc_ytree_looks_typed(s)))
    return strdup(s);
  struct sbuf b = {0};
  sb_quoted(&b, s);
  return sb_take(&b);
}

/* A key as block YAML writes it. */
static void sb_key(struct sbuf *b, const char *k) {
  if (plain_safe(k) && !qcc_ytree_looks_typed(k) && !strchr(k, ':'))
    sb_str(b, k);
  else
    sb_quoted(b, k);
}

char *qcc_ytree_chain(size_t ind, const char *const *segs, size_t k, const char *scalar,
                      const char *item) {
  struct sbuf b = {0};
  for (size_t j = 0; j < k; j++) {
    sb_spaces(&b, ind + 2 * j);
    sb_key(&b, segs[j]);
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
  if (k == 0) {
    if (item)
      sb_item(&b, ind, item);
    else {
      sb_str(&b, scalar);
      sb_str(&b, "\n");
    }
  }
  return sb_take(&b);
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
static void sb_ins(struct sbuf *b, const char *ins, bool crlf) {
  for (const char *p = ins; *p; p++) {
    if (*p == '\n' && crlf && (p == ins || p[-1] != '\r'))
      sb_add(b, "\r", 1);
    sb_add(b, p, 1);
  }
}

/* Apply E to the text, parse the result and check it is the old tree with
 * OP applied; only then keep it. On any failure the document is unchanged. */
static int apply(struct qcc_yamldoc *d, struct edit *e, const struct yop *op,
                 struct qcc_err *err) {
  if (e->oom) {
    edit_free(e);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  bool crlf = uses_crlf(d);
  struct sbuf b = {0};
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
    sb_add(&b, d->text + at, s->a - at);
    sb_ins(&b, s->ins, crlf);
    at = s->b;
  }
  sb_add(&b, d->text + at, d->len - at);
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
  nodes_clear(d);
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

struct fstyle {
  bool json, ml;
  size_t step;
};

/* In JSON, JSON literals stay plain and everything else is double-quoted
 * (the loader reads a value's text, quoted or not; only null needs plain).
 * Elsewhere typed plain values stay plain, strings are plain where safe. */
static void sb_flow_scalar(struct sbuf *b, const struct ynode *x, bool json) {
  bool typed = x->style == YS_PLAIN && qcc_ytree_looks_typed(x->value);
  if (x->style == YS_PLAIN && x->empty)
    sb_str(b, "null");
  else if (json ? x->style == YS_PLAIN && json_literal(x->value)
                : typed || (x->style == YS_PLAIN && plain_flow_safe(x->value)))
    sb_str(b, x->value);
  else
    sb_quoted(b, x->value);
}

static void sb_flow(struct sbuf *b, const struct qcc_yamldoc *s, size_t n, const struct fstyle *f,
                    size_t ind) {
  const struct ynode *x = &s->nodes[n];
  if (x->kind == QCC_YNODE_SCALAR) {
    sb_flow_scalar(b, x, f->json);
    return;
  }
  bool map = x->kind == QCC_YNODE_MAP;
  if (x->nkids == 0) {
    sb_str(b, map ? "{}" : "[]");
    return;
  }
  sb_str(b, map ? "{" : "[");
  size_t stride = map ? 2 : 1;
  for (size_t i = 0; i < x->nkids; i += stride) {
    if (f->ml) {
      sb_str(b, "\n");
      sb_spaces(b, ind + f->step);
    }
    if (map) {
      const struct ynode *k = &s->nodes[x->kids[i]];
      if (f->json || !(k->style == YS_PLAIN && plain_flow_safe(k->value)))
        sb_quoted(b, k->value);
      else
        sb_str(b, k->value);
      sb_str(b, ": ");
    }
    sb_flow(b, s, x->kids[i + stride - 1], f, ind + f->step);
    if (i + stride < x->nkids)
      sb_str(b, f->ml ? "," : ", ");
  }
  if (f->ml) {
    sb_str(b, "\n");
    sb_spaces(b, ind);
  }
  sb_str(b, map ? "}" : "]");
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
  struct sbuf b = {0};
  if (flow_ml(d, c, start, end)) {
    sb_str(&b, "\n");
    sb_spaces(&b, col_of(d, start));
    sb_str(&b, entry);
    if (comma) {
      sb_str(&b, ",");
      edit_add(e, line_stop(d, q), line_stop(d, q), sb_take(&b));
    } else {
      edit_add(e, end, end, strdup(","));
      edit_add(e, line_stop(d, end), line_stop(d, end), sb_take(&b));
    }
  } else if (comma) {
    sb_str(&b, " ");
    sb_str(&b, entry);
    sb_str(&b, ",");
    edit_add(e, q + 1, q + 1, sb_take(&b));
  } else {
    sb_str(&b, ", ");
    sb_str(&b, entry);
    edit_add(e, end, end, sb_take(&b));
  }
  free(entry);
}

/* The flow style for a new entry of collection C (last entry START..END). */
static struct fstyle style_for(const struct qcc_yamldoc *d, size_t c, size_t start, size_t end) {
  struct fstyle f = {.json = json_ctx(d, c), .ml = false, .step = 2};
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
  struct fstyle f = style_for(d, map, lk == NO_NODE ? NO_NODE : d->nodes[lk].start, lend);
  if (m->nkids == 0 && m->parent != NO_NODE) {
    f.json = json_ctx(d, m->parent);
  }
  size_t ind = lk != NO_NODE ? col_of(d, d->nodes[lk].start) : indent_of(d, m->start);
  /* the snippet's root is a one-pair mapping: render "key: value" */
  struct sbuf b = {0};
  const struct ynode *r = &s->nodes[s->root];
  struct fstyle inner = f;
  const struct ynode *k = &s->nodes[r->kids[0]];
  if (f.json || !(k->style == YS_PLAIN && plain_flow_safe(k->value)))
    sb_quoted(&b, k->value);
  else
    sb_str(&b, k->value);
  sb_str(&b, ": ");
  sb_flow(&b, s, r->kids[1], &inner, ind);
  char *entry = sb_take(&b);
  if (!entry)
    return qcc_err_set(err, ENOMEM, "out of memory");
  if (m->nkids == 0) {
    edit_add(&e, m->start + 1, m->start + 1, entry);
  } else {
    flow_insert_after(d, map, d->nodes[lk].start, lend, entry, &e);
  }
  return apply(d, &e, op, err);
}

/* Create the missing keys SEGS[0..k) under mapping MAP. */
static int create_in_map(struct qcc_yamldoc *d, size_t map, const char *const *segs, size_t k,
                         const struct yop *op, struct qcc_err *err) {
  struct ynode *m = &d->nodes[map];
  const char *scalar = op->kind == YOP_SET ? op->leaf : NULL;
  const char *item = op->kind == YOP_APPEND ? op->leaf : NULL;
  if (m->flow) {
    char *txt = qcc_ytree_chain(0, segs, k, scalar, item);
    struct qcc_yamldoc *s = NULL;
    int rc = txt ? qcc_yamldoc_parse(txt, strlen(txt), &s, err) : -1;
    free(txt);
    if (rc != 0)
      return qcc_err_wrap(err, "internal: the new entry does not parse");
    rc = insert_flow_pairs(d, map, s, op, err);
    qcc_yamldoc_free(&s);
    return rc;
  }
  size_t ind = col_of(d, m->start);
  size_t pos = line_after(d, content_end(d, map));
  struct sbuf b = {0};
  if (pos == d->len && d->len > 0 && d->text[d->len - 1] != '\n')
    sb_str(&b, "\n");
  char *chain = qcc_ytree_chain(ind, segs, k, scalar, item);
  if (chain)
    sb_str(&b, chain);
  free(chain);
  return apply1(d, pos, pos, chain ? sb_take(&b) : (free(b.p), NULL), op, err);
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
  size_t ind = col_of(d, d->nodes[key].start) + 2;
  size_t pos = line_stop(d, d->nodes[v].end);
  char *chain = qcc_ytree_chain(ind, segs, k, op->kind == YOP_SET ? op->leaf : NULL,
                                op->kind == YOP_APPEND ? op->leaf : NULL);
  struct sbuf b = {0};
  sb_str(&b, "\n");
  if (chain) {
    sb_str(&b, chain);
    if (b.len > 0 && b.p[b.len - 1] == '\n')
      b.p[--b.len] = '\0';
  }
  free(chain);
  return apply1(d, pos, pos, chain ? sb_take(&b) : (free(b.p), NULL), op, err);
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
    char *chain = qcc_ytree_chain(0, path, n, op->kind == YOP_SET ? op->leaf : NULL,
                                  op->kind == YOP_APPEND ? op->leaf : NULL);
    struct sbuf b = {0};
    if (d->len > 0 && d->text[d->len - 1] != '\n')
      sb_str(&b, "\n");
    if (chain)
      sb_str(&b, chain);
    free(chain);
    return apply1(d, d->len, d->len, chain ? sb_take(&b) : (free(b.p), NULL), op, err);
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
  struct sbuf b = {0};
  if (v->empty) {
    sb_str(&b, s);
  } else if (json) {
    if (v->style == YS_PLAIN && json_literal(v->value))
      sb_str(&b, v->value);
    else
      sb_quoted(&b, v->value);
  } else if (string && o->style == YS_DOUBLE) {
    sb_quoted(&b, v->value);
  } else if (string && o->style == YS_SINGLE && all_printable(v->value)) {
    sb_str(&b, "'");
    for (const char *p = v->value; *p; p++)
      sb_str(&b, *p == '\'' ? "''" : (char[]){*p, 0}); /* '' inside '...' */
    sb_str(&b, "'");
  } else if (string && v->style == YS_PLAIN && in_flow(d, x) && !plain_flow_safe(v->value)) {
    sb_quoted(&b, v->value);
  } else {
    sb_str(&b, s);
  }
  qcc_yamldoc_free(&sd);
  return sb_take(&b);
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
  if (x->style == YS_BLOCK)
    return qcc_err_set(err, EINVAL, "%s: %s is a block scalar (| or >); edit it by hand", pos,
                       path[n - 1]);
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
  return apply1(doc, x->start, x->end, r, &op, err);
}

/* ---- remove ---- */

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
  bool eol = after >= d->len || d->text[after] == '\n' || d->text[after] == '\r' ||
             d->text[after] == '#';
  char at[48];
  where(d, s, at, sizeof at);
  if (only_space_before(d, s) && eol && newline_between(d, t, d->nodes[c].end)) {
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
  if (p->kind == QCC_YNODE_MAP && nent == 1) {
    if (p->parent != NO_NODE)
      return remove_node(d, pi, op, err);
    if (p->flow)
      return apply1(d, p->start, p->end, strdup("{}"), op, err);
  }
  if (p->flow) {
    if (nent == 1)
      return apply1(d, p->start, p->end, strdup(p->kind == QCC_YNODE_MAP ? "{}" : "[]"), op, err);
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
  /* block sequence item */
  if (nent == 1 && p->parent != NO_NODE && d->nodes[p->parent].kind == QCC_YNODE_MAP) {
    const struct ynode *gp = &d->nodes[p->parent];
    for (size_t i = 1; i < gp->nkids; i += 2)
      if (gp->kids[i] == pi)
        return apply1(d, after_colon(d, gp->kids[i - 1]), line_stop(d, content_end(d, idx)),
                      strdup(" []"), op, err);
  }
  size_t dash = d->nodes[idx].start;
  while (dash > 0 && d->text[dash] != '-')
    dash--;
  if (d->text[dash] != '-' || !only_space_before(d, dash))
    return qcc_err_set(err, EINVAL, "%s: cannot remove this list item; edit it by hand", at);
  return apply1(d, line_start(d, dash), line_after(d, content_end(d, idx)), strdup(""), op, err);
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
  struct sbuf b = {0};
  if (x->nkids == 0) {
    /* "[]": the new item laid out like the mapping around it */
    size_t key = key_of(d, at), p = x->parent;
    struct fstyle f = {.json = json_ctx(d, p != NO_NODE ? p : at), .ml = false, .step = 2};
    size_t ind = indent_of(d, x->start);
    if (key != NO_NODE && d->nodes[p].flow &&
        flow_ml(d, p, d->nodes[key].start, content_end(d, at))) {
      f.ml = true;
      f.step = flow_step(d, p, col_of(d, d->nodes[key].start));
      ind = col_of(d, d->nodes[key].start);
    }
    sb_str(&b, "[");
    if (f.ml) {
      sb_str(&b, "\n");
      sb_spaces(&b, ind + f.step);
    }
    sb_flow(&b, s, s->root, &f, ind + f.step);
    if (f.ml) {
      sb_str(&b, "\n");
      sb_spaces(&b, ind);
    }
    sb_str(&b, "]");
    edit_add(&e, x->start, x->end, sb_take(&b));
  } else {
    size_t last = x->kids[x->nkids - 1];
    size_t ls = d->nodes[last].start, le = content_end(d, last);
    struct fstyle f = style_for(d, at, ls, le);
    const struct ynode *l = &d->nodes[last];
    /* a multi-line item gets multi-line company */
    f.ml = f.ml && l->kind != QCC_YNODE_SCALAR && l->nkids > 0 && newline_between(d, ls, le);
    if (f.ml) {
      size_t first = d->nodes[l->kids[0]].start;
      f.step = col_of(d, first) > col_of(d, ls) ? col_of(d, first) - col_of(d, ls) : 2;
    }
    sb_flow(&b, s, s->root, &f, col_of(d, ls));
    char *entry = sb_take(&b);
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
  struct sbuf b = {0};
  size_t a, e;
  if (x->kind == QCC_YNODE_SCALAR && x->empty && block_parent) {
    /* "key:" with no value gets a block list under it */
    a = e = line_stop(doc, x->end);
    sb_str(&b, "\n");
    sb_item(&b, col_of(doc, doc->nodes[key].start) + 2, item);
    if (b.len > 0)
      b.p[--b.len] = '\0';
  } else if (x->kind != QCC_YNODE_SEQ) {
    return qcc_err_set(err, EINVAL, "%s: %s is %s, not a list", pos, path[n - 1],
                       kind_name(x->kind));
  } else if (!x->flow) {
    a = e = line_after(doc, content_end(doc, at));
    if (a == doc->len && doc->len > 0 && doc->text[doc->len - 1] != '\n')
      sb_str(&b, "\n");
    sb_item(&b, col_of(doc, x->start), item);
  } else if (x->nkids == 0 && block_parent && !json_ctx(doc, at) &&
             only_space_before(doc, doc->nodes[key].start)) {
    /* "key: []" becomes a block list */
    a = after_colon(doc, key);
    e = x->end;
    sb_str(&b, "\n");
    sb_item(&b, col_of(doc, doc->nodes[key].start) + 2, item);
    if (b.len > 0)
      b.p[--b.len] = '\0';
  } else {
    return append_flow(doc, at, &op, err);
  }
  return apply1(doc, a, e, sb_take(&b), &op, err);
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
