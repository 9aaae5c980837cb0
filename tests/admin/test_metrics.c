/* Metrics units: the text builder, the recorded families, the caps, and the
 * strict exposition checker itself (it must reject what is broken, or the
 * server tests that rely on it prove nothing). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promcheck.h"
#include "runtime/metrics.h"
#include "runtime/router.h"

static char *render(const struct qcc_metrics *m, size_t *len) {
  struct qcc_prom *w = NULL;
  cr_assert_eq(qcc_prom_new(0, &w, NULL), 0);
  qcc_metrics_render(m, w);
  bool cut = true;
  const char *t = qcc_prom_text(w, len, &cut);
  cr_assert_not(cut);
  char *copy = strndup(t, *len);
  qcc_prom_free(&w);
  cr_assert_null(w);
  return copy;
}

static void assert_valid(const char *text, size_t len) {
  char why[256];
  size_t n = 0;
  cr_assert_eq(promcheck(text, len, &n, why, sizeof why), 0, "%s\n---\n%s", why, text);
  cr_assert_gt(n, 0);
}

static void assert_invalid(const char *text, const char *what) {
  char why[256];
  cr_assert_neq(promcheck(text, strlen(text), NULL, why, sizeof why), 0,
                "checker accepted %s:\n%s", what, text);
}

/* ---- the checker --------------------------------------------------------- */

Test(a01_promcheck, accepts_the_spec_example) {
  const char *ok =
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
      "# A comment\n"
      "# TYPE msdos_file_access_time_seconds gauge\n"
      "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find "
      "file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
      "# TYPE h histogram\n"
      "h_bucket{le=\"0.05\"} 24054\n"
      "h_bucket{le=\"0.1\"} 33444\n"
      "h_bucket{le=\"+Inf\"} 144320\n"
      "h_sum 53423\n"
      "h_count 144320\n";
  /* the spec's example pads with several spaces; ours is strict: one space */
  assert_invalid(ok, "two spaces before a value");
  const char *strict =
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"} 3\n"
      "# TYPE h histogram\n"
      "h_bucket{le=\"0.05\"} 24054\n"
      "h_bucket{le=\"+Inf\"} 144320\n"
      "h_sum 53423\n"
      "h_count 144320\n";
  assert_valid(strict, strlen(strict));
}

Test(a01_promcheck, rejects_broken_text) {
  assert_invalid("# TYPE a counter\na 1", "no final newline");
  assert_invalid("a 1\n", "a sample without TYPE");
  assert_invalid("# TYPE a counter\na -1\n", "a negative counter");
  assert_invalid("# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", "a duplicate series");
  assert_invalid("# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"2\"} 1\n", "a split family");
  assert_invalid("# TYPE a gauge\na{x=1} 1\n", "an unquoted label");
  assert_invalid("# TYPE a gauge\na{x=\"\\t\"} 1\n", "a bad escape");
  assert_invalid("# TYPE a gauge\na{1x=\"a\"} 1\n", "a bad label name");
  assert_invalid("# TYPE a gauge\na{x=\"a\",x=\"b\"} 1\n", "a repeated label");
  assert_invalid("# TYPE a gauge\na one\n", "a bad value");
  assert_invalid("# TYPE a gauge\n# TYPE a gauge\na 1\n", "a second TYPE");
  assert_invalid("# TYPE a wibble\na 1\n", "an unknown type");
  assert_invalid("# TYPE 9a gauge\n9a 1\n", "a bad metric name");
  assert_invalid("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n", "no +Inf");
  assert_invalid("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                 "h_sum 1\nh_count 1\n",
                 "non-cumulative buckets");
  assert_invalid("# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
                 "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
                 "descending le");
  assert_invalid("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum 1\nh_count 2\n",
                 "_count != +Inf");
  assert_invalid("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_count 3\n", "no _sum");
}

/* ---- the builder --------------------------------------------------------- */

Test(a02_prom, escapes_label_values_and_help) {
  struct qcc_prom *w = NULL;
  cr_assert_eq(qcc_prom_new(0, &w, NULL), 0);
  qcc_prom_family(w, "x_total", QCC_PROM_COUNTER, "Help with a \\ and a\nnewline.");
  struct qcc_prom_label l = {"endpoint", "a\"b\\c\nd"};
  qcc_prom_sample(w, "x_total", &l, 1, 3);
  size_t len = 0;
  const char *t = qcc_prom_text(w, &len, NULL);
  cr_assert(strstr(t, "x_total{endpoint=\"a\\\"b\\\\c\\nd\"} 3\n") != NULL, "%s", t);
  cr_assert(strstr(t, "# HELP x_total Help with a \\\\ and a\\nnewline.\n") != NULL, "%s", t);
  assert_valid(t, len);
  qcc_prom_free(&w);
}

