/* Unit tests of the client side that need no process: request ids, listen
 * address parsing, the access log format. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/accesslog.h"
#include "runtime/client.h"
#include "runtime/server.h"

static int cmp_ids(const void *a, const void *b) { return memcmp(a, b, 17); }

Test(runtime_units, request_ids_are_16_hex_and_unique) {
  enum { N = 20000 };
  char (*ids)[17] = calloc(N, 17);
  cr_assert_not_null(ids);
  for (int i = 0; i < N; i++) {
    qcc_request_id_next(ids[i]);
    cr_assert_eq(strlen(ids[i]), 16, "id %d is '%s'", i, ids[i]);
    cr_assert_eq(strspn(ids[i], "0123456789abcdef"), 16, "id %d is '%s'", i, ids[i]);
  }
  qsort(ids, N, 17, cmp_ids);
  for (int i = 1; i < N; i++) cr_assert_neq(memcmp(ids[i - 1], ids[i], 17), 0, "duplicate %s", ids[i]);
  free(ids);
}

Test(runtime_units, hostport_ipv4_ipv6_and_errors) {
  char host[64];
  uint16_t port = 0;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_parse_hostport("127.0.0.1:7860", host, sizeof host, &port, &err), 0);
  cr_assert_str_eq(host, "127.0.0.1");
  cr_assert_eq(port, 7860);
  cr_assert_eq(qcc_parse_hostport("[::1]:8080", host, sizeof host, &port, &err), 0);
  cr_assert_str_eq(host, "::1");
  cr_assert_eq(port, 8080);
  cr_assert_eq(qcc_parse_hostport("localhost:0", host, sizeof host, &port, &err), 0);
  cr_assert_eq(port, 0);
  cr_assert_eq(qcc_parse_hostport("::1:80", host, sizeof host, &port, &err), -1);
  cr_assert(strstr(err.msg, "[::1]") != NULL, "hint missing: %s", err.msg);
  cr_assert_eq(qcc_parse_hostport("127.0.0.1:70000", host, sizeof host, &port, &err), -1);
  cr_assert_eq(qcc_parse_hostport("127.0.0.1:", host, sizeof host, &port, &err), -1);
  cr_assert_eq(qcc_parse_hostport(":80", host, sizeof host, &port, &err), -1);
  cr_assert_eq(qcc_parse_hostport("[::1]80", host, sizeof host, &port, &err), -1);
}

Test(runtime_units, access_log_writes_one_json_object_per_line) {
  char dir[] = "/tmp/qcc-alog-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/access.log", dir);
  struct qcc_accesslog *log = NULL;
  struct qcc_err err = {0};
  cr_assert_eq(qcc_accesslog_open(path, &log, &err), 0, "%s", err.msg);
  const char *p = "/v1/messages\"\n?beta=true";
  struct qcc_access_entry e = {
      .request_id = "0123456789abcdef", .method = "POST", .path = p, .path_len = 14,
      .endpoint = "ep-1", .status = 200, .upstream_status = 200, .ttfb_ms = 1.5,
      .total_ms = 3.25, .bytes_in = 10, .bytes_out = 20, .generation = 7, .failed = false};
  qcc_accesslog_write(log, &e);
  e.endpoint = NULL;
  e.status = 404;
  e.ttfb_ms = -1;
  e.failed = true;
  qcc_accesslog_write(log, &e);
  qcc_accesslog_close(&log);
  cr_assert_null(log);

  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  char line[1024];
  int n = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    json_error_t je;
    json_t *o = json_loads(line, 0, &je);
    cr_assert_not_null(o, "line %d not JSON: %s", n, je.text);
    cr_assert_str_eq(json_string_value(json_object_get(o, "request_id")), "0123456789abcdef");
    cr_assert_str_eq(json_string_value(json_object_get(o, "path")), "/v1/messages\"\n");
    cr_assert_eq(json_integer_value(json_object_get(o, "generation")), 7);
    const char *keys[] = {"time", "method", "endpoint", "status", "upstream_status", "ttfb_ms",
                          "total_ms", "bytes_in", "bytes_out", "failed"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
      cr_assert_not_null(json_object_get(o, keys[k]), "missing %s", keys[k]);
    if (n == 0) {
      cr_assert_str_eq(json_string_value(json_object_get(o, "endpoint")), "ep-1");
      cr_assert(json_is_false(json_object_get(o, "failed")));
    } else {
      cr_assert(json_is_null(json_object_get(o, "endpoint")));
      cr_assert(json_is_null(json_object_get(o, "ttfb_ms")));
      cr_assert_eq(json_integer_value(json_object_get(o, "status")), 404);
      cr_assert(json_is_true(json_object_get(o, "failed")));
    }
    json_decref(o);
    n++;
  }
  fclose(f);
  cr_assert_eq(n, 2);
  unlink(path);
  rmdir(dir);
}
