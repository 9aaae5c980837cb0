/* An Anthropic error object in an upstream answer that says success: a 200
 * whose JSON body is {"type":"error","error":{"type":..,"message":..}}
 * (relays do this), or the data of a stream's `event: error`. The exchange
 * treats either as a failed attempt; this reads the object and names the
 * HTTP status Anthropic gives that error type, so the endpoint is charged
 * as if it had answered that status. */
#ifndef QCC_RUNTIME_APIERROR_H
#define QCC_RUNTIME_APIERROR_H

#include <stdbool.h>
#include <stddef.h>

struct qcc_apierror {
  char type[48];     /* error.type, "api_error" when absent */
  char message[160]; /* error.message (cut), "" when absent */
};

/* True when BODY[0..LEN) is a JSON object whose "type" is "error". */
bool qcc_apierror_parse(const char *body, size_t len, struct qcc_apierror *out);

/* Anthropic's status for error TYPE: overloaded_error 529, rate_limit_error
 * 429, api_error 500, timeout_error 504, ...; 502 for a type it does not use. */
int qcc_apierror_status(const char *type);

#endif
