/* The TODAY cell of `qccc endpoint list` and the today lines of `qccc
 * status`: an endpoint's tokens and priced cost today and the share left of
 * its tightest budget cap, from GET /endpoints' (or GET /status spending's)
 * `today` and `budget` objects (docs/admin-api.md). One function so it can
 * move with the command that prints it. */
#ifndef QCC_COMPILER_TODAYCELL_H
#define QCC_COMPILER_TODAYCELL_H

#include <stddef.h>

#include <jansson.h>

/* "1.2M tok $3.41 62% left", "35 tok $0.0003 budget spent", "-" without data. */
void qccc_today_cell(const json_t *e, char *out, size_t cap);

#endif
