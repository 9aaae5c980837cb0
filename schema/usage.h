/* Usage: the tokens one /v1/messages exchange used, as Anthropic reports them.
 *
 * This header is the contract between the runtime's capture (runtime/), the
 * usage store's records and `qccc usage` (compiler/), and the pricing
 * arithmetic (schema/pricing.h). The record format that carries these counts
 * on disk is described in docs/usage.md. */
#ifndef QCC_SCHEMA_USAGE_H
#define QCC_SCHEMA_USAGE_H

#include <stdint.h>

/* Token counts by kind. A count that the upstream did not report, or reported
 * as something that is not a sane non-negative integer, is QCC_USAGE_UNKNOWN:
 * unknown is never added as 0 by accident. */
#define QCC_USAGE_UNKNOWN INT64_C(-1)

struct qcc_usage_tokens {
  int64_t input;          /* input_tokens (uncached input) */
  int64_t output;         /* output_tokens (last cumulative value of a stream) */
  int64_t cache_write_5m; /* cache_creation 5-minute writes (all writes when no split is given) */
  int64_t cache_write_1h; /* cache_creation 1-hour writes */
  int64_t cache_read;     /* cache_read_input_tokens */
};

/* ---- the usage file (docs/usage.md) ----------------------------------------
 *
 * STATE_DIR/usage.qu is append-only and uses the journal's framing
 * (schema/journal.h): a 32-byte file header of the journal's layout with its
 * own magic, then records each 8-byte aligned: u32 payload_len, u16 type,
 * u16 flags, i64 time_ms, payload, zero padding, u64 XXH3-64 checksum. A torn
 * tail is cut at open, like the journal's.
 *
 * Two record types share one payload layout (QCC_USAGE_FIELDS, encoded in
 * order, integers little-endian, text as u16 len + bytes + NUL):
 *   request (1)  one finished /v1/messages exchange (detail);
 *   rollup  (2)  the sum of request records of one hour x endpoint x profile
 *                x model x upstream model x client (time = the hour's start,
 *                request_id and session empty).
 * A newer minor version may append fields (readers ignore trailing bytes) or
 * types (readers skip them). Never renumber, reorder or remove. */
#include <stdbool.h>
#include <stddef.h>

#include "schema/error.h"

#define QCC_USAGE_FILE "usage.qu"           /* inside the state directory */
#define QCC_USAGE_MAGIC "QCCUSE\r\n"        /* journal header layout, own magic */
#define QCC_USAGE_MAJOR 1
#define QCC_USAGE_MINOR 0

#define QCC_USAGE_REC_REQUEST 1
#define QCC_USAGE_REC_ROLLUP 2

/* Cost of a request in pico-USD (1e-12 USD, schema/pricing.h: exact, rounded
 * once); no token of it has a price. */
#define QCC_USAGE_NO_PRICE INT64_MIN
/* A reported count above this is absurd: recorded as unknown. */
#define QCC_USAGE_MAX_TOKENS (INT64_C(1) << 40)

#define QCC_USAGE_MAX_TEXT 255   /* any text field, cut on a UTF-8 boundary */
#define QCC_USAGE_MAX_SESSION 128 /* session ids are cut to this */

/* Record flags (the frame's u16 flags). */
#define QCC_USAGE_FLAG_STREAM 0x0001u  /* the answer was an event stream */
#define QCC_USAGE_FLAG_PARTIAL 0x0002u /* the stream was cut short: counts are what arrived */

/* X(kind, field, "meaning"); kinds: u16, u32, u64, i64, str. */
#define QCC_USAGE_FIELDS(X) \
  X(U64, endpoint_sid, "endpoint's stable id (XXH3-64 of its id string), 0 = none") \
  X(I64, input, "input tokens (uncached), -1 = unknown") \
  X(I64, output, "output tokens, -1 = unknown") \
  X(I64, cache_write_5m, "5-minute cache write tokens, -1 = unknown") \
  X(I64, cache_write_1h, "1-hour cache write tokens, -1 = unknown") \
  X(I64, cache_read, "cache read tokens, -1 = unknown") \
  X(I64, cost, "pico-USD (1e-12 USD) of the priced tokens, INT64_MIN = no price") \
  X(U32, requests, "requests counted (1 in a request record)") \
  X(U32, unknown, "requests with some token count unknown (their known counts are summed)") \
  X(U32, partial, "requests whose stream was cut short") \
  X(U32, no_price, "requests without a price (their cost is not in cost)") \
  X(U32, errors, "requests answered with status >= 400") \
  X(U32, attempts, "upstream attempts made") \
  X(U16, status, "HTTP status the client got (0 in a rollup)") \
  X(STR, request_id, "the request id (x-request-id), the dedupe key; empty in a rollup") \
  X(STR, endpoint, "endpoint id string (never its URL or key)") \
  X(STR, profile, "profile of the endpoint that answered") \
  X(STR, model, "model the client asked for") \
  X(STR, upstream_model, "model sent upstream after mapping") \
  X(STR, client, "client token name (proxy.auth_tokens[].name), empty when none") \
  X(STR, session, "x-claude-code-session-id, cut to 128 bytes; empty in a rollup") \
  X(U32, partly_priced, "requests priced in part (some kinds with tokens have no price)") \
  X(I64, unpriced_tokens, "known tokens that had no price (not in cost)")

