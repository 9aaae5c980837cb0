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
#include "schema/error.h"
#include "schema/fileio.h"

int main(int argc, char **argv) {
  bool walk = argc > 1 && strcmp(argv[1], "--walk") == 0;
  char **arg = argv + 1 + walk;
  int left = argc - 1 - walk;
  long n = left > 1 ? atol(arg[1]) : 100;
  if (left < 1 || left > 2 || n < 1) {
    fprintf(stderr, "usage: jsonscan-bench [--walk] FILE [N]   (N >= 1, 100)\n");
    return 2;
  }
  void *body;
  size_t len;
  struct qcc_err err = {0};
  if (qcc_file_read(arg[0], (size_t)64 << 20, &body, &len, &err) != 0) {
    fprintf(stderr, "jsonscan-bench: %s\n", err.msg);
    return 2;
  }
  struct qcc_jsonscan_facts facts;
  int rc = 0;
  for (long k = 0; k < n; k++)
    rc |= walk ? qcc_jsonscan_body(body, len, &facts) : qcc_jsonscan_quick(body, len, &facts);
  /* what was found, so a run can be checked against the walk's */
  printf("rc %d quick %d model %zu+%zu stream %d user_id %s\n", rc, facts.quick, facts.model.off,
         facts.model.len, facts.stream, facts.has_user_id ? "yes" : "no");
  free(body);
  return 0;
}
