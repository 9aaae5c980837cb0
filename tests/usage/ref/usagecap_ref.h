/* The capture as it was before the fast paths (ebc3fe6..fb44f30), kept only
 * as the reference of the differential test (test_diff.c): same input,
 * same counts. Symbols renamed ref_*; not linked into anything shipped. */
#ifndef REF_USAGECAP_H
#define REF_USAGECAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/usage.h"

#define REF_USAGECAP_DEPTH 8 /* JSON nesting followed; deeper values are skipped */

enum ref_usagecap_kind { REF_USAGECAP_OFF = 0, REF_USAGECAP_SSE, REF_USAGECAP_JSON };

enum { REF_UC_IN, REF_UC_OUT, REF_UC_CW, REF_UC_CR, REF_UC_5M, REF_UC_1H, REF_UC_N };

struct ref_usagecap {
  uint8_t kind;        /* enum ref_usagecap_kind */
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
  uint8_t field_id;    /* the value being read is this count (REF_UC_N: none) */
  int depth;           /* containers open */
  uint8_t tag[REF_USAGECAP_DEPTH];  /* what each open container is */
  uint8_t obj[REF_USAGECAP_DEPTH];  /* 1 object, 0 array */
  uint8_t ndig;
  bool nbad;
  int64_t num;
  /* results: -2 absent, -1 unknown (malformed), else the count */
  bool seen;           /* a usage object was found */
  int64_t v[REF_UC_N];
};

/* Start reading an answer of the given kind (OFF: feed does nothing). */
void ref_usagecap_begin(struct ref_usagecap *c, enum ref_usagecap_kind kind);
void ref_usagecap_feed(struct ref_usagecap *c, const char *p, size_t len);
/* What was read so far (a cut stream gives what arrived). False when no
 * usage object was seen (then every kind is QCC_USAGE_UNKNOWN). */
bool ref_usagecap_result(const struct ref_usagecap *c, struct qcc_usage_tokens *out);

#endif
