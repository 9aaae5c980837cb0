/* TLS for the mock upstream (OpenSSL): with --tls-cert/--tls-key every
 * accepted connection speaks TLS. server.c calls these through three hooks
 * (accept, read/write, destroy); the rest of the mock never sees TLS. */
#ifndef QCC_MOCK_TLS_H
#define QCC_MOCK_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct mock_tls;      /* the server's context: certificate + key */
struct mock_tls_conn; /* one connection's TLS state */

/* Loads CERT (PEM chain, leaf first) and KEY; NULL with ERR filled. */
struct mock_tls *mock_tls_new(const char *cert, const char *key, char *err, size_t errlen);
void mock_tls_free(struct mock_tls **t);

/* Server side of a TLS connection on non-blocking socket FD (not owned). */
struct mock_tls_conn *mock_tls_conn_new(struct mock_tls *t, int fd);
void mock_tls_conn_free(struct mock_tls_conn **c);

/* Like read(2)/write(2) on the socket: bytes moved, 0 at the peer's close,
 * -1 with errno EAGAIN while the handshake or a record waits for the
 * socket, -1 with errno EPROTO when TLS failed (e.g. the client refused
 * the certificate). Writes may be partial. */
ssize_t mock_tls_read(struct mock_tls_conn *c, void *buf, size_t n);
ssize_t mock_tls_write(struct mock_tls_conn *c, const void *buf, size_t n);

#endif
