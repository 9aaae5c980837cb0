/* Enumerations shared by the config schema, the table format and the runtime.
 * One X-macro table per enum: it generates the C enum, the YAML spelling and the
 * parser, so the compiler, the docs and the JSON schema cannot disagree.
 * Values are stored in the table as uint8_t: never renumber, only append. */
#ifndef QCC_SCHEMA_ENUMS_H
#define QCC_SCHEMA_ENUMS_H

#include <stdbool.h>
#include <stddef.h>

/* X(C_NAME, "yaml spelling", value) */
#define QCC_GROUP_LIST(X) \
  X(QCC_GROUP_PRIMARY, "primary", 0) \
  X(QCC_GROUP_SECONDARY, "secondary", 1) \
  X(QCC_GROUP_FALLBACK, "fallback", 2)

#define QCC_LB_LIST(X) \
  X(QCC_LB_WEIGHTED, "weighted", 0) \
  X(QCC_LB_ROUND_ROBIN, "round_robin", 1) \
  X(QCC_LB_LEAST_CONNECTIONS, "least_connections", 2) \
  X(QCC_LB_FAILOVER, "failover", 3)

#define QCC_AUTH_LIST(X) \
  X(QCC_AUTH_X_API_KEY, "x-api-key", 0) \
  X(QCC_AUTH_BEARER, "bearer", 1)

/* How a secret is referenced. The table stores the reference, not the key,
 * except for KEY_LITERAL (then the table file is written 0600). */
#define QCC_KEY_LIST(X) \
  X(QCC_KEY_NONE, "none", 0) \
  X(QCC_KEY_ENV, "env", 1) \
  X(QCC_KEY_FILE, "file", 2) \
  X(QCC_KEY_LITERAL, "literal", 3)

#define QCC_CHECK_LIST(X) \
  X(QCC_CHECK_TCP, "tcp", 0) \
  X(QCC_CHECK_MODELS, "models", 1) \
  X(QCC_CHECK_COUNT_TOKENS, "count_tokens", 2) \
  X(QCC_CHECK_MESSAGES, "messages", 3)

#define QCC_RETRY_LIST(X) \
  X(QCC_RETRY_EXPONENTIAL_BACKOFF, "exponential_backoff", 0) \
  X(QCC_RETRY_FIXED_INTERVAL, "fixed_interval", 1) \
  X(QCC_RETRY_IMMEDIATE, "immediate", 2)

#define QCC_LOG_LIST(X) \
  X(QCC_LOG_DEBUG, "debug", 0) \
  X(QCC_LOG_INFO, "info", 1) \
  X(QCC_LOG_WARNING, "warning", 2) \
  X(QCC_LOG_ERROR, "error", 3)

#define QCC_FSYNC_LIST(X) \
  X(QCC_FSYNC_EVERYSEC, "everysec", 0) \
  X(QCC_FSYNC_ALWAYS, "always", 1) \
  X(QCC_FSYNC_NO, "no", 2)

#define QCC_ENUM_MEMBER_(c, s, v) c = v,
enum qcc_group { QCC_GROUP_LIST(QCC_ENUM_MEMBER_) QCC_GROUP_COUNT };
enum qcc_lb_strategy { QCC_LB_LIST(QCC_ENUM_MEMBER_) QCC_LB_COUNT };
enum qcc_auth_style { QCC_AUTH_LIST(QCC_ENUM_MEMBER_) QCC_AUTH_COUNT };
enum qcc_key_kind { QCC_KEY_LIST(QCC_ENUM_MEMBER_) QCC_KEY_COUNT };
enum qcc_check_kind { QCC_CHECK_LIST(QCC_ENUM_MEMBER_) QCC_CHECK_COUNT };
enum qcc_retry_strategy { QCC_RETRY_LIST(QCC_ENUM_MEMBER_) QCC_RETRY_COUNT };
enum qcc_log_level { QCC_LOG_LIST(QCC_ENUM_MEMBER_) QCC_LOG_COUNT };
enum qcc_fsync_policy { QCC_FSYNC_LIST(QCC_ENUM_MEMBER_) QCC_FSYNC_COUNT };
#undef QCC_ENUM_MEMBER_

/* One descriptor per enum: its legal spellings, index = value. */
struct qcc_enum_desc {
  const char *name;          /* "priority group", for messages */
  const char *const *names;  /* spelling of value i */
  size_t count;
};

extern const struct qcc_enum_desc qcc_group_desc, qcc_lb_desc, qcc_auth_desc,
    qcc_key_desc, qcc_check_desc, qcc_retry_desc, qcc_log_desc, qcc_fsync_desc;

/* Spelling of value v, or "?" when out of range (a table may be hostile). */
const char *qcc_enum_name(const struct qcc_enum_desc *d, unsigned v);
/* Parse a spelling (exact, case-sensitive); false when not legal. */
bool qcc_enum_parse(const struct qcc_enum_desc *d, const char *s, unsigned *out);
/* "a, b or c" into buf, for "expected one of ..." hints. */
void qcc_enum_list(const struct qcc_enum_desc *d, char *buf, size_t cap);

#endif
