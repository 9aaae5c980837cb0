#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct mock_tls {
	SSL_CTX *ctx;
};

struct mock_tls_conn {
	SSL *ssl;
};

struct mock_tls *mock_tls_new(const char *cert, const char *key, char *err, size_t errlen)
{
	struct mock_tls *t = calloc(1, sizeof *t);
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->ctx = SSL_CTX_new(TLS_server_method());
	if (t->ctx == NULL)
		goto ssl_fail;
	/* conn_flush retries with a moved buffer and takes partial writes */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1) {
		snprintf(err, errlen, "--tls-cert %s: %s", cert,
			 ERR_reason_error_string(ERR_peek_last_error()));
		mock_tls_free(&t);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(t->ctx) != 1) {
		snprintf(err, errlen, "--tls-key %s: %s", key,
			 ERR_reason_error_string(ERR_peek_last_error()));
		mock_tls_free(&t);
		return NULL;
	}
	return t;
ssl_fail:
	snprintf(err, errlen, "TLS setup: %s", ERR_reason_error_string(ERR_peek_last_error()));
	mock_tls_free(&t);
	return NULL;
}

void mock_tls_free(struct mock_tls **t)
{
	if (t == NULL || *t == NULL)
		return;
	SSL_CTX_free((*t)->ctx);
	free(*t);
	*t = NULL;
}

struct mock_tls_conn *mock_tls_conn_new(struct mock_tls *t, int fd)
{
	struct mock_tls_conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->ssl = SSL_new(t->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
		mock_tls_conn_free(&c);
		return NULL;
	}
	SSL_set_accept_state(c->ssl);
	return c;
}

void mock_tls_conn_free(struct mock_tls_conn **c)
{
	if (c == NULL || *c == NULL)
		return;
	SSL_free((*c)->ssl);
	free(*c);
	*c = NULL;
}

/* The outcome of an SSL_read/SSL_write that moved RC bytes, as read(2). */
static ssize_t result(struct mock_tls_conn *c, int rc)
{
	if (rc > 0)
		return rc;
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			return 0; /* EOF without close_notify */
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

ssize_t mock_tls_read(struct mock_tls_conn *c, void *buf, size_t n)
{
	ERR_clear_error();
	errno = 0;
	return result(c, SSL_read(c->ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n));
}

ssize_t mock_tls_write(struct mock_tls_conn *c, const void *buf, size_t n)
{
	ERR_clear_error();
	errno = 0;
	return result(c, SSL_write(c->ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n));
}
