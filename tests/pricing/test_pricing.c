/* schema/pricing.h on a config compiled by the real frontend: which entry
 * prices a model, and the cost of requests worked out by hand below. Rates
 * are USD per million tokens = micro-USD per token... per million, so 1 token
 * at $15/MTok costs 15,000,000 pico-USD. */
#include <criterion/criterion.h>
#include <string.h>

#include "pfix.h"
#include "schema/pricing.h"

#define U QCC_USAGE_UNKNOWN

/* Anthropic's list prices (platform.claude.com pricing page, 2026-12-06),
 * Haiku without a 1h cache-write price on purpose. */
static const char fixture[] =
    "version: 1\n"
    "pricing:\n"
    "  claude-opus-4-1: {input: 15, output: 75, cache_write_5m: 18.75, cache_write_1h: 30, cache_read: 1.5}\n"
    "  \"claude-sonnet-4*\": {input: 3, output: 15, cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.30}\n"
    "  \"claude-haiku-4-5*\":\n"
    "    input: 1\n"
    "    output: 5\n"
    "    cache_write_5m: 1.25\n"
    "    cache_read: 0.1\n"
    "profiles:\n"
    "  - name: p\n"
    "    endpoints:\n"
    "      - {id: list, base_url: \"https://a.example.com\", api_key_env: K}\n"
    "      - {id: relay, base_url: \"https://b.example.com\", api_key_env: K, price_multiplier: 0.5}\n";

static struct qcc_usage_tokens toks(int64_t in, int64_t out, int64_t w5, int64_t w1, int64_t rd) {
  struct qcc_usage_tokens t = {in, out, w5, w1, rd};
  return t;
}

static struct qcc_cost cost_of(const struct qcc_table *t, const char *model, struct qcc_usage_tokens u,
                               uint32_t ep) {
  struct qcc_cost c;
  qcc_pricing_cost(qcc_pricing_lookup(t, model), &u, qcc_pricing_multiplier(qcc_table_endpoint(t, ep)), &c);
  return c;
}

Test(pricing, table_carries_rates_in_micro_usd_per_mtok) {
  struct pfix f = pfix_build(fixture);
  cr_assert_eq(qcc_table_price_count(f.t), 3);
  const struct qcc_tbl_price *o = qcc_table_price(f.t, 0);
  cr_assert_str_eq(qcc_table_str(f.t, o->model), "claude-opus-4-1");
  cr_assert_eq(o->input, 15000000);
  cr_assert_eq(o->cache_write_5m, 18750000);
  cr_assert_eq(o->cache_read, 1500000);
  cr_assert_eq(o->priced, 0x1f);
  const struct qcc_tbl_price *h = qcc_table_price(f.t, 2);
  cr_assert_eq(h->priced, 0x17, "no cache_write_1h bit");
  cr_assert_eq(h->cache_write_1h, 0);
  cr_assert_eq(h->cache_read, 100000);
  cr_assert_eq(qcc_table_endpoint(f.t, 0)->price_multiplier, 1000000);
  cr_assert_eq(qcc_table_endpoint(f.t, 1)->price_multiplier, 500000);
  pfix_free(&f);
}

Test(pricing, opus_every_kind_by_hand) {
  struct pfix f = pfix_build(fixture);
  /* 1000*15 + 500*75 + 2000*18.75 + 3000*30 + 10000*1.5 micro-USD
   * = 15000 + 37500 + 37500 + 90000 + 15000 = 195000 micro-USD = $0.195 */
  struct qcc_cost c = cost_of(f.t, "claude-opus-4-1", toks(1000, 500, 2000, 3000, 10000), 0);
  cr_assert_eq(c.pico_usd, UINT64_C(195000000000));
  cr_assert_eq(c.coverage, QCC_COST_PRICED);
  cr_assert_eq(c.unpriced_kinds, 0);
  cr_assert(!c.overflow);
  /* the relay charges half: $0.0975 */
  c = cost_of(f.t, "claude-opus-4-1", toks(1000, 500, 2000, 3000, 10000), 1);
  cr_assert_eq(c.pico_usd, UINT64_C(97500000000));
  char buf[64];
  qcc_pico_usd_text(c.pico_usd, buf, sizeof buf);
  cr_assert_str_eq(buf, "0.0975");
  pfix_free(&f);
}

