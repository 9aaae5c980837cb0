/* Inside the mock upstream server (server.h is its interface): the server
 * and connection structs and the functions its files share. Only
 * tools/mock-upstream/server*.c include this.
 *
 *   server.c          listening, accepting, the connection lifecycle, reading
 *                     and writing, the request loop
 *   server_parse.c    the HTTP/1.1 request parser (http_parser callbacks)
 *   server_respond.c  writing answers: heads, bodies, paced SSE streams
 *   server_log.c      the JSON-line request log (never key values)
 *   server_handle.c   one request: auth, faults, /_control, the API routes */
#ifndef QCC_MOCK_SERVER_INT_H
#define QCC_MOCK_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <ev.h>
#include <http_parser.h>
#include <jansson.h>

#include "buf.h"
#include "fault.h"
#include "reply.h"
#include "server.h"
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


struct auth_info {
	const char *x_api_key;     /* absent | present | match | mismatch */
	const char *authorization; /* absent | present | bearer-match | bearer-mismatch | other */
	const char *style;         /* none | x-api-key | bearer | both */
	bool matched;
};

/* server.c */
double srv_now_s(void);
void srv_conn_destroy(struct mock_conn *c);
void srv_conn_flush(struct mock_conn *c);
void srv_process_input(struct mock_conn *c);

/* server_parse.c */
const char *srv_hdr_name(const struct mock_conn *c, int i);
const char *srv_hdr_val(const struct mock_conn *c, int i);
int srv_hdr_find(const struct mock_conn *c, const char *name);
bool srv_hdr_val_is(const struct mock_conn *c, int i, const char *v, size_t vn);
int srv_on_message_begin(http_parser *p);
int srv_on_url(http_parser *p, const char *at, size_t len);
int srv_on_header_field(http_parser *p, const char *at, size_t len);
int srv_on_header_value(http_parser *p, const char *at, size_t len);
int srv_on_headers_complete(http_parser *p);
int srv_on_body(http_parser *p, const char *at, size_t len);
int srv_on_message_complete(http_parser *p);

/* server_respond.c */
void srv_head_common(struct mock_conn *c, int status, const char *ctype);
void srv_respond_scratch(struct mock_conn *c, int status, const char *extra_headers);
void srv_respond_error(struct mock_conn *c, int status, const char *message,
		       const char *extra_headers);
void srv_fill_ctx(const struct mock_conn *c, struct mock_reply_ctx *x);
void srv_start_stream(struct mock_conn *c, int delay_ms, int stop_at,
		      enum mock_fault_kind stop_kind);
void srv_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* server_log.c */
void srv_log_event(struct mock_conn *c, const char *event);
void srv_log_request(struct mock_conn *c, const char *method, const struct auth_info *a,
		     const json_t *model, bool stream, int status, const char *fault);

/* server_handle.c */
void srv_handle_request(struct mock_conn *c);

#endif
