/* Secrets resolved from a table's key references (env var / file / literal),
 * once per generation: at load and at every reload, so a changed key file is
 * picked up by a reload. Values live only here and never reach logs. */
#ifndef QCC_RUNTIME_KEYSTORE_H
#define QCC_RUNTIME_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/error.h"
#include "schema/table.h"

struct qcc_keystore;

/* Never fails for a missing key: that endpoint is just unavailable, with a
 * reason (no secret in it) retrievable below. Fails only on allocation. */
int qcc_keystore_new(const struct qcc_table *t, struct qcc_keystore **out, struct qcc_err *err);
void qcc_keystore_free(struct qcc_keystore **ks);

/* Key of endpoint i, or NULL when unresolved (then *why says why). */
const char *qcc_keystore_endpoint_key(const struct qcc_keystore *ks, uint32_t i, const char **why);
/* Number of client tokens that resolved; constant-time check of a presented token. */
size_t qcc_keystore_token_count(const struct qcc_keystore *ks);
bool qcc_keystore_token_ok(const struct qcc_keystore *ks, const char *tok, size_t len,
                           uint32_t *priority);

/* The same check; also sets *index to the table index (auth_tokens[]) of
 * the first matching token. */
bool qcc_keystore_token_match(const struct qcc_keystore *ks, const char *tok, size_t len,
                              uint32_t *priority, uint32_t *index);

#endif
