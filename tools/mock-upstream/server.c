#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>
#include <jansson.h>

#include "buf.h"
#include "reply.h"
#include "tls.h"

#define MAX_BODY ((size_t)32 << 20)
#define MAX_HEADERS 96
#define HDR_ARENA 16384
#define URL_MAX 8192
#define READ_CHUNK 65536

enum conn_phase {
	PHASE_IDLE,      /* parsing requests */
	PHASE_STREAMING, /* SSE events being paced out */
	PHASE_DELAYED,   /* a slow non-streaming answer waits on the timer */
	PHASE_HANG,      /* never answers */
};

struct hdr {
	uint32_t name_off, name_len, val_off, val_len;
};

struct mock_conn {
	struct mock_tls_conn *tls; /* NULL: plain HTTP */
	struct mock_server *srv;
	struct mock_conn *prev, *next;
	int fd;
	unsigned long id;
	unsigned long nreq;
	bool dead;
	bool close_after_flush;
	bool reset_after_flush;
	ev_io rio, wio;
	ev_timer timer;
	ev_timer idle;  /* --idle-close-s */
	http_parser parser;
	struct mock_buf in;
	size_t in_off;
	struct mock_buf out;
	struct mock_buf body;
	/* request being parsed */
	char url[URL_MAX];
	size_t url_len;
	char arena[HDR_ARENA];
	size_t arena_len;
	struct hdr hv[MAX_HEADERS];
	int nh;
	int hstate; /* 0 none, 1 in field, 2 in value */
	bool head_overflow;
	bool body_overflow;
	bool have_request;
	bool keep_alive;
	/* response in progress */
	enum conn_phase phase;
	int ev_next, ev_total, ev_stop_at;
	enum mock_fault_kind stop_kind; /* what happens at ev_stop_at */
	bool delayed_stream; /* PHASE_DELAYED ends in a stream (slow_head) */
	int delay_ms;
	char err_message[200]; /* sse_error's error.message, "" = default */
	char model[256];
	char msg_id[64];
	long input_tokens;
	char path[URL_MAX];
	double t_start;
};

struct mock_stats {
	unsigned long requests, messages, streams, count_tokens, models, other, control;
	unsigned long auth_failures, faults_applied, client_aborts, streams_completed;
	unsigned long conns_accepted, conns_open;
};

struct mock_server {
	struct ev_loop *loop;
	struct mock_tls *tls; /* --tls-cert/--tls-key, else NULL */
	struct mock_opts opts;
	int lfd;
	int port;
	ev_io accept_w;
	ev_timer accept_retry;
	struct mock_conn *conns;
	unsigned long next_conn_id;
	unsigned long next_msg;
	struct mock_stats st;
	struct mock_fault fault;
	double fault_set_at; /* for the fault's for_ms window */
	FILE *log;
	struct mock_buf scratch;
	/* Events 1..N-1 never change (only message_start carries the id and
	 * model), so an unpaced stream appends them pre-framed in one copy. */
	struct mock_buf stream_tail;
	http_parser_settings settings;
};

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ---- headers ---------------------------------------------------------- */

static const char *hdr_name(const struct mock_conn *c, int i)
{
	return c->arena + c->hv[i].name_off;
}

static const char *hdr_val(const struct mock_conn *c, int i)
{
	return c->arena + c->hv[i].val_off;
}

/* Returns the index of header `name` (case-insensitive), or -1. */
static int hdr_find(const struct mock_conn *c, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < c->nh; i++) {
		if (c->hv[i].name_len == n && strncasecmp(hdr_name(c, i), name, n) == 0)
			return i;
	}
	return -1;
}

static bool hdr_val_is(const struct mock_conn *c, int i, const char *v, size_t vn)
{
	return i >= 0 && c->hv[i].val_len == vn && memcmp(hdr_val(c, i), v, vn) == 0;
}

