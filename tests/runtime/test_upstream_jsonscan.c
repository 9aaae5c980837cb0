/* runtime/jsonscan.c: the facts of a request body found without a tree. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/jsonscan.h"

static struct qcc_jsonscan_facts scan(const char *s) {
  struct qcc_jsonscan_facts f;
  int rc = qcc_jsonscan_body(s, strlen(s), &f);
  cr_assert_eq(rc == 0, f.object);
  return f;
}

/* The decoded string at SP of S, NUL-terminated in a static buffer. */
static const char *str(const char *s, const struct qcc_json_span *sp) {
  static char buf[256];
  long n = qcc_jsonscan_decode(s + sp->off, sp->len, buf, sizeof buf - 1);
  cr_assert_geq(n, 0);
  buf[n] = '\0';
  return buf;
}

Test(upstream_jsonscan, finds_the_three_facts_in_one_pass) {
  const char *in = " { \"model\" : \"claude-sonnet-4-5\", \"messages\":[{\"role\":\"user\","
                   "\"content\":\"hi\"}], \"metadata\":{\"user_id\":\"u-1\"}, \"stream\":true } ";
  struct qcc_jsonscan_facts f = scan(in);
  cr_assert(f.object);
  cr_assert(f.has_model);
  cr_expect_eq(f.model.off, 13);
  cr_expect_eq(f.model.len, 19);
  cr_expect_str_eq(str(in, &f.model), "claude-sonnet-4-5");
  cr_expect_eq(f.model_count, 1);
  cr_expect_eq(f.stream, 1);
  cr_assert(f.has_user_id);
  cr_expect_str_eq(str(in, &f.user_id), "u-1");
}

Test(upstream_jsonscan, absent_and_non_string_values) {
  struct qcc_jsonscan_facts f = scan("{}");
  cr_expect(f.object && !f.has_model && !f.has_user_id && f.stream == -1);
  f = scan("{\"model\":42,\"stream\":\"true\",\"metadata\":{\"user_id\":7}}");
  cr_expect(f.object && !f.has_model && f.model_count == 0 && !f.has_user_id && f.stream == -1);
  f = scan("{\"stream\":false,\"metadata\":[\"user_id\"]}");
  cr_expect(f.stream == 0 && !f.has_user_id);
  f = scan("{\"stream\":null}");
  cr_expect_eq(f.stream, -1);
}

Test(upstream_jsonscan, nested_and_quoted_decoys_ignored) {
  const char *in = "{\"messages\":[{\"model\":\"x\",\"stream\":true,\"metadata\":"
                   "{\"user_id\":\"no\"}}],\"text\":\"\\\"model\\\":\\\"y\\\"\\\\\","
                   "\"tools\":{\"metadata\":{\"user_id\":\"no\"}},\"model\":\"real\"}";
  struct qcc_jsonscan_facts f = scan(in);
  cr_assert(f.object);
  cr_expect_eq(f.model_count, 1);
  cr_expect_str_eq(str(in, &f.model), "real");
  cr_expect_eq(f.stream, -1);
  cr_expect(!f.has_user_id);
}

Test(upstream_jsonscan, last_member_wins_like_a_parser) {
  const char *in = "{\"model\":\"a\",\"model\":\"b\",\"stream\":true,\"stream\":0,"
                   "\"metadata\":{\"user_id\":\"x\"},\"metadata\":{\"user_id\":\"y\",\"user_id\":\"z\"}}";
  struct qcc_jsonscan_facts f = scan(in);
  cr_expect_eq(f.model_count, 2);
  cr_expect_str_eq(str(in, &f.models[0]), "a");
  cr_expect_str_eq(str(in, &f.model), "b");
  cr_expect_eq(f.stream, -1);
  cr_expect_str_eq(str(in, &f.user_id), "z");
  f = scan("{\"metadata\":{\"user_id\":\"x\"},\"metadata\":{}}");
  cr_expect(!f.has_user_id);
  f = scan("{\"model\":\"a\",\"model\":null}");
  cr_expect(!f.has_model);
  cr_expect_eq(f.model_count, 1);
}

