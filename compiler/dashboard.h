/* qccc dashboard [--no-open] [--state-dir DIR]: ask the running qcc-run
 * (admin socket, owner-only) for a single-use login link to its status page
 * (docs/status-page.md), print it, and open it in a browser when one can be
 * started (xdg-open and a display), unless --no-open. */
#ifndef QCC_COMPILER_DASHBOARD_H
#define QCC_COMPILER_DASHBOARD_H

#include <stdio.h>

int qccc_dashboard_cmd(int argc, char **argv, FILE *out, FILE *err);

#endif
