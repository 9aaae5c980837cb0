/* A text table for qccc's human output: rows of cells collected, then
 * printed in aligned columns (display width = UTF-8 characters), fitted to a
 * width by cutting text columns with "…" (the --wide flag prints them whole).
 *
 *   struct qccc_texttable t = {.cols = 3};
 *   t.right[1] = true;                       // numbers align right
 *   qccc_texttable_row(&t, "ID", "N", "NOTE");
 *   qccc_texttable_print(&t, stdout, "", 100); // also frees the cells */
#ifndef QCC_COMPILER_TEXTTABLE_H
#define QCC_COMPILER_TEXTTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define QCCC_TEXTTABLE_MAX_COLS 12

struct qccc_texttable {
  size_t cols; /* set before the first row, at most QCCC_TEXTTABLE_MAX_COLS */
  bool right[QCCC_TEXTTABLE_MAX_COLS];
  size_t cut_first; /* 1 + a column to narrow before any other (a URL); 0 = none */
  size_t rows, cap;
  char **cells;
};

/* One row: COLS strings (NULL or "" print as "-"). A row that cannot be
 * stored (no memory) is left out. */
void qccc_texttable_row(struct qccc_texttable *t, ...);
/* Print after INDENT, then free the cells. FIT > 0: narrow text columns (never
 * below 8) until each line fits FIT columns. */
void qccc_texttable_print(struct qccc_texttable *t, FILE *out, const char *indent, size_t fit);
void qccc_texttable_free(struct qccc_texttable *t);
/* One free-text LINE, then TAIL (never cut, may be ""), then a newline;
 * LINE is cut with "…" so the whole fits FIT display columns (0 = whole):
 * the lines printed around a table fit as it does. */
void qccc_texttable_line(FILE *out, const char *line, const char *tail, size_t fit);

#endif
