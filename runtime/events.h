/* What qcc-run records: routing events (health, breaker, switch, operator
 * overrides) become journal records and log lines; table swaps, active check
 * results, startup and shutdown too. Also the way back: at start the journal
 * is replayed into the router (qcc_events_restore), and at compaction the
 * router's state is restated (snapshot items).
 *
 * Clocks: the router is monotonic (ms), the journal stores unix ms. Breaker
 * cooldowns are converted both ways with the two clocks read together.
 *
 * The journal is flushed once per loop iteration (ev_prepare, i.e. before
 * the loop blocks), so every record appended while handling events of that
 * iteration reaches the file in one write. */
#ifndef QCC_RUNTIME_EVENTS_H
#define QCC_RUNTIME_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router.h"
#include "schema/error.h"
#include "schema/table.h"

struct ev_loop;
struct qcc_journal;
struct qcc_tableset;
struct qcc_events;

/* JOURNAL may be NULL (log only). Hooks the router's event callback and the
 * journal's compaction. TABLES gives the current table (names, identities). */
int qcc_events_new(struct ev_loop *loop, struct qcc_journal *journal, struct qcc_router *router,
                   struct qcc_tableset *tables, struct qcc_events **out, struct qcc_err *err);
/* Compact past SIZE_LIMIT bytes keeping KEEP_RECENT history records
 * (defaults: the writer's); the snapshot restates the router's state. */
void qcc_events_set_compaction(struct qcc_events *ev, uint64_t size_limit, unsigned keep_recent);
/* One more listener of routing events (metrics, status), called after the
 * event is journaled and logged; the router has a single callback slot and
 * this module holds it. CB NULL removes it. */
void qcc_events_tap(struct qcc_events *ev, void (*cb)(void *ctx, const struct qcc_route_event *e),
                    void *ctx);
/* Unhooks and stops; does not close the journal. */
void qcc_events_free(struct qcc_events **ev);

void qcc_events_startup(struct qcc_events *ev, uint64_t table_generation);
void qcc_events_shutdown(struct qcc_events *ev, bool clean, const char *reason);
/* A table load: ok (TO_GEN serving now) or rejected with REASON. */
void qcc_events_table_swap(struct qcc_events *ev, uint64_t from_gen, uint64_t to_gen, bool ok,
                           const char *reason);
/* One active health check result of endpoint SID (current table). */
void qcc_events_health_check(struct qcc_events *ev, uint64_t sid, bool ok, int http_status,
                             uint32_t latency_us, const char *error);
/* Any other record (the failure queue's), written with the next flush. */
struct qcc_jrec;
void qcc_events_record(struct qcc_events *ev, struct qcc_jrec *r);
/* Write what is buffered now (also done once per loop iteration). */
int qcc_events_flush(struct qcc_events *ev, struct qcc_err *err);
/* Records appended so far (tests, status). */
uint64_t qcc_events_count(const struct qcc_events *ev);

/* ---- restore ---- */
struct qcc_restore_summary {
  uint64_t records;        /* replayed */
  bool pinned;
  char pin_profile[64];
  char active_profile[64]; /* "" when none was recorded / not restored */
  unsigned disabled;       /* operator-disabled endpoints restored */
  unsigned breakers;       /* open breakers restored */
  unsigned health;         /* health statuses restored */
  unsigned key_rejected;   /* endpoints whose key was refused (401/403) */
  unsigned resting;        /* endpoints still resting after a 429 */
  unsigned dropped;        /* endpoints whose state was dropped (gone, or URL/key changed) */
};

/* Replay JOURNAL into ROUTER (attached to T). MONO_NOW is the router's clock,
 * WALL_NOW unix ms, read together. State of endpoints gone from T or whose
 * identity hash changed is dropped, except an operator disable, which only
 * an operator lifts (as the router does across a swap). 0, or -1 with err
 * when the journal cannot be read. */
int qcc_events_restore(struct qcc_journal *journal, struct qcc_router *router,
                       const struct qcc_table *t, uint64_t mono_now, int64_t wall_now,
                       struct qcc_restore_summary *sum, struct qcc_err *err);

#endif
