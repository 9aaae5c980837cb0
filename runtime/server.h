/* The listener: accepts connections on one address (IPv4 or IPv6), enforces
 * max_connections (refusals get a 503, are counted in the metrics and logged
 * at most once a second), survives EMFILE, tracks every open connection and
 * drains them on shutdown. qcc_server_new raises the process's soft
 * RLIMIT_NOFILE to the hard limit, and a warning says when max_connections
 * cannot fit in it (docs/inbound.md). Connections
 * themselves are runtime/client.c. */
#ifndef QCC_RUNTIME_SERVER_H
#define QCC_RUNTIME_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/error.h"

struct ev_loop;
struct qcc_tableset;
struct qcc_proxy;
struct qcc_accesslog;
struct qcc_budgetgate;
struct qcc_server;

struct qcc_server_opts {
  struct qcc_tableset *tables;
  struct qcc_proxy *proxy;
  struct qcc_accesslog *alog; /* NULL = no access log */
  struct qcc_budgetgate *budget; /* NULL = no client budgets */
};

/* "HOST:PORT", "[V6]:PORT" -> host (brackets removed) and port. */
int qcc_parse_hostport(const char *s, char *host, size_t cap, uint16_t *port, struct qcc_err *err);

int qcc_server_new(struct ev_loop *loop, const struct qcc_server_opts *o, struct qcc_server **out,
                   struct qcc_err *err);
/* Bind and listen (port 0 = any free port), then start accepting. */
int qcc_server_listen(struct qcc_server *s, const char *host, uint16_t port, struct qcc_err *err);
/* The bound address: loopback or not, and "HOST:PORT" text for logs. */
bool qcc_server_is_loopback(const struct qcc_server *s);
const char *qcc_server_address(const struct qcc_server *s);
size_t qcc_server_connections(const struct qcc_server *s);
/* Connections accepted from now on speak TLS with TLS (not owned; NULL =
 * plain). Open connections keep what they were accepted with. */
struct qcc_tlsserver;
void qcc_server_set_tls(struct qcc_server *s, struct qcc_tlsserver *tls);
/* Targets under /qcc/ go to the status page (statuspage.h) from now on;
 * PAGE NULL: they answer 404. */
struct qcc_request;
struct qcc_sink_ops;
struct qcc_page_call;
void qcc_server_set_page(struct qcc_server *s, void *page,
                         bool (*owns)(const char *target, size_t len),
                         struct qcc_page_call *(*start)(void *page, const struct qcc_request *req,
                                                        const struct qcc_sink_ops *ops, void *sink),
                         void (*cancel)(struct qcc_page_call *call));
/* Stop accepting, close idle connections, let busy ones finish; DONE runs
 * once all are closed or after TIMEOUT seconds (then the rest are cut). */
void qcc_server_drain(struct qcc_server *s, double timeout, void (*done)(void *ctx), void *ctx);
void qcc_server_free(struct qcc_server **s);

#endif
