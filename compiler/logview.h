/* `qccc logs --errors` and `qccc logs --all`: qcc-run's error log
 * (STATE_DIR/qcc-run.log, "TIME LEVEL message" lines), alone or merged by
 * time with the access log (STATE_DIR/access.log, one JSON object a line),
 * each line tagged with its level (access lines: ACCESS).
 *
 *   logs --errors [-n LINES] [-f] [--for S] [--level L] [--state-dir DIR] [--file PATH]
 *   logs --all [-n LINES] [--level L] [--state-dir DIR]
 *
 * --level debug|info|warning|error shows that level and above (a failed
 * request in the access log counts as a warning). The plain `qccc logs`
 * (access log only) is compiler/opcmd.h's. */
#ifndef QCC_COMPILER_LOGVIEW_H
#define QCC_COMPILER_LOGVIEW_H

#include <stdio.h>

/* argv[0] is "logs". Returns the exit code (0 ok, 1 no log, 2 usage). */
int qccc_logview_cmd(int argc, char **argv, FILE *out, FILE *err);

#endif
