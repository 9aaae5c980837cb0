/* runtime/select.c: the select_endpoint seam over the routing engine:
 * picks come from the router (current view) and are mapped into the
 * request's pinned generation by stable id; the reason never holds a key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/keystore.h"
#include "runtime/router.h"
#include "runtime/select.h"
#include "schema/enums.h"
#include "test_upstream_fixture.h"

struct world {
  struct fx_table t;
  struct qcc_generation gen;
  struct qcc_router *router;
};

static void world_open(struct world *w, const struct fx_profile *p, size_t n) {
  fx_table_build(&w->t, p, n, NULL, 0);
  memset(&w->gen, 0, sizeof w->gen);
  w->gen.table = w->t.table;
  w->gen.refs = 1;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_keystore_new(w->t.table, &w->gen.keys, &err), 0);
  cr_assert_eq(qcc_router_new(NULL, &w->router, &err), 0);
  cr_assert_eq(qcc_router_attach(w->router, w->t.table, 1000, &err), 0);
}

static void world_close(struct world *w) {
  qcc_router_free(&w->router);
  qcc_keystore_free(&w->gen.keys);
  fx_table_free(&w->t);
}

/* Router index of endpoint ID (the router's view is this table). */
static uint32_t ridx(struct world *w, const char *id) {
  for (uint32_t i = 0; i < qcc_table_endpoint_count(w->t.table); i++)
    if (strcmp(qcc_table_str(w->t.table, qcc_table_endpoint(w->t.table, i)->id), id) == 0)
      return i;
  cr_assert_fail("no endpoint %s", id);
  return 0;
}

static const char *pick_in(struct qcc_router *r, const struct qcc_generation *g,
                           const uint32_t *tried, size_t nt, const char **reason) {
  struct qcc_select_in in = {.router = r, .gen = g, .tried = tried, .tried_count = nt,
                             .now = 2000};
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
  cr_assert_eq(qcc_table_endpoint(g->table, out.endpoint), out.ep);
  return qcc_table_str(g->table, out.ep->id);
}

static const char *pick(struct world *w, const uint32_t *tried, size_t nt, const char **reason) {
  return pick_in(w->router, &w->gen, tried, nt, reason);
}

#define EP(id, kind, val, en) {id, "http://127.0.0.1:9", kind, val, QCC_AUTH_X_API_KEY, en, 0, NULL}

Test(upstream_select, active_group_balanced_and_tried_skipped) {
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
  /* equal weights in the primary profile: smooth WRR alternates; never the
   * disabled endpoint nor the one without a key */
  int ok = 0, later = 0;
  for (int i = 0; i < 8; i++) {
    const char *id = pick(&w, NULL, 0, &why);
    cr_assert_not_null(id);
    ok += strcmp(id, "pri-ok") == 0;
    later += strcmp(id, "pri-later") == 0;
  }
  cr_expect_eq(ok, 4);
  cr_expect_eq(later, 4);
  /* retry seam: tried endpoints (router indexes) are skipped */
  uint32_t tried[] = {ridx(&w, "pri-ok")};
  cr_expect_str_eq(pick(&w, tried, 1, &why), "pri-later");
  uint32_t tried2[] = {ridx(&w, "pri-ok"), ridx(&w, "pri-later")};
  /* auto_switch is off in this table: the request stays in the active group */
  cr_expect_null(pick(&w, tried2, 2, &why));
  cr_expect(strstr(why, "tried") != NULL, "%s", why);
  world_close(&w);
}

Test(upstream_select, missing_key_named_never_the_key) {
  unsetenv("QCC_SEL_MISSING");
  struct fx_endpoint pri[] = {EP("pri-nokey", QCC_KEY_ENV, "QCC_SEL_MISSING", 1)};
  struct fx_profile prof[] = {{"main", QCC_GROUP_PRIMARY, 1, pri, 1}};
  struct world w;
  world_open(&w, prof, 1);
  const char *why = NULL;
  cr_expect_null(pick(&w, NULL, 0, &why));
  cr_expect(strstr(why, "pri-nokey") != NULL, "%s", why);
  cr_expect(strstr(why, "QCC_SEL_MISSING") != NULL, "%s", why);
  world_close(&w);
}

