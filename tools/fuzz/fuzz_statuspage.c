/* Fuzz target: the status page's handling of a request from the listener
 * (runtime/statuspage.c): Host, Cookie, Authorization, Origin and CSRF
 * headers, the login query, /qcc/ paths and their percent-encoding, every
 * byte the client's. Input: "METHOD\nTARGET\nName: value\n...\n\nBODY". A
 * first byte 'S' adds a live session's cookie, its CSRF token, a good Host
 * and Origin, so the API routes and actions are reached too. Every request
 * must be answered exactly once (a head, then done) or become an event
 * stream; the admin API behind it has no routes here (its answers are
 * "not available"), so no router is needed. */
#include <ev.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/adminapi.h"
#include "runtime/statuspage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
  int heads, dones;
};

static void s_head(void *ctx, int status, const struct qcc_header *h, size_t n, int64_t clen) {
  (void)h;
  (void)n;
  (void)clen;
  struct sink *s = ctx;
  if (status < 200 || status > 599 || s->heads++ != 0) __builtin_trap();
}
static int s_body(void *ctx, const char *d, size_t len) {
  struct sink *s = ctx;
  if (s->heads != 1 || (len > 0 && d == NULL)) __builtin_trap();
  return 0;
}
static void s_done(void *ctx, const struct qcc_exchange_result *r) {
  (void)r;
  struct sink *s = ctx;
  if (s->dones++ != 0) __builtin_trap();
}
static const struct qcc_sink_ops ops = {s_head, s_body, s_done};

static struct qcc_statuspage *sp;
static struct qcc_admin_ctx actx;
static char cookie[160], csrf[100];

static void link_cb(void *arg, int status, const char *ct, const char *body, size_t len) {
  (void)ct;
  if (status != 200) __builtin_trap();
  json_t *j = json_loadb(body, len, 0, NULL);
  const char *url = json_string_value(json_object_get(j, "url"));
  if (url == NULL || strstr(url, "/qcc/login?t=") == NULL) __builtin_trap();
  snprintf(arg, 200, "%s", strstr(url, "/qcc/login?t="));
  json_decref(j);
}

static void sess_head(void *ctx, int status, const struct qcc_header *h, size_t n, int64_t clen) {
  (void)clen;
  (void)status;
  for (size_t i = 0; i < n; i++)
    if (h[i].name_len == 10 && memcmp(h[i].name, "set-cookie", 10) == 0)
      snprintf(ctx, 160, "%.*s", (int)strcspn(h[i].value, ";"), h[i].value);
}
static int sess_body(void *ctx, const char *d, size_t len) {
  (void)ctx;
  if (len > 8 && memcmp(d, "{\"csrf\":", 8) == 0) snprintf(csrf, sizeof csrf, "%.64s", d + 9);
  return 0;
}
static void sess_done(void *ctx, const struct qcc_exchange_result *r) {
  (void)ctx;
  (void)r;
}
static const struct qcc_sink_ops sess_ops = {sess_head, sess_body, sess_done};

static void init(void) {
  if (sp != NULL) return;
  struct qcc_statuspage_params p = {.loop = ev_default_loop(0), .admin = &actx,
                                    .address = "127.0.0.1:7860", .host = "127.0.0.1"};
  struct qcc_err err = {0};
  if (qcc_statuspage_new(&p, &sp, &err) != 0) __builtin_trap();
  actx.page = sp;
  size_t n = 0;
  const struct qcc_admin_route *rt = qcc_statuspage_admin_routes(&n);
  char target[200] = "";
  if (qcc_admin_invoke(rt, n, &actx, "POST", "/qcc/login-link", "", 0, link_cb, target) != 0)
    __builtin_trap();
  struct qcc_header h[] = {{"host", 4, "127.0.0.1:7860", 14}, {"cookie", 6, NULL, 0}};
  struct qcc_request req = {.method = "GET", .target = target, .headers = h, .header_count = 1};
  qcc_statuspage_start(sp, &req, &sess_ops, cookie);
  h[1].value = cookie;
  h[1].value_len = strlen(cookie);
  req = (struct qcc_request){.method = "GET", .target = "/qcc/api/session", .headers = h,
                             .header_count = 2};
  qcc_statuspage_start(sp, &req, &sess_ops, NULL);
  if (strlen(csrf) != 64) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init();
  bool session = size > 0 && data[0] == 'S';
  char *in = malloc(size + 1);
  if (in == NULL) return 0;
  memcpy(in, data, size);
  in[size] = '\0';
  char *s = in + (session ? 1 : 0), *end = in + size;
  struct qcc_header h[40];
  size_t n = 0;
  char *method = s;
  char *nl = memchr(s, '\n', (size_t)(end - s));
  if (nl == NULL) goto out;
  *nl = '\0';
  char *target = nl + 1;
  nl = memchr(target, '\n', (size_t)(end - target));
  if (nl != NULL) *nl = '\0';
  if (strncmp(target, "/qcc", 4) != 0 || !qcc_statuspage_owns(target, strlen(target))) goto out;
  if (strlen(method) > 7) goto out;
  s = nl != NULL ? nl + 1 : end;
  if (session) {
    h[n++] = (struct qcc_header){"Host", 4, "127.0.0.1:7860", 14};
    h[n++] = (struct qcc_header){"Cookie", 6, cookie, strlen(cookie)};
    h[n++] = (struct qcc_header){"Origin", 6, "http://127.0.0.1:7860", 21};
    h[n++] = (struct qcc_header){"X-CSRF-Token", 12, csrf, strlen(csrf)};
  }
  while (s < end && n < sizeof h / sizeof h[0]) {
    char *e = memchr(s, '\n', (size_t)(end - s));
    if (e == NULL) e = end;
    if (e == s) {
      s = e + 1; /* the body follows */
      break;
    }
    char *colon = memchr(s, ':', (size_t)(e - s));
    if (colon != NULL) {
      char *v = colon + 1;
      while (v < e && *v == ' ') v++;
      h[n++] = (struct qcc_header){s, (size_t)(colon - s), v, (size_t)(e - v)};
    }
    s = e + 1;
  }
  struct qcc_request req = {.method = method, .target = target, .headers = h, .header_count = n,
                            .body = s < end ? s : NULL, .body_len = s < end ? (size_t)(end - s) : 0};
  struct sink sk = {0};
  struct qcc_page_call *c = qcc_statuspage_start(sp, &req, &ops, &sk);
  if (sk.dones == 0) {
    /* an event stream (or an action still waiting): the client goes away */
    if (c == NULL || sk.heads > 1) __builtin_trap();
    qcc_statuspage_cancel(c);
  } else if (sk.heads != 1 || sk.dones != 1) {
    __builtin_trap();
  }
out:
  free(in);
  return 0;
}
