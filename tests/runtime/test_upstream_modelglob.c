/* schema/modelglob.c and the pair choice of runtime/modelmap.c: globs in a
 * `models:` map and which pair wins when several match. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/modelmap.h"
#include "schema/modelglob.h"
#include "test_upstream_fixture.h"

static bool m(const char *pat, const char *name) {
  return qcc_modelglob_match(pat, strlen(pat), name, strlen(name));
}

Test(upstream_modelglob, match) {
  cr_expect(m("*", "claude-opus-5-5"));
  cr_expect(m("*", ""));
  cr_expect(m("claude-*opus*", "claude-opus-5-5"));
  cr_expect(m("claude-*opus*", "claude-3-opus-20240229"));
  cr_expect(!m("claude-*opus*", "claude-sonnet-4-5"));
  cr_expect(m("claude-?-5", "claude-4-5"));
  cr_expect(!m("claude-?-5", "claude-45-5"));
  cr_expect(m("claude-[0-9]*", "claude-4"));
  cr_expect(!m("claude-[0-9]*", "claude-x"));
  cr_expect(m("claude-[!0-9]*", "claude-x"));
  cr_expect(m("a*b*c", "aXXbYYbZZc"));
  cr_expect(!m("a*b*c", "aXXbYYbZZ"));
  cr_expect(m("exact", "exact"));
  cr_expect(!m("exact", "exact2"));
  cr_expect(!m("exac", "exact"));
  /* no exponential backtracking */
  cr_expect(!m("*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

Test(upstream_modelglob, check) {
  size_t at = 99;
  const char *why = NULL;
  cr_expect_eq(qcc_modelglob_check("claude-*opus*", 13, &at, &why), 0);
  cr_expect_eq(qcc_modelglob_check("[]x]", 4, &at, &why), 0);
  cr_expect_eq(qcc_modelglob_check("claude-[opus", 12, &at, &why), -1);
  cr_expect_eq(at, 7);
  cr_expect_str_eq(why, "'[' is not closed by ']'");
  cr_expect_eq(qcc_modelglob_check("a]", 2, &at, &why), -1);
  cr_expect_eq(at, 1);
  cr_expect_eq(qcc_modelglob_check("x[z-a]", 6, &at, &why), -1);
  cr_expect_eq(at, 2);
  cr_expect_eq(qcc_modelglob_check("", 0, &at, &why), -1);
}

Test(upstream_modelglob, rank) {
  cr_expect_eq(qcc_modelglob_rank("claude-opus-4-1", 15), SIZE_MAX);
  cr_expect_eq(qcc_modelglob_rank("*", 1), 0);
  cr_expect_eq(qcc_modelglob_rank("claude-*opus*", 13), 11);
  cr_expect_eq(qcc_modelglob_rank("claude-[0-9]?", 13), 7);
}

/* Map BODY's model through one endpoint with MAP (from, to, ..., NULL);
 * returns the model sent upstream (static) or NULL when unchanged. */
static const char *mapped(const char *const *map, const char *model) {
  struct fx_endpoint ep[] = {{"up-1", "http://127.0.0.1:9", 0, "", 0, 1, 0, map}};
  struct fx_profile pr = {"main", 0, 1, ep, 1};
  struct fx_table t;
  fx_table_build(&t, &pr, 1, NULL, 0);
  const struct qcc_tbl_endpoint *e = qcc_table_endpoint(t.table, 0);
  cr_assert_not_null(e);
  char body[256];
  snprintf(body, sizeof body, "{\"model\":\"%s\",\"max_tokens\":1}", model);
  char *out = NULL;
  size_t out_len = 0;
  int rc = qcc_modelmap_rewrite(t.table, e, body, strlen(body), NULL, &out, &out_len);
  cr_assert_neq(rc, -1);
  static char got[128];
  const char *res = NULL;
  if (rc == 1) {
    const char *p = strstr(out, "\"model\":\"");
    cr_assert_not_null(p);
    p += 9;
    size_t n = strcspn(p, "\"");
    cr_assert_lt(n, sizeof got);
    memcpy(got, p, n);
    got[n] = '\0';
    res = got;
    free(out);
  }
  fx_table_free(&t);
  return res;
}

Test(upstream_modelglob, precedence) {
  /* written default-first, so file order alone would pick the wrong pair */
  static const char *const map[] = {"*",          "deepseek-chat",   "claude-*",
                                    "glm-4.5",    "claude-*opus*",   "glm-4.6",
                                    "claude-opus-4-1", "glm-exact",  "claude-*-4-*",
                                    "tie-first",  "claude-*-5-*",    "tie-second",
                                    NULL};
  cr_expect_str_eq(mapped(map, "claude-opus-5-5"), "glm-4.6");       /* most literal glob */
  cr_expect_str_eq(mapped(map, "claude-opus-4-1"), "glm-exact");     /* exact beats globs */
  cr_expect_str_eq(mapped(map, "claude-x-4-5-1"), "tie-first");      /* 10 vs 10: file order */
  cr_expect_str_eq(mapped(map, "claude-haiku"), "glm-4.5");
  cr_expect_str_eq(mapped(map, "gpt-4o"), "deepseek-chat");          /* "*" default */
}

Test(upstream_modelglob, no_default_passes_unmatched) {
  static const char *const map[] = {"claude-*opus*", "glm-4.6", NULL};
  cr_expect_null(mapped(map, "claude-sonnet-4-5"));
  cr_expect_str_eq(mapped(map, "claude-opus-5-5"), "glm-4.6");
}
