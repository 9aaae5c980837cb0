#include "pagesession.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct slot {
  char tok[QCC_PAGE_TOKEN_LEN + 1]; /* "" = free */
  char csrf[QCC_PAGE_TOKEN_LEN + 1];
  uint64_t expires_ms;
  uint64_t made_ms;
};

struct qcc_pagesession {
  struct slot links[QCC_PAGE_MAX_LINKS];
  struct slot sessions[QCC_PAGE_MAX_SESSIONS];
};

int qcc_pagesession_new(struct qcc_pagesession **out, struct qcc_err *err) {
  *out = calloc(1, sizeof **out);
  if (*out == NULL) return qcc_err_set(err, ENOMEM, "out of memory");
  return 0;
}

void qcc_pagesession_free(struct qcc_pagesession **s) {
  if (s == NULL || *s == NULL) return;
  explicit_bzero(*s, sizeof **s);
  free(*s);
  *s = NULL;
}

static int random_hex(char out[QCC_PAGE_TOKEN_LEN + 1], struct qcc_err *err) {
  unsigned char raw[QCC_PAGE_TOKEN_LEN / 2];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return qcc_err_set(err, errno != 0 ? errno : EIO, "getrandom failed");
    got += (size_t)n;
  }
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof raw; i++) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  out[QCC_PAGE_TOKEN_LEN] = '\0';
  explicit_bzero(raw, sizeof raw);
  return 0;
}

/* Same length and bytes, in time that depends on the length only. */
static bool same(const char *a, const char *b, size_t blen) {
  if (strlen(a) != QCC_PAGE_TOKEN_LEN || blen != QCC_PAGE_TOKEN_LEN) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < QCC_PAGE_TOKEN_LEN; i++) d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

/* A free or expired slot, else the oldest. */
static struct slot *take(struct slot *v, size_t n, uint64_t now_ms) {
  struct slot *old = &v[0];
  for (size_t i = 0; i < n; i++) {
    if (v[i].tok[0] == '\0' || v[i].expires_ms <= now_ms) return &v[i];
    if (v[i].made_ms < old->made_ms) old = &v[i];
  }
  return old;
}

static struct slot *find(struct slot *v, size_t n, const char *tok, size_t len, uint64_t now_ms) {
  struct slot *hit = NULL;
  for (size_t i = 0; i < n; i++) {
    if (v[i].tok[0] == '\0') continue;
    if (v[i].expires_ms <= now_ms) {
      explicit_bzero(&v[i], sizeof v[i]);
      continue;
    }
    if (same(v[i].tok, tok, len)) hit = &v[i];
  }
  return hit;
}

int qcc_pagesession_link(struct qcc_pagesession *s, uint64_t now_ms, uint64_t ttl_ms,
                         char out[QCC_PAGE_TOKEN_LEN + 1], struct qcc_err *err) {
  struct slot *sl = take(s->links, QCC_PAGE_MAX_LINKS, now_ms);
  if (random_hex(out, err) != 0) return -1;
  memcpy(sl->tok, out, QCC_PAGE_TOKEN_LEN + 1);
  sl->made_ms = now_ms;
  sl->expires_ms = now_ms + (ttl_ms != 0 ? ttl_ms : QCC_PAGE_LINK_TTL_MS);
  return 0;
}

bool qcc_pagesession_redeem(struct qcc_pagesession *s, const char *tok, size_t len,
                            uint64_t now_ms, char sid[QCC_PAGE_TOKEN_LEN + 1]) {
  struct slot *l = find(s->links, QCC_PAGE_MAX_LINKS, tok, len, now_ms);
  if (l == NULL) return false;
  explicit_bzero(l, sizeof *l); /* single use */
  struct slot *ss = take(s->sessions, QCC_PAGE_MAX_SESSIONS, now_ms);
  struct qcc_err err = {0};
  if (random_hex(ss->tok, &err) != 0 || random_hex(ss->csrf, &err) != 0) {
    explicit_bzero(ss, sizeof *ss);
    return false;
  }
  ss->made_ms = now_ms;
  ss->expires_ms = now_ms + QCC_PAGE_SESSION_TTL_MS;
  memcpy(sid, ss->tok, QCC_PAGE_TOKEN_LEN + 1);
  return true;
}

bool qcc_pagesession_check(struct qcc_pagesession *s, const char *sid, size_t len, uint64_t now_ms,
                           char csrf[QCC_PAGE_TOKEN_LEN + 1]) {
  struct slot *ss = find(s->sessions, QCC_PAGE_MAX_SESSIONS, sid, len, now_ms);
  if (ss == NULL) return false;
  if (csrf != NULL) memcpy(csrf, ss->csrf, QCC_PAGE_TOKEN_LEN + 1);
  return true;
}

size_t qcc_pagesession_count(const struct qcc_pagesession *s, bool links) {
  const struct slot *v = links ? s->links : s->sessions;
  size_t n = links ? QCC_PAGE_MAX_LINKS : QCC_PAGE_MAX_SESSIONS, k = 0;
  for (size_t i = 0; i < n; i++) k += v[i].tok[0] != '\0';
  return k;
}
