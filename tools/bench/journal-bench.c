/* Journal write throughput under each fsync policy.
 *
 *   journal-bench [--records N] [--batch B] [--dir DIR]
 *
 * Appends N health_check records, calling flush every B records (one flush
 * per loop iteration, as qcc-run does), and prints records/s plus the p50 /
 * p99 / max time spent in flush — the time the event loop is blocked. The
 * journal is written to a fresh temp directory under DIR (default /tmp, use
 * the real state directory's filesystem for meaningful `always` figures). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/journal_writer.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int run(const char *base, enum qcc_fsync_policy p, unsigned n, unsigned batch) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/qcc-journal-bench-XXXXXX", base);
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return -1;
  }
  struct qcc_journal *j = NULL;
  struct qcc_err err = {0};
  if (qcc_journal_open(dir, p, &j, &err) != 0) {
    fprintf(stderr, "journal-bench: %s\n", err.msg);
    return -1;
  }
  unsigned flushes = (n + batch - 1) / batch, f = 0;
  double *lat = calloc(flushes, sizeof *lat);
  if (lat == NULL) return -1;
  double t0 = now_s();
  for (unsigned i = 0; i < n; i++) {
    struct qcc_jrec r = {.type = QCC_JT_HEALTH_CHECK};
    r.u.health_check = (struct qcc_jrec_health_check){{0x1234 + i % 16, "prod-endpoint-1"}, (uint8_t)(i & 1),
                                                      200, 1000 + i % 5000, i & 1 ? "" : "HTTP 503"};
    if (qcc_journal_append(j, &r, &err) != 0) {
      fprintf(stderr, "journal-bench: %s\n", err.msg);
      return -1;
    }
    if ((i + 1) % batch == 0 || i + 1 == n) {
      double a = now_s();
      if (qcc_journal_flush(j, &err) != 0) {
        fprintf(stderr, "journal-bench: %s\n", err.msg);
        return -1;
      }
      lat[f++] = now_s() - a;
    }
  }
  double elapsed = now_s() - t0;
  struct qcc_journal_stats st;
  qcc_journal_get_stats(j, &st);
  qcc_journal_close(&j);
  qsort(lat, f, sizeof *lat, cmp_double);
  printf("%-9s %9u %6u %12.0f %10.1f %10.1f %10.1f %8" PRIu64 "\n", qcc_enum_name(&qcc_fsync_desc, p), n, batch,
         n / elapsed, lat[f / 2] * 1e6, lat[(size_t)(f * 0.99)] * 1e6, lat[f - 1] * 1e6, st.fsyncs);
  free(lat);
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, QCC_JOURNAL_FILE);
  unlink(path);
  rmdir(dir);
  return 0;
}

int main(int argc, char **argv) {
  unsigned n = 200000, batch = 1;
  const char *base = "/tmp";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
      n = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
      batch = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
      base = argv[++i];
    else {
      fprintf(stderr, "usage: journal-bench [--records N] [--batch B] [--dir DIR]\n");
      return 2;
    }
  }
  if (n == 0 || batch == 0) return 2;
  printf("%-9s %9s %6s %12s %10s %10s %10s %8s\n", "policy", "records", "batch", "records/s", "flush_p50us",
         "flush_p99us", "flush_maxus", "fsyncs");
  enum qcc_fsync_policy order[] = {QCC_FSYNC_NO, QCC_FSYNC_EVERYSEC, QCC_FSYNC_ALWAYS};
  for (size_t k = 0; k < 3; k++) {
    /* `always` pays one fdatasync per flush: fewer records keep it short. */
    unsigned records = order[k] == QCC_FSYNC_ALWAYS && n > 20000 ? 20000 : n;
    if (run(base, order[k], records, batch) != 0) return 1;
  }
  return 0;
}
