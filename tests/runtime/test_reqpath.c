/* runtime/reqpath.c: RFC 3986 normalisation of request targets, by a table
 * of cases (RFC 3986 5.4's dot-segment examples among them), plus the
 * properties every result must have. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/reqpath.h"

struct pcase {
  const char *in;
  enum qcc_reqpath_status st;
  const char *out; /* for OK */
  bool dots;
};

static const struct pcase cases[] = {
    /* already normal */
    {"/v1/messages", QCC_REQPATH_OK, "/v1/messages", false},
    {"/v1/messages?beta=true", QCC_REQPATH_OK, "/v1/messages?beta=true", false},
    {"/", QCC_REQPATH_OK, "/", false},
    {"/v1/", QCC_REQPATH_OK, "/v1/", false},
    {"/v1//messages", QCC_REQPATH_OK, "/v1//messages", false}, /* empty segments stay */
    {"/v1/models/claude-3.5", QCC_REQPATH_OK, "/v1/models/claude-3.5", false},
    {"/v1/.well-known", QCC_REQPATH_OK, "/v1/.well-known", false},
    {"/v1/...", QCC_REQPATH_OK, "/v1/...", false}, /* three dots are a name */
    {"/v1/..a", QCC_REQPATH_OK, "/v1/..a", false},
    /* raw dot-segments */
    {"/v1/../api/x", QCC_REQPATH_OK, "/api/x", true},
    {"/v1/./messages", QCC_REQPATH_OK, "/v1/messages", true},
    {"/v1/messages/.", QCC_REQPATH_OK, "/v1/messages/", true},
    {"/v1/messages/..", QCC_REQPATH_OK, "/v1/", true},
    {"/v1/models/../messages", QCC_REQPATH_OK, "/v1/messages", true},
    {"/v1/a/b/../../messages", QCC_REQPATH_OK, "/v1/messages", true},
    {"/v1/../../../etc/passwd", QCC_REQPATH_OK, "/etc/passwd", true}, /* clamped at the root */
    {"/..", QCC_REQPATH_OK, "/", true},
    {"/.", QCC_REQPATH_OK, "/", true},
    {"/../v1/messages", QCC_REQPATH_OK, "/v1/messages", true},
    {"/v1/a//../b", QCC_REQPATH_OK, "/v1/a/b", true},
    {"/v1/..", QCC_REQPATH_OK, "/", true},
    {"/v1/../?q=1", QCC_REQPATH_OK, "/?q=1", true},
    {"/v1/x/..?a=/../b", QCC_REQPATH_OK, "/v1/?a=/../b", true}, /* the query is not a path */
    /* RFC 3986 5.2.4's examples, on absolute paths */
    {"/a/b/c/./../../g", QCC_REQPATH_OK, "/a/g", true},
    {"/mid/content=5/../6", QCC_REQPATH_OK, "/mid/6", true},
    /* percent-encoded dots count as dots */
    {"/v1/%2e%2e/x", QCC_REQPATH_OK, "/x", true},
    {"/v1/%2E%2E/x", QCC_REQPATH_OK, "/x", true},
    {"/v1/.%2e/x", QCC_REQPATH_OK, "/x", true},
    {"/v1/%2e/messages", QCC_REQPATH_OK, "/v1/messages", true},
    {"/v1/messages/%2e%2e", QCC_REQPATH_OK, "/v1/", true},
    /* unreserved characters decoded, other escapes kept with upper-case hex */
    {"/%76%31/messages", QCC_REQPATH_OK, "/v1/messages", false},
    {"/v1/models/a%7eb", QCC_REQPATH_OK, "/v1/models/a~b", false},
    {"/v1/models/a%3ab", QCC_REQPATH_OK, "/v1/models/a%3Ab", false},
    {"/v1/models/a%20b", QCC_REQPATH_OK, "/v1/models/a%20b", false},
    {"/v1/a%3bb", QCC_REQPATH_OK, "/v1/a%3Bb", false}, /* an encoded ';' elsewhere is data */
    /* fragments are dropped */
    {"/v1/messages#frag", QCC_REQPATH_OK, "/v1/messages", false},
    {"/v1/messages?a=1#frag", QCC_REQPATH_OK, "/v1/messages?a=1", false},
    {"/v1/..#/v1/x", QCC_REQPATH_OK, "/", true},
    /* refused */
    {"/v1/%2f../x", QCC_REQPATH_ENCODED_SEP, NULL, false},
    {"/v1/..%2fapi", QCC_REQPATH_ENCODED_SEP, NULL, false},
    {"/v1/..%2Fapi", QCC_REQPATH_ENCODED_SEP, NULL, false},
    {"/v1/..%5capi", QCC_REQPATH_ENCODED_SEP, NULL, false},
    {"/v1/..\\api", QCC_REQPATH_ENCODED_SEP, NULL, false},
    {"/v1/a%00b", QCC_REQPATH_ENCODED_SEP, NULL, false},
    {"/v1/%", QCC_REQPATH_BAD_ESCAPE, NULL, false},
    {"/v1/%2", QCC_REQPATH_BAD_ESCAPE, NULL, false},
    {"/v1/%zz", QCC_REQPATH_BAD_ESCAPE, NULL, false},
    {"/v1/%2?x=1", QCC_REQPATH_BAD_ESCAPE, NULL, false}, /* the escape ends at the query */
    {"/v1/..;/admin", QCC_REQPATH_DOT_PARAM, NULL, false},
    {"/v1/.;x/messages", QCC_REQPATH_DOT_PARAM, NULL, false},
    {"/v1/%2e%2e;/admin", QCC_REQPATH_DOT_PARAM, NULL, false},
    {"/v1/%2e%2e%3b/admin", QCC_REQPATH_DOT_PARAM, NULL, false},
    {"/v1/..%3B/admin", QCC_REQPATH_DOT_PARAM, NULL, false},
    {"http://h/v1/messages", QCC_REQPATH_NOT_ORIGIN, NULL, false},
    {"*", QCC_REQPATH_NOT_ORIGIN, NULL, false},
    {"", QCC_REQPATH_NOT_ORIGIN, NULL, false},
};