Test(a02_prom, cap_cuts_at_a_whole_line) {
  struct qcc_prom *w = NULL;
  cr_assert_eq(qcc_prom_new(200, &w, NULL), 0);
  qcc_prom_family(w, "g", QCC_PROM_GAUGE, "A gauge.");
  char v[32];
  for (int i = 0; i < 50; i++) {
    snprintf(v, sizeof v, "%d", i);
    struct qcc_prom_label l = {"i", v};
    qcc_prom_sample(w, "g", &l, 1, i);
  }
  size_t len = 0;
  bool cut = false;
  const char *t = qcc_prom_text(w, &len, &cut);
  cr_assert(cut);
  cr_assert_leq(len, 200);
  cr_assert_eq(t[len - 1], '\n');
  assert_valid(t, len);
  qcc_prom_free(&w);
}

Test(a02_prom, values) {
  struct qcc_prom *w = NULL;
  cr_assert_eq(qcc_prom_new(0, &w, NULL), 0);
  qcc_prom_family(w, "g", QCC_PROM_GAUGE, "g");
  struct qcc_prom_label a = {"k", "a"}, b = {"k", "b"}, c = {"k", "c"};
  qcc_prom_sample(w, "g", &a, 1, 0.25);
  qcc_prom_sample(w, "g", &b, 1, 1.0 / 0.0);
  qcc_prom_sample(w, "g", &c, 1, 12345678901.0);
  const char *t = qcc_prom_text(w, NULL, NULL);
  cr_assert(strstr(t, "g{k=\"a\"} 0.25\n") != NULL, "%s", t);
  cr_assert(strstr(t, "g{k=\"b\"} +Inf\n") != NULL, "%s", t);
  cr_assert(strstr(t, "g{k=\"c\"} 12345678901\n") != NULL, "%s", t);
  qcc_prom_free(&w);
}

/* ---- recorded metrics ---------------------------------------------------- */

Test(a03_metrics, requests_histograms_and_totals) {
  struct qcc_metrics *m = NULL;
  cr_assert_eq(qcc_metrics_new(&m, NULL), 0);
  qcc_metrics_request(m, "prod-1", 200, 420, 180, false);
  qcc_metrics_request(m, "prod-1", 200, 3000, 90, false);
  qcc_metrics_request(m, "prod-1", 503, 20, 15, true);
  qcc_metrics_request(m, NULL, 413, 1, -1, true);
  qcc_metrics_retry(m, "prod-2");
  struct qcc_route_event sw = {.kind = QCC_EV_SWITCH};
  struct qcc_route_event br = {.kind = QCC_EV_BREAKER};
  snprintf(br.to, sizeof br.to, "open");
  qcc_metrics_route_event(m, &sw);
  qcc_metrics_route_event(m, &br);
  qcc_metrics_reload(m, false, 0, 1700000001000, "checksum mismatch");

  struct qcc_metrics_totals t;
  qcc_metrics_totals(m, &t);
  cr_assert_eq(t.requests, 4);
  cr_assert_eq(t.failed, 2);
  cr_assert_eq(t.retries, 1);
  cr_assert_eq(t.failovers, 1);
  cr_assert_eq(t.breaker_opens, 1);
  cr_assert_eq(t.reloads_failed, 1);
  cr_assert_not(t.last_reload_ok);
  cr_assert_str_eq(t.last_reload_error, "checksum mismatch");

  size_t len = 0;
  char *text = render(m, &len);
  assert_valid(text, len);
  cr_assert(strstr(text, "qcc_requests_total{endpoint=\"prod-1\",status=\"200\"} 2\n") != NULL,
            "%s", text);
  cr_assert(strstr(text, "qcc_requests_total{endpoint=\"prod-1\",status=\"503\"} 1\n") != NULL);
  cr_assert(strstr(text, "qcc_requests_total{endpoint=\"" QCC_METRICS_NONE "\",status=\"413\"} 1\n") != NULL);
  /* 0.42 s and 3 s and 0.02 s: two at or below 0.5, all three at or below 5 */
  cr_assert(strstr(text, "qcc_request_duration_seconds_bucket{endpoint=\"prod-1\",le=\"0.5\"} 2\n") != NULL, "%s", text);
  cr_assert(strstr(text, "qcc_request_duration_seconds_bucket{endpoint=\"prod-1\",le=\"5\"} 3\n") != NULL);
  cr_assert(strstr(text, "qcc_request_duration_seconds_count{endpoint=\"prod-1\"} 3\n") != NULL);
  cr_assert(strstr(text, "qcc_upstream_ttfb_seconds_count{endpoint=\"" QCC_METRICS_NONE "\"} 0\n") != NULL);
  cr_assert(strstr(text, "qcc_retries_total{endpoint=\"prod-2\"} 1\n") != NULL);
  cr_assert(strstr(text, "qcc_failovers_total 1\n") != NULL);
  cr_assert(strstr(text, "qcc_breaker_transitions_total{state=\"open\"} 1\n") != NULL);
  cr_assert(strstr(text, "qcc_table_reloads_total{result=\"rejected\"} 1\n") != NULL);
  cr_assert(strstr(text, "qcc_table_last_reload_success 0\n") != NULL);
  free(text);
  qcc_metrics_free(&m);
  cr_assert_null(m);
}