#define QCC_UCT_U16 uint16_t
#define QCC_UCT_U32 uint32_t
#define QCC_UCT_U64 uint64_t
#define QCC_UCT_I64 int64_t
#define QCC_UCT_STR const char *

/* One record. Decoded strings point into the decoded buffer. In a rollup the
 * token fields are sums of the known counts (never -1) and cost is the sum
 * over the priced requests (INT64_MIN when none was priced). */
struct qcc_usage_rec {
  uint16_t type;  /* QCC_USAGE_REC_* */
  uint16_t flags; /* QCC_USAGE_FLAG_* */
  int64_t time_ms;
#define QCC_USAGE_MEMBER_(k, f, doc) QCC_UCT_##k f;
  QCC_USAGE_FIELDS(QCC_USAGE_MEMBER_)
#undef QCC_USAGE_MEMBER_
};

/* The tokens of a record as the contract struct. */
struct qcc_usage_tokens qcc_usage_rec_tokens(const struct qcc_usage_rec *r);
void qcc_usage_rec_set_tokens(struct qcc_usage_rec *r, const struct qcc_usage_tokens *t);
/* True when any kind is QCC_USAGE_UNKNOWN. */
bool qcc_usage_tokens_unknown(const struct qcc_usage_tokens *t);

/* Field descriptors, for docs/usage.md and its test. */
struct qcc_usage_field {
  const char *name;
  const char *kind; /* "u16", "u32", "u64", "i64", "str" */
  const char *doc;
};
extern const struct qcc_usage_field qcc_usage_fields[];
extern const size_t qcc_usage_field_count;

/* Encode R (type, flags, time_ms, fields) as one framed record into BUF
 * (journal framing). Over-long text is cut; fails (-1) only when CAP is too
 * small. */
int qcc_usage_encode(const struct qcc_usage_rec *r, uint8_t *buf, size_t cap, size_t *len,
                     struct qcc_err *err);
/* The 32-byte file header of a usage file created at CREATED_MS. */
void qcc_usage_header_encode(uint8_t out[32], int64_t created_ms);

/* Scan a usage file image: like qcc_journal_scan (torn tail / corruption /
 * foreign file / newer major), with the usage magic. CB gets every good
 * framed record. */
struct qcc_jscan_result;
struct qcc_jraw;
int qcc_usage_scan(const uint8_t *buf, size_t len, int (*cb)(const struct qcc_jraw *, void *),
                   void *ud, struct qcc_jscan_result *res);
/* Decode one framed record. Unknown types fail with ENOENT (skip them),
 * malformed payloads with EINVAL. */
int qcc_usage_decode(const struct qcc_jraw *raw, struct qcc_usage_rec *r, struct qcc_err *err);

/* Map a whole file read-only (a missing file maps as empty: *len 0, *buf
 * NULL). Unmap with qcc_usage_unmap. */
int qcc_usage_map(const char *path, const uint8_t **buf, size_t *len, struct qcc_err *err);
void qcc_usage_unmap(const uint8_t *buf, size_t len);

/* ---- retention and rollup ---- */
#define QCC_USAGE_DETAIL_DAYS_DEFAULT 30
#define QCC_USAGE_RETENTION_DAYS_DEFAULT 400

struct qcc_usage_retention {
  uint32_t detail_days;    /* request records older than this fold into rollups */
  uint32_t retention_days; /* rollups older than this are dropped */
};

struct qcc_usage_fold_stats {
  uint64_t kept;       /* request records kept as they are */
  uint64_t folded;     /* request records folded into rollups */
  uint64_t rollups;    /* rollup records written */
  uint64_t dropped;    /* records past retention */
  uint64_t size_before, size_after;
};

/* Rewrite the usage image IN[0..LEN) (a clean scan: header + whole records)
 * as of NOW_MS under RET into the file descriptor OUT (written from offset 0):
 * request records older than the detail cut (the start of the hour
 * detail_days before now) become hourly rollups, records older than
 * retention_days are dropped, everything else is copied unchanged. Memory is
 * bounded by the number of distinct rollup keys. */
int qcc_usage_fold(const uint8_t *in, size_t len, int64_t now_ms,
                   const struct qcc_usage_retention *ret, int out,
                   struct qcc_usage_fold_stats *st, struct qcc_err *err);

#endif
