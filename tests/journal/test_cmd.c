/* qccc's offline commands: journal check [--fix], journal show, health
 * history, priority history — run as the function main() calls. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "compiler/journalcmd.h"
#include "runtime/journal_writer.h"
#include "sample.h"

static char dir[256], jpath[512];

static void setup(void) {
  make_temp_dir(dir, sizeof dir);
  snprintf(jpath, sizeof jpath, "%s/%s", dir, QCC_JOURNAL_FILE);
  unsetenv("QCC_STATE_DIR");
}
static void teardown(void) { remove_temp_dir(dir); }
TestSuite(journal_cmd, .init = setup, .fini = teardown);

struct run {
  int rc;
  char *out, *err;
};

/* Run `qccc ARGS... --state-dir DIR`. */
static struct run qccc(const char *a0, ...) {
  char *argv[32];
  int argc = 0;
  va_list ap;
  va_start(ap, a0);
  for (const char *a = a0; a != NULL && argc < 28; a = va_arg(ap, const char *)) argv[argc++] = (char *)a;
  va_end(ap);
  argv[argc++] = "--state-dir";
  argv[argc++] = dir;
  argv[argc] = NULL;
  struct run r = {0};
  size_t ol, el;
  FILE *out = open_memstream(&r.out, &ol), *err = open_memstream(&r.err, &el);
  r.rc = qccc_journal_cmd(argc, argv, out, err);
  fclose(out);
  fclose(err);
  return r;
}

static void run_free(struct run *r) {
  free(r->out);
  free(r->err);
}

