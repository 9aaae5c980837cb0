/* The mock upstream's request log: one JSON line per request or event
 * (method, path, model, stream, status, fault, how the key was sent), so
 * tests can assert on what reached the upstream. Key values never appear,
 * only whether they matched. Shares the connection struct through
 * server_int.h. */
#include "server_int.h"

#include <stdio.h>

#include <http_parser.h>
#include <jansson.h>
#include <openssl/evp.h>

/* ---- request log ------------------------------------------------------ */

static void json_set_hdr(json_t *o, const struct mock_conn *c, const char *key, const char *hname)
{
	int i = srv_hdr_find(c, hname);
	if (i >= 0)
		json_object_set_new(o, key, json_stringn(srv_hdr_val(c, i), c->hv[i].val_len));
	else
		json_object_set_new(o, key, json_null());
}

void srv_log_event(struct mock_conn *c, const char *event)
{
	struct mock_server *s = c->srv;
	if (s->log == NULL)
		return;
	json_t *o = json_object();
	if (o == NULL)
		return;
	json_object_set_new(o, "ts", json_real(srv_now_s()));
	json_object_set_new(o, "name", json_string(s->opts.name));
	json_object_set_new(o, "event", json_string(event));
	json_object_set_new(o, "conn", json_integer((json_int_t)c->id));
	json_object_set_new(o, "path", json_string(c->path));
	json_object_set_new(o, "events_sent", json_integer(c->ev_next));
	json_object_set_new(o, "events_total", json_integer(c->ev_total));
	json_object_set_new(o, "elapsed_ms", json_real((srv_now_s() - c->t_start) * 1000.0));
	json_dumpf(o, s->log, JSON_COMPACT);
	fputc('\n', s->log);
	json_decref(o);
}

void srv_log_request(struct mock_conn *c, const char *method, const struct auth_info *a,
		     const json_t *model, bool stream, int status, const char *fault)
{
	struct mock_server *s = c->srv;
	if (s->log == NULL)
		return;
	json_t *o = json_object();
	if (o == NULL)
		return;
	json_object_set_new(o, "ts", json_real(srv_now_s()));
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
			char ch = srv_hdr_name(c, i)[k];
			name[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
		}
		name[nl] = '\0';
		json_array_append_new(names, json_string(name));
	}
	json_object_set_new(o, "header_names", names ? names : json_null());
	/* every header as it arrived, [name, value] in order (tests compare the
	 * forwarded set byte for byte); the credential's value is left out */
	json_t *all = json_array();
	for (int i = 0; i < c->nh && all != NULL; i++) {
		const char *nm = srv_hdr_name(c, i);
		size_t nl = c->hv[i].name_len;
		bool secret = (nl == 9 && strncasecmp(nm, "x-api-key", 9) == 0) ||
			      (nl == 13 && strncasecmp(nm, "authorization", 13) == 0);
		json_t *pair = json_pack("[s%s%]", nm, nl, secret ? "(credential)" : c->arena + c->hv[i].val_off,
					 secret ? (size_t)12 : (size_t)c->hv[i].val_len);
		if (pair != NULL)
			json_array_append_new(all, pair);
	}
	json_object_set_new(o, "headers", all ? all : json_null());
	json_object_set_new(o, "body_len", json_integer((json_int_t)c->body.len));
	/* tests compare what arrived with what was sent, byte for byte */
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	if (!c->body_overflow &&
	    EVP_Digest(c->body.data != NULL ? c->body.data : "", c->body.len, md, &mdlen,
		       EVP_sha256(), NULL) == 1) {
		for (unsigned int k = 0; k < mdlen; k++)
			snprintf(hex + 2 * k, 3, "%02x", md[k]);
		json_object_set_new(o, "body_sha256", json_stringn(hex, 2 * (size_t)mdlen));
	}
	json_object_set(o, "model", model ? (json_t *)model : json_null());
	json_object_set_new(o, "stream", json_boolean(stream));
	json_object_set_new(o, "status", json_integer(status));
	json_object_set_new(o, "fault", json_string(fault));
	json_dumpf(o, s->log, JSON_COMPACT);
	fputc('\n', s->log);
	json_decref(o);
}
