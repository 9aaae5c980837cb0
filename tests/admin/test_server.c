/* The admin server on a real loop: the socket (mode, refusal, stale file),
 * every route's documented shape, errors, async replies, curl, /metrics
 * through the strict checker (and promtool when installed), and that no key
 * appears anywhere. */
#include <criterion/criterion.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "afix.h"
#include "promcheck.h"

static struct afix F;

static void setup(void) { afix_start(&F, NULL); }
static void teardown(void) { afix_stop(&F); }

static const json_t *get(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  cr_assert_not_null(v, "missing \"%s\"", k);
  return v;
}

static json_t *find_by_id(const json_t *arr, const char *id) {
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0) return e;
  return NULL;
}

/* ---- the socket ---------------------------------------------------------- */

Test(a10_socket, mode_is_0600_and_removed_on_close, .init = setup) {
  struct stat st;
  cr_assert_eq(lstat(F.sock, &st), 0);
  cr_assert(S_ISSOCK(st.st_mode));
  cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
  afix_stop(&F);
  cr_assert_neq(access(F.sock, F_OK), 0, "socket file left behind");
}

Test(a10_socket, second_server_refuses, .init = setup, .fini = teardown) {
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct qcc_admin *a = NULL;
  struct qcc_err err = {0};
  size_t n;
  const struct qcc_admin_route *rt = qcc_adminapi_routes(&n);
  cr_assert_eq(qcc_admin_open(loop, F.dir, rt, n, &F.ctx, &a, &err), -1);
  cr_assert_null(a);
  cr_assert(strstr(err.msg, "already running") != NULL, "%s", err.msg);
  ev_loop_destroy(loop);
  /* the first one still serves */
  json_t *j = afix_json(&F, "GET", "/healthz", NULL, 200);
  json_decref(j);
}

Test(a10_socket, stale_socket_is_replaced_and_other_files_refused) {
  char dir[] = "/tmp/qcc-admin-stale-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/admin.sock", dir);
  /* a socket nobody listens on: what a crashed qcc-run leaves */
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  cr_assert_lt(strlen(path), sizeof sa.sun_path);
  memcpy(sa.sun_path, path, strlen(path) + 1);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  close(fd);
  struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
  struct qcc_admin *a = NULL;
  struct qcc_err err = {0};
  size_t n;
  const struct qcc_admin_route *rt = qcc_adminapi_routes(&n);
  cr_assert_eq(qcc_admin_open(loop, dir, rt, n, NULL, &a, &err), 0, "%s", err.msg);
  qcc_admin_close(&a);
  cr_assert_null(a);
  /* a regular file is not ours to delete */
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fclose(f);
  cr_assert_eq(qcc_admin_open(loop, dir, rt, n, NULL, &a, &err), -1);
  cr_assert(strstr(err.msg, "not a socket") != NULL, "%s", err.msg);
  cr_assert_eq(access(path, F_OK), 0);
  unlink(path);
  rmdir(dir);
  ev_loop_destroy(loop);
}

Test(a10_socket, client_says_not_running) {
  struct qcc_admin_reply r;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_admin_call("/tmp/qcc-admin-nowhere/admin.sock", "GET", "/status", NULL, 1000,
                              &r, &err),
               -1);
  cr_assert_eq(err.code, QCC_ADMIN_NOT_RUNNING);
  cr_assert_str_eq(err.msg, "qcc-run is not running at /tmp/qcc-admin-nowhere/admin.sock: start "
                            "it with `qccc start`");
}

/* ---- routes -------------------------------------------------------------- */

