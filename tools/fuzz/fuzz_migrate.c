/* Fuzz target: `qccc migrate`'s reader of the Python qcc's config.json
 * (compiler/migrate.c). Any bytes are converted or refused without a fault;
 * a conversion's key files all sit in the key directory, and a key moved to a
 * file never appears in the YAML. */
#include <stdint.h>
#include <string.h>

#include "compiler/migrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct qccc_migration *m = NULL;
  struct qcc_err err = {0};
  if (qccc_migration_new("fuzz.json", (const char *)data, size, "/keys", &m, &err) != 0) return 0;
  size_t len = 0;
  const char *yaml = qccc_migration_yaml(m, &len);
  if (yaml == NULL || strlen(yaml) != len) __builtin_trap();
  for (size_t i = 0; i < qccc_migration_key_count(m); i++) {
    const char *path, *key, *ep;
    qccc_migration_key(m, i, &path, &key, &ep);
    if (strncmp(path, "/keys/", 6) != 0 || strstr(path + 6, "/") != NULL || strstr(path, "..") != NULL)
      __builtin_trap();
    /* a distinctive key (long enough not to occur by chance) is not in the YAML */
    if (strlen(key) >= 24 && strstr(yaml, key) != NULL) __builtin_trap();
  }
  qccc_migration_free(&m);
  return 0;
}
