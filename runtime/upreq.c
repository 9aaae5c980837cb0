#include "upreq.h"

#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "headers.h"
#include "modelmap.h"
#include "schema/table.h"

static bool has_header(const struct qcc_request *r, const char *name) {
  for (size_t i = 0; i < r->header_count; i++)
    if (qcc_hdr_name_is(r->headers[i].name, r->headers[i].name_len, name)) return true;
  return false;
}

/* Node K of N points at the line just written at *TEXT (LEN bytes + NUL). */
static void link_line(struct curl_slist *node, size_t k, size_t n, char **text, size_t len) {
  node[k].data = *text;
  node[k].next = k + 1 < n ? &node[k + 1] : NULL;
  *text += len + 1;
}

/* Names libcurl 7.88 looks up in the header list or treats specially when
 * it writes the request (Curl_checkheaders, Curl_add_custom_headers):
 * such a header keeps a list node of its own. */
static bool curl_reads(const char *name, size_t len) {
  static const char *const names[] = {
      "host",         "accept",         "accept-encoding", "alt-used",       "authorization",
      "connection",   "content-length", "content-type",    "content-range",  "cookie",
      "date",         "expect",         "mime-version",    "proxy-connection", "range",
      "referer",      "te",             "transfer-encoding", "user-agent"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (qcc_hdr_name_is(name, len, names[i])) return true;
  return false;
}

/* The upstream request headers: the client's minus what qcc_hdr_drop_request
 * removes, plus the endpoint's credential; curl's own Expect/Accept (and the
 * form Content-Type it would add to a POST) are suppressed so only the
 * client's headers go.
 *
 * libcurl pays per list node: every name it looks up walks the list, and
 * each node is checked against seven names and formatted on its own. So the
 * headers it never reads (anthropic-*, x-stainless-*, x-app: most of what
 * Claude Code sends) share one node, their lines joined by CRLF, which curl
 * writes out as they are; the bytes on the wire are the same. A header with
 * an empty value keeps its own node ("Name;" is curl's spelling of it). */
static int build_headers(struct qcc_upreq *u, const struct qcc_request *r,
                         enum qcc_auth_style auth, const char *key, bool has_body) {
  /* One allocation: the curl_slist nodes, then their lines (curl only reads
   * the list; qcc_upreq_clear frees it). curl_slist_append made two per line,
   * ~1 KiB of malloc chunks per open stream for a typical SDK request. */
  const bool accept = !has_header(r, "accept");
  const bool ctype = has_body && !has_header(r, "content-type");
  size_t n = 1 + accept + ctype + (key[0] != '\0');
  size_t bytes = sizeof "Expect:" + sizeof "Accept:" + sizeof "Content-Type:" + strlen(key) + 32;
  /* The class of each header once (the second pass reads it; past KIND_MAX
   * headers it asks again); unless a Connection header names more than
   * hop-by-hop headers (keep-alive), the drop rule's scan of it is skipped. */
  enum { KIND_MAX = 128 };
  enum kind { DROP, OWN_NODE, JOINED };
  unsigned char kind[KIND_MAX];
  const size_t nc = qcc_hdr_connection_names_more(r->headers, r->header_count) ? r->header_count : 0;
  size_t joined = 0;
  for (size_t i = 0; i < r->header_count; i++) {
    const struct qcc_header *h = &r->headers[i];
    enum kind k = qcc_hdr_drop_request(r->headers, nc, h) ? DROP
                  : h->value_len == 0 || curl_reads(h->name, h->name_len) ? OWN_NODE
                                                                             : JOINED;
    if (i < KIND_MAX) kind[i] = (unsigned char)k;
    if (k == DROP) continue;
    if (k == OWN_NODE || joined++ == 0) n++;
    /* "Name: value" and its NUL; a joined line also its CRLF */
    bytes += h->name_len + h->value_len + (k == JOINED ? 5 : 3);
  }
  struct curl_slist *node = malloc(n * sizeof *node + bytes);
  if (node == NULL) return -1;
  u->hdrs = node;
  char *text = (char *)(node + n), *end = text + bytes;
  size_t k = 0;
  /* the suppressions first: curl looks each of these names up in the list
   * (Curl_checkheaders, a case-insensitive compare per line until found),
   * and they are not sent, so their place is free */
  static const char *const fixed[] = {"Expect:", "Accept:", "Content-Type:"};
  for (size_t f = 0; f < 3; f++) {
    if ((f == 1 && !accept) || (f == 2 && !ctype)) continue;
    size_t len = strlen(fixed[f]);
    memcpy(text, fixed[f], len + 1);
    link_line(node, k++, n, &text, len);
  }
  /* the joined node: its lines written in place, CRLF between them */
  char *jstart = text;
  size_t jlen = 0;
  for (size_t pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < r->header_count; i++) {
      const struct qcc_header *h = &r->headers[i];
      enum kind c = i < KIND_MAX ? (enum kind)kind[i]
                    : qcc_hdr_drop_request(r->headers, nc, h) ? DROP
                    : h->value_len == 0 || curl_reads(h->name, h->name_len) ? OWN_NODE
                                                                             : JOINED;
      if (c == DROP || (pass == 0) != (c == JOINED)) continue;
      if (c == JOINED) {
        if (jlen > 0) {
          memcpy(jstart + jlen, "\r\n", 2); /* over the previous line's NUL, and one more */
          jlen += 2;
        }
        int len = qcc_hdr_line(h, jstart + jlen, (size_t)(end - jstart - (ptrdiff_t)jlen));
        if (len < 0) return -1;
        jlen += (size_t)len;
        continue;
      }
      int len = qcc_hdr_line(h, text, (size_t)(end - text));
      if (len < 0) return -1;
      link_line(node, k++, n, &text, (size_t)len);
    }
    if (pass == 0 && jlen > 0) link_line(node, k++, n, &text, jlen);
  }
  if (key[0] != '\0') {
    int len = qcc_hdr_auth_line(auth, key, text, (size_t)(end - text));
    if (len < 0) {
      OPENSSL_cleanse(text, (size_t)(end - text)); /* a cut-off line may hold key bytes */
      return -1;
    }
    u->auth_node = &node[k];
    link_line(node, k++, n, &text, (size_t)len);
  }
  return k == n ? 0 : -1;
}

