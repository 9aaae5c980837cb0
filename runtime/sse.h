/* An incremental reader of server-sent events (the WHATWG "event stream"
 * format, as the Anthropic Messages API streams): bytes go in as they come
 * from the upstream, split anywhere; out come the events, one at a time, as
 * their blank line ends them. Only what the exchange needs is kept: the
 * event's name (the `event:` field) and the first bytes of its data, enough
 * to tell a `content_block_delta` from an `error` and to quote the error.
 *
 * Lines end in LF, CRLF or a lone CR (a CRLF split across two feeds is one
 * line end). A field is "name: value" with one optional space after the
 * colon; lines starting with ':' are comments; unknown fields are ignored.
 * Names and data longer than the buffers are cut (and flagged), never an
 * error: every byte sequence is a valid input. No allocation. */
#ifndef QCC_RUNTIME_SSE_H
#define QCC_RUNTIME_SSE_H

#include <stdbool.h>
#include <stddef.h>

#define QCC_SSE_NAME_MAX 48   /* longest event name kept ("content_block_delta" is 19) */
#define QCC_SSE_DATA_MAX 512  /* data bytes kept per event (an error event is ~120) */
#define QCC_SSE_FIELD_MAX 8   /* field names longer than "event"/"data" are ignored */

struct qcc_sse {
  int state;
  bool after_cr;                  /* the last byte was a CR: a LF next is part of it */
  bool has_field;                 /* the current event has a field (it dispatches) */
  unsigned field_len;             /* bytes of the current line's field name */
  char field[QCC_SSE_FIELD_MAX];
  bool dispatched;                /* an event was returned: cleared at the next byte */
  unsigned events;                /* events dispatched so far */
  /* the event being read; valid from a QCC_SSE_EVENT return to the next feed */
  char name[QCC_SSE_NAME_MAX + 1];
  size_t name_len;
  bool name_cut;
  char data[QCC_SSE_DATA_MAX + 1];
  size_t data_len;
  bool data_cut;
  bool data_line;                 /* a data line was seen: the next one adds a LF */
};

enum qcc_sse_status {
  QCC_SSE_MORE = 0,  /* all input read, no event completed */
  QCC_SSE_EVENT = 1, /* an event completed: name/data hold it; feed the rest */
};

void qcc_sse_init(struct qcc_sse *s);

/* Reads IN[0..LEN) up to the end of the next event. *USED is set to the
 * bytes read (all of them with QCC_SSE_MORE); with QCC_SSE_EVENT, the
 * caller feeds IN + *USED next. An event without any field (a blank line
 * alone) is not an event. */
enum qcc_sse_status qcc_sse_feed(struct qcc_sse *s, const char *in, size_t len, size_t *used);

/* True when the completed event's name is NAME. */
bool qcc_sse_is(const struct qcc_sse *s, const char *name);

#endif
