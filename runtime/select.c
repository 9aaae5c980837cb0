#include "select.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "headers.h"
#include "keystore.h"
#include "schema/enums.h"

struct has_key_ctx {
  const struct qcc_router *router;
  const struct qcc_generation *gen;
};

/* Index of router endpoint IDX in the pinned table, or -1. */
static int64_t map_endpoint(const struct qcc_router *r, const struct qcc_generation *g,
                            uint32_t idx) {
  uint64_t sid = qcc_router_stable_id(r, idx);
  return sid == 0 ? -1 : qcc_table_find_endpoint(g->table, sid);
}

static bool has_key(void *ctx, uint32_t idx) {
  const struct has_key_ctx *h = ctx;
  int64_t i = map_endpoint(h->router, h->gen, idx);
  if (i < 0) return false;
  const char *why = NULL;
  return qcc_keystore_endpoint_key(h->gen->keys, (uint32_t)i, &why) != NULL;
}

/* Why nothing could be picked, naming an endpoint and never a key. */
static void explain(const struct qcc_select_in *in, struct qcc_select_out *out) {
  const struct qcc_table *t = in->gen->table;
  const char *first_id = NULL, *first_why = NULL;
  bool any_enabled = false;
  for (uint32_t i = 0; i < qcc_table_endpoint_count(t); i++) {
    const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(t, i);
    const struct qcc_tbl_profile *pr = qcc_table_profile(t, ep->profile_index);
    if (!ep->enabled || !pr->enabled) continue;
    any_enabled = true;
    const char *why = NULL;
    if (first_id == NULL && qcc_keystore_endpoint_key(in->gen->keys, i, &why) == NULL) {
      first_id = qcc_table_str(t, ep->id);
      first_why = why;
    }
  }
  if (!any_enabled)
    snprintf(out->why_buf, sizeof out->why_buf,
             "no upstream endpoint is available (none is enabled)");
  else if (out->pick.result == QCC_PICK_NO_ENDPOINT && first_id != NULL)
    snprintf(out->why_buf, sizeof out->why_buf, "no upstream endpoint is available (%s: %s)",
             first_id, first_why != NULL ? first_why : "key not resolved");
  else
    snprintf(out->why_buf, sizeof out->why_buf, "no upstream endpoint is available (%s)",
             qcc_pick_result_name(out->pick.result));
  out->reason = out->why_buf;
}

int qcc_select_endpoint(const struct qcc_select_in *in, struct qcc_select_out *out) {
  out->ep = NULL;
  out->key = NULL;
  out->reason = NULL;
  out->why_buf[0] = '\0';
  struct has_key_ctx hk = {in->router, in->gen};
  struct qcc_pick_req req = {.session_key = in->session_key, .has_key = has_key,
                             .has_key_ctx = &hk};
  for (size_t i = 0; i < in->tried_count && req.tried_count < QCC_PICK_TRIED_MAX; i++)
    req.tried[req.tried_count++] = in->tried[i];
  if (qcc_router_pick(in->router, &req, in->now, &out->pick) != 0) {
    explain(in, out);
    return -1;
  }
  /* has_key() already checked the pinned table has it, with a key */
  int64_t i = map_endpoint(in->router, in->gen, out->pick.endpoint);
  const char *why = NULL;
  const char *key = i < 0 ? NULL : qcc_keystore_endpoint_key(in->gen->keys, (uint32_t)i, &why);
  if (key == NULL) {
    out->pick.result = QCC_PICK_NO_ENDPOINT;
    explain(in, out);
    return -1;
  }
  out->endpoint = (uint32_t)i;
  out->ep = qcc_table_endpoint(in->gen->table, (uint32_t)i);
  out->key = key;
  return 0;
}

static size_t copy_key(char *buf, size_t cap, const char *s, size_t n) {
  if (cap == 0) return 0;
  if (n >= cap) n = cap - 1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  return n;
}

size_t qcc_select_session_key(const struct qcc_request *req, const struct qcc_jsonscan_facts *facts,
                              char *buf, size_t cap) {
  if (req == NULL) return 0;
  for (size_t i = 0; i < req->header_count; i++) {
    const struct qcc_header *h = &req->headers[i];
    if (h->value_len > 0 && qcc_hdr_name_is(h->name, h->name_len, "x-claude-code-session-id"))
      return copy_key(buf, cap, h->value, h->value_len);
  }
  if (facts == NULL || !facts->has_user_id || req->body == NULL || cap == 0) return 0;
  /* decoded, then cut at CAP - 1 like a header value; ids past 1 KiB are no key */
  char tmp[QCC_SESSION_KEY_MAX * 4];
  const struct qcc_json_span *sp = &facts->user_id;
  if (sp->off > req->body_len || req->body_len - sp->off < sp->len) return 0;
  long n = qcc_jsonscan_decode(req->body + sp->off, sp->len, tmp, sizeof tmp);
  if (n <= 0) return 0;
  return copy_key(buf, cap, tmp, (size_t)n);
}
