/* qccc's lifecycle commands: qcc-run in the background, its files in the
 * state dir (compiler/instance.h).
 *
 *   start [-c FILE] [-o TABLE] [--listen HOST:PORT] [--timeout S]
 *   stop [--timeout S] [--force]
 *   restart [same options as start]
 *   reload [-c FILE] [--timeout S]
 *   logs --errors | --all  [-n LINES] [-f] [--for S] [--level L]   (compiler/logview.h)
 *   service ...                    (compiler/service.h)
 *   run, env, claude-settings      (compiler/clientenv.h)
 *
 * Each takes --state-dir DIR; help, the `proxy ...` spellings and dispatch
 * are the command table's (compiler/commands.c). Exit codes: 0 ok (start: running,
 * also when it already was; stop: stopped or was not running); 1 failed
 * (with the reason); 2 usage. */
#ifndef QCC_COMPILER_LIFECYCLE_H
#define QCC_COMPILER_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ARGV[0] is the command word. */
bool qccc_lifecycle_handles(int argc, char **argv);
int qccc_lifecycle_cmd(int argc, char **argv, FILE *out, FILE *err);

/* Start qcc-run for `qccc run` unless it runs: config/table/state_dir may be
 * NULL (defaults). On success url gets the base URL and table the table it
 * serves. Messages go to err. Returns an exit code. */
int qccc_lifecycle_ensure(const char *config, const char *table_path, const char *state_dir,
                          char *url, size_t urlcap, char *table, size_t tablecap, FILE *err);

/* Compile CONFIG into TABLE when it changed (one line on out, diagnostics
 * on err). Returns an exit code. */
int qccc_lifecycle_build(const char *config, const char *table, FILE *out, FILE *err);

#endif