Test(pricing, five_minute_and_one_hour_cache_writes_differ) {
  struct pfix f = pfix_build(fixture);
  /* a million cache-write tokens on Sonnet: $3.75 for 5m, $6 for 1h */
  struct qcc_cost a = cost_of(f.t, "claude-sonnet-4-5", toks(0, 0, 1000000, 0, 0), 0);
  struct qcc_cost b = cost_of(f.t, "claude-sonnet-4-5", toks(0, 0, 0, 1000000, 0), 0);
  cr_assert_eq(a.pico_usd, UINT64_C(3750000000000));
  cr_assert_eq(b.pico_usd, UINT64_C(6000000000000));
  /* cache reads a tenth of input: 1,000,000 * 0.30 = $0.30 */
  struct qcc_cost r = cost_of(f.t, "claude-sonnet-4-5-20250929", toks(0, 0, 0, 0, 1000000), 0);
  cr_assert_eq(r.pico_usd, UINT64_C(300000000000));
  pfix_free(&f);
}

Test(pricing, a_kind_without_price_is_reported_not_guessed) {
  struct pfix f = pfix_build(fixture);
  /* Haiku: 100 input ($1) + 10 output ($5) = 100 + 50 micro-USD; the 100
   * 1h writes have no price */
  struct qcc_cost c = cost_of(f.t, "claude-haiku-4-5", toks(100, 10, 0, 100, 0), 0);
  cr_assert_eq(c.pico_usd, UINT64_C(150000000));
  cr_assert_eq(c.coverage, QCC_COST_PARTLY);
  cr_assert_eq(c.unpriced_kinds, 1u << QCC_PRICE_CACHE_WRITE_1H);
  cr_assert_eq(c.unpriced_tokens, 100);
  /* no 1h tokens at all: fully priced */
  c = cost_of(f.t, "claude-haiku-4-5", toks(100, 10, 0, 0, 0), 0);
  cr_assert_eq(c.coverage, QCC_COST_PRICED);
  pfix_free(&f);
}

Test(pricing, unknown_counts_are_unpriced_parts) {
  struct pfix f = pfix_build(fixture);
  /* output never reported: the input still costs 1000 * $3 = 3000 micro-USD */
  struct qcc_cost c = cost_of(f.t, "claude-sonnet-4-5", toks(1000, U, 0, 0, 0), 0);
  cr_assert_eq(c.pico_usd, UINT64_C(3000000000));
  cr_assert_eq(c.coverage, QCC_COST_PARTLY);
  cr_assert_eq(c.unpriced_kinds, 1u << QCC_PRICE_OUTPUT);
  cr_assert_eq(c.unpriced_tokens, 0, "an unknown count is not a count");
  /* nothing known: nothing priced */
  c = cost_of(f.t, "claude-sonnet-4-5", toks(U, U, U, U, U), 0);
  cr_assert_eq(c.pico_usd, 0);
  cr_assert_eq(c.coverage, QCC_COST_UNPRICED);
  cr_assert_eq(c.unpriced_kinds, 0x1f);
  /* any other negative number is unknown too, never a refund */
  c = cost_of(f.t, "claude-sonnet-4-5", toks(-7, 10, 0, 0, 0), 0);
  cr_assert_eq(c.pico_usd, UINT64_C(150000000));
  cr_assert_eq(c.unpriced_kinds, 1u << QCC_PRICE_INPUT);
  pfix_free(&f);
}

Test(pricing, a_model_without_price_costs_nothing_and_says_so) {
  struct pfix f = pfix_build(fixture);
  cr_assert_eq(qcc_pricing_find(f.t, "gpt-5"), -1);
  cr_assert_eq(qcc_pricing_find(f.t, "claude-opus-4-10"), -1, "exact names are exact");
  struct qcc_cost c = cost_of(f.t, "glm-4.7", toks(1000, 1000, 0, 0, 0), 0);
  cr_assert_eq(c.pico_usd, 0);
  cr_assert_eq(c.coverage, QCC_COST_UNPRICED);
  cr_assert_eq(c.unpriced_tokens, 2000);
  pfix_free(&f);
}

