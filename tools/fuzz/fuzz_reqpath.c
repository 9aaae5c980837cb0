/* Fuzz target: request-target normalisation (runtime/reqpath.c), every byte
 * the client's. Any input must normalise without a fault into at most its own
 * length; a result is a normal form (normalising it again changes nothing,
 * has no dot-segment and keeps the fast path's promise), and what
 * qcc_reqpath_check forwards outside /v1/ never came from dot-segments. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/reqpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = (const char *)data;
  char *out = malloc(size + 1), *again = malloc(size + 1), *chk = malloc(size + 1);
  if (out == NULL || again == NULL || chk == NULL) __builtin_trap();
  size_t n = 0, m = 0, k = 0;
  bool dots = false, dots2 = true;
  enum qcc_reqpath_status st = qcc_reqpath_normalize(in, size, out, &n, &dots);
  enum qcc_reqpath_status ck = qcc_reqpath_check(in, size, chk, &k);
  if (st == QCC_REQPATH_OK) {
    if (n > size || out[n] != '\0' || out[0] != '/') __builtin_trap();
    if (qcc_reqpath_normalize(out, n, again, &m, &dots2) != QCC_REQPATH_OK) __builtin_trap();
    if (m != n || memcmp(out, again, n) != 0 || dots2) __builtin_trap();
    if (!qcc_reqpath_needs_work(in, size) && (n != size || memcmp(in, out, n) != 0))
      __builtin_trap();
    bool in_v1 = n >= 4 && memcmp(out, "/v1/", 4) == 0;
    if (ck != (dots && !in_v1 ? QCC_REQPATH_LEAVES_V1 : QCC_REQPATH_OK)) __builtin_trap();
    if (ck == QCC_REQPATH_OK && (k != n || memcmp(chk, out, n) != 0)) __builtin_trap();
  } else if (ck != st) {
    __builtin_trap();
  }
  free(out);
  free(again);
  free(chk);
  return 0;
}
