/* qccc's side of the admin socket (docs/admin-api.md): connect to
 * STATE_DIR/admin.sock, send one HTTP/1.1 request, read the whole reply
 * (the server closes after it), parse the JSON body.
 *
 * Errors are values. A socket that is missing or refuses connections means
 * qcc-run is not running: err->code is QCC_ADMIN_NOT_RUNNING and the
 * message says where it looked and how to start it. */
#ifndef QCC_COMPILER_ADMINCLIENT_H
#define QCC_COMPILER_ADMINCLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "schema/error.h"

#define QCC_ADMIN_NOT_RUNNING 1001 /* err->code: nobody listens on the socket */
#define QCC_ADMIN_BAD_REPLY 1002   /* err->code: the reply is not what we speak */
#define QCC_ADMINCLIENT_MAX_REPLY (16u << 20)

struct qcc_admin_reply {
  int status;    /* HTTP status */
  char *body;    /* NUL-terminated */
  size_t len;
  json_t *json;  /* parsed body when it is JSON, else NULL */
};

/* STATE_DIR/admin.sock for the --state-dir flag value (or NULL: env, ~/.qcc). */
int qcc_admin_socket_path(const char *state_dir_flag, char *out, size_t cap, struct qcc_err *err);

/* METHOD PATH with BODY (NULL = none; sent as application/json). Waits at
 * most TIMEOUT_MS for the whole exchange (0 = 30 s). A non-2xx status is
 * not an error here: the caller reads reply->status and the "error" field
 * (qcc_admin_reply_error_text). */
int qcc_admin_call(const char *socket_path, const char *method, const char *path,
                   const char *body, int timeout_ms, struct qcc_admin_reply *reply,
                   struct qcc_err *err);
void qcc_admin_reply_free(struct qcc_admin_reply *reply);
/* The "error" message of a JSON error reply, else a generic text. */
const char *qcc_admin_reply_error_text(const struct qcc_admin_reply *reply);

#endif
