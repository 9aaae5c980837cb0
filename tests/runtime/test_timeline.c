/* The status page's timeline (runtime/timeline.h): journal records become
 * entries of one shape, records that are not events are left out, and a
 * journal's history comes back newest-last and capped. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/journal_writer.h"
#include "runtime/timeline.h"
#include "schema/journal.h"

static const char *str(const json_t *e, const char *k) { return json_string_value(json_object_get(e, k)); }

Test(timeline, records_become_entries) {
  struct qcc_jrec r = {.type = QCC_JT_BREAKER, .time_ms = 1765010230120};
  r.u.breaker = (struct qcc_jrec_breaker){.endpoint = {.sid = 3, .id = "prod-1"},
                                          .from = QCC_JBREAKER_CLOSED, .to = QCC_JBREAKER_OPEN};
  json_t *e = qcc_timeline_of_record(&r);
  cr_assert_not_null(e);
  cr_assert_str_eq(str(e, "kind"), "breaker");
  cr_assert_str_eq(str(e, "endpoint"), "prod-1");
  cr_assert_str_eq(str(e, "from"), "closed");
  cr_assert_str_eq(str(e, "to"), "open");
  cr_assert_str_eq(str(e, "time"), "2025-12-06T08:37:10.120Z");
  cr_assert(json_is_null(json_object_get(e, "profile")));
  json_decref(e);

  r = (struct qcc_jrec){.type = QCC_JT_OVERRIDE, .time_ms = 1};
  r.u.override = (struct qcc_jrec_override){.kind = QCC_JOVERRIDE_PIN, .target = {.sid = 0, .id = "backup"},
                                            .reason = "from the status page"};
  e = qcc_timeline_of_record(&r);
  cr_assert_str_eq(str(e, "kind"), "pin");
  cr_assert_str_eq(str(e, "profile"), "backup", "sid 0: a profile");
  cr_assert(json_is_null(json_object_get(e, "endpoint")));
  cr_assert_str_eq(str(e, "reason"), "from the status page");
  json_decref(e);

  r = (struct qcc_jrec){.type = QCC_JT_TABLE_SWAP, .time_ms = 1};
  r.u.table_swap = (struct qcc_jrec_table_swap){.from_generation = 4, .to_generation = 5, .ok = 0,
                                                .reason = "bad magic"};
  e = qcc_timeline_of_record(&r);
  cr_assert_str_eq(str(e, "kind"), "reload_rejected");
  cr_assert_str_eq(str(e, "to"), "5");
  json_decref(e);

  r = (struct qcc_jrec){.type = QCC_JT_HEALTH_CHECK, .time_ms = 1};
  cr_assert_null(qcc_timeline_of_record(&r), "a check result is not an event");
}

Test(timeline, history_from_a_journal) {
  char dir[] = "/tmp/qcc-timeline-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  struct qcc_journal *j = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  for (int i = 0; i < 5; i++) {
    struct qcc_jrec r = {.type = QCC_JT_GROUP_SWITCH, .time_ms = 1000 + i};
    r.u.group_switch = (struct qcc_jrec_group_switch){.from = "main", .to = i % 2 ? "main" : "backup",
                                                      .reason = "failover"};
    cr_assert_eq(qcc_journal_append(j, &r, &err), 0);
    struct qcc_jrec c = {.type = QCC_JT_HEALTH_CHECK, .time_ms = 1000 + i};
    c.u.health_check = (struct qcc_jrec_health_check){.endpoint = {.sid = 1, .id = "a"}, .ok = 1};
    cr_assert_eq(qcc_journal_append(j, &c, &err), 0);
  }
  json_t *h = qcc_timeline_history(j, 3);
  json_t *list = json_object_get(h, "entries");
  cr_assert_eq(json_array_size(list), 3, "the last 3 switches, no checks");
  cr_assert_str_eq(str(json_array_get(list, 0), "time"), "1970-01-01T00:00:01.002Z", "oldest first");
  cr_assert_str_eq(str(json_array_get(list, 2), "to"), "backup");
  json_decref(h);
  qcc_journal_close(&j);
  h = qcc_timeline_history(NULL, 10);
  cr_assert_eq(json_array_size(json_object_get(h, "entries")), 0);
  json_decref(h);
  char path[200];
  snprintf(path, sizeof path, "%s/journal.qj", dir);
  unlink(path);
  rmdir(dir);
}
