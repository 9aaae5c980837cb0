/* Character index <-> byte offset over UTF-8 text (see textpos.h). */
#include "textpos.h"

#include <stdlib.h>

struct qcc_textpos {
  const unsigned char *text;
  size_t len;
  size_t start;    /* first byte after a BOM */
  size_t ch, byte; /* cursor: character CH starts at BYTE */
};

static bool cont(unsigned char c) { return (c & 0xC0) == 0x80; }

struct qcc_textpos *qcc_textpos_new(const char *text, size_t len) {
  struct qcc_textpos *tp = calloc(1, sizeof *tp);
  if (!tp)
    return NULL;
  tp->text = (const unsigned char *)text;
  tp->len = len;
  if (len >= 3 && tp->text[0] == 0xEF && tp->text[1] == 0xBB && tp->text[2] == 0xBF)
    tp->start = 3;
  tp->byte = tp->start;
  return tp;
}

void qcc_textpos_free(struct qcc_textpos **tp) {
  if (!tp)
    return;
  free(*tp);
  *tp = NULL;
}

size_t qcc_textpos_byte(struct qcc_textpos *tp, size_t ch) {
  /* far behind the cursor: restart from the top rather than walk back */
  if (ch < tp->ch / 2) {
    tp->ch = 0;
    tp->byte = tp->start;
  }
  while (tp->ch < ch && tp->byte < tp->len) {
    tp->byte++;
    while (tp->byte < tp->len && cont(tp->text[tp->byte]))
      tp->byte++;
    tp->ch++;
  }
  while (tp->ch > ch && tp->byte > tp->start) {
    tp->byte--;
    while (tp->byte > tp->start && cont(tp->text[tp->byte]))
      tp->byte--;
    tp->ch--;
  }
  return tp->byte;
}

void qcc_textpos_linecol(const char *text, size_t len, size_t pos, size_t *line, size_t *col) {
  size_t l = 1, c = 1;
  const unsigned char *t = (const unsigned char *)text;
  for (size_t i = len >= 3 && t[0] == 0xEF && t[1] == 0xBB && t[2] == 0xBF ? 3 : 0;
       i < pos && i < len; i++) {
    if (t[i] == '\n') {
      l++;
      c = 1;
    } else if (!cont(t[i])) {
      c++;
    }
  }
  *line = l;
  *col = c;
}

size_t qcc_utf8_valid_prefix(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    size_t k;
    unsigned long cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      k = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      k = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      k = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return i;
    }
    if (i + k > n)
      return i;
    for (size_t j = 1; j < k; j++) {
      if (!cont(p[i + j]))
        return i;
      cp = cp << 6 | (p[i + j] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += k;
  }
  return n;
}

unsigned long qcc_utf8_decode(const char *s, size_t *len) {
  const unsigned char *p = (const unsigned char *)s;
  if (p[0] < 0x80) {
    *len = 1;
    return p[0];
  }
  size_t k = (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : 4;
  unsigned long cp = p[0] & (k == 2 ? 0x1F : k == 3 ? 0x0F : 0x07);
  for (size_t j = 1; j < k; j++)
    cp = cp << 6 | (p[j] & 0x3F);
  *len = k;
  return cp;
}
