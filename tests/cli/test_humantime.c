/* compiler/humantime.c: every human-facing time is local with its zone. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler/humantime.h"

static void zone(const char *tz) {
  setenv("TZ", tz, 1);
  tzset();
}

/* 2026-11-26T04:10:02.458Z */
#define T_MS 1795666202458LL

Test(humantime, local_with_zone) {
  char b[64];
  zone("QCT-2");
  cr_assert_eq(qccc_humantime(T_MS / 1000, b, sizeof b), 0);
  cr_expect_str_eq(b, "2026-11-26 06:10:02 QCT");
  cr_assert_eq(qccc_humantime_ms(T_MS, b, sizeof b), 0);
  cr_expect_str_eq(b, "2026-11-26 06:10:02.458 QCT");
  zone("UTC0");
  qccc_humantime(T_MS / 1000, b, sizeof b);
  cr_expect_str_eq(b, "2026-11-26 04:10:02 UTC");
  char tiny[8];
  cr_expect_eq(qccc_humantime(T_MS / 1000, tiny, sizeof tiny), -1);
  cr_expect_str_eq(tiny, "-");
}

Test(humantime, parse_iso) {
  int64_t ms = 0;
  size_t len = 0;
  cr_assert(qccc_humantime_parse_iso("2026-11-26T04:10:02.458Z INFO x", &ms, &len));
  cr_expect_eq(ms, T_MS);
  cr_expect_eq(len, 24);
  cr_assert(qccc_humantime_parse_iso("2026-11-26T04:10:02Z", &ms, &len));
  cr_expect_eq(ms, T_MS - 458);
  cr_expect_eq(len, 20);
  cr_assert(qccc_humantime_parse_iso("2026-11-26T04:10:02.4589Z", &ms, &len));
  cr_expect_eq(ms, T_MS);
  cr_expect(!qccc_humantime_parse_iso("2026-11-26 04:10:02Z", &ms, &len));
  cr_expect(!qccc_humantime_parse_iso("2026-13-26T04:10:02Z", &ms, &len));
  cr_expect(!qccc_humantime_parse_iso("2026-11-26T04:10:02", &ms, &len));
  cr_expect(!qccc_humantime_parse_iso("2026-11-26T04:10:02.Z", &ms, &len));
  cr_expect(!qccc_humantime_parse_iso("", &ms, &len));
}

Test(humantime, log_lines) {
  char b[256];
  zone("QCT-2");
  cr_expect_str_eq(qccc_humantime_line("2026-11-26T04:10:02.458Z INFO drained; exiting", b, sizeof b),
                   "2026-11-26 06:10:02.458 QCT INFO drained; exiting");
  cr_expect_str_eq(qccc_humantime_line("2026-11-26T04:10:02Z ACCESS 200", b, sizeof b),
                   "2026-11-26 06:10:02 QCT ACCESS 200");
  const char *plain = "qcc-run: no table";
  cr_expect_eq(qccc_humantime_line(plain, b, sizeof b), plain);
  char small[10];
  const char *l = "2026-11-26T04:10:02Z x";
  cr_expect_eq(qccc_humantime_line(l, small, sizeof small), l, "too small: the line as it is");
}
