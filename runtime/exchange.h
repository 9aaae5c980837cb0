/* One forwarded request/response exchange: the seam between the client side
 * (runtime/client.c: inbound HTTP/1.1) and the upstream side (runtime/proxy.c:
 * libcurl multi-socket). The client side parses and buffers a whole request,
 * then starts an exchange; the upstream side picks an endpoint (select.c),
 * forwards, and streams the response back through the sink below. */
#ifndef QCC_RUNTIME_EXCHANGE_H
#define QCC_RUNTIME_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "generation.h"

struct ev_loop;

struct qcc_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
};

/* Owned by the client side; valid until the exchange calls done() or is cancelled. */
struct qcc_request {
  const char *method;          /* "POST" */
  const char *target;          /* path + query: "/v1/messages?beta=true" */
  const struct qcc_header *headers; /* as received, in order (including hop-by-hop) */
  size_t header_count;
  const char *body;            /* whole body (de-chunked), may be NULL when len 0 */
  size_t body_len;
  const char *request_id;      /* also sent back as x-request-id... see client.c */
  const char *client;          /* name of the client token that admitted it, NULL = none */
  uint32_t client_slot;        /* that token's index in gen's table + 1, 0 = none (budgets) */
  struct qcc_generation *gen;  /* pinned by the client side for this request */
};

/* An endpoint tried before the one that answered, and why it was left. */
struct qcc_exchange_try {
  const char *endpoint;
  int status;         /* HTTP status, 0 = no response */
  const char *reason; /* short, no secrets; "" when the status says it */
};

struct qcc_usage_tokens;

/* What happened, for the access log and, when no head was sent yet, the error reply. */
struct qcc_exchange_result {
  int status;                  /* status sent to the client (upstream's, or our error) */
  int upstream_status;         /* 0 when no upstream answered */
  const char *endpoint_id;     /* NULL when none was chosen */
  uint64_t ttfb_us;            /* request start -> first response byte from upstream */
  uint64_t bytes_up;           /* request body bytes sent upstream */
  uint64_t bytes_down;         /* response body bytes handed to the sink */
  int failed;                  /* 1 when the exchange failed (incl. broken mid-stream) */
  const char *error_type;      /* Anthropic error type when we produced the error
                                  ("api_error", "overloaded_error", ...), else NULL */
  const char *error_message;   /* human message, no secrets */
  uint32_t retry_after_s;      /* our own 429/529: seconds the client should wait, 0 = none */
  /* a /v1/messages answer's model (as sent upstream) and usage, else NULL */
  const char *model;
  const struct qcc_usage_tokens *tokens;
  const int64_t *cost_pico;    /* its priced cost in pico-USD, INT64_MIN = no price; NULL = none */
  const struct qcc_exchange_try *tried; /* endpoints that failed first, in order */
  size_t tried_count;
};

/* Implemented by the client side. All calls happen on the loop thread. */
struct qcc_sink_ops {
  /* Upstream status and end-to-end headers (hop-by-hop already dropped).
   * content_length < 0 means unknown: the client side then uses chunked. */
  void (*head)(void *ctx, int status, const struct qcc_header *h, size_t n,
               int64_t content_length);
  /* Body bytes, in order. Returns 0 to continue, 1 when the client's output
   * buffer is over its cap: the exchange pauses until qcc_exchange_resume(). */
  int (*body)(void *ctx, const char *data, size_t len);
  /* Always called exactly once, last (never after cancel). If head() was not
   * called, the client side answers with res->status and an Anthropic-shaped
   * error JSON {"type":"error","error":{"type":..,"message":..}}. If head()
   * was called and res->failed, the stream broke mid-way. */
  void (*done)(void *ctx, const struct qcc_exchange_result *res);
};

struct qcc_proxy;    /* upstream side: curl multi handle bound to the loop */
struct qcc_exchange;

int qcc_proxy_new(struct ev_loop *loop, struct qcc_proxy **out, struct qcc_err *err);
void qcc_proxy_free(struct qcc_proxy **p);
/* Number of exchanges in flight (graceful drain waits for 0). */
size_t qcc_proxy_active(const struct qcc_proxy *p);

/* Start forwarding REQ. Returns NULL only on allocation failure (the client
 * side then answers 500 itself). The sink ctx must stay valid until done(). */
struct qcc_exchange *qcc_exchange_start(struct qcc_proxy *p, const struct qcc_request *req,
                                        const struct qcc_sink_ops *ops, void *ctx);
/* The sink drained below its cap: continue delivering body. */
void qcc_exchange_resume(struct qcc_exchange *x);
/* Client went away: abort the upstream transfer now; done() is NOT called. */
void qcc_exchange_cancel(struct qcc_exchange **x);

#endif