Test(upstream_jsonscan, escaped_keys_are_decoded) {
  const char *in = "{\"mod\\u0065l\":\"m\\u00e9\",\"str\\u0065am\":true,"
                   "\"metadata\":{\"user\\u005fid\":\"\\ud83d\\ude00\"}}";
  struct qcc_jsonscan_facts f = scan(in);
  cr_expect_str_eq(str(in, &f.model), "m\xc3\xa9");
  cr_expect_eq(f.stream, 1);
  cr_expect_str_eq(str(in, &f.user_id), "\xf0\x9f\x98\x80");
}

Test(upstream_jsonscan, backslash_runs_before_quotes) {
  /* "\\" ends the string; "\\\"" does not end at its third quote */
  const char *in = "{\"a\":[\"\\\\\",\"\\\\\\\"]\\\\\"],\"model\":\"\\\\\"}";
  struct qcc_jsonscan_facts f = scan(in);
  cr_assert(f.object, "%s", in);
  cr_expect_str_eq(str(in, &f.model), "\\");
}

Test(upstream_jsonscan, malformed_is_nothing_found) {
  static const char *const bad[] = {
      "", "[]", "\"model\"", "{\"model\":\"m\"", "{\"model\":\"m\"} x", "{\"model\":\"m\",}",
      "{\"model\":\"m\" \"stream\":true}", "{\"model\":\"m\",\"a\":[1,2}}",
      "{\"model\":\"m\",\"a\":{]}", "{\"model\":\"m\",\"n\":01}", "{\"model\":\"m\",\"n\":1.}",
      "{\"model\":\"m\",\"n\":-}", "{\"model\":\"m\",\"t\":tru}", "{\"model\":\"a\x01\"}",
      "{\"model\":\"\\x\"}", "{\"model\":\"\\ud800\"}", "{\"model\":\"\\udc00\"}",
      "{\"model\":\"\\u0000\"}", "{\"model\":\"\xc0\xaf\"}", "{\"model\":\"\xed\xa0\x80\"}",
      "{\"model\":\"\xf4\x90\x80\x80\"}", "{\"model\":\"\xe2\x82\"}", "{model:\"m\"}",
      "{\"a\":\"unterminated}", "{\"a\":[\"x\\\"]}", "{\"model\":\"m\"}}",
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    struct qcc_jsonscan_facts f;
    cr_expect_eq(qcc_jsonscan_body(bad[k], strlen(bad[k]), &f), -1, "accepted: %s", bad[k]);
    cr_expect(!f.object && !f.has_model && f.model_count == 0 && !f.has_user_id && f.stream == -1);
  }
  struct qcc_jsonscan_facts f;
  cr_expect_eq(qcc_jsonscan_body(NULL, 0, &f), -1);
}

/* Every prefix of a valid body is not an object: nothing is found in any. */
Test(upstream_jsonscan, every_truncation_finds_nothing) {
  const char *in = "{\"model\":\"claude\\u00e9\",\"messages\":[{\"role\":\"user\",\"content\":"
                   "[{\"type\":\"text\",\"text\":\"a \\\"b\\\" {[\"}]}],\"metadata\":{\"user_id\":\"u\"},"
                   "\"max_tokens\":1024,\"temperature\":0.5e-1,\"stream\":true}";
  size_t len = strlen(in);
  for (size_t cut = 0; cut < len; cut++) {
    struct qcc_jsonscan_facts f;
    cr_expect_eq(qcc_jsonscan_body(in, cut, &f), -1, "prefix of %zu bytes accepted", cut);
  }
  struct qcc_jsonscan_facts f = scan(in);
  cr_expect(f.object && f.has_model && f.has_user_id && f.stream == 1);
}

