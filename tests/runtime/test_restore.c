/* runtime/events.c: restoring routing state from the journal at start
 * (issue 5 "Restart restores a pin, a disabled endpoint and an open
 * breaker"). A journal written by the real writer is replayed into a fresh
 * router attached to a table, the way qcc-run's main does it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/events.h"
#include "runtime/journal_writer.h"
#include "runtime/router.h"
#include "runtime/runtime.h"
#include "schema/enums.h"
#include "schema/journal.h"
#include "test_upstream_fixture.h"

#define EP(id, url) {id, url, QCC_KEY_LITERAL, "k", QCC_AUTH_X_API_KEY, 1, 0, NULL}

static const struct fx_endpoint prim_eps[] = {EP("p1", "http://127.0.0.1:9"),
                                              EP("p2", "http://127.0.0.1:10")};
static const struct fx_endpoint sec_eps[] = {EP("s1", "http://127.0.0.1:11")};
static const struct fx_profile profs[] = {{"prim", QCC_GROUP_PRIMARY, 1, prim_eps, 2},
                                          {"sec", QCC_GROUP_SECONDARY, 1, sec_eps, 1}};

static char dir[64];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/qcc-restore-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, QCC_JOURNAL_FILE);
  unlink(path);
  rmdir(dir);
}

static struct qcc_jep jep_of(const struct qcc_table *t, const char *id) {
  for (uint32_t i = 0; i < qcc_table_endpoint_count(t); i++) {
    const struct qcc_tbl_endpoint *e = qcc_table_endpoint(t, i);
    if (strcmp(qcc_table_str(t, e->id), id) == 0)
      return (struct qcc_jep){.sid = e->stable_id, .id = qcc_table_str(t, e->id),
                              .identity = e->identity_hash};
  }
  cr_assert_fail("no endpoint %s", id);
  return (struct qcc_jep){0};
}

static uint32_t idx_of(const struct qcc_table *t, const char *id) {
  return (uint32_t)qcc_table_find_endpoint(t, jep_of(t, id).sid);
}

static void append(struct qcc_journal *j, struct qcc_jrec r) {
  struct qcc_err err = {0};
  cr_assert_eq(qcc_journal_append(j, &r, &err), 0, "%s", err.msg);
}

/* Replay DIR's journal into a new router over T. */
static struct qcc_router *restore(const struct qcc_table *t, uint64_t mono, int64_t wall,
                                  struct qcc_restore_summary *sum) {
  struct qcc_err err = {0};
  struct qcc_journal *j = NULL;
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  struct qcc_router *r = NULL;
  cr_assert_eq(qcc_router_new(NULL, &r, &err), 0);
  cr_assert_eq(qcc_router_attach(r, t, mono, &err), 0);
  cr_assert_eq(qcc_events_restore(j, r, t, mono, wall, sum, &err), 0, "%s", err.msg);
  qcc_journal_close(&j);
  return r;
}

TestSuite(restore, .init = setup, .fini = teardown);

