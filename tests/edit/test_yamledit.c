/* yamledit: in-place, comment-preserving edits of YAML text. Each test
 * states the exact text an edit must produce, so any change to untouched
 * bytes (comments, spacing, order) fails it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/yamledit.h"

static struct qcc_yamldoc *parse(const char *text) {
  struct qcc_yamldoc *d = NULL;
  struct qcc_err e = {0};
  int rc = qcc_yamldoc_parse(text, strlen(text), &d, &e);
  cr_assert_eq(rc, 0, "parse failed: %s", e.msg);
  return d;
}

static void expect_text(struct qcc_yamldoc *d, const char *want) {
  size_t len;
  const char *got = qcc_yamldoc_text(d, &len);
  cr_assert_eq(len, strlen(want), "length %zu != %zu; got:\n%s", len, strlen(want), got);
  cr_assert_str_eq(got, want);
}

#define P(...) ((const char *const[]){__VA_ARGS__})
#define N(...) (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static int set(struct qcc_yamldoc *d, const char *const *p, size_t n, const char *v) {
  struct qcc_err e = {0};
  return qcc_yamldoc_set(d, p, n, v, &e);
}

Test(edit_yaml, a_set_existing_scalar_keeps_comment) {
  struct qcc_yamldoc *d = parse("# top\nproxy:\n  port: 7860   # the port\n  host: x\n");
  cr_assert_eq(set(d, P("proxy", "port"), 2, "8080"), 0);
  expect_text(d, "# top\nproxy:\n  port: 8080   # the port\n  host: x\n");
  qcc_yamldoc_free(&d);
  cr_assert_null(d);
}

Test(edit_yaml, a_get_scalar_and_kinds) {
  struct qcc_yamldoc *d = parse("a:\n  b: hello\nl: [1, 2]\n");
  char *v = NULL;
  cr_assert_eq(qcc_yamldoc_get(d, P("a", "b"), 2, &v), QCC_YNODE_SCALAR);
  cr_assert_str_eq(v, "hello");
  free(v);
  cr_assert_eq(qcc_yamldoc_get(d, P("a"), 1, NULL), QCC_YNODE_MAP);
  cr_assert_eq(qcc_yamldoc_get(d, P("l"), 1, NULL), QCC_YNODE_SEQ);
  cr_assert_eq(qcc_yamldoc_get(d, P("a", "zz"), 2, NULL), QCC_YNODE_NONE);
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, b_set_creates_missing_key_at_end_of_mapping) {
  struct qcc_yamldoc *d = parse("proxy:\n  port: 1\n# trailer\nother: 2\n");
  cr_assert_eq(set(d, P("proxy", "host"), 2, "0.0.0.0"), 0);
  expect_text(d, "proxy:\n  port: 1\n  host: 0.0.0.0\n# trailer\nother: 2\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, b_set_creates_missing_section) {
  struct qcc_yamldoc *d = parse("version: 1\n");
  cr_assert_eq(set(d, P("health", "timeout"), 2, "5s"), 0);
  expect_text(d, "version: 1\nhealth:\n  timeout: 5s\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, b_set_without_trailing_newline) {
  struct qcc_yamldoc *d = parse("a: 1");
  cr_assert_eq(set(d, P("b"), 1, "2"), 0);
  expect_text(d, "a: 1\nb: 2\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, b_set_in_empty_document) {
  struct qcc_yamldoc *d = parse("# only a comment\n");
  cr_assert_eq(set(d, P("proxy", "port"), 2, "1"), 0);
  expect_text(d, "# only a comment\nproxy:\n  port: 1\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, b_set_under_null_value) {
  struct qcc_yamldoc *d = parse("proxy:   # later\nx: 1\n");
  cr_assert_eq(set(d, P("proxy", "port"), 2, "9"), 0);
  expect_text(d, "proxy:   # later\n  port: 9\nx: 1\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, b_set_null_scalar_value) {
  struct qcc_yamldoc *d = parse("a:\nb: 1\n");
  cr_assert_eq(set(d, P("a"), 1, "x"), 0);
  expect_text(d, "a: x\nb: 1\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, b_set_in_flow_mapping) {
  struct qcc_yamldoc *d = parse("lb: { strategy: weighted }  # c\n");
  cr_assert_eq(set(d, P("lb", "sticky"), 2, "true"), 0);
  expect_text(d, "lb: { strategy: weighted, sticky: true }  # c\n");
  cr_assert_eq(set(d, P("lb", "strategy"), 2, "failover"), 0);
  expect_text(d, "lb: { strategy: failover, sticky: true }  # c\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, c_sequence_items_by_name_and_id) {
  const char *text = "profiles:\n"
                     "  - name: a\n"
                     "    endpoints:\n"
                     "      - id: e1\n"
                     "        weight: 1\n"
                     "      - id: e2   # second\n"
                     "        weight: 2\n";
  struct qcc_yamldoc *d = parse(text);
  cr_assert_eq(set(d, P("profiles", "a", "endpoints", "e2", "weight"), 5, "7"), 0);
  cr_assert(strstr(qcc_yamldoc_text(d, NULL), "      - id: e2   # second\n        weight: 7\n"));
  cr_assert_eq(set(d, P("profiles", "a", "endpoints", "e1", "timeout"), 5, "5s"), 0);
  cr_assert(
      strstr(qcc_yamldoc_text(d, NULL), "        weight: 1\n        timeout: 5s\n      - id: e2"));
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_set(d, P("profiles", "zz", "priority"), 3, "primary", &e), -1);
  cr_assert(strstr(e.msg, "zz"), "message names the missing item: %s", e.msg);
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, c_items_lists_names) {
  struct qcc_yamldoc *d = parse("profiles:\n  - name: a\n  - name: b\ngroups: [x, y]\n");
  const char *names[4];
  cr_assert_eq(qcc_yamldoc_items(d, P("profiles"), 1, "name", names, 4), 2);
  cr_assert_str_eq(names[0], "a");
  cr_assert_str_eq(names[1], "b");
  cr_assert_eq(qcc_yamldoc_items(d, P("groups"), 1, "name", names, 4), 2);
  cr_assert_str_eq(names[1], "y");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, d_remove_key_lines_and_comment) {
  struct qcc_yamldoc *d = parse("a:\n  b: 1  # gone with b\n  # stays\n  c: 2\nd: 3\n");
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_remove(d, P("a", "b"), 2, &e), 0, "%s", e.msg);
  expect_text(d, "a:\n  # stays\n  c: 2\nd: 3\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, d_remove_last_key_removes_section) {
  struct qcc_yamldoc *d = parse("x: 1\nsec:\n  only: 2\ny: 3\n");
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_remove(d, P("sec", "only"), 2, &e), 0, "%s", e.msg);
  expect_text(d, "x: 1\ny: 3\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, d_remove_first_key_of_item) {
  struct qcc_yamldoc *d = parse("l:\n  - a: 1\n    b: 2\n");
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_remove(d, P("l", "0", "a"), 3, &e), 0, "%s", e.msg);
  expect_text(d, "l:\n  - b: 2\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, d_remove_item_and_last_item) {
  struct qcc_yamldoc *d = parse("eps:\n  - id: a\n    w: 1\n  - id: b\nz: 1\n");
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_remove(d, P("eps", "a"), 2, &e), 0, "%s", e.msg);
  expect_text(d, "eps:\n  - id: b\nz: 1\n");
  cr_assert_eq(qcc_yamldoc_remove(d, P("eps", "b"), 2, &e), 0, "%s", e.msg);
  expect_text(d, "eps: []\nz: 1\n");
  cr_assert_eq(qcc_yamldoc_remove(d, P("eps", "b"), 2, &e), -1);
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, d_remove_in_flow) {
  struct qcc_yamldoc *d = parse("m: {a: 1, b: 2, c: 3}\nl: [x, y]\n");
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_remove(d, P("m", "b"), 2, &e), 0, "%s", e.msg);
  expect_text(d, "m: {a: 1, c: 3}\nl: [x, y]\n");
  cr_assert_eq(qcc_yamldoc_remove(d, P("m", "a"), 2, &e), 0, "%s", e.msg);
  expect_text(d, "m: {c: 3}\nl: [x, y]\n");
  cr_assert_eq(qcc_yamldoc_remove(d, P("l", "y"), 2, &e), 0, "%s", e.msg);
  expect_text(d, "m: {c: 3}\nl: [x]\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, e_append_to_block_sequence) {
  struct qcc_yamldoc *d = parse("eps:\n  - id: a   # first\n\n# after\n");
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_append(d, P("eps"), 1, "id: b\nm:\n  x: y\n", &e), 0, "%s", e.msg);
  expect_text(d, "eps:\n  - id: a   # first\n  - id: b\n    m:\n      x: y\n\n# after\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, e_append_to_indentless_and_empty_sequences) {
  struct qcc_yamldoc *d = parse("a:\n- 1\nb: []   # none yet\nc:\n");
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_append(d, P("a"), 1, "2", &e), 0, "%s", e.msg);
  expect_text(d, "a:\n- 1\n- 2\nb: []   # none yet\nc:\n");
  cr_assert_eq(qcc_yamldoc_append(d, P("b"), 1, "id: x", &e), 0, "%s", e.msg);
  expect_text(d, "a:\n- 1\n- 2\nb:\n  - id: x   # none yet\nc:\n");
  cr_assert_eq(qcc_yamldoc_append(d, P("c"), 1, "v", &e), 0, "%s", e.msg);
  expect_text(d, "a:\n- 1\n- 2\nb:\n  - id: x   # none yet\nc:\n  - v\n");
  cr_assert_eq(qcc_yamldoc_append(d, P("new"), 1, "k: 1", &e), 0, "%s", e.msg);
  expect_text(d, "a:\n- 1\n- 2\nb:\n  - id: x   # none yet\nc:\n  - v\nnew:\n  - k: 1\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, f_errors_leave_text_alone) {
  const char *text = "a: 1\nl: [1, 2]\nm:\n  k: v\n";
  struct qcc_yamldoc *d = parse(text);
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_set(d, P("m"), 1, "x", &e), -1);       /* a mapping */
  cr_assert_eq(qcc_yamldoc_set(d, P("a", "b"), 2, "x", &e), -1);  /* under a scalar */
  cr_assert_eq(qcc_yamldoc_append(d, P("a"), 1, "3", &e), -1);    /* not a list */
  expect_text(d, text);
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, f_syntax_error_reports_position) {
  struct qcc_yamldoc *d = NULL;
  struct qcc_err e = {0};
  const char *bad = "a: 1\nb: [unclosed\n";
  cr_assert_eq(qcc_yamldoc_parse(bad, strlen(bad), &d, &e), -1);
  cr_assert_null(d);
  cr_assert(strchr(e.msg, ':') != NULL, "message has LINE:COL: %s", e.msg);
}

