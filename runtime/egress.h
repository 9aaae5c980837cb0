/* egress: how qcc-run reaches its upstreams, resolved once per table
 * generation (at load and at every reload) instead of once per connection:
 * the CA store TLS connections verify with, and the proxy they go through
 * (docs/upstream-network.md).
 *
 * Trust, per https endpoint: its ca_file (own or tls.ca_file) and tls.ca_path
 * when set, and only those; with neither, SSL_CERT_FILE / SSL_CERT_DIR when
 * set, else the system's CAs. Each distinct setting is one X509_STORE, loaded
 * here and shared by every connection (curl 7.88 would re-read the CA
 * directory for each new connection). Verification is never turned off.
 * libcurl is also handed a tag of the trust it takes part in matching with
 * (egress.c, trust_blob), so a pooled connection or TLS session is shared
 * only between endpoints with the same trust.
 *
 * Proxies: an endpoint's `proxy` (credentials from the variable its
 * `proxy_credentials_env` names, read here), else the environment's proxy
 * variables as libcurl reads them; loopback hosts (localhost, 127.0.0.0/8,
 * ::1) never go through any proxy, on top of the environment's no_proxy. */
#ifndef QCC_RUNTIME_EGRESS_H
#define QCC_RUNTIME_EGRESS_H

#include <curl/curl.h>

#include "schema/error.h"
#include "schema/table.h"

struct qcc_egress;

/* Build T's stores and proxy settings. Fails, naming the endpoint and the
 * file and why, when a CA file or directory cannot be used. */
int qcc_egress_new(const struct qcc_table *t, struct qcc_egress **out, struct qcc_err *err);
void qcc_egress_free(struct qcc_egress **eg);

/* Set EASY up for a transfer to endpoint EP of the same table: CA store,
 * peer and host verification, proxy and no-proxy list. Returns 0 or -1
 * (allocation failure in curl). EG must outlive the transfer (the
 * generation pins it). EG NULL (a generation built by hand in tests):
 * verification and the loopback bypass only, with curl's own CA defaults. */
int qcc_egress_apply(const struct qcc_egress *eg, const struct qcc_tbl_endpoint *ep, CURL *easy);

/* Where EP's CAs come from, for logs: "ca_file /etc/x.pem",
 * "SSL_CERT_FILE=/y", "system CAs"; "" for a plain-HTTP endpoint. */
const char *qcc_egress_trust_source(const struct qcc_egress *eg, const struct qcc_tbl_endpoint *ep);

/* The no-proxy list set on every transfer (for logs and tests). */
const char *qcc_egress_noproxy(const struct qcc_egress *eg);

/* Hosts no proxy is used for (the environment's no_proxy + loopback). */
#define QCC_EGRESS_LOOPBACK "localhost,127.0.0.0/8,::1"

#endif
