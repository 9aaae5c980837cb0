/* usagecap-bench: the usage capture (runtime/usagecap.c) alone, for
 * instruction counts under callgrind. Reads FILE (a fuzz corpus entry: its
 * first 2 control bytes are dropped unless --raw), then captures it N times
 * in reads of R bytes. Per-stream cost = callgrind total of
 * qcc_usagecap_feed / N (see tools/bench/README.md, "Usage capture").
 * --events feeds each SSE event (up to its blank line) as its own read, as
 * a chunked upstream that writes one event per chunk gives them.
 *
 *   usagecap-bench [--raw] [--json] [--events] FILE [N [R]]   (N 1000, R 300) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/usagecap.h"

int main(int argc, char **argv) {
  int a = 1;
  bool raw = false, json = false, events = false;
  for (; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a++) {
    if (strcmp(argv[a], "--raw") == 0) raw = true;
    else if (strcmp(argv[a], "--json") == 0) json = true;
    else if (strcmp(argv[a], "--events") == 0) events = true;
    else break;
  }
  if (a >= argc) {
    fprintf(stderr, "usage: usagecap-bench [--raw] [--json] [--events] FILE [N [R]]\n");
    return 2;
  }
  FILE *f = fopen(argv[a], "rb");
  if (f == NULL) {
    perror(argv[a]);
    return 2;
  }
  static char buf[1 << 20];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  long n = a + 1 < argc ? atol(argv[a + 1]) : 1000;
  long r = a + 2 < argc ? atol(argv[a + 2]) : 300;
  if (n < 1 || r < 1) {
    fprintf(stderr, "usagecap-bench: N and R must be positive\n");
    return 2;
  }
  const char *in = buf;
  if (!raw && len >= 2) in += 2, len -= 2;
  struct qcc_usage_tokens t = {0};
  bool seen = false;
  for (long k = 0; k < n; k++) {
    struct qcc_usagecap c;
    qcc_usagecap_begin(&c, json ? QCC_USAGECAP_JSON : QCC_USAGECAP_SSE);
    for (size_t off = 0, m; off < len; off += m) {
      m = len - off < (size_t)r ? len - off : (size_t)r;
      if (events) {
        const char *end = memmem(in + off, len - off, "\n\n", 2);
        m = end != NULL ? (size_t)(end - (in + off)) + 2 : len - off;
      }
      qcc_usagecap_feed(&c, in + off, m);
    }
    seen = qcc_usagecap_result(&c, &t);
  }
  printf("%zu bytes x %ld: seen %d in %lld out %lld cw5m %lld cw1h %lld cr %lld\n", len, n, seen,
         (long long)t.input, (long long)t.output, (long long)t.cache_write_5m,
         (long long)t.cache_write_1h, (long long)t.cache_read);
  return 0;
}
