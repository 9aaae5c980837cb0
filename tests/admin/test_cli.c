/* qccc's operator commands against a live admin server (in-process through
 * qccc_op_cmd, and once through the real qccc binary), in text and --json,
 * plus the not-running message and `qccc logs` on an access log file. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "afix.h"
#include "compiler/opcmd.h"

static struct afix F;
static void setup(void) { afix_start(&F, NULL); }
static void teardown(void) { afix_stop(&F); }

static json_t *parse(const char *out) {
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  cr_assert_not_null(j, "not JSON: %s", out);
  return j;
}

/* The widest line of S in display columns (UTF-8 characters). */
static size_t widest(const char *s) {
  size_t best = 0, w = 0;
  for (; *s; s++) {
    if (*s == '\n') {
      best = w > best ? w : best;
      w = 0;
    } else if (((unsigned char)*s & 0xC0) != 0x80) {
      w++;
    }
  }
  return w > best ? w : best;
}

#define RUN(rc_want, ...)                                                     \
  do {                                                                        \
    free(out);                                                                \
    free(err);                                                                \
    out = err = NULL;                                                         \
    int rc_ = afix_qccc(&F, &out, &err, __VA_ARGS__, NULL);                  \
    if (getenv("QCC_TEST_SHOW") != NULL) /* to look at the output by hand */  \
      fprintf(stderr, "$ qccc %s ...\n%s%s\n", #__VA_ARGS__, out, err);       \
    cr_assert_eq(rc_, rc_want, "exit %d\nstdout:\n%s\nstderr:\n%s", rc_, out, err); \
  } while (0)

Test(b10_cli, not_running_says_how_to_start) {
  char dir[] = "/tmp/qcc-admin-cli-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  const char *cmds[][3] = {{"status", NULL, NULL}, {"health", "status", NULL},
                           {"queue", "status", NULL}, {"priority", "list", NULL}};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    char *argv[6] = {(char *)cmds[i][0]};
    int argc = 1;
    if (cmds[i][1] != NULL) argv[argc++] = (char *)cmds[i][1];
    argv[argc++] = "--state-dir";
    argv[argc++] = dir;
    char *out = NULL, *err = NULL;
    size_t ol, el;
    FILE *o = open_memstream(&out, &ol), *e = open_memstream(&err, &el);
    int rc = qccc_op_cmd(argc, argv, o, e);
    fclose(o);
    fclose(e);
    cr_assert_eq(rc, 1);
    char want[256];
    snprintf(want, sizeof want,
             "qcc-run is not running at %s/admin.sock: start it with `qccc start`", dir);
    cr_assert_not_null(strstr(err, want), "%s", err);
    cr_assert_str_eq(out, "");
    free(out);
    free(err);
  }
  rmdir(dir);
}

Test(b20_cli, status_text_and_json, .init = setup, .fini = teardown) {
  char *out = NULL, *err = NULL;
  RUN(0, "status");
  cr_assert_not_null(strstr(out, "qcc-run 0.1.0-test"), "%s", out);
  cr_assert_not_null(strstr(out, "up 1h 02m"), "%s", out);
  cr_assert_not_null(strstr(out, "/srv/qcc/table.bin: generation 1, 2 profiles, 4 endpoints"), "%s", out);
  cr_assert_not_null(strstr(out, "active       main (primary)"), "%s", out);
  cr_assert_not_null(strstr(out, "switching    automatic"), "%s", out);
  cr_assert_not_null(strstr(out, "requests     3 total, 2 failed"), "%s", out);
  cr_assert_not_null(strstr(out, "queue        2 waiting (0 retrying), 2 dead letters"), "%s", out);
  RUN(0, "status", "--json");
  json_t *j = parse(out);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "table"), "generation")), 1);
  json_decref(j);
  free(out);
  free(err);
}