Test(restore, pin_disabled_endpoint_open_breaker_health_active_group) {
  struct fx_table ft;
  fx_table_build(&ft, profs, 2, NULL, 0);
  const struct qcc_table *t = ft.table;
  int64_t wall = qcc_journal_now_ms();
  struct qcc_err err = {0};
  struct qcc_journal *j = NULL;
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_ALWAYS, &j, &err), 0, "%s", err.msg);
  struct qcc_jrec r = {.type = QCC_JT_BREAKER};
  r.u.breaker = (struct qcc_jrec_breaker){.endpoint = jep_of(t, "p1"), .from = QCC_JBREAKER_CLOSED,
                                          .to = QCC_JBREAKER_OPEN, .failures = 3,
                                          .cooldown_until = wall + 20000};
  append(j, r);
  r = (struct qcc_jrec){.type = QCC_JT_OVERRIDE};
  r.u.override = (struct qcc_jrec_override){.kind = QCC_JOVERRIDE_DISABLE,
                                            .target = jep_of(t, "p2"), .reason = "maintenance"};
  append(j, r);
  r = (struct qcc_jrec){.type = QCC_JT_HEALTH_STATUS};
  r.u.health_status = (struct qcc_jrec_health_status){
      .endpoint = jep_of(t, "s1"), .from = QCC_JHEALTH_HEALTHY, .to = QCC_JHEALTH_DEGRADED,
      .score = 60, .reason = "slow"};
  append(j, r);
  r = (struct qcc_jrec){.type = QCC_JT_GROUP_SWITCH};
  r.u.group_switch = (struct qcc_jrec_group_switch){.from = "prim", .to = "sec", .to_group = 1,
                                                    .reason = "no available endpoint in prim"};
  append(j, r);
  /* pinned, unpinned, pinned again: the last word counts */
  const char *pins[] = {"prim", NULL, "sec"};
  for (int i = 0; i < 3; i++) {
    r = (struct qcc_jrec){.type = QCC_JT_OVERRIDE};
    r.u.override = (struct qcc_jrec_override){
        .kind = pins[i] != NULL ? QCC_JOVERRIDE_PIN : QCC_JOVERRIDE_UNPIN,
        .target = {.id = pins[i] != NULL ? pins[i] : "prim"}, .reason = "operator test"};
    append(j, r);
  }
  cr_assert_eq(qcc_journal_flush(j, &err), 0, "%s", err.msg);
  qcc_journal_close(&j);

  /* "restart": another monotonic origin, the same wall clock */
  uint64_t mono = 5000000;
  struct qcc_restore_summary sum;
  struct qcc_router *rt = restore(t, mono, wall, &sum);
  cr_expect(sum.pinned);
  cr_expect_str_eq(sum.pin_profile, "sec");
  cr_expect_eq(sum.disabled, 1);
  cr_expect_eq(sum.breakers, 1);
  cr_expect_eq(sum.health, 1);
  cr_expect_eq(sum.dropped, 0);

  struct qcc_route_status st;
  qcc_router_status(rt, &st);
  cr_expect(st.pinned);
  cr_expect_str_eq(st.pin_profile, "sec");
  cr_expect_str_eq(st.active_profile_name, "sec");

  struct qcc_route_snapshot s;
  cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "p1"), mono, &s), 0);
  cr_expect_eq(s.breaker, QCC_BREAKER_OPEN);
  cr_expect_eq(s.breaker_failures, 3);
  /* 20 s of cooldown left, converted to the router's clock */
  cr_expect(s.breaker_open_until >= mono + 19000 && s.breaker_open_until <= mono + 20000,
            "open_until %llu", (unsigned long long)(s.breaker_open_until - mono));
  cr_expect_not(s.available);
  cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "p2"), mono, &s), 0);
  cr_expect(s.operator_disabled);
  cr_expect_str_eq(s.disabled_reason, "maintenance");
  cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "s1"), mono, &s), 0);
  cr_expect_eq(s.health, QCC_HEALTH_DEGRADED);
  /* the open breaker lets its probe through once the cooldown is over */
  cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "p1"), mono + 20001, &s), 0);
  cr_expect(s.available);
  qcc_router_free(&rt);
  fx_table_free(&ft);
}

