/* Generations of one output table and their snapshots.
 *
 * OUT.snapshots/ beside OUT holds `<generation, 12 digits>.bin`, one per
 * build, the last N kept. OUT is a copy of one of them, put in place
 * atomically. The next build's
 * generation is max(snapshots, OUT) + 1; a build whose config digest equals
 * OUT's makes no new generation. */
#ifndef QCC_COMPILER_SNAPSHOTS_H
#define QCC_COMPILER_SNAPSHOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler/config.h"
#include "schema/error.h"
#include "schema/table.h"

#define QCC_SNAPSHOTS_KEEP_DEFAULT 10

struct qcc_snapshots;

struct qcc_build_result {
  bool unchanged;      /* digest equal to OUT's: nothing written */
  uint64_t generation; /* of OUT after the build */
  uint32_t profiles, endpoints;
  uint8_t digest[16];
};

/* Scan OUT.snapshots/ (it may not exist yet). */
int qcc_snapshots_open(const char *out_path, struct qcc_snapshots **out, struct qcc_err *err);
void qcc_snapshots_close(struct qcc_snapshots **s);

const char *qcc_snapshots_out(const struct qcc_snapshots *s);
const char *qcc_snapshots_dir(const struct qcc_snapshots *s);
/* Snapshots in ascending generation order. */
size_t qcc_snapshots_count(const struct qcc_snapshots *s);
uint64_t qcc_snapshots_generation(const struct qcc_snapshots *s, size_t i);
/* Path of the snapshot of generation GEN (whether or not it exists). */
int qcc_snapshots_path(const struct qcc_snapshots *s, uint64_t gen, char *buf, size_t cap);
bool qcc_snapshots_has(const struct qcc_snapshots *s, uint64_t gen);

/* OUT's header when OUT is a valid table (0); -1 with te filled otherwise. */
int qcc_snapshots_current(const struct qcc_snapshots *s, struct qcc_tbl_header *hdr,
                          struct qcc_table_error *te);
uint64_t qcc_snapshots_next_generation(const struct qcc_snapshots *s);

/* Lay out CFG, verify the image, and make it OUT (and a snapshot, unless
 * keep == 0), pruning to the newest KEEP snapshots. No-op (r->unchanged)
 * when the digest equals OUT's. */
int qcc_snapshots_publish(struct qcc_snapshots *s, const struct qcc_config *cfg, int64_t build_time,
                          unsigned keep, struct qcc_build_result *r, struct qcc_err *err);

/* Make snapshot TO current (0 = the newest generation before OUT's). *became
 * is the generation now current. */
int qcc_snapshots_rollback(struct qcc_snapshots *s, uint64_t to, uint64_t *became,
                           struct qcc_err *err);

/* Delete all but the newest KEEP snapshots; returns how many were removed. */
int qcc_snapshots_prune(struct qcc_snapshots *s, unsigned keep, struct qcc_err *err);

#endif
