/* Terminal prompting for the interactive editing commands: numbered choices,
 * defaults in brackets, re-asking on invalid input, and secret entry with
 * echo off (termios). Every question can be cancelled with Ctrl-D (end of
 * input) or by answering "q".
 *
 * Each function returns 0 with the answer, QCC_PROMPT_CANCEL when the user
 * cancelled, or -1 on an I/O error. Only use it when qcc_prompt_interactive()
 * is true: non-interactive callers must never ask. */
#ifndef QCC_COMPILER_PROMPT_H
#define QCC_COMPILER_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define QCC_PROMPT_CANCEL 1

struct qcc_prompt;

/* IN and OUT are borrowed. */
struct qcc_prompt *qcc_prompt_new(FILE *in, FILE *out);
void qcc_prompt_free(struct qcc_prompt **p);

/* True when IN is a terminal (isatty): only then may we ask anything. */
bool qcc_prompt_interactive(const struct qcc_prompt *p);

/* Show ITEMS numbered from 1 and read a number. DEF is the 0-based default
 * taken on an empty answer, or SIZE_MAX for none. */
int qcc_prompt_choice(struct qcc_prompt *p, const char *question, const char *const *items,
                      size_t n, size_t def, size_t *out);

/* Checks an answer; false with a reason in WHY to ask again. */
typedef bool (*qcc_prompt_check)(const char *answer, char *why, size_t cap, void *ctx);

/* Free text; DEF (may be NULL) is taken on an empty answer. *out is malloc'd. */
int qcc_prompt_text(struct qcc_prompt *p, const char *question, const char *def,
                    qcc_prompt_check check, void *ctx, char **out);

/* An integer in MIN..MAX, DEF on an empty answer. */
int qcc_prompt_uint(struct qcc_prompt *p, const char *question, uint32_t def, uint32_t min,
                    uint32_t max, uint32_t *out);

/* y/n, DEF on an empty answer. */
int qcc_prompt_yesno(struct qcc_prompt *p, const char *question, bool def, bool *out);

/* A secret read with echo off; never shown, never empty. The caller wipes
 * and frees *out (qcc_prompt_wipe). */
int qcc_prompt_secret(struct qcc_prompt *p, const char *question, char **out);
void qcc_prompt_wipe(char **secret);

#endif