Test(pricing, multiplier_rounds_the_sum_down_once) {
  struct qcc_tbl_price p;
  memset(&p, 0, sizeof p);
  p.input = 1; /* 0.000001 USD/MTok = 1 pico-USD per token */
  p.priced = 1u << QCC_PRICE_INPUT;
  struct qcc_usage_tokens t = {3, 0, 0, 0, 0};
  struct qcc_cost c;
  qcc_pricing_cost(&p, &t, 500000, &c); /* 1.5 pico-USD -> 1 */
  cr_assert_eq(c.pico_usd, 1);
  qcc_pricing_cost(&p, &t, 1000000, &c);
  cr_assert_eq(c.pico_usd, 3);
  qcc_pricing_cost(&p, &t, 2500000, &c); /* 7.5 -> 7 */
  cr_assert_eq(c.pico_usd, 7);
}

Test(pricing, absurd_counts_saturate_and_say_so) {
  struct qcc_tbl_price p;
  memset(&p, 0, sizeof p);
  p.output = QCC_PRICE_MAX;
  p.priced = 1u << QCC_PRICE_OUTPUT;
  struct qcc_usage_tokens t = {0, INT64_MAX, 0, 0, 0};
  struct qcc_cost c;
  qcc_pricing_cost(&p, &t, QCC_MULTIPLIER_ONE, &c);
  cr_assert(c.overflow);
  cr_assert_eq(c.pico_usd, UINT64_MAX);
  cr_assert_eq(c.coverage, QCC_COST_PRICED);
  /* the largest count that fits: 18,446,744 tokens at the top rate */
  t.output = 18446744;
  qcc_pricing_cost(&p, &t, QCC_MULTIPLIER_ONE, &c);
  cr_assert(!c.overflow);
  cr_assert_eq(c.pico_usd, UINT64_C(18446744) * QCC_PRICE_MAX);
}

Test(pricing, no_price_struct_is_unpriced_even_without_tokens) {
  struct qcc_usage_tokens t = {0, 0, 0, 0, 0};
  struct qcc_cost c;
  qcc_pricing_cost(NULL, &t, QCC_MULTIPLIER_ONE, &c);
  cr_assert_eq(c.coverage, QCC_COST_UNPRICED);
  cr_assert_eq(c.pico_usd, 0);
}

/* ---- precedence ------------------------------------------------------------- */

static const char precedence[] =
    "version: 1\n"
    "pricing:\n"
    "  \"*\": {input: 1, output: 1}\n"
    "  \"claude-*\": {input: 2, output: 2}\n"
    "  \"claude-sonnet-4*\": {input: 3, output: 3}\n"
    "  claude-sonnet-4-5: {input: 4, output: 4}\n"
    "  \"claude-sonnet-4-?\": {input: 5, output: 5}\n"
    "  \"ab*\": {input: 6, output: 6}\n"
    "  \"a*c\": {input: 7, output: 7}\n"
    "  \"模型-*\": {input: 8, output: 8}\n"
    "profiles:\n"
    "  - name: p\n"
    "    endpoints: [{id: e, base_url: \"https://a.example.com\", api_key_env: K}]\n";

Test(pricing, exact_beats_globs_then_most_literals_then_file_order) {
  struct pfix f = pfix_build(precedence);
  /* exact, although three globs and "*" match too */
  cr_assert_eq(qcc_pricing_find(f.t, "claude-sonnet-4-5"), 3);
  /* "claude-sonnet-4-?" (16 literals) beats "claude-sonnet-4*" (15) */
  cr_assert_eq(qcc_pricing_find(f.t, "claude-sonnet-4-6"), 4);
  /* only "claude-sonnet-4*" of the sonnet globs matches a dated name */
  cr_assert_eq(qcc_pricing_find(f.t, "claude-sonnet-4-5-20250929"), 2);
  cr_assert_eq(qcc_pricing_find(f.t, "claude-opus-4-1"), 1);
  cr_assert_eq(qcc_pricing_find(f.t, "gpt-5"), 0);
  /* "ab*" and "a*c" both have 2 literals: the first in the file wins */
  cr_assert_eq(qcc_pricing_find(f.t, "abc"), 5);
  cr_assert_eq(qcc_pricing_find(f.t, "aXc"), 6);
  /* bytes, so a non-ASCII name works like any other */
  cr_assert_eq(qcc_pricing_find(f.t, "模型-x"), 7);
  pfix_free(&f);
}

