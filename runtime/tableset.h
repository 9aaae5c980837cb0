/* The current table generation and how it changes: load + verify a new
 * generation completely, then swap one pointer. The table path is watched
 * (ev_stat, debounced until the file is stable; an atomic rename changes the
 * inode; a second look 1.1 s after each libev stat catches the same-second
 * rewrites libev's whole-second mtimes miss) and main forwards SIGHUP to
 * qcc_tableset_reload. A table that fails to load (truncated, rewritten in
 * place, not a regular file, gone) or is refused by the check hook is logged
 * and the old generation keeps serving: each generation owns a private copy
 * of its file. Requests pin a generation with qcc_generation_ref. */
#ifndef QCC_RUNTIME_TABLESET_H
#define QCC_RUNTIME_TABLESET_H

#include <stdint.h>

#include "generation.h"
#include "schema/error.h"

struct ev_loop;
struct qcc_tableset;

/* Veto a candidate generation (e.g. "non-loopback listen but no auth token").
 * Returns 0 to accept, -1 with err filled to refuse. */
typedef int (*qcc_tableset_check_fn)(void *ctx, const struct qcc_generation *g,
                                     struct qcc_err *err);

/* Load PATH now (fails when the first table is bad). Not yet watching. */
int qcc_tableset_new(struct ev_loop *loop, const char *path, struct qcc_tableset **out,
                     struct qcc_err *err);
void qcc_tableset_free(struct qcc_tableset **ts);

/* Applied to every later candidate; the caller checks the first one itself. */
void qcc_tableset_set_check(struct qcc_tableset *ts, qcc_tableset_check_fn fn, void *ctx);
/* Told after every reload attempt (e.g. to re-attach the router and journal
 * the swap): TO is the new current generation when it swapped, NULL when it
 * was rejected (then TO_NUMBER is the offered generation, 0 when it could not
 * be read, and REASON says why; REASON is "" on success). */
typedef void (*qcc_tableset_swap_fn)(void *ctx, uint64_t from_number,
                                     const struct qcc_generation *to, uint64_t to_number,
                                     const char *reason);
void qcc_tableset_on_swap(struct qcc_tableset *ts, qcc_tableset_swap_fn fn, void *ctx);
/* Start / stop the ev_stat watcher (debounce in seconds, e.g. 0.05). */
void qcc_tableset_watch(struct qcc_tableset *ts, double debounce);
void qcc_tableset_unwatch(struct qcc_tableset *ts);

/* Borrowed: valid until the next swap. Pin it with qcc_generation_ref. */
struct qcc_generation *qcc_tableset_current(const struct qcc_tableset *ts);
/* Load the path now and swap on success. 0 = swapped, -1 = rejected (err
 * filled, already logged, old generation still current). */
int qcc_tableset_reload(struct qcc_tableset *ts, const char *why, struct qcc_err *err);
/* Counters for tests and status: successful swaps and rejected loads. */
uint64_t qcc_tableset_swaps(const struct qcc_tableset *ts);
uint64_t qcc_tableset_rejects(const struct qcc_tableset *ts);

#endif
