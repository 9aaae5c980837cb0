/* Which upstream origins (scheme://host:port) answered over HTTP/2, learned
 * from finished transfers (CURLINFO_HTTP_VERSION). The proxy sends requests
 * to a known-h2 origin on a multi handle of its own that bounds connections
 * per host (docs/upstream-network.md, "HTTP/2"): curl 7.88 opens a new TLS
 * connection for each stream past a server's concurrent-stream limit, and a
 * bound on the plain multi would queue HTTP/1.1 requests, one connection
 * each, behind each other. */
#ifndef QCC_RUNTIME_H2ORIGINS_H
#define QCC_RUNTIME_H2ORIGINS_H

#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>

struct qcc_h2origins;

struct qcc_h2origins *qcc_h2origins_new(void); /* NULL when out of memory */
void qcc_h2origins_free(struct qcc_h2origins **o);

/* True when URL's origin last answered over HTTP/2. */
bool qcc_h2origins_has(const struct qcc_h2origins *o, const char *url);
/* Record what EASY's finished transfer to URL spoke: HTTP/2 adds its origin,
 * HTTP/1.x removes it (a relay that changed), no response leaves it as is. */
void qcc_h2origins_learn(struct qcc_h2origins *o, const char *url, CURL *easy);
/* Same, with the version given (CURL_HTTP_VERSION_*); for tests. */
void qcc_h2origins_note(struct qcc_h2origins *o, const char *url, long version);

/* The length of URL's origin ("https://h:1/x" -> 11). */
size_t qcc_h2origins_origin_len(const char *url);

#endif