Test(a20_routes, healthz_and_status, .init = setup, .fini = teardown) {
  json_t *j = afix_json(&F, "GET", "/healthz", NULL, 200);
  cr_assert_str_eq(json_string_value(get(j, "status")), "ok");
  cr_assert_eq(json_integer_value(get(j, "generation")), 1);
  json_decref(j);

  j = afix_json(&F, "GET", "/status", NULL, 200);
  cr_assert_str_eq(json_string_value(get(j, "version")), "0.1.0-test");
  cr_assert_eq(json_integer_value(get(j, "pid")), getpid());
  cr_assert_geq(json_integer_value(get(j, "uptime_s")), 3723);
  const json_t *t = get(j, "table");
  cr_assert_str_eq(json_string_value(get(t, "path")), "/srv/qcc/table.bin");
  cr_assert_eq(json_integer_value(get(t, "generation")), 1);
  cr_assert_eq(json_integer_value(get(t, "profiles")), 2);
  cr_assert_eq(json_integer_value(get(t, "endpoints")), 4);
  cr_assert(json_is_true(get(get(j, "last_reload"), "ok")));
  const json_t *ro = get(j, "routing");
  cr_assert_str_eq(json_string_value(get(ro, "active_profile")), "main");
  cr_assert_str_eq(json_string_value(get(ro, "active_group")), "primary");
  cr_assert(json_is_false(get(ro, "pinned")));
  cr_assert_eq(json_integer_value(get(get(j, "endpoints"), "total")), 4);
  const json_t *rq = get(j, "requests");
  cr_assert_eq(json_integer_value(get(rq, "total")), 3);
  cr_assert_eq(json_integer_value(get(rq, "failed")), 2);
  cr_assert_eq(json_integer_value(get(rq, "active")), 2);
  cr_assert_eq(json_integer_value(get(rq, "rejected")), 7);
  cr_assert_eq(json_integer_value(get(rq, "retries")), 1);
  cr_assert_eq(json_integer_value(get(get(j, "connections"), "active")), 3);
  cr_assert_eq(json_integer_value(get(get(j, "queue"), "depth")), 2);
  cr_assert_eq(json_integer_value(get(get(j, "queue"), "dead_letters")), 2);
  json_decref(j);
}

Test(a20_routes, endpoints_and_health, .init = setup, .fini = teardown) {
  json_t *j = afix_json(&F, "GET", "/endpoints", NULL, 200);
  const json_t *arr = get(j, "endpoints");
  cr_assert_eq(json_array_size(arr), 4);
  json_t *e = find_by_id(arr, "prod-2");
  cr_assert_not_null(e);
  cr_assert_str_eq(json_string_value(get(e, "profile")), "main");
  cr_assert_str_eq(json_string_value(get(e, "group")), "primary");
  cr_assert_str_eq(json_string_value(get(e, "base_url")), "https://prod-2.example.com/v",
                   "credentials stripped from the URL");
  cr_assert_eq(json_integer_value(get(e, "weight")), 50);
  cr_assert(json_is_true(get(e, "available")));
  cr_assert_str_eq(json_string_value(get(e, "health")), "healthy");
  cr_assert_str_eq(json_string_value(get(e, "breaker")), "closed");
  cr_assert(json_is_integer(get(e, "score")));
  json_decref(j);

  j = afix_json(&F, "GET", "/endpoints?profile=backup", NULL, 200);
  cr_assert_eq(json_array_size(get(j, "endpoints")), 2);
  cr_assert_not_null(find_by_id(get(j, "endpoints"), "bad-1"));
  json_decref(j);
  j = afix_json(&F, "GET", "/endpoints?profile=nope", NULL, 404);
  cr_assert(strstr(json_string_value(get(j, "error")), "nope") != NULL);
  json_decref(j);

  j = afix_json(&F, "GET", "/health", NULL, 200);
  cr_assert_eq(json_integer_value(get(get(j, "summary"), "healthy")), 4);
  cr_assert_eq(json_array_size(get(j, "endpoints")), 4);
  json_decref(j);
}

Test(a20_routes, disable_enable, .init = setup, .fini = teardown) {
  json_t *j = afix_json(&F, "POST", "/endpoints/prod-1/disable", "{\"reason\":\"maintenance\"}", 200);
  cr_assert(json_is_true(get(j, "operator_disabled")));
  cr_assert_str_eq(json_string_value(get(j, "disabled_reason")), "maintenance");
  cr_assert(json_is_false(get(j, "available")));
  json_decref(j);
  j = afix_json(&F, "GET", "/endpoints?profile=main", NULL, 200);
  cr_assert(json_is_true(get(find_by_id(get(j, "endpoints"), "prod-1"), "operator_disabled")));
  json_decref(j);
  j = afix_json(&F, "POST", "/endpoints/prod-1/enable", NULL, 200);
  cr_assert(json_is_false(get(j, "operator_disabled")));
  cr_assert(json_is_null(get(j, "disabled_reason")));
  json_decref(j);
  j = afix_json(&F, "POST", "/endpoints/ghost/enable", NULL, 404);
  json_decref(j);
  j = afix_json(&F, "POST", "/endpoints/prod-1/disable", "not json", 400);
  json_decref(j);
  /* the history shows both, with ?kind=all */
  j = afix_json(&F, "GET", "/priority/history?kind=all", NULL, 200);
  size_t i, dis = 0, en = 0;
  json_t *e;
  json_array_foreach(get(j, "events"), i, e) {
    dis += strcmp(json_string_value(get(e, "kind")), "disable") == 0;
    en += strcmp(json_string_value(get(e, "kind")), "enable") == 0;
  }
  cr_assert_eq(dis, 1);
  cr_assert_eq(en, 1);
  json_decref(j);
}

