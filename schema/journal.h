/* The journal: qcc-run's append-only record of what happened (health, breakers,
 * switches, overrides, table swaps, queue events), read back at start to
 * restore state and offline by `qccc journal|health|priority ...`.
 *
 * Byte-for-byte description: docs/journal-format.md (a test checks this file
 * against it). All integers are little-endian, written byte by byte, so the
 * format does not depend on the host. Layout:
 *
 *   [0, 32)   file header (magic, byte order, version, creation time, checksum)
 *   records, each starting 8-byte aligned:
 *     0  u32 payload_len      bytes of payload, <= QCC_JOURNAL_MAX_PAYLOAD
 *     4  u16 type             enum qcc_jtype
 *     6  u16 flags            QCC_JOURNAL_FLAG_*
 *     8  i64 time_ms          unix milliseconds
 *    16  payload, then zero padding to a multiple of 8
 *     .  u64 checksum         XXH3-64 of every byte of the record before it
 *
 * This module is the ONE reader (scanner + decoder) both programs use, and the
 * encoder the writer (runtime/journal_writer.c) uses. No record has a field
 * that could hold a secret: endpoints are named by their stable id and id
 * string, never by URL or key. */
#ifndef QCC_SCHEMA_JOURNAL_H
#define QCC_SCHEMA_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/enums.h"
#include "schema/error.h"

#define QCC_JOURNAL_FILE "journal.qj" /* inside the state directory */
#define QCC_JOURNAL_MAGIC "QCCJRN\r\n" /* \r\n catches text-mode mangling */
#define QCC_JOURNAL_MAGIC_LEN 8
#define QCC_JOURNAL_BYTE_ORDER 0x01020304u /* reads 0x04030201 if byte-swapped */
#define QCC_JOURNAL_MAJOR 1
#define QCC_JOURNAL_MINOR 1 /* 1: key_rejected, endpoint_rest, endpoint_reset */

/* File header offsets. */
#define QCC_JOURNAL_HDR_MAGIC 0       /* u8[8] */
#define QCC_JOURNAL_HDR_BYTE_ORDER 8  /* u32 */
#define QCC_JOURNAL_HDR_MAJOR 12      /* u16 */
#define QCC_JOURNAL_HDR_MINOR 14      /* u16 */
#define QCC_JOURNAL_HDR_CREATED 16    /* i64 unix ms */
#define QCC_JOURNAL_HDR_CHECKSUM 24   /* u64 XXH3-64 of bytes [0, 24) */
#define QCC_JOURNAL_HEADER_SIZE 32

/* Record header offsets. */
#define QCC_JOURNAL_REC_LEN 0         /* u32 payload length */
#define QCC_JOURNAL_REC_TYPE 4        /* u16 */
#define QCC_JOURNAL_REC_FLAGS 6       /* u16 */
#define QCC_JOURNAL_REC_TIME 8        /* i64 unix ms */
#define QCC_JOURNAL_REC_PAYLOAD 16
#define QCC_JOURNAL_REC_TRAILER 8     /* u64 checksum after the padded payload */
#define QCC_JOURNAL_ALIGN 8
#define QCC_JOURNAL_MAX_PAYLOAD 65536u
#define QCC_JOURNAL_MAX_RECORD (QCC_JOURNAL_REC_PAYLOAD + QCC_JOURNAL_MAX_PAYLOAD + QCC_JOURNAL_REC_TRAILER)

/* Record flags. A snapshot item restates current state (written by
 * compaction after a state_snapshot record); it is not a new event. */
#define QCC_JOURNAL_FLAG_SNAPSHOT 0x0001u

/* Text fields are capped; longer text is cut on a UTF-8 boundary. */
#define QCC_JOURNAL_MAX_TEXT 255
#define QCC_JOURNAL_MAX_ATTEMPTS 16

/* Size on disk of a record with a payload of len bytes. */
static inline size_t qcc_journal_record_size(size_t payload_len) {
  return QCC_JOURNAL_REC_PAYLOAD + ((payload_len + 7u) & ~(size_t)7u) + QCC_JOURNAL_REC_TRAILER;
}

/* ---- value enums stored in records (u8; never renumber, only append) ---- */
#define QCC_JHEALTH_LIST(X) \
  X(QCC_JHEALTH_UNKNOWN, "unknown", 0) \
  X(QCC_JHEALTH_HEALTHY, "healthy", 1) \
  X(QCC_JHEALTH_DEGRADED, "degraded", 2) \
  X(QCC_JHEALTH_UNHEALTHY, "unhealthy", 3)