Test(upstream_jsonscan, depth_is_bounded) {
  size_t n = QCC_JSONSCAN_MAX_DEPTH;
  /* {"a": + (n-1) '[' + ']'s + } is exactly the limit; one more is refused */
  for (int extra = 0; extra < 2; extra++) {
    size_t d = n - 1 + (size_t)extra;
    size_t len = 6 + 2 * d + 1;
    char *s = malloc(len + 1);
    cr_assert_not_null(s);
    memcpy(s, "{\"a\":", 5);
    memset(s + 5, '[', d);
    memset(s + 5 + d, ']', d);
    s[5 + 2 * d] = '}';
    s[5 + 2 * d + 1] = '\0';
    struct qcc_jsonscan_facts f;
    cr_expect_eq(qcc_jsonscan_body(s, strlen(s), &f), extra ? -1 : 0, "depth %zu", d + 1);
    free(s);
  }
}

Test(upstream_jsonscan, decode_escapes_surrogates_and_bounds) {
  char out[32];
  const char *t = "\"a\\n\\t\\\"\\/\\ud83d\\ude00\xc3\xa9\"";
  long n = qcc_jsonscan_decode(t, strlen(t), out, sizeof out);
  cr_assert_eq(n, 11);
  cr_expect(memcmp(out, "a\n\t\"/\xf0\x9f\x98\x80\xc3\xa9", 11) == 0);
  static const char *const bad[] = {"\"\\ud83d\"", "\"\\x\"", "\"abc", "\"a\"b\"", "x", "\"",
                                    "\"\\u12\""};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    cr_expect_eq(qcc_jsonscan_decode(bad[k], strlen(bad[k]), out, sizeof out), -1, "%s", bad[k]);
  const char *lng = "\"0123456789abcdefgh\"";
  cr_expect_eq(qcc_jsonscan_decode(lng, strlen(lng), out, 16), -1, "18 bytes do not fit 16");
  cr_expect_eq(qcc_jsonscan_decode(lng, strlen(lng), out, 18), 18);
}

Test(upstream_jsonscan, encode_escapes_what_json_requires) {
  const char in[] = "a\"b\\c\x01\xc3\xa9";
  char out[32];
  size_t n = qcc_jsonscan_encode(in, sizeof in - 1, out);
  cr_assert_eq(n, qcc_jsonscan_encode(in, sizeof in - 1, NULL));
  cr_expect(n == 17 && memcmp(out, "\"a\\\"b\\\\c\\u0001\xc3\xa9\"", 17) == 0);
  char back[16];
  cr_expect_eq(qcc_jsonscan_decode(out, n, back, sizeof back), 8);
  cr_expect(memcmp(back, in, 8) == 0);
}

Test(upstream_jsonscan, many_duplicate_models_keep_the_last) {
  char in[512];
  size_t n = (size_t)snprintf(in, sizeof in, "{");
  for (int k = 0; k < 12; k++)
    n += (size_t)snprintf(in + n, sizeof in - n, "%s\"model\":\"m%d\"", k > 0 ? "," : "", k);
  snprintf(in + n, sizeof in - n, "}");
  struct qcc_jsonscan_facts f = scan(in);
  cr_assert_eq(f.model_count, QCC_JSONSCAN_MAX_MODELS);
  cr_expect_str_eq(str(in, &f.models[0]), "m0");
  cr_expect_str_eq(str(in, &f.models[QCC_JSONSCAN_MAX_MODELS - 1]), "m11");
  cr_expect_str_eq(str(in, &f.model), "m11");
}

/* Nested values are skipped 64 bytes at a time: shift every escape run,
 * quote and bracket across the block boundaries and expect the same facts. */
Test(upstream_jsonscan, block_boundaries_do_not_matter) {
  const char *tail = "\"x\":[{\"t\":\"\\\\\"},{\"t\":\"\\\\\\\"]}\"},\"a\\\\\\\\\\\\\\\\\","
                     "[\"\\\"\",\"}\",\"{\"]],\"metadata\":{\"user_id\":\"u\\\\\"},\"model\":\"m\"}";
  char buf[512];
  for (int pad = 0; pad < 140; pad++) {
    int n = snprintf(buf, sizeof buf, "{\"p\":[\"%*s\"],%s", pad, "", tail);
    cr_assert(n > 0 && (size_t)n < sizeof buf);
    struct qcc_jsonscan_facts f;
    cr_assert_eq(qcc_jsonscan_body(buf, (size_t)n, &f), 0, "pad %d: %s", pad, buf);
    cr_expect_str_eq(str(buf, &f.model), "m");
    cr_expect_str_eq(str(buf, &f.user_id), "u\\");
    /* cut anywhere inside the nested values: never an object */
    for (int cut = 6; cut < n - 20; cut += 7)
      cr_expect_eq(qcc_jsonscan_body(buf, (size_t)cut, &f), -1, "pad %d cut %d", pad, cut);
  }
}

