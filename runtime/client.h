/* One inbound connection: HTTP/1.1 parsed by http_parser, one request at a
 * time (pipelined requests wait in the input buffer), limits from the
 * current table's settings, routing (/healthz, /v1/ -> an exchange, else
 * 404), client auth, and the response writer that implements the exchange
 * sink (exchange.h). Everything runs on the loop thread. */
#ifndef QCC_RUNTIME_CLIENT_H
#define QCC_RUNTIME_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct qcc_tableset;
struct qcc_proxy;
struct qcc_accesslog;
struct qcc_budgetgate;
struct qcc_client;
struct qcc_request;
struct qcc_sink_ops;
struct qcc_page_call;

/* Shared by every connection of one listener; owned by the server. */
struct qcc_tlsserver;

struct qcc_client_env {
  struct ev_loop *loop;
  struct qcc_tableset *tables;
  struct qcc_proxy *proxy;
  struct qcc_accesslog *alog; /* NULL = no access log */
  struct qcc_budgetgate *budget; /* client tokens' budgets (runtime/budgetgate.h), NULL = none */
  struct qcc_tlsserver *tls;  /* new connections speak TLS with it; NULL = plain */
  bool draining;              /* answer with Connection: close, accept no new request */
  /* The status page (runtime/statuspage.h) for targets under /qcc/, shaped
   * like an exchange; NULL page: those answer 404. Never forwarded. */
  void *page;
  bool (*page_owns)(const char *target, size_t len);
  struct qcc_page_call *(*page_start)(void *page, const struct qcc_request *req,
                                      const struct qcc_sink_ops *ops, void *sink);
  void (*page_cancel)(struct qcc_page_call *call);
  /* A connection finished (closed its socket). The owner frees it with
   * qcc_client_free; the client does not touch itself after this call. */
  void (*closed)(void *ctx, struct qcc_client *c);
  void *ctx;
};

/* Take ownership of FD (already non-blocking) and start reading. */
int qcc_client_new(struct qcc_client_env *env, int fd, struct qcc_client **out);
/* Close now: an exchange in flight is cancelled. NULLs *c. Never calls closed(). */
void qcc_client_free(struct qcc_client **c);
/* Graceful stop: an idle connection closes at once (via closed()); a busy one
 * finishes its current response and then closes. */
void qcc_client_drain(struct qcc_client *c);
/* One pointer for the owner (its list node). */
void qcc_client_set_tag(struct qcc_client *c, void *tag);
void *qcc_client_tag(const struct qcc_client *c);
/* True while an exchange is in flight on this connection. */
bool qcc_client_busy(const struct qcc_client *c);

/* 16 lowercase hex chars + NUL, unique within the process. */
void qcc_request_id_next(char out[17]);

#endif