Test(pricing, glob_matcher) {
  cr_assert(qcc_pricing_glob_match("*", ""));
  cr_assert(qcc_pricing_glob_match("*", "anything"));
  cr_assert(qcc_pricing_glob_match("a*b*c", "aXXbYYc"));
  cr_assert(qcc_pricing_glob_match("a*b*c", "abc"));
  cr_assert(!qcc_pricing_glob_match("a*b*c", "aXXbYY"));
  cr_assert(qcc_pricing_glob_match("claude-?-x", "claude-3-x"));
  cr_assert(!qcc_pricing_glob_match("claude-?-x", "claude--x"));
  cr_assert(!qcc_pricing_glob_match("claude-opus-4*", "claude-opus-3"));
  cr_assert(!qcc_pricing_glob_match("Claude*", "claude-opus-4"), "case-sensitive");
  cr_assert(qcc_pricing_glob_match("*-4-5", "claude-haiku-4-5-4-5"));
  cr_assert_eq(qcc_pricing_literals("claude-*-4?"), 9);
  /* a pathological pattern stays cheap (no recursion, no blow-up) */
  char name[4001];
  memset(name, 'a', 4000);
  name[4000] = '\0';
  cr_assert(!qcc_pricing_glob_match("*a*a*a*a*a*a*a*a*b", name));
}

Test(pricing, decimal_text) {
  char b[64];
  qcc_decimal_text(500000, b, sizeof b);
  cr_assert_str_eq(b, "0.5");
  qcc_decimal_text(18750000, b, sizeof b);
  cr_assert_str_eq(b, "18.75");
  qcc_decimal_text(1, b, sizeof b);
  cr_assert_str_eq(b, "0.000001");
  qcc_decimal_text(3000000, b, sizeof b);
  cr_assert_str_eq(b, "3");
  qcc_pico_usd_text(1, b, sizeof b);
  cr_assert_str_eq(b, "0.000000000001");
  qcc_pico_usd_text(UINT64_C(195000000000), b, sizeof b);
  cr_assert_str_eq(b, "0.195");
}

/* ---- docs/usage.md ("Pricing"): the worked examples are what the code computes ------- */

#include <stdio.h>
#include <stdlib.h>

#include "schema/config_schema.h"

static int64_t count_cell(const char *s) {
  return strcmp(s, "unknown") == 0 ? U : strtoll(s, NULL, 10);
}

Test(pricing, worked_examples_in_the_doc_hold) {
  const char *root = getenv("QCC_SOURCE_ROOT");
  cr_assert_not_null(root, "QCC_SOURCE_ROOT not set");
  char path[4096];
  snprintf(path, sizeof path, "%s/docs/usage.md", root);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s", path);
  char line[1024], yaml[4096] = "version: 1\n";
  bool in_section = false, in_yaml = false, yaml_done = false;
  struct pfix fx = {NULL, NULL};
  size_t rows = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "### ", 4) == 0 || strncmp(line, "## ", 3) == 0) {
      in_section = strcmp(line, "### Worked examples\n") == 0;
      continue;
    }
    if (!in_section) continue;
    if (!yaml_done && strcmp(line, "```yaml\n") == 0) {
      in_yaml = true;
      continue;
    }
    if (in_yaml) {
      if (strcmp(line, "```\n") == 0) {
        in_yaml = false;
        yaml_done = true;
        size_t used = strlen(yaml);
        snprintf(yaml + used, sizeof yaml - used, "%s",
                 "profiles:\n  - name: p\n    endpoints:\n"
                 "      - {id: e, base_url: \"https://a.example.com\", api_key_env: K}\n");
        fx = pfix_build(yaml);
      } else {
        size_t used = strlen(yaml);
        cr_assert_lt(used + strlen(line), sizeof yaml - 200);
        snprintf(yaml + used, sizeof yaml - used, "%s", line);
      }
      continue;
    }
    if (line[0] != '|' || strncmp(line, "| model", 7) == 0 || strncmp(line, "|---", 4) == 0) continue;
    cr_assert(yaml_done, "the table comes after its pricing block");
    char *cell[9], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(line, "|\n", &save); t != NULL && n < 9; t = strtok_r(NULL, "|\n", &save)) {
      while (*t == ' ') t++;
      char *e = t + strlen(t);
      while (e > t && e[-1] == ' ') *--e = '\0';
      cell[n++] = t;
    }
    cr_assert_eq(n, 9, "a worked example has 9 cells");
    struct qcc_usage_tokens u = {count_cell(cell[1]), count_cell(cell[2]), count_cell(cell[3]),
                                 count_cell(cell[4]), count_cell(cell[5])};
    struct qcc_knob_value mv;
    cr_assert_eq(qcc_knob_parse(&qcc_knobs[QCC_K_EP_PRICE_MULTIPLIER], cell[6], &mv), QCC_KNOB_OK);
    struct qcc_cost c;
    qcc_pricing_cost(qcc_pricing_lookup(fx.t, cell[0]), &u, (uint32_t)mv.num, &c);
    char got[64];
    qcc_pico_usd_text(c.pico_usd, got, sizeof got);
    cr_expect_str_eq(got, cell[7], "%s: cost %s, the doc says %s", cell[0], got, cell[7]);
    static const char *const cov[] = {"priced", "partly", "not priced"};
    cr_expect_str_eq(cov[c.coverage], cell[8], "%s: coverage", cell[0]);
    rows++;
  }
  fclose(f);
  cr_assert_geq(rows, 8, "worked examples found: %zu", rows);
  pfix_free(&fx);
}

