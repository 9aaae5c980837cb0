/* `qccc migrate`: the Python qcc's ~/.qcc/config.json (format "0.4.0", the
 * seed plan's) converted into a qcc.yaml. The two formats share their key
 * names, so the converter walks the JSON against qcc's key table
 * (schema/config_schema.h): a known key is written as YAML (enums in their
 * canonical spelling), an unknown one is reported by name and dropped (its
 * value may be a secret, so it is never echoed), and a literal api_key goes
 * to a 0600 key file that api_key_file names by absolute path. The YAML is
 * validated with the frontend before anything is written. */
#ifndef QCC_COMPILER_MIGRATE_H
#define QCC_COMPILER_MIGRATE_H

#include <stddef.h>

#include "schema/error.h"

struct qccc_migration;

/* Convert the JSON text DATA (LEN bytes, from SOURCE) with key files under
 * KEY_DIR (absolute). 0 and *OUT, or -1 with ERR. */
int qccc_migration_new(const char *source, const char *data, size_t len, const char *key_dir,
                       struct qccc_migration **out, struct qcc_err *err);
void qccc_migration_free(struct qccc_migration **m);

/* The qcc.yaml text (NUL-terminated). */
const char *qccc_migration_yaml(const struct qccc_migration *m, size_t *len);
/* Key files to write: I < count; path and the key (never print the key). */
size_t qccc_migration_key_count(const struct qccc_migration *m);
void qccc_migration_key(const struct qccc_migration *m, size_t i, const char **path, const char **key,
                        const char **endpoint);
/* Notes for the summary: unknown fields dropped, values adjusted. */
size_t qccc_migration_note_count(const struct qccc_migration *m);
const char *qccc_migration_note(const struct qccc_migration *m, size_t i);
void qccc_migration_counts(const struct qccc_migration *m, size_t *profiles, size_t *endpoints);

/* `qccc migrate [JSON] [-o OUT] [--key-dir DIR] [-y]`; ARGV[0] is "migrate". */
int qccc_cmd_migrate(int argc, char **argv);

#endif
