/* The mock upstream's HTTP/1.1 request parser: the http_parser callbacks
 * that collect the URL, headers (in a fixed arena, with overflow noted
 * rather than fatal) and body of each request on a connection, and header
 * lookup for the handlers. Shares the connection struct through
 * server_int.h. */
#include "server_int.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>

#include "buf.h"

/* ---- headers ---------------------------------------------------------- */

const char *srv_hdr_name(const struct mock_conn *c, int i)
{
	return c->arena + c->hv[i].name_off;
}

const char *srv_hdr_val(const struct mock_conn *c, int i)
{
	return c->arena + c->hv[i].val_off;
}

/* Returns the index of header `name` (case-insensitive), or -1. */
int srv_hdr_find(const struct mock_conn *c, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < c->nh; i++) {
		if (c->hv[i].name_len == n && strncasecmp(srv_hdr_name(c, i), name, n) == 0)
			return i;
	}
	return -1;
}

bool srv_hdr_val_is(const struct mock_conn *c, int i, const char *v, size_t vn)
{
	return i >= 0 && c->hv[i].val_len == vn && memcmp(srv_hdr_val(c, i), v, vn) == 0;
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

int srv_on_message_begin(http_parser *p)
{
	struct mock_conn *c = p->data;
	c->url_len = 0;
	c->arena_len = 0;
	c->nh = 0;
	c->hstate = 0;
	c->head_overflow = false;
	c->body_overflow = false;
	c->body.len = 0;
	c->t_start = srv_now_s();
	return 0;
}

int srv_on_url(http_parser *p, const char *at, size_t len)
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

int srv_on_header_field(http_parser *p, const char *at, size_t len)
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

int srv_on_header_value(http_parser *p, const char *at, size_t len)
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

int srv_on_headers_complete(http_parser *p)
{
	struct mock_conn *c = p->data;
	int e = srv_hdr_find(c, "expect");
	if (e >= 0 && c->hv[e].val_len == 12 && strncasecmp(srv_hdr_val(c, e), "100-continue", 12) == 0) {
		mock_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
		srv_conn_flush(c);
	}
	return 0;
}

int srv_on_body(http_parser *p, const char *at, size_t len)
{
	struct mock_conn *c = p->data;
	if (c->body_overflow)
		return 0;
	if (len > MAX_BODY - c->body.len || mock_buf_append(&c->body, at, len) != 0)
		c->body_overflow = true;
	return 0;
}

int srv_on_message_complete(http_parser *p)
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
