/* The mock upstream server: one libev loop, HTTP/1.1 keep-alive via
 * libhttp-parser, Anthropic-shaped answers, fault injection, JSON-line
 * request log (never key values), /_control endpoints. */
#ifndef QCC_MOCK_SERVER_H
#define QCC_MOCK_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <ev.h>

#include "fault.h"

struct mock_opts {
	const char *name;
	const char *key;       /* expected key, NULL = accept anything */
	const char *log_path;  /* NULL = no request log; "-" = stderr */
	struct mock_fault fault;
	int events;            /* SSE events per stream (>= 7) */
	int event_delay_ms;    /* pacing between events; 0 = write at once */
	bool echo_headers;
	bool deterministic;    /* message ids derived from the request body */
	const char *tls_cert;  /* PEM chain: speak TLS (tls.h); NULL = plain HTTP */
	const char *tls_key;
	const char *path_prefix; /* served as if absent, e.g. /api/anthropic; NULL = none */
	int idle_close_s;      /* close a connection idle this long; 0 = never */
	int close_every;       /* answer every Nth request on a connection with close; 0 = never */
	long cache_5m, cache_1h, cache_read; /* --cache-usage: cache counts in every answer's usage */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct mock_server;

/* Binds and listens; fills err on failure. */
struct mock_server *mock_server_new(struct ev_loop *loop, const struct mock_opts *opts,
				    char *err, size_t errlen);
/* The bound port (useful with port 0). */
int mock_server_port(const struct mock_server *s);
void mock_server_free(struct mock_server **s);

#endif