/* The tail shortcut answers only when the last member is "stream" with a
 * boolean, and then as the full scan does (the last member wins). */
Test(upstream_jsonscan, tail_stream_agrees_with_the_scan) {
  static const struct {
    const char *body;
    int want;
  } cases[] = {
      {"{\"model\":\"m\",\"stream\":true}", 1},
      {"{\"model\":\"m\",\"stream\":false}", 0},
      {" {\"stream\" :\ttrue\n}\r\n", 1},
      {"{\"stream\":false,\"stream\":true}", 1},          /* last wins */
      {"{\"stream\":true,\"max_tokens\":1}", -1},         /* not last: the scan says */
      {"{\"a\":{\"stream\":true}}", -1},                  /* nested */
      {"{\"a\":[1,{\"stream\":true}]}", -1},
      {"{\"a\":\"x\\\"stream\":true}", -1},               /* an escaped quote ends a longer key */
      {"{\"upstream\":true}", -1},                        /* another key ending in stream */
      {"{\"stream\":\"true\"}", -1},                      /* not a boolean */
      {"{\"stream\":true", -1},                           /* no closing brace */
      {"[{\"stream\":true}]", -1},
      {"", -1},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const char *b = cases[k].body;
    int got = qcc_jsonscan_tail_stream(b, strlen(b));
    cr_expect_eq(got, cases[k].want, "%s: %d", b, got);
    if (got >= 0) {
      struct qcc_jsonscan_facts f;
      qcc_jsonscan_body(b, strlen(b), &f);
      cr_expect_eq(f.stream, got, "%s: the scan says %d", b, f.stream);
    }
  }
  cr_expect_eq(qcc_jsonscan_tail_stream(NULL, 0), -1);
}

/* A Claude-Code-shaped body: "model" first, a history of HISTORY bytes
 * (strings full of quoted decoys), then MIDDLE (raw members or ""), system
 * and tools (TOOL_MODEL: a tool with a "model" parameter, as Claude Code's
 * Task tool has), metadata, max_tokens, stream. Returns a malloc'd string. */
static char *cc_body(size_t history, const char *middle, bool tool_model, const char *in_history) {
  size_t cap = history + 8192;
  char *b = malloc(cap);
  cr_assert_not_null(b);
  size_t n = (size_t)snprintf(b, cap, "{\"model\":\"claude-sonnet-4-5\",\"messages\":[");
  const char *turn = "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"say \\\"model\\\": "
                     "\\\"x\\\", \\\"stream\\\" and \\\"metadata\\\" \\\\\\\" [{\"}]},";
  size_t tl = strlen(turn);
  while (n + tl < history) {
    memcpy(b + n, turn, tl);
    n += tl;
  }
  if (in_history != NULL) n += (size_t)snprintf(b + n, cap - n, "%s,", in_history);
  n += (size_t)snprintf(b + n, cap - n,
                        "{\"role\":\"user\",\"content\":\"go\"}]%s,\"system\":[{\"type\":\"text\","
                        "\"text\":\"You are Claude Code.\"}],\"tools\":[{\"name\":\"Read\","
                        "\"input_schema\":{\"type\":\"object\",\"properties\":{\"path\":"
                        "{\"type\":\"string\"}}}}%s],\"metadata\":{\"user_id\":\"user_abc\"},"
                        "\"max_tokens\":32000,\"stream\":true}",
                        middle,
                        tool_model ? ",{\"name\":\"Task\",\"input_schema\":{\"type\":\"object\","
                                     "\"properties\":{\"model\":{\"type\":\"string\",\"enum\":"
                                     "[\"opus\"]}}}}"
                                   : "");
  cr_assert_lt(n, cap);
  return b;
}

