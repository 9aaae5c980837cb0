/* `qccc usage`: where the tokens went, read from STATE_DIR/usage.qu directly
 * (schema/usage.h's reader), so it works while qcc-run is down.
 *
 *   qccc usage [--since T] [--until T] [--by KEY]... [--json|--csv] [--state-dir DIR]
 *   qccc usage export FILE [same options]   (CSV or JSON by FILE's extension)
 *
 * KEY: endpoint, profile, model (the model sent upstream), client, session,
 * hour, day. T: a duration back from now (24h, 7d), a date (2026-12-01, local
 * midnight) or an ISO time (UTC). Human output shows local time with its
 * zone; JSON and CSV use UTC. Exit codes: 0 ok, 1 the file is damaged in the
 * middle (what precedes the damage is shown), 2 usage or I/O error. */
#ifndef QCC_COMPILER_USAGECMD_H
#define QCC_COMPILER_USAGECMD_H

#include <stdint.h>
#include <stdio.h>

/* ARGV[0] is "usage" (or an alias's target word). NOW_MS is the clock
 * (tests pass a fixed one; main passes the wall clock). */
int qccc_usage_cmd(int argc, char **argv, int64_t now_ms, FILE *out, FILE *errout);

#endif
