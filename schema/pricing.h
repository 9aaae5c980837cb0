/* Pricing: which `pricing:` entry prices a model, and what one request cost,
 * in exact integers (docs/usage.md, "Pricing").
 *
 * Units. A rate is micro-USD per million tokens, which is exactly pico-USD
 * per token, so tokens * rate is a cost in pico-USD (1e-12 USD) with no
 * division and no rounding. The endpoint's price_multiplier is parts per
 * million; it is applied once to the sum, rounding down to a whole pico-USD
 * (an error below 1e-12 USD per request). No floating point anywhere.
 *
 * Precedence. An entry without * or ? is an exact name and beats every glob.
 * Among matching globs the one with the most literal characters (every
 * character but * and ?) wins; a tie goes to the first in file order.
 * `*` matches any run of bytes (also none), `?` exactly one byte; nothing
 * else is special and matching is case-sensitive.
 *
 * No price is never a guess: tokens of a kind the entry does not price, and
 * counts the upstream did not report (QCC_USAGE_UNKNOWN), add nothing to the
 * cost and are reported as unpriced. */
#ifndef QCC_SCHEMA_PRICING_H
#define QCC_SCHEMA_PRICING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table.h"
#include "usage.h"

#define QCC_PICO_PER_USD UINT64_C(1000000000000)
#define QCC_MULTIPLIER_ONE UINT32_C(1000000) /* price_multiplier 1.0 in ppm */

enum qcc_cost_coverage {
  QCC_COST_PRICED,   /* every token of the request has a price (also: no tokens) */
  QCC_COST_PARTLY,   /* some kinds priced, some not */
  QCC_COST_UNPRICED, /* no price for any token (model not in pricing:, or nothing known) */
};

struct qcc_cost {
  uint64_t pico_usd;      /* cost of the priced tokens, multiplier applied */
  uint8_t coverage;       /* enum qcc_cost_coverage */
  uint8_t unpriced_kinds; /* bit (1 << enum qcc_price_kind): tokens of that kind carry no cost */
  bool overflow;          /* the cost did not fit: pico_usd is UINT64_MAX (absurd counts) */
  uint64_t unpriced_tokens; /* known token counts that had no price (unknown counts excluded) */
};

/* Index of the entry that prices MODEL (rules above), or -1. */
int64_t qcc_pricing_find(const struct qcc_table *t, const char *model);
/* The same as a pointer into T, or NULL. */
const struct qcc_tbl_price *qcc_pricing_lookup(const struct qcc_table *t, const char *model);

/* The endpoint's price_multiplier in ppm; 0 (a table built without the
 * field) reads as QCC_MULTIPLIER_ONE. qccc always writes it. */
uint32_t qcc_pricing_multiplier(const struct qcc_tbl_endpoint *e);

/* Does glob PATTERN match NAME (whole string, * and ? only)? */
bool qcc_pricing_glob_match(const char *pattern, const char *name);
/* Characters of PATTERN that are not * or ?: its specificity. */
size_t qcc_pricing_literals(const char *pattern);

/* Cost of TOK at PRICE (NULL: the model has no price) times MULTIPLIER_PPM
 * (QCC_MULTIPLIER_ONE = list price; the endpoint's price_multiplier). Pure:
 * the same inputs always give the same struct. */
void qcc_pricing_cost(const struct qcc_tbl_price *price, const struct qcc_usage_tokens *tok,
                      uint32_t multiplier_ppm, struct qcc_cost *out);

/* Millionths as a decimal: 500000 -> "0.5", 3750000 -> "3.75", 1000000 -> "1".
 * Prices (USD/MTok), multipliers and budgets (USD) are written this way. */
void qcc_decimal_text(uint64_t millionths, char *buf, size_t cap);
/* Pico-USD as USD with up to 12 decimals, trailing zeros dropped: "0.0105". */
void qcc_pico_usd_text(uint64_t pico, char *buf, size_t cap);

#endif
