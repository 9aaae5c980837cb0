/* Dead letters: requests that failed for good, kept (bounded) for
 * `qccc queue list | retry ID | retry-all | clear` (docs/queue.md).
 *
 * Each dead letter is self-describing on disk, in STATE_DIR/deadletters/
 * (directory 0700, files 0600, each written tmp -> fsync -> rename -> fsync
 * dir):
 *   <id>.meta  JSON, first field "v" (the format version): id, time, method,
 *              target, priority, attempts, endpoints tried with status and
 *              reason, final reason, body hash (XXH3-64) and length, the
 *              headers to replay, and the last replay's status
 *   <id>.body  the request body, ONLY when persist_bodies (persistence_enabled)
 *   <id>.resp  the response of the last replay (status in .meta), capped
 * The .meta is written last: a body without a meta is debris, removed at open.
 * Opening the store on the same directory restores every dead letter.
 *
 * Never stored: credentials. Headers whose name says auth/key/token/secret/
 * cookie/password/session (x-api-key, authorization, ...) and hop-by-hop
 * headers are dropped before anything is kept. */
#ifndef QCC_RUNTIME_DEADLETTERS_H
#define QCC_RUNTIME_DEADLETTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exchange.h"
#include "queue.h"
#include "schema/error.h"

#define QCC_DL_SUBDIR "deadletters"
#define QCC_DL_META_VERSION 1
#define QCC_DL_ID_MAX 17              /* 16 hex digits + NUL */
#define QCC_DL_MAX_TRIED 16           /* attempts kept per dead letter */
#define QCC_DL_MAX_HEADERS 64         /* headers kept per dead letter */
#define QCC_DL_MAX_HEADER_BYTES 16384 /* their total size */
#define QCC_DL_MAX_TEXT 255           /* reasons, endpoint ids */
#define QCC_DL_MAX_TARGET 2048
#define QCC_DL_MAX_META_BYTES (1u << 20) /* a bigger .meta is not ours */

struct qcc_deadletters_params {
  const char *state_dir;       /* NULL: memory only, nothing survives a restart */
  bool persist_bodies;         /* queue.persistence_enabled */
  uint32_t max_entries;        /* oldest dropped beyond; 0 = 1000 */
  uint64_t max_bytes;          /* bodies + replay responses; oldest dropped beyond; 0 = 64 MiB */
  uint64_t max_body_bytes;     /* a bigger body is not kept (hash only); 0 = 16 MiB */
  uint32_t max_response_bytes; /* replay response kept, cut beyond; 0 = 64 KiB */
};
void qcc_deadletters_params_default(struct qcc_deadletters_params *p);
struct qcc_tbl_settings;
/* Defaults plus the table's queue.persistence_enabled; state_dir borrowed
 * (it is copied at open). */
void qcc_deadletters_params_from_settings(struct qcc_deadletters_params *p,
                                          const struct qcc_tbl_settings *s,
                                          const char *state_dir);

/* What the exchange knows when a request fails for good. */
struct qcc_deadletter_in {
  uint64_t id;                 /* the queue id; 0 (or taken) = the store picks one */
  int64_t time_ms;             /* wall clock, unix ms */
  const char *method;
  const char *target;          /* path + query */
  uint32_t priority;
  const struct qcc_header *headers; /* as received; filtered here */
  size_t header_count;
  const struct qcc_queue_attempt *tried; /* first QCC_DL_MAX_TRIED kept */
  size_t tried_count;
  uint32_t attempts;           /* total attempts made */
  const char *reason;          /* final reason, short, no secrets */
  const char *body;
  size_t body_len;
};

struct qcc_dl_header {
  const char *name; /* lower case */
  const char *value;
};

/* A stored dead letter. Pointers stay valid until the next call that
 * changes the store (add, remove, clear, set_replay, close). */
struct qcc_deadletter {
  const char *id;              /* hex, e.g. "18c2f0a1b3" */
  uint64_t num_id;             /* the same as a number (journal request_id) */
  int64_t time_ms;
  const char *method;
  const char *target;
  uint32_t priority;
  uint32_t attempts;
  const struct qcc_queue_attempt *tried;
  size_t tried_count;
  const char *reason;
  uint64_t body_hash;          /* XXH3-64 of the body */
  uint64_t body_len;
  bool body_kept;              /* the body can be replayed (qcc_deadletters_body) */
  const struct qcc_dl_header *headers; /* to replay: no credentials */
  size_t header_count;
  /* the last replay (`qccc queue retry ID`); status 0 = never replayed */
  int replay_status;
  int64_t replay_time_ms;
  const char *replay_body;     /* first replay_len bytes of the response */
  size_t replay_len;
  bool replay_truncated;
};

struct qcc_deadletters;

/* Open the store; with a state_dir, create STATE_DIR/deadletters (0700)
 * and restore what is there (oldest dropped if over the bounds). */
int qcc_deadletters_open(const struct qcc_deadletters_params *p, struct qcc_deadletters **out,
                         struct qcc_err *err);
void qcc_deadletters_close(struct qcc_deadletters **s);

/* Keep a failed request. *id_out (when non-NULL) points at the stored id,
 * or is NULL when nothing was kept. Returns 0, or -1 with err: either out
 * of memory (*id_out NULL) or the files could not be written (the dead
 * letter is kept in memory, *id_out set). */
int qcc_deadletters_add(struct qcc_deadletters *s, const struct qcc_deadletter_in *in,
                        const char **id_out, struct qcc_err *err);

size_t qcc_deadletters_count(const struct qcc_deadletters *s);
/* Oldest first, up to max. */
size_t qcc_deadletters_list(const struct qcc_deadletters *s, const struct qcc_deadletter **out,
                            size_t max);
/* NULL when there is no dead letter ID (or ID is not a well-formed id). */
const struct qcc_deadletter *qcc_deadletters_get(const struct qcc_deadletters *s, const char *id);
/* The kept body, read back and checked against its hash; *body is malloc'd
 * (caller frees). -1 with err when not kept, missing or damaged. */
int qcc_deadletters_body(const struct qcc_deadletters *s, const char *id, char **body,
                         size_t *len, struct qcc_err *err);
/* Keep a replay's response beside the dead letter (cut to
 * max_response_bytes). */
int qcc_deadletters_set_replay(struct qcc_deadletters *s, const char *id, int status,
                               const char *body, size_t len, int64_t time_ms,
                               struct qcc_err *err);
/* Forget one / all (files removed). remove: -1 (code ENOENT) when unknown. */
int qcc_deadletters_remove(struct qcc_deadletters *s, const char *id, struct qcc_err *err);
int qcc_deadletters_clear(struct qcc_deadletters *s, struct qcc_err *err);

struct qcc_deadletters_counters {
  uint64_t count;        /* now */
  uint64_t bytes;        /* now: bodies + responses */
  uint64_t added;        /* total */
  uint64_t dropped;      /* pushed out by the bounds */
  uint64_t restored;     /* read back at open */
  uint64_t write_errors; /* files that could not be written */
};
void qcc_deadletters_counters(const struct qcc_deadletters *s,
                              struct qcc_deadletters_counters *out);

/* Would a header of this name be kept? (false for credentials, hop-by-hop.) */
bool qcc_deadletters_header_kept(const char *name, size_t len);

#endif