Test(upstream_select, pinned_generation_maps_by_stable_id) {
  /* the router sees the newer table (with "new"); a request pinned to the
   * older one only ever gets endpoints that table has, by its own index */
  struct fx_endpoint old_eps[] = {EP("x-pad", QCC_KEY_LITERAL, "k", 0),
                                  EP("a", QCC_KEY_LITERAL, "k", 1)};
  struct fx_endpoint new_eps[] = {EP("a", QCC_KEY_LITERAL, "k", 1),
                                  EP("new", QCC_KEY_LITERAL, "k", 1)};
  struct fx_profile p_old[] = {{"main", QCC_GROUP_PRIMARY, 1, old_eps, 2}};
  struct fx_profile p_new[] = {{"main", QCC_GROUP_PRIMARY, 1, new_eps, 2}};
  struct world w_new, w_old;
  world_open(&w_new, p_new, 1);
  world_open(&w_old, p_old, 1);
  const char *why = NULL;
  int a = 0, fresh = 0;
  for (int i = 0; i < 6; i++) {
    const char *id = pick_in(w_new.router, &w_new.gen, NULL, 0, &why);
    fresh += id != NULL && strcmp(id, "new") == 0;
    id = pick_in(w_new.router, &w_old.gen, NULL, 0, &why);
    cr_assert_not_null(id, "%s", why);
    a += strcmp(id, "a") == 0;
  }
  cr_expect_gt(fresh, 0, "the current generation does use the new endpoint");
  cr_expect_eq(a, 6, "the old generation never gets an endpoint it does not have");
  world_close(&w_old);
  world_close(&w_new);
}

Test(upstream_select, session_key_from_header_then_body) {
  struct qcc_header h[] = {{"X-Claude-Code-Session-Id", 24, "sess-42", 7}};
  const char *body = "{\"model\":\"m\",\"metadata\":{\"user_id\":\"user-9\"}}";
  struct qcc_request r = {.method = "POST", .target = "/v1/messages", .headers = h,
                          .header_count = 1, .body = body, .body_len = strlen(body)};
  char key[QCC_SESSION_KEY_MAX];
  struct qcc_jsonscan_facts f;
  cr_assert_eq(qcc_jsonscan_body(body, strlen(body), &f), 0);
  cr_expect_eq(qcc_select_session_key(&r, &f, key, sizeof key), 7);
  cr_expect_str_eq(key, "sess-42");
  r.header_count = 0;
  cr_expect_eq(qcc_select_session_key(&r, &f, key, sizeof key), 6);
  cr_expect_str_eq(key, "user-9");
  /* without the body's facts the body is not looked at */
  cr_expect_eq(qcc_select_session_key(&r, NULL, key, sizeof key), 0);
  /* escapes decoded, cut at the buffer */
  const char *esc = "{\"metadata\":{\"user_id\":\"u\\u00e9\\\"x\"}}";
  r.body = esc;
  r.body_len = strlen(esc);
  cr_assert_eq(qcc_jsonscan_body(esc, strlen(esc), &f), 0);
  cr_expect_eq(qcc_select_session_key(&r, &f, key, sizeof key), 5);
  cr_expect_str_eq(key, "u\xc3\xa9\"x");
  char small[3];
  cr_expect_eq(qcc_select_session_key(&r, &f, small, sizeof small), 2);
  cr_expect_str_eq(small, "u\xc3");
  const char *plain = "{\"model\":\"m\"}";
  r.body = plain;
  r.body_len = strlen(plain);
  cr_assert_eq(qcc_jsonscan_body(plain, strlen(plain), &f), 0);
  cr_expect_eq(qcc_select_session_key(&r, &f, key, sizeof key), 0);
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
