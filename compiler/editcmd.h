/* The config-editing commands of qccc (issue 7). The YAML file stays the
 * single source of truth: each command edits it in place (yamledit: keeps
 * comments, order, formatting), validates the result with the frontend (same
 * rules and messages as `qccc validate`), and only then replaces the file
 * atomically, keeping the previous one as FILE.bak.
 *
 *   endpoint add PROFILE [--from ID | --base-url URL | --preset NAME]
 *                        [--key-env NAME | --key-file PATH] [--auth STYLE]
 *                        [--id ID] [--weight N] [--priority N] [--timeout D]
 *   endpoint remove ID | endpoint list [PROFILE]
 *   profile add NAME [--description TEXT] [--priority GROUP] | profile remove NAME
 *   priority set PROFILE GROUP
 *   policy [--auto-failover|--no-auto-failover] [--auto-recovery|--no-auto-recovery]
 *          [--failure-threshold N] [--cooldown D]
 *   config get KEY | set KEY VALUE | list | reset [KEY] | export FILE | import FILE
 *          | validate
 * Every command also takes -c/--config FILE (default $QCC_CONFIG, else
 * qcc.yaml), -y/--yes (no confirmation questions) and --build (see
 * qccc_edit_wants_build).
 *
 * On a terminal (isatty(in)) missing values are asked; otherwise never:
 * a missing value is an error that names its flag. */
#ifndef QCC_COMPILER_EDITCMD_H
#define QCC_COMPILER_EDITCMD_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes of qccc_edit_cmd. */
enum {
  QCCC_EDIT_OK = 0,
  QCCC_EDIT_INVALID = 1,   /* the result (or the file) does not validate; file untouched */
  QCCC_EDIT_USAGE = 2,     /* bad arguments, unknown name, missing value, I/O error */
  QCCC_EDIT_CANCELLED = 3, /* the user cancelled a question; file untouched */
};

/* CMD is "endpoint", "profile", "priority", "policy" or "config"; ARGV holds
 * the words after it (ARGV[0] is the subcommand, except for policy). IN is
 * where answers come from, OUT gets results and questions, ERR messages. */
int qccc_edit_cmd(const char *cmd, int argc, char **argv, FILE *in, FILE *out, FILE *err);

/* True when qccc_edit_cmd handles CMD ARGV[0] (so main can route to it;
 * "endpoint enable" etc. stay runtime commands). */
bool qccc_edit_handles(const char *cmd, int argc, char **argv);

/* True when ARGV holds --build: main then runs `qccc build` (same -c
 * config) after qccc_edit_cmd returned QCCC_EDIT_OK. qccc_edit_cmd itself
 * accepts and ignores the flag. */
bool qccc_edit_wants_build(int argc, char **argv);

/* Usage lines of the editing commands, for qccc --help. */
void qccc_edit_usage(FILE *out);

#endif
