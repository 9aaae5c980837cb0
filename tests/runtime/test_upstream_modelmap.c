/* runtime/modelmap.c: targeted rewrite of the top-level "model" string. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/modelmap.h"

static const char *const map[] = {"claude-sonnet-4-5", "glm-4.6", "claude-\xc3\xa9", "e-acute",
                                  "quote", "a\"b\\c", NULL};

static const char *lookup(void *ctx, const char *model, size_t len, size_t *to_len) {
  const char *const *m = ctx;
  for (; m[0] != NULL; m += 2)
    if (strlen(m[0]) == len && memcmp(m[0], model, len) == 0) {
      *to_len = strlen(m[1]);
      return m[1];
    }
  return NULL;
}

/* Rewrite IN; return the new body (NUL-terminated) or NULL when unchanged. */
static char *rw(const char *in) {
  char *out = NULL;
  size_t out_len = 0;
  int rc = qcc_modelmap_apply(in, strlen(in), NULL, lookup, (void *)map, &out, &out_len);
  cr_assert_neq(rc, -1);
  if (rc == 0) {
    cr_assert_null(out);
    return NULL;
  }
  char *s = malloc(out_len + 1);
  cr_assert_not_null(s);
  memcpy(s, out, out_len);
  s[out_len] = '\0';
  free(out);
  return s;
}

static void expect_rw(const char *in, const char *want) {
  char *got = rw(in);
  cr_assert_not_null(got, "expected a rewrite of %s", in);
  cr_expect_str_eq(got, want);
  free(got);
}

static void expect_same(const char *in) {
  char *got = rw(in);
  cr_expect_null(got, "expected %s unchanged, got %s", in, got != NULL ? got : "");
  free(got);
}

Test(upstream_modelmap, rewrites_top_level_model_only) {
  expect_rw("{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10}",
            "{\"model\":\"glm-4.6\",\"max_tokens\":10}");
}

Test(upstream_modelmap, keeps_every_other_byte) {
  const char *in = "{\n  \"stream\" : true ,\n  \"model\"\t:  \"claude-sonnet-4-5\"  ,\n"
                   "  \"messages\": [{\"role\":\"user\",\"content\":\"hi \\u00e9\"}]\n}\n";
  const char *want = "{\n  \"stream\" : true ,\n  \"model\"\t:  \"glm-4.6\"  ,\n"
                     "  \"messages\": [{\"role\":\"user\",\"content\":\"hi \\u00e9\"}]\n}\n";
  expect_rw(in, want);
}

Test(upstream_modelmap, nested_model_keys_untouched) {
  const char *in = "{\"metadata\":{\"model\":\"claude-sonnet-4-5\"},"
                   "\"messages\":[{\"model\":\"claude-sonnet-4-5\"}],"
                   "\"text\":\"\\\"model\\\":\\\"claude-sonnet-4-5\\\"\","
                   "\"model\":\"claude-sonnet-4-5\"}";
  const char *want = "{\"metadata\":{\"model\":\"claude-sonnet-4-5\"},"
                     "\"messages\":[{\"model\":\"claude-sonnet-4-5\"}],"
                     "\"text\":\"\\\"model\\\":\\\"claude-sonnet-4-5\\\"\","
                     "\"model\":\"glm-4.6\"}";
  expect_rw(in, want);
  /* the model only appears nested: nothing to do */
  expect_same("{\"metadata\":{\"model\":\"claude-sonnet-4-5\"}}");
}

Test(upstream_modelmap, escaped_key_and_value_are_decoded) {
  /* "mod\u0065l" is "model"; "claude-\u00e9" is the UTF-8 key of the map */
  expect_rw("{\"mod\\u0065l\":\"claude-\\u00e9\"}", "{\"mod\\u0065l\":\"e-acute\"}");
  expect_rw("{\"model\":\"claude\\u002dsonnet-4-5\"}", "{\"model\":\"glm-4.6\"}");
}

