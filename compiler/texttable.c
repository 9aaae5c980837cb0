/* Aligned text tables (texttable.h). */
#include "compiler/texttable.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CUT 8 /* a column is never cut narrower than this */

void qccc_texttable_row(struct qccc_texttable *t, ...) {
  if (t->cols == 0 || t->cols > QCCC_TEXTTABLE_MAX_COLS) return;
  if (t->rows == t->cap) {
    size_t nc = t->cap == 0 ? 16 : t->cap * 2;
    char **n = realloc(t->cells, nc * t->cols * sizeof *n);
    if (n == NULL) return;
    t->cells = n;
    t->cap = nc;
  }
  va_list ap;
  va_start(ap, t);
  for (size_t i = 0; i < t->cols; i++) {
    const char *s = va_arg(ap, const char *);
    t->cells[t->rows * t->cols + i] = strdup(s != NULL && s[0] != '\0' ? s : "-");
  }
  va_end(ap);
  t->rows++;
}

/* Display width: count UTF-8 lead bytes. */
static size_t width(const char *s) {
  size_t w = 0;
  for (; s != NULL && *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) w++;
  return w;
}

void qccc_texttable_free(struct qccc_texttable *t) {
  for (size_t k = 0; k < t->rows * t->cols; k++) free(t->cells[k]);
  free(t->cells);
  t->cells = NULL;
  t->rows = t->cap = 0;
}

/* S in W display columns: padded, or cut at a character boundary with "…". */
static void put_cell(FILE *out, const char *s, size_t w, bool right, bool last) {
  size_t sw = width(s);
  if (sw > w) {
    size_t keep = w > 0 ? w - 1 : 0, n = 0;
    const char *p = s;
    for (; *p; p++) {
      if (((unsigned char)*p & 0xC0) != 0x80) {
        if (n == keep) break;
        n++;
      }
    }
    fprintf(out, "%.*s%s", (int)(p - s), s, w > 0 ? "…" : "");
    return;
  }
  size_t pad = w - sw;
  if (right) fprintf(out, "%*s%s", (int)pad, "", s);
  else fprintf(out, "%s%*s", s, last ? 0 : (int)pad, "");
}

void qccc_texttable_print(struct qccc_texttable *t, FILE *out, const char *indent, size_t fit) {
  if (t->cols == 0 || t->cols > QCCC_TEXTTABLE_MAX_COLS) return;
  size_t w[QCCC_TEXTTABLE_MAX_COLS] = {0};
  for (size_t r = 0; r < t->rows; r++)
    for (size_t i = 0; i < t->cols; i++) {
      size_t cw = width(t->cells[r * t->cols + i]);
      if (cw > w[i]) w[i] = cw;
    }
  size_t total = strlen(indent) + 2 * (t->cols - 1);
  for (size_t i = 0; i < t->cols; i++) total += w[i];
  /* The preferred column first, then the widest text column, a step at a time. */
  size_t cf = t->cut_first;
  while (fit > 0 && total > fit && cf > 0 && cf <= t->cols && w[cf - 1] > MIN_CUT) {
    w[cf - 1]--;
    total--;
  }
  while (fit > 0 && total > fit) {
    size_t best = t->cols;
    for (size_t i = 0; i < t->cols; i++)
      if (!t->right[i] && w[i] > MIN_CUT && (best == t->cols || w[i] > w[best])) best = i;
    if (best == t->cols) break;
    w[best]--;
    total--;
  }
  for (size_t r = 0; r < t->rows; r++) {
    fputs(indent, out);
    for (size_t i = 0; i < t->cols; i++) {
      const char *s = t->cells[r * t->cols + i] != NULL ? t->cells[r * t->cols + i] : "-";
      bool last = i + 1 == t->cols;
      put_cell(out, s, w[i], t->right[i], last);
      if (!last) fputs("  ", out);
    }
    fputc('\n', out);
  }
  qccc_texttable_free(t);
}

void qccc_texttable_line(FILE *out, const char *line, const char *tail, size_t fit) {
  size_t tw = width(tail);
  if (fit == 0 || width(line) + tw <= fit) fputs(line, out);
  else put_cell(out, line, fit > tw + MIN_CUT ? fit - tw : MIN_CUT, false, true);
  fputs(tail, out);
  fputc('\n', out);
}
