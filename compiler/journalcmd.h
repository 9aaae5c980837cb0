/* qccc's offline journal commands. They read STATE_DIR/journal.qj directly
 * (schema/journal.h's scanner), so they work while qcc-run is down:
 *
 *   qccc journal check [--fix] [--state-dir DIR]
 *   qccc journal show [--since T] [--type T[,T...]] [--json] [--state-dir DIR]
 *   qccc health history ENDPOINT [--since T] [--json] [--state-dir DIR]
 *   qccc priority history [--since T] [--json] [--state-dir DIR]
 *
 * T is an ISO time in UTC (2026-11-26T03:00:00Z, 2026-11-26 03:00, 2026-11-26)
 * or a duration back from now (90s, 30m, 1h, 2d, optionally "ago": "1h ago").
 *
 * Exit codes: 0 ok (check: the journal is clean, or was fixed); 1 check found
 * damage (torn tail or corruption) and did not fix it, or show/history read a
 * journal with corruption in the middle; 2 usage or I/O error. */
#ifndef QCC_COMPILER_JOURNALCMD_H
#define QCC_COMPILER_JOURNALCMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* argv[0] is the command word ("journal", "health" or "priority"). Output goes
 * to out, messages to errout. Returns the exit code. */
int qccc_journal_cmd(int argc, char **argv, FILE *out, FILE *errout);
/* True when argv (same convention) is one of the commands above, so main can
 * route "health history" here and "health status" to the admin client. */
bool qccc_journal_cmd_handles(int argc, char **argv);
/* Parse a --since value relative to now_ms; -1 when it is not a time. */
int qccc_parse_since(const char *s, int64_t now_ms, int64_t *out_ms);

#endif