Test(restore, changed_identity_drops_state_but_keeps_disable) {
  struct fx_table ft;
  fx_table_build(&ft, profs, 2, NULL, 0);
  int64_t wall = qcc_journal_now_ms();
  struct qcc_err err = {0};
  struct qcc_journal *j = NULL;
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  struct qcc_jep p1 = jep_of(ft.table, "p1");
  p1.identity ^= 1; /* recorded when p1 had another URL or key */
  struct qcc_jrec r = {.type = QCC_JT_BREAKER};
  r.u.breaker = (struct qcc_jrec_breaker){.endpoint = p1, .to = QCC_JBREAKER_OPEN, .failures = 5,
                                          .cooldown_until = wall + 60000};
  append(j, r);
  r = (struct qcc_jrec){.type = QCC_JT_OVERRIDE};
  r.u.override = (struct qcc_jrec_override){.kind = QCC_JOVERRIDE_DISABLE, .target = p1,
                                            .reason = "bad key"};
  append(j, r);
  /* an endpoint that is gone from the table */
  r = (struct qcc_jrec){.type = QCC_JT_BREAKER};
  r.u.breaker = (struct qcc_jrec_breaker){.endpoint = {.sid = 42, .id = "gone", .identity = 7},
                                          .to = QCC_JBREAKER_OPEN, .failures = 1,
                                          .cooldown_until = wall + 60000};
  append(j, r);
  cr_assert_eq(qcc_journal_flush(j, &err), 0, "%s", err.msg);
  qcc_journal_close(&j);

  struct qcc_restore_summary sum;
  struct qcc_router *rt = restore(ft.table, 1000, wall, &sum);
  cr_expect_eq(sum.breakers, 0);
  cr_expect_eq(sum.dropped, 2);
  cr_expect_eq(sum.disabled, 1, "only an operator lifts a disable");
  struct qcc_route_snapshot s;
  cr_assert_eq(qcc_router_snapshot(rt, idx_of(ft.table, "p1"), 1000, &s), 0);
  cr_expect_eq(s.breaker, QCC_BREAKER_CLOSED);
  cr_expect(s.operator_disabled);
  qcc_router_free(&rt);
  fx_table_free(&ft);
}

Test(restore, compaction_restates_the_state) {
  struct fx_table ft;
  fx_table_build(&ft, profs, 2, NULL, 0);
  const struct qcc_table *t = ft.table;
  struct qcc_err err = {0};
  struct qcc_journal *j = NULL;
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  struct qcc_jrec r = {.type = QCC_JT_OVERRIDE};
  r.u.override = (struct qcc_jrec_override){.kind = QCC_JOVERRIDE_PIN, .target = {.id = "prim"},
                                            .reason = "pinned by test"};
  append(j, r);
  r = (struct qcc_jrec){.type = QCC_JT_OVERRIDE};
  r.u.override = (struct qcc_jrec_override){.kind = QCC_JOVERRIDE_DISABLE,
                                            .target = jep_of(t, "s1"), .reason = "off"};
  append(j, r);
  /* history that compaction may drop: many health checks */
  for (int i = 0; i < 50; i++) {
    r = (struct qcc_jrec){.type = QCC_JT_HEALTH_CHECK};
    r.u.health_check = (struct qcc_jrec_health_check){.endpoint = jep_of(t, "p1"), .ok = 1};
    append(j, r);
  }
  cr_assert_eq(qcc_journal_flush(j, &err), 0, "%s", err.msg);
  /* the running process: state restored, events hooked, then compaction
   * keeping only 5 history records */
  struct qcc_router *live = NULL;
  cr_assert_eq(qcc_router_new(NULL, &live, &err), 0);
  cr_assert_eq(qcc_router_attach(live, t, 1000, &err), 0);
  struct qcc_restore_summary sum;
  cr_assert_eq(qcc_events_restore(j, live, t, 1000, qcc_journal_now_ms(), &sum, &err), 0);
  struct qcc_events *ev = NULL;
  cr_assert_eq(qcc_events_new(NULL, j, live, NULL, &ev, &err), 0);
  qcc_events_set_compaction(ev, 1ull << 30, 5);
  cr_assert_eq(qcc_journal_compact(j, &err), 0, "%s", err.msg);
  qcc_events_free(&ev);
  qcc_journal_close(&j);
  qcc_router_free(&live);

  /* after a restart the same state comes back from the compacted file */
  struct qcc_router *rt = restore(t, 1000, qcc_journal_now_ms(), &sum);
  cr_expect(sum.pinned);
  cr_expect_str_eq(sum.pin_profile, "prim");
  cr_expect_eq(sum.disabled, 1);
  cr_expect_lt(sum.records, 52, "compaction dropped history (%llu records replayed)",
               (unsigned long long)sum.records);
  struct qcc_route_snapshot s;
  cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "s1"), 1000, &s), 0);
  cr_expect(s.operator_disabled);
  qcc_router_free(&rt);
  fx_table_free(&ft);
}

