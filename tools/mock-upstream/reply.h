/* Anthropic Messages API shaped bodies: the message object, the SSE event
 * sequence, errors, models and count_tokens. Appends to a mock_buf; the
 * server adds the HTTP framing. */
#ifndef QCC_MOCK_REPLY_H
#define QCC_MOCK_REPLY_H

#include <stddef.h>

#include "buf.h"

struct mock_reply_ctx {
	const char *name;  /* upstream name, named in the answer text */
	const char *model; /* echoed from the request */
	const char *id;    /* msg_... */
	long input_tokens;
	int deltas;        /* number of text deltas (>= 1) */
	long cache_5m, cache_1h, cache_read; /* 0,0,0: no cache_creation split */
};

/* Text of delta i (appends raw, unescaped, text). */
int mock_reply_delta_text(struct mock_buf *out, const struct mock_reply_ctx *c, int i);
/* Full non-streaming message JSON; its text is all deltas concatenated. */
int mock_reply_message(struct mock_buf *out, const struct mock_reply_ctx *c);
/* Number of SSE events for the given number of deltas. */
int mock_reply_event_count(int deltas);
/* SSE event k (0-based) of the stream: "event: X\ndata: {...}\n\n". */
int mock_reply_event(struct mock_buf *out, const struct mock_reply_ctx *c, int k);
/* {"type":"error","error":{"type":T,"message":M}} for an HTTP status. */
int mock_reply_error(struct mock_buf *out, int status, const char *message);
const char *mock_reply_error_type(int status);
const char *mock_reply_reason(int status);
int mock_reply_models(struct mock_buf *out);
/* One model object, or -1 when id is unknown. */
int mock_reply_model(struct mock_buf *out, const char *id, size_t idlen);
int mock_reply_count_tokens(struct mock_buf *out, long input_tokens);

#endif