/* The bounded mode's facts are the walk's (for a JSON object: the last
 * member of each name), whether or not it read the middle. */
static struct qcc_jsonscan_facts same_as_walk(const char *b) {
  struct qcc_jsonscan_facts q, w;
  size_t len = strlen(b);
  cr_assert_eq(qcc_jsonscan_bounded(b, len, &q), 0);
  cr_assert_eq(qcc_jsonscan_body(b, len, &w), 0);
  cr_expect(q.object);
  cr_expect_eq(q.has_model, w.has_model);
  if (w.has_model) cr_expect(q.model.off == w.model.off && q.model.len == w.model.len);
  cr_expect_eq(q.stream, w.stream);
  cr_expect_eq(q.has_user_id, w.has_user_id);
  if (w.has_user_id) cr_expect(q.user_id.off == w.user_id.off && q.user_id.len == w.user_id.len);
  return q;
}

Test(upstream_jsonscan, bounded_reads_front_and_back_only) {
  char *b = cc_body(200000, "", false, NULL);
  struct qcc_jsonscan_facts f = same_as_walk(b);
  cr_expect(f.quick, "the history was not walked");
  cr_expect_str_eq(str(b, &f.model), "claude-sonnet-4-5");
  cr_expect_str_eq(str(b, &f.user_id), "user_abc");
  cr_expect_eq(f.stream, 1);
  free(b);
  /* a tool's "model" parameter near the end: the back is read over it */
  b = cc_body(200000, "", true, NULL);
  f = same_as_walk(b);
  cr_expect(f.quick);
  cr_expect_str_eq(str(b, &f.model), "claude-sonnet-4-5");
  free(b);
}

Test(upstream_jsonscan, bounded_sees_a_later_duplicate) {
  /* a top-level "model" after the history, literal or escaped: it wins */
  static const char *const later[] = {",\"model\":\"claude-opus-4\"", ",\"mod\\u0065l\":\"claude-opus-4\"",
                                      ",\"\\u006dodel\":\"claude-opus-4\""};
  for (size_t k = 0; k < 3; k++) {
    char *b = cc_body(100000, later[k], true, NULL);
    struct qcc_jsonscan_facts f = same_as_walk(b);
    cr_expect_str_eq(str(b, &f.model), "claude-opus-4", "%zu", k);
    free(b);
  }
  /* far from the end (past the back's budget): the walk decides */
  char *b = cc_body(300000, "", false, NULL);
  char *mid = strstr(b + 100000, "{\"role\"");
  cr_assert_not_null(mid);
  const char *ins = "{\"model\":\"nested\"},";
  size_t n = strlen(b), il = strlen(ins), at = (size_t)(mid - b);
  char *c = malloc(n + il + 1);
  memcpy(c, b, at);
  memcpy(c + at, ins, il);
  memcpy(c + at + il, b + at, n - at + 1);
  struct qcc_jsonscan_facts f = same_as_walk(c);
  cr_expect(f.quick, "a nested \"model\" key in the history: its depth says so, no walk");
  cr_expect_str_eq(str(c, &f.model), "claude-sonnet-4-5");
  free(c);
  free(b);
}

/* Nested "model" keys in the history (Task calls, at any depth, escaped),
 * decoys in strings, escapes and brackets in strings before them: counted,
 * not walked; the facts are the walk's. */
