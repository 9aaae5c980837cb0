#include "select.h"

#include <stdbool.h>
#include <stdio.h>

#include "keystore.h"
#include "schema/enums.h"

static bool was_tried(const struct qcc_select_in *in, uint32_t i) {
  for (size_t k = 0; k < in->tried_count; k++)
    if (in->tried[k] == i) return true;
  return false;
}

int qcc_select_endpoint(const struct qcc_select_in *in, struct qcc_select_out *out) {
  const struct qcc_table *t = in->gen->table;
  out->ep = NULL;
  out->key = NULL;
  out->reason = NULL;
  out->why_buf[0] = '\0';
  /* First reason seen, to tell the operator why the best candidate is out. */
  const char *first_id = NULL;
  const char *first_why = NULL;
  uint32_t np = qcc_table_profile_count(t);
  for (unsigned g = 0; g < QCC_GROUP_COUNT; g++) {
    for (uint32_t p = 0; p < np; p++) {
      const struct qcc_tbl_profile *pr = qcc_table_profile(t, p);
      if (pr->group != g || !pr->enabled) continue;
      for (uint32_t k = 0; k < pr->endpoint_count; k++) {
        uint32_t i = pr->endpoint_first + k;
        const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(t, i);
        if (!ep->enabled || was_tried(in, i)) continue;
        const char *why = NULL;
        const char *key = qcc_keystore_endpoint_key(in->gen->keys, i, &why);
        if (key == NULL) {
          if (first_id == NULL) {
            first_id = qcc_table_str(t, ep->id);
            first_why = why;
          }
          continue;
        }
        out->endpoint = i;
        out->ep = ep;
        out->key = key;
        return 0;
      }
    }
  }
  if (first_id != NULL)
    snprintf(out->why_buf, sizeof out->why_buf, "no upstream endpoint is available (%s: %s)",
             first_id, first_why != NULL ? first_why : "key not resolved");
  else if (in->tried_count > 0)
    snprintf(out->why_buf, sizeof out->why_buf,
             "no upstream endpoint is available (every enabled endpoint was tried)");
  else
    snprintf(out->why_buf, sizeof out->why_buf,
             "no upstream endpoint is available (none is enabled)");
  out->reason = out->why_buf;
  return -1;
}
