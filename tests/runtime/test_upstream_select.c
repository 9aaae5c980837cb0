/* runtime/select.c: the select_endpoint seam (first available endpoint in
 * group order). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/keystore.h"
#include "runtime/select.h"
#include "schema/enums.h"
#include "test_upstream_fixture.h"

struct world {
  struct fx_table t;
  struct qcc_generation gen;
};

static void world_open(struct world *w, const struct fx_profile *p, size_t n) {
  fx_table_build(&w->t, p, n, NULL, 0);
  memset(&w->gen, 0, sizeof w->gen);
  w->gen.table = w->t.table;
  w->gen.refs = 1;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_keystore_new(w->t.table, &w->gen.keys, &err), 0);
}

static void world_close(struct world *w) {
  qcc_keystore_free(&w->gen.keys);
  fx_table_free(&w->t);
}

static const char *pick(struct world *w, const uint32_t *tried, size_t nt, const char **reason) {
  struct qcc_select_in in = {&w->gen, NULL, tried, nt};
  struct qcc_select_out out;
  if (qcc_select_endpoint(&in, &out) != 0) {
    static char saved[256];
    cr_assert_not_null(out.reason);
    snprintf(saved, sizeof saved, "%s", out.reason); /* out is ours: copy */
    *reason = saved;
    return NULL;
  }
  cr_assert_not_null(out.ep);
  cr_assert_not_null(out.key);
  return qcc_table_str(w->t.table, out.ep->id);
}

#define EP(id, kind, val, en) {id, "http://127.0.0.1:9", kind, val, QCC_AUTH_X_API_KEY, en, 0, NULL}

Test(upstream_select, group_order_then_profile_order) {
  unsetenv("QCC_SEL_MISSING");
  struct fx_endpoint fb[] = {EP("fb-1", QCC_KEY_LITERAL, "k", 1)};
  struct fx_endpoint sec[] = {EP("sec-1", QCC_KEY_LITERAL, "k", 1)};
  struct fx_endpoint pri[] = {EP("pri-off", QCC_KEY_LITERAL, "k", 0),
                              EP("pri-nokey", QCC_KEY_ENV, "QCC_SEL_MISSING", 1),
                              EP("pri-ok", QCC_KEY_LITERAL, "k", 1),
                              EP("pri-later", QCC_KEY_LITERAL, "k", 1)};
  /* table order deliberately not group order */
  struct fx_profile prof[] = {
      {"fallback", QCC_GROUP_FALLBACK, 1, fb, 1},
      {"second", QCC_GROUP_SECONDARY, 1, sec, 1},
      {"main", QCC_GROUP_PRIMARY, 1, pri, 4},
  };
  struct world w;
  world_open(&w, prof, 3);
  const char *why = NULL;
  cr_expect_str_eq(pick(&w, NULL, 0, &why), "pri-ok");
  /* retry seam: tried endpoints are skipped */
  uint32_t tried[] = {4};
  cr_expect_str_eq(pick(&w, tried, 1, &why), "pri-later");
  uint32_t tried2[] = {4, 5};
  cr_expect_str_eq(pick(&w, tried2, 2, &why), "sec-1");
  uint32_t tried3[] = {4, 5, 1};
  cr_expect_str_eq(pick(&w, tried3, 3, &why), "fb-1");
  uint32_t tried4[] = {4, 5, 1, 0};
  cr_expect_null(pick(&w, tried4, 4, &why));
  /* the reason names the endpoint and the variable, never a key */
  cr_expect(strstr(why, "pri-nokey") != NULL, "%s", why);
  cr_expect(strstr(why, "QCC_SEL_MISSING") != NULL, "%s", why);
  world_close(&w);
}

Test(upstream_select, disabled_profile_skipped) {
  struct fx_endpoint a[] = {EP("a", QCC_KEY_LITERAL, "k", 1)};
  struct fx_endpoint b[] = {EP("b", QCC_KEY_LITERAL, "k", 1)};
  struct fx_profile prof[] = {
      {"off", QCC_GROUP_PRIMARY, 0, a, 1},
      {"on", QCC_GROUP_PRIMARY, 1, b, 1},
  };
  struct world w;
  world_open(&w, prof, 2);
  const char *why = NULL;
  cr_expect_str_eq(pick(&w, NULL, 0, &why), "b");
  world_close(&w);
}

Test(upstream_select, nothing_enabled) {
  struct fx_endpoint a[] = {EP("a", QCC_KEY_LITERAL, "k", 0)};
  struct fx_profile prof[] = {{"p", QCC_GROUP_PRIMARY, 1, a, 1}};
  struct world w;
  world_open(&w, prof, 1);
  const char *why = NULL;
  cr_expect_null(pick(&w, NULL, 0, &why));
  cr_expect(strstr(why, "none is enabled") != NULL, "%s", why);
  world_close(&w);
}
