/* The operator commands' shared pieces (compiler/opcmd.h), for the files
 * that implement them by job: opcmd.c (options, talking to qcc-run,
 * formatting, dispatch), opstatus.c (status, health, endpoint, priority),
 * opqueue.c (the retry queue and dead letters), oplogs.c (the access log).
 * Not a public interface: only these files include it. */
#ifndef QCC_COMPILER_OPCTX_H
#define QCC_COMPILER_OPCTX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "compiler/adminclient.h"

#define OP_OK 0
#define OP_FAIL 1
#define OP_USAGE 2

#define MAX_ARGS 32
#define TEXT_FIT 100 /* columns a table fits in unless --wide */
#define LONG_TIMEOUT_MS (10 * 60 * 1000) /* checks and replays wait for upstreams */

struct opts {
  bool json, follow, auto_mode;
  bool yes;  /* -y: destructive commands do not ask */
  bool wide; /* tables as wide as their cells, not fitted to 100 columns */
  const char *config; /* -c FILE: endpoint list's listing, status's comparison */
  const char *state_dir;
  const char *reason;
  const char *endpoint;  /* logs --endpoint */
  const char *file;      /* logs --file */
  long status;           /* logs --status, 0 = any */
  long lines;            /* logs -n */
  double for_s;          /* logs --for, 0 = until interrupted */
  bool config_given;     /* endpoint list -c FILE: the config listing */
  const char *pos[MAX_ARGS];
  int npos;
  /* the words for the config-listing fallback, without our flags */
  char *rest[MAX_ARGS];
  int nrest;
};

struct ctx {
  FILE *out, *err;
  struct opts o;
  char sock[4096];
};

/* A usage error on c->err with the hint; returns OP_USAGE. */
int op_usage(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* METHOD PATH on qcc-run's admin socket; OP_OK with *R (2xx, JSON), else
 * the failure told on c->err and OP_FAIL. */
/* {"reason": --reason} for the actions the journal records with a reason,
 * "{}" without one; false when it is not UTF-8 or does not fit. */
bool op_reason_body(const struct ctx *c, char *out, size_t cap);
int op_call(struct ctx *c, const char *method, const char *path, const char *body, int timeout_ms,
            struct qcc_admin_reply *r);
void op_print_json(struct ctx *c, const json_t *j);
/* URL-encode one path segment or query value. */
void op_enc(const char *s, char *out, size_t cap);

/* Field K of object O: "" / 0 / false when absent. */
const char *op_js(const json_t *o, const char *k);
long long op_ji(const json_t *o, const char *k);
bool op_jb(const json_t *o, const char *k);
const char *op_plural(long long n);
/* "2h 03m", "4m 10s", "12s". */
void op_fmt_dur(long long s, char *out, size_t cap);
/* "12s ago" from an ISO time, or "-" for null. */
void op_fmt_ago(const json_t *v, char *out, size_t cap);
/* Local time with its zone from an ISO time (--json keeps UTC); "-" for null. */
void op_fmt_time(const json_t *v, char *out, size_t cap);

/* The commands, by job. */
int op_cmd_status(struct ctx *c);
int op_cmd_health(struct ctx *c);
int op_cmd_endpoint(struct ctx *c);
int op_cmd_priority(struct ctx *c);
int op_cmd_queue(struct ctx *c);
int op_cmd_logs(struct ctx *c);

#endif
