#include "uphead.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "headers.h"

static enum qcc_uphead_step store(struct qcc_uphead *h, const char *line, size_t len) {
  if (h->len + len > QCC_UPHEAD_MAX) return QCC_UPHEAD_TOO_BIG;
  if (h->len + len + 2 > h->cap) { /* a LF may be added, and the NUL */
    size_t cap = h->cap == 0 ? 1024 : h->cap;
    while (cap < h->len + len + 2) cap *= 2;
    char *nb = realloc(h->buf, cap);
    if (nb == NULL) return QCC_UPHEAD_NOMEM;
    h->buf = nb;
    h->cap = cap;
  }
  memcpy(h->buf + h->len, line, len);
  h->len += len;
  if (line[len - 1] != '\n') h->buf[h->len++] = '\n';
  h->buf[h->len] = '\0';
  return QCC_UPHEAD_MORE;
}

enum qcc_uphead_step qcc_uphead_feed(struct qcc_uphead *h, const char *line, size_t len) {
  /* after the final head: trailers (or noise) are not forwarded */
  if (h->done) return QCC_UPHEAD_MORE;
  int st = qcc_hdr_parse_status(line, len);
  if (st > 0) {
    h->status = st;
    h->len = 0; /* a new block (after 1xx) replaces the old */
    if (h->buf != NULL) h->buf[0] = '\0';
    h->chunked = h->is_sse = h->is_json = h->te = h->connection = h->has_clen = false;
    h->nspans = 0;
    return QCC_UPHEAD_MORE;
  }
  struct qcc_header hd;
  int kind = qcc_hdr_parse_line(line, len, &hd);
  if (kind == 0) {
    if (h->status < 200) return QCC_UPHEAD_MORE; /* a 1xx ended: the real one follows */
    h->done = true;
    return QCC_UPHEAD_END;
  }
  if (kind < 0) return QCC_UPHEAD_MORE; /* a malformed line is dropped, not fatal */
  if (qcc_hdr_name_is(hd.name, hd.name_len, "transfer-encoding")) {
    h->te = true;
    if (qcc_hdr_value_has_token(&hd, "chunked")) h->chunked = true;
  }
  if (qcc_hdr_name_is(hd.name, hd.name_len, "content-type")) {
    h->is_sse = hd.value_len >= 17 && strncasecmp(hd.value, "text/event-stream", 17) == 0;
    h->is_json = hd.value_len >= 16 && strncasecmp(hd.value, "application/json", 16) == 0;
  }
  if (qcc_hdr_name_is(hd.name, hd.name_len, "content-length")) {
    h->has_clen = true;
    h->clen = qcc_hdr_content_length(&hd);
  }
  if (qcc_hdr_name_is(hd.name, hd.name_len, "connection")) h->connection = true;
  size_t at = h->len;
  enum qcc_uphead_step step = store(h, line, len);
  if (step != QCC_UPHEAD_MORE) return step;
  if (h->nspans < QCC_UPHEAD_SPANS)
    h->spans[h->nspans] = (struct qcc_uphead_span){
        .name_off = (uint32_t)(at + (size_t)(hd.name - line)),
        .value_off = (uint32_t)(at + (size_t)(hd.value - line)),
        .name_len = (uint16_t)hd.name_len,
        .value_len = (uint16_t)hd.value_len};
  h->nspans++;
  return QCC_UPHEAD_MORE;
}

/* Seconds from now until an RFC 3339 time ("2026-11-26T05:00:00Z"); 0 when
 * unparsable or past. */
static uint32_t seconds_until(const char *v, size_t n) {
  char buf[40];
  if (n == 0 || n >= sizeof buf) return 0;
  memcpy(buf, v, n);
  buf[n] = '\0';
  struct tm tm = {0};
  if (strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm) == NULL) return 0;
  time_t at = timegm(&tm);
  time_t now = time(NULL);
  return at > now ? (uint32_t)(at - now) : 0;
}

