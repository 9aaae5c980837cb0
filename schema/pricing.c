/* Price lookup and cost arithmetic (pricing.h, docs/usage.md "Pricing"). */
#include "pricing.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool qcc_pricing_glob_match(const char *p, const char *s) {
  /* Greedy with one backtrack point: the last '*' seen. Linear in practice,
   * never recursive, so a hostile pattern cannot blow the stack. */
  const char *star = NULL, *resume = NULL;
  while (*s != '\0') {
    if (*p == '*') {
      star = p++;
      resume = s;
    } else if (*p == '?' || *p == *s) {
      p++;
      s++;
    } else if (star != NULL) {
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (*p == '*') p++;
  return *p == '\0';
}

size_t qcc_pricing_literals(const char *p) {
  size_t n = 0;
  for (; *p != '\0'; p++)
    if (*p != '*' && *p != '?') n++;
  return n;
}

static bool is_glob(const char *p) { return strpbrk(p, "*?") != NULL; }

int64_t qcc_pricing_find(const struct qcc_table *t, const char *model) {
  if (t == NULL || model == NULL) return -1;
  int64_t best = -1;
  size_t best_lit = 0;
  uint32_t n = qcc_table_price_count(t);
  for (uint32_t i = 0; i < n; i++) {
    const char *pat = qcc_table_str(t, qcc_table_price(t, i)->model);
    if (!is_glob(pat)) {
      if (strcmp(pat, model) == 0) return i; /* exact beats any glob */
      continue;
    }
    size_t lit = qcc_pricing_literals(pat);
    if ((best < 0 || lit > best_lit) && qcc_pricing_glob_match(pat, model)) {
      best = i;
      best_lit = lit;
    }
  }
  return best;
}

const struct qcc_tbl_price *qcc_pricing_lookup(const struct qcc_table *t, const char *model) {
  int64_t i = qcc_pricing_find(t, model);
  return i < 0 ? NULL : qcc_table_price(t, (uint32_t)i);
}

uint32_t qcc_pricing_multiplier(const struct qcc_tbl_endpoint *e) {
  return e == NULL || e->price_multiplier == 0 ? QCC_MULTIPLIER_ONE : e->price_multiplier;
}

void qcc_pricing_cost(const struct qcc_tbl_price *price, const struct qcc_usage_tokens *tok,
                      uint32_t multiplier_ppm, struct qcc_cost *out) {
  memset(out, 0, sizeof *out);
  const int64_t count[QCC_PRICE_KINDS] = {tok->input, tok->output, tok->cache_write_5m,
                                          tok->cache_write_1h, tok->cache_read};
  const uint64_t rate[QCC_PRICE_KINDS] = {
      price ? price->input : 0, price ? price->output : 0, price ? price->cache_write_5m : 0,
      price ? price->cache_write_1h : 0, price ? price->cache_read : 0};
  /* 2^63 tokens * 1e12 pico-USD stays far below 2^128: the sum is exact. */
  unsigned __int128 sum = 0;
  bool any_priced = false;
  for (unsigned k = 0; k < QCC_PRICE_KINDS; k++) {
    bool known = count[k] >= 0; /* anything negative is unknown, not a refund */
    bool has_price = price != NULL && ((price->priced >> k) & 1) != 0;
    if (known && count[k] == 0) continue; /* nothing to price */
    if (!known || !has_price) {
      out->unpriced_kinds |= (uint8_t)(1u << k);
      if (known) out->unpriced_tokens += (uint64_t)count[k];
      continue;
    }
    sum += (unsigned __int128)(uint64_t)count[k] * rate[k];
    any_priced = true;
  }
  unsigned __int128 cost = sum * multiplier_ppm / QCC_MULTIPLIER_ONE; /* rounds down */
  if (cost > UINT64_MAX) {
    out->pico_usd = UINT64_MAX;
    out->overflow = true;
  } else {
    out->pico_usd = (uint64_t)cost;
  }
  if (price == NULL || (!any_priced && out->unpriced_kinds != 0))
    out->coverage = QCC_COST_UNPRICED;
  else if (out->unpriced_kinds != 0)
    out->coverage = QCC_COST_PARTLY;
  else
    out->coverage = QCC_COST_PRICED;
}

static void fixed_text(uint64_t v, uint64_t one, int places, char *buf, size_t cap) {
  uint64_t frac = v % one;
  if (frac == 0) {
    snprintf(buf, cap, "%" PRIu64, v / one);
    return;
  }
  int digits = places;
  while (frac % 10 == 0) {
    frac /= 10;
    digits--;
  }
  snprintf(buf, cap, "%" PRIu64 ".%0*" PRIu64, v / one, digits, frac);
}

void qcc_decimal_text(uint64_t millionths, char *buf, size_t cap) {
  fixed_text(millionths, 1000000, 6, buf, cap);
}

void qcc_pico_usd_text(uint64_t pico, char *buf, size_t cap) {
  fixed_text(pico, QCC_PICO_PER_USD, 12, buf, cap);
}
