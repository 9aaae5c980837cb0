#include "reply.h"

#include <stdio.h>
#include <string.h>

struct model_info {
	const char *id;
	const char *display_name;
	const char *created_at;
};

static const struct model_info models[] = {
	{"claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"},
	{"claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z"},
	{"claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"},
	{"claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"},
};
#define N_MODELS (sizeof models / sizeof models[0])

int mock_reply_delta_text(struct mock_buf *out, const struct mock_reply_ctx *c, int i)
{
	if (i == 0)
		return mock_buf_printf(out, "Hello from %.256s.", c->name);
	return mock_buf_printf(out, " chunk %d", i);
}

static int json_str(struct mock_buf *out, const char *s)
{
	return mock_buf_json_str(out, s, strlen(s));
}

/* One delta escaped straight from a stack buffer (no allocation per event);
 * a range of deltas (the whole message) goes through one heap buffer. */
static int text_json(struct mock_buf *out, const struct mock_reply_ctx *c, int from, int to)
{
	if (to - from == 1) {
		char tmp[320];
		int n = from == 0 ? snprintf(tmp, sizeof tmp, "Hello from %.256s.", c->name)
				  : snprintf(tmp, sizeof tmp, " chunk %d", from);
		if (n < 0)
			return -1;
		return mock_buf_json_str(out, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
	}
	struct mock_buf raw = {0};
	int rc = 0;
	for (int i = from; i < to && rc == 0; i++)
		rc = mock_reply_delta_text(&raw, c, i);
	if (rc == 0)
		rc = mock_buf_json_str(out, raw.data ? raw.data : "", raw.len);
	mock_buf_release(&raw);
	return rc;
}

/* The cache fields of a usage object: "cache_creation_input_tokens":N,
 * "cache_read_input_tokens":N, and the 5m/1h split when any cache count is set. */
static int cache_usage(struct mock_buf *out, const struct mock_reply_ctx *c)
{
	int rc = mock_buf_printf(out, "\"cache_creation_input_tokens\":%ld,\"cache_read_input_tokens\":%ld",
				 c->cache_5m + c->cache_1h, c->cache_read);
	if (c->cache_5m || c->cache_1h || c->cache_read)
		rc |= mock_buf_printf(out, ",\"cache_creation\":{\"ephemeral_5m_input_tokens\":%ld,"
				      "\"ephemeral_1h_input_tokens\":%ld}", c->cache_5m, c->cache_1h);
	return rc;
}

int mock_reply_message(struct mock_buf *out, const struct mock_reply_ctx *c)
{
	int rc = 0;
	rc |= mock_buf_puts(out, "{\"id\":");
	rc |= json_str(out, c->id);
	rc |= mock_buf_puts(out, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
	rc |= json_str(out, c->model);
	rc |= mock_buf_puts(out, ",\"content\":[{\"type\":\"text\",\"text\":");
	rc |= text_json(out, c, 0, c->deltas);
	rc |= mock_buf_printf(out, "}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
			      "\"usage\":{\"input_tokens\":%ld,", c->input_tokens);
	rc |= cache_usage(out, c);
	rc |= mock_buf_printf(out, ",\"output_tokens\":%d}}", c->deltas);
	return rc ? -1 : 0;
}

int mock_reply_event_count(int deltas)
{
	return deltas + 6;
}

int mock_reply_event(struct mock_buf *out, const struct mock_reply_ctx *c, int k)
{
	int total = mock_reply_event_count(c->deltas);
	int rc = 0;
	if (k == 0) {
		rc |= mock_buf_puts(out, "event: message_start\ndata: {\"type\":\"message_start\","
				    "\"message\":{\"id\":");
		rc |= json_str(out, c->id);
		rc |= mock_buf_puts(out, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
		rc |= json_str(out, c->model);
		rc |= mock_buf_printf(out, ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
				      "\"usage\":{\"input_tokens\":%ld,", c->input_tokens);
		rc |= cache_usage(out, c);
		rc |= mock_buf_puts(out, ",\"output_tokens\":1}}}\n\n");
	} else if (k == 1) {
		rc |= mock_buf_puts(out, "event: content_block_start\ndata: {\"type\":\"content_block_start\","
				    "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
	} else if (k == 2) {
		rc |= mock_buf_puts(out, "event: ping\ndata: {\"type\": \"ping\"}\n\n");
	} else if (k < total - 3) {
		rc |= mock_buf_puts(out, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
				    "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":");
		rc |= text_json(out, c, k - 3, k - 2);
		rc |= mock_buf_puts(out, "}}\n\n");
	} else if (k == total - 3) {
		rc |= mock_buf_puts(out, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
				    "\"index\":0}\n\n");
	} else if (k == total - 2) {
		rc |= mock_buf_printf(out, "event: message_delta\ndata: {\"type\":\"message_delta\","
				      "\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
				      "\"usage\":{\"output_tokens\":%d}}\n\n", c->deltas);
	} else if (k == total - 1) {
		rc |= mock_buf_puts(out, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
	} else {
		return -1;
	}
	return rc ? -1 : 0;
}

const char *mock_reply_error_type(int status)
{
	switch (status) {
	case 400: return "invalid_request_error";
	case 401: return "authentication_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 504: return "timeout_error";
	case 529: return "overloaded_error";
	default: return status >= 500 ? "api_error" : "invalid_request_error";
	}
}

const char *mock_reply_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 529: return "Overloaded";
	default: return "Status";
	}
}

int mock_reply_error(struct mock_buf *out, int status, const char *message)
{
	int rc = 0;
	rc |= mock_buf_printf(out, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":",
			      mock_reply_error_type(status));
	rc |= json_str(out, message);
	rc |= mock_buf_puts(out, "}}");
	return rc ? -1 : 0;
}

static int model_obj(struct mock_buf *out, const struct model_info *m)
{
	return mock_buf_printf(out, "{\"type\":\"model\",\"id\":\"%s\",\"display_name\":\"%s\","
			       "\"created_at\":\"%s\"}", m->id, m->display_name, m->created_at);
}

int mock_reply_models(struct mock_buf *out)
{
	int rc = mock_buf_puts(out, "{\"data\":[");
	for (size_t i = 0; i < N_MODELS; i++) {
		if (i > 0)
			rc |= mock_buf_puts(out, ",");
		rc |= model_obj(out, &models[i]);
	}
	rc |= mock_buf_printf(out, "],\"has_more\":false,\"first_id\":\"%s\",\"last_id\":\"%s\"}",
			      models[0].id, models[N_MODELS - 1].id);
	return rc ? -1 : 0;
}

int mock_reply_model(struct mock_buf *out, const char *id, size_t idlen)
{
	for (size_t i = 0; i < N_MODELS; i++) {
		if (strlen(models[i].id) == idlen && memcmp(models[i].id, id, idlen) == 0)
			return model_obj(out, &models[i]);
	}
	return -1;
}

int mock_reply_count_tokens(struct mock_buf *out, long input_tokens)
{
	return mock_buf_printf(out, "{\"input_tokens\":%ld}", input_tokens);
}
