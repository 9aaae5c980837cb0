#include "keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schema/enums.h"
#include "schema/fileio.h"

/* A key file larger than this is not a key (a wrong path, a log file...). */
#define KEY_FILE_MAX (16 * 1024)
#define TOKEN_DIGEST 32 /* SHA-256 */

struct key_entry {
  char *value;  /* NULL when unresolved */
  size_t len;
  char *why;    /* reason when unresolved; never contains a value */
};

struct token_entry {
  unsigned char digest[TOKEN_DIGEST];
  uint32_t priority;
  uint32_t index; /* in the table's auth_tokens */
};

struct qcc_keystore {
  struct key_entry *eps;
  uint32_t ep_count;
  struct token_entry *toks;
  size_t tok_count;
};

static void wipe_free(char *s, size_t len) {
  if (s == NULL) return;
  OPENSSL_cleanse(s, len);
  free(s);
}

static char *dup_reason(const char *fmt, const char *a, const char *b) {
  char buf[512];
  snprintf(buf, sizeof buf, fmt, a, b);
  return strdup(buf);
}

static int valid_secret(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    /* a CR or LF would split the header line it is sent in */
    if (c < 0x20 || c == 0x7f) return 0;
  }
  return 1;
}

/* Read a key file: refuse oversized ones, strip trailing whitespace. On
 * failure *why is set (allocated) and NULL returned. *why stays NULL and
 * NULL is returned only on allocation failure. */
static char *read_key_file(const char *path, size_t *len, char **why) {
  *why = NULL;
  /* The one reader (schema/fileio.h): a FIFO or device at the path is refused
   * without blocking the loop. */
  void *raw = NULL;
  size_t n = 0;
  struct qcc_err err = {0};
  if (qcc_file_read(path, KEY_FILE_MAX, &raw, &n, &err) != 0) {
    if (err.code == ENOMEM) return NULL;
    size_t pl = strlen(path); /* its messages start with "PATH: " */
    const char *what = strncmp(err.msg, path, pl) == 0 ? err.msg + pl : err.msg;
    if (err.code == EFBIG) *why = dup_reason("key file %s is larger than 16 KiB%s", path, "");
    else *why = dup_reason("key file %s%.400s", path, what);
    return NULL;
  }
  char *buf = raw;
  size_t size = n;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                   buf[n - 1] == '\t'))
    n--;
  if (n == 0) {
    wipe_free(buf, size);
    *why = dup_reason("key file %s is empty%s", path, "");
    return NULL;
  }
  char *key = malloc(n + 1);
  if (key != NULL) {
    memcpy(key, buf, n);
    key[n] = '\0';
    *len = n;
  }
  wipe_free(buf, size);
  return key;
}

/* Resolve REF of table T into a fresh copy. Returns 0 with *value set, or 0
 * with *value NULL and *why set (unresolved), or -1 on allocation failure.
 * Kind NONE resolves to the empty string: the endpoint takes no key. */
static int resolve(const struct qcc_table *t, const struct qcc_tbl_keyref *ref, char **value,
                   size_t *len, char **why) {
  *value = NULL;
  *why = NULL;
  *len = 0;
  const char *src = qcc_table_str(t, ref->value);
  const char *v = NULL;
  switch (ref->kind) {
  case QCC_KEY_NONE:
    *value = strdup("");
    return *value == NULL ? -1 : 0;
  case QCC_KEY_ENV:
    v = getenv(src);
    if (v == NULL || v[0] == '\0') {
      *why = dup_reason("environment variable %s is %s", src, v == NULL ? "not set" : "empty");
      return *why == NULL ? -1 : 0;
    }
    break;
  case QCC_KEY_FILE:
    *value = read_key_file(src, len, why);
    if (*value == NULL && *why == NULL) return -1;
    break;
  case QCC_KEY_LITERAL:
    v = src;
    if (v[0] == '\0') {
      *why = strdup("the literal key is empty");
      return *why == NULL ? -1 : 0;
    }
    break;
  default:
    *why = strdup("unknown key reference kind");
    return *why == NULL ? -1 : 0;
  }
  if (v != NULL) {
    *len = strlen(v);
    *value = strdup(v);
    if (*value == NULL) return -1;
  }
  if (*value != NULL && !valid_secret(*value, *len)) {
    wipe_free(*value, *len);
    *value = NULL;
    *why = strdup("the key contains control characters");
    return *why == NULL ? -1 : 0;
  }
  return 0;
}

static int digest(const char *s, size_t len, unsigned char out[TOKEN_DIGEST]) {
  unsigned int n = 0;
  if (EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) != 1 || n != TOKEN_DIGEST) return -1;
  return 0;
}

