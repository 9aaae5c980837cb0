#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOCK_BUF_DEFAULT_MAX ((size_t)64 << 20)

int mock_buf_reserve(struct mock_buf *b, size_t extra)
{
	size_t max = b->max ? b->max : MOCK_BUF_DEFAULT_MAX;
	if (extra > max || b->len > max - extra)
		return -1;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (cap > max)
		cap = max;
	char *p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int mock_buf_append(struct mock_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (mock_buf_reserve(b, n) != 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int mock_buf_puts(struct mock_buf *b, const char *s)
{
	return mock_buf_append(b, s, strlen(s));
}

int mock_buf_printf(struct mock_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[512];
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof small)
		return mock_buf_append(b, small, (size_t)n);
	if (mock_buf_reserve(b, (size_t)n + 1) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int mock_buf_json_str(struct mock_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (mock_buf_reserve(b, n * 6 + 2) != 0)
		return -1;
	char *o = b->data + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			*o++ = '\\';
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	return 0;
}

void mock_buf_consume(struct mock_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void mock_buf_release(struct mock_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