Test(reqpath, table_of_cases) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct pcase *k = &cases[i];
    size_t len = strlen(k->in);
    char *out = malloc(len + 1); /* exactly the documented room */
    cr_assert_not_null(out);
    size_t olen = 99;
    bool dots = !k->dots;
    enum qcc_reqpath_status st = qcc_reqpath_normalize(k->in, len, out, &olen, &dots);
    cr_expect_eq(st, k->st, "'%s': status %d, expected %d", k->in, st, k->st);
    if (st == QCC_REQPATH_OK && k->st == QCC_REQPATH_OK) {
      cr_expect_str_eq(out, k->out, "'%s' -> '%s', expected '%s'", k->in, out, k->out);
      cr_expect_eq(olen, strlen(k->out), "'%s': length", k->in);
      cr_expect_eq(dots, k->dots, "'%s': had_dots %d", k->in, dots);
    }
    /* needs_work false promises the normal form is the input itself */
    if (!qcc_reqpath_needs_work(k->in, len))
      cr_expect(st == QCC_REQPATH_NOT_ORIGIN || (st == QCC_REQPATH_OK && strcmp(out, k->in) == 0),
                "'%s' said to need no work but normalises to something else", k->in);
    free(out);
  }
}

Test(reqpath, fast_path_takes_normal_targets_only) {
  cr_expect_not(qcc_reqpath_needs_work("/v1/messages?beta=true", 22));
  cr_expect_not(qcc_reqpath_needs_work("/v1/x?a=/../b", 13)); /* dots in the query only */
  cr_expect(qcc_reqpath_needs_work("/v1/../x", 8));
  cr_expect(qcc_reqpath_needs_work("/v1/%2e%2e/x", 12));
  cr_expect(qcc_reqpath_needs_work("/v1/.x", 6));
  cr_expect(qcc_reqpath_needs_work("/v1\\x", 5));
  cr_expect(qcc_reqpath_needs_work("/v1/x#y", 7));
}

/* Normalising is idempotent and a normal result is left alone by the fast
 * path: checked on every OK case and on generated combinations of segments. */
