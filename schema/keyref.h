/* The key-reading rules both programs use: qcc-run's keystore for every
 * request and `qccc endpoint test` probing directly must read an endpoint's
 * key reference (api_key_env / api_key_file / api_key) the same way, or the
 * probe would pass a key qcc-run refuses.
 *
 *   env      set and not empty
 *   file     read through qcc_file_read (schema/fileio.h: a FIFO or device
 *            refused, at most QCC_KEYREF_FILE_MAX bytes), trailing
 *            whitespace (\n \r space tab) stripped, then not empty
 *   literal  not empty
 *   none     the empty key (the endpoint takes none)
 * and no control character (a CR or LF would split the header line the key
 * is sent in). Reasons name the reference, never the value. */
#ifndef QCC_SCHEMA_KEYREF_H
#define QCC_SCHEMA_KEYREF_H

#include <stddef.h>

/* A key file larger than this is not a key (a wrong path, a log file...). */
#define QCC_KEYREF_FILE_MAX (16 * 1024)

/* Resolve reference KIND (enum qcc_key_kind) / REF (variable name, path or
 * literal) into a fresh NUL-terminated *KEY of *LEN bytes (wipe it with
 * qcc_keyref_wipe). Returns 0 with *KEY set; 1 when it does not resolve,
 * with the reason in WHY; -1 when out of memory. */
int qcc_keyref_resolve(int kind, const char *ref, char **key, size_t *len, char *why,
                       size_t why_cap);

/* Zero KEY's LEN bytes and free it (NULL is fine). */
void qcc_keyref_wipe(char *key, size_t len);

#endif
