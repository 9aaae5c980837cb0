/* Header rules for forwarding: which request headers go upstream, which
 * response headers come back, and how the endpoint's key is presented.
 * Pure functions over struct qcc_header (exchange.h), no allocation, so the
 * rules are unit-tested apart from the network code. Names compare
 * case-insensitively (RFC 9110 5.1). */
#ifndef QCC_RUNTIME_HEADERS_H
#define QCC_RUNTIME_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "exchange.h"
#include "schema/enums.h"

/* Case-insensitive name equality; NAME2 is NUL-terminated. Inline: with a
 * literal NAME2 the length test is a constant and most calls stop there
 * (every header is checked against a dozen names per request). */
static inline bool qcc_hdr_name_is(const char *name, size_t len, const char *name2) {
  return len == __builtin_strlen(name2) && strncasecmp(name, name2, len) == 0;
}

/* Hop-by-hop by definition: Connection, Keep-Alive, Proxy-*, TE, Trailer,
 * Transfer-Encoding, Upgrade (and HTTP2-Settings). */
bool qcc_hdr_is_hop_by_hop(const char *name, size_t len);

/* True when H's comma-separated value lists TOKEN, case-insensitively
 * ("gzip, chunked" lists "chunked"). */
bool qcc_hdr_value_has_token(const struct qcc_header *h, const char *token);

/* True when a Connection header among H[0..N) lists a token that is not
 * itself hop-by-hop ("Connection: keep-alive" names none that matter, so
 * the per-header qcc_hdr_named_by_connection scan can be skipped). */
bool qcc_hdr_connection_names_more(const struct qcc_header *h, size_t n);

/* True when a Connection header among H[0..N) lists NAME as a token
 * ("Connection: close, X-Foo" makes X-Foo hop-by-hop). */
bool qcc_hdr_named_by_connection(const struct qcc_header *h, size_t n, const char *name,
                                 size_t len);

/* A name/value that cannot be forwarded verbatim (empty name, CR, LF, NUL,
 * or a colon in the name): dropped rather than risk header injection. */
bool qcc_hdr_is_unsafe(const struct qcc_header *h);

/* Client request header H (one of ALL[0..N)) is not sent upstream: the
 * client's credentials (x-api-key, Authorization), hop-by-hop headers,
 * Host/Content-Length (curl derives them), Expect (we send the body at once). */
bool qcc_hdr_drop_request(const struct qcc_header *all, size_t n, const struct qcc_header *h);

/* Upstream response header H is not passed to the client: hop-by-hop ones,
 * and Content-Length (the framing is the client side's; the length travels
 * as head()'s content_length). */
bool qcc_hdr_drop_response(const struct qcc_header *all, size_t n, const struct qcc_header *h);

/* Write the credential header line for KEY in endpoint auth STYLE into BUF
 * ("x-api-key: K" or "Authorization: Bearer K", NUL-terminated, no CRLF).
 * Returns the length, or -1 when CAP is too small or STYLE unknown. */
int qcc_hdr_auth_line(enum qcc_auth_style style, const char *key, char *buf, size_t cap);

/* "Name: value" into BUF for a forwarded header (curl's slist form; an empty
 * value is written "Name;" which is how curl sends an empty header).
 * Returns the length, or -1 when CAP is too small. */
int qcc_hdr_line(const struct qcc_header *h, char *buf, size_t cap);

/* Parse one response header line from curl's header callback (may end in
 * CRLF). Returns 1 for "Name: value" (OWS trimmed; pointers into LINE),
 * 0 for the empty line that ends a header block, -1 when malformed. */
int qcc_hdr_parse_line(const char *line, size_t len, struct qcc_header *out);

/* The next well-formed "Name: value" line of a stored head BUF[0..LEN)
 * (lines end in LF), from *AT on: true with OUT filled and *AT past it,
 * false at the end. Malformed lines are skipped. */
bool qcc_hdr_next(const char *buf, size_t len, size_t *at, struct qcc_header *out);

/* A Content-Length value: 1*DIGIT, at most 18 digits. -1 when it is not one. */
int64_t qcc_hdr_content_length(const struct qcc_header *h);

/* Parse a status line "HTTP/1.1 200 OK" / "HTTP/2 200". Returns the status
 * (100..999) or -1 when LINE is not a status line. */
int qcc_hdr_parse_status(const char *line, size_t len);

#endif
