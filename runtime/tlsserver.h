/* TLS on the listener (proxy.ssl_enabled): one OpenSSL server context built
 * from the table's PEM certificate and key, TLS 1.2 and newer, modern
 * ciphers, ALPN "http/1.1" (the inbound side speaks nothing else).
 *
 * A context is immutable once built. A reload (hot swap, SIGHUP) builds a
 * new one and the owner swaps it in; connections already open keep the
 * context they were accepted with (OpenSSL counts its references), so the
 * old one may be freed at once.
 *
 * Connections: qcc_tlsserver_wrap gives an SSL in accept state on a
 * non-blocking socket; runtime/client.c drives it with qcc_tls_read and
 * qcc_tls_write, which answer like recv/send (bytes, 0 at the peer's end,
 * -1 with errno EAGAIN when the socket must become readable or writable
 * first, as *WANT says). */
#ifndef QCC_RUNTIME_TLSSERVER_H
#define QCC_RUNTIME_TLSSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "schema/error.h"

struct qcc_tlsserver;
typedef struct ssl_st SSL;

/* Load CERT_PATH (PEM, leaf first, chain after) and KEY_PATH (PEM) and
 * check they match. Errors name the file and OpenSSL's reason. */
int qcc_tlsserver_new(const char *cert_path, const char *key_path, struct qcc_tlsserver **out,
                      struct qcc_err *err);
void qcc_tlsserver_free(struct qcc_tlsserver **s);

/* A server-side SSL for FD (not owned: the caller closes it), or NULL. */
SSL *qcc_tlsserver_wrap(struct qcc_tlsserver *s, int fd);

enum qcc_tls_want { QCC_TLS_WANT_NONE = 0, QCC_TLS_WANT_READ = 1, QCC_TLS_WANT_WRITE = 2 };

/* recv/send alike; on -1 with errno EAGAIN, *WANT says which readiness to
 * wait for (a handshake or key update can need either direction). Any other
 * -1 is a dead connection (errno EPROTO for a TLS failure). */
ssize_t qcc_tls_read(SSL *ssl, void *buf, size_t len, enum qcc_tls_want *want);
ssize_t qcc_tls_write(SSL *ssl, const void *buf, size_t len, enum qcc_tls_want *want);
/* Plaintext already decrypted and waiting inside OpenSSL (the socket may
 * not become readable again for it). */
bool qcc_tls_pending(SSL *ssl);
/* Send close_notify (best effort, never blocks); the SSL stays usable for
 * reading what the peer still sends. */
void qcc_tls_shutdown(SSL *ssl);
/* qcc_tls_shutdown if not done yet, then free. */
void qcc_tls_close(SSL **ssl);

#endif
