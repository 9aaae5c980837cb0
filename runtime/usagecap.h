/* Usage capture: the token counts of one /v1/messages answer, read from its
 * bytes as they pass to the client, without copying the body or building a
 * JSON tree (docs/usage.md, "Capture").
 *
 * An event stream: the `data:` of `message_start` (message.usage) and of
 * every `message_delta` (usage; the last one wins: output_tokens is
 * cumulative, input fields when present override); the data of every other
 * event is skipped with memchr to its line end. Events without an `event:`
 * line are read too (a relay that drops the names still counts). A JSON
 * answer: its top-level "usage" object.
 *
 * Counts: input_tokens, output_tokens, cache_creation_input_tokens,
 * cache_read_input_tokens, and cache_creation.{ephemeral_5m_input_tokens,
 * ephemeral_1h_input_tokens}: when that split is present it is used, else
 * every cache write counts as 5-minute. A count that is not a plain
 * non-negative integer <= 2^40 is QCC_USAGE_UNKNOWN; no usage object at all
 * makes every kind unknown. Input may be split anywhere (every byte sequence
 * is valid input; nothing allocates). Lines ending in a lone CR are not
 * split (Anthropic ends lines with LF): such a stream reads as unknown. */
#ifndef QCC_RUNTIME_USAGECAP_H
#define QCC_RUNTIME_USAGECAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/usage.h"

#define QCC_USAGECAP_DEPTH 8 /* JSON nesting followed; deeper values are skipped */

enum qcc_usagecap_kind { QCC_USAGECAP_OFF = 0, QCC_USAGECAP_SSE, QCC_USAGECAP_JSON };

enum { QCC_UC_IN, QCC_UC_OUT, QCC_UC_CW, QCC_UC_CR, QCC_UC_5M, QCC_UC_1H, QCC_UC_N };

struct qcc_usagecap {
  uint8_t kind;        /* enum qcc_usagecap_kind */
  /* SSE line state */
  uint8_t line;
  uint8_t flen;
  char field[6];
  uint8_t evlen;
  char ev[20];
  bool ev_named;       /* the current event has an event: line */
  bool ev_usage;       /* ... naming message_start or message_delta */
  /* JSON state */
  uint8_t tok;
  bool esc;            /* in a string, the last byte was a backslash */
  bool expect_key;     /* in an object, before a key */
  bool dead;           /* the document is unreadable: skip to its end */
  uint8_t klen;
  char key[32];
  uint8_t kid;         /* the last key read, if one that can lead to usage */
  uint8_t field_id;    /* the value being read is this count (QCC_UC_N: none) */
  int depth;           /* containers open */
  uint8_t ctag;        /* the innermost one's tag, and */
  bool cobj;           /* ... whether it is an object */
  uint8_t tag[QCC_USAGECAP_DEPTH];  /* what each open container is */
  uint8_t obj[QCC_USAGECAP_DEPTH];  /* 1 object, 0 array */
  uint8_t ndig;
  bool nbad;
  int64_t num;
  /* results: -2 absent, -1 unknown (malformed), else the count */
  bool seen;           /* a usage object was found */
  int64_t v[QCC_UC_N];
};

/* Start reading an answer of the given kind (OFF: feed does nothing). */
void qcc_usagecap_begin(struct qcc_usagecap *c, enum qcc_usagecap_kind kind);
void qcc_usagecap_feed(struct qcc_usagecap *c, const char *p, size_t len);
/* What was read so far (a cut stream gives what arrived). False when no
 * usage object was seen (then every kind is QCC_USAGE_UNKNOWN). */
bool qcc_usagecap_result(const struct qcc_usagecap *c, struct qcc_usage_tokens *out);

#endif