Test(a20_routes, endpoint_test_waits_for_the_probe, .init = setup, .fini = teardown) {
  json_t *j = afix_json(&F, "POST", "/endpoints/prod-1/test", NULL, 200);
  cr_assert_str_eq(json_string_value(get(j, "id")), "prod-1");
  cr_assert(json_is_true(get(j, "ok")));
  cr_assert_eq(json_integer_value(get(j, "status")), 200);
  cr_assert_eq(json_integer_value(get(j, "latency_ms")), 42);
  cr_assert_str_eq(json_string_value(get(j, "detail")), "models: 3");
  json_decref(j);
  j = afix_json(&F, "POST", "/endpoints/bad-1/test", NULL, 200);
  cr_assert(json_is_false(get(j, "ok")));
  cr_assert_eq(json_integer_value(get(j, "status")), 401);
  json_decref(j);
}

Test(a20_routes, health_check_probes_all_and_feeds_the_router, .init = setup, .fini = teardown) {
  json_t *j = afix_json(&F, "POST", "/health/check", NULL, 200);
  cr_assert_eq(json_integer_value(get(j, "checked")), 4);
  const json_t *res = get(j, "results");
  cr_assert_eq(json_array_size(res), 4);
  json_t *bad = find_by_id(res, "bad-1");
  cr_assert_not_null(bad);
  cr_assert(json_is_false(get(bad, "ok")));
  cr_assert(json_is_true(get(find_by_id(res, "prod-1"), "ok")));
  json_decref(j);
  /* the failed check reached the router */
  j = afix_json(&F, "GET", "/health", NULL, 200);
  json_t *e = find_by_id(get(j, "endpoints"), "bad-1");
  cr_assert(json_is_string(get(e, "last_check")));
  cr_assert_eq(json_integer_value(get(e, "consecutive_failures")), 1);
  cr_assert_not_null(strstr(json_string_value(get(e, "last_error")), "authentication_error"));
  json_decref(j);
}

Test(a20_routes, priority_pin_and_auto, .init = setup, .fini = teardown) {
  json_t *j = afix_json(&F, "GET", "/priority", NULL, 200);
  cr_assert_str_eq(json_string_value(get(get(j, "active"), "profile")), "main");
  cr_assert(json_is_null(get(j, "pinned")));
  cr_assert(json_is_true(get(j, "auto_switch")));
  const json_t *profs = get(j, "profiles");
  cr_assert_eq(json_array_size(profs), 2);
  cr_assert_str_eq(json_string_value(get(json_array_get(profs, 0), "name")), "main");
  cr_assert(json_is_true(get(json_array_get(profs, 0), "active")));
  cr_assert_str_eq(json_string_value(get(json_array_get(profs, 1), "group")), "secondary");
  json_decref(j);

  j = afix_json(&F, "POST", "/priority/switch", "{\"profile\":\"backup\",\"reason\":\"drill\"}", 200);
  cr_assert_str_eq(json_string_value(get(get(j, "pinned"), "profile")), "backup");
  cr_assert_str_eq(json_string_value(get(get(j, "pinned"), "reason")), "drill");
  /* the router moves on the next request; the profile says it is pinned now */
  cr_assert(json_is_true(get(json_array_get(get(j, "profiles"), 1), "pinned")));
  cr_assert(json_is_false(get(json_array_get(get(j, "profiles"), 0), "pinned")));
  json_decref(j);
  j = afix_json(&F, "POST", "/priority/switch", "{\"profile\":\"nope\"}", 404);
  json_decref(j);
  j = afix_json(&F, "POST", "/priority/switch", "{\"auto\":false}", 400);
  json_decref(j);
  j = afix_json(&F, "POST", "/priority/switch", "{\"auto\":true}", 200);
  cr_assert(json_is_null(get(j, "pinned")));
  cr_assert_str_eq(json_string_value(get(get(j, "active"), "profile")), "main");
  json_decref(j);

  j = afix_json(&F, "GET", "/priority/history", NULL, 200);
  const json_t *ev = get(j, "events");
  cr_assert_geq(json_array_size(ev), 2);
  size_t i;
  json_t *e;
  bool pin = false, unpin = false;
  json_array_foreach(ev, i, e) {
    const char *k = json_string_value(get(e, "kind"));
    cr_assert(strcmp(k, "switch") == 0 || strcmp(k, "pin") == 0 || strcmp(k, "unpin") == 0, "%s", k);
    pin |= strcmp(k, "pin") == 0 && strcmp(json_string_value(get(e, "reason")), "drill") == 0;
    unpin |= strcmp(k, "unpin") == 0;
    cr_assert(json_is_string(get(e, "time")));
  }
  cr_assert(pin && unpin);
  json_decref(j);
}

