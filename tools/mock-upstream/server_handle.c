/* One request to the mock upstream: checking the key the way the real API
 * does, taking the injected fault, the /_control endpoints that set faults
 * and read stats, and the Anthropic-shaped routes (messages, streams,
 * count_tokens, models). Shares the connection struct through
 * server_int.h. */
#include "server_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <http_parser.h>
#include <jansson.h>

#include "buf.h"
#include "reply.h"

/* ---- request handling ------------------------------------------------- */

/* Constant time is not needed in a mock; equality is. */
static void check_auth(const struct mock_conn *c, const char *key, struct auth_info *a)
{
	int xi = srv_hdr_find(c, "x-api-key");
	int ai = srv_hdr_find(c, "authorization");
	size_t kl = key ? strlen(key) : 0;
	a->matched = false;
	if (xi < 0) {
		a->x_api_key = "absent";
	} else if (key == NULL) {
		a->x_api_key = "present";
	} else if (srv_hdr_val_is(c, xi, key, kl)) {
		a->x_api_key = "match";
		a->matched = true;
	} else {
		a->x_api_key = "mismatch";
	}
	if (ai < 0) {
		a->authorization = "absent";
	} else if (c->hv[ai].val_len < 7 || strncasecmp(srv_hdr_val(c, ai), "Bearer ", 7) != 0) {
		a->authorization = "other";
	} else if (key == NULL) {
		a->authorization = "bearer";
	} else if (c->hv[ai].val_len - 7 == kl && memcmp(srv_hdr_val(c, ai) + 7, key, kl) == 0) {
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
	if (s->fault.for_ms > 0 && (srv_now_s() - s->fault_set_at) * 1000.0 >= (double)s->fault.for_ms)
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
			srv_respond_error(c, 400, err, NULL);
			return;
		}
		s->fault = f;
		s->fault_set_at = srv_now_s();
		char d[64];
		mock_fault_describe(&f, d, sizeof d);
		mock_buf_printf(&s->scratch, "{\"ok\":true,\"fault\":\"%s\",\"count\":%ld,\"for_ms\":%ld}",
				d, f.count, f.for_ms);
		srv_respond_scratch(c, 200, NULL);
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
		srv_respond_scratch(c, 200, NULL);
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
		srv_respond_scratch(c, 200, NULL);
		return;
	}
	srv_respond_error(c, 404, "unknown control path", NULL);
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

void srv_handle_request(struct mock_conn *c)
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
	srv_log_request(c, method, &a, model, stream, status, fdesc);
	json_decref(root);

	if (status == 431) {
		/* the rest of an oversized head cannot be trusted: close after */
		c->keep_alive = false;
		srv_respond_error(c, 431, "request header too large", NULL);
		return;
	}
	if (status == 413) {
		srv_respond_error(c, 413, "request too large", NULL);
		return;
	}
	if (status == 401) {
		srv_respond_error(c, 401, "invalid x-api-key", NULL);
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
		srv_respond_error(c, status, f.message[0] != '\0' ? f.message : msg, extra);
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
		srv_respond_scratch(c, 200, NULL);
		return;
	default:
		break;
	}
	if (status == 400) {
		srv_respond_error(c, 400, "request body is not valid JSON", NULL);
		return;
	}
	if (status == 404) {
		srv_respond_error(c, 404, "Not found", NULL);
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
			srv_fill_ctx(c, &x);
			mock_reply_message(&s->scratch, &x);
			srv_head_common(c, 200, "application/json");
			mock_buf_printf(&c->out, "Content-Length: %zu\r\n\r\n", s->scratch.len);
			c->phase = PHASE_HANG;
			srv_log_event(c, "stall");
			return;
		}
		bool cut = f.kind == MOCK_FAULT_RESET_MID_STREAM || f.kind == MOCK_FAULT_STALL ||
			   f.kind == MOCK_FAULT_SSE_ERROR;
		if (stream || cut) {
			int stop = -1;
			if (cut) {
				struct mock_reply_ctx x;
				srv_fill_ctx(c, &x);
				int total = mock_reply_event_count(x.deltas);
				int dflt = f.kind == MOCK_FAULT_STALL ? 0
					   : f.kind == MOCK_FAULT_SSE_ERROR ? 1 : total / 2;
				stop = f.after >= 0 ? f.after : dflt;
				if (stop >= total)
					stop = total - 1;
				snprintf(c->err_message, sizeof c->err_message, "%s", f.message);
			}
			srv_start_stream(c, delay, stop, f.kind);
			return;
		}
		if (f.kind == MOCK_FAULT_SLOW) {
			c->phase = PHASE_DELAYED;
			ev_timer_set(&c->timer, f.delay_ms / 1000.0, 0.);
			ev_timer_start(s->loop, &c->timer);
			return;
		}
		struct mock_reply_ctx x;
		srv_fill_ctx(c, &x);
		mock_reply_message(&s->scratch, &x);
	} else if (is_count) {
		mock_reply_count_tokens(&s->scratch, c->input_tokens);
	} else if (is_models) {
		mock_reply_models(&s->scratch);
	} else if (is_model) {
		if (mock_reply_model(&s->scratch, route + 11, strlen(route + 11)) != 0) {
			srv_respond_error(c, 404, "model not found", NULL);
			return;
		}
	} else {
		mock_buf_puts(&s->scratch, "{\"ok\":true}");
	}
	srv_respond_scratch(c, 200, NULL);
}