Test(upstream_modelmap, replacement_is_escaped) {
  expect_rw("{\"model\":\"quote\"}", "{\"model\":\"a\\\"b\\\\c\"}");
}

Test(upstream_modelmap, unmapped_or_non_string_model_unchanged) {
  expect_same("{\"model\":\"claude-opus-4\"}");
  expect_same("{\"model\":42}");
  expect_same("{\"model\":null,\"x\":\"claude-sonnet-4-5\"}");
  expect_same("{\"model\":[\"claude-sonnet-4-5\"]}");
  expect_same("{\"models\":\"claude-sonnet-4-5\"}");
}

Test(upstream_modelmap, non_json_bodies_pass_unchanged) {
  expect_same("");
  expect_same("model=claude-sonnet-4-5");
  expect_same("[{\"model\":\"claude-sonnet-4-5\"}]");
  expect_same("\"claude-sonnet-4-5\"");
  expect_same("{\"model\":\"claude-sonnet-4-5\"");                    /* truncated */
  expect_same("{\"model\":\"claude-sonnet-4-5\"} trailing");          /* garbage after */
  expect_same("{\"model\":\"claude-sonnet-4-5\",\"n\":01x}");         /* bad number */
  expect_same("{\"model\":\"claude-sonnet-4-5\",\"a\":[1,2}");        /* mismatched */
  expect_same("{\"model\":\"claude-sonnet-4-5\" \"x\":1}");           /* missing comma */
  expect_same("{\"model\":\"claude-sonnet-4-5\",\"s\":\"a\x01\"}");   /* control char */
}

Test(upstream_modelmap, duplicate_top_level_keys_all_rewritten) {
  expect_rw("{\"model\":\"claude-sonnet-4-5\",\"model\":\"claude-sonnet-4-5\"}",
            "{\"model\":\"glm-4.6\",\"model\":\"glm-4.6\"}");
}

