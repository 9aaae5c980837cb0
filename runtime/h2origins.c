/* Origins known to speak HTTP/2 (h2origins.h). A short list: one entry per
 * distinct https host:port of the table, scanned linearly. */
#include "h2origins.h"

#include <stdlib.h>
#include <string.h>

#define H2ORIGINS_MAX 1024

struct qcc_h2origins {
  char *o[H2ORIGINS_MAX];
  size_t n;
};

struct qcc_h2origins *qcc_h2origins_new(void) { return calloc(1, sizeof(struct qcc_h2origins)); }

void qcc_h2origins_free(struct qcc_h2origins **po) {
  struct qcc_h2origins *o = *po;
  if (o == NULL) return;
  for (size_t i = 0; i < o->n; i++) free(o->o[i]);
  free(o);
  *po = NULL;
}

size_t qcc_h2origins_origin_len(const char *url) {
  const char *s = strstr(url, "://");
  if (s == NULL) return strlen(url);
  size_t n = strcspn(s + 3, "/?#");
  return (size_t)(s + 3 - url) + n;
}

static long find(const struct qcc_h2origins *o, const char *url, size_t len) {
  for (size_t i = 0; i < o->n; i++)
    if (strncmp(o->o[i], url, len) == 0 && o->o[i][len] == '\0') return (long)i;
  return -1;
}

bool qcc_h2origins_has(const struct qcc_h2origins *o, const char *url) {
  if (o == NULL || o->n == 0 || url == NULL) return false;
  return find(o, url, qcc_h2origins_origin_len(url)) >= 0;
}

void qcc_h2origins_note(struct qcc_h2origins *o, const char *url, long version) {
  if (o == NULL || url == NULL || version == 0) return;
  size_t len = qcc_h2origins_origin_len(url);
  long i = find(o, url, len);
  bool h2 = version == CURL_HTTP_VERSION_2_0;
  if (h2 && i < 0 && o->n < H2ORIGINS_MAX) {
    char *k = strndup(url, len);
    if (k != NULL) o->o[o->n++] = k;
  } else if (!h2 && i >= 0) {
    free(o->o[i]);
    o->o[i] = o->o[--o->n];
  }
}

void qcc_h2origins_learn(struct qcc_h2origins *o, const char *url, CURL *easy) {
  long v = 0;
  if (curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &v) != CURLE_OK) return;
  qcc_h2origins_note(o, url, v);
}