Test(a20_routes, queue_and_dead_letters, .init = setup, .fini = teardown) {
  json_t *j = afix_json(&F, "GET", "/queue", NULL, 200);
  cr_assert_eq(json_integer_value(get(j, "depth")), 2);
  cr_assert_eq(json_integer_value(get(j, "max_size")), 10);
  const json_t *ent = get(j, "entries");
  cr_assert_eq(json_array_size(ent), 2);
  cr_assert_eq(json_integer_value(get(json_array_get(ent, 0), "priority")), 7, "higher first");
  cr_assert_str_eq(json_string_value(get(json_array_get(ent, 0), "state")), "waiting");
  cr_assert_eq(json_integer_value(get(get(j, "dead_letters"), "count")), 2);
  cr_assert_eq(json_integer_value(get(get(j, "counters"), "enqueued")), 2);
  json_decref(j);

  j = afix_json(&F, "GET", "/queue/deadletters", NULL, 200);
  cr_assert_eq(json_integer_value(get(j, "count")), 2);
  json_t *d = json_array_get(get(j, "dead_letters"), 1);
  cr_assert_str_eq(json_string_value(get(d, "id")), F.dl_id[1]);
  cr_assert_str_eq(json_string_value(get(d, "target")), "/v1/messages?beta=true");
  cr_assert_eq(json_array_size(get(d, "tried")), 2);
  cr_assert_str_eq(json_string_value(get(json_array_get(get(d, "tried"), 0), "endpoint")), "prod-1");
  cr_assert(json_is_true(get(d, "body_kept")));
  cr_assert(json_is_null(get(d, "replay")));
  json_decref(j);

  char path[96];
  snprintf(path, sizeof path, "/queue/retry/%s", F.dl_id[0]);
  j = afix_json(&F, "POST", path, NULL, 200);
  cr_assert_eq(json_integer_value(get(j, "status")), 200);
  cr_assert(json_is_true(get(j, "ok")));
  json_decref(j);
  j = afix_json(&F, "POST", "/queue/retry/ffffffffff", NULL, 404);
  json_decref(j);
  j = afix_json(&F, "GET", "/queue/deadletters", NULL, 200);
  d = json_array_get(get(j, "dead_letters"), 0);
  cr_assert_eq(json_integer_value(get(get(d, "replay"), "status")), 200, "replay stored");
  json_decref(j);

  j = afix_json(&F, "POST", "/queue/retry-all", NULL, 200);
  cr_assert_eq(json_integer_value(get(j, "retried")), 2);
  cr_assert_eq(json_integer_value(get(j, "succeeded")), 2);
  cr_assert_eq(json_array_size(get(j, "results")), 2);
  json_decref(j);

  /* drop (the status page's): one dead letter forgotten, an unknown id 404 */
  snprintf(path, sizeof path, "/queue/drop/%s", F.dl_id[1]);
  j = afix_json(&F, "POST", path, "{\"reason\": \"from the status page\"}", 200);
  cr_assert(json_is_true(get(j, "dropped")));
  json_decref(j);
  j = afix_json(&F, "POST", path, NULL, 404);
  json_decref(j);
  j = afix_json(&F, "GET", "/queue/deadletters", NULL, 200);
  cr_assert_eq(json_integer_value(get(j, "count")), 1);
  cr_assert_str_eq(json_string_value(get(json_array_get(get(j, "dead_letters"), 0), "id")), F.dl_id[0]);
  json_decref(j);

  j = afix_json(&F, "POST", "/queue/clear", NULL, 200);
  cr_assert_eq(json_integer_value(get(j, "cleared")), 1);
  json_decref(j);
  j = afix_json(&F, "GET", "/queue/deadletters", NULL, 200);
  cr_assert_eq(json_integer_value(get(j, "count")), 0);
  json_decref(j);
}

