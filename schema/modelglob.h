/* Model-map patterns: the keys of an endpoint's `models:` map are model
 * names or globs ("claude-*opus*", "*"). One definition for both programs:
 * qccc rejects a bad pattern at compile time, qcc-run matches with it.
 *
 * Syntax: `*` any run of characters (also none), `?` one character,
 * `[abc]` / `[a-z]` one character of a set, `[!abc]` one not in it; every
 * other byte is literal. A key without `*`, `?` or `[` is an exact name.
 *
 * Precedence (docs/config-reference.md, `models`): an exact name beats every
 * glob; among globs the one with the most literal characters wins; a tie
 * goes to the pair written first. */
#ifndef QCC_SCHEMA_MODELGLOB_H
#define QCC_SCHEMA_MODELGLOB_H

#include <stdbool.h>
#include <stddef.h>

/* True when PAT[0..LEN) has a glob character (`*`, `?`, `[`). */
bool qcc_modelglob_is_glob(const char *pat, size_t len);

/* 0 when PAT is a valid pattern; otherwise -1 with *AT the byte offset of
 * the fault and *WHY a short reason (static text). */
int qcc_modelglob_check(const char *pat, size_t len, size_t *at, const char **why);

/* True when NAME matches the (valid) pattern PAT. */
bool qcc_modelglob_match(const char *pat, size_t plen, const char *name, size_t nlen);

/* Specificity of PAT: SIZE_MAX for an exact name, else its count of literal
 * characters (a set counts as none). Higher wins. */
size_t qcc_modelglob_rank(const char *pat, size_t len);

#endif