int qcc_upreq_build(struct qcc_upreq *u, const struct qcc_request *r, const struct qcc_table *t,
                    const struct qcc_tbl_endpoint *ep, const char *key,
                    const struct qcc_jsonscan_facts *facts) {
  memset(u, 0, sizeof *u);
  const char *base = qcc_table_str(t, ep->base_url);
  size_t bl = strlen(base);
  size_t tl = strlen(r->target);
  u->url = malloc(bl + tl + 1);
  if (u->url == NULL) goto oom;
  memcpy(u->url, base, bl);
  memcpy(u->url + bl, r->target, tl + 1);
  u->body = r->body;
  u->body_len = r->body_len;
  size_t new_len = 0;
  int mm = 0;
  if (ep->model_map_count > 0 && r->body_len >= QCC_UPREQ_SPLICE_MIN) {
    mm = qcc_modelmap_rewrite_plan(t, ep, r->body, r->body_len, facts, &u->splice);
    if (mm == 1) {
      u->orig = r->body;
      u->orig_len = r->body_len;
      u->body_len = u->splice.out_len;
    }
  } else if (ep->model_map_count > 0) {
    mm = qcc_modelmap_rewrite(t, ep, r->body, r->body_len, facts, &u->mapped, &new_len);
    if (mm == 1) {
      u->body = u->mapped;
      u->body_len = new_len;
    }
  }
  if (mm < 0) goto oom;
  u->has_body = strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
  if (build_headers(u, r, (enum qcc_auth_style)ep->auth, key, u->has_body) != 0) goto oom;
  return 0;
oom:
  qcc_upreq_clear(u);
  return -1;
}

/* CURLOPT_READFUNCTION / SEEKFUNCTION of a spliced body. */
static size_t splice_read(char *buf, size_t size, size_t n, void *ud) {
  struct qcc_upreq *u = ud;
  size_t got = qcc_modelmap_copy(&u->splice, u->orig, u->orig_len, u->read_pos, buf, size * n);
  u->read_pos += got;
  return got;
}