static int arena_add(struct mock_conn *c, const char *at, size_t len)
{
	if (len > HDR_ARENA - c->arena_len) {
		c->head_overflow = true;
		return -1;
	}
	memcpy(c->arena + c->arena_len, at, len);
	c->arena_len += len;
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct mock_conn *c = p->data;
	c->url_len = 0;
	c->arena_len = 0;
	c->nh = 0;
	c->hstate = 0;
	c->head_overflow = false;
	c->body_overflow = false;
	c->body.len = 0;
	c->t_start = now_s();
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct mock_conn *c = p->data;
	if (len >= URL_MAX - c->url_len) {
		c->head_overflow = true;
		return 0;
	}
	memcpy(c->url + c->url_len, at, len);
	c->url_len += len;
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct mock_conn *c = p->data;
	if (c->head_overflow)
		return 0;
	if (c->hstate != 1) {
		if (c->nh >= MAX_HEADERS) {
			c->head_overflow = true;
			return 0;
		}
		c->hv[c->nh].name_off = (uint32_t)c->arena_len;
		c->hv[c->nh].name_len = 0;
		c->hv[c->nh].val_off = (uint32_t)c->arena_len;
		c->hv[c->nh].val_len = 0;
		c->nh++;
		c->hstate = 1;
	}
	if (arena_add(c, at, len) == 0)
		c->hv[c->nh - 1].name_len += (uint32_t)len;
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct mock_conn *c = p->data;
	if (c->head_overflow || c->nh == 0)
		return 0;
	if (c->hstate != 2) {
		c->hv[c->nh - 1].val_off = (uint32_t)c->arena_len;
		c->hstate = 2;
	}
	if (arena_add(c, at, len) == 0)
		c->hv[c->nh - 1].val_len += (uint32_t)len;
	return 0;
}

static void conn_flush(struct mock_conn *c);
static void log_event(struct mock_conn *c, const char *event);

