/* A growable byte buffer with a hard cap, reused across requests so the
 * mock does not allocate per request once a connection is warm. */
#ifndef QCC_MOCK_BUF_H
#define QCC_MOCK_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct mock_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* hard cap; 0 = default (64 MiB) */
};

int mock_buf_reserve(struct mock_buf *b, size_t extra);
int mock_buf_append(struct mock_buf *b, const void *p, size_t n);
int mock_buf_puts(struct mock_buf *b, const char *s);
int mock_buf_printf(struct mock_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends s (n bytes) as a quoted JSON string with escapes. */
int mock_buf_json_str(struct mock_buf *b, const char *s, size_t n);
/* Drops the first n bytes. */
void mock_buf_consume(struct mock_buf *b, size_t n);
void mock_buf_release(struct mock_buf *b);

#endif