Test(a20_routes, errors, .init = setup, .fini = teardown) {
  json_t *j = afix_json(&F, "GET", "/nope", NULL, 404);
  cr_assert(strstr(json_string_value(get(j, "error")), "no such route") != NULL);
  json_decref(j);
  struct qcc_admin_reply r = afix_call(&F, "DELETE", "/status", NULL);
  cr_assert_eq(r.status, 405);
  cr_assert_not_null(strstr(qcc_admin_reply_error_text(&r), "GET"));
  qcc_admin_reply_free(&r);
  j = afix_json(&F, "POST", "/priority/switch", "[1,2]", 400);
  json_decref(j);
  /* a body over the cap */
  size_t big = QCC_ADMIN_MAX_BODY + 10;
  char *body = malloc(big + 1);
  memset(body, 'x', big);
  body[big] = '\0';
  r = afix_call(&F, "POST", "/priority/switch", body);
  cr_assert_eq(r.status, 413);
  qcc_admin_reply_free(&r);
  free(body);
  /* trailing slash and percent-encoded ids */
  j = afix_json(&F, "GET", "/status/", NULL, 200);
  json_decref(j);
  j = afix_json(&F, "POST", "/endpoints/prod%2D1/enable", NULL, 200);
  cr_assert_str_eq(json_string_value(get(j, "id")), "prod-1");
  json_decref(j);
}

Test(a20_routes, client_gone_before_an_async_reply, .init = setup, .fini = teardown) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  cr_assert_lt(strlen(F.sock), sizeof sa.sun_path);
  memcpy(sa.sun_path, F.sock, strlen(F.sock) + 1);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  const char req[] = "POST /endpoints/prod-1/test HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
  usleep(5000);
  close(fd); /* before the 20 ms probe answers */
  usleep(60000);
  json_t *j = afix_json(&F, "GET", "/healthz", NULL, 200);
  json_decref(j);
}

static char *raw(const char *sock, const char *req, size_t len, size_t chunk) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, sock, strlen(sock) + 1);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  for (size_t off = 0; off < len; off += chunk) {
    size_t n = len - off < chunk ? len - off : chunk;
    cr_assert_eq(write(fd, req + off, n), (ssize_t)n);
    if (chunk < len) usleep(200);
  }
  char *buf = calloc(1, 65536);
  size_t got = 0;
  for (;;) {
    ssize_t k = read(fd, buf + got, 65535 - got);
    if (k <= 0) break;
    got += (size_t)k;
  }
  close(fd);
  return buf;
}