Test(b20_cli, endpoint_commands, .init = setup, .fini = teardown) {
  char *out = NULL, *err = NULL;
  RUN(0, "endpoint", "list");
  cr_assert_not_null(strstr(out, "ID"), "%s", out);
  cr_assert_not_null(strstr(out, "BASE_URL"), "%s", out);
  /* fitted to 100 columns (display width: UTF-8 lead bytes), the long URL cut */
  cr_assert_leq(widest(out), 100, "%s", out);
  cr_assert_not_null(strstr(out, "https://prod-"), "%s", out);
  RUN(0, "endpoint", "list", "--wide");
  cr_assert_not_null(strstr(out, "https://prod-2.example.com/v"), "%s", out);
  cr_assert_not_null(strstr(out, "4 endpoints (live state from qcc-run)"), "%s", out);
  RUN(0, "endpoint", "list", "backup", "--json");
  json_t *j = parse(out);
  cr_assert_eq(json_array_size(json_object_get(j, "endpoints")), 2);
  json_decref(j);

  RUN(0, "endpoint", "disable", "prod-1", "--reason", "key rotation");
  cr_assert_not_null(strstr(out, "✓ endpoint prod-1 disabled: key rotation"), "%s", out);
  RUN(0, "endpoint", "list", "main");
  cr_assert_not_null(strstr(out, "off (operator: key rotation)"), "%s", out);
  RUN(0, "endpoint", "enable", "prod-1", "--json");
  j = parse(out);
  cr_assert(json_is_false(json_object_get(j, "operator_disabled")));
  json_decref(j);
  RUN(1, "endpoint", "enable", "ghost");
  cr_assert_not_null(strstr(err, "no endpoint with id \"ghost\""), "%s", err);

  free(out);
  free(err);
}

Test(b20_cli, health_commands, .init = setup, .fini = teardown) {
  char *out = NULL, *err = NULL;
  RUN(0, "health", "status");
  cr_assert_not_null(strstr(out, "ENDPOINT"), "%s", out);
  cr_assert_not_null(strstr(out, "4 healthy, 0 degraded, 0 unhealthy"), "%s", out);
  RUN(1, "health", "check"); /* bad-1 fails */
  cr_assert_not_null(strstr(out, "checked 4 endpoints: 3 ok, 1 failed"), "%s", out);
  cr_assert_not_null(strstr(out, "authentication_error"), "%s", out);
  RUN(0, "health", "status", "--json");
  json_t *j = parse(out);
  cr_assert_eq(json_array_size(json_object_get(j, "endpoints")), 4);
  json_decref(j);
  free(out);
  free(err);
}

Test(b20_cli, priority_switch_pins_and_auto_unpins, .init = setup, .fini = teardown) {
  char *out = NULL, *err = NULL;
  RUN(0, "priority", "list");
  cr_assert_not_null(strstr(out, "PRIMARY\n  * main"), "%s", out);
  cr_assert_not_null(strstr(out, "SECONDARY\n  - backup"), "%s", out);
  cr_assert_not_null(strstr(out, "mode: automatic"), "%s", out);
  RUN(0, "priority", "switch", "backup", "--reason", "drill");
  cr_assert_not_null(strstr(out, "✓ switched to profile 'backup' (pinned, reason: drill)"), "%s", out);
  RUN(0, "priority", "list", "--json");
  json_t *j = parse(out);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "pinned"), "profile")),
                   "backup");
  json_decref(j);
  RUN(0, "priority", "list");
  cr_assert_not_null(strstr(out, "mode: pinned to backup (\"drill\")"), "%s", out);
  RUN(1, "priority", "switch", "nope");
  cr_assert_not_null(strstr(err, "no profile named \"nope\""), "%s", err);
  RUN(0, "priority", "switch", "--auto");
  cr_assert_not_null(strstr(out, "automatic switching resumed; active profile: main"), "%s", out);
  /* unpin takes a reason too (the journal's override record keeps it) */
  RUN(0, "priority", "switch", "--auto", "--reason", "x");
  cr_assert_not_null(strstr(out, "automatic switching resumed"), "%s", out);
  RUN(2, "priority", "switch", "--auto", "extra");
  free(out);
  free(err);
}

Test(b20_cli, queue_commands, .init = setup, .fini = teardown) {
  char *out = NULL, *err = NULL;
  RUN(0, "queue", "status");
  cr_assert_not_null(strstr(out, "2 waiting (0 retrying), at most 10\nretries      exponential_backoff, 1 retry, max wait 1s\n"), "%s", out);
  cr_assert_not_null(strstr(out, "dead letters 2 kept"), "%s", out);
  RUN(0, "queue", "list");
  cr_assert_not_null(strstr(out, "waiting (2):"), "%s", out);
  cr_assert_not_null(strstr(out, "dead letters (2):"), "%s", out);
  cr_assert_not_null(strstr(out, F.dl_id[0]), "%s", out);
  cr_assert_not_null(strstr(out, "prod-1, prod-2"), "%s", out);
  cr_assert_leq(widest(out), 100, "the dead-letter table fits 100 columns:\n%s", out);
  RUN(0, "queue", "list", "--wide");
  cr_assert_not_null(strstr(out, F.dl_id[0]), "%s", out);
  RUN(0, "queue", "list", "--json");
  json_t *j = parse(out);
  cr_assert_eq(json_array_size(json_object_get(j, "dead_letters")), 2);
  cr_assert_eq(json_array_size(json_object_get(j, "waiting")), 2);
  json_decref(j);
  RUN(0, "queue", "retry", F.dl_id[1]);
  cr_assert_not_null(strstr(out, "replayed: HTTP 200"), "%s", out);
  RUN(0, "queue", "retry-all");
  cr_assert_not_null(strstr(out, "retried 2 dead letters: 2 succeeded, 0 failed"), "%s", out);
  /* destructive: without a terminal to ask on, it needs -y and drops nothing */
  RUN(2, "queue", "clear");
  cr_assert_not_null(strstr(err, "pass -y"), "%s", err);
  RUN(0, "queue", "list", "--json");
  j = parse(out);
  cr_assert_eq(json_array_size(json_object_get(j, "dead_letters")), 2);
  json_decref(j);
  RUN(0, "queue", "clear", "-y");
  cr_assert_not_null(strstr(out, "✓ cleared 2 dead letters"), "%s", out);
  RUN(0, "queue", "list");
  cr_assert_not_null(strstr(out, "no dead letters"), "%s", out);
  free(out);
  free(err);
}