static unsigned count_lines(const char *s) {
  unsigned n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* A journal of known content: times relative to now so --since can be
 * tested. Returns the number of records. */
static unsigned write_history(void) {
  struct qcc_journal *j = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  int64_t now = qcc_journal_now_ms();
  int64_t old = now - 3 * 3600 * 1000; /* 3 h ago */
  struct qcc_jrec r;
  unsigned n = 0;
#define ADD(rec) do { cr_assert_eq(qcc_journal_append(j, &(rec), &err), 0, "%s", err.msg); n++; } while (0)
  r = (struct qcc_jrec){.type = QCC_JT_STARTUP, .time_ms = old};
  r.u.startup = (struct qcc_jrec_startup){1234, "0.1.0", 1, QCC_FSYNC_EVERYSEC, 0};
  ADD(r);
  r = (struct qcc_jrec){.type = QCC_JT_HEALTH_CHECK, .time_ms = old + 1000};
  r.u.health_check = (struct qcc_jrec_health_check){{0xaa01, "prod-1"}, 0, 503, 120000, "HTTP 503"};
  ADD(r);
  r = (struct qcc_jrec){.type = QCC_JT_BREAKER, .time_ms = old + 2000};
  r.u.breaker = (struct qcc_jrec_breaker){{0xaa01, "prod-1"}, QCC_JBREAKER_CLOSED, QCC_JBREAKER_OPEN, 3, old + 302000};
  ADD(r);
  r = (struct qcc_jrec){.type = QCC_JT_GROUP_SWITCH, .time_ms = old + 3000};
  r.u.group_switch = (struct qcc_jrec_group_switch){"production", QCC_GROUP_PRIMARY, "backup-profile",
                                                    QCC_GROUP_SECONDARY, "failover: no available endpoint"};
  ADD(r);
  r = (struct qcc_jrec){.type = QCC_JT_HEALTH_CHECK, .time_ms = now - 600000}; /* 10 min ago */
  r.u.health_check = (struct qcc_jrec_health_check){{0xaa02, "prod-2"}, 1, 200, 80000, ""};
  ADD(r);
  r = (struct qcc_jrec){.type = QCC_JT_OVERRIDE, .time_ms = now - 500000};
  r.u.override = (struct qcc_jrec_override){QCC_JOVERRIDE_DISABLE, {0xaa01, "prod-1"}, "key rotation"};
  ADD(r);
  r = (struct qcc_jrec){.type = QCC_JT_OVERRIDE, .time_ms = now - 400000};
  r.u.override = (struct qcc_jrec_override){QCC_JOVERRIDE_PIN, {0, "production"}, "incident 42"};
  ADD(r);
  r = (struct qcc_jrec){.type = QCC_JT_BREAKER, .time_ms = now - 300000};
  r.u.breaker = (struct qcc_jrec_breaker){{0xaa01, "prod-1"}, QCC_JBREAKER_OPEN, QCC_JBREAKER_HALF_OPEN, 3, 0};
  ADD(r);
  r = (struct qcc_jrec){.type = QCC_JT_QUEUE_RETRIED, .time_ms = now - 200000};
  r.u.queue_retried = (struct qcc_jrec_queue_retried){7, 2, {0xaa01, "prod-1"}, "HTTP 529"};
  ADD(r);
#undef ADD
  cr_assert_eq(qcc_journal_flush(j, &err), 0, "%s", err.msg);
  qcc_journal_close(&j);
  return n;
}

static uint64_t file_size(void) {
  struct stat st;
  cr_assert_eq(stat(jpath, &st), 0);
  return (uint64_t)st.st_size;
}

Test(journal_cmd, a_check_clean) {
  unsigned n = write_history();
  struct run r = qccc("journal", "check", NULL);
  char want[128];
  snprintf(want, sizeof want, "ok_up_to=%" PRIu64 " records=%u ", file_size(), n);
  cr_expect_eq(r.rc, 0, "stderr: %s", r.err);
  cr_expect_not_null(strstr(r.out, want), "want '%s' in: %s", want, r.out);
  cr_expect_not_null(strstr(r.out, "status=clean"), "%s", r.out);
  run_free(&r);
  r = qccc("journal", "check", "--json", NULL);
  json_t *o = json_loads(r.out, 0, NULL);
  cr_assert_not_null(o, "json: %s", r.out);
  cr_expect_eq(json_integer_value(json_object_get(o, "records")), n);
  cr_expect_eq((uint64_t)json_integer_value(json_object_get(o, "ok_up_to")), file_size());
  cr_expect_str_eq(json_string_value(json_object_get(o, "status")), "clean");
  json_decref(o);
  run_free(&r);
}

Test(journal_cmd, a_missing_journal_and_usage) {
  struct run r = qccc("journal", "check", NULL);
  cr_expect_eq(r.rc, 2);
  cr_expect_not_null(strstr(r.err, "no journal at"), "%s", r.err);
  run_free(&r);
  r = qccc("journal", "show", "--bogus", NULL);
  cr_expect_eq(r.rc, 2);
  cr_expect_not_null(strstr(r.err, "unknown option '--bogus'"), "%s", r.err);
  run_free(&r);
  r = qccc("journal", "frobnicate", NULL);
  cr_expect_eq(r.rc, 2);
  cr_expect_not_null(strstr(r.err, "usage:"), "%s", r.err);
  run_free(&r);
  char *h1[] = {"health", "history"}, *h2[] = {"health", "status"}, *h3[] = {"journal"};
  cr_expect(qccc_journal_cmd_handles(2, h1));
  cr_expect_not(qccc_journal_cmd_handles(2, h2), "health status is the admin client's");
  cr_expect(qccc_journal_cmd_handles(1, h3));
}

Test(journal_cmd, b_check_torn_tail_and_fix) {
  write_history();
  uint64_t size = file_size();
  cr_assert_eq(truncate(jpath, (off_t)size - 3), 0);
  struct qcc_jscan_result res;
  cr_assert_eq(qcc_journal_scan_file(jpath, NULL, NULL, &res, NULL), 0);
  cr_assert_eq(res.status, QCC_JSCAN_TORN_TAIL);
  struct run r = qccc("journal", "check", NULL);
  char want[64];
  snprintf(want, sizeof want, "ok_up_to=%" PRIu64 " ", res.ok_up_to);
  cr_expect_eq(r.rc, 1);
  cr_expect_not_null(strstr(r.out, want), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "status=torn_tail"), "%s", r.out);
  cr_expect_not_null(strstr(r.err, "--fix"), "%s", r.err);
  cr_expect_eq(file_size(), size - 3, "check without --fix changes nothing");
  run_free(&r);
  r = qccc("journal", "check", "--fix", NULL);
  cr_expect_eq(r.rc, 0, "%s", r.err);
  cr_expect_not_null(strstr(r.out, "fixed: truncated to"), "%s", r.out);
  cr_expect_eq(file_size(), res.ok_up_to);
  run_free(&r);
  r = qccc("journal", "check", NULL);
  cr_expect_eq(r.rc, 0);
  run_free(&r);
}

