/* The TODAY cell (todaycell.h). */
#include "compiler/todaycell.h"

#include <stdio.h>
#include <stdlib.h>

/* USD amounts are exact decimal strings, token counts integers. */
static double num(const json_t *v) {
  return json_is_string(v) ? strtod(json_string_value(v), NULL) : json_number_value(v);
}

/* Rounded for a glance; --json has the exact figures. */
void qccc_today_cell(const json_t *e, char *out, size_t cap) {
  const json_t *td = json_object_get(e, "today"), *b = json_object_get(e, "budget");
  if (!json_is_object(td)) {
    snprintf(out, cap, "-");
    return;
  }
  double tok = (double)json_integer_value(json_object_get(td, "tokens")), usd = num(json_object_get(td, "cost_usd"));
  char t[24], u[24], l[32] = "";
  if (tok < 1e3) snprintf(t, sizeof t, "%.0f", tok);
  else if (tok < 1e6) snprintf(t, sizeof t, "%.1fk", tok / 1e3);
  else if (tok < 1e9) snprintf(t, sizeof t, "%.1fM", tok / 1e6);
  else snprintf(t, sizeof t, "%.1fG", tok / 1e9);
  if (usd == 0) snprintf(u, sizeof u, "$0");
  else if (usd < 0.01) snprintf(u, sizeof u, "$%.4f", usd);
  else snprintf(u, sizeof u, "$%.2f", usd);
  if (json_is_object(b)) {
    /* the tightest cap: the smallest share left */
    static const char *const caps[3][2] = {{"daily_usd", "daily_usd_left"},
                                           {"monthly_usd", "monthly_usd_left"},
                                           {"daily_tokens", "daily_tokens_left"}};
    double share = 2;
    for (size_t k = 0; k < 3; k++) {
      const json_t *cap_j = json_object_get(b, caps[k][0]), *left_j = json_object_get(b, caps[k][1]);
      double lim = num(cap_j), left = num(left_j);
      if ((json_is_string(cap_j) || json_is_integer(cap_j)) && lim > 0 && left / lim < share)
        share = left / lim;
    }
    if (json_is_string(json_object_get(b, "spent_until"))) snprintf(l, sizeof l, " budget spent");
    else if (share <= 1) snprintf(l, sizeof l, " %.0f%% left", share * 100);
  }
  snprintf(out, cap, "%s tok %s%s", t, u, l);
}