Test(b20_cli, real_binary_status, .init = setup, .fini = teardown) {
  const char *root = getenv("QCC_BUILD_ROOT");
  cr_assert_not_null(root);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s/compiler/qccc' status --json --state-dir '%s'", root, F.dir);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  cr_assert_eq(pclose(p), 0, "%s", buf);
  json_t *j = parse(buf);
  cr_assert_str_eq(json_string_value(json_object_get(j, "version")), "0.1.0-test");
  json_decref(j);
  /* endpoint list goes to the live server before the config editor */
  snprintf(cmd, sizeof cmd, "'%s/compiler/qccc' endpoint list --state-dir '%s'", root, F.dir);
  p = popen(cmd, "r");
  n = fread(buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  cr_assert_eq(pclose(p), 0, "%s", buf);
  cr_assert_not_null(strstr(buf, "live state from qcc-run"), "%s", buf);
}

/* ---- logs ---------------------------------------------------------------- */

static const char *log_lines[] = {
    "{\"time\":\"2026-11-26T04:30:00.001Z\",\"request_id\":\"r1\",\"method\":\"POST\",\"path\":"
    "\"/v1/messages\",\"endpoint\":\"prod-1\",\"status\":200,\"upstream_status\":200,\"ttfb_ms\":"
    "180.5,\"total_ms\":420.25,\"bytes_in\":10,\"bytes_out\":20,\"generation\":1,\"failed\":false}",
    "{\"time\":\"2026-11-26T04:30:01.001Z\",\"request_id\":\"r2\",\"method\":\"POST\",\"path\":"
    "\"/v1/messages\",\"endpoint\":\"prod-2\",\"status\":529,\"upstream_status\":529,\"ttfb_ms\":"
    "12,\"total_ms\":13,\"bytes_in\":10,\"bytes_out\":20,\"generation\":1,\"failed\":true}",
    "{\"time\":\"2026-11-26T04:30:02.001Z\",\"request_id\":\"r3\",\"method\":\"GET\",\"path\":"
    "\"/v1/models\",\"endpoint\":\"prod-1\",\"status\":200,\"upstream_status\":200,\"ttfb_ms\":"
    "50,\"total_ms\":51,\"bytes_in\":10,\"bytes_out\":20,\"generation\":1,\"failed\":false}",
};

static void write_log(const char *path, size_t from, size_t to) {
  FILE *f = fopen(path, "a");
  cr_assert_not_null(f);
  for (size_t i = from; i < to; i++) fprintf(f, "%s\n", log_lines[i]);
  fclose(f);
}

Test(b30_logs, filters_and_json) {
  char dir[] = "/tmp/qcc-admin-logs-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  snprintf(F.dir, sizeof F.dir, "%s", dir);
  char path[300];
  snprintf(path, sizeof path, "%s/access.log", dir);
  write_log(path, 0, 3);
  char *out = NULL, *err = NULL;
  /* human output is local time with its zone (POSIX TZ strings need no tzdata) */
  setenv("TZ", "UTC0", 1);
  tzset();
  RUN(0, "logs");
  cr_assert_not_null(strstr(out, "2026-11-26 04:30:00 UTC  200  POST   /v1/messages"), "%s", out);
  setenv("TZ", "CET-1", 1);
  tzset();
  RUN(0, "logs");
  cr_assert_not_null(strstr(out, "2026-11-26 05:30:00 CET  200  POST   /v1/messages"), "%s", out);
  RUN(0, "logs", "--json");
  cr_assert_not_null(strstr(out, "04:30:00"), "--json keeps UTC: %s", out);
  setenv("TZ", "UTC0", 1);
  tzset();
  RUN(0, "logs");
  cr_assert_not_null(strstr(out, "FAILED"), "%s", out);
  cr_assert_not_null(strstr(out, "/v1/models"), "%s", out);
  RUN(0, "logs", "--endpoint", "prod-1");
  cr_assert_null(strstr(out, "prod-2"), "%s", out);
  cr_assert_not_null(strstr(out, "/v1/models"), "%s", out);
  RUN(0, "logs", "--status", "529", "--json");
  json_t *j = parse(out);
  cr_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "r2");
  json_decref(j);
  RUN(0, "logs", "-n", "1", "--json");
  j = parse(out);
  cr_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "r3", "only the last line");
  json_decref(j);
  RUN(2, "logs", "--status", "abc");
  unlink(path);
  RUN(1, "logs");
  cr_assert_not_null(strstr(err, "no access log at"), "%s", err);
  free(out);
  free(err);
  rmdir(dir);
}