#define QCC_JBREAKER_LIST(X) \
  X(QCC_JBREAKER_CLOSED, "closed", 0) \
  X(QCC_JBREAKER_OPEN, "open", 1) \
  X(QCC_JBREAKER_HALF_OPEN, "half_open", 2)

#define QCC_JOVERRIDE_LIST(X) \
  X(QCC_JOVERRIDE_PIN, "pin", 0) \
  X(QCC_JOVERRIDE_UNPIN, "unpin", 1) \
  X(QCC_JOVERRIDE_DISABLE, "disable", 2) \
  X(QCC_JOVERRIDE_ENABLE, "enable", 3)

#define QCC_JENUM_MEMBER_(c, s, v) c = v,
enum qcc_jhealth { QCC_JHEALTH_LIST(QCC_JENUM_MEMBER_) QCC_JHEALTH_COUNT };
enum qcc_jbreaker { QCC_JBREAKER_LIST(QCC_JENUM_MEMBER_) QCC_JBREAKER_COUNT };
enum qcc_joverride { QCC_JOVERRIDE_LIST(QCC_JENUM_MEMBER_) QCC_JOVERRIDE_COUNT };
#undef QCC_JENUM_MEMBER_

extern const struct qcc_enum_desc qcc_jhealth_desc, qcc_jbreaker_desc, qcc_joverride_desc;

/* ---- field kinds: X(KIND, C type, "doc name", encoding) ---- */
#define QCC_JKIND_LIST(X) \
  X(BOOL, uint8_t, "bool", "u8, 0 or 1") \
  X(U8, uint8_t, "u8", "u8") \
  X(ENUM, uint8_t, "enum", "u8, spelled by the field's value list") \
  X(U16, uint16_t, "u16", "u16") \
  X(U32, uint32_t, "u32", "u32") \
  X(U64, uint64_t, "u64", "u64") \
  X(HASH, uint64_t, "hash", "u64, shown as 16 hex digits") \
  X(TIME, int64_t, "time", "i64 unix milliseconds, 0 = none") \
  X(STR, const char *, "str", "u16 len, len bytes (UTF-8, no NUL), one NUL byte") \
  X(EP, struct qcc_jep, "endpoint", "u64 stable id, u64 identity hash, then str id") \
  X(ATTEMPTS, struct qcc_jattempts, "attempts", "u16 n <= 16, then n x (endpoint, u16 http status, str reason)")

#define QCC_JKIND_ENUM_(k, ct, nm, enc) QCC_JK_##k,
enum qcc_jkind { QCC_JKIND_LIST(QCC_JKIND_ENUM_) QCC_JK_COUNT };
#undef QCC_JKIND_ENUM_

/* An endpoint: the table's stable 64-bit id plus its id string, so history
 * stays readable without the table, and the table's identity hash (base URL,
 * auth, key reference) so a restore can drop state recorded for an endpoint
 * whose URL or key reference has changed since. 0 = unknown. */
struct qcc_jep {
  uint64_t sid;
  const char *id; /* NULL encodes as "" */
  uint64_t identity;
};

/* One upstream attempt of a queued request. */
struct qcc_jattempt {
  struct qcc_jep endpoint;
  uint16_t http_status; /* 0 = no response (connect error, timeout) */
  const char *reason;
};

struct qcc_jattempts {
  uint16_t count; /* <= QCC_JOURNAL_MAX_ATTEMPTS */
  struct qcc_jattempt item[QCC_JOURNAL_MAX_ATTEMPTS];
};

#define QCC_JCT_BOOL uint8_t
#define QCC_JCT_U8 uint8_t
#define QCC_JCT_ENUM uint8_t
#define QCC_JCT_U16 uint16_t
#define QCC_JCT_U32 uint32_t
#define QCC_JCT_U64 uint64_t
#define QCC_JCT_HASH uint64_t
#define QCC_JCT_TIME int64_t
#define QCC_JCT_STR const char *
#define QCC_JCT_EP struct qcc_jep
#define QCC_JCT_ATTEMPTS struct qcc_jattempts

/* ---- record types: X(C_NAME, name, id, "what it records") ----
 * Each type's payload is its field list QCC_JF_<name>, encoded in order:
 * F(KIND, field, value list or NULL, "meaning"). A newer minor version may
 * append fields to a type (readers ignore trailing payload bytes) or add
 * types (readers skip unknown types). Never renumber, reorder or remove. */
