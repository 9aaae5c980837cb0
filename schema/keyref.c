#include "keyref.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enums.h"
#include "fileio.h"

void qcc_keyref_wipe(char *key, size_t len) {
  if (key == NULL) return;
  explicit_bzero(key, len);
  free(key);
}

static int unresolved(char *why, size_t cap, const char *fmt, const char *a, const char *b) {
  snprintf(why, cap, fmt, a, b);
  return 1;
}

/* The key file at PATH with trailing whitespace stripped (*buf to wipe,
 * *size its allocation). */
static int read_file(const char *path, char **buf, size_t *size, size_t *n, char *why, size_t cap) {
  void *raw = NULL;
  struct qcc_err err = {0};
  if (qcc_file_read(path, QCC_KEYREF_FILE_MAX, &raw, size, &err) != 0) {
    if (err.code == ENOMEM) return -1;
    if (err.code == EFBIG) return unresolved(why, cap, "key file %s is larger than 16 KiB%s", path, "");
    size_t pl = strlen(path); /* its messages start with "PATH: " */
    const char *what = strncmp(err.msg, path, pl) == 0 ? err.msg + pl : err.msg;
    return unresolved(why, cap, "key file %s%.400s", path, what);
  }
  *buf = raw;
  *n = *size;
  while (*n > 0 && ((*buf)[*n - 1] == '\n' || (*buf)[*n - 1] == '\r' || (*buf)[*n - 1] == ' ' ||
                    (*buf)[*n - 1] == '\t'))
    (*n)--;
  if (*n == 0) {
    qcc_keyref_wipe(*buf, *size);
    *buf = NULL;
    return unresolved(why, cap, "key file %s is empty%s", path, "");
  }
  return 0;
}

int qcc_keyref_resolve(int kind, const char *ref, char **key, size_t *len, char *why,
                       size_t why_cap) {
  *key = NULL;
  *len = 0;
  char *owned = NULL;
  size_t size = 0, n = 0;
  const char *v = NULL;
  switch (kind) {
  case QCC_KEY_NONE:
    *key = strdup("");
    return *key == NULL ? -1 : 0;
  case QCC_KEY_ENV:
    v = getenv(ref);
    if (v == NULL || v[0] == '\0')
      return unresolved(why, why_cap, "environment variable %s is %s", ref,
                        v == NULL ? "not set" : "empty");
    n = strlen(v);
    break;
  case QCC_KEY_FILE: {
    int rc = read_file(ref, &owned, &size, &n, why, why_cap);
    if (rc != 0) return rc;
    v = owned;
    break;
  }
  case QCC_KEY_LITERAL:
    v = ref;
    n = strlen(v);
    if (n == 0) return unresolved(why, why_cap, "the literal key is empty%s%s", "", "");
    break;
  default:
    return unresolved(why, why_cap, "unknown key reference kind%s%s", "", "");
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c < 0x20 || c == 0x7f) {
      qcc_keyref_wipe(owned, size);
      return unresolved(why, why_cap, "the key contains control characters%s%s", "", "");
    }
  }
  *key = malloc(n + 1);
  if (*key != NULL) {
    memcpy(*key, v, n);
    (*key)[n] = '\0';
    *len = n;
  }
  qcc_keyref_wipe(owned, size);
  return *key == NULL ? -1 : 0;
}