/* Every prefix of a valid body is not JSON, so none may be rewritten. */
Test(upstream_modelmap, every_truncation_passes_unchanged) {
  const char *in = "{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\","
                   "\"content\":\"hi\"}],\"max_tokens\":1024}";
  size_t len = strlen(in);
  for (size_t cut = 0; cut < len; cut++) {
    char *out = NULL;
    size_t out_len = 0;
    int rc = qcc_modelmap_apply(in, cut, NULL, lookup, (void *)map, &out, &out_len);
    cr_expect_eq(rc, 0, "prefix of %zu bytes was rewritten", cut);
    free(out);
  }
  char *full = rw(in);
  cr_expect_not_null(full);
  free(full);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Random byte mutations of a real request: never a crash, and whenever the
 * body is rewritten the result is valid JSON exactly when the body was (the
 * scanner checks nested values by structure only: what is wrong inside them
 * stays for the upstream to reject), and then its top-level model is the
 * mapped name and its other members are unchanged. */
Test(upstream_modelmap, mutated_bodies_property) {
  const char *seed = "{\"model\":\"claude-sonnet-4-5\",\"stream\":true,\"metadata\":"
                     "{\"model\":\"x\"},\"messages\":[{\"role\":\"user\",\"content\":"
                     "\"a \\\"q\\\" \\u00e9\"}],\"max_tokens\":10}";
  const char alphabet[] = "{}[]\":,\\ u0aeml\x01\xc3";
  size_t slen = strlen(seed);
  char buf[256];
  int rewritten = 0;
  for (int iter = 0; iter < 20000; iter++) {
    memcpy(buf, seed, slen);
    size_t len = slen;
    int edits = 1 + (int)(rnd() % 3);
    for (int e = 0; e < edits; e++) {
      size_t at = rnd() % len;
      switch (rnd() % 3) {
      case 0: buf[at] = alphabet[rnd() % (sizeof alphabet - 1)]; break;
      case 1: memmove(buf + at, buf + at + 1, len - at - 1); len--; break;
      default:
        if (len + 1 < sizeof buf) {
          memmove(buf + at + 1, buf + at, len - at);
          buf[at] = alphabet[rnd() % (sizeof alphabet - 1)];
          len++;
        }
      }
    }
    char *out = NULL;
    size_t out_len = 0;
    int rc = qcc_modelmap_apply(buf, len, NULL, lookup, (void *)map, &out, &out_len);
    cr_assert_neq(rc, -1);
    if (rc == 0) continue;
    rewritten++;
    json_error_t jerr;
    json_t *a = json_loadb(buf, len, 0, &jerr);
    json_t *b = json_loadb(out, out_len, 0, &jerr);
    cr_assert_eq(a == NULL, b == NULL, "rewrite changed validity: %.*s", (int)len, buf);
    if (a == NULL) {
      free(out);
      continue;
    }
    json_t *m = json_object_get(b, "model");
    cr_assert(json_is_string(m));
    size_t to_len = 0;
    const char *orig = json_string_value(json_object_get(a, "model"));
    cr_assert_not_null(orig);
    const char *want = lookup((void *)map, orig, json_string_length(json_object_get(a, "model")),
                              &to_len);
    cr_assert_not_null(want);
    cr_expect_str_eq(json_string_value(m), want);
    json_object_del(a, "model");
    json_object_del(b, "model");
    cr_expect(json_equal(a, b), "other members changed");
    json_decref(a);
    json_decref(b);
    free(out);
  }
  cr_expect(rewritten > 100, "only %d mutated bodies were rewritten", rewritten);
}

/* The splice (what curl reads for a large body) gives the same bytes as the
 * copy, read from any position in pieces of any size: every piece boundary
 * falls before, inside and after each replaced span somewhere. */
Test(upstream_modelmap, splice_reads_equal_the_copy) {
  const char *const bodies[] = {
      "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10}",
      "{\"model\":\"claude-sonnet-4-5\",\"x\":1,\"model\":\"quote\",\"y\":[1,2,3]}",
      "{\"a\":\"b\",\"model\":\"claude-\\u00e9\"}",
      "{\"model\":\"claude-opus-4\",\"model\":\"claude-sonnet-4-5\"}",
  };
  for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
    const char *in = bodies[b];
    size_t len = strlen(in);
    char *want = rw(in);
    cr_assert_not_null(want, "%s is rewritten", in);
    size_t want_len = strlen(want);
    struct qcc_modelmap_splice sp;
    cr_assert_eq(qcc_modelmap_plan(in, len, NULL, lookup, (void *)map, &sp), 1);
    cr_assert_eq(sp.out_len, want_len);
    for (size_t piece = 1; piece <= want_len + 1; piece++) {
      char got[256] = {0};
      size_t pos = 0, n;
      while ((n = qcc_modelmap_copy(&sp, in, len, pos, got + pos, piece)) > 0) {
        cr_assert_leq(n, piece);
        pos += n;
        cr_assert_leq(pos, want_len);
      }
      cr_expect_eq(pos, want_len, "pieces of %zu: %zu bytes", piece, pos);
      cr_expect(memcmp(got, want, want_len) == 0, "pieces of %zu: %.*s", piece, (int)pos, got);
    }
    for (size_t from = 0; from <= want_len; from++) { /* a rewind to any offset */
      char got[256];
      size_t n = qcc_modelmap_copy(&sp, in, len, from, got, sizeof got);
      cr_expect_eq(n, want_len - from);
      cr_expect(memcmp(got, want + from, n) == 0);
    }
    qcc_modelmap_splice_free(&sp);
    cr_expect_null(sp.text);
    free(want);
  }
}

Test(upstream_modelmap, splice_of_an_unchanged_body_is_empty) {
  struct qcc_modelmap_splice sp;
  const char *in = "{\"model\":\"claude-opus-4\"}";
  cr_expect_eq(qcc_modelmap_plan(in, strlen(in), NULL, lookup, (void *)map, &sp), 0);
  cr_expect_eq(sp.n, 0);
  cr_expect_null(sp.text);
  qcc_modelmap_splice_free(&sp);
}