Test(a20_routes, byte_by_byte_and_garbage, .init = setup, .fini = teardown) {
  const char req[] = "POST /priority/switch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 20\r\n\r\n{\"profile\":\"backup\"}";
  char *r = raw(F.sock, req, sizeof req - 1, 1);
  cr_assert_eq(strncmp(r, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", r);
  cr_assert_not_null(strstr(r, "\"pinned\": {"), "%s", r);
  free(r);
  r = raw(F.sock, "\x01\x02garbage\r\n\r\n", 13, 13);
  cr_assert_eq(strncmp(r, "HTTP/1.1 400 ", 13), 0, "%s", r);
  free(r);
  /* chunked bodies are read too */
  const char ch[] = "POST /priority/switch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "e\r\n{\"auto\": true}\r\n0\r\n\r\n";
  r = raw(F.sock, ch, sizeof ch - 1, 7);
  cr_assert_eq(strncmp(r, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", r);
  cr_assert_not_null(strstr(r, "\"pinned\": null"), "%s", r);
  free(r);
}

Test(a20_routes, no_queue_means_503, .fini = teardown) {
  struct afix_opts o = {.no_queue = true, .no_probe = true};
  afix_start(&F, &o);
  const char *routes[][2] = {{"GET", "/queue"},          {"GET", "/queue/deadletters"},
                             {"POST", "/queue/retry/1a"}, {"POST", "/queue/retry-all"},
                             {"POST", "/queue/clear"},    {"POST", "/queue/drop/1a"}};
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    json_t *j = afix_json(&F, routes[i][0], routes[i][1], NULL, 503);
    cr_assert(strstr(json_string_value(get(j, "error")), "queue not available") != NULL);
    json_decref(j);
  }
  json_t *j = afix_json(&F, "POST", "/endpoints/prod-1/test", NULL, 503);
  json_decref(j);
  j = afix_json(&F, "POST", "/health/check", NULL, 503);
  json_decref(j);
  j = afix_json(&F, "GET", "/status", NULL, 200);
  cr_assert(json_is_null(get(j, "queue")));
  json_decref(j);
}

/* ---- metrics, curl, secrets ---------------------------------------------- */

Test(a30_metrics, exposition_is_valid_and_complete, .init = setup, .fini = teardown) {
  struct qcc_admin_reply r = afix_call(&F, "GET", "/metrics", NULL);
  cr_assert_eq(r.status, 200);
  char why[256];
  size_t n = 0;
  cr_assert_eq(promcheck(r.body, r.len, &n, why, sizeof why), 0, "%s", why);
  cr_assert_gt(n, 50);
  const char *want[] = {
      "qcc_table_generation 1\n",
      "qcc_active_connections 3\n",
      "qcc_queue_depth 2\n",
      "qcc_dead_letters 2\n",
      "qcc_endpoint_health_score{endpoint=\"prod-1\",profile=\"main\"} ",
      "qcc_endpoint_breaker_state{endpoint=\"prod-1\",profile=\"main\",state=\"closed\"} 1\n",
      "qcc_endpoint_breaker_state{endpoint=\"prod-1\",profile=\"main\",state=\"open\"} 0\n",
      "qcc_active_profile{profile=\"main\",group=\"primary\",pinned=\"0\"} 1\n",
      "qcc_requests_total{endpoint=\"prod-1\",status=\"529\"} 1\n",
      "qcc_request_duration_seconds_bucket{endpoint=\"prod-1\",le=\"+Inf\"} 2\n",
      "qcc_upstream_ttfb_seconds_count{endpoint=\"prod-1\"} 2\n",
      "qcc_retries_total{endpoint=\"prod-2\"} 1\n",
      "qcc_failovers_total 0\n",
      "qcc_table_last_reload_success 1\n",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    cr_assert_not_null(strstr(r.body, want[i]), "missing %s", want[i]);
  cr_assert_null(strstr(r.body, AFIX_SECRET));
  /* promtool, when the machine has it, must agree */
  if (system("command -v promtool >/dev/null 2>&1") == 0) {
    char path[300], cmd[400];
    snprintf(path, sizeof path, "%s/metrics.txt", F.dir);
    FILE *f = fopen(path, "w");
    fwrite(r.body, 1, r.len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' >/dev/null 2>&1", path);
    int rc = system(cmd);
    /* promtool exits 3 for lint warnings only (e.g. naming advice) */
    cr_assert(WIFEXITED(rc) && (WEXITSTATUS(rc) == 0 || WEXITSTATUS(rc) == 3), "promtool: %d", rc);
  }
  qcc_admin_reply_free(&r);
}

static char *run_curl(const char *sock, const char *method, const char *path, int *http_code) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "curl -s -m 5 -X %s -w '\\n%%{http_code}' --unix-socket '%s' 'http://localhost%s'",
           method, sock, path);
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  char *buf = calloc(1, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, p);
  cr_assert_eq(pclose(p), 0, "curl failed");
  buf[n] = '\0';
  char *last = strrchr(buf, '\n');
  cr_assert_not_null(last);
  *http_code = atoi(last + 1);
  *last = '\0';
  return buf;
}

Test(a30_metrics, curl_unix_socket_works, .init = setup, .fini = teardown) {
  if (system("command -v curl >/dev/null 2>&1") != 0) cr_skip_test("no curl");
  int code = 0;
  char *body = run_curl(F.sock, "GET", "/status", &code);
  cr_assert_eq(code, 200);
  json_error_t je;
  json_t *j = json_loads(body, 0, &je);
  cr_assert_not_null(j, "%s", body);
  cr_assert_eq(json_integer_value(get(get(j, "table"), "generation")), 1);
  json_decref(j);
  free(body);
  body = run_curl(F.sock, "POST", "/endpoints/prod-2/disable", &code);
  cr_assert_eq(code, 200, "%s", body);
  free(body);
  body = run_curl(F.sock, "GET", "/metrics", &code);
  cr_assert_eq(code, 200);
  char why[256];
  cr_assert_eq(promcheck(body, strlen(body), NULL, why, sizeof why), 0, "%s", why);
  cr_assert_not_null(
      strstr(body, "qcc_endpoint_operator_disabled{endpoint=\"prod-2\",profile=\"main\"} 1\n"));
  free(body);
}

Test(a30_metrics, no_secret_in_any_reply, .init = setup, .fini = teardown) {
  /* keys are resolved into the environment the table names */
  cr_assert_str_eq(getenv("ROUTING_TEST_KEY"), AFIX_SECRET);
  size_t n;
  const struct qcc_admin_route *rt = qcc_adminapi_routes(&n);
  for (size_t i = 0; i < n; i++) {
    char path[128];
    snprintf(path, sizeof path, "%s", rt[i].pattern);
    char *star = strchr(path, '*');
    if (star != NULL) {
      char rest[64];
      snprintf(rest, sizeof rest, "%s", star + 1);
      snprintf(star, sizeof path - (size_t)(star - path), "%s%s",
               strncmp(path, "/queue", 6) == 0 ? F.dl_id[0] : "prod-2", rest);
    }
    struct qcc_admin_reply r = afix_call(&F, rt[i].method, path, NULL);
    cr_assert_lt(r.status, 500, "%s %s: %d %s", rt[i].method, path, r.status, r.body);
    cr_assert_null(strstr(r.body, AFIX_SECRET), "%s %s leaks the key", rt[i].method, path);
    cr_assert_null(strstr(r.body, AFIX_URL_PASSWORD), "%s %s leaks a URL password", rt[i].method,
                   path);
    qcc_admin_reply_free(&r);
  }
}

/* ---- the doc ------------------------------------------------------------- */

Test(a40_doc, every_route_is_documented) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root);
  char path[512];
  snprintf(path, sizeof path, "%s/docs/admin-api.md", root);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s missing", path);
  char *doc = calloc(1, 1 << 20);
  size_t len = fread(doc, 1, (1 << 20) - 1, f);
  fclose(f);
  doc[len] = '\0';
  size_t n;
  const struct qcc_admin_route *rt = qcc_adminapi_routes(&n);
  size_t documented = 0;
  for (size_t i = 0; i < n; i++) {
    char head[160], pat[128];
    snprintf(pat, sizeof pat, "%s", rt[i].pattern);
    char *star = strchr(pat, '*');
    if (star != NULL) {
      char rest[64];
      snprintf(rest, sizeof rest, "%s", star + 1);
      snprintf(star, sizeof pat - (size_t)(star - pat), "{id}%s", rest);
    }
    snprintf(head, sizeof head, "\n### %s %s\n", rt[i].method, pat);
    cr_assert_not_null(strstr(doc, head), "docs/admin-api.md lacks a \"### %s %s\" section",
                       rt[i].method, pat);
    documented++;
  }
  /* and the doc names no route the server lacks */
  size_t sections = 0;
  for (const char *p = strstr(doc, "\n### "); p != NULL; p = strstr(p + 1, "\n### "))
    if (strncmp(p + 5, "GET ", 4) == 0 || strncmp(p + 5, "POST ", 5) == 0) sections++;
  cr_assert_eq(sections, documented, "doc has %zu route sections, server %zu routes", sections,
               documented);
  free(doc);
}
