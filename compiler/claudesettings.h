/* The merge behind `qccc claude-settings` (docs/lifecycle.md), on parsed
 * JSON with no file access, so it is unit-tested and fuzzed alone.
 *
 * A settings document is a JSON object whose optional "env" is an object.
 * write() sets env.ANTHROPIC_BASE_URL and one auth variable, recording in
 * an undo object what each held before; undo() puts those back where they
 * still hold what write() put there. write() then undo() gives back the
 * document as it was (json_equal), whatever else it holds. */
#ifndef QCC_COMPILER_CLAUDESETTINGS_H
#define QCC_COMPILER_CLAUDESETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "schema/error.h"

#define QCC_CS_URL "ANTHROPIC_BASE_URL"
#define QCC_CS_TOKEN "ANTHROPIC_AUTH_TOKEN"
#define QCC_CS_KEY "ANTHROPIC_API_KEY"
#define QCC_CS_UNDO_VERSION 1 /* the undo record's "version" */

/* Parse settings.json bytes (empty = {}): *root is an object with an
 * object or no "env"; -1 with the reason otherwise. */
int qcc_claudesettings_parse(const char *buf, size_t len, json_t **root, struct qcc_err *err);
/* Parse an undo record; NULL when it is not one (or another version). */
json_t *qcc_claudesettings_parse_undo(const char *buf, size_t len);

/* The auth variable write() uses for ROOT: ANTHROPIC_API_KEY when the file
 * sets that and not ANTHROPIC_AUTH_TOKEN, else ANTHROPIC_AUTH_TOKEN. */
const char *qcc_claudesettings_auth_var(json_t *root);
/* env.ANTHROPIC_BASE_URL is URL. */
bool qcc_claudesettings_has_url(json_t *root, const char *url);
/* ROOT holds URL and TOKEN already: write() would change nothing. */
bool qcc_claudesettings_points_at(json_t *root, const char *url, const char *token);

/* Merge URL and TOKEN into ROOT. *undo: the record so far (NULL: none; one
 * is created). Returns 1 when ROOT changed, 0 when it already held them. */
int qcc_claudesettings_write(json_t *root, json_t **undo, const char *url, const char *token);

/* Put back what UNDO records into ROOT. *restored / *kept count the keys
 * put back and those left because they changed since. Returns 1 when
 * ROOT changed. */
int qcc_claudesettings_undo(json_t *root, json_t *undo, size_t *restored, size_t *kept);

#endif
