/* In-place edits of a YAML text that keep everything they do not change:
 * comments, key order, quoting, blank lines, line ends. A libyaml event pass
 * records where every node starts and ends (byte offsets, for any UTF-8
 * text); an edit splices the text at those offsets. The result is new text,
 * never a re-dump. Flow collections and whole JSON files are edited in their
 * own style: JSON stays JSON (quoted keys and strings), one entry per line
 * or all on one line as the neighbours are.
 *
 * Every edit is exact or refused: the new text is parsed again and must be
 * the old document with exactly the asked change (as the loader reads it:
 * scalar text, or null). Anything else -- and constructs that cannot be
 * edited safely (anchors and aliases, !tags, a comment on a block scalar's
 * | line, comments between entries of a one-line {...}) -- is an error,
 * "LINE:COL: what" where there is a place to name, and the text is left as
 * it was. A block scalar that is set becomes a quoted value on its key's
 * line.
 *
 * Paths are lists of segments. Under a mapping a segment is a key; under a
 * sequence it selects the item mapping whose `name` or `id` equals it (the
 * shape of profiles and endpoints), a scalar item equal to it (a list of
 * names), or a decimal index. */
#ifndef QCC_COMPILER_YAMLEDIT_H
#define QCC_COMPILER_YAMLEDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "schema/error.h"

struct qcc_yamldoc;

/* Parse TEXT (copied; UTF-8, a byte order mark allowed). 0, or -1 with
 * "LINE:COL: what" in err. */
int qcc_yamldoc_parse(const char *text, size_t len, struct qcc_yamldoc **out, struct qcc_err *err);
void qcc_yamldoc_free(struct qcc_yamldoc **doc);

/* The current text (NUL-terminated, valid until the next edit). */
const char *qcc_yamldoc_text(const struct qcc_yamldoc *doc, size_t *len);

enum qcc_ynode_kind { QCC_YNODE_NONE, QCC_YNODE_SCALAR, QCC_YNODE_MAP, QCC_YNODE_SEQ };

/* What is at PATH: NONE when absent. For a scalar, *value (when non-NULL)
 * gets a malloc'd copy of its value (NULL for an empty/null value). */
enum qcc_ynode_kind qcc_yamldoc_get(const struct qcc_yamldoc *doc, const char *const *path,
                                    size_t n, char **value);
/* Names of the items of the list at PATH: the FIELD value of each item
 * mapping, or the item itself for a list of scalars. Up to MAX pointers into
 * the document (valid until the next edit); returns the count. */
size_t qcc_yamldoc_items(const struct qcc_yamldoc *doc, const char *const *path, size_t n,
                         const char *field, const char **names, size_t max);
/* 1-based line of the node at PATH, 0 when absent. */
size_t qcc_yamldoc_line(const struct qcc_yamldoc *doc, const char *const *path, size_t n);

/* Set the scalar at PATH to SCALAR (already YAML text: see qcc_yaml_scalar;
 * it is re-quoted to the style around it: a quoted value stays quoted, JSON
 * gets JSON). Missing mapping keys along the path are created, at the end
 * of their mapping. A sequence item that does not exist is an error. */
int qcc_yamldoc_set(struct qcc_yamldoc *doc, const char *const *path, size_t n, const char *scalar,
                    struct qcc_err *err);

/* Remove the mapping key or sequence item at PATH, with its whole value and
 * the comment on its last line. A mapping left empty is removed with its key;
 * a block sequence left empty becomes []. 0, or -1 (absent: code ENOENT). */
int qcc_yamldoc_remove(struct qcc_yamldoc *doc, const char *const *path, size_t n,
                       struct qcc_err *err);

/* Append ITEM to the sequence at PATH (created when absent). ITEM is block
 * YAML at column 0 ("id: x\nweight: 5\nmodels:\n  a: b\n"); it is indented to
 * match a block sequence, written as {...} (JSON in a JSON file) in a flow
 * one. "key: []" in block YAML becomes a block list. */
int qcc_yamldoc_append(struct qcc_yamldoc *doc, const char *const *path, size_t n, const char *item,
                       struct qcc_err *err);

/* Render S as a YAML scalar: plain when that reads back as the same string,
 * else double-quoted (escapes JSON reads too). AS_STRING also quotes what
 * would read back as a bool, null or number. malloc'd; NULL on out of memory,
 * or with errno EILSEQ when S is not valid UTF-8. */
char *qcc_yaml_scalar(const char *s, bool as_string);

/* Split a dotted path ("profiles.prod.endpoints.e1.weight") into segments
 * stored in BUF; returns the count, or 0 when it does not fit / is empty or
 * has an empty segment. */
size_t qcc_path_split(const char *dotted, char *buf, size_t cap, const char **segs,
                      size_t max_segs);

#endif
