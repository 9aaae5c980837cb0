/* jsonscan-bench: runtime/jsonscan.c alone on one body, for instruction
 * counts under callgrind (or wall clock in a loop). Reads FILE (a
 * tools/bench/ccbody.py body) and scans it N times the way qcc-run does
 * without a model map (qcc_jsonscan_quick), or with --walk the way it does
 * with one (qcc_jsonscan_body). Per-body cost = callgrind's inclusive count
 * of that function / N (see tools/bench/README.md, "Claude-Code bodies").
 *
 *   jsonscan-bench [--walk] FILE [N]   (N 100) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/jsonscan.h"

int main(int argc, char **argv) {
  int a = 1;
  bool walk = false;
  if (a < argc && strcmp(argv[a], "--walk") == 0) {
    walk = true;
    a++;
  }
  if (a >= argc) {
    fprintf(stderr, "usage: jsonscan-bench [--walk] FILE [N]\n");
    return 2;
  }
  FILE *f = fopen(argv[a], "rb");
  if (f == NULL) {
    perror(argv[a]);
    return 2;
  }
  static char buf[4 << 20];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  long n = a + 1 < argc ? atol(argv[a + 1]) : 100;
  if (n < 1) {
    fprintf(stderr, "jsonscan-bench: N must be positive\n");
    return 2;
  }
  struct qcc_jsonscan_facts facts;
  int rc = 0;
  for (long k = 0; k < n; k++)
    rc |= walk ? qcc_jsonscan_body(buf, len, &facts) : qcc_jsonscan_quick(buf, len, &facts);
  /* what was found, so a run can be checked against the walk's */
  printf("rc %d quick %d model %zu+%zu stream %d user_id %s\n", rc, facts.quick, facts.model.off,
         facts.model.len, facts.stream, facts.has_user_id ? "yes" : "no");
  return 0;
}
