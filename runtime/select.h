/* select_endpoint: the one seam that decides which endpoint a request goes
 * to. For now: the first enabled endpoint, in group order primary ->
 * secondary -> fallback (profiles in table order inside a group, endpoints in
 * profile order), whose key resolved and which this request has not tried
 * yet. The routing issue (balancing, breakers, health) replaces the body of
 * qcc_select_endpoint, not its callers. */
#ifndef QCC_RUNTIME_SELECT_H
#define QCC_RUNTIME_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "exchange.h"

struct qcc_select_in {
  const struct qcc_generation *gen;  /* table + keys the request is pinned to */
  const struct qcc_request *req;     /* for sticky sessions later; may be NULL */
  const uint32_t *tried;             /* endpoint indexes already attempted */
  size_t tried_count;
};

struct qcc_select_out {
  uint32_t endpoint;                 /* index into the table's ENDPOINTS */
  const struct qcc_tbl_endpoint *ep;
  const char *key;                   /* resolved key ("" = the endpoint takes none) */
  /* When nothing is available: why, naming an endpoint and never a key.
   * Points into OUT->why_buf or the keystore; valid while the generation is. */
  const char *reason;
  char why_buf[256];
};

/* 0 with OUT filled, or -1 when no endpoint is available (OUT->reason set). */
int qcc_select_endpoint(const struct qcc_select_in *in, struct qcc_select_out *out);

#endif
