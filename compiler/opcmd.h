/* qccc's operator commands: they show and steer a running qcc-run through
 * its admin socket (compiler/adminclient.h, docs/admin-api.md).
 *
 *   status
 *   health status | check
 *   endpoint list [PROFILE] | enable ID | disable ID [--reason T]
 *   priority list | switch PROFILE [--reason T] | switch --auto
 *   queue status | list | retry ID | retry-all | clear
 *   logs [-f] [--endpoint ID] [--status N] [-n LINES] [--for SECONDS] [--file PATH]
 *
 * Every command takes --json (print the server's JSON as is) and
 * --state-dir DIR (else $QCC_STATE_DIR, else ~/.qcc). `endpoint list` falls
 * back to listing the config file (qccc_edit_cmd, text only: with --json it
 * reports that qcc-run is not running) when qcc-run is not running, and
 * lists the config file when -c FILE is given. `logs` reads STATE_DIR/access.log directly.
 * `health history` and `priority history` are the journal readers'
 * (compiler/journalcmd.h), `endpoint test` probes directly
 * (compiler/probecmd.h); help and dispatch are the command table's
 * (compiler/commands.c).
 *
 * Exit codes: 0 ok; 1 qcc-run is not running, refused the request, or a
 * check/replay failed; 2 usage error. */
#ifndef QCC_COMPILER_OPCMD_H
#define QCC_COMPILER_OPCMD_H

#include <stdbool.h>
#include <stdio.h>

/* ARGV[0] is the command word ("status", "health", ...). */
int qccc_op_cmd(int argc, char **argv, FILE *out, FILE *err);

#endif
