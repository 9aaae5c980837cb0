/* yamledit: in-place, comment-preserving edits of YAML text. Each test
 * states the exact text an edit must produce, so any change to untouched
 * bytes (comments, spacing, order) fails it. */
#include <criterion/criterion.h>
#include <errno.h>
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
  cr_assert_eq(qcc_yamldoc_set(d, P("m"), 1, "x", &e), -1);      /* a mapping */
  cr_assert_eq(qcc_yamldoc_set(d, P("a", "b"), 2, "x", &e), -1); /* under a scalar */
  cr_assert_eq(qcc_yamldoc_append(d, P("a"), 1, "3", &e), -1);   /* not a list */
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

/* base.yaml, and the plan's JSON with its Chinese text (cuts and flips
 * land inside multi-byte characters too). */
Test(edit_yaml, h_cut_and_flip_never_crash) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root);
  const char *files[] = {"tests/edit/base.yaml", "tests/configs/good/plan-example.json"};
  for (size_t fi = 0; fi < sizeof files / sizeof files[0]; fi++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, files[fi]);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    char buf[8192];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    for (size_t cut = 0; cut <= len; cut++)
      try_edits(buf, cut);
    const char flips[] = {'\0', ':', '-', '[', '{', '"', '\'', '\n', ' ', '#', '&', '*', '\t', ','};
    for (size_t i = 0; i < len; i += 3) {
      char copy[8192];
      memcpy(copy, buf, len);
      copy[i] = flips[i % sizeof flips];
      try_edits(copy, len);
    }
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

/* ---- UTF-8 and JSON (issue 13) ---- */

static struct qcc_err last_err;
static int rm(struct qcc_yamldoc *d, const char *const *p, size_t n) {
  memset(&last_err, 0, sizeof last_err);
  return qcc_yamldoc_remove(d, p, n, &last_err);
}
static int app(struct qcc_yamldoc *d, const char *const *p, size_t n, const char *item) {
  memset(&last_err, 0, sizeof last_err);
  return qcc_yamldoc_append(d, p, n, item, &last_err);
}
static int set_e(struct qcc_yamldoc *d, const char *const *p, size_t n, const char *v) {
  memset(&last_err, 0, sizeof last_err);
  return qcc_yamldoc_set(d, p, n, v, &last_err);
}

