/* Fuzz target: upstream SSE streams (runtime/sse.c), read while qcc-run
 * holds a stream's first events. Every byte is the upstream's. Any input
 * must read without a fault, keep names and data within their buffers, and
 * give the same events when split into two reads at any point (the first
 * input byte picks the split). */
#include <stdint.h>
#include <string.h>

#include "runtime/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A digest of the events of IN split at CUT: count, and names+data hashed. */
static uint64_t digest(const char *in, size_t len, size_t cut, unsigned *count) {
  struct qcc_sse s;
  qcc_sse_init(&s);
  uint64_t h = 1469598103934665603u;
  size_t parts[2] = {cut, len - cut};
  const char *p = in;
  *count = 0;
  for (int k = 0; k < 2; k++) {
    size_t left = parts[k];
    while (left > 0) {
      size_t used = 0;
      enum qcc_sse_status st = qcc_sse_feed(&s, p, left, &used);
      if (used > left || (st == QCC_SSE_MORE && used != left)) __builtin_trap();
      if (st == QCC_SSE_EVENT && used == 0) __builtin_trap(); /* must progress */
      p += used;
      left -= used;
      if (st != QCC_SSE_EVENT) continue;
      if (s.name_len > QCC_SSE_NAME_MAX || s.data_len > QCC_SSE_DATA_MAX) __builtin_trap();
      if (strlen(s.name) > s.name_len || s.data[s.data_len] != '\0') __builtin_trap();
      (*count)++;
      for (size_t i = 0; i < s.name_len; i++) h = (h ^ (uint8_t)s.name[i]) * 1099511628211u;
      h = (h ^ 0x100) * 1099511628211u;
      for (size_t i = 0; i < s.data_len; i++) h = (h ^ (uint8_t)s.data[i]) * 1099511628211u;
      h = (h ^ 0x200) * 1099511628211u;
    }
  }
  return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t cut = data[0] % size;
  const char *in = (const char *)data + 1;
  size_t len = size - 1;
  if (cut > len) cut = len;
  unsigned n1 = 0, n2 = 0;
  uint64_t a = digest(in, len, 0, &n1);
  uint64_t b = digest(in, len, cut, &n2);
  if (a != b || n1 != n2) __builtin_trap();
  return 0;
}