static uint32_t parse_uint(const char *v, size_t n) {
  uint64_t x = 0;
  if (n == 0 || n > 9) return 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return 0;
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  return (uint32_t)x;
}

void qcc_uphead_rest_hints(const struct qcc_uphead *h, uint32_t *retry_after_s,
                           uint32_t *reset_s) {
  static const char *const kinds[] = {"requests", "tokens", "input-tokens", "output-tokens"};
  const char *reset[4] = {0};
  size_t reset_len[4] = {0};
  bool exhausted[4] = {0};
  size_t at = 0;
  struct qcc_header hd;
  *retry_after_s = *reset_s = 0;
  while (qcc_hdr_next(h->buf, h->len, &at, &hd)) {
    if (qcc_hdr_name_is(hd.name, hd.name_len, "retry-after")) {
      *retry_after_s = parse_uint(hd.value, hd.value_len);
      continue;
    }
    if (hd.name_len < 22 || strncasecmp(hd.name, "anthropic-ratelimit-", 20) != 0) continue;
    for (size_t k = 0; k < 4; k++) {
      char nm[64];
      snprintf(nm, sizeof nm, "anthropic-ratelimit-%s-reset", kinds[k]);
      if (qcc_hdr_name_is(hd.name, hd.name_len, nm)) {
        reset[k] = hd.value;
        reset_len[k] = hd.value_len;
      }
      snprintf(nm, sizeof nm, "anthropic-ratelimit-%s-remaining", kinds[k]);
      if (qcc_hdr_name_is(hd.name, hd.name_len, nm) && hd.value_len == 1 && hd.value[0] == '0')
        exhausted[k] = true;
    }
  }
  for (size_t k = 0; k < 4; k++) {
    if (!exhausted[k] || reset[k] == NULL) continue;
    uint32_t sec = seconds_until(reset[k], reset_len[k]);
    if (sec > *reset_s) *reset_s = sec;
  }
}

int64_t qcc_uphead_content_length(const struct qcc_uphead *h) {
  return h->has_clen ? h->clen : -1;
}

int qcc_uphead_forward(const struct qcc_uphead *h, bool no_body, struct qcc_header **out,
                       size_t *n, int64_t *clen) {
  *out = NULL;
  *n = 0;
  size_t lines = h->nspans;
  /* ALL first: the drop rule needs every header (Connection names others) */
  struct qcc_header *all = calloc(2 * lines + 2, sizeof *all);
  if (all == NULL) return -1;
  struct qcc_header *keep = all + lines + 1;
  size_t na = 0;
  if (lines <= QCC_UPHEAD_SPANS) {
    for (; na < lines; na++) {
      const struct qcc_uphead_span *sp = &h->spans[na];
      all[na] = (struct qcc_header){.name = h->buf + sp->name_off, .name_len = sp->name_len,
                                    .value = h->buf + sp->value_off, .value_len = sp->value_len};
    }
  } else { /* a long head: its lines again */
    size_t at = 0;
    struct qcc_header hd;
    while (na < lines && qcc_hdr_next(h->buf, h->len, &at, &hd)) all[na++] = hd;
  }
  /* unless a Connection line names more than hop-by-hop headers
   * ("keep-alive"), no header is dropped for it: skip that scan */
  size_t nc = h->connection && qcc_hdr_connection_names_more(all, na) ? na : 0;
  size_t k = 0;
  for (size_t i = 0; i < na; i++)
    if (!qcc_hdr_drop_response(all, nc, &all[i])) keep[k++] = all[i];
  /* one block: keep moves to the front so the caller frees *OUT alone */
  memmove(all, keep, k * sizeof *keep);
  *out = all;
  *n = k;
  /* any transfer coding: the length is not Content-Length's */
  *clen = no_body ? 0 : h->te ? -1 : qcc_uphead_content_length(h);
  return 0;
}

void qcc_uphead_clear(struct qcc_uphead *h) {
  free(h->buf);
  h->buf = NULL;
  h->len = h->cap = h->nspans = 0;
}
