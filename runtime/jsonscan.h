/* jsonscan: the few facts qcc-run needs from a JSON request body, found in
 * one walk over its bytes without building a tree.
 *
 * The body is forwarded as bytes; routing needs at most the top-level
 * "model" (to map it, with its byte span so it can be spliced), "stream" and
 * "metadata"."user_id" (the sticky-session key). The scanner checks the top
 * level fully (keys, strings, numbers, literals, commas) and skips nested
 * values by structure only (strings closed, brackets matched, depth
 * bounded), so its cost per byte is a memchr inside strings. It never
 * allocates and never reads past LEN. Anything it cannot read is "not found". */
#ifndef QCC_RUNTIME_JSONSCAN_H
#define QCC_RUNTIME_JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Containers nested deeper than this (the top-level object counts as 1) make
 * the body unreadable here. jansson's own limit is 2048. */
#define QCC_JSONSCAN_MAX_DEPTH 4096
/* Top-level "model" members whose spans are kept: the first ones and the
 * last (other duplicates past this many are left as they are). */
#define QCC_JSONSCAN_MAX_MODELS 8

/* A string token in the body: BODY[off .. off+len), quotes included. */
struct qcc_json_span {
  size_t off;
  size_t len;
};

struct qcc_jsonscan_facts {
  bool object; /* the body is a JSON object as far as the scanner checks */
  /* The top-level "model" members whose value is a string, in body order:
   * all of them up to QCC_JSONSCAN_MAX_MODELS, else the first MAX - 1 and
   * the last. */
  unsigned model_count;
  struct qcc_json_span models[QCC_JSONSCAN_MAX_MODELS];
  /* The value a JSON parser would give: the LAST member of that name. */
  bool has_model;              /* the last "model" is a string: MODEL is it */
  struct qcc_json_span model;
  int stream;                  /* last "stream": 1 true, 0 false, -1 absent or not a bool */
  bool has_user_id;            /* last "metadata" is an object whose last "user_id" is a string */
  struct qcc_json_span user_id;
};

/* Scan BODY[0..LEN). Returns 0 with FACTS filled, or -1 when BODY is not a
 * JSON object (FACTS then says "nothing found": object false, counts 0,
 * stream -1). */
int qcc_jsonscan_body(const char *body, size_t len, struct qcc_jsonscan_facts *facts);

/* The top-level "stream" without a walk, when it is the body's last member
 * (where the SDKs and Claude Code put it): 1 true, 0 false, -1 when the
 * tail is anything else (then qcc_jsonscan_body says). For a JSON object
 * the tail's structure makes the answer exact (the last member wins, as in
 * a parser); for a body that is not JSON it is a guess the upstream's
 * refusal makes harmless. Reads at most the last few dozen bytes. */
int qcc_jsonscan_tail_stream(const char *body, size_t len);

/* Decode the string token TOK[0..LEN) (quotes included) into OUT as UTF-8,
 * not NUL-terminated. Returns the decoded length, or -1 when the token is
 * malformed (bad escape, lone surrogate, \u0000, control byte, invalid
 * UTF-8) or decodes to more than CAP bytes. */
long qcc_jsonscan_decode(const char *tok, size_t len, char *out, size_t cap);

/* JSON-encode S[0..LEN) as a string token (quotes included) into OUT when
 * OUT is non-NULL; returns the token's length either way. Bytes >= 0x80
 * pass through (S is UTF-8); '"', '\\' and control bytes are escaped. */
size_t qcc_jsonscan_encode(const char *s, size_t len, char *out);

#endif