Test(edit_yaml, g_scalar_quoting) {
  char *s;
  s = qcc_yaml_scalar("https://api.anthropic.com", true);
  cr_assert_str_eq(s, "https://api.anthropic.com");
  free(s);
  s = qcc_yaml_scalar("true", true);
  cr_assert_str_eq(s, "\"true\"");
  free(s);
  s = qcc_yaml_scalar("true", false);
  cr_assert_str_eq(s, "true");
  free(s);
  s = qcc_yaml_scalar("8080", true);
  cr_assert_str_eq(s, "\"8080\"");
  free(s);
  s = qcc_yaml_scalar("a: b # c", true);
  cr_assert_str_eq(s, "\"a: b # c\"");
  free(s);
  s = qcc_yaml_scalar("say \"hi\"\n", true);
  cr_assert_str_eq(s, "\"say \\\"hi\\\"\\n\"");
  free(s);
  s = qcc_yaml_scalar("", true);
  cr_assert_str_eq(s, "\"\"");
  free(s);
}

Test(edit_yaml, g_quoted_value_reads_back) {
  const char *vals[] = {"a: b", "#x", "[1]", "{a}", "- x", "yes", "tab\there", "é ü"};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    struct qcc_yamldoc *d = parse("k: 0\n");
    char *s = qcc_yaml_scalar(vals[i], true);
    cr_assert_eq(set(d, P("k"), 1, s), 0, "set %s", s);
    free(s);
    char *v = NULL;
    cr_assert_eq(qcc_yamldoc_get(d, P("k"), 1, &v), QCC_YNODE_SCALAR);
    cr_assert_str_eq(v, vals[i]);
    free(v);
    qcc_yamldoc_free(&d);
  }
}