Test(journal_cmd, b_check_corruption_and_fix) {
  write_history();
  size_t len;
  uint8_t *img = read_whole(jpath, &len);
  struct qcc_jscan_result clean;
  struct qcc_jrec dummy;
  (void)dummy;
  qcc_journal_scan(img, len, NULL, NULL, &clean);
  /* Damage the 3rd record's payload. */
  size_t off = QCC_JOURNAL_HEADER_SIZE;
  for (int k = 0; k < 2; k++) {
    uint32_t plen = img[off] | img[off + 1] << 8;
    off += qcc_journal_record_size(plen);
  }
  img[off + 20] ^= 0xff;
  cr_assert_eq(write_whole(jpath, img, len), 0);
  struct run r = qccc("journal", "check", NULL);
  char want[64];
  snprintf(want, sizeof want, "ok_up_to=%zu records=2 ", off);
  cr_expect_eq(r.rc, 1);
  cr_expect_not_null(strstr(r.out, want), "want %s in %s", want, r.out);
  cr_expect_not_null(strstr(r.out, "status=corrupt"), "%s", r.out);
  snprintf(want, sizeof want, "at offset %zu", off);
  cr_expect_not_null(strstr(r.err, want), "%s", r.err);
  run_free(&r);
  /* qcc-run holds the journal: --fix refuses. Take the lock like it does. */
  {
    struct qcc_journal *j = NULL;
    struct qcc_err err = {0};
    cr_expect_neq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "the writer refuses corruption");
    cr_expect_not_null(strstr(err.msg, "qccc journal check --fix"), "%s", err.msg);
  }
  r = qccc("journal", "check", "--fix", NULL);
  cr_expect_eq(r.rc, 0, "%s", r.err);
  cr_expect_eq(file_size(), off);
  run_free(&r);
  struct qcc_journal *j = NULL;
  struct qcc_err err = {0};
  cr_expect_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "starts after the fix: %s", err.msg);
  qcc_journal_close(&j);
  free(img);
}

Test(journal_cmd, b_fix_refused_while_qcc_run_holds_the_journal) {
  write_history();
  struct qcc_journal *j = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  /* A torn tail appended behind the writer's back. */
  FILE *f = fopen(jpath, "ab");
  fwrite("\x10\x00\x00\x00\x03\x00", 1, 6, f);
  fclose(f);
  struct run r = qccc("journal", "check", "--fix", NULL);
  cr_expect_eq(r.rc, 2);
  cr_expect_not_null(strstr(r.err, "in use"), "%s", r.err);
  run_free(&r);
  qcc_journal_close(&j);
}

Test(journal_cmd, c_show_all_type_since_json) {
  unsigned n = write_history();
  /* people read local time with its zone; a zone without tzdata */
  setenv("TZ", "QCT-2", 1);
  tzset();
  struct run r = qccc("journal", "show", NULL);
  cr_expect_eq(r.rc, 0, "%s", r.err);
  cr_expect_eq(count_lines(r.out), n + 1, "header + one line per record:\n%s", r.out);
  cr_expect_eq(strncmp(r.out, "TIME ", 5), 0);
  cr_expect_not_null(strstr(r.out, "group_switch"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "reason=\"failover: no available endpoint\""), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "to=open"), "%s", r.out);
  /* local times with the zone (UTC+2 here), aligned: the TYPE column
   * starts at the same place */
  const char *l2 = strchr(r.out, '\n') + 1;
  cr_expect_eq(l2[4], '-');
  cr_expect_eq(l2[10], ' ');
  cr_expect_eq(l2[19], '.');
  cr_expect_eq(strncmp(l2 + 24, "QCT", 3), 0, "%s", l2);
  cr_expect_eq(strncmp(l2 + 30, "startup", 7), 0, "%s", l2);
  cr_expect_eq(strncmp(r.out + 30, "TYPE", 4), 0);
  struct run js = qccc("journal", "show", "--json", NULL);
  json_error_t jerr;
  json_t *arr = json_loads(js.out, 0, &jerr);
  const char *iso = json_string_value(json_object_get(json_array_get(arr, 0), "time"));
  cr_assert_not_null(iso, "%s", js.out);
  cr_expect_eq(iso[23], 'Z', "--json keeps UTC: %s", iso);
  int uh = atoi(iso + 11), lh = atoi(l2 + 11);
  cr_expect_eq(lh, (uh + 2) % 24, "local %.27s is UTC %s + 2h", l2, iso);
  json_decref(arr);
  run_free(&js);
  unsetenv("TZ");
  tzset();
  run_free(&r);

  r = qccc("journal", "show", "--type", "breaker", NULL);
  cr_expect_eq(count_lines(r.out), 1 + 2, "%s", r.out);
  run_free(&r);
  r = qccc("journal", "show", "--type", "breaker,override", NULL);
  cr_expect_eq(count_lines(r.out), 1 + 4, "%s", r.out);
  run_free(&r);
  r = qccc("journal", "show", "--type", "nope", NULL);
  cr_expect_eq(r.rc, 2);
  cr_expect_not_null(strstr(r.err, "health_check"), "lists the legal types: %s", r.err);
  run_free(&r);

  r = qccc("journal", "show", "--since", "1h ago", NULL);
  cr_expect_eq(count_lines(r.out), 1 + 5, "records of the last hour:\n%s", r.out);
  run_free(&r);
  r = qccc("journal", "show", "--since", "yesterday-ish", NULL);
  cr_expect_eq(r.rc, 2);
  cr_expect_not_null(strstr(r.err, "not a time"), "%s", r.err);
  run_free(&r);

  r = qccc("journal", "show", "--json", "--since", "4h", NULL);
  cr_expect_eq(r.rc, 0);
  json_error_t je;
  json_t *a = json_loads(r.out, 0, &je);
  cr_assert(json_is_array(a), "not a JSON array: %s (%s)", je.text, r.out);
  cr_expect_eq(json_array_size(a), n);
  json_t *b = json_array_get(a, 2);
  cr_expect_str_eq(json_string_value(json_object_get(b, "type")), "breaker");
  cr_expect_str_eq(json_string_value(json_object_get(b, "to")), "open");
  cr_expect_eq(json_integer_value(json_object_get(b, "failures")), 3);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(b, "endpoint"), "id")), "prod-1");
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(b, "endpoint"), "sid")), "000000000000aa01");
  json_decref(a);
  run_free(&r);
}

