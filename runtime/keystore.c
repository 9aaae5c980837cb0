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
#include "schema/keyref.h"

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

/* Resolve REF of table T into a fresh copy, by the rules qccc's endpoint
 * test uses too (schema/keyref.h). Returns 0 with *value set, or 0 with
 * *value NULL and *why set (unresolved), or -1 on allocation failure. */
static int resolve(const struct qcc_table *t, const struct qcc_tbl_keyref *ref, char **value,
                   size_t *len, char **why) {
  *why = NULL;
  char reason[512];
  int rc = qcc_keyref_resolve(ref->kind, qcc_table_str(t, ref->value), value, len, reason,
                              sizeof reason);
  if (rc != 1) return rc;
  *why = strdup(reason);
  return *why == NULL ? -1 : 0;
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