#define QCC_JOURNAL_TYPES(X) \
  X(STARTUP, startup, 1, "qcc-run started and opened the journal") \
  X(SHUTDOWN, shutdown, 2, "qcc-run stopped") \
  X(HEALTH_CHECK, health_check, 3, "one active health check result") \
  X(HEALTH_STATUS, health_status, 4, "an endpoint's health status changed") \
  X(BREAKER, breaker, 5, "an endpoint's circuit breaker changed state") \
  X(GROUP_SWITCH, group_switch, 6, "the active profile/group changed") \
  X(OVERRIDE, override, 7, "an operator pinned/unpinned a profile or disabled/enabled an endpoint") \
  X(TABLE_SWAP, table_swap, 8, "a new table was loaded or rejected") \
  X(QUEUE_ENQUEUED, queue_enqueued, 9, "a request entered the retry queue") \
  X(QUEUE_RETRIED, queue_retried, 10, "a queued request was retried") \
  X(QUEUE_SUCCEEDED, queue_succeeded, 11, "a queued request finally succeeded") \
  X(QUEUE_DEAD_LETTER, queue_dead_letter, 12, "a queued request failed for good and was kept") \
  X(QUEUE_CLEARED, queue_cleared, 13, "dead letters were removed (retried or cleared)") \
  X(STATE_SNAPSHOT, state_snapshot, 14, "compaction: forget replayed state, the next items records are the whole state") \
  X(KEY_REJECTED, key_rejected, 15, "an endpoint's key was refused (401/403): out until enabled or its key changes") \
  X(ENDPOINT_REST, endpoint_rest, 16, "an endpoint answered 429 (or 503/529 with a reset time) and rests") \
  X(ENDPOINT_RESET, endpoint_reset, 17, "a table swap changed an endpoint's URL, auth or key: its live state was reset")

#define QCC_JF_startup(F) \
  F(U32, pid, NULL, "process id") \
  F(STR, version, NULL, "qcc-run version") \
  F(U64, table_generation, NULL, "generation of the table it started with") \
  F(ENUM, fsync, &qcc_fsync_desc, "journal fsync policy") \
  F(U64, truncated_bytes, NULL, "torn tail bytes cut off at open")

#define QCC_JF_shutdown(F) \
  F(BOOL, clean, NULL, "1 = graceful drain finished") \
  F(STR, reason, NULL, "signal or cause")

#define QCC_JF_health_check(F) \
  F(EP, endpoint, NULL, "checked endpoint") \
  F(BOOL, ok, NULL, "1 = check passed") \
  F(U16, http_status, NULL, "0 = no HTTP response") \
  F(U32, latency_us, NULL, "check latency, microseconds") \
  F(STR, error, NULL, "short error text, empty when ok")

#define QCC_JF_health_status(F) \
  F(EP, endpoint, NULL, "endpoint") \
  F(ENUM, from, &qcc_jhealth_desc, "previous status") \
  F(ENUM, to, &qcc_jhealth_desc, "new status") \
  F(U8, score, NULL, "0-100 score after the change") \
  F(STR, reason, NULL, "why")

#define QCC_JF_breaker(F) \
  F(EP, endpoint, NULL, "endpoint") \
  F(ENUM, from, &qcc_jbreaker_desc, "previous state") \
  F(ENUM, to, &qcc_jbreaker_desc, "new state") \
  F(U32, failures, NULL, "consecutive failures") \
  F(TIME, cooldown_until, NULL, "half-open probe allowed from (open only)")

#define QCC_JF_group_switch(F) \
  F(STR, from, NULL, "previous active profile") \
  F(ENUM, from_group, &qcc_group_desc, "its group") \
  F(STR, to, NULL, "new active profile") \
  F(ENUM, to_group, &qcc_group_desc, "its group") \
  F(STR, reason, NULL, "why (failover, recovery, pin, unpin)")

#define QCC_JF_override(F) \
  F(ENUM, kind, &qcc_joverride_desc, "what the operator did") \
  F(EP, target, NULL, "endpoint, or profile name with sid 0 (pin/unpin)") \
  F(STR, reason, NULL, "operator's --reason")

#define QCC_JF_table_swap(F) \
  F(U64, from_generation, NULL, "generation serving before") \
  F(U64, to_generation, NULL, "generation offered") \
  F(BOOL, ok, NULL, "1 = swapped, 0 = rejected (old keeps serving)") \
  F(STR, reason, NULL, "rejection reason, empty when ok")

#define QCC_JF_queue_enqueued(F) \
  F(U64, request_id, NULL, "queue id") \
  F(U32, priority, NULL, "queue priority") \
  F(HASH, body_hash, NULL, "XXH3-64 of the request body") \
  F(STR, model, NULL, "requested model")

