/* The table commands of qccc: they read a config or a table file and need no
 * running qcc-run. ARGV[0] is the command word ("build"); each parses its own
 * options with getopt_long (the caller resets optind) and returns the exit
 * code: 0 ok / valid / same, 1 invalid / different / failed, 2 usage or I/O.
 * Their --help text lives in the command table (compiler/commands.h). */
#ifndef QCC_COMPILER_TABLECMD_H
#define QCC_COMPILER_TABLECMD_H

int qccc_cmd_init(int argc, char **argv);
int qccc_cmd_validate(int argc, char **argv);
int qccc_cmd_build(int argc, char **argv);
int qccc_cmd_show(int argc, char **argv);
int qccc_cmd_diff(int argc, char **argv);
int qccc_cmd_snapshots(int argc, char **argv);
int qccc_cmd_rollback(int argc, char **argv);
int qccc_cmd_check(int argc, char **argv);
int qccc_cmd_schema(int argc, char **argv);

#endif
