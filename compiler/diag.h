/* Diagnostics: every config error and warning of one run, collected in order,
 * printed by main in one of three formats. Low-level code fills a diag with
 * the what; the caller that knows the node adds the where. */
#ifndef QCC_COMPILER_DIAG_H
#define QCC_COMPILER_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

enum qcc_diag_severity { QCC_DIAG_ERROR, QCC_DIAG_WARNING };
enum qcc_diag_format { QCC_DIAG_TEXT, QCC_DIAG_JSON, QCC_DIAG_GITHUB };

struct qcc_diags;

struct qcc_diags *qcc_diags_new(void);
void qcc_diags_free(struct qcc_diags **d);

/* Record one diagnostic. span = length of the marked token (0 -> 1).
 * hint may be NULL. Messages never contain secret values. */
void qcc_diag_add(struct qcc_diags *d, enum qcc_diag_severity sev, struct qcc_pos pos,
                  unsigned span, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

size_t qcc_diags_errors(const struct qcc_diags *d);
size_t qcc_diags_warnings(const struct qcc_diags *d);
/* Turn warnings into errors (--strict). */
void qcc_diags_promote_warnings(struct qcc_diags *d);

/* TEXT: "FILE:LINE:COL: error: MSG", the source line, a ^~~ marker, "  hint: ..."
 * JSON: one array of {file,line,col,severity,message,hint}
 * GITHUB: "::error file=F,line=L,col=C::MSG" annotations */
void qcc_diags_print(const struct qcc_diags *d, enum qcc_diag_format fmt, FILE *out);

#endif