int qcc_keystore_new(const struct qcc_table *t, struct qcc_keystore **out, struct qcc_err *err) {
  *out = NULL;
  struct qcc_keystore *ks = calloc(1, sizeof *ks);
  if (ks == NULL) return qcc_err_set(err, ENOMEM, "out of memory resolving keys");
  uint32_t n = qcc_table_endpoint_count(t);
  if (n > 0) {
    ks->eps = calloc(n, sizeof *ks->eps);
    if (ks->eps == NULL) goto oom;
  }
  ks->ep_count = n;
  for (uint32_t i = 0; i < n; i++) {
    const struct qcc_tbl_endpoint *ep = qcc_table_endpoint(t, i);
    if (resolve(t, &ep->key, &ks->eps[i].value, &ks->eps[i].len, &ks->eps[i].why) != 0)
      goto oom;
  }
  uint32_t tn = qcc_table_token_count(t);
  if (tn > 0) {
    ks->toks = calloc(tn, sizeof *ks->toks);
    if (ks->toks == NULL) goto oom;
  }
  for (uint32_t i = 0; i < tn; i++) {
    const struct qcc_tbl_token *tk = qcc_table_token(t, i);
    char *v = NULL;
    char *why = NULL;
    size_t len = 0;
    if (resolve(t, &tk->key, &v, &len, &why) != 0) goto oom;
    free(why); /* an unresolved token is just not accepted */
    if (v == NULL || len == 0) {
      wipe_free(v, len);
      continue;
    }
    int rc = digest(v, len, ks->toks[ks->tok_count].digest);
    wipe_free(v, len);
    if (rc != 0) goto oom;
    ks->toks[ks->tok_count].priority = tk->priority;
    ks->toks[ks->tok_count].index = i;
    ks->tok_count++;
  }
  *out = ks;
  return 0;
oom:
  qcc_keystore_free(&ks);
  return qcc_err_set(err, ENOMEM, "out of memory resolving keys");
}

void qcc_keystore_free(struct qcc_keystore **pks) {
  if (pks == NULL || *pks == NULL) return;
  struct qcc_keystore *ks = *pks;
  for (uint32_t i = 0; i < ks->ep_count; i++) {
    wipe_free(ks->eps[i].value, ks->eps[i].len);
    free(ks->eps[i].why);
  }
  free(ks->eps);
  if (ks->toks != NULL) OPENSSL_cleanse(ks->toks, ks->tok_count * sizeof *ks->toks);
  free(ks->toks);
  free(ks);
  *pks = NULL;
}

const char *qcc_keystore_endpoint_key(const struct qcc_keystore *ks, uint32_t i, const char **why) {
  if (ks == NULL || i >= ks->ep_count) {
    if (why != NULL) *why = "no such endpoint";
    return NULL;
  }
  if (ks->eps[i].value == NULL && why != NULL)
    *why = ks->eps[i].why != NULL ? ks->eps[i].why : "key not resolved";
  return ks->eps[i].value;
}

size_t qcc_keystore_token_count(const struct qcc_keystore *ks) {
  return ks == NULL ? 0 : ks->tok_count;
}

/* Both sides are hashed to a fixed size first, so the compare takes the same
 * time whatever the presented token's length or content, and every stored
 * token is compared (no early exit on a match). */
bool qcc_keystore_token_ok(const struct qcc_keystore *ks, const char *tok, size_t len,
                           uint32_t *priority) {
  return qcc_keystore_token_match(ks, tok, len, priority, NULL);
}

bool qcc_keystore_token_match(const struct qcc_keystore *ks, const char *tok, size_t len,
                              uint32_t *priority, uint32_t *index) {
  if (ks == NULL || ks->tok_count == 0 || tok == NULL) return false;
  unsigned char d[TOKEN_DIGEST];
  if (digest(tok, len, d) != 0) return false;
  int ok = 0;
  uint32_t prio = 0, idx = 0;
  for (size_t i = 0; i < ks->tok_count; i++) {
    int eq = CRYPTO_memcmp(d, ks->toks[i].digest, TOKEN_DIGEST) == 0;
    /* keep the first match's priority without branching on the secret */
    uint32_t take = (uint32_t)0 - (uint32_t)(eq & !ok);
    prio = (prio & ~take) | (ks->toks[i].priority & take);
    idx = (idx & ~take) | (ks->toks[i].index & take);
    ok |= eq;
  }
  OPENSSL_cleanse(d, sizeof d);
  if (ok && priority != NULL) *priority = prio;
  if (ok && index != NULL) *index = idx;
  return ok != 0;
}
