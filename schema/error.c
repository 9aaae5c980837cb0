#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int qcc_err_set(struct qcc_err *err, int code, const char *fmt, ...) {
  if (err == NULL) return -1;
  va_list ap;
  va_start(ap, fmt);
  err->code = code;
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return -1;
}

int qcc_err_wrap(struct qcc_err *err, const char *fmt, ...) {
  if (err == NULL) return -1;
  char out[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, sizeof out, fmt, ap);
  va_end(ap);
  size_t used = n < 0 ? 0 : ((size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
  /* Append ": OLD" by hand: snprintf of two full buffers trips -Wformat-truncation. */
  const char sep[] = ": ";
  size_t room = sizeof out - 1 - used;
  size_t take = sizeof sep - 1 < room ? sizeof sep - 1 : room;
  memcpy(out + used, sep, take);
  used += take;
  room = sizeof out - 1 - used;
  size_t old_len = strnlen(err->msg, sizeof err->msg);
  take = old_len < room ? old_len : room;
  memcpy(out + used, err->msg, take);
  used += take;
  out[used] = '\0';
  memcpy(err->msg, out, used + 1);
  return -1;
}
