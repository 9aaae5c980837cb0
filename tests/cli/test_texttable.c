/* compiler/texttable: alignment, fitting to a width with "…" at character
 * boundaries (UTF-8), the preferred column cut first, right-aligned columns
 * never cut, and --wide (fit 0) printing every cell whole. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/texttable.h"

static char *print(struct qccc_texttable *t, const char *indent, size_t fit) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  qccc_texttable_print(t, f, indent, fit);
  fclose(f);
  return buf;
}

static size_t widest_line(const char *s) {
  size_t best = 0, w = 0;
  for (; *s; s++) {
    if (*s == '\n') {
      if (w > best) best = w;
      w = 0;
    } else if (((unsigned char)*s & 0xC0) != 0x80) {
      w++;
    }
  }
  return w > best ? w : best;
}

Test(texttable, aligns_and_right_aligns) {
  struct qccc_texttable t = {.cols = 3};
  t.right[1] = true;
  qccc_texttable_row(&t, "ID", "N", "NOTE");
  qccc_texttable_row(&t, "alpha", "12", NULL);
  char *out = print(&t, "", 0);
  cr_assert_str_eq(out, "ID      N  NOTE\nalpha  12  -\n");
  free(out);
}

Test(texttable, fits_the_width_cutting_the_widest_text_column) {
  struct qccc_texttable t = {.cols = 3};
  t.right[1] = true;
  char longer[200];
  memset(longer, 'x', 150);
  longer[150] = '\0';
  qccc_texttable_row(&t, "ID", "COUNT", "DETAIL");
  qccc_texttable_row(&t, "a", "123456", longer);
  char *out = print(&t, "  ", 60);
  cr_assert_eq(widest_line(out), 60, "%s", out);
  cr_assert_not_null(strstr(out, "123456"), "numbers are never cut: %s", out);
  cr_assert_not_null(strstr(out, "x…\n"), "%s", out);
  free(out);
}

Test(texttable, cuts_utf8_at_character_boundaries) {
  struct qccc_texttable t = {.cols = 2};
  qccc_texttable_row(&t, "名前", "生产环境配置生产环境配置生产环境配置生产环境配置");
  char *out = print(&t, "", 20);
  cr_assert_eq(widest_line(out), 20, "%s", out);
  cr_assert_not_null(strstr(out, "环…"), "%s", out);
  free(out);
}

Test(texttable, the_preferred_column_goes_first) {
  struct qccc_texttable t = {.cols = 3, .cut_first = 3};
  qccc_texttable_row(&t, "off (operator: key rotation)", "x", "https://prod-2.example.com/v1/long/path");
  char *out = print(&t, "", 50);
  cr_assert_not_null(strstr(out, "off (operator: key rotation)"), "%s", out);
  cr_assert_not_null(strstr(out, "https://"), "%s", out);
  cr_assert_eq(widest_line(out), 50, "%s", out);
  free(out);
}

Test(texttable, fit_zero_is_wide) {
  struct qccc_texttable t = {.cols = 2};
  char longer[300];
  memset(longer, 'y', 250);
  longer[250] = '\0';
  qccc_texttable_row(&t, "a", longer);
  char *out = print(&t, "", 0);
  cr_assert_not_null(strstr(out, longer));
  free(out);
}

Test(texttable, a_free_line_fits_too) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  qccc_texttable_line(f, "errors       prod-1 healthy, last error: HTTP 503 upstream says overloaded",
                      " (4m ago)", 40);
  qccc_texttable_line(f, "short", "", 40);
  qccc_texttable_line(f, "whole when wide: nothing is cut from this line at all", "", 0);
  fclose(f);
  cr_assert_eq(widest_line(buf), 53, "%s", buf);
  cr_assert_not_null(strstr(buf, "errors       prod-1 healthy, l… (4m ago)\nshort\n"), "%s", buf);
  free(buf);
}