struct appender {
  char path[300];
};

static void *append_later(void *arg) {
  struct appender *a = arg;
  usleep(400000);
  write_log(a->path, 1, 3);
  return NULL;
}

Test(b30_logs, follow_prints_new_lines_until_the_time_limit) {
  char dir[] = "/tmp/qcc-admin-logs-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  snprintf(F.dir, sizeof F.dir, "%s", dir);
  struct appender a;
  snprintf(a.path, sizeof a.path, "%s/access.log", dir);
  write_log(a.path, 0, 1);
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, append_later, &a), 0);
  char *out = NULL, *err = NULL;
  RUN(0, "logs", "-f", "--for", "2", "--json", "--endpoint", "prod-1");
  pthread_join(t, NULL);
  /* r1 from the tail, r3 followed; r2 filtered out */
  cr_assert_not_null(strstr(out, "\"r1\""), "%s", out);
  cr_assert_not_null(strstr(out, "\"r3\""), "%s", out);
  cr_assert_null(strstr(out, "\"r2\""), "%s", out);
  free(out);
  free(err);
  unlink(a.path);
  rmdir(dir);
}

/* The TODAY cell (compiler/todaycell.h): rounded for the table, the share
 * left of the tightest cap, "budget spent" while spent. */
#include "compiler/todaycell.h"

static void cell_of(const char *json, char *out, size_t cap) {
  json_error_t je;
  json_t *e = json_loads(json, 0, &je);
  cr_assert_not_null(e, "%s", je.text);
  qccc_today_cell(e, out, cap);
  json_decref(e);
}

Test(b30_today, cell_rounds_and_names_the_tightest_cap) {
  char c[64];
  cell_of("{\"today\": null}", c, sizeof c);
  cr_assert_str_eq(c, "-");
  cell_of("{\"today\": {\"tokens\": 1234567, \"cost_usd\": \"3.41\"}, \"budget\": null}", c, sizeof c);
  cr_assert_str_eq(c, "1.2M tok $3.41");
  cell_of("{\"today\": {\"tokens\": 35, \"cost_usd\": \"0.000255\"}}", c, sizeof c);
  cr_assert_str_eq(c, "35 tok $0.0003");
  cell_of("{\"today\": {\"tokens\": 0, \"cost_usd\": \"0\"}}", c, sizeof c);
  cr_assert_str_eq(c, "0 tok $0");
  /* daily 50 USD with 31 left (62%), monthly 1000 with 900 left (90%),
   * tokens 1000 with 800 left (80%): the tightest is 62% */
  cell_of("{\"today\": {\"tokens\": 4500, \"cost_usd\": \"19\"}, \"budget\": {\"daily_usd\": \"50\","
          " \"daily_usd_left\": \"31\", \"monthly_usd\": \"1000\", \"monthly_usd_left\": \"900\","
          " \"daily_tokens\": 1000, \"daily_tokens_left\": 800, \"spent_until\": null}}",
          c, sizeof c);
  cr_assert_str_eq(c, "4.5k tok $19.00 62% left");
  cell_of("{\"today\": {\"tokens\": 4500, \"cost_usd\": \"19\"}, \"budget\": {\"daily_usd\": null,"
          " \"daily_tokens\": 1000, \"daily_tokens_left\": 0, \"spent_until\": \"2026-12-06T16:00:00.000Z\"}}",
          c, sizeof c);
  cr_assert_str_eq(c, "4.5k tok $19.00 budget spent");
}
