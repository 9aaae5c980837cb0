#include "tlsserver.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct qcc_tlsserver {
  SSL_CTX *ctx;
};

/* OpenSSL's newest queued reason, or FALLBACK. The queue is shared with
 * libcurl on this thread, so callers clear it before each call. */
static const char *ssl_reason(const char *fallback) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
  return r != NULL ? r : fallback;
}

static const unsigned char alpn_h1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

/* Only HTTP/1.1 is spoken here. A client that offers ALPN without it gets
 * the no_application_protocol alert RFC 7301 asks for instead of a
 * connection it cannot use; one that offers no ALPN is served as HTTP/1.1. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  (void)arg;
  unsigned char *sel = NULL;
  if (SSL_select_next_proto(&sel, outlen, alpn_h1, sizeof alpn_h1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

/* OpenSSL says "system lib" for a missing file: name the errno instead. */
static int readable(const char *what, const char *path, struct qcc_err *err) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return qcc_err_set(err, errno, "TLS %s %s: %s", what, path, strerror(errno));
  fclose(f);
  return 0;
}

int qcc_tlsserver_new(const char *cert_path, const char *key_path, struct qcc_tlsserver **out,
                      struct qcc_err *err) {
  *out = NULL;
  if (cert_path == NULL || cert_path[0] == '\0' || key_path == NULL || key_path[0] == '\0')
    return qcc_err_set(err, EINVAL, "proxy.ssl_enabled needs proxy.cert and proxy.key");
  if (readable("certificate", cert_path, err) != 0 || readable("key", key_path, err) != 0)
    return -1;
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL) return qcc_err_set(err, ENOMEM, "TLS: %s", ssl_reason("cannot create a context"));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* TLS 1.2: forward-secret AEAD suites only; TLS 1.3's defaults are all fine. */
  SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
  /* client.c's output buffer may move between a short write and its retry;
   * idle keep-alive connections give their record buffers back. */
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
    qcc_err_set(err, EINVAL, "TLS certificate %s: %s", cert_path,
                ssl_reason("cannot read a PEM certificate"));
    SSL_CTX_free(ctx);
    return -1;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
    qcc_err_set(err, EINVAL, "TLS key %s: %s", key_path, ssl_reason("cannot read a PEM key"));
    SSL_CTX_free(ctx);
    return -1;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    qcc_err_set(err, EINVAL, "TLS key %s does not match certificate %s", key_path, cert_path);
    SSL_CTX_free(ctx);
    return -1;
  }
  struct qcc_tlsserver *s = calloc(1, sizeof *s);
  if (s == NULL) {
    SSL_CTX_free(ctx);
    return qcc_err_set(err, ENOMEM, "out of memory");
  }
  s->ctx = ctx;
  *out = s;
  return 0;
}

void qcc_tlsserver_free(struct qcc_tlsserver **ps) {
  if (ps == NULL || *ps == NULL) return;
  SSL_CTX_free((*ps)->ctx); /* open connections hold their own reference */
  free(*ps);
  *ps = NULL;
}

SSL *qcc_tlsserver_wrap(struct qcc_tlsserver *s, int fd) {
  SSL *ssl = SSL_new(s->ctx);
  if (ssl == NULL) return NULL;
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return NULL;
  }
  SSL_set_accept_state(ssl);
  return ssl;
}

/* Map an SSL_read/SSL_write result to recv/send's. */
static ssize_t io_result(SSL *ssl, int n, enum qcc_tls_want *want) {
  *want = QCC_TLS_WANT_NONE;
  if (n > 0) return n;
  int saved = errno;
  switch (SSL_get_error(ssl, n)) {
  case SSL_ERROR_WANT_READ:
    *want = QCC_TLS_WANT_READ;
    errno = EAGAIN;
    return -1;
  case SSL_ERROR_WANT_WRITE:
    *want = QCC_TLS_WANT_WRITE;
    errno = EAGAIN;
    return -1;
  case SSL_ERROR_ZERO_RETURN:
    return 0;
  case SSL_ERROR_SYSCALL:
    errno = saved != 0 ? saved : ECONNRESET;
    return -1;
  default:
    errno = EPROTO;
    return -1;
  }
}

ssize_t qcc_tls_read(SSL *ssl, void *buf, size_t len, enum qcc_tls_want *want) {
  ERR_clear_error();
  errno = 0;
  int n = SSL_read(ssl, buf, len > 0x7fffffff ? 0x7fffffff : (int)len);
  return io_result(ssl, n, want);
}

ssize_t qcc_tls_write(SSL *ssl, const void *buf, size_t len, enum qcc_tls_want *want) {
  ERR_clear_error();
  errno = 0;
  int n = SSL_write(ssl, buf, len > 0x7fffffff ? 0x7fffffff : (int)len);
  return io_result(ssl, n, want);
}

bool qcc_tls_pending(SSL *ssl) { return SSL_pending(ssl) > 0; }

void qcc_tls_shutdown(SSL *ssl) {
  ERR_clear_error();
  if (SSL_is_init_finished(ssl) && (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) == 0)
    (void)SSL_shutdown(ssl); /* sends close_notify; never waits for the peer's */
  ERR_clear_error();
}

void qcc_tls_close(SSL **pssl) {
  if (pssl == NULL || *pssl == NULL) return;
  qcc_tls_shutdown(*pssl);
  SSL_free(*pssl);
  ERR_clear_error();
  *pssl = NULL;
}