Test(journal_cmd, d_health_history) {
  write_history();
  struct run r = qccc("health", "history", "prod-1", NULL);
  cr_expect_eq(r.rc, 0, "%s", r.err);
  /* check, breaker x2, disable — not prod-2's check, not the queue retry. */
  cr_expect_eq(count_lines(r.out), 1 + 4, "%s", r.out);
  cr_expect_null(strstr(r.out, "prod-2"));
  cr_expect_null(strstr(r.out, "queue_retried"));
  cr_expect_not_null(strstr(r.out, "error=HTTP 503"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "kind=disable"), "%s", r.out);
  run_free(&r);
  r = qccc("health", "history", "000000000000AA02", "--json", NULL);
  json_t *a = json_loads(r.out, 0, NULL);
  cr_assert(json_is_array(a), "%s", r.out);
  cr_expect_eq(json_array_size(a), 1, "by stable id");
  json_decref(a);
  run_free(&r);
  r = qccc("health", "history", "nobody", NULL);
  cr_expect_eq(r.rc, 0);
  cr_expect_not_null(strstr(r.err, "no health history for endpoint 'nobody'"), "%s", r.err);
  run_free(&r);
  r = qccc("health", "history", NULL);
  cr_expect_eq(r.rc, 2);
  run_free(&r);
}

Test(journal_cmd, d_priority_history_aligned) {
  write_history();
  struct run r = qccc("priority", "history", NULL);
  cr_expect_eq(r.rc, 0, "%s", r.err);
  cr_expect_eq(count_lines(r.out), 1 + 2, "%s", r.out);
  char *lines[3];
  char *save = NULL, *s = strdup(r.out);
  lines[0] = strtok_r(s, "\n", &save);
  lines[1] = strtok_r(NULL, "\n", &save);
  lines[2] = strtok_r(NULL, "\n", &save);
  cr_assert_not_null(lines[2]);
  const char *to_col = strstr(lines[0], "TO ");
  const char *reason_col = strstr(lines[0], "REASON");
  cr_assert_not_null(to_col);
  size_t to_at = (size_t)(to_col - lines[0]), reason_at = (size_t)(reason_col - lines[0]);
  cr_expect_eq(strncmp(lines[1] + to_at, "backup-profile (secondary)", 26), 0, "%s\n%s", lines[0], lines[1]);
  cr_expect_eq(strncmp(lines[1] + reason_at, "failover", 8), 0, "%s\n%s", lines[0], lines[1]);
  cr_expect_eq(strncmp(lines[2] + to_at, "production", 10), 0, "%s\n%s", lines[0], lines[2]);
  cr_expect_not_null(strstr(lines[2], "pin"));
  cr_expect_not_null(strstr(lines[2], "incident 42"));
  free(s);
  run_free(&r);
  r = qccc("priority", "history", "--json", NULL);
  json_t *a = json_loads(r.out, 0, NULL);
  cr_assert(json_is_array(a), "%s", r.out);
  cr_expect_eq(json_array_size(a), 2);
  json_decref(a);
  run_free(&r);
}