static int on_headers_complete(http_parser *p)
{
	struct mock_conn *c = p->data;
	int e = hdr_find(c, "expect");
	if (e >= 0 && c->hv[e].val_len == 12 && strncasecmp(hdr_val(c, e), "100-continue", 12) == 0) {
		mock_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
		conn_flush(c);
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct mock_conn *c = p->data;
	if (c->body_overflow)
		return 0;
	if (len > MAX_BODY - c->body.len || mock_buf_append(&c->body, at, len) != 0)
		c->body_overflow = true;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct mock_conn *c = p->data;
	c->have_request = true;
	c->keep_alive = http_should_keep_alive(p) != 0;
	if (c->srv->opts.close_every > 0 &&
	    (c->nreq + 1) % (unsigned long)c->srv->opts.close_every == 0)
		c->keep_alive = false;
	/* One request at a time: the rest of the input waits for the answer. */
	http_parser_pause(p, 1);
	return 0;
}

/* ---- connection lifecycle --------------------------------------------- */

static void conn_destroy(struct mock_conn *c)
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

static void conn_flush(struct mock_conn *c)
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
			log_event(c, "client_closed");
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

/* ---- responses -------------------------------------------------------- */

static void head_common(struct mock_conn *c, int status, const char *ctype)
{
	struct mock_server *s = c->srv;
	mock_buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			"request-id: req_mock%08lx%06lx\r\nx-mock-upstream: %s\r\n",
			status, mock_reply_reason(status), ctype, c->id, c->nreq, s->opts.name);
	if (s->opts.echo_headers) {
		json_t *o = json_object();
		for (int i = 0; i < c->nh && o != NULL; i++) {
			char name[256];
			size_t nl = c->hv[i].name_len < sizeof name - 1 ? c->hv[i].name_len : sizeof name - 1;
			for (size_t k = 0; k < nl; k++) {
				char ch = hdr_name(c, i)[k];
				name[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
			}
			name[nl] = '\0';
			json_t *v;
			if (strcmp(name, "x-api-key") == 0 || strcmp(name, "authorization") == 0)
				v = json_string("present");
			else
				v = json_stringn(hdr_val(c, i), c->hv[i].val_len);
			if (v != NULL)
				json_object_set_new(o, name, v);
		}
		char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		if (txt != NULL)
			mock_buf_printf(&c->out, "x-mock-received: %s\r\n", txt);
		free(txt);
		json_decref(o);
	}
	if (!c->keep_alive) {
		mock_buf_puts(&c->out, "Connection: close\r\n");
		c->close_after_flush = true;
	}
}

static void respond(struct mock_conn *c, int status, const char *ctype,
		    const char *extra_headers, const char *body, size_t blen)
{
	head_common(c, status, ctype);
	if (extra_headers != NULL)
		mock_buf_puts(&c->out, extra_headers);
	mock_buf_printf(&c->out, "Content-Length: %zu\r\n\r\n", blen);
	if (c->parser.method != HTTP_HEAD)
		mock_buf_append(&c->out, body, blen);
}

/* Answers with the body in srv->scratch. */
static void respond_scratch(struct mock_conn *c, int status, const char *extra_headers)
{
	struct mock_server *s = c->srv;
	respond(c, status, "application/json", extra_headers,
		s->scratch.data ? s->scratch.data : "", s->scratch.len);
}

static void respond_error(struct mock_conn *c, int status, const char *message,
			  const char *extra_headers)
{
	struct mock_server *s = c->srv;
	s->scratch.len = 0;
	mock_reply_error(&s->scratch, status, message);
	respond_scratch(c, status, extra_headers);
}

static void fill_ctx(const struct mock_conn *c, struct mock_reply_ctx *x)
{
	int ev = c->srv->opts.events;
	x->name = c->srv->opts.name;
	x->model = c->model;
	x->id = c->msg_id;
	x->input_tokens = c->input_tokens;
	x->cache_5m = c->srv->opts.cache_5m;
	x->cache_1h = c->srv->opts.cache_1h;
	x->cache_read = c->srv->opts.cache_read;
	x->deltas = ev - 6 > 0 ? ev - 6 : 1;
}

/* Appends SSE event k as one chunk of the chunked response body. */
static void emit_event(struct mock_conn *c, int k)
{
	struct mock_server *s = c->srv;
	struct mock_reply_ctx x;
	fill_ctx(c, &x);
	s->scratch.len = 0;
	if (mock_reply_event(&s->scratch, &x, k) != 0)
		return;
	mock_buf_printf(&c->out, "%zx\r\n", s->scratch.len);
	mock_buf_append(&c->out, s->scratch.data, s->scratch.len);
	mock_buf_puts(&c->out, "\r\n");
}

static void log_event(struct mock_conn *c, const char *event);
static void process_input(struct mock_conn *c);

static void finish_response(struct mock_conn *c)
{
	c->phase = PHASE_IDLE;
	ev_timer_stop(c->srv->loop, &c->timer);
	if (c->srv->opts.idle_close_s > 0)
		ev_timer_again(c->srv->loop, &c->idle);
	conn_flush(c);
	if (!c->dead && !c->close_after_flush)
		process_input(c);
}

/* Builds srv->stream_tail once: chunks for events 1..N-1 and the last chunk. */
static int stream_tail(struct mock_conn *c)
{
	struct mock_server *s = c->srv;
	if (s->stream_tail.len > 0)
		return 0;
	struct mock_reply_ctx x;
	fill_ctx(c, &x);
	int total = mock_reply_event_count(x.deltas);
	for (int k = 1; k < total; k++) {
		s->scratch.len = 0;
		if (mock_reply_event(&s->scratch, &x, k) != 0 ||
		    mock_buf_printf(&s->stream_tail, "%zx\r\n", s->scratch.len) != 0 ||
		    mock_buf_append(&s->stream_tail, s->scratch.data, s->scratch.len) != 0 ||
		    mock_buf_puts(&s->stream_tail, "\r\n") != 0) {
			s->stream_tail.len = 0;
			return -1;
		}
	}
	if (mock_buf_puts(&s->stream_tail, "0\r\n\r\n") != 0) {
		s->stream_tail.len = 0;
		return -1;
	}
	return 0;
}

/* The stream's planned fault at ev_stop_at: an RST, silence (the
 * connection stays open, nothing more is sent), or Anthropic's own
 * overloaded_error event followed by a clean end of the body. */
static void stream_stop(struct mock_conn *c)
{
	if (c->stop_kind == MOCK_FAULT_STALL) {
		log_event(c, "stall");
		conn_flush(c);
		return;
	}
	if (c->stop_kind == MOCK_FAULT_SSE_ERROR) {
		struct mock_server *s = c->srv;
		s->scratch.len = 0;
		mock_buf_puts(&s->scratch, "event: error\ndata: ");
		mock_reply_error(&s->scratch, 529, c->err_message[0] ? c->err_message : "Overloaded");
		mock_buf_puts(&s->scratch, "\n\n");
		mock_buf_printf(&c->out, "%zx\r\n", s->scratch.len);
		mock_buf_append(&c->out, s->scratch.data, s->scratch.len);
		mock_buf_puts(&c->out, "\r\n0\r\n\r\n");
		log_event(c, "sse_error");
		finish_response(c);
		return;
	}
	c->reset_after_flush = true;
	log_event(c, "reset_mid_stream");
	conn_flush(c);
}

/* Emits events until the stream ends, must pause, or must be cut. */
static void stream_step(struct mock_conn *c)
{
	while (!c->dead && c->ev_next < c->ev_total) {
		if (c->ev_next == 1 && c->delay_ms == 0 && c->ev_stop_at < 0 && stream_tail(c) == 0) {
			mock_buf_append(&c->out, c->srv->stream_tail.data, c->srv->stream_tail.len);
			c->ev_next = c->ev_total;
			c->srv->st.streams_completed++;
			finish_response(c);
			return;
		}
		if (c->ev_stop_at >= 0 && c->ev_next >= c->ev_stop_at) {
			stream_stop(c);
			return;
		}
		emit_event(c, c->ev_next++);
		if (c->delay_ms > 0 && c->ev_next < c->ev_total) {
			conn_flush(c);
			double d = c->delay_ms / 1000.0;
			ev_timer_set(&c->timer, d, 0.);
			ev_timer_start(c->srv->loop, &c->timer);
			return;
		}
	}
	if (c->dead)
		return;
	mock_buf_puts(&c->out, "0\r\n\r\n");
	c->srv->st.streams_completed++;
	finish_response(c);
}

static void start_stream(struct mock_conn *c, int delay_ms, int stop_at,
			 enum mock_fault_kind stop_kind)
{
	struct mock_reply_ctx x;
	fill_ctx(c, &x);
	head_common(c, 200, "text/event-stream; charset=utf-8");
	mock_buf_puts(&c->out, "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n");
	c->phase = PHASE_STREAMING;
	c->ev_next = 0;
	c->ev_total = mock_reply_event_count(x.deltas);
	c->ev_stop_at = stop_at;
	c->stop_kind = stop_kind;
	c->delay_ms = delay_ms;
	stream_step(c);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct mock_conn *c = w->data;
	if (c->phase == PHASE_STREAMING) {
		stream_step(c);
	} else if (c->phase == PHASE_DELAYED && c->delayed_stream) {
		start_stream(c, c->srv->opts.event_delay_ms, -1, MOCK_FAULT_OK);
	} else if (c->phase == PHASE_DELAYED) {
		struct mock_server *s = c->srv;
		struct mock_reply_ctx x;
		fill_ctx(c, &x);
		s->scratch.len = 0;
		mock_reply_message(&s->scratch, &x);
		respond_scratch(c, 200, NULL);
		finish_response(c);
	}
	if (c->dead)
		conn_destroy(c);
}

/* ---- request log ------------------------------------------------------ */

static void json_set_hdr(json_t *o, const struct mock_conn *c, const char *key, const char *hname)
{
	int i = hdr_find(c, hname);
	if (i >= 0)
		json_object_set_new(o, key, json_stringn(hdr_val(c, i), c->hv[i].val_len));
	else
		json_object_set_new(o, key, json_null());
}

static void log_event(struct mock_conn *c, const char *event)
{
	struct mock_server *s = c->srv;
	if (s->log == NULL)
		return;
	json_t *o = json_object();
	if (o == NULL)
		return;
	json_object_set_new(o, "ts", json_real(now_s()));
	json_object_set_new(o, "name", json_string(s->opts.name));
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "conn", json_integer((json_int_t)c->id));
	json_object_set_new(o, "path", json_string(c->path));
	json_object_set_new(o, "events_sent", json_integer(c->ev_next));
	json_object_set_new(o, "events_total", json_integer(c->ev_total));
	json_object_set_new(o, "elapsed_ms", json_real((now_s() - c->t_start) * 1000.0));
	json_dumpf(o, s->log, JSON_COMPACT);
	fputc('\n', s->log);
	json_decref(o);
}