Test(upstream_jsonscan, bounded_nested_models_are_counted_not_walked) {
  static const char *const nested[] = {
      "{\"model\":\"nested\"}",
      "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"name\":\"Task\","
      "\"input\":{\"prompt\":\"x\",\"model\":\"haiku\"}}]}",
      "[[[[[[[[{\"model\":[{\"model\":{\"model\":\"deep\"}}]}]]]]]]]]",
      "{\"mod\\u0065l\":\"escaped\",\"\\u006dodel\":\"x\"}",
      "{\"t\":\"\\\\\",\"model\":\"after a string ending in a backslash\"}",
      "{\"t\":\"}]}]}]\\\"\",\"model\":\"after brackets and a quote in a string\"}",
      /* read without its escapes, this string would close the history
       * before the "model" after it */
      "{\"t\":\"\\\"}]}]}]}]\\\"\",\"model\":\"x\"}",
      "{\"t\":\"[[[{{{\",\"model\":\"x\"}",
      "\"model\",{\"model\":\"a string at depth 2 first\"}",
  };
  for (size_t k = 0; k < sizeof nested / sizeof nested[0]; k++) {
    for (int times = 1; times <= 3; times++) {
      /* the same token 1 to 3 times, early and late in the history */
      size_t hist = 60000 * (size_t)times;
      char *b = cc_body(hist, "", times == 3, nested[k]);
      size_t n = strlen(b);
      char *mid = strstr(b + 40, "{\"role\"");
      cr_assert_not_null(mid);
      size_t at = (size_t)(mid - b), il = strlen(nested[k]);
      char *c = malloc(n + 2 * il + 3);
      memcpy(c, b, at);
      memcpy(c + at, nested[k], il);
      c[at + il] = ',';
      memcpy(c + at + il + 1, b + at, n - at + 1);
      struct qcc_jsonscan_facts f = same_as_walk(c);
      cr_expect(f.quick, "%zu x%d: not walked", k, times);
      cr_expect_str_eq(str(c, &f.model), "claude-sonnet-4-5", "%zu", k);
      cr_expect_str_eq(str(c, &f.user_id), "user_abc");
      free(c);
      free(b);
    }
  }
}

/* Runs of brackets with no quote for a block or more (counted, not taken
 * for string interiors), then strings closing the same run: the nested
 * "model" after them is still nested. */
Test(upstream_jsonscan, bounded_blocks_without_quotes_are_counted) {
  for (int depth = 60; depth <= 200; depth += 35) {
    char *in = malloc((size_t)depth * 8 + 64);
    cr_assert_not_null(in);
    size_t n = 0;
    for (int k = 0; k < depth; k++) in[n++] = '[';
    n += (size_t)sprintf(in + n, "\"x\"");
    for (int k = 1; k < depth; k++) n += (size_t)sprintf(in + n, "],\"x\"");
    n += (size_t)sprintf(in + n, "],  %*s{\"model\":\"nested\"}", depth, "");
    char *b = cc_body(100000, "", false, NULL);
    size_t bl = strlen(b);
    char *mid = strstr(b + 40, "{\"role\"");
    cr_assert_not_null(mid);
    size_t at = (size_t)(mid - b);
    char *c = malloc(bl + n + 2);
    memcpy(c, b, at);
    memcpy(c + at, in, n);
    c[at + n] = ',';
    memcpy(c + at + n + 1, b + at, bl - at + 1);
    struct qcc_jsonscan_facts f = same_as_walk(c);
    cr_expect(f.quick, "depth %d: not walked", depth);
    cr_expect_str_eq(str(c, &f.model), "claude-sonnet-4-5");
    free(c);
    free(b);
    free(in);
  }
}

/* A body whose back read stops at a long string (so the middle is counted
 * from the front's first key), with a nested "model" at every offset of a
 * 64-byte block, after escape runs and brackets that cross the blocks. */