#define QCC_JF_queue_retried(F) \
  F(U64, request_id, NULL, "queue id") \
  F(U32, attempt, NULL, "attempt number") \
  F(EP, endpoint, NULL, "endpoint tried") \
  F(STR, reason, NULL, "why it failed")

#define QCC_JF_queue_succeeded(F) \
  F(U64, request_id, NULL, "queue id") \
  F(U32, attempts, NULL, "attempts used") \
  F(EP, endpoint, NULL, "endpoint that answered")

#define QCC_JF_queue_dead_letter(F) \
  F(U64, request_id, NULL, "queue id, the ID of `qccc queue retry ID`") \
  F(HASH, body_hash, NULL, "XXH3-64 of the request body") \
  F(ATTEMPTS, tried, NULL, "endpoints tried with status and reason") \
  F(STR, reason, NULL, "final reason")

#define QCC_JF_queue_cleared(F) \
  F(U64, request_id, NULL, "dead letter removed, 0 = all") \
  F(STR, reason, NULL, "retry, clear")

#define QCC_JF_state_snapshot(F) \
  F(U32, items, NULL, "snapshot item records that follow") \
  F(U64, dropped_records, NULL, "history records compaction dropped") \
  F(U64, previous_size, NULL, "journal size before compaction")

#define QCC_JF_key_rejected(F) \
  F(EP, endpoint, NULL, "endpoint") \
  F(U16, http_status, NULL, "401 or 403, 0 = restated by compaction") \
  F(STR, reason, NULL, "the upstream's answer, short")

#define QCC_JF_endpoint_rest(F) \
  F(EP, endpoint, NULL, "endpoint") \
  F(TIME, until, NULL, "resting until (unix ms)") \
  F(BOOL, spend_exhausted, NULL, "1 = the 429 said the spend/credit limit is used up (long rest)") \
  F(STR, reason, NULL, "why and for how long")

#define QCC_JF_endpoint_reset(F) \
  F(EP, endpoint, NULL, "endpoint, with its new identity hash") \
  F(STR, reason, NULL, "what changed")

#define QCC_JTYPE_ENUM_(C, n, id, doc) QCC_JT_##C = id,
enum qcc_jtype { QCC_JOURNAL_TYPES(QCC_JTYPE_ENUM_) };
#undef QCC_JTYPE_ENUM_

#define QCC_JF_MEMBER_(k, f, vals, doc) QCC_JCT_##k f;
#define QCC_JTYPE_STRUCT_(C, n, id, doc) struct qcc_jrec_##n { QCC_JF_##n(QCC_JF_MEMBER_) };
QCC_JOURNAL_TYPES(QCC_JTYPE_STRUCT_)
#undef QCC_JTYPE_STRUCT_
#undef QCC_JF_MEMBER_

/* A decoded record, or one to encode. Decoded strings point into the buffer
 * that was decoded: they stay valid as long as that buffer. */
struct qcc_jrec {
  uint16_t type;   /* enum qcc_jtype */
  uint16_t flags;  /* QCC_JOURNAL_FLAG_* */
  int64_t time_ms; /* 0 on append = now */
  union {
#define QCC_JTYPE_UNION_(C, n, id, doc) struct qcc_jrec_##n n;
    QCC_JOURNAL_TYPES(QCC_JTYPE_UNION_)
#undef QCC_JTYPE_UNION_
  } u;
};

/* ---- descriptors generated from the tables (docs, output, JSON) ---- */
struct qcc_jfield {
  const char *name;
  enum qcc_jkind kind;
  size_t offset;                      /* within the type's struct (= &rec->u) */
  const struct qcc_enum_desc *values; /* ENUM only */
  const char *doc;
};

struct qcc_jtype_info {
  uint16_t id;
  const char *name;
  const char *doc;
  const struct qcc_jfield *fields;
  size_t field_count;
};

extern const struct qcc_jtype_info qcc_jtypes[];
extern const size_t qcc_jtype_count;

/* NULL when unknown (a newer writer's type, or garbage). */
const struct qcc_jtype_info *qcc_journal_type(uint16_t id);
const struct qcc_jtype_info *qcc_journal_type_by_name(const char *name);
/* "u16" etc., the spelling used in docs/journal-format.md. */
const char *qcc_journal_kind_name(enum qcc_jkind k);
/* "endpoint endpoint, ok bool, ..." — the layout column of the doc. */
void qcc_journal_type_layout(const struct qcc_jtype_info *t, char *buf, size_t cap);