Test(a03_metrics, endpoint_and_status_caps_fold_into_other) {
  struct qcc_metrics *m = NULL;
  cr_assert_eq(qcc_metrics_new(&m, NULL), 0);
  char id[32];
  for (int i = 0; i < QCC_METRICS_MAX_ENDPOINTS + 10; i++) {
    snprintf(id, sizeof id, "ep-%d", i);
    qcc_metrics_request(m, id, 200, 10, 5, false);
  }
  for (int s = 0; s < QCC_METRICS_MAX_STATUS + 4; s++)
    qcc_metrics_request(m, "ep-0", 200 + s, 10, 5, false);
  size_t len = 0;
  char *text = render(m, &len);
  assert_valid(text, len);
  cr_assert(strstr(text, "qcc_requests_total{endpoint=\"_other\",status=\"200\"} 10\n") != NULL,
            "the 10 endpoints over the cap are folded");
  snprintf(id, sizeof id, "endpoint=\"ep-%d\"", QCC_METRICS_MAX_ENDPOINTS);
  cr_assert_null(strstr(text, id), "no series beyond the cap");
  /* ep-0 has 200 (x2) and 201..215 = 16 codes; the 4 beyond are "other" */
  cr_assert(strstr(text, "qcc_requests_total{endpoint=\"ep-0\",status=\"other\"} 4\n") != NULL,
            "%.2000s", text);
  free(text);
  qcc_metrics_free(&m);
}

Test(a03_metrics, refused_connections_are_counted) {
  struct qcc_metrics *m = NULL;
  cr_assert_eq(qcc_metrics_new(&m, NULL), 0);
  size_t len = 0;
  char *text = render(m, &len);
  cr_assert_not_null(strstr(text, "\nqcc_connections_refused_total 0\n"), "%s", text);
  free(text);
  for (int i = 0; i < 3; i++) qcc_metrics_connection_refused(m);
  text = render(m, &len);
  assert_valid(text, len);
  cr_assert_not_null(strstr(text, "# TYPE qcc_connections_refused_total counter\n"));
  cr_assert_not_null(strstr(text, "\nqcc_connections_refused_total 3\n"), "%s", text);
  free(text);
  struct qcc_metrics_totals t;
  qcc_metrics_totals(m, &t);
  cr_assert_eq(t.connections_refused, 3);
  qcc_metrics_free(&m);
}

/* Every family the registry renders has a row in docs/admin-api.md. */
Test(a03_metrics, every_recorded_family_is_documented) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root);
  char path[512];
  snprintf(path, sizeof path, "%s/docs/admin-api.md", root);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s missing", path);
  char *doc = calloc(1, 1 << 20);
  size_t dlen = fread(doc, 1, (1 << 20) - 1, f);
  fclose(f);
  doc[dlen] = '\0';
  struct qcc_metrics *m = NULL;
  cr_assert_eq(qcc_metrics_new(&m, NULL), 0);
  size_t len = 0;
  char *text = render(m, &len);
  size_t families = 0;
  for (const char *p = strstr(text, "# TYPE "); p != NULL; p = strstr(p + 1, "# TYPE ")) {
    const char *name = p + 7, *sp = strchr(name, ' ');
    cr_assert_not_null(sp);
    char want[128];
    snprintf(want, sizeof want, "`%.*s`", (int)(sp - name), name);
    cr_assert_not_null(strstr(doc, want), "docs/admin-api.md lacks %s", want);
    families++;
  }
  cr_assert_geq(families, 10);
  free(text);
  free(doc);
  qcc_metrics_free(&m);
}

