/* qccc's command table: one row per command drives dispatch, --help, "did
 * you mean" and shell completion, so a command cannot exist without help.
 *
 * A command's path is one word ("build") or a group and a word ("endpoint
 * add"). Its options string lists what it accepts, space separated; a token
 * is "--name", "-x|--name", and "=ARG" marks an option that takes a value:
 *   "-c|--config=FILE --strict --format=FMT"
 * -h/--help is implied everywhere. The seed plan's spellings ("priority
 * policy", "proxy status") are rows of a second table: an alias runs its
 * target; a pointer names the command that does the job (or the issue that
 * adds it) and exits 2. */
#ifndef QCC_COMPILER_COMMANDS_H
#define QCC_COMPILER_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum {
  QCCC_CMD_EDITS = 1 << 0, /* edits qcc.yaml: a change ends with when it is live */
};

struct qccc_cmd {
  const char *path;    /* "endpoint add" */
  const char *summary; /* one line */
  const char *usage;   /* full --help text, starting "usage: qccc PATH" */
  const char *options; /* see above */
  unsigned flags;
  int (*run)(int argc, char **argv); /* ARGV[0] is the first word of path */
};

struct qccc_spelling {
  const char *words;  /* "priority policy" */
  const char *target; /* a command path to run instead, or NULL */
  const char *note;   /* shown when target is NULL: where the job is done */
};

/* The tables, for tests and completion. */
const struct qccc_cmd *qccc_commands(size_t *count);
const struct qccc_spelling *qccc_spellings(size_t *count);

/* The command whose path is WORDS, or NULL. */
const struct qccc_cmd *qccc_command_find(const char *words);

/* Print the --help of command PATH (or the group PATH) to OUT; 0, or 2 when
 * there is no such command. */
int qccc_help(const char *path, FILE *out);

/* Edit distance of A and B (Levenshtein, bytes), capped at 100. */
size_t qccc_edit_distance(const char *a, const char *b);

/* The whole of qccc: dispatch ARGV (as main got it). Returns the exit code. */
int qccc_main(int argc, char **argv);

#endif
