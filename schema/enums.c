#include "enums.h"

#include <stdio.h>
#include <string.h>

#define QCC_ENUM_NAME_(c, s, v) [v] = s,
#define QCC_ENUM_DESC_(var, label, LIST)                                   \
  static const char *const var##_names[] = {LIST(QCC_ENUM_NAME_)};         \
  const struct qcc_enum_desc var = {label, var##_names,                    \
                                    sizeof var##_names / sizeof var##_names[0]};

QCC_ENUM_DESC_(qcc_group_desc, "priority group", QCC_GROUP_LIST)
QCC_ENUM_DESC_(qcc_lb_desc, "load-balancing strategy", QCC_LB_LIST)
QCC_ENUM_DESC_(qcc_auth_desc, "auth style", QCC_AUTH_LIST)
QCC_ENUM_DESC_(qcc_key_desc, "key source", QCC_KEY_LIST)
QCC_ENUM_DESC_(qcc_check_desc, "health check kind", QCC_CHECK_LIST)
QCC_ENUM_DESC_(qcc_retry_desc, "retry strategy", QCC_RETRY_LIST)
QCC_ENUM_DESC_(qcc_log_desc, "log level", QCC_LOG_LIST)
QCC_ENUM_DESC_(qcc_fsync_desc, "fsync policy", QCC_FSYNC_LIST)

const char *qcc_enum_name(const struct qcc_enum_desc *d, unsigned v) {
  if (v >= d->count || d->names[v] == NULL) return "?";
  return d->names[v];
}

bool qcc_enum_parse(const struct qcc_enum_desc *d, const char *s, unsigned *out) {
  for (size_t i = 0; i < d->count; i++) {
    if (d->names[i] != NULL && strcmp(d->names[i], s) == 0) {
      *out = (unsigned)i;
      return true;
    }
  }
  return false;
}

void qcc_enum_list(const struct qcc_enum_desc *d, char *buf, size_t cap) {
  size_t used = 0;
  if (cap == 0) return;
  buf[0] = '\0';
  for (size_t i = 0; i < d->count && used < cap; i++) {
    const char *sep = i == 0 ? "" : (i + 1 == d->count ? " or " : ", ");
    int n = snprintf(buf + used, cap - used, "%s%s", sep, d->names[i]);
    if (n < 0) break;
    used += (size_t)n;
  }
}
