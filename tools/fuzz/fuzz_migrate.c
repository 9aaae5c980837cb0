/* Fuzz target: `qccc migrate`'s reader of the Python qcc's config.json
 * (compiler/migrate.c). Any bytes are converted or refused without a fault;
 * a conversion's key files all sit in the key directory, and no literal key
 * or token is written into the YAML (api_key / value lines). */
#include <stdint.h>
#include <string.h>

#include "compiler/migrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A line of YAML whose key (after indentation and "- ") is KEY. */
static int has_key_line(const char *yaml, const char *key) {
  size_t kl = strlen(key);
  for (const char *l = yaml; l != NULL && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    const char *p = l;
    while (*p == ' ' || *p == '-') p++;
    if (strncmp(p, key, kl) == 0 && p[kl] == ':') return 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct qccc_migration *m = NULL;
  struct qcc_err err = {0};
  if (qccc_migration_new("fuzz.json", (const char *)data, size, "/keys", &m, &err) != 0) return 0;
  size_t len = 0;
  const char *yaml = qccc_migration_yaml(m, &len);
  if (yaml == NULL || strlen(yaml) != len) __builtin_trap();
  /* No literal secret is written: every api_key and token value went to a file. */
  if (has_key_line(yaml, "api_key") || has_key_line(yaml, "value")) __builtin_trap();
  for (size_t i = 0; i < qccc_migration_key_count(m); i++) {
    const char *path, *key, *ep;
    qccc_migration_key(m, i, &path, &key, &ep);
    if (strncmp(path, "/keys/", 6) != 0 || strstr(path + 6, "/") != NULL || strstr(path, "..") != NULL)
      __builtin_trap();
  }
  qccc_migration_free(&m);
  return 0;
}