Test(upstream_jsonscan, bounded_depth_count_at_every_block_offset) {
  /* the last: two escaped quotes 128 bytes apart, so both cross a block
   * boundary at one offset with a block of no backslash between; read as
   * quotes they would put the "model" after them at depth -1 */
  static const char *const before[] = {
      "", "\"\\\\\\\\\",", "\"\\\"}\\\\\",", "[],{},[{}],",
      "{\"t\":\"\\\"]]]]the quick brown fox jumps over the lazy dog the quick brown f"
      "the quick brown fox jumps over the lazy dog the quick brown f\\\"\",\"model\":\"y\"},"};
  char big[6000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for (size_t v = 0; v < sizeof before / sizeof before[0]; v++) {
    for (int pad = 0; pad < 140; pad++) {
      char *b = malloc(20000);
      cr_assert_not_null(b);
      int n = snprintf(b, 20000,
                       "{\"model\":\"m\",\"messages\":[\"%*s\",%s{\"a\":1,\"model\":\"x\"}],"
                       "\"system\":\"%s\",\"metadata\":{\"user_id\":\"u\"},\"stream\":false}",
                       pad, "", before[v], big);
      cr_assert(n > 0 && n < 20000);
      struct qcc_jsonscan_facts f = same_as_walk(b);
      cr_expect(f.quick, "%zu pad %d", v, pad);
      cr_expect_str_eq(str(b, &f.model), "m");
      cr_expect_eq(f.stream, 0);
      free(b);
    }
  }
}

/* A top-level duplicate far from the end (past the back's budget), found
 * by the depth count: the walk decides, and the last one wins. Not JSON
 * where the count says depth 1 or less: the walk's answer too. */
Test(upstream_jsonscan, bounded_top_level_duplicate_in_the_middle) {
  size_t cap = 400000;
  char *b = malloc(cap);
  cr_assert_not_null(b);
  /* the history's end and the duplicate at every offset of a block that
   * starts inside the history */
  for (int pad = 0; pad < 70; pad++) {
    size_t n = (size_t)snprintf(b, cap,
                                "{\"model\":\"first\",\"messages\":[{\"model\":\"n\"},\"%0*d\","
                                /* an escaped quote after a block with no quote
                                 * in a string: at one offset it opens the next
                                 * block, and read as a quote it would hide
                                 * the duplicate */
                                "\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
                                "\\\"x\"],"
                                "\"model\":\"second\",\"system\":\"",
                                100 + pad, 0);
    memset(b + n, 's', 300000);
    n += 300000;
    n += (size_t)snprintf(b + n, cap - n, "\",\"stream\":true}");
    struct qcc_jsonscan_facts f = same_as_walk(b);
    cr_expect(!f.quick, "pad %d: walked", pad);
    cr_expect_str_eq(str(b, &f.model), "second");
    /* the array closed before it opened: the nested-looking model is
     * counted at depth 1, so walked, and not JSON */
    *strstr(b, "[{\"model\":\"n\"}") = ']';
    cr_expect_eq(qcc_jsonscan_bounded(b, n, &f), -1);
    cr_expect(!f.object && !f.has_model && !f.quick);
  }
  free(b);
}

Test(upstream_jsonscan, bounded_other_orders_and_non_json) {
  /* metadata first, stream in the middle, no settings at the back */
  const char *hist = "{\"role\":\"user\",\"content\":\"x\"}";
  size_t cap = 300000;
  char *b = malloc(cap);
  size_t n = (size_t)snprintf(b, cap, "{\"metadata\":{\"user_id\":\"u1\"},\"model\":\"m1\",\"messages\":[");
  while (n + 100 < cap / 2) n += (size_t)snprintf(b + n, cap - n, "%s,", hist);
  n += (size_t)snprintf(b + n, cap - n, "%s],\"stream\":false,\"tools\":[{\"a\":[1,2,{\"b\":null}]}]}", hist);
  struct qcc_jsonscan_facts f = same_as_walk(b);
  cr_expect_str_eq(str(b, &f.user_id), "u1");
  cr_expect_str_eq(str(b, &f.model), "m1");
  cr_expect_eq(f.stream, 0);
  /* not JSON at the front or the back: the walk's answer (nothing) */
  b[n - 1] = ']';
  cr_expect_eq(qcc_jsonscan_bounded(b, n, &f), -1);
  cr_expect(!f.object && !f.has_model && !f.quick);
  b[n - 1] = '}';
  b[0] = '[';
  cr_expect_eq(qcc_jsonscan_bounded(b, n, &f), -1);
  free(b);
  /* below QCC_JSONSCAN_QUICK_MIN the quick entry walks */
  const char *small = "{\"model\":\"a\",\"messages\":[],\"stream\":true}";
  cr_expect_eq(qcc_jsonscan_quick(small, strlen(small), &f), 0);
  cr_expect(!f.quick && f.has_model && f.model_count == 1 && f.stream == 1);
}
