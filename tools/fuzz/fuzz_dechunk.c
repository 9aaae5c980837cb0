/* Fuzz target: chunked upstream bodies (runtime/dechunk.c). libcurl hands
 * them over raw, so every byte is the upstream's. Any input must decode
 * without a fault, never grow, and decode the same when split into two reads
 * at any point (the first input byte picks the split). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dechunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t cut = data[0] % size;
  const char *in = (const char *)data + 1;
  size_t len = size - 1;
  if (cut > len) cut = len;
  char *whole = malloc(len + 1), *split = malloc(len + 1);
  if (whole == NULL || split == NULL) __builtin_trap();

  struct qcc_dechunk d;
  qcc_dechunk_init(&d);
  size_t n1 = 0;
  enum qcc_dechunk_status s1 = qcc_dechunk_feed(&d, in, len, whole, &n1);
  if (n1 > len) __builtin_trap();

  qcc_dechunk_init(&d);
  size_t a = 0, b = 0;
  enum qcc_dechunk_status s2 = qcc_dechunk_feed(&d, in, cut, split, &a);
  if (a > cut) __builtin_trap();
  if (s2 == QCC_DECHUNK_MORE) {
    s2 = qcc_dechunk_feed(&d, in + cut, len - cut, split + a, &b);
    if (b > len - cut) __builtin_trap();
  }
  if (s1 != s2 || n1 != a + b || memcmp(whole, split, n1) != 0) __builtin_trap();
  free(whole);
  free(split);
  return 0;
}
