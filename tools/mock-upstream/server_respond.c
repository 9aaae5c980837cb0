/* Writing the mock upstream's answers: status line and common headers,
 * whole bodies and errors, and the paced SSE stream (events on a timer,
 * faults that stop it part way, the pre-framed tail of an unpaced one).
 * Shares the connection struct through server_int.h. */
#include "server_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <jansson.h>

#include "buf.h"
#include "reply.h"

/* ---- responses -------------------------------------------------------- */

void srv_head_common(struct mock_conn *c, int status, const char *ctype)
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
				char ch = srv_hdr_name(c, i)[k];
				name[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
			}
			name[nl] = '\0';
			json_t *v;
			if (strcmp(name, "x-api-key") == 0 || strcmp(name, "authorization") == 0)
				v = json_string("present");
			else
				v = json_stringn(srv_hdr_val(c, i), c->hv[i].val_len);
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
	srv_head_common(c, status, ctype);
	if (extra_headers != NULL)
		mock_buf_puts(&c->out, extra_headers);
	mock_buf_printf(&c->out, "Content-Length: %zu\r\n\r\n", blen);
	if (c->parser.method != HTTP_HEAD)
		mock_buf_append(&c->out, body, blen);
}

/* Answers with the body in srv->scratch. */
void srv_respond_scratch(struct mock_conn *c, int status, const char *extra_headers)
{
	struct mock_server *s = c->srv;
	respond(c, status, "application/json", extra_headers,
		s->scratch.data ? s->scratch.data : "", s->scratch.len);
}

void srv_respond_error(struct mock_conn *c, int status, const char *message,
		       const char *extra_headers)
{
	struct mock_server *s = c->srv;
	s->scratch.len = 0;
	mock_reply_error(&s->scratch, status, message);
	srv_respond_scratch(c, status, extra_headers);
}

void srv_fill_ctx(const struct mock_conn *c, struct mock_reply_ctx *x)
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
	srv_fill_ctx(c, &x);
	s->scratch.len = 0;
	if (mock_reply_event(&s->scratch, &x, k) != 0)
		return;
	mock_buf_printf(&c->out, "%zx\r\n", s->scratch.len);
	mock_buf_append(&c->out, s->scratch.data, s->scratch.len);
	mock_buf_puts(&c->out, "\r\n");
}

static void finish_response(struct mock_conn *c)
{
	c->phase = PHASE_IDLE;
	ev_timer_stop(c->srv->loop, &c->timer);
	if (c->srv->opts.idle_close_s > 0)
		ev_timer_again(c->srv->loop, &c->idle);
	srv_conn_flush(c);
	if (!c->dead && !c->close_after_flush)
		srv_process_input(c);
}

/* Builds srv->stream_tail once: chunks for events 1..N-1 and the last chunk. */
static int stream_tail(struct mock_conn *c)
{
	struct mock_server *s = c->srv;
	if (s->stream_tail.len > 0)
		return 0;
	struct mock_reply_ctx x;
	srv_fill_ctx(c, &x);
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
		srv_log_event(c, "stall");
		srv_conn_flush(c);
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
		srv_log_event(c, "sse_error");
		finish_response(c);
		return;
	}
	c->reset_after_flush = true;
	srv_log_event(c, "reset_mid_stream");
	srv_conn_flush(c);
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
			srv_conn_flush(c);
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

void srv_start_stream(struct mock_conn *c, int delay_ms, int stop_at,
		      enum mock_fault_kind stop_kind)
{
	struct mock_reply_ctx x;
	srv_fill_ctx(c, &x);
	srv_head_common(c, 200, "text/event-stream; charset=utf-8");
	mock_buf_puts(&c->out, "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n");
	c->phase = PHASE_STREAMING;
	c->ev_next = 0;
	c->ev_total = mock_reply_event_count(x.deltas);
	c->ev_stop_at = stop_at;
	c->stop_kind = stop_kind;
	c->delay_ms = delay_ms;
	stream_step(c);
}

void srv_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct mock_conn *c = w->data;
	if (c->phase == PHASE_STREAMING) {
		stream_step(c);
	} else if (c->phase == PHASE_DELAYED && c->delayed_stream) {
		srv_start_stream(c, c->srv->opts.event_delay_ms, -1, MOCK_FAULT_OK);
	} else if (c->phase == PHASE_DELAYED) {
		struct mock_server *s = c->srv;
		struct mock_reply_ctx x;
		srv_fill_ctx(c, &x);
		s->scratch.len = 0;
		mock_reply_message(&s->scratch, &x);
		srv_respond_scratch(c, 200, NULL);
		finish_response(c);
	}
	if (c->dead)
		srv_conn_destroy(c);
}
