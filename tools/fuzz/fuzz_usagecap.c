/* Fuzz target: the usage capture (runtime/usagecap.c), which reads every
 * byte of every /v1/messages answer the upstream sends. Any input must read
 * without a fault, give counts that are unknown or within [0, 2^40], and give
 * the same counts when split into two reads at any point, and the same counts
 * as the capture before its fast paths (tests/usage/ref). The first input
 * byte picks the split, the second the kind (stream or JSON answer). */
#include <stdint.h>
#include <string.h>

#include "runtime/usagecap.h"
#include "usagecap_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(enum qcc_usagecap_kind kind, const char *in, size_t len, size_t cut,
                     struct qcc_usage_tokens *t, bool *seen) {
  struct qcc_usagecap c;
  qcc_usagecap_begin(&c, kind);
  qcc_usagecap_feed(&c, in, cut);
  qcc_usagecap_feed(&c, in + cut, len - cut);
  *seen = qcc_usagecap_result(&c, t);
}

static void check_range(int64_t v) {
  if (v != QCC_USAGE_UNKNOWN && (v < 0 || v > QCC_USAGE_MAX_TOKENS)) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  enum qcc_usagecap_kind kind = (data[1] & 1) ? QCC_USAGECAP_JSON : QCC_USAGECAP_SSE;
  const char *in = (const char *)data + 2;
  size_t len = size - 2;
  size_t cut = len ? data[0] % (len + 1) : 0;
  struct qcc_usage_tokens a, b;
  bool sa, sb;
  read_all(kind, in, len, 0, &a, &sa);
  read_all(kind, in, len, cut, &b, &sb);
  if (sa != sb || memcmp(&a, &b, sizeof a) != 0) __builtin_trap();
  struct ref_usagecap r;
  struct qcc_usage_tokens w;
  ref_usagecap_begin(&r, kind == QCC_USAGECAP_JSON ? REF_USAGECAP_JSON : REF_USAGECAP_SSE);
  ref_usagecap_feed(&r, in, len);
  if (ref_usagecap_result(&r, &w) != sa || memcmp(&a, &w, sizeof a) != 0) __builtin_trap();
  check_range(a.input);
  check_range(a.output);
  check_range(a.cache_write_5m);
  check_range(a.cache_write_1h);
  check_range(a.cache_read);
  return 0;
}
