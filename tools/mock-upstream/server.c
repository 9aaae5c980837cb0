/* The mock upstream server (server.h): binding and listening, accepting
 * connections (plain or TLS), their lifecycle, reading into the parser and
 * flushing output, idle and keep-alive closes, and the loop that takes one
 * request at a time off a connection. Parsing, answering, logging and
 * handling a request are in server_parse.c, server_respond.c, server_log.c
 * and server_handle.c (server_int.h). */
#include "server_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <http_parser.h>

#include "buf.h"
#include "tls.h"

double srv_now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ---- connection lifecycle --------------------------------------------- */

void srv_conn_destroy(struct mock_conn *c)
{
	struct mock_server *s = c->srv;
	ev_io_stop(s->loop, &c->rio);
	ev_io_stop(s->loop, &c->wio);
	ev_timer_stop(s->loop, &c->timer);
	ev_timer_stop(s->loop, &c->idle);
	mock_tls_conn_free(&c->tls);
	if (c->fd >= 0)
		close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	mock_buf_release(&c->in);
	mock_buf_release(&c->out);
	mock_buf_release(&c->body);
	s->st.conns_open--;
	free(c);
}

/* The socket's bytes, through TLS when the server speaks it (tls.h). */
static ssize_t conn_read(struct mock_conn *c, void *buf, size_t n)
{
	return c->tls != NULL ? mock_tls_read(c->tls, buf, n) : read(c->fd, buf, n);
}

static ssize_t conn_write(struct mock_conn *c, const void *buf, size_t n)
{
	return c->tls != NULL ? mock_tls_write(c->tls, buf, n) : write(c->fd, buf, n);
}

/* An RST instead of a FIN: the peer sees ECONNRESET. */
static void conn_reset(struct mock_conn *c)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	c->dead = true;
}

void srv_conn_flush(struct mock_conn *c)
{
	if (c->dead)
		return;
	size_t off = 0;
	while (off < c->out.len) {
		ssize_t n = conn_write(c, c->out.data + off, c->out.len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (c->phase != PHASE_IDLE) {
			c->srv->st.client_aborts++;
			srv_log_event(c, "client_closed");
		}
		c->dead = true;
		return;
	}
	mock_buf_consume(&c->out, off);
	if (c->out.len > 0) {
		ev_io_start(c->srv->loop, &c->wio);
		return;
	}
	ev_io_stop(c->srv->loop, &c->wio);
	if (c->reset_after_flush)
		conn_reset(c);
	else if (c->close_after_flush && c->phase == PHASE_IDLE)
		c->dead = true; /* only once the whole response is out */
}

/* ---- the request loop, accepting, the server -------------------------- */

void srv_process_input(struct mock_conn *c)
{
	while (!c->dead && c->phase == PHASE_IDLE && !c->close_after_flush &&
	       c->in_off < c->in.len) {
		size_t avail = c->in.len - c->in_off;
		size_t n = http_parser_execute(&c->parser, &c->srv->settings,
					       c->in.data + c->in_off, avail);
		c->in_off += n;
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
		if (e == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
		} else if (e != HPE_OK) {
			c->keep_alive = false;
			srv_respond_error(c, 400, http_errno_description(e), NULL);
			break;
		}
		if (c->have_request) {
			c->have_request = false;
			srv_handle_request(c);
			srv_conn_flush(c);
		} else if (n == 0) {
			break;
		}
	}
	if (c->in_off == c->in.len) {
		c->in.len = 0;
		c->in_off = 0;
	} else if (c->in_off > 0 && c->in_off >= c->in.len / 2) {
		mock_buf_consume(&c->in, c->in_off);
		c->in_off = 0;
	}
	srv_conn_flush(c);
}

/* --idle-close-s: a server's keep-alive timeout. Restarted by every read;
 * a connection with an answer still going waits for another period. */
static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct mock_conn *c = w->data;
	if (c->phase != PHASE_IDLE || c->out.len > 0 || c->in.len > c->in_off) {
		ev_timer_again(loop, w);
		return;
	}
	srv_log_event(c, "idle_closed");
	c->dead = true;
	srv_conn_destroy(c);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct mock_conn *c = w->data;
	if (mock_buf_reserve(&c->in, READ_CHUNK) != 0) {
		/* pipelined input beyond the cap: stop reading until answered */
		ev_io_stop(c->srv->loop, &c->rio);
		return;
	}
	ssize_t n = conn_read(c, c->in.data + c->in.len, c->in.cap - c->in.len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->phase == PHASE_STREAMING || c->phase == PHASE_HANG ||
		    c->phase == PHASE_DELAYED) {
			c->srv->st.client_aborts++;
			srv_log_event(c, "client_closed");
		}
		c->dead = true;
		srv_conn_destroy(c);
		return;
	}
	c->in.len += (size_t)n;
	if (c->srv->opts.idle_close_s > 0)
		ev_timer_again(loop, &c->idle);
	if (c->phase == PHASE_IDLE)
		srv_process_input(c);
	if (c->dead)
		srv_conn_destroy(c);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct mock_conn *c = w->data;
	srv_conn_flush(c);
	if (!c->dead && c->out.len == 0 && c->phase == PHASE_IDLE && !c->close_after_flush)
		srv_process_input(c);
	if (c->dead)
		srv_conn_destroy(c);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct mock_server *s = w->data;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* back off instead of spinning on a full fd table */
				ev_io_stop(loop, &s->accept_w);
				ev_timer_set(&s->accept_retry, 0.1, 0.);
				ev_timer_start(loop, &s->accept_retry);
			}
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct mock_conn *c = calloc(1, sizeof *c);
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		if (s->tls != NULL && (c->tls = mock_tls_conn_new(s->tls, fd)) == NULL) {
			free(c);
			close(fd);
			continue;
		}
		c->id = ++s->next_conn_id;
		c->in.max = MAX_BODY + (1 << 20);
		c->body.max = MAX_BODY + 1;
		c->phase = PHASE_IDLE;
		http_parser_init(&c->parser, HTTP_REQUEST);
		c->parser.data = c;
		ev_io_init(&c->rio, read_cb, fd, EV_READ);
		ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
		ev_timer_init(&c->timer, srv_timer_cb, 0., 0.);
		ev_init(&c->idle, idle_cb);
		c->idle.repeat = s->opts.idle_close_s;
		c->idle.data = c;
		if (s->opts.idle_close_s > 0)
			ev_timer_again(loop, &c->idle);
		c->rio.data = c;
		c->wio.data = c;
		c->timer.data = c;
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		s->st.conns_accepted++;
		s->st.conns_open++;
		ev_io_start(loop, &c->rio);
	}
}

