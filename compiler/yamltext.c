/* Writing YAML text for edits (see yamltree.h): scalars quoted only where
 * they must be, with escapes both YAML and JSON read; keys; block items;
 * flow and JSON renderings of a snippet tree. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "textpos.h"
#include "yamltree.h"

/* ---- text buffer ---- */

void qcc_yt_add(struct qcc_ytext *b, const char *s, size_t n) {
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

void qcc_yt_str(struct qcc_ytext *b, const char *s) { qcc_yt_add(b, s, strlen(s)); }

void qcc_yt_spaces(struct qcc_ytext *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    qcc_yt_add(b, " ", 1);
}

/* The buffer's string (owned by the caller), or NULL on out of memory. */
char *qcc_yt_take(struct qcc_ytext *b) {
  if (b->oom) {
    free(b->p);
    return NULL;
  }
  return b->p ? b->p : strdup("");
}

/* ITEM (block YAML at column 0) as a sequence item: "- " at column DASH. */
void qcc_yt_item(struct qcc_ytext *b, size_t dash, const char *item) {
  bool first = true;
  const char *p = item;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (first) {
      qcc_yt_spaces(b, dash);
      qcc_yt_str(b, "- ");
    } else if (n > 0) {
      qcc_yt_spaces(b, dash + 2);
    }
    qcc_yt_add(b, p, n);
    qcc_yt_str(b, "\n");
    first = false;
    p += n + (nl ? 1 : 0);
  }
  if (first) { /* empty item */
    qcc_yt_spaces(b, dash);
    qcc_yt_str(b, "- {}\n");
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
bool qcc_yt_json_literal(const char *s) {
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
bool qcc_yt_printable_cp(unsigned long cp) {
  if (cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF)
    return false;
  return (cp >= 0x20 && cp <= 0x7E) || (cp >= 0xA0 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

bool qcc_yt_printable(const char *s) {
  for (size_t i = 0; s[i];) {
    size_t k;
    if (!qcc_yt_printable_cp(qcc_utf8_decode(s + i, &k)))
      return false;
    i += k;
  }
  return true;
}

bool qcc_yt_plain_safe(const char *s) {
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
  return qcc_yt_printable(s);
}

/* Plain inside {...} / [...] too: libyaml 0.2 also ends a flow plain scalar
 * at ':' before a flow indicator, so any ':' is quoted there. */
bool qcc_yt_plain_flow_safe(const char *s) { return qcc_yt_plain_safe(s) && !strchr(s, ':'); }

/* S double-quoted with escapes both YAML and JSON read: \" \\ \n \t \r and
 * \uXXXX for anything else libyaml would not take raw. S is valid UTF-8. */
void qcc_yt_quoted(struct qcc_ytext *b, const char *s) {
  qcc_yt_str(b, "\"");
  for (size_t i = 0; s[i];) {
    size_t k;
    unsigned long cp = qcc_utf8_decode(s + i, &k);
    char esc[16];
    if (cp == '"' || cp == '\\') {
      esc[0] = '\\';
      esc[1] = (char)cp;
      qcc_yt_add(b, esc, 2);
    } else if (cp == '\n') {
      qcc_yt_str(b, "\\n");
    } else if (cp == '\t') {
      qcc_yt_str(b, "\\t");
    } else if (cp == '\r') {
      qcc_yt_str(b, "\\r");
    } else if (!qcc_yt_printable_cp(cp) && cp <= 0xFFFF) {
      snprintf(esc, sizeof esc, "\\u%04lx", cp);
      qcc_yt_str(b, esc);
    } else {
      qcc_yt_add(b, s + i, k);
    }
    i += k;
  }
  qcc_yt_str(b, "\"");
}

char *qcc_yaml_scalar(const char *s, bool as_string) {
  if (qcc_utf8_valid_prefix(s, strlen(s)) != strlen(s)) {
    errno = EILSEQ;
    return NULL;
  }
  if (qcc_yt_plain_safe(s) && !(as_string && qcc_ytree_looks_typed(s)))
    return strdup(s);
  struct qcc_ytext b = {0};
  qcc_yt_quoted(&b, s);
  return qcc_yt_take(&b);
}

/* A key as block YAML writes it. */
void qcc_yt_key(struct qcc_ytext *b, const char *k) {
  if (qcc_yt_plain_safe(k) && !qcc_ytree_looks_typed(k) && !strchr(k, ':'))
    qcc_yt_str(b, k);
  else
    qcc_yt_quoted(b, k);
}

char *qcc_ytree_chain(size_t ind, const char *const *segs, size_t k, const char *scalar,
                      const char *item) {
  struct qcc_ytext b = {0};
  for (size_t j = 0; j < k; j++) {
    qcc_yt_spaces(&b, ind + 2 * j);
    qcc_yt_key(&b, segs[j]);
    qcc_yt_str(&b, ":");
    if (j + 1 < k) {
      qcc_yt_str(&b, "\n");
    } else if (item) {
      qcc_yt_str(&b, "\n");
      qcc_yt_item(&b, ind + 2 * j + 2, item);
    } else {
      qcc_yt_str(&b, " ");
      qcc_yt_str(&b, scalar);
      qcc_yt_str(&b, "\n");
    }
  }
  if (k == 0) {
    if (item)
      qcc_yt_item(&b, ind, item);
    else {
      qcc_yt_str(&b, scalar);
      qcc_yt_str(&b, "\n");
    }
  }
  return qcc_yt_take(&b);
}

/* In JSON, JSON literals stay plain and everything else is double-quoted
 * (the loader reads a value's text, quoted or not; only null needs plain).
 * Elsewhere typed plain values stay plain, strings are plain where safe. */
void qcc_yt_flow_scalar(struct qcc_ytext *b, const struct ynode *x, bool json) {
  bool typed = x->style == YS_PLAIN && qcc_ytree_looks_typed(x->value);
  if (x->style == YS_PLAIN && x->empty)
    qcc_yt_str(b, "null");
  else if (json ? x->style == YS_PLAIN && qcc_yt_json_literal(x->value)
                : typed || (x->style == YS_PLAIN && qcc_yt_plain_flow_safe(x->value)))
    qcc_yt_str(b, x->value);
  else
    qcc_yt_quoted(b, x->value);
}

void qcc_yt_flow(struct qcc_ytext *b, const struct qcc_yamldoc *s, size_t n,
                 const struct qcc_ytstyle *f, size_t ind) {
  const struct ynode *x = &s->nodes[n];
  if (x->kind == QCC_YNODE_SCALAR) {
    qcc_yt_flow_scalar(b, x, f->json);
    return;
  }
  bool map = x->kind == QCC_YNODE_MAP;
  if (x->nkids == 0) {
    qcc_yt_str(b, map ? "{}" : "[]");
    return;
  }
  qcc_yt_str(b, map ? "{" : "[");
  size_t stride = map ? 2 : 1;
  for (size_t i = 0; i < x->nkids; i += stride) {
    if (f->ml) {
      qcc_yt_str(b, "\n");
      qcc_yt_spaces(b, ind + f->step);
    }
    if (map) {
      const struct ynode *k = &s->nodes[x->kids[i]];
      if (f->json || !(k->style == YS_PLAIN && qcc_yt_plain_flow_safe(k->value)))
        qcc_yt_quoted(b, k->value);
      else
        qcc_yt_str(b, k->value);
      qcc_yt_str(b, ": ");
    }
    qcc_yt_flow(b, s, x->kids[i + stride - 1], f, ind + f->step);
    if (i + stride < x->nkids)
      qcc_yt_str(b, f->ml ? "," : ", ");
  }
  if (f->ml) {
    qcc_yt_str(b, "\n");
    qcc_yt_spaces(b, ind);
  }
  qcc_yt_str(b, map ? "}" : "]");
}