Test(edit_yaml, g_path_split) {
  char buf[64];
  const char *segs[8];
  cr_assert_eq(qcc_path_split("profiles.p.endpoints.e-1.weight", buf, sizeof buf, segs, 8), 5);
  cr_assert_str_eq(segs[3], "e-1");
  cr_assert_eq(qcc_path_split("a..b", buf, sizeof buf, segs, 8), 0);
  cr_assert_eq(qcc_path_split("", buf, sizeof buf, segs, 8), 0);
  cr_assert_eq(qcc_path_split("a.b.c", buf, sizeof buf, segs, 2), 0);
}

/* Every cut and a sweep of byte flips of the test config: parsing either
 * fails with a message or succeeds, and every edit that succeeds leaves
 * text that parses again. Never a crash (run under ASan in CI). */
static void try_edits(const char *text, size_t len) {
  struct qcc_yamldoc *d = NULL;
  struct qcc_err e = {0};
  if (qcc_yamldoc_parse(text, len, &d, &e) != 0) {
    cr_assert_null(d);
    cr_assert_neq(e.msg[0], '\0');
    return;
  }
  const char *const paths[][5] = {
      {"proxy", "port"},      {"profiles", "production", "endpoints", "prod-2", "weight"},
      {"profiles", "backup"}, {"loadbalancer", "sticky"},
      {"health", "timeout"},
  };
  const size_t lens[] = {2, 5, 2, 2, 2};
  for (size_t i = 0; i < 5; i++) {
    const char *const *p = paths[i];
    if (qcc_yamldoc_set(d, p, lens[i], "7", &e) == 0) {
      size_t n;
      const char *t = qcc_yamldoc_text(d, &n);
      struct qcc_yamldoc *again = NULL;
      cr_assert_eq(qcc_yamldoc_parse(t, n, &again, &e), 0, "set made unparsable text: %s", e.msg);
      qcc_yamldoc_free(&again);
    }
    if (qcc_yamldoc_remove(d, p, lens[i], &e) == 0) {
      size_t n;
      const char *t = qcc_yamldoc_text(d, &n);
      struct qcc_yamldoc *again = NULL;
      cr_assert_eq(qcc_yamldoc_parse(t, n, &again, &e), 0, "remove made unparsable text: %s",
                   e.msg);
      qcc_yamldoc_free(&again);
    }
  }
  const char *const eps[] = {"profiles", "production", "endpoints"};
  qcc_yamldoc_append(d, eps, 3, "id: z\nweight: 1\n", &e);
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, h_cut_and_flip_never_crash) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root);
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/edit/base.yaml", root);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  char buf[8192];
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  for (size_t cut = 0; cut <= len; cut++)
    try_edits(buf, cut);
  const char flips[] = {'\0', ':', '-', '[', '{', '"', '\'', '\n', ' ', '#', '&', '*', '\t'};
  for (size_t i = 0; i < len; i += 3) {
    char copy[8192];
    memcpy(copy, buf, len);
    copy[i] = flips[i % sizeof flips];
    try_edits(copy, len);
  }
}