Test(journal_cmd, e_parse_since) {
  int64_t now = 1764131585000, t;
  cr_expect_eq(qccc_parse_since("1h ago", now, &t), 0);
  cr_expect_eq(t, now - 3600000);
  cr_expect_eq(qccc_parse_since("90s", now, &t), 0);
  cr_expect_eq(t, now - 90000);
  cr_expect_eq(qccc_parse_since("2d", now, &t), 0);
  cr_expect_eq(t, now - 2 * 86400000);
  cr_expect_eq(qccc_parse_since("2025-11-26T04:33:05Z", now, &t), 0);
  cr_expect_eq(t, 1764131585000);
  cr_expect_eq(qccc_parse_since("2025-11-26 04:33", now, &t), 0);
  cr_expect_eq(t, 1764131580000);
  cr_expect_eq(qccc_parse_since("2025-11-26", now, &t), 0);
  cr_expect_eq(t, 1764115200000);
  cr_expect_eq(qccc_parse_since("2025-11-26T04:33:05.250Z", now, &t), 0);
  cr_expect_eq(t, 1764131585250);
  cr_expect_neq(qccc_parse_since("1w", now, &t), 0);
  cr_expect_neq(qccc_parse_since("h", now, &t), 0);
  cr_expect_neq(qccc_parse_since("2025-13-01", now, &t), 0);
  cr_expect_neq(qccc_parse_since("2025-11-26X", now, &t), 0);
  cr_expect_neq(qccc_parse_since("-5m", now, &t), 0);
}

Test(journal_cmd, e_show_reports_corruption_but_lists_good_records) {
  write_history();
  size_t len;
  uint8_t *img = read_whole(jpath, &len);
  img[QCC_JOURNAL_HEADER_SIZE + 20] ^= 1; /* first record */
  cr_assert_eq(write_whole(jpath, img, len), 0);
  struct run r = qccc("journal", "show", NULL);
  cr_expect_eq(r.rc, 1);
  cr_expect_eq(count_lines(r.out), 1, "no good record before the damage");
  cr_expect_not_null(strstr(r.err, "journal check"), "%s", r.err);
  run_free(&r);
  free(img);
}

Test(journal_cmd, e_hostile_text_is_printable_and_valid_json) {
  /* Reasons can echo upstream error bodies: escapes, newlines, bad UTF-8. */
  struct qcc_journal *j = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_journal_open(dir, QCC_FSYNC_NO, &j, &err), 0, "%s", err.msg);
  struct qcc_jrec r = {.type = QCC_JT_GROUP_SWITCH};
  r.u.group_switch = (struct qcc_jrec_group_switch){"a\x1b[31mred", 0, "b\nfake line", 1, "bad \xff\xfe utf8\r"};
  cr_assert_eq(qcc_journal_append(j, &r, &err), 0);
  cr_assert_eq(qcc_journal_flush(j, &err), 0);
  qcc_journal_close(&j);
  const char *cmds[][3] = {{"journal", "show", NULL}, {"priority", "history", NULL}};
  for (int k = 0; k < 2; k++) {
    struct run o = qccc(cmds[k][0], cmds[k][1], NULL);
    cr_expect_eq(o.rc, 0, "%s", o.err);
    cr_expect_null(strchr(o.out, '\x1b'), "escape reached the terminal: %s", o.out);
    cr_expect_null(strchr(o.out, '\r'));
    cr_expect_eq(count_lines(o.out), 2, "one header + one line:\n%s", o.out);
    run_free(&o);
  }
  struct run o = qccc("journal", "show", "--json", NULL);
  json_error_t je;
  json_t *a = json_loads(o.out, 0, &je);
  cr_assert(json_is_array(a), "invalid JSON: %s\n%s", je.text, o.out);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "to")), "b\nfake line");
  cr_expect_not_null(json_string_value(json_object_get(json_array_get(a, 0), "reason")));
  json_decref(a);
  run_free(&o);
}