Test(a03_metrics, empty_registry_is_valid) {
  struct qcc_metrics *m = NULL;
  cr_assert_eq(qcc_metrics_new(&m, NULL), 0);
  size_t len = 0;
  char *text = render(m, &len);
  assert_valid(text, len);
  cr_assert(strstr(text, "qcc_table_last_reload_success 1\n") != NULL);
  free(text);
  qcc_metrics_free(&m);
}

/* The status page's per-endpoint numbers (qcc_metrics_endpoint): counts, and
 * first-byte quantiles as the upper bound of the bucket that holds them. */
Test(metrics, endpoint_quantiles_for_the_status_page) {
  struct qcc_metrics *m = NULL;
  cr_assert_eq(qcc_metrics_new(&m, NULL), 0);
  struct qcc_metrics_endpoint e;
  cr_assert_not(qcc_metrics_endpoint(m, "a", &e), "no request yet");
  cr_assert_eq(e.ttfb_p50_ms, -1.0);
  for (int i = 0; i < 98; i++) qcc_metrics_request(m, "a", 200, 100, 40, false); /* <= 50 ms */
  qcc_metrics_request(m, "a", 200, 900, 800, false);                           /* <= 1 s */
  qcc_metrics_request(m, "a", 529, 30, -1, true);                              /* no first byte */
  qcc_metrics_request(m, "b", 200, 10, 3, false);
  cr_assert(qcc_metrics_endpoint(m, "a", &e));
  cr_assert_eq(e.requests, 100);
  cr_assert_eq(e.failed, 1);
  cr_assert_float_eq(e.ttfb_p50_ms, 50.0, 1e-9);
  cr_assert_float_eq(e.ttfb_p99_ms, 1000.0, 1e-9, "the 99th of 99 samples is the slow one");
  cr_assert(qcc_metrics_endpoint(m, "b", &e));
  cr_assert_float_eq(e.ttfb_p99_ms, 5.0, 1e-9);
  qcc_metrics_free(&m);
}

/* qcc_cost_usd_total: the priced cost by endpoint and upstream model, in
 * USD; a model that was never priced has no series (a 0 would read as free). */
#include "schema/usage.h"

Test(a03_metrics, cost_by_endpoint_and_model_priced_only) {
  struct qcc_metrics *m = NULL;
  cr_assert_eq(qcc_metrics_new(&m, NULL), 0);
  struct qcc_usage_tokens t = {100, 20, 0, 0, 0};
  qcc_metrics_tokens(m, "ep-a", "claude-x", &t);
  qcc_metrics_cost(m, "ep-a", "claude-x", UINT64_C(1500000000000)); /* 1.5 USD */
  qcc_metrics_cost(m, "ep-a", "claude-x", UINT64_C(250000000000));  /* 0.25 */
  qcc_metrics_tokens(m, "ep-a", "glm-free", &t);                  /* unpriced */
  qcc_metrics_cost(m, "ep-b", "claude-x", 0);                       /* priced at 0: free */
  size_t len = 0;
  char *text = render(m, &len);
  assert_valid(text, len);
  cr_assert_not_null(strstr(text, "# TYPE qcc_cost_usd_total counter\n"), "%s", text);
  cr_assert_not_null(strstr(text, "qcc_cost_usd_total{endpoint=\"ep-a\",model=\"claude-x\"} 1.75\n"),
                     "%s", text);
  cr_assert_not_null(strstr(text, "qcc_cost_usd_total{endpoint=\"ep-b\",model=\"claude-x\"} 0\n"),
                     "%s", text);
  cr_assert_null(strstr(text, "qcc_cost_usd_total{endpoint=\"ep-a\",model=\"glm-free\"}"), "%s",
                 text);
  cr_assert_not_null(strstr(text, "qcc_tokens_total{endpoint=\"ep-a\",model=\"glm-free\",kind=\"input\"} 100\n"));
  free(text);
  qcc_metrics_free(&m);
}