struct auth_info {
	const char *x_api_key;     /* absent | present | match | mismatch */
	const char *authorization; /* absent | present | bearer-match | bearer-mismatch | other */
	const char *style;         /* none | x-api-key | bearer | both */
	bool matched;
};

static void log_request(struct mock_conn *c, const char *method, const struct auth_info *a,
			const json_t *model, bool stream, int status, const char *fault)
{
	struct mock_server *s = c->srv;
	if (s->log == NULL)
		return;
	json_t *o = json_object();
	if (o == NULL)
		return;
	json_object_set_new(o, "ts", json_real(now_s()));
	json_object_set_new(o, "name", json_string(s->opts.name));
	json_object_set_new(o, "event", json_string("request"));
	json_object_set_new(o, "conn", json_integer((json_int_t)c->id));
	json_object_set_new(o, "req_on_conn", json_integer((json_int_t)c->nreq));
	json_object_set_new(o, "method", json_string(method));
	json_object_set_new(o, "path", json_stringn(c->url, c->url_len));
	json_object_set_new(o, "auth", json_string(a->style));
	json_object_set_new(o, "x_api_key", json_string(a->x_api_key));
	json_object_set_new(o, "authorization", json_string(a->authorization));
	json_object_set_new(o, "key_match", s->opts.key ? json_boolean(a->matched) : json_null());
	json_set_hdr(o, c, "anthropic_version", "anthropic-version");
	json_set_hdr(o, c, "anthropic_beta", "anthropic-beta");
	json_set_hdr(o, c, "user_agent", "user-agent");
	json_set_hdr(o, c, "content_type", "content-type");
	json_set_hdr(o, c, "x_session", "x-claude-code-session-id");
	json_t *names = json_array();
	for (int i = 0; i < c->nh && names != NULL; i++) {
		char name[256];
		size_t nl = c->hv[i].name_len < sizeof name - 1 ? c->hv[i].name_len : sizeof name - 1;
		for (size_t k = 0; k < nl; k++) {
			char ch = hdr_name(c, i)[k];
			name[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
		}
		name[nl] = '\0';
		json_array_append_new(names, json_string(name));
	}
	json_object_set_new(o, "header_names", names ? names : json_null());
	json_object_set_new(o, "body_len", json_integer((json_int_t)c->body.len));
	json_object_set(o, "model", model ? (json_t *)model : json_null());
	json_object_set_new(o, "stream", json_boolean(stream));
	json_object_set_new(o, "status", json_integer(status));
	json_object_set_new(o, "fault", json_string(fault));
	json_dumpf(o, s->log, JSON_COMPACT);
	fputc('\n', s->log);
	json_decref(o);
}

/* ---- request handling ------------------------------------------------- */

/* Constant time is not needed in a mock; equality is. */
static void check_auth(const struct mock_conn *c, const char *key, struct auth_info *a)
{
	int xi = hdr_find(c, "x-api-key");
	int ai = hdr_find(c, "authorization");
	size_t kl = key ? strlen(key) : 0;
	a->matched = false;
	if (xi < 0) {
		a->x_api_key = "absent";
	} else if (key == NULL) {
		a->x_api_key = "present";
	} else if (hdr_val_is(c, xi, key, kl)) {
		a->x_api_key = "match";
		a->matched = true;
	} else {
		a->x_api_key = "mismatch";
	}
	if (ai < 0) {
		a->authorization = "absent";
	} else if (c->hv[ai].val_len < 7 || strncasecmp(hdr_val(c, ai), "Bearer ", 7) != 0) {
		a->authorization = "other";
	} else if (key == NULL) {
		a->authorization = "bearer";
	} else if (c->hv[ai].val_len - 7 == kl && memcmp(hdr_val(c, ai) + 7, key, kl) == 0) {
		a->authorization = "bearer-match";
		a->matched = true;
	} else {
		a->authorization = "bearer-mismatch";
	}
	bool bx = xi >= 0, bb = ai >= 0;
	a->style = bx && bb ? "both" : bx ? "x-api-key" : bb ? "bearer" : "none";
}

/* Takes the active fault for one request (counting it down). */
static struct mock_fault take_fault(struct mock_server *s)
{
	if (s->fault.for_ms > 0 && (now_s() - s->fault_set_at) * 1000.0 >= (double)s->fault.for_ms)
		mock_fault_clear(&s->fault);
	struct mock_fault f = s->fault;
	if (f.kind == MOCK_FAULT_OK)
		return f;
	s->st.faults_applied++;
	if (s->fault.count > 0) {
		s->fault.count--;
		if (s->fault.count == 0)
			mock_fault_clear(&s->fault);
	}
	return f;
}

static void handle_control(struct mock_conn *c, const char *path)
{
	struct mock_server *s = c->srv;
	s->st.control++;
	s->scratch.len = 0;
	if (strcmp(path, "/_control/fault") == 0 && c->parser.method == HTTP_POST) {
		char err[256];
		struct mock_fault f;
		if (mock_fault_parse(c->body.data ? c->body.data : "", c->body.len, &f, err,
				     sizeof err) != 0) {
			respond_error(c, 400, err, NULL);
			return;
		}
		s->fault = f;
		s->fault_set_at = now_s();
		char d[64];
		mock_fault_describe(&f, d, sizeof d);
		mock_buf_printf(&s->scratch, "{\"ok\":true,\"fault\":\"%s\",\"count\":%ld,\"for_ms\":%ld}",
				d, f.count, f.for_ms);
		respond_scratch(c, 200, NULL);
		return;
	}
	if (strcmp(path, "/_control/stats") == 0) {
		char d[64];
		mock_fault_describe(&s->fault, d, sizeof d);
		const struct mock_stats *t = &s->st;
		mock_buf_printf(&s->scratch,
				"{\"name\":\"%s\",\"requests\":%lu,\"messages\":%lu,\"streams\":%lu,"
				"\"count_tokens\":%lu,\"models\":%lu,\"other\":%lu,\"control\":%lu,"
				"\"auth_failures\":%lu,\"faults_applied\":%lu,\"client_aborts\":%lu,"
				"\"streams_completed\":%lu,\"connections_accepted\":%lu,"
				"\"connections_open\":%lu,\"fault\":\"%s\"}",
				s->opts.name, t->requests, t->messages, t->streams, t->count_tokens,
				t->models, t->other, t->control, t->auth_failures, t->faults_applied,
				t->client_aborts, t->streams_completed, t->conns_accepted,
				t->conns_open, d);
		respond_scratch(c, 200, NULL);
		return;
	}
	if (strcmp(path, "/_control/reset") == 0 && c->parser.method == HTTP_POST) {
		unsigned long acc = s->st.conns_accepted, open = s->st.conns_open;
		memset(&s->st, 0, sizeof s->st);
		s->st.conns_accepted = acc;
		s->st.conns_open = open;
		s->st.control = 1;
		mock_fault_clear(&s->fault);
		mock_buf_puts(&s->scratch, "{\"ok\":true}");
		respond_scratch(c, 200, NULL);
		return;
	}
	respond_error(c, 404, "unknown control path", NULL);
}

static unsigned long fnv1a(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return (unsigned long)h;
}

static void handle_request(struct mock_conn *c)
{
	struct mock_server *s = c->srv;
	c->nreq++;
	s->st.requests++;
	const char *method = http_method_str((enum http_method)c->parser.method);
	size_t plen = c->url_len;
	const char *q = memchr(c->url, '?', c->url_len);
	if (q != NULL)
		plen = (size_t)(q - c->url);
	memcpy(c->path, c->url, plen);
	c->path[plen] = '\0';
	c->ev_next = 0;
	c->ev_total = 0;
	c->delayed_stream = false;

	if (strncmp(c->path, "/_control/", 10) == 0) {
		handle_control(c, c->path);
		return;
	}

	struct auth_info a;
	check_auth(c, s->opts.key, &a);
	json_t *root = NULL;
	const json_t *model = NULL;
	bool stream = false;
	if (c->body.len > 0 && !c->body_overflow) {
		root = json_loadb(c->body.data, c->body.len, 0, NULL);
		model = json_object_get(root, "model");
		if (!json_is_string(model))
			model = NULL;
		stream = json_is_true(json_object_get(root, "stream"));
	}
	snprintf(c->model, sizeof c->model, "%s",
		 model ? json_string_value(model) : "claude-sonnet-4-5-20250929");
	c->input_tokens = (long)(c->body.len / 4) + 1;
	if (s->opts.deterministic)
		snprintf(c->msg_id, sizeof c->msg_id, "msg_01mock%016lx",
			 fnv1a(c->body.data ? c->body.data : "", c->body.len));
	else
		snprintf(c->msg_id, sizeof c->msg_id, "msg_01%08lx%012lx", (unsigned long)time(NULL),
			 ++s->next_msg);

	/* --path-prefix: a relay's /api/anthropic/v1/messages (logged in full) */
	const char *route = c->path;
	size_t pfx = s->opts.path_prefix != NULL ? strlen(s->opts.path_prefix) : 0;
	if (pfx > 0 && strncmp(route, s->opts.path_prefix, pfx) == 0 && route[pfx] == '/')
		route += pfx;
	bool is_messages = strcmp(route, "/v1/messages") == 0;
	bool is_count = strcmp(route, "/v1/messages/count_tokens") == 0;
	bool is_models = strcmp(route, "/v1/models") == 0;
	bool is_model = strncmp(route, "/v1/models/", 11) == 0;
	bool is_post = c->parser.method == HTTP_POST;
	bool is_get = c->parser.method == HTTP_GET || c->parser.method == HTTP_HEAD;
	if (is_messages && is_post) {
		s->st.messages++;
		if (stream)
			s->st.streams++;
	} else if (is_count) {
		s->st.count_tokens++;
	} else if (is_models || is_model) {
		s->st.models++;
	} else {
		s->st.other++;
	}

	int status = 200;
	char fdesc[64] = "none";
	struct mock_fault f;
	mock_fault_clear(&f);
	if (c->head_overflow) {
		status = 431;
	} else if (c->body_overflow) {
		status = 413;
	} else if (s->opts.key != NULL && !a.matched) {
		status = 401;
		s->st.auth_failures++;
	} else {
		f = take_fault(s);
		mock_fault_describe(&f, fdesc, sizeof fdesc);
		if (f.kind == MOCK_FAULT_STATUS)
			status = f.status;
		else if ((is_messages || is_count) && is_post && root == NULL)
			status = 400;
		else if (!((is_messages && is_post) || (is_count && is_post) ||
			   (is_models && is_get) || (is_model && is_get) ||
			   (is_get && strcmp(route, "/") == 0)))
			status = 404;
	}
	log_request(c, method, &a, model, stream, status, fdesc);
	json_decref(root);

	if (status == 431) {
		/* the rest of an oversized head cannot be trusted: close after */
		c->keep_alive = false;
		respond_error(c, 431, "request header too large", NULL);
		return;
	}
	if (status == 413) {
		respond_error(c, 413, "request too large", NULL);
		return;
	}
	if (status == 401) {
		respond_error(c, 401, "invalid x-api-key", NULL);
		return;
	}
	switch (f.kind) {
	case MOCK_FAULT_STATUS: {
		char extra[64] = "";
		if (f.retry_after >= 0)
			snprintf(extra, sizeof extra, "retry-after: %d\r\n", f.retry_after);
		const char *msg = status == 529 ? "Overloaded"
				  : status == 429 ? "Number of request tokens has exceeded your "
						    "per-minute rate limit (mock)"
						  : "Internal server error (mock fault)";
		respond_error(c, status, f.message[0] != '\0' ? f.message : msg, extra);
		return;
	}
	case MOCK_FAULT_HANG:
		c->phase = PHASE_HANG;
		return;
	case MOCK_FAULT_CLOSE_BEFORE_HEADERS:
		c->dead = true;
		return;
	case MOCK_FAULT_ERROR_BODY:
		/* a relay that says 200 and means overloaded */
		s->scratch.len = 0;
		mock_reply_error(&s->scratch, 529, f.message[0] != '\0' ? f.message : "Overloaded");
		respond_scratch(c, 200, NULL);
		return;
	default:
		break;
	}
	if (status == 400) {
		respond_error(c, 400, "request body is not valid JSON", NULL);
		return;
	}
	if (status == 404) {
		respond_error(c, 404, "Not found", NULL);
		return;
	}

	s->scratch.len = 0;
	if (is_messages) {
		int delay = s->opts.event_delay_ms;
		if (f.kind == MOCK_FAULT_SLOW)
			delay = f.delay_ms;
		if (f.kind == MOCK_FAULT_SLOW_HEAD) {
			c->phase = PHASE_DELAYED;
			c->delayed_stream = stream;
			ev_timer_set(&c->timer, f.delay_ms / 1000.0, 0.);
			ev_timer_start(s->loop, &c->timer);
			return;
		}
		if (f.kind == MOCK_FAULT_STALL && !stream) {
			/* the head of the real answer, then not one body byte */
			struct mock_reply_ctx x;
			fill_ctx(c, &x);
			mock_reply_message(&s->scratch, &x);
			head_common(c, 200, "application/json");
			mock_buf_printf(&c->out, "Content-Length: %zu\r\n\r\n", s->scratch.len);
			c->phase = PHASE_HANG;
			log_event(c, "stall");
			return;
		}
		bool cut = f.kind == MOCK_FAULT_RESET_MID_STREAM || f.kind == MOCK_FAULT_STALL ||
			   f.kind == MOCK_FAULT_SSE_ERROR;
		if (stream || cut) {
			int stop = -1;
			if (cut) {
				struct mock_reply_ctx x;
				fill_ctx(c, &x);
				int total = mock_reply_event_count(x.deltas);
				int dflt = f.kind == MOCK_FAULT_STALL ? 0
					   : f.kind == MOCK_FAULT_SSE_ERROR ? 1 : total / 2;
				stop = f.after >= 0 ? f.after : dflt;
				if (stop >= total)
					stop = total - 1;
				snprintf(c->err_message, sizeof c->err_message, "%s", f.message);
			}
			start_stream(c, delay, stop, f.kind);
			return;
		}
		if (f.kind == MOCK_FAULT_SLOW) {
			c->phase = PHASE_DELAYED;
			ev_timer_set(&c->timer, f.delay_ms / 1000.0, 0.);
			ev_timer_start(s->loop, &c->timer);
			return;
		}
		struct mock_reply_ctx x;
		fill_ctx(c, &x);
		mock_reply_message(&s->scratch, &x);
	} else if (is_count) {
		mock_reply_count_tokens(&s->scratch, c->input_tokens);
	} else if (is_models) {
		mock_reply_models(&s->scratch);
	} else if (is_model) {
		if (mock_reply_model(&s->scratch, route + 11, strlen(route + 11)) != 0) {
			respond_error(c, 404, "model not found", NULL);
			return;
		}
	} else {
		mock_buf_puts(&s->scratch, "{\"ok\":true}");
	}
	respond_scratch(c, 200, NULL);
}

static void process_input(struct mock_conn *c)
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
			respond_error(c, 400, http_errno_description(e), NULL);
			break;
		}
		if (c->have_request) {
			c->have_request = false;
			handle_request(c);
			conn_flush(c);
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
	conn_flush(c);
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
	log_event(c, "idle_closed");
	c->dead = true;
	conn_destroy(c);
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
			log_event(c, "client_closed");
		}
		c->dead = true;
		conn_destroy(c);
		return;
	}
	c->in.len += (size_t)n;
	if (c->srv->opts.idle_close_s > 0)
		ev_timer_again(loop, &c->idle);
	if (c->phase == PHASE_IDLE)
		process_input(c);
	if (c->dead)
		conn_destroy(c);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct mock_conn *c = w->data;
	conn_flush(c);
	if (!c->dead && c->out.len == 0 && c->phase == PHASE_IDLE && !c->close_after_flush)
		process_input(c);
	if (c->dead)
		conn_destroy(c);
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
		ev_timer_init(&c->timer, timer_cb, 0., 0.);
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
	s->fault_set_at = now_s();
	s->lfd = -1;
	s->settings.on_message_begin = on_message_begin;
	s->settings.on_url = on_url;
	s->settings.on_header_field = on_header_field;
	s->settings.on_header_value = on_header_value;
	s->settings.on_headers_complete = on_headers_complete;
	s->settings.on_body = on_body;
	s->settings.on_message_complete = on_message_complete;
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
		conn_destroy(s->conns);
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