/* ---- qccc show / diff of prices ------------------------------------------------ */

#include "compiler/diff.h"
#include "compiler/show.h"

static char *diff_text(const char *ya, const char *yb, size_t *count) {
  struct pfix a = pfix_build(ya), b = pfix_build(yb);
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  *count = qcc_diff_tables(a.t, b.t, m);
  fclose(m);
  pfix_free(&a);
  pfix_free(&b);
  return text;
}

#define PROFILE "profiles:\n  - name: p\n    endpoints: [{id: e, base_url: \"https://a.example.com\", api_key_env: K}]\n"

Test(pricing, diff_names_every_price_change) {
  size_t n = 0;
  char *t = diff_text("version: 1\npricing:\n  a: {input: 1, output: 2, cache_read: 0.1}\n  b: {input: 1, output: 1}\n" PROFILE,
                      "version: 1\npricing:\n  a: {input: 1, output: 2.5}\n  c: {input: 0, output: 0}\n" PROFILE, &n);
  cr_assert_eq(n, 4, "%s", t);
  cr_assert_not_null(strstr(t, "~ price a output: 2 -> 2.5\n"), "%s", t);
  cr_assert_not_null(strstr(t, "~ price a cache_read: 0.1 -> no price\n"), "%s", t);
  cr_assert_not_null(strstr(t, "- price b\n"), "%s", t);
  cr_assert_not_null(strstr(t, "+ price c\n"), "%s", t);
  free(t);
  t = diff_text("version: 1\npricing:\n  a: {input: 1, output: 2}\n" PROFILE,
                "version: 1\npricing: {a: {output: 2.000000, input: 1.0}}\n" PROFILE, &n);
  cr_assert_eq(n, 0, "the same prices written otherwise: %s", t);
  free(t);
}

Test(pricing, show_prints_no_price_for_a_missing_kind) {
  struct pfix f = pfix_build(fixture);
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  qcc_show_text(f.t, "t", m);
  fclose(m);
  cr_assert_not_null(strstr(text, "  price claude-haiku-4-5*\n    input: 1\n    output: 5\n"
                                  "    cache_write_5m: 1.25\n    cache_write_1h: no price\n"
                                  "    cache_read: 0.1\n"), "%s", text);
  cr_assert_not_null(strstr(text, "    price_multiplier: 0.5\n"), "%s", text);
  json_t *j = qcc_show_json(f.t, "t");
  json_t *h = json_array_get(json_object_get(j, "pricing"), 2);
  cr_assert(json_is_null(json_object_get(h, "cache_write_1h")));
  cr_assert_float_eq(json_real_value(json_object_get(h, "cache_write_5m")), 1.25, 1e-12);
  json_decref(j);
  free(text);
  pfix_free(&f);
}
