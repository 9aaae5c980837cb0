/* The qcc-run instance of a state directory, as qccc's lifecycle commands
 * (start, stop, reload, run, env, service) see it. Everything lives in the
 * state dir (schema/statedir.h):
 *
 *   qcc-run.pid    the pid, written by qcc-run once listening
 *   qcc-run.log    the error log (--log)
 *   access.log     the access log (qcc-run's default)
 *   run.json       how `qccc start` started it: config, table, listen, url
 *   admin.sock     the admin socket (compiler/adminclient.h)
 *
 * Errors are values; nothing here prints. */
#ifndef QCC_COMPILER_INSTANCE_H
#define QCC_COMPILER_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "schema/error.h"

#define QCC_INSTANCE_PATH_MAX 4096

struct qcc_instance;

/* How the running qcc-run was started (run.json, docs/lifecycle.md). Empty
 * strings = unknown. */
#define QCC_RUN_INFO_VERSION 1
struct qcc_run_info {
  char config[QCC_INSTANCE_PATH_MAX]; /* absolute */
  char table[QCC_INSTANCE_PATH_MAX];  /* absolute */
  char listen[256];                   /* --listen value, "" = the table's */
  char url[512];                      /* base URL clients use */
};

/* Resolve the state dir (flag, $QCC_STATE_DIR, ~/.qcc), create it 0700 and
 * make it absolute (qcc-run --daemon changes to /). */
int qcc_instance_new(const char *state_dir_flag, struct qcc_instance **out, struct qcc_err *err);
void qcc_instance_free(struct qcc_instance **inst);

const char *qcc_instance_dir(const struct qcc_instance *inst);
const char *qcc_instance_pidfile(const struct qcc_instance *inst);
const char *qcc_instance_errlog(const struct qcc_instance *inst);
const char *qcc_instance_accesslog(const struct qcc_instance *inst);
const char *qcc_instance_socket(const struct qcc_instance *inst);

/* PID runs: it exists and is not a zombie. qcc-run started by `qccc start`
 * is reparented to init; one that has exited stays a zombie until init reaps
 * it (over a second with some inits, e.g. in containers), and kill(PID, 0)
 * still succeeds on it, so `qccc stop` would wait that long for nothing. */
bool qcc_instance_alive(pid_t pid);
/* The pid of the running qcc-run named by the pidfile; 0 when there is no
 * pidfile or its process is gone or is not qcc-run (a stale pidfile). */
pid_t qcc_instance_pid(const struct qcc_instance *inst);
/* GET /healthz on the admin socket: 0 with *generation when a table is
 * served; -1 (err->code QCC_ADMIN_NOT_RUNNING when nobody listens). */
int qcc_instance_healthz(const struct qcc_instance *inst, uint64_t *generation, struct qcc_err *err);
/* The last reload error reported by GET /status into buf ("" = none). */
void qcc_instance_reload_error(const struct qcc_instance *inst, char *buf, size_t cap);

/* The table file the running qcc-run serves (GET /status), absolute; -1
 * when it does not answer or serves none. */
int qcc_instance_served_table(const struct qcc_instance *inst, char *out, size_t cap);

/* run.json. load: -1 when missing or unreadable. */
int qcc_instance_info_load(const struct qcc_instance *inst, struct qcc_run_info *info, struct qcc_err *err);
int qcc_instance_info_save(const struct qcc_instance *inst, const struct qcc_run_info *info, struct qcc_err *err);

/* The address qcc-run last said it listens on ("qcc-run listening on URL"
 * in the error log) into url; -1 when the log has no such line. */
int qcc_instance_logged_url(const struct qcc_instance *inst, char *url, size_t cap);

/* The qcc-run program: $QCC_RUN, else beside this qccc (installed), else
 * ../runtime/qcc-run (build tree), else found on PATH. Absolute. */
int qcc_instance_program(char *out, size_t cap, struct qcc_err *err);

/* The base URL clients use for TABLE (listen overrides the table's
 * proxy.host:port; a wildcard host becomes loopback). */
int qcc_instance_table_url(const char *table, const char *listen, char *out, size_t cap,
                           struct qcc_err *err);

/* The client token of TABLE's first proxy.auth_tokens entry. *token is NULL
 * (and 0 returned) when none is configured; otherwise malloc'd (the caller
 * frees it). ref gets where it comes from ("env:NAME", "file:PATH",
 * "literal") for messages. -1 when configured but not readable here. */
int qcc_instance_client_token(const char *table, char **token, char *ref, size_t refcap,
                              struct qcc_err *err);

/* The auth value clients send when no client tokens are configured: qcc-run
 * accepts any, and replaces it with the endpoint's key. */
#define QCC_INSTANCE_PLACEHOLDER_TOKEN "qcc-local"

#endif