/* curl rewinds to resend (a reused connection found dead, a refused h2
 * stream): the pieces are all still there. */
static int splice_seek(void *ud, curl_off_t off, int origin) {
  struct qcc_upreq *u = ud;
  if (origin != SEEK_SET || off < 0 || (uint64_t)off > u->body_len) return CURL_SEEKFUNC_CANTSEEK;
  u->read_pos = (size_t)off;
  return CURL_SEEKFUNC_OK;
}

#define SETOPT(opt, val)                                                 \
  do {                                                                   \
    if (curl_easy_setopt(e, opt, val) != CURLE_OK) return -1;            \
  } while (0)

int qcc_upreq_configure(struct qcc_upreq *u, CURL *e, const char *method,
                        const struct qcc_upreq_io *io) {
  SETOPT(CURLOPT_URL, u->url);
  SETOPT(CURLOPT_HTTPHEADER, u->hdrs);
  SETOPT(CURLOPT_HEADERFUNCTION, io->on_header);
  SETOPT(CURLOPT_HEADERDATA, io->ud);
  SETOPT(CURLOPT_WRITEFUNCTION, io->on_body);
  SETOPT(CURLOPT_WRITEDATA, io->ud);
  SETOPT(CURLOPT_ERRORBUFFER, io->errbuf);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_TCP_NODELAY, 1L);
  SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  /* over TLS, wait to multiplex on an HTTP/2 connection being set up rather
   * than open another; plain http is HTTP/1.1 and waiting only serialises */
  SETOPT(CURLOPT_PIPEWAIT, strncmp(u->url, "https:", 6) == 0 ? 1L : 0L);
  /* bytes pass through as the upstream sent them */
  SETOPT(CURLOPT_HTTP_CONTENT_DECODING, 0L);
  /* chunked bodies come raw, one callback per read (the exchange decodes them) */
  SETOPT(CURLOPT_HTTP_TRANSFER_DECODING, 0L);
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  /* forward the client's path as it is (no dot-segment squashing) */
  SETOPT(CURLOPT_PATH_AS_IS, 1L);
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)io->connect_ms);
  /* no curl timeout past the connect: the exchange's timer covers the
   * first byte, the whole non-streamed answer and a stream's silences */
  /* removing a transfer whose name is still being resolved must not wait
   * for the resolver thread: the loop would stop for the DNS timeout */
  SETOPT(CURLOPT_QUICK_EXIT, 1L);
  const char *m = method;
  if (strcmp(m, "GET") == 0) {
    SETOPT(CURLOPT_HTTPGET, 1L);
  } else if (strcmp(m, "HEAD") == 0) {
    SETOPT(CURLOPT_NOBODY, 1L);
  } else {
    if (strcmp(m, "POST") != 0) SETOPT(CURLOPT_CUSTOMREQUEST, m);
    if (u->splice.n > 0) {
      /* the body with its Content-Length, read from the splice */
      u->read_pos = 0;
      SETOPT(CURLOPT_POST, 1L);
      SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)u->body_len);
      SETOPT(CURLOPT_READFUNCTION, splice_read);
      SETOPT(CURLOPT_READDATA, u);
      SETOPT(CURLOPT_SEEKFUNCTION, splice_seek);
      SETOPT(CURLOPT_SEEKDATA, u);
    } else if (strcmp(m, "POST") == 0 || u->body_len > 0 || strcmp(m, "PUT") == 0 ||
               strcmp(m, "PATCH") == 0) {
      SETOPT(CURLOPT_POSTFIELDS, u->body != NULL ? u->body : "");
      SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)u->body_len);
    }
  }
  return 0;
}
#undef SETOPT

void qcc_upreq_clear(struct qcc_upreq *u) {
  if (u->auth_node != NULL && u->auth_node->data != NULL)
    OPENSSL_cleanse(u->auth_node->data, strlen(u->auth_node->data));
  free(u->hdrs);
  free(u->url);
  free(u->mapped);
  qcc_modelmap_splice_free(&u->splice);
  memset(u, 0, sizeof *u);
}