static void accept_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct mock_server *s = w->data;
	ev_io_start(loop, &s->accept_w);
}

struct mock_server *mock_server_new(struct ev_loop *loop, const struct mock_opts *opts,
				    char *err, size_t errlen)
{
	struct mock_server *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->opts = *opts;
	s->fault = opts->fault;
	s->fault_set_at = srv_now_s();
	s->lfd = -1;
	s->settings.on_message_begin = srv_on_message_begin;
	s->settings.on_url = srv_on_url;
	s->settings.on_header_field = srv_on_header_field;
	s->settings.on_header_value = srv_on_header_value;
	s->settings.on_headers_complete = srv_on_headers_complete;
	s->settings.on_body = srv_on_body;
	s->settings.on_message_complete = srv_on_message_complete;
	if (opts->tls_cert != NULL &&
	    (s->tls = mock_tls_new(opts->tls_cert, opts->tls_key, err, errlen)) == NULL)
		goto fail;
	if (opts->log_path != NULL) {
		if (strcmp(opts->log_path, "-") == 0) {
			s->log = stderr;
		} else {
			s->log = fopen(opts->log_path, "a");
			if (s->log == NULL) {
				snprintf(err, errlen, "cannot open log %s: %s", opts->log_path,
					 strerror(errno));
				goto fail;
			}
		}
		/* tests read the log while we run */
		setvbuf(s->log, NULL, _IOLBF, 0);
	}
	s->lfd = socket(opts->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	int one = 1;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s->lfd, (const struct sockaddr *)&opts->addr, opts->addrlen) != 0) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		goto fail;
	}
	if (listen(s->lfd, 4096) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		goto fail;
	}
	struct sockaddr_storage bound;
	socklen_t bl = sizeof bound;
	if (getsockname(s->lfd, (struct sockaddr *)&bound, &bl) != 0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		goto fail;
	}
	if (bound.ss_family == AF_INET6)
		s->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
	else
		s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	ev_io_init(&s->accept_w, accept_cb, s->lfd, EV_READ);
	s->accept_w.data = s;
	ev_timer_init(&s->accept_retry, accept_retry_cb, 0., 0.);
	s->accept_retry.data = s;
	ev_io_start(loop, &s->accept_w);
	return s;
fail:
	mock_server_free(&s);
	return NULL;
}

int mock_server_port(const struct mock_server *s)
{
	return s->port;
}

void mock_server_free(struct mock_server **sp)
{
	struct mock_server *s = *sp;
	if (s == NULL)
		return;
	while (s->conns != NULL)
		srv_conn_destroy(s->conns);
	if (s->lfd >= 0) {
		ev_io_stop(s->loop, &s->accept_w);
		ev_timer_stop(s->loop, &s->accept_retry);
		close(s->lfd);
	}
	if (s->log != NULL && s->log != stderr)
		fclose(s->log);
	mock_buf_release(&s->scratch);
	mock_buf_release(&s->stream_tail);
	mock_tls_free(&s->tls);
	free(s);
	*sp = NULL;
}
