/* The upstream's response head, read line by line as libcurl hands it over
 * (CURLOPT_HEADERFUNCTION): the status, the lines of the final block kept
 * for the client, and what the exchange decides from them (chunked framing,
 * SSE or JSON, Content-Length, how long the upstream asks to be rested).
 * A 1xx block is replaced by the next one; trailers after the final block
 * are ignored. The stored lines are capped (QCC_UPHEAD_MAX). */
#ifndef QCC_RUNTIME_UPHEAD_H
#define QCC_RUNTIME_UPHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exchange.h"

#define QCC_UPHEAD_MAX (64 * 1024) /* response head bytes we accept */
#define QCC_UPHEAD_SPANS 32        /* lines whose parse is kept (more: parsed again) */

/* Where a stored line's name and value are in BUF (offsets: BUF moves). */
struct qcc_uphead_span {
  uint32_t name_off, value_off;
  uint16_t name_len, value_len; /* a line fits QCC_UPHEAD_MAX */
};

struct qcc_uphead {
  int status;     /* of the current block, 0 before the status line */
  bool done;      /* the final (non-1xx) block ended */
  bool chunked;   /* Transfer-Encoding lists chunked */
  bool is_sse;    /* Content-Type text/event-stream */
  bool is_json;   /* Content-Type application/json */
  bool te;        /* any Transfer-Encoding line */
  bool connection; /* a Connection line (it may name others to drop) */
  bool has_clen;  /* a Content-Length line; CLEN is the last one's (-1: unreadable) */
  int64_t clen;
  char *buf;      /* the block's lines, each ending in LF; NUL after them */
  size_t len, cap;
  /* Each line is parsed once, as it comes: forward() reads these, not BUF. */
  size_t nspans; /* lines stored; past QCC_UPHEAD_SPANS only counted */
  struct qcc_uphead_span spans[QCC_UPHEAD_SPANS];
};

enum qcc_uphead_step {
  QCC_UPHEAD_MORE = 0,    /* a line taken (or ignored): more to come */
  QCC_UPHEAD_END = 1,     /* the final block ended: STATUS and the lines are complete */
  QCC_UPHEAD_TOO_BIG = -1, /* the head is past QCC_UPHEAD_MAX */
  QCC_UPHEAD_NOMEM = -2,
};

/* Zeroed = empty. */
enum qcc_uphead_step qcc_uphead_feed(struct qcc_uphead *h, const char *line, size_t len);

/* Retry-After in seconds (0 when absent or not a number), and the seconds
 * until the latest reset of an Anthropic rate limit whose remaining count is
 * 0 (anthropic-ratelimit-*-remaining / -reset; 0 when none). */
void qcc_uphead_rest_hints(const struct qcc_uphead *h, uint32_t *retry_after_s,
                           uint32_t *reset_s);

/* The Content-Length, -1 when absent or unreadable. */
int64_t qcc_uphead_content_length(const struct qcc_uphead *h);

/* The headers to pass to the client (qcc_hdr_drop_response applied) as a
 * new array in *OUT (the caller frees it; it points into H's lines, valid
 * until H changes) and their count, and the body length to announce:
 * 0 when NO_BODY, -1 when chunked or unknown. -1 when out of memory. */
int qcc_uphead_forward(const struct qcc_uphead *h, bool no_body, struct qcc_header **out,
                       size_t *n, int64_t *clen);

/* Frees the lines (the status and flags stay). */
void qcc_uphead_clear(struct qcc_uphead *h);

#endif
