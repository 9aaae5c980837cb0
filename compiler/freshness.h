/* Is what qcc-run serves what the config on disk says? qccc compares the
 * source digest of the config (compiled in memory, as `qccc build` would)
 * with the digest of table.bin and of the table a running qcc-run reports
 * (GET /status, docs/admin-api.md). Used after an edit ("not live until
 * `qccc build`" / "live in generation N") and by `qccc status`. */
#ifndef QCC_COMPILER_FRESHNESS_H
#define QCC_COMPILER_FRESHNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "schema/error.h"

/* The digest `qccc build` would record for CONFIG; 0, or -1 when it does not
 * load (ERR may be NULL; diagnostics are not printed). */
int qccc_config_digest(const char *config, uint8_t out[16], struct qcc_err *err);

/* The table file a running qcc-run (STATE_DIR as below) serves: 0 and PATH,
 * or -1 when none answers. */
int qccc_running_table(const char *state_dir, char *path, size_t cap);

/* After `qccc build` wrote TABLE: wait (a few seconds at most) for a running
 * qcc-run (STATE_DIR, NULL = $QCC_STATE_DIR or ~/.qcc) to serve its
 * generation and say so on OUT ("live in generation N"), or say why not.
 * Returns 0, or 1 when qcc-run rejected the table. */
int qccc_report_live(const char *table, const char *state_dir, FILE *out, FILE *err);

/* The warnings of `qccc status` about CONFIG against the running table
 * RUNNING_DIGEST (hex) served at generation RUNNING_GEN from RUNNING_PATH
 * (NULL when unknown). Prints nothing when they agree. */
void qccc_report_drift(const char *config, const char *running_digest, uint64_t running_gen,
                       const char *running_path, FILE *out);

#endif