/* Journal minor 1: a refused key and a running 429 rest come back after a
 * restart; a rest that ran out, a reset endpoint and an operator enable do
 * not bring them back. */
Test(restore, key_rejected_and_rest_survive_restart) {
  struct fx_table ft;
  fx_table_build(&ft, profs, 2, NULL, 0);
  const struct qcc_table *t = ft.table;
  int64_t wall = qcc_journal_now_ms();
  struct qcc_err err = {0};
  struct qcc_journal *j = NULL;
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  struct qcc_jrec r = {.type = QCC_JT_KEY_REJECTED};
  r.u.key_rejected = (struct qcc_jrec_key_rejected){.endpoint = jep_of(t, "p1"),
                                                    .http_status = 401, .reason = "HTTP 401"};
  append(j, r);
  r = (struct qcc_jrec){.type = QCC_JT_ENDPOINT_REST};
  r.u.endpoint_rest = (struct qcc_jrec_endpoint_rest){
      .endpoint = jep_of(t, "p2"), .until = wall + 600000, .spend_exhausted = 1,
      .reason = "HTTP 429: resting 3600 s (spend limit exhausted)"};
  append(j, r);
  /* s1: rejected, then the operator enabled it; and a rest already over */
  r = (struct qcc_jrec){.type = QCC_JT_KEY_REJECTED};
  r.u.key_rejected = (struct qcc_jrec_key_rejected){.endpoint = jep_of(t, "s1"),
                                                    .http_status = 403, .reason = "HTTP 403"};
  append(j, r);
  r = (struct qcc_jrec){.type = QCC_JT_OVERRIDE};
  r.u.override = (struct qcc_jrec_override){.kind = QCC_JOVERRIDE_ENABLE,
                                            .target = jep_of(t, "s1"), .reason = "key fixed"};
  append(j, r);
  r = (struct qcc_jrec){.type = QCC_JT_ENDPOINT_REST};
  r.u.endpoint_rest = (struct qcc_jrec_endpoint_rest){.endpoint = jep_of(t, "s1"),
                                                      .until = wall - 1000, .reason = "over"};
  append(j, r);
  cr_assert_eq(qcc_journal_flush(j, &err), 0, "%s", err.msg);
  qcc_journal_close(&j);

  uint64_t mono = 777000;
  struct qcc_restore_summary sum;
  struct qcc_router *rt = restore(t, mono, wall, &sum);
  cr_expect_eq(sum.key_rejected, 1);
  cr_expect_eq(sum.resting, 1);
  struct qcc_route_snapshot s;
  cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "p1"), mono, &s), 0);
  cr_expect(s.key_rejected);
  cr_expect_not(s.available);
  cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "p2"), mono, &s), 0);
  cr_expect_not(s.key_rejected);
  cr_expect(s.spend_exhausted);
  cr_expect(s.rest_until >= mono + 599000 && s.rest_until <= mono + 600000, "rest left %llu",
            (unsigned long long)(s.rest_until - mono));
  cr_expect_not(s.available);
  cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "s1"), mono, &s), 0);
  cr_expect_not(s.key_rejected, "an operator enable lifts a refused key");
  cr_expect_eq(s.rest_until, 0);
  cr_expect(s.available);
  qcc_router_free(&rt);

  /* the table changed p1's key while running: the reset record forgets it */
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  r = (struct qcc_jrec){.type = QCC_JT_ENDPOINT_RESET};
  r.u.endpoint_reset = (struct qcc_jrec_endpoint_reset){.endpoint = jep_of(t, "p1"),
                                                        .reason = "key changed"};
  append(j, r);
  cr_assert_eq(qcc_journal_flush(j, &err), 0, "%s", err.msg);
  qcc_journal_close(&j);
  rt = restore(t, mono, wall, &sum);
  cr_expect_eq(sum.key_rejected, 0);
  cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "p1"), mono, &s), 0);
  cr_expect_not(s.key_rejected);
  qcc_router_free(&rt);
  fx_table_free(&ft);
}