Test(edit_yaml, e_append_scalar_to_flow_list) {
  struct qcc_yamldoc *d = parse("groups:\n  primary: [prod, \"b\"]  # c\n");
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_append(d, P("groups", "primary"), 2, "new", &e), 0, "%s", e.msg);
  expect_text(d, "groups:\n  primary: [prod, \"b\", new]  # c\n");
  cr_assert_eq(qcc_yamldoc_remove(d, P("groups", "primary", "prod"), 3, &e), 0, "%s", e.msg);
  expect_text(d, "groups:\n  primary: [\"b\", new]  # c\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, i_crlf_file_stays_crlf) {
  struct qcc_yamldoc *d = parse("proxy:\r\n  port: 1\r\nnul:\r\neps:\r\n  - id: a\r\n");
  struct qcc_err e = {0};
  cr_assert_eq(set(d, P("proxy", "host"), 2, "h"), 0);
  cr_assert_eq(set(d, P("nul", "k"), 2, "v"), 0);
  cr_assert_eq(qcc_yamldoc_append(d, P("eps"), 1, "id: b\nw: 2\n", &e), 0, "%s", e.msg);
  expect_text(d, "proxy:\r\n  port: 1\r\n  host: h\r\nnul:\r\n  k: v\r\neps:\r\n"
                 "  - id: a\r\n  - id: b\r\n    w: 2\r\n");
  cr_assert_eq(qcc_yamldoc_remove(d, P("eps", "a"), 2, &e), 0, "%s", e.msg);
  expect_text(d, "proxy:\r\n  port: 1\r\n  host: h\r\nnul:\r\n  k: v\r\neps:\r\n"
                 "  - id: b\r\n    w: 2\r\n");
  qcc_yamldoc_free(&d);
}
