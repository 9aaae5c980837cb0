/* The editing commands' shared pieces (compiler/editcmd.h), for the files
 * that implement them by job: editcmd.c (options, loading, validating and
 * committing qcc.yaml, names, dispatch), editconfig.c (config get / set /
 * list / reset / export / import / validate), editprofile.c (profiles,
 * priority groups, policy), editendpoint.c (endpoint add / remove / list).
 * Not a public interface: only these files include it. */
#ifndef QCC_COMPILER_EDITCTX_H
#define QCC_COMPILER_EDITCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "compiler/config.h"
#include "compiler/prompt.h"
#include "compiler/yamledit.h"
#include "schema/config_schema.h"
#include "schema/error.h"

#define MAX_FILE (16u << 20) /* larger than any sane config; refuse beyond */
#define MAX_NAMES 4096
#define MAX_SEGS 16

struct opts {
  const char *config;
  bool yes;
  bool wide; /* endpoint list: every column, nothing cut */
  const char *from, *base_url, *preset, *key_env, *key_file, *auth, *id;
  const char *weight, *priority, *timeout;
  const char *description;
  int auto_failover, auto_recovery; /* -1 = not given */
  const char *threshold, *cooldown;
  const char *pos[4];
  int npos;
};

enum {
  C_EP_ADD = 1 << 0,
  C_EP_REMOVE = 1 << 1,
  C_EP_LIST = 1 << 2,
  C_PROF_ADD = 1 << 3,
  C_PROF_REMOVE = 1 << 4,
  C_PRIO = 1 << 5,
  C_POLICY = 1 << 6,
  C_CONFIG = 1 << 7,
  C_ALL = 0xff,
};

struct ctx {
  FILE *in, *out, *err;
  struct qcc_prompt *pr;
  bool tty;
  struct opts o;
  const char *cmdname; /* "endpoint add" for messages */
  const char *path;
  char *orig;
  size_t orig_len;
  bool exists;
  mode_t mode;
  struct qcc_yamldoc *doc;
  struct qcc_config *cfg; /* the current config when it validates */
  bool cfg_tried;
  /* a key typed interactively, written to keyfile_path at commit */
  char *keyfile_path;
  char *secret;
};

/* ---- editcmd.c: the file and its names ---- */
/* Print "qccc CMD: ..." on c->err; returns CODE. */
int ed_fail(struct ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ed_edit_failed(struct ctx *c, const char *what, const struct qcc_err *e);
/* The file read (must_exist: a missing file is an error), parsed. */
int ed_load(struct ctx *c, bool must_exist);
/* The config as it is now, when it validates (REPORT: say why not). */
const struct qcc_config *ed_current(struct ctx *c, bool report);
/* Validate the edited text, write it (keeping FILE.bak), say WHAT. */
int ed_commit(struct ctx *c, const char *what);
int ed_validate(struct ctx *c, const char *file, const char *shown, bool quiet_ok,
                    struct qcc_config **out);
int ed_read_file(const char *path, char **out, size_t *len, mode_t *mode, struct qcc_err *err);
extern const char *const ed_PROFILES[1];
const char *ed_closest(const char *s, const char *const *names, size_t n);
size_t ed_all_ids(struct ctx *c, const char **ids, size_t max);
bool ed_good_env(const char *s);
bool ed_good_name(const char *s);
bool ed_has_profile(struct ctx *c, const char *name);
bool ed_id_taken(struct ctx *c, const char *id);
int ed_no_profile(struct ctx *c, const char *name);
size_t ed_profile_names(struct ctx *c, const char **names);
const char *ed_profile_of(struct ctx *c, const char *id);

/* ---- editprofile.c ---- */
/* A removal asks on a terminal unless -y; QCCC_EDIT_OK to go on. */
int ed_ask_remove(struct ctx *c, const char *what);
bool ed_check_duration(const char *s, char *why, size_t cap, void *ctx);
int ed_flag_value(struct ctx *c, const char *flag, const char *val, enum qcc_knob_id id);
const char *ed_current_value(struct ctx *c, enum qcc_knob_id id, char *buf, size_t cap);
int ed_priority_set(struct ctx *c);
int ed_profile_add(struct ctx *c);
int ed_profile_remove(struct ctx *c);
int ed_policy(struct ctx *c);

/* ---- editconfig.c ---- */
int ed_config_get(struct ctx *c);
int ed_config_set(struct ctx *c);
int ed_config_list(struct ctx *c);
int ed_config_reset(struct ctx *c);
int ed_config_export(struct ctx *c);
int ed_config_import(struct ctx *c);
int ed_config_validate(struct ctx *c);

/* ---- editendpoint.c ---- */
int ed_endpoint_list(struct ctx *c);
int ed_endpoint_remove(struct ctx *c);
int ed_endpoint_add(struct ctx *c);

#endif