/* The running process writes the records itself: a 401 and a spend-limit
 * 429 through the router become key_rejected and endpoint_rest records, and
 * a compaction restates them. */
Test(restore, router_events_become_records) {
  struct fx_table ft;
  fx_table_build(&ft, profs, 2, NULL, 0);
  const struct qcc_table *t = ft.table;
  struct qcc_err err = {0};
  struct qcc_journal *j = NULL;
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  struct qcc_router *live = NULL;
  cr_assert_eq(qcc_router_new(NULL, &live, &err), 0);
  uint64_t now = qcc_runtime_now_ms();
  cr_assert_eq(qcc_router_attach(live, t, now, &err), 0);
  struct qcc_events *ev = NULL;
  cr_assert_eq(qcc_events_new(NULL, j, live, NULL, &ev, &err), 0);
  const char *ids[] = {"p1", "p2"};
  struct qcc_outcome outs[] = {{.kind = QCC_OUT_HTTP_STATUS, .http_status = 401},
                               {.kind = QCC_OUT_HTTP_STATUS, .http_status = 429,
                                .spend_exhausted = true}};
  for (int k = 0; k < 2; k++) {
    struct qcc_pick p = {.result = QCC_PICK_OK, .endpoint = idx_of(t, ids[k]),
                         .stable_id = jep_of(t, ids[k]).sid, .epoch = qcc_router_epoch(live)};
    qcc_router_begin(live, &p, now);
    qcc_router_end(live, &p, &outs[k], now);
  }
  cr_assert_eq(qcc_events_flush(ev, &err), 0, "%s", err.msg);
  qcc_events_free(&ev);
  qcc_journal_close(&j);
  qcc_router_free(&live);

  /* twice: from the records the events wrote, then from a compacted file */
  for (int round = 0; round < 2; round++) {
    struct qcc_restore_summary sum;
    struct qcc_router *rt = restore(t, 1000, qcc_journal_now_ms(), &sum);
    cr_expect_eq(sum.key_rejected, 1, "round %d", round);
    cr_expect_eq(sum.resting, 1, "round %d", round);
    struct qcc_route_snapshot s;
    cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "p1"), 1000, &s), 0);
    cr_expect(s.key_rejected, "round %d", round);
    cr_assert_eq(qcc_router_snapshot(rt, idx_of(t, "p2"), 1000, &s), 0);
    cr_expect(s.spend_exhausted, "round %d", round);
    /* the default spend rest is an hour */
    cr_expect_gt(s.rest_until, 1000 + 3500000ull, "round %d: rest %llu", round,
                 (unsigned long long)s.rest_until);
    qcc_router_free(&rt);
    if (round == 1) break;
    /* compact keeping no history: only the snapshot items can carry it */
    cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
    cr_assert_eq(qcc_router_new(NULL, &live, &err), 0);
    /* the live process's clocks: compaction converts rests with them */
    uint64_t mono = qcc_runtime_now_ms();
    cr_assert_eq(qcc_router_attach(live, t, mono, &err), 0);
    cr_assert_eq(qcc_events_restore(j, live, t, mono, qcc_journal_now_ms(), &sum, &err), 0);
    cr_assert_eq(qcc_events_new(NULL, j, live, NULL, &ev, &err), 0);
    qcc_events_set_compaction(ev, 1ull << 30, 0);
    cr_assert_eq(qcc_journal_compact(j, &err), 0, "%s", err.msg);
    qcc_events_free(&ev);
    qcc_journal_close(&j);
    qcc_router_free(&live);
  }
  fx_table_free(&ft);
}