/* ---- encoding ---- */
/* The file header for a journal created at created_ms. */
void qcc_journal_header_encode(uint8_t out[QCC_JOURNAL_HEADER_SIZE], int64_t created_ms);
/* Encode one whole record (header, payload, padding, checksum) into buf.
 * Sets *len. Fails (-1) on an unknown type, an attempts count over the cap,
 * or a record that does not fit cap. Over-long text is cut, not an error. */
int qcc_journal_encode(const struct qcc_jrec *r, uint8_t *buf, size_t cap, size_t *len,
                       struct qcc_err *err);

/* ---- scanning (the one reader) ---- */
enum qcc_jscan_status {
  QCC_JSCAN_OK = 0,      /* every byte is header + whole good records */
  QCC_JSCAN_EMPTY,       /* zero bytes: a journal not yet started */
  QCC_JSCAN_TORN_TAIL,   /* the end is an incomplete/bad LAST record: truncate */
  QCC_JSCAN_CORRUPT,     /* a bad record followed by good data: refuse */
  QCC_JSCAN_NOT_JOURNAL, /* wrong magic or byte order */
  QCC_JSCAN_BAD_VERSION, /* a major version this reader does not know */
  QCC_JSCAN_BAD_HEADER,  /* header checksum mismatch */
};

struct qcc_jscan_result {
  enum qcc_jscan_status status;
  uint64_t size;        /* bytes scanned */
  uint64_t ok_up_to;    /* end of the last good record (header size if none) */
  uint64_t records;     /* good records before ok_up_to */
  uint64_t bad_offset;  /* TORN_TAIL/CORRUPT: where the bad record starts */
  uint64_t resync_offset; /* CORRUPT: first good record after the damage */
  bool stopped;         /* the callback asked to stop */
  uint16_t major, minor;
  int64_t created_ms;
  char why[160];        /* what is wrong, for messages */
};

/* A record as framed on disk; payload points into the scanned buffer. */
struct qcc_jraw {
  uint64_t offset;
  uint16_t type;
  uint16_t flags;
  int64_t time_ms;
  const uint8_t *payload;
  uint32_t payload_len;
  uint32_t size; /* whole record on disk */
};

/* Return 0 to go on, non-zero to stop the scan. */
typedef int (*qcc_jscan_fn)(const struct qcc_jraw *rec, void *ud);

/* Walk buf: call cb (may be NULL) for each good record in order, fill res.
 * Returns 0 when status is OK or EMPTY, -1 otherwise (res says why). Never
 * reads outside [buf, buf+len), whatever the bytes. */
int qcc_journal_scan(const uint8_t *buf, size_t len, qcc_jscan_fn cb, void *ud,
                     struct qcc_jscan_result *res);
/* The same framing under another file's magic (8 bytes) and major version:
 * the usage file (schema/usage.h) shares the journal's framing. */
int qcc_journal_scan_framed(const uint8_t *buf, size_t len, const char *magic, uint16_t major,
                            qcc_jscan_fn cb, void *ud, struct qcc_jscan_result *res);
/* The same over a file (mapped read-only). -1 with err on I/O errors; a
 * scan that finds damage returns 0 with res->status saying so. A missing file
 * is EMPTY. */
int qcc_journal_scan_file(const char *path, qcc_jscan_fn cb, void *ud,
                          struct qcc_jscan_result *res, struct qcc_err *err);
const char *qcc_jscan_status_name(enum qcc_jscan_status s);

/* Decode a framed record's payload into r. Unknown types fail with code
 * ENOENT (skip them); malformed payloads fail with EINVAL. */
int qcc_journal_decode(const struct qcc_jraw *raw, struct qcc_jrec *r, struct qcc_err *err);

/* ---- formatting ---- */
/* "2026-11-26T04:33:05.123Z" (UTC). */
void qcc_journal_iso_time(int64_t ms, char *buf, size_t cap);
/* One field's value as text: enum names, hex hashes, ISO times, endpoint ids;
 * text is passed through qcc_journal_printable. */
void qcc_journal_format_field(const struct qcc_jrec *r, const struct qcc_jfield *f, char *buf,
                              size_t cap);
/* Copy src for a terminal: control bytes (newlines, escapes) become '?'. */
void qcc_journal_printable(char *dst, size_t cap, const char *src);
/* "field=value field=value ..." with strings quoted when needed. */
void qcc_journal_format_fields(const struct qcc_jrec *r, char *buf, size_t cap);
/* Field f's raw address within r, for generic readers. */
const void *qcc_journal_field_ptr(const struct qcc_jrec *r, const struct qcc_jfield *f);

/* Wall clock in unix milliseconds. */
int64_t qcc_journal_now_ms(void);

#endif
