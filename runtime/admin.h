/* The admin socket: a Unix-domain socket in the state directory
 * (STATE_DIR/admin.sock, mode 0600, only this user's peers are served)
 * speaking a small subset of HTTP/1.1 on the qcc-run loop, so that both
 * qccc and `curl --unix-socket` can talk to it (docs/admin-api.md).
 *
 * One request per connection: the server answers with Content-Length and
 * "Connection: close" and then closes. Routes come from the caller (the
 * handlers are runtime/adminapi*.c); this module only does sockets, parsing
 * (http_parser), routing by method + path pattern, and writing replies.
 *
 * Handlers may answer later (an endpoint test waits for its probe): a
 * request object lives until qcc_admin_reply* is called for it, exactly
 * once, even when its client has gone away meanwhile (the reply is then
 * dropped). Everything runs on the loop thread. */
#ifndef QCC_RUNTIME_ADMIN_H
#define QCC_RUNTIME_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "schema/error.h"

struct ev_loop;
struct qcc_admin;
struct qcc_admin_req;

#define QCC_ADMIN_SOCKET_NAME "admin.sock"
#define QCC_ADMIN_MAX_CONNECTIONS 32
#define QCC_ADMIN_MAX_HEAD 16384      /* request line + headers (431 beyond) */
#define QCC_ADMIN_MAX_BODY 65536      /* request body (413 beyond) */
#define QCC_ADMIN_MAX_REPLY (8u << 20) /* a bigger reply becomes a 500 */
#define QCC_ADMIN_IO_TIMEOUT 10.0     /* seconds to send the request / take the reply */
#define QCC_ADMIN_MAX_PARAMS 4

typedef void (*qcc_admin_handler)(struct qcc_admin_req *req, void *ctx);

struct qcc_admin_route {
  const char *method;  /* "GET" or "POST" */
  const char *pattern; /* "/endpoints/<asterisk>/enable": an asterisk segment
                          matches one path segment, read with
                          qcc_admin_req_param */
  qcc_admin_handler fn;
};

/* Create STATE_DIR (0700) if needed and listen on STATE_DIR/admin.sock.
 * Refuses (-1, err) when another live process answers on that path or the
 * path is something other than a socket; a stale socket file (nobody
 * listening) is removed first. ROUTES must outlive the server; CTX is passed
 * to every handler. */
int qcc_admin_open(struct ev_loop *loop, const char *state_dir,
                   const struct qcc_admin_route *routes, size_t route_count, void *ctx,
                   struct qcc_admin **out, struct qcc_err *err);
/* The same server on a TCP port, for read-only routes (the metrics port).
 * HOST must be a loopback address (127.0.0.0/8 or ::1, numeric): anything
 * else is refused (EACCES), since TCP peers cannot be told apart by user.
 * PORT 0 picks a free port (see qcc_admin_port). */
int qcc_admin_open_tcp(struct ev_loop *loop, const char *host, int port,
                       const struct qcc_admin_route *routes, size_t route_count, void *ctx,
                       struct qcc_admin **out, struct qcc_err *err);
/* True for a numeric loopback address (127.0.0.0/8, ::1). */
bool qcc_admin_is_loopback(const char *host);
/* The bound TCP port (0 for the Unix socket). */
int qcc_admin_port(const struct qcc_admin *a);
/* Stop listening, close every connection (pending requests become
 * orphans: their replies are dropped) and remove the socket file if it is
 * still the one we created. */
void qcc_admin_close(struct qcc_admin **a);
const char *qcc_admin_path(const struct qcc_admin *a);
size_t qcc_admin_connections(const struct qcc_admin *a);

/* ---- the request a handler gets ---- */
const char *qcc_admin_req_method(const struct qcc_admin_req *r);
const char *qcc_admin_req_path(const struct qcc_admin_req *r); /* without the query */
/* The Ith asterisk segment of the route, percent-decoded; NULL past the end. */
const char *qcc_admin_req_param(const struct qcc_admin_req *r, size_t i);
/* A query parameter, decoded; NULL when absent. */
const char *qcc_admin_req_query(const struct qcc_admin_req *r, const char *name);
/* The body (NUL-terminated; may hold NULs), "" when none. */
const char *qcc_admin_req_body(const struct qcc_admin_req *r, size_t *len);
/* True once the client has disconnected (a reply would be dropped). */
bool qcc_admin_req_orphaned(const struct qcc_admin_req *r);

/* ---- replies: exactly one per request; frees the request ---- */
void qcc_admin_reply(struct qcc_admin_req *r, int status, const char *content_type,
                     const char *body, size_t len);
/* Takes the reference to BODY (NULL = out of memory -> 500). */
void qcc_admin_reply_json(struct qcc_admin_req *r, int status, json_t *body);
/* {"error": MESSAGE} */
void qcc_admin_reply_error(struct qcc_admin_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Run one route in-process, as if a client of the socket had sent METHOD
 * PATH (no query) with BODY: the status page's actions and reads go through
 * the same handlers as qccc's. FN gets the reply exactly once, maybe before
 * this returns. -1 (FN never called) when no route matches or out of memory. */
typedef void (*qcc_admin_reply_fn)(void *arg, int status, const char *content_type,
                                   const char *body, size_t len);
int qcc_admin_invoke(const struct qcc_admin_route *routes, size_t route_count, void *ctx,
                   const char *method, const char *path, const char *body, size_t body_len,
                   qcc_admin_reply_fn fn, void *arg);

/* Reason phrase of an HTTP status ("Not Found"). */
const char *qcc_admin_status_text(int status);

#endif
