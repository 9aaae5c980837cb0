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
  /* Found by qcc_jsonscan_quick without reading the body's middle: MODEL,
   * STREAM and USER_ID are exact, but MODELS holds only MODEL and OBJECT
   * was not checked past the members read (a model map walks the body). */
  bool quick;
};

/* Scan BODY[0..LEN). Returns 0 with FACTS filled, or -1 when BODY is not a
 * JSON object (FACTS then says "nothing found": object false, counts 0,
 * stream -1). */
int qcc_jsonscan_body(const char *body, size_t len, struct qcc_jsonscan_facts *facts);

/* Bodies shorter than this go through qcc_jsonscan_body from
 * qcc_jsonscan_quick: a walk over them costs little. */
#define QCC_JSONSCAN_QUICK_MIN 8192
/* Bytes at the body's end that qcc_jsonscan_bounded reads backwards at most
 * (Claude Code puts tools, metadata and the small settings there). */
#define QCC_JSONSCAN_TAIL_BUDGET (128 * 1024)

/* The top-level "model", "stream" and "metadata"."user_id" of a big body
 * without walking its middle (the message history). Members are read from
 * the front while their values are not containers ("model" comes first)
 * and from the back, where values are skipped backwards (strings by their
 * quotes, containers by their brackets) up to QCC_JSONSCAN_TAIL_BUDGET
 * bytes. For any JSON object the result is what qcc_jsonscan_body gives
 * (the LAST member of a name wins, as in jansson): a member read from the
 * back is the last one; one read from the front is kept only when no
 * token in the unread middle that could be a later member of that name
 * (the literal key, or any \u escape of a letter) is at the top level: a
 * token near the end is read over from the back, others get their depth
 * counted forward from the front (strings masked, brackets counted, 64
 * bytes a step). A token at depth 1, or a front or back that is not JSON,
 * makes it walk the whole body. For a body that is
 * not JSON the facts may be a guess the upstream's refusal makes harmless
 * (the middle is not checked). Returns 0 with FACTS (QUICK set when the
 * middle was skipped), or -1 as qcc_jsonscan_body. */
int qcc_jsonscan_bounded(const char *body, size_t len, struct qcc_jsonscan_facts *facts);

/* qcc_jsonscan_bounded for bodies of QCC_JSONSCAN_QUICK_MIN bytes or more,
 * qcc_jsonscan_body below. */
int qcc_jsonscan_quick(const char *body, size_t len, struct qcc_jsonscan_facts *facts);

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
