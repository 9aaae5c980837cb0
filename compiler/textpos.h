/* Positions in a UTF-8 text. libyaml's marks count characters (a CJK
 * character or an emoji is one), while edits splice bytes; this index turns
 * one into the other. Lookups are cheapest in text order (a moving cursor),
 * which is the order libyaml reports marks in. */
#ifndef QCC_COMPILER_TEXTPOS_H
#define QCC_COMPILER_TEXTPOS_H

#include <stdbool.h>
#include <stddef.h>

struct qcc_textpos;

/* Index TEXT (not copied: it must outlive the index). A UTF-8 byte order
 * mark is skipped, as libyaml skips it. NULL when out of memory. */
struct qcc_textpos *qcc_textpos_new(const char *text, size_t len);
void qcc_textpos_free(struct qcc_textpos **tp);

/* Byte offset of the character with libyaml index CH (len past the end). */
size_t qcc_textpos_byte(struct qcc_textpos *tp, size_t ch);

/* 1-based line and column (in characters) of byte offset POS. */
void qcc_textpos_linecol(const char *text, size_t len, size_t pos, size_t *line, size_t *col);

/* Length of the valid UTF-8 prefix of S[0..n) (n when it is all valid):
 * no overlongs, no surrogates, nothing past U+10FFFF. */
size_t qcc_utf8_valid_prefix(const char *s, size_t n);

/* Decode the character at S (valid UTF-8 assumed); *len gets its bytes. */
unsigned long qcc_utf8_decode(const char *s, size_t *len);

#endif
