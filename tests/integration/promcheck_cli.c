/* promcheck FILE|-: the strict exposition-format checker of tests/admin as a
 * command, so shell tests can check /metrics scraped from a live qcc-run.
 * Prints "ok N samples" (exit 0) or the reason (exit 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/admin/promcheck.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: promcheck FILE|-\n");
    return 2;
  }
  FILE *f = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "r");
  if (f == NULL) {
    perror(argv[1]);
    return 2;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (buf == NULL) return 2;
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
    if (len == cap) {
      cap *= 2;
      char *nb = realloc(buf, cap);
      if (nb == NULL) free(buf);
      buf = nb;
    }
  }
  if (f != stdin) fclose(f);
  char why[512] = "";
  size_t samples = 0;
  int rc = promcheck(buf, len, &samples, why, sizeof why);
  free(buf);
  if (rc != 0) {
    printf("invalid: %s\n", why);
    return 1;
  }
  printf("ok %zu samples\n", samples);
  return 0;
}