Test(edit_yaml, j_cjk_and_emoji_before_the_edit) {
  /* libyaml counts characters: 备份 is 2 marks and 6 bytes, 🚀 1 mark, 4 bytes */
  struct qcc_yamldoc *d = parse("# 备份配置 🚀\nproxy:\n  host: 主机 # 说明\n  port: 7860\n");
  cr_assert_eq(set_e(d, P("proxy", "port"), 2, "7861"), 0, "%s", last_err.msg);
  expect_text(d, "# 备份配置 🚀\nproxy:\n  host: 主机 # 说明\n  port: 7861\n");
  cr_assert_eq(set_e(d, P("proxy", "host"), 2, "\"服务器 😀\""), 0, "%s", last_err.msg);
  expect_text(d, "# 备份配置 🚀\nproxy:\n  host: \"服务器 😀\" # 说明\n  port: 7861\n");
  cr_assert_eq(set_e(d, P("proxy", "描述"), 2, "中文"), 0, "%s", last_err.msg);
  expect_text(d, "# 备份配置 🚀\nproxy:\n  host: \"服务器 😀\" # 说明\n  port: 7861\n  描述: 中文\n");
  cr_assert_eq(qcc_yamldoc_line(d, P("proxy", "描述"), 2), 5);
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, j_byte_order_mark) {
  struct qcc_yamldoc *d = parse("\xEF\xBB\xBFversion: 1\nname: 名\n");
  cr_assert_eq(set_e(d, P("name"), 1, "新"), 0, "%s", last_err.msg);
  cr_assert_eq(set_e(d, P("port"), 1, "1"), 0, "%s", last_err.msg);
  expect_text(d, "\xEF\xBB\xBFversion: 1\nname: 新\nport: 1\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, j_utf16_is_refused) {
  struct qcc_yamldoc *d = NULL;
  struct qcc_err e = {0};
  cr_assert_eq(qcc_yamldoc_parse("\xFF\xFEv\0:\0", 6, &d, &e), -1);
  cr_assert(strstr(e.msg, "UTF-16"), "%s", e.msg);
}

static const char *const plan_json = "{\n"
                                     "  \"proxy\": {\n"
                                     "    \"host\": \"127.0.0.1\",\n"
                                     "    \"port\": 7860\n"
                                     "  },\n"
                                     "  \"profiles\": [\n"
                                     "    {\n"
                                     "      \"name\": \"backup\",\n"
                                     "      \"description\": \"备份配置\",\n"
                                     "      \"endpoints\": []\n"
                                     "    }\n"
                                     "  ]\n"
                                     "}\n";

Test(edit_yaml, k_json_set_keeps_json) {
  struct qcc_yamldoc *d = parse(plan_json);
  cr_assert_eq(set_e(d, P("proxy", "port"), 2, "7861"), 0, "%s", last_err.msg);
  cr_assert(strstr(qcc_yamldoc_text(d, NULL), "\"host\": \"127.0.0.1\",\n    \"port\": 7861\n"));
  cr_assert_eq(set_e(d, P("proxy", "host"), 2, "localhost"), 0, "%s", last_err.msg);
  cr_assert(strstr(qcc_yamldoc_text(d, NULL), "\"host\": \"localhost\","), "plain -> JSON string");
  cr_assert_eq(set_e(d, P("proxy", "timeout"), 2, "5s"), 0, "%s", last_err.msg);
  cr_assert(
      strstr(qcc_yamldoc_text(d, NULL), "    \"port\": 7861,\n    \"timeout\": \"5s\"\n  },\n"),
      "%s", qcc_yamldoc_text(d, NULL));
  cr_assert_eq(set_e(d, P("health", "check", "every"), 3, "60"), 0, "%s", last_err.msg);
  cr_assert(strstr(qcc_yamldoc_text(d, NULL),
                   "  ],\n  \"health\": {\n    \"check\": {\n      \"every\": 60\n    }\n  }\n}\n"),
            "%s", qcc_yamldoc_text(d, NULL));
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, k_json_append_and_remove) {
  struct qcc_yamldoc *d = parse(plan_json);
  cr_assert_eq(app(d, P("profiles", "backup", "endpoints"), 3, "id: b1\nweight: 5\n"), 0, "%s",
               last_err.msg);
  cr_assert(strstr(qcc_yamldoc_text(d, NULL), "      \"endpoints\": [\n"
                                              "        {\n"
                                              "          \"id\": \"b1\",\n"
                                              "          \"weight\": 5\n"
                                              "        }\n"
                                              "      ]\n"),
            "%s", qcc_yamldoc_text(d, NULL));
  cr_assert_eq(app(d, P("profiles"), 1, "name: 新\nendpoints: []\n"), 0, "%s", last_err.msg);
  cr_assert(strstr(qcc_yamldoc_text(d, NULL), "    },\n"
                                              "    {\n"
                                              "      \"name\": \"新\",\n"
                                              "      \"endpoints\": []\n"
                                              "    }\n"
                                              "  ]\n"),
            "%s", qcc_yamldoc_text(d, NULL));
  cr_assert_eq(rm(d, P("profiles", "新"), 2), 0, "%s", last_err.msg);
  cr_assert_eq(rm(d, P("profiles", "backup", "endpoints", "b1"), 4), 0, "%s", last_err.msg);
  cr_assert_eq(rm(d, P("proxy", "port"), 2), 0, "%s", last_err.msg);
  /* back where it started, but for the port and the emptied list */
  expect_text(d, "{\n"
                 "  \"proxy\": {\n"
                 "    \"host\": \"127.0.0.1\"\n"
                 "  },\n"
                 "  \"profiles\": [\n"
                 "    {\n"
                 "      \"name\": \"backup\",\n"
                 "      \"description\": \"备份配置\",\n"
                 "      \"endpoints\": []\n"
                 "    }\n"
                 "  ]\n"
                 "}\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, k_flow_comments_and_trailing_commas) {
  struct qcc_yamldoc *d = parse("m: {\n  a: 1,  # 一\n  b: 2,  # 二\n}\nl: [x, y,]\n");
  cr_assert_eq(set_e(d, P("m", "c"), 2, "3"), 0, "%s", last_err.msg);
  expect_text(d, "m: {\n  a: 1,  # 一\n  b: 2,  # 二\n  c: 3,\n}\nl: [x, y,]\n");
  cr_assert_eq(app(d, P("l"), 1, "z"), 0, "%s", last_err.msg);
  expect_text(d, "m: {\n  a: 1,  # 一\n  b: 2,  # 二\n  c: 3,\n}\nl: [x, y, z,]\n");
  cr_assert_eq(rm(d, P("m", "b"), 2), 0, "%s", last_err.msg);
  expect_text(d, "m: {\n  a: 1,  # 一\n  c: 3,\n}\nl: [x, y, z,]\n");
  qcc_yamldoc_free(&d);
  d = parse("m: {\n  a: 1,  # 一\n  b: 2   # 二\n}\n");
  cr_assert_eq(rm(d, P("m", "b"), 2), 0, "%s", last_err.msg);
  expect_text(d, "m: {\n  a: 1  # 一\n}\n");
  cr_assert_eq(set_e(d, P("m", "z"), 2, "9"), 0, "%s", last_err.msg);
  expect_text(d, "m: {\n  a: 1,  # 一\n  z: 9\n}\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, k_flow_map_appended_to_one_line_list) {
  struct qcc_yamldoc *d = parse("l: [1, 2]  # 列表\n");
  cr_assert_eq(app(d, P("l"), 1, "k: 3\nn: \"a, b\"\n"), 0, "%s", last_err.msg);
  expect_text(d, "l: [1, 2, {k: 3, n: \"a, b\"}]  # 列表\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, l_refusals_name_the_place_and_change_nothing) {
  const char *text =
      "a: &x\n  k: 1\nb: *x\nc: !!str 5\nd: | # 注\n  多行\n  文本\nf: {g: 1, # 注\n  h: 2}\n";
  struct qcc_yamldoc *d = parse(text);
  cr_assert_eq(set_e(d, P("a", "k"), 2, "2"), -1);
  cr_assert(strstr(last_err.msg, "1:4:") && strstr(last_err.msg, "&x"), "%s", last_err.msg);
  cr_assert_eq(set_e(d, P("b", "k"), 2, "2"), -1);
  cr_assert(strstr(last_err.msg, "3:4:") && strstr(last_err.msg, "alias"), "%s", last_err.msg);
  cr_assert_eq(rm(d, P("a"), 1), -1, "removing an anchored value orphans its aliases");
  cr_assert_eq(set_e(d, P("c"), 1, "6"), -1);
  cr_assert(strstr(last_err.msg, "tag"), "%s", last_err.msg);

  cr_assert_eq(set_e(d, P("d"), 1, "x"), -1, "the comment on the | line would be lost");
  cr_assert(strstr(last_err.msg, "5:4:") && strstr(last_err.msg, "block scalar"), "%s",
            last_err.msg);
  cr_assert_eq(rm(d, P("f", "h"), 2), -1, "a comment between inline entries would be lost");
  cr_assert(strstr(last_err.msg, "comment"), "%s", last_err.msg);
  expect_text(d, text);
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, m_scalars_that_need_escapes) {
  /* NEL, LS/PS would be line breaks and U+FEFF is not printable for libyaml */
  const char *vals[] = {"a\xC2\x85"
                        "b",
                        "x\xE2\x80\xA8y",
                        "\xEF\xBB\xBFz",
                        "ctl\x01",
                        "中文: 冒号",
                        "# 注释",
                        "🚀"};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    struct qcc_yamldoc *d = parse("m: {k: 0}\nb: 0\n");
    char *s = qcc_yaml_scalar(vals[i], true);
    cr_assert_not_null(s);
    cr_assert_eq(set_e(d, P("b"), 1, s), 0, "%s: %s", s, last_err.msg);
    cr_assert_eq(set_e(d, P("m", "k"), 2, s), 0, "%s: %s", s, last_err.msg);
    free(s);
    char *v = NULL;
    cr_assert_eq(qcc_yamldoc_get(d, P("m", "k"), 2, &v), QCC_YNODE_SCALAR);
    cr_assert_str_eq(v, vals[i]);
    free(v);
    qcc_yamldoc_free(&d);
  }
  errno = 0;
  cr_assert_null(qcc_yaml_scalar("bad \xFF byte", true), "not UTF-8: no scalar at all");
  cr_assert_eq(errno, EILSEQ);
}

Test(edit_yaml, k_json_lists_written_like_their_neighbours) {
  struct qcc_yamldoc *d = parse("{\n  \"groups\": {\n    \"primary\": [\"生产\"],\n"
                                "    \"secondary\": []\n  }\n}\n");
  cr_assert_eq(app(d, P("groups", "secondary"), 2, "备份"), 0, "%s", last_err.msg);
  cr_assert_eq(app(d, P("groups", "fallback"), 2, "兜底"), 0, "%s", last_err.msg);
  expect_text(d, "{\n  \"groups\": {\n    \"primary\": [\"生产\"],\n"
                 "    \"secondary\": [\"备份\"],\n    \"fallback\": [\"兜底\"]\n  }\n}\n");
  cr_assert_eq(rm(d, P("groups", "primary", "生产"), 3), 0, "%s", last_err.msg);
  expect_text(d, "{\n  \"groups\": {\n    \"primary\": [],\n"
                 "    \"secondary\": [\"备份\"],\n    \"fallback\": [\"兜底\"]\n  }\n}\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, d_last_entry_keeps_the_comments_around_it) {
  struct qcc_yamldoc *d = parse("eps:   # 列表\n  # 说明\n  - id: a  # 第一\nz: 1\n");
  cr_assert_eq(rm(d, P("eps", "a"), 2), 0, "%s", last_err.msg);
  expect_text(d, "eps: []   # 列表\n  # 说明\nz: 1\n");
  qcc_yamldoc_free(&d);
  d = parse("{\n  \"version\": 1\n  # 注释\n}\n");
  cr_assert_eq(rm(d, P("version"), 1), 0, "%s", last_err.msg);
  expect_text(d, "{\n  # 注释\n}\n");
  qcc_yamldoc_free(&d);
  /* a mapping emptied of its only key goes with its own key */
  d = parse("m: {a: 1}  # c\nn: 2\n");
  cr_assert_eq(rm(d, P("m", "a"), 2), 0, "%s", last_err.msg);
  expect_text(d, "n: 2\n");
  qcc_yamldoc_free(&d);
}

Test(edit_yaml, m_block_scalar_becomes_a_quoted_value) {
  struct qcc_yamldoc *d = parse("d: |\n  第一行\n  第二行\n\n# 下一个\ne: 1\n");
  cr_assert_eq(set_e(d, P("d"), 1, "新"), 0, "%s", last_err.msg);
  expect_text(d, "d: \"新\"\n\n# 下一个\ne: 1\n");
  qcc_yamldoc_free(&d);
}