Test(reqpath, idempotent_on_generated_paths) {
  static const char *const segs[] = {"v1", "..", ".", "%2e%2e", "%2E", "", "a", "%41b", ".x"};
  const size_t ns = sizeof segs / sizeof segs[0];
  char in[128], out[128], again[128];
  size_t n = 0;
  for (size_t a = 0; a < ns; a++)
    for (size_t b = 0; b < ns; b++)
      for (size_t c = 0; c < ns; c++)
        for (size_t d = 0; d < ns; d++) {
          int len = snprintf(in, sizeof in, "/%s/%s/%s/%s", segs[a], segs[b], segs[c], segs[d]);
          size_t olen, alen;
          bool dots, dots2;
          cr_assert_eq(qcc_reqpath_normalize(in, (size_t)len, out, &olen, &dots), QCC_REQPATH_OK,
                       "%s", in);
          cr_assert_leq(olen, (size_t)len);
          cr_assert_eq(out[0], '/', "%s -> %s", in, out);
          cr_assert_null(strstr(out, "/../"), "%s -> %s", in, out);
          cr_assert_null(strstr(out, "/./"), "%s -> %s", in, out);
          cr_assert_eq(qcc_reqpath_normalize(out, olen, again, &alen, &dots2), QCC_REQPATH_OK);
          cr_assert_str_eq(again, out, "not idempotent: %s -> %s -> %s", in, out, again);
          cr_assert_not(dots2, "%s -> %s still has dot-segments", in, out);
          n++;
        }
  cr_assert_eq(n, ns * ns * ns * ns);
}

/* The examples in docs/inbound.md are what qcc_reqpath_check does. */
Test(reqpath, doc_examples_hold) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root);
  char path[512];
  snprintf(path, sizeof path, "%s/docs/inbound.md", root);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s missing", path);
  char line[512];
  bool in = false;
  size_t rows = 0, refused = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strstr(line, "<!-- reqpath-examples -->") != NULL) in = true;
    if (strstr(line, "<!-- /reqpath-examples -->") != NULL) break;
    if (!in || strncmp(line, "| `", 3) != 0) continue;
    /* | `IN` | `OUT` |  or  | `IN` | 400 | */
    char *a = line + 3, *ae = strchr(a, '`');
    cr_assert_not_null(ae, "%s", line);
    *ae = '\0';
    char *b = strchr(ae + 1, '|');
    cr_assert_not_null(b, "%s", line);
    b++;
    while (*b == ' ') b++;
    char out[256];
    size_t olen = 0;
    enum qcc_reqpath_status st = qcc_reqpath_check(a, strlen(a), out, &olen);
    if (*b == '`') {
      char *be = strchr(b + 1, '`');
      cr_assert_not_null(be, "%s", line);
      *be = '\0';
      cr_expect_eq(st, QCC_REQPATH_OK, "doc: %s should be forwarded, got status %d", a, st);
      if (st == QCC_REQPATH_OK) cr_expect_str_eq(out, b + 1, "doc: %s -> %s, code gives %s", a, b + 1, out);
    } else {
      cr_expect(strncmp(b, "400", 3) == 0, "doc row not understood: %s", line);
      cr_expect_neq(st, QCC_REQPATH_OK, "doc: %s should be 400, code forwards %s", a, out);
      cr_expect_neq(st, QCC_REQPATH_NOT_ORIGIN, "doc: %s", a);
      refused++;
    }
    rows++;
  }
  fclose(f);
  cr_assert_geq(rows, 15, "docs/inbound.md's example table not found or too short");
  cr_assert_geq(refused, 5);
}

Test(reqpath, check_refuses_leaving_v1_only) {
  char out[64];
  size_t n;
  cr_expect_eq(qcc_reqpath_check("/v1/../x", 8, out, &n), QCC_REQPATH_LEAVES_V1);
  cr_expect_eq(qcc_reqpath_check("/v1/a/../b", 10, out, &n), QCC_REQPATH_OK);
  cr_expect_str_eq(out, "/v1/b");
  cr_expect_eq(qcc_reqpath_check("/foo/bar", 8, out, &n), QCC_REQPATH_OK); /* 404 is routing's */
  cr_expect_eq(qcc_reqpath_check("/foo/./bar", 10, out, &n), QCC_REQPATH_LEAVES_V1);
  cr_expect_str_neq((char *)qcc_reqpath_reason(QCC_REQPATH_LEAVES_V1), "bad request path");
}
