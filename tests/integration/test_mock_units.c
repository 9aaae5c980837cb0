/* Unit tests of the mock upstream's pieces: fault specs, the SSE event
 * sequence, the error and list shapes. The real-process tests are t*.sh. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "tools/mock-upstream/buf.h"
#include "tools/mock-upstream/fault.h"
#include "tools/mock-upstream/reply.h"

static int parse(const char *spec, struct mock_fault *f)
{
	char err[256];
	return mock_fault_parse(spec, strlen(spec), f, err, sizeof err);
}

Test(mock_fault, words_and_params)
{
	struct mock_fault f;
	cr_assert_eq(parse("hang", &f), 0);
	cr_assert_eq(f.kind, MOCK_FAULT_HANG);
	cr_assert_eq(f.count, -1);
	cr_assert_eq(parse("status=429&retry_after=3&count=2\n", &f), 0);
	cr_assert_eq(f.kind, MOCK_FAULT_STATUS);
	cr_assert_eq(f.status, 429);
	cr_assert_eq(f.retry_after, 3);
	cr_assert_eq(f.count, 2);
	cr_assert_eq(parse("status=529", &f), 0);
	cr_assert_eq(f.retry_after, 1, "529 gets a default retry-after");
	cr_assert_eq(parse("slow&delay_ms=250", &f), 0);
	cr_assert_eq(f.kind, MOCK_FAULT_SLOW);
	cr_assert_eq(f.delay_ms, 250);
	cr_assert_eq(parse("reset_mid_stream&after=4", &f), 0);
	cr_assert_eq(f.after, 4);
	cr_assert_eq(parse("kind=close_before_headers", &f), 0);
	cr_assert_eq(f.kind, MOCK_FAULT_CLOSE_BEFORE_HEADERS);
	cr_assert_eq(parse("ok", &f), 0);
	cr_assert_eq(f.kind, MOCK_FAULT_OK);
}

Test(mock_fault, storm_kinds_and_windows)
{
	struct mock_fault f;
	cr_assert_eq(parse("error_body", &f), 0);
	cr_assert_eq(f.kind, MOCK_FAULT_ERROR_BODY);
	cr_assert_eq(parse("stall_after_head", &f), 0);
	cr_assert_eq(f.kind, MOCK_FAULT_STALL);
	cr_assert_eq(f.after, -1, "stall defaults to right after the head");
	cr_assert_eq(parse("sse_error&after=0&message=busy+now", &f), 0);
	cr_assert_eq(f.kind, MOCK_FAULT_SSE_ERROR);
	cr_assert_eq(f.after, 0);
	cr_assert_str_eq(f.message, "busy now");
	cr_assert_eq(parse("slow_head&delay_ms=1500", &f), 0);
	cr_assert_eq(f.kind, MOCK_FAULT_SLOW_HEAD);
	cr_assert_eq(f.delay_ms, 1500);
	cr_assert_eq(parse("status=529&retry_after=1&for_ms=1500", &f), 0);
	cr_assert_eq(f.status, 529);
	cr_assert_eq(f.for_ms, 1500);
	cr_assert_eq(f.count, -1);
	cr_assert_eq(parse("hang", &f), 0);
	cr_assert_eq(f.for_ms, -1, "no window unless asked");
	cr_assert_eq(parse("hang&for_ms=0", &f), -1);
	cr_assert_eq(parse("hang&for_ms=x", &f), -1);
	char d[64];
	parse("sse_error&after=3", &f);
	mock_fault_describe(&f, d, sizeof d);
	cr_assert_str_eq(d, "sse_error&after=3");
}

Test(mock_fault, rejects_bad_specs)
{
	struct mock_fault f;
	const char *bad[] = {"", "explode", "status=abc", "status=99", "status=600",
			     "count=0", "delay_ms=-1", "colour=red"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(parse(bad[i], &f), -1, "accepted '%s'", bad[i]);
	char err[128] = "";
	mock_fault_parse("explode", 7, &f, err, sizeof err);
	cr_assert(strstr(err, "explode") != NULL, "error names the bad word: %s", err);
}

Test(mock_reply, sse_sequence_is_anthropic_shaped)
{
	struct mock_reply_ctx c = {.name = "up\"1", .model = "m-1", .id = "msg_x",
				   .input_tokens = 7, .deltas = 50};
	int total = mock_reply_event_count(c.deltas);
	cr_assert_eq(total, 56);
	struct mock_buf text = {0};
	for (int k = 0; k < total; k++) {
		struct mock_buf b = {0};
		cr_assert_eq(mock_reply_event(&b, &c, k), 0);
		cr_assert(b.len > 8 && memcmp(b.data, "event: ", 7) == 0);
		cr_assert(b.data[b.len - 1] == '\n' && b.data[b.len - 2] == '\n');
		const char *nl = memchr(b.data, '\n', b.len);
		cr_assert(nl != NULL && strncmp(nl + 1, "data: ", 6) == 0);
		json_error_t je;
		json_t *o = json_loadb(nl + 7, b.len - (size_t)(nl + 7 - b.data) - 2, 0, &je);
		cr_assert(o != NULL, "event %d is not JSON: %s", k, je.text);
		const char *type = json_string_value(json_object_get(o, "type"));
		size_t tl = strlen(type);
		cr_assert(strncmp(b.data + 7, type, tl) == 0 && b.data[7 + tl] == '\n',
			  "event line matches data.type at %d", k);
		if (k == 0)
			cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "message"), "model")), "m-1");
		if (strcmp(type, "content_block_delta") == 0) {
			const char *t = json_string_value(json_object_get(json_object_get(o, "delta"), "text"));
			mock_buf_append(&text, t, strlen(t));
		}
		if (k == total - 2)
			cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "usage"), "output_tokens")), 50);
		json_decref(o);
		mock_buf_release(&b);
	}
	struct mock_buf b = {0};
	cr_assert_eq(mock_reply_event(&b, &c, total), -1, "no event past the end");
	cr_assert_eq(mock_reply_message(&b, &c), 0);
	json_t *m = json_loadb(b.data, b.len, 0, NULL);
	cr_assert(m != NULL);
	const char *full = json_string_value(json_object_get(json_array_get(json_object_get(m, "content"), 0), "text"));
	cr_assert_eq(strlen(full), text.len);
	cr_assert(memcmp(full, text.data, text.len) == 0, "message text = concatenated deltas");
	cr_assert(strstr(full, "from up\"1.") != NULL);
	json_decref(m);
	mock_buf_release(&b);
	mock_buf_release(&text);
}

Test(mock_reply, errors_and_lists)
{
	struct { int status; const char *type; } cases[] = {
		{401, "authentication_error"}, {429, "rate_limit_error"}, {500, "api_error"},
		{503, "api_error"}, {529, "overloaded_error"}, {404, "not_found_error"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mock_buf b = {0};
		cr_assert_eq(mock_reply_error(&b, cases[i].status, "m\n\"x\""), 0);
		json_t *o = json_loadb(b.data, b.len, 0, NULL);
		cr_assert(o != NULL);
		cr_assert_str_eq(json_string_value(json_object_get(o, "type")), "error");
		cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "error"), "type")),
				 cases[i].type);
		cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "error"), "message")),
				 "m\n\"x\"");
		json_decref(o);
		mock_buf_release(&b);
	}
	struct mock_buf b = {0};
	cr_assert_eq(mock_reply_models(&b), 0);
	json_t *o = json_loadb(b.data, b.len, 0, NULL);
	cr_assert(o != NULL);
	json_t *data = json_object_get(o, "data");
	cr_assert(json_array_size(data) > 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "first_id")),
			 json_string_value(json_object_get(json_array_get(data, 0), "id")));
	cr_assert(json_is_false(json_object_get(o, "has_more")));
	json_decref(o);
	mock_buf_release(&b);
}

Test(mock_buf, cap_is_enforced)
{
	struct mock_buf b = {.max = 16};
	cr_assert_eq(mock_buf_append(&b, "0123456789", 10), 0);
	cr_assert_eq(mock_buf_append(&b, "0123456789", 10), -1, "over the cap");
	cr_assert_eq(b.len, 10);
	mock_buf_consume(&b, 4);
	cr_assert_eq(b.len, 6);
	cr_assert(memcmp(b.data, "456789", 6) == 0);
	mock_buf_release(&b);
	cr_assert_null(b.data);
}
