#include "fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
	[MOCK_FAULT_OK] = "ok",
	[MOCK_FAULT_STATUS] = "status",
	[MOCK_FAULT_HANG] = "hang",
	[MOCK_FAULT_SLOW] = "slow",
	[MOCK_FAULT_RESET_MID_STREAM] = "reset_mid_stream",
	[MOCK_FAULT_CLOSE_BEFORE_HEADERS] = "close_before_headers",
	[MOCK_FAULT_ERROR_BODY] = "error_body",
	[MOCK_FAULT_STALL] = "stall",
	[MOCK_FAULT_SSE_ERROR] = "sse_error",
	[MOCK_FAULT_SLOW_HEAD] = "slow_head",
};

const char *mock_fault_kind_name(enum mock_fault_kind k)
{
	if ((size_t)k < sizeof kind_names / sizeof kind_names[0])
		return kind_names[k];
	return "?";
}

void mock_fault_clear(struct mock_fault *f)
{
	f->kind = MOCK_FAULT_OK;
	f->status = 0;
	f->retry_after = -1;
	f->delay_ms = 2000;
	f->after = -1;
	f->count = -1;
	f->for_ms = -1;
	f->message[0] = '\0';
}

static int parse_int(const char *s, size_t n, long lo, long hi, long *out)
{
	char tmp[32];
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end = NULL;
	errno = 0;
	long v = strtol(tmp, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int set_kind(struct mock_fault *f, const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++) {
		if (i == MOCK_FAULT_STATUS)
			continue;
		if (strlen(kind_names[i]) == n && memcmp(kind_names[i], w, n) == 0) {
			f->kind = (enum mock_fault_kind)i;
			return 0;
		}
	}
	/* "reset" and "close" are accepted as short forms */
	if (n == 5 && memcmp(w, "reset", 5) == 0) {
		f->kind = MOCK_FAULT_RESET_MID_STREAM;
		return 0;
	}
	if (n == 5 && memcmp(w, "close", 5) == 0) {
		f->kind = MOCK_FAULT_CLOSE_BEFORE_HEADERS;
		return 0;
	}
	if (n == 16 && memcmp(w, "stall_after_head", 16) == 0) {
		f->kind = MOCK_FAULT_STALL;
		return 0;
	}
	return -1;
}

int mock_fault_parse(const char *spec, size_t len, struct mock_fault *out,
		     char *err, size_t errlen)
{
	struct mock_fault f;
	mock_fault_clear(&f);
	/* trim trailing whitespace/newlines (curl -d from files, echo) */
	while (len > 0 && (spec[len - 1] == '\n' || spec[len - 1] == '\r' ||
			   spec[len - 1] == ' '))
		len--;
	if (len == 0) {
		snprintf(err, errlen, "empty fault spec");
		return -1;
	}
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && spec[j] != '&' && spec[j] != ',')
			j++;
		const char *item = spec + i;
		size_t n = j - i;
		const char *eq = memchr(item, '=', n);
		long v = 0;
		if (n == 0) {
			/* tolerate "a&&b" */
		} else if (eq == NULL) {
			if (set_kind(&f, item, n) != 0) {
				snprintf(err, errlen, "unknown fault '%.*s' (use ok, hang, slow, "
					 "reset_mid_stream, close_before_headers, error_body, stall, "
					 "sse_error, slow_head or status=N)",
					 (int)n, item);
				return -1;
			}
		} else {
			size_t kn = (size_t)(eq - item);
			const char *val = eq + 1;
			size_t vn = n - kn - 1;
#define KEY_IS(lit) (kn == sizeof(lit) - 1 && memcmp(item, lit, kn) == 0)
			if (KEY_IS("status")) {
				if (parse_int(val, vn, 100, 599, &v) != 0)
					goto bad_value;
				f.kind = MOCK_FAULT_STATUS;
				f.status = (int)v;
			} else if (KEY_IS("retry_after")) {
				if (parse_int(val, vn, 0, 86400, &v) != 0)
					goto bad_value;
				f.retry_after = (int)v;
			} else if (KEY_IS("message")) {
				/* up to the next & or , ('+' = space, as in a form) */
				if (vn == 0 || vn >= sizeof f.message)
					goto bad_value;
				for (size_t k = 0; k < vn; k++) {
					unsigned char ch = (unsigned char)val[k];
					if (ch < 0x20 || ch == 0x7f)
						goto bad_value;
					f.message[k] = ch == '+' ? ' ' : (char)ch;
				}
				f.message[vn] = '\0';
			} else if (KEY_IS("count")) {
				if (parse_int(val, vn, 1, 1000000000L, &v) != 0)
					goto bad_value;
				f.count = v;
			} else if (KEY_IS("for_ms")) {
				if (parse_int(val, vn, 1, 86400000L, &v) != 0)
					goto bad_value;
				f.for_ms = v;
			} else if (KEY_IS("delay_ms")) {
				if (parse_int(val, vn, 0, 3600000L, &v) != 0)
					goto bad_value;
				f.delay_ms = (int)v;
			} else if (KEY_IS("after")) {
				if (parse_int(val, vn, 0, 1000000L, &v) != 0)
					goto bad_value;
				f.after = (int)v;
			} else if (KEY_IS("kind") || KEY_IS("fault")) {
				if (set_kind(&f, val, vn) != 0)
					goto bad_value;
			} else {
				snprintf(err, errlen, "unknown fault parameter '%.*s' (use status, "
					 "retry_after, message, count, for_ms, delay_ms, after)", (int)kn, item);
				return -1;
			}
#undef KEY_IS
		}
		i = j + 1;
		continue;
bad_value:
		snprintf(err, errlen, "bad value in '%.*s'", (int)n, item);
		return -1;
	}
	if (f.kind == MOCK_FAULT_STATUS && f.retry_after < 0 &&
	    (f.status == 429 || f.status == 529))
		f.retry_after = 1;
	*out = f;
	return 0;
}

void mock_fault_describe(const struct mock_fault *f, char *out, size_t outlen)
{
	if (f->kind == MOCK_FAULT_STATUS)
		snprintf(out, outlen, "status=%d", f->status);
	else if (f->after >= 0 && (f->kind == MOCK_FAULT_STALL || f->kind == MOCK_FAULT_SSE_ERROR ||
				   f->kind == MOCK_FAULT_RESET_MID_STREAM))
		snprintf(out, outlen, "%s&after=%d", mock_fault_kind_name(f->kind), f->after);
	else
		snprintf(out, outlen, "%s", mock_fault_kind_name(f->kind));
}
